#!/usr/bin/env bash
# brokers.sh — start/stop the local brokers (nats.sh, kafka.sh) and the schema
# registry (registry.sh) the tests use.
#
# Usage: scripts/brokers.sh {up [--fresh]|down|kill|status|install}
#
#   up       install if needed and start NATS (JetStream), Kafka and the schema
#            registry (REGISTRY=0 leaves it out); on success prints on stdout:
#              NATS_URL=nats://127.0.0.1:4222
#              KAFKA_BROKERS=127.0.0.1:9092 (and the secured listeners, see kafka.sh)
#              SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7
#            so:  set -a; eval "$(scripts/brokers.sh up)"; set +a
#            --fresh wipes both data dirs first.
#   down     stop them all (SIGTERM, wait); not an error if they are not running
#   kill     SIGKILL them all
#   status   status of each; exit 0 only if all are running
#   install  install them all without starting them
#
# All environment variables of kafka.sh, nats.sh and registry.sh apply (ports,
# data dir, auth, timeouts).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TB_NAME=brokers
# shellcheck source=_common.sh
. "$SCRIPT_DIR/_common.sh"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  up|start)
    t0="$(now_ms)"
    "$SCRIPT_DIR/nats.sh" start "$@"
    "$SCRIPT_DIR/kafka.sh" start "$@"
    [ "${REGISTRY:-1}" = 0 ] || "$SCRIPT_DIR/registry.sh" start "$@"
    log "brokers up in $(( ($(now_ms) - t0) / 1000 ))s"
    ;;
  down|stop)
    rc=0
    "$SCRIPT_DIR/registry.sh" stop || rc=$?
    "$SCRIPT_DIR/kafka.sh" stop || rc=$?
    "$SCRIPT_DIR/nats.sh" stop || rc=$?
    exit "$rc"
    ;;
  kill)
    rc=0
    "$SCRIPT_DIR/registry.sh" kill || rc=$?
    "$SCRIPT_DIR/kafka.sh" kill || rc=$?
    "$SCRIPT_DIR/nats.sh" kill || rc=$?
    exit "$rc"
    ;;
  status)
    rc=0
    "$SCRIPT_DIR/nats.sh" status || rc=$?
    "$SCRIPT_DIR/kafka.sh" status || rc=$?
    [ "${REGISTRY:-1}" = 0 ] || "$SCRIPT_DIR/registry.sh" status || rc=$?
    exit "$rc"
    ;;
  install)
    "$SCRIPT_DIR/nats.sh" install
    "$SCRIPT_DIR/kafka.sh" install
    [ "${REGISTRY:-1}" = 0 ] || "$SCRIPT_DIR/registry.sh" install
    ;;
  -h|--help|help|"") usage ;;
  *) log "unknown command '$cmd'"; usage ;;
esac

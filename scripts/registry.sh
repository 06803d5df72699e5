#!/usr/bin/env bash
# registry.sh — a real schema registry on loopback for tickbridge tests and local
# use: Apicurio Registry 3.0.9 (Maven Central, io.apicurio:apicurio-registry-app,
# classifier `all`, tar.gz, ~150 MB), in-memory storage, whose Confluent-compatible API
# (/apis/ccompat/v7) the Kafka sink's avro / protobuf / json_schema encodings and
# confluent-kafka's own deserializers speak.
#
# Usage: scripts/registry.sh {install|start [--fresh]|stop|kill|restart|status|logs [-f] [-n N]|env}
#
#   install   download the distribution from Maven Central (checked against its
#             published SHA-1) into $TICKBRIDGE_CACHE/apicurio-registry-<ver>
#             (no-op when cached)
#   start     install if needed, launch it in the background (the machine's Java 17)
#             and wait until the ccompat API answers. Idempotent. --fresh: the
#             storage is in memory, so a restart is always fresh; accepted for
#             symmetry with kafka.sh / nats.sh.
#   stop      SIGTERM and wait; SIGKILL after $REGISTRY_STOP_TIMEOUT
#   kill      SIGKILL
#   restart   stop + start
#   status    exit 0 and print the URL if running, exit 3 if not
#   logs      print the last 200 lines of its log (-f to follow)
#   env       print SCHEMA_REGISTRY_URL=... (no checks)
#
# On success `start`, `restart` and `status` print on stdout exactly one line:
#   SCHEMA_REGISTRY_URL=http://127.0.0.1:8081/apis/ccompat/v7
# (all other messages go to stderr), so:  eval "$(scripts/registry.sh start)"
#
# Why 3.0.9: Apicurio 3.1 and later are compiled for Java 21 (class file 65); the
# machine's Java is 17, and 3.0.9 is the last 3.0 release with the `all` tarball on
# Maven Central.
#
# Environment (defaults in brackets):
#   REGISTRY_VERSION        [3.0.9]
#   REGISTRY_PORT           [8081]  HTTP port on 127.0.0.1
#   REGISTRY_HEAP_OPTS      [-Xms128m -Xmx384m]
#   REGISTRY_START_TIMEOUT  [120] seconds to wait for readiness
#   REGISTRY_STOP_TIMEOUT   [30]  seconds to wait for a clean shutdown
#   REGISTRY_INSTALL_TIMEOUT [1200] seconds for the download
#   REGISTRY_MAVEN          [https://repo1.maven.org/maven2]  Maven repository
#   TICKBRIDGE_CACHE        [$HOME/.cache/tickbridge]   install cache
#   TICKBRIDGE_BROKER_DIR   [/tmp/tickbridge-brokers]   pid and log in <dir>/registry
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TB_NAME=registry
# shellcheck source=_common.sh
. "$SCRIPT_DIR/_common.sh"

REGISTRY_VERSION="${REGISTRY_VERSION:-3.0.9}"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms128m -Xmx384m}"
REGISTRY_START_TIMEOUT="${REGISTRY_START_TIMEOUT:-120}"
REGISTRY_STOP_TIMEOUT="${REGISTRY_STOP_TIMEOUT:-30}"
REGISTRY_MAVEN="${REGISTRY_MAVEN:-https://repo1.maven.org/maven2}"
REGISTRY_HOST=127.0.0.1
REGISTRY_BASE="http://$REGISTRY_HOST:$REGISTRY_PORT"
REGISTRY_URL="$REGISTRY_BASE/apis/ccompat/v7"

REGISTRY_HOME="$TB_CACHE/apicurio-registry-$REGISTRY_VERSION"
REGISTRY_JAR="$REGISTRY_HOME/apicurio-registry-app-$REGISTRY_VERSION-runner.jar"
REGISTRY_DATA="$TB_BROKER_DIR/registry"
PID_FILE="$REGISTRY_DATA/registry.pid"
LOG_FILE="$REGISTRY_DATA/registry.log"

for v in REGISTRY_PORT REGISTRY_START_TIMEOUT REGISTRY_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done

print_url() { echo "SCHEMA_REGISTRY_URL=$REGISTRY_URL"; }

cmd_install() {
  [ -f "$REGISTRY_JAR" ] && return 0
  need_cmd java openjdk-17-jre-headless
  need_cmd curl curl
  need_cmd flock util-linux
  mkdir -p "$REGISTRY_HOME"
  (
    flock -w "${REGISTRY_INSTALL_TIMEOUT:-1200}" 9 || die "timed out waiting for another registry install"
    [ -f "$REGISTRY_JAR" ] && exit 0
    local t0 tmp
    t0="$(now_ms)"
    tmp="$REGISTRY_HOME/download.tmp"
    rm -rf "$tmp"; mkdir -p "$tmp"
    # Fetched from Maven Central directly and checked against its published SHA-1:
    # mvn cannot resolve it (the parent POM io.apicurio:apicurio-registry:3.0.9, which
    # mvn reads first, is not served).
    local name="apicurio-registry-app-$REGISTRY_VERSION-all.tar.gz"
    local url="$REGISTRY_MAVEN/io/apicurio/apicurio-registry-app/$REGISTRY_VERSION/$name"
    log "downloading $url ..."
    curl -fsS --retry 3 --max-time "${REGISTRY_INSTALL_TIMEOUT:-1200}" -o "$tmp/$name" "$url" \
      || die "cannot download $url"
    local want got
    want="$(curl -fsS --retry 3 "$url.sha1" | cut -c1-40)" || die "cannot download $url.sha1"
    got="$(sha1sum "$tmp/$name" | cut -c1-40)"
    [ "$want" = "$got" ] || die "$name: SHA-1 $got, Maven Central publishes $want"
    tar -xzf "$tmp/$name" -C "$tmp"
    [ -f "$tmp/apicurio-registry-app-$REGISTRY_VERSION-runner.jar" ] \
      || die "the distribution holds no apicurio-registry-app-$REGISTRY_VERSION-runner.jar"
    rm -f "$tmp"/apicurio-registry-app-*.tar.gz
    find "$tmp" -mindepth 1 -maxdepth 1 -exec mv -f {} "$REGISTRY_HOME/" \;
    rmdir "$tmp"
    log "installed Apicurio Registry $REGISTRY_VERSION in $(( ($(now_ms) - t0) / 1000 ))s"
  ) 9>"$REGISTRY_HOME/.install.lock"
  [ -f "$REGISTRY_JAR" ] || die "the registry install did not complete"
}

# The registry is recognised by its jar and port on the command line.
ID_ARG="-Dquarkus.http.port=$REGISTRY_PORT "

running_pid() {
  local pid=""
  [ -f "$PID_FILE" ] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [ -n "$pid" ] && pid_alive "$pid" && pid_cmdline_has "$pid" "$ID_ARG"; then
    echo "$pid"; return 0
  fi
  rm -f "$PID_FILE"
  return 1
}

ready() {
  curl -fsS --max-time 5 "$REGISTRY_URL/subjects" >/dev/null 2>&1
}

wait_ready() {
  local pid="$1" deadline=$(( $(date +%s) + REGISTRY_START_TIMEOUT ))
  until ready; do
    if ! pid_alive "$pid"; then
      tail_log "$LOG_FILE" 40
      die "the registry (pid $pid) exited during startup; see $LOG_FILE"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail_log "$LOG_FILE" 40
      die "the registry (pid $pid) not ready after ${REGISTRY_START_TIMEOUT}s; see $LOG_FILE"
    fi
    sleep 0.3
  done
}

cmd_start() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --fresh) ;; # in-memory storage: every start is fresh
      *) die "start: unknown option '$1' (only --fresh)" ;;
    esac
    shift
  done
  local t0 pid
  t0="$(now_ms)"
  need_cmd curl curl
  cmd_install
  mkdir -p "$REGISTRY_DATA"
  if pid="$(running_pid)"; then
    log "already running (pid $pid); checking ..."
    wait_ready "$pid"
    print_url
    return 0
  fi
  port_open "$REGISTRY_HOST" "$REGISTRY_PORT" \
    && die "port $REGISTRY_HOST:$REGISTRY_PORT is already in use by another process; free it or set REGISTRY_PORT"
  printf '\n===== %s registry.sh start (%s) =====\n' "$(date -Is)" "$REGISTRY_URL" >>"$LOG_FILE"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # shellcheck disable=SC2086
  (cd "$REGISTRY_HOME" && exec "${launcher[@]}" nohup java $REGISTRY_HEAP_OPTS \
      -Dquarkus.http.port="$REGISTRY_PORT" -Dquarkus.http.host="$REGISTRY_HOST" \
      -jar "$REGISTRY_JAR" >>"$LOG_FILE" 2>&1 </dev/null 8>&- 9>&-) &
  local deadline=$(( $(date +%s) + 10 ))
  until pid="$(find_pids_with "$ID_ARG" | while read -r p; do pid_cmdline_has "$p" "$REGISTRY_JAR" && echo "$p"; done | sed -n 1p)" && [ -n "$pid" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail_log "$LOG_FILE" 40; die "the registry did not start; see $LOG_FILE"; }
    sleep 0.2
  done
  echo "$pid" >"$PID_FILE"
  log "started Apicurio Registry $REGISTRY_VERSION (pid $pid), waiting up to ${REGISTRY_START_TIMEOUT}s ..."
  wait_ready "$pid"
  log "ready at $REGISTRY_URL (pid $pid, log $LOG_FILE) in $(( ($(now_ms) - t0) / 1000 ))s"
  print_url
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping the registry (pid $pid, SIGTERM) ..."
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$REGISTRY_STOP_TIMEOUT"; then
    warn "the registry (pid $pid) did not exit within ${REGISTRY_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 15 || die "the registry (pid $pid) survived SIGKILL"
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_kill() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" 15 || die "the registry (pid $pid) still alive 15s after SIGKILL"
  rm -f "$PID_FILE"
  log "killed"
}

cmd_status() {
  local pid
  if pid="$(running_pid)" && ready; then
    log "running (pid $pid) at $REGISTRY_URL"
    print_url
    return 0
  fi
  log "not running"
  return 3
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    start|stop|kill|restart) ctl_lock registry $(( REGISTRY_START_TIMEOUT + REGISTRY_STOP_TIMEOUT + ${REGISTRY_INSTALL_TIMEOUT:-1200} )) ;;
  esac
  case "$cmd" in
    install) cmd_install ;;
    start)   cmd_start "$@" ;;
    stop)    cmd_stop ;;
    kill)    cmd_kill ;;
    restart) cmd_stop; cmd_start "$@" ;;
    status)  cmd_status ;;
    logs)    logs_cmd "$LOG_FILE" "$@" ;;
    env)     print_url ;;
    -h|--help|help|"") usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# kafka.sh — a real single-node Apache Kafka 4.x (KRaft, combined
# broker+controller) on loopback, for tickbridge tests and local use.
#
# Usage: scripts/kafka.sh {install|start [--fresh]|stop|kill|restart [--fresh]|status|logs [-f] [-n N]|env}
#
#   install   resolve org.apache.kafka:kafka_2.13 + kafka-tools with `mvn` into
#             $TICKBRIDGE_CACHE/kafka-<ver>/libs (no-op when already there)
#   start     install if needed, format KRaft storage on first use, launch the
#             broker in the background and wait until it serves admin requests.
#             Idempotent: if it is already running, just checks it and prints.
#             --fresh wipes the data dir first (stopping the broker if running).
#   stop      SIGTERM (clean shutdown) and wait; SIGKILL after $KAFKA_STOP_TIMEOUT
#   kill      SIGKILL (crash simulation; data survives, `start` recovers it)
#   restart   stop + start
#   status    exit 0 and print the address if running, exit 3 if not
#   logs      print the last 200 lines of the broker log (-f to follow)
#   env       print KAFKA_BROKERS=... (no checks)
#
# On success `start`, `restart` and `status` print on stdout one line per listener
# (all other messages go to stderr), so:  eval "$(scripts/kafka.sh start)":
#   KAFKA_BROKERS=127.0.0.1:9092          PLAINTEXT
# and with KAFKA_SECURE=1 (the default) the secured listeners of the same broker,
# their TLS material (scripts/kafka-tls.sh) and the user `bridge`:
#   KAFKA_SASL_SSL=127.0.0.1:9094         SASL_SSL: PLAIN, SCRAM-SHA-256/512, OAUTHBEARER
#   KAFKA_MTLS=127.0.0.1:9095             SSL, client certificate required (mTLS)
#   KAFKA_EXPIRED_TLS=127.0.0.1:9096      SSL with a broker certificate expired in 2020
#   KAFKA_SASL_PLAINTEXT=127.0.0.1:9097   SASL_PLAINTEXT: SCRAM-SHA-512 only
#   KAFKA_TLS_DIR=<dir>                   ca.pem, client.pem/.key, other-ca.pem, ...
#   KAFKA_SCRAM_USER=bridge
#
# Environment (defaults in brackets):
#   KAFKA_VERSION           [4.1.2]
#   KAFKA_PORT              [9092]  PLAINTEXT listener on 127.0.0.1
#   KAFKA_CONTROLLER_PORT   [9093]  KRaft controller listener on 127.0.0.1
#   KAFKA_PARTITIONS        [3]     num.partitions for auto-created topics
#   KAFKA_HEAP_OPTS         [-Xms256m -Xmx768m]
#   KAFKA_JVM_OPTS          extra JVM options for the broker
#   KAFKA_SECURE            [1]     add the secured listeners (0: PLAINTEXT only)
#   KAFKA_SECURE_BASE_PORT  [9094]  first of the four secured ports
#   KAFKA_EXTRA_PROPS       extra server.properties lines (newline-separated k=v),
#                           appended last so they override the defaults
#   KAFKA_START_TIMEOUT     [120] seconds to wait for readiness
#   KAFKA_STOP_TIMEOUT      [60]  seconds to wait for a clean shutdown
#   KAFKA_INSTALL_TIMEOUT   [1200] seconds for the mvn resolution
#   KAFKA_MAVEN_REPO        local Maven repository to use [mvn's default, ~/.m2/repository]
#   TICKBRIDGE_CACHE        [$HOME/.cache/tickbridge]   install cache
#   TICKBRIDGE_BROKER_DIR   [/tmp/tickbridge-brokers]   data lives in <dir>/kafka
#
# Files in $TICKBRIDGE_BROKER_DIR/kafka: data/ (log.dirs, incl. KRaft metadata),
# server.properties, log4j2.xml (regenerated on each start), cluster.id,
# kafka.pid, kafka.log.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TB_NAME=kafka
# shellcheck source=_common.sh
. "$SCRIPT_DIR/_common.sh"
# shellcheck source=_kafka_common.sh
. "$SCRIPT_DIR/_kafka_common.sh"

KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-3}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"

CONF="$KAFKA_DATA/server.properties"
LOG4J_CONF="$KAFKA_DATA/log4j2.xml"
LOG_DIRS="$KAFKA_DATA/data"
PID_FILE="$KAFKA_DATA/kafka.pid"
LOG_FILE="$KAFKA_DATA/kafka.log"
CLUSTER_ID_FILE="$KAFKA_DATA/cluster.id"

for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_PARTITIONS KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"

KAFKA_SECURE="${KAFKA_SECURE:-1}"
KAFKA_SECURE_BASE_PORT="${KAFKA_SECURE_BASE_PORT:-9094}"
TLS_DIR="$KAFKA_DATA/tls"
SASL_SSL_PORT=$KAFKA_SECURE_BASE_PORT
MTLS_PORT=$((KAFKA_SECURE_BASE_PORT + 1))
EXPIRED_PORT=$((KAFKA_SECURE_BASE_PORT + 2))
SASL_PLAIN_PORT=$((KAFKA_SECURE_BASE_PORT + 3))
SCRAM_USER=bridge

print_addr() {
  echo "KAFKA_BROKERS=$KAFKA_BROKERS_ADDR"
  if [ "$KAFKA_SECURE" = 1 ]; then
    echo "KAFKA_SASL_SSL=$KAFKA_HOST:$SASL_SSL_PORT"
    echo "KAFKA_MTLS=$KAFKA_HOST:$MTLS_PORT"
    echo "KAFKA_EXPIRED_TLS=$KAFKA_HOST:$EXPIRED_PORT"
    echo "KAFKA_SASL_PLAINTEXT=$KAFKA_HOST:$SASL_PLAIN_PORT"
    echo "KAFKA_TLS_DIR=$TLS_DIR"
    echo "KAFKA_SCRAM_USER=$SCRAM_USER"
  fi
}

# secure_config: the secured listeners' server.properties lines (after the TLS
# material exists). Java properties: a later key overrides an earlier one.
secure_config() {
  local pw scram ks l
  pw="$(cat "$TLS_DIR/keystore.password")"
  scram="$(cat "$TLS_DIR/scram.password")"
  cat <<EOF

# Secured listeners (KAFKA_SECURE=1), TLS material from scripts/kafka-tls.sh.
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT,SASL_SSL://$KAFKA_HOST:$SASL_SSL_PORT,MTLS://$KAFKA_HOST:$MTLS_PORT,EXPIRED://$KAFKA_HOST:$EXPIRED_PORT,SASLPLAIN://$KAFKA_HOST:$SASL_PLAIN_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SASL_SSL://$KAFKA_HOST:$SASL_SSL_PORT,MTLS://$KAFKA_HOST:$MTLS_PORT,EXPIRED://$KAFKA_HOST:$EXPIRED_PORT,SASLPLAIN://$KAFKA_HOST:$SASL_PLAIN_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL,EXPIRED:SSL,SASLPLAIN:SASL_PLAINTEXT
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SCRAM_USER="$scram";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.saslplain.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.saslplain.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.mtls.ssl.client.auth=required
listener.name.mtls.ssl.truststore.type=PEM
listener.name.mtls.ssl.truststore.location=$TLS_DIR/ca.pem
EOF
  for l in sasl_ssl mtls expired; do
    if [ "$l" = expired ]; then ks="$TLS_DIR/expired.p12"; else ks="$TLS_DIR/broker.p12"; fi
    printf 'listener.name.%s.ssl.keystore.type=PKCS12\n' "$l"
    printf 'listener.name.%s.ssl.keystore.location=%s\n' "$l" "$ks"
    printf 'listener.name.%s.ssl.keystore.password=%s\n' "$l" "$pw"
    printf 'listener.name.%s.ssl.key.password=%s\n' "$l" "$pw"
  done
}

# ensure_scram_users: the SCRAM credentials of the user `bridge` (idempotent; over
# the PLAINTEXT listener, with Kafka's own kafka-configs tool).
ensure_scram_users() {
  [ "$KAFKA_SECURE" = 1 ] || return 0
  local scram mech
  scram="$(cat "$TLS_DIR/scram.password")"
  for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
    if ! KAFKA_BROKERS="$KAFKA_BROKERS_ADDR" "$SCRIPT_DIR/kafka-tool.sh" configs --alter \
        --add-config "$mech=[password=$scram]" --entity-type users --entity-name "$SCRAM_USER" \
        >>"$LOG_FILE" 2>&1; then
      tail_log "$LOG_FILE" 20
      die "creating the $mech user $SCRAM_USER failed; see $LOG_FILE"
    fi
  done
  log "SCRAM users ready ($SCRAM_USER: SCRAM-SHA-256, SCRAM-SHA-512)"
}

# running_pid: print the broker's PID and succeed if it is running. Identifies
# the process by the exact absolute path of its server.properties.
running_pid() {
  local pid=""
  [ -f "$PID_FILE" ] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [ -n "$pid" ] && pid_alive "$pid" && pid_cmdline_has "$pid" "$CONF"; then
    echo "$pid"; return 0
  fi
  # Stale or missing pid file: look for our broker by its config path.
  pid="$(find_pids_with "$KAFKA_MAIN_SERVER $CONF" | sed -n 1p)"
  if [ -n "$pid" ]; then
    echo "$pid" >"$PID_FILE"
    echo "$pid"; return 0
  fi
  rm -f "$PID_FILE"
  return 1
}

write_config() {
  mkdir -p "$LOG_DIRS"
  cat >"$CONF" <<EOF
# Generated by scripts/kafka.sh on each start; edits are overwritten.
# Use KAFKA_EXTRA_PROPS to add or override settings.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$LOG_DIRS

# Single node: everything replicated once.
num.partitions=$KAFKA_PARTITIONS
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# After a SIGKILL the restarted broker cannot register until the controller
# expires the dead incarnation's session (default 9 s); keep that short.
broker.session.timeout.ms=4500
broker.heartbeat.interval.ms=1000

# Modest footprint (2-core machine shared with tests).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
# Retention by size only. The bridge stamps records with the exchange's event time,
# and the test captures were recorded in 2024: with a time limit the broker's
# retention check (every 5 minutes) deletes a test's records between its produce and
# its read-back, whenever the check happens to fall in between.
log.retention.ms=-1
log.retention.bytes=1073741824
log.segment.bytes=134217728
EOF
  if [ "$KAFKA_SECURE" = 1 ]; then
    "$SCRIPT_DIR/kafka-tls.sh" "$TLS_DIR" || die "generating the TLS material in $TLS_DIR failed"
    secure_config >>"$CONF"
  fi
  if [ -n "${KAFKA_EXTRA_PROPS:-}" ]; then
    printf '\n# From KAFKA_EXTRA_PROPS\n%s\n' "$KAFKA_EXTRA_PROPS" >>"$CONF"
  fi

  cat >"$LOG4J_CONF" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/kafka.sh. Broker logs go to stdout, which is kafka.log. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="STDOUT"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.controller" level="INFO"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.authorizer.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

# storage_tool ARGS...: run kafka.tools.StorageTool (kafka-storage.sh).
storage_tool() {
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_HOME/config/tools-log4j2.xml" \
    -cp "$KAFKA_LIBS/*" "$KAFKA_MAIN_STORAGE" "$@"
}

format_storage_if_needed() {
  if [ -f "$LOG_DIRS/meta.properties" ]; then
    return 0
  fi
  local cid
  if [ -s "$CLUSTER_ID_FILE" ]; then
    cid="$(cat "$CLUSTER_ID_FILE")"
  else
    cid="$(storage_tool random-uuid 2>>"$LOG_FILE" | tail -n1)"
    [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not generate a cluster id (got '$cid'); see $LOG_FILE"
    echo "$cid" >"$CLUSTER_ID_FILE"
  fi
  log "formatting KRaft storage in $LOG_DIRS (cluster id $cid)"
  if ! storage_tool format --ignore-formatted -t "$cid" -c "$CONF" >>"$LOG_FILE" 2>&1; then
    tail_log "$LOG_FILE" 20
    die "kafka-storage format failed"
  fi
}

# admin_ok: true if the broker answers a metadata request (list topics).
admin_ok() {
  local secs="${1:-30}"
  timeout "$secs" java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_HOME/config/tools-log4j2.xml" \
    -cp "$KAFKA_LIBS/*" "$KAFKA_MAIN_TOPICS" \
    --bootstrap-server "$KAFKA_BROKERS_ADDR" --list >/dev/null 2>&1
}

# wait_ready PID LOG_OFFSET: wait for the broker started as PID to serve
# requests. LOG_OFFSET is the log size before launch (only newer lines count).
wait_ready() {
  local pid="$1" off="$2" deadline=$(( $(date +%s) + KAFKA_START_TIMEOUT )) started=0 remaining
  while :; do
    if ! pid_alive "$pid"; then
      tail_log "$LOG_FILE" 60
      die "Kafka (pid $pid) exited during startup; see $LOG_FILE"
    fi
    if [ "$started" = 0 ] && port_open "$KAFKA_HOST" "$KAFKA_PORT" \
       && tail -c "+$((off + 1))" "$LOG_FILE" 2>/dev/null | grep -cF 'Kafka Server started' >/dev/null; then
      started=1
    fi
    remaining=$(( deadline - $(date +%s) ))
    if [ "$started" = 1 ]; then
      [ "$remaining" -lt 5 ] && remaining=5
      admin_ok "$(( remaining < 30 ? remaining : 30 ))" && return 0
    fi
    if [ "$remaining" -le 0 ]; then
      tail_log "$LOG_FILE" 60
      die "Kafka (pid $pid) not ready after ${KAFKA_START_TIMEOUT}s (KAFKA_START_TIMEOUT); it is still running — see $LOG_FILE or run: $0 kill"
    fi
    sleep 0.5
  done
}

cmd_install() {
  kafka_install
  log "Kafka $KAFKA_VERSION is installed in $KAFKA_HOME"
}

cmd_start() {
  local fresh=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --fresh) fresh=1 ;;
      *) die "start: unknown option '$1' (only --fresh)" ;;
    esac
    shift
  done
  local t0 pid
  t0="$(now_ms)"
  kafka_install
  java_check
  mkdir -p "$KAFKA_DATA"

  if pid="$(running_pid)"; then
    if [ "$fresh" = 1 ]; then
      log "--fresh: stopping the running broker (pid $pid) first"
      cmd_stop
    else
      log "already running (pid $pid); checking it answers ..."
      local deadline=$(( $(date +%s) + KAFKA_START_TIMEOUT ))
      until admin_ok 30; do
        pid_alive "$pid" || die "Kafka (pid $pid) exited; see $LOG_FILE"
        [ "$(date +%s)" -ge "$deadline" ] && die "Kafka (pid $pid) is running but not answering on $KAFKA_BROKERS_ADDR after ${KAFKA_START_TIMEOUT}s; see $LOG_FILE"
        sleep 1
      done
      log "ready at $KAFKA_BROKERS_ADDR (pid $pid)"
      print_addr
      return 0
    fi
  fi

  local p
  local ports=("$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT")
  [ "$KAFKA_SECURE" = 1 ] && ports+=("$SASL_SSL_PORT" "$MTLS_PORT" "$EXPIRED_PORT" "$SASL_PLAIN_PORT")
  for p in "${ports[@]}"; do
    if port_open "$KAFKA_HOST" "$p"; then
      die "port $KAFKA_HOST:$p is already in use by another process (not this script's broker in $KAFKA_DATA); free it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done

  if [ "$fresh" = 1 ]; then
    log "--fresh: wiping $KAFKA_DATA"
    rm -rf "$KAFKA_DATA"
    mkdir -p "$KAFKA_DATA"
  fi

  # Keep the log from growing without bound across many test runs.
  if [ -f "$LOG_FILE" ] && [ "$(stat -c %s "$LOG_FILE")" -gt $((100 * 1024 * 1024)) ]; then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi
  touch "$LOG_FILE"

  write_config
  format_storage_if_needed

  local off
  off="$(stat -c %s "$LOG_FILE")"
  printf '\n===== %s kafka.sh start (Kafka %s, %s) =====\n' "$(date -Is)" "$KAFKA_VERSION" "$KAFKA_BROKERS_ADDR" >>"$LOG_FILE"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  # shellcheck disable=SC2086
  "${launcher[@]}" nohup java $KAFKA_HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" \
    -Dkafka.logs.dir="$KAFKA_DATA" \
    ${KAFKA_JVM_OPTS:-} \
    -cp "$KAFKA_LIBS/*" "$KAFKA_MAIN_SERVER" "$CONF" \
    >>"$LOG_FILE" 2>&1 </dev/null 8>&- &
  pid=$!
  # With setsid the PID normally stays the same (setsid execs); double-check.
  if ! pid_cmdline_has "$pid" "$CONF"; then
    sleep 0.3
    pid="$(find_pids_with "$KAFKA_MAIN_SERVER $CONF" | sed -n 1p)"
    [ -n "$pid" ] || { tail_log "$LOG_FILE" 40; die "Kafka did not start; see $LOG_FILE"; }
  fi
  echo "$pid" >"$PID_FILE"
  log "started Kafka $KAFKA_VERSION (pid $pid), waiting up to ${KAFKA_START_TIMEOUT}s for $KAFKA_BROKERS_ADDR ..."
  wait_ready "$pid" "$off"
  ensure_scram_users
  log "ready at $KAFKA_BROKERS_ADDR (pid $pid, data $KAFKA_DATA, log $LOG_FILE) in $(( ($(now_ms) - t0) / 1000 ))s"
  print_addr
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping Kafka (pid $pid, SIGTERM) ..."
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$KAFKA_STOP_TIMEOUT"; then
    warn "Kafka (pid $pid) did not exit within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 15 || die "Kafka (pid $pid) survived SIGKILL"
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
  log "killing Kafka (pid $pid, SIGKILL)"
  kill -KILL "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" 15 || die "Kafka (pid $pid) still alive 15s after SIGKILL"
  rm -f "$PID_FILE"
  log "killed"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      log "running (pid $pid) at $KAFKA_BROKERS_ADDR, data $KAFKA_DATA"
    else
      log "process running (pid $pid) but $KAFKA_BROKERS_ADDR is not accepting connections (starting up or stuck?)"
    fi
    print_addr
    return 0
  fi
  log "not running (data dir $KAFKA_DATA$([ -d "$LOG_DIRS" ] && echo ', has data' || echo ', empty'))"
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
    start|stop|kill|restart) ctl_lock kafka $(( KAFKA_START_TIMEOUT + KAFKA_STOP_TIMEOUT + ${KAFKA_INSTALL_TIMEOUT:-1200} )) ;;
  esac
  case "$cmd" in
    install) cmd_install "$@" ;;
    start)   cmd_start "$@" ;;
    stop)    cmd_stop ;;
    kill)    cmd_kill ;;
    restart) cmd_stop; cmd_start "$@" ;;
    status)  cmd_status ;;
    logs)    logs_cmd "$LOG_FILE" "$@" ;;
    env)     print_addr ;;
    -h|--help|help|"") usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# nats.sh — a real nats-server with JetStream on loopback, for tickbridge
# tests and local use.
#
# Usage: scripts/nats.sh {install|start [--fresh]|stop|kill|restart [--fresh]|status|logs [-f] [-n N]|env}
#
#   install   build nats-server $NATS_SERVER_VERSION with `go install` into
#             $TICKBRIDGE_CACHE/nats-server-<ver>/bin (no-op when cached).
#             Debian's package is used instead only if its version is >= 2.10
#             (bookworm ships 2.9.10), or when NATS_INSTALL_METHOD=apt.
#   start     install if needed, launch
#               nats-server -js -sd <data>/store -a 127.0.0.1 -p $NATS_PORT -m $NATS_MONITOR_PORT
#             in the background and wait until
#               http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true
#             answers ok. Idempotent: if already running, just checks it.
#             --fresh wipes the data dir first (stopping the server if running).
#   stop      SIGTERM (clean shutdown, JetStream state flushed) and wait
#   kill      SIGKILL (crash simulation; JetStream data survives)
#   restart   stop + start
#   status    exit 0 and print the URL if running, exit 3 if not
#   logs      print the last 200 lines of the server log (-f to follow)
#   env       print NATS_URL=... (no checks)
#
# On success `start`, `restart` and `status` print on stdout exactly one line:
#   NATS_URL=nats://127.0.0.1:4222
# (all other messages go to stderr), so:  eval "$(scripts/nats.sh start)"
#
# Authentication (optional, for tests; all off by default):
#   NATS_AUTH_TOKEN=secret       clients must connect with token "secret"
#                                (e.g. nats://secret@127.0.0.1:4222)
#   NATS_USER / NATS_PASSWORD    clients must connect as that user
#   NATS_CONFIG=/path/file.conf  passed as `-c FILE` (accounts, users, nkeys,
#                                TLS, limits...). The -js/-sd/-a/-p/-m flags are
#                                still given and take precedence over the file.
#   The monitor port (/healthz, /varz, /jsz) never requires auth. Auth settings
#   take effect on (re)start; `start` on a running server does not change them.
#
# Environment (defaults in brackets):
#   NATS_SERVER_VERSION   [v2.15.2]  module version for `go install`
#   NATS_INSTALL_METHOD   [auto]     auto | go | apt
#   NATS_PORT             [4222]
#   NATS_MONITOR_PORT     [8222]
#   NATS_EXTRA_ARGS       extra nats-server flags (word-split), e.g. "-DV" for debug+trace
#                         logging; settings without a flag (max_payload...) go in NATS_CONFIG
#   NATS_START_TIMEOUT    [60]  seconds to wait for readiness
#   NATS_STOP_TIMEOUT     [30]  seconds to wait for a clean shutdown
#   NATS_INSTALL_TIMEOUT  [1200] seconds for the build
#   TICKBRIDGE_CACHE      [$HOME/.cache/tickbridge]   install cache
#   TICKBRIDGE_BROKER_DIR [/tmp/tickbridge-brokers]   data lives in <dir>/nats
#
# Files in $TICKBRIDGE_BROKER_DIR/nats: store/ (JetStream), nats.pid, nats.log.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TB_NAME=nats
# shellcheck source=_common.sh
. "$SCRIPT_DIR/_common.sh"

NATS_SERVER_VERSION="${NATS_SERVER_VERSION:-v2.15.2}"
case "$NATS_SERVER_VERSION" in v*) ;; *) NATS_SERVER_VERSION="v$NATS_SERVER_VERSION" ;; esac
NATS_INSTALL_METHOD="${NATS_INSTALL_METHOD:-auto}"
NATS_PORT="${NATS_PORT:-4222}"
NATS_MONITOR_PORT="${NATS_MONITOR_PORT:-8222}"
NATS_START_TIMEOUT="${NATS_START_TIMEOUT:-60}"
NATS_STOP_TIMEOUT="${NATS_STOP_TIMEOUT:-30}"
NATS_HOST=127.0.0.1
NATS_URL_ADDR="nats://$NATS_HOST:$NATS_PORT"

NATS_HOME="$TB_CACHE/nats-server-$NATS_SERVER_VERSION"
NATS_GO_BIN="$NATS_HOME/bin/nats-server"
NATS_DEB_BIN=/usr/sbin/nats-server   # where Debian's package puts it
NATS_DATA="$TB_BROKER_DIR/nats"
STORE_DIR="$NATS_DATA/store"
PID_FILE="$NATS_DATA/nats.pid"
LOG_FILE="$NATS_DATA/nats.log"
# Minimum acceptable version: JetStream exists from 2.2; we want >= 2.10.
NATS_MIN_VERSION="${NATS_MIN_VERSION:-2.10.0}"

for v in NATS_PORT NATS_MONITOR_PORT NATS_START_TIMEOUT NATS_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[ "$NATS_PORT" != "$NATS_MONITOR_PORT" ] || die "NATS_PORT and NATS_MONITOR_PORT must differ"

print_url() { echo "NATS_URL=$NATS_URL_ADDR"; }

# version_ge A B: true if dotted version A >= B (leading v and suffixes ignored).
version_ge() {
  local a="${1#v}" b="${2#v}"
  a="${a%%[-+~]*}"; b="${b%%[-+~]*}"
  [ "$(printf '%s\n%s\n' "$b" "$a" | sort -V | sed -n 1p)" = "$b" ]
}

# binary_version BIN: prints e.g. 2.15.2
binary_version() {
  { "$1" --version 2>/dev/null || true; } | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | sed -n 1p || true
}

apt_candidate_version() {
  command -v apt-cache >/dev/null 2>&1 || return 0
  apt_update_once
  apt-cache policy nats-server 2>/dev/null | awk '/Candidate:/ {print $2}' | sed 's/^[0-9]*://; s/-[^-]*$//' | grep -v '(none)' || true
}

go_usable() {
  command -v go >/dev/null 2>&1 || return 1
  local gv
  gv="$(go env GOVERSION 2>/dev/null | sed 's/^go//')"
  # nats-server 2.12+ needs a recent Go (>= 1.24); check before building.
  version_ge "${gv:-0}" 1.24.0
}

install_go() {
  go_usable || die "Go >= 1.24 is required to build nats-server $NATS_SERVER_VERSION (found: $(go version 2>/dev/null || echo none)); or set NATS_INSTALL_METHOD=apt (Debian's nats-server, JetStream from 2.2)"
  need_cmd flock util-linux
  mkdir -p "$NATS_HOME"
  (
    flock -w "${NATS_INSTALL_TIMEOUT:-1200}" 9 || die "timed out waiting for another nats-server install (lock $NATS_HOME/.install.lock)"
    [ -x "$NATS_GO_BIN" ] && exit 0
    local t0
    t0="$(now_ms)"
    log "building nats-server $NATS_SERVER_VERSION with go install (Go module proxy) into $NATS_HOME/bin ..."
    mkdir -p "$NATS_HOME/bin.tmp"
    if ! GOBIN="$NATS_HOME/bin.tmp" CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
         timeout "${NATS_INSTALL_TIMEOUT:-1200}" \
         go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION" >"$NATS_HOME/build.log" 2>&1; then
      tail -n 30 "$NATS_HOME/build.log" | sed 's/^/    /' >&2
      die "go install github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION failed (log: $NATS_HOME/build.log)"
    fi
    [ -x "$NATS_HOME/bin.tmp/nats-server" ] || die "go install produced no nats-server binary"
    rm -rf "${NATS_HOME:?}/bin"
    mv "$NATS_HOME/bin.tmp" "$NATS_HOME/bin"
    log "built nats-server $(binary_version "$NATS_GO_BIN") in $(( ($(now_ms) - t0) / 1000 ))s"
  ) 9>"$NATS_HOME/.install.lock"
  [ -x "$NATS_GO_BIN" ] || die "nats-server install did not complete"
}

install_apt() {
  local min="$1"
  if [ ! -x "$NATS_DEB_BIN" ]; then
    apt_install nats-server
    # On a systemd host the package enables and starts a service on :4222.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nats-server 2>/dev/null; then
      log "stopping and disabling Debian's nats-server.service (it would hold port 4222)"
      as_root systemctl disable --now nats-server >&2 || warn "could not stop nats-server.service"
    fi
  fi
  [ -x "$NATS_DEB_BIN" ] || die "Debian's nats-server package did not provide $NATS_DEB_BIN"
  local v
  v="$(binary_version "$NATS_DEB_BIN")"
  version_ge "${v:-0}" "$min" || die "Debian's nats-server is $v, need >= $min"
  [ -n "$v" ] && ! version_ge "$v" "$NATS_MIN_VERSION" && warn "using Debian's nats-server $v (< $NATS_MIN_VERSION; JetStream works but lacks newer features)"
  return 0
}

# resolve_bin: set NATS_BIN, installing if needed.
resolve_bin() {
  case "$NATS_INSTALL_METHOD" in
    go)
      [ -x "$NATS_GO_BIN" ] || install_go
      NATS_BIN="$NATS_GO_BIN" ;;
    apt)
      install_apt 2.2.0
      NATS_BIN="$NATS_DEB_BIN" ;;
    auto)
      if [ -x "$NATS_GO_BIN" ]; then
        NATS_BIN="$NATS_GO_BIN"
      elif [ -x "$NATS_DEB_BIN" ] && version_ge "$(binary_version "$NATS_DEB_BIN")" "$NATS_MIN_VERSION"; then
        NATS_BIN="$NATS_DEB_BIN"
      else
        local cand
        cand="$(apt_candidate_version)"
        if [ -n "$cand" ] && version_ge "$cand" "$NATS_MIN_VERSION"; then
          log "Debian offers nats-server $cand (>= $NATS_MIN_VERSION): installing it with apt"
          install_apt "$NATS_MIN_VERSION"
          NATS_BIN="$NATS_DEB_BIN"
        elif go_usable; then
          [ -n "$cand" ] && log "Debian's nats-server is $cand (< $NATS_MIN_VERSION); building $NATS_SERVER_VERSION from source instead"
          install_go
          NATS_BIN="$NATS_GO_BIN"
        elif [ -n "$cand" ] && version_ge "$cand" 2.2.0; then
          warn "no usable Go toolchain; falling back to Debian's nats-server $cand"
          install_apt 2.2.0
          NATS_BIN="$NATS_DEB_BIN"
        else
          die "cannot install nats-server: no Go >= 1.24 and no suitable Debian package"
        fi
      fi ;;
    *) die "NATS_INSTALL_METHOD must be auto, go or apt (got '$NATS_INSTALL_METHOD')" ;;
  esac
}

# Our server is recognised by its exact JetStream store dir argument.
ID_ARG="-sd $STORE_DIR "

running_pid() {
  local pid=""
  [ -f "$PID_FILE" ] && pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if [ -n "$pid" ] && pid_alive "$pid" && pid_cmdline_has "$pid" "$ID_ARG"; then
    echo "$pid"; return 0
  fi
  pid="$(find_pids_with "$ID_ARG" | while read -r p; do pid_cmdline_has "$p" nats-server && echo "$p"; done | sed -n 1p)"
  if [ -n "$pid" ]; then
    echo "$pid" >"$PID_FILE"
    echo "$pid"; return 0
  fi
  rm -f "$PID_FILE"
  return 1
}

# http_get URL_PATH: body of http://127.0.0.1:$NATS_MONITOR_PORT$URL_PATH
http_get() {
  local path="$1"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 "http://$NATS_HOST:$NATS_MONITOR_PORT$path" 2>/dev/null
  else
    # Plain bash: HTTP/1.0 over /dev/tcp, headers stripped.
    # shellcheck disable=SC2016
    timeout 5 bash -c '
      exec 3<>"/dev/tcp/$1/$2" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$3" "$1" >&3
      sed "1,/^\r\{0,1\}$/d" <&3' _ "$NATS_HOST" "$NATS_MONITOR_PORT" "$path" 2>/dev/null
  fi
}

healthy() {
  http_get '/healthz?js-enabled-only=true' | grep -c '"status": *"ok"' >/dev/null
}

wait_ready() {
  local pid="$1" deadline=$(( $(date +%s) + NATS_START_TIMEOUT ))
  until healthy; do
    if ! pid_alive "$pid"; then
      tail_log "$LOG_FILE" 40
      die "nats-server (pid $pid) exited during startup; see $LOG_FILE"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail_log "$LOG_FILE" 40
      die "nats-server (pid $pid) not healthy after ${NATS_START_TIMEOUT}s (NATS_START_TIMEOUT); see $LOG_FILE"
    fi
    sleep 0.2
  done
  # JetStream must really be on.
  http_get /jsz | grep -c '"config"' >/dev/null || die "nats-server is up but /jsz shows no JetStream config"
}

cmd_install() {
  resolve_bin
  log "nats-server $(binary_version "$NATS_BIN") at $NATS_BIN"
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
  resolve_bin
  mkdir -p "$NATS_DATA"

  if pid="$(running_pid)"; then
    if [ "$fresh" = 1 ]; then
      log "--fresh: stopping the running server (pid $pid) first"
      cmd_stop
    else
      log "already running (pid $pid); checking health ..."
      wait_ready "$pid"
      log "ready at $NATS_URL_ADDR (pid $pid)"
      print_url
      return 0
    fi
  fi

  local p
  for p in "$NATS_PORT" "$NATS_MONITOR_PORT"; do
    if port_open "$NATS_HOST" "$p"; then
      die "port $NATS_HOST:$p is already in use by another process (not this script's server in $NATS_DATA); free it or set NATS_PORT / NATS_MONITOR_PORT"
    fi
  done

  if [ "$fresh" = 1 ]; then
    log "--fresh: wiping $NATS_DATA"
    rm -rf "$NATS_DATA"
    mkdir -p "$NATS_DATA"
  fi
  mkdir -p "$STORE_DIR"
  if [ -f "$LOG_FILE" ] && [ "$(stat -c %s "$LOG_FILE")" -gt $((100 * 1024 * 1024)) ]; then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi

  local args=()
  local auth_desc=none
  if [ -n "${NATS_CONFIG:-}" ]; then
    [ -r "$NATS_CONFIG" ] || die "NATS_CONFIG=$NATS_CONFIG is not a readable file"
    args+=(-c "$(cd "$(dirname "$NATS_CONFIG")" && pwd)/$(basename "$NATS_CONFIG")")
    auth_desc="config $NATS_CONFIG"
  fi
  # The store dir goes first: it identifies our process (see ID_ARG).
  args+=(-js -sd "$STORE_DIR" -a "$NATS_HOST" -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -n "tickbridge-nats-$NATS_PORT")
  if [ -n "${NATS_AUTH_TOKEN:-}" ]; then
    [ -z "${NATS_USER:-}" ] || die "set either NATS_AUTH_TOKEN or NATS_USER/NATS_PASSWORD, not both"
    args+=(--auth "$NATS_AUTH_TOKEN"); auth_desc=token
  elif [ -n "${NATS_USER:-}" ]; then
    args+=(--user "$NATS_USER" --pass "${NATS_PASSWORD:?NATS_PASSWORD must be set with NATS_USER}"); auth_desc="user $NATS_USER"
  fi
  # shellcheck disable=SC2206
  [ -n "${NATS_EXTRA_ARGS:-}" ] && args+=($NATS_EXTRA_ARGS)

  printf '\n===== %s nats.sh start (%s, %s, auth: %s) =====\n' "$(date -Is)" "$NATS_BIN" "$NATS_URL_ADDR" "$auth_desc" >>"$LOG_FILE"
  local launcher=()
  command -v setsid >/dev/null 2>&1 && launcher=(setsid)
  "${launcher[@]}" nohup "$NATS_BIN" "${args[@]}" >>"$LOG_FILE" 2>&1 </dev/null 8>&- &
  pid=$!
  if ! pid_cmdline_has "$pid" "$ID_ARG"; then
    sleep 0.3
    pid="$(find_pids_with "$ID_ARG" | sed -n 1p)"
    [ -n "$pid" ] || { tail_log "$LOG_FILE" 40; die "nats-server did not start; see $LOG_FILE"; }
  fi
  echo "$pid" >"$PID_FILE"
  log "started nats-server $(binary_version "$NATS_BIN") (pid $pid, auth: $auth_desc), waiting up to ${NATS_START_TIMEOUT}s ..."
  wait_ready "$pid"
  log "ready at $NATS_URL_ADDR (monitor http://$NATS_HOST:$NATS_MONITOR_PORT, data $NATS_DATA, log $LOG_FILE) in $(( $(now_ms) - t0 ))ms"
  print_url
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping nats-server (pid $pid, SIGTERM) ..."
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$NATS_STOP_TIMEOUT"; then
    warn "nats-server (pid $pid) did not exit within ${NATS_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 15 || die "nats-server (pid $pid) survived SIGKILL"
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
  log "killing nats-server (pid $pid, SIGKILL)"
  kill -KILL "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" 15 || die "nats-server (pid $pid) still alive 15s after SIGKILL"
  rm -f "$PID_FILE"
  log "killed"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if healthy; then
      log "running (pid $pid) at $NATS_URL_ADDR, JetStream ok, data $NATS_DATA"
    else
      log "process running (pid $pid) but /healthz?js-enabled-only=true is not ok (starting up or stuck?)"
    fi
    print_url
    return 0
  fi
  log "not running (data dir $NATS_DATA)"
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
    start|stop|kill|restart) ctl_lock nats $(( NATS_START_TIMEOUT + NATS_STOP_TIMEOUT + ${NATS_INSTALL_TIMEOUT:-1200} )) ;;
  esac
  case "$cmd" in
    install) cmd_install "$@" ;;
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

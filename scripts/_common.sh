# shellcheck shell=bash disable=SC2034
# Shared helpers for scripts/kafka.sh, scripts/nats.sh, scripts/brokers.sh.
# Sourced, not executed. (Pipelines avoid early-exiting readers such as
# `grep -q`/`head`: with pipefail their SIGPIPE would fail the pipeline.)
# Conventions:
#   * human-readable messages go to stderr (prefixed with the script name);
#   * machine-readable lines (KAFKA_BROKERS=..., NATS_URL=...) go to stdout,
#     so `eval "$(scripts/kafka.sh start)"` works.

TB_CACHE="${TICKBRIDGE_CACHE:-$HOME/.cache/tickbridge}"
TB_BROKER_DIR="${TICKBRIDGE_BROKER_DIR:-/tmp/tickbridge-brokers}"
TB_NAME="${TB_NAME:-$(basename "$0" .sh)}"

log()  { printf '[%s] %s\n' "$TB_NAME" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$TB_NAME" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$TB_NAME" "$*" >&2; exit 1; }

# now_ms: wall clock in milliseconds (for timing messages).
now_ms() { date +%s%3N; }

# as_root CMD...: run CMD as root (directly if we are root, else via sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

# apt_install PKG...: install Debian packages; runs `apt-get update` once
# per process (and at most once per hour across processes) first.
_TB_APT_UPDATED=0
apt_update_once() {
  [ "$_TB_APT_UPDATED" = 1 ] && return 0
  local lists=/var/lib/apt/lists
  # Refresh if the lists are missing or older than an hour.
  if [ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | sed -n 1p)" ]; then
    log "apt-get update ..."
    as_root env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq >&2 \
      || die "apt-get update failed"
  fi
  _TB_APT_UPDATED=1
}
apt_install() {
  apt_update_once
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive timeout 1200 \
    apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
}

# need_cmd CMD APT_PKG: make sure CMD exists, installing APT_PKG if not.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "'$1' not found and apt-get is unavailable; install $2"
  apt_install "$2"
  command -v "$1" >/dev/null 2>&1 || die "'$1' still not found after installing $2"
}

# port_open HOST PORT: true if something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
}

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
  local pid="$1" state
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [ -n "$state" ] && [ "$state" != Z ]
}

# pid_cmdline_has PID STRING: true if PID's command line contains STRING.
pid_cmdline_has() {
  local cmd
  cmd="$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmd" == *"$2"* ]]
}

# find_pids_with STRING: PIDs (other than ours) whose command line contains
# STRING. Used only to find processes started by these scripts (STRING is an
# exact absolute config path), never to signal anything by name.
find_pids_with() {
  local d pid
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    [ "$pid" = "$$" ] && continue
    [ "$pid" = "$BASHPID" ] && continue
    pid_cmdline_has "$pid" "$1" && pid_alive "$pid" && echo "$pid"
  done
  return 0
}

# wait_pid_gone PID TIMEOUT_S: wait until PID has exited; false on timeout.
wait_pid_gone() {
  local pid="$1" deadline=$(( $(date +%s) + $2 ))
  while pid_alive "$pid"; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.2
  done
  return 0
}

# tail_log FILE [N]: last N (default 40) lines of FILE to stderr, indented.
tail_log() {
  [ -f "$1" ] || return 0
  printf '[%s] ---- last lines of %s ----\n' "$TB_NAME" "$1" >&2
  tail -n "${2:-40}" "$1" | sed 's/^/    /' >&2
  printf '[%s] ----\n' "$TB_NAME" >&2
}

# logs_cmd FILE [-f|--follow] [-n N]: print (or follow) the log.
logs_cmd() {
  local file="$1"; shift
  local follow=0 n=200
  while [ $# -gt 0 ]; do
    case "$1" in
      -f|--follow) follow=1 ;;
      -n) shift; n="${1:?-n needs a number}" ;;
      -n*) n="${1#-n}" ;;
      *) die "logs: unknown option '$1' (use -f, -n N)" ;;
    esac
    shift
  done
  [ -f "$file" ] || die "no log file yet: $file"
  if [ "$follow" = 1 ]; then exec tail -n "$n" -F "$file"; else tail -n "$n" "$file"; fi
}

# ctl_lock NAME TIMEOUT_S: serialise start/stop/kill of one broker across
# processes (fd 8, held until the script exits; daemons are launched with
# 8>&- so they do not inherit it).
ctl_lock() {
  need_cmd flock util-linux
  mkdir -p "$TB_BROKER_DIR"
  exec 8>"$TB_BROKER_DIR/.$1.lock"
  flock -w "$2" 8 || die "another $1 start/stop is still running after ${2}s (lock $TB_BROKER_DIR/.$1.lock)"
}

# kafka_and_captures: for the long runs outside CI (failover-loop.sh, soak.sh), run
# from the repository's root: the running Kafka at KAFKA_BROKERS, else one started
# by kafka.sh; and TICKBRIDGE_CAPTURES, the capture corpus.
kafka_and_captures() {
  if [ -z "${KAFKA_BROKERS:-}" ]; then
    scripts/kafka.sh start >/dev/null
    export KAFKA_BROKERS=127.0.0.1:${KAFKA_PORT:-9092}
  fi
  export TICKBRIDGE_CAPTURES="${TICKBRIDGE_CAPTURES:-$(pwd)/../shared/captures}"
}

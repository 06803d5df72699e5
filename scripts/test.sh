#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: installs what the build needs,
# starts the real brokers the integration tests use (Kafka, NATS, a schema registry)
# on 127.0.0.1, runs format and lint checks, every test, and the deployment checks;
# stops the brokers on exit.
#
#   scripts/test.sh            # everything
#   TICKBRIDGE_SKIP_BROKERS=1 scripts/test.sh   # no brokers (their tests then fail loudly)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf '== %s\n' "$*" >&2; }

# Build prerequisites (rdkafka builds librdkafka with cmake).
need=()
for tool in cmake g++ make pkg-config; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  log "installing build tools: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make pkg-config >/dev/null
fi

# The Kafka sink's TLS and SASL SCRAM link the system OpenSSL (Cargo.toml, rdkafka).
if ! pkg-config --exists openssl 2>/dev/null; then
  log "installing libssl-dev (OpenSSL headers for librdkafka's TLS)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev >/dev/null
fi

# promtool (alert rule tests: scripts/check-alerts.sh) from Debian's prometheus package.
if ! command -v promtool >/dev/null 2>&1; then
  log "installing promtool (Debian package prometheus)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

export TICKBRIDGE_CAPTURES="${TICKBRIDGE_CAPTURES:-$root/../shared/captures}"
[ -d "$TICKBRIDGE_CAPTURES" ] || { echo "TICKBRIDGE_CAPTURES=$TICKBRIDGE_CAPTURES is not a directory" >&2; exit 1; }

# The independent consumers' Python (confluent-kafka's Schema Registry
# deserializers: tests/kafka_schema_registry.rs).
if [ -z "${TICKBRIDGE_PYTHON:-}" ]; then
  log "python environment of the consumers (scripts/pyenv.sh)"
  TICKBRIDGE_PYTHON="$(scripts/pyenv.sh)"
  export TICKBRIDGE_PYTHON
fi

if [ -z "${TICKBRIDGE_SKIP_BROKERS:-}" ]; then
  log "starting brokers"
  brokers_env=$(scripts/brokers.sh up --fresh)
  set -a; eval "$brokers_env"; set +a
  trap 'scripts/brokers.sh down >/dev/null 2>&1 || true' EXIT
fi

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
cargo test --workspace --locked -- --test-threads=2
# The binary cargo test built (CARGO_TARGET_DIR moves it).
bin="${CARGO_TARGET_DIR:-target}/debug/tickbridge"
if [ -x scripts/check-deploy.sh ]; then
  log "deployment checks (helm chart, Dockerfile)"
  TICKBRIDGE_BIN="$bin" scripts/check-deploy.sh
fi
log "alert rules and dashboard against the binary's live /metrics"
scripts/check-alerts.sh --bin "$bin"
log "all checks passed"

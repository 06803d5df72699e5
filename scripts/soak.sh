#!/usr/bin/env bash
# soak.sh — the memory soak (not part of CI): a paced mock exchange → the release
# `tickbridge run` → Kafka for DURATION (default 1h) at RATE ticks/s (default 20000),
# the bridge's RSS sampled every 10 s into CSV (default /tmp/tickbridge-soak.csv); at the
# end lost must be 0 and Kafka must hold every tick (examples/soak.rs).
#
#   scripts/soak.sh                       # one hour at 20k ticks/s
#   DURATION=10m RATE=50000 scripts/soak.sh
#
# Uses a running Kafka at KAFKA_BROKERS, else starts one with scripts/kafka.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh
kafka_and_captures
cargo build --locked --release --bin tickbridge --example soak
exec "${CARGO_TARGET_DIR:-target}/release/examples/soak" \
  --duration "${DURATION:-1h}" --rate "${RATE:-20000}" \
  --csv "${CSV:-/tmp/tickbridge-soak.csv}" \
  --bin "${CARGO_TARGET_DIR:-target}/release/tickbridge"

#!/usr/bin/env bash
# Runs examples/conn_memory RUNS times per binary, the binaries interleaved (same
# sitting), and prints min/median/max of every numeric RESULT/HOLD/BIGFRAME/THROUGHPUT
# field.
#
#   connectors/examples/conn_memory.sh RUNS "NAME=BINARY [NAME=BINARY ...]" -- ARGS...
#
# e.g. (after `cargo build --release -p tickbridge-connectors --example conn_memory`):
#   connectors/examples/conn_memory.sh 5 "head=$CARGO_TARGET_DIR/release/examples/conn_memory" \
#       -- --connections 300 --symbols 300 --channels trade,bbo
# Raw lines go to ${CONN_MEMORY_LOG:-/tmp/conn_memory.log}.
set -euo pipefail
runs=$1
bins=$2
shift 2
[ "${1:-}" = "--" ] && shift
log=${CONN_MEMORY_LOG:-/tmp/conn_memory.log}
: >"$log"
for ((i = 1; i <= runs; i++)); do
  for nb in $bins; do
    name=${nb%%=*}
    bin=${nb#*=}
    "$bin" "$@" 2>>"$log.stderr" | grep -E '^(RESULT|HOLD|BIGFRAME|THROUGHPUT)' | sed "s/^/$name run=$i /" >>"$log" || {
      echo "run $i of $name failed (see $log.stderr)" >&2
      exit 1
    }
  done
done
python3 - "$log" <<'EOF'
import collections, statistics, sys
data = collections.OrderedDict()
for line in open(sys.argv[1]):
    parts = line.split()
    name, kind = parts[0], parts[2]
    for kv in parts[3:]:
        k, _, v = kv.partition("=")
        try:
            x = float(v)
        except ValueError:
            continue
        data.setdefault((kind, k), collections.OrderedDict()).setdefault(name, []).append(x)
for (kind, k), by in data.items():
    for name, xs in by.items():
        print(f"{kind:10} {k:32} {name:12} n={len(xs)} min={min(xs):10.1f} median={statistics.median(xs):10.1f} max={max(xs):10.1f}")
EOF

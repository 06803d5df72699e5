#!/usr/bin/env bash
# failover-loop.sh — the hot-standby failover loop (not part of CI): two replicas of
# one shard into Kafka, the leader SIGKILLed at varying points KILLS times (default
# 10), each killed replica restarted as the new standby; an independent consumer then
# finds every trade and bbo of the capture, and the copies and failover times are
# printed (tests/hot_standby.rs, failover_loop_of_sigkills_loses_nothing).
#
#   scripts/failover-loop.sh            # 10 SIGKILLs
#   KILLS=20 scripts/failover-loop.sh
#
# Uses a running Kafka at KAFKA_BROKERS, else starts one with scripts/kafka.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_common.sh
kafka_and_captures
TB_FAILOVER_KILLS="${KILLS:-10}" exec cargo test --test hot_standby \
  failover_loop_of_sigkills_loses_nothing -- --ignored --nocapture

#!/usr/bin/env bash
# kafka-tool.sh — run Kafka's own Java admin/console tools from the jars that
# scripts/kafka.sh installed (installs them first if needed). No Kafka
# distribution or kafka-*.sh wrappers are required.
#
# Usage: scripts/kafka-tool.sh <subcommand|fully.qualified.MainClass> [args...]
#
# Subcommands (Kafka 4.x main classes); those marked * get
# `--bootstrap-server $KAFKA_BROKERS` added unless you pass --bootstrap-server
# (or --bootstrap-controller) yourself:
#   topics*        org.apache.kafka.tools.TopicCommand            (kafka-topics.sh)
#   produce*       org.apache.kafka.tools.ConsoleProducer         (kafka-console-producer.sh)
#   consume*       org.apache.kafka.tools.consumer.ConsoleConsumer (kafka-console-consumer.sh)
#   groups*        org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
#   configs*       kafka.admin.ConfigCommand                      (kafka-configs.sh)
#   offsets*       org.apache.kafka.tools.GetOffsetShell          (kafka-get-offsets.sh)
#   delete-records* org.apache.kafka.tools.DeleteRecordsCommand
#   log-dirs*      org.apache.kafka.tools.LogDirsCommand
#   api-versions*  org.apache.kafka.tools.BrokerApiVersionsCommand
#   quorum*        org.apache.kafka.tools.MetadataQuorumCommand
#   producer-perf  org.apache.kafka.tools.ProducerPerformance     (uses --bootstrap-server in --producer-props)
#   dump-log       kafka.tools.DumpLogSegments
#   storage        kafka.tools.StorageTool
#
# Examples:
#   scripts/kafka-tool.sh topics --list
#   scripts/kafka-tool.sh topics --create --topic big --partitions 1 --config max.message.bytes=4194304
#   scripts/kafka-tool.sh topics --describe --topic big
#   echo hello | scripts/kafka-tool.sh produce --topic t
#   scripts/kafka-tool.sh consume --topic t --from-beginning --max-messages 1 --timeout-ms 20000
#   scripts/kafka-tool.sh offsets --topic t
#   scripts/kafka-tool.sh org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#
# Environment: KAFKA_BROKERS (default 127.0.0.1:$KAFKA_PORT, KAFKA_PORT
# default 9092), KAFKA_VERSION, TICKBRIDGE_CACHE (as for kafka.sh),
# KAFKA_TOOL_HEAP_OPTS [-Xmx512m], KAFKA_TOOL_JVM_OPTS
# [-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto]. Tool logging:
# WARN and above on stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TB_NAME=kafka-tool
# shellcheck source=_common.sh
. "$SCRIPT_DIR/_common.sh"
# shellcheck source=_kafka_common.sh
. "$SCRIPT_DIR/_kafka_common.sh"

KAFKA_BROKERS="${KAFKA_BROKERS:-$KAFKA_BROKERS_ADDR}"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
sub="$1"; shift

bootstrap=1
case "$sub" in
  topics)          main=org.apache.kafka.tools.TopicCommand ;;
  produce|producer|console-producer) main=org.apache.kafka.tools.ConsoleProducer ;;
  consume|consumer|console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  groups|consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  configs)         main=kafka.admin.ConfigCommand ;;
  offsets|get-offsets) main=org.apache.kafka.tools.GetOffsetShell ;;
  delete-records)  main=org.apache.kafka.tools.DeleteRecordsCommand ;;
  log-dirs)        main=org.apache.kafka.tools.LogDirsCommand ;;
  api-versions)    main=org.apache.kafka.tools.BrokerApiVersionsCommand ;;
  quorum|metadata-quorum) main=org.apache.kafka.tools.MetadataQuorumCommand ;;
  producer-perf)   main=org.apache.kafka.tools.ProducerPerformance; bootstrap=0 ;;
  dump-log)        main=kafka.tools.DumpLogSegments; bootstrap=0 ;;
  storage)         main=kafka.tools.StorageTool; bootstrap=0 ;;
  -h|--help|help)  usage ;;
  *.*)             main="$sub"; bootstrap=0 ;;
  *) log "unknown subcommand '$sub' (give a subcommand or a fully qualified main class)"; usage ;;
esac

if [ "$bootstrap" = 1 ]; then
  for a in "$@"; do
    case "$a" in
      --bootstrap-server|--bootstrap-server=*|--bootstrap-controller|--bootstrap-controller=*|-h|--help|--version) bootstrap=0 ;;
    esac
  done
fi
if [ "$bootstrap" = 1 ]; then
  # Fail fast (instead of the admin client's 60 s of retries) when nothing
  # listens on the first bootstrap address.
  first="${KAFKA_BROKERS%%,*}"
  if [[ "$first" =~ ^(.+):([0-9]+)$ ]] && ! port_open "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; then
    die "nothing is listening on $first (KAFKA_BROKERS=$KAFKA_BROKERS); start Kafka with: $SCRIPT_DIR/kafka.sh start"
  fi
  set -- --bootstrap-server "$KAFKA_BROKERS" "$@"
fi

kafka_install
command -v java >/dev/null 2>&1 || java_check
kafka_java_tool "$main" "$@"

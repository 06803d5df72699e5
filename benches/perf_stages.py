#!/usr/bin/env python3
"""Groups a `perf record` profile of the bridge (benches/kafka.rs with TB_BENCH_PERF)
into pipeline stages by the symbol each sample's own time is in (no call graphs:
allocator, memcpy and kernel time are shown as their own rows, not split per stage).

    TB_BENCH_RUNS=1 TB_BENCH_SCENARIOS=throughput TB_BENCH_CEILING_RECORDS=0 \
      TB_BENCH_PERF=/tmp/tb cargo bench --bench kafka
    python3 benches/perf_stages.py /tmp/tb.max [acked ticks]
"""
import re
import subprocess
import sys

# First match wins: (stage, regex over "dso symbol").
STAGES = [
    ("delivery reports", r"rd_kafka_event_message|rd_kafka_dr_|delivery::Reports|rd_kafka_poll|rd_kafka_q_serve|ThreadedProducer|BaseProducer<.*>::poll|BorrowedMessage"),
    ("produce (enqueue into librdkafka)", r"rd_kafka_producev|rd_kafka_msg_new|rd_kafka_msg_partitioner|rd_kafka_msgq_(insert|enq)|sinks::kafka::Inner::send_batch|TopicTemplate::render_into|BaseRecord|OwnedHeaders|rd_kafka_headers|rd_hdr_iter|CString"),
    ("librdkafka broker thread (batching, lz4, requests)", r"LZ4|rd_kafka_msgset|rd_buf|rd_slice|rd_kafka_buf|rd_kafka_broker|rd_kafka_toppar|rd_kafka_msgq|rd_kafka_transport|rd_crc32|crc32c|crc32_z|rd_list|rd_hdr_histogram|rd_kafka_"),
    ("encode (record to JSON)", r"tickbridge_schema::json|Record::(to_json|write_json)|encode_as|sinks::encoding|fmt::Display|pad_integral"),
    ("batch and publish stages", r"tickbridge::pipeline|lost::symbols_of"),
    ("queue (tokio mpsc, notify, semaphores)", r"tokio::sync|batch_semaphore|atomic_waker|Notify"),
    ("parse (frame to records)", r"tickbridge_connectors::(flat|exchanges|convert|envelope|symbols|book)|tickbridge_schema::decimal|smol_str|serde_json|Dec::"),
    ("WebSocket read (frames, UTF-8, session)", r"tungstenite|tickbridge_connectors::session|from_utf8|bytes::|httparse"),
    ("allocator", r"malloc|_int_free|cfree|mi_free|mi_malloc|_mi_|realloc|free@|__libc_free|_int_realloc"),
    ("memcpy / memset / memcmp", r"memmove|memcpy|memset|memcmp"),
    ("tokio runtime", r"tokio::runtime|tokio::task|tokio::time|mio::|tokio_util|MaybeDone|futures_"),
    ("clock", r"clock_gettime|vdso"),
    ("locks", r"pthread_(mutex|rwlock|cond)|__lll_lock|_raw_spin"),
    ("kernel (syscalls, scheduler, page faults, network)", r"\[kernel"),
]


def main():
    path = sys.argv[1]
    ticks = float(sys.argv[2]) if len(sys.argv) > 2 else None
    out = subprocess.run(
        ["perf", "report", "-i", path, "--no-children", "--sort", "dso,symbol",
         "--stdio", "--percent-limit", "0"],
        capture_output=True, text=True, check=True).stdout
    total_samples = None
    m = re.search(r"# Event count \(approx\.\): (\d+)", out)
    event_ns = int(m.group(1)) if m else None
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*\S)", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        key = f"{dso} {sym}"
        stage = next((s for s, rx in STAGES if re.search(rx, key)), "other")
        rows[stage] = rows.get(stage, 0.0) + pct
    print(f"{'stage':<52} {'share':>7}" + ("  µs/tick" if ticks and event_ns else ""))
    for stage, pct in sorted(rows.items(), key=lambda kv: -kv[1]):
        line = f"{stage:<52} {pct:6.1f}%"
        if ticks and event_ns:
            line += f"  {event_ns * pct / 100 / ticks / 1000:7.3f}"
        print(line)
    if ticks and event_ns:
        print(f"{'total':<52} {100.0:6.1f}%  {event_ns / ticks / 1000:7.3f}")


if __name__ == "__main__":
    main()

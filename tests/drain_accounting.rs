//! The delivery promise at the drain deadline: with no broker reachable and a short
//! `drain_timeout`, records pile up in the queue, the batcher and in flight; at the
//! deadline every one of them is counted as lost where it was, so the summary line,
//! `/metrics` and the exit code agree on `received = delivered + dead_lettered +
//! lost`. (Before, the records still queued or batched were dropped uncounted: the
//! summary said `received 5 lost 5` while the sources had emitted thousands.)

mod common;

use std::time::Duration;

use common::{capture, metric, ops_addr, wait_until, Bridge, Replay};
use serde_json::Value;

const BTC: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";

#[test]
fn records_pending_at_the_drain_deadline_are_counted_lost_where_they_were() {
    let replay = Replay::start(&capture(BTC), "max");
    // Nothing listens on port 1: the Kafka sink holds every batch (hold_while_down).
    let config = format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTCUSDT"]
ws_url = "{ws}"

[queue]
capacity = 2000

[batch]
max_events = 100
linger = "1ms"

[sink]
kind = "kafka"
max_in_flight = 2

[sink.kafka]
brokers = "127.0.0.1:1"

[shutdown]
drain_timeout = "1s"

[ops]
listen = "127.0.0.1:0"
"#,
        ws = replay.ws_url()
    );
    let mut bridge = Bridge::start(&config);
    let ops = ops_addr(&bridge);
    wait_until(
        Duration::from_secs(60),
        "the queue to fill while the broker is away",
        || metric(&ops, "tickbridge_queue_depth").is_some_and(|d| d >= 1000),
    );
    bridge.signal("TERM");
    let code = bridge.wait(Duration::from_secs(30));
    assert_ne!(code, 0, "a drain that lost records must exit non-zero");
    let summary_line = bridge
        .logs()
        .into_iter()
        .rev()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("summary:"))
        })
        .expect("a summary line");
    let n = |k: &str| {
        summary_line[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {summary_line}"))
    };
    let (received, delivered, dead, lost) =
        (n("received"), n("delivered"), n("dead_lettered"), n("lost"));
    let (queue, batcher, in_flight, failed) = (
        n("lost_queue"),
        n("lost_batcher"),
        n("lost_in_flight"),
        n("failed"),
    );
    assert_eq!(received, delivered + dead + lost, "{summary_line}");
    assert_eq!(
        lost,
        queue + batcher + in_flight + failed + n("dropped"),
        "{summary_line}"
    );
    assert_eq!((delivered, dead, failed), (0, 0, 0), "{summary_line}");
    // The queue held at least the 1000 seen on /metrics; the batcher a batch waiting
    // for the publisher; the publisher the first batch, which the sink held back.
    assert!(queue >= 1000, "{summary_line}");
    assert!(batcher >= 1, "{summary_line}");
    assert!(in_flight >= 1, "{summary_line}");
    // Every record the sources put into the queue is in `received`: the data and
    // status records they counted (a record is counted once it is in the queue).
    let source_records: u64 = bridge
        .logs()
        .iter()
        .filter(|l| l["message"] == "source counters")
        .map(|l| {
            l["counters"]["records"].as_u64().unwrap()
                + l["counters"]["status_records"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(
        received, source_records,
        "received vs what the sources queued: {summary_line}"
    );
    // The drain-timeout warning names the same numbers.
    let warned: Vec<Value> = bridge
        .logs()
        .into_iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("drain timed out"))
        })
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["lost_queue"].as_u64(), Some(queue));
}

/// `[queue] when_full = "drop_oldest"` with the sink away: the sources never wait (the
/// whole capture is read), the oldest records beyond the capacity are dropped and
/// counted, and the summary's equation still holds exactly.
#[test]
fn drop_oldest_keeps_the_sources_reading_and_counts_what_it_drops() {
    let replay = Replay::start(&capture(BTC), "max");
    let config = format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTCUSDT"]
ws_url = "{ws}"

[queue]
capacity = 500
when_full = "drop_oldest"

[sink]
kind = "kafka"

[sink.kafka]
brokers = "127.0.0.1:1"

[shutdown]
drain_timeout = "1s"

[ops]
listen = "127.0.0.1:0"
"#,
        ws = replay.ws_url()
    );
    let mut bridge = Bridge::start(&config);
    let ops = ops_addr(&bridge);
    // The capture's 37,797 data records all get read although nothing is delivered.
    let started = std::time::Instant::now();
    loop {
        let dropped = metric(
            &ops,
            "tickbridge_records_lost_total{sink=\"kafka\",stage=\"dropped\"}",
        );
        let read = |kind: &str| {
            metric(
                &ops,
                &format!("tickbridge_records_received_total{{exchange=\"binance\",market=\"spot\",kind=\"{kind}\"}}"),
            )
        };
        // Every trade and bbo of the capture taken from the queue, although the sink
        // took none: only the capacity (500), the batch waiting for the publisher (up
        // to 1,000) and the one the sink holds back are not dropped.
        if read("trade") == Some(9_757)
            && read("bbo") == Some(28_040)
            && dropped.is_some_and(|d| d >= 37_797 - 500 - 1_000 - 1_000)
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let (_, body) = common::http_get(&ops, "/metrics").unwrap();
            let interesting: Vec<&str> = body
                .lines()
                .filter(|l| {
                    [
                        "tickbridge_records",
                        "tickbridge_queue",
                        "tickbridge_frames",
                        "tickbridge_batches",
                    ]
                    .iter()
                    .any(|p| l.starts_with(p))
                })
                .collect();
            panic!(
                "the sources did not read the whole capture (dropped {dropped:?}):\n{}\nlogs:\n{}",
                interesting.join("\n"),
                bridge.log_lines().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bridge.signal("TERM");
    assert_ne!(bridge.wait(Duration::from_secs(30)), 0);
    let line = bridge.summary_log("summary:").expect("a summary line");
    let n = |k: &str| line[k].as_u64().unwrap_or_else(|| panic!("{k} in {line}"));
    assert_eq!(
        n("received"),
        n("delivered") + n("dead_lettered") + n("lost"),
        "{line}"
    );
    assert_eq!(
        n("lost"),
        n("lost_queue") + n("lost_batcher") + n("lost_in_flight") + n("failed") + n("dropped"),
        "{line}"
    );
    assert!(n("dropped") >= 37_797 - 500 - 1_000 - 1_000, "{line}");
    // Every record read (37,797 data + 3 status), plus at most one `status gap`
    // announcement (built when a batch formed after the drops), and nothing delivered.
    assert!(
        (37_800..=37_801).contains(&n("received")),
        "every record read is counted: {line}"
    );
    // What was held when the deadline came: at most the capacity, plus the batch
    // waiting for the publisher (the sink held back the one before it).
    assert!(n("lost_batcher") <= 500 + 1000, "{line}");
    assert!(n("lost_in_flight") >= 1, "{line}");
}

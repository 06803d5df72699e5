//! The sinks' client statistics on `/metrics`, with the real binary and real brokers
//! (`scripts/brokers.sh up`; addresses in `KAFKA_BROKERS`, default 127.0.0.1:9092,
//! and `NATS_URL`, default nats://127.0.0.1:4222): librdkafka's producer queue and
//! per-broker RTT and retries, the NATS client's reconnects, bytes and pending acks —
//! all labelled by sink (and broker id), never by symbol.
//!
//! Without a reachable broker a test fails with instructions.

mod common;

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{http_get, ops_addr, Bridge, Replay};

const WAIT: Duration = Duration::from_secs(30);

fn demo_capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/coinbase.jsonl")
}

fn require(what: &str, addr: &str) {
    let reachable = addr
        .to_socket_addrs()
        .ok()
        .into_iter()
        .flatten()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok());
    assert!(
        reachable,
        "no {what} reachable at {addr}: start the brokers with `scripts/brokers.sh up` \
         (scripts/test.sh starts them for the whole suite)"
    );
}

/// The coinbase demo source, the given sink section, the ops server.
fn config(ws_url: &str, sink: &str) -> String {
    format!(
        r#"
[[source]]
exchange = "coinbase"
channels = ["trade", "bbo"]
symbols = ["BTC-USD"]
ws_url = "{ws_url}"

{sink}

[shutdown]
drain_timeout = "20s"

[ops]
listen = "127.0.0.1:0"
"#
    )
}

/// Every sample: series (name and labels, as written) → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Scrapes until `done` holds (or fails after [`WAIT`] with the last exposition).
fn scrape_until(ops: &str, what: &str, done: impl Fn(&BTreeMap<String, f64>) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, text) = http_get(ops, "/metrics").unwrap();
        if done(&samples(&text)) {
            return text;
        }
        assert!(Instant::now() < deadline, "never {what}:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(bridge: &mut Bridge) {
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs:\n{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
}

#[test]
fn kafka_sink_shows_librdkafka_statistics_by_sink_and_broker() {
    let brokers = common::brokers::kafka();
    require("Kafka broker", brokers.split(',').next().unwrap());
    let replay = Replay::start(&demo_capture(), "max");
    let sink = format!(
        "[sink]\nkind = \"kafka\"\n[sink.kafka]\nbrokers = \"{brokers}\"\n\
         topic = \"md.{{kind}}.metrics-sinks-{}\"\n",
        std::process::id()
    );
    let mut bridge = Bridge::start(&config(&replay.ws_url(), &sink));
    let ops = ops_addr(&bridge);
    let text = scrape_until(&ops, "acked the demo's records, with a broker RTT", |s| {
        s.get("tickbridge_records_acked_total{sink=\"kafka\"}")
            .is_some_and(|n| *n >= 13.0)
            && s.iter()
                .any(|(k, v)| k.starts_with("tickbridge_kafka_broker_rtt_avg_seconds{") && *v > 0.0)
    });
    let s = samples(&text);
    for gauge in [
        "tickbridge_kafka_producer_queue_messages",
        "tickbridge_kafka_producer_queue_bytes",
        "tickbridge_kafka_producer_queue_max_messages",
        "tickbridge_kafka_producer_queue_max_bytes",
    ] {
        assert!(
            text.contains(&format!("\n# TYPE {gauge} gauge\n")),
            "{gauge}"
        );
        let v = s[&format!("{gauge}{{sink=\"kafka\"}}")];
        assert!(v >= 0.0, "{gauge} {v}");
    }
    assert!(s["tickbridge_kafka_producer_queue_max_messages{sink=\"kafka\"}"] > 0.0);
    // One series per real broker (the bootstrap alias left out), each with a numeric id.
    let per_broker = |name: &str| -> Vec<(String, f64)> {
        s.iter()
            .filter_map(|(k, v)| {
                let labels = k
                    .strip_prefix(name)?
                    .strip_prefix("{sink=\"kafka\",broker=\"")?;
                let id = labels.strip_suffix("\"}")?;
                Some((id.to_string(), *v))
            })
            .collect()
    };
    let rtt = per_broker("tickbridge_kafka_broker_rtt_avg_seconds");
    assert!(!rtt.is_empty());
    // Produce requests were answered: the last window with requests had an RTT.
    assert!(rtt.iter().any(|(_, secs)| *secs > 0.0), "{rtt:?}");
    for (id, secs) in &rtt {
        assert!(id.parse::<u32>().is_ok(), "broker id {id:?}");
        assert!((0.0..5.0).contains(secs), "rtt {secs}");
    }
    for name in [
        "tickbridge_kafka_broker_rtt_p99_seconds",
        "tickbridge_kafka_broker_request_retries_total",
        "tickbridge_kafka_broker_request_timeouts_total",
    ] {
        let ids: Vec<String> = per_broker(name).into_iter().map(|(id, _)| id).collect();
        let want: Vec<String> = rtt.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, want, "{name}");
    }
    assert!(text.contains("\n# TYPE tickbridge_kafka_broker_request_retries_total counter\n"));
    assert!(!text.contains("symbol="));
    stop(&mut bridge);
}

#[test]
fn nats_sink_shows_the_client_statistics_by_sink() {
    let url = common::brokers::nats();
    require(
        "NATS server",
        url.trim_start_matches("nats://").split(',').next().unwrap(),
    );
    let replay = Replay::start(&demo_capture(), "max");
    let id = std::process::id();
    let sink = format!(
        "[sink]\nkind = \"nats\"\n[sink.nats]\nurl = \"{url}\"\n\
         subject = \"mtest{id}.{{kind}}\"\n[sink.nats.stream]\nname = \"MTEST{id}\"\n"
    );
    let mut bridge = Bridge::start(&config(&replay.ws_url(), &sink));
    let ops = ops_addr(&bridge);
    let text = scrape_until(&ops, "acked the demo's records", |s| {
        s.get("tickbridge_records_acked_total{sink=\"nats\"}")
            .is_some_and(|n| *n >= 13.0)
    });
    let s = samples(&text);
    assert_eq!(s["tickbridge_nats_reconnects_total{sink=\"nats\"}"], 0.0);
    assert!(s["tickbridge_nats_sent_bytes_total{sink=\"nats\"}"] > 0.0);
    assert!(s["tickbridge_nats_sent_messages_total{sink=\"nats\"}"] >= 13.0);
    let pending = s["tickbridge_nats_pending_acks{sink=\"nats\"}"];
    assert!(pending >= 0.0);
    assert!(text.contains("\n# TYPE tickbridge_nats_pending_acks gauge\n"));
    assert!(text.contains("\n# TYPE tickbridge_nats_reconnects_total counter\n"));
    assert!(!text.contains("symbol="));
    stop(&mut bridge);
}

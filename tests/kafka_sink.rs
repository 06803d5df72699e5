//! The Kafka sink against a real Apache Kafka (`scripts/kafka.sh`, address in
//! `KAFKA_BROKERS`, default 127.0.0.1:9092), the real binary, and the mock exchange
//! replaying a real Binance capture over WebSockets. An independent consumer checks
//! what landed in Kafka against the bridge's shutdown summary and the capture itself.
//!
//! Every test writes to its own topics (`md.{kind}.<test>-<pid>-<n>`). The tests that
//! stop or kill the broker hold the broker lock for writing; the others hold it for
//! reading, so nothing else runs while the broker is down. The broker is restarted
//! even when a disruptive test fails (a guard's `Drop`).
//!
//! Without a reachable broker every test here fails with instructions.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use common::{http_get, ops_addr, wait_until, Bridge, Replay, SchemaValidator, Summary};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use serde_json::Value;

const CAPTURE: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";

/// Shared by the tests that need the broker up (read) and those that stop it (write).
static BROKER: RwLock<()> = RwLock::new(());

fn shared_broker() -> std::sync::RwLockReadGuard<'static, ()> {
    BROKER.read().unwrap_or_else(|p| p.into_inner())
}

fn exclusive_broker() -> std::sync::RwLockWriteGuard<'static, ()> {
    BROKER.write().unwrap_or_else(|p| p.into_inner())
}

fn brokers() -> String {
    common::brokers::kafka()
}

fn broker_reachable() -> bool {
    brokers().split(',').any(|b| {
        b.to_socket_addrs()
            .ok()
            .into_iter()
            .flatten()
            .any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
    })
}

/// Fails the test with instructions when no broker answers.
fn require_broker() {
    assert!(
        broker_reachable(),
        "no Kafka broker reachable at KAFKA_BROKERS={}: start one with `scripts/kafka.sh start` \
         (scripts/test.sh starts it for the whole suite), or point KAFKA_BROKERS at one",
        brokers()
    );
}

/// A name no other test (or earlier run) uses.
fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000;
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// Runs `scripts/kafka.sh <args>`; panics with its output when it fails.
fn kafka_sh(args: &[&str]) {
    assert_eq!(
        common::brokers::endpoints().source,
        "scripts",
        "this test stops and starts the broker with scripts/kafka.sh: run it against the \
         scripts' brokers (scripts/test.sh, or `scripts/kafka.sh start` and KAFKA_BROKERS)"
    );
    let out = Command::new(scripts().join("kafka.sh"))
        .args(args)
        .output()
        .expect("running scripts/kafka.sh");
    assert!(
        out.status.success(),
        "scripts/kafka.sh {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts the broker again when dropped (a disruptive test that fails halfway must
/// not leave the other tests without a broker).
struct RestoreBroker;

impl Drop for RestoreBroker {
    fn drop(&mut self) {
        if !broker_reachable() {
            let _ = Command::new(scripts().join("kafka.sh"))
                .arg("start")
                .status();
        }
    }
}

// ---------------------------------------------------------------------------------
// What the capture holds (the reference the Kafka contents are checked against).

/// Trade ids and bookTicker update ids of the capture's btcusdt frames.
struct Expected {
    trade_ids: HashSet<String>,
    bbo_seqs: HashSet<u64>,
}

fn expected() -> &'static Expected {
    static EXPECTED: OnceLock<Expected> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let file = std::fs::File::open(common::capture(CAPTURE)).unwrap();
        let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
        let mut e = Expected {
            trade_ids: HashSet::new(),
            bbo_seqs: HashSet::new(),
        };
        for line in reader.lines() {
            let line = line.unwrap();
            let is_trade = line.contains(r#"\"stream\":\"btcusdt@trade\""#);
            let is_bbo = line.contains(r#"\"stream\":\"btcusdt@bookTicker\""#);
            if !(is_trade || is_bbo) {
                continue;
            }
            let event: Value = serde_json::from_str(&line).unwrap();
            let frame: Value = serde_json::from_str(event["text"].as_str().unwrap()).unwrap();
            let data = &frame["data"];
            if is_trade {
                e.trade_ids.insert(data["t"].as_u64().unwrap().to_string());
            } else {
                e.bbo_seqs.insert(data["u"].as_u64().unwrap());
            }
        }
        assert!(e.trade_ids.len() > 9000 && e.bbo_seqs.len() > 20000);
        e
    })
}

// ---------------------------------------------------------------------------------
// The bridge's config and run.

/// A test's topics: `md.{kind}.<suffix>`.
struct Topics {
    suffix: String,
}

impl Topics {
    fn new(test: &str) -> Topics {
        Topics {
            suffix: unique(test),
        }
    }
    fn template(&self) -> String {
        format!("md.{{kind}}.{}", self.suffix)
    }
    fn of(&self, kind: &str) -> String {
        format!("md.{kind}.{}", self.suffix)
    }
    fn all(&self) -> Vec<String> {
        ["trade", "bbo", "status"]
            .iter()
            .map(|k| self.of(k))
            .collect()
    }
}

/// The bridge config: one Binance spot source on the replay, the Kafka sink.
fn config(replay: &Replay, topics: &Topics, extra_sink: &str) -> String {
    format!(
        r#"
[[source]]
exchange = "binance"
market = "spot"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "{ws}"

[sink]
kind = "kafka"
delivery_timeout = "60s"
{extra_sink}

[sink.kafka]
brokers = "{brokers}"
topic = "{template}"

[shutdown]
drain_timeout = "30s"

[ops]
listen = "127.0.0.1:0"
"#,
        ws = replay.ws_url(),
        brokers = brokers(),
        template = topics.template(),
    )
}

/// SIGTERM, then the checks every run must pass: exit 0, lost 0, a summary.
fn stop(bridge: &mut Bridge) -> Summary {
    let (code, summary) = bridge.stop();
    assert_eq!(
        code,
        0,
        "the bridge exited with {code}; summary {summary:?}; logs:\n{}",
        bridge.log_lines().join("\n")
    );
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered,
        "{summary:?}"
    );
    summary
}

// ---------------------------------------------------------------------------------
// The ops endpoint (readiness and the sink-connected gauge).

/// Waits until the gauge shows `connected`; while disconnected, readiness is false.
fn wait_for_sink_state(ops: &str, connected: bool) {
    let want = connected as u64;
    wait_until(
        Duration::from_secs(30),
        &format!("tickbridge_sink_connected {want} on /metrics"),
        || common::metric(ops, "tickbridge_sink_connected{sink=\"kafka\"}") == Some(want),
    );
    if !connected {
        let (status, body) = http_get(ops, "/readyz").unwrap();
        assert_ne!(status, 200, "ready while the broker is down: {body}");
    }
}

// ---------------------------------------------------------------------------------
// The independent consumer.

fn consumer() -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("kafka-sink-test"))
        .set("enable.auto.commit", "false")
        .set("allow.auto.create.topics", "false")
        .create()
        .expect("creating a consumer")
}

/// Partitions of `topic` with their low and high watermarks (none if the topic
/// does not exist).
fn watermarks(c: &BaseConsumer, topic: &str) -> Vec<(i32, i64, i64)> {
    common::kafka_log::partition_offsets(c, topic)
}

/// Messages in `topic` per the watermarks (no transactions: one offset per message).
fn count(c: &BaseConsumer, topic: &str) -> u64 {
    watermarks(c, topic)
        .iter()
        .map(|(_, lo, hi)| (hi - lo) as u64)
        .sum()
}

/// One consumed message.
type Msg = common::kafka_log::Read;

/// Reads every message of `topics` from the beginning to the current end.
fn read_all(topics: &[String]) -> Vec<Msg> {
    common::kafka_log::read_json(&consumer(), topics)
}

/// Waits until the trade and bbo topics hold at least `n` messages together.
fn wait_for_messages(topics: &Topics, n: u64, timeout: Duration, bridge: &Bridge) {
    let c = consumer();
    let deadline = Instant::now() + timeout;
    loop {
        let have = count(&c, &topics.of("trade")) + count(&c, &topics.of("bbo"));
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {have} of {n} messages reached Kafka within {timeout:?}; bridge logs:\n{}",
            bridge.log_lines().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn expected_total() -> u64 {
    let e = expected();
    (e.trade_ids.len() + e.bbo_seqs.len()) as u64
}

/// What the consumer found, checked: headers, keys, topics, schema, per-key order.
struct Found {
    messages: Vec<Msg>,
    duplicates: usize,
}

fn check(topics: &Topics, messages: Vec<Msg>, validate_schema: bool) -> Found {
    check_with(topics, messages, validate_schema, true)
}

/// [`check`], with the per-key order checked or not (records sent again after an
/// unanswered delivery may land after later ones of their key).
fn check_with(topics: &Topics, messages: Vec<Msg>, validate_schema: bool, ordered: bool) -> Found {
    let validator = validate_schema.then(SchemaValidator::new);
    let mut ids = HashSet::new();
    let mut duplicates = 0;
    // Per (topic, partition, key): the last (seq, ts_recv) seen, in offset order.
    let mut last: HashMap<(String, i32, String), (Option<u64>, i64)> = HashMap::new();
    for m in &messages {
        let v = &m.value;
        assert_eq!(
            m.headers.get("schema").map(String::as_str),
            Some("tick.v1"),
            "{m:?}"
        );
        assert_eq!(
            m.headers.get("content-type").map(String::as_str),
            Some("application/json"),
            "{m:?}"
        );
        let kind = v["kind"].as_str().unwrap();
        assert_eq!(m.topic, topics.of(kind), "record routed by its kind");
        let key = format!(
            "{}.{}.{}",
            v["exchange"].as_str().unwrap(),
            v["market"].as_str().unwrap(),
            v["symbol"].as_str().unwrap()
        );
        assert_eq!(m.key, key, "key = exchange.market.symbol");
        if let Some(validator) = &validator {
            validator.check(v);
        }
        if !ids.insert(v["id"].as_str().unwrap().to_string()) {
            duplicates += 1;
            continue;
        }
        let seq = v["seq"].as_u64();
        let ts = v["ts_recv"].as_i64().unwrap();
        let slot = (m.topic.clone(), m.partition, m.key.clone());
        if !ordered {
            continue;
        }
        if let Some((prev_seq, prev_ts)) = last.get(&slot) {
            assert!(*prev_ts <= ts, "ts_recv went back within a key: {m:?}");
            if let (Some(a), Some(b)) = (prev_seq, seq) {
                assert!(*a < b, "seq went back within a key ({a} then {b}): {m:?}");
            }
        }
        last.insert(slot, (seq, ts));
    }
    Found {
        messages,
        duplicates,
    }
}

/// Every trade and bookTicker of the capture is in Kafka, exactly once per id.
fn assert_capture_complete(found: &Found) {
    let e = expected();
    let mut trades = HashSet::new();
    let mut bbos = HashSet::new();
    for m in &found.messages {
        match m.value["kind"].as_str().unwrap() {
            "trade" => {
                trades.insert(m.value["trade_id"].as_str().unwrap().to_string());
            }
            "bbo" => {
                bbos.insert(m.value["seq"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    assert_eq!(
        trades.len(),
        e.trade_ids.len(),
        "trades in Kafka vs the capture"
    );
    assert!(
        trades == e.trade_ids,
        "the trade ids differ from the capture's"
    );
    assert_eq!(
        bbos.len(),
        e.bbo_seqs.len(),
        "bbo records in Kafka vs the capture"
    );
    assert!(
        bbos == e.bbo_seqs,
        "the bbo update ids differ from the capture's"
    );
}

// ---------------------------------------------------------------------------------
// The tests.

/// The whole capture at maximum speed: Kafka holds exactly what the bridge reports
/// delivered, every record of the capture once, valid, with headers, in key order.
#[test]
fn kafka_end_to_end_delivers_exactly_the_capture() {
    let _broker = shared_broker();
    require_broker();
    let topics = Topics::new("e2e");
    let replay = Replay::start(&common::capture(CAPTURE), "max");
    let mut bridge = Bridge::start(&config(&replay, &topics, ""));
    wait_for_messages(&topics, expected_total(), Duration::from_secs(90), &bridge);
    let summary = stop(&mut bridge);
    assert_eq!(summary.dead_lettered, 0);

    let found = check(&topics, read_all(&topics.all()), true);
    assert_eq!(found.duplicates, 0, "duplicates without any broker trouble");
    assert_eq!(
        found.messages.len() as u64,
        summary.delivered,
        "messages in Kafka vs delivered in the summary {summary:?}"
    );
    assert_capture_complete(&found);
    let statuses = found
        .messages
        .iter()
        .filter(|m| m.value["kind"] == "status")
        .count();
    assert!(
        statuses >= 2,
        "connected + subscribed status records: {statuses}"
    );
    assert!(bridge.logged("kafka: broker reachable"));
}

/// SIGTERM at several points of a stream: whatever the bridge reports delivered is
/// exactly what Kafka holds, and nothing is lost.
#[test]
fn kafka_sigterm_mid_stream_loses_nothing() {
    let _broker = shared_broker();
    require_broker();
    // The capture lasts ~346 s; at 40x the stream takes ~9 s.
    for stop_after in [0, 3_000, 15_000] {
        let topics = Topics::new(&format!("term{stop_after}"));
        let replay = Replay::start(&common::capture(CAPTURE), "40");
        let mut bridge = Bridge::start(&config(&replay, &topics, ""));
        if stop_after > 0 {
            wait_for_messages(&topics, stop_after, Duration::from_secs(60), &bridge);
        } else {
            // As soon as the bridge has read anything at all.
            wait_until(Duration::from_secs(30), "the bridge to subscribe", || {
                bridge.logged("subscribed")
            });
        }
        let summary = stop(&mut bridge);
        let found = check(&topics, read_all(&topics.all()), false);
        assert_eq!(found.duplicates, 0);
        assert_eq!(
            found.messages.len() as u64,
            summary.delivered,
            "stopped after {stop_after}: Kafka vs summary {summary:?}"
        );
        assert!(
            summary.delivered < expected_total(),
            "the stream was stopped midway"
        );
        eprintln!("SIGTERM after >= {stop_after} in Kafka: {summary:?}");
    }
}

/// A record the topic refuses for good (larger than its `max.message.bytes`) goes to
/// the dead-letter file and topic and is counted; every other record flows.
#[test]
fn kafka_terminal_error_goes_to_the_dead_letter_targets() {
    let _broker = shared_broker();
    require_broker();
    let topics = Topics::new("dlq");
    let dlq_topic = format!("md.dead-letter.{}", topics.suffix);
    // The status topic takes no record at all: every status record is too large.
    create_topic(&topics.of("status"), &[("max.message.bytes", "64")]);
    let dir = tempfile::tempdir().unwrap();
    let dl_file = dir.path().join("dead-letters.jsonl");
    let replay = Replay::start(&common::capture(CAPTURE), "max");
    let sink_extra = format!("[sink.dead_letter]\npath = \"{}\"\n", dl_file.display());
    let text = config(&replay, &topics, &sink_extra).replace(
        "[sink.kafka]\n",
        &format!("[sink.kafka]\ndead_letter_topic = \"{dlq_topic}\"\n"),
    );
    let mut bridge = Bridge::start(&text);
    wait_for_messages(&topics, expected_total(), Duration::from_secs(90), &bridge);
    let summary = stop(&mut bridge);

    let dead = common::read_jsonl(&dl_file);
    assert!(
        dead.len() >= 2,
        "connected + subscribed are dead letters: {dead:?}"
    );
    assert_eq!(summary.dead_lettered, dead.len() as u64, "{summary:?}");
    for d in &dead {
        assert_eq!(d["sink"], "kafka");
        assert_eq!(d["record"]["kind"], "status", "{d}");
        let error = d["error"].as_str().unwrap();
        assert!(
            error.contains(&topics.of("status")) && error.contains("MessageSizeTooLarge"),
            "{error}"
        );
    }
    let in_dlq = read_all(std::slice::from_ref(&dlq_topic));
    assert_eq!(
        in_dlq.len(),
        dead.len(),
        "the dead-letter topic holds them too"
    );
    for m in &in_dlq {
        assert_eq!(m.value["kind"], "status");
        assert_eq!(m.headers.get("topic"), Some(&topics.of("status")));
        assert!(m.headers["error"].contains("MessageSizeTooLarge"), "{m:?}");
        assert_eq!(m.headers.get("schema").map(String::as_str), Some("tick.v1"));
    }

    let found = check(&topics, read_all(&topics.all()), false);
    assert_eq!(found.duplicates, 0);
    assert_eq!(found.messages.len() as u64, summary.delivered);
    assert_capture_complete(&found);
    assert!(bridge.logged("terminal error"));
}

/// The broker is SIGKILLed mid-stream and restarted: the bridge rides it out without
/// a restart, every record it accepted ends up in Kafka, and the logs show the outage.
#[test]
fn kafka_broker_killed_and_restarted_mid_stream() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("kill");
    let replay = Replay::start(&common::capture(CAPTURE), "40");
    let mut bridge = Bridge::start(&config(&replay, &topics, ""));
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);

    let ops = ops_addr(&bridge);
    wait_for_sink_state(&ops, true);

    let verified = |bridge: &Bridge| {
        bridge
            .logs()
            .iter()
            .filter(|l| {
                l["message"].as_str()
                    == Some("kafka: the broker answers with every partition led; handing it the held batches")
            })
            .count()
    };
    let verified_before = verified(&bridge);
    let killed_at = Instant::now();
    kafka_sh(&["kill"]);
    wait_until(
        Duration::from_secs(20),
        "the outage in the bridge's log",
        || bridge.logged("kafka: no broker reachable"),
    );
    wait_for_sink_state(&ops, false);
    kafka_sh(&["start"]);
    eprintln!("broker back after {:?}", killed_at.elapsed());
    wait_until(
        Duration::from_secs(30),
        "the bridge to see the broker again",
        || bridge.logged("kafka: broker reachable again"),
    );
    wait_for_sink_state(&ops, true);
    // The held batches went only after a metadata round trip showed the partitions led.
    wait_until(
        Duration::from_secs(30),
        "the bridge to verify the partitions are led again",
        || verified(&bridge) > verified_before,
    );
    // The outage in the metrics (at least this one: a restart may flap).
    let outages = common::metric(&ops, "tickbridge_sink_outages_total{sink=\"kafka\"}");
    assert!(outages >= Some(1), "outages on /metrics: {outages:?}");
    wait_for_messages(&topics, expected_total(), Duration::from_secs(90), &bridge);
    let summary = stop(&mut bridge);
    // The outage as the bridge logged it.
    for line in bridge.logs() {
        let level = line["level"].as_str().unwrap_or("");
        let message = line["message"].as_str().unwrap_or("");
        if level == "WARN" || level == "ERROR" || message.starts_with("kafka:") {
            eprintln!("bridge log: {level} {message}");
        }
    }

    let found = check(&topics, read_all(&topics.all()), false);
    assert_capture_complete(&found);
    let unique_records = found.messages.len() - found.duplicates;
    assert_eq!(
        unique_records as u64, summary.delivered,
        "distinct records in Kafka vs delivered {summary:?}"
    );
    // The idempotent producer makes the broker discard resent batches, so there should
    // be none; if a broker crash ever lets one through, it is an exact copy (same id,
    // same payload) and is reported here.
    if found.duplicates > 0 {
        eprintln!(
            "{} duplicate messages after the broker crash (resent batches the broker \
             had written but not acknowledged); consumers dedup by `id`",
            found.duplicates
        );
    }
    assert!(
        found.duplicates as u64 <= summary.delivered / 10,
        "too many duplicates: {}",
        found.duplicates
    );
}

/// A 75 s broker outage with the default settings (memory queue, back-pressure, the
/// default `delivery_timeout`): the batches in flight at the kill wait for the broker,
/// new ones are held and the sources feel it; once the broker is back every record
/// of the capture is in Kafka (by trade id and bbo sequence) and nothing is lost.
/// Before the default followed librdkafka's (5 min) it was 30 s, and the records in
/// flight at the kill timed out as lost.
#[test]
fn kafka_outage_of_75s_with_default_settings_loses_nothing() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("outage75");
    let replay = Replay::start(&common::capture(CAPTURE), "10");
    let config = config(&replay, &topics, "").replace("delivery_timeout = \"60s\"\n", "");
    assert!(!config.contains("delivery_timeout"), "{config}");
    let mut bridge = Bridge::start(&config);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);
    let killed_at = Instant::now();
    kafka_sh(&["kill"]);
    std::thread::sleep(Duration::from_secs(75));
    kafka_sh(&["start"]);
    eprintln!("broker back after {:?}", killed_at.elapsed());
    wait_for_messages(&topics, expected_total(), Duration::from_secs(180), &bridge);
    let summary = stop(&mut bridge);
    let found = check(&topics, read_all(&topics.all()), false);
    assert_capture_complete(&found);
    assert_eq!(
        (found.messages.len() - found.duplicates) as u64,
        summary.delivered,
        "{summary:?}"
    );
    eprintln!(
        "75 s outage, defaults: {summary:?}, {} duplicates",
        found.duplicates
    );
}

/// An outage three times the delivery timeout, with `hold_while_down = false` so that
/// batches keep reaching librdkafka while the broker is dead: the records that waited
/// unsent longer than the timeout count as lost, exactly what Kafka lacks once the
/// broker is back (by an independent consumer's count of distinct ids); the records
/// that went out at the kill and got no answer (which the broker may have stored)
/// are sent again instead of counted lost, so Kafka may hold some twice, never more
/// than the resent count; and `status lost` records in the status topic, once the
/// broker is back, announce every missing trade and bbo.
#[test]
fn kafka_outage_longer_than_the_delivery_timeout_loses_exactly_what_kafka_lacks() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("pasttimeout");
    let replay = Replay::start(&common::capture(CAPTURE), "10");
    let config = config(&replay, &topics, "")
        .replace("delivery_timeout = \"60s\"", "delivery_timeout = \"8s\"")
        .replace("[sink.kafka]\n", "[sink.kafka]\nhold_while_down = false\n");
    let mut bridge = Bridge::start(&config);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);
    let ops = ops_addr(&bridge);
    let metric = |name: &str| common::metric(&ops, name).unwrap_or(0);
    kafka_sh(&["kill"]);
    std::thread::sleep(Duration::from_secs(25));
    kafka_sh(&["start"]);
    wait_until(
        Duration::from_secs(120),
        "every record of the capture acked or failed",
        || {
            metric("tickbridge_records_acked_total{sink=\"kafka\"}")
                + metric("tickbridge_records_lost_total{sink=\"kafka\",stage=\"failed\"}")
                >= expected_total()
                && metric("tickbridge_records_pending{sink=\"kafka\"}") == 0
        },
    );
    let resent = metric("tickbridge_sink_resent_total{sink=\"kafka\"}");
    let (code, summary) = bridge.stop();
    let logs = bridge.log_lines().join("\n");
    assert_eq!(code, 1, "records lost exit 1; {summary:?}");
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered + summary.lost,
        "{summary:?}"
    );
    assert!(summary.lost > 0, "the outage lost nothing: {summary:?}");
    let found = check_with(&topics, read_all(&topics.all()), true, false);
    let distinct = (found.messages.len() - found.duplicates) as u64;
    assert_eq!(
        summary.lost,
        summary.received - distinct,
        "counted lost vs missing from Kafka: {summary:?}, {distinct} distinct ids in Kafka, \
         {resent} resent\n{logs}"
    );
    assert!(
        found.duplicates as u64 <= resent,
        "{} duplicates but {resent} records resent",
        found.duplicates
    );
    // The announcements, each once by id, account for every missing trade and bbo.
    let mut data = 0u64;
    let mut announced: HashMap<String, u64> = HashMap::new();
    for m in &found.messages {
        let v = &m.value;
        match (v["kind"].as_str().unwrap(), v["event"].as_str()) {
            ("trade" | "bbo", _) => data += 1,
            ("status", Some("lost")) => {
                let reason = v["reason"].as_str().unwrap();
                assert!(
                    reason.contains("were not acknowledged by the kafka sink within its retries"),
                    "{reason}"
                );
                let count = reason.split(' ').next().unwrap().parse().unwrap();
                announced.insert(v["id"].as_str().unwrap().to_string(), count);
            }
            _ => {}
        }
    }
    let data_distinct = {
        let mut ids: HashSet<&str> = HashSet::new();
        found
            .messages
            .iter()
            .filter(|m| matches!(m.value["kind"].as_str(), Some("trade" | "bbo")))
            .filter(|m| ids.insert(m.value["id"].as_str().unwrap()))
            .count() as u64
    };
    let missing_data = expected_total() - data_distinct;
    let announced_sum: u64 = announced.values().sum();
    assert_eq!(
        announced_sum,
        missing_data,
        "announced vs trades and bbos missing ({} announcements): {summary:?}\n{logs}",
        announced.len()
    );
    eprintln!(
        "outage 25 s past a delivery timeout of 8 s: {summary:?}; {distinct} distinct in Kafka, \
         {} duplicates, {resent} resent, {data} data messages, {missing_data} trades and bbos \
         missing, announced in {} status lost",
        found.duplicates,
        announced.len()
    );
}

/// The bridge starts while the broker is down: it keeps running and retrying, says
/// so in the log, and delivers everything once the broker is up.
#[test]
fn kafka_broker_down_at_start_then_delivers() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    kafka_sh(&["stop"]);
    let topics = Topics::new("late");
    let replay = Replay::start(&common::capture(CAPTURE), "max");
    let mut bridge = Bridge::start(&config(&replay, &topics, ""));
    wait_until(
        Duration::from_secs(20),
        "the bridge to log the outage",
        || bridge.logged("kafka: no broker reachable"),
    );
    wait_until(Duration::from_secs(20), "the source to be read", || {
        bridge.logged("subscribed")
    });
    assert!(
        bridge.summary().is_none(),
        "the bridge must not exit without a broker"
    );
    let ops = ops_addr(&bridge);
    wait_for_sink_state(&ops, false);
    kafka_sh(&["start"]);
    wait_for_sink_state(&ops, true);
    wait_for_messages(&topics, expected_total(), Duration::from_secs(90), &bridge);
    let summary = stop(&mut bridge);
    assert!(bridge.logged("kafka: broker reachable"));

    let found = check(&topics, read_all(&topics.all()), false);
    assert_eq!(found.duplicates, 0);
    assert_eq!(found.messages.len() as u64, summary.delivered);
    assert_capture_complete(&found);
}

/// Creates `topic` (3 partitions) with topic configs.
fn create_topic(topic: &str, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("creating an admin client");
    let mut new = NewTopic::new(topic, 3, TopicReplication::Fixed(1));
    for (k, v) in configs {
        new = new.set(k, v);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = rt
        .block_on(admin.create_topics(
            [&new],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(20))),
        ))
        .expect("create_topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// `[sink.kafka.create_topics]`: the topics are created on first use with the
/// configured partitions, retention and cleanup policy (read back with the admin
/// API); a second run asking other settings leaves the existing topics as they are
/// and warns, per topic and setting.
#[test]
fn missing_topics_are_created_with_the_configured_settings_and_mismatches_warned() {
    require_broker();
    let _guard = shared_broker();
    let replay = Replay::start(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/binance.jsonl"),
        "max",
    );
    let topics = Topics::new("create");
    let settings = |retention: &str| {
        format!(
            "\n[sink.kafka.create_topics]\nenabled = true\npartitions = 2\nretention = \"{retention}\"\n\
             cleanup_policy = \"delete\"\n"
        )
    };
    let mut bridge = Bridge::start(&config(&replay, &topics, &settings("1h")));
    wait_for_messages(&topics, 20, Duration::from_secs(60), &bridge);
    let summary = stop(&mut bridge);
    assert_eq!(summary.delivered, summary.received);
    let created: Vec<String> = bridge
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "kafka: topic created")
        .map(|l| l["topic"].as_str().unwrap().to_string())
        .collect();
    let mut want = topics.all();
    want.sort();
    let mut got = created.clone();
    got.sort();
    assert_eq!(got, want, "created topics");
    let c = consumer();
    for topic in topics.all() {
        assert_eq!(watermarks(&c, &topic).len(), 2, "{topic}: partitions");
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let trade = topics.of("trade");
    let described = rt
        .block_on(admin.describe_configs(
            [&rdkafka::admin::ResourceSpecifier::Topic(&trade)],
            &AdminOptions::new(),
        ))
        .unwrap();
    let resource = described.into_iter().next().unwrap().unwrap();
    let value = |k: &str| resource.get(k).and_then(|e| e.value.clone());
    assert_eq!(value("retention.ms").as_deref(), Some("3600000"));
    assert_eq!(value("cleanup.policy").as_deref(), Some("delete"));

    // Again with another retention: the topics exist; each is warned about, once.
    let replay = Replay::start(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/binance.jsonl"),
        "max",
    );
    let mut bridge = Bridge::start(&config(&replay, &topics, &settings("2h")));
    wait_for_messages(&topics, 40, Duration::from_secs(60), &bridge);
    stop(&mut bridge);
    let warned: Vec<(String, String, String)> = bridge
        .logs()
        .into_iter()
        .filter(|l| {
            l["message"] == "kafka: an existing topic differs from [sink.kafka.create_topics] (left as it is)"
        })
        .map(|l| {
            (
                l["topic"].as_str().unwrap().to_string(),
                l["have"].as_str().unwrap().to_string(),
                l["want"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(warned.len(), 3, "{warned:?}");
    assert!(
        warned
            .iter()
            .all(|(_, have, want)| have == "3600000" && want == "7200000"),
        "{warned:?}"
    );
    assert!(!bridge.logged("kafka: topic created"));
}

/// The trade ids and bbo update ids of `records`, and how many ids came twice.
fn ids_of(records: &[Value]) -> (HashSet<String>, HashSet<u64>, usize) {
    let (mut trades, mut bbos, mut ids, mut duplicates) =
        (HashSet::new(), HashSet::new(), HashSet::new(), 0);
    for r in records {
        if !ids.insert(r["id"].as_str().unwrap().to_string()) {
            duplicates += 1;
        }
        match r["kind"].as_str().unwrap() {
            "trade" => {
                trades.insert(r["trade_id"].as_str().unwrap().to_string());
            }
            "bbo" => {
                bbos.insert(r["seq"].as_u64().unwrap());
            }
            _ => {}
        }
    }
    (trades, bbos, duplicates)
}

/// Fan-out to Kafka and a file, Kafka SIGKILLed mid-stream: the file sink keeps
/// taking every record while Kafka is down (it holds the whole capture before Kafka
/// is back), readiness names the sink that is down, and once Kafka returns it holds
/// every record too. Each sink has its own summary line, and each adds up.
#[test]
fn kafka_fan_out_with_a_file_sink_rides_out_a_kafka_kill() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("fanout");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive.jsonl");
    let replay = Replay::start(&common::capture(CAPTURE), "40");
    let text = config(&replay, &topics, "name = \"main\"").replace("[sink]\n", "[[sink]]\n")
        + &format!(
            "\n[[sink]]\nkind = \"file\"\nname = \"archive\"\n[sink.file]\npath = \"{}\"\n",
            archive.display()
        );
    let mut bridge = Bridge::start(&text);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);
    let ops = ops_addr(&bridge);

    let killed_at = Instant::now();
    kafka_sh(&["kill"]);
    wait_until(Duration::from_secs(30), "main sink not connected", || {
        common::metric(&ops, "tickbridge_sink_connected{sink=\"main\"}") == Some(0)
    });
    assert_eq!(
        common::metric(&ops, "tickbridge_sink_connected{sink=\"archive\"}"),
        Some(1)
    );
    let (status, body) = http_get(&ops, "/readyz").unwrap();
    assert_eq!(
        (status, body.as_str()),
        (503, "not ready: main sink not connected\n")
    );
    // With Kafka still down, the file gets the whole capture.
    let e = expected();
    wait_until(
        Duration::from_secs(60),
        "the file sink to hold the whole capture while Kafka is down",
        || {
            let (trades, bbos, _) = ids_of(&common::read_jsonl(&archive));
            trades.len() == e.trade_ids.len() && bbos.len() == e.bbo_seqs.len()
        },
    );
    let archived_at = killed_at.elapsed();
    assert_ne!(
        common::metric(&ops, "tickbridge_sink_connected{sink=\"main\"}"),
        Some(1),
        "Kafka came back before the file sink had the capture"
    );
    kafka_sh(&["start"]);
    eprintln!("file sink complete {archived_at:?} after the kill; broker restarted");
    wait_for_messages(&topics, expected_total(), Duration::from_secs(120), &bridge);
    bridge.signal("TERM");
    let code = bridge.wait(Duration::from_secs(60));
    let logs = bridge.log_lines().join("\n");
    assert_eq!(code, 0, "{logs}");
    assert!(
        bridge.summary().is_none(),
        "one line per sink, no single summary"
    );
    let main = bridge.summary_of("main").expect("main's summary");
    let file = bridge.summary_of("archive").expect("archive's summary");
    for s in [&main, &file] {
        assert_eq!(s.lost, 0, "{s:?}");
        assert_eq!(s.received, s.delivered + s.dead_lettered, "{s:?}");
    }
    assert_eq!(
        main.received, file.received,
        "every record went to each sink"
    );

    let records = common::read_jsonl(&archive);
    let (trades, bbos, duplicates) = ids_of(&records);
    assert_eq!(duplicates, 0);
    assert!(trades == e.trade_ids && bbos == e.bbo_seqs);
    assert_eq!(records.len() as u64, file.delivered);
    let found = check(&topics, read_all(&topics.all()), false);
    assert_capture_complete(&found);
    assert_eq!(
        (found.messages.len() - found.duplicates) as u64,
        main.delivered,
        "distinct records in Kafka vs delivered {main:?}"
    );
}

/// A disk buffer for one test: its temporary directory (removed when dropped, so
/// keep it for the test's length) and the `[sink.buffer]` section, plus `extra` lines.
fn disk_buffer(extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let section = format!(
        "\n[sink.buffer]\nkind = \"disk\"\npath = \"{}\"\n{extra}",
        dir.path().display()
    );
    (dir, section)
}

/// A summary line's field (those [`Summary`] does not carry).
fn summary_field(bridge: &Bridge, field: &str) -> u64 {
    let line = bridge.summary_log("summary:").expect("a summary line");
    line[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {line}"))
}

/// The disk buffer through a 60 s broker outage that outlasts the stream, with a
/// SIGKILL of the bridge in the middle of it: the capture plays at 10x while Kafka is
/// down, every record goes to disk, the bridge is killed, a new bridge on the same
/// buffer starts while the broker is still down, and once the broker is back it
/// publishes what the first one wrote: every record of the capture is in Kafka, by
/// id, in per-key order, and the new bridge's summary counts them as recovered.
#[test]
fn kafka_disk_buffer_survives_an_outage_and_a_sigkill_of_the_bridge() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("disk");
    let (buffer, buffer_config) = disk_buffer("");
    let replay = Replay::start(&common::capture(CAPTURE), "10");
    let config = config(&replay, &topics, &buffer_config);
    let mut first = Bridge::start(&config);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &first);
    let ops = ops_addr(&first);
    let killed_at = Instant::now();
    kafka_sh(&["kill"]);
    wait_until(
        Duration::from_secs(30),
        "tickbridge_sink_connected 0 on /metrics",
        || common::metric(&ops, "tickbridge_sink_connected{sink=\"kafka\"}") == Some(0),
    );
    // Nothing is being lost: the bridge stays ready while the buffer absorbs it.
    let (status, body) = http_get(&ops, "/readyz").unwrap();
    assert_eq!(
        status, 200,
        "unready with a disk buffer absorbing the outage: {body}"
    );

    // The exchange connection keeps reading: the rest of the capture goes to disk.
    let metric = |name: &str| common::metric(&ops, &format!("{name}{{sink=\"kafka\"}}"));
    let mut last = (0, Instant::now());
    wait_until(
        Duration::from_secs(90),
        "the whole capture in Kafka or the disk buffer, and the buffer still for 2 s",
        || {
            let acked = metric("tickbridge_records_acked_total").unwrap_or(0);
            let buffered = metric("tickbridge_buffer_records").unwrap_or(0);
            if buffered != last.0 {
                last = (buffered, Instant::now());
            }
            acked + buffered >= expected_total() && last.1.elapsed() > Duration::from_secs(2)
        },
    );
    let buffered = metric("tickbridge_buffer_records").unwrap();
    assert!(
        metric("tickbridge_buffer_bytes").unwrap() > 0,
        "{buffered} records buffered, no bytes?"
    );
    eprintln!("{buffered} records in the disk buffer; SIGKILL of the bridge");
    first.signal("KILL");
    first.wait(Duration::from_secs(10));

    // The replay serves the new bridge an idle connection: all it can publish is what
    // the first one left on disk.
    let mut second = Bridge::start(&config);
    wait_until(
        Duration::from_secs(30),
        "the new bridge to recover the buffer",
        || second.logged("disk buffer: publishing what the last run left unacknowledged first"),
    );
    let left = Duration::from_secs(60).saturating_sub(killed_at.elapsed());
    std::thread::sleep(left);
    kafka_sh(&["start"]);
    eprintln!("broker back after {:?}", killed_at.elapsed());
    wait_for_messages(&topics, expected_total(), Duration::from_secs(120), &second);
    let (code, summary) = second.stop();
    assert_eq!(code, 0, "logs:\n{}", second.log_lines().join("\n"));
    let recovered = summary_field(&second, "recovered");
    assert_eq!(summary_field(&second, "kept"), 0);
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert!(
        recovered >= buffered,
        "recovered {recovered} < {buffered} buffered"
    );
    assert_eq!(
        summary.received + recovered,
        summary.delivered + summary.dead_lettered,
        "{summary:?}, recovered {recovered}"
    );

    let found = check(&topics, read_all(&topics.all()), false);
    assert_capture_complete(&found);
    // Batches librdkafka held when the broker died were never acknowledged, so they
    // are published again; the broker may have stored some of them.
    eprintln!(
        "{} messages, {} duplicates, {recovered} recovered",
        found.messages.len(),
        found.duplicates
    );
    assert!(
        (found.duplicates as u64) < 2_000,
        "{} duplicates",
        found.duplicates
    );
    // Everything settled: the buffer is one empty segment.
    let files: Vec<u64> = std::fs::read_dir(buffer.path().join("kafka"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    assert_eq!(files, [0], "the buffer's segments after the drain");
}

/// The disk buffer through a broker outage (at least 45 s) that outlasts the stream
/// and the delivery timeout (10 s), in one process: the capture plays at 10x while
/// Kafka is down and goes to disk, and once the broker is back the same bridge
/// publishes it all: every record of the capture in Kafka once, in per-key order,
/// nothing lost, and the buffer empty at the end.
#[test]
fn kafka_disk_buffer_absorbs_an_outage_longer_than_the_stream() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("diskup");
    let (_buffer, buffer_config) = disk_buffer("fsync = \"batch\"\n");
    let replay = Replay::start(&common::capture(CAPTURE), "10");
    // A delivery timeout far shorter than the outage: with the disk buffer the
    // records librdkafka held at the kill still wait for the broker's return (before
    // they timed out after it and counted as lost while the buffer had them).
    let config = config(&replay, &topics, &buffer_config)
        .replace("delivery_timeout = \"60s\"", "delivery_timeout = \"10s\"");
    let mut bridge = Bridge::start(&config);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);
    let ops = ops_addr(&bridge);
    let killed_at = Instant::now();
    kafka_sh(&["kill"]);
    let metric = |name: &str| common::metric(&ops, &format!("{name}{{sink=\"kafka\"}}"));
    wait_until(
        Duration::from_secs(90),
        "the whole capture in Kafka or the disk buffer",
        || {
            metric("tickbridge_records_acked_total").unwrap_or(0)
                + metric("tickbridge_buffer_records").unwrap_or(0)
                >= expected_total()
        },
    );
    // While the broker is away the buffer's oldest record ages, and so does the last ack.
    let (_, body) = http_get(&ops, "/metrics").unwrap();
    for family in [
        "tickbridge_buffer_oldest_record_age_seconds",
        "tickbridge_sink_last_ack_age_seconds",
    ] {
        let age: f64 = body
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{family}{{sink=\"kafka\"}} ")))
            .unwrap_or_else(|| panic!("no {family} in:\n{body}"))
            .parse()
            .unwrap();
        assert!(age > 1.0, "{family} {age} during the outage");
    }
    std::thread::sleep(Duration::from_secs(45).saturating_sub(killed_at.elapsed()));
    kafka_sh(&["start"]);
    eprintln!("broker back after {:?}", killed_at.elapsed());
    wait_for_messages(&topics, expected_total(), Duration::from_secs(120), &bridge);
    wait_until(Duration::from_secs(30), "the buffer to drain", || {
        metric("tickbridge_buffer_records") == Some(0)
    });
    let summary = stop(&mut bridge);
    assert_eq!(
        (
            summary_field(&bridge, "recovered"),
            summary_field(&bridge, "kept")
        ),
        (0, 0)
    );
    let found = check(&topics, read_all(&topics.all()), false);
    assert_capture_complete(&found);
    assert_eq!(found.duplicates, 0);
    assert_eq!(
        found.messages.len() as u64,
        summary.delivered,
        "{summary:?}"
    );
}

/// The disk buffer with `when_full = "drop_oldest"`, too small for the outage: Kafka
/// is killed mid-stream, the capture plays on at 10x into a 256 KiB buffer, which
/// drops its oldest unsent segments; once the broker is back, exactly the records
/// counted dropped are missing from Kafka (by trade id and bbo sequence), the
/// `status gap` records in the status topic announce exactly that many, and no
/// delivered record lies inside an announced range.
#[test]
fn kafka_disk_buffer_drop_oldest_loses_exactly_the_counted_records_and_announces_them() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("diskdrop");
    let (_buffer, buffer_config) =
        disk_buffer("max_bytes = 262144\nsegment_bytes = 32768\nwhen_full = \"drop_oldest\"\n");
    let replay = Replay::start(&common::capture(CAPTURE), "10");
    let config = config(&replay, &topics, &buffer_config);
    let mut bridge = Bridge::start(&config);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);
    let ops = ops_addr(&bridge);
    kafka_sh(&["kill"]);
    let metric = |name: &str| common::metric(&ops, name);
    wait_until(
        Duration::from_secs(90),
        "the whole capture acked, buffered or dropped",
        || {
            metric("tickbridge_records_acked_total{sink=\"kafka\"}").unwrap_or(0)
                + metric("tickbridge_buffer_records{sink=\"kafka\"}").unwrap_or(0)
                + metric("tickbridge_records_lost_total{sink=\"kafka\",stage=\"dropped\"}")
                    .unwrap_or(0)
                >= expected_total()
        },
    );
    let dropped_during =
        metric("tickbridge_records_lost_total{sink=\"kafka\",stage=\"dropped\"}").unwrap_or(0);
    assert!(dropped_during > 0, "the buffer never filled");
    kafka_sh(&["start"]);
    wait_until(Duration::from_secs(120), "the buffer to drain", || {
        metric("tickbridge_buffer_records{sink=\"kafka\"}") == Some(0)
    });
    let (code, summary) = bridge.stop();
    assert_eq!(code, 1, "records lost exit 1; {summary:?}");
    assert_eq!(
        summary.lost,
        summary_field(&bridge, "dropped"),
        "{summary:?}"
    );
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered + summary.lost,
        "{summary:?}"
    );
    let found = check(&topics, read_all(&topics.all()), false);
    assert_eq!(found.duplicates, 0);
    assert_eq!(
        found.messages.len() as u64,
        summary.delivered,
        "{summary:?}"
    );
    let mut data = 0u64;
    let mut delivered_ts = Vec::new();
    let mut ranges = Vec::new();
    let mut announced = 0u64;
    for m in &found.messages {
        let v = &m.value;
        match v["kind"].as_str().unwrap() {
            "status" if v["event"] != "gap" => {} // connected, subscribed
            "status" => {
                let reason = v["reason"].as_str().unwrap();
                let words: Vec<&str> = reason.split(' ').collect();
                assert_eq!(
                    words[1..9].join(" "),
                    "records dropped from the full disk buffer (when_full",
                    "{reason}"
                );
                announced += words[0].parse::<u64>().unwrap();
                ranges.push((
                    words[13].parse::<i64>().unwrap(),
                    words[15].parse::<i64>().unwrap(),
                ));
            }
            "trade" | "bbo" => {
                data += 1;
                delivered_ts.push(v["ts_recv"].as_i64().unwrap());
            }
            other => panic!("unexpected kind {other}: {v}"),
        }
    }
    let missing = expected_total() - data;
    assert_eq!(missing, summary.lost, "missing from Kafka vs counted lost");
    assert_eq!(announced, summary.lost, "announced vs counted lost");
    for ts in delivered_ts {
        assert!(
            !ranges.iter().any(|(a, b)| (*a..=*b).contains(&ts)),
            "a delivered record (ts_recv {ts}) inside an announced range {ranges:?}"
        );
    }
    eprintln!(
        "drop_oldest: {} of {} records dropped and announced in {} gap(s); {summary:?}",
        summary.lost,
        expected_total(),
        ranges.len()
    );
}

/// SIGTERM while Kafka is down, with records queued, batched and held: the drain
/// deadline passes, the bridge exits 1, its summary's equation holds, every record
/// missing from Kafka once the broker is back is counted lost, and Kafka holds every
/// record counted delivered. `lost` may exceed what is missing by what the broker
/// stored without answering as it went down (a produce request in flight): the
/// bridge cannot confirm those, and says so in the count rather than guess.
#[test]
fn kafka_down_at_sigterm_counts_every_missing_record_lost() {
    let _broker = exclusive_broker();
    require_broker();
    let _restore = RestoreBroker;
    let topics = Topics::new("downterm");
    let replay = Replay::start(&common::capture(CAPTURE), "40");
    let config =
        config(&replay, &topics, "").replace("drain_timeout = \"30s\"", "drain_timeout = \"3s\"");
    let mut bridge = Bridge::start(&config);
    wait_for_messages(&topics, 3_000, Duration::from_secs(60), &bridge);
    kafka_sh(&["stop"]);
    wait_until(
        Duration::from_secs(20),
        "the outage in the bridge's log",
        || bridge.logged("kafka: no broker reachable"),
    );
    // Records pile up in the queue and the batcher while the sink holds its batches.
    std::thread::sleep(Duration::from_secs(3));
    bridge.signal("TERM");
    let code = bridge.wait(Duration::from_secs(60));
    let summary = bridge.summary().expect("a summary line");
    assert_eq!(code, 1, "records lost exit 1; {summary:?}");
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered + summary.lost,
        "{summary:?}"
    );
    kafka_sh(&["start"]);
    let found = check(&topics, read_all(&topics.all()), false);
    assert_eq!(found.duplicates, 0);
    let stored = found.messages.len() as u64;
    let missing = summary.received - stored;
    assert!(
        stored >= summary.delivered,
        "Kafka {stored} < delivered: {summary:?}"
    );
    assert!(
        missing > 0 && missing <= summary.lost,
        "{missing} missing: {summary:?}"
    );
    // At most the batches in flight (8 of at most 1,000 records) were unconfirmed.
    assert!(
        summary.lost - missing <= 8_000,
        "{} counted lost but in Kafka: {summary:?}",
        summary.lost - missing
    );
    eprintln!(
        "Kafka down at SIGTERM: {summary:?}; {stored} in Kafka, {missing} missing, {} \
         unconfirmed but stored",
        summary.lost - missing
    );
}

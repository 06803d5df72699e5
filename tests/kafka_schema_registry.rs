//! `[sink] encoding = "avro" | "protobuf" | "json_schema"` against a real Kafka and a
//! real schema registry (Apicurio Registry's Confluent-compatible API, started by
//! `scripts/registry.sh`; address in `SCHEMA_REGISTRY_URL`), read back by an
//! independent consumer: `scripts/sr_consume.py`, which decodes every message by the
//! schema id in its header with confluent-kafka's own Avro, Protobuf and JSON Schema
//! deserializers (Python from `scripts/pyenv.sh`, path in `TICKBRIDGE_PYTHON`).
//!
//! Two recordings are bridged once into the file sink (the JSON reference) and once
//! per encoding into Kafka: Binance spot trades and book tickers (~30,000), and a Deribit
//! option's book, ticker, open interest and mark price (decimals with up to 8
//! fractional digits, nulls, an option's strike and expiry). Every data record the
//! consumer decodes equals its JSON reference field by field (all but the receive
//! time), exactly once.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{capture, read_jsonl, Bridge, Replay, SchemaValidator};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use serde_json::Value;

const BINANCE: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";
/// A Binance recording with the exchange's instrument list (`exchangeInfo`), served
/// as the Binance source's REST endpoint: the instrument record of BTC-USDT.
const BINANCE_REST: &str = "cryptofeed/binance.jsonl.gz";
const DERIBIT: &str = "cryptofeed/deribit.jsonl.gz";
const KINDS: [&str; 8] = [
    "trade",
    "bbo",
    "book",
    "ticker",
    "open_interest",
    "mark_price",
    "instrument",
    "status",
];

fn brokers() -> String {
    common::brokers::kafka()
}

fn registry_url() -> String {
    common::brokers::registry().expect(
        "SCHEMA_REGISTRY_URL is not set: start a registry with `scripts/registry.sh start` \
             (scripts/test.sh starts it for the whole suite)",
    )
}

fn python() -> String {
    std::env::var("TICKBRIDGE_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .expect(
            "TICKBRIDGE_PYTHON is not set: `scripts/pyenv.sh` prints the path of the consumers' \
         Python (scripts/test.sh exports it)",
        )
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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

/// The two sources, each on its own replay.
struct Sources {
    binance: Replay,
    binance_rest: Replay,
    deribit: Replay,
}

impl Sources {
    fn start() -> Sources {
        Sources {
            binance: Replay::start(&capture(BINANCE), "max"),
            binance_rest: Replay::start(&capture(BINANCE_REST), "max"),
            deribit: Replay::start(&capture(DERIBIT), "max"),
        }
    }

    fn toml(&self) -> String {
        format!(
            r#"
[[source]]
exchange = "binance"
market = "spot"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "{bws}"
rest_url = "{brest}"

[[source]]
exchange = "deribit"
market = "option"
channels = ["book", "ticker", "open_interest", "mark_price"]
symbols = ["BTC-USD-210924-8000-P"]
ws_url = "{dws}/ws/api/v2"
rest_url = "{drest}"
"#,
            bws = self.binance.ws_url(),
            brest = self.binance_rest.rest_url(),
            dws = self.deribit.ws_url(),
            drest = self.deribit.rest_url(),
        )
    }
}

/// The data records (not `status`) of the reference run, by id.
fn reference() -> &'static BTreeMap<String, Value> {
    static REFERENCE: std::sync::OnceLock<BTreeMap<String, Value>> = std::sync::OnceLock::new();
    REFERENCE.get_or_init(|| {
        let sources = Sources::start();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let config = format!(
            "{}\n[sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
            sources.toml(),
            out.display()
        );
        let mut bridge = Bridge::start(&config);
        let mut last = (0, Instant::now());
        // The replays end; the record count stops growing.
        common::wait_until(
            Duration::from_secs(60),
            "the reference run to settle",
            || {
                let n = read_jsonl(&out).len();
                if n != last.0 {
                    last = (n, Instant::now());
                }
                n > 0 && last.1.elapsed() > Duration::from_secs(2)
            },
        );
        let (code, _) = bridge.stop();
        assert_eq!(code, 0, "reference run: {}", bridge.log_lines().join("\n"));
        let mut by_id = BTreeMap::new();
        for r in read_jsonl(&out) {
            if r["kind"] != "status" {
                let id = r["id"].as_str().unwrap().to_string();
                assert!(by_id.insert(id.clone(), r).is_none(), "duplicate id {id}");
            }
        }
        let kinds: HashMap<&str, usize> = by_id.values().fold(HashMap::new(), |mut m, r| {
            *m.entry(r["kind"].as_str().unwrap()).or_default() += 1;
            m
        });
        for k in &KINDS[..7] {
            assert!(
                kinds.get(k).copied().unwrap_or(0) > 0,
                "no {k} record in the reference: {kinds:?}"
            );
        }
        by_id
    })
}

fn consumer() -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("sr-test"))
        .set("allow.auto.create.topics", "false")
        .create()
        .unwrap()
}

/// Messages in `topics` per their watermarks.
fn count(c: &BaseConsumer, topics: &[String]) -> u64 {
    topics
        .iter()
        .flat_map(|topic| common::kafka_log::partition_offsets(c, topic))
        .map(|(_, lo, hi)| (hi - lo) as u64)
        .sum()
}

fn create_topic(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1));
    let results = rt
        .block_on(admin.create_topics([&new], &AdminOptions::new()))
        .expect("create_topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// The independent consumer's output: one decoded record per message.
fn consume(encoding: &str, topics: &[String], expect: u64) -> Vec<Value> {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("scripts/sr_consume.py"))
        .args(["--brokers", &brokers(), "--registry", &registry_url()])
        .args(["--encoding", encoding, "--expect", &expect.to_string()])
        .args(["--timeout", "90"])
        .arg("--proto-dir")
        .arg(repo().join("schemas/protobuf"));
    for t in topics {
        cmd.args(["--topic", t]);
    }
    let out = cmd.output().expect("running scripts/sr_consume.py");
    assert!(
        out.status.success(),
        "sr_consume.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The schema id the registry gives `subject`'s latest version.
fn registered_id(subject: &str) -> u64 {
    let out = Command::new("curl")
        .args([
            "-sf",
            &format!("{}/subjects/{subject}/versions/latest", registry_url()),
        ])
        .output()
        .expect("curl");
    assert!(out.status.success(), "no subject {subject} in the registry");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_u64().unwrap()
}

/// Bridges both recordings into Kafka in `encoding`, consumes them back, and checks
/// every record against the JSON reference.
fn round_trip(encoding: &str) {
    let reference = reference();
    let suffix = unique(encoding);
    let topics: Vec<String> = KINDS.iter().map(|k| format!("sr.{k}.{suffix}")).collect();
    let sources = Sources::start();
    let config = format!(
        r#"{sources}
[sink]
kind = "kafka"
encoding = "{encoding}"

[sink.kafka]
brokers = "{brokers}"
topic = "sr.{{kind}}.{suffix}"

[sink.kafka.schema_registry]
url = "{registry}"

[ops]
listen = "127.0.0.1:0"
"#,
        sources = sources.toml(),
        brokers = brokers(),
        registry = registry_url(),
    );
    let mut bridge = Bridge::start(&config);
    let c = consumer();
    let data = reference.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(90);
    // Every data record (status records come on top).
    while count(&c, &topics[..7]) < data {
        assert!(
            Instant::now() < deadline,
            "only {} of {data} records in Kafka; logs:\n{}",
            count(&c, &topics[..7]),
            bridge.log_lines().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.dead_lettered, 0, "{summary:?}");
    assert_eq!(summary.received, summary.delivered, "{summary:?}");

    let decoded = consume(encoding, &topics, summary.delivered);
    assert_eq!(decoded.len() as u64, summary.delivered);
    let validator = SchemaValidator::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses = 0;
    let mut ids_by_topic: BTreeMap<String, u64> = BTreeMap::new();
    for mut record in decoded {
        let topic = record["_topic"].as_str().unwrap().to_string();
        let schema_id = record["_schema_id"].as_u64().unwrap();
        // One schema per topic (topic-name strategy).
        assert_eq!(
            *ids_by_topic.entry(topic.clone()).or_insert(schema_id),
            schema_id,
            "{topic}"
        );
        assert_eq!(
            topic,
            format!("sr.{}.{suffix}", record["kind"].as_str().unwrap())
        );
        let obj = record.as_object_mut().unwrap();
        obj.retain(|k, _| !k.starts_with('_'));
        // The decoded record is a valid schema v1 record.
        validator.check(&record);
        if record["kind"] == "status" {
            statuses += 1;
            continue;
        }
        let id = record["id"].as_str().unwrap().to_string();
        *seen.entry(id.clone()).or_default() += 1;
        let expected = reference
            .get(&id)
            .unwrap_or_else(|| panic!("{encoding}: record {id} is not in the reference"));
        let strip = |v: &Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("ts_recv");
            v
        };
        assert_eq!(strip(&record), strip(expected), "{encoding}: record {id}");
    }
    assert!(statuses > 0, "no status record decoded");
    let missing: Vec<_> = reference
        .keys()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{encoding}: {} records missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "{encoding}: duplicates {dups:?}");
    // The ids in the headers are the registry's, under the topic-name subjects.
    for (topic, id) in &ids_by_topic {
        assert_eq!(registered_id(&format!("{topic}-value")), *id, "{topic}");
    }
}

#[test]
fn avro_values_decode_by_schema_id_to_the_json_records() {
    round_trip("avro");
}

#[test]
fn protobuf_values_decode_by_schema_id_to_the_json_records() {
    round_trip("protobuf");
}

#[test]
fn json_schema_values_decode_by_schema_id_to_the_json_records() {
    round_trip("json_schema");
}

/// With `auto_register = false` and no schema registered, the bridge refuses to
/// start, naming the subject; `validate --check` says the same with exit code 6.
#[test]
fn a_missing_schema_without_auto_register_stops_the_start_with_its_subject() {
    let suffix = unique("missing");
    let sources = Sources::start();
    let config = format!(
        r#"{sources}
[sink]
kind = "kafka"
encoding = "avro"

[sink.kafka]
brokers = "{brokers}"
topic = "sr.{{kind}}.{suffix}"

[sink.kafka.schema_registry]
url = "{registry}"
auto_register = false
"#,
        sources = sources.toml(),
        brokers = brokers(),
        registry = registry_url(),
    );
    // The topics exist (the check's topic step passes); their schemas do not.
    for kind in [
        "trade",
        "bbo",
        "book",
        "ticker",
        "open_interest",
        "mark_price",
        "status",
    ] {
        create_topic(&format!("sr.{kind}.{suffix}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.toml");
    std::fs::write(&path, &config).unwrap();
    let mut validate = Command::new(common::bin());
    validate
        .args(["validate", "--check", "--config"])
        .arg(&path);
    common::instruments_env(&mut validate, &config, dir.path());
    let out = validate.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "check failed: schema registry: no schema under subject(s) sr.trade.{suffix}-value, "
        )),
        "{stdout}"
    );
    let mut bridge = Bridge::start(&config);
    let code = bridge.wait(Duration::from_secs(30));
    assert_ne!(code, 0);
    let logs = bridge.log_lines().join("\n");
    assert!(
        logs.contains("schema registry has no AVRO schema of kind trade under subject")
            && logs.contains(&format!("sr.trade.{suffix}-value")),
        "{logs}"
    );
}

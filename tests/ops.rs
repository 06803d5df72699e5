//! The ops endpoint and the settings layers, with the real binary.
//!
//! - `/readyz` is 503 until the sink is connected and every planned connection is
//!   subscribed, 200 then, and 503 from the moment SIGTERM arrives (while the drain is
//!   still running); `/healthz` is 200 throughout.
//! - `/metrics` parses as strict Prometheus text, and its counters equal what the sink
//!   received (file sink: records by kind, acked = lines) and what the mock exchange
//!   sent (frames, bytes).
//! - A setting given in the file, the environment and a `--set` flag: the flag wins,
//!   then the environment, then the file.
//!
//! The mock exchange replays the bundled `demo/coinbase.jsonl` capture (a subscription
//! confirmed, then 9 matches, 4 tickers and heartbeats), so exact numbers are known
//! without the capture corpus.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    bin, count_kinds, http_get, ops_addr, read_jsonl, wait_until, Bridge, Replay, SchemaValidator,
};

const WAIT: Duration = Duration::from_secs(20);

fn demo_capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/coinbase.jsonl")
}

/// The demo capture's received frames: (count, bytes).
fn demo_frames() -> (u64, u64) {
    let text = std::fs::read_to_string(demo_capture()).unwrap();
    let mut frames = (0, 0);
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        if event["ev"] == "recv" {
            frames.0 += 1;
            frames.1 += event["text"].as_str().unwrap().len() as u64;
        }
    }
    frames
}

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The demo capture's records: trades (1 last_match + 8 matches) and bbo (tickers).
const DEMO_TRADES: usize = 9;
const DEMO_BBO: usize = 4;

/// A bridge config: the demo's Coinbase feed from `ws_url` into a file.
fn config(ws_url: &str, out: &Path) -> String {
    format!(
        r#"
[[source]]
exchange = "coinbase"
channels = ["trade", "bbo"]
symbols = ["BTC-USD"]
ws_url = "{ws_url}"

[sink]
kind = "file"
[sink.file]
path = "{}"

[batch]
linger = "5ms"

[connection]
reconnect_min = "50ms"
reconnect_max = "100ms"

[ops]
listen = "127.0.0.1:0"
"#,
        out.display()
    )
}

/// `tickbridge replay` of the demo capture on a given port (the `Replay` helper picks
/// its own), killed on drop.
struct ReplayOnPort(Child);

impl ReplayOnPort {
    fn start(port: u16) -> Self {
        let mut child = Command::new(bin())
            .args(["--log-format", "json", "replay"])
            .arg(demo_capture())
            .args(["--listen", &format!("127.0.0.1:{port}"), "--speed", "max"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening on "), "replay printed {line:?}");
        ReplayOnPort(child)
    }
}

impl Drop for ReplayOnPort {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the demo's trades and bbo records in the file sink's output.
fn wait_for_demo_records(out: &Path) {
    wait_until(WAIT, "the demo's trade and bbo records in the file", || {
        let kinds = count_kinds(&read_jsonl(out));
        kinds.get("trade") == Some(&DEMO_TRADES) && kinds.get("bbo") == Some(&DEMO_BBO)
    });
}

#[test]
fn readiness_waits_for_every_subscription() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let mut bridge = Bridge::start(&config(&format!("ws://127.0.0.1:{port}"), &out));
    let ops = ops_addr(&bridge);

    // Nothing listens on the exchange's port yet: alive, not ready.
    wait_until(WAIT, "/healthz 200", || {
        http_get(&ops, "/healthz").is_ok_and(|(s, _)| s == 200)
    });
    wait_until(WAIT, "the connection plan in the metrics", || {
        let metrics = Exposition::parse(&http_get(&ops, "/metrics").unwrap().1).unwrap();
        metrics.sum("tickbridge_connections_planned", &[]) == 1.0
    });
    let (status, body) = http_get(&ops, "/readyz").unwrap();
    assert_eq!(
        (status, body.as_str()),
        (503, "not ready: 0 of 1 connections subscribed\n")
    );

    // The exchange comes up and confirms the subscription: ready.
    let _replay = ReplayOnPort::start(port);
    wait_until(WAIT, "/readyz 200", || {
        http_get(&ops, "/readyz").is_ok_and(|(s, _)| s == 200)
    });
    assert_eq!(
        http_get(&ops, "/readyz").unwrap(),
        (200, "ready\n".to_string())
    );
    assert_eq!(
        http_get(&ops, "/healthz").unwrap(),
        (200, "ok\n".to_string())
    );
    wait_for_demo_records(&out);

    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs: {:?}", bridge.log_lines());
    assert_eq!(summary.lost, 0);
    assert_eq!(summary.delivered, read_jsonl(&out).len() as u64);
    // The server stopped with the process.
    assert!(http_get(&ops, "/healthz").is_err());
}

#[test]
fn readiness_waits_for_the_sink_and_is_false_for_the_whole_drain() {
    // A Kafka sink whose broker is not there: the sources subscribe, the sink never
    // connects, records are held (`hold_while_down`), so the drain lasts until
    // `drain_timeout` and what the endpoint says during it can be watched.
    let replay = Replay::start(&demo_capture(), "max");
    let text = format!(
        r#"
[[source]]
exchange = "coinbase"
channels = ["trade", "bbo"]
symbols = ["BTC-USD"]
ws_url = "{}"

[sink]
kind = "kafka"
[sink.kafka]
brokers = "127.0.0.1:{}"

[shutdown]
drain_timeout = "2s"

[ops]
listen = "127.0.0.1:0"
"#,
        replay.ws_url(),
        free_port()
    );
    let mut bridge = Bridge::start(&text);
    let ops = ops_addr(&bridge);
    let coinbase = [("exchange", "coinbase"), ("market", "spot")];
    wait_until(WAIT, "the source subscribed and records received", || {
        let metrics = Exposition::parse(&http_get(&ops, "/metrics").unwrap().1).unwrap();
        metrics.sum("tickbridge_connections_subscribed", &coinbase) == 1.0
            && metrics.sum("tickbridge_records_received_total", &[("kind", "trade")])
                == DEMO_TRADES as f64
    });
    let (status, body) = http_get(&ops, "/readyz").unwrap();
    assert_eq!(
        (status, body.as_str()),
        (503, "not ready: kafka sink not connected\n")
    );
    let metrics = Exposition::parse(&http_get(&ops, "/metrics").unwrap().1).unwrap();
    assert_eq!(
        metrics.sum("tickbridge_sink_connected", &[("sink", "kafka")]),
        0.0
    );
    assert_eq!(metrics.sum("tickbridge_records_acked_total", &[]), 0.0);
    assert!(metrics.sum("tickbridge_records_pending", &[]) > 0.0);

    let terminated = Instant::now();
    bridge.signal("TERM");
    wait_until(WAIT, "the `shutdown requested` log line", || {
        bridge.logged("shutdown requested")
    });
    // From then until the process is gone, readiness is false and liveness true.
    let mut answers = 0;
    while let (Ok(ready), Ok(health)) = (http_get(&ops, "/readyz"), http_get(&ops, "/healthz")) {
        assert_eq!(ready, (503, "not ready: draining\n".to_string()));
        assert_eq!(health, (200, "ok\n".to_string()));
        answers += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = bridge.wait(WAIT);
    assert!(
        answers >= 5 && terminated.elapsed() >= Duration::from_secs(2),
        "the drain was watched {answers} times over {:?}",
        terminated.elapsed()
    );
    // The drain timed out: a non-zero exit, and the summary counts what was not acked.
    assert_eq!(code, 1);
    let summary = bridge.summary().expect("summary line");
    assert_eq!(summary.delivered, 0);
    assert!(
        summary.received > 0 && summary.lost == summary.received,
        "{summary:?}"
    );
}

#[test]
fn metrics_parse_and_match_the_records_in_the_sink() {
    let replay = Replay::start(&demo_capture(), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let mut bridge = Bridge::start(&config(&replay.ws_url(), &out));
    let ops = ops_addr(&bridge);
    wait_until(WAIT, "/readyz 200", || {
        http_get(&ops, "/readyz").is_ok_and(|(s, _)| s == 200)
    });
    wait_for_demo_records(&out);

    // Counters and file agree once the last batch's acknowledgement is counted.
    let mut last = (String::new(), String::new());
    let mut agreed = None;
    let deadline = Instant::now() + WAIT;
    while agreed.is_none() && Instant::now() < deadline {
        let (status, text) = http_get(&ops, "/metrics").unwrap();
        assert_eq!(status, 200);
        let metrics = Exposition::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let records = read_jsonl(&out);
        let in_file = count_kinds(&records);
        let kinds_agree = ["trade", "bbo", "book", "ticker", "status"]
            .iter()
            .all(|k| {
                let counted = metrics.sum(
                    "tickbridge_records_received_total",
                    &[("exchange", "coinbase"), ("market", "spot"), ("kind", k)],
                );
                counted == *in_file.get(*k).unwrap_or(&0) as f64
            });
        let acked = metrics.sum("tickbridge_records_acked_total", &[("sink", "file")]);
        if kinds_agree
            && acked == records.len() as f64
            && metrics.sum("tickbridge_records_pending", &[]) == 0.0
        {
            agreed = Some((metrics, records));
        } else {
            last = (text, format!("{in_file:?}"));
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let Some((metrics, records)) = agreed else {
        panic!("metrics never matched the file {}:\n{}", last.1, last.0);
    };

    let validator = SchemaValidator::new();
    records.iter().for_each(|r| validator.check(r));
    let coinbase = [("exchange", "coinbase"), ("market", "spot")];
    let (frames, bytes) = demo_frames();
    assert_eq!(
        metrics.sum("tickbridge_frames_received_total", &coinbase),
        frames as f64
    );
    assert_eq!(
        metrics.sum("tickbridge_bytes_received_total", &coinbase),
        bytes as f64
    );
    // Every data record parsed from the frames reached the sink.
    assert_eq!(
        metrics.sum("tickbridge_source_records_total", &coinbase),
        (DEMO_TRADES + DEMO_BBO) as f64
    );
    for zero in [
        "tickbridge_parse_errors_total",
        "tickbridge_unknown_frames_total",
        "tickbridge_gaps_total",
        "tickbridge_subscriptions_rejected_total",
        "tickbridge_records_failed_total",
        "tickbridge_records_dead_lettered_total",
        "tickbridge_batches_in_flight",
    ] {
        assert_eq!(metrics.sum(zero, &[]), 0.0, "{zero}");
    }
    assert_eq!(
        metrics.sum("tickbridge_connections_subscribed", &coinbase),
        1.0
    );
    assert_eq!(metrics.sum("tickbridge_connections_planned", &[]), 1.0);
    assert_eq!(metrics.sum("tickbridge_ready", &[]), 1.0);
    assert_eq!(
        metrics.sum("tickbridge_sink_connected", &[("sink", "file")]),
        1.0
    );
    assert_eq!(
        metrics.sum(
            "tickbridge_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    // Every record has one receive-to-ack observation; every batch one ack latency.
    let acked = records.len() as f64;
    assert_eq!(
        metrics.sum("tickbridge_receive_to_ack_latency_seconds_count", &[]),
        acked
    );
    assert_eq!(
        metrics.sum(
            "tickbridge_batch_ack_latency_seconds_count",
            &[("sink", "file")]
        ),
        metrics.sum("tickbridge_batches_total", &[("sink", "file")])
    );
    assert!(metrics.sum("tickbridge_batches_total", &[]) >= 1.0);

    // The startup line's fields are JSON values, not strings holding JSON.
    let start = bridge
        .logs()
        .into_iter()
        .find(|v| v["message"] == "tickbridge starting")
        .expect("the startup line");
    assert!(start["plan"].is_object(), "{start}");
    assert!(start["overrides"].is_array(), "{start}");

    let (code, summary) = bridge.stop();
    assert_eq!(code, 0);
    assert_eq!(summary.lost, 0);
    assert_eq!(summary.delivered, read_jsonl(&out).len() as u64);
}

#[test]
fn settings_precedence_is_flag_then_env_then_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cfg.toml");
    std::fs::write(
        &file,
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\n\
         [sink]\nkind = \"file\"\n[ops]\nlisten = \"127.0.0.1:9101\"\n\
         [instruments]\non_unavailable = \"unverified\"\ntimeout = \"2s\"\n",
    )
    .unwrap();
    let validate = |env: &[(&str, &str)], flags: &[&str]| {
        let mut cmd = Command::new(bin());
        cmd.env_clear().args(["validate", "--config"]).arg(&file);
        for f in flags {
            cmd.args(["--set", f]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            common::messages(&String::from_utf8(out.stderr).unwrap()),
        )
    };
    let ok = |env: &[(&str, &str)], flags: &[&str]| {
        let (code, stdout, stderr) = validate(env, flags);
        assert_eq!(code, Some(0), "{stderr}");
        stdout
    };

    let file_only = ok(&[], &[]);
    assert!(
        file_only.starts_with("config ok: sink file\n"),
        "{file_only}"
    );
    assert!(
        file_only.contains("\nops: listen 127.0.0.1:9101\n"),
        "{file_only}"
    );

    let env = [
        ("TICKBRIDGE__SINK__KIND", "null"),
        ("TICKBRIDGE__OPS__LISTEN", "127.0.0.1:9102"),
    ];
    let with_env = ok(&env, &[]);
    assert!(with_env.starts_with("config ok: sink null\n"), "{with_env}");
    assert!(
        with_env.contains("\nops: listen 127.0.0.1:9102\n"),
        "{with_env}"
    );
    assert!(with_env.contains("\noverride: sink.kind from TICKBRIDGE__SINK__KIND\n"));

    let with_flag = ok(&env, &["sink.kind=stdout", "ops.listen=127.0.0.1:9103"]);
    assert!(
        with_flag.starts_with("config ok: sink stdout\n"),
        "{with_flag}"
    );
    assert!(
        with_flag.contains("\nops: listen 127.0.0.1:9103\n"),
        "{with_flag}"
    );
    // Later flags win over earlier ones; an empty listen disables the server.
    let twice = ok(&[], &["ops.listen=127.0.0.1:9104", "ops.listen="]);
    assert!(twice.contains("\nops: disabled\n"), "{twice}");

    // Unset, the default holds; a list index reaches into [[source]].
    let defaults = ok(&[], &["source.0.symbols=[\"ETH-USDT\", \"BTC-USDT\"]"]);
    assert!(defaults.contains("2 symbols [trade]"), "{defaults}");

    // A bad value is reported with the setting and where it came from.
    let (code, _, stderr) = validate(&[("TICKBRIDGE__SINK__KIND", "kafkax")], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(
            "environment variable TICKBRIDGE__SINK__KIND: sink.kind: unknown variant `kafkax`"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = validate(&[], &["batch.max_evnts=5"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--set batch.max_evnts: unknown field `max_evnts`"),
        "{stderr}"
    );

    // A fatal error is logged once, in the chosen format: one JSON line at ERROR
    // (stderr is not a terminal), or one text line with --log-format text.
    for (format, json) in [("auto", true), ("text", false)] {
        let out = Command::new(bin())
            .env_clear()
            .args(["validate", "--log-format", format, "--config"])
            .arg(&file)
            .args(["--set", "batch.max_evnts=5"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("unknown field `max_evnts`"))
            .collect();
        assert_eq!(lines.len(), 1, "{format}: the error once: {stderr}");
        let parsed = serde_json::from_str::<serde_json::Value>(lines[0]);
        assert_eq!(parsed.is_ok(), json, "{format}: {}", lines[0]);
        if let Ok(v) = parsed {
            assert_eq!(v["level"], "ERROR", "{v}");
        } else {
            assert!(lines[0].contains("ERROR"), "{}", lines[0]);
        }
    }
    // An invalid log filter is refused, not silently replaced.
    let out = Command::new(bin())
        .env_clear()
        .args(["validate", "--log", "tickbridge=loud", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = common::messages(&String::from_utf8(out.stderr).unwrap());
    assert!(
        stderr.contains("--log \"tickbridge=loud\" is not a valid log filter"),
        "{stderr}"
    );

    // The help documents it.
    let help = Command::new(bin())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("Settings, highest precedence first"),
        "{help}"
    );
    assert!(help.contains("TICKBRIDGE__SINK__KIND=kafka"), "{help}");
    assert!(help.contains("--set <PATH=VALUE>"), "{help}");
}

#[test]
fn every_setting_is_documented() {
    // The binary names a section's fields when asked for one it lacks; each must have
    // a row in docs/configuration.md under the section's heading.
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .expect("docs/configuration.md");
    let mut sections: HashMap<String, Vec<String>> = HashMap::new();
    let mut current = String::new();
    for line in docs.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            current = heading.trim_matches('`').to_string();
        } else if let Some(row) = line.strip_prefix("| `") {
            let field = row.split('`').next().unwrap().to_string();
            sections.entry(current.clone()).or_default().push(field);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cfg.toml");
    std::fs::write(
        &file,
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\n",
    )
    .unwrap();
    let fields_of = |path: &str| -> Vec<String> {
        let probe = if path.is_empty() {
            "zz_probe=1".to_string()
        } else {
            format!("{path}.zz_probe=1")
        };
        let out = Command::new(bin())
            .env_clear()
            .args(["validate", "--config"])
            .arg(&file)
            .args(["--set", &probe])
            .output()
            .unwrap();
        let stderr = common::messages(&String::from_utf8(out.stderr).unwrap());
        let line = stderr
            .lines()
            .find(|l| l.contains("unknown field `zz_probe`"))
            .unwrap_or_else(|| panic!("no field list for {path:?}: {stderr}"));
        let expected = line.split_once("expected").unwrap().1;
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    };
    let top = fields_of("");
    assert!(top.contains(&"sink".to_string()), "{top:?}");
    for section in &top {
        assert!(
            sections.contains_key(&format!("[{section}]"))
                || sections.contains_key(&format!("[[{section}]]")),
            "docs/configuration.md has no heading for [{section}]"
        );
    }
    for (path, heading) in [
        ("source.0", "[[source]]"),
        ("source.0.book", "[source.book]"),
        ("sink", "[sink]"),
        ("sink.file", "[sink.file]"),
        ("sink.dead_letter", "[sink.dead_letter]"),
        ("sink.kafka", "[sink.kafka]"),
        ("sink.kafka.create_topics", "[sink.kafka.create_topics]"),
        ("sink.kafka.tls", "[sink.kafka.tls]"),
        ("sink.kafka.sasl", "[sink.kafka.sasl]"),
        ("sink.kafka.sasl.oidc", "[sink.kafka.sasl.oidc]"),
        ("sink.nats", "[sink.nats]"),
        ("sink.nats.stream", "[sink.nats.stream]"),
        ("batch", "[batch]"),
        ("queue", "[queue]"),
        ("buffer", "[buffer]"),
        ("connection", "[connection]"),
        ("shutdown", "[shutdown]"),
        ("ops", "[ops]"),
        ("cluster", "[cluster]"),
    ] {
        let documented = sections
            .get(heading)
            .unwrap_or_else(|| panic!("no {heading} section in docs/configuration.md"));
        for field in fields_of(path) {
            assert!(
                documented.contains(&field),
                "docs/configuration.md: {heading} does not document `{field}`"
            );
        }
    }
}

/// A strictly parsed Prometheus text exposition (format 0.0.4).
struct Exposition {
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Exposition {
    /// The sum of the samples named `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Parses and checks: HELP/TYPE before a family's samples, each family in one
    /// block, valid names, labels and values, no duplicate series, counters named
    /// `_total` and non-negative, histograms with cumulative buckets ending in `+Inf`
    /// that equals `_count`.
    fn parse(text: &str) -> Result<Exposition, String> {
        if !text.ends_with('\n') {
            return Err("the exposition must end with a newline".into());
        }
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helped: HashMap<String, bool> = HashMap::new();
        let mut finished: Vec<String> = Vec::new();
        let mut current: Option<String> = None;
        let mut samples = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (n, line) in text.lines().enumerate() {
            let err = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (keyword, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
                let arg = parts.next();
                match keyword {
                    "HELP" | "TYPE" => {
                        if !valid_name(name) {
                            return Err(err("bad metric name"));
                        }
                        if current.as_deref() != Some(name) {
                            if finished.iter().any(|f| f == name) {
                                return Err(err("family appears twice"));
                            }
                            if let Some(c) = current.take() {
                                finished.push(c);
                            }
                            current = Some(name.to_string());
                        }
                        if keyword == "HELP" {
                            if helped.insert(name.to_string(), true).is_some()
                                || types.contains_key(name)
                            {
                                return Err(err("HELP repeated or after TYPE"));
                            }
                            if arg.unwrap_or("").is_empty() {
                                return Err(err("empty HELP"));
                            }
                        } else {
                            let kind = arg.ok_or_else(|| err("TYPE without a type"))?;
                            if !["counter", "gauge", "histogram", "summary", "untyped"]
                                .contains(&kind)
                            {
                                return Err(err("unknown type"));
                            }
                            if types.insert(name.to_string(), kind.to_string()).is_some() {
                                return Err(err("TYPE repeated"));
                            }
                        }
                    }
                    _ => {} // a comment
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let sample = parse_sample(line).map_err(|e| err(&e))?;
            let family = current
                .clone()
                .ok_or_else(|| err("sample before any TYPE"))?;
            let kind = types
                .get(&family)
                .ok_or_else(|| err("sample before its TYPE"))?;
            let belongs = match kind.as_str() {
                "histogram" => [
                    format!("{family}_bucket"),
                    format!("{family}_sum"),
                    format!("{family}_count"),
                ]
                .contains(&sample.name),
                _ => sample.name == family,
            };
            if !belongs {
                return Err(err(&format!("sample outside its family {family}")));
            }
            if kind == "counter" && (!family.ends_with("_total") || sample.value < 0.0) {
                return Err(err("counters are named *_total and never negative"));
            }
            if sample.name.ends_with("_bucket") && !sample.labels.contains_key("le") {
                return Err(err("bucket without le"));
            }
            if !seen.insert((sample.name.clone(), sample.labels.clone())) {
                return Err(err("duplicate series"));
            }
            samples.push(sample);
        }
        // Histograms: per label set, buckets ascending and cumulative, +Inf == count.
        for (family, _) in types.iter().filter(|(_, k)| *k == "histogram") {
            // Labels without `le` → (le, cumulative count) of each bucket.
            type Series = BTreeMap<Vec<(String, String)>, Vec<(f64, f64)>>;
            let mut series = Series::new();
            for s in samples
                .iter()
                .filter(|s| s.name == format!("{family}_bucket"))
            {
                let le = parse_value(&s.labels["le"]).map_err(|e| format!("{family}: le {e}"))?;
                let key = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "le")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                series.entry(key).or_default().push((le, s.value));
            }
            if series.is_empty() {
                return Err(format!("histogram {family} has no buckets"));
            }
            for (key, buckets) in series {
                let ascending = buckets
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
                let last = buckets.last().unwrap();
                let count = samples
                    .iter()
                    .find(|s| {
                        s.name == format!("{family}_count")
                            && s.labels
                                .iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect::<Vec<_>>()
                                == key
                    })
                    .ok_or_else(|| format!("{family}{key:?}: no _count"))?;
                if !ascending || last.0 != f64::INFINITY || last.1 != count.value {
                    return Err(format!(
                        "{family}{key:?}: bad buckets {buckets:?} (count {})",
                        count.value
                    ));
                }
            }
        }
        Ok(Exposition { samples })
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        t => t.parse().map_err(|_| format!("bad value {t:?}")),
    }
}

/// `name{label="value",...} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        loop {
            // label name
            let start = chars.peek().map(|(i, _)| *i).ok_or("unterminated labels")?;
            if after[start..].starts_with('}') {
                chars.next();
                rest = &after[start + 1..];
                break;
            }
            let eq = after[start..].find('=').ok_or("label without =")? + start;
            let label = &after[start..eq];
            if !valid_name(label) || label.contains(':') {
                return Err(format!("bad label name {label:?}"));
            }
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value must be quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    '\n' => return Err("raw newline in a label value".into()),
                    c => value.push(c),
                }
            }
            if labels.insert(label.to_string(), value).is_some() {
                return Err(format!("label {label} repeated"));
            }
            match chars.peek().map(|(_, c)| *c) {
                Some(',') => {
                    chars.next();
                }
                Some('}') => {}
                _ => return Err("expected , or } after a label".into()),
            }
        }
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("expected one space before the value")?
        .split(' ');
    let value = parse_value(fields.next().ok_or("no value")?)?;
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing fields".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

#[test]
fn the_strict_parser_rejects_broken_expositions() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\\\"\"} 3\n\
                # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\n";
    let e = Exposition::parse(good).unwrap();
    assert_eq!(e.sum("a_total", &[("x", "1\"")]), 3.0);
    for bad in [
        "a_total 1\n",                                                // no TYPE
        "# TYPE a counter\na 1\n",                                    // counter not _total
        "# TYPE a gauge\na 1\na 2\n",                                 // duplicate series
        "# TYPE a gauge\na{x=1} 1\n",                                 // unquoted label
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n", // family twice
        "# TYPE a gauge\na one\n",                                    // bad value
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", // not cumulative
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 2\n", // +Inf != count
        "# TYPE a gauge\na 1",                                      // no final newline
    ] {
        assert!(Exposition::parse(bad).is_err(), "accepted {bad:?}");
    }
}

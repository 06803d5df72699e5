//! A real scrape: a real Prometheus (Debian's `prometheus` package; `scripts/test.sh`
//! installs it in CI, `apt-get install prometheus` elsewhere) scrapes the real
//! `tickbridge run` binary while it reads `tickbridge replay --live` of the Binance
//! BTCUSDT recording, and the test asks Prometheus' HTTP API what it got:
//!
//! * `/api/v1/query`: `up{job="tickbridge"}` is 1; `tickbridge_frames_received_total`
//!   carries exactly the labels exchange="binance", market="spot" (plus job and
//!   instance); `tickbridge_connections_subscribed` is 1; the trade record counter
//!   `tickbridge_records_batched_total` and `tickbridge_records_acked_total` grow
//!   between two scrapes.
//! * `/api/v1/alerts`: the alert rules of `helm/tickbridge/files/tickbridge-rules.yaml`
//!   are loaded, and `TickbridgeFeedStale` is not firing while data flows, is `firing`
//!   (with the source's exchange/market labels) while the replay's `--silent-after`
//!   fault keeps the socket silent past the bridge's `stale_after = "2s"`, and is no
//!   longer firing once the bridge has dropped the dead socket (its ping unanswered
//!   within `pong_timeout`) and data flows again on the next connection (the replay's
//!   faults hit the first client only).
//!
//! The rules file's `for:` durations are minutes; the test loads a copy with every
//! `for:` shortened to 1s (checked with `promtool check rules`, and checked to differ
//! from the original in nothing but `for:`: the expressions are kept exactly).
//! Prometheus runs with scrape and evaluation intervals of 1 s, its TSDB in a temp
//! directory, on a free loopback port; it is killed on drop. It starts before the
//! bridge, targeting the free loopback port the bridge's `[ops] listen` then gets
//! (Prometheus applies new scrape targets only every 5 s, and the replay's playback,
//! so its silence, starts when the bridge connects). A missing `prometheus`
//! or `promtool` fails the test with the install command; nothing is skipped.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{capture, ops_addr, wait_until, Bridge, Replay};
use serde_json::Value;

const BTC: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";
/// Every wait of the test is bounded by this.
const WAIT: Duration = Duration::from_secs(60);
const JOB: &str = "tickbridge";
const STALE_ALERT: &str = "TickbridgeFeedStale";
/// Frames the first client gets before its socket goes silent: ~10 s of the
/// recording at recorded speed (~110 frames/s), time for Prometheus to scrape the
/// healthy feed several times (the healthy checks take ~2-3 s).
const SILENT_AFTER: &str = "1100";
const INSTALL: &str = "install it with `apt-get install -y --no-install-recommends prometheus` \
     (Debian package `prometheus`, which also ships promtool; scripts/test.sh does this in CI)";

fn rules_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("helm/tickbridge/files/tickbridge-rules.yaml")
}

/// The rules file with every `for:` set to `1s`, nothing else changed.
fn shortened_rules(original: &str) -> String {
    let mut replaced = 0;
    let mut out = String::with_capacity(original.len());
    for line in original.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("for:") {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str("for: 1s");
            replaced += 1;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(replaced > 0, "no `for:` in the rules file");
    // Same rules, same expressions, labels and annotations; only `for` differs.
    let strip_for = |text: &str| {
        let mut v: serde_yaml::Value = serde_yaml::from_str(text).expect("rules YAML");
        for group in v["groups"].as_sequence_mut().expect("groups") {
            for rule in group["rules"].as_sequence_mut().expect("rules") {
                rule.as_mapping_mut().unwrap().remove("for");
            }
        }
        v
    };
    assert_eq!(
        strip_for(original),
        strip_for(&out),
        "the copy changed more than `for:`"
    );
    let parsed: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
    let stale = parsed["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .find(|r| r["alert"].as_str() == Some(STALE_ALERT))
        .unwrap_or_else(|| panic!("no {STALE_ALERT} rule in {}", rules_file().display()));
    assert!(
        stale["expr"]
            .as_str()
            .unwrap()
            .contains("tickbridge_connections_stale"),
        "{stale:?}"
    );
    out
}

/// A command of the Debian `prometheus` package; fails with the install command when
/// the binary is missing.
fn prometheus_command(name: &str) -> Command {
    match Command::new(name).arg("--version").output() {
        Ok(o) if o.status.success() => Command::new(name),
        Ok(o) => panic!(
            "`{name} --version` failed ({}): {}; {INSTALL}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("`{name}` cannot be run ({e}): {INSTALL}"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP/1.0 GET (no chunked encoding, the server closes): (status, body).
fn get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {response:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    Ok((status, body.to_string()))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A Prometheus server scraping one target. Killed on drop.
struct Prometheus {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `prometheus` scraping `target` every second with `rules` loaded, and
    /// waits until it is ready.
    fn start(target: &str, rules: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let rules_path = dir.path().join("tickbridge-rules.yaml");
        std::fs::write(&rules_path, rules).unwrap();
        let out = prometheus_command("promtool")
            .args(["check", "rules"])
            .arg(&rules_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool check rules: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(
            &config_path,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['{target}']\n",
                rules = rules_path.display(),
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = dir.path().join("prometheus.log");
        let child = prometheus_command("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning prometheus: {e}; {INSTALL}"));
        let mut prometheus = Prometheus {
            child,
            addr,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = prometheus.child.try_wait().unwrap() {
                panic!("prometheus exited ({status}):\n{}", prometheus.logs());
            }
            if matches!(get(&prometheus.addr, "/-/ready"), Ok((200, _))) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready within {WAIT:?}:\n{}",
                prometheus.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        prometheus
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `data` of a successful API answer.
    fn api(&self, path: &str) -> Value {
        let (status, body) =
            get(&self.addr, path).unwrap_or_else(|e| panic!("GET {path} from prometheus: {e}"));
        let v: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
        assert!(
            status == 200 && v["status"] == "success",
            "GET {path}: {status} {body}"
        );
        v["data"].clone()
    }

    /// The instant vector of `expr`: (labels, value) per series.
    fn query(&self, expr: &str) -> Vec<(serde_json::Map<String, Value>, f64)> {
        let data = self.api(&format!("/api/v1/query?query={}", url_encode(expr)));
        assert_eq!(data["resultType"], "vector", "{expr}: {data}");
        data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels = s["metric"].as_object().unwrap().clone();
                let value = s["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// The single value of `expr`, once it has exactly one series.
    fn value(&self, expr: &str) -> Option<f64> {
        match self.query(expr).as_slice() {
            [(_, v)] => Some(*v),
            _ => None,
        }
    }

    /// The active (pending or firing) alerts named `name`.
    fn alerts(&self, name: &str) -> Vec<Value> {
        self.api("/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["labels"]["alertname"] == name)
            .cloned()
            .collect()
    }

    fn firing(&self, name: &str) -> Vec<Value> {
        self.alerts(name)
            .into_iter()
            .filter(|a| a["state"] == "firing")
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(replay: &Replay, out: &Path, ops: &str) -> String {
    format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "{ws}"

[sink]
kind = "file"
[sink.file]
path = "{out}"

[batch]
linger = "5ms"

[ops]
listen = "{ops}"

[connection]
reconnect_min = "100ms"
reconnect_max = "400ms"
connect_timeout = "2s"
subscribe_timeout = "2s"
# The silent socket is stale 2 s after its last frame and dropped when its ping stays
# unanswered (ping within 1 s + 7 s): ~6 s of `tickbridge_connections_stale` = 1.
stale_after = "2s"
ping_interval = "1s"
pong_timeout = "7s"
idle_timeout = "10s"
"#,
        ws = replay.ws_url(),
        out = out.display(),
    )
}

#[test]
fn prometheus_scrapes_the_series_and_the_stale_feed_alert_fires_and_resolves() {
    let started = Instant::now();
    let rules = shortened_rules(&std::fs::read_to_string(rules_file()).unwrap());
    // Fail early (before any process starts) when the package is missing.
    prometheus_command("prometheus");
    prometheus_command("promtool");

    let replay = Replay::start_with(
        &capture(BTC),
        "1",
        &["--live", "--silent-after", SILENT_AFTER],
    );
    // Prometheus first, on the ops address the bridge will listen on: its scrape
    // manager applies new targets only every 5 s, and the replay's clock (so the
    // silence) starts when the bridge connects.
    let ops = format!("127.0.0.1:{}", free_port());
    let prom = Prometheus::start(&ops, &rules);
    let ready_at = started.elapsed();
    let up = format!("up{{job=\"{JOB}\"}}");
    let t = Instant::now();
    while prom.value(&up).is_none() {
        assert!(t.elapsed() < WAIT, "no {up} series: {}", prom.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let first_scrape_at = started.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let mut bridge = Bridge::start(&config(&replay, &dir.path().join("out.jsonl"), &ops));
    assert_eq!(ops_addr(&bridge), ops, "the bridge's ops address");
    let diag = |prom: &Prometheus, bridge: &Bridge| {
        format!(
            "\nprometheus log:\n{}\nbridge log:\n{}",
            prom.logs(),
            bridge.log_lines().join("\n")
        )
    };

    // The healthy feed, as Prometheus sees it.
    let t = Instant::now();
    while prom.value(&up) != Some(1.0) {
        assert!(
            t.elapsed() < WAIT,
            "{up} never 1: {:?}{}",
            prom.query(&up),
            diag(&prom, &bridge)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let up_at = started.elapsed();
    let frames = prom.query(&format!(
        "tickbridge_frames_received_total{{job=\"{JOB}\"}}"
    ));
    assert_eq!(frames.len(), 1, "{frames:?}");
    let (labels, n) = &frames[0];
    let names: Vec<&str> = labels.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["__name__", "exchange", "instance", "job", "market"],
        "{labels:?}"
    );
    assert_eq!(labels["exchange"], "binance", "{labels:?}");
    assert_eq!(labels["market"], "spot", "{labels:?}");
    assert_eq!(
        labels["instance"].as_str(),
        Some(ops.as_str()),
        "{labels:?}"
    );
    assert!(*n >= 0.0, "{frames:?}");

    let subscribed = format!(
        "tickbridge_connections_subscribed{{job=\"{JOB}\",exchange=\"binance\",market=\"spot\"}}"
    );
    let t = Instant::now();
    while prom.value(&subscribed) != Some(1.0) {
        assert!(
            t.elapsed() < WAIT,
            "{subscribed} never 1: {:?}{}",
            prom.query(&subscribed),
            diag(&prom, &bridge)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        prom.value(&format!("tickbridge_connections_stale{{job=\"{JOB}\"}}")),
        Some(0.0)
    );

    let subscribed_at = started.elapsed();
    // Record counters grow between scrapes.
    let trades = format!(
        "tickbridge_records_batched_total{{job=\"{JOB}\",exchange=\"binance\",market=\"spot\",kind=\"trade\"}}"
    );
    let acked = format!("tickbridge_records_acked_total{{job=\"{JOB}\",sink=\"file\"}}");
    let trades0 = prom
        .value(&trades)
        .unwrap_or_else(|| panic!("no {trades}: {:?}", prom.query(&trades)));
    let acked0 = prom
        .value(&acked)
        .unwrap_or_else(|| panic!("no {acked}: {:?}", prom.query(&acked)));
    let t = Instant::now();
    loop {
        let (tr, ac) = (prom.value(&trades).unwrap(), prom.value(&acked).unwrap());
        if tr > trades0 && ac > acked0 {
            break;
        }
        assert!(
            t.elapsed() < WAIT,
            "record counters did not grow: {trades} {trades0} -> {tr}, {acked} {acked0} -> {ac}{}",
            diag(&prom, &bridge)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The stale rule is loaded, and healthy: nothing pending or firing.
    let rule_names: Vec<String> = prom.api("/api/v1/rules?type=alert")["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        rule_names.iter().any(|n| n == STALE_ALERT),
        "{rule_names:?}"
    );
    assert!(
        prom.alerts(STALE_ALERT).is_empty(),
        "{:?}",
        prom.alerts(STALE_ALERT)
    );
    let healthy_at = started.elapsed();

    // The replay's silence: the alert fires ...
    let t = Instant::now();
    let alert = loop {
        if let Some(a) = prom.firing(STALE_ALERT).into_iter().next() {
            break a;
        }
        assert!(
            t.elapsed() < WAIT,
            "{STALE_ALERT} never fired; alerts: {:?}{}",
            prom.api("/api/v1/alerts"),
            diag(&prom, &bridge)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let fired_at = started.elapsed();
    assert_eq!(alert["labels"]["exchange"], "binance", "{alert}");
    assert_eq!(alert["labels"]["market"], "spot", "{alert}");
    assert_eq!(alert["labels"]["job"], JOB, "{alert}");
    assert_eq!(alert["labels"]["severity"], "warning", "{alert}");
    assert_eq!(
        alert["value"].as_str().map(|v| v.parse::<f64>().unwrap()),
        Some(1.0),
        "{alert}"
    );

    // ... and resolves once the dead socket is replaced and data flows again.
    let t = Instant::now();
    while !prom.firing(STALE_ALERT).is_empty() {
        assert!(
            t.elapsed() < WAIT,
            "{STALE_ALERT} still firing; alerts: {:?}{}",
            prom.api("/api/v1/alerts"),
            diag(&prom, &bridge)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let resolved_at = started.elapsed();
    assert_eq!(
        prom.value(&format!("tickbridge_connections_stale{{job=\"{JOB}\"}}")),
        Some(0.0)
    );
    wait_until(WAIT, "one subscribed connection again", || {
        prom.value(&subscribed) == Some(1.0)
    });
    let reconnects = format!(
        "tickbridge_reconnects_total{{job=\"{JOB}\",exchange=\"binance\",market=\"spot\"}}"
    );
    assert_eq!(
        prom.value(&reconnects),
        Some(1.0),
        "{:?}",
        prom.query(&reconnects)
    );
    let trades1 = prom.value(&trades).unwrap();
    wait_until(WAIT, "trades on the new connection", || {
        prom.value(&trades).is_some_and(|v| v > trades1)
    });

    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "{summary:?}");
    drop(prom);
    drop(replay);
    eprintln!(
        "prometheus ready after {ready_at:?}, first scrape after {first_scrape_at:?}, up after {up_at:?}, \
         subscribed after {subscribed_at:?}, healthy after {healthy_at:?}, stale alert firing after {fired_at:?}, resolved after {resolved_at:?}, total {:?}",
        started.elapsed()
    );
}

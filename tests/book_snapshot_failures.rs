//! An order book whose REST snapshot cannot be fetched, through the real binary:
//! `tickbridge replay` serves a synthetic Binance spot capture (one connection, depth
//! diffs of BTCUSDT, ETHUSDT and SOLUSDT) holding a recorded snapshot for ETHUSDT
//! only, so every BTCUSDT snapshot request is answered `404 Not Found` (the mock's
//! answer for an unrecorded path). `tickbridge run` subscribes `book` for BTC-USDT and
//! ETH-USDT and writes records to a file.
//!
//! Asserted: BTC-USDT announces the failure once (`status stale`, channel `book`, the
//! HTTP status and the URL path in the reason, no host or query) while the bridge keeps
//! asking with backoff; the bridge logs one WARN for the episode; BTC-USDT publishes no
//! book records; ETH-USDT syncs and publishes its chain; SOLUSDT, which the connection
//! did not subscribe, yields no records; `/metrics` exposes
//! `tickbridge_book_snapshot_failures_total`.
//!
//! `the_failure_counter_and_readiness_follow_the_session` additionally needs the
//! session to count REST answers (`SourceStats::rest_answered`) and stale connections
//! (`SourceStats::stale_began` / `stale_ended`); it is ignored until it does.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{http_get, metric, ops_addr, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
/// The first BTCUSDT diff's `U`: the failure episode is named by it.
const BTC_FIRST: u64 = 100;
const ETH_FIRST: u64 = 1001;
const DIFFS: u64 = 20;
const FAILURES: &str =
    "tickbridge_book_snapshot_failures_total{exchange=\"binance\",market=\"spot\"}";

fn diff(symbol: &str, first: u64, event_ms: u64) -> String {
    json!({
        "stream": format!("{}@depth@100ms", symbol.to_lowercase()),
        "data": {
            "e": "depthUpdate", "E": event_ms, "s": symbol, "U": first, "u": first + 1,
            "b": [[format!("{}.5", 100 + first % 7), "1.5"]], "a": [],
        },
    })
    .to_string()
}

/// The synthetic capture (see the module docs).
fn write_capture(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let t0: i64 = 1_723_161_255_000_000_000;
    let mut line = |v: Value| writeln!(gz, "{v}").unwrap();
    line(
        json!({"capture": 1, "exchange": "binance", "source": "tests/book_snapshot_failures.rs", "config": null}),
    );
    line(json!({"ts": t0, "conn": 1, "ev": "open", "url": "wss://stream.binance.com:9443/stream"}));
    // The client subscribes first (the mock waits for it and answers it itself).
    let subscribe = json!({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1});
    line(json!({"ts": t0, "conn": 1, "ev": "send", "text": subscribe.to_string()}));
    let mut ts = t0;
    for i in 0..DIFFS {
        let ms = 1_723_161_255_000 + i * 100;
        for (symbol, first) in [
            ("BTCUSDT", BTC_FIRST + 2 * i),
            ("ETHUSDT", ETH_FIRST + 2 * i),
            ("SOLUSDT", 5001 + 2 * i),
        ] {
            ts += 10_000_000;
            line(json!({"ts": ts, "conn": 1, "ev": "recv", "text": diff(symbol, first, ms)}));
        }
        if i == 1 {
            // ETHUSDT's snapshot bridges its second diff (U 1003 = 1002 + 1).
            let body = json!({"lastUpdateId": ETH_FIRST + 1, "bids": [["99.5", "2.0"]], "asks": [["101.0", "3.0"]]});
            line(json!({
                "ts": ts, "conn": 0, "ev": "http",
                "url": "https://api.binance.com/api/v3/depth?symbol=ETHUSDT&limit=1000",
                "text": body.to_string(),
            }));
        }
    }
    gz.finish().unwrap();
}

fn config(replay: &Replay, out: &Path, connection: &str) -> String {
    format!(
        r#"
[[source]]
exchange = "binance"
market = "spot"
channels = ["book"]
symbols = ["BTC-USDT", "ETH-USDT"]
ws_url = "{ws}"
rest_url = "{rest}"

[sink]
kind = "file"
[sink.file]
path = "{out}"

[batch]
linger = "5ms"

[ops]
listen = "127.0.0.1:0"

[connection]
{connection}
"#,
        ws = replay.ws_url(),
        rest = replay.rest_url(),
        out = out.display(),
    )
}

/// Complete lines of the file sink's output so far.
fn written(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Failed BTCUSDT snapshot requests so far: the session logs every REST answer the
/// parser describes (`REST`, `what`).
fn btc_failures(bridge: &Bridge) -> usize {
    bridge
        .logs()
        .iter()
        .filter(|l| {
            l["message"] == "REST"
                && l["what"]
                    .as_str()
                    .is_some_and(|w| w.starts_with("order-book snapshot of BTCUSDT failed"))
        })
        .count()
}

struct Rig {
    _replay: Replay,
    bridge: Bridge,
    out: std::path::PathBuf,
    ops: String,
    _dir: tempfile::TempDir,
}

fn start(connection: &str) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("no-btc-snapshot.jsonl.gz");
    write_capture(&capture);
    let out = dir.path().join("records.jsonl");
    let replay = Replay::start(&capture, "max");
    let bridge = Bridge::start(&config(&replay, &out, connection));
    let ops = ops_addr(&bridge);
    Rig {
        _replay: replay,
        bridge,
        out,
        ops,
        _dir: dir,
    }
}

#[test]
fn a_missing_snapshot_is_announced_once_while_the_book_keeps_asking() {
    let mut rig = start("");
    let eth_last = ETH_FIRST + 2 * (DIFFS - 1) + 1;
    wait_until(
        WAIT,
        "ETH-USDT's last diff and three failed BTCUSDT snapshots",
        || {
            let records = written(&rig.out);
            records
                .iter()
                .any(|r| r["symbol"] == "ETH-USDT" && r["seq"] == eth_last)
                && btc_failures(&rig.bridge) >= 3
        },
    );
    assert!(
        metric(&rig.ops, FAILURES).is_some(),
        "no {FAILURES} on /metrics"
    );
    let (code, summary) = rig.bridge.stop();
    assert_eq!(code, 0, "{:?}", rig.bridge.log_lines());
    assert_eq!(summary.lost, 0);
    let records = read_jsonl(&rig.out);
    let schema = SchemaValidator::new();
    for r in &records {
        schema.check(r);
    }

    // BTC-USDT: one announcement for the whole episode, no book records.
    let btc: Vec<&Value> = records
        .iter()
        .filter(|r| r["symbol"] == "BTC-USDT")
        .collect();
    let stale: Vec<&&Value> = btc
        .iter()
        .filter(|r| r["kind"] == "status" && r["event"] == "stale")
        .collect();
    assert_eq!(stale.len(), 1, "one stale for the episode: {btc:?}");
    let s = stale[0];
    assert_eq!(s["channel"], "book");
    assert_eq!(
        s["id"],
        format!("binance.spot.BTC-USDT.status.stale.snapshot.{BTC_FIRST}")
    );
    let reason = s["reason"].as_str().unwrap();
    assert!(
        reason
            .starts_with("order-book snapshot unavailable: GET /api/v3/depth: HTTP 404 Not Found"),
        "{reason}"
    );
    assert!(
        !reason.contains("127.0.0.1") && !reason.contains("http://"),
        "{reason}"
    );
    assert!(
        btc.iter().all(|r| r["kind"] == "status"),
        "no BTC-USDT book without a snapshot: {btc:?}"
    );

    // ETH-USDT: synced from its snapshot, every later diff chained.
    let eth: Vec<&Value> = records
        .iter()
        .filter(|r| r["symbol"] == "ETH-USDT" && r["kind"] == "book")
        .collect();
    assert_eq!(eth[0]["snapshot"], true);
    assert_eq!(eth[0]["seq"], ETH_FIRST + 1);
    assert_eq!(
        eth.len() as u64,
        DIFFS,
        "the snapshot and {} diffs",
        DIFFS - 1
    );
    for w in eth.windows(2) {
        assert_eq!(w[1]["prev_seq"], w[0]["seq"]);
    }

    // SOLUSDT was not subscribed: its frames yield nothing.
    assert!(
        records
            .iter()
            .all(|r| r["symbol"] == "BTC-USDT" || r["symbol"] == "ETH-USDT"),
        "records of a symbol the connection did not subscribe to"
    );

    // The episode is logged at WARN once, however many requests failed.
    let warns: Vec<Value> = rig
        .bridge
        .logs()
        .into_iter()
        .filter(|l| {
            l["level"] == "WARN"
                && l["key"] == "BTCUSDT"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("REST request failed"))
        })
        .collect();
    assert_eq!(warns.len(), 1, "{warns:?}");
    assert!(btc_failures(&rig.bridge) >= 3);
}

/// Needs the session changes (see the module docs): every failed BTCUSDT request is
/// counted, and the connection that goes quiet after the capture's last frame makes
/// `/readyz` answer 503 with the reason.
#[test]
fn the_failure_counter_and_readiness_follow_the_session() {
    let rig = start("stale_after = \"2s\"");
    wait_until(WAIT, "three failed BTCUSDT snapshots counted", || {
        metric(&rig.ops, FAILURES).is_some_and(|n| n >= 3)
    });
    let counted = metric(&rig.ops, FAILURES).unwrap();
    assert!(counted as usize <= btc_failures(&rig.bridge) + 1);
    wait_until(WAIT, "/readyz to report the stale connection", || {
        http_get(&rig.ops, "/readyz").is_ok_and(|(code, body)| {
            code == 503
                && body.starts_with("not ready: binance spot: 1 of 1 subscribed connections stale")
        })
    });
    let stale = "tickbridge_connections_stale{exchange=\"binance\",market=\"spot\"}";
    assert_eq!(metric(&rig.ops, stale), Some(1));
}

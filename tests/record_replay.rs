//! `record` → `replay` round trip with the real binary: `tickbridge replay` serves
//! real recordings (Binance and Coinbase), `tickbridge record --duration` records
//! them through the bridge's sessions, and the recorded captures are replayed and
//! recorded again. Every generation must hold exactly the market-data frames of the
//! one before, in order; the subscription replies are the mock exchange's answers to
//! this client's own requests (recorded replies answered the recording client and are
//! not played back), so each generation holds one reply per request it sent. And each
//! is a valid capture v1: header, `open` with the URL, the requests the client sent,
//! `close` at the end, non-decreasing times.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, capture, Replay};
use tickbridge::capture::{Capture, EventKind};

/// Long enough for a few hundred frames at `--speed max` on a loaded machine.
const RECORD_FOR: &str = "3s";

/// A capture's received text frames, split into market data and subscription
/// replies (Binance `{"result":..,"id":..}`, Coinbase `subscriptions`), each in order.
fn received(c: &Capture) -> (Vec<&str>, Vec<&str>) {
    c.events
        .iter()
        .filter(|e| e.ev == EventKind::Recv)
        .map(|e| e.text.as_deref().expect("text frames only"))
        .partition(|text| {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            v.get("stream").is_some() || (v.get("type").is_some() && v["type"] != "subscriptions")
        })
}

fn sent(c: &Capture) -> Vec<serde_json::Value> {
    c.events
        .iter()
        .filter(|e| e.ev == EventKind::Send)
        .map(|e| serde_json::from_str(e.text.as_deref().unwrap()).unwrap())
        .collect()
}

/// The first `recv_frames` received frames of a corpus capture (with everything
/// recorded before them), written as a plain (not gzip) capture: a small input that
/// also exercises the plain reader.
fn head_of(rel: &str, recv_frames: usize, out: &Path) -> PathBuf {
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(capture(rel)).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let mut kept = Vec::new();
    let mut recvs = 0;
    for line in text.lines() {
        if recvs == recv_frames {
            break;
        }
        if line.contains(r#""ev":"recv""#) {
            recvs += 1;
        }
        kept.push(line);
    }
    let name = Path::new(rel).file_name().unwrap().to_string_lossy();
    let path = out.join(format!("head-{}.jsonl", name.trim_end_matches(".jsonl.gz")));
    let mut f = std::fs::File::create(&path).unwrap();
    for line in kept {
        writeln!(f, "{line}").unwrap();
    }
    path
}

/// Runs `tickbridge record` against the two replay servers; returns the captures
/// it wrote (binance, coinbase).
fn record(binance: &Replay, coinbase: &Replay, dir: &Path, generation: &str) -> (Capture, Capture) {
    let config = dir.join(format!("record-{generation}.toml"));
    std::fs::write(
        &config,
        format!(
            r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "{}"

[[source]]
exchange = "coinbase"
channels = ["trade", "bbo"]
symbols = ["BTC-USD"]
ws_url = "{}"

[ops]
listen = "127.0.0.1:0"

[instruments]
on_unavailable = "unverified"
timeout = "2s"
cache_dir = "{}"
"#,
            binance.ws_url(),
            coinbase.ws_url(),
            dir.join(format!("instruments-{generation}")).display()
        ),
    )
    .unwrap();
    let out = dir.join(format!("{generation}-{{exchange}}-{{market}}.jsonl.gz"));
    let mut child = Command::new(bin())
        .args(["--log-format", "json", "record", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args(["--duration", RECORD_FOR])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "record did not stop after --duration"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(status.success(), "record failed ({status}):\n{logs}");
    assert!(logs.contains("summary:"), "no summary line:\n{logs}");
    let read = |exchange: &str| {
        let p = dir.join(format!("{generation}-{exchange}-spot.jsonl.gz"));
        Capture::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    (read("binance"), read("coinbase"))
}

/// Checks the shape of a capture `record` wrote.
fn check_recorded(c: &Capture, exchange: &str, ws_url: &str) {
    assert_eq!(c.header.capture, 1);
    assert_eq!(c.header.exchange, exchange);
    let config = c
        .header
        .config
        .as_ref()
        .expect("the header keeps the config");
    assert_eq!(config["market"], "spot");
    let first = &c.events[0];
    assert_eq!(first.ev, EventKind::Open, "first event: {first:?}");
    assert!(
        first.url.as_deref().unwrap().starts_with(ws_url),
        "open url {:?}",
        first.url
    );
    assert_eq!(c.events.last().unwrap().ev, EventKind::Close);
    assert!(
        c.events.windows(2).all(|w| w[0].ts <= w[1].ts),
        "event times go backwards"
    );
    assert!(c.events.iter().all(|e| e.conn == 1));
}

#[test]
fn record_then_replay_round_trips_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let served = [
        capture("cryptofeed/binance.jsonl.gz"),
        head_of("cryptofeed/coinbase.jsonl.gz", 400, dir.path()),
    ];
    let originals = served.each_ref().map(|p| Capture::read(p).unwrap());

    // Generation 1: recorded from the corpus recordings.
    let (b, c) = (
        Replay::start(&served[0], "max"),
        Replay::start(&served[1], "max"),
    );
    let gen1 = record(&b, &c, dir.path(), "gen1");
    check_recorded(&gen1.0, "binance", &b.ws_url());
    check_recorded(&gen1.1, "coinbase", &c.ws_url());
    drop((b, c));
    let (recorded, original) = (received(&gen1.0), received(&originals[0]));
    assert_eq!(
        recorded.0, original.0,
        "binance market data, gen 1 vs the original"
    );
    assert_eq!(recorded.0.len(), 265);
    let (recorded, original) = (received(&gen1.1), received(&originals[1]));
    assert_eq!(
        recorded.0, original.0,
        "coinbase market data, gen 1 vs the original"
    );
    assert_eq!(recorded.0.len(), 397);
    // One live SUBSCRIBE per Binance symbol, one subscribe per Coinbase connection,
    // each answered once.
    assert_eq!(
        sent(&gen1.0),
        [
            serde_json::json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@bookTicker"], "id": 1})
        ]
    );
    let reply: Vec<serde_json::Value> = received(&gen1.0)
        .1
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    assert_eq!(reply, [serde_json::json!({"result": null, "id": 1})]);
    assert_eq!(
        sent(&gen1.1),
        [
            serde_json::json!({"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["matches", "ticker", "heartbeat"]})
        ]
    );
    assert_eq!(received(&gen1.1).1.len(), 1);

    // Generation 2: recorded from replays of generation 1.
    let paths = [
        dir.path().join("gen1-binance-spot.jsonl.gz"),
        dir.path().join("gen1-coinbase-spot.jsonl.gz"),
    ];
    let (b, c) = (
        Replay::start(&paths[0], "max"),
        Replay::start(&paths[1], "max"),
    );
    let gen2 = record(&b, &c, dir.path(), "gen2");
    check_recorded(&gen2.0, "binance", &b.ws_url());
    check_recorded(&gen2.1, "coinbase", &c.ws_url());
    for (two, one) in [(&gen2.0, &gen1.0), (&gen2.1, &gen1.1)] {
        assert_eq!(received(two), received(one), "{}", one.header.exchange);
        assert_eq!(sent(two), sent(one), "{}", one.header.exchange);
    }
}

//! Fault injection on Binance order books, through the real binary: `tickbridge replay`
//! serves a capture built from two real recordings (hftbacktest spot BTCUSDT and
//! ETHUSDT of 2024-08-08, merged on one connection, depth and bookTicker frames, first
//! 60 s) in which **one BTCUSDT diff** is dropped, reordered or corrupted; `tickbridge
//! run` reads it with the `book` channel and writes records to a file.
//!
//! The capture also carries a second recorded REST snapshot for BTCUSDT (the mock
//! serves the n-th request of a path with the n-th recording): it is the book at a
//! later update id, computed here from the real snapshot and the real, unmodified diffs
//! — what Binance would have answered then.
//!
//! Asserted: exactly one `status gap` (channel `book`, `expected`/`got` = the missing
//! update ids) and one `resynced`, both for BTC-USDT; ETH-USDT untouched (no gap, one
//! snapshot, every diff published with an intact chain); BTC-USDT publishes nothing
//! between the gap and the fresh `snapshot=true` record, then every diff after it with
//! an intact chain; the BTC-USDT book rebuilt from the records equals, level for level,
//! the book built from the unmodified recording, and matches every bookTicker whose
//! update id it reached.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use common::{read_jsonl, wait_until, Bridge, Replay};
use serde_json::{json, Value};
use tickbridge_connectors::book::OrderBook;
use tickbridge_schema::{Dec, Level};

/// Seconds of recording kept.
const KEEP_NS: i64 = 60_000_000_000;
/// The faulty diff: this many BTCUSDT diffs after the one that bridges the snapshot.
const FAULT_AT: usize = 150;
/// The resync snapshot is the book at the `u` of this many diffs after the fault.
const RESYNC_AFTER: usize = 25;

fn captures() -> std::path::PathBuf {
    let dir = std::env::var("TICKBRIDGE_CAPTURES").unwrap_or_else(|_| {
        panic!("TICKBRIDGE_CAPTURES is not set: point it at the shared/captures directory")
    });
    let dir = if Path::new(&dir).is_absolute() {
        std::path::PathBuf::from(dir)
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    };
    assert!(
        dir.join("hftbacktest").is_dir(),
        "TICKBRIDGE_CAPTURES={} holds no hftbacktest/ recordings",
        dir.display()
    );
    dir
}

fn read_events(path: &Path) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(flate2::read::MultiGzDecoder::new(file))
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

/// A depth diff of the recording.
#[derive(Clone)]
struct Diff {
    /// Index of its event in the merged capture.
    index: usize,
    first: u64,
    last: u64,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

fn levels(v: &Value) -> Vec<Level> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            Level(
                Dec::parse(l[0].as_str().unwrap()).unwrap(),
                Dec::parse(l[1].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

enum Fault {
    Drop,
    Reorder,
    Corrupt,
}

struct Scenario {
    events: Vec<Value>,
    /// BTCUSDT: the initial snapshot's id, the fault's U and the next diff's U, the
    /// resync snapshot's id, the clean book at the end, and every depth `u` after the
    /// resync snapshot.
    btc_snapshot: u64,
    expected: u64,
    got: u64,
    resync_id: u64,
    clean_end: OrderBook,
    btc_after_resync: Vec<u64>,
    eth_snapshot: u64,
    eth_after_snapshot: Vec<u64>,
}

/// Builds the faulty capture's events from the two real recordings.
fn scenario(fault: Fault) -> Scenario {
    let dir = captures().join("hftbacktest");
    let mut merged: Vec<Value> = Vec::new();
    let mut start = i64::MAX;
    for name in ["binance_btcusdt_20240808", "binance_ethusdt_20240808"] {
        let events = read_events(&dir.join(format!("{name}.jsonl.gz")));
        start = start.min(events[0]["ts"].as_i64().unwrap());
        merged.extend(events.into_iter().filter(|e| {
            let text = e["text"].as_str().unwrap_or("");
            match e["ev"].as_str() {
                Some("http") => true,
                Some("recv") => text.contains("@depth") || text.contains("@bookTicker"),
                _ => false,
            }
        }));
    }
    merged.retain(|e| e["ts"].as_i64().unwrap() < start + KEEP_NS);
    merged.sort_by_key(|e| e["ts"].as_i64().unwrap());

    // The snapshots and diffs per symbol, as recorded.
    let mut snapshots: HashMap<String, Value> = HashMap::new();
    let mut diffs: HashMap<String, Vec<Diff>> = HashMap::new();
    for (i, e) in merged.iter().enumerate() {
        let text = e["text"].as_str().unwrap_or("");
        if e["ev"] == "http" {
            let body: Value = serde_json::from_str(text).unwrap();
            let url = e["url"].as_str().unwrap();
            let sym = url
                .split("symbol=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap();
            snapshots.insert(sym.to_string(), body);
        } else if text.contains("@depth") {
            let v: Value = serde_json::from_str(text).unwrap();
            let d = &v["data"];
            diffs
                .entry(d["s"].as_str().unwrap().to_string())
                .or_default()
                .push(Diff {
                    index: i,
                    first: d["U"].as_u64().unwrap(),
                    last: d["u"].as_u64().unwrap(),
                    bids: levels(&d["b"]),
                    asks: levels(&d["a"]),
                });
        }
    }
    let btc_snap = &snapshots["BTCUSDT"];
    let btc_id = btc_snap["lastUpdateId"].as_u64().unwrap();
    let btc: Vec<Diff> = diffs["BTCUSDT"]
        .iter()
        .filter(|d| d.last > btc_id)
        .cloned()
        .collect();
    let (f, r) = (FAULT_AT, FAULT_AT + RESYNC_AFTER);
    assert!(
        btc.len() > r + 50,
        "recording too short: {} BTCUSDT diffs",
        btc.len()
    );

    // The clean book: real snapshot + every real diff; remember it at the resync point.
    let mut book = OrderBook::new();
    book.replace(&levels(&btc_snap["bids"]), &levels(&btc_snap["asks"]));
    let mut at_resync = None;
    for (k, d) in btc.iter().enumerate() {
        book.apply(&d.bids, &d.asks);
        if k == r {
            at_resync = Some(book.clone());
        }
    }
    let at_resync = at_resync.unwrap();
    let resync_id = btc[r].last;
    let side = |it: &mut dyn Iterator<Item = (&Dec, &Dec)>| -> Value {
        it.map(|(p, s)| json!([p.as_str(), s.as_str()])).collect()
    };
    let body = json!({
        "lastUpdateId": resync_id,
        "bids": side(&mut at_resync.bids()),
        "asks": side(&mut at_resync.asks()),
    });
    let resync_event = json!({
        "ts": merged[btc[r].index]["ts"].as_i64().unwrap() + 1,
        "conn": 0,
        "ev": "http",
        "url": "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000",
        "text": body.to_string(),
    });

    // Inject the fault (indices are of `merged` before the insertion below).
    let (fi, ni) = (btc[f].index, btc[f + 1].index);
    let mut events = merged.clone();
    match fault {
        Fault::Drop => {
            events[fi]["ev"] = json!("dropped");
        }
        Fault::Reorder => {
            let (a, b) = (events[fi]["text"].clone(), events[ni]["text"].clone());
            events[fi]["text"] = b;
            events[ni]["text"] = a;
        }
        Fault::Corrupt => {
            let text = events[fi]["text"].as_str().unwrap().to_string();
            events[fi]["text"] = json!(text[..text.len() / 2].to_string());
        }
    }
    events.retain(|e| e["ev"] != "dropped");
    let pos = events
        .iter()
        .position(|e| e["ts"].as_i64().unwrap() > resync_event["ts"].as_i64().unwrap())
        .unwrap();
    events.insert(pos, resync_event);

    let eth_snap = snapshots["ETHUSDT"]["lastUpdateId"].as_u64().unwrap();
    Scenario {
        events,
        btc_snapshot: btc_id,
        expected: btc[f].first,
        got: btc[f + 1].first,
        resync_id,
        clean_end: book,
        btc_after_resync: btc
            .iter()
            .filter(|d| d.last > resync_id)
            .map(|d| d.last)
            .collect(),
        eth_snapshot: eth_snap,
        eth_after_snapshot: diffs["ETHUSDT"]
            .iter()
            .filter(|d| d.last > eth_snap)
            .map(|d| d.last)
            .collect(),
    }
}

fn write_capture(path: &Path, events: &[Value]) {
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let header =
        json!({"capture":1,"exchange":"binance","source":"tests/book_faults.rs","config":null});
    writeln!(gz, "{header}").unwrap();
    let open = json!({
        "ts": events[0]["ts"].as_i64().unwrap() - 1,
        "conn": 1,
        "ev": "open",
        "url": "wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms/btcusdt@bookTicker/ethusdt@bookTicker",
    });
    writeln!(gz, "{open}").unwrap();
    // The client's live subscriptions and their confirmations (ids 1 and 2, one per
    // symbol). A client that names its streams in the URL sends nothing; the mock
    // then starts after its 10 s wait for a first client frame.
    let t0 = events[0]["ts"].as_i64().unwrap() - 1;
    let subscribe = json!({"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1});
    writeln!(
        gz,
        "{}",
        json!({"ts": t0, "conn": 1, "ev": "send", "text": subscribe.to_string()})
    )
    .unwrap();
    for id in [1, 2] {
        let ack = json!({"result": null, "id": id}).to_string();
        writeln!(
            gz,
            "{}",
            json!({"ts": t0, "conn": 1, "ev": "recv", "text": ack})
        )
        .unwrap();
    }
    for e in events {
        let mut e = e.clone();
        if e["ev"] == "recv" {
            e["conn"] = json!(1);
        }
        writeln!(gz, "{e}").unwrap();
    }
    gz.finish().unwrap();
}

/// Runs the bridge against the mock exchange serving `fault`; checks the records.
fn run(fault: Fault) {
    let s = scenario(fault);
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("faulty.jsonl.gz");
    write_capture(&capture, &s.events);
    let out = dir.path().join("records.jsonl");
    let replay = Replay::start(&capture, "max");
    let config = format!(
        r#"
[[source]]
exchange = "binance"
market = "spot"
channels = ["bbo", "book"]
symbols = ["BTC-USDT", "ETH-USDT"]
ws_url = "{ws}"
rest_url = "{rest}"

[source.book]
snapshot_depth = 1000

[sink]
kind = "file"

[sink.file]
path = "{out}"

[ops]
listen = ""
"#,
        ws = replay.ws_url(),
        rest = replay.rest_url(),
        out = out.display(),
    );
    let mut bridge = Bridge::start(&config);
    let (btc_last, eth_last) = (
        *s.btc_after_resync.last().unwrap(),
        *s.eth_after_snapshot.last().unwrap(),
    );
    let done = |records: &[Value]| {
        let seen = |sym: &str, seq: u64| {
            records
                .iter()
                .any(|r| r["kind"] == "book" && r["symbol"] == sym && r["seq"] == seq)
        };
        seen("BTC-USDT", btc_last) && seen("ETH-USDT", eth_last)
    };
    // Poll complete lines only: the sink may be mid-write.
    let written = || -> Vec<Value> {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        complete
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    wait_until(
        Duration::from_secs(90),
        "the last diffs of both symbols",
        || done(&written()),
    );
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "{:?}", bridge.log_lines());
    assert_eq!(summary.lost, 0);
    drop(replay);

    let records = read_jsonl(&out);
    let of = |sym: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r["symbol"] == sym && (r["kind"] == "book" || r["kind"] == "status"))
            .filter(|r| {
                r["kind"] == "book" || ["gap", "resynced"].contains(&r["event"].as_str().unwrap())
            })
            .collect()
    };
    let gaps: Vec<&Value> = records
        .iter()
        .filter(|r| r["kind"] == "status" && r["event"] == "gap")
        .collect();
    assert_eq!(gaps.len(), 1, "exactly one gap: {gaps:?}");
    let gap = gaps[0];
    assert_eq!(gap["symbol"], "BTC-USDT");
    assert_eq!(gap["channel"], "book");
    assert_eq!(
        (gap["expected"].as_u64(), gap["got"].as_u64()),
        (Some(s.expected), Some(s.got))
    );

    // ETH-USDT: untouched.
    let eth = of("ETH-USDT");
    assert_eq!(eth[0]["snapshot"], true);
    assert_eq!(eth[0]["seq"], s.eth_snapshot);
    let eth_seqs: Vec<u64> = eth[1..]
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        eth_seqs, s.eth_after_snapshot,
        "every ETH-USDT diff, in order"
    );
    for w in eth.windows(2) {
        assert_eq!(w[1]["prev_seq"], w[0]["seq"], "ETH-USDT chain");
        assert_eq!(w[1]["kind"], "book");
    }

    // BTC-USDT: snapshot, chain, gap, resynced, snapshot, chain.
    let btc = of("BTC-USDT");
    assert_eq!(btc[0]["seq"], s.btc_snapshot);
    let g = btc.iter().position(|r| r["event"] == "gap").unwrap();
    for w in btc[..g].windows(2) {
        assert_eq!(
            w[1]["prev_seq"], w[0]["seq"],
            "BTC-USDT chain before the gap"
        );
    }
    assert!(btc[g - 1]["seq"].as_u64().unwrap() < s.expected);
    assert_eq!(btc[g + 1]["event"], "resynced");
    let snap = btc[g + 2];
    assert_eq!(
        (snap["kind"].as_str(), snap["snapshot"].as_bool()),
        (Some("book"), Some(true))
    );
    assert_eq!(snap["seq"], s.resync_id);
    assert_eq!(snap["prev_seq"], Value::Null);
    let after: Vec<u64> = btc[g + 3..]
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        after, s.btc_after_resync,
        "every BTC-USDT diff after the resync"
    );
    for w in btc[g + 2..].windows(2) {
        assert_eq!(
            w[1]["prev_seq"], w[0]["seq"],
            "BTC-USDT chain after the resync"
        );
    }

    // The book rebuilt from the records is the exchange's book again.
    let mut book = OrderBook::new();
    let mut tops: BTreeMap<u64, (Value, Value)> = BTreeMap::new();
    for r in &btc[g + 2..] {
        let (bids, asks) = (levels(&r["bids"]), levels(&r["asks"]));
        if r["snapshot"] == true {
            book.replace(&bids, &asks);
        } else {
            book.apply(&bids, &asks);
        }
        let (b, a) = (book.best_bid().unwrap(), book.best_ask().unwrap());
        tops.insert(
            r["seq"].as_u64().unwrap(),
            (
                json!([b.0.as_str(), b.1.as_str()]),
                json!([a.0.as_str(), a.1.as_str()]),
            ),
        );
    }
    assert!(
        book == s.clean_end,
        "the resynced BTC-USDT book differs from the exchange's"
    );
    let mut compared = 0;
    for t in records
        .iter()
        .filter(|r| r["kind"] == "bbo" && r["symbol"] == "BTC-USDT")
    {
        if let Some((bid, ask)) = tops.get(&t["seq"].as_u64().unwrap()) {
            compared += 1;
            assert_eq!(*bid, json!([t["bid_price"], t["bid_size"]]), "{t}");
            assert_eq!(*ask, json!([t["ask_price"], t["ask_size"]]), "{t}");
        }
    }
    assert!(
        compared > 10,
        "only {compared} bookTicker comparisons after the resync"
    );
}

#[test]
fn a_dropped_diff_resyncs_that_symbol_only() {
    run(Fault::Drop);
}

#[test]
fn a_reordered_diff_resyncs_that_symbol_only() {
    run(Fault::Reorder);
}

#[test]
fn a_corrupted_diff_resyncs_that_symbol_only() {
    run(Fault::Corrupt);
}

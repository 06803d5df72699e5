//! The `bitfinex` connector through the real binary.
//!
//! 1. `tickbridge replay` serves the recorded Bitfinex session (`cryptofeed/bitfinex`:
//!    v2 on `api.bitfinex.com`, `SEQ_ALL`, book/trades/ticker of seven pairs, the pair
//!    list; its recorded `conf` and `subscribed` answers are played back) and
//!    `tickbridge run` bridges DOG-USD from it: exactly one `trade` per recorded `te`
//!    frame of the pair (the recording holds none: its trade channels sent snapshots
//!    only, which are history and not republished), one `book` record per recorded
//!    book frame (the snapshot, then every update chained to it, no gap), bbo derived
//!    from the book, one `ticker` per recorded ticker frame.
//! 2. A small session written by the test in the documented v2 format (no recording
//!    holds `te`/`tu` or checksums) goes the same way: one `trade` per `te` (the `tu`
//!    echoes dropped), taker sides from the sign of the amount, and a book whose
//!    checksums all match (no gap).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::{json, Value};

const CAPTURE: &str = "cryptofeed/bitfinex.jsonl.gz";

/// The received frames of a capture, parsed.
fn received(path: &Path) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .collect()
}

/// Recorded frames of `symbol`'s `channel`, by kind: `te` trades, book messages,
/// ticker messages (the channel id comes from the `subscribed` event).
fn recorded(path: &Path, channel: &str, symbol: &str, te_only: bool) -> usize {
    let frames = received(path);
    let Some(id) = frames
        .iter()
        .find(|f| f["event"] == "subscribed" && f["channel"] == channel && f["symbol"] == symbol)
        .map(|f| f["chanId"].clone())
    else {
        return 0;
    };
    frames
        .iter()
        .filter(|f| f.is_array() && f[0] == id)
        .filter(|f| {
            if te_only {
                f[1] == "te"
            } else {
                f[1].is_array()
            }
        })
        .count()
}

fn config(replay: &Replay, out: &Path, symbol: &str) -> String {
    format!(
        "[[source]]\nexchange = \"bitfinex\"\nchannels = [\"trade\", \"bbo\", \"book\", \"ticker\"]\nsymbols = [\"{symbol}\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
         [sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
        out.display(),
        ws = replay.ws_url(),
        rest = replay.rest_url(),
    )
}

fn kind(rs: &[Value], k: &str) -> Vec<Value> {
    rs.iter()
        .filter(|r| r["exchange"] == "bitfinex" && r["kind"] == k)
        .cloned()
        .collect()
}

/// Runs the bridge on `capture_path` for `symbol` until `done` holds for its records.
fn bridge(
    capture_path: &Path,
    symbol: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let replay = Replay::start(capture_path, "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let mut bridge = Bridge::start(&config(&replay, &out, symbol));
    let records = || -> Vec<Value> {
        if !out.exists() {
            return Vec::new();
        }
        read_jsonl(&out)
    };
    wait_until(Duration::from_secs(30), what, || done(&records()));
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);
    records()
}

/// Every record schema-valid and of `symbol`; the book chained from its snapshot; no gap.
fn check(rs: &[Value], symbol: &str, native: &str) {
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == "bitfinex") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("spot"), Some(symbol), Some(native)),
            "{r}"
        );
    }
    let books = kind(rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    for pair in books.windows(2) {
        assert_eq!(pair[1]["snapshot"], false, "{}", pair[1]);
        assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
    }
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

#[test]
fn a_recorded_bitfinex_session_is_bridged_to_schema_valid_records() {
    let path = capture(CAPTURE);
    let trades = recorded(&path, "trades", "tDOGUSD", true);
    let books = recorded(&path, "book", "tDOGUSD", false);
    let tickers = recorded(&path, "ticker", "tDOGUSD", false);
    assert_eq!(
        (trades, books, tickers),
        (0, 385, 4),
        "what the capture holds"
    );
    let rs = bridge(
        &path,
        "DOG-USD",
        "every DOG-USD book and ticker frame",
        |rs| kind(rs, "book").len() >= books && kind(rs, "ticker").len() >= tickers,
    );
    check(&rs, "DOG-USD", "tDOGUSD");
    assert_eq!(
        kind(&rs, "trade").len(),
        trades,
        "one record per recorded te"
    );
    assert_eq!(
        kind(&rs, "book").len(),
        books,
        "one record per recorded book frame"
    );
    assert_eq!(kind(&rs, "ticker").len(), tickers);
    let bbo = kind(&rs, "bbo");
    assert!(!bbo.is_empty() && bbo.len() <= books);
}

/// A session in the documented v2 format: `conf` with sequence numbers and checksums,
/// trades as `te` + `tu`, a P0 book whose checksums match.
fn documented_session(path: &Path) -> usize {
    let t0: i64 = 1_700_000_000_000_000_000;
    let mut seq = 0;
    let mut frames: Vec<String> = vec![
        json!({"event":"info","version":2,"serverId":"s","platform":{"status":1}}).to_string(),
        json!({"event":"conf","status":"OK","flags":196608}).to_string(),
        json!({"event":"subscribed","channel":"trades","chanId":5,"symbol":"tBTCUSD","pair":"BTCUSD"}).to_string(),
        json!({"event":"subscribed","channel":"book","chanId":6,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}).to_string(),
        json!({"event":"subscribed","channel":"ticker","chanId":7,"symbol":"tBTCUSD","pair":"BTCUSD"}).to_string(),
    ];
    let mut next = |body: &str| {
        seq += 1;
        format!("{},{seq}]", body.strip_suffix(']').unwrap())
    };
    frames.push(next("[5,[[100,1699999999000,0.5,37000]]]"));
    frames.push(next(
        "[6,[[37000,1,2],[36999.5,2,1.5],[37001,1,-1],[37002.5,3,-4]]]",
    ));
    frames.push(next(
        "[7,[37000,2,37001,1,-10,-0.0003,37000,1234.5,37500,36500]]",
    ));
    // "37000:2:37001:-1:36999.5:1.5:37002.5:-4"
    let cs = |s: &str| tickbridge_connectors::checksum::crc32(s.as_bytes()) as i32;
    frames.push(next(&format!(
        "[6,\"cs\",{}]",
        cs("37000:2:37001:-1:36999.5:1.5:37002.5:-4")
    )));
    let mut n_te = 0;
    for i in 0..6 {
        let amount = if i % 2 == 0 { "0.25" } else { "-0.125" };
        let trade = format!(
            "[{},{},{amount},37000.5]",
            700 + i,
            1_700_000_000_100i64 + i
        );
        frames.push(next(&format!("[5,\"te\",{trade}]")));
        n_te += 1;
        frames.push(next(&format!("[6,[37000,{},{}]]", 1 + i % 2, 2 + i)));
        frames.push(next(&format!("[5,\"tu\",{trade}]")));
        frames.push(next("[7,\"hb\"]"));
    }
    frames.push(next(&format!(
        "[6,\"cs\",{}]",
        cs("37000:7:37001:-1:36999.5:1.5:37002.5:-4")
    )));
    frames.push(next("[6,[36999.5,0,1]]"));
    frames.push(next(&format!(
        "[6,\"cs\",{}]",
        cs("37000:7:37001:-1:37002.5:-4")
    )));
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let header = json!({"capture":1,"exchange":"bitfinex","source":"tests/bitfinex.rs (documented v2 format)","config":null});
    writeln!(gz, "{header}").unwrap();
    let mut ts = t0;
    let mut event = |mut v: Value| {
        ts += 1_000_000;
        v["ts"] = json!(ts);
        writeln!(gz, "{v}").unwrap();
    };
    event(json!({"conn":1,"ev":"open","url":"wss://api-pub.bitfinex.com/ws/2"}));
    event(json!({"conn":1,"ev":"send","text":"{\"event\":\"conf\",\"flags\":196608}"}));
    for f in frames {
        event(json!({"conn":1,"ev":"recv","text":f}));
    }
    gz.finish().unwrap();
    n_te
}

#[test]
fn a_documented_bitfinex_session_yields_one_trade_per_te_and_a_checked_book() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bitfinex_documented.jsonl.gz");
    let n_te = documented_session(&path);
    assert_eq!(recorded(&path, "trades", "tBTCUSD", true), n_te);
    let books = recorded(&path, "book", "tBTCUSD", false);
    let rs = bridge(&path, "BTC-USD", "every trade and book frame", |rs| {
        kind(rs, "trade").len() >= n_te && kind(rs, "book").len() >= books
    });
    check(&rs, "BTC-USD", "tBTCUSD");
    let trades = kind(&rs, "trade");
    assert_eq!(
        trades.len(),
        n_te,
        "one record per te, none per tu or snapshot"
    );
    let sides: Vec<&str> = trades.iter().map(|t| t["side"].as_str().unwrap()).collect();
    assert_eq!(sides, ["buy", "sell", "buy", "sell", "buy", "sell"]);
    assert_eq!(trades[1]["size"], "0.125");
    assert_eq!(kind(&rs, "book").len(), books);
    assert_eq!(kind(&rs, "ticker").len(), 1);
    let last_bbo = kind(&rs, "bbo").pop().unwrap();
    assert_eq!(
        (
            last_bbo["bid_price"].as_str(),
            last_bbo["bid_size"].as_str(),
            last_bbo["ask_price"].as_str()
        ),
        (Some("37000"), Some("7"), Some("37001"))
    );
}

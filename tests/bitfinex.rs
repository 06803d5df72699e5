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

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::capture;
use common::venue::{assert_chained_from_one_snapshot, recorded_frames, Records, Source, VenueRun};
use serde_json::{json, Value};

const CAPTURE: &str = "cryptofeed/bitfinex.jsonl.gz";

/// Recorded frames of `symbol`'s `channel`, by kind: `te` trades, book messages,
/// ticker messages (the channel id comes from the `subscribed` event).
fn recorded(path: &Path, channel: &str, symbol: &str, te_only: bool) -> usize {
    let frames = recorded_frames(path, |_| true);
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

/// Runs the bridge on `capture_path` for `symbol` until `done` holds for its records.
fn bridge(
    capture_path: &Path,
    symbol: &str,
    what: &str,
    done: impl Fn(&Records) -> bool,
) -> Records {
    let run = VenueRun::start(
        capture_path,
        Source {
            exchange: "bitfinex",
            channels: &["trade", "bbo", "book", "ticker"],
            symbols: &[symbol],
            ..Source::default()
        },
    );
    run.wait_until(Duration::from_secs(30), what, done);
    run.stop().0
}

/// Every record schema-valid and of `symbol`; the book chained from its snapshot; no gap.
fn check(rs: &Records, symbol: &str, native: &str) {
    rs.check("spot", symbol, native);
    assert_chained_from_one_snapshot(&rs.kind("book"));
    rs.assert_no_gap();
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
        |rs| rs.kind("book").len() >= books && rs.kind("ticker").len() >= tickers,
    );
    check(&rs, "DOG-USD", "tDOGUSD");
    assert_eq!(rs.kind("trade").len(), trades, "one record per recorded te");
    assert_eq!(
        rs.kind("book").len(),
        books,
        "one record per recorded book frame"
    );
    assert_eq!(rs.kind("ticker").len(), tickers);
    let bbo = rs.kind("bbo");
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
        rs.kind("trade").len() >= n_te && rs.kind("book").len() >= books
    });
    check(&rs, "BTC-USD", "tBTCUSD");
    let trades = rs.kind("trade");
    assert_eq!(
        trades.len(),
        n_te,
        "one record per te, none per tu or snapshot"
    );
    let sides: Vec<&str> = trades.iter().map(|t| t["side"].as_str().unwrap()).collect();
    assert_eq!(sides, ["buy", "sell", "buy", "sell", "buy", "sell"]);
    assert_eq!(trades[1]["size"], "0.125");
    assert_eq!(rs.kind("book").len(), books);
    assert_eq!(rs.kind("ticker").len(), 1);
    let last_bbo = rs.kind("bbo").pop().unwrap();
    assert_eq!(
        (
            last_bbo["bid_price"].as_str(),
            last_bbo["bid_size"].as_str(),
            last_bbo["ask_price"].as_str()
        ),
        (Some("37000"), Some("7"), Some("37001"))
    );
}

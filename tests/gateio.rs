//! The `gateio` and `gateio-futures` connectors through the real binary: `tickbridge
//! replay` serves a recorded Gate session and `tickbridge run` bridges one symbol
//! from it.
//!
//! - spot (`cryptofeed/gateio`: `spot.trades`, `spot.order_book_update`,
//!   `spot.tickers` of ten pairs, the pair list and the REST snapshots): every
//!   recorded NEO-BTC trade arrives as one schema-valid `trade` record, the book is
//!   synced from the recorded snapshot (`id`) and chained, tickers arrive;
//! - USDT futures (`cryptofeed/gateio_futures`: `futures.order_book_update`,
//!   `futures.book_ticker` of ten contracts; the recording holds no trade): every
//!   recorded WOO_USDT `book_ticker` arrives as one `bbo` record and the book is
//!   synced from the recorded futures snapshot.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

/// The update frames of `channel` for `native` in the capture.
fn recorded(file: &str, channel: &str, native: &str) -> usize {
    let file = std::fs::File::open(capture(file)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["event"] == "update" && f["channel"] == channel)
        .filter(|f| {
            let r = &f["result"];
            [&r["currency_pair"], &r["s"], &r[0]["contract"]]
                .iter()
                .any(|v| v.as_str() == Some(native))
        })
        .count()
}

/// Runs the bridge for `exchange` on `symbol` and `channels` against the replayed
/// `file` until `done` holds for its records; returns them (checked schema-valid
/// and all of `symbol`).
fn bridge(
    file: &str,
    exchange: &str,
    channels: &str,
    (symbol, native, market): (&str, &str, &str),
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let replay = Replay::start(&capture(file), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"{exchange}\"\nchannels = {channels}\nsymbols = [\"{symbol}\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
         [sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
        out.display(),
        ws = replay.ws_url(),
        rest = replay.rest_url(),
    );
    let mut bridge = Bridge::start(&config);
    let records = || -> Vec<Value> {
        if !out.exists() {
            return Vec::new();
        }
        read_jsonl(&out)
            .into_iter()
            .filter(|r| r["exchange"] == exchange)
            .collect()
    };
    wait_until(Duration::from_secs(40), "the expected records", || {
        done(&records())
    });
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);
    let rs = records();
    let schemas = SchemaValidator::new();
    for r in &rs {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some(market), Some(symbol), Some(native)),
            "{r}"
        );
    }
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
    rs
}

fn kind<'a>(rs: &'a [Value], k: &str) -> Vec<&'a Value> {
    rs.iter().filter(|r| r["kind"] == k).collect()
}

/// The book: the snapshot first, then changes chained to it.
fn assert_chained(books: &[&Value]) {
    assert!(!books.is_empty());
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    for pair in books.windows(2) {
        if pair[1]["snapshot"] == false {
            assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
        }
    }
}

#[test]
fn a_recorded_gate_spot_session_is_bridged_to_schema_valid_records() {
    const FILE: &str = "cryptofeed/gateio.jsonl.gz";
    let expected = recorded(FILE, "spot.trades", "NEO_BTC");
    assert!(expected > 0, "the capture holds NEO_BTC trades");
    let updates = recorded(FILE, "spot.order_book_update", "NEO_BTC");
    let rs = bridge(
        FILE,
        "gateio",
        r#"["trade", "book", "ticker"]"#,
        ("NEO-BTC", "NEO_BTC", "spot"),
        |rs| {
            kind(rs, "trade").len() >= expected
                && kind(rs, "book").len() > updates / 2
                && !kind(rs, "ticker").is_empty()
        },
    );
    let trades = kind(&rs, "trade");
    assert_eq!(trades.len(), expected, "one record per recorded trade");
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    assert_chained(&kind(&rs, "book"));
}

#[test]
fn a_recorded_gate_futures_session_is_bridged_to_schema_valid_records() {
    const FILE: &str = "cryptofeed/gateio_futures.jsonl.gz";
    let expected = recorded(FILE, "futures.book_ticker", "WOO_USDT");
    assert!(expected > 0, "the capture holds WOO_USDT book tickers");
    let rs = bridge(
        FILE,
        "gateio-futures",
        r#"["bbo", "book"]"#,
        ("WOO-USDT-PERP", "WOO_USDT", "perp"),
        |rs| {
            kind(rs, "bbo").len() >= expected
                && kind(rs, "book").iter().any(|b| b["snapshot"] == true)
        },
    );
    assert_eq!(
        kind(&rs, "bbo").len(),
        expected,
        "one record per book ticker"
    );
    assert_chained(&kind(&rs, "book"));
}

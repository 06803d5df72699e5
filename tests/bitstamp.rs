//! The `bitstamp` connector through the real binary: `tickbridge replay` serves the
//! recorded Bitstamp session (`cryptofeed/bitstamp`: `diff_order_book` and
//! `live_trades` of ten pairs, the trading-pairs list and the REST book snapshots;
//! its recorded `bts:subscription_succeeded` answers are played back) and `tickbridge
//! run` bridges ETH-USD from it: every recorded ETH-USD trade arrives as one
//! schema-valid `trade` record, and the book is synced from the recorded snapshot.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/bitstamp.jsonl.gz";

/// The trade frames of `channel` in the capture.
fn recorded_trades(channel: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["event"] == "trade" && f["channel"] == channel)
        .count()
}

#[test]
fn a_recorded_bitstamp_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("live_trades_ethusd");
    assert!(expected > 0, "the capture holds ETH-USD trades");
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"bitstamp\"\nchannels = [\"trade\", \"book\"]\nsymbols = [\"ETH-USD\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
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
    };
    let kind = |rs: &[Value], k: &str| -> Vec<Value> {
        rs.iter()
            .filter(|r| r["exchange"] == "bitstamp" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(30),
        "every ETH-USD trade and the book snapshot",
        || {
            let rs = records();
            kind(&rs, "trade").len() >= expected
                && kind(&rs, "book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);

    let rs = records();
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == "bitstamp") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("spot"), Some("ETH-USD"), Some("ethusd")),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(trades.len(), expected, "one record per recorded trade");
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    // The book: the snapshot first, then changes chained to it; no gap.
    let books = kind(&rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    for pair in books.windows(2) {
        if pair[1]["snapshot"] == false {
            assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
        }
    }
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

//! The `bitmex` connector through the real binary: `tickbridge replay` serves the
//! recorded BitMEX session (`cryptofeed/bitmex`: `orderBookL2`, `quote` and `trade` of
//! ten contracts on the older host `www.bitmex.com/realtime`, the active-instrument
//! list; its recorded `success` answers are played back) and `tickbridge run` bridges
//! BTC-USD-PERP (`XBTUSD`) from it: every recorded XBTUSD trade row arrives as one
//! schema-valid `trade` record, the trade `partial` (earlier trades) is not
//! republished, and the book starts from the recorded `partial` and stays chained
//! without a gap.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/bitmex.jsonl.gz";

/// The rows of `symbol` in the capture's `trade` `insert` frames.
fn recorded_trades(symbol: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["table"] == "trade" && f["action"] == "insert")
        .flat_map(|f| f["data"].as_array().cloned().unwrap_or_default())
        .filter(|row| row["symbol"] == symbol)
        .count()
}

#[test]
fn a_recorded_bitmex_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("XBTUSD");
    assert!(expected > 0, "the capture holds XBTUSD trades");
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"bitmex\"\nmarket = \"perp\"\nchannels = [\"trade\", \"book\"]\nsymbols = [\"BTC-USD-PERP\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "bitmex" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(30),
        "every XBTUSD trade and the book partial",
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
    for r in rs.iter().filter(|r| r["exchange"] == "bitmex") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("perp"), Some("BTC-USD-PERP"), Some("XBTUSD")),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(trades.len(), expected, "one record per recorded trade row");
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    // The book: the partial first, then changes; no sequence, so no chain numbers.
    let books = kind(&rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(
        books.len() > 100,
        "the recorded XBTUSD changes: {}",
        books.len()
    );
    assert!(books
        .iter()
        .all(|b| b["seq"].is_null() && b["prev_seq"].is_null()));
    let mut book_ids: Vec<&str> = books.iter().map(|b| b["id"].as_str().unwrap()).collect();
    book_ids.sort_unstable();
    book_ids.dedup();
    assert_eq!(book_ids.len(), books.len(), "book ids are distinct");
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

//! The `kraken-futures` connector through the real binary: `tickbridge replay` serves
//! the recorded Kraken Futures session (`cryptofeed/kraken_futures`: `book`, `trade`
//! and `ticker_lite` of ten inverse contracts, the instrument list; its recorded
//! `subscribed` answers are played back) and `tickbridge run` bridges the inverse
//! ETH perpetual `PI_ETHUSD` (`ETH-USD-PERP-INV`) from it: every recorded trade of it
//! arrives as one schema-valid `trade` record (the `trade_snapshot` of earlier trades
//! is not republished), and the book starts from the recorded `book_snapshot` and
//! stays chained by `seq` without a gap.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/kraken_futures.jsonl.gz";

/// The `trade` frames of `product` in the capture.
fn recorded_trades(product: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["feed"] == "trade" && f["product_id"] == product)
        .count()
}

#[test]
fn a_recorded_kraken_futures_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("PI_ETHUSD");
    assert!(expected > 0, "the capture holds PI_ETHUSD trades");
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"kraken-futures\"\nmarket = \"perp\"\nchannels = [\"trade\", \"book\"]\nsymbols = [\"ETH-USD-PERP-INV\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "kraken-futures" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(30),
        "every PI_ETHUSD trade and the book snapshot",
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
    for r in rs.iter().filter(|r| r["exchange"] == "kraken-futures") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("perp"), Some("ETH-USD-PERP-INV"), Some("PI_ETHUSD")),
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
    // The book: the snapshot first, then changes chained to it by `seq`; no gap.
    let books = kind(&rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(
        books.len() > 100,
        "the recorded PI_ETHUSD changes: {}",
        books.len()
    );
    for pair in books.windows(2) {
        if pair[1]["snapshot"] == false {
            assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
            assert_eq!(
                pair[1]["seq"].as_u64(),
                pair[0]["seq"].as_u64().map(|s| s + 1),
                "{}",
                pair[1]
            );
        }
    }
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

//! The `upbit` connector through the real binary: `tickbridge replay` serves the
//! recorded Upbit session (`cryptofeed/upbit`: `trade` and `orderbook` of ten pairs in
//! the `SIMPLE` format, and the `market/all` pair list; Upbit sends no
//! acknowledgements, so the first data confirms the request) and `tickbridge run`
//! bridges LAMB-KRW (native `KRW-LAMB`, quote first) from it: every recorded KRW-LAMB
//! trade arrives as one schema-valid `trade` record, every recorded orderbook as a
//! `book` snapshot and a `bbo`, with no gap.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/upbit.jsonl.gz";

/// The recorded frames of `kind` (`trade`, `orderbook`) for the market code `code`.
fn recorded(kind: &str, code: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["ty"] == kind && f["cd"] == code)
        .count()
}

#[test]
fn a_recorded_upbit_session_is_bridged_to_schema_valid_records() {
    let trades_expected = recorded("trade", "KRW-LAMB");
    let books_expected = recorded("orderbook", "KRW-LAMB");
    assert!(
        trades_expected > 0 && books_expected > 0,
        "the capture holds KRW-LAMB"
    );
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"upbit\"\nchannels = [\"trade\", \"book\", \"bbo\"]\nsymbols = [\"LAMB-KRW\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "upbit" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(30),
        "every KRW-LAMB trade and orderbook",
        || {
            let rs = records();
            kind(&rs, "trade").len() >= trades_expected && kind(&rs, "book").len() >= books_expected
        },
    );
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);

    let rs = records();
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == "upbit") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("spot"), Some("LAMB-KRW"), Some("KRW-LAMB")),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(
        trades.len(),
        trades_expected,
        "one record per recorded trade"
    );
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), trades_expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    // Every orderbook message is a whole book: a snapshot each, and its top the bbo.
    let books = kind(&rs, "book");
    assert_eq!(
        books.len(),
        books_expected,
        "one snapshot per recorded orderbook"
    );
    assert!(books.iter().all(|b| b["snapshot"] == true));
    assert!(books
        .iter()
        .all(|b| b["bids"].as_array().is_some_and(|l| l.len() == 15)));
    assert_eq!(kind(&rs, "bbo").len(), books_expected);
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && (r["event"] == "gap" || r["event"] == "rejected")),
        "no gap, and the subscription was confirmed"
    );
}

//! The `gemini` connector through the real binary: `tickbridge replay` serves the
//! recorded Gemini session (`cryptofeed/gemini`: market data v2 `l2` of ten symbols,
//! the initial `l2_updates` of each, later changes, `trade` frames and heartbeats) and
//! `tickbridge run` bridges FIL-USD from it: every recorded FIL-USD `trade` frame
//! arrives as one schema-valid `trade` record (the history trades of the initial
//! `l2_updates` are not published), the book starts with the initial snapshot and
//! never gaps, and the bbo is derived from it.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/gemini.jsonl.gz";

/// The `trade` frames of `symbol` in the capture.
fn recorded_trades(symbol: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["type"] == "trade" && f["symbol"] == symbol)
        .count()
}

#[test]
fn a_recorded_gemini_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("FILUSD");
    assert!(expected > 0, "the capture holds FIL-USD trades");
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"gemini\"\nchannels = [\"trade\", \"book\", \"bbo\"]\nsymbols = [\"FIL-USD\"]\nws_url = \"{ws}/v2/marketdata\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "gemini" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(60),
        "every FIL-USD trade and the book snapshot",
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
    for r in rs.iter().filter(|r| r["exchange"] == "gemini") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("spot"), Some("FIL-USD"), Some("FILUSD")),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(
        trades.len(),
        expected,
        "one record per recorded trade frame"
    );
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    let books = kind(&rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(books.len() > 1, "changes follow the snapshot");
    assert!(!kind(&rs, "bbo").is_empty(), "a bbo derived from the book");
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

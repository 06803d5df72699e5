//! The `deribit` connector through the real binary: `tickbridge replay` serves the
//! recorded Deribit session (`cryptofeed/deribit`: the `book`, `ticker` and `trades`
//! channels of ten options; its recorded `public/subscribe` answer is played back) and
//! `tickbridge run` bridges the put BTC-24SEP21-8000-P (`BTC-USD-210924-8000-P`) from
//! it: every recorded notification of that option arrives as schema-valid records —
//! one `book` per book notification (the snapshot, then changes chained by
//! `change_id`), one `ticker`, `open_interest` and `mark_price` per ticker
//! notification, one `trade` per recorded trade (the recording holds none) — and
//! nothing of the nine other options.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/deribit.jsonl.gz";
const NATIVE: &str = "BTC-24SEP21-8000-P";
const SYMBOL: &str = "BTC-USD-210924-8000-P";

/// The recorded notifications of `kind` (`book`, `ticker`, `trades`) for `NATIVE`,
/// counted as records: one per notification, one per trade of a `trades` one.
fn recorded(kind: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["method"] == "subscription")
        .filter(|f| {
            let channel = f["params"]["channel"].as_str().unwrap_or("");
            channel.starts_with(&format!("{kind}.{NATIVE}."))
        })
        .map(|f| match f["params"]["data"].as_array() {
            Some(trades) => trades.len(),
            None => 1,
        })
        .sum()
}

#[test]
fn a_recorded_deribit_session_is_bridged_to_schema_valid_records() {
    let books = recorded("book");
    let tickers = recorded("ticker");
    let trades = recorded("trades");
    assert!(
        books > 1 && tickers > 0,
        "the capture holds the option's book and ticker"
    );
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"deribit\"\nmarket = \"option\"\n\
         channels = [\"trade\", \"book\", \"ticker\", \"open_interest\", \"mark_price\"]\n\
         symbols = [\"{SYMBOL}\"]\nws_url = \"{ws}/ws/api/v2\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "deribit" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(30),
        "every book and ticker notification of the option",
        || {
            let rs = records();
            kind(&rs, "book").len() >= books && kind(&rs, "mark_price").len() >= tickers
        },
    );
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);

    let rs = records();
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == "deribit") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("option"), Some(SYMBOL), Some(NATIVE)),
            "{r}"
        );
    }
    assert_eq!(
        kind(&rs, "trade").len(),
        trades,
        "one record per recorded trade"
    );
    for k in ["ticker", "open_interest", "mark_price"] {
        assert_eq!(kind(&rs, k).len(), tickers, "one {k} per recorded ticker");
    }
    // The book: the snapshot first, then every change chained to it; no gap.
    let book = kind(&rs, "book");
    assert_eq!(
        book.len(),
        books,
        "one record per recorded book notification"
    );
    assert_eq!(book[0]["snapshot"], true, "{}", book[0]);
    for pair in book.windows(2) {
        assert_eq!(pair[1]["snapshot"], false, "{}", pair[1]);
        assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
    }
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

//! The `kucoin` connector through the real binary: `tickbridge replay` serves the
//! recorded KuCoin session (`cryptofeed/kucoin`: `/market/match`, `/market/ticker`
//! and `/market/level2` of ten symbols, the symbol list and the REST book snapshots),
//! answers the bridge's `POST /api/v1/bullet-public` with a token naming its own
//! WebSocket URL, acks each subscribe by id and answers the app-level pings; `tickbridge
//! run` bridges DAPPT-BTC from it: every recorded DAPPT-BTC match arrives as one
//! schema-valid `trade` record, bbo records flow, and the book is synced from the
//! recorded snapshot by sequence without a gap.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/kucoin.jsonl.gz";

/// The recorded frames of `topic`.
fn recorded(topic: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["type"] == "message" && f["topic"] == topic)
        .count()
}

#[test]
fn a_recorded_kucoin_session_is_bridged_to_schema_valid_records() {
    let expected = recorded("/market/match:DAPPT-BTC");
    assert!(expected > 0, "the capture holds DAPPT-BTC matches");
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"kucoin\"\nchannels = [\"trade\", \"bbo\", \"book\"]\nsymbols = [\"DAPPT-BTC\"]\nws_url = \"{ws}\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "kucoin" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(30),
        "every DAPPT-BTC trade, bbo records, the book snapshot and the subscription",
        || {
            let rs = records();
            kind(&rs, "trade").len() >= expected
                && kind(&rs, "status")
                    .iter()
                    .any(|s| s["event"] == "subscribed")
                && !kind(&rs, "bbo").is_empty()
                && kind(&rs, "book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);

    let rs = records();
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == "kucoin") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("spot"), Some("DAPPT-BTC"), Some("DAPPT-BTC")),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(trades.len(), expected, "one record per recorded match");
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    // Every subscribe was acknowledged: subscribed, never rejected.
    let status = kind(&rs, "status");
    assert!(
        status.iter().any(|s| s["event"] == "subscribed"),
        "{status:?}"
    );
    assert!(
        !status.iter().any(|s| s["event"] == "rejected"),
        "{status:?}"
    );
    // The book: the snapshot first, then changes chained to it by sequence; no gap.
    let books = kind(&rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(books.len() > 1, "changes follow the snapshot");
    for pair in books.windows(2) {
        if pair[1]["snapshot"] == false {
            assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
        }
    }
    assert!(
        !status.iter().any(|s| s["event"] == "gap"),
        "no gap: {status:?}"
    );
}

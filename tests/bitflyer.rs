//! The `bitflyer` connector through the real binary: `tickbridge replay` serves the
//! recorded bitFlyer session (`cryptofeed/bitflyer`: JSON-RPC `channelMessage`s of
//! executions, tickers, board snapshots and board diffs of ten products, and the
//! market lists; the replay answers each JSON-RPC `subscribe` by id, as the exchange
//! documents) and `tickbridge run` bridges ETH-JPY from it: every recorded ETH_JPY
//! execution arrives as one schema-valid `trade` record, tickers as `ticker` and `bbo`,
//! and the book starts with a board snapshot and never gaps (the recording's one real
//! break is FX_BTC_JPY's, not bridged here).

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

const CAPTURE: &str = "cryptofeed/bitflyer.jsonl.gz";

/// The executions (with a taker side) recorded on `channel`.
fn recorded_executions(channel: &str) -> usize {
    let file = std::fs::File::open(capture(CAPTURE)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| f["params"]["channel"] == channel)
        .map(|f| {
            f["params"]["message"]
                .as_array()
                .map_or(0, |a| a.iter().filter(|x| x["side"] != "").count())
        })
        .sum()
}

#[test]
fn a_recorded_bitflyer_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_executions("lightning_executions_ETH_JPY");
    assert!(expected > 0, "the capture holds ETH_JPY executions");
    let replay = Replay::start(&capture(CAPTURE), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"bitflyer\"\nchannels = [\"trade\", \"book\", \"bbo\", \"ticker\"]\nsymbols = [\"ETH-JPY\"]\nws_url = \"{ws}/json-rpc\"\nrest_url = \"{rest}\"\n\n\
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
            .filter(|r| r["exchange"] == "bitflyer" && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(60),
        "every ETH-JPY trade and a board snapshot",
        || {
            let rs = records();
            kind(&rs, "trade").len() >= expected
                && kind(&rs, "book").iter().any(|b| b["snapshot"] == true)
                && !kind(&rs, "ticker").is_empty()
        },
    );
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);

    let rs = records();
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == "bitflyer") {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some("spot"), Some("ETH-JPY"), Some("ETH_JPY")),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(trades.len(), expected, "one record per recorded execution");
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    assert!(!kind(&rs, "bbo").is_empty(), "bbo from the ticker");
    let books = kind(&rs, "book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(books.len() > 1, "diffs follow the snapshot");
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && (r["event"] == "gap" || r["event"] == "rejected")),
        "no gap, every subscription confirmed"
    );
}

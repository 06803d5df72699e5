//! The `htx` and `htx-swap` connectors through the real binary: `tickbridge replay`
//! serves the recorded HTX sessions (`cryptofeed/huobi`: spot `depth.step0` and
//! `trade.detail` of ten pairs on `/ws`; `cryptofeed/huobi_swap`: the same topics of
//! USDT-margined contracts on `/linear-swap-ws` and coin-margined ones on `/swap-ws`;
//! every server frame gzip-compressed and binary, the recorded `subbed` answers and
//! server pings played back) and `tickbridge run` bridges one symbol from each: every
//! trade *entry* of the symbol's recorded `trade.detail` pushes (a push carries several)
//! arrives as one schema-valid `trade` record, and the whole-book pushes arrive as
//! book snapshots, without a gap.

mod common;

use std::io::Read;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use base64::Engine as _;
use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;

/// The decoded received frames of a capture (binary ones inflated).
fn frames(rel: &str) -> Vec<Value> {
    let file = std::fs::File::open(capture(rel)).unwrap();
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    lines
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .filter_map(|e| {
            let text = match (e["text"].as_str(), e["b64"].as_str()) {
                (Some(t), _) => t.to_string(),
                (None, Some(b)) => {
                    let raw = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
                    let mut text = String::new();
                    flate2::read::GzDecoder::new(&raw[..])
                        .read_to_string(&mut text)
                        .ok()?;
                    text
                }
                _ => return None,
            };
            serde_json::from_str::<Value>(&text).ok()
        })
        .collect()
}

/// (trade pushes, trade entries) of `ch` in the capture.
fn recorded_trades(rel: &str, ch: &str) -> (usize, usize) {
    let pushes: Vec<Value> = frames(rel).into_iter().filter(|f| f["ch"] == ch).collect();
    let entries = pushes
        .iter()
        .map(|f| f["tick"]["data"].as_array().map_or(0, Vec::len))
        .sum();
    (pushes.len(), entries)
}

/// Bridges `symbol` of `exchange` from `rel` served on `path`, and checks the records.
fn bridge_one(rel: &str, exchange: &str, path: &str, symbol: (&str, &str, &str), ch: &str) {
    let (pushes, expected) = recorded_trades(rel, ch);
    assert!(
        expected > pushes && pushes > 0,
        "{rel}: {ch} has pushes of several trades ({pushes} pushes, {expected} trades)"
    );
    let replay = Replay::start(&capture(rel), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let config = format!(
        "[[source]]\nexchange = \"{exchange}\"\nchannels = [\"trade\", \"book\"]\nsymbols = [\"{sym}\"]\nws_url = \"{ws}{path}\"\nrest_url = \"{rest}\"\n\n\
         [sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
        out.display(),
        sym = symbol.0,
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
            .filter(|r| r["exchange"] == exchange && r["kind"] == k)
            .cloned()
            .collect()
    };
    wait_until(
        Duration::from_secs(60),
        "every recorded trade of the symbol and book snapshots",
        || {
            let rs = records();
            kind(&rs, "trade").len() >= expected && !kind(&rs, "book").is_empty()
        },
    );
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);

    let rs = records();
    let schemas = SchemaValidator::new();
    for r in rs.iter().filter(|r| r["exchange"] == exchange) {
        schemas.check(r);
        assert_eq!(
            (
                r["market"].as_str(),
                r["symbol"].as_str(),
                r["native"].as_str()
            ),
            (Some(symbol.2), Some(symbol.0), Some(symbol.1)),
            "{r}"
        );
    }
    let trades = kind(&rs, "trade");
    assert_eq!(
        trades.len(),
        expected,
        "one record per recorded trade entry"
    );
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
    let books = kind(&rs, "book");
    assert!(books.iter().all(|b| b["snapshot"] == true), "whole books");
    assert!(
        !rs.iter()
            .any(|r| r["kind"] == "status" && r["event"] == "gap"),
        "no gap"
    );
}

#[test]
fn a_recorded_htx_spot_session_is_bridged_to_schema_valid_records() {
    bridge_one(
        "cryptofeed/huobi.jsonl.gz",
        "htx",
        "/ws",
        ("FIL3S-USDT", "fil3susdt", "spot"),
        "market.fil3susdt.trade.detail",
    );
}

#[test]
fn a_recorded_htx_swap_session_is_bridged_to_schema_valid_records() {
    bridge_one(
        "cryptofeed/huobi_swap.jsonl.gz",
        "htx-swap",
        "/linear-swap-ws",
        ("SNX-USDT-PERP", "SNX-USDT", "perp"),
        "market.SNX-USDT.trade.detail",
    );
}

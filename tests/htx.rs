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
use std::time::Duration;

use base64::Engine as _;
use common::capture;
use common::venue::{assert_trades, recv_events, Source, VenueRun};
use serde_json::Value;

/// The decoded received frames of a capture (binary ones inflated).
fn frames(rel: &str) -> Vec<Value> {
    recv_events(&capture(rel))
        .into_iter()
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
    let run = VenueRun::start(
        &capture(rel),
        Source {
            exchange,
            channels: &["trade", "book"],
            symbols: &[symbol.0],
            ws_path: path,
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(60),
        "every recorded trade of the symbol and book snapshots",
        |rs| rs.kind("trade").len() >= expected && !rs.kind("book").is_empty(),
    );
    let (rs, _) = run.stop();

    rs.check(symbol.2, symbol.0, symbol.1);
    assert_trades(
        &rs.kind("trade"),
        expected,
        "one record per recorded trade entry",
    );
    let books = rs.kind("book");
    assert!(books.iter().all(|b| b["snapshot"] == true), "whole books");
    rs.assert_no_gap();
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

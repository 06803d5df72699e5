//! The `dydx` connector through the real binary: `tickbridge replay` serves
//! `tests/captures/dydx.jsonl` — a session written from the dYdX v4 indexer's
//! documented frames (the corpus holds no dYdX recording): the `perpetualMarkets`
//! list, `connected` at connect (the replay's dYdX greeting), the `subscribed` answers
//! of `v4_trades`, `v4_orderbook` (the book snapshot) and `v4_markets` (every
//! market), then trades, book changes and oracle/funding updates — and `tickbridge
//! run` bridges BTC-USDC-PERP (native `BTC-USD`) from it: every documented record
//! arrives, schema-valid, with the book chained by `message_id` and no gap. A second
//! capture (`dydx_gap.jsonl`) repeats one BTC-USD book `message_id`: BTC-USD alone
//! announces the gap and is resynced from a fresh snapshot; ETH-USD streams on.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use common::venue::{
    assert_chained, assert_chained_from_one_snapshot, assert_trades, Source, VenueRun,
};

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(name)
}

#[test]
fn a_documented_dydx_session_is_bridged_to_schema_valid_records() {
    let run = VenueRun::start(
        &capture("dydx.jsonl"),
        Source {
            exchange: "dydx",
            channels: &[
                "trade",
                "book",
                "bbo",
                "funding",
                "open_interest",
                "mark_price",
                "liquidation",
            ],
            symbols: &["BTC-USDC-PERP"],
            ws_path: "/v4/ws",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every documented BTC-USD record",
        |rs| {
            rs.kind("trade").len() >= 4
                && rs.kind("book").len() >= 6
                && rs.kind("mark_price").len() >= 3
                && rs.kind("funding").len() >= 2
        },
    );
    let (rs, _) = run.stop();

    rs.check("perp", "BTC-USDC-PERP", "BTC-USD");
    // The trades of the data frames (not the history in `subscribed`); the taker's side.
    let trades = rs.kind("trade");
    assert_trades(&trades, 4, "one record per documented trade");
    assert_eq!(
        trades[0]["trade_id"],
        "7c1e9a02-44b3-5d1f-8e6a-0b9c2d4f6a81"
    );
    assert_eq!(
        (&trades[0]["price"], &trades[0]["size"], &trades[0]["side"]),
        (
            &Value::from("91249"),
            &Value::from("0.0105"),
            &Value::from("buy")
        )
    );
    assert_eq!(trades[0]["ts_exchange"], 1_764_676_800_412_000_000i64);
    let liq = rs.kind("liquidation");
    assert_eq!(liq.len(), 1);
    assert_eq!(
        (&liq[0]["price"], &liq[0]["size"], &liq[0]["side"]),
        (
            &Value::from("91240"),
            &Value::from("1.5"),
            &Value::from("sell")
        )
    );
    // The book: the snapshot, then five changes chained by message_id.
    let book = rs.kind("book");
    assert_eq!(book.len(), 6);
    assert_chained_from_one_snapshot(&book);
    let seqs: Vec<i64> = book.iter().map(|b| b["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [2, 4, 6, 8, 11, 14]);
    assert_eq!(
        book[0]["bids"],
        serde_json::json!([["91248", "0.5231"], ["91247", "1.2"], ["91245", "2.75"]])
    );
    assert_eq!(
        book[3]["asks"],
        serde_json::json!([["91249", "0"]]),
        "a deletion as sent"
    );
    // Its top after every change (each one moved it).
    let bbo = rs.kind("bbo");
    assert_eq!(bbo.len(), 6);
    let last = bbo.last().unwrap();
    assert_eq!(
        (&last["bid_price"], &last["ask_price"], &last["ask_size"]),
        (
            &Value::from("91248"),
            &Value::from("91250"),
            &Value::from("0.2")
        )
    );
    // v4_markets: the snapshot's values, then the BTC-USD part of the updates.
    let marks: Vec<Value> = rs
        .kind("mark_price")
        .iter()
        .map(|m| m["mark_price"].clone())
        .collect();
    assert_eq!(marks, ["91250.47", "91251.02", "91249.88"]);
    let funding: Vec<Value> = rs
        .kind("funding")
        .iter()
        .map(|f| f["rate"].clone())
        .collect();
    assert_eq!(funding, ["0.0000045", "0.0000047"]);
    let oi: Vec<Value> = rs
        .kind("open_interest")
        .iter()
        .map(|f| f["open_interest"].clone())
        .collect();
    assert_eq!(oi, ["1203.4512", "1204.9512"]);
    rs.assert_no_status(
        &["gap", "rejected"],
        "no gap, and every subscription was confirmed",
    );
}

#[test]
fn a_broken_book_chain_resyncs_that_market_only() {
    let run = VenueRun::start(
        &capture("dydx_gap.jsonl"),
        Source {
            exchange: "dydx",
            channels: &["book"],
            symbols: &["BTC-USD", "ETH-USDC-PERP"],
            ws_path: "/v4/ws",
            ..Source::default()
        },
    );
    run.wait_until(Duration::from_secs(30), "both books to the end", |rs| {
        let books = rs.kind("book");
        let of = |n: &str| books.iter().filter(|b| b["native"] == n).count();
        of("BTC-USD") >= 5 && of("ETH-USD") >= 6
    });
    let (rs, _) = run.stop();

    let of = |kind: &str, native: &str| -> Vec<Value> {
        rs.kind(kind)
            .into_iter()
            .filter(|r| r["native"] == native)
            .collect()
    };
    // BTC-USD: snapshot, 3, 7; the repeated 7 is the gap; 10 skipped until the fresh
    // snapshot (13, after `status resynced`), then 14.
    let btc = of("book", "BTC-USD");
    let seqs: Vec<i64> = btc.iter().map(|b| b["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 3, 7, 13, 14]);
    assert_chained(&btc);
    assert_eq!(btc[3]["snapshot"], true);
    let status = of("status", "BTC-USD");
    let events: Vec<(&str, &Value, &Value)> = status
        .iter()
        .filter(|s| s["channel"] == "book")
        .map(|s| (s["event"].as_str().unwrap(), &s["expected"], &s["got"]))
        .collect();
    assert_eq!(
        events,
        [
            ("gap", &Value::from(8), &Value::from(7)),
            ("resynced", &Value::Null, &Value::from(13))
        ]
    );
    // ETH-USD: one unbroken chain, no status of its book.
    let eth = of("book", "ETH-USD");
    assert_eq!(eth.len(), 6);
    assert_chained_from_one_snapshot(&eth);
    assert!(of("status", "ETH-USD")
        .iter()
        .all(|s| s["channel"] != "book"));
    rs.assert_no_status(&["rejected"], "both subscriptions confirmed");
}

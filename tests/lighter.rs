//! The `lighter` connector through the real binary: `tickbridge replay` serves
//! `tests/captures/lighter.jsonl` (written from Lighter's documented frames: the
//! `orderBookDetails` list, `connected`, the `subscribed/trade` replay, the
//! `subscribed/order_book` snapshot and `subscribed/market_stats` that acknowledge the
//! three subscriptions, then chained book updates, trades with a liquidation, market
//! stats and a pong) and `tickbridge run` bridges BTC-USDC-PERP (market id `1`) from
//! it: every print is one `trade`, the liquidation one `liquidation`, the book a
//! snapshot and changes chained by nonce, every market-stats message one `ticker`,
//! `funding`, `open_interest` and `mark_price`; no gap, nothing refused.
//!
//! `tests/captures/lighter_gap.jsonl` breaks market 0's chain (a `begin_nonce` that is
//! not the previous `nonce`) next to a sound market 1: one `status gap` and one
//! `resynced` for ETH-USDC-PERP only, whose fresh snapshot (the first message after
//! the resubscription) restarts its chain, while BTC-USDC-PERP stays chained.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use common::venue::{assert_chained_from_one_snapshot, assert_trades, Source, VenueRun};
use common::SchemaValidator;

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(name)
}

#[test]
fn a_documented_lighter_session_is_bridged_to_schema_valid_records() {
    let run = VenueRun::start(
        &capture("lighter.jsonl"),
        Source {
            exchange: "lighter",
            channels: &[
                "trade",
                "book",
                "ticker",
                "funding",
                "open_interest",
                "mark_price",
                "liquidation",
            ],
            symbols: &["BTC-USDC-PERP"],
            ws_path: "/stream",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every trade, book and market-stats message of market 1",
        |rs| {
            rs.kind("trade").len() >= 5
                && rs.kind("book").len() >= 5
                && rs.kind("mark_price").len() >= 3
        },
    );
    let (rs, _) = run.stop();

    rs.check("perp", "BTC-USDC-PERP", "1");
    // The subscription's replay of earlier prints is not republished.
    let trades = rs.kind("trade");
    assert_trades(
        &trades,
        5,
        "one record per print of the update/trade frames",
    );
    let sides: Vec<(&str, &str, &str)> = trades
        .iter()
        .map(|t| {
            (
                t["trade_id"].as_str().unwrap(),
                t["price"].as_str().unwrap(),
                t["side"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sides,
        [
            ("16164557907", "88001", "buy"),
            ("16164557911", "88000.5", "sell"),
            ("16164557912", "88000.2", "sell"),
            ("16164557930", "88002", "buy"),
            ("16164557931", "88000.2", "sell"),
        ],
        "the taker side from is_maker_ask"
    );
    assert_eq!(trades[0]["ts_exchange"], 1_766_434_222_152_000_000i64);
    let liq = rs.kind("liquidation");
    assert_eq!(liq.len(), 1);
    assert_eq!(
        (
            liq[0]["price"].as_str(),
            liq[0]["size"].as_str(),
            liq[0]["side"].as_str()
        ),
        (Some("88000.2"), Some("0.2"), Some("sell"))
    );
    // The book: the snapshot, then four changes chained by nonce.
    let book = rs.kind("book");
    assert_eq!(book.len(), 5, "the snapshot and four updates");
    assert_chained_from_one_snapshot(&book);
    let seqs: Vec<u64> = book.iter().map(|b| b["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [7000, 7042, 7090, 7131, 7175]);
    assert_eq!(
        book[0]["bids"],
        serde_json::json!([["88000.5", "0.25"], ["88000", "0.8"], ["87998.5", "3.1"]])
    );
    assert_eq!(
        book[2]["bids"],
        serde_json::json!([["88000.5", "0"], ["88000.2", "0.4"]])
    );
    // Market stats: the subscription's first message and two updates.
    for k in ["ticker", "funding", "open_interest", "mark_price"] {
        assert_eq!(rs.kind(k).len(), 3, "one {k} per market-stats message");
    }
    let marks: Vec<(String, String)> = rs
        .kind("mark_price")
        .iter()
        .map(|m| {
            (
                m["mark_price"].as_str().unwrap().to_string(),
                m["index_price"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let marks: Vec<(&str, &str)> = marks
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        marks,
        [
            ("88000.4", "87999.8"),
            ("88000.3", "87999.9"),
            ("88000.6", "88000.1")
        ]
    );
    let funding = &rs.kind("funding")[1];
    assert_eq!(
        (funding["rate"].as_str(), funding["predicted_rate"].as_str()),
        (Some("0.00001"), Some("0.000013"))
    );
    assert_eq!(rs.kind("open_interest")[2]["open_interest"], "3150.59172");
    let ticker = &rs.kind("ticker")[0];
    assert_eq!(
        (ticker["last"].as_str(), ticker["high_24h"].as_str()),
        (Some("88000.5"), Some("88990"))
    );
    rs.assert_no_status(
        &["gap", "rejected"],
        "no gap, and every subscription was confirmed",
    );
}

#[test]
fn a_broken_nonce_chain_is_a_gap_and_a_resync_of_that_market_only() {
    let run = VenueRun::start(
        &capture("lighter_gap.jsonl"),
        Source {
            exchange: "lighter",
            channels: &["book"],
            symbols: &["ETH-USDC-PERP", "1"],
            ws_path: "/stream",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "both books to their last update",
        |rs| {
            let seqs: Vec<u64> = rs
                .kind("book")
                .iter()
                .filter_map(|b| b["seq"].as_u64())
                .collect();
            seqs.contains(&320) && seqs.contains(&7131)
        },
    );
    let (rs, _) = run.stop();

    let schemas = SchemaValidator::new();
    for r in rs.venue() {
        schemas.check(r);
    }
    let of = |symbol: &str| -> Vec<Value> {
        rs.venue()
            .filter(|r| r["symbol"] == symbol)
            .filter(|r| {
                r["kind"] == "book"
                    || (r["kind"] == "status"
                        && ["gap", "resynced"].contains(&r["event"].as_str().unwrap_or("")))
            })
            .cloned()
            .collect()
    };
    let gaps: Vec<&Value> = rs
        .all
        .iter()
        .filter(|r| r["kind"] == "status" && r["event"] == "gap")
        .collect();
    assert_eq!(gaps.len(), 1, "exactly one gap: {gaps:?}");
    assert_eq!(gaps[0]["symbol"], "ETH-USDC-PERP");
    assert_eq!(gaps[0]["native"], "0");
    assert_eq!(gaps[0]["channel"], "book");
    assert_eq!(
        (gaps[0]["expected"].as_u64(), gaps[0]["got"].as_u64()),
        (Some(120), Some(150))
    );

    // ETH: snapshot, update, gap, resynced, the fresh snapshot, its update.
    let eth = of("ETH-USDC-PERP");
    let shape: Vec<String> = eth
        .iter()
        .map(|r| match r["kind"].as_str() {
            Some("book") => format!("book {}", r["seq"]),
            _ => r["event"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(
        shape,
        ["book 100", "book 120", "gap", "resynced", "book 300", "book 320"]
    );
    assert_eq!(eth[4]["snapshot"], true);
    assert_eq!(eth[4]["prev_seq"], Value::Null);
    assert_eq!(eth[5]["prev_seq"], 300);

    // BTC: untouched, one chain from its snapshot.
    let btc = of("BTC-USDC-PERP");
    assert_chained_from_one_snapshot(&btc);
    let seqs: Vec<u64> = btc.iter().map(|b| b["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [7000, 7042, 7090, 7131]);
    rs.assert_no_status(&["rejected"], "every subscription was confirmed");
}

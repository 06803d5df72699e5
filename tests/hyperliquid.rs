//! The `hyperliquid` connector through the real binary. No recording of Hyperliquid
//! exists, so the captures in `tests/captures/` are written from the documented frames
//! (Hyperliquid API docs: Websocket, Subscriptions, Info endpoint; consulted
//! 2026-12-02): `tickbridge replay` serves their `info` responses (POSTs answered by
//! their JSON body: `{"type":"meta"}` is the recorded `.../info?type=meta`) and their
//! WebSocket session (acknowledgements played back as recorded), and `tickbridge run`
//! bridges them.
//!
//! - `hyperliquid.jsonl`: the first dex's `BTC` and the builder dex perp `xyz:XYZ100`
//!   (its list fetched as a follow-up of `perpDexs`) with trades, l2Book, bbo and
//!   activeAssetCtx; a trade of `ETH`, which the bridge did not subscribe to; the
//!   spot pair HYPE/USDC (wire coin `@107`), bridged by a spot source as `HYPE-USDC`.
//! - `hyperliquid_gap.jsonl`: BTC's and ETH's l2Books, one BTC book older than the one
//!   before: a gap of BTC, resynced by its next book, and ETH untouched.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::venue::{assert_trades, Source, VenueRun};
use common::SchemaValidator;
use serde_json::Value;

fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(name)
}

/// The recorded WebSocket frames of a plain JSONL capture, parsed.
fn recorded(name: &str) -> Vec<Value> {
    std::fs::read_to_string(capture(name))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["ev"] == "recv")
        .map(|e| serde_json::from_str(e["text"].as_str().unwrap()).unwrap())
        .collect()
}

/// How many recorded messages (trades: trades) of `channel` name `coin`.
fn count(frames: &[Value], channel: &str, coin: &str) -> usize {
    frames
        .iter()
        .filter(|f| f["channel"] == channel)
        .map(|f| match f["data"].as_array() {
            Some(items) => items.iter().filter(|t| t["coin"] == coin).count(),
            None => usize::from(f["data"]["coin"] == coin),
        })
        .sum()
}

fn of<'a>(records: &'a [Value], symbol: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["symbol"] == symbol).collect()
}

#[test]
fn a_documented_hyperliquid_session_is_bridged_to_schema_valid_records() {
    let frames = recorded("hyperliquid.jsonl");
    let btc_trades = count(&frames, "trades", "BTC");
    let xyz_trades = count(&frames, "trades", "xyz:XYZ100");
    let btc_books = count(&frames, "l2Book", "BTC");
    let xyz_books = count(&frames, "l2Book", "xyz:XYZ100");
    let btc_bbos = count(&frames, "bbo", "BTC");
    let xyz_bbos = count(&frames, "bbo", "xyz:XYZ100");
    let btc_ctx = count(&frames, "activeAssetCtx", "BTC");
    let xyz_ctx = count(&frames, "activeAssetCtx", "xyz:XYZ100");
    assert_eq!(
        (btc_trades, xyz_trades, btc_books, xyz_books, btc_bbos, xyz_bbos, btc_ctx, xyz_ctx),
        (5, 2, 4, 2, 3, 1, 2, 1),
        "the capture as written"
    );
    assert_eq!(count(&frames, "trades", "ETH"), 1);
    let run = VenueRun::start(
        &capture("hyperliquid.jsonl"),
        Source {
            exchange: "hyperliquid",
            channels: &[
                "trade",
                "book",
                "bbo",
                "ticker",
                "funding",
                "open_interest",
                "mark_price",
            ],
            symbols: &["BTC-USDC-PERP", "xyz:XYZ100-USDC-PERP"],
            ws_path: "/ws",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every recorded book and trade",
        |rs| rs.kind("book").len() >= btc_books + xyz_books && rs.kind("trade").len() >= 7,
    );
    let (rs, _) = run.stop();

    let schemas = SchemaValidator::new();
    for r in rs.venue() {
        schemas.check(r);
        assert_eq!(r["market"], "perp", "{r}");
        let pair = (r["symbol"].as_str().unwrap(), r["native"].as_str().unwrap());
        assert!(
            pair == ("BTC-USDC-PERP", "BTC") || pair == ("xyz:XYZ100-USDC-PERP", "xyz:XYZ100"),
            "{r}"
        );
    }
    // Trades: one record per recorded trade of the two coins, none of ETH.
    let trades = rs.kind("trade");
    assert_trades(
        &trades,
        btc_trades + xyz_trades,
        "one record per recorded trade",
    );
    assert_eq!(of(&trades, "BTC-USDC-PERP").len(), btc_trades);
    let first = &trades[0];
    assert_eq!(
        (
            first["price"].as_str(),
            first["size"].as_str(),
            first["side"].as_str(),
            first["trade_id"].as_str(),
            first["ts_exchange"].as_i64()
        ),
        (
            Some("97433"),
            Some("0.0125"),
            Some("buy"),
            Some("781355823460512"),
            Some(1_764_633_600_160_000_000)
        )
    );
    let xyz = of(&trades, "xyz:XYZ100-USDC-PERP");
    assert_eq!(xyz.len(), xyz_trades);
    assert_eq!(
        (xyz[0]["side"].as_str(), xyz[1]["size"].as_str()),
        (Some("sell"), Some("0.04"))
    );
    // Books: every l2Book a snapshot, in order.
    let books = rs.kind("book");
    assert_eq!(books.len(), btc_books + xyz_books);
    assert!(books.iter().all(|b| b["snapshot"] == true));
    let btc = of(&books, "BTC-USDC-PERP");
    assert_eq!(btc.len(), btc_books);
    assert_eq!(btc[0]["bids"][2], serde_json::json!(["97430", "0.25"]));
    assert_eq!(btc[0]["asks"][0], serde_json::json!(["97433", "0.8"]));
    assert_eq!(btc[0]["seq"], 1_764_633_600_100u64);
    assert!(btc
        .windows(2)
        .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64()));
    // BBO from the bbo feed.
    let bbos = rs.kind("bbo");
    assert_eq!(bbos.len(), btc_bbos + xyz_bbos);
    assert_eq!(
        (bbos[1]["bid_size"].as_str(), bbos[1]["ask_price"].as_str()),
        (Some("0.7"), Some("97433"))
    );
    // The asset contexts: funding, open interest, mark (with the oracle as index) and
    // ticker, one each per context message.
    for (kind, per) in [
        ("funding", btc_ctx + xyz_ctx),
        ("open_interest", btc_ctx + xyz_ctx),
        ("mark_price", btc_ctx + xyz_ctx),
        ("ticker", btc_ctx + xyz_ctx),
    ] {
        assert_eq!(rs.kind(kind).len(), per, "{kind}");
    }
    let funding = rs.kind("funding");
    assert_eq!(funding[0]["rate"], "0.0000125");
    let xyz_funding = of(&funding, "xyz:XYZ100-USDC-PERP");
    assert_eq!(xyz_funding[0]["rate"], "-0.00000625");
    let mark = rs.kind("mark_price");
    assert_eq!(
        (
            mark[0]["mark_price"].as_str(),
            mark[0]["index_price"].as_str()
        ),
        (Some("97431"), Some("97440"))
    );
    assert_eq!(rs.kind("open_interest")[0]["open_interest"], "10432.57");
    assert_eq!(rs.kind("ticker")[0]["quote_volume_24h"], "1169046.29406");
    // The instruments, from the info lists (the builder dex's from its follow-up).
    let instruments = rs.kind("instrument");
    assert_eq!(instruments.len(), 2, "{instruments:?}");
    let xyz = of(&instruments, "xyz:XYZ100-USDC-PERP");
    assert_eq!(
        (
            xyz[0]["base"].as_str(),
            xyz[0]["settle"].as_str(),
            xyz[0]["lot_size"].as_str()
        ),
        (Some("XYZ100"), Some("USDC"), Some("0.0001"))
    );
    rs.assert_no_status(
        &["gap", "rejected", "stale"],
        "no gap, every subscription confirmed, no stalled book",
    );
}

#[test]
fn a_spot_pair_is_named_by_its_tokens_and_read_by_its_index_coin() {
    let frames = recorded("hyperliquid.jsonl");
    let (trades_expected, books_expected) = (
        count(&frames, "trades", "@107"),
        count(&frames, "l2Book", "@107"),
    );
    assert_eq!((trades_expected, books_expected), (2, 1));
    let run = VenueRun::start(
        &capture("hyperliquid.jsonl"),
        Source {
            exchange: "hyperliquid",
            market: Some("spot"),
            channels: &["trade", "book", "ticker", "mark_price"],
            symbols: &["HYPE-USDC"],
            ws_path: "/ws",
            ..Source::default()
        },
    );
    run.wait_until(Duration::from_secs(30), "the spot records", |rs| {
        rs.kind("trade").len() >= trades_expected && !rs.kind("mark_price").is_empty()
    });
    let (rs, _) = run.stop();
    // Every record of the pair as `HYPE-USDC`, native `@107`; nothing of the perps.
    rs.check("spot", "HYPE-USDC", "@107");
    let trades = rs.kind("trade");
    assert_trades(&trades, trades_expected, "one record per recorded trade");
    assert_eq!(
        (trades[1]["side"].as_str(), trades[1]["size"].as_str()),
        (Some("sell"), Some("10.25"))
    );
    assert_eq!(rs.kind("book").len(), books_expected);
    // The spot context: a mark price without index, and a ticker.
    let mark = rs.kind("mark_price");
    assert_eq!(
        (
            mark[0]["mark_price"].as_str(),
            mark[0]["index_price"].as_str()
        ),
        (Some("28.513"), None)
    );
    assert_eq!(rs.kind("ticker")[0]["volume_24h"], "312986.11");
    let instrument = rs.kind("instrument");
    assert_eq!(
        (
            instrument[0]["base"].as_str(),
            instrument[0]["quote"].as_str()
        ),
        (Some("HYPE"), Some("USDC"))
    );
    rs.assert_no_status(&["gap", "rejected"], "no gap, confirmed");
}

#[test]
fn a_book_out_of_time_order_is_a_gap_and_a_resync_of_that_coin_only() {
    let run = VenueRun::start(
        &capture("hyperliquid_gap.jsonl"),
        Source {
            exchange: "hyperliquid",
            channels: &["book"],
            symbols: &["BTC-USDC-PERP", "ETH-USDC-PERP"],
            ws_path: "/ws",
            // Pings every 100 ms: replay answers `{"method":"ping"}` with a pong.
            sections: "[connection]\nping_interval = \"100ms\"\npong_timeout = \"300ms\"\n",
            ..Source::default()
        },
    );
    run.wait_until(Duration::from_secs(30), "the books and the resync", |rs| {
        rs.kind("book").len() >= 7 && rs.any_status(&["resynced"])
    });
    // Many pings later the one connection is still there.
    std::thread::sleep(Duration::from_millis(1500));
    let (rs, _) = run.stop();
    for symbol in ["BTC-USDC-PERP", "ETH-USDC-PERP"] {
        let connection: Vec<String> = rs
            .kind("status")
            .iter()
            .filter(|s| s["symbol"] == symbol)
            .filter_map(|s| s["event"].as_str())
            .filter(|e| *e == "connected" || *e == "disconnected")
            .map(str::to_string)
            .collect();
        // Connected once; disconnected only by the shutdown.
        assert_eq!(
            connection[..connection.len().min(2)],
            ["connected".to_string(), "disconnected".to_string()][..connection.len().min(2)],
            "pongs keep the connection: {connection:?}"
        );
        assert!(connection.len() <= 2, "{symbol}: {connection:?}");
    }
    let schemas = SchemaValidator::new();
    rs.venue().for_each(|r| schemas.check(r));
    let status: Vec<(String, String)> = rs
        .kind("status")
        .iter()
        .filter(|s| s["event"] == "gap" || s["event"] == "resynced")
        .map(|s| {
            (
                s["symbol"].as_str().unwrap().to_string(),
                s["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("BTC-USDC-PERP".to_string(), "gap".to_string()),
            ("BTC-USDC-PERP".to_string(), "resynced".to_string())
        ]
    );
    let gap = rs
        .kind("status")
        .into_iter()
        .find(|s| s["event"] == "gap")
        .unwrap();
    assert_eq!(
        (
            gap["expected"].as_u64(),
            gap["got"].as_u64(),
            gap["channel"].as_str()
        ),
        (
            Some(1_764_633_600_600),
            Some(1_764_633_600_500),
            Some("book")
        )
    );
    let books = rs.kind("book");
    // BTC: the out-of-order book is not published; ETH: every book.
    assert_eq!(of(&books, "BTC-USDC-PERP").len(), 3);
    assert_eq!(of(&books, "ETH-USDC-PERP").len(), 4);
}

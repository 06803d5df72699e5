//! `aster` end to end: `tickbridge replay` serves a capture written from Aster's
//! documented frames (`tests/captures/aster.jsonl`: the `/fapi/v1/exchangeInfo` answer,
//! a `SUBSCRIBE` and its ack, `@aggTrade`, `@bookTicker`, `@depth@100ms` diffs with the
//! `/fapi/v1/depth` snapshots they are synced against, `@markPrice@1s`, `@forceOrder`
//! and `@ticker` of BTCUSDT and ETHUSDT), and `tickbridge run` bridges it with
//! `exchange = "aster"` and the replay as both `ws_url` and `rest_url`: the exact
//! records per kind, schema-valid, resolved against the served instrument list, the
//! books chained from their snapshots with no gap. A second capture
//! (`tests/captures/aster_gap.jsonl`) breaks BTCUSDT's `pu` chain once: `status gap`
//! and a resync of BTC-USDT-PERP only, ETH-USDT-PERP untouched. A third
//! (`tests/captures/aster_spot.jsonl`) is `aster-spot`: `/api/v1/exchangeInfo`,
//! `@trade`, `@bookTicker` (no time), spot-chained `@depth@100ms` diffs against
//! `/api/v1/depth`, `@ticker` of ASTERUSDT.
//!
//! Replay answers Aster's `SUBSCRIBE` requests as Binance's (`{"result":null,"id":n}`;
//! the recorded ack is the recording client's and is skipped).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use common::venue::{assert_chained_from_one_snapshot, Records, Source, VenueRun};
use common::SchemaValidator;

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(name)
}

/// Bridges `file` for BTC-USDT-PERP and ETH-USDT-PERP on `channels` until `done`.
fn bridge(file: &str, channels: &[&str], done: impl Fn(&Records) -> bool) -> Records {
    let symbols = ["BTC-USDT-PERP", "ETH-USDT-PERP"];
    bridge_venue(("aster", "perp"), file, channels, &symbols, done)
}

/// Bridges `file` with `exchange` (serving `market`) for `symbols` on `channels`
/// until `done`; every record is schema-valid and of that exchange and market.
fn bridge_venue(
    (exchange, market): (&str, &str),
    file: &str,
    channels: &[&str],
    symbols: &[&str],
    done: impl Fn(&Records) -> bool,
) -> Records {
    let cache = tempfile::tempdir().unwrap();
    let instruments = format!(
        "[instruments]\ncache_dir = \"{}\"\ntimeout = \"5s\"\n",
        cache.path().join("instruments").display()
    );
    let run = VenueRun::start(
        &capture(file),
        Source {
            exchange,
            channels,
            symbols,
            sections: &instruments,
            ..Source::default()
        },
    );
    run.wait_until(Duration::from_secs(30), "the captured frames", done);
    let (rs, _) = run.stop();
    let schemas = SchemaValidator::new();
    for r in &rs.all {
        schemas.check(r);
        assert_eq!(
            (r["exchange"].as_str(), r["market"].as_str()),
            (Some(exchange), Some(market)),
            "{r}"
        );
    }
    rs
}

fn of<'a>(records: &'a [Value], symbol: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["symbol"] == symbol).collect()
}

#[test]
fn an_aster_session_is_bridged_to_exact_records() {
    let rs = bridge(
        "aster.jsonl",
        &[
            "trade",
            "bbo",
            "book",
            "ticker",
            "mark_price",
            "funding",
            "liquidation",
        ],
        |rs| rs.kind("book").len() >= 9 && rs.kind("mark_price").len() >= 3,
    );
    rs.assert_no_gap();
    let count = |k: &str| rs.kind(k).len();
    assert_eq!(
        [
            "trade",
            "bbo",
            "book",
            "ticker",
            "mark_price",
            "funding",
            "liquidation",
            "instrument"
        ]
        .map(count),
        [6, 4, 9, 1, 3, 3, 1, 2],
        "records per kind"
    );

    // Trades: aggregate trades (Aster futures document no `@trade`), `m` = buyer maker.
    let trades = rs.kind("trade");
    let first = &trades[0];
    assert_eq!(
        (
            first["symbol"].as_str(),
            first["native"].as_str(),
            first["id"].as_str(),
            first["price"].as_str(),
            first["size"].as_str(),
            first["side"].as_str(),
            first["trade_id"].as_str(),
            first["ts_exchange"].as_i64(),
        ),
        (
            Some("BTC-USDT-PERP"),
            Some("BTCUSDT"),
            Some("aster.perp.BTC-USDT-PERP.trade.agg700001"),
            Some("91250.2"),
            Some("0.015"),
            Some("buy"),
            Some("agg700001"),
            Some(1_764_676_800_209_000_000),
        )
    );
    let sides: Vec<&str> = trades.iter().map(|t| t["side"].as_str().unwrap()).collect();
    assert_eq!(sides, ["buy", "sell", "sell", "sell", "buy", "buy"]);

    // Books: each symbol's REST snapshot, then its diffs chained on `pu`.
    let books = rs.kind("book");
    let btc = of(&books, "BTC-USDT-PERP");
    let eth = of(&books, "ETH-USDT-PERP");
    let owned = |v: Vec<&Value>| v.into_iter().cloned().collect::<Vec<_>>();
    assert_chained_from_one_snapshot(&owned(btc.clone()));
    assert_chained_from_one_snapshot(&owned(eth.clone()));
    let seqs = |v: &[&Value]| {
        v.iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(&btc), [1003, 1005, 1010, 1013, 1020]);
    assert_eq!(seqs(&eth), [2001, 2002, 2006, 2009]);
    assert_eq!(
        (&btc[0]["bids"], &btc[0]["asks"]),
        (
            &serde_json::json!([["91250.1", "1"], ["91250", "2.5"], ["91249.5", "0.35"]]),
            &serde_json::json!([["91250.2", "0.6"], ["91250.3", "1.75"]])
        )
    );
    assert_eq!(
        btc[1]["bids"],
        serde_json::json!([["91250.1", "1.2"], ["91249.5", "0.35"]])
    );

    let bbo = &rs.kind("bbo")[0];
    assert_eq!(
        (&bbo["seq"], &bbo["bid_price"], &bbo["ask_size"]),
        (&1006.into(), &"91250.1".into(), &"0.8".into())
    );
    let funding = &rs.kind("funding")[0];
    assert_eq!(
        (&funding["rate"], &funding["next_funding_ts"]),
        (&"0.0001".into(), &1_764_691_200_000_000_000u64.into())
    );
    let mark = &rs.kind("mark_price")[0];
    assert_eq!(
        (&mark["mark_price"], &mark["index_price"]),
        (&"91251.03421875".into(), &"91253.118".into())
    );
    let liq = &rs.kind("liquidation")[0];
    assert_eq!(
        (&liq["price"], &liq["size"], &liq["side"]),
        (&"91250.1".into(), &"0.05".into(), &"sell".into())
    );
    let ticker = &rs.kind("ticker")[0];
    assert_eq!(
        (
            &ticker["last"],
            &ticker["volume_24h"],
            &ticker["quote_volume_24h"]
        ),
        (
            &"91250.1".into(),
            &"18342.115".into(),
            &"1665706412.83".into()
        )
    );

    // The instruments came from the served `/fapi/v1/exchangeInfo`.
    let instruments = rs.kind("instrument");
    let btc_i = instruments
        .iter()
        .find(|r| r["native"] == "BTCUSDT")
        .expect("BTCUSDT listed");
    assert_eq!(
        (
            &btc_i["symbol"],
            &btc_i["base"],
            &btc_i["quote"],
            &btc_i["settle"],
            &btc_i["tick_size"],
            &btc_i["lot_size"],
            &btc_i["status"]
        ),
        (
            &"BTC-USDT-PERP".into(),
            &"BTC".into(),
            &"USDT".into(),
            &"USDT".into(),
            &"0.1".into(),
            &"0.001".into(),
            &"trading".into()
        )
    );
}

#[test]
fn a_broken_pu_chain_resyncs_that_market_only() {
    let rs = bridge("aster_gap.jsonl", &["trade", "book"], |rs| {
        rs.kind("book").len() >= 10
    });
    let status = rs.kind("status");
    let gaps: Vec<&Value> = status.iter().filter(|s| s["event"] == "gap").collect();
    assert_eq!(gaps.len(), 1, "{status:?}");
    assert_eq!(
        (
            gaps[0]["symbol"].as_str(),
            gaps[0]["channel"].as_str(),
            gaps[0]["expected"].as_u64(),
            gaps[0]["got"].as_u64()
        ),
        (Some("BTC-USDT-PERP"), Some("book"), Some(1010), Some(1009))
    );
    let book_status: Vec<&Value> = status.iter().filter(|s| s["channel"] == "book").collect();
    assert!(
        book_status.iter().all(|s| s["symbol"] == "BTC-USDT-PERP"),
        "ETH-USDT-PERP's book has no status: {book_status:?}"
    );

    // BTC: snapshot, chain, gap, resynced, a fresh snapshot, chain.
    let btc: Vec<&Value> = rs
        .all
        .iter()
        .filter(|r| r["symbol"] == "BTC-USDT-PERP")
        .filter(|r| r["kind"] == "book" || r["channel"] == "book")
        .collect();
    let line = |r: &&Value| match r["kind"].as_str() {
        Some("book") => format!(
            "{} {}",
            if r["snapshot"] == true {
                "snap"
            } else {
                "book"
            },
            r["seq"]
        ),
        _ => r["event"].as_str().unwrap().to_string(),
    };
    assert_eq!(
        btc.iter().map(line).collect::<Vec<_>>(),
        [
            "snap 1003",
            "book 1005",
            "book 1010",
            "gap",
            "resynced",
            "snap 1012",
            "book 1013",
            "book 1020"
        ]
    );
    // ETH: one snapshot and its whole chain.
    let eth: Vec<Value> = rs
        .kind("book")
        .into_iter()
        .filter(|r| r["symbol"] == "ETH-USDT-PERP")
        .collect();
    assert_chained_from_one_snapshot(&eth);
    assert_eq!(eth.len(), 4);
    assert_eq!(
        rs.kind("trade").len(),
        6,
        "trades flow on through the resync"
    );
}

#[test]
fn an_aster_spot_session_is_bridged_with_the_spot_chain() {
    let rs = bridge_venue(
        ("aster-spot", "spot"),
        "aster_spot.jsonl",
        &["trade", "bbo", "book", "ticker"],
        &["ASTER-USDT"],
        |rs| rs.kind("book").len() >= 4 && !rs.kind("ticker").is_empty(),
    );
    rs.assert_no_gap();
    rs.check("spot", "ASTER-USDT", "ASTERUSDT");
    let count = |k: &str| rs.kind(k).len();
    assert_eq!(
        ["trade", "bbo", "book", "ticker", "instrument"].map(count),
        [3, 2, 4, 1, 1],
        "records per kind"
    );
    let trades = rs.kind("trade");
    assert_eq!(
        trades
            .iter()
            .map(|t| (t["trade_id"].as_str().unwrap(), t["side"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("88001", "buy"), ("88002", "sell"), ("88003", "buy")]
    );
    assert_eq!(
        (&trades[0]["price"], &trades[0]["size"]),
        (&"1.0515".into(), &"150".into())
    );
    // `U` 500 <= lastUpdateId + 1 (505) <= `u` 505, then each `U` = previous `u` + 1.
    let books = rs.kind("book");
    assert_chained_from_one_snapshot(&books);
    let seqs: Vec<u64> = books.iter().map(|b| b["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [504, 505, 508, 512]);
    assert_eq!(
        books[0]["bids"],
        serde_json::json!([["1.0512", "1100"], ["1.051", "5400"]])
    );
    let bbo = rs.kind("bbo");
    assert_eq!(
        (&bbo[0]["seq"], &bbo[0]["ts_exchange"], &bbo[0]["ask_size"]),
        (&506.into(), &Value::Null, &"650".into())
    );
    let instrument = &rs.kind("instrument")[0];
    assert_eq!(
        (
            &instrument["base"],
            &instrument["quote"],
            &instrument["settle"],
            &instrument["tick_size"],
            &instrument["lot_size"]
        ),
        (
            &"ASTER".into(),
            &"USDT".into(),
            &Value::Null,
            &"0.0001".into(),
            &"0.01".into()
        )
    );
}

//! The `gateio` and `gateio-futures` connectors through the real binary: `tickbridge
//! replay` serves a recorded Gate session and `tickbridge run` bridges one symbol
//! from it.
//!
//! - spot (`cryptofeed/gateio`: `spot.trades`, `spot.order_book_update`,
//!   `spot.tickers` of ten pairs, the pair list and the REST snapshots): every
//!   recorded NEO-BTC trade arrives as one schema-valid `trade` record, the book is
//!   synced from the recorded snapshot (`id`) and chained, tickers arrive;
//! - USDT futures (`cryptofeed/gateio_futures`: `futures.order_book_update`,
//!   `futures.book_ticker` of ten contracts; the recording holds no trade): every
//!   recorded WOO_USDT `book_ticker` arrives as one `bbo` record and the book is
//!   synced from the recorded futures snapshot.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_chained, assert_trades, recorded_frames, Records, Source, VenueRun};

/// The update frames of `channel` for `native` in the capture.
fn recorded(file: &str, channel: &str, native: &str) -> usize {
    recorded_frames(&capture(file), |f| {
        let r = &f["result"];
        f["event"] == "update"
            && f["channel"] == channel
            && [&r["currency_pair"], &r["s"], &r[0]["contract"]]
                .iter()
                .any(|v| v.as_str() == Some(native))
    })
    .len()
}

/// Runs the bridge for `exchange` on `symbol` and `channels` against the replayed
/// `file` until `done` holds for its records; returns them (checked schema-valid
/// and all of `symbol`).
fn bridge(
    file: &str,
    exchange: &str,
    channels: &[&str],
    (symbol, native, market): (&str, &str, &str),
    done: impl Fn(&Records) -> bool,
) -> Records {
    let run = VenueRun::start(
        &capture(file),
        Source {
            exchange,
            channels,
            symbols: &[symbol],
            ..Source::default()
        },
    );
    run.wait_until(Duration::from_secs(40), "the expected records", done);
    let (rs, _) = run.stop();
    rs.check(market, symbol, native);
    rs.assert_no_gap();
    rs
}

#[test]
fn a_recorded_gate_spot_session_is_bridged_to_schema_valid_records() {
    const FILE: &str = "cryptofeed/gateio.jsonl.gz";
    let expected = recorded(FILE, "spot.trades", "NEO_BTC");
    assert!(expected > 0, "the capture holds NEO_BTC trades");
    let updates = recorded(FILE, "spot.order_book_update", "NEO_BTC");
    let rs = bridge(
        FILE,
        "gateio",
        &["trade", "book", "ticker"],
        ("NEO-BTC", "NEO_BTC", "spot"),
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("book").len() > updates / 2
                && !rs.kind("ticker").is_empty()
        },
    );
    assert_trades(&rs.kind("trade"), expected, "one record per recorded trade");
    assert_chained(&rs.kind("book"));
}

#[test]
fn a_recorded_gate_futures_session_is_bridged_to_schema_valid_records() {
    const FILE: &str = "cryptofeed/gateio_futures.jsonl.gz";
    let expected = recorded(FILE, "futures.book_ticker", "WOO_USDT");
    assert!(expected > 0, "the capture holds WOO_USDT book tickers");
    let rs = bridge(
        FILE,
        "gateio-futures",
        &["bbo", "book"],
        ("WOO-USDT-PERP", "WOO_USDT", "perp"),
        |rs| {
            rs.kind("bbo").len() >= expected
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
        },
    );
    assert_eq!(rs.kind("bbo").len(), expected, "one record per book ticker");
    assert_chained(&rs.kind("book"));
}

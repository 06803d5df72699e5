//! The `bitstamp` connector through the real binary: `tickbridge replay` serves the
//! recorded Bitstamp session (`cryptofeed/bitstamp`: `diff_order_book` and
//! `live_trades` of ten pairs, the trading-pairs list and the REST book snapshots;
//! its recorded `bts:subscription_succeeded` answers are played back) and `tickbridge
//! run` bridges ETH-USD from it: every recorded ETH-USD trade arrives as one
//! schema-valid `trade` record, and the book is synced from the recorded snapshot.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_chained, assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/bitstamp.jsonl.gz";

/// The trade frames of `channel` in the capture.
fn recorded_trades(channel: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| {
        f["event"] == "trade" && f["channel"] == channel
    })
    .len()
}

#[test]
fn a_recorded_bitstamp_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("live_trades_ethusd");
    assert!(expected > 0, "the capture holds ETH-USD trades");
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "bitstamp",
            channels: &["trade", "book"],
            symbols: &["ETH-USD"],
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every ETH-USD trade and the book snapshot",
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (rs, _) = run.stop();

    rs.check("spot", "ETH-USD", "ethusd");
    assert_trades(&rs.kind("trade"), expected, "one record per recorded trade");
    // The book: the snapshot first, then changes chained to it; no gap.
    assert_chained(&rs.kind("book"));
    rs.assert_no_gap();
}

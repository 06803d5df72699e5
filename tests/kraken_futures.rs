//! The `kraken-futures` connector through the real binary: `tickbridge replay` serves
//! the recorded Kraken Futures session (`cryptofeed/kraken_futures`: `book`, `trade`
//! and `ticker_lite` of ten inverse contracts, the instrument list; its recorded
//! `subscribed` answers are played back) and `tickbridge run` bridges the inverse
//! ETH perpetual `PI_ETHUSD` (`ETH-USD-PERP-INV`) from it: every recorded trade of it
//! arrives as one schema-valid `trade` record (the `trade_snapshot` of earlier trades
//! is not republished), and the book starts from the recorded `book_snapshot` and
//! stays chained by `seq` without a gap.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_chained, assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/kraken_futures.jsonl.gz";

/// The `trade` frames of `product` in the capture.
fn recorded_trades(product: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| {
        f["feed"] == "trade" && f["product_id"] == product
    })
    .len()
}

#[test]
fn a_recorded_kraken_futures_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("PI_ETHUSD");
    assert!(expected > 0, "the capture holds PI_ETHUSD trades");
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "kraken-futures",
            market: Some("perp"),
            channels: &["trade", "book"],
            symbols: &["ETH-USD-PERP-INV"],
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every PI_ETHUSD trade and the book snapshot",
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (rs, _) = run.stop();

    rs.check("perp", "ETH-USD-PERP-INV", "PI_ETHUSD");
    assert_trades(&rs.kind("trade"), expected, "one record per recorded trade");
    // The book: the snapshot first, then changes chained to it by `seq`; no gap.
    let books = rs.kind("book");
    assert_chained(&books);
    assert!(
        books.len() > 100,
        "the recorded PI_ETHUSD changes: {}",
        books.len()
    );
    for pair in books.windows(2) {
        if pair[1]["snapshot"] == false {
            assert_eq!(
                pair[1]["seq"].as_u64(),
                pair[0]["seq"].as_u64().map(|s| s + 1),
                "{}",
                pair[1]
            );
        }
    }
    rs.assert_no_gap();
}

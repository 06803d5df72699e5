//! The `upbit` connector through the real binary: `tickbridge replay` serves the
//! recorded Upbit session (`cryptofeed/upbit`: `trade` and `orderbook` of ten pairs in
//! the `SIMPLE` format, and the `market/all` pair list; Upbit sends no
//! acknowledgements, so the first data confirms the request) and `tickbridge run`
//! bridges LAMB-KRW (native `KRW-LAMB`, quote first) from it: every recorded KRW-LAMB
//! trade arrives as one schema-valid `trade` record, every recorded orderbook as a
//! `book` snapshot and a `bbo`, with no gap.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/upbit.jsonl.gz";

/// The recorded frames of `kind` (`trade`, `orderbook`) for the market code `code`.
fn recorded(kind: &str, code: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| f["ty"] == kind && f["cd"] == code).len()
}

#[test]
fn a_recorded_upbit_session_is_bridged_to_schema_valid_records() {
    let trades_expected = recorded("trade", "KRW-LAMB");
    let books_expected = recorded("orderbook", "KRW-LAMB");
    assert!(
        trades_expected > 0 && books_expected > 0,
        "the capture holds KRW-LAMB"
    );
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "upbit",
            channels: &["trade", "book", "bbo"],
            symbols: &["LAMB-KRW"],
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every KRW-LAMB trade and orderbook",
        |rs| rs.kind("trade").len() >= trades_expected && rs.kind("book").len() >= books_expected,
    );
    let (rs, _) = run.stop();

    rs.check("spot", "LAMB-KRW", "KRW-LAMB");
    assert_trades(
        &rs.kind("trade"),
        trades_expected,
        "one record per recorded trade",
    );
    // Every orderbook message is a whole book: a snapshot each, and its top the bbo.
    let books = rs.kind("book");
    assert_eq!(
        books.len(),
        books_expected,
        "one snapshot per recorded orderbook"
    );
    assert!(books.iter().all(|b| b["snapshot"] == true));
    assert!(books
        .iter()
        .all(|b| b["bids"].as_array().is_some_and(|l| l.len() == 15)));
    assert_eq!(rs.kind("bbo").len(), books_expected);
    rs.assert_no_status(
        &["gap", "rejected"],
        "no gap, and the subscription was confirmed",
    );
}

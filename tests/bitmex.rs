//! The `bitmex` connector through the real binary: `tickbridge replay` serves the
//! recorded BitMEX session (`cryptofeed/bitmex`: `orderBookL2`, `quote` and `trade` of
//! ten contracts on the older host `www.bitmex.com/realtime`, the active-instrument
//! list; its recorded `success` answers are played back) and `tickbridge run` bridges
//! BTC-USD-PERP (`XBTUSD`) from it: every recorded XBTUSD trade row arrives as one
//! schema-valid `trade` record, the trade `partial` (earlier trades) is not
//! republished, and the book starts from the recorded `partial` and stays chained
//! without a gap.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/bitmex.jsonl.gz";

/// The rows of `symbol` in the capture's `trade` `insert` frames.
fn recorded_trades(symbol: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| {
        f["table"] == "trade" && f["action"] == "insert"
    })
    .iter()
    .flat_map(|f| f["data"].as_array().cloned().unwrap_or_default())
    .filter(|row| row["symbol"] == symbol)
    .count()
}

#[test]
fn a_recorded_bitmex_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("XBTUSD");
    assert!(expected > 0, "the capture holds XBTUSD trades");
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "bitmex",
            market: Some("perp"),
            channels: &["trade", "book"],
            symbols: &["BTC-USD-PERP"],
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every XBTUSD trade and the book partial",
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (rs, _) = run.stop();

    rs.check("perp", "BTC-USD-PERP", "XBTUSD");
    assert_trades(
        &rs.kind("trade"),
        expected,
        "one record per recorded trade row",
    );
    // The book: the partial first, then changes; no sequence, so no chain numbers.
    let books = rs.kind("book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(
        books.len() > 100,
        "the recorded XBTUSD changes: {}",
        books.len()
    );
    assert!(books
        .iter()
        .all(|b| b["seq"].is_null() && b["prev_seq"].is_null()));
    let mut book_ids: Vec<&str> = books.iter().map(|b| b["id"].as_str().unwrap()).collect();
    book_ids.sort_unstable();
    book_ids.dedup();
    assert_eq!(book_ids.len(), books.len(), "book ids are distinct");
    rs.assert_no_gap();
}

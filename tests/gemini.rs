//! The `gemini` connector through the real binary: `tickbridge replay` serves the
//! recorded Gemini session (`cryptofeed/gemini`: market data v2 `l2` of ten symbols,
//! the initial `l2_updates` of each, later changes, `trade` frames and heartbeats) and
//! `tickbridge run` bridges FIL-USD from it: every recorded FIL-USD `trade` frame
//! arrives as one schema-valid `trade` record (the history trades of the initial
//! `l2_updates` are not published), the book starts with the initial snapshot and
//! never gaps, and the bbo is derived from it.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/gemini.jsonl.gz";

/// The `trade` frames of `symbol` in the capture.
fn recorded_trades(symbol: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| {
        f["type"] == "trade" && f["symbol"] == symbol
    })
    .len()
}

#[test]
fn a_recorded_gemini_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_trades("FILUSD");
    assert!(expected > 0, "the capture holds FIL-USD trades");
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "gemini",
            channels: &["trade", "book", "bbo"],
            symbols: &["FIL-USD"],
            ws_path: "/v2/marketdata",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(60),
        "every FIL-USD trade and the book snapshot",
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (rs, _) = run.stop();

    rs.check("spot", "FIL-USD", "FILUSD");
    assert_trades(
        &rs.kind("trade"),
        expected,
        "one record per recorded trade frame",
    );
    let books = rs.kind("book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(books.len() > 1, "changes follow the snapshot");
    assert!(!rs.kind("bbo").is_empty(), "a bbo derived from the book");
    rs.assert_no_gap();
}

//! The `deribit` connector through the real binary: `tickbridge replay` serves the
//! recorded Deribit session (`cryptofeed/deribit`: the `book`, `ticker` and `trades`
//! channels of ten options; its recorded `public/subscribe` answer is played back) and
//! `tickbridge run` bridges the put BTC-24SEP21-8000-P (`BTC-USD-210924-8000-P`) from
//! it: every recorded notification of that option arrives as schema-valid records —
//! one `book` per book notification (the snapshot, then changes chained by
//! `change_id`), one `ticker`, `open_interest` and `mark_price` per ticker
//! notification, one `trade` per recorded trade (the recording holds none) — and
//! nothing of the nine other options.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_chained_from_one_snapshot, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/deribit.jsonl.gz";
const NATIVE: &str = "BTC-24SEP21-8000-P";
const SYMBOL: &str = "BTC-USD-210924-8000-P";

/// The recorded notifications of `kind` (`book`, `ticker`, `trades`) for `NATIVE`,
/// counted as records: one per notification, one per trade of a `trades` one.
fn recorded(kind: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| {
        let channel = f["params"]["channel"].as_str().unwrap_or("");
        f["method"] == "subscription" && channel.starts_with(&format!("{kind}.{NATIVE}."))
    })
    .iter()
    .map(|f| match f["params"]["data"].as_array() {
        Some(trades) => trades.len(),
        None => 1,
    })
    .sum()
}

#[test]
fn a_recorded_deribit_session_is_bridged_to_schema_valid_records() {
    let books = recorded("book");
    let tickers = recorded("ticker");
    let trades = recorded("trades");
    assert!(
        books > 1 && tickers > 0,
        "the capture holds the option's book and ticker"
    );
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "deribit",
            market: Some("option"),
            channels: &["trade", "book", "ticker", "open_interest", "mark_price"],
            symbols: &[SYMBOL],
            ws_path: "/ws/api/v2",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every book and ticker notification of the option",
        |rs| rs.kind("book").len() >= books && rs.kind("mark_price").len() >= tickers,
    );
    let (rs, _) = run.stop();

    rs.check("option", SYMBOL, NATIVE);
    assert_eq!(
        rs.kind("trade").len(),
        trades,
        "one record per recorded trade"
    );
    for k in ["ticker", "open_interest", "mark_price"] {
        assert_eq!(rs.kind(k).len(), tickers, "one {k} per recorded ticker");
    }
    // The book: the snapshot first, then every change chained to it; no gap.
    let book = rs.kind("book");
    assert_eq!(
        book.len(),
        books,
        "one record per recorded book notification"
    );
    assert_chained_from_one_snapshot(&book);
    rs.assert_no_gap();
}

//! The `kucoin` connector through the real binary: `tickbridge replay` serves the
//! recorded KuCoin session (`cryptofeed/kucoin`: `/market/match`, `/market/ticker`
//! and `/market/level2` of ten symbols, the symbol list and the REST book snapshots),
//! answers the bridge's `POST /api/v1/bullet-public` with a token naming its own
//! WebSocket URL, acks each subscribe by id and answers the app-level pings; `tickbridge
//! run` bridges DAPPT-BTC from it: every recorded DAPPT-BTC match arrives as one
//! schema-valid `trade` record, bbo records flow, and the book is synced from the
//! recorded snapshot by sequence without a gap.

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_chained, assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/kucoin.jsonl.gz";

/// The recorded frames of `topic`.
fn recorded(topic: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| {
        f["type"] == "message" && f["topic"] == topic
    })
    .len()
}

#[test]
fn a_recorded_kucoin_session_is_bridged_to_schema_valid_records() {
    let expected = recorded("/market/match:DAPPT-BTC");
    assert!(expected > 0, "the capture holds DAPPT-BTC matches");
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "kucoin",
            channels: &["trade", "bbo", "book"],
            symbols: &["DAPPT-BTC"],
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(30),
        "every DAPPT-BTC trade, bbo records, the book snapshot and the subscription",
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("status").iter().any(|s| s["event"] == "subscribed")
                && !rs.kind("bbo").is_empty()
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
        },
    );
    let (rs, _) = run.stop();

    rs.check("spot", "DAPPT-BTC", "DAPPT-BTC");
    assert_trades(&rs.kind("trade"), expected, "one record per recorded match");
    // Every subscribe was acknowledged: subscribed, never rejected.
    let status = rs.kind("status");
    assert!(
        status.iter().any(|s| s["event"] == "subscribed"),
        "{status:?}"
    );
    assert!(
        !status.iter().any(|s| s["event"] == "rejected"),
        "{status:?}"
    );
    // The book: the snapshot first, then changes chained to it by sequence; no gap.
    let books = rs.kind("book");
    assert_chained(&books);
    assert!(books.len() > 1, "changes follow the snapshot");
    assert!(
        !status.iter().any(|s| s["event"] == "gap"),
        "no gap: {status:?}"
    );
}

//! The `bitflyer` connector through the real binary: `tickbridge replay` serves the
//! recorded bitFlyer session (`cryptofeed/bitflyer`: JSON-RPC `channelMessage`s of
//! executions, tickers, board snapshots and board diffs of ten products, and the
//! market lists; the replay answers each JSON-RPC `subscribe` by id, as the exchange
//! documents) and `tickbridge run` bridges ETH-JPY from it: every recorded ETH_JPY
//! execution arrives as one schema-valid `trade` record, tickers as `ticker` and `bbo`,
//! and the book starts with a board snapshot and never gaps (the recording's one real
//! break is FX_BTC_JPY's, not bridged here).

mod common;

use std::time::Duration;

use common::capture;
use common::venue::{assert_trades, recorded_frames, Source, VenueRun};

const CAPTURE: &str = "cryptofeed/bitflyer.jsonl.gz";

/// The executions (with a taker side) recorded on `channel`.
fn recorded_executions(channel: &str) -> usize {
    recorded_frames(&capture(CAPTURE), |f| f["params"]["channel"] == channel)
        .iter()
        .map(|f| {
            f["params"]["message"]
                .as_array()
                .map_or(0, |a| a.iter().filter(|x| x["side"] != "").count())
        })
        .sum()
}

#[test]
fn a_recorded_bitflyer_session_is_bridged_to_schema_valid_records() {
    let expected = recorded_executions("lightning_executions_ETH_JPY");
    assert!(expected > 0, "the capture holds ETH_JPY executions");
    let run = VenueRun::start(
        &capture(CAPTURE),
        Source {
            exchange: "bitflyer",
            channels: &["trade", "book", "bbo", "ticker"],
            symbols: &["ETH-JPY"],
            ws_path: "/json-rpc",
            ..Source::default()
        },
    );
    run.wait_until(
        Duration::from_secs(60),
        "every ETH-JPY trade and a board snapshot",
        |rs| {
            rs.kind("trade").len() >= expected
                && rs.kind("book").iter().any(|b| b["snapshot"] == true)
                && !rs.kind("ticker").is_empty()
        },
    );
    let (rs, _) = run.stop();

    rs.check("spot", "ETH-JPY", "ETH_JPY");
    assert_trades(
        &rs.kind("trade"),
        expected,
        "one record per recorded execution",
    );
    assert!(!rs.kind("bbo").is_empty(), "bbo from the ticker");
    let books = rs.kind("book");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    assert!(books.len() > 1, "diffs follow the snapshot");
    rs.assert_no_status(&["gap", "rejected"], "no gap, every subscription confirmed");
}

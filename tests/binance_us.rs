//! `binance-us` end to end: the corpus recording of Binance.US (`cryptofeed/binance_us`,
//! 2021-10-12, which holds the venue's `/api/v3/exchangeInfo` answer) served by
//! `tickbridge replay`, read by `tickbridge run` with `exchange = "binance-us"` and
//! the replay as both `ws_url` and `rest_url`. The trades arrive as schema-valid
//! `binance-us` records, and the symbols were resolved against the recorded
//! instrument list (an unavailable list would refuse the start: no `on_unavailable`
//! is configured), whose instruments are published as records too.

mod common;

use std::time::Duration;

use common::venue::{Source, VenueRun};
use common::{capture, SchemaValidator};

#[test]
fn binance_us_trades_flow_through_run_resolved_against_its_instrument_list() {
    let cache = tempfile::tempdir().unwrap();
    let instruments = format!(
        "[instruments]\ncache_dir = \"{}\"\ntimeout = \"5s\"\n",
        cache.path().join("instruments").display()
    );
    let run = VenueRun::start(
        &capture("cryptofeed/binance_us.jsonl.gz"),
        Source {
            exchange: "binance-us",
            channels: &["trade", "bbo"],
            symbols: &["OMG-BUSD", "CRV-USDT"],
            sections: &instruments,
            ..Source::default()
        },
    );
    // The recording holds 11 OMGBUSD aggregate trades.
    run.wait_until(Duration::from_secs(30), "the recorded trades", |rs| {
        rs.all.iter().filter(|r| r["kind"] == "trade").count() >= 11
    });
    let (rs, _) = run.stop();

    let all = rs.all;
    let schemas = SchemaValidator::new();
    for r in &all {
        schemas.check(r);
        assert_eq!(r["exchange"], "binance-us", "{r}");
        assert_eq!(r["market"], "spot", "{r}");
    }
    let trades: Vec<_> = all.iter().filter(|r| r["kind"] == "trade").collect();
    assert_eq!(trades.len(), 11, "{trades:?}");
    for t in &trades {
        assert_eq!(
            (&t["symbol"], &t["native"]),
            (&"OMG-BUSD".into(), &"OMGBUSD".into())
        );
        assert!(
            t["id"]
                .as_str()
                .unwrap()
                .starts_with("binance-us.spot.OMG-BUSD.trade."),
            "{t}"
        );
    }
    assert!(
        all.iter().any(|r| r["kind"] == "bbo"),
        "bookTicker frames arrive as bbo records"
    );

    // The instrument list came from the recorded `exchangeInfo` of api.binance.us
    // (fetched from the replay): its filters are in the published instruments.
    let instruments: Vec<_> = all.iter().filter(|r| r["kind"] == "instrument").collect();
    assert_eq!(instruments.len(), 2, "{instruments:?}");
    let omg = instruments
        .iter()
        .find(|r| r["native"] == "OMGBUSD")
        .expect("OMGBUSD listed");
    assert_eq!(
        (&omg["symbol"], &omg["base"], &omg["quote"], &omg["status"]),
        (
            &"OMG-BUSD".into(),
            &"OMG".into(),
            &"BUSD".into(),
            &"trading".into()
        )
    );
    assert!(
        omg["tick_size"].is_string() && omg["lot_size"].is_string(),
        "{omg}"
    );
}

//! Table tests of the Bitstamp connector with the documented example frames.

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const TRADE: &str = r#"{"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000","price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000","buy_order_id":1443875737346049,"sell_order_id":1443875731320832},"channel":"live_trades_ethusd","event":"trade"}"#;

fn frames_parser() -> BitstampParser {
    Bitstamp::new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

fn diff(micro: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"data":{{"timestamp":"{}","microtimestamp":"{micro}","bids":{bids},"asks":{asks}}},"channel":"diff_order_book_btcusd","event":"data"}}"#,
        micro / 1_000_000
    )
}

fn snapshot(micro: u64) -> String {
    format!(
        r#"{{"timestamp":"{}","microtimestamp":"{micro}","bids":[["100.00","1.00000000"],["99.00","2.00000000"]],"asks":[["101.00","1.50000000"]]}}"#,
        micro / 1_000_000
    )
}

#[test]
fn plans_one_subscribe_per_channel_and_pair() {
    let request = testing::request(
        &Bitstamp,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book],
        &["BTC-USD", "etheur"],
        ("wss://ws.bitstamp.net", ""),
    );
    let plan = testing::first_plan(&Bitstamp, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"data":{"channel":"live_trades_btcusd"},"event":"bts:subscribe"}"#,
            r#"{"data":{"channel":"order_book_btcusd"},"event":"bts:subscribe"}"#,
            r#"{"data":{"channel":"diff_order_book_btcusd"},"event":"bts:subscribe"}"#,
            r#"{"data":{"channel":"live_trades_etheur"},"event":"bts:subscribe"}"#,
            r#"{"data":{"channel":"order_book_etheur"},"event":"bts:subscribe"}"#,
            r#"{"data":{"channel":"diff_order_book_etheur"},"event":"bts:subscribe"}"#,
        ]
    );
    testing::assert_symbol(&Bitstamp, Market::Spot, "btc/usd", ("BTC-USD", "btcusd"));
    testing::assert_symbol(&Bitstamp, Market::Spot, "ETHEUR", ("ETH-EUR", "etheur"));
    assert!(Bitstamp.symbol(Market::Spot, "BTC_USD!").is_err());
    assert!(Bitstamp.symbol(Market::Perp, "BTC-USD").is_err());
    assert_eq!(
        Bitstamp.market_of_url("wss://ws.bitstamp.net/"),
        Some(Market::Spot)
    );
    assert_eq!(Bitstamp.market_of_url("wss://ws.kraken.com"), None);
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                TRADE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitstamp","market":"spot","symbol":"ETH-USD","native":"ethusd","ts_exchange":1641343699596000000,"ts_recv":7,"seq":null,"id":"bitstamp.spot.ETH-USD.trade.216000477","kind":"trade","price":"3805.44","size":"0.0792","side":"buy","trade_id":"216000477"}"#,
                ],
            ),
            (
                r#"{"data":{"timestamp":"1641343691","microtimestamp":"1641343691244908","bids":[["1.15979","993.02588113"],["1.14866","7758.51900928"]],"asks":[["1.16601","1200.00000000"]]},"channel":"order_book_bateur","event":"data"}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitstamp","market":"spot","symbol":"BAT-EUR","native":"bateur","ts_exchange":1641343691244908000,"ts_recv":7,"seq":1641343691244908,"id":"bitstamp.spot.BAT-EUR.bbo.1641343691244908","kind":"bbo","bid_price":"1.15979","bid_size":"993.02588113","ask_price":"1.16601","ask_size":"1200"}"#,
                ],
            ),
            (
                r#"{"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}}"#,
                Parsed::Acked(Answer::Topic("live_trades_btcusd".into())),
                &[],
            ),
            (
                r#"{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"event":"bts:request_reconnect","channel":"","data":""}"#,
                Parsed::Reconnect(
                    "bts:request_reconnect: the server asks clients to reconnect".into(),
                ),
                &[],
            ),
            (
                r#"{"event":"bts:error","channel":"","data":{"code":null,"message":"Bad subscription string."}}"#,
                Parsed::Refused(Refusal::of(
                    Answer::InOrder,
                    vec![],
                    "bts:error: Bad subscription string.",
                )),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    let sell = TRADE.replace(r#""type":0"#, r#""type":1"#);
    assert_eq!(p.parse(&sell, 7, &mut out), Ok(Parsed::Data));
    assert!(json(&out[0]).contains(r#""side":"sell""#));
    let bad = TRADE.replace(r#""type":0"#, r#""type":2"#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    let unknown = r#"{"event":"mystery","channel":"","data":{}}"#;
    assert_eq!(
        p.parse(unknown, 7, &mut out).unwrap_err().label(),
        "unknown"
    );
    assert_eq!(
        p.parse("{\"event\"", 7, &mut out).unwrap_err().label(),
        "malformed"
    );
}

#[test]
fn frames_of_pairs_the_plan_does_not_name_are_ignored() {
    let plan = testing::frames_plan(&Bitstamp, Market::Spot, &["BTC-USD"]);
    let mut p = Bitstamp::new_parser(&plan);
    let mut out = Vec::new();
    assert_eq!(p.parse(TRADE, 7, &mut out), Ok(NOT_PLANNED));
    let own = TRADE.replace("ethusd", "btcusd");
    assert_eq!(p.parse(&own, 7, &mut out), Ok(Parsed::Data));
    assert_eq!(out[0].symbol, "BTC-USD");
}

#[test]
fn diffs_sync_from_the_rest_snapshot_and_newer_diffs_apply() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    // Diffs before the snapshot are buffered; the first asks for the snapshot.
    assert_eq!(
        p.parse(&diff(1_000, r#"[["100.00","3.0"]]"#, "[]"), 1, &mut out),
        Ok(Parsed::Data)
    );
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].key, "btcusd");
    assert_eq!(
        reqs[0].url,
        "https://www.bitstamp.net/api/v2/order_book/btcusd"
    );
    p.parse(
        &diff(3_000, r#"[["99.00","0.00000000"]]"#, "[]"),
        2,
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty() && p.rest_requests().is_empty());
    // The snapshot (micro 2000) is newer than the first diff: that one is dropped,
    // the second applied.
    assert_eq!(
        p.on_rest("btcusd", Ok(&snapshot(2_000)), 3, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 2);
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert!(b.snapshot);
    assert_eq!(out[0].id, "bitstamp.spot.BTC-USD.book.snap.2000");
    let Data::Book(b) = &out[1].data else {
        panic!()
    };
    assert_eq!(
        (b.snapshot, b.prev_seq, out[1].seq),
        (false, Some(2_000), Some(3_000))
    );
    let book = p.book("btcusd").unwrap().book();
    assert_eq!(book.best_bid().unwrap().0.as_str(), "100");
    assert_eq!(book.len(), (1, 1));
    out.clear();
    p.parse(&diff(4_000, "[]", r#"[["101.00","0.5"]]"#), 4, &mut out)
        .unwrap();
    assert!(json(&out[0]).contains(r#""asks":[["101","0.5"]]"#));
}

#[test]
fn an_older_diff_or_a_crossed_book_is_a_gap_of_that_pair_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let other = diff(1_000, "[]", "[]").replace("btcusd", "etheur");
    for (pair, frame) in [("btcusd", diff(1_000, "[]", "[]")), ("etheur", other)] {
        p.parse(&frame, 1, &mut out).unwrap();
        p.on_rest(pair, Ok(&snapshot(1_500)), 2, &mut out).unwrap();
    }
    p.rest_requests();
    out.clear();
    // Older than the snapshot: covered by it, skipped.
    p.parse(&diff(1_200, r#"[["98","1"]]"#, "[]"), 3, &mut out)
        .unwrap();
    assert!(out.is_empty());
    p.parse(&diff(1_550, r#"[["98","1"]]"#, "[]"), 3, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    out.clear();
    // Out of order: older than the last applied microtimestamp.
    p.parse(&diff(1_520, r#"[["98","1"]]"#, "[]"), 3, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(1_550), Some(1_520));
    assert_eq!(out[0].symbol, "BTC-USD");
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].key, "btcusd");
    assert!(p.book("etheur").unwrap().is_synced());
    // The fresh snapshot resyncs it.
    out.clear();
    p.on_rest("btcusd", Ok(&snapshot(1_600)), 4, &mut out)
        .unwrap();
    let events: Vec<String> = out.iter().map(|r| r.kind().as_str().to_string()).collect();
    assert_eq!(events, ["status", "book"]);
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    // A diff that crosses the book.
    out.clear();
    p.parse(&diff(1_700, r#"[["102","1"]]"#, "[]"), 5, &mut out)
        .unwrap();
    testing::assert_gap(&out[0], Some(1_600), Some(1_700));
    assert_eq!(p.rest_requests().len(), 1);
}

#[test]
fn a_failed_snapshot_is_announced_once_and_asked_again() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(&diff(1_000, "[]", "[]"), 1, &mut out).unwrap();
    p.rest_requests();
    p.on_rest("btcusd", Err("HTTP 429"), 2, &mut out).unwrap();
    p.on_rest(
        "btcusd",
        Ok(r#"{"status":"error","reason":"x"}"#),
        3,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Stale);
    assert_eq!(
        s.reason.as_deref(),
        Some("GET /api/v2/order_book/btcusd: HTTP 429")
    );
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].delay > reqs[0].delay);
}

#[test]
fn the_trading_pairs_list_gives_base_quote_and_steps() {
    let body = r#"[{"trading": "Enabled", "base_decimals": 8, "url_symbol": "btcusd", "name": "BTC/USD", "instant_and_market_orders": "Enabled", "minimum_order": "20.0 USD", "counter_decimals": 2, "description": "Bitcoin / U.S. dollar"},
                   {"trading": "Disabled", "base_decimals": 5, "url_symbol": "gbpeur", "name": "GBP/EUR", "instant_and_market_orders": "Disabled", "minimum_order": "20.0 EUR", "counter_decimals": 5, "description": "British Pound / Euro"}]"#;
    let list = Bitstamp.parse_instruments(Market::Spot, "", body).unwrap();
    use tickbridge_schema::InstrumentStatus::{Halted, Trading};
    let btc = testing::instrument(("BTC", "USD", None), ("0.01", "0.00000001"), Trading);
    let gbp = testing::instrument(("GBP", "EUR", None), ("0.00001", "0.00001"), Halted);
    assert_eq!(
        rows(&list),
        vec![
            ("btcusd", "BTC-USD", Market::Spot, &btc),
            ("gbpeur", "GBP-EUR", Market::Spot, &gbp),
        ]
    );
    assert_eq!(
        Bitstamp.instrument_urls(Market::Spot, "https://www.bitstamp.net/"),
        vec!["https://www.bitstamp.net/api/v2/trading-pairs-info/"]
    );
    assert!(Bitstamp
        .parse_instruments(Market::Spot, "", r#"{"status":"error","reason":"down"}"#)
        .is_err());
}

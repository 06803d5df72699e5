//! Table tests of the Kraken Futures connector with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const TRADE: &str = r#"{"feed":"trade","product_id":"PI_LTCUSD","uid":"e2429e31-8b9d-4195-900e-fd42be2dec89","side":"buy","type":"fill","seq":5956,"time":1626994929946,"qty":320.0,"price":119.44}"#;
const TICKER: &str = r#"{"time":1612270825253,"feed":"ticker","product_id":"PI_XBTUSD","bid":34832.5,"ask":34847.5,"bid_size":42864,"ask_size":2300,"volume":262306237,"dtm":0,"leverage":"50x","index":34803.45,"premium":0.1,"last":34852,"change":2.995109121267192,"funding_rate":3.891007752e-9,"funding_rate_prediction":4.2233756e-9,"suspended":false,"tag":"perpetual","pair":"XBT:USD","openInterest":263248768,"markPrice":34844.25,"maturityTime":0,"relative_funding_rate":0.000135046879166667,"relative_funding_rate_prediction":0.000146960125,"next_funding_rate_time":1612281600000,"volumeQuote":9123456.5}"#;

fn frames_parser() -> KrakenFuturesParser {
    KrakenFutures::new_parser(&ConnectionPlan::for_frames("", Market::Perp))
}

fn snapshot(product: &str, seq: u64) -> String {
    format!(
        r#"{{"feed":"book_snapshot","product_id":"{product}","timestamp":1612269825817,"seq":{seq},"tickSize":null,"bids":[{{"price":34892.5,"qty":6385}},{{"price":34892,"qty":10924}}],"asks":[{{"price":34911.5,"qty":20598}},{{"price":34912,"qty":2300}}]}}"#
    )
}

fn delta(product: &str, seq: u64, side: &str, price: &str, qty: &str) -> String {
    format!(
        r#"{{"feed":"book","product_id":"{product}","side":"{side}","seq":{seq},"price":{price},"qty":{qty},"timestamp":1612269826000}}"#
    )
}

#[test]
fn plans_one_subscribe_per_feed() {
    let request = testing::request(
        &KrakenFutures,
        Market::Perp,
        &[
            Channel::Trade,
            Channel::Book,
            Channel::Bbo,
            Channel::Ticker,
            Channel::Funding,
            Channel::Liquidation,
        ],
        &["BTC-USD-PERP", "PI_ETHUSD"],
        ("wss://futures.kraken.com/ws/v1", ""),
    );
    let plan = testing::first_plan(&KrakenFutures, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"event":"subscribe","feed":"trade","product_ids":["PF_XBTUSD","PI_ETHUSD"]}"#,
            r#"{"event":"subscribe","feed":"book","product_ids":["PF_XBTUSD","PI_ETHUSD"]}"#,
            r#"{"event":"subscribe","feed":"ticker","product_ids":["PF_XBTUSD","PI_ETHUSD"]}"#,
        ]
    );
    assert!(plan.requests.iter().all(|r| r.answers == 2));
    // Sharding: 100 products per connection.
    let many: Vec<String> = (0..101).map(|i| format!("PF_A{i}USD")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let request = testing::request(
        &KrakenFutures,
        Market::Perp,
        &[Channel::Trade],
        &many,
        ("wss://futures.kraken.com/ws/v1", ""),
    );
    let plans = KrakenFutures.plan(&request).unwrap();
    assert_eq!(
        plans.iter().map(|p| p.symbols.len()).collect::<Vec<_>>(),
        vec![100, 1]
    );
    assert_eq!(
        KrakenFutures.market_of_url("wss://futures.kraken.com/ws/v1"),
        Some(Market::Perp)
    );
    assert_eq!(KrakenFutures.market_of_url("wss://ws.kraken.com/v2"), None);
    assert_eq!(KrakenFutures.heartbeat().app_ping, None);
}

#[test]
fn symbols_resolve_in_both_forms() {
    let cases = [
        (Market::Perp, "BTC-USD-PERP", ("BTC-USD-PERP", "PF_XBTUSD")),
        (Market::Perp, "pf_xbtusd", ("BTC-USD-PERP", "PF_XBTUSD")),
        (
            Market::Perp,
            "BTC-USD-PERP-INV",
            ("BTC-USD-PERP-INV", "PI_XBTUSD"),
        ),
        (Market::Perp, "PI_XBTUSD", ("BTC-USD-PERP-INV", "PI_XBTUSD")),
        (
            Market::Future,
            "BTC-USD-241227",
            ("BTC-USD-241227", "FF_XBTUSD_241227"),
        ),
        (
            Market::Future,
            "FI_XBTUSD_241227",
            ("BTC-USD-241227-INV", "FI_XBTUSD_241227"),
        ),
        (
            Market::Future,
            "eth-usd-210924-inv",
            ("ETH-USD-210924-INV", "FI_ETHUSD_210924"),
        ),
    ];
    for (market, user, want) in cases {
        testing::assert_symbol(&KrakenFutures, market, user, want);
    }
    assert!(KrakenFutures
        .symbol(Market::Perp, "FI_XBTUSD_241227")
        .is_err());
    assert!(KrakenFutures.symbol(Market::Perp, "IN_XBTUSD").is_err());
    assert!(KrakenFutures.symbol(Market::Perp, "BTC/USD").is_err());
    assert!(KrakenFutures.symbol(Market::Spot, "BTC-USD").is_err());
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                r#"{"event":"info","version":1}"#,
                Parsed::Info("info (version 1)".into()),
                &[],
            ),
            (
                r#"{"event":"subscribed","feed":"book","product_ids":["PI_XBTUSD"]}"#,
                Parsed::Acked(Answer::Topic("book:PI_XBTUSD".into())),
                &[],
            ),
            (
                r#"{"event":"subscribed_failed","feed":"book","product_ids":["PI_FOOUSD"]}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("book:PI_FOOUSD".into()),
                    vec!["PI_FOOUSD".into()],
                    "subscribed_failed: book PI_FOOUSD",
                )),
                &[],
            ),
            (
                r#"{"event":"error","message":"Invalid product id"}"#,
                Parsed::Refused(Refusal {
                    answer: Some(Answer::InOrder),
                    symbols: Vec::new(),
                    reason: "error: Invalid product id".into(),
                }),
                &[],
            ),
            (
                r#"{"event":"alert","message":"Bad websocket message"}"#,
                Parsed::Refused(Refusal::unattributed("alert: Bad websocket message")),
                &[],
            ),
            (
                r#"{"feed":"heartbeat","time":1534262350627}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                TRADE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"kraken-futures","market":"perp","symbol":"LTC-USD-PERP-INV","native":"PI_LTCUSD","ts_exchange":1626994929946000000,"ts_recv":7,"seq":5956,"id":"kraken-futures.perp.LTC-USD-PERP-INV.trade.e2429e31-8b9d-4195-900e-fd42be2dec89","kind":"trade","price":"119.44","size":"320","side":"buy","trade_id":"e2429e31-8b9d-4195-900e-fd42be2dec89"}"#,
                ],
            ),
            (
                r#"{"feed":"trade_snapshot","product_id":"PI_LTCUSD","trades":[]}"#,
                Parsed::Info("trade_snapshot (earlier trades)".into()),
                &[],
            ),
            (
                r#"{"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6,"change":2.640803926150981,"premium":0.3,"volume":3413476.0,"tag":"month","pair":"BCH:USD","dtm":7,"maturityTime":1627657200000}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"kraken-futures","market":"future","symbol":"BCH-USD-210730-INV","native":"FI_BCHUSD_210730","ts_exchange":null,"ts_recv":7,"seq":null,"id":"kraken-futures.future.BCH-USD-210730-INV.bbo.r7","kind":"bbo","bid_price":"439.3","bid_size":null,"ask_price":"439.6","ask_size":null}"#,
                ],
            ),
        ],
    );
    let mut out = Vec::new();
    // A liquidation trade is also a liquidation.
    let liq = TRADE.replace("\"fill\"", "\"liquidation\"");
    assert_eq!(p.parse(&liq, 7, &mut out), Ok(Parsed::Data));
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(kinds, ["trade", "liquidation"]);
    assert!(p
        .parse(r#"{"feed":"nope","product_id":"PI_XBTUSD"}"#, 7, &mut out)
        .is_err());
    assert!(p.parse(r#"{"event":"nope"}"#, 7, &mut out).is_err());
    assert!(p.parse(r#"{"x":1}"#, 7, &mut out).is_err());
}

#[test]
fn the_ticker_gives_ticker_bbo_mark_price_open_interest_and_funding() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    assert_eq!(p.parse(TICKER, 7, &mut out), Ok(Parsed::Data));
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(
        kinds,
        ["ticker", "bbo", "mark_price", "open_interest", "funding"]
    );
    assert_eq!(
        json(&out[4]),
        r#"{"v":1,"exchange":"kraken-futures","market":"perp","symbol":"BTC-USD-PERP-INV","native":"PI_XBTUSD","ts_exchange":1612270825253000000,"ts_recv":7,"seq":null,"id":"kraken-futures.perp.BTC-USD-PERP-INV.funding.1612270825253","kind":"funding","rate":"0.000135046879166667","predicted_rate":"0.000146960125","next_funding_ts":1612281600000000000}"#
    );
    let Data::MarkPrice(m) = &out[2].data else {
        panic!()
    };
    assert_eq!(
        (
            m.mark_price.as_str(),
            m.index_price.as_ref().unwrap().as_str()
        ),
        ("34844.25", "34803.45")
    );
    // A dated future has no funding.
    out.clear();
    let future = TICKER.replace("PI_XBTUSD", "FI_XBTUSD_210924");
    assert_eq!(p.parse(&future, 7, &mut out), Ok(Parsed::Data));
    assert!(!out.iter().any(|r| matches!(r.data, Data::Funding(_))));
}

#[test]
fn the_book_follows_seq_and_a_break_resubscribes_that_product_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    for product in ["PI_XBTUSD", "PI_ETHUSD"] {
        assert_eq!(
            p.parse(&snapshot(product, 100), 1, &mut out),
            Ok(Parsed::Data)
        );
    }
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].id,
        "kraken-futures.perp.BTC-USD-PERP-INV.book.snap.100"
    );
    out.clear();
    assert_eq!(
        p.parse(&delta("PI_XBTUSD", 101, "buy", "34892.5", "0"), 2, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(
        p.parse(&delta("PI_XBTUSD", 102, "sell", "34911", "5"), 2, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 2);
    let Data::Book(b) = &out[1].data else {
        panic!()
    };
    assert_eq!((b.prev_seq, out[1].seq), (Some(101), Some(102)));
    let book = p.book("PI_XBTUSD").unwrap().book();
    assert_eq!(book.best_bid().unwrap().0.as_str(), "34892");
    assert_eq!(book.best_ask().unwrap().0.as_str(), "34911");
    // An old delta is skipped; a skipped seq is a gap of this product only.
    out.clear();
    assert_eq!(
        p.parse(&delta("PI_XBTUSD", 101, "buy", "1", "1"), 3, &mut out),
        Ok(Parsed::Data)
    );
    assert!(out.is_empty());
    assert_eq!(
        p.parse(&delta("PI_XBTUSD", 105, "buy", "1", "1"), 3, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(103), Some(105));
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"event":"unsubscribe","feed":"book","product_ids":["PI_XBTUSD"]}"#,
            r#"{"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD"]}"#,
        ]
    );
    assert!(p.resubscribe().is_empty(), "throttled");
    out.clear();
    assert_eq!(
        p.parse(&delta("PI_XBTUSD", 106, "buy", "1", "1"), 4, &mut out),
        Ok(Parsed::Data)
    );
    assert!(out.is_empty(), "nothing until the fresh snapshot");
    assert_eq!(
        p.parse(&delta("PI_ETHUSD", 101, "buy", "1", "1"), 4, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 1, "the other product goes on");
    assert_eq!(
        p.parse(
            r#"{"event":"subscribed","feed":"book","product_ids":["PI_XBTUSD"]}"#,
            5,
            &mut out
        ),
        Ok(Parsed::Info("resubscribed book PI_XBTUSD".into()))
    );
    out.clear();
    assert_eq!(
        p.parse(&snapshot("PI_XBTUSD", 500), 6, &mut out),
        Ok(Parsed::Data)
    );
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    // A delta before any snapshot is a gap too.
    out.clear();
    assert_eq!(
        p.parse(&delta("PI_LTCUSD", 9, "buy", "1", "1"), 7, &mut out),
        Ok(Parsed::Data)
    );
    testing::assert_gap(&out[0], None, Some(9));
}

#[test]
fn frames_of_products_the_plan_does_not_name_are_ignored() {
    let mut p = KrakenFutures::new_parser(&testing::frames_plan(
        &KrakenFutures,
        Market::Perp,
        &["PI_XBTUSD"],
    ));
    let mut out = Vec::new();
    assert_eq!(p.parse(TRADE, 1, &mut out), Ok(NOT_PLANNED));
    assert_eq!(
        p.parse(&snapshot("PI_ETHUSD", 1), 1, &mut out),
        Ok(NOT_PLANNED)
    );
    assert!(out.is_empty());
    assert_eq!(p.parse(TICKER, 1, &mut out), Ok(Parsed::Data));
}

#[test]
fn the_instrument_list_is_parsed_per_market() {
    let body = r#"{"result":"success","instruments":[
{"symbol":"pi_xbtusd","type":"futures_inverse","underlying":"rr_xbtusd","tickSize":0.5,"contractSize":1,"tradeable":true},
{"symbol":"PF_XBTUSD","type":"flexible_futures","tickSize":1,"contractSize":1,"tradeable":true,"base":"BTC","quote":"USD","pair":"BTC:USD"},
{"symbol":"fi_xbtusd_210924","type":"futures_inverse","underlying":"rr_xbtusd","lastTradingTime":"2021-09-24T15:00:00.000Z","tickSize":0.5,"contractSize":1,"tradeable":true},
{"symbol":"in_xbtusd","type":"spot index","tradeable":false}]}"#;
    let perps = KrakenFutures
        .parse_instruments(Market::Perp, "", body)
        .unwrap();
    let inverse = tickbridge_schema::Instrument {
        contract_size: testing::d("1"),
        ..testing::instrument(
            ("BTC", "USD", Some("BTC")),
            ("0.5", "1"),
            InstrumentStatus::Trading,
        )
    };
    let inverse = tickbridge_schema::Instrument {
        lot_size: None,
        ..inverse
    };
    let r = rows(&perps);
    assert_eq!(
        r[0],
        ("PI_XBTUSD", "BTC-USD-PERP-INV", Market::Perp, &inverse)
    );
    assert_eq!((r[1].0, r[1].1), ("PF_XBTUSD", "BTC-USD-PERP"));
    assert_eq!(r[1].3.settle.as_deref(), Some("USD"));
    assert_eq!(r.len(), 2);
    let futures = KrakenFutures
        .parse_instruments(Market::Future, "", body)
        .unwrap();
    assert_eq!(
        rows(&futures)
            .iter()
            .map(|r| (r.0, r.1))
            .collect::<Vec<_>>(),
        [("FI_XBTUSD_210924", "BTC-USD-210924-INV")]
    );
    assert!(futures[0].spec.expiry.is_some());
    assert!(KrakenFutures
        .parse_instruments(
            Market::Perp,
            "",
            r#"{"result":"error","error":"apiLimitExceeded"}"#
        )
        .is_err());
    assert_eq!(
        KrakenFutures.instrument_urls(Market::Perp, "https://futures.kraken.com"),
        ["https://futures.kraken.com/derivatives/api/v3/instruments"]
    );
}

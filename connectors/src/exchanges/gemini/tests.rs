//! Table tests of the Gemini connector with the documented example frames.

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_gap, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const INITIAL: &str = r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.04","0.00121425"],["sell","9122.07","0.98942292"]],"trades":[{"type":"trade","symbol":"BTCUSD","event_id":169841458,"timestamp":1560976400428,"price":"9122.04","quantity":"0.0073173","side":"sell","tid":2840140800042677}],"auction_events":[]}"#;
const UPDATE: &str =
    r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["sell","9160.20","0.1921229751"]]}"#;
const TRADE: &str = r#"{"type":"trade","symbol":"BTCUSD","event_id":3575573053,"timestamp":151231241,"price":"9004.21000000","quantity":"0.09110000","side":"buy","tid":2840140800042677}"#;

fn frames_parser() -> GeminiParser {
    Gemini::new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

#[test]
fn plans_one_l2_subscribe_per_connection() {
    let request = testing::request(
        &Gemini,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book],
        &["BTC-USD", "ethbtc", "BTCGUSD"],
        ("wss://api.gemini.com/v2/marketdata", ""),
    );
    let plan = testing::first_plan(&Gemini, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"subscriptions":[{"name":"l2","symbols":["BTCUSD","ETHBTC","BTCGUSD"]}],"type":"subscribe"}"#
        ]
    );
    assert_eq!(plan.requests[0].answers, 3);
    assert_eq!(plan.requests[0].topics[2].name, "l2:BTCGUSD");
    testing::assert_symbol(&Gemini, Market::Spot, "btc/usd", ("BTC-USD", "BTCUSD"));
    testing::assert_symbol(&Gemini, Market::Spot, "zecltc", ("ZEC-LTC", "ZECLTC"));
    testing::assert_symbol(&Gemini, Market::Spot, "BTCGUSD", ("BTC-GUSD", "BTCGUSD"));
    testing::assert_symbol(&Gemini, Market::Spot, "paxgusd", ("PAXG-USD", "PAXGUSD"));
    assert!(Gemini.symbol(Market::Spot, "BTC_USD!").is_err());
    assert!(Gemini.symbol(Market::Perp, "BTC-USD").is_err());
    assert_eq!(
        Gemini.market_of_url("wss://api.gemini.com/v2/marketdata/"),
        Some(Market::Spot)
    );
    assert_eq!(
        Gemini.market_of_url("wss://api.gemini.com/v1/marketdata/BTCUSD"),
        None
    );
    assert_eq!(Gemini.market_of_url("wss://ws.bitstamp.net"), None);
}

#[test]
fn plans_shard_by_the_symbol_cap() {
    let symbols: Vec<String> = (0..(MAX_SYMBOLS_PER_CONNECTION + 1))
        .map(|i| format!("C{i}USD"))
        .collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let request = testing::request(
        &Gemini,
        Market::Spot,
        &[Channel::Trade],
        &refs,
        ("wss://api.gemini.com/v2/marketdata", ""),
    );
    let plans = Gemini.plan(&request).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].symbols.len(), MAX_SYMBOLS_PER_CONNECTION);
    assert_eq!(plans[1].requests[0].answers, 1);
    assert_eq!(
        Gemini.limits().connect_attempts,
        Some(RateWindow::per_secs(12, 60))
    );
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                INITIAL,
                Parsed::Acked(Answer::Topic("l2:BTCUSD".into())),
                &[
                    r#"{"v":1,"exchange":"gemini","market":"spot","symbol":"BTC-USD","native":"BTCUSD","ts_exchange":null,"ts_recv":7,"seq":null,"id":"gemini.spot.BTC-USD.book.snap.t7","kind":"book","bids":[["9122.04","0.00121425"]],"asks":[["9122.07","0.98942292"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#,
                    r#"{"v":1,"exchange":"gemini","market":"spot","symbol":"BTC-USD","native":"BTCUSD","ts_exchange":null,"ts_recv":7,"seq":null,"id":"gemini.spot.BTC-USD.bbo.t7","kind":"bbo","bid_price":"9122.04","bid_size":"0.00121425","ask_price":"9122.07","ask_size":"0.98942292"}"#,
                ],
            ),
            (
                UPDATE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gemini","market":"spot","symbol":"BTC-USD","native":"BTCUSD","ts_exchange":null,"ts_recv":7,"seq":null,"id":"gemini.spot.BTC-USD.book.t7","kind":"book","bids":[],"asks":[["9160.2","0.1921229751"]],"snapshot":false,"prev_seq":null,"checksum_ok":null}"#,
                ],
            ),
            (
                TRADE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gemini","market":"spot","symbol":"BTC-USD","native":"BTCUSD","ts_exchange":151231241000000,"ts_recv":7,"seq":null,"id":"gemini.spot.BTC-USD.trade.2840140800042677","kind":"trade","price":"9004.21","size":"0.0911","side":"buy","trade_id":"2840140800042677"}"#,
                ],
            ),
            (
                r#"{"type":"heartbeat","timestamp":1624493666869}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"type":"error","result":"error","reason":"InvalidSymbol","message":"Unknown symbol FOOBAR"}"#,
                Parsed::Refused(Refusal::unattributed(
                    "gemini error: InvalidSymbol: Unknown symbol FOOBAR",
                )),
                &[],
            ),
            (
                r#"{"type":"candles_1m_updates","symbol":"BTCUSD","changes":[[1561054500000,9350.18,9358.47,9350.18,9355.51,2.07]]}"#,
                Parsed::Ignored("candles"),
                &[],
            ),
        ],
    );
    // A second initial frame (after a resubscribe) is data, not another answer.
    let mut out = Vec::new();
    assert_eq!(p.parse(INITIAL, 8, &mut out), Ok(Parsed::Data));
    // A trade without `tid` (the recording's shape) is named by its `event_id`.
    let recorded = r#"{"type":"trade","symbol":"ANKRUSD","event_id":45465818387,"timestamp":1624493670759,"price":"0.07946","quantity":"1020.482111","side":"sell"}"#;
    out.clear();
    assert_eq!(p.parse(recorded, 9, &mut out), Ok(Parsed::Data));
    assert!(json(&out[0]).contains(r#""trade_id":"45465818387""#));
    assert!(json(&out[0]).contains(r#""side":"sell""#));
    let bad = TRADE.replace(r#""side":"buy""#, r#""side":"up""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    let unknown = r#"{"type":"mystery"}"#;
    assert_eq!(
        p.parse(unknown, 7, &mut out).unwrap_err().label(),
        "unknown"
    );
    assert_eq!(
        p.parse("[1]", 7, &mut out).unwrap_err().label(),
        "malformed"
    );
}

#[test]
fn a_live_connection_keeps_to_its_symbols() {
    let mut p = Gemini::new_parser(&testing::frames_plan(&Gemini, Market::Spot, &["ETH-USD"]));
    let mut out = Vec::new();
    assert_eq!(p.parse(TRADE, 7, &mut out), Ok(NOT_PLANNED));
    assert!(out.is_empty());
}

#[test]
fn book_changes_apply_and_trade_only_connections_publish_no_book() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(INITIAL, 1, &mut out).unwrap();
    let delete = r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.04","0"],["buy","9121.00","2"]]}"#;
    p.parse(delete, 2, &mut out).unwrap();
    let book = p.book("BTCUSD").unwrap().book();
    assert_eq!(book.best_bid().unwrap().0.as_str(), "9121");
    let plan = ConnectionPlan {
        channels: [Channel::Trade].into_iter().collect(),
        ..ConnectionPlan::for_frames("", Market::Spot)
    };
    let mut trades_only = Gemini::new_parser(&plan);
    out.clear();
    trades_only.parse(INITIAL, 1, &mut out).unwrap();
    trades_only.parse(UPDATE, 2, &mut out).unwrap();
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_socket_sequence_jump_gaps_and_resubscribes_every_book() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let with_seq =
        |frame: &str, seq: u64| frame.replacen('{', &format!(r#"{{"socket_sequence":{seq},"#), 1);
    let eth = INITIAL.replace("BTCUSD", "ETHUSD");
    p.parse(&with_seq(INITIAL, 0), 1, &mut out).unwrap();
    p.parse(&with_seq(&eth, 1), 1, &mut out).unwrap();
    p.parse(&with_seq(UPDATE, 2), 2, &mut out).unwrap();
    out.clear();
    // 3 is lost.
    p.parse(&with_seq(UPDATE, 4), 3, &mut out).unwrap();
    let gaps: Vec<_> = out
        .iter()
        .filter(|r| matches!(&r.data, Data::Status(s) if s.event == StatusEvent::Gap))
        .collect();
    assert_eq!(gaps.len(), 2);
    assert_gap(gaps[0], Some(3), Some(4));
    assert!(!p.book("BTCUSD").unwrap().is_synced());
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"subscriptions":[{"name":"l2","symbols":["BTCUSD"]}],"type":"unsubscribe"}"#,
            r#"{"subscriptions":[{"name":"l2","symbols":["BTCUSD"]}],"type":"subscribe"}"#,
            r#"{"subscriptions":[{"name":"l2","symbols":["ETHUSD"]}],"type":"unsubscribe"}"#,
            r#"{"subscriptions":[{"name":"l2","symbols":["ETHUSD"]}],"type":"subscribe"}"#,
        ]
    );
    // Throttled: asked again at once, nothing is sent twice.
    assert!(p.resubscribe().is_empty());
    // The fresh initial frame resyncs that book only.
    out.clear();
    p.parse(&with_seq(INITIAL, 5), 4, &mut out).unwrap();
    let kinds: Vec<String> = out.iter().map(json).collect();
    assert!(kinds[0].contains(r#""event":"resynced""#), "{kinds:?}");
    assert!(p.book("BTCUSD").unwrap().is_synced());
    assert!(!p.book("ETHUSD").unwrap().is_synced());
}

#[test]
fn symbol_details_parse() {
    let body = r#"{"symbol":"BTCUSD","base_currency":"BTC","quote_currency":"USD","tick_size":1E-8,"quote_increment":0.01,"min_order_size":"0.00001","status":"open","wrap_enabled":false,"product_type":"spot","contract_type":"vanilla","contract_price_currency":"USD"}"#;
    let list = parse_details(Market::Spot, body).unwrap();
    assert_eq!(
        rows(&list),
        vec![(
            "BTCUSD",
            "BTC-USD",
            Market::Spot,
            &testing::instrument(
                ("BTC", "USD", None),
                ("0.01", "0.00000001"),
                tickbridge_schema::InstrumentStatus::Trading
            )
        )]
    );
    let closed = body.replace(r#""status":"open""#, r#""status":"closed""#);
    assert_eq!(
        parse_details(Market::Spot, &closed).unwrap()[0].spec.status,
        tickbridge_schema::InstrumentStatus::Delisted
    );
    let swap = body.replace(r#""product_type":"spot""#, r#""product_type":"swap""#);
    assert!(parse_details(Market::Spot, &swap).unwrap().is_empty());
    let err = r#"{"result":"error","reason":"InvalidSymbol","message":"Unknown"}"#;
    assert_eq!(
        parse_details(Market::Spot, err).unwrap_err().label(),
        "invalid"
    );
}

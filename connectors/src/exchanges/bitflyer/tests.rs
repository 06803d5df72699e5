//! Table tests of the bitFlyer connector with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_gap, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const EXECUTIONS: &str = r#"{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"lightning_executions_FX_BTC_JPY","message":[{"id":2284079807,"side":"BUY","price":5860832.0,"size":0.01,"exec_date":"2021-12-12T23:05:29.9692063Z","buy_child_order_acceptance_id":"JRF20211212-230529-223057","sell_child_order_acceptance_id":"JRF20211212-230529-081757"}]}}"#;
const TICKER: &str = r#"{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"lightning_ticker_XLM_JPY","message":{"product_code":"XLM_JPY","state":"RUNNING","timestamp":"2021-12-12T23:05:30.1453869Z","tick_id":8300539,"best_bid":31.469,"best_ask":31.56,"best_bid_size":4958.91,"best_ask_size":2103.78,"total_bid_depth":1861489.76493760,"total_ask_depth":2124943.827473400000,"market_bid_size":0.0,"market_ask_size":0.0,"ltp":31.471,"volume":1471420.073424000000,"volume_by_product":1471420.073424000000}}}"#;

fn frames_parser() -> BitflyerParser {
    Bitflyer::new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

fn board(snapshot: bool, mid: &str, bids: &str, asks: &str) -> String {
    let channel = if snapshot {
        "lightning_board_snapshot_BTC_JPY"
    } else {
        "lightning_board_BTC_JPY"
    };
    format!(
        r#"{{"jsonrpc":"2.0","method":"channelMessage","params":{{"channel":"{channel}","message":{{"mid_price":{mid},"bids":{bids},"asks":{asks}}}}}}}"#
    )
}

#[test]
fn plans_one_subscribe_per_channel_with_ids() {
    let request = testing::request(
        &Bitflyer,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker],
        &["BTC-JPY", "eth_btc"],
        ("wss://ws.lightstream.bitflyer.com/json-rpc", ""),
    );
    let plan = testing::first_plan(&Bitflyer, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"id":1,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_executions_BTC_JPY"}}"#,
            r#"{"id":2,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_ticker_BTC_JPY"}}"#,
            r#"{"id":3,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_board_snapshot_BTC_JPY"}}"#,
            r#"{"id":4,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_board_BTC_JPY"}}"#,
            r#"{"id":5,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_executions_ETH_BTC"}}"#,
            r#"{"id":6,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_ticker_ETH_BTC"}}"#,
            r#"{"id":7,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_board_snapshot_ETH_BTC"}}"#,
            r#"{"id":8,"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_board_ETH_BTC"}}"#,
        ]
    );
    assert!(plan.requests.iter().all(|r| r.answers == 1));
    // Sharding: at most MAX_PRODUCTS_PER_CONNECTION products per connection.
    let symbols: Vec<String> = (0..=MAX_PRODUCTS_PER_CONNECTION)
        .map(|i| format!("C{i}_JPY"))
        .collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let many = testing::request(
        &Bitflyer,
        Market::Spot,
        &[Channel::Trade],
        &refs,
        ("wss://ws.lightstream.bitflyer.com/json-rpc", ""),
    );
    let plans = Bitflyer.plan(&many).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].requests.len(), MAX_PRODUCTS_PER_CONNECTION);
    assert_eq!(plans[1].requests.len(), 1);
}

#[test]
fn symbols_resolve_on_every_market() {
    let s = |m, user, want| testing::assert_symbol(&Bitflyer, m, user, want);
    s(Market::Spot, "BTC-JPY", ("BTC-JPY", "BTC_JPY"));
    s(Market::Spot, "eth_btc", ("ETH-BTC", "ETH_BTC"));
    s(Market::Perp, "BTC-JPY-PERP", ("BTC-JPY-PERP", "FX_BTC_JPY"));
    s(Market::Perp, "FX_BTC_JPY", ("BTC-JPY-PERP", "FX_BTC_JPY"));
    s(
        Market::Future,
        "BTC-JPY-211224",
        ("BTC-JPY-211224", "BTCJPY24DEC2021"),
    );
    s(
        Market::Future,
        "BTCJPY24DEC2021",
        ("BTC-JPY-211224", "BTCJPY24DEC2021"),
    );
    assert!(Bitflyer.symbol(Market::Spot, "FX_BTC_JPY").is_err());
    assert!(Bitflyer.symbol(Market::Spot, "BTCJPY_MAT2WK").is_err());
    assert!(Bitflyer.symbol(Market::Future, "BTCJPY32DEC2021").is_err());
    assert_eq!(
        Bitflyer.market_of_url("wss://ws.lightstream.bitflyer.com/json-rpc"),
        Some(Market::Spot)
    );
    assert_eq!(Bitflyer.market_of_url("wss://ws.bitstamp.net"), None);
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                EXECUTIONS,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitflyer","market":"perp","symbol":"BTC-JPY-PERP","native":"FX_BTC_JPY","ts_exchange":1639350329969206300,"ts_recv":7,"seq":null,"id":"bitflyer.perp.BTC-JPY-PERP.trade.2284079807","kind":"trade","price":"5860832","size":"0.01","side":"buy","trade_id":"2284079807"}"#,
                ],
            ),
            (
                TICKER,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitflyer","market":"spot","symbol":"XLM-JPY","native":"XLM_JPY","ts_exchange":1639350330145386900,"ts_recv":7,"seq":8300539,"id":"bitflyer.spot.XLM-JPY.bbo.8300539","kind":"bbo","bid_price":"31.469","bid_size":"4958.91","ask_price":"31.56","ask_size":"2103.78"}"#,
                    r#"{"v":1,"exchange":"bitflyer","market":"spot","symbol":"XLM-JPY","native":"XLM_JPY","ts_exchange":1639350330145386900,"ts_recv":7,"seq":8300539,"id":"bitflyer.spot.XLM-JPY.ticker.8300539","kind":"ticker","last":"31.471","bid_price":"31.469","bid_size":"4958.91","ask_price":"31.56","ask_size":"2103.78","open_24h":null,"high_24h":null,"low_24h":null,"volume_24h":"1471420.073424","quote_volume_24h":null}"#,
                ],
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":true}"#,
                Parsed::Acked(Answer::Id(1)),
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params"}}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(2),
                    vec![],
                    "error -32602: Invalid params",
                )),
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"result":false}"#,
                Parsed::Refused(Refusal::of(Answer::Id(3), vec![], "result false")),
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"lightning_executions_BTC_JPY","message":[{"id":1,"side":"","price":100.0,"size":1.0,"exec_date":"2021-12-12T23:05:29Z"}]}}"#,
                Parsed::Ignored("itayose executions (no taker side)"),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    let sell = EXECUTIONS.replace(r#""side":"BUY""#, r#""side":"SELL""#);
    assert_eq!(p.parse(&sell, 7, &mut out), Ok(Parsed::Data));
    assert!(json(&out[0]).contains(r#""side":"sell""#));
    let bad = EXECUTIONS.replace(r#""side":"BUY""#, r#""side":"UP""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    let unknown = r#"{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"mystery","message":{}}}"#;
    assert_eq!(
        p.parse(unknown, 7, &mut out).unwrap_err().label(),
        "unknown"
    );
    assert_eq!(
        p.parse("nope", 7, &mut out).unwrap_err().label(),
        "malformed"
    );
}

#[test]
fn a_live_connection_keeps_to_its_products() {
    let mut p = Bitflyer::new_parser(&testing::frames_plan(&Bitflyer, Market::Spot, &["BTC-JPY"]));
    let mut out = Vec::new();
    assert_eq!(p.parse(TICKER, 7, &mut out), Ok(NOT_PLANNED));
    assert!(out.is_empty());
}

#[test]
fn board_snapshot_then_diffs_and_a_broken_mid_gaps_until_the_next_snapshot() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    // A diff before any snapshot is not published.
    p.parse(
        &board(false, "100.5", r#"[{"price":100.0,"size":1.0}]"#, "[]"),
        1,
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
    let snap = board(
        true,
        "100.5",
        r#"[{"price":99.0,"size":2.0},{"price":100.0,"size":1.0}]"#,
        r#"[{"price":102.0,"size":1.0},{"price":101.0,"size":3.0}]"#,
    );
    p.parse(&snap, 2, &mut out).unwrap();
    // A diff: size 0 deletes, price 0 (itayose) is skipped; the mid agrees.
    let diff = board(
        false,
        "100",
        r#"[{"price":100.0,"size":0.0},{"price":0,"size":5.0}]"#,
        "[]",
    );
    p.parse(&diff, 3, &mut out).unwrap();
    let got: Vec<String> = out.iter().map(json).collect();
    assert_eq!(
        got,
        vec![
            r#"{"v":1,"exchange":"bitflyer","market":"spot","symbol":"BTC-JPY","native":"BTC_JPY","ts_exchange":null,"ts_recv":2,"seq":null,"id":"bitflyer.spot.BTC-JPY.book.snap.t2","kind":"book","bids":[["99","2"],["100","1"]],"asks":[["102","1"],["101","3"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#,
            r#"{"v":1,"exchange":"bitflyer","market":"spot","symbol":"BTC-JPY","native":"BTC_JPY","ts_exchange":null,"ts_recv":3,"seq":null,"id":"bitflyer.spot.BTC-JPY.book.t3","kind":"book","bids":[["100","0"]],"asks":[],"snapshot":false,"prev_seq":null,"checksum_ok":null}"#,
        ]
    );
    assert_eq!(
        p.book("BTC_JPY")
            .unwrap()
            .book()
            .best_bid()
            .unwrap()
            .0
            .as_str(),
        "99"
    );
    // Another product's book is not touched by BTC_JPY's break.
    let eth = snap.replace("BTC_JPY", "ETH_JPY");
    p.parse(&eth, 3, &mut out).unwrap();
    out.clear();
    // The exchange's mid says 101.5 but the book's is 100: a diff was missed.
    let wrong = board(false, "101.5", r#"[{"price":98.0,"size":1.0}]"#, "[]");
    p.parse(&wrong, 4, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_gap(&out[0], None, None);
    assert!(json(&out[0]).contains("mid_price 101.5 disagrees"));
    assert!(!p.book("BTC_JPY").unwrap().is_synced());
    assert!(p.book("ETH_JPY").unwrap().is_synced());
    // Diffs wait; the next snapshot resyncs.
    out.clear();
    p.parse(&diff, 5, &mut out).unwrap();
    assert!(out.is_empty());
    p.parse(&snap, 6, &mut out).unwrap();
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    assert!(p.book("BTC_JPY").unwrap().is_synced());
    // A crossed book is a break too.
    out.clear();
    let crossed = board(false, "101", r#"[{"price":101.5,"size":1.0}]"#, "[]");
    p.parse(&crossed, 7, &mut out).unwrap();
    assert!(json(&out[0]).contains("crossed book"));
}

#[test]
fn market_lists_parse_by_market_and_region() {
    let body = r#"[{"product_code":"BTC_JPY","market_type":"Spot"},{"product_code":"ETH_BTC","market_type":"Spot"},{"product_code":"FX_BTC_JPY","market_type":"FX"},{"product_code":"BTCJPY24DEC2021","alias":"BTCJPY_MAT2WK","market_type":"Futures"}]"#;
    let url = "https://api.bitflyer.com/v1/markets";
    let spot = Bitflyer.parse_instruments(Market::Spot, url, body).unwrap();
    let trading = InstrumentStatus::Trading;
    assert_eq!(
        rows(&spot),
        vec![
            (
                "BTC_JPY",
                "BTC-JPY",
                Market::Spot,
                &tickbridge_schema::Instrument {
                    status: trading,
                    ..crate::instruments::pair("BTC", "JPY", None)
                }
            ),
            (
                "ETH_BTC",
                "ETH-BTC",
                Market::Spot,
                &tickbridge_schema::Instrument {
                    status: trading,
                    ..crate::instruments::pair("ETH", "BTC", None)
                }
            ),
        ]
    );
    let perp = Bitflyer.parse_instruments(Market::Perp, url, body).unwrap();
    assert_eq!(rows(&perp)[0].1, "BTC-JPY-PERP");
    let future = Bitflyer
        .parse_instruments(Market::Future, url, body)
        .unwrap();
    assert_eq!(rows(&future)[0].1, "BTC-JPY-211224");
    assert_eq!(future[0].spec.expiry, Some(1_640_304_000_000_000_000));
    // The regional lists add only their own-currency products.
    let usa = r#"[{"product_code":"BTC_USD","market_type":"Spot"},{"product_code":"BTC_JPY","market_type":"Spot"}]"#;
    let us = Bitflyer
        .parse_instruments(Market::Spot, "https://api.bitflyer.com/v1/markets/usa", usa)
        .unwrap();
    assert_eq!(rows(&us).len(), 1);
    assert_eq!(rows(&us)[0].0, "BTC_USD");
    assert_eq!(
        Bitflyer.instrument_urls(Market::Future, "https://api.bitflyer.com/"),
        vec!["https://api.bitflyer.com/v1/markets"]
    );
    let err = r#"{"status":-100,"error_message":"Service unavailable","data":null}"#;
    assert_eq!(
        Bitflyer
            .parse_instruments(Market::Spot, url, err)
            .unwrap_err()
            .label(),
        "invalid"
    );
}

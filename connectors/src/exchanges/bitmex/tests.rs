//! Table tests of the BitMEX connector with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const WELCOME: &str = r#"{"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z","timestamp":"2021-07-22T22:36:07.865Z","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":39}}"#;
const TRADE: &str = r#"{"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,"price":17.297,"tickDirection":"PlusTick","trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","grossValue":899444,"homeNotional":16.73101673101673,"foreignNotional":289.39639639639637}]}"#;
const QUOTE: &str = r#"{"table":"quote","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","bidSize":750,"bidPrice":17.277,"askPrice":17.297,"askSize":123}]}"#;

fn frames_parser() -> BitmexParser {
    Bitmex::new_parser(&ConnectionPlan::for_frames("", Market::Perp))
}

fn book_frame(action: &str, symbol: &str, rows: &str) -> String {
    format!(r#"{{"table":"orderBookL2","action":"{action}","data":[{rows}]}}"#)
        .replace("SYM", symbol)
}

fn partial(symbol: &str) -> String {
    format!(
        r#"{{"table":"orderBookL2","action":"partial","keys":["symbol","id","side"],"types":{{"symbol":"symbol","id":"long","side":"symbol","size":"long","price":"float"}},"filter":{{"symbol":"{symbol}"}},"data":[{{"symbol":"{symbol}","id":10,"side":"Sell","size":5,"price":101.5}},{{"symbol":"{symbol}","id":20,"side":"Buy","size":7,"price":100}},{{"symbol":"{symbol}","id":21,"side":"Buy","size":3,"price":99.5}}]}}"#
    )
}

#[test]
fn plans_one_subscribe_per_symbol_with_all_its_topics() {
    let request = testing::request(
        &Bitmex,
        Market::Perp,
        &[
            Channel::Trade,
            Channel::Bbo,
            Channel::Book,
            Channel::Ticker,
            Channel::Funding,
            Channel::Liquidation,
        ],
        &["BTC-USD-PERP", "ETHUSD"],
        ("wss://ws.bitmex.com/realtime", ""),
    );
    let plan = testing::first_plan(&Bitmex, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"args":["trade:XBTUSD","quote:XBTUSD","orderBookL2:XBTUSD","instrument:XBTUSD","liquidation:XBTUSD"],"op":"subscribe"}"#,
            r#"{"args":["trade:ETHUSD","quote:ETHUSD","orderBookL2:ETHUSD","instrument:ETHUSD","liquidation:ETHUSD"],"op":"subscribe"}"#,
        ]
    );
    assert_eq!(plan.requests[0].answers, 5);
    // Sharding: 50 symbols per connection.
    let many: Vec<String> = (0..51).map(|i| format!("A{i}USDT")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let request = testing::request(
        &Bitmex,
        Market::Perp,
        &[Channel::Trade],
        &many,
        ("wss://ws.bitmex.com/realtime", ""),
    );
    let plans = Bitmex.plan(&request).unwrap();
    assert_eq!(
        plans.iter().map(|p| p.requests.len()).collect::<Vec<_>>(),
        vec![50, 1]
    );
    assert_eq!(
        Bitmex.market_of_url("wss://ws.bitmex.com/realtime"),
        Some(Market::Perp)
    );
    assert_eq!(
        Bitmex.market_of_url("wss://www.bitmex.com/realtime"),
        Some(Market::Perp)
    );
    assert_eq!(
        Bitmex.market_of_url("wss://ws.bitmex.com/realtimePlatform"),
        None
    );
    assert_eq!(Bitmex.market_of_url("wss://futures.kraken.com/ws/v1"), None);
    let limits = Bitmex.limits();
    assert_eq!(
        limits.connect_attempts,
        Some(RateWindow::per_secs(20, 3600))
    );
}

#[test]
fn symbols_resolve_in_both_forms() {
    let cases = [
        (Market::Perp, "BTC-USD-PERP", ("BTC-USD-PERP", "XBTUSD")),
        (Market::Perp, "XBTUSD", ("BTC-USD-PERP", "XBTUSD")),
        (Market::Perp, "solusdt", ("SOL-USDT-PERP", "SOLUSDT")),
        (Market::Perp, "ETH-USDT-PERP", ("ETH-USDT-PERP", "ETHUSDT")),
        (Market::Future, "XBTZ21", ("BTC-USD-211231", "XBTZ21")),
        (
            Market::Future,
            "BTC-USD-211231",
            ("BTC-USD-211231", "XBTZ21"),
        ),
        (Market::Future, "XRPU21", ("XRP-BTC-210924", "XRPU21")),
        (
            Market::Future,
            "XRP-BTC-210924",
            ("XRP-BTC-210924", "XRPU21"),
        ),
        (Market::Future, "ETHUSDU21", ("ETH-USD-210924", "ETHUSDU21")),
        (
            Market::Future,
            "BTC-EUR-210924",
            ("BTC-EUR-210924", "XBTEURU21"),
        ),
        (Market::Spot, "BTC-USDT", ("BTC-USDT", "XBT_USDT")),
        (Market::Spot, "XBT_USDT", ("BTC-USDT", "XBT_USDT")),
    ];
    for (market, user, want) in cases {
        testing::assert_symbol(&Bitmex, market, user, want);
    }
    assert!(Bitmex.symbol(Market::Perp, "XBTZ21").is_err(), "a future");
    assert!(Bitmex.symbol(Market::Perp, "BTC/USD!").is_err());
    assert!(Bitmex.symbol(Market::Option, "BTC-USD-PERP").is_err());
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                WELCOME,
                Parsed::Info(
                    "Welcome to the BitMEX Realtime API. (version 2021-07-14T01:26:29.000Z)".into(),
                ),
                &[],
            ),
            ("pong", Parsed::Heartbeat, &[]),
            (
                r#"{"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe","args":["trade:XBTUSD"]}}"#,
                Parsed::Acked(Answer::Topic("trade:XBTUSD".into())),
                &[],
            ),
            (
                r#"{"status":400,"error":"Unknown or expired symbol: FOOBAR","meta":{},"request":{"op":"subscribe","args":["trade:FOOBAR"]}}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("trade:FOOBAR".into()),
                    Vec::new(),
                    "error 400: Unknown or expired symbol: FOOBAR",
                )),
                &[],
            ),
            (
                TRADE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitmex","market":"perp","symbol":"UNI-USDT-PERP","native":"UNIUSDT","ts_exchange":1626993370014000000,"ts_recv":7,"seq":null,"id":"bitmex.perp.UNI-USDT-PERP.trade.39744121-c20e-44ba-8cc8-a6b8cdf72885","kind":"trade","price":"17.297","size":"52","side":"buy","trade_id":"39744121-c20e-44ba-8cc8-a6b8cdf72885"}"#,
                ],
            ),
            (
                QUOTE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitmex","market":"perp","symbol":"UNI-USDT-PERP","native":"UNIUSDT","ts_exchange":1626993370014000000,"ts_recv":7,"seq":null,"id":"bitmex.perp.UNI-USDT-PERP.bbo.1626993370014.17.277x750.17.297x123","kind":"bbo","bid_price":"17.277","bid_size":"750","ask_price":"17.297","ask_size":"123"}"#,
                ],
            ),
            (
                r#"{"table":"trade","action":"partial","keys":[],"filter":{"symbol":"XRPU21"},"data":[{"timestamp":"2021-07-22T22:24:15.328Z","symbol":"XRPU21","side":"Sell","size":15,"price":0.00001819,"tickDirection":"MinusTick","trdMatchID":"8f8fe9db-eb13-26a5-dea2-a398d89e04a8","grossValue":2728,"homeNotional":15,"foreignNotional":0.00027285}]}"#,
                Parsed::Info("trade partial (earlier trades)".into()),
                &[],
            ),
            (
                r#"{"table":"liquidation","action":"insert","data":[{"orderID":"a9bc4e2c-51a3-9d6b-3c4d-0d0e8b6e0e1f","symbol":"XBTUSD","side":"Sell","price":29500.5,"leavesQty":2000}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitmex","market":"perp","symbol":"BTC-USD-PERP","native":"XBTUSD","ts_exchange":null,"ts_recv":7,"seq":null,"id":"bitmex.perp.BTC-USD-PERP.liquidation.a9bc4e2c-51a3-9d6b-3c4d-0d0e8b6e0e1f","kind":"liquidation","price":"29500.5","size":"2000","side":"sell"}"#,
                ],
            ),
            (
                r#"{"table":"liquidation","action":"update","data":[{"orderID":"a9bc4e2c-51a3-9d6b-3c4d-0d0e8b6e0e1f","symbol":"XBTUSD","leavesQty":1000}]}"#,
                Parsed::Ignored("liquidation update or delete"),
                &[],
            ),
            (
                r#"{"table":"funding","action":"insert","data":[{"timestamp":"2021-07-22T20:00:00.000Z","symbol":"XBTUSD","fundingInterval":"2000-01-01T08:00:00.000Z","fundingRate":0.0001,"fundingRateDaily":0.0003}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitmex","market":"perp","symbol":"BTC-USD-PERP","native":"XBTUSD","ts_exchange":1626984000000000000,"ts_recv":7,"seq":null,"id":"bitmex.perp.BTC-USD-PERP.funding.settled.1626984000000","kind":"funding","rate":"0.0001","predicted_rate":null,"next_funding_ts":null}"#,
                ],
            ),
            (
                r#"{"table":"tradeBin1m","action":"insert","data":[]}"#,
                Parsed::Ignored("tradeBin"),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    assert!(p
        .parse(
            r#"{"table":"nope","action":"insert","data":[]}"#,
            7,
            &mut out
        )
        .is_err());
    assert!(p.parse(r#"{"hello":1}"#, 7, &mut out).is_err());
    assert!(p.parse("not json", 7, &mut out).is_err());
}

#[test]
fn instrument_rows_give_ticker_mark_price_open_interest_and_funding() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let partial = r#"{"table":"instrument","action":"partial","keys":["symbol"],"data":[{"symbol":"XBTUSD","lastPrice":32110.5,"bidPrice":32110,"askPrice":32110.5,"markPrice":32115.38,"indicativeSettlePrice":32111.2,"openInterest":584012345,"fundingRate":0.0001,"indicativeFundingRate":0.0001,"fundingTimestamp":"2021-07-23T04:00:00.000Z","highPrice":32450,"lowPrice":31700,"prevPrice24h":31900,"homeNotional24h":12345.6789,"foreignNotional24h":398765432,"timestamp":"2021-07-22T22:36:10.000Z"}]}"#;
    assert_eq!(p.parse(partial, 7, &mut out), Ok(Parsed::Data));
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(kinds, ["ticker", "mark_price", "open_interest", "funding"]);
    assert_eq!(
        json(&out[0]),
        r#"{"v":1,"exchange":"bitmex","market":"perp","symbol":"BTC-USD-PERP","native":"XBTUSD","ts_exchange":1626993370000000000,"ts_recv":7,"seq":null,"id":"bitmex.perp.BTC-USD-PERP.ticker.1626993370000","kind":"ticker","last":"32110.5","bid_price":"32110","bid_size":null,"ask_price":"32110.5","ask_size":null,"open_24h":"31900","high_24h":"32450","low_24h":"31700","volume_24h":"12345.6789","quote_volume_24h":"398765432"}"#
    );
    assert_eq!(
        json(&out[3]),
        r#"{"v":1,"exchange":"bitmex","market":"perp","symbol":"BTC-USD-PERP","native":"XBTUSD","ts_exchange":1626993370000000000,"ts_recv":7,"seq":null,"id":"bitmex.perp.BTC-USD-PERP.funding.1626993370000","kind":"funding","rate":"0.0001","predicted_rate":"0.0001","next_funding_ts":1627012800000000000}"#
    );
    // An update of the mark price alone: a mark price, from the merged row.
    out.clear();
    let update = r#"{"table":"instrument","action":"update","data":[{"symbol":"XBTUSD","markPrice":32120.01,"timestamp":"2021-07-22T22:36:15.000Z"}]}"#;
    assert_eq!(p.parse(update, 8, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 1);
    let Data::MarkPrice(m) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(
        (
            m.mark_price.as_str(),
            m.index_price.as_ref().map(|d| d.as_str())
        ),
        ("32120.01", Some("32111.2"))
    );
}

#[test]
fn the_book_follows_ids_and_a_break_resubscribes_that_symbol_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    for s in ["XBTUSD", "ETHUSD"] {
        assert_eq!(p.parse(&partial(s), 1, &mut out), Ok(Parsed::Data));
    }
    assert_eq!(out.len(), 2);
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert!(b.snapshot && b.bids.len() == 2 && b.asks.len() == 1);
    assert_eq!(out[0].id, "bitmex.perp.BTC-USD-PERP.book.snap.t1.np");
    out.clear();
    // Insert, update (size only), delete (key only).
    let frames = [
        book_frame(
            "insert",
            "XBTUSD",
            r#"{"symbol":"SYM","id":11,"side":"Sell","size":2,"price":102}"#,
        ),
        book_frame(
            "update",
            "XBTUSD",
            r#"{"symbol":"SYM","id":20,"side":"Buy","size":9}"#,
        ),
        book_frame(
            "delete",
            "XBTUSD",
            r#"{"symbol":"SYM","id":21,"side":"Buy"}"#,
        ),
    ];
    for f in &frames {
        assert_eq!(p.parse(f, 2, &mut out), Ok(Parsed::Data), "{f}");
    }
    let changes: Vec<String> = out
        .iter()
        .map(|r| match &r.data {
            Data::Book(b) => format!(
                "{:?}/{:?}",
                b.bids
                    .iter()
                    .map(|l| format!("{}@{}", l.1.as_str(), l.0.as_str()))
                    .collect::<Vec<_>>(),
                b.asks
                    .iter()
                    .map(|l| format!("{}@{}", l.1.as_str(), l.0.as_str()))
                    .collect::<Vec<_>>()
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        changes,
        [r#"[]/["2@102"]"#, r#"["9@100"]/[]"#, r#"["0@99.5"]/[]"#]
    );
    assert_eq!(out[2].id, "bitmex.perp.BTC-USD-PERP.book.t2.n3");
    let book = p.book("XBTUSD").unwrap().book();
    assert_eq!(
        book.best_bid().map(|(p, s)| (p.as_str(), s.as_str())),
        Some(("100", "9"))
    );
    assert_eq!(book.len(), (1, 2));
    // An update of an id the book lacks: gap, and the XBTUSD book alone is resubscribed.
    out.clear();
    let unknown = book_frame(
        "update",
        "XBTUSD",
        r#"{"symbol":"SYM","id":99,"side":"Buy","size":1}"#,
    );
    assert_eq!(p.parse(&unknown, 3, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], None, None);
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"args":["orderBookL2:XBTUSD"],"op":"unsubscribe"}"#,
            r#"{"args":["orderBookL2:XBTUSD"],"op":"subscribe"}"#,
        ]
    );
    assert!(p.resubscribe().is_empty(), "throttled");
    // Nothing more for XBTUSD until its partial; ETHUSD goes on.
    out.clear();
    let more = book_frame(
        "update",
        "XBTUSD",
        r#"{"symbol":"SYM","id":10,"side":"Sell","size":1}"#,
    );
    assert_eq!(p.parse(&more, 4, &mut out), Ok(Parsed::Data));
    assert!(out.is_empty());
    let eth = book_frame(
        "update",
        "ETHUSD",
        r#"{"symbol":"SYM","id":10,"side":"Sell","size":1}"#,
    );
    assert_eq!(p.parse(&eth, 4, &mut out), Ok(Parsed::Data));
    assert_eq!((out.len(), out[0].symbol.as_str()), (1, "ETH-USD-PERP"));
    assert!(p.book("ETHUSD").unwrap().is_synced());
    // The resubscription's answers are informational; its partial repairs the book.
    assert_eq!(
        p.parse(r#"{"success":true,"unsubscribe":"orderBookL2:XBTUSD","request":{"op":"unsubscribe","args":["orderBookL2:XBTUSD"]}}"#, 5, &mut out),
        Ok(Parsed::Info("unsubscribed orderBookL2:XBTUSD".into()))
    );
    assert_eq!(
        p.parse(r#"{"success":true,"subscribe":"orderBookL2:XBTUSD","request":{"op":"subscribe","args":["orderBookL2:XBTUSD"]}}"#, 5, &mut out),
        Ok(Parsed::Info("resubscribed orderBookL2:XBTUSD".into()))
    );
    out.clear();
    assert_eq!(p.parse(&partial("XBTUSD"), 6, &mut out), Ok(Parsed::Data));
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    assert!(matches!(&out[1].data, Data::Book(b) if b.snapshot));
    // Other detectable breaks: an insert of a held id, a delete of an unknown one,
    // changes before any partial.
    for (i, f) in [
        book_frame(
            "insert",
            "XBTUSD",
            r#"{"symbol":"SYM","id":10,"side":"Sell","size":2,"price":101.5}"#,
        ),
        book_frame(
            "delete",
            "ETHUSD",
            r#"{"symbol":"SYM","id":77,"side":"Sell"}"#,
        ),
        book_frame(
            "update",
            "SOLUSDT",
            r#"{"symbol":"SYM","id":1,"side":"Sell","size":2}"#,
        ),
    ]
    .iter()
    .enumerate()
    {
        out.clear();
        assert_eq!(p.parse(f, 10 + i as i64, &mut out), Ok(Parsed::Data), "{f}");
        assert_eq!(out.len(), 1, "{f}");
        testing::assert_gap(&out[0], None, None);
    }
}

#[test]
fn frames_of_symbols_the_plan_does_not_name_are_ignored() {
    let mut p = Bitmex::new_parser(&testing::frames_plan(&Bitmex, Market::Perp, &["XBTUSD"]));
    let mut out = Vec::new();
    assert_eq!(p.parse(TRADE, 1, &mut out), Ok(NOT_PLANNED));
    assert_eq!(p.parse(QUOTE, 1, &mut out), Ok(NOT_PLANNED));
    assert_eq!(p.parse(&partial("ETHUSD"), 1, &mut out), Ok(NOT_PLANNED));
    assert!(out.is_empty());
    assert_eq!(p.parse(&partial("XBTUSD"), 1, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 1);
}

#[test]
fn the_active_instrument_list_is_parsed_per_market() {
    let body = r#"[{"symbol":"XBTUSD","typ":"FFWCSX","state":"Open","underlying":"XBT","quoteCurrency":"USD","settlCurrency":"XBt","expiry":null,"tickSize":0.5,"lotSize":100},
{"symbol":"XBTZ21","typ":"FFCCSX","state":"Open","underlying":"XBT","quoteCurrency":"USD","settlCurrency":"XBt","expiry":"2021-12-31T12:00:00.000Z","tickSize":0.5,"lotSize":100},
{"symbol":"TRXU21","typ":"FFCCSX","state":"Open","underlying":"TRX","quoteCurrency":"XBT","settlCurrency":"XBt","expiry":"2021-09-24T12:00:00.000Z","tickSize":1e-10,"lotSize":100},
{"symbol":"XBT_USDT","typ":"IFXXXP","state":"Open","underlying":"XBT","quoteCurrency":"USDT","settlCurrency":"USDt","expiry":null,"tickSize":0.5,"lotSize":1000},
{"symbol":".BXBT","typ":"MRCXXX","state":"Unlisted","underlying":"XBT","quoteCurrency":"USD","settlCurrency":"","tickSize":0.01,"lotSize":null}]"#;
    let perps = Bitmex.parse_instruments(Market::Perp, "", body).unwrap();
    let futures = Bitmex.parse_instruments(Market::Future, "", body).unwrap();
    let spot = Bitmex.parse_instruments(Market::Spot, "", body).unwrap();
    let perp_spec = tickbridge_schema::Instrument {
        ..testing::instrument(
            ("BTC", "USD", Some("BTC")),
            ("0.5", "100"),
            InstrumentStatus::Trading,
        )
    };
    assert_eq!(
        rows(&perps),
        vec![("XBTUSD", "BTC-USD-PERP", Market::Perp, &perp_spec)]
    );
    let f = rows(&futures);
    assert_eq!(
        f.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [("XBTZ21", "BTC-USD-211231"), ("TRXU21", "TRX-BTC-210924")]
    );
    assert_eq!(f[1].3.tick_size, testing::d("0.0000000001"));
    assert_eq!(
        rows(&spot).iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [("XBT_USDT", "BTC-USDT")]
    );
    assert_eq!(spot[0].spec.settle.as_deref(), Some("USDT"));
    assert!(Bitmex
        .parse_instruments(
            Market::Perp,
            "",
            r#"{"error":{"message":"Not Found","name":"HTTPError"}}"#
        )
        .is_err());
    assert_eq!(
        Bitmex.instrument_urls(Market::Future, "https://www.bitmex.com/"),
        ["https://www.bitmex.com/api/v1/instrument/active"]
    );
}

//! Table tests of the Upbit connector with the documented example frames.

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::instruments::pair;
use crate::symbols::NOT_PLANNED;

const TRADE: &str = r#"{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_date":"2024-10-31","trade_time":"01:07:42","trade_timestamp":1730336862047,"trade_price":100473000.00000000,"trade_volume":0.00014208,"ask_bid":"BID","prev_closing_price":100571000.00000000,"change":"FALL","change_price":98000.00000000,"sequential_id":17303368620470000,"best_ask_price":100473000,"best_ask_size":0.43139478,"best_bid_price":100465000,"best_bid_size":0.01990656,"stream_type":"REALTIME"}"#;
const SIMPLE_TRADE: &str = r#"{"ty":"trade","cd":"KRW-LAMB","tms":1618678262712,"td":"2021-04-17","ttm":"16:51:02","ttms":1618678262000,"tp":127.0,"tv":46.48838371,"ab":"ASK","pcp":123.00000000,"c":"RISE","cp":4.00000000,"sid":1618678262000003,"st":"REALTIME"}"#;
const TICKER: &str = r#"{"type":"ticker","code":"KRW-BTC","opening_price":31883000,"high_price":32310000,"low_price":31855000,"trade_price":32287000,"prev_closing_price":31883000.00000000,"acc_trade_price":78039261076.51241000,"change":"RISE","change_price":404000.00000000,"signed_change_price":404000.00000000,"change_rate":0.0126713295,"signed_change_rate":0.0126713295,"ask_bid":"ASK","trade_volume":0.03103806,"acc_trade_volume":2429.58834336,"trade_date":"20230221","trade_time":"074102","trade_timestamp":1676965262139,"acc_ask_volume":1146.25573608,"acc_bid_volume":1283.33260728,"highest_52_week_price":57678000.00000000,"highest_52_week_date":"2022-03-28","lowest_52_week_price":20700000.00000000,"lowest_52_week_date":"2022-12-30","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":null,"market_warning":"NONE","timestamp":1676965262177,"acc_trade_price_24h":228827082483.70729000,"acc_trade_volume_24h":7158.80283560,"stream_type":"REALTIME"}"#;

fn book(code: &str, ms: u64, units: &str) -> String {
    format!(
        r#"{{"type":"orderbook","code":"{code}","timestamp":{ms},"total_ask_size":1.0,"total_bid_size":1.0,"orderbook_units":{units},"stream_type":"REALTIME","level":0}}"#
    )
}

const UNITS: &str = r#"[{"ask_price":100500000,"bid_price":100499000,"ask_size":0.0351,"bid_size":0.9731},{"ask_price":100501000,"bid_price":100498000,"ask_size":0.0113,"bid_size":0.0003}]"#;

fn frames_parser() -> UpbitParser {
    Upbit::new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

#[test]
fn plans_one_request_of_every_type_per_connection() {
    let request = testing::request(
        &Upbit,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker],
        &["BTC-KRW", "BTC-ETH"],
        (WS_URL, ""),
    );
    let plans = Upbit.plan(&request).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(
        plans[0].texts(),
        vec![
            r#"[{"ticket":"tickbridge-1"},{"codes":["KRW-BTC","BTC-ETH"],"type":"trade"},{"codes":["KRW-BTC","BTC-ETH"],"type":"orderbook"},{"codes":["KRW-BTC","BTC-ETH"],"type":"ticker"},{"format":"DEFAULT"}]"#
        ]
    );
    assert_eq!(plans[0].url, WS_URL);
    assert!(plans[0].encode.is_none(), "an Upbit request is never split");
    // The bbo alone asks for one level pair; a book depth is rounded up to a served one.
    let bbo = testing::request(
        &Upbit,
        Market::Spot,
        &[Channel::Bbo],
        &["KRW-BTC"],
        (WS_URL, ""),
    );
    assert_eq!(
        testing::first_plan(&Upbit, &bbo).texts(),
        vec![
            r#"[{"ticket":"tickbridge-1"},{"codes":["KRW-BTC.1"],"type":"orderbook"},{"format":"DEFAULT"}]"#
        ]
    );
    let mut deep = testing::request(
        &Upbit,
        Market::Spot,
        &[Channel::Book],
        &["KRW-BTC"],
        (WS_URL, ""),
    );
    deep.books.snapshot_depth = Some(10);
    assert!(testing::first_plan(&Upbit, &deep).texts()[0].contains(r#"["KRW-BTC.15"]"#));
}

#[test]
fn plans_shard_above_the_codes_per_connection() {
    let names: Vec<String> = (0..(MAX_CODES_PER_CONNECTION + 1))
        .map(|i| format!("C{i}-KRW"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let request = testing::request(
        &Upbit,
        Market::Spot,
        &[Channel::Trade],
        &names,
        (WS_URL, ""),
    );
    let plans = Upbit.plan(&request).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].symbols.len(), MAX_CODES_PER_CONNECTION);
    assert_eq!(
        plans[1].texts(),
        vec![format!(
            r#"[{{"ticket":"tickbridge-1"}},{{"codes":["KRW-C{}"],"type":"trade"}},{{"format":"DEFAULT"}}]"#,
            MAX_CODES_PER_CONNECTION
        )]
    );
    assert_eq!(plans[0].send_interval, Duration::from_millis(200));
    let limits = Upbit.limits();
    assert_eq!(limits.connect_attempts, Some(RateWindow::per_secs(5, 1)));
}

#[test]
fn symbols_resolve_quote_first() {
    testing::assert_symbol(&Upbit, Market::Spot, "BTC-KRW", ("BTC-KRW", "KRW-BTC"));
    testing::assert_symbol(&Upbit, Market::Spot, "krw-btc", ("BTC-KRW", "KRW-BTC"));
    testing::assert_symbol(&Upbit, Market::Spot, "ETH-BTC", ("ETH-BTC", "BTC-ETH"));
    testing::assert_symbol(&Upbit, Market::Spot, "BTC-ETH", ("ETH-BTC", "BTC-ETH"));
    testing::assert_symbol(&Upbit, Market::Spot, "USDT-XRP", ("XRP-USDT", "USDT-XRP"));
    testing::assert_symbol(&Upbit, Market::Spot, "BTC-USDT", ("BTC-USDT", "USDT-BTC"));
    testing::assert_symbol(&Upbit, Market::Spot, "USDT/KRW", ("USDT-KRW", "KRW-USDT"));
    assert!(Upbit.symbol(Market::Spot, "ETH-XRP").is_err());
    assert!(Upbit.symbol(Market::Spot, "KRWBTC").is_err());
    assert!(Upbit.symbol(Market::Perp, "BTC-KRW").is_err());
    assert_eq!(Upbit.market_of_url(WS_URL), Some(Market::Spot));
    assert_eq!(
        Upbit.market_of_url("wss://sg-api.upbit.com/websocket/v1/"),
        Some(Market::Spot)
    );
    assert_eq!(
        Upbit.market_of_url("wss://api.upbit.com/websocket/v1/private"),
        None
    );
    assert_eq!(Upbit.market_of_url("wss://ws.bitstamp.net"), None);
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
                    r#"{"v":1,"exchange":"upbit","market":"spot","symbol":"BTC-KRW","native":"KRW-BTC","ts_exchange":1730336862047000000,"ts_recv":7,"seq":null,"id":"upbit.spot.BTC-KRW.trade.17303368620470000","kind":"trade","price":"100473000","size":"0.00014208","side":"buy","trade_id":"17303368620470000"}"#,
                ],
            ),
            (
                SIMPLE_TRADE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"upbit","market":"spot","symbol":"LAMB-KRW","native":"KRW-LAMB","ts_exchange":1618678262000000000,"ts_recv":7,"seq":null,"id":"upbit.spot.LAMB-KRW.trade.1618678262000003","kind":"trade","price":"127","size":"46.48838371","side":"sell","trade_id":"1618678262000003"}"#,
                ],
            ),
            (r#"{"status":"UP"}"#, Parsed::Heartbeat, &[]),
            (
                r#"{"error":{"name":"WRONG_FORMAT","message":"요청 형식이 올바르지 않습니다."}}"#,
                Parsed::Refused(Refusal::unattributed(
                    "WRONG_FORMAT: 요청 형식이 올바르지 않습니다.",
                )),
                &[],
            ),
            (
                r#"{"type":"candle.1s","code":"KRW-BTC"}"#,
                Parsed::Ignored("candle"),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    assert_eq!(p.parse(TICKER, 7, &mut out), Ok(Parsed::Data));
    let t = json(&out[0]);
    assert!(t.contains(r#""kind":"ticker","last":"32287000""#), "{t}");
    assert!(
        t.contains(r#""volume_24h":"7158.8028356","quote_volume_24h":"228827082483.70729""#),
        "{t}"
    );
    assert!(t.contains(r#""ts_exchange":1676965262177000000"#), "{t}");
    let bad = TRADE.replace(r#""ask_bid":"BID""#, r#""ask_bid":"X""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    assert_eq!(
        p.parse(r#"{"type":"mystery"}"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(
        p.parse(r#"{"status":"DOWN"}"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(p.parse("{}", 7, &mut out).unwrap_err().label(), "unknown");
    assert_eq!(p.parse("[{", 7, &mut out).unwrap_err().label(), "malformed");
}

#[test]
fn the_first_data_confirms_the_request_and_an_error_before_refuses_it() {
    let request = testing::request(
        &Upbit,
        Market::Spot,
        &[Channel::Trade],
        &["BTC-KRW"],
        (WS_URL, ""),
    );
    let plan = testing::first_plan(&Upbit, &request);
    let mut p = Upbit::new_parser(&plan);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(r#"{"status":"UP"}"#, 1, &mut out),
        Ok(Parsed::Heartbeat)
    );
    assert_eq!(
        p.parse(TRADE, 1, &mut out),
        Ok(Parsed::Acked(Answer::InOrder))
    );
    assert_eq!(out.len(), 1, "the confirming frame's records are kept");
    assert_eq!(p.parse(TRADE, 1, &mut out), Ok(Parsed::Data));
    // A frame of a code the connection did not ask for.
    let other = TRADE.replace("KRW-BTC", "KRW-ETH");
    assert_eq!(p.parse(&other, 1, &mut out), Ok(NOT_PLANNED));

    let mut p = Upbit::new_parser(&plan);
    let error = r#"{"error":{"name":"INVALID_PARAM","message":"bad"}}"#;
    assert_eq!(
        p.parse(error, 1, &mut out),
        Ok(Parsed::Refused(Refusal::of(
            Answer::InOrder,
            vec![],
            "INVALID_PARAM: bad"
        )))
    );
    assert_eq!(
        p.parse(error, 1, &mut out),
        Ok(Parsed::Refused(Refusal::unattributed("INVALID_PARAM: bad")))
    );
}

#[test]
fn every_orderbook_is_a_snapshot_and_its_top_the_bbo() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let frame = book("KRW-BTC", 1730336862082, UNITS);
    assert_eq!(p.parse(&frame, 5, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 2);
    let bbo = json(&out[0]);
    assert!(
        bbo.contains(r#""seq":1730336862082,"id":"upbit.spot.BTC-KRW.bbo.1730336862082.c"#),
        "{bbo}"
    );
    assert!(bbo.contains(r#""bid_price":"100499000","bid_size":"0.9731","ask_price":"100500000","ask_size":"0.0351""#), "{bbo}");
    let b = json(&out[1]);
    assert!(
        b.contains(r#""id":"upbit.spot.BTC-KRW.book.snap.1730336862082.c"#),
        "{b}"
    );
    assert!(b.contains(r#""bids":[["100499000","0.9731"],["100498000","0.0003"]],"asks":[["100500000","0.0351"],["100501000","0.0113"]],"snapshot":true,"prev_seq":null"#), "{b}");
    // The same millisecond, another book: another id.
    let again = book("KRW-BTC", 1730336862082, &UNITS.replace("0.9731", "0.5"));
    out.clear();
    p.parse(&again, 6, &mut out).unwrap();
    assert_ne!(out[1].id, p_id(&frame));
    assert_eq!(
        p.book("KRW-BTC")
            .unwrap()
            .book()
            .best_bid()
            .unwrap()
            .1
            .as_str(),
        "0.5"
    );
}

/// The book id the first frame got (for comparing ids).
fn p_id(frame: &str) -> String {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(frame, 5, &mut out).unwrap();
    out[1].id.clone()
}

#[test]
fn an_older_or_crossed_book_is_a_gap_of_that_pair_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(&book("KRW-BTC", 2_000, UNITS), 1, &mut out)
        .unwrap();
    p.parse(&book("KRW-ETH", 2_000, UNITS), 1, &mut out)
        .unwrap();
    out.clear();
    // Older than the last one: a gap of KRW-BTC, nothing published for it.
    p.parse(&book("KRW-BTC", 1_999, UNITS), 2, &mut out)
        .unwrap();
    let gaps: Vec<_> = out
        .iter()
        .filter(|r| matches!(r.data, Data::Status(_)))
        .collect();
    assert_eq!(gaps.len(), 1);
    testing::assert_gap(gaps[0], Some(2_000), Some(1_999));
    assert_eq!(gaps[0].symbol, "BTC-KRW");
    assert!(!out.iter().any(|r| matches!(r.data, Data::Book(_))));
    assert!(!p.book("KRW-BTC").unwrap().is_synced());
    assert!(p.book("KRW-ETH").unwrap().is_synced());
    // The next full book resyncs it.
    out.clear();
    p.parse(&book("KRW-BTC", 2_001, UNITS), 3, &mut out)
        .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["bbo", "status", "book"]);
    let Data::Status(s) = &out[1].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    // A crossed book.
    out.clear();
    let crossed = r#"[{"ask_price":100,"bid_price":101,"ask_size":1,"bid_size":1}]"#;
    p.parse(&book("KRW-BTC", 2_002, crossed), 4, &mut out)
        .unwrap();
    let status: Vec<_> = out
        .iter()
        .filter(|r| matches!(r.data, Data::Status(_)))
        .collect();
    testing::assert_gap(status[0], Some(2_001), Some(2_002));
    assert!(p.book("KRW-ETH").unwrap().is_synced());
}

#[test]
fn the_pair_list_parses_quote_first() {
    let body = r#"[{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin"},{"market":"BTC-ETH","korean_name":"이더리움","english_name":"Ethereum","market_warning":"NONE"}]"#;
    let list = Upbit.parse_instruments(Market::Spot, "", body).unwrap();
    let got = rows(&list);
    assert_eq!(
        got,
        vec![
            (
                "KRW-BTC",
                "BTC-KRW",
                Market::Spot,
                &pair("BTC", "KRW", None)
            ),
            (
                "BTC-ETH",
                "ETH-BTC",
                Market::Spot,
                &pair("ETH", "BTC", None)
            ),
        ]
    );
    assert_eq!(got[1].3.tick_size, None);
    assert_eq!(
        Upbit.instrument_urls(Market::Spot, "https://api.upbit.com/"),
        vec!["https://api.upbit.com/v1/market/all"]
    );
    let refused = Upbit.parse_instruments(
        Market::Spot,
        "",
        r#"{"error":{"name":"too_many_requests","message":"x"}}"#,
    );
    assert!(refused.is_err());
    assert!(Upbit
        .parse_instruments(Market::Spot, "", r#"[{"market":"KRWBTC"}]"#)
        .is_err());
}

//! Table tests of the Bitfinex connector with the documented example frames (shaped
//! after the v2 docs; the data frames are the recording's where it has them).

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const SUB_TRADES: &str =
    r#"{"event":"subscribed","channel":"trades","chanId":12,"symbol":"tBTCUSD","pair":"BTCUSD"}"#;
const SUB_TICKER: &str =
    r#"{"event":"subscribed","channel":"ticker","chanId":13,"symbol":"tBTCUSD","pair":"BTCUSD"}"#;
const SUB_BOOK: &str = r#"{"event":"subscribed","channel":"book","chanId":10,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"}"#;
const SUB_BOOK_ETH: &str = r#"{"event":"subscribed","channel":"book","chanId":11,"symbol":"tETHUSD","prec":"P0","freq":"F0","len":"25","pair":"ETHUSD"}"#;
const TE: &str = r#"[12,"te",[401597395,1574694478808,-0.005,7245.3],3]"#;

fn frames_parser() -> BitfinexParser {
    Bitfinex::new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

/// A parser bound to the four channels above.
fn bound() -> BitfinexParser {
    let mut p = frames_parser();
    let mut out = Vec::new();
    for f in [SUB_TRADES, SUB_TICKER, SUB_BOOK, SUB_BOOK_ETH] {
        assert!(
            matches!(p.parse(f, 1, &mut out), Ok(Parsed::Acked(_))),
            "{f}"
        );
    }
    p
}

fn kinds(out: &[tickbridge_schema::Record]) -> Vec<&'static str> {
    out.iter().map(|r| r.kind().as_str()).collect()
}

#[test]
fn plans_conf_then_one_subscribe_per_channel_and_shards_by_25_channels() {
    let request = testing::request(
        &Bitfinex,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker],
        &["BTC-USD", "tAAVE:USD"],
        ("wss://api-pub.bitfinex.com/ws/2", ""),
    );
    let plan = testing::first_plan(&Bitfinex, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"event":"conf","flags":196608}"#,
            r#"{"channel":"trades","event":"subscribe","symbol":"tBTCUSD"}"#,
            r#"{"channel":"book","event":"subscribe","freq":"F0","len":"25","prec":"P0","symbol":"tBTCUSD"}"#,
            r#"{"channel":"ticker","event":"subscribe","symbol":"tBTCUSD"}"#,
            r#"{"channel":"trades","event":"subscribe","symbol":"tAAVE:USD"}"#,
            r#"{"channel":"book","event":"subscribe","freq":"F0","len":"25","prec":"P0","symbol":"tAAVE:USD"}"#,
            r#"{"channel":"ticker","event":"subscribe","symbol":"tAAVE:USD"}"#,
        ]
    );
    let names: Vec<&str> = plan
        .requests
        .iter()
        .map(|r| r.topics[0].name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "conf",
            "trades:tBTCUSD",
            "book:tBTCUSD",
            "ticker:tBTCUSD",
            "trades:tAAVE:USD",
            "book:tAAVE:USD",
            "ticker:tAAVE:USD"
        ]
    );
    assert!(plan.requests.iter().all(|r| r.answers == 1));
    // Three channels a symbol: 8 symbols (24 channels) per connection.
    let many: Vec<String> = (0..17).map(|i| format!("A{i:02}:USD")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let request = testing::request(
        &Bitfinex,
        Market::Spot,
        &[Channel::Trade, Channel::Book, Channel::Ticker],
        &many,
        ("wss://api-pub.bitfinex.com/ws/2", ""),
    );
    let plans = Bitfinex.plan(&request).unwrap();
    assert_eq!(
        plans.iter().map(|p| p.symbols.len()).collect::<Vec<_>>(),
        [8, 8, 1]
    );
    assert_eq!(plans[0].requests.len(), 1 + 24);
    // One channel a symbol: 25 symbols; bbo alone rides on the book channel.
    let request = testing::request(&Bitfinex, Market::Spot, &[Channel::Bbo], &many, ("", ""));
    let plans = Bitfinex.plan(&request).unwrap();
    assert_eq!(plans.len(), 1);
    assert!(plans[0].texts()[1].contains(r#""channel":"book""#));
    // A deeper book on request.
    let mut request = testing::request(
        &Bitfinex,
        Market::Spot,
        &[Channel::Book],
        &["BTCUSD"],
        ("", ""),
    );
    request.books.snapshot_depth = Some(60);
    assert!(testing::first_plan(&Bitfinex, &request).texts()[1].contains(r#""len":"100""#));
    assert_eq!(Bitfinex.limits().max_streams_per_connection, 25);
    assert_eq!(
        Bitfinex.limits().connect_attempts,
        Some(RateWindow::per_secs(20, 60))
    );
}

#[test]
fn resolves_normalized_and_native_symbols_and_claims_both_hosts() {
    testing::assert_symbol(&Bitfinex, Market::Spot, "btc-usd", ("BTC-USD", "tBTCUSD"));
    testing::assert_symbol(&Bitfinex, Market::Spot, "tBTCUSD", ("BTC-USD", "tBTCUSD"));
    testing::assert_symbol(&Bitfinex, Market::Spot, "ETHUST", ("ETH-UST", "tETHUST"));
    testing::assert_symbol(
        &Bitfinex,
        Market::Spot,
        "AAVE/USD",
        ("AAVE-USD", "tAAVE:USD"),
    );
    testing::assert_symbol(
        &Bitfinex,
        Market::Spot,
        "tTESTBTC:TESTUSD",
        ("TESTBTC-TESTUSD", "tTESTBTC:TESTUSD"),
    );
    assert!(Bitfinex.symbol(Market::Spot, "BTCUSDTX").is_err());
    assert!(Bitfinex.symbol(Market::Spot, "BTC_USD!").is_err());
    assert!(Bitfinex.symbol(Market::Perp, "BTC-USD").is_err());
    assert_eq!(
        Bitfinex::fallback_symbol("tTESTBTC:TESTUSD").symbol,
        "TESTBTC-TESTUSD"
    );
    assert_eq!(Bitfinex::fallback_symbol("tDOGUSD").symbol, "DOG-USD");
    for url in [
        "wss://api-pub.bitfinex.com/ws/2",
        "wss://api.bitfinex.com/ws/2",
        "wss://api-pub.bitfinex.com:443/ws/2/",
    ] {
        assert_eq!(Bitfinex.market_of_url(url), Some(Market::Spot), "{url}");
    }
    assert_eq!(Bitfinex.market_of_url("wss://api.bitfinex.com/ws/1"), None);
    assert_eq!(Bitfinex.market_of_url("wss://ws.bitstamp.net"), None);
}

#[test]
fn documented_frames_are_classified() {
    let mut p = bound();
    assert_table(
        &mut p,
        7,
        &[
            (
                TE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitfinex","market":"spot","symbol":"BTC-USD","native":"tBTCUSD","ts_exchange":1574694478808000000,"ts_recv":7,"seq":3,"id":"bitfinex.spot.BTC-USD.trade.401597395","kind":"trade","price":"7245.3","size":"0.005","side":"sell","trade_id":"401597395"}"#,
                ],
            ),
            (
                r#"[12,"tu",[401597395,1574694478808,-0.005,7245.3],4]"#,
                Parsed::Ignored("tu (the database echo of a te trade)"),
                &[],
            ),
            (
                "[12,[[401597393,1574694475039,0.005,7244.9]],5]",
                Parsed::Ignored("trades snapshot (trades before the subscription)"),
                &[],
            ),
            (
                "[13,[7245.3,43.1,7245.4,21.9,-101.7,-0.0138,7245.3,7589.7,7429.9,7182.1],6]",
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"bitfinex","market":"spot","symbol":"BTC-USD","native":"tBTCUSD","ts_exchange":null,"ts_recv":7,"seq":6,"id":"bitfinex.spot.BTC-USD.ticker.6.ch13","kind":"ticker","last":"7245.3","bid_price":"7245.3","bid_size":null,"ask_price":"7245.4","ask_size":null,"open_24h":null,"high_24h":"7429.9","low_24h":"7182.1","volume_24h":"7589.7","quote_volume_24h":null}"#,
                ],
            ),
            (r#"[13,"hb",7]"#, Parsed::Heartbeat, &[]),
            (r#"[99,"hb",8]"#, Parsed::Heartbeat, &[]),
            (
                r#"[99,[1,2,3],9]"#,
                Parsed::Ignored("a channel id no subscription bound (yet)"),
                &[],
            ),
            (
                r#"{"event":"pong","ts":1511545528111,"cid":1}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"event":"conf","status":"OK","flags":196608}"#,
                Parsed::Acked(Answer::Topic("conf".into())),
                &[],
            ),
            (
                r#"{"event":"info","version":2,"serverId":"083bd8d4-aca7-4690-a573-eabfc8103de8","platform":{"status":1}}"#,
                Parsed::Info("welcome: version 2, platform operative".into()),
                &[],
            ),
            (
                r#"{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}"#,
                Parsed::Reconnect("info 20051: Stopping. Please try to reconnect".into()),
                &[],
            ),
            (
                r#"{"event":"error","msg":"symbol: invalid","code":10300,"channel":"book","symbol":"tNOSUCH","prec":"P0","freq":"F0","len":"25","pair":"NOSUCH"}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("book:tNOSUCH".into()),
                    vec!["tNOSUCH".into()],
                    "error 10300: symbol: invalid",
                )),
                &[],
            ),
            (
                r#"{"event":"error","msg":"subscribe: dup","code":10301,"channel":"trades","symbol":"tBTCUSD","pair":"BTCUSD"}"#,
                Parsed::Acked(Answer::Topic("trades:tBTCUSD".into())),
                &[],
            ),
            (
                r#"{"event":"error","msg":"Reached limit of open channels","code":10305}"#,
                Parsed::Refused(Refusal::unattributed(
                    "error 10305: Reached limit of open channels",
                )),
                &[],
            ),
            (
                r#"{"event":"unsubscribed","status":"OK","chanId":13}"#,
                Parsed::Info("unsubscribed channel 13".into()),
                &[],
            ),
            (
                "[13,[7245.3,43.1,7245.4,21.9,-101.7,-0.0138,7245.3,7589.7,7429.9,7182.1],10]",
                Parsed::Ignored("a channel id no subscription bound (yet)"),
                &[],
            ),
            (
                r#"{"event":"subscribed","channel":"candles","chanId":14,"key":"trade:1m:tBTCUSD"}"#,
                Parsed::Acked(Answer::Topic("candles:".into())),
                &[],
            ),
            (
                r#"[14,[[1574698260000,7379.8,7379.8,7379.8,7379.8,0.1]],11]"#,
                Parsed::Ignored("candles"),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    let buy = TE.replace("-0.005", "0.005").replace(",3]", ",12]");
    assert_eq!(p.parse(&buy, 7, &mut out), Ok(Parsed::Data));
    assert!(json(&out[0]).contains(r#""side":"buy""#));
    for bad in [
        TE.replace("-0.005", "0").replace(",3]", ",13]"),
        TE.replace("7245.3", "\"x\"").replace(",3]", ",14]"),
        r#"[12,"te",[401597395],15]"#.to_string(),
    ] {
        assert_eq!(
            p.parse(&bad, 7, &mut out).unwrap_err().label(),
            "invalid",
            "{bad}"
        );
    }
    assert_eq!(
        p.parse(r#"[12,"xx",[1],16]"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(
        p.parse(r#"{"event":"mystery"}"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(
        p.parse("[12,", 7, &mut out).unwrap_err().label(),
        "malformed"
    );
}

#[test]
fn frames_of_symbols_the_plan_does_not_name_are_ignored() {
    let plan = testing::frames_plan(&Bitfinex, Market::Spot, &["ETH-USD"]);
    let mut p = Bitfinex::new_parser(&plan);
    let mut out = Vec::new();
    p.parse(SUB_TRADES, 1, &mut out).unwrap();
    assert_eq!(p.parse(TE, 2, &mut out), Ok(NOT_PLANNED));
    assert!(out.is_empty());
}

#[test]
fn the_checksum_string_interleaves_25_levels_with_negative_asks() {
    let lv = |p: &str, a: &str| (SmolStr::new(p), SmolStr::new(a));
    let bids = [lv("100", "2"), lv("99.5", "1.5")];
    let asks = [lv("101", "1"), lv("102.5", "4"), lv("103", "1e-8")];
    assert_eq!(
        book_checksum_string(bids.iter(), asks.iter()),
        "100:2:101:-1:99.5:1.5:102.5:-4:103:-1e-8"
    );
    let many: Vec<_> = (0..30).map(|i| lv(&i.to_string(), "1")).collect();
    assert_eq!(
        book_checksum_string(many.iter(), [].iter())
            .split(':')
            .count(),
        50
    );
}

#[test]
fn the_book_syncs_from_its_snapshot_and_checks_sequence_and_checksum() {
    let mut p = bound();
    let mut out = Vec::new();
    // Snapshot: bids 100 (2), 99.5 (1.5); asks 101 (1), 102.5 (4).
    let snap = "[10,[[100,1,2],[99.5,2,1.5],[101,1,-1],[102.5,3,-4]],1]";
    assert_eq!(p.parse(snap, 1, &mut out), Ok(Parsed::Data));
    assert_eq!(kinds(&out), ["book", "bbo"]);
    assert_eq!(out[0].id, "bitfinex.spot.BTC-USD.book.snap.1.ch10");
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert!(b.snapshot && b.bids.len() == 2 && b.asks.len() == 2);
    // Checksum of "100:2:101:-1:99.5:1.5:102.5:-4" (zlib.crc32, signed).
    out.clear();
    assert_eq!(
        p.parse(r#"[10,"cs",436958505,2]"#, 2, &mut out),
        Ok(Parsed::Data)
    );
    assert!(out.is_empty());
    // COUNT 0 and AMOUNT 1: the bid 99.5 goes.
    assert_eq!(p.parse("[10,[99.5,0,1],3]", 3, &mut out), Ok(Parsed::Data));
    assert_eq!(kinds(&out), ["book"]);
    assert!(
        json(&out[0]).contains(r#""bids":[["99.5","0"]],"asks":[]"#),
        "{}",
        json(&out[0])
    );
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!((b.prev_seq, out[0].seq), (Some(1), Some(3)));
    // "100:2:101:-1:102.5:-4"
    out.clear();
    p.parse(r#"[10,"cs",-158953444,4]"#, 4, &mut out).unwrap();
    assert!(out.is_empty());
    // A new best ask: book and bbo.
    p.parse("[10,[100.5,1,-0.25],5]", 5, &mut out).unwrap();
    assert_eq!(kinds(&out), ["book", "bbo"]);
    assert!(json(&out[1]).contains(r#""ask_price":"100.5","ask_size":"0.25""#));
    // The ETH book is synced too.
    p.parse("[11,[[2000,1,3],[2001,1,-3]],6]", 6, &mut out)
        .unwrap();
    assert!(p.book("tETHUSD").unwrap().is_synced());
    // A wrong checksum: gap of BTC only, resubscribed by chanId.
    out.clear();
    assert_eq!(
        p.parse(r#"[10,"cs",12345,7]"#, 7, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 1);
    testing::assert_gap(
        &out[0],
        Some(12345),
        Some(crate::checksum::crc32(b"100:2:100.5:-0.25:101:-1:102.5:-4") as u64),
    );
    assert_eq!(out[0].symbol, "BTC-USD");
    assert!(!p.book("tBTCUSD").unwrap().is_synced());
    assert!(p.book("tETHUSD").unwrap().is_synced());
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"chanId":10,"event":"unsubscribe"}"#.to_string(),
            r#"{"channel":"book","event":"subscribe","freq":"F0","len":"25","prec":"P0","symbol":"tBTCUSD"}"#.to_string(),
        ]
    );
    assert!(p.resubscribe().is_empty(), "throttled");
    // Updates of the broken book are not published; the resubscription is info.
    out.clear();
    p.parse("[10,[100,1,3],8]", 8, &mut out).unwrap();
    assert!(out.is_empty());
    assert_eq!(
        p.parse(
            r#"{"event":"unsubscribed","status":"OK","chanId":10}"#,
            9,
            &mut out
        ),
        Ok(Parsed::Info("unsubscribed channel 10".into()))
    );
    let again = SUB_BOOK.replace(":10,", ":20,");
    assert_eq!(
        p.parse(&again, 9, &mut out),
        Ok(Parsed::Info(
            "resubscribed book:tBTCUSD (channel 20)".into()
        ))
    );
    p.parse("[20,[[100,1,2],[101,1,-1]],9]", 10, &mut out)
        .unwrap();
    assert_eq!(kinds(&out), ["status", "book", "bbo"]);
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    assert!(p.book("tBTCUSD").unwrap().is_synced());
    // The connection's sequence jumps (11 is missing): every book breaks.
    out.clear();
    p.parse(r#"[13,"hb",10]"#, 11, &mut out).unwrap();
    assert!(out.is_empty());
    p.parse(r#"[13,"hb",12]"#, 12, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    for r in &out {
        testing::assert_gap(r, Some(11), Some(12));
    }
    assert_eq!(p.resubscribe().len(), 4);
}

#[test]
fn bbo_alone_publishes_no_book_records() {
    let request = testing::request(
        &Bitfinex,
        Market::Spot,
        &[Channel::Bbo],
        &["BTC-USD"],
        ("", ""),
    );
    let mut p = Bitfinex::new_parser(&testing::first_plan(&Bitfinex, &request));
    let mut out = Vec::new();
    p.parse(SUB_BOOK, 1, &mut out).unwrap();
    p.parse("[10,[[100,1,2],[101,1,-1]],1]", 1, &mut out)
        .unwrap();
    p.parse("[10,[100,1,3],2]", 2, &mut out).unwrap();
    assert_eq!(kinds(&out), ["bbo", "bbo"]);
    assert_eq!(out[1].id, "bitfinex.spot.BTC-USD.bbo.2.ch10");
}

#[test]
fn maintenance_pauses_then_resubscribes_every_channel() {
    let mut p = bound();
    let mut out = Vec::new();
    p.parse("[10,[[100,1,2],[101,1,-1]],1]", 1, &mut out)
        .unwrap();
    out.clear();
    let start = r#"{"event":"info","code":20060,"msg":"Entering in Maintenance mode. Please pause any activity and resume after receiving the info message 20061 (it should take 120 seconds at most)."}"#;
    assert!(matches!(p.parse(start, 2, &mut out), Ok(Parsed::Info(_))));
    assert!(p.is_paused());
    // A checksum break while paused: the gap is announced, the request waits.
    p.parse(r#"[10,"cs",1,2]"#, 3, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert!(p.resubscribe().is_empty());
    let end = r#"{"event":"info","code":20061,"msg":"Maintenance ended. You can resume normal activity. It is advised to unsubscribe/subscribe again all channels."}"#;
    assert!(matches!(p.parse(end, 4, &mut out), Ok(Parsed::Info(_))));
    assert!(!p.is_paused());
    let frames = p.resubscribe();
    assert_eq!(
        frames,
        [
            r#"{"chanId":12,"event":"unsubscribe"}"#,
            r#"{"channel":"trades","event":"subscribe","symbol":"tBTCUSD"}"#,
            r#"{"chanId":13,"event":"unsubscribe"}"#,
            r#"{"channel":"ticker","event":"subscribe","symbol":"tBTCUSD"}"#,
            r#"{"chanId":10,"event":"unsubscribe"}"#,
            r#"{"channel":"book","event":"subscribe","freq":"F0","len":"25","prec":"P0","symbol":"tBTCUSD"}"#,
            r#"{"chanId":11,"event":"unsubscribe"}"#,
            r#"{"channel":"book","event":"subscribe","freq":"F0","len":"25","prec":"P0","symbol":"tETHUSD"}"#,
        ]
    );
    // Their answers are not plan acknowledgements.
    let again = SUB_TRADES.replace(":12,", ":22,");
    assert!(matches!(p.parse(&again, 5, &mut out), Ok(Parsed::Info(_))));
}

#[test]
fn the_pair_list_gives_base_and_quote() {
    let body = r#"[["AAABBB","AAVE:USD","BTCUSD","TESTBTC:TESTUSD"]]"#;
    let list = Bitfinex.parse_instruments(Market::Spot, "", body).unwrap();
    let pair = |b: &str, q: &str| crate::instruments::pair(b, q, None);
    let (aaa, aave, btc, test) = (
        pair("AAA", "BBB"),
        pair("AAVE", "USD"),
        pair("BTC", "USD"),
        pair("TESTBTC", "TESTUSD"),
    );
    assert_eq!(
        rows(&list),
        vec![
            ("tAAABBB", "AAA-BBB", Market::Spot, &aaa),
            ("tAAVE:USD", "AAVE-USD", Market::Spot, &aave),
            ("tBTCUSD", "BTC-USD", Market::Spot, &btc),
            ("tTESTBTC:TESTUSD", "TESTBTC-TESTUSD", Market::Spot, &test),
        ]
    );
    assert_eq!(
        Bitfinex.instrument_urls(Market::Spot, "https://api-pub.bitfinex.com/"),
        vec!["https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange"]
    );
    assert!(Bitfinex
        .parse_instruments(Market::Spot, "", r#"[["BTCUSDT"]]"#)
        .is_err());
    assert!(Bitfinex
        .parse_instruments(Market::Spot, "", r#"["error",10020,"x"]"#)
        .is_err());
    assert!(Bitfinex
        .parse_instruments(Market::Perp, "", body)
        .unwrap()
        .is_empty());
}

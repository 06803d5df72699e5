//! Table tests of the KuCoin connector with the documented (and recorded) example frames.

use std::time::Duration;

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const MATCH: &str = r#"{"topic":"/market/match:BTC-USDT","type":"message","subject":"trade.l3match","data":{"makerOrderId":"671b5007389355000701b1d3","price":"67523","sequence":"11067996711960577","side":"buy","size":"0.003","symbol":"BTC-USDT","takerOrderId":"671b50161777ff00074c168d","time":"1729843222921000000","tradeId":"11067996711960577","type":"match"}}"#;

fn frames_parser() -> KucoinParser {
    Kucoin::new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

fn l2(start: u64, end: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{{"changes":{{"asks":{asks},"bids":{bids}}},"sequenceEnd":{end},"sequenceStart":{start},"symbol":"BTC-USDT","time":1729816425625}}}}"#
    )
}

fn snapshot(seq: u64) -> String {
    format!(
        r#"{{"code":"200000","data":{{"time":1729176273859,"sequence":"{seq}","bids":[["100","1"],["99","2"]],"asks":[["101","1.5"]]}}}}"#
    )
}

#[test]
fn plans_one_subscribe_per_channel_with_up_to_100_symbols_and_shards_at_400_topics() {
    let request = testing::request(
        &Kucoin,
        Market::Spot,
        &[Channel::Trade, Channel::Book],
        &["BTC-USDT", "eth/usdt"],
        ("wss://ws-api-spot.kucoin.com", "https://api.kucoin.com/"),
    );
    let plan = testing::first_plan(&Kucoin, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"id":1,"privateChannel":false,"response":true,"topic":"/market/match:BTC-USDT,ETH-USDT","type":"subscribe"}"#,
            r#"{"id":2,"privateChannel":false,"response":true,"topic":"/market/level2:BTC-USDT,ETH-USDT","type":"subscribe"}"#,
        ]
    );
    assert_eq!(plan.requests[0].topics[1].name, "/market/match:ETH-USDT");
    let endpoint = plan.endpoint.as_ref().unwrap();
    assert_eq!(
        endpoint.request.url,
        "https://api.kucoin.com/api/v1/bullet-public"
    );
    assert_eq!(plan.send_interval, SEND_INTERVAL);

    // 450 symbols × 4 channels: 100 symbols (400 topics) per connection, one request
    // of up to 100 symbols per channel.
    let symbols: Vec<String> = (0..450).map(|i| format!("C{i}-USDT")).collect();
    let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let request = testing::request(
        &Kucoin,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker],
        &names,
        ("wss://ws-api-spot.kucoin.com", ""),
    );
    let plans = Kucoin.plan(&request).unwrap();
    assert_eq!(plans.len(), 5);
    assert_eq!(plans[0].symbols.len(), 100);
    assert_eq!(plans[0].requests.len(), 4);
    assert!(plans[0].requests.iter().all(|r| r.topics.len() == 100));
    assert_eq!(plans[4].symbols.len(), 50);
    // Three channels: 133 symbols a connection, so two requests per channel.
    let request = testing::request(
        &Kucoin,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book],
        &names,
        ("wss://ws-api-spot.kucoin.com", ""),
    );
    let plans = Kucoin.plan(&request).unwrap();
    assert_eq!(plans[0].symbols.len(), 133);
    let sizes: Vec<usize> = plans[0].requests.iter().map(|r| r.topics.len()).collect();
    assert_eq!(sizes, [100, 33, 100, 33, 100, 33]);
    let limits = Kucoin.limits();
    assert_eq!(limits.max_streams_per_connection, 400);
    assert_eq!(
        limits.subscribe_requests,
        Some(RateWindow::per_secs(100, 10))
    );
}

#[test]
fn symbols_resolve_from_normalized_and_native_names() {
    testing::assert_symbol(&Kucoin, Market::Spot, "BTC-USDT", ("BTC-USDT", "BTC-USDT"));
    testing::assert_symbol(&Kucoin, Market::Spot, "eth/btc", ("ETH-BTC", "ETH-BTC"));
    testing::assert_symbol(&Kucoin, Market::Spot, "SOLUSDT", ("SOL-USDT", "SOL-USDT"));
    assert!(Kucoin.symbol(Market::Spot, "BTC_USDT!").is_err());
    assert!(Kucoin.symbol(Market::Perp, "BTC-USDT").is_err());
    assert_eq!(
        Kucoin.market_of_url("wss://ws-api-spot.kucoin.com/?token=x"),
        Some(Market::Spot)
    );
    assert_eq!(
        Kucoin.market_of_url("wss://push-private.kucoin.com/endpoint?token=TOKEN"),
        Some(Market::Spot)
    );
    assert_eq!(
        Kucoin.market_of_url("wss://ws-api-futures.kucoin.com/"),
        None
    );
}

#[test]
fn the_token_answer_gives_the_url_and_the_ping_rules() {
    let body = r#"{"code":"200000","data":{"token":"2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh_55i3Ysy2q2LEsEWU64mdzUOPusi34M_wGoSf7iNyEWJ4aBZXpWhrmY9jKtqkdWoFa75w3istPvPtiYB9J6i9GjsxUuhPw3BlrzazF6ghq4L_u0MhKxG3x8TeN4aVbNiYo=.mvnekBb8DJegZIgYLs2FBQ==","instanceServers":[{"endpoint":"wss://ws-api-spot.kucoin.com/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;
    let e = resolve_endpoint(body).unwrap();
    assert_eq!(e.url, "wss://ws-api-spot.kucoin.com/?token=2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh_55i3Ysy2q2LEsEWU64mdzUOPusi34M_wGoSf7iNyEWJ4aBZXpWhrmY9jKtqkdWoFa75w3istPvPtiYB9J6i9GjsxUuhPw3BlrzazF6ghq4L_u0MhKxG3x8TeN4aVbNiYo=.mvnekBb8DJegZIgYLs2FBQ==");
    assert_eq!(e.ping_interval, Some(Duration::from_secs(18)));
    assert_eq!(e.pong_timeout, Some(Duration::from_secs(10)));
    assert!(
        resolve_endpoint(r#"{"code":"429000","msg":"Too Many Requests"}"#)
            .unwrap_err()
            .contains("429000")
    );
    assert!(
        resolve_endpoint(r#"{"code":"200000","data":{"token":"t","instanceServers":[]}}"#).is_err()
    );
    assert!(resolve_endpoint("<html>").is_err());
    let hb = Kucoin.heartbeat();
    assert_eq!(hb.app_ping, Some(PING));
    assert_eq!(hb.ping_interval, Some(Duration::from_secs(18)));
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                MATCH,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"kucoin","market":"spot","symbol":"BTC-USDT","native":"BTC-USDT","ts_exchange":1729843222921000000,"ts_recv":7,"seq":11067996711960577,"id":"kucoin.spot.BTC-USDT.trade.11067996711960577","kind":"trade","price":"67523","size":"0.003","side":"buy","trade_id":"11067996711960577"}"#,
                ],
            ),
            (
                r#"{"data":{"sequence":"1612844051653","bestAsk":"0.00028717","size":"0.01745248","bestBidSize":"3.70422021","price":"0.00028676","time":1619378326323,"bestAskSize":"14.04274325","bestBid":"0.00028678"},"subject":"trade.ticker","topic":"/market/ticker:SNX-BTC","type":"message"}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"kucoin","market":"spot","symbol":"SNX-BTC","native":"SNX-BTC","ts_exchange":1619378326323000000,"ts_recv":7,"seq":1612844051653,"id":"kucoin.spot.SNX-BTC.bbo.1612844051653","kind":"bbo","bid_price":"0.00028678","bid_size":"3.70422021","ask_price":"0.00028717","ask_size":"14.04274325"}"#,
                ],
            ),
            (
                r#"{"topic":"/market/snapshot:BTC-USDT","type":"message","subject":"trade.snapshot","data":{"sequence":"1545896669291","data":{"averagePrice":67000.1,"baseCurrency":"BTC","board":1,"buy":67996.6,"changePrice":-264.3,"changeRate":-0.0039,"close":67996.7,"datetime":1729823014549,"high":68636.9,"lastTradedPrice":67996.7,"low":67200.0,"open":68261.0,"quoteCurrency":"USDT","sell":67996.7,"symbol":"BTC-USDT","trading":true,"vol":1838.78447069,"volValue":124834036.38655438}}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"kucoin","market":"spot","symbol":"BTC-USDT","native":"BTC-USDT","ts_exchange":1729823014549000000,"ts_recv":7,"seq":1545896669291,"id":"kucoin.spot.BTC-USDT.ticker.1729823014549","kind":"ticker","last":"67996.7","bid_price":"67996.6","bid_size":null,"ask_price":"67996.7","ask_size":null,"open_24h":"68261","high_24h":"68636.9","low_24h":"67200","volume_24h":"1838.78447069","quote_volume_24h":"124834036.38655438"}"#,
                ],
            ),
            (
                r#"{"id":"hQvf8jkno","type":"welcome"}"#,
                Parsed::Info("welcome (connection hQvf8jkno)".into()),
                &[],
            ),
            (
                r#"{"id":"1","type":"ack"}"#,
                Parsed::Acked(Answer::Id(1)),
                &[],
            ),
            (
                r#"{"id":"tickbridge","type":"pong"}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"id":"2","type":"error","code":404,"data":"topic /market/matchx:BTC-USDT is not found"}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(2),
                    vec![],
                    "error 404: topic /market/matchx:BTC-USDT is not found",
                )),
                &[],
            ),
            (
                r#"{"id":"hQvf8jkno","type":"error","code":401,"data":"token is expired"}"#,
                Parsed::Refused(Refusal::unattributed("error 401: token is expired")),
                &[],
            ),
            (
                r#"{"data":{"symbol":"DAPPT-BTC","candles":["1619378220","0.0000001116","0.0000001116","0.0000001116","0.0000001116","0","0"],"time":1619378328806000034},"subject":"trade.candles.add","topic":"/market/candles:DAPPT-BTC_1min","type":"message"}"#,
                Parsed::Ignored("candles"),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    let sell = MATCH.replace(r#""side":"buy""#, r#""side":"sell""#);
    assert_eq!(p.parse(&sell, 7, &mut out), Ok(Parsed::Data));
    assert!(json(&out[0]).contains(r#""side":"sell""#));
    let bad = MATCH.replace(r#""side":"buy""#, r#""side":"both""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    let unknown = r#"{"type":"message","topic":"/market/mystery:BTC-USDT","data":{}}"#;
    assert_eq!(
        p.parse(unknown, 7, &mut out).unwrap_err().label(),
        "unknown"
    );
    assert_eq!(
        p.parse(r#"{"type":"surprise"}"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(
        p.parse("{\"type\"", 7, &mut out).unwrap_err().label(),
        "malformed"
    );
}

#[test]
fn frames_of_symbols_the_plan_does_not_name_are_ignored() {
    let plan = testing::frames_plan(&Kucoin, Market::Spot, &["ETH-USDT"]);
    let mut p = Kucoin::new_parser(&plan);
    let mut out = Vec::new();
    assert_eq!(p.parse(MATCH, 7, &mut out), Ok(NOT_PLANNED));
    assert_eq!(p.parse(&l2(1, 1, "[]", "[]"), 7, &mut out), Ok(NOT_PLANNED));
    let own = MATCH.replace("BTC-USDT", "ETH-USDT");
    assert_eq!(p.parse(&own, 7, &mut out), Ok(Parsed::Data));
    assert_eq!(out[0].symbol, "ETH-USDT");
}

#[test]
fn increments_sync_from_the_rest_snapshot_by_sequence() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    // Buffered before the snapshot; the first asks for it.
    assert_eq!(
        p.parse(
            &l2(10, 11, r#"[["100","3","10"]]"#, r#"[["0","0","11"]]"#),
            1,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].key, "BTC-USDT");
    assert_eq!(
        reqs[0].url,
        "https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=BTC-USDT"
    );
    assert_eq!(reqs[0].weight, 4);
    // Overlapping the snapshot (12): only the change with sequence 13 applies.
    p.parse(
        &l2(12, 13, r#"[["99","0","12"]]"#, r#"[["101","0.5","13"]]"#),
        2,
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty() && p.rest_requests().is_empty());
    assert_eq!(
        p.on_rest("BTC-USDT", Ok(&snapshot(12)), 3, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 2);
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert!(b.snapshot);
    assert_eq!(out[0].id, "kucoin.spot.BTC-USDT.book.snap.12");
    assert_eq!(
        json(&out[1]),
        r#"{"v":1,"exchange":"kucoin","market":"spot","symbol":"BTC-USDT","native":"BTC-USDT","ts_exchange":1729816425625000000,"ts_recv":2,"seq":13,"id":"kucoin.spot.BTC-USDT.book.13","kind":"book","bids":[],"asks":[["101","0.5"]],"snapshot":false,"prev_seq":12,"checksum_ok":null}"#
    );
    let book = p.book("BTC-USDT").unwrap().book();
    assert_eq!(book.len(), (2, 1));
    assert_eq!(book.best_bid().unwrap().0.as_str(), "100");
    // The next increment follows at 14; a price-0 change carries only a sequence.
    out.clear();
    p.parse(
        &l2(14, 15, r#"[["98","1","14"]]"#, r#"[["0","0","15"]]"#),
        4,
        &mut out,
    )
    .unwrap();
    assert!(json(&out[0]).contains(r#""bids":[["98","1"]],"asks":[]"#));
    // Covered (end at or below the book's sequence): skipped.
    out.clear();
    p.parse(&l2(15, 15, r#"[["97","1","15"]]"#, "[]"), 5, &mut out)
        .unwrap();
    assert!(out.is_empty());
}

#[test]
fn a_sequence_break_is_a_gap_and_a_fresh_snapshot_of_that_symbol_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let other = l2(5, 5, "[]", "[]").replace("BTC-USDT", "ETH-USDT");
    for (sym, frame) in [("BTC-USDT", l2(5, 5, "[]", "[]")), ("ETH-USDT", other)] {
        p.parse(&frame, 1, &mut out).unwrap();
        p.on_rest(sym, Ok(&snapshot(5)), 2, &mut out).unwrap();
    }
    p.rest_requests();
    out.clear();
    p.parse(&l2(6, 7, r#"[["98","1","7"]]"#, "[]"), 3, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    out.clear();
    // 8..=9 lost: the next starts at 10.
    p.parse(&l2(10, 10, r#"[["97","1","10"]]"#, "[]"), 4, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(8), Some(10));
    assert_eq!(out[0].symbol, "BTC-USDT");
    assert_eq!(out[0].id, "kucoin.spot.BTC-USDT.status.gap.8.10");
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].key, "BTC-USDT");
    assert!(p.book("ETH-USDT").unwrap().is_synced());
    assert!(!p.book("BTC-USDT").unwrap().is_synced());
    // Buffered again; a snapshot older than the buffer is asked for again.
    out.clear();
    p.parse(&l2(11, 12, "[]", r#"[["102","1","12"]]"#), 5, &mut out)
        .unwrap();
    assert!(p.rest_requests().is_empty());
    p.on_rest("BTC-USDT", Ok(&snapshot(9)), 6, &mut out)
        .unwrap();
    assert!(out.is_empty());
    let again = p.rest_requests();
    assert_eq!(again.len(), 1);
    assert!(again[0].delay > Duration::ZERO);
    // The fresh snapshot resyncs it: resynced, the snapshot, the buffered increment.
    p.on_rest("BTC-USDT", Ok(&snapshot(11)), 7, &mut out)
        .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book", "book"]);
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    assert_eq!(out[2].seq, Some(12));
}

#[test]
fn a_failed_snapshot_is_announced_once_and_asked_again() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(&l2(1, 1, "[]", "[]"), 1, &mut out).unwrap();
    p.rest_requests();
    p.on_rest("BTC-USDT", Err("HTTP 429"), 2, &mut out).unwrap();
    p.on_rest(
        "BTC-USDT",
        Ok(r#"{"code":"400100","msg":"symbol not exists"}"#),
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
        Some("GET /api/v1/market/orderbook/level2_100: HTTP 429")
    );
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].delay > reqs[0].delay);
}

#[test]
fn the_symbol_list_gives_base_quote_and_increments() {
    let body = r#"{"code":"200000","data":[{"symbol":"BTC-USDT","name":"BTC-USDT","baseCurrency":"BTC","quoteCurrency":"USDT","feeCurrency":"USDT","market":"USDS","baseMinSize":"0.00001","quoteMinSize":"0.1","baseMaxSize":"10000000000","quoteMaxSize":"99999999","baseIncrement":"0.00000001","quoteIncrement":"0.000001","priceIncrement":"0.1","priceLimitRate":"0.1","minFunds":"0.1","isMarginEnabled":true,"enableTrading":true,"feeCategory":1,"makerFeeCoefficient":"1.00","takerFeeCoefficient":"1.00","st":false},
        {"symbol":"REQ-ETH","name":"REQ-ETH","baseCurrency":"REQ","quoteCurrency":"ETH","feeCurrency":"ETH","market":"ALTS","baseMinSize":"1","quoteMinSize":"0.0001","baseMaxSize":"10000000000","quoteMaxSize":"99999999","baseIncrement":"0.0001","quoteIncrement":"0.0000001","priceIncrement":"0.0000001","priceLimitRate":"0.1","isMarginEnabled":false,"enableTrading":false}]}"#;
    let list = Kucoin.parse_instruments(Market::Spot, "", body).unwrap();
    use tickbridge_schema::InstrumentStatus::{Halted, Trading};
    let btc = testing::instrument(("BTC", "USDT", None), ("0.1", "0.00000001"), Trading);
    let req = testing::instrument(("REQ", "ETH", None), ("0.0000001", "0.0001"), Halted);
    assert_eq!(
        rows(&list),
        vec![
            ("BTC-USDT", "BTC-USDT", Market::Spot, &btc),
            ("REQ-ETH", "REQ-ETH", Market::Spot, &req),
        ]
    );
    assert_eq!(
        Kucoin.instrument_urls(Market::Spot, "https://api.kucoin.com/"),
        vec!["https://api.kucoin.com/api/v2/symbols"]
    );
    assert!(Kucoin
        .parse_instruments(Market::Spot, "", r#"{"code":"400001","msg":"down"}"#)
        .is_err());
}

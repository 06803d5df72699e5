//! Table tests of the Hyperliquid connector with the documented example frames.

use std::time::Duration;

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, d, json, rows};
use crate::instruments::pair;
use crate::symbols::NOT_PLANNED;

const TRADES: &str = r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"97432.5","sz":"0.10","hash":"0x3f2a9c0d7e1b4a5f8e6d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a10","time":1735689600123,"tid":781355823460512,"users":["0x31ca8395cf837de08b24da3f660e77761dfb974b","0x010461c14e146ac35fe42271bdc1134ee31c703a"]},{"coin":"BTC","side":"A","px":"97432","sz":"0.025","hash":"0x0000000000000000000000000000000000000000000000000000000000000000","time":1735689600124,"tid":781355823460513,"users":["0x010461c14e146ac35fe42271bdc1134ee31c703a","0x31ca8395cf837de08b24da3f660e77761dfb974b"]}]}"#;
const ACK: &str = r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"SOL"}}}"#;
const PONG: &str = r#"{"channel":"pong"}"#;
const BBO: &str = r#"{"channel":"bbo","data":{"coin":"BTC","time":1735689600400,"bbo":[{"px":"97432","sz":"1.5","n":4},{"px":"97433","sz":"0.8","n":2}]}}"#;
const CTX: &str = r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"dayNtlVlm":"1169046.29406","prevDayPx":"95101.0","markPx":"97431.0","midPx":"97432.5","funding":"0.0000125","openInterest":"10432.57","oraclePx":"97440.0","premium":"-0.00008","impactPxs":["97431.0","97434.0"],"dayBaseVlm":"12.35"}}}"#;
const SPOT_CTX: &str = r#"{"channel":"activeSpotAssetCtx","data":{"coin":"@107","ctx":{"dayNtlVlm":"8906.0","prevDayPx":"0.22916","markPx":"0.22923","midPx":"0.229235","circulatingSupply":"598274922.83","coin":"@107","totalSupply":"607750010.45","dayBaseVlm":"38986.0"}}}"#;

const BOOK: &str = r#"{"channel":"l2Book","data":{"coin":"BTC","time":1735689600500,"levels":[[{"px":"97432","sz":"1.5","n":4},{"px":"97431","sz":"2","n":1}],[{"px":"97433","sz":"0.8","n":2}]]}}"#;

/// An l2Book of one level a side.
fn book(coin: &str, time: i64, bid: &str, ask: &str) -> String {
    format!(
        r#"{{"channel":"l2Book","data":{{"coin":"{coin}","time":{time},"levels":[[{{"px":"{bid}","sz":"1.5","n":4}}],[{{"px":"{ask}","sz":"0.8","n":2}}]]}}}}"#
    )
}

fn frames_parser() -> HyperliquidParser {
    Hyperliquid::new_parser(&ConnectionPlan::for_frames(WS_URL, Market::Perp))
}

fn statuses(out: &[tickbridge_schema::Record]) -> Vec<(&str, StatusEvent, Option<String>)> {
    out.iter()
        .filter_map(|r| match &r.data {
            Data::Status(s) => Some((r.symbol.as_str(), s.event, s.reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn plans_one_subscription_per_message() {
    let request = testing::request(
        &Hyperliquid,
        Market::Perp,
        &[
            Channel::Trade,
            Channel::Book,
            Channel::Bbo,
            Channel::Funding,
            Channel::MarkPrice,
        ],
        &["BTC-USDC-PERP", "xyz:XYZ100"],
        (WS_URL, ""),
    );
    let plans = Hyperliquid.plan(&request).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(
        plans[0].texts(),
        vec![
            r#"{"method":"subscribe","subscription":{"coin":"BTC","type":"trades"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"BTC","type":"l2Book"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"BTC","type":"bbo"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"BTC","type":"activeAssetCtx"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"xyz:XYZ100","type":"trades"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"xyz:XYZ100","type":"l2Book"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"xyz:XYZ100","type":"bbo"}}"#,
            r#"{"method":"subscribe","subscription":{"coin":"xyz:XYZ100","type":"activeAssetCtx"}}"#,
        ]
    );
    let names: Vec<&str> = plans[0]
        .requests
        .iter()
        .map(|r| r.topics[0].name.as_str())
        .collect();
    assert_eq!(
        names[..4],
        ["trades:BTC", "l2Book:BTC", "bbo:BTC", "activeAssetCtx:BTC"]
    );
    assert!(plans[0]
        .requests
        .iter()
        .all(|r| r.answers == 1 && r.topics.len() == 1));
    assert_eq!(plans[0].send_interval, Duration::from_millis(40));
    let hb = Hyperliquid.heartbeat();
    assert_eq!(hb.app_ping, Some(r#"{"method":"ping"}"#));
    assert_eq!(hb.ping_interval, Some(Duration::from_secs(30)));
    assert_eq!(hb.idle_timeout, Duration::from_secs(60));
}

#[test]
fn the_subscription_budget_is_planned_across_connections_and_enforced() {
    let names: Vec<String> = (0..250).map(|i| format!("C{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    // 250 coins × 4 subscriptions = the whole budget.
    let all = [Channel::Trade, Channel::Book, Channel::Bbo, Channel::Ticker];
    let request = testing::request(&Hyperliquid, Market::Perp, &all, &names, (WS_URL, ""));
    let plans = Hyperliquid.plan(&request).unwrap();
    // 62 coins (248 subscriptions) a connection: 5 connections.
    let sizes: Vec<usize> = plans.iter().map(|p| p.requests.len()).collect();
    assert_eq!(sizes, [248, 248, 248, 248, 8]);
    assert!(sizes.iter().all(|&n| n <= SUBSCRIPTIONS_PER_CONNECTION));
    assert_eq!(sizes.iter().sum::<usize>(), MAX_SUBSCRIPTIONS);
    // Five connections send at most 25 messages a second together.
    assert_eq!(plans[0].send_interval, Duration::from_millis(200));
    // One coin more is over the budget: a plan error naming the limit.
    let mut more = names.clone();
    more.push("ONE");
    let request = testing::request(&Hyperliquid, Market::Perp, &all, &more, (WS_URL, ""));
    let err = Hyperliquid.plan(&request).unwrap_err();
    assert_eq!(
        err,
        PlanError::OverLimit {
            exchange: "hyperliquid",
            what: "websocket subscriptions",
            wanted: 1004,
            limit: 1000,
            source_doc: LIMIT_SOURCE,
        }
    );
    assert!(
        err.to_string()
            .contains("needs 1004 websocket subscriptions, more than the 1000"),
        "{err}"
    );
    // The context is one subscription for ticker, funding, open interest and mark price.
    let ctx = [
        Channel::Ticker,
        Channel::Funding,
        Channel::OpenInterest,
        Channel::MarkPrice,
    ];
    let names: Vec<String> = (0..1000).map(|i| format!("C{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let request = testing::request(&Hyperliquid, Market::Perp, &ctx, &names, (WS_URL, ""));
    assert_eq!(Hyperliquid.plan(&request).unwrap().len(), 4);
    let limits = Hyperliquid.limits();
    assert_eq!(limits.connect_attempts, Some(RateWindow::per_secs(30, 60)));
}

#[test]
fn symbols_resolve_perps_builder_perps_and_spot() {
    let h = &Hyperliquid;
    testing::assert_symbol(h, Market::Perp, "BTC-USDC-PERP", ("BTC-USDC-PERP", "BTC"));
    testing::assert_symbol(h, Market::Perp, "btc-usdc-perp", ("BTC-USDC-PERP", "BTC"));
    testing::assert_symbol(h, Market::Perp, "BTC", ("BTC-USDC-PERP", "BTC"));
    testing::assert_symbol(h, Market::Perp, "kPEPE", ("kPEPE-USDC-PERP", "kPEPE"));
    testing::assert_symbol(
        h,
        Market::Perp,
        "xyz:XYZ100",
        ("xyz:XYZ100-USDC-PERP", "xyz:XYZ100"),
    );
    testing::assert_symbol(
        h,
        Market::Perp,
        "XYZ:XYZ100-USDH-PERP",
        ("xyz:XYZ100-USDH-PERP", "xyz:XYZ100"),
    );
    testing::assert_symbol(h, Market::Spot, "PURR-USDC", ("PURR-USDC", "PURR/USDC"));
    testing::assert_symbol(h, Market::Spot, "purr/usdc", ("PURR-USDC", "PURR/USDC"));
    testing::assert_symbol(h, Market::Spot, "@107", ("@107", "@107"));
    for (market, bad) in [
        (Market::Perp, "BTC-USDT-PERP"),
        (Market::Perp, "BTC-USDT"),
        (Market::Perp, "BTC/USD"),
        (Market::Perp, "xyz:-USDC-PERP"),
        (Market::Spot, "@1x"),
        (Market::Spot, "BTCUSDC"),
        (Market::Future, "BTC"),
    ] {
        assert!(h.symbol(market, bad).is_err(), "{bad}");
    }
    assert_eq!(h.market_of_url(WS_URL), Some(Market::Perp));
    assert_eq!(
        h.market_of_url("wss://api.hyperliquid-testnet.xyz/ws"),
        Some(Market::Perp)
    );
    assert_eq!(h.market_of_url("wss://api.hyperliquid.xyz/other"), None);
    assert_eq!(h.market_of_url("wss://api.upbit.com/websocket/v1"), None);
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                TRADES,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"hyperliquid","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC","ts_exchange":1735689600123000000,"ts_recv":7,"seq":null,"id":"hyperliquid.perp.BTC-USDC-PERP.trade.781355823460512","kind":"trade","price":"97432.5","size":"0.1","side":"buy","trade_id":"781355823460512"}"#,
                    r#"{"v":1,"exchange":"hyperliquid","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC","ts_exchange":1735689600124000000,"ts_recv":7,"seq":null,"id":"hyperliquid.perp.BTC-USDC-PERP.trade.781355823460513","kind":"trade","price":"97432","size":"0.025","side":"sell","trade_id":"781355823460513"}"#,
                ],
            ),
            (
                BBO,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"hyperliquid","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC","ts_exchange":1735689600400000000,"ts_recv":7,"seq":1735689600400,"id":"hyperliquid.perp.BTC-USDC-PERP.bbo.1735689600400","kind":"bbo","bid_price":"97432","bid_size":"1.5","ask_price":"97433","ask_size":"0.8"}"#,
                ],
            ),
            (
                BOOK,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"hyperliquid","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC","ts_exchange":1735689600500000000,"ts_recv":7,"seq":1735689600500,"id":"hyperliquid.perp.BTC-USDC-PERP.book.snap.1735689600500","kind":"book","bids":[["97432","1.5"],["97431","2"]],"asks":[["97433","0.8"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#,
                ],
            ),
            (PONG, Parsed::Heartbeat, &[]),
            (ACK, Parsed::Acked(Answer::Topic("trades:SOL".into())), &[]),
            (
                r#"{"channel":"error","data":"Invalid subscription {\"type\":\"l2Book\",\"coin\":\"NOPE\"}"}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("l2Book:NOPE".into()),
                    vec!["NOPE".into()],
                    r#"Invalid subscription {"type":"l2Book","coin":"NOPE"}"#,
                )),
                &[],
            ),
            (
                r#"{"channel":"error","data":"Already subscribed: {\"type\":\"trades\",\"coin\":\"BTC\"}"}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("trades:BTC".into()),
                    vec!["BTC".into()],
                    r#"Already subscribed: {"type":"trades","coin":"BTC"}"#,
                )),
                &[],
            ),
            (
                r#"{"channel":"error","data":"Websocket message too large"}"#,
                Parsed::Refused(Refusal::unattributed("Websocket message too large")),
                &[],
            ),
            (
                r#"{"channel":"candle","data":{"s":"BTC"}}"#,
                Parsed::Ignored("a channel tickbridge does not normalize"),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    let bad = TRADES.replace(r#""side":"B""#, r#""side":"X""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    let bad = BBO.replace(r#""px":"97432""#, r#""px":"1e5x""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    assert_eq!(
        p.parse(r#"{"channel":"mystery","data":{}}"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(
        p.parse(r#"{"channel":"l2Book"}"#, 7, &mut out)
            .unwrap_err()
            .label(),
        "invalid"
    );
    assert_eq!(p.parse("{}", 7, &mut out).unwrap_err().label(), "malformed");
    assert_eq!(p.parse("[{", 7, &mut out).unwrap_err().label(), "malformed");
}

#[test]
fn asset_contexts_carry_funding_open_interest_mark_and_ticker() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    assert_eq!(p.parse(CTX, 9, &mut out), Ok(Parsed::Data));
    let got: Vec<String> = out.iter().map(json).collect();
    let tag = crate::checksum::crc32(
        br#"{"coin":"BTC","ctx":{"dayNtlVlm":"1169046.29406","prevDayPx":"95101.0","markPx":"97431.0","midPx":"97432.5","funding":"0.0000125","openInterest":"10432.57","oraclePx":"97440.0","premium":"-0.00008","impactPxs":["97431.0","97434.0"],"dayBaseVlm":"12.35"}}"#,
    );
    let head = |kind: &str| {
        format!(
            r#"{{"v":1,"exchange":"hyperliquid","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC","ts_exchange":null,"ts_recv":9,"seq":null,"id":"hyperliquid.perp.BTC-USDC-PERP.{kind}.c{tag}","kind":"{kind}","#
        )
    };
    assert_eq!(
        got,
        vec![
            format!(
                r#"{}"last":null,"bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":"95101","high_24h":null,"low_24h":null,"volume_24h":"12.35","quote_volume_24h":"1169046.29406"}}"#,
                head("ticker")
            ),
            format!(
                r#"{}"rate":"0.0000125","predicted_rate":null,"next_funding_ts":null}}"#,
                head("funding")
            ),
            format!(
                r#"{}"open_interest":"10432.57","open_interest_value":null}}"#,
                head("open_interest")
            ),
            format!(
                r#"{}"mark_price":"97431","index_price":"97440"}}"#,
                head("mark_price")
            ),
        ]
    );
    // A spot context: a ticker and a mark price without index, of the spot pair.
    out.clear();
    assert_eq!(p.parse(SPOT_CTX, 9, &mut out), Ok(Parsed::Data));
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["ticker", "mark_price"]);
    assert_eq!(
        (out[1].market, out[1].symbol.as_str()),
        (Market::Spot, "@107")
    );
    let Data::MarkPrice(m) = &out[1].data else {
        panic!()
    };
    assert_eq!(
        (Some(m.mark_price.clone()), m.index_price.clone()),
        (d("0.22923"), None)
    );
}

#[test]
fn a_planned_connection_takes_only_its_coins_and_channels() {
    let request = testing::request(
        &Hyperliquid,
        Market::Perp,
        &[Channel::Trade, Channel::MarkPrice],
        &["BTC-USDC-PERP"],
        (WS_URL, ""),
    );
    let plan = testing::first_plan(&Hyperliquid, &request);
    let mut p = Hyperliquid::new_parser(&plan);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(&TRADES.replace("\"BTC\"", "\"ETH\""), 1, &mut out),
        Ok(NOT_PLANNED)
    );
    assert_eq!(
        p.parse(&book("BTC", 1, "1", "2"), 1, &mut out),
        Ok(Parsed::Ignored("l2Book without the book channel"))
    );
    assert_eq!(p.parse(CTX, 1, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 1, "only the mark price");
    assert_eq!(out[0].kind().as_str(), "mark_price");
}

#[test]
fn a_book_going_back_in_time_is_a_gap_of_that_coin_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(&book("BTC", 2_000, "10", "11"), 1, &mut out)
        .unwrap();
    p.parse(&book("ETH", 2_000, "10", "11"), 1, &mut out)
        .unwrap();
    out.clear();
    p.parse(&book("BTC", 1_999, "10", "11"), 2, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1, "nothing published but the gap: {out:?}");
    testing::assert_gap(&out[0], Some(2_000), Some(1_999));
    assert_eq!(out[0].symbol, "BTC-USDC-PERP");
    assert!(!p.book("BTC").unwrap().is_synced());
    assert!(p.book("ETH").unwrap().is_synced());
    // ETH goes on untouched.
    out.clear();
    p.parse(&book("ETH", 2_001, "10", "11"), 3, &mut out)
        .unwrap();
    assert_eq!(
        out.iter().map(|r| r.kind().as_str()).collect::<Vec<_>>(),
        ["book"]
    );
    // BTC's next book resyncs it.
    out.clear();
    p.parse(&book("BTC", 2_001, "10", "11"), 3, &mut out)
        .unwrap();
    assert_eq!(
        statuses(&out),
        [(
            "BTC-USDC-PERP",
            StatusEvent::Resynced,
            Some("fresh snapshot follows".into())
        )]
    );
    assert_eq!(out[1].kind().as_str(), "book");
    assert!(p.book("BTC").unwrap().is_synced());
    // A crossed book is a gap too.
    out.clear();
    p.parse(&book("BTC", 2_002, "12", "11"), 4, &mut out)
        .unwrap();
    testing::assert_gap(&out[0], Some(2_001), Some(2_002));
    assert!(p.book("ETH").unwrap().is_synced());
}

#[test]
fn a_repeated_time_or_a_coin_left_behind_is_a_stalled_book() {
    let s = 1_000_000_000i64;
    let mut p = frames_parser().with_stall_after(Duration::from_secs(10));
    let mut out = Vec::new();
    p.parse(&book("BTC", 5_000, "10", "11"), s, &mut out)
        .unwrap();
    p.parse(&book("ETH", 5_000, "10", "11"), s, &mut out)
        .unwrap();
    out.clear();
    // The same time again: stalled, announced once, the repeat not published.
    p.parse(&book("BTC", 5_000, "10", "11"), 2 * s, &mut out)
        .unwrap();
    p.parse(&book("BTC", 5_000, "10", "11"), 3 * s, &mut out)
        .unwrap();
    assert_eq!(
        statuses(&out),
        [(
            "BTC-USDC-PERP",
            StatusEvent::Stale,
            Some("l2Book time 5000 repeated: the book is not advancing".into())
        )]
    );
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].id,
        "hyperliquid.perp.BTC-USDC-PERP.status.stale.book.5000"
    );
    // It advances again: published, and a later stall is announced anew.
    out.clear();
    p.parse(&book("BTC", 5_500, "10", "11"), 4 * s, &mut out)
        .unwrap();
    assert_eq!(
        out.iter().map(|r| r.kind().as_str()).collect::<Vec<_>>(),
        ["book"]
    );
    // ETH's books stay away while BTC's arrive: announced once, after the deadline.
    out.clear();
    p.parse(&book("BTC", 6_000, "10", "11"), 10 * s, &mut out)
        .unwrap();
    assert!(statuses(&out).is_empty(), "9 s is within the deadline");
    p.parse(&book("BTC", 7_000, "10", "11"), 11 * s, &mut out)
        .unwrap();
    p.parse(&book("BTC", 8_000, "10", "11"), 13 * s, &mut out)
        .unwrap();
    assert_eq!(
        statuses(&out),
        [(
            "ETH-USDC-PERP",
            StatusEvent::Stale,
            Some("no l2Book for 10 s while other coins' books arrive".into())
        )]
    );
    // ETH's next book ends the episode; nothing else of BTC was touched.
    out.clear();
    p.parse(&book("ETH", 9_000, "10", "11"), 14 * s, &mut out)
        .unwrap();
    assert_eq!(
        out.iter().map(|r| r.kind().as_str()).collect::<Vec<_>>(),
        ["book"]
    );
    assert!(p.book("BTC").unwrap().is_synced() && p.book("ETH").unwrap().is_synced());
    assert_eq!(p.book("BTC").unwrap().gaps(), 0);
}

const META: &str = r#"{"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":40,"marginTableId":56},{"name":"kPEPE","szDecimals":0,"maxLeverage":10},{"name":"MATIC","szDecimals":1,"maxLeverage":20,"isDelisted":true}],"marginTables":[],"collateralToken":0}"#;
const SPOT_META: &str = r#"{"tokens":[{"name":"USDC","szDecimals":8,"weiDecimals":8,"index":0,"tokenId":"0x6d1e7cde53ba9467b783cb7c530ce054","isCanonical":true,"evmContract":null,"fullName":null},{"name":"PURR","szDecimals":0,"weiDecimals":5,"index":1,"tokenId":"0xc1fb593aeffbeb02f85e0308e9956a90","isCanonical":true,"evmContract":null,"fullName":null},{"name":"HYPE","szDecimals":2,"weiDecimals":8,"index":150,"tokenId":"0x0d01dc56dcaaca66ad901c959b4011ec","isCanonical":false,"evmContract":null,"fullName":"Hyperliquid"},{"name":"USDH","szDecimals":2,"weiDecimals":8,"index":360,"tokenId":"0x54e00a5988577cb0b0c9ab0cb6ef7f4b","isCanonical":false,"evmContract":null,"fullName":null}],"universe":[{"name":"PURR/USDC","tokens":[1,0],"index":0,"isCanonical":true},{"name":"@107","tokens":[150,0],"index":107,"isCanonical":false},{"name":"@230","tokens":[360,0],"index":230,"isCanonical":false}]}"#;
const PERP_DEXS: &str = r#"[null,{"name":"xyz","fullName":"XYZ","deployer":"0x88806a71d74ad0a510b350545c9ae490912f0888","oracleUpdater":null,"feeRecipient":null,"assetToStreamingOiCap":[]},{"name":"hx","fullName":"HX","deployer":"0x0000000000000000000000000000000000000001","oracleUpdater":null}]"#;
const XYZ_META: &str = r#"{"universe":[{"name":"xyz:XYZ100","szDecimals":4,"maxLeverage":20}],"marginTables":[],"collateralToken":0}"#;
const HX_META: &str = r#"{"universe":[{"name":"hx:GOLD","szDecimals":2,"maxLeverage":10}],"marginTables":[],"collateralToken":360}"#;

const R: &str = "https://api.hyperliquid.xyz";

#[test]
fn the_info_lists_parse_perps_builder_perps_and_spot() {
    assert_eq!(
        Hyperliquid.instrument_urls(Market::Perp, "https://api.hyperliquid.xyz/"),
        [
            "https://api.hyperliquid.xyz/info?type=meta",
            "https://api.hyperliquid.xyz/info?type=spotMeta",
            "https://api.hyperliquid.xyz/info?type=perpDexs"
        ]
    );
    assert_eq!(
        Hyperliquid.instrument_urls(Market::Spot, R),
        ["https://api.hyperliquid.xyz/info?type=spotMeta"]
    );
    assert!(Hyperliquid.instruments_by_post());
    // The POST each URL names.
    assert_eq!(
        crate::rest::post_of_url("https://api.hyperliquid.xyz/info?type=meta&dex=xyz"),
        (
            "https://api.hyperliquid.xyz/info".to_string(),
            r#"{"dex":"xyz","type":"meta"}"#.to_string()
        )
    );
    // perpDexs names one meta request per builder dex (null is the first dex).
    let dexes_url = format!("{R}/info?type=perpDexs");
    let followups = Hyperliquid.instrument_followups(Market::Perp, R, &dexes_url, PERP_DEXS);
    assert_eq!(
        followups,
        [
            "https://api.hyperliquid.xyz/info?type=meta&dex=xyz",
            "https://api.hyperliquid.xyz/info?type=meta&dex=hx"
        ]
    );
    assert!(Hyperliquid
        .instrument_followups(Market::Spot, R, &dexes_url, PERP_DEXS)
        .is_empty());
    let urls = [
        format!("{R}/info?type=meta"),
        format!("{R}/info?type=spotMeta"),
        dexes_url.clone(),
        followups[0].clone(),
        followups[1].clone(),
    ];
    let bodies = [META, SPOT_META, PERP_DEXS, XYZ_META, HX_META];
    let responses: Vec<(&str, &str)> = urls.iter().map(String::as_str).zip(bodies).collect();
    let perps = Hyperliquid
        .parse_instrument_list(Market::Perp, &responses)
        .unwrap();
    let perp = |base: &str, settle: &str, lot: &str, status| tickbridge_schema::Instrument {
        lot_size: d(lot),
        contract_size: d("1"),
        status,
        ..pair(base, settle, Some(settle))
    };
    let trading = InstrumentStatus::Trading;
    assert_eq!(
        rows(&perps),
        vec![
            (
                "BTC",
                "BTC-USDC-PERP",
                Market::Perp,
                &perp("BTC", "USDC", "0.00001", trading)
            ),
            (
                "kPEPE",
                "kPEPE-USDC-PERP",
                Market::Perp,
                &perp("kPEPE", "USDC", "1", trading)
            ),
            (
                "MATIC",
                "MATIC-USDC-PERP",
                Market::Perp,
                &perp("MATIC", "USDC", "0.1", InstrumentStatus::Delisted)
            ),
            (
                "xyz:XYZ100",
                "xyz:XYZ100-USDC-PERP",
                Market::Perp,
                &perp("XYZ100", "USDC", "0.0001", trading)
            ),
            // A dex collateralized in USDH (spot token 360) settles in USDH.
            (
                "hx:GOLD",
                "hx:GOLD-USDH-PERP",
                Market::Perp,
                &perp("GOLD", "USDH", "0.01", trading)
            ),
        ]
    );
    // Spot pairs named by their tokens, native the wire's coin.
    let spot = Hyperliquid
        .parse_instrument_list(Market::Spot, &[(&urls[1], SPOT_META)])
        .unwrap();
    let spot_pair = |base: &str, lot: &str| tickbridge_schema::Instrument {
        lot_size: d(lot),
        ..pair(base, "USDC", None)
    };
    assert_eq!(
        rows(&spot),
        vec![
            (
                "PURR/USDC",
                "PURR-USDC",
                Market::Spot,
                &spot_pair("PURR", "1")
            ),
            (
                "@107",
                "HYPE-USDC",
                Market::Spot,
                &spot_pair("HYPE", "0.01")
            ),
            (
                "@230",
                "USDH-USDC",
                Market::Spot,
                &spot_pair("USDH", "0.01")
            ),
        ]
    );
    // A builder dex collateralized in a token the list does not hold; a coin of
    // another dex; unusable bodies: errors naming the response.
    let hx = followups[1].as_str();
    assert_eq!(
        Hyperliquid
            .parse_instrument_list(Market::Perp, &[(hx, HX_META)])
            .unwrap_err()
            .0,
        0
    );
    let wrong = XYZ_META.replace("xyz:XYZ100", "abc:XYZ100");
    let err = Hyperliquid
        .parse_instrument_list(Market::Perp, &[(&urls[0], META), (&followups[0], &wrong)])
        .unwrap_err();
    assert_eq!(err.0, 1);
    assert!(Hyperliquid
        .parse_instruments(Market::Perp, &urls[0], "[]")
        .is_err());
    assert!(Hyperliquid
        .parse_instruments(Market::Spot, &urls[1], "{}")
        .is_err());
}

//! Table tests of the dYdX connector with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const CONN: &str = "ee5a4696-dce8-44ef-8d68-f0e0d0b06160";
const TRADE: &str = r#"{"type":"channel_data","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":4,"id":"BTC-USD","channel":"v4_trades","version":"1.1.0","contents":{"trades":[{"id":"8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7","size":"0.000100431","price":"27839","side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","liquidation":false},{"id":"d310c32c-f066-5ba8-a97d-10a29d9a6c84","size":"0.000000005","price":"27837","side":"SELL","createdAt":"2023-04-04T00:29:19.353Z","liquidation":true}]}}"#;
const MARKETS_SNAPSHOT: &str = r#"{"type":"subscribed","connection_id":"6e0af39b-5937-459a-b7ac-cc8abe1049db","message_id":1,"channel":"v4_markets","contents":{"markets":{"BTC-USD":{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE","baseAsset":"","quoteAsset":"","lastPrice":"0","oraclePrice":"27752.92","priceChange24H":"0","volume24H":"63894023.044245577","trades24H":143820,"nextFundingRate":"0","nextFundingUpdate":0,"initialMarginFraction":"0.050000","maintenanceMarginFraction":"0.030000","openInterest":"1891.473716288","atomicResolution":-10,"quantumConversionExponent":-8,"tickSize":"1","stepSize":"0.000000001","stepBaseQuantums":10,"subticksPerTick":10000}}}}"#;
const MARKETS_TRADING: &str = r#"{"type":"channel_data","connection_id":"1f4ec0e3-ff95-48cc-94f1-7118a19412ff","message_id":2,"channel":"v4_markets","version":"0.0.1","contents":{"trading":{"BTC-USD":{"nextFundingRate":"0.00006821875"},"ETH-USD":{"volume24H":"1462890959.6541","nextFundingRate":"0.00007478125"}}}}"#;
const MARKETS_ORACLE: &str = r#"{"type":"channel_data","connection_id":"1f4ec0e3-ff95-48cc-94f1-7118a19412ff","message_id":3,"channel":"v4_markets","version":"1.0.0","contents":{"oraclePrices":{"BTC-USD":{"oraclePrice":"27761.5","effectiveAt":"2023-04-04T00:29:20.000Z","effectiveAtHeight":"49593","marketId":0}}}}"#;

fn frames_parser() -> DydxParser {
    Dydx::new_parser(&ConnectionPlan::for_frames("", Market::Perp))
}

fn snapshot(market: &str, message_id: u64) -> String {
    format!(
        r#"{{"type":"subscribed","connection_id":"{CONN}","message_id":{message_id},"channel":"v4_orderbook","id":"{market}","contents":{{"bids":[{{"price":"28194","size":"4.764826096"}},{{"price":"28193","size":"3.115323739"}}],"asks":[{{"price":"28195","size":"3.219612343"}},{{"price":"28196","size":"2.387087565"}}]}}}}"#
    )
}

fn change(market: &str, message_id: u64, contents: &str) -> String {
    format!(
        r#"{{"type":"channel_data","connection_id":"{CONN}","message_id":{message_id},"id":"{market}","channel":"v4_orderbook","version":"1.0.0","contents":{contents}}}"#
    )
}

#[test]
fn plans_one_subscribe_per_channel_and_market() {
    let request = testing::request(
        &Dydx,
        Market::Perp,
        &[
            Channel::Trade,
            Channel::Book,
            Channel::Bbo,
            Channel::Funding,
            Channel::MarkPrice,
        ],
        &["BTC-USDC-PERP", "eth-usd"],
        ("wss://indexer.dydx.trade/v4/ws", ""),
    );
    let plan = testing::first_plan(&Dydx, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"batched":false,"channel":"v4_trades","id":"BTC-USD","type":"subscribe"}"#,
            r#"{"batched":false,"channel":"v4_trades","id":"ETH-USD","type":"subscribe"}"#,
            r#"{"batched":false,"channel":"v4_orderbook","id":"BTC-USD","type":"subscribe"}"#,
            r#"{"batched":false,"channel":"v4_orderbook","id":"ETH-USD","type":"subscribe"}"#,
            r#"{"batched":false,"channel":"v4_markets","type":"subscribe"}"#,
        ]
    );
    assert!(plan.requests.iter().all(|r| r.answers == 1));
    assert_eq!(
        plan.requests[2].topics.len(),
        1,
        "book and bbo share a topic"
    );
    assert_eq!(plan.requests[2].topics[0].name, "v4_orderbook:BTC-USD");
    assert_eq!(plan.requests[4].symbols(), ["BTC-USD", "ETH-USD"]);
    assert_eq!(plan.send_interval, Duration::from_millis(50));
    // Sharding: 32 markets per connection (socks' per-channel cap).
    let many: Vec<String> = (0..33).map(|i| format!("A{i}-USD")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let request = testing::request(
        &Dydx,
        Market::Perp,
        &[Channel::Trade, Channel::Book],
        &many,
        ("wss://indexer.dydx.trade/v4/ws", ""),
    );
    let plans = Dydx.plan(&request).unwrap();
    assert_eq!(
        plans.iter().map(|p| p.symbols.len()).collect::<Vec<_>>(),
        vec![32, 1]
    );
    assert_eq!(plans[0].requests.len(), 64);
    assert!(plans[0].requests.len() <= Dydx.limits().max_streams_per_connection);
    assert_eq!(
        Dydx.market_of_url("wss://indexer.dydx.trade/v4/ws"),
        Some(Market::Perp)
    );
    assert_eq!(
        Dydx.market_of_url("wss://indexer.v4testnet.dydx.exchange/v4/ws"),
        Some(Market::Perp)
    );
    assert_eq!(Dydx.market_of_url("wss://indexer.dydx.trade/v3/ws"), None);
    let hb = Dydx.heartbeat();
    assert_eq!(hb.subscribe_timeout, Duration::from_secs(25));
    assert_eq!(
        (
            hb.app_ping,
            hb.ping_interval,
            hb.pong_timeout,
            hb.idle_timeout
        ),
        (
            None,
            Some(Duration::from_secs(30)),
            Duration::from_secs(10),
            Duration::from_secs(70)
        )
    );
    // No ticker: v4_markets has no bid/ask.
    assert!(Dydx
        .plan(&testing::request(
            &Dydx,
            Market::Perp,
            &[Channel::Ticker],
            &["BTC-USD"],
            ("wss://indexer.dydx.trade/v4/ws", ""),
        ))
        .is_err());
}

#[test]
fn symbols_resolve_in_both_forms() {
    for (user, want) in [
        ("BTC-USDC-PERP", ("BTC-USDC-PERP", "BTC-USD")),
        ("btc-usd", ("BTC-USDC-PERP", "BTC-USD")),
        (" 1000PEPE-USD ", ("1000PEPE-USDC-PERP", "1000PEPE-USD")),
    ] {
        testing::assert_symbol(&Dydx, Market::Perp, user, want);
    }
    for bad in ["BTC-USD-PERP", "BTCUSD", "BTC/USD", "BTC-USDT-PERP", ""] {
        assert!(Dydx.symbol(Market::Perp, bad).is_err(), "{bad}");
    }
    assert!(Dydx.symbol(Market::Spot, "BTC-USD").is_err());
    assert_eq!(Dydx::normalize("ODD").symbol, "ODD");
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    let env =
        r#"{"v":1,"exchange":"dydx","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC-USD""#;
    assert_table(
        &mut p,
        7,
        &[
            (
                r#"{"type":"connected","connection_id":"004a1efa-21bb-4b19-a2e9-a8ffadd6dc53","message_id":0}"#,
                Parsed::Info("connected 004a1efa-21bb-4b19-a2e9-a8ffadd6dc53".into()),
                &[],
            ),
            (
                r#"{"type":"subscribed","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":1,"channel":"v4_trades","id":"BTC-USD","contents":{"trades":[{"side":"BUY","size":"0.00396135","price":"27848","createdAt":"2023-04-04T00:28:56.226Z","createdAtHeight":"49592"}]}}"#,
                Parsed::Acked(Answer::Topic("v4_trades:BTC-USD".into())),
                &[],
            ),
            (
                r#"{"type":"unsubscribed","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":9,"channel":"v4_trades","id":"BTC-USD"}"#,
                Parsed::Info("unsubscribed v4_trades BTC-USD".into()),
                &[],
            ),
            (
                r#"{"type":"error","message":"Invalid subscription id for channel: (v4_orderbook-FOO-USD)","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":3}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("v4_orderbook:FOO-USD".into()),
                    vec!["FOO-USD".into()],
                    "error: Invalid subscription id for channel: (v4_orderbook-FOO-USD)",
                )),
                &[],
            ),
            (
                r#"{"type":"error","message":"Internal error, could not fetch data for subscription: v4_trades.","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":6,"channel":"v4_trades","id":"ETH-USD"}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("v4_trades:ETH-USD".into()),
                    vec!["ETH-USD".into()],
                    "error: Internal error, could not fetch data for subscription: v4_trades.",
                )),
                &[],
            ),
            (
                r#"{"type":"error","message":"Per-connection subscription limit reached for v4_orderbook (limit=32).","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":7}"#,
                Parsed::Refused(Refusal::unattributed(
                    "error: Per-connection subscription limit reached for v4_orderbook (limit=32).",
                )),
                &[],
            ),
            (
                r#"{"type":"error","message":"Invalid message: could not parse","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":4}"#,
                Parsed::Refused(Refusal::unattributed(
                    "error: Invalid message: could not parse",
                )),
                &[],
            ),
            (
                r#"{"type":"pong","connection_id":"57844645-0b1d-4c3f-ad71-1c6154154a13","message_id":5,"id":3}"#,
                Parsed::Heartbeat,
                &[],
            ),
        ],
    );
    let trade_env = format!("{env},\"ts_exchange\":1680568159353000000,\"ts_recv\":7,\"seq\":null");
    let market_env = format!("{env},\"ts_exchange\":null,\"ts_recv\":7,\"seq\":null");
    let records = [
        format!(
            r#"{trade_env},"id":"dydx.perp.BTC-USDC-PERP.trade.8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7","kind":"trade","price":"27839","size":"0.000100431","side":"buy","trade_id":"8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7"}}"#
        ),
        format!(
            r#"{trade_env},"id":"dydx.perp.BTC-USDC-PERP.trade.d310c32c-f066-5ba8-a97d-10a29d9a6c84","kind":"trade","price":"27837","size":"0.000000005","side":"sell","trade_id":"d310c32c-f066-5ba8-a97d-10a29d9a6c84"}}"#
        ),
        format!(
            r#"{trade_env},"id":"dydx.perp.BTC-USDC-PERP.liquidation.d310c32c-f066-5ba8-a97d-10a29d9a6c84","kind":"liquidation","price":"27837","size":"0.000000005","side":"sell"}}"#
        ),
    ];
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    assert_table(&mut p, 7, &[(TRADE, Parsed::Data, &records)]);
    let snapshot_records = [
        format!(
            r#"{market_env},"id":"dydx.perp.BTC-USDC-PERP.mark_price.m1","kind":"mark_price","mark_price":"27752.92","index_price":"27752.92"}}"#
        ),
        format!(
            r#"{market_env},"id":"dydx.perp.BTC-USDC-PERP.open_interest.m1","kind":"open_interest","open_interest":"1891.473716288","open_interest_value":null}}"#
        ),
        format!(
            r#"{market_env},"id":"dydx.perp.BTC-USDC-PERP.funding.m1","kind":"funding","rate":"0","predicted_rate":null,"next_funding_ts":null}}"#
        ),
    ];
    let snapshot_records: Vec<&str> = snapshot_records.iter().map(String::as_str).collect();
    let oracle = format!(
        r#"{env},"ts_exchange":1680568160000000000,"ts_recv":7,"seq":null,"id":"dydx.perp.BTC-USDC-PERP.mark_price.h49593","kind":"mark_price","mark_price":"27761.5","index_price":"27761.5"}}"#
    );
    assert_table(
        &mut p,
        7,
        &[
            (
                MARKETS_SNAPSHOT,
                Parsed::Acked(Answer::Topic("v4_markets".into())),
                &snapshot_records,
            ),
            (MARKETS_ORACLE, Parsed::Data, &[oracle.as_str()]),
        ],
    );
    let mut out = Vec::new();
    assert_eq!(p.parse(MARKETS_TRADING, 7, &mut out), Ok(Parsed::Data));
    let got: Vec<(&str, &str)> = out
        .iter()
        .map(|r| (r.symbol.as_str(), r.id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("BTC-USDC-PERP", "dydx.perp.BTC-USDC-PERP.funding.m2"),
            ("ETH-USDC-PERP", "dydx.perp.ETH-USDC-PERP.funding.m2")
        ]
    );
    let Data::Funding(f) = &out[1].data else {
        panic!()
    };
    assert_eq!(f.rate.as_str(), "0.00007478125");
    // A liquidation flagged by the trade `type` of recent indexers.
    out.clear();
    let typed = TRADE
        .replace(r#""liquidation":false"#, r#""type":"LIQUIDATED""#)
        .replace(r#","liquidation":true"#, "");
    assert_eq!(p.parse(&typed, 7, &mut out), Ok(Parsed::Data));
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(kinds, ["trade", "liquidation", "trade"]);
    // Unknown and malformed frames are errors.
    assert!(p.parse(r#"{"type":"nope"}"#, 7, &mut out).is_err());
    assert!(p.parse(r#"{"x":1}"#, 7, &mut out).is_err());
    assert!(p
        .parse(&TRADE.replace("\"BUY\"", "\"UP\""), 7, &mut out)
        .is_err());
    assert!(p
        .parse(
            &TRADE.replace("2023-04-04T00:29:19.353Z", "yesterday"),
            7,
            &mut out
        )
        .is_err());
    assert!(p
        .parse(&change("BTC-USD", 1, r#"{"bids":[["1"]]}"#), 7, &mut out)
        .is_err());
}

#[test]
fn the_book_follows_message_ids_and_a_break_resubscribes_that_market_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    assert_eq!(
        p.parse(&snapshot("BTC-USD", 2), 1, &mut out),
        Ok(Parsed::Acked(Answer::Topic("v4_orderbook:BTC-USD".into())))
    );
    assert_eq!(
        p.parse(&snapshot("ETH-USD", 3), 1, &mut out),
        Ok(Parsed::Acked(Answer::Topic("v4_orderbook:ETH-USD".into())))
    );
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(kinds, ["book", "bbo", "book", "bbo"]);
    assert_eq!(
        json(&out[0]),
        r#"{"v":1,"exchange":"dydx","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC-USD","ts_exchange":null,"ts_recv":1,"seq":2,"id":"dydx.perp.BTC-USDC-PERP.book.snap.2","kind":"book","bids":[["28194","4.764826096"],["28193","3.115323739"]],"asks":[["28195","3.219612343"],["28196","2.387087565"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#
    );
    assert_eq!(
        json(&out[1]),
        r#"{"v":1,"exchange":"dydx","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC-USD","ts_exchange":null,"ts_recv":1,"seq":2,"id":"dydx.perp.BTC-USDC-PERP.bbo.2","kind":"bbo","bid_price":"28194","bid_size":"4.764826096","ask_price":"28195","ask_size":"3.219612343"}"#
    );
    // Changes: message ids of other channels in between are fine (ids grow, with holes).
    out.clear();
    assert_eq!(
        p.parse(
            &change("BTC-USD", 5, r#"{"bids":[["28194","0"],["28190","1.5"]]}"#),
            2,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert_eq!(
        json(&out[0]),
        r#"{"v":1,"exchange":"dydx","market":"perp","symbol":"BTC-USDC-PERP","native":"BTC-USD","ts_exchange":null,"ts_recv":2,"seq":5,"id":"dydx.perp.BTC-USDC-PERP.book.5","kind":"book","bids":[["28194","0"],["28190","1.5"]],"asks":[],"snapshot":false,"prev_seq":2,"checksum_ok":null}"#
    );
    assert_eq!(
        out[1].id, "dydx.perp.BTC-USDC-PERP.bbo.5",
        "the top changed"
    );
    // A batch: one record of every change, in order.
    out.clear();
    let batch = format!(
        r#"{{"type":"channel_batch_data","connection_id":"{CONN}","message_id":6,"id":"BTC-USD","channel":"v4_orderbook","version":"1.0.0","contents":[{{"asks":[["28195","0"]]}},{{"asks":[["28195","2"],["28197","1"]],"bids":[["28191","1"]]}}]}}"#
    );
    assert_eq!(p.parse(&batch, 3, &mut out), Ok(Parsed::Data));
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!((b.prev_seq, out[0].seq), (Some(5), Some(6)));
    assert_eq!((b.bids.len(), b.asks.len()), (1, 3));
    let book = p.book("BTC-USD").unwrap().book();
    assert_eq!(book.best_bid().unwrap().0.as_str(), "28193");
    assert_eq!(
        (
            book.best_ask().unwrap().0.as_str(),
            book.best_ask().unwrap().1.as_str()
        ),
        ("28195", "2")
    );
    // Out of order (not above the book's last message id): a gap of BTC-USD only.
    out.clear();
    assert_eq!(
        p.parse(
            &change("BTC-USD", 6, r#"{"bids":[["1","1"]]}"#),
            4,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(7), Some(6));
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"channel":"v4_orderbook","id":"BTC-USD","type":"unsubscribe"}"#,
            r#"{"batched":false,"channel":"v4_orderbook","id":"BTC-USD","type":"subscribe"}"#,
        ]
    );
    assert!(p.resubscribe().is_empty(), "throttled");
    out.clear();
    assert_eq!(
        p.parse(
            &change("BTC-USD", 9, r#"{"bids":[["1","1"]]}"#),
            5,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert!(out.is_empty(), "nothing until the fresh snapshot");
    assert_eq!(
        p.parse(
            &change("ETH-USD", 10, r#"{"asks":[["28196","0"]]}"#),
            5,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert_eq!(
        out[0].id, "dydx.perp.ETH-USDC-PERP.book.10",
        "the other market goes on"
    );
    assert_eq!(
        p.parse(
            r#"{"type":"unsubscribed","connection_id":"c","message_id":11,"channel":"v4_orderbook","id":"BTC-USD"}"#,
            6,
            &mut out
        ),
        Ok(Parsed::Info("unsubscribed v4_orderbook BTC-USD".into()))
    );
    out.clear();
    assert_eq!(
        p.parse(&snapshot("BTC-USD", 12), 6, &mut out),
        Ok(Parsed::Info("resubscribed v4_orderbook BTC-USD".into()))
    );
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!((s.event, s.got), (StatusEvent::Resynced, Some(12)));
    assert_eq!(out[1].id, "dydx.perp.BTC-USDC-PERP.book.snap.12");
    assert_eq!(p.book("BTC-USD").unwrap().gaps(), 1);
    assert_eq!(p.book("ETH-USD").unwrap().gaps(), 0);
    // A change of a market whose book has no snapshot is a gap too.
    out.clear();
    assert_eq!(
        p.parse(
            &change("SOL-USD", 13, r#"{"bids":[["1","1"]]}"#),
            7,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    testing::assert_gap(&out[0], None, Some(13));
    assert_eq!(p.resubscribe().len(), 2);
    // The fresh subscription refused: asked again once the throttle allows.
    assert_eq!(
        p.parse(
            r#"{"type":"error","message":"Invalid subscribe message: already subscribed (v4_orderbook-SOL-USD)","connection_id":"c","message_id":14}"#,
            8,
            &mut out
        ),
        Ok(Parsed::Info(
            "resubscription refused: error: Invalid subscribe message: already subscribed (v4_orderbook-SOL-USD)".into()
        ))
    );
}

#[test]
fn a_crossed_book_is_published_as_streamed() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    p.parse(&snapshot("BTC-USD", 2), 1, &mut out).unwrap();
    out.clear();
    // A bid at the best ask: dYdX books can cross briefly; no gap, no level dropped.
    assert_eq!(
        p.parse(
            &change("BTC-USD", 3, r#"{"bids":[["28196","0.1"]]}"#),
            2,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(kinds, ["book", "bbo"]);
    let book = p.book("BTC-USD").unwrap().book();
    assert!(book.is_crossed());
    assert_eq!(book.len(), (3, 2));
}

#[test]
fn channels_not_asked_for_and_markets_not_planned_are_left_out() {
    let plan = ConnectionPlan {
        channels: [Channel::Bbo, Channel::Funding].into_iter().collect(),
        ..testing::frames_plan(&Dydx, Market::Perp, &["BTC-USD"])
    };
    let mut p = Dydx::new_parser(&plan);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(TRADE, 1, &mut out),
        Ok(Parsed::Ignored("v4_trades without the trade channels"))
    );
    assert_eq!(
        p.parse(&snapshot("ETH-USD", 2), 1, &mut out),
        Ok(NOT_PLANNED)
    );
    assert_eq!(
        p.parse(
            &change("ETH-USD", 3, r#"{"bids":[["1","1"]]}"#),
            1,
            &mut out
        ),
        Ok(NOT_PLANNED)
    );
    assert!(out.is_empty());
    // Bbo without book: the book is kept, only its top is published.
    p.parse(&snapshot("BTC-USD", 4), 1, &mut out).unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.data.kind().as_str()).collect();
    assert_eq!(kinds, ["bbo"]);
    out.clear();
    assert_eq!(p.parse(MARKETS_TRADING, 1, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 1, "ETH-USD is not this connection's");
    out.clear();
    let eth_only = MARKETS_ORACLE.replace("BTC-USD", "ETH-USD");
    assert_eq!(p.parse(&eth_only, 1, &mut out), Ok(NOT_PLANNED));
    assert!(out.is_empty());
}

#[test]
fn the_instrument_list_is_parsed() {
    let body = r#"{"markets":{
"BTC-USD":{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE","oraclePrice":"65000.5","tickSize":"1","stepSize":"0.0001","marketType":"CROSS"},
"ETH-USD":{"clobPairId":"1","ticker":"ETH-USD","status":"CANCEL_ONLY","tickSize":"0.1","stepSize":"0.001"},
"LUNA-USD":{"clobPairId":"9","ticker":"LUNA-USD","status":"FINAL_SETTLEMENT","tickSize":"0.0001","stepSize":"1"}}}"#;
    let list = Dydx.parse_instruments(Market::Perp, "", body).unwrap();
    let btc = testing::instrument(
        ("BTC", "USDC", Some("USDC")),
        ("1", "0.0001"),
        InstrumentStatus::Trading,
    );
    let r = rows(&list);
    assert_eq!(r[0], ("BTC-USD", "BTC-USDC-PERP", Market::Perp, &btc));
    assert_eq!(
        (r[1].1, r[1].3.status),
        ("ETH-USDC-PERP", InstrumentStatus::Halted)
    );
    assert_eq!(
        (r[2].1, r[2].3.status),
        ("LUNA-USDC-PERP", InstrumentStatus::Delisted)
    );
    assert_eq!(
        list.iter().filter(|l| l.is_trading()).count(),
        1,
        "only ACTIVE trades"
    );
    assert!(Dydx
        .parse_instruments(Market::Perp, "", r#"{"errors":[{"msg":"x"}]}"#)
        .is_err());
    assert!(Dydx
        .parse_instruments(Market::Spot, "", body)
        .unwrap()
        .is_empty());
    assert_eq!(
        Dydx.instrument_urls(Market::Perp, "https://indexer.dydx.trade/"),
        ["https://indexer.dydx.trade/v4/perpetualMarkets"]
    );
}

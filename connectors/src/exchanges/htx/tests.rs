//! Table tests of the HTX connectors with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

/// A recorded spot trade push (`cryptofeed/huobi`).
const SPOT_TRADE: &str = r#"{"ch":"market.trioeth.trade.detail","ts":1618678027942,"tick":{"id":100182534526,"ts":1618678027940,"data":[{"id":100182534526255757567432481,"ts":1618678027940,"tradeId":100045088885,"amount":20995.88,"price":9.2E-7,"direction":"buy"}]}}"#;

/// A swap trade push of two matches (`cryptofeed/huobi_swap` shape).
const SWAP_TRADES: &str = r#"{"ch":"market.SNX-USDT.trade.detail","ts":1645289381000,"tick":{"id":43131183400,"ts":1645289380990,"data":[{"amount":2,"quantity":0.2,"trade_turnover":1.1,"ts":1645289380990,"id":431311834000000,"price":5.5,"direction":"sell"},{"amount":3,"quantity":0.3,"trade_turnover":1.65,"ts":1645289380990,"id":431311834000001,"price":5.5,"direction":"sell"}]}}"#;

fn spot_parser() -> HtxParser {
    Htx::SPOT.new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

fn swap_parser() -> HtxParser {
    Htx::SWAP.new_parser(&ConnectionPlan::for_frames("", Market::Perp))
}

fn mbp(native: &str, seq: u64, prev: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"ch":"market.{native}.mbp.150","ts":1573199608679,"tick":{{"seqNum":{seq},"prevSeqNum":{prev},"bids":{bids},"asks":{asks}}}}}"#
    )
}

fn rep(native: &str, id: &str, seq: u64) -> String {
    format!(
        r#"{{"id":"{id}","rep":"market.{native}.mbp.150","status":"ok","data":{{"seqNum":{seq},"bids":[[100.0,1.0],[99.0,2.0]],"asks":[[101.0,1.5]]}}}}"#
    )
}

fn hf(code: &str, event: &str, version: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"ch":"market.{code}.depth.size_20.high_freq","tick":{{"asks":{asks},"bids":{bids},"ch":"market.{code}.depth.size_20.high_freq","event":"{event}","id":1,"mrid":1,"ts":1645289384831,"version":{version}}},"ts":1645289384832}}"#
    )
}

#[test]
fn plans_one_sub_per_topic_and_shards_by_topics() {
    let all = [Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker];
    let request = testing::request(
        &Htx::SPOT,
        Market::Spot,
        &all,
        &["BTC-USDT", "ethbtc"],
        ("wss://api.huobi.pro/ws", ""),
    );
    let plan = testing::first_plan(&Htx::SPOT, &request);
    assert_eq!(plan.url, "wss://api.huobi.pro/ws");
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"id":"1","sub":"market.btcusdt.trade.detail"}"#,
            r#"{"id":"2","sub":"market.btcusdt.bbo"}"#,
            r#"{"id":"3","sub":"market.btcusdt.mbp.150"}"#,
            r#"{"id":"4","sub":"market.btcusdt.ticker"}"#,
            r#"{"id":"5","sub":"market.ethbtc.trade.detail"}"#,
            r#"{"id":"6","sub":"market.ethbtc.bbo"}"#,
            r#"{"id":"7","sub":"market.ethbtc.mbp.150"}"#,
            r#"{"id":"8","sub":"market.ethbtc.ticker"}"#,
        ]
    );
    // 100 topics a connection: 4 channels × 30 pairs → 25 + 5 pairs.
    let many: Vec<String> = (0..30).map(|i| format!("c{i}usdt")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let request = testing::request(&Htx::SPOT, Market::Spot, &all, &refs, ("wss://x/ws", ""));
    let plans = Htx::SPOT.plan(&request).unwrap();
    assert_eq!(
        plans.iter().map(|p| p.requests.len()).collect::<Vec<_>>(),
        [100, 20]
    );
    // Swaps: USDT-margined on the request's URL, coin-margined on /swap-ws; the book
    // topic asks for increments.
    let request = testing::request(
        &Htx::SWAP,
        Market::Perp,
        &[Channel::Trade, Channel::Book],
        &["BTC-USDT-PERP", "eth-usd"],
        ("wss://api.hbdm.com/linear-swap-ws", ""),
    );
    let plans = Htx::SWAP.plan(&request).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].url, "wss://api.hbdm.com/linear-swap-ws");
    assert_eq!(
        plans[0].texts(),
        vec![
            r#"{"id":"1","sub":"market.BTC-USDT.trade.detail"}"#,
            r#"{"data_type":"incremental","id":"2","sub":"market.BTC-USDT.depth.size_20.high_freq"}"#,
        ]
    );
    assert_eq!(plans[1].url, "wss://api.hbdm.com/swap-ws");
    assert_eq!(plans[1].symbols[0].native, "ETH-USD");
    assert_eq!(Htx::SWAP.binary_frames(), BinaryFrames::Gzip);
}

#[test]
fn symbols_resolve_normalized_and_native() {
    testing::assert_symbol(
        &Htx::SPOT,
        Market::Spot,
        "btc/usdt",
        ("BTC-USDT", "btcusdt"),
    );
    testing::assert_symbol(
        &Htx::SPOT,
        Market::Spot,
        "BTC-USDT",
        ("BTC-USDT", "btcusdt"),
    );
    testing::assert_symbol(&Htx::SPOT, Market::Spot, "yfihusd", ("YFI-HUSD", "yfihusd"));
    testing::assert_symbol(&Htx::SPOT, Market::Spot, "ETHBTC", ("ETH-BTC", "ethbtc"));
    testing::assert_symbol(
        &Htx::SWAP,
        Market::Perp,
        "BTC-USDT-PERP",
        ("BTC-USDT-PERP", "BTC-USDT"),
    );
    testing::assert_symbol(
        &Htx::SWAP,
        Market::Perp,
        "eth-usd",
        ("ETH-USD-PERP", "ETH-USD"),
    );
    assert!(Htx::SPOT.symbol(Market::Spot, "BTC_USDT!").is_err());
    assert!(Htx::SPOT.symbol(Market::Perp, "BTC-USDT").is_err());
    assert!(Htx::SWAP.symbol(Market::Spot, "BTC-USDT").is_err());
    assert!(Htx::SWAP.symbol(Market::Perp, "NOQUOTE").is_err());
    for (url, spot, swap) in [
        ("wss://api.huobi.pro/ws", Some(Market::Spot), None),
        ("wss://api-aws.huobi.pro/feed", Some(Market::Spot), None),
        ("wss://api.htx.com/ws", Some(Market::Spot), None),
        ("wss://api.huobi.pro/ws/v2", None, None),
        (
            "wss://api.hbdm.com/linear-swap-ws",
            None,
            Some(Market::Perp),
        ),
        ("wss://api.hbdm.com/swap-ws", None, Some(Market::Perp)),
        ("wss://api.hbdm.com/ws", None, None),
        ("wss://ws.okx.com:8443/ws/v5/public", None, None),
    ] {
        assert_eq!(Htx::SPOT.market_of_url(url), spot, "{url}");
        assert_eq!(Htx::SWAP.market_of_url(url), swap, "{url}");
    }
}

#[test]
fn documented_frames_are_classified() {
    let mut p = spot_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                SPOT_TRADE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"htx","market":"spot","symbol":"TRIO-ETH","native":"trioeth","ts_exchange":1618678027940000000,"ts_recv":7,"seq":100045088885,"id":"htx.spot.TRIO-ETH.trade.100045088885","kind":"trade","price":"0.00000092","size":"20995.88","side":"buy","trade_id":"100045088885"}"#,
                ],
            ),
            (
                r#"{"ch":"market.btcusdt.bbo","ts":1671440587936,"tick":{"seqId":161499562790,"ask":16829.51,"askSize":0.707548,"bid":16829.5,"bidSize":1.016059,"quoteTime":1671440587935,"symbol":"btcusdt"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"htx","market":"spot","symbol":"BTC-USDT","native":"btcusdt","ts_exchange":1671440587935000000,"ts_recv":7,"seq":161499562790,"id":"htx.spot.BTC-USDT.bbo.161499562790.1671440587935","kind":"bbo","bid_price":"16829.5","bid_size":"1.016059","ask_price":"16829.51","ask_size":"0.707548"}"#,
                ],
            ),
            (
                r#"{"id":"1","status":"ok","subbed":"market.btcusdt.trade.detail","ts":1618678070653}"#,
                Parsed::Acked(Answer::Id(1)),
                &[],
            ),
            (
                r#"{"id":2,"status":"ok","subbed":"market.trioeth.depth.step0","ts":1618678070653}"#,
                Parsed::Acked(Answer::Id(2)),
                &[],
            ),
            (
                r#"{"id":"3","status":"error","err-code":"bad-request","err-msg":"invalid topic market.nosuch.trade.detail","ts":1494301904959}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(3),
                    vec!["nosuch".into()],
                    "bad-request: invalid topic market.nosuch.trade.detail",
                )),
                &[],
            ),
            (
                r#"{"status":"error","err-code":"bad-request","err-msg":"invalid ping","ts":1492420473027}"#,
                Parsed::Refused(Refusal::unattributed("bad-request: invalid ping")),
                &[],
            ),
            (
                r#"{"id":"4","status":"ok","unsubbed":"market.btcusdt.bbo","ts":1494326028889}"#,
                Parsed::Info("unsubscribed market.btcusdt.bbo".into()),
                &[],
            ),
            (
                r#"{"ch":"market.btcusdt.kline.1min","ts":1489474082831,"tick":{"id":1489464480,"open":7962.62,"close":7962.62,"low":7962.62,"high":7962.62,"amount":0.0,"vol":0.0,"count":0}}"#,
                Parsed::Ignored("kline"),
                &[],
            ),
        ],
    );
    // The server's ping is answered with the same number.
    let mut out = Vec::new();
    assert_eq!(
        p.parse(r#"{"ping":1618678073643}"#, 8, &mut out),
        Ok(Parsed::Heartbeat)
    );
    assert_eq!(p.reply().as_deref(), Some(r#"{"pong":1618678073643}"#));
    assert_eq!(p.reply(), None);
    // The notification endpoint's op ping, likewise.
    assert_eq!(
        p.parse(r#"{"op":"ping","ts":"1489474081631"}"#, 8, &mut out),
        Ok(Parsed::Heartbeat)
    );
    assert_eq!(
        p.reply().as_deref(),
        Some(r#"{"op":"pong","ts":"1489474081631"}"#)
    );
    assert_eq!(
        p.parse(
            r#"{"op":"sub","cid":"5","topic":"public.BTC-USDT.funding_rate","ts":1489474081631,"err-code":0}"#,
            8,
            &mut out
        ),
        Ok(Parsed::Acked(Answer::Id(5)))
    );
    assert!(out.is_empty());
    // The ticker.
    p.parse(
        r#"{"ch":"market.btcusdt.ticker","ts":1671440587936,"tick":{"open":16780.01,"high":16890.0,"low":16703.38,"close":16829.51,"amount":8395.414108,"vol":1.4083335478E8,"count":138627,"bid":16829.5,"bidSize":1.016059,"ask":16829.51,"askSize":0.707548,"lastPrice":16829.51,"lastSize":0.001}}"#,
        9,
        &mut out,
    )
    .unwrap();
    let t = json(&out[0]);
    assert!(t.contains(r#""kind":"ticker","last":"16829.51""#), "{t}");
    assert!(t.contains(r#""quote_volume_24h":"140833354.78""#), "{t}");
    // Errors are named.
    let bad = SPOT_TRADE.replace(r#""direction":"buy""#, r#""direction":"up""#);
    assert_eq!(p.parse(&bad, 7, &mut out).unwrap_err().label(), "invalid");
    let unknown = r#"{"ch":"market.btcusdt.mystery","ts":1,"tick":{}}"#;
    assert_eq!(
        p.parse(unknown, 7, &mut out).unwrap_err().label(),
        "unknown"
    );
    assert_eq!(
        p.parse("{\"ch\"", 7, &mut out).unwrap_err().label(),
        "malformed"
    );
    assert_eq!(p.parse("{}", 7, &mut out).unwrap_err().label(), "unknown");
}

#[test]
fn every_trade_of_a_push_is_a_record_with_the_taker_side() {
    let mut p = swap_parser();
    let mut out = Vec::new();
    assert_eq!(p.parse(SWAP_TRADES, 1, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 2, "one record per trade entry");
    for (r, id) in out.iter().zip(["431311834000000", "431311834000001"]) {
        let Data::Trade(t) = &r.data else { panic!() };
        assert_eq!(
            (t.side, t.trade_id.as_str()),
            (tickbridge_schema::Side::Sell, id)
        );
        assert_eq!(
            (r.exchange.as_str(), r.symbol.as_str(), r.native.as_str()),
            ("htx-swap", "SNX-USDT-PERP", "SNX-USDT")
        );
    }
    assert!(json(&out[1]).contains(r#""size":"3""#));
    // Swap bbo and detail.
    out.clear();
    p.parse(r#"{"ch":"market.GRT-USDT.bbo","ts":1645289384832,"tick":{"mrid":43131188379,"id":1645289384,"bid":[0.41887,250],"ask":[0.41912,120],"ts":1645289384831,"version":43131188379,"ch":"market.GRT-USDT.bbo"}}"#, 2, &mut out).unwrap();
    p.parse(r#"{"ch":"market.GRT-USDT.detail","ts":1645289385000,"tick":{"id":1645289385,"mrid":43131188379,"open":0.41373,"close":0.41912,"high":0.42531,"low":0.40711,"amount":"4390283.4","vol":"43902834","trade_turnover":"1826342.02","count":28541,"ask":[0.41912,120],"bid":[0.41887,250]}}"#, 2, &mut out).unwrap();
    assert!(json(&out[0]).contains(
        r#""bid_price":"0.41887","bid_size":"250","ask_price":"0.41912","ask_size":"120""#
    ));
    assert!(json(&out[1]).contains(r#""last":"0.41912""#));
    // A plan naming other contracts ignores this one.
    let plan = testing::frames_plan(&Htx::SWAP, Market::Perp, &["BTC-USDT-PERP"]);
    let mut p = Htx::SWAP.new_parser(&plan);
    assert_eq!(p.parse(SWAP_TRADES, 1, &mut out), Ok(NOT_PLANNED));
}

#[test]
fn funding_and_liquidations_come_from_the_notification_endpoint() {
    let request = testing::request(
        &Htx::SWAP,
        Market::Perp,
        &[Channel::Trade, Channel::Funding, Channel::Liquidation],
        &["BTC-USDT-PERP", "BTC-USD-PERP"],
        ("wss://api.hbdm.com/linear-swap-ws", ""),
    );
    let plans = Htx::SWAP.plan(&request).unwrap();
    let urls: Vec<&str> = plans.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "wss://api.hbdm.com/linear-swap-ws",
            "wss://api.hbdm.com/linear-swap-notification",
            "wss://api.hbdm.com/swap-ws",
            "wss://api.hbdm.com/swap-notification",
        ]
    );
    assert_eq!(
        plans[1].texts(),
        vec![
            r#"{"cid":"1","op":"sub","topic":"public.BTC-USDT.funding_rate"}"#,
            r#"{"cid":"2","op":"sub","topic":"public.BTC-USDT.liquidation_orders"}"#,
        ]
    );
    assert!(!plans[1].channels.contains(Channel::Trade));
    let mut p = Htx::SWAP.new_parser(&plans[1]);
    let mut out = Vec::new();
    assert_table(
        &mut p,
        7,
        &[
            (
                r#"{"op":"sub","cid":"1","topic":"public.BTC-USDT.funding_rate","ts":1603778748166,"err-code":0}"#,
                Parsed::Acked(Answer::Id(1)),
                &[],
            ),
            (
                r#"{"op":"sub","cid":"2","topic":"public.BTC-USDT.liquidation_orders","ts":1603778748166,"err-code":2011,"err-msg":"invalid topic"}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(2),
                    vec!["BTC-USDT".into()],
                    "2011: invalid topic",
                )),
                &[],
            ),
            (
                r#"{"op":"notify","topic":"public.BTC-USDT.funding_rate","ts":1603778748166,"data":[{"symbol":"BTC","contract_code":"BTC-USDT","fee_asset":"USDT","funding_time":"1603778700000","funding_rate":"-0.000220068774978695","estimated_rate":"-0.000684397270140271","settlement_time":"1603785600000"}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"htx-swap","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT","ts_exchange":1603778748166000000,"ts_recv":7,"seq":null,"id":"htx-swap.perp.BTC-USDT-PERP.funding.1603778700000.1603778748166","kind":"funding","rate":"-0.000220068774978695","predicted_rate":"-0.000684397270140271","next_funding_ts":1603778700000000000}"#,
                ],
            ),
            (
                r#"{"op":"notify","topic":"public.BTC-USDT.liquidation_orders","ts":1606294349626,"data":[{"contract_code":"BTC-USDT","symbol":"BTC","direction":"sell","offset":"close","volume":624.0,"price":18450.0,"created_at":1606294349617,"amount":0.624,"trade_turnover":11512.8,"business_type":"swap","pair":"BTC-USDT"}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"htx-swap","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT","ts_exchange":1606294349617000000,"ts_recv":7,"seq":null,"id":"htx-swap.perp.BTC-USDT-PERP.liquidation.1606294349617.sell.18450.0.624.0","kind":"liquidation","price":"18450","size":"624","side":"sell"}"#,
                ],
            ),
        ],
    );
    let other = r#"{"op":"notify","topic":"public.ETH-USDT.funding_rate","ts":1,"data":[]}"#;
    assert_eq!(p.parse(other, 7, &mut out), Ok(NOT_PLANNED));
}

#[test]
fn full_depth_pushes_are_snapshots() {
    let mut p = spot_parser();
    let mut out = Vec::new();
    let frame = r#"{"ch":"market.trioeth.depth.step0","ts":1618678069870,"tick":{"bids":[[9.121E-7,92730.24],[9.12E-7,66053.68]],"asks":[[9.28E-7,4342.25]],"version":100182534697,"ts":1618678069868}}"#;
    assert_eq!(p.parse(frame, 1, &mut out), Ok(Parsed::Data));
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert!(b.snapshot);
    assert_eq!(out[0].id, "htx.spot.TRIO-ETH.book.snap.100182534697");
    assert_eq!(b.bids[0].0.as_str(), "0.0000009121");
}

#[test]
fn mbp_books_sync_from_the_req_image_and_a_gap_resyncs_that_symbol_only() {
    let mut p = spot_parser();
    let mut out = Vec::new();
    // The first push is buffered and asks for the image of its topic.
    p.parse(&mbp("btcusdt", 11, 10, "[[100.0,3.0]]", "[]"), 1, &mut out)
        .unwrap();
    assert_eq!(
        p.resubscribe(),
        vec![r#"{"id":"1000000","req":"market.btcusdt.mbp.150"}"#]
    );
    p.parse(&mbp("btcusdt", 12, 11, "[[99.0,0]]", "[]"), 2, &mut out)
        .unwrap();
    assert!(out.is_empty() && p.resubscribe().is_empty());
    // The image (seqNum 11) covers push 11; push 12 follows it.
    assert_eq!(
        p.parse(&rep("btcusdt", "1000000", 11), 3, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 2);
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert!(b.snapshot);
    assert_eq!(out[0].id, "htx.spot.BTC-USDT.book.snap.11");
    let Data::Book(b) = &out[1].data else {
        panic!()
    };
    assert_eq!((b.prev_seq, out[1].seq), (Some(11), Some(12)));
    let book = p.book("btcusdt").unwrap().book();
    assert_eq!(book.len(), (1, 1));
    // Another symbol, synced too.
    p.parse(&mbp("ethusdt", 5, 4, "[]", "[]"), 4, &mut out)
        .unwrap();
    let req = p.resubscribe();
    assert_eq!(
        req,
        vec![r#"{"id":"1000001","req":"market.ethusdt.mbp.150"}"#]
    );
    p.parse(&rep("ethusdt", "1000001", 5), 5, &mut out).unwrap();
    assert!(p.book("ethusdt").unwrap().is_synced());
    // A lost push (13): gap of btcusdt only, and a new req for it.
    out.clear();
    p.parse(&mbp("btcusdt", 14, 13, "[]", "[[102.0,1.0]]"), 6, &mut out)
        .unwrap();
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(12), Some(13));
    assert_eq!(out[0].symbol, "BTC-USDT");
    assert!(p.book("ethusdt").unwrap().is_synced());
    assert!(!p.book("btcusdt").unwrap().is_synced());
    // The next push is buffered and the req for the fresh image goes out.
    let now = 3_000_000_000;
    p.parse(&mbp("btcusdt", 15, 14, "[]", "[]"), now, &mut out)
        .unwrap();
    assert_eq!(
        p.resubscribe(),
        vec![r#"{"id":"1000002","req":"market.btcusdt.mbp.150"}"#]
    );
    out.clear();
    p.parse(&rep("btcusdt", "1000002", 14), now + 1, &mut out)
        .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book", "book"]);
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    assert_eq!(out[2].seq, Some(15));
    // A refused req is announced once and asked again.
    out.clear();
    p.parse(&mbp("xrpusdt", 2, 1, "[]", "[]"), now, &mut out)
        .unwrap();
    assert_eq!(p.resubscribe().len(), 1);
    p.parse(r#"{"id":"1000003","status":"error","err-code":"too-many-request","err-msg":"too many requests","ts":1}"#, now, &mut out).unwrap();
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Stale);
}

#[test]
fn high_freq_books_chain_by_version_and_a_gap_resubscribes_that_contract_only() {
    let mut p = swap_parser();
    let mut out = Vec::new();
    for code in ["BTC-USDT", "ETH-USDT"] {
        p.parse(
            &hf(code, "snapshot", 1, "[[100,1],[99,2]]", "[[101,3]]"),
            1,
            &mut out,
        )
        .unwrap();
    }
    assert_eq!(out.len(), 2);
    out.clear();
    p.parse(&hf("BTC-USDT", "update", 2, "[[99,0]]", "[]"), 2, &mut out)
        .unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!(
        (b.snapshot, b.prev_seq, out[0].seq),
        (false, Some(1), Some(2))
    );
    assert_eq!(p.book("BTC-USDT").unwrap().book().len(), (1, 1));
    // An old version is skipped; a jump is a gap of that contract.
    out.clear();
    p.parse(&hf("BTC-USDT", "update", 2, "[]", "[]"), 3, &mut out)
        .unwrap();
    assert!(out.is_empty());
    p.parse(&hf("BTC-USDT", "update", 4, "[]", "[]"), 3, &mut out)
        .unwrap();
    testing::assert_gap(&out[0], Some(3), Some(4));
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"data_type":"incremental","id":"1000000","unsub":"market.BTC-USDT.depth.size_20.high_freq"}"#,
            r#"{"data_type":"incremental","id":"1000001","sub":"market.BTC-USDT.depth.size_20.high_freq"}"#,
        ]
    );
    assert!(p.book("ETH-USDT").unwrap().is_synced());
    // Updates before the fresh snapshot are not published; the snapshot resyncs.
    out.clear();
    p.parse(&hf("BTC-USDT", "update", 5, "[]", "[]"), 4, &mut out)
        .unwrap();
    assert!(out.is_empty());
    let mut answers = Vec::new();
    p.parse(
        r#"{"id":"1000001","status":"ok","subbed":"market.BTC-USDT.depth.size_20.high_freq","ts":1}"#,
        4,
        &mut answers,
    )
    .map(|a| assert!(matches!(a, Parsed::Info(_))))
    .unwrap();
    p.parse(
        &hf("BTC-USDT", "snapshot", 9, "[[100,1]]", "[[101,1]]"),
        5,
        &mut out,
    )
    .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book"]);
    assert!(p.resubscribe().is_empty());
}

#[test]
fn the_instrument_lists_give_base_quote_and_steps() {
    let spot = r#"{"status":"ok","data":[{"base-currency":"btc","quote-currency":"usdt","price-precision":2,"amount-precision":6,"symbol-partition":"main","symbol":"btcusdt","state":"online","value-precision":8,"min-order-amt":0.0001,"api-trading":"enabled"},
        {"base-currency":"yfi","quote-currency":"husd","price-precision":2,"amount-precision":4,"symbol":"yfihusd","state":"offline"}]}"#;
    let list = Htx::SPOT
        .parse_instruments(
            Market::Spot,
            "https://api.huobi.pro/v1/common/symbols",
            spot,
        )
        .unwrap();
    use InstrumentStatus::{Halted, Trading};
    let btc = testing::instrument(("BTC", "USDT", None), ("0.01", "0.000001"), Trading);
    let yfi = testing::instrument(("YFI", "HUSD", None), ("0.01", "0.0001"), Halted);
    assert_eq!(
        rows(&list),
        vec![
            ("btcusdt", "BTC-USDT", Market::Spot, &btc),
            ("yfihusd", "YFI-HUSD", Market::Spot, &yfi),
        ]
    );
    assert_eq!(
        Htx::SPOT.instrument_urls(Market::Spot, "https://api.huobi.pro/"),
        vec!["https://api.huobi.pro/v1/common/symbols"]
    );
    let swaps = r#"{"status":"ok","data":[{"symbol":"BTC","contract_code":"BTC-USDT","contract_size":0.001000000000000000,"price_tick":0.100000000000000000,"delivery_date":"","create_date":"20201021","contract_status":1,"settlement_date":"1645315200000","support_margin_mode":"all","business_type":"swap","pair":"BTC-USDT","contract_type":"swap","trade_partition":"USDT"},
        {"symbol":"BTC","contract_code":"BTC-USDT-250627","contract_size":0.001,"price_tick":0.1,"contract_status":1,"business_type":"futures","contract_type":"quarter"},
        {"symbol":"ETH","contract_code":"ETH-USD","contract_size":10.000000000000000000,"price_tick":0.010000000000000000,"contract_status":3}]}"#;
    let list = Htx::SWAP
        .parse_instruments(Market::Perp, "", swaps)
        .unwrap();
    let btc = tickbridge_schema::Instrument {
        contract_size: testing::d("0.001"),
        ..testing::instrument(("BTC", "USDT", Some("USDT")), ("0.1", "1"), Trading)
    };
    let eth = tickbridge_schema::Instrument {
        contract_size: testing::d("10"),
        ..testing::instrument(("ETH", "USD", Some("ETH")), ("0.01", "1"), Halted)
    };
    assert_eq!(
        rows(&list),
        vec![
            ("BTC-USDT", "BTC-USDT-PERP", Market::Perp, &btc),
            ("ETH-USD", "ETH-USD-PERP", Market::Perp, &eth),
        ]
    );
    assert_eq!(
        Htx::SWAP.instrument_urls(Market::Perp, "https://api.hbdm.com"),
        vec![
            "https://api.hbdm.com/linear-swap-api/v1/swap_contract_info",
            "https://api.hbdm.com/swap-api/v1/swap_contract_info",
        ]
    );
    assert!(Htx::SPOT
        .parse_instruments(
            Market::Spot,
            "",
            r#"{"status":"error","err-code":"x","err-msg":"down"}"#
        )
        .is_err());
}

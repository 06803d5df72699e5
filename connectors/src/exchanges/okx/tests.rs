//! OKX v5 table tests: every wire type with its raw JSON (the documentation's
//! examples), the legacy checksum string of the documented examples, planning, and book
//! sync with a broken `prevSeqId` chain, a gap and a resync.

use smol_str::SmolStr;
use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{FrameParser, Parsed, Refusal};
use crate::exchanges::testing;

fn request(market: Market, channels: &[Channel], symbols: &[&str]) -> SourceRequest {
    let urls = ("ws://127.0.0.1:1/ws/v5/public", "");
    testing::request(&Okx::default(), market, channels, symbols, urls)
}

fn parser(market: Market, channels: &[Channel], symbols: &[&str]) -> OkxParser {
    let o = Okx::default();
    o.new_parser(&testing::first_plan(
        &o,
        &request(market, channels, symbols),
    ))
}

#[test]
fn legacy_checksum_of_the_documented_examples() {
    let t = |p: &str, s: &str| (SmolStr::new(p), SmolStr::new(s));
    // More than 25 levels case (2 shown), and the fewer-levels case.
    let bids = [t("3366.1", "7"), t("3366", "6")];
    let asks = [t("3366.8", "9"), t("3368", "8")];
    assert_eq!(
        legacy_checksum_string(bids.iter(), asks.iter()),
        "3366.1:7:3366.8:9:3366:6:3368:8"
    );
    assert_eq!(legacy_checksum(bids.iter(), asks.iter()), -1881014294);
    let bids = [t("3366.1", "7")];
    let asks = [t("3366.8", "9"), t("3368", "8"), t("3372", "8")];
    assert_eq!(
        legacy_checksum_string(bids.iter(), asks.iter()),
        "3366.1:7:3366.8:9:3368:8:3372:8"
    );
    assert_eq!(legacy_checksum(bids.iter(), asks.iter()), 831078360);
}

#[test]
fn symbols_and_plans() {
    let o = Okx::default();
    let cases = [
        (
            Market::Perp,
            "btc-usdt-perp",
            ("BTC-USDT-PERP", "BTC-USDT-SWAP"),
        ),
        (
            Market::Perp,
            "UNI-USD-SWAP",
            ("UNI-USD-PERP", "UNI-USD-SWAP"),
        ),
        (
            Market::Future,
            "BTC-USD-220527",
            ("BTC-USD-220527", "BTC-USD-220527"),
        ),
        (Market::Spot, "BTC-USDT", ("BTC-USDT", "BTC-USDT")),
    ];
    for (market, user, want) in cases {
        testing::assert_symbol(&o, market, user, want);
    }
    assert!(o.symbol(Market::Spot, "BTC-USDT-SWAP").is_err());
    assert!(o.symbol(Market::Spot, "BTCUSDT").is_err());

    let plans = o
        .plan(&request(
            Market::Perp,
            &[
                Channel::Trade,
                Channel::Book,
                Channel::Funding,
                Channel::Liquidation,
            ],
            &["BTC-USDT-PERP", "ETH-USDT-PERP"],
        ))
        .unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(
        plans[0].texts(),
        vec![
            r#"{"args":[{"channel":"trades","instId":"BTC-USDT-SWAP"},{"channel":"books","instId":"BTC-USDT-SWAP"},{"channel":"funding-rate","instId":"BTC-USDT-SWAP"}],"id":"1","op":"subscribe"}"#,
            r#"{"args":[{"channel":"trades","instId":"ETH-USDT-SWAP"},{"channel":"books","instId":"ETH-USDT-SWAP"},{"channel":"funding-rate","instId":"ETH-USDT-SWAP"}],"id":"2","op":"subscribe"}"#,
            r#"{"args":[{"channel":"liquidation-orders","instType":"SWAP"}],"id":"3","op":"subscribe"}"#,
        ]
    );
    // Fewer than 30 book channels per connection.
    let many: Vec<String> = (0..60).map(|i| format!("C{i}-USDT")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let plans = o
        .plan(&request(Market::Spot, &[Channel::Book], &refs))
        .unwrap();
    let sizes: Vec<usize> = plans.iter().map(|p| p.symbols.len()).collect();
    assert_eq!(sizes, [29, 29, 2]);
    assert!(o
        .plan(&request(Market::Spot, &[Channel::Funding], &["BTC-USDT"]))
        .is_err());
}

#[test]
fn table_of_frames() {
    let cases: &[(&str, Parsed, &[&str])] = &[
        ("pong", Parsed::Heartbeat, &[]),
        (
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0","seqId":1234}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1630048897897000000,"ts_recv":3,"seq":130639474,"id":"okx.perp.BTC-USDT-PERP.trade.130639474","kind":"trade","price":"42219.9","size":"0.12060306","side":"buy","trade_id":"130639474"}"#],
        ),
        (
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"]],"bids":[["111.05","57745","0","2"]],"ts":"1670324386802","seqId":363996337}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1670324386802000000,"ts_recv":3,"seq":363996337,"id":"okx.perp.BTC-USDT-PERP.bbo.363996337","kind":"bbo","bid_price":"111.05","bid_size":"57745","ask_price":"111.06","ask_size":"55154"}"#],
        ),
        (
            r#"{"arg":{"channel":"tickers","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","last":"9999.99","lastSz":"1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"0.1","sodUtc8":"0.1","ts":"1597026383085"}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1597026383085000000,"ts_recv":3,"seq":null,"id":"okx.perp.BTC-USDT-PERP.ticker.1597026383085","kind":"ticker","last":"9999.99","bid_price":"8888.88","bid_size":"5","ask_price":"9999.99","ask_size":"11","open_24h":"9000","high_24h":"10000","low_24h":"8888.88","volume_24h":"2222","quote_volume_24h":null}"#],
        ),
        (
            r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"formulaType":"noRate","fundingRate":"0.0001875391284828","fundingTime":"1700726400000","impactValue":"","instId":"BTC-USDT-SWAP","instType":"SWAP","interestRate":"","method":"current_period","maxFundingRate":"0.00375","minFundingRate":"-0.00375","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.0001233824646391","settFundingRate":"0.0001699799259033","settState":"settled","ts":"1700724675402"}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1700724675402000000,"ts_recv":3,"seq":null,"id":"okx.perp.BTC-USDT-PERP.funding.1700724675402","kind":"funding","rate":"0.0001875391284828","predicted_rate":null,"next_funding_ts":1700726400000000000}"#],
        ),
        (
            r#"{"arg":{"channel":"open-interest","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","oi":"5000","oiCcy":"555.55","oiUsd":"50000","ts":"1597026383085"}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1597026383085000000,"ts_recv":3,"seq":null,"id":"okx.perp.BTC-USDT-PERP.open_interest.1597026383085","kind":"open_interest","open_interest":"5000","open_interest_value":"50000"}"#],
        ),
        (
            r#"{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1630049139746000000,"ts_recv":3,"seq":null,"id":"okx.perp.BTC-USDT-PERP.mark_price.1630049139746","kind":"mark_price","mark_price":"42310.6","index_price":null}"#],
        ),
        // Liquidations come for every swap: only this connection's instruments are kept.
        (
            r#"{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"},{"details":[{"bkLoss":"0","bkPx":"42000.5","ccy":"","posSide":"long","side":"sell","sz":"2","ts":"1692266434011"}],"instFamily":"BTC-USDT","instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT"}]}"#,
            Parsed::Data,
            &[r#"{"v":1,"exchange":"okx","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC-USDT-SWAP","ts_exchange":1692266434011000000,"ts_recv":3,"seq":null,"id":"okx.perp.BTC-USDT-PERP.liquidation.1692266434011.sell.42000.5.2","kind":"liquidation","price":"42000.5","size":"2","side":"sell"}"#],
        ),
        // One acknowledgement per argument: request 1 has three.
        (
            r#"{"id":"1","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"connId":"a4d3ae55"}"#,
            Parsed::Acked(crate::contract::Answer::Id(1)),
            &[],
        ),
        (
            r#"{"id":"1","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"connId":"a4d3ae55"}"#,
            Parsed::Acked(crate::contract::Answer::Id(1)),
            &[],
        ),
        (
            r#"{"id":"1","event":"subscribe","arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"connId":"a4d3ae55"}"#,
            Parsed::Acked(crate::contract::Answer::Id(1)),
            &[],
        ),
        // Recordings without request ids: the ack names its arg.
        (
            r#"{"event":"subscribe","arg":{"channel":"tickers","instId":"BTC-USD-220527"}}"#,
            Parsed::Acked(crate::contract::Answer::Topic("tickers:BTC-USD-220527".into())),
            &[],
        ),
        (
            r#"{"id":"2","event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:FOO-BAR doesn't exist.","connId":"a4d3ae55"}"#,
            Parsed::Refused(Refusal::of(
                crate::contract::Answer::Id(2),
                vec![],
                "error 60018: Wrong URL or channel:books,instId:FOO-BAR doesn't exist.",
            )),
            &[],
        ),
        (
            r#"{"event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\", \"argss\":[{ \"channel\" : \"books\", \"instId\" : \"BTC-USD-191227\"}]}","connId":"a4d3ae55"}"#,
            Parsed::Refused(Refusal::unattributed(r#"error 60012: Invalid request: {"op": "subscribe", "argss":[{ "channel" : "books", "instId" : "BTC-USD-191227"}]}"#)),
            &[],
        ),
        (
            r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#,
            Parsed::Reconnect("notice 64008: The connection will soon be closed for a service upgrade. Please reconnect.".into()),
            &[],
        ),
        (
            r#"{"event":"unsubscribe","arg":{"channel":"tickers","instId":"BTC-USDT"},"connId":"d0b44253"}"#,
            Parsed::Info("unsubscribed ()".into()),
            &[],
        ),
        (
            r#"{"arg":{"channel":"candle1m","instId":"USDC-USDT"},"data":[["1685221620000","0.9981","0.9981","0.9981","0.9981","0","0","0","0"]]}"#,
            Parsed::Ignored("candle"),
            &[],
        ),
    ];
    // Three channels per instrument: request 1 is acknowledged three times.
    let all = [
        Channel::Trade,
        Channel::Book,
        Channel::Funding,
        Channel::Liquidation,
    ];
    let mut p = parser(Market::Perp, &all, &["BTC-USDT-PERP", "ETH-USDT-PERP"]);
    testing::assert_table(&mut p, 3, cases);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(
            r#"{"arg":{"channel":"nope","instId":"X"},"data":[]}"#,
            3,
            &mut out
        )
        .unwrap_err()
        .label(),
        "unknown"
    );
    assert_eq!(
        p.parse(r#"{"event":"weird"}"#, 3, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert!(p.parse("ping?", 3, &mut out).is_err());
}

fn books(action: &str, inst: &str, prev: i64, seq: i64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"arg":{{"channel":"books","instId":"{inst}"}},"action":"{action}","data":[{{"asks":[{asks}],"bids":[{bids}],"ts":"1597026383085","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
    )
}

#[test]
fn broken_seq_chain_gaps_one_instrument_and_resyncs_it() {
    let mut p = parser(Market::Spot, &[Channel::Book], &["BTC-USDT", "ETH-USDT"]);
    let mut out = Vec::new();
    // The documentation's sequence example: snapshot 10, update 15, no-change 15, reset to 3, then 5.
    p.parse(
        &books(
            "snapshot",
            "BTC-USDT",
            -1,
            10,
            r#"["8476.97","256","0","12"]"#,
            r#"["8476.98","415","0","13"]"#,
        ),
        1,
        &mut out,
    )
    .unwrap();
    p.parse(
        &books(
            "snapshot",
            "ETH-USDT",
            -1,
            100,
            r#"["10","1","0","1"]"#,
            r#"["11","1","0","1"]"#,
        ),
        1,
        &mut out,
    )
    .unwrap();
    p.parse(
        &books(
            "update",
            "BTC-USDT",
            10,
            15,
            r#"["8476.97","200","0","10"]"#,
            "",
        ),
        2,
        &mut out,
    )
    .unwrap();
    p.parse(&books("update", "BTC-USDT", 15, 15, "", ""), 3, &mut out)
        .unwrap();
    p.parse(
        &books("update", "BTC-USDT", 15, 3, r#"["8476.5","1","0","1"]"#, ""),
        4,
        &mut out,
    )
    .unwrap();
    p.parse(
        &books("update", "BTC-USDT", 3, 5, "", r#"["8476.98","0","0","0"]"#),
        5,
        &mut out,
    )
    .unwrap();
    let seqs: Vec<(Option<u64>, bool)> = out
        .iter()
        .map(|r| (r.seq, matches!(&r.data, Data::Book(b) if b.snapshot)))
        .collect();
    assert_eq!(
        seqs,
        [
            (Some(10), true),
            (Some(100), true),
            (Some(15), false),
            (Some(3), false),
            (Some(5), false)
        ]
    );
    assert!(out.iter().all(|r| !matches!(r.data, Data::Status(_))));
    out.clear();

    // An update is lost (prevSeqId 7 ≠ last 5): one gap for BTC, resubscribe its book.
    p.parse(
        &books("update", "BTC-USDT", 7, 9, r#"["8476.1","1","0","1"]"#, ""),
        6,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(5), Some(7));
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"args":[{"channel":"books","instId":"BTC-USDT"}],"id":"1000000","op":"unsubscribe"}"#,
            r#"{"args":[{"channel":"books","instId":"BTC-USDT"}],"id":"1000001","op":"subscribe"}"#,
        ]
    );
    out.clear();
    // Nothing for BTC until its snapshot; ETH untouched.
    p.parse(
        &books("update", "BTC-USDT", 9, 11, r#"["8476.1","2","0","1"]"#, ""),
        7,
        &mut out,
    )
    .unwrap();
    p.parse(
        &books("update", "ETH-USDT", 100, 101, r#"["10","2","0","1"]"#, ""),
        7,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].symbol, "ETH-USDT");
    out.clear();
    p.parse(
        &books(
            "snapshot",
            "BTC-USDT",
            -1,
            20,
            r#"["8476.97","200","0","10"]"#,
            r#"["8477","7","0","2"]"#,
        ),
        8,
        &mut out,
    )
    .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book"]);
    out.clear();
    p.parse(
        &books("update", "BTC-USDT", 20, 21, "", r#"["8477","8","0","2"]"#),
        9,
        &mut out,
    )
    .unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!((b.prev_seq, out[0].seq), (Some(20), Some(21)));
}

#[test]
fn legacy_checksums_are_verified_when_non_zero() {
    let mut p = parser(Market::Spot, &[Channel::Book], &["BTC-USDT"]);
    let mut out = Vec::new();
    let frame = |action: &str, bids: &str, asks: &str, checksum: i64| {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":[{asks}],"bids":[{bids}],"ts":"1597026383085","checksum":{checksum}}}]}}"#
        )
    };
    p.parse(
        &frame(
            "snapshot",
            r#"["3366.1","7","0","3"],["3366","6","3","4"]"#,
            r#"["3366.8","9","10","3"],["3368","8","3","4"]"#,
            -1881014294,
        ),
        1,
        &mut out,
    )
    .unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!(b.checksum_ok, Some(true));
    assert_eq!(
        out[0].id,
        "okx.spot.BTC-USDT.book.snap.t1597026383085000000.c-1881014294"
    );
    out.clear();
    // Removing the second bid leaves "3366.1:7:3366.8:9:3368:8".
    p.parse(
        &frame("update", r#"["3366","0","0","0"]"#, "", 12345),
        2,
        &mut out,
    )
    .unwrap();
    let Data::Status(s) = &out[0].data else {
        panic!("{out:?}")
    };
    assert_eq!(s.event, StatusEvent::Gap);
    assert_eq!(p.resubscribe().len(), 2);
}

#[test]
fn flat_books_agree_with_serde() {
    let serde_books = |data| serde_json::from_str::<Vec<wire::Book>>(data).ok();
    let fast = [
        // The documentation's `books` snapshot and update, and `bbo-tbt`.
        r#"[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]"#,
        r#"[{"asks":[["8476.98","0","0","0"]],"bids":[],"ts":"1597026383085","checksum":0,"prevSeqId":123456,"seqId":123457}]"#,
        r#"[{"asks":[["111.06","55154","0","2"]],"bids":[["111.05","57745","0","2"]],"ts":"1670324386802","seqId":363996337}]"#,
        // Recordings from before `seqId`, and a null checksum.
        r#"[{"asks":[],"bids":[["30182.6","452","0","1"]],"ts":"1652459225464","checksum":null}]"#,
    ];
    for data in fast {
        let flat = wire::Book::from_flat(data);
        assert!(flat.is_some(), "{data}");
        assert_eq!(flat.map(|b| vec![b]), serde_books(data), "{data}");
    }
    // Shapes left to serde, which then decides.
    for data in [
        r#"[{"asks":[],"bids":[],"ts":"1"},{"asks":[],"bids":[],"ts":"2"}]"#,
        r#"[{"asks":[["1"]],"bids":[],"ts":"1"}]"#,
        r#"[{"asks":[[1,"2"]],"bids":[],"ts":"1"}]"#,
        r#"[{"asks":[],"bids":[],"ts":1}]"#,
        r#"[{"asks":[],"bids":[],"ts":"1","seqId":"5"}]"#,
        r#"[{"asks":[],"asks":[],"ts":"1"}]"#,
        r#"[{"asks":[],"bids":[]}]"#,
        r#"[{"asks":[["1\u0030","2"]],"bids":[],"ts":"1"}]"#,
    ] {
        assert_eq!(wire::Book::from_flat(data), None, "{data}");
        let all = wire::Book::parse_all(data);
        assert_eq!(all.as_ref().ok(), serde_books(data).as_ref(), "{data}");
    }
    assert_eq!(wire::Book::parse_all("[]").unwrap(), vec![]);
}

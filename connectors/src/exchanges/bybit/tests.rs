//! Bybit v5 table tests: every wire type with its raw JSON, symbol mapping per
//! category, planning limits, book sync with a dropped delta, a gap and a resync.

use tickbridge_schema::{Data, Market};

use super::*;
use crate::contract::{FrameParser, Parsed};
use crate::exchanges::testing;

fn request(market: Market, channels: &[Channel], symbols: &[&str]) -> SourceRequest {
    let urls = ("ws://127.0.0.1:1/v5/public/", "");
    testing::request(&Bybit, market, channels, symbols, urls)
}

fn parser(market: Market, channels: &[Channel], symbols: &[&str]) -> BybitParser {
    Bybit.new_parser(&testing::first_plan(
        &Bybit,
        &request(market, channels, symbols),
    ))
}

#[test]
fn symbols_per_category() {
    let b = Bybit;
    let cases = [
        (Market::Spot, "btc-usdt", "BTC-USDT", "BTCUSDT"),
        (Market::Spot, "ETHUSDC", "ETH-USDC", "ETHUSDC"),
        (Market::Perp, "BTC-USDT-PERP", "BTC-USDT-PERP", "BTCUSDT"),
        (Market::Perp, "BTCUSDT", "BTC-USDT-PERP", "BTCUSDT"),
        (Market::Perp, "BTC-USDC-PERP", "BTC-USDC-PERP", "BTCPERP"),
        (Market::Perp, "BTC-USD-PERP", "BTC-USD-PERP", "BTCUSD"),
        (Market::Perp, "ETHUSD", "ETH-USD-PERP", "ETHUSD"),
        (Market::Future, "BTCUSDH25", "BTC-USD-250328", "BTCUSDH25"),
        (
            Market::Future,
            "BTC-USD-251226",
            "BTC-USD-251226",
            "BTCUSDZ25",
        ),
        (
            Market::Future,
            "BTCUSDT-26DEC25",
            "BTC-USDT-251226",
            "BTCUSDT-26DEC25",
        ),
        (
            Market::Future,
            "BTC-USDT-251226",
            "BTC-USDT-251226",
            "BTCUSDT-26DEC25",
        ),
        (
            Market::Future,
            "BTC-26DEC25",
            "BTC-USDC-251226",
            "BTC-26DEC25",
        ),
        (
            Market::Future,
            "BTC-USDC-251226",
            "BTC-USDC-251226",
            "BTC-26DEC25",
        ),
    ];
    for (market, user, symbol, native) in cases {
        testing::assert_symbol(&b, market, user, (symbol, native));
    }
    assert!(
        b.symbol(Market::Future, "BTC-USD-250327").is_err(),
        "not the last Friday"
    );
    assert!(
        b.symbol(Market::Perp, "BTCUSDH25").is_err(),
        "a future, not a perp"
    );
    assert!(b.symbol(Market::Spot, "BTC/USDT").is_err());
    assert_eq!(
        Bybit::category(&b.symbol(Market::Perp, "BTCUSD").unwrap()),
        Category::Inverse
    );
    assert_eq!(
        Bybit::category(&b.symbol(Market::Future, "BTCUSDH25").unwrap()),
        Category::Inverse
    );
    assert_eq!(
        Bybit::category(&b.symbol(Market::Future, "BTC-26DEC25").unwrap()),
        Category::Linear
    );
}

#[test]
fn plans_per_category_within_the_args_limits() {
    let b = Bybit;
    let plans = b
        .plan(&request(
            Market::Perp,
            &[
                Channel::Trade,
                Channel::Book,
                Channel::Funding,
                Channel::MarkPrice,
            ],
            &["BTC-USDT-PERP", "BTC-USD-PERP", "ETH-USDT-PERP"],
        ))
        .unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].url, "ws://127.0.0.1:1/v5/public/linear");
    assert_eq!(
        plans[0].texts(),
        vec![
            r#"{"args":["publicTrade.BTCUSDT","orderbook.50.BTCUSDT","tickers.BTCUSDT"],"op":"subscribe","req_id":"1"}"#,
            r#"{"args":["publicTrade.ETHUSDT","orderbook.50.ETHUSDT","tickers.ETHUSDT"],"op":"subscribe","req_id":"2"}"#
        ]
    );
    assert_eq!(plans[1].url, "ws://127.0.0.1:1/v5/public/inverse");
    assert_eq!(plans[1].symbols[0].symbol, "BTC-USD-PERP");
    // 10 args per request; 21,000 characters of args per connection.
    let many: Vec<String> = (0..1000).map(|i| format!("C{i}-USDT")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let plans = b
        .plan(&request(
            Market::Spot,
            &[Channel::Trade, Channel::Bbo],
            &refs,
        ))
        .unwrap();
    assert!(plans.len() > 1);
    for p in &plans {
        let mut chars = 0;
        for f in &p.texts() {
            let v: serde_json::Value = serde_json::from_str(f).unwrap();
            let args = v["args"].as_array().unwrap();
            assert!(args.len() <= MAX_ARGS_PER_REQUEST);
            chars += args
                .iter()
                .map(|a| a.as_str().unwrap().len() + 3)
                .sum::<usize>();
        }
        assert!(chars <= MAX_ARGS_CHARS_PER_CONNECTION);
    }
    assert_eq!(plans.iter().map(|p| p.symbols.len()).sum::<usize>(), 1000);
    let err = b
        .plan(&request(Market::Spot, &[Channel::Funding], &["BTC-USDT"]))
        .unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[test]
fn table_of_frames() {
    let cases: &[(&str, Parsed, &[&str])] = &[
        (
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1672304486865000000,"ts_recv":9,"seq":null,"id":"bybit.perp.BTC-USDT-PERP.trade.20f43950-d8dd-5b31-9112-a178eb6023af","kind":"trade","price":"16578.5","size":"0.001","side":"buy","trade_id":"20f43950-d8dd-5b31-9112-a178eb6023af"}"#,
            ],
        ),
        (
            r#"{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1672304484976000000,"ts_recv":9,"seq":18521288,"id":"bybit.perp.BTC-USDT-PERP.bbo.18521288","kind":"bbo","bid_price":"16493.5","bid_size":"0.006","ask_price":"16611","ask_size":"0.029"}"#,
            ],
        ),
        (
            r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick","price24hPcnt":"0.017103","lastPrice":"17216.00","prevPrice24h":"16926.50","highPrice24h":"17281.50","lowPrice24h":"16915.00","prevPrice1h":"17238.00","markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761","openInterestValue":"1183601235.91","turnover24h":"1570383121.943499","volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212","bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},"cs":24987956059,"ts":1673272861686}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1673272861686000000,"ts_recv":9,"seq":24987956059,"id":"bybit.perp.BTC-USDT-PERP.ticker.1673272861686.24987956059","kind":"ticker","last":"17216","bid_price":"17215.5","bid_size":"84.489","ask_price":"17216","ask_size":"83.02","open_24h":"16926.5","high_24h":"17281.5","low_24h":"16915","volume_24h":"91705.276","quote_volume_24h":"1570383121.943499"}"#,
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1673272861686000000,"ts_recv":9,"seq":24987956059,"id":"bybit.perp.BTC-USDT-PERP.funding.1673272861686.24987956059","kind":"funding","rate":"-0.000212","predicted_rate":null,"next_funding_ts":1673280000000000000}"#,
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1673272861686000000,"ts_recv":9,"seq":24987956059,"id":"bybit.perp.BTC-USDT-PERP.open_interest.1673272861686.24987956059","kind":"open_interest","open_interest":"68744.761","open_interest_value":"1183601235.91"}"#,
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1673272861686000000,"ts_recv":9,"seq":24987956059,"id":"bybit.perp.BTC-USDT-PERP.mark_price.1673272861686.24987956059","kind":"mark_price","mark_price":"17217.33","index_price":"17227.36"}"#,
            ],
        ),
        // A delta with only the last price: merged onto the snapshot; funding, open
        // interest and mark price did not change and are not republished.
        (
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","lastPrice":"17217.50"},"cs":24987956060,"ts":1673272861786}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1673272861786000000,"ts_recv":9,"seq":24987956060,"id":"bybit.perp.BTC-USDT-PERP.ticker.1673272861786.24987956060","kind":"ticker","last":"17217.5","bid_price":"17215.5","bid_size":"84.489","ask_price":"17216","ask_size":"83.02","open_24h":"16926.5","high_24h":"17281.5","low_24h":"16915","volume_24h":"91705.276","quote_volume_24h":"1570383121.943499"}"#,
            ],
        ),
        (
            r#"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"bybit","market":"perp","symbol":"ROSE-USDT-PERP","native":"ROSEUSDT","ts_exchange":1739502302929000000,"ts_recv":9,"seq":null,"id":"bybit.perp.ROSE-USDT-PERP.liquidation.1739502302929.Sell.0.04499.20000","kind":"liquidation","price":"0.04499","size":"20000","side":"buy"}"#,
            ],
        ),
        (
            r#"{"success":true,"ret_msg":"subscribe","conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"1","op":"subscribe"}"#,
            Parsed::Acked(crate::contract::Answer::Id(1)),
            &[],
        ),
        (
            r#"{"success":false,"ret_msg":"error:handler not found,topic:orderbook.7.BTCUSDT","conn_id":"cejreassvfrsfvb9v1a0-2m","req_id":"1","op":"subscribe"}"#,
            Parsed::Refused(crate::contract::Refusal::of(
                crate::contract::Answer::Id(1),
                vec![],
                r#"subscribe request "1": error:handler not found,topic:orderbook.7.BTCUSDT"#,
            )),
            &[],
        ),
        (
            r#"{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260","req_id":"","op":"ping"}"#,
            Parsed::Heartbeat,
            &[],
        ),
        (
            r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}"#,
            Parsed::Heartbeat,
            &[],
        ),
        (
            r#"{"args":["1672916271846"],"op":"pong"}"#,
            Parsed::Heartbeat,
            &[],
        ),
        (
            r#"{"topic":"kline.5.BTCUSDT","type":"snapshot","ts":1672324988882,"data":[]}"#,
            Parsed::Ignored("kline"),
            &[],
        ),
    ];
    let all = crate::contract::connector::PERP_CHANNELS;
    let mut p = parser(Market::Perp, all, &["BTC-USDT-PERP", "ROSE-USDT-PERP"]);
    testing::assert_table(&mut p, 9, cases);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(r#"{"topic":"foo.BTCUSDT","data":{}}"#, 9, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert_eq!(
        p.parse(r#"{"hello":1}"#, 9, &mut out).unwrap_err().label(),
        "unknown"
    );
}

#[test]
fn inverse_ticker_volumes_are_swapped_and_spot_tickers_lack_derivative_fields() {
    let mut p = parser(Market::Perp, &[Channel::Ticker], &["BTC-USD-PERP"]);
    let mut out = Vec::new();
    p.parse(r#"{"topic":"tickers.BTCUSD","type":"snapshot","data":{"symbol":"BTCUSD","lastPrice":"16597.00","volume24h":"49337318","turnover24h":"2352.94950046"},"cs":2,"ts":3}"#, 1, &mut out).unwrap();
    let Data::Ticker(t) = &out[0].data else {
        panic!()
    };
    assert_eq!(t.volume_24h.as_ref().unwrap().as_str(), "2352.94950046");
    assert_eq!(t.quote_volume_24h.as_ref().unwrap().as_str(), "49337318");
    let mut p = parser(Market::Spot, &[Channel::Ticker], &["BTC-USDT"]);
    out.clear();
    p.parse(r#"{"topic":"tickers.BTCUSDT","ts":1672305380595,"type":"snapshot","cs":496622841,"data":{"symbol":"BTCUSDT","lastPrice":"16363.78","highPrice24h":"16566.64","lowPrice24h":"16009.19","prevPrice24h":"16443.66","volume24h":"5865.470182","turnover24h":"95949815.680875","price24hPcnt":"-0.0049"}}"#, 1, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].symbol, "BTC-USDT");
}

fn book(kind: &str, symbol: &str, u: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"topic":"orderbook.50.{symbol}","type":"{kind}","ts":1672304484978,"data":{{"s":"{symbol}","b":[{bids}],"a":[{asks}],"u":{u},"seq":7961638724}},"cts":1672304484976}}"#
    )
}

#[test]
fn dropped_delta_gaps_one_symbol_and_resyncs_it() {
    let mut p = parser(Market::Spot, &[Channel::Book], &["BTC-USDT", "ETH-USDT"]);
    let mut out = Vec::new();
    p.parse(
        &book(
            "snapshot",
            "BTCUSDT",
            10,
            r#"["100","1"]"#,
            r#"["101","1"]"#,
        ),
        1,
        &mut out,
    )
    .unwrap();
    p.parse(
        &book("snapshot", "ETHUSDT", 5, r#"["10","1"]"#, r#"["11","1"]"#),
        1,
        &mut out,
    )
    .unwrap();
    p.parse(
        &book("delta", "BTCUSDT", 11, r#"["100","2"]"#, ""),
        2,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 3);
    out.clear();
    // u = 12 is dropped; u = 13 arrives: one gap for BTC only.
    p.parse(
        &book("delta", "BTCUSDT", 13, r#"["99","1"]"#, ""),
        3,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(12), Some(13));
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"args":["orderbook.50.BTCUSDT"],"op":"unsubscribe","req_id":"resync1"}"#,
            r#"{"args":["orderbook.50.BTCUSDT"],"op":"subscribe","req_id":"resync2"}"#,
        ]
    );
    out.clear();
    // BTC stays silent until its snapshot; ETH goes on.
    p.parse(
        &book("delta", "BTCUSDT", 14, r#"["99","2"]"#, ""),
        4,
        &mut out,
    )
    .unwrap();
    p.parse(
        &book("delta", "ETHUSDT", 6, r#"["10","0"]"#, ""),
        4,
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].symbol, "ETH-USDT");
    out.clear();
    assert!(matches!(
        p.parse(
            r#"{"success":true,"ret_msg":"","conn_id":"x","req_id":"resync1","op":"unsubscribe"}"#,
            5,
            &mut out
        ),
        Ok(Parsed::Info(_))
    ));
    // The resubscription's snapshot (here after a service restart: u = 1) repairs it.
    p.parse(
        &book(
            "snapshot",
            "BTCUSDT",
            1,
            r#"["100","2"],["99","2"]"#,
            r#"["101","1"]"#,
        ),
        6,
        &mut out,
    )
    .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book"]);
    out.clear();
    p.parse(
        &book("delta", "BTCUSDT", 2, "", r#"["101","0"]"#),
        7,
        &mut out,
    )
    .unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!(
        (b.snapshot, b.prev_seq, out[0].seq),
        (false, Some(1), Some(2))
    );
    // A duplicate delta is ignored.
    out.clear();
    p.parse(
        &book("delta", "BTCUSDT", 2, "", r#"["101","0"]"#),
        8,
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
}

#[test]
fn book_depth_comes_from_the_source_book_options() {
    let b = Bybit;
    let depth = |d: Option<u32>| {
        let mut request = request(Market::Spot, &[Channel::Book], &["BTC-USDT"]);
        request.books.snapshot_depth = d;
        let plan = b.plan(&request).unwrap().remove(0);
        plan.texts()[0].to_string()
    };
    assert!(depth(None).contains("orderbook.50.BTCUSDT"));
    assert!(depth(Some(100)).contains("orderbook.200.BTCUSDT"));
    assert!(depth(Some(5000)).contains("orderbook.1000.BTCUSDT"));
}

#[test]
fn book_options_reach_the_books() {
    let mut request = request(Market::Spot, &[Channel::Book], &["BTC-USDT"]);
    request.books.publish_depth = Some(1);
    let mut p = Bybit.new_parser(&Bybit.plan(&request).unwrap().remove(0));
    let mut out = Vec::new();
    p.parse(
        &book(
            "snapshot",
            "BTCUSDT",
            1,
            r#"["100","1"],["99","1"]"#,
            r#"["101","1"],["102","1"]"#,
        ),
        1,
        &mut out,
    )
    .unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!((b.bids.len(), b.asks.len()), (1, 1));
}

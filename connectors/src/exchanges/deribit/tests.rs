//! Table tests of the Deribit connector with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, OptionType, Side};

use super::parser::TEST_ID;
use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal, PARSER_REQUEST_IDS};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

fn frames_parser() -> DeribitParser {
    Deribit::new_parser(&ConnectionPlan::for_frames("", Market::Perp))
}

fn note(channel: &str, data: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{channel}","data":{data}}}}}"#
    )
}

const TRADES: &str = r#"[{"trade_seq":30289432,"trade_id":"48079254","timestamp":1590484156350,"tick_direction":0,"price":8950.0,"mark_price":8948.9,"instrument_name":"BTC-PERPETUAL","index_price":8955.88,"direction":"sell","amount":10.0},{"trade_seq":30289433,"trade_id":"48079255","timestamp":1590484156350,"tick_direction":1,"price":8950.0,"mark_price":8948.9,"instrument_name":"BTC-PERPETUAL","index_price":8955.88,"direction":"buy","amount":120.0,"liquidation":"M"}]"#;
const QUOTE: &str = r#"{"timestamp":1550658624149,"instrument_name":"BTC-PERPETUAL","best_bid_price":3914.97,"best_bid_amount":40.0,"best_ask_price":3996.61,"best_ask_amount":50.0}"#;
const TICKER: &str = r#"{"timestamp":1623059681955,"stats":{"volume_usd":282615600,"volume":7831.26548117,"price_change":0.2362,"low":35213.5,"high":36824.5},"state":"open","settlement_price":36169.49,"open_interest":502231260,"min_price":35744.73,"max_price":36833.4,"mark_price":36288.31,"last_price":36289.5,"interest_value":1.7362511643080387,"instrument_name":"BTC-PERPETUAL","index_price":36297.02,"funding_8h":0.00002203,"estimated_delivery_price":36297.02,"current_funding":0.0,"best_bid_price":36289.5,"best_bid_amount":4600.0,"best_ask_price":36290.0,"best_ask_amount":53040.0}"#;
/// From the recording: an option's ticker (no funding).
const OPTION_TICKER: &str = r#"{"underlying_price":2003.61,"underlying_index":"ETH-30JUL21","timestamp":1626993723632,"stats":{"volume":869.0,"price_change":0.0,"low":0.0015,"high":0.0025},"state":"open","settlement_price":0.0,"open_interest":12685.0,"min_price":0.0001,"max_price":0.025,"mark_price":0.001972,"mark_iv":120.74,"last_price":0.002,"interest_rate":0.0,"instrument_name":"ETH-30JUL21-2800-C","index_price":2006.72,"greeks":{"vega":0.20072,"theta":-1.64029,"rho":0.01188,"gamma":0.0002,"delta":0.03127},"estimated_delivery_price":2006.72,"bid_iv":0.0,"best_bid_price":0.0,"best_bid_amount":0.0,"best_ask_price":0.0025,"best_ask_amount":873.0,"ask_iv":125.63}"#;

fn book(kind: &str, change: u64, prev: Option<u64>, bids: &str, asks: &str) -> String {
    let prev = prev.map_or(String::new(), |p| format!(r#""prev_change_id":{p},"#));
    note(
        "book.BTC-PERPETUAL.100ms",
        &format!(
            r#"{{"type":"{kind}","timestamp":1590484156350,{prev}"instrument_name":"BTC-PERPETUAL","change_id":{change},"bids":{bids},"asks":{asks}}}"#
        ),
    )
}

fn eth_book(change: u64, prev: Option<u64>) -> String {
    let (kind, prev) = match prev {
        Some(p) => ("change", format!(r#""prev_change_id":{p},"#)),
        None => ("snapshot", String::new()),
    };
    note(
        "book.ETH-PERPETUAL.100ms",
        &format!(
            r#"{{"type":"{kind}","timestamp":1590484156351,{prev}"instrument_name":"ETH-PERPETUAL","change_id":{change},"bids":[["new",200.5,10.0]],"asks":[]}}"#
        ),
    )
}

#[test]
fn plans_heartbeat_then_batched_subscribes() {
    let request = testing::request(
        &Deribit,
        Market::Perp,
        &[
            Channel::Trade,
            Channel::Book,
            Channel::Funding,
            Channel::Liquidation,
        ],
        &["BTC-USD-PERP", "eth-perpetual"],
        ("wss://www.deribit.com/ws/api/v2", ""),
    );
    let plan = testing::first_plan(&Deribit, &request);
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"id":1,"jsonrpc":"2.0","method":"public/set_heartbeat","params":{"interval":10}}"#,
            r#"{"id":2,"jsonrpc":"2.0","method":"public/subscribe","params":{"channels":["trades.BTC-PERPETUAL.100ms","book.BTC-PERPETUAL.100ms","ticker.BTC-PERPETUAL.100ms","trades.ETH-PERPETUAL.100ms","book.ETH-PERPETUAL.100ms","ticker.ETH-PERPETUAL.100ms"]}}"#,
        ]
    );
    assert_eq!(
        plan.requests[1].symbols(),
        ["BTC-PERPETUAL", "ETH-PERPETUAL"]
    );
    assert_eq!(plan.requests[1].answers, 1);
    assert_eq!(plan.send_interval, std::time::Duration::from_millis(100));
}

#[test]
fn shards_by_instruments_per_request_and_connection() {
    let symbols: Vec<String> = (0..250)
        .map(|i| format!("BTC-USD-241227-{}-C", 1000 + i * 100))
        .collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let request = testing::request(
        &Deribit,
        Market::Option,
        &[Channel::Trade, Channel::Bbo],
        &refs,
        ("wss://www.deribit.com/ws/api/v2", ""),
    );
    let plans = Deribit.plan(&request).unwrap();
    assert_eq!(plans.len(), 3);
    assert_eq!(plans[0].symbols.len(), MAX_INSTRUMENTS_PER_CONNECTION);
    assert_eq!(plans[2].symbols.len(), 50);
    // A heartbeat request, then 20 instruments per subscribe.
    assert_eq!(plans[0].requests.len(), 1 + 5);
    assert_eq!(plans[2].requests.len(), 1 + 3);
    assert_eq!(
        plans[0].requests[1].symbols().len(),
        MAX_INSTRUMENTS_PER_REQUEST
    );
    assert!(plans[0].requests[1]
        .text
        .contains(r#""quote.BTC-27DEC24-1000-C""#));
    let limits = Deribit.limits();
    assert_eq!(limits.subscribe_requests, Some(RateWindow::per_secs(20, 1)));
    // Options carry no funding.
    let bad = testing::request(
        &Deribit,
        Market::Option,
        &[Channel::Funding],
        &[refs[0]],
        ("", ""),
    );
    assert!(Deribit.plan(&bad).is_err());
}

#[test]
fn symbols_resolve_in_both_forms() {
    use testing::assert_symbol;
    assert_symbol(
        &Deribit,
        Market::Perp,
        "BTC-USD-PERP",
        ("BTC-USD-PERP", "BTC-PERPETUAL"),
    );
    assert_symbol(
        &Deribit,
        Market::Perp,
        "btc-perpetual",
        ("BTC-USD-PERP", "BTC-PERPETUAL"),
    );
    assert_symbol(
        &Deribit,
        Market::Perp,
        "SOL-USDC-PERP",
        ("SOL-USDC-PERP", "SOL_USDC-PERPETUAL"),
    );
    assert_symbol(
        &Deribit,
        Market::Perp,
        "sol_usdc-perpetual",
        ("SOL-USDC-PERP", "SOL_USDC-PERPETUAL"),
    );
    assert_symbol(
        &Deribit,
        Market::Future,
        "BTC-USD-241227",
        ("BTC-USD-241227", "BTC-27DEC24"),
    );
    assert_symbol(
        &Deribit,
        Market::Future,
        "BTC-6AUG21",
        ("BTC-USD-210806", "BTC-6AUG21"),
    );
    assert_symbol(
        &Deribit,
        Market::Future,
        "BTC-06AUG21",
        ("BTC-USD-210806", "BTC-6AUG21"),
    );
    assert_symbol(
        &Deribit,
        Market::Option,
        "BTC-USD-241227-50000-C",
        ("BTC-USD-241227-50000-C", "BTC-27DEC24-50000-C"),
    );
    assert_symbol(
        &Deribit,
        Market::Option,
        "BTC-24SEP21-8000-P",
        ("BTC-USD-210924-8000-P", "BTC-24SEP21-8000-P"),
    );
    assert_symbol(
        &Deribit,
        Market::Option,
        "XRP-USDC-250530-2.2-P",
        ("XRP-USDC-250530-2.2-P", "XRP_USDC-30MAY25-2d2-P"),
    );
    assert_symbol(
        &Deribit,
        Market::Option,
        "xrp_usdc-30may25-2d2-p",
        ("XRP-USDC-250530-2.2-P", "XRP_USDC-30MAY25-2d2-P"),
    );
    assert_symbol(&Deribit, Market::Spot, "BTC-USDC", ("BTC-USDC", "BTC_USDC"));
    assert_symbol(&Deribit, Market::Spot, "eth_btc", ("ETH-BTC", "ETH_BTC"));
    assert!(
        Deribit.symbol(Market::Perp, "BTC-USD-241227").is_err(),
        "another market"
    );
    for bad in [
        "BTC",
        "BTC-USD-SWAP",
        "BTC-USD-991399",
        "BTC-USD-241227-5x-C",
        "BTC!-PERPETUAL",
    ] {
        assert!(Deribit.symbol(Market::Perp, bad).is_err(), "{bad}");
        assert!(Deribit.symbol(Market::Option, bad).is_err(), "{bad}");
    }
    assert_eq!(
        Deribit.market_of_url("wss://www.deribit.com/ws/api/v2"),
        Some(Market::Perp)
    );
    assert_eq!(
        Deribit.market_of_url("wss://test.deribit.com/ws/api/v2/"),
        Some(Market::Perp)
    );
    assert_eq!(
        Deribit.market_of_url("ws://127.0.0.1:9000/ws/api/v2"),
        Some(Market::Perp)
    );
    assert_eq!(
        Deribit.market_of_url("wss://ws.okx.com:8443/ws/v5/public"),
        None
    );
    // Names of no known form stay as they are (combos).
    let combo = Deribit::normalize("BTC-FS-27DEC24_PERP");
    assert_eq!(
        (combo.market, combo.symbol.as_str()),
        (Market::Spot, "BTC-FS-27DEC24_PERP")
    );
}

#[test]
fn documented_frames_are_classified() {
    let mut p = frames_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                &note("trades.BTC-PERPETUAL.100ms", TRADES),
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1590484156350000000,"ts_recv":7,"seq":30289432,"id":"deribit.perp.BTC-USD-PERP.trade.48079254","kind":"trade","price":"8950","size":"10","side":"sell","trade_id":"48079254"}"#,
                    // Maker liquidated: the liquidation order sold into a buying taker.
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1590484156350000000,"ts_recv":7,"seq":null,"id":"deribit.perp.BTC-USD-PERP.liquidation.48079255.M","kind":"liquidation","price":"8950","size":"120","side":"sell"}"#,
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1590484156350000000,"ts_recv":7,"seq":30289433,"id":"deribit.perp.BTC-USD-PERP.trade.48079255","kind":"trade","price":"8950","size":"120","side":"buy","trade_id":"48079255"}"#,
                ],
            ),
            (
                &note("quote.BTC-PERPETUAL", QUOTE),
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1550658624149000000,"ts_recv":7,"seq":null,"id":"deribit.perp.BTC-USD-PERP.bbo.1550658624149","kind":"bbo","bid_price":"3914.97","bid_size":"40","ask_price":"3996.61","ask_size":"50"}"#,
                ],
            ),
            (
                &note("ticker.BTC-PERPETUAL.100ms", TICKER),
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1623059681955000000,"ts_recv":7,"seq":null,"id":"deribit.perp.BTC-USD-PERP.ticker.1623059681955","kind":"ticker","last":"36289.5","bid_price":"36289.5","bid_size":"4600","ask_price":"36290","ask_size":"53040","open_24h":null,"high_24h":"36824.5","low_24h":"35213.5","volume_24h":"7831.26548117","quote_volume_24h":"282615600"}"#,
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1623059681955000000,"ts_recv":7,"seq":null,"id":"deribit.perp.BTC-USD-PERP.funding.1623059681955","kind":"funding","rate":"0.00002203","predicted_rate":null,"next_funding_ts":null}"#,
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1623059681955000000,"ts_recv":7,"seq":null,"id":"deribit.perp.BTC-USD-PERP.open_interest.1623059681955","kind":"open_interest","open_interest":"502231260","open_interest_value":null}"#,
                    r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1623059681955000000,"ts_recv":7,"seq":null,"id":"deribit.perp.BTC-USD-PERP.mark_price.1623059681955","kind":"mark_price","mark_price":"36288.31","index_price":"36297.02"}"#,
                ],
            ),
            (
                &note("ticker.ETH-30JUL21-2800-C.raw", OPTION_TICKER),
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"deribit","market":"option","symbol":"ETH-USD-210730-2800-C","native":"ETH-30JUL21-2800-C","ts_exchange":1626993723632000000,"ts_recv":7,"seq":null,"id":"deribit.option.ETH-USD-210730-2800-C.ticker.1626993723632","kind":"ticker","last":"0.002","bid_price":null,"bid_size":null,"ask_price":"0.0025","ask_size":"873","open_24h":null,"high_24h":"0.0025","low_24h":"0.0015","volume_24h":"869","quote_volume_24h":null}"#,
                    r#"{"v":1,"exchange":"deribit","market":"option","symbol":"ETH-USD-210730-2800-C","native":"ETH-30JUL21-2800-C","ts_exchange":1626993723632000000,"ts_recv":7,"seq":null,"id":"deribit.option.ETH-USD-210730-2800-C.open_interest.1626993723632","kind":"open_interest","open_interest":"12685","open_interest_value":null}"#,
                    r#"{"v":1,"exchange":"deribit","market":"option","symbol":"ETH-USD-210730-2800-C","native":"ETH-30JUL21-2800-C","ts_exchange":1626993723632000000,"ts_recv":7,"seq":null,"id":"deribit.option.ETH-USD-210730-2800-C.mark_price.1626993723632","kind":"mark_price","mark_price":"0.001972","index_price":"2006.72"}"#,
                ],
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":"ok"}"#,
                Parsed::Acked(Answer::Id(1)),
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"result":["trades.BTC-PERPETUAL.100ms"]}"#,
                Parsed::Acked(Answer::Id(3)),
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","id":4,"error":{"message":"Invalid params","data":{"reason":"invalid channel","param":"channels"},"code":-32602}}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(4),
                    Vec::new(),
                    r#"error -32602: Invalid params ({"param":"channels","reason":"invalid channel"})"#,
                )),
                &[],
            ),
            (
                r#"{"jsonrpc":"2.0","error":{"code":10028,"message":"too_many_requests"}}"#,
                Parsed::Refused(Refusal::unattributed("error 10028: too_many_requests")),
                &[],
            ),
            (
                &format!(r#"{{"jsonrpc":"2.0","id":{TEST_ID},"result":{{"version":"1.2.26"}}}}"#),
                Parsed::Heartbeat,
                &[],
            ),
            (
                &note(
                    "deribit_price_index.btc_usd",
                    r#"{"timestamp":1550588002899,"price":3937.89,"index_name":"btc_usd"}"#,
                ),
                Parsed::Ignored("deribit_price_index"),
                &[],
            ),
        ],
    );
    // Unknown frames are errors, never swallowed.
    let mut out = Vec::new();
    assert!(p
        .parse(r#"{"jsonrpc":"2.0","method":"nope"}"#, 7, &mut out)
        .is_err());
    assert!(p.parse(&note("mystery.X", "{}"), 7, &mut out).is_err());
    assert!(p.parse(r#"{"jsonrpc":"2.0"}"#, 7, &mut out).is_err());
    assert!(p.parse("not json", 7, &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn test_requests_are_answered_with_public_test() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let r = p.parse(
        r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}"#,
        1,
        &mut out,
    );
    assert_eq!(r, Ok(Parsed::Heartbeat));
    assert_eq!(
        p.reply().as_deref(),
        Some(r#"{"id":999999,"jsonrpc":"2.0","method":"public/test","params":{}}"#)
    );
    assert_eq!(p.reply(), None, "answered once");
}

#[test]
fn a_subscribe_answer_missing_channels_refuses_their_instrument() {
    let request = testing::request(
        &Deribit,
        Market::Perp,
        &[Channel::Trade, Channel::Book],
        &["BTC-PERPETUAL", "ETH-PERPETUAL"],
        ("wss://www.deribit.com/ws/api/v2", ""),
    );
    let plan = testing::first_plan(&Deribit, &request);
    let mut p = Deribit::new_parser(&plan);
    let mut out = Vec::new();
    let all = r#"{"jsonrpc":"2.0","id":2,"result":["trades.BTC-PERPETUAL.100ms","book.BTC-PERPETUAL.100ms","book.ETH-PERPETUAL.100ms","trades.ETH-PERPETUAL.100ms"]}"#;
    assert_eq!(p.parse(all, 1, &mut out), Ok(Parsed::Acked(Answer::Id(2))));
    let partial = r#"{"jsonrpc":"2.0","id":2,"result":["trades.BTC-PERPETUAL.100ms","book.BTC-PERPETUAL.100ms","trades.ETH-PERPETUAL.100ms"]}"#;
    assert_eq!(
        p.parse(partial, 1, &mut out),
        Ok(Parsed::Refused(Refusal::of(
            Answer::Id(2),
            vec!["ETH-PERPETUAL".into()],
            "not subscribed: book.ETH-PERPETUAL.100ms"
        )))
    );
    // The plan's instruments only.
    assert_eq!(
        p.parse(
            &note("quote.SOL-PERPETUAL", &QUOTE.replace("BTC-", "SOL-")),
            1,
            &mut out
        ),
        Ok(NOT_PLANNED)
    );
    assert_eq!(
        p.parse(
            &note("trades.any.any.100ms", &TRADES.replace("BTC-", "SOL-")),
            1,
            &mut out
        ),
        Ok(NOT_PLANNED)
    );
    assert!(out.is_empty());
}

#[test]
fn book_chain_gap_resubscribes_that_instrument_only() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let snap = book(
        "snapshot",
        10,
        None,
        r#"[["new",100.0,5.0],["new",99.5,1.0]]"#,
        r#"[["new",101.0,2.0]]"#,
    );
    assert_eq!(p.parse(&snap, 1, &mut out), Ok(Parsed::Data));
    assert_eq!(p.parse(&eth_book(50, None), 1, &mut out), Ok(Parsed::Data));
    let change = book(
        "change",
        12,
        Some(10),
        r#"[["delete",99.5,0.0],["change",100.0,4.0]]"#,
        r#"[["new",100.5,1.0]]"#,
    );
    assert_eq!(p.parse(&change, 2, &mut out), Ok(Parsed::Data));
    assert_eq!(
        p.parse(&eth_book(51, Some(50)), 2, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 4);
    let got: Vec<String> = out.iter().map(json).collect();
    assert_eq!(
        got[0],
        r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1590484156350000000,"ts_recv":1,"seq":10,"id":"deribit.perp.BTC-USD-PERP.book.snap.10","kind":"book","bids":[["100","5"],["99.5","1"]],"asks":[["101","2"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#
    );
    assert_eq!(
        got[2],
        r#"{"v":1,"exchange":"deribit","market":"perp","symbol":"BTC-USD-PERP","native":"BTC-PERPETUAL","ts_exchange":1590484156350000000,"ts_recv":2,"seq":12,"id":"deribit.perp.BTC-USD-PERP.book.12","kind":"book","bids":[["99.5","0"],["100","4"]],"asks":[["100.5","1"]],"snapshot":false,"prev_seq":10,"checksum_ok":null}"#
    );
    // A late, older change is skipped.
    out.clear();
    assert_eq!(
        p.parse(&book("change", 11, Some(9), "[]", "[]"), 3, &mut out),
        Ok(Parsed::Data)
    );
    assert!(out.is_empty());
    // 13 was missed: 14 names it as its previous.
    assert_eq!(
        p.parse(
            &book("change", 15, Some(14), r#"[["new",98.0,1.0]]"#, "[]"),
            3,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], Some(12), Some(14));
    assert_eq!(
        p.resubscribe(),
        vec![
            format!(
                r#"{{"id":{PARSER_REQUEST_IDS},"jsonrpc":"2.0","method":"public/unsubscribe","params":{{"channels":["book.BTC-PERPETUAL.100ms"]}}}}"#
            ),
            format!(
                r#"{{"id":{},"jsonrpc":"2.0","method":"public/subscribe","params":{{"channels":["book.BTC-PERPETUAL.100ms"]}}}}"#,
                PARSER_REQUEST_IDS + 1
            ),
        ]
    );
    assert!(p.resubscribe().is_empty(), "throttled");
    // Nothing of BTC is published meanwhile; ETH goes on.
    out.clear();
    assert_eq!(
        p.parse(
            &book("change", 16, Some(15), "[]", r#"[["new",102.0,1.0]]"#),
            4,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert_eq!(
        p.parse(&eth_book(52, Some(51)), 4, &mut out),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].symbol, "ETH-USD-PERP");
    // The answers to the resubscription, then the fresh snapshot.
    let unsub = format!(
        r#"{{"jsonrpc":"2.0","id":{PARSER_REQUEST_IDS},"result":["book.BTC-PERPETUAL.100ms"]}}"#
    );
    assert!(matches!(p.parse(&unsub, 5, &mut out), Ok(Parsed::Info(_))));
    out.clear();
    assert_eq!(
        p.parse(
            &book("snapshot", 40, None, r#"[["new",100.0,1.0]]"#, "[]"),
            5,
            &mut out
        ),
        Ok(Parsed::Data)
    );
    assert_eq!(out.len(), 2);
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(s.event, tickbridge_schema::StatusEvent::Resynced);
    let Data::Book(b) = &out[1].data else {
        panic!()
    };
    assert!(b.snapshot);
    assert_eq!(out[1].seq, Some(40));
    // Bad actions are errors.
    assert!(p
        .parse(
            &book("change", 41, Some(40), r#"[["move",1.0,1.0]]"#, "[]"),
            6,
            &mut out
        )
        .is_err());
}

#[test]
fn taker_liquidations_and_both_sides() {
    let mut p = frames_parser();
    let mut out = Vec::new();
    let t = TRADES.replace(r#""liquidation":"M""#, r#""liquidation":"MT""#);
    assert_eq!(
        p.parse(&note("trades.BTC-PERPETUAL.100ms", &t), 1, &mut out),
        Ok(Parsed::Data)
    );
    let liqs: Vec<Side> = out
        .iter()
        .filter_map(|r| match &r.data {
            Data::Liquidation(l) => Some(l.side),
            _ => None,
        })
        .collect();
    assert_eq!(
        liqs,
        [Side::Buy, Side::Sell],
        "the taker's (buy), then the maker's"
    );
}

const INSTRUMENTS: &str = r#"{"jsonrpc":"2.0","result":[
{"tick_size":0.0005,"taker_commission":0.0003,"strike":40000.0,"settlement_period":"month","quote_currency":"BTC","option_type":"put","min_trade_amount":0.1,"maker_commission":0.0003,"kind":"option","is_active":true,"instrument_name":"BTC-24SEP21-40000-P","expiration_timestamp":1632470400000,"creation_timestamp":1606129458000,"contract_size":1.0,"block_trade_commission":0.00015,"base_currency":"BTC"},
{"tick_size":0.5,"taker_commission":0.0005,"settlement_period":"month","quote_currency":"USD","min_trade_amount":10.0,"max_liquidation_commission":0.005,"max_leverage":100,"maker_commission":0.0,"kind":"future","is_active":true,"instrument_name":"BTC-25MAR22","expiration_timestamp":1648195200000,"creation_timestamp":1618833701000,"contract_size":10.0,"block_trade_commission":0.0001,"base_currency":"BTC"},
{"tick_size":0.5,"taker_commission":0.0005,"settlement_period":"perpetual","quote_currency":"USD","min_trade_amount":10.0,"max_liquidation_commission":0.005,"max_leverage":100,"maker_commission":0.0,"kind":"future","is_active":true,"instrument_name":"BTC-PERPETUAL","expiration_timestamp":32503708800000,"creation_timestamp":1534242287000,"contract_size":10.0,"block_trade_commission":0.0001,"base_currency":"BTC"},
{"tick_size":0.001,"taker_commission":0.0005,"settlement_period":"perpetual","settlement_currency":"USDC","rfq":false,"quote_currency":"USDC","price_index":"uni_usdc","min_trade_amount":1,"max_liquidation_commission":0.0075,"max_leverage":25,"maker_commission":0.0,"kind":"future","is_active":false,"instrument_name":"UNI_USDC-PERPETUAL","instrument_id":215753,"future_type":"linear","expiration_timestamp":32503708800000,"creation_timestamp":1651149400000,"counter_currency":"USDC","contract_size":1,"block_trade_commission":0.0001,"base_currency":"UNI"},
{"tick_size":0.0001,"tick_size_steps":[],"taker_commission":0.0,"quote_currency":"USDC","price_index":"xrp_usdc","min_trade_amount":0.1,"maker_commission":0.0,"kind":"option","is_active":true,"instrument_name":"XRP_USDC-30MAY25-2d2-P","strike":2.2,"option_type":"put","settlement_period":"day","settlement_currency":"USDC","expiration_timestamp":1748592000000,"creation_timestamp":1748419200000,"counter_currency":"USDC","contract_size":1.0,"base_currency":"XRP"},
{"tick_size":0.01,"taker_commission":0.0,"quote_currency":"USDC","price_index":"btc_usdc","min_trade_amount":0.0001,"maker_commission":0.0,"kind":"spot","is_active":true,"instrument_name":"BTC_USDC","creation_timestamp":1682000000000,"counter_currency":"USDC","contract_size":0.0001,"base_currency":"BTC"},
{"tick_size":0.5,"kind":"future_combo","is_active":true,"instrument_name":"BTC-FS-25MAR22_PERP","base_currency":"BTC","quote_currency":"USD","min_trade_amount":10}
],"usIn":1,"usOut":2,"usDiff":1,"testnet":false}"#;

#[test]
fn instruments_of_every_kind() {
    assert_eq!(
        Deribit.instrument_urls(Market::Option, "https://www.deribit.com/"),
        [
            "https://www.deribit.com/api/v2/public/get_instruments?currency=BTC&expired=false",
            "https://www.deribit.com/api/v2/public/get_instruments?currency=ETH&expired=false",
            "https://www.deribit.com/api/v2/public/get_instruments?currency=USDC&expired=false",
            "https://www.deribit.com/api/v2/public/get_instruments?currency=USDT&expired=false",
            "https://www.deribit.com/api/v2/public/get_instruments?currency=EURR&expired=false",
        ]
    );
    let parse = |m| Deribit.parse_instruments(m, "", INSTRUMENTS).unwrap();
    let options = parse(Market::Option);
    let r = rows(&options);
    assert_eq!(
        r.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        [
            ("BTC-24SEP21-40000-P", "BTC-USD-210924-40000-P"),
            ("XRP_USDC-30MAY25-2d2-P", "XRP-USDC-250530-2.2-P"),
        ]
    );
    let btc = r[0].3;
    assert_eq!(btc.settle.as_deref(), Some("BTC"));
    assert_eq!(btc.strike, testing::d("40000"));
    assert_eq!(btc.option_type, Some(OptionType::Put));
    assert_eq!(btc.expiry, Some(1_632_470_400_000_000_000));
    assert_eq!(
        (btc.tick_size.clone(), btc.lot_size.clone()),
        (testing::d("0.0005"), testing::d("0.1"))
    );
    assert_eq!(r[1].3.settle.as_deref(), Some("USDC"));
    let perps = parse(Market::Perp);
    let r = rows(&perps);
    assert_eq!(
        r.iter().map(|x| (x.0, x.1, x.3.status)).collect::<Vec<_>>(),
        [
            ("BTC-PERPETUAL", "BTC-USD-PERP", InstrumentStatus::Trading),
            (
                "UNI_USDC-PERPETUAL",
                "UNI-USDC-PERP",
                InstrumentStatus::Halted
            ),
        ]
    );
    assert_eq!(r[0].3.expiry, None);
    assert_eq!(r[0].3.contract_size, testing::d("10"));
    assert_eq!(r[0].3.settle.as_deref(), Some("BTC"));
    let futures = parse(Market::Future);
    assert_eq!(rows(&futures)[0].1, "BTC-USD-220325");
    let spot = parse(Market::Spot);
    assert_eq!(
        (rows(&spot)[0].1, rows(&spot)[0].3.settle.clone()),
        ("BTC-USDC", None)
    );
    // Every listed name resolves to the same normalized symbol without the list.
    for l in options.iter().chain(&perps).chain(&futures).chain(&spot) {
        assert_eq!(
            Deribit::normalize(&l.symbol.native),
            l.symbol,
            "{}",
            l.symbol.native
        );
        let s = Deribit.symbol(l.symbol.market, &l.symbol.symbol).unwrap();
        assert_eq!(s.native, l.symbol.native);
    }
    assert!(Deribit
        .parse_instruments(
            Market::Perp,
            "",
            r#"{"jsonrpc":"2.0","error":{"code":10028,"message":"too_many_requests"}}"#
        )
        .is_err());
}

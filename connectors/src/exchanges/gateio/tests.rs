//! Table tests of the Gate connectors with the documented example frames.

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::parser::units_to_ns;
use super::*;
use crate::contract::{Answer, FrameParser, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, instrument, json, rows};
use crate::symbols::NOT_PLANNED;

fn spot_parser() -> GateParser {
    Gate::SPOT.new_parser(&ConnectionPlan::for_frames("", Market::Spot))
}

fn futures_parser() -> GateParser {
    Gate::FUTURES.new_parser(&ConnectionPlan::for_frames("", Market::Perp))
}

/// A request's text without its `time` (the clock's).
fn untimed(text: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert!(v["time"].as_i64().unwrap() > 1_700_000_000, "{text}");
    v.as_object_mut().unwrap().remove("time");
    v.to_string()
}

fn texts(plan: &ConnectionPlan) -> Vec<String> {
    plan.texts().into_iter().map(untimed).collect()
}

#[test]
fn plans_one_request_per_channel_and_one_per_book() {
    let request = testing::request(
        &Gate::SPOT,
        Market::Spot,
        &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker],
        &["BTC-USDT", "eth_usdt"],
        ("wss://api.gateio.ws/ws/v4/", ""),
    );
    let plan = testing::first_plan(&Gate::SPOT, &request);
    assert_eq!(
        texts(&plan),
        vec![
            r#"{"channel":"spot.trades","event":"subscribe","id":1,"payload":["BTC_USDT","ETH_USDT"]}"#,
            r#"{"channel":"spot.book_ticker","event":"subscribe","id":2,"payload":["BTC_USDT","ETH_USDT"]}"#,
            r#"{"channel":"spot.order_book_update","event":"subscribe","id":3,"payload":["BTC_USDT","100ms"]}"#,
            r#"{"channel":"spot.order_book_update","event":"subscribe","id":4,"payload":["ETH_USDT","100ms"]}"#,
            r#"{"channel":"spot.tickers","event":"subscribe","id":5,"payload":["BTC_USDT","ETH_USDT"]}"#,
        ]
    );
    assert!(plan.requests.iter().all(|r| r.answers == 1));
    assert_eq!(plan.requests[0].symbols(), vec!["BTC_USDT", "ETH_USDT"]);

    // Futures: ticker, funding, mark price and open interest share `futures.tickers`.
    let request = testing::request(
        &Gate::FUTURES,
        Market::Perp,
        PERP_CHANNELS,
        &["BTC-USDT-PERP"],
        ("wss://fx-ws.gateio.ws/v4/ws/usdt", ""),
    );
    let plan = testing::first_plan(&Gate::FUTURES, &request);
    assert_eq!(
        texts(&plan),
        vec![
            r#"{"channel":"futures.trades","event":"subscribe","id":1,"payload":["BTC_USDT"]}"#,
            r#"{"channel":"futures.book_ticker","event":"subscribe","id":2,"payload":["BTC_USDT"]}"#,
            r#"{"channel":"futures.order_book_update","event":"subscribe","id":3,"payload":["BTC_USDT","100ms","100"]}"#,
            r#"{"channel":"futures.tickers","event":"subscribe","id":4,"payload":["BTC_USDT"]}"#,
            r#"{"channel":"futures.public_liquidates","event":"subscribe","id":5,"payload":["BTC_USDT"]}"#,
        ]
    );
    assert_eq!(plan.requests[3].topics.len(), 4);
    // A refused request is split by the encoder: one symbol's tickers again.
    let again = encode(9, plan.requests[3].topics.clone());
    assert_eq!(
        untimed(&again.text),
        r#"{"channel":"futures.tickers","event":"subscribe","id":9,"payload":["BTC_USDT"]}"#
    );
}

#[test]
fn shards_by_the_symbol_limit() {
    let symbols: Vec<String> = (0..250).map(|i| format!("C{i}_USDT")).collect();
    let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let request = testing::request(
        &Gate::SPOT,
        Market::Spot,
        &[Channel::Trade, Channel::Book],
        &names,
        ("wss://api.gateio.ws/ws/v4/", ""),
    );
    let plans = Gate::SPOT.plan(&request).unwrap();
    let sizes: Vec<usize> = plans.iter().map(|p| p.symbols.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    // One trades request and one book request per symbol.
    assert_eq!(plans[2].requests.len(), 1 + 50);
    assert!(Gate::SPOT.limits().max_streams_per_connection >= 100 * 2);
}

#[test]
fn resolves_symbols_and_urls() {
    testing::assert_symbol(
        &Gate::SPOT,
        Market::Spot,
        "BTC-USDT",
        ("BTC-USDT", "BTC_USDT"),
    );
    testing::assert_symbol(&Gate::SPOT, Market::Spot, "eth_btc", ("ETH-BTC", "ETH_BTC"));
    testing::assert_symbol(&Gate::SPOT, Market::Spot, "gt/usdt", ("GT-USDT", "GT_USDT"));
    testing::assert_symbol(
        &Gate::FUTURES,
        Market::Perp,
        "BTC-USDT-PERP",
        ("BTC-USDT-PERP", "BTC_USDT"),
    );
    testing::assert_symbol(
        &Gate::FUTURES,
        Market::Perp,
        "RDNT_USDT",
        ("RDNT-USDT-PERP", "RDNT_USDT"),
    );
    assert!(Gate::SPOT.symbol(Market::Spot, "BTCUSDT").is_err());
    assert!(Gate::SPOT.symbol(Market::Spot, "BTC-USDT-PERP").is_err());
    assert!(Gate::SPOT.symbol(Market::Perp, "BTC-USDT").is_err());
    assert!(Gate::FUTURES.symbol(Market::Spot, "BTC-USDT").is_err());
    assert!(Gate::FUTURES.symbol(Market::Perp, "BTC_USDT!").is_err());
    let of = |c: &Gate, u: &str| c.market_of_url(u);
    assert_eq!(
        of(&Gate::SPOT, "wss://api.gateio.ws/ws/v4/"),
        Some(Market::Spot)
    );
    assert_eq!(of(&Gate::SPOT, "wss://fx-ws.gateio.ws/v4/ws/usdt"), None);
    assert_eq!(
        of(&Gate::FUTURES, "wss://fx-ws.gateio.ws/v4/ws/usdt"),
        Some(Market::Perp)
    );
    assert_eq!(of(&Gate::FUTURES, "wss://fx-ws.gateio.ws/v4/ws/btc"), None);
    assert_eq!(of(&Gate::FUTURES, "wss://api.gateio.ws/ws/v4/"), None);
}

#[test]
fn times_keep_their_fractions() {
    assert_eq!(
        units_to_ns("1619093543708.2642", 1_000_000),
        Some(1_619_093_543_708_264_200)
    );
    assert_eq!(
        units_to_ns("1684930166.384", 1_000_000_000),
        Some(1_684_930_166_384_000_000)
    );
    assert_eq!(units_to_ns("17", 1_000_000), Some(17_000_000));
    assert_eq!(units_to_ns("1.x", 1), None);
}

#[test]
fn documented_spot_frames_are_classified() {
    let mut p = spot_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                r#"{"time":1619093543,"channel":"spot.trades","event":"update","result":{"id":816995772,"create_time":1619093543,"create_time_ms":"1619093543708.2642","side":"sell","currency_pair":"DIS_USDT","amount":"0.2010000000","price":"121.5800000000"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio","market":"spot","symbol":"DIS-USDT","native":"DIS_USDT","ts_exchange":1619093543708264200,"ts_recv":7,"seq":null,"id":"gateio.spot.DIS-USDT.trade.816995772","kind":"trade","price":"121.58","size":"0.201","side":"sell","trade_id":"816995772"}"#,
                ],
            ),
            (
                r#"{"time":1606293275,"time_ms":1606293275723,"channel":"spot.book_ticker","event":"update","result":{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio","market":"spot","symbol":"BTC-USDT","native":"BTC_USDT","ts_exchange":1606293275123000000,"ts_recv":7,"seq":48733182,"id":"gateio.spot.BTC-USDT.bbo.48733182","kind":"bbo","bid_price":"19177.79","bid_size":"0.0003341504","ask_price":"19179.38","ask_size":"0.09"}"#,
                ],
            ),
            (
                r#"{"time":1619093533,"channel":"spot.tickers","event":"update","result":{"currency_pair":"NEO_BTC","last":"0.0018716","lowest_ask":"0.0018734","highest_bid":"0.0018697","change_percentage":"2.9256","base_volume":"1138.01640718","quote_volume":"2.048263365803126","high_24h":"0.0018754","low_24h":"0.0017148"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio","market":"spot","symbol":"NEO-BTC","native":"NEO_BTC","ts_exchange":1619093533000000000,"ts_recv":7,"seq":null,"id":"gateio.spot.NEO-BTC.ticker.7","kind":"ticker","last":"0.0018716","bid_price":"0.0018697","bid_size":null,"ask_price":"0.0018734","ask_size":null,"open_24h":null,"high_24h":"0.0018754","low_24h":"0.0017148","volume_24h":"1138.01640718","quote_volume_24h":"2.048263365803126"}"#,
                ],
            ),
            (
                r#"{"time":1619093532,"channel":"spot.trades","event":"subscribe","result":{"status":"success"}}"#,
                Parsed::Acked(Answer::InOrder),
                &[],
            ),
            (
                r#"{"time":1606292218,"time_ms":1606292218231,"id":3,"channel":"spot.order_book_update","event":"subscribe","result":{"status":"success"}}"#,
                Parsed::Acked(Answer::Id(3)),
                &[],
            ),
            (
                r#"{"time":1606292218,"time_ms":1606292218231,"id":1,"channel":"spot.trades","event":"subscribe","error":{"code":2,"message":"unknown currency pair GT_USD"},"result":{"status":"fail"}}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(1),
                    Vec::new(),
                    "spot.trades subscribe: error 2: unknown currency pair GT_USD",
                )),
                &[],
            ),
            (
                r#"{"time":1606292218,"time_ms":1606292218231,"channel":"spot.trades","event":"subscribe","error":{"code":2,"message":"unknown currency pair GIBBERISH_USD"},"result":null}"#,
                Parsed::Refused(Refusal::of(
                    Answer::InOrder,
                    Vec::new(),
                    "spot.trades subscribe: error 2: unknown currency pair GIBBERISH_USD",
                )),
                &[],
            ),
            (
                r#"{"time":1545404023,"time_ms":1545404023123,"channel":"spot.pong","event":"","result":null}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"time":1619093534,"channel":"spot.candlesticks","event":"update","result":{"t":"1619093520","v":"0","c":"120.92","h":"120.92","l":"120.92","o":"120.92","n":"1m_DIS_USDT"}}"#,
                Parsed::Ignored("candlesticks"),
                &[],
            ),
            (
                r#"{"time":1,"channel":"spot.trades","event":"unsubscribe","result":{"status":"success"}}"#,
                Parsed::Info("unsubscribe spot.trades: success ".into()),
                &[],
            ),
        ],
    );
    let mut out = Vec::new();
    for bad in [
        r#"{"time":1,"channel":"spot.nonsense","event":"update","result":{}}"#,
        r#"{"time":1,"channel":"futures.trades","event":"update","result":[]}"#,
        r#"{"time":1,"channel":"spot.trades","event":"surprise"}"#,
        r#"{"time":1,"channel":"spot.trades","event":"update","result":{"id":1,"side":"up","currency_pair":"A_B","amount":"1","price":"1"}}"#,
    ] {
        assert!(p.parse(bad, 7, &mut out).is_err(), "{bad}");
    }
    assert!(out.is_empty());
}

#[test]
fn documented_futures_frames_are_classified() {
    let mut p = futures_parser();
    assert_table(
        &mut p,
        7,
        &[
            (
                r#"{"channel":"futures.trades","event":"update","time":1541503698,"time_ms":1541503698123,"result":[{"size":-108,"id":27753479,"create_time":1545136464,"create_time_ms":1545136464123,"price":"96.4","contract":"BTC_USDT","is_internal":true},{"size":"2.5","id":27753480,"create_time":1545136464,"create_time_ms":1545136464124,"price":"96.5","contract":"BTC_USDT"}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1545136464123000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.trade.27753479","kind":"trade","price":"96.4","size":"108","side":"sell","trade_id":"27753479"}"#,
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1545136464124000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.trade.27753480","kind":"trade","price":"96.5","size":"2.5","side":"buy","trade_id":"27753480"}"#,
                ],
            ),
            (
                r#"{"time":1684930165,"time_ms":1684930165631,"channel":"futures.book_ticker","event":"update","result":{"t":1684930165621,"u":6159967,"s":"PHB_USDT","b":"0.7379","B":814,"a":"0.739","A":677}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"PHB-USDT-PERP","native":"PHB_USDT","ts_exchange":1684930165621000000,"ts_recv":7,"seq":6159967,"id":"gateio-futures.perp.PHB-USDT-PERP.bbo.6159967","kind":"bbo","bid_price":"0.7379","bid_size":"814","ask_price":"0.739","ask_size":"677"}"#,
                ],
            ),
            (
                r#"{"time":1541659086,"time_ms":1541659086123,"channel":"futures.tickers","event":"update","result":[{"contract":"BTC_USDT","last":"118.4","change_percentage":"0.77","funding_rate":"-0.000114","funding_rate_indicative":"0.01875","mark_price":"118.35","index_price":"118.36","total_size":"73648","volume_24h":"745487577","volume_24h_base":"5526","volume_24h_quote":"1665006","volume_24h_settle":"178","low_24h":"99.2","high_24h":"132.5"}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1541659086123000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.ticker.1541659086123000000","kind":"ticker","last":"118.4","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":null,"high_24h":"132.5","low_24h":"99.2","volume_24h":"5526","quote_volume_24h":"1665006"}"#,
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1541659086123000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.funding.1541659086123000000","kind":"funding","rate":"-0.000114","predicted_rate":"0.01875","next_funding_ts":null}"#,
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1541659086123000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.mark_price.1541659086123000000","kind":"mark_price","mark_price":"118.35","index_price":"118.36"}"#,
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1541659086123000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.open_interest.1541659086123000000","kind":"open_interest","open_interest":"73648","open_interest_value":null}"#,
                ],
            ),
            (
                r#"{"channel":"futures.public_liquidates","event":"update","time":1541505434,"time_ms":1541505434123,"result":[{"price":"215.1","size":"-124.5","time":1541486601123,"contract":"BTC_USDT"},{"price":"215.2","size":"10","time":1541486601456,"contract":"BTC_USDT"}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1541486601123000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.liquidation.1541486601123000000.0","kind":"liquidation","price":"215.1","size":"124.5","side":"sell"}"#,
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"BTC-USDT-PERP","native":"BTC_USDT","ts_exchange":1541486601456000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.BTC-USDT-PERP.liquidation.1541486601456000000.1","kind":"liquidation","price":"215.2","size":"10","side":"buy"}"#,
                ],
            ),
            (
                r#"{"channel":"futures.public_liquidates","event":"update","time":1541505434,"time_ms":1541505434123,"result":[{"price":"215.1","size":-124,"time":1541486601,"contract":"ETH_USDT"}]}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"gateio-futures","market":"perp","symbol":"ETH-USDT-PERP","native":"ETH_USDT","ts_exchange":1541486601000000000,"ts_recv":7,"seq":null,"id":"gateio-futures.perp.ETH-USDT-PERP.liquidation.1541486601000000000.0","kind":"liquidation","price":"215.1","size":"124","side":"sell"}"#,
                ],
            ),
            (
                r#"{"time":1684930165,"time_ms":0,"channel":"futures.order_book_update","event":"subscribe","result":{"status":"success"}}"#,
                Parsed::Acked(Answer::InOrder),
                &[],
            ),
            (
                r#"{"time":1545404023,"time_ms":1545404023123,"channel":"futures.pong","event":"","result":null}"#,
                Parsed::Heartbeat,
                &[],
            ),
            (
                r#"{"time":1684930165,"time_ms":1684930165934,"channel":"futures.candlesticks","event":"update","result":[{"t":1684930140,"v":0,"c":"0.1701","h":"0.1701","l":"0.1701","o":"0.1701","n":"1m_FRONT_USDT"}]}"#,
                Parsed::Ignored("candlesticks"),
                &[],
            ),
        ],
    );
}

#[test]
fn frames_of_unplanned_symbols_are_not_planned() {
    let plan = testing::frames_plan(&Gate::FUTURES, Market::Perp, &["BTC-USDT-PERP"]);
    let mut p = Gate::FUTURES.new_parser(&plan);
    let mut out = Vec::new();
    let other = r#"{"channel":"futures.trades","event":"update","time":1,"time_ms":1,"result":[{"size":1,"id":1,"create_time_ms":1,"price":"1","contract":"ETH_USDT"}]}"#;
    assert_eq!(p.parse(other, 1, &mut out).unwrap(), NOT_PLANNED);
    let book = r#"{"time":1,"time_ms":1,"channel":"futures.order_book_update","event":"update","result":{"U":1,"u":2,"s":"ETH_USDT","t":1,"a":[],"b":[]}}"#;
    assert_eq!(p.parse(book, 1, &mut out).unwrap(), NOT_PLANNED);
    assert!(out.is_empty());
    assert!(p.rest_requests().is_empty());
}

fn spot_update(pair: &str, first: u64, last: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"time":1,"channel":"spot.order_book_update","event":"update","result":{{"t":{last},"e":"depthUpdate","E":1,"s":"{pair}","U":{first},"u":{last},"b":{bids},"a":{asks}}}}}"#
    )
}

const SPOT_SNAPSHOT: &str = r#"{"id":100,"current":1619093533712,"update":1619093533710,"asks":[["101","1"],["102","2"]],"bids":[["99","1"],["98","3"]]}"#;

fn kinds(out: &[tickbridge_schema::Record]) -> Vec<String> {
    out.iter()
        .map(|r| match &r.data {
            Data::Book(b) => format!("book{}:{:?}", if b.snapshot { "-snap" } else { "" }, r.seq),
            Data::Status(s) => format!("{:?}:{:?}/{:?}", s.event, s.expected, s.got),
            other => format!("{:?}", other.kind()),
        })
        .collect()
}

#[test]
fn books_sync_from_the_snapshot_id_and_resync_one_symbol_on_a_gap() {
    let mut p = spot_parser();
    let mut out = Vec::new();
    // Updates before the snapshot are buffered; the first asks for it.
    p.parse(
        &spot_update("BTC_USDT", 95, 100, r#"[["97","1"]]"#, "[]"),
        1,
        &mut out,
    )
    .unwrap();
    p.parse(
        &spot_update("BTC_USDT", 101, 102, r#"[["99","5"]]"#, "[]"),
        2,
        &mut out,
    )
    .unwrap();
    p.parse(
        &spot_update("ETH_USDT", 7, 8, r#"[["9","1"]]"#, "[]"),
        2,
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
    let reqs = p.rest_requests();
    let urls: Vec<&str> = reqs.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            "https://api.gateio.ws/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true",
            "https://api.gateio.ws/api/v4/spot/order_book?currency_pair=ETH_USDT&limit=100&with_id=true",
        ]
    );
    // The snapshot (id 100): published, the update covered by it dropped, 101-102 applied.
    p.on_rest("BTC_USDT", Ok(SPOT_SNAPSHOT), 3, &mut out)
        .unwrap();
    assert_eq!(kinds(&out), vec!["book-snap:Some(100)", "book:Some(102)"]);
    assert_eq!(
        json(&out[0]),
        r#"{"v":1,"exchange":"gateio","market":"spot","symbol":"BTC-USDT","native":"BTC_USDT","ts_exchange":1619093533712000000,"ts_recv":3,"seq":100,"id":"gateio.spot.BTC-USDT.book.snap.100","kind":"book","bids":[["99","1"],["98","3"]],"asks":[["101","1"],["102","2"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#
    );
    assert_eq!(out[1].data.kind().as_str(), "book");
    let book = p.book("BTC_USDT").unwrap();
    assert_eq!(
        book.book()
            .best_bid()
            .map(|(p, q)| (p.as_str(), q.as_str())),
        Some(("99", "5"))
    );
    p.on_rest(
        "ETH_USDT",
        Ok(r#"{"id":7,"asks":[["10","1"]],"bids":[["8","1"]]}"#),
        3,
        &mut out,
    )
    .unwrap();
    out.clear();
    // A repeat is skipped; the chain continues.
    p.parse(&spot_update("BTC_USDT", 101, 102, "[]", "[]"), 4, &mut out)
        .unwrap();
    p.parse(
        &spot_update("BTC_USDT", 103, 103, "[]", r#"[["101","0"]]"#),
        4,
        &mut out,
    )
    .unwrap();
    assert_eq!(kinds(&out), vec!["book:Some(103)"]);
    let Data::Book(b) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(b.prev_seq, Some(102));
    out.clear();
    // A lost update (105 after 103): status gap, a new snapshot of BTC_USDT only.
    p.parse(&spot_update("BTC_USDT", 105, 106, "[]", "[]"), 5, &mut out)
        .unwrap();
    assert_eq!(kinds(&out), vec!["Gap:Some(104)/Some(105)"]);
    testing::assert_gap(&out[0], Some(104), Some(105));
    let reqs = p.rest_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].key, "BTC_USDT");
    assert!(!p.book("BTC_USDT").unwrap().is_synced());
    assert!(p.book("ETH_USDT").unwrap().is_synced());
    out.clear();
    // ETH_USDT goes on meanwhile.
    p.parse(
        &spot_update("ETH_USDT", 9, 9, r#"[["8","2"]]"#, "[]"),
        6,
        &mut out,
    )
    .unwrap();
    assert_eq!(kinds(&out), vec!["book:Some(9)"]);
    out.clear();
    // The new snapshot (id 105) bridges the kept update 105-106: resynced.
    p.on_rest(
        "BTC_USDT",
        Ok(r#"{"id":105,"asks":[["101","1"]],"bids":[["99","1"]]}"#),
        7,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        kinds(&out),
        vec![
            "Resynced:None/Some(105)",
            "book-snap:Some(105)",
            "book:Some(106)"
        ]
    );
    assert!(p.book("BTC_USDT").unwrap().is_synced());
}

#[test]
fn a_snapshot_older_than_the_stream_is_fetched_again() {
    let mut p = spot_parser();
    let mut out = Vec::new();
    p.parse(&spot_update("BTC_USDT", 150, 151, "[]", "[]"), 1, &mut out)
        .unwrap();
    assert_eq!(p.rest_requests().len(), 1);
    p.on_rest("BTC_USDT", Ok(SPOT_SNAPSHOT), 2, &mut out)
        .unwrap();
    assert!(out.is_empty());
    let again = p.rest_requests();
    assert_eq!(again.len(), 1);
    assert!(again[0].delay > std::time::Duration::ZERO);
    // A failed fetch is announced once as stale and retried.
    p.on_rest("BTC_USDT", Err("HTTP 429"), 3, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(s.event, StatusEvent::Stale);
    assert_eq!(p.rest_requests().len(), 1);
    out.clear();
    p.on_rest(
        "BTC_USDT",
        Ok(r#"{"label":"INVALID_CURRENCY_PAIR","message":"Invalid currency pair"}"#),
        4,
        &mut out,
    )
    .unwrap();
    assert_eq!(p.rest_requests().len(), 1);
}

#[test]
fn futures_books_sync_from_their_snapshot_and_full_updates_replace_the_book() {
    let mut p = futures_parser();
    let mut out = Vec::new();
    let up = |first: u64, last: u64, extra: &str| {
        format!(
            r#"{{"time":1684930165,"time_ms":1684930165254,"channel":"futures.order_book_update","event":"update","result":{{"U":{first},"a":[{{"p":"0.2983","s":0}}],"b":[{{"p":"0.2970","s":12}}],"s":"RDNT_USDT","t":1684930165217,"u":{last}{extra}}}}}"#
        )
    };
    p.parse(&up(203083287, 203083290, ""), 1, &mut out).unwrap();
    let reqs = p.rest_requests();
    assert_eq!(
        reqs[0].url,
        "https://api.gateio.ws/api/v4/futures/usdt/order_book?contract=RDNT_USDT&limit=100&with_id=true"
    );
    p.on_rest(
        "RDNT_USDT",
        Ok(r#"{"current":1684930166.384,"update":1684930166.35,"asks":[{"s":803,"p":"0.2974"}],"bids":[{"s":114,"p":"0.2973"}],"id":203083287}"#),
        2,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        kinds(&out),
        vec!["book-snap:Some(203083287)", "book:Some(203083290)"]
    );
    assert_eq!(out[0].ts_exchange, Some(1_684_930_166_384_000_000));
    out.clear();
    // A whole book on the stream (`full`) replaces the book and its chain.
    p.parse(&up(1, 500000000, r#","full":true"#), 3, &mut out)
        .unwrap();
    assert_eq!(kinds(&out), vec!["book-snap:Some(500000000)"]);
    out.clear();
    p.parse(&up(500000001, 500000001, ""), 4, &mut out).unwrap();
    assert_eq!(kinds(&out), vec!["book:Some(500000001)"]);
    assert!(p.rest_requests().is_empty());
}

#[test]
fn instrument_lists_parse() {
    let spot = r#"[{"id":"IHT_ETH","base":"IHT","quote":"ETH","fee":"0.2","min_quote_amount":"0.001","amount_precision":1,"precision":9,"trade_status":"tradable","sell_start":0,"buy_start":0},{"id":"OLD_USDT","base":"OLD","quote":"USDT","amount_precision":2,"precision":4,"trade_status":"untradable"}]"#;
    let list = Gate::SPOT
        .parse_instruments(Market::Spot, "", spot)
        .unwrap();
    assert_eq!(
        rows(&list),
        vec![
            (
                "IHT_ETH",
                "IHT-ETH",
                Market::Spot,
                &instrument(
                    ("IHT", "ETH", None),
                    ("0.000000001", "0.1"),
                    InstrumentStatus::Trading
                )
            ),
            (
                "OLD_USDT",
                "OLD-USDT",
                Market::Spot,
                &instrument(
                    ("OLD", "USDT", None),
                    ("0.0001", "0.01"),
                    InstrumentStatus::Halted
                )
            ),
        ]
    );
    let futures = r#"[{"name":"KNC_USDT","type":"direct","quanto_multiplier":"1","order_price_round":"0.0001","order_size_min":1,"in_delisting":false},{"name":"BTC_USDT","quanto_multiplier":"0.0001","order_price_round":"0.1","order_size_min":1,"in_delisting":true}]"#;
    let list = Gate::FUTURES
        .parse_instruments(Market::Perp, "", futures)
        .unwrap();
    let knc = tickbridge_schema::Instrument {
        contract_size: testing::d("1"),
        ..instrument(
            ("KNC", "USDT", Some("USDT")),
            ("0.0001", "1"),
            InstrumentStatus::Trading,
        )
    };
    let btc = tickbridge_schema::Instrument {
        contract_size: testing::d("0.0001"),
        ..instrument(
            ("BTC", "USDT", Some("USDT")),
            ("0.1", "1"),
            InstrumentStatus::Halted,
        )
    };
    assert_eq!(
        rows(&list),
        vec![
            ("KNC_USDT", "KNC-USDT-PERP", Market::Perp, &knc),
            ("BTC_USDT", "BTC-USDT-PERP", Market::Perp, &btc),
        ]
    );
    assert_eq!(
        Gate::FUTURES.instrument_urls(Market::Perp, "https://api.gateio.ws/"),
        vec!["https://api.gateio.ws/api/v4/futures/usdt/contracts"]
    );
    assert!(Gate::SPOT.instrument_urls(Market::Perp, "x").is_empty());
    assert!(Gate::SPOT
        .parse_instruments(
            Market::Spot,
            "",
            r#"{"label":"SERVER_ERROR","message":"x"}"#
        )
        .is_err());
}

//! Aster through the Binance connector: hosts, symbols, plans and limits; the
//! documented frames of both venues (data, acks, refusals) as exact records; book sync
//! against the REST snapshot with a per-symbol gap and resync; the instrument lists.
//! Frames are the Aster docs' examples (see [`super`]), made valid JSON where the docs
//! leave a trailing comma; the docs' `24hrTicker`, `aggTrade` and `depthUpdate`
//! examples carry placeholder times (`123456789`), kept as they are.

use std::time::Duration;

use tickbridge_schema::{Data, InstrumentStatus, Market, Record, StatusEvent};

use super::super::{instruments, Binance, Venue};
use super::*;
use crate::book::BookConfig;
use crate::contract::{
    Answer, Channel, ChannelSet, ConnectionPlan, Connector, FrameParser, Parsed, Refusal,
    SourceRequest,
};
use crate::exchanges::testing::{self, json};

fn request(venue: Venue, market: Market, symbols: &[&str], channels: &[Channel]) -> SourceRequest {
    let urls = ("ws://127.0.0.1:1/", "http://127.0.0.1:1");
    testing::request(&Binance { venue }, market, channels, symbols, urls)
}

/// A parser of every channel but `book` for recorded frames (no planned symbols).
fn frames_parser(venue: Venue, market: Market) -> super::super::BinanceParser {
    let channels: ChannelSet = Channel::ALL
        .into_iter()
        .filter(|c| *c != Channel::Book)
        .collect();
    Binance { venue }.new_parser(&ConnectionPlan {
        channels,
        ..ConnectionPlan::for_frames("", market)
    })
}

#[test]
fn hosts_names_and_markets() {
    let (fut, spot) = (Binance::ASTER, Binance::ASTER_SPOT);
    assert_eq!((fut.name(), spot.name()), ("aster", "aster-spot"));
    assert_eq!(
        fut.supported(),
        &[(Market::Perp, super::super::FUTURES_CHANNELS)],
        "perpetuals only: Aster's one contract type is PERPETUAL"
    );
    assert_eq!(spot.supported(), Binance::SPOT.supported());
    assert_eq!(
        (
            fut.default_ws_url(Market::Perp),
            fut.default_rest_url(Market::Perp)
        ),
        ("wss://fstream.asterdex.com", "https://fapi.asterdex.com")
    );
    assert_eq!(
        (
            spot.default_ws_url(Market::Spot),
            spot.default_rest_url(Market::Spot)
        ),
        ("wss://sstream.asterdex.com", "https://sapi.asterdex.com")
    );
    // Each claims its own stream host only; no Binance venue claims Aster's.
    let f = "wss://fstream.asterdex.com/stream?streams=btcusdt@depth";
    let s = "wss://sstream.asterdex.com/ws/bnbbtc@depth";
    assert_eq!(fut.market_of_url(f), Some(Market::Perp));
    assert_eq!(fut.market_of_url(s), None);
    assert_eq!(spot.market_of_url(s), Some(Market::Spot));
    assert_eq!(spot.market_of_url(f), None);
    assert_eq!(fut.market_of_url("wss://fstream.binance.com/stream"), None);
    for (url, name) in [(f, "aster"), (s, "aster-spot")] {
        let (c, _) = crate::exchanges::connector_for_url(url).unwrap();
        assert_eq!(c.name(), name, "{url}");
        assert_eq!(
            crate::exchanges::connector(name).map(|c| c.name()),
            Some(name)
        );
    }
}

#[test]
fn symbols_as_binance_futures_and_spot() {
    let (fut, spot) = (Binance::ASTER, Binance::ASTER_SPOT);
    let cases = [
        (
            &fut,
            Market::Perp,
            "btc-usdt-perp",
            ("BTC-USDT-PERP", "BTCUSDT"),
        ),
        (&fut, Market::Perp, "BTCUSDT", ("BTC-USDT-PERP", "BTCUSDT")),
        (
            &fut,
            Market::Perp,
            "ASTER-USD1-PERP",
            ("ASTER-USD1-PERP", "ASTERUSD1"),
        ),
        (
            &fut,
            Market::Perp,
            "ASTERUSD1",
            ("ASTER-USD1-PERP", "ASTERUSD1"),
        ),
        (
            &spot,
            Market::Spot,
            "aster-usdt",
            ("ASTER-USDT", "ASTERUSDT"),
        ),
        (&spot, Market::Spot, "BNBBTC", ("BNB-BTC", "BNBBTC")),
    ];
    for (venue, market, user, want) in cases {
        testing::assert_symbol(venue, market, user, want);
    }
    assert_eq!(
        fut.symbol(Market::Perp, "BTC-USDT")
            .unwrap_err()
            .to_string(),
        "aster: symbol \"BTC-USDT\" is not valid: expected BASE-QUOTE-PERP, e.g. BTC-USDT-PERP"
    );
    // No dated contracts on Aster: `BTCUSDT_240927` is not a future here.
    assert!(fut.symbol(Market::Perp, "BTC-USDT-240927").is_err());
    assert!(fut.symbol(Market::Future, "BTCUSDT").is_err());
    assert_eq!(
        spot.symbol(Market::Spot, "BTC-USDT-PERP")
            .unwrap_err()
            .to_string(),
        "aster-spot: symbol \"BTC-USDT-PERP\" is not valid: expected BASE-QUOTE, e.g. BTC-USDT"
    );
}

#[test]
fn futures_plan_one_unrouted_connection_with_aggregate_trades() {
    let plans = Binance::ASTER
        .plan(&request(
            Venue::Aster,
            Market::Perp,
            &["BTC-USDT-PERP"],
            &[
                Channel::Trade,
                Channel::Bbo,
                Channel::Book,
                Channel::Ticker,
                Channel::MarkPrice,
                Channel::Funding,
                Channel::Liquidation,
            ],
        ))
        .unwrap();
    assert_eq!(plans.len(), 1, "no /public-/market split on Aster");
    assert_eq!(plans[0].url, "ws://127.0.0.1:1/stream");
    assert_eq!(
        plans[0].texts(),
        [
            r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@bookTicker","btcusdt@depth@100ms","btcusdt@ticker","btcusdt@markPrice@1s","btcusdt@forceOrder"]}"#
        ]
    );
    assert_eq!(plans[0].send_interval, Duration::from_millis(300));
    assert!(plans[0].channels.contains(Channel::Funding));
    // Spot has tick-by-tick trades.
    let spot = Binance::ASTER_SPOT
        .plan(&request(
            Venue::AsterSpot,
            Market::Spot,
            &["BNB-BTC", "ASTER-USDT"],
            &[Channel::Trade, Channel::Book],
        ))
        .unwrap();
    assert_eq!(spot.len(), 1);
    assert_eq!(
        spot[0].texts(),
        [
            r#"{"id":1,"method":"SUBSCRIBE","params":["bnbbtc@trade","bnbbtc@depth@100ms","asterusdt@trade","asterusdt@depth@100ms"]}"#
        ]
    );
    let err = Binance::ASTER_SPOT
        .plan(&request(
            Venue::AsterSpot,
            Market::Spot,
            &["BNB-BTC"],
            &[Channel::Funding],
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("aster-spot spot: channel `funding` is not supported"),
        "{err}"
    );
}

#[test]
fn connections_carry_at_most_200_streams() {
    for (venue, market, suffix) in [
        (Venue::Aster, Market::Perp, "-PERP"),
        (Venue::AsterSpot, Market::Spot, ""),
    ] {
        let symbols: Vec<String> = (0..150).map(|i| format!("C{i}-USDT{suffix}")).collect();
        let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let plans = Binance { venue }
            .plan(&request(
                venue,
                market,
                &refs,
                &[Channel::Trade, Channel::Bbo, Channel::Book],
            ))
            .unwrap();
        // 3 streams per symbol: 66 symbols (198 streams) per connection.
        let streams =
            |p: &ConnectionPlan| -> usize { p.requests.iter().map(|r| r.topics.len()).sum() };
        assert_eq!(
            plans.iter().map(streams).collect::<Vec<_>>(),
            [198, 198, 54],
            "{venue:?}"
        );
        assert!(plans.iter().all(|p| p.requests.len() == 1));
        assert_eq!(plans.iter().map(|p| p.symbols.len()).sum::<usize>(), 150);
    }
    // Binance's own venues keep their 1024.
    assert_eq!(Binance::USDM.limits().max_streams_per_connection, 1024);
}

#[test]
fn limits_heartbeat_and_rest_budgets() {
    for c in [Binance::ASTER, Binance::ASTER_SPOT] {
        let limits = c.limits();
        assert_eq!(limits.max_streams_per_connection, 200, "{}", c.name());
        assert_eq!(limits.connect_attempts, None, "none documented");
        let hb = c.heartbeat();
        // The client pings every 20 s: inside both pong windows (15 / 10 min).
        assert_eq!(hb.ping_interval, Some(Duration::from_secs(20)));
        assert_eq!(
            hb.max_connection_age,
            Some(Duration::from_secs(23 * 3600 + 50 * 60)),
            "24 h connections, rotated 10 minutes before"
        );
    }
    assert_eq!(
        (FAPI_LIMIT.name, FAPI_LIMIT.limit, FAPI_LIMIT.window),
        ("aster-fapi", 2400, Duration::from_secs(60))
    );
    assert_eq!(
        (SAPI_LIMIT.name, SAPI_LIMIT.limit, SAPI_LIMIT.window),
        ("aster-sapi", 1200, Duration::from_secs(60))
    );
    assert_ne!(FAPI_LIMIT.name, super::super::book::USDM_LIMIT.name);
    assert_eq!((FAPI_LIMIT.budget(), SAPI_LIMIT.budget()), (1200, 600));
}

#[test]
fn documented_futures_frames() {
    let mut p = frames_parser(Venue::Aster, Market::Perp);
    testing::assert_table(
        &mut p,
        1_000,
        &[
            (
                r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":123456785000000,"ts_recv":1000,"seq":5933014,"id":"aster.perp.BTC-USDT-PERP.trade.agg5933014","kind":"trade","price":"0.001","size":"100","side":"sell","trade_id":"agg5933014"}"#,
                ],
            ),
            (
                r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1562305380000000000,"ts_recv":1000,"seq":null,"id":"aster.perp.BTC-USDT-PERP.mark_price.1562305380000","kind":"mark_price","mark_price":"11794.15","index_price":"11784.62659091"}"#,
                    r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1562305380000000000,"ts_recv":1000,"seq":null,"id":"aster.perp.BTC-USDT-PERP.funding.1562305380000","kind":"funding","rate":"0.00038167","predicted_rate":null,"next_funding_ts":1562306400000000000}"#,
                ],
            ),
            (
                r#"{"stream":"bnbusdt@bookTicker","data":{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BNB-USDT-PERP","native":"BNBUSDT","ts_exchange":1568014460891000000,"ts_recv":1000,"seq":400900217,"id":"aster.perp.BNB-USDT-PERP.bbo.400900217","kind":"bbo","bid_price":"25.3519","bid_size":"31.21","ask_price":"25.3652","ask_size":"40.66"}"#,
                ],
            ),
            (
                r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1568014460893000000,"ts_recv":1000,"seq":null,"id":"aster.perp.BTC-USDT-PERP.liquidation.1568014460893.SELL.9910.0.014","kind":"liquidation","price":"9910","size":"0.014","side":"sell"}"#,
                ],
            ),
            (
                r#"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":123456789,"s":"BTCUSDT","p":"0.0015","P":"250.00","w":"0.0018","c":"0.0025","Q":"10","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":123456789000000,"ts_recv":1000,"seq":null,"id":"aster.perp.BTC-USDT-PERP.ticker.123456789","kind":"ticker","last":"0.0025","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":"0.001","high_24h":"0.0025","low_24h":"0.001","volume_24h":"10000","quote_volume_24h":"18"}"#,
                ],
            ),
            // "Subscribe to a stream" and "Listing Subscriptions" replies.
            (
                r#"{"result":null,"id":1}"#,
                Parsed::Acked(Answer::Id(1)),
                &[],
            ),
            (
                r#"{"result":["btcusdt@aggTrade"],"id":3}"#,
                Parsed::Info(r#"reply 3: ["btcusdt@aggTrade"]"#.into()),
                &[],
            ),
            // The "Error Messages" table: without an id (the whole connection's), and
            // with one (the request's).
            (
                r#"{"code":2,"msg":"Invalid request: too many parameters"}"#,
                Parsed::Refused(Refusal::unattributed(
                    "request : code 2: Invalid request: too many parameters",
                )),
                &[],
            ),
            (
                r#"{"code":1,"msg":"Invalid value type: expected Boolean","id":4}"#,
                Parsed::Refused(Refusal::of(
                    Answer::Id(4),
                    vec![],
                    "request 4: code 1: Invalid value type: expected Boolean",
                )),
                &[],
            ),
            // Diffs on a connection without `book`, and the partial-depth stream.
            (
                r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}"#,
                Parsed::Ignored("depth"),
                &[],
            ),
            (
                r#"{"stream":"btcusdt@depth5@100ms","data":{"e":"depthUpdate","E":1571889248277,"T":1571889248276,"s":"BTCUSDT","U":390497796,"u":390497878,"pu":390497794,"b":[["7403.89","0.002"]],"a":[["7405.96","3.340"]]}}"#,
                Parsed::Ignored("depth"),
                &[],
            ),
            (
                r#"{"stream":"btcusdt@miniTicker","data":{"e":"24hrMiniTicker","E":123456789,"s":"BTCUSDT","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}}"#,
                Parsed::Ignored("miniTicker"),
                &[],
            ),
        ],
    );
}

#[test]
fn documented_spot_frames() {
    let mut p = frames_parser(Venue::AsterSpot, Market::Spot);
    testing::assert_table(
        &mut p,
        1_000,
        &[
            (
                r#"{"stream":"bnbbtc@trade","data":{"e":"trade","E":123456789,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":123456785,"m":true}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster-spot","market":"spot","symbol":"BNB-BTC","native":"BNBBTC","ts_exchange":123456785000000,"ts_recv":1000,"seq":12345,"id":"aster-spot.spot.BNB-BTC.trade.12345","kind":"trade","price":"0.001","size":"100","side":"sell","trade_id":"12345"}"#,
                ],
            ),
            (
                r#"{"stream":"bnbbtc@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true,"M":true}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster-spot","market":"spot","symbol":"BNB-BTC","native":"BNBBTC","ts_exchange":123456785000000,"ts_recv":1000,"seq":12345,"id":"aster-spot.spot.BNB-BTC.trade.agg12345","kind":"trade","price":"0.001","size":"100","side":"sell","trade_id":"agg12345"}"#,
                ],
            ),
            (
                r#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster-spot","market":"spot","symbol":"BNB-USDT","native":"BNBUSDT","ts_exchange":null,"ts_recv":1000,"seq":400900217,"id":"aster-spot.spot.BNB-USDT.bbo.400900217","kind":"bbo","bid_price":"25.3519","bid_size":"31.21","ask_price":"25.3652","ask_size":"40.66"}"#,
                ],
            ),
            (
                r#"{"stream":"bnbbtc@ticker","data":{"e":"24hrTicker","E":123456789,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","c":"0.0025","Q":"10","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"aster-spot","market":"spot","symbol":"BNB-BTC","native":"BNBBTC","ts_exchange":123456789000000,"ts_recv":1000,"seq":null,"id":"aster-spot.spot.BNB-BTC.ticker.123456789","kind":"ticker","last":"0.0025","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":"0.001","high_24h":"0.0025","low_24h":"0.001","volume_24h":"10000","quote_volume_24h":"18"}"#,
                ],
            ),
            (
                r#"{"result":null,"id":2}"#,
                Parsed::Acked(Answer::Id(2)),
                &[],
            ),
            (
                r#"{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"}"#,
                Parsed::Refused(Refusal::unattributed(
                    "request : code 2: Invalid request: request ID must be an unsigned integer",
                )),
                &[],
            ),
        ],
    );
}

/// One line per record or snapshot request, in order.
fn summary(r: &Record) -> String {
    let seq = r.seq.map_or("-".into(), |s| s.to_string());
    match &r.data {
        Data::Book(b) if b.snapshot => format!("snap {} {seq}", r.native),
        Data::Book(b) => {
            let prev = b.prev_seq.map_or("-".into(), |s| s.to_string());
            format!("book {} {seq}<{prev}", r.native)
        }
        Data::Status(s) if s.event == StatusEvent::Gap => format!(
            "gap {} {}/{}",
            r.native,
            s.expected.unwrap_or(0),
            s.got.unwrap_or(0)
        ),
        Data::Status(s) => format!("{} {}", s.event.as_str(), r.native),
        other => format!("{:?} {}", other.kind(), r.native),
    }
}

enum Step<'a> {
    Frame(&'a str),
    Rest(&'a str, &'a str),
}

/// Feeds `steps` to a book parser of `venue` on its default REST host.
fn run_book(venue: Venue, books: BookConfig, steps: &[Step]) -> (Vec<String>, Vec<Record>) {
    let market = Binance { venue }.default_market();
    let mut p = Binance { venue }.new_parser(&ConnectionPlan {
        books,
        ..ConnectionPlan::for_frames("", market)
    });
    let (mut lines, mut records) = (Vec::new(), Vec::new());
    for step in steps {
        let mut out = Vec::new();
        match step {
            Step::Frame(f) => assert_eq!(p.parse(f, 1, &mut out), Ok(Parsed::Data), "{f}"),
            Step::Rest(key, body) => {
                assert_eq!(p.on_rest(key, Ok(body), 2, &mut out), Ok(Parsed::Data))
            }
        }
        lines.extend(out.iter().map(summary));
        for q in p.rest_requests() {
            let limit = q.limit.name;
            lines.push(format!("GET {} w{} {limit}", q.url, q.weight));
        }
        records.extend(out);
    }
    (lines, records)
}

fn fut(sym: &str, first: u64, last: u64, prev: u64) -> String {
    format!(
        r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":123456789,"T":123456788,"s":"{sym}","U":{first},"u":{last},"pu":{prev},"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}}}"#,
        sym.to_lowercase()
    )
}

/// The documented "Order Book" answer with another `lastUpdateId`.
fn snapshot(id: u64) -> String {
    format!(
        r#"{{"lastUpdateId":{id},"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}}"#
    )
}

#[test]
fn futures_book_gap_resyncs_that_symbol_only() {
    let (b1, e1, b2, b3, e2, b4) = (
        fut("BTCUSDT", 157, 160, 149),
        fut("ETHUSDT", 1000, 1002, 998),
        fut("BTCUSDT", 161, 165, 160),
        // `pu` 168 is not the previous `u` (165): a break.
        fut("BTCUSDT", 170, 172, 168),
        fut("ETHUSDT", 1003, 1005, 1002),
        fut("BTCUSDT", 173, 175, 172),
    );
    let (s158, s1001, s171) = (snapshot(158), snapshot(1001), snapshot(171));
    let (lines, records) = run_book(
        Venue::Aster,
        BookConfig::default(),
        &[
            Step::Frame(&b1),
            Step::Frame(&e1),
            Step::Rest("BTCUSDT", &s158),
            Step::Rest("ETHUSDT", &s1001),
            Step::Frame(&b2),
            Step::Frame(&b3),
            Step::Frame(&e2),
            Step::Rest("BTCUSDT", &s171),
            Step::Frame(&b4),
        ],
    );
    const BTC: &str =
        "GET https://fapi.asterdex.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000 w20 aster-fapi";
    assert_eq!(
        lines,
        [
            BTC,
            "GET https://fapi.asterdex.com/fapi/v1/depth?symbol=ETHUSDT&limit=1000 w20 aster-fapi",
            // `U` 157 <= lastUpdateId 158 <= `u` 160: the buffered diff bridges.
            "snap BTCUSDT 158",
            "book BTCUSDT 160<158",
            "snap ETHUSDT 1001",
            "book ETHUSDT 1002<1001",
            "book BTCUSDT 165<160",
            "gap BTCUSDT 165/168",
            BTC,
            // ETH goes on untouched while BTC resyncs.
            "book ETHUSDT 1005<1002",
            "resynced BTCUSDT",
            "snap BTCUSDT 171",
            "book BTCUSDT 172<171",
            "book BTCUSDT 175<172",
        ]
    );
    // The published snapshot and diff, exactly.
    assert_eq!(
        json(&records[0]),
        r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1589436922959000000,"ts_recv":2,"seq":158,"id":"aster.perp.BTC-USDT-PERP.book.snap.158","kind":"book","bids":[["4","431"]],"asks":[["4.000002","12"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#
    );
    assert_eq!(
        json(&records[1]),
        r#"{"v":1,"exchange":"aster","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":123456788000000,"ts_recv":1,"seq":160,"id":"aster.perp.BTC-USDT-PERP.book.160","kind":"book","bids":[["0.0024","10"]],"asks":[["0.0026","100"]],"snapshot":false,"prev_seq":158,"checksum_ok":null}"#
    );
    testing::assert_gap(&records[5], Some(165), Some(168));
}

fn spot(first: u64, last: u64, prev: u64) -> String {
    format!(
        r#"{{"stream":"bnbbtc@depth@100ms","data":{{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BNBBTC","U":{first},"u":{last},"pu":{prev},"b":[["5.4","10"]],"a":[["5.6","100"]]}}}}"#
    )
}

#[test]
fn spot_book_chains_on_u_plus_one_at_spot_limits() {
    let (d1, d2, d3, d4) = (
        // The documented "Incremental depth information" example.
        spot(100, 120, 99),
        spot(121, 125, 120),
        // `U` 130 is not `u + 1` (126), whatever its `pu` says.
        spot(130, 131, 125),
        spot(132, 133, 131),
    );
    let (s110, s131) = (snapshot(110), snapshot(131));
    let (lines, _) = run_book(
        Venue::AsterSpot,
        BookConfig::default(),
        &[
            Step::Frame(&d1),
            Step::Rest("BNBBTC", &s110),
            Step::Frame(&d2),
            Step::Frame(&d3),
            Step::Rest("BNBBTC", &s131),
            Step::Frame(&d4),
        ],
    );
    const GET: &str =
        "GET https://sapi.asterdex.com/api/v1/depth?symbol=BNBBTC&limit=1000 w20 aster-sapi";
    assert_eq!(
        lines,
        [
            GET,
            "snap BNBBTC 110",
            "book BNBBTC 120<110",
            "book BNBBTC 125<120",
            "gap BNBBTC 126/130",
            GET,
            "resynced BNBBTC",
            "snap BNBBTC 131",
            "book BNBBTC 133<131",
        ]
    );
    // Aster spot accepts 5..1000 levels (weights 2/5/10/20), not Binance spot's 5000.
    for (depth, url_limit, weight) in [
        (Some(5000), 1000, 20),
        (Some(100), 100, 5),
        (Some(7), 10, 2),
    ] {
        let books = BookConfig {
            rest_url: "http://mock".into(),
            snapshot_depth: depth,
            ..Default::default()
        };
        let (lines, _) = run_book(Venue::AsterSpot, books, &[Step::Frame(&d1)]);
        assert_eq!(
            lines,
            [format!(
                "GET http://mock/api/v1/depth?symbol=BNBBTC&limit={url_limit} w{weight} aster-sapi"
            )]
        );
    }
}

/// The documented futures `exchangeInfo` example (comments and trailing commas
/// removed; note the docs' example lists `DOGEUSDT` with `"baseAsset": "BLZ"`, kept:
/// the normalized name follows the assets), and two contracts in the same shape,
/// constructed: one margined and quoted in USD1, one closed.
const FUTURES_INFO: &str = r#"{
  "exchangeFilters": [],
  "rateLimits": [
    {"interval": "MINUTE", "intervalNum": 1, "limit": 2400, "rateLimitType": "REQUEST_WEIGHT"},
    {"interval": "MINUTE", "intervalNum": 1, "limit": 1200, "rateLimitType": "ORDERS"}
  ],
  "serverTime": 1565613908500,
  "assets": [
    {"asset": "BUSD", "marginAvailable": true, "autoAssetExchange": 0},
    {"asset": "USDT", "marginAvailable": true, "autoAssetExchange": 0},
    {"asset": "BTC", "marginAvailable": false, "autoAssetExchange": null}
  ],
  "symbols": [
    {
      "symbol": "DOGEUSDT", "pair": "DOGEUSDT", "contractType": "PERPETUAL",
      "deliveryDate": 4133404800000, "onboardDate": 1598252400000, "status": "TRADING",
      "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
      "baseAsset": "BLZ", "quoteAsset": "USDT", "marginAsset": "USDT",
      "pricePrecision": 5, "quantityPrecision": 0, "baseAssetPrecision": 8, "quotePrecision": 8,
      "underlyingType": "COIN", "underlyingSubType": ["STORAGE"], "settlePlan": 0, "triggerProtect": "0.15",
      "filters": [
        {"filterType": "PRICE_FILTER", "maxPrice": "300", "minPrice": "0.0001", "tickSize": "0.0001"},
        {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "1", "stepSize": "1"},
        {"filterType": "MARKET_LOT_SIZE", "maxQty": "590119", "minQty": "1", "stepSize": "1"},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 100},
        {"filterType": "MIN_NOTIONAL", "notional": "1"},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1500", "multiplierDown": "0.8500", "multiplierDecimal": 4}
      ],
      "OrderType": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
      "timeInForce": ["GTC", "IOC", "FOK", "GTX", "HIDDEN"],
      "liquidationFee": "0.010000", "marketTakeBound": "0.30"
    },
    {
      "symbol": "ASTERUSD1", "pair": "ASTERUSD1", "contractType": "PERPETUAL",
      "deliveryDate": 4133404800000, "status": "TRADING",
      "baseAsset": "ASTER", "quoteAsset": "USD1", "marginAsset": "USD1",
      "filters": [
        {"filterType": "PRICE_FILTER", "maxPrice": "1000", "minPrice": "0.00001", "tickSize": "0.00001"},
        {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "0.1", "stepSize": "0.1"}
      ]
    },
    {
      "symbol": "OLDUSDT", "pair": "OLDUSDT", "contractType": "PERPETUAL",
      "deliveryDate": 4133404800000, "status": "CLOSE",
      "baseAsset": "OLD", "quoteAsset": "USDT", "marginAsset": "USDT",
      "filters": [
        {"filterType": "PRICE_FILTER", "maxPrice": "300", "minPrice": "0.0001", "tickSize": "0.0001"},
        {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "1", "stepSize": "1"}
      ]
    }
  ],
  "timezone": "UTC"
}"#;

/// The documented spot `exchangeInfo` example (`BNBUSDT`).
const SPOT_INFO: &str = r#"{
  "timezone": "UTC",
  "serverTime": 1756197279679,
  "rateLimits": [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300}
  ],
  "exchangeFilters": [],
  "assets": [{"asset": "USD"}, {"asset": "USDT"}, {"asset": "BNB"}],
  "symbols": [{
    "status": "TRADING", "baseAsset": "BNB", "quoteAsset": "USDT",
    "pricePrecision": 8, "quantityPrecision": 8, "baseAssetPrecision": 8, "quotePrecision": 8,
    "filters": [
      {"minPrice": "0.01000000", "maxPrice": "100000", "filterType": "PRICE_FILTER", "tickSize": "0.01000000"},
      {"stepSize": "0.00100000", "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "1"},
      {"stepSize": "0.00100000", "filterType": "MARKET_LOT_SIZE", "maxQty": "900000", "minQty": "0.00100000"},
      {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
      {"minNotional": "5", "filterType": "MIN_NOTIONAL"},
      {"maxNotional": "100", "filterType": "MAX_NOTIONAL"},
      {"maxNotional": "100", "minNotional": "5", "avgPriceMins": 5, "applyMinToMarket": true, "filterType": "NOTIONAL", "applyMaxToMarket": true},
      {"multiplierDown": "0", "multiplierUp": "5", "multiplierDecimal": "0", "filterType": "PERCENT_PRICE"},
      {"bidMultiplierUp": "5", "askMultiplierUp": "5", "bidMultiplierDown": "0", "avgPriceMins": 5, "multiplierDecimal": "0", "filterType": "PERCENT_PRICE_BY_SIDE", "askMultiplierDown": "0"}
    ],
    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "HIDDEN"],
    "symbol": "BNBUSDT",
    "ocoAllowed": false
  }]
}"#;

#[test]
fn instrument_lists() {
    assert_eq!(
        Binance::ASTER.instrument_urls(Market::Perp, "https://fapi.asterdex.com/"),
        ["https://fapi.asterdex.com/fapi/v1/exchangeInfo"]
    );
    assert!(Binance::ASTER
        .instrument_urls(Market::Future, "https://fapi.asterdex.com")
        .is_empty());
    assert_eq!(
        Binance::ASTER_SPOT.instrument_urls(Market::Spot, "https://sapi.asterdex.com"),
        ["https://sapi.asterdex.com/api/v1/exchangeInfo"]
    );

    let perp = instruments::parse(Venue::Aster, Market::Perp, FUTURES_INFO).unwrap();
    let blz = testing::instrument(
        ("BLZ", "USDT", Some("USDT")),
        ("0.0001", "1"),
        InstrumentStatus::Trading,
    );
    let aster = testing::instrument(
        ("ASTER", "USD1", Some("USD1")),
        ("0.00001", "0.1"),
        InstrumentStatus::Trading,
    );
    let old = testing::instrument(
        ("OLD", "USDT", Some("USDT")),
        ("0.0001", "1"),
        InstrumentStatus::Delisted,
    );
    assert_eq!(
        testing::rows(&perp),
        [
            ("DOGEUSDT", "BLZ-USDT-PERP", Market::Perp, &blz),
            ("ASTERUSD1", "ASTER-USD1-PERP", Market::Perp, &aster),
            ("OLDUSDT", "OLD-USDT-PERP", Market::Perp, &old),
        ]
    );
    assert!(
        instruments::parse(Venue::Aster, Market::Future, FUTURES_INFO)
            .unwrap()
            .is_empty()
    );

    let spot = instruments::parse(Venue::AsterSpot, Market::Spot, SPOT_INFO).unwrap();
    let bnb = testing::instrument(
        ("BNB", "USDT", None),
        ("0.01", "0.001"),
        InstrumentStatus::Trading,
    );
    assert_eq!(
        testing::rows(&spot),
        [("BNBUSDT", "BNB-USDT", Market::Spot, &bnb)]
    );
    let err = instruments::parse(
        Venue::AsterSpot,
        Market::Spot,
        r#"{"code":-1121,"msg":"Invalid symbol."}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Invalid symbol"), "{err}");
}

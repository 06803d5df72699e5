//! Binance: symbols, plans and subscription answers (the wire types are tested in
//! `wire.rs`, the parser and book sync in `parser.rs` and `book.rs`).

use super::*;
use crate::exchanges::testing;

fn request(venue: Venue, market: Market, symbols: &[&str], channels: &[Channel]) -> SourceRequest {
    let urls = ("ws://127.0.0.1:1/", "http://127.0.0.1:1");
    testing::request(&Binance { venue }, market, channels, symbols, urls)
}

#[test]
fn resolves_symbols_per_venue() {
    let spot = Binance { venue: Venue::Spot };
    let usdm = Binance { venue: Venue::UsdM };
    let coinm = Binance {
        venue: Venue::CoinM,
    };
    let cases = [
        (&spot, Market::Spot, "btc-usdt", ("BTC-USDT", "BTCUSDT")),
        (&spot, Market::Spot, "ETHBTC", ("ETH-BTC", "ETHBTC")),
        (
            &usdm,
            Market::Perp,
            "BTC-USDT-PERP",
            ("BTC-USDT-PERP", "BTCUSDT"),
        ),
        (&usdm, Market::Perp, "BTCUSDT", ("BTC-USDT-PERP", "BTCUSDT")),
        (
            &usdm,
            Market::Future,
            "BTC-USDT-240927",
            ("BTC-USDT-240927", "BTCUSDT_240927"),
        ),
        (
            &coinm,
            Market::Perp,
            "BTC-USD-PERP",
            ("BTC-USD-PERP", "BTCUSD_PERP"),
        ),
    ];
    for (venue, market, user, want) in cases {
        testing::assert_symbol(venue, market, user, want);
    }
    assert_eq!(
        usdm.symbol(Market::Perp, "BTC-USDT-240927").unwrap_err().to_string(),
        "binance-usdm: symbol \"BTC-USDT-240927\" is not valid: it is a future instrument but the source's market is perp"
    );
    assert!(spot.symbol(Market::Spot, "BTC/USDT").is_err());
}

#[test]
fn plans_symbols_together_in_one_subscribe() {
    let b = Binance { venue: Venue::Spot };
    let plans = b
        .plan(&request(
            Venue::Spot,
            Market::Spot,
            &["BTC-USDT", "ETH-USDT"],
            &[Channel::Trade, Channel::Bbo],
        ))
        .unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].url, "ws://127.0.0.1:1/stream");
    assert_eq!(
        plans[0].texts(),
        [
            r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker","ethusdt@trade","ethusdt@bookTicker"]}"#
        ]
    );
    let r = &plans[0].requests[0];
    assert_eq!((r.id, r.answers), (1, 1));
    assert_eq!(r.symbols(), ["BTCUSDT", "ETHUSDT"]);
    assert_eq!(r.topics[1].channel, Channel::Bbo);
    assert_eq!(plans[0].symbols.len(), 2);
    assert!(plans[0].encode.is_some(), "a refused request can be split");
}

#[test]
fn shards_over_the_stream_limit_and_batches_requests() {
    let b = Binance { venue: Venue::Spot };
    let symbols: Vec<String> = (0..600).map(|i| format!("C{i}-USDT")).collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let plans = b
        .plan(&request(
            Venue::Spot,
            Market::Spot,
            &refs,
            &[Channel::Trade, Channel::Bbo, Channel::Ticker],
        ))
        .unwrap();
    // 3 streams per symbol: 341 symbols (1023 streams) fit, a symbol is never split.
    let streams = |p: &ConnectionPlan| -> usize { p.requests.iter().map(|r| r.topics.len()).sum() };
    assert_eq!(plans.iter().map(streams).collect::<Vec<_>>(), [1023, 777]);
    assert_eq!(plans[0].symbols.len(), 341);
    assert_eq!(plans[1].symbols.len(), 259);
    for p in &plans {
        for (i, r) in p.requests.iter().enumerate() {
            assert_eq!(r.id, i as u64 + 1, "ids restart per connection");
            assert!(r.topics.len() <= MAX_STREAMS_PER_REQUEST);
            assert_eq!(
                r.topics.len() % 3,
                0,
                "a symbol's streams stay in one request"
            );
            assert_eq!(r.text.matches('@').count(), r.topics.len());
        }
    }
    // 66 symbols (198 streams) per request.
    assert_eq!(plans[0].requests.len(), 6);
    assert_eq!(plans[0].requests[0].topics.len(), 198);
}

#[test]
fn a_thousand_symbols_are_asked_for_within_two_seconds() {
    let b = Binance { venue: Venue::Spot };
    let symbols: Vec<String> = (0..1000).map(|i| format!("C{i}-USDT")).collect();
    let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
    let plans = b
        .plan(&request(
            Venue::Spot,
            Market::Spot,
            &refs,
            &[Channel::Trade, Channel::Bbo],
        ))
        .unwrap();
    assert_eq!(plans.len(), 2);
    for p in &plans {
        // Requests leave one per send interval, the first at once.
        let last_sent = p.send_interval * (p.requests.len() as u32 - 1);
        assert!(last_sent < Duration::from_secs(2), "{last_sent:?}");
    }
    let symbols: usize = plans.iter().map(|p| p.symbols.len()).sum();
    assert_eq!(symbols, 1000);
}

#[test]
fn answers_name_their_request_id() {
    use crate::contract::{Answer, Parsed, Refusal};
    let b = Binance { venue: Venue::Spot };
    let plan = b
        .plan(&request(
            Venue::Spot,
            Market::Spot,
            &["BTC-USDT", "XYZ-USDT"],
            &[Channel::Trade],
        ))
        .unwrap()
        .remove(0);
    let mut parser = b.parser(&plan);
    let mut out = Vec::new();
    assert_eq!(
        parser.parse(r#"{"result":null,"id":1}"#, 1, &mut out),
        Ok(Parsed::Acked(Answer::Id(1)))
    );
    assert_eq!(
        parser.parse(
            r#"{"error":{"code":2,"msg":"Invalid request: unknown symbol"},"id":2}"#,
            2,
            &mut out
        ),
        Ok(Parsed::Refused(Refusal::of(
            Answer::Id(2),
            vec![],
            "request 2: code 2: Invalid request: unknown symbol"
        )))
    );
    assert_eq!(
        parser.parse(r#"{"error":{"code":3,"msg":"Invalid JSON"}}"#, 3, &mut out),
        Ok(Parsed::Refused(Refusal::unattributed(
            "request : code 3: Invalid JSON"
        )))
    );
}

#[test]
fn recorded_urls_are_recognised_per_venue() {
    let url = "wss://stream.binance.com:9443/stream?streams=btcusdt@trade";
    assert_eq!(Binance::SPOT.market_of_url(url), Some(Market::Spot));
    assert_eq!(Binance::USDM.market_of_url(url), None);
    assert_eq!(
        Binance::USDM.market_of_url("wss://fstream.binance.com/stream?streams=x"),
        Some(Market::Perp)
    );
    assert_eq!(
        Binance::COINM.market_of_url("wss://dstream.binance.com/stream"),
        Some(Market::Perp)
    );
    assert_eq!(
        Binance::SPOT.market_of_url("wss://stream.binance.us:9443/stream"),
        None
    );
}

#[test]
fn rejects_unsupported_channels() {
    let b = Binance { venue: Venue::Spot };
    let err = b
        .plan(&request(
            Venue::Spot,
            Market::Spot,
            &["BTC-USDT"],
            &[Channel::Funding],
        ))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "binance spot: channel `funding` is not supported (supported: trade, bbo, book, ticker)"
    );
}

#[test]
fn usdm_streams_are_planned_on_their_routed_endpoints() {
    let b = Binance::USDM;
    let plans = b
        .plan(&request(
            Venue::UsdM,
            Market::Perp,
            &["BTC-USDT-PERP"],
            &[
                Channel::Trade,
                Channel::MarkPrice,
                Channel::Book,
                Channel::Liquidation,
                Channel::Bbo,
                Channel::Funding,
            ],
        ))
        .unwrap();
    let routed: Vec<(&str, Vec<&str>)> = plans
        .iter()
        .map(|p| {
            let streams = p
                .requests
                .iter()
                .flat_map(|r| r.topics.iter().map(|t| t.name.as_str()));
            (p.url.as_str(), streams.collect())
        })
        .collect();
    assert_eq!(
        routed,
        [
            (
                "ws://127.0.0.1:1/public/stream",
                vec!["btcusdt@trade", "btcusdt@depth@100ms", "btcusdt@bookTicker"]
            ),
            (
                "ws://127.0.0.1:1/market/stream",
                vec!["btcusdt@markPrice@1s", "btcusdt@forceOrder"]
            ),
        ]
    );
    // Each connection's parser takes only the channels its endpoint carries.
    assert!(
        plans[0].channels.contains(Channel::Book)
            && !plans[0].channels.contains(Channel::MarkPrice)
    );
    assert!(
        plans[1].channels.contains(Channel::Funding) && !plans[1].channels.contains(Channel::Trade)
    );
    // COIN-M and spot are not split.
    let coinm = Binance::COINM
        .plan(&request(
            Venue::CoinM,
            Market::Perp,
            &["BTC-USD-PERP"],
            &[Channel::Trade, Channel::MarkPrice],
        ))
        .unwrap();
    assert_eq!(coinm.len(), 1);
    assert_eq!(coinm[0].url, "ws://127.0.0.1:1/stream");
}

#[test]
fn usdm_ticker_is_a_market_stream() {
    // "Important WebSocket Change Notice" (2026-03-06) and the per-stream URL PATH
    // pages: the 24 h ticker family is regular market data, served on `/market`.
    let plans = Binance::USDM
        .plan(&request(
            Venue::UsdM,
            Market::Perp,
            &["BTC-USDT-PERP"],
            &[Channel::Ticker, Channel::Bbo],
        ))
        .unwrap();
    let routed: Vec<(&str, Vec<&str>)> = plans
        .iter()
        .map(|p| {
            let streams = p
                .requests
                .iter()
                .flat_map(|r| r.topics.iter().map(|t| t.name.as_str()));
            (p.url.as_str(), streams.collect())
        })
        .collect();
    assert_eq!(
        routed,
        [
            ("ws://127.0.0.1:1/public/stream", vec!["btcusdt@bookTicker"]),
            ("ws://127.0.0.1:1/market/stream", vec!["btcusdt@ticker"]),
        ]
    );
}

#[test]
fn binance_us_is_spot_on_its_own_hosts_and_budget() {
    let us = Binance::US;
    assert_eq!(us.name(), "binance-us");
    assert_eq!(us.supported(), Binance::SPOT.supported());
    assert_eq!(us.default_market(), Market::Spot);
    assert_eq!(
        (
            us.default_ws_url(Market::Spot),
            us.default_rest_url(Market::Spot)
        ),
        ("wss://stream.binance.us:9443", "https://api.binance.us")
    );
    // Symbols as on spot (Binance.US quotes in USD too).
    testing::assert_symbol(&us, Market::Spot, "btc-usd", ("BTC-USD", "BTCUSD"));
    testing::assert_symbol(&us, Market::Spot, "CRVUSDT", ("CRV-USDT", "CRVUSDT"));
    assert_eq!(
        us.symbol(Market::Spot, "BTC-USD-PERP")
            .unwrap_err()
            .to_string(),
        "binance-us: symbol \"BTC-USD-PERP\" is not valid: expected BASE-QUOTE, e.g. BTC-USDT"
    );
    assert!(us.symbol(Market::Perp, "BTC-USD").is_err());

    // Plans: the one combined endpoint under the configured URL, live SUBSCRIBEs.
    let plans = us
        .plan(&request(
            Venue::Us,
            Market::Spot,
            &["BTC-USD", "ETH-USD"],
            &[Channel::Trade, Channel::Book],
        ))
        .unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].url, "ws://127.0.0.1:1/stream");
    assert_eq!(
        plans[0].texts(),
        [
            r#"{"id":1,"method":"SUBSCRIBE","params":["btcusd@trade","btcusd@depth@100ms","ethusd@trade","ethusd@depth@100ms"]}"#
        ]
    );
    assert_eq!(plans[0].send_interval, Duration::from_millis(300));
    let err = us
        .plan(&request(
            Venue::Us,
            Market::Spot,
            &["BTC-USD"],
            &[Channel::MarkPrice],
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("binance-us spot: channel `mark_price` is not supported"),
        "{err}"
    );

    // WebSocket limits as binance.com spot's.
    let (limits, spot) = (us.limits(), Binance::SPOT.limits());
    assert_eq!(limits.max_streams_per_connection, 1024);
    assert_eq!(limits.connect_attempts, spot.connect_attempts);
    assert_eq!(
        us.heartbeat().max_connection_age,
        Binance::SPOT.heartbeat().max_connection_age
    );

    // Its own REST budget: 1200 weight/min, not shared with binance.com's.
    assert_eq!(
        (
            book::US_LIMIT.name,
            book::US_LIMIT.limit,
            book::US_LIMIT.window
        ),
        ("binance-us-api", 1200, Duration::from_secs(60))
    );
    assert_ne!(book::US_LIMIT.name, book::SPOT_LIMIT.name);
    assert_eq!(book::US_LIMIT.budget(), 600);

    // Instruments: `/api/v3/exchangeInfo` on its own host (or the configured one).
    assert_eq!(
        us.instrument_urls(Market::Spot, "https://api.binance.us"),
        ["https://api.binance.us/api/v3/exchangeInfo"]
    );
    assert!(us
        .instrument_urls(Market::Perp, "https://api.binance.us")
        .is_empty());

    // Snapshots: spot `/api/v3/depth` on api.binance.us, weighed on the US budget.
    let mut parser = us.new_parser(&ConnectionPlan::for_frames(
        "wss://stream.binance.us:9443/stream",
        Market::Spot,
    ));
    let mut out = Vec::new();
    let diff = r#"{"stream":"btcusd@depth@100ms","data":{"e":"depthUpdate","E":1633998275000,"s":"BTCUSD","U":10,"u":12,"b":[["57000.01","0.5"]],"a":[]}}"#;
    parser.parse(diff, 1, &mut out).unwrap();
    let requests = parser.rest_requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        r.url,
        "https://api.binance.us/api/v3/depth?symbol=BTCUSD&limit=1000"
    );
    assert_eq!((r.weight, r.limit.name), (50, "binance-us-api"));

    // Records name the venue.
    let trade = r#"{"stream":"btcusd@trade","data":{"e":"trade","E":1633998275000,"s":"BTCUSD","t":7,"p":"57000.01","q":"0.1","T":1633998275000,"m":true,"M":true}}"#;
    out.clear();
    parser.parse(trade, 2, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].exchange.as_str(), "binance-us");
}

#[test]
fn binance_us_claims_only_its_stream_host() {
    let url = "wss://stream.binance.us:9443/stream?streams=crvusdt@aggTrade";
    assert_eq!(Binance::US.market_of_url(url), Some(Market::Spot));
    assert_eq!(Binance::SPOT.market_of_url(url), None);
    for other in [
        "wss://stream.binance.com:9443/stream",
        "wss://fstream.binance.com/stream",
        "wss://dstream.binance.com/stream",
        "wss://stream-cloud.trbinance.com/stream",
    ] {
        assert_eq!(Binance::US.market_of_url(other), None, "{other}");
    }
    let (c, market) = crate::exchanges::connector_for_url(url).unwrap();
    assert_eq!((c.name(), market), ("binance-us", Market::Spot));
    assert_eq!(
        crate::exchanges::connector("binance-us").map(|c| c.name()),
        Some("binance-us")
    );
}

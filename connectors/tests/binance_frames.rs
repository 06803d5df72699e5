//! Table tests of Binance frames beyond the ones next to the parser: 24 h tickers on
//! every venue, COIN-M and delivery contracts, raw-stream (`/ws/<stream>`) frames,
//! combined frames with their keys in another order, and the documented error
//! replies. Each case keeps the raw exchange JSON (from the corpus or the API
//! documentation) next to the records it must produce.

use tickbridge_connectors::contract::{Channel, ChannelSet, ConnectionPlan};
use tickbridge_connectors::exchanges::binance::{Binance, BinanceParser, Venue};
use tickbridge_connectors::{Answer, Connector, FrameParser, ParseError, Parsed, Refusal};
use tickbridge_schema::Record;

/// Every channel but `book` (depth diffs are then ignored; the book sync
/// has its own tests).
fn channels() -> ChannelSet {
    Channel::ALL
        .into_iter()
        .filter(|c| *c != Channel::Book)
        .collect()
}

/// A parser of `venue` for recorded frames of `channels` (no planned symbols: every
/// symbol seen is normalized on first sight).
fn frames_parser(venue: Venue, channels: ChannelSet) -> BinanceParser {
    let binance = Binance { venue };
    let market = binance.default_market();
    let url = format!("{}/stream", binance.default_ws_url(market));
    binance.new_parser(&ConnectionPlan {
        channels,
        ..ConnectionPlan::for_frames(&url, market)
    })
}

fn parse(venue: Venue, frame: &str) -> (Result<Parsed, ParseError>, Vec<String>) {
    let mut parser = frames_parser(venue, channels());
    let mut out: Vec<Record> = Vec::new();
    let result = parser.parse(frame, 1_000, &mut out);
    let json = out
        .iter()
        .map(|r| String::from_utf8(r.to_json()).unwrap())
        .collect();
    (result, json)
}

fn check(cases: &[(Venue, &str, Parsed, &[&str])]) {
    for (venue, frame, want, records) in cases {
        let (got, out) = parse(*venue, frame);
        assert_eq!(got.as_ref(), Ok(want), "{venue:?} frame {frame}");
        assert_eq!(out, *records, "{venue:?} frame {frame}");
    }
}

#[test]
fn tickers_of_every_venue() {
    check(&[
        (
            // Spot `@ticker` (API documentation example): best bid/ask included.
            Venue::Spot,
            r#"{"stream":"bnbbtc@ticker","data":{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BNB-BTC","native":"BNBBTC","ts_exchange":1672515782136000000,"ts_recv":1000,"seq":null,"id":"binance.spot.BNB-BTC.ticker.1672515782136","kind":"ticker","last":"0.0025","bid_price":"0.0024","bid_size":"10","ask_price":"0.0026","ask_size":"100","open_24h":"0.001","high_24h":"0.0025","low_24h":"0.001","volume_24h":"10000","quote_volume_24h":"18"}"#,
            ],
        ),
        (
            // USD-M `@ticker`: no best bid/ask in the futures ticker.
            Venue::UsdM,
            r#"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":1723161256000,"s":"BTCUSDT","p":"-1264.10","P":"-2.005","w":"61511.25","c":"61800.30","Q":"0.006","o":"63064.40","h":"63350.00","l":"59700.00","v":"370125.530","q":"22766914568.67","O":1723074840000,"C":1723161255999,"F":5262215617,"L":5266583935,"n":4368311}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1723161256000000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.ticker.1723161256000","kind":"ticker","last":"61800.3","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":"63064.4","high_24h":"63350","low_24h":"59700","volume_24h":"370125.53","quote_volume_24h":"22766914568.67"}"#,
            ],
        ),
        (
            // COIN-M `@ticker`: `v` counts contracts and `q` is the base-asset
            // volume, so `q` is the base volume here and the quote volume is unknown.
            Venue::CoinM,
            r#"{"stream":"btcusd_perp@ticker","data":{"e":"24hrTicker","E":1723161601000,"s":"BTCUSD_PERP","ps":"BTCUSD","p":"-1255.4","P":"-1.996","w":"61498.37","c":"61668.7","Q":"12","o":"62924.1","h":"63330.0","l":"59710.0","v":"19251362","q":"31303.66931012","O":1723075200000,"C":1723161600999,"F":848862113,"L":849714402,"n":852290}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-coinm","market":"perp","symbol":"BTC-USD-PERP","native":"BTCUSD_PERP","ts_exchange":1723161601000000000,"ts_recv":1000,"seq":null,"id":"binance-coinm.perp.BTC-USD-PERP.ticker.1723161601000","kind":"ticker","last":"61668.7","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":"62924.1","high_24h":"63330","low_24h":"59710","volume_24h":"31303.66931012","quote_volume_24h":null}"#,
            ],
        ),
    ]);
}

#[test]
fn coinm_and_delivery_contracts() {
    check(&[
        (
            // COIN-M perpetual `@trade` (hftbacktest corpus).
            Venue::CoinM,
            r#"{"stream":"btcusd_perp@trade","data":{"e":"trade","E":1723161257687,"T":1723161257679,"s":"BTCUSD_PERP","t":849714402,"p":"61804.8","q":"4","X":"MARKET","m":false}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-coinm","market":"perp","symbol":"BTC-USD-PERP","native":"BTCUSD_PERP","ts_exchange":1723161257679000000,"ts_recv":1000,"seq":849714402,"id":"binance-coinm.perp.BTC-USD-PERP.trade.849714402","kind":"trade","price":"61804.8","size":"4","side":"buy","trade_id":"849714402"}"#,
            ],
        ),
        (
            // A quarterly delivery contract's `@aggTrade` (cryptofeed corpus).
            Venue::CoinM,
            r#"{"stream":"btcusd_211231@aggTrade","data":{"e":"aggTrade","E":1626916406786,"a":494825,"s":"BTCUSD_211231","p":"32623.3","q":"5","f":769293,"l":769293,"T":1626916406631,"m":true}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-coinm","market":"future","symbol":"BTC-USD-211231","native":"BTCUSD_211231","ts_exchange":1626916406631000000,"ts_recv":1000,"seq":494825,"id":"binance-coinm.future.BTC-USD-211231.trade.agg494825","kind":"trade","price":"32623.3","size":"5","side":"sell","trade_id":"agg494825"}"#,
            ],
        ),
        (
            // A delivery contract's `@bookTicker`, `u` before `e` (cryptofeed corpus).
            Venue::CoinM,
            r#"{"stream":"linkusd_211231@bookTicker","data":{"u":167006087096,"e":"bookTicker","s":"LINKUSD_211231","ps":"LINKUSD","b":"15.320","B":"94","a":"15.331","A":"150","T":1626916404198,"E":1626916404203}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-coinm","market":"future","symbol":"LINK-USD-211231","native":"LINKUSD_211231","ts_exchange":1626916404198000000,"ts_recv":1000,"seq":167006087096,"id":"binance-coinm.future.LINK-USD-211231.bbo.167006087096","kind":"bbo","bid_price":"15.32","bid_size":"94","ask_price":"15.331","ask_size":"150"}"#,
            ],
        ),
        (
            // USD-M `@aggTrade` without `M` (cryptofeed corpus).
            Venue::UsdM,
            r#"{"stream":"ctkusdt@aggTrade","data":{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"CTK-USDT-PERP","native":"CTKUSDT","ts_exchange":1626992741421000000,"ts_recv":1000,"seq":16599292,"id":"binance-usdm.perp.CTK-USDT-PERP.trade.agg16599292","kind":"trade","price":"1.011","size":"10","side":"buy","trade_id":"agg16599292"}"#,
            ],
        ),
        (
            // A liquidation bought back (`BUY`: a short was liquidated).
            Venue::CoinM,
            r#"{"stream":"btcusd_perp@forceOrder","data":{"e":"forceOrder","E":1723161300000,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD","S":"BUY","o":"LIMIT","f":"IOC","q":"12","p":"62000.1","ap":"61850.3","X":"FILLED","l":"12","z":"12","T":1723161299990}}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-coinm","market":"perp","symbol":"BTC-USD-PERP","native":"BTCUSD_PERP","ts_exchange":1723161299990000000,"ts_recv":1000,"seq":null,"id":"binance-coinm.perp.BTC-USD-PERP.liquidation.1723161299990.BUY.61850.3.12","kind":"liquidation","price":"61850.3","size":"12","side":"buy"}"#,
            ],
        ),
    ]);
}

#[test]
fn raw_stream_frames_are_recognised_by_their_event() {
    check(&[
        (
            // Raw spot `@bookTicker` has no event type at all.
            Venue::Spot,
            r#"{"u":542937457,"s":"XEMUSDT","b":"0.04100000","B":"485240.00000000","a":"0.04110000","A":"44994.00000000"}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance","market":"spot","symbol":"XEM-USDT","native":"XEMUSDT","ts_exchange":null,"ts_recv":1000,"seq":542937457,"id":"binance.spot.XEM-USDT.bbo.542937457","kind":"bbo","bid_price":"0.041","bid_size":"485240","ask_price":"0.0411","ask_size":"44994"}"#,
            ],
        ),
        (
            Venue::UsdM,
            r#"{"e":"bookTicker","u":600859600576,"s":"SUSHIUSDT","b":"7.6110","B":"2","a":"7.6120","A":"297","T":1626992741012,"E":1626992741017}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"SUSHI-USDT-PERP","native":"SUSHIUSDT","ts_exchange":1626992741012000000,"ts_recv":1000,"seq":600859600576,"id":"binance-usdm.perp.SUSHI-USDT-PERP.bbo.600859600576","kind":"bbo","bid_price":"7.611","bid_size":"2","ask_price":"7.612","ask_size":"297"}"#,
            ],
        ),
        (
            Venue::Spot,
            r#"{"e":"aggTrade","E":1633998288468,"s":"OMGBUSD","a":425085,"p":"13.80480000","q":"2.10000000","f":439577,"l":439577,"T":1633998288467,"m":false,"M":true}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance","market":"spot","symbol":"OMG-BUSD","native":"OMGBUSD","ts_exchange":1633998288467000000,"ts_recv":1000,"seq":425085,"id":"binance.spot.OMG-BUSD.trade.agg425085","kind":"trade","price":"13.8048","size":"2.1","side":"buy","trade_id":"agg425085"}"#,
            ],
        ),
        (
            Venue::Spot,
            r#"{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BNB-BTC","native":"BNBBTC","ts_exchange":1672515782136000000,"ts_recv":1000,"seq":null,"id":"binance.spot.BNB-BTC.ticker.1672515782136","kind":"ticker","last":"0.0025","bid_price":"0.0024","bid_size":"10","ask_price":"0.0026","ask_size":"100","open_24h":"0.001","high_24h":"0.0025","low_24h":"0.001","volume_24h":"10000","quote_volume_24h":"18"}"#,
            ],
        ),
        (
            Venue::UsdM,
            r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1562305380000000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.mark_price.1562305380000","kind":"mark_price","mark_price":"11794.15","index_price":"11784.62659091"}"#,
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1562305380000000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.funding.1562305380000","kind":"funding","rate":"0.00038167","predicted_rate":null,"next_funding_ts":1562306400000000000}"#,
            ],
        ),
        (
            Venue::UsdM,
            r#"{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1568014460893000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.liquidation.1568014460893.SELL.9910.0.014","kind":"liquidation","price":"9910","size":"0.014","side":"sell"}"#,
            ],
        ),
        (
            Venue::Spot,
            r#"{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"]]}"#,
            Parsed::Ignored("depth"),
            &[],
        ),
        (
            Venue::Spot,
            r#"{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","o":"0.35280000","c":"0.35280000","h":"0.35280000","l":"0.35280000","v":"58.00000000","n":1,"x":false,"q":"20.46240000","V":"58.00000000","Q":"20.46240000","B":"0"}}"#,
            Parsed::Ignored("kline"),
            &[],
        ),
        (
            Venue::Spot,
            r#"{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}"#,
            Parsed::Ignored("miniTicker"),
            &[],
        ),
    ]);
}

#[test]
fn combined_frames_in_any_key_order() {
    check(&[
        (
            Venue::Spot,
            r#"{"data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true},"stream":"btcusdt@trade"}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":1723161255342000000,"ts_recv":1000,"seq":3735683259,"id":"binance.spot.BTC-USDT.trade.3735683259","kind":"trade","price":"61837.63","size":"0.02","side":"sell","trade_id":"3735683259"}"#,
            ],
        ),
        (
            // Whitespace after the brace: not the fast path, same result.
            Venue::Spot,
            r#"{ "stream": "btcusdt@bookTicker", "data": {"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"} }"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":null,"ts_recv":1000,"seq":50093239212,"id":"binance.spot.BTC-USDT.bbo.50093239212","kind":"bbo","bid_price":"61837.63","bid_size":"3.78826","ask_price":"61837.64","ask_size":"1.54698"}"#,
            ],
        ),
        (
            // Partial-depth streams are not normalized.
            Venue::Spot,
            r#"{"stream":"btcusdt@depth5@100ms","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}"#,
            Parsed::Ignored("depth"),
            &[],
        ),
    ]);
}

#[test]
fn replies_acks_and_documented_errors() {
    // Subscription replies and LIST_SUBSCRIPTIONS.
    check(&[
        (
            Venue::UsdM,
            r#"{"result":null,"id":7}"#,
            Parsed::Acked(Answer::Id(7)),
            &[],
        ),
        (
            Venue::Spot,
            r#"{"id":8,"result":null}"#,
            Parsed::Acked(Answer::Id(8)),
            &[],
        ),
        (
            Venue::Spot,
            r#"{"result":["btcusdt@aggTrade","btcusdt@depth"],"id":3}"#,
            Parsed::Info(r#"reply 3: ["btcusdt@aggTrade","btcusdt@depth"]"#.into()),
            &[],
        ),
    ]);
    // The error messages of the WebSocket market-streams documentation: every one is
    // a refusal, never an unknown frame. None names a symbol: the refusal is of the
    // request whose id it echoes (the session knows its symbols), or, without an id,
    // of no request in particular (reported for the whole connection).
    for (frame, id) in [
        (r#"{"code":0,"msg":"Unknown property","id":1}"#, Some(1)),
        (
            r#"{"code":1,"msg":"Invalid value type: expected Boolean","id":2}"#,
            Some(2),
        ),
        (
            r#"{"code":2,"msg":"Invalid request: property name must be a string","id":3}"#,
            Some(3),
        ),
        (
            r#"{"code":2,"msg":"Invalid request: unknown variant `SUBSCRIB`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`","id":4}"#,
            Some(4),
        ),
        (
            r#"{"code":2,"msg":"Invalid request: too many parameters","id":5}"#,
            Some(5),
        ),
        (
            r#"{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1","id":null}"#,
            None,
        ),
        (
            r#"{"error":{"code":2,"msg":"Invalid request: missing field `method` at line 1 column 73"},"id":6}"#,
            Some(6),
        ),
    ] {
        for venue in [Venue::Spot, Venue::UsdM, Venue::CoinM] {
            let (got, out) = parse(venue, frame);
            assert!(
                matches!(
                    got,
                    Ok(Parsed::Refused(Refusal { ref answer, ref symbols, ref reason }))
                        if *answer == id.map(Answer::Id)
                            && symbols.is_empty()
                            && reason.contains("code")
                ),
                "{venue:?} {frame}: {got:?}"
            );
            assert!(out.is_empty());
        }
    }
}

#[test]
fn malformed_and_unknown_frames_are_errors() {
    let cases = [
        (
            r#"{"e":"outboundAccountPosition","E":1564034571105}"#,
            "unknown",
        ),
        (
            r#"{"stream":"btcusdt@avgPrice","data":{"e":"avgPrice"}}"#,
            "unknown",
        ),
        (
            r#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"abc","B":"1","a":"2","A":"3"}}"#,
            "malformed",
        ),
        (
            r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"LONG","q":"1","ap":"2","T":3}}}"#,
            "invalid",
        ),
        (
            r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":5,"s":"BTCUSDT","p":"1","i":"x","r":"0.1","T":6}}"#,
            "invalid",
        ),
        ("", "malformed"),
        ("null", "unknown"),
    ];
    for (frame, label) in cases {
        let (got, out) = parse(Venue::UsdM, frame);
        assert_eq!(
            got.as_ref().map_err(ParseError::label),
            Err(label),
            "frame {frame}"
        );
        assert!(out.is_empty(), "frame {frame}: {out:?}");
    }
}

#[test]
fn channels_not_subscribed_produce_no_records() {
    // A markPrice frame on a connection that asked for mark prices only.
    let mut parser = frames_parser(Venue::UsdM, [Channel::MarkPrice].into_iter().collect());
    let mut out = Vec::new();
    let frame = r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}"#;
    assert_eq!(parser.parse(frame, 1, &mut out), Ok(Parsed::Data));
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["mark_price"]);

    // Streams of other channels on a connection that asked for one (a recording
    // replayed in full sends them all): ignored, no records. (subscribed, the frame's
    // own channel, frame)
    let frames = [
        (
            Channel::Bbo,
            Channel::Trade,
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#,
        ),
        (
            Channel::Bbo,
            Channel::Trade,
            r#"{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}"#,
        ),
        (
            Channel::Trade,
            Channel::Bbo,
            r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#,
        ),
        (
            Channel::Trade,
            Channel::Ticker,
            r#"{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":1672515782136,"s":"BTCUSDT","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}}"#,
        ),
        (
            Channel::Trade,
            Channel::Liquidation,
            r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}"#,
        ),
    ];
    for (only, own, frame) in frames {
        let mut parser = frames_parser(Venue::UsdM, [only].into_iter().collect());
        let mut out = Vec::new();
        assert_eq!(
            parser.parse(frame, 1, &mut out),
            Ok(Parsed::Ignored(
                "a stream this connection did not subscribe to"
            )),
            "{frame}"
        );
        assert!(out.is_empty(), "{frame}: {out:?}");
        // The same frame with its channel subscribed is data.
        let mut parser = frames_parser(Venue::UsdM, [only, own].into_iter().collect());
        assert_eq!(
            parser.parse(frame, 1, &mut out),
            Ok(Parsed::Data),
            "{frame}"
        );
        assert_eq!(out.len(), 1, "{frame}");
    }
}

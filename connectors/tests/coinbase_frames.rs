//! Table tests of Coinbase Exchange feed frames beyond the ones next to the parser:
//! tickers without sizes or time (older feed, first ticker after subscribing),
//! `last_match`, both maker sides, refusals, the `status` channel, bad values. Each
//! case keeps the raw exchange JSON (from the corpus or the feed documentation) next
//! to the records it must produce.

use tickbridge_connectors::contract::{Channel, ChannelSet, ConnectionPlan};
use tickbridge_connectors::exchanges::coinbase::Coinbase;
use tickbridge_connectors::{Answer, Connector, FrameParser, ParseError, Parsed, Refusal};
use tickbridge_schema::{Market, Record};

fn run_with(
    channels: ChannelSet,
    frames: &[&str],
) -> (Vec<Result<Parsed, ParseError>>, Vec<String>) {
    let plan = ConnectionPlan {
        channels,
        ..ConnectionPlan::for_frames(Coinbase.default_ws_url(Market::Spot), Market::Spot)
    };
    let mut parser = Coinbase::new_parser(&plan);
    let mut out: Vec<Record> = Vec::new();
    let results = frames
        .iter()
        .map(|f| parser.parse(f, 7, &mut out))
        .collect();
    let json = out
        .iter()
        .map(|r| String::from_utf8(r.to_json()).unwrap())
        .collect();
    (results, json)
}

fn run(frames: &[&str]) -> (Vec<Result<Parsed, ParseError>>, Vec<String>) {
    run_with(ChannelSet::all(), frames)
}

#[test]
fn ticker_without_sizes_has_null_sizes() {
    // The 2021 feed (cryptofeed corpus) sends no best_bid_size / best_ask_size.
    let (r, out) = run(&[
        r#"{"type":"ticker","sequence":333938798,"product_id":"BAND-GBP","price":"14.7775","open_24h":"14.6647","volume_24h":"94381.28000000","low_24h":"14.3691","high_24h":"16.55","volume_30d":"2295579.57000000","best_bid":"14.7550","best_ask":"14.8060","side":"buy","time":"2021-04-17T16:43:30.244075Z","trade_id":881613,"last_size":"0.04"}"#,
    ]);
    assert_eq!(r, vec![Ok(Parsed::Data)]);
    assert_eq!(
        out,
        vec![
            r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"BAND-GBP","native":"BAND-GBP","ts_exchange":1618677810244075000,"ts_recv":7,"seq":333938798,"id":"coinbase.spot.BAND-GBP.bbo.333938798","kind":"bbo","bid_price":"14.755","bid_size":null,"ask_price":"14.806","ask_size":null}"#,
            r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"BAND-GBP","native":"BAND-GBP","ts_exchange":1618677810244075000,"ts_recv":7,"seq":333938798,"id":"coinbase.spot.BAND-GBP.ticker.333938798","kind":"ticker","last":"14.7775","bid_price":"14.755","bid_size":null,"ask_price":"14.806","ask_size":null,"open_24h":"14.6647","high_24h":"16.55","low_24h":"14.3691","volume_24h":"94381.28","quote_volume_24h":null}"#,
        ]
    );
}

#[test]
fn first_ticker_without_time_has_no_exchange_time() {
    // The ticker sent right after subscribing carries no time, trade_id, side or last_size.
    let (r, out) = run_with(
        [Channel::Bbo].into_iter().collect(),
        &[
            r#"{"type":"ticker","sequence":52880426683,"product_id":"BTC-USD","price":"61837.63","open_24h":"59020.01","volume_24h":"18234.2390","low_24h":"58701.5","high_24h":"62745","volume_30d":"412345.67","best_bid":"61837.62","best_bid_size":"0.01000000","best_ask":"61837.63","best_ask_size":"0.24990000"}"#,
        ],
    );
    assert_eq!(r, vec![Ok(Parsed::Data)]);
    assert_eq!(
        out,
        vec![
            r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":null,"ts_recv":7,"seq":52880426683,"id":"coinbase.spot.BTC-USD.bbo.52880426683","kind":"bbo","bid_price":"61837.62","bid_size":"0.01","ask_price":"61837.63","ask_size":"0.2499"}"#,
        ]
    );
}

#[test]
fn matches_carry_the_taker_side() {
    let (r, out) = run(&[
        // `last_match` (cryptofeed corpus): the maker sold, so the taker bought.
        r#"{"type":"last_match","trade_id":881613,"maker_order_id":"27fff20b-af29-4f45-8744-56dd1ef57dc0","taker_order_id":"1da6ce16-c8da-4732-9f71-6049f4c6aaf8","side":"sell","size":"0.04","price":"14.7775","product_id":"BAND-GBP","sequence":333938798,"time":"2021-04-17T16:43:30.244075Z"}"#,
        // The maker bought: the taker sold.
        r#"{"type":"match","trade_id":280232,"maker_order_id":"2a0da34e-61f7-4c36-88e5-c9dd15927b16","taker_order_id":"3c82abaa-c01e-4608-be59-6a1e69742891","side":"buy","size":"985","price":"0.00001305","product_id":"SKL-BTC","sequence":177100030,"time":"2021-04-17T16:43:37.089723Z"}"#,
    ]);
    assert_eq!(r, vec![Ok(Parsed::Data), Ok(Parsed::Data)]);
    assert_eq!(
        out,
        vec![
            r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"BAND-GBP","native":"BAND-GBP","ts_exchange":1618677810244075000,"ts_recv":7,"seq":333938798,"id":"coinbase.spot.BAND-GBP.trade.881613","kind":"trade","price":"14.7775","size":"0.04","side":"buy","trade_id":"881613"}"#,
            r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"SKL-BTC","native":"SKL-BTC","ts_exchange":1618677817089723000,"ts_recv":7,"seq":177100030,"id":"coinbase.spot.SKL-BTC.trade.280232","kind":"trade","price":"0.00001305","size":"985","side":"sell","trade_id":"280232"}"#,
        ]
    );
}

#[test]
fn control_frames_are_classified() {
    let (r, out) = run(&[
        // Three subscribe requests answered one by one (cryptofeed corpus shape).
        r#"{"type":"subscriptions","channels":[{"name":"level2","product_ids":["BAND-GBP","BAND-BTC"]}]}"#,
        r#"{"type":"subscriptions","channels":[{"name":"level2","product_ids":["BAND-GBP","BAND-BTC"]},{"name":"ticker","product_ids":["BAND-GBP"]}]}"#,
        // A refusal without a reason.
        r#"{"type":"error","message":"Failed to subscribe"}"#,
        // The `status` channel (products and currencies) is not normalized.
        r#"{"type":"status","products":[{"id":"BTC-USD","base_currency":"BTC","quote_currency":"USD","status":"online"}],"currencies":[]}"#,
        // A first heartbeat starts tracking trade ids: no gap.
        r#"{"type":"heartbeat","last_trade_id":881613,"product_id":"BAND-GBP","sequence":333938800,"time":"2021-04-17T16:43:31.000000Z"}"#,
    ]);
    assert_eq!(
        r,
        vec![
            // Answers in send order: each is the oldest pending request's.
            Ok(Parsed::Acked(Answer::InOrder)),
            Ok(Parsed::Acked(Answer::InOrder)),
            // Naming no product: the whole request it answers is refused.
            Ok(Parsed::Refused(Refusal::of(
                Answer::InOrder,
                vec![],
                "Failed to subscribe"
            ))),
            Ok(Parsed::Ignored("status")),
            Ok(Parsed::Heartbeat),
        ]
    );
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn bad_values_are_errors_not_panics() {
    let cases = [
        (
            r#"{"type":"match","trade_id":1,"sequence":2,"time":"2021-04-17T16:43:37Z","product_id":"BTC-USD","size":"1","price":"2","side":"sideways"}"#,
            "invalid",
        ),
        (
            r#"{"type":"match","trade_id":1,"sequence":2,"time":"2021-04-17T16:43:37Z","product_id":"BTC-USD","size":"1","price":"NaN","side":"buy"}"#,
            "malformed",
        ),
        (
            r#"{"type":"l2update","product_id":"BTC-USD","time":"2019-08-14T20:42:27.265Z","changes":[["hold","1","2"]]}"#,
            "invalid",
        ),
        (r#"{"type":"ticker","product_id":"BTC-USD"}"#, "malformed"),
        (r#"{"type":"received","order_id":"x"}"#, "unknown"),
        ("[]", "malformed"),
    ];
    for (frame, label) in cases {
        let (r, out) = run(&[frame]);
        assert_eq!(
            r[0].as_ref().map_err(ParseError::label),
            Err(label),
            "frame {frame}"
        );
        assert!(out.is_empty(), "frame {frame}: {out:?}");
    }
}

#[test]
fn book_ids_are_deterministic() {
    let frames = [
        r#"{"type":"snapshot","product_id":"BTC-USD","bids":[["10101.10","0.45054140"]],"asks":[["10102.55","0.57753524"]]}"#,
        r#"{"type":"l2update","product_id":"BTC-USD","time":"2019-08-14T20:42:27.265Z","changes":[["buy","10101.80000000","0.162567"]]}"#,
    ];
    let (_, first) = run(&frames);
    let (_, again) = run(&frames);
    assert_eq!(first, again);
    let id = |json: &str| {
        serde_json::from_str::<serde_json::Value>(json).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&first[0]), id(&first[1]));
    assert!(id(&first[0]).starts_with("coinbase.spot.BTC-USD.book.snap."));
    assert!(id(&first[1]).starts_with("coinbase.spot.BTC-USD.book.1565815347265000000."));
}

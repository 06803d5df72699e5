//! Kraken v2 table tests: every wire type with its raw JSON, the documented checksum
//! example, book sync with a corrupted update, a gap and a resync.

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::ChannelSet;
use crate::contract::{FrameParser, Parsed};
use crate::exchanges::testing;

/// The example book of Kraken's "Book checksum (WebSocket v2)" guide (checksum
/// 3310070434), as the exchange sends it: numbers with the pair's full precision.
const DOC_SNAPSHOT: &str = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015},{"price":45282.1,"qty":0.10000000},{"price":45281.0,"qty":0.10000000},{"price":45280.3,"qty":1.54592586},{"price":45279.0,"qty":0.07990000},{"price":45277.6,"qty":0.03310103},{"price":45277.5,"qty":0.30000000},{"price":45277.3,"qty":1.54602737},{"price":45276.6,"qty":0.15445238}],"asks":[{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54571953},{"price":45286.6,"qty":1.54571109},{"price":45289.6,"qty":1.54560911},{"price":45290.2,"qty":0.15890660},{"price":45291.8,"qty":1.54553491},{"price":45294.7,"qty":0.04454749},{"price":45296.1,"qty":0.35380000},{"price":45297.5,"qty":0.09945542},{"price":45299.5,"qty":0.18772827}],"checksum":3310070434}]}"#;

fn plan(channels: &[Channel], symbols: &[&str]) -> ConnectionPlan {
    let urls = ("ws://127.0.0.1:1/v2", "");
    let request = testing::request(&Kraken, Market::Spot, channels, symbols, urls);
    testing::first_plan(&Kraken, &request)
}

fn parser(channels: &[Channel]) -> KrakenParser {
    Kraken.new_parser(&plan(channels, &["BTC-USD", "ETH-USD"]))
}

#[test]
fn documented_checksum_example() {
    let mut p = parser(&[Channel::Book]);
    let mut out = Vec::new();
    assert_eq!(p.parse(DOC_SNAPSHOT, 7, &mut out), Ok(Parsed::Data));
    assert_eq!(out.len(), 1, "{out:?}");
    let Data::Book(b) = &out[0].data else {
        panic!("{out:?}")
    };
    assert!(b.snapshot);
    assert_eq!(b.checksum_ok, Some(true));
    assert_eq!(b.bids[3].0.as_str(), "45281");
    assert_eq!(b.asks[0].1.as_str(), "0.001");
    // No exchange timestamp on this snapshot: named by its content, not by when it
    // was received, so a replay yields the same id.
    let id = out[0].id.clone();
    assert!(id.starts_with("kraken.spot.BTC-USD.book.snap.h"), "{id}");
    assert!(id.ends_with(".c3310070434"), "{id}");
    let mut again = parser(&[Channel::Book]);
    let mut out2 = Vec::new();
    again.parse(DOC_SNAPSHOT, 99, &mut out2).unwrap();
    assert_eq!(out2[0].id, id);
    // The same text, level by level, straight through the algorithm.
    let t = |p: &str, q: &str| (smol_str::SmolStr::new(p), smol_str::SmolStr::new(q));
    let asks = [t("45285.2", "0.00100000"), t("45286.4", "1.54571953")];
    let bids = [t("45283.5", "0.10000000")];
    let s = "452852100000" // 45285.2 / 0.00100000
        .to_string()
        + "452864154571953"
        + "45283510000000";
    assert_eq!(
        checksum(asks.iter(), bids.iter()),
        crate::checksum::crc32(s.as_bytes())
    );
}

#[test]
fn table_of_frames() {
    let cases: &[(&str, Parsed, &[&str])] = &[
        (
            r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":45285.2,"qty":0.00100000,"ord_type":"market","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"kraken","market":"spot","symbol":"BTC-USD","native":"BTC/USD","ts_exchange":1695628116925533000,"ts_recv":5,"seq":4665846,"id":"kraken.spot.BTC-USD.trade.4665846","kind":"trade","price":"45285.2","size":"0.001","side":"sell","trade_id":"4665846"}"#,
            ],
        ),
        (
            r#"{"channel":"ticker","type":"snapshot","data":[{"symbol":"ETH/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"kraken","market":"spot","symbol":"ETH-USD","native":"ETH/USD","ts_exchange":1695632671742648000,"ts_recv":5,"seq":null,"id":"kraken.spot.ETH-USD.bbo.t1695632671742648000","kind":"bbo","bid_price":"0.10025","bid_size":"740","ask_price":"0.10036","ask_size":"1361.44813783"}"#,
                r#"{"v":1,"exchange":"kraken","market":"spot","symbol":"ETH-USD","native":"ETH/USD","ts_exchange":1695632671742648000,"ts_recv":5,"seq":null,"id":"kraken.spot.ETH-USD.ticker.t1695632671742648000","kind":"ticker","last":"0.10035","bid_price":"0.10025","bid_size":"740","ask_price":"0.10036","ask_size":"1361.44813783","open_24h":null,"high_24h":"0.10285","low_24h":"0.09979","volume_24h":"997038.98383185","quote_volume_24h":null}"#,
            ],
        ),
        (r#"{"channel":"heartbeat"}"#, Parsed::Heartbeat, &[]),
        (
            r#"{"channel":"status","data":[{"api_version":"v2","connection_id":13834774380200032777,"system":"online","version":"2.0.0"}],"type":"update"}"#,
            Parsed::Info("system online 2.0.0".into()),
            &[],
        ),
        (
            r#"{"method":"pong","req_id":0,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#,
            Parsed::Heartbeat,
            &[],
        ),
        // One acknowledgement per symbol, each an answer of request 1 (the session
        // counts them against the request's `answers`).
        (
            r#"{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z","req_id":1}"#,
            Parsed::Acked(crate::contract::Answer::Id(1)),
            &[],
        ),
        (
            r#"{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"ETH/USD"},"success":true,"time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z","req_id":1}"#,
            Parsed::Acked(crate::contract::Answer::Id(1)),
            &[],
        ),
        (
            r#"{"error":"Currency pair not supported BTC/XYZ","method":"subscribe","req_id":2,"success":false,"symbol":"BTC/XYZ","time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z"}"#,
            Parsed::Refused(crate::contract::Refusal::of(
                crate::contract::Answer::Id(2),
                vec!["BTC/XYZ".into()],
                "subscribe request 2: Currency pair not supported BTC/XYZ",
            )),
            &[],
        ),
        (
            r#"{"error":"Exceeded msg rate"}"#,
            Parsed::Refused(crate::contract::Refusal::unattributed("Exceeded msg rate")),
            &[],
        ),
        (
            r#"{"channel":"ohlc","type":"update","data":[]}"#,
            Parsed::Ignored("ohlc"),
            &[],
        ),
    ];
    let mut p = parser(&[Channel::Trade, Channel::Bbo, Channel::Ticker]);
    testing::assert_table(&mut p, 5, cases);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(r#"{"channel":"spread","data":[]}"#, 5, &mut out)
            .unwrap_err()
            .label(),
        "unknown"
    );
    assert!(p.parse("[1,2]", 5, &mut out).is_err());
}

#[test]
fn plans_one_request_per_channel() {
    let p = plan(
        &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book],
        &["btc/usd", "XBT-EUR", "ETHUSDT"],
    );
    assert_eq!(
        p.texts(),
        vec![
            r#"{"method":"subscribe","params":{"channel":"trade","snapshot":true,"symbol":["BTC/USD","BTC/EUR","ETH/USDT"]},"req_id":1}"#,
            r#"{"method":"subscribe","params":{"channel":"ticker","event_trigger":"bbo","symbol":["BTC/USD","BTC/EUR","ETH/USDT"]},"req_id":2}"#,
            r#"{"method":"subscribe","params":{"channel":"book","depth":10,"snapshot":true,"symbol":["BTC/USD","BTC/EUR","ETH/USDT"]},"req_id":3}"#,
        ]
    );
    assert_eq!(p.symbols[1].symbol, "BTC-EUR");
    let k = Kraken;
    assert!(k.symbol(Market::Perp, "BTC-USD").is_err());
    assert!(k.symbol(Market::Spot, "BTC").is_err());
    let many: Vec<String> = (0..150).map(|i| format!("C{i}-USD")).collect();
    let request = SourceRequest {
        market: Market::Spot,
        channels: vec![Channel::Trade],
        symbols: many
            .iter()
            .map(|s| k.symbol(Market::Spot, s).unwrap())
            .collect(),
        ws_url: "ws://x".into(),
        rest_url: String::new(),
        books: Default::default(),
    };
    let plans = k.plan(&request).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[1].symbols.len(), 50);
    // One request per channel, answered once per symbol.
    let r = &plans[1].requests[0];
    assert_eq!((r.id, r.answers, r.topics.len()), (1, 50, 50));
}

/// A book update frame for `symbol` whose checksum is computed from `state` (the
/// expected top of book after it), or `checksum` when given (corruption).
fn update(symbol: &str, bids: &str, asks: &str, checksum: u32) -> String {
    format!(
        r#"{{"channel":"book","type":"update","data":[{{"symbol":"{symbol}","bids":[{bids}],"asks":[{asks}],"checksum":{checksum},"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}"#
    )
}

fn snapshot(symbol: &str, bids: &str, asks: &str, checksum: u32) -> String {
    format!(
        r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"{symbol}","bids":[{bids}],"asks":[{asks}],"checksum":{checksum}}}]}}"#
    )
}

fn crc(levels: &[&str]) -> u32 {
    crate::checksum::crc32(levels.concat().as_bytes())
}

#[test]
fn corrupted_update_gaps_one_symbol_and_resyncs_it() {
    let mut p = parser(&[Channel::Book]);
    let mut out = Vec::new();
    // Two books: ETH 1 level per side, BTC the documented book.
    let eth_snap = snapshot(
        "ETH/USD",
        r#"{"price":100.0,"qty":1.50}"#,
        r#"{"price":101.0,"qty":2.00}"#,
        crc(&["1010", "200", "1000", "150"]),
    );
    p.parse(&eth_snap, 1, &mut out).unwrap();
    p.parse(DOC_SNAPSHOT, 2, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    out.clear();

    // A good ETH update: bid 100.0 → 1.25.
    let good = update(
        "ETH/USD",
        r#"{"price":100.0,"qty":1.25}"#,
        "",
        crc(&["1010", "200", "1000", "125"]),
    );
    p.parse(&good, 3, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!((b.snapshot, b.checksum_ok), (false, Some(true)));
    out.clear();

    // A corrupted ETH update (wrong checksum): one gap for ETH, nothing published.
    let bad = update("ETH/USD", r#"{"price":99.5,"qty":3}"#, "", 12345);
    p.parse(&bad, 4, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].symbol, "ETH-USD");
    let Data::Status(s) = &out[0].data else {
        panic!()
    };
    assert_eq!(s.event, StatusEvent::Gap);
    assert_eq!(s.expected, Some(12345));
    let frames = p.resubscribe();
    assert_eq!(
        frames,
        vec![
            r#"{"method":"unsubscribe","params":{"channel":"book","depth":10,"symbol":["ETH/USD"]},"req_id":1000000}"#,
            r#"{"method":"subscribe","params":{"channel":"book","depth":10,"snapshot":true,"symbol":["ETH/USD"]},"req_id":1000001}"#,
        ]
    );
    assert!(p.resubscribe().is_empty(), "throttled until the snapshot");
    out.clear();

    // Updates of the broken book are swallowed (even a "valid" one); BTC goes on.
    p.parse(&good, 5, &mut out).unwrap();
    assert!(out.is_empty());
    let btc = update(
        "BTC/USD",
        "",
        r#"{"price":45285.2,"qty":0.00000000}"#,
        // The top 10 asks lose 45285.2; only 9 asks remain.
        {
            let mut s = String::new();
            for (pr, q) in [
                ("452864", "154571953"),
                ("452866", "154571109"),
                ("452896", "154560911"),
                ("452902", "15890660"),
                ("452918", "154553491"),
                ("452947", "4454749"),
                ("452961", "35380000"),
                ("452975", "9945542"),
                ("452995", "18772827"),
                ("452835", "10000000"),
                ("452834", "154582015"),
                ("452821", "10000000"),
                ("452810", "10000000"),
                ("452803", "154592586"),
                ("452790", "7990000"),
                ("452776", "3310103"),
                ("452775", "30000000"),
                ("452773", "154602737"),
                ("452766", "15445238"),
            ] {
                s.push_str(pr);
                s.push_str(q);
            }
            crate::checksum::crc32(s.as_bytes())
        },
    );
    p.parse(&btc, 6, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].symbol, "BTC-USD");
    assert!(matches!(&out[0].data, Data::Book(b) if b.checksum_ok == Some(true)));
    out.clear();

    // The acks of the resubscription are informational; the fresh snapshot repairs ETH.
    assert!(matches!(
        p.parse(r#"{"method":"unsubscribe","result":{"channel":"book","depth":10,"symbol":"ETH/USD"},"success":true,"req_id":1000000}"#, 7, &mut out),
        Ok(Parsed::Info(_))
    ));
    let fresh = snapshot(
        "ETH/USD",
        r#"{"price":100.0,"qty":1.25},{"price":99.5,"qty":3}"#,
        r#"{"price":101.0,"qty":2.00}"#,
        crc(&["1010", "200", "1000", "125", "995", "3"]),
    );
    p.parse(&fresh, 8, &mut out).unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book"]);
    assert!(matches!(&out[0].data, Data::Status(s) if s.event == StatusEvent::Resynced));
    out.clear();
    let next = update(
        "ETH/USD",
        "",
        r#"{"price":101.0,"qty":0}"#,
        crc(&["1000", "125", "995", "3"]),
    );
    p.parse(&next, 9, &mut out).unwrap();
    assert!(matches!(&out[0].data, Data::Book(b) if b.checksum_ok == Some(true)));
}

#[test]
fn truncation_to_depth_is_published_as_deletions() {
    let mut p = parser(&[Channel::Book]);
    let mut out = Vec::new();
    p.parse(DOC_SNAPSHOT, 1, &mut out).unwrap();
    out.clear();
    // A new best bid pushes the 10th bid (45276.6) out of the depth-10 book.
    let mut s = String::new();
    for (pr, q) in [
        ("452852", "100000"),
        ("452864", "154571953"),
        ("452866", "154571109"),
        ("452896", "154560911"),
        ("452902", "15890660"),
        ("452918", "154553491"),
        ("452947", "4454749"),
        ("452961", "35380000"),
        ("452975", "9945542"),
        ("452995", "18772827"),
        ("452840", "100000000"),
        ("452835", "10000000"),
        ("452834", "154582015"),
        ("452821", "10000000"),
        ("452810", "10000000"),
        ("452803", "154592586"),
        ("452790", "7990000"),
        ("452776", "3310103"),
        ("452775", "30000000"),
        ("452773", "154602737"),
    ] {
        s.push_str(pr);
        s.push_str(q);
    }
    let frame = update(
        "BTC/USD",
        r#"{"price":45284.0,"qty":1.00000000}"#,
        "",
        crate::checksum::crc32(s.as_bytes()),
    );
    p.parse(&frame, 2, &mut out).unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!("{out:?}")
    };
    assert_eq!(b.checksum_ok, Some(true));
    let bids: Vec<(&str, &str)> = b
        .bids
        .iter()
        .map(|l| (l.0.as_str(), l.1.as_str()))
        .collect();
    assert_eq!(bids, [("45284", "1"), ("45276.6", "0")]);
}

#[test]
fn parser_from_plan_and_channel_set() {
    let p = plan(&[Channel::Book], &["BTC-USD"]);
    let parser = Kraken.new_parser(&ConnectionPlan {
        books: crate::book::BookConfig {
            snapshot_depth: Some(25),
            ..Default::default()
        },
        ..p
    });
    assert_eq!(parser.default_depth, 25);
    assert!(ChannelSet::all().contains(Channel::Book));
}

#[test]
fn book_depth_comes_from_the_source_book_options() {
    let k = Kraken;
    let request = SourceRequest {
        market: Market::Spot,
        channels: vec![Channel::Book],
        symbols: vec![k.symbol(Market::Spot, "BTC-USD").unwrap()],
        ws_url: "ws://x/v2".into(),
        rest_url: String::new(),
        books: Default::default(),
    };
    let depth = |d: Option<u32>| {
        let mut request = request.clone();
        request.books.snapshot_depth = d;
        let plan = k.plan(&request).unwrap().remove(0);
        let v: serde_json::Value = serde_json::from_str(plan.texts()[0]).unwrap();
        let parser = k.new_parser(&plan);
        assert_eq!(
            Some(parser.default_depth as u64),
            v["params"]["depth"].as_u64()
        );
        parser.default_depth
    };
    assert_eq!(depth(None), 10);
    assert_eq!(depth(Some(20)), 25);
    assert_eq!(depth(Some(100)), 100);
    assert_eq!(depth(Some(5000)), 1000);
}

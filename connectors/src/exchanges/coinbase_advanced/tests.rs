//! Coinbase Advanced Trade table tests: every wire type with its raw JSON, planning,
//! and a `sequence_num` jump that gaps and resyncs the connection's books.

use tickbridge_schema::{Data, Market, StatusEvent};

use super::*;
use crate::contract::{FrameParser, Parsed};
use crate::exchanges::testing;

fn plan(channels: &[Channel], symbols: &[&str]) -> ConnectionPlan {
    let urls = ("ws://127.0.0.1:1", "");
    let request = testing::request(&CoinbaseAdvanced, Market::Spot, channels, symbols, urls);
    testing::first_plan(&CoinbaseAdvanced, &request)
}

#[test]
fn plans_one_channel_per_subscribe_message() {
    let p = plan(
        &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book],
        &["btc-usd", "ETH-USD"],
    );
    assert_eq!(
        p.texts(),
        vec![
            r#"{"channel":"heartbeats","type":"subscribe"}"#,
            r#"{"channel":"market_trades","product_ids":["BTC-USD","ETH-USD"],"type":"subscribe"}"#,
            r#"{"channel":"ticker","product_ids":["BTC-USD","ETH-USD"],"type":"subscribe"}"#,
            r#"{"channel":"level2","product_ids":["BTC-USD","ETH-USD"],"type":"subscribe"}"#,
        ]
    );
    assert!(CoinbaseAdvanced.symbol(Market::Spot, "BTCUSD").is_err());
    assert!(CoinbaseAdvanced.symbol(Market::Perp, "BTC-USD").is_err());
}

#[test]
fn table_of_frames() {
    let cases: &[(&str, Parsed, &[&str])] = &[
        (
            r#"{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":0,"events":[{"subscriptions":{"heartbeats":["heartbeats"]}}]}"#,
            Parsed::Acked(crate::contract::Answer::InOrder),
            &[],
        ),
        (
            r#"{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":1,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":"3049"}]}"#,
            Parsed::Heartbeat,
            &[],
        ),
        (
            r#"{"channel":"market_trades","client_id":"","timestamp":"2026-02-18T16:42:26.7Z","sequence_num":2,"events":[{"type":"update","trades":[{"trade_id":"963696120","product_id":"BTC-USD","price":"67231.87","size":"0.003","side":"BUY","time":"2026-02-18T16:42:26.685302Z"}]}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"coinbase-advanced","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":1771432946685302000,"ts_recv":4,"seq":963696120,"id":"coinbase-advanced.spot.BTC-USD.trade.963696120","kind":"trade","price":"67231.87","size":"0.003","side":"buy","trade_id":"963696120"}"#,
            ],
        ),
        (
            r#"{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":3,"events":[{"type":"snapshot","tickers":[{"type":"ticker","product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938","low_24_h":"21835.29","high_24_h":"23011.18","low_52_w":"15460","high_52_w":"48240","price_percent_chg_24_h":"-4.15775596190603","best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98","best_ask_quantity":"8038.07770142"}]}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"coinbase-advanced","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":1675974637167359596,"ts_recv":4,"seq":null,"id":"coinbase-advanced.spot.BTC-USD.bbo.t1675974637167359596","kind":"bbo","bid_price":"21931.98","bid_size":"8000.21","ask_price":"21933.98","ask_size":"8038.07770142"}"#,
                r#"{"v":1,"exchange":"coinbase-advanced","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":1675974637167359596,"ts_recv":4,"seq":null,"id":"coinbase-advanced.spot.BTC-USD.ticker.t1675974637167359596","kind":"ticker","last":"21932.98","bid_price":"21931.98","bid_size":"8000.21","ask_price":"21933.98","ask_size":"8038.07770142","open_24h":null,"high_24h":"23011.18","low_24h":"21835.29","volume_24h":"16038.28770938","quote_volume_24h":null}"#,
            ],
        ),
        (
            r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":4,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"1970-01-01T00:00:00Z","price_level":"21921.74","new_quantity":"0.01000000"}]}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"coinbase-advanced","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":1675974770714964855,"ts_recv":4,"seq":4,"id":"coinbase-advanced.spot.BTC-USD.book.snap.4.t1675974770714964855","kind":"book","bids":[["21921.73","0.06317902"]],"asks":[["21921.74","0.01"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#,
            ],
        ),
        (
            r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.814964855Z","sequence_num":5,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"offer","event_time":"2023-02-09T20:32:50.714964855Z","price_level":"21921.74","new_quantity":"0"}]}]}"#,
            Parsed::Data,
            &[
                r#"{"v":1,"exchange":"coinbase-advanced","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":1675974770814964855,"ts_recv":4,"seq":5,"id":"coinbase-advanced.spot.BTC-USD.book.5.t1675974770814964855","kind":"book","bids":[],"asks":[["21921.74","0"]],"snapshot":false,"prev_seq":4,"checksum_ok":null}"#,
            ],
        ),
        (
            r#"{"type":"error","message":"failure to subscribe"}"#,
            Parsed::Refused(crate::contract::Refusal::of(
                crate::contract::Answer::InOrder,
                vec![],
                "failure to subscribe",
            )),
            &[],
        ),
        (
            r#"{"channel":"candles","client_id":"","timestamp":"2023-06-09T20:19:35.39625135Z","sequence_num":6,"events":[]}"#,
            Parsed::Ignored("candles"),
            &[],
        ),
    ];
    let mut p = CoinbaseAdvanced.new_parser(&plan(
        &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book],
        &["BTC-USD"],
    ));
    testing::assert_table(&mut p, 4, cases);
    let mut out = Vec::new();
    assert_eq!(
        p.parse(
            r#"{"channel":"nope","sequence_num":7,"events":[]}"#,
            4,
            &mut out
        )
        .unwrap_err()
        .label(),
        "unknown"
    );
}

fn l2(seq: u64, kind: &str, product: &str, updates: &str) -> String {
    format!(
        r#"{{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":{seq},"events":[{{"type":"{kind}","product_id":"{product}","updates":[{updates}]}}]}}"#
    )
}

#[test]
fn sequence_jump_gaps_every_book_and_resyncs_level2() {
    let mut p = CoinbaseAdvanced.new_parser(&plan(&[Channel::Book], &["BTC-USD", "ETH-USD"]));
    let mut out = Vec::new();
    let bid = |px: &str, q: &str| {
        format!(
            r#"{{"side":"bid","event_time":"2023-02-09T20:32:50Z","price_level":"{px}","new_quantity":"{q}"}}"#
        )
    };
    p.parse(&l2(1, "snapshot", "BTC-USD", &bid("100", "1")), 1, &mut out)
        .unwrap();
    p.parse(&l2(2, "snapshot", "ETH-USD", &bid("10", "1")), 1, &mut out)
        .unwrap();
    p.parse(&l2(3, "update", "BTC-USD", &bid("100", "2")), 1, &mut out)
        .unwrap();
    assert_eq!(out.len(), 3);
    out.clear();
    // Message 4 is lost.
    p.parse(&l2(5, "update", "ETH-USD", &bid("10", "2")), 2, &mut out)
        .unwrap();
    let mut gaps: Vec<(&str, Option<u64>, Option<u64>)> = out
        .iter()
        .map(|r| match &r.data {
            Data::Status(s) if s.event == StatusEvent::Gap => {
                (r.symbol.as_str(), s.expected, s.got)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    gaps.sort();
    assert_eq!(
        gaps,
        [("BTC-USD", Some(4), Some(5)), ("ETH-USD", Some(4), Some(5))]
    );
    let mut frames = p.resubscribe();
    frames
        .iter_mut()
        .for_each(|f| *f = f.replace("\"ETH-USD\",\"BTC-USD\"", "\"BTC-USD\",\"ETH-USD\""));
    assert_eq!(
        frames,
        vec![
            r#"{"channel":"level2","product_ids":["BTC-USD","ETH-USD"],"type":"unsubscribe"}"#,
            r#"{"channel":"level2","product_ids":["BTC-USD","ETH-USD"],"type":"subscribe"}"#,
        ]
    );
    out.clear();
    // Updates before the fresh snapshots are not published.
    p.parse(&l2(6, "update", "BTC-USD", &bid("100", "3")), 3, &mut out)
        .unwrap();
    assert!(out.is_empty());
    p.parse(&l2(7, "snapshot", "BTC-USD", &bid("100", "3")), 3, &mut out)
        .unwrap();
    let kinds: Vec<&str> = out.iter().map(|r| r.kind().as_str()).collect();
    assert_eq!(kinds, ["status", "book"]);
    out.clear();
    p.parse(&l2(8, "update", "BTC-USD", &bid("99", "1")), 3, &mut out)
        .unwrap();
    let Data::Book(b) = &out[0].data else {
        panic!()
    };
    assert_eq!(b.prev_seq, Some(7));
}

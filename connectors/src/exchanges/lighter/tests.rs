//! Table tests of the Lighter connector with the documented example frames (the
//! WebSocket reference's examples, and the current shapes the reference clients'
//! mainnet fixtures show).

use tickbridge_schema::{Data, InstrumentStatus, Market, StatusEvent};

use super::*;
use crate::contract::{Answer, FrameParser, ParseError, Parsed, Refusal};
use crate::exchanges::testing::{self, assert_table, json, rows};
use crate::symbols::NOT_PLANNED;

const CONNECTED: &str =
    r#"{"session_id":"b23c70b2-9ef8-4080-8f02-4edf34138329","type":"connected"}"#;

/// The reference's `update/order_book` example, and a snapshot in the same shape whose
/// `nonce` is the example's `begin_nonce` (so the example chains from it).
const BOOK_SNAPSHOT: &str = r#"{"channel":"order_book:0","offset":41692860,"order_book":{"code":0,"asks":[{"price":"3327.46","size":"12.5"},{"price":"3328.00","size":"4.0000"}],"bids":[{"price":"3338.80","size":"1.0000"},{"price":"3326.10","size":"7.2500"}],"offset":41692860,"nonce":4037957034,"begin_nonce":0},"timestamp":1766434222533,"type":"subscribed/order_book"}"#;
const BOOK_UPDATE: &str = r#"{"channel":"order_book:0","offset":41692864,"order_book":{"code":0,"asks":[{"price":"3327.46","size":"29.0915"}],"bids":[{"price":"3338.80","size":"10.2898"}],"offset":41692864,"nonce":4037957053,"begin_nonce":4037957034},"timestamp":1766434222583,"type":"update/order_book"}"#;
/// The next update of the chain: a level deleted (size zero).
const BOOK_UPDATE_2: &str = r#"{"channel":"order_book:0","offset":41692865,"order_book":{"code":0,"asks":[{"price":"3328.00","size":"0.0000"}],"bids":[],"offset":41692865,"nonce":4037957090,"begin_nonce":4037957053},"timestamp":1766434222633,"type":"update/order_book"}"#;
/// A broken chain: `begin_nonce` is not the previous `nonce` (4037957090).
const BOOK_BROKEN: &str = r#"{"channel":"order_book:0","offset":41692870,"order_book":{"code":0,"asks":[],"bids":[{"price":"3326.10","size":"0.0000"}],"offset":41692870,"nonce":4037957200,"begin_nonce":4037957150},"timestamp":1766434222733,"type":"update/order_book"}"#;
/// The snapshot after the resync (the first message after the new subscription).
const BOOK_RESYNC: &str = r#"{"channel":"order_book:0","offset":2164,"order_book":{"code":0,"asks":[{"price":"3330.00","size":"2.0000"}],"bids":[{"price":"3329.50","size":"3.0000"}],"offset":2164,"nonce":4037957300,"begin_nonce":0},"timestamp":1766434223000,"type":"subscribed/order_book"}"#;
/// Market 1 (BTC), untouched by market 0's gap.
const BTC_SNAPSHOT: &str = r#"{"channel":"order_book:1","last_updated_at":1766434222500000,"offset":900,"order_book":{"code":0,"asks":[{"price":"88001.0","size":"0.50000"}],"bids":[{"price":"88000.5","size":"0.25000"}],"offset":900,"nonce":7000,"last_updated_at":1766434222500000,"begin_nonce":0},"timestamp":1766434222510,"type":"subscribed/order_book"}"#;
const BTC_UPDATE: &str = r#"{"channel":"order_book:1","last_updated_at":1766434222800000,"offset":901,"order_book":{"code":0,"asks":[],"bids":[{"price":"88000.5","size":"0.30000"}],"offset":901,"nonce":7042,"last_updated_at":1766434222800000,"begin_nonce":7000},"timestamp":1766434222810,"type":"update/order_book"}"#;

/// The reference's `update/trade` example (its `timestamp` in seconds).
const TRADE_DOC: &str = r#"{"channel":"trade:0","trades":[{"trade_id":14035051,"tx_hash":"189068ebc6b5c7e5efda96f92842a2fafd280990692e56899a98de8c4a12a38c","type":"trade","market_id":0,"size":"0.1187","price":"3335.65","usd_amount":"13.67","ask_id":41720126,"bid_id":41720037,"ask_account_id":2304,"bid_account_id":21504,"is_maker_ask":false,"block_height":2204468,"timestamp":1722339648}],"type":"update/trade"}"#;
/// The current shape (milliseconds, string ids, `liquidation_trades`).
const TRADE_NOW: &str = r#"{"channel":"trade:0","liquidation_trades":[{"trade_id":16164557910,"trade_id_str":"16164557910","tx_hash":"019f2b9d","type":"liquidation","market_id":0,"size":"2.5000","price":"2180.10","usd_amount":"5450.25","ask_id":281476612587360,"bid_id":562948334068270,"ask_account_id":722982,"bid_account_id":314233,"is_maker_ask":false,"block_height":198321832,"timestamp":1773854156700,"taker_fee":10000,"transaction_time":1773854156701000}],"nonce":8630448841,"trades":[{"trade_id":16164557907,"trade_id_str":"16164557907","tx_hash":"019f2b9c","type":"trade","market_id":0,"size":"0.1336","price":"2181.83","usd_amount":"291.492488","ask_id":281476612587355,"ask_id_str":"281476612587355","bid_id":562948334068259,"bid_id_str":"562948334068259","ask_client_id":363283,"ask_client_id_str":"363283","bid_client_id":23004521241,"bid_client_id_str":"23004521241","ask_account_id":57890,"bid_account_id":317068,"is_maker_ask":true,"block_height":198321831,"timestamp":1773854156654,"taker_fee":196,"maker_fee":28,"transaction_time":1773854156686065}],"type":"update/trade"}"#;
/// The replay of recent prints on subscription.
const TRADE_REPLAY: &str = r#"{"channel":"trade:0","liquidation_trades":[],"nonce":8630448800,"trades":[{"trade_id":16164557900,"tx_hash":"019f2b90","type":"trade","market_id":0,"size":"0.0100","price":"2181.00","usd_amount":"21.81","ask_id":1,"bid_id":2,"ask_account_id":3,"bid_account_id":4,"is_maker_ask":true,"block_height":198321800,"timestamp":1773854150000}],"type":"subscribed/trade"}"#;

/// The reference's `update/market_stats` example (no top-level timestamp).
const STATS_DOC: &str = r#"{"channel":"market_stats:0","market_stats":{"market_id":0,"index_price":"3335.04","mark_price":"3335.09","open_interest":"235.25","last_trade_price":"3335.65","current_funding_rate":"0.0057","funding_rate":"0.0005","funding_timestamp":1722337200000,"daily_base_token_volume":230206.48999999944,"daily_quote_token_volume":765295250.9804002,"daily_price_low":3265.13,"daily_price_high":3386.01,"daily_price_change":-1.1562612047992835},"type":"update/market_stats"}"#;
/// The current shape, as the subscription's first message.
const STATS_NOW: &str = r#"{"channel":"market_stats:0","market_stats":{"symbol":"ETH","market_id":0,"index_price":"2064.48","mark_price":"2064.47","mid_price":"2064.39","open_interest":"27250.8411","open_interest_limit":"50000.0000","funding_clamp_small":"0.0001","funding_clamp_big":"0.0002","last_trade_price":"2064.50","current_funding_rate":"0.000001","funding_rate":"0.000002","funding_timestamp":1774879200000,"daily_base_token_volume":199958.6931,"daily_quote_token_volume":471193598.847246,"daily_price_low":2311.81,"daily_price_high":2398.0,"daily_price_change":0.1685414778023213},"timestamp":1774883844933,"type":"subscribed/market_stats"}"#;

const ERR_INVALID: &str = r#"{"error":{"code":30005,"message":"Invalid Channel:  (marketId)"}}"#;
const ERR_ALREADY: &str =
    r#"{"error":{"code":30003,"message":"Already Subscribed to : order_book:0"}}"#;
const ERR_TOO_MANY: &str = r#"{"error":{"code":30009,"message":"Too Many Websocket Messages!"}}"#;
const ERR_TYPED: &str =
    r#"{"type":"error","code":30012,"channel":"order_book:1","message":"failed to subscribe"}"#;
const UNSUBSCRIBED: &str = r#"{"type": "unsubscribed", "channel": "order_book:0"}"#;

const TS: i64 = 1_766_434_222_600_000_000;

fn eth() -> SymbolInfo {
    SymbolInfo {
        market: Market::Perp,
        symbol: "ETH-USDC-PERP".into(),
        native: "0".into(),
    }
}

fn plan_of(channels: &[Channel], symbols: Vec<SymbolInfo>) -> ConnectionPlan {
    let request = SourceRequest {
        market: Market::Perp,
        channels: channels.to_vec(),
        symbols,
        ws_url: WS_URL.into(),
        rest_url: REST_URL.into(),
        books: Default::default(),
    };
    testing::first_plan(&Lighter, &request)
}

fn parser(channels: &[Channel]) -> LighterParser {
    Lighter::new_parser(&plan_of(
        channels,
        vec![eth(), Lighter.symbol(Market::Perp, "1").unwrap()],
    ))
}

#[test]
fn plans_one_subscribe_per_channel_and_market() {
    let plan = plan_of(
        &[
            Channel::Trade,
            Channel::Book,
            Channel::Funding,
            Channel::MarkPrice,
            Channel::Liquidation,
        ],
        vec![
            eth(),
            Lighter.symbol(Market::Perp, "BTC-USDC-PERP").unwrap(),
        ],
    );
    assert_eq!(
        plan.texts(),
        vec![
            r#"{"channel":"trade/0","type":"subscribe"}"#,
            r#"{"channel":"order_book/0","type":"subscribe"}"#,
            r#"{"channel":"market_stats/0","type":"subscribe"}"#,
            r#"{"channel":"trade/1","type":"subscribe"}"#,
            r#"{"channel":"order_book/1","type":"subscribe"}"#,
            r#"{"channel":"market_stats/1","type":"subscribe"}"#,
        ]
    );
    let names: Vec<&str> = plan
        .requests
        .iter()
        .map(|r| r.topics[0].name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "trade:0",
            "order_book:0",
            "market_stats:0",
            "trade:1",
            "order_book:1",
            "market_stats:1"
        ]
    );
    assert!(plan.requests.iter().all(|r| r.answers == 1));
    let ids: Vec<u64> = plan.requests.iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    assert_eq!(plan.url, WS_URL);
    assert_eq!(plan.send_interval, Duration::from_millis(250));
    assert!(plan.encode.is_some());
}

#[test]
fn plans_shard_at_100_subscriptions_per_connection() {
    let markets: Vec<SymbolInfo> = (0..101)
        .map(|i| SymbolInfo {
            market: Market::Perp,
            symbol: format!("M{i}-USDC-PERP").into(),
            native: i.to_string().into(),
        })
        .collect();
    let request = |channels: &[Channel]| SourceRequest {
        market: Market::Perp,
        channels: channels.to_vec(),
        symbols: markets.clone(),
        ws_url: WS_URL.into(),
        rest_url: REST_URL.into(),
        books: Default::default(),
    };
    // One Lighter channel: 100 markets per connection.
    let plans = Lighter.plan(&request(&[Channel::Book])).unwrap();
    let sizes: Vec<usize> = plans.iter().map(|p| p.requests.len()).collect();
    assert_eq!(sizes, [100, 1]);
    // Three (funding and mark price share market_stats): 33 markets, 99 subscriptions.
    let plans = Lighter
        .plan(&request(&[
            Channel::Trade,
            Channel::Book,
            Channel::Funding,
            Channel::MarkPrice,
        ]))
        .unwrap();
    let sizes: Vec<usize> = plans.iter().map(|p| p.requests.len()).collect();
    assert_eq!(sizes, [99, 99, 99, 6]);
    assert!(plans
        .iter()
        .all(|p| p.requests.len() <= Lighter.limits().max_streams_per_connection));
}

#[test]
fn limits_and_heartbeat_are_the_documented_ones() {
    let l = Lighter.limits();
    assert_eq!(l.max_streams_per_connection, 100);
    assert_eq!(l.subscribe_requests, Some(RateWindow::per_secs(180, 60)));
    let h = Lighter.heartbeat();
    assert_eq!(h.app_ping, Some(r#"{"type":"ping"}"#));
    // Lighter closes a connection silent for 2 minutes: a ping every 30 s.
    assert_eq!(h.ping_interval, Some(Duration::from_secs(30)));
    assert_eq!(h.idle_timeout, Duration::from_secs(90));
    assert_eq!(h.subscribe_timeout, Duration::from_secs(45));
    let full = SEND_INTERVAL * MAX_SUBSCRIPTIONS_PER_CONNECTION as u32;
    assert!(
        full < h.subscribe_timeout,
        "a full connection is sent before the deadline"
    );
    assert!(h.ping_interval.unwrap() * 4 <= Duration::from_secs(120));
}

#[test]
fn symbols_are_market_ids_named_with_the_usdc_settle() {
    let perp = Market::Perp;
    testing::assert_symbol(&Lighter, perp, "BTC-USDC-PERP", ("BTC-USDC-PERP", "1"));
    testing::assert_symbol(&Lighter, perp, "eth-usdc-perp", ("ETH-USDC-PERP", "0"));
    testing::assert_symbol(&Lighter, perp, "BTC-USD-PERP", ("BTC-USDC-PERP", "1"));
    testing::assert_symbol(&Lighter, perp, "1", ("BTC-USDC-PERP", "1"));
    testing::assert_symbol(&Lighter, perp, "00", ("ETH-USDC-PERP", "0"));
    for bad in [
        "BTC-USDT-PERP",
        "BTC-USDC",
        "BTC",
        "SOL-USDC-PERP",
        "77",
        "",
    ] {
        assert!(
            matches!(Lighter.symbol(perp, bad), Err(PlanError::BadSymbol { .. })),
            "{bad}"
        );
    }
    assert!(Lighter.symbol(Market::Spot, "BTC-USDC").is_err());
    // Frames of markets no plan names.
    assert_eq!(Lighter::fallback_symbol("1").symbol, "BTC-USDC-PERP");
    assert_eq!(Lighter::fallback_symbol("36").symbol, "36");
}

#[test]
fn urls_of_the_stream_are_claimed() {
    assert_eq!(Lighter.market_of_url(WS_URL), Some(Market::Perp));
    assert_eq!(
        Lighter.market_of_url("wss://mainnet.zklighter.elliot.ai/stream?readonly=true"),
        Some(Market::Perp)
    );
    assert_eq!(
        Lighter.market_of_url("wss://testnet.zklighter.elliot.ai/stream"),
        Some(Market::Perp)
    );
    assert_eq!(
        Lighter.market_of_url("wss://mainnet.zklighter.elliot.ai/ws"),
        None
    );
    assert_eq!(
        Lighter.market_of_url("wss://api.upbit.com/websocket/v1"),
        None
    );
    assert_eq!(Lighter.default_rest_url(Market::Perp), REST_URL);
    assert_eq!(
        Lighter.instrument_urls(Market::Perp, "http://127.0.0.1:1/"),
        vec!["http://127.0.0.1:1/api/v1/orderBookDetails"]
    );
    assert!(Lighter.instrument_urls(Market::Spot, REST_URL).is_empty());
}

#[test]
fn a_snapshot_acknowledges_and_the_nonce_chain_carries_the_book() {
    let mut p = parser(&[Channel::Book]);
    assert_table(
        &mut p,
        TS,
        &[
            (
                BOOK_SNAPSHOT,
                Parsed::Acked(Answer::Topic("order_book:0".into())),
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1766434222533000000,"ts_recv":1766434222600000000,"seq":4037957034,"id":"lighter.perp.ETH-USDC-PERP.book.snap.4037957034","kind":"book","bids":[["3338.8","1"],["3326.1","7.25"]],"asks":[["3327.46","12.5"],["3328","4"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#,
                ],
            ),
            (
                BOOK_UPDATE,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1766434222583000000,"ts_recv":1766434222600000000,"seq":4037957053,"id":"lighter.perp.ETH-USDC-PERP.book.4037957053","kind":"book","bids":[["3338.8","10.2898"]],"asks":[["3327.46","29.0915"]],"snapshot":false,"prev_seq":4037957034,"checksum_ok":null}"#,
                ],
            ),
            (
                BOOK_UPDATE_2,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1766434222633000000,"ts_recv":1766434222600000000,"seq":4037957090,"id":"lighter.perp.ETH-USDC-PERP.book.4037957090","kind":"book","bids":[],"asks":[["3328","0"]],"snapshot":false,"prev_seq":4037957053,"checksum_ok":null}"#,
                ],
            ),
            // A repeated (already covered) message publishes nothing.
            (BOOK_UPDATE, Parsed::Data, &[]),
        ],
    );
    let book = p.book("0").unwrap().book();
    assert_eq!(
        book.best_ask().map(|(p, s)| (p.as_str(), s.as_str())),
        Some(("3327.46", "29.0915"))
    );
    assert_eq!(book.len(), (2, 1), "the deleted ask is gone");
    assert!(p.resubscribe().is_empty());
}

#[test]
fn a_broken_chain_is_a_gap_resynced_for_that_market_only() {
    let mut p = parser(&[Channel::Book]);
    let mut out = Vec::new();
    for f in [BOOK_SNAPSHOT, BTC_SNAPSHOT, BOOK_UPDATE, BOOK_UPDATE_2] {
        p.parse(f, TS, &mut out).unwrap();
    }
    out.clear();
    assert_eq!(p.parse(BOOK_BROKEN, TS, &mut out).unwrap(), Parsed::Data);
    assert_eq!(out.len(), 1, "{out:?}");
    testing::assert_gap(&out[0], Some(4_037_957_090), Some(4_037_957_150));
    assert_eq!(out[0].symbol.as_str(), "ETH-USDC-PERP");
    assert_eq!(
        out[0].id,
        "lighter.perp.ETH-USDC-PERP.status.gap.4037957090.4037957150"
    );
    assert!(!p.book("0").unwrap().is_synced());
    // The resync: unsubscribe, then subscribe, of market 0's book only (once).
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"channel":"order_book/0","type":"unsubscribe"}"#,
            r#"{"channel":"order_book/0","type":"subscribe"}"#,
        ]
    );
    assert!(p.resubscribe().is_empty());
    // Market 1 goes on; market 0's updates are dropped until its snapshot.
    out.clear();
    assert_eq!(p.parse(BTC_UPDATE, TS, &mut out).unwrap(), Parsed::Data);
    assert_eq!(out.len(), 1);
    assert_eq!(
        json(&out[0]),
        r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"BTC-USDC-PERP","native":"1","ts_exchange":1766434222810000000,"ts_recv":1766434222600000000,"seq":7042,"id":"lighter.perp.BTC-USDC-PERP.book.7042","kind":"book","bids":[["88000.5","0.3"]],"asks":[],"snapshot":false,"prev_seq":7000,"checksum_ok":null}"#
    );
    out.clear();
    assert_eq!(p.parse(BOOK_BROKEN, TS, &mut out).unwrap(), Parsed::Data);
    assert!(out.is_empty(), "no second gap while the resync is pending");
    assert_eq!(
        p.parse(UNSUBSCRIBED, TS, &mut out).unwrap(),
        Parsed::Info("unsubscribed order_book:0".into())
    );
    // The fresh snapshot: resynced, then the book; it answers the parser's own request.
    assert_eq!(
        p.parse(BOOK_RESYNC, TS, &mut out).unwrap(),
        Parsed::Info("resubscribed order_book 0".into())
    );
    assert_eq!(out.len(), 2, "{out:?}");
    let Data::Status(s) = &out[0].data else {
        panic!("{:?}", out[0])
    };
    assert_eq!(s.event, StatusEvent::Resynced);
    assert_eq!(
        json(&out[1]),
        r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1766434223000000000,"ts_recv":1766434222600000000,"seq":4037957300,"id":"lighter.perp.ETH-USDC-PERP.book.snap.4037957300","kind":"book","bids":[["3329.5","3"]],"asks":[["3330","2"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#
    );
    assert!(p.book("0").unwrap().is_synced());
    assert_eq!(p.book("0").unwrap().gaps(), 1);
    assert_eq!(p.book("1").unwrap().gaps(), 0);
}

#[test]
fn an_update_before_any_snapshot_is_a_gap() {
    let mut p = parser(&[Channel::Book]);
    let mut out = Vec::new();
    assert_eq!(p.parse(BTC_UPDATE, TS, &mut out).unwrap(), Parsed::Data);
    assert_eq!(out.len(), 1);
    testing::assert_gap(&out[0], None, Some(7000));
    assert_eq!(
        p.resubscribe(),
        vec![
            r#"{"channel":"order_book/1","type":"unsubscribe"}"#,
            r#"{"channel":"order_book/1","type":"subscribe"}"#,
        ]
    );
}

#[test]
fn a_duplicate_subscribe_during_a_resync_asks_for_it_again() {
    let mut p = parser(&[Channel::Book]);
    let mut out = Vec::new();
    p.parse(BOOK_SNAPSHOT, TS, &mut out).unwrap();
    p.parse(BOOK_BROKEN, TS, &mut out).unwrap();
    assert_eq!(p.resubscribe().len(), 2);
    assert_eq!(
        p.parse(ERR_ALREADY, TS, &mut out).unwrap(),
        Parsed::Info("30003 Already Subscribed to : order_book:0".into())
    );
    // Throttled: not before 5 s after the last request.
    assert!(p.resubscribe().is_empty());
    p.parse(CONNECTED, TS + 6_000_000_000, &mut out).unwrap();
    assert_eq!(p.resubscribe().len(), 2);
}

#[test]
fn trades_carry_the_taker_side_and_liquidations() {
    let mut p = parser(&[Channel::Trade, Channel::Liquidation]);
    assert_table(
        &mut p,
        TS,
        &[
            // The replay on subscription is the acknowledgement, not republished.
            (
                TRADE_REPLAY,
                Parsed::Acked(Answer::Topic("trade:0".into())),
                &[],
            ),
            (
                TRADE_DOC,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1722339648000000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.trade.14035051","kind":"trade","price":"3335.65","size":"0.1187","side":"sell","trade_id":"14035051"}"#,
                ],
            ),
            (
                TRADE_NOW,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1773854156654000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.trade.16164557907","kind":"trade","price":"2181.83","size":"0.1336","side":"buy","trade_id":"16164557907"}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1773854156700000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.trade.16164557910","kind":"trade","price":"2180.1","size":"2.5","side":"sell","trade_id":"16164557910"}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1773854156700000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.liquidation.16164557910","kind":"liquidation","price":"2180.1","size":"2.5","side":"sell"}"#,
                ],
            ),
        ],
    );
    // Without the trade channels, trade frames are not normalized.
    let mut books_only = parser(&[Channel::Book]);
    let mut out = Vec::new();
    assert_eq!(
        books_only.parse(TRADE_DOC, TS, &mut out).unwrap(),
        Parsed::Ignored("trade without the trade channel")
    );
    assert!(out.is_empty());
}

#[test]
fn market_stats_are_ticker_funding_open_interest_and_mark_price() {
    let mut p = parser(&[
        Channel::Ticker,
        Channel::Funding,
        Channel::OpenInterest,
        Channel::MarkPrice,
    ]);
    assert_table(
        &mut p,
        TS,
        &[
            (
                STATS_NOW,
                Parsed::Acked(Answer::Topic("market_stats:0".into())),
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1774883844933000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.ticker.1774883844933","kind":"ticker","last":"2064.5","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":null,"high_24h":"2398","low_24h":"2311.81","volume_24h":"199958.6931","quote_volume_24h":"471193598.847246"}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1774883844933000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.funding.1774883844933","kind":"funding","rate":"0.000002","predicted_rate":"0.000001","next_funding_ts":null}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1774883844933000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.open_interest.1774883844933","kind":"open_interest","open_interest":"27250.8411","open_interest_value":null}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":1774883844933000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.mark_price.1774883844933","kind":"mark_price","mark_price":"2064.47","index_price":"2064.48"}"#,
                ],
            ),
            // The reference's example has no timestamp: named by the receive time.
            (
                STATS_DOC,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":null,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.ticker.r1766434222600000000","kind":"ticker","last":"3335.65","bid_price":null,"bid_size":null,"ask_price":null,"ask_size":null,"open_24h":null,"high_24h":"3386.01","low_24h":"3265.13","volume_24h":"230206.48999999944","quote_volume_24h":"765295250.9804002"}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":null,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.funding.r1766434222600000000","kind":"funding","rate":"0.0005","predicted_rate":"0.0057","next_funding_ts":null}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":null,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.open_interest.r1766434222600000000","kind":"open_interest","open_interest":"235.25","open_interest_value":null}"#,
                    r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"ETH-USDC-PERP","native":"0","ts_exchange":null,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.ETH-USDC-PERP.mark_price.r1766434222600000000","kind":"mark_price","mark_price":"3335.09","index_price":"3335.04"}"#,
                ],
            ),
        ],
    );
    // Only the subscribed channels; `market_stats/all` maps market ids to objects.
    let mut marks = parser(&[Channel::MarkPrice]);
    let all = r#"{"channel":"market_stats:all","market_stats":{"1":{"market_id":1,"index_price":"88000.1","mark_price":"88000.2","open_interest":"10.5","last_trade_price":"88000.0","current_funding_rate":"0.0001","funding_rate":"0.0001","funding_timestamp":1774879200000},"36":{"market_id":36,"index_price":"0.2","mark_price":"0.2"}},"timestamp":1774883844933,"type":"update/market_stats"}"#;
    let mut out = Vec::new();
    assert_eq!(marks.parse(all, TS, &mut out).unwrap(), Parsed::Data);
    let got: Vec<String> = out.iter().map(json).collect();
    assert_eq!(
        got,
        [
            r#"{"v":1,"exchange":"lighter","market":"perp","symbol":"BTC-USDC-PERP","native":"1","ts_exchange":1774883844933000000,"ts_recv":1766434222600000000,"seq":null,"id":"lighter.perp.BTC-USDC-PERP.mark_price.1774883844933","kind":"mark_price","mark_price":"88000.2","index_price":"88000.1"}"#
        ]
    );
}

#[test]
fn control_frames_acks_refusals_and_heartbeats() {
    let mut p = parser(&[Channel::Book, Channel::Trade]);
    assert_table(
        &mut p,
        TS,
        &[
            (CONNECTED, Parsed::Info("connected".into()), &[]),
            (r#"{"type":"pong"}"#, Parsed::Heartbeat, &[]),
            (
                ERR_INVALID,
                Parsed::Refused(Refusal {
                    answer: Some(Answer::InOrder),
                    symbols: vec![],
                    reason: "30005 Invalid Channel:  (marketId)".into(),
                }),
                &[],
            ),
            (
                ERR_TOO_MANY,
                Parsed::Refused(Refusal::unattributed("30009 Too Many Websocket Messages!")),
                &[],
            ),
            // A duplicate subscription is in place: it confirms its channel.
            (
                ERR_ALREADY,
                Parsed::Acked(Answer::Topic("order_book:0".into())),
                &[],
            ),
            (
                ERR_TYPED,
                Parsed::Refused(Refusal::of(
                    Answer::Topic("order_book:1".into()),
                    vec!["1".into()],
                    "30012 failed to subscribe",
                )),
                &[],
            ),
            (
                r#"{"type":"subscribed","channel":"trade:1"}"#,
                Parsed::Acked(Answer::Topic("trade:1".into())),
                &[],
            ),
            (
                r#"{"channel":"height","height":301813997,"timestamp":1785252531621,"type":"update/height"}"#,
                Parsed::Ignored("a Lighter channel tickbridge does not subscribe"),
                &[],
            ),
        ],
    );
    assert_eq!(p.reply(), None, "a pong needs no answer");
    // A server ping is answered with a pong, once.
    let mut out = Vec::new();
    assert_eq!(
        p.parse(r#"{"type":"ping"}"#, TS, &mut out).unwrap(),
        Parsed::Heartbeat
    );
    assert_eq!(p.reply().as_deref(), Some(r#"{"type":"pong"}"#));
    assert_eq!(p.reply(), None);
    // Malformed and unknown frames are errors, not silence.
    assert!(matches!(
        p.parse(r#"{"type":"what"}"#, TS, &mut out),
        Err(ParseError::Unknown(_))
    ));
    assert!(matches!(
        p.parse(r#"{"foo":1}"#, TS, &mut out),
        Err(ParseError::Unknown(_))
    ));
    assert!(matches!(
        p.parse("[1,2", TS, &mut out),
        Err(ParseError::Malformed(_))
    ));
    assert!(matches!(
        p.parse(
            r#"{"channel":"order_book:0","order_book":{"code":0,"asks":[{"price":"x","size":"1"}],"bids":[],"nonce":1,"begin_nonce":0},"type":"subscribed/order_book"}"#,
            TS,
            &mut out
        ),
        Err(ParseError::Invalid { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn frames_of_markets_the_connection_did_not_plan_are_ignored() {
    let mut p = Lighter::new_parser(&plan_of(
        &[Channel::Book, Channel::Trade, Channel::MarkPrice],
        vec![Lighter.symbol(Market::Perp, "1").unwrap()],
    ));
    let mut out = Vec::new();
    for f in [BOOK_SNAPSHOT, TRADE_DOC, STATS_DOC] {
        assert_eq!(p.parse(f, TS, &mut out).unwrap(), NOT_PLANNED, "{f}");
    }
    assert!(out.is_empty());
    // A recording (no planned symbols) takes every market; unknown ids are named by id.
    let mut any = Lighter::new_parser(&ConnectionPlan::for_frames(WS_URL, Market::Perp));
    let crv = r#"{"channel":"order_book:36","offset":415803,"order_book":{"code":0,"asks":[{"price":"0.20382","size":"7816.7"}],"bids":[{"price":"0.20351","size":"7673.9"}],"offset":415803,"nonce":18032383898,"begin_nonce":0},"timestamp":1785358811976,"type":"subscribed/order_book"}"#;
    assert_eq!(
        any.parse(crv, TS, &mut out).unwrap(),
        Parsed::Acked(Answer::Topic("order_book:36".into()))
    );
    assert_eq!(
        (out[0].symbol.as_str(), out[0].native.as_str()),
        ("36", "36")
    );
}

const DETAILS: &str = r#"{"code":200,"order_book_details":[{"symbol":"ETH","market_id":0,"market_type":"perp","base_asset_id":0,"quote_asset_id":0,"status":"active","taker_fee":"0.0000","is_taker_fee_enabled":true,"maker_fee":"0.0000","is_maker_fee_enabled":true,"liquidation_fee":"1.0000","min_base_amount":"0.0050","min_quote_amount":"10.000000","order_quote_limit":"281474976.710655","supported_size_decimals":4,"supported_price_decimals":2,"supported_quote_decimals":6,"size_decimals":4,"price_decimals":2,"quote_multiplier":1,"default_initial_margin_fraction":500,"min_initial_margin_fraction":200,"maintenance_margin_fraction":120,"closeout_margin_fraction":80,"last_trade_price":2361.31,"daily_trades_count":428074,"daily_base_token_volume":195399.1521,"daily_quote_token_volume":460664167.955905,"daily_price_low":2313.36,"daily_price_high":2398,"daily_price_change":-0.5215684126709949,"open_interest":27350.8981,"daily_chart":{},"market_config":{"market_margin_mode":0,"insurance_fund_account_index":281474976710655,"liquidation_mode":0,"force_reduce_only":false,"trading_hours":"","funding_fee_discounts_enabled":false,"hidden":false,"rfq_enabled":true},"strategy_index":2},{"symbol":"BTC","market_id":1,"market_type":"perp","status":"active","size_decimals":5,"price_decimals":1},{"symbol":"CRV","market_id":36,"market_type":"perp","status":"active","supported_size_decimals":1,"supported_price_decimals":5},{"symbol":"HYUNDAI","market_id":141,"market_type":"perp","status":"inactive","size_decimals":6,"price_decimals":0}],"spot_order_book_details":[{"symbol":"ETH/USDC","market_id":2048,"market_type":"spot","status":"active","size_decimals":4,"price_decimals":2}]}"#;

#[test]
fn instruments_are_the_perpetuals_of_order_book_details() {
    let list = Lighter
        .parse_instruments(Market::Perp, "", DETAILS)
        .unwrap();
    let perp = |b, (tick, lot), status| Instrument {
        contract_size: testing::d("1"),
        ..testing::instrument((b, "USDC", Some("USDC")), (tick, lot), status)
    };
    use tickbridge_schema::Instrument;
    assert_eq!(
        rows(&list),
        vec![
            (
                "0",
                "ETH-USDC-PERP",
                Market::Perp,
                &perp("ETH", ("0.01", "0.0001"), InstrumentStatus::Trading)
            ),
            (
                "1",
                "BTC-USDC-PERP",
                Market::Perp,
                &perp("BTC", ("0.1", "0.00001"), InstrumentStatus::Trading)
            ),
            (
                "36",
                "CRV-USDC-PERP",
                Market::Perp,
                &perp("CRV", ("0.00001", "0.1"), InstrumentStatus::Trading)
            ),
            (
                "141",
                "HYUNDAI-USDC-PERP",
                Market::Perp,
                &perp("HYUNDAI", ("1", "0.000001"), InstrumentStatus::Halted)
            ),
        ]
    );
    // Users write the normalized symbol or the market id.
    let listed = crate::instruments::InstrumentList::new(list).unwrap();
    for user in ["BTC-USDC-PERP", "btc-usdc-perp", "1"] {
        assert!(
            matches!(
                listed.lookup(Market::Perp, user),
                crate::instruments::Lookup::Found(x) if x.symbol.native == "1"
            ),
            "{user}"
        );
    }
    assert!(Lighter
        .parse_instruments(Market::Spot, "", DETAILS)
        .unwrap()
        .is_empty());
    assert!(Lighter
        .parse_instruments(
            Market::Perp,
            "",
            r#"{"code":20001,"message":"invalid param"}"#
        )
        .is_err());
}

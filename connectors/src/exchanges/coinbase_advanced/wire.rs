//! Coinbase Advanced Trade market-data WebSocket wire types, each with the raw JSON it
//! parses. Every message shares one envelope with a connection-wide `sequence_num`.

use serde::Deserialize;
use serde_json::value::RawValue;

/// The envelope of every message:
///
/// `{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":0,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":"3049"}]}`
///
/// Errors come without the envelope: `{"type":"error","message":"failure to subscribe"}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(default, borrow)]
    pub channel: Option<&'a str>,
    #[serde(default, borrow)]
    pub timestamp: Option<&'a str>,
    #[serde(default)]
    pub sequence_num: Option<u64>,
    #[serde(default, borrow)]
    pub events: Option<&'a RawValue>,
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<&'a str>,
    #[serde(default)]
    pub message: Option<String>,
}

/// A `market_trades` event (`snapshot` of recent trades on subscribing, then
/// `update`s; `side` is the taker's side):
///
/// `{"type":"update","trades":[{"trade_id":"963696120","product_id":"BTC-USD","price":"67231.87","size":"0.003","side":"BUY","time":"2026-02-18T16:42:26.685302Z"}]}`
#[derive(Debug, Deserialize)]
pub struct TradesEvent<'a> {
    #[serde(borrow)]
    pub trades: Vec<MarketTrade<'a>>,
}

/// See [`TradesEvent`].
#[derive(Debug, Deserialize)]
pub struct MarketTrade<'a> {
    #[serde(borrow)]
    pub trade_id: &'a str,
    #[serde(borrow)]
    pub product_id: &'a str,
    #[serde(borrow)]
    pub price: &'a str,
    #[serde(borrow)]
    pub size: &'a str,
    #[serde(borrow)]
    pub side: &'a str,
    #[serde(borrow)]
    pub time: &'a str,
}

/// A `ticker` (or `ticker_batch`) event:
///
/// `{"type":"update","tickers":[{"type":"ticker","product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938","low_24_h":"21835.29","high_24_h":"23011.18","low_52_w":"15460","high_52_w":"48240","price_percent_chg_24_h":"-4.15775596190603","best_bid":"21931.98","best_bid_quantity":"8000.21","best_ask":"21933.98","best_ask_quantity":"8038.07770142"}]}`
#[derive(Debug, Deserialize)]
pub struct TickerEvent<'a> {
    #[serde(borrow)]
    pub tickers: Vec<Ticker<'a>>,
}

/// See [`TickerEvent`].
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(borrow)]
    pub product_id: &'a str,
    #[serde(default, borrow)]
    pub price: Option<&'a str>,
    #[serde(default, borrow)]
    pub volume_24_h: Option<&'a str>,
    #[serde(default, borrow)]
    pub low_24_h: Option<&'a str>,
    #[serde(default, borrow)]
    pub high_24_h: Option<&'a str>,
    #[serde(default, borrow)]
    pub best_bid: Option<&'a str>,
    #[serde(default, borrow)]
    pub best_bid_quantity: Option<&'a str>,
    #[serde(default, borrow)]
    pub best_ask: Option<&'a str>,
    #[serde(default, borrow)]
    pub best_ask_quantity: Option<&'a str>,
}

/// A `level2` event (the channel arrives as `l2_data`): `snapshot` then `update`s;
/// `side` is `bid` or `offer`, `new_quantity` the absolute size ("0" removes):
///
/// `{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2023-02-09T20:32:50.714964855Z","price_level":"21921.73","new_quantity":"0.06317902"}]}`
#[derive(Debug, Deserialize)]
pub struct L2Event<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    #[serde(borrow)]
    pub product_id: &'a str,
    #[serde(borrow)]
    pub updates: Vec<L2Update<'a>>,
}

/// See [`L2Event`].
#[derive(Debug, Deserialize)]
pub struct L2Update<'a> {
    #[serde(borrow)]
    pub side: &'a str,
    #[serde(default, borrow)]
    pub event_time: Option<&'a str>,
    #[serde(borrow)]
    pub price_level: &'a str,
    #[serde(borrow)]
    pub new_quantity: &'a str,
}

/// The `subscriptions` event confirming the channels now subscribed (sent after every
/// subscribe and unsubscribe):
///
/// `{"subscriptions":{"level2":["BTC-USD"],"heartbeats":["heartbeats"]}}`
#[derive(Debug, Deserialize)]
pub struct SubscriptionsEvent {
    pub subscriptions: std::collections::BTreeMap<String, Vec<String>>,
}

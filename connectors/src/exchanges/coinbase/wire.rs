//! Coinbase Exchange feed wire types. Every message is an object tagged by `type`.

use serde::Deserialize;
use tickbridge_schema::Dec;

/// `{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}`
/// (`last_match`, the first message after subscribing, has the same shape.)
/// `side` is the **maker's** side.
#[derive(Debug, Deserialize)]
pub struct Match<'a> {
    pub trade_id: u64,
    pub sequence: Option<u64>,
    pub time: &'a str,
    pub product_id: &'a str,
    pub size: Dec,
    pub price: Dec,
    pub side: &'a str,
}

/// `{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22","open_24h":"1310.79","volume_24h":"245532.79269678","low_24h":"1280.52","high_24h":"1313.8","volume_30d":"9788783.60117027","best_bid":"1285.04","best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040","side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,"last_size":"11.4396987"}`
/// Older messages lack `best_bid_size`/`best_ask_size`; the first ticker after
/// subscribing may lack `time` and `trade_id`.
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    pub sequence: u64,
    pub product_id: &'a str,
    pub price: Option<Dec>,
    pub open_24h: Option<Dec>,
    pub volume_24h: Option<Dec>,
    pub low_24h: Option<Dec>,
    pub high_24h: Option<Dec>,
    pub best_bid: Option<Dec>,
    pub best_bid_size: Option<Dec>,
    pub best_ask: Option<Dec>,
    pub best_ask_size: Option<Dec>,
    pub time: Option<&'a str>,
}

/// `{"type":"snapshot","product_id":"BTC-USD","bids":[["10101.10","0.45054140"]],"asks":[["10102.55","0.57753524"]]}`
#[derive(Debug, Deserialize)]
pub struct Snapshot<'a> {
    pub product_id: &'a str,
    pub bids: Vec<(Dec, Dec)>,
    pub asks: Vec<(Dec, Dec)>,
}

/// `{"type":"l2update","product_id":"BTC-USD","time":"2019-08-14T20:42:27.265Z","changes":[["buy","10101.80000000","0.162567"]]}`
#[derive(Debug, Deserialize)]
pub struct L2Update<'a> {
    pub product_id: &'a str,
    pub time: &'a str,
    pub changes: Vec<(&'a str, Dec, Dec)>,
}

/// `{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}`
#[derive(Debug, Deserialize)]
pub struct Heartbeat<'a> {
    pub last_trade_id: u64,
    pub product_id: &'a str,
}

/// `{"type":"error","message":"Failed to subscribe","reason":"FOO-BAR is not a valid product"}`
#[derive(Debug, Deserialize)]
pub struct Error {
    pub message: String,
    pub reason: Option<String>,
}

/// `{"type":"subscriptions","channels":[{"name":"level2","product_ids":["BTC-USD"]}]}`
#[derive(Debug, Deserialize)]
pub struct Subscriptions {
    pub channels: Vec<SubscribedChannel>,
}

#[derive(Debug, Deserialize)]
pub struct SubscribedChannel {
    pub name: String,
    #[serde(default)]
    pub product_ids: Vec<String>,
}

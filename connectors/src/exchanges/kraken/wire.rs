//! Kraken spot WebSocket v2 wire types, each with the raw JSON it parses.
//!
//! Prices and quantities are JSON *numbers* carrying the engine's full precision
//! (`"price": 45285.2`, `"qty": 0.00100000`). They are kept as [`RawValue`]s — the
//! text exactly as sent — and turned into exact decimals from that text; the book
//! checksum needs the text itself (trailing zeros included).

use serde::Deserialize;
use serde_json::value::RawValue;

/// Every frame, tagged by `channel` (data, heartbeat, status) or `method` (replies):
///
/// `{"channel":"heartbeat"}`
/// `{"channel":"trade","type":"update","data":[...]}`
/// `{"method":"pong","req_id":0,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow)]
    pub channel: Option<&'a str>,
    #[serde(default, borrow)]
    pub method: Option<&'a str>,
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<&'a str>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    #[serde(default)]
    pub req_id: Option<u64>,
    #[serde(default)]
    pub symbol: Option<String>,
}

/// One trade of a `trade` snapshot or update:
///
/// `{"symbol":"MATIC/USD","side":"buy","price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"}`
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(borrow)]
    pub symbol: &'a str,
    #[serde(borrow)]
    pub side: &'a str,
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub qty: &'a RawValue,
    pub trade_id: u64,
    #[serde(borrow)]
    pub timestamp: &'a str,
}

/// One `ticker` element (level 1: best bid/offer and 24 h statistics):
///
/// `{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(borrow)]
    pub symbol: &'a str,
    #[serde(borrow)]
    pub bid: &'a RawValue,
    #[serde(borrow)]
    pub bid_qty: &'a RawValue,
    #[serde(borrow)]
    pub ask: &'a RawValue,
    #[serde(borrow)]
    pub ask_qty: &'a RawValue,
    #[serde(default, borrow)]
    pub last: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub volume: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub low: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub high: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub timestamp: Option<&'a str>,
}

/// One price level of a `book` message: `{"price":45283.5,"qty":0.10000000}`.
#[derive(Debug, Deserialize)]
pub struct Level<'a> {
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub qty: &'a RawValue,
}

/// The `book` element of a snapshot or update (the checksum covers the top 10 levels
/// of the book *after* applying it):
///
/// `{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.10000000}],"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":3310070434,"timestamp":"2023-10-06T17:35:55.440295Z"}`
#[derive(Debug, Deserialize)]
pub struct Book<'a> {
    #[serde(borrow)]
    pub symbol: &'a str,
    #[serde(default, borrow)]
    pub bids: Vec<Level<'a>>,
    #[serde(default, borrow)]
    pub asks: Vec<Level<'a>>,
    pub checksum: u32,
    #[serde(default, borrow)]
    pub timestamp: Option<&'a str>,
}

/// The `result` of a subscribe / unsubscribe acknowledgement (one per symbol):
///
/// `{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"ALGO/USD"},"success":true,"time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z","req_id":3}`
///
/// A refusal carries `error` instead:
/// `{"error":"Currency pair not supported BTC/XYZ","method":"subscribe","req_id":1,"success":false,"symbol":"BTC/XYZ","time_in":"2023-10-06T17:35:55.219022Z","time_out":"2023-10-06T17:35:55.219067Z"}`
#[derive(Debug, Deserialize)]
pub struct SubscribeResult {
    pub channel: String,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub depth: Option<usize>,
}

/// The `status` channel's element, sent on connect and on engine state changes:
///
/// `{"channel":"status","data":[{"api_version":"v2","connection_id":13834774380200032777,"system":"online","version":"2.0.0"}],"type":"update"}`
#[derive(Debug, Deserialize)]
pub struct Status {
    pub system: String,
    #[serde(default)]
    pub version: Option<String>,
}

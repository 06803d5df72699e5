//! Bitstamp WebSocket API v2 wire types. Every frame is an object
//! `{"event":..,"channel":..,"data":..}`; `data` is read in a second step once the
//! event and channel say what it is.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::Dec;

/// The envelope of every server frame, e.g.
/// `{"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}}`.
/// `channel` is `""` on connection-wide events (`bts:heartbeat`,
/// `bts:request_reconnect`, some `bts:error`s).
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    pub event: &'a str,
    #[serde(default)]
    pub channel: &'a str,
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
}

/// `live_trades_[pair]`, event `trade`:
/// `{"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000","price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000","buy_order_id":1443875737346049,"sell_order_id":1443875731320832},"channel":"live_trades_ethusd","event":"trade"}`
/// `type` is the taker's side: 0 = buy, 1 = sell. `price_str`/`amount_str` carry the
/// exact decimals (the bare numbers are floats and only a fallback).
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    pub id: u64,
    pub microtimestamp: &'a str,
    #[serde(default)]
    pub amount_str: Option<&'a str>,
    #[serde(default)]
    pub price_str: Option<&'a str>,
    #[serde(borrow, default)]
    pub amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub price: Option<&'a RawValue>,
    #[serde(rename = "type")]
    pub side: u8,
}

/// `order_book_[pair]` (the top 100 levels each message) and `diff_order_book_[pair]`
/// (changed levels, absolute sizes, `"0.00000000"` deletes), event `data`:
/// `{"data":{"timestamp":"1641343691","microtimestamp":"1641343691244908","bids":[["1.15979","993.02588113"],["1.14866","7758.51900928"]],"asks":[["1.16601","1200.00000000"]]},"channel":"diff_order_book_bateur","event":"data"}`
/// The REST snapshot `GET /api/v2/order_book/{pair}` has the same shape:
/// `{"timestamp":"1641343695","microtimestamp":"1641343695681418","bids":[["3802.90","0.60000000"]],"asks":[["3803.21","1.20000000"]]}`.
#[derive(Debug, Deserialize)]
pub struct BookData<'a> {
    pub microtimestamp: &'a str,
    pub bids: Vec<(Dec, Dec)>,
    pub asks: Vec<(Dec, Dec)>,
}

/// `bts:error`: `{"event":"bts:error","channel":"","data":{"code":null,"message":"Bad subscription string."}}`
#[derive(Debug, Deserialize)]
pub struct Error {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: String,
}

/// An error answer of the REST API: `{"status":"error","reason":"...","code":"..."}`
/// (the exact `reason` text varies; it is quoted in the stale reason).
#[derive(Debug, Deserialize)]
pub struct RestError {
    #[serde(default)]
    pub reason: Option<serde_json::Value>,
}

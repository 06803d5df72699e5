//! Hyperliquid WebSocket wire types. Every server message is one JSON object
//! `{"channel":"<name>","data":...}`; prices and sizes are decimal strings, times are
//! milliseconds since the epoch. The examples are the documents' (the "Websocket" and
//! "Subscriptions" pages of the Hyperliquid API docs), with the values of the
//! documents' TypeScript definitions filled in where the pages give types only.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What every frame is read as first: its `channel` and the raw `data`, e.g.
/// `{"channel":"pong"}` or `{"channel":"trades","data":[...]}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(borrow)]
    pub channel: &'a str,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

/// The subscription object of a request and of its acknowledgement:
/// `{"type":"trades","coin":"SOL"}`. Other fields (`nSigFigs`, `interval`, `user`) are
/// not used by tickbridge.
#[derive(Debug, Deserialize)]
pub struct Subscription<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    #[serde(default, borrow)]
    pub coin: Option<&'a str>,
}

/// The `data` of an acknowledgement (`channel` `subscriptionResponse`):
/// `{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"SOL"}}}`.
#[derive(Debug, Deserialize)]
pub struct SubscriptionResponse<'a> {
    #[serde(borrow)]
    pub method: &'a str,
    #[serde(borrow)]
    pub subscription: Subscription<'a>,
}

/// One `WsTrade` of a `trades` message:
/// `{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"97432.5","sz":"0.1","hash":"0x3f2a...","time":1735689600123,"tid":781355823460512,"users":["0xabc...","0xdef..."]}]}`.
/// `side` is the aggressor's (the taker's): `B` bid = bought, `A` ask = sold.
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(borrow)]
    pub coin: &'a str,
    #[serde(borrow)]
    pub side: &'a str,
    #[serde(borrow)]
    pub px: &'a str,
    #[serde(borrow)]
    pub sz: &'a str,
    pub time: i64,
    pub tid: u64,
}

/// One `WsLevel`: `{"px":"97432.5","sz":"1.2","n":3}` (`n` = number of orders).
#[derive(Debug, Deserialize)]
pub struct Level<'a> {
    #[serde(borrow)]
    pub px: &'a str,
    #[serde(borrow)]
    pub sz: &'a str,
}

/// `WsBook`, the data of an `l2Book` message: the whole top of the book (up to 20
/// levels a side), bids first, best first:
/// `{"channel":"l2Book","data":{"coin":"BTC","time":1735689600500,"levels":[[{"px":"97432","sz":"1.5","n":4}],[{"px":"97433","sz":"0.8","n":2}]]}}`.
#[derive(Debug, Deserialize)]
pub struct Book<'a> {
    #[serde(borrow)]
    pub coin: &'a str,
    pub time: i64,
    #[serde(borrow)]
    pub levels: (Vec<Level<'a>>, Vec<Level<'a>>),
}

/// `WsBbo`, the data of a `bbo` message (pushed on each block where the top changed;
/// either side may be `null`):
/// `{"channel":"bbo","data":{"coin":"BTC","time":1735689600400,"bbo":[{"px":"97432","sz":"1.5","n":4},{"px":"97433","sz":"0.8","n":2}]}}`.
#[derive(Debug, Deserialize)]
pub struct Bbo<'a> {
    #[serde(borrow)]
    pub coin: &'a str,
    pub time: i64,
    #[serde(borrow)]
    pub bbo: (Option<Level<'a>>, Option<Level<'a>>),
}

/// `WsActiveAssetCtx`, the data of an `activeAssetCtx` message (perps):
/// `{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"dayNtlVlm":"1169046.29406","prevDayPx":"95101.0","markPx":"97431.0","midPx":"97432.5","funding":"0.0000125","openInterest":"10432.57","oraclePx":"97440.0","premium":"-0.00008","impactPxs":["97431.0","97434.0"],"dayBaseVlm":"12.35"}}}`,
/// and of `activeSpotAssetCtx` (spot: no funding, open interest or oracle price, but
/// the supplies):
/// `{"channel":"activeSpotAssetCtx","data":{"coin":"@107","ctx":{"dayNtlVlm":"8906.0","prevDayPx":"0.22916","markPx":"0.22923","midPx":"0.229235","circulatingSupply":"598274922.83","coin":"@107","totalSupply":"607750010.45","dayBaseVlm":"38986.0"}}}`.
#[derive(Debug, Deserialize)]
pub struct ActiveAssetCtx<'a> {
    #[serde(borrow)]
    pub coin: &'a str,
    #[serde(borrow)]
    pub ctx: AssetCtx<'a>,
}

/// The `ctx` of [`ActiveAssetCtx`] (perp fields optional, so spot contexts read too).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetCtx<'a> {
    #[serde(default, borrow)]
    pub day_ntl_vlm: Option<&'a str>,
    #[serde(default, borrow)]
    pub prev_day_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub mark_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub funding: Option<&'a str>,
    #[serde(default, borrow)]
    pub open_interest: Option<&'a str>,
    #[serde(default, borrow)]
    pub oracle_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub day_base_vlm: Option<&'a str>,
}

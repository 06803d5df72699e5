//! Bybit v5 public WebSocket wire types, each with the raw JSON it parses. Prices and
//! sizes are decimal strings.

use serde::Deserialize;
use serde_json::value::RawValue;

/// Every frame: a topic push or an `op` reply.
///
/// `{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[...]}`
/// `{"success":true,"ret_msg":"subscribe","conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"1","op":"subscribe"}`
/// `{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}`
/// `{"args":["1672916271846"],"op":"pong"}` (option / spread pong)
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow)]
    pub topic: Option<&'a str>,
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<&'a str>,
    #[serde(default)]
    pub ts: Option<i64>,
    /// Matching-engine time of book pushes.
    #[serde(default)]
    pub cts: Option<i64>,
    /// Cross sequence of ticker pushes.
    #[serde(default)]
    pub cs: Option<u64>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub ret_msg: Option<String>,
    #[serde(default, borrow)]
    pub op: Option<&'a str>,
    #[serde(default)]
    pub req_id: Option<String>,
}

/// One trade of `publicTrade.{symbol}` (`S` is the taker side, `i` the trade id):
///
/// `{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}`
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(rename = "T")]
    pub time: i64,
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    #[serde(rename = "S", borrow)]
    pub side: &'a str,
    #[serde(rename = "v", borrow)]
    pub size: &'a str,
    #[serde(rename = "p", borrow)]
    pub price: &'a str,
    #[serde(rename = "i", borrow)]
    pub id: &'a str,
    /// Per-symbol trade sequence (newer pushes).
    #[serde(default)]
    pub seq: Option<u64>,
}

/// `orderbook.{depth}.{symbol}` data (snapshot or delta; size "0" deletes; `u` is
/// consecutive per book, `u = 1` a fresh snapshot after a service restart):
///
/// `{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724}`
#[derive(Debug, Deserialize)]
pub struct Book<'a> {
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    #[serde(rename = "b", borrow)]
    pub bids: Vec<(&'a str, &'a str)>,
    #[serde(rename = "a", borrow)]
    pub asks: Vec<(&'a str, &'a str)>,
    #[serde(rename = "u")]
    pub update_id: u64,
    #[serde(default)]
    pub seq: Option<u64>,
}

/// `tickers.{symbol}` data. Linear/inverse pushes a snapshot, then deltas carrying
/// only the fields that changed; spot pushes snapshots without bid/ask or derivative
/// fields:
///
/// `{"symbol":"BTCUSDT","tickDirection":"PlusTick","price24hPcnt":"0.017103","lastPrice":"17216.00","prevPrice24h":"16926.50","highPrice24h":"17281.50","lowPrice24h":"16915.00","prevPrice1h":"17238.00","markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761","openInterestValue":"1183601235.91","turnover24h":"1570383121.943499","volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212","bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"}`
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker<'a> {
    #[serde(borrow)]
    pub symbol: &'a str,
    #[serde(default, borrow)]
    pub last_price: Option<&'a str>,
    #[serde(default, borrow)]
    pub prev_price24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub high_price24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub low_price24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub mark_price: Option<&'a str>,
    #[serde(default, borrow)]
    pub index_price: Option<&'a str>,
    #[serde(default, borrow)]
    pub open_interest: Option<&'a str>,
    #[serde(default, borrow)]
    pub open_interest_value: Option<&'a str>,
    #[serde(default, borrow)]
    pub turnover24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub volume24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub next_funding_time: Option<&'a str>,
    #[serde(default, borrow)]
    pub funding_rate: Option<&'a str>,
    #[serde(default, borrow)]
    pub bid1_price: Option<&'a str>,
    #[serde(default, borrow)]
    pub bid1_size: Option<&'a str>,
    #[serde(default, borrow)]
    pub ask1_price: Option<&'a str>,
    #[serde(default, borrow)]
    pub ask1_size: Option<&'a str>,
}

/// One liquidation of `allLiquidation.{symbol}` (`S` is the *position* side: `Buy`
/// means a long was liquidated; `p` the bankruptcy price):
///
/// `{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}`
#[derive(Debug, Deserialize)]
pub struct Liquidation<'a> {
    #[serde(rename = "T")]
    pub time: i64,
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    #[serde(rename = "S", borrow)]
    pub side: &'a str,
    #[serde(rename = "v", borrow)]
    pub size: &'a str,
    #[serde(rename = "p", borrow)]
    pub price: &'a str,
}

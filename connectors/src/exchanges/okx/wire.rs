//! OKX v5 public WebSocket wire types, each with the raw JSON it parses. Prices and
//! sizes are decimal strings; sequence ids and checksums are JSON numbers.

use serde::Deserialize;
use serde_json::value::RawValue;

/// Every JSON frame: a push (`arg` + `data`) or an event (`event`). The text frame
/// `pong` (answer to the client's `ping`) is not JSON and is classified before.
///
/// `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[...]}`
/// `{"id":"1512","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}`
/// `{"id":"1512","event":"error","code":"60012","msg":"Invalid request: ...","connId":"a4d3ae55"}`
/// `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, borrow)]
    pub event: Option<&'a str>,
    #[serde(default)]
    pub arg: Option<Arg>,
    #[serde(default, borrow)]
    pub action: Option<&'a str>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub msg: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
}

/// A subscription argument: `{"channel":"books","instId":"BTC-USDT"}` or
/// `{"channel":"liquidation-orders","instType":"SWAP"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub channel: String,
    #[serde(default)]
    pub inst_id: Option<String>,
    #[serde(default)]
    pub inst_type: Option<String>,
}

/// One push of `trades` (`side` is the taker's; one message per taker order, price and
/// source, `count` trades aggregated, `tradeId` the last of them):
///
/// `{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0","seqId":1234}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trade<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub trade_id: &'a str,
    #[serde(borrow)]
    pub px: &'a str,
    #[serde(borrow)]
    pub sz: &'a str,
    #[serde(borrow)]
    pub side: &'a str,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One order-book push of `books` (snapshot then updates), `books5` (snapshots) or
/// `bbo-tbt` (1 level). Levels are `[price, size, "0", orders]`; `checksum` is
/// deprecated (0 in production since 2026-06-23; older recordings carry real values),
/// `prevSeqId` is -1 on snapshots:
///
/// `{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":0,"prevSeqId":123456,"seqId":123457}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Book<'a> {
    #[serde(default, borrow)]
    pub asks: Vec<Vec<&'a str>>,
    #[serde(default, borrow)]
    pub bids: Vec<Vec<&'a str>>,
    #[serde(borrow)]
    pub ts: &'a str,
    #[serde(default)]
    pub checksum: Option<i64>,
    #[serde(default)]
    pub prev_seq_id: Option<i64>,
    #[serde(default)]
    pub seq_id: Option<i64>,
}

/// One push of `tickers`:
///
/// `{"instType":"SWAP","instId":"LTC-USD-SWAP","last":"9999.99","lastSz":"1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"0.1","sodUtc8":"0.1","ts":"1597026383085"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(default, borrow)]
    pub last: Option<&'a str>,
    #[serde(default, borrow)]
    pub ask_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub ask_sz: Option<&'a str>,
    #[serde(default, borrow)]
    pub bid_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub bid_sz: Option<&'a str>,
    #[serde(default, borrow)]
    pub open24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub high24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub low24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub vol_ccy24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub vol24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub inst_type: Option<&'a str>,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One push of `funding-rate` (`nextFundingRate` is no longer supported and "" when
/// absent; `fundingTime` is when the current rate settles):
///
/// `{"formulaType":"noRate","fundingRate":"0.0001875391284828","fundingTime":"1700726400000","impactValue":"","instId":"BTC-USD-SWAP","instType":"SWAP","interestRate":"","method":"current_period","maxFundingRate":"0.00375","minFundingRate":"-0.00375","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.0001233824646391","settFundingRate":"0.0001699799259033","settState":"settled","ts":"1700724675402"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingRate<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub funding_rate: &'a str,
    #[serde(default, borrow)]
    pub next_funding_rate: Option<&'a str>,
    #[serde(default, borrow)]
    pub funding_time: Option<&'a str>,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One push of `open-interest` (`oi` in contracts, `oiCcy` in coin, `oiUsd` in USD):
///
/// `{"instType":"SWAP","instId":"LTC-USD-SWAP","oi":"5000","oiCcy":"555.55","oiUsd":"50000","ts":"1597026383085"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInterest<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub oi: &'a str,
    #[serde(default, borrow)]
    pub oi_usd: Option<&'a str>,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One push of `mark-price`:
///
/// `{"instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkPrice<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub mark_px: &'a str,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One element of `liquidation-orders` (subscribed per instrument type; `side` is the
/// liquidation order's side, `bkPx` the bankruptcy price, `sz` in contracts):
///
/// `{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Liquidations<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub details: Vec<LiquidationDetail<'a>>,
}

/// See [`Liquidations`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiquidationDetail<'a> {
    #[serde(default, borrow)]
    pub side: Option<&'a str>,
    #[serde(default, borrow)]
    pub bk_px: Option<&'a str>,
    #[serde(borrow)]
    pub sz: &'a str,
    #[serde(borrow)]
    pub ts: &'a str,
}

//! Binance wire types: the `data` objects of the market streams, spot and futures.
//! Each type carries an example of the raw JSON it parses. Fields we do not use are
//! not declared (serde skips them), so new fields never break parsing.

use serde::Deserialize;
use tickbridge_schema::Dec;

/// `<symbol>@trade`. Spot:
/// `{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}`
/// Futures add `"X":"MARKET"` and drop `M`.
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "t")]
    pub trade_id: u64,
    #[serde(rename = "p")]
    pub price: Dec,
    #[serde(rename = "q")]
    pub qty: Dec,
    #[serde(rename = "T")]
    pub trade_time: i64,
    /// Buyer is the maker: the taker sold.
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

/// `<symbol>@aggTrade`:
/// `{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}`
#[derive(Debug, Deserialize)]
pub struct AggTrade<'a> {
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "a")]
    pub agg_id: u64,
    #[serde(rename = "p")]
    pub price: Dec,
    #[serde(rename = "q")]
    pub qty: Dec,
    #[serde(rename = "T")]
    pub trade_time: i64,
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

/// `<symbol>@bookTicker`. Spot has no event time:
/// `{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}`
/// Futures:
/// `{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}`
#[derive(Debug, Deserialize)]
pub struct BookTicker<'a> {
    #[serde(rename = "u")]
    pub update_id: u64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "b")]
    pub bid_price: Dec,
    #[serde(rename = "B")]
    pub bid_qty: Dec,
    #[serde(rename = "a")]
    pub ask_price: Dec,
    #[serde(rename = "A")]
    pub ask_qty: Dec,
    /// Transaction time (futures only).
    #[serde(rename = "T")]
    pub time: Option<i64>,
}

/// `<symbol>@depth` / `@depth@100ms` diff. Spot:
/// `{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"]]}`
/// Futures add `"T"` (transaction time) and `"pu"` (the previous diff's `u`); COIN-M
/// also `"ps"` (the pair):
/// `{"e":"depthUpdate","E":1723161257440,"T":1723161257432,"s":"BTCUSD_PERP","ps":"BTCUSD","U":1007198631260,"u":1007198631565,"pu":1007198631198,"b":[["61773.6","1001"]],"a":[["61805.0","0"]]}`
#[derive(Debug, Deserialize)]
pub struct DepthUpdate<'a> {
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "T")]
    pub time: Option<i64>,
    #[serde(rename = "U")]
    pub first_update_id: u64,
    #[serde(rename = "u")]
    pub final_update_id: u64,
    #[serde(rename = "pu")]
    pub prev_final_update_id: Option<u64>,
    #[serde(rename = "b")]
    pub bids: Vec<(Dec, Dec)>,
    #[serde(rename = "a")]
    pub asks: Vec<(Dec, Dec)>,
}

/// REST `GET /api/v3/depth` (spot) / `/fapi/v1/depth` / `/dapi/v1/depth` snapshot:
/// `{"lastUpdateId":499869752,"bids":[["0.35210000","672.00000000"]],"asks":[["0.35290000","1.00000000"]]}`
/// Futures add `"E"`, `"T"` (and COIN-M `"symbol"`, `"pair"`):
/// `{"lastUpdateId":1007198635033,"E":1723161257835,"T":1723161257823,"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["61804.7","35"]],"asks":[["61804.8","1200"]]}`
#[derive(Debug, Deserialize)]
pub struct DepthSnapshot {
    #[serde(rename = "lastUpdateId")]
    pub last_update_id: u64,
    /// Transaction time (futures).
    #[serde(rename = "T")]
    pub time: Option<i64>,
    /// The contract (COIN-M only), checked against the request.
    pub symbol: Option<String>,
    pub bids: Vec<(Dec, Dec)>,
    pub asks: Vec<(Dec, Dec)>,
}

/// `<symbol>@ticker` (24 h rolling). Spot:
/// `{"e":"24hrTicker","E":1672515782136,"s":"BNBBTC","p":"0.0015","P":"250.00","w":"0.0018","x":"0.0009","c":"0.0025","Q":"10","b":"0.0024","B":"10","a":"0.0026","A":"100","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}`
/// Futures omit `b`,`B`,`a`,`A`.
#[derive(Debug, Deserialize)]
pub struct Ticker24h<'a> {
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "c")]
    pub last: Dec,
    #[serde(rename = "o")]
    pub open: Dec,
    #[serde(rename = "h")]
    pub high: Dec,
    #[serde(rename = "l")]
    pub low: Dec,
    #[serde(rename = "v")]
    pub volume: Dec,
    #[serde(rename = "q")]
    pub quote_volume: Dec,
    #[serde(rename = "b")]
    pub bid_price: Option<Dec>,
    #[serde(rename = "B")]
    pub bid_qty: Option<Dec>,
    #[serde(rename = "a")]
    pub ask_price: Option<Dec>,
    #[serde(rename = "A")]
    pub ask_qty: Option<Dec>,
}

/// Futures `<symbol>@markPrice@1s`:
/// `{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}`
/// Delivery contracts send `"r":""` and `"T":0` (no funding).
#[derive(Debug, Deserialize)]
pub struct MarkPriceUpdate<'a> {
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "p")]
    pub mark_price: Dec,
    #[serde(rename = "i", default)]
    pub index_price: Option<&'a str>,
    #[serde(rename = "r", default)]
    pub funding_rate: Option<&'a str>,
    #[serde(rename = "T", default)]
    pub next_funding_time: Option<i64>,
}

/// Futures `<symbol>@forceOrder` (liquidation):
/// `{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}`
#[derive(Debug, Deserialize)]
pub struct ForceOrder<'a> {
    #[serde(rename = "o", borrow)]
    pub order: ForceOrderDetail<'a>,
}

#[derive(Debug, Deserialize)]
pub struct ForceOrderDetail<'a> {
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "S")]
    pub side: &'a str,
    #[serde(rename = "q")]
    pub qty: Dec,
    /// Average fill price; `p` is the order's limit price.
    #[serde(rename = "ap")]
    pub avg_price: Dec,
    #[serde(rename = "T")]
    pub trade_time: i64,
}

/// The combined-stream wrapper: `{"stream":"btcusdt@trade","data":{...}}`.
#[derive(Debug, Deserialize)]
pub struct Combined<T> {
    pub data: T,
}

/// A reply to a client request (SUBSCRIBE, LIST_SUBSCRIPTIONS):
/// `{"result":null,"id":1}`; or an error:
/// `{"error":{"code":2,"msg":"Invalid request: unknown variant"},"id":1}` /
/// `{"code":1,"msg":"Invalid value type: expected Boolean","id":1}`.
#[derive(Debug, Deserialize)]
pub struct Reply {
    pub id: Option<serde_json::Value>,
    pub result: Option<serde_json::Value>,
    pub error: Option<ReplyError>,
    pub code: Option<i64>,
    pub msg: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ReplyError {
    pub code: i64,
    pub msg: String,
}

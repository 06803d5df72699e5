//! BitMEX Realtime API wire types. Every server frame is a JSON object: a table push
//! `{"table":..,"action":..,"data":[..]}`, or a control message (welcome `info`,
//! `success` answers, `error`s); the keepalive answer is the bare text `pong`. Rows
//! are read in a second step once the table says what they are.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Any server frame but `pong`: the fields of a table push and of the control
/// messages, all optional; which are present says what the frame is.
///
/// A table push (`partial` also carries `keys`, `types`, `filter`, ...):
/// `{"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,"price":17.297,"tickDirection":"PlusTick","trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","grossValue":899444,"homeNotional":16.73101673101673,"foreignNotional":289.39639639639637}]}`
///
/// The welcome on connect:
/// `{"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z","timestamp":"2021-07-22T22:36:07.865Z","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":39}}`
///
/// One answer per subscribed topic:
/// `{"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe","args":["trade:XBTUSD"]}}`
///
/// A refused request:
/// `{"status":400,"error":"Unknown or expired symbol: FOOBAR","meta":{},"request":{"op":"subscribe","args":["trade:FOOBAR"]}}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow)]
    pub table: Option<&'a str>,
    #[serde(default, borrow)]
    pub action: Option<&'a str>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    pub subscribe: Option<String>,
    #[serde(default)]
    pub unsubscribe: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub info: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub request: Option<Request>,
}

/// The `filter` of a `partial`: `{"symbol":"XBTUSD"}` (names the symbol even when the
/// partial has no rows).
#[derive(Debug, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub symbol: Option<String>,
}

/// The request an answer or error echoes: `{"op":"subscribe","args":["trade:XBTUSD"]}`
/// (`args` may be a single string).
#[derive(Debug, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub op: Option<String>,
    #[serde(default)]
    pub args: Option<serde_json::Value>,
}

impl Request {
    /// The topics the request named, in order.
    pub fn args(&self) -> Vec<String> {
        match &self.args {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A `trade` row; `side` is the taker's:
/// `{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,"price":17.297,"tickDirection":"PlusTick","trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","grossValue":899444,"homeNotional":16.73101673101673,"foreignNotional":289.39639639639637}`
#[derive(Debug, Deserialize)]
pub struct TradeRow<'a> {
    pub timestamp: &'a str,
    pub symbol: &'a str,
    pub side: &'a str,
    #[serde(borrow)]
    pub size: &'a RawValue,
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(rename = "trdMatchID")]
    pub trd_match_id: &'a str,
}

/// A `quote` row (best bid and offer; an empty side is `null`):
/// `{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","bidSize":750,"bidPrice":17.277,"askPrice":17.297,"askSize":123}`
#[derive(Debug, Deserialize)]
pub struct QuoteRow<'a> {
    pub timestamp: &'a str,
    pub symbol: &'a str,
    #[serde(rename = "bidSize", default, borrow)]
    pub bid_size: Option<&'a RawValue>,
    #[serde(rename = "bidPrice", default, borrow)]
    pub bid_price: Option<&'a RawValue>,
    #[serde(rename = "askPrice", default, borrow)]
    pub ask_price: Option<&'a RawValue>,
    #[serde(rename = "askSize", default, borrow)]
    pub ask_size: Option<&'a RawValue>,
}

/// An `orderBookL2` row, keyed by (`symbol`, `id`, `side`). `partial` and `insert`
/// carry the price and size; `update` the new size (the price too in the current
/// API); `delete` only the key. Current rows also carry a `timestamp`:
/// `{"symbol":"SOLUSDT","id":54899972480,"side":"Sell","size":991,"price":27.52}`,
/// `{"symbol":"UNIUSDT","id":51999982703,"side":"Sell","size":123}`,
/// `{"symbol":"BCHUSD","id":40199991245,"side":"Buy"}`,
/// `{"symbol":"XBTUSD","id":8799973350,"side":"Sell","size":4900,"price":26650,"timestamp":"2023-03-16T10:12:13.301Z"}`
#[derive(Debug, Deserialize)]
pub struct BookRow<'a> {
    pub symbol: &'a str,
    pub id: u64,
    pub side: &'a str,
    #[serde(default, borrow)]
    pub size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub price: Option<&'a RawValue>,
    #[serde(default)]
    pub timestamp: Option<&'a str>,
}

/// A `liquidation` row (an order of the liquidation engine; `side` is the order's,
/// `leavesQty` what is left of it):
/// `{"orderID":"a9bc4e2c-51a3-9d6b-3c4d-0d0e8b6e0e1f","symbol":"XBTUSD","side":"Sell","price":29500.5,"leavesQty":2000}`
#[derive(Debug, Deserialize)]
pub struct LiquidationRow<'a> {
    #[serde(rename = "orderID")]
    pub order_id: &'a str,
    pub symbol: &'a str,
    #[serde(default)]
    pub side: Option<&'a str>,
    #[serde(default, borrow)]
    pub price: Option<&'a RawValue>,
    #[serde(rename = "leavesQty", default, borrow)]
    pub leaves_qty: Option<&'a RawValue>,
}

/// A `funding` row (a funding charge that happened):
/// `{"timestamp":"2021-07-22T20:00:00.000Z","symbol":"XBTUSD","fundingInterval":"2000-01-01T08:00:00.000Z","fundingRate":0.0001,"fundingRateDaily":0.0003}`
#[derive(Debug, Deserialize)]
pub struct FundingRow<'a> {
    pub timestamp: &'a str,
    pub symbol: &'a str,
    #[serde(rename = "fundingRate", borrow)]
    pub funding_rate: &'a RawValue,
}

/// An `instrument` row: every field on `partial`, only the changed ones (with
/// `symbol` and `timestamp`) on `update`, kept as raw JSON text per field:
/// `{"symbol":"XBTUSD","lastPrice":32110.5,"bidPrice":32110,"askPrice":32110.5,"markPrice":32115.38,"indicativeSettlePrice":32111.2,"openInterest":584012345,"fundingRate":0.0001,"indicativeFundingRate":0.0001,"fundingTimestamp":"2021-07-23T04:00:00.000Z","highPrice":32450,"lowPrice":31700,"prevPrice24h":31900,"homeNotional24h":12345.6789,"foreignNotional24h":398765432,"timestamp":"2021-07-22T22:36:10.000Z"}`
pub type InstrumentRow<'a> = HashMap<&'a str, &'a RawValue>;

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn control_frames() {
            let f: Frame = serde_json::from_str(r#"{"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z","timestamp":"2021-07-22T22:36:07.865Z","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":39}}"#).unwrap();
            assert_eq!(f.version.as_deref(), Some("2021-07-14T01:26:29.000Z"));
            let f: Frame = serde_json::from_str(r#"{"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe","args":["trade:XBTUSD"]}}"#).unwrap();
            assert_eq!(
                (f.success, f.subscribe.as_deref()),
                (Some(true), Some("trade:XBTUSD"))
            );
            let f: Frame = serde_json::from_str(r#"{"status":400,"error":"Unknown or expired symbol: FOOBAR","meta":{},"request":{"op":"subscribe","args":["trade:FOOBAR"]}}"#).unwrap();
            assert_eq!(f.request.unwrap().args(), vec!["trade:FOOBAR"]);
            let f: Frame = serde_json::from_str(r#"{"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,"price":17.297,"tickDirection":"PlusTick","trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","grossValue":899444,"homeNotional":16.73101673101673,"foreignNotional":289.39639639639637}]}"#).unwrap();
            assert_eq!((f.table, f.action), (Some("trade"), Some("insert")));
        }

        #[test]
        fn rows() {
            let t: TradeRow = serde_json::from_str(r#"{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,"price":17.297,"tickDirection":"PlusTick","trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","grossValue":899444,"homeNotional":16.73101673101673,"foreignNotional":289.39639639639637}"#).unwrap();
            assert_eq!((t.side, t.price.get()), ("Buy", "17.297"));
            let q: QuoteRow = serde_json::from_str(r#"{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","bidSize":750,"bidPrice":17.277,"askPrice":17.297,"askSize":123}"#).unwrap();
            assert_eq!(q.ask_size.unwrap().get(), "123");
            for row in [
                r#"{"symbol":"SOLUSDT","id":54899972480,"side":"Sell","size":991,"price":27.52}"#,
                r#"{"symbol":"UNIUSDT","id":51999982703,"side":"Sell","size":123}"#,
                r#"{"symbol":"BCHUSD","id":40199991245,"side":"Buy"}"#,
                r#"{"symbol":"XBTUSD","id":8799973350,"side":"Sell","size":4900,"price":26650,"timestamp":"2023-03-16T10:12:13.301Z"}"#,
            ] {
                let b: BookRow = serde_json::from_str(row).unwrap();
                assert!(b.id > 0);
            }
            let l: LiquidationRow = serde_json::from_str(r#"{"orderID":"a9bc4e2c-51a3-9d6b-3c4d-0d0e8b6e0e1f","symbol":"XBTUSD","side":"Sell","price":29500.5,"leavesQty":2000}"#).unwrap();
            assert_eq!(l.side, Some("Sell"));
            let f: FundingRow = serde_json::from_str(r#"{"timestamp":"2021-07-22T20:00:00.000Z","symbol":"XBTUSD","fundingInterval":"2000-01-01T08:00:00.000Z","fundingRate":0.0001,"fundingRateDaily":0.0003}"#).unwrap();
            assert_eq!(f.funding_rate.get(), "0.0001");
            let i: InstrumentRow = serde_json::from_str(r#"{"symbol":"XBTUSD","lastPrice":32110.5,"bidPrice":32110,"askPrice":32110.5,"markPrice":32115.38,"indicativeSettlePrice":32111.2,"openInterest":584012345,"fundingRate":0.0001,"indicativeFundingRate":0.0001,"fundingTimestamp":"2021-07-23T04:00:00.000Z","highPrice":32450,"lowPrice":31700,"prevPrice24h":31900,"homeNotional24h":12345.6789,"foreignNotional24h":398765432,"timestamp":"2021-07-22T22:36:10.000Z"}"#).unwrap();
            assert_eq!(i["markPrice"].get(), "32115.38");
        }
    }
}

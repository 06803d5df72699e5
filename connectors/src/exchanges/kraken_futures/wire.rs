//! Kraken Futures WebSocket v1 wire types. Every frame is a JSON object: a control
//! message names an `event`, a data message a `feed` (and its `product_id`). Prices
//! and quantities are JSON numbers, read as decimals from their raw text.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What every frame is told by: `event` (control) or `feed` (data), e.g.
/// `{"event":"info","version":1}`,
/// `{"event":"subscribed","feed":"book","product_ids":["PI_XBTUSD"]}`,
/// `{"event":"subscribed_failed","feed":"book","product_ids":["PI_FOOUSD"]}`,
/// `{"event":"error","message":"Invalid product id"}`,
/// `{"event":"alert","message":"Bad websocket message"}`,
/// `{"feed":"heartbeat","time":1534262350627}`.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    #[serde(default, borrow)]
    pub event: Option<&'a str>,
    #[serde(default, borrow)]
    pub feed: Option<&'a str>,
    #[serde(default, borrow)]
    pub product_id: Option<&'a str>,
    #[serde(default)]
    pub product_ids: Option<Vec<String>>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, borrow)]
    pub version: Option<&'a RawValue>,
}

/// A `trade` (`side` is the taker's; `type` is `fill`, `liquidation`, `termination`
/// or `block`; `seq` counts the product's trades):
/// `{"feed":"trade","product_id":"PI_LTCUSD","uid":"e2429e31-8b9d-4195-900e-fd42be2dec89","side":"buy","type":"fill","seq":5956,"time":1626994929946,"qty":320.0,"price":119.44}`
/// (`trade_snapshot` wraps the last trades in `trades`).
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    pub product_id: &'a str,
    pub uid: &'a str,
    pub side: &'a str,
    #[serde(rename = "type", default)]
    pub kind: Option<&'a str>,
    #[serde(default)]
    pub seq: Option<u64>,
    pub time: i64,
    #[serde(borrow)]
    pub qty: &'a RawValue,
    #[serde(borrow)]
    pub price: &'a RawValue,
}

/// One level of a snapshot: `{"price":34892.5,"qty":6385}`.
#[derive(Debug, Deserialize)]
pub struct Level<'a> {
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub qty: &'a RawValue,
}

/// `book_snapshot`:
/// `{"feed":"book_snapshot","product_id":"PI_XBTUSD","timestamp":1612269825817,"seq":326072249,"tickSize":null,"bids":[{"price":34892.5,"qty":6385},{"price":34892,"qty":10924}],"asks":[{"price":34911.5,"qty":20598},{"price":34912,"qty":2300}]}`
#[derive(Debug, Deserialize)]
pub struct BookSnapshot<'a> {
    pub product_id: &'a str,
    pub seq: u64,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(borrow)]
    pub bids: Vec<Level<'a>>,
    #[serde(borrow)]
    pub asks: Vec<Level<'a>>,
}

/// `book` (one level's new quantity; `0` removes it; `seq` follows the snapshot's by 1):
/// `{"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":26660860,"price":2004.85,"qty":4787.0,"timestamp":1626994927744}`
#[derive(Debug, Deserialize)]
pub struct BookDelta<'a> {
    pub product_id: &'a str,
    pub side: &'a str,
    pub seq: u64,
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub qty: &'a RawValue,
    #[serde(default)]
    pub timestamp: Option<i64>,
}

/// `ticker` (every field on every message, throttled to one a second; funding fields
/// on perpetuals only, left out when zero):
/// `{"time":1612270825253,"feed":"ticker","product_id":"PI_XBTUSD","bid":34832.5,"ask":34847.5,"bid_size":42864,"ask_size":2300,"volume":262306237,"dtm":0,"leverage":"50x","index":34803.45,"premium":0.1,"last":34852,"change":2.995109121267192,"funding_rate":3.891007752e-9,"funding_rate_prediction":4.2233756e-9,"suspended":false,"tag":"perpetual","pair":"XBT:USD","openInterest":263248768,"markPrice":34844.25,"maturityTime":0,"relative_funding_rate":0.000135046879166667,"relative_funding_rate_prediction":0.000146960125,"next_funding_rate_time":1612281600000,"volumeQuote":9123456.5}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    pub product_id: &'a str,
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default, borrow)]
    pub bid: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub ask: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub bid_size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub ask_size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub volume: Option<&'a RawValue>,
    #[serde(rename = "volumeQuote", default, borrow)]
    pub volume_quote: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub index: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub last: Option<&'a RawValue>,
    #[serde(rename = "openInterest", default, borrow)]
    pub open_interest: Option<&'a RawValue>,
    #[serde(rename = "markPrice", default, borrow)]
    pub mark_price: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub relative_funding_rate: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub relative_funding_rate_prediction: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub next_funding_rate_time: Option<&'a RawValue>,
    #[serde(default)]
    pub tag: Option<&'a str>,
}

/// `ticker_lite` (best bid and ask without sizes, no time):
/// `{"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6,"change":2.640803926150981,"premium":0.3,"volume":3413476.0,"tag":"month","pair":"BCH:USD","dtm":7,"maturityTime":1627657200000}`
#[derive(Debug, Deserialize)]
pub struct TickerLite<'a> {
    pub product_id: &'a str,
    #[serde(default, borrow)]
    pub bid: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub ask: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn control_frames() {
            for (frame, event) in [
                (r#"{"event":"info","version":1}"#, Some("info")),
                (
                    r#"{"event":"subscribed","feed":"book","product_ids":["PI_XBTUSD"]}"#,
                    Some("subscribed"),
                ),
                (
                    r#"{"event":"subscribed_failed","feed":"book","product_ids":["PI_FOOUSD"]}"#,
                    Some("subscribed_failed"),
                ),
                (
                    r#"{"event":"error","message":"Invalid product id"}"#,
                    Some("error"),
                ),
                (
                    r#"{"event":"alert","message":"Bad websocket message"}"#,
                    Some("alert"),
                ),
                (r#"{"feed":"heartbeat","time":1534262350627}"#, None),
            ] {
                let h: Head = serde_json::from_str(frame).unwrap();
                assert_eq!(h.event, event, "{frame}");
            }
        }

        #[test]
        fn data_frames() {
            let t: Trade = serde_json::from_str(r#"{"feed":"trade","product_id":"PI_LTCUSD","uid":"e2429e31-8b9d-4195-900e-fd42be2dec89","side":"buy","type":"fill","seq":5956,"time":1626994929946,"qty":320.0,"price":119.44}"#).unwrap();
            assert_eq!((t.seq, t.qty.get()), (Some(5956), "320.0"));
            let s: BookSnapshot = serde_json::from_str(r#"{"feed":"book_snapshot","product_id":"PI_XBTUSD","timestamp":1612269825817,"seq":326072249,"tickSize":null,"bids":[{"price":34892.5,"qty":6385},{"price":34892,"qty":10924}],"asks":[{"price":34911.5,"qty":20598},{"price":34912,"qty":2300}]}"#).unwrap();
            assert_eq!((s.bids.len(), s.asks.len()), (2, 2));
            let d: BookDelta = serde_json::from_str(r#"{"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":26660860,"price":2004.85,"qty":4787.0,"timestamp":1626994927744}"#).unwrap();
            assert_eq!(d.seq, 26660860);
            let k: Ticker = serde_json::from_str(r#"{"time":1612270825253,"feed":"ticker","product_id":"PI_XBTUSD","bid":34832.5,"ask":34847.5,"bid_size":42864,"ask_size":2300,"volume":262306237,"dtm":0,"leverage":"50x","index":34803.45,"premium":0.1,"last":34852,"change":2.995109121267192,"funding_rate":3.891007752e-9,"funding_rate_prediction":4.2233756e-9,"suspended":false,"tag":"perpetual","pair":"XBT:USD","openInterest":263248768,"markPrice":34844.25,"maturityTime":0,"relative_funding_rate":0.000135046879166667,"relative_funding_rate_prediction":0.000146960125,"next_funding_rate_time":1612281600000,"volumeQuote":9123456.5}"#).unwrap();
            assert_eq!(k.mark_price.unwrap().get(), "34844.25");
            let l: TickerLite = serde_json::from_str(r#"{"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6,"change":2.640803926150981,"premium":0.3,"volume":3413476.0,"tag":"month","pair":"BCH:USD","dtm":7,"maturityTime":1627657200000}"#).unwrap();
            assert_eq!(l.bid.unwrap().get(), "439.3");
        }
    }
}

//! Gemini market data v2 wire types. Every server frame is one JSON object with a
//! `type`; the fields of all frame types are read in one pass ([`Frame`]), and which of
//! them must be present is decided once the type is known.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::Dec;

/// One `[side, price, quantity]` change of `l2_updates` (`quantity` is the new
/// absolute size of the level; `"0"` deletes it), e.g. `["buy","9122.04","0.00121425"]`.
pub type Change<'a> = (&'a str, Dec, Dec);

/// Any server frame. Examples, one per type:
///
/// - the initial `l2_updates` of a subscription (the book, the last 50 trades and the
///   auction events):
///   `{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.04","0.00121425"],["sell","9122.07","0.98942292"]],"trades":[{"type":"trade","symbol":"BTCUSD","event_id":169841458,"timestamp":1560976400428,"price":"9122.04","quantity":"0.0073173","side":"sell","tid":2840140800042677}],"auction_events":[]}`
/// - a later `l2_updates`: `{"type":"l2_updates","symbol":"BTCUSD","changes":[["sell","9160.20","0.1921229751"]]}`
/// - a trade (`side` is the taker's):
///   `{"type":"trade","symbol":"BTCUSD","event_id":3575573053,"timestamp":151231241,"price":"9004.21000000","quantity":"0.09110000","side":"buy","tid":2840140800042677}`
/// - a heartbeat: `{"type":"heartbeat","timestamp":1624493666869}`
/// - an error (not in the documentation's examples; the REST error shape):
///   `{"type":"error","result":"error","reason":"InvalidSymbol","message":"Unknown symbol FOOBAR"}`
///
/// `socket_sequence` numbers every frame of a connection on the v1 feed (and is read
/// wherever a v2 frame carries it).
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(rename = "type", default)]
    pub kind: Option<&'a str>,
    #[serde(default)]
    pub symbol: Option<&'a str>,
    #[serde(default)]
    pub socket_sequence: Option<u64>,
    /// `l2_updates`: a list of [`Change`]s (read once the type is known: candle
    /// frames carry number arrays under the same key).
    #[serde(borrow, default)]
    pub changes: Option<&'a RawValue>,
    /// Present only on the initial `l2_updates` of a subscription.
    #[serde(borrow, default)]
    pub trades: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub auction_events: Option<&'a RawValue>,
    #[serde(default)]
    pub event_id: Option<u64>,
    #[serde(default)]
    pub tid: Option<u64>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub price: Option<Dec>,
    #[serde(default)]
    pub quantity: Option<Dec>,
    #[serde(default)]
    pub side: Option<&'a str>,
    #[serde(default)]
    pub result: Option<&'a str>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn initial_l2_updates() {
            let f: Frame = serde_json::from_str(r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","9122.04","0.00121425"],["sell","9122.07","0.98942292"]],"trades":[{"type":"trade","symbol":"BTCUSD","event_id":169841458,"timestamp":1560976400428,"price":"9122.04","quantity":"0.0073173","side":"sell","tid":2840140800042677}],"auction_events":[]}"#).unwrap();
            assert_eq!(f.kind, Some("l2_updates"));
            assert_eq!(f.symbol, Some("BTCUSD"));
            let changes: Vec<Change> = serde_json::from_str(f.changes.unwrap().get()).unwrap();
            assert_eq!(changes.len(), 2);
            assert_eq!(changes[1].0, "sell");
            assert_eq!(changes[1].1.as_str(), "9122.07");
            assert!(f.trades.is_some() && f.auction_events.is_some());
        }

        #[test]
        fn l2_update() {
            let f: Frame = serde_json::from_str(
                r#"{"type":"l2_updates","symbol":"BTCUSD","changes":[["sell","9160.20","0.1921229751"]]}"#,
            )
            .unwrap();
            assert!(f.trades.is_none());
            let changes: Vec<Change> = serde_json::from_str(f.changes.unwrap().get()).unwrap();
            assert_eq!(changes[0].2.as_str(), "0.1921229751");
        }

        #[test]
        fn trade() {
            let f: Frame = serde_json::from_str(r#"{"type":"trade","symbol":"BTCUSD","event_id":3575573053,"timestamp":151231241,"price":"9004.21000000","quantity":"0.09110000","side":"buy","tid":2840140800042677}"#).unwrap();
            assert_eq!(
                (f.kind, f.event_id, f.tid, f.timestamp, f.side),
                (
                    Some("trade"),
                    Some(3575573053),
                    Some(2840140800042677),
                    Some(151231241),
                    Some("buy")
                )
            );
            assert_eq!(f.price.unwrap().as_str(), "9004.21");
            assert_eq!(f.quantity.unwrap().as_str(), "0.0911");
        }

        #[test]
        fn heartbeat() {
            let f: Frame =
                serde_json::from_str(r#"{"type":"heartbeat","timestamp":1624493666869}"#).unwrap();
            assert_eq!(
                (f.kind, f.timestamp),
                (Some("heartbeat"), Some(1624493666869))
            );
        }

        #[test]
        fn error() {
            let f: Frame = serde_json::from_str(r#"{"type":"error","result":"error","reason":"InvalidSymbol","message":"Unknown symbol FOOBAR"}"#).unwrap();
            assert_eq!(f.reason.as_deref(), Some("InvalidSymbol"));
            assert_eq!(f.result, Some("error"));
        }
    }
}

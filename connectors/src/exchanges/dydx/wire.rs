//! dYdX v4 Indexer WebSocket wire types. Every frame is a JSON object told by its
//! `type`; data frames name their `channel` and (but `v4_markets`) the market `id`,
//! and carry `contents`. Prices and sizes are JSON strings, read as exact decimals.
//! The examples are the documented ones (v4-chain `websocket-documentation.md`,
//! socks `helpers/message.ts`), trimmed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// What every frame is told by, e.g.
/// `{"type":"connected","connection_id":"004a1efa-21bb-4b19-a2e9-a8ffadd6dc53","message_id":0}`,
/// `{"type":"subscribed","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160","message_id":2,"channel":"v4_orderbook","id":"BTC-USD","contents":{..}}`,
/// `{"type":"channel_data","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160","message_id":484,"id":"BTC-USD","channel":"v4_orderbook","version":"0.0.1","contents":{..}}`,
/// `{"type":"channel_batch_data","connection_id":"6bc52ffd-258a-4554-a3c6-2ebf80fa0fe3","message_id":317,"id":"BTC-USD","channel":"v4_orderbook","version":"1.0.0","contents":[{..},{..}]}`,
/// `{"type":"unsubscribed","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160","message_id":490,"channel":"v4_orderbook","id":"BTC-USD"}`,
/// `{"type":"error","message":"Invalid subscription id for channel: (v4_orderbook-FOO-USD)","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160","message_id":3}`,
/// `{"type":"pong","connection_id":"ee5a4696-dce8-44ef-8d68-f0e0d0b06160","message_id":5}`.
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    #[serde(default, borrow)]
    pub connection_id: Option<&'a str>,
    #[serde(default)]
    pub message_id: Option<u64>,
    #[serde(default, borrow)]
    pub channel: Option<&'a str>,
    /// The market (a string); a number in `pong` answering a ping with an id.
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, borrow)]
    pub contents: Option<&'a RawValue>,
}

/// One level of a `v4_orderbook` snapshot: `{"price":"28194","size":"4.764826096"}`.
#[derive(Debug, Deserialize)]
pub struct SnapshotLevel<'a> {
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub size: &'a RawValue,
}

/// The `contents` of a `v4_orderbook` `subscribed` frame (the REST book):
/// `{"bids":[{"price":"28194","size":"4.764826096"},{"price":"28193","size":"3.115323739"}],"asks":[{"price":"28195","size":"3.219612343"},{"price":"28196","size":"2.387087565"}]}`
#[derive(Debug, Deserialize)]
pub struct BookSnapshot<'a> {
    #[serde(default, borrow)]
    pub bids: Vec<SnapshotLevel<'a>>,
    #[serde(default, borrow)]
    pub asks: Vec<SnapshotLevel<'a>>,
}

/// The `contents` of a `v4_orderbook` change (each level `[price, size]`, absolute
/// size, `"0"` deletes; a side without changes is left out):
/// `{"bids":[["27773","1.986168516"]]}`, `{"asks":[["28195","0"]],"bids":[["28190","2.5"]]}`
/// (`channel_batch_data` carries an array of these).
#[derive(Debug, Deserialize)]
pub struct BookUpdate<'a> {
    #[serde(default, borrow)]
    pub bids: Vec<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    pub asks: Vec<Vec<&'a RawValue>>,
}

/// One trade of `v4_trades` (`side` is the taker's; `id` the taker fill id):
/// `{"id":"8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7","size":"0.000100431","price":"27839","side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","liquidation":false}`
/// (recent indexers add `"type":"LIMIT"` / `"LIQUIDATED"` and `createdAtHeight`).
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(borrow)]
    pub size: &'a RawValue,
    #[serde(borrow)]
    pub price: &'a RawValue,
    pub side: String,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(default)]
    pub liquidation: Option<bool>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// The `contents` of `v4_trades` frames:
/// `{"trades":[{"id":"8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7","size":"0.000100431","price":"27839","side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","liquidation":false}]}`
#[derive(Debug, Deserialize)]
pub struct Trades<'a> {
    #[serde(default, borrow)]
    pub trades: Vec<Trade<'a>>,
}

/// One market of the `v4_markets` `subscribed` snapshot (the REST market, trimmed):
/// `{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE","oraclePrice":"27752.92","nextFundingRate":"0","openInterest":"1891.473716288","tickSize":"1","stepSize":"0.000000001"}`;
/// the `trading` entries of its changes carry any subset of these fields:
/// `{"nextFundingRate":"0.00006821875"}`, `{"volume24H":"1462890959.6541","nextFundingRate":"0.00007478125"}`.
#[derive(Debug, Deserialize)]
pub struct Market<'a> {
    #[serde(rename = "oraclePrice", default, borrow)]
    pub oracle_price: Option<&'a RawValue>,
    #[serde(rename = "openInterest", default, borrow)]
    pub open_interest: Option<&'a RawValue>,
    #[serde(rename = "nextFundingRate", default, borrow)]
    pub next_funding_rate: Option<&'a RawValue>,
}

/// The `contents` of the `v4_markets` `subscribed` frame:
/// `{"markets":{"BTC-USD":{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE","oraclePrice":"27752.92","nextFundingRate":"0","openInterest":"1891.473716288"}}}`
#[derive(Debug, Deserialize)]
pub struct MarketsSnapshot<'a> {
    #[serde(default, borrow)]
    pub markets: BTreeMap<String, Market<'a>>,
}

/// An oracle price of a `v4_markets` change; the docs name the price `price`, recent
/// indexers `oraclePrice` (both read):
/// `{"oraclePrice":"27761.5","effectiveAt":"2023-04-04T00:29:20.000Z","effectiveAtHeight":"49593","marketId":0}`.
#[derive(Debug, Deserialize)]
pub struct OraclePrice<'a> {
    #[serde(rename = "oraclePrice", default, borrow)]
    pub oracle_price: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub price: Option<&'a RawValue>,
    #[serde(rename = "effectiveAt", default)]
    pub effective_at: Option<String>,
    #[serde(rename = "effectiveAtHeight", default)]
    pub effective_at_height: Option<String>,
}

/// The `contents` of a `v4_markets` change:
/// `{"trading":{"BTC-USD":{"nextFundingRate":"0.00006821875"},"ETH-USD":{"volume24H":"1462890959.6541","nextFundingRate":"0.00007478125"}}}`,
/// `{"oraclePrices":{"BTC-USD":{"oraclePrice":"27761.5","effectiveAt":"2023-04-04T00:29:20.000Z","effectiveAtHeight":"49593","marketId":0}}}`.
#[derive(Debug, Deserialize)]
pub struct MarketsUpdate<'a> {
    #[serde(default, borrow)]
    pub trading: BTreeMap<String, Market<'a>>,
    #[serde(rename = "oraclePrices", default, borrow)]
    pub oracle_prices: BTreeMap<String, OraclePrice<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_frames_deserialize() {
        let h: Head = serde_json::from_str(r#"{"type":"connected","connection_id":"004a1efa-21bb-4b19-a2e9-a8ffadd6dc53","message_id":0}"#).unwrap();
        assert_eq!((h.kind, h.message_id), ("connected", Some(0)));
        let s: BookSnapshot = serde_json::from_str(r#"{"bids":[{"price":"28194","size":"4.764826096"},{"price":"28193","size":"3.115323739"}],"asks":[{"price":"28195","size":"3.219612343"},{"price":"28196","size":"2.387087565"}]}"#).unwrap();
        assert_eq!((s.bids.len(), s.asks[0].price.get()), (2, "\"28195\""));
        let u: BookUpdate = serde_json::from_str(r#"{"bids":[["27773","1.986168516"]]}"#).unwrap();
        assert_eq!((u.bids.len(), u.asks.len()), (1, 0));
        let t: Trades = serde_json::from_str(r#"{"trades":[{"id":"8ee6d90d-272d-5edd-bf0f-2e4d6ae3d3b7","size":"0.000100431","price":"27839","side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","liquidation":false}]}"#).unwrap();
        assert_eq!(t.trades[0].side, "BUY");
        let m: MarketsSnapshot = serde_json::from_str(r#"{"markets":{"BTC-USD":{"clobPairId":"0","ticker":"BTC-USD","status":"ACTIVE","oraclePrice":"27752.92","nextFundingRate":"0","openInterest":"1891.473716288"}}}"#).unwrap();
        assert!(m.markets["BTC-USD"].oracle_price.is_some());
        let c: MarketsUpdate = serde_json::from_str(r#"{"oraclePrices":{"BTC-USD":{"oraclePrice":"27761.5","effectiveAt":"2023-04-04T00:29:20.000Z","effectiveAtHeight":"49593","marketId":0}}}"#).unwrap();
        assert_eq!(c.oracle_prices.len(), 1);
    }
}

//! Deribit JSON-RPC 2.0 wire types. Every server frame is one object: a response to
//! a request (`id` with `result` or `error`), a notification `method: "subscription"`
//! whose `params` carry the `channel` and its `data`, or `method: "heartbeat"`. The
//! `data` of a notification is read in a second step once the channel says what it
//! is. Prices and amounts are JSON numbers, read from their raw text (never `f64`).

use serde::Deserialize;
use serde_json::value::RawValue;

/// The envelope of every server frame, e.g. the answer to a subscribe:
/// `{"jsonrpc":"2.0","id":3,"result":["trades.BTC-PERPETUAL.100ms","book.BTC-PERPETUAL.100ms"]}`
/// (the channels subscribed; one the server did not subscribe is left out), an error:
/// `{"jsonrpc":"2.0","id":4,"error":{"message":"Invalid params","data":{"reason":"invalid channel","param":"channels"},"code":-32602}}`,
/// a notification (`params` below), or a heartbeat:
/// `{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}`.
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    #[serde(default)]
    pub error: Option<RpcError>,
    #[serde(borrow, default)]
    pub method: Option<&'a str>,
    #[serde(borrow, default)]
    pub params: Option<Params<'a>>,
}

/// `params` of a notification,
/// `{"channel":"quote.BTC-PERPETUAL","data":{...}}`, or of a heartbeat,
/// `{"type":"heartbeat"}` / `{"type":"test_request"}`.
#[derive(Debug, Deserialize)]
pub struct Params<'a> {
    #[serde(borrow, default)]
    pub channel: Option<&'a str>,
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<&'a str>,
}

/// A JSON-RPC error: `{"message":"Invalid params","data":{"reason":"invalid channel","param":"channels"},"code":-32602}`,
/// `{"code":10028,"message":"too_many_requests"}`.
#[derive(Debug, Deserialize)]
pub struct RpcError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// One level change of `book.{instrument}.{interval}`: `["new",0.0015,4714.0]`,
/// `["change",36289.5,1000.0]`, `["delete",36290.0,0.0]` (action, price, amount).
pub type BookLevel<'a> = (&'a str, &'a RawValue, &'a RawValue);

/// `book.{instrument}.{interval}`: the first notification is the whole book (`type`
/// `snapshot`, no `prev_change_id`), then changes chained by `prev_change_id`:
/// `{"type":"snapshot","timestamp":1626993723632,"instrument_name":"ETH-30JUL21-2800-C","change_id":13169025645,"bids":[["new",0.0015,4714.0],["new",0.001,861.0]],"asks":[["new",0.0025,873.0]]}`
/// `{"type":"change","timestamp":1626993724113,"prev_change_id":13169025645,"instrument_name":"ETH-30JUL21-2800-C","change_id":13169025700,"bids":[["delete",0.001,0.0]],"asks":[["change",0.0025,870.0]]}`
#[derive(Debug, Deserialize)]
pub struct Book<'a> {
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<&'a str>,
    pub timestamp: i64,
    #[serde(borrow)]
    pub instrument_name: &'a str,
    pub change_id: u64,
    #[serde(default)]
    pub prev_change_id: Option<u64>,
    #[serde(borrow)]
    pub bids: Vec<BookLevel<'a>>,
    #[serde(borrow)]
    pub asks: Vec<BookLevel<'a>>,
}

/// One trade of `trades.{instrument}.{interval}` (the data is an array of them);
/// `direction` is the taker's side, `liquidation` (only on liquidation trades) `M`,
/// `T` or `MT` names the side(s) under liquidation (maker, taker):
/// `{"trade_seq":30289432,"trade_id":"48079254","timestamp":1590484156350,"tick_direction":0,"price":8950.0,"mark_price":8948.9,"instrument_name":"BTC-PERPETUAL","index_price":8955.88,"direction":"sell","amount":10.0,"liquidation":"M"}`
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(default)]
    pub trade_seq: Option<u64>,
    #[serde(borrow)]
    pub trade_id: &'a str,
    pub timestamp: i64,
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub amount: &'a RawValue,
    #[serde(borrow)]
    pub direction: &'a str,
    #[serde(borrow)]
    pub instrument_name: &'a str,
    #[serde(borrow, default)]
    pub liquidation: Option<&'a str>,
}

/// `quote.{instrument}`, the best bid and ask:
/// `{"timestamp":1550658624149,"instrument_name":"BTC-PERPETUAL","best_bid_price":3914.97,"best_bid_amount":40.0,"best_ask_price":3996.61,"best_ask_amount":50.0}`
/// An empty side has a null price or a zero amount.
#[derive(Debug, Deserialize)]
pub struct Quote<'a> {
    pub timestamp: i64,
    #[serde(borrow)]
    pub instrument_name: &'a str,
    #[serde(borrow, default)]
    pub best_bid_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_bid_amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_ask_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_ask_amount: Option<&'a RawValue>,
}

/// `ticker.{instrument}.{interval}` (options add greeks and implied volatilities,
/// perpetuals `current_funding` and `funding_8h`):
/// `{"timestamp":1623059681955,"stats":{"volume_usd":282615600,"volume":7831.26548117,"price_change":0.2362,"low":35213.5,"high":36824.5},"state":"open","settlement_price":36169.49,"open_interest":502231260,"min_price":35744.73,"max_price":36833.4,"mark_price":36288.31,"last_price":36289.5,"interest_value":1.7362511643080387,"instrument_name":"BTC-PERPETUAL","index_price":36297.02,"funding_8h":0.00002203,"estimated_delivery_price":36297.02,"current_funding":0.0,"best_bid_price":36289.5,"best_bid_amount":4600.0,"best_ask_price":36290.0,"best_ask_amount":53040.0}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    pub timestamp: i64,
    #[serde(borrow)]
    pub instrument_name: &'a str,
    #[serde(borrow, default)]
    pub last_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_bid_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_bid_amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_ask_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_ask_amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub stats: Option<Stats<'a>>,
    #[serde(borrow, default)]
    pub open_interest: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub mark_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub index_price: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub funding_8h: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub current_funding: Option<&'a RawValue>,
}

/// The 24-hour `stats` of a ticker:
/// `{"volume_usd":282615600,"volume":7831.26548117,"price_change":0.2362,"low":35213.5,"high":36824.5}`
/// (`high`/`low`/`price_change` are null without trades).
#[derive(Debug, Deserialize)]
pub struct Stats<'a> {
    #[serde(borrow, default)]
    pub high: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub low: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub volume: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub volume_usd: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn envelopes() {
            let f: Frame = serde_json::from_str(r#"{"jsonrpc":"2.0","id":3,"result":["trades.BTC-PERPETUAL.100ms","book.BTC-PERPETUAL.100ms"]}"#).unwrap();
            assert_eq!(f.id, Some(3));
            let names: Vec<&str> = serde_json::from_str(f.result.unwrap().get()).unwrap();
            assert_eq!(names.len(), 2);
            let f: Frame = serde_json::from_str(r#"{"jsonrpc":"2.0","id":4,"error":{"message":"Invalid params","data":{"reason":"invalid channel","param":"channels"},"code":-32602}}"#).unwrap();
            let e = f.error.unwrap();
            assert_eq!((e.code, e.message.as_str()), (-32602, "Invalid params"));
            assert!(e.data.is_some());
            let f: Frame = serde_json::from_str(
                r#"{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}"#,
            )
            .unwrap();
            assert_eq!(f.method, Some("heartbeat"));
            assert_eq!(f.params.unwrap().kind, Some("test_request"));
            let e: RpcError =
                serde_json::from_str(r#"{"code":10028,"message":"too_many_requests"}"#).unwrap();
            assert_eq!(e.code, 10028);
            let p: Params =
                serde_json::from_str(r#"{"channel":"quote.BTC-PERPETUAL","data":{}}"#).unwrap();
            assert_eq!(p.channel, Some("quote.BTC-PERPETUAL"));
        }

        #[test]
        fn books() {
            let b: Book = serde_json::from_str(r#"{"type":"snapshot","timestamp":1626993723632,"instrument_name":"ETH-30JUL21-2800-C","change_id":13169025645,"bids":[["new",0.0015,4714.0],["new",0.001,861.0]],"asks":[["new",0.0025,873.0]]}"#).unwrap();
            assert_eq!(
                (b.kind, b.change_id, b.prev_change_id),
                (Some("snapshot"), 13169025645, None)
            );
            assert_eq!(b.bids[1].1.get(), "0.001");
            let b: Book = serde_json::from_str(r#"{"type":"change","timestamp":1626993724113,"prev_change_id":13169025645,"instrument_name":"ETH-30JUL21-2800-C","change_id":13169025700,"bids":[["delete",0.001,0.0]],"asks":[["change",0.0025,870.0]]}"#).unwrap();
            assert_eq!(b.prev_change_id, Some(13169025645));
            assert_eq!(b.bids[0].0, "delete");
            let l: BookLevel = serde_json::from_str(r#"["change",36289.5,1000.0]"#).unwrap();
            assert_eq!(l.2.get(), "1000.0");
        }

        #[test]
        fn trades_quotes_tickers() {
            let t: Trade = serde_json::from_str(r#"{"trade_seq":30289432,"trade_id":"48079254","timestamp":1590484156350,"tick_direction":0,"price":8950.0,"mark_price":8948.9,"instrument_name":"BTC-PERPETUAL","index_price":8955.88,"direction":"sell","amount":10.0,"liquidation":"M"}"#).unwrap();
            assert_eq!(
                (t.trade_id, t.direction, t.liquidation),
                ("48079254", "sell", Some("M"))
            );
            let q: Quote = serde_json::from_str(r#"{"timestamp":1550658624149,"instrument_name":"BTC-PERPETUAL","best_bid_price":3914.97,"best_bid_amount":40.0,"best_ask_price":3996.61,"best_ask_amount":50.0}"#).unwrap();
            assert_eq!(q.best_ask_price.unwrap().get(), "3996.61");
            let t: Ticker = serde_json::from_str(r#"{"timestamp":1623059681955,"stats":{"volume_usd":282615600,"volume":7831.26548117,"price_change":0.2362,"low":35213.5,"high":36824.5},"state":"open","settlement_price":36169.49,"open_interest":502231260,"min_price":35744.73,"max_price":36833.4,"mark_price":36288.31,"last_price":36289.5,"interest_value":1.7362511643080387,"instrument_name":"BTC-PERPETUAL","index_price":36297.02,"funding_8h":0.00002203,"estimated_delivery_price":36297.02,"current_funding":0.0,"best_bid_price":36289.5,"best_bid_amount":4600.0,"best_ask_price":36290.0,"best_ask_amount":53040.0}"#).unwrap();
            assert_eq!(t.funding_8h.unwrap().get(), "0.00002203");
            let s: Stats = serde_json::from_str(r#"{"volume_usd":282615600,"volume":7831.26548117,"price_change":null,"low":null,"high":null}"#).unwrap();
            assert!(s.high.is_none() && s.volume.is_some());
            assert_eq!(t.stats.unwrap().volume_usd.unwrap().get(), "282615600");
        }
    }
}

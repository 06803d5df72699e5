//! bitFlyer Lightning Realtime API (JSON-RPC 2.0 over WebSocket) wire types. Every
//! server frame is a JSON-RPC object: a `channelMessage` notification
//! (`{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":..,"message":..}}`)
//! or the response to a request (`result` or `error`, with the request's `id`).
//! Prices and sizes are JSON numbers: read from their raw text, never through `f64`.

use serde::Deserialize;
use serde_json::value::RawValue;

/// The envelope of every frame, e.g. a response
/// `{"jsonrpc":"2.0","id":1,"result":true}`, an error
/// `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params"}}` or a
/// notification `{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"lightning_ticker_BTC_JPY","message":{..}}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(default)]
    pub method: Option<&'a str>,
    #[serde(borrow, default)]
    pub params: Option<Params<'a>>,
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
    #[serde(default)]
    pub error: Option<RpcError>,
}

/// `params` of a `channelMessage`.
#[derive(Debug, Deserialize)]
pub struct Params<'a> {
    pub channel: &'a str,
    #[serde(borrow)]
    pub message: &'a RawValue,
}

/// A JSON-RPC error object: `{"code":-32602,"message":"Invalid params"}`.
#[derive(Debug, Deserialize)]
pub struct RpcError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// One price level: `{"price":5853547.0,"size":0.0267539}` (`size` 0 deletes the
/// level; `price` 0 is an itayose market-order match, not a level).
#[derive(Debug, Deserialize)]
pub struct BoardLevel<'a> {
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub size: &'a RawValue,
}

/// `lightning_board_snapshot_{product_code}` (the whole board, levels in no
/// guaranteed order) and `lightning_board_{product_code}` (changed levels):
/// `{"mid_price":96.02,"bids":[{"price":95.96,"size":19638.237973}],"asks":[{"price":96.13,"size":49.479871}]}`
#[derive(Debug, Deserialize)]
pub struct Board<'a> {
    #[serde(borrow, default)]
    pub mid_price: Option<&'a RawValue>,
    #[serde(borrow)]
    pub bids: Vec<BoardLevel<'a>>,
    #[serde(borrow)]
    pub asks: Vec<BoardLevel<'a>>,
}

/// One execution of `lightning_executions_{product_code}` (the message is an array of
/// them): `{"id":2284079807,"side":"BUY","price":5860832.0,"size":0.01,"exec_date":"2021-12-12T23:05:29.9692063Z","buy_child_order_acceptance_id":"JRF20211212-230529-223057","sell_child_order_acceptance_id":"JRF20211212-230529-081757"}`
/// `side` is the taker's (`BUY`/`SELL`), empty for itayose (auction) matches.
#[derive(Debug, Deserialize)]
pub struct Execution<'a> {
    pub id: u64,
    #[serde(default)]
    pub side: &'a str,
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub size: &'a RawValue,
    pub exec_date: &'a str,
}

/// `lightning_ticker_{product_code}`:
/// `{"product_code":"XLM_JPY","state":"RUNNING","timestamp":"2021-12-12T23:05:30.1453869Z","tick_id":8300539,"best_bid":31.469,"best_ask":31.56,"best_bid_size":4958.91,"best_ask_size":2103.78,"total_bid_depth":1861489.76493760,"total_ask_depth":2124943.827473400000,"market_bid_size":0.0,"market_ask_size":0.0,"ltp":31.471,"volume":1471420.073424000000,"volume_by_product":1471420.073424000000}`
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    pub timestamp: &'a str,
    pub tick_id: u64,
    #[serde(borrow, default)]
    pub best_bid: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_ask: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_bid_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub best_ask_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub ltp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub volume_by_product: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn response_error_and_notification() {
            let ok: Envelope =
                serde_json::from_str(r#"{"jsonrpc":"2.0","id":1,"result":true}"#).unwrap();
            assert_eq!(
                (ok.id.unwrap().get(), ok.result.unwrap().get()),
                ("1", "true")
            );
            let err: Envelope = serde_json::from_str(
                r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params"}}"#,
            )
            .unwrap();
            let e = err.error.unwrap();
            assert_eq!(
                (e.code, e.message.as_str()),
                (Some(-32602), "Invalid params")
            );
            let n: Envelope = serde_json::from_str(r#"{"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"lightning_ticker_BTC_JPY","message":{}}}"#).unwrap();
            assert_eq!(n.method, Some("channelMessage"));
            assert_eq!(n.params.unwrap().channel, "lightning_ticker_BTC_JPY");
        }

        #[test]
        fn board() {
            let b: Board = serde_json::from_str(r#"{"mid_price":96.02,"bids":[{"price":95.96,"size":19638.237973}],"asks":[{"price":96.13,"size":49.479871}]}"#).unwrap();
            assert_eq!(b.mid_price.unwrap().get(), "96.02");
            assert_eq!(
                (b.bids[0].price.get(), b.bids[0].size.get()),
                ("95.96", "19638.237973")
            );
            assert_eq!(b.asks[0].price.get(), "96.13");
        }

        #[test]
        fn execution() {
            let e: Execution = serde_json::from_str(r#"{"id":2284079807,"side":"BUY","price":5860832.0,"size":0.01,"exec_date":"2021-12-12T23:05:29.9692063Z","buy_child_order_acceptance_id":"JRF20211212-230529-223057","sell_child_order_acceptance_id":"JRF20211212-230529-081757"}"#).unwrap();
            assert_eq!(
                (e.id, e.side, e.price.get(), e.size.get()),
                (2284079807, "BUY", "5860832.0", "0.01")
            );
            assert_eq!(e.exec_date, "2021-12-12T23:05:29.9692063Z");
        }

        #[test]
        fn ticker() {
            let t: Ticker = serde_json::from_str(r#"{"product_code":"XLM_JPY","state":"RUNNING","timestamp":"2021-12-12T23:05:30.1453869Z","tick_id":8300539,"best_bid":31.469,"best_ask":31.56,"best_bid_size":4958.91,"best_ask_size":2103.78,"total_bid_depth":1861489.76493760,"total_ask_depth":2124943.827473400000,"market_bid_size":0.0,"market_ask_size":0.0,"ltp":31.471,"volume":1471420.073424000000,"volume_by_product":1471420.073424000000}"#).unwrap();
            assert_eq!(t.tick_id, 8300539);
            assert_eq!(t.best_bid.unwrap().get(), "31.469");
            assert_eq!(t.ltp.unwrap().get(), "31.471");
            assert_eq!(t.volume_by_product.unwrap().get(), "1471420.073424000000");
        }
    }
}

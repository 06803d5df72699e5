//! Lighter WebSocket wire types. Every server message is one JSON object whose `type`
//! names it (`connected`, `subscribed/<channel>`, `update/<channel>`, `unsubscribed`,
//! `ping`, `pong`) and whose `channel` names the stream with a colon
//! (`order_book:1`, while the subscription is asked for as `order_book/1`); error
//! frames carry no `type` at all, only `{"error":{"code":..,"message":..}}`. Prices and
//! sizes are decimal strings; the daily statistics are JSON numbers (read from their
//! raw text, never through `f64`).

use serde::Deserialize;
use serde_json::value::RawValue;

/// What every frame is checked for first: its `type`, `channel` and `error`, e.g.
/// `{"session_id":"b23c70b2-9ef8-4080-8f02-4edf34138329","type":"connected"}`,
/// `{"type":"pong"}`, `{"type": "unsubscribed", "channel": "order_book:0"}` or
/// `{"error":{"code":30005,"message":"Invalid Channel:  (marketId)"}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<&'a str>,
    #[serde(default, borrow)]
    pub channel: Option<&'a str>,
    #[serde(default)]
    pub error: Option<Error>,
    /// A top-level error code (`{"type":"error","code":30012,"channel":"order_book:0",
    /// "message":"failed to subscribe"}`, the shape some clients expect; Lighter's own
    /// error frames nest it under `error`).
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// An error answer: `{"error":{"code":30003,"message":"Already Subscribed to :
/// order_book:0"}}`, `{"error":{"code":30005,"message":"Invalid Channel:  (marketId)"}}`,
/// `{"error":{"code":30009,"message":"Too Many Websocket Messages!"}}`,
/// `{"error":{"code":20001,"message":"invalid param : auth field is required:
/// account_all_orders:1"}}`.
#[derive(Debug, Deserialize)]
pub struct Error {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// One price level: `{"price":"3327.46","size":"29.0915"}` (a size of zero, e.g.
/// `"0.0000"`, deletes the level).
#[derive(Debug, Deserialize)]
pub struct Level<'a> {
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub size: &'a RawValue,
}

/// `subscribed/order_book` (the whole book, first message after the subscription) and
/// `update/order_book` (the changes of one ~50 ms batch):
/// `{"channel":"order_book:0","offset":41692864,"order_book":{"code":0,"asks":[{"price":"3327.46","size":"29.0915"}],"bids":[{"price":"3338.80","size":"10.2898"}],"offset":41692864,"nonce":4037957053,"begin_nonce":4037957034},"timestamp":1766434222583,"type":"update/order_book"}`.
/// The chain: an update's `begin_nonce` equals the previous message's `nonce` (a
/// snapshot's `begin_nonce` is 0). `offset` is the API server's counter and changes
/// on reconnection: it is not the chain.
#[derive(Debug, Deserialize)]
pub struct OrderBookMsg<'a> {
    #[serde(borrow)]
    pub channel: &'a str,
    pub order_book: OrderBook<'a>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// Microseconds since the epoch (matching-engine time), in current frames.
    #[serde(default)]
    pub last_updated_at: Option<i64>,
}

/// The `order_book` object of [`OrderBookMsg`].
#[derive(Debug, Deserialize)]
pub struct OrderBook<'a> {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default, borrow)]
    pub asks: Vec<Level<'a>>,
    #[serde(default, borrow)]
    pub bids: Vec<Level<'a>>,
    pub nonce: u64,
    #[serde(default)]
    pub begin_nonce: Option<u64>,
}

/// `subscribed/trade` (the venue's replay of recent prints) and `update/trade`:
/// `{"channel":"trade:0","trades":[{"trade_id":14035051,"tx_hash":"189068ebc6b5c7e5efda96f92842a2fafd280990692e56899a98de8c4a12a38c","type":"trade","market_id":0,"size":"0.1187","price":"3335.65","usd_amount":"13.67","ask_id":41720126,"bid_id":41720037,"ask_account_id":2304,"bid_account_id":21504,"is_maker_ask":false,"block_height":2204468,"timestamp":1722339648}],"type":"update/trade"}`;
/// current frames add `"liquidation_trades":[..]` (prints of liquidations, disjoint
/// from `trades`) and `"nonce"`, and give `timestamp` in milliseconds.
#[derive(Debug, Deserialize)]
pub struct TradeMsg<'a> {
    #[serde(borrow)]
    pub channel: &'a str,
    #[serde(default, borrow)]
    pub trades: Option<Vec<Trade<'a>>>,
    #[serde(default, borrow)]
    pub liquidation_trades: Option<Vec<Trade<'a>>>,
}

/// One print of [`TradeMsg`]. `is_maker_ask` true: the resting order was the ask, so
/// the taker bought.
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(borrow)]
    pub trade_id: &'a RawValue,
    pub market_id: i64,
    #[serde(borrow)]
    pub size: &'a RawValue,
    #[serde(borrow)]
    pub price: &'a RawValue,
    pub is_maker_ask: bool,
    /// Milliseconds since the epoch (seconds in the documentation's older example).
    pub timestamp: i64,
}

/// `update/market_stats` (and `subscribed/market_stats`):
/// `{"channel":"market_stats:0","market_stats":{"market_id":0,"index_price":"3335.04","mark_price":"3335.09","open_interest":"235.25","last_trade_price":"3335.65","current_funding_rate":"0.0057","funding_rate":"0.0005","funding_timestamp":1722337200000,"daily_base_token_volume":230206.48999999944,"daily_quote_token_volume":765295250.9804002,"daily_price_low":3265.13,"daily_price_high":3386.01,"daily_price_change":-1.1562612047992835},"type":"update/market_stats"}`;
/// current frames add `symbol`, `mid_price`, `open_interest_limit`, the funding clamps
/// and a top-level `timestamp` (ms). On `market_stats/all` the object maps market ids
/// to such objects.
#[derive(Debug, Deserialize)]
pub struct MarketStatsMsg<'a> {
    #[serde(borrow)]
    pub market_stats: &'a RawValue,
    #[serde(default)]
    pub timestamp: Option<i64>,
}

/// One market's statistics (see [`MarketStatsMsg`]).
#[derive(Debug, Deserialize)]
pub struct MarketStats<'a> {
    pub market_id: i64,
    #[serde(default, borrow)]
    pub index_price: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub mark_price: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub open_interest: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub last_trade_price: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub current_funding_rate: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub funding_rate: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub daily_base_token_volume: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub daily_quote_token_volume: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub daily_price_low: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub daily_price_high: Option<&'a RawValue>,
}

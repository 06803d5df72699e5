//! Kraken spot, WebSocket API v2 (`kraken`): `wss://ws.kraken.com/v2`.
//!
//! Channels: `trade` → `trade` (taker side, `trade_id` a per-book sequence), `ticker`
//! → `ticker` and `bbo` (subscribed with `event_trigger: "bbo"` when `bbo` is asked
//! for, so an update is published on every best-bid/offer change rather than only on
//! trades), `book` → `book` at a configurable depth (10, 25, 100, 500 or 1000).
//!
//! Book integrity (no sequence numbers on `book`): every snapshot and update carries
//! a CRC32 over the top 10 levels of the book after it is applied. The parser keeps
//! the exchange's text of every level (the checksum is over the text, trailing zeros
//! included), applies a whole message, truncates to the subscribed depth (levels that
//! fall out of scope are not deleted by the exchange; the published diff lists them
//! as deletions so it stays exact), and compares. On a mismatch: `status gap`
//! (`expected` = the exchange's checksum, `got` = ours), that symbol's book is
//! resubscribed (unsubscribe + subscribe with `snapshot: true`), nothing is published
//! for it until the fresh snapshot, which is itself verified. Other symbols go on.
//!
//! Control frames: `status` (on connect), `heartbeat` (about once a second when idle),
//! application `pong` (the client pings `{"method":"ping","req_id":0}`), one
//! subscribe acknowledgement *per symbol* (a request counts as confirmed on its last),
//! refusals with `success: false` and `error`.
//!
//! Limits: Kraken documents no fixed per-connection symbol cap and a dynamic message
//! rate (`{"error":"Exceeded msg rate"}`); the planner keeps at most
//! [`MAX_SYMBOLS_PER_CONNECTION`] symbols per connection and spaces requests by 250 ms.
//!
//! Doc audit 2026-12-02 — no change. Checked against "Spot WebSocket" (API reference),
//! "Book (Level 2)" and "Heartbeat" for v2 and the "Reconnection" guide (docs.kraken.com,
//! undated: consulted 2026-12-02): public v2 endpoint `wss://ws.kraken.com/v2`, book
//! depths 10/25/100/500/1000 (default 10) with CRC32 checksums on snapshot and updates,
//! heartbeats about once a second without subscribing to them, all match. The message
//! rate remains undocumented as a number (dynamic, "Exceeded msg rate"); the dedicated
//! spot WebSocket rate-limit page was not among the stored copies.

mod instruments;
mod parser;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use crate::book::BookConfig;
use crate::contract::connector::plan_chunks;
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, SourceRequest,
    SubscribeRequest, Topic,
};
use crate::symbols::{alphanumeric_parts, split_concatenated, SymbolInfo};

pub use parser::{checksum, KrakenParser};

/// Symbols per connection (our choice; Kraken documents no cap).
pub const MAX_SYMBOLS_PER_CONNECTION: usize = 100;
/// Book depths Kraken accepts.
pub const DEPTHS: [usize; 5] = [10, 25, 100, 500, 1000];
/// The default subscribed book depth (Kraken's own default).
pub const DEFAULT_DEPTH: usize = 10;

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book];

/// The Kraken spot (v2) connector.
pub struct Kraken;

/// The subscribed book depth: `[source.book] snapshot_depth` rounded up to a depth
/// Kraken serves (the deepest when above them all), else [`DEFAULT_DEPTH`].
pub fn book_depth(books: &BookConfig) -> usize {
    books.served_depth(&DEPTHS, DEFAULT_DEPTH)
}

impl Kraken {
    /// Normalizes a native v2 symbol (`BTC/USD` → `BTC-USD`).
    fn fallback_symbol(native: &str) -> SymbolInfo {
        SymbolInfo {
            market: Market::Spot,
            symbol: native.replace('/', "-").into(),
            native: native.into(),
        }
    }

    /// The subscribe requests for `channels` × `symbols` (one per channel, answered
    /// once per symbol), numbered 1, 2, ...
    fn requests(
        channels: &[Channel],
        symbols: &[SymbolInfo],
        depth: usize,
    ) -> Vec<SubscribeRequest> {
        let natives: Vec<&str> = symbols.iter().map(|s| s.native.as_str()).collect();
        let mut params: Vec<(Channel, &str, serde_json::Value)> = Vec::new();
        if channels.contains(&Channel::Trade) {
            params.push((
                Channel::Trade,
                "trade",
                serde_json::json!({"channel": "trade", "symbol": natives, "snapshot": true}),
            ));
        }
        if channels.contains(&Channel::Bbo) {
            // Published on every best-bid/offer change; carries the 24 h ticker too.
            params.push((
                Channel::Bbo,
                "ticker",
                serde_json::json!({"channel": "ticker", "symbol": natives, "event_trigger": "bbo"}),
            ));
        } else if channels.contains(&Channel::Ticker) {
            params.push((
                Channel::Ticker,
                "ticker",
                serde_json::json!({"channel": "ticker", "symbol": natives}),
            ));
        }
        if channels.contains(&Channel::Book) {
            params.push((
                Channel::Book,
                "book",
                serde_json::json!({"channel": "book", "symbol": natives, "depth": depth, "snapshot": true}),
            ));
        }
        params
            .into_iter()
            .enumerate()
            .map(|(i, (channel, name, p))| {
                let id = i as u64 + 1;
                SubscribeRequest {
                    id,
                    text: serde_json::json!({"method": "subscribe", "params": p, "req_id": id})
                        .to_string(),
                    topics: symbols
                        .iter()
                        .map(|s| Topic {
                            native: s.native.clone(),
                            channel,
                            name: format!("{name}:{}", s.native).into(),
                        })
                        .collect(),
                    answers: symbols.len(),
                }
            })
            .collect()
    }

    /// A parser for a plan's connection.
    pub fn new_parser(&self, plan: &ConnectionPlan) -> KrakenParser {
        KrakenParser::new(
            plan.channels,
            &plan.symbols,
            Self::fallback_symbol,
            book_depth(&plan.books),
            &plan.books,
        )
    }
}

impl Connector for Kraken {
    fn name(&self) -> &'static str {
        "kraken"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://ws.kraken.com/v2"
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://api.kraken.com"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        (host == "ws.kraken.com" && url.contains("/v2")).then_some(Market::Spot)
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("kraken", user, why);
        if market != Market::Spot {
            return Err(bad("Kraken v2 serves spot only"));
        }
        let upper = user.trim().to_ascii_uppercase();
        let (base, quote) = if let Some((b, q)) = upper.split_once(['/', '-']) {
            (b.to_string(), q.to_string())
        } else if let Some((b, q)) = split_concatenated(&upper) {
            (b.to_string(), q.to_string())
        } else {
            return Err(bad(
                "expected BASE-QUOTE (BTC-USD) or the v2 symbol (BTC/USD)",
            ));
        };
        if !alphanumeric_parts(&[&base, &quote]) {
            return Err(bad(
                "expected BASE-QUOTE (BTC-USD) or the v2 symbol (BTC/USD)",
            ));
        }
        // v2 names bitcoin BTC (v1's XBT is accepted and translated).
        let base = if base == "XBT" {
            "BTC".to_string()
        } else {
            base
        };
        Ok(SymbolInfo {
            market,
            symbol: format!("{base}-{quote}").into(),
            native: format!("{base}/{quote}").into(),
        })
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let depth = book_depth(&request.books);
        Ok(plan_chunks(
            request,
            MAX_SYMBOLS_PER_CONNECTION,
            Duration::from_millis(250),
            |plan, chunk| plan.requests = Self::requests(&request.channels, chunk, depth),
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        instruments::urls(market, rest_url)
    }

    fn parse_instruments(
        &self,
        market: Market,
        _url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse(market, body)
    }

    fn limits(&self) -> Limits {
        Limits {
            // trade, ticker and book for each symbol of a connection.
            max_streams_per_connection: MAX_SYMBOLS_PER_CONNECTION * 3,
            // Kraken documents no fixed connection or subscribe rate (the message rate
            // is dynamic: `{"error":"Exceeded msg rate"}`); requests are spaced instead.
            ..Limits::default()
        }
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: Some(r#"{"method":"ping","req_id":0}"#),
            // The heartbeat channel speaks about once a second when nothing else does.
            idle_timeout: Duration::from_secs(15),
            ..Heartbeat::default()
        }
    }
}

#[cfg(test)]
mod tests;

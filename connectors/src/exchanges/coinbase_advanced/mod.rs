//! Coinbase Advanced Trade market data (`coinbase-advanced`):
//! `wss://advanced-trade-ws.coinbase.com`, spot, public channels without authentication.
//!
//! Channels: `market_trades` → `trade` (`side` is the taker's, unlike the Exchange
//! feed's maker-side `match`); `ticker` → `ticker` and `bbo`; `level2` (arriving as
//! `l2_data`; `bid`/`offer` with absolute `new_quantity`, "0" removes) → `book`;
//! `heartbeats` always (channels close after 60–90 s without updates otherwise).
//!
//! Integrity: every message of a connection carries `sequence_num`, one more than the
//! previous message's whatever its channel or product. A jump means messages were lost
//! on this connection, and it cannot be known for which product: every book of the
//! connection gets `status gap` (`expected`/`got`) and is resubscribed (unsubscribe +
//! subscribe `level2` for those products; the new subscription starts with a
//! snapshot); the trade/ticker products get one connection-level `status gap` each.
//!
//! Limits (Advanced Trade "WebSocket Rate Limits"): 8 connections per second per IP,
//! 8 unauthenticated messages per second per IP — requests are spaced by 250 ms; one
//! channel per subscribe message; subscribe within 5 s of connecting. Products per
//! connection: at most [`MAX_PRODUCTS_PER_CONNECTION`] (our choice; none documented).
//!
//! Doc audit 2026-12-02 — no change. Checked against "Advanced Trade WebSocket Rate
//! Limits" and "WebSocket Channels" (docs.cdp.coinbase.com, coinbase-app section,
//! undated: consulted 2026-12-02): 8 connections/s and 8 unauthenticated messages/s per
//! IP, `heartbeats` every second with `heartbeat_counter` and no products, channels
//! closing within 60–90 s without updates, and the `market_trades` / `ticker` /
//! `level2` channels match. Not verified: the 5 s subscribe deadline (not on the pages
//! consulted); the coinbase-business copy of the rate-limit page says 750 connections/s
//! per IP, conflicting with the coinbase-app copy — the stricter 8/s is kept.

mod instruments;
mod parser;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use smol_str::SmolStr;

use crate::contract::connector::plan_chunks;
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::{product_id, SymbolInfo};

pub use parser::CoinbaseAdvancedParser;

/// Products per connection (our choice: a sequence jump resyncs every book of a
/// connection, so connections are kept moderate).
pub const MAX_PRODUCTS_PER_CONNECTION: usize = 50;

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book];

/// The Coinbase Advanced Trade connector.
pub struct CoinbaseAdvanced;

impl CoinbaseAdvanced {
    fn fallback_symbol(native: &str) -> SymbolInfo {
        SymbolInfo::same(Market::Spot, native)
    }

    pub fn new_parser(&self, plan: &ConnectionPlan) -> CoinbaseAdvancedParser {
        CoinbaseAdvancedParser::new(
            plan.channels,
            &plan.symbols,
            Self::fallback_symbol,
            &plan.books,
        )
    }
}

/// One subscribe message: one channel (the topics' name) for the topics' products
/// (none for `heartbeats`); answered once, in order.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let channel = topics
        .first()
        .map(|t| t.name.as_str())
        .unwrap_or("heartbeats");
    let products: Vec<&str> = topics
        .iter()
        .filter(|t| !t.native.is_empty())
        .map(|t| t.native.as_str())
        .collect();
    let text = if products.is_empty() {
        serde_json::json!({"type": "subscribe", "channel": channel}).to_string()
    } else {
        serde_json::json!({"type": "subscribe", "product_ids": products, "channel": channel})
            .to_string()
    };
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

impl Connector for CoinbaseAdvanced {
    fn name(&self) -> &'static str {
        "coinbase-advanced"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://advanced-trade-ws.coinbase.com"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        (host == "advanced-trade-ws.coinbase.com").then_some(Market::Spot)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://api.coinbase.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        match product_id(user).filter(|_| market == Market::Spot) {
            Some(id) => Ok(SymbolInfo::same(market, &id)),
            None => Err(PlanError::bad_symbol(
                "coinbase-advanced",
                user,
                "expected a spot product id BASE-QUOTE, e.g. BTC-USD",
            )),
        }
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let mut feeds: Vec<(Channel, &str)> = Vec::new();
        for &c in &request.channels {
            let f = match c {
                Channel::Trade => "market_trades",
                Channel::Bbo | Channel::Ticker => "ticker",
                Channel::Book => "level2",
                _ => continue,
            };
            if !feeds.iter().any(|(_, x)| *x == f) {
                feeds.push((c, f));
            }
        }
        Ok(plan_chunks(
            request,
            MAX_PRODUCTS_PER_CONNECTION,
            Duration::from_millis(250),
            |plan, chunk| {
                // Heartbeats first: they keep every other subscription open.
                plan.push_request(
                    encode,
                    vec![Topic {
                        native: SmolStr::default(),
                        channel: Channel::Ticker,
                        name: "heartbeats".into(),
                    }],
                );
                for (channel, feed) in &feeds {
                    let topics = chunk
                        .iter()
                        .map(|s| Topic {
                            native: s.native.clone(),
                            channel: *channel,
                            name: (*feed).into(),
                        })
                        .collect();
                    plan.push_request(encode, topics);
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            ping_interval: Some(Duration::from_secs(30)),
            // The heartbeats channel speaks every second.
            idle_timeout: Duration::from_secs(15),
            ..Heartbeat::default()
        }
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
            max_streams_per_connection: MAX_PRODUCTS_PER_CONNECTION * 3,
            connect_attempts: Some(RateWindow::per_secs(8, 1)),
            ..Limits::default()
        }
    }
}

#[cfg(test)]
mod tests;

//! Coinbase Exchange feed (`coinbase`): `matches` → `trade` (taker side: the feed's
//! `side` is the maker's, so it is inverted), `ticker` → `bbo` and `ticker`,
//! `level2_batch` → `book` (snapshot, then changes), plus the `heartbeat` channel,
//! which keeps quiet products alive and carries `last_trade_id` for trade-gap
//! detection.
//!
//! One subscribe message per product (the first within the 5 s the feed allows), so a
//! refusal (`{"type":"error","message":"Failed to subscribe","reason":"XYZ-USD is not a
//! valid product"}`) concerns one product and names it; each message is confirmed by
//! a `subscriptions` reply.
//!
//! Limits (docs.cdp.coinbase.com, Exchange WebSocket rate limits): 8 connection
//! requests per second per IP (burst 20), 100 client messages per second per IP
//! (requests spaced by 100 ms per connection); no documented cap on products per
//! connection — the planner keeps [`MAX_PRODUCTS_PER_CONNECTION`].
//!
//! Doc audit 2026-12-02 — no change. Checked against "Exchange WebSocket Rate Limits",
//! "WebSocket Feed" and "Exchange WebSocket Channels" (docs.cdp.coinbase.com, undated:
//! consulted 2026-12-02): endpoint `wss://ws-feed.exchange.coinbase.com`, subscribe
//! within 5 s, `heartbeat` once a second per product with `sequence` and
//! `last_trade_id`, `level2_batch` (50 ms batches, no authentication), `matches` and
//! `ticker` all match; 8 requests/s per IP (burst 20) and 100 client messages/s per IP
//! match the limits above. Not acted on: the same page limits Exchange *accounts* to 10
//! subscriptions per product per channel (this feed is unauthenticated, and the planner
//! subscribes each product/channel once per source); Coinbase's help page "Market Data
//! Connections" (effective 2024-06-24) gives 10 RPS / 1000 burst for subscription
//! requests, which conflicts with the developer page — the stricter 8/s is kept.

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

pub use parser::CoinbaseParser;

/// Products per connection. Coinbase documents no hard per-connection product cap;
/// staying well below keeps one connection's volume within one core's reach and the
/// subscribe frame small.
pub const MAX_PRODUCTS_PER_CONNECTION: usize = 100;

/// The Coinbase Exchange feed connector.
pub struct Coinbase;

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book];

impl Coinbase {
    fn fallback_symbol(native: &str) -> SymbolInfo {
        SymbolInfo::same(Market::Spot, native)
    }

    /// The feed channels that carry the requested normalized channels, for one
    /// product (heartbeats always: they carry the sequence checks).
    fn topics(channels: &[Channel], native: &SmolStr) -> Vec<Topic> {
        let mut out: Vec<Topic> = Vec::new();
        for &c in channels {
            let name = match c {
                Channel::Trade => "matches",
                Channel::Bbo | Channel::Ticker => "ticker",
                Channel::Book => "level2_batch",
                _ => continue,
            };
            if !out.iter().any(|t| t.name == name) {
                out.push(Topic {
                    native: native.clone(),
                    channel: c,
                    name: name.into(),
                });
            }
        }
        out.push(Topic {
            native: native.clone(),
            channel: Channel::Ticker,
            name: "heartbeat".into(),
        });
        out
    }

    pub fn new_parser(plan: &ConnectionPlan) -> CoinbaseParser {
        CoinbaseParser::new(plan.channels, &plan.symbols, Self::fallback_symbol)
    }
}

/// One subscribe message for the topics' products and channels; the feed answers
/// each with `subscriptions` or `error`, in order.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let mut products: Vec<&str> = Vec::new();
    let mut channels: Vec<&str> = Vec::new();
    for t in &topics {
        if !products.contains(&t.native.as_str()) {
            products.push(&t.native);
        }
        if !channels.contains(&t.name.as_str()) {
            channels.push(&t.name);
        }
    }
    let text =
        serde_json::json!({"type": "subscribe", "product_ids": products, "channels": channels})
            .to_string();
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

impl Connector for Coinbase {
    fn name(&self) -> &'static str {
        "coinbase"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://ws-feed.exchange.coinbase.com"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        // The Exchange feed, on its current host and its former `pro` one.
        let host = crate::session::gate::host_of(url);
        matches!(
            host,
            "ws-feed.exchange.coinbase.com" | "ws-feed.pro.coinbase.com"
        )
        .then_some(Market::Spot)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://api.exchange.coinbase.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        match product_id(user) {
            Some(id) => Ok(SymbolInfo::same(market, &id)),
            None => Err(PlanError::bad_symbol(
                self.name(),
                user,
                "expected a product id BASE-QUOTE, e.g. BTC-USD",
            )),
        }
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        // 100 client messages/s per IP shared by every connection: 10/s each.
        let send_interval = Duration::from_millis(100);
        Ok(plan_chunks(
            request,
            MAX_PRODUCTS_PER_CONNECTION,
            send_interval,
            |plan, chunk| {
                plan.encode = Some(encode);
                // One subscribe message per product: the feed refuses a whole message
                // when one product is invalid, so one bad symbol cannot take down the
                // others; each message is answered by `subscriptions` or `error`.
                for s in chunk {
                    plan.push_request(encode, Self::topics(&request.channels, &s.native));
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            ping_interval: Some(Duration::from_secs(30)),
            // The heartbeat channel sends one message per product per second.
            idle_timeout: Duration::from_secs(30),
            // Heartbeats keep the socket alive; a product without matches or ticker
            // updates for a minute (the default) is worth announcing.
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
            max_streams_per_connection: MAX_PRODUCTS_PER_CONNECTION * 4,
            // "8 requests per second per IP, bursts up to 20" also applies to
            // WebSocket connection requests.
            connect_attempts: Some(RateWindow::per_secs(8, 1)),
            // 100 client messages/s per IP are paced by `send_interval`.
            ..Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_one_subscribe_per_product() {
        let c = Coinbase;
        let request = SourceRequest {
            market: Market::Spot,
            channels: vec![Channel::Trade, Channel::Bbo, Channel::Ticker],
            symbols: vec![
                c.symbol(Market::Spot, "btc-usd").unwrap(),
                c.symbol(Market::Spot, "ETH-USD").unwrap(),
            ],
            ws_url: "ws://127.0.0.1:1".into(),
            rest_url: String::new(),
            books: Default::default(),
        };
        let plans = c.plan(&request).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(
            plans[0].texts(),
            vec![
                r#"{"channels":["matches","ticker","heartbeat"],"product_ids":["BTC-USD"],"type":"subscribe"}"#,
                r#"{"channels":["matches","ticker","heartbeat"],"product_ids":["ETH-USD"],"type":"subscribe"}"#,
            ]
        );
        assert!(c.symbol(Market::Spot, "BTCUSD").is_err());
    }
}

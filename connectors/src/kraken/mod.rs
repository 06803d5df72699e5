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

mod parser;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use crate::parse::FrameParser;
use crate::spec::{
    Channel, ConnectionPlan, Connector, Heartbeat, Limits, PlanError, SourceRequest,
};
use crate::symbols::{split_concatenated, SymbolInfo};

pub use parser::{checksum, KrakenParser};

/// Symbols per connection (our choice; Kraken documents no cap).
pub const MAX_SYMBOLS_PER_CONNECTION: usize = 100;
/// Book depths Kraken accepts.
pub const DEPTHS: [usize; 5] = [10, 25, 100, 500, 1000];
/// The default subscribed book depth (Kraken's own default).
pub const DEFAULT_DEPTH: usize = 10;

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Ticker, Channel::Book];

/// The Kraken spot (v2) connector. `depth` is the subscribed book depth.
pub struct Kraken {
    pub depth: usize,
}

impl Default for Kraken {
    fn default() -> Self {
        Kraken {
            depth: DEFAULT_DEPTH,
        }
    }
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

    /// The subscribe requests for `channels` × `symbols`, numbered from `first_req_id`.
    fn requests(&self, channels: &[Channel], symbols: &[&str], first_req_id: u64) -> Vec<String> {
        let mut params: Vec<serde_json::Value> = Vec::new();
        if channels.contains(&Channel::Trade) {
            params
                .push(serde_json::json!({"channel": "trade", "symbol": symbols, "snapshot": true}));
        }
        if channels.contains(&Channel::Bbo) {
            // Published on every best-bid/offer change; carries the 24 h ticker too.
            params.push(
                serde_json::json!({"channel": "ticker", "symbol": symbols, "event_trigger": "bbo"}),
            );
        } else if channels.contains(&Channel::Ticker) {
            params.push(serde_json::json!({"channel": "ticker", "symbol": symbols}));
        }
        if channels.contains(&Channel::Book) {
            params.push(serde_json::json!({"channel": "book", "symbol": symbols, "depth": self.depth, "snapshot": true}));
        }
        params
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                serde_json::json!({"method": "subscribe", "params": p, "req_id": first_req_id + i as u64})
                    .to_string()
            })
            .collect()
    }

    /// A parser for a plan's connection (the plan's requests tell it the req ids, the
    /// number of symbols each acknowledges, and the book depth).
    pub fn new_parser(&self, plan: &ConnectionPlan) -> KrakenParser {
        let mut requests = Vec::new();
        let mut depth = self.depth;
        for frame in &plan.subscribe {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(frame) else {
                continue;
            };
            let req = v["req_id"].as_u64().unwrap_or(0);
            let n = v["params"]["symbol"].as_array().map_or(1, |a| a.len());
            if let Some(d) = v["params"]["depth"].as_u64() {
                depth = d as usize;
            }
            requests.push((req, n));
        }
        KrakenParser::new(
            plan.channels,
            &plan.symbols,
            Self::fallback_symbol,
            depth,
            &requests,
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

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::BadSymbol {
            exchange: "kraken",
            symbol: user.to_string(),
            why: why.to_string(),
        };
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
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok(&base) || !ok(&quote) {
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
        if !DEPTHS.contains(&self.depth) {
            return Err(PlanError::BadSymbol {
                exchange: "kraken",
                symbol: format!("book depth {}", self.depth),
                why: format!("Kraken accepts depths {DEPTHS:?}"),
            });
        }
        Ok(request
            .symbols
            .chunks(MAX_SYMBOLS_PER_CONNECTION)
            .map(|chunk| {
                let natives: Vec<&str> = chunk.iter().map(|s| s.native.as_str()).collect();
                ConnectionPlan {
                    url: request.ws_url.clone(),
                    subscribe: self.requests(&request.channels, &natives, 1),
                    market: request.market,
                    channels: request.channels.iter().copied().collect(),
                    symbols: chunk.to_vec(),
                    send_interval: Duration::from_millis(250),
                }
            })
            .collect())
    }

    /// The book depth comes from `[source.book] snapshot_depth`, rounded up to a
    /// depth the exchange serves (the deepest when above them all).
    fn plan_books(
        &self,
        request: &SourceRequest,
        book: &crate::book::BookConfig,
    ) -> Result<Vec<ConnectionPlan>, PlanError> {
        let depth = match book.snapshot_depth {
            Some(d) => DEPTHS
                .iter()
                .copied()
                .find(|x| *x >= d as usize)
                .unwrap_or(DEPTHS[DEPTHS.len() - 1]),
            None => self.depth,
        };
        Kraken { depth }.plan(request)
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn limits(&self) -> Limits {
        Limits {
            // trade, ticker and book for each symbol of a connection.
            max_streams_per_connection: MAX_SYMBOLS_PER_CONNECTION * 3,
            // Kraken documents no fixed connection or subscribe rate (the message rate
            // is dynamic: `{"error":"Exceeded msg rate"}`); requests are spaced instead.
            connect_attempts: None,
            subscribe_requests: None,
        }
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: Some(r#"{"method":"ping","req_id":0}"#),
            ping_interval: Some(Duration::from_secs(20)),
            // The heartbeat channel speaks about once a second when nothing else does.
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            stale_after: Duration::from_secs(60),
            subscribe_timeout: Duration::from_secs(10),
            max_connection_age: None,
        }
    }
}

#[cfg(test)]
mod tests;

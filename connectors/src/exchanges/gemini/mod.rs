//! Gemini market data v2 (`gemini`, spot): one WebSocket per batch of symbols on
//! `wss://api.gemini.com/v2/marketdata`, one `subscribe` naming the `l2` feed of every
//! symbol of the connection. That one feed carries everything tickbridge normalizes:
//! `l2_updates` → `book` (the first frame of a symbol is its whole book, later ones
//! absolute level changes, `"0"` deletes) and `bbo` (derived from the book), and
//! `trade` frames → `trade` (taker side from `side`). The last 50 trades the initial
//! `l2_updates` carries (`trades`) are history, not published; auction and candle
//! frames are not normalized.
//!
//! Document followed: Gemini "Market Data v2" (docs.gemini.com/websocket/market-data/v2,
//! undated; stored copies consulted 2026-12-02, among them developer.gemini.com's
//! "Market Data v2 (Archived)", which says the v2 feed is kept for reference and new
//! integrations should use the newer WebSocket API on `wss://ws.gemini.com`
//! (`{symbol}@trade`, `{symbol}@depth@100ms`, ... streams): that API is a different
//! protocol and is NOT implemented here; v2 is the feed the brief and the recording
//! use). Subscribe: `{"type":"subscribe","subscriptions":[{"name":"l2","symbols":[..]}]}`;
//! unsubscribe likewise with `"type":"unsubscribe"`. v2 sends no acknowledgement: the
//! initial `l2_updates` of each symbol is its confirmation (one answer per symbol,
//! [`crate::Parsed::Acked`] by topic `l2:SYMBOL`, the book records appended with it).
//! Errors (`{"type":"error",...}` or `{"result":"error","reason":..}`, the REST error
//! shape; no example in the v2 page) are unattributed refusals.
//!
//! Integrity: v2 frames have no sequence. The v1 feed numbers every frame of a
//! connection with `socket_sequence` (0, 1, 2, ...); wherever a frame carries one, a
//! jump is a gap of every book of the connection: each gets `status gap` and is
//! resubscribed (unsubscribe + subscribe of its `l2`, which starts with a fresh
//! book), throttled per symbol ([`crate::book::resync::Resyncs`]).
//!
//! Heartbeat: the server sends `{"type":"heartbeat","timestamp":..}` every 5 s (seen
//! in the recording; the v2 page does not state the interval); the client sends
//! protocol pings (the default rules). Limits: "For public WebSocket APIs, we limit
//! requests to 12 requests per minute" (Gemini WebSocket API overview, rate limits;
//! stored copy consulted 2026-12-02) → 12 connection attempts per minute; symbols per
//! connection are not documented: the planner keeps [`MAX_SYMBOLS_PER_CONNECTION`].
//!
//! Corpus (`cryptofeed/gemini`, 2021-06-24): host `api.gemini.com/v2/marketdata/`
//! (trailing slash), 10 symbols, no `tid` on trades (only `event_id`, used as the
//! trade id where `tid` is absent), no `socket_sequence`, no error frames. Not
//! verified against a recording: error frames, `socket_sequence` on v2, resubscribe
//! answers.
//!
//! Instruments: `GET /v1/symbols` lists names only; base/quote/tick come from one
//! `GET /v1/symbols/details/{symbol}` per symbol (`instruments.rs`), which is what the
//! recording fetched: [`Connector::instrument_urls_for`] names one request per symbol
//! of the source, so each symbol is checked against Gemini's own details (base, quote,
//! increments, status) and published as an `instrument` record. A pattern (`*-USD`)
//! names no request: there is no whole list with base and quote to match it against.

mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::connector::plan_chunks;
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use instruments::parse_details;
pub use parser::GeminiParser;

/// Symbols per connection (Gemini documents no cap).
pub const MAX_SYMBOLS_PER_CONNECTION: usize = 50;

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Book];

/// Quote currencies of Gemini's symbols, longest first (`BTCGUSD` is BTC/GUSD).
const QUOTES: &[&str] = &[
    "GUSD", "USDT", "USDC", "RLUSD", "USD", "EUR", "GBP", "SGD", "AUD", "CAD", "DAI", "BTC", "ETH",
    "LTC", "BCH", "SOL", "FIL",
];

/// The topic name of one symbol's `l2` subscription (answers name it).
pub fn topic_name(native: &str) -> SmolStr {
    format!("l2:{native}").into()
}

/// Symbols the longest-quote rule splits wrongly (`PAXGUSD` is PAXG/USD, not
/// PAX/GUSD), as the symbol details name them.
const EXCEPTIONS: &[(&str, &str, &str)] = &[("PAXGUSD", "PAXG", "USD")];

/// Splits a Gemini symbol (`BTCUSD`, upper case) into base and quote.
pub fn split(native: &str) -> Option<(&str, &str)> {
    if let Some((_, b, q)) = EXCEPTIONS.iter().find(|(n, _, _)| *n == native) {
        return Some((b, q));
    }
    QUOTES
        .iter()
        .filter(|q| native.len() > q.len() && native.ends_with(*q))
        .max_by_key(|q| q.len())
        .map(|q| native.split_at(native.len() - q.len()))
}

/// The Gemini connector.
pub struct Gemini;

impl Gemini {
    /// A symbol seen in a frame without a plan naming it (recordings).
    fn fallback_symbol(native: &str) -> SymbolInfo {
        let symbol = match split(native) {
            Some((b, q)) => format!("{b}-{q}"),
            None => native.to_string(),
        };
        SymbolInfo {
            market: Market::Spot,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> GeminiParser {
        GeminiParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            Self::fallback_symbol,
        )
    }
}

/// The subscribe (or unsubscribe) frame of the `l2` feed of `symbols`.
pub fn l2_frame(op: &str, symbols: &[&str]) -> String {
    serde_json::json!({"type": op, "subscriptions": [{"name": "l2", "symbols": symbols}]})
        .to_string()
}

/// One `subscribe` of the `l2` feed of every symbol of `topics`, answered once per
/// symbol (by its initial `l2_updates`).
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let mut symbols: Vec<&str> = Vec::new();
    for t in &topics {
        if !symbols.contains(&t.native.as_str()) {
            symbols.push(t.native.as_str());
        }
    }
    let text = l2_frame("subscribe", &symbols);
    let answers = symbols.len().max(1);
    SubscribeRequest {
        id,
        text,
        topics,
        answers,
    }
}

impl Connector for Gemini {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://api.gemini.com/v2/marketdata"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let rest = url.split_once(host).map(|(_, r)| r).unwrap_or("");
        (matches!(host, "api.gemini.com" | "api.sandbox.gemini.com")
            && rest.starts_with("/v2/marketdata"))
        .then_some(Market::Spot)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://api.gemini.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("gemini", user, why);
        if market != Market::Spot {
            return Err(bad("Gemini market data v2 serves spot only here"));
        }
        let upper = user.trim().to_ascii_uppercase();
        let (base, quote) = if let Some((b, q)) = upper.split_once(['/', '-']) {
            (b.to_string(), q.to_string())
        } else if let Some((b, q)) = split(&upper) {
            (b.to_string(), q.to_string())
        } else {
            return Err(bad("expected BASE-QUOTE (BTC-USD) or the symbol (btcusd)"));
        };
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok(&base) || !ok(&quote) {
            return Err(bad("expected BASE-QUOTE (BTC-USD) or the symbol (btcusd)"));
        }
        Ok(SymbolInfo {
            market,
            symbol: format!("{base}-{quote}").into(),
            native: format!("{base}{quote}").into(),
        })
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let channel = request.channels.first().copied().unwrap_or(Channel::Book);
        Ok(plan_chunks(
            request,
            MAX_SYMBOLS_PER_CONNECTION,
            Duration::from_millis(200),
            |plan, chunk| {
                plan.encode = Some(encode);
                let topics = chunk
                    .iter()
                    .map(|s| Topic {
                        native: s.native.clone(),
                        channel,
                        name: topic_name(&s.native),
                    })
                    .collect();
                plan.push_request(encode, topics);
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat::default()
    }

    fn instrument_urls_for(
        &self,
        market: Market,
        rest_url: &str,
        symbols: &[String],
    ) -> Vec<String> {
        let base = rest_url.trim_end_matches('/');
        let mut urls: Vec<String> = Vec::new();
        for s in symbols {
            if s.contains('*') {
                continue;
            }
            if let Ok(info) = self.symbol(market, s) {
                let url = format!(
                    "{base}/v1/symbols/details/{}",
                    info.native.to_ascii_lowercase()
                );
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
        urls
    }

    fn parse_instruments(
        &self,
        market: Market,
        _url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse_details(market, body)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams_per_connection: MAX_SYMBOLS_PER_CONNECTION,
            connect_attempts: Some(RateWindow::per_secs(12, 60)),
            subscribe_requests: None,
        }
    }
}

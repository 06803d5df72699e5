//! Kraken Futures WebSocket API v1 (`kraken-futures`): `wss://futures.kraken.com/ws/v1`.
//!
//! Markets and symbols: `perp` — multi-collateral ("flexible") `PF_XBTUSD` ↔
//! `BTC-USD-PERP`, inverse `PI_XBTUSD` ↔ `BTC-USD-PERP-INV`; `future` — `FF_XBTUSD_241227`
//! ↔ `BTC-USD-241227`, inverse `FI_XBTUSD_241227` ↔ `BTC-USD-241227-INV` (`XBT` is
//! bitcoin, as in `kraken`). Kraken lists a flexible and an inverse contract of the
//! same pair side by side (both BTC/USD perpetuals), so the inverse ones, settled in
//! the base coin, carry `-INV`: one normalized name per instrument.
//!
//! Channels (feeds): `trade` → `trade` (`side` is the taker's; `seq` counts the
//! product's trades; trades of `type` `liquidation` are also `liquidation` records;
//! the `trade_snapshot` that opens a subscription holds earlier trades and is not
//! republished); `ticker` → `ticker` (last, bid/ask with sizes, `volume` as base
//! volume, `volumeQuote`), `bbo` (its bid/ask with sizes), `mark_price` (`markPrice`,
//! `index`), `open_interest` (`openInterest`, contracts) and `funding` (perpetuals:
//! `relative_funding_rate` — the rate as a fraction; `funding_rate` is an amount per
//! contract —, predicted `relative_funding_rate_prediction`, next
//! `next_funding_rate_time`; the page says funding fields are left out when zero, so a
//! perpetual's missing rate is 0); `ticker_lite` frames (bid/ask without sizes, as
//! the recording subscribed) → `bbo`; `book_snapshot` then `book` → `book`.
//!
//! Book integrity: `book_snapshot` carries `seq`, and each `book` delta the next
//! `seq` of its product. A delta whose `seq` is not the last + 1 (older ones are
//! skipped) → `status gap` (`expected`/`got`) and that product's `book` feed alone is
//! unsubscribed and subscribed again (the new subscription starts with a snapshot),
//! throttled per product; a delta before any snapshot is a gap too. No checksum.
//!
//! Document followed: Kraken API Center, "Futures Websockets" guide and the feed
//! pages `book`, `ticker`, `heartbeat` (docs.kraken.com/api/docs/futures-api/websocket,
//! undated; consulted 2026-12-02) and the support article "Subscriptions (WebSockets
//! API)": one `{"event":"subscribe","feed":..,"product_ids":[..]}` per feed, answered
//! by `subscribed` / `subscribed_failed` events, or `{"event":"error","message":..}`
//! (`Invalid product id`, `Invalid feed`, `Json Error`; in send order, naming no
//! product: it refuses the oldest unanswered request); `alert` events report
//! problems with no request attached; `{"event":"info","version":1}` on connect.
//! Heartbeat: "make a ping request at least every 60 seconds": protocol pings every
//! 30 s; the `heartbeat` feed's frames (`{"feed":"heartbeat","time":..}`) count as
//! heartbeats (it is not subscribed). Answers come one per product (as recorded):
//! a request counts as answered once every product was.
//!
//! Limits: the pages consulted document no cap on feeds or products per connection
//! and no message rate for public feeds; [`MAX_PRODUCTS_PER_CONNECTION`] products per
//! connection and 100 ms between requests are our choice.
//!
//! The recording (`cryptofeed/kraken_futures`, 2021-07-22) is this API on this host:
//! it subscribed `book`, `trade` and `ticker_lite` of inverse contracts only (the
//! flexible `PF_`/`FF_` contracts came later): `ticker`'s funding, mark-price and
//! open-interest mapping, `subscribed_failed`/`error`/`alert` and flexible symbols are
//! verified against the documented examples in the table tests only. The instrument
//! list recorded then lacks the current `base`/`quote` fields (the pair is read from
//! the symbol there).

mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::connector::{plan_chunks, FUTURE_CHANNELS, PERP_CHANNELS};
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, PlanError, SourceRequest,
    SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::KrakenFuturesParser;

/// Products per connection (Kraken documents no cap).
pub const MAX_PRODUCTS_PER_CONNECTION: usize = 100;

const SUPPORTED: &[(Market, &[Channel])] = &[
    (Market::Perp, PERP_CHANNELS),
    (Market::Future, FUTURE_CHANNELS),
];

/// Feeds in the order a plan subscribes them.
const FEEDS: [&str; 3] = ["trade", "book", "ticker"];

/// Quote currencies of the contracts' pairs, longest first.
const QUOTES: &[&str] = &["USDT", "USDC", "USD", "EUR", "GBP", "XBT"];

/// The Kraken Futures connector.
pub struct KrakenFutures;

/// Bitcoin is `XBT` in Kraken's symbols.
pub fn asset(code: &str) -> &str {
    match code {
        "XBT" => "BTC",
        other => other,
    }
}

fn native_asset(code: &str) -> &str {
    match code {
        "BTC" => "XBT",
        other => other,
    }
}

/// `XBTUSD` → (`XBT`, `USD`).
pub fn split_pair(pair: &str) -> Option<(&str, &str)> {
    QUOTES
        .iter()
        .find(|q| pair.len() > q.len() && pair.ends_with(*q))
        .map(|q| pair.split_at(pair.len() - q.len()))
}

fn is_date(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The feed carrying a channel.
fn feed_of(channel: Channel) -> &'static str {
    match channel {
        Channel::Trade | Channel::Liquidation => "trade",
        Channel::Book => "book",
        Channel::Bbo
        | Channel::Ticker
        | Channel::Funding
        | Channel::OpenInterest
        | Channel::MarkPrice => "ticker",
    }
}

impl KrakenFutures {
    /// The symbol of a product id as frames name it (`PI_XBTUSD`).
    pub fn normalize(native: &str) -> SymbolInfo {
        let upper = native.to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('_').collect();
        let pair = |p: &str| split_pair(p).map(|(b, q)| format!("{}-{}", asset(b), asset(q)));
        let found = match parts.as_slice() {
            [kind @ ("PF" | "PI"), p] => pair(p).map(|pair| {
                let inv = if *kind == "PI" { "-INV" } else { "" };
                (Market::Perp, format!("{pair}-PERP{inv}"))
            }),
            [kind @ ("FF" | "FI"), p, date] if is_date(date) => pair(p).map(|pair| {
                let inv = if *kind == "FI" { "-INV" } else { "" };
                (Market::Future, format!("{pair}-{date}{inv}"))
            }),
            _ => None,
        };
        let (market, symbol) = found.unwrap_or((Market::Perp, upper.clone()));
        SymbolInfo {
            market,
            symbol: symbol.into(),
            native: upper.into(),
        }
    }

    /// The product id of a normalized symbol.
    fn native_of(parts: &[&str]) -> Option<String> {
        let pair = |b: &str, q: &str| format!("{}{}", native_asset(b), native_asset(q));
        match parts {
            [b, q, "PERP"] => Some(format!("PF_{}", pair(b, q))),
            [b, q, "PERP", "INV"] => Some(format!("PI_{}", pair(b, q))),
            [b, q, d] if is_date(d) => Some(format!("FF_{}_{d}", pair(b, q))),
            [b, q, d, "INV"] if is_date(d) => Some(format!("FI_{}_{d}", pair(b, q))),
            _ => None,
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> KrakenFuturesParser {
        KrakenFuturesParser::new(plan.channels, &plan.symbols, &plan.books, Self::normalize)
    }
}

/// One `subscribe` of one feed for the products of `topics` (all of one feed),
/// answered once per product.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let feed = topics
        .first()
        .and_then(|t| t.name.split_once(':'))
        .map_or("trade", |(f, _)| f)
        .to_string();
    let mut products: Vec<&str> = Vec::new();
    for t in &topics {
        if !products.contains(&t.native.as_str()) {
            products.push(t.native.as_str());
        }
    }
    SubscribeRequest {
        id,
        text: serde_json::json!({"event": "subscribe", "feed": feed, "product_ids": products})
            .to_string(),
        answers: products.len(),
        topics,
    }
}

impl Connector for KrakenFutures {
    fn name(&self) -> &'static str {
        "kraken-futures"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        SUPPORTED
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://futures.kraken.com/ws/v1"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        (host == "futures.kraken.com" && path.split('?').next() == Some("ws/v1"))
            .then_some(Market::Perp)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://futures.kraken.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("kraken-futures", user, why);
        let upper = user.trim().to_ascii_uppercase();
        if !crate::symbols::symbol_text(&upper, b"_-") {
            return Err(bad(
                "expected BTC-USD-PERP, BTC-USD-241227 or a product id such as PF_XBTUSD",
            ));
        }
        let native = if upper.contains('_') {
            upper.clone()
        } else {
            let parts: Vec<&str> = upper.split('-').collect();
            Self::native_of(&parts).ok_or_else(|| {
                bad("expected BASE-QUOTE-PERP[-INV], BASE-QUOTE-YYMMDD[-INV] or a product id")
            })?
        };
        let info = Self::normalize(&native);
        if info.symbol == info.native {
            return Err(bad("expected a PF_, PI_, FF_ or FI_ product id"));
        }
        PlanError::expect_market("kraken-futures", user, info, market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        Ok(plan_chunks(
            request,
            MAX_PRODUCTS_PER_CONNECTION,
            Duration::from_millis(100),
            |plan, chunk| {
                plan.encode = Some(encode);
                for feed in FEEDS {
                    let mut topics: Vec<Topic> = Vec::new();
                    for s in chunk {
                        for &c in &request.channels {
                            if feed_of(c) != feed {
                                continue;
                            }
                            let name: SmolStr = format!("{feed}:{}", s.native).into();
                            if !topics.iter().any(|t| t.name == name) {
                                topics.push(Topic {
                                    native: s.native.clone(),
                                    channel: c,
                                    name,
                                });
                            }
                        }
                    }
                    if !topics.is_empty() {
                        plan.push_request(encode, topics);
                    }
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            // "A ping request at least every 60 seconds": protocol pings.
            app_ping: None,
            ping_interval: Some(Duration::from_secs(30)),
            idle_timeout: Duration::from_secs(90),
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

    fn limits(&self) -> crate::contract::Limits {
        crate::contract::Limits {
            max_streams_per_connection: MAX_PRODUCTS_PER_CONNECTION * FEEDS.len(),
            ..crate::contract::Limits::default()
        }
    }
}

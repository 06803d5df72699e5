//! Hyperliquid WebSocket API (`hyperliquid`, perps and spot on one endpoint,
//! `wss://api.hyperliquid.xyz/ws`): `trades` → `trade` (taker side from `side`: `B` =
//! the taker bought, `A` = sold), `l2Book` (every message the whole top of the book,
//! up to 20 levels a side) → `book` (each message a snapshot), `bbo` → `bbo`,
//! `activeAssetCtx` → `funding` (`funding`), `open_interest` (`openInterest`, in coins),
//! `mark_price` (`markPx`, with `oraclePx` as the index price) and `ticker`
//! (`prevDayPx` as the 24 h open, `dayBaseVlm` / `dayNtlVlm` as the base and quote
//! volumes) for perps; a spot coin's context (channel `activeSpotAssetCtx`) has no
//! funding, open interest or oracle price: it yields `mark_price` (no index) and
//! `ticker` only.
//!
//! **bbo**: from the `bbo` subscription, not derived from `l2Book`. The l2Book feed is
//! pushed at most every 0.5 s ("Snapshot feed, pushed on each block that is at least
//! 0.5 since last push"), while `bbo` is pushed on every block where the top of the
//! book changed: a bbo derived from the book would lag and miss tops. The price is one
//! more subscription per coin, counted in the budget below.
//!
//! Symbols ([`Hyperliquid::symbol`], and the instrument list, see `instruments.rs`):
//! - perps of the first (Hyperliquid's own) dex settle in USDC: `BTC-USDC-PERP`,
//!   native the coin `BTC` as the wire writes it (case kept: `kPEPE`).
//! - perps of builder-deployed dexes (HIP-3) keep the dex prefix in both: native
//!   `xyz:XYZ100`, normalized `xyz:XYZ100-<SETTLE>-PERP` with the dex's collateral
//!   token as the settle asset (`xyz:XYZ100-USDC-PERP`; a dex collateralized in USDH
//!   gives `-USDH-PERP`). The prefix keeps them apart from a first-dex coin of the
//!   same name.
//! - spot pairs are named by their tokens, `PURR-USDC`, `HYPE-USDC`; native the coin the
//!   wire uses for the pair: the pair name for `PURR/USDC`, `@<index>` (`@107`) for
//!   every other pair.
//!
//! Without the instrument list (`on_unavailable = "unverified"`), `BASE-USDC-PERP` or
//! `BTC` name a first-dex perp, `dex:COIN[-SETTLE-PERP]` a builder perp (its settle
//! taken as written, USDC by default), `@107` a spot pair by index and `BASE-QUOTE` /
//! `BASE/QUOTE` a spot pair by name (only `PURR/USDC` is named so on the wire).
//!
//! Documents followed (consulted 2026-12-02; the stored copies are undated, the pages
//! live on hyperliquid.gitbook.io): "Websocket" (endpoint, the `subscribe` message and
//! its `subscriptionResponse` answer), "Websocket / Subscriptions" (`trades`,
//! `l2Book`; the `WsTrade`, `WsBook`, `WsLevel` types and "pushed on each block that
//! is at least 0.5 since last push"), "Websocket / Timeouts and heartbeats" (the
//! server closes a connection to which nothing was sent for 60 s; `{"method":"ping"}`
//! is answered `{"channel":"pong"}`), "Info endpoint" (`meta`, `spotMeta`,
//! `perpDexs`, `meta` with `dex`), "Rate limits and user limits". The stored copy of
//! the Subscriptions page predates `bbo` and `activeAssetCtx`; their requests and
//! types (`WsBbo`, `WsActiveAssetCtx`, `WsActiveSpotAssetCtx` on the channel
//! `activeSpotAssetCtx`) are taken from reference clients: the TypeScript SDK
//! `@nktkas/hyperliquid` (0.24-0.28) and nautilus_trader's Hyperliquid adapter
//! (consulted 2026-12-02), as are the error frame `{"channel":"error","data":"<text>"}`
//! and its texts (`Invalid subscription {...}`, `Already subscribed: {...}`; the docs
//! show no example).
//!
//! Acknowledgement: one `subscriptionResponse` per subscribe message, echoing its
//! subscription (matched by topic `<type>:<coin>`); an `error` frame naming a
//! subscription refuses that one (its coin), any other error is reported for the
//! connection.
//!
//! Book integrity: every `l2Book` message is a whole book, so nothing between two is
//! lost; per coin, a `time` older than the last one published is a `status gap` (the
//! coin's next message resyncs it: `status resynced` + snapshot), the same `time`
//! again means the book stalled (`status stale`, channel `book`, once per episode; the
//! repeat is not published), and a coin whose l2Book stays away for
//! [`BOOK_STALL_AFTER`] while the books of other coins keep coming is announced
//! `status stale` too (the session's own `stale` covers a connection gone quiet as a
//! whole). Other coins are never touched.
//!
//! Heartbeat: `{"method":"ping"}` every 30 s (half the 60 s idle close), answered by
//! `{"channel":"pong"}` within 10 s; a connection silent 60 s is dead.
//!
//! Limits ("Rate limits and user limits", per IP): 1000 WebSocket subscriptions, 2000
//! messages sent per minute across connections; connections: the stored copy of the
//! page says 100, reference clients (df-hyperliquid-core, guilder-client-hyperliquid,
//! consulted 2026-12-02) say 10 at once and 30 new per minute, the stricter of which
//! are kept. A source needing more than [`MAX_SUBSCRIPTIONS`] subscriptions (symbols ×
//! subscriptions per symbol: `trades`, `l2Book`, `bbo`, and one `activeAssetCtx` for
//! the ticker, funding, open interest and mark price together) is refused at planning
//! ([`PlanError::OverLimit`]); its subscriptions are spread over connections of at most
//! [`SUBSCRIPTIONS_PER_CONNECTION`] (at most 5, below the 10 connections), sent one per
//! message, spaced so that all of them together stay within 1500 messages a minute.
//! The budget is per IP: the sources of one config to the same host share it, checked
//! when the config is resolved ([`Connector::subscription_budget`]).
//!
//! Not verified against live traffic (no recording of Hyperliquid exists in the
//! corpus): every frame shape above is taken from the documents' type definitions and
//! examples; `bbo`, the asset contexts (the spot one's channel name) and the error
//! texts from reference clients; the connection limits (see above). `replay` answers
//! the pings of a Hyperliquid capture (`Protocol::Hyperliquid`).

mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use crate::contract::connector::plan_chunks;
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::HyperliquidParser;

/// The WebSocket endpoint (mainnet).
pub const WS_URL: &str = "wss://api.hyperliquid.xyz/ws";

/// The REST base of the `info` endpoint (`POST {REST_URL}/info`).
pub const REST_URL: &str = "https://api.hyperliquid.xyz";

/// WebSocket subscriptions one IP may hold ("Rate limits and user limits").
pub const MAX_SUBSCRIPTIONS: usize = 1000;

/// WebSocket connections one IP may hold (the stricter of the documented 100 and the
/// reference clients' 10).
pub const MAX_CONNECTIONS: usize = 10;

/// Subscriptions one planned connection carries at most (whole coins a connection: at
/// most 5 connections for the whole budget).
pub const SUBSCRIPTIONS_PER_CONNECTION: usize = 250;

/// How long one coin's l2Book may stay away, while other coins' books arrive on the
/// connection, before it is announced `status stale`.
pub const BOOK_STALL_AFTER: Duration = Duration::from_secs(30);

/// The settle (and quote) asset of the first perp dex.
pub const USDC: &str = "USDC";

const LIMIT_SOURCE: &str =
    "Hyperliquid \"Rate limits and user limits\": 1000 websocket subscriptions per IP";

const PERP_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::Funding,
    Channel::OpenInterest,
    Channel::MarkPrice,
];
const SPOT_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::MarkPrice,
];

/// The Hyperliquid connector.
pub struct Hyperliquid;

/// Whether `native` names a spot pair on the wire (`@107`, `PURR/USDC`).
pub fn is_spot_coin(native: &str) -> bool {
    native.starts_with('@') || native.contains('/')
}

/// A coin as the user wrote it, in the wire's case: an all-lower-case name is upper-
/// cased (`btc` → `BTC`), any other is kept (`kPEPE`).
fn coin_case(coin: &str) -> String {
    if coin.bytes().any(|b| b.is_ascii_uppercase()) {
        coin.to_string()
    } else {
        coin.to_ascii_uppercase()
    }
}

fn coin_ok(coin: &str) -> bool {
    !coin.is_empty() && coin.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Hyperliquid {
    /// A coin seen in a frame without a plan naming it (recordings): `@107` and
    /// `PURR/USDC` are spot (`@107`, `PURR-USDC`), any other a perp settled in USDC
    /// (`BTC-USDC-PERP`, `xyz:XYZ100-USDC-PERP`).
    fn fallback_symbol(native: &str) -> SymbolInfo {
        if is_spot_coin(native) {
            SymbolInfo {
                market: Market::Spot,
                symbol: native.replace('/', "-").into(),
                native: native.into(),
            }
        } else {
            SymbolInfo {
                market: Market::Perp,
                symbol: format!("{native}-{USDC}-PERP").into(),
                native: native.into(),
            }
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> HyperliquidParser {
        HyperliquidParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            Self::fallback_symbol,
        )
    }

    fn perp_symbol(user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("hyperliquid", user, why);
        const EXPECTED: &str = "expected BASE-USDC-PERP (BTC-USDC-PERP), the coin (BTC), or a builder dex coin (xyz:XYZ100, xyz:XYZ100-USDC-PERP)";
        let text = user.trim();
        let upper = text.to_ascii_uppercase();
        let (coin, settle) = match upper.strip_suffix("-PERP") {
            Some(_) => {
                let body = &text[..text.len() - "-PERP".len()];
                let (coin, settle) = body.rsplit_once('-').ok_or_else(|| bad(EXPECTED))?;
                (coin, Some(settle.to_ascii_uppercase()))
            }
            None if !text.contains('-') => (text, None),
            None => return Err(bad(EXPECTED)),
        };
        let (dex, name) = match coin.split_once(':') {
            Some((dex, name)) => (Some(dex.to_ascii_lowercase()), name),
            None => (None, coin),
        };
        if !coin_ok(name) || dex.as_deref().is_some_and(|d| !coin_ok(d)) {
            return Err(bad(EXPECTED));
        }
        let settle = settle.unwrap_or_else(|| USDC.to_string());
        if !coin_ok(&settle) {
            return Err(bad(EXPECTED));
        }
        if dex.is_none() && settle != USDC {
            return Err(bad(
                "Hyperliquid's own perps settle in USDC (BTC-USDC-PERP)",
            ));
        }
        let native = match &dex {
            Some(d) => format!("{d}:{}", coin_case(name)),
            None => coin_case(name),
        };
        Ok(SymbolInfo {
            market: Market::Perp,
            symbol: format!("{native}-{settle}-PERP").into(),
            native: native.into(),
        })
    }

    fn spot_symbol(user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("hyperliquid", user, why);
        const EXPECTED: &str =
            "expected BASE-QUOTE (PURR-USDC), BASE/QUOTE, or the pair's index coin (@107)";
        let text = user.trim();
        if let Some(index) = text.strip_prefix('@') {
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(EXPECTED));
            }
            return Ok(SymbolInfo::same(Market::Spot, text));
        }
        let (base, quote) = text
            .split_once('/')
            .or_else(|| text.split_once('-'))
            .ok_or_else(|| bad(EXPECTED))?;
        if !coin_ok(base) || !coin_ok(quote) {
            return Err(bad(EXPECTED));
        }
        let (base, quote) = (coin_case(base), coin_case(quote));
        Ok(SymbolInfo {
            market: Market::Spot,
            symbol: format!("{base}-{quote}").into(),
            native: format!("{base}/{quote}").into(),
        })
    }
}

/// The subscription `type` a channel is served by.
fn subscription_type(channel: Channel) -> Option<&'static str> {
    match channel {
        Channel::Trade => Some("trades"),
        Channel::Book => Some("l2Book"),
        Channel::Bbo => Some("bbo"),
        Channel::Ticker | Channel::Funding | Channel::OpenInterest | Channel::MarkPrice => {
            Some("activeAssetCtx")
        }
        Channel::Liquidation => None,
    }
}

/// The topic name of a subscription: `<type>:<coin>` (`l2Book:BTC`, `trades:xyz:XYZ100`).
pub fn topic_name(kind: &str, coin: &str) -> String {
    format!("{kind}:{coin}")
}

/// The subscriptions of one symbol for `channels`: one per subscription type, in the
/// order the channels name them.
fn topics_of(native: &smol_str::SmolStr, channels: &[Channel]) -> Vec<Topic> {
    let mut topics: Vec<Topic> = Vec::new();
    for &c in channels {
        let Some(kind) = subscription_type(c) else {
            continue;
        };
        let name = topic_name(kind, native);
        if topics.iter().any(|t| t.name == name) {
            continue;
        }
        topics.push(Topic {
            native: native.clone(),
            channel: c,
            name: name.into(),
        });
    }
    topics
}

/// One subscribe message of one subscription (Hyperliquid takes one per message):
/// `{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}`.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let text = match topics.first() {
        Some(t) => {
            let kind = t.name.split_once(':').map_or(t.name.as_str(), |(k, _)| k);
            serde_json::json!({
                "method": "subscribe",
                "subscription": { "type": kind, "coin": t.native.as_str() },
            })
            .to_string()
        }
        None => String::new(),
    };
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

impl Connector for Hyperliquid {
    fn name(&self) -> &'static str {
        "hyperliquid"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Perp, PERP_CHANNELS), (Market::Spot, SPOT_CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        WS_URL
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        REST_URL
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let path_ws = url
            .split(['?', '#'])
            .next()
            .is_some_and(|u| u.trim_end_matches('/').ends_with("/ws"));
        let hyperliquid = matches!(host, "api.hyperliquid.xyz" | "api.hyperliquid-testnet.xyz");
        // Perps and spot share the endpoint; a recording's spot coins are told apart by
        // their names (`@107`, `PURR/USDC`) when they are normalized.
        (hyperliquid && path_ws).then_some(Market::Perp)
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        match market {
            Market::Perp => Self::perp_symbol(user),
            Market::Spot => Self::spot_symbol(user),
            _ => Err(PlanError::bad_symbol(
                "hyperliquid",
                user,
                "Hyperliquid serves perps and spot only",
            )),
        }
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let per_symbol = topics_of(&"X".into(), &request.channels).len().max(1);
        let wanted = per_symbol * request.symbols.len();
        if wanted > MAX_SUBSCRIPTIONS {
            return Err(PlanError::OverLimit {
                exchange: "hyperliquid",
                what: "websocket subscriptions",
                wanted,
                limit: MAX_SUBSCRIPTIONS,
                source_doc: LIMIT_SOURCE,
            });
        }
        let per_connection = (SUBSCRIPTIONS_PER_CONNECTION / per_symbol).max(1);
        let connections = request.symbols.len().div_ceil(per_connection);
        if connections > MAX_CONNECTIONS {
            return Err(PlanError::OverLimit {
                exchange: "hyperliquid",
                what: "websocket connections",
                wanted: connections,
                limit: MAX_CONNECTIONS,
                source_doc: "Hyperliquid \"Rate limits and user limits\" and reference clients: 10 websocket connections per IP",
            });
        }
        // 2000 messages a minute per IP across connections: every connection sends at
        // most one per `interval`, all together at most 25 a second (1500 a minute),
        // leaving room for the pings.
        let interval = Duration::from_millis(40 * connections.max(1) as u64);
        Ok(plan_chunks(
            request,
            per_connection,
            interval,
            |plan, chunk| {
                for s in chunk {
                    for topic in topics_of(&s.native, &request.channels) {
                        plan.push_request(encode, vec![topic]);
                    }
                }
                // One subscription per request: nothing to split.
                plan.encode = None;
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: Some(r#"{"method":"ping"}"#),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            stale_after: Duration::from_secs(60),
            // Up to 250 subscribe messages a connection, up to 200 ms apart.
            subscribe_timeout: Duration::from_secs(60),
            max_connection_age: None,
        }
    }

    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        instruments::urls(market, rest_url)
    }

    fn instruments_by_post(&self) -> bool {
        true
    }

    fn instrument_followups(
        &self,
        market: Market,
        rest_url: &str,
        url: &str,
        body: &str,
    ) -> Vec<String> {
        instruments::followups(market, rest_url, url, body)
    }

    fn parse_instruments(
        &self,
        market: Market,
        url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse(market, &[(url, body)]).map_err(|(_, e)| e)
    }

    fn parse_instrument_list(
        &self,
        market: Market,
        responses: &[(&str, &str)],
    ) -> Result<Vec<crate::instruments::Listed>, (usize, crate::contract::ParseError)> {
        instruments::parse(market, responses)
    }

    fn subscription_budget(&self) -> Option<(usize, &'static str)> {
        Some((MAX_SUBSCRIPTIONS, LIMIT_SOURCE))
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams_per_connection: SUBSCRIPTIONS_PER_CONNECTION,
            connect_attempts: Some(RateWindow::per_secs(30, 60)),
            subscribe_requests: None,
        }
    }
}

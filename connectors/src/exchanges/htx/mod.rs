//! HTX (ex-Huobi) market WebSocket API: `htx` (spot, `wss://api.huobi.pro/ws`) and
//! `htx-swap` (perpetual swaps: USDT-margined on `wss://api.hbdm.com/linear-swap-ws`,
//! coin-margined on `wss://api.hbdm.com/swap-ws`; same protocol, the contract code
//! picks the endpoint). Every server message is a gzip-compressed binary frame
//! ([`BinaryFrames::Gzip`]); the session inflates it before the parser sees it.
//!
//! Channel mapping (one `{"sub":topic,"id":"N"}` per topic):
//!
//! | channel  | spot topic                                  | swap topic |
//! |----------|---------------------------------------------|------------|
//! | `trade`  | `market.$symbol.trade.detail`               | `market.$contract_code.trade.detail` |
//! | `bbo`    | `market.$symbol.bbo`                        | `market.$contract_code.bbo` |
//! | `book`   | `market.$symbol.mbp.$levels` (150 or 20)    | `market.$contract_code.depth.size_${size}.high_freq` (20 or 150), `data_type: incremental` |
//! | `ticker` | `market.$symbol.ticker`                     | `market.$contract_code.detail` |
//! | `funding` | —                                          | `public.$contract_code.funding_rate` (notification endpoint) |
//! | `liquidation` | —                                      | `public.$contract_code.liquidation_orders` (notification endpoint) |
//!
//! Trades: several per push (one per match of a taker order), `direction` = the
//! taker's side; spot sizes in base, swap sizes (`amount`) in contracts. Books: spot
//! MBP pushes are chained by `prevSeqNum` = the previous `seqNum` and synced from the
//! refresh image a `req` of the same topic returns on the same connection
//! (`{"req":"market.btcusdt.mbp.150","id":"N"}` → `{"id":"N","rep":..,"status":"ok",
//! "data":{"seqNum":..}}`); a break is `status gap` and a new `req` for that symbol
//! only (`book.rs`). Swap `high_freq` increments start with `event: snapshot` and
//! count `version` one by one; a break is `status gap` and an unsub + sub of that
//! contract only (its new subscription starts with a snapshot). `depth.step0`
//! (whole books every push, what the recordings hold) is read as snapshots.
//!
//! Documents followed (consulted 2026-12-02 through the `search` tool; the live pages
//! are unreachable from here): the HTX spot API reference
//! (huobiapi.github.io/docs/spot/v1/en/, "Websocket Market Data", undated as found)
//! and HTX's API announcements "HTX will support new MBP (Market By Price) feed in
//! existing Websocket API (phase 1)" (htx.com/support/900000047626: `req`/`sub` of
//! `market.$symbol.mbp.$levels`, `seqNum`/`prevSeqNum`, refresh `rep`), "…going to fix
//! one known issue in existing Websocket channel market.$symbol.mbp.$levels" (dated
//! 2020-05-28, effective 2020-06-18: the refresh `seqNum` matches a push's
//! `prevSeqNum` when `req` and `sub` share a connection) and "…support 5 levels MBP
//! feed" (900001526643: 5 levels tick by tick only on `/feed`); the USDT-margined and
//! coin-margined swap references (huobiapi.github.io/docs/usdt_swap/v1/en/ and
//! …/coin_margined_swap/v1/en/, undated as found) for `depth.size_${size}.high_freq`,
//! `bbo`, `detail`, `trade.detail`, the `version` rule and the heartbeat, and the
//! notification endpoint's funding-rate and liquidation-order topics (public, no
//! authentication).
//!
//! Heartbeat: the server sends `{"ping":<ms>}` every 5 s and closes the connection
//! after two unanswered ones; the parser answers `{"pong":<ms>}` with the same number
//! ([`crate::FrameParser::reply`]). The notification endpoint's
//! `{"op":"ping","ts":".."}` is answered `{"op":"pong","ts":".."}` likewise. The
//! client sends no pings of its own; 20 s without any frame is a dead socket.
//!
//! Answers: `{"id":"N","status":"ok","subbed":topic,"ts":..}` acknowledges request N;
//! `{"id":"N","status":"error","err-code":"bad-request","err-msg":"invalid topic
//! market.x.trade.detail","ts":..}` refuses it (the symbol named in `err-msg` when it
//! names one). Answers of the parser's own requests (ids from
//! [`crate::contract::PARSER_REQUEST_IDS`]) are informational.
//!
//! Limits: the pages read document no per-connection topic cap and no client message
//! rate for public market topics (the swap pages: `req` at most 50 at once, `sub`
//! unlimited); the planner keeps [`MAX_TOPICS_PER_CONNECTION`] topics per connection
//! and spaces requests by 50 ms, and the parser throttles its own `req`s (2 s per
//! symbol) and resubscriptions (5 s per contract).
//!
//! Swap `funding` (`public.$contract_code.funding_rate`: `funding_rate`,
//! `estimated_rate`, `funding_time`) and `liquidation` (`public.$contract_code.
//! liquidation_orders`: `direction` = the liquidation order's side, `volume` in
//! contracts) live on the notification endpoint (`/linear-swap-notification`,
//! `/swap-notification`), which speaks an `op` protocol: `{"op":"sub","cid":"N",
//! "topic":..}` answered `{"op":"sub","cid":"N","topic":..,"err-code":0}` (non-zero =
//! refused), pushes `{"op":"notify","topic":..,"ts":..,"data":[..]}`, pings
//! `{"op":"ping","ts":".."}`. The planner puts them on their own connection to that
//! endpoint (derived from the market URL's path). Not covered: mark prices (only
//! klines on `/ws_index`) and open interest (no WebSocket topic).
//!
//! The recordings (`cryptofeed/huobi`, 2021-04; `cryptofeed/huobi_swap`, 2022-02)
//! subscribe `depth.step0` and `trade.detail` only, on the documented hosts; the
//! `mbp` and `high_freq` chains, `bbo`, `ticker`/`detail`, error answers and the
//! `op` frames are verified against the documentation's examples only. Not verified
//! at all: the `api.htx.com` host (claimed as HTX's current brand host; the pages
//! read still name `api.huobi.pro` and `api-aws.huobi.pro`).

mod book;
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
    BinaryFrames, Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::{split_concatenated, symbol_text, SymbolInfo};

pub use parser::HtxParser;

/// Topics one connection carries (HTX documents no cap for public topics).
pub const MAX_TOPICS_PER_CONNECTION: usize = 100;

/// Spot MBP depths served on `/ws` (5 and 400 levels need `/feed`).
const SPOT_DEPTHS: &[usize] = &[20, 150];
/// Swap `high_freq` sizes.
const SWAP_DEPTHS: &[usize] = &[20, 150];

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker];
const SWAP_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::Funding,
    Channel::Liquidation,
];

/// The swap channels served by the notification endpoint.
fn on_notification(c: Channel) -> bool {
    matches!(c, Channel::Funding | Channel::Liquidation)
}

/// Quote currencies of HTX spot pairs the shared list lacks (checked first, longest
/// match wins: `yfihusd` is YFI/HUSD).
const HTX_QUOTES: &[&str] = &["HUSD", "USDD", "HT"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Venue {
    Spot,
    Swap,
}

/// An HTX connector: spot or swaps.
pub struct Htx {
    venue: Venue,
}

impl Htx {
    pub const SPOT: Htx = Htx { venue: Venue::Spot };
    pub const SWAP: Htx = Htx { venue: Venue::Swap };

    fn market(&self) -> Market {
        match self.venue {
            Venue::Spot => Market::Spot,
            Venue::Swap => Market::Perp,
        }
    }

    /// A spot pair as base and quote: `BTC-USDT`, `btc/usdt` or `btcusdt`.
    fn split_spot(upper: &str) -> Option<(String, String)> {
        if let Some((b, q)) = upper.split_once(['-', '/', '_']) {
            return Some((b.to_string(), q.to_string()));
        }
        let extra = HTX_QUOTES
            .iter()
            .filter(|q| upper.len() > q.len() && upper.ends_with(*q))
            .max_by_key(|q| q.len())
            .map(|q| upper.split_at(upper.len() - q.len()));
        let shared = split_concatenated(upper);
        let best = match (extra, shared) {
            (Some(e), Some(s)) if e.1.len() > s.1.len() => Some(e),
            (Some(e), None) => Some(e),
            (_, s) => s,
        };
        best.map(|(b, q)| (b.to_string(), q.to_string()))
    }

    fn spot_fallback(native: &str) -> SymbolInfo {
        let upper = native.to_ascii_uppercase();
        let symbol = match Self::split_spot(&upper) {
            Some((b, q)) => format!("{b}-{q}"),
            None => upper,
        };
        SymbolInfo {
            market: Market::Spot,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    fn swap_fallback(native: &str) -> SymbolInfo {
        SymbolInfo {
            market: Market::Perp,
            symbol: format!("{}-PERP", native.to_ascii_uppercase()).into(),
            native: native.into(),
        }
    }

    /// The topic of `channel` for `native`.
    fn topic(&self, channel: Channel, native: &SmolStr, depth: usize) -> Option<Topic> {
        let name = match (self.venue, channel) {
            (_, Channel::Trade) => format!("market.{native}.trade.detail"),
            (_, Channel::Bbo) => format!("market.{native}.bbo"),
            (Venue::Spot, Channel::Book) => format!("market.{native}.mbp.{depth}"),
            (Venue::Swap, Channel::Book) => {
                format!("market.{native}.depth.size_{depth}.high_freq")
            }
            (Venue::Spot, Channel::Ticker) => format!("market.{native}.ticker"),
            (Venue::Swap, Channel::Ticker) => format!("market.{native}.detail"),
            (Venue::Swap, Channel::Funding) => format!("public.{native}.funding_rate"),
            (Venue::Swap, Channel::Liquidation) => format!("public.{native}.liquidation_orders"),
            _ => return None,
        };
        Some(Topic {
            native: native.clone(),
            channel,
            name: name.into(),
        })
    }

    pub fn new_parser(&self, plan: &ConnectionPlan) -> HtxParser {
        let fallback = match self.venue {
            Venue::Spot => Self::spot_fallback,
            Venue::Swap => Self::swap_fallback,
        };
        HtxParser::new(
            self.venue == Venue::Swap,
            plan.channels,
            &plan.symbols,
            &plan.books,
            fallback,
        )
    }

    /// The path of a URL (`/ws`), without a query.
    fn path_of(url: &str) -> &str {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
        path.split('?').next().unwrap_or(path).trim_end_matches('/')
    }

    /// The URL of the coin-margined endpoint next to a USDT-margined one.
    fn coin_url(linear: &str) -> String {
        if linear.contains("/linear-swap-ws") {
            linear.replacen("/linear-swap-ws", "/swap-ws", 1)
        } else {
            linear.to_string()
        }
    }

    /// The notification endpoint next to a market one (`/linear-swap-ws` →
    /// `/linear-swap-notification`, `/swap-ws` → `/swap-notification`); another URL is
    /// kept as it is.
    fn notification_url(market: &str) -> String {
        for (from, to) in [
            ("/linear-swap-ws", "/linear-swap-notification"),
            ("/swap-ws", "/swap-notification"),
        ] {
            if market.contains(from) {
                return market.replacen(from, to, 1);
            }
        }
        market.to_string()
    }
}

/// One `sub` per topic, answered once; the swap book topic asks for increments, and
/// the notification endpoint's topics are subscribed `op`-style.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let topic = topics.first().map(|t| t.name.as_str()).unwrap_or_default();
    let text = if topic.starts_with("public.") {
        serde_json::json!({"op": "sub", "cid": id.to_string(), "topic": topic})
    } else if topic.ends_with(".high_freq") {
        serde_json::json!({"sub": topic, "data_type": "incremental", "id": id.to_string()})
    } else {
        serde_json::json!({"sub": topic, "id": id.to_string()})
    }
    .to_string();
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

impl Connector for Htx {
    fn name(&self) -> &'static str {
        match self.venue {
            Venue::Spot => "htx",
            Venue::Swap => "htx-swap",
        }
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        match self.venue {
            Venue::Spot => &[(Market::Spot, CHANNELS)],
            Venue::Swap => &[(Market::Perp, SWAP_CHANNELS)],
        }
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "wss://api.huobi.pro/ws",
            Venue::Swap => "wss://api.hbdm.com/linear-swap-ws",
        }
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "https://api.huobi.pro",
            Venue::Swap => "https://api.hbdm.com",
        }
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let host = host.split(':').next().unwrap_or(host);
        let path = Self::path_of(url);
        let ours = match self.venue {
            Venue::Spot => {
                matches!(
                    host,
                    "api.huobi.pro" | "api-aws.huobi.pro" | "api.htx.com" | "api-aws.htx.com"
                ) && matches!(path, "/ws" | "/feed")
            }
            Venue::Swap => {
                matches!(
                    host,
                    "api.hbdm.com" | "api.hbdm.vn" | "api.btcgateway.pro" | "futures.huobi.com"
                ) && matches!(
                    path,
                    "/linear-swap-ws"
                        | "/swap-ws"
                        | "/linear-swap-notification"
                        | "/swap-notification"
                )
            }
        };
        ours.then(|| self.market())
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let name = self.name();
        let bad = |why: &str| PlanError::bad_symbol(name, user, why);
        if market != self.market() {
            return Err(bad(match self.venue {
                Venue::Spot => "htx serves spot only (perpetual swaps: htx-swap)",
                Venue::Swap => "htx-swap serves perpetual swaps only (spot: htx)",
            }));
        }
        let upper = user.trim().to_ascii_uppercase();
        let ok = |s: &str| symbol_text(s, &[]);
        match self.venue {
            Venue::Spot => {
                let why = "expected BASE-QUOTE (BTC-USDT) or the pair (btcusdt)";
                let (base, quote) = Self::split_spot(&upper).ok_or_else(|| bad(why))?;
                if !ok(&base) || !ok(&quote) {
                    return Err(bad(why));
                }
                Ok(SymbolInfo {
                    market,
                    symbol: format!("{base}-{quote}").into(),
                    native: format!("{base}{quote}").to_ascii_lowercase().into(),
                })
            }
            Venue::Swap => {
                let why =
                    "expected BASE-QUOTE-PERP (BTC-USDT-PERP) or the contract code (BTC-USDT)";
                let code = upper.strip_suffix("-PERP").unwrap_or(&upper);
                let (base, quote) = code
                    .split_once(['-', '/', '_'])
                    .map(|(b, q)| (b.to_string(), q.to_string()))
                    .or_else(|| {
                        split_concatenated(code).map(|(b, q)| (b.to_string(), q.to_string()))
                    })
                    .ok_or_else(|| bad(why))?;
                if !ok(&base) || !ok(&quote) {
                    return Err(bad(why));
                }
                Ok(SymbolInfo {
                    market,
                    symbol: format!("{base}-{quote}-PERP").into(),
                    native: format!("{base}-{quote}").into(),
                })
            }
        }
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let (served, default) = match self.venue {
            Venue::Spot => (SPOT_DEPTHS, 150),
            Venue::Swap => (SWAP_DEPTHS, 20),
        };
        let depth = request.books.served_depth(served, default);
        let per_connection = (MAX_TOPICS_PER_CONNECTION / request.channels.len().max(1)).max(1);
        let fill = |plan: &mut ConnectionPlan, chunk: &[SymbolInfo]| {
            plan.encode = Some(encode);
            for s in chunk {
                let mut seen: Vec<SmolStr> = Vec::new();
                for &c in &request.channels {
                    if let Some(t) = self.topic(c, &s.native, depth) {
                        if !seen.contains(&t.name) {
                            seen.push(t.name.clone());
                            plan.push_request(encode, vec![t]);
                        }
                    }
                }
            }
        };
        let interval = Duration::from_millis(50);
        if self.venue == Venue::Spot {
            return Ok(plan_chunks(request, per_connection, interval, fill));
        }
        // Swaps: USDT-margined contracts on the request's URL, coin-margined ones
        // (`BTC-USD`) on `/swap-ws` next to it; funding and liquidations of each on the
        // notification endpoint next to its market one.
        let (coin, linear): (Vec<SymbolInfo>, Vec<SymbolInfo>) = request
            .symbols
            .iter()
            .cloned()
            .partition(|s| s.native.ends_with("-USD"));
        let (notify, market): (Vec<Channel>, Vec<Channel>) = request
            .channels
            .iter()
            .copied()
            .partition(|c| on_notification(*c));
        let mut plans = Vec::new();
        for (symbols, url) in [
            (linear, request.ws_url.clone()),
            (coin, Self::coin_url(&request.ws_url)),
        ] {
            if symbols.is_empty() {
                continue;
            }
            for (channels, url) in [
                (market.clone(), url.clone()),
                (notify.clone(), Self::notification_url(&url)),
            ] {
                if channels.is_empty() {
                    continue;
                }
                let part = SourceRequest {
                    symbols: symbols.clone(),
                    channels,
                    ws_url: url,
                    ..request.clone()
                };
                let per = (MAX_TOPICS_PER_CONNECTION / part.channels.len()).max(1);
                let fill = |plan: &mut ConnectionPlan, chunk: &[SymbolInfo]| {
                    plan.encode = Some(encode);
                    for s in chunk {
                        let mut seen: Vec<SmolStr> = Vec::new();
                        for &c in &part.channels {
                            if let Some(t) = self.topic(c, &s.native, depth) {
                                if !seen.contains(&t.name) {
                                    seen.push(t.name.clone());
                                    plan.push_request(encode, vec![t]);
                                }
                            }
                        }
                    }
                };
                plans.extend(plan_chunks(&part, per, interval, fill));
            }
        }
        Ok(plans)
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            // The server pings (every 5 s) and the parser answers; no client pings.
            app_ping: None,
            ping_interval: None,
            idle_timeout: Duration::from_secs(20),
            ..Heartbeat::default()
        }
    }

    fn binary_frames(&self) -> BinaryFrames {
        BinaryFrames::Gzip
    }

    fn instrument_urls(&self, _market: Market, rest_url: &str) -> Vec<String> {
        let base = rest_url.trim_end_matches('/');
        match self.venue {
            Venue::Spot => vec![format!("{base}{}", instruments::SPOT_PATH)],
            Venue::Swap => vec![
                format!("{base}{}", instruments::LINEAR_PATH),
                format!("{base}{}", instruments::COIN_PATH),
            ],
        }
    }

    fn parse_instruments(
        &self,
        market: Market,
        _url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        if market != self.market() {
            return Ok(Vec::new());
        }
        match self.venue {
            Venue::Spot => instruments::parse_spot(body),
            Venue::Swap => instruments::parse_swaps(body),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams_per_connection: MAX_TOPICS_PER_CONNECTION,
            ..Limits::default()
        }
    }
}

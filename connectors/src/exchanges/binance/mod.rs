//! Binance: spot (`binance`), USD-M futures (`binance-usdm`), COIN-M futures
//! (`binance-coinm`), and Binance.US (`binance-us`): the spot protocol, symbols and
//! book rules on Binance.US's own hosts and limits ([`Venue::Us`]; every rule below
//! that names spot holds for it, on its own budget).
//!
//! Connections open the combined endpoint (`/stream`) and subscribe live with
//! `{"method":"SUBSCRIBE","params":[..],"id":n}` requests of up to
//! [`MAX_STREAMS_PER_REQUEST`] streams, so every frame arrives wrapped as
//! `{"stream":..,"data":{..}}` and is dispatched on the stream name without a second
//! JSON pass; `{"result":null,"id":n}` confirms a request and `{"error":{..},"id":n}`
//! refuses it as a whole, naming no stream: the session then halves the request until
//! the refusal is down to one symbol (the others confirmed meanwhile).
//!
//! USD-M futures connections are planned per routed endpoint (`/public` for
//! `@depth`, `@bookTicker`, `@trade`; `/market` for `@markPrice`, `@forceOrder`,
//! `@ticker`): see [`Route`] and Binance's "Important WebSocket Change Notice"
//! (developers.binance.com, USDⓈ-M Futures, 2026-03-06; legacy URLs retired
//! 2026-04-23). The corpus' USD-M recordings (2023-2024) use the unrouted URL.
//!
//! Limits, per venue (developers.binance.com: spot "WebSocket Streams" / "General
//! WebSocket Streams information"; USDⓈ-M and COIN-M "Websocket Market Streams";
//! consulted 2026-12-02), honoured by the planner and the session: at most 1024
//! streams per connection on all three (symbols are never split over connections);
//! incoming messages per connection, pings and pongs included: 5 per second on spot,
//! 10 per second on USD-M and COIN-M — requests are spaced by 300 ms on every venue,
//! inside the stricter spot limit (1,000 symbols with two streams each are two
//! connections of five requests, subscribed within ~1.5 s); no documented cap of
//! streams per request; 300 connection attempts per 5 minutes per IP (spot page;
//! shared by every session to the host); a connection is closed at 24 h (rotated at
//! 23 h 50 min). Heartbeat: the server pings every 20 s on spot (pong due within
//! 1 min) and every 3 min on futures (pong due within 10 min); tungstenite answers
//! with the payload; the client also pings every 20 s so a dead socket shows within
//! ping + pong timeout.
//!
//! Doc audit 2026-12-02 (what changed): the header previously gave spot's
//! 5 messages/s and 1-minute pong window for every venue; USD-M and COIN-M document
//! 10 messages/s and a 10-minute pong window. Text only: the 300 ms request spacing
//! already satisfies both, so no constant changed. USD-M routing checked against the
//! change notice (2026-03-06): `@depth`/`@bookTicker` on `/public` and `@markPrice` on
//! `/market` are the notice's own examples; `@ticker` and `@forceOrder` on `/market`
//! agree with the per-stream "URL PATH" pages seen (`@miniTicker`: `/market`) and
//! with third-party migrations. `@trade` on `/public` could not be confirmed from a
//! stored Binance page (the notice's stream table is cut off in the copy consulted;
//! one third-party client lists `/public` as only `@bookTicker` and `@depth`, another
//! measured `@trade` delivered on `/public`): left on `/public`, to be confirmed live.
//!
//! Binance.US (`binance-us`, consulted 2026-12-02): the search corpus (docs) holds no
//! stored copy of Binance.US's own API pages (docs.binance.us), so the hosts and
//! limits come from what was found, each named: WebSocket `wss://stream.binance.us:9443`
//! (nautilus_binance `BINANCE_US_SPOT_WS_URL`, tokio-binance `BINANCE_US_WSS_URL`;
//! the corpus recording `cryptofeed/binance_us`, 2021-10-12, opens
//! `wss://stream.binance.us:9443/stream?streams=..`); REST `https://api.binance.us`
//! (ccxt `binanceus.js`, 4.5.32: `https://api.binance.us/api/v3`; the recording
//! fetches `/api/v3/exchangeInfo` and `/api/v3/depth?symbol=..&limit=1000` there). REST
//! weight: 1200 per minute per IP (`REQUEST_WEIGHT` in the `rateLimits` of the
//! recording's own `exchangeInfo` answer, 2021-10-12; binance.com's 6000 is not
//! assumed), a budget of its own ([`book::US_LIMIT`], not shared with binance.com's).
//! The snapshot endpoint is `/api/v3/depth` with the spot limits (1..=5000) and the
//! current binance.com spot weights (5/25/50/250), at least the older schedule's
//! (1/5/10/50), so never under-counted. WebSocket limits (1024 streams per connection,
//! 5 incoming messages/s, 300 connection attempts per 5 minutes, 24 h connections)
//! are taken as binance.com spot's, which Binance.US's API mirrors: not confirmed
//! from a stored Binance.US page, to be checked against docs.binance.us.
//!
//! Aster (`aster` perpetuals, `aster-spot`): Binance-compatible APIs on Aster's own
//! hosts, limits and REST budgets ([`Venue::Aster`], [`Venue::AsterSpot`]); what
//! differs from Binance, and the documents it was taken from, is in [`aster`].

pub mod aster;
pub mod book;
mod fast;
mod instruments;
mod parser;
pub use parser::preview as parser_preview;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use self::book::{BookVenue, Chain};
use crate::contract::connector::SPOT_CHANNELS;
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::{split_concatenated, symbol_text, SymbolInfo};

pub use parser::BinanceParser;

/// Binance's documented limit of streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// Streams per SUBSCRIBE request. Binance documents no cap per request; 200 keeps a
/// request a few KB and a refused one quick to halve down to its symbol.
pub const MAX_STREAMS_PER_REQUEST: usize = 200;

/// A SUBSCRIBE request of `topics` (answered once, as a whole).
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let params: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    SubscribeRequest {
        id,
        text: serde_json::json!({"method": "SUBSCRIBE", "params": params, "id": id}).to_string(),
        topics,
        answers: 1,
    }
}

/// The endpoint a stream is served on. USD-M futures split their WebSocket by data
/// category ("Important WebSocket Change Notice", developers.binance.com, 2026-03-06):
/// `/public` carries the high-frequency public streams (`@depth`, `@bookTicker`, and
/// `@trade`), `/market` the regular market data (`@aggTrade`, `@markPrice`,
/// `@forceOrder`, `@ticker`, klines); since 2026-04-23 an unrouted URL delivers only
/// the `/public` streams, so a market stream asked for there goes silent without an
/// error. Spot and COIN-M are not split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Public,
    Market,
}

impl Route {
    const ALL: [Route; 2] = [Route::Public, Route::Market];

    /// Whether this endpoint carries `channel` on `venue` (unsplit venues: everything
    /// on the one endpoint, planned as `Public`).
    fn serves(self, venue: Venue, channel: Channel) -> bool {
        let public = match venue {
            Venue::UsdM => matches!(channel, Channel::Trade | Channel::Bbo | Channel::Book),
            Venue::Spot | Venue::Us | Venue::CoinM | Venue::Aster | Venue::AsterSpot => true,
        };
        public == (self == Route::Public)
    }

    /// The combined-stream URL of this endpoint under `base`.
    fn url(self, venue: Venue, base: &str) -> String {
        match (venue, self) {
            (Venue::UsdM, Route::Public) => format!("{base}/public/stream"),
            (Venue::UsdM, Route::Market) => format!("{base}/market/stream"),
            _ => format!("{base}/stream"),
        }
    }
}

/// Which Binance venue a connector serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    Spot,
    UsdM,
    CoinM,
    /// Binance.US: the spot API on its own hosts and REST budget.
    Us,
    /// Aster perpetual futures (`aster`): the USD-M protocol on Aster's hosts and limits.
    Aster,
    /// Aster spot (`aster-spot`): the spot protocol on Aster's hosts and limits.
    AsterSpot,
}

impl Venue {
    /// Whether the venue speaks the spot protocol (symbols, book chain, channels).
    pub fn is_spot(self) -> bool {
        matches!(self, Venue::Spot | Venue::Us | Venue::AsterSpot)
    }

    /// Streams one connection may carry: Binance's 1024, Aster's 200 (see [`aster`]).
    pub fn max_streams_per_connection(self) -> usize {
        match self {
            Venue::Aster | Venue::AsterSpot => aster::MAX_STREAMS_PER_CONNECTION,
            _ => MAX_STREAMS_PER_CONNECTION,
        }
    }
}

/// The Binance connector for one venue.
pub struct Binance {
    pub venue: Venue,
}

impl Binance {
    pub const SPOT: Binance = Binance { venue: Venue::Spot };
    pub const USDM: Binance = Binance { venue: Venue::UsdM };
    pub const COINM: Binance = Binance {
        venue: Venue::CoinM,
    };
    pub const US: Binance = Binance { venue: Venue::Us };
    pub const ASTER: Binance = Binance {
        venue: Venue::Aster,
    };
    pub const ASTER_SPOT: Binance = Binance {
        venue: Venue::AsterSpot,
    };
}

const FUTURES_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::MarkPrice,
    Channel::Funding,
    Channel::Liquidation,
];

impl Binance {
    /// Normalizes a native symbol seen in a frame (`BTCUSDT`, `BTCUSD_PERP`, `BTCUSDT_240927`).
    fn fallback_symbol(venue: Venue, native: &str) -> SymbolInfo {
        let (pair, suffix) = native.split_once('_').unwrap_or((native, ""));
        let pair_norm = match split_concatenated(pair) {
            Some((base, quote)) => format!("{base}-{quote}"),
            None => pair.to_string(),
        };
        let (market, symbol) = match (venue, suffix) {
            (v, _) if v.is_spot() => (Market::Spot, pair_norm),
            // Aster lists perpetuals only.
            (Venue::Aster, _) => (Market::Perp, format!("{pair_norm}-PERP")),
            (_, "" | "PERP") => (Market::Perp, format!("{pair_norm}-PERP")),
            (_, expiry) => (Market::Future, format!("{pair_norm}-{expiry}")),
        };
        SymbolInfo {
            market,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    fn spot_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::Spot, native)
    }
    fn usdm_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::UsdM, native)
    }
    fn coinm_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::CoinM, native)
    }
    fn us_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::Us, native)
    }
    fn aster_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::Aster, native)
    }
    fn aster_spot_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::AsterSpot, native)
    }

    /// The stream name carrying `channel` for one symbol on `venue`, if it has one.
    fn stream(venue: Venue, channel: Channel, native_lower: &str) -> Option<String> {
        let s = native_lower;
        Some(match channel {
            // Aster futures document no `@trade` stream: trades come aggregated.
            Channel::Trade if venue == Venue::Aster => format!("{s}@aggTrade"),
            Channel::Trade => format!("{s}@trade"),
            Channel::Bbo => format!("{s}@bookTicker"),
            Channel::Ticker => format!("{s}@ticker"),
            Channel::Book => format!("{s}@depth@100ms"),
            // One markPrice stream carries both mark price and funding.
            Channel::MarkPrice | Channel::Funding => format!("{s}@markPrice@1s"),
            Channel::Liquidation => format!("{s}@forceOrder"),
            Channel::OpenInterest => return None,
        })
    }
}

impl Connector for Binance {
    fn name(&self) -> &'static str {
        match self.venue {
            Venue::Spot => "binance",
            Venue::UsdM => "binance-usdm",
            Venue::CoinM => "binance-coinm",
            Venue::Us => "binance-us",
            Venue::Aster => "aster",
            Venue::AsterSpot => "aster-spot",
        }
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        match self.venue {
            Venue::Spot | Venue::Us | Venue::AsterSpot => &[(Market::Spot, SPOT_CHANNELS)],
            Venue::UsdM | Venue::CoinM => &[
                (Market::Perp, FUTURES_CHANNELS),
                (Market::Future, FUTURES_CHANNELS),
            ],
            // Aster's only contract type is `PERPETUAL`.
            Venue::Aster => &[(Market::Perp, FUTURES_CHANNELS)],
        }
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "wss://stream.binance.com:9443",
            Venue::UsdM => "wss://fstream.binance.com",
            Venue::CoinM => "wss://dstream.binance.com",
            Venue::Us => "wss://stream.binance.us:9443",
            Venue::Aster => aster::FUTURES_WS_URL,
            Venue::AsterSpot => aster::SPOT_WS_URL,
        }
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "https://api.binance.com",
            Venue::UsdM => "https://fapi.binance.com",
            Venue::CoinM => "https://dapi.binance.com",
            Venue::Us => "https://api.binance.us",
            Venue::Aster => aster::FUTURES_REST_URL,
            Venue::AsterSpot => aster::SPOT_REST_URL,
        }
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let ours = match self.venue {
            Venue::Spot => {
                host.starts_with("stream.binance.com")
                    || host.starts_with("data-stream.binance.vision")
            }
            Venue::UsdM => host.starts_with("fstream.binance.com"),
            Venue::CoinM => host.starts_with("dstream.binance.com"),
            Venue::Us => host.starts_with("stream.binance.us"),
            Venue::Aster => host.starts_with("fstream.asterdex.com"),
            Venue::AsterSpot => host.starts_with("sstream.asterdex.com"),
        };
        ours.then(|| self.default_market())
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol(self.name(), user, why);
        let upper = user.trim().to_ascii_uppercase();
        if !symbol_text(&upper, b"-_") {
            return Err(bad(
                "expected BASE-QUOTE (e.g. BTC-USDT) or the exchange's own symbol",
            ));
        }
        let native = if upper.contains('-') {
            let parts: Vec<&str> = upper.split('-').collect();
            match (self.venue, parts.as_slice()) {
                (v, [base, quote]) if v.is_spot() => format!("{base}{quote}"),
                (Venue::UsdM | Venue::Aster, [base, quote, "PERP"]) => format!("{base}{quote}"),
                (Venue::CoinM, [base, quote, "PERP"]) => format!("{base}{quote}_PERP"),
                (Venue::UsdM | Venue::CoinM, [base, quote, expiry])
                    if expiry.len() == 6 && expiry.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    format!("{base}{quote}_{expiry}")
                }
                (v, _) if v.is_spot() => return Err(bad("expected BASE-QUOTE, e.g. BTC-USDT")),
                (Venue::Aster, _) => {
                    return Err(bad("expected BASE-QUOTE-PERP, e.g. BTC-USDT-PERP"))
                }
                _ => {
                    return Err(bad(
                        "expected BASE-QUOTE-PERP or BASE-QUOTE-YYMMDD, e.g. BTC-USDT-PERP",
                    ))
                }
            }
        } else {
            upper
        };
        PlanError::expect_market(
            self.name(),
            user,
            Self::fallback_symbol(self.venue, &native),
            market,
        )
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let base = request.ws_url.trim_end_matches('/');
        let mut plans = Vec::new();
        for route in Route::ALL {
            let channels: Vec<Channel> = request
                .channels
                .iter()
                .copied()
                .filter(|c| route.serves(self.venue, *c))
                .collect();
            if !channels.is_empty() {
                plans.extend(self.plan_route(request, &channels, route.url(self.venue, base)));
            }
        }
        Ok(plans)
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        // Aster (see [`aster`]): the server pings every 5 min on futures (pong due
        // within 15 min) and every 3 min on spot (within 10 min); connections also
        // close at 24 h. Binance:
        // The server pings every 20 s on spot (closing after 1 min without a pong)
        // and every 3 min on futures (closing after 10 min); our own protocol pings
        // (the default 20 s) make a dead socket show within ping + pong timeout even
        // when the server's pings stop too. bookTicker moves many times a second on any listed symbol; a quiet
        // `@trade`-only symbol may be silent longer, hence the default minute before
        // `stale`.
        Heartbeat {
            // Binance closes every connection at 24 h: rotate 10 minutes before.
            max_connection_age: Some(Duration::from_secs(23 * 3600 + 50 * 60)),
            ..Heartbeat::default()
        }
    }

    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        instruments::urls(self.venue, market, rest_url)
    }

    fn parse_instruments(
        &self,
        market: Market,
        _url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse(self.venue, market, body)
    }

    fn limits(&self) -> Limits {
        let connect_attempts = match self.venue {
            // Aster documents no limit of connection attempts.
            Venue::Aster | Venue::AsterSpot => None,
            // "300 connections per attempt every 5 minutes per IP" (spot and futures).
            _ => Some(RateWindow::per_secs(300, 300)),
        };
        Limits {
            max_streams_per_connection: self.venue.max_streams_per_connection(),
            connect_attempts,
            // 5 (spot) / 10 (futures) incoming messages/s per connection (the same on
            // Aster) are paced by `send_interval` (300 ms on every venue).
            ..Limits::default()
        }
    }
}

impl Binance {
    /// The connections of one endpoint (`url`) carrying `channels` for every symbol:
    /// live subscriptions on the combined endpoint (frames still arrive wrapped as
    /// `{"stream":..,"data":..}`). Symbols are never split over connections or
    /// requests; a connection carries at most 1024 streams (Aster: 200), a request 200.
    fn plan_route(
        &self,
        request: &SourceRequest,
        channels: &[Channel],
        url: String,
    ) -> Vec<ConnectionPlan> {
        let mut plans: Vec<ConnectionPlan> = Vec::new();
        let mut pending: Vec<Topic> = Vec::new();
        let mut in_plan = 0usize;
        let max_streams = self.venue.max_streams_per_connection();
        for sym in &request.symbols {
            let lower = sym.native.to_ascii_lowercase();
            let mut topics: Vec<Topic> = Vec::new();
            for &channel in channels {
                let Some(name) = Self::stream(self.venue, channel, &lower) else {
                    continue;
                };
                if !topics.iter().any(|t| t.name == name) {
                    topics.push(Topic {
                        native: sym.native.clone(),
                        channel,
                        name: name.into(),
                    });
                }
            }
            if topics.is_empty() {
                continue;
            }
            if plans.is_empty() || in_plan + topics.len() > max_streams {
                if let Some(plan) = plans.last_mut() {
                    plan.push_request(encode, std::mem::take(&mut pending));
                }
                // 5 incoming messages/s per connection on spot (10 on futures), pings
                // and pongs included: ~3 subscribe requests a second leaves room.
                let mut plan =
                    ConnectionPlan::new(url.clone(), request, Duration::from_millis(300));
                plan.channels = channels.iter().copied().collect();
                plan.encode = Some(encode);
                plans.push(plan);
                in_plan = 0;
            }
            let plan = plans.last_mut().expect("a plan was just pushed");
            if pending.len() + topics.len() > MAX_STREAMS_PER_REQUEST {
                plan.push_request(encode, std::mem::take(&mut pending));
            }
            in_plan += topics.len();
            plan.symbols.push(sym.clone());
            pending.extend(topics);
        }
        if let (Some(plan), false) = (plans.last_mut(), pending.is_empty()) {
            plan.push_request(encode, pending);
        }
        plans
    }

    /// The parser of one connection of `plan` (unplanned symbols are normalized on
    /// first sight).
    pub fn new_parser(&self, plan: &ConnectionPlan) -> BinanceParser {
        let fallback = match self.venue {
            Venue::Spot => Self::spot_fallback,
            Venue::UsdM => Self::usdm_fallback,
            Venue::CoinM => Self::coinm_fallback,
            Venue::Us => Self::us_fallback,
            Venue::Aster => Self::aster_fallback,
            Venue::AsterSpot => Self::aster_spot_fallback,
        };
        let venue = match self.venue {
            // Binance.US: the spot book on its own REST budget.
            Venue::Spot | Venue::Us => BookVenue {
                chain: Chain::Spot,
                path: "/api/v3/depth",
                limit: match self.venue {
                    Venue::Us => &book::US_LIMIT,
                    _ => &book::SPOT_LIMIT,
                },
                weight: book::spot_weight,
                depth: book::spot_depth,
            },
            Venue::UsdM => BookVenue {
                chain: Chain::Futures,
                path: "/fapi/v1/depth",
                limit: &book::USDM_LIMIT,
                weight: book::futures_weight,
                depth: book::futures_depth,
            },
            Venue::CoinM => BookVenue {
                chain: Chain::Futures,
                path: "/dapi/v1/depth",
                limit: &book::COINM_LIMIT,
                weight: book::futures_weight,
                depth: book::futures_depth,
            },
            Venue::Aster => aster::FUTURES_BOOK,
            Venue::AsterSpot => aster::SPOT_BOOK,
        };
        let rest_url = self.default_rest_url(self.default_market());
        BinanceParser::new(
            self.name(),
            plan.channels,
            &plan.symbols,
            fallback,
            venue,
            &plan.books,
            rest_url,
        )
    }
}

#[cfg(test)]
mod tests;

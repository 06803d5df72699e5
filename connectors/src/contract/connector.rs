//! The connector trait every exchange implements, and the rules it states: heartbeat
//! and liveness ([`Heartbeat`]), connection limits ([`Limits`]), planning errors.

use std::time::Duration;

use tickbridge_schema::Market;

use super::channel::Channel;
use super::parser::FrameParser;
use super::plan::{ConnectionPlan, SourceRequest};
use crate::symbols::SymbolInfo;

/// How a connection is kept alive and judged alive. The session driver enforces it;
/// a connector states its exchange's documented rules (and `[connection]` in the
/// config may override every duration, so tests can use short ones).
///
/// Liveness has three layers, from the socket up:
/// 1. **pings**: every `ping_interval` the client sends `app_ping` (text) or a
///    WebSocket protocol ping; a ping not answered within `pong_timeout` ends the
///    connection. An answer is a protocol Pong, or any frame the parser classifies as
///    [`crate::Parsed::Heartbeat`] (app-level pongs: OKX `pong`, Bybit
///    `{"op":"ping","ret_msg":"pong"}`, Kraken `{"method":"pong"}`).
///    Server pings are answered in time: protocol pings by the WebSocket layer at
///    once, app-level ones through [`crate::FrameParser::reply`] (sent before the next
///    frame is read).
/// 2. **idle**: no frame at all (data, heartbeat, ping, pong) for `idle_timeout`
///    means the socket is dead: reconnect.
/// 3. **stale**: no *data* for `stale_after` while frames still flow (a quiet
///    symbol, or an exchange that answers pings but stopped publishing) is announced
///    downstream once as `status stale`; the connection is kept. Data resuming ends
///    the stale period.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// Text sent every `ping_interval` instead of a protocol ping, if the exchange wants
    /// an application-level ping (OKX `ping`, Bybit `{"op":"ping"}`, Kraken
    /// `{"method":"ping"}`).
    pub app_ping: Option<&'static str>,
    /// Interval of client pings (`app_ping`, or protocol pings); `None` = never ping.
    pub ping_interval: Option<Duration>,
    /// A client ping unanswered for this long ends the connection.
    pub pong_timeout: Duration,
    /// With no frame at all (data, heartbeat, ping, pong) for this long the socket is dead.
    pub idle_timeout: Duration,
    /// No data for this long (frames still flowing) is reported as `status stale`.
    pub stale_after: Duration,
    /// How long to wait for subscription confirmation before reporting it.
    pub subscribe_timeout: Duration,
    /// A connection the exchange closes after this age is rotated before it: a
    /// replacement is opened and confirmed, then the old one is closed (Binance: 24 h).
    pub max_connection_age: Option<Duration>,
}

impl Default for Heartbeat {
    /// Conservative defaults for an exchange that documents nothing: protocol pings
    /// every 20 s, 10 s to answer, dead after 60 s of total silence, stale after 60 s
    /// without data.
    fn default() -> Self {
        Heartbeat {
            app_ping: None,
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            stale_after: Duration::from_secs(60),
            subscribe_timeout: Duration::from_secs(10),
            max_connection_age: None,
        }
    }
}

/// `count` events per `window` (a documented exchange rate limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub count: u32,
    pub window: Duration,
}

impl RateWindow {
    /// `count` events per `secs` seconds.
    pub const fn per_secs(count: u32, secs: u64) -> Self {
        RateWindow {
            count,
            window: Duration::from_secs(secs),
        }
    }
}

/// An exchange's documented connection limits, honoured by the planner (streams per
/// connection, request spacing via [`ConnectionPlan::send_interval`]) and by the
/// session driver (connection attempts, subscribe requests per connection).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Subscriptions (channel × symbol streams/topics) one connection may carry; the
    /// planner shards above it.
    pub max_streams_per_connection: usize,
    /// Connection attempts per window per IP, shared by every session to the same
    /// host (Binance: 300 per 5 min; Bybit: 500 per 5 min; OKX: 3 per second).
    pub connect_attempts: Option<RateWindow>,
    /// Subscribe requests per window on one connection (OKX: 480 per hour),
    /// counting the initial plan and parser resubscriptions.
    pub subscribe_requests: Option<RateWindow>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_streams_per_connection: 100,
            connect_attempts: None,
            subscribe_requests: None,
        }
    }
}

/// Why a source request cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{exchange} has no market {market:?} (supported: {supported})")]
    UnknownMarket {
        exchange: &'static str,
        market: String,
        supported: String,
    },
    #[error("{exchange} {market}: channel `{channel}` is not supported (supported: {supported})")]
    UnsupportedChannel {
        exchange: &'static str,
        market: &'static str,
        channel: String,
        supported: String,
    },
    #[error("{exchange}: symbol {symbol:?} is not valid: {why}")]
    BadSymbol {
        exchange: &'static str,
        symbol: String,
        why: String,
    },
    #[error("no symbols given")]
    NoSymbols,
    /// The request needs more of a documented per-IP budget than the exchange allows
    /// (Hyperliquid: 1000 subscriptions per IP).
    #[error("{exchange}: the source needs {wanted} {what}, more than the {limit} the exchange allows ({source_doc})")]
    OverLimit {
        exchange: &'static str,
        what: &'static str,
        wanted: usize,
        limit: usize,
        /// Where the limit is documented.
        source_doc: &'static str,
    },
}

/// The channels of a spot market that carries trades, best bid/offer, books and
/// tickers, in the order `tickbridge exchanges` lists them.
pub const SPOT_CHANNELS: &[Channel] =
    &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker];
/// The channels of a perpetual swap market: spot's plus every derivatives channel.
pub const PERP_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::Funding,
    Channel::OpenInterest,
    Channel::MarkPrice,
    Channel::Liquidation,
];
/// The channels of a dated futures market: a perpetual's but funding.
pub const FUTURE_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::OpenInterest,
    Channel::MarkPrice,
    Channel::Liquidation,
];
/// [`Connector::supported`] of a venue serving spot, perpetuals and dated futures
/// with every channel each carries.
pub const SPOT_PERP_FUTURE: &[(Market, &[Channel])] = &[
    (Market::Spot, SPOT_CHANNELS),
    (Market::Perp, PERP_CHANNELS),
    (Market::Future, FUTURE_CHANNELS),
];

/// An exchange module: endpoints, planning, parsing and heartbeat rules.
pub trait Connector: Send + Sync + 'static {
    /// The name used in config, records and `tickbridge exchanges`.
    fn name(&self) -> &'static str;
    /// Every market this connector serves, with the channels supported on it.
    fn supported(&self) -> &'static [(Market, &'static [Channel])];
    /// The market used when a source does not name one.
    fn default_market(&self) -> Market {
        self.supported()[0].0
    }
    fn default_ws_url(&self, market: Market) -> &'static str;
    fn default_rest_url(&self, market: Market) -> &'static str;
    /// The market a recorded WebSocket URL serves, if the connection speaks this
    /// connector's protocol (its host and path, as the exchange documents them). The
    /// corpus and fuzz tests pick connectors for recordings by it.
    fn market_of_url(&self, url: &str) -> Option<Market>;
    /// Resolves a user symbol (normalized `BTC-USDT` or native `BTCUSDT`) on a market.
    fn symbol(&self, market: Market, user_symbol: &str) -> Result<SymbolInfo, PlanError>;
    /// Splits a request into connections within the exchange's limits; each plan
    /// carries its typed subscribe requests and the source's book options.
    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError>;
    /// The parser of one connection of `plan`, configured from the plan alone.
    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser>;
    fn heartbeat(&self) -> Heartbeat;
    /// The REST requests that list the instruments of `market` (full URLs under the
    /// source's `rest_url`), in the order they are fetched; empty where the connector
    /// reads no instrument list.
    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        let _ = (market, rest_url);
        Vec::new()
    }

    /// The REST requests listing the instruments a source of `symbols` (as the user
    /// wrote them) needs: the whole list ([`Connector::instrument_urls`]) unless the
    /// exchange publishes reference data one symbol at a time (Gemini), which then
    /// names one request per symbol it can resolve (patterns name none).
    fn instrument_urls_for(
        &self,
        market: Market,
        rest_url: &str,
        symbols: &[String],
    ) -> Vec<String> {
        let _ = symbols;
        self.instrument_urls(market, rest_url)
    }

    /// The instruments of one response to an [`Connector::instrument_urls`] request
    /// (`url` names which), on `market` only.
    fn parse_instruments(
        &self,
        market: Market,
        url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, super::ParseError> {
        let _ = (market, url, body);
        Ok(Vec::new())
    }

    /// Whether the instrument requests are POSTs with a JSON body rather than GETs:
    /// each URL then names its POST as [`crate::rest::post_of_url`] says (Hyperliquid:
    /// `.../info?type=meta` is `POST /info` with `{"type":"meta"}`).
    fn instruments_by_post(&self) -> bool {
        false
    }

    /// Further instrument requests that the response `body` to `url` names, fetched
    /// after it (and their own follow-ups in turn): Hyperliquid's `perpDexs` names the
    /// builder-deployed perp dexes, each listed by its own `meta` request. Empty for
    /// most exchanges, whose list is fixed by [`Connector::instrument_urls_for`].
    fn instrument_followups(
        &self,
        market: Market,
        rest_url: &str,
        url: &str,
        body: &str,
    ) -> Vec<String> {
        let _ = (market, rest_url, url, body);
        Vec::new()
    }

    /// The instruments of every response of one list (`(url, body)` in fetch order):
    /// each parsed on its own by [`Connector::parse_instruments`] unless the exchange's
    /// responses refer to each other (Hyperliquid: a perp names its collateral by the
    /// index of a spot token). An error names the index of the response at fault.
    fn parse_instrument_list(
        &self,
        market: Market,
        responses: &[(&str, &str)],
    ) -> Result<Vec<crate::instruments::Listed>, (usize, super::ParseError)> {
        let mut out = Vec::new();
        for (i, (url, body)) in responses.iter().enumerate() {
            out.extend(
                self.parse_instruments(market, url, body)
                    .map_err(|e| (i, e))?,
            );
        }
        Ok(out)
    }

    /// How the exchange's binary frames carry its messages (most send text only).
    fn binary_frames(&self) -> super::BinaryFrames {
        super::BinaryFrames::Unexpected
    }

    /// A documented per-IP budget of subscriptions (topics) shared by every
    /// connection to the exchange's WebSocket host, with where it is documented
    /// (Hyperliquid: 1000): the config refuses sources of the exchange on one host that
    /// together plan more. `None` where the exchange documents none.
    fn subscription_budget(&self) -> Option<(usize, &'static str)> {
        None
    }

    /// The exchange's documented connection limits (see [`Limits`]); document their
    /// source in the connector's module header.
    fn limits(&self) -> Limits {
        Limits::default()
    }

    /// The channels supported on `market`, if the market is served.
    fn channels(&self, market: Market) -> Option<&'static [Channel]> {
        self.supported()
            .iter()
            .find(|(m, _)| *m == market)
            .map(|(_, c)| *c)
    }

    /// Checks a request against [`Connector::supported`] (used by every `plan`).
    fn check(&self, request: &SourceRequest) -> Result<(), PlanError> {
        let channels = self
            .channels(request.market)
            .ok_or_else(|| PlanError::UnknownMarket {
                exchange: self.name(),
                market: request.market.as_str().to_string(),
                supported: self
                    .supported()
                    .iter()
                    .map(|(m, _)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if request.symbols.is_empty() {
            return Err(PlanError::NoSymbols);
        }
        for c in &request.channels {
            if !channels.contains(c) {
                return Err(PlanError::UnsupportedChannel {
                    exchange: self.name(),
                    market: request.market.as_str(),
                    channel: c.to_string(),
                    supported: channels
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }
}

impl PlanError {
    /// The [`PlanError::BadSymbol`] a connector's `symbol` reports for `user`.
    pub fn bad_symbol(exchange: &'static str, user: &str, why: &str) -> Self {
        PlanError::BadSymbol {
            exchange,
            symbol: user.to_string(),
            why: why.to_string(),
        }
    }

    /// `info` if it is an instrument of `market`: a user symbol names one instrument,
    /// and a source must not silently pick one from another market.
    pub fn expect_market(
        exchange: &'static str,
        user: &str,
        info: SymbolInfo,
        market: Market,
    ) -> Result<SymbolInfo, PlanError> {
        if info.market != market {
            return Err(Self::bad_symbol(
                exchange,
                user,
                &format!(
                    "it is a {} instrument but the source's market is {}",
                    info.market.as_str(),
                    market.as_str()
                ),
            ));
        }
        Ok(info)
    }
}

/// Plans a request as connections of at most `per_connection` symbols each (in
/// request order), all on the request's URL with requests `send_interval` apart;
/// `fill` adds a connection's subscribe requests for its symbols.
pub fn plan_chunks(
    request: &SourceRequest,
    per_connection: usize,
    send_interval: Duration,
    mut fill: impl FnMut(&mut ConnectionPlan, &[SymbolInfo]),
) -> Vec<ConnectionPlan> {
    request
        .symbols
        .chunks(per_connection)
        .map(|chunk| {
            let mut plan = ConnectionPlan::new(request.ws_url.clone(), request, send_interval);
            fill(&mut plan, chunk);
            plan.symbols = chunk.to_vec();
            plan
        })
        .collect()
}

//! The connector contract: what a user asks for, and how an exchange module turns it
//! into WebSocket connections, frame parsers and heartbeat rules.

use std::fmt;
use std::time::Duration;

use tickbridge_schema::Market;

use crate::parse::FrameParser;
use crate::symbols::SymbolInfo;

/// A normalized data channel a user can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Trade,
    Bbo,
    Book,
    Ticker,
    Funding,
    OpenInterest,
    Liquidation,
    MarkPrice,
}

impl Channel {
    pub const ALL: [Channel; 8] = [
        Channel::Trade,
        Channel::Bbo,
        Channel::Book,
        Channel::Ticker,
        Channel::Funding,
        Channel::OpenInterest,
        Channel::Liquidation,
        Channel::MarkPrice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Trade => "trade",
            Channel::Bbo => "bbo",
            Channel::Book => "book",
            Channel::Ticker => "ticker",
            Channel::Funding => "funding",
            Channel::OpenInterest => "open_interest",
            Channel::Liquidation => "liquidation",
            Channel::MarkPrice => "mark_price",
        }
    }

    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A small set of channels (a bit set: parsers test membership on the hot path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelSet(u16);

impl ChannelSet {
    pub fn all() -> ChannelSet {
        Channel::ALL.into_iter().collect()
    }
    pub fn insert(&mut self, c: Channel) {
        self.0 |= 1 << c as u16;
    }
    pub fn contains(self, c: Channel) -> bool {
        self.0 & (1 << c as u16) != 0
    }
    pub fn iter(self) -> impl Iterator<Item = Channel> {
        Channel::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Channel> for ChannelSet {
    fn from_iter<I: IntoIterator<Item = Channel>>(iter: I) -> Self {
        let mut set = ChannelSet::default();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

/// What one `[[source]]` entry asks of one exchange: channels × symbols on a market.
#[derive(Debug, Clone)]
pub struct SourceRequest {
    pub market: Market,
    pub channels: Vec<Channel>,
    pub symbols: Vec<SymbolInfo>,
    /// WebSocket base URL (the exchange's, or a local `replay` server's).
    pub ws_url: String,
    /// REST base URL (order-book snapshots).
    pub rest_url: String,
}

/// One WebSocket connection to open: where, what to send once connected, what it carries.
#[derive(Debug, Clone)]
pub struct ConnectionPlan {
    pub url: String,
    /// Text frames to send right after connecting, in order (subscribe requests).
    pub subscribe: Vec<String>,
    pub market: Market,
    pub channels: ChannelSet,
    pub symbols: Vec<SymbolInfo>,
    /// Minimum spacing between client frames (exchange rate limits on incoming messages).
    pub send_interval: Duration,
}

/// How a connection is kept alive and judged alive.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// An application-level ping frame to send every `ping_interval`, if the exchange wants one.
    pub app_ping: Option<&'static str>,
    /// Interval of WebSocket protocol pings (or `app_ping`) sent by the client.
    pub ping_interval: Option<Duration>,
    /// With no frame at all (data, heartbeat, ping, pong) for this long the socket is dead.
    pub idle_timeout: Duration,
    /// How long to wait for subscription confirmation before reporting it.
    pub subscribe_timeout: Duration,
    /// A connection the exchange closes after this age is rotated before it.
    pub max_connection_age: Option<Duration>,
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
}

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
    /// Resolves a user symbol (normalized `BTC-USDT` or native `BTCUSDT`) on a market.
    fn symbol(&self, market: Market, user_symbol: &str) -> Result<SymbolInfo, PlanError>;
    /// Splits a request into connections within the exchange's limits.
    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError>;
    /// A fresh parser for one connection of `plan`.
    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser>;
    fn heartbeat(&self) -> Heartbeat;

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

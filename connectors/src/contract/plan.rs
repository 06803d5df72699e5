//! What a user asks of one exchange ([`SourceRequest`]) and what a connector turns it
//! into: connection plans whose subscribe requests are typed values
//! ([`SubscribeRequest`]: id, topics, expected answers) next to their wire text.
//!
//! The session tracks each request by its id (see `session::subscriptions`), so no
//! parser keeps a map of its own requests and nothing re-parses a subscribe frame to
//! recover what it asked for.

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use super::channel::{Channel, ChannelSet};
use super::parser::RestRequest;
use crate::book::BookConfig;
use crate::symbols::SymbolInfo;

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
    /// The source's order-book options (`[source.book]`): they shape both the
    /// subscription (the WebSocket book depth of Kraken and Bybit) and the parser.
    pub books: BookConfig,
}

/// Request ids at or above this belong to a parser's own resynchronisation requests
/// (unsubscribe + subscribe of one book); plans and the session's retries stay below.
pub const PARSER_REQUEST_IDS: u64 = 1_000_000;

/// One exchange subscription topic: a channel of one symbol as the exchange names it
/// (`btcusdt@trade`, `orderbook.50.BTCUSDT`, `books:BTC-USDT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The exchange's native symbol; empty for a connection-wide topic (heartbeats).
    pub native: SmolStr,
    pub channel: Channel,
    /// The topic as the exchange writes it (acknowledgements may name it).
    pub name: SmolStr,
}

/// One subscribe request of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// Unique on its connection: the id the exchange echoes in its answer (Binance
    /// `id`, Kraken and Bybit `req_id`, OKX `id`), or the request's place in send
    /// order for exchanges that answer in order without ids (Coinbase). Plans number
    /// their requests 1, 2, ...
    pub id: u64,
    /// The frame sent.
    pub text: String,
    /// What the request subscribes, in the order the text names it.
    pub topics: Vec<Topic>,
    /// How many answers (acknowledgements and refusals alike) the exchange sends for
    /// it: 1 where a request is answered once (Binance, Bybit, Coinbase), one per
    /// topic (OKX) or per symbol (Kraken) where each part is answered on its own.
    pub answers: usize,
}

impl SubscribeRequest {
    /// The distinct native symbols of the request, in order (connection-wide topics
    /// are left out).
    pub fn symbols(&self) -> Vec<SmolStr> {
        let mut out: Vec<SmolStr> = Vec::new();
        for t in &self.topics {
            if !t.native.is_empty() && !out.contains(&t.native) {
                out.push(t.native.clone());
            }
        }
        out
    }
}

/// Builds one subscribe request of `topics` with id `id`: the connector's encoder,
/// used by its planner and by the session to split a refused request (so a refusal
/// is attributed to the symbol that caused it).
pub type EncodeRequest = fn(id: u64, topics: Vec<Topic>) -> SubscribeRequest;

/// Where to connect, for an exchange that hands out its WebSocket server per connection
/// (KuCoin: `POST /api/v1/bullet-public` answers a token, the server and its ping
/// rules). The session makes `request` (a POST with the body `{}`, through
/// [`crate::rest::post`]) before **every** connection attempt — the first, each
/// reconnect and each rotation's replacement — and connects to the URL `resolve` makes
/// of the answer; a failed request or an unusable answer is a failed connection attempt
/// (retried with the reconnect backoff).
#[derive(Debug, Clone)]
pub struct EndpointRequest {
    pub request: RestRequest,
    pub resolve: ResolveEndpoint,
}

/// Turns the body of an [`EndpointRequest`]'s answer into the endpoint to connect to, or
/// says why it cannot.
pub type ResolveEndpoint = fn(body: &str) -> Result<Endpoint, String>;

/// A connection's endpoint as the exchange handed it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The full WebSocket URL (token included).
    pub url: String,
    /// Client ping interval and pong deadline the exchange announced with it; they
    /// take the place of [`crate::contract::Heartbeat`]'s for this connection.
    pub ping_interval: Option<Duration>,
    pub pong_timeout: Option<Duration>,
}

/// One WebSocket connection to open: where, what to send once connected, what it carries.
#[derive(Debug, Clone)]
pub struct ConnectionPlan {
    pub url: String,
    /// Set where the URL to connect to is handed out per connection (see
    /// [`EndpointRequest`]); `url` then only names the host (connection-attempt limits).
    pub endpoint: Option<EndpointRequest>,
    /// Subscribe requests, sent right after connecting in order, spaced by
    /// `send_interval`. On a reconnect the session sends again the ones that were not
    /// refused. Empty when the URL itself names the streams.
    pub requests: Vec<SubscribeRequest>,
    /// How a subset of a request's topics is encoded; `None` where requests cannot be
    /// split (a refused request then rejects all its symbols).
    pub encode: Option<EncodeRequest>,
    pub market: Market,
    pub channels: ChannelSet,
    pub symbols: Vec<SymbolInfo>,
    /// Minimum spacing between client frames (exchange rate limits on incoming messages).
    pub send_interval: Duration,
    /// The source's order-book options, handed to the connection's parser.
    pub books: BookConfig,
}

impl ConnectionPlan {
    /// A plan with no requests yet (the planner pushes them).
    pub fn new(url: String, request: &SourceRequest, send_interval: Duration) -> Self {
        ConnectionPlan {
            url,
            endpoint: None,
            requests: Vec::new(),
            encode: None,
            market: request.market,
            channels: request.channels.iter().copied().collect(),
            symbols: Vec::new(),
            send_interval,
            books: request.books.clone(),
        }
    }

    /// A plan for parsing recorded or fuzzed frames: every channel, no requests, and
    /// no planned symbols (every symbol seen is normalized on first sight).
    pub fn for_frames(url: &str, market: Market) -> Self {
        ConnectionPlan {
            url: url.to_string(),
            endpoint: None,
            requests: Vec::new(),
            encode: None,
            market,
            channels: ChannelSet::all(),
            symbols: Vec::new(),
            send_interval: Duration::ZERO,
            books: BookConfig::default(),
        }
    }

    /// Appends a request built by `encode` with the next id.
    pub fn push_request(&mut self, encode: EncodeRequest, topics: Vec<Topic>) {
        let id = self.requests.len() as u64 + 1;
        self.requests.push(encode(id, topics));
    }

    /// The wire text of every request, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.requests.iter().map(|r| r.text.as_str()).collect()
    }
}

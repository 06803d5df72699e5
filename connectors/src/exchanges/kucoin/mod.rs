//! KuCoin classic spot WebSocket API (`kucoin`, spot; KuCoin Futures is another host
//! family and is not served): `/market/match:{symbols}` → `trade` (taker side from
//! `side`), `/market/ticker:{symbols}` → `bbo` (best bid/ask with sizes, pushed on
//! change), `/market/level2:{symbols}` → `book`, synced against the REST snapshot
//! `GET /api/v1/market/orderbook/level2_100?symbol=` (`level2_20` when
//! `snapshot_depth` ≤ 20) by `sequenceStart`/`sequenceEnd` (see `book.rs`),
//! `/market/snapshot:{symbol}` → `ticker` (24 h statistics every 2 s).
//!
//! Documents followed (consulted 2026-12-02): KuCoin API docs (kucoin.com/docs-new),
//! Classic WebSocket: "Introduction" and "Get Public Token - Classic Spot/Margin"
//! (undated pages), Public Channels "Trade" (modified 2024-11-15), "Orderbook -
//! Increment" (example of 2024-10-25), "Orderbook - Level1", "Ticker", "Market
//! Snapshot"; Classic REST "Get Part OrderBook", "Get All Symbols" (undated); "Rate
//! Limit" (undated).
//!
//! Connecting: the endpoint is handed out per connection. Before **every** connect
//! (and reconnect, and rotation) the session POSTs `{rest}/api/v1/bullet-public` (public
//! weight 10) and connects to `{instanceServers[0].endpoint}?token={token}`, with the
//! `pingInterval`/`pingTimeout` the answer gives (18 s / 10 s documented) in place of
//! the defaults here ([`crate::contract::EndpointRequest`]). The server greets with
//! `{"id":..,"type":"welcome"}` (info). Heartbeat: the client sends
//! `{"id":"tickbridge","type":"ping"}` every `pingInterval`, answered by
//! `{"id":"tickbridge","type":"pong"}`; the server drops clients silent for longer.
//!
//! Subscribing: `{"id":N,"type":"subscribe","topic":"/market/match:BTC-USDT,ETH-USDT",
//! "privateChannel":false,"response":true}`, one channel per request with up to 100
//! symbols, answered by `{"id":"N","type":"ack"}` or by `{"id":"N","type":"error",
//! "code":..,"data":".."}` (a refusal of the request; the session halves it to find the
//! symbol). Limits ("Rate Limit", WebSocket section; the stored copy was read in part):
//! 100 topics per subscribe message, 100 client messages per 10 s per connection
//! (requests and pings are spaced [`SEND_INTERVAL`] apart), 400 topics per connection
//! (the planner shards above it), 30 connection attempts per minute. REST: the public
//! pool, 2000 weight per 30 s per IP (snapshot weight 4, `level2_20` 2).
//!
//! The recording (`cryptofeed/kucoin`, 2021-04-25) connected to the older
//! `wss://push-private.kucoin.com/endpoint?token=..` (same protocol; claimed by
//! [`Connector::market_of_url`]), without `time` in level-2 messages, fetched the
//! full book `GET /api/v3/market/orderbook/level2` (now documented as needing an API
//! key, so not used here) and the symbols from `/api/v1/symbols`; its bullet answer is
//! not recorded (tokens are redacted). Not verified against a recording:
//! `/market/snapshot` (ticker), `error` frames, `pong` frames (none recorded), the
//! `level2_100` answer (documented shape only) and the exact limit texts.

mod book;
mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::{
    Channel, ConnectionPlan, Connector, Endpoint, EndpointRequest, FrameParser, Heartbeat, Limits,
    PlanError, RateWindow, RestRequest, SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::{split_concatenated, SymbolInfo};

pub use parser::KucoinParser;

/// Symbols per subscribe message (documented).
pub const MAX_SYMBOLS_PER_REQUEST: usize = 100;
/// Topics (channel × symbol) per connection (documented).
pub const MAX_TOPICS_PER_CONNECTION: usize = 400;
/// Spacing of client frames: 100 messages per 10 s, with room for the pings.
pub const SEND_INTERVAL: Duration = Duration::from_millis(120);
/// The WebSocket base used when a plan names none (the bullet answer names the real one).
pub const WS_URL: &str = "wss://ws-api-spot.kucoin.com";
/// The REST base used when a plan names none.
pub const REST_URL: &str = "https://api.kucoin.com";
/// The client's app-level ping.
pub const PING: &str = r#"{"id":"tickbridge","type":"ping"}"#;

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker];

/// Hosts speaking this protocol: today's spot endpoint, and the older one recorded.
const HOSTS: &[&str] = &["ws-api-spot.kucoin.com", "push-private.kucoin.com"];

/// The KuCoin connector.
pub struct Kucoin;

impl Kucoin {
    /// A symbol seen in a frame without a plan naming it (recordings): the native name
    /// is already `BASE-QUOTE`.
    fn fallback_symbol(native: &str) -> SymbolInfo {
        SymbolInfo {
            market: Market::Spot,
            symbol: native.to_ascii_uppercase().into(),
            native: native.into(),
        }
    }

    /// The topic prefix of a normalized channel.
    fn prefix(channel: Channel) -> Option<&'static str> {
        match channel {
            Channel::Trade => Some("/market/match:"),
            Channel::Bbo => Some("/market/ticker:"),
            Channel::Book => Some("/market/level2:"),
            Channel::Ticker => Some("/market/snapshot:"),
            _ => None,
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> KucoinParser {
        KucoinParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            Self::fallback_symbol,
        )
    }

    /// The token request made before every connection to `rest_url`.
    pub fn endpoint_request(rest_url: &str) -> EndpointRequest {
        let base = match rest_url.trim_end_matches('/') {
            "" => REST_URL,
            url => url,
        };
        EndpointRequest {
            request: RestRequest {
                key: "bullet-public".into(),
                url: format!("{base}/api/v1/bullet-public"),
                weight: 10,
                limit: &parser::REST_LIMIT,
                delay: Duration::ZERO,
            },
            resolve: resolve_endpoint,
        }
    }
}

/// The endpoint of a `bullet-public` answer: the first instance server, with the token.
pub fn resolve_endpoint(body: &str) -> Result<Endpoint, String> {
    let answer: wire::RestAnswer =
        serde_json::from_str(body).map_err(|e| format!("unusable answer: {e}"))?;
    if answer.code != "200000" {
        return Err(format!(
            "refused: code {}: {}",
            answer.code,
            answer.msg.unwrap_or_default()
        ));
    }
    let data = answer.data.ok_or("no data in the answer")?;
    let bullet: wire::Bullet =
        serde_json::from_str(data.get()).map_err(|e| format!("unusable answer: {e}"))?;
    let server = bullet.servers.first().ok_or("no instance server listed")?;
    let sep = if server.endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(Endpoint {
        url: format!("{}{sep}token={}", server.endpoint, bullet.token),
        ping_interval: server.ping_interval.map(Duration::from_millis),
        pong_timeout: server.ping_timeout.map(Duration::from_millis),
    })
}

/// One subscribe of one channel for its symbols: the topic names them comma-separated.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let prefix = topics
        .first()
        .and_then(|t| Kucoin::prefix(t.channel))
        .unwrap_or_default();
    let symbols: Vec<&str> = topics.iter().map(|t| t.native.as_str()).collect();
    let text = serde_json::json!({
        "id": id,
        "type": "subscribe",
        "topic": format!("{prefix}{}", symbols.join(",")),
        "privateChannel": false,
        "response": true,
    })
    .to_string();
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

impl Connector for Kucoin {
    fn name(&self) -> &'static str {
        "kucoin"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        WS_URL
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        REST_URL
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        HOSTS
            .contains(&crate::session::gate::host_of(url))
            .then_some(Market::Spot)
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("kucoin", user, why);
        if market != Market::Spot {
            return Err(bad("KuCoin (classic) serves spot only"));
        }
        let upper = user.trim().to_ascii_uppercase();
        let (base, quote) = if let Some((b, q)) = upper.split_once(['/', '-', '_']) {
            (b.to_string(), q.to_string())
        } else if let Some((b, q)) = split_concatenated(&upper) {
            (b.to_string(), q.to_string())
        } else {
            return Err(bad("expected BASE-QUOTE (BTC-USDT)"));
        };
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok(&base) || !ok(&quote) {
            return Err(bad("expected BASE-QUOTE (BTC-USDT)"));
        }
        let name = format!("{base}-{quote}");
        Ok(SymbolInfo {
            market,
            symbol: name.clone().into(),
            native: name.into(),
        })
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let channels: Vec<Channel> = CHANNELS
            .iter()
            .copied()
            .filter(|c| request.channels.contains(c))
            .collect();
        let per_connection = (MAX_TOPICS_PER_CONNECTION / channels.len().max(1)).max(1);
        let mut plans = crate::contract::connector::plan_chunks(
            request,
            per_connection,
            SEND_INTERVAL,
            |plan, chunk| {
                plan.encode = Some(encode);
                for &c in &channels {
                    let Some(prefix) = Self::prefix(c) else {
                        continue;
                    };
                    for part in chunk.chunks(MAX_SYMBOLS_PER_REQUEST) {
                        let topics = part
                            .iter()
                            .map(|s| Topic {
                                native: s.native.clone(),
                                channel: c,
                                name: SmolStr::new(format!("{prefix}{}", s.native)),
                            })
                            .collect();
                        plan.push_request(encode, topics);
                    }
                }
            },
        );
        for plan in &mut plans {
            plan.endpoint = Some(Self::endpoint_request(&request.rest_url));
        }
        Ok(plans)
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: Some(PING),
            // The documented values; each connection's token answer overrides them.
            ping_interval: Some(Duration::from_secs(18)),
            pong_timeout: Duration::from_secs(10),
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
            max_streams_per_connection: MAX_TOPICS_PER_CONNECTION,
            connect_attempts: Some(RateWindow::per_secs(30, 60)),
            subscribe_requests: Some(RateWindow::per_secs(100, 10)),
        }
    }
}

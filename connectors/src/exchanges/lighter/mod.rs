//! Lighter (`lighter`, perpetuals; lighter.xyz, a zk-rollup order-book DEX) public
//! WebSocket `wss://mainnet.zklighter.elliot.ai/stream`: `trade/{MARKET}` → `trade`
//! (taker side from `is_maker_ask`: the resting order was the ask, so the taker
//! bought) and `liquidation` (its `liquidation_trades`), `order_book/{MARKET}` →
//! `book` (a snapshot on subscription, then the changes of ~50 ms batches, chained by
//! nonce), `market_stats/{MARKET}` → `ticker` (last trade price and the daily
//! high/low/base and quote volumes), `funding` (`funding_rate`, the last completed
//! payment, with `current_funding_rate`, the estimate for the next one, as the
//! predicted rate), `open_interest` and `mark_price` (with `index_price`).
//!
//! Symbols: every channel and frame names a market by its `market_id` (`order_book/1`
//! is asked for, `order_book:1` comes back), so native = the market id as text (`1`).
//! Lighter's perpetuals settle in USDC: normalized `BTC-USDC-PERP` (base = the market's
//! `symbol`, `BTC`). Users write `BTC-USDC-PERP` or the market id `1`; both are looked
//! up in the instrument list (`GET /api/v1/orderBookDetails`, see [`instruments`]),
//! fetched before planning. Without the list only the market ids and names of a small
//! documented table resolve ([`KNOWN_MARKETS`]: `ETH` = 0, `BTC` = 1; `BASE-USD-PERP`
//! is accepted as `BASE-USDC-PERP` there), and a frame of an unknown market id is named
//! by its id.
//!
//! Documents followed (consulted 2026-12-02): apidocs.lighter.xyz "WebSocket reference"
//! (endpoint, the channels `order_book/{MARKET_INDEX}`, `trade/{MARKET_INDEX}`,
//! `market_stats/{MARKET_INDEX}` and their response structures and examples, the
//! continuity rule "begin_nonce on the current update matches the nonce of the previous
//! update", the per-IP limits), "Market data" (the subscribe frames, `subscribed/…`
//! snapshot then `update/…` deltas, "Keepalive: send something at least every 2
//! minutes" with `{"type":"ping"}`, `orderBookDetails`), the `elliottech/lighter-python`
//! WebSocket client (`connected`, `subscribed/order_book`, `update/order_book`, a
//! server `{"type":"ping"}` answered with `{"type":"pong"}`), and, for the current
//! shape of frames, the mainnet fixtures of nautilus_trader's Lighter adapter
//! (`crates/adapters/lighter/test_data`, 2026) and of the `df-lighter-core` crate
//! (frames captured on mainnet 2026-07-28..31: `connected`, `pong`, error frames,
//! `unsubscribed`, consecutive chained book updates, `subscribed/trade` replays,
//! `liquidation_trades`).
//!
//! Requests: one `{"type":"subscribe","channel":"order_book/1"}` per channel and
//! market (Lighter subscribes one channel per message). Acknowledgement: the
//! `subscribed/<channel>` frame (for books it is the snapshot itself; for trades it
//! replays the latest prints, which are not republished). Refusals: error frames
//! `{"error":{"code":30005,"message":"Invalid Channel:  (marketId)"}}` name neither the
//! channel nor the market, and answer the requests in the order sent
//! ([`Answer::InOrder`](crate::contract::Answer::InOrder)); `30003 Already Subscribed
//! to : <channel>` names its channel and confirms it; `30009 Too Many Websocket
//! Messages!` is about the connection's traffic and settles no request.
//!
//! Book integrity: the snapshot's `nonce` starts the chain (its `begin_nonce` is 0);
//! every update must have `begin_nonce` equal to the previous message's `nonce`
//! (`offset`, the API server's counter, changes on reconnection and is not checked).
//! A break is a `status gap` of that market only; it is resynced by `unsubscribe` then
//! `subscribe` of its `order_book` (a bare duplicate subscribe is answered `30003` and
//! no snapshot), the snapshot being the first message after the subscription
//! (`status resynced` + snapshot). Other markets are not touched.
//!
//! Heartbeat: Lighter closes a connection that has sent nothing for 2 minutes; the
//! client sends `{"type":"ping"}` every 30 s, answered by `{"type":"pong"}` (a
//! heartbeat); a server `{"type":"ping"}` is answered `{"type":"pong"}` at once.
//!
//! Limits ("WebSocket Limits", per IP, as the stored copy of the reference gives
//! them): 100 connections, 100 subscriptions per connection, 1000 subscriptions in
//! all, 200 client messages per minute, 50 in-flight messages (a 2026 client,
//! `df-lighter-core`, states higher ones: 255 connections, 500 subscriptions per
//! connection, 5000 in all; the lower, documented ones are kept). The planner keeps at
//! most [`MAX_SUBSCRIPTIONS_PER_CONNECTION`] subscriptions per connection, sends its
//! requests [`SEND_INTERVAL`] apart and at most [`MESSAGES_PER_MINUTE`] a minute per
//! connection (room left for the pings); the subscription deadline is 45 s (a full
//! connection takes 25 s to send). The per-IP totals (1000 subscriptions, 200 messages
//! a minute across connections) are not enforced across connections.
//!
//! Not verified against live traffic (no recording of this venue in the corpus): every
//! frame shape above is taken from the documentation and the reference clients'
//! fixtures. In particular unverified: the taker side read from `is_maker_ask`; trade
//! `timestamp` in milliseconds (the documentation's own example is in seconds: values
//! below 10^11 are read as seconds); that error frames answer requests in order; the
//! units of the funding rates (published as Lighter writes them); whether the 200
//! messages a minute are counted per connection or per IP.

pub mod instruments;
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

pub use parser::{market_of_channel, LighterParser, PONG};

/// The WebSocket endpoint (mainnet).
pub const WS_URL: &str = "wss://mainnet.zklighter.elliot.ai/stream";

/// The REST base (mainnet).
pub const REST_URL: &str = "https://mainnet.zklighter.elliot.ai";

/// Subscriptions one connection may carry (Lighter: 100 per connection).
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 100;

/// Subscribe requests per minute on one connection (Lighter: 200 client messages a
/// minute; the rest is left for pings and resyncs).
pub const MESSAGES_PER_MINUTE: u32 = 180;

/// Spacing of a connection's subscribe requests: a full connection (100 requests)
/// is sent in 25 s, with at most a few requests in flight (Lighter: 50).
pub const SEND_INTERVAL: Duration = Duration::from_millis(250);

/// The app-level keep-alive.
pub const PING: &str = r#"{"type":"ping"}"#;

/// The channels of a Lighter perpetual.
pub const CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Book,
    Channel::Ticker,
    Channel::Funding,
    Channel::OpenInterest,
    Channel::MarkPrice,
    Channel::Liquidation,
];

const SUPPORTED: &[(Market, &[Channel])] = &[(Market::Perp, CHANNELS)];

/// Markets named without the instrument list: `(market id, symbol)` as the
/// documentation's examples and the reference clients' mainnet fixtures show them
/// (ETH is market 0, BTC market 1). Everything else needs the list.
pub const KNOWN_MARKETS: &[(&str, &str)] = &[("0", "ETH"), ("1", "BTC")];

/// The Lighter channel of a normalized one.
fn feed_of(channel: Channel) -> &'static str {
    match channel {
        Channel::Trade | Channel::Liquidation => "trade",
        Channel::Book | Channel::Bbo => "order_book",
        Channel::Ticker | Channel::Funding | Channel::OpenInterest | Channel::MarkPrice => {
            "market_stats"
        }
    }
}

/// The Lighter connector.
pub struct Lighter;

impl Lighter {
    /// The symbol of a market id seen in a frame without a plan naming it.
    pub fn fallback_symbol(native: &str) -> SymbolInfo {
        match KNOWN_MARKETS.iter().find(|(id, _)| *id == native) {
            Some((id, base)) => SymbolInfo {
                market: Market::Perp,
                symbol: format!("{base}-{}-PERP", instruments::SETTLE).into(),
                native: (*id).into(),
            },
            None => SymbolInfo::same(Market::Perp, native),
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> LighterParser {
        LighterParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            Self::fallback_symbol,
        )
    }
}

/// One `subscribe` of the topic of `topics` (a plan's requests carry one topic each;
/// the name is the channel as frames spell it, `order_book:1`), answered once.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let channel = topics
        .first()
        .map(|t| t.name.replacen(':', "/", 1))
        .unwrap_or_default();
    SubscribeRequest {
        id,
        text: serde_json::json!({"type": "subscribe", "channel": channel}).to_string(),
        topics,
        answers: 1,
    }
}

impl Connector for Lighter {
    fn name(&self) -> &'static str {
        "lighter"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        SUPPORTED
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        WS_URL
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        let path = path.split(['?', '#']).next().unwrap_or("");
        let lighter = matches!(
            host,
            "mainnet.zklighter.elliot.ai" | "testnet.zklighter.elliot.ai"
        );
        (lighter && path.trim_end_matches('/') == "stream").then_some(Market::Perp)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        REST_URL
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("lighter", user, why);
        if market != Market::Perp {
            return Err(bad("Lighter is served for perpetuals only"));
        }
        let upper = user.trim().to_ascii_uppercase();
        if !upper.is_empty() && upper.bytes().all(|b| b.is_ascii_digit()) {
            let id = upper.trim_start_matches('0');
            let id = if id.is_empty() { "0" } else { id };
            return match KNOWN_MARKETS.iter().find(|(m, _)| *m == id) {
                Some(_) => Ok(Self::fallback_symbol(id)),
                None => Err(bad(
                    "market ids are named from the instrument list (orderBookDetails), which is not loaded",
                )),
            };
        }
        let parts: Vec<&str> = upper.split('-').collect();
        let base = match parts.as_slice() {
            [base, "USDC" | "USD", "PERP"] => *base,
            _ => {
                return Err(bad(
                    "expected BASE-USDC-PERP (BTC-USDC-PERP) or a Lighter market id (1)",
                ))
            }
        };
        match KNOWN_MARKETS.iter().find(|(_, b)| *b == base) {
            Some((id, _)) => Ok(Self::fallback_symbol(id)),
            None => Err(bad(
                "the market id of this symbol comes from the instrument list (orderBookDetails), which is not loaded",
            )),
        }
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let mut feeds: Vec<&'static str> = Vec::new();
        for &c in &request.channels {
            let f = feed_of(c);
            if !feeds.contains(&f) {
                feeds.push(f);
            }
        }
        let per_connection = (MAX_SUBSCRIPTIONS_PER_CONNECTION / feeds.len().max(1)).max(1);
        Ok(plan_chunks(
            request,
            per_connection,
            SEND_INTERVAL,
            |plan, chunk| {
                plan.encode = Some(encode);
                for s in chunk {
                    let mut names: Vec<SmolStr> = Vec::new();
                    for &c in &request.channels {
                        let name: SmolStr = format!("{}:{}", feed_of(c), s.native).into();
                        if names.contains(&name) {
                            continue;
                        }
                        names.push(name.clone());
                        plan.push_request(
                            encode,
                            vec![Topic {
                                native: s.native.clone(),
                                channel: c,
                                name,
                            }],
                        );
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
            app_ping: Some(PING),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            // A full connection's requests take 100 × 250 ms to send.
            subscribe_timeout: Duration::from_secs(45),
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
            max_streams_per_connection: MAX_SUBSCRIPTIONS_PER_CONNECTION,
            connect_attempts: None,
            subscribe_requests: Some(RateWindow::per_secs(MESSAGES_PER_MINUTE, 60)),
        }
    }
}

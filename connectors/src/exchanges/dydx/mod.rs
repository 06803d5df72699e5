//! dYdX v4 Indexer WebSocket (`dydx`): `wss://indexer.dydx.trade/v4/ws`.
//!
//! Market and symbols: `perp` only. dYdX v4 lists perpetuals whose market ids
//! ("tickers") are `BTC-USD`; every market is quoted, margined and settled in USDC
//! (the only collateral asset; funding and PnL are paid in USDC). Following the rule
//! "the settle asset the venue actually uses", native `BTC-USD` is normalized
//! `BTC-USDC-PERP` (base `BTC`, quote and settle `USDC`); `native` carries the ticker
//! as dYdX writes it. A user may write either form.
//!
//! Channels (one subscribe frame per channel and market, `batched: false`: every
//! update is its own message, with its own `message_id`, sent as soon as the indexer
//! has it; `channel_batch_data` — what `batched: true` sends every 250 ms, `contents`
//! an array of updates — is parsed all the same):
//! - `v4_trades` (`id` = ticker) → `trade` (`side` is the taker's, `id` the taker
//!   fill id, `createdAt` the exchange time) and `liquidation` (a trade with
//!   `liquidation: true` or `type: LIQUIDATED`: the liquidated subaccount was the
//!   taker, the liquidation order has the trade's side). The `subscribed` answer
//!   holds the last trades: history, not republished.
//! - `v4_orderbook` (`id` = ticker) → `book` and `bbo` (derived from the book: dYdX
//!   has no bbo channel). `subscribed` carries the whole book in `contents`
//!   (`{"bids":[{"price","size"}],..}`), `channel_data` one change (`{"bids":[["price","size"]]}`,
//!   absolute sizes, `"0"` deletes).
//! - `v4_markets` (no `id`: all markets; one subscription per connection, filtered
//!   to the connection's markets) → `mark_price` (the oracle price: dYdX margins,
//!   liquidates and marks positions at it, and it is an index of spot venues, so it is
//!   published as both `mark_price` and `index_price`), `open_interest`
//!   (`openInterest`, base units) and `funding` (`nextFundingRate`: the rate of the
//!   next hourly funding as the indexer currently estimates it; dYdX publishes no
//!   next-funding time on this channel, so `next_funding_ts` is `null`). `ticker` is not
//!   offered: the channel carries no bid/ask and only partial 24 h fields.
//!
//! Book integrity: dYdX's `message_id` is a counter of the **connection** (socks
//! `connections[id].messageId`, incremented for every message it sends and for every
//! request it receives; `subscribed`/`error` replies carry the id of their request,
//! so they can arrive after data of higher ids), not of a book; the indexer sends
//! no per-book sequence (`version` is the message schema's version). So the rule is:
//! within one market's book, every change must carry a `message_id` above the previous
//! one of that book (the snapshot's included). A change whose `message_id` is not
//! above (out of order, repeated), or a change of a market whose book has no
//! snapshot, is a gap of that market only: `status gap`, its `v4_orderbook`
//! subscription alone is unsubscribed and subscribed again (the new `subscribed`
//! snapshot repairs it: `status resynced`, then `book` snapshot), throttled per market
//! (5 s); the other markets of the connection keep streaming. A message lost inside one
//! market's stream cannot be seen from `message_id` (other channels' messages and our
//! own requests also use the counter) and the indexer offers no checksum: TCP
//! delivers the indexer's messages in order, and that is as far as dYdX's own
//! integrity goes. Book records carry `seq` = the frame's `message_id` (it restarts at
//! 0 with every connection, and every connection starts its books with a snapshot).
//!
//! Crossed books: the indexer's book is built from optimistic order placements and
//! can briefly show a best bid at or above the best ask; dYdX's web client
//! (v4-web/abacus) hides the crossed levels client-side. tickbridge publishes the
//! book exactly as the indexer streams it, crossed or not, and never declares a gap for
//! it: dropping levels would make the published chain differ from the venue's (a later
//! change to a dropped level could not be applied consistently by a consumer), and
//! which side is stale is a guess. A consumer that wants the web client's view
//! uncrosses at read time; `bbo` records are the top of the book as streamed.
//!
//! Control frames: `connected` on connect (`message_id` 0) → info; `subscribed` →
//! acknowledgement of `channel:id` (`v4_markets` alone); `unsubscribed` → info;
//! `error` ("Invalid subscription id for channel: (v4_orderbook-FOO-USD)", "Invalid
//! subscribe message: already subscribed (..)", "Internal error, could not fetch data
//! for subscription: v4_trades.", "Per-connection subscription limit reached for
//! v4_orderbook (limit=32).", "Too many subscribe attempts for channel ..") → a refusal
//! of the channel and market it names (in `channel`/`id`, which recent indexers add to
//! some errors, else in parentheses), otherwise of nothing in particular; `pong` →
//! heartbeat.
//!
//! Heartbeat: "every 30 seconds, the websocket API will send a heartbeat ping control
//! frame to the connected client. If a pong event is not received within 10 seconds
//! back, the websocket API will disconnect" (socks `WS_HEARTBEAT_INTERVAL_MS` 30 000,
//! `WS_HEARTBEAT_TIMEOUT_MS` 10 000): protocol pongs are sent by the WebSocket layer at
//! once. tickbridge also sends protocol pings every 30 s (10 s to answer), and a socket
//! silent for 70 s (two missed server pings) is dead. A `subscribed` answer waits for
//! the indexer's initial-data fetch (socks `INITIAL_GET_TIMEOUT_MS`, 20 s): a request
//! unanswered after 25 s is reported.
//!
//! Limits: documented "2 subscriptions per (connection + channel + channel id) per
//! second" and "2 invalid messages per connection per second" (exceeding the first
//! closes the connection: socks closes with its policy-violation code), and "for
//! websocket from Indexer, the following channel limits per connection":
//! `V4_ORDERBOOK_CHANNEL_LIMIT: 32`, `V4_TRADES_CHANNEL_LIMIT: 32`,
//! `V4_MARKETS_CHANNEL_LIMIT: 32` (a 33rd is answered "Per-connection subscription limit
//! reached"). So a connection carries at most [`MAX_MARKETS_PER_CONNECTION`] markets
//! (two channels each, plus one `v4_markets`), requests 50 ms apart. Resyncs subscribe
//! a market's book at most once per 5 s, far under the per-market 2 per second. REST
//! (the instrument list only): 100 requests per 10 s per IP.
//!
//! Documents relied on (all consulted 2026-12-02): dYdX docs "Indexer Websocket
//! Documentation" (docs.dydx.exchange/api_integration-indexer/indexer_websocket,
//! undated: endpoint, `connected`, ping/pong intervals, rate limits, unsubscribe) and
//! "WebSockets API" (docs.dydx.xyz/indexer-client/websockets, v4-documentation commit
//! 77a43ce: subscribe fields incl. `batched`, the `subscribed`/`unsubscribed`/data
//! schemas); the indexer's own `websocket-documentation.md` (v4-chain
//! `indexer/services/comlink/public`, the example frames of `v4_orderbook`,
//! `v4_trades`, `v4_markets` reproduced in [`wire`]); the socks service source
//! (v4-chain `indexer/services/socks/src`: `helpers/message.ts` frame layouts,
//! `lib/subscription.ts` error texts, `lib/message-forwarder.ts` and
//! `websocket/index.ts` the `message_id` counter, `config.ts` heartbeat, rate and
//! channel limits); "Rate Limits" (docs.dydx.xyz/concepts/trading/limits/rate-limits:
//! the per-connection channel limits, the indexer's 100 requests per 10 s); REST "Get
//! Perpetual Markets" (`GET /v4/perpetualMarkets`).
//!
//! Unverified against live traffic (the corpus holds no dYdX recording): everything
//! above is from the documents and the indexer source; in particular the exact
//! `error` texts and their `channel`/`id` fields, the `oraclePrices` entry field name (the
//! docs say `price`, recent indexers `oraclePrice`: both are read), and the layout of
//! `channel_batch_data` for books. `tests/captures/dydx.jsonl` is written from the
//! documented frames, not recorded.

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
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, SourceRequest,
    SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::DydxParser;

/// Markets per connection (dYdX: 32 subscriptions per channel per connection).
pub const MAX_MARKETS_PER_CONNECTION: usize = 32;

/// The channels dYdX serves (no ticker: see the module docs).
pub const CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Funding,
    Channel::OpenInterest,
    Channel::MarkPrice,
    Channel::Liquidation,
];

const SUPPORTED: &[(Market, &[Channel])] = &[(Market::Perp, CHANNELS)];

/// The indexer channels in the order a plan subscribes them.
pub const TRADES: &str = "v4_trades";
pub const ORDERBOOK: &str = "v4_orderbook";
pub const MARKETS: &str = "v4_markets";
const FEEDS: [&str; 3] = [TRADES, ORDERBOOK, MARKETS];

/// The indexer channel carrying a channel.
fn feed_of(channel: Channel) -> &'static str {
    match channel {
        Channel::Trade | Channel::Liquidation => TRADES,
        Channel::Book | Channel::Bbo => ORDERBOOK,
        Channel::Funding | Channel::OpenInterest | Channel::MarkPrice | Channel::Ticker => MARKETS,
    }
}

/// The settle (and quote) asset of every dYdX v4 market.
pub const SETTLE: &str = "USDC";

/// The dYdX connector.
pub struct Dydx;

impl Dydx {
    /// The symbol of a ticker as frames name it (`BTC-USD` → `BTC-USDC-PERP`); a
    /// ticker of another shape keeps its name.
    pub fn normalize(native: &str) -> SymbolInfo {
        let upper = native.to_ascii_uppercase();
        let symbol = match upper.strip_suffix("-USD") {
            Some(base) if !base.is_empty() && !base.contains('-') => {
                format!("{base}-{SETTLE}-PERP")
            }
            _ => upper.clone(),
        };
        SymbolInfo {
            market: Market::Perp,
            symbol: symbol.into(),
            native: upper.into(),
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> DydxParser {
        DydxParser::new(plan.channels, &plan.symbols, &plan.books, Self::normalize)
    }
}

/// The topic name of a channel of a market (`v4_orderbook:BTC-USD`; `v4_markets`).
pub fn topic_name(feed: &str, native: &str) -> SmolStr {
    if feed == MARKETS {
        SmolStr::new_static(MARKETS)
    } else {
        format!("{feed}:{native}").into()
    }
}

/// A subscribe (or unsubscribe) frame of one indexer channel.
pub fn frame(op: &str, feed: &str, native: &str) -> String {
    let mut v = serde_json::json!({"type": op, "channel": feed});
    if feed != MARKETS {
        v["id"] = native.into();
    }
    if op == "subscribe" {
        v["batched"] = false.into();
    }
    v.to_string()
}

/// One subscribe of one indexer channel for one market (`v4_markets`: for all the
/// connection's markets), answered once.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let (feed, native) = topics
        .first()
        .map(|t| {
            let (feed, native) = t.name.split_once(':').unwrap_or((t.name.as_str(), ""));
            (feed.to_string(), native.to_string())
        })
        .unwrap_or_else(|| (TRADES.to_string(), String::new()));
    SubscribeRequest {
        id,
        text: frame("subscribe", &feed, &native),
        answers: 1,
        topics,
    }
}

impl Connector for Dydx {
    fn name(&self) -> &'static str {
        "dydx"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        SUPPORTED
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://indexer.dydx.trade/v4/ws"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        let host_ok = matches!(
            host,
            "indexer.dydx.trade" | "indexer.v4testnet.dydx.exchange"
        );
        (host_ok && path.split('?').next() == Some("v4/ws")).then_some(Market::Perp)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://indexer.dydx.trade"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("dydx", user, why);
        let upper = user.trim().to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('-').collect();
        if !crate::symbols::alphanumeric_parts(&parts) {
            return Err(bad("expected BTC-USDC-PERP or a ticker such as BTC-USD"));
        }
        let native = match parts.as_slice() {
            [base, "USDC", "PERP"] => format!("{base}-USD"),
            [_, "USD"] => upper.clone(),
            _ => return Err(bad("expected BASE-USDC-PERP or a ticker BASE-USD")),
        };
        PlanError::expect_market("dydx", user, Self::normalize(&native), market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        Ok(plan_chunks(
            request,
            MAX_MARKETS_PER_CONNECTION,
            Duration::from_millis(50),
            |plan, chunk| {
                plan.encode = Some(encode);
                for feed in FEEDS {
                    let mut markets: Vec<Topic> = Vec::new();
                    for s in chunk {
                        let mut topics: Vec<Topic> = Vec::new();
                        for &c in &request.channels {
                            if feed_of(c) != feed || topics.iter().any(|t| t.native == s.native) {
                                continue;
                            }
                            topics.push(Topic {
                                native: s.native.clone(),
                                channel: c,
                                name: topic_name(feed, &s.native),
                            });
                        }
                        if feed == MARKETS {
                            markets.extend(topics);
                        } else if !topics.is_empty() {
                            plan.push_request(encode, topics);
                        }
                    }
                    if !markets.is_empty() {
                        plan.push_request(encode, markets);
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
            // The server pings every 30 s and wants a pong within 10 s (answered by the
            // WebSocket layer); our own protocol pings on the same rhythm.
            app_ping: None,
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(70),
            // socks fetches a subscription's initial data before answering, for up
            // to `INITIAL_GET_TIMEOUT_MS` = 20 s.
            subscribe_timeout: Duration::from_secs(25),
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
            max_streams_per_connection: MAX_MARKETS_PER_CONNECTION * 2 + 1,
            ..Limits::default()
        }
    }
}

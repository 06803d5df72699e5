//! Bitfinex WebSocket API v2 (`bitfinex`, spot): `wss://api-pub.bitfinex.com/ws/2`.
//!
//! Channels: `trades` → `trade` (the `te` message, taker side from the sign of
//! `AMOUNT`: positive = bought, negative = sold; size = |AMOUNT|); `book` (`prec` P0,
//! `freq` F0, `len` 25 by default — 100 or 250 with `[source.book] snapshot_depth`)
//! → `book`, and `bbo` derived from the same book whenever its top changes (one
//! `book` subscription serves both); `ticker` → `ticker` (`BID`, `ASK`, `LAST_PRICE`,
//! `VOLUME`, `HIGH`, `LOW`; the ticker's `BID_SIZE`/`ASK_SIZE` are documented as the
//! sum of the 25 best levels, not the best level's size, so they are left out).
//!
//! Which trade message counts: a trade is pushed twice, `te` at execution and `tu`
//! once written to the database (1-2 s later, the same `ID`, `MTS`, `AMOUNT`,
//! `PRICE`). `te` is the trade (first, and exactly one per trade); `tu` is classified
//! `Ignored` as its echo, so trade records equal `te` frames. The trades snapshot sent
//! on subscription (the last trades before it) is history, re-sent on every
//! (re)subscription: `Ignored`, never republished.
//!
//! Control: the connection starts with `{"event":"conf","flags":196608}` = `SEQ_ALL`
//! (65536: every channel message carries the connection's sequence number after its
//! payload) + `OB_CHECKSUM` (131072: `[CHAN_ID,"cs",CHECKSUM]` per book), answered by
//! `{"event":"conf","status":"OK",..}`; then one `{"event":"subscribe",..}` per channel
//! and symbol, answered by `subscribed` naming channel and symbol and binding a
//! `chanId` (kept per connection: channel messages name only the id) or by `error`
//! (`code` 10300 subscription failed, 10301 already subscribed — taken as an ack —,
//! 10302 unknown channel, 10305 channel limit reached; attributed to `channel:symbol`
//! when the error echoes them); `unsubscribed` ends a binding. `info` events: the
//! welcome (`version`, `platform.status`), 20051 (server stopping: reconnect, by
//! rotation — [`crate::Parsed::Reconnect`]), 20060 (maintenance: pause — no
//! resubscription is sent until 20061), 20061 (maintenance ended: every channel is
//! unsubscribed and subscribed again; books announce `status gap` first, since data
//! may have been missed). Heartbeats: the server sends `[CHAN_ID,"hb"]` on a channel
//! quiet for 15 s; the client pings with `{"event":"ping","cid":1}` (answered by
//! `pong`) every 20 s.
//!
//! Book integrity: P0 levels are `[PRICE, COUNT, AMOUNT]` (AMOUNT > 0 bid, < 0 ask;
//! COUNT 0 deletes the level, AMOUNT 1 from bids, -1 from asks). `SEQ_ALL` numbers
//! every channel message of the connection (heartbeats included) 1, 2, 3...: a jump
//! means a message of an unknown channel was lost, so every book of the connection
//! announces `status gap` (expected = last + 1, got) and is resubscribed, each on its
//! own (throttled per symbol). The checksum covers one book: CRC32 (as a signed
//! 32-bit integer) of the 25 best bids and 25 best asks interleaved
//! `bidPrice:bidAmount:askPrice:askAmount:...` (ask amounts negative, missing levels
//! left out, numbers as the server wrote them); a mismatch → `status gap` and a
//! resubscription of that symbol's book only (`unsubscribe` by `chanId`, then
//! `subscribe`: the new subscription starts with a snapshot). Record `seq` is the
//! connection sequence number; record ids carry the `chanId` (`.ch<id>`), since
//! sequence numbers restart on every connection.
//!
//! Documents followed (all consulted 2026-12-02): Bitfinex API docs "General"
//! (docs.bitfinex.com/docs/ws-general, undated: URLs, symbols, error codes 10000,
//! 10001, 10305, info messages), "Public Channels" (docs.bitfinex.com/docs/ws-public,
//! "updated 4 months ago" in one stored copy, "about 2 years ago" in another: the
//! public host, "20 connections per minute", "You can subscribe to 25 channels at the
//! same time on the same connection"), "WebSocket Checksum"
//! (docs.bitfinex.com/docs/ws-websocket-checksum, undated: flag 131072, 25 levels,
//! signed CRC32, the interleaved order), the trades channel reference
//! (docs.bitfinex.com/reference-link/ws-public-trades, undated), and the reference
//! client `bitfinexcom/bitfinex-api-node` (`lib/transports/ws2.js`: the public
//! sequence check, last value of a message, +1 per message).
//!
//! Limits: [`MAX_CHANNELS_PER_CONNECTION`] = 25 channels per connection (the current
//! "Public Channels" page; a 2018 announcement said 50, third-party pages say 30 or
//! 100 — the documented 25 is used), so a connection carries 25 / (channels per
//! symbol) symbols; 20 connections per minute on `api-pub` ([`Limits::connect_attempts`]).
//! No client message rate is documented for public channels: requests are spaced by
//! 100 ms.
//!
//! The recording (`cryptofeed/bitfinex`, 2021-04-17) differs from what is
//! implemented: it used `wss://api.bitfinex.com/ws/2` (the same protocol, now meant
//! for authenticated channels; [`Connector::market_of_url`] claims both hosts),
//! `flags` 65536 only (sequence numbers, no checksums) and `len` 100; it holds no
//! `te`/`tu` message (its trade channels sent snapshots only), no checksum, no
//! `error`, no `info` code. Not verified against a recording, only against the
//! documentation: trade messages, the checksum, error and info codes, `pong`, the
//! exact `msg` texts (the examples in the tests are shaped after the docs), and the
//! 20060/20061 maintenance sequence; the info codes' texts on the live "General"
//! page could not be read in the stored copies (the codes are those of Bitfinex's
//! own clients: `bitfinexcom/bitfinex-api-rb` `INFO_SERVER_RESTART = 20051`,
//! `INFO_MAINTENANCE_START = 20060`, `INFO_MAINTENANCE_END = 20061`; the
//! bitfinex-api-node example `info_events.js` pauses on the start, resumes on the end
//! and reconnects on the restart). Perpetuals (`tBTCF0:USTF0`) are not implemented.

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
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::{book_checksum_string, BitfinexParser};

/// Channels one connection may carry ("Public Channels": 25).
pub const MAX_CHANNELS_PER_CONNECTION: usize = 25;
/// `SEQ_ALL` (65536) + `OB_CHECKSUM` (131072).
pub const CONF_FLAGS: u64 = 65_536 + 131_072;
/// The book lengths served for P0 (`1` too, but the checksum covers 25 levels).
pub const BOOK_LENGTHS: &[usize] = &[25, 100, 250];
/// The REST base used when a plan names none.
pub const REST_URL: &str = "https://api-pub.bitfinex.com";

const CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker];

/// The Bitfinex connector.
pub struct Bitfinex;

/// The `subscribe` frame of a book.
pub fn book_subscribe(native: &str, len: usize) -> String {
    serde_json::json!({"event": "subscribe", "channel": "book", "symbol": native,
        "prec": "P0", "freq": "F0", "len": len.to_string()})
    .to_string()
}

/// The `subscribe` frame of a trades or ticker channel.
pub fn subscribe(channel: &str, native: &str) -> String {
    serde_json::json!({"event": "subscribe", "channel": channel, "symbol": native}).to_string()
}

impl Bitfinex {
    /// A symbol seen in a frame without a plan naming it (recordings): `tBTCUSD` →
    /// `BTC-USD`, `tTESTBTC:TESTUSD` → `TESTBTC-TESTUSD`.
    pub fn fallback_symbol(native: &str) -> SymbolInfo {
        let pair = native.strip_prefix('t').unwrap_or(native);
        let symbol = match instruments::split_pair(pair) {
            Some((b, q)) => format!("{b}-{q}"),
            None => pair.to_string(),
        };
        SymbolInfo {
            market: Market::Spot,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    /// The Bitfinex channels carrying `channels` (`book` once for book and bbo).
    fn topics(channels: &[Channel], native: &SmolStr) -> Vec<Topic> {
        let mut out: Vec<Topic> = Vec::new();
        for &c in channels {
            let name = match c {
                Channel::Trade => "trades",
                Channel::Ticker => "ticker",
                Channel::Book | Channel::Bbo => "book",
                _ => continue,
            };
            let name = format!("{name}:{native}");
            if !out.iter().any(|t| t.name == name) {
                out.push(Topic {
                    native: native.clone(),
                    channel: c,
                    name: name.into(),
                });
            }
        }
        out
    }

    pub fn new_parser(plan: &ConnectionPlan) -> BitfinexParser {
        BitfinexParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            plan.books.served_depth(BOOK_LENGTHS, 25),
            Self::fallback_symbol,
        )
    }
}

/// A request of one topic: `subscribe` of its channel (answered once).
fn request(id: u64, topic: Topic, len: usize) -> SubscribeRequest {
    let (channel, native) = topic
        .name
        .split_once(':')
        .unwrap_or((topic.name.as_str(), ""));
    let text = match channel {
        "book" => book_subscribe(native, len),
        other => subscribe(other, native),
    };
    SubscribeRequest {
        id,
        text,
        topics: vec![topic],
        answers: 1,
    }
}

/// The `conf` request (connection-wide), answered by the `conf` event.
fn conf_request(id: u64) -> SubscribeRequest {
    SubscribeRequest {
        id,
        text: serde_json::json!({"event": "conf", "flags": CONF_FLAGS}).to_string(),
        topics: vec![Topic {
            native: SmolStr::default(),
            channel: Channel::Book,
            name: "conf".into(),
        }],
        answers: 1,
    }
}

impl Connector for Bitfinex {
    fn name(&self) -> &'static str {
        "bitfinex"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://api-pub.bitfinex.com/ws/2"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let host = host.split(':').next().unwrap_or(host);
        let path_ok = url
            .split_once("://")
            .map_or(url, |(_, r)| r)
            .trim_start_matches(|c| c != '/')
            .starts_with("/ws/2");
        (matches!(host, "api-pub.bitfinex.com" | "api.bitfinex.com") && path_ok)
            .then_some(Market::Spot)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        REST_URL
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("bitfinex", user, why);
        if market != Market::Spot {
            return Err(bad("the bitfinex connector serves spot pairs only"));
        }
        let trimmed = user.trim();
        // `tBTCUSD`: the native form, `t` + the pair.
        let pair = match trimmed.strip_prefix('t') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => rest,
            _ => trimmed,
        };
        let upper = pair.to_ascii_uppercase();
        let parts = match upper.split_once(['-', '/']) {
            Some((b, q)) => {
                let ok = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphanumeric());
                (ok(b) && ok(q)).then(|| (b.to_string(), q.to_string()))
            }
            None => instruments::split_pair(&upper).map(|(b, q)| (b.to_string(), q.to_string())),
        };
        let Some((base, quote)) = parts else {
            return Err(bad(
                "expected BASE-QUOTE (BTC-USD) or the pair (tBTCUSD, BTCUSD, AAVE:USD)",
            ));
        };
        let native = if base.len() == 3 && quote.len() == 3 {
            format!("t{base}{quote}")
        } else {
            format!("t{base}:{quote}")
        };
        Ok(SymbolInfo {
            market,
            symbol: format!("{base}-{quote}").into(),
            native: native.into(),
        })
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let per_symbol = request.symbols.first().map_or(1, |s| {
            Self::topics(&request.channels, &s.native).len().max(1)
        });
        let per_connection = (MAX_CHANNELS_PER_CONNECTION / per_symbol).max(1);
        let len = request.books.served_depth(BOOK_LENGTHS, 25);
        Ok(plan_chunks(
            request,
            per_connection,
            Duration::from_millis(100),
            |plan, chunk| {
                // Requests are one channel each and cannot be split: `encode` stays
                // `None` (a refusal names its request by `channel:symbol`).
                plan.requests.push(conf_request(1));
                for s in chunk {
                    for topic in Self::topics(&request.channels, &s.native) {
                        let id = plan.requests.len() as u64 + 1;
                        plan.requests.push(self::request(id, topic, len));
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
            // `{"event":"ping","cid":..}` is answered by `{"event":"pong",..}`; the
            // server sends `hb` on every channel quiet for 15 s.
            app_ping: Some(r#"{"event":"ping","cid":1}"#),
            ping_interval: Some(Duration::from_secs(20)),
            idle_timeout: Duration::from_secs(45),
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
            max_streams_per_connection: MAX_CHANNELS_PER_CONNECTION,
            connect_attempts: Some(RateWindow::per_secs(20, 60)),
            subscribe_requests: None,
        }
    }
}

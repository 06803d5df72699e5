//! OKX v5 public WebSocket (`okx`): `wss://ws.okx.com:8443/ws/v5/public`.
//!
//! Markets: `spot` (SPOT, `BTC-USDT`), `perp` (SWAP, native `BTC-USDT-SWAP` ↔
//! `BTC-USDT-PERP`), `future` (FUTURES, `BTC-USD-250627`, the same in both forms).
//!
//! Channels: `trades` → `trade` (taker side; one push per taker order, price and source,
//! `tradeId` the last trade aggregated); `bbo-tbt` → `bbo`; `books` → `book` (400 levels:
//! snapshot, then updates every 100 ms) — or `books5` (5-level snapshots) with
//! [`Okx::book_channel`]; `tickers` → `ticker`; `funding-rate` → `funding` (swaps);
//! `open-interest` → `open_interest`; `mark-price` → `mark_price`; `liquidation-orders`
//! → `liquidation` (subscribed per instrument type, filtered to the connection's
//! instruments).
//!
//! Book integrity: `seqId`/`prevSeqId` chaining — a snapshot has `prevSeqId = -1`; an
//! update is in order iff its `prevSeqId` equals the last applied `seqId` (seqIds are
//! not contiguous; a keep-alive update with no change has `seqId == prevSeqId`; after
//! maintenance `seqId` may restart lower, which the rule accepts). A break → `status
//! gap`, that instrument's book channel is unsubscribed and subscribed again (the new
//! subscription starts with a snapshot), nothing is published for it meanwhile. The
//! `checksum` field is deprecated (fixed to 0 in production since 2026-06-23): it is
//! parsed, and a non-zero value (older recordings) is still verified — CRC32, signed,
//! over up to 25 levels interleaved `bidPx:bidSz:askPx:askSz` — and is the only check
//! on recordings that predate `seqId`.
//!
//! Control: text `ping` every 20 s (the connection closes after 30 s without data),
//! answered by text `pong`; one `{"event":"subscribe"}` per argument (a request counts
//! as confirmed on its last, matched by the request `id`); `{"event":"error"}` refuses a
//! request (attributed to its instrument by `id`); `{"event":"notice","code":"64008"}`
//! announces a disconnect for a service upgrade (60 s ahead in the current docs) → the
//! session reconnects early.
//!
//! Limits (OKX "WebSocket" overview): 3 connection requests per second per IP; 480
//! `subscribe`/`unsubscribe`/`login` requests per hour per connection (one request per
//! instrument keeps a refusal to that instrument; resyncs are throttled per instrument);
//! subscribe payloads under 64 KB; fewer than 30 `books` channels per connection
//! (recommended), so a connection carrying books takes at most
//! [`MAX_BOOK_SYMBOLS_PER_CONNECTION`] instruments.
//!
//! Doc audit 2026-12-02 — no change. Checked against the v5 API documentation's
//! WebSocket overview (okx.com/docs-v5, undated: consulted 2026-12-02; English and
//! Chinese copies): 3 connection requests/s per IP, 480 `subscribe`/`unsubscribe`/
//! `login` requests per connection per hour, and the connection closing when no
//! subscription is made or no data pushed for 30 s (hence `ping` after N < 30 s) match.
//! Not verified from a stored OKX page: the 64 KB payload cap (quoted by third parties),
//! the < 30 `books` channels recommendation, the `64008` notice lead time (OKX's DEX API
//! docs say 30 s; the v5 page text was not in the copy) and the 2026-06-23 checksum
//! deprecation. The early reconnect on `64008` does not depend on the lead time.

mod instruments;
mod parser;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use crate::contract::connector::{plan_chunks, SPOT_PERP_FUTURE};
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::{alphanumeric_parts, SymbolInfo};

pub use parser::{legacy_checksum, legacy_checksum_string, OkxParser};

/// Instruments per connection when books are subscribed (OKX: "less than 30" 400- or
/// 50-level channels per connection).
pub const MAX_BOOK_SYMBOLS_PER_CONNECTION: usize = 29;
/// Instruments per connection otherwise (our choice, well within 480 requests/hour).
pub const MAX_SYMBOLS_PER_CONNECTION: usize = 100;

/// The OKX connector; `book_channel` is `books` (default) or `books5`.
pub struct Okx {
    pub book_channel: &'static str,
}

impl Default for Okx {
    fn default() -> Self {
        Okx::DEFAULT
    }
}

/// A subscribe request of `topics` (each topic is an arg `{"channel","instId"}`, or
/// `{"channel","instType"}` for a whole type; every arg is acknowledged on its own).
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let args: Vec<serde_json::Value> = topics
        .iter()
        .map(|t| {
            let (channel, inst) = t.name.split_once(':').unwrap_or((t.name.as_str(), ""));
            if t.native.is_empty() {
                serde_json::json!({"channel": channel, "instType": inst})
            } else {
                serde_json::json!({"channel": channel, "instId": inst})
            }
        })
        .collect();
    SubscribeRequest {
        id,
        text: serde_json::json!({"id": id.to_string(), "op": "subscribe", "args": args})
            .to_string(),
        answers: topics.len(),
        topics,
    }
}

impl Okx {
    pub const DEFAULT: Okx = Okx {
        book_channel: "books",
    };

    /// Normalizes an instrument id (`BTC-USDT-SWAP` → `BTC-USDT-PERP`).
    pub fn normalize(native: &str) -> SymbolInfo {
        let parts: Vec<&str> = native.split('-').collect();
        let (market, symbol) = match parts.as_slice() {
            [b, q, "SWAP"] => (Market::Perp, format!("{b}-{q}-PERP")),
            [_, _, e] if e.len() == 6 && e.bytes().all(|c| c.is_ascii_digit()) => {
                (Market::Future, native.to_string())
            }
            [_, _, _, _, _] => (Market::Option, native.to_string()),
            _ => (Market::Spot, native.to_string()),
        };
        SymbolInfo {
            market,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    /// The topics (`channel:instId`) carrying `channels` for one instrument.
    fn topics(&self, channels: &[Channel], inst: &smol_str::SmolStr) -> Vec<Topic> {
        let mut out: Vec<Topic> = Vec::new();
        for &channel in channels {
            let n = match channel {
                Channel::Trade => "trades",
                Channel::Bbo => "bbo-tbt",
                Channel::Book => self.book_channel,
                Channel::Ticker => "tickers",
                Channel::Funding => "funding-rate",
                Channel::OpenInterest => "open-interest",
                Channel::MarkPrice => "mark-price",
                Channel::Liquidation => continue,
            };
            let name = format!("{n}:{inst}");
            if !out.iter().any(|t| t.name == name) {
                out.push(Topic {
                    native: inst.clone(),
                    channel,
                    name: name.into(),
                });
            }
        }
        out
    }

    /// A parser for one planned connection.
    pub fn new_parser(&self, plan: &ConnectionPlan) -> OkxParser {
        OkxParser::new(plan.channels, &plan.symbols, Self::normalize, &plan.books)
    }
}

impl Connector for Okx {
    fn name(&self) -> &'static str {
        "okx"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        // Every channel on each of its markets.
        SPOT_PERP_FUTURE
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://ws.okx.com:8443/ws/v5/public"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        // OKX v5, and Okcoin, which runs the same API.
        url.contains("/ws/v5/public").then(|| self.default_market())
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://www.okx.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("okx", user, why);
        let upper = user.trim().to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('-').collect();
        if !alphanumeric_parts(&parts) {
            return Err(bad(
                "expected an instrument id such as BTC-USDT, BTC-USDT-SWAP, BTC-USD-250627",
            ));
        }
        let native = match parts.as_slice() {
            [b, q, "PERP"] => format!("{b}-{q}-SWAP"),
            [_, _] | [_, _, _] => upper.clone(),
            _ => {
                return Err(bad(
                    "expected BASE-QUOTE, BASE-QUOTE-PERP (or -SWAP) or BASE-QUOTE-YYMMDD",
                ))
            }
        };
        PlanError::expect_market("okx", user, Self::normalize(&native), market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let per_connection = if request.channels.contains(&Channel::Book) {
            MAX_BOOK_SYMBOLS_PER_CONNECTION
        } else {
            MAX_SYMBOLS_PER_CONNECTION
        };
        // 480 requests per hour per connection: a burst at connect time is fine;
        // spacing keeps the exchange's request handling smooth.
        let send_interval = Duration::from_millis(100);
        Ok(plan_chunks(
            request,
            per_connection,
            send_interval,
            |plan, chunk| {
                plan.encode = Some(encode);
                for s in chunk {
                    plan.push_request(encode, self.topics(&request.channels, &s.native));
                }
                if request.channels.contains(&Channel::Liquidation) {
                    let inst_type = match request.market {
                        Market::Future => "FUTURES",
                        _ => "SWAP",
                    };
                    let topic = Topic {
                        native: smol_str::SmolStr::default(),
                        channel: Channel::Liquidation,
                        name: format!("liquidation-orders:{inst_type}").into(),
                    };
                    plan.push_request(encode, vec![topic]);
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            // "send the string 'ping' ... after N < 30 seconds" without a message.
            app_ping: Some("ping"),
            idle_timeout: Duration::from_secs(40),
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
            max_streams_per_connection: MAX_SYMBOLS_PER_CONNECTION * 7,
            connect_attempts: Some(RateWindow::per_secs(3, 1)),
            subscribe_requests: Some(RateWindow::per_secs(480, 3600)),
        }
    }
}

#[cfg(test)]
mod tests;

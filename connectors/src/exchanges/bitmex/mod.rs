//! BitMEX Realtime API (`bitmex`): perpetual swaps (`perp`, `XBTUSD` ↔
//! `BTC-USD-PERP`), dated futures (`future`, `XBTZ21` ↔ `BTC-USD-211231`) and spot
//! (`spot`, `XBT_USDT` ↔ `BTC-USDT`), all on one feed `wss://ws.bitmex.com/realtime`.
//!
//! Channels (tables, subscribed as `table:SYMBOL`): `trade` → `trade` (`side` is the
//! taker's; the `partial` that opens a subscription holds trades from before it and is
//! not republished); `quote` → `bbo`; `orderBookL2` → `book` (see below);
//! `instrument` → `ticker` (last, bid/ask, 24 h high/low/open, `homeNotional24h` as
//! base volume and `foreignNotional24h` as quote volume), `mark_price` (`markPrice`,
//! index = `indicativeSettlePrice`), `open_interest` (`openInterest`, in contracts)
//! and `funding` (`fundingRate`, predicted = `indicativeFundingRate`, next =
//! `fundingTimestamp`): one `instrument` subscription serves the four, each record
//! built from the instrument's merged row when an update changes its fields;
//! `liquidation` → `liquidation` (inserted orders of the liquidation engine; their
//! later updates and deletes are not republished). Rows of the `funding` table (the
//! funding charges that happened) are parsed as `funding` records too, when present.
//!
//! Book integrity: `orderBookL2` is a table keyed by (`symbol`, `id`, `side`): a
//! `partial` (the whole book), then `insert` / `update` / `delete` of rows by `id`
//! (an update carries the new size, a delete only the key; the row's price is the
//! one it was inserted with). It has NO sequence number and NO checksum, so a lost
//! message cannot be detected in general. What can be detected is treated as a gap:
//! an update or delete of an unknown id, an insert of an id that exists, and changes
//! before the first `partial` → `status gap` for that symbol, and that symbol's
//! `orderBookL2` alone is unsubscribed and subscribed again (the new subscription
//! starts with a `partial`), throttled per symbol. Book records carry `seq = null`;
//! their ids are named by the exchange time and a per-book message count since the
//! partial.
//!
//! Document followed: "WebSocket API" (bitmex.com/app/wsAPI, undated; the stored copy
//! consulted 2026-12-02 names the endpoint `wss://ws.bitmex.com/realtime`):
//! `{"op":"subscribe","args":[topics]}`, answered per topic by
//! `{"success":true,"subscribe":"trade:XBTUSD","request":..}`, or by
//! `{"status":400,"error":..,"request":..}` for the request; the welcome
//! `{"info":"Welcome to the BitMEX Realtime API.",..}` on connect; tables push
//! `partial` / `insert` / `update` / `delete`. Heartbeat: the page's advice is to send
//! the text `ping` when no message arrived for 5 s and to expect the text `pong`
//! within 5 s, else reconnect: the client pings every 5 s ([`Connector::heartbeat`]).
//! One request per symbol (all its topics) keeps a refusal to that symbol.
//!
//! Limits: 20 WebSocket connections per hour (a burst; announced on the BitMEX blog,
//! "Rate Limiting on WebSocket Connections", and quoted from the page's "Rate
//! Limits" by a BitMEX developer, BitMEX/sample-market-maker issue 50, 2018-01-22);
//! the welcome's `limit.remaining` counts them down (39 in the recording). The page
//! documents no cap on topics per connection: [`MAX_SYMBOLS_PER_CONNECTION`] symbols
//! (up to five topics each) per connection is our choice, and requests are spaced by
//! 100 ms.
//!
//! The recording (`cryptofeed/bitmex`, 2021-07-22) uses the older host
//! `wss://www.bitmex.com/realtime`, the same protocol (claimed too, by
//! [`Connector::market_of_url`]); its `orderBookL2` updates carry no `price` and its
//! rows no `timestamp`, both of which the current API adds (accepted, not required).
//! It holds `trade`, `quote` and `orderBookL2` only: `instrument`, `funding` and
//! `liquidation` are built from the documented row fields and verified against the
//! table tests alone (their wire examples are shaped after the documented fields,
//! not recorded), as are the error frame's text and spot (`XBT_USDT`, served since
//! 2022) symbols. Not verified: the exact current connection limit (the recording's
//! counter suggests 40 per hour in 2021; 20 is kept).

mod book;
mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::connector::{plan_chunks, FUTURE_CHANNELS, PERP_CHANNELS, SPOT_CHANNELS};
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::BitmexParser;

/// Symbols per connection (BitMEX documents no cap on topics).
pub const MAX_SYMBOLS_PER_CONNECTION: usize = 50;

/// Futures month codes, January to December (`XBTZ21` = December 2021).
const MONTH_CODES: &[u8; 12] = b"FGHJKMNQUVXZ";

/// Channels per market, in `tickbridge exchanges` order.
const SUPPORTED: &[(Market, &[Channel])] = &[
    (Market::Perp, PERP_CHANNELS),
    (Market::Future, FUTURE_CHANNELS),
    (Market::Spot, SPOT_CHANNELS),
];

/// The BitMEX connector.
pub struct Bitmex;

/// Quote currencies of BitMEX contracts, longest first (the shared list's `TUSD` would
/// split `XBTUSD` wrongly).
const QUOTES: &[&str] = &["USDT", "USDC", "USD", "EUR", "XBT", "ETH"];

/// Splits a concatenated pair (`XBTUSD`, `SOLUSDT`) into base and quote.
fn split_pair(root: &str) -> Option<(&str, &str)> {
    QUOTES
        .iter()
        .find(|q| root.len() > q.len() && root.ends_with(*q))
        .map(|q| root.split_at(root.len() - q.len()))
}

/// BitMEX names bitcoin `XBT`; normalized symbols say `BTC`.
pub fn asset(code: &str) -> &str {
    match code {
        "XBT" => "BTC",
        other => other,
    }
}

/// The native spelling of a normalized asset (`BTC` → `XBT`).
fn native_asset(code: &str) -> &str {
    match code {
        "BTC" => "XBT",
        other => other,
    }
}

/// The last Friday of a month (BitMEX futures expire then, 12:00 UTC), as `YYMMDD`.
fn last_friday(year: i64, month: u32) -> String {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    // The last day of the month, then back to a Friday (1970-01-01 was a Thursday).
    let last = crate::time::days_from_civil(ny, nm as i64, 1) - 1;
    let weekday = (last + 4).rem_euclid(7); // 0 = Sunday ... 5 = Friday
    let friday = last - (weekday - 5).rem_euclid(7);
    let (y, m, d) = crate::time::civil_from_days(friday);
    format!("{:02}{m:02}{d:02}", y.rem_euclid(100))
}

/// A dated future's native name split: (`XBTEUR`, month 1..=12, year).
fn future_parts(native: &str) -> Option<(&str, u32, i64)> {
    let b = native.as_bytes();
    if b.len() < 5 || !b[b.len() - 2..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = b[b.len() - 3];
    let month = MONTH_CODES.iter().position(|c| *c == code)? as u32 + 1;
    let year = 2000 + native[native.len() - 2..].parse::<i64>().ok()?;
    let root = &native[..native.len() - 3];
    root.bytes()
        .all(|c| c.is_ascii_alphanumeric())
        .then_some((root, month, year))
}

impl Bitmex {
    /// A symbol seen in a frame without the instrument list naming it: `XBT_USDT`
    /// (spot), `XBTZ21` (a future: month code and year; the day is the month's last
    /// Friday, when BitMEX futures expire), else a perpetual (`XBTUSD`).
    pub fn normalize(native: &str) -> SymbolInfo {
        let upper = native.to_ascii_uppercase();
        let pair = |root: &str, implied: &str| -> (String, String) {
            match root {
                "XBT" => ("XBT".into(), "USD".into()),
                r => match split_pair(r) {
                    Some((b, q)) => (b.into(), q.into()),
                    None => (r.into(), implied.into()),
                },
            }
        };
        let (market, symbol) = if let Some((b, q)) = upper.split_once('_') {
            (Market::Spot, format!("{}-{}", asset(b), asset(q)))
        } else if let Some((root, month, year)) = future_parts(&upper) {
            let (b, q) = pair(root, "XBT");
            (
                Market::Future,
                format!("{}-{}-{}", asset(&b), asset(&q), last_friday(year, month)),
            )
        } else {
            let (b, q) = pair(&upper, "USD");
            (Market::Perp, format!("{}-{}-PERP", asset(&b), asset(&q)))
        };
        SymbolInfo {
            market,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    /// The native name of a normalized symbol (`BTC-USD-PERP` → `XBTUSD`,
    /// `ETH-BTC-210924` → `ETHU21`, `BTC-USDT` → `XBT_USDT`).
    fn native_of(parts: &[&str]) -> Option<(Market, String)> {
        match parts {
            [b, q] => Some((
                Market::Spot,
                format!("{}_{}", native_asset(b), native_asset(q)),
            )),
            [b, q, "PERP"] => Some((
                Market::Perp,
                format!("{}{}", native_asset(b), native_asset(q)),
            )),
            [b, q, date] if date.len() == 6 && date.bytes().all(|c| c.is_ascii_digit()) => {
                let month: usize = date[2..4].parse().ok()?;
                let code = *MONTH_CODES.get(month.checked_sub(1)?)? as char;
                let (b, q) = (native_asset(b), native_asset(q));
                // XBT futures in USD and alt futures in XBT leave the quote out.
                let quote = if (b == "XBT" && q == "USD") || q == "XBT" {
                    ""
                } else {
                    q
                };
                Some((Market::Future, format!("{b}{quote}{code}{}", &date[..2])))
            }
            _ => None,
        }
    }

    /// The topics carrying `channels` for one symbol (one `instrument` topic serves
    /// ticker, funding, open interest and mark price).
    fn topics(channels: &[Channel], native: &SmolStr) -> Vec<Topic> {
        let mut out: Vec<Topic> = Vec::new();
        for &channel in channels {
            let table = match channel {
                Channel::Trade => "trade",
                Channel::Bbo => "quote",
                Channel::Book => "orderBookL2",
                Channel::Ticker | Channel::Funding | Channel::OpenInterest | Channel::MarkPrice => {
                    "instrument"
                }
                Channel::Liquidation => "liquidation",
            };
            let name: SmolStr = format!("{table}:{native}").into();
            if !out.iter().any(|t| t.name == name) {
                out.push(Topic {
                    native: native.clone(),
                    channel,
                    name,
                });
            }
        }
        out
    }

    pub fn new_parser(plan: &ConnectionPlan) -> BitmexParser {
        BitmexParser::new(plan.channels, &plan.symbols, &plan.books, Self::normalize)
    }
}

/// One `subscribe` of every topic of a symbol; each topic is answered on its own.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let args: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    SubscribeRequest {
        id,
        text: serde_json::json!({"op": "subscribe", "args": args}).to_string(),
        answers: topics.len(),
        topics,
    }
}

impl Connector for Bitmex {
    fn name(&self) -> &'static str {
        "bitmex"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        SUPPORTED
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://ws.bitmex.com/realtime"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let path = url
            .split_once("://")
            .map_or(url, |(_, r)| r)
            .split_once('/')
            .map_or("", |(_, p)| p);
        let ours = matches!(
            host,
            "ws.bitmex.com" | "www.bitmex.com" | "ws.testnet.bitmex.com" | "testnet.bitmex.com"
        );
        (ours && path.split('?').next() == Some("realtime")).then_some(Market::Perp)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://www.bitmex.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("bitmex", user, why);
        let upper = user.trim().to_ascii_uppercase();
        let parts: Vec<&str> = upper.split('-').collect();
        if parts.len() > 1 {
            if !crate::symbols::alphanumeric_parts(&parts) {
                return Err(bad(
                    "expected BTC-USD-PERP, BTC-USD-YYMMDD, BTC-USDT or a native symbol",
                ));
            }
            let (m, native) = Self::native_of(&parts).ok_or_else(|| {
                bad("expected BASE-QUOTE-PERP, BASE-QUOTE-YYMMDD or BASE-QUOTE (spot)")
            })?;
            let info = SymbolInfo {
                market: m,
                symbol: parts.join("-").into(),
                native: native.into(),
            };
            return PlanError::expect_market("bitmex", user, info, market);
        }
        if !crate::symbols::symbol_text(&upper, b"_") {
            return Err(bad(
                "expected a native symbol such as XBTUSD, XBTZ21 or XBT_USDT",
            ));
        }
        PlanError::expect_market("bitmex", user, Self::normalize(&upper), market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        Ok(plan_chunks(
            request,
            MAX_SYMBOLS_PER_CONNECTION,
            Duration::from_millis(100),
            |plan, chunk| {
                plan.encode = Some(encode);
                for s in chunk {
                    plan.push_request(encode, Self::topics(&request.channels, &s.native));
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            // Text `ping` → text `pong`; the page's advice: ping after 5 s without a
            // message, reconnect when no `pong` follows within 5 s.
            app_ping: Some("ping"),
            ping_interval: Some(Duration::from_secs(5)),
            pong_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
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
            max_streams_per_connection: MAX_SYMBOLS_PER_CONNECTION * 5,
            connect_attempts: Some(RateWindow::per_secs(20, 3600)),
            subscribe_requests: None,
        }
    }
}

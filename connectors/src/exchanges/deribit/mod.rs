//! Deribit JSON-RPC API v2 over WebSocket (`deribit`): `wss://www.deribit.com/ws/api/v2`.
//!
//! Markets (one endpoint serves all): `perp` (`BTC-PERPETUAL` ↔ `BTC-USD-PERP`,
//! `BTC_USDC-PERPETUAL` ↔ `BTC-USDC-PERP`), `future` (`BTC-27DEC24` ↔ `BTC-USD-241227`),
//! `option` (`BTC-27DEC24-50000-C` ↔ `BTC-USD-241227-50000-C`, `XRP_USDC-30MAY25-2d2-P`
//! ↔ `XRP-USDC-250530-2.2-P`: Deribit writes a strike's decimal point as `d`), `spot`
//! (`BTC_USDC` ↔ `BTC-USDC`). Inverse instruments (priced in USD, or in the base for
//! options) are quoted `USD` in the normalized symbol, as OKX's inverse ones.
//!
//! Channels (the `100ms` interval: `raw` is only available to authorized connections,
//! and tickbridge connects without credentials): `trades.{instrument}.100ms` → `trade`
//! (`direction` is the taker's side) and `liquidation` (a trade with a `liquidation`
//! field: `T` the taker was liquidated — the liquidation order has the taker's side —,
//! `M` the maker — the opposite side —, `MT` both: two records); `quote.{instrument}`
//! → `bbo`; `book.{instrument}.100ms` → `book`; `ticker.{instrument}.100ms` →
//! `ticker`, `funding` (perpetuals: `funding_8h`), `open_interest` (`open_interest`, in
//! the instrument's amount unit: USD for inverse futures, the base for options and
//! linear contracts) and `mark_price` (`mark_price` with `index_price`).
//!
//! Book integrity: the first notification is the whole book (`type: snapshot`), each
//! following one carries `prev_change_id`, which must equal the previous `change_id`;
//! a mismatch → `status gap`, and that instrument's book channel alone is unsubscribed
//! and subscribed again (the new subscription starts with a snapshot); nothing is
//! published for it meanwhile. A change older than the chain's position is skipped.
//!
//! Control: requests are JSON-RPC 2.0 with an `id`; the answer to `public/subscribe`
//! lists the channels subscribed (a channel missing from it was refused: its
//! instrument is refused, the rest is confirmed); an `error` answer refuses the
//! request it names. `public/set_heartbeat` (interval 10 s, the documented minimum) is
//! the first request of every connection: the server then sends `heartbeat`
//! notifications and `test_request`s, each answered at once by `public/test` (a
//! connection that does not answer is closed by the server).
//!
//! Documents followed (consulted 2026-12-02): docs.deribit.com (the current Mintlify
//! site, "Deribit API 2.1.1", undated pages): subscriptions `book.(instrument_name).(interval)`,
//! `trades.(instrument_name).(interval)` (interval `raw` "only available to authorized
//! users", `100ms`, `agg2`), `ticker.(instrument_name).(interval)`,
//! `quote.(instrument_name)`, the "Notifications" article, `public/set_heartbeat`
//! ("not less than 10" seconds), `public/get_instruments`; the support article
//! "Rate Limits" (support.deribit.com, updated 2025: non-matching-engine requests cost
//! 500 of 50 000 credits refilled at 10 000/s — 20 requests/s sustained, bursts of
//! 100 — and exceeding them is error 10028 `too_many_requests` with the session
//! terminated) and "Connection management best practices" (32 simultaneous
//! connections per IP, HTTP requests included; a 33rd is refused with HTTP 429).
//!
//! Limits: requests are spaced 100 ms (10 per second, half the documented sustained
//! rate) and carry up to [`MAX_INSTRUMENTS_PER_REQUEST`] instruments; a connection
//! carries up to [`MAX_INSTRUMENTS_PER_CONNECTION`] instruments (Deribit documents
//! no per-connection channel cap: our choice, which keeps a 1000-instrument option
//! chain within 10 connections, well under the 32 per IP).
//!
//! The corpus recording (`cryptofeed/deribit`, 2021-07) subscribed the `raw` channels
//! (allowed to unauthenticated clients then) of ten options, with one `public/subscribe`
//! of id 0, and never set heartbeats; it holds book snapshots and changes and option
//! tickers but no trades. The parser reads every interval (`raw`, `100ms`, `agg2`).
//! Not verified against a recording: `trades` (none traded), `quote`, perpetual and
//! future tickers (funding), heartbeats and `public/test` answers, error answers,
//! liquidations; these follow the documentation's examples.

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
use crate::symbols::{SymbolInfo, MONTHS};

pub use parser::DeribitParser;

/// Instruments per connection (Deribit documents no cap; see the module docs).
pub const MAX_INSTRUMENTS_PER_CONNECTION: usize = 100;
/// Instruments per `public/subscribe` request.
pub const MAX_INSTRUMENTS_PER_REQUEST: usize = 20;
/// The heartbeat interval asked for with `public/set_heartbeat` (the documented minimum).
pub const HEARTBEAT_SECS: u64 = 10;
/// The topic name of the `public/set_heartbeat` request.
pub const HEARTBEAT_TOPIC: &str = "heartbeat";

/// The channels of an option market: no funding, no liquidations.
const OPTION_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::OpenInterest,
    Channel::MarkPrice,
];

const SUPPORTED: &[(Market, &[Channel])] = &[
    (Market::Perp, PERP_CHANNELS),
    (Market::Future, FUTURE_CHANNELS),
    (Market::Option, OPTION_CHANNELS),
    (Market::Spot, SPOT_CHANNELS),
];

/// The Deribit connector.
pub struct Deribit;

/// The wire channel carrying a normalized channel for `native`.
pub fn wire_channel(channel: Channel, native: &str) -> String {
    match channel {
        Channel::Trade | Channel::Liquidation => format!("trades.{native}.100ms"),
        Channel::Bbo => format!("quote.{native}"),
        Channel::Book => format!("book.{native}.100ms"),
        Channel::Ticker | Channel::Funding | Channel::OpenInterest | Channel::MarkPrice => {
            format!("ticker.{native}.100ms")
        }
    }
}

/// A JSON-RPC request frame.
pub fn rpc(id: u64, method: &str, params: serde_json::Value) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// One request of `topics`: `public/set_heartbeat` for the heartbeat topic, else a
/// `public/subscribe` of the distinct wire channels (answered once, by `id`).
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let text = if topics.iter().all(|t| t.name == HEARTBEAT_TOPIC) {
        rpc(
            id,
            "public/set_heartbeat",
            serde_json::json!({"interval": HEARTBEAT_SECS}),
        )
    } else {
        let mut channels: Vec<&str> = Vec::new();
        for t in topics.iter().filter(|t| t.name != HEARTBEAT_TOPIC) {
            if !channels.contains(&t.name.as_str()) {
                channels.push(&t.name);
            }
        }
        rpc(
            id,
            "public/subscribe",
            serde_json::json!({ "channels": channels }),
        )
    };
    SubscribeRequest {
        id,
        text,
        answers: 1,
        topics,
    }
}

/// `27DEC24` / `6AUG21` → `241227` / `210806`.
pub fn native_date(text: &str) -> Option<String> {
    let n = text.len();
    if !(6..=7).contains(&n) || !text.is_ascii() {
        return None;
    }
    let (day, rest) = text.split_at(n - 5);
    let (mon, year) = rest.split_at(3);
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let month = MONTHS.iter().position(|m| *m == mon)? + 1;
    if !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{year}{month:02}{day:02}"))
}

/// `241227` → `27DEC24` (Deribit writes the day without a leading zero).
pub fn deribit_date(yymmdd: &str) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (yy, rest) = yymmdd.split_at(2);
    let (mm, dd) = rest.split_at(2);
    let month: usize = mm.parse().ok().filter(|m| (1..=12).contains(m))?;
    let day: u32 = dd.parse().ok().filter(|d| (1..=31).contains(d))?;
    Some(format!("{day}{}{yy}", MONTHS[month - 1]))
}

/// `BTC` → (`BTC`, `USD`) (inverse), `BTC_USDC` → (`BTC`, `USDC`) (linear or spot).
fn underlying(text: &str) -> (&str, &str) {
    text.split_once('_').unwrap_or((text, "USD"))
}

/// (`BTC`, `USD`) → `BTC`; (`BTC`, `USDC`) → `BTC_USDC`.
fn native_underlying(base: &str, quote: &str) -> String {
    if quote == "USD" {
        base.to_string()
    } else {
        format!("{base}_{quote}")
    }
}

fn alnum(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Deribit {
    /// Normalizes an instrument name as it appears in frames (see the module docs);
    /// a name of no known form (combos) is kept as it is, on the spot market.
    pub fn normalize(native: &str) -> SymbolInfo {
        let info = |market, symbol: String| SymbolInfo {
            market,
            symbol: symbol.into(),
            native: native.into(),
        };
        let parts: Vec<&str> = native.split('-').collect();
        match parts.as_slice() {
            [u, "PERPETUAL"] => {
                let (b, q) = underlying(u);
                info(Market::Perp, format!("{b}-{q}-PERP"))
            }
            [u, date] => match native_date(date) {
                Some(d) => {
                    let (b, q) = underlying(u);
                    info(Market::Future, format!("{b}-{q}-{d}"))
                }
                None => info(Market::Spot, native.to_string()),
            },
            [u, date, strike, kind @ ("C" | "P")] => match native_date(date) {
                Some(d) => {
                    let (b, q) = underlying(u);
                    let strike = strike.replace(['d', 'D'], ".");
                    info(Market::Option, format!("{b}-{q}-{d}-{strike}-{kind}"))
                }
                None => info(Market::Spot, native.to_string()),
            },
            [pair] if pair.contains('_') => {
                let (b, q) = underlying(pair);
                info(Market::Spot, format!("{b}-{q}"))
            }
            _ => info(Market::Spot, native.to_string()),
        }
    }

    /// The native name of a normalized symbol (already upper case), if it is one.
    fn native_of(upper: &str) -> Option<String> {
        let parts: Vec<&str> = upper.split('-').collect();
        match parts.as_slice() {
            [b, q, "PERP"] if alnum(b) && alnum(q) => {
                Some(format!("{}-PERPETUAL", native_underlying(b, q)))
            }
            [b, q, d] if alnum(b) && alnum(q) => {
                Some(format!("{}-{}", native_underlying(b, q), deribit_date(d)?))
            }
            [b, q, d, strike, kind @ ("C" | "P")] if alnum(b) && alnum(q) => {
                let strike_ok = !strike.is_empty()
                    && strike.bytes().all(|c| c.is_ascii_digit() || c == b'.')
                    && strike.bytes().filter(|c| *c == b'.').count() <= 1;
                if !strike_ok {
                    return None;
                }
                Some(format!(
                    "{}-{}-{}-{kind}",
                    native_underlying(b, q),
                    deribit_date(d)?,
                    strike.replace('.', "d")
                ))
            }
            [b, q] if alnum(b) && alnum(q) && native_date(q).is_none() && *q != "PERPETUAL" => {
                Some(format!("{b}_{q}"))
            }
            _ => None,
        }
    }

    /// The topics carrying `channels` for one instrument (one per normalized channel;
    /// several may share a wire channel).
    fn topics(channels: &[Channel], native: &SmolStr) -> Vec<Topic> {
        channels
            .iter()
            .map(|&channel| Topic {
                native: native.clone(),
                channel,
                name: wire_channel(channel, native).into(),
            })
            .collect()
    }

    /// A parser for one planned connection.
    pub fn new_parser(plan: &ConnectionPlan) -> DeribitParser {
        DeribitParser::new(plan)
    }
}

impl Connector for Deribit {
    fn name(&self) -> &'static str {
        "deribit"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        SUPPORTED
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://www.deribit.com/ws/api/v2"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        // www., test., streams.deribit.com and a replay of them: the path is the API's.
        let path = url.split("://").nth(1).unwrap_or(url);
        let path = path.find('/').map_or("", |i| &path[i..]);
        let path = path.split(['?', '#']).next().unwrap_or("");
        (path.trim_end_matches('/') == "/ws/api/v2").then_some(Market::Perp)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://www.deribit.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let upper = user.trim().to_ascii_uppercase();
        let native = match Self::native_of(&upper) {
            Some(n) => n,
            None => {
                let info = Self::normalize(&upper);
                let native_form = info.symbol != info.native
                    && upper
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !native_form {
                    return Err(PlanError::bad_symbol(
                        "deribit",
                        user,
                        "expected BTC-USD-PERP, BTC-USD-241227, BTC-USD-241227-50000-C, BTC-USDC \
                         or a Deribit instrument name (BTC-PERPETUAL, BTC-27DEC24, \
                         BTC-27DEC24-50000-C, BTC_USDC)",
                    ));
                }
                // The canonical spelling (`6AUG21`, a strike's `d`) from the normalized form.
                Self::native_of(&info.symbol).unwrap_or(upper)
            }
        };
        PlanError::expect_market("deribit", user, Self::normalize(&native), market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        Ok(plan_chunks(
            request,
            MAX_INSTRUMENTS_PER_CONNECTION,
            Duration::from_millis(100),
            |plan, chunk| {
                plan.encode = Some(encode);
                plan.push_request(
                    encode,
                    vec![Topic {
                        native: SmolStr::default(),
                        channel: Channel::Ticker,
                        name: HEARTBEAT_TOPIC.into(),
                    }],
                );
                for part in chunk.chunks(MAX_INSTRUMENTS_PER_REQUEST) {
                    let topics = part
                        .iter()
                        .flat_map(|s| Self::topics(&request.channels, &s.native))
                        .collect();
                    plan.push_request(encode, topics);
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            // The server's heartbeats (every 10 s once set) keep the connection judged
            // alive; no client pings are needed.
            ping_interval: None,
            idle_timeout: Duration::from_secs(3 * HEARTBEAT_SECS + 5),
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
            // A topic per channel and instrument (at most four wire channels).
            max_streams_per_connection: MAX_INSTRUMENTS_PER_CONNECTION * PERP_CHANNELS.len(),
            connect_attempts: None,
            subscribe_requests: Some(RateWindow::per_secs(20, 1)),
        }
    }
}

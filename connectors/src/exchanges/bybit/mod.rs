//! Bybit v5 public streams (`bybit`): `wss://stream.bybit.com/v5/public/{spot|linear|inverse}`.
//!
//! Markets and categories (one connection serves one category, so a source mixing
//! linear and inverse symbols gets connections on both endpoints):
//!
//! | market   | category  | native                                  | normalized          |
//! |----------|-----------|-----------------------------------------|---------------------|
//! | `spot`   | `spot`    | `BTCUSDT`                               | `BTC-USDT`          |
//! | `perp`   | `linear`  | `BTCUSDT`, `BTCPERP` (USDC)             | `BTC-USDT-PERP`, `BTC-USDC-PERP` |
//! | `perp`   | `inverse` | `BTCUSD`                                | `BTC-USD-PERP`      |
//! | `future` | `inverse` | `BTCUSDH25` (month code + year)         | `BTC-USD-250328`    |
//! | `future` | `linear`  | `BTCUSDT-26DEC25`, `BTC-26DEC25` (USDC) | `BTC-USDT-251226`, `BTC-USDC-251226` |
//!
//! Inverse futures name only month and year; the normalized expiry is the last Friday
//! of that month (Bybit's delivery day for inverse futures).
//!
//! Channels: `publicTrade` → `trade` (`S` is the taker side); `orderbook.1` → `bbo`
//! (level 1 is snapshot-only and re-sent every 3 s with the same `u` when unchanged: the
//! same event, the same id); `orderbook.{depth}` → `book` (depth 50 by default; 200 and
//! 1000 also served); `tickers` → `ticker`, and on linear/inverse also `funding`,
//! `open_interest` and `mark_price` (deltas carry only changed fields: they are merged
//! onto the last full ticker, and funding / open interest / mark price are published
//! when they change); `allLiquidation` → `liquidation` (derivatives only; `S` is the
//! liquidated position's side, so the liquidation order's side is the opposite).
//!
//! Book sync: a `snapshot` replaces the book (initial, re-sent by Bybit after a problem
//! on its side, or `u = 1` after a service restart); each `delta` must carry
//! `u = previous u + 1`. A jump → `status gap` (`expected`/`got`), that symbol's book
//! topic is unsubscribed and subscribed again (a fresh subscription starts with a
//! snapshot), nothing is published for it meanwhile. `seq` (cross sequence) is not
//! contiguous and is not used for gap detection.
//!
//! Limits honoured (Bybit v5 "Connect" page): at most 10 args per subscribe request (a
//! spot rule; one request per symbol carries at most 4), at most 21,000 characters of args per
//! connection; ping `{"op":"ping"}` every 20 s; connections per 5 minutes (500 per
//! domain) are the session's reconnect backoff's to respect.
//!
//! Doc audit 2026-12-02 — no change. Checked against "Connect" (bybit-exchange.github.io,
//! docs/v5/ws/connect, undated: consulted 2026-12-02): the public endpoints
//! `/v5/public/{spot,linear,inverse}` match (the page now also lists `spread`, `option`
//! and `misc/status`, which this connector does not serve). Not verified: the stored
//! copies of that page stop before its heartbeat and limits sections, so the 20 s ping,
//! 10 args per spot request, 21,000 characters of args per connection and 500
//! connections per 5 minutes are kept as previously documented.

mod instruments;
mod parser;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use smol_str::SmolStr;

use crate::book::BookConfig;
use crate::contract::connector::SPOT_PERP_FUTURE;
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, RateWindow,
    SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::{split_concatenated, symbol_text, SymbolInfo, MONTHS};

pub use parser::BybitParser;

/// Args per subscribe request (the spot limit, used everywhere).
pub const MAX_ARGS_PER_REQUEST: usize = 10;
/// Characters of args per connection.
pub const MAX_ARGS_CHARS_PER_CONNECTION: usize = 21_000;
/// Book depths served on spot, linear and inverse (level 1 is the `bbo` channel).
pub const DEPTHS: [usize; 3] = [50, 200, 1000];
pub const DEFAULT_DEPTH: usize = 50;

/// Futures month codes, January first.
const MONTH_CODES: &[u8; 12] = b"FGHJKMNQUVXZ";

/// A v5 public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Spot,
    Linear,
    Inverse,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Spot => "spot",
            Category::Linear => "linear",
            Category::Inverse => "inverse",
        }
    }
}

/// The Bybit v5 connector.
pub struct Bybit;

/// The subscribed book depth: `[source.book] snapshot_depth` rounded up to a depth
/// Bybit serves (the deepest when above them all), else [`DEFAULT_DEPTH`].
pub fn book_depth(books: &BookConfig) -> usize {
    books.served_depth(&DEPTHS, DEFAULT_DEPTH)
}

/// A subscribe request of `topics` (`req_id` as a string; answered once, as a whole).
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let args: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    SubscribeRequest {
        id,
        text: serde_json::json!({"req_id": id.to_string(), "op": "subscribe", "args": args})
            .to_string(),
        topics,
        answers: 1,
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The day of the month of the last Friday of `y`-`m`.
fn last_friday(y: i64, m: u32) -> u32 {
    let last = days_in_month(y, m);
    // 1970-01-01 was a Thursday: weekday 0 = Thursday, 1 = Friday.
    let wd = crate::time::days_from_civil(y, m as i64, last as i64).rem_euclid(7);
    let back = (wd - 1).rem_euclid(7) as u32;
    last - back
}

/// `H25` → (2025, 3).
fn month_code(code: &str) -> Option<(i64, u32)> {
    let b = code.as_bytes();
    if b.len() != 3 || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return None;
    }
    let m = MONTH_CODES.iter().position(|c| *c == b[0])? as u32 + 1;
    Some((2000 + code[1..].parse::<i64>().ok()?, m))
}

/// `26DEC25` → `251226`.
fn ddmmmyy_to_yymmdd(s: &str) -> Option<String> {
    if s.len() != 7 {
        return None;
    }
    let (dd, rest) = s.split_at(2);
    let (mmm, yy) = rest.split_at(3);
    let m = MONTHS.iter().position(|x| *x == mmm)? + 1;
    if !dd.bytes().all(|b| b.is_ascii_digit()) || !yy.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{yy}{m:02}{dd}"))
}

/// `251226` → `26DEC25`.
fn yymmdd_to_ddmmmyy(s: &str) -> Option<String> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let m: usize = s[2..4].parse().ok()?;
    Some(format!(
        "{}{}{}",
        &s[4..6],
        MONTHS.get(m.checked_sub(1)?)?,
        &s[0..2]
    ))
}

impl Bybit {
    /// Normalizes a native symbol seen on a `category` connection.
    pub fn normalize(category: Category, native: &str) -> SymbolInfo {
        let info = |market, symbol: String| SymbolInfo {
            market,
            symbol: symbol.into(),
            native: native.into(),
        };
        let pair = |s: &str| match split_concatenated(s) {
            Some((b, q)) => format!("{b}-{q}"),
            None => s.to_string(),
        };
        match category {
            Category::Spot => info(Market::Spot, pair(native)),
            Category::Linear => {
                if let Some((left, expiry)) = native.rsplit_once('-') {
                    if let Some(yymmdd) = ddmmmyy_to_yymmdd(expiry) {
                        // `BTCUSDT-26DEC25`, or `BTC-26DEC25` (USDC-settled).
                        let p = match split_concatenated(left) {
                            Some((b, q)) => format!("{b}-{q}"),
                            None => format!("{left}-USDC"),
                        };
                        return info(Market::Future, format!("{p}-{yymmdd}"));
                    }
                }
                if let Some(base) = native.strip_suffix("PERP") {
                    return info(Market::Perp, format!("{base}-USDC-PERP"));
                }
                info(Market::Perp, format!("{}-PERP", pair(native)))
            }
            Category::Inverse => {
                if native.len() > 3 {
                    let (left, code) = native.split_at(native.len() - 3);
                    if let (Some((y, m)), Some(base)) = (month_code(code), left.strip_suffix("USD"))
                    {
                        let d = last_friday(y, m);
                        return info(
                            Market::Future,
                            format!("{base}-USD-{:02}{m:02}{d:02}", y % 100),
                        );
                    }
                }
                info(Market::Perp, format!("{}-PERP", pair(native)))
            }
        }
    }

    fn spot_fallback(native: &str) -> SymbolInfo {
        Self::normalize(Category::Spot, native)
    }
    fn linear_fallback(native: &str) -> SymbolInfo {
        Self::normalize(Category::Linear, native)
    }
    fn inverse_fallback(native: &str) -> SymbolInfo {
        Self::normalize(Category::Inverse, native)
    }

    /// The category (endpoint) serving a symbol.
    pub fn category(info: &SymbolInfo) -> Category {
        match info.market {
            Market::Spot => Category::Spot,
            _ if info.symbol.split('-').nth(1) == Some("USD") => Category::Inverse,
            _ => Category::Linear,
        }
    }

    /// The topics carrying `channels` for one native symbol.
    fn topics(channels: &[Channel], native: &SmolStr, depth: usize) -> Vec<Topic> {
        let mut t: Vec<Topic> = Vec::new();
        for &channel in channels {
            let name = match channel {
                Channel::Trade => format!("publicTrade.{native}"),
                Channel::Bbo => format!("orderbook.1.{native}"),
                Channel::Book => format!("orderbook.{depth}.{native}"),
                Channel::Ticker | Channel::Funding | Channel::OpenInterest | Channel::MarkPrice => {
                    format!("tickers.{native}")
                }
                Channel::Liquidation => format!("allLiquidation.{native}"),
            };
            if !t.iter().any(|x| x.name == name) {
                t.push(Topic {
                    native: native.clone(),
                    channel,
                    name: name.into(),
                });
            }
        }
        t
    }

    /// The category (endpoint) of a plan: its symbols' (all of one category), or for a
    /// plan of recorded frames without symbols, its market's (derivatives: linear).
    fn plan_category(plan: &ConnectionPlan) -> Category {
        match plan.symbols.first() {
            Some(s) => Self::category(s),
            None if plan.market == Market::Spot => Category::Spot,
            None => Category::Linear,
        }
    }

    /// A parser for one planned connection.
    pub fn new_parser(&self, plan: &ConnectionPlan) -> BybitParser {
        let category = Self::plan_category(plan);
        let fallback = match category {
            Category::Spot => Self::spot_fallback,
            Category::Linear => Self::linear_fallback,
            Category::Inverse => Self::inverse_fallback,
        };
        BybitParser::new(
            category,
            plan.channels,
            &plan.symbols,
            fallback,
            &plan.books,
        )
    }
}

impl Connector for Bybit {
    fn name(&self) -> &'static str {
        "bybit"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        // Every channel on each of its markets.
        SPOT_PERP_FUTURE
    }

    /// The base of the public endpoints; the planner appends `/spot`, `/linear` or
    /// `/inverse` (a `ws_url` override is a base too).
    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://stream.bybit.com/v5/public"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        if !host.starts_with("stream.bybit.com") && !host.starts_with("stream-testnet.bybit.com") {
            return None;
        }
        let path = url.split_once("/v5/public/").map(|(_, p)| p)?;
        match path.split(['/', '?']).next()? {
            "spot" => Some(Market::Spot),
            "linear" | "inverse" => Some(Market::Perp),
            "option" => Some(Market::Option),
            _ => None,
        }
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://api.bybit.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("bybit", user, why);
        let upper = user.trim().to_ascii_uppercase();
        if !symbol_text(&upper, b"-") {
            return Err(bad(
                "expected a normalized (BTC-USDT-PERP) or native (BTCUSDT) symbol",
            ));
        }
        let parts: Vec<&str> = upper.split('-').collect();
        // Normalized forms first; anything else is taken as a native symbol.
        let native = match (market, parts.as_slice()) {
            (Market::Spot, [b, q]) => Some(format!("{b}{q}")),
            (Market::Perp, [b, "USDC", "PERP"]) => Some(format!("{b}PERP")),
            (Market::Perp, [b, q, "PERP"]) => Some(format!("{b}{q}")),
            (Market::Future, [b, "USD", e]) if e.len() == 6 => {
                let y: i64 = 2000 + e[..2].parse::<i64>().map_err(|_| bad("bad expiry"))?;
                let m: u32 = e[2..4].parse().map_err(|_| bad("bad expiry"))?;
                if !(1..=12).contains(&m) {
                    return Err(bad("bad expiry month"));
                }
                let d: u32 = e[4..].parse().map_err(|_| bad("bad expiry"))?;
                if d != last_friday(y, m) {
                    return Err(bad(
                        "inverse futures expire on the last Friday of the month",
                    ));
                }
                Some(format!(
                    "{b}USD{}{:02}",
                    MONTH_CODES[m as usize - 1] as char,
                    y % 100
                ))
            }
            (Market::Future, [b, "USDC", e]) => Some(format!(
                "{b}-{}",
                yymmdd_to_ddmmmyy(e).ok_or_else(|| bad("bad expiry"))?
            )),
            (Market::Future, [b, q, e]) if e.len() == 6 => Some(format!(
                "{b}{q}-{}",
                yymmdd_to_ddmmmyy(e).ok_or_else(|| bad("bad expiry"))?
            )),
            _ => None,
        };
        let native = native.unwrap_or_else(|| upper.clone());
        let category = match market {
            Market::Spot => Category::Spot,
            Market::Option => return Err(bad("options are not supported")),
            _ if native.contains('-') || native.ends_with("PERP") => Category::Linear,
            _ if native.ends_with("USD")
                || month_code(&native[native.len().saturating_sub(3)..]).is_some() =>
            {
                Category::Inverse
            }
            _ => Category::Linear,
        };
        PlanError::expect_market("bybit", user, Self::normalize(category, &native), market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let depth = book_depth(&request.books);
        let base = request.ws_url.trim_end_matches('/');
        let mut plans = Vec::new();
        for category in [Category::Spot, Category::Linear, Category::Inverse] {
            let symbols: Vec<&SymbolInfo> = request
                .symbols
                .iter()
                .filter(|s| Self::category(s) == category)
                .collect();
            // Fill connections symbol by symbol within the args budget. One request
            // per symbol (its topics, at most 4 < 10 args): a refused topic refuses
            // only that symbol.
            let new_plan = || {
                let url = format!("{base}/{}", category.as_str());
                let mut plan = ConnectionPlan::new(url, request, Duration::from_millis(200));
                plan.encode = Some(encode);
                plan
            };
            let mut plan = new_plan();
            let mut chars = 0;
            for s in symbols {
                let topics = Self::topics(&request.channels, &s.native, depth);
                let n: usize = topics.iter().map(|t| t.name.len() + 3).sum();
                if chars + n > MAX_ARGS_CHARS_PER_CONNECTION && !plan.symbols.is_empty() {
                    plans.push(std::mem::replace(&mut plan, new_plan()));
                    chars = 0;
                }
                chars += n;
                plan.symbols.push(s.clone());
                plan.push_request(encode, topics);
            }
            if !plan.symbols.is_empty() {
                plans.push(plan);
            }
        }
        Ok(plans)
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: Some(r#"{"op":"ping"}"#),
            // The pong keeps quiet connections alive.
            idle_timeout: Duration::from_secs(45),
            // Otherwise the defaults: pings every 20 s, as Bybit recommends.
            ..Heartbeat::default()
        }
    }

    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        instruments::urls(market, rest_url)
    }

    fn parse_instruments(
        &self,
        market: Market,
        url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse(market, url, body)
    }

    fn limits(&self) -> Limits {
        Limits {
            // No stream cap documented (args ≤ 21,000 characters per connection,
            // enforced by the planner); this bounds what one connection carries.
            max_streams_per_connection: 500,
            // "Do not build over 500 connections in 5 minutes" (per domain).
            connect_attempts: Some(RateWindow::per_secs(500, 300)),
            ..Limits::default()
        }
    }
}

#[cfg(test)]
mod tests;

//! bitFlyer Lightning Realtime API (`bitflyer`: spot, Crypto CFD as `perp`, Lightning
//! Futures as `future`): JSON-RPC 2.0 over `wss://ws.lightstream.bitflyer.com/json-rpc`,
//! one `subscribe` per channel, `channelMessage` notifications.
//!
//! Channels (`{product_code}` as the market list names it; aliases are not accepted):
//! `lightning_executions_{p}` → `trade` (taker side from `side`, `BUY`/`SELL`; an
//! execution with an empty side is an itayose match without a taker and is not
//! published); `lightning_board_snapshot_{p}` + `lightning_board_{p}` → `book` (see
//! below); `lightning_ticker_{p}` → `ticker` (`ltp`, best bid/ask and their sizes,
//! `volume_by_product` as the 24 h base volume) and `bbo` (its `best_bid`/`best_ask`
//! and sizes), both with `seq` = `tick_id`.
//!
//! Documents followed (consulted 2026-12-02): "JSON-RPC 2.0 over WebSocket"
//! (bf-lightning-api.readme.io/docs/endpoint-json-rpc, undated): the endpoint, server
//! methods `auth`/`subscribe`/`unsubscribe` with `params: {channel}`, "`true` is
//! returned once the subscription starts", batch requests allowed; the Realtime API
//! channel pages (board snapshot: "delivery frequency is limited", the order of
//! `asks`/`bids` is not guaranteed; board diff: `size: 0` when a price's orders are
//! gone, `price: 0` for itayose market-order matches); "API Documentation"
//! (lightning.bitflyer.com/docs, stored copy after 2024-03-28): Lightning FX was
//! replaced by bitFlyer Crypto CFD on 2024-03-28 with the same API, `market_type` `FX`
//! and product code `FX_BTC_JPY`. Subscribe requests carry a JSON-RPC `id`, so the
//! response (`{"jsonrpc":"2.0","id":N,"result":true}`) is an acknowledgement by id and
//! an `error` response a refusal by id.
//!
//! Book integrity: bitFlyer's board has no sequence numbers and no checksum. What can
//! be checked is the `mid_price` every board message carries: after applying a
//! message, the mid of the local book's best bid and ask, truncated to the precision
//! of `mid_price`, must equal it (`mid_price <= (bid + ask) / 2 < mid_price + 10^-d`,
//! `d` the decimals of `mid_price`), and the book must not be crossed. A failed check
//! is `status gap` for that product (`expected`/`got` null), and its book waits for
//! the next `lightning_board_snapshot` (they keep coming, every few seconds in the
//! recording); diffs before the first snapshot are not published. A diff that the
//! snapshot already contains (or misses) cannot be told apart otherwise: the
//! mid-price check is what catches a snapshot out of step with the diffs.
//!
//! Heartbeat: none documented (protocol pings, the default rules). Limits: none
//! documented for the Realtime API; the planner keeps
//! [`MAX_PRODUCTS_PER_CONNECTION`] products (up to four channels each) per connection
//! and spaces requests 50 ms apart. The HTTP API limit ("Same IP address: 500 queries
//! per 5 minutes") concerns the market list only.
//!
//! Corpus (`cryptofeed/bitflyer`, 2021-12-12): the recording client sent `subscribe`
//! without `jsonrpc`/`id`, so no response was recorded: acknowledgements and error
//! responses are verified against the documentation only (and the replay server's
//! JSON-RPC answers). Products: spot, `FX_BTC_JPY` (then Lightning FX) and two
//! Lightning Futures. The recording has one real break of the board of FX_BTC_JPY (a
//! snapshot out of step with the diffs: the next diff's `mid_price` disagrees), which
//! the corpus test names.

mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::connector::{plan_chunks, SPOT_CHANNELS};
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, SourceRequest,
    SubscribeRequest, Topic,
};
use crate::instruments::yymmdd;
use crate::symbols::{split_concatenated, SymbolInfo, MONTHS};

pub use parser::BitflyerParser;

/// Products per connection (bitFlyer documents no cap).
pub const MAX_PRODUCTS_PER_CONNECTION: usize = 25;

/// Spot, the Crypto CFD (`FX_BTC_JPY`) and dated futures carry the same four channels.
const SUPPORTED: &[(Market, &[Channel])] = &[
    (Market::Spot, SPOT_CHANNELS),
    (Market::Perp, SPOT_CHANNELS),
    (Market::Future, SPOT_CHANNELS),
];

/// The expiry (00:00 UTC of the date, ns) of a Lightning Futures product code
/// (`BTCJPY24DEC2021`), with its pair.
pub fn future_parts(native: &str) -> Option<(&str, &str, i64)> {
    if native.len() < 10 || !native.is_ascii() {
        return None;
    }
    let (pair, date) = native.split_at(native.len() - 9);
    let (day, rest) = date.split_at(2);
    let (month, year) = rest.split_at(3);
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    if !(1..=31).contains(&day) || !pair.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let (base, quote) = split_concatenated(pair)?;
    let ns = crate::time::days_from_civil(year, month, day).checked_mul(86_400_000_000_000)?;
    Some((base, quote, ns))
}

/// The symbol of a product code as the feed names it: `BTC_JPY` → spot `BTC-JPY`,
/// `FX_BTC_JPY` → perp `BTC-JPY-PERP`, `BTCJPY24DEC2021` → future `BTC-JPY-211224`.
pub fn symbol_of(native: &str) -> Option<SymbolInfo> {
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    // Futures aliases (`BTCJPY_MAT1WK`) are not product codes.
    if native.contains("_MAT") {
        return None;
    }
    let (market, symbol) = if let Some(rest) = native.strip_prefix("FX_") {
        let (b, q) = rest.split_once('_')?;
        (ok(b) && ok(q)).then_some(())?;
        (Market::Perp, format!("{b}-{q}-PERP"))
    } else if let Some((b, q)) = native.split_once('_') {
        (ok(b) && ok(q)).then_some(())?;
        (Market::Spot, format!("{b}-{q}"))
    } else {
        let (b, q, ns) = future_parts(native)?;
        (Market::Future, format!("{b}-{q}-{}", yymmdd(ns)))
    };
    Some(SymbolInfo {
        market,
        symbol: symbol.into(),
        native: native.into(),
    })
}

/// The product code of a normalized symbol: `BTC-JPY`, `BTC-JPY-PERP`,
/// `BTC-JPY-211224`.
fn native_of(normalized: &str) -> Option<String> {
    let parts: Vec<&str> = normalized.split('-').collect();
    match parts.as_slice() {
        [b, q] => Some(format!("{b}_{q}")),
        [b, q, "PERP"] => Some(format!("FX_{b}_{q}")),
        [b, q, date] if date.len() == 6 && date.bytes().all(|c| c.is_ascii_digit()) => {
            let year: u32 = date[0..2].parse().ok()?;
            let month: usize = date[2..4].parse().ok()?;
            let day: u32 = date[4..6].parse().ok()?;
            let m = MONTHS.get(month.checked_sub(1)?)?;
            Some(format!("{b}{q}{day:02}{m}20{year:02}"))
        }
        _ => None,
    }
}

/// The bitFlyer connector.
pub struct Bitflyer;

impl Bitflyer {
    /// A product seen in a frame without a plan naming it (recordings).
    fn fallback_symbol(native: &str) -> SymbolInfo {
        symbol_of(native).unwrap_or_else(|| SymbolInfo::same(Market::Spot, native))
    }

    /// The channels carrying the requested normalized channels, for one product.
    fn topics(channels: &[Channel], native: &SmolStr) -> Vec<Topic> {
        let mut out: Vec<Topic> = Vec::new();
        for &c in channels {
            let names: &[&str] = match c {
                Channel::Trade => &["lightning_executions_"],
                Channel::Book => &["lightning_board_snapshot_", "lightning_board_"],
                Channel::Bbo | Channel::Ticker => &["lightning_ticker_"],
                _ => continue,
            };
            for prefix in names {
                let name: SmolStr = format!("{prefix}{native}").into();
                if !out.iter().any(|t| t.name == name) {
                    out.push(Topic {
                        native: native.clone(),
                        channel: c,
                        name,
                    });
                }
            }
        }
        out
    }

    pub fn new_parser(plan: &ConnectionPlan) -> BitflyerParser {
        BitflyerParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            Self::fallback_symbol,
        )
    }
}

/// One JSON-RPC `subscribe` per channel, answered once (by `id`).
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let channel = topics.first().map(|t| t.name.as_str()).unwrap_or_default();
    let text = serde_json::json!({
        "jsonrpc": "2.0",
        "method": "subscribe",
        "params": {"channel": channel},
        "id": id,
    })
    .to_string();
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

impl Connector for Bitflyer {
    fn name(&self) -> &'static str {
        "bitflyer"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        SUPPORTED
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        "wss://ws.lightstream.bitflyer.com/json-rpc"
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let rest = url.split_once(host).map(|(_, r)| r).unwrap_or("");
        (host == "ws.lightstream.bitflyer.com" && rest.starts_with("/json-rpc"))
            .then_some(Market::Spot)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        "https://api.bitflyer.com"
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("bitflyer", user, why);
        let upper = user.trim().to_ascii_uppercase();
        let native = if upper.contains('-') || upper.contains('/') {
            native_of(&upper.replace('/', "-")).ok_or_else(|| {
                bad("expected BTC-JPY, BTC-JPY-PERP, BTC-JPY-YYMMDD or a product code")
            })?
        } else {
            upper
        };
        let info = symbol_of(&native).ok_or_else(|| {
            bad("expected a product code (BTC_JPY, FX_BTC_JPY, BTCJPY24DEC2021) or BTC-JPY")
        })?;
        PlanError::expect_market("bitflyer", user, info, market)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        Ok(plan_chunks(
            request,
            MAX_PRODUCTS_PER_CONNECTION,
            Duration::from_millis(50),
            |plan, chunk| {
                plan.encode = Some(encode);
                for s in chunk {
                    for topic in Self::topics(&request.channels, &s.native) {
                        plan.push_request(encode, vec![topic]);
                    }
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat::default()
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
            max_streams_per_connection: MAX_PRODUCTS_PER_CONNECTION * 4,
            ..Limits::default()
        }
    }
}

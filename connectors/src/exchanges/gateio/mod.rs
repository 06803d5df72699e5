//! Gate API v4 WebSocket (`gateio`: spot on `wss://api.gateio.ws/ws/v4/`;
//! `gateio-futures`: USDT-settled perpetuals on `wss://fx-ws.gateio.ws/v4/ws/usdt`).
//! Both hosts speak the same protocol: a request
//! `{"time":<s>,"id":<n>,"channel":"spot.trades","event":"subscribe","payload":[..]}`
//! is answered by `{"time":..,"id":<n>,"channel":"spot.trades","event":"subscribe","result":{"status":"success"}}`
//! or by the same with `"error":{"code":2,"message":".."}` (a refusal; `result` is
//! then `{"status":"fail"}` or `null`). `id` is echoed where sent (answers without
//! it, as in the recordings, are matched in send order).
//!
//! Channel mapping (spot `spot.*`, futures `futures.*`):
//! - `trade` ← `trades` (spot: one trade per frame, `side` is the taker's; futures:
//!   an array, the sign of `size` is the taker's side, sizes in contracts);
//! - `bbo` ← `book_ticker`;
//! - `book` ← `order_book_update` (`[pair, "100ms"]` spot, `[contract, "100ms",
//!   "100"]` futures), synced against the REST snapshot's `id`
//!   (`GET /api/v4/spot/order_book?currency_pair=..&limit=100&with_id=true`,
//!   `GET /api/v4/futures/usdt/order_book?contract=..&limit=100&with_id=true`):
//!   `U`/`u` chain, see `book.rs`; a break → `status gap` and a new snapshot of that
//!   symbol only;
//! - `ticker` ← `tickers`; on futures the same frames also give `funding`
//!   (`funding_rate`, `funding_rate_indicative` as the predicted rate),
//!   `mark_price` (`mark_price`, `index_price`) and `open_interest` (`total_size`,
//!   contracts);
//! - `liquidation` ← `futures.public_liquidates` (public; an array per contract and
//!   aggregation period since 2026-08-20; the sign of `size` is the liquidated
//!   position's, so a negative size is a sell order).
//!
//! `candlesticks`, `order_book`, `obu`, `contract_stats` and `contract_info` frames
//! are classified as ignored.
//!
//! Documents followed: "Gate Futures WebSocket v4.0.0" (gate.io/docs/developers/futures/ws/,
//! "Last Updated: 8/20/2026", changelog entries 2026-08-20 `public_liquidates`
//! aggregated into arrays with `time` in ms, 2026-08-19 USD1 host, 2026-04-14 SBE
//! feeds), and "Gate Spot WebSocket v4" (gate.io/docs/developers/apiv4/ws/en/,
//! reported unchanged on 2026-08-21), read through stored copies (a changelog diff of
//! 2026-08-21, SDK sources quoting the pages' examples) and the Gate announcement of
//! the new `spot.obu` channel (2025); consulted 2026-12-02. `spot.obu`/`futures.obu`
//! (order book v2, whole books with `full: true` then `U`/`u` increments, no REST
//! snapshot) is offered next to `order_book_update`, which remains documented and is
//! what the recordings hold; this connector uses `order_book_update` and also accepts
//! an update flagged `full` as a whole book.
//!
//! Heartbeat: the client sends `{"channel":"spot.ping"}` (`futures.ping`) every 15 s,
//! answered by `{"time":..,"channel":"spot.pong","event":"","result":null}`
//! ([`crate::Parsed::Heartbeat`]); the server also answers protocol pings.
//!
//! Limits: the WebSocket pages document no per-connection subscription cap and no
//! client message rate; the planner keeps [`MAX_SYMBOLS_PER_CONNECTION`] symbols per
//! connection and spaces requests by 50 ms. REST: public endpoints 200 requests per
//! 10 s per endpoint and IP (Gate announcement of the APIv4 rate-limit change
//! effective 2024-01-22), which paces snapshots (`parser::REST_LIMIT`).
//!
//! Recordings: `cryptofeed/gateio` (2021-04-22) and `cryptofeed/gateio_futures`
//! (2023-05-24) are on the current hosts and protocol; they predate the request
//! `id` echo in their answers, `full` book updates and array liquidations, and hold
//! no futures trades, tickers or liquidations (those are verified against the
//! documented examples only). Not verified: whether the server insists on `time` in
//! a ping (the keepalive text has none, being fixed), and the `"100"` level argument
//! of `futures.order_book_update` (documented; the recording sent none). Delivery
//! futures (`/v4/ws/delivery/usdt`) are not implemented.

mod book;
mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::connector::{plan_chunks, PERP_CHANNELS, SPOT_CHANNELS};
use crate::contract::{
    Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError, SourceRequest,
    SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::GateParser;

/// Symbols per connection (Gate documents no cap).
pub const MAX_SYMBOLS_PER_CONNECTION: usize = 100;

/// The REST base of both venues.
pub const REST_URL: &str = "https://api.gateio.ws";

/// Which Gate host family a connector speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    Spot,
    Futures,
}

/// A Gate connector: spot or USDT futures.
pub struct Gate {
    pub venue: Venue,
}

impl Gate {
    pub const SPOT: Gate = Gate { venue: Venue::Spot };
    pub const FUTURES: Gate = Gate {
        venue: Venue::Futures,
    };

    fn market(&self) -> Market {
        match self.venue {
            Venue::Spot => Market::Spot,
            Venue::Futures => Market::Perp,
        }
    }

    fn fallback_spot(native: &str) -> SymbolInfo {
        SymbolInfo {
            market: Market::Spot,
            symbol: native.replace('_', "-").to_ascii_uppercase().into(),
            native: native.into(),
        }
    }

    fn fallback_perp(native: &str) -> SymbolInfo {
        SymbolInfo {
            market: Market::Perp,
            symbol: format!("{}-PERP", native.replace('_', "-").to_ascii_uppercase()).into(),
            native: native.into(),
        }
    }

    /// The Gate channel carrying a normalized channel.
    fn gate_channel(&self, c: Channel) -> Option<&'static str> {
        Some(match (self.venue, c) {
            (Venue::Spot, Channel::Trade) => "spot.trades",
            (Venue::Spot, Channel::Bbo) => "spot.book_ticker",
            (Venue::Spot, Channel::Book) => "spot.order_book_update",
            (Venue::Spot, Channel::Ticker) => "spot.tickers",
            (Venue::Futures, Channel::Trade) => "futures.trades",
            (Venue::Futures, Channel::Bbo) => "futures.book_ticker",
            (Venue::Futures, Channel::Book) => "futures.order_book_update",
            (
                Venue::Futures,
                Channel::Ticker | Channel::Funding | Channel::MarkPrice | Channel::OpenInterest,
            ) => "futures.tickers",
            (Venue::Futures, Channel::Liquidation) => "futures.public_liquidates",
            _ => return None,
        })
    }

    pub fn new_parser(&self, plan: &ConnectionPlan) -> GateParser {
        let fallback = match self.venue {
            Venue::Spot => Self::fallback_spot,
            Venue::Futures => Self::fallback_perp,
        };
        GateParser::new(
            self.venue,
            self.name(),
            plan.channels,
            &plan.symbols,
            &plan.books,
            fallback,
        )
    }
}

/// The topic name of a Gate channel for one symbol: `spot.trades:BTC_USDT`.
fn topic_name(channel: &str, native: &str) -> SmolStr {
    format!("{channel}:{native}").into()
}

/// The current time in whole seconds (the request's `time`).
fn now_s() -> i64 {
    crate::time::now_ns() / 1_000_000_000
}

/// One request of one Gate channel (named by the topics, `channel:native`) for the
/// topics' symbols; `order_book_update` takes one symbol a request, so its topics
/// name one. Answered once.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let channel = topics
        .first()
        .and_then(|t| t.name.split_once(':'))
        .map(|(c, _)| c.to_string())
        .unwrap_or_default();
    let mut natives: Vec<&str> = Vec::new();
    for t in &topics {
        if !natives.contains(&t.native.as_str()) {
            natives.push(&t.native);
        }
    }
    let payload: Vec<&str> = match channel.as_str() {
        "spot.order_book_update" => vec![natives.first().copied().unwrap_or_default(), "100ms"],
        "futures.order_book_update" => {
            vec![natives.first().copied().unwrap_or_default(), "100ms", "100"]
        }
        _ => natives,
    };
    let text = serde_json::json!({
        "time": now_s(),
        "id": id,
        "channel": channel,
        "event": "subscribe",
        "payload": payload,
    })
    .to_string();
    SubscribeRequest {
        id,
        text,
        topics,
        answers: 1,
    }
}

/// The host and path of a URL (no scheme, port, query or trailing `/`).
fn host_path(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.split(':').next().unwrap_or(host);
    (host, path.trim_end_matches('/'))
}

impl Connector for Gate {
    fn name(&self) -> &'static str {
        match self.venue {
            Venue::Spot => "gateio",
            Venue::Futures => "gateio-futures",
        }
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        match self.venue {
            Venue::Spot => &[(Market::Spot, SPOT_CHANNELS)],
            Venue::Futures => &[(Market::Perp, PERP_CHANNELS)],
        }
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "wss://api.gateio.ws/ws/v4/",
            Venue::Futures => "wss://fx-ws.gateio.ws/v4/ws/usdt",
        }
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let ok = matches!(
            (self.venue, host_path(url)),
            (Venue::Spot, ("api.gateio.ws", "ws/v4"))
                | (Venue::Futures, ("fx-ws.gateio.ws", "v4/ws/usdt"))
        );
        ok.then(|| self.market())
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        REST_URL
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let name = self.name();
        let bad = |why: &str| PlanError::bad_symbol(name, user, why);
        if market != self.market() {
            return Err(bad(match self.venue {
                Venue::Spot => "gateio serves spot (gateio-futures serves perpetuals)",
                Venue::Futures => "gateio-futures serves USDT perpetuals (gateio serves spot)",
            }));
        }
        let upper = user.trim().to_ascii_uppercase();
        let expected = match self.venue {
            Venue::Spot => "expected BASE-QUOTE (BTC-USDT) or the pair (BTC_USDT)",
            Venue::Futures => "expected BASE-QUOTE-PERP (BTC-USDT-PERP) or the contract (BTC_USDT)",
        };
        let core = match self.venue {
            Venue::Spot => upper.as_str(),
            Venue::Futures => upper
                .strip_suffix("-PERP")
                .or_else(|| upper.strip_suffix("_PERP"))
                .unwrap_or(&upper),
        };
        let parts: Vec<&str> = core.split(['-', '_', '/']).collect();
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        let [base, quote] = parts.as_slice() else {
            return Err(bad(expected));
        };
        if !ok(base) || !ok(quote) {
            return Err(bad(expected));
        }
        let native = format!("{base}_{quote}");
        Ok(match self.venue {
            Venue::Spot => Self::fallback_spot(&native),
            Venue::Futures => Self::fallback_perp(&native),
        })
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        Ok(plan_chunks(
            request,
            MAX_SYMBOLS_PER_CONNECTION,
            Duration::from_millis(50),
            |plan, chunk| {
                plan.encode = Some(encode);
                // Gate channels in the order of the requested channels, each once.
                let mut channels: Vec<(&'static str, Vec<Channel>)> = Vec::new();
                for &c in &request.channels {
                    let Some(g) = self.gate_channel(c) else {
                        continue;
                    };
                    match channels.iter_mut().find(|(n, _)| *n == g) {
                        Some((_, cs)) => cs.push(c),
                        None => channels.push((g, vec![c])),
                    }
                }
                for (g, cs) in channels {
                    let topics = |s: &SymbolInfo| -> Vec<Topic> {
                        cs.iter()
                            .map(|&c| Topic {
                                native: s.native.clone(),
                                channel: c,
                                name: topic_name(g, &s.native),
                            })
                            .collect()
                    };
                    if g.ends_with(".order_book_update") {
                        for s in chunk {
                            plan.push_request(encode, topics(s));
                        }
                    } else {
                        plan.push_request(encode, chunk.iter().flat_map(topics).collect());
                    }
                }
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(self.new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: Some(match self.venue {
                Venue::Spot => r#"{"channel":"spot.ping"}"#,
                Venue::Futures => r#"{"channel":"futures.ping"}"#,
            }),
            ping_interval: Some(Duration::from_secs(15)),
            ..Heartbeat::default()
        }
    }

    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        instruments::urls(self.venue, market, rest_url)
    }

    fn parse_instruments(
        &self,
        market: Market,
        _url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse(self.venue, market, body)
    }

    fn limits(&self) -> Limits {
        let channels = self.supported()[0].1.len();
        Limits {
            max_streams_per_connection: MAX_SYMBOLS_PER_CONNECTION * channels,
            ..Limits::default()
        }
    }
}

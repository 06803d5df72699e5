//! The Bitstamp WebSocket API v2 parser.
//!
//! A live connection (a plan with symbols) yields records only for its own pairs: a
//! frame of another pair is [`NOT_PLANNED`]. A plan without symbols (recordings) takes
//! every pair.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Level, Record, Side, Trade};

use super::book::{backoff, Diff, DiffBook, Need};
use super::wire;
use crate::book::{BookConfig, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal, RestRequest,
};
use crate::convert::{dec, dec_raw, id_text};
use crate::envelope::Emitter;
use crate::rest::RateLimit;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};

/// Bitstamp's REST limit: 400 requests per second, 10 000 per 10 minutes per client
/// (see the module header); this process keeps to half of the 10-minute budget.
pub static REST_LIMIT: RateLimit = RateLimit {
    name: "bitstamp-api",
    limit: 10_000,
    window: std::time::Duration::from_secs(600),
    share_percent: 50,
    used_weight_header: None,
};

/// The REST path of an order-book snapshot of `pair` (its `url_symbol`).
pub fn snapshot_path(pair: &str) -> String {
    format!("/api/v2/order_book/{pair}")
}

/// Parser state of one Bitstamp connection.
pub struct BitstampParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, DiffBook>,
    config: BookConfig,
    rest_url: String,
    requests: Vec<RestRequest>,
}

/// Microseconds since the epoch as decimal text → (µs, ns).
fn micros(text: &str) -> Result<(u64, i64), ParseError> {
    let us: u64 = text.parse().map_err(|_| ParseError::Invalid {
        context: "microtimestamp",
        detail: format!("{text:?}"),
    })?;
    Ok((us, (us as i64).saturating_mul(1000)))
}

fn levels(raw: Vec<(tickbridge_schema::Dec, tickbridge_schema::Dec)>) -> Vec<Level> {
    raw.into_iter().map(|(p, q)| Level(p, q)).collect()
}

impl BitstampParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        let rest_url = match books.rest_url.trim_end_matches('/') {
            "" => super::REST_URL.to_string(),
            url => url.to_string(),
        };
        BitstampParser {
            channels,
            emit: Emitter::new("bitstamp", symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            config: books.clone(),
            rest_url,
            requests: Vec::new(),
        }
    }

    fn data<'a>(env: &wire::Envelope<'a>) -> Result<&'a str, ParseError> {
        env.data
            .map(|d| d.get())
            .ok_or_else(|| ParseError::Malformed(format!("{} without data", env.event)))
    }

    fn on_trade(
        &mut self,
        native: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Trade = serde_json::from_str(data)?;
        let side = match t.side {
            0 => Side::Buy,
            1 => Side::Sell,
            other => {
                return Err(ParseError::Invalid {
                    context: "trade.type",
                    detail: other.to_string(),
                })
            }
        };
        let exact =
            |s: Option<&str>, raw: Option<&serde_json::value::RawValue>, what| match (s, raw) {
                (Some(s), _) => dec(s, what),
                (None, Some(raw)) => dec_raw(raw, what),
                (None, None) => Err(ParseError::Invalid {
                    context: what,
                    detail: "missing".into(),
                }),
            };
        let price = exact(t.price_str, t.price, "trade.price")?;
        let size = exact(t.amount_str, t.amount, "trade.amount")?;
        let (_, ts_ex) = micros(t.microtimestamp)?;
        let trade = Trade {
            price,
            size,
            side,
            trade_id: id_text(t.id),
        };
        self.emit
            .push(out, native, Some(ts_ex), ts, None, t.id, Data::Trade(trade));
        Ok(Parsed::Data)
    }

    /// `order_book_[pair]`: the top 100 levels, of which the best of each side is the bbo.
    fn on_top(
        &mut self,
        native: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let b: wire::BookData = serde_json::from_str(data)?;
        let (us, ts_ex) = micros(b.microtimestamp)?;
        if !self.channels.contains(Channel::Bbo) {
            return Ok(Parsed::Ignored("order_book without the bbo channel"));
        }
        let bid = b.bids.into_iter().next();
        let ask = b.asks.into_iter().next();
        let (bid_price, bid_size) = bid.map_or((None, None), |(p, q)| (Some(p), Some(q)));
        let (ask_price, ask_size) = ask.map_or((None, None), |(p, q)| (Some(p), Some(q)));
        let bbo = Bbo {
            bid_price,
            bid_size,
            ask_price,
            ask_size,
        };
        self.emit
            .push(out, native, Some(ts_ex), ts, Some(us), us, Data::Bbo(bbo));
        Ok(Parsed::Data)
    }

    fn request_snapshot(&mut self, native: &str, need: Need) {
        if let Need::Snapshot { attempt } = need {
            self.requests.push(RestRequest {
                key: native.to_string(),
                url: format!("{}{}", self.rest_url, snapshot_path(native)),
                weight: 1,
                limit: &REST_LIMIT,
                delay: backoff(attempt),
            });
        }
    }

    fn on_diff(
        &mut self,
        native: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let b: wire::BookData = serde_json::from_str(data)?;
        let (us, ts_ex) = micros(b.microtimestamp)?;
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("diff_order_book without the book channel"));
        }
        let diff = Diff {
            micro: us,
            stamp: Stamp {
                ts_exchange: Some(ts_ex),
                ts_recv: ts,
            },
            bids: levels(b.bids),
            asks: levels(b.asks),
        };
        let book = match self.books.get_mut(native) {
            Some(book) => book,
            None => {
                let symbol = self.emit.symbol(native);
                self.books
                    .entry(SmolStr::new(native))
                    .or_insert_with(|| DiffBook::new(symbol, &self.config))
            }
        };
        let need = book.on_diff(diff, out);
        self.request_snapshot(native, need);
        Ok(Parsed::Data)
    }

    /// The book state of `native`, once one of its diffs arrived.
    pub fn book(&self, native: &str) -> Option<&crate::book::BookSync> {
        self.books.get(native).map(DiffBook::sync)
    }

    /// The pair a channel name ends with: `live_trades_btcusd` → `btcusd`.
    fn pair_of<'a>(channel: &'a str, prefix: &str) -> Option<&'a str> {
        channel.strip_prefix(prefix).filter(|p| !p.is_empty())
    }
}

impl FrameParser for BitstampParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        match env.event {
            "trade" | "data" => {
                let (kind, native) = if let Some(p) = Self::pair_of(env.channel, "live_trades_") {
                    ("trade", p)
                } else if let Some(p) = Self::pair_of(env.channel, "diff_order_book_") {
                    ("diff", p)
                } else if let Some(p) = Self::pair_of(env.channel, "order_book_") {
                    ("top", p)
                } else if env.channel.starts_with("detail_order_book_")
                    || env.channel.starts_with("full_order_book_")
                {
                    return Ok(Parsed::Ignored("detail_order_book"));
                } else {
                    return Err(ParseError::Unknown(format!(
                        "event {:?} on channel {:?}",
                        env.event, env.channel
                    )));
                };
                if !self.planned.allows(native) {
                    return Ok(NOT_PLANNED);
                }
                let data = Self::data(&env)?;
                match kind {
                    "trade" => self.on_trade(native, data, ts_recv, out),
                    "diff" => self.on_diff(native, data, ts_recv, out),
                    _ => self.on_top(native, data, ts_recv, out),
                }
            }
            "order_created" | "order_changed" | "order_deleted" => {
                Ok(Parsed::Ignored("live_orders"))
            }
            "bts:subscription_succeeded" => Ok(Parsed::Acked(Answer::Topic(env.channel.into()))),
            "bts:unsubscription_succeeded" => {
                Ok(Parsed::Info(format!("unsubscribed {}", env.channel)))
            }
            "bts:heartbeat" => Ok(Parsed::Heartbeat),
            "bts:request_reconnect" => Ok(Parsed::Reconnect(
                "bts:request_reconnect: the server asks clients to reconnect".into(),
            )),
            "bts:error" => {
                let e: wire::Error = match env.data {
                    Some(d) => serde_json::from_str(d.get())?,
                    None => wire::Error {
                        code: None,
                        message: String::new(),
                    },
                };
                let reason = match &e.code {
                    Some(c) if !c.is_null() => format!("bts:error {c}: {}", e.message),
                    _ => format!("bts:error: {}", e.message),
                };
                // Errors answer the oldest request still waiting, in send order; a
                // channel named in the error names its pair.
                let symbols = ["live_trades_", "diff_order_book_", "order_book_"]
                    .iter()
                    .find_map(|p| Self::pair_of(env.channel, p))
                    .map(|p| vec![SmolStr::new(p)])
                    .unwrap_or_default();
                Ok(Parsed::Refused(Refusal {
                    answer: Some(Answer::InOrder),
                    symbols,
                    reason,
                }))
            }
            other => Err(ParseError::Unknown(format!("event {other:?}"))),
        }
    }

    fn rest_requests(&mut self) -> Vec<RestRequest> {
        std::mem::take(&mut self.requests)
    }

    fn on_rest(
        &mut self,
        key: &str,
        body: Result<&str, &str>,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let Some(book) = self.books.get_mut(key) else {
            return Ok(Parsed::Info(format!(
                "REST response for unknown pair {key}"
            )));
        };
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv,
        };
        let path = snapshot_path(key);
        let failed = |why: String| format!("GET {path}: {why}");
        let need = match body {
            Err(why) => book.on_snapshot_failed(stamp, &failed(why.to_string()), out),
            Ok(body) => match serde_json::from_str::<wire::BookData>(body) {
                Ok(s) => match micros(s.microtimestamp) {
                    Ok((us, ns)) => book.on_snapshot(
                        Diff {
                            micro: us,
                            stamp: Stamp {
                                ts_exchange: Some(ns),
                                ts_recv,
                            },
                            bids: levels(s.bids),
                            asks: levels(s.asks),
                        },
                        out,
                    ),
                    Err(e) => book.on_snapshot_failed(stamp, &failed(e.to_string()), out),
                },
                Err(e) => {
                    let why = match serde_json::from_str::<wire::RestError>(body) {
                        Ok(wire::RestError { reason: Some(r) }) => format!("refused: {r}"),
                        _ => format!("unusable answer: {e}"),
                    };
                    book.on_snapshot_failed(stamp, &failed(why), out)
                }
            },
        };
        self.request_snapshot(key, need);
        Ok(Parsed::Data)
    }
}

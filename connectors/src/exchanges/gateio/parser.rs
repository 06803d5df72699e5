//! The Gate API v4 parser (spot and USDT futures share the frame shapes; the
//! channel prefix, the `result` shapes and the REST snapshot differ).
//!
//! A live connection (a plan with symbols) yields records only for its own symbols:
//! a frame of another symbol is [`NOT_PLANNED`]. A plan without symbols (recordings)
//! takes every symbol.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Dec, Funding, Level, Liquidation, MarkPrice, OpenInterest, Record, Side, Ticker,
    Trade,
};

use super::book::{backoff, Need, SeqBook, Update};
use super::{wire, Venue};
use crate::book::{BookConfig, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal, RestRequest,
};
use crate::convert::{dec_opt, id_text, raw_text, side};
use crate::envelope::Emitter;
use crate::rest::RateLimit;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};

/// Gate's REST limit for public market endpoints: 200 requests per 10 s per
/// endpoint (see the module header); this process keeps to half of it.
pub static REST_LIMIT: RateLimit = RateLimit {
    name: "gateio-api",
    limit: 200,
    window: std::time::Duration::from_secs(10),
    share_percent: 50,
    used_weight_header: None,
};

/// Levels of the REST snapshot (the documented maximum, and the `level` the futures
/// update channel is subscribed with).
pub const SNAPSHOT_LIMIT: usize = 100;

/// The REST path (and query) of the order-book snapshot of `native`.
pub fn snapshot_path(venue: Venue, native: &str) -> String {
    match venue {
        Venue::Spot => format!(
            "/api/v4/spot/order_book?currency_pair={native}&limit={SNAPSHOT_LIMIT}&with_id=true"
        ),
        Venue::Futures => format!(
            "/api/v4/futures/usdt/order_book?contract={native}&limit={SNAPSHOT_LIMIT}&with_id=true"
        ),
    }
}

/// `int[.fraction]` in units of `unit_ns` nanoseconds (`"1619093543708.2642"` ms,
/// `1684930166.384` s) → ns since the epoch, exactly.
pub fn units_to_ns(text: &str, unit_ns: i64) -> Option<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let whole: i64 = int.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = &frac[..frac.len().min(12)];
    let part = if digits.is_empty() {
        0
    } else {
        let n: i128 = digits.parse().ok()?;
        (n * unit_ns as i128 / 10i128.pow(digits.len() as u32)) as i64
    };
    whole.checked_mul(unit_ns)?.checked_add(part)
}

fn ms(ms: i64) -> i64 {
    crate::time::ms_to_ns(ms)
}

fn spot_levels(raw: Vec<(Dec, Dec)>) -> Vec<Level> {
    raw.into_iter().map(|(p, q)| Level(p, q)).collect()
}

fn futures_levels(raw: Vec<wire::FuturesLevel>) -> Vec<Level> {
    raw.into_iter().map(|l| Level(l.p, l.s)).collect()
}

/// `|d|` of a signed decimal.
fn abs(d: &Dec) -> Result<Dec, ParseError> {
    match d.as_str().strip_prefix('-') {
        Some(t) => crate::convert::dec(t, "size"),
        None => Ok(d.clone()),
    }
}

/// A price or size of a `book_ticker` (string or number); `""` or absent = `None`.
fn opt_raw(
    raw: Option<&serde_json::value::RawValue>,
    what: &'static str,
) -> Result<Option<Dec>, ParseError> {
    match raw {
        Some(r) if r.get() != "null" => dec_opt(Some(raw_text(r)), what),
        _ => Ok(None),
    }
}

/// Parser state of one Gate connection.
pub struct GateParser {
    venue: Venue,
    exchange: &'static str,
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, SeqBook>,
    config: BookConfig,
    rest_url: String,
    requests: Vec<RestRequest>,
}

impl GateParser {
    pub fn new(
        venue: Venue,
        exchange: &'static str,
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        let rest_url = match books.rest_url.trim_end_matches('/') {
            "" => super::REST_URL.to_string(),
            url => url.to_string(),
        };
        GateParser {
            venue,
            exchange,
            channels,
            emit: Emitter::new(exchange, symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            config: books.clone(),
            rest_url,
            requests: Vec::new(),
        }
    }

    /// The book state of `native`, once one of its updates arrived.
    pub fn book(&self, native: &str) -> Option<&crate::book::BookSync> {
        self.books.get(native).map(SeqBook::sync)
    }

    /// The envelope's time: `time_ms` where sent (futures), else `time` (seconds).
    fn frame_ns(env: &wire::Envelope) -> Option<i64> {
        match (env.time_ms, env.time) {
            (Some(t), _) if t > 0 => Some(ms(t)),
            (_, Some(s)) => s.checked_mul(1_000_000_000),
            _ => None,
        }
    }

    fn on_answer(&mut self, env: &wire::Envelope) -> Result<Parsed, ParseError> {
        let status = match env.result {
            Some(r) => serde_json::from_str::<wire::Status>(r.get())?.status,
            None => "",
        };
        let answer = env.id.map_or(Answer::InOrder, Answer::Id);
        if env.event == "unsubscribe" {
            // Unsubscribes are no tracked requests: their answers are only reported.
            let error = env.error.map(|e| e.get().to_string()).unwrap_or_default();
            return Ok(Parsed::Info(format!(
                "unsubscribe {}: {status} {error}",
                env.channel
            )));
        }
        if let Some(e) = env.error {
            let e: wire::Error = serde_json::from_str(e.get())?;
            let code = e.code.map(|c| format!(" {c}")).unwrap_or_default();
            return Ok(Parsed::Refused(Refusal::of(
                answer,
                Vec::new(),
                format!("{} {}: error{code}: {}", env.channel, env.event, e.message),
            )));
        }
        if status != "success" {
            return Ok(Parsed::Refused(Refusal::of(
                answer,
                Vec::new(),
                format!("{} {}: status {status:?}", env.channel, env.event),
            )));
        }
        Ok(Parsed::Acked(answer))
    }

    fn on_spot_trade(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::SpotTrade = serde_json::from_str(data)?;
        if !self.planned.allows(t.currency_pair) {
            return Ok(NOT_PLANNED);
        }
        let side = side(t.side, "trade.side")?;
        let ts_ex = t.create_time_ms.and_then(|m| units_to_ns(m, 1_000_000));
        let trade = Trade {
            price: t.price,
            size: t.amount,
            side,
            trade_id: id_text(t.id),
        };
        self.emit.push(
            out,
            t.currency_pair,
            ts_ex,
            ts,
            None,
            t.id,
            Data::Trade(trade),
        );
        Ok(Parsed::Data)
    }

    fn on_futures_trades(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let trades: Vec<wire::FuturesTrade> = serde_json::from_str(data)?;
        let mut n = 0;
        for t in trades {
            if !self.planned.allows(t.contract) {
                continue;
            }
            if t.size.is_zero() {
                return Err(ParseError::Invalid {
                    context: "futures.trades size",
                    detail: "0 (no taker side)".into(),
                });
            }
            let side = if t.size.is_negative() {
                Side::Sell
            } else {
                Side::Buy
            };
            let trade = Trade {
                price: t.price,
                size: abs(&t.size)?,
                side,
                trade_id: id_text(t.id),
            };
            self.emit.push(
                out,
                t.contract,
                t.create_time_ms.map(ms),
                ts,
                None,
                t.id,
                Data::Trade(trade),
            );
            n += 1;
        }
        Ok(if n > 0 { Parsed::Data } else { NOT_PLANNED })
    }

    fn on_book_ticker(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let b: wire::BookTicker = serde_json::from_str(data)?;
        if !self.planned.allows(b.s) {
            return Ok(NOT_PLANNED);
        }
        let bbo = Bbo {
            bid_price: opt_raw(b.b, "book_ticker.b")?,
            bid_size: opt_raw(b.bid_size, "book_ticker.B")?,
            ask_price: opt_raw(b.a, "book_ticker.a")?,
            ask_size: opt_raw(b.ask_size, "book_ticker.A")?,
        };
        let suffix = match (b.u, b.t) {
            (Some(u), _) => u.to_string(),
            (None, Some(t)) => format!("t{t}"),
            (None, None) => format!("r{ts}"),
        };
        self.emit
            .push(out, b.s, b.t.map(ms), ts, b.u, suffix, Data::Bbo(bbo));
        Ok(Parsed::Data)
    }

    fn on_spot_ticker(
        &mut self,
        env_ns: Option<i64>,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::SpotTicker = serde_json::from_str(data)?;
        if !self.planned.allows(t.currency_pair) {
            return Ok(NOT_PLANNED);
        }
        let ticker = Ticker {
            last: dec_opt(t.last, "ticker.last")?,
            bid_price: dec_opt(t.highest_bid, "ticker.highest_bid")?,
            bid_size: dec_opt(t.highest_size, "ticker.highest_size")?,
            ask_price: dec_opt(t.lowest_ask, "ticker.lowest_ask")?,
            ask_size: dec_opt(t.lowest_size, "ticker.lowest_size")?,
            open_24h: None,
            high_24h: dec_opt(t.high_24h, "ticker.high_24h")?,
            low_24h: dec_opt(t.low_24h, "ticker.low_24h")?,
            volume_24h: dec_opt(t.base_volume, "ticker.base_volume")?,
            quote_volume_24h: dec_opt(t.quote_volume, "ticker.quote_volume")?,
        };
        // The envelope's `time` is whole seconds: the receive time keeps ids apart.
        self.emit.push(
            out,
            t.currency_pair,
            env_ns,
            ts,
            None,
            ts,
            Data::Ticker(Box::new(ticker)),
        );
        Ok(Parsed::Data)
    }

    fn on_futures_tickers(
        &mut self,
        env_ns: Option<i64>,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let tickers: Vec<wire::FuturesTicker> = serde_json::from_str(data)?;
        let suffix = env_ns.unwrap_or(ts);
        let mut n = 0;
        for t in tickers {
            if !self.planned.allows(t.contract) {
                continue;
            }
            n += 1;
            let c = t.contract;
            if self.channels.contains(Channel::Ticker) {
                let ticker = Ticker {
                    last: dec_opt(t.last, "tickers.last")?,
                    bid_price: dec_opt(t.highest_bid, "tickers.highest_bid")?,
                    bid_size: None,
                    ask_price: dec_opt(t.lowest_ask, "tickers.lowest_ask")?,
                    ask_size: None,
                    open_24h: None,
                    high_24h: dec_opt(t.high_24h, "tickers.high_24h")?,
                    low_24h: dec_opt(t.low_24h, "tickers.low_24h")?,
                    volume_24h: dec_opt(t.volume_24h_base, "tickers.volume_24h_base")?,
                    quote_volume_24h: dec_opt(t.volume_24h_quote, "tickers.volume_24h_quote")?,
                };
                self.emit.push(
                    out,
                    c,
                    env_ns,
                    ts,
                    None,
                    suffix,
                    Data::Ticker(Box::new(ticker)),
                );
            }
            if self.channels.contains(Channel::Funding) {
                if let Some(rate) = dec_opt(t.funding_rate, "tickers.funding_rate")? {
                    let funding = Funding {
                        rate,
                        predicted_rate: dec_opt(
                            t.funding_rate_indicative,
                            "tickers.funding_rate_indicative",
                        )?,
                        next_funding_ts: None,
                    };
                    self.emit
                        .push(out, c, env_ns, ts, None, suffix, Data::Funding(funding));
                }
            }
            if self.channels.contains(Channel::MarkPrice) {
                if let Some(mark_price) = dec_opt(t.mark_price, "tickers.mark_price")? {
                    let mark = MarkPrice {
                        mark_price,
                        index_price: dec_opt(t.index_price, "tickers.index_price")?,
                    };
                    self.emit
                        .push(out, c, env_ns, ts, None, suffix, Data::MarkPrice(mark));
                }
            }
            if self.channels.contains(Channel::OpenInterest) {
                if let Some(open_interest) = dec_opt(t.total_size, "tickers.total_size")? {
                    let oi = OpenInterest {
                        open_interest,
                        open_interest_value: None,
                    };
                    self.emit
                        .push(out, c, env_ns, ts, None, suffix, Data::OpenInterest(oi));
                }
            }
        }
        Ok(if n > 0 { Parsed::Data } else { NOT_PLANNED })
    }

    fn on_liquidations(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let rows: Vec<wire::Liquidation> = serde_json::from_str(data)?;
        let mut n = 0;
        for (i, l) in rows.into_iter().enumerate() {
            if !self.planned.allows(l.contract) {
                continue;
            }
            // `time` is ms since 2026-08-20 (seconds before); `time_ms` on older frames.
            let ts_ex = match (l.time_ms, l.time) {
                (Some(t), _) => Some(ms(t)),
                (None, Some(t)) if t >= 100_000_000_000 => Some(ms(t)),
                (None, Some(t)) => t.checked_mul(1_000_000_000),
                (None, None) => None,
            };
            // A negative size closes a long: the liquidation order sells.
            let side = if l.size.is_negative() {
                Side::Sell
            } else {
                Side::Buy
            };
            let liq = Liquidation {
                price: l.price,
                size: abs(&l.size)?,
                side,
            };
            let suffix = format!("{}.{i}", ts_ex.unwrap_or(ts));
            self.emit.push(
                out,
                l.contract,
                ts_ex,
                ts,
                None,
                suffix,
                Data::Liquidation(liq),
            );
            n += 1;
        }
        Ok(if n > 0 { Parsed::Data } else { NOT_PLANNED })
    }

    fn on_book_update(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let (native, full, up) = match self.venue {
            Venue::Spot => {
                let u: wire::SpotBookUpdate = serde_json::from_str(data)?;
                let up = Update {
                    first: u.first,
                    last: u.last,
                    stamp: Stamp {
                        ts_exchange: u.t.map(ms),
                        ts_recv: ts,
                    },
                    bids: spot_levels(u.b),
                    asks: spot_levels(u.a),
                };
                (u.s, u.full, up)
            }
            Venue::Futures => {
                let u: wire::FuturesBookUpdate = serde_json::from_str(data)?;
                let up = Update {
                    first: u.first,
                    last: u.last,
                    stamp: Stamp {
                        ts_exchange: u.t.map(ms),
                        ts_recv: ts,
                    },
                    bids: futures_levels(u.b),
                    asks: futures_levels(u.a),
                };
                (u.s, u.full, up)
            }
        };
        if up.first > up.last {
            return Err(ParseError::Invalid {
                context: "order_book_update",
                detail: format!("U {} > u {}", up.first, up.last),
            });
        }
        if !self.planned.allows(native) {
            return Ok(NOT_PLANNED);
        }
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored(
                "order_book_update without the book channel",
            ));
        }
        let book = match self.books.get_mut(native) {
            Some(book) => book,
            None => {
                let symbol = self.emit.symbol(native);
                self.books
                    .entry(SmolStr::new(native))
                    .or_insert_with(|| SeqBook::new(self.exchange, symbol, &self.config))
            }
        };
        let need = book.on_update(up, full, out);
        let native = native.to_string();
        self.request_snapshot(&native, need);
        Ok(Parsed::Data)
    }

    fn request_snapshot(&mut self, native: &str, need: Need) {
        if let Need::Snapshot { attempt } = need {
            self.requests.push(RestRequest {
                key: native.to_string(),
                url: format!("{}{}", self.rest_url, snapshot_path(self.venue, native)),
                weight: 1,
                limit: &REST_LIMIT,
                delay: backoff(attempt),
            });
        }
    }

    /// A snapshot body as an [`Update`] at its `id`.
    fn snapshot(&self, body: &str, ts_recv: i64) -> Result<Update, String> {
        let refused = |e: serde_json::Error| match serde_json::from_str::<wire::RestError>(body) {
            Ok(r) => format!("refused: {} {}", r.label, r.message),
            Err(_) => format!("unusable answer: {e}"),
        };
        let (id, current, bids, asks) = match self.venue {
            Venue::Spot => {
                let s: wire::SpotSnapshot = serde_json::from_str(body).map_err(refused)?;
                let t = s
                    .current
                    .and_then(|n| units_to_ns(&n.to_string(), 1_000_000));
                (s.id, t, spot_levels(s.bids), spot_levels(s.asks))
            }
            Venue::Futures => {
                let s: wire::FuturesSnapshot = serde_json::from_str(body).map_err(refused)?;
                let t = s
                    .current
                    .and_then(|n| units_to_ns(&n.to_string(), 1_000_000_000));
                (s.id, t, futures_levels(s.bids), futures_levels(s.asks))
            }
        };
        Ok(Update {
            first: id,
            last: id,
            stamp: Stamp {
                ts_exchange: current,
                ts_recv,
            },
            bids,
            asks,
        })
    }
}

impl FrameParser for GateParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        let (prefix, name) = env
            .channel
            .split_once('.')
            .ok_or_else(|| ParseError::Unknown(format!("channel {:?}", env.channel)))?;
        let ours = match self.venue {
            Venue::Spot => "spot",
            Venue::Futures => "futures",
        };
        if prefix != ours {
            return Err(ParseError::Unknown(format!("channel {:?}", env.channel)));
        }
        if name == "pong" {
            return Ok(Parsed::Heartbeat);
        }
        match env.event {
            "subscribe" | "unsubscribe" => return self.on_answer(&env),
            "update" | "all" => {}
            other => {
                return Err(ParseError::Unknown(format!(
                    "event {other:?} on {:?}",
                    env.channel
                )))
            }
        }
        let data = env.result.map(|r| r.get()).ok_or_else(|| {
            ParseError::Malformed(format!("{} update without result", env.channel))
        })?;
        let env_ns = Self::frame_ns(&env);
        match (self.venue, name) {
            (Venue::Spot, "trades") => self.on_spot_trade(data, ts_recv, out),
            (Venue::Futures, "trades") => self.on_futures_trades(data, ts_recv, out),
            (_, "book_ticker") => self.on_book_ticker(data, ts_recv, out),
            (_, "order_book_update") => self.on_book_update(data, ts_recv, out),
            (Venue::Spot, "tickers") => self.on_spot_ticker(env_ns, data, ts_recv, out),
            (Venue::Futures, "tickers") => self.on_futures_tickers(env_ns, data, ts_recv, out),
            (Venue::Futures, "public_liquidates") => self.on_liquidations(data, ts_recv, out),
            (_, "candlesticks") => Ok(Parsed::Ignored("candlesticks")),
            (_, "order_book") => Ok(Parsed::Ignored("order_book (snapshots)")),
            (_, "obu") => Ok(Parsed::Ignored("obu (order book v2)")),
            (_, "trades_v2") => Ok(Parsed::Ignored("trades_v2")),
            (Venue::Futures, "contract_stats") => Ok(Parsed::Ignored("contract_stats")),
            (Venue::Futures, "contract_info") => Ok(Parsed::Ignored("contract_info")),
            _ => Err(ParseError::Unknown(format!(
                "{} {:?}",
                env.event, env.channel
            ))),
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
        let snap = body
            .map_err(str::to_string)
            .and_then(|b| self.snapshot(b, ts_recv));
        let path = snapshot_path(self.venue, key);
        let Some(book) = self.books.get_mut(key) else {
            return Ok(Parsed::Info(format!(
                "REST response for unknown symbol {key}"
            )));
        };
        let need = match snap {
            Ok(s) => book.on_snapshot(s, out),
            Err(why) => {
                let stamp = Stamp {
                    ts_exchange: None,
                    ts_recv,
                };
                book.on_snapshot_failed(stamp, &format!("GET {path}: {why}"), out)
            }
        };
        self.request_snapshot(key, need);
        Ok(Parsed::Data)
    }
}

//! The KuCoin classic spot WebSocket parser.
//!
//! A live connection (a plan with symbols) yields records only for its own symbols: a
//! frame of another symbol is [`NOT_PLANNED`]. A plan without symbols (recordings)
//! takes every symbol.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Level, Record, Ticker, Trade};

use super::book::{backoff, Change, Increment, L2Book, Need, Snapshot};
use super::wire;
use crate::book::{BookConfig, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal, RestRequest,
};
use crate::convert::{dec_raw, raw_text, side};
use crate::envelope::Emitter;
use crate::rest::RateLimit;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// KuCoin's public REST pool: 2000 weight per 30 s per IP (see the module header);
/// this process keeps to half of it.
pub static REST_LIMIT: RateLimit = RateLimit {
    name: "kucoin-public",
    limit: 2000,
    window: std::time::Duration::from_secs(30),
    share_percent: 50,
    used_weight_header: None,
};

/// The REST path and weight of a book snapshot of `symbol` at `depth` (20 or 100).
pub fn snapshot_path(symbol: &str, depth: usize) -> (String, u32) {
    let (name, weight) = if depth <= 20 {
        ("level2_20", 2)
    } else {
        ("level2_100", 4)
    };
    (
        format!("/api/v1/market/orderbook/{name}?symbol={symbol}"),
        weight,
    )
}

/// Parser state of one KuCoin connection.
pub struct KucoinParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, L2Book>,
    config: BookConfig,
    rest_url: String,
    depth: usize,
    requests: Vec<RestRequest>,
}

fn invalid(context: &'static str, detail: impl std::fmt::Display) -> ParseError {
    ParseError::Invalid {
        context,
        detail: detail.to_string(),
    }
}

fn number(text: &str, context: &'static str) -> Result<u64, ParseError> {
    text.parse()
        .map_err(|_| invalid(context, format!("{text:?}")))
}

fn opt_dec(
    raw: Option<&serde_json::value::RawValue>,
    context: &'static str,
) -> Result<Option<tickbridge_schema::Dec>, ParseError> {
    match raw {
        None => Ok(None),
        Some(r) if r.get() == "null" || raw_text(r).is_empty() => Ok(None),
        Some(r) => dec_raw(r, context).map(Some),
    }
}

fn changes(
    raw: Vec<(tickbridge_schema::Dec, tickbridge_schema::Dec, &str)>,
) -> Result<Vec<Change>, ParseError> {
    raw.into_iter()
        .map(|(price, size, seq)| {
            Ok(Change {
                level: Level(price, size),
                seq: number(seq, "level2 change sequence")?,
            })
        })
        .collect()
}

impl KucoinParser {
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
        KucoinParser {
            channels,
            emit: Emitter::new("kucoin", symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            depth: books.served_depth(&[20, 100], 100),
            config: books.clone(),
            rest_url,
            requests: Vec::new(),
        }
    }

    /// The book state of `native`, once one of its increments arrived.
    pub fn book(&self, native: &str) -> Option<&crate::book::BookSync> {
        self.books.get(native).map(L2Book::sync)
    }

    fn on_match(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let m: wire::Match = serde_json::from_str(data)?;
        if !self.planned.allows(m.symbol) {
            return Ok(NOT_PLANNED);
        }
        let trade = Trade {
            price: m.price,
            size: m.size,
            side: side(m.side, "match.side")?,
            trade_id: m.trade_id.into(),
        };
        let seq = number(m.sequence, "match.sequence")?;
        let ts_ex = m
            .time
            .parse::<i64>()
            .map_err(|_| invalid("match.time", m.time))?;
        self.emit.push(
            out,
            m.symbol,
            Some(ts_ex),
            ts,
            Some(seq),
            m.trade_id,
            Data::Trade(trade),
        );
        Ok(Parsed::Data)
    }

    fn on_ticker(
        &mut self,
        native: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Ticker = serde_json::from_str(data)?;
        let seq = number(t.sequence, "ticker.sequence")?;
        let bbo = Bbo {
            bid_price: t.best_bid,
            bid_size: t.best_bid_size,
            ask_price: t.best_ask,
            ask_size: t.best_ask_size,
        };
        self.emit.push(
            out,
            native,
            t.time.map(ms_to_ns),
            ts,
            Some(seq),
            seq,
            Data::Bbo(bbo),
        );
        Ok(Parsed::Data)
    }

    fn on_snapshot(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let s: wire::Snapshot = serde_json::from_str(data)?;
        let d = &s.data;
        if !self.planned.allows(d.symbol) {
            return Ok(NOT_PLANNED);
        }
        let ticker = Ticker {
            last: opt_dec(d.last, "snapshot.lastTradedPrice")?,
            bid_price: opt_dec(d.buy, "snapshot.buy")?,
            bid_size: None,
            ask_price: opt_dec(d.sell, "snapshot.sell")?,
            ask_size: None,
            open_24h: opt_dec(d.open, "snapshot.open")?,
            high_24h: opt_dec(d.high, "snapshot.high")?,
            low_24h: opt_dec(d.low, "snapshot.low")?,
            volume_24h: opt_dec(d.vol, "snapshot.vol")?,
            quote_volume_24h: opt_dec(d.vol_value, "snapshot.volValue")?,
        };
        let seq = s
            .sequence
            .map(|q| number(q, "snapshot.sequence"))
            .transpose()?;
        let suffix = match (d.datetime, seq) {
            (Some(t), _) => t.to_string(),
            (None, Some(q)) => q.to_string(),
            (None, None) => format!("r{ts}"),
        };
        let native = d.symbol.to_string();
        self.emit.push(
            out,
            &native,
            d.datetime.map(ms_to_ns),
            ts,
            seq,
            suffix,
            Data::Ticker(Box::new(ticker)),
        );
        Ok(Parsed::Data)
    }

    fn request_snapshot(&mut self, native: &str, need: Need) {
        if let Need::Snapshot { attempt } = need {
            let (path, weight) = snapshot_path(native, self.depth);
            self.requests.push(RestRequest {
                key: native.to_string(),
                url: format!("{}{path}", self.rest_url),
                weight,
                limit: &REST_LIMIT,
                delay: backoff(attempt),
            });
        }
    }

    fn on_level2(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let u: wire::L2Update = serde_json::from_str(data)?;
        if !self.planned.allows(u.symbol) {
            return Ok(NOT_PLANNED);
        }
        if u.sequence_end < u.sequence_start {
            return Err(invalid(
                "level2 sequence",
                format!(
                    "sequenceEnd {} < sequenceStart {}",
                    u.sequence_end, u.sequence_start
                ),
            ));
        }
        let inc = Increment {
            start: u.sequence_start,
            end: u.sequence_end,
            stamp: Stamp {
                ts_exchange: u.time.map(ms_to_ns),
                ts_recv: ts,
            },
            bids: changes(u.changes.bids)?,
            asks: changes(u.changes.asks)?,
        };
        let native = u.symbol;
        let book = match self.books.get_mut(native) {
            Some(book) => book,
            None => {
                let symbol = self.emit.symbol(native);
                self.books
                    .entry(SmolStr::new(native))
                    .or_insert_with(|| L2Book::new(symbol, &self.config))
            }
        };
        let need = book.on_increment(inc, out);
        self.request_snapshot(native, need);
        Ok(Parsed::Data)
    }

    fn on_message(
        &mut self,
        env: &wire::Envelope,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let topic = env.topic.unwrap_or_default();
        let (prefix, symbols) = topic
            .split_once(':')
            .ok_or_else(|| ParseError::Unknown(format!("message on topic {topic:?}")))?;
        let data = env
            .data
            .map(|d| d.get())
            .ok_or_else(|| ParseError::Malformed(format!("message on {topic} without data")))?;
        let channel = match prefix {
            "/market/match" => Channel::Trade,
            "/market/ticker" => Channel::Bbo,
            "/market/level2" => Channel::Book,
            "/market/snapshot" => Channel::Ticker,
            "/market/candles" => return Ok(Parsed::Ignored("candles")),
            "/spotMarket/level2Depth5" | "/spotMarket/level2Depth50" | "/spotMarket/level1" => {
                return Ok(Parsed::Ignored("depth snapshots"))
            }
            "/market/level3" | "/spotMarket/level3" => return Ok(Parsed::Ignored("level3")),
            _ => return Err(ParseError::Unknown(format!("message on topic {topic:?}"))),
        };
        if !self.channels.contains(channel) {
            return Ok(Parsed::Ignored("a channel the plan does not carry"));
        }
        match channel {
            Channel::Trade => self.on_match(data, ts, out),
            Channel::Bbo => {
                if !self.planned.allows(symbols) {
                    return Ok(NOT_PLANNED);
                }
                self.on_ticker(symbols, data, ts, out)
            }
            Channel::Book => self.on_level2(data, ts, out),
            _ => self.on_snapshot(data, ts, out),
        }
    }
}

/// The request id a server frame echoes (a string in KuCoin's frames).
fn request_id(env: &wire::Envelope) -> Option<u64> {
    env.id.and_then(|raw| raw_text(raw).parse().ok())
}

impl FrameParser for KucoinParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        match env.kind {
            "message" => self.on_message(&env, ts_recv, out),
            "ack" => match request_id(&env) {
                Some(id) => Ok(Parsed::Acked(Answer::Id(id))),
                None => Ok(Parsed::Acked(Answer::InOrder)),
            },
            "pong" => Ok(Parsed::Heartbeat),
            "welcome" => Ok(Parsed::Info(format!(
                "welcome (connection {})",
                env.id.map(raw_text).unwrap_or_default()
            ))),
            "notice" => Ok(Parsed::Info(format!(
                "notice: {}",
                env.data.map(|d| d.get()).unwrap_or_default()
            ))),
            "error" => {
                let code = env.code.map(raw_text).unwrap_or_default();
                let why = env.data.map(raw_text).unwrap_or_default();
                let reason = format!("error {code}: {why}");
                // The welcome's connection id is not a request id: such an error
                // answers no request.
                Ok(Parsed::Refused(match request_id(&env) {
                    Some(id) => Refusal::of(Answer::Id(id), Vec::new(), reason),
                    None => Refusal::unattributed(reason),
                }))
            }
            other => Err(ParseError::Unknown(format!("type {other:?}"))),
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
                "REST response for unknown symbol {key}"
            )));
        };
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv,
        };
        let (path, _) = snapshot_path(key, self.depth);
        let path = path.split('?').next().unwrap_or_default().to_string();
        let failed = |why: String| format!("GET {path}: {why}");
        let snapshot = body.map_err(str::to_string).and_then(|body| {
            let a: wire::RestAnswer =
                serde_json::from_str(body).map_err(|e| format!("unusable answer: {e}"))?;
            if a.code != "200000" {
                return Err(format!(
                    "refused: code {}: {}",
                    a.code,
                    a.msg.unwrap_or_default()
                ));
            }
            let data = a.data.ok_or("unusable answer: no data")?;
            let s: wire::BookSnapshot =
                serde_json::from_str(data.get()).map_err(|e| format!("unusable answer: {e}"))?;
            let seq: u64 = s
                .sequence
                .parse()
                .map_err(|_| format!("unusable answer: sequence {:?}", s.sequence))?;
            let levels = |v: Vec<(tickbridge_schema::Dec, tickbridge_schema::Dec)>| {
                v.into_iter().map(|(p, q)| Level(p, q)).collect()
            };
            Ok(Snapshot {
                seq,
                stamp: Stamp {
                    ts_exchange: s.time.map(ms_to_ns),
                    ts_recv,
                },
                bids: levels(s.bids),
                asks: levels(s.asks),
            })
        });
        let need = match snapshot {
            Ok(s) => book.on_snapshot(s, out),
            Err(why) => book.on_snapshot_failed(stamp, &failed(why), out),
        };
        self.request_snapshot(key, need);
        Ok(Parsed::Data)
    }
}

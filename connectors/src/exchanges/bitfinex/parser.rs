//! The Bitfinex v2 frame parser: events classified (acks, refusals, info codes,
//! pongs), channel messages dispatched by the `chanId` their `subscribed` event bound,
//! the connection's `SEQ_ALL` sequence checked on every message, P0 books kept with
//! the text of their levels for the checksum.
//!
//! A live connection (a plan with symbols) yields records only for its own symbols;
//! a plan without symbols (recordings) takes every symbol.

use std::collections::{HashMap, HashSet};

use smol_str::SmolStr;
use tickbridge_schema::{Data, Dec, Level, Record, Side, Ticker, Trade};

use super::wire::{self, Event, Message};
use crate::book::resync::Resyncs;
use crate::book::text::{TextBook, TextSide};
use crate::book::{BookConfig, BookSync, Stamp};
use crate::checksum::crc32;
use crate::contract::PARSER_REQUEST_IDS;
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{dec, dec_opt};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};

/// Levels per side the checksum covers.
const CHECKSUM_LEVELS: usize = 25;

/// Names the level fields in errors.
const LEVEL_FIELDS: (&str, &str) = ("book.price", "book.amount");

/// What a channel id was bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trades,
    Ticker,
    Book,
    /// A channel tickbridge does not normalize (candles, status, ...).
    Other(&'static str),
}

#[derive(Debug, Clone)]
struct Chan {
    kind: Kind,
    native: SmolStr,
}

/// One symbol's book: the sync state, the text of its levels, its channel id.
struct BfxBook {
    text: TextBook,
    chan_id: Option<u64>,
}

/// The string the checksum is computed over: the best 25 bids and asks interleaved
/// `bidPrice:bidAmount:askPrice:askAmount:...`, ask amounts negative, a missing level
/// left out. `bids`/`asks` are `(price, |amount|)` texts best first.
pub fn book_checksum_string<'a>(
    bids: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
    asks: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
) -> String {
    let bids: Vec<_> = bids.take(CHECKSUM_LEVELS).collect();
    let asks: Vec<_> = asks.take(CHECKSUM_LEVELS).collect();
    let mut parts: Vec<String> = Vec::with_capacity(4 * CHECKSUM_LEVELS);
    for i in 0..bids.len().max(asks.len()) {
        if let Some((p, a)) = bids.get(i) {
            parts.push(p.to_string());
            parts.push(a.to_string());
        }
        if let Some((p, a)) = asks.get(i) {
            parts.push(p.to_string());
            parts.push(format!("-{a}"));
        }
    }
    parts.join(":")
}

fn checksum(book: &TextBook) -> i32 {
    crc32(
        book_checksum_string(
            book.top_bids(CHECKSUM_LEVELS),
            book.top_asks(CHECKSUM_LEVELS),
        )
        .as_bytes(),
    ) as i32
}

/// Parser state of one Bitfinex connection.
pub struct BitfinexParser {
    emit: Emitter,
    channels: ChannelSet,
    config: BookConfig,
    /// The `len` of book subscriptions (resubscriptions use it too).
    depth: usize,
    chans: HashMap<u64, Chan>,
    books: HashMap<SmolStr, BfxBook>,
    /// Book resyncs (request ids from [`PARSER_REQUEST_IDS`] on; Bitfinex echoes none).
    resyncs: Resyncs,
    /// Trades and ticker resubscriptions after maintenance, to send.
    pending: Vec<String>,
    /// Topics (`trades:tBTCUSD`) resubscribed after maintenance, whose `subscribed`
    /// answers are not plan acknowledgements.
    resubscribing: HashSet<String>,
    /// The last `SEQ_ALL` sequence number.
    last_seq: Option<u64>,
    /// Between info 20060 and 20061: no resubscription is sent.
    paused: bool,
    planned: Planned,
}

impl BitfinexParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        config: &BookConfig,
        depth: usize,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        BitfinexParser {
            emit: Emitter::new("bitfinex", symbols, fallback),
            channels,
            config: config.clone(),
            depth,
            chans: HashMap::new(),
            books: HashMap::new(),
            resyncs: Resyncs::new(std::time::Duration::from_secs(1)).first_id(PARSER_REQUEST_IDS),
            pending: Vec::new(),
            resubscribing: HashSet::new(),
            last_seq: None,
            paused: false,
            planned: Planned::new(symbols),
        }
    }

    /// The book sync of `native`, if the connection has one.
    pub fn book(&self, native: &str) -> Option<&BookSync> {
        self.books.get(native).map(|b| &b.text.sync)
    }

    /// Whether resubscriptions wait for the end of a maintenance.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    fn book_entry(&mut self, native: &str) -> &mut BfxBook {
        if !self.books.contains_key(native) {
            let symbol = self.emit.symbol(native);
            let sync = BookSync::new("bitfinex", symbol, &self.config);
            self.books.insert(
                SmolStr::new(native),
                BfxBook {
                    text: TextBook::new(sync),
                    chan_id: None,
                },
            );
        }
        self.books.get_mut(native).expect("inserted above")
    }

    /// A jump of the connection's sequence: a message of some channel was lost, so
    /// every synced book of the connection breaks and is resubscribed.
    fn sequence_break(&mut self, expected: u64, got: u64, stamp: Stamp, out: &mut Vec<Record>) {
        let mut natives: Vec<SmolStr> = self
            .books
            .iter()
            .filter(|(_, b)| b.text.sync.is_synced())
            .map(|(n, _)| n.clone())
            .collect();
        natives.sort();
        for native in natives {
            if let Some(book) = self.books.get_mut(&native) {
                book.text.resync(
                    &mut self.resyncs,
                    &native,
                    stamp,
                    (Some(expected), Some(got)),
                    "connection sequence number jumped (a message was lost)",
                    out,
                );
            }
        }
    }

    fn on_event(
        &mut self,
        text: &str,
        stamp: Stamp,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let e: Event = serde_json::from_str(text)?;
        let msg = e.msg.clone().unwrap_or_default();
        let code = e.code.map_or_else(String::new, |c| c.to_string());
        match e.event {
            "info" => Ok(self.on_info(&e, &msg, stamp, out)),
            "conf" => match e.status {
                Some("OK") => Ok(Parsed::Acked(Answer::Topic("conf".into()))),
                status => Ok(Parsed::Refused(Refusal::of(
                    Answer::Topic("conf".into()),
                    Vec::new(),
                    format!("conf refused ({}): {msg}", status.unwrap_or("no status")),
                ))),
            },
            "subscribed" => self.on_subscribed(&e),
            "unsubscribed" => {
                if let Some(id) = e.chan_id {
                    if let Some(chan) = self.chans.remove(&id) {
                        if let Some(book) = self.books.get_mut(&chan.native) {
                            if book.chan_id == Some(id) {
                                book.chan_id = None;
                            }
                        }
                    }
                }
                Ok(Parsed::Info(format!(
                    "unsubscribed channel {}",
                    e.chan_id.map_or("?".into(), |c| c.to_string())
                )))
            }
            "error" => Ok(self.on_error(&e, &code, &msg)),
            "pong" => Ok(Parsed::Heartbeat),
            other => Err(ParseError::Unknown(format!("event {other:?}"))),
        }
    }

    fn on_info(&mut self, e: &Event, msg: &str, stamp: Stamp, out: &mut Vec<Record>) -> Parsed {
        match e.code {
            None => {
                let status = e.platform.as_ref().map(|p| p.status);
                Parsed::Info(format!(
                    "welcome: version {}, platform {}",
                    e.version.map_or("?".into(), |v| v.to_string()),
                    match status {
                        Some(1) => "operative",
                        Some(0) => "in maintenance",
                        _ => "status unknown",
                    }
                ))
            }
            Some(20051) => Parsed::Reconnect(format!("info 20051: {msg}")),
            Some(20060) => {
                self.paused = true;
                Parsed::Info(format!("info 20060 (maintenance, pausing): {msg}"))
            }
            Some(20061) => {
                self.paused = false;
                self.resubscribe_all(stamp, out);
                Parsed::Info(format!(
                    "info 20061 (maintenance ended, resubscribing): {msg}"
                ))
            }
            Some(c) => Parsed::Info(format!("info {c}: {msg}")),
        }
    }

    /// After a maintenance: every channel unsubscribed and subscribed again; books
    /// through their resync (a gap first: data may have been missed).
    fn resubscribe_all(&mut self, stamp: Stamp, out: &mut Vec<Record>) {
        let mut chans: Vec<(u64, Chan)> = self.chans.iter().map(|(k, v)| (*k, v.clone())).collect();
        chans.sort_by_key(|(k, _)| *k);
        for (id, chan) in chans {
            match chan.kind {
                Kind::Book => {
                    let synced = self
                        .books
                        .get(&chan.native)
                        .is_some_and(|b| b.text.sync.is_synced());
                    match self.books.get_mut(&chan.native) {
                        Some(b) if synced => b.text.resync(
                            &mut self.resyncs,
                            &chan.native,
                            stamp,
                            (None, None),
                            "maintenance ended (info 20061): resubscribing",
                            out,
                        ),
                        _ => self.resyncs.request(&chan.native),
                    }
                }
                Kind::Trades | Kind::Ticker => {
                    let name = if chan.kind == Kind::Trades {
                        "trades"
                    } else {
                        "ticker"
                    };
                    self.pending.push(
                        serde_json::json!({"event": "unsubscribe", "chanId": id}).to_string(),
                    );
                    self.pending.push(super::subscribe(name, &chan.native));
                    self.resubscribing.insert(format!("{name}:{}", chan.native));
                }
                Kind::Other(_) => {}
            }
        }
    }

    fn on_subscribed(&mut self, e: &Event) -> Result<Parsed, ParseError> {
        let (Some(channel), Some(id)) = (e.channel, e.chan_id) else {
            return Err(ParseError::Invalid {
                context: "subscribed",
                detail: "no channel or chanId".into(),
            });
        };
        let native = SmolStr::new(e.symbol.unwrap_or_default());
        let kind = match channel {
            "trades" => Kind::Trades,
            "ticker" => Kind::Ticker,
            "book" if e.prec.is_none_or(|p| p.starts_with('P')) => Kind::Book,
            "book" => Kind::Other("raw book"),
            "candles" => Kind::Other("candles"),
            "status" => Kind::Other("status"),
            _ => Kind::Other("unknown channel"),
        };
        self.chans.insert(
            id,
            Chan {
                kind,
                native: native.clone(),
            },
        );
        let topic = format!("{channel}:{native}");
        if kind == Kind::Book {
            let resync = self.resyncs.pending(&native);
            self.book_entry(&native).chan_id = Some(id);
            if resync {
                return Ok(Parsed::Info(format!("resubscribed {topic} (channel {id})")));
            }
        }
        if self.resubscribing.remove(&topic) {
            return Ok(Parsed::Info(format!("resubscribed {topic} (channel {id})")));
        }
        Ok(Parsed::Acked(Answer::Topic(topic.into())))
    }

    fn on_error(&mut self, e: &Event, code: &str, msg: &str) -> Parsed {
        let reason = format!("error {code}: {msg}");
        if matches!(e.code, Some(10400) | Some(10401)) {
            // Unsubscription failed / not subscribed: answers our own resyncs.
            return Parsed::Info(reason);
        }
        let (Some(channel), Some(symbol)) = (e.channel, e.symbol) else {
            return Parsed::Refused(Refusal::unattributed(reason));
        };
        let topic = format!("{channel}:{symbol}");
        let ours = (channel == "book" && self.resyncs.pending(symbol))
            || self.resubscribing.remove(&topic);
        if ours {
            if channel == "book" && e.code != Some(10301) {
                // Asked again after the throttle interval.
                self.resyncs.done(symbol);
                self.resyncs.request(symbol);
            }
            return Parsed::Info(format!("resubscription of {topic}: {reason}"));
        }
        if e.code == Some(10301) {
            // Already subscribed: the subscription exists.
            return Parsed::Acked(Answer::Topic(topic.into()));
        }
        Parsed::Refused(Refusal::of(
            Answer::Topic(topic.into()),
            vec![SmolStr::new(symbol)],
            reason,
        ))
    }

    fn on_trade(
        &mut self,
        native: &str,
        m: &Message,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let payload = m
            .payload()
            .ok_or_else(|| ParseError::Malformed("te without a trade".into()))?;
        let f = wire::fields(payload, "trade")?;
        let id = wire::num(&f, 0, "trade.id")?;
        let mts = wire::num(&f, 1, "trade.mts")?;
        let amount = wire::num(&f, 2, "trade.amount")?;
        let price = wire::num(&f, 3, "trade.price")?;
        let (side, size) = signed(amount, "trade.amount")?;
        if size.is_zero() {
            return Err(ParseError::Invalid {
                context: "trade.amount",
                detail: "zero".into(),
            });
        }
        let ts_ex = mts.parse::<i64>().ok().map(crate::time::ms_to_ns);
        let trade = Trade {
            price: dec(price, "trade.price")?,
            size,
            side,
            trade_id: id.into(),
        };
        self.emit
            .push(out, native, ts_ex, ts, m.seq(), id, Data::Trade(trade));
        Ok(())
    }

    fn on_ticker(
        &mut self,
        native: &str,
        m: &Message,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let payload = m
            .payload()
            .ok_or_else(|| ParseError::Malformed("ticker without data".into()))?;
        let f = wire::fields(payload, "ticker")?;
        if f.len() < 10 {
            return Err(ParseError::Invalid {
                context: "ticker",
                detail: format!("{} fields, 10 expected", f.len()),
            });
        }
        let ticker = Ticker {
            last: dec_opt(wire::num_opt(&f, 6), "ticker.last_price")?,
            bid_price: dec_opt(wire::num_opt(&f, 0), "ticker.bid")?,
            // BID_SIZE / ASK_SIZE are sums of the 25 best levels, not the best size.
            bid_size: None,
            ask_price: dec_opt(wire::num_opt(&f, 2), "ticker.ask")?,
            ask_size: None,
            open_24h: None,
            high_24h: dec_opt(wire::num_opt(&f, 8), "ticker.high")?,
            low_24h: dec_opt(wire::num_opt(&f, 9), "ticker.low")?,
            volume_24h: dec_opt(wire::num_opt(&f, 7), "ticker.volume")?,
            quote_volume_24h: None,
        };
        let suffix = match m.seq() {
            Some(s) => format!("{s}.ch{}", m.chan_id),
            None => format!("t{ts}.ch{}", m.chan_id),
        };
        self.emit.push(
            out,
            native,
            None,
            ts,
            m.seq(),
            suffix,
            Data::Ticker(Box::new(ticker)),
        );
        Ok(())
    }

    fn on_book(
        &mut self,
        native: &str,
        m: &Message,
        stamp: Stamp,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let payload = m
            .payload()
            .ok_or_else(|| ParseError::Malformed("book without data".into()))?;
        let seq = m.seq();
        let first = out.len();
        if wire::is_snapshot(payload) {
            let levels: Vec<&serde_json::value::RawValue> = wire::fields(payload, "book snapshot")?;
            let book = self.book_entry(native);
            book.chan_id = Some(m.chan_id);
            book.text.clear();
            let mut bids = Vec::new();
            let mut asks = Vec::new();
            for l in levels {
                let f = wire::fields(l, "book level")?;
                match set_level(&mut book.text, &f)? {
                    (Side::Buy, level) => bids.push(level),
                    (Side::Sell, level) => asks.push(level),
                }
            }
            book.text.sync.snapshot(stamp, seq, bids, asks, None, out);
            self.resyncs.done(native);
        } else {
            let book = self.book_entry(native);
            if !book.text.sync.is_synced() {
                return Ok(()); // waiting for the snapshot of a resubscription
            }
            let f = wire::fields(payload, "book level")?;
            let (side, level) = set_level(&mut book.text, &f)?;
            let (bids, asks) = match side {
                Side::Buy => (vec![level], Vec::new()),
                Side::Sell => (Vec::new(), vec![level]),
            };
            book.text.sync.apply(&bids, &asks);
            book.text
                .sync
                .publish_update(stamp, seq, bids, asks, None, out);
        }
        self.finish_book(native, m.chan_id, stamp, first, out);
        Ok(())
    }

    /// The bbo derived from the book, the chanId in the ids, and book records kept
    /// only when the connection asked for books (bbo alone also rides on the book).
    fn finish_book(
        &mut self,
        native: &str,
        chan_id: u64,
        stamp: Stamp,
        first: usize,
        out: &mut Vec<Record>,
    ) {
        if self.channels.contains(Channel::Bbo) {
            if let Some(b) = self.books.get_mut(native) {
                if let Some(r) = b.text.sync.derived_bbo(stamp) {
                    out.push(r);
                }
            }
        }
        if !self.channels.contains(Channel::Book) {
            let tail = out.split_off(first);
            out.extend(
                tail.into_iter()
                    .filter(|r| !matches!(r.data, Data::Book(_))),
            );
        }
        for r in &mut out[first..] {
            r.id.push_str(&format!(".ch{chan_id}"));
        }
    }

    fn on_checksum(
        &mut self,
        native: &str,
        m: &Message,
        stamp: Stamp,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let claimed = m
            .payload()
            .and_then(|p| p.get().parse::<i64>().ok())
            .ok_or_else(|| ParseError::Invalid {
                context: "cs",
                detail: "checksum is not an integer".into(),
            })?;
        let first = out.len();
        let Some(book) = self.books.get_mut(native) else {
            return Ok(());
        };
        if !book.text.sync.is_synced() {
            return Ok(());
        }
        let computed = checksum(&book.text);
        if computed as i64 != claimed {
            book.text.resync(
                &mut self.resyncs,
                native,
                stamp,
                (
                    Some(claimed as i32 as u32 as u64),
                    Some(computed as u32 as u64),
                ),
                "checksum mismatch",
                out,
            );
            for r in &mut out[first..] {
                r.id.push_str(&format!(".ch{}", m.chan_id));
            }
        }
        Ok(())
    }

    /// The resubscription frames due now: maintenance resubscriptions, then book
    /// resyncs (unsubscribe by `chanId`, subscribe again); none while paused.
    pub fn take_resubscribe(&mut self, now: i64) -> Vec<String> {
        if self.paused {
            return Vec::new();
        }
        let mut frames = std::mem::take(&mut self.pending);
        let books = &self.books;
        let depth = self.depth;
        frames.extend(self.resyncs.frames(now, |native, op, _id| {
            match op {
                "unsubscribe" => books.get(native).and_then(|b| b.chan_id).map(|id| {
                    serde_json::json!({"event": "unsubscribe", "chanId": id}).to_string()
                }),
                _ => Some(super::book_subscribe(native, depth)),
            }
        }));
        frames
    }
}

/// Side and absolute size of a signed amount's text (`-0.5` → sell, `0.5`).
fn signed(amount: &str, context: &'static str) -> Result<(Side, Dec), ParseError> {
    match amount.strip_prefix('-') {
        Some(abs) => Ok((Side::Sell, dec(abs, context)?)),
        None => Ok((Side::Buy, dec(amount, context)?)),
    }
}

/// Applies one P0 level `[PRICE, COUNT, AMOUNT]` to the text book and returns its
/// side and the level for the record (size 0 = deleted).
fn set_level(
    book: &mut TextBook,
    f: &[&serde_json::value::RawValue],
) -> Result<(Side, Level), ParseError> {
    let price = wire::num(f, 0, "book.price")?;
    let count = wire::num(f, 1, "book.count")?;
    let amount = wire::num(f, 2, "book.amount")?;
    let count: u64 = count.parse().map_err(|_| ParseError::Invalid {
        context: "book.count",
        detail: format!("{count:?}"),
    })?;
    let (side, abs) = match amount.strip_prefix('-') {
        Some(abs) => (Side::Sell, abs),
        None => (Side::Buy, amount),
    };
    let size = if count == 0 { "0" } else { abs };
    let map: &mut TextSide = match side {
        Side::Buy => &mut book.bids,
        Side::Sell => &mut book.asks,
    };
    let level = TextBook::set(map, price, size, LEVEL_FIELDS)?;
    if count > 0 && level.1.is_zero() {
        return Err(ParseError::Invalid {
            context: "book.amount",
            detail: "zero amount on a level with orders".into(),
        });
    }
    Ok((side, level))
}

impl FrameParser for BitfinexParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv,
        };
        if text.trim_start().starts_with('{') {
            return self.on_event(text, stamp, out);
        }
        let m = Message::parse(text)?;
        if let Some(seq) = m.seq() {
            if let Some(last) = self.last_seq {
                if seq != last.wrapping_add(1) {
                    self.sequence_break(last.wrapping_add(1), seq, stamp, out);
                }
            }
            self.last_seq = Some(seq);
        }
        if m.tag() == Some("hb") {
            return Ok(Parsed::Heartbeat);
        }
        let Some(chan) = self.chans.get(&m.chan_id).cloned() else {
            return Ok(Parsed::Ignored("a channel id no subscription bound (yet)"));
        };
        if !self.planned.allows(&chan.native) {
            return Ok(NOT_PLANNED);
        }
        match (chan.kind, m.tag()) {
            (Kind::Trades, Some("te")) => self.on_trade(&chan.native, &m, ts_recv, out)?,
            (Kind::Trades, Some("tu")) => {
                return Ok(Parsed::Ignored("tu (the database echo of a te trade)"))
            }
            (Kind::Trades, Some("fte" | "ftu")) => return Ok(Parsed::Ignored("funding trades")),
            (Kind::Trades, None) => {
                if m.payload().is_some_and(wire::is_snapshot) {
                    return Ok(Parsed::Ignored(
                        "trades snapshot (trades before the subscription)",
                    ));
                }
                return Err(ParseError::Unknown("trades message without te/tu".into()));
            }
            (Kind::Ticker, None) => self.on_ticker(&chan.native, &m, ts_recv, out)?,
            (Kind::Book, None) => self.on_book(&chan.native, &m, stamp, out)?,
            (Kind::Book, Some("cs")) => self.on_checksum(&chan.native, &m, stamp, out)?,
            (Kind::Other(name), _) => return Ok(Parsed::Ignored(name)),
            (_, Some(tag)) => return Err(ParseError::Unknown(format!("message type {tag:?}"))),
        }
        Ok(Parsed::Data)
    }

    fn resubscribe(&mut self) -> Vec<String> {
        self.take_resubscribe(self.resyncs.last_ts())
    }
}

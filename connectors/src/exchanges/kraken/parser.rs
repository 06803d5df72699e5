//! The Kraken v2 frame parser: trades, tickers (→ `ticker` and `bbo`), books kept in
//! sync with the CRC32 checksum, and every control frame (status, heartbeat, pong,
//! subscribe acks and refusals).
//!
//! A live connection (a plan with symbols) yields records only for its own symbols:
//! items of another symbol are skipped, and a frame with nothing but such items is
//! [`Parsed::Ignored`]. A plan without symbols (recordings) takes every symbol.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Record, Ticker, Trade};

use super::wire;
use crate::book::resync::Resyncs;
use crate::book::text::{LevelText, TextBook};
use crate::book::{tag_book_ids, BookConfig, BookSync, Stamp};
use crate::checksum::{crc32, fnv1a};
use crate::contract::{Answer, FrameParser, ParseError, Parsed, Refusal};
use crate::contract::{Channel, ChannelSet};
use crate::convert::{dec_raw, id_text, raw_text, side};
use crate::envelope::Emitter;
use crate::symbols::{Admitted, Planned, SymbolInfo, NOT_PLANNED};
use crate::time::parse_rfc3339_utc;

/// Request ids of resubscriptions start here (plan requests count up from 1).
const RESYNC_REQ_ID: u64 = 1_000_000;
/// Levels per side covered by the checksum, whatever the subscribed depth.
const CHECKSUM_LEVELS: usize = 10;

/// One side of a book as the exchange wrote it: price → (price text, qty text).
/// One symbol's book with the text of its levels (the checksum is over the text).
type KrakenBook = TextBook;

/// The text of levels as sent (JSON numbers, kept as written: the checksum is over
/// the text).
fn texts<'s, 't>(levels: &'s [wire::Level<'t>]) -> impl Iterator<Item = LevelText<'t>> + 's {
    levels
        .iter()
        .map(|l| Ok((raw_text(l.price), raw_text(l.qty))))
}

/// Names Kraken's level fields in errors.
const LEVEL_FIELDS: (&str, &str) = ("book.price", "book.qty");

/// The checksum of a book as it stands.
fn book_checksum(b: &KrakenBook) -> u32 {
    checksum(b.top_asks(CHECKSUM_LEVELS), b.top_bids(CHECKSUM_LEVELS))
}

/// Kraken's v2 book checksum: for the top 10 asks (low → high) then the top 10 bids
/// (high → low), each level's price and qty text with the `.` removed and leading
/// zeros stripped, concatenated; CRC32 of the whole string.
pub fn checksum<'a>(
    asks: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
    bids: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
) -> u32 {
    let mut s = String::with_capacity(512);
    for (price, qty) in asks.chain(bids) {
        push_digits(&mut s, price);
        push_digits(&mut s, qty);
    }
    crc32(s.as_bytes())
}

fn push_digits(s: &mut String, text: &str) {
    let start = s.len();
    for c in text.chars().filter(|c| *c != '.') {
        if s.len() == start && c == '0' {
            continue;
        }
        s.push(c);
    }
}

/// Parser state of one Kraken connection.
pub struct KrakenParser {
    emit: Emitter,
    channels: ChannelSet,
    config: BookConfig,
    /// Subscribed book depth per native symbol (from the plan, confirmed by acks).
    depth: HashMap<SmolStr, usize>,
    pub(super) default_depth: usize,
    books: HashMap<SmolStr, KrakenBook>,
    /// Book resyncs (request ids from [`RESYNC_REQ_ID`] on).
    resyncs: Resyncs,
    /// The planned native symbols; empty = every symbol is taken (recordings).
    planned: Planned,
}

impl KrakenParser {
    /// `depth`: the subscribed book depth; `config`: the source's book options.
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
        depth: usize,
        config: &BookConfig,
    ) -> Self {
        KrakenParser {
            emit: Emitter::new("kraken", symbols, fallback),
            channels,
            config: config.clone(),
            depth: HashMap::new(),
            default_depth: depth,
            books: HashMap::new(),
            resyncs: Resyncs::new(std::time::Duration::from_secs(2)).first_id(RESYNC_REQ_ID),
            planned: Planned::new(symbols),
        }
    }

    fn depth_of(&self, native: &str) -> usize {
        self.depth
            .get(native)
            .copied()
            .unwrap_or(self.default_depth)
    }

    /// The frames that resubscribe the books of the symbols due for a resync.
    pub fn take_resubscribe(&mut self, now: i64) -> Vec<String> {
        let (depths, default_depth) = (&self.depth, self.default_depth);
        self.resyncs.frames(now, |native, method, id| {
            let depth = depths.get(native).copied().unwrap_or(default_depth);
            let mut params = serde_json::json!({
                "channel": "book",
                "symbol": [native.as_str()],
                "depth": depth,
            });
            if method == "subscribe" {
                params["snapshot"] = true.into();
            }
            Some(serde_json::json!({"method": method, "params": params, "req_id": id}).to_string())
        })
    }

    fn on_trade(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Admitted, ParseError> {
        let trades: Vec<wire::Trade> = serde_json::from_str(data)?;
        let mut items = Admitted::default();
        for t in trades {
            if !self.planned.admit(t.symbol, &mut items) {
                continue;
            }
            let trade = Trade {
                price: dec_raw(t.price, "trade.price")?,
                size: dec_raw(t.qty, "trade.qty")?,
                side: side(t.side, "trade.side")?,
                trade_id: id_text(t.trade_id),
            };
            self.emit.push(
                out,
                t.symbol,
                parse_rfc3339_utc(t.timestamp),
                ts,
                Some(t.trade_id),
                t.trade_id,
                Data::Trade(trade),
            );
        }
        Ok(items)
    }

    fn on_ticker(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Admitted, ParseError> {
        let tickers: Vec<wire::Ticker> = serde_json::from_str(data)?;
        let mut items = Admitted::default();
        for t in tickers {
            if !self.planned.admit(t.symbol, &mut items) {
                continue;
            }
            let opt =
                |r: Option<&serde_json::value::RawValue>, c| r.map(|r| dec_raw(r, c)).transpose();
            let bid_price = dec_raw(t.bid, "ticker.bid")?;
            let bid_size = dec_raw(t.bid_qty, "ticker.bid_qty")?;
            let ask_price = dec_raw(t.ask, "ticker.ask")?;
            let ask_size = dec_raw(t.ask_qty, "ticker.ask_qty")?;
            let ts_ex = t.timestamp.and_then(parse_rfc3339_utc);
            // No sequence on tickers: the exchange timestamp names the event, or (when
            // a snapshot lacks it) a hash of the element's content.
            let suffix = match ts_ex {
                Some(t) => format!("t{t}"),
                None => format!("h{:016x}", fnv1a(data)),
            };
            if self.channels.contains(Channel::Bbo) {
                let bbo = Bbo {
                    bid_price: Some(bid_price.clone()),
                    bid_size: Some(bid_size.clone()),
                    ask_price: Some(ask_price.clone()),
                    ask_size: Some(ask_size.clone()),
                };
                self.emit
                    .push(out, t.symbol, ts_ex, ts, None, &suffix, Data::Bbo(bbo));
            }
            if self.channels.contains(Channel::Ticker) {
                let ticker = Ticker {
                    last: opt(t.last, "ticker.last")?,
                    bid_price: Some(bid_price),
                    bid_size: Some(bid_size),
                    ask_price: Some(ask_price),
                    ask_size: Some(ask_size),
                    open_24h: None,
                    high_24h: opt(t.high, "ticker.high")?,
                    low_24h: opt(t.low, "ticker.low")?,
                    volume_24h: opt(t.volume, "ticker.volume")?,
                    quote_volume_24h: None,
                };
                self.emit.push(
                    out,
                    t.symbol,
                    ts_ex,
                    ts,
                    None,
                    &suffix,
                    Data::Ticker(Box::new(ticker)),
                );
            }
        }
        Ok(items)
    }

    fn on_book(
        &mut self,
        snapshot: bool,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Admitted, ParseError> {
        let books: Vec<wire::Book> = serde_json::from_str(data)?;
        let mut items = Admitted::default();
        for b in books {
            if !self.planned.admit(b.symbol, &mut items) {
                continue;
            }
            let native = SmolStr::new(b.symbol);
            let depth = self.depth_of(&native);
            let info = self.emit.symbol(&native);
            let config = &self.config;
            let book = self
                .books
                .entry(native.clone())
                .or_insert_with(|| TextBook::new(BookSync::new("kraken", info, config)));
            let stamp = Stamp {
                ts_exchange: b.timestamp.and_then(parse_rfc3339_utc),
                ts_recv: ts,
            };
            if snapshot {
                book.clear();
                let (bids, asks) = book.set_levels(texts(&b.bids), texts(&b.asks), LEVEL_FIELDS)?;
                let computed = book_checksum(book);
                if computed != b.checksum {
                    book.resync(
                        &mut self.resyncs,
                        &native,
                        stamp,
                        (Some(b.checksum as u64), Some(computed as u64)),
                        "checksum mismatch on the book snapshot",
                        out,
                    );
                    continue;
                }
                self.resyncs.done(&native);
                let first = out.len();
                book.sync.snapshot(stamp, None, bids, asks, Some(true), out);
                book.truncate(depth);
                rename_ids(&mut out[first..], b.checksum, stamp, data);
                continue;
            }
            if !book.sync.is_synced() {
                // A broken chain: nothing is published until the fresh snapshot.
                continue;
            }
            let (mut bids, mut asks) =
                book.set_levels(texts(&b.bids), texts(&b.asks), LEVEL_FIELDS)?;
            book.sync.apply(&bids, &asks);
            let (dropped_bids, dropped_asks) = book.truncate(depth);
            bids.extend(dropped_bids);
            asks.extend(dropped_asks);
            let computed = book_checksum(book);
            if computed != b.checksum {
                book.resync(
                    &mut self.resyncs,
                    &native,
                    stamp,
                    (Some(b.checksum as u64), Some(computed as u64)),
                    "checksum mismatch after applying an update",
                    out,
                );
                continue;
            }
            let first = out.len();
            book.sync
                .publish_update(stamp, None, bids, asks, Some(true), out);
            rename_ids(&mut out[first..], b.checksum, stamp, data);
        }
        Ok(items)
    }

    fn on_method(&mut self, f: &wire::Frame) -> Result<Parsed, ParseError> {
        let method = f.method.unwrap_or_default();
        let req = f.req_id.unwrap_or(0);
        if f.success == Some(false) || f.error.is_some() {
            let reason = format!(
                "{method} request {req}: {}",
                f.error.as_deref().unwrap_or("refused")
            );
            if method != "subscribe" {
                return Ok(Parsed::Refused(Refusal::unattributed(reason)));
            }
            // Kraken refuses per symbol, each one an answer of its request.
            let symbols = f.symbol.iter().map(SmolStr::new).collect();
            let answer = (req < RESYNC_REQ_ID).then_some(Answer::Id(req));
            return Ok(Parsed::Refused(Refusal {
                answer,
                symbols,
                reason,
            }));
        }
        match method {
            "pong" => Ok(Parsed::Heartbeat),
            "subscribe" | "unsubscribe" => {
                let result: Option<wire::SubscribeResult> = f
                    .result
                    .map(|r| serde_json::from_str(r.get()))
                    .transpose()?;
                if let Some(r) = &result {
                    if let (Some(symbol), Some(depth), "subscribe", "book") =
                        (&r.symbol, r.depth, method, r.channel.as_str())
                    {
                        self.depth.insert(SmolStr::new(symbol), depth);
                    }
                }
                let what = result
                    .map(|r| format!("{} {}", r.channel, r.symbol.unwrap_or_default()))
                    .unwrap_or_default();
                if method == "unsubscribe" || req >= RESYNC_REQ_ID {
                    return Ok(Parsed::Info(format!("{method} {what} (resync)")));
                }
                // One acknowledgement per symbol, each an answer of its request.
                Ok(Parsed::Acked(Answer::Id(req)))
            }
            other => Err(ParseError::Unknown(format!("method {other:?}"))),
        }
    }
}

/// Book records of Kraken carry no sequence: their ids (`...book.t<ts>`) get the
/// checksum appended, so two distinct updates with the same timestamp never share an id.
///
/// A snapshot without an exchange timestamp would otherwise be named by its receive
/// time, which differs on every replay: it is named by a hash of its content instead
/// (`stamp` is the one the records were built with).
fn rename_ids(records: &mut [Record], checksum: u32, stamp: Stamp, content: &str) {
    let by_recv = stamp.ts_exchange.is_none();
    let recv = stamp.ts_recv.to_string();
    let hash = format!("h{:016x}", fnv1a(content));
    for r in records.iter_mut() {
        if by_recv {
            // `...book.snap.t<ts_recv>` and `...status.resynced.<ts_recv>`.
            if let Some(at) = r.id.rfind(recv.as_str()) {
                let start = if r.id[..at].ends_with('t') {
                    at - 1
                } else {
                    at
                };
                r.id.replace_range(start.., &hash);
            }
        }
    }
    tag_book_ids(records, checksum);
}

impl FrameParser for KrakenParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        let f: wire::Frame = serde_json::from_str(text)?;
        if let Some(channel) = f.channel {
            let data = f.data.map(|d| d.get()).unwrap_or("[]");
            let snapshot = match f.kind {
                Some("snapshot") => true,
                Some("update") | None => false,
                Some(other) => {
                    return Err(ParseError::Unknown(format!("{channel} type {other:?}")))
                }
            };
            match channel {
                "heartbeat" => return Ok(Parsed::Heartbeat),
                "status" => {
                    let s: Vec<wire::Status> = serde_json::from_str(data)?;
                    let s = s.first().map(|s| {
                        format!("system {} {}", s.system, s.version.as_deref().unwrap_or(""))
                    });
                    return Ok(Parsed::Info(s.unwrap_or_else(|| "status".into())));
                }
                "trade" | "ticker" | "book" => {
                    let items = match channel {
                        "trade" => self.on_trade(data, ts_recv, out)?,
                        "ticker" => self.on_ticker(data, ts_recv, out)?,
                        _ => self.on_book(snapshot, data, ts_recv, out)?,
                    };
                    if items.none_planned() {
                        return Ok(NOT_PLANNED);
                    }
                }
                "ohlc" => return Ok(Parsed::Ignored("ohlc")),
                "instrument" => return Ok(Parsed::Ignored("instrument")),
                "level3" => return Ok(Parsed::Ignored("level3")),
                other => return Err(ParseError::Unknown(format!("channel {other:?}"))),
            }
            return Ok(Parsed::Data);
        }
        if f.method.is_some() {
            return self.on_method(&f);
        }
        if f.error.is_some() {
            // `{"error":"Exceeded msg rate"}` and other connection-level errors.
            return Ok(Parsed::Refused(Refusal::unattributed(
                f.error.unwrap_or_default(),
            )));
        }
        Err(ParseError::Unknown(format!(
            "frame {}",
            crate::exchanges::binance::parser_preview(text)
        )))
    }

    fn resubscribe(&mut self) -> Vec<String> {
        self.take_resubscribe(self.resyncs.last_ts())
    }
}

#[cfg(test)]
mod planned_tests {
    use super::*;
    use crate::exchanges::kraken::Kraken;
    use crate::exchanges::testing;
    use tickbridge_schema::Market;

    fn parser(symbols: &[&str]) -> KrakenParser {
        Kraken.new_parser(&testing::frames_plan(&Kraken, Market::Spot, symbols))
    }

    fn trade(symbol: &str, id: u64) -> String {
        format!(
            r#"{{"symbol":"{symbol}","side":"sell","price":45285.2,"qty":0.001,"ord_type":"market","trade_id":{id},"timestamp":"2023-09-25T07:48:36.925533Z"}}"#
        )
    }

    fn frame(channel: &str, items: &[String]) -> String {
        format!(
            r#"{{"channel":"{channel}","type":"update","data":[{}]}}"#,
            items.join(",")
        )
    }

    #[test]
    fn items_of_symbols_the_plan_does_not_name_are_skipped_and_such_frames_ignored() {
        let mut p = parser(&["BTC-USD"]);
        let mut out = Vec::new();
        let ticker = r#"{"symbol":"ETH/USD","bid":0.1,"bid_qty":740.0,"ask":0.2,"ask_qty":1.0,"last":0.1,"volume":9.0,"vwap":0.1,"low":0.09,"high":0.2,"change":0.0,"change_pct":0.0,"timestamp":"2023-09-25T09:04:31.742648Z"}"#;
        let book = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"ETH/USD","bids":[],"asks":[],"checksum":0}]}"#;
        for f in [
            frame("trade", &[trade("ETH/USD", 1)]),
            frame("ticker", &[ticker.to_string()]),
            book.to_string(),
        ] {
            assert_eq!(p.parse(&f, 9, &mut out), Ok(NOT_PLANNED), "{f}");
        }
        assert!(out.is_empty() && p.books.is_empty() && p.resubscribe().is_empty());
        // Mixed: only ours.
        let mixed = frame("trade", &[trade("ETH/USD", 2), trade("BTC/USD", 3)]);
        assert_eq!(p.parse(&mixed, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].native, "BTC/USD");
        // An empty update is data as before; control frames are untouched.
        assert_eq!(p.parse(&frame("trade", &[]), 9, &mut out), Ok(Parsed::Data));
        let hb = r#"{"channel":"heartbeat"}"#;
        assert_eq!(p.parse(hb, 9, &mut out), Ok(Parsed::Heartbeat));
    }

    #[test]
    fn without_planned_symbols_every_symbol_is_taken() {
        let mut p = parser(&[]);
        let mut out = Vec::new();
        let f = frame("trade", &[trade("ETH/USD", 1), trade("SOL/EUR", 2)]);
        assert_eq!(p.parse(&f, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 2);
    }
}

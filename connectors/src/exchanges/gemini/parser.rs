//! The Gemini market data v2 parser.
//!
//! A live connection (a plan with symbols) yields records only for its own symbols: a
//! frame of another symbol is [`NOT_PLANNED`]. A plan without symbols (recordings)
//! takes every symbol.

use std::collections::{HashMap, HashSet};

use smol_str::SmolStr;
use tickbridge_schema::{Data, Level, Record, Trade};

use super::wire;
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{id_text, side};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// Parser state of one Gemini connection.
pub struct GeminiParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, BookSync>,
    config: BookConfig,
    /// Symbols whose initial `l2_updates` confirmed the subscription.
    confirmed: HashSet<SmolStr>,
    /// The last `socket_sequence` seen on this connection.
    socket_seq: Option<u64>,
    resyncs: Resyncs,
}

impl GeminiParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        GeminiParser {
            channels,
            emit: Emitter::new("gemini", symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            config: books.clone(),
            confirmed: HashSet::new(),
            socket_seq: None,
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)),
        }
    }

    /// The book state of `native`, once its initial `l2_updates` arrived.
    pub fn book(&self, native: &str) -> Option<&BookSync> {
        self.books.get(native)
    }

    /// Checks `socket_sequence`: a jump breaks every book of the connection.
    fn check_socket_seq(&mut self, got: u64, ts: i64, out: &mut Vec<Record>) {
        let prev = self.socket_seq.replace(got);
        let Some(prev) = prev else { return };
        let expected = prev.wrapping_add(1);
        if got == expected {
            return;
        }
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv: ts,
        };
        let mut natives: Vec<SmolStr> = self.books.keys().cloned().collect();
        natives.sort();
        for native in natives {
            if let Some(book) = self.books.get_mut(&native) {
                book.gap(
                    stamp,
                    Some(expected),
                    Some(got),
                    "socket_sequence jumped: frames of the connection were lost",
                    out,
                );
            }
            self.resyncs.request(&native);
        }
    }

    fn levels(changes: Vec<wire::Change<'_>>) -> Result<(Vec<Level>, Vec<Level>), ParseError> {
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        for (s, price, size) in changes {
            match s {
                "buy" => bids.push(Level(price, size)),
                "sell" => asks.push(Level(price, size)),
                other => {
                    return Err(ParseError::Invalid {
                        context: "l2_updates side",
                        detail: format!("{other:?}"),
                    })
                }
            }
        }
        Ok((bids, asks))
    }

    fn on_l2(
        &mut self,
        native: &str,
        f: wire::Frame<'_>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let changes = f
            .changes
            .ok_or_else(|| ParseError::Malformed("l2_updates without changes".into()))?;
        let changes: Vec<wire::Change> = serde_json::from_str(changes.get())?;
        let (bids, asks) = Self::levels(changes)?;
        let initial = f.trades.is_some() || f.auction_events.is_some();
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv: ts,
        };
        let book = match self.books.get_mut(native) {
            Some(b) => b,
            None => {
                let symbol = self.emit.symbol(native);
                self.books
                    .entry(SmolStr::new(native))
                    .or_insert_with(|| BookSync::new("gemini", symbol, &self.config))
            }
        };
        let mut records = Vec::new();
        if initial {
            book.snapshot(stamp, None, bids, asks, None, &mut records);
            self.resyncs.done(native);
        } else {
            book.update(stamp, None, bids, asks, None, &mut records);
        }
        if !self.channels.contains(Channel::Book) {
            records.retain(|r| !matches!(r.data, Data::Book(_)));
        }
        out.append(&mut records);
        if self.channels.contains(Channel::Bbo) {
            if let Some(r) = book.derived_bbo(stamp) {
                out.push(r);
            }
        }
        if initial && self.confirmed.insert(SmolStr::new(native)) {
            return Ok(Parsed::Acked(Answer::Topic(super::topic_name(native))));
        }
        Ok(Parsed::Data)
    }

    fn on_trade(
        &mut self,
        native: &str,
        f: wire::Frame<'_>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let missing = |what: &'static str| ParseError::Invalid {
            context: what,
            detail: "missing".into(),
        };
        let id = f.tid.or(f.event_id).ok_or_else(|| missing("trade.tid"))?;
        let price = f.price.ok_or_else(|| missing("trade.price"))?;
        let size = f.quantity.ok_or_else(|| missing("trade.quantity"))?;
        let taker = side(f.side.ok_or_else(|| missing("trade.side"))?, "trade.side")?;
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Ignored("trade without the trade channel"));
        }
        let trade = Trade {
            price,
            size,
            side: taker,
            trade_id: id_text(id),
        };
        let ts_ex = f.timestamp.map(ms_to_ns);
        self.emit
            .push(out, native, ts_ex, ts, None, id, Data::Trade(trade));
        Ok(Parsed::Data)
    }

    fn refusal(f: &wire::Frame<'_>) -> Parsed {
        let reason = match (&f.reason, &f.message) {
            (Some(r), Some(m)) => format!("{r}: {m}"),
            (Some(r), None) => r.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) => "error".to_string(),
        };
        let symbols = f.symbol.map(|s| vec![SmolStr::new(s)]).unwrap_or_default();
        Parsed::Refused(Refusal {
            answer: None,
            symbols,
            reason: format!("gemini error: {reason}"),
        })
    }
}

impl FrameParser for GeminiParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        let f: wire::Frame = serde_json::from_str(text)?;
        if f.result == Some("error") || f.kind == Some("error") {
            return Ok(Self::refusal(&f));
        }
        if let Some(seq) = f.socket_sequence {
            self.check_socket_seq(seq, ts_recv, out);
        }
        let kind = f
            .kind
            .ok_or_else(|| ParseError::Malformed("frame without type".into()))?;
        match kind {
            "heartbeat" => Ok(Parsed::Heartbeat),
            "l2_updates" | "trade" => {
                let native = f
                    .symbol
                    .ok_or_else(|| ParseError::Malformed(format!("{kind} without symbol")))?;
                if !self.planned.allows(native) {
                    return Ok(NOT_PLANNED);
                }
                if kind == "trade" {
                    self.on_trade(native, f, ts_recv, out)
                } else {
                    self.on_l2(native, f, ts_recv, out)
                }
            }
            k if k.starts_with("candles_") => Ok(Parsed::Ignored("candles")),
            "auction_open" | "auction_indicative" | "auction_result" | "auction" => {
                Ok(Parsed::Ignored("auction"))
            }
            "mark_price_updates" | "funding_amount_updates" => {
                Ok(Parsed::Ignored("perpetual feeds"))
            }
            other => Err(ParseError::Unknown(format!("type {other:?}"))),
        }
    }

    fn resubscribe(&mut self) -> Vec<String> {
        let now = self.resyncs.last_ts();
        self.resyncs
            .frames(now, |native, op, _id| Some(super::l2_frame(op, &[native])))
    }
}

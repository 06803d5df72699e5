//! The Upbit WebSocket parser.
//!
//! A live connection (a plan with symbols) yields records only for its own pairs: a
//! frame of another pair is [`NOT_PLANNED`]. A plan without symbols (recordings) takes
//! every pair.
//!
//! Upbit sends no subscribe acknowledgement: the request is answered by data, or by an
//! `{"error":..}` frame. On a connection with a request, the first data frame
//! therefore confirms it (`Acked(InOrder)`, its records appended as usual) and an error
//! before any data refuses it; an error later is reported for the whole connection.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Level, Record, Side, Ticker, Trade};

use super::wire;
use crate::book::{crossed, tag_book_ids, BookConfig, BookSync, Stamp};
use crate::checksum::crc32;
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::dec_raw;
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// One pair's book: every `orderbook` message is a full snapshot of it.
struct PairBook {
    sync: BookSync,
    /// `timestamp` (ms) of the last book published.
    last: Option<u64>,
}

/// Parser state of one Upbit connection.
pub struct UpbitParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, PairBook>,
    config: BookConfig,
    /// The connection's request is not answered yet (no data, no error).
    awaiting: bool,
}

fn taker_side(ask_bid: &str) -> Result<Side, ParseError> {
    match ask_bid {
        "ASK" => Ok(Side::Sell),
        "BID" => Ok(Side::Buy),
        other => Err(ParseError::Invalid {
            context: "trade.ask_bid",
            detail: format!("{other:?}"),
        }),
    }
}

impl UpbitParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        awaiting: bool,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        UpbitParser {
            channels,
            emit: Emitter::new("upbit", symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            config: books.clone(),
            awaiting,
        }
    }

    /// The book state of `native`, once one of its orderbook messages arrived.
    pub fn book(&self, native: &str) -> Option<&BookSync> {
        self.books.get(native).map(|b| &b.sync)
    }

    fn on_trade(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Trade = serde_json::from_str(text)?;
        if !self.planned.allows(t.code) {
            return Ok(NOT_PLANNED);
        }
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Ignored("trade without the trade channel"));
        }
        let trade = Trade {
            price: dec_raw(t.trade_price, "trade.trade_price")?,
            size: dec_raw(t.trade_volume, "trade.trade_volume")?,
            side: taker_side(t.ask_bid)?,
            trade_id: t.sequential_id.to_string().into(),
        };
        self.emit.push(
            out,
            t.code,
            Some(ms_to_ns(t.trade_timestamp)),
            ts,
            None,
            t.sequential_id,
            Data::Trade(trade),
        );
        Ok(Parsed::Data)
    }

    fn on_orderbook(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let b: wire::Orderbook = serde_json::from_str(text)?;
        if !self.planned.allows(b.code) {
            return Ok(NOT_PLANNED);
        }
        let want_book = self.channels.contains(Channel::Book);
        let want_bbo = self.channels.contains(Channel::Bbo);
        if !want_book && !want_bbo {
            return Ok(Parsed::Ignored("orderbook without the book or bbo channel"));
        }
        let mut bids = Vec::with_capacity(b.orderbook_units.len());
        let mut asks = Vec::with_capacity(b.orderbook_units.len());
        for u in &b.orderbook_units {
            bids.push(Level(
                dec_raw(u.bid_price, "orderbook.bid_price")?,
                dec_raw(u.bid_size, "orderbook.bid_size")?,
            ));
            asks.push(Level(
                dec_raw(u.ask_price, "orderbook.ask_price")?,
                dec_raw(u.ask_size, "orderbook.ask_size")?,
            ));
        }
        let ms = b.timestamp;
        let stamp = Stamp {
            ts_exchange: Some(ms_to_ns(ms as i64)),
            ts_recv: ts,
        };
        // Two books of one millisecond are told apart by the frame's checksum.
        let tag = crc32(text.as_bytes());
        if want_bbo {
            let best = |side: &[Level]| {
                side.iter()
                    .find(|l| !l.1.is_zero())
                    .map(|l| (Some(l.0.clone()), Some(l.1.clone())))
                    .unwrap_or((None, None))
            };
            let (bid_price, bid_size) = best(&bids);
            let (ask_price, ask_size) = best(&asks);
            let bbo = Bbo {
                bid_price,
                bid_size,
                ask_price,
                ask_size,
            };
            self.emit.push(
                out,
                b.code,
                stamp.ts_exchange,
                ts,
                Some(ms),
                format_args!("{ms}.c{tag}"),
                Data::Bbo(bbo),
            );
        }
        if want_book {
            let book = match self.books.get_mut(b.code) {
                Some(book) => book,
                None => {
                    let symbol = self.emit.symbol(b.code);
                    self.books
                        .entry(SmolStr::new(b.code))
                        .or_insert_with(|| PairBook {
                            sync: BookSync::new("upbit", symbol, &self.config),
                            last: None,
                        })
                }
            };
            let start = out.len();
            match book.last {
                Some(last) if ms < last => book.sync.gap(
                    stamp,
                    Some(last),
                    Some(ms),
                    format!("orderbook of {ms} is older than the last one ({last})"),
                    out,
                ),
                _ if crossed(&bids, &asks) => book.sync.gap(
                    stamp,
                    book.last,
                    Some(ms),
                    format!("orderbook of {ms} is crossed"),
                    out,
                ),
                _ => {
                    book.sync.snapshot(stamp, Some(ms), bids, asks, None, out);
                    book.last = Some(ms);
                }
            }
            tag_book_ids(&mut out[start..], tag);
        }
        Ok(Parsed::Data)
    }

    fn on_ticker(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Ticker = serde_json::from_str(text)?;
        if !self.planned.allows(t.code) {
            return Ok(NOT_PLANNED);
        }
        if !self.channels.contains(Channel::Ticker) {
            return Ok(Parsed::Ignored("ticker without the ticker channel"));
        }
        let opt = |raw: Option<&serde_json::value::RawValue>, what| {
            raw.filter(|r| r.get() != "null")
                .map(|r| dec_raw(r, what))
                .transpose()
        };
        let ticker = Ticker {
            last: Some(dec_raw(t.trade_price, "ticker.trade_price")?),
            volume_24h: opt(t.acc_trade_volume_24h, "ticker.acc_trade_volume_24h")?,
            quote_volume_24h: opt(t.acc_trade_price_24h, "ticker.acc_trade_price_24h")?,
            bid_price: None,
            bid_size: None,
            ask_price: None,
            ask_size: None,
            open_24h: None,
            high_24h: None,
            low_24h: None,
        };
        let tag = crc32(text.as_bytes());
        self.emit.push(
            out,
            t.code,
            Some(ms_to_ns(t.timestamp)),
            ts,
            None,
            format_args!("{}.c{tag}", t.timestamp),
            Data::Ticker(Box::new(ticker)),
        );
        Ok(Parsed::Data)
    }
}

impl FrameParser for UpbitParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        if let Some(e) = env.error {
            let reason = format!("{}: {}", e.name, e.message);
            let refusal = if std::mem::take(&mut self.awaiting) {
                // The only request of the connection: refused as a whole (Upbit
                // names no code in its errors).
                Refusal::of(Answer::InOrder, Vec::new(), reason)
            } else {
                Refusal::unattributed(reason)
            };
            return Ok(Parsed::Refused(refusal));
        }
        let parsed = match (env.kind, env.status) {
            (Some("trade"), _) => self.on_trade(text, ts_recv, out)?,
            (Some("orderbook"), _) => self.on_orderbook(text, ts_recv, out)?,
            (Some("ticker"), _) => self.on_ticker(text, ts_recv, out)?,
            (Some(kind), _) if kind.starts_with("candle") => Parsed::Ignored("candle"),
            (Some(kind), _) => return Err(ParseError::Unknown(format!("type {kind:?}"))),
            (None, Some("UP")) => return Ok(Parsed::Heartbeat),
            (None, Some(other)) => return Err(ParseError::Unknown(format!("status {other:?}"))),
            (None, None) => return Err(ParseError::Unknown("no type, error or status".into())),
        };
        if parsed == Parsed::Data && std::mem::take(&mut self.awaiting) {
            // Upbit answers a good request with data only.
            return Ok(Parsed::Acked(Answer::InOrder));
        }
        Ok(parsed)
    }
}

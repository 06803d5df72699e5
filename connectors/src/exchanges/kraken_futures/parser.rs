//! The Kraken Futures WebSocket v1 parser: data dispatched on `feed`, control frames
//! on `event`, books kept per product by `seq`.
//!
//! A live connection (a plan with symbols) yields records only for its own products:
//! a frame of another product is [`NOT_PLANNED`]. A plan without symbols (recordings)
//! takes every product.

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Dec, Funding, Level, Liquidation, MarkPrice, OpenInterest, Record, Ticker, Trade,
};

use super::wire;
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Books, Stamp};
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{dec_raw, side};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// Parser state of one Kraken Futures connection.
pub struct KrakenFuturesParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: Books,
    resyncs: Resyncs,
}

fn opt_dec(raw: Option<&RawValue>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    match raw {
        Some(r) if r.get() != "null" => dec_raw(r, context).map(Some),
        _ => Ok(None),
    }
}

fn levels(raw: &[wire::Level], context: &'static str) -> Result<Vec<Level>, ParseError> {
    raw.iter()
        .map(|l| Ok(Level(dec_raw(l.price, context)?, dec_raw(l.qty, context)?)))
        .collect()
}

/// Whether a product id is a perpetual's (funding applies).
fn is_perp(product: &str) -> bool {
    product.starts_with("PF_") || product.starts_with("PI_")
}

impl KrakenFuturesParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        KrakenFuturesParser {
            channels,
            emit: Emitter::new("kraken-futures", symbols, fallback),
            planned: Planned::new(symbols),
            books: Books::new("kraken-futures", books),
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)),
        }
    }

    /// The book state of `product`, once one of its frames arrived.
    pub fn book(&self, product: &str) -> Option<&BookSync> {
        self.books.get(product)
    }

    fn book_entry(&mut self, product: &str) -> &mut BookSync {
        let emit = &mut self.emit;
        self.books.entry(product, || emit.symbol(product))
    }

    fn on_trade(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Trade = serde_json::from_str(text)?;
        let want_trade = self.channels.contains(Channel::Trade);
        let liquidation = t.kind == Some("liquidation");
        let want_liq = liquidation && self.channels.contains(Channel::Liquidation);
        if !want_trade && !want_liq {
            return Ok(Parsed::Ignored("trade without the trade channel"));
        }
        let price = dec_raw(t.price, "trade.price")?;
        let size = dec_raw(t.qty, "trade.qty")?;
        let taker = side(t.side, "trade.side")?;
        let ts_ex = Some(ms_to_ns(t.time));
        if want_trade {
            let trade = Trade {
                price: price.clone(),
                size: size.clone(),
                side: taker,
                trade_id: t.uid.into(),
            };
            self.emit.push(
                out,
                t.product_id,
                ts_ex,
                ts,
                t.seq,
                t.uid,
                Data::Trade(trade),
            );
        }
        if want_liq {
            let liq = Liquidation {
                price,
                size,
                side: taker,
            };
            self.emit.push(
                out,
                t.product_id,
                ts_ex,
                ts,
                t.seq,
                t.uid,
                Data::Liquidation(liq),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_snapshot(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let s: wire::BookSnapshot = serde_json::from_str(text)?;
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("book without the book channel"));
        }
        let bids = levels(&s.bids, "book_snapshot.bids")?;
        let asks = levels(&s.asks, "book_snapshot.asks")?;
        let stamp = Stamp {
            ts_exchange: s.timestamp.map(ms_to_ns),
            ts_recv: ts,
        };
        self.resyncs.done(s.product_id);
        self.book_entry(s.product_id)
            .snapshot(stamp, Some(s.seq), bids, asks, None, out);
        Ok(Parsed::Data)
    }

    fn on_delta(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let d: wire::BookDelta = serde_json::from_str(text)?;
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("book without the book channel"));
        }
        let level = Level(dec_raw(d.price, "book.price")?, dec_raw(d.qty, "book.qty")?);
        let is_bid = match d.side {
            "buy" => true,
            "sell" => false,
            other => {
                return Err(ParseError::Invalid {
                    context: "book.side",
                    detail: format!("{other:?}"),
                })
            }
        };
        let stamp = Stamp {
            ts_exchange: d.timestamp.map(ms_to_ns),
            ts_recv: ts,
        };
        let pending = self.resyncs.pending(d.product_id);
        let book = self.book_entry(d.product_id);
        if !book.is_synced() {
            if !pending {
                // A delta before any snapshot: the book cannot be built from it.
                book.gap(
                    stamp,
                    None,
                    Some(d.seq),
                    "book delta before the snapshot",
                    out,
                );
                self.resyncs.request(d.product_id);
            }
            return Ok(Parsed::Data);
        }
        let expected = book.seq().map_or(d.seq, |s| s + 1);
        if d.seq < expected {
            return Ok(Parsed::Data); // older than the chain: already covered
        }
        if d.seq != expected {
            book.gap(stamp, Some(expected), Some(d.seq), "book seq skipped", out);
            self.resyncs.request(d.product_id);
            return Ok(Parsed::Data);
        }
        let (bids, asks) = if is_bid {
            (vec![level], Vec::new())
        } else {
            (Vec::new(), vec![level])
        };
        book.update(stamp, Some(d.seq), bids, asks, None, out);
        Ok(Parsed::Data)
    }

    fn on_ticker(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Ticker = serde_json::from_str(text)?;
        let ts_ex = t.time.map(ms_to_ns);
        let suffix = match t.time {
            Some(ms) => ms.to_string(),
            None => format!("r{ts}"),
        };
        let bid = opt_dec(t.bid, "ticker.bid")?;
        let ask = opt_dec(t.ask, "ticker.ask")?;
        let bid_size = opt_dec(t.bid_size, "ticker.bid_size")?;
        let ask_size = opt_dec(t.ask_size, "ticker.ask_size")?;
        let mut records: Vec<Data> = Vec::new();
        if self.channels.contains(Channel::Ticker) {
            records.push(Data::Ticker(
                Ticker {
                    last: opt_dec(t.last, "ticker.last")?,
                    bid_price: bid.clone(),
                    bid_size: bid_size.clone(),
                    ask_price: ask.clone(),
                    ask_size: ask_size.clone(),
                    open_24h: None,
                    high_24h: None,
                    low_24h: None,
                    volume_24h: opt_dec(t.volume, "ticker.volume")?,
                    quote_volume_24h: opt_dec(t.volume_quote, "ticker.volumeQuote")?,
                }
                .into(),
            ));
        }
        if self.channels.contains(Channel::Bbo) {
            records.push(Data::Bbo(Bbo {
                bid_price: bid,
                bid_size,
                ask_price: ask,
                ask_size,
            }));
        }
        if self.channels.contains(Channel::MarkPrice) {
            if let Some(mark) = opt_dec(t.mark_price, "ticker.markPrice")? {
                records.push(Data::MarkPrice(MarkPrice {
                    mark_price: mark,
                    index_price: opt_dec(t.index, "ticker.index")?,
                }));
            }
        }
        if self.channels.contains(Channel::OpenInterest) {
            if let Some(oi) = opt_dec(t.open_interest, "ticker.openInterest")? {
                records.push(Data::OpenInterest(OpenInterest {
                    open_interest: oi,
                    open_interest_value: None,
                }));
            }
        }
        if self.channels.contains(Channel::Funding) && is_perp(t.product_id) {
            // Funding fields are left out when zero.
            let rate = opt_dec(t.relative_funding_rate, "ticker.relative_funding_rate")?
                .unwrap_or_else(Dec::zero);
            let predicted = opt_dec(
                t.relative_funding_rate_prediction,
                "ticker.relative_funding_rate_prediction",
            )?
            .unwrap_or_else(Dec::zero);
            // An instant in ms (as the page's example), or (as its text says) the
            // time left until then.
            let next = match t.next_funding_rate_time {
                Some(r) if r.get() != "null" => {
                    let v: f64 = r.get().parse().map_err(|_| ParseError::Invalid {
                        context: "ticker.next_funding_rate_time",
                        detail: r.get().to_string(),
                    })?;
                    let ms = v as i64;
                    Some(ms_to_ns(if ms >= 1_000_000_000_000 {
                        ms
                    } else {
                        t.time.unwrap_or(ts / 1_000_000) + ms
                    }))
                }
                _ => None,
            };
            records.push(Data::Funding(Funding {
                rate,
                predicted_rate: Some(predicted),
                next_funding_ts: next,
            }));
        }
        if records.is_empty() {
            return Ok(Parsed::Ignored("ticker without its channels"));
        }
        for data in records {
            self.emit
                .push(out, t.product_id, ts_ex, ts, None, suffix.as_str(), data);
        }
        Ok(Parsed::Data)
    }

    fn on_ticker_lite(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::TickerLite = serde_json::from_str(text)?;
        if !self.channels.contains(Channel::Bbo) {
            return Ok(Parsed::Ignored("ticker_lite without the bbo channel"));
        }
        let bbo = Bbo {
            bid_price: opt_dec(t.bid, "ticker_lite.bid")?,
            bid_size: None,
            ask_price: opt_dec(t.ask, "ticker_lite.ask")?,
            ask_size: None,
        };
        // No exchange time: named by the receive time.
        self.emit.push(
            out,
            t.product_id,
            None,
            ts,
            None,
            format!("r{ts}"),
            Data::Bbo(bbo),
        );
        Ok(Parsed::Data)
    }

    fn on_event(&mut self, event: &str, h: &wire::Head) -> Result<Parsed, ParseError> {
        let feed = h.feed.unwrap_or("");
        let products = h.product_ids.clone().unwrap_or_default();
        let topic = |p: &str| -> SmolStr { format!("{feed}:{p}").into() };
        match event {
            "info" => Ok(Parsed::Info(format!(
                "info (version {})",
                h.version.map_or("?", |v| v.get())
            ))),
            "subscribed" => {
                let Some(first) = products.first() else {
                    return Ok(Parsed::Info(format!("subscribed {feed}")));
                };
                if feed == "book" && self.resyncs.pending(first) {
                    return Ok(Parsed::Info(format!("resubscribed book {first}")));
                }
                Ok(Parsed::Acked(Answer::Topic(topic(first))))
            }
            "subscribed_failed" => {
                let reason = format!("subscribed_failed: {feed} {}", products.join(","));
                Ok(Parsed::Refused(match products.first() {
                    Some(first) => Refusal::of(
                        Answer::Topic(topic(first)),
                        products.iter().map(SmolStr::new).collect(),
                        reason,
                    ),
                    None => Refusal::unattributed(reason),
                }))
            }
            "unsubscribed" | "unsubscribed_failed" => Ok(Parsed::Info(format!(
                "{event} {feed} {}",
                products.join(",")
            ))),
            "error" => Ok(Parsed::Refused(Refusal {
                answer: Some(Answer::InOrder),
                symbols: Vec::new(),
                reason: format!("error: {}", h.message.as_deref().unwrap_or("")),
            })),
            "alert" => Ok(Parsed::Refused(Refusal::unattributed(format!(
                "alert: {}",
                h.message.as_deref().unwrap_or("")
            )))),
            "challenge" => Ok(Parsed::Info("challenge".into())),
            other => Err(ParseError::Unknown(format!("event {other:?}"))),
        }
    }
}

impl FrameParser for KrakenFuturesParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        let h: wire::Head = serde_json::from_str(text)?;
        if let Some(event) = h.event {
            return self.on_event(event, &h);
        }
        let Some(feed) = h.feed else {
            return Err(ParseError::Unknown("frame without event or feed".into()));
        };
        if feed == "heartbeat" {
            return Ok(Parsed::Heartbeat);
        }
        if let Some(p) = h.product_id {
            if !self.planned.allows(p) {
                return Ok(NOT_PLANNED);
            }
        }
        match feed {
            "trade" => self.on_trade(text, ts_recv, out),
            // The trades before the subscription: history, not republished.
            "trade_snapshot" => Ok(Parsed::Info("trade_snapshot (earlier trades)".into())),
            "book_snapshot" => self.on_snapshot(text, ts_recv, out),
            "book" => self.on_delta(text, ts_recv, out),
            "ticker" => self.on_ticker(text, ts_recv, out),
            "ticker_lite" => self.on_ticker_lite(text, ts_recv, out),
            other => Err(ParseError::Unknown(format!("feed {other:?}"))),
        }
    }

    fn resubscribe(&mut self) -> Vec<String> {
        let now = self.resyncs.last_ts();
        self.resyncs.frames(now, |product, op, _id| {
            Some(
                serde_json::json!({"event": op, "feed": "book", "product_ids": [product.as_str()]})
                    .to_string(),
            )
        })
    }
}

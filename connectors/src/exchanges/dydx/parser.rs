//! The dYdX v4 Indexer WebSocket parser: frames dispatched on `type`, data on
//! `channel`, books kept per market and checked by `message_id` (see the module docs
//! of [`super`]).
//!
//! A live connection (a plan with symbols) yields records only for its own markets:
//! a frame of another market is [`NOT_PLANNED`] (`v4_markets` carries every market:
//! its entries of other markets are skipped). A plan without symbols (recordings)
//! takes every market.

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{
    Data, Dec, Funding, Level, Liquidation, MarkPrice, OpenInterest, Record, Trade,
};

use super::{frame, topic_name, wire, MARKETS, ORDERBOOK, TRADES};
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Books, Stamp};
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{dec_raw, raw_text, side};
use crate::envelope::Emitter;
use crate::symbols::{Admitted, Planned, SymbolInfo, NOT_PLANNED};
use crate::time::parse_rfc3339_utc;

/// Parser state of one dYdX connection.
pub struct DydxParser {
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

fn snapshot_levels(
    raw: &[wire::SnapshotLevel],
    context: &'static str,
) -> Result<Vec<Level>, ParseError> {
    raw.iter()
        .map(|l| Ok(Level(dec_raw(l.price, context)?, dec_raw(l.size, context)?)))
        .collect()
}

fn update_levels(
    raw: &[Vec<&RawValue>],
    context: &'static str,
    out: &mut Vec<Level>,
) -> Result<(), ParseError> {
    for l in raw {
        let [price, size, ..] = l.as_slice() else {
            return Err(ParseError::Invalid {
                context,
                detail: format!("a level of {} values", l.len()),
            });
        };
        out.push(Level(dec_raw(price, context)?, dec_raw(size, context)?));
    }
    Ok(())
}

/// The items of a data frame: `contents` itself, or each element of a batch's array.
fn items(contents: &RawValue, batch: bool) -> Result<Vec<&RawValue>, ParseError> {
    if batch {
        Ok(serde_json::from_str(contents.get())?)
    } else {
        Ok(vec![contents])
    }
}

/// `(channel, market)` named in an `error` message's parentheses, e.g.
/// `... (v4_orderbook-FOO-USD)` → (`v4_orderbook`, `FOO-USD`).
fn named_subscription(message: &str) -> Option<(&str, &str)> {
    let open = message.rfind('(')?;
    let inner = message[open + 1..].split(')').next()?;
    let (channel, id) = inner.split_once('-').unwrap_or((inner, ""));
    channel.starts_with("v4_").then_some((channel, id))
}

impl DydxParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        DydxParser {
            channels,
            emit: Emitter::new("dydx", symbols, fallback),
            planned: Planned::new(symbols),
            books: Books::new("dydx", books),
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)),
        }
    }

    /// The book state of `market`, once one of its frames arrived.
    pub fn book(&self, market: &str) -> Option<&BookSync> {
        self.books.get(market)
    }

    fn book_entry(&mut self, market: &str) -> &mut BookSync {
        let emit = &mut self.emit;
        self.books.entry(market, || emit.symbol(market))
    }

    fn wants_book(&self) -> bool {
        self.channels.contains(Channel::Book) || self.channels.contains(Channel::Bbo)
    }

    /// Moves a book's records to `out` (the `book` ones only with the book channel),
    /// then its derived `bbo` when the top changed (with the bbo channel).
    fn publish(&mut self, market: &str, stamp: Stamp, records: Vec<Record>, out: &mut Vec<Record>) {
        let want_book = self.channels.contains(Channel::Book);
        out.extend(
            records
                .into_iter()
                .filter(|r| want_book || !matches!(r.data, Data::Book(_))),
        );
        if self.channels.contains(Channel::Bbo) {
            if let Some(bbo) = self.book_entry(market).derived_bbo(stamp) {
                out.push(bbo);
            }
        }
    }

    fn on_book_snapshot(
        &mut self,
        market: &str,
        message_id: Option<u64>,
        contents: &RawValue,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let s: wire::BookSnapshot = serde_json::from_str(contents.get())?;
        let bids = snapshot_levels(&s.bids, "v4_orderbook.bids")?;
        let asks = snapshot_levels(&s.asks, "v4_orderbook.asks")?;
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv: ts,
        };
        self.resyncs.done(market);
        let mut records = Vec::new();
        self.book_entry(market)
            .snapshot(stamp, message_id, bids, asks, None, &mut records);
        self.publish(market, stamp, records, out);
        Ok(())
    }

    fn on_book_change(
        &mut self,
        market: &str,
        message_id: u64,
        updates: &[&RawValue],
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        for u in updates {
            let u: wire::BookUpdate = serde_json::from_str(u.get())?;
            update_levels(&u.bids, "v4_orderbook.bids", &mut bids)?;
            update_levels(&u.asks, "v4_orderbook.asks", &mut asks)?;
        }
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv: ts,
        };
        let pending = self.resyncs.pending(market);
        let book = self.book_entry(market);
        let mut records = Vec::new();
        if !book.is_synced() {
            if !pending {
                // A change the indexer sent before (or without) the snapshot.
                book.gap(
                    stamp,
                    None,
                    Some(message_id),
                    "book change before the snapshot",
                    &mut records,
                );
                self.resyncs.request(market);
            }
            out.extend(records);
            return Ok(());
        }
        let last = book.seq().unwrap_or(0);
        if message_id <= last {
            book.gap(
                stamp,
                Some(last + 1),
                Some(message_id),
                "book message_id not above the last one (out of order)",
                &mut records,
            );
            self.resyncs.request(market);
            out.extend(records);
            return Ok(());
        }
        book.update(stamp, Some(message_id), bids, asks, None, &mut records);
        self.publish(market, stamp, records, out);
        Ok(())
    }

    fn on_trades(
        &mut self,
        market: &str,
        contents: &[&RawValue],
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let want_trade = self.channels.contains(Channel::Trade);
        let want_liq = self.channels.contains(Channel::Liquidation);
        if !want_trade && !want_liq {
            return Ok(Parsed::Ignored("v4_trades without the trade channels"));
        }
        for item in contents {
            let batch: wire::Trades = serde_json::from_str(item.get())?;
            for t in batch.trades {
                let price = dec_raw(t.price, "v4_trades.price")?;
                let size = dec_raw(t.size, "v4_trades.size")?;
                let taker = side(&t.side, "v4_trades.side")?;
                let ts_ex =
                    parse_rfc3339_utc(&t.created_at).ok_or_else(|| ParseError::Invalid {
                        context: "v4_trades.createdAt",
                        detail: t.created_at.clone(),
                    })?;
                let id = t.id.ok_or_else(|| ParseError::Invalid {
                    context: "v4_trades.id",
                    detail: "a trade without an id".into(),
                })?;
                let liquidation =
                    t.liquidation == Some(true) || t.kind.as_deref() == Some("LIQUIDATED");
                if want_trade {
                    let trade = Trade {
                        price: price.clone(),
                        size: size.clone(),
                        side: taker,
                        trade_id: id.as_str().into(),
                    };
                    self.emit
                        .push(out, market, Some(ts_ex), ts, None, &id, Data::Trade(trade));
                }
                if want_liq && liquidation {
                    let liq = Liquidation {
                        price,
                        size,
                        side: taker,
                    };
                    self.emit.push(
                        out,
                        market,
                        Some(ts_ex),
                        ts,
                        None,
                        &id,
                        Data::Liquidation(liq),
                    );
                }
            }
        }
        Ok(Parsed::Data)
    }

    /// The `open_interest` and `funding` records of one market's fields, and its
    /// `mark_price` from `oracle` (`(price, exchange time, id suffix)`).
    #[allow(clippy::too_many_arguments)]
    fn market_records(
        &mut self,
        market: &str,
        fields: Option<&wire::Market>,
        oracle: Option<(Dec, Option<i64>, String)>,
        suffix: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        if let Some((price, ts_ex, oracle_suffix)) = oracle {
            if self.channels.contains(Channel::MarkPrice) {
                let mark = MarkPrice {
                    mark_price: price.clone(),
                    index_price: Some(price),
                };
                self.emit.push(
                    out,
                    market,
                    ts_ex,
                    ts,
                    None,
                    oracle_suffix,
                    Data::MarkPrice(mark),
                );
            }
        }
        let Some(f) = fields else {
            return Ok(());
        };
        if self.channels.contains(Channel::OpenInterest) {
            if let Some(oi) = opt_dec(f.open_interest, "v4_markets.openInterest")? {
                let oi = OpenInterest {
                    open_interest: oi,
                    open_interest_value: None,
                };
                self.emit
                    .push(out, market, None, ts, None, suffix, Data::OpenInterest(oi));
            }
        }
        if self.channels.contains(Channel::Funding) {
            if let Some(rate) = opt_dec(f.next_funding_rate, "v4_markets.nextFundingRate")? {
                let funding = Funding {
                    rate,
                    predicted_rate: None,
                    next_funding_ts: None,
                };
                self.emit
                    .push(out, market, None, ts, None, suffix, Data::Funding(funding));
            }
        }
        Ok(())
    }

    fn wants_markets(&self) -> bool {
        [Channel::MarkPrice, Channel::OpenInterest, Channel::Funding]
            .iter()
            .any(|c| self.channels.contains(*c))
    }

    fn on_markets_snapshot(
        &mut self,
        contents: &RawValue,
        message_id: Option<u64>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        if !self.wants_markets() {
            return Ok(());
        }
        let s: wire::MarketsSnapshot = serde_json::from_str(contents.get())?;
        let suffix = format!("m{}", message_id.unwrap_or(0));
        for (market, fields) in &s.markets {
            if !self.planned.allows(market) {
                continue;
            }
            let oracle = opt_dec(fields.oracle_price, "v4_markets.oraclePrice")?
                .map(|p| (p, None, suffix.clone()));
            self.market_records(market, Some(fields), oracle, &suffix, ts, out)?;
        }
        Ok(())
    }

    fn on_markets(
        &mut self,
        contents: &[&RawValue],
        message_id: Option<u64>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        if !self.wants_markets() {
            return Ok(Parsed::Ignored("v4_markets without its channels"));
        }
        let suffix = format!("m{}", message_id.unwrap_or(0));
        let mut admitted = Admitted::default();
        for item in contents {
            let u: wire::MarketsUpdate = serde_json::from_str(item.get())?;
            for (market, fields) in &u.trading {
                if self.planned.admit(market, &mut admitted) {
                    self.market_records(market, Some(fields), None, &suffix, ts, out)?;
                }
            }
            for (market, o) in &u.oracle_prices {
                if !self.planned.admit(market, &mut admitted) {
                    continue;
                }
                let Some(price) = opt_dec(o.oracle_price.or(o.price), "v4_markets.oraclePrice")?
                else {
                    continue;
                };
                let ts_ex = match &o.effective_at {
                    Some(t) => Some(parse_rfc3339_utc(t).ok_or_else(|| ParseError::Invalid {
                        context: "v4_markets.effectiveAt",
                        detail: t.clone(),
                    })?),
                    None => None,
                };
                let oracle_suffix = match &o.effective_at_height {
                    Some(h) => format!("h{h}"),
                    None => suffix.clone(),
                };
                self.market_records(
                    market,
                    None,
                    Some((price, ts_ex, oracle_suffix)),
                    &suffix,
                    ts,
                    out,
                )?;
            }
        }
        if admitted.none_planned() {
            return Ok(NOT_PLANNED);
        }
        Ok(Parsed::Data)
    }

    fn on_subscribed(
        &mut self,
        h: &wire::Head,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let channel = h.channel.unwrap_or("");
        let market = h.id.map(raw_text).unwrap_or("");
        match channel {
            MARKETS => {
                if let Some(c) = h.contents {
                    self.on_markets_snapshot(c, h.message_id, ts, out)?;
                }
                Ok(Parsed::Acked(Answer::Topic(topic_name(MARKETS, ""))))
            }
            TRADES | ORDERBOOK => {
                if market.is_empty() {
                    return Err(ParseError::Malformed(format!(
                        "subscribed {channel} without an id"
                    )));
                }
                if !self.planned.allows(market) {
                    return Ok(NOT_PLANNED);
                }
                let ack = Parsed::Acked(Answer::Topic(topic_name(channel, market)));
                if channel == TRADES {
                    // The last trades before the subscription: history, not republished.
                    return Ok(ack);
                }
                let resubscribed = self.resyncs.pending(market);
                if self.wants_book() {
                    let contents = h.contents.ok_or_else(|| {
                        ParseError::Malformed("subscribed v4_orderbook without contents".into())
                    })?;
                    self.on_book_snapshot(market, h.message_id, contents, ts, out)?;
                }
                if resubscribed {
                    return Ok(Parsed::Info(format!("resubscribed {ORDERBOOK} {market}")));
                }
                Ok(ack)
            }
            _ => Ok(Parsed::Ignored("a channel tickbridge does not normalize")),
        }
    }

    fn on_data(
        &mut self,
        h: &wire::Head,
        batch: bool,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let channel = h.channel.unwrap_or("");
        let contents = h
            .contents
            .ok_or_else(|| ParseError::Malformed(format!("{channel} data without contents")))?;
        if channel == MARKETS {
            let contents = items(contents, batch)?;
            return self.on_markets(&contents, h.message_id, ts, out);
        }
        if channel != TRADES && channel != ORDERBOOK {
            return Ok(Parsed::Ignored("a channel tickbridge does not normalize"));
        }
        let market = h.id.map(raw_text).unwrap_or("");
        if market.is_empty() {
            return Err(ParseError::Malformed(format!(
                "{channel} data without an id"
            )));
        }
        if !self.planned.allows(market) {
            return Ok(NOT_PLANNED);
        }
        let contents = items(contents, batch)?;
        if channel == TRADES {
            return self.on_trades(market, &contents, ts, out);
        }
        if !self.wants_book() {
            return Ok(Parsed::Ignored("v4_orderbook without the book channels"));
        }
        let message_id = h.message_id.ok_or_else(|| ParseError::Invalid {
            context: "v4_orderbook.message_id",
            detail: "missing".into(),
        })?;
        self.on_book_change(market, message_id, &contents, ts, out)?;
        Ok(Parsed::Data)
    }

    fn on_error(&mut self, h: &wire::Head) -> Parsed {
        let message = h.message.clone().unwrap_or_default();
        let reason = format!("error: {message}");
        // Recent indexers name the subscription in `channel`/`id` of some errors;
        // every version names it in parentheses in others.
        let named = match (h.channel, h.id.map(raw_text)) {
            (Some(channel), Some(id)) => Some((channel, id)),
            (Some(MARKETS), None) => Some((MARKETS, "")),
            _ => named_subscription(&message),
        };
        let Some((channel, market)) = named else {
            return Parsed::Refused(Refusal::unattributed(reason));
        };
        if channel == ORDERBOOK && self.resyncs.pending(market) {
            // Our own resubscription failed: ask again (throttled).
            self.resyncs.request(market);
            return Parsed::Info(format!("resubscription refused: {reason}"));
        }
        let symbols = if channel == MARKETS || market.is_empty() {
            Vec::new()
        } else {
            vec![SmolStr::new(market)]
        };
        Parsed::Refused(Refusal::of(
            Answer::Topic(topic_name(channel, market)),
            symbols,
            reason,
        ))
    }
}

impl FrameParser for DydxParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        let h: wire::Head = serde_json::from_str(text)?;
        match h.kind {
            "connected" => Ok(Parsed::Info(format!(
                "connected {}",
                h.connection_id.unwrap_or("")
            ))),
            "subscribed" => self.on_subscribed(&h, ts_recv, out),
            "channel_data" => self.on_data(&h, false, ts_recv, out),
            "channel_batch_data" => self.on_data(&h, true, ts_recv, out),
            "unsubscribed" => Ok(Parsed::Info(format!(
                "unsubscribed {} {}",
                h.channel.unwrap_or(""),
                h.id.map(raw_text).unwrap_or("")
            ))),
            "error" => Ok(self.on_error(&h)),
            "pong" => Ok(Parsed::Heartbeat),
            other => Err(ParseError::Unknown(format!("type {other:?}"))),
        }
    }

    fn resubscribe(&mut self) -> Vec<String> {
        let now = self.resyncs.last_ts();
        self.resyncs
            .frames(now, |market, op, _id| Some(frame(op, ORDERBOOK, market)))
    }
}

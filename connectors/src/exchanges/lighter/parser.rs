//! The Lighter parser: frames dispatched on `type`, error frames on `error`, books
//! kept per market by the nonce chain (`begin_nonce` of an update = `nonce` of the
//! message before it).
//!
//! A live connection (a plan with symbols) yields records only for its own markets: a
//! frame of another market is [`NOT_PLANNED`]. A plan without symbols (recordings)
//! takes every market.

use std::collections::HashMap;

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{
    Data, Dec, Funding, Level, Liquidation, MarkPrice, OpenInterest, Record, Side, Ticker, Trade,
};

use super::wire;
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Books, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal, PARSER_REQUEST_IDS,
};
use crate::convert::{dec_raw, raw_text};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// The error code of a duplicate subscription (`Already Subscribed to : <channel>`).
pub const ALREADY_SUBSCRIBED: i64 = 30003;
/// The error code of too many client messages.
pub const TOO_MANY_MESSAGES: i64 = 30009;

/// The app-level answer to a server `{"type":"ping"}`.
pub const PONG: &str = r#"{"type":"pong"}"#;

/// Parser state of one Lighter connection.
pub struct LighterParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: Books,
    resyncs: Resyncs,
    reply: Option<&'static str>,
}

fn opt_dec(raw: Option<&RawValue>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    match raw {
        Some(r) if r.get() != "null" && !raw_text(r).is_empty() => dec_raw(r, context).map(Some),
        _ => Ok(None),
    }
}

fn levels(raw: &[wire::Level], context: &'static str) -> Result<Vec<Level>, ParseError> {
    raw.iter()
        .map(|l| Ok(Level(dec_raw(l.price, context)?, dec_raw(l.size, context)?)))
        .collect()
}

/// The market id a channel names: `order_book:1` → `1` (`order_book/1` accepted too).
pub fn market_of_channel(channel: &str) -> Option<&str> {
    let (_, id) = channel.split_once([':', '/'])?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// A trade's time in ns: milliseconds in current frames; the documentation's older
/// example gives seconds (below 10^11, i.e. before 1973 as milliseconds).
fn trade_time_ns(t: i64) -> i64 {
    if t < 100_000_000_000 {
        t.saturating_mul(1_000_000_000)
    } else {
        ms_to_ns(t)
    }
}

impl LighterParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        LighterParser {
            channels,
            emit: Emitter::new("lighter", symbols, fallback),
            planned: Planned::new(symbols),
            books: Books::new("lighter", books),
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)).first_id(PARSER_REQUEST_IDS),
            reply: None,
        }
    }

    /// The book state of market `id`, once one of its frames arrived.
    pub fn book(&self, id: &str) -> Option<&BookSync> {
        self.books.get(id)
    }

    fn book_entry(&mut self, id: &str) -> &mut BookSync {
        let emit = &mut self.emit;
        self.books.entry(id, || emit.symbol(id))
    }

    fn market<'a>(&self, channel: &'a str) -> Result<&'a str, ParseError> {
        market_of_channel(channel).ok_or_else(|| ParseError::Invalid {
            context: "channel",
            detail: format!("{channel:?} names no market id"),
        })
    }

    fn on_book(
        &mut self,
        text: &str,
        snapshot: bool,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let m: wire::OrderBookMsg = serde_json::from_str(text)?;
        let id = self.market(m.channel)?;
        if !self.planned.allows(id) {
            return Ok(NOT_PLANNED);
        }
        let topic: SmolStr = format!("order_book:{id}").into();
        let pending = self.resyncs.pending(id);
        // The snapshot is also the subscription's acknowledgement (a resync's is not
        // one of the plan's requests).
        let answer = match (snapshot, pending) {
            (true, false) => Parsed::Acked(Answer::Topic(topic)),
            (true, true) => Parsed::Info(format!("resubscribed order_book {id}")),
            (false, _) => Parsed::Data,
        };
        if !self.channels.contains(Channel::Book) {
            return Ok(match answer {
                Parsed::Data => Parsed::Ignored("order_book without the book channel"),
                other => other,
            });
        }
        if let Some(code) = m.order_book.code.filter(|c| *c != 0) {
            return Err(ParseError::Invalid {
                context: "order_book.code",
                detail: code.to_string(),
            });
        }
        let bids = levels(&m.order_book.bids, "order_book.bids")?;
        let asks = levels(&m.order_book.asks, "order_book.asks")?;
        let stamp = Stamp {
            ts_exchange: m
                .timestamp
                .map(ms_to_ns)
                .or(m.last_updated_at.map(|us| us.saturating_mul(1_000))),
            ts_recv: ts,
        };
        let nonce = m.order_book.nonce;
        if snapshot {
            self.resyncs.done(id);
            self.book_entry(id)
                .snapshot(stamp, Some(nonce), bids, asks, None, out);
            return Ok(answer);
        }
        let begin = m.order_book.begin_nonce;
        let book = self.book_entry(id);
        if !book.is_synced() {
            if !pending {
                // An update before any snapshot: the book cannot be built from it.
                book.gap(
                    stamp,
                    None,
                    begin,
                    "order_book update before the snapshot",
                    out,
                );
                self.resyncs.request(id);
            }
            return Ok(Parsed::Data);
        }
        let last = book.seq().unwrap_or(0);
        if nonce <= last {
            return Ok(Parsed::Data); // older than the chain: already covered
        }
        if begin != Some(last) {
            book.gap(
                stamp,
                Some(last),
                begin,
                "order_book begin_nonce is not the previous nonce",
                out,
            );
            self.resyncs.request(id);
            return Ok(Parsed::Data);
        }
        book.update(stamp, Some(nonce), bids, asks, None, out);
        Ok(Parsed::Data)
    }

    fn on_trades(
        &mut self,
        text: &str,
        snapshot: bool,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let m: wire::TradeMsg = serde_json::from_str(text)?;
        let id = self.market(m.channel)?;
        if !self.planned.allows(id) {
            return Ok(NOT_PLANNED);
        }
        if snapshot {
            // The venue's replay of its latest prints on every subscription: history,
            // not republished (a resubscription would repeat it).
            return Ok(Parsed::Acked(Answer::Topic(format!("trade:{id}").into())));
        }
        let want_trade = self.channels.contains(Channel::Trade);
        let want_liq = self.channels.contains(Channel::Liquidation);
        if !want_trade && !want_liq {
            return Ok(Parsed::Ignored("trade without the trade channel"));
        }
        let prints = m.trades.iter().flatten().map(|t| (t, false));
        let liquidations = m.liquidation_trades.iter().flatten().map(|t| (t, true));
        for (t, liquidation) in prints.chain(liquidations) {
            let native = t.market_id.to_string();
            if native != id {
                return Err(ParseError::Invalid {
                    context: "trade.market_id",
                    detail: format!("{native} in channel {}", m.channel),
                });
            }
            let price = dec_raw(t.price, "trade.price")?;
            let size = dec_raw(t.size, "trade.size")?;
            let taker = if t.is_maker_ask {
                Side::Buy
            } else {
                Side::Sell
            };
            let trade_id = raw_text(t.trade_id);
            let ts_ex = Some(trade_time_ns(t.timestamp));
            if want_trade {
                let trade = Trade {
                    price: price.clone(),
                    size: size.clone(),
                    side: taker,
                    trade_id: trade_id.into(),
                };
                self.emit
                    .push(out, id, ts_ex, ts, None, trade_id, Data::Trade(trade));
            }
            if want_liq && liquidation {
                let liq = Liquidation {
                    price,
                    size,
                    side: taker,
                };
                self.emit
                    .push(out, id, ts_ex, ts, None, trade_id, Data::Liquidation(liq));
            }
        }
        Ok(Parsed::Data)
    }

    fn on_stats(
        &mut self,
        text: &str,
        snapshot: bool,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let m: wire::MarketStatsMsg = serde_json::from_str(text)?;
        // One market's object, or (`market_stats/all`) an object of them by market id.
        let raw = m.market_stats.get();
        let stats: Vec<wire::MarketStats> = match serde_json::from_str::<wire::MarketStats>(raw) {
            Ok(one) => vec![one],
            Err(_) => {
                let all: HashMap<&str, wire::MarketStats> = serde_json::from_str(raw)?;
                let mut v: Vec<_> = all.into_values().collect();
                v.sort_by_key(|s| s.market_id);
                v
            }
        };
        let ts_ex = m.timestamp.map(ms_to_ns);
        let suffix = match m.timestamp {
            Some(ms) => ms.to_string(),
            None => format!("r{ts}"),
        };
        let mut answer = None;
        let mut any = false;
        for s in &stats {
            let native = s.market_id.to_string();
            if !self.planned.allows(&native) {
                continue;
            }
            if snapshot && answer.is_none() {
                answer = Some(Parsed::Acked(Answer::Topic(
                    format!("market_stats:{native}").into(),
                )));
            }
            let mut records: Vec<Data> = Vec::new();
            if self.channels.contains(Channel::Ticker) {
                records.push(Data::Ticker(
                    Ticker {
                        last: opt_dec(s.last_trade_price, "market_stats.last_trade_price")?,
                        bid_price: None,
                        bid_size: None,
                        ask_price: None,
                        ask_size: None,
                        open_24h: None,
                        high_24h: opt_dec(s.daily_price_high, "market_stats.daily_price_high")?,
                        low_24h: opt_dec(s.daily_price_low, "market_stats.daily_price_low")?,
                        volume_24h: opt_dec(
                            s.daily_base_token_volume,
                            "market_stats.daily_base_token_volume",
                        )?,
                        quote_volume_24h: opt_dec(
                            s.daily_quote_token_volume,
                            "market_stats.daily_quote_token_volume",
                        )?,
                    }
                    .into(),
                ));
            }
            if self.channels.contains(Channel::Funding) {
                if let Some(rate) = opt_dec(s.funding_rate, "market_stats.funding_rate")? {
                    records.push(Data::Funding(Funding {
                        rate,
                        predicted_rate: opt_dec(
                            s.current_funding_rate,
                            "market_stats.current_funding_rate",
                        )?,
                        next_funding_ts: None,
                    }));
                }
            }
            if self.channels.contains(Channel::OpenInterest) {
                if let Some(oi) = opt_dec(s.open_interest, "market_stats.open_interest")? {
                    records.push(Data::OpenInterest(OpenInterest {
                        open_interest: oi,
                        open_interest_value: None,
                    }));
                }
            }
            if self.channels.contains(Channel::MarkPrice) {
                if let Some(mark) = opt_dec(s.mark_price, "market_stats.mark_price")? {
                    records.push(Data::MarkPrice(MarkPrice {
                        mark_price: mark,
                        index_price: opt_dec(s.index_price, "market_stats.index_price")?,
                    }));
                }
            }
            for data in records {
                any = true;
                self.emit
                    .push(out, &native, ts_ex, ts, None, suffix.as_str(), data);
            }
        }
        Ok(match answer {
            Some(a) => a,
            None if any => Parsed::Data,
            None if stats
                .iter()
                .all(|s| !self.planned.allows(&s.market_id.to_string())) =>
            {
                NOT_PLANNED
            }
            None => Parsed::Ignored("market_stats without its channels"),
        })
    }

    fn on_error(&mut self, e: &wire::Error) -> Parsed {
        let reason = match e.code {
            Some(code) => format!("{code} {}", e.message),
            None => e.message.clone(),
        };
        match e.code {
            Some(ALREADY_SUBSCRIBED) => {
                let channel = e
                    .message
                    .split_once(" : ")
                    .map(|(_, c)| c.trim())
                    .unwrap_or("");
                let Some(id) = market_of_channel(channel) else {
                    return Parsed::Info(reason);
                };
                if channel.starts_with("order_book") && self.resyncs.pending(id) {
                    // The unsubscribe of a resync did not take: no snapshot follows,
                    // so the resync is asked for again (throttled).
                    self.resyncs.request(id);
                    return Parsed::Info(reason);
                }
                // The subscription is in place.
                Parsed::Acked(Answer::Topic(channel.replace('/', ":").into()))
            }
            // Throttling: about the connection's messages, not one subscription.
            Some(TOO_MANY_MESSAGES) => Parsed::Refused(Refusal::unattributed(reason)),
            // Lighter's errors name neither channel nor market: they answer the
            // requests in the order sent.
            _ => Parsed::Refused(Refusal {
                answer: Some(Answer::InOrder),
                symbols: Vec::new(),
                reason,
            }),
        }
    }
}

impl FrameParser for LighterParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        self.reply = None;
        let h: wire::Envelope = serde_json::from_str(text)?;
        if let Some(e) = &h.error {
            return Ok(self.on_error(e));
        }
        let Some(kind) = h.kind else {
            return Err(ParseError::Unknown("frame without type or error".into()));
        };
        match kind {
            "connected" => Ok(Parsed::Info("connected".into())),
            "ping" => {
                self.reply = Some(PONG);
                Ok(Parsed::Heartbeat)
            }
            "pong" => Ok(Parsed::Heartbeat),
            "subscribed" => match h.channel {
                Some(c) => Ok(Parsed::Acked(Answer::Topic(c.replace('/', ":").into()))),
                None => Ok(Parsed::Info("subscribed".into())),
            },
            "unsubscribed" => Ok(Parsed::Info(format!(
                "unsubscribed {}",
                h.channel.unwrap_or("")
            ))),
            "error" => {
                let e = wire::Error {
                    code: h.code,
                    message: h.message.clone().unwrap_or_default(),
                };
                match (h.channel, self.on_error(&e)) {
                    (Some(c), Parsed::Refused(r)) if r.answer == Some(Answer::InOrder) => {
                        let symbols = market_of_channel(c)
                            .map(|m| vec![SmolStr::new(m)])
                            .unwrap_or_default();
                        Ok(Parsed::Refused(Refusal::of(
                            Answer::Topic(c.replace('/', ":").into()),
                            symbols,
                            r.reason,
                        )))
                    }
                    (_, parsed) => Ok(parsed),
                }
            }
            "subscribed/order_book" => self.on_book(text, true, ts_recv, out),
            "update/order_book" => self.on_book(text, false, ts_recv, out),
            "subscribed/trade" => self.on_trades(text, true, ts_recv, out),
            "update/trade" => self.on_trades(text, false, ts_recv, out),
            "subscribed/market_stats" => self.on_stats(text, true, ts_recv, out),
            "update/market_stats" => self.on_stats(text, false, ts_recv, out),
            other => {
                let channel = other.split_once('/').map_or(other, |(_, c)| c);
                match channel {
                    "ticker" | "height" | "candle" | "spot_market_stats" => Ok(Parsed::Ignored(
                        "a Lighter channel tickbridge does not subscribe",
                    )),
                    _ if other.starts_with("update/") || other.starts_with("subscribed/") => Ok(
                        Parsed::Ignored("a Lighter channel tickbridge does not normalize"),
                    ),
                    _ => Err(ParseError::Unknown(format!("type {other:?}"))),
                }
            }
        }
    }

    fn reply(&mut self) -> Option<String> {
        self.reply.take().map(str::to_string)
    }

    fn resubscribe(&mut self) -> Vec<String> {
        let now = self.resyncs.last_ts();
        self.resyncs.frames(now, |id, op, _| {
            Some(serde_json::json!({"type": op, "channel": format!("order_book/{id}")}).to_string())
        })
    }
}

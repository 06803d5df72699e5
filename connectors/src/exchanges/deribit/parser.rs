//! The Deribit frame parser: JSON-RPC answers matched to the plan's requests by `id`
//! (a `public/subscribe` answer lists what was subscribed: an instrument whose
//! channels are missing is refused), notifications dispatched on their channel's
//! kind, books kept in sync with `change_id`/`prev_change_id`, heartbeats answered.
//!
//! A live connection (a plan with symbols) yields records only for its own
//! instruments; a plan without symbols (recordings) takes every instrument.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Dec, Funding, Level, Liquidation, MarkPrice, OpenInterest, Record, Side, Ticker,
    Trade,
};

use super::{rpc, wire, wire_channel, HEARTBEAT_TOPIC};
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, ConnectionPlan, FrameParser, ParseError, Parsed, Refusal,
    PARSER_REQUEST_IDS,
};
use crate::convert::{dec_raw, side};
use crate::envelope::Emitter;
use crate::symbols::{Admitted, Planned, NOT_PLANNED};
use crate::time::ms_to_ns;

/// The id of the `public/test` answers to the server's `test_request`s (apart from
/// the plan's ids and the resubscriptions' range).
pub const TEST_ID: u64 = PARSER_REQUEST_IDS - 1;

/// Parser state of one Deribit connection.
pub struct DeribitParser {
    emit: Emitter,
    channels: ChannelSet,
    config: BookConfig,
    books: HashMap<SmolStr, BookSync>,
    resyncs: Resyncs,
    planned: Planned,
    /// Request id → the (native, wire channel) of each of its topics.
    requests: HashMap<u64, Vec<(SmolStr, SmolStr)>>,
    reply: Option<String>,
}

/// An optional decimal: absent and `null` are `None`.
fn opt(
    raw: Option<&serde_json::value::RawValue>,
    context: &'static str,
) -> Result<Option<Dec>, ParseError> {
    raw.map(|r| dec_raw(r, context)).transpose()
}

/// One side of a best bid/offer: empty when the price is absent or the amount is zero.
fn best(
    price: Option<&serde_json::value::RawValue>,
    amount: Option<&serde_json::value::RawValue>,
    context: (&'static str, &'static str),
) -> Result<(Option<Dec>, Option<Dec>), ParseError> {
    let price = opt(price, context.0)?;
    let amount = opt(amount, context.1)?;
    match (price, amount) {
        (Some(p), Some(a)) if !a.is_zero() => Ok((Some(p), Some(a))),
        _ => Ok((None, None)),
    }
}

/// The levels of a book notification (`delete` → size zero).
fn levels(items: &[wire::BookLevel<'_>]) -> Result<Vec<Level>, ParseError> {
    items
        .iter()
        .map(|(action, price, amount)| {
            let price = dec_raw(price, "book price")?;
            let size = match *action {
                "new" | "change" => dec_raw(amount, "book amount")?,
                "delete" => Dec::zero(),
                other => {
                    return Err(ParseError::Invalid {
                        context: "book action",
                        detail: format!("{other:?}"),
                    })
                }
            };
            Ok(Level(price, size))
        })
        .collect()
}

fn opposite(s: Side) -> Side {
    match s {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

impl DeribitParser {
    pub fn new(plan: &ConnectionPlan) -> Self {
        let requests = plan
            .requests
            .iter()
            .map(|r| {
                let topics = r
                    .topics
                    .iter()
                    .filter(|t| t.name != HEARTBEAT_TOPIC)
                    .map(|t| (t.native.clone(), t.name.clone()))
                    .collect();
                (r.id, topics)
            })
            .collect();
        DeribitParser {
            emit: Emitter::new("deribit", &plan.symbols, super::Deribit::normalize),
            channels: plan.channels,
            config: plan.books.clone(),
            books: HashMap::new(),
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)).first_id(PARSER_REQUEST_IDS),
            planned: Planned::new(&plan.symbols),
            requests,
            reply: None,
        }
    }

    /// The answer to a request.
    fn on_answer(&mut self, f: &wire::Frame<'_>) -> Result<Parsed, ParseError> {
        if let Some(e) = &f.error {
            let mut reason = format!("error {}: {}", e.code, e.message);
            if let Some(d) = &e.data {
                reason.push_str(&format!(" ({d})"));
            }
            return Ok(match f.id {
                Some(TEST_ID) => Parsed::Info(format!("public/test answered {reason}")),
                Some(n) if n >= PARSER_REQUEST_IDS => {
                    Parsed::Info(format!("book resubscription answered {reason}"))
                }
                Some(n) => Parsed::Refused(Refusal::of(Answer::Id(n), Vec::new(), reason)),
                None => Parsed::Refused(Refusal::unattributed(reason)),
            });
        }
        let (Some(id), Some(result)) = (f.id, f.result) else {
            return Err(ParseError::Unknown("answer without id or result".into()));
        };
        if id == TEST_ID {
            return Ok(Parsed::Heartbeat);
        }
        if id >= PARSER_REQUEST_IDS {
            return Ok(Parsed::Info(format!("book resubscription {id} answered")));
        }
        let text = result.get();
        if text.starts_with('[') {
            // A subscribe answer: the channels subscribed.
            let subscribed: Vec<&str> = serde_json::from_str(text)?;
            if let Some(topics) = self.requests.get(&id) {
                let mut missing: Vec<SmolStr> = Vec::new();
                let mut names: Vec<&str> = Vec::new();
                for (native, name) in topics {
                    if !subscribed.contains(&name.as_str()) {
                        if !missing.contains(native) {
                            missing.push(native.clone());
                        }
                        if !names.contains(&name.as_str()) {
                            names.push(name);
                        }
                    }
                }
                if !missing.is_empty() {
                    return Ok(Parsed::Refused(Refusal::of(
                        Answer::Id(id),
                        missing,
                        format!("not subscribed: {}", names.join(", ")),
                    )));
                }
            }
        }
        // `public/set_heartbeat` answers "ok".
        Ok(Parsed::Acked(Answer::Id(id)))
    }

    fn on_book(
        &mut self,
        data: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let b: wire::Book = serde_json::from_str(data)?;
        let native = b.instrument_name;
        let bids = levels(&b.bids)?;
        let asks = levels(&b.asks)?;
        let stamp = Stamp {
            ts_exchange: Some(ms_to_ns(b.timestamp)),
            ts_recv,
        };
        let emit = &mut self.emit;
        let config = &self.config;
        let book = self
            .books
            .entry(SmolStr::new(native))
            .or_insert_with(|| BookSync::new("deribit", emit.symbol(native), config));
        let Some(prev) = b.prev_change_id.filter(|_| b.kind != Some("snapshot")) else {
            // The whole book: the first notification of a subscription.
            self.resyncs.done(native);
            book.snapshot(stamp, Some(b.change_id), bids, asks, None, out);
            return Ok(());
        };
        if !book.is_synced() {
            return Ok(());
        }
        let last = book.seq();
        if last.is_some_and(|l| prev < l && b.change_id <= l) {
            // Older than the chain's position: nothing to apply.
            return Ok(());
        }
        if Some(prev) != last {
            book.gap(
                stamp,
                last,
                Some(prev),
                "prev_change_id does not match the last change_id",
                out,
            );
            self.resyncs.request(native);
            return Ok(());
        }
        book.update(stamp, Some(b.change_id), bids, asks, None, out);
        Ok(())
    }

    /// Trades (and liquidations); `false` when every trade was of another instrument.
    fn on_trades(
        &mut self,
        data: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<bool, ParseError> {
        let items: Vec<wire::Trade> = serde_json::from_str(data)?;
        let mut admitted = Admitted::default();
        for t in items {
            if !self.planned.admit(t.instrument_name, &mut admitted) {
                continue;
            }
            let taker = side(t.direction, "direction")?;
            let price = dec_raw(t.price, "price")?;
            let size = dec_raw(t.amount, "amount")?;
            let ts = Some(ms_to_ns(t.timestamp));
            if let Some(liq) = t
                .liquidation
                .filter(|_| self.channels.contains(Channel::Liquidation))
            {
                // `T`: the taker was liquidated (its side); `M`: the maker (the other).
                for (who, s) in [("T", taker), ("M", opposite(taker))] {
                    if liq.contains(who) {
                        let l = Liquidation {
                            price: price.clone(),
                            size: size.clone(),
                            side: s,
                        };
                        let suffix = format!("{}.{who}", t.trade_id);
                        self.emit.push(
                            out,
                            t.instrument_name,
                            ts,
                            ts_recv,
                            None,
                            suffix,
                            Data::Liquidation(l),
                        );
                    }
                }
            }
            if self.channels.contains(Channel::Trade) {
                let trade = Trade {
                    price,
                    size,
                    side: taker,
                    trade_id: t.trade_id.into(),
                };
                self.emit.push(
                    out,
                    t.instrument_name,
                    ts,
                    ts_recv,
                    t.trade_seq,
                    t.trade_id,
                    Data::Trade(trade),
                );
            }
        }
        Ok(!admitted.none_planned())
    }

    fn on_quote(
        &mut self,
        data: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let q: wire::Quote = serde_json::from_str(data)?;
        let (bid_price, bid_size) = best(
            q.best_bid_price,
            q.best_bid_amount,
            ("best_bid_price", "best_bid_amount"),
        )?;
        let (ask_price, ask_size) = best(
            q.best_ask_price,
            q.best_ask_amount,
            ("best_ask_price", "best_ask_amount"),
        )?;
        let bbo = Bbo {
            bid_price,
            bid_size,
            ask_price,
            ask_size,
        };
        let ts = Some(ms_to_ns(q.timestamp));
        self.emit.push(
            out,
            q.instrument_name,
            ts,
            ts_recv,
            None,
            q.timestamp,
            Data::Bbo(bbo),
        );
        Ok(())
    }

    fn on_ticker(
        &mut self,
        data: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let t: wire::Ticker = serde_json::from_str(data)?;
        let ts = Some(ms_to_ns(t.timestamp));
        let native = t.instrument_name;
        if self.channels.contains(Channel::Ticker) {
            let (bid_price, bid_size) = best(
                t.best_bid_price,
                t.best_bid_amount,
                ("best_bid_price", "best_bid_amount"),
            )?;
            let (ask_price, ask_size) = best(
                t.best_ask_price,
                t.best_ask_amount,
                ("best_ask_price", "best_ask_amount"),
            )?;
            let stats = t.stats.as_ref();
            let ticker = Ticker {
                last: opt(t.last_price, "last_price")?,
                bid_price,
                bid_size,
                ask_price,
                ask_size,
                open_24h: None,
                high_24h: opt(stats.and_then(|s| s.high), "stats.high")?,
                low_24h: opt(stats.and_then(|s| s.low), "stats.low")?,
                volume_24h: opt(stats.and_then(|s| s.volume), "stats.volume")?,
                quote_volume_24h: opt(stats.and_then(|s| s.volume_usd), "stats.volume_usd")?,
            };
            self.emit.push(
                out,
                native,
                ts,
                ts_recv,
                None,
                t.timestamp,
                Data::Ticker(Box::new(ticker)),
            );
        }
        if self.channels.contains(Channel::Funding) {
            if let Some(rate) = opt(t.funding_8h, "funding_8h")? {
                let funding = Funding {
                    rate,
                    predicted_rate: None,
                    next_funding_ts: None,
                };
                self.emit.push(
                    out,
                    native,
                    ts,
                    ts_recv,
                    None,
                    t.timestamp,
                    Data::Funding(funding),
                );
            }
        }
        if self.channels.contains(Channel::OpenInterest) {
            if let Some(oi) = opt(t.open_interest, "open_interest")? {
                let oi = OpenInterest {
                    open_interest: oi,
                    open_interest_value: None,
                };
                self.emit.push(
                    out,
                    native,
                    ts,
                    ts_recv,
                    None,
                    t.timestamp,
                    Data::OpenInterest(oi),
                );
            }
        }
        if self.channels.contains(Channel::MarkPrice) {
            if let Some(mark) = opt(t.mark_price, "mark_price")? {
                let mark = MarkPrice {
                    mark_price: mark,
                    index_price: opt(t.index_price, "index_price")?,
                };
                self.emit.push(
                    out,
                    native,
                    ts,
                    ts_recv,
                    None,
                    t.timestamp,
                    Data::MarkPrice(mark),
                );
            }
        }
        Ok(())
    }

    fn on_notification(
        &mut self,
        params: &wire::Params<'_>,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let (Some(channel), Some(data)) = (params.channel, params.data) else {
            return Err(ParseError::Malformed(
                "subscription without channel or data".into(),
            ));
        };
        let data = data.get();
        let mut parts = channel.split('.');
        let kind = parts.next().unwrap_or("");
        let inst = parts.next().unwrap_or("");
        let rest = parts.count();
        let ours = self.planned.allows(inst);
        match kind {
            "book" if rest == 1 => {
                if !ours {
                    return Ok(NOT_PLANNED);
                }
                if !self.channels.contains(Channel::Book) {
                    return Ok(Parsed::Ignored("book"));
                }
                self.on_book(data, ts_recv, out)?;
            }
            // book.{instrument}.{group}.{depth}.{interval}: grouped full books.
            "book" => return Ok(Parsed::Ignored("grouped book")),
            "trades" => {
                if rest == 1 && !ours {
                    return Ok(NOT_PLANNED);
                }
                if !self.channels.contains(Channel::Trade)
                    && !self.channels.contains(Channel::Liquidation)
                {
                    return Ok(Parsed::Ignored("trades"));
                }
                if !self.on_trades(data, ts_recv, out)? {
                    return Ok(NOT_PLANNED);
                }
            }
            "quote" => {
                if !ours {
                    return Ok(NOT_PLANNED);
                }
                if !self.channels.contains(Channel::Bbo) {
                    return Ok(Parsed::Ignored("quote"));
                }
                self.on_quote(data, ts_recv, out)?;
            }
            "ticker" => {
                if !ours {
                    return Ok(NOT_PLANNED);
                }
                self.on_ticker(data, ts_recv, out)?;
            }
            "incremental_ticker" => return Ok(Parsed::Ignored("incremental_ticker")),
            "deribit_price_index" => return Ok(Parsed::Ignored("deribit_price_index")),
            "deribit_price_ranking" => return Ok(Parsed::Ignored("deribit_price_ranking")),
            "deribit_price_statistics" => return Ok(Parsed::Ignored("deribit_price_statistics")),
            "deribit_volatility_index" => return Ok(Parsed::Ignored("deribit_volatility_index")),
            "estimated_expiration_price" => {
                return Ok(Parsed::Ignored("estimated_expiration_price"))
            }
            "markprice" => return Ok(Parsed::Ignored("markprice.options")),
            "perpetual" => return Ok(Parsed::Ignored("perpetual")),
            "chart" => return Ok(Parsed::Ignored("chart")),
            "instrument" => return Ok(Parsed::Ignored("instrument.state")),
            "platform_state" => return Ok(Parsed::Ignored("platform_state")),
            "announcements" => return Ok(Parsed::Ignored("announcements")),
            "block_rfq" | "block_trade_confirmations" => {
                return Ok(Parsed::Ignored("block trades"))
            }
            "user" => return Ok(Parsed::Ignored("user")),
            other => return Err(ParseError::Unknown(format!("channel {other:?}"))),
        }
        Ok(Parsed::Data)
    }
}

impl FrameParser for DeribitParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        self.reply = None;
        let f: wire::Frame = serde_json::from_str(text)?;
        match f.method {
            Some("subscription") => match &f.params {
                Some(p) => self.on_notification(p, ts_recv, out),
                None => Err(ParseError::Malformed("subscription without params".into())),
            },
            Some("heartbeat") => {
                if f.params.as_ref().and_then(|p| p.kind) == Some("test_request") {
                    self.reply = Some(rpc(TEST_ID, "public/test", serde_json::json!({})));
                }
                Ok(Parsed::Heartbeat)
            }
            Some(other) => Err(ParseError::Unknown(format!("method {other:?}"))),
            None if f.result.is_some() || f.error.is_some() => self.on_answer(&f),
            None => Err(ParseError::Unknown(format!(
                "frame {}",
                crate::exchanges::binance::parser_preview(text)
            ))),
        }
    }

    fn reply(&mut self) -> Option<String> {
        self.reply.take()
    }

    fn resubscribe(&mut self) -> Vec<String> {
        let now = self.resyncs.last_ts();
        self.resyncs.frames(now, |native, op, id| {
            Some(rpc(
                id,
                &format!("public/{op}"),
                serde_json::json!({ "channels": [wire_channel(Channel::Book, native)] }),
            ))
        })
    }
}

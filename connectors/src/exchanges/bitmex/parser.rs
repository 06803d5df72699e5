//! The BitMEX Realtime API parser: table pushes dispatched on `table` and `action`,
//! `orderBookL2` kept per symbol by row id (`book.rs`), `instrument` rows merged per
//! symbol, control frames classified, text `pong`.
//!
//! A live connection (a plan with symbols) yields records only for its own symbols:
//! rows of another symbol are skipped, and a push of nothing but others is
//! [`NOT_PLANNED`]. A plan without symbols (recordings) takes every symbol.

use std::collections::HashMap;

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Dec, Funding, Liquidation, MarkPrice, OpenInterest, Record, Ticker, Trade,
};

use super::book::{Action, IdBook, Row};
use super::wire;
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSide, Stamp};
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{dec_raw, raw_text, side};
use crate::envelope::Emitter;
use crate::symbols::{Admitted, Planned, SymbolInfo, NOT_PLANNED};
use crate::time::parse_rfc3339_utc;

/// The `instrument` fields a ticker is built from: a row changing any of them
/// publishes a ticker.
const TICKER_FIELDS: &[&str] = &[
    "lastPrice",
    "bidPrice",
    "askPrice",
    "highPrice",
    "lowPrice",
    "prevPrice24h",
    "homeNotional24h",
    "foreignNotional24h",
];

/// Parser state of one BitMEX connection.
pub struct BitmexParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    config: BookConfig,
    books: HashMap<SmolStr, IdBook>,
    resyncs: Resyncs,
    /// Every `instrument` field seen per symbol, as raw JSON text.
    instruments: HashMap<SmolStr, HashMap<String, String>>,
}

/// An ISO 8601 UTC time (`2021-07-22T22:36:10.014Z`) → ns.
fn time(text: &str, context: &'static str) -> Result<i64, ParseError> {
    parse_rfc3339_utc(text).ok_or_else(|| ParseError::Invalid {
        context,
        detail: format!("{text:?}"),
    })
}

fn opt_dec(raw: Option<&RawValue>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    match raw {
        Some(r) if r.get() != "null" => dec_raw(r, context).map(Some),
        _ => Ok(None),
    }
}

fn book_side(text: &str) -> Result<BookSide, ParseError> {
    match text {
        "Buy" => Ok(BookSide::Bid),
        "Sell" => Ok(BookSide::Ask),
        other => Err(ParseError::Invalid {
            context: "orderBookL2.side",
            detail: format!("{other:?}"),
        }),
    }
}

impl BitmexParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        BitmexParser {
            channels,
            emit: Emitter::new("bitmex", symbols, fallback),
            planned: Planned::new(symbols),
            config: books.clone(),
            books: HashMap::new(),
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)),
            instruments: HashMap::new(),
        }
    }

    /// The rows of symbols this connection planned; `None` when the frame names none
    /// of them (a table row of a symbol another connection carries).
    fn planned_rows<T>(&self, rows: Vec<T>, symbol: impl Fn(&T) -> &str) -> Option<Vec<T>> {
        let mut admitted = Admitted::default();
        let mine: Vec<T> = rows
            .into_iter()
            .filter(|r| self.planned.admit(symbol(r), &mut admitted))
            .collect();
        (!admitted.none_planned()).then_some(mine)
    }

    /// For an event table (quotes, funding, liquidations: each row is a new event),
    /// how a frame is classified instead of published: `updates` for an update or
    /// delete (a row changing is not a new event), `unsubscribed` when the table's
    /// channel was not asked for; `None`: publish it.
    fn inserts_wanted(
        &self,
        action: &str,
        channel: Channel,
        (updates, unsubscribed): (&'static str, &'static str),
    ) -> Option<Parsed> {
        if !matches!(action, "partial" | "insert") {
            return Some(Parsed::Ignored(updates));
        }
        if !self.channels.contains(channel) {
            return Some(Parsed::Ignored(unsubscribed));
        }
        None
    }

    /// The book state of `native`, once one of its rows arrived.
    pub fn book(&self, native: &str) -> Option<&crate::book::BookSync> {
        self.books.get(native).map(|b| &b.sync)
    }

    fn on_trades(
        &mut self,
        action: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let rows: Vec<wire::TradeRow> = serde_json::from_str(data)?;
        let Some(mine) = self.planned_rows(rows, |r| r.symbol) else {
            return Ok(NOT_PLANNED);
        };
        match action {
            // The trades before the subscription: history, not republished.
            "partial" => return Ok(Parsed::Info("trade partial (earlier trades)".into())),
            "insert" => {}
            _ => return Ok(Parsed::Ignored("trade update or delete")),
        }
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Ignored("trade without the trade channel"));
        }
        for r in mine {
            let trade = Trade {
                price: dec_raw(r.price, "trade.price")?,
                size: dec_raw(r.size, "trade.size")?,
                side: side(r.side, "trade.side")?,
                trade_id: r.trd_match_id.into(),
            };
            let ts_ex = time(r.timestamp, "trade.timestamp")?;
            self.emit.push(
                out,
                r.symbol,
                Some(ts_ex),
                ts,
                None,
                r.trd_match_id,
                Data::Trade(trade),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_quotes(
        &mut self,
        action: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let rows: Vec<wire::QuoteRow> = serde_json::from_str(data)?;
        let Some(mine) = self.planned_rows(rows, |r| r.symbol) else {
            return Ok(NOT_PLANNED);
        };
        if let Some(skip) = self.inserts_wanted(
            action,
            Channel::Bbo,
            ("quote update or delete", "quote without the bbo channel"),
        ) {
            return Ok(skip);
        }
        for r in mine {
            let bbo = Bbo {
                bid_price: opt_dec(r.bid_price, "quote.bidPrice")?,
                bid_size: opt_dec(r.bid_size, "quote.bidSize")?,
                ask_price: opt_dec(r.ask_price, "quote.askPrice")?,
                ask_size: opt_dec(r.ask_size, "quote.askSize")?,
            };
            let ts_ex = time(r.timestamp, "quote.timestamp")?;
            // No sequence: named by time and content (several quotes share a ms).
            let text = |d: &Option<Dec>| d.as_ref().map_or("", |d| d.as_str()).to_string();
            let suffix = format!(
                "{}.{}x{}.{}x{}",
                ts_ex / 1_000_000,
                text(&bbo.bid_price),
                text(&bbo.bid_size),
                text(&bbo.ask_price),
                text(&bbo.ask_size)
            );
            self.emit
                .push(out, r.symbol, Some(ts_ex), ts, None, suffix, Data::Bbo(bbo));
        }
        Ok(Parsed::Data)
    }

    fn on_book(
        &mut self,
        action: &str,
        filter: Option<&str>,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let action_kind = match action {
            "partial" => None,
            "insert" => Some(Action::Insert),
            "update" => Some(Action::Update),
            "delete" => Some(Action::Delete),
            other => {
                return Err(ParseError::Invalid {
                    context: "orderBookL2.action",
                    detail: format!("{other:?}"),
                })
            }
        };
        let raw: Vec<wire::BookRow> = serde_json::from_str(data)?;
        // Rows per symbol, in the order the symbols first appear.
        let mut groups: Vec<(SmolStr, Vec<Row>, Option<i64>)> = Vec::new();
        if raw.is_empty() {
            if let Some(s) = filter {
                groups.push((SmolStr::new(s), Vec::new(), None));
            }
        }
        for r in raw {
            let row = Row {
                id: r.id,
                side: book_side(r.side)?,
                price: opt_dec(r.price, "orderBookL2.price")?,
                size: opt_dec(r.size, "orderBookL2.size")?,
            };
            let t = match r.timestamp {
                Some(t) => Some(time(t, "orderBookL2.timestamp")?),
                None => None,
            };
            match groups.iter_mut().find(|g| g.0 == r.symbol) {
                Some(g) => {
                    g.1.push(row);
                    g.2 = g.2.max(t);
                }
                None => groups.push((SmolStr::new(r.symbol), vec![row], t)),
            }
        }
        let mut admitted = Admitted::default();
        for (native, rows, ts_ex) in groups {
            if !self.planned.admit(&native, &mut admitted) {
                continue;
            }
            if !self.channels.contains(Channel::Book) {
                return Ok(Parsed::Ignored("orderBookL2 without the book channel"));
            }
            let stamp = Stamp {
                ts_exchange: ts_ex,
                ts_recv: ts,
            };
            let book = match self.books.get_mut(&native) {
                Some(b) => b,
                None => {
                    let info = self.emit.symbol(&native);
                    let config = &self.config;
                    self.books
                        .entry(native.clone())
                        .or_insert_with(|| IdBook::new(info, config))
                }
            };
            let Some(kind) = action_kind else {
                self.resyncs.done(&native);
                book.partial(stamp, rows, out);
                continue;
            };
            if !book.sync.is_synced() {
                if !self.resyncs.pending(&native) {
                    // Changes before any partial: the book cannot be built from them.
                    book.clear();
                    book.sync.gap(
                        stamp,
                        None,
                        None,
                        "orderBookL2 change before the partial",
                        out,
                    );
                    self.resyncs.request(&native);
                }
                continue; // waiting for the fresh partial
            }
            if let Err(why) = book.apply(kind, stamp, rows, out) {
                book.clear();
                book.sync.gap(stamp, None, None, why, out);
                self.resyncs.request(&native);
            }
        }
        if admitted.none_planned() {
            return Ok(NOT_PLANNED);
        }
        Ok(Parsed::Data)
    }

    fn on_instrument(
        &mut self,
        action: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let rows: Vec<wire::InstrumentRow> = serde_json::from_str(data)?;
        let mut admitted = Admitted::default();
        for row in rows {
            let native =
                row.get("symbol")
                    .map(|s| raw_text(s))
                    .ok_or_else(|| ParseError::Invalid {
                        context: "instrument.symbol",
                        detail: "missing".into(),
                    })?;
            if !self.planned.admit(native, &mut admitted) {
                continue;
            }
            let key = SmolStr::new(native);
            if action == "delete" {
                self.instruments.remove(&key);
                continue;
            }
            let state = self.instruments.entry(key).or_default();
            if action == "partial" {
                state.clear();
            }
            for (k, v) in &row {
                state.insert((*k).to_string(), v.get().to_string());
            }
            let get = |k: &str, context: &'static str| -> Result<Option<Dec>, ParseError> {
                match state.get(k).map(String::as_str) {
                    None | Some("null") => Ok(None),
                    Some(t) => {
                        let t = t.trim_matches('"');
                        Dec::parse(t).map(Some).map_err(|e| ParseError::Invalid {
                            context,
                            detail: e.to_string(),
                        })
                    }
                }
            };
            let stamp = state
                .get("timestamp")
                .map(|t| t.trim_matches('"').to_string());
            let ts_ex = match stamp {
                Some(t) => Some(time(&t, "instrument.timestamp")?),
                None => None,
            };
            let suffix = match ts_ex {
                Some(t) => format!("{}", t / 1_000_000),
                None => format!("r{ts}"),
            };
            let has = |k: &str| row.get(k).is_some_and(|v| v.get() != "null");
            let mut records: Vec<Data> = Vec::new();
            if self.channels.contains(Channel::Ticker) && TICKER_FIELDS.iter().any(|k| has(k)) {
                records.push(Data::Ticker(
                    Ticker {
                        last: get("lastPrice", "instrument.lastPrice")?,
                        bid_price: get("bidPrice", "instrument.bidPrice")?,
                        bid_size: None,
                        ask_price: get("askPrice", "instrument.askPrice")?,
                        ask_size: None,
                        open_24h: get("prevPrice24h", "instrument.prevPrice24h")?,
                        high_24h: get("highPrice", "instrument.highPrice")?,
                        low_24h: get("lowPrice", "instrument.lowPrice")?,
                        volume_24h: get("homeNotional24h", "instrument.homeNotional24h")?,
                        quote_volume_24h: get(
                            "foreignNotional24h",
                            "instrument.foreignNotional24h",
                        )?,
                    }
                    .into(),
                ));
            }
            if self.channels.contains(Channel::MarkPrice) && has("markPrice") {
                if let Some(mark) = get("markPrice", "instrument.markPrice")? {
                    records.push(Data::MarkPrice(MarkPrice {
                        mark_price: mark,
                        index_price: get(
                            "indicativeSettlePrice",
                            "instrument.indicativeSettlePrice",
                        )?,
                    }));
                }
            }
            if self.channels.contains(Channel::OpenInterest) && has("openInterest") {
                if let Some(oi) = get("openInterest", "instrument.openInterest")? {
                    records.push(Data::OpenInterest(OpenInterest {
                        open_interest: oi,
                        open_interest_value: None,
                    }));
                }
            }
            let funding_changed = ["fundingRate", "indicativeFundingRate", "fundingTimestamp"]
                .iter()
                .any(|k| has(k));
            if self.channels.contains(Channel::Funding) && funding_changed {
                if let Some(rate) = get("fundingRate", "instrument.fundingRate")? {
                    let next = match state.get("fundingTimestamp").map(|t| t.trim_matches('"')) {
                        None | Some("null") => None,
                        Some(t) => Some(time(t, "instrument.fundingTimestamp")?),
                    };
                    records.push(Data::Funding(Funding {
                        rate,
                        predicted_rate: get(
                            "indicativeFundingRate",
                            "instrument.indicativeFundingRate",
                        )?,
                        next_funding_ts: next,
                    }));
                }
            }
            for data in records {
                self.emit
                    .push(out, native, ts_ex, ts, None, suffix.as_str(), data);
            }
        }
        if admitted.none_planned() {
            return Ok(NOT_PLANNED);
        }
        Ok(Parsed::Data)
    }

    fn on_funding(
        &mut self,
        action: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let rows: Vec<wire::FundingRow> = serde_json::from_str(data)?;
        let Some(mine) = self.planned_rows(rows, |r| r.symbol) else {
            return Ok(NOT_PLANNED);
        };
        if let Some(skip) = self.inserts_wanted(
            action,
            Channel::Funding,
            (
                "funding update or delete",
                "funding without the funding channel",
            ),
        ) {
            return Ok(skip);
        }
        for r in mine {
            let ts_ex = time(r.timestamp, "funding.timestamp")?;
            let funding = Funding {
                rate: dec_raw(r.funding_rate, "funding.fundingRate")?,
                predicted_rate: None,
                next_funding_ts: None,
            };
            let suffix = format!("settled.{}", ts_ex / 1_000_000);
            self.emit.push(
                out,
                r.symbol,
                Some(ts_ex),
                ts,
                None,
                suffix,
                Data::Funding(funding),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_liquidation(
        &mut self,
        action: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let rows: Vec<wire::LiquidationRow> = serde_json::from_str(data)?;
        let Some(mine) = self.planned_rows(rows, |r| r.symbol) else {
            return Ok(NOT_PLANNED);
        };
        // What is left of a liquidation order changing: not a new liquidation.
        if let Some(skip) = self.inserts_wanted(
            action,
            Channel::Liquidation,
            (
                "liquidation update or delete",
                "liquidation without the liquidation channel",
            ),
        ) {
            return Ok(skip);
        }
        for r in mine {
            let missing = |what: &'static str| ParseError::Invalid {
                context: what,
                detail: "missing".into(),
            };
            let liq = Liquidation {
                price: opt_dec(r.price, "liquidation.price")?
                    .ok_or_else(|| missing("liquidation.price"))?,
                size: opt_dec(r.leaves_qty, "liquidation.leavesQty")?
                    .ok_or_else(|| missing("liquidation.leavesQty"))?,
                side: side(
                    r.side.ok_or_else(|| missing("liquidation.side"))?,
                    "liquidation.side",
                )?,
            };
            self.emit.push(
                out,
                r.symbol,
                None,
                ts,
                None,
                r.order_id,
                Data::Liquidation(liq),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_control(&mut self, f: &wire::Frame) -> Result<Parsed, ParseError> {
        if f.success == Some(true) {
            if let Some(topic) = &f.subscribe {
                if let Some(native) = topic.strip_prefix("orderBookL2:") {
                    if self.resyncs.pending(native) {
                        return Ok(Parsed::Info(format!("resubscribed {topic}")));
                    }
                }
                return Ok(Parsed::Acked(Answer::Topic(topic.as_str().into())));
            }
            if let Some(topic) = &f.unsubscribe {
                return Ok(Parsed::Info(format!("unsubscribed {topic}")));
            }
            return Ok(Parsed::Info("success".into()));
        }
        if let Some(error) = &f.error {
            let reason = match f.status {
                Some(s) => format!("error {s}: {error}"),
                None => format!("error: {error}"),
            };
            let (op, args) = match &f.request {
                Some(r) => (r.op.as_deref(), r.args()),
                None => (None, Vec::new()),
            };
            if op == Some("unsubscribe") {
                return Ok(Parsed::Info(format!("unsubscribe refused: {reason}")));
            }
            return Ok(Parsed::Refused(match args.first() {
                // The request is answered as a whole: refused with all its topics.
                Some(first) if op == Some("subscribe") => {
                    Refusal::of(Answer::Topic(first.as_str().into()), Vec::new(), reason)
                }
                _ => Refusal::unattributed(reason),
            }));
        }
        if let Some(info) = &f.info {
            return Ok(Parsed::Info(match &f.version {
                Some(v) => format!("{info} (version {v})"),
                None => info.clone(),
            }));
        }
        Err(ParseError::Unknown(
            "frame without table, success, error or info".into(),
        ))
    }
}

impl FrameParser for BitmexParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        if text == "pong" {
            return Ok(Parsed::Heartbeat);
        }
        let f: wire::Frame = serde_json::from_str(text)?;
        let (Some(table), Some(action)) = (f.table, f.action) else {
            return self.on_control(&f);
        };
        let data = f.data.map_or("[]", |d| d.get());
        match table {
            "trade" => self.on_trades(action, data, ts_recv, out),
            "quote" => self.on_quotes(action, data, ts_recv, out),
            "orderBookL2" => {
                let filter = f.filter.as_ref().and_then(|x| x.symbol.as_deref());
                self.on_book(action, filter, data, ts_recv, out)
            }
            "instrument" => self.on_instrument(action, data, ts_recv, out),
            "funding" => self.on_funding(action, data, ts_recv, out),
            "liquidation" => self.on_liquidation(action, data, ts_recv, out),
            "orderBookL2_25" => Ok(Parsed::Ignored("orderBookL2_25")),
            "orderBook10" => Ok(Parsed::Ignored("orderBook10")),
            t if t.starts_with("tradeBin") => Ok(Parsed::Ignored("tradeBin")),
            t if t.starts_with("quoteBin") => Ok(Parsed::Ignored("quoteBin")),
            "settlement" => Ok(Parsed::Ignored("settlement")),
            "insurance" => Ok(Parsed::Ignored("insurance")),
            "announcement" | "publicNotifications" => Ok(Parsed::Ignored("announcement")),
            "chat" | "connected" => Ok(Parsed::Ignored("chat")),
            other => Err(ParseError::Unknown(format!("table {other:?}"))),
        }
    }

    fn resubscribe(&mut self) -> Vec<String> {
        let now = self.resyncs.last_ts();
        self.resyncs.frames(now, |native, op, _id| {
            Some(
                serde_json::json!({"op": op, "args": [format!("orderBookL2:{native}")]})
                    .to_string(),
            )
        })
    }
}

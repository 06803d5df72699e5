//! The HTX market WebSocket parser (spot and swaps: one protocol, one parser).
//!
//! Pushes are dispatched on `ch` (`market.<symbol>.<topic>`); answers on `status`
//! with `subbed` / `unsubbed` / `rep`; `{"ping":ts}` is answered with `{"pong":ts}`
//! and `{"op":"ping","ts":..}` with `{"op":"pong","ts":..}` through
//! [`FrameParser::reply`]. Books: spot `mbp` pushes are chained by `seqNum` and synced
//! from a `req` image (`book.rs`); swap `high_freq` increments are chained by
//! `version` after their snapshot and resubscribed on a break; `depth.step0` pushes
//! (whole books) are published as snapshots.
//!
//! A live connection (a plan with symbols) yields records only for its own symbols: a
//! push of another is [`NOT_PLANNED`]. A plan without symbols (recordings) takes every
//! symbol.

use std::collections::HashMap;

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Dec, Funding, Level, Liquidation, Record, Ticker, Trade};

use super::book::{MbpBook, Need, Push};
use super::wire;
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal, PARSER_REQUEST_IDS,
};
use crate::convert::{dec_raw, raw_text, side};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// A book fed by whole-book pushes (`depth.step0`) or by swap `high_freq` increments.
struct PlainBook {
    sync: BookSync,
    /// The topic it is fed by (for a resubscription).
    topic: String,
    /// Levels a side the topic carries (`size_20` → 20); the book is kept to it.
    depth: Option<usize>,
}

/// Parser state of one HTX connection.
pub struct HtxParser {
    swap: bool,
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    config: BookConfig,
    mbp: HashMap<SmolStr, MbpBook>,
    books: HashMap<SmolStr, PlainBook>,
    /// Spot: refresh images to `req`; swaps: books to resubscribe (ids from
    /// [`PARSER_REQUEST_IDS`] on).
    resyncs: Resyncs,
    /// Spot `req` ids in flight → their symbol.
    reqs: HashMap<u64, SmolStr>,
    reply: Option<String>,
}

/// Levels `[price, size]` as decimals (`context` names the field in errors).
fn levels(raw: &[wire::Lv], context: &'static str) -> Result<Vec<Level>, ParseError> {
    raw.iter()
        .map(|l| Ok(Level(dec_raw(l.0, context)?, dec_raw(l.1, context)?)))
        .collect()
}

/// An optional decimal from a raw JSON number or string.
fn opt(raw: Option<&RawValue>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    match raw {
        None => Ok(None),
        Some(r) if r.get() == "null" || raw_text(r).is_empty() => Ok(None),
        Some(r) => dec_raw(r, context).map(Some),
    }
}

/// An optional `[price, size]` pair as two optional decimals.
fn pair(
    lv: Option<&wire::Lv>,
    context: &'static str,
) -> Result<(Option<Dec>, Option<Dec>), ParseError> {
    match lv {
        None => Ok((None, None)),
        Some(l) => Ok((opt(Some(l.0), context)?, opt(Some(l.1), context)?)),
    }
}

/// A raw id (`1` or `"1"`) as a number, when it is one.
fn id_of(raw: Option<&RawValue>) -> Option<u64> {
    raw.and_then(|r| raw_text(r).parse().ok())
}

/// A raw millisecond time (`1618678027942` or `"1618678027942"`).
fn ms_of(raw: Option<&RawValue>) -> Option<i64> {
    raw.and_then(|r| raw_text(r).parse().ok())
}

/// The symbol an error message names (`invalid topic market.nosuch.trade.detail`).
fn symbol_in(msg: &str) -> Vec<SmolStr> {
    msg.split_whitespace()
        .find_map(|w| w.strip_prefix("market."))
        .and_then(|rest| rest.split('.').next())
        .filter(|s| !s.is_empty())
        .map(|s| vec![SmolStr::new(s)])
        .unwrap_or_default()
}

impl HtxParser {
    pub fn new(
        swap: bool,
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        config: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        let interval = std::time::Duration::from_secs(if swap { 5 } else { 2 });
        HtxParser {
            swap,
            channels,
            emit: Emitter::new(if swap { "htx-swap" } else { "htx" }, symbols, fallback),
            planned: Planned::new(symbols),
            config: config.clone(),
            mbp: HashMap::new(),
            books: HashMap::new(),
            resyncs: Resyncs::new(interval).first_id(PARSER_REQUEST_IDS),
            reqs: HashMap::new(),
            reply: None,
        }
    }

    fn exchange(&self) -> &'static str {
        self.emit.exchange
    }

    /// The book state of `native` (either kind), once one of its pushes arrived.
    pub fn book(&self, native: &str) -> Option<&BookSync> {
        self.mbp
            .get(native)
            .map(MbpBook::sync)
            .or_else(|| self.books.get(native).map(|b| &b.sync))
    }

    fn on_trades(
        &mut self,
        native: &str,
        tick: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::TradeTick = serde_json::from_str(tick)?;
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Ignored("trade.detail without the trade channel"));
        }
        for item in t.data {
            let (id, seq) = match item.trade_id {
                Some(n) => (SmolStr::new(n.to_string()), Some(n)),
                None => {
                    let text = raw_text(item.id);
                    (SmolStr::new(text), text.parse().ok())
                }
            };
            let trade = Trade {
                price: dec_raw(item.price, "trade.price")?,
                size: dec_raw(item.amount, "trade.amount")?,
                side: side(item.direction, "trade.direction")?,
                trade_id: id.clone(),
            };
            self.emit.push(
                out,
                native,
                Some(ms_to_ns(item.ts)),
                ts,
                seq,
                id,
                Data::Trade(trade),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_bbo(
        &mut self,
        native: &str,
        tick: &str,
        frame_ts: Option<i64>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let (bbo, seq, ms) = if self.swap {
            let b: wire::SwapBbo = serde_json::from_str(tick)?;
            let (bid_price, bid_size) = pair(b.bid.as_ref(), "bbo.bid")?;
            let (ask_price, ask_size) = pair(b.ask.as_ref(), "bbo.ask")?;
            let bbo = Bbo {
                bid_price,
                bid_size,
                ask_price,
                ask_size,
            };
            (bbo, b.version, b.ts.or(frame_ts))
        } else {
            let b: wire::SpotBbo = serde_json::from_str(tick)?;
            let bbo = Bbo {
                bid_price: opt(b.bid, "bbo.bid")?,
                bid_size: opt(b.bid_size, "bbo.bidSize")?,
                ask_price: opt(b.ask, "bbo.ask")?,
                ask_size: opt(b.ask_size, "bbo.askSize")?,
            };
            (bbo, b.seq_id, b.quote_time.or(frame_ts))
        };
        if !self.channels.contains(Channel::Bbo) {
            return Ok(Parsed::Ignored("bbo without the bbo channel"));
        }
        let suffix = match (seq, ms) {
            (Some(s), Some(m)) => format!("{s}.{m}"),
            (Some(s), None) => s.to_string(),
            (None, m) => format!("t{}", m.unwrap_or(ts)),
        };
        self.emit.push(
            out,
            native,
            ms.map(ms_to_ns),
            ts,
            seq,
            suffix,
            Data::Bbo(bbo),
        );
        Ok(Parsed::Data)
    }

    fn on_ticker(
        &mut self,
        native: &str,
        tick: &str,
        frame_ts: Option<i64>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let ticker = if self.swap {
            let t: wire::SwapDetail = serde_json::from_str(tick)?;
            let (bid_price, bid_size) = pair(t.bid.as_ref(), "detail.bid")?;
            let (ask_price, ask_size) = pair(t.ask.as_ref(), "detail.ask")?;
            Ticker {
                last: opt(t.close, "detail.close")?,
                bid_price,
                bid_size,
                ask_price,
                ask_size,
                open_24h: opt(t.open, "detail.open")?,
                high_24h: opt(t.high, "detail.high")?,
                low_24h: opt(t.low, "detail.low")?,
                volume_24h: opt(t.amount, "detail.amount")?,
                quote_volume_24h: opt(t.trade_turnover, "detail.trade_turnover")?,
            }
        } else {
            let t: wire::SpotTicker = serde_json::from_str(tick)?;
            Ticker {
                last: opt(t.last_price.or(t.close), "ticker.lastPrice")?,
                bid_price: opt(t.bid, "ticker.bid")?,
                bid_size: opt(t.bid_size, "ticker.bidSize")?,
                ask_price: opt(t.ask, "ticker.ask")?,
                ask_size: opt(t.ask_size, "ticker.askSize")?,
                open_24h: opt(t.open, "ticker.open")?,
                high_24h: opt(t.high, "ticker.high")?,
                low_24h: opt(t.low, "ticker.low")?,
                volume_24h: opt(t.amount, "ticker.amount")?,
                quote_volume_24h: opt(t.vol, "ticker.vol")?,
            }
        };
        if !self.channels.contains(Channel::Ticker) {
            return Ok(Parsed::Ignored("ticker without the ticker channel"));
        }
        let suffix = format!("t{}", frame_ts.unwrap_or(ts));
        self.emit.push(
            out,
            native,
            frame_ts.map(ms_to_ns),
            ts,
            None,
            suffix,
            Data::Ticker(Box::new(ticker)),
        );
        Ok(Parsed::Data)
    }

    /// The plain book of `native`, created on first sight.
    fn plain_book(&mut self, native: &str, topic: &str, depth: Option<usize>) -> &mut PlainBook {
        if !self.books.contains_key(native) {
            let info = self.emit.symbol(native);
            let sync = BookSync::new(self.exchange(), info, &self.config);
            self.books.insert(
                SmolStr::new(native),
                PlainBook {
                    sync,
                    topic: topic.to_string(),
                    depth,
                },
            );
        }
        self.books.get_mut(native).expect("inserted above")
    }

    /// `depth.step0`: a whole book every push, published as a snapshot. Spot numbers
    /// them by `version`; the swaps' `version` counts seconds (repeats), so swap
    /// snapshots are named by their time.
    fn on_full_depth(
        &mut self,
        native: &str,
        topic: &str,
        tick: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let d: wire::DepthTick = serde_json::from_str(tick)?;
        let bids = levels(&d.bids, "depth.bids")?;
        let asks = levels(&d.asks, "depth.asks")?;
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("depth without the book channel"));
        }
        let seq = if self.swap { None } else { d.version };
        let stamp = Stamp {
            ts_exchange: d.ts.map(ms_to_ns),
            ts_recv: ts,
        };
        let book = self.plain_book(native, topic, None);
        book.sync.snapshot(stamp, seq, bids, asks, None, out);
        Ok(Parsed::Data)
    }

    /// Swap `depth.size_N.high_freq` (`data_type: incremental`): a snapshot, then
    /// updates whose `version` is the previous one + 1; a break is a gap of that
    /// contract, which is resubscribed (its fresh subscription starts with a snapshot).
    fn on_incremental_depth(
        &mut self,
        native: &str,
        topic: &str,
        depth: Option<usize>,
        tick: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let d: wire::DepthTick = serde_json::from_str(tick)?;
        let bids = levels(&d.bids, "depth.bids")?;
        let asks = levels(&d.asks, "depth.asks")?;
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("depth without the book channel"));
        }
        let stamp = Stamp {
            ts_exchange: d.ts.map(ms_to_ns),
            ts_recv: ts,
        };
        let version = d.version.ok_or_else(|| ParseError::Invalid {
            context: "depth.version",
            detail: "missing".into(),
        })?;
        let book = self.plain_book(native, topic, depth);
        match d.event {
            Some("snapshot") => {
                book.sync
                    .snapshot(stamp, Some(version), bids, asks, None, out);
                if let Some(n) = book.depth {
                    book.sync.book_mut().truncate(n);
                }
                self.resyncs.done(native);
            }
            Some("update") => {
                let Some(last) = book.sync.seq().filter(|_| book.sync.is_synced()) else {
                    // Waiting for the snapshot of a (re)subscription.
                    return Ok(Parsed::Data);
                };
                if version <= last {
                    return Ok(Parsed::Data);
                }
                if version != last + 1 {
                    let reason = format!("version {version} does not follow {last}");
                    book.sync
                        .gap(stamp, Some(last + 1), Some(version), reason, out);
                    self.resyncs.request(native);
                    return Ok(Parsed::Data);
                }
                book.sync.apply(&bids, &asks);
                if let Some(n) = book.depth {
                    book.sync.book_mut().truncate(n);
                }
                book.sync
                    .publish_update(stamp, Some(version), bids, asks, None, out);
            }
            other => {
                return Err(ParseError::Invalid {
                    context: "depth.event",
                    detail: format!("{other:?}"),
                })
            }
        }
        Ok(Parsed::Data)
    }

    /// Spot `mbp.$levels` incremental push.
    fn on_mbp(
        &mut self,
        native: &str,
        topic: &str,
        frame_ts: Option<i64>,
        tick: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let m: wire::MbpTick = serde_json::from_str(tick)?;
        let push = Push {
            seq: m.seq_num,
            prev: m.prev_seq_num,
            stamp: Stamp {
                ts_exchange: frame_ts.map(ms_to_ns),
                ts_recv: ts,
            },
            bids: levels(&m.bids, "mbp.bids")?,
            asks: levels(&m.asks, "mbp.asks")?,
        };
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("mbp without the book channel"));
        }
        if !self.mbp.contains_key(native) {
            let info = self.emit.symbol(native);
            self.mbp.insert(
                SmolStr::new(native),
                MbpBook::new(info, &self.config, topic),
            );
        }
        let book = self.mbp.get_mut(native).expect("inserted above");
        if book.on_push(push, out) == Need::Image {
            self.resyncs.request(native);
        }
        Ok(Parsed::Data)
    }

    /// The answer to a `req` of an mbp topic: the refresh image.
    fn on_rep(
        &mut self,
        f: &wire::Frame,
        topic: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        if let Some(id) = id_of(f.id) {
            self.reqs.remove(&id);
        }
        let native = topic
            .strip_prefix("market.")
            .and_then(|r| r.split('.').next())
            .unwrap_or_default();
        let data = f
            .data
            .ok_or_else(|| ParseError::Malformed(format!("rep {topic} without data")))?;
        let m: wire::MbpTick = serde_json::from_str(data.get())?;
        let image = Push {
            seq: m.seq_num,
            prev: None,
            stamp: Stamp {
                ts_exchange: ms_of(f.ts).map(ms_to_ns),
                ts_recv: ts,
            },
            bids: levels(&m.bids, "mbp.bids")?,
            asks: levels(&m.asks, "mbp.asks")?,
        };
        let Some(book) = self.mbp.get_mut(native) else {
            return Ok(Parsed::Info(format!("rep {topic} for a book not kept")));
        };
        if book.on_image(image, out) == Need::Image {
            self.resyncs.done(native);
            self.resyncs.request(native);
        } else {
            self.resyncs.done(native);
        }
        Ok(Parsed::Data)
    }

    fn on_error(
        &mut self,
        f: &wire::Frame,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let code = f.err_code.map(raw_text).unwrap_or_default();
        let msg = f.err_msg.clone().unwrap_or_default();
        let reason = format!("{code}: {msg}");
        match id_of(f.id) {
            Some(id) if id >= PARSER_REQUEST_IDS => {
                if let Some(native) = self.reqs.remove(&id) {
                    if let Some(book) = self.mbp.get_mut(&native) {
                        let stamp = Stamp {
                            ts_exchange: None,
                            ts_recv: ts,
                        };
                        let why = format!("req {}: {reason}", book.topic);
                        if book.on_image_failed(stamp, &why, out) == Need::Image {
                            self.resyncs.request(&native);
                        }
                        return Ok(Parsed::Data);
                    }
                }
                Ok(Parsed::Info(format!(
                    "resynchronisation request refused: {reason}"
                )))
            }
            Some(id) => Ok(Parsed::Refused(Refusal::of(
                Answer::Id(id),
                symbol_in(&msg),
                reason,
            ))),
            None => Ok(Parsed::Refused(Refusal::unattributed(reason))),
        }
    }

    /// `op` frames (the swap notification endpoint's protocol).
    fn on_op(
        &mut self,
        op: &str,
        text: &str,
        f: &wire::Frame,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let code = f.err_code.map(raw_text).unwrap_or("0");
        let msg = f.err_msg.clone().unwrap_or_default();
        let topic = f.topic.unwrap_or_default();
        match op {
            "ping" => {
                let p: wire::OpPing = serde_json::from_str(text)?;
                self.reply = Some(format!(r#"{{"op":"pong","ts":{}}}"#, p.ts.get()));
                Ok(Parsed::Heartbeat)
            }
            "pong" => Ok(Parsed::Heartbeat),
            "sub" if code == "0" => Ok(match id_of(f.cid) {
                Some(n) if n < PARSER_REQUEST_IDS => Parsed::Acked(Answer::Id(n)),
                _ => Parsed::Acked(Answer::Topic(topic.into())),
            }),
            "sub" => Ok(Parsed::Refused(Refusal::of(
                match id_of(f.cid) {
                    Some(n) => Answer::Id(n),
                    None => Answer::Topic(topic.into()),
                },
                topic
                    .strip_prefix("public.")
                    .and_then(|r| r.split('.').next())
                    .map(|c| vec![SmolStr::new(c)])
                    .unwrap_or_default(),
                format!("{code}: {msg}"),
            ))),
            "unsub" => Ok(Parsed::Info(format!("unsubscribed {topic}"))),
            "notify" => self.on_notify(topic, f, ts, out),
            "close" => Ok(Parsed::Reconnect(format!("op close: {code} {msg}"))),
            "error" => Ok(Parsed::Refused(Refusal::unattributed(format!(
                "op error {code}: {msg}"
            )))),
            other => Err(ParseError::Unknown(format!("op {other:?}"))),
        }
    }

    /// A notification push: `public.$contract_code.funding_rate` or
    /// `public.$contract_code.liquidation_orders`.
    fn on_notify(
        &mut self,
        topic: &str,
        f: &wire::Frame,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let Some((code, kind)) = topic
            .strip_prefix("public.")
            .and_then(|r| r.split_once('.'))
        else {
            return Err(ParseError::Unknown(format!("notify topic {topic:?}")));
        };
        let data = f
            .data
            .map(|d| d.get())
            .ok_or_else(|| ParseError::Malformed(format!("notify {topic} without data")))?;
        if !self.planned.allows(code) {
            return Ok(NOT_PLANNED);
        }
        let frame_ts = ms_of(f.ts);
        match kind {
            "funding_rate" => {
                let items: Vec<wire::FundingRate> = serde_json::from_str(data)?;
                if !self.channels.contains(Channel::Funding) {
                    return Ok(Parsed::Ignored("funding_rate without the funding channel"));
                }
                for i in items {
                    let next = ms_of(i.funding_time);
                    let funding = Funding {
                        rate: dec_raw(i.funding_rate, "funding_rate")?,
                        predicted_rate: opt(i.estimated_rate, "estimated_rate")?,
                        next_funding_ts: next.map(ms_to_ns),
                    };
                    let suffix = format!("{}.{}", next.unwrap_or(0), frame_ts.unwrap_or(ts));
                    self.emit.push(
                        out,
                        i.contract_code,
                        frame_ts.map(ms_to_ns),
                        ts,
                        None,
                        suffix,
                        Data::Funding(funding),
                    );
                }
                Ok(Parsed::Data)
            }
            "liquidation_orders" => {
                let items: Vec<wire::LiquidationOrder> = serde_json::from_str(data)?;
                if !self.channels.contains(Channel::Liquidation) {
                    return Ok(Parsed::Ignored(
                        "liquidation_orders without the liquidation channel",
                    ));
                }
                for i in items {
                    let liq = Liquidation {
                        price: dec_raw(i.price, "liquidation.price")?,
                        size: dec_raw(i.volume, "liquidation.volume")?,
                        side: side(i.direction, "liquidation.direction")?,
                    };
                    let suffix = format!(
                        "{}.{}.{}.{}",
                        i.created_at,
                        i.direction,
                        raw_text(i.price),
                        raw_text(i.volume)
                    );
                    self.emit.push(
                        out,
                        i.contract_code,
                        Some(ms_to_ns(i.created_at)),
                        ts,
                        None,
                        suffix,
                        Data::Liquidation(liq),
                    );
                }
                Ok(Parsed::Data)
            }
            "contract_info" => Ok(Parsed::Ignored("contract_info")),
            _ => Err(ParseError::Unknown(format!("notify topic {topic:?}"))),
        }
    }

    fn on_push(
        &mut self,
        ch: &str,
        f: &wire::Frame,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let Some((native, kind)) = ch.strip_prefix("market.").and_then(|r| r.split_once('.'))
        else {
            return Err(ParseError::Unknown(format!("ch {ch:?}")));
        };
        if native.is_empty() {
            return Err(ParseError::Unknown(format!("ch {ch:?}")));
        }
        let tick = f
            .tick
            .map(|t| t.get())
            .ok_or_else(|| ParseError::Malformed(format!("{ch} without tick")))?;
        if !self.planned.allows(native) {
            return Ok(NOT_PLANNED);
        }
        let frame_ts = ms_of(f.ts);
        match kind {
            "trade.detail" => self.on_trades(native, tick, ts, out),
            "bbo" => self.on_bbo(native, tick, frame_ts, ts, out),
            "detail" | "ticker" => self.on_ticker(native, tick, frame_ts, ts, out),
            "depth.step0" => self.on_full_depth(native, ch, tick, ts, out),
            k if k.starts_with("depth.step") => Ok(Parsed::Ignored("aggregated depth")),
            k if k.starts_with("depth.size_") && k.ends_with(".high_freq") => {
                let depth = k
                    .strip_prefix("depth.size_")
                    .and_then(|r| r.strip_suffix(".high_freq"))
                    .and_then(|n| n.parse().ok());
                self.on_incremental_depth(native, ch, depth, tick, ts, out)
            }
            k if k.starts_with("mbp.refresh.") => Ok(Parsed::Ignored("mbp.refresh")),
            k if k.starts_with("mbp.") => self.on_mbp(native, ch, frame_ts, tick, ts, out),
            k if k.starts_with("kline.") => Ok(Parsed::Ignored("kline")),
            _ => Err(ParseError::Unknown(format!("ch {ch:?}"))),
        }
    }

    /// The frames due now: spot `req`s of refresh images, swap unsub + sub pairs.
    pub fn take_resubscribe(&mut self, now: i64) -> Vec<String> {
        let HtxParser {
            swap,
            resyncs,
            reqs,
            mbp,
            books,
            ..
        } = self;
        resyncs.frames(now, |native, op, id| {
            if *swap {
                let topic = &books.get(native)?.topic;
                let verb = if op == "subscribe" { "sub" } else { "unsub" };
                Some(
                    serde_json::json!({verb: topic, "data_type": "incremental", "id": id.to_string()})
                        .to_string(),
                )
            } else {
                if op != "subscribe" {
                    return None;
                }
                let topic = &mbp.get(native)?.topic;
                reqs.insert(id, native.clone());
                Some(serde_json::json!({"req": topic, "id": id.to_string()}).to_string())
            }
        })
    }
}

impl FrameParser for HtxParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        self.reply = None;
        let f: wire::Frame = serde_json::from_str(text)?;
        if let Some(ch) = f.ch {
            return self.on_push(ch, &f, ts_recv, out);
        }
        if let Some(p) = f.ping {
            self.reply = Some(format!(r#"{{"pong":{}}}"#, p.get()));
            return Ok(Parsed::Heartbeat);
        }
        if f.pong.is_some() {
            return Ok(Parsed::Heartbeat);
        }
        if let Some(op) = f.op {
            return self.on_op(op, text, &f, ts_recv, out);
        }
        match f.status {
            Some("ok") => {
                if let Some(topic) = f.subbed {
                    return Ok(match id_of(f.id) {
                        Some(n) if n >= PARSER_REQUEST_IDS => {
                            Parsed::Info(format!("resubscribed {topic}"))
                        }
                        Some(n) => Parsed::Acked(Answer::Id(n)),
                        None => Parsed::Acked(Answer::Topic(topic.into())),
                    });
                }
                if let Some(topic) = f.unsubbed {
                    return Ok(Parsed::Info(format!("unsubscribed {topic}")));
                }
                if let Some(topic) = f.rep {
                    return self.on_rep(&f, topic, ts_recv, out);
                }
                Ok(Parsed::Info("ok".into()))
            }
            Some("error") => self.on_error(&f, ts_recv, out),
            Some(other) => Err(ParseError::Unknown(format!("status {other:?}"))),
            None => Err(ParseError::Unknown(text.chars().take(80).collect())),
        }
    }

    fn reply(&mut self) -> Option<String> {
        self.reply.take()
    }

    fn resubscribe(&mut self) -> Vec<String> {
        self.take_resubscribe(self.resyncs.last_ts())
    }
}

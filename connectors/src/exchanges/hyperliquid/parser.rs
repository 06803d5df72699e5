//! The Hyperliquid WebSocket parser.
//!
//! A live connection (a plan with symbols) yields records only for its own coins: a
//! frame of another coin is [`NOT_PLANNED`]. A plan without symbols (recordings) takes
//! every coin, normalizing each on first sight.
//!
//! Books: every `l2Book` message is a whole book, published as a snapshot; per coin,
//! a `time` going backwards is a gap (resynced by the coin's next book), the same
//! `time` again a stalled book (`status stale`), and a coin whose books stay away for
//! the stall deadline while others' arrive is announced `status stale` (see the
//! module header of `hyperliquid`).

use std::collections::HashMap;
use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Funding, Level, MarkPrice, OpenInterest, Record, Side, Status, StatusEvent, Ticker,
    Trade,
};

use super::{topic_name, wire, BOOK_STALL_AFTER};
use crate::book::{crossed, BookConfig, BookSync, Stamp};
use crate::checksum::crc32;
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{dec, dec_opt, id_text};
use crate::envelope::{record, Emitter};
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// One coin's book state.
struct CoinBook {
    sync: BookSync,
    /// `time` (ms) of the last book published.
    last: Option<i64>,
    /// Receive time (ns) of the coin's last l2Book message.
    last_recv: i64,
    /// A stall was announced and no newer book has arrived since.
    stalled: bool,
}

/// Parser state of one Hyperliquid connection.
pub struct HyperliquidParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, CoinBook>,
    config: BookConfig,
    stall_after_ns: i64,
    /// Receive time (ns) of the last scan for stalled books.
    last_scan: i64,
}

fn taker_side(side: &str) -> Result<Side, ParseError> {
    match side {
        "B" => Ok(Side::Buy),
        "A" => Ok(Side::Sell),
        other => Err(ParseError::Invalid {
            context: "trades.side",
            detail: format!("{other:?}"),
        }),
    }
}

fn levels(side: &[wire::Level<'_>], context: &'static str) -> Result<Vec<Level>, ParseError> {
    side.iter()
        .map(|l| Ok(Level(dec(l.px, context)?, dec(l.sz, context)?)))
        .collect()
}

impl HyperliquidParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        HyperliquidParser {
            channels,
            emit: Emitter::new("hyperliquid", symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            config: books.clone(),
            stall_after_ns: BOOK_STALL_AFTER.as_nanos() as i64,
            last_scan: i64::MIN,
        }
    }

    /// The same parser with another stall deadline (tests).
    pub fn with_stall_after(mut self, after: Duration) -> Self {
        self.stall_after_ns = after.as_nanos().min(i64::MAX as u128) as i64;
        self
    }

    /// The book state of `coin`, once one of its l2Book messages arrived.
    pub fn book(&self, coin: &str) -> Option<&BookSync> {
        self.books.get(coin).map(|b| &b.sync)
    }

    fn data<'a, T: serde::Deserialize<'a>>(
        env: &wire::Envelope<'a>,
        channel: &'static str,
    ) -> Result<T, ParseError> {
        let raw = env.data.ok_or_else(|| ParseError::Invalid {
            context: channel,
            detail: "no data".into(),
        })?;
        Ok(serde_json::from_str(raw.get())?)
    }

    fn on_trades(
        &mut self,
        env: &wire::Envelope<'_>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let trades: Vec<wire::Trade> = Self::data(env, "trades")?;
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Ignored("trades without the trade channel"));
        }
        let mut admitted = crate::symbols::Admitted::default();
        let mut parsed = Vec::with_capacity(trades.len());
        for t in &trades {
            if !self.planned.admit(t.coin, &mut admitted) {
                continue;
            }
            parsed.push((
                t.coin,
                t.time,
                t.tid,
                Trade {
                    price: dec(t.px, "trades.px")?,
                    size: dec(t.sz, "trades.sz")?,
                    side: taker_side(t.side)?,
                    trade_id: id_text(t.tid),
                },
            ));
        }
        if admitted.none_planned() {
            return Ok(NOT_PLANNED);
        }
        for (coin, time, tid, trade) in parsed {
            self.emit.push(
                out,
                coin,
                Some(ms_to_ns(time)),
                ts,
                None,
                tid,
                Data::Trade(trade),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_book(
        &mut self,
        env: &wire::Envelope<'_>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let b: wire::Book = Self::data(env, "l2Book")?;
        if !self.planned.allows(b.coin) {
            return Ok(NOT_PLANNED);
        }
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("l2Book without the book channel"));
        }
        if b.time < 0 {
            return Err(ParseError::Invalid {
                context: "l2Book.time",
                detail: b.time.to_string(),
            });
        }
        let bids = levels(&b.levels.0, "l2Book.levels")?;
        let asks = levels(&b.levels.1, "l2Book.levels")?;
        let stamp = Stamp {
            ts_exchange: Some(ms_to_ns(b.time)),
            ts_recv: ts,
        };
        self.scan_stalled(b.coin, ts, out);
        let book = match self.books.get_mut(b.coin) {
            Some(book) => book,
            None => {
                let symbol = self.emit.symbol(b.coin);
                self.books
                    .entry(SmolStr::new(b.coin))
                    .or_insert_with(|| CoinBook {
                        sync: BookSync::new("hyperliquid", symbol, &self.config),
                        last: None,
                        last_recv: ts,
                        stalled: false,
                    })
            }
        };
        book.last_recv = ts;
        let time = b.time;
        let seq = time as u64;
        match book.last {
            Some(last) if time < last => book.sync.gap(
                stamp,
                Some(last as u64),
                Some(seq),
                format!("l2Book of {time} is older than the last one ({last})"),
                out,
            ),
            Some(last) if time == last => {
                if !std::mem::replace(&mut book.stalled, true) {
                    out.push(stall_status(
                        book.sync.symbol(),
                        stamp,
                        format!("l2Book time {time} repeated: the book is not advancing"),
                        format_args!("stale.book.{time}"),
                    ));
                }
            }
            _ if crossed(&bids, &asks) => book.sync.gap(
                stamp,
                book.last.map(|l| l as u64),
                Some(seq),
                format!("l2Book of {time} is crossed"),
                out,
            ),
            _ => {
                book.stalled = false;
                book.sync.snapshot(stamp, Some(seq), bids, asks, None, out);
                book.last = Some(time);
            }
        }
        Ok(Parsed::Data)
    }

    /// Announces (once per episode) every other coin whose books stayed away for the
    /// stall deadline while `coin`'s arrives at `ts`; scans at most once a second.
    fn scan_stalled(&mut self, coin: &str, ts: i64, out: &mut Vec<Record>) {
        if ts.saturating_sub(self.last_scan) < 1_000_000_000 {
            return;
        }
        self.last_scan = ts;
        let after = self.stall_after_ns;
        let mut stalled: Vec<&mut CoinBook> = self
            .books
            .iter_mut()
            .filter(|(c, b)| {
                c.as_str() != coin && !b.stalled && ts.saturating_sub(b.last_recv) >= after
            })
            .map(|(_, b)| b)
            .collect();
        // A stable order (the map's is not).
        stalled.sort_by(|a, b| a.sync.symbol().native.cmp(&b.sync.symbol().native));
        for b in stalled {
            b.stalled = true;
            let secs = ts.saturating_sub(b.last_recv) / 1_000_000_000;
            let stamp = Stamp {
                ts_exchange: None,
                ts_recv: ts,
            };
            out.push(stall_status(
                b.sync.symbol(),
                stamp,
                format!("no l2Book for {secs} s while other coins' books arrive"),
                format_args!("stale.book.r{}", b.last_recv),
            ));
        }
    }

    fn on_bbo(
        &mut self,
        env: &wire::Envelope<'_>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let b: wire::Bbo = Self::data(env, "bbo")?;
        if !self.planned.allows(b.coin) {
            return Ok(NOT_PLANNED);
        }
        if !self.channels.contains(Channel::Bbo) {
            return Ok(Parsed::Ignored("bbo without the bbo channel"));
        }
        let side = |l: &Option<wire::Level<'_>>| -> Result<(Option<_>, Option<_>), ParseError> {
            match l {
                Some(l) => Ok((Some(dec(l.px, "bbo.px")?), Some(dec(l.sz, "bbo.sz")?))),
                None => Ok((None, None)),
            }
        };
        let (bid_price, bid_size) = side(&b.bbo.0)?;
        let (ask_price, ask_size) = side(&b.bbo.1)?;
        let bbo = Bbo {
            bid_price,
            bid_size,
            ask_price,
            ask_size,
        };
        self.emit.push(
            out,
            b.coin,
            Some(ms_to_ns(b.time)),
            ts,
            Some(b.time.max(0) as u64),
            b.time,
            Data::Bbo(bbo),
        );
        Ok(Parsed::Data)
    }

    fn on_ctx(
        &mut self,
        env: &wire::Envelope<'_>,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let c: wire::ActiveAssetCtx = Self::data(env, "activeAssetCtx")?;
        if !self.planned.allows(c.coin) {
            return Ok(NOT_PLANNED);
        }
        let x = &c.ctx;
        // The context carries no time: the ids name its content.
        let tag = crc32(env.data.map_or("", |d| d.get()).as_bytes());
        let mut any = false;
        let mut push = |emit: &mut Emitter, data: Data, out: &mut Vec<Record>| {
            any = true;
            emit.push(out, c.coin, None, ts, None, format_args!("c{tag}"), data);
        };
        if self.channels.contains(Channel::Ticker) {
            let ticker = Ticker {
                open_24h: dec_opt(x.prev_day_px, "activeAssetCtx.prevDayPx")?,
                volume_24h: dec_opt(x.day_base_vlm, "activeAssetCtx.dayBaseVlm")?,
                quote_volume_24h: dec_opt(x.day_ntl_vlm, "activeAssetCtx.dayNtlVlm")?,
                ..Ticker::default()
            };
            push(&mut self.emit, Data::Ticker(Box::new(ticker)), out);
        }
        if self.channels.contains(Channel::Funding) {
            if let Some(rate) = dec_opt(x.funding, "activeAssetCtx.funding")? {
                let funding = Funding {
                    rate,
                    predicted_rate: None,
                    next_funding_ts: None,
                };
                push(&mut self.emit, Data::Funding(funding), out);
            }
        }
        if self.channels.contains(Channel::OpenInterest) {
            if let Some(oi) = dec_opt(x.open_interest, "activeAssetCtx.openInterest")? {
                let oi = OpenInterest {
                    open_interest: oi,
                    open_interest_value: None,
                };
                push(&mut self.emit, Data::OpenInterest(oi), out);
            }
        }
        if self.channels.contains(Channel::MarkPrice) {
            if let Some(mark) = dec_opt(x.mark_px, "activeAssetCtx.markPx")? {
                let mark = MarkPrice {
                    mark_price: mark,
                    index_price: dec_opt(x.oracle_px, "activeAssetCtx.oraclePx")?,
                };
                push(&mut self.emit, Data::MarkPrice(mark), out);
            }
        }
        if !any {
            return Ok(Parsed::Ignored(
                "activeAssetCtx without a ticker, funding, open interest or mark price channel",
            ));
        }
        Ok(Parsed::Data)
    }

    fn on_ack(&mut self, env: &wire::Envelope<'_>) -> Result<Parsed, ParseError> {
        let r: wire::SubscriptionResponse = Self::data(env, "subscriptionResponse")?;
        let coin = r.subscription.coin.unwrap_or("");
        let topic = topic_name(r.subscription.kind, coin);
        Ok(match r.method {
            "subscribe" => Parsed::Acked(Answer::Topic(topic.into())),
            other => Parsed::Info(format!("{other} answered for {topic}")),
        })
    }

    fn on_error(&mut self, env: &wire::Envelope<'_>) -> Result<Parsed, ParseError> {
        let reason: String = match env.data {
            Some(raw) => match serde_json::from_str::<String>(raw.get()) {
                Ok(s) => s,
                Err(_) => raw.get().to_string(),
            },
            None => "error without data".into(),
        };
        // `Invalid subscription {"type":"l2Book","coin":"NOPE"}`: the subscription named
        // in the text is the refused one.
        let named = reason
            .find('{')
            .and_then(|at| serde_json::from_str::<serde_json::Value>(&reason[at..]).ok());
        let refusal = match named.as_ref().and_then(|v| {
            let kind = v.get("type")?.as_str()?;
            let coin = v.get("coin").and_then(|c| c.as_str());
            Some((kind, coin))
        }) {
            Some((kind, Some(coin))) => Refusal::of(
                Answer::Topic(topic_name(kind, coin).into()),
                vec![SmolStr::new(coin)],
                reason.clone(),
            ),
            _ => Refusal::unattributed(reason.clone()),
        };
        Ok(Parsed::Refused(refusal))
    }
}

/// A `status stale` (channel `book`) of `symbol`.
fn stall_status(
    symbol: &SymbolInfo,
    stamp: Stamp,
    reason: String,
    suffix: impl crate::envelope::IdSuffix,
) -> Record {
    let status = Status {
        event: StatusEvent::Stale,
        channel: Some("book".into()),
        reason: Some(reason),
        expected: None,
        got: None,
    };
    record(
        "hyperliquid",
        symbol,
        (stamp.ts_exchange, stamp.ts_recv),
        None,
        suffix,
        Data::Status(status),
    )
}

impl FrameParser for HyperliquidParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        match env.channel {
            "trades" => self.on_trades(&env, ts_recv, out),
            "l2Book" => self.on_book(&env, ts_recv, out),
            "bbo" => self.on_bbo(&env, ts_recv, out),
            "activeAssetCtx" | "activeSpotAssetCtx" => self.on_ctx(&env, ts_recv, out),
            "subscriptionResponse" => self.on_ack(&env),
            "pong" => Ok(Parsed::Heartbeat),
            "error" => self.on_error(&env),
            "candle" | "allMids" => Ok(Parsed::Ignored("a channel tickbridge does not normalize")),
            other => Err(ParseError::Unknown(format!("channel {other:?}"))),
        }
    }
}

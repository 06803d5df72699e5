//! The Bybit v5 frame parser: topics dispatched on their prefix, books kept in sync
//! with `u`, tickers merged from deltas, op replies classified.
//!
//! A live connection (a plan with symbols) yields records only for its own symbols:
//! a topic of another symbol — also one of another category, e.g. an inverse contract
//! on a linear connection, which would be labelled with this connection's market — is
//! [`Parsed::Ignored`]. A plan without symbols (recordings) takes every symbol.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Funding, Level, Liquidation, MarkPrice, OpenInterest, Record, Ticker, Trade,
};

use super::wire;
use super::Category;
use crate::book::resync::Resyncs;
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{Answer, FrameParser, ParseError, Parsed, Refusal};
use crate::contract::{Channel, ChannelSet};
use crate::convert::{dec, dec_opt, ms_text_to_ns, side};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// The last full ticker of a symbol, deltas merged onto it (text as sent).
#[derive(Debug, Default, Clone)]
struct TickerState {
    fields: HashMap<&'static str, SmolStr>,
}

impl TickerState {
    fn get(&self, k: &str) -> Option<&str> {
        self.fields.get(k).map(|s| s.as_str())
    }
}

/// Parser state of one Bybit connection (one category: spot, linear or inverse).
pub struct BybitParser {
    emit: Emitter,
    category: Category,
    channels: ChannelSet,
    config: BookConfig,
    books: HashMap<SmolStr, BookSync>,
    /// Book topic per native symbol (`orderbook.50.BTCUSDT`), for resubscription.
    book_topics: HashMap<SmolStr, String>,
    tickers: HashMap<SmolStr, TickerState>,
    /// Book resyncs (request ids `resync1`, `resync2`, ...).
    resyncs: Resyncs,
    /// The planned native symbols; empty = every symbol is taken (recordings).
    planned: Planned,
}

impl BybitParser {
    pub fn new(
        category: Category,
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
        config: &BookConfig,
    ) -> Self {
        BybitParser {
            emit: Emitter::new("bybit", symbols, fallback),
            category,
            channels,
            config: config.clone(),
            books: HashMap::new(),
            book_topics: HashMap::new(),
            tickers: HashMap::new(),
            resyncs: Resyncs::new(std::time::Duration::from_secs(2)).first_id(1),
            planned: Planned::new(symbols),
        }
    }

    fn on_trades(&mut self, data: &str, ts: i64, out: &mut Vec<Record>) -> Result<(), ParseError> {
        let trades: Vec<wire::Trade> = serde_json::from_str(data)?;
        for t in trades {
            let trade = Trade {
                price: dec(t.price, "publicTrade.p")?,
                size: dec(t.size, "publicTrade.v")?,
                side: side(t.side, "publicTrade.S")?,
                trade_id: t.id.into(),
            };
            self.emit.push(
                out,
                t.symbol,
                Some(ms_to_ns(t.time)),
                ts,
                t.seq,
                t.id,
                Data::Trade(trade),
            );
        }
        Ok(())
    }

    fn on_bbo(
        &mut self,
        f: &wire::Frame,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let b: wire::Book = serde_json::from_str(data)?;
        let level = |l: Option<&(&str, &str)>, c| -> Result<(Option<_>, Option<_>), ParseError> {
            match l {
                Some((p, s)) => Ok((Some(dec(p, c)?), Some(dec(s, c)?))),
                None => Ok((None, None)),
            }
        };
        let (bid_price, bid_size) = level(b.bids.first(), "orderbook.1.b")?;
        let (ask_price, ask_size) = level(b.asks.first(), "orderbook.1.a")?;
        let bbo = Bbo {
            bid_price,
            bid_size,
            ask_price,
            ask_size,
        };
        let ts_ex = f.cts.or(f.ts).map(ms_to_ns);
        // Level 1 is re-sent unchanged (same `u`) every 3 s: same event, same id.
        self.emit.push(
            out,
            b.symbol,
            ts_ex,
            ts,
            Some(b.update_id),
            b.update_id,
            Data::Bbo(bbo),
        );
        Ok(())
    }

    fn on_book(
        &mut self,
        topic: &str,
        f: &wire::Frame,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let b: wire::Book = serde_json::from_str(data)?;
        let levels = |ls: &[(&str, &str)], c| -> Result<Vec<Level>, ParseError> {
            ls.iter()
                .map(|(p, s)| Ok(Level(dec(p, c)?, dec(s, c)?)))
                .collect()
        };
        let bids = levels(&b.bids, "orderbook.b")?;
        let asks = levels(&b.asks, "orderbook.a")?;
        let native = SmolStr::new(b.symbol);
        self.book_topics
            .entry(native.clone())
            .or_insert_with(|| topic.to_string());
        let info = self.emit.symbol(&native);
        let config = &self.config;
        let book = self
            .books
            .entry(native.clone())
            .or_insert_with(|| BookSync::new("bybit", info, config));
        let stamp = Stamp {
            ts_exchange: f.cts.or(f.ts).map(ms_to_ns),
            ts_recv: ts,
        };
        let u = b.update_id;
        match f.kind {
            // A snapshot (initial, re-sent after a problem on Bybit's side, or `u = 1`
            // after a service restart) replaces the book whatever came before.
            Some("snapshot") => {
                self.resyncs.done(&native);
                book.snapshot(stamp, Some(u), bids, asks, None, out);
            }
            Some("delta") => {
                if !book.is_synced() {
                    return Ok(());
                }
                let last = book.seq().unwrap_or(0);
                if u == last + 1 {
                    book.update(stamp, Some(u), bids, asks, None, out);
                } else if u <= last {
                    // A duplicate or stale delta: already covered.
                } else {
                    book.gap(
                        stamp,
                        Some(last + 1),
                        Some(u),
                        "orderbook update id u is not consecutive",
                        out,
                    );
                    self.resyncs.request(&native);
                }
            }
            other => {
                return Err(ParseError::Unknown(format!("orderbook type {other:?}")));
            }
        }
        Ok(())
    }

    fn on_ticker(
        &mut self,
        f: &wire::Frame,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let t: wire::Ticker = serde_json::from_str(data)?;
        let native = SmolStr::new(t.symbol);
        let snapshot = f.kind != Some("delta");
        let state = self.tickers.entry(native.clone()).or_default();
        if snapshot {
            state.fields.clear();
        }
        let changed: [(&'static str, Option<&str>); 16] = [
            ("lastPrice", t.last_price),
            ("prevPrice24h", t.prev_price24h),
            ("highPrice24h", t.high_price24h),
            ("lowPrice24h", t.low_price24h),
            ("markPrice", t.mark_price),
            ("indexPrice", t.index_price),
            ("openInterest", t.open_interest),
            ("openInterestValue", t.open_interest_value),
            ("turnover24h", t.turnover24h),
            ("volume24h", t.volume24h),
            ("nextFundingTime", t.next_funding_time),
            ("fundingRate", t.funding_rate),
            ("bid1Price", t.bid1_price),
            ("bid1Size", t.bid1_size),
            ("ask1Price", t.ask1_price),
            ("ask1Size", t.ask1_size),
        ];
        for (k, v) in changed {
            if let Some(v) = v {
                state.fields.insert(k, SmolStr::new(v));
            }
        }
        let state = state.clone();
        let did = |k: &str| changed.iter().any(|(n, v)| *n == k && v.is_some());
        let ts_ex = f.ts.map(ms_to_ns);
        let suffix = match f.cs {
            Some(cs) => format!("{}.{cs}", f.ts.unwrap_or(0)),
            None => format!("{}", f.ts.unwrap_or(0)),
        };
        let g = |k: &'static str| dec_opt(state.get(k), k);
        if self.channels.contains(Channel::Ticker) {
            // Inverse contracts count volume24h in contracts (USD) and turnover24h in
            // the base coin; linear and spot the other way round.
            let (volume, quote_volume) = match self.category {
                Category::Inverse => (g("turnover24h")?, g("volume24h")?),
                _ => (g("volume24h")?, g("turnover24h")?),
            };
            let ticker = Ticker {
                last: g("lastPrice")?,
                bid_price: g("bid1Price")?,
                bid_size: g("bid1Size")?,
                ask_price: g("ask1Price")?,
                ask_size: g("ask1Size")?,
                open_24h: g("prevPrice24h")?,
                high_24h: g("highPrice24h")?,
                low_24h: g("lowPrice24h")?,
                volume_24h: volume,
                quote_volume_24h: quote_volume,
            };
            self.emit.push(
                out,
                &native,
                ts_ex,
                ts,
                f.cs,
                &suffix,
                Data::Ticker(Box::new(ticker)),
            );
        }
        if self.channels.contains(Channel::Funding)
            && (snapshot || did("fundingRate") || did("nextFundingTime"))
        {
            if let Some(rate) = g("fundingRate")? {
                let funding = Funding {
                    rate,
                    predicted_rate: None,
                    next_funding_ts: state.get("nextFundingTime").and_then(ms_text_to_ns),
                };
                self.emit.push(
                    out,
                    &native,
                    ts_ex,
                    ts,
                    f.cs,
                    &suffix,
                    Data::Funding(funding),
                );
            }
        }
        if self.channels.contains(Channel::OpenInterest)
            && (snapshot || did("openInterest") || did("openInterestValue"))
        {
            if let Some(oi) = g("openInterest")? {
                let oi = OpenInterest {
                    open_interest: oi,
                    open_interest_value: g("openInterestValue")?,
                };
                self.emit.push(
                    out,
                    &native,
                    ts_ex,
                    ts,
                    f.cs,
                    &suffix,
                    Data::OpenInterest(oi),
                );
            }
        }
        if self.channels.contains(Channel::MarkPrice)
            && (snapshot || did("markPrice") || did("indexPrice"))
        {
            if let Some(mark) = g("markPrice")? {
                let m = MarkPrice {
                    mark_price: mark,
                    index_price: g("indexPrice")?,
                };
                self.emit
                    .push(out, &native, ts_ex, ts, f.cs, &suffix, Data::MarkPrice(m));
            }
        }
        Ok(())
    }

    fn on_liquidations(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let items: Vec<wire::Liquidation> = if data.trim_start().starts_with('[') {
            serde_json::from_str(data)?
        } else {
            vec![serde_json::from_str(data)?]
        };
        for l in items {
            // `S` is the liquidated position's side; the liquidation order is opposite.
            let position = side(l.side, "allLiquidation.S")?;
            let liq = Liquidation {
                price: dec(l.price, "allLiquidation.p")?,
                size: dec(l.size, "allLiquidation.v")?,
                side: position.opposite(),
            };
            let suffix = format!("{}.{}.{}.{}", l.time, l.side, l.price, l.size);
            self.emit.push(
                out,
                l.symbol,
                Some(ms_to_ns(l.time)),
                ts,
                None,
                suffix,
                Data::Liquidation(liq),
            );
        }
        Ok(())
    }

    fn on_op(&mut self, f: &wire::Frame) -> Result<Parsed, ParseError> {
        let op = f.op.unwrap_or_default();
        let req = f.req_id.clone().unwrap_or_default();
        let msg = f.ret_msg.clone().unwrap_or_default();
        if f.success == Some(false) {
            let reason = format!("{op} request {req:?}: {msg}");
            return Ok(Parsed::Refused(match (op, req.parse::<u64>()) {
                ("subscribe", Ok(id)) => Refusal::of(Answer::Id(id), Vec::new(), reason),
                _ => Refusal::unattributed(reason),
            }));
        }
        match op {
            "pong" => Ok(Parsed::Heartbeat),
            "ping" if msg == "pong" => Ok(Parsed::Heartbeat),
            "subscribe" | "unsubscribe" if req.starts_with("resync") || op == "unsubscribe" => {
                Ok(Parsed::Info(format!("{op} {req} (resync)")))
            }
            "subscribe" => match req.parse::<u64>() {
                Ok(id) => Ok(Parsed::Acked(Answer::Id(id))),
                Err(_) => Ok(Parsed::Info(format!(
                    "subscribed ({req:?}: not a request of ours)"
                ))),
            },
            other => Err(ParseError::Unknown(format!("op {other:?} ({msg})"))),
        }
    }

    /// Frames resubscribing the books due for a resync (unsubscribe, then subscribe:
    /// the fresh subscription starts with a snapshot).
    pub fn take_resubscribe(&mut self, now: i64) -> Vec<String> {
        let topics = &self.book_topics;
        self.resyncs.frames(now, |native, op, id| {
            let topic = topics.get(native)?;
            Some(
                serde_json::json!({"req_id": format!("resync{id}"), "op": op, "args": [topic]})
                    .to_string(),
            )
        })
    }
}

impl FrameParser for BybitParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        self.resyncs.tick(ts_recv);
        let f: wire::Frame = serde_json::from_str(text)?;
        let Some(topic) = f.topic else {
            if f.op.is_some() || f.success.is_some() {
                return self.on_op(&f);
            }
            return Err(ParseError::Unknown(format!(
                "frame {}",
                crate::exchanges::binance::parser_preview(text)
            )));
        };
        let data = f
            .data
            .map(|d| d.get())
            .ok_or_else(|| ParseError::Malformed(format!("topic {topic} without data")))?;
        let (name, _) = topic.split_once('.').unwrap_or((topic, ""));
        // Data topics end in their symbol: `publicTrade.BTCUSDT`, `orderbook.50.BTCUSDT`.
        let data_topic = matches!(
            name,
            "publicTrade" | "orderbook" | "tickers" | "allLiquidation" | "liquidation"
        );
        let symbol = topic.rsplit('.').next().unwrap_or(topic);
        if data_topic && !self.planned.allows(symbol) {
            return Ok(NOT_PLANNED);
        }
        match name {
            "publicTrade" => self.on_trades(data, ts_recv, out)?,
            "orderbook" => {
                if topic.starts_with("orderbook.1.") {
                    self.on_bbo(&f, data, ts_recv, out)?
                } else {
                    self.on_book(topic, &f, data, ts_recv, out)?
                }
            }
            "tickers" => self.on_ticker(&f, data, ts_recv, out)?,
            "allLiquidation" | "liquidation" => self.on_liquidations(data, ts_recv, out)?,
            k if k.starts_with("kline") => return Ok(Parsed::Ignored("kline")),
            "insurance" => return Ok(Parsed::Ignored("insurance")),
            "priceLimit" => return Ok(Parsed::Ignored("priceLimit")),
            "adlAlert" => return Ok(Parsed::Ignored("adlAlert")),
            other => return Err(ParseError::Unknown(format!("topic {other:?}"))),
        }
        Ok(Parsed::Data)
    }

    fn resubscribe(&mut self) -> Vec<String> {
        self.take_resubscribe(self.resyncs.last_ts())
    }
}

#[cfg(test)]
mod planned_tests {
    use super::*;
    use crate::exchanges::bybit::Bybit;
    use crate::exchanges::testing;
    use tickbridge_schema::Market;

    fn parser(symbols: &[&str]) -> BybitParser {
        Bybit.new_parser(&testing::frames_plan(&Bybit, Market::Perp, symbols))
    }

    const OTHER_SYMBOL: &str = r#"{"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"ETHUSDT","S":"Buy","v":"0.001","p":"1657.50","i":"a1","BT":false}]}"#;
    /// An inverse contract's ticker (another category) reaching a linear connection.
    const INVERSE: &str = r#"{"topic":"tickers.BTCUSD","type":"snapshot","data":{"symbol":"BTCUSD","lastPrice":"17216.00","markPrice":"17217.33"},"cs":1,"ts":1673272861686}"#;
    const OTHER_BOOK: &str = r#"{"topic":"orderbook.50.SOLUSDT","type":"delta","ts":1,"data":{"s":"SOLUSDT","b":[],"a":[],"u":9,"seq":1},"cts":1}"#;
    const OTHER_LIQUIDATION: &str = r#"{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}]}"#;

    #[test]
    fn frames_of_symbols_the_plan_does_not_name_are_ignored() {
        let mut p = parser(&["BTC-USDT-PERP"]);
        let mut out = Vec::new();
        for frame in [OTHER_SYMBOL, INVERSE, OTHER_BOOK, OTHER_LIQUIDATION] {
            assert_eq!(p.parse(frame, 9, &mut out), Ok(NOT_PLANNED), "{frame}");
        }
        assert!(out.is_empty() && p.books.is_empty() && p.tickers.is_empty());
        assert!(p.resubscribe().is_empty());
        let own = OTHER_SYMBOL.replace("ETHUSDT", "BTCUSDT");
        assert_eq!(p.parse(&own, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 1);
        // Control frames and unknown topics are classified as before.
        let ack =
            r#"{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":"1","op":"subscribe"}"#;
        assert!(matches!(p.parse(ack, 9, &mut out), Ok(Parsed::Acked(_))));
        let unknown = r#"{"topic":"foo.ETHUSDT","data":{}}"#;
        assert_eq!(
            p.parse(unknown, 9, &mut out).unwrap_err().label(),
            "unknown"
        );
    }

    #[test]
    fn without_planned_symbols_every_symbol_is_taken() {
        let mut p = parser(&[]);
        let mut out = Vec::new();
        for frame in [OTHER_SYMBOL, INVERSE, OTHER_LIQUIDATION] {
            assert_eq!(p.parse(frame, 9, &mut out), Ok(Parsed::Data), "{frame}");
        }
        assert_eq!(out.len(), 4, "{out:?}"); // trade, ticker + mark price, liquidation
    }
}

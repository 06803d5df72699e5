//! The OKX v5 frame parser: pushes dispatched on `arg.channel`, books kept in sync
//! with `seqId`/`prevSeqId` (or, on recordings older than the sequence ids, the legacy
//! checksum), events classified (acks, errors, notices), text `pong`.
//!
//! A live connection (a plan with symbols) yields records only for its own
//! instruments: a push of another instrument (`arg.instId`; for the type-wide
//! `liquidation-orders`, each item's `instId`) is [`Parsed::Ignored`]. A plan without
//! symbols (recordings) takes every instrument.

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Dec, Funding, Liquidation, MarkPrice, OpenInterest, Record, Ticker, Trade,
};

use super::wire;
use crate::book::resync::Resyncs;
use crate::book::text::{LevelText, TextBook};
use crate::book::{tag_book_ids, BookConfig, BookSync, Stamp};
use crate::checksum::crc32;
use crate::contract::{Answer, FrameParser, ParseError, Parsed, Refusal, PARSER_REQUEST_IDS};
use crate::contract::{Channel, ChannelSet};
use crate::convert::{dec, dec_opt, ms_text_to_ns, side};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};

/// Levels per side in the legacy checksum.
const CHECKSUM_LEVELS: usize = 25;

/// One instrument's book with the text of its levels (the legacy checksum is
/// computed over the text as sent).
type OkxBook = TextBook;

/// The text of levels `[price, size, ...]` as sent.
fn texts<'s, 't>(levels: &'s [(&'t str, &'t str)]) -> impl Iterator<Item = LevelText<'t>> + 's {
    levels.iter().map(|&l| Ok(l))
}

/// Names OKX's level fields in errors.
const LEVEL_FIELDS: (&str, &str) = ("books.px", "books.sz");

/// The legacy checksum of a book as it stands.
fn book_checksum(b: &OkxBook) -> i32 {
    legacy_checksum(b.top_bids(CHECKSUM_LEVELS), b.top_asks(CHECKSUM_LEVELS))
}

/// OKX's legacy (deprecated) book checksum: the first 25 bids and asks interleaved as
/// `bidPx:bidSz:askPx:askSz:...` (a missing level is left out), CRC32 as a signed
/// 32-bit integer.
pub fn legacy_checksum<'a>(
    bids: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
    asks: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
) -> i32 {
    crc32(legacy_checksum_string(bids, asks).as_bytes()) as i32
}

/// The string the legacy checksum is computed over.
pub fn legacy_checksum_string<'a>(
    bids: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
    asks: impl Iterator<Item = &'a (SmolStr, SmolStr)>,
) -> String {
    let bids: Vec<_> = bids.collect();
    let asks: Vec<_> = asks.collect();
    let mut parts: Vec<&str> = Vec::with_capacity(4 * CHECKSUM_LEVELS);
    for i in 0..bids.len().max(asks.len()) {
        if let Some((p, s)) = bids.get(i) {
            parts.push(p);
            parts.push(s);
        }
        if let Some((p, s)) = asks.get(i) {
            parts.push(p);
            parts.push(s);
        }
    }
    parts.join(":")
}

/// Parser state of one OKX connection.
pub struct OkxParser {
    emit: Emitter,
    channels: ChannelSet,
    config: BookConfig,
    books: HashMap<SmolStr, OkxBook>,
    /// The book channel subscribed per instrument (`books` or `books5`).
    book_channel: HashMap<SmolStr, String>,
    /// Book resyncs (request ids from [`PARSER_REQUEST_IDS`] on).
    resyncs: Resyncs,
    /// Instruments of this connection (liquidations are pushed for a whole type);
    /// empty = every instrument is taken (recordings).
    planned: Planned,
}

impl OkxParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
        config: &BookConfig,
    ) -> Self {
        OkxParser {
            emit: Emitter::new("okx", symbols, fallback),
            channels,
            config: config.clone(),
            books: HashMap::new(),
            book_channel: HashMap::new(),
            resyncs: Resyncs::new(std::time::Duration::from_secs(5)).first_id(PARSER_REQUEST_IDS),
            planned: Planned::new(symbols),
        }
    }

    fn on_trades(&mut self, data: &str, ts: i64, out: &mut Vec<Record>) -> Result<(), ParseError> {
        let trades: Vec<wire::Trade> = serde_json::from_str(data)?;
        for t in trades {
            let trade = Trade {
                price: dec(t.px, "trades.px")?,
                size: dec(t.sz, "trades.sz")?,
                side: side(t.side, "trades.side")?,
                trade_id: t.trade_id.into(),
            };
            self.emit.push(
                out,
                t.inst_id,
                ms_text_to_ns(t.ts),
                ts,
                t.trade_id.parse().ok(),
                t.trade_id,
                Data::Trade(trade),
            );
        }
        Ok(())
    }

    fn on_tickers(&mut self, data: &str, ts: i64, out: &mut Vec<Record>) -> Result<(), ParseError> {
        let tickers: Vec<wire::Ticker> = serde_json::from_str(data)?;
        for t in tickers {
            // Spot counts vol24h in base and volCcy24h in quote; derivatives count
            // vol24h in contracts and volCcy24h in base.
            let spot = !matches!(t.inst_type, Some(i) if i != "SPOT" && i != "MARGIN");
            let (volume, quote_volume) = if spot {
                (
                    dec_opt(t.vol24h, "vol24h")?,
                    dec_opt(t.vol_ccy24h, "volCcy24h")?,
                )
            } else {
                (dec_opt(t.vol_ccy24h, "volCcy24h")?, None)
            };
            let ticker = Ticker {
                last: dec_opt(t.last, "last")?,
                bid_price: dec_opt(t.bid_px, "bidPx")?,
                bid_size: dec_opt(t.bid_sz, "bidSz")?,
                ask_price: dec_opt(t.ask_px, "askPx")?,
                ask_size: dec_opt(t.ask_sz, "askSz")?,
                open_24h: dec_opt(t.open24h, "open24h")?,
                high_24h: dec_opt(t.high24h, "high24h")?,
                low_24h: dec_opt(t.low24h, "low24h")?,
                volume_24h: volume,
                quote_volume_24h: quote_volume,
            };
            self.emit.push(
                out,
                t.inst_id,
                ms_text_to_ns(t.ts),
                ts,
                None,
                t.ts,
                Data::Ticker(Box::new(ticker)),
            );
        }
        Ok(())
    }

    fn on_bbo(
        &mut self,
        inst: &str,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let books = wire::Book::parse_all(data)?;
        for b in books {
            let top = |ls: &[(&str, &str)], c| -> Result<(Option<Dec>, Option<Dec>), ParseError> {
                match ls.first() {
                    Some(&(p, s)) => Ok((Some(dec(p, c)?), Some(dec(s, c)?))),
                    None => Ok((None, None)),
                }
            };
            let (bid_price, bid_size) = top(&b.bids, "bbo-tbt.bids")?;
            let (ask_price, ask_size) = top(&b.asks, "bbo-tbt.asks")?;
            let bbo = Bbo {
                bid_price,
                bid_size,
                ask_price,
                ask_size,
            };
            let seq = b.seq_id.and_then(|s| u64::try_from(s).ok());
            let suffix = match seq {
                Some(s) => format!("{s}"),
                None => format!("t{}", b.ts),
            };
            self.emit.push(
                out,
                inst,
                ms_text_to_ns(b.ts),
                ts,
                seq,
                suffix,
                Data::Bbo(bbo),
            );
        }
        Ok(())
    }

    fn on_books(
        &mut self,
        channel: &str,
        inst: &str,
        action: Option<&str>,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let books = wire::Book::parse_all(data)?;
        let native = SmolStr::new(inst);
        if !self.book_channel.contains_key(&native) {
            self.book_channel
                .insert(native.clone(), channel.to_string());
        }
        for b in books {
            let (emit, config) = (&mut self.emit, &self.config);
            let book = self.books.entry(native.clone()).or_insert_with(|| {
                TextBook::new(BookSync::new("okx", emit.symbol(&native), config))
            });
            let stamp = Stamp {
                ts_exchange: ms_text_to_ns(b.ts),
                ts_recv: ts,
            };
            let seq = b.seq_id.and_then(|s| u64::try_from(s).ok());
            // `books5` pushes whole 5-level snapshots without an action.
            let snapshot = action != Some("update");
            // The checksum is deprecated (always 0 now); a non-zero one is verified.
            let claimed = b.checksum.filter(|c| *c != 0);
            if snapshot {
                book.clear();
                let (bids, asks) = book.set_levels(texts(&b.bids), texts(&b.asks), LEVEL_FIELDS)?;
                let ok = claimed.map(|c| book_checksum(book) as i64 == c);
                if ok == Some(false) {
                    // `got` is reported as the checksum of the emptied book, as it
                    // always was (recorded outputs depend on it).
                    book.clear();
                    let got = book_checksum(book);
                    book.resync(
                        &mut self.resyncs,
                        &native,
                        stamp,
                        (claimed.map(|c| c as u32 as u64), Some(got as u32 as u64)),
                        "checksum mismatch on the book snapshot",
                        out,
                    );
                    continue;
                }
                self.resyncs.done(&native);
                let first = out.len();
                book.sync.snapshot(stamp, seq, bids, asks, ok, out);
                if seq.is_none() {
                    // Recordings from before `seqId`: named by time and checksum.
                    tag_book_ids(&mut out[first..], b.checksum.unwrap_or(0));
                }
                continue;
            }
            if !book.sync.is_synced() {
                continue;
            }
            let last = book.sync.seq();
            if let (Some(prev), Some(this)) = (b.prev_seq_id, b.seq_id) {
                // In order iff prevSeqId is the last applied seqId (seqIds are not
                // contiguous; after maintenance seqId may restart lower, which the
                // rule accepts).
                let last_i = last.map(|l| l as i64);
                if last_i.is_some_and(|l| prev < l && this <= l) {
                    // Older than the chain's position (a late, reordered message, or
                    // one the fresh snapshot already covers): nothing to apply.
                    continue;
                }
                if Some(prev) != last_i {
                    book.resync(
                        &mut self.resyncs,
                        &native,
                        stamp,
                        (last, u64::try_from(prev).ok()),
                        "prevSeqId does not match the last seqId",
                        out,
                    );
                    continue;
                }
            }
            let (bids, asks) = book.set_levels(texts(&b.bids), texts(&b.asks), LEVEL_FIELDS)?;
            if bids.is_empty() && asks.is_empty() && seq.is_some() && seq == last {
                // No change for a while: OKX's keep-alive update (seqId == prevSeqId).
                continue;
            }
            book.sync.apply(&bids, &asks);
            let ok = claimed.map(|c| book_checksum(book) as i64 == c);
            if ok == Some(false) {
                let computed = book_checksum(book);
                book.resync(
                    &mut self.resyncs,
                    &native,
                    stamp,
                    (
                        claimed.map(|c| c as u32 as u64),
                        Some(computed as u32 as u64),
                    ),
                    "checksum mismatch after applying an update",
                    out,
                );
                continue;
            }
            let first = out.len();
            book.sync.publish_update(stamp, seq, bids, asks, ok, out);
            if seq.is_none() {
                // Recordings from before `seqId`: named by time and checksum.
                tag_book_ids(&mut out[first..], b.checksum.unwrap_or(0));
            }
        }
        Ok(())
    }

    fn on_funding(&mut self, data: &str, ts: i64, out: &mut Vec<Record>) -> Result<(), ParseError> {
        let items: Vec<wire::FundingRate> = serde_json::from_str(data)?;
        for f in items {
            let funding = Funding {
                rate: dec(f.funding_rate, "fundingRate")?,
                predicted_rate: dec_opt(f.next_funding_rate, "nextFundingRate")?,
                next_funding_ts: f.funding_time.and_then(ms_text_to_ns),
            };
            self.emit.push(
                out,
                f.inst_id,
                ms_text_to_ns(f.ts),
                ts,
                None,
                f.ts,
                Data::Funding(funding),
            );
        }
        Ok(())
    }

    fn on_open_interest(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let items: Vec<wire::OpenInterest> = serde_json::from_str(data)?;
        for o in items {
            let oi = OpenInterest {
                open_interest: dec(o.oi, "oi")?,
                open_interest_value: dec_opt(o.oi_usd, "oiUsd")?,
            };
            self.emit.push(
                out,
                o.inst_id,
                ms_text_to_ns(o.ts),
                ts,
                None,
                o.ts,
                Data::OpenInterest(oi),
            );
        }
        Ok(())
    }

    fn on_mark_price(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let items: Vec<wire::MarkPrice> = serde_json::from_str(data)?;
        for m in items {
            let mark = MarkPrice {
                mark_price: dec(m.mark_px, "markPx")?,
                index_price: None,
            };
            self.emit.push(
                out,
                m.inst_id,
                ms_text_to_ns(m.ts),
                ts,
                None,
                m.ts,
                Data::MarkPrice(mark),
            );
        }
        Ok(())
    }

    /// Liquidations of this connection's instruments; `false` when the push carried
    /// some and every one was of another instrument.
    fn on_liquidations(
        &mut self,
        data: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<bool, ParseError> {
        let items: Vec<wire::Liquidations> = serde_json::from_str(data)?;
        let any_planned = items.is_empty() || items.iter().any(|l| self.planned.allows(l.inst_id));
        for l in items {
            // The channel carries every instrument of the type: keep this connection's.
            if !self.planned.allows(l.inst_id) {
                continue;
            }
            for d in l.details {
                let (Some(s), Some(px)) = (d.side, d.bk_px) else {
                    continue; // MARGIN liquidations carry neither.
                };
                let liq = Liquidation {
                    price: dec(px, "bkPx")?,
                    size: dec(d.sz, "sz")?,
                    side: side(s, "liquidation side")?,
                };
                let suffix = format!("{}.{s}.{px}.{}", d.ts, d.sz);
                self.emit.push(
                    out,
                    l.inst_id,
                    ms_text_to_ns(d.ts),
                    ts,
                    None,
                    suffix,
                    Data::Liquidation(liq),
                );
            }
        }
        Ok(any_planned)
    }

    fn on_event(&mut self, event: &str, f: &wire::Frame) -> Result<Parsed, ParseError> {
        let code = f.code.clone().unwrap_or_default();
        let msg = f.msg.clone().unwrap_or_default();
        match event {
            "subscribe" => {
                let what = f
                    .arg
                    .as_ref()
                    .map(|a| {
                        format!(
                            "{}:{}",
                            a.channel,
                            a.inst_id
                                .as_deref()
                                .or(a.inst_type.as_deref())
                                .unwrap_or("")
                        )
                    })
                    .unwrap_or_default();
                // One acknowledgement per arg, each an answer of its request; an
                // answer without an id names its arg (`books:BTC-USDT`).
                match f.id.as_deref().map(str::parse::<u64>) {
                    Some(Ok(n)) if n >= PARSER_REQUEST_IDS => {
                        Ok(Parsed::Info(format!("resubscribed {what}")))
                    }
                    Some(Ok(n)) => Ok(Parsed::Acked(Answer::Id(n))),
                    _ => Ok(Parsed::Acked(Answer::Topic(what.into()))),
                }
            }
            "unsubscribe" => Ok(Parsed::Info(format!("unsubscribed ({msg})"))),
            "error" => {
                let reason = format!("error {code}: {msg}");
                Ok(Parsed::Refused(
                    match f.id.as_deref().map(str::parse::<u64>) {
                        Some(Ok(n)) if n < PARSER_REQUEST_IDS => {
                            Refusal::of(Answer::Id(n), Vec::new(), reason)
                        }
                        _ => Refusal::unattributed(reason),
                    },
                ))
            }
            // 64008: the connection closes for a service upgrade; reconnect early.
            "notice" if code == "64008" => Ok(Parsed::Reconnect(format!("notice {code}: {msg}"))),
            "notice" => Ok(Parsed::Info(format!("notice {code}: {msg}"))),
            "channel-conn-count" => Ok(Parsed::Info(format!(
                "connection count on {}",
                f.channel.as_deref().unwrap_or("")
            ))),
            "channel-conn-count-error" => Ok(Parsed::Refused(Refusal::unattributed(format!(
                "connection count limit on {}",
                f.channel.as_deref().unwrap_or("")
            )))),
            "login" => Ok(Parsed::Info("login".into())),
            other => Err(ParseError::Unknown(format!("event {other:?}"))),
        }
    }

    /// Frames resubscribing the books due for a resync (unsubscribe, then subscribe:
    /// the fresh subscription starts with a snapshot).
    pub fn take_resubscribe(&mut self, now: i64) -> Vec<String> {
        let book_channel = &self.book_channel;
        self.resyncs.frames(now, |native, op, id| {
            let channel = book_channel.get(native).map_or("books", String::as_str);
            Some(
                serde_json::json!({"id": id.to_string(), "op": op, "args": [{"channel": channel, "instId": native.as_str()}]})
                    .to_string(),
            )
        })
    }
}

impl FrameParser for OkxParser {
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
        if let Some(event) = f.event {
            return self.on_event(event, &f);
        }
        let (Some(arg), Some(data)) = (&f.arg, f.data) else {
            return Err(ParseError::Unknown(format!(
                "frame {}",
                crate::exchanges::binance::parser_preview(text)
            )));
        };
        let data = data.get();
        let inst = arg.inst_id.as_deref().unwrap_or("");
        let data_channel = matches!(
            arg.channel.as_ref(),
            "trades"
                | "tickers"
                | "books"
                | "books5"
                | "books-l2-tbt"
                | "books50-l2-tbt"
                | "bbo-tbt"
                | "funding-rate"
                | "open-interest"
                | "mark-price"
        );
        if data_channel && !self.planned.allows(inst) {
            return Ok(NOT_PLANNED);
        }
        match arg.channel.as_ref() {
            "trades" => self.on_trades(data, ts_recv, out)?,
            "tickers" => self.on_tickers(data, ts_recv, out)?,
            "books" | "books5" | "books-l2-tbt" | "books50-l2-tbt" => {
                if arg.channel == "books5" && !self.channels.contains(Channel::Book) {
                    return Ok(Parsed::Ignored("books5"));
                }
                self.on_books(&arg.channel, inst, f.action, data, ts_recv, out)?
            }
            "bbo-tbt" => {
                let inst = inst.to_string();
                self.on_bbo(&inst, data, ts_recv, out)?
            }
            "funding-rate" => self.on_funding(data, ts_recv, out)?,
            "open-interest" => self.on_open_interest(data, ts_recv, out)?,
            "mark-price" => self.on_mark_price(data, ts_recv, out)?,
            "liquidation-orders" => {
                if !self.on_liquidations(data, ts_recv, out)? {
                    return Ok(NOT_PLANNED);
                }
            }
            c if c.starts_with("candle") => return Ok(Parsed::Ignored("candle")),
            "index-tickers" => return Ok(Parsed::Ignored("index-tickers")),
            "price-limit" => return Ok(Parsed::Ignored("price-limit")),
            "instruments" => return Ok(Parsed::Ignored("instruments")),
            other => return Err(ParseError::Unknown(format!("channel {other:?}"))),
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
    use crate::exchanges::okx::Okx;
    use crate::exchanges::testing;
    use tickbridge_schema::Market;

    fn parser(symbols: &[&str]) -> OkxParser {
        Okx::DEFAULT.new_parser(&testing::frames_plan(&Okx::DEFAULT, Market::Perp, symbols))
    }

    const OTHER_TRADE: &str = r#"{"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},"data":[{"instId":"ETH-USDT-SWAP","tradeId":"1","px":"2219.9","sz":"1","side":"buy","ts":"1630048897897"}]}"#;
    /// A dated future of the same pair: another market, another instrument.
    const OTHER_MARKET: &str = r#"{"arg":{"channel":"mark-price","instId":"BTC-USDT-250627"},"data":[{"instType":"FUTURES","instId":"BTC-USDT-250627","markPx":"42310.6","ts":"1630049139746"}]}"#;
    const OTHER_BOOK: &str = r#"{"arg":{"channel":"books","instId":"ETH-USDT-SWAP"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":0,"seqId":5}]}"#;
    const OTHER_LIQUIDATIONS: &str = r#"{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}]}"#;

    #[test]
    fn pushes_of_instruments_the_plan_does_not_name_are_ignored() {
        let mut p = parser(&["BTC-USDT-PERP"]);
        let mut out = Vec::new();
        for frame in [OTHER_TRADE, OTHER_MARKET, OTHER_BOOK, OTHER_LIQUIDATIONS] {
            assert_eq!(p.parse(frame, 9, &mut out), Ok(NOT_PLANNED), "{frame}");
        }
        assert!(out.is_empty() && p.books.is_empty());
        // A type-wide push with one of ours among others: ours only.
        let ours = r#"{"details":[{"bkLoss":"0","bkPx":"42000.5","ccy":"","posSide":"long","side":"sell","sz":"2","ts":"1692266434011"}],"instFamily":"BTC-USDT","instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT"}"#;
        let mixed = format!(
            "{},{ours}]}}",
            OTHER_LIQUIDATIONS.strip_suffix("]}").unwrap()
        );
        assert_eq!(p.parse(&mixed, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].symbol, "BTC-USDT-PERP");
        let own = OTHER_TRADE.replace("ETH-USDT-SWAP", "BTC-USDT-SWAP");
        assert_eq!(p.parse(&own, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn without_planned_instruments_every_instrument_is_taken() {
        let mut p = parser(&[]);
        let mut out = Vec::new();
        for frame in [OTHER_TRADE, OTHER_MARKET, OTHER_BOOK, OTHER_LIQUIDATIONS] {
            assert_eq!(p.parse(frame, 9, &mut out), Ok(Parsed::Data), "{frame}");
        }
        assert_eq!(out.len(), 4, "{out:?}");
    }
}

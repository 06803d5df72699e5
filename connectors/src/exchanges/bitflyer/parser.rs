//! The bitFlyer Realtime API parser.
//!
//! A live connection (a plan with symbols) yields records only for its own products:
//! a frame of another product is [`NOT_PLANNED`]. A plan without symbols
//! (recordings) takes every product.

use std::collections::HashMap;

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Dec, Level, Record, Side, Ticker, Trade};

use super::wire;
use crate::book::{BookConfig, BookSync, OrderBook, Stamp};
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{dec_raw, id_text};
use crate::envelope::Emitter;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::parse_rfc3339_utc;

/// Parser state of one bitFlyer connection.
pub struct BitflyerParser {
    channels: ChannelSet,
    emit: Emitter,
    planned: Planned,
    books: HashMap<SmolStr, BookSync>,
    config: BookConfig,
}

/// A decimal's value times `10^scale` as an integer (`None` when it does not fit).
fn scaled(d: &Dec, scale: u32) -> Option<i128> {
    let text = d.as_str();
    let (neg, text) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() as u32 > scale {
        return None;
    }
    let mut digits = String::with_capacity(int.len() + scale as usize);
    digits.push_str(int);
    digits.push_str(frac);
    digits.extend(std::iter::repeat_n('0', scale as usize - frac.len()));
    let v: i128 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

fn decimals(d: &Dec) -> u32 {
    d.as_str()
        .split_once('.')
        .map_or(0, |(_, f)| f.len() as u32)
}

/// Whether `mid` is the mid of `bid` and `ask` truncated to `mid`'s precision:
/// `mid <= (bid + ask) / 2 < mid + 10^-decimals(mid)`. `None` when the values are too
/// precise to compare.
pub fn mid_agrees(bid: &Dec, ask: &Dec, mid: &Dec) -> Option<bool> {
    let scale = decimals(bid).max(decimals(ask)).max(decimals(mid));
    if scale > 30 {
        return None;
    }
    let sum = scaled(bid, scale)?.checked_add(scaled(ask, scale)?)?;
    let twice_mid = scaled(mid, scale)?.checked_mul(2)?;
    let unit = 10i128.checked_pow(scale - decimals(mid))?.checked_mul(2)?;
    Some(twice_mid <= sum && sum < twice_mid.checked_add(unit)?)
}

fn levels(raw: Vec<wire::BoardLevel<'_>>) -> Result<Vec<Level>, ParseError> {
    let mut out = Vec::with_capacity(raw.len());
    for l in raw {
        let price = dec_raw(l.price, "board.price")?;
        // `price: 0` is an itayose market-order match, not a level.
        if price.is_zero() {
            continue;
        }
        out.push(Level(price, dec_raw(l.size, "board.size")?));
    }
    Ok(out)
}

fn opt_dec(raw: Option<&RawValue>, what: &'static str) -> Result<Option<Dec>, ParseError> {
    raw.map(|r| dec_raw(r, what)).transpose()
}

/// A best price of the ticker; `0` means the side is empty.
fn best(raw: Option<&RawValue>, what: &'static str) -> Result<Option<Dec>, ParseError> {
    Ok(opt_dec(raw, what)?.filter(|d| !d.is_zero()))
}

impl BitflyerParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        books: &BookConfig,
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        BitflyerParser {
            channels,
            emit: Emitter::new("bitflyer", symbols, fallback),
            planned: Planned::new(symbols),
            books: HashMap::new(),
            config: books.clone(),
        }
    }

    /// The book state of `native`, once one of its board messages arrived.
    pub fn book(&self, native: &str) -> Option<&BookSync> {
        self.books.get(native)
    }

    fn book_mut(&mut self, native: &str) -> &mut BookSync {
        if !self.books.contains_key(native) {
            let symbol = self.emit.symbol(native);
            self.books.insert(
                SmolStr::new(native),
                BookSync::new("bitflyer", symbol, &self.config),
            );
        }
        self.books.get_mut(native).expect("inserted above")
    }

    /// Why the board of `book` fails its checks against `mid_price`, if it does.
    fn broken(b: &OrderBook, mid: Option<&Dec>) -> Option<String> {
        if b.is_crossed() {
            return Some("crossed book: best bid at or above best ask".into());
        }
        let (Some((bid, _)), Some((ask, _)), Some(mid)) = (b.best_bid(), b.best_ask(), mid) else {
            return None;
        };
        match mid_agrees(bid, ask, mid) {
            Some(false) => Some(format!(
                "mid_price {} disagrees with the book's best bid {} and ask {}",
                mid.as_str(),
                bid.as_str(),
                ask.as_str()
            )),
            _ => None,
        }
    }

    fn on_board(
        &mut self,
        native: &str,
        message: &str,
        snapshot: bool,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let board: wire::Board = serde_json::from_str(message)?;
        let mid = opt_dec(board.mid_price, "board.mid_price")?;
        let bids = levels(board.bids)?;
        let asks = levels(board.asks)?;
        if !self.channels.contains(Channel::Book) {
            return Ok(Parsed::Ignored("board without the book channel"));
        }
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv: ts,
        };
        let book = self.book_mut(native);
        if snapshot {
            let mut check = OrderBook::new();
            check.replace(&bids, &asks);
            match Self::broken(&check, mid.as_ref()) {
                None => book.snapshot(stamp, None, bids, asks, None, out),
                Some(why) => book.gap(stamp, None, None, format!("snapshot: {why}"), out),
            }
            return Ok(Parsed::Data);
        }
        if !book.is_synced() {
            return Ok(Parsed::Data);
        }
        book.apply(&bids, &asks);
        match Self::broken(book.book(), mid.as_ref()) {
            None => book.publish_update(stamp, None, bids, asks, None, out),
            Some(why) => book.gap(
                stamp,
                None,
                None,
                format!("{why}; waiting for the next board snapshot"),
                out,
            ),
        }
        Ok(Parsed::Data)
    }

    fn on_executions(
        &mut self,
        native: &str,
        message: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let executions: Vec<wire::Execution> = serde_json::from_str(message)?;
        let mut trades = Vec::with_capacity(executions.len());
        for e in &executions {
            let side = match e.side {
                "BUY" => Side::Buy,
                "SELL" => Side::Sell,
                // An itayose match has no taker.
                "" => continue,
                other => {
                    return Err(ParseError::Invalid {
                        context: "execution.side",
                        detail: format!("{other:?}"),
                    })
                }
            };
            let ts_ex = parse_rfc3339_utc(e.exec_date).ok_or_else(|| ParseError::Invalid {
                context: "execution.exec_date",
                detail: e.exec_date.to_string(),
            })?;
            let trade = Trade {
                price: dec_raw(e.price, "execution.price")?,
                size: dec_raw(e.size, "execution.size")?,
                side,
                trade_id: id_text(e.id),
            };
            trades.push((e.id, ts_ex, trade));
        }
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Ignored("executions without the trade channel"));
        }
        if trades.is_empty() && !executions.is_empty() {
            return Ok(Parsed::Ignored("itayose executions (no taker side)"));
        }
        for (id, ts_ex, trade) in trades {
            self.emit
                .push(out, native, Some(ts_ex), ts, None, id, Data::Trade(trade));
        }
        Ok(Parsed::Data)
    }

    fn on_ticker(
        &mut self,
        native: &str,
        message: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Ticker = serde_json::from_str(message)?;
        let ts_ex = parse_rfc3339_utc(t.timestamp).ok_or_else(|| ParseError::Invalid {
            context: "ticker.timestamp",
            detail: t.timestamp.to_string(),
        })?;
        let bid_price = best(t.best_bid, "ticker.best_bid")?;
        let ask_price = best(t.best_ask, "ticker.best_ask")?;
        let bid_size = bid_price
            .as_ref()
            .and(opt_dec(t.best_bid_size, "ticker.best_bid_size")?);
        let ask_size = ask_price
            .as_ref()
            .and(opt_dec(t.best_ask_size, "ticker.best_ask_size")?);
        let seq = Some(t.tick_id);
        let (want_bbo, want_ticker) = (
            self.channels.contains(Channel::Bbo),
            self.channels.contains(Channel::Ticker),
        );
        if !want_bbo && !want_ticker {
            return Ok(Parsed::Ignored("ticker without the ticker or bbo channel"));
        }
        if want_bbo {
            let bbo = Bbo {
                bid_price: bid_price.clone(),
                bid_size: bid_size.clone(),
                ask_price: ask_price.clone(),
                ask_size: ask_size.clone(),
            };
            self.emit
                .push(out, native, Some(ts_ex), ts, seq, t.tick_id, Data::Bbo(bbo));
        }
        if want_ticker {
            let ticker = Ticker {
                last: opt_dec(t.ltp, "ticker.ltp")?,
                bid_price,
                bid_size,
                ask_price,
                ask_size,
                open_24h: None,
                high_24h: None,
                low_24h: None,
                volume_24h: opt_dec(t.volume_by_product, "ticker.volume_by_product")?,
                quote_volume_24h: None,
            };
            self.emit.push(
                out,
                native,
                Some(ts_ex),
                ts,
                seq,
                t.tick_id,
                Data::Ticker(Box::new(ticker)),
            );
        }
        Ok(Parsed::Data)
    }

    /// A response to a request: `result: true` acknowledges it, anything else refuses.
    fn on_response(env: &wire::Envelope<'_>) -> Parsed {
        let id = env.id.and_then(|raw| raw.get().parse::<u64>().ok());
        let Some(id) = id else {
            return Parsed::Info(format!(
                "response to a request without a numeric id: {}",
                env.result.map_or("error", |r| r.get())
            ));
        };
        if let Some(e) = &env.error {
            let reason = match e.code {
                Some(c) => format!("error {c}: {}", e.message),
                None => format!("error: {}", e.message),
            };
            return Parsed::Refused(Refusal::of(Answer::Id(id), vec![], reason));
        }
        match env.result.map(|r| r.get()) {
            Some("true") => Parsed::Acked(Answer::Id(id)),
            other => Parsed::Refused(Refusal::of(
                Answer::Id(id),
                vec![],
                format!("result {}", other.unwrap_or("missing")),
            )),
        }
    }
}

/// The product a channel name ends with, and what the channel is.
fn channel_of(channel: &str) -> Option<(&'static str, &str)> {
    for (kind, prefix) in [
        ("snapshot", "lightning_board_snapshot_"),
        ("board", "lightning_board_"),
        ("executions", "lightning_executions_"),
        ("ticker", "lightning_ticker_"),
    ] {
        if let Some(p) = channel.strip_prefix(prefix).filter(|p| !p.is_empty()) {
            return Some((kind, p));
        }
    }
    None
}

impl FrameParser for BitflyerParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        match env.method {
            Some("channelMessage") => {
                let params = env
                    .params
                    .ok_or_else(|| ParseError::Malformed("channelMessage without params".into()))?;
                let Some((kind, native)) = channel_of(params.channel) else {
                    if params.channel.contains("order_events") {
                        return Ok(Parsed::Ignored("private order events"));
                    }
                    return Err(ParseError::Unknown(format!("channel {:?}", params.channel)));
                };
                if !self.planned.allows(native) {
                    return Ok(NOT_PLANNED);
                }
                let message = params.message.get();
                match kind {
                    "snapshot" => self.on_board(native, message, true, ts_recv, out),
                    "board" => self.on_board(native, message, false, ts_recv, out),
                    "executions" => self.on_executions(native, message, ts_recv, out),
                    _ => self.on_ticker(native, message, ts_recv, out),
                }
            }
            Some(other) => Err(ParseError::Unknown(format!("method {other:?}"))),
            None if env.result.is_some() || env.error.is_some() => Ok(Self::on_response(&env)),
            None => Err(ParseError::Unknown(
                "a frame without method or result".into(),
            )),
        }
    }
}

#[cfg(test)]
mod mid_tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn the_mid_price_is_the_truncated_mid() {
        // The recording's cases: truncated to the decimals of `mid_price`.
        assert_eq!(
            mid_agrees(&d("50244.91"), &d("50275.02"), &d("50259.96")),
            Some(true)
        );
        assert_eq!(
            mid_agrees(&d("471156"), &d("471501"), &d("471328")),
            Some(true)
        );
        assert_eq!(
            mid_agrees(&d("31.469"), &d("31.556"), &d("31.512")),
            Some(true)
        );
        assert_eq!(
            mid_agrees(&d("95.96"), &d("96.13"), &d("96.045")),
            Some(true)
        );
        assert_eq!(
            mid_agrees(&d("5868836"), &d("5870583"), &d("5869789")),
            Some(false)
        );
        assert_eq!(mid_agrees(&d("10"), &d("12"), &d("12")), Some(false));
    }
}

//! The Coinbase Advanced Trade parser: envelopes dispatched on `channel`, the
//! connection-wide `sequence_num` checked on every message, level2 books per product.

use std::collections::BTreeMap;

use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Level, Record, Status, StatusEvent, Ticker, Trade};

use super::wire;
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{Answer, FrameParser, ParseError, Parsed, Refusal};
use crate::contract::{Channel, ChannelSet};
use crate::convert::{dec, dec_opt, side};
use crate::envelope::Emitter;
use crate::symbols::SymbolInfo;
use crate::time::parse_rfc3339_utc;

/// Parser state of one Coinbase Advanced Trade connection.
pub struct CoinbaseAdvancedParser {
    emit: Emitter,
    channels: ChannelSet,
    config: BookConfig,
    books: BTreeMap<SmolStr, BookSync>,
    /// The last `sequence_num` seen on this connection.
    last_seq: Option<u64>,
    /// Products whose level2 subscription must be renewed (after a sequence jump).
    resync: Vec<SmolStr>,
    planned: Vec<SymbolInfo>,
}

impl CoinbaseAdvancedParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
        config: &BookConfig,
    ) -> Self {
        CoinbaseAdvancedParser {
            emit: Emitter::new("coinbase-advanced", symbols, fallback),
            channels,
            config: config.clone(),
            books: BTreeMap::new(),
            last_seq: None,
            resync: Vec::new(),
            planned: symbols.to_vec(),
        }
    }

    /// Checks the connection-wide sequence: every message must carry the previous
    /// `sequence_num` + 1. A jump means messages of this connection were lost, for any
    /// product: every book is broken (`status gap`, resubscribed), and the other
    /// channels get a connection-level `status gap` per product.
    fn check_sequence(&mut self, seq: u64, ts: i64, ts_ex: Option<i64>, out: &mut Vec<Record>) {
        let expected = self.last_seq.map(|l| l + 1);
        self.last_seq = Some(seq);
        let Some(expected) = expected else {
            return;
        };
        if seq == expected {
            return;
        }
        let stamp = Stamp {
            ts_exchange: ts_ex,
            ts_recv: ts,
        };
        let reason = "sequence_num jumped: messages of this connection were lost";
        for (native, book) in self.books.iter_mut() {
            book.gap(stamp, Some(expected), Some(seq), reason, out);
            if !self.resync.contains(native) {
                self.resync.push(native.clone());
            }
        }
        if self.channels.contains(Channel::Trade) || self.channels.contains(Channel::Ticker) {
            let products: Vec<SmolStr> = self.planned.iter().map(|s| s.native.clone()).collect();
            for p in products {
                let status = Status {
                    event: StatusEvent::Gap,
                    channel: None,
                    reason: Some(reason.into()),
                    expected: Some(expected),
                    got: Some(seq),
                };
                self.emit.push(
                    out,
                    &p,
                    ts_ex,
                    ts,
                    Some(seq),
                    format!("gap.{expected}.{seq}"),
                    Data::Status(status),
                );
            }
        }
    }

    fn on_trades(
        &mut self,
        events: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let events: Vec<wire::TradesEvent> = serde_json::from_str(events)?;
        for e in events {
            for t in e.trades {
                let trade = Trade {
                    price: dec(t.price, "market_trades.price")?,
                    size: dec(t.size, "market_trades.size")?,
                    // Advanced Trade reports the taker's side (the Exchange feed's
                    // `match` reports the maker's).
                    side: side(t.side, "market_trades.side")?,
                    trade_id: t.trade_id.into(),
                };
                self.emit.push(
                    out,
                    t.product_id,
                    parse_rfc3339_utc(t.time),
                    ts,
                    t.trade_id.parse().ok(),
                    t.trade_id,
                    Data::Trade(trade),
                );
            }
        }
        Ok(())
    }

    fn on_tickers(
        &mut self,
        events: &str,
        ts: i64,
        ts_ex: Option<i64>,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let events: Vec<wire::TickerEvent> = serde_json::from_str(events)?;
        let suffix = format!("t{}", ts_ex.unwrap_or(ts));
        for e in events {
            for t in e.tickers {
                let bid_price = dec_opt(t.best_bid, "ticker.best_bid")?;
                let bid_size = dec_opt(t.best_bid_quantity, "ticker.best_bid_quantity")?;
                let ask_price = dec_opt(t.best_ask, "ticker.best_ask")?;
                let ask_size = dec_opt(t.best_ask_quantity, "ticker.best_ask_quantity")?;
                if self.channels.contains(Channel::Bbo) {
                    let bbo = Bbo {
                        bid_price: bid_price.clone(),
                        bid_size: bid_size.clone(),
                        ask_price: ask_price.clone(),
                        ask_size: ask_size.clone(),
                    };
                    self.emit
                        .push(out, t.product_id, ts_ex, ts, None, &suffix, Data::Bbo(bbo));
                }
                if self.channels.contains(Channel::Ticker) {
                    let ticker = Ticker {
                        last: dec_opt(t.price, "ticker.price")?,
                        bid_price,
                        bid_size,
                        ask_price,
                        ask_size,
                        open_24h: None,
                        high_24h: dec_opt(t.high_24_h, "ticker.high_24_h")?,
                        low_24h: dec_opt(t.low_24_h, "ticker.low_24_h")?,
                        volume_24h: dec_opt(t.volume_24_h, "ticker.volume_24_h")?,
                        quote_volume_24h: None,
                    };
                    self.emit.push(
                        out,
                        t.product_id,
                        ts_ex,
                        ts,
                        None,
                        &suffix,
                        Data::Ticker(ticker),
                    );
                }
            }
        }
        Ok(())
    }

    fn on_l2(
        &mut self,
        events: &str,
        seq: Option<u64>,
        ts: i64,
        ts_ex: Option<i64>,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        let events: Vec<wire::L2Event> = serde_json::from_str(events)?;
        for e in events {
            let (mut bids, mut asks) = (Vec::new(), Vec::new());
            for u in &e.updates {
                let level = Level(
                    dec(u.price_level, "l2_data.price_level")?,
                    dec(u.new_quantity, "l2_data.new_quantity")?,
                );
                match u.side {
                    "bid" => bids.push(level),
                    "offer" | "ask" => asks.push(level),
                    other => {
                        return Err(ParseError::Invalid {
                            context: "l2_data.side",
                            detail: format!("{other:?}"),
                        })
                    }
                }
            }
            let native = SmolStr::new(e.product_id);
            let info = self.emit.symbol(&native);
            let config = &self.config;
            let book = self
                .books
                .entry(native.clone())
                .or_insert_with(|| BookSync::new("coinbase-advanced", info, config));
            let stamp = Stamp {
                ts_exchange: ts_ex,
                ts_recv: ts,
            };
            let first = out.len();
            match e.kind {
                "snapshot" => {
                    self.resync.retain(|p| p != &native);
                    book.snapshot(stamp, seq, bids, asks, None, out);
                }
                "update" => book.update(stamp, seq, bids, asks, None, out),
                other => return Err(ParseError::Unknown(format!("l2_data type {other:?}"))),
            }
            // `sequence_num` restarts with every connection: the exchange timestamp
            // keeps ids distinct across connections.
            for r in &mut out[first..] {
                if matches!(r.data, Data::Book(_)) {
                    r.id.push_str(&format!(".t{}", ts_ex.unwrap_or(ts)));
                }
            }
        }
        Ok(())
    }
}

impl FrameParser for CoinbaseAdvancedParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let env: wire::Envelope = serde_json::from_str(text)?;
        if env.kind == Some("error") {
            // Requests are answered in the order they were sent.
            let reason = env.message.unwrap_or_default();
            return Ok(Parsed::Refused(Refusal::of(
                Answer::InOrder,
                Vec::new(),
                reason,
            )));
        }
        let Some(channel) = env.channel else {
            return Err(ParseError::Unknown(format!(
                "frame {}",
                crate::exchanges::binance::parser_preview(text)
            )));
        };
        let ts_ex = env.timestamp.and_then(parse_rfc3339_utc);
        if let Some(seq) = env.sequence_num {
            self.check_sequence(seq, ts_recv, ts_ex, out);
        }
        let events = env.events.map(|e| e.get()).unwrap_or("[]");
        match channel {
            "subscriptions" => {
                // One `subscriptions` message per request, in order.
                let _: Vec<wire::SubscriptionsEvent> = serde_json::from_str(events)?;
                return Ok(Parsed::Acked(Answer::InOrder));
            }
            "heartbeats" => return Ok(Parsed::Heartbeat),
            "market_trades" => self.on_trades(events, ts_recv, out)?,
            "ticker" | "ticker_batch" => self.on_tickers(events, ts_recv, ts_ex, out)?,
            "l2_data" => self.on_l2(events, env.sequence_num, ts_recv, ts_ex, out)?,
            "candles" => return Ok(Parsed::Ignored("candles")),
            "status" => return Ok(Parsed::Ignored("status")),
            other => return Err(ParseError::Unknown(format!("channel {other:?}"))),
        }
        Ok(Parsed::Data)
    }

    /// After a sequence jump: unsubscribe and subscribe `level2` again for the products
    /// whose books broke (one channel per message, as the exchange requires); the new
    /// subscription starts with a snapshot.
    fn resubscribe(&mut self) -> Vec<String> {
        if self.resync.is_empty() {
            return Vec::new();
        }
        let products: Vec<&str> = self.resync.iter().map(|s| s.as_str()).collect();
        let frames = ["unsubscribe", "subscribe"]
            .iter()
            .map(|t| {
                serde_json::json!({"type": t, "product_ids": products, "channel": "level2"})
                    .to_string()
            })
            .collect();
        // Requested once; the snapshots clear the list, a new jump fills it again.
        self.resync.clear();
        frames
    }
}

//! The Coinbase Advanced Trade parser: envelopes dispatched on `channel`, the
//! connection-wide `sequence_num` checked on every message, level2 books per product.
//!
//! A live connection (a plan with symbols) yields records only for its own products:
//! events of another product are skipped, and a message with nothing but such events
//! is [`Parsed::Ignored`] (its `sequence_num` still counts: it is the connection's).
//! A plan without symbols (recordings) takes every product.

use std::collections::BTreeMap;

use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Data, Level, Record, Status, StatusEvent, Ticker, Trade};

use super::wire;
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{Answer, FrameParser, ParseError, Parsed, Refusal};
use crate::contract::{Channel, ChannelSet};
use crate::convert::{dec, dec_opt, side};
use crate::envelope::Emitter;
use crate::symbols::{Admitted, Planned, SymbolInfo, NOT_PLANNED};
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
    /// The planned products by native name; empty = every product is taken.
    natives: Planned,
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
            natives: Planned::new(symbols),
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
    ) -> Result<Admitted, ParseError> {
        let events: Vec<wire::TradesEvent> = serde_json::from_str(events)?;
        let mut items = Admitted::default();
        for e in events {
            for t in e.trades {
                if !self.natives.admit(t.product_id, &mut items) {
                    continue;
                }
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
        Ok(items)
    }

    fn on_tickers(
        &mut self,
        events: &str,
        ts: i64,
        ts_ex: Option<i64>,
        out: &mut Vec<Record>,
    ) -> Result<Admitted, ParseError> {
        let events: Vec<wire::TickerEvent> = serde_json::from_str(events)?;
        let suffix = format!("t{}", ts_ex.unwrap_or(ts));
        let mut items = Admitted::default();
        for e in events {
            for t in e.tickers {
                if !self.natives.admit(t.product_id, &mut items) {
                    continue;
                }
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
                        Data::Ticker(Box::new(ticker)),
                    );
                }
            }
        }
        Ok(items)
    }

    fn on_l2(
        &mut self,
        events: &str,
        seq: Option<u64>,
        ts: i64,
        ts_ex: Option<i64>,
        out: &mut Vec<Record>,
    ) -> Result<Admitted, ParseError> {
        let events: Vec<wire::L2Event> = serde_json::from_str(events)?;
        let mut items = Admitted::default();
        for e in events {
            if !self.natives.admit(e.product_id, &mut items) {
                continue;
            }
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
        Ok(items)
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
            "market_trades" | "ticker" | "ticker_batch" | "l2_data" => {
                let items = match channel {
                    "market_trades" => self.on_trades(events, ts_recv, out)?,
                    "l2_data" => self.on_l2(events, env.sequence_num, ts_recv, ts_ex, out)?,
                    _ => self.on_tickers(events, ts_recv, ts_ex, out)?,
                };
                if items.none_planned() {
                    return Ok(NOT_PLANNED);
                }
            }
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

#[cfg(test)]
mod planned_tests {
    use super::*;
    use crate::exchanges::coinbase_advanced::CoinbaseAdvanced;
    use crate::exchanges::testing;
    use tickbridge_schema::Market;

    fn parser(symbols: &[&str]) -> CoinbaseAdvancedParser {
        CoinbaseAdvanced.new_parser(&testing::frames_plan(
            &CoinbaseAdvanced,
            Market::Spot,
            symbols,
        ))
    }

    fn trade(product: &str, id: u64) -> String {
        format!(
            r#"{{"trade_id":"{id}","product_id":"{product}","price":"67231.87","size":"0.003","side":"BUY","time":"2026-02-18T16:42:26.685302Z"}}"#
        )
    }

    fn trades(seq: u64, trades: &[String]) -> String {
        format!(
            r#"{{"channel":"market_trades","client_id":"","timestamp":"2026-02-18T16:42:26.7Z","sequence_num":{seq},"events":[{{"type":"update","trades":[{}]}}]}}"#,
            trades.join(",")
        )
    }

    #[test]
    fn events_of_products_the_plan_does_not_name_are_skipped_and_such_messages_ignored() {
        let mut p = parser(&["BTC-USD"]);
        let mut out = Vec::new();
        let l2 = r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":1,"events":[{"type":"snapshot","product_id":"ETH-USD","updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"}]}]}"#;
        let ticker = r#"{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":2,"events":[{"type":"snapshot","tickers":[{"type":"ticker","product_id":"ETH-USD","price":"21932.98","volume_24_h":"16038.28770938","low_24_h":"21835.29","high_24_h":"23011.18","low_52_w":"15460","high_52_w":"48240","price_percent_chg_24_h":"-4.15775596190603"}]}]}"#;
        for f in [trades(0, &[trade("ETH-USD", 1)]), l2.into(), ticker.into()] {
            assert_eq!(p.parse(&f, 9, &mut out), Ok(NOT_PLANNED), "{f}");
        }
        assert!(out.is_empty() && p.books.is_empty());
        // Mixed: only ours; the sequence went on through the ignored messages.
        let mixed = trades(3, &[trade("ETH-USD", 2), trade("BTC-USD", 3)]);
        assert_eq!(p.parse(&mixed, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].symbol, "BTC-USD");
    }

    #[test]
    fn without_planned_products_every_product_is_taken() {
        let mut p = parser(&[]);
        let mut out = Vec::new();
        let f = trades(0, &[trade("ETH-USD", 1), trade("SOL-USD", 2)]);
        assert_eq!(p.parse(&f, 9, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 2);
    }
}

//! The Coinbase Exchange feed parser.
//!
//! A live connection (a plan with symbols) yields records only for its own products:
//! a message of another product is [`Parsed::Ignored`]. A plan without symbols
//! (recordings) takes every product.

use std::collections::HashMap;

use serde::Deserialize;
use smol_str::SmolStr;
use tickbridge_schema::{Bbo, Book, Data, Level, Record, Side, Status, StatusEvent, Ticker, Trade};

use super::wire;
use crate::contract::{Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal};
use crate::convert::{id_text, side};
use crate::envelope::Emitter;
use crate::exchanges::binance::parser_preview as preview;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::parse_rfc3339_utc;

/// Parser state of one Coinbase connection.
pub struct CoinbaseParser {
    channels: ChannelSet,
    emit: Emitter,
    /// Highest trade id seen per product, checked against heartbeats' `last_trade_id`.
    last_trade_id: HashMap<SmolStr, u64>,
    /// The planned products; empty = every product is taken (recordings).
    planned: Planned,
}

impl CoinbaseParser {
    pub fn new(
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        CoinbaseParser {
            channels,
            emit: Emitter::new("coinbase", symbols, fallback),
            last_trade_id: HashMap::new(),
            planned: Planned::new(symbols),
        }
    }

    fn on_match(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let m: wire::Match = serde_json::from_str(text)?;
        if !self.planned.allows(m.product_id) {
            return Ok(NOT_PLANNED);
        }
        let maker = side(m.side, "match.side")?;
        let last = self
            .last_trade_id
            .entry(SmolStr::new(m.product_id))
            .or_insert(0);
        *last = (*last).max(m.trade_id);
        let trade = Trade {
            price: m.price,
            size: m.size,
            side: maker.opposite(),
            trade_id: id_text(m.trade_id),
        };
        self.emit.push(
            out,
            m.product_id,
            parse_rfc3339_utc(m.time),
            ts,
            m.sequence,
            m.trade_id,
            Data::Trade(trade),
        );
        Ok(Parsed::Data)
    }

    fn on_ticker(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let t: wire::Ticker = serde_json::from_str(text)?;
        if !self.planned.allows(t.product_id) {
            return Ok(NOT_PLANNED);
        }
        let ts_ex = t.time.and_then(parse_rfc3339_utc);
        if self.channels.contains(Channel::Bbo) {
            let bbo = Bbo {
                bid_price: t.best_bid.clone(),
                bid_size: t.best_bid_size.clone(),
                ask_price: t.best_ask.clone(),
                ask_size: t.best_ask_size.clone(),
            };
            self.emit.push(
                out,
                t.product_id,
                ts_ex,
                ts,
                Some(t.sequence),
                t.sequence,
                Data::Bbo(bbo),
            );
        }
        if self.channels.contains(Channel::Ticker) {
            let ticker = Ticker {
                last: t.price,
                bid_price: t.best_bid,
                bid_size: t.best_bid_size,
                ask_price: t.best_ask,
                ask_size: t.best_ask_size,
                open_24h: t.open_24h,
                high_24h: t.high_24h,
                low_24h: t.low_24h,
                volume_24h: t.volume_24h,
                quote_volume_24h: None,
            };
            self.emit.push(
                out,
                t.product_id,
                ts_ex,
                ts,
                Some(t.sequence),
                t.sequence,
                Data::Ticker(Box::new(ticker)),
            );
        }
        Ok(Parsed::Data)
    }

    fn on_snapshot(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let s: wire::Snapshot = serde_json::from_str(text)?;
        if !self.planned.allows(s.product_id) {
            return Ok(NOT_PLANNED);
        }
        let book = Book {
            bids: s.bids.into_iter().map(|(p, q)| Level(p, q)).collect(),
            asks: s.asks.into_iter().map(|(p, q)| Level(p, q)).collect(),
            snapshot: true,
            prev_seq: None,
            checksum_ok: None,
        };
        // The feed has no sequence on level2_batch: the id hashes the frame, which is
        // the same for the same exchange event.
        self.emit.push(
            out,
            s.product_id,
            None,
            ts,
            None,
            format_args!("snap.{:016x}", fnv1a(text)),
            Data::Book(book),
        );
        Ok(Parsed::Data)
    }

    fn on_l2update(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let u: wire::L2Update = serde_json::from_str(text)?;
        if !self.planned.allows(u.product_id) {
            return Ok(NOT_PLANNED);
        }
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        for (s, price, size) in u.changes {
            match side(s, "l2update.changes")? {
                Side::Buy => bids.push(Level(price, size)),
                Side::Sell => asks.push(Level(price, size)),
            }
        }
        let ts_ex = parse_rfc3339_utc(u.time);
        let book = Book {
            bids,
            asks,
            snapshot: false,
            prev_seq: None,
            checksum_ok: None,
        };
        let suffix = format_args!("{}.{:016x}", ts_ex.unwrap_or(0), fnv1a(text));
        self.emit
            .push(out, u.product_id, ts_ex, ts, None, suffix, Data::Book(book));
        Ok(Parsed::Data)
    }

    fn on_heartbeat(
        &mut self,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let h: wire::Heartbeat = serde_json::from_str(text)?;
        if !self.planned.allows(h.product_id) {
            return Ok(NOT_PLANNED);
        }
        if !self.channels.contains(Channel::Trade) {
            return Ok(Parsed::Heartbeat);
        }
        if let Some(last) = self.last_trade_id.get_mut(h.product_id) {
            if *last > 0 && h.last_trade_id > *last {
                let expected = *last + 1;
                *last = h.last_trade_id;
                let status = Status {
                    event: StatusEvent::Gap,
                    channel: Some("trade".into()),
                    reason: Some(
                        "heartbeat last_trade_id is ahead of the last match received".into(),
                    ),
                    expected: Some(expected),
                    got: Some(h.last_trade_id),
                };
                let suffix = format_args!("gap.{}", h.last_trade_id);
                self.emit.push(
                    out,
                    h.product_id,
                    None,
                    ts,
                    None,
                    suffix,
                    Data::Status(status),
                );
                return Ok(Parsed::Data);
            }
        } else {
            // Start tracking from the first heartbeat: trades before it are not ours to miss.
            self.last_trade_id
                .insert(SmolStr::new(h.product_id), h.last_trade_id);
        }
        Ok(Parsed::Heartbeat)
    }
}

/// FNV-1a, 64 bit: a stable hash for ids of events the feed does not number.
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The `type` tag: read from the frame's start when it comes first (it always does in
/// the live feed), else by a tag-only parse.
fn type_tag(text: &str) -> Result<std::borrow::Cow<'_, str>, ParseError> {
    if let Some(rest) = text.strip_prefix("{\"type\":\"") {
        if let Some(end) = rest.find('"') {
            return Ok(rest[..end].into());
        }
    }
    #[derive(Deserialize)]
    struct Tag {
        #[serde(rename = "type")]
        t: Option<String>,
    }
    let tag: Tag = serde_json::from_str(text)?;
    tag.t
        .map(Into::into)
        .ok_or_else(|| ParseError::Unknown(format!("untyped frame {}", preview(text))))
}

/// Product ids (`BASE-QUOTE`, upper case) named in an error text.
fn product_ids_in(text: &str) -> Vec<SmolStr> {
    let mut out: Vec<SmolStr> = Vec::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let mut parts = word.split('-');
        let (Some(base), Some(quote), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        };
        if part_ok(base) && part_ok(quote) && !out.iter().any(|s| s == word) {
            out.push(word.into());
        }
    }
    out
}

impl FrameParser for CoinbaseParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        let tag = type_tag(text)?;
        match tag.as_ref() {
            "match" | "last_match" => self.on_match(text, ts_recv, out),
            "ticker" => self.on_ticker(text, ts_recv, out),
            "snapshot" => self.on_snapshot(text, ts_recv, out),
            "l2update" => self.on_l2update(text, ts_recv, out),
            "heartbeat" => self.on_heartbeat(text, ts_recv, out),
            "subscriptions" => {
                // One `subscriptions` message per subscribe message, in order.
                let _: wire::Subscriptions = serde_json::from_str(text)?;
                Ok(Parsed::Acked(Answer::InOrder))
            }
            "error" => {
                let e: wire::Error = serde_json::from_str(text)?;
                let answers_request = e.message.to_ascii_lowercase().contains("subscribe");
                let reason = match e.reason {
                    Some(r) => format!("{}: {r}", e.message),
                    None => e.message,
                };
                // "XYZ-USD is not a valid product": the refusal concerns that product.
                let symbols = product_ids_in(&reason);
                Ok(Parsed::Refused(Refusal {
                    answer: answers_request.then_some(Answer::InOrder),
                    symbols,
                    reason,
                }))
            }
            "status" => Ok(Parsed::Ignored("status")),
            other => Err(ParseError::Unknown(format!("type {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::coinbase::Coinbase;

    fn run(frames: &[&str]) -> (Vec<Result<Parsed, ParseError>>, Vec<String>) {
        let plan = crate::contract::ConnectionPlan::for_frames("", tickbridge_schema::Market::Spot);
        let mut p = Coinbase::new_parser(&plan);
        let mut out = Vec::new();
        let results = frames.iter().map(|f| p.parse(f, 7, &mut out)).collect();
        (
            results,
            out.iter()
                .map(|r| String::from_utf8(r.to_json()).unwrap())
                .collect(),
        )
    }

    #[test]
    fn match_is_a_trade_with_the_taker_side() {
        let (r, out) = run(&[
            r#"{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66","taker_order_id":"132fb6ae","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}"#,
        ]);
        assert_eq!(r, vec![Ok(Parsed::Data)]);
        assert_eq!(
            out,
            vec![
                r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"BTC-USD","native":"BTC-USD","ts_exchange":1415348367028459000,"ts_recv":7,"seq":50,"id":"coinbase.spot.BTC-USD.trade.10","kind":"trade","price":"400.23","size":"5.23512","side":"buy","trade_id":"10"}"#
            ]
        );
    }

    #[test]
    fn ticker_is_bbo_and_ticker() {
        let (r, out) = run(&[
            r#"{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22","open_24h":"1310.79","volume_24h":"245532.79269678","low_24h":"1280.52","high_24h":"1313.8","volume_30d":"9788783.60117027","best_bid":"1285.04","best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040","side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,"last_size":"11.4396987"}"#,
        ]);
        assert_eq!(r, vec![Ok(Parsed::Data)]);
        assert_eq!(
            out,
            vec![
                r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"ETH-USD","native":"ETH-USD","ts_exchange":1666222102061769000,"ts_recv":7,"seq":37475248783,"id":"coinbase.spot.ETH-USD.bbo.37475248783","kind":"bbo","bid_price":"1285.04","bid_size":"0.46688654","ask_price":"1285.27","ask_size":"1.5663704"}"#,
                r#"{"v":1,"exchange":"coinbase","market":"spot","symbol":"ETH-USD","native":"ETH-USD","ts_exchange":1666222102061769000,"ts_recv":7,"seq":37475248783,"id":"coinbase.spot.ETH-USD.ticker.37475248783","kind":"ticker","last":"1285.22","bid_price":"1285.04","bid_size":"0.46688654","ask_price":"1285.27","ask_size":"1.5663704","open_24h":"1310.79","high_24h":"1313.8","low_24h":"1280.52","volume_24h":"245532.79269678","quote_volume_24h":null}"#,
            ]
        );
    }

    #[test]
    fn control_frames_are_classified() {
        let (r, out) = run(&[
            r#"{"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD","ETH-USD"]},{"name":"heartbeat","product_ids":["BTC-USD"]}]}"#,
            r#"{"type":"error","message":"Failed to subscribe","reason":"FOO-BAR is not a valid product"}"#,
            r#"{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}"#,
            r#"{"type":"mystery"}"#,
            r#"{"product_id":"BTC-USD"}"#,
            "{\"type\":\"match\"",
        ]);
        assert_eq!(r[0], Ok(Parsed::Acked(Answer::InOrder)));
        assert_eq!(
            r[1],
            Ok(Parsed::Refused(Refusal::of(
                Answer::InOrder,
                vec!["FOO-BAR".into()],
                "Failed to subscribe: FOO-BAR is not a valid product"
            )))
        );
        assert_eq!(r[2], Ok(Parsed::Heartbeat));
        assert_eq!(r[3], Err(ParseError::Unknown("type \"mystery\"".into())));
        assert_eq!(r[4].as_ref().unwrap_err().label(), "unknown");
        assert_eq!(r[5].as_ref().unwrap_err().label(), "malformed");
        assert!(out.is_empty());
    }

    #[test]
    fn heartbeat_ahead_of_matches_announces_a_trade_gap() {
        let m = |id: u64| {
            format!(
                r#"{{"type":"match","trade_id":{id},"sequence":{id},"time":"2014-11-07T08:19:27Z","product_id":"BTC-USD","size":"1","price":"2","side":"buy"}}"#
            )
        };
        let hb = |id: u64| {
            format!(
                r#"{{"type":"heartbeat","sequence":1,"last_trade_id":{id},"product_id":"BTC-USD","time":"2014-11-07T08:19:28Z"}}"#
            )
        };
        let frames = [m(20), hb(20), m(21), hb(24)];
        let refs: Vec<&str> = frames.iter().map(String::as_str).collect();
        let (r, out) = run(&refs);
        assert_eq!(
            r,
            vec![
                Ok(Parsed::Data),
                Ok(Parsed::Heartbeat),
                Ok(Parsed::Data),
                Ok(Parsed::Data)
            ]
        );
        assert_eq!(out.len(), 3);
        assert!(out[2].contains(r#""kind":"status","event":"gap","channel":"trade","reason":"heartbeat last_trade_id is ahead of the last match received","expected":22,"got":24"#), "{}", out[2]);
    }

    #[test]
    fn messages_of_products_the_plan_does_not_name_are_ignored() {
        use crate::exchanges::testing;
        let plan = testing::frames_plan(&Coinbase, tickbridge_schema::Market::Spot, &["BTC-USD"]);
        let mut p = Coinbase::new_parser(&plan);
        let mut out = Vec::new();
        let frames = [
            r#"{"type":"match","trade_id":10,"sequence":50,"time":"2014-11-07T08:19:27.028459Z","product_id":"ETH-USD","size":"5.23512","price":"400.23","side":"sell"}"#,
            r#"{"type":"last_match","trade_id":10,"sequence":50,"time":"2014-11-07T08:19:27.028459Z","product_id":"ETH-USD","size":"5.23512","price":"400.23","side":"sell"}"#,
            r#"{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22","best_bid":"1285.04","best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040","side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,"last_size":"11.4396987"}"#,
            r#"{"type":"snapshot","product_id":"ETH-USD","bids":[["10101.10","0.45054140"]],"asks":[]}"#,
            r#"{"type":"l2update","product_id":"ETH-USD","time":"2019-08-14T20:42:27.265Z","changes":[["buy","10101.80000000","0.162567"]]}"#,
            r#"{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"ETH-USD","time":"2014-11-07T08:19:28.464459Z"}"#,
        ];
        for f in frames {
            assert_eq!(p.parse(f, 7, &mut out), Ok(NOT_PLANNED), "{f}");
        }
        assert!(out.is_empty() && p.last_trade_id.is_empty());
        let own = frames[0].replace("ETH-USD", "BTC-USD");
        assert_eq!(p.parse(&own, 7, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 1);
        // Without planned products (recordings) every product is taken, as before.
        let (r, out) = run(&frames[..1]);
        assert_eq!((r, out.len()), (vec![Ok(Parsed::Data)], 1));
    }

    #[test]
    fn level2_snapshot_and_update() {
        let (r, out) = run(&[
            r#"{"type":"snapshot","product_id":"BTC-USD","bids":[["10101.10","0.45054140"]],"asks":[["10102.55","0.57753524"]]}"#,
            r#"{"type":"l2update","product_id":"BTC-USD","time":"2019-08-14T20:42:27.265Z","changes":[["buy","10101.80000000","0.162567"],["sell","10102.55","0"]]}"#,
        ]);
        assert_eq!(r, vec![Ok(Parsed::Data), Ok(Parsed::Data)]);
        assert!(out[0].contains(r#""kind":"book","bids":[["10101.1","0.4505414"]],"asks":[["10102.55","0.57753524"]],"snapshot":true"#), "{}", out[0]);
        assert!(
            out[1].contains(
                r#""bids":[["10101.8","0.162567"]],"asks":[["10102.55","0"]],"snapshot":false"#
            ),
            "{}",
            out[1]
        );
    }
}

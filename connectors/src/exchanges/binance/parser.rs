//! The Binance frame parser: combined-stream frames dispatched on the stream name,
//! replies classified as acks or refusals; `@depth` diffs kept in sync per symbol by
//! [`super::book`], with REST snapshots requested through [`FrameParser::rest_requests`].
//!
//! A live connection (a plan with symbols) yields records only for its own symbols: a
//! stream of another symbol is [`Parsed::Ignored`] (counted, no records, no book). A
//! plan without symbols (recordings, fuzzing) takes every symbol, normalized on first
//! sight.
//!
//! A snapshot that cannot be had (the fetcher's `Err`, or an unusable answer) is
//! announced by the symbol's book (`status stale`, once per failure episode, see
//! [`super::book`]) and asked for again with backoff.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use smol_str::SmolStr;
use tickbridge_schema::{
    Bbo, Data, Dec, Funding, Level, Liquidation, MarkPrice, Record, Side, Ticker, Trade,
};

use super::book::{BookVenue, Chain, Diff, Need, Snapshot, SnapshotOutcome, SymbolSync};
use super::{fast, wire};
use crate::book::{BookConfig, BookSync, Stamp};
use crate::contract::{
    Answer, Channel, ChannelSet, FrameParser, ParseError, Parsed, Refusal, RestRequest,
};
use crate::convert::{id_text, prefixed_id_text};
use crate::envelope::Emitter;
use crate::flat::split_once_byte;
use crate::symbols::{Planned, SymbolInfo, NOT_PLANNED};
use crate::time::ms_to_ns;

/// A frame of a stream the connection did not subscribe to.
const NOT_SUBSCRIBED: Parsed = Parsed::Ignored("a stream this connection did not subscribe to");

/// Parser state of one Binance connection.
pub struct BinanceParser {
    emit: Emitter,
    channels: ChannelSet,
    venue: BookVenue,
    book_config: BookConfig,
    /// Order books by native symbol (only with the `book` channel).
    books: HashMap<SmolStr, SymbolSync>,
    /// Snapshot requests not yet handed to the session.
    requests: Vec<RestRequest>,
    /// The planned native symbols, lower case as in stream names; empty = every
    /// symbol is taken (recordings).
    planned: Planned,
}

impl BinanceParser {
    /// A parser with the source's book options (`books`; an empty `rest_url` means
    /// `default_rest_url`).
    pub fn new(
        exchange: &'static str,
        channels: ChannelSet,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
        venue: BookVenue,
        books: &BookConfig,
        default_rest_url: &str,
    ) -> Self {
        let mut book_config = books.clone();
        if book_config.rest_url.is_empty() {
            book_config.rest_url = default_rest_url.to_string();
        }
        BinanceParser {
            emit: Emitter::new(exchange, symbols, fallback),
            channels,
            venue,
            book_config,
            books: HashMap::new(),
            requests: Vec::new(),
            planned: Planned::of(symbols.iter().map(|s| s.native.to_ascii_lowercase().into())),
        }
    }

    /// Whether frames of `symbol` (a stream name's symbol part, or a native symbol in
    /// any case) are this connection's.
    fn planned(&self, symbol: &str) -> bool {
        if self.planned.allows(symbol) {
            return true;
        }
        symbol.bytes().any(|b| b.is_ascii_uppercase())
            && self.planned.allows(&symbol.to_ascii_lowercase())
    }

    /// A snapshot of `key` could not be fetched or used: the book announces it (once
    /// per episode) and asks again with backoff.
    fn snapshot_failed(
        &mut self,
        key: &str,
        why: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Option<String> {
        let book = self.books.get_mut(key)?;
        let stamp = Stamp {
            ts_exchange: None,
            ts_recv,
        };
        let reason = format!("order-book snapshot unavailable: {why}; retrying with backoff");
        let (announced, need) = book.on_snapshot_failed(stamp, &reason, out);
        let failures = book.failures();
        self.request(key, need);
        let Need::Snapshot { attempt } = need else {
            return Some(format!(
                "failed order-book snapshot of {key} ignored: none is awaited ({why})"
            ));
        };
        let next = format!("asking again in {:?}", Need::delay(attempt));
        Some(if announced {
            format!(
                "order-book snapshot of {key} failed ({why}); announced as status stale, {next}"
            )
        } else {
            format!("order-book snapshot of {key} failed again (failure {failures}: {why}); {next}")
        })
    }

    /// A refusal of request `id` (the session knows what that request asked for).
    fn refusal(id: Option<&serde_json::Value>, reason: String) -> Parsed {
        match id.and_then(|v| v.as_u64()) {
            Some(n) => Parsed::Refused(Refusal::of(Answer::Id(n), Vec::new(), reason)),
            None => Parsed::Refused(Refusal::unattributed(reason)),
        }
    }

    /// The book sync of a native symbol, if its depth stream was seen.
    pub fn book(&self, native: &str) -> Option<&SymbolSync> {
        self.books.get(native)
    }

    /// A `@depth` diff: buffered until a snapshot bridges it, then chain-checked and
    /// published per symbol.
    fn on_depth(
        &mut self,
        d: wire::DepthUpdate,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<(), ParseError> {
        if self.venue.chain == Chain::Futures && d.prev_final_update_id.is_none() {
            return Err(ParseError::Invalid {
                context: "depthUpdate",
                detail: format!("futures diff of {} without pu", d.symbol),
            });
        }
        let diff = Diff {
            first: d.first_update_id,
            last: d.final_update_id,
            prev: d.prev_final_update_id,
            stamp: Stamp {
                ts_exchange: Some(ms_to_ns(d.time.unwrap_or(d.event_time))),
                ts_recv: ts,
            },
            bids: levels(d.bids),
            asks: levels(d.asks),
        };
        let need = match self.books.get_mut(d.symbol) {
            Some(book) => book.on_diff(diff, out),
            None => {
                let info = self.emit.symbol(d.symbol);
                let mut book = SymbolSync::new(
                    self.venue.chain,
                    BookSync::new(self.emit.exchange, info, &self.book_config),
                );
                let need = book.on_diff(diff, out);
                self.books.insert(SmolStr::new(d.symbol), book);
                need
            }
        };
        self.request(d.symbol, need);
        Ok(())
    }

    fn request(&mut self, native: &str, need: Need) {
        let Need::Snapshot { attempt } = need else {
            return;
        };
        let limit = (self.venue.depth)(self.book_config.snapshot_depth);
        let base = self.book_config.rest_url.trim_end_matches('/');
        self.requests.push(RestRequest {
            key: native.to_string(),
            url: format!("{base}{}?symbol={native}&limit={limit}", self.venue.path),
            weight: (self.venue.weight)(limit),
            limit: self.venue.limit,
            delay: Need::delay(attempt),
        });
    }

    fn on_stream(
        &mut self,
        kind: &str,
        text: &str,
        ts: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        // Stream names: `btcusdt@trade`, `btcusdt@depth@100ms`, `btcusd_perp@markPrice@1s`.
        let kind = split_once_byte(kind, b'@').map_or(kind, |(kind, _)| kind);
        let subscribed = |channel| self.channels.contains(channel);
        match kind {
            // A stream of a channel this connection did not ask for (a proxy or a
            // replay of a recording with more streams may send one) is skipped.
            "trade" | "aggTrade" if !subscribed(Channel::Trade) => return Ok(NOT_SUBSCRIBED),
            "bookTicker" if !subscribed(Channel::Bbo) => return Ok(NOT_SUBSCRIBED),
            "ticker" if !subscribed(Channel::Ticker) => return Ok(NOT_SUBSCRIBED),
            "forceOrder" if !subscribed(Channel::Liquidation) => return Ok(NOT_SUBSCRIBED),
            "trade" => {
                let t = fast::trade(text).map_or_else(|| data::<wire::Trade>(text), Ok)?;
                self.trade(
                    out,
                    t.symbol,
                    id_text(t.trade_id),
                    t.trade_id,
                    t.price,
                    t.qty,
                    t.trade_time,
                    t.buyer_is_maker,
                    ts,
                );
            }
            "aggTrade" => {
                let t = fast::agg_trade(text).map_or_else(|| data::<wire::AggTrade>(text), Ok)?;
                // Aggregate ids are their own id space: prefixed so they never collide
                // with raw trade ids in the record id.
                self.trade(
                    out,
                    t.symbol,
                    prefixed_id_text("agg", t.agg_id),
                    t.agg_id,
                    t.price,
                    t.qty,
                    t.trade_time,
                    t.buyer_is_maker,
                    ts,
                );
            }
            "bookTicker" => {
                let b =
                    fast::book_ticker(text).map_or_else(|| data::<wire::BookTicker>(text), Ok)?;
                let bbo = Bbo {
                    bid_price: Some(b.bid_price),
                    bid_size: Some(b.bid_qty),
                    ask_price: Some(b.ask_price),
                    ask_size: Some(b.ask_qty),
                };
                self.emit.push(
                    out,
                    b.symbol,
                    b.time.map(ms_to_ns),
                    ts,
                    Some(b.update_id),
                    b.update_id,
                    Data::Bbo(bbo),
                );
            }
            "ticker" => {
                let t: wire::Ticker24h = data(text)?;
                // COIN-M counts `v` in contracts and `q` in the base asset; the
                // quote volume is not sent there.
                let (volume, quote_volume) = match self.emit.exchange {
                    "binance-coinm" => (t.quote_volume, None),
                    _ => (t.volume, Some(t.quote_volume)),
                };
                let ticker = Ticker {
                    last: Some(t.last),
                    bid_price: t.bid_price,
                    bid_size: t.bid_qty,
                    ask_price: t.ask_price,
                    ask_size: t.ask_qty,
                    open_24h: Some(t.open),
                    high_24h: Some(t.high),
                    low_24h: Some(t.low),
                    volume_24h: Some(volume),
                    quote_volume_24h: quote_volume,
                };
                self.emit.push(
                    out,
                    t.symbol,
                    Some(ms_to_ns(t.event_time)),
                    ts,
                    None,
                    t.event_time,
                    Data::Ticker(Box::new(ticker)),
                );
            }
            "markPrice" => {
                let m: wire::MarkPriceUpdate = data(text)?;
                let ts_ex = Some(ms_to_ns(m.event_time));
                if self.channels.contains(Channel::MarkPrice) {
                    let index_price = optional_dec(m.index_price, "markPriceUpdate.i")?;
                    let mark = MarkPrice {
                        mark_price: m.mark_price,
                        index_price,
                    };
                    self.emit.push(
                        out,
                        m.symbol,
                        ts_ex,
                        ts,
                        None,
                        m.event_time,
                        Data::MarkPrice(mark),
                    );
                }
                if self.channels.contains(Channel::Funding) {
                    if let Some(rate) = optional_dec(m.funding_rate, "markPriceUpdate.r")? {
                        let funding = Funding {
                            rate,
                            predicted_rate: None,
                            next_funding_ts: m.next_funding_time.filter(|t| *t > 0).map(ms_to_ns),
                        };
                        self.emit.push(
                            out,
                            m.symbol,
                            ts_ex,
                            ts,
                            None,
                            m.event_time,
                            Data::Funding(funding),
                        );
                    }
                }
            }
            "forceOrder" => {
                let f: wire::ForceOrder = data(text)?;
                let o = f.order;
                let side = side(o.side)?;
                let suffix = format!("{}.{}.{}.{}", o.trade_time, o.side, o.avg_price, o.qty);
                let liq = Liquidation {
                    price: o.avg_price,
                    size: o.qty,
                    side,
                };
                self.emit.push(
                    out,
                    o.symbol,
                    Some(ms_to_ns(o.trade_time)),
                    ts,
                    None,
                    suffix,
                    Data::Liquidation(liq),
                );
            }
            // Order-book diffs are kept in sync per symbol when `book` is subscribed;
            // on a connection without it (and partial-depth streams) they are skipped.
            "depth" if self.channels.contains(Channel::Book) => {
                let d = fast::depth_update(text).map_or_else(|| data(text), Ok)?;
                self.on_depth(d, ts, out)?;
            }
            "depth" | "depth5" | "depth10" | "depth20" => return Ok(Parsed::Ignored("depth")),
            k if k.starts_with("kline") => return Ok(Parsed::Ignored("kline")),
            "miniTicker" => return Ok(Parsed::Ignored("miniTicker")),
            other => return Err(ParseError::Unknown(format!("stream @{other}"))),
        }
        Ok(Parsed::Data)
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(
        &mut self,
        out: &mut Vec<Record>,
        native: &str,
        trade_id: SmolStr,
        seq: u64,
        price: Dec,
        size: Dec,
        time_ms: i64,
        buyer_is_maker: bool,
        ts: i64,
    ) {
        let side = if buyer_is_maker {
            Side::Sell
        } else {
            Side::Buy
        };
        let trade = Trade {
            price,
            size,
            side,
            // Inline (≤ 23 bytes): a copy, not an allocation.
            trade_id: trade_id.clone(),
        };
        self.emit.push(
            out,
            native,
            Some(ms_to_ns(time_ms)),
            ts,
            Some(seq),
            trade_id,
            Data::Trade(trade),
        );
    }
}

/// Deserializes the `data` of a combined-stream frame as `T`.
fn data<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, ParseError> {
    #[derive(Deserialize)]
    struct Wrapped<T> {
        data: T,
    }
    Ok(serde_json::from_str::<Wrapped<T>>(text)?.data)
}

fn levels(pairs: Vec<(Dec, Dec)>) -> Vec<Level> {
    pairs.into_iter().map(|(p, s)| Level(p, s)).collect()
}

fn optional_dec(text: Option<&str>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => Dec::parse(t).map(Some).map_err(|e| ParseError::Invalid {
            context,
            detail: e.to_string(),
        }),
    }
}

fn side(text: &str) -> Result<Side, ParseError> {
    match text {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(ParseError::Invalid {
            context: "side",
            detail: format!("{other:?}"),
        }),
    }
}

/// The stream name of a combined-stream frame, found without parsing the whole frame.
fn stream_name(text: &str) -> Option<&str> {
    let (name, _) = split_once_byte(text.strip_prefix("{\"stream\":\"")?, b'"')?;
    Some(name)
}

fn owned<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ParseError> {
    Ok(serde_json::from_value(value)?)
}

impl FrameParser for BinanceParser {
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        if let Some(stream) = stream_name(text) {
            let (symbol, kind) = split_once_byte(stream, b'@').unwrap_or((stream, ""));
            if !self.planned(symbol) {
                return Ok(NOT_PLANNED);
            }
            return self.on_stream(kind, text, ts_recv, out);
        }
        // Anything else is rare (replies, errors, raw-stream frames): parse generically.
        let value: serde_json::Value = serde_json::from_str(text)?;
        let obj = value
            .as_object()
            .ok_or_else(|| ParseError::Unknown(format!("non-object frame {}", preview(text))))?;
        if obj.contains_key("stream") && obj.contains_key("data") {
            // A combined frame whose keys came in another order.
            let split = obj["stream"].as_str().and_then(|s| s.split_once('@'));
            if split.is_some_and(|(symbol, _)| !self.planned(symbol)) {
                return Ok(NOT_PLANNED);
            }
            let kind = split.map(|(_, k)| k.to_string());
            let kind =
                kind.ok_or_else(|| ParseError::Unknown(format!("stream frame {}", preview(text))))?;
            return self.on_stream(
                &kind,
                &serde_json::json!({ "data": obj["data"] }).to_string(),
                ts_recv,
                out,
            );
        }
        if obj.contains_key("id") || obj.contains_key("error") || obj.contains_key("code") {
            let reply: wire::Reply = owned(value)?;
            let id = reply.id.as_ref().map(|v| v.to_string()).unwrap_or_default();
            if let Some(e) = reply.error {
                let reason = format!("request {id}: code {}: {}", e.code, e.msg);
                return Ok(Self::refusal(reply.id.as_ref(), reason));
            }
            if let (Some(code), Some(msg)) = (reply.code, reply.msg) {
                let reason = format!("request {id}: code {code}: {msg}");
                return Ok(Self::refusal(reply.id.as_ref(), reason));
            }
            return Ok(
                match (reply.result, reply.id.as_ref().and_then(|v| v.as_u64())) {
                    (None | Some(serde_json::Value::Null), Some(n)) => Parsed::Acked(Answer::Id(n)),
                    (None | Some(serde_json::Value::Null), None) => {
                        Parsed::Info(format!("reply {id} without a request id"))
                    }
                    (Some(result), _) => Parsed::Info(format!("reply {id}: {result}")),
                },
            );
        }
        // A raw-stream frame names its symbol in `s` (a liquidation in `o.s`).
        let symbol = obj
            .get("s")
            .or_else(|| obj.get("o").and_then(|o| o.get("s")))
            .and_then(|s| s.as_str());
        if obj.contains_key("e") && symbol.is_some_and(|s| !self.planned(s)) {
            return Ok(NOT_PLANNED);
        }
        if let Some(event) = obj.get("e").and_then(|e| e.as_str()) {
            // A raw-stream frame (`/ws/<stream>`): wrap it and dispatch on the event type.
            let kind = match event {
                "trade" => "trade",
                "aggTrade" => "aggTrade",
                "bookTicker" => "bookTicker",
                "24hrTicker" => "ticker",
                "markPriceUpdate" => "markPrice",
                "forceOrder" => "forceOrder",
                "depthUpdate" => "depth",
                "kline" => "kline",
                "24hrMiniTicker" => "miniTicker",
                other => return Err(ParseError::Unknown(format!("event {other:?}"))),
            };
            return self.on_stream(
                kind,
                &serde_json::json!({ "data": value }).to_string(),
                ts_recv,
                out,
            );
        }
        if obj.contains_key("u")
            && obj.contains_key("b")
            && obj.contains_key("a")
            && obj.contains_key("s")
        {
            // Raw spot bookTicker has no event type.
            if symbol.is_some_and(|s| !self.planned(s)) {
                return Ok(NOT_PLANNED);
            }
            return self.on_stream(
                "bookTicker",
                &serde_json::json!({ "data": value }).to_string(),
                ts_recv,
                out,
            );
        }
        Err(ParseError::Unknown(format!("frame {}", preview(text))))
    }

    fn rest_requests(&mut self) -> Vec<RestRequest> {
        std::mem::take(&mut self.requests)
    }

    fn on_rest(
        &mut self,
        key: &str,
        body: Result<&str, &str>,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        if !self.books.contains_key(key) {
            return Ok(Parsed::Info(format!(
                "REST response for unknown symbol {key}"
            )));
        }
        let body = match body {
            Ok(body) => body,
            Err(why) => {
                let what = self.snapshot_failed(key, why, ts_recv, out);
                return Ok(Parsed::Info(what.unwrap_or_default()));
            }
        };
        let path = self.venue.path;
        let snap = match serde_json::from_str::<wire::DepthSnapshot>(body) {
            Ok(snap) if snap.symbol.as_deref().is_none_or(|s| s == key) => snap,
            Ok(snap) => {
                let detail = format!("asked for {key}, got {:?}", snap.symbol);
                let why = format!("GET {path}: unusable answer: {detail}");
                self.snapshot_failed(key, &why, ts_recv, out);
                return Err(ParseError::Invalid {
                    context: "depth snapshot",
                    detail,
                });
            }
            Err(e) => {
                let why = format!("GET {path}: unusable answer: {e}");
                self.snapshot_failed(key, &why, ts_recv, out);
                return Err(ParseError::Malformed(format!(
                    "depth snapshot of {key}: {e}: {}",
                    preview(body)
                )));
            }
        };
        let Some(book) = self.books.get_mut(key) else {
            return Ok(Parsed::Info(format!(
                "REST response for unknown symbol {key}"
            )));
        };
        let snapshot = Snapshot {
            last_update_id: snap.last_update_id,
            stamp: Stamp {
                ts_exchange: snap.time.map(ms_to_ns),
                ts_recv,
            },
            bids: levels(snap.bids),
            asks: levels(snap.asks),
        };
        let (outcome, need) = book.on_snapshot(snapshot, out);
        self.request(key, need);
        Ok(match outcome {
            SnapshotOutcome::Applied => Parsed::Data,
            SnapshotOutcome::Stale {
                last_update_id,
                first_buffered,
            } => Parsed::Info(format!(
                "order-book snapshot of {key} is stale (lastUpdateId {last_update_id} < {first_buffered}); fetching again"
            )),
            SnapshotOutcome::Unexpected => {
                Parsed::Info(format!("unrequested order-book snapshot of {key} ignored"))
            }
        })
    }
}

/// The first characters of a frame, for error messages.
pub fn preview(text: &str) -> String {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ConnectionPlan;
    use crate::exchanges::binance::{Binance, Venue};
    use tickbridge_schema::Kind;

    fn parse(venue: Venue, frame: &str) -> (Result<Parsed, ParseError>, Vec<Record>) {
        let channels: ChannelSet = Channel::ALL
            .into_iter()
            .filter(|c| *c != Channel::Book)
            .collect();
        let mut p = Binance { venue }.new_parser(&ConnectionPlan {
            channels,
            ..ConnectionPlan::for_frames("", tickbridge_schema::Market::Spot)
        });
        let mut out = Vec::new();
        let r = p.parse(frame, 1_000, &mut out);
        (r, out)
    }

    fn json(r: &Record) -> String {
        String::from_utf8(r.to_json()).unwrap()
    }

    #[test]
    fn table_of_frames() {
        // (venue, raw frame, classification, records as JSON)
        let cases: &[(Venue, &str, Parsed, &[&str])] = &[
            (
                Venue::Spot,
                r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":1723161255342000000,"ts_recv":1000,"seq":3735683259,"id":"binance.spot.BTC-USDT.trade.3735683259","kind":"trade","price":"61837.63","size":"0.02","side":"sell","trade_id":"3735683259"}"#,
                ],
            ),
            (
                Venue::UsdM,
                r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1723161256322000000,"ts_recv":1000,"seq":5266583935,"id":"binance-usdm.perp.BTC-USDT-PERP.trade.5266583935","kind":"trade","price":"61800.3","size":"0.006","side":"buy","trade_id":"5266583935"}"#,
                ],
            ),
            (
                Venue::Spot,
                r#"{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance","market":"spot","symbol":"NKN-USDT","native":"NKNUSDT","ts_exchange":1633998523963000000,"ts_recv":1000,"seq":15683430,"id":"binance.spot.NKN-USDT.trade.agg15683430","kind":"trade","price":"0.3528","size":"58","side":"buy","trade_id":"agg15683430"}"#,
                ],
            ),
            (
                Venue::Spot,
                r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":null,"ts_recv":1000,"seq":50093239212,"id":"binance.spot.BTC-USDT.bbo.50093239212","kind":"bbo","bid_price":"61837.63","bid_size":"3.78826","ask_price":"61837.64","ask_size":"1.54698"}"#,
                ],
            ),
            (
                Venue::CoinM,
                r#"{"stream":"btcusd_perp@bookTicker","data":{"u":1007202248045,"e":"bookTicker","s":"BTCUSD_PERP","ps":"BTCUSD","b":"61668.6","B":"1243","a":"61668.7","A":"871","T":1723161601262,"E":1723161601269}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance-coinm","market":"perp","symbol":"BTC-USD-PERP","native":"BTCUSD_PERP","ts_exchange":1723161601262000000,"ts_recv":1000,"seq":1007202248045,"id":"binance-coinm.perp.BTC-USD-PERP.bbo.1007202248045","kind":"bbo","bid_price":"61668.6","bid_size":"1243","ask_price":"61668.7","ask_size":"871"}"#,
                ],
            ),
            (
                Venue::UsdM,
                r#"{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1562305380000000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.mark_price.1562305380000","kind":"mark_price","mark_price":"11794.15","index_price":"11784.62659091"}"#,
                    r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1562305380000000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.funding.1562305380000","kind":"funding","rate":"0.00038167","predicted_rate":null,"next_funding_ts":1562306400000000000}"#,
                ],
            ),
            (
                Venue::UsdM,
                r#"{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1568014460893000000,"ts_recv":1000,"seq":null,"id":"binance-usdm.perp.BTC-USDT-PERP.liquidation.1568014460893.SELL.9910.0.014","kind":"liquidation","price":"9910","size":"0.014","side":"sell"}"#,
                ],
            ),
            (
                Venue::Spot,
                r#"{"result":null,"id":1}"#,
                Parsed::Acked(crate::contract::Answer::Id(1)),
                &[],
            ),
            (
                Venue::Spot,
                r#"{"error":{"code":2,"msg":"Invalid request: unknown variant"},"id":3}"#,
                Parsed::Refused(Refusal::of(
                    crate::contract::Answer::Id(3),
                    vec![],
                    "request 3: code 2: Invalid request: unknown variant",
                )),
                &[],
            ),
            (
                Venue::Spot,
                r#"{"code":1,"msg":"Invalid value type: expected Boolean","id":4}"#,
                Parsed::Refused(Refusal::of(
                    crate::contract::Answer::Id(4),
                    vec![],
                    "request 4: code 1: Invalid value type: expected Boolean",
                )),
                &[],
            ),
            (
                Venue::Spot,
                r#"{"result":["btcusdt@trade"],"id":5}"#,
                Parsed::Info(r#"reply 5: ["btcusdt@trade"]"#.into()),
                &[],
            ),
            (
                Venue::Spot,
                r#"{"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{}}}"#,
                Parsed::Ignored("kline"),
                &[],
            ),
            (
                Venue::Spot,
                r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]}}"#,
                Parsed::Ignored("depth"),
                &[],
            ),
            (
                // A raw-stream frame (no combined wrapper) is recognised by its event type.
                Venue::Spot,
                r#"{"e":"trade","E":1,"s":"ETHBTC","t":7,"p":"0.05","q":"1.0","T":2,"m":false}"#,
                Parsed::Data,
                &[
                    r#"{"v":1,"exchange":"binance","market":"spot","symbol":"ETH-BTC","native":"ETHBTC","ts_exchange":2000000,"ts_recv":1000,"seq":7,"id":"binance.spot.ETH-BTC.trade.7","kind":"trade","price":"0.05","size":"1","side":"buy","trade_id":"7"}"#,
                ],
            ),
        ];
        for (venue, frame, want, records) in cases {
            let (got, out) = parse(*venue, frame);
            assert_eq!(got.as_ref(), Ok(want), "frame {frame}");
            let out: Vec<String> = out.iter().map(json).collect();
            assert_eq!(out, *records, "frame {frame}");
        }
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let cases = [
            ("not json", "malformed"),
            ("[1,2]", "unknown"),
            (
                r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT"}}"#,
                "malformed",
            ),
            (
                r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}}"#,
                "malformed",
            ),
            (r#"{"stream":"btcusdt@avgPrice","data":{}}"#, "unknown"),
            (r#"{"hello":1}"#, "unknown"),
            (
                r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"1""#,
                "malformed",
            ),
        ];
        for (frame, label) in cases {
            let (got, out) = parse(Venue::Spot, frame);
            assert_eq!(
                got.as_ref().map_err(ParseError::label),
                Err(label),
                "frame {frame}"
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn frames_of_symbols_the_plan_does_not_name_are_ignored() {
        use crate::exchanges::testing;
        use tickbridge_schema::Market;
        let plan = |venue: Venue, market: Market, user: &str| {
            testing::frames_plan(&Binance { venue }, market, &[user])
        };
        let mut p = Binance::SPOT.new_parser(&plan(Venue::Spot, Market::Spot, "BTC-USDT"));
        let mut out = Vec::new();
        let others = [
            r#"{"stream":"ethusdt@trade","data":{"e":"trade","E":1,"s":"ETHUSDT","t":7,"p":"1","q":"1","T":2,"m":false}}"#,
            r#"{"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"ETHUSDT","U":1,"u":2,"b":[],"a":[]}}"#,
            r#"{"stream":"ethusdt@bookTicker","data":{"u":5,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"}}"#,
            // Keys in another order, raw-stream frames, a raw bookTicker.
            r#"{"data":{"e":"trade","E":1,"s":"ETHUSDT","t":7,"p":"1","q":"1","T":2,"m":false},"stream":"ethusdt@trade"}"#,
            r#"{"e":"trade","E":1,"s":"ETHUSDT","t":7,"p":"0.05","q":"1.0","T":2,"m":false}"#,
            r#"{"u":5,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
        ];
        for frame in others {
            assert_eq!(p.parse(frame, 1, &mut out), Ok(NOT_PLANNED), "{frame}");
        }
        assert!(out.is_empty() && p.rest_requests().is_empty() && p.book("ETHUSDT").is_none());
        let own = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"1","q":"1","T":2,"m":false}}"#;
        assert_eq!(p.parse(own, 1, &mut out), Ok(Parsed::Data));
        assert_eq!(out.len(), 1);
        // A liquidation of another contract on a futures connection (raw `o.s`).
        let mut p = Binance::USDM.new_parser(&plan(Venue::UsdM, Market::Perp, "BTC-USDT-PERP"));
        let liq = r#"{"e":"forceOrder","E":1568014460893,"o":{"s":"ETHUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}"#;
        assert_eq!(p.parse(liq, 1, &mut out), Ok(NOT_PLANNED));
        // COIN-M: a dated contract of the same pair is another symbol.
        let mut p = Binance::COINM.new_parser(&plan(Venue::CoinM, Market::Perp, "BTC-USD-PERP"));
        let dated = r#"{"stream":"btcusd_240927@markPrice@1s","data":{"e":"markPriceUpdate","E":5,"s":"BTCUSD_240927","p":"61000.1","i":"60990.5","r":"","T":0}}"#;
        assert_eq!(p.parse(dated, 1, &mut out), Ok(NOT_PLANNED));
        assert_eq!(out.len(), 1);
        // Without planned symbols (recordings) every symbol is taken, as before.
        let (got, records) = parse(Venue::Spot, others[0]);
        assert_eq!((got, records.len()), (Ok(Parsed::Data), 1));
    }

    #[test]
    fn delivery_contracts_have_no_funding() {
        let frame = r#"{"stream":"btcusd_240927@markPrice@1s","data":{"e":"markPriceUpdate","E":5,"s":"BTCUSD_240927","ps":"BTCUSD","p":"61000.1","P":"61000","i":"60990.5","r":"","T":0}}"#;
        let (got, out) = parse(Venue::CoinM, frame);
        assert_eq!(got, Ok(Parsed::Data));
        let kinds: Vec<Kind> = out.iter().map(Record::kind).collect();
        assert_eq!(kinds, vec![Kind::MarkPrice]);
        assert_eq!(out[0].symbol, "BTC-USD-240927");
    }
}

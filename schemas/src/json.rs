//! The record encoder: writes a [`Record`] as compact JSON, byte for byte what
//! `serde_json::to_writer` writes for it (a test keeps the two equal), without
//! serde's generic machinery on the hot path.
//!
//! Every record is encoded once, so this is a third of the bridge's CPU time per
//! tick with serde (flattened payloads serialize as maps, and every key and value is
//! escaped byte by byte). Here keys are literal bytes, decimals and enum names are
//! known to need no escaping, and free text is copied as is unless it holds a byte
//! JSON requires escaping.

use crate::record::{Data, Level, Record};
use crate::Dec;

/// Appends the compact JSON of `record` to `out`.
pub fn write_record(record: &Record, out: &mut Vec<u8>) {
    // One allocation for a typical record (trade, bbo: 250-350 bytes).
    out.reserve(384);
    out.extend_from_slice(b"{\"v\":");
    push_u64(out, record.v as u64);
    out.extend_from_slice(b",\"exchange\":");
    push_str(out, &record.exchange);
    out.extend_from_slice(b",\"market\":\"");
    out.extend_from_slice(record.market.as_str().as_bytes());
    out.extend_from_slice(b"\",\"symbol\":");
    push_str(out, &record.symbol);
    out.extend_from_slice(b",\"native\":");
    push_str(out, &record.native);
    out.extend_from_slice(b",\"ts_exchange\":");
    push_opt_i64(out, record.ts_exchange);
    out.extend_from_slice(b",\"ts_recv\":");
    push_i64(out, record.ts_recv);
    out.extend_from_slice(b",\"seq\":");
    push_opt_u64(out, record.seq);
    out.extend_from_slice(b",\"id\":");
    push_str(out, &record.id);
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(record.kind().as_str().as_bytes());
    out.push(b'"');
    match &record.data {
        Data::Trade(t) => {
            field_dec(out, "price", &t.price);
            field_dec(out, "size", &t.size);
            field_raw(out, "side", side(t.side));
            field(out, "trade_id");
            push_str(out, &t.trade_id);
        }
        Data::Bbo(b) => {
            field_opt_dec(out, "bid_price", &b.bid_price);
            field_opt_dec(out, "bid_size", &b.bid_size);
            field_opt_dec(out, "ask_price", &b.ask_price);
            field_opt_dec(out, "ask_size", &b.ask_size);
        }
        Data::Book(b) => {
            field(out, "bids");
            push_levels(out, &b.bids);
            field(out, "asks");
            push_levels(out, &b.asks);
            field(out, "snapshot");
            out.extend_from_slice(if b.snapshot { b"true" } else { b"false" });
            field(out, "prev_seq");
            push_opt_u64(out, b.prev_seq);
            field(out, "checksum_ok");
            out.extend_from_slice(match b.checksum_ok {
                None => b"null",
                Some(true) => b"true",
                Some(false) => b"false",
            });
        }
        Data::Ticker(t) => {
            field_opt_dec(out, "last", &t.last);
            field_opt_dec(out, "bid_price", &t.bid_price);
            field_opt_dec(out, "bid_size", &t.bid_size);
            field_opt_dec(out, "ask_price", &t.ask_price);
            field_opt_dec(out, "ask_size", &t.ask_size);
            field_opt_dec(out, "open_24h", &t.open_24h);
            field_opt_dec(out, "high_24h", &t.high_24h);
            field_opt_dec(out, "low_24h", &t.low_24h);
            field_opt_dec(out, "volume_24h", &t.volume_24h);
            field_opt_dec(out, "quote_volume_24h", &t.quote_volume_24h);
        }
        Data::Funding(f) => {
            field_dec(out, "rate", &f.rate);
            field_opt_dec(out, "predicted_rate", &f.predicted_rate);
            field(out, "next_funding_ts");
            push_opt_i64(out, f.next_funding_ts);
        }
        Data::OpenInterest(o) => {
            field_dec(out, "open_interest", &o.open_interest);
            field_opt_dec(out, "open_interest_value", &o.open_interest_value);
        }
        Data::Liquidation(l) => {
            field_dec(out, "price", &l.price);
            field_dec(out, "size", &l.size);
            field_raw(out, "side", side(l.side));
        }
        Data::MarkPrice(m) => {
            field_dec(out, "mark_price", &m.mark_price);
            field_opt_dec(out, "index_price", &m.index_price);
        }
        Data::Instrument(i) => {
            field(out, "base");
            push_str(out, &i.base);
            field(out, "quote");
            push_str(out, &i.quote);
            field(out, "settle");
            match &i.settle {
                Some(a) => push_str(out, a),
                None => out.extend_from_slice(b"null"),
            }
            field(out, "expiry");
            push_opt_i64(out, i.expiry);
            field_opt_dec(out, "strike", &i.strike);
            field(out, "option_type");
            match i.option_type {
                Some(t) => {
                    out.push(b'"');
                    out.extend_from_slice(t.as_str().as_bytes());
                    out.push(b'"');
                }
                None => out.extend_from_slice(b"null"),
            }
            field_opt_dec(out, "tick_size", &i.tick_size);
            field_opt_dec(out, "lot_size", &i.lot_size);
            field_opt_dec(out, "contract_size", &i.contract_size);
            field_raw(out, "status", i.status.as_str());
        }
        Data::Status(s) => {
            field_raw(out, "event", s.event.as_str());
            field(out, "channel");
            match &s.channel {
                Some(c) => push_str(out, c),
                None => out.extend_from_slice(b"null"),
            }
            field(out, "reason");
            match &s.reason {
                Some(r) => push_str(out, r),
                None => out.extend_from_slice(b"null"),
            }
            field(out, "expected");
            push_opt_u64(out, s.expected);
            field(out, "got");
            push_opt_u64(out, s.got);
        }
    }
    out.push(b'}');
}

fn side(side: crate::Side) -> &'static str {
    match side {
        crate::Side::Buy => "buy",
        crate::Side::Sell => "sell",
    }
}

/// `,"name":` (names are ASCII identifiers: no escaping).
fn field(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// `,"name":"value"` for a value known to need no escaping.
fn field_raw(out: &mut Vec<u8>, name: &str, value: &str) {
    field(out, name);
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

/// A decimal is digits, an optional point and sign: it never needs escaping.
fn push_dec(out: &mut Vec<u8>, d: &Dec) {
    out.push(b'"');
    out.extend_from_slice(d.as_str().as_bytes());
    out.push(b'"');
}

fn field_dec(out: &mut Vec<u8>, name: &str, d: &Dec) {
    field(out, name);
    push_dec(out, d);
}

fn field_opt_dec(out: &mut Vec<u8>, name: &str, d: &Option<Dec>) {
    field(out, name);
    match d {
        Some(d) => push_dec(out, d),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_levels(out: &mut Vec<u8>, levels: &[Level]) {
    out.push(b'[');
    for (i, Level(price, size)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        push_dec(out, price);
        out.push(b',');
        push_dec(out, size);
        out.push(b']');
    }
    out.push(b']');
}

fn push_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => push_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_opt_i64(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => push_i64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `v` in decimal, without the formatting machinery (it runs per record, and
/// per published message in the NATS sink).
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0; 20];
    let start = write_digits(v, &mut buf);
    out.extend_from_slice(&buf[start..]);
}

/// The decimal digits of `v`, written at the end of `buf`: what `v.to_string()`
/// gives, without the formatting machinery or an allocation (trade ids are written so
/// on every trade).
pub fn u64_digits(v: u64, buf: &mut [u8; 20]) -> &str {
    let start = write_digits(v, buf);
    std::str::from_utf8(&buf[start..]).expect("ASCII digits")
}

/// Writes the digits of `v` at the end of `buf`; returns where they start.
fn write_digits(mut v: u64, buf: &mut [u8; 20]) -> usize {
    // Two digits per division (nanosecond times have 19 digits).
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    i
}

/// A JSON string, escaped as serde_json escapes it: `"` and `\`, and control
/// characters (`\b \t \n \f \r`, others as `\u00XX`); everything else, including
/// non-ASCII UTF-8, is copied.
fn push_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.push(b'"');
    if escape_at(bytes).is_none() {
        out.extend_from_slice(bytes);
    } else {
        for &b in bytes {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b if b < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                b => out.push(b),
            }
        }
    }
    out.push(b'"');
}

/// The index of the first byte of `bytes` a JSON string must escape: `"`, `\\` or a
/// control character. Eight bytes at a
/// time (every price and size of a book diff is a string, and a byte loop with three
/// tests per byte was the scanner's largest cost): a byte `b` is flagged by the
/// classic "has zero byte" trick on `w ^ "` and `w ^ \\`, and by `w - 0x20` borrowing
/// into its top bit. A borrow can flag bytes *after* a true hit, never before it, so
/// the lowest flagged byte is the answer.
pub fn escape_at(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGHS;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::*;
    use crate::SCHEMA_VERSION;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    fn envelope(data: Data) -> Record {
        Record {
            v: SCHEMA_VERSION,
            exchange: "binance-usdm".into(),
            market: Market::Perp,
            symbol: "BTC-USDT-PERP".into(),
            native: "BTCUSDT".into(),
            ts_exchange: Some(1723161255342000000),
            ts_recv: 1723161253937085768,
            seq: Some(u64::MAX),
            id: "binance-usdm.perp.BTC-USDT-PERP.x.1".into(),
            data,
        }
    }

    /// Every kind, every optional field both ways, and strings that need escaping.
    fn records() -> Vec<Record> {
        let mut all = vec![
            envelope(Data::Trade(Trade {
                price: d("61837.63"),
                size: d("0.02"),
                side: Side::Sell,
                trade_id: "agg3735683259".into(),
            })),
            envelope(Data::Bbo(Bbo {
                bid_price: Some(d("1")),
                bid_size: None,
                ask_price: Some(d("-0.5")),
                ask_size: Some(d("0")),
            })),
            envelope(Data::Book(Book {
                bids: vec![Level(d("1.1"), d("0")), Level(d("1"), d("3"))],
                asks: vec![],
                snapshot: true,
                prev_seq: None,
                checksum_ok: Some(false),
            })),
            envelope(Data::Book(Book {
                bids: vec![],
                asks: vec![Level(d("2"), d("0.25"))],
                snapshot: false,
                prev_seq: Some(7),
                checksum_ok: None,
            })),
            envelope(Data::Ticker(Ticker::default().into())),
            envelope(Data::Ticker(
                Ticker {
                    last: Some(d("5")),
                    quote_volume_24h: Some(d("123456789.123456789")),
                    ..Ticker::default()
                }
                .into(),
            )),
            envelope(Data::Funding(Funding {
                rate: d("-0.0001"),
                predicted_rate: None,
                next_funding_ts: Some(-5),
            })),
            envelope(Data::OpenInterest(OpenInterest {
                open_interest: d("10"),
                open_interest_value: Some(d("1.5")),
            })),
            envelope(Data::Liquidation(Liquidation {
                price: d("9910"),
                size: d("0.014"),
                side: Side::Buy,
            })),
            envelope(Data::MarkPrice(MarkPrice {
                mark_price: d("11794.15"),
                index_price: None,
            })),
            envelope(Data::Instrument(
                Instrument {
                    base: "BTC".into(),
                    quote: "USD".into(),
                    settle: Some("BTC".into()),
                    expiry: Some(1_735_286_400_000_000_000),
                    strike: Some(d("100000")),
                    option_type: Some(OptionType::Put),
                    tick_size: Some(d("0.0005")),
                    lot_size: Some(d("0.1")),
                    contract_size: Some(d("1")),
                    status: InstrumentStatus::Halted,
                }
                .into(),
            )),
            envelope(Data::Instrument(
                Instrument {
                    base: "ADA".into(),
                    quote: "BTC".into(),
                    settle: None,
                    expiry: None,
                    strike: None,
                    option_type: None,
                    tick_size: None,
                    lot_size: None,
                    contract_size: None,
                    status: InstrumentStatus::Trading,
                }
                .into(),
            )),
            envelope(Data::Status(Status {
                event: StatusEvent::Gap,
                channel: Some("book".into()),
                reason: Some(
                    "quote \" backslash \\ newline \n tab \t bell \u{7} nul \0 é ✓ / done".into(),
                ),
                expected: Some(0),
                got: None,
            })),
            envelope(Data::Status(Status {
                event: StatusEvent::Connected,
                channel: None,
                reason: None,
                expected: None,
                got: Some(u64::MAX),
            })),
        ];
        let mut odd = envelope(Data::Trade(Trade {
            price: d("1"),
            size: d("2"),
            side: Side::Buy,
            trade_id: "\u{8}\u{c}\r\u{1f}".into(),
        }));
        odd.ts_exchange = None;
        odd.ts_recv = i64::MIN;
        odd.seq = None;
        odd.symbol = "ÄÖ-\"X\"".into();
        odd.market = Market::Option;
        all.push(odd);
        all
    }

    #[test]
    fn writes_exactly_what_serde_writes() {
        for r in records() {
            let mut ours = Vec::new();
            write_record(&r, &mut ours);
            let serde = serde_json::to_vec(&r).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }

    #[test]
    fn finds_the_first_special_byte_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                for special in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                    // Text of printable ASCII and multi-byte UTF-8 around the special byte.
                    let mut bytes: Vec<u8> = (0..len)
                        .map(|i| [b'7', 0xc3, 0xa9, b' ', 0x7f][i % 5])
                        .collect();
                    if at < len {
                        bytes[at] = special;
                        if at + 1 < len {
                            bytes[at + 1] = b'"';
                        }
                    }
                    let want = bytes
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    assert_eq!(
                        escape_at(&bytes),
                        want,
                        "len {len} at {at} byte {special:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn numbers() {
        for v in [
            0,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            12345,
            u64::MAX,
            1723161253937085768,
        ] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
            assert_eq!(u64_digits(v, &mut [0; 20]), v.to_string());
        }
        for v in [0, -1, -10, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_i64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    #[test]
    fn appends() {
        let r = &records()[0];
        let mut out = b"[".to_vec();
        write_record(r, &mut out);
        out.push(b']');
        let back: Vec<Record> = serde_json::from_slice(&out).unwrap();
        assert_eq!(&back[0], r);
    }
}

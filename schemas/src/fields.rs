//! One description of every record kind's fields, in the order of the JSON contract
//! (envelope, `kind`, then the payload), from which the Avro and Protobuf schemas are
//! generated ([`crate::avro`], [`crate::protobuf`]), and the one function that reads a
//! record's values in that order ([`values`]), which both binary encoders walk.
//!
//! Adding a field to a kind: add it to [`payload`] and to [`values`] (a test checks the
//! two agree for every kind), then regenerate the published files
//! (`tickbridge schema --format avro --write schemas/avro`, likewise `protobuf`).

use crate::record::{Data, Level, Record};
use crate::{Dec, Kind};

/// The type of a field, as the binary encodings see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// The schema version `v` (a small unsigned number).
    Version,
    Str,
    OptStr,
    I64,
    OptI64,
    OptU64,
    Dec,
    OptDec,
    Bool,
    OptBool,
    /// `spot` | `perp` | `future` | `option`.
    Market,
    /// `buy` | `sell`.
    Side,
    /// `call` | `put` or null.
    OptOptionType,
    /// `trading` | `halted` | `delisted`.
    InstrumentStatus,
    /// A status event name. Kept a string in the binary schemas (not an enum): new
    /// events are added over time, and an enum symbol a reader does not know fails
    /// its decoding.
    StatusEvent,
    /// The record kind's name (constant per kind's schema).
    Kind,
    /// Book levels: `[price, size]` pairs.
    Levels,
}

/// One field of a kind's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
}

const fn f(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field { name, ty, doc }
}

/// The envelope every kind starts with (`kind` included, as in the JSON).
pub const ENVELOPE: [Field; 10] = [
    f("v", Ty::Version, "schema version, always 1"),
    f(
        "exchange",
        Ty::Str,
        "exchange name as `tickbridge exchanges` lists it",
    ),
    f("market", Ty::Market, "market type of the instrument"),
    f(
        "symbol",
        Ty::Str,
        "normalized symbol: BASE-QUOTE, plus -PERP, -YYMMDD or option suffixes",
    ),
    f("native", Ty::Str, "the exchange's own symbol"),
    f(
        "ts_exchange",
        Ty::OptI64,
        "exchange event time, ns since the Unix epoch; null when the feed has none",
    ),
    f(
        "ts_recv",
        Ty::I64,
        "local receive time of the frame, ns since the Unix epoch",
    ),
    f(
        "seq",
        Ty::OptU64,
        "the exchange's sequence number of this event, when the feed has one",
    ),
    f(
        "id",
        Ty::Str,
        "deterministic id: the same exchange event always yields the same id",
    ),
    f("kind", Ty::Kind, "the record kind"),
];

/// The payload fields of one kind, in JSON order.
pub fn payload(kind: Kind) -> &'static [Field] {
    use Ty::*;
    match kind {
        crate::Kind::Trade => {
            const F: &[Field] = &[
                f("price", Dec, "trade price"),
                f("size", Dec, "trade size"),
                f("side", Side, "the taker's side"),
                f("trade_id", Str, "the exchange's trade id"),
            ];
            F
        }
        crate::Kind::Bbo => {
            const F: &[Field] = &[
                f(
                    "bid_price",
                    OptDec,
                    "best bid price; null when the side is empty",
                ),
                f("bid_size", OptDec, "best bid size"),
                f(
                    "ask_price",
                    OptDec,
                    "best ask price; null when the side is empty",
                ),
                f("ask_size", OptDec, "best ask size"),
            ];
            F
        }
        crate::Kind::Book => {
            const F: &[Field] = &[
                f(
                    "bids",
                    Levels,
                    "changed bid levels; size 0 deletes the level",
                ),
                f(
                    "asks",
                    Levels,
                    "changed ask levels; size 0 deletes the level",
                ),
                f("snapshot", Bool, "true: a full snapshot replacing the book"),
                f("prev_seq", OptU64, "the book's sequence before this change"),
                f(
                    "checksum_ok",
                    OptBool,
                    "whether the exchange's checksum matched; null without one",
                ),
            ];
            F
        }
        crate::Kind::Ticker => {
            const F: &[Field] = &[
                f("last", OptDec, "last trade price"),
                f("bid_price", OptDec, "best bid price"),
                f("bid_size", OptDec, "best bid size"),
                f("ask_price", OptDec, "best ask price"),
                f("ask_size", OptDec, "best ask size"),
                f("open_24h", OptDec, "price 24 h ago"),
                f("high_24h", OptDec, "24 h high"),
                f("low_24h", OptDec, "24 h low"),
                f("volume_24h", OptDec, "base-asset volume over 24 h"),
                f("quote_volume_24h", OptDec, "quote-asset volume over 24 h"),
            ];
            F
        }
        crate::Kind::Funding => {
            const F: &[Field] = &[
                f("rate", Dec, "funding rate"),
                f("predicted_rate", OptDec, "predicted next rate"),
                f(
                    "next_funding_ts",
                    OptI64,
                    "next funding time, ns since the Unix epoch",
                ),
            ];
            F
        }
        crate::Kind::OpenInterest => {
            const F: &[Field] = &[
                f(
                    "open_interest",
                    Dec,
                    "open interest in contracts or base units",
                ),
                f(
                    "open_interest_value",
                    OptDec,
                    "open interest in quote currency",
                ),
            ];
            F
        }
        crate::Kind::Liquidation => {
            const F: &[Field] = &[
                f("price", Dec, "liquidation order price"),
                f("size", Dec, "liquidation order size"),
                f("side", Side, "side of the liquidation order"),
            ];
            F
        }
        crate::Kind::MarkPrice => {
            const F: &[Field] = &[
                f("mark_price", Dec, "mark price"),
                f("index_price", OptDec, "index price"),
            ];
            F
        }
        crate::Kind::Instrument => {
            const F: &[Field] = &[
                f("base", Str, "base asset"),
                f("quote", Str, "quote asset"),
                f("settle", OptStr, "settlement asset of a derivative"),
                f("expiry", OptI64, "expiry, ns since the Unix epoch"),
                f("strike", OptDec, "option strike"),
                f("option_type", OptOptionType, "call or put"),
                f("tick_size", OptDec, "price increment"),
                f("lot_size", OptDec, "size increment"),
                f("contract_size", OptDec, "underlying amount of one contract"),
                f("status", InstrumentStatus, "whether the instrument trades"),
            ];
            F
        }
        crate::Kind::Status => {
            const F: &[Field] = &[
            f("event", StatusEvent, "what happened to the feed (connected, subscribed, rejected, disconnected, gap, resynced, stale, halted, delisted, lost, leader, ...)"),
            f("channel", OptStr, "the channel concerned, null for the whole connection"),
            f("reason", OptStr, "human-readable cause"),
            f("expected", OptU64, "for gap: the sequence expected next"),
            f("got", OptU64, "for gap: the sequence received instead"),
        ];
            F
        }
    }
}

/// Every field of one kind: the envelope, then the payload.
pub fn fields(kind: Kind) -> impl Iterator<Item = &'static Field> {
    ENVELOPE.iter().chain(payload(kind))
}

/// The CamelCase type name of a kind (`open_interest` → `OpenInterest`).
pub fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Trade => "Trade",
        Kind::Bbo => "Bbo",
        Kind::Book => "Book",
        Kind::Ticker => "Ticker",
        Kind::Funding => "Funding",
        Kind::OpenInterest => "OpenInterest",
        Kind::Liquidation => "Liquidation",
        Kind::MarkPrice => "MarkPrice",
        Kind::Instrument => "Instrument",
        Kind::Status => "Status",
    }
}

/// The symbols of the enum types, in the order their Avro indexes follow.
pub fn symbols(ty: Ty) -> &'static [&'static str] {
    match ty {
        Ty::Market => &["spot", "perp", "future", "option"],
        Ty::Side => &["buy", "sell"],
        Ty::OptOptionType => &["call", "put"],
        Ty::InstrumentStatus => &["trading", "halted", "delisted"],
        _ => &[],
    }
}

/// One value of a record, borrowed, in the shape its [`Ty`] says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val<'a> {
    U8(u8),
    Str(&'a str),
    OptStr(Option<&'a str>),
    I64(i64),
    OptI64(Option<i64>),
    OptU64(Option<u64>),
    Dec(&'a Dec),
    OptDec(Option<&'a Dec>),
    Bool(bool),
    OptBool(Option<bool>),
    /// An enum-like value by name (market, side, option type, statuses, kind).
    Sym(&'static str),
    OptSym(Option<&'static str>),
    Levels(&'a [Level]),
}

/// Calls `out` with every value of `record` in [`fields`] order.
pub fn values<'a>(record: &'a Record, mut out: impl FnMut(Val<'a>)) {
    out(Val::U8(record.v));
    out(Val::Str(&record.exchange));
    out(Val::Sym(record.market.as_str()));
    out(Val::Str(&record.symbol));
    out(Val::Str(&record.native));
    out(Val::OptI64(record.ts_exchange));
    out(Val::I64(record.ts_recv));
    out(Val::OptU64(record.seq));
    out(Val::Str(&record.id));
    out(Val::Sym(record.kind().as_str()));
    let dec = Val::Dec;
    let opt = |d: &'a Option<Dec>| Val::OptDec(d.as_ref());
    match &record.data {
        Data::Trade(t) => {
            out(dec(&t.price));
            out(dec(&t.size));
            out(Val::Sym(side(t.side)));
            out(Val::Str(&t.trade_id));
        }
        Data::Bbo(b) => {
            out(opt(&b.bid_price));
            out(opt(&b.bid_size));
            out(opt(&b.ask_price));
            out(opt(&b.ask_size));
        }
        Data::Book(b) => {
            out(Val::Levels(&b.bids));
            out(Val::Levels(&b.asks));
            out(Val::Bool(b.snapshot));
            out(Val::OptU64(b.prev_seq));
            out(Val::OptBool(b.checksum_ok));
        }
        Data::Ticker(t) => {
            for d in [
                &t.last,
                &t.bid_price,
                &t.bid_size,
                &t.ask_price,
                &t.ask_size,
                &t.open_24h,
                &t.high_24h,
                &t.low_24h,
                &t.volume_24h,
                &t.quote_volume_24h,
            ] {
                out(opt(d));
            }
        }
        Data::Funding(f) => {
            out(dec(&f.rate));
            out(opt(&f.predicted_rate));
            out(Val::OptI64(f.next_funding_ts));
        }
        Data::OpenInterest(o) => {
            out(dec(&o.open_interest));
            out(opt(&o.open_interest_value));
        }
        Data::Liquidation(l) => {
            out(dec(&l.price));
            out(dec(&l.size));
            out(Val::Sym(side(l.side)));
        }
        Data::MarkPrice(m) => {
            out(dec(&m.mark_price));
            out(opt(&m.index_price));
        }
        Data::Instrument(i) => {
            out(Val::Str(&i.base));
            out(Val::Str(&i.quote));
            out(Val::OptStr(i.settle.as_deref()));
            out(Val::OptI64(i.expiry));
            out(opt(&i.strike));
            out(Val::OptSym(i.option_type.map(|t| t.as_str())));
            out(opt(&i.tick_size));
            out(opt(&i.lot_size));
            out(opt(&i.contract_size));
            out(Val::Sym(i.status.as_str()));
        }
        Data::Status(s) => {
            out(Val::Sym(s.event.as_str()));
            out(Val::OptStr(s.channel.as_deref()));
            out(Val::OptStr(s.reason.as_deref()));
            out(Val::OptU64(s.expected));
            out(Val::OptU64(s.got));
        }
    }
}

fn side(side: crate::Side) -> &'static str {
    match side {
        crate::Side::Buy => "buy",
        crate::Side::Sell => "sell",
    }
}

/// Whether a value has the shape a field's type expects (the encoders rely on it).
pub fn fits(ty: Ty, val: &Val<'_>) -> bool {
    matches!(
        (ty, val),
        (Ty::Version, Val::U8(_))
            | (Ty::Str, Val::Str(_))
            | (Ty::OptStr, Val::OptStr(_))
            | (Ty::I64, Val::I64(_))
            | (Ty::OptI64, Val::OptI64(_))
            | (Ty::OptU64, Val::OptU64(_))
            | (Ty::Dec, Val::Dec(_))
            | (Ty::OptDec, Val::OptDec(_))
            | (Ty::Bool, Val::Bool(_))
            | (Ty::OptBool, Val::OptBool(_))
            | (
                Ty::Market | Ty::Side | Ty::InstrumentStatus | Ty::StatusEvent | Ty::Kind,
                Val::Sym(_)
            )
            | (Ty::OptOptionType, Val::OptSym(_))
            | (Ty::Levels, Val::Levels(_))
    )
}

/// Sample records of every kind, with every optional field both set and unset
/// across the samples (the encoders' tests).
#[cfg(test)]
pub(crate) fn samples() -> Vec<Record> {
    let envelope = r#""v":1,"exchange":"binance","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1723161255342000000,"ts_recv":1723161253937085768,"seq":3735683259,"id":"x""#;
    let bare = r#""v":1,"exchange":"kraken","market":"option","symbol":"BTC-USD-241227-60000-C","native":"BTC-27DEC24-60000-C","ts_exchange":null,"ts_recv":-5,"seq":null,"id":"y""#;
    let payloads = [
        r#""kind":"trade","price":"61837.63","size":"0.02","side":"sell","trade_id":"3735683259""#,
        r#""kind":"trade","price":"-0.000000000000000001","size":"99999999999999999999.999999999999999999","side":"buy","trade_id":"é\"\\""#,
        r#""kind":"bbo","bid_price":"1.5","bid_size":"2","ask_price":null,"ask_size":null"#,
        r#""kind":"book","bids":[["1.1","0"],["1","3.25"]],"asks":[],"snapshot":false,"prev_seq":7,"checksum_ok":true"#,
        r#""kind":"book","bids":[],"asks":[["100","1"]],"snapshot":true,"prev_seq":null,"checksum_ok":null"#,
        r#""kind":"ticker","last":"1","bid_price":null,"bid_size":"2","ask_price":"3","ask_size":null,"open_24h":"4","high_24h":"5","low_24h":"0","volume_24h":"7","quote_volume_24h":null"#,
        r#""kind":"funding","rate":"-0.0001","predicted_rate":null,"next_funding_ts":1723161600000000000"#,
        r#""kind":"open_interest","open_interest":"123.4","open_interest_value":"5""#,
        r#""kind":"liquidation","price":"60000","size":"0.5","side":"sell""#,
        r#""kind":"mark_price","mark_price":"60001.5","index_price":null"#,
        r#""kind":"instrument","base":"BTC","quote":"USD","settle":"BTC","expiry":1735286400000000000,"strike":"60000","option_type":"call","tick_size":"0.0005","lot_size":"0.1","contract_size":"1","status":"trading""#,
        r#""kind":"instrument","base":"ETH","quote":"USDT","settle":null,"expiry":null,"strike":null,"option_type":null,"tick_size":null,"lot_size":null,"contract_size":null,"status":"delisted""#,
        r#""kind":"status","event":"gap","channel":"book","reason":"sequence break","expected":10,"got":12"#,
        r#""kind":"status","event":"connected","channel":null,"reason":null,"expected":null,"got":null"#,
    ];
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let env = if i % 2 == 0 { envelope } else { bare };
            serde_json::from_str(&format!("{{{env},{p}}}"))
                .unwrap_or_else(|e| panic!("sample {i}: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_fields_of_every_kind() {
        let samples = samples();
        for kind in Kind::ALL {
            assert!(
                samples.iter().any(|r| r.kind() == kind),
                "no sample of {kind:?}"
            );
        }
        for record in &samples {
            let mut vals = Vec::new();
            values(record, |v| vals.push(v));
            let fields: Vec<_> = fields(record.kind()).collect();
            assert_eq!(vals.len(), fields.len(), "{:?}", record.kind());
            for (field, val) in fields.iter().zip(&vals) {
                assert!(fits(field.ty, val), "{}: {val:?}", field.name);
                if let Val::Sym(s) | Val::OptSym(Some(s)) = val {
                    let syms = symbols(field.ty);
                    assert!(syms.is_empty() || syms.contains(s), "{}: {s}", field.name);
                }
            }
        }
    }

    /// The field names are exactly the JSON contract's, in its order.
    #[test]
    fn field_names_are_the_json_keys_in_order() {
        for record in samples() {
            let json: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&record.to_json()).unwrap();
            let keys: Vec<&str> = json.keys().map(|k| k.as_str()).collect();
            let names: Vec<&str> = fields(record.kind()).map(|f| f.name).collect();
            let mut sorted_keys = keys.clone();
            sorted_keys.sort();
            let mut sorted_names = names.clone();
            sorted_names.sort();
            assert_eq!(sorted_names, sorted_keys, "{:?}", record.kind());
            let written: Vec<&str> = {
                let text = String::from_utf8(record.to_json()).unwrap();
                let mut order: Vec<(usize, &str)> = names
                    .iter()
                    .map(|n| (text.find(&format!("\"{n}\":")).unwrap(), *n))
                    .collect();
                order.sort();
                order.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
            };
            assert_eq!(names, written, "{:?}", record.kind());
        }
    }
}

//! Avro: one record schema per kind (`tickbridge.v1.<Kind>`, generated from
//! [`crate::fields`]; published as `schemas/avro/<kind>.avsc`), and the binary
//! encoder of a record's body (what follows the Confluent wire-format header).
//!
//! Decimals are Avro `bytes` with the `decimal` logical type, precision 38, scale 18:
//! Flink (`DECIMAL(38, 18)`), ksqlDB (`DECIMAL`), Spark (`DecimalType(38, 18)`) and
//! ClickHouse (`Decimal(38, 18)`) read it as a native exact decimal, where a string
//! would need a cast in every query. Every price and size an exchange sends fits (20
//! integer digits, 18 fractional); a value that does not is refused by the encoder
//! ([`EncodeError`]) rather than rounded, and the record goes to the dead-letter
//! targets. Timestamps are `long` nanoseconds since the Unix epoch (no logical type:
//! `timestamp-nanos` is not read by most of those consumers). Status events are
//! strings, not an enum, so a new event never breaks an older reader.

use serde_json::{json, Map, Value};

use crate::fields::{self, Field, Ty, Val};
use crate::{Dec, Kind, Record};

/// The namespace of every named type.
pub const NAMESPACE: &str = "tickbridge.v1";
/// Precision and scale of the decimal logical type.
pub const DECIMAL_PRECISION: u32 = 38;
pub const DECIMAL_SCALE: u32 = 18;

/// A record the binary encodings cannot carry exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("field {field}: decimal {value} does not fit decimal(38, 18) (at most 20 integer and 18 fractional digits)")]
    Decimal { field: &'static str, value: String },
    #[error("field {field}: {value} is above the largest signed 64-bit integer")]
    Unsigned { field: &'static str, value: u64 },
}

/// The Avro schema of one kind.
pub fn schema_for(kind: Kind) -> Value {
    let mut named = Vec::new();
    let fields: Vec<Value> = fields::fields(kind)
        .map(|f| field_schema(f, &mut named))
        .collect();
    json!({
        "type": "record",
        "name": fields::type_name(kind),
        "namespace": NAMESPACE,
        "doc": format!("tickbridge schema v1 {} record", kind.as_str()),
        "fields": fields,
    })
}

/// The compact schema text registered with a schema registry.
pub fn schema_text(kind: Kind) -> String {
    serde_json::to_string(&schema_for(kind)).expect("schema serializes")
}

/// The published file text (pretty JSON with a final newline).
pub fn schema_file_text(kind: Kind) -> String {
    let mut text = serde_json::to_string_pretty(&schema_for(kind)).expect("schema serializes");
    text.push('\n');
    text
}

fn decimal() -> Value {
    json!({"type": "bytes", "logicalType": "decimal",
           "precision": DECIMAL_PRECISION, "scale": DECIMAL_SCALE})
}

/// A named type is defined once per schema and referred to by name after that.
fn named(name: &str, definition: Value, defined: &mut Vec<String>) -> Value {
    if defined.iter().any(|n| n == name) {
        Value::from(format!("{NAMESPACE}.{name}"))
    } else {
        defined.push(name.to_string());
        definition
    }
}

fn enum_type(name: &str, ty: Ty, defined: &mut Vec<String>) -> Value {
    named(
        name,
        json!({"type": "enum", "name": name, "symbols": fields::symbols(ty)}),
        defined,
    )
}

fn field_schema(field: &Field, defined: &mut Vec<String>) -> Value {
    let nullable = |t: Value| json!(["null", t]);
    let ty = match field.ty {
        Ty::Version => json!("int"),
        Ty::Str | Ty::StatusEvent | Ty::Kind => json!("string"),
        Ty::OptStr => nullable(json!("string")),
        Ty::I64 => json!("long"),
        Ty::OptI64 | Ty::OptU64 => nullable(json!("long")),
        Ty::Dec => decimal(),
        Ty::OptDec => nullable(decimal()),
        Ty::Bool => json!("boolean"),
        Ty::OptBool => nullable(json!("boolean")),
        Ty::Market => enum_type("Market", field.ty, defined),
        Ty::Side => enum_type("Side", field.ty, defined),
        Ty::OptOptionType => nullable(enum_type("OptionType", field.ty, defined)),
        Ty::InstrumentStatus => enum_type("InstrumentStatus", field.ty, defined),
        Ty::Levels => json!({"type": "array", "items": named("Level", json!({
            "type": "record", "name": "Level",
            "fields": [{"name": "price", "type": decimal()}, {"name": "size", "type": decimal()}],
        }), defined)}),
    };
    let mut out = Map::new();
    out.insert("name".into(), field.name.into());
    out.insert("type".into(), ty);
    out.insert("doc".into(), field.doc.into());
    if matches!(
        field.ty,
        Ty::OptStr | Ty::OptI64 | Ty::OptU64 | Ty::OptDec | Ty::OptBool | Ty::OptOptionType
    ) {
        out.insert("default".into(), Value::Null);
    }
    Value::Object(out)
}

/// Appends the Avro binary encoding of `record` (its kind's schema) to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut fields = fields::fields(record.kind());
    let mut result = Ok(());
    fields::values(record, |val| {
        let field = fields.next().expect("values follow the fields");
        if result.is_ok() {
            result = value(field, val, out);
        }
    });
    result
}

fn value(field: &Field, val: Val<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let name = field.name;
    match val {
        Val::U8(v) => long(out, v as i64),
        Val::Str(s) => string(out, s),
        Val::OptStr(s) => {
            union(out, s.is_some());
            if let Some(s) = s {
                string(out, s);
            }
        }
        Val::I64(v) => long(out, v),
        Val::OptI64(v) => {
            union(out, v.is_some());
            if let Some(v) = v {
                long(out, v);
            }
        }
        Val::OptU64(v) => {
            union(out, v.is_some());
            if let Some(v) = v {
                let signed = i64::try_from(v).map_err(|_| EncodeError::Unsigned {
                    field: name,
                    value: v,
                })?;
                long(out, signed);
            }
        }
        Val::Dec(d) => decimal_bytes(out, name, d)?,
        Val::OptDec(d) => {
            union(out, d.is_some());
            if let Some(d) = d {
                decimal_bytes(out, name, d)?;
            }
        }
        Val::Bool(b) => out.push(b as u8),
        Val::OptBool(b) => {
            union(out, b.is_some());
            if let Some(b) = b {
                out.push(b as u8);
            }
        }
        Val::Sym(s) => symbol(out, field.ty, s),
        Val::OptSym(s) => {
            union(out, s.is_some());
            if let Some(s) = s {
                symbol(out, field.ty, s);
            }
        }
        Val::Levels(levels) => {
            if !levels.is_empty() {
                long(out, levels.len() as i64);
                for level in levels {
                    decimal_bytes(out, name, &level.0)?;
                    decimal_bytes(out, name, &level.1)?;
                }
            }
            long(out, 0); // end of the array's blocks
        }
    }
    Ok(())
}

/// An enum by index, or a string field (status event, kind) by its text.
fn symbol(out: &mut Vec<u8>, ty: Ty, s: &str) {
    let symbols = fields::symbols(ty);
    if symbols.is_empty() {
        string(out, s);
    } else {
        let index = symbols.iter().position(|x| *x == s).unwrap_or(0);
        long(out, index as i64);
    }
}

/// A `["null", T]` union's branch: 0 null, 1 the value.
fn union(out: &mut Vec<u8>, present: bool) {
    out.push(if present { 2 } else { 0 }); // zig-zag of 1 and 0
}

/// An Avro `int`/`long`: zig-zag, then a little-endian base-128 varint.
pub fn long(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

/// The unscaled value of `d` at scale 18, as a two's-complement big-endian integer
/// of the fewest bytes (the decimal logical type's `bytes`).
fn decimal_bytes(out: &mut Vec<u8>, field: &'static str, d: &Dec) -> Result<(), EncodeError> {
    let unscaled = unscaled(d).ok_or_else(|| EncodeError::Decimal {
        field,
        value: d.as_str().to_string(),
    })?;
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    // Drop leading bytes that only repeat the sign.
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    long(out, (16 - start) as i64);
    out.extend_from_slice(&bytes[start..]);
    Ok(())
}

/// `d` × 10^18 as an integer, when it has at most 20 integer and 18 fractional digits.
pub fn unscaled(d: &Dec) -> Option<i128> {
    let text = d.as_str();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.len() > (DECIMAL_PRECISION - DECIMAL_SCALE) as usize
        || frac.len() > DECIMAL_SCALE as usize
    {
        return None;
    }
    let mut n: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        n = n * 10 + (c - b'0') as i128;
    }
    n *= 10i128.pow(DECIMAL_SCALE - frac.len() as u32);
    Some(if negative { -n } else { n })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fields::samples;

    /// A reader of the encoding driven by the schema description alone: decodes a
    /// body back to the JSON contract's value.
    pub(crate) struct Reader<'a> {
        pub bytes: &'a [u8],
    }

    impl Reader<'_> {
        fn long(&mut self) -> i64 {
            let mut n = 0u64;
            let mut shift = 0;
            loop {
                let b = self.bytes[0];
                self.bytes = &self.bytes[1..];
                n |= ((b & 0x7f) as u64) << shift;
                if b & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
            ((n >> 1) as i64) ^ -((n & 1) as i64)
        }
        fn take(&mut self, n: usize) -> &[u8] {
            let (head, rest) = self.bytes.split_at(n);
            self.bytes = rest;
            head
        }
        fn string(&mut self) -> String {
            let n = self.long() as usize;
            String::from_utf8(self.take(n).to_vec()).unwrap()
        }
        fn decimal(&mut self) -> Value {
            let n = self.long() as usize;
            let bytes = self.take(n);
            let mut v: i128 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
            for b in bytes {
                v = (v << 8) | *b as i128;
            }
            let digits = format!("{:0>19}", v.unsigned_abs());
            let (int, frac) = digits.split_at(digits.len() - 18);
            let text = format!("{}{int}.{frac}", if v < 0 { "-" } else { "" });
            Value::from(Dec::parse(&text).unwrap().as_str())
        }
        fn optional(&mut self, read: impl FnOnce(&mut Self) -> Value) -> Value {
            match self.long() {
                0 => Value::Null,
                1 => read(self),
                b => panic!("union branch {b}"),
            }
        }
        pub(crate) fn field(&mut self, ty: Ty) -> Value {
            let sym = |r: &mut Self| Value::from(fields::symbols(ty)[r.long() as usize]);
            match ty {
                Ty::Version | Ty::I64 => Value::from(self.long()),
                Ty::Str | Ty::StatusEvent | Ty::Kind => Value::from(self.string()),
                Ty::OptStr => self.optional(|r| Value::from(r.string())),
                Ty::OptI64 | Ty::OptU64 => self.optional(|r| Value::from(r.long())),
                Ty::Dec => self.decimal(),
                Ty::OptDec => self.optional(|r| r.decimal()),
                Ty::Bool => Value::from(self.take(1)[0] == 1),
                Ty::OptBool => self.optional(|r| Value::from(r.take(1)[0] == 1)),
                Ty::Market | Ty::Side | Ty::InstrumentStatus => sym(self),
                Ty::OptOptionType => self.optional(sym),
                Ty::Levels => {
                    let mut levels = Vec::new();
                    loop {
                        let n = self.long();
                        if n == 0 {
                            break;
                        }
                        for _ in 0..n {
                            levels.push(json!([self.decimal(), self.decimal()]));
                        }
                    }
                    Value::Array(levels)
                }
            }
        }
    }

    #[test]
    fn every_sample_decodes_back_to_its_json() {
        for record in samples() {
            let mut body = Vec::new();
            encode(&record, &mut body).unwrap();
            let mut reader = Reader { bytes: &body };
            let mut decoded = Map::new();
            for f in fields::fields(record.kind()) {
                decoded.insert(f.name.to_string(), reader.field(f.ty));
            }
            assert!(reader.bytes.is_empty(), "{:?}: bytes left", record.kind());
            let json: Value = serde_json::from_slice(&record.to_json()).unwrap();
            assert_eq!(Value::Object(decoded), json);
        }
    }

    #[test]
    fn a_trade_is_these_bytes() {
        let record = &samples()[0];
        let mut body = Vec::new();
        encode(record, &mut body).unwrap();
        let mut expected: Vec<u8> = b"\x02\x0ebinance\x02\x1aBTC-USDT-PERP\x0eBTCUSDT\x02".to_vec();
        long(&mut expected, 1723161255342000000);
        long(&mut expected, 1723161253937085768);
        expected.push(2);
        long(&mut expected, 3735683259);
        expected.extend_from_slice(b"\x02x\x0atrade");
        // 61837.63 at scale 18 = 0x0d1839_81f731_d69300_00: 10 bytes, length zig-zagged = 20.
        expected.push(20);
        expected.extend_from_slice(b"\x0d\x18\x39\x81\xf7\x31\xd6\x93\x00\x00");
        // 0.02 = 2e16 = 0x47 0d e4 df 82 00 00: 7 bytes.
        expected.extend_from_slice(b"\x0e\x47\x0d\xe4\xdf\x82\x00\x00");
        expected.extend_from_slice(b"\x02\x143735683259"); // sell = index 1
        assert_eq!(body, expected);
    }

    #[test]
    fn decimals_out_of_range_are_refused_not_rounded() {
        let mut record = samples()[0].clone();
        if let crate::Data::Trade(t) = &mut record.data {
            t.price = Dec::parse("0.0000000000000000001").unwrap();
        }
        let err = encode(&record, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field price: decimal 0.0000000000000000001 does not fit decimal(38, 18) (at most 20 integer and 18 fractional digits)"
        );
        assert_eq!(
            unscaled(&Dec::parse("123456789012345678901").unwrap()),
            None
        );
        assert_eq!(
            unscaled(&Dec::parse("-1.5").unwrap()),
            Some(-1_500_000_000_000_000_000)
        );
    }

    #[test]
    fn schemas_define_each_named_type_once() {
        let book = schema_text(Kind::Book);
        assert_eq!(book.matches("\"name\":\"Level\"").count(), 1, "{book}");
        assert!(book.contains("\"items\":\"tickbridge.v1.Level\""), "{book}");
        let trade = schema_for(Kind::Trade);
        assert_eq!(trade["name"], "Trade");
        assert_eq!(
            trade["fields"][2]["type"]["symbols"],
            json!(["spot", "perp", "future", "option"])
        );
    }

    /// The published files under `schemas/avro/` must equal the generated schemas.
    #[test]
    fn published_files_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("avro");
        for kind in Kind::ALL {
            let path = dir.join(format!("{}.avsc", kind.as_str()));
            let on_disk = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                on_disk,
                schema_file_text(kind),
                "{} is stale: run `cargo run -- schema --format avro --write schemas/avro`",
                path.display()
            );
        }
    }
}

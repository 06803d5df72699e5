//! The JSON Schema (draft 2020-12) of each record kind, published for consumers.
//!
//! The schemas are generated here, from one description of the envelope and of each
//! payload, so they cannot drift apart; `schemas/json/<kind>.json` holds the
//! published copies (a test keeps them equal to this output, and
//! `tickbridge schema --write schemas/json` regenerates them).

use serde_json::{json, Map, Value};

use crate::Kind;

/// The JSON Schema `$id` base; a file's id is `<base>/<kind>.json`.
pub const SCHEMA_ID_BASE: &str = "https://tickbridge.dev/schema/v1";

const DECIMAL_PATTERN: &str = r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$";

fn decimal() -> Value {
    json!({"type": "string", "pattern": DECIMAL_PATTERN,
           "description": "exact decimal as normalized text (no trailing zeros, no exponent)"})
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn nullable_decimal() -> Value {
    nullable(decimal())
}

fn side() -> Value {
    json!({"enum": ["buy", "sell"]})
}

fn nullable_int() -> Value {
    json!({"type": ["integer", "null"]})
}

fn envelope() -> Vec<(&'static str, Value)> {
    vec![
        ("v", json!({"const": 1})),
        ("exchange", json!({"type": "string", "minLength": 1})),
        (
            "market",
            json!({"enum": ["spot", "perp", "future", "option"]}),
        ),
        ("symbol", json!({"type": "string", "minLength": 1})),
        ("native", json!({"type": "string", "minLength": 1})),
        (
            "ts_exchange",
            json!({"type": ["integer", "null"], "description": "exchange time, ns since epoch"}),
        ),
        (
            "ts_recv",
            json!({"type": "integer", "description": "local receive time, ns since epoch"}),
        ),
        ("seq", json!({"type": ["integer", "null"], "minimum": 0})),
        ("id", json!({"type": "string", "minLength": 1})),
    ]
}

fn payload(kind: Kind) -> Vec<(&'static str, Value)> {
    let level = json!({"type": "array", "prefixItems": [decimal(), decimal()],
                       "minItems": 2, "maxItems": 2});
    match kind {
        Kind::Trade => vec![
            ("price", decimal()),
            ("size", decimal()),
            ("side", side()),
            ("trade_id", json!({"type": "string", "minLength": 1})),
        ],
        Kind::Bbo => vec![
            ("bid_price", nullable_decimal()),
            ("bid_size", nullable_decimal()),
            ("ask_price", nullable_decimal()),
            ("ask_size", nullable_decimal()),
        ],
        Kind::Book => vec![
            ("bids", json!({"type": "array", "items": level.clone()})),
            ("asks", json!({"type": "array", "items": level})),
            ("snapshot", json!({"type": "boolean"})),
            ("prev_seq", nullable_int()),
            ("checksum_ok", json!({"type": ["boolean", "null"]})),
        ],
        Kind::Ticker => [
            "last",
            "bid_price",
            "bid_size",
            "ask_price",
            "ask_size",
            "open_24h",
            "high_24h",
            "low_24h",
            "volume_24h",
            "quote_volume_24h",
        ]
        .into_iter()
        .map(|f| (f, nullable_decimal()))
        .collect(),
        Kind::Funding => vec![
            ("rate", decimal()),
            ("predicted_rate", nullable_decimal()),
            ("next_funding_ts", nullable_int()),
        ],
        Kind::OpenInterest => vec![
            ("open_interest", decimal()),
            ("open_interest_value", nullable_decimal()),
        ],
        Kind::Liquidation => vec![("price", decimal()), ("size", decimal()), ("side", side())],
        Kind::MarkPrice => vec![
            ("mark_price", decimal()),
            ("index_price", nullable_decimal()),
        ],
        Kind::Instrument => vec![
            ("base", json!({"type": "string"})),
            ("quote", json!({"type": "string"})),
            ("settle", json!({"type": ["string", "null"]})),
            ("expiry", nullable_int()),
            ("strike", nullable_decimal()),
            ("option_type", json!({"enum": ["call", "put", null]})),
            ("tick_size", nullable_decimal()),
            ("lot_size", nullable_decimal()),
            ("contract_size", nullable_decimal()),
            ("status", json!({"enum": ["trading", "halted", "delisted"]})),
        ],
        Kind::Status => vec![
            (
                "event",
                json!({"enum": ["connected", "subscribed", "rejected", "disconnected",
                                "gap", "resynced", "stale", "halted", "delisted", "lost", "leader"]}),
            ),
            ("channel", json!({"type": ["string", "null"]})),
            ("reason", json!({"type": ["string", "null"]})),
            ("expected", nullable_int()),
            ("got", nullable_int()),
        ],
    }
}

/// The JSON Schema of one record kind.
pub fn schema_for(kind: Kind) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, schema) in envelope().into_iter().chain(payload(kind)) {
        required.push(Value::from(name));
        properties.insert(name.to_string(), schema);
    }
    properties.insert("kind".into(), json!({"const": kind.as_str()}));
    required.insert(1, Value::from("kind"));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{SCHEMA_ID_BASE}/{}.json", kind.as_str()),
        "title": format!("tickbridge v1 {} record", kind.as_str()),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The published file text of one kind's schema (pretty JSON with a final newline).
pub fn schema_file_text(kind: Kind) -> String {
    let mut text = serde_json::to_string_pretty(&schema_for(kind)).expect("schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published files under `schemas/json/` must equal the generated schemas.
    #[test]
    fn published_files_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("json");
        for kind in Kind::ALL {
            let path = dir.join(format!("{}.json", kind.as_str()));
            let on_disk = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                on_disk,
                schema_file_text(kind),
                "{} is stale: run `cargo run -- schema --write schemas/json`",
                path.display()
            );
        }
    }
}

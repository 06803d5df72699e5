//! `[sink] encoding`: how a record becomes the bytes a sink publishes.
//!
//! - `json` (default): the schema v1 JSON object, on every sink.
//! - `avro`, `protobuf`, `json_schema`: the Confluent Schema Registry wire format, on
//!   the Kafka sink with `[sink.kafka.schema_registry]`: a magic byte 0, the 4-byte
//!   big-endian schema id, for Protobuf the message indexes (one 0 byte: the file's
//!   first message), then the body (Avro binary, Protobuf, or the JSON object).
//!
//! The batcher encodes (off the sink's path) and leaves the schema id zero: the id
//! depends on the topic's subject, which only the Kafka sink resolves
//! ([`set_schema_id`] writes it in place, no copy).

use serde::Deserialize;
use tickbridge_schema::Record;

/// The value encodings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    #[default]
    Json,
    Avro,
    Protobuf,
    JsonSchema,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Avro => "avro",
            Encoding::Protobuf => "protobuf",
            Encoding::JsonSchema => "json_schema",
        }
    }

    /// Whether values carry a schema id of a registry.
    pub fn uses_registry(self) -> bool {
        self != Encoding::Json
    }

    /// The registry's `schemaType` (`None`: Avro, the registry's default).
    pub fn schema_type(self) -> &'static str {
        match self {
            Encoding::Json | Encoding::JsonSchema => "JSON",
            Encoding::Avro => "AVRO",
            Encoding::Protobuf => "PROTOBUF",
        }
    }

    /// The `content-type` header of a message.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Avro => "application/vnd.confluent.avro",
            Encoding::Protobuf => "application/vnd.confluent.protobuf",
            Encoding::JsonSchema => "application/vnd.confluent.jsonschema+json",
        }
    }

    /// The schema text of one kind for this encoding (what is registered).
    pub fn schema_text(self, kind: tickbridge_schema::Kind) -> String {
        match self {
            Encoding::Json | Encoding::JsonSchema => {
                tickbridge_schema::json_schema::schema_for(kind).to_string()
            }
            Encoding::Avro => tickbridge_schema::avro::schema_text(kind),
            Encoding::Protobuf => tickbridge_schema::protobuf::schema_text(kind),
        }
    }

    /// Bytes before the body: magic byte and schema id, plus Protobuf's message index.
    pub fn header_len(self) -> usize {
        match self {
            Encoding::Json => 0,
            Encoding::Avro | Encoding::JsonSchema => 5,
            Encoding::Protobuf => 6,
        }
    }
}

/// One record and the bytes its sink publishes.
#[derive(Debug)]
pub struct Encoded {
    pub record: Record,
    /// The encoded value (JSON, or the registry wire format with a zero schema id).
    pub payload: Vec<u8>,
    /// Set when the encoding cannot carry this record exactly (an Avro decimal out of
    /// range): `payload` then holds its JSON, and the sink sends the record to its
    /// dead-letter targets with this reason.
    pub refused: Option<String>,
}

/// Encodes one record as JSON.
pub fn encode(record: Record) -> Encoded {
    let payload = record.to_json();
    Encoded {
        record,
        payload,
        refused: None,
    }
}

/// Encodes one record in `encoding`.
pub fn encode_as(record: Record, encoding: Encoding) -> Encoded {
    let mut payload = Vec::with_capacity(256);
    payload.extend_from_slice(&[0u8; 6][..encoding.header_len()]);
    let refused = match encoding {
        Encoding::Json => {
            record.write_json(&mut payload);
            None
        }
        Encoding::JsonSchema => {
            record.write_json(&mut payload);
            None
        }
        Encoding::Protobuf => {
            tickbridge_schema::protobuf::encode(&record, &mut payload);
            None
        }
        Encoding::Avro => match tickbridge_schema::avro::encode(&record, &mut payload) {
            Ok(()) => None,
            Err(e) => {
                payload = record.to_json();
                Some(format!("cannot encode the record in Avro: {e}"))
            }
        },
    };
    Encoded {
        record,
        payload,
        refused,
    }
}

/// Writes the schema id into an encoded registry payload's header.
pub fn set_schema_id(payload: &mut [u8], id: u32) {
    payload[1..5].copy_from_slice(&id.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade() -> Record {
        serde_json::from_str(
            r#"{"v":1,"kind":"trade","exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT",
                "ts_exchange":1,"ts_recv":2,"seq":3,"id":"binance.spot.BTC-USDT.trade.3","price":"1.5","size":"2","side":"buy","trade_id":"3"}"#,
        )
        .unwrap()
    }

    #[test]
    fn registry_payloads_start_with_the_wire_header() {
        let json = trade().to_json();
        let mut e = encode_as(trade(), Encoding::JsonSchema);
        set_schema_id(&mut e.payload, 0x0102_0304);
        assert_eq!(&e.payload[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(&e.payload[5..], json.as_slice());
        let e = encode_as(trade(), Encoding::Protobuf);
        assert_eq!(&e.payload[..6], &[0, 0, 0, 0, 0, 0]);
        assert_eq!(e.payload[6], 0x08, "field 1 (v), varint");
        let e = encode_as(trade(), Encoding::Avro);
        assert_eq!(
            &e.payload[5..7],
            &[2, 14],
            "v = 1, then \"binance\" (7 bytes)"
        );
        assert!(e.refused.is_none());
        assert_eq!(encode_as(trade(), Encoding::Json).payload, json);
    }

    #[test]
    fn an_avro_decimal_out_of_range_is_refused_with_its_json() {
        let mut r = trade();
        if let tickbridge_schema::Data::Trade(t) = &mut r.data {
            t.size = tickbridge_schema::Dec::parse("1e-19").unwrap();
        }
        let e = encode_as(r, Encoding::Avro);
        assert_eq!(e.payload, e.record.to_json());
        assert_eq!(
            e.refused.as_deref(),
            Some("cannot encode the record in Avro: field size: decimal 0.0000000000000000001 does not fit decimal(38, 18) (at most 20 integer and 18 fractional digits)")
        );
    }
}

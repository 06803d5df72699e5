//! tickbridge schema v1: the normalized records every connector produces and every
//! sink publishes, plus the schemas published for consumers: JSON Schema, Avro and
//! Protobuf, all generated from one description of the fields (`fields`).
//!
//! This crate is the consumer contract. It has no I/O and no async runtime, so
//! consumers and tests can depend on it alone.

pub mod avro;
pub mod decimal;
pub mod fields;
mod json;
pub mod json_schema;
pub mod protobuf;
pub mod record;

pub use decimal::{Dec, DecError};
pub use json::{escape_at, push_u64, u64_digits};
pub use record::{
    Bbo, Book, Data, Funding, Instrument, InstrumentStatus, Kind, Level, Liquidation, MarkPrice,
    Market, OpenInterest, OptionType, Record, Side, Status, StatusEvent, Ticker, Trade,
    SCHEMA_VERSION,
};

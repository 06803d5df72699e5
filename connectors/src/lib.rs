//! tickbridge-connectors: everything exchange-specific, plus the generic WebSocket
//! session driver.
//!
//! - [`contract`]: what a user asks for, connection plans with typed subscribe
//!   requests, the [`Connector`] trait and the pure [`FrameParser`] contract.
//! - [`exchanges`]: one folder per exchange (the same files in each) and the registry,
//!   the list of every connector.
//! - [`envelope`]: the one builder of every record's envelope and id.
//! - [`convert`], [`checksum`], [`time`], [`symbols`], [`flat`]: the shared toolkit
//!   of parsers (decimals, sides, times, CRC32, symbol tables, a fast flat-JSON scanner).
//! - [`book`]: the order-book engine, the per-symbol publication state, the book that
//!   keeps the exchange's level text for checksums, and the resync throttle.
//! - [`instruments`]: instruments as the exchange lists them, and the list that
//!   resolves user symbols against them.
//! - [`rest`]: REST fetching (order-book snapshots) within the exchanges' limits.
//! - [`session`]: one task per connection: connect, subscribe, heartbeat, watchdog,
//!   reconnect, rotate; status records for every transition.
//! - [`fuzzing`]: every registered parser behind one entry point for the fuzz test
//!   and `fuzz/`.

pub mod book;
pub mod checksum;
pub mod contract;
pub mod convert;
pub mod envelope;
pub mod exchanges;
pub mod flat;
pub mod fuzzing;
pub mod instruments;
pub mod rest;
pub mod session;
pub mod stats;
pub mod symbols;
pub mod time;

pub use contract::{
    Answer, BinaryFrames, Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits,
    ParseError, Parsed, PlanError, RateWindow, Refusal, RestRequest, SourceRequest,
    SubscribeRequest,
};
pub use exchanges::{connector, connectors};

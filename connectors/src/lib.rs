//! tickbridge-connectors: everything exchange-specific, plus the generic WebSocket
//! session driver.
//!
//! - [`spec`]: what a user asks for (channels × symbols per market) and what a
//!   connector turns it into (connection plans).
//! - [`parse`]: the pure, synchronous frame-parser contract: a frame in, records and a
//!   classification out. No I/O, so every parser is table-tested without a network.
//! - [`binance`], [`coinbase`]: one module per exchange with its wire types.
//! - [`flat`]: a scanner for flat JSON objects, the fast path of the highest-volume
//!   frames (serde reads every other shape).
//! - [`book`]: the order-book engine (`OrderBook`) and the per-symbol publication
//!   state (`BookSync`) every exchange's book sync builds on.
//! - [`rest`]: REST fetching (order-book snapshots) within the exchanges' request-weight
//!   limits: a process-wide token bucket per limit.
//! - [`session`]: one task per connection: connect, subscribe, heartbeat, watchdog,
//!   reconnect; it emits `status` records for every transition.
//! - [`registry`]: the list of supported exchanges.
//! - [`fuzzing`]: every parser behind one entry point for the fuzz test and `fuzz/`.

pub mod binance;
pub mod book;
pub mod bybit;
pub mod coinbase;
pub mod coinbase_advanced;
pub mod common;
pub mod flat;
pub mod fuzzing;
pub mod kraken;
pub mod okx;
pub mod parse;
pub mod registry;
pub mod rest;
pub mod session;
pub mod spec;
pub mod stats;
pub mod symbols;
pub mod time;

pub use parse::{FrameParser, ParseError, Parsed, Refusal, RestRequest};
pub use registry::{connector, connectors};
pub use spec::{
    Channel, ConnectionPlan, Connector, Heartbeat, Limits, PlanError, RateWindow, SourceRequest,
};

//! tickbridge: exchange WebSocket feeds → normalized records → Kafka / NATS / file /
//! stdout, every batch acknowledged, every task joined.
//!
//! - [`config`]: the TOML configuration and its resolution into connection plans.
//! - [`instruments`]: each source's instrument list: fetched, cached, resolved against.
//! - [`run`]: the running bridge and its structured shutdown.
//! - [`pipeline`]: bounded queue → batcher → publisher.
//! - [`sinks`]: the sink contract and its implementations.
//! - [`capture`], [`replay`]: the capture format, and the mock exchange that serves it.
//! - [`ops`]: readiness and metrics state.
//! - [`commands`]: the CLI commands.

pub mod capture;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod instruments;
pub mod logging;
pub mod ops;
pub mod pipeline;
pub mod replay;
pub mod run;
pub mod signals;
pub mod sinks;

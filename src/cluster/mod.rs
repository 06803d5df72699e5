//! Hot standby into Kafka (`[cluster] standby`): several replicas run one shard and
//! exactly one publishes.
//!
//! - `leadership.rs`: who leads, held through Kafka's own group coordination.
//! - `tail.rs`: what the previous leader last published, read back from its topics.
//! - `gate.rs`: the stage between the sources' queue and the pipeline that keeps the
//!   recent records while standing by and, on a takeover, publishes from the first
//!   record the previous leader did not.

mod gate;
mod leadership;
mod tail;

pub use gate::{run as gate, GateSpec, ShardSymbol, StandbyStats};
pub use leadership::{Leadership, LeadershipError};
pub use tail::TailReader;

//! The NATS sink (async-nats): JetStream publishes with awaited PubAcks and
//! `Nats-Msg-Id` dedup, or core NATS with a flush per batch. Configured under
//! `[sink.nats]`.

use std::sync::Arc;

use serde::Deserialize;

use super::dead_letter::DeadLetter;
use super::{Sink, SinkError};
use crate::config::SinkConfig;

/// `[sink.nats]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    #[serde(default = "default_url")]
    pub url: String,
    /// Subject template; `{exchange}`, `{market}`, `{kind}`, `{symbol}` are replaced.
    #[serde(default = "default_subject")]
    pub subject: String,
    #[serde(default = "default_true")]
    pub jetstream: bool,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: default_url(),
            subject: default_subject(),
            jetstream: true,
        }
    }
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".into()
}
fn default_subject() -> String {
    "md.{exchange}.{kind}.{symbol}".into()
}
fn default_true() -> bool {
    true
}

pub async fn build(
    _config: &SinkConfig,
    _dead_letter: DeadLetter,
) -> Result<Arc<dyn Sink>, SinkError> {
    Err(SinkError::Setup {
        sink: "nats",
        message: "the NATS sink is not built into this version yet".into(),
    })
}

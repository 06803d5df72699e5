//! Sinks: where batches go, and the contract every sink keeps.
//!
//! A sink's [`Sink::enqueue`] hands a batch to the transport in call order (per-key
//! order relies on it) and returns an [`Acks`] future that resolves only when every
//! record of the batch is acknowledged (Kafka delivery report, JetStream PubAck,
//! write + flush) or has a definite outcome: dead-lettered (terminal error) or failed
//! (retries exhausted within the delivery timeout). Nothing is dropped without a count.

pub mod dead_letter;
pub mod encoding;
pub mod file;
pub mod kafka;
pub mod nats;
pub mod null;
pub mod stdout;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{SinkConfig, SinkKind};

/// A boxed future, as the sink trait returns them (the trait is used as `dyn Sink`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The acknowledgement future of one enqueued batch.
pub type Acks = BoxFuture<'static, BatchOutcome>;

pub use encoding::{Encoded, Encoding};

/// Records closed together by the batcher.
#[derive(Debug, Default)]
pub struct Batch {
    pub items: Vec<Encoded>,
    /// Sum of the encoded sizes.
    pub bytes: usize,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What became of one batch. `delivered + dead_lettered + failed` = the batch size.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub delivered: u64,
    pub dead_lettered: u64,
    pub failed: u64,
}

impl BatchOutcome {
    pub fn all_delivered(n: usize) -> Self {
        BatchOutcome {
            delivered: n as u64,
            ..Default::default()
        }
    }
    pub fn all_failed(n: usize) -> Self {
        BatchOutcome {
            failed: n as u64,
            ..Default::default()
        }
    }
}

/// An already-enqueued, already-acknowledged batch (synchronous sinks).
pub fn settled<'a>(outcome: BatchOutcome) -> BoxFuture<'a, Acks> {
    let acks: Acks = Box::pin(std::future::ready(outcome));
    Box::pin(std::future::ready(acks))
}

/// Errors building or closing a sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{sink} sink: {message}")]
    Setup { sink: &'static str, message: String },
    #[error("{sink} sink: I/O on {path}: {source}")]
    Io {
        sink: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{sink} sink: {message}")]
    Close { sink: &'static str, message: String },
}

/// A counter of the sink's transport, shown on `/metrics` with the `sink` label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkCounter {
    pub name: &'static str,
    pub help: &'static str,
    pub value: u64,
}

/// The sink contract (see the module docs).
pub trait Sink: Send + Sync {
    fn name(&self) -> &'static str;
    /// Hands the batch to the transport; resolves once it is enqueued (it may wait
    /// for room, e.g. a full producer queue), returning the acknowledgement future.
    fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks>;
    /// Flushes and closes the transport after the last batch's acks were awaited.
    fn close(&self) -> BoxFuture<'_, Result<(), SinkError>>;
    /// True while the transport is connected (readiness).
    fn is_connected(&self) -> bool {
        true
    }
    /// The transport's own counters (outages, retries, ...), for `/metrics`.
    fn counters(&self) -> Vec<SinkCounter> {
        Vec::new()
    }
    /// The sink's dead-letter file (`[sink.dead_letter] path`; none by default): the
    /// publisher copies its `status lost` announcements there, a path that survives
    /// the broker's outage.
    fn dead_letter(&self) -> dead_letter::DeadLetter {
        dead_letter::DeadLetter::default()
    }
}

/// `tickbridge_sink_outages_total`: the same meaning for every networked sink.
pub const OUTAGES: &str = "tickbridge_sink_outages_total";
/// The help text of [`OUTAGES`].
pub const OUTAGES_HELP: &str =
    "Times the sink lost its broker or server after having reached it (each outage ends in a reconnect).";

/// The checks `run` makes of the configured sink before it starts, without
/// connecting anything (`tickbridge validate`); returns the lines to print.
pub fn preflight(config: &SinkConfig) -> Result<Vec<String>, SinkError> {
    check_encoding(config)?;
    if let Some(path) = &config.dead_letter.path {
        parent_dir_exists("dead letter", "sink.dead_letter.path", path)?;
    }
    match config.kind {
        SinkKind::Kafka => kafka::preflight(config),
        SinkKind::File => {
            parent_dir_exists("file", "sink.file.path", &config.file.path)?;
            Ok(vec![format!("file: {}", config.file.path.display())])
        }
        SinkKind::Stdout | SinkKind::Null | SinkKind::Nats => Ok(Vec::new()),
    }
}

/// A file the sink will create needs its directory now.
fn parent_dir_exists(
    sink: &'static str,
    field: &str,
    path: &std::path::Path,
) -> Result<(), SinkError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => return Ok(()),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(SinkError::Setup {
            sink,
            message: format!("{field}: the directory {} does not exist", dir.display()),
        })
    }
}

/// A schema-registry encoding is a Kafka convention: other sinks publish JSON.
fn check_encoding(config: &SinkConfig) -> Result<(), SinkError> {
    if config.encoding.uses_registry() && config.kind != SinkKind::Kafka {
        return Err(SinkError::Setup {
            sink: config.kind.as_str(),
            message: format!(
                "sink.encoding = \"{}\" needs sink.kind = \"kafka\" (values in a schema \
                 registry's wire format); the {} sink publishes JSON",
                config.encoding.as_str(),
                config.kind.as_str()
            ),
        });
    }
    Ok(())
}

/// Builds the sink the config selects; `produced` are the record kinds the
/// configured sources publish (a schema registry must know their schemas);
/// `durable_buffer`: a disk buffer keeps every batch until it is acknowledged.
pub async fn build(
    config: &SinkConfig,
    produced: &[tickbridge_schema::Kind],
    durable_buffer: bool,
) -> Result<Arc<dyn Sink>, SinkError> {
    check_encoding(config)?;
    let dead_letter = dead_letter::DeadLetter::open(config.dead_letter.path.as_deref())?;
    Ok(match config.kind {
        SinkKind::Stdout => Arc::new(stdout::StdoutSink::new()),
        SinkKind::File => Arc::new(file::FileSink::open(&config.file)?),
        SinkKind::Null => Arc::new(null::NullSink),
        SinkKind::Kafka => kafka::build(config, dead_letter, produced, durable_buffer).await?,
        SinkKind::Nats => nats::build(config, dead_letter, durable_buffer).await?,
    })
}

//! The pipeline: bounded queue → batcher → publisher (sink enqueue + awaited acks).
//!
//! ```text
//! sessions ──records──▶ queue ──▶ batcher ──batch──▶ publisher ──▶ sink.enqueue ──▶ acks
//! ```
//!
//! Both stages run in the caller's task (joined with `tokio::join!`), so the pipeline
//! spawns nothing. It ends when every sender of the queue is dropped: the batcher
//! flushes its partial batch, the publisher awaits every in-flight acknowledgement
//! and closes the sink. Or it ends at the drain deadline (`deadline` cancelled): the
//! queue is closed to new records, and every record not yet acknowledged is counted
//! as lost where it was — still in the queue, in the batcher, or in flight — so the
//! summary's `received = delivered + dead_lettered + lost` holds exactly.
//!
//! With several sinks ([`run_all`]), a fan-out stage hands every record to each
//! sink's own queue, and each sink runs this pipeline on its queue with its own
//! batches, acknowledgements and counters (see [`fanout`]).
//!
//! With a disk buffer (`[buffer] kind = "disk"`) a third stage sits between the
//! batcher and the publisher and keeps every batch on disk until it settles (see
//! [`disk_buffer`]); at the deadline what it holds is kept, not lost.

mod batcher;
pub mod disk_buffer;
mod dropping;
mod fanout;
mod lost;
mod metrics;
mod publisher;
mod stats;
pub mod status;

use std::sync::Arc;

use tickbridge_schema::Record;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{BatchConfig, BufferConfig, QueueConfig, SinkConfig, WhenFull};
use crate::sinks::{Sink, SinkError};

pub use crate::sinks::encoding::encode;
pub use metrics::{Histogram, HistogramSnapshot, RecordCounts, LATENCY_BUCKETS};
pub use stats::{PipelineStats, Summary};

/// The drain deadline: closes `queue` to every sender and returns how many records
/// it still held (lost there). Every stage that owns a queue ends this way.
pub(crate) fn close_and_count(queue: &mut mpsc::Receiver<Record>) -> u64 {
    queue.close();
    let mut left = 0u64;
    while queue.try_recv().is_ok() {
        left += 1;
    }
    left
}

/// A trade record with `seq` (the stages' unit tests).
#[cfg(test)]
pub(crate) fn test_record(seq: u64) -> Record {
    let mut r: Record = serde_json::from_str(
        r#"{"v":1,"kind":"trade","exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT",
            "ts_exchange":1,"ts_recv":2,"seq":0,"id":"x","price":"1","size":"1","side":"sell","trade_id":"0"}"#,
    )
    .unwrap();
    r.seq = Some(seq);
    r.id = format!("binance.spot.BTC-USDT.trade.{seq}");
    r
}

/// One sink and what its pipeline needs.
pub struct Lane {
    pub sink: Arc<dyn Sink>,
    pub config: SinkConfig,
    /// Its queue (`[sink.queue]`, else `[queue]`).
    pub queue: QueueConfig,
    /// Its disk buffer, opened (`None`: the memory buffer).
    pub buffer: Option<DiskBuffer>,
    pub stats: Arc<PipelineStats>,
}

/// A sink's disk buffer: its settings and its opened log.
pub struct DiskBuffer {
    pub config: BufferConfig,
    pub log: disk_buffer::DiskLog,
}

impl Lane {
    /// This sink's pipeline on `queue`.
    async fn run(
        self,
        queue: mpsc::Receiver<Record>,
        batch: &BatchConfig,
        deadline: CancellationToken,
    ) -> Result<(), SinkError> {
        run(
            queue,
            self.sink,
            batch,
            &self.queue,
            &self.config,
            self.buffer,
            self.stats,
            deadline,
        )
        .await
    }
}

/// Runs one pipeline per sink: with one sink on `queue` itself, with several behind
/// a fan-out stage that copies every record into each sink's own queue. Returns
/// each sink's result, in the order of `lanes`.
pub async fn run_all(
    queue: mpsc::Receiver<Record>,
    lanes: Vec<Lane>,
    batch: &BatchConfig,
    deadline: CancellationToken,
) -> Vec<Result<(), SinkError>> {
    if lanes.len() == 1 {
        let lane = lanes.into_iter().next().expect("one lane");
        return vec![lane.run(queue, batch, deadline).await];
    }
    let mut stage_lanes = Vec::with_capacity(lanes.len());
    let mut pipelines = Vec::with_capacity(lanes.len());
    for lane in lanes {
        let (tx, rx) = mpsc::channel(lane.queue.capacity);
        let _ = lane.stats.own_queue.set(tx.downgrade());
        stage_lanes.push(fanout::Lane::new(tx, lane.stats.clone()));
        pipelines.push(lane.run(rx, batch, deadline.clone()));
    }
    let stage = fanout::run(queue, stage_lanes, deadline);
    let ((), results) = tokio::join!(stage, futures_util::future::join_all(pipelines));
    results
}

/// Runs the pipeline to completion (until `queue` closes and everything is
/// acknowledged), or until `deadline` is cancelled (see the module docs).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    queue: mpsc::Receiver<Record>,
    sink: Arc<dyn Sink>,
    batch: &BatchConfig,
    queue_config: &QueueConfig,
    sink_config: &SinkConfig,
    buffer: Option<DiskBuffer>,
    stats: Arc<PipelineStats>,
    deadline: CancellationToken,
) -> Result<(), SinkError> {
    // One batch waiting beyond those in flight keeps the sink busy without letting
    // the batcher run far ahead of acknowledgements.
    let (batches_tx, batches_rx) = mpsc::channel(1);
    let (batcher_stats, batcher_deadline) = (stats.clone(), deadline.clone());
    let (batch, when_full, capacity, encoding) = (
        batch.clone(),
        queue_config.when_full,
        queue_config.capacity,
        sink_config.encoding,
    );
    let batcher = async move {
        match when_full {
            WhenFull::Block => {
                batcher::run(
                    queue,
                    batches_tx,
                    batch,
                    encoding,
                    batcher_stats,
                    batcher_deadline,
                )
                .await
            }
            WhenFull::DropOldest => {
                dropping::run(
                    queue,
                    batches_tx,
                    batch,
                    encoding,
                    capacity,
                    batcher_stats,
                    batcher_deadline,
                )
                .await
            }
        }
    };
    let announce = publisher::Announce {
        sink: sink_config.name.clone(),
        encoding,
        dead_letter: sink.dead_letter(),
    };
    let Some(DiskBuffer { config, log }) = buffer else {
        let publisher = publisher::run(
            batches_rx,
            sink,
            sink_config.max_in_flight,
            stats,
            None,
            announce,
            deadline,
        );
        let ((), result) = tokio::join!(batcher, publisher);
        return result;
    };
    // batcher ──▶ disk buffer ──▶ publisher, which reports each settled batch back.
    let (to_publisher, from_buffer) = mpsc::channel(1);
    let (settled_tx, settled_rx) = watch::channel(0u64);
    let buffer_stage = disk_buffer::run(
        batches_rx,
        to_publisher,
        settled_rx.clone(),
        log,
        config,
        encoding,
        stats.clone(),
        deadline.clone(),
    );
    let publisher = publisher::run(
        from_buffer,
        sink,
        sink_config.max_in_flight,
        stats.clone(),
        Some(settled_tx),
        announce,
        deadline,
    );
    let ((), (log, seen), result) = tokio::join!(batcher, buffer_stage, publisher);
    disk_buffer::finish(log, seen, *settled_rx.borrow(), &stats);
    result
}

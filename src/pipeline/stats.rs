//! Pipeline counters and the shutdown summary.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use std::sync::OnceLock;

use tickbridge_schema::Record;
use tokio::sync::mpsc;

use super::metrics::{Histogram, RecordCounts};

/// Counters of the pipeline (records are counted once they leave the queue).
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Records taken from the queue.
    pub received: AtomicU64,
    /// Records acknowledged by the sink.
    pub delivered: AtomicU64,
    /// Records written to the dead-letter target after a terminal error.
    pub dead_lettered: AtomicU64,
    /// Records whose delivery definitely failed (retries exhausted, no dead-letter target).
    pub failed: AtomicU64,
    /// Records still in the queue when the drain deadline passed.
    pub lost_queue: AtomicU64,
    /// Records taken from the queue but in no batch handed to the sink yet (the
    /// batcher's partial batch, the batch waiting for the publisher) at the deadline.
    pub lost_batcher: AtomicU64,
    /// Records handed to the sink whose acknowledgement had not come at the deadline.
    pub lost_in_flight: AtomicU64,
    /// Records dropped from a full queue (`[queue] when_full = "drop_oldest"`).
    pub lost_dropped: AtomicU64,
    /// Records an earlier run left unacknowledged in the disk buffer, published by
    /// this one.
    pub recovered: AtomicU64,
    /// Records the disk buffer still held at exit (published by the next start).
    pub kept: AtomicU64,
    /// The disk buffer now: bytes on disk, records not acknowledged, `ts_recv` of the
    /// oldest of them (0: none).
    pub buffer_bytes: AtomicU64,
    pub buffer_records: AtomicU64,
    pub buffer_oldest_ts_recv: std::sync::atomic::AtomicI64,
    /// When the sink last acknowledged a record (ns since the epoch; 0: never).
    pub last_ack_ns: std::sync::atomic::AtomicI64,
    pub batches: AtomicU64,
    pub batches_in_flight: AtomicU64,
    /// Records taken from the queue, by exchange × market × kind.
    pub records_by_kind: RecordCounts,
    /// From handing a batch to the sink to its last acknowledgement.
    pub batch_ack_latency: Histogram,
    /// From a record's `ts_recv` to its batch's acknowledgement, per record.
    pub receive_to_ack_latency: Histogram,
    /// The sink's own queue when records fan out to several sinks (weak: it must not
    /// keep the queue open); unset with one sink, whose queue is the sources'.
    pub own_queue: OnceLock<mpsc::WeakSender<Record>>,
}

/// The numbers of the shutdown summary line: `received + recovered = delivered +
/// dead_lettered + lost + kept`, always, and `lost` is the sum of where the lost
/// records were (`recovered` and `kept` are 0 without a disk buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Every record a source put into the queue.
    pub received: u64,
    pub delivered: u64,
    pub dead_lettered: u64,
    pub lost: u64,
    /// Of `lost`: still in the queue at the drain deadline.
    pub lost_queue: u64,
    /// Of `lost`: in the batcher (taken from the queue, not handed to the sink).
    pub lost_batcher: u64,
    /// Of `lost`: handed to the sink, unacknowledged at the deadline.
    pub lost_in_flight: u64,
    /// Of `lost`: failed after the sink's retries (no dead-letter target took them).
    pub failed: u64,
    /// Of `lost`: dropped from a full queue or disk buffer (`when_full = "drop_oldest"`).
    pub dropped: u64,
    /// Left unacknowledged in the disk buffer by an earlier run, published by this one.
    pub recovered: u64,
    /// Still in the disk buffer at exit, for the next start.
    pub kept: u64,
}

impl PipelineStats {
    /// Records waiting in the sink's own queue, and its capacity (`None` without one,
    /// or once it closed).
    pub fn own_queue_depth(&self) -> Option<(u64, u64)> {
        let tx = self.own_queue.get()?.upgrade()?;
        let max = tx.max_capacity() as u64;
        Some((max - tx.capacity() as u64, max))
    }

    pub fn summary(&self) -> Summary {
        let lost_queue = self.lost_queue.load(Relaxed);
        let lost_batcher = self.lost_batcher.load(Relaxed);
        let lost_in_flight = self.lost_in_flight.load(Relaxed);
        let failed = self.failed.load(Relaxed);
        let dropped = self.lost_dropped.load(Relaxed);
        Summary {
            received: self.received.load(Relaxed) + lost_queue,
            delivered: self.delivered.load(Relaxed),
            dead_lettered: self.dead_lettered.load(Relaxed),
            lost: lost_queue + lost_batcher + lost_in_flight + failed + dropped,
            lost_queue,
            lost_batcher,
            lost_in_flight,
            failed,
            dropped,
            recovered: self.recovered.load(Relaxed),
            kept: self.kept.load(Relaxed),
        }
    }
}

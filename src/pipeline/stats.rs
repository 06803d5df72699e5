//! Pipeline counters and the shutdown summary.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

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
    pub batches: AtomicU64,
    pub batches_in_flight: AtomicU64,
    /// Records taken from the queue, by exchange × market × kind.
    pub records_by_kind: RecordCounts,
    /// From handing a batch to the sink to its last acknowledgement.
    pub batch_ack_latency: Histogram,
    /// From a record's `ts_recv` to its batch's acknowledgement, per record.
    pub receive_to_ack_latency: Histogram,
}

/// The numbers of the shutdown summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub received: u64,
    pub delivered: u64,
    pub dead_lettered: u64,
    /// Received but neither delivered nor dead-lettered: failed, or still unacknowledged
    /// when the drain timed out.
    pub lost: u64,
}

impl PipelineStats {
    pub fn summary(&self) -> Summary {
        let received = self.received.load(Relaxed);
        let delivered = self.delivered.load(Relaxed);
        let dead_lettered = self.dead_lettered.load(Relaxed);
        Summary {
            received,
            delivered,
            dead_lettered,
            lost: received.saturating_sub(delivered + dead_lettered),
        }
    }
}

//! The publisher: enqueues batches on the sink in order and awaits their
//! acknowledgements, with at most `max_in_flight` batches outstanding. Every
//! acknowledgement future is awaited, none is dropped: after the last batch it
//! awaits the remaining ones, then closes the sink. Only at the drain deadline does
//! it stop waiting: the records of the batches still unacknowledged (or still being
//! enqueued) count as lost in flight, those of a batch it had not taken yet as lost
//! in the batcher.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use futures_util::stream::{FuturesOrdered, StreamExt};
use tickbridge_connectors::time::now_ns;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::PipelineStats;
use crate::sinks::{Batch, BatchOutcome, Sink, SinkError};

pub(super) async fn run(
    mut batches: mpsc::Receiver<Batch>,
    sink: Arc<dyn Sink>,
    max_in_flight: usize,
    stats: Arc<PipelineStats>,
    settled: Option<watch::Sender<u64>>,
    deadline: CancellationToken,
) -> Result<(), SinkError> {
    // With a disk buffer every batch is on disk until it settles: at the deadline
    // nothing this stage holds is lost (it stays for the next start).
    let durable = settled.is_some();
    let mut in_flight = FuturesOrdered::new();
    // Records of the batches in `in_flight` (what the deadline would lose).
    let mut in_flight_records = 0u64;
    let mut input_open = true;
    while input_open || !in_flight.is_empty() {
        tokio::select! {
            Some((outcome, timing)) = in_flight.next(), if !in_flight.is_empty() => {
                let timing: Timing = timing;
                in_flight_records -= timing.ts_recv.len() as u64;
                account(&stats, outcome, timing);
                if let Some(settled) = &settled {
                    settled.send_modify(|n| *n += 1);
                }
            }
            batch = batches.recv(), if input_open && in_flight.len() < max_in_flight => match batch {
                Some(batch) => {
                    stats.batches.fetch_add(1, Relaxed);
                    stats.batches_in_flight.fetch_add(1, Relaxed);
                    let timing = Timing::of(&batch);
                    let n = timing.ts_recv.len() as u64;
                    // The sink may hold the batch back (a broker that is down): the
                    // deadline ends that wait too.
                    let acks = tokio::select! {
                        acks = sink.enqueue(batch) => acks,
                        _ = deadline.cancelled() => {
                            if !durable {
                                stats.lost_in_flight.fetch_add(in_flight_records + n, Relaxed);
                            }
                            return at_deadline(&mut batches, &stats, durable);
                        }
                    };
                    in_flight_records += n;
                    in_flight.push_back(async move { (acks.await, timing) });
                }
                None => input_open = false,
            },
            _ = deadline.cancelled() => {
                if !durable {
                    stats.lost_in_flight.fetch_add(in_flight_records, Relaxed);
                }
                return at_deadline(&mut batches, &stats, durable);
            }
        }
    }
    sink.close().await
}

/// The drain deadline passed: a batch the batcher handed over but this stage had not
/// taken counts as lost in the batcher (unless a disk buffer still holds it). The
/// sink is not closed (it holds records it could not deliver in time).
fn at_deadline(
    batches: &mut mpsc::Receiver<Batch>,
    stats: &PipelineStats,
    durable: bool,
) -> Result<(), SinkError> {
    batches.close();
    while let Ok(batch) = batches.try_recv() {
        if !durable {
            stats.lost_batcher.fetch_add(batch.len() as u64, Relaxed);
        }
    }
    Err(SinkError::Close {
        sink: "pipeline",
        message: "the drain deadline passed with records unacknowledged".into(),
    })
}

/// What the latency histograms need of a batch once it is acknowledged.
struct Timing {
    enqueued: Instant,
    ts_recv: Vec<i64>,
}

impl Timing {
    fn of(batch: &Batch) -> Self {
        Timing {
            enqueued: Instant::now(),
            ts_recv: batch.items.iter().map(|e| e.record.ts_recv).collect(),
        }
    }
}

fn account(stats: &PipelineStats, outcome: BatchOutcome, timing: Timing) {
    let acked_ns = now_ns();
    stats
        .batch_ack_latency
        .observe_ns(timing.enqueued.elapsed().as_nanos() as u64);
    stats.receive_to_ack_latency.observe_many_ns(
        timing
            .ts_recv
            .iter()
            .map(|ts| acked_ns.saturating_sub(*ts).max(0) as u64),
    );
    stats.batches_in_flight.fetch_sub(1, Relaxed);
    if outcome.delivered > 0 {
        stats.last_ack_ns.store(acked_ns, Relaxed);
    }
    stats.delivered.fetch_add(outcome.delivered, Relaxed);
    stats
        .dead_lettered
        .fetch_add(outcome.dead_lettered, Relaxed);
    stats.failed.fetch_add(outcome.failed, Relaxed);
    if outcome.failed > 0 {
        tracing::error!(failed = outcome.failed, "records could not be delivered");
    }
}

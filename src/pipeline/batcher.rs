//! The batcher: takes records from the queue, encodes them (`[sink] encoding`), and closes a batch
//! at `max_events`, `max_bytes` or `linger` after its first record, whichever comes
//! first; with a zero `linger` a batch is whatever the queue held when it was read.
//! When the queue closes it flushes the partial batch and returns. At the drain
//! deadline it closes the queue and counts what it still holds (`lost_queue`) and
//! what it took but did not hand on (`lost_batcher`).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tickbridge_schema::Record;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::PipelineStats;
use crate::config::BatchConfig;
use crate::sinks::encoding::{encode_as, Encoding};
use crate::sinks::Batch;

pub(super) async fn run(
    mut queue: mpsc::Receiver<Record>,
    out: mpsc::Sender<Batch>,
    config: BatchConfig,
    encoding: Encoding,
    stats: Arc<PipelineStats>,
    deadline: CancellationToken,
) {
    let mut batch = Batch::default();
    let mut linger_at: Option<Instant> = None;
    let mut incoming: Vec<Record> = Vec::with_capacity(config.max_events.min(4096));
    let stage = Stage {
        out: &out,
        stats: &stats,
        deadline: &deadline,
    };
    loop {
        let linger = async {
            match linger_at {
                Some(d) => sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            n = queue.recv_many(&mut incoming, config.max_events.min(4096)) => {
                if n == 0 {
                    break; // every sender is gone
                }
                stats.received.fetch_add(n as u64, Relaxed);
                // Kinds, last-record times and exchange lag: each shared counter
                // touched once per batch of the queue, not once per record.
                stats.records_by_kind.count_many(&incoming);
                let mut records = incoming.drain(..);
                while let Some(record) = records.next() {
                    let item = encode_as(record, encoding);
                    batch.bytes += item.payload.len();
                    batch.items.push(item);
                    if linger_at.is_none() {
                        linger_at = Some(Instant::now() + config.linger);
                    }
                    if batch.len() >= config.max_events || batch.bytes >= config.max_bytes {
                        linger_at = None;
                        if !stage.send(&mut batch).await {
                            stats.lost_batcher.fetch_add(records.len() as u64, Relaxed);
                            return stage.close_queue(&mut queue);
                        }
                    }
                }
                drop(records);
                // No linger: the batch is whatever the queue held. Records that arrive
                // while the publisher is busy pile up in the queue, so batches still
                // grow with the load, without a timer's 1 ms granularity in the way.
                if config.linger.is_zero() {
                    linger_at = None;
                    if !stage.send(&mut batch).await {
                        return stage.close_queue(&mut queue);
                    }
                }
            }
            _ = linger => {
                linger_at = None;
                if !stage.send(&mut batch).await {
                    return stage.close_queue(&mut queue);
                }
            }
            _ = deadline.cancelled() => {
                stats.lost_batcher.fetch_add(batch.len() as u64, Relaxed);
                return stage.close_queue(&mut queue);
            }
        }
    }
    if !batch.is_empty() && !stage.send(&mut batch).await {
        stage.close_queue(&mut queue);
    }
}

/// Where the batcher hands batches, and what ends it.
struct Stage<'a> {
    out: &'a mpsc::Sender<Batch>,
    stats: &'a PipelineStats,
    deadline: &'a CancellationToken,
}

impl Stage<'_> {
    /// Hands the batch to the publisher; false when the publisher is gone or the
    /// deadline passed first (the batch's records then count as lost in the
    /// batcher). The next batch starts with room for as many records as this one
    /// held (growing a batch of records from empty every time costs more than
    /// encoding them).
    async fn send(&self, batch: &mut Batch) -> bool {
        let next = Batch {
            items: Vec::with_capacity(batch.len()),
            bytes: 0,
        };
        let full = std::mem::replace(batch, next);
        if full.is_empty() {
            return true;
        }
        let n = full.len() as u64;
        let sent = tokio::select! {
            biased;
            sent = self.out.send(full) => sent.is_ok(),
            _ = self.deadline.cancelled() => false,
        };
        if !sent {
            self.stats.lost_batcher.fetch_add(n, Relaxed);
        }
        sent
    }

    /// The deadline: no source may add a record any more; what the queue still
    /// holds is lost there.
    fn close_queue(&self, queue: &mut mpsc::Receiver<Record>) {
        let left = super::close_and_count(queue);
        self.stats.lost_queue.fetch_add(left, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use super::super::test_record as record;

    fn seqs(batch: &Batch) -> Vec<u64> {
        batch.items.iter().filter_map(|i| i.record.seq).collect()
    }

    /// Starts the batcher with `config` and hands back its queue and its batches.
    fn start(
        config: BatchConfig,
    ) -> (
        mpsc::Sender<Record>,
        mpsc::Receiver<Batch>,
        impl std::future::Future<Output = ()>,
    ) {
        let (queue_tx, queue_rx) = mpsc::channel(64);
        let (out_tx, out_rx) = mpsc::channel(1);
        let batcher = run(
            queue_rx,
            out_tx,
            config,
            Encoding::Json,
            Arc::new(PipelineStats::default()),
            CancellationToken::new(),
        );
        (queue_tx, out_rx, batcher)
    }

    #[tokio::test(start_paused = true)]
    async fn without_linger_a_batch_is_what_the_queue_held_and_leaves_at_once() {
        let config = BatchConfig {
            max_events: 100,
            linger: Duration::ZERO,
            ..BatchConfig::default()
        };
        let (queue, mut batches, batcher) = start(config);
        for seq in 1..=3 {
            queue.send(record(seq)).await.unwrap();
        }
        // Off the timer's 1 ms grid, where a zero sleep would still wait for the next tick.
        tokio::time::advance(Duration::from_micros(500)).await;
        let started = Instant::now();
        let check = async {
            assert_eq!(seqs(&batches.recv().await.unwrap()), [1, 2, 3]);
            queue.send(record(4)).await.unwrap();
            queue.send(record(5)).await.unwrap();
            assert_eq!(seqs(&batches.recv().await.unwrap()), [4, 5]);
            // No timer was involved: the paused clock never moved.
            assert_eq!(started.elapsed(), Duration::ZERO);
            drop(queue);
            assert!(batches.recv().await.is_none());
        };
        tokio::join!(batcher, check);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_closes_at_linger_or_when_full() {
        let config = BatchConfig {
            max_events: 3,
            linger: Duration::from_millis(5),
            ..BatchConfig::default()
        };
        let (queue, mut batches, batcher) = start(config);
        let check = async {
            let started = Instant::now();
            queue.send(record(1)).await.unwrap();
            queue.send(record(2)).await.unwrap();
            assert_eq!(seqs(&batches.recv().await.unwrap()), [1, 2]);
            assert!(started.elapsed() >= Duration::from_millis(5));
            let full = Instant::now();
            for seq in 3..=6 {
                queue.send(record(seq)).await.unwrap();
            }
            assert_eq!(seqs(&batches.recv().await.unwrap()), [3, 4, 5]);
            assert_eq!(full.elapsed(), Duration::ZERO, "a full batch does not wait");
            drop(queue);
            // The partial batch is flushed when the queue closes.
            assert_eq!(seqs(&batches.recv().await.unwrap()), [6]);
            assert!(batches.recv().await.is_none());
        };
        tokio::join!(batcher, check);
    }
}

//! The batcher of `[queue] when_full = "drop_oldest"`: it reads the queue at all
//! times, so the sources never wait, and holds what the sink has not taken yet, up to
//! `[queue] capacity` records. When one more arrives the oldest held record is
//! dropped and counted (`lost_dropped`); the next batch handed to the sink starts with
//! one `status gap` per symbol that lost records, naming how many and their receive-
//! time range, so consumers see where the hole is. Batches close as in the blocking
//! batcher (`max_events`, `max_bytes`, `linger`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;

use tickbridge_schema::{Record, StatusEvent};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::status::{status_record, About};

use super::PipelineStats;
use crate::config::BatchConfig;
use crate::sinks::encoding::{encode_as, Encoding};
use crate::sinks::Batch;

/// The records dropped since their last announcement, per (exchange, market,
/// symbol) in a stable order; shared with the disk buffer's `drop_oldest`.
#[derive(Debug, Default)]
pub(super) struct DroppedRecords(BTreeMap<(String, &'static str, String), Dropped>);

impl DroppedRecords {
    /// Counts `old` as dropped.
    pub(super) fn count(&mut self, old: &Record) {
        let key = (
            old.exchange.to_string(),
            old.market.as_str(),
            old.symbol.to_string(),
        );
        let d = self.0.entry(key).or_insert_with(|| Dropped {
            market: old.market,
            native: old.native.clone(),
            count: 0,
            first_ts: old.ts_recv,
            last_ts: old.ts_recv,
        });
        d.count += 1;
        d.first_ts = d.first_ts.min(old.ts_recv);
        d.last_ts = d.last_ts.max(old.ts_recv);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One `status gap` per symbol that lost records since the last call, naming
    /// `place` (what they were dropped from), how many, and their receive-time range.
    pub(super) fn announcements(&mut self, place: &str) -> Vec<Record> {
        std::mem::take(&mut self.0)
            .iter()
            .map(|(key, d)| announcement(key, d, place))
            .collect()
    }
}

/// The records of one symbol dropped since its last announcement.
#[derive(Debug)]
struct Dropped {
    market: tickbridge_schema::Market,
    native: smol_str::SmolStr,
    count: u64,
    first_ts: i64,
    last_ts: i64,
}

/// The status record announcing `d` for (exchange, market, symbol).
fn announcement(key: &(String, &'static str, String), d: &Dropped, place: &str) -> Record {
    let (exchange, _, symbol) = key;
    let about = About {
        exchange,
        market: d.market,
        symbol,
        native: &d.native,
    };
    status_record(
        &about,
        StatusEvent::Gap,
        &format!("gap.dropped.{}", d.first_ts),
        format!(
            "{} records dropped from {place} (when_full = \"drop_oldest\"), \
             received from {} to {} (ns since the epoch)",
            d.count, d.first_ts, d.last_ts
        ),
    )
}

pub(super) async fn run(
    mut queue: mpsc::Receiver<Record>,
    out: mpsc::Sender<Batch>,
    config: BatchConfig,
    encoding: Encoding,
    capacity: usize,
    stats: std::sync::Arc<PipelineStats>,
    deadline: CancellationToken,
) {
    let capacity = capacity.max(1);
    let mut held: VecDeque<Record> = VecDeque::new();
    let mut dropped = DroppedRecords::default();
    let mut incoming: Vec<Record> = Vec::with_capacity(config.max_events.min(4096));
    let mut linger_at: Option<Instant> = None;
    let mut open = true;
    loop {
        if !open && held.is_empty() && dropped.is_empty() {
            return;
        }
        let pending = !held.is_empty() || !dropped.is_empty();
        let due = pending
            && (!open
                || held.len() >= config.max_events
                || config.linger.is_zero()
                || linger_at.is_some_and(|t| t <= Instant::now()));
        let linger = async {
            match linger_at {
                Some(t) if pending && !due => sleep_until(t).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            n = queue.recv_many(&mut incoming, config.max_events.min(4096)), if open => {
                if n == 0 {
                    open = false;
                    continue;
                }
                stats.received.fetch_add(n as u64, Relaxed);
                stats.records_by_kind.count_many(&incoming);
                for record in incoming.drain(..) {
                    if held.len() >= capacity {
                        if let Some(old) = held.pop_front() {
                            stats.lost_dropped.fetch_add(1, Relaxed);
                            dropped.count(&old);
                        }
                    }
                    held.push_back(record);
                }
                if linger_at.is_none() {
                    linger_at = Some(Instant::now() + config.linger);
                }
            }
            permit = out.reserve(), if due => {
                let Ok(permit) = permit else {
                    stats.lost_batcher.fetch_add(held.len() as u64, Relaxed);
                    return close(&mut queue, &stats);
                };
                let mut batch = Batch::default();
                // The announcements first: they precede the records after the hole.
                for gap in dropped.announcements("the full queue") {
                    // Not from the queue: counted as received, so the summary's
                    // equation covers them too.
                    stats.received.fetch_add(1, Relaxed);
                    let item = encode_as(gap, encoding);
                    batch.bytes += item.payload.len();
                    batch.items.push(item);
                }
                while batch.len() < config.max_events && batch.bytes < config.max_bytes {
                    let Some(record) = held.pop_front() else { break };
                    let item = encode_as(record, encoding);
                    batch.bytes += item.payload.len();
                    batch.items.push(item);
                }
                permit.send(batch);
                linger_at = (!held.is_empty()).then(|| Instant::now() + config.linger);
            }
            _ = linger => {}
            _ = deadline.cancelled() => {
                stats.lost_batcher.fetch_add(held.len() as u64, Relaxed);
                return close(&mut queue, &stats);
            }
        }
    }
}

/// The deadline: the queue is closed and what it still holds is lost there.
fn close(queue: &mut mpsc::Receiver<Record>, stats: &PipelineStats) {
    let left = super::close_and_count(queue);
    stats.lost_queue.fetch_add(left, Relaxed);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tickbridge_schema::Data;

    use super::*;

    fn record(seq: u64) -> Record {
        let mut r = super::super::test_record(seq);
        r.ts_recv = 1_000 + seq as i64;
        r
    }

    #[tokio::test(start_paused = true)]
    async fn the_oldest_are_dropped_counted_and_announced_per_symbol() {
        let config = BatchConfig {
            max_events: 100,
            linger: Duration::ZERO,
            ..BatchConfig::default()
        };
        let (queue, queue_rx) = mpsc::channel(64);
        let (out, mut batches) = mpsc::channel(1);
        let stats = Arc::new(PipelineStats::default());
        let batcher = run(
            queue_rx,
            out,
            config,
            Encoding::Json,
            5,
            stats.clone(),
            CancellationToken::new(),
        );
        let check = async {
            for seq in 1..=3 {
                queue.send(record(seq)).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            // [1, 2, 3] waits in the channel: the sink is "down" until we read it.
            for seq in 4..=20 {
                queue.send(record(seq)).await.unwrap();
                tokio::task::yield_now().await;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            let first = batches.recv().await.unwrap();
            let seqs =
                |b: &Batch| -> Vec<u64> { b.items.iter().filter_map(|i| i.record.seq).collect() };
            assert_eq!(seqs(&first), [1, 2, 3]);
            let second = batches.recv().await.unwrap();
            // The announcement, then the 5 newest records; 4..=15 were dropped.
            let gap = &second.items[0].record;
            let Data::Status(s) = &gap.data else {
                panic!("{gap:?}")
            };
            assert_eq!(s.event, StatusEvent::Gap);
            assert_eq!(
                s.reason.as_deref(),
                Some("12 records dropped from the full queue (when_full = \"drop_oldest\"), received from 1004 to 1015 (ns since the epoch)")
            );
            assert_eq!(gap.id, "binance.spot.BTC-USDT.status.gap.dropped.1004");
            assert_eq!(seqs(&second), [16, 17, 18, 19, 20]);
            assert_eq!(stats.lost_dropped.load(Relaxed), 12);
            drop(queue);
            assert!(batches.recv().await.is_none());
            // received (20 + the announcement) = delivered-to-be (3 + 1 + 5) + dropped 12
            assert_eq!(stats.received.load(Relaxed), 21);
        };
        tokio::join!(batcher, check);
    }
}

//! The publisher: enqueues batches on the sink in order and awaits their
//! acknowledgements, with at most `max_in_flight` batches outstanding. Every
//! acknowledgement future is awaited, none is dropped: after the last batch it
//! awaits the remaining ones, then closes the sink. Only at the drain deadline does
//! it stop waiting: the records of the batches still unacknowledged (or still being
//! enqueued) count as lost in flight, those of a batch it had not taken yet as lost
//! in the batcher. Records a batch failed (after the sink's retries) are announced
//! in front of the next batch with `status lost` (see [`lost`]); a batch that failed
//! whole hands the announcements it carried on to the next one.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use futures_util::stream::{FuturesOrdered, StreamExt};
use tickbridge_connectors::time::now_ns;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use tickbridge_schema::Record;

use super::{lost, PipelineStats};
use crate::sinks::dead_letter::DeadLetter;
use crate::sinks::encoding::{encode_as, Encoded, Encoding};
use crate::sinks::{Batch, BatchOutcome, Sink, SinkError};

/// What the publisher needs to announce a loss downstream (`status lost`).
pub(super) struct Announce {
    /// The sink's configured name (`[sink] name`).
    pub sink: String,
    pub encoding: Encoding,
    /// The sink's dead-letter file, which gets a copy of every announcement at once
    /// (the sink itself gets it once it takes batches again).
    pub dead_letter: DeadLetter,
}

impl Announce {
    /// Copies `announcements` to the dead-letter file, if one is configured. A copy:
    /// not counted in the sink's accounting, which the sink's own copy is.
    fn copy_to_dead_letter(&self, announcements: &[Record]) {
        if !self.dead_letter.is_configured() {
            return;
        }
        for r in announcements {
            self.dead_letter.write(&self.sink, LOST_ERROR, &r.to_json());
        }
    }
}

/// The `error` of a `status lost` copy in the dead-letter file.
const LOST_ERROR: &str = "records failed after the sink's retries (status lost)";

pub(super) async fn run(
    mut batches: mpsc::Receiver<Batch>,
    sink: Arc<dyn Sink>,
    max_in_flight: usize,
    stats: Arc<PipelineStats>,
    settled: Option<watch::Sender<u64>>,
    announce: Announce,
    deadline: CancellationToken,
) -> Result<(), SinkError> {
    // With a disk buffer every batch is on disk until it settles: at the deadline
    // nothing this stage holds is lost (it stays for the next start), except the
    // announcements it added, which are on no disk.
    let durable = settled.is_some();
    let mut in_flight = FuturesOrdered::new();
    // Records of the batches in `in_flight` that the deadline would lose.
    let mut in_flight_records = 0u64;
    // `status lost` records waiting for the next batch.
    let mut pending: Vec<Record> = Vec::new();
    let mut input_open = true;
    loop {
        if !input_open && in_flight.is_empty() {
            if pending.is_empty() {
                break;
            }
            // The stream ended after a loss: the announcements go in a batch of
            // their own (whose failure is counted, not announced again).
            let mut batch = Batch::default();
            prepend(&mut batch, &mut pending, &announce, &stats);
            let mut timing = Timing::of(&batch, 0);
            timing.from_input = false;
            let n = batch.len() as u64;
            let outcome = tokio::select! {
                outcome = async { sink.enqueue(batch).await.await } => outcome,
                _ = deadline.cancelled() => {
                    stats.lost_in_flight.fetch_add(n, Relaxed);
                    return at_deadline(&mut batches, &stats, durable);
                }
            };
            stats.batches.fetch_add(1, Relaxed);
            stats.batches_in_flight.fetch_add(1, Relaxed);
            account(&stats, outcome, timing);
            continue;
        }
        tokio::select! {
            // Settled batches first: a loss is then announced in the very next batch.
            biased;
            Some((outcome, timing)) = in_flight.next(), if !in_flight.is_empty() => {
                let (outcome, mut timing): (BatchOutcome, Timing) = (outcome, timing);
                in_flight_records -= timing.at_risk(durable);
                if outcome.failed > 0 && timing.from_input {
                    // A batch that failed whole lost the announcements it carried as
                    // well: they go again (same ids) and are not counted in the new one.
                    let carried = std::mem::take(&mut timing.carried);
                    let whole = outcome.failed == timing.ts_recv.len() as u64;
                    let own_failed = match whole {
                        true => outcome.failed - carried.len() as u64,
                        false => outcome.failed,
                    };
                    if whole {
                        pending.extend(carried);
                    }
                    if own_failed > 0 {
                        let lost = lost::announcements(
                            &announce.sink,
                            timing.loss(own_failed),
                            &timing.symbols,
                        );
                        announce.copy_to_dead_letter(&lost);
                        pending.extend(lost);
                    }
                }
                let from_input = timing.from_input;
                account(&stats, outcome, timing);
                if let (Some(settled), true) = (&settled, from_input) {
                    settled.send_modify(|n| *n += 1);
                }
            }
            batch = batches.recv(), if input_open && in_flight.len() < max_in_flight => match batch {
                Some(mut batch) => {
                    stats.batches.fetch_add(1, Relaxed);
                    stats.batches_in_flight.fetch_add(1, Relaxed);
                    // The symbols and times before announcements join the batch.
                    let symbols = lost::symbols_of(batch.items.iter().map(|i| &i.record));
                    let carried = pending.clone();
                    let added = prepend(&mut batch, &mut pending, &announce, &stats);
                    let mut timing = Timing::of(&batch, added);
                    timing.symbols = symbols;
                    timing.carried = carried;
                    let n = timing.at_risk(durable);
                    // The sink may hold the batch back (a broker that is down): the
                    // deadline ends that wait too.
                    let acks = tokio::select! {
                        acks = sink.enqueue(batch) => acks,
                        _ = deadline.cancelled() => {
                            stats.lost_in_flight.fetch_add(in_flight_records + n, Relaxed);
                            return at_deadline(&mut batches, &stats, durable);
                        }
                    };
                    in_flight_records += n;
                    in_flight.push_back(async move { (acks.await, timing) });
                }
                None => input_open = false,
            },
            _ = deadline.cancelled() => {
                stats.lost_in_flight.fetch_add(in_flight_records, Relaxed);
                return at_deadline(&mut batches, &stats, durable);
            }
        }
    }
    sink.close().await
}

/// Puts the waiting announcements at the front of `batch`, encoded as the sink's
/// records are; they count as received (records the pipeline made). Returns how many.
fn prepend(
    batch: &mut Batch,
    pending: &mut Vec<Record>,
    announce: &Announce,
    stats: &PipelineStats,
) -> u64 {
    if pending.is_empty() {
        return 0;
    }
    let n = pending.len();
    stats.received.fetch_add(n as u64, Relaxed);
    stats.records_by_kind.count_many(pending);
    let notes: Vec<Encoded> = pending
        .drain(..)
        .map(|r| encode_as(r, announce.encoding))
        .collect();
    batch.bytes += notes.iter().map(|e| e.payload.len()).sum::<usize>();
    batch.items.splice(0..0, notes);
    n as u64
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

/// What the latency histograms and a loss announcement need of a batch once it is
/// acknowledged.
struct Timing {
    enqueued: Instant,
    ts_recv: Vec<i64>,
    /// Announcements the publisher put in front of the batch's own records.
    added: u64,
    /// The symbols of the batch's own records.
    symbols: Vec<lost::SymbolShare>,
    /// False for a batch of announcements only: it settles nothing upstream.
    from_input: bool,
    /// The announcements in front (a copy, to send again should the batch fail
    /// whole). Empty for a batch of announcements only: its failure is counted and
    /// not announced again, or the end of a stream could loop on a dead sink.
    carried: Vec<Record>,
}

impl Timing {
    fn of(batch: &Batch, added: u64) -> Self {
        Timing {
            enqueued: Instant::now(),
            ts_recv: batch.items.iter().map(|e| e.record.ts_recv).collect(),
            added,
            symbols: Vec::new(),
            from_input: true,
            carried: Vec::new(),
        }
    }

    /// Records the drain deadline would lose with this batch in flight: all of them,
    /// or with a disk buffer only the announcements (the rest stays on disk).
    fn at_risk(&self, durable: bool) -> u64 {
        match durable {
            true => self.added,
            false => self.ts_recv.len() as u64,
        }
    }

    /// What `failed` records of this batch's own lost, for the announcement.
    fn loss(&self, failed: u64) -> lost::Loss {
        let own = &self.ts_recv[self.added as usize..];
        lost::Loss {
            failed,
            of: own.len() as u64,
            first_ts: own.iter().copied().min().unwrap_or(0),
            last_ts: own.iter().copied().max().unwrap_or(0),
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use tickbridge_schema::{Data, StatusEvent};

    use super::*;
    use crate::config::{BatchConfig, QueueConfig, SinkConfig};
    use crate::pipeline::test_record;
    use crate::sinks::{Acks, BoxFuture};

    /// A sink whose first batch (and `more_failing` after it) fails after its
    /// retries; it keeps every batch it was given.
    #[derive(Default)]
    struct FailsFirstBatch {
        batches: Mutex<Vec<Vec<Record>>>,
        dead_letter: DeadLetter,
        more_failing: usize,
    }

    impl Sink for FailsFirstBatch {
        fn name(&self) -> &'static str {
            "fails-first"
        }
        fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
            let mut batches = self.batches.lock().unwrap();
            let n = batch.len();
            let outcome = match batches.len() <= self.more_failing {
                true => BatchOutcome::all_failed(n),
                false => BatchOutcome::all_delivered(n),
            };
            batches.push(batch.items.into_iter().map(|i| i.record).collect());
            crate::sinks::settled(outcome)
        }
        fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
            Box::pin(std::future::ready(Ok(())))
        }
        fn dead_letter(&self) -> DeadLetter {
            self.dead_letter.clone()
        }
    }

    async fn run_on(
        records: Vec<Record>,
        max_events: usize,
    ) -> (Arc<FailsFirstBatch>, Arc<PipelineStats>) {
        run_on_sink(FailsFirstBatch::default(), records, max_events).await
    }

    async fn run_on_sink(
        sink: FailsFirstBatch,
        records: Vec<Record>,
        max_events: usize,
    ) -> (Arc<FailsFirstBatch>, Arc<PipelineStats>) {
        let sink = Arc::new(sink);
        let stats = Arc::new(PipelineStats::default());
        let (tx, rx) = mpsc::channel(64);
        let batch = BatchConfig {
            max_events,
            linger: Duration::from_millis(1),
            ..BatchConfig::default()
        };
        let (queue, config) = (QueueConfig::default(), SinkConfig::default());
        let feed = async move {
            for r in records {
                tx.send(r).await.unwrap();
            }
        };
        let pipeline = crate::pipeline::run(
            rx,
            sink.clone(),
            &batch,
            &queue,
            &config,
            None,
            stats.clone(),
            CancellationToken::new(),
        );
        let (result, ()) = tokio::join!(pipeline, feed);
        result.unwrap();
        (sink, stats)
    }

    fn lost_reason(r: &Record) -> Option<&str> {
        match &r.data {
            Data::Status(s) if s.event == StatusEvent::Lost => s.reason.as_deref(),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_failed_batch_is_announced_at_the_front_of_the_next_one() {
        let mut records: Vec<Record> = (1..=8).map(test_record).collect();
        for (i, r) in records.iter_mut().enumerate() {
            r.ts_recv = 1_000 + i as i64;
        }
        let (sink, stats) = run_on(records, 4).await;
        let batches = sink.batches.lock().unwrap();
        assert_eq!(batches.len(), 2);
        let second = &batches[1];
        assert_eq!(
            lost_reason(&second[0]),
            Some(
                "4 of the 4 records of a batch received from 1000 to 1003 (ns since the epoch) \
                 were not acknowledged by the stdout sink within its retries and count as lost (a \
                 broker that stored one unacknowledged holds it); 4 of that batch's records were \
                 of this symbol"
            )
        );
        let seqs: Vec<Option<u64>> = second[1..].iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [Some(5), Some(6), Some(7), Some(8)]);
        let summary = stats.summary();
        // The announcement is a record of its own: received 9, failed 4, delivered 5.
        assert_eq!(
            (
                summary.received,
                summary.delivered,
                summary.failed,
                summary.lost
            ),
            (9, 5, 4, 4)
        );
    }

    #[tokio::test]
    async fn a_batch_that_fails_whole_carries_its_announcements_on() {
        let mut records: Vec<Record> = (1..=12).map(test_record).collect();
        for (i, r) in records.iter_mut().enumerate() {
            r.ts_recv = 1_000 + i as i64;
        }
        let sink = FailsFirstBatch {
            more_failing: 1,
            ..FailsFirstBatch::default()
        };
        let (sink, stats) = run_on_sink(sink, records, 4).await;
        let batches = sink.batches.lock().unwrap();
        assert_eq!(batches.len(), 3);
        // The second batch carried the first one's announcement and failed with it.
        let first_announcement = &batches[1][0];
        assert!(lost_reason(first_announcement).is_some());
        assert_eq!(batches[1].len(), 5);
        // The third holds it again, id and all, then the second batch's own.
        let third = &batches[2];
        assert_eq!(&third[0], first_announcement);
        assert_eq!(
            lost_reason(&third[1]),
            Some(
                "4 of the 4 records of a batch received from 1004 to 1007 (ns since the epoch) \
                 were not acknowledged by the stdout sink within its retries and count as lost (a \
                 broker that stored one unacknowledged holds it); 4 of that batch's records were \
                 of this symbol"
            )
        );
        let seqs: Vec<Option<u64>> = third[2..].iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [Some(9), Some(10), Some(11), Some(12)]);
        // Received: 12 records and 3 announcement copies; failed: 4, then 4 and the
        // first copy of the announcement (which the sink then holds once).
        let summary = stats.summary();
        assert_eq!(
            (summary.received, summary.delivered, summary.failed),
            (15, 6, 9)
        );
    }

    #[tokio::test]
    async fn a_loss_in_the_last_batch_is_announced_in_a_batch_of_its_own() {
        let (sink, stats) = run_on((1..=3).map(test_record).collect(), 10).await;
        let batches = sink.batches.lock().unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].len(), 1);
        assert!(lost_reason(&batches[1][0]).is_some(), "{:?}", batches[1][0]);
        let summary = stats.summary();
        assert_eq!(
            (summary.received, summary.delivered, summary.failed),
            (4, 1, 3)
        );
    }

    #[tokio::test]
    async fn a_loss_is_copied_to_the_dead_letter_file_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.jsonl");
        let sink = FailsFirstBatch {
            dead_letter: DeadLetter::open(Some(&path)).unwrap(),
            ..FailsFirstBatch::default()
        };
        let (sink, stats) = run_on_sink(sink, (1..=8).map(test_record).collect(), 4).await;
        let batches = sink.batches.lock().unwrap();
        let in_sink = &batches[1][0];
        assert!(lost_reason(in_sink).is_some(), "{in_sink:?}");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["error"], LOST_ERROR);
        assert_eq!(lines[0]["sink"], "stdout");
        let copy: Record = serde_json::from_value(lines[0]["record"].clone()).unwrap();
        // The same announcement, id and all: a consumer of both paths can dedup it.
        assert_eq!(&copy, in_sink);
        // A copy, not a record of its own: the accounting is the same as without it.
        let summary = stats.summary();
        assert_eq!(
            (summary.received, summary.delivered, summary.failed),
            (9, 5, 4)
        );
    }
}

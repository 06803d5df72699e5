//! The disk buffer stage (`[buffer] kind = "disk"`): between the batcher and the
//! publisher, every batch is appended to a segmented log on local disk before it
//! counts as taken, read back in order for the sink, and deleted only once the
//! publisher reports it settled (acknowledged, dead-lettered or failed).
//!
//! ```text
//! batcher ──batch──▶ append (+ fsync policy) ──▶ log ──read──▶ publisher ──settled──┐
//!                                                 ▲                                  │
//!                                                 └──── delete settled segments ◀────┘
//! ```
//!
//! While the broker is away the publisher stops taking batches; this stage keeps
//! taking the batcher's, so the exchange connections keep reading and records go to
//! disk until `max_bytes`, where the batcher waits (`when_full = "block"`), or the
//! oldest segment no batch of which was handed to the sink yet is dropped
//! (`when_full = "drop_oldest"`: counted lost, and the next batch the sink gets starts
//! with one `status gap` per symbol naming how many records and their receive-time
//! range; the log may then exceed `max_bytes` by up to two segments). A bridge
//! killed meanwhile loses nothing written: the next start reads what was not settled
//! first ([`log::Recovered`], counted as `recovered`). At the drain deadline what the
//! log still holds is synced and stays for the next start (counted as `kept`, not
//! lost); batches the batcher had handed over are appended first.
//!
//! - [`log`]: the segmented log itself (frames, CRCs, recovery, the settled cursor).

pub mod log;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::dropping::DroppedRecords;
use super::PipelineStats;
use crate::config::{BufferConfig, FsyncPolicy, WhenFull};
use crate::sinks::encoding::encode_as;
use crate::sinks::encoding::Encoding;
use crate::sinks::Batch;
pub use log::{BufferError, DiskLog, Recovered};

/// Opens the sink's log and logs what an earlier run left in it.
pub fn open(config: &BufferConfig, sink: &str) -> Result<(DiskLog, Recovered), BufferError> {
    let dir = config
        .path
        .as_deref()
        .expect("validated: a disk buffer has a path");
    let (log, recovered) = DiskLog::open(dir, config.segment_bytes)?;
    if recovered.truncated_bytes > 0 {
        warn!(
            sink,
            path = %dir.display(),
            bytes = recovered.truncated_bytes,
            "disk buffer: cut off a batch torn by a crash (it had not been taken)"
        );
    }
    if recovered.records > 0 {
        info!(
            sink,
            path = %dir.display(),
            batches = recovered.batches,
            records = recovered.records,
            "disk buffer: publishing what the last run left unacknowledged first"
        );
    }
    Ok((log, recovered))
}

/// Runs the stage until the batcher is done and every batch is settled, or until the
/// drain deadline (see the module docs). Hands the log back with the settled count it
/// saw, for [`finish`] once the publisher has ended too.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    mut input: mpsc::Receiver<Batch>,
    out: mpsc::Sender<Batch>,
    mut settled: watch::Receiver<u64>,
    mut log: DiskLog,
    config: BufferConfig,
    encoding: Encoding,
    stats: Arc<PipelineStats>,
    deadline: CancellationToken,
) -> (DiskLog, u64) {
    let mut input_open = true;
    let mut seen = 0u64;
    let mut sync_every = tokio::time::interval(config.fsync_interval);
    sync_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let interval = config.fsync == FsyncPolicy::Interval;
    let drop_oldest = config.when_full == WhenFull::DropOldest;
    // Dropped and not announced yet (announced at the front of the next batch out).
    let mut dropped = DroppedRecords::default();
    publish_gauges(&log, &stats);
    let result: Result<(), BufferError> = async {
        while input_open || log.unsettled_batches() > 0 || !dropped.is_empty() {
            if !dropped.is_empty() && !log.has_unread() {
                // No batch to carry the announcements: they go out as their own,
                // through the log like any other.
                let mut gaps = Batch::default();
                announce(&mut gaps, &mut dropped, encoding, &stats);
                log.append(gaps, encoding)?;
            }
            tokio::select! {
                biased;
                _ = deadline.cancelled() => break,
                changed = settled.changed() => {
                    if changed.is_err() {
                        break; // the publisher ended
                    }
                    let now = *settled.borrow_and_update();
                    log.settle(now - seen)?;
                    seen = now;
                }
                permit = out.reserve(), if log.has_unread() => {
                    let Ok(permit) = permit else { break };
                    let mut batch = log.read_next(encoding)?;
                    if !dropped.is_empty() {
                        announce(&mut batch, &mut dropped, encoding, &stats);
                    }
                    permit.send(batch);
                }
                batch = input.recv(), if input_open && (drop_oldest || log.bytes() < config.max_bytes) => {
                    match batch {
                        Some(batch) => {
                            while log.bytes() >= config.max_bytes {
                                let Some(old) = log.drop_oldest_unread()? else { break };
                                stats.lost_dropped.fetch_add(old.len() as u64, Relaxed);
                                for r in &old {
                                    dropped.count(r);
                                }
                                warn!(
                                    records = old.len(),
                                    "disk buffer full: dropped its oldest unsent segment (when_full = \"drop_oldest\")"
                                );
                            }
                            log.append(batch, encoding)?;
                            if !interval {
                                blocking(|| log.sync())?;
                            }
                        }
                        None => input_open = false,
                    }
                }
                _ = sync_every.tick(), if interval => blocking(|| log.sync())?,
            }
            publish_gauges(&log, &stats);
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        error!(error = %e, "disk buffer failed; what it holds stays for the next start");
    }
    // What the batcher handed over goes to disk too.
    input.close();
    while let Ok(batch) = input.try_recv() {
        let n = batch.len();
        if let Err(e) = log.append(batch, encoding) {
            error!(error = %e, records = n, "disk buffer: a batch could not be kept");
            stats.lost_batcher.fetch_add(n as u64, Relaxed);
        }
    }
    (log, seen)
}

/// Puts one `status gap` per symbol of the records dropped since the last batch at
/// the front of `batch` (counted as received, so the summary's equation holds).
fn announce(
    batch: &mut Batch,
    dropped: &mut DroppedRecords,
    encoding: Encoding,
    stats: &PipelineStats,
) {
    let gaps: Vec<_> = dropped
        .announcements("the full disk buffer")
        .into_iter()
        .map(|gap| encode_as(gap, encoding))
        .collect();
    stats.received.fetch_add(gaps.len() as u64, Relaxed);
    batch.bytes += gaps.iter().map(|g| g.payload.len()).sum::<usize>();
    batch.items.splice(0..0, gaps);
}

/// After the publisher ended: settles what it settled last, syncs the log, and
/// counts what stays on disk for the next start (`kept`).
pub(super) fn finish(mut log: DiskLog, seen: u64, settled: u64, stats: &PipelineStats) {
    if let Err(e) = log.settle(settled - seen) {
        error!(error = %e, "disk buffer: settling the last batches failed");
    }
    if let Err(e) = blocking(|| log.sync()) {
        error!(error = %e, "disk buffer: the last sync failed");
    }
    stats.kept.store(log.unsettled_records(), Relaxed);
    publish_gauges(&log, stats);
}

/// The buffer's size on `/metrics`.
fn publish_gauges(log: &DiskLog, stats: &PipelineStats) {
    stats.buffer_bytes.store(log.bytes(), Relaxed);
    stats.buffer_records.store(log.unsettled_records(), Relaxed);
    stats
        .buffer_oldest_ts_recv
        .store(log.oldest_ts_recv().unwrap_or(0), Relaxed);
}

/// Runs `f` (an fsync) off the async worker where the runtime has others.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tickbridge_schema::Record;

    use super::*;
    use tickbridge_schema::{Status, StatusEvent};

    use crate::config::{BatchConfig, BufferKind, FileConfig, QueueConfig, SinkConfig};
    use crate::pipeline::{test_record, DiskBuffer};
    use crate::sinks::file::FileSink;
    use crate::sinks::{Acks, BoxFuture, Sink, SinkError};

    fn buffer_config(dir: &std::path::Path) -> BufferConfig {
        BufferConfig {
            kind: BufferKind::Disk,
            path: Some(dir.to_path_buf()),
            segment_bytes: 4096,
            ..BufferConfig::default()
        }
    }

    /// Runs the pipeline with a disk buffer in `dir` on `records`, into `sink`.
    async fn run_buffered(
        dir: &std::path::Path,
        sink: Arc<dyn Sink>,
        records: impl IntoIterator<Item = Record>,
        deadline: CancellationToken,
    ) -> (Arc<PipelineStats>, Recovered) {
        run_with(buffer_config(dir), sink, records, deadline)
            .await
            .0
    }

    /// [`run_buffered`] with `config`; also returns how many records the queue took.
    async fn run_with(
        config: BufferConfig,
        sink: Arc<dyn Sink>,
        records: impl IntoIterator<Item = Record>,
        deadline: CancellationToken,
    ) -> ((Arc<PipelineStats>, Recovered), u64) {
        let (log, recovered) = open(&config, "test").unwrap();
        let stats = Arc::new(PipelineStats::default());
        stats.recovered.store(recovered.records, Relaxed);
        let (tx, rx) = mpsc::channel(64);
        let batch = BatchConfig {
            max_events: 7,
            linger: Duration::ZERO,
            ..BatchConfig::default()
        };
        let (queue, sink_config) = (QueueConfig::default(), SinkConfig::default());
        let pipeline = crate::pipeline::run(
            rx,
            sink,
            &batch,
            &queue,
            &sink_config,
            Some(DiskBuffer { config, log }),
            stats.clone(),
            deadline,
        );
        let feed = async move {
            let mut sent = 0;
            for r in records {
                if tx.send(r).await.is_err() {
                    break; // the deadline closed the queue
                }
                sent += 1;
            }
            sent
        };
        let (result, sent) = tokio::join!(pipeline, feed);
        let _ = result;
        ((stats, recovered), sent)
    }

    #[tokio::test]
    async fn a_full_buffer_holds_the_batcher_back_and_the_deadline_counts_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let config = BufferConfig {
            max_bytes: 4096,
            ..buffer_config(dir.path())
        };
        let deadline = CancellationToken::new();
        let cancel = deadline.clone();
        let stop = async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel();
        };
        let (((stats, _), sent), ()) = tokio::join!(
            run_with(
                config,
                Arc::new(Unanswered),
                (1..=5_000).map(test_record),
                deadline
            ),
            stop
        );
        let summary = stats.summary();
        // The sources were held back: the queue (64) and the stages took only a part.
        assert!(
            sent < 1_000,
            "{sent} records taken by a pipeline with a full buffer"
        );
        assert_eq!(summary.received, sent, "{summary:?}");
        // What the log holds stays; what never reached it is lost where it waited.
        let bytes = stats.buffer_bytes.load(Relaxed);
        assert!(
            (4096..4096 + 4096).contains(&bytes),
            "{bytes} bytes on disk"
        );
        assert!(summary.kept > 0 && summary.lost > 0, "{summary:?}");
        assert_eq!(
            summary.lost,
            summary.lost_queue + summary.lost_batcher,
            "{summary:?}"
        );
        assert_eq!(
            summary.received,
            summary.delivered + summary.lost + summary.kept
        );
        assert_eq!(
            summary.kept,
            DiskLog::open(dir.path(), 4096).unwrap().1.records,
            "kept = what the next start finds"
        );
    }

    fn file_sink(path: &std::path::Path) -> Arc<FileSink> {
        let config = FileConfig {
            path: path.to_path_buf(),
            fsync: false,
        };
        Arc::new(FileSink::open(&config).unwrap())
    }

    /// The `seq` of every record the file sink wrote, in file order.
    fn seqs_in(path: &std::path::Path) -> Vec<u64> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Record>(l).unwrap().seq.unwrap())
            .collect()
    }

    /// A broker that takes batches and never answers.
    struct Unanswered;

    impl Sink for Unanswered {
        fn name(&self) -> &'static str {
            "unanswered"
        }
        fn enqueue(&self, _batch: Batch) -> BoxFuture<'_, Acks> {
            let acks: Acks = Box::pin(std::future::pending());
            Box::pin(std::future::ready(acks))
        }
        fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
            Box::pin(std::future::ready(Ok(())))
        }
    }

    #[tokio::test]
    async fn every_record_reaches_the_sink_in_order_and_the_buffer_ends_empty() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let sink = file_sink(&out);
        let buffer = dir.path().join("buffer");
        let (stats, _) = run_buffered(
            &buffer,
            sink,
            (1..=500).map(test_record),
            CancellationToken::new(),
        )
        .await;
        let summary = stats.summary();
        assert_eq!(
            (summary.received, summary.delivered, summary.lost),
            (500, 500, 0)
        );
        assert_eq!(summary.kept, 0);
        let seqs = seqs_in(&out);
        assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
        assert_eq!(stats.buffer_bytes.load(Relaxed), 0);
        assert_eq!(stats.buffer_records.load(Relaxed), 0);
    }

    #[tokio::test]
    async fn at_the_deadline_what_the_sink_did_not_ack_is_kept_and_published_next_time() {
        let dir = tempfile::tempdir().unwrap();
        let deadline = CancellationToken::new();
        let cancel = deadline.clone();
        let stop = async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel();
        };
        let ((stats, _), ()) = tokio::join!(
            run_buffered(
                dir.path(),
                Arc::new(Unanswered),
                (1..=100).map(test_record),
                deadline
            ),
            stop
        );
        let summary = stats.summary();
        assert_eq!(summary.received, 100);
        assert_eq!((summary.delivered, summary.lost, summary.kept), (0, 0, 100));

        // The next start publishes all 100 first, in order.
        let out = dir.path().join("out.jsonl");
        let sink = file_sink(&out);
        let (stats, recovered) = run_buffered(
            dir.path(),
            sink,
            (101..=110).map(test_record),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(recovered.records, 100);
        let summary = stats.summary();
        assert_eq!(
            (
                summary.received,
                summary.recovered,
                summary.delivered,
                summary.kept
            ),
            (10, 100, 110, 0)
        );
        let seqs = seqs_in(&out);
        assert_eq!(seqs, (1..=110).collect::<Vec<_>>());
    }

    /// A sink that is down (holds the publisher in `enqueue`) until `up` says true.
    struct DownUntil {
        inner: Arc<FileSink>,
        up: watch::Receiver<bool>,
    }

    impl Sink for DownUntil {
        fn name(&self) -> &'static str {
            "down-until"
        }
        // The enqueue itself waits while the sink is down; what it yields is the
        // batch's acks, a future by design.
        #[allow(clippy::async_yields_async)]
        fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
            let mut up = self.up.clone();
            Box::pin(async move {
                let _ = up.wait_for(|up| *up).await;
                self.inner.enqueue(batch).await
            })
        }
        fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
            self.inner.close()
        }
    }

    #[tokio::test]
    async fn drop_oldest_drops_exactly_the_counted_records_and_names_their_range() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let (up_tx, up) = watch::channel(false);
        let sink = Arc::new(DownUntil {
            inner: file_sink(&out),
            up,
        });
        let config = BufferConfig {
            max_bytes: 16384,
            when_full: WhenFull::DropOldest,
            ..buffer_config(&dir.path().join("buffer"))
        };
        // Each record received 1 µs after the one before.
        let records = (1..=3_000u64).map(|seq| {
            let mut r = test_record(seq);
            r.ts_recv = 1_000_000 + seq as i64 * 1_000;
            r
        });
        let run = run_with(config, sink, records, CancellationToken::new());
        let recover = async move {
            // The sources are never held back: once all 3,000 are in, the sink returns.
            tokio::time::sleep(Duration::from_millis(500)).await;
            up_tx.send(true).unwrap();
        };
        let (((stats, _), sent), ()) = tokio::join!(run, recover);
        assert_eq!(sent, 3_000);
        let summary = stats.summary();
        let lines = std::fs::read_to_string(&out).unwrap();
        let written: Vec<Record> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let data: Vec<u64> = written.iter().filter_map(|r| r.seq).collect();
        let gaps: Vec<&Status> = written
            .iter()
            .filter_map(|r| match &r.data {
                tickbridge_schema::Data::Status(s) => Some(s),
                _ => None,
            })
            .collect();
        // Records go in order, with exactly the dropped ones missing.
        assert!(data.windows(2).all(|w| w[0] < w[1]), "out of order");
        let missing: Vec<u64> = (1..=3_000).filter(|s| !data.contains(s)).collect();
        assert!(summary.dropped > 0, "{summary:?}");
        assert_eq!(missing.len() as u64, summary.dropped, "{summary:?}");
        assert_eq!(summary.lost, summary.dropped);
        assert_eq!(summary.received, 3_000 + gaps.len() as u64);
        assert_eq!(summary.received, summary.delivered + summary.lost);
        assert_eq!(summary.kept, 0);
        // The announcements cover exactly the missing records: counts and ranges.
        assert!(!gaps.is_empty());
        let mut announced = 0u64;
        let mut covered = Vec::new();
        for gap in &gaps {
            assert_eq!(gap.event, StatusEvent::Gap);
            let reason = gap.reason.as_deref().unwrap();
            let words: Vec<&str> = reason.split(' ').collect();
            assert_eq!(
                words[1..9].join(" "),
                "records dropped from the full disk buffer (when_full",
                "{reason}"
            );
            let (n, from, to): (u64, i64, i64) = (
                words[0].parse().unwrap(),
                words[13].parse().unwrap(),
                words[15].parse().unwrap(),
            );
            announced += n;
            covered.push((from, to));
        }
        assert_eq!(announced, summary.dropped);
        for seq in &missing {
            let ts = 1_000_000 + *seq as i64 * 1_000;
            assert!(
                covered.iter().any(|(a, b)| (*a..=*b).contains(&ts)),
                "record {seq} missing but in no announced range {covered:?}"
            );
        }
        for seq in &data {
            let ts = 1_000_000 + *seq as i64 * 1_000;
            assert!(
                !covered.iter().any(|(a, b)| (*a..=*b).contains(&ts)),
                "record {seq} delivered inside an announced range {covered:?}"
            );
        }
        // The log ends empty.
        assert_eq!(stats.buffer_bytes.load(Relaxed), 0);
    }
}

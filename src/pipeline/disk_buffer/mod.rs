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
//! disk until `max_bytes`, where the batcher waits (`when_full = "block"`). A bridge
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

use super::PipelineStats;
use crate::config::{BufferConfig, FsyncPolicy};
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
    publish_gauges(&log, &stats);
    let result: Result<(), BufferError> = async {
        while input_open || log.unsettled_batches() > 0 {
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
                    permit.send(log.read_next(encoding)?);
                }
                batch = input.recv(), if input_open && log.bytes() < config.max_bytes => {
                    match batch {
                        Some(batch) => {
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
}

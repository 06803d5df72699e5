//! Fan-out: with several `[[sink]]`s, one stage takes each record from the sources'
//! queue and hands a copy to every sink's own queue, in order (per-key order holds in
//! each sink). A sink whose queue is full holds the stage back only once its own queue
//! is full (`block`); with `drop_oldest` its batcher keeps taking, so it never does.
//!
//! Accounting: each sink counts the records it took from its own queue (`received`).
//! At the drain deadline the stage stops; a record it had not handed to a sink yet —
//! still in the sources' queue, or between two sinks' hand-offs — counts as lost in
//! the queue of every sink that did not get it, so each sink's
//! `received = delivered + dead_lettered + lost` holds on its own.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tickbridge_schema::Record;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::PipelineStats;

/// One sink's queue, as the stage sees it.
pub(super) struct Lane {
    pub queue: mpsc::Sender<Record>,
    pub stats: Arc<PipelineStats>,
    /// False once the sink's pipeline is gone (its queue closed at the deadline).
    open: bool,
}

impl Lane {
    pub fn new(queue: mpsc::Sender<Record>, stats: Arc<PipelineStats>) -> Self {
        Lane {
            queue,
            stats,
            open: true,
        }
    }

    fn lost(&self, n: u64) {
        self.stats.lost_queue.fetch_add(n, Relaxed);
    }
}

/// How many records the stage takes from the sources' queue at once.
const TAKE: usize = 1024;

/// Runs until the sources' queue closes (then every lane's queue closes behind the
/// last record, and each sink drains as with one sink), or until `deadline`.
pub(super) async fn run(
    mut source: mpsc::Receiver<Record>,
    mut lanes: Vec<Lane>,
    deadline: CancellationToken,
) {
    let mut taken: Vec<Record> = Vec::with_capacity(TAKE);
    loop {
        let n = tokio::select! {
            biased;
            _ = deadline.cancelled() => break,
            n = source.recv_many(&mut taken, TAKE) => n,
        };
        if n == 0 {
            return; // every source stopped: the lanes' senders drop here
        }
        let mut records = taken.drain(..);
        while let Some(record) = records.next() {
            if !hand_out(record, &mut lanes, &deadline).await {
                // The deadline passed while a lane was full: the rest of what was
                // taken reached no sink.
                let left = records.len() as u64;
                for lane in &lanes {
                    lane.lost(left);
                }
                drop(records);
                return close(source, &lanes);
            }
        }
    }
    close(source, &lanes);
}

/// Sends a copy of `record` to every open lane (the last gets the record itself);
/// false when the deadline passed first (the lanes not reached count it as lost).
async fn hand_out(record: Record, lanes: &mut [Lane], deadline: &CancellationToken) -> bool {
    let last = lanes.len() - 1;
    let mut record = Some(record);
    for i in 0..lanes.len() {
        let lane = &mut lanes[i];
        if !lane.open {
            lane.lost(1);
            continue;
        }
        let copy = if i == last {
            record.take().expect("the record is handed out once")
        } else {
            record.clone().expect("the record is still here")
        };
        // Room in the queue is the usual case: no future, no select.
        let sent = match lane.queue.try_send(copy) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(copy)) => tokio::select! {
                biased;
                sent = lane.queue.send(copy) => sent.is_ok(),
                _ = deadline.cancelled() => {
                    for lane in &lanes[i..] {
                        lane.lost(1);
                    }
                    return false;
                }
            },
        };
        if !sent {
            // That sink's pipeline ended (deadline or a failed sink): what it does
            // not get from now on is lost there.
            lane.open = false;
            lane.lost(1);
        }
    }
    true
}

/// The deadline: no source may add a record any more; what the sources' queue still
/// holds reached no sink.
fn close(mut source: mpsc::Receiver<Record>, lanes: &[Lane]) {
    let left = super::close_and_count(&mut source);
    for lane in lanes {
        lane.lost(left);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    use super::super::test_record as record;

    async fn seqs(rx: &mut mpsc::Receiver<Record>) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r.seq.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn every_lane_gets_every_record_in_order_and_closes_after_the_last() {
        let (src_tx, src_rx) = mpsc::channel(8);
        let (a_tx, mut a_rx) = mpsc::channel(4);
        let (b_tx, mut b_rx) = mpsc::channel(100);
        let lanes = vec![
            Lane::new(a_tx, Arc::default()),
            Lane::new(b_tx, Arc::default()),
        ];
        let stage = run(src_rx, lanes, CancellationToken::new());
        let feed = async {
            for seq in 1..=50 {
                src_tx.send(record(seq)).await.unwrap();
            }
            drop(src_tx);
        };
        let ((), (), a, b) = tokio::join!(stage, feed, seqs(&mut a_rx), seqs(&mut b_rx));
        let want: Vec<u64> = (1..=50).collect();
        assert_eq!(a, want);
        assert_eq!(b, want);
    }

    /// A full lane holds the stage back only once its own queue is full; at the
    /// deadline each lane counts exactly the records it did not get as lost.
    #[tokio::test]
    async fn a_stuck_lane_at_the_deadline_counts_exactly_what_it_missed() {
        let (src_tx, src_rx) = mpsc::channel(1000);
        let (stuck_tx, stuck_rx) = mpsc::channel(10); // nobody reads it
        let (live_tx, mut live_rx) = mpsc::channel(1000);
        let (stuck, live) = (
            Arc::<PipelineStats>::default(),
            Arc::<PipelineStats>::default(),
        );
        let lanes = vec![
            Lane::new(stuck_tx, stuck.clone()),
            Lane::new(live_tx, live.clone()),
        ];
        let deadline = CancellationToken::new();
        let stage = run(src_rx, lanes, deadline.clone());
        let check = async {
            for seq in 1..=100 {
                src_tx.send(record(seq)).await.unwrap();
            }
            // The stuck lane takes ten; the live lane, second in hand-out order, gets
            // the same ten, then the stage waits on the stuck lane with record 11.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut live_got = Vec::new();
            while let Ok(r) = live_rx.try_recv() {
                live_got.push(r.seq.unwrap());
            }
            assert_eq!(live_got, (1..=10).collect::<Vec<u64>>());
            deadline.cancel();
        };
        tokio::join!(stage, check);
        assert_eq!(stuck_rx.len(), 10);
        // 90 more were taken or queued: none reached either lane.
        assert_eq!(stuck.lost_queue.load(Relaxed), 90);
        assert_eq!(live.lost_queue.load(Relaxed), 90);
        assert!(
            src_tx.send(record(101)).await.is_err(),
            "the sources' queue is closed"
        );
    }
}

//! The standby gate: the stage between the sources' queue and the pipeline of a hot
//! standby replica. While another replica leads, records are kept here (the newest
//! `standby_buffer`, the oldest dropped first) and none reaches the sink. When this
//! replica becomes leader it reads back what the previous leader last published per
//! (kind, exchange, market, symbol) (`tail.rs`), announces the takeover with a
//! `status leader` per symbol, and hands on from the first record past that one:
//! from its buffer, then live. A record counts as published when it is that last
//! record (same `id`), or comes before it by `seq` (or by exchange time when the feed
//! has no sequence); the first record of a key that does not ends the comparison for
//! the key. A key the tails do not show is handed on whole (duplicates rather than a
//! gap). Losing the leadership stops the hand-over at once (the batches already in
//! the pipeline still go).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use smol_str::SmolStr;
use tickbridge_connectors::time::now_ns;
use tickbridge_schema::{Data, Market, Record, StatusEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::tail::{self, Last, TailReader};
use super::Leadership;
use crate::pipeline::status::{status_record, About};
use crate::pipeline::PipelineStats;

/// The gate's counters (`/metrics`).
#[derive(Debug, Default)]
pub struct StandbyStats {
    pub leader: AtomicBool,
    /// Records kept while standing by.
    pub buffered: AtomicU64,
    /// Records dropped from a full standby buffer.
    pub discarded: AtomicU64,
    /// Records a takeover found already published by the previous leader.
    pub skipped: AtomicU64,
}

/// One symbol of this replica's shard, for the takeover announcement.
#[derive(Debug, Clone)]
pub struct ShardSymbol {
    pub exchange: SmolStr,
    pub market: Market,
    pub symbol: SmolStr,
    pub native: SmolStr,
}

/// What the gate needs.
pub struct GateSpec {
    pub leadership: Leadership,
    pub tail: Arc<TailReader>,
    /// `[cluster] standby_buffer`.
    pub capacity: usize,
    pub stats: Arc<StandbyStats>,
    /// The pipeline's counters: records still queued here at the drain deadline
    /// while leading count as lost in the queue, as the pipeline's own queue does.
    pub pipeline: Arc<PipelineStats>,
    /// Names the shard in the announcement.
    pub shard: String,
    pub symbols: Vec<ShardSymbol>,
}

/// Runs the gate until `input` closes (the sources stopped) or the drain deadline.
pub async fn run(
    mut input: mpsc::Receiver<Record>,
    output: mpsc::Sender<Record>,
    spec: GateSpec,
    deadline: CancellationToken,
) {
    let mut leader = spec.leadership.is_leader.clone();
    let mut leadership_open = true;
    let mut buffer: VecDeque<Record> = VecDeque::new();
    // Some while leading: the keys still compared with the previous leader's last.
    let mut resume: Option<HashMap<String, Last>> = None;
    loop {
        tokio::select! {
            biased;
            _ = deadline.cancelled() => {
                if resume.is_some() {
                    let left = crate::pipeline::close_and_count(&mut input);
                    spec.pipeline.lost_queue.fetch_add(left, Relaxed);
                }
                break;
            }
            changed = leader.changed(), if leadership_open => {
                if changed.is_err() {
                    leadership_open = false;
                    continue;
                }
                let leads = *leader.borrow_and_update();
                spec.stats.leader.store(leads, Relaxed);
                match (leads, resume.is_some()) {
                    (true, false) => {
                        let mut from = take_over(&spec).await;
                        let announced = announcements(&spec);
                        let mut handed = 0u64;
                        let mut skipped = 0u64;
                        for r in announced.into_iter().chain(buffer.drain(..)) {
                            if already_published(&r, &mut from) {
                                skipped += 1;
                                continue;
                            }
                            handed += 1;
                            if !forward(&output, r, &deadline).await {
                                return;
                            }
                        }
                        spec.stats.buffered.store(0, Relaxed);
                        spec.stats.skipped.fetch_add(skipped, Relaxed);
                        info!(
                            shard = %spec.shard,
                            skipped,
                            handed,
                            "cluster: took over publishing; buffered records the previous leader \
                             had published were skipped, the rest handed to the sink"
                        );
                        resume = Some(from);
                    }
                    (false, true) => {
                        warn!(shard = %spec.shard, "cluster: leadership lost; standing by (records from here on are kept, not published)");
                        resume = None;
                    }
                    _ => {}
                }
            }
            record = input.recv() => match record {
                None => break,
                Some(r) => match &mut resume {
                    Some(from) => {
                        if already_published(&r, from) {
                            spec.stats.skipped.fetch_add(1, Relaxed);
                        } else if !forward(&output, r, &deadline).await {
                            return;
                        }
                    }
                    None => {
                        buffer.push_back(r);
                        if buffer.len() > spec.capacity {
                            buffer.pop_front();
                            spec.stats.discarded.fetch_add(1, Relaxed);
                        }
                        spec.stats.buffered.store(buffer.len() as u64, Relaxed);
                    }
                },
            },
        }
    }
    if resume.is_none() && !buffer.is_empty() {
        info!(
            records = buffer.len(),
            "cluster: stopped while standing by; the kept records are the leader's to publish"
        );
    }
}

/// Hands one record to the pipeline; false when it is gone or the deadline passed.
async fn forward(output: &mpsc::Sender<Record>, r: Record, deadline: &CancellationToken) -> bool {
    tokio::select! {
        sent = output.send(r) => sent.is_ok(),
        _ = deadline.cancelled() => false,
    }
}

/// What the previous leader last published, per key (empty, with a warning, when the
/// tails cannot be read: everything kept is then handed on).
async fn take_over(spec: &GateSpec) -> HashMap<String, Last> {
    let tail = spec.tail.clone();
    match tokio::task::spawn_blocking(move || tail.last_published()).await {
        Ok(Ok(last)) => {
            info!(shard = %spec.shard, keys = last.len(), "cluster: read what the previous leader last published");
            last
        }
        Ok(Err(e)) => {
            warn!(shard = %spec.shard, error = %e, "cluster: cannot read what the previous leader published; handing on every kept record (consumers may see copies)");
            HashMap::new()
        }
        Err(e) => {
            warn!(shard = %spec.shard, error = %e, "cluster: the tail reader failed; handing on every kept record");
            HashMap::new()
        }
    }
}

/// Whether the previous leader already published `r` (see the module docs); the
/// first record of a key that it did not ends that key's comparison.
fn already_published(r: &Record, from: &mut HashMap<String, Last>) -> bool {
    if from.is_empty() || matches!(r.data, Data::Status(_)) {
        return false;
    }
    let key = tail::key(r.kind().as_str(), &r.exchange, r.market.as_str(), &r.symbol);
    let Some(last) = from.get(&key) else {
        return false;
    };
    let same = r.id == last.id;
    let before = match (r.seq, last.seq, r.ts_exchange, last.ts_exchange) {
        (Some(a), Some(b), _, _) => a < b,
        (_, _, Some(a), Some(b)) => a < b,
        _ => false,
    };
    if !before {
        from.remove(&key);
    }
    same || before
}

/// One `status leader` per symbol of the shard.
fn announcements(spec: &GateSpec) -> Vec<Record> {
    let now = now_ns();
    spec.symbols
        .iter()
        .map(|s| {
            let about = About {
                exchange: &s.exchange,
                market: s.market,
                symbol: &s.symbol,
                native: &s.native,
            };
            status_record(
                &about,
                StatusEvent::Leader,
                &format!("leader.{now}"),
                format!(
                    "this replica took over publishing {}: records from here on follow the \
                     last one the previous leader published",
                    spec.shard
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_record;
    use tickbridge_schema::Status;

    fn last(id: &str, seq: Option<u64>, ts: Option<i64>) -> Last {
        Last {
            id: id.into(),
            seq,
            ts_exchange: ts,
        }
    }

    fn trade(seq: u64) -> Record {
        let mut r = test_record(seq);
        r.id = format!("binance.spot.BTC-USDT.trade.{seq}");
        r
    }

    #[test]
    fn records_up_to_the_last_published_are_skipped_and_the_rest_pass() {
        let key = tail::key("trade", "binance", "spot", "BTC-USDT");
        let mut from = HashMap::from([(
            key.clone(),
            last("binance.spot.BTC-USDT.trade.5", Some(5), None),
        )]);
        let passed: Vec<u64> = (3..=8)
            .map(trade)
            .filter(|r| !already_published(r, &mut from))
            .filter_map(|r| r.seq)
            .collect();
        assert_eq!(passed, [6, 7, 8]);
        // The key is done: a later record with a lower seq is not compared again.
        assert!(!from.contains_key(&key));
        assert!(!already_published(&trade(1), &mut from));
    }

    #[test]
    fn without_a_sequence_exchange_time_decides_and_status_records_always_pass() {
        let key = tail::key("trade", "binance", "spot", "BTC-USDT");
        let mut from = HashMap::from([(key, last("x9", None, Some(100)))]);
        let mut early = trade(1);
        (early.seq, early.ts_exchange) = (None, Some(99));
        assert!(already_published(&early, &mut from));
        let mut status = trade(2);
        status.data = Data::Status(Status {
            event: StatusEvent::Connected,
            channel: None,
            reason: None,
            expected: None,
            got: None,
        });
        assert!(!already_published(&status, &mut from));
        // The same exchange time as the last one published: not known to be published.
        let mut same_time = trade(3);
        (same_time.seq, same_time.ts_exchange) = (None, Some(100));
        assert!(!already_published(&same_time, &mut from));
    }

    #[test]
    fn the_last_published_record_itself_is_skipped_by_id() {
        let key = tail::key("trade", "binance", "spot", "BTC-USDT");
        let mut from = HashMap::from([(key, last("binance.spot.BTC-USDT.trade.5", None, None))]);
        let mut r = trade(5);
        r.seq = None;
        assert!(already_published(&r, &mut from));
        assert!(from.is_empty());
        assert!(!already_published(&trade(6), &mut from));
    }
}

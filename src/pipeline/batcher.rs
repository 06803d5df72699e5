//! The batcher: takes records from the queue, encodes them to JSON, and closes a batch
//! at `max_events`, `max_bytes` or `linger` after its first record, whichever comes
//! first. When the queue closes it flushes the partial batch and returns.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tickbridge_schema::Record;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::PipelineStats;
use crate::config::BatchConfig;
use crate::sinks::{Batch, Encoded};

/// Encodes one record.
pub fn encode(record: Record) -> Encoded {
    let json = record.to_json();
    Encoded { record, json }
}

pub(super) async fn run(
    mut queue: mpsc::Receiver<Record>,
    out: mpsc::Sender<Batch>,
    config: BatchConfig,
    stats: Arc<PipelineStats>,
) {
    let mut batch = Batch::default();
    let mut deadline: Option<Instant> = None;
    let mut incoming: Vec<Record> = Vec::with_capacity(config.max_events.min(4096));
    loop {
        let linger = async {
            match deadline {
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
                for record in incoming.drain(..) {
                    stats.records_by_kind.count(&record);
                    let item = encode(record);
                    batch.bytes += item.json.len();
                    batch.items.push(item);
                    if deadline.is_none() {
                        deadline = Some(Instant::now() + config.linger);
                    }
                    if batch.len() >= config.max_events || batch.bytes >= config.max_bytes {
                        deadline = None;
                        if !send(&out, &mut batch).await {
                            return;
                        }
                    }
                }
            }
            _ = linger => {
                deadline = None;
                if !send(&out, &mut batch).await {
                    return;
                }
            }
        }
    }
    if !batch.is_empty() {
        send(&out, &mut batch).await;
    }
}

/// Hands the batch to the publisher; false when the publisher is gone. The next
/// batch starts with room for as many records as this one held (growing a batch of
/// records from empty every time costs more than encoding them).
async fn send(out: &mpsc::Sender<Batch>, batch: &mut Batch) -> bool {
    let next = Batch {
        items: Vec::with_capacity(batch.len()),
        bytes: 0,
    };
    let full = std::mem::replace(batch, next);
    if full.is_empty() {
        return true;
    }
    out.send(full).await.is_ok()
}

//! `order_book_update` books (spot and futures), synced against the REST snapshot's
//! `id` as the Gate v4 documents ("Maintain local depth"/"Order book v1"):
//!
//! 1. subscribe to the updates and buffer them;
//! 2. fetch the snapshot (`with_id=true`); its `id` is the base id;
//! 3. drop buffered updates with `u < id + 1`; the first one used must have
//!    `U <= id + 1 <= u`; if the first buffered update has `U > id + 1` the snapshot
//!    is older than the stream: fetch it again;
//! 4. afterwards every update must start at the last `u + 1`; an update with
//!    `U > last + 1` means updates were lost: `status gap` (`expected` = last + 1,
//!    `got` = `U`) and a fresh snapshot of that symbol only (the update is kept for
//!    it, as the first buffered one). An update entirely at
//!    or below the last `u` (a repeat) is skipped. An update flagged `full` (newer
//!    servers) is a whole book and syncs the symbol by itself.
//!
//! Record `seq` is the update's `u` (the snapshot's `id`); `prev_seq` chains them.

use std::collections::VecDeque;
use std::time::Duration;

use tickbridge_schema::{Level, Record};

use crate::book::{BookConfig, BookSync, Stamp};
use crate::symbols::SymbolInfo;

/// Updates kept while a snapshot is awaited; older ones are dropped.
const MAX_BUFFERED: usize = 10_000;

/// Snapshots older than the stream fetched before the symbol is declared stale.
const MAX_STALE_SNAPSHOTS: u32 = 5;

/// One update (or snapshot, `first` = `last` = its id) as the engine needs it.
#[derive(Debug, Clone)]
pub struct Update {
    pub first: u64,
    pub last: u64,
    pub stamp: Stamp,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// What the book needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// Fetch the snapshot (attempt number, 1 first).
    Snapshot {
        attempt: u32,
    },
}

#[derive(Debug)]
enum Phase {
    Buffering(VecDeque<Update>),
    Synced,
}

/// One symbol's book.
#[derive(Debug)]
pub struct SeqBook {
    sync: BookSync,
    phase: Phase,
    /// `u` of the last applied update (or the snapshot id).
    last: u64,
    attempts: u32,
}

impl SeqBook {
    pub fn new(exchange: &'static str, symbol: SymbolInfo, config: &BookConfig) -> Self {
        SeqBook {
            sync: BookSync::new(exchange, symbol, config),
            phase: Phase::Buffering(VecDeque::new()),
            last: 0,
            attempts: 0,
        }
    }

    pub fn sync(&self) -> &BookSync {
        &self.sync
    }

    /// An update arrived. The first one of a book (and the first after a break) asks
    /// for a snapshot.
    pub fn on_update(&mut self, up: Update, full: bool, out: &mut Vec<Record>) -> Need {
        if full {
            return self.on_full(up, out);
        }
        match &mut self.phase {
            Phase::Buffering(buffer) => {
                if buffer.len() >= MAX_BUFFERED {
                    buffer.pop_front();
                }
                buffer.push_back(up);
                if self.attempts == 0 {
                    self.attempts = 1;
                    Need::Snapshot { attempt: 1 }
                } else {
                    Need::Nothing
                }
            }
            Phase::Synced => self.apply(up, out),
        }
    }

    /// A whole book pushed on the stream (`full: true`): it replaces the book.
    fn on_full(&mut self, up: Update, out: &mut Vec<Record>) -> Need {
        self.sync
            .snapshot(up.stamp, Some(up.last), up.bids, up.asks, None, out);
        self.last = up.last;
        self.attempts = 0;
        let buffered = match std::mem::replace(&mut self.phase, Phase::Synced) {
            Phase::Buffering(b) => b,
            Phase::Synced => VecDeque::new(),
        };
        self.drain(buffered, out)
    }

    fn apply(&mut self, up: Update, out: &mut Vec<Record>) -> Need {
        if up.last <= self.last {
            // Covered by the snapshot or already applied.
            return Need::Nothing;
        }
        if up.first > self.last + 1 {
            let reason = format!(
                "update U={} u={} does not follow the last applied u={}",
                up.first, up.last, self.last
            );
            self.sync
                .gap(up.stamp, Some(self.last + 1), Some(up.first), reason, out);
            // The update that showed the break is kept: the new snapshot may be
            // bridged by it.
            self.phase = Phase::Buffering(VecDeque::from([up]));
            self.attempts = 1;
            return Need::Snapshot { attempt: 1 };
        }
        self.sync.apply(&up.bids, &up.asks);
        self.last = up.last;
        self.sync
            .publish_update(up.stamp, Some(up.last), up.bids, up.asks, None, out);
        Need::Nothing
    }

    fn drain(&mut self, buffered: VecDeque<Update>, out: &mut Vec<Record>) -> Need {
        let mut need = Need::Nothing;
        for up in buffered {
            if let Phase::Buffering(buffer) = &mut self.phase {
                buffer.push_back(up);
                continue;
            }
            if let n @ Need::Snapshot { .. } = self.apply(up, out) {
                need = n;
            }
        }
        need
    }

    /// The requested snapshot (its `id` in `snap.last`): published, then the buffered
    /// updates after it. A snapshot older than the first buffered update is fetched
    /// again (up to [`MAX_STALE_SNAPSHOTS`] times, then used anyway and the break
    /// reported by the chain).
    pub fn on_snapshot(&mut self, snap: Update, out: &mut Vec<Record>) -> Need {
        let Phase::Buffering(buffer) = &mut self.phase else {
            return Need::Nothing;
        };
        let id = snap.last;
        while buffer.front().is_some_and(|u| u.last <= id) {
            buffer.pop_front();
        }
        let behind = buffer.front().is_some_and(|u| u.first > id + 1);
        if behind && self.attempts < MAX_STALE_SNAPSHOTS {
            self.attempts += 1;
            return Need::Snapshot {
                attempt: self.attempts,
            };
        }
        let buffered = std::mem::take(buffer);
        self.sync
            .snapshot(snap.stamp, Some(id), snap.bids, snap.asks, None, out);
        self.last = id;
        self.attempts = 0;
        self.phase = Phase::Synced;
        self.drain(buffered, out)
    }

    /// The snapshot could not be had: `status stale` once per episode, and asked for
    /// again with backoff.
    pub fn on_snapshot_failed(
        &mut self,
        stamp: Stamp,
        reason: &str,
        out: &mut Vec<Record>,
    ) -> Need {
        let Phase::Buffering(buffer) = &self.phase else {
            return Need::Nothing;
        };
        let reference = buffer.front().map(|u| u.first);
        self.sync
            .snapshot_unavailable(stamp, reference, reason, out);
        self.attempts += 1;
        Need::Snapshot {
            attempt: self.attempts,
        }
    }
}

/// Backoff before snapshot attempt `attempt` (1 first: at once).
pub fn backoff(attempt: u32) -> Duration {
    match attempt {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(500u64.saturating_mul(1 << (n - 2).min(6))),
    }
}

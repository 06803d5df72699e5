//! `diff_order_book_[pair]` books, synced from the REST snapshot.
//!
//! Bitstamp numbers neither its diffs nor its snapshots: there is no sequence to
//! chain, only `microtimestamp`. The documented procedure is: subscribe to the diffs,
//! fetch `GET /api/v2/order_book/{pair}` (which carries `microtimestamp`), and apply
//! the diffs newer than the snapshot. What can be detected is therefore limited, and
//! detected per symbol:
//!
//! - a diff no newer than the snapshot is covered by it and skipped, wherever it
//!   arrives (the REST answer may come after diffs older than it);
//! - a diff older than the last applied `microtimestamp` (out of order) → `status
//!   gap` (`expected` = the last applied microtimestamp, `got` = the diff's) and a
//!   fresh snapshot of that symbol;
//! - a crossed book after applying a diff → the same;
//! - a lost diff between two received ones cannot be seen (no sequence numbers).
//!
//! Record `seq` is the event's `microtimestamp` (µs since the epoch), the only order
//! the feed has; `prev_seq` chains the published records.

use std::collections::VecDeque;

use tickbridge_schema::{Level, Record};

use crate::book::{BookConfig, BookSync, Stamp};
use crate::symbols::SymbolInfo;

/// Diffs kept while a snapshot is awaited; older ones are dropped (the snapshot
/// will be newer than them).
const MAX_BUFFERED: usize = 10_000;

/// Attempts of a snapshot older than the first buffered diff before it is used anyway.
const MAX_STALE_SNAPSHOTS: u32 = 3;

/// One diff (or snapshot) as the book engine needs it.
#[derive(Debug, Clone)]
pub struct Diff {
    /// `microtimestamp`, µs since the epoch.
    pub micro: u64,
    pub stamp: Stamp,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for a snapshot; `requested` once it was asked for.
    Buffering {
        buffer: VecDeque<Diff>,
    },
    Synced,
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

/// One symbol's diff book.
#[derive(Debug)]
pub struct DiffBook {
    sync: BookSync,
    phase: Phase,
    /// `microtimestamp` of the last applied diff or snapshot.
    last: u64,
    /// `microtimestamp` of the snapshot the book was synced from.
    snapshot: u64,
    attempts: u32,
}

impl DiffBook {
    pub fn new(symbol: SymbolInfo, config: &BookConfig) -> Self {
        DiffBook {
            sync: BookSync::new("bitstamp", symbol, config),
            phase: Phase::Buffering {
                buffer: VecDeque::new(),
            },
            last: 0,
            snapshot: 0,
            attempts: 0,
        }
    }

    pub fn sync(&self) -> &BookSync {
        &self.sync
    }

    /// A diff arrived. The first one of a book (and the first after a break) asks for
    /// a snapshot.
    pub fn on_diff(&mut self, diff: Diff, out: &mut Vec<Record>) -> Need {
        match &mut self.phase {
            Phase::Buffering { buffer } => {
                let first = buffer.is_empty() && self.attempts == 0;
                if buffer.len() >= MAX_BUFFERED {
                    buffer.pop_front();
                }
                buffer.push_back(diff);
                if first {
                    self.attempts = 1;
                    Need::Snapshot { attempt: 1 }
                } else {
                    Need::Nothing
                }
            }
            Phase::Synced => self.apply(diff, out),
        }
    }

    fn apply(&mut self, diff: Diff, out: &mut Vec<Record>) -> Need {
        if diff.micro <= self.snapshot {
            // Covered by the snapshot (diffs received after it but older than it).
            return Need::Nothing;
        }
        if diff.micro < self.last {
            let reason = format!(
                "diff microtimestamp {} is older than the last applied {}",
                diff.micro, self.last
            );
            return self.break_chain(diff, Some(self.last), reason, out);
        }
        self.sync.apply(&diff.bids, &diff.asks);
        if self.sync.book().is_crossed() {
            let reason = format!("book crossed after the diff of {}", diff.micro);
            return self.break_chain(diff, Some(self.last), reason, out);
        }
        self.last = diff.micro;
        self.sync.publish_update(
            diff.stamp,
            Some(diff.micro),
            diff.bids,
            diff.asks,
            None,
            out,
        );
        Need::Nothing
    }

    /// Announces the break, drops the book and asks for a fresh snapshot; the diff
    /// that showed the break is not kept (the snapshot will be newer).
    fn break_chain(
        &mut self,
        diff: Diff,
        expected: Option<u64>,
        reason: String,
        out: &mut Vec<Record>,
    ) -> Need {
        self.sync
            .gap(diff.stamp, expected, Some(diff.micro), reason, out);
        self.phase = Phase::Buffering {
            buffer: VecDeque::new(),
        };
        self.attempts = 1;
        Need::Snapshot { attempt: 1 }
    }

    /// A requested snapshot arrived: publish it, then the buffered diffs newer than it.
    /// A snapshot older than the first buffered diff may miss what happened between
    /// them: it is asked for again (up to [`MAX_STALE_SNAPSHOTS`] times).
    pub fn on_snapshot(&mut self, snap: Diff, out: &mut Vec<Record>) -> Need {
        let Phase::Buffering { buffer } = &mut self.phase else {
            return Need::Nothing;
        };
        let older = buffer.front().is_some_and(|d| snap.micro < d.micro);
        if older && self.attempts < MAX_STALE_SNAPSHOTS {
            self.attempts += 1;
            return Need::Snapshot {
                attempt: self.attempts,
            };
        }
        let buffer = std::mem::take(buffer);
        self.sync.snapshot(
            snap.stamp,
            Some(snap.micro),
            snap.bids,
            snap.asks,
            None,
            out,
        );
        self.last = snap.micro;
        self.snapshot = snap.micro;
        self.attempts = 0;
        self.phase = Phase::Synced;
        let mut need = Need::Nothing;
        for diff in buffer {
            if diff.micro <= snap.micro {
                continue;
            }
            if let Phase::Buffering { buffer } = &mut self.phase {
                buffer.push_back(diff);
                continue;
            }
            if let Need::Snapshot { attempt } = self.apply(diff, out) {
                need = Need::Snapshot { attempt };
            }
        }
        need
    }

    /// The snapshot could not be had: announced once per episode (`status stale`),
    /// and asked for again with backoff.
    pub fn on_snapshot_failed(
        &mut self,
        stamp: Stamp,
        reason: &str,
        out: &mut Vec<Record>,
    ) -> Need {
        let Phase::Buffering { buffer } = &self.phase else {
            return Need::Nothing;
        };
        let reference = buffer.front().map(|d| d.micro);
        self.sync
            .snapshot_unavailable(stamp, reference, reason, out);
        self.attempts += 1;
        Need::Snapshot {
            attempt: self.attempts,
        }
    }
}

/// Backoff before snapshot attempt `attempt` (1 first: at once).
pub use crate::book::snapshot_backoff as backoff;

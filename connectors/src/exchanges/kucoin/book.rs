//! `/market/level2:{symbol}` books, synced against the REST snapshot's `sequence`.
//!
//! The documented procedure: subscribe, buffer the increments, fetch a snapshot, drop
//! the increments its `sequence` covers, apply the rest. Every increment covers
//! `sequenceStart..=sequenceEnd` and each change carries its own sequence; per symbol:
//!
//! - an increment whose `sequenceEnd` is at or below the book's sequence is covered
//!   (the snapshot already holds it) and skipped;
//! - an increment whose `sequenceStart` is above the book's sequence + 1 means
//!   increments were lost → `status gap` (`expected` = sequence + 1, `got` =
//!   `sequenceStart`) and a fresh snapshot of that symbol only;
//! - otherwise the changes with a sequence above the book's are applied (price `0`
//!   carries only a sequence), and the book's sequence becomes `sequenceEnd`.
//!
//! A snapshot older than the first buffered increment (its `sequence` + 1 below the
//! increment's `sequenceStart`) cannot be joined to the stream: it is asked for again.
//! Record `seq` is `sequenceEnd` (the snapshot's `sequence`), `prev_seq` the one before.

use std::collections::VecDeque;

use tickbridge_schema::{Level, Record};

use crate::book::{BookConfig, BookSync, Stamp};
use crate::symbols::SymbolInfo;

/// Increments kept while a snapshot is awaited; older ones are dropped (the snapshot
/// will be newer than them).
const MAX_BUFFERED: usize = 10_000;

/// One change: the level and its own sequence.
#[derive(Debug, Clone)]
pub struct Change {
    pub level: Level,
    pub seq: u64,
}

/// One increment as the book engine needs it.
#[derive(Debug, Clone)]
pub struct Increment {
    pub start: u64,
    pub end: u64,
    pub stamp: Stamp,
    pub bids: Vec<Change>,
    pub asks: Vec<Change>,
}

/// A REST snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub seq: u64,
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
    Buffering { buffer: VecDeque<Increment> },
    Synced,
}

/// One symbol's level-2 book.
#[derive(Debug)]
pub struct L2Book {
    sync: BookSync,
    phase: Phase,
    /// The sequence the book is at (the snapshot's, then each applied `sequenceEnd`).
    seq: u64,
    attempts: u32,
}

impl L2Book {
    pub fn new(symbol: SymbolInfo, config: &BookConfig) -> Self {
        L2Book {
            sync: BookSync::new("kucoin", symbol, config),
            phase: Phase::Buffering {
                buffer: VecDeque::new(),
            },
            seq: 0,
            attempts: 0,
        }
    }

    pub fn sync(&self) -> &BookSync {
        &self.sync
    }

    /// An increment arrived. The first one of a book (and the first after a break)
    /// asks for a snapshot.
    pub fn on_increment(&mut self, inc: Increment, out: &mut Vec<Record>) -> Need {
        match &mut self.phase {
            Phase::Buffering { buffer } => {
                let first = buffer.is_empty() && self.attempts == 0;
                if buffer.len() >= MAX_BUFFERED {
                    buffer.pop_front();
                }
                buffer.push_back(inc);
                if first {
                    self.attempts = 1;
                    Need::Snapshot { attempt: 1 }
                } else {
                    Need::Nothing
                }
            }
            Phase::Synced => self.apply(inc, out),
        }
    }

    fn apply(&mut self, inc: Increment, out: &mut Vec<Record>) -> Need {
        if inc.end <= self.seq {
            return Need::Nothing;
        }
        if inc.start > self.seq + 1 {
            let expected = self.seq + 1;
            let reason = format!(
                "increment {}..={} does not follow sequence {}",
                inc.start, inc.end, self.seq
            );
            self.sync
                .gap(inc.stamp, Some(expected), Some(inc.start), reason, out);
            self.phase = Phase::Buffering {
                buffer: VecDeque::new(),
            };
            self.attempts = 1;
            return Need::Snapshot { attempt: 1 };
        }
        let newer = |changes: Vec<Change>, seq: u64| -> Vec<Level> {
            changes
                .into_iter()
                .filter(|c| c.seq > seq && !c.level.0.is_zero())
                .map(|c| c.level)
                .collect()
        };
        let bids = newer(inc.bids, self.seq);
        let asks = newer(inc.asks, self.seq);
        self.seq = inc.end;
        self.sync
            .update(inc.stamp, Some(inc.end), bids, asks, None, out);
        Need::Nothing
    }

    /// A requested snapshot arrived: publish it, then the buffered increments newer
    /// than it. One older than the first buffered increment is asked for again.
    pub fn on_snapshot(&mut self, snap: Snapshot, out: &mut Vec<Record>) -> Need {
        let Phase::Buffering { buffer } = &mut self.phase else {
            return Need::Nothing;
        };
        if buffer.front().is_some_and(|i| snap.seq + 1 < i.start) {
            self.attempts += 1;
            return Need::Snapshot {
                attempt: self.attempts,
            };
        }
        let buffer = std::mem::take(buffer);
        self.sync
            .snapshot(snap.stamp, Some(snap.seq), snap.bids, snap.asks, None, out);
        self.seq = snap.seq;
        self.attempts = 0;
        self.phase = Phase::Synced;
        let mut need = Need::Nothing;
        for inc in buffer {
            if let Phase::Buffering { buffer } = &mut self.phase {
                // A break while replaying the buffer: the rest waits for the new snapshot.
                buffer.push_back(inc);
                continue;
            }
            if let Need::Snapshot { attempt } = self.apply(inc, out) {
                need = Need::Snapshot { attempt };
            }
        }
        need
    }

    /// The snapshot could not be had: announced once per episode (`status stale`), and
    /// asked for again with backoff.
    pub fn on_snapshot_failed(
        &mut self,
        stamp: Stamp,
        reason: &str,
        out: &mut Vec<Record>,
    ) -> Need {
        let Phase::Buffering { buffer } = &self.phase else {
            return Need::Nothing;
        };
        let reference = buffer.front().map(|i| i.start);
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

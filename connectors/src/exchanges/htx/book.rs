//! Spot `market.$symbol.mbp.$levels` books (market by price), synced from the refresh
//! image that a `req` of the same topic on the same connection answers.
//!
//! The documented procedure: subscribe to the incremental topic, buffer its pushes,
//! `req` the topic for a refresh image (its `seqNum` matches the `prevSeqNum` of one
//! of the pushes when both come from the same connection), drop the pushes the image
//! covers (`seqNum` ≤ the image's) and apply the rest in order; from then on every
//! push's `prevSeqNum` must be the previous push's `seqNum`. Detected per symbol:
//!
//! - a push whose `prevSeqNum` is not the last applied `seqNum` (a lost push) →
//!   `status gap` (`expected` = the last `seqNum`, `got` = the push's `prevSeqNum`) and
//!   a fresh image of that symbol only;
//! - a push no newer than the last applied one is covered already and skipped;
//! - an image older than the first buffered push (it cannot bridge to it) is asked for
//!   again, up to [`MAX_STALE_IMAGES`] times, then used (and the chain check decides).
//!
//! Record `seq` is the push's `seqNum`; `prev_seq` chains the published records.

use std::collections::VecDeque;

use tickbridge_schema::{Level, Record};

use crate::book::{BookConfig, BookSync, Stamp};
use crate::symbols::SymbolInfo;

/// Pushes kept while an image is awaited; older ones are dropped.
const MAX_BUFFERED: usize = 2_000;

/// Attempts of an image older than the first buffered push before it is used anyway.
pub const MAX_STALE_IMAGES: u32 = 3;

/// One incremental push (or, with `prev` = `None`, a refresh image).
#[derive(Debug, Clone)]
pub struct Push {
    pub seq: u64,
    pub prev: Option<u64>,
    pub stamp: Stamp,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// What the book needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// A refresh image (`req` of the topic).
    Image,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for an image; `asked` once it was requested.
    Buffering {
        buffer: VecDeque<Push>,
        asked: bool,
    },
    Synced,
}

/// One symbol's MBP book.
#[derive(Debug)]
pub struct MbpBook {
    sync: BookSync,
    phase: Phase,
    /// `seqNum` of the last applied push or image.
    last: u64,
    stale_images: u32,
    /// The topic (`market.btcusdt.mbp.150`) the book is fed by, for its `req`.
    pub topic: String,
}

impl MbpBook {
    pub fn new(symbol: SymbolInfo, config: &BookConfig, topic: &str) -> Self {
        MbpBook {
            sync: BookSync::new("htx", symbol, config),
            phase: Phase::Buffering {
                buffer: VecDeque::new(),
                asked: false,
            },
            last: 0,
            stale_images: 0,
            topic: topic.to_string(),
        }
    }

    pub fn sync(&self) -> &BookSync {
        &self.sync
    }

    /// An incremental push arrived.
    pub fn on_push(&mut self, push: Push, out: &mut Vec<Record>) -> Need {
        match &mut self.phase {
            Phase::Buffering { buffer, asked } => {
                if buffer.len() >= MAX_BUFFERED {
                    buffer.pop_front();
                }
                buffer.push_back(push);
                if *asked {
                    Need::Nothing
                } else {
                    *asked = true;
                    Need::Image
                }
            }
            Phase::Synced => self.apply(push, out),
        }
    }

    fn apply(&mut self, push: Push, out: &mut Vec<Record>) -> Need {
        if push.seq <= self.last {
            return Need::Nothing;
        }
        let Some(prev) = push.prev else {
            return Need::Nothing;
        };
        if prev != self.last {
            let reason = format!(
                "prevSeqNum {prev} does not follow the last seqNum {}",
                self.last
            );
            self.sync
                .gap(push.stamp, Some(self.last), Some(prev), reason, out);
            self.phase = Phase::Buffering {
                buffer: VecDeque::new(),
                asked: true,
            };
            self.stale_images = 0;
            return Need::Image;
        }
        self.last = push.seq;
        self.sync
            .update(push.stamp, Some(push.seq), push.bids, push.asks, None, out);
        Need::Nothing
    }

    /// The refresh image arrived: publish it, then the buffered pushes newer than it.
    pub fn on_image(&mut self, image: Push, out: &mut Vec<Record>) -> Need {
        let Phase::Buffering { buffer, .. } = &mut self.phase else {
            return Need::Nothing;
        };
        let older = buffer
            .front()
            .and_then(|p| p.prev)
            .is_some_and(|prev| image.seq < prev);
        if older && self.stale_images < MAX_STALE_IMAGES {
            self.stale_images += 1;
            return Need::Image;
        }
        let buffer = std::mem::take(buffer);
        self.sync.snapshot(
            image.stamp,
            Some(image.seq),
            image.bids,
            image.asks,
            None,
            out,
        );
        self.last = image.seq;
        self.stale_images = 0;
        self.phase = Phase::Synced;
        let mut need = Need::Nothing;
        for push in buffer {
            if let Phase::Buffering { buffer, .. } = &mut self.phase {
                // A buffered push broke the chain: the rest waits for the next image.
                buffer.push_back(push);
                continue;
            }
            if self.apply(push, out) == Need::Image {
                need = Need::Image;
            }
        }
        need
    }

    /// The image could not be had (an error answer): announced once per episode
    /// (`status stale`) and asked for again.
    pub fn on_image_failed(&mut self, stamp: Stamp, reason: &str, out: &mut Vec<Record>) -> Need {
        let Phase::Buffering { buffer, .. } = &self.phase else {
            return Need::Nothing;
        };
        let reference = buffer.front().map(|p| p.seq);
        self.sync
            .snapshot_unavailable(stamp, reference, reason, out);
        Need::Image
    }
}

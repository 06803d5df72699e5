//! Per-source counters, shared between a source's sessions and the ops endpoint.
//!
//! Plain atomics: the hot path only increments; readers take a consistent-enough
//! snapshot for metrics and the shutdown summary.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one source (one exchange × market entry of the config).
#[derive(Debug, Default)]
pub struct SourceStats {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub records: AtomicU64,
    pub parse_errors: AtomicU64,
    pub unknown_frames: AtomicU64,
    pub oversized_frames: AtomicU64,
    pub binary_frames: AtomicU64,
    pub connects: AtomicU64,
    pub reconnects: AtomicU64,
    pub stale: AtomicU64,
    pub gaps: AtomicU64,
    pub rejected: AtomicU64,
    /// Connections currently open and subscribed.
    pub subscribed_connections: AtomicU64,
}

impl SourceStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}

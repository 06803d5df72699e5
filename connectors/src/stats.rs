//! Per-source counters, shared between a source's sessions and the ops endpoint.
//!
//! Plain atomics: the hot path only increments; readers take a consistent-enough
//! snapshot for metrics and the shutdown summary.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one source (one exchange × market entry of the config).
#[derive(Debug, Default)]
pub struct SourceStats {
    /// Text frames received.
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    /// Data records forwarded downstream (status records excluded).
    pub records: AtomicU64,
    /// Status records forwarded downstream (`connected`, `stale`, `gap`, ...).
    pub status_records: AtomicU64,
    /// Frames that could not be used (malformed + invalid; `unknown_frames` apart).
    pub parse_errors: AtomicU64,
    /// Of `parse_errors`: not JSON, truncated, wrong shape.
    pub parse_malformed: AtomicU64,
    /// Of `parse_errors`: JSON of the right shape with an unusable value.
    pub parse_invalid: AtomicU64,
    /// Frames of a type the parser does not know.
    pub unknown_frames: AtomicU64,
    /// Frames above `[connection] max_frame_bytes` (skipped, or the connection re-opened
    /// when even the WebSocket layer's hard ceiling was passed).
    pub oversized_frames: AtomicU64,
    /// Binary frames from an exchange that sends text (skipped).
    pub binary_frames: AtomicU64,
    /// Successful WebSocket handshakes.
    pub connects: AtomicU64,
    /// Connections lost and re-opened (not counting rotations).
    pub reconnects: AtomicU64,
    /// Connection attempts that failed (refused, timed out, handshake error).
    pub connect_failures: AtomicU64,
    /// Connection attempts delayed by the exchange's connection-attempt limit.
    pub connect_throttled: AtomicU64,
    /// Planned rotations (a replacement opened before a forced disconnect).
    pub rotations: AtomicU64,
    /// Records of a rotation's overlap received on both connections (one copy dropped).
    pub duplicates_dropped: AtomicU64,
    /// Stale periods (no data within the watchdog window).
    pub stale: AtomicU64,
    /// Connections ended because a ping went unanswered.
    pub pong_timeouts: AtomicU64,
    /// Connections ended because no frame at all arrived within the idle timeout.
    pub idle_timeouts: AtomicU64,
    /// Connections whose subscription was not confirmed within the timeout.
    pub subscribe_timeouts: AtomicU64,
    /// Close frames from the exchange with a code other than 1000/1001.
    pub unexpected_closes: AtomicU64,
    /// `status gap` records (sequence or checksum breaks).
    pub gaps: AtomicU64,
    /// Refused subscriptions (per refusal frame).
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

    /// Every counter by name (the shutdown log line; tests read it).
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let fields: [(&'static str, &AtomicU64); 24] = [
            ("frames", &self.frames),
            ("bytes", &self.bytes),
            ("records", &self.records),
            ("parse_errors", &self.parse_errors),
            ("parse_malformed", &self.parse_malformed),
            ("parse_invalid", &self.parse_invalid),
            ("unknown_frames", &self.unknown_frames),
            ("oversized_frames", &self.oversized_frames),
            ("binary_frames", &self.binary_frames),
            ("connects", &self.connects),
            ("reconnects", &self.reconnects),
            ("connect_failures", &self.connect_failures),
            ("connect_throttled", &self.connect_throttled),
            ("rotations", &self.rotations),
            ("duplicates_dropped", &self.duplicates_dropped),
            ("stale", &self.stale),
            ("pong_timeouts", &self.pong_timeouts),
            ("idle_timeouts", &self.idle_timeouts),
            ("subscribe_timeouts", &self.subscribe_timeouts),
            ("unexpected_closes", &self.unexpected_closes),
            ("gaps", &self.gaps),
            ("rejected", &self.rejected),
            ("subscribed_connections", &self.subscribed_connections),
            ("status_records", &self.status_records),
        ];
        fields.iter().map(|(k, v)| (*k, v.load(Relaxed))).collect()
    }
}

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
    /// Of `subscribed_connections`: those currently in a stale period (no data past
    /// the watchdog window; see [`SourceStats::stale_began`]). Readiness fails while
    /// it is above zero.
    pub stale_connections: AtomicU64,
    /// Order-book snapshots that could not be had: REST requests that failed after the
    /// fetcher's retries (HTTP errors, timeouts, rate limits) or whose answer the
    /// parser could not use (see [`SourceStats::rest_answered`]). The book announces
    /// each failure episode once as `status stale` (channel `book`).
    pub snapshot_failures: AtomicU64,
}

impl SourceStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }

    /// A subscribed connection went stale (the watchdog's `Alarm::Stale`): counts the
    /// stale period and raises the `stale_connections` gauge.
    pub fn stale_began(&self) {
        self.stale.fetch_add(1, Relaxed);
        self.stale_connections.fetch_add(1, Relaxed);
    }

    /// A stale connection delivered data again, or was closed while stale: lowers the
    /// `stale_connections` gauge (never below zero).
    pub fn stale_ended(&self) {
        let _ = self
            .stale_connections
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
    }

    /// Counts one REST answer handed to a parser (every REST request is an order-book
    /// snapshot): `fetched` is what the fetcher returned, `used` what the parser's
    /// `on_rest` made of it. Either being an error is a snapshot failure.
    pub fn rest_answered<A, B, C, D>(&self, fetched: &Result<A, B>, used: &Result<C, D>) {
        if fetched.is_err() || used.is_err() {
            self.snapshot_failures.fetch_add(1, Relaxed);
        }
    }

    /// Every counter by name (the shutdown log line; tests read it).
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let fields: [(&'static str, &AtomicU64); 26] = [
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
            ("stale_connections", &self.stale_connections),
            ("snapshot_failures", &self.snapshot_failures),
        ];
        fields.iter().map(|(k, v)| (*k, v.load(Relaxed))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_gauge_follows_begin_and_end_and_never_wraps() {
        let s = SourceStats::default();
        s.stale_began();
        s.stale_began();
        assert_eq!(SourceStats::get(&s.stale_connections), 2);
        assert_eq!(SourceStats::get(&s.stale), 2);
        s.stale_ended();
        s.stale_ended();
        s.stale_ended();
        assert_eq!(SourceStats::get(&s.stale_connections), 0);
        // The period count stays: it is a counter, the gauge is what is stale now.
        assert_eq!(SourceStats::get(&s.stale), 2);
    }

    #[test]
    fn failed_or_unusable_rest_answers_are_snapshot_failures() {
        let s = SourceStats::default();
        let ok: Result<&str, &str> = Ok("{}");
        let failed: Result<&str, &str> = Err("GET /api/v3/depth: HTTP 503");
        let used: Result<(), ()> = Ok(());
        let refused: Result<(), ()> = Err(());
        s.rest_answered(&ok, &used);
        assert_eq!(SourceStats::get(&s.snapshot_failures), 0);
        s.rest_answered(&failed, &used);
        s.rest_answered(&ok, &refused);
        assert_eq!(SourceStats::get(&s.snapshot_failures), 2);
        let names: Vec<&str> = s.snapshot().iter().map(|(k, _)| *k).collect();
        assert!(names.contains(&"snapshot_failures") && names.contains(&"stale_connections"));
    }
}

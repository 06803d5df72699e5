//! Counters of the NATS sink and its receive-to-ack latency histogram, logged when
//! the sink closes (and readable while it runs).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// What the NATS sink did.
#[derive(Debug, Default)]
pub struct NatsStats {
    /// Publish attempts (first attempts and retries).
    pub published: AtomicU64,
    /// Records acknowledged (JetStream PubAck, or the batch flush in core mode).
    pub acked: AtomicU64,
    /// PubAcks with `duplicate: true`: the record was already in the stream (a retry or a
    /// replay within the duplicate window). Counted as delivered too.
    pub duplicates: AtomicU64,
    /// Batches published as JetStream fast batches (`publish = "fast_batch"`).
    pub fast_batches: AtomicU64,
    /// Retried publish attempts after a retriable error.
    pub retries: AtomicU64,
    /// Records given up after a terminal error and written to a dead-letter target.
    pub dead_lettered: AtomicU64,
    /// Records whose delivery failed for good (retries exhausted, or a terminal error
    /// with no dead-letter target).
    pub failed: AtomicU64,
    /// Connections established (the first one and every reconnect).
    pub connects: AtomicU64,
    /// Connections lost.
    pub disconnects: AtomicU64,
    /// Receive-to-ack latency: from the record's `ts_recv` to its acknowledgement.
    pub latency: Histogram,
}

impl NatsStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}

const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = (SUB as usize) * 40;

/// A log-linear histogram of microsecond values (16 buckets per power of two: about
/// 6% resolution), lock-free.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max: AtomicU64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count.load(Relaxed))
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

fn index(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros(); // >= SUB_BITS
    let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
    (((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize).min(BUCKETS - 1)
}

/// The largest value of bucket `i`.
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let exp = i / SUB + SUB_BITS as u64 - 1;
    let sub = i % SUB;
    ((SUB + sub + 1) << (exp - SUB_BITS as u64)) - 1
}

impl Histogram {
    pub fn record(&self, value: Duration) {
        let us = value.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[index(us)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.max.fetch_max(us, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// The value at quantile `q` (0..=1), in microseconds (bucket upper bound).
    pub fn quantile_us(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Relaxed);
            if seen >= rank {
                return upper(i).min(self.max_us());
            }
        }
        self.max_us()
    }

    pub fn max_us(&self) -> u64 {
        self.max.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_bounded() {
        for us in [
            0u64, 1, 15, 16, 17, 31, 32, 100, 1000, 12_345, 1_000_000, 60_000_000,
        ] {
            let i = index(us);
            assert!(upper(i) >= us, "{us}: upper {}", upper(i));
            if i > 0 {
                assert!(upper(i - 1) < us, "{us}");
            }
            // about 6% resolution
            assert!(
                upper(i) as f64 <= us as f64 * 1.07 + 1.0,
                "{us} -> {}",
                upper(i)
            );
        }
    }

    #[test]
    fn quantiles() {
        let h = Histogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((480..=540).contains(&p50), "{p50}");
        assert!((970..=1000).contains(&p99), "{p99}");
        assert_eq!(h.max_us(), 1000);
        assert_eq!(h.count(), 1000);
    }
}

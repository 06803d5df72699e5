//! Hot-path metric cells of the pipeline: records by exchange × market × kind, and
//! latency histograms. Plain relaxed atomics in fixed arrays: counting takes no lock
//! and allocates nothing; `/metrics` reads them (see `crate::ops::metrics`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tickbridge_schema::{Kind, Market, Record};

const MARKETS: [Market; 4] = [Market::Spot, Market::Perp, Market::Future, Market::Option];
const KINDS: usize = Kind::ALL.len();
/// Exchanges of the registry, plus one slot for a name it does not list.
const MAX_EXCHANGES: usize = 16;

/// Records counted by exchange × market × kind.
pub struct RecordCounts {
    cells: Box<[AtomicU64]>,
    exchanges: Vec<&'static str>,
}

impl Default for RecordCounts {
    fn default() -> Self {
        let mut exchanges: Vec<&'static str> = tickbridge_connectors::connectors()
            .iter()
            .map(|c| c.name())
            .take(MAX_EXCHANGES - 1)
            .collect();
        exchanges.push("other");
        let cells = (0..exchanges.len() * MARKETS.len() * KINDS)
            .map(|_| AtomicU64::new(0))
            .collect();
        RecordCounts { cells, exchanges }
    }
}

impl std::fmt::Debug for RecordCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCounts")
            .field("total", &self.snapshot().iter().map(|c| c.3).sum::<u64>())
            .finish()
    }
}

impl RecordCounts {
    /// Counts one record.
    pub fn count(&self, record: &Record) {
        let exchange = self
            .exchanges
            .iter()
            .position(|e| *e == record.exchange.as_str())
            .unwrap_or(self.exchanges.len() - 1);
        let market = MARKETS
            .iter()
            .position(|m| *m == record.market)
            .unwrap_or(0);
        let kind = record.data.kind() as usize;
        self.cells[(exchange * MARKETS.len() + market) * KINDS + kind].fetch_add(1, Relaxed);
    }

    /// Every cell: (exchange, market, kind, count), zeros included.
    pub fn snapshot(&self) -> Vec<(&'static str, Market, Kind, u64)> {
        let mut out = Vec::with_capacity(self.cells.len());
        for (e, exchange) in self.exchanges.iter().enumerate() {
            for (m, market) in MARKETS.iter().enumerate() {
                for (k, kind) in Kind::ALL.iter().enumerate() {
                    let n = self.cells[(e * MARKETS.len() + m) * KINDS + k].load(Relaxed);
                    out.push((*exchange, *market, *kind, n));
                }
            }
        }
        out
    }
}

/// Upper bounds (seconds) of the latency histograms' buckets; `+Inf` follows.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// A latency histogram over [`LATENCY_BUCKETS`], in nanoseconds.
#[derive(Debug)]
pub struct Histogram {
    bounds_ns: [u64; LATENCY_BUCKETS.len()],
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            bounds_ns: LATENCY_BUCKETS.map(|s| (s * 1e9) as u64),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
        }
    }
}

/// A histogram's values at one moment: cumulative bucket counts (the last is `+Inf`,
/// equal to `count`), and the sum in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub cumulative: Vec<u64>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    fn bucket(&self, ns: u64) -> usize {
        self.bounds_ns.partition_point(|b| *b < ns)
    }

    /// Records one observation.
    pub fn observe_ns(&self, ns: u64) {
        self.buckets[self.bucket(ns)].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    /// Records many observations, touching each shared bucket at most once.
    pub fn observe_many_ns(&self, values: impl IntoIterator<Item = u64>) {
        let mut local = [0u64; LATENCY_BUCKETS.len() + 1];
        let mut sum = 0u64;
        for ns in values {
            local[self.bucket(ns)] += 1;
            sum = sum.saturating_add(ns);
        }
        for (cell, n) in self.buckets.iter().zip(local) {
            if n > 0 {
                cell.fetch_add(n, Relaxed);
            }
        }
        if sum > 0 {
            self.sum_ns.fetch_add(sum, Relaxed);
        }
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Relaxed);
                total
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            sum_seconds: self.sum_ns.load(Relaxed) as f64 / 1e9,
            count: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let h = Histogram::default();
        h.observe_ns(500_000); // exactly 0.0005 s: the first bucket (le is inclusive)
        h.observe_ns(500_001);
        h.observe_many_ns([2_000_000_000, 100_000_000_000, 0]);
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert_eq!(s.cumulative.len(), LATENCY_BUCKETS.len() + 1);
        assert_eq!(s.cumulative[0], 2); // 0 and 0.0005
        assert_eq!(s.cumulative[1], 3); // + 0.000500001
        assert_eq!(s.cumulative[LATENCY_BUCKETS.len() - 1], 4); // + 2 s
        assert_eq!(*s.cumulative.last().unwrap(), 5); // + 100 s
        assert!((s.sum_seconds - 102.001000001).abs() < 1e-9);
    }
}

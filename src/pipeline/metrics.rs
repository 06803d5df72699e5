//! Hot-path metric cells of the pipeline: records by exchange × market × kind (with
//! the receive time of the last one), the exchange lag per exchange, and latency
//! histograms. Plain relaxed atomics in fixed arrays: counting takes no lock and
//! allocates nothing; `/metrics` reads them (see `crate::ops::metrics`).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use tickbridge_schema::{Kind, Market, Record};

const MARKETS: [Market; 4] = [Market::Spot, Market::Perp, Market::Future, Market::Option];
const KINDS: usize = Kind::ALL.len();
/// Exchanges of the registry, plus one slot for a name it does not list.
const MAX_EXCHANGES: usize = 64;

/// Records counted by exchange × market × kind as they enter the pipeline (taken from
/// the queue by the batcher), with the `ts_recv` of the last one of each cell, and the
/// exchange lag (`ts_recv − ts_exchange`) per exchange.
pub struct RecordCounts {
    cells: Box<[AtomicU64]>,
    /// Per cell: the largest `ts_recv` seen (ns since the epoch), `i64::MIN` = none.
    last_recv_ns: Box<[AtomicI64]>,
    /// Per exchange: `ts_recv − ts_exchange` of the records that carry `ts_exchange`
    /// (a negative lag, an exchange clock ahead of ours, counts as 0).
    lag: Box<[Histogram]>,
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
        let n = exchanges.len() * MARKETS.len() * KINDS;
        RecordCounts {
            cells: (0..n).map(|_| AtomicU64::new(0)).collect(),
            last_recv_ns: (0..n).map(|_| AtomicI64::new(i64::MIN)).collect(),
            lag: exchanges.iter().map(|_| Histogram::default()).collect(),
            exchanges,
        }
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
    /// The cell (exchange × market × kind) and the exchange slot of a record.
    fn slot(&self, record: &Record) -> (usize, usize) {
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
        ((exchange * MARKETS.len() + market) * KINDS + kind, exchange)
    }

    /// Counts one record: its cell, the cell's last receive time, and its exchange lag
    /// (relaxed atomics on cells only the batcher writes, so uncontended).
    pub fn count(&self, record: &Record) {
        let (cell, exchange) = self.slot(record);
        self.cells[cell].fetch_add(1, Relaxed);
        self.note_recv(cell, record.ts_recv);
        if let Some(lag) = lag_ns(record) {
            self.lag[exchange].observe_ns(lag);
        }
    }

    /// Counts a batch of records as [`count`](Self::count) does each, touching each
    /// shared cell once per batch: the counts, receive times and lag buckets are
    /// summed on the stack first (no allocation).
    pub fn count_many(&self, records: &[Record]) {
        /// Distinct cells summed locally; more spill to the shared cells at once.
        const LOCAL: usize = 16;
        let mut cells = [(usize::MAX, 0u64, i64::MIN); LOCAL];
        let mut used = 0;
        let mut lag = [[0u64; LATENCY_BUCKETS.len() + 1]; MAX_EXCHANGES];
        let mut lag_sum = [0u64; MAX_EXCHANGES];
        for record in records {
            let (cell, exchange) = self.slot(record);
            match cells[..used].iter_mut().find(|c| c.0 == cell) {
                Some(c) => {
                    c.1 += 1;
                    c.2 = c.2.max(record.ts_recv);
                }
                None if used < LOCAL => {
                    cells[used] = (cell, 1, record.ts_recv);
                    used += 1;
                }
                None => {
                    self.cells[cell].fetch_add(1, Relaxed);
                    self.note_recv(cell, record.ts_recv);
                }
            }
            if let Some(ns) = lag_ns(record) {
                lag[exchange][self.lag[exchange].bucket(ns)] += 1;
                lag_sum[exchange] = lag_sum[exchange].saturating_add(ns);
            }
        }
        for (cell, n, ts) in &cells[..used] {
            self.cells[*cell].fetch_add(*n, Relaxed);
            self.note_recv(*cell, *ts);
        }
        for (e, h) in self.lag.iter().enumerate() {
            h.add(&lag[e], lag_sum[e]);
        }
    }

    /// Raises the cell's last receive time to `ts` (one writer, the batcher: a load
    /// and, when newer, a store; no read-modify-write needed).
    fn note_recv(&self, cell: usize, ts: i64) {
        let last = &self.last_recv_ns[cell];
        if ts > last.load(Relaxed) {
            last.store(ts, Relaxed);
        }
    }

    /// Every cell that has seen a record: (exchange, market, kind, the largest
    /// `ts_recv` in ns since the epoch).
    pub fn last_received(&self) -> Vec<(&'static str, Market, Kind, i64)> {
        let mut out = Vec::new();
        for (e, exchange) in self.exchanges.iter().enumerate() {
            for (m, market) in MARKETS.iter().enumerate() {
                for (k, kind) in Kind::ALL.iter().enumerate() {
                    let ts = self.last_recv_ns[(e * MARKETS.len() + m) * KINDS + k].load(Relaxed);
                    if ts != i64::MIN {
                        out.push((*exchange, *market, *kind, ts));
                    }
                }
            }
        }
        out
    }

    /// The exchange lag histogram of every exchange slot (empty ones included).
    pub fn lag(&self) -> Vec<(&'static str, HistogramSnapshot)> {
        self.exchanges
            .iter()
            .zip(self.lag.iter())
            .map(|(e, h)| (*e, h.snapshot()))
            .collect()
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

/// `ts_recv − ts_exchange` in ns (0 when the exchange's clock is ahead of ours), for
/// the records that carry an exchange timestamp.
fn lag_ns(record: &Record) -> Option<u64> {
    let ts_exchange = record.ts_exchange?;
    Some(record.ts_recv.saturating_sub(ts_exchange).max(0) as u64)
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
        self.add(&local, sum);
    }

    /// Adds per-bucket counts (not cumulative) and their sum, summed elsewhere.
    fn add(&self, local: &[u64; LATENCY_BUCKETS.len() + 1], sum_ns: u64) {
        for (cell, n) in self.buckets.iter().zip(local) {
            if *n > 0 {
                cell.fetch_add(*n, Relaxed);
            }
        }
        if sum_ns > 0 {
            self.sum_ns.fetch_add(sum_ns, Relaxed);
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
    fn every_registered_exchange_has_its_own_cells() {
        let counts = RecordCounts::default();
        let names: Vec<&str> = tickbridge_connectors::connectors()
            .iter()
            .map(|c| c.name())
            .collect();
        assert_eq!(counts.exchanges[..names.len()], names[..]);
        assert_eq!(counts.exchanges.last(), Some(&"other"));
    }

    fn trade(exchange: &str, ts_exchange: Option<i64>, ts_recv: i64) -> Record {
        let mut r: Record = serde_json::from_str(
            r#"{"v":1,"kind":"trade","exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT",
                "ts_exchange":1,"ts_recv":2,"seq":0,"id":"x","price":"1","size":"1","side":"sell","trade_id":"0"}"#,
        )
        .unwrap();
        r.exchange = exchange.into();
        r.ts_exchange = ts_exchange;
        r.ts_recv = ts_recv;
        r
    }

    #[test]
    fn lag_buckets_a_known_record_and_last_received_keeps_the_latest() {
        let counts = RecordCounts::default();
        let t0 = 1_723_161_255_342_000_000i64;
        // 30 ms of lag: above the 0.025 bucket, inside 0.05.
        counts.count(&trade("binance", Some(t0), t0 + 30_000_000));
        // No exchange timestamp: counted, not in the lag histogram.
        counts.count(&trade("binance", None, t0 + 50_000_000));
        // An exchange clock ahead of ours: lag 0.
        counts.count(&trade("binance", Some(t0 + 10), t0 + 5));
        // Out of order: the last-received time does not go back.
        counts.count(&trade("binance", Some(t0), t0 + 1_000));
        let lag = counts.lag();
        let (name, h) = &lag[0];
        assert_eq!(*name, "binance");
        assert_eq!(h.count, 3);
        let i025 = LATENCY_BUCKETS.iter().position(|b| *b == 0.025).unwrap();
        assert_eq!(h.cumulative[0], 2); // the 0 lag and the 1 µs one
        assert_eq!(h.cumulative[i025], 2);
        assert_eq!(h.cumulative[i025 + 1], 3); // le="0.05"
        assert!(
            (h.sum_seconds - 0.030001).abs() < 1e-12,
            "{}",
            h.sum_seconds
        );
        assert!(lag[1..].iter().all(|(_, h)| h.count == 0));
        assert_eq!(
            counts.last_received(),
            [("binance", Market::Spot, Kind::Trade, t0 + 50_000_000)]
        );
        // An exchange the registry does not list goes to "other".
        counts.count(&trade("nowhere", Some(t0), t0 + 2_000_000));
        let lag = counts.lag();
        assert_eq!(lag.last().unwrap().0, "other");
        assert_eq!(lag.last().unwrap().1.count, 1);
    }

    #[test]
    fn counting_a_batch_equals_counting_each_record() {
        let t0 = 1_723_161_255_342_000_000i64;
        let mut records = Vec::new();
        for i in 0..200i64 {
            let exchange = ["binance", "coinbase", "okx", "nowhere"][i as usize % 4];
            let ts_exchange = (i % 3 != 0).then_some(t0);
            let mut r = trade(exchange, ts_exchange, t0 + i * 1_000_000);
            // Many distinct cells: more than the batch's local slots.
            r.market = MARKETS[(i / 4) as usize % 4];
            if i % 5 == 0 {
                r.data =
                    tickbridge_schema::record::Data::Status(tickbridge_schema::record::Status {
                        event: tickbridge_schema::record::StatusEvent::Connected,
                        channel: None,
                        reason: None,
                        expected: None,
                        got: None,
                    });
                r.ts_exchange = None;
            }
            records.push(r);
        }
        assert!(records.iter().any(|r| r.data.kind() == Kind::Status));
        let (each, batch) = (RecordCounts::default(), RecordCounts::default());
        records.iter().for_each(|r| each.count(r));
        batch.count_many(&records[..150]);
        batch.count_many(&records[150..]);
        assert_eq!(each.snapshot(), batch.snapshot());
        assert_eq!(each.last_received(), batch.last_received());
        assert_eq!(each.lag(), batch.lag());
        assert_eq!(
            each.lag().iter().map(|(_, h)| h.count).sum::<u64>(),
            records.iter().filter(|r| r.ts_exchange.is_some()).count() as u64
        );
    }

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

//! Operations: the state behind the ops HTTP endpoint (liveness, readiness, metrics)
//! and the endpoint itself.
//!
//! - [`OpsState`]: what the running bridge shares with the endpoint: the drain flag,
//!   the planned connections, every source's counters, the pipeline's counters, the
//!   sink's connection state, the queue, and a heartbeat.
//! - [`http`]: the server (`/healthz`, `/readyz`, `/metrics`) on `[ops] listen`.
//! - [`metrics`]: the Prometheus text exposition of the state.
//! - [`process`]: the `process_*` values from `/proc`.
//! - [`client_stats`]: the sink client library's labelled statistics (librdkafka).
//!
//! Everything the hot path touches is a relaxed atomic; the locks here are taken only
//! at startup and by the endpoint.

pub mod client_stats;
pub mod http;
pub mod metrics;
pub mod process;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tickbridge_connectors::stats::SourceStats;
use tickbridge_schema::Record;
use tokio::sync::mpsc;

use crate::pipeline::PipelineStats;

/// How often the run loop beats.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);
/// `/healthz` fails when the last beat is older than this: the event loop is stuck.
pub const HEARTBEAT_STALL: Duration = Duration::from_secs(5);

/// What `/healthz`, `/readyz` and `/metrics` read.
#[derive(Default)]
pub struct OpsState {
    /// Set when the drain begins: the pod stops getting traffic before the drain.
    pub draining: AtomicBool,
    /// Connections the plan opens (all must be subscribed, and none stale, for
    /// readiness).
    pub planned_connections: AtomicU64,
    /// Per source: `"exchange market"` and its counters.
    pub sources: std::sync::Mutex<Vec<(String, Arc<SourceStats>)>>,
    /// The first sink's pipeline counters (with one sink, the pipeline's): the
    /// records entering it give the freshness and lag metrics.
    pub pipeline: Arc<PipelineStats>,
    /// Every sink, once built, in config order.
    pub sinks: std::sync::Mutex<Vec<SinkOps>>,
    /// The queue between sources and batcher (weak: it must not keep the queue open).
    pub queue: OnceLock<mpsc::WeakSender<Record>>,
    /// Milliseconds since [`mono_start`] at the run loop's last beat (0 = never).
    heartbeat_ms: AtomicU64,
    /// With `[cluster] standby`: the standby gate's counters and the takeovers.
    pub cluster: OnceLock<(Arc<crate::cluster::StandbyStats>, Arc<AtomicU64>)>,
}

/// Reads the sink's transport counters.
pub type SinkCounters = Arc<dyn Fn() -> Vec<crate::sinks::SinkCounter> + Send + Sync>;

/// One sink as the endpoint sees it.
#[derive(Clone)]
pub struct SinkOps {
    /// Its name (`[sink] name`, default its kind): the `sink` label.
    pub name: String,
    /// Its pipeline's counters.
    pub stats: Arc<PipelineStats>,
    /// True while its transport is connected.
    pub connected: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Its transport's own counters (outages, retries, ...).
    pub counters: SinkCounters,
    /// With a disk buffer that keeps the bridge ready through an outage
    /// (`[buffer] ready_while_buffering`): the buffer's size limit. While the sink is
    /// disconnected and the buffer below it, no record is being lost.
    pub buffer_limit: Option<u64>,
}

impl SinkOps {
    /// A sink's view for `/metrics` and `/readyz`.
    pub fn of(name: &str, sink: Arc<dyn crate::sinks::Sink>, stats: Arc<PipelineStats>) -> Self {
        let s = sink.clone();
        SinkOps {
            name: name.to_string(),
            stats,
            connected: Arc::new(move || s.is_connected()),
            counters: Arc::new(move || sink.counters()),
            buffer_limit: None,
        }
    }

    /// Ready while disconnected as long as its disk buffer holds less than `limit`.
    pub fn absorbing_outages(mut self, limit: u64) -> Self {
        self.buffer_limit = Some(limit);
        self
    }

    /// Why this sink makes the bridge unready, if it does.
    fn unready(&self) -> Option<String> {
        if (self.connected)() {
            return None;
        }
        match self.buffer_limit {
            Some(limit) if self.stats.buffer_bytes.load(Relaxed) < limit => None,
            Some(_) => Some(format!(
                "{} sink not connected and its disk buffer full",
                self.name
            )),
            None => Some(format!("{} sink not connected", self.name)),
        }
    }
}

/// The process's monotonic time origin for heartbeats.
fn mono_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn mono_ms() -> u64 {
    // +1: a beat at the very start must not read as "never".
    mono_start().elapsed().as_millis() as u64 + 1
}

impl OpsState {
    /// Ready: not draining, the sink connected, every planned connection subscribed,
    /// and none of them stale (delivering no data past its watchdog window).
    pub fn is_ready(&self) -> bool {
        self.readiness().is_ok()
    }

    /// `Ok` when ready, else why not (the `/readyz` body).
    pub fn readiness(&self) -> Result<(), String> {
        if self.draining.load(Relaxed) {
            return Err("draining".into());
        }
        {
            let sinks = self.sinks();
            if sinks.is_empty() {
                return Err("sink not started".into());
            }
            let down: Vec<String> = sinks.iter().filter_map(SinkOps::unready).collect();
            if !down.is_empty() {
                return Err(down.join("; "));
            }
        }
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let subscribed: u64 = sources
            .iter()
            .map(|(_, s)| SourceStats::get(&s.subscribed_connections))
            .sum();
        let planned = self.planned_connections.load(Relaxed);
        if planned == 0 || subscribed < planned {
            return Err(format!("{subscribed} of {planned} connections subscribed"));
        }
        // Subscribed but silent: the source's channels deliver nothing (two entries of
        // the same exchange × market are summed, as on /metrics).
        let mut stale: Vec<(&str, u64, u64)> = Vec::new();
        for (label, s) in sources.iter() {
            let n = SourceStats::get(&s.stale_connections);
            let of = SourceStats::get(&s.subscribed_connections);
            match stale.iter_mut().find(|(l, _, _)| *l == label.as_str()) {
                Some(row) => {
                    row.1 += n;
                    row.2 += of;
                }
                None => stale.push((label.as_str(), n, of)),
            }
        }
        let why: Vec<String> = stale
            .iter()
            .filter(|(_, n, _)| *n > 0)
            .map(|(label, n, of)| {
                format!("{label}: {n} of {of} subscribed connections stale (no data past the watchdog window)")
            })
            .collect();
        if !why.is_empty() {
            return Err(why.join("; "));
        }
        Ok(())
    }

    /// The sinks, once built (a copy: the endpoint reads them without the lock).
    pub fn sinks(&self) -> Vec<SinkOps> {
        self.sinks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Registers a built sink.
    /// Registers the hot standby's counters (`/metrics`).
    pub fn add_cluster(&self, stats: Arc<crate::cluster::StandbyStats>, takeovers: Arc<AtomicU64>) {
        let _ = self.cluster.set((stats, takeovers));
    }

    pub fn add_sink(&self, sink: SinkOps) {
        self.sinks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sink);
    }

    /// Records waiting in the queue, and its capacity (0, 0 before the run starts or
    /// once every source has stopped).
    pub fn queue_depth(&self) -> (u64, u64) {
        match self.queue.get().and_then(|w| w.upgrade()) {
            Some(tx) => {
                let max = tx.max_capacity() as u64;
                (max - tx.capacity() as u64, max)
            }
            None => (0, 0),
        }
    }

    /// Records a heartbeat of the run loop.
    pub fn beat(&self) {
        self.heartbeat_ms.store(mono_ms(), Relaxed);
    }

    /// Time since the last heartbeat; `None` before the first one.
    pub fn heartbeat_age(&self) -> Option<Duration> {
        match self.heartbeat_ms.load(Relaxed) {
            0 => None,
            at => Some(Duration::from_millis(mono_ms().saturating_sub(at))),
        }
    }

    /// `Ok` when the run loop beat recently (the `/healthz` answer).
    pub fn liveness(&self) -> Result<(), String> {
        self.liveness_within(HEARTBEAT_STALL)
    }

    fn liveness_within(&self, stall: Duration) -> Result<(), String> {
        match self.heartbeat_age() {
            Some(age) if age <= stall => Ok(()),
            Some(age) => Err(format!(
                "event loop stalled: no heartbeat for {:.1}s",
                age.as_secs_f64()
            )),
            None => Err("not started".into()),
        }
    }
}

/// Beats every [`HEARTBEAT_EVERY`], forever: polled next to the bridge in the run
/// task, so a stuck run loop (or runtime) shows as a stale heartbeat on `/healthz`.
pub async fn heartbeat(ops: &OpsState) -> Infallible {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        ops.beat();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_sink(name: &str, connected: bool) -> SinkOps {
        SinkOps {
            name: name.into(),
            stats: Arc::default(),
            connected: Arc::new(move || connected),
            counters: Arc::new(Vec::new),
            buffer_limit: None,
        }
    }

    #[test]
    fn readiness_names_every_sink_not_connected() {
        let ops = OpsState::default();
        ops.planned_connections.store(1, Relaxed);
        let stats = Arc::new(SourceStats::default());
        SourceStats::add(&stats.subscribed_connections, 1);
        ops.sources
            .lock()
            .unwrap()
            .push(("binance spot".into(), stats));
        ops.add_sink(test_sink("kafka", false));
        ops.add_sink(test_sink("archive", true));
        assert_eq!(ops.readiness(), Err("kafka sink not connected".into()));
        ops.add_sink(test_sink("nats", false));
        assert_eq!(
            ops.readiness(),
            Err("kafka sink not connected; nats sink not connected".into())
        );
    }

    #[test]
    fn a_disk_buffer_keeps_a_disconnected_sink_ready_until_it_is_full() {
        let ops = OpsState::default();
        ops.planned_connections.store(1, Relaxed);
        let stats = Arc::new(SourceStats::default());
        SourceStats::add(&stats.subscribed_connections, 1);
        ops.sources
            .lock()
            .unwrap()
            .push(("binance spot".into(), stats));
        let sink = test_sink("kafka", false).absorbing_outages(1_000);
        let buffer = sink.stats.clone();
        ops.add_sink(sink);
        buffer.buffer_bytes.store(999, Relaxed);
        assert_eq!(ops.readiness(), Ok(()));
        buffer.buffer_bytes.store(1_000, Relaxed);
        assert_eq!(
            ops.readiness(),
            Err("kafka sink not connected and its disk buffer full".into())
        );
    }

    #[test]
    fn readiness_needs_sink_and_every_connection_and_no_drain() {
        let ops = OpsState::default();
        assert_eq!(ops.readiness(), Err("sink not started".into()));
        ops.add_sink(test_sink("kafka", true));
        ops.planned_connections.store(2, Relaxed);
        let stats = Arc::new(SourceStats::default());
        ops.sources
            .lock()
            .unwrap()
            .push(("binance spot".into(), stats.clone()));
        SourceStats::add(&stats.subscribed_connections, 1);
        assert_eq!(ops.readiness(), Err("1 of 2 connections subscribed".into()));
        SourceStats::add(&stats.subscribed_connections, 1);
        assert_eq!(ops.readiness(), Ok(()));
        ops.draining.store(true, Relaxed);
        assert_eq!(ops.readiness(), Err("draining".into()));
    }

    #[test]
    fn readiness_fails_while_a_subscribed_connection_is_stale() {
        let ops = OpsState::default();
        ops.add_sink(test_sink("kafka", true));
        ops.planned_connections.store(3, Relaxed);
        let (binance, okx) = (
            Arc::new(SourceStats::default()),
            Arc::new(SourceStats::default()),
        );
        ops.sources
            .lock()
            .unwrap()
            .push(("binance spot".into(), binance.clone()));
        ops.sources
            .lock()
            .unwrap()
            .push(("okx perp".into(), okx.clone()));
        SourceStats::add(&binance.subscribed_connections, 2);
        SourceStats::add(&okx.subscribed_connections, 1);
        assert_eq!(ops.readiness(), Ok(()));
        // The session's stale watchdog fires on one Binance connection.
        binance.stale_began();
        assert_eq!(
            ops.readiness(),
            Err("binance spot: 1 of 2 subscribed connections stale (no data past the watchdog window)".into())
        );
        assert!(!ops.is_ready());
        okx.stale_began();
        let why = ops.readiness().unwrap_err();
        assert!(
            why.starts_with("binance spot: 1 of 2 ") && why.contains("; okx perp: 1 of 1 "),
            "{why}"
        );
        // Data resumes on both: ready again (the stale periods stay counted).
        binance.stale_ended();
        okx.stale_ended();
        assert_eq!(ops.readiness(), Ok(()));
        assert_eq!(SourceStats::get(&binance.stale), 1);
        // Missing subscriptions are reported first.
        okx.subscribed_connections.store(0, Relaxed);
        okx.stale_began();
        assert_eq!(ops.readiness(), Err("2 of 3 connections subscribed".into()));
        // The body of /readyz carries the reason.
        okx.subscribed_connections.store(1, Relaxed);
        let r = http::respond(&ops, &hyper::Method::GET, "/readyz");
        assert_eq!(r.status(), 503);
        assert_eq!(
            r.body(),
            "not ready: okx perp: 1 of 1 subscribed connections stale (no data past the watchdog window)\n"
        );
    }

    #[test]
    fn liveness_follows_the_heartbeat() {
        let ops = OpsState::default();
        assert_eq!(ops.liveness(), Err("not started".into()));
        ops.beat();
        assert_eq!(ops.liveness(), Ok(()));
        std::thread::sleep(Duration::from_millis(5));
        let err = ops.liveness_within(Duration::from_millis(1)).unwrap_err();
        assert!(
            err.starts_with("event loop stalled: no heartbeat for "),
            "{err}"
        );
    }
}

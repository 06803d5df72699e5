//! Operational state shared with the ops HTTP endpoint: readiness and liveness.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use tickbridge_connectors::stats::SourceStats;

use crate::pipeline::PipelineStats;

/// What `/readyz` and `/metrics` read.
#[derive(Default)]
pub struct OpsState {
    /// Set when the drain begins: the pod stops getting traffic before the drain.
    pub draining: AtomicBool,
    /// Connections the plan opens (all must be subscribed for readiness).
    pub planned_connections: AtomicU64,
    pub sources: std::sync::Mutex<Vec<(String, Arc<SourceStats>)>>,
    pub pipeline: Arc<PipelineStats>,
    pub sink_connected: std::sync::Mutex<Option<Arc<dyn Fn() -> bool + Send + Sync>>>,
}

impl OpsState {
    /// Ready: not draining, the sink connected, every planned connection subscribed.
    pub fn is_ready(&self) -> bool {
        if self.draining.load(Relaxed) {
            return false;
        }
        let sink_ok = self
            .sink_connected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|f| f());
        let subscribed: u64 = self
            .sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(_, s)| SourceStats::get(&s.subscribed_connections))
            .sum();
        sink_ok && subscribed >= self.planned_connections.load(Relaxed)
    }
}

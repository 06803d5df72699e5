//! Labelled statistics of a sink's client library (librdkafka's statistics: per
//! broker RTT, retries, the producer queue), shown on `/metrics` with the `sink` label.
//!
//! The sink registers a reader when it is built and keeps it alive; the registry holds
//! it weakly, so a sink that is dropped disappears from it. `/metrics` shows the
//! readers registered under each running sink's name (`[sink] name`).
//!
//! Process-wide because the sink is built where the ops state is not reachable (the
//! run loop hands the sink only its `counters()` of unlabelled values); a
//! `Sink::families()` next to `counters()` would replace it.

use std::sync::{Arc, Mutex, Weak};

/// One metric family of a client's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    pub help: &'static str,
    /// Each sample's labels (beside `sink`) and value.
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Reads a client's statistics.
pub type Reader = dyn Fn() -> Vec<Family> + Send + Sync;

static REGISTRY: Mutex<Vec<(String, Weak<Reader>)>> = Mutex::new(Vec::new());

/// Registers `reader` for the sink `sink`; it is read while `reader` lives.
pub fn register(sink: &str, reader: &Arc<Reader>) {
    let mut list = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    list.retain(|(_, r)| r.strong_count() > 0);
    list.push((sink.to_string(), Arc::downgrade(reader)));
}

/// The families of every live reader of `sink`.
pub fn families(sink: &str) -> Vec<Family> {
    let readers: Vec<Arc<Reader>> = REGISTRY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(s, _)| s == sink)
        .filter_map(|(_, r)| r.upgrade())
        .collect();
    readers.iter().flat_map(|r| r()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_shown_while_they_live() {
        let reader: Arc<Reader> = Arc::new(|| {
            vec![Family {
                name: "tickbridge_test_gauge",
                kind: "gauge",
                help: "A test.",
                samples: vec![(vec![], 1.0)],
            }]
        });
        register("client-stats-test", &reader);
        assert_eq!(families("client-stats-test").len(), 1);
        assert!(families("client-stats-other").is_empty());
        drop(reader);
        assert!(families("client-stats-test").is_empty());
    }
}

//! The producer's client context: whether any broker is reachable (readiness, the
//! hold-while-down gate, and the outage log lines), and librdkafka's own log lines and
//! global errors forwarded to `tracing`.
//!
//! librdkafka calls these from the producer's polling thread (owned by the producer
//! and joined when it is dropped). Reachability comes from three signals:
//!
//! - the statistics callback (`statistics.interval.ms`): reachable when some broker
//!   connection is `UP`;
//! - the global error `AllBrokersDown`: unreachable at once;
//! - a successful delivery report: reachable (a broker just acknowledged).
//!
//! The sink counts as connected (readiness, the sources' start) once it is reachable
//! and the statistics say the idempotent producer holds its ProducerId.
//!
//! Delivery reports go to the batch's [`Reports`] (see `delivery.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;
use tracing::{debug, error, info, warn};

use super::delivery::Reports;

/// Broker reachability as the sink sees it, shared by the context and the sink.
#[derive(Debug, Default)]
pub struct Reachability {
    connected: AtomicBool,
    /// When the current outage began (`None` while connected or before the first
    /// connection).
    down_since: Mutex<Option<Instant>>,
    /// Completed transitions from reachable to unreachable.
    outages: AtomicU64,
    /// Set once the first connection was seen.
    ever_connected: AtomicBool,
    /// Set once the idempotent producer holds its ProducerId (statistics
    /// `eos.idemp_state` = `Assigned`): only then can it produce.
    producer_id: AtomicBool,
}

impl Reachability {
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Reachable, and the producer holds its ProducerId.
    pub fn can_produce(&self) -> bool {
        self.is_connected() && self.producer_id.load(Ordering::Acquire)
    }

    /// How many times the broker became unreachable after having been reachable.
    pub fn outages(&self) -> u64 {
        self.outages.load(Ordering::Relaxed)
    }

    /// Marks the broker reachable; logs the end of an outage once.
    pub fn mark_up(&self, how: &str) {
        if self.connected.swap(true, Ordering::AcqRel) {
            return;
        }
        let since = self
            .down_since
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if self.ever_connected.swap(true, Ordering::Relaxed) {
            let outage_ms = since.map_or(0, |t| t.elapsed().as_millis() as u64);
            info!(
                outage_ms,
                seen_by = how,
                "kafka: broker reachable again; resuming"
            );
        } else {
            info!(seen_by = how, "kafka: broker reachable");
        }
    }

    /// Marks the broker unreachable; logs the start of an outage once. Statistics
    /// taken before the first connection was up (`tentative`) are not an outage yet:
    /// a connection may still be on its way; a failed connection reports
    /// `AllBrokersDown`.
    pub fn mark_down(&self, reason: &str, tentative: bool) {
        if tentative && !self.ever_connected.load(Ordering::Relaxed) {
            return;
        }
        let was_connected = self.connected.swap(false, Ordering::AcqRel);
        let mut since = self.down_since.lock().unwrap_or_else(|p| p.into_inner());
        if since.is_some() {
            return;
        }
        *since = Some(Instant::now());
        if was_connected {
            self.outages.fetch_add(1, Ordering::Relaxed);
        }
        warn!(
            reason,
            "kafka: no broker reachable; new batches wait, records in flight are retried \
             until the delivery timeout"
        );
    }
}

/// The client context given to the producer.
pub struct BridgeContext {
    pub reachability: Arc<Reachability>,
}

/// The part of librdkafka's statistics JSON this context reads.
#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    brokers: HashMap<String, BrokerStats>,
    /// Present for idempotent producers: `{"idemp_state": "Assigned", ...}`.
    eos: Option<EosStats>,
}

#[derive(Deserialize)]
struct EosStats {
    idemp_state: String,
}

#[derive(Deserialize)]
struct BrokerStats {
    state: String,
}

/// What a statistics JSON document says: is some broker connection up, and does
/// the idempotent producer hold its ProducerId.
pub(super) fn read_stats(stats_json: &[u8]) -> Option<(bool, bool)> {
    let stats: Stats = serde_json::from_slice(stats_json).ok()?;
    let up = stats
        .brokers
        .values()
        .any(|b| b.state == "UP" || b.state == "UPDATE");
    let pid = stats.eos.is_some_and(|e| e.idemp_state == "Assigned");
    Some((up, pid))
}

impl ClientContext for BridgeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                error!(target: "librdkafka", facility = fac, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                warn!(target: "librdkafka", facility = fac, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Notice => {
                info!(target: "librdkafka", facility = fac, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => {
                debug!(target: "librdkafka", facility = fac, "librdkafka: {message}")
            }
        }
    }

    fn stats_raw(&self, statistics: &[u8]) {
        match read_stats(statistics) {
            Some((up, pid)) => {
                if pid {
                    self.reachability.producer_id.store(true, Ordering::Release);
                }
                if up {
                    self.reachability.mark_up("statistics");
                } else {
                    self.reachability
                        .mark_down("no broker connection is up", true);
                }
            }
            None => debug!("kafka: unreadable statistics document"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                warn!(error = %error, reason, "kafka: all brokers down");
                self.reachability.mark_down(reason, false);
            }
            Some(
                RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::Resolve
                | RDKafkaErrorCode::MessageTimedOut,
            ) => {
                warn!(error = %error, reason, "kafka: broker connection failed")
            }
            _ => error!(error = %error, reason, "kafka: client error"),
        }
    }
}

impl ProducerContext for BridgeContext {
    /// Each message carries its batch's report tracker.
    type DeliveryOpaque = Arc<Reports>;

    fn delivery(&self, result: &DeliveryResult<'_>, reports: Arc<Reports>) {
        reports.report(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_broker_states_from_statistics() {
        let up =
            br#"{"name":"p","brokers":{"127.0.0.1:9092/bootstrap":{"state":"INIT","nodeid":-1},
            "127.0.0.1:9092/1":{"state":"UP","nodeid":1,"rtt":{"avg":1}}},"topics":{},
            "eos":{"idemp_state":"Assigned","idemp_stateage":12,"producer_id":2029}}"#;
        let waiting = br#"{"brokers":{"127.0.0.1:9092/1":{"state":"UP","nodeid":1}},
            "eos":{"idemp_state":"WaitPID","idemp_stateage":3}}"#;
        let down =
            br#"{"brokers":{"127.0.0.1:9092/bootstrap":{"state":"TRY_CONNECT","nodeid":-1}}}"#;
        assert_eq!(read_stats(up), Some((true, true)));
        assert_eq!(read_stats(waiting), Some((true, false)));
        assert_eq!(read_stats(down), Some((false, false)));
        assert_eq!(read_stats(b"{}"), Some((false, false)));
        assert_eq!(read_stats(b"not json"), None);
    }

    #[test]
    fn counts_outages_after_the_first_connection_only() {
        let r = Reachability::default();
        r.mark_down("first statistics", true);
        assert!(r.down_since.lock().unwrap().is_none());
        r.mark_down("start", false);
        assert!(!r.is_connected());
        r.mark_up("test");
        assert!(r.is_connected());
        assert_eq!(r.outages(), 0);
        r.mark_down("killed", false);
        r.mark_down("still down", true);
        assert_eq!(r.outages(), 1);
        r.mark_up("test");
        r.mark_up("test");
        assert!(r.is_connected());
        assert_eq!(r.outages(), 1);
    }
}

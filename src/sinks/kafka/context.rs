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
//! The same statistics feed `/metrics` ([`ClientStats`]): per broker RTT, request
//! retries and timeouts, and the producer queue's messages and bytes.
//!
//! Delivery reports go to the batch's [`Reports`] (see `delivery.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;
use tracing::{debug, error, info, warn};

use super::delivery::Reports;
use super::security::{SaslConfig, TlsConfig};
use super::tls_probe;
use crate::ops::client_stats::Family;

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
    /// The last statistics document's numbers, for `/metrics`.
    pub client_stats: Arc<ClientStats>,
    /// OAUTHBEARER from a token file: the settings librdkafka's refresh requests read.
    pub token_file: Option<SaslConfig>,
    /// The TLS settings, when the connection uses TLS (for [`tls_probe`]).
    pub tls: Option<TlsConfig>,
    pub uses_tls: bool,
    /// The kinds of security failure logged since the broker was last reachable:
    /// librdkafka retries a refused connection every `reconnect.backoff.max.ms` and
    /// words one failure in several ways; each kind is logged once, not once a second.
    seen_security: Mutex<Vec<SecurityFailure>>,
}

impl BridgeContext {
    pub fn new(
        reachability: Arc<Reachability>,
        client_stats: Arc<ClientStats>,
        kafka: &super::KafkaConfig,
    ) -> BridgeContext {
        BridgeContext {
            reachability,
            client_stats,
            token_file: kafka
                .sasl
                .as_ref()
                .filter(|s| s.token_file.is_some())
                .cloned(),
            tls: kafka.tls.clone(),
            uses_tls: kafka.security_protocol.uses_tls(),
            seen_security: Mutex::new(Vec::new()),
        }
    }

    /// Logs a TLS or authentication failure once per kind (until the broker is
    /// reachable again), with its cause and what to check.
    fn security_failure(&self, kind: SecurityFailure, reason: &str) {
        {
            let mut seen = self.seen_security.lock().unwrap_or_else(|p| p.into_inner());
            if seen.contains(&kind) {
                debug!(reason, "kafka: security failure again");
                return;
            }
            seen.push(kind);
        }
        // librdkafka says only "certificate verify failed": ask OpenSSL why.
        let verify = match kind {
            SecurityFailure::Certificate if self.uses_tls => tls_probe::broker_of(reason)
                .and_then(|addr| tls_probe::probe(addr, self.tls.as_ref())),
            _ => None,
        };
        let hint = match verify.as_deref() {
            Some(v) if v.contains("expired") => "the broker's certificate has expired",
            Some(v) if v.contains("not yet valid") => "the broker's certificate is not valid yet",
            Some(v) if v.contains("hostname mismatch") => {
                "the broker's certificate names another host: check brokers (or [sink.kafka.tls] verify_hostname)"
            }
            _ => kind.hint(),
        };
        error!(
            cause = %security_cause(reason),
            verify = verify.as_deref().unwrap_or(""),
            hint,
            "kafka: the broker refuses the connection (retried every second; readiness stays false)"
        );
    }

    /// The broker is reachable: a later failure is news again.
    fn security_ok(&self) {
        let mut seen = self.seen_security.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.is_empty() {
            seen.clear();
        }
    }
}

/// The kinds of failure a secured connection has, each with what to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityFailure {
    /// The broker's certificate failed verification.
    Certificate,
    /// The broker refused our client certificate, or wanted one.
    ClientCertificate,
    /// The TLS handshake failed otherwise (e.g. a plaintext port).
    Handshake,
    /// The broker does not offer the SASL mechanism.
    Mechanism,
    /// The broker refused the credentials.
    Credentials,
    /// Another SASL failure.
    Sasl,
}

impl SecurityFailure {
    /// The failure a librdkafka error shows, if it is one of these.
    pub fn of(code: Option<RDKafkaErrorCode>, reason: &str) -> Option<SecurityFailure> {
        let r = reason.to_ascii_lowercase();
        let failure = if r.contains("certificate verify failed") {
            SecurityFailure::Certificate
        } else if r.contains("alert bad certificate")
            || r.contains("certificate required")
            || r.contains("alert certificate")
        {
            SecurityFailure::ClientCertificate
        } else if r.contains("unsupported sasl mechanism")
            || (r.contains("sasl") && r.contains("mechanism") && r.contains("not"))
        {
            SecurityFailure::Mechanism
        } else if r.contains("invalid credentials") || r.contains("authentication failed") {
            SecurityFailure::Credentials
        } else if r.contains("ssl handshake failed")
            || r.contains("ssl routines")
            || code == Some(RDKafkaErrorCode::SSL)
        {
            SecurityFailure::Handshake
        } else if code == Some(RDKafkaErrorCode::Authentication)
            || r.contains("sasl authentication")
        {
            SecurityFailure::Sasl
        } else {
            return None;
        };
        Some(failure)
    }

    pub fn hint(self) -> &'static str {
        match self {
            SecurityFailure::Certificate => {
                "the broker's certificate is not trusted: check [sink.kafka.tls] ca_file"
            }
            SecurityFailure::ClientCertificate => {
                "the broker refused the client certificate or requires one: check [sink.kafka.tls] cert_file and key_file"
            }
            SecurityFailure::Handshake => {
                "the TLS handshake failed: check security_protocol and the port"
            }
            SecurityFailure::Mechanism => {
                "the broker does not offer this SASL mechanism: check [sink.kafka.sasl] mechanism"
            }
            SecurityFailure::Credentials => {
                "the broker refused the credentials: check [sink.kafka.sasl] username and password"
            }
            SecurityFailure::Sasl => "SASL authentication failed: check [sink.kafka.sasl]",
        }
    }
}

/// The stable part of a librdkafka security error: without the broker prefix
/// (`sasl_ssl://127.0.0.1:9094/bootstrap: `) and the `(after 3ms in state ...)` tail.
pub fn security_cause(reason: &str) -> String {
    let body = match reason.find("://") {
        Some(i) => reason[i..]
            .split_once(": ")
            .map(|(_, rest)| rest)
            .unwrap_or(reason),
        None => reason,
    };
    let body = body.split(" (after ").next().unwrap_or(body);
    body.trim().to_string()
}

/// The part of librdkafka's statistics JSON this context reads (serde skips the
/// rest, the per-topic and per-partition objects included).
#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    brokers: HashMap<String, BrokerStats>,
    /// Present for idempotent producers: `{"idemp_state": "Assigned", ...}`.
    eos: Option<EosStats>,
    /// Messages in the producer queues, and their bytes; and the queues' limits.
    #[serde(default)]
    msg_cnt: u64,
    #[serde(default)]
    msg_size: u64,
    #[serde(default)]
    msg_max: u64,
    #[serde(default)]
    msg_size_max: u64,
}

#[derive(Deserialize)]
struct EosStats {
    idemp_state: String,
}

#[derive(Deserialize)]
struct BrokerStats {
    state: String,
    /// -1 for a bootstrap broker whose id is not known yet.
    #[serde(default = "unknown_node")]
    nodeid: i32,
    /// `configured`, `learned`, or `logical` (a coordinator's alias of a real broker).
    #[serde(default)]
    source: String,
    /// Round-trip times over the last statistics interval, in microseconds.
    #[serde(default)]
    rtt: Option<Window>,
    #[serde(default)]
    txretries: u64,
    #[serde(default)]
    req_timeouts: u64,
}

fn unknown_node() -> i32 {
    -1
}

/// Every field defaulted: a field missing from a librdkafka version must not make
/// the document unreadable (reachability depends on it).
#[derive(Deserialize)]
struct Window {
    #[serde(default)]
    avg: i64,
    #[serde(default)]
    p99: i64,
    /// Samples in the window (0: no request to this broker in the interval).
    #[serde(default)]
    cnt: i64,
}

/// What `/metrics` shows of one statistics document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSnapshot {
    pub queue_messages: u64,
    pub queue_bytes: u64,
    pub queue_max_messages: u64,
    pub queue_max_bytes: u64,
    /// By broker id (bootstrap and logical brokers left out: one row per real broker).
    pub brokers: BTreeMap<i32, BrokerSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrokerSnapshot {
    /// Whether the window held requests (else the RTT is 0 and [`ClientStats`] keeps
    /// the previous window's).
    pub rtt_sampled: bool,
    pub rtt_avg_us: i64,
    pub rtt_p99_us: i64,
    pub retries: u64,
    pub timeouts: u64,
}

/// What a statistics JSON document says: is some broker connection up, does the
/// idempotent producer hold its ProducerId, and the numbers `/metrics` shows.
pub(super) fn parse_stats(stats_json: &[u8]) -> Option<(bool, bool, StatsSnapshot)> {
    let stats: Stats = serde_json::from_slice(stats_json).ok()?;
    let up = stats
        .brokers
        .values()
        .any(|b| b.state == "UP" || b.state == "UPDATE");
    let pid = stats.eos.is_some_and(|e| e.idemp_state == "Assigned");
    let mut brokers = BTreeMap::new();
    for b in stats.brokers.values() {
        if b.nodeid < 0 || b.source == "logical" {
            continue;
        }
        let rtt = b.rtt.as_ref();
        brokers.entry(b.nodeid).or_insert(BrokerSnapshot {
            rtt_sampled: rtt.is_some_and(|w| w.cnt > 0),
            rtt_avg_us: rtt.map_or(0, |w| w.avg),
            rtt_p99_us: rtt.map_or(0, |w| w.p99),
            retries: b.txretries,
            timeouts: b.req_timeouts,
        });
    }
    let snapshot = StatsSnapshot {
        queue_messages: stats.msg_cnt,
        queue_bytes: stats.msg_size,
        queue_max_messages: stats.msg_max,
        queue_max_bytes: stats.msg_size_max,
        brokers,
    };
    Some((up, pid, snapshot))
}

/// Is some broker connection up, and does the producer hold its ProducerId.
#[cfg(test)]
pub(super) fn read_stats(stats_json: &[u8]) -> Option<(bool, bool)> {
    parse_stats(stats_json).map(|(up, pid, _)| (up, pid))
}

/// The last statistics document's numbers (one lock every `statistics.interval.ms`
/// and one per scrape).
#[derive(Debug, Default)]
pub struct ClientStats {
    latest: Mutex<Option<StatsSnapshot>>,
}

impl ClientStats {
    /// Keeps `snapshot`; a broker's RTT window without requests (librdkafka resets
    /// the windows every interval, 100 ms here) keeps the last one that had some, so
    /// a scrape of an idle moment still shows the latest measured RTT.
    fn store(&self, mut snapshot: StatsSnapshot) {
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = latest.as_ref() {
            for (id, b) in snapshot.brokers.iter_mut() {
                match previous.brokers.get(id) {
                    Some(p) if !b.rtt_sampled && p.rtt_sampled => {
                        b.rtt_sampled = true;
                        b.rtt_avg_us = p.rtt_avg_us;
                        b.rtt_p99_us = p.rtt_p99_us;
                    }
                    _ => {}
                }
            }
        }
        *latest = Some(snapshot);
    }

    /// The `/metrics` families (none before the first statistics document).
    pub fn families(&self) -> Vec<Family> {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = latest.as_ref() else {
            return Vec::new();
        };
        let single = |name, help, value: u64| Family {
            name,
            kind: "gauge",
            help,
            samples: vec![(vec![], value as f64)],
        };
        let per_broker = |name, kind, help, read: fn(&BrokerSnapshot) -> f64| Family {
            name,
            kind,
            help,
            samples: s
                .brokers
                .iter()
                .map(|(id, b)| (vec![("broker", id.to_string())], read(b)))
                .collect(),
        };
        vec![
            single(
                "tickbridge_kafka_producer_queue_messages",
                "Messages in librdkafka's producer queues (waiting to be sent or acknowledged).",
                s.queue_messages,
            ),
            single(
                "tickbridge_kafka_producer_queue_bytes",
                "Bytes of the messages in librdkafka's producer queues.",
                s.queue_bytes,
            ),
            single(
                "tickbridge_kafka_producer_queue_max_messages",
                "Limit of messages in librdkafka's producer queues (queue.buffering.max.messages).",
                s.queue_max_messages,
            ),
            single(
                "tickbridge_kafka_producer_queue_max_bytes",
                "Limit of bytes in librdkafka's producer queues (queue.buffering.max.kbytes).",
                s.queue_max_bytes,
            ),
            per_broker(
                "tickbridge_kafka_broker_rtt_avg_seconds",
                "gauge",
                "Average request round-trip time to the broker over the last statistics interval that had requests (0 before the first), by broker id.",
                |b| b.rtt_avg_us as f64 / 1e6,
            ),
            per_broker(
                "tickbridge_kafka_broker_rtt_p99_seconds",
                "gauge",
                "99th percentile of the request round-trip time to the broker over the same interval, by broker id.",
                |b| b.rtt_p99_us as f64 / 1e6,
            ),
            per_broker(
                "tickbridge_kafka_broker_request_retries_total",
                "counter",
                "Requests librdkafka retried to the broker (txretries), by broker id.",
                |b| b.retries as f64,
            ),
            per_broker(
                "tickbridge_kafka_broker_request_timeouts_total",
                "counter",
                "Requests to the broker that timed out (req_timeouts), by broker id.",
                |b| b.timeouts as f64,
            ),
        ]
    }
}

impl ClientContext for BridgeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        // A broker connection failure comes twice: as a `FAIL` log line and through
        // `error` below, which reports it (once per kind for security failures).
        let level = if fac == "FAIL" {
            RDKafkaLogLevel::Debug
        } else {
            level
        };
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
        match parse_stats(statistics) {
            Some((up, pid, snapshot)) => {
                self.client_stats.store(snapshot);
                if pid {
                    self.reachability.producer_id.store(true, Ordering::Release);
                }
                if up {
                    self.security_ok();
                    self.reachability.mark_up("statistics");
                } else {
                    self.reachability
                        .mark_down("no broker connection is up", true);
                }
            }
            None => debug!("kafka: unreadable statistics document"),
        }
    }

    /// OAUTHBEARER with `token_file`: librdkafka asks before the token expires.
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let sasl = self
            .token_file
            .as_ref()
            .ok_or("OAUTHBEARER needs [sink.kafka.sasl] token_file or [sink.kafka.sasl.oidc]")?;
        match super::security::token_now(sasl) {
            Ok(t) => {
                debug!(principal = %t.principal_name, "kafka: OAUTHBEARER token read from its file");
                Ok(t)
            }
            Err(why) => {
                error!(error = %why, "kafka: no OAUTHBEARER token");
                Err(why.into())
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if let Some(kind) = SecurityFailure::of(code, reason) {
            self.reachability.mark_down(reason, false);
            self.security_failure(kind, reason);
            return;
        }
        match code {
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
    fn reads_the_numbers_metrics_show() {
        let doc = br#"{"name":"p","msg_cnt":12,"msg_size":3456,"msg_max":100000,"msg_size_max":1073741824,
            "brokers":{
              "127.0.0.1:9092/bootstrap":{"state":"UP","nodeid":-1,"source":"configured","txretries":9,
                "rtt":{"avg":1,"p99":1}},
              "127.0.0.1:9092/1":{"state":"UP","nodeid":1,"source":"learned","txretries":3,"req_timeouts":1,
                "rtt":{"min":100,"max":900,"avg":250,"p99":875,"cnt":4}},
              "GroupCoordinator":{"state":"UP","nodeid":1,"source":"logical","txretries":7},
              "127.0.0.1:9093/2":{"state":"TRY_CONNECT","nodeid":2,"source":"learned",
                "rtt":{"avg":0,"p99":0}}},
            "topics":{"md.trade":{"partitions":{"0":{"msgq_cnt":1}}}}}"#;
        let (up, pid, s) = parse_stats(doc).unwrap();
        assert!(up && !pid);
        assert_eq!((s.queue_messages, s.queue_bytes), (12, 3456));
        assert_eq!(
            (s.queue_max_messages, s.queue_max_bytes),
            (100000, 1073741824)
        );
        assert_eq!(s.brokers.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(
            s.brokers[&1],
            BrokerSnapshot {
                rtt_sampled: true,
                rtt_avg_us: 250,
                rtt_p99_us: 875,
                retries: 3,
                timeouts: 1
            }
        );

        let stats = ClientStats::default();
        assert!(stats.families().is_empty());
        stats.store(s);
        let families = stats.families();
        let rtt = families
            .iter()
            .find(|f| f.name == "tickbridge_kafka_broker_rtt_avg_seconds")
            .unwrap();
        assert_eq!(
            rtt.samples,
            [
                (vec![("broker", "1".to_string())], 0.00025),
                (vec![("broker", "2".to_string())], 0.0)
            ]
        );
        let queue = families
            .iter()
            .find(|f| f.name == "tickbridge_kafka_producer_queue_bytes")
            .unwrap();
        assert_eq!(queue.samples, [(vec![], 3456.0)]);
        // An idle interval (no request: an empty window) keeps the last measured RTT.
        let idle = br#"{"msg_cnt":0,"brokers":{"127.0.0.1:9092/1":{"state":"UP","nodeid":1,
            "source":"learned","txretries":4,"rtt":{"avg":0,"p99":0,"cnt":0}}}}"#;
        stats.store(parse_stats(idle).unwrap().2);
        let latest = stats.latest.lock().unwrap().clone().unwrap();
        assert_eq!(
            (latest.brokers[&1].rtt_avg_us, latest.brokers[&1].retries),
            (250, 4)
        );
        let busy = br#"{"brokers":{"127.0.0.1:9092/1":{"state":"UP","nodeid":1,
            "source":"learned","rtt":{"avg":120,"p99":300,"cnt":2}}}}"#;
        stats.store(parse_stats(busy).unwrap().2);
        let latest = stats.latest.lock().unwrap().clone().unwrap();
        assert_eq!(latest.brokers[&1].rtt_avg_us, 120);
        // Counters end in _total, gauges do not.
        for f in &families {
            assert_eq!(
                f.kind == "counter",
                f.name.ends_with("_total"),
                "{}",
                f.name
            );
        }
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

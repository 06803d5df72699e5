//! The Kafka sink (rdkafka): idempotent producer, `acks=all`, per-batch awaited
//! delivery reports. Configured under `[sink.kafka]`.
//!
//! ```text
//! enqueue(batch) ──▶ [wait while no broker is reachable] ──▶ send_result per record,
//!                    in order (QueueFull: back off, retry the same record)
//!             acks ──▶ await every delivery report ──▶ delivered
//!                                                 └──▶ terminal error ──▶ dead letter
//!                                                 └──▶ other error    ──▶ failed (lost)
//! ```
//!
//! - Acknowledgement: a batch's records share one report counter (`delivery.rs`);
//!   its future resolves when librdkafka has reported every one of them.
//! - Order: records are handed to librdkafka in batch order and batches in call order;
//!   the key is `exchange.market.symbol` (`key`), so one symbol's records land on one partition,
//!   and the idempotent producer keeps their order across retries.
//! - Retriable errors (broker down, leader change, request timeout) are retried by
//!   librdkafka itself until `[sink] delivery_timeout` (`message.timeout.ms`) runs out.
//! - Terminal errors (message too large, unknown topic, authorization, invalid record)
//!   go to the dead-letter targets: the file of `[sink.dead_letter]` and/or the topic
//!   `dead_letter_topic`; a record no target took counts as failed.
//! - While no broker is reachable, new batches wait before they reach librdkafka
//!   (`hold_while_down`), so an outage turns into back-pressure instead of records
//!   timing out; readiness is false and the outage is logged when it starts and ends.
//! - `close` waits until librdkafka holds no message any more, within the drain.

mod admin;
pub mod check;
mod context;
mod delivery;
pub mod registry;
pub mod security;
mod tls_probe;
pub mod topic;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;
use tracing::{debug, error, info, warn};

pub use self::admin::{CleanupPolicy, CreateTopics};
use self::context::{BridgeContext, ClientStats, Reachability};
use self::delivery::{Cause, Failure, Reports};
use self::registry::{Registry, RegistryConfig, RegistryError};
pub use self::security::{SaslConfig, Security, SecurityProtocol, TlsConfig};
use self::topic::TopicTemplate;
use super::dead_letter::DeadLetter;
use super::encoding::{set_schema_id, Encoding};
use super::{Acks, Batch, BoxFuture, Sink, SinkError};
use crate::config::SinkConfig;

/// The value of the `schema` header of every message.
pub const SCHEMA_HEADER: &str = "tick.v1";
/// The value of the `content-type` header of every JSON message (other encodings:
/// [`Encoding::content_type`]).
pub const CONTENT_TYPE: &str = "application/json";

/// `[sink.kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port]`.
    #[serde(default = "default_brokers")]
    pub brokers: String,
    /// Topic template; `{kind}`, `{exchange}`, `{market}` (and `{symbol}` with
    /// `symbol_topics`) are replaced per record.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Allow `{symbol}` in `topic`: one topic per symbol (a config with 500 symbols
    /// writes to 500 topics, each with its partitions and its metadata on every
    /// broker). Off by default.
    #[serde(default)]
    pub symbol_topics: bool,
    /// Key template (same placeholders, `{symbol}` included). The key decides the
    /// partition: records of one key stay in order on one partition.
    #[serde(default = "default_key")]
    pub key: String,
    /// The record's Kafka timestamp: `event` (the exchange's event time, the receive
    /// time where the feed has none) or `receive` (when the bridge read the frame).
    #[serde(default)]
    pub timestamp: TimestampSource,
    /// librdkafka `partitioner`: `consistent_random` (librdkafka's default) or
    /// `murmur2_random`, the Java client's default: keys land on the same partitions
    /// as a Java producer's, so topics co-partition with theirs (Kafka Streams joins).
    #[serde(default)]
    pub partitioner: Partitioner,
    /// Compression of record batches: `lz4` (default), `zstd`, `snappy`, `gzip` or `none`.
    #[serde(default)]
    pub compression: Compression,
    /// `plaintext` (default), `ssl`, `sasl_plaintext` or `sasl_ssl` (see [`security`]).
    #[serde(default)]
    pub security_protocol: SecurityProtocol,
    /// `[sink.kafka.create_topics]`: create missing topics with these settings.
    #[serde(default)]
    pub create_topics: CreateTopics,
    /// `[sink.kafka.tls]`: CA, client certificate, hostname verification.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// `[sink.kafka.sasl]`: mechanism and credentials.
    #[serde(default)]
    pub sasl: Option<SaslConfig>,
    /// `[sink.kafka.schema_registry]`: for `[sink] encoding` avro, protobuf, json_schema.
    #[serde(default)]
    pub schema_registry: Option<RegistryConfig>,
    /// A topic for records that failed with a terminal error (too large, unknown
    /// topic, authorization). Each dead letter carries the record unchanged, its key,
    /// the `schema`/`content-type` headers, plus `error` and `topic` (the original
    /// topic) headers. Works alongside `[sink.dead_letter] path`: a record counts as
    /// dead-lettered when at least one of the two took it.
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
    /// While no broker is reachable, hold new batches before they reach librdkafka
    /// (sources then feel back-pressure) instead of letting them time out after
    /// `delivery_timeout`. Records already handed over are retried either way.
    #[serde(default = "default_true")]
    pub hold_while_down: bool,
    /// `client.id` shown in broker logs and metrics.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// librdkafka properties passed through as they are (e.g. `"linger.ms" = "5"`);
    /// they override the sink's defaults (`linger.ms` 1: `[batch]` already gathers
    /// records, so librdkafka only needs to let one batch's records into a request;
    /// `statistics.interval.ms` 100,
    /// `reconnect.backoff.max.ms` 1000). The delivery guarantee's own settings are
    /// refused here: `enable.idempotence`, `acks`, `bootstrap.servers`,
    /// `message.timeout.ms` / `delivery.timeout.ms` (use `[sink] delivery_timeout`),
    /// `compression.type` (use `compression`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: default_brokers(),
            topic: default_topic(),
            compression: Compression::default(),
            symbol_topics: false,
            key: default_key(),
            timestamp: TimestampSource::default(),
            partitioner: Partitioner::default(),
            security_protocol: SecurityProtocol::default(),
            create_topics: CreateTopics::default(),
            tls: None,
            sasl: None,
            schema_registry: None,
            dead_letter_topic: None,
            hold_while_down: true,
            client_id: default_client_id(),
            options: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// The security settings, checked and applied as one.
    pub fn security(&self) -> Security<'_> {
        Security {
            protocol: self.security_protocol,
            tls: self.tls.as_ref(),
            sasl: self.sasl.as_ref(),
        }
    }
}

fn default_brokers() -> String {
    "127.0.0.1:9092".into()
}
fn default_topic() -> String {
    "md.{kind}".into()
}
fn default_key() -> String {
    "{exchange}.{market}.{symbol}".into()
}
fn default_client_id() -> String {
    "tickbridge".into()
}
fn default_true() -> bool {
    true
}

/// Which time a Kafka record carries as its timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampSource {
    /// The exchange's event time (`ts_exchange`), else the receive time.
    #[default]
    Event,
    /// The receive time (`ts_recv`).
    Receive,
}

impl TimestampSource {
    /// The timestamp of `record`, in ms since the epoch.
    pub fn millis(self, record: &tickbridge_schema::Record) -> i64 {
        let ns = match self {
            TimestampSource::Event => record.ts_exchange.unwrap_or(record.ts_recv),
            TimestampSource::Receive => record.ts_recv,
        };
        ns.div_euclid(1_000_000)
    }
}

/// librdkafka `partitioner`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    #[default]
    ConsistentRandom,
    Murmur2Random,
    Consistent,
    Murmur2,
    Fnv1aRandom,
}

impl Partitioner {
    pub fn as_str(self) -> &'static str {
        match self {
            Partitioner::ConsistentRandom => "consistent_random",
            Partitioner::Murmur2Random => "murmur2_random",
            Partitioner::Consistent => "consistent",
            Partitioner::Murmur2 => "murmur2",
            Partitioner::Fnv1aRandom => "fnv1a_random",
        }
    }
}

/// Record batch compression (librdkafka `compression.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    #[default]
    Lz4,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// librdkafka properties the sink owns; `options` may not set them.
const RESERVED: [(&str, &str); 15] = [
    (
        "enable.idempotence",
        "always true: the delivery guarantee needs it",
    ),
    ("acks", "always `all`: the delivery guarantee needs it"),
    ("bootstrap.servers", "use `brokers`"),
    ("message.timeout.ms", "use `[sink] delivery_timeout`"),
    ("delivery.timeout.ms", "use `[sink] delivery_timeout`"),
    ("compression.type", "use `compression`"),
    ("security.protocol", "use `security_protocol`"),
    ("partitioner", "use `partitioner`"),
    ("sasl.mechanism", "use `[sink.kafka.sasl] mechanism`"),
    ("sasl.mechanisms", "use `[sink.kafka.sasl] mechanism`"),
    ("sasl.username", "use `[sink.kafka.sasl] username`"),
    (
        "sasl.password",
        "a secret: use `[sink.kafka.sasl] password` or `password_file`",
    ),
    (
        "ssl.key.password",
        "a secret: use `[sink.kafka.tls] key_password` or `key_password_file`",
    ),
    (
        "sasl.oauthbearer.client.secret",
        "a secret: use `[sink.kafka.sasl.oidc] client_secret` or `client_secret_file`",
    ),
    (
        "sasl.oauthbearer.method",
        "use `[sink.kafka.sasl] token_file` or `[sink.kafka.sasl.oidc]`",
    ),
];

/// The librdkafka configuration of the producer.
pub fn client_config(config: &SinkConfig) -> Result<ClientConfig, SinkError> {
    let kafka = &config.kafka;
    for (name, why) in RESERVED {
        if kafka.options.contains_key(name) {
            return Err(setup(format!(
                "sink.kafka.options.\"{name}\" cannot be set: {why}"
            )));
        }
    }
    let timeout_ms = config.delivery_timeout.as_millis();
    if !(1..=i32::MAX as u128).contains(&timeout_ms) {
        return Err(setup(format!(
            "sink.delivery_timeout {:?} is out of range for Kafka (1 ms to 24 days)",
            config.delivery_timeout
        )));
    }
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &kafka.brokers)
        .set("client.id", &kafka.client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", kafka.compression.as_str())
        .set("partitioner", kafka.partitioner.as_str())
        .set("message.timeout.ms", timeout_ms.to_string())
        .set("linger.ms", "1")
        .set("statistics.interval.ms", "100")
        .set("reconnect.backoff.max.ms", "1000");
    kafka
        .security()
        .apply(&mut cc)
        .map_err(|(field, why)| setup(format!("sink.kafka.{field}: {why}")))?;
    for (k, v) in &kafka.options {
        cc.set(k, v);
    }
    Ok(cc)
}

/// A client config for the sink's brokers other than its producer (the hot standby's
/// group consumer, its tail reader and admin client): the brokers, the client id and
/// the security settings, none of the producer's own properties.
pub fn group_client_config(config: &SinkConfig) -> Result<ClientConfig, SinkError> {
    let kafka = &config.kafka;
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &kafka.brokers)
        .set("client.id", &kafka.client_id);
    kafka
        .security()
        .apply(&mut cc)
        .map_err(|(field, why)| setup(format!("sink.kafka.{field}: {why}")))?;
    Ok(cc)
}

/// Every check `run` makes of the Kafka sink before it connects, without connecting
/// (`tickbridge validate`): the topic templates, the security settings (files
/// readable, an OAUTHBEARER token file current), librdkafka's own validation of every
/// property of the final producer config, and a producer created with no bootstrap
/// servers, so librdkafka loads the TLS material and checks the SASL mechanism is
/// built in. Returns the lines `validate` prints (secrets redacted).
pub fn preflight(config: &SinkConfig) -> Result<Vec<String>, SinkError> {
    let kafka = &config.kafka;
    TopicTemplate::parse_topic(&kafka.topic, kafka.symbol_topics)
        .map_err(|e| setup(format!("sink.kafka.topic: {e}")))?;
    TopicTemplate::parse_key(&kafka.key).map_err(|e| setup(format!("sink.kafka.key: {e}")))?;
    if let Some(dlq) = &kafka.dead_letter_topic {
        topic::check_name(dlq).map_err(|e| setup(format!("sink.kafka.dead_letter_topic: {e}")))?;
    }
    kafka
        .create_topics
        .validate()
        .map_err(|(f, why)| setup(format!("sink.kafka.create_topics.{f}: {why}")))?;
    let registry = registry_of(config)?;
    let mut cc = client_config(config)?;
    if let Some(sasl) = kafka.sasl.as_ref().filter(|s| s.token_file.is_some()) {
        security::token_now(sasl).map_err(setup)?;
    }
    let features = cc
        .create_native_config()
        .map_err(|e| setup(format!("librdkafka refuses the producer config: {e}")))?
        .get("builtin.features")
        .unwrap_or_default();
    cc.set("bootstrap.servers", "");
    cc.create::<rdkafka::producer::BaseProducer>()
        .map_err(|e| setup(format!("librdkafka refuses the producer config: {e}")))?;
    let (_, version) = rdkafka::util::get_rdkafka_version();
    let mut lines = vec![
        format!("librdkafka {version} features: {features}"),
        format!(
            "kafka: brokers {} security {} compression {}",
            kafka.brokers,
            kafka.security_protocol.as_str(),
            kafka.compression.as_str()
        ),
    ];
    if let Some(tls) = &kafka.tls {
        let path = |p: &Option<std::path::PathBuf>| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "-".into())
        };
        lines.push(format!(
            "kafka: tls ca_file {} cert_file {} key_file {} key_password {} verify_hostname {}",
            path(&tls.ca_file),
            path(&tls.cert_file),
            path(&tls.key_file),
            if tls.key_password.is_some() || tls.key_password_file.is_some() {
                "<redacted>"
            } else {
                "-"
            },
            tls.verify_hostname
        ));
    }
    if let Some(sasl) = &kafka.sasl {
        let how = match (&sasl.token_file, &sasl.oidc) {
            (Some(f), _) => format!("token_file {}", f.display()),
            (None, Some(o)) => format!(
                "oidc token_endpoint {} client_id {} client_secret <redacted>",
                o.token_endpoint, o.client_id
            ),
            (None, None) => format!(
                "username {} password <redacted>",
                sasl.username.as_deref().unwrap_or("-")
            ),
        };
        lines.push(format!("kafka: sasl {} {how}", sasl.mechanism.as_str()));
    }
    if let (Some(_), Some(r)) = (registry, &kafka.schema_registry) {
        lines.push(format!(
            "kafka: encoding {} schema_registry {} subject_strategy {} auto_register {} username {} password {}",
            config.encoding.as_str(),
            r.url,
            r.subject_strategy.as_str(),
            r.auto_register,
            r.username.as_deref().unwrap_or("-"),
            if r.password.is_some() || r.password_file.is_some() { "<redacted>" } else { "-" },
        ));
    }
    Ok(lines)
}

fn setup(message: String) -> SinkError {
    SinkError::Setup {
        sink: "kafka",
        message,
    }
}

/// Builds the Kafka sink. Does not wait for a broker: an unreachable broker shows in
/// readiness and the log, and the sink keeps trying.
///
/// With a schema-registry encoding it first resolves the schema id of every kind
/// whose subject is known before any record (see [`Inner::prepare_schemas`]):
/// `produced` are the kinds the configured sources publish; `durable_buffer`: a disk
/// buffer in front (see [`KafkaSink::new`]).
pub async fn build(
    config: &SinkConfig,
    dead_letter: DeadLetter,
    produced: &[tickbridge_schema::Kind],
    durable_buffer: bool,
) -> Result<Arc<dyn Sink>, SinkError> {
    let sink = KafkaSink::new(config, dead_letter, durable_buffer)?;
    sink.inner.prepare_schemas(produced).await?;
    Ok(Arc::new(sink))
}

/// The registry client `[sink] encoding` needs, checked against the rest of the
/// config. A registry configured with `encoding = "json"` is ignored (switching the
/// encoding back is one line).
fn registry_of(config: &SinkConfig) -> Result<Option<Registry>, SinkError> {
    let kafka = &config.kafka;
    let registry = match (config.encoding.uses_registry(), &kafka.schema_registry) {
        (false, _) => return Ok(None),
        (true, None) => {
            return Err(setup(format!(
                "sink.encoding = \"{}\" needs [sink.kafka.schema_registry] with its url",
                config.encoding.as_str()
            )))
        }
        (true, Some(r)) => r,
    };
    let topic = TopicTemplate::parse_topic(&kafka.topic, kafka.symbol_topics)
        .map_err(|e| setup(format!("sink.kafka.topic: {e}")))?;
    if registry.subject_strategy == registry::SubjectStrategy::TopicName && !topic.has_kind() {
        return Err(setup(format!(
            "sink.kafka.schema_registry.subject_strategy = \"topic_name\" needs {{kind}} in \
             sink.kafka.topic ({:?}): every kind on one topic would share one subject; use \
             \"record_name\" or \"topic_record_name\"",
            kafka.topic
        )));
    }
    Registry::new(registry, config.encoding)
        .map(Some)
        .map_err(|e| setup(format!("sink.kafka.schema_registry.{e}")))
}

/// The Kafka sink.
pub struct KafkaSink {
    inner: Arc<Inner>,
}

/// What the acknowledgement futures share with the sink.
struct Inner {
    producer: ThreadedProducer<BridgeContext>,
    reachability: Arc<Reachability>,
    /// Keeps the `/metrics` reader of librdkafka's statistics registered.
    _stats_reader: Arc<crate::ops::client_stats::Reader>,
    topic: TopicTemplate,
    key: TopicTemplate,
    timestamp: TimestampSource,
    /// With `[sink.kafka.create_topics] enabled`: the admin client that creates them.
    admin: Option<(
        Arc<rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>>,
        CreateTopics,
    )>,
    dead_letter: DeadLetter,
    dead_letter_topic: Option<String>,
    hold_while_down: bool,
    delivery_timeout: Duration,
    /// How long a batch waits for its delivery reports: librdkafka's timeout and a
    /// grace, or without end with a disk buffer (librdkafka then has none).
    report_limit: Option<Duration>,
    /// `[sink] encoding`, and with a schema-registry encoding its client.
    encoding: Encoding,
    registry: Option<Registry>,
    /// Topics this producer has already asked the broker about (see
    /// `learn_new_topics`). Only the batcher's sequential enqueue touches it.
    known_topics: std::sync::Mutex<Vec<String>>,
    /// Outages (`Reachability::outages`) after which the broker was seen leading its
    /// partitions again (`wait_for_broker`).
    verified_outages: std::sync::atomic::AtomicU64,
    /// Records sent again after their delivery timed out unanswered (`delivery.rs`).
    resent: std::sync::atomic::AtomicU64,
}

impl KafkaSink {
    /// The sink of `config`. With `durable_buffer` (a disk buffer in front, which
    /// keeps every batch until it is acknowledged) librdkafka never times a record
    /// out (`message.timeout.ms = 0`): what it holds when the broker goes away waits
    /// for the broker, in order, however long the outage, instead of failing after
    /// `delivery_timeout` while the buffer still has it; the drain deadline bounds a
    /// shutdown, and the buffer keeps what is unacknowledged then.
    pub fn new(
        config: &SinkConfig,
        dead_letter: DeadLetter,
        durable_buffer: bool,
    ) -> Result<KafkaSink, SinkError> {
        let kafka = &config.kafka;
        let topic = TopicTemplate::parse_topic(&kafka.topic, kafka.symbol_topics)
            .map_err(|e| setup(format!("sink.kafka.topic: {e}")))?;
        let key = TopicTemplate::parse_key(&kafka.key)
            .map_err(|e| setup(format!("sink.kafka.key: {e}")))?;
        if let Some(dlq) = &kafka.dead_letter_topic {
            topic::check_name(dlq)
                .map_err(|e| setup(format!("sink.kafka.dead_letter_topic: {e}")))?;
        }
        let registry = registry_of(config)?;
        let reachability = Arc::new(Reachability::default());
        let client_stats = Arc::new(ClientStats::default());
        let stats_reader: Arc<crate::ops::client_stats::Reader> = {
            let client_stats = client_stats.clone();
            Arc::new(move || client_stats.families())
        };
        crate::ops::client_stats::register(&config.name, &stats_reader);
        let context = BridgeContext::new(reachability.clone(), client_stats, kafka);
        kafka
            .create_topics
            .validate()
            .map_err(|(f, why)| setup(format!("sink.kafka.create_topics.{f}: {why}")))?;
        let admin = match kafka.create_topics.enabled {
            false => None,
            true => Some((
                Arc::new(
                    client_config(config)?
                        .create()
                        .map_err(|e| setup(format!("cannot create the admin client: {e}")))?,
                ),
                kafka.create_topics.clone(),
            )),
        };
        let mut producer_config = client_config(config)?;
        if durable_buffer {
            producer_config.set("message.timeout.ms", "0");
        }
        let producer: ThreadedProducer<BridgeContext> = producer_config
            .create_with_context(context)
            .map_err(|e| setup(format!("cannot create the producer: {e}")))?;
        info!(
            brokers = %kafka.brokers,
            topic = %kafka.topic,
            compression = kafka.compression.as_str(),
            delivery_timeout = ?config.delivery_timeout,
            durable_buffer,
            dead_letter_topic = kafka.dead_letter_topic.as_deref().unwrap_or(""),
            dead_letter_file = dead_letter.is_configured(),
            "kafka sink: idempotent producer (acks=all) created"
        );
        if kafka.dead_letter_topic.is_none() && !dead_letter.is_configured() {
            warn!(
                "kafka sink: no dead-letter target ([sink.dead_letter] path or \
                 sink.kafka.dead_letter_topic): records with terminal errors will count as lost"
            );
        }
        Ok(KafkaSink {
            inner: Arc::new(Inner {
                producer,
                reachability,
                _stats_reader: stats_reader,
                topic,
                key,
                timestamp: kafka.timestamp,
                admin,
                dead_letter,
                dead_letter_topic: kafka.dead_letter_topic.clone(),
                hold_while_down: kafka.hold_while_down,
                delivery_timeout: config.delivery_timeout,
                report_limit: match durable_buffer {
                    true => None,
                    false => Some(config.delivery_timeout + delivery::REPORT_GRACE),
                },
                encoding: config.encoding,
                registry,
                known_topics: std::sync::Mutex::new(Vec::new()),
                verified_outages: std::sync::atomic::AtomicU64::new(0),
                resent: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// How many times the broker became unreachable after having been reachable.
    pub fn outages(&self) -> u64 {
        self.inner.reachability.outages()
    }
}

/// The `/metrics` counter of records sent again (`delivery.rs`).
pub const RESENT: &str = "tickbridge_sink_resent_total";
const RESENT_HELP: &str = "Records sent again because their delivery timed out after they reached \
     the broker, which may have stored them: Kafka may hold each of these twice (Kafka).";

/// The headers every message carries.
fn headers(content_type: &str) -> OwnedHeaders {
    OwnedHeaders::new_with_capacity(2)
        .insert(Header {
            key: "schema",
            value: Some(SCHEMA_HEADER),
        })
        .insert(Header {
            key: "content-type",
            value: Some(content_type),
        })
}

/// First and longest pause between asks of an unreachable schema registry.
const REGISTRY_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// First and longest pause after a full producer queue.
const QUEUE_FULL_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_millis(100));

impl Inner {
    /// Waits while no broker is reachable: with `hold_while_down`, or `always` (records
    /// sent again after an unanswered delivery, see `delivery.rs`).
    async fn wait_for_broker(self: &Arc<Self>, always: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let verified = self.verified_outages.load(Relaxed);
        if !(self.hold_while_down || always)
            || (self.reachability.can_produce() && self.reachability.outages() == verified)
        {
            return;
        }
        let held = tokio::time::Instant::now();
        // Since when the broker has been reachable in this hold.
        let mut up_since: Option<tokio::time::Instant> = None;
        loop {
            let outages = self.reachability.outages();
            // Reachable and holding its ProducerId: only then does a batch handed
            // over stand a chance before its delivery timeout.
            while !self.reachability.can_produce() {
                up_since = None;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let up_since = *up_since.get_or_insert_with(tokio::time::Instant::now);
            // A restarting broker accepts connections before it leads its partitions
            // again: the held batches go only once it has answered a metadata request
            // that gives every partition of this producer's topics a leader.
            match self.partitions_led().await {
                Ok(()) => {
                    self.verified_outages.store(outages, Relaxed);
                    info!(
                        held_ms = held.elapsed().as_millis() as u64,
                        "kafka: the broker answers with every partition led; handing it the held batches"
                    );
                    return;
                }
                // Bounded: a topic deleted meanwhile must not hold the sink for good;
                // its records then fail (and are counted) as they would have.
                Err(why) if up_since.elapsed() >= MAX_LEADERLESS_HOLD => {
                    self.verified_outages.store(outages, Relaxed);
                    warn!(
                        why,
                        "kafka: the broker is reachable but a partition still has no leader; \
                         handing it the held batches anyway"
                    );
                    return;
                }
                Err(why) => {
                    debug!(
                        why,
                        "kafka: broker connected but not serving yet; still holding"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// One metadata round trip: `Ok` when the broker answered and every partition of
    /// the topics this producer has written to has a leader (any answer at all when
    /// it has written to none yet).
    async fn partitions_led(self: &Arc<Self>) -> Result<(), String> {
        let inner = self.clone();
        tokio::task::spawn_blocking(move || {
            let topics = inner
                .known_topics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let client = inner.producer.client();
            if topics.is_empty() {
                return client
                    .fetch_metadata(None, METADATA_TIMEOUT)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
            }
            for topic in &topics {
                let md = client
                    .fetch_metadata(Some(topic), METADATA_TIMEOUT)
                    .map_err(|e| format!("{topic}: {e}"))?;
                let t = md
                    .topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .ok_or_else(|| format!("{topic}: not in the answer"))?;
                if let Some(e) = t.error() {
                    return Err(format!("{topic}: {e:?}"));
                }
                if let Some(p) = t
                    .partitions()
                    .iter()
                    .find(|p| p.leader() < 0 || p.error().is_some())
                {
                    return Err(format!("{topic} partition {}: no leader", p.id()));
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Hands one batch to librdkafka in order; returns the tracker its delivery
    /// reports (and its refused records) go to.
    async fn send_batch(self: &Arc<Self>, batch: Batch) -> Arc<Reports> {
        let reports = Reports::new(batch.len());
        let mut topic = String::with_capacity(32);
        let mut key = String::with_capacity(48);
        // The batch's distinct topics (a handful): the shared list of known topics is
        // locked once per topic per batch, not per record.
        let mut batch_topics: Vec<String> = Vec::new();
        let mut new_topics: Vec<String> = Vec::new();
        if self.admin.is_some() {
            // Topics are created before their first record reaches librdkafka.
            let mut fresh: Vec<String> = Vec::new();
            for item in &batch.items {
                self.topic.render_into(&item.record, &mut topic);
                if !fresh.contains(&topic) && self.is_new_topic(&topic) {
                    fresh.push(topic.clone());
                }
            }
            if !fresh.is_empty() {
                self.create_topics(fresh).await;
            }
        }
        let content_type = self.encoding.content_type();
        // Schema ids of this batch's (topic, kind) pairs (a handful): the registry's
        // shared cache is asked once per pair per batch, not once per record.
        let mut schema_ids: Vec<(String, tickbridge_schema::Kind, u32)> = Vec::new();
        for mut item in batch.items {
            let r = &item.record;
            self.topic.render_into(r, &mut topic);
            if !batch_topics.contains(&topic) {
                batch_topics.push(topic.clone());
                if self.is_new_topic(&topic) {
                    new_topics.push(topic.clone());
                }
            }
            self.key.render_into(r, &mut key);
            let unpublishable = match (&item.refused, &self.registry) {
                (Some(why), _) => Some(why.clone()),
                (None, Some(registry)) => {
                    let kind = r.kind();
                    let known = schema_ids
                        .iter()
                        .find(|(t, k, _)| *k == kind && *t == topic)
                        .map(|(_, _, id)| *id);
                    let id = match known {
                        Some(id) => Ok(id),
                        None => self.schema_id(registry, &topic, kind).await.inspect(|id| {
                            schema_ids.push((topic.clone(), kind, *id));
                        }),
                    };
                    match id {
                        Ok(id) => {
                            set_schema_id(&mut item.payload, id);
                            None
                        }
                        Err(e) => Some(e.to_string()),
                    }
                }
                (None, None) => None,
            };
            if let Some(why) = unpublishable {
                reports.refused(Failure {
                    error: Cause::Unpublishable(why),
                    topic: topic.clone(),
                    key: Some(key.clone().into_bytes()),
                    payload: item.record.to_json(),
                    timestamp: None,
                    possibly_stored: false,
                });
                continue;
            }
            let r = &item.record;
            let record = BaseRecord::with_opaque_to(&topic, reports.clone())
                .key(key.as_str())
                .payload(item.payload.as_slice())
                .headers(headers(content_type))
                .timestamp(self.timestamp.millis(r));
            if let Err(error) = self.send_backing_off(record).await {
                reports.refused(Failure {
                    error: Cause::Kafka(error),
                    topic: topic.clone(),
                    key: Some(key.clone().into_bytes()),
                    payload: item.payload,
                    timestamp: None,
                    possibly_stored: false,
                });
            }
        }
        if !new_topics.is_empty() {
            self.learn_new_topics(new_topics).await;
        }
        reports
    }

    /// Hands one record to librdkafka, backing off and retrying the same record while
    /// its queue is full; any other refusal is returned (the record will never report).
    async fn send_backing_off<K, P>(
        &self,
        mut record: BaseRecord<'_, K, P, Arc<Reports>>,
    ) -> Result<(), KafkaError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        let mut backoff = QUEUE_FULL_BACKOFF.0;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(QUEUE_FULL_BACKOFF.1);
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Resolves, before the first record, the schema id of every kind whose subject
    /// does not depend on a record's exchange, market or symbol (strategy
    /// `record_name`, or a topic template whose only placeholder is `{kind}`). A
    /// registry that refuses the credentials or a schema, or has none for a kind the
    /// sources produce while `auto_register` is off, fails the start with the reason;
    /// an unreachable one does not (records wait for it, as for a broker).
    async fn prepare_schemas(&self, produced: &[tickbridge_schema::Kind]) -> Result<(), SinkError> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        if registry.strategy.uses_topic() && !self.topic.is_kind_only() {
            return Ok(()); // subjects are known per record: resolved at first use
        }
        for kind in tickbridge_schema::Kind::ALL {
            let topic = self.topic.render_parts(kind.as_str(), "", "", "");
            match registry.id(&topic, kind).await {
                Ok(_) => {}
                Err(e) if e.is_retriable() => {
                    warn!(error = %e, "kafka sink: schema registry unreachable at start; schema ids are resolved when it answers");
                    return Ok(());
                }
                Err(e @ RegistryError::Missing { .. }) if !produced.contains(&kind) => {
                    debug!(error = %e, "kafka sink: no schema for a kind the sources do not produce");
                }
                Err(e) => return Err(setup(e.to_string())),
            }
        }
        Ok(())
    }

    /// The schema id of `kind` on `topic`. While the registry cannot be reached the
    /// batch waits (back-pressure, as for a broker outage) and asks again; an answer
    /// that refuses the schema is final for the record (dead-lettered).
    async fn schema_id(
        &self,
        registry: &Registry,
        topic: &str,
        kind: tickbridge_schema::Kind,
    ) -> Result<u32, RegistryError> {
        let mut backoff = REGISTRY_BACKOFF.0;
        let mut warned = false;
        loop {
            match registry.id(topic, kind).await {
                Err(e) if e.is_retriable() => {
                    if !warned {
                        warn!(error = %e, "kafka sink: schema registry unreachable; holding the batch and retrying");
                        warned = true;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(REGISTRY_BACKOFF.1);
                }
                Err(e) => {
                    error!(error = %e, "kafka sink: the schema registry refuses this kind's schema; its records go to the dead-letter targets");
                    return Err(e);
                }
                Ok(id) => {
                    if warned {
                        info!("kafka sink: schema registry reachable again");
                    }
                    return Ok(id);
                }
            }
        }
    }

    /// The `content-type` header of a dead letter: a record that could not be
    /// encoded is dead-lettered as its JSON.
    pub(super) fn dead_letter_content_type(&self, failure: &Failure) -> &'static str {
        match failure.error {
            Cause::Unpublishable(_) => CONTENT_TYPE,
            Cause::Kafka(_) => self.encoding.content_type(),
        }
    }

    /// Creates the topics of `names` that do not exist yet, then learns their
    /// metadata.
    async fn create_topics(self: &Arc<Self>, names: Vec<String>) {
        if let Some((admin, settings)) = &self.admin {
            admin::ensure(admin, settings, &names).await;
        }
        self.learn_new_topics(names).await;
    }

    fn is_new_topic(&self, topic: &str) -> bool {
        let known = self.known_topics.lock().unwrap_or_else(|p| p.into_inner());
        !known.iter().any(|t| t == topic)
    }

    /// Asks the broker for the metadata of topics this producer just started using,
    /// and waits for the answer (about a millisecond). librdkafka itself learns a new
    /// topic's partitions only at its next one-second topic scan, so without this the
    /// first records of every topic waited up to a second in the producer queue.
    async fn learn_new_topics(self: &Arc<Self>, topics: Vec<String>) {
        let inner = self.clone();
        let asked = tokio::task::spawn_blocking(move || {
            for topic in &topics {
                if let Err(e) = inner
                    .producer
                    .client()
                    .fetch_metadata(Some(topic), METADATA_TIMEOUT)
                {
                    // librdkafka's own scan still finds the topic; this was a head start.
                    debug!(topic, error = %e, "kafka: early metadata request failed");
                }
            }
            topics
        })
        .await;
        if let Ok(topics) = asked {
            let mut known = self.known_topics.lock().unwrap_or_else(|p| p.into_inner());
            known.extend(topics);
        }
    }
}

/// How long a reachable broker whose partitions have no leader keeps the sink held.
const MAX_LEADERLESS_HOLD: Duration = Duration::from_secs(30);

/// The longest wait for the metadata of a new topic (`learn_new_topics`).
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

impl Sink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn dead_letter(&self) -> DeadLetter {
        self.inner.dead_letter.clone()
    }

    // Yielding a future is the contract: enqueue, then hand back the acknowledgements.
    #[allow(clippy::async_yields_async)]
    fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
        Box::pin(async move {
            self.inner.wait_for_broker(false).await;
            let reports = self.inner.send_batch(batch).await;
            let inner = self.inner.clone();
            let acks: Acks = Box::pin(async move { inner.settle(reports).await });
            acks
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            // Every batch's acknowledgements were awaited before close is called, so
            // this normally finds nothing left; it bounds the wait all the same.
            let producer = &self.inner.producer;
            let deadline = tokio::time::Instant::now() + self.inner.delivery_timeout;
            loop {
                let left = producer.in_flight_count();
                if left == 0 {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(SinkError::Close {
                        sink: "kafka",
                        message: format!("{left} messages still unacknowledged at close"),
                    });
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            producer
                .flush(Duration::ZERO)
                .map_err(|e| SinkError::Close {
                    sink: "kafka",
                    message: format!("flush: {e}"),
                })?;
            info!(
                outages = self.inner.reachability.outages(),
                resent = self.inner.resent.load(std::sync::atomic::Ordering::Relaxed),
                "kafka sink: producer flushed"
            );
            Ok(())
        })
    }

    /// Reachable and holding its ProducerId (before that nothing can be produced).
    fn is_connected(&self) -> bool {
        self.inner.reachability.can_produce()
    }

    fn counters(&self) -> Vec<super::SinkCounter> {
        vec![
            super::SinkCounter {
                name: super::OUTAGES,
                help: super::OUTAGES_HELP,
                value: self.inner.reachability.outages(),
            },
            super::SinkCounter {
                name: RESENT,
                help: RESENT_HELP,
                value: self.inner.resent.load(std::sync::atomic::Ordering::Relaxed),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink_config(kafka: &str) -> SinkConfig {
        let text = format!("[sink]\nkind = \"kafka\"\n[sink.kafka]\n{kafka}\n");
        crate::config::Config::parse(&text, "t")
            .unwrap()
            .sinks
            .remove(0)
    }

    #[test]
    fn config_defaults_and_passthrough() {
        let c =
            sink_config("options = { \"linger.ms\" = \"20\", \"batch.num.messages\" = \"500\" }");
        assert_eq!(c.kafka.topic, "md.{kind}");
        assert_eq!(c.kafka.compression, Compression::Lz4);
        assert!(c.kafka.hold_while_down);
        let cc = client_config(&c).unwrap();
        assert_eq!(cc.get("enable.idempotence"), Some("true"));
        assert_eq!(cc.get("acks"), Some("all"));
        assert_eq!(cc.get("compression.type"), Some("lz4"));
        assert_eq!(cc.get("message.timeout.ms"), Some("300000"));
        assert_eq!(cc.get("linger.ms"), Some("20"));
        assert_eq!(cc.get("batch.num.messages"), Some("500"));
    }

    #[test]
    fn partitioner_key_and_timestamp_settings() {
        let c = sink_config(
            "partitioner = \"murmur2_random\"\ntimestamp = \"receive\"\nkey = \"{symbol}\"",
        );
        assert_eq!(
            client_config(&c).unwrap().get("partitioner"),
            Some("murmur2_random")
        );
        assert_eq!(c.kafka.timestamp, TimestampSource::Receive);
        let d = sink_config("");
        assert_eq!(
            client_config(&d).unwrap().get("partitioner"),
            Some("consistent_random")
        );
        assert_eq!(d.kafka.key, "{exchange}.{market}.{symbol}");
        let mut r = tickbridge_schema::Record {
            v: 1,
            exchange: "binance".into(),
            market: tickbridge_schema::Market::Spot,
            symbol: "BTC-USDT".into(),
            native: "BTCUSDT".into(),
            ts_exchange: Some(1_735_689_600_149_999_999),
            ts_recv: 1_735_689_600_151_000_000,
            seq: None,
            id: "x".into(),
            data: tickbridge_schema::Data::Status(tickbridge_schema::Status {
                event: tickbridge_schema::StatusEvent::Connected,
                channel: None,
                reason: None,
                expected: None,
                got: None,
            }),
        };
        assert_eq!(TimestampSource::Event.millis(&r), 1_735_689_600_149);
        assert_eq!(TimestampSource::Receive.millis(&r), 1_735_689_600_151);
        r.ts_exchange = None;
        assert_eq!(TimestampSource::Event.millis(&r), 1_735_689_600_151);
        let key = TopicTemplate::parse_key("{exchange}/{symbol}").unwrap();
        let mut out = String::new();
        key.render_into(&r, &mut out);
        assert_eq!(out, "binance/BTC-USDT");
        let c = sink_config("options = { \"partitioner\" = \"random\" }");
        let err = client_config(&c).unwrap_err().to_string();
        assert!(err.contains("use `partitioner`"), "{err}");
    }

    #[test]
    fn the_guarantee_cannot_be_configured_away() {
        for (opt, want) in [
            ("acks", "always `all`"),
            ("enable.idempotence", "always true"),
            ("message.timeout.ms", "delivery_timeout"),
        ] {
            let c = sink_config(&format!("options = {{ \"{opt}\" = \"1\" }}"));
            let err = client_config(&c).unwrap_err().to_string();
            assert!(err.contains(opt) && err.contains(want), "{err}");
        }
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let err = crate::config::Config::parse("[sink.kafka]\ntopics = \"x\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `topics`"), "{err}");
        let err = crate::config::Config::parse("[sink.kafka]\ncompression = \"brotli\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `brotli`"), "{err}");
    }

    #[tokio::test]
    async fn build_does_not_need_a_broker_and_checks_templates() {
        // Nothing listens on port 1: build succeeds, the sink reports not connected.
        let c = sink_config("brokers = \"127.0.0.1:1\"");
        let sink = KafkaSink::new(&c, DeadLetter::default(), false).unwrap();
        assert!(!sink.is_connected());
        let c = sink_config("topic = \"md.{symbol}\"");
        let err = KafkaSink::new(&c, DeadLetter::default(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("sink.kafka.topic: {symbol} in topic template"),
            "{err}"
        );
        let c = sink_config("dead_letter_topic = \"bad topic\"");
        let err = KafkaSink::new(&c, DeadLetter::default(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sink.kafka.dead_letter_topic"), "{err}");
        let c = sink_config("options = { \"no.such.property\" = \"1\" }");
        let err = KafkaSink::new(&c, DeadLetter::default(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no.such.property"), "{err}");
    }

    fn config_error(text: &str) -> String {
        let c = crate::config::Config::parse(text, "t")
            .unwrap()
            .sinks
            .remove(0);
        crate::sinks::preflight(&c)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn registry_encodings_are_checked_before_start() {
        let registry = "[sink.kafka.schema_registry]\nurl = \"http://127.0.0.1:1\"\n";
        assert_eq!(
            config_error("[sink]\nkind = \"kafka\"\nencoding = \"avro\"\n"),
            "kafka sink: sink.encoding = \"avro\" needs [sink.kafka.schema_registry] with its url"
        );
        assert_eq!(
            config_error(&format!("[sink]\nkind = \"nats\"\nencoding = \"protobuf\"\n{registry}")),
            "nats sink: sink.encoding = \"protobuf\" needs sink.kind = \"kafka\" (values in a schema registry's wire format); the nats sink publishes JSON"
        );
        assert_eq!(
            config_error(&format!(
                "[sink]\nkind = \"kafka\"\nencoding = \"avro\"\n[sink.kafka]\ntopic = \"md.all\"\n{registry}"
            )),
            "kafka sink: sink.kafka.schema_registry.subject_strategy = \"topic_name\" needs {kind} in sink.kafka.topic (\"md.all\"): every kind on one topic would share one subject; use \"record_name\" or \"topic_record_name\""
        );
        let secret = "s3cr3t-REGISTRY-7f";
        let err = config_error(&format!(
            "[sink]\nkind = \"kafka\"\nencoding = \"json_schema\"\n{registry}username = \"key\"\npassword = \"{secret}\"\nca_file = \"/nonexistent.pem\"\n"
        ));
        assert!(
            err.starts_with(
                "kafka sink: sink.kafka.schema_registry.ca_file: cannot read /nonexistent.pem"
            ),
            "{err}"
        );
        assert!(!err.contains(secret));
        // A registry with the JSON encoding is ignored; a good one prints redacted.
        let ok = |text: &str| {
            let c = crate::config::Config::parse(text, "t")
                .unwrap()
                .sinks
                .remove(0);
            crate::sinks::preflight(&c).unwrap().join("\n")
        };
        assert!(!ok(&format!("[sink]\nkind = \"kafka\"\n{registry}")).contains("schema_registry"));
        let lines = ok(&format!(
            "[sink]\nkind = \"kafka\"\nencoding = \"avro\"\n{registry}username = \"key\"\npassword = \"{secret}\"\nsubject_strategy = \"record_name\"\n"
        ));
        assert!(lines.contains("kafka: encoding avro schema_registry http://127.0.0.1:1 subject_strategy record_name auto_register true username key password <redacted>"), "{lines}");
        assert!(!lines.contains(secret));
    }
}

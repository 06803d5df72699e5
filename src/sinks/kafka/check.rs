//! `tickbridge validate --check` for the Kafka sink: connects with the configured
//! security, within a deadline, and says which of reachability, authentication (TLS
//! and SASL) and the topics failed, each with its own exit code.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, NoCustomPartitioner, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use super::context::{security_cause, SecurityFailure};
use super::security::SaslConfig;
use super::topic::TopicTemplate;
use super::{client_config, setup};
use tickbridge_schema::Kind;

use crate::config::SinkConfig;
use crate::sinks::SinkError;

/// What `--check` found wrong, by exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckFailure {
    /// No broker answered within the deadline (exit 3).
    Unreachable(String),
    /// A broker answered and refused the TLS handshake or the credentials (exit 4).
    Refused { cause: String, hint: String },
    /// Topics the config writes to are missing (exit 5).
    MissingTopics(Vec<String>),
    /// The schema registry is unreachable, refuses the credentials, or lacks a
    /// schema (exit 6).
    Registry(String),
}

impl CheckFailure {
    pub fn exit_code(&self) -> u8 {
        match self {
            CheckFailure::Unreachable(_) => 3,
            CheckFailure::Refused { .. } => 4,
            CheckFailure::MissingTopics(_) => 5,
            CheckFailure::Registry(_) => 6,
        }
    }
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckFailure::Unreachable(why) => write!(f, "kafka: no broker reachable: {why}"),
            CheckFailure::Refused { cause, hint } => {
                write!(
                    f,
                    "kafka: the broker refuses the connection: {cause} ({hint})"
                )
            }
            CheckFailure::MissingTopics(t) => write!(
                f,
                "kafka: topics missing: {} (a broker with auto.create.topics.enable creates them \
                 at the first record, with its default partitions and retention)",
                t.join(", ")
            ),
            CheckFailure::Registry(why) => write!(f, "schema registry: {why}"),
        }
    }
}

/// Records librdkafka's errors while the check waits for metadata.
struct CheckContext {
    errors: Mutex<Vec<(Option<RDKafkaErrorCode>, String)>>,
    token_file: Option<SaslConfig>,
}

impl ClientContext for CheckContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn log(&self, _: rdkafka::config::RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors.push((error.rdkafka_error_code(), reason.to_string()));
    }

    fn generate_oauth_token(
        &self,
        _: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        let sasl = self.token_file.as_ref().ok_or("no sasl.token_file")?;
        Ok(super::security::token_now(sasl)?)
    }
}

impl ProducerContext<NoCustomPartitioner> for CheckContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
}

/// Connects to the brokers of `config` and checks that `topics` exist. Returns the
/// lines to print, or what failed.
pub fn check(
    config: &SinkConfig,
    topics: &[String],
    timeout: Duration,
) -> Result<Result<Vec<String>, CheckFailure>, SinkError> {
    let cc = client_config(config)?;
    let context = CheckContext {
        errors: Mutex::new(Vec::new()),
        token_file: config
            .kafka
            .sasl
            .as_ref()
            .filter(|s| s.token_file.is_some())
            .cloned(),
    };
    let producer: BaseProducer<CheckContext> = cc
        .create_with_context(context)
        .map_err(|e| setup(format!("cannot create the producer: {e}")))?;
    let metadata = producer.client().fetch_metadata(None, timeout);
    // Errors arrive through the event queue: poll it once to hear them.
    producer.poll(Duration::from_millis(100));
    let errors = producer
        .context()
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let refused = errors
        .iter()
        .find_map(|(code, reason)| SecurityFailure::of(*code, reason).map(|k| (k, reason)));
    let md = match (metadata, refused) {
        (_, Some((kind, reason))) => {
            return Ok(Err(CheckFailure::Refused {
                cause: security_cause(reason),
                hint: kind.hint().to_string(),
            }))
        }
        (Ok(md), None) => md,
        (Err(e), None) => {
            let why = errors
                .last()
                .map(|(_, r)| security_cause(r))
                .unwrap_or_else(|| e.to_string());
            return Ok(Err(CheckFailure::Unreachable(format!(
                "{why} (within {timeout:?})"
            ))));
        }
    };
    let mut lines = vec![format!(
        "kafka: connected to {} broker(s), authenticated",
        md.brokers().len()
    )];
    let mut missing = Vec::new();
    for topic in topics {
        match md
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
        {
            Some(t) => lines.push(format!(
                "kafka: topic {topic}: {} partition(s)",
                t.partitions().len()
            )),
            None => missing.push(topic.clone()),
        }
    }
    if !missing.is_empty() {
        return Ok(Err(CheckFailure::MissingTopics(missing)));
    }
    Ok(Ok(lines))
}

/// One source as the topic check sees it: exchange, market, the kinds its channels
/// produce, its normalized symbols.
pub type SourceTopics = (String, String, Vec<String>, Vec<String>);

/// The topics a config writes to: every kind its sources' channels produce, and
/// `status`, for each source's exchange × market (× symbol with `{symbol}`).
pub fn topics_of(
    template: &str,
    symbol_topics: bool,
    sources: &[SourceTopics],
) -> Result<Vec<String>, SinkError> {
    let mut out: Vec<String> = Vec::new();
    for (topic, _) in topic_kinds_of(template, symbol_topics, sources)? {
        if !out.contains(&topic) {
            out.push(topic);
        }
    }
    Ok(out)
}

/// Every (topic, kind) pair a config writes, without repeats.
pub fn topic_kinds_of(
    template: &str,
    symbol_topics: bool,
    sources: &[SourceTopics],
) -> Result<Vec<(String, Kind)>, SinkError> {
    let template = TopicTemplate::parse_topic(template, symbol_topics)
        .map_err(|e| setup(format!("sink.kafka.topic: {e}")))?;
    let mut out: Vec<(String, Kind)> = Vec::new();
    for (exchange, market, kinds, symbols) in sources {
        let symbols: Vec<&str> = if template.has_symbol() {
            symbols.iter().map(String::as_str).collect()
        } else {
            vec![""]
        };
        let kinds = kinds
            .iter()
            .filter_map(|k| Kind::parse(k))
            .chain([Kind::Status]);
        for kind in kinds {
            for symbol in &symbols {
                let t = template.render_parts(kind.as_str(), exchange, market, symbol);
                if !out.iter().any(|(o, k)| *o == t && *k == kind) {
                    out.push((t, kind));
                }
            }
        }
    }
    Ok(out)
}

/// `validate --check` of the schema registry: reachable, credentials accepted, and
/// (with `auto_register` off) a schema under every subject the config writes to.
pub async fn registry(
    config: &SinkConfig,
    sources: &[SourceTopics],
) -> Result<Result<Vec<String>, CheckFailure>, SinkError> {
    let Some(registry) = super::registry_of(config)? else {
        return Ok(Ok(Vec::new()));
    };
    let settings = config
        .kafka
        .schema_registry
        .as_ref()
        .expect("registry_of checked it");
    let subjects = match registry.subjects().await {
        Ok(s) => s,
        Err(e) => return Ok(Err(CheckFailure::Registry(e.to_string()))),
    };
    let mut lines = vec![format!(
        "schema registry: reachable, {} subject(s)",
        subjects.len()
    )];
    let mut missing = Vec::new();
    for (topic, kind) in topic_kinds_of(&config.kafka.topic, config.kafka.symbol_topics, sources)? {
        let subject = registry.strategy.subject(&topic, kind);
        if subjects.contains(&subject) {
            lines.push(format!("schema registry: subject {subject}: present"));
        } else if settings.auto_register {
            lines.push(format!(
                "schema registry: subject {subject}: registered at start"
            ));
        } else if !missing.contains(&subject) {
            missing.push(subject);
        }
    }
    if !missing.is_empty() {
        return Ok(Err(CheckFailure::Registry(format!(
            "no schema under subject(s) {} and auto_register is off",
            missing.join(", ")
        ))));
    }
    Ok(Ok(lines))
}

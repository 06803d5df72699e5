//! `[sink.kafka.create_topics]`: topics created on first use with the configured
//! partitions, replication, retention and cleanup policy (Kafka's admin API), and
//! topics that already exist checked against those settings, a mismatch warned about
//! (never altered: a running topic's settings are its owner's to change).
//!
//! ```toml
//! [sink.kafka.create_topics]
//! enabled = true
//! partitions = 6              # default: the broker's num.partitions
//! replication = 3             # default: the broker's default.replication.factor
//! retention = "7d"            # retention.ms; default: the broker's
//! cleanup_policy = "delete"   # delete | compact | compact_delete; default: the broker's
//! ```

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;
use tracing::{info, warn};

/// `[sink.kafka.create_topics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTopics {
    /// Create a topic the first time a record goes to it, if it does not exist.
    #[serde(default)]
    pub enabled: bool,
    /// Partitions of a created topic; `-1`: the broker's `num.partitions`.
    #[serde(default = "broker_default")]
    pub partitions: i32,
    /// Replication factor of a created topic; `-1`: the broker's default.
    #[serde(default = "broker_default")]
    pub replication: i32,
    /// `retention.ms` of a created topic, e.g. `"7d"`; default: the broker's.
    #[serde(default, deserialize_with = "crate::config::optional_duration")]
    pub retention: Option<Duration>,
    /// `cleanup.policy` of a created topic; default: the broker's.
    #[serde(default)]
    pub cleanup_policy: Option<CleanupPolicy>,
}

impl Default for CreateTopics {
    fn default() -> Self {
        CreateTopics {
            enabled: false,
            partitions: broker_default(),
            replication: broker_default(),
            retention: None,
            cleanup_policy: None,
        }
    }
}

fn broker_default() -> i32 {
    -1
}

/// Kafka's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    Delete,
    Compact,
    CompactDelete,
}

impl CleanupPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }
}

impl CreateTopics {
    /// What is wrong with the settings: the field and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.partitions == 0 || self.partitions < -1 {
            return Err((
                "partitions".into(),
                "must be at least 1 (or -1: the broker's default)".into(),
            ));
        }
        if self.replication == 0 || self.replication < -1 {
            return Err((
                "replication".into(),
                "must be at least 1 (or -1: the broker's default)".into(),
            ));
        }
        if self.retention.is_some_and(|r| r.is_zero()) {
            return Err(("retention".into(), "must be above zero".into()));
        }
        Ok(())
    }

    /// The topic configs a created topic gets (and an existing one is checked for).
    fn configs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(r) = self.retention {
            out.push(("retention.ms", r.as_millis().to_string()));
        }
        if let Some(p) = self.cleanup_policy {
            out.push(("cleanup.policy", p.as_str().to_string()));
        }
        out
    }
}

/// How long one admin request may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates the topics of `names` that do not exist, and checks those that do against
/// the settings. Returns the names that exist now (created or found).
pub async fn ensure(
    admin: &Arc<AdminClient<DefaultClientContext>>,
    settings: &CreateTopics,
    names: &[String],
) -> Vec<String> {
    let configs = settings.configs();
    let new: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            configs.iter().fold(
                NewTopic::new(
                    name,
                    settings.partitions,
                    TopicReplication::Fixed(settings.replication),
                ),
                |t, (k, v)| t.set(k, v),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let results = match admin.create_topics(&new, &options).await {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, topics = ?names, "kafka: could not create the topics (the broker's auto-creation, if on, still applies)");
            return Vec::new();
        }
    };
    let mut ready = Vec::new();
    let mut existing = Vec::new();
    for result in results {
        match result {
            Ok(name) => {
                info!(
                    topic = %name,
                    partitions = settings.partitions,
                    replication = settings.replication,
                    configs = ?configs,
                    "kafka: topic created"
                );
                ready.push(name);
            }
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                existing.push(name.clone());
                ready.push(name);
            }
            Err((name, code)) => {
                warn!(topic = %name, error = %code, "kafka: could not create the topic")
            }
        }
    }
    if !existing.is_empty() {
        verify(admin, settings, &existing).await;
    }
    ready
}

/// Warns about each existing topic whose partitions, retention or cleanup policy
/// differ from the settings.
async fn verify(
    admin: &Arc<AdminClient<DefaultClientContext>>,
    settings: &CreateTopics,
    names: &[String],
) {
    let want = settings.configs();
    if !want.is_empty() {
        let resources: Vec<ResourceSpecifier> =
            names.iter().map(|n| ResourceSpecifier::Topic(n)).collect();
        let options = AdminOptions::new().request_timeout(Some(ADMIN_TIMEOUT));
        match admin.describe_configs(&resources, &options).await {
            Ok(described) => {
                for (name, resource) in names.iter().zip(described) {
                    let Ok(resource) = resource else { continue };
                    for (key, value) in &want {
                        let have = resource.get(key).and_then(|e| e.value.clone());
                        if have.as_deref() != Some(value.as_str()) {
                            warn!(
                                topic = %name,
                                setting = key,
                                have = have.as_deref().unwrap_or("-"),
                                want = %value,
                                "kafka: an existing topic differs from [sink.kafka.create_topics] (left as it is)"
                            );
                        }
                    }
                }
            }
            Err(e) => warn!(error = %e, "kafka: could not read the existing topics' settings"),
        }
    }
    if settings.partitions > 0 {
        // A blocking metadata round trip: off the runtime's worker threads.
        let client = admin.clone();
        let metadata =
            tokio::task::spawn_blocking(move || client.inner().fetch_metadata(None, ADMIN_TIMEOUT))
                .await;
        if let Ok(Ok(md)) = metadata {
            for t in md
                .topics()
                .iter()
                .filter(|t| names.iter().any(|n| n == t.name()))
            {
                let have = t.partitions().len() as i32;
                if have != settings.partitions {
                    warn!(
                        topic = t.name(),
                        setting = "partitions",
                        have,
                        want = settings.partitions,
                        "kafka: an existing topic differs from [sink.kafka.create_topics] (left as it is)"
                    );
                }
            }
        }
    }
}

//! Leadership of a shard, held through Kafka's own group coordination and nothing
//! else: every replica of shard `i` joins the consumer group `<group>.shard-<i>` on
//! the one-partition topic `<group>.leadership`, and the member the group assigns that
//! partition to is the leader. Nothing is ever written to the topic; the group is the
//! lock.
//!
//! - A replica that stops (SIGTERM) leaves the group after its drain, and the
//!   coordinator hands the partition to a standby at once.
//! - A replica that dies stops heartbeating: the coordinator hands the partition on
//!   after `session.timeout.ms` (6 s, the broker's default minimum).
//! - The cooperative-sticky assignor keeps the partition where it is when a member
//!   joins, so a new standby does not interrupt the leader.
//!
//! The consumer is polled on a blocking thread of the run's task tracker; its
//! rebalance callback sets a `watch` the gate reads.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// Why leadership could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LeadershipError {
    #[error("cluster leadership: {0}")]
    Kafka(String),
    #[error(
        "cluster leadership: topic {topic:?} has {partitions} partitions; it must have exactly 1 \
         (its one partition's owner is the leader)"
    )]
    Partitions { topic: String, partitions: usize },
}

/// This replica's leadership of its shard.
#[derive(Clone)]
pub struct Leadership {
    /// True while this replica holds the shard's partition.
    pub is_leader: watch::Receiver<bool>,
    /// Times this replica became leader.
    pub takeovers: Arc<AtomicU64>,
}

/// Sets the leader flag from the group's rebalances.
struct LeaderContext {
    leader: watch::Sender<bool>,
    takeovers: Arc<AtomicU64>,
    group: String,
}

impl ClientContext for LeaderContext {}

impl ConsumerContext for LeaderContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) if tpl.count() > 0 => {
                info!(group = %self.group, "cluster: this replica holds the shard's leadership");
                self.takeovers.fetch_add(1, Relaxed);
                self.leader.send_replace(true);
            }
            Rebalance::Revoke(tpl) if tpl.count() > 0 => {
                info!(group = %self.group, "cluster: this replica no longer holds the shard's leadership");
                self.leader.send_replace(false);
            }
            Rebalance::Error(e) => {
                warn!(group = %self.group, error = %e, "cluster: leadership rebalance failed");
            }
            _ => {}
        }
    }
}

/// How long the consumer may go unheard before the group hands its partition on:
/// the broker's default `group.min.session.timeout.ms`.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

impl Leadership {
    /// Joins the shard's group (creating the one-partition topic if it is missing)
    /// on a blocking thread of `tracker`, which polls until `stop` is cancelled and
    /// then leaves the group. `client` holds the sink's brokers and security.
    pub async fn join(
        client: ClientConfig,
        topic: String,
        group_id: String,
        tracker: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<Leadership, LeadershipError> {
        ensure_topic(&client, &topic).await?;
        let (leader, is_leader) = watch::channel(false);
        let takeovers = Arc::new(AtomicU64::new(0));
        let context = LeaderContext {
            leader,
            takeovers: takeovers.clone(),
            group: group_id.clone(),
        };
        let consumer: BaseConsumer<LeaderContext> = client
            .clone()
            .set("group.id", &group_id)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set(
                "session.timeout.ms",
                SESSION_TIMEOUT.as_millis().to_string(),
            )
            .set("heartbeat.interval.ms", "1000")
            .set("enable.auto.commit", "false")
            .set("allow.auto.create.topics", "false")
            .create_with_context(context)
            .map_err(|e| {
                LeadershipError::Kafka(format!("cannot create the group consumer: {e}"))
            })?;
        consumer
            .subscribe(&[&topic])
            .map_err(|e| LeadershipError::Kafka(format!("cannot join group {group_id}: {e}")))?;
        info!(group = %group_id, %topic, "cluster: joined the shard's leadership group; standing by until it assigns this replica the partition");
        tracker.spawn_blocking(move || {
            while !stop.is_cancelled() {
                // Rebalance callbacks run inside poll; the topic stays empty.
                let _ = consumer.poll(Duration::from_millis(100));
            }
            consumer.unsubscribe();
            // Dropping the consumer closes it: it leaves the group, so a standby takes
            // over without waiting for the session timeout.
            drop(consumer);
            info!(group = %group_id, "cluster: left the shard's leadership group");
        });
        Ok(Leadership {
            is_leader,
            takeovers,
        })
    }
}

/// Creates `topic` with one partition if it does not exist, and checks that it has
/// exactly one.
async fn ensure_topic(client: &ClientConfig, topic: &str) -> Result<(), LeadershipError> {
    let admin: AdminClient<DefaultClientContext> = client
        .create()
        .map_err(|e| LeadershipError::Kafka(format!("cannot create the admin client: {e}")))?;
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(-1));
    let created = admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .map_err(|e| LeadershipError::Kafka(format!("cannot create topic {topic:?}: {e}")))?;
    for result in created {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => {
                return Err(LeadershipError::Kafka(format!(
                    "cannot create topic {t:?}: {e}"
                )))
            }
        }
    }
    let topic_owned = topic.to_string();
    let partitions = tokio::task::spawn_blocking(move || {
        admin
            .inner()
            .fetch_metadata(Some(&topic_owned), Duration::from_secs(10))
            .map(|md| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == topic_owned)
                    .map_or(0, |t| t.partitions().len())
            })
    })
    .await
    .map_err(|e| LeadershipError::Kafka(e.to_string()))?
    .map_err(|e| LeadershipError::Kafka(format!("metadata of {topic:?}: {e}")))?;
    if partitions != 1 {
        return Err(LeadershipError::Partitions {
            topic: topic.to_string(),
            partitions,
        });
    }
    Ok(())
}

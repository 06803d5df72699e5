//! Settling one batch: await every delivery report, classify the errors, send the
//! terminal ones to the dead-letter targets, and count what became of each record.

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{error, warn};

use super::{headers, Inner, QUEUE_FULL_BACKOFF};
use crate::sinks::BatchOutcome;

/// One record of a batch after `send_result`.
pub(super) enum Pending {
    /// Accepted by librdkafka; the delivery report will tell.
    InFlight(DeliveryFuture),
    /// Refused at once (e.g. larger than `message.max.bytes`).
    Refused {
        error: KafkaError,
        topic: String,
        key: String,
        json: Vec<u8>,
    },
}

/// What a definite delivery error means for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Retrying cannot help: dead-letter it.
    Terminal,
    /// Retries ran out (timeout) or the producer failed: the record is lost.
    Failed,
}

/// Classifies a definite delivery error. librdkafka has already retried the
/// retriable ones until `message.timeout.ms`, so what reaches here is final.
pub(super) fn classify(error: &KafkaError) -> Class {
    use RDKafkaErrorCode::*;
    match error.rdkafka_error_code() {
        Some(
            MessageSizeTooLarge
            | InvalidMessageSize
            | MessageBatchTooLarge
            | UnknownTopicOrPartition
            | UnknownTopic
            | UnknownPartition
            | UnknownTopicId
            | InvalidTopic
            | TopicAuthorizationFailed
            | ClusterAuthorizationFailed
            | InvalidRecord
            | PolicyViolation
            | UnsupportedForMessageFormat
            | BadMessage
            | InvalidArgument,
        ) => Class::Terminal,
        _ => Class::Failed,
    }
}

/// A record that failed with a terminal error.
struct DeadLetterItem {
    error: String,
    topic: String,
    key: Option<Vec<u8>>,
    json: Vec<u8>,
}

impl Inner {
    /// Awaits every delivery report of one batch and accounts for every record.
    pub(super) async fn settle(&self, pending: Vec<Pending>) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut terminal = Vec::new();
        let mut first_failure: Option<String> = None;
        for p in pending {
            let (error, item) = match p {
                Pending::InFlight(report) => match report.await {
                    Ok(Ok(_)) => {
                        outcome.delivered += 1;
                        continue;
                    }
                    Ok(Err((error, message))) => {
                        let item = DeadLetterItem {
                            error: format!("topic {}: {error}", message.topic()),
                            topic: message.topic().to_string(),
                            key: message.key().map(<[u8]>::to_vec),
                            json: message.payload().unwrap_or_default().to_vec(),
                        };
                        (error, item)
                    }
                    Err(_canceled) => {
                        outcome.failed += 1;
                        first_failure.get_or_insert_with(|| "the producer was dropped".to_string());
                        continue;
                    }
                },
                Pending::Refused {
                    error,
                    topic,
                    key,
                    json,
                } => {
                    let item = DeadLetterItem {
                        error: format!("topic {topic}: {error}"),
                        topic,
                        key: Some(key.into_bytes()),
                        json,
                    };
                    (error, item)
                }
            };
            match classify(&error) {
                Class::Terminal => terminal.push(item),
                Class::Failed => {
                    outcome.failed += 1;
                    first_failure.get_or_insert(item.error);
                }
            }
        }
        if outcome.delivered > 0 {
            self.reachability.mark_up("delivery report");
        }
        if !terminal.is_empty() {
            let n = terminal.len() as u64;
            let first = terminal[0].error.clone();
            let taken = self.dead_letter_all(terminal).await;
            outcome.dead_lettered += taken;
            outcome.failed += n - taken;
            warn!(
                dead_lettered = taken,
                lost = n - taken,
                error = %first,
                "kafka: records failed with a terminal error and went to the dead-letter target"
            );
        }
        if let Some(e) = first_failure {
            error!(
                failed = outcome.failed,
                error = %e,
                "kafka: records could not be delivered within the delivery timeout"
            );
        }
        outcome
    }

    /// Sends dead letters to the topic and/or the file; returns how many were taken
    /// by at least one target.
    async fn dead_letter_all(&self, items: Vec<DeadLetterItem>) -> u64 {
        let mut to_topic = Vec::with_capacity(items.len());
        if let Some(dlq) = &self.dead_letter_topic {
            for item in &items {
                to_topic.push(self.send_dead_letter(dlq, item).await);
            }
        }
        let mut taken = 0;
        for (i, item) in items.iter().enumerate() {
            let in_topic = match to_topic.get_mut(i).and_then(Option::take) {
                Some(report) => match report.await {
                    Ok(Ok(_)) => true,
                    Ok(Err((e, _))) => {
                        warn!(error = %e, "kafka: the dead-letter topic refused a record");
                        false
                    }
                    Err(_) => false,
                },
                None => false,
            };
            let in_file = self.dead_letter.write("kafka", &item.error, &item.json);
            if in_topic || in_file {
                taken += 1;
            }
        }
        taken
    }

    /// Enqueues one dead letter on the DLQ topic (backing off while the queue is full).
    async fn send_dead_letter(&self, dlq: &str, item: &DeadLetterItem) -> Option<DeliveryFuture> {
        let mut record = FutureRecord::to(dlq)
            .payload(item.json.as_slice())
            .headers(dead_letter_headers(&item.error, &item.topic));
        if let Some(key) = &item.key {
            record = record.key(key.as_slice());
        }
        let mut backoff = QUEUE_FULL_BACKOFF.0;
        loop {
            match self.producer.send_result(record) {
                Ok(report) => return Some(report),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(QUEUE_FULL_BACKOFF.1);
                }
                Err((e, _)) => {
                    warn!(error = %e, topic = dlq, "kafka: cannot enqueue a dead letter");
                    return None;
                }
            }
        }
    }
}

fn dead_letter_headers(error: &str, topic: &str) -> OwnedHeaders {
    headers()
        .insert(Header {
            key: "error",
            value: Some(error),
        })
        .insert(Header {
            key: "topic",
            value: Some(topic),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_errors_are_told_from_lost_ones() {
        let p = |c| KafkaError::MessageProduction(c);
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::InvalidRecord,
            RDKafkaErrorCode::UnknownTopic,
        ] {
            assert_eq!(classify(&p(code)), Class::Terminal, "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::PurgeInflight,
            RDKafkaErrorCode::Fatal,
            RDKafkaErrorCode::NotEnoughReplicas,
        ] {
            assert_eq!(classify(&p(code)), Class::Failed, "{code:?}");
        }
    }
}

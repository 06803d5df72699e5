//! Settling one batch: count every delivery report, classify the errors, send the
//! terminal ones to the dead-letter targets, and count what became of each record.
//!
//! A batch's records share one [`Reports`] (the delivery opaque of each message is an
//! `Arc` of it): librdkafka's polling thread adds each report to it, and the batch's
//! acknowledgement future waits until every record has reported. One shared counter
//! per batch instead of a channel and a future per record keeps the per-message cost
//! of the acknowledgement to an atomic decrement.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::Notify;
use tracing::{error, warn};

use super::{headers, Inner, QUEUE_FULL_BACKOFF};
use crate::sinks::{BatchOutcome, Encoding};

/// How long past the delivery timeout a batch waits for reports librdkafka owes
/// before it counts the missing ones as failed. librdkafka reports every message
/// within `message.timeout.ms`; this only bounds the wait should it ever not.
const REPORT_GRACE: Duration = Duration::from_secs(30);

/// A record that failed for good, as the dead-letter targets need it.
pub struct Failure {
    pub error: Cause,
    pub topic: String,
    pub key: Option<Vec<u8>>,
    /// The value as it was (or would have been) published; for
    /// [`Cause::Unpublishable`] the record's JSON.
    pub payload: Vec<u8>,
}

/// Why a record failed.
pub enum Cause {
    /// librdkafka's error (a delivery report or a refused enqueue).
    Kafka(KafkaError),
    /// The record could not be made into a value at all (an encoding that cannot
    /// carry it exactly, a schema the registry refuses): retrying cannot help.
    Unpublishable(String),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Kafka(e) => write!(f, "{e}"),
            Cause::Unpublishable(why) => f.write_str(why),
        }
    }
}

/// `topic <topic>: <error>`, as logs and dead letters name the failure.
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "topic {}: {}", self.topic, self.error)
    }
}

/// The delivery reports of one batch (or one dead letter), filled in by the
/// producer's polling thread.
pub struct Reports {
    /// Records not reported yet.
    remaining: AtomicUsize,
    delivered: AtomicU64,
    /// Records whose report was an error, and records refused at enqueue time.
    failures: Mutex<Vec<Failure>>,
    /// Notified once `remaining` reaches zero.
    done: Notify,
}

impl Reports {
    /// A tracker expecting `records` reports.
    pub fn new(records: usize) -> Arc<Reports> {
        Arc::new(Reports {
            remaining: AtomicUsize::new(records),
            delivered: AtomicU64::new(0),
            failures: Mutex::new(Vec::new()),
            done: Notify::new(),
        })
    }

    /// One delivery report (called on the producer's polling thread).
    pub fn report(&self, result: &DeliveryResult<'_>) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => self.push_failure(Failure {
                error: Cause::Kafka(error.clone()),
                topic: message.topic().to_string(),
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().unwrap_or_default().to_vec(),
            }),
        }
        self.one_done();
    }

    /// A record librdkafka refused at once: it will never report.
    pub fn refused(&self, failure: Failure) {
        self.push_failure(failure);
        self.one_done();
    }

    fn push_failure(&self, failure: Failure) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(failure);
    }

    fn one_done(&self) {
        // AcqRel: the waiter that sees zero also sees every count and failure.
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            // notify_one keeps a permit when nobody waits yet, so no wake-up is lost.
            self.done.notify_one();
        }
    }

    /// Waits until every record reported or `limit` passed; returns the records
    /// still unreported (0 normally).
    async fn wait(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = self.remaining.load(Ordering::Acquire);
            if left == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, self.done.notified())
                .await
                .is_err()
            {
                return self.remaining.load(Ordering::Acquire);
            }
        }
    }

    fn take_failures(&self) -> Vec<Failure> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()))
    }
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
pub(super) fn classify(error: &Cause) -> Class {
    use RDKafkaErrorCode::*;
    let error = match error {
        Cause::Kafka(e) => e,
        Cause::Unpublishable(_) => return Class::Terminal,
    };
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

impl Inner {
    /// Awaits every delivery report of one batch and accounts for every record.
    pub(super) async fn settle(&self, reports: Arc<Reports>) -> BatchOutcome {
        let unreported = reports.wait(self.delivery_timeout + REPORT_GRACE).await as u64;
        let mut outcome = BatchOutcome {
            delivered: reports.delivered.load(Ordering::Relaxed),
            failed: unreported,
            ..BatchOutcome::default()
        };
        if unreported > 0 {
            error!(
                unreported,
                "kafka: librdkafka did not report these records within the delivery \
                 timeout; counted as failed"
            );
        }
        // A delivery report does not reopen a held sink: it may acknowledge a produce
        // from before the outage began (an incidental report while the broker is
        // already gone). Only the statistics' broker state does (`context.rs`).
        let mut terminal = Vec::new();
        let mut first_failure: Option<String> = None;
        for failure in reports.take_failures() {
            match classify(&failure.error) {
                Class::Terminal => terminal.push(failure),
                Class::Failed => {
                    outcome.failed += 1;
                    first_failure.get_or_insert_with(|| failure.to_string());
                }
            }
        }
        if !terminal.is_empty() {
            let n = terminal.len() as u64;
            let first = terminal[0].to_string();
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
    async fn dead_letter_all(&self, items: Vec<Failure>) -> u64 {
        // One tracker per dead letter: whether each one reached the topic.
        let mut to_topic = Vec::with_capacity(items.len());
        if let Some(dlq) = &self.dead_letter_topic {
            for item in &items {
                to_topic.push(self.send_dead_letter(dlq, item).await);
            }
        }
        let mut taken = 0;
        for (i, item) in items.iter().enumerate() {
            let in_topic = match to_topic.get(i).and_then(Option::as_ref) {
                Some(report) => {
                    let unreported = report.wait(self.delivery_timeout + REPORT_GRACE).await;
                    let ok = unreported == 0 && report.delivered.load(Ordering::Relaxed) == 1;
                    if let Some(f) = report.take_failures().pop() {
                        warn!(error = %f.error, "kafka: the dead-letter topic refused a record");
                    }
                    ok
                }
                None => false,
            };
            let error = item.to_string();
            let in_file = match (&item.error, self.encoding) {
                (Cause::Unpublishable(_), _) | (_, Encoding::Json) => {
                    self.dead_letter.write("kafka", &error, &item.payload)
                }
                (_, encoding) => self.dead_letter.write_encoded(
                    "kafka",
                    &error,
                    encoding.as_str(),
                    &item.payload,
                ),
            };
            if in_topic || in_file {
                taken += 1;
            }
        }
        taken
    }

    /// Enqueues one dead letter on the DLQ topic (backing off while the queue is
    /// full); returns its report tracker, or `None` when it could not be enqueued.
    async fn send_dead_letter(&self, dlq: &str, item: &Failure) -> Option<Arc<Reports>> {
        let reports = Reports::new(1);
        let error = item.to_string();
        let mut record = BaseRecord::with_opaque_to(dlq, reports.clone())
            .payload(item.payload.as_slice())
            .headers(dead_letter_headers(
                self.dead_letter_content_type(item),
                &error,
                &item.topic,
            ));
        if let Some(key) = &item.key {
            record = record.key(key.as_slice());
        }
        let mut backoff = QUEUE_FULL_BACKOFF.0;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Some(reports),
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

fn dead_letter_headers(content_type: &str, error: &str, topic: &str) -> OwnedHeaders {
    headers(content_type)
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
        let p = |c| Cause::Kafka(KafkaError::MessageProduction(c));
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
        assert_eq!(
            classify(&Cause::Unpublishable("no schema".into())),
            Class::Terminal
        );
    }

    fn refused(n: u8) -> Failure {
        Failure {
            error: Cause::Kafka(KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageSizeTooLarge,
            )),
            topic: "t".into(),
            key: None,
            payload: vec![n],
        }
    }

    #[tokio::test]
    async fn a_batch_settles_when_its_last_record_reports() {
        let reports = Reports::new(3);
        reports.refused(refused(1));
        assert_eq!(reports.wait(Duration::from_millis(20)).await, 2);
        // The waiter is parked before the last reports arrive (no task is spawned:
        // both run in this test's future).
        let last_reports = async {
            tokio::task::yield_now().await;
            reports.refused(refused(2));
            reports.refused(refused(3));
        };
        let (left, ()) = tokio::join!(reports.wait(Duration::from_secs(10)), last_reports);
        assert_eq!(left, 0);
        let failures = reports.take_failures();
        assert_eq!(
            failures.iter().map(|f| f.payload[0]).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Reported before anyone waited: the wait returns at once.
        let early = Reports::new(1);
        early.refused(refused(4));
        assert_eq!(early.wait(Duration::from_secs(10)).await, 0);
    }
}

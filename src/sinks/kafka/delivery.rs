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

use super::{headers, Inner};
use crate::sinks::{BatchOutcome, Encoding};

/// How long past the delivery timeout a batch waits for reports librdkafka owes
/// before it counts the missing ones as failed. librdkafka reports every message
/// within `message.timeout.ms`; this only bounds the wait should it ever not.
pub(super) const REPORT_GRACE: Duration = Duration::from_secs(30);

/// The pause between two rounds of sending unconfirmed records again.
const RESEND_PAUSE: Duration = Duration::from_secs(1);

/// A record that failed for good, as the dead-letter targets need it.
pub struct Failure {
    pub error: Cause,
    pub topic: String,
    pub key: Option<Vec<u8>>,
    /// The value as it was (or would have been) published; for
    /// [`Cause::Unpublishable`] the record's JSON.
    pub payload: Vec<u8>,
    /// The message's timestamp (ms), to send it again as it was.
    pub timestamp: Option<i64>,
    /// librdkafka's message status said the broker may have stored it: the request
    /// went out and no answer came (`RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED`).
    pub possibly_stored: bool,
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
                timestamp: message.timestamp().to_millis(),
                possibly_stored: possibly_stored(message),
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

    /// Waits until every record reported or `limit` passed (no limit: until every
    /// record reported); returns the records still unreported (0 normally).
    async fn wait(&self, limit: Option<Duration>) -> usize {
        let deadline = limit.map(|limit| tokio::time::Instant::now() + limit);
        loop {
            let left = self.remaining.load(Ordering::Acquire);
            if left == 0 {
                return 0;
            }
            match deadline {
                None => self.done.notified().await,
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, self.done.notified())
                        .await
                        .is_err()
                    {
                        return self.remaining.load(Ordering::Acquire);
                    }
                }
            }
        }
    }

    fn take_failures(&self) -> Vec<Failure> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Whether librdkafka says the broker may hold `message` although its delivery
/// failed: it was sent and no answer came before the timeout (or the connection
/// went). Only then can a failed record be in the topic; one never sent, or refused
/// by the broker, is not.
fn possibly_stored(message: &rdkafka::message::BorrowedMessage<'_>) -> bool {
    use rdkafka::bindings::{rd_kafka_message_status, rd_kafka_msg_status_t};
    // SAFETY: the pointer is the live message of this delivery report, borrowed for
    // the call; rd_kafka_message_status only reads its status field.
    let status = unsafe { rd_kafka_message_status(message.ptr()) };
    status == rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED
}

/// What a definite delivery error means for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Retrying cannot help: dead-letter it.
    Terminal,
    /// Retries ran out (timeout) or the producer failed: the record is lost.
    Failed,
    /// Retries ran out, but the broker may have stored the record before it went
    /// away: counting it lost could be false, so it is sent again once the broker
    /// is back (Kafka may then hold it twice; consumers dedup by `id`).
    Unconfirmed,
}

/// Classifies a failed record. librdkafka has already retried the retriable errors
/// until `message.timeout.ms`, so what reaches here is final, except for a record
/// the broker may hold: that one is [`Class::Unconfirmed`].
pub(super) fn classify(failure: &Failure) -> Class {
    match classify_error(&failure.error) {
        Class::Failed if failure.possibly_stored => Class::Unconfirmed,
        class => class,
    }
}

fn classify_error(error: &Cause) -> Class {
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
    pub(super) async fn settle(self: &Arc<Self>, reports: Arc<Reports>) -> BatchOutcome {
        let (mut outcome, unconfirmed) = self.tally(&reports, false).await;
        if !unconfirmed.is_empty() {
            let resent = self.resend_unconfirmed(unconfirmed).await;
            outcome.delivered += resent.delivered;
            outcome.dead_lettered += resent.dead_lettered;
            outcome.failed += resent.failed;
        }
        outcome
    }

    /// Waits for the reports of `reports`, dead-letters the terminal failures and
    /// counts the rest; returns the outcome and the records the broker may hold
    /// (for [`Inner::resend_unconfirmed`]): with `copies` (records sent again) every
    /// failure not terminal, since the first copy may be in the topic.
    async fn tally(&self, reports: &Reports, copies: bool) -> (BatchOutcome, Vec<Failure>) {
        let unreported = reports.wait(self.report_limit).await as u64;
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
        let mut unconfirmed = Vec::new();
        let mut first_failure: Option<String> = None;
        for failure in reports.take_failures() {
            match classify(&failure) {
                Class::Terminal => terminal.push(failure),
                Class::Unconfirmed => unconfirmed.push(failure),
                Class::Failed if copies => unconfirmed.push(failure),
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
        (outcome, unconfirmed)
    }

    /// Sends records whose delivery timed out after they reached the broker again,
    /// once the broker answers (with or without `hold_while_down`), until each is
    /// acknowledged or refused for good. Counting them lost could be false (the
    /// broker may have stored them before it went away), so they are never counted
    /// lost here: a copy that times out unsent leaves the first one as unconfirmed
    /// as it was. The drain deadline ends the rounds (the publisher then counts the
    /// batch lost in flight). The copies may land after later records of their key.
    async fn resend_unconfirmed(self: &Arc<Self>, mut records: Vec<Failure>) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let mut round = 0u32;
        while !records.is_empty() {
            round += 1;
            warn!(
                records = records.len(),
                round,
                error = %records[0],
                "kafka: records timed out after reaching the broker without an answer (it may \
                 hold them); sending them again once it answers (Kafka may then hold them twice)"
            );
            if round > 1 {
                tokio::time::sleep(RESEND_PAUSE).await;
            }
            self.wait_for_broker(true).await;
            self.resent
                .fetch_add(records.len() as u64, Ordering::Relaxed);
            let reports = Reports::new(records.len());
            let content_type = self.encoding.content_type();
            for failure in records.drain(..) {
                let mut record = BaseRecord::with_opaque_to(&failure.topic, reports.clone())
                    .payload(failure.payload.as_slice())
                    .headers(headers(content_type));
                if let Some(key) = &failure.key {
                    record = record.key(key.as_slice());
                }
                if let Some(ts) = failure.timestamp {
                    record = record.timestamp(ts);
                }
                if let Err(error) = self.send_backing_off(record).await {
                    reports.refused(Failure {
                        error: Cause::Kafka(error),
                        ..failure
                    });
                }
            }
            let (got, again) = self.tally(&reports, true).await;
            outcome.delivered += got.delivered;
            outcome.dead_lettered += got.dead_lettered;
            // Only records librdkafka never reported on (beyond its own timeout).
            outcome.failed += got.failed;
            records = again;
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
                    let unreported = report
                        .wait(Some(self.delivery_timeout + REPORT_GRACE))
                        .await;
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
        match self.send_backing_off(record).await {
            Ok(()) => Some(reports),
            Err(e) => {
                warn!(error = %e, topic = dlq, "kafka: cannot enqueue a dead letter");
                None
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

    fn failure(error: Cause, possibly_stored: bool) -> Failure {
        Failure {
            error,
            topic: "t".into(),
            key: None,
            payload: vec![0],
            timestamp: None,
            possibly_stored,
        }
    }

    #[test]
    fn terminal_errors_are_told_from_lost_and_unconfirmed_ones() {
        let p = |c, stored| failure(Cause::Kafka(KafkaError::MessageProduction(c)), stored);
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::InvalidRecord,
            RDKafkaErrorCode::UnknownTopic,
        ] {
            // Refused by the broker: not stored, whatever the status says.
            assert_eq!(classify(&p(code, false)), Class::Terminal, "{code:?}");
            assert_eq!(classify(&p(code, true)), Class::Terminal, "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::PurgeInflight,
            RDKafkaErrorCode::Fatal,
            RDKafkaErrorCode::NotEnoughReplicas,
        ] {
            assert_eq!(classify(&p(code, false)), Class::Failed, "{code:?}");
            // Sent and unanswered: the broker may hold it, so it is not lost yet.
            assert_eq!(classify(&p(code, true)), Class::Unconfirmed, "{code:?}");
        }
        assert_eq!(
            classify(&failure(Cause::Unpublishable("no schema".into()), false)),
            Class::Terminal
        );
    }

    fn refused(n: u8) -> Failure {
        Failure {
            payload: vec![n],
            ..failure(
                Cause::Kafka(KafkaError::MessageProduction(
                    RDKafkaErrorCode::MessageSizeTooLarge,
                )),
                false,
            )
        }
    }

    #[tokio::test]
    async fn a_batch_settles_when_its_last_record_reports() {
        let reports = Reports::new(3);
        reports.refused(refused(1));
        assert_eq!(reports.wait(Some(Duration::from_millis(20))).await, 2);
        // The waiter is parked before the last reports arrive (no task is spawned:
        // both run in this test's future).
        let last_reports = async {
            tokio::task::yield_now().await;
            reports.refused(refused(2));
            reports.refused(refused(3));
        };
        let (left, ()) = tokio::join!(reports.wait(Some(Duration::from_secs(10))), last_reports);
        assert_eq!(left, 0);
        let failures = reports.take_failures();
        assert_eq!(
            failures.iter().map(|f| f.payload[0]).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Reported before anyone waited: the wait returns at once.
        let early = Reports::new(1);
        early.refused(refused(4));
        assert_eq!(early.wait(Some(Duration::from_secs(10))).await, 0);
    }
}

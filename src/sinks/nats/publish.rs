//! Delivering one batch: publish in order, await every acknowledgement, retry what is
//! retriable within the delivery timeout, dead-letter what is terminal.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tickbridge_connectors::time::now_ns;

use async_nats::jetstream::{self, context::PublishErrorKind, publish::PublishAck};
use async_nats::{Client, HeaderMap, Subject};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, error, info, warn};

use super::fast_batch::{self, Problem};
use super::subject::SubjectCache;
use super::{NatsConfig, NatsError, NatsStats, SubjectTemplate};
use crate::sinks::dead_letter::DeadLetter;
use crate::sinks::{Batch, BatchOutcome};

/// The part of the sink that batches' acknowledgement futures share.
pub(super) struct Publisher {
    pub client: Client,
    /// `None` in core-NATS mode.
    pub js: Option<jetstream::Context>,
    pub template: SubjectTemplate,
    pub config: NatsConfig,
    pub delivery_timeout: Duration,
    /// The stream's duplicate window (zero in core-NATS mode or without one): a
    /// record whose publish may have reached the stream is retried with the same
    /// `Nats-Msg-Id` until that window closes, even past the delivery timeout, because
    /// a retry then either stores it or is dropped as a copy of what is stored. Only a
    /// record still unconfirmed after that counts as failed.
    pub dedup_window: Duration,
    /// Bounds PubAcks outstanding across batches (`max_outstanding_acks`).
    pub outstanding: Arc<Semaphore>,
    pub dead_letter: DeadLetter,
    pub stats: Arc<NatsStats>,
    /// Subjects the server refused with a permission violation.
    pub denied: Arc<Mutex<HashSet<String>>>,
    /// Publish JetStream batches as fast batches (`publish = "fast_batch"`); cleared
    /// for good when the server or stream turns out not to allow them.
    pub fast_batch: AtomicBool,
    /// The open fast batch and who waits to append to it.
    pub chain: fast_batch::Chain,
}

/// One record on its way.
pub(super) struct Msg {
    pub subject: Subject,
    pub payload: Bytes,
    pub id: String,
    pub ts_recv: i64,
    pub attempts: u32,
    /// When the first attempt left for the server (`None` before it).
    pub first_sent: Option<Instant>,
}

/// How a failed publish attempt is treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Class {
    /// Try again (with backoff) while the delivery timeout allows.
    Retriable(String),
    /// Retrying cannot help: dead-letter the record.
    Terminal(String),
}

/// Classifies a JetStream publish error. `stream_lookup` answers, for a "no responders"
/// error, whether the JetStream API confirms that no stream captures the subject
/// (`Some(true)`), finds one (`Some(false)`), or cannot tell (`None`).
pub(super) fn classify(
    error: &jetstream::context::PublishError,
    subject: &str,
    denied: bool,
    stream_lookup: Option<bool>,
) -> Class {
    let text = error.to_string();
    match error.kind() {
        PublishErrorKind::MaxPayloadExceeded => Class::Terminal(text),
        PublishErrorKind::TimedOut if denied => Class::Terminal(format!(
            "permissions violation: publishing to {subject:?} is not allowed"
        )),
        PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::MaxAckPending => Class::Retriable(text),
        PublishErrorKind::StreamNotFound => match stream_lookup {
            Some(true) => {
                Class::Terminal(format!("no JetStream stream captures subject {subject:?}"))
            }
            _ => Class::Retriable(format!(
                "no responders for {subject:?} (JetStream not ready?)"
            )),
        },
        PublishErrorKind::WrongLastMessageId | PublishErrorKind::WrongLastSequence => {
            Class::Terminal(text)
        }
        PublishErrorKind::Other => {
            let api =
                std::error::Error::source(error).and_then(|s| s.downcast_ref::<jetstream::Error>());
            match api {
                // 503: JetStream temporarily unavailable (e.g. recovering after a restart).
                Some(api) if api.code() == 503 => Class::Retriable(api.to_string()),
                Some(api) => Class::Terminal(format!("JetStream refused the message: {api}")),
                None => Class::Retriable(text),
            }
        }
    }
}

/// A PubAck future with the permit it holds.
type AckFut =
    std::pin::Pin<Box<dyn std::future::Future<Output = (usize, AckResult)> + Send + 'static>>;
type AckResult = Result<PublishAck, jetstream::context::PublishError>;

/// What one batch has seen so far, for its log lines.
#[derive(Default)]
struct Report {
    outcome: BatchOutcome,
    duplicates: u64,
    retried: u64,
    /// Failed records retried to the end of their duplicate window and still not
    /// confirmed (the stream may hold them; nothing more can tell).
    unconfirmed: u64,
    last_retriable: Option<String>,
    last_terminal: Option<String>,
}

impl Publisher {
    /// Delivers one batch after the previous batch's first pass (`previous`), signalling
    /// `done` after its own first pass.
    pub async fn deliver(
        &self,
        batch: Batch,
        previous: Option<oneshot::Receiver<()>>,
        done: oneshot::Sender<()>,
    ) -> BatchOutcome {
        let deadline = Instant::now() + self.delivery_timeout;
        let msgs = self.messages(batch);
        let created = Instant::now();
        let fast = |msgs: &[Msg]| {
            self.js.is_some()
                && msgs.len() >= fast_batch::MIN_MESSAGES
                && self.fast_batch.load(Relaxed)
        };
        // Counted while waiting: the batch before this one keeps its fast batch open.
        let waits_to_append = fast(&msgs);
        if waits_to_append {
            self.chain.waiting.fetch_add(1, Relaxed);
        }
        if let Some(previous) = previous {
            // An error means the previous batch's future is gone: nothing to wait for.
            let _ = previous.await;
        }
        if waits_to_append {
            self.chain.waiting.fetch_sub(1, Relaxed);
        }
        let turn = Instant::now();
        let records = msgs.len();
        let report = match &self.js {
            Some(js) if fast(&msgs) => self.deliver_fast(js, msgs, done, deadline).await,
            Some(js) => {
                // Nothing overtakes the records of an open fast batch.
                self.chain.close_open().await;
                self.deliver_js(js, msgs, vec![done], deadline, Report::default())
                    .await
            }
            None => self.deliver_core(msgs, done, deadline).await,
        };
        debug!(
            records,
            waited_turn_us = (turn - created).as_micros() as u64,
            delivered_us = turn.elapsed().as_micros() as u64,
            "nats batch settled"
        );
        self.log_report(&report);
        report.outcome
    }

    fn messages(&self, batch: Batch) -> Vec<Msg> {
        let mut subjects = SubjectCache::new(&self.template);
        batch
            .items
            .into_iter()
            .map(|item| Msg {
                subject: subjects.subject(&item.record),
                payload: Bytes::from(item.payload),
                ts_recv: item.record.ts_recv,
                id: item.record.id,
                attempts: 0,
                first_sent: None,
            })
            .collect()
    }

    /// Publishes the batch as (part of) a fast batch; what the server did not confirm
    /// goes on through the per-message path (`Nats-Msg-Id` makes republishing safe).
    async fn deliver_fast(
        &self,
        js: &jetstream::Context,
        mut msgs: Vec<Msg>,
        done: oneshot::Sender<()>,
        deadline: Instant,
    ) -> Report {
        let mut report = Report::default();
        let timeout = self.config.ack_timeout;
        let sent_at = Instant::now();
        let (outcome, before, after) = match self.chain.send(&self.client, &msgs, timeout).await {
            Ok(mut member) => {
                // The next batch waits for its turn: let it append to this fast batch now.
                // Otherwise this batch commits the fast batch, and the next one starts
                // once this one is settled or its unconfirmed rest republished.
                let hand_over = self.chain.waiting.load(Relaxed) > 0;
                let mut turn = Some(done);
                let outcome = self.chain.settle(&mut member, hand_over, &mut turn).await;
                // Not handed over: the turn passes once this batch is settled.
                let mut signals: Vec<oneshot::Sender<()>> = turn.into_iter().collect();
                signals.extend(member.after.take());
                (outcome, member.before.take(), signals)
            }
            Err(outcome) => (outcome, None, vec![done]),
        };
        self.stats.fast_batches.fetch_add(1, Relaxed);
        self.stats.published.fetch_add(outcome.sent as u64, Relaxed);
        for msg in &mut msgs[..outcome.sent] {
            msg.attempts += 1;
            msg.first_sent.get_or_insert(sent_at);
        }
        // One acknowledgement (a flow ack or the final PubAck) covers them all.
        let now = now_ns();
        for msg in &msgs[..outcome.stored] {
            self.delivered_at(msg.ts_recv, now, &mut report);
        }
        let rest = msgs.split_off(outcome.stored);
        match outcome.problem {
            None => {}
            Some(Problem::Unsupported(why)) if self.fast_batch.swap(false, Relaxed) => {
                warn!(
                    reason = %why,
                    "nats: the stream does not take fast batches; publishing per message from now on"
                );
            }
            Some(Problem::Unsupported(_)) => {}
            Some(Problem::Failed(why)) => {
                self.stats.retries.fetch_add(rest.len() as u64, Relaxed);
                report.retried += rest.len() as u64;
                warn!(
                    error = %why,
                    confirmed = outcome.stored,
                    republishing = rest.len(),
                    batch_position = outcome.position,
                    "nats: fast batch not confirmed in full; republishing the rest per message"
                );
                report.last_retriable = Some(why);
            }
        }
        if rest.is_empty() {
            for signal in after {
                let _ = signal.send(());
            }
            return report;
        }
        // The rest of the batches before this one in the same fast batch goes first.
        if let Some(before) = before {
            let _ = before.await;
        }
        self.deliver_js(js, rest, after, deadline, report).await
    }

    /// Publishes record by record, firing `done` after the first pass.
    async fn deliver_js(
        &self,
        js: &jetstream::Context,
        mut msgs: Vec<Msg>,
        done: Vec<oneshot::Sender<()>>,
        deadline: Instant,
        mut report: Report,
    ) -> Report {
        let mut done = Some(done);
        // Records to publish, in order; retries join it when their backoff elapsed.
        let mut queue: VecDeque<usize> = (0..msgs.len()).collect();
        let mut backing_off: Vec<(Instant, usize)> = Vec::new();
        let mut pending: FuturesUnordered<AckFut> = FuturesUnordered::new();
        let mut lookups: HashMap<String, Option<bool>> = HashMap::new();
        loop {
            // Publish what has room right away (the common case: one tight pass).
            while let Some(&i) = queue.front() {
                let Ok(permit) = self.outstanding.clone().try_acquire_owned() else {
                    break;
                };
                queue.pop_front();
                match self.publish_js(js, &mut msgs[i], permit).await {
                    Ok(fut) => pending.push(Box::pin(async move { (i, fut.await) })),
                    Err(e) => {
                        self.settle(
                            js,
                            &mut msgs,
                            i,
                            Err(e),
                            deadline,
                            &mut backing_off,
                            &mut lookups,
                            &mut report,
                        )
                        .await;
                    }
                }
            }
            if queue.is_empty() {
                for signal in done.take().into_iter().flatten() {
                    let _ = signal.send(());
                }
                if pending.is_empty() && backing_off.is_empty() {
                    break;
                }
            }
            let next_due = backing_off.iter().map(|(due, _)| *due).min();
            let backoff_elapsed = async {
                match next_due {
                    Some(due) => sleep_until(due).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                Some((i, result)) = pending.next(), if !pending.is_empty() => {
                    self.settle(js, &mut msgs, i, result, deadline, &mut backing_off, &mut lookups, &mut report).await;
                }
                _ = backoff_elapsed, if next_due.is_some() => {
                    let now = Instant::now();
                    let mut due: Vec<usize> = Vec::new();
                    backing_off.retain(|(at, i)| if *at <= now { due.push(*i); false } else { true });
                    due.sort_unstable();
                    queue.extend(due);
                }
                // Out of room: wait for a permit (acks above free them) and publish.
                permit = self.outstanding.clone().acquire_owned(), if !queue.is_empty() => {
                    let permit = permit.expect("the semaphore is never closed");
                    let i = queue.pop_front().expect("queue is not empty");
                    match self.publish_js(js, &mut msgs[i], permit).await {
                        Ok(fut) => pending.push(Box::pin(async move { (i, fut.await) })),
                        Err(e) => {
                            self.settle(js, &mut msgs, i, Err(e), deadline, &mut backing_off, &mut lookups, &mut report).await;
                        }
                    }
                }
            }
        }
        report
    }

    /// Sends one publish; the returned future resolves with its PubAck and releases the
    /// outstanding-ack permit.
    async fn publish_js(
        &self,
        js: &jetstream::Context,
        msg: &mut Msg,
        permit: OwnedSemaphorePermit,
    ) -> Result<
        impl std::future::Future<Output = AckResult> + Send + 'static,
        jetstream::context::PublishError,
    > {
        msg.attempts += 1;
        msg.first_sent.get_or_insert_with(Instant::now);
        self.stats.published.fetch_add(1, Relaxed);
        let publish = jetstream::message::PublishMessage::build()
            .payload(msg.payload.clone())
            .message_id(&msg.id);
        let ack = js.send_publish(msg.subject.clone(), publish).await?;
        Ok(async move {
            let result = ack.await;
            drop(permit);
            result
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn settle(
        &self,
        js: &jetstream::Context,
        msgs: &mut [Msg],
        i: usize,
        result: AckResult,
        deadline: Instant,
        backing_off: &mut Vec<(Instant, usize)>,
        lookups: &mut HashMap<String, Option<bool>>,
        report: &mut Report,
    ) {
        let msg = &msgs[i];
        let error = match result {
            Ok(ack) => {
                self.delivered(msg.ts_recv, report);
                if ack.duplicate {
                    self.stats.duplicates.fetch_add(1, Relaxed);
                    report.duplicates += 1;
                }
                return;
            }
            Err(e) => e,
        };
        let denied = self
            .denied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(msg.subject.as_str());
        let lookup = if error.kind() == PublishErrorKind::StreamNotFound {
            let key = msg.subject.to_string();
            match lookups.get(&key) {
                Some(known) => *known,
                None => {
                    let known =
                        match timeout(self.config.ack_timeout, js.stream_by_subject(key.clone()))
                            .await
                        {
                            Ok(Ok(_)) => Some(false),
                            Ok(Err(e))
                                if e.kind()
                                    == jetstream::context::GetStreamByNameErrorKind::NotFound =>
                            {
                                Some(true)
                            }
                            _ => None,
                        };
                    lookups.insert(key, known);
                    known
                }
            }
        } else {
            None
        };
        match classify(&error, msg.subject.as_str(), denied, lookup) {
            Class::Retriable(why) => {
                self.retry_or_fail(msgs, i, why, deadline, backing_off, report)
            }
            Class::Terminal(why) => self.terminal(&msgs[i], why, report).await,
        }
    }

    /// One record acknowledged just now.
    fn delivered(&self, ts_recv: i64, report: &mut Report) {
        self.delivered_at(ts_recv, now_ns(), report);
    }

    /// One record acknowledged at `now` (ns since the epoch; records acknowledged
    /// together share one clock read).
    fn delivered_at(&self, ts_recv: i64, now: i64, report: &mut Report) {
        report.outcome.delivered += 1;
        self.stats.acked.fetch_add(1, Relaxed);
        if now > ts_recv {
            self.stats
                .latency
                .record(Duration::from_nanos((now - ts_recv) as u64));
        }
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let min = self.config.retry_backoff_min;
        min.saturating_mul(1 << attempts.saturating_sub(1).min(16))
            .min(self.config.retry_backoff_max)
    }

    fn retry_or_fail(
        &self,
        msgs: &mut [Msg],
        i: usize,
        why: String,
        deadline: Instant,
        backing_off: &mut Vec<(Instant, usize)>,
        report: &mut Report,
    ) {
        let at = Instant::now() + self.backoff(msgs[i].attempts);
        let give_up = self.retry_limit(&msgs[i], deadline);
        if at < give_up {
            self.stats.retries.fetch_add(1, Relaxed);
            if report.retried == 0 {
                warn!(error = %why, subject = %msgs[i].subject, "nats publish failed; retrying within the delivery timeout");
            }
            report.retried += 1;
            report.last_retriable = Some(why);
            backing_off.push((at, i));
        } else {
            report.outcome.failed += 1;
            self.stats.failed.fetch_add(1, Relaxed);
            if give_up > deadline {
                report.unconfirmed += 1;
            }
            report.last_retriable = Some(why);
        }
    }

    /// Until when a record that failed retriably is tried again: the delivery
    /// deadline, or, once an attempt may have reached the stream, the end of the
    /// duplicate window of its first attempt (less one ack timeout, so the last retry
    /// arrives while the server still knows the id) when that is later. Within the
    /// window a retry cannot store a second copy, and giving up earlier would count
    /// as lost a record the server may hold (a publish written while the connection
    /// was down goes out when it is back).
    pub(super) fn retry_limit(&self, msg: &Msg, deadline: Instant) -> Instant {
        match msg.first_sent {
            Some(first) if !self.dedup_window.is_zero() => {
                let window_end = first + self.dedup_window.saturating_sub(self.config.ack_timeout);
                window_end.max(deadline)
            }
            _ => deadline,
        }
    }

    /// Dead-letters one record (file and/or subject); counted failed when neither works.
    async fn terminal(&self, msg: &Msg, why: String, report: &mut Report) {
        let reason = format!("{why} (subject {})", msg.subject);
        let mut written = self.dead_letter.write("nats", &reason, &msg.payload);
        if let Some(dlq) = &self.config.dead_letter_subject {
            let mut line = Vec::with_capacity(msg.payload.len() + reason.len() + 48);
            line.extend_from_slice(b"{\"error\":");
            line.extend_from_slice(
                serde_json::to_string(&reason)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            line.extend_from_slice(b",\"sink\":\"nats\",\"record\":");
            line.extend_from_slice(&msg.payload);
            line.push(b'}');
            let sent = async {
                self.client
                    .publish(dlq.clone(), Bytes::from(line))
                    .await
                    .ok()?;
                self.client.flush().await.ok()
            };
            match timeout(self.config.ack_timeout, sent).await {
                Ok(Some(())) => written = true,
                _ => error!(subject = %dlq, "publishing a dead letter failed"),
            }
        }
        if written {
            report.outcome.dead_lettered += 1;
            self.stats.dead_lettered.fetch_add(1, Relaxed);
        } else {
            report.outcome.failed += 1;
            self.stats.failed.fetch_add(1, Relaxed);
        }
        report.last_terminal = Some(reason);
    }

    /// Core NATS: publish the batch, flush; on failure republish what is left.
    async fn deliver_core(
        &self,
        mut msgs: Vec<Msg>,
        done: oneshot::Sender<()>,
        deadline: Instant,
    ) -> Report {
        let mut report = Report::default();
        let mut done = Some(done);
        let mut todo: Vec<usize> = (0..msgs.len()).collect();
        let mut attempt = 0u32;
        while !todo.is_empty() {
            attempt += 1;
            let mut refused: Vec<usize> = Vec::new();
            let mut failure: Option<String> = None;
            for &i in &todo {
                let msg = &mut msgs[i];
                msg.attempts += 1;
                self.stats.published.fetch_add(1, Relaxed);
                let mut headers = HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, msg.id.as_str());
                let publish = self.client.publish_with_headers(
                    msg.subject.clone(),
                    headers,
                    msg.payload.clone(),
                );
                match timeout(self.config.ack_timeout, publish).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e))
                        if e.kind() == async_nats::client::PublishErrorKind::MaxPayloadExceeded =>
                    {
                        self.terminal(&msgs[i], e.to_string(), &mut report).await;
                        refused.push(i);
                    }
                    Ok(Err(e)) => {
                        failure = Some(e.to_string());
                        break;
                    }
                    Err(_) => {
                        failure = Some("timed out handing the message to the client".into());
                        break;
                    }
                }
            }
            if let Some(done) = done.take() {
                let _ = done.send(());
            }
            todo.retain(|i| !refused.contains(i));
            if failure.is_none() {
                match timeout(self.config.ack_timeout, self.client.flush()).await {
                    Ok(Ok(())) => {
                        let now = now_ns();
                        for &i in &todo {
                            self.delivered_at(msgs[i].ts_recv, now, &mut report);
                        }
                        break;
                    }
                    Ok(Err(e)) => failure = Some(format!("flush failed: {e}")),
                    Err(_) => failure = Some("flush timed out".into()),
                }
            }
            // Not confirmed: republish the batch (minus refused records) after a backoff.
            let why = failure.unwrap_or_default();
            let at = Instant::now() + self.backoff(attempt);
            if at >= deadline {
                report.outcome.failed += todo.len() as u64;
                self.stats.failed.fetch_add(todo.len() as u64, Relaxed);
                report.last_retriable = Some(why);
                break;
            }
            if report.retried == 0 {
                warn!(error = %why, records = todo.len(), "nats publish failed; republishing the batch within the delivery timeout");
            }
            self.stats.retries.fetch_add(todo.len() as u64, Relaxed);
            report.retried += todo.len() as u64;
            report.last_retriable = Some(why);
            sleep_until(at).await;
        }
        report
    }

    fn log_report(&self, report: &Report) {
        let o = &report.outcome;
        if o.dead_lettered > 0 || (o.failed > 0 && report.last_terminal.is_some()) {
            warn!(
                dead_lettered = o.dead_lettered,
                failed = o.failed,
                error = report.last_terminal.as_deref().unwrap_or(""),
                "nats: records refused with a terminal error"
            );
        }
        if o.failed > 0 && report.last_retriable.is_some() {
            error!(
                failed = o.failed,
                unconfirmed = report.unconfirmed,
                error = report.last_retriable.as_deref().unwrap_or(""),
                delivery_timeout = ?self.delivery_timeout,
                duplicate_window = ?self.dedup_window,
                "nats: records not acknowledged within the delivery timeout (those \
                 once sent: within the stream's duplicate window)"
            );
        } else if report.retried > 0 {
            info!(
                retried = report.retried,
                delivered = o.delivered,
                "nats: batch delivered after retries"
            );
        }
        if report.duplicates > 0 {
            debug!(
                duplicates = report.duplicates,
                "nats: records already in the stream (duplicate window)"
            );
        }
    }

    /// After the last batch's acks: flush and drain the connection, log the counters.
    pub async fn close(&self) -> Result<(), NatsError> {
        // Every batch has settled by now, so no fast batch is open; if one were, it
        // would be committed here rather than left to the server's cleanup.
        self.chain.close_open().await;
        let flushed = timeout(self.config.ack_timeout, self.client.flush()).await;
        let drained = timeout(self.config.ack_timeout, self.client.drain()).await;
        let s = &self.stats;
        let g = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed);
        info!(
            published = g(&s.published),
            acked = g(&s.acked),
            duplicates = g(&s.duplicates),
            retries = g(&s.retries),
            dead_lettered = g(&s.dead_lettered),
            failed = g(&s.failed),
            fast_batches = g(&s.fast_batches),
            reconnects = g(&s.connects).saturating_sub(1),
            ack_latency_p50_us = s.latency.quantile_us(0.50),
            ack_latency_p99_us = s.latency.quantile_us(0.99),
            ack_latency_max_us = s.latency.max_us(),
            "nats sink closed"
        );
        match (flushed, drained) {
            (Ok(Ok(())), Ok(Ok(()))) => Ok(()),
            (Ok(Err(e)), _) => Err(NatsError::Close(format!("flush: {e}"))),
            (_, Ok(Err(e))) => Err(NatsError::Close(format!("drain: {e}"))),
            _ => Err(NatsError::Close(format!(
                "flush/drain did not finish within {:?}",
                self.config.ack_timeout
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetstream::context::PublishError;

    #[test]
    fn errors_are_classified() {
        let e = |k| PublishError::new(k);
        let s = "md.binance.trade.BTC-USDT";
        assert!(matches!(
            classify(&e(PublishErrorKind::TimedOut), s, false, None),
            Class::Retriable(_)
        ));
        assert_eq!(
            classify(&e(PublishErrorKind::TimedOut), s, true, None),
            Class::Terminal(format!(
                "permissions violation: publishing to {s:?} is not allowed"
            ))
        );
        assert!(matches!(
            classify(&e(PublishErrorKind::BrokenPipe), s, false, None),
            Class::Retriable(_)
        ));
        assert!(matches!(
            classify(&e(PublishErrorKind::MaxPayloadExceeded), s, false, None),
            Class::Terminal(_)
        ));
        assert!(matches!(
            classify(&e(PublishErrorKind::StreamNotFound), s, false, None),
            Class::Retriable(_)
        ));
        assert!(matches!(
            classify(&e(PublishErrorKind::StreamNotFound), s, false, Some(false)),
            Class::Retriable(_)
        ));
        assert_eq!(
            classify(&e(PublishErrorKind::StreamNotFound), s, false, Some(true)),
            Class::Terminal(format!("no JetStream stream captures subject {s:?}"))
        );
        assert!(matches!(
            classify(&e(PublishErrorKind::Other), s, false, None),
            Class::Retriable(_)
        ));
    }
}

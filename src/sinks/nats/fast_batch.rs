//! JetStream fast-ingest batches (ADR-50, nats-server 2.14+, stream `allow_batched`):
//! one batch of the bridge is published as one fast batch, and the server answers
//! with a flow ack every N messages and one PubAck for the whole batch, instead of a
//! PubAck per message. Each message still carries `Nats-Msg-Id`, so the duplicate
//! window drops replayed records as before.
//!
//! The control state travels in each message's reply subject,
//! `<inbox>.<flow>.fail.<seq>.<op>.$FI` (op 0 start, 1 append, 2 commit and store,
//! 4 ping), where `<inbox>` is a fresh two-token `_INBOX.<id>` this batch subscribes
//! to. Gap mode `fail`: the server stores the messages in order and stops at the
//! first gap, so "acknowledged up to seq S" means messages 1..=S are stored.
//!
//! The first batch (and the first after any trouble) waits for the server to accept
//! its start before sending the rest; later ones stream without that round trip, and a
//! refusal that arrives mid-batch ends the batch the same way.
//!
//! The result says how many of the batch's first messages the server confirmed;
//! the caller republishes the rest one by one (the per-message path classifies
//! errors, retries and dead-letters), which is safe because of `Nats-Msg-Id`.
//!
//! Server replies on the inbox (examples):
//!
//! ```json
//! {"type":"ack","seq":100,"msgs":100}
//! {"type":"gap","last_seq":41,"seq":43}
//! {"type":"err","seq":7,"error":{"code":400,"err_code":10071,"description":"..."}}
//! {"stream":"MD","seq":5012,"batch":"_INBOX.x1","count":1000}
//! {"error":{"code":400,"err_code":10205,"description":"batch publish not enabled on stream"}}
//! ```

use std::time::Duration;

use async_nats::{Client, HeaderMap, StatusCode, Subscriber};
use futures_util::{FutureExt, StreamExt};
use serde::Deserialize;
use tokio::time::{timeout_at, Instant};

use super::publish::Msg;

/// Flow acks requested: one every this many messages (the server may ask for more
/// often). 250 measured ~10% faster than ADR-50's example 100 (BENCHMARKS.md).
pub const FLOW: u64 = 250;
/// Flow-ack windows in flight before publishing waits. ADR-50 suggests 1-3 for many
/// concurrent fast publishers; one bridge is one publisher, and 4 (1000 unconfirmed
/// messages, a default batch) kept nats-server busy without idle gaps: +25% acked
/// ticks/s and -15% server CPU per message against 2 (BENCHMARKS.md). Below 2 the
/// stall rule would wait for the ack of a message not sent yet.
const MAX_OUTSTANDING_FLOW_ACKS: u64 = 4;
/// Smaller batches are published per message: a fast batch subscribes to an inbox and
/// unsubscribes after (and the first one, or the first after trouble, waits a round
/// trip for its start), a fixed cost that only pays off when it replaces many PubAcks.
pub const MIN_MESSAGES: usize = 64;
/// JetStream API error: the stream does not allow fast batches.
const ERR_NOT_ENABLED: u64 = 10205;
/// JetStream API error: the server does not know the batch (any more).
const ERR_UNKNOWN_BATCH: u64 = 10208;

/// What became of one fast batch.
#[derive(Debug, PartialEq, Eq)]
pub struct FastOutcome {
    /// How many of the batch's first messages were handed to the connection.
    pub sent: usize,
    /// The batch's first `stored` messages are in the stream (or were duplicates of
    /// messages already there).
    pub stored: usize,
    /// Why the rest is not confirmed (`None` when `stored` is the whole batch).
    pub problem: Option<Problem>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// The stream or server does not do fast batches: publish per message from now on.
    Unsupported(String),
    /// This batch did not finish (timeout, lost connection, server error).
    Failed(String),
}

/// One reply on the batch inbox.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// Messages up to `seq` are stored; acks come every `msgs` messages from now on.
    Flow { seq: u64, msgs: u64 },
    /// The server saw a gap after `last_seq`: the batch ends there.
    Gap { last_seq: u64 },
    /// The message `seq` failed a server-side check.
    Error {
        seq: Option<u64>,
        code: u64,
        text: String,
    },
    /// The batch's final PubAck: `count` messages stored.
    Done { count: u64 },
    /// A plain PubAck (no `batch` field): the server treated the message as an
    /// ordinary publish, i.e. it does not know fast batches.
    Plain,
    /// Nobody answers on the subject (no stream, or JetStream not ready).
    NoResponders,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: Option<String>,
    seq: Option<u64>,
    msgs: Option<u64>,
    last_seq: Option<u64>,
    batch: Option<String>,
    count: Option<u64>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

fn parse(message: &async_nats::Message) -> Result<Reply, String> {
    if message.status == Some(StatusCode::NO_RESPONDERS) {
        return Ok(Reply::NoResponders);
    }
    let w: Wire = serde_json::from_slice(&message.payload).map_err(|e| {
        format!(
            "unreadable fast-batch reply {:?}: {e}",
            String::from_utf8_lossy(&message.payload)
        )
    })?;
    if let Some(e) = w.error {
        return Ok(Reply::Error {
            seq: w.seq.filter(|_| w.kind.as_deref() == Some("err")),
            code: e.err_code,
            text: e.description,
        });
    }
    Ok(match w.kind.as_deref() {
        Some("ack") => Reply::Flow {
            seq: w.seq.unwrap_or(0),
            msgs: w.msgs.unwrap_or(FLOW).max(1),
        },
        Some("gap") => Reply::Gap {
            last_seq: w.last_seq.unwrap_or(0),
        },
        Some(other) => return Err(format!("unknown fast-batch reply type {other:?}")),
        None if w.batch.is_some() => Reply::Done {
            count: w.count.unwrap_or(0),
        },
        None => Reply::Plain,
    })
}

/// The state of one batch on the wire.
struct FastBatch<'a> {
    client: &'a Client,
    inbox: String,
    sub: Subscriber,
    /// Highest sequence the server confirmed stored.
    acked: u64,
    /// Current flow: an ack every `every` messages.
    every: u64,
    /// Set when the server ended the batch early (gap or error): stop publishing.
    ended: Option<String>,
    /// The final PubAck's count, once it arrived.
    done: Option<u64>,
    /// Set when a reply says the stream or server does not take fast batches.
    unsupported: Option<String>,
    ack_timeout: Duration,
    /// Messages handed to the connection so far.
    sent: usize,
}

/// Publishes `msgs` (at least two) as one fast batch and waits for its PubAck.
///
/// With `await_start`, the first message's reply is awaited before the rest is sent:
/// it says whether the stream takes fast batches at all. Once a batch went through,
/// the caller passes false and the batch streams without that round trip (a reply
/// refusing the batch still ends it, only a few hundred messages later).
pub async fn publish(
    client: &Client,
    msgs: &[Msg],
    ack_timeout: Duration,
    await_start: bool,
) -> FastOutcome {
    let inbox = client.new_inbox();
    let sub = match client.subscribe(format!("{inbox}.>")).await {
        Ok(sub) => sub,
        Err(e) => return failed(0, format!("cannot subscribe to the batch inbox: {e}")),
    };
    let mut batch = FastBatch {
        client,
        inbox,
        sub,
        acked: 0,
        every: FLOW,
        ended: None,
        done: None,
        unsupported: None,
        ack_timeout,
        sent: 0,
    };
    let mut outcome = batch.run(msgs, await_start).await;
    outcome.sent = batch.sent;
    // Dropping the subscriber unsubscribes from the inbox.
    outcome
}

fn failed(stored: u64, why: String) -> FastOutcome {
    FastOutcome {
        sent: 0,
        stored: stored as usize,
        problem: Some(Problem::Failed(why)),
    }
}

impl FastBatch<'_> {
    async fn run(&mut self, msgs: &[Msg], await_start: bool) -> FastOutcome {
        let n = msgs.len() as u64;
        for (i, msg) in msgs.iter().enumerate() {
            let seq = i as u64 + 1;
            let op = match seq {
                1 => 0,
                s if s == n => 2,
                _ => 1,
            };
            if seq > 1 {
                if let Err(outcome) = self.make_room(seq, msgs).await {
                    return outcome;
                }
                if self.ended.is_some() {
                    break;
                }
            }
            if let Err(e) = self.send(msg, seq, op).await {
                return failed(self.acked, format!("publish failed: {e}"));
            }
            self.sent += 1;
            if seq == 1 && await_start {
                // The first reply says whether the stream takes fast batches at all.
                match self
                    .next_reply(msgs, Instant::now() + self.ack_timeout)
                    .await
                {
                    Ok(Reply::Flow { msgs: every, .. }) => self.every = every,
                    Ok(Reply::Error { code, text, .. }) if code == ERR_NOT_ENABLED => {
                        return FastOutcome {
                            sent: 0,
                            stored: 0,
                            problem: Some(Problem::Unsupported(text)),
                        }
                    }
                    Ok(Reply::Plain) => {
                        return FastOutcome {
                            sent: 0,
                            stored: 1,
                            problem: Some(Problem::Unsupported(
                                "the server does not know fast batches (nats-server 2.14+)".into(),
                            )),
                        }
                    }
                    Ok(Reply::NoResponders) => {
                        return failed(0, "no responders (no stream for the subject?)".into())
                    }
                    Ok(Reply::Error { text, .. }) => return failed(0, text),
                    Ok(other) => self.apply(other),
                    Err(why) => return failed(0, why),
                }
            }
        }
        // Wait for the final PubAck (or the end the server announced). The wait
        // restarts only when the server confirms more messages: replies that bring
        // no progress (pings answered with errors) cannot keep it going forever.
        let mut deadline = Instant::now() + self.ack_timeout;
        while self.done.is_none() {
            let before = self.acked;
            match self.next_reply(msgs, deadline).await {
                Ok(reply) => self.apply(reply),
                Err(why) => return failed(self.acked, why),
            }
            if self.acked > before {
                deadline = Instant::now() + self.ack_timeout;
            }
        }
        if let Some(why) = self.unsupported.take() {
            // Whatever was stored anyway is stored again as a duplicate: harmless.
            return FastOutcome {
                sent: 0,
                stored: 0,
                problem: Some(Problem::Unsupported(why)),
            };
        }
        let count = self.done.unwrap_or(0).min(n);
        match self.ended.take() {
            Some(why) if count < n => failed(count, why),
            _ if count < n => failed(
                count,
                format!("the server stored {count} of {n} messages of the batch"),
            ),
            _ => FastOutcome {
                sent: 0,
                stored: n as usize,
                problem: None,
            },
        }
    }

    async fn send(&self, msg: &Msg, seq: u64, op: u8) -> Result<(), String> {
        let reply = format!("{}.{}.fail.{seq}.{op}.$FI", self.inbox, self.every);
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg.id.as_str());
        self.client
            .publish_with_reply_and_headers(
                msg.subject.clone(),
                reply,
                headers,
                msg.payload.clone(),
            )
            .await
            .map_err(|e| e.to_string())
    }

    /// Takes in the replies already there, then waits while too many messages are
    /// unconfirmed (ADR-50: stall while `acked + every * outstanding <= seq`).
    async fn make_room(&mut self, seq: u64, msgs: &[Msg]) -> Result<(), FastOutcome> {
        while let Some(Some(message)) = self.sub.next().now_or_never() {
            match parse(&message) {
                Ok(reply) => self.apply(reply),
                Err(why) => return Err(failed(self.acked, why)),
            }
        }
        let mut deadline = Instant::now() + self.ack_timeout;
        while self.ended.is_none()
            && self.done.is_none()
            && self.acked + self.every * MAX_OUTSTANDING_FLOW_ACKS <= seq
        {
            let before = self.acked;
            match self.next_reply(msgs, deadline).await {
                Ok(reply) => self.apply(reply),
                Err(why) => return Err(failed(self.acked, why)),
            }
            if self.acked > before {
                deadline = Instant::now() + self.ack_timeout;
            }
        }
        if let Some(count) = self.done {
            if self.ended.is_none() && count < msgs.len() as u64 {
                let why = format!("the server ended the batch after {count} messages");
                return Err(failed(count, why));
            }
        }
        Ok(())
    }

    fn apply(&mut self, reply: Reply) {
        match reply {
            Reply::Flow { seq, msgs } => {
                self.acked = self.acked.max(seq);
                self.every = msgs;
            }
            Reply::Gap { last_seq } => {
                self.ended
                    .get_or_insert(format!("the server saw a gap after message {last_seq}"));
            }
            Reply::Error { code, text, .. } if code == ERR_NOT_ENABLED => {
                self.unsupported.get_or_insert(text);
                self.ended.get_or_insert("fast batches not enabled".into());
                self.done.get_or_insert(0);
            }
            Reply::Error { seq, code, text } => {
                let at = seq.map_or_else(String::new, |s| format!(" at message {s}"));
                self.ended
                    .get_or_insert(format!("JetStream error {code}{at}: {text}"));
                if code == ERR_UNKNOWN_BATCH {
                    // The server forgot the batch (e.g. it restarted): no PubAck comes.
                    self.done.get_or_insert(self.acked);
                }
            }
            Reply::Done { count } => self.done = Some(count),
            Reply::Plain => {
                // Every message gets its own PubAck from such a server: no batch PubAck
                // will come.
                self.unsupported.get_or_insert(
                    "the server does not know fast batches (nats-server 2.14+)".into(),
                );
                self.ended.get_or_insert("unexpected plain PubAck".into());
                self.done.get_or_insert(0);
            }
            Reply::NoResponders => {
                self.ended.get_or_insert("no responders".into());
                // No final PubAck will come: nobody handles the subject.
                self.done.get_or_insert(self.acked);
            }
        }
    }

    /// The next reply, pinging the server (op 4) when one is slow to come: a ping
    /// resends the latest flow ack, in case one was lost. Gives up at `deadline`.
    async fn next_reply(&mut self, msgs: &[Msg], deadline: Instant) -> Result<Reply, String> {
        let ping_every = self.ack_timeout / 3;
        loop {
            let wait_until = (Instant::now() + ping_every).min(deadline);
            match timeout_at(wait_until, self.sub.next()).await {
                Ok(Some(message)) => return parse(&message),
                Ok(None) => return Err("the batch inbox subscription closed".into()),
                Err(_) if Instant::now() >= deadline => {
                    return Err(format!(
                        "no fast-batch reply within {:?} (confirmed up to message {})",
                        self.ack_timeout, self.acked
                    ))
                }
                Err(_) => self.ping(msgs).await,
            }
        }
    }

    async fn ping(&self, msgs: &[Msg]) {
        let Some(first) = msgs.first() else { return };
        // The highest sequence sent: a ping must not look like a gap.
        let highest = self.sent as u64;
        let reply = format!("{}.{}.fail.{highest}.4.$FI", self.inbox, self.every);
        // A lost ping is harmless: the wait goes on until the deadline.
        let _ = self
            .client
            .publish_with_reply(first.subject.clone(), reply, bytes::Bytes::new())
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(payload: &str) -> async_nats::Message {
        async_nats::Message {
            subject: "_INBOX.x.100.fail.1.0.$FI".into(),
            reply: None,
            payload: bytes::Bytes::from(payload.to_string()),
            headers: None,
            status: None,
            description: None,
            length: payload.len(),
        }
    }

    #[test]
    fn replies_are_told_apart() {
        assert_eq!(
            parse(&msg(r#"{"msgs":100,"seq":0,"type":"ack"}"#)),
            Ok(Reply::Flow { seq: 0, msgs: 100 })
        );
        assert_eq!(
            parse(&msg(r#"{"type":"gap","last_seq":41,"seq":43}"#)),
            Ok(Reply::Gap { last_seq: 41 })
        );
        assert_eq!(
            parse(&msg(
                r#"{"batch":"_INBOX.x","count":1000,"seq":1000,"stream":"MD"}"#
            )),
            Ok(Reply::Done { count: 1000 })
        );
        assert_eq!(
            parse(&msg(
                r#"{"error":{"code":400,"err_code":10205,"description":"batch publish not enabled on stream"}}"#
            )),
            Ok(Reply::Error {
                seq: None,
                code: 10205,
                text: "batch publish not enabled on stream".into()
            })
        );
        assert_eq!(
            parse(&msg(
                r#"{"type":"err","seq":7,"error":{"code":400,"err_code":10071,"description":"wrong last sequence"}}"#
            )),
            Ok(Reply::Error {
                seq: Some(7),
                code: 10071,
                text: "wrong last sequence".into()
            })
        );
        assert_eq!(parse(&msg(r#"{"stream":"MD","seq":12}"#)), Ok(Reply::Plain));
        let err = parse(&msg("not json")).unwrap_err();
        assert!(err.contains("unreadable fast-batch reply"), "{err}");
        let mut none = msg("");
        none.status = Some(StatusCode::NO_RESPONDERS);
        assert_eq!(parse(&none), Ok(Reply::NoResponders));
    }
}

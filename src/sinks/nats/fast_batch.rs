//! JetStream fast-ingest batches (ADR-50, nats-server 2.14+, stream `allow_batched`):
//! the pipeline's batches are published as JetStream fast batches, and the server
//! answers with a flow ack every N messages and one PubAck for the whole fast batch,
//! instead of a PubAck per message. Each message still carries `Nats-Msg-Id`, so the
//! duplicate window drops replayed records as before.
//!
//! The control state travels in each message's reply subject,
//! `<inbox>.<flow>.fail.<seq>.<op>.$FI` (op 0 start, 1 append, 3 commit without
//! storing this message, 4 ping), where `<inbox>` is a fresh two-token `_INBOX.<id>`
//! the fast batch subscribes to. Gap mode `fail`: the server stores the messages in
//! order and stops at the first gap or error, so "acknowledged up to seq S" means
//! messages 1..=S are stored and nothing after a failure is.
//!
//! **The chain.** When the next pipeline batch is already waiting for its turn, a batch
//! leaves its fast batch open and the next one appends to it; the last one commits it
//! (op 3). The server never idles between pipeline batches, and because of gap mode
//! `fail` a failure anywhere leaves exactly a prefix of the chain stored: every member
//! republishes its unstored rest through the per-message path, in chain order (each
//! waits for the previous member's signal), before anything after the chain is
//! published. So per-subject order holds even when a fast batch stops early.
//!
//! A new fast batch, while none has gone through yet (at start, after any trouble),
//! waits for the server to accept its first message before sending the rest: that
//! reply says whether the stream takes fast batches at all. A refusal that arrives
//! later ends the fast batch the same way.
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

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{Client, HeaderMap, StatusCode, Subject, Subscriber};
use futures_util::StreamExt;
use serde::Deserialize;
use tickbridge_schema::push_u64;
use tokio::sync::{oneshot, watch};
use tokio::time::{timeout_at, Instant};

use super::publish::Msg;

/// Flow acks requested: one every this many messages (the server may ask for more
/// often). 250 measured ~10% faster than ADR-50's example 100; 500 (the server's
/// maximum) no faster (BENCHMARKS.md, flow settings).
pub const FLOW: u64 = 250;
/// Flow-ack windows in flight before publishing waits. ADR-50 suggests 1-3 for many
/// concurrent fast publishers; one bridge is one publisher, and the server's one
/// ingest loop per stream idles whenever the window runs dry. 16 windows (4000
/// messages, 4 pipeline batches of 1000) beat 4 in 11 of 11 interleaved runs with
/// `persist_mode = "async"` (median ~164k vs ~146k) and in 11 of 16 with the default
/// (~5%); 2 was below 4 (BENCHMARKS.md, flow settings). The server still paces the
/// publisher through the flow-ack interval it asks for. Below 2 the stall rule would
/// wait for the ack of a message not sent yet.
pub const MAX_OUTSTANDING_FLOW_ACKS: u64 = 16;
/// Smaller batches are published per message: a fast batch subscribes to an inbox and
/// unsubscribes after (and the first one, or the first after trouble, waits a round
/// trip for its start), a fixed cost that only pays off when it replaces many PubAcks.
pub const MIN_MESSAGES: usize = 64;
/// JetStream API error: the stream does not allow fast batches.
const ERR_NOT_ENABLED: u64 = 10205;
/// A chain this long is committed, and the next pipeline batch opens a new fast batch:
/// keeps sequence numbers and the server's per-batch state bounded.
const MAX_CHAIN: u64 = 1_000_000;

/// What became of one pipeline batch's part of a fast batch.
#[derive(Debug, PartialEq, Eq)]
pub struct FastOutcome {
    /// How many of its first messages were handed to the connection.
    pub sent: usize,
    /// Its first `stored` messages are in the stream (or were duplicates of messages
    /// already there).
    pub stored: usize,
    /// Why the rest is not confirmed (`None` when `stored` is the whole batch).
    pub problem: Option<Problem>,
    /// Where its first message sits in the fast batch (1: it opened the fast batch;
    /// more: it was appended to an open one).
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// An error: with `seq` (`"type":"err"`) the message `seq` failed a server-side
    /// check inside the batch; without, a plain error response (the batch's first
    /// message was refused, or the server does not know the batch).
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

/// What the server confirmed of one fast batch so far.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Messages 1..=acked are stored.
    acked: u64,
    /// Replies read so far (the first one answers the batch's start).
    replies: u64,
    /// The fast batch is over: its first `stored` messages are in the stream.
    end: Option<End>,
}

#[derive(Debug, Clone)]
struct End {
    stored: u64,
    problem: Option<Problem>,
}

/// One fast batch on the server, shared by the pipeline batches appended to it.
struct FastBatch {
    client: Client,
    /// `<inbox>.<flow>.fail.`: each message's reply subject starts with it.
    reply_prefix: String,
    /// A subject of the stream, for pings and the closing commit.
    subject: Subject,
    /// Highest sequence sent (a ping names it, so it never looks like a gap).
    sent: AtomicU64,
    /// Current flow: the server acks every this many messages.
    every: AtomicU64,
    /// The inbox: whoever needs a reply takes the lock and reads for everyone.
    inbox_sub: tokio::sync::Mutex<Subscriber>,
    /// Why the server ended the batch early (gap, error), until its PubAck comes.
    ended: Mutex<Option<String>>,
    progress: watch::Sender<Progress>,
    ack_timeout: Duration,
}

/// A fast batch left open between two pipeline batches.
struct Open {
    batch: Arc<FastBatch>,
    /// Fires once the last member is confirmed or has republished its rest.
    tail: oneshot::Receiver<()>,
}

/// The sink's fast batches: at most one open at a time, appended to in pipeline order.
#[derive(Default)]
pub struct Chain {
    open: Mutex<Option<Open>>,
    /// Pipeline batches big enough for a fast batch that wait for their turn: a batch
    /// that sees one leaves its fast batch open for it instead of committing.
    pub waiting: AtomicUsize,
    /// A fast batch went through: new ones need not wait for their start to be accepted.
    proven: AtomicBool,
}

/// One pipeline batch's part of a fast batch.
pub struct Member {
    batch: Arc<FastBatch>,
    /// Its messages are the fast batch's `first..first + len`.
    first: u64,
    len: u64,
    sent: usize,
    /// The previous member's signal: republish only after it fired (or was dropped).
    pub before: Option<oneshot::Receiver<()>>,
    /// This member's signal for the next one.
    pub after: Option<oneshot::Sender<()>>,
    /// The receiving end of `after`, left in the chain when the batch stays open.
    tail: Option<oneshot::Receiver<()>>,
}

impl Chain {
    /// Sends `msgs` (at least two) as the next part of the open fast batch, or of a new
    /// one. A failure to even start comes back as the outcome.
    pub async fn send(
        &self,
        client: &Client,
        msgs: &[Msg],
        ack_timeout: Duration,
    ) -> Result<Member, FastOutcome> {
        let (after, tail) = oneshot::channel();
        let open = self.take_open();
        let (batch, before) = match open {
            Some(open) if open.batch.can_append() => (open.batch, Some(open.tail)),
            other => {
                if let Some(open) = other {
                    // Over or full: commit it and let its members settle first.
                    open.batch.close().await;
                    let _ = open.tail.await;
                }
                let batch = FastBatch::open(client, &msgs[0], ack_timeout).await?;
                (batch, None)
            }
        };
        let first = batch.sent.load(Relaxed) + 1;
        let mut member = Member {
            batch,
            first,
            len: msgs.len() as u64,
            sent: 0,
            before,
            after: Some(after),
            tail: Some(tail),
        };
        let await_start = first == 1 && !self.proven.load(Relaxed);
        member.sent = member.batch.send(msgs, await_start).await;
        Ok(member)
    }

    /// With `hand_over` (the next pipeline batch waits) and a fast batch that is still
    /// going, leaves the fast batch open and passes `turn` (the next batch's go-ahead)
    /// at once; otherwise commits it and leaves `turn` to the caller, to pass on once
    /// this batch is settled. Then waits until the member's messages are confirmed or
    /// the fast batch is over.
    pub async fn settle(
        &self,
        member: &mut Member,
        hand_over: bool,
        turn: &mut Option<oneshot::Sender<()>>,
    ) -> FastOutcome {
        let batch = member.batch.clone();
        let target = if hand_over && batch.can_append() {
            let tail = member.tail.take().expect("a member settles once");
            *self.open.lock().unwrap_or_else(|p| p.into_inner()) = Some(Open {
                batch: batch.clone(),
                tail,
            });
            // Only now: the next batch must find the open fast batch (or, if it ended
            // meanwhile, its tail to wait for).
            if let Some(turn) = turn.take() {
                let _ = turn.send(());
            }
            member.first + member.len - 1
        } else {
            batch.close().await;
            u64::MAX
        };
        let progress = batch.wait_for(target).await;
        let outcome = member.outcome(&progress);
        match &progress.end {
            Some(End { problem: None, .. }) => self.proven.store(true, Relaxed),
            Some(End {
                problem: Some(_), ..
            }) => self.proven.store(false, Relaxed),
            None => {}
        }
        outcome
    }

    /// Before a pipeline batch is published outside fast batches: commits the open
    /// fast batch, if any, and waits until its members are settled (their unstored rest
    /// republished), so nothing overtakes them.
    pub async fn close_open(&self) {
        if let Some(open) = self.take_open() {
            open.batch.close().await;
            let _ = open.tail.await;
        }
    }

    fn take_open(&self) -> Option<Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Member {
    fn outcome(&self, progress: &Progress) -> FastOutcome {
        share(
            self.first,
            self.len,
            self.sent,
            progress,
            self.batch.sent.load(Relaxed),
        )
    }
}

/// What a member whose messages are the fast batch's `first..first + len` (of which
/// `sent` went out) got stored, given what the server confirmed of the whole batch
/// (`batch_sent` messages): a prefix of the batch is stored, so the member's share is
/// a prefix of its messages.
fn share(first: u64, len: u64, sent: usize, progress: &Progress, batch_sent: u64) -> FastOutcome {
    let last = first + len - 1;
    let all = len as usize;
    let (stored, problem) = if progress.acked >= last {
        (all, None)
    } else {
        match &progress.end {
            // Whatever was stored anyway is stored again as a duplicate: harmless.
            Some(End {
                problem: Some(Problem::Unsupported(why)),
                ..
            }) => (0, Some(Problem::Unsupported(why.clone()))),
            Some(End { stored, problem }) => {
                let mine = stored.saturating_sub(first - 1).min(len) as usize;
                if mine == all {
                    (all, None)
                } else {
                    let why = problem.clone().unwrap_or_else(|| {
                        Problem::Failed(format!(
                            "the server stored {stored} of {batch_sent} messages of the fast batch"
                        ))
                    });
                    (mine, Some(why))
                }
            }
            None => (
                0,
                Some(Problem::Failed("the fast batch was abandoned".into())),
            ),
        }
    };
    FastOutcome {
        sent,
        stored: stored.min(sent),
        problem,
        position: first,
    }
}

impl FastBatch {
    async fn open(
        client: &Client,
        msg: &Msg,
        ack_timeout: Duration,
    ) -> Result<Arc<FastBatch>, FastOutcome> {
        let inbox = client.new_inbox();
        let sub = client
            .subscribe(format!("{inbox}.>"))
            .await
            .map_err(|e| FastOutcome {
                sent: 0,
                stored: 0,
                position: 1,
                problem: Some(Problem::Failed(format!(
                    "cannot subscribe to the batch inbox: {e}"
                ))),
            })?;
        // Dropping the last Arc drops the subscriber, which unsubscribes.
        Ok(Arc::new(FastBatch {
            client: client.clone(),
            reply_prefix: format!("{inbox}.{FLOW}.fail."),
            subject: msg.subject.clone(),
            sent: AtomicU64::new(0),
            every: AtomicU64::new(FLOW),
            inbox_sub: tokio::sync::Mutex::new(sub),
            ended: Mutex::new(None),
            progress: watch::Sender::new(Progress::default()),
            ack_timeout,
        }))
    }

    /// Commits the batch (op 3: this message is not stored) unless it is over.
    async fn close(&self) {
        if self.over() {
            return;
        }
        let seq = self.sent.load(Relaxed) + 1;
        if let Err(e) = self
            .client
            .publish_with_reply(
                self.subject.clone(),
                self.reply(seq, 3),
                bytes::Bytes::new(),
            )
            .await
        {
            self.fail(format!("cannot commit the fast batch: {e}"));
        }
    }

    /// `<inbox>.<flow>.fail.<seq>.<op>.$FI`, built without `format!`: it is made for
    /// every message.
    fn reply(&self, seq: u64, op: u8) -> String {
        reply_subject(&self.reply_prefix, seq, op)
    }

    /// Still going and not too long: the next pipeline batch may append to it.
    fn can_append(&self) -> bool {
        !self.over() && self.sent.load(Relaxed) < MAX_CHAIN
    }

    fn over(&self) -> bool {
        self.progress.borrow().end.is_some()
    }

    /// Ends the batch here: what was confirmed stays confirmed, the rest is not.
    fn fail(&self, why: String) {
        self.finish(None, Some(Problem::Failed(why)));
    }

    /// Ends the batch with `stored` messages in the stream (`None`: as many as acked).
    fn finish(&self, stored: Option<u64>, problem: Option<Problem>) {
        self.progress.send_if_modified(|p| {
            if p.end.is_some() {
                return false;
            }
            let stored = stored.unwrap_or(p.acked);
            p.acked = p.acked.max(stored);
            p.end = Some(End { stored, problem });
            true
        });
    }

    /// Sends the messages, keeping at most `MAX_OUTSTANDING_FLOW_ACKS` flow windows
    /// unconfirmed; stops when the batch is over. Returns how many went out.
    async fn send(&self, msgs: &[Msg], await_start: bool) -> usize {
        let mut sent = 0;
        for msg in msgs {
            let seq = self.sent.load(Relaxed) + 1;
            let acked = {
                let p = self.progress.borrow();
                if p.end.is_some() {
                    break;
                }
                p.acked
            };
            // ADR-50: stall while `acked + every * outstanding <= seq`.
            let window = self.every.load(Relaxed) * MAX_OUTSTANDING_FLOW_ACKS;
            if seq > 1
                && acked + window <= seq
                && self.wait_for(seq + 1 - window).await.end.is_some()
            {
                break;
            }
            let op = if seq == 1 { 0 } else { 1 };
            let mut headers = HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, msg.id.as_str());
            let result = self
                .client
                .publish_with_reply_and_headers(
                    msg.subject.clone(),
                    self.reply(seq, op),
                    headers,
                    msg.payload.clone(),
                )
                .await;
            if let Err(e) = result {
                self.fail(format!("publish failed: {e}"));
                break;
            }
            self.sent.store(seq, Relaxed);
            sent += 1;
            if seq == 1 && await_start {
                // The first reply says whether the stream takes fast batches at all.
                self.wait_replies(1).await;
            }
        }
        sent
    }

    /// Waits until messages up to `target` are confirmed or the batch is over.
    async fn wait_for(&self, target: u64) -> Progress {
        self.wait_until(|p| p.acked >= target).await
    }

    async fn wait_replies(&self, n: u64) -> Progress {
        self.wait_until(|p| p.replies >= n).await
    }

    /// Waits for `done` or the end of the batch, reading the inbox when nobody else
    /// does. The batch fails when the server confirms nothing more for `ack_timeout`.
    async fn wait_until(&self, done: impl Fn(&Progress) -> bool) -> Progress {
        let mut progress = self.progress.subscribe();
        let mut acked = progress.borrow().acked;
        let mut deadline = Instant::now() + self.ack_timeout;
        loop {
            {
                let p = progress.borrow_and_update();
                if done(&p) || p.end.is_some() {
                    return p.clone();
                }
                if p.acked > acked {
                    acked = p.acked;
                    deadline = Instant::now() + self.ack_timeout;
                }
            }
            tokio::select! {
                changed = progress.changed() => {
                    if changed.is_err() {
                        return progress.borrow().clone();
                    }
                }
                mut sub = self.inbox_sub.lock() => {
                    // Someone else may have read what we wait for meanwhile.
                    if progress.has_changed().unwrap_or(false) {
                        continue;
                    }
                    self.read_one(&mut sub, deadline).await;
                }
            }
        }
    }

    /// Reads one reply, pinging the server (op 4) when one is slow to come: a ping
    /// resends the latest flow ack, in case one was lost. Fails the batch at `deadline`.
    async fn read_one(&self, sub: &mut Subscriber, deadline: Instant) {
        let ping_every = self.ack_timeout / 3;
        loop {
            let wait_until = (Instant::now() + ping_every).min(deadline);
            match timeout_at(wait_until, sub.next()).await {
                Ok(Some(message)) => {
                    match parse(&message) {
                        Ok(reply) => self.apply(reply),
                        Err(why) => self.fail(why),
                    }
                    return;
                }
                Ok(None) => return self.fail("the batch inbox subscription closed".into()),
                Err(_) if Instant::now() >= deadline => {
                    let acked = self.progress.borrow().acked;
                    return self.fail(format!(
                        "no fast-batch reply within {:?} (confirmed up to message {acked})",
                        self.ack_timeout
                    ));
                }
                Err(_) => self.ping().await,
            }
        }
    }

    async fn ping(&self) {
        let highest = self.sent.load(Relaxed);
        if highest == 0 {
            return;
        }
        // A lost ping is harmless: the wait goes on until the deadline.
        let _ = self
            .client
            .publish_with_reply(
                self.subject.clone(),
                self.reply(highest, 4),
                bytes::Bytes::new(),
            )
            .await;
    }

    fn apply(&self, reply: Reply) {
        let ended = |why: String| {
            self.ended
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(why)
                .clone()
        };
        match reply {
            Reply::Flow { seq, msgs } => {
                self.every.store(msgs, Relaxed);
                self.progress.send_modify(|p| {
                    p.replies += 1;
                    p.acked = p.acked.max(seq);
                });
                return;
            }
            Reply::Gap { last_seq } => {
                ended(format!("the server saw a gap after message {last_seq}"));
            }
            Reply::Error { code, text, .. } if code == ERR_NOT_ENABLED => {
                self.finish(Some(0), Some(Problem::Unsupported(text)));
            }
            Reply::Error {
                seq: Some(seq),
                code,
                text,
            } => {
                // An error inside the batch: the server commits what came before it
                // and sends the batch's PubAck, which says how far it got.
                ended(format!("JetStream error {code} at message {seq}: {text}"));
            }
            Reply::Error {
                seq: None,
                code,
                text,
            } => {
                // A plain error response: the server refused the batch's first message
                // or forgot the batch (e.g. it restarted, 10208). No PubAck comes.
                let why = ended(format!("JetStream error {code}: {text}"));
                self.fail(why);
            }
            Reply::Done { count } => {
                let sent = self.sent.load(Relaxed);
                let problem = (count < sent).then(|| {
                    let why = self.ended.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    Problem::Failed(why.unwrap_or_else(|| {
                        format!("the server stored {count} of {sent} messages of the batch")
                    }))
                });
                self.finish(Some(count), problem);
            }
            Reply::Plain => {
                // Every message gets its own PubAck from such a server: no batch PubAck
                // will come.
                self.finish(
                    Some(0),
                    Some(Problem::Unsupported(
                        "the server does not know fast batches (nats-server 2.14+)".into(),
                    )),
                );
            }
            Reply::NoResponders => self.fail("no responders (no stream for the subject?)".into()),
        }
        self.progress.send_modify(|p| p.replies += 1);
    }
}

/// `<prefix><seq>.<op>.$FI` (`op` is one digit).
fn reply_subject(prefix: &str, seq: u64, op: u8) -> String {
    debug_assert!(op < 10);
    let mut out = Vec::with_capacity(prefix.len() + 26);
    out.extend_from_slice(prefix.as_bytes());
    push_u64(&mut out, seq);
    out.push(b'.');
    out.push(b'0' + op);
    out.extend_from_slice(b".$FI");
    String::from_utf8(out).expect("a subject and digits are UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_subjects_match_the_protocol_format() {
        let prefix = format!("_INBOX.abc.{FLOW}.fail.");
        for seq in [0, 1, 9, 10, 99, 250, 1_000_000, u64::MAX] {
            for op in [0, 1, 3, 4] {
                assert_eq!(
                    reply_subject(&prefix, seq, op),
                    format!("_INBOX.abc.{FLOW}.fail.{seq}.{op}.$FI")
                );
            }
        }
    }

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

    fn ended(acked: u64, stored: u64, problem: Option<Problem>) -> Progress {
        Progress {
            acked,
            replies: 1,
            end: Some(End { stored, problem }),
        }
    }

    fn outcome(first: u64, sent: usize, stored: usize, problem: Option<Problem>) -> FastOutcome {
        FastOutcome {
            sent,
            stored,
            problem,
            position: first,
        }
    }

    #[test]
    fn each_member_gets_its_share_of_the_stored_prefix() {
        let failed = || Some(Problem::Failed("gap".into()));
        // Three members of 100 messages: 1..=100, 101..=200, 201..=300.
        let p = ended(150, 150, failed());
        assert_eq!(share(1, 100, 100, &p, 300), outcome(1, 100, 100, None));
        assert_eq!(
            share(101, 100, 100, &p, 300),
            outcome(101, 100, 50, failed())
        );
        assert_eq!(
            share(201, 100, 100, &p, 300),
            outcome(201, 100, 0, failed())
        );
        // Confirmed by a flow ack while the batch goes on.
        let going = Progress {
            acked: 250,
            replies: 3,
            end: None,
        };
        assert_eq!(
            share(101, 100, 100, &going, 300),
            outcome(101, 100, 100, None)
        );
        // The final PubAck counts the whole batch.
        let done = ended(250, 300, None);
        assert_eq!(
            share(201, 100, 100, &done, 300),
            outcome(201, 100, 100, None)
        );
        // A member that could not send all its messages has only those stored.
        assert_eq!(
            share(201, 100, 40, &ended(240, 240, failed()), 240),
            outcome(201, 40, 40, failed())
        );
        // A PubAck that counts fewer messages than were sent, without a reason given.
        let short = share(1, 100, 100, &ended(0, 60, None), 100);
        assert_eq!((short.stored, short.sent), (60, 100));
        assert!(
            matches!(&short.problem, Some(Problem::Failed(why)) if why == "the server stored 60 of 100 messages of the fast batch"),
            "{short:?}"
        );
    }

    #[test]
    fn a_refused_fast_batch_is_republished_in_full() {
        let refused = Some(Problem::Unsupported("batch publish is disabled".into()));
        // Even what the server stored before refusing goes again (as duplicates).
        let p = ended(100, 100, refused.clone());
        assert_eq!(share(101, 100, 100, &p, 200), outcome(101, 100, 0, refused));
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

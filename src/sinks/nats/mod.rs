//! The NATS sink (async-nats), configured under `[sink.nats]`.
//!
//! - **JetStream** (`jetstream = true`, the default): every record is published with
//!   header `Nats-Msg-Id` = its `id`, so the stream's duplicate window drops records
//!   that are retried or replayed. A batch's [`Acks`] future resolves only when every
//!   record has its PubAck (a `duplicate` PubAck counts as delivered: the record is in
//!   the stream), or a definite outcome: dead-lettered after a terminal error, or
//!   failed when retriable errors outlast `[sink] delivery_timeout` — for a record
//!   whose publish may have reached the server, outlast the stream's duplicate
//!   window too (`publish::Publisher::retry_limit`: within the window a retry with
//!   the same id cannot store a second copy, so giving up earlier would count as
//!   lost what the stream may hold). At most
//!   `max_outstanding_acks` PubAcks are outstanding across all batches.
//!   With `publish = "fast_batch"` (the default) batches go out as JetStream
//!   fast-ingest batches ([`fast_batch`]: flow acks, one PubAck per fast batch, same
//!   `Nats-Msg-Id`s; consecutive batches append to one open fast batch while the
//!   next is waiting); whatever the server did not confirm is republished per record
//!   (below), and a stream without `allow_batched` turns the sink to per-record
//!   publishing for good.
//! - **Core NATS** (`jetstream = false`): a batch is published, then flushed (a
//!   PING/PONG round trip: the server has received it); a failed flush republishes the
//!   batch within the delivery timeout.
//!
//! Batches publish in the order they were enqueued: each batch waits for the previous
//! one to finish its first publishing pass (a chain of oneshot signals), so records of
//! one subject reach the server in order and several batches' acks overlap. A batch
//! appended to an open fast batch hands the turn on right after sending; the one that
//! commits the fast batch hands it on once the fast batch is settled or its
//! unconfirmed rest republished. Gap mode `fail` stores a prefix of a fast batch, and
//! its batches republish their rest in order, so a fast batch that stops early is not
//! overtaken. A record retried after a failure (server restart) can land after later
//! records of its subject; consumers restore order by `seq` or `ts_recv` if they must.
//!
//! Errors are classified ([`publish::classify`]): timeouts, lost connections and "no
//! responders" while the server restarts are retriable; an oversized message, a
//! subject no stream captures (confirmed by the JetStream API), a publish permission
//! violation and other JetStream API errors are terminal and dead-lettered.
//!
//! The sink spawns nothing. async-nats runs its own connection task (reconnecting on
//! its own, reported through the event callback into the logs, [`NatsStats`] and
//! [`Sink::is_connected`]); `close` drains that connection.

mod config;
mod fast_batch;
mod publish;
mod stats;
mod subject;
mod url_auth;

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream;
use async_nats::{ConnectErrorKind, ConnectOptions, Event, ServerError};
use tokio::sync::{oneshot, Semaphore};
use tracing::{error, info, warn};

pub use config::{NatsConfig, PersistMode, PublishMode, Retention, Storage, StreamSettings};
/// The fast batches' flow settings (for `examples/nats_ceiling.rs`, which mirrors them).
pub use fast_batch::{FLOW as FAST_BATCH_FLOW, MAX_OUTSTANDING_FLOW_ACKS};
pub use stats::NatsStats;
pub use subject::SubjectTemplate;

use super::dead_letter::DeadLetter;
use super::{Acks, Batch, BoxFuture, Sink, SinkCounter, SinkError};
use crate::config::SinkConfig;

/// Errors of the NATS sink's setup and shutdown (publishing errors are classified per
/// record, see [`publish`]).
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("sink.nats.{field}: {why}")]
    Config { field: String, why: String },
    #[error("cannot read credentials file {path}: {source}")]
    Credentials {
        path: String,
        source: std::io::Error,
    },
    #[error("authorization violation: the server at {url} rejected the credentials (check sink.nats token, user/password or credentials)")]
    Auth { url: String },
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("JetStream is not available at {url}: {message} (is the server started with JetStream, -js?)")]
    JetStreamUnavailable { url: String, message: String },
    #[error("JetStream stream {name:?} does not exist and sink.nats.stream.create = false: create it first (subjects {subjects}) or set create = true")]
    StreamMissing { name: String, subjects: String },
    #[error("cannot create or update JetStream stream {name:?}: {message}")]
    Stream { name: String, message: String },
    #[error("closing the connection: {0}")]
    Close(String),
}

impl From<NatsError> for SinkError {
    fn from(e: NatsError) -> Self {
        match e {
            NatsError::Close(message) => SinkError::Close {
                sink: "nats",
                message,
            },
            other => SinkError::Setup {
                sink: "nats",
                message: other.to_string(),
            },
        }
    }
}

/// Builds the NATS sink: validates the config, connects, creates or checks the stream.
/// With `durable_buffer` (a disk buffer in front, which keeps every batch until it is
/// acknowledged) a batch is retried until acknowledged instead of failing after
/// `delivery_timeout` while the buffer still has it (past the stream's duplicate
/// window a retry may store a copy, which consumers dedup by `id`); the drain
/// deadline bounds a shutdown, and the buffer keeps what is unacknowledged then.
pub async fn build(
    config: &SinkConfig,
    dead_letter: DeadLetter,
    durable_buffer: bool,
) -> Result<Arc<dyn Sink>, SinkError> {
    let delivery_timeout = match durable_buffer {
        true => RETRY_WITHOUT_END,
        false => config.delivery_timeout,
    };
    Ok(Arc::new(
        NatsSink::connect(&config.nats, delivery_timeout, dead_letter).await?,
    ))
}

/// The delivery timeout with a disk buffer: none a process will see (ten years).
const RETRY_WITHOUT_END: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 86_400);

/// The NATS sink.
pub struct NatsSink {
    inner: Arc<publish::Publisher>,
    /// The "first pass done" signal of the last enqueued batch: the next batch starts
    /// publishing once it fires (or its sender is gone).
    turn: Mutex<Option<oneshot::Receiver<()>>>,
}

impl NatsSink {
    /// Connects and prepares the stream; the error names the cause.
    pub async fn connect(
        config: &NatsConfig,
        delivery_timeout: Duration,
        dead_letter: DeadLetter,
    ) -> Result<NatsSink, NatsError> {
        let template = config
            .validate()
            .map_err(|(field, why)| NatsError::Config { field, why })?;
        let url = config.redacted_url();
        let stats = Arc::new(NatsStats::default());
        let denied = Arc::new(Mutex::new(HashSet::new()));
        let (servers, url_auth) =
            url_auth::split(&config.url).map_err(|why| NatsError::Config {
                field: "url".into(),
                why,
            })?;
        let mut options = connect_options(config, stats.clone(), denied.clone()).await?;
        match url_auth {
            Some(url_auth::UrlAuth::Token(t)) => options = options.token(t),
            Some(url_auth::UrlAuth::UserPassword(u, p)) => {
                options = options.user_and_password(u, p)
            }
            None => {}
        }
        let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
        let client = options
            .connect(&servers[..])
            .await
            .map_err(|e| match e.kind() {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    NatsError::Auth { url: url.clone() }
                }
                _ => NatsError::Connect {
                    url: url.clone(),
                    message: e.to_string(),
                },
            })?;
        let mut fast_batch = false;
        let mut dedup_window = Duration::ZERO;
        let js = if config.jetstream {
            let js = jetstream::ContextBuilder::new()
                .timeout(config.ack_timeout)
                .max_ack_inflight(config.max_outstanding_acks)
                .backpressure_on_inflight(true)
                .build(client.clone());
            let facts = prepare_stream(&js, config, &template, &url).await?;
            dedup_window = facts.duplicate_window;
            let batched = facts.allow_batched;
            fast_batch = config.publish == PublishMode::FastBatch && batched;
            if config.publish == PublishMode::FastBatch && !batched {
                info!(
                    stream = %config.stream.name,
                    "the stream does not allow fast batches (allow_batched); publishing per message"
                );
            }
            Some(js)
        } else {
            None
        };
        info!(
            url = %url,
            mode = if config.jetstream { "jetstream" } else { "core" },
            stream = config.jetstream.then_some(config.stream.name.as_str()),
            subject = %config.subject,
            max_outstanding_acks = config.max_outstanding_acks,
            fast_batch,
            "nats sink ready"
        );
        Ok(NatsSink {
            inner: Arc::new(publish::Publisher {
                client,
                js,
                template,
                config: config.clone(),
                delivery_timeout,
                dedup_window,
                outstanding: Arc::new(Semaphore::new(config.max_outstanding_acks)),
                dead_letter,
                stats,
                denied,
                fast_batch: AtomicBool::new(fast_batch),
                chain: fast_batch::Chain::default(),
            }),
            turn: Mutex::new(None),
        })
    }

    /// The sink's counters and latency histogram.
    pub fn stats(&self) -> Arc<NatsStats> {
        self.inner.stats.clone()
    }
}

async fn connect_options(
    config: &NatsConfig,
    stats: Arc<NatsStats>,
    denied: Arc<Mutex<HashSet<String>>>,
) -> Result<ConnectOptions, NatsError> {
    let reconnect_max = config.reconnect_delay_max;
    let url = config.redacted_url();
    let mut options = ConnectOptions::new()
        .name(&config.name)
        .connection_timeout(config.connect_timeout)
        .request_timeout(Some(config.ack_timeout))
        .max_reconnects(None)
        .client_capacity(8192)
        .reconnect_delay_callback(move |attempts| {
            // 0, 50 ms, 100 ms, 200 ms, ... up to reconnect_delay_max
            let ms = if attempts <= 1 {
                0
            } else {
                50u64 << (attempts - 2).min(16)
            };
            Duration::from_millis(ms).min(reconnect_max)
        })
        .event_callback(move |event| {
            let (stats, denied, url) = (stats.clone(), denied.clone(), url.clone());
            async move { on_event(event, &stats, &denied, &url) }
        });
    if let Some(token) = &config.token {
        options = options.token(token.expose().to_string());
    }
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.expose().to_string());
    }
    if let Some(path) = &config.credentials {
        options =
            options
                .credentials_file(path)
                .await
                .map_err(|source| NatsError::Credentials {
                    path: path.display().to_string(),
                    source,
                })?;
    }
    if config.tls || config.tls_ca_file.is_some() || config.tls_cert_file.is_some() {
        options = options.require_tls(true);
    }
    if let Some(ca) = &config.tls_ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    Ok(options)
}

/// Connection events: into the logs, the counters, and the set of subjects the server
/// refused (permission violations make those publishes terminal).
fn on_event(event: Event, stats: &NatsStats, denied: &Mutex<HashSet<String>>, url: &str) {
    match event {
        Event::Connected => {
            let n = stats.connects.fetch_add(1, Relaxed) + 1;
            if n > 1 {
                warn!(url, reconnects = n - 1, "nats reconnected");
            } else {
                info!(url, "nats connected");
            }
        }
        Event::Disconnected => {
            stats.disconnects.fetch_add(1, Relaxed);
            warn!(url, "nats connection lost; reconnecting");
        }
        Event::ServerError(ServerError::Other(message)) => {
            const PREFIX: &str = "permissions violation for publish to ";
            if message.to_ascii_lowercase().starts_with(PREFIX) {
                let subject = message[PREFIX.len()..].trim().trim_matches('"').to_string();
                error!(url, %subject, "nats permissions violation: publishing to this subject is not allowed");
                denied
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(subject);
            } else {
                error!(url, error = %message, "nats server error");
            }
        }
        Event::ServerError(e) => error!(url, error = %e, "nats server error"),
        Event::ClientError(e) => warn!(url, error = %e, "nats client error"),
        Event::LameDuckMode => warn!(url, "nats server entered lame duck mode"),
        Event::SlowConsumer(sid) => warn!(url, sid, "nats slow consumer"),
        Event::Draining => info!(url, "nats connection draining"),
        Event::Closed => info!(url, "nats connection closed"),
    }
}

/// Creates/updates the stream (`create = true`) or checks it exists (`create = false`).
async fn prepare_stream(
    js: &jetstream::Context,
    config: &NatsConfig,
    template: &SubjectTemplate,
    url: &str,
) -> Result<StreamFacts, NatsError> {
    use jetstream::context::{CreateStreamErrorKind, GetStreamErrorKind};
    use jetstream::stream;
    let s = &config.stream;
    let subjects = config.stream_subjects(template);
    if s.create {
        let wanted = stream::Config {
            name: s.name.clone(),
            subjects: subjects.clone(),
            retention: match s.retention {
                Retention::Limits => stream::RetentionPolicy::Limits,
                Retention::Interest => stream::RetentionPolicy::Interest,
                Retention::Workqueue => stream::RetentionPolicy::WorkQueue,
            },
            max_age: s.max_age,
            max_bytes: s.max_bytes,
            duplicate_window: s.duplicate_window,
            storage: match s.storage {
                Storage::File => stream::StorageType::File,
                Storage::Memory => stream::StorageType::Memory,
            },
            num_replicas: s.replicas,
            allow_batch_publish: config.publish == PublishMode::FastBatch,
            // Omitted for the default, so servers before 2.12 see the config they know.
            persist_mode: match s.persist_mode {
                PersistMode::Default => None,
                PersistMode::Async => Some(stream::PersistenceMode::Async),
            },
            ..Default::default()
        };
        let info =
            js.create_or_update_stream(wanted)
                .await
                .map_err(|e| match e.kind() {
                    CreateStreamErrorKind::JetStreamUnavailable
                    | CreateStreamErrorKind::TimedOut => NatsError::JetStreamUnavailable {
                        url: url.to_string(),
                        message: e.to_string(),
                    },
                    _ => NatsError::Stream {
                        name: s.name.clone(),
                        message: e.to_string(),
                    },
                })?;
        info!(
            stream = %s.name,
            subjects = ?info.config.subjects,
            messages = info.state.messages,
            duplicate_window = ?info.config.duplicate_window,
            allow_batched = info.config.allow_batch_publish,
            persist_mode = persist_mode_name(info.config.persist_mode),
            "jetstream stream ready (created or updated)"
        );
        if s.persist_mode == PersistMode::Async
            && info.config.persist_mode != Some(stream::PersistenceMode::Async)
        {
            warn!(stream = %s.name, "the server ignored persist_mode = \"async\" (it needs nats-server 2.12+): messages are written before each PubAck");
        }
        return Ok(StreamFacts::of(&info.config));
    }
    let mut stream = js.get_stream(&s.name).await.map_err(|e| match e.kind() {
        GetStreamErrorKind::JetStream(api)
            if api.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
        {
            NatsError::StreamMissing {
                name: s.name.clone(),
                subjects: subjects.join(", "),
            }
        }
        GetStreamErrorKind::Request => NatsError::JetStreamUnavailable {
            url: url.to_string(),
            message: e.to_string(),
        },
        _ => NatsError::Stream {
            name: s.name.clone(),
            message: e.to_string(),
        },
    })?;
    let info = stream.info().await.map_err(|e| NatsError::Stream {
        name: s.name.clone(),
        message: e.to_string(),
    })?;
    let pattern = template.filter();
    if !info
        .config
        .subjects
        .iter()
        .any(|f| subject::filter_covers(f, &pattern))
    {
        warn!(
            stream = %s.name,
            stream_subjects = ?info.config.subjects,
            template = %pattern,
            "the stream does not capture every subject the template can produce; records on other subjects are dead-lettered"
        );
    }
    if info.config.duplicate_window.is_zero() {
        warn!(stream = %s.name, "the stream has no duplicate window: retried records may be stored twice");
    }
    info!(stream = %s.name, subjects = ?info.config.subjects, messages = info.state.messages, allow_batched = info.config.allow_batch_publish, persist_mode = persist_mode_name(info.config.persist_mode), "jetstream stream found");
    Ok(StreamFacts::of(&info.config))
}

/// What the sink needs to know of the stream it publishes to.
struct StreamFacts {
    /// The stream takes fast batches (`allow_batched`).
    allow_batched: bool,
    /// Its duplicate window, as the server has it (an existing stream's may differ
    /// from `[sink.nats.stream] duplicate_window`).
    duplicate_window: Duration,
}

impl StreamFacts {
    fn of(config: &jetstream::stream::Config) -> StreamFacts {
        StreamFacts {
            allow_batched: config.allow_batch_publish,
            duplicate_window: config.duplicate_window,
        }
    }
}

fn persist_mode_name(mode: Option<jetstream::stream::PersistenceMode>) -> &'static str {
    match mode {
        Some(jetstream::stream::PersistenceMode::Async) => "async",
        _ => "default",
    }
}

impl Sink for NatsSink {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn dead_letter(&self) -> DeadLetter {
        self.inner.dead_letter.clone()
    }

    fn enqueue(&self, batch: Batch) -> BoxFuture<'_, Acks> {
        let (done, next_turn) = oneshot::channel();
        let previous = self
            .turn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(next_turn);
        let publisher = self.inner.clone();
        let acks: Acks = Box::pin(async move { publisher.deliver(batch, previous, done).await });
        Box::pin(std::future::ready(acks))
    }

    fn close(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move { self.inner.close().await.map_err(SinkError::from) })
    }

    fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == State::Connected
    }

    fn counters(&self) -> Vec<SinkCounter> {
        let s = &self.inner.stats;
        let g = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed);
        let counter = |name, help, value| SinkCounter { name, help, value };
        let client = self.inner.client.statistics();
        let pending_acks = self
            .inner
            .config
            .max_outstanding_acks
            .saturating_sub(self.inner.outstanding.available_permits());
        vec![
            counter(super::OUTAGES, super::OUTAGES_HELP, g(&s.disconnects)),
            counter(
                "tickbridge_sink_retries_total",
                "Publish attempts repeated after a retriable error (NATS).",
                g(&s.retries),
            ),
            counter(
                "tickbridge_sink_duplicates_total",
                "Records the JetStream duplicate window dropped, by their PubAck (per-message publishing only; NATS).",
                g(&s.duplicates),
            ),
            counter(
                "tickbridge_sink_fast_batches_total",
                "Batches published as JetStream fast batches (NATS).",
                g(&s.fast_batches),
            ),
            // The client's own statistics. `/metrics` types a name without `_total`
            // as a gauge.
            counter(
                "tickbridge_nats_reconnects_total",
                "Connections the NATS client re-established after the first one.",
                client.connects.load(Relaxed).saturating_sub(1),
            ),
            counter(
                "tickbridge_nats_sent_bytes_total",
                "Payload bytes the NATS client wrote (protocol overhead not included).",
                client.out_bytes.load(Relaxed),
            ),
            counter(
                "tickbridge_nats_sent_messages_total",
                "Messages the NATS client wrote (publishes, retries included).",
                client.out_messages.load(Relaxed),
            ),
            counter(
                "tickbridge_nats_pending_acks",
                "JetStream PubAcks awaited at this moment (at most max_outstanding_acks).",
                pending_acks as u64,
            ),
        ]
    }
}

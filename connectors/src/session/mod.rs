//! The session driver: one task per planned connection. It connects (within the
//! exchange's connection-attempt limit), subscribes (paced by the plan's
//! `send_interval`), confirms the subscription, keeps the heartbeat, watches for
//! stale data, feeds every frame to the connection's parser, forwards records into
//! the bounded queue, reconnects with jittered exponential backoff, and rotates the
//! connection before the exchange's forced disconnect — until it is cancelled.
//! Where a plan says the exchange hands out its endpoint per connection
//! ([`crate::contract::EndpointRequest`], KuCoin's token), every attempt first POSTs
//! for a fresh one and connects to it, with the ping rules it announced.
//!
//! Liveness (see [`Heartbeat`]): a client ping unanswered within `pong_timeout`, or no
//! frame at all within `idle_timeout`, ends the connection; data silence alone only
//! raises `status stale` (once per silent period). A quiet symbol on a healthy socket
//! is therefore never reconnected, and a dead socket always is.
//!
//! Status records (one per symbol of the connection) announce every transition
//! downstream: `connected`, `subscribed` (symbols the exchange accepted), `rejected`
//! (with the exchange's reason; only the refused symbols), `stale`, `disconnected`
//! (with the reason). Parsers add `gap` / `resynced`.
//!
//! Rotation: at `max_connection_age` (or when the exchange announces a disconnect) a
//! replacement connection is opened and subscribed while the old one keeps
//! delivering; once the replacement is confirmed, both run for `rotation_overlap`,
//! then the old one is closed. [`dedup::Dedup`] drops the overlap's second copies, so
//! nothing is lost or doubled and nothing is announced: the feed never broke.
//!
//! Bad input never stops a session: malformed, unknown, binary and oversized frames
//! are counted in [`SourceStats`], logged once per kind, and skipped; an unexpected
//! close code is counted and the connection re-opened.
//!
//! Back-pressure: records are sent with `Sender::send().await`; when the queue is full
//! the driver stops reading and the exchange's TCP buffers absorb the stall (the time
//! spent blocked does not count against the exchange's liveness deadlines).
//! Shutdown: on cancellation the driver sends a Close frame on every open connection,
//! waits briefly for the close handshake and returns, dropping its sender.
//!
//! The loop is a `select!` over the connections' sockets, their REST answers, the
//! connect attempt and one timer; what the timer and the frames mean is decided by
//! small types, each tested on paused time: [`liveness::Liveness`] (pings, pong
//! deadline, idle and stale), [`pacing::Pacer`] (client frame spacing and subscribe
//! windows), [`subscriptions::Subscriptions`] (per-request state, splitting refused
//! requests, what a reconnect asks again, the confirmation deadline),
//! [`rotation::Rotation`] (when to replace a connection, the overlap) with
//! [`dedup::Dedup`] (the overlap's second copies), and [`status::StatusRecords`].
//!
//! One task, no detached work: both connections of a rotation, the connect attempt in
//! progress and the timers are branches of one `select!`; REST requests of a parser
//! run in the connection's `JoinSet` (joined when it closes).

mod conn;
pub mod dedup;
pub mod gate;
pub mod liveness;
pub mod pacing;
pub mod rotation;
pub mod status;
pub mod subscriptions;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tickbridge_schema::{Data, Record, StatusEvent};
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use self::conn::{Conn, Role, Ws};
use self::dedup::Dedup;
use self::gate::{host_of, ConnectGate};
use self::liveness::Alarm;
use self::rotation::Rotation;
use self::status::{Scope, StatusRecords};
use self::subscriptions::{Subscriptions, Update};
use crate::contract::{
    BinaryFrames, ConnectionPlan, Decoded, Endpoint, FrameParser, Heartbeat, Limits, ParseError,
    Parsed,
};
use crate::rest::RestResponse;
use crate::stats::SourceStats;
use crate::time::now_ns;

/// Observes every frame a session sends and receives (the `record` command's capture
/// writer). Both connections of a rotation report under the session's `conn` number.
pub trait FrameTap: Send + Sync {
    fn opened(&self, conn: u64, url: &str);
    fn sent(&self, conn: u64, text: &str);
    fn received_text(&self, conn: u64, text: &str);
    fn received_binary(&self, conn: u64, payload: &[u8]);
    fn closed(&self, conn: u64);
    /// A REST response the session fetched for its parser (an order-book snapshot).
    fn http(&self, _url: &str, _body: &str) {}
}

/// Reconnect backoff bounds.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Jittered exponential backoff: a delay in [d/2, d] with d = min(max, min·2^attempt).
    /// The jitter spreads the reconnects of many connections dropped at once (an
    /// exchange restart) so they do not arrive as one storm.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.min.saturating_mul(1u32 << attempt.min(16));
        let ceiling = exp.min(self.max);
        let factor = rand::rng().random_range(0.5..=1.0);
        ceiling.mul_f64(factor)
    }
}

/// Everything one session needs.
pub struct SessionSpec {
    pub exchange: &'static str,
    /// Connection number within the source (logs, captures).
    pub conn: u64,
    pub plan: ConnectionPlan,
    /// The connector's rules with the config's overrides applied.
    pub heartbeat: Heartbeat,
    pub limits: Limits,
    pub backoff: Backoff,
    /// Text frames larger than this are counted and skipped. The WebSocket layer
    /// itself refuses frames above [`hard_frame_limit`] (the connection is re-opened:
    /// a stream cannot be resynchronised in the middle of a frame).
    pub max_frame_bytes: usize,
    /// How the exchange's binary frames carry messages ([`crate::Connector::binary_frames`]).
    pub binary: BinaryFrames,
    pub connect_timeout: Duration,
    /// How long the old connection of a rotation stays open after its replacement is
    /// confirmed (both deliver; duplicates are dropped).
    pub rotation_overlap: Duration,
}

/// The WebSocket layer's own frame limit for a configured `max_frame_bytes`: frames
/// between the two are read and skipped (bounded memory), larger ones end the connection.
pub fn hard_frame_limit(max_frame_bytes: usize) -> usize {
    max_frame_bytes.saturating_mul(4).max(1 << 20)
}

/// Initial capacity of a connection's WebSocket read buffer. tungstenite allocates it
/// eagerly and zero-fills all of it on the first read (its default, 128 KiB, was most
/// of an idle connection's memory); 8 KiB holds dozens of typical frames per read. A
/// larger frame still arrives whole: the buffer grows to the frame's size (up to
/// [`hard_frame_limit`]).
pub const READ_BUFFER_BYTES: usize = 8 << 10;

/// Why a connection (or the session) ended.
#[derive(Debug)]
enum Ended {
    Cancelled,
    /// The downstream queue is closed: the pipeline is gone; stop for good.
    QueueClosed,
    Dropped(String),
}

/// An opened socket, with the endpoint it was handed out with (see
/// [`crate::contract::EndpointRequest`]).
type Opened = (Ws, Option<Endpoint>);

type Connecting = Pin<Box<dyn Future<Output = Result<Opened, String>> + Send>>;

/// One connection's driver.
pub struct Session {
    spec: SessionSpec,
    make_parser: Box<dyn Fn() -> Box<dyn FrameParser> + Send + Sync>,
    out: mpsc::Sender<Record>,
    stats: Arc<SourceStats>,
    tap: Option<Arc<dyn FrameTap>>,
    /// Kinds of trouble already logged at warn level (each is logged once, then counted).
    logged: HashSet<String>,
    dedup: Dedup,
    gate: Option<Arc<ConnectGate>>,
    /// Time spent blocked on the full queue since the deadlines were last shifted.
    stalled: Duration,
    /// The subscription state the next connection starts from (what the last active
    /// connection confirmed or still awaited; refused symbols are not asked again).
    subs: Subscriptions,
    status: StatusRecords,
}

impl Session {
    pub fn new(
        spec: SessionSpec,
        make_parser: Box<dyn Fn() -> Box<dyn FrameParser> + Send + Sync>,
        out: mpsc::Sender<Record>,
        stats: Arc<SourceStats>,
        tap: Option<Arc<dyn FrameTap>>,
    ) -> Self {
        let gate = spec
            .limits
            .connect_attempts
            .map(|limit| ConnectGate::shared(host_of(&spec.plan.url), limit));
        let subs = Subscriptions::new(&spec.plan, spec.heartbeat.subscribe_timeout);
        let status = StatusRecords::new(spec.exchange, spec.conn, spec.plan.symbols.clone());
        Session {
            subs,
            status,
            spec,
            make_parser,
            out,
            stats,
            tap,
            logged: HashSet::new(),
            dedup: Dedup::default(),
            gate,
            stalled: Duration::ZERO,
        }
    }

    /// Runs until cancelled (or the queue closes), reconnecting after every drop.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut active: Option<Conn> = None;
        let mut standby: Option<Conn> = None;
        let mut connecting: Option<(Role, Connecting)> = None;
        // When the active connection is (re)opened next; `None` while one is open.
        let mut next_connect: Option<Instant> = Some(Instant::now());
        let mut attempt: u32 = 0;
        let mut rotation = Rotation::new(
            self.spec.heartbeat.max_connection_age,
            self.spec.rotation_overlap,
        );
        let mut gen: u64 = 0;
        // Filtering goes on a little after two connections met: the newer one may lag.
        let settle = rotation.settle();

        let ended = loop {
            let now = Instant::now();
            if connecting.is_none() {
                if active.is_none() {
                    if next_connect.is_some_and(|t| t <= now) {
                        next_connect = None;
                        connecting = Some((Role::Active, self.connect()));
                    }
                } else if standby.is_none() {
                    let why = active.as_ref().and_then(|a| {
                        rotation.reason(a.subscribed, a.opened, a.rotate_requested.as_deref(), now)
                    });
                    if let Some(why) = why {
                        SourceStats::add(&self.stats.rotations, 1);
                        info!(exchange = self.spec.exchange, conn = self.spec.conn, %why, "rotating: opening a replacement connection");
                        // Compare what both connections forward from now on.
                        self.dedup.begin();
                        connecting = Some((Role::Standby, self.connect()));
                    }
                }
            }

            let mut wake = now + Duration::from_secs(3600);
            if active.is_none() && connecting.is_none() {
                if let Some(t) = next_connect {
                    wake = wake.min(t);
                }
            }
            for c in [active.as_mut(), standby.as_mut()].into_iter().flatten() {
                wake = wake.min(c.next_wake());
            }
            if let Some(t) = rotation.overlap_ends() {
                wake = wake.min(t);
            }
            if let (Some(a), None, None) = (&active, &standby, &connecting) {
                if let Some(t) = rotation.due_at(a.opened, now) {
                    wake = wake.min(t);
                }
            }

            let mut active_end: Option<Ended> = None;
            let mut standby_end: Option<Ended> = None;
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ended::Cancelled,
                result = poll_connecting(&mut connecting), if connecting.is_some() => {
                    let role = connecting.take().map(|(r, _)| r).unwrap_or(Role::Active);
                    match result {
                        Ok(ws) => {
                            gen += 1;
                            // A replacement asks for what the active connection has.
                            let subs = match (role, &active) {
                                (Role::Standby, Some(a)) => a.subs.renewed(),
                                _ => self.subs.renewed(),
                            };
                            match self.opened(ws, role, gen, subs).await {
                                Ok(c) if role == Role::Active => active = Some(c),
                                Ok(c) => standby = Some(c),
                                Err(e) => break e,
                            }
                        }
                        Err(why) => {
                            SourceStats::add(&self.stats.connect_failures, 1);
                            warn!(exchange = self.spec.exchange, conn = self.spec.conn, reason = %why, "connection attempt failed");
                            match role {
                                Role::Active => {
                                    next_connect = Some(Instant::now() + self.spec.backoff.delay(attempt));
                                    attempt = attempt.saturating_add(1);
                                }
                                Role::Standby => {
                                    self.dedup.end_after(Instant::now());
                                    rotation.failed(Instant::now(), |a| self.spec.backoff.delay(a));
                                }
                            }
                        }
                    }
                }
                event = next_event(&mut active), if active.is_some() => {
                    if let Some(c) = active.as_mut() {
                        active_end = self.on_event(c, event).await.err();
                    }
                }
                event = next_event(&mut standby), if standby.is_some() => {
                    if let Some(c) = standby.as_mut() {
                        standby_end = self.on_event(c, event).await.err();
                    }
                }
                _ = sleep_until(wake) => {
                    let now = Instant::now();
                    if let Some(c) = active.as_mut() {
                        active_end = self.on_timer(c, now).await.err();
                    }
                    if let Some(c) = standby.as_mut() {
                        standby_end = self.on_timer(c, now).await.err();
                    }
                }
            }

            // Time blocked on the queue is not the exchange's silence.
            if !self.stalled.is_zero() {
                let by = std::mem::take(&mut self.stalled);
                for c in [active.as_mut(), standby.as_mut()].into_iter().flatten() {
                    c.shift_deadlines(by);
                }
            }

            match standby_end {
                None => {}
                Some(Ended::Dropped(why)) => {
                    warn!(exchange = self.spec.exchange, conn = self.spec.conn, reason = %why, "replacement connection failed; the current one carries on");
                    if let Some(c) = standby.take() {
                        self.close(c, "replacement failed", false).await;
                    }
                    self.dedup.end_after(Instant::now());
                    rotation.failed(Instant::now(), |a| self.spec.backoff.delay(a));
                }
                Some(e) => break e,
            }
            match active_end {
                None => {}
                Some(Ended::Dropped(why)) => {
                    let lived = active.as_ref().map(|c| c.age(Instant::now()));
                    if let Some(c) = active.take() {
                        self.close(c, "dropped", false).await;
                    }
                    rotation.done();
                    if standby.as_ref().is_some_and(|s| s.subscribed) {
                        // The replacement is already live: the feed did not break.
                        info!(exchange = self.spec.exchange, conn = self.spec.conn, reason = %why, "connection lost during rotation; the replacement takes over");
                        active = standby.take().map(|mut s| {
                            s.role = Role::Active;
                            s
                        });
                        self.dedup.end_after(Instant::now() + settle);
                    } else {
                        if let Some(s) = standby.take() {
                            self.close(s, "rotation abandoned", false).await;
                        }
                        if matches!(connecting, Some((Role::Standby, _))) {
                            connecting = None;
                        }
                        SourceStats::add(&self.stats.reconnects, 1);
                        warn!(exchange = self.spec.exchange, conn = self.spec.conn, reason = %why, "connection lost; reconnecting");
                        if self
                            .emit_status(
                                StatusEvent::Disconnected,
                                Some(&why),
                                Scope::AllBut(&Default::default()),
                            )
                            .await
                            .is_err()
                        {
                            break Ended::QueueClosed;
                        }
                        // A connection that lived a while resets the backoff.
                        if lived
                            .is_some_and(|l| l > self.spec.backoff.max.max(Duration::from_secs(30)))
                        {
                            attempt = 0;
                        }
                        next_connect = Some(Instant::now() + self.spec.backoff.delay(attempt));
                        attempt = attempt.saturating_add(1);
                        // The first records of the next connection may repeat the last
                        // ones of this one (Coinbase `last_match`): compared until it
                        // is subscribed (+ overlap, see `on_settled`).
                        self.dedup.begin();
                    }
                }
                Some(e) => break e,
            }

            // Rotation: once the replacement is confirmed, overlap, then close the old.
            if standby.as_ref().is_some_and(|s| s.subscribed) {
                rotation.confirmed(Instant::now());
            }
            if rotation.overlap_over(Instant::now()) {
                if let Some(old) = active.take() {
                    self.close(old, "rotated", true).await;
                }
                active = standby.take().map(|mut s| {
                    s.role = Role::Active;
                    s
                });
                rotation.done();
                // The replacement may still deliver what the old one already forwarded.
                self.dedup.end_after(Instant::now() + settle);
                info!(
                    exchange = self.spec.exchange,
                    conn = self.spec.conn,
                    "rotated: the replacement connection is the active one"
                );
            }
        };

        if matches!(ended, Ended::Cancelled) {
            if let Some(s) = standby.take() {
                self.close(s, "shutdown", true).await;
            }
            if let Some(a) = active.take() {
                self.close(a, "shutdown", true).await;
                let _ = self
                    .emit_status(
                        StatusEvent::Disconnected,
                        Some("shutdown"),
                        Scope::AllBut(&Default::default()),
                    )
                    .await;
            }
        } else {
            for c in [standby.take(), active.take()].into_iter().flatten() {
                self.close(c, "stopping", false).await;
            }
        }
    }
}

impl Session {
    /// A connection attempt: waits for the exchange's connection-attempt window, asks
    /// for the endpoint where the plan says so (a fresh one every attempt), then
    /// connects within `connect_timeout`.
    fn connect(&self) -> Connecting {
        let plan_url = self.spec.plan.url.clone();
        let endpoint_request = self.spec.plan.endpoint.clone();
        let hard = hard_frame_limit(self.spec.max_frame_bytes);
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .max_message_size(Some(hard))
            .max_frame_size(Some(hard));
        let connect_timeout = self.spec.connect_timeout;
        let gate = self.gate.clone();
        let stats = self.stats.clone();
        let exchange = self.spec.exchange;
        Box::pin(async move {
            if let Some(gate) = gate {
                let wait = gate.reserve();
                if !wait.is_zero() {
                    SourceStats::add(&stats.connect_throttled, 1);
                    info!(
                        exchange,
                        ?wait,
                        "connection attempts at the exchange's limit; waiting"
                    );
                    sleep(wait).await;
                }
            }
            let endpoint = match endpoint_request {
                None => None,
                Some(e) => {
                    let answer = crate::rest::post(e.request).await;
                    let body = answer.result?;
                    let path = crate::rest::url_path(&answer.url);
                    Some((e.resolve)(&body).map_err(|why| format!("POST {path}: {why}"))?)
                }
            };
            let url = endpoint.as_ref().map_or(plan_url, |e| e.url.clone());
            // Logs and errors never name the query (a handed-out token).
            let shown = crate::rest::redacted(&url);
            let connect =
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true);
            match timeout(connect_timeout, connect).await {
                Err(_) => Err(format!(
                    "connect to {shown} timed out after {connect_timeout:?}"
                )),
                Ok(Err(e)) => Err(format!("connect to {shown}: {e}")),
                Ok(Ok((ws, _response))) => Ok((ws, endpoint)),
            }
        })
    }

    /// Sets up a freshly opened connection, starting from the subscription state `subs`.
    async fn opened(
        &mut self,
        (ws, endpoint): Opened,
        role: Role,
        gen: u64,
        subs: Subscriptions,
    ) -> Result<Conn, Ended> {
        SourceStats::add(&self.stats.connects, 1);
        let mut heartbeat = self.spec.heartbeat.clone();
        let url = match &endpoint {
            None => self.spec.plan.url.clone(),
            Some(e) => {
                heartbeat.ping_interval = e.ping_interval.or(heartbeat.ping_interval);
                heartbeat.pong_timeout = e.pong_timeout.unwrap_or(heartbeat.pong_timeout);
                // A handed-out URL's query is a credential: it is neither logged nor
                // recorded.
                crate::rest::redacted(&e.url)
            }
        };
        info!(exchange = self.spec.exchange, conn = self.spec.conn, gen, ?role, %url, "connected");
        if let Some(tap) = &self.tap {
            tap.opened(self.spec.conn, &url);
        }
        let mut c = Conn::new(
            gen,
            role,
            ws,
            (self.make_parser)(),
            subs,
            &heartbeat,
            &self.spec.limits,
            self.spec.plan.send_interval,
            Instant::now(),
        );
        if role == Role::Active {
            self.emit_status(
                StatusEvent::Connected,
                None,
                Scope::AllBut(&Default::default()),
            )
            .await?;
        }
        if c.subs.is_settled() {
            // Streams named in the URL: the open connection is the subscription.
            self.on_settled(&mut c, true).await?;
        }
        // Send the first subscribe request at once (exchanges want one promptly).
        self.send_due(&mut c, Instant::now()).await?;
        Ok(c)
    }

    /// Every subscribe request was answered (`accepted`: at least one was confirmed).
    async fn on_settled(&mut self, c: &mut Conn, accepted: bool) -> Result<(), Ended> {
        if !accepted {
            warn!(
                exchange = self.spec.exchange,
                conn = self.spec.conn,
                "the exchange refused every subscription of this connection"
            );
            return Ok(());
        }
        c.subscribed = true;
        c.live.watch_data(Instant::now());
        self.stats.subscribed_connections.fetch_add(1, Relaxed);
        let refused = c.subs.refused().len();
        info!(
            exchange = self.spec.exchange,
            conn = self.spec.conn,
            gen = c.gen,
            symbols = self.spec.plan.symbols.len().saturating_sub(refused),
            refused,
            "subscribed"
        );
        if c.role == Role::Active {
            // A reconnect's first records have arrived or are about to: compare them
            // with the last forwarded ones a little longer, then stop filtering.
            self.dedup
                .end_after(Instant::now() + self.spec.rotation_overlap + Duration::from_secs(2));
            let refused = c.subs.refused().clone();
            self.emit_status(StatusEvent::Subscribed, None, Scope::AllBut(&refused))
                .await?;
        }
        Ok(())
    }

    /// Acts on what an answer changed in the subscription state.
    async fn on_update(&mut self, c: &mut Conn, update: Update) -> Result<(), Ended> {
        let Update {
            rejected,
            send,
            settled,
            unmatched,
        } = update;
        if unmatched {
            debug!(
                exchange = self.spec.exchange,
                conn = self.spec.conn,
                "an answer to no request of this connection"
            );
        }
        for request in send {
            c.pacer.subscribe(request.text);
        }
        if let Some((symbols, reason)) = rejected {
            SourceStats::add(&self.stats.rejected, 1);
            let scope = if symbols.is_empty() {
                Scope::AllBut(&Default::default())
            } else {
                Scope::Only(&symbols)
            };
            self.emit_status(StatusEvent::Rejected, Some(&reason), scope)
                .await?;
        }
        if let Some(accepted) = settled {
            self.on_settled(c, accepted).await?;
        }
        Ok(())
    }

    async fn on_event(&mut self, c: &mut Conn, event: ConnEvent) -> Result<(), Ended> {
        match event {
            ConnEvent::Frame(msg) => self.on_message(c, msg).await,
            ConnEvent::Rest(response) => self.on_rest(c, response).await,
        }
    }

    /// One message's text (a text frame, or a decoded binary one): counted, size
    /// checked, parsed, and its records and requests handled.
    async fn on_text(&mut self, c: &mut Conn, text: &str, now: Instant) -> Result<(), Ended> {
        SourceStats::add(&self.stats.frames, 1);
        SourceStats::add(&self.stats.bytes, text.len() as u64);
        if text.len() > self.spec.max_frame_bytes {
            SourceStats::add(&self.stats.oversized_frames, 1);
            let (n, max) = (text.len(), self.spec.max_frame_bytes);
            self.log_once("oversized".into(), || {
                format!("skipping a text frame of {n} bytes (max_frame_bytes = {max})")
            });
            return Ok(());
        }
        let ts = now_ns();
        let result = c.parser.parse(text, ts, &mut c.records);
        self.on_parsed(c, result).await?;
        self.after_parse(c, now).await
    }

    /// Handles what the socket yielded.
    async fn on_message(
        &mut self,
        c: &mut Conn,
        msg: Option<Result<Message, WsError>>,
    ) -> Result<(), Ended> {
        let msg = match msg {
            None => return Err(Ended::Dropped("the exchange ended the stream".into())),
            Some(Err(WsError::Capacity(e))) => {
                SourceStats::add(&self.stats.oversized_frames, 1);
                let limit = hard_frame_limit(self.spec.max_frame_bytes);
                self.log_once("oversized hard".into(), || {
                    format!("a frame above the WebSocket limit of {limit} bytes ({e}); re-opening the connection")
                });
                return Err(Ended::Dropped(format!("frame too large: {e}")));
            }
            Some(Err(WsError::Utf8)) => {
                SourceStats::add(&self.stats.parse_errors, 1);
                SourceStats::add(&self.stats.parse_malformed, 1);
                self.log_once("utf8".into(), || {
                    "a text frame that is not UTF-8; the WebSocket layer ends the connection".into()
                });
                return Err(Ended::Dropped("invalid UTF-8 in a text frame".into()));
            }
            Some(Err(e)) => return Err(Ended::Dropped(format!("read: {e}"))),
            Some(Ok(m)) => m,
        };
        let now = Instant::now();
        c.live.frame(now);
        match msg {
            Message::Text(text) => {
                if let Some(tap) = &self.tap {
                    if text.len() <= self.spec.max_frame_bytes {
                        tap.received_text(self.spec.conn, text.as_str());
                    }
                }
                self.on_text(c, text.as_str(), now).await?;
            }
            Message::Binary(payload) => {
                if let Some(tap) = &self.tap {
                    tap.received_binary(self.spec.conn, &payload);
                }
                // The limit on what a frame may inflate to is the text limit plus one
                // byte, so an oversized message is still counted as oversized.
                let limit = self.spec.max_frame_bytes.saturating_add(1);
                match self.spec.binary.decode(&payload, limit) {
                    Decoded::Text(text) => self.on_text(c, &text, now).await?,
                    Decoded::Oversized => {
                        SourceStats::add(&self.stats.frames, 1);
                        SourceStats::add(&self.stats.oversized_frames, 1);
                        let max = self.spec.max_frame_bytes;
                        self.log_once("oversized".into(), || {
                            format!("skipping a binary frame whose message exceeds max_frame_bytes = {max}")
                        });
                    }
                    Decoded::Invalid(why) => {
                        SourceStats::add(&self.stats.frames, 1);
                        SourceStats::add(&self.stats.parse_errors, 1);
                        SourceStats::add(&self.stats.parse_malformed, 1);
                        self.log_once("binary invalid".into(), || {
                            format!("skipping a binary frame that does not decode ({why})")
                        });
                    }
                    Decoded::Unexpected => {
                        SourceStats::add(&self.stats.binary_frames, 1);
                        let n = payload.len();
                        self.log_once("binary".into(), || {
                            format!(
                                "skipping a binary frame of {n} bytes (this exchange sends text)"
                            )
                        });
                    }
                }
            }
            Message::Close(frame) => {
                let why = match frame {
                    Some(f) => {
                        let code = u16::from(f.code);
                        if !matches!(f.code, CloseCode::Normal | CloseCode::Away) {
                            SourceStats::add(&self.stats.unexpected_closes, 1);
                            let reason = f.reason.to_string();
                            self.log_once(format!("close {code}"), || {
                                format!("the exchange closed the connection with code {code} ({reason})")
                            });
                        }
                        format!("closed by the exchange (code {code} {})", f.reason)
                    }
                    None => "closed by the exchange (no code)".to_string(),
                };
                return Err(Ended::Dropped(why));
            }
            // Pings are answered by tungstenite itself (flushed on the next read).
            Message::Ping(_) => {}
            Message::Pong(_) => c.live.pong(),
            Message::Frame(_) => {}
        }
        Ok(())
    }

    /// Acts on a parser's classification of a frame.
    async fn on_parsed(
        &mut self,
        c: &mut Conn,
        result: Result<Parsed, ParseError>,
    ) -> Result<(), Ended> {
        match result {
            Ok(Parsed::Data) => {
                if c.live.data() {
                    self.stats.stale_ended();
                    info!(
                        exchange = self.spec.exchange,
                        conn = self.spec.conn,
                        "data resumed"
                    );
                }
            }
            Ok(Parsed::Acked(answer)) => {
                debug!(
                    exchange = self.spec.exchange,
                    conn = self.spec.conn,
                    ?answer,
                    "subscription confirmed"
                );
                let update = c.subs.acked(&answer);
                self.on_update(c, update).await?;
            }
            Ok(Parsed::Refused(refusal)) => {
                warn!(exchange = self.spec.exchange, conn = self.spec.conn, answer = refusal.answer.as_ref().map(tracing::field::debug), symbols = ?refusal.symbols, reason = %refusal.reason, "the exchange refused a subscription");
                let update = c.subs.refused_by(refusal);
                self.on_update(c, update).await?;
            }
            Ok(Parsed::Heartbeat) => c.live.pong(),
            Ok(Parsed::Info(what)) => {
                debug!(exchange = self.spec.exchange, conn = self.spec.conn, %what, "info")
            }
            Ok(Parsed::Ignored(kind)) => self.log_once(format!("ignored {kind}"), || {
                format!("skipping frames ({kind}): not normalized (logged once)")
            }),
            Ok(Parsed::Reconnect(why)) => {
                info!(exchange = self.spec.exchange, conn = self.spec.conn, %why, "the exchange announced a disconnect; replacing the connection early");
                c.rotate_requested = Some(why);
            }
            Err(e) => {
                let counter = match &e {
                    ParseError::Unknown(_) => &self.stats.unknown_frames,
                    ParseError::Malformed(_) => {
                        SourceStats::add(&self.stats.parse_errors, 1);
                        &self.stats.parse_malformed
                    }
                    ParseError::Invalid { .. } => {
                        SourceStats::add(&self.stats.parse_errors, 1);
                        &self.stats.parse_invalid
                    }
                };
                SourceStats::add(counter, 1);
                let msg = e.to_string();
                let label = e.label();
                self.log_once(format!("parse {label}"), || {
                    format!("skipping a bad frame of kind {label} (further ones are counted, not logged): {msg}")
                });
            }
        }
        Ok(())
    }

    /// After every frame: the parser's reply (an app-level pong, at once), its
    /// resubscriptions (paced), its REST requests, and its records.
    /// `at`: when the input (frame or REST answer) arrived.
    async fn after_parse(&mut self, c: &mut Conn, at: Instant) -> Result<(), Ended> {
        if let Some(reply) = c.parser.reply() {
            self.send(c, reply).await?;
        }
        for text in c.parser.resubscribe() {
            c.pacer.subscribe(text);
        }
        c.rest.start(c.parser.rest_requests());
        let mut records = std::mem::take(&mut c.records);
        let result = self.forward(&mut records, at).await;
        c.records = records;
        result
    }

    /// Hands a REST answer (an order-book snapshot) to the parser and forwards the
    /// records it yields.
    async fn on_rest(&mut self, c: &mut Conn, response: RestResponse) -> Result<(), Ended> {
        if let (Some(tap), Ok(body)) = (&self.tap, &response.result) {
            tap.http(&response.url, body);
        }
        let body = response.result.as_deref().map_err(String::as_str);
        let parsed = c
            .parser
            .on_rest(&response.key, body, now_ns(), &mut c.records);
        self.stats.rest_answered(&response.result, &parsed);
        match parsed {
            Ok(Parsed::Info(what)) => {
                info!(exchange = self.spec.exchange, conn = self.spec.conn, %what, "REST")
            }
            Ok(_) => {}
            Err(e) => {
                SourceStats::add(&self.stats.parse_errors, 1);
                warn!(exchange = self.spec.exchange, conn = self.spec.conn, url = %crate::rest::redacted(&response.url), error = %e, "unusable REST response");
            }
        }
        self.after_parse(c, Instant::now()).await
    }

    /// Liveness, stale watchdog, subscription deadline, paced sends, pings.
    async fn on_timer(&mut self, c: &mut Conn, now: Instant) -> Result<(), Ended> {
        let alarm = c.live.check(now);
        match &alarm {
            Some(Alarm::Idle(why)) => {
                SourceStats::add(&self.stats.idle_timeouts, 1);
                return Err(Ended::Dropped(why.clone()));
            }
            Some(Alarm::NoPong(why)) => {
                SourceStats::add(&self.stats.pong_timeouts, 1);
                return Err(Ended::Dropped(why.clone()));
            }
            _ => {}
        }
        if let Some(reason) = c.subs.timed_out(now) {
            SourceStats::add(&self.stats.subscribe_timeouts, 1);
            SourceStats::add(&self.stats.rejected, 1);
            if c.role == Role::Standby {
                return Err(Ended::Dropped(reason));
            }
            // Data that already flows is kept; the gap in confirmation is reported.
            warn!(exchange = self.spec.exchange, conn = self.spec.conn, %reason, "subscription unconfirmed");
            let refused = c.subs.refused().clone();
            self.emit_status(
                StatusEvent::Rejected,
                Some(&reason),
                Scope::AllBut(&refused),
            )
            .await?;
        }
        if let Some(Alarm::Stale(reason)) = alarm {
            self.stats.stale_began();
            info!(exchange = self.spec.exchange, conn = self.spec.conn, %reason, "stale feed");
            if c.role == Role::Active {
                let refused = c.subs.refused().clone();
                self.emit_status(StatusEvent::Stale, Some(&reason), Scope::AllBut(&refused))
                    .await?;
            }
        }
        self.send_due(c, now).await?;
        if c.live.ping_due(now) && now >= c.pacer.next_slot() {
            let msg = match self.spec.heartbeat.app_ping {
                Some(text) => Message::text(text),
                None => Message::Ping(Default::default()),
            };
            c.live.ping_sent(now);
            c.pacer.took_slot(now);
            if let Err(e) = c.write.send(msg).await {
                return Err(Ended::Dropped(format!("sending a ping: {e}")));
            }
        }
        Ok(())
    }

    /// Sends the next queued client frame if its turn has come.
    async fn send_due(&mut self, c: &mut Conn, now: Instant) -> Result<(), Ended> {
        if let Some(text) = c.pacer.pop_due(now) {
            self.send(c, text).await?;
        }
        Ok(())
    }

    async fn send(&mut self, c: &mut Conn, text: String) -> Result<(), Ended> {
        if let Some(tap) = &self.tap {
            tap.sent(self.spec.conn, &text);
        }
        c.write
            .send(Message::text(text))
            .await
            .map_err(|e| Ended::Dropped(format!("sending: {e}")))
    }

    /// Closes a connection: a Close frame (and, when `wait`, up to a second for the
    /// exchange's reply), its REST requests joined.
    async fn close(&mut self, mut c: Conn, why: &'static str, wait: bool) {
        if c.role == Role::Active {
            // The next connection asks for what this one had.
            self.subs = c.subs.clone();
        }
        if c.subscribed {
            self.stats.subscribed_connections.fetch_sub(1, Relaxed);
        }
        // A connection closed in a stale period leaves the stale gauge.
        if c.live.data() {
            self.stats.stale_ended();
        }
        if let Some(tap) = &self.tap {
            tap.closed(self.spec.conn);
        }
        debug!(
            exchange = self.spec.exchange,
            conn = self.spec.conn,
            gen = c.gen,
            why,
            "closing"
        );
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: why.into(),
        }));
        // Bounded: a drain must not wait on a slow exchange.
        let _ = timeout(Duration::from_secs(1), async {
            if c.write.send(close).await.is_ok() && wait {
                while let Some(Ok(m)) = c.read.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            }
        })
        .await;
        c.rest.shutdown().await;
    }

    /// Sends the frame's records downstream, in order, without the second copies of a
    /// rotation's overlap.
    /// `at`: when the frame arrived.
    async fn forward(&mut self, records: &mut Vec<Record>, at: Instant) -> Result<(), Ended> {
        if records.is_empty() {
            return Ok(());
        }
        for r in records.drain(..) {
            if !self.dedup.admit(&r, at) {
                SourceStats::add(&self.stats.duplicates_dropped, 1);
                continue;
            }
            let counter = match &r.data {
                Data::Status(s) => {
                    if s.event == StatusEvent::Gap {
                        SourceStats::add(&self.stats.gaps, 1);
                    }
                    &self.stats.status_records
                }
                _ => &self.stats.records,
            };
            if let Err(full) = self.out.try_send(r) {
                let r = match full {
                    mpsc::error::TrySendError::Closed(_) => return Err(Ended::QueueClosed),
                    mpsc::error::TrySendError::Full(r) => r,
                };
                // The queue is full: wait (back-pressure) and account the stall.
                let blocked = Instant::now();
                self.out.send(r).await.map_err(|_| Ended::QueueClosed)?;
                self.stalled += blocked.elapsed();
            }
            // Counted once in the queue: the pipeline's `received` is exactly the sum
            // of what the sources counted.
            SourceStats::add(counter, 1);
        }
        Ok(())
    }

    /// Emits one status record per symbol of `scope`.
    async fn emit_status(
        &mut self,
        event: StatusEvent,
        reason: Option<&str>,
        scope: Scope<'_>,
    ) -> Result<(), Ended> {
        let (records, unknown) = self.status.build(event, reason, scope, now_ns());
        for native in unknown {
            warn!(exchange = self.spec.exchange, conn = self.spec.conn, %native, "a refusal names a symbol this connection did not ask for");
        }
        for r in records {
            self.out.send(r).await.map_err(|_| Ended::QueueClosed)?;
            SourceStats::add(&self.stats.status_records, 1);
        }
        Ok(())
    }

    fn log_once(&mut self, key: String, message: impl FnOnce() -> String) {
        if self.logged.insert(key) {
            warn!(
                exchange = self.spec.exchange,
                conn = self.spec.conn,
                "{}",
                message()
            );
        }
    }
}

/// The connect attempt in progress (pending when there is none).
async fn poll_connecting(connecting: &mut Option<(Role, Connecting)>) -> Result<Opened, String> {
    match connecting {
        Some((_, fut)) => fut.await,
        None => std::future::pending().await,
    }
}

/// What one connection yielded: a frame (or the end of the stream), or the answer to
/// one of its parser's REST requests.
enum ConnEvent {
    Frame(Option<Result<Message, WsError>>),
    Rest(RestResponse),
}

/// The next event of a connection (pending when there is none).
async fn next_event(c: &mut Option<Conn>) -> ConnEvent {
    match c {
        Some(c) => tokio::select! {
            biased;
            // Before frames: a snapshot is rare and its diffs are waiting for it.
            r = c.rest.next() => ConnEvent::Rest(r),
            m = c.read.next() => ConnEvent::Frame(m),
        },
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d0 = b.delay(0);
            assert!(
                d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100),
                "{d0:?}"
            );
            let d3 = b.delay(3);
            assert!(
                d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800),
                "{d3:?}"
            );
            let d20 = b.delay(20);
            assert!(
                d20 >= Duration::from_secs(1) && d20 <= Duration::from_secs(2),
                "{d20:?}"
            );
        }
    }
}

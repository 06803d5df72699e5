//! The session driver: one task per WebSocket connection. It connects, subscribes,
//! confirms the subscription, keeps the heartbeat, feeds every frame to the
//! connection's parser, forwards records into the bounded queue, and reconnects with
//! jittered exponential backoff until it is cancelled. Every transition is announced
//! downstream as a `status` record for each symbol the connection carries.
//!
//! Back-pressure: records are sent with `Sender::send().await`; when the queue is full
//! the driver stops reading and the exchange's TCP buffers absorb the stall.
//! Shutdown: on cancellation the driver finishes the frame in hand, sends a Close
//! frame, waits briefly for the close handshake and returns, dropping its sender.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tickbridge_schema::{Data, Record, Status, StatusEvent, SCHEMA_VERSION};
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::parse::{record_id, FrameParser, Parsed};
use crate::rest::{RestFetcher, RestResponse};
use crate::spec::{ConnectionPlan, Heartbeat};
use crate::stats::SourceStats;
use crate::time::now_ns;

/// Observes every frame a session sends and receives (the `record` command's capture writer).
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
    /// Full-jitter exponential backoff: a delay in [d/2, d] with d = min(max, min·2^attempt).
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
    pub heartbeat: Heartbeat,
    pub backoff: Backoff,
    /// Frames larger than this are refused by the WebSocket layer (the connection drops).
    pub max_frame_bytes: usize,
    pub connect_timeout: Duration,
}

/// How one connection attempt ended.
enum Ended {
    Cancelled,
    /// The downstream queue is closed: the pipeline is gone; stop for good.
    QueueClosed,
    Dropped(String),
}

/// One connection's driver.
pub struct Session {
    spec: SessionSpec,
    make_parser: Box<dyn Fn() -> Box<dyn FrameParser> + Send + Sync>,
    out: mpsc::Sender<Record>,
    stats: Arc<SourceStats>,
    tap: Option<Arc<dyn FrameTap>>,
    /// Error kinds already logged at warn level (each is logged once, then counted).
    logged: HashSet<String>,
}

impl Session {
    pub fn new(
        spec: SessionSpec,
        make_parser: Box<dyn Fn() -> Box<dyn FrameParser> + Send + Sync>,
        out: mpsc::Sender<Record>,
        stats: Arc<SourceStats>,
        tap: Option<Arc<dyn FrameTap>>,
    ) -> Self {
        Session {
            spec,
            make_parser,
            out,
            stats,
            tap,
            logged: HashSet::new(),
        }
    }

    /// Runs until cancelled (or the queue closes), reconnecting after every drop.
    pub async fn run(mut self, cancel: CancellationToken) {
        let mut attempt: u32 = 0;
        loop {
            let started = Instant::now();
            let ended = self.connect_once(&cancel).await;
            match ended {
                Ended::Cancelled | Ended::QueueClosed => return,
                Ended::Dropped(reason) => {
                    SourceStats::add(&self.stats.reconnects, 1);
                    warn!(exchange = self.spec.exchange, conn = self.spec.conn, %reason, "connection lost; reconnecting");
                    if self
                        .emit_status(StatusEvent::Disconnected, Some(reason))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            // A connection that lived a while resets the backoff.
            if started.elapsed() > Duration::from_secs(30) {
                attempt = 0;
            }
            let delay = self.spec.backoff.delay(attempt);
            attempt = attempt.saturating_add(1);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = sleep(delay) => {}
            }
        }
    }

    async fn connect_once(&mut self, cancel: &CancellationToken) -> Ended {
        let url = self.spec.plan.url.clone();
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.spec.max_frame_bytes))
            .max_frame_size(Some(self.spec.max_frame_bytes));
        let connect =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true);
        let ws = tokio::select! {
            _ = cancel.cancelled() => return Ended::Cancelled,
            r = timeout(self.spec.connect_timeout, connect) => match r {
                Err(_) => return Ended::Dropped(format!("connect to {url} timed out")),
                Ok(Err(e)) => return Ended::Dropped(format!("connect to {url}: {e}")),
                Ok(Ok((ws, _response))) => ws,
            },
        };
        SourceStats::add(&self.stats.connects, 1);
        info!(exchange = self.spec.exchange, conn = self.spec.conn, %url, "connected");
        if let Some(tap) = &self.tap {
            tap.opened(self.spec.conn, &url);
        }
        if self
            .emit_status(StatusEvent::Connected, None)
            .await
            .is_err()
        {
            return Ended::QueueClosed;
        }
        let (mut write, mut read) = ws.split();
        let mut parser = (self.make_parser)();

        // Subscribe. Frames that arrive meanwhile are read after; nothing is lost.
        for (i, frame) in self.spec.plan.subscribe.clone().iter().enumerate() {
            if i > 0 {
                sleep(self.spec.plan.send_interval).await;
            }
            if let Some(tap) = &self.tap {
                tap.sent(self.spec.conn, frame);
            }
            if let Err(e) = write.send(Message::text(frame.as_str())).await {
                return Ended::Dropped(format!("sending subscribe: {e}"));
            }
        }
        let expected_acks = self.spec.plan.subscribe.len();
        let mut acks = 0usize;
        let mut subscribed = false;
        if expected_acks == 0 {
            // Streams named in the URL: the open connection is the subscription.
            subscribed = true;
            self.on_subscribed().await;
        }
        let subscribe_deadline = Instant::now() + self.spec.heartbeat.subscribe_timeout;
        let mut subscribe_warned = false;

        let ping_every = self
            .spec
            .heartbeat
            .ping_interval
            .unwrap_or(Duration::from_secs(3600));
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let idle = self.spec.heartbeat.idle_timeout;
        let mut last_frame = Instant::now();
        let mut records: Vec<Record> = Vec::with_capacity(64);
        // REST requests of the parser (order-book snapshots), joined below.
        let mut rest = RestFetcher::new();

        let ended = loop {
            let check_subscribe = !subscribed && !subscribe_warned;
            rest.start(parser.rest_requests());
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ended::Cancelled,
                // Before frames: a snapshot is rare and its diffs are waiting for it.
                response = rest.next() => {
                    if self.on_rest(parser.as_mut(), response, &mut records).await.is_err() {
                        break Ended::QueueClosed;
                    }
                }
                msg = read.next() => {
                    let msg = match msg {
                        None => break Ended::Dropped("stream ended".into()),
                        Some(Err(e)) => break Ended::Dropped(format!("read: {e}")),
                        Some(Ok(m)) => m,
                    };
                    last_frame = Instant::now();
                    match msg {
                        Message::Text(text) => {
                            let ts = now_ns();
                            SourceStats::add(&self.stats.frames, 1);
                            SourceStats::add(&self.stats.bytes, text.len() as u64);
                            if let Some(tap) = &self.tap {
                                tap.received_text(self.spec.conn, text.as_str());
                            }
                            match parser.parse(text.as_str(), ts, &mut records) {
                                Ok(Parsed::SubscribeAck(what)) => {
                                    acks += 1;
                                    debug!(exchange = self.spec.exchange, conn = self.spec.conn, %what, "subscription confirmed");
                                    if !subscribed && acks >= expected_acks {
                                        subscribed = true;
                                        self.on_subscribed().await;
                                    }
                                }
                                Ok(Parsed::Rejected(reason)) => {
                                    SourceStats::add(&self.stats.rejected, 1);
                                    warn!(exchange = self.spec.exchange, conn = self.spec.conn, %reason, "exchange refused a request");
                                    if self.emit_status(StatusEvent::Rejected, Some(reason)).await.is_err() {
                                        break Ended::QueueClosed;
                                    }
                                }
                                Ok(Parsed::Refused(r)) => {
                                    SourceStats::add(&self.stats.rejected, 1);
                                    warn!(exchange = self.spec.exchange, conn = self.spec.conn, reason = %r.reason, "exchange refused a subscription");
                                    if self.emit_status(StatusEvent::Rejected, Some(r.reason)).await.is_err() {
                                        break Ended::QueueClosed;
                                    }
                                }
                                Ok(Parsed::Reconnect(why)) => break Ended::Dropped(why),
                                Ok(Parsed::Ignored(kind)) => self.log_once(format!("ignored {kind}"), || {
                                    format!("frames of channel {kind} are not normalized; counting them")
                                }),
                                Ok(Parsed::Data | Parsed::Heartbeat | Parsed::Info(_)) => {}
                                Err(e) => {
                                    let counter = if e.label() == "unknown" { &self.stats.unknown_frames } else { &self.stats.parse_errors };
                                    SourceStats::add(counter, 1);
                                    let msg = e.to_string();
                                    self.log_once(format!("parse {}", e.label()), || format!("skipping a bad frame: {msg}"));
                                }
                            }
                            if let Some(reply) = parser.reply() {
                                if let Err(e) = write.send(Message::text(reply)).await {
                                    break Ended::Dropped(format!("sending reply: {e}"));
                                }
                            }
                            if self.forward(&mut records).await.is_err() {
                                break Ended::QueueClosed;
                            }
                        }
                        Message::Binary(payload) => {
                            SourceStats::add(&self.stats.binary_frames, 1);
                            if let Some(tap) = &self.tap {
                                tap.received_binary(self.spec.conn, &payload);
                            }
                            let n = payload.len();
                            self.log_once("binary".into(), || format!("skipping a binary frame of {n} bytes (this exchange sends text)"));
                        }
                        Message::Close(frame) => {
                            let why = frame.map(|f| format!("code {} {}", u16::from(f.code), f.reason)).unwrap_or_else(|| "no code".into());
                            break Ended::Dropped(format!("closed by the exchange ({why})"));
                        }
                        // Pings are answered by tungstenite itself; pongs only prove liveness.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = ping.tick() => {
                    let msg = match self.spec.heartbeat.app_ping {
                        Some(text) => Message::text(text),
                        None => Message::Ping(Default::default()),
                    };
                    if let Err(e) = write.send(msg).await {
                        break Ended::Dropped(format!("sending ping: {e}"));
                    }
                }
                _ = sleep_until(last_frame + idle) => {
                    break Ended::Dropped(format!("no frame for {idle:?}"));
                }
                _ = sleep_until(subscribe_deadline), if check_subscribe => {
                    subscribe_warned = true;
                    let reason = format!("no subscription confirmation within {:?} ({acks} of {expected_acks})", self.spec.heartbeat.subscribe_timeout);
                    warn!(exchange = self.spec.exchange, conn = self.spec.conn, %reason, "subscription unconfirmed");
                    if self.emit_status(StatusEvent::Rejected, Some(reason)).await.is_err() {
                        break Ended::QueueClosed;
                    }
                }
            }
        };
        rest.shutdown().await;
        if subscribed {
            self.stats
                .subscribed_connections
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(tap) = &self.tap {
            tap.closed(self.spec.conn);
        }
        if let Ended::Cancelled = ended {
            // Polite close, bounded: the drain must not wait on a slow exchange.
            let close = Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "shutdown".into(),
            }));
            let _ = timeout(Duration::from_secs(1), async {
                if write.send(close).await.is_ok() {
                    while let Some(Ok(m)) = read.next().await {
                        if matches!(m, Message::Close(_)) {
                            break;
                        }
                    }
                }
            })
            .await;
            let _ = self
                .emit_status(StatusEvent::Disconnected, Some("shutdown".into()))
                .await;
        }
        ended
    }

    async fn on_subscribed(&mut self) {
        self.stats
            .subscribed_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        info!(
            exchange = self.spec.exchange,
            conn = self.spec.conn,
            symbols = self.spec.plan.symbols.len(),
            "subscribed"
        );
        let _ = self.emit_status(StatusEvent::Subscribed, None).await;
    }

    /// Hands a REST answer (an order-book snapshot) to the parser and forwards the
    /// records it yields.
    async fn on_rest(
        &mut self,
        parser: &mut dyn FrameParser,
        response: RestResponse,
        records: &mut Vec<Record>,
    ) -> Result<(), ()> {
        if let (Some(tap), Ok(body)) = (&self.tap, &response.result) {
            tap.http(&response.url, body);
        }
        let body = response.result.as_deref().map_err(String::as_str);
        match parser.on_rest(&response.key, body, now_ns(), records) {
            Ok(Parsed::Info(what)) => {
                info!(exchange = self.spec.exchange, conn = self.spec.conn, %what, "REST")
            }
            Ok(_) => {}
            Err(e) => {
                SourceStats::add(&self.stats.parse_errors, 1);
                warn!(exchange = self.spec.exchange, conn = self.spec.conn, url = %response.url, error = %e, "unusable REST response");
            }
        }
        self.forward(records).await
    }

    /// Sends the frame's records downstream, in order.
    async fn forward(&mut self, records: &mut Vec<Record>) -> Result<(), ()> {
        SourceStats::add(&self.stats.records, records.len() as u64);
        for r in records.drain(..) {
            if let Data::Status(s) = &r.data {
                if s.event == StatusEvent::Gap {
                    SourceStats::add(&self.stats.gaps, 1);
                }
            }
            self.out.send(r).await.map_err(|_| ())?;
        }
        Ok(())
    }

    /// Emits one status record per symbol of this connection.
    async fn emit_status(&mut self, event: StatusEvent, reason: Option<String>) -> Result<(), ()> {
        let ts = now_ns();
        for s in &self.spec.plan.symbols {
            let status = Status {
                event,
                channel: None,
                reason: reason.clone(),
                expected: None,
                got: None,
            };
            let suffix = format!("{}.{}.{}", event.as_str(), self.spec.conn, ts);
            let record = Record {
                v: SCHEMA_VERSION,
                exchange: self.spec.exchange.into(),
                market: s.market,
                symbol: s.symbol.clone(),
                native: s.native.clone(),
                ts_exchange: None,
                ts_recv: ts,
                seq: None,
                id: record_id(
                    self.spec.exchange,
                    s.market.as_str(),
                    &s.symbol,
                    "status",
                    suffix,
                ),
                data: Data::Status(status),
            };
            self.out.send(record).await.map_err(|_| ())?;
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

//! One open WebSocket connection of a session: its socket halves, parser, REST
//! fetches, and the small state types the session consults for it (liveness, pacing,
//! subscriptions). Plain state; the decisions live in the session (`super`).

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use tickbridge_schema::Record;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::liveness::Liveness;
use super::pacing::Pacer;
use super::subscriptions::Subscriptions;
use crate::contract::{FrameParser, Heartbeat, Limits};
use crate::rest::RestFetcher;

pub(super) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which part a connection plays in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The connection whose records flow downstream.
    Active,
    /// A rotation's replacement: subscribed alongside the active one, promoted once
    /// confirmed. Its `connected`/`subscribed` transitions are not announced: the feed
    /// does not break during a rotation.
    Standby,
}

pub(super) struct Conn {
    /// Generation within the session (logs).
    pub gen: u64,
    pub role: Role,
    pub write: SplitSink<Ws, Message>,
    pub read: SplitStream<Ws>,
    pub parser: Box<dyn FrameParser>,
    /// The parser's REST requests (order-book snapshots) in flight.
    pub rest: RestFetcher,
    pub opened: Instant,
    pub live: Liveness,
    pub pacer: Pacer,
    pub subs: Subscriptions,
    /// Settled with at least one request confirmed: data is expected.
    pub subscribed: bool,
    /// The exchange announced a disconnect: replace this connection early.
    pub rotate_requested: Option<String>,
    pub records: Vec<Record>,
}

impl Conn {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gen: u64,
        role: Role,
        ws: Ws,
        parser: Box<dyn FrameParser>,
        mut subs: Subscriptions,
        heartbeat: &Heartbeat,
        limits: &Limits,
        send_interval: Duration,
        now: Instant,
    ) -> Conn {
        use futures_util::StreamExt;
        let (write, read) = ws.split();
        let mut pacer = Pacer::new(send_interval, limits.subscribe_requests, now);
        for request in subs.start(now) {
            pacer.subscribe(request.text);
        }
        Conn {
            gen,
            role,
            write,
            read,
            parser,
            rest: RestFetcher::new(),
            opened: now,
            live: Liveness::new(heartbeat, now),
            pacer,
            subs,
            subscribed: false,
            rotate_requested: None,
            records: Vec::new(),
        }
    }

    /// When this connection next needs the session's attention without a frame.
    pub fn next_wake(&mut self) -> Instant {
        let mut wake = self.live.next_wake(self.pacer.next_slot());
        if let Some(d) = self.subs.deadline() {
            wake = wake.min(d);
        }
        if let Some(at) = self.pacer.next_due() {
            wake = wake.min(at);
        }
        wake
    }

    /// Moves the deadlines that measure the exchange by `by`: time the session spent
    /// blocked on a full queue (back-pressure) is not the exchange's silence.
    pub fn shift_deadlines(&mut self, by: Duration) {
        self.live.shift(by);
        self.subs.shift_deadline(by);
    }

    /// Age of the connection at `now`.
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.opened)
    }
}

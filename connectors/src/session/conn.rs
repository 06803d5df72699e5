//! One open WebSocket connection of a session: its socket halves, parser, pending
//! client frames, and the liveness and subscription state the session's timers read.
//! Plain state and small helpers; the decisions live in the session (`super`).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use smol_str::SmolStr;
use tickbridge_schema::Record;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::gate::SlidingWindow;
use crate::parse::FrameParser;
use crate::rest::RestFetcher;
use crate::spec::{Heartbeat, Limits};

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

/// A client frame waiting for its turn (exchanges limit incoming messages).
pub(super) struct Outgoing {
    pub text: String,
    /// Counts against [`Limits::subscribe_requests`].
    pub subscribe: bool,
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
    /// Last frame of any kind (data, heartbeat, ping, pong, control).
    pub last_frame: Instant,
    /// Last market-data frame; the stale window starts at confirmation.
    pub last_data: Instant,
    /// Inside a stale period (announced once; cleared by data).
    pub stale: bool,
    pub next_ping: Option<Instant>,
    /// An unanswered client ping must be answered by then.
    pub pong_due: Option<Instant>,
    pub outbox: VecDeque<Outgoing>,
    /// No client frame before this (the plan's `send_interval`).
    pub next_send: Instant,
    pub subscribe_window: Option<SlidingWindow>,
    /// Subscribe requests of the plan, and how many of them were answered.
    pub expected: usize,
    pub acks: usize,
    pub answered: usize,
    /// Every request answered (acknowledged or refused).
    pub settled: bool,
    /// Settled with at least one acknowledgement: data is expected.
    pub subscribed: bool,
    pub subscribe_deadline: Option<Instant>,
    /// Native symbols the exchange refused on this connection.
    pub refused: HashSet<SmolStr>,
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
        subscribe: &[String],
        heartbeat: &Heartbeat,
        limits: &Limits,
        now: Instant,
    ) -> Conn {
        use futures_util::StreamExt;
        let (write, read) = ws.split();
        Conn {
            gen,
            role,
            write,
            read,
            parser,
            rest: RestFetcher::new(),
            opened: now,
            last_frame: now,
            last_data: now,
            stale: false,
            next_ping: heartbeat.ping_interval.map(|p| now + p),
            pong_due: None,
            outbox: subscribe
                .iter()
                .map(|s| Outgoing {
                    text: s.clone(),
                    subscribe: true,
                })
                .collect(),
            next_send: now,
            subscribe_window: limits.subscribe_requests.map(SlidingWindow::new),
            expected: subscribe.len(),
            acks: 0,
            answered: 0,
            settled: false,
            subscribed: false,
            subscribe_deadline: (!subscribe.is_empty()).then(|| now + heartbeat.subscribe_timeout),
            refused: HashSet::new(),
            rotate_requested: None,
            records: Vec::with_capacity(64),
        }
    }

    /// When this connection next needs the session's attention without a frame.
    pub fn next_wake(&mut self, heartbeat: &Heartbeat) -> Instant {
        let mut wake = self.last_frame + heartbeat.idle_timeout;
        if let Some(p) = self.pong_due {
            wake = wake.min(p);
        }
        if let Some(d) = self.subscribe_deadline {
            wake = wake.min(d);
        }
        if self.subscribed && !self.stale {
            wake = wake.min(self.last_data + heartbeat.stale_after);
        }
        if let Some(p) = self.next_ping {
            wake = wake.min(p.max(self.next_send));
        }
        if let Some(front) = self.outbox.front() {
            let mut at = self.next_send;
            if front.subscribe {
                if let Some(w) = &mut self.subscribe_window {
                    at = at.max(w.next_free(Instant::now()));
                }
            }
            wake = wake.min(at);
        }
        wake
    }

    /// Moves the deadlines that measure the exchange by `by`: time the session spent
    /// blocked on a full queue (back-pressure) is not the exchange's silence.
    pub fn shift_deadlines(&mut self, by: Duration) {
        self.last_frame += by;
        self.last_data += by;
        if let Some(p) = &mut self.pong_due {
            *p += by;
        }
        if let Some(d) = &mut self.subscribe_deadline {
            *d += by;
        }
    }

    /// Age of the connection at `now`.
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.opened)
    }
}

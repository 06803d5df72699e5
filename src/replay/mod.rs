//! The mock exchange: serves a capture over real WebSockets (and its recorded REST
//! responses over plain HTTP on the same port), so the real binary can be tested and
//! benchmarked against real exchange traffic on 127.0.0.1.
//!
//! - Every recorded WebSocket connection can be served. A client connecting with path
//!   P gets the first recorded connection not yet served whose recorded URL has path P
//!   (host, port and query ignored: a client of `/stream` gets a recorded
//!   `/stream?streams=..`, a client of `/ws/v5/business` the recorded business
//!   connection); when none matches, the next recorded connection not yet served, in
//!   recording order; beyond the recorded connections an idle connection. Which one a
//!   client got is logged (`client assigned`). In live mode (`--live`) all clients
//!   share one playback clock and join the recording where it is (see [`ReplayArgs`]);
//!   a client gets the least-served recorded connection of its path (of all, when none
//!   matches), i.e. client k gets connection k modulo their number.
//! - Frames are sent in recorded order, at recorded speed scaled by a factor, or as
//!   fast as the client reads (`Speed::Max`). When the recording shows the client
//!   sending first (a subscribe), the server waits for the client's first frame; a
//!   venue that greets first (dYdX `connected`, see `protocol::Protocol::greets_first`)
//!   gets its recorded greeting at connect and the rest after the client's first frame.
//! - Client frames are logged (`client frame`, with the client number and the text):
//!   tests read what the bridge subscribed to from the log. Each recorded connection
//!   has its reply protocol, chosen from its recorded URL ([`protocol`]): Binance and
//!   Coinbase Exchange-feed subscribe requests are answered in the exchange's format,
//!   refusals included; every other connection replays its recorded acknowledgements
//!   (a client joining a live playback late still gets them first).
//! - After the last frame the connection stays open (pings answered) until the client
//!   closes it, like a quiet exchange — or, with `--exit-when-done`, until playback is
//!   done and the process exits ([`ReplayHandle::done`]).
//! - Misbehaviours ([`faults`]) drop, silence, close or corrupt connections on demand.
//! - A REST request is answered with the recorded response of the same path and query
//!   (ignoring `limit`; repeated requests get later recordings), or 404. A response
//!   is released only once playback has reached the time it was recorded (the real
//!   order-book sync race, preserved), except instrument lists: a bridge fetches them
//!   before it connects, when no playback runs, so responses recorded before the
//!   capture's first WebSocket event, and those at a path the connector registry
//!   lists as an instrument list (`Connector::instrument_urls`), are served at once.
//!   A POST is answered likewise; KuCoin's token request `POST /api/v1/bullet-public`
//!   (never recorded: it carries a token) is answered with a token naming this
//!   server's own WebSocket URL ([`post_response`]).
//!
//! Every connection task is tracked and joined on shutdown.

pub mod faults;
mod http;
pub mod protocol;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::capture::{Capture, Event, EventKind};
use faults::Action;
pub use faults::ReplayArgs;
use protocol::Protocol;

/// Playback speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the client reads.
    Max,
    /// Recorded pacing divided by this factor (1.0 = as recorded).
    Factor(f64),
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches('x').parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "invalid speed {s:?}: expected \"max\" or a factor such as 1, 2.5 or 10x"
            )),
        }
    }
}

/// One recorded WebSocket connection of the capture.
struct Recording {
    conn: u64,
    /// The URL of its `open` event (none for a recording that starts mid-connection).
    url: Option<String>,
    /// The path of `url` ([`url_path`]).
    path: Option<String>,
    protocol: Protocol,
    /// What chose the protocol (logged).
    protocol_from: String,
}

/// How far a recorded connection has been served.
#[derive(Debug, Default)]
struct Progress {
    /// Clients it was handed to.
    clients: usize,
    /// Those still connected.
    open: usize,
    /// When its last frame was first sent.
    finished_at: Option<Instant>,
}

/// Shared state of one replay server.
struct Replay {
    capture: Capture,
    speed: Speed,
    recordings: Vec<Recording>,
    progress: Mutex<Vec<Progress>>,
    /// The protocol of an idle client when the capture has no recorded connection at
    /// all (from the header).
    fallback_protocol: Protocol,
    next_client: AtomicUsize,
    /// Capture time (ns) that playback has reached, across connections.
    position: watch::Sender<i64>,
    /// How many times each REST URL was served (repeated requests get later recordings).
    http_served: Mutex<HashMap<String, usize>>,
    /// Capture time of the first WebSocket event: REST responses recorded before it
    /// are served at once.
    first_ws_ts: Option<i64>,
    /// Normalized instrument-list paths of every connector (served at once).
    instrument_paths: HashSet<String>,
    args: ReplayArgs,
    /// Live mode: when playback started (the first client's start).
    live_start: std::sync::OnceLock<Instant>,
    bound_at: Instant,
}

/// Which recorded connection a client gets.
struct Assignment {
    /// Index into `Replay::recordings`; `None`: an idle connection.
    index: Option<usize>,
    /// `by path`, `in order`, `idle`, `live, by path`, `live, in order` (logged).
    how: &'static str,
    protocol: Protocol,
}

impl Replay {
    fn progress(&self) -> MutexGuard<'_, Vec<Progress>> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a client of request path `path` its recorded connection (see the module
    /// docs) and counts it as connected.
    fn assign(&self, path: &str) -> Assignment {
        let wanted = url_path(path);
        let by_path: Vec<usize> = (0..self.recordings.len())
            .filter(|&i| self.recordings[i].path.as_deref() == Some(wanted.as_str()))
            .collect();
        let mut progress = self.progress();
        let (index, how) = if self.recordings.is_empty() {
            (None, "idle")
        } else if self.args.live {
            let (pool, how) = if by_path.is_empty() {
                ((0..self.recordings.len()).collect(), "live, in order")
            } else {
                (by_path.clone(), "live, by path")
            };
            let least = pool.into_iter().min_by_key(|&i| (progress[i].clients, i));
            (least, how)
        } else if let Some(&i) = by_path.iter().find(|&&i| progress[i].clients == 0) {
            (Some(i), "by path")
        } else if let Some(i) = (0..self.recordings.len()).find(|&i| progress[i].clients == 0) {
            (Some(i), "in order")
        } else {
            (None, "idle")
        };
        if let Some(i) = index {
            progress[i].clients += 1;
            progress[i].open += 1;
        }
        // An idle client speaks the protocol of its path's recordings, else the first's.
        let protocol = index
            .or_else(|| by_path.first().copied())
            .or((!self.recordings.is_empty()).then_some(0))
            .map(|i| self.recordings[i].protocol)
            .unwrap_or(self.fallback_protocol);
        Assignment {
            index,
            how,
            protocol,
        }
    }

    /// A client of recorded connection `index` has gone.
    fn release(&self, index: usize) {
        let mut progress = self.progress();
        progress[index].open = progress[index].open.saturating_sub(1);
    }

    /// Recorded connection `index` has been served to its last frame.
    fn mark_finished(&self, index: usize) {
        self.progress()[index]
            .finished_at
            .get_or_insert_with(Instant::now);
    }

    /// Whether playback is done (`--exit-when-done`): every recorded connection served
    /// to its end, and its clients gone or `grace` passed since the last frame.
    fn playback_done(&self, grace: Duration) -> bool {
        let progress = self.progress();
        if progress.iter().any(|p| p.finished_at.is_none()) {
            return false;
        }
        if !progress.is_empty() && progress.iter().all(|p| p.open == 0) {
            return true;
        }
        let last = progress
            .iter()
            .filter_map(|p| p.finished_at)
            .max()
            .unwrap_or(self.bound_at);
        Instant::now() >= last + grace
    }
}

/// Closes a client's hold on its recorded connection however its task ends.
struct Connected {
    state: Arc<Replay>,
    index: usize,
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.state.release(self.index);
    }
}

/// A running replay server's handle.
pub struct ReplayHandle {
    pub addr: SocketAddr,
    state: Arc<Replay>,
}

impl ReplayHandle {
    /// True once every recorded connection has been served to the end.
    pub fn all_served(&self) -> bool {
        self.state
            .progress()
            .iter()
            .all(|p| p.finished_at.is_some())
    }

    /// With `--exit-when-done`: resolves once playback is done — every recorded
    /// connection served to its last frame and its clients gone, or `--exit-grace`
    /// passed since the last frame. Without the flag it never resolves.
    pub async fn done(&self) {
        if !self.state.args.exit_when_done {
            return std::future::pending().await;
        }
        let grace = self.state.args.exit_grace();
        while !self.state.playback_done(grace) {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Binds the listener; `serve` then runs the server.
pub async fn bind(
    addr: &str,
    capture: Capture,
    speed: Speed,
) -> std::io::Result<(TcpListener, ReplayHandle)> {
    bind_with(addr, capture, speed, ReplayArgs::default()).await
}

/// [`bind`] with live mode and misbehaviours.
pub async fn bind_with(
    addr: &str,
    capture: Capture,
    speed: Speed,
    args: ReplayArgs,
) -> std::io::Result<(TcpListener, ReplayHandle)> {
    let listener = TcpListener::bind(addr).await?;
    let recordings = recordings(&capture);
    for r in &recordings {
        info!(
            conn = r.conn,
            url = r.url.as_deref().unwrap_or(""),
            protocol = ?r.protocol,
            protocol_from = %r.protocol_from,
            "recorded connection"
        );
    }
    let start = capture.events.first().map(|e| e.ts).unwrap_or(0);
    let first_ws_ts = capture
        .events
        .iter()
        .find(|e| matches!(e.ev, EventKind::Open | EventKind::Send | EventKind::Recv))
        .map(|e| e.ts);
    let state = Arc::new(Replay {
        fallback_protocol: Protocol::of(&capture.header.exchange),
        progress: Mutex::new(recordings.iter().map(|_| Progress::default()).collect()),
        recordings,
        capture,
        speed,
        next_client: AtomicUsize::new(0),
        position: watch::channel(start).0,
        http_served: Mutex::new(HashMap::new()),
        first_ws_ts,
        instrument_paths: instrument_paths(),
        args,
        live_start: std::sync::OnceLock::new(),
        bound_at: Instant::now(),
    });
    let addr = listener.local_addr()?;
    Ok((listener, ReplayHandle { addr, state }))
}

/// The capture's WebSocket connections in order, each with its URL and protocol.
fn recordings(capture: &Capture) -> Vec<Recording> {
    capture
        .connections()
        .into_iter()
        .map(|conn| {
            let url = capture
                .events
                .iter()
                .find(|e| e.conn == conn && e.ev == EventKind::Open)
                .and_then(|e| e.url.clone());
            let received = capture
                .events
                .iter()
                .filter(|e| e.conn == conn && e.ev == EventKind::Recv)
                .filter_map(|e| e.text.as_deref());
            let (protocol, protocol_from) =
                Protocol::of_recording(url.as_deref(), &capture.header.exchange, received);
            Recording {
                conn,
                path: url.as_deref().map(url_path),
                url,
                protocol,
                protocol_from,
            }
        })
        .collect()
}

/// The normalized paths of every connector's instrument-list requests.
fn instrument_paths() -> HashSet<String> {
    let mut paths = HashSet::new();
    for c in tickbridge_connectors::connectors() {
        for (market, _) in c.supported() {
            for url in c.instrument_urls(*market, "http://replay.invalid") {
                paths.insert(normalize_rest_path(strip_origin(&url)));
            }
        }
    }
    paths
}

/// Accepts connections until `cancel`; then closes them and joins every task.
pub async fn serve(listener: TcpListener, handle: &ReplayHandle, cancel: CancellationToken) {
    let tracker = TaskTracker::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let state = handle.state.clone();
                    let cancel = cancel.clone();
                    tracker.spawn(async move {
                        if let Err(e) = handle_connection(state, stream, cancel).await {
                            debug!(%peer, error = %e, "replay connection ended");
                        }
                    });
                }
                Err(e) => warn!(error = %e, "accept failed"),
            },
        }
    }
    tracker.close();
    tracker.wait().await;
}

async fn handle_connection(
    state: Arc<Replay>,
    stream: TcpStream,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let head = http::peek_head(&stream).await?;
    if head.is_websocket_upgrade() {
        let client = state.next_client.fetch_add(1, Ordering::SeqCst);
        info!(client, path = %head.path, "client connected");
        if let Some(delay) = state
            .args
            .accept_delay()
            .filter(|_| state.args.faulty(client))
        {
            info!(client, ?delay, "fault: delaying the handshake");
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
        let ws = tokio_tungstenite::accept_async(stream).await?;
        let assignment = state.assign(&head.path);
        let recording = assignment.index.map(|i| &state.recordings[i]);
        info!(
            client,
            path = %head.path,
            conn = recording.map(|r| r.conn),
            recorded_url = recording.and_then(|r| r.url.as_deref()).unwrap_or(""),
            matched = assignment.how,
            protocol = ?assignment.protocol,
            "client assigned"
        );
        let _connected = assignment.index.map(|index| Connected {
            state: state.clone(),
            index,
        });
        serve_websocket(state.clone(), ws, client, assignment, cancel).await
    } else {
        let host = head.header("host").unwrap_or("127.0.0.1").to_string();
        http::answer(stream, &head, move |method, path, body| async move {
            match method.as_str() {
                "POST" => post_response(&state, &path, &body, &host).await,
                _ => rest_response(&state, &path).await,
            }
        })
        .await
    }
}

/// How a client's playback goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Playing,
    /// No more data; pings and requests still answered.
    Quiet,
}

/// Plays the assigned recorded connection (live: from where the clock is) to one
/// client, answering its requests and applying the faults it is due.
async fn serve_websocket(
    state: Arc<Replay>,
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    index: usize,
    assignment: Assignment,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let (mut write, mut read) = ws.split();
    let args = &state.args;
    let protocol = assignment.protocol;
    let recording = assignment.index;
    let conn = recording.map(|i| state.recordings[i].conn);
    let frames: Vec<&Event> = match conn {
        Some(c) => state
            .capture
            .events
            .iter()
            .filter(|e| e.conn == c && matches!(e.ev, EventKind::Recv | EventKind::Send))
            .collect(),
        None => Vec::new(),
    };
    info!(
        client = index,
        conn,
        frames = frames.len(),
        live = args.live,
        "replaying"
    );
    let client_speaks_first = frames.first().is_some_and(|e| e.ev == EventKind::Send);
    let t0 = frames.first().map(|e| e.ts).unwrap_or(0);
    let recvs: Vec<&Event> = frames
        .iter()
        .copied()
        .filter(|e| e.ev == EventKind::Recv)
        .filter(|e| {
            e.text
                .as_deref()
                .is_none_or(|t| !protocol.is_recorded_reply(t) && !args.refused_frame(t))
        })
        .collect();
    let faulty = args.faulty(index);
    // The frame truncated by `--garbage-after`: a trade, which every connector
    // parses (a channel it does not normalize might be skipped unparsed).
    let texts = || recvs.iter().filter_map(|e| e.text.as_deref());
    let sample = texts()
        .find(|t| t.contains("trade") || t.contains("match"))
        .or_else(|| texts().next())
        .unwrap_or("{}")
        .to_string();

    let mut started: Option<Instant> = None;
    let mut next = 0usize;
    let mut sent = 0usize;
    let mut mode = Mode::Playing;
    let mut served_to_end = false;
    // Answers to the client's requests, each due at its instant (`--ack-delay`).
    let mut replies: std::collections::VecDeque<(Instant, String)> = Default::default();
    // Recorded acknowledgements a late live joiner skipped: sent before anything else.
    let mut acks: Vec<String> = Vec::new();
    let far = || Instant::now() + Duration::from_secs(86_400);
    let start_playback = |next: &mut usize, acks: &mut Vec<String>| -> Instant {
        let now = Instant::now();
        if !args.live {
            return now;
        }
        // Join the shared clock where it is: frames already due are gone, but for
        // the recorded acknowledgements of the subscriptions.
        let start = *state.live_start.get_or_init(|| now);
        if let Speed::Factor(f) = state.speed {
            while *next < recvs.len()
                && start + Duration::from_nanos(((recvs[*next].ts - t0).max(0) as f64 / f) as u64)
                    < now
            {
                if let Some(text) = recvs[*next]
                    .text
                    .as_deref()
                    .filter(|t| protocol.is_recorded_ack(t))
                {
                    acks.push(text.to_string());
                }
                *next += 1;
            }
        }
        info!(
            client = index,
            skipped = *next,
            acks = acks.len(),
            "joining the live stream"
        );
        start
    };
    // A greeting (dYdX `connected`): the frames recorded before the client's first
    // frame are sent at connect; the rest waits for the client (not in live mode,
    // where every client joins the shared clock).
    let first_send = frames
        .iter()
        .find(|e| e.ev == EventKind::Send)
        .map(|e| e.ts);
    let greeting = match first_send {
        Some(ts) if protocol.greets_first() && !args.live => {
            recvs.iter().take_while(|e| e.ts < ts).count()
        }
        _ => 0,
    };
    if greeting > 0 {
        for e in &recvs[..greeting] {
            if let Some(text) = &e.text {
                write.feed(Message::text(text.as_str())).await?;
            }
        }
        write.flush().await?;
        next = greeting;
        sent = greeting;
    }
    if !client_speaks_first && greeting == 0 {
        started = Some(start_playback(&mut next, &mut acks));
    }

    loop {
        if !acks.is_empty() {
            for text in acks.drain(..) {
                write.feed(Message::text(text)).await?;
            }
            write.flush().await?;
        }
        if let (Some(i), Some(_), false) = (recording, started, served_to_end) {
            if next >= recvs.len() && mode == Mode::Playing {
                served_to_end = true;
                state.mark_finished(i);
                info!(
                    client = index,
                    conn,
                    sent = next,
                    "capture connection served; holding it open"
                );
                // Hold the connection like a quiet exchange until the client or the
                // server ends it.
                if let Some(last) = frames.last() {
                    state.position.send_if_modified(|p| {
                        if last.ts > *p {
                            *p = last.ts;
                            true
                        } else {
                            false
                        }
                    });
                }
            }
        }
        let due = match (started, mode) {
            (Some(start), Mode::Playing) if next < recvs.len() => match state.speed {
                Speed::Max => Instant::now(),
                Speed::Factor(f) => {
                    start + Duration::from_nanos(((recvs[next].ts - t0).max(0) as f64 / f) as u64)
                }
            },
            _ => far(),
        };
        let reply_due = replies.front().map(|(t, _)| *t).unwrap_or_else(far);
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = write.send(Message::Close(None)).await;
                return Ok(());
            }
            msg = read.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(Message::Text(text))) => {
                    info!(client = index, text = %text.as_str(), "client frame");
                    let at = Instant::now() + args.ack_delay();
                    for answer in protocol.answer(text.as_str(), &args.refuse_symbols) {
                        replies.push_back((at, answer));
                    }
                    if started.is_none() {
                        started = Some(start_playback(&mut next, &mut acks));
                    }
                }
                // Pings are answered by tungstenite (on the next read or write).
                Some(Ok(_)) => {}
            },
            _ = sleep_until(reply_due), if !replies.is_empty() => {
                let now = Instant::now();
                while replies.front().is_some_and(|(t, _)| *t <= now) {
                    if let Some((_, text)) = replies.pop_front() {
                        write.feed(Message::text(text)).await?;
                    }
                }
                write.flush().await?;
            }
            _ = sleep_until(due), if started.is_some() && mode == Mode::Playing && next < recvs.len() => {
                // Send everything due now, then flush once.
                let now = Instant::now();
                let mut burst = 0;
                while next < recvs.len() && burst < 256 && mode == Mode::Playing {
                    if let (Speed::Factor(f), Some(start)) = (state.speed, started) {
                        let at = start + Duration::from_nanos(((recvs[next].ts - t0).max(0) as f64 / f) as u64);
                        if at > now {
                            break;
                        }
                    }
                    let e = recvs[next];
                    next += 1;
                    let msg = match (&e.text, e.binary()) {
                        (Some(text), _) => Message::text(text.as_str()),
                        (None, Some(bytes)) => Message::binary(bytes),
                        (None, None) => continue,
                    };
                    write.feed(msg).await?;
                    state.position.send_if_modified(|p| if e.ts > *p { *p = e.ts; true } else { false });
                    burst += 1;
                    sent += 1;
                    if !faulty {
                        continue;
                    }
                    for action in args.actions_after(sent) {
                        info!(client = index, sent, ?action, "fault");
                        match action {
                            Action::Garbage => {
                                let (texts, binary) = faults::garbage(&sample);
                                for t in texts {
                                    write.feed(Message::text(t)).await?;
                                }
                                write.feed(Message::binary(binary)).await?;
                            }
                            Action::Oversized(bytes) => {
                                write.feed(Message::text(faults::oversized(bytes))).await?;
                            }
                            Action::Quiet => mode = Mode::Quiet,
                            Action::Silent => {
                                write.flush().await?;
                                // Neither read nor write: no pong ever comes back.
                                cancel.cancelled().await;
                                return Ok(());
                            }
                            Action::Close(code) => {
                                write.flush().await?;
                                let frame = CloseFrame {
                                    code: CloseCode::from(code),
                                    reason: "replay fault".into(),
                                };
                                write.send(Message::Close(Some(frame))).await?;
                                // The client's Close reply, briefly.
                                let _ = timeout(Duration::from_secs(1), read.next()).await;
                                return Ok(());
                            }
                            Action::Drop => {
                                write.flush().await?;
                                // Dropping both halves closes the TCP connection
                                // without a WebSocket Close frame.
                                return Ok(());
                            }
                        }
                    }
                }
                write.flush().await?;
            }
        }
    }
}

/// Finds the recorded REST response for `path` (`/api/v3/depth?symbol=X&limit=Y`),
/// waiting until playback reaches its recording time — but for instrument lists,
/// served at once (see the module docs).
async fn rest_response(state: &Replay, path: &str) -> Option<String> {
    let wanted = normalize_rest_path(path);
    let candidates: Vec<&Event> = state
        .capture
        .events
        .iter()
        .filter(|e| e.ev == EventKind::Http)
        .filter(|e| {
            e.url
                .as_deref()
                .map(|u| normalize_rest_path(strip_origin(u)))
                == Some(wanted.clone())
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let n = {
        let mut served = state.http_served.lock().unwrap_or_else(|p| p.into_inner());
        let n = served.entry(wanted.clone()).or_insert(0);
        *n += 1;
        *n - 1
    };
    let event = candidates[n.min(candidates.len() - 1)];
    let at_once = state.instrument_paths.contains(&wanted)
        || state.first_ws_ts.is_none_or(|first| event.ts <= first);
    if !at_once {
        // Release the response when playback reaches its recorded time (bounded wait).
        let mut position = state.position.subscribe();
        let _ = timeout(
            Duration::from_secs(10),
            position.wait_for(|p| *p >= event.ts),
        )
        .await;
    }
    debug!(path, at_once, recorded = event.ts, "rest response");
    event.text.clone()
}

/// The path of KuCoin's public token request (`Connector` plans with an
/// `EndpointRequest`): the WebSocket server is handed out per connection.
pub const KUCOIN_BULLET_PATH: &str = "/api/v1/bullet-public";

/// Answers a POST: its recorded response where the capture has one (by path and query,
/// as for a GET; a JSON object body of scalars counts as the query it stands for,
/// [`tickbridge_connectors::rest::query_of_post_body`], so Hyperliquid's `POST /info`
/// `{"type":"meta"}` is answered by the recorded `.../info?type=meta`), else, for
/// KuCoin's token request (recordings redact the token), a token whose server is this
/// replay server itself, at the path of the capture's first recorded connection, with
/// KuCoin's documented ping rules.
async fn post_response(state: &Replay, path: &str, body: &str, host: &str) -> Option<String> {
    if let Some(query) = tickbridge_connectors::rest::query_of_post_body(body) {
        let sep = if path.contains('?') { '&' } else { '?' };
        return rest_response(state, &format!("{path}{sep}{query}")).await;
    }
    if let Some(recorded) = rest_response(state, path).await {
        return Some(recorded);
    }
    if url_path(path) != KUCOIN_BULLET_PATH {
        return None;
    }
    let ws_path = state
        .recordings
        .iter()
        .find_map(|r| r.path.clone())
        .unwrap_or_else(|| "/".to_string());
    let endpoint = format!("ws://{host}{ws_path}");
    Some(
        serde_json::json!({
            "code": "200000",
            "data": {
                "token": "replay",
                "instanceServers": [{
                    "endpoint": endpoint,
                    "encrypt": false,
                    "protocol": "websocket",
                    "pingInterval": 18000,
                    "pingTimeout": 10000
                }]
            }
        })
        .to_string(),
    )
}

fn strip_origin(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        None => url,
    }
}

/// The path of a URL or request target, compared to match a client to a recorded
/// connection: no scheme, host, port, query or fragment, no trailing `/` (`/` when
/// empty).
fn url_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find(['/', '?', '#']).map(|j| &rest[j..]).unwrap_or("")
        }
        None => url,
    };
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    match path.trim_end_matches('/') {
        "" => "/".to_string(),
        p => p.to_string(),
    }
}

/// Request paths answered by the recording of another version of the same endpoint
/// (a recording predates the version a connector asks for): `(asked, recorded)`.
/// KuCoin: the instrument list moved to `/api/v2/symbols`, and the full-book snapshot
/// the recordings fetched (`/api/v3/market/orderbook/level2`) now needs an API key, so
/// the connector asks for the public partial books.
const REST_ALIASES: &[(&str, &str)] = &[
    ("/api/v2/symbols", "/api/v1/symbols"),
    (
        "/api/v1/market/orderbook/level2_100",
        "/api/v3/market/orderbook/level2",
    ),
    (
        "/api/v1/market/orderbook/level2_20",
        "/api/v3/market/orderbook/level2",
    ),
];

/// Path and query without `limit` (clients may ask for other depths than recorded),
/// query parameters sorted, the path through [`REST_ALIASES`].
fn normalize_rest_path(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let p = REST_ALIASES
        .iter()
        .find(|(asked, _)| *asked == p)
        .map_or(p, |(_, recorded)| *recorded);
    let mut params: Vec<&str> = q
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("limit="))
        .collect();
    params.sort_unstable();
    format!("{p}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_paths_match_without_limit_and_origin() {
        assert_eq!(
            strip_origin("https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000"),
            "/api/v3/depth?symbol=BTCUSDT&limit=1000"
        );
        assert_eq!(
            normalize_rest_path("/api/v3/depth?limit=5000&symbol=BTCUSDT"),
            normalize_rest_path("/api/v3/depth?symbol=BTCUSDT&limit=1000")
        );
        assert_ne!(
            normalize_rest_path("/api/v3/depth?symbol=ETHUSDT"),
            normalize_rest_path("/api/v3/depth?symbol=BTCUSDT")
        );
    }

    #[test]
    fn connection_paths_ignore_host_port_and_query() {
        assert_eq!(
            url_path("wss://stream.binance.com:9443/stream?streams=btcusdt@trade"),
            "/stream"
        );
        assert_eq!(url_path("/stream"), "/stream");
        assert_eq!(url_path("/stream?streams=a/b"), "/stream");
        assert_eq!(url_path("wss://ws.kraken.com"), "/");
        assert_eq!(url_path("wss://ws.bitstamp.net/"), "/");
        assert_eq!(url_path("/"), "/");
        assert_eq!(url_path("wss://host?x=1"), "/");
        assert_eq!(
            url_path("wss://api.gemini.com/v2/marketdata/"),
            "/v2/marketdata"
        );
        assert_eq!(
            url_path("wss://ws.okx.com:8443/ws/v5/business"),
            url_path("/ws/v5/business")
        );
        assert_ne!(url_path("/ws/v5/public"), url_path("/ws/v5/business"));
    }

    fn capture(lines: &[&str]) -> Capture {
        Capture::from_reader(lines.join("\n").as_bytes(), "test").unwrap()
    }

    async fn state(lines: &[&str], live: bool) -> Arc<Replay> {
        let args = ReplayArgs {
            live,
            ..Default::default()
        };
        let (_, handle) = bind_with("127.0.0.1:0", capture(lines), Speed::Max, args)
            .await
            .unwrap();
        handle.state
    }

    const TWO_PATHS: &[&str] = &[
        r#"{"capture":1,"exchange":"okx"}"#,
        r#"{"ts":1,"conn":1,"ev":"open","url":"wss://ws.okx.com:8443/ws/v5/public"}"#,
        r#"{"ts":2,"conn":2,"ev":"open","url":"wss://ws.okx.com:8443/ws/v5/business"}"#,
        r#"{"ts":3,"conn":3,"ev":"open","url":"wss://ws.okx.com:8443/ws/v5/public"}"#,
        r#"{"ts":4,"conn":1,"ev":"recv","text":"{}"}"#,
    ];

    #[tokio::test]
    async fn clients_get_the_recorded_connection_of_their_path() {
        let s = state(TWO_PATHS, false).await;
        let conn = |a: &Assignment| a.index.map(|i| s.recordings[i].conn);
        let a = s.assign("/ws/v5/business");
        assert_eq!((conn(&a), a.how), (Some(2), "by path"));
        let a = s.assign("/ws/v5/public?x=1");
        assert_eq!((conn(&a), a.how), (Some(1), "by path"));
        // The business connection is taken: the next one in order.
        let a = s.assign("/ws/v5/business");
        assert_eq!((conn(&a), a.how), (Some(3), "in order"));
        let a = s.assign("/ws/v5/public");
        assert_eq!((conn(&a), a.how), (None, "idle"));
        assert_eq!(a.protocol, Protocol::Recorded);
    }

    #[tokio::test]
    async fn live_clients_rotate_over_the_connections_of_their_path() {
        let s = state(TWO_PATHS, true).await;
        let conns: Vec<Option<u64>> = ["/ws/v5/public", "/ws/v5/public", "/ws/v5/public", "/"]
            .iter()
            .map(|p| s.assign(p).index.map(|i| s.recordings[i].conn))
            .collect();
        assert_eq!(conns, [Some(1), Some(3), Some(1), Some(2)]);
    }

    #[tokio::test]
    async fn playback_is_done_when_served_and_closed_or_after_the_grace() {
        let s = state(TWO_PATHS, false).await;
        let grace = Duration::from_secs(3600);
        assert!(!s.playback_done(grace));
        for i in 0..3 {
            s.assign("/");
            s.mark_finished(i);
        }
        assert!(!s.playback_done(grace), "clients still connected");
        assert!(s.playback_done(Duration::ZERO), "grace passed");
        (0..3).for_each(|i| s.release(i));
        assert!(s.playback_done(grace));
    }

    #[tokio::test]
    async fn instrument_lists_are_served_at_once() {
        let s = state(TWO_PATHS, false).await;
        // Every list the connector registry fetches, whatever it holds today.
        for c in tickbridge_connectors::connectors() {
            for (market, _) in c.supported() {
                for url in c.instrument_urls(*market, "https://api.example.com") {
                    let path = normalize_rest_path(strip_origin(&url));
                    assert!(s.instrument_paths.contains(&path), "{url}");
                }
            }
        }
        assert_eq!(s.first_ws_ts, Some(1));
    }

    #[test]
    fn speeds_parse() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        assert_eq!("10x".parse::<Speed>(), Ok(Speed::Factor(10.0)));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }
}

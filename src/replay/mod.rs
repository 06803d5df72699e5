//! The mock exchange: serves a capture over real WebSockets (and its recorded REST
//! responses over plain HTTP on the same port), so the real binary can be tested and
//! benchmarked against real exchange traffic on 127.0.0.1.
//!
//! - The k-th WebSocket client gets the capture's k-th connection; a client beyond the
//!   recorded connections gets an idle connection. In live mode (`--live`) all clients
//!   share one playback clock and join the recording where it is (see [`ReplayArgs`]).
//! - Frames are sent in recorded order, at recorded speed scaled by a factor, or as
//!   fast as the client reads (`Speed::Max`). When the recording shows the client
//!   sending first (a subscribe), the server waits for the client's first frame.
//! - Client frames are logged (`client frame`, with the client number and the text):
//!   tests read what the bridge subscribed to from the log. Subscribe requests are
//!   answered in the exchange's format ([`protocol`]), refusals included.
//! - After the last frame the connection stays open (pings answered) until the client
//!   closes it, like a quiet exchange.
//! - Misbehaviours ([`faults`]) drop, silence, close or corrupt connections on demand.
//! - A REST request is answered with the recorded response of the same path and query
//!   (ignoring `limit`), released only once playback has reached the time it was
//!   recorded: the real order-book sync race, preserved.
//!
//! Every connection task is tracked and joined on shutdown.

pub mod faults;
mod http;
pub mod protocol;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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

/// Shared state of one replay server.
struct Replay {
    capture: Capture,
    speed: Speed,
    connections: Vec<u64>,
    next_client: AtomicUsize,
    /// Capture time (ns) that playback has reached, across connections.
    position: watch::Sender<i64>,
    /// How many times each REST URL was served (repeated requests get later recordings).
    http_served: Mutex<HashMap<String, usize>>,
    /// Connections whose frames have all been sent.
    finished: AtomicUsize,
    args: ReplayArgs,
    protocol: Protocol,
    /// Live mode: when playback started (the first client's start).
    live_start: std::sync::OnceLock<Instant>,
}

/// A running replay server's handle.
pub struct ReplayHandle {
    pub addr: SocketAddr,
    state: Arc<Replay>,
}

impl ReplayHandle {
    /// True once every recorded connection has been served to the end.
    pub fn all_served(&self) -> bool {
        self.state.finished.load(Ordering::SeqCst) >= self.state.connections.len()
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
    let connections = capture.connections();
    let capture_exchange = capture.header.exchange.clone();
    let start = capture.events.first().map(|e| e.ts).unwrap_or(0);
    let state = Arc::new(Replay {
        capture,
        speed,
        connections,
        next_client: AtomicUsize::new(0),
        position: watch::channel(start).0,
        http_served: Mutex::new(HashMap::new()),
        finished: AtomicUsize::new(0),
        protocol: Protocol::of(&capture_exchange),
        args,
        live_start: std::sync::OnceLock::new(),
    });
    let addr = listener.local_addr()?;
    Ok((listener, ReplayHandle { addr, state }))
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
        let index = state.next_client.fetch_add(1, Ordering::SeqCst);
        info!(client = index, path = %head.path, "client connected");
        if let Some(delay) = state
            .args
            .accept_delay()
            .filter(|_| state.args.faulty(index))
        {
            info!(client = index, ?delay, "fault: delaying the handshake");
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
        let ws = tokio_tungstenite::accept_async(stream).await?;
        serve_websocket(state, ws, index, cancel).await
    } else {
        http::answer(stream, &head, move |path| async move {
            rest_response(&state, &path).await
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

/// Plays capture connection number `index` (live: the one at the clock's position) to
/// one client, answering its requests and applying the faults it is due.
async fn serve_websocket(
    state: Arc<Replay>,
    ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    index: usize,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let (mut write, mut read) = ws.split();
    let args = &state.args;
    let conn = match (args.live, state.connections.len()) {
        (_, 0) => None,
        (true, n) => Some(state.connections[index % n]),
        (false, _) => state.connections.get(index).copied(),
    };
    let frames: Vec<&Event> = match conn {
        Some(c) => state
            .capture
            .events
            .iter()
            .filter(|e| e.conn == c && matches!(e.ev, EventKind::Recv | EventKind::Send))
            .collect(),
        None => Vec::new(),
    };
    info!(client = index, conn = ?conn, frames = frames.len(), live = args.live, "replaying");
    let client_speaks_first = frames.first().is_some_and(|e| e.ev == EventKind::Send);
    let t0 = frames.first().map(|e| e.ts).unwrap_or(0);
    let recvs: Vec<&Event> = frames
        .iter()
        .copied()
        .filter(|e| e.ev == EventKind::Recv)
        .filter(|e| {
            e.text
                .as_deref()
                .is_none_or(|t| !state.protocol.is_recorded_reply(t) && !args.refused_frame(t))
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
    // Answers to the client's requests, each due at its instant (`--ack-delay`).
    let mut replies: std::collections::VecDeque<(Instant, String)> = Default::default();
    let far = || Instant::now() + Duration::from_secs(86_400);
    let start_playback = |next: &mut usize| -> Instant {
        let now = Instant::now();
        if !args.live {
            return now;
        }
        // Join the shared clock where it is: frames already due are gone.
        let start = *state.live_start.get_or_init(|| now);
        if let Speed::Factor(f) = state.speed {
            while *next < recvs.len()
                && start + Duration::from_nanos(((recvs[*next].ts - t0).max(0) as f64 / f) as u64)
                    < now
            {
                *next += 1;
            }
        }
        info!(client = index, skipped = *next, "joining the live stream");
        start
    };
    if !client_speaks_first {
        started = Some(start_playback(&mut next));
    }

    loop {
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
                    for answer in state.protocol.answer(text.as_str(), &args.refuse_symbols) {
                        replies.push_back((at, answer));
                    }
                    if started.is_none() {
                        started = Some(start_playback(&mut next));
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
                if next >= recvs.len() && !recvs.is_empty() {
                    state.finished.fetch_add(1, Ordering::SeqCst);
                    info!(client = index, sent = next, "capture connection served; holding it open");
                    // Hold the connection like a quiet exchange until the client or the
                    // server ends it.
                    if let Some(last) = frames.last() {
                        state.position.send_if_modified(|p| if last.ts > *p { *p = last.ts; true } else { false });
                    }
                }
            }
        }
    }
}

/// Finds the recorded REST response for `path` (`/api/v3/depth?symbol=X&limit=Y`),
/// waiting until playback reaches its recording time.
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
        let n = served.entry(wanted).or_insert(0);
        *n += 1;
        *n - 1
    };
    let event = candidates[n.min(candidates.len() - 1)];
    // Release the response when playback reaches its recorded time (bounded wait).
    let mut position = state.position.subscribe();
    let _ = timeout(
        Duration::from_secs(10),
        position.wait_for(|p| *p >= event.ts),
    )
    .await;
    event.text.clone()
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

/// Path and query without `limit` (clients may ask for other depths than recorded),
/// query parameters sorted.
fn normalize_rest_path(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
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
    fn speeds_parse() {
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        assert_eq!("10x".parse::<Speed>(), Ok(Speed::Factor(10.0)));
        assert!("0".parse::<Speed>().is_err());
        assert!("fast".parse::<Speed>().is_err());
    }
}

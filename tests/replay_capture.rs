//! `tickbridge replay` serves what a capture recorded, checked with the real binary
//! over real WebSockets and HTTP: each client gets the recorded connection of the
//! path it asked for (every connection of a multi-connection capture can be served),
//! the reply protocol comes from the recorded URL (a Coinbase Advanced Trade
//! recording under a `coinbase` header replays its own `subscriptions`
//! acknowledgements, no Exchange-feed replies), recorded REST responses — instrument
//! lists included, at once and byte for byte — are served, unknown paths are 404, and
//! `--exit-when-done` ends the process with status 0 once playback is done.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bin, capture, http_get, Replay};
use serde_json::{json, Value};
use tickbridge::capture::{Capture, EventKind};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// A WebSocket client of the replay at `addr` asking for `path`.
fn connect(addr: &str, path: &str) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connecting to the replay");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (ws, _) = tungstenite::client(format!("ws://{addr}{path}"), stream)
        .unwrap_or_else(|e| panic!("WebSocket handshake for {path}: {e}"));
    ws
}

fn send(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.send(Message::text(text)).expect("sending a frame");
}

/// Text frames until `n` were read or nothing arrived for `quiet`.
fn read_texts(ws: &mut WebSocket<TcpStream>, n: usize, quiet: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let mut last = Instant::now();
    while out.len() < n && last.elapsed() < quiet {
        match ws.read() {
            Ok(Message::Text(t)) => {
                out.push(t.as_str().to_string());
                last = Instant::now();
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading from the replay: {e}"),
        }
    }
    out
}

/// Writes a plain capture (`header_exchange` in the header) of `events`.
fn write_capture(dir: &Path, header_exchange: &str, events: &[Value]) -> PathBuf {
    let path = dir.join(format!("{header_exchange}-test.jsonl"));
    let mut f = std::fs::File::create(&path).unwrap();
    let header = json!({"capture": 1, "exchange": header_exchange, "source": "tests/replay_capture.rs", "config": null});
    writeln!(f, "{header}").unwrap();
    for e in events {
        writeln!(f, "{e}").unwrap();
    }
    path
}

fn ev(ts: i64, conn: u64, kind: &str, text: &str) -> Value {
    json!({"ts": ts, "conn": conn, "ev": kind, "text": text})
}

fn open(ts: i64, conn: u64, url: &str) -> Value {
    json!({"ts": ts, "conn": conn, "ev": "open", "url": url})
}

/// The replay's `client assigned` log lines, by client number.
fn assignments(replay: &Replay) -> Vec<Value> {
    let mut lines: Vec<Value> = replay
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "client assigned")
        .collect();
    lines.sort_by_key(|l| l["client"].as_u64());
    lines
}

/// The recorded frames of one connection of a capture: (sent, received) texts.
fn recorded(c: &Capture, conn: u64) -> (Vec<String>, Vec<String>) {
    let texts = |kind| {
        c.events
            .iter()
            .filter(|e| e.conn == conn && e.ev == kind)
            .filter_map(|e| e.text.clone())
            .collect::<Vec<_>>()
    };
    (texts(EventKind::Send), texts(EventKind::Recv))
}

const OKX_PUBLIC_SUB: &str =
    r#"{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}"#;
const OKX_BUSINESS_SUB: &str =
    r#"{"op":"subscribe","args":[{"channel":"candle1m","instId":"BTC-USDT"}]}"#;

/// Two OKX connections, `/ws/v5/public` (trades) and `/ws/v5/business` (candles),
/// recorded interleaved, each with its subscribe, its acknowledgement and data.
fn okx_two_connections(dir: &Path) -> (PathBuf, Vec<String>, Vec<String>) {
    let public: Vec<String> = std::iter::once(
        r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"p1"}"#
            .to_string(),
    )
    .chain((1..=3).map(|i| {
        format!(
            r#"{{"arg":{{"channel":"trades","instId":"BTC-USDT"}},"data":[{{"instId":"BTC-USDT","tradeId":"{i}","px":"30000.{i}","sz":"0.1","side":"buy","ts":"165245922{i}000"}}]}}"#
        )
    }))
    .collect();
    let business: Vec<String> = std::iter::once(
        r#"{"event":"subscribe","arg":{"channel":"candle1m","instId":"BTC-USDT"},"connId":"b1"}"#
            .to_string(),
    )
    .chain((1..=3).map(|i| {
        format!(
            r#"{{"arg":{{"channel":"candle1m","instId":"BTC-USDT"}},"data":[["165245922{i}000","30000","30001","29999","3000{i}","1","30000","30000","0"]]}}"#
        )
    }))
    .collect();
    let mut events = vec![
        open(100, 1, "wss://ws.okx.com:8443/ws/v5/public"),
        open(101, 2, "wss://ws.okx.com:8443/ws/v5/business"),
        ev(110, 1, "send", OKX_PUBLIC_SUB),
        ev(111, 2, "send", OKX_BUSINESS_SUB),
    ];
    for i in 0..4 {
        events.push(ev(200 + 10 * i as i64, 1, "recv", &public[i]));
        events.push(ev(205 + 10 * i as i64, 2, "recv", &business[i]));
    }
    (write_capture(dir, "okx", &events), public, business)
}

#[test]
fn each_client_gets_the_recorded_connection_of_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let (path, public, business) = okx_two_connections(dir.path());
    let replay = Replay::start(&path, "max");
    // The business client comes first: by order it would get the public connection.
    let mut b = connect(&replay.addr, "/ws/v5/business");
    let mut p = connect(&replay.addr, "/ws/v5/public?brokerId=9999");
    send(&mut b, OKX_BUSINESS_SUB);
    send(&mut p, OKX_PUBLIC_SUB);
    let quiet = Duration::from_secs(3);
    assert_eq!(read_texts(&mut b, 5, quiet), business, "business client");
    assert_eq!(read_texts(&mut p, 5, quiet), public, "public client");
    // Every recorded connection is taken: a third client gets an idle connection,
    // and nothing is made up for it (OKX replies are the recorded ones).
    let mut idle = connect(&replay.addr, "/ws/v5/public");
    send(&mut idle, OKX_PUBLIC_SUB);
    assert_eq!(
        read_texts(&mut idle, 1, Duration::from_millis(600)),
        Vec::<String>::new()
    );

    let got = assignments(&replay);
    let summary: Vec<(Value, Value, Value)> = got
        .iter()
        .map(|l| (l["path"].clone(), l["conn"].clone(), l["matched"].clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (json!("/ws/v5/business"), json!(2), json!("by path")),
            (
                json!("/ws/v5/public?brokerId=9999"),
                json!(1),
                json!("by path")
            ),
            (json!("/ws/v5/public"), Value::Null, json!("idle")),
        ],
        "{got:?}"
    );
    assert_eq!(
        got[0]["recorded_url"],
        "wss://ws.okx.com:8443/ws/v5/business"
    );
    assert!(got.iter().all(|l| l["protocol"] == "Recorded"), "{got:?}");
}

/// The first `n` received frames of a recorded connection, served to a client that
/// asks for `path` and sends the connection's first recorded request.
fn first_frames_served(replay: &Replay, path: &str, sent: &[String], n: usize) -> Vec<String> {
    let mut ws = connect(&replay.addr, path);
    if let Some(first) = sent.first() {
        send(&mut ws, first);
    }
    read_texts(&mut ws, n, Duration::from_secs(5))
}

#[test]
fn every_connection_of_a_corpus_capture_is_served_by_path() {
    // cryptofeed/bybit: conn 25 `/realtime_public`, conn 26 `/realtime`.
    let path = capture("cryptofeed/bybit.jsonl.gz");
    let c = Capture::read(&path).unwrap();
    let replay = Replay::start(&path, "max");
    let (sent26, recv26) = recorded(&c, 26);
    let (sent25, recv25) = recorded(&c, 25);
    // `/realtime` first: by order it would get `/realtime_public`.
    assert_eq!(
        first_frames_served(&replay, "/realtime", &sent26, 20),
        recv26[..20],
        "the /realtime client"
    );
    assert_eq!(
        first_frames_served(&replay, "/realtime_public", &sent25, 20),
        recv25[..20],
        "the /realtime_public client"
    );
    let conns: Vec<Value> = assignments(&replay)
        .iter()
        .map(|l| l["conn"].clone())
        .collect();
    assert_eq!(conns, [json!(26), json!(25)]);

    // cryptofeed/kraken: three connections on the same URL, served in order.
    let path = capture("cryptofeed/kraken.jsonl.gz");
    let c = Capture::read(&path).unwrap();
    let replay = Replay::start(&path, "max");
    for conn in [48, 49, 50] {
        let (sent, recv) = recorded(&c, conn);
        // The recorded systemStatus, then the recorded subscriptionStatus replies.
        assert_eq!(
            first_frames_served(&replay, "/", &sent, 3),
            recv[..3],
            "kraken conn {conn}"
        );
        assert!(recv[1].contains("subscriptionStatus"), "{}", recv[1]);
    }
    let conns: Vec<Value> = assignments(&replay)
        .iter()
        .map(|l| l["conn"].clone())
        .collect();
    assert_eq!(conns, [json!(48), json!(49), json!(50)]);
}

const ADV_HEARTBEATS: &str = r#"{"type":"subscribe","channel":"heartbeats"}"#;
const ADV_TRADES: &str =
    r#"{"type":"subscribe","product_ids":["BTC-USD"],"channel":"market_trades"}"#;

#[test]
fn a_coinbase_advanced_capture_replays_its_recorded_acknowledgements() {
    let dir = tempfile::tempdir().unwrap();
    let frames = [
        r#"{"channel":"subscriptions","client_id":"","timestamp":"2026-02-18T16:42:25.100000000Z","sequence_num":0,"events":[{"subscriptions":{"heartbeats":["heartbeats"]}}]}"#,
        r#"{"channel":"heartbeats","client_id":"","timestamp":"2026-02-18T16:42:25.200000000Z","sequence_num":1,"events":[{"current_time":"2026-02-18 16:42:25.2 +0000 UTC m=+1.0","heartbeat_counter":"1"}]}"#,
        r#"{"channel":"subscriptions","client_id":"","timestamp":"2026-02-18T16:42:25.400000000Z","sequence_num":2,"events":[{"subscriptions":{"heartbeats":["heartbeats"],"market_trades":["BTC-USD"]}}]}"#,
        r#"{"channel":"market_trades","client_id":"","timestamp":"2026-02-18T16:42:25.500000000Z","sequence_num":3,"events":[{"type":"snapshot","trades":[{"trade_id":"963696120","product_id":"BTC-USD","price":"67231.87","size":"0.003","side":"BUY","time":"2026-02-18T16:42:25.4Z"}]}]}"#,
        r#"{"channel":"market_trades","client_id":"","timestamp":"2026-02-18T16:42:26.600000000Z","sequence_num":4,"events":[{"type":"update","trades":[{"trade_id":"963696121","product_id":"BTC-USD","price":"67232.00","size":"0.010","side":"SELL","time":"2026-02-18T16:42:26.5Z"}]}]}"#,
    ];
    // The header says `coinbase` (as cryptofeed names its Advanced Trade feed); the
    // recorded URL says Advanced Trade.
    let events = vec![
        open(1_000, 1, "wss://advanced-trade-ws.coinbase.com"),
        ev(1_100, 1, "send", ADV_HEARTBEATS),
        ev(1_200, 1, "recv", frames[0]),
        ev(1_300, 1, "recv", frames[1]),
        ev(1_350, 1, "send", ADV_TRADES),
        ev(1_400, 1, "recv", frames[2]),
        ev(1_500, 1, "recv", frames[3]),
        ev(2_600, 1, "recv", frames[4]),
    ];
    let path = write_capture(dir.path(), "coinbase", &events);
    let replay = Replay::start(&path, "max");
    let mut ws = connect(&replay.addr, "/");
    send(&mut ws, ADV_HEARTBEATS);
    send(&mut ws, ADV_TRADES);
    let got = read_texts(&mut ws, 10, Duration::from_secs(1));
    assert_eq!(got, frames, "exactly the recorded frames, in order");
    assert!(
        got.iter().all(|t| !t.contains(r#""type":"subscriptions""#)),
        "an Exchange-feed reply: {got:?}"
    );
    let a = assignments(&replay);
    assert_eq!(a[0]["protocol"], "Recorded", "{a:?}");
}

#[test]
fn a_coinbase_exchange_feed_capture_still_gets_exchange_replies() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/coinbase.jsonl");
    let replay = Replay::start(&path, "max");
    let mut ws = connect(&replay.addr, "/");
    send(
        &mut ws,
        r#"{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches"]}"#,
    );
    let got = read_texts(&mut ws, 100, Duration::from_secs(1));
    let replies: Vec<&String> = got.iter().filter(|t| t.contains("subscriptions")).collect();
    // This client's own request answered, not the recording client's.
    assert_eq!(
        replies,
        [r#"{"channels":[{"name":"matches","product_ids":["BTC-USD"]}],"type":"subscriptions"}"#],
        "{got:?}"
    );
    assert!(got.len() > 5, "{got:?}");
    assert_eq!(assignments(&replay)[0]["protocol"], "Coinbase");
}

/// The body of the `nth` recorded response whose URL ends with `path_and_query`.
fn recorded_body(c: &Capture, path_and_query: &str, nth: usize) -> String {
    c.events
        .iter()
        .filter(|e| e.ev == EventKind::Http)
        .filter(|e| {
            e.url
                .as_deref()
                .is_some_and(|u| u.ends_with(path_and_query))
        })
        .nth(nth)
        .and_then(|e| e.text.clone())
        .unwrap_or_else(|| panic!("no recorded {path_and_query}"))
}

/// GETs `path`, which must be answered 200 with `body` without waiting for playback
/// (no WebSocket client is connected; a response gated on playback time would wait
/// its 10 s bound).
fn assert_served_at_once(replay: &Replay, path: &str, body: &str) {
    let t = Instant::now();
    let (status, got) = http_get(&replay.addr, path).unwrap();
    assert_eq!(status, 200, "{path}: {}", &got[..got.len().min(200)]);
    assert!(
        got == body,
        "{path}: not the recorded body ({} vs {} bytes)",
        got.len(),
        body.len()
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{path} took {:?}",
        t.elapsed()
    );
}

#[test]
fn recorded_instrument_lists_are_served_at_once_with_their_bodies() {
    for (rel, path) in [
        ("cryptofeed/binance.jsonl.gz", "/api/v3/exchangeInfo"),
        (
            "cryptofeed/binance_futures.jsonl.gz",
            "/fapi/v1/exchangeInfo",
        ),
        ("cryptofeed/kraken.jsonl.gz", "/0/public/AssetPairs"),
        ("cryptofeed/coinbase.jsonl.gz", "/products"),
    ] {
        let file = capture(rel);
        let c = Capture::read(&file).unwrap();
        let replay = Replay::start(&file, "max");
        assert_served_at_once(&replay, path, &recorded_body(&c, path, 0));
    }

    // OKX: the query selects the list; repeated requests get the later recordings.
    let file = capture("cryptofeed/okx.jsonl.gz");
    let c = Capture::read(&file).unwrap();
    let replay = Replay::start(&file, "max");
    let base = "/api/v5/public/instruments";
    for inst in ["SWAP", "SPOT", "FUTURES"] {
        let q = format!("{base}?instType={inst}");
        assert_served_at_once(&replay, &q, &recorded_body(&c, &q, 0));
    }
    let swap = format!("{base}?instType=SWAP");
    assert_served_at_once(&replay, &swap, &recorded_body(&c, &swap, 1));
    let option = format!("{base}?uly=BTC-USD&instType=OPTION");
    assert_served_at_once(
        &replay,
        &option,
        &recorded_body(&c, "?instType=OPTION&uly=BTC-USD", 0),
    );
    for missing in [format!("{base}?instType=MARGIN"), base.to_string()] {
        let (status, body) = http_get(&replay.addr, &missing).unwrap();
        assert_eq!(status, 404, "{missing}: {body}");
    }
    let (status, body) = http_get(&replay.addr, "/api/v5/never/recorded").unwrap();
    assert_eq!(status, 404);
    assert!(
        body.len() < 200 && body.contains("no recorded response"),
        "{body}"
    );
}

/// A `tickbridge replay` process of our own, to see it exit.
struct Process {
    child: Child,
    addr: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn start(capture: &Path, extra: &[&str]) -> Process {
        let mut child = Command::new(bin())
            .args(["--log-format", "json", "replay"])
            .arg(capture)
            .args(["--listen", "127.0.0.1:0", "--speed", "max"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tickbridge replay");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Process { child, addr, logs }
    }

    /// The exit status within `timeout`, or `None` while it still runs.
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn logged(&self, message: &str) -> bool {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(message))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_binance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/binance.jsonl")
}

/// The demo Binance capture's received frames (20: trades and bookTickers).
fn demo_frames() -> usize {
    let c = Capture::read(&demo_binance()).unwrap();
    recorded(&c, 1).1.len()
}

#[test]
fn exit_when_done_exits_0_once_the_client_has_closed() {
    let n = demo_frames();
    let mut replay = Process::start(&demo_binance(), &["--exit-when-done"]);
    let mut ws = connect(&replay.addr, "/stream");
    assert_eq!(read_texts(&mut ws, n, Duration::from_secs(5)).len(), n);
    assert_eq!(
        replay.wait(Duration::from_millis(300)),
        None,
        "exited with the client still connected"
    );
    ws.close(None).unwrap();
    drop(ws);
    let status = replay
        .wait(Duration::from_secs(10))
        .expect("replay did not exit after playback");
    assert!(status.success(), "{status}");
    assert!(replay.logged("playback done"));
}

#[test]
fn exit_when_done_exits_0_after_the_grace_with_a_client_still_connected() {
    let n = demo_frames();
    let mut replay = Process::start(
        &demo_binance(),
        &["--exit-when-done", "--exit-grace", "500ms"],
    );
    let mut ws = connect(&replay.addr, "/stream");
    assert_eq!(read_texts(&mut ws, n, Duration::from_secs(5)).len(), n);
    let served = Instant::now();
    let status = replay
        .wait(Duration::from_secs(10))
        .expect("replay did not exit after the grace");
    assert!(status.success(), "{status}");
    assert!(
        served.elapsed() >= Duration::from_millis(200),
        "{:?}",
        served.elapsed()
    );
    drop(ws);
}

#[test]
fn without_exit_when_done_the_replay_keeps_running() {
    let n = demo_frames();
    let mut replay = Process::start(&demo_binance(), &["--exit-grace", "100ms"]);
    let mut ws = connect(&replay.addr, "/stream");
    assert_eq!(read_texts(&mut ws, n, Duration::from_secs(5)).len(), n);
    ws.close(None).unwrap();
    drop(ws);
    assert_eq!(
        replay.wait(Duration::from_millis(1500)),
        None,
        "exited without --exit-when-done"
    );
}

#[test]
fn replay_help_documents_exit_when_done() {
    let out = Command::new(bin())
        .args(["replay", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--exit-when-done"), "{help}");
    assert!(help.contains("--exit-grace"), "{help}");
}

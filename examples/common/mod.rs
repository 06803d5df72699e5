//! What the benchmark examples share: the capture's trade and bookTicker frames and
//! their copies with shifted ids, a mock exchange's first steps with the bridge (accept
//! its WebSocket, answer its SUBSCRIBE), finding nats-server (the tests' own lookup)
//! and starting a private one on a free loopback port, and reading a process's CPU
//! time and memory. Each example uses a part of it.
#![allow(dead_code)]

#[path = "../../tests/nats_common/server_bin.rs"]
mod server_bin;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tickbridge::capture::{Capture, EventKind};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub use server_bin::nats_server_bin;

/// The text of the capture's received trade and bookTicker frames, in order.
pub fn ticker_frames(capture: &Capture) -> Vec<&str> {
    capture
        .events
        .iter()
        .filter(|e| e.ev == EventKind::Recv)
        .filter_map(|e| e.text.as_deref())
        .filter(|t| t.contains("@trade\"") || t.contains("@bookTicker\""))
        .collect()
}

/// Starts nats-server with JetStream (store in `store`) on a free loopback port and
/// waits until it accepts connections; returns it and its URL.
pub fn start_private_server(store: &Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(nats_server_bin())
        .args(["-js", "-sd"])
        .arg(store)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting nats-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, format!("nats://127.0.0.1:{port}"))
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    ticks / hz
}

/// The frame with its trade id (`"t"`) and update id (`"u"`) raised by `by`, edited in
/// place: the frame keeps Binance's key order (`stream` first), which the bridge's
/// parser relies on for its fast path. (Re-serializing through `serde_json::Value`
/// sorts the keys and sent every shifted copy down the slow path.)
pub fn shift_ids(text: &str, by: u64) -> String {
    let mut out = text.to_string();
    for key in ["\"t\":", "\"u\":"] {
        let Some(at) = out.find(key) else { continue };
        let start = at + key.len();
        let len = out[start..].bytes().take_while(u8::is_ascii_digit).count();
        let n: u64 = out[start..start + len].parse().expect("a numeric id");
        out.replace_range(start..start + len, &(n + by).to_string());
    }
    out
}

/// Accepts the bridge's WebSocket on `listener` (within 30 s) and, like the exchange,
/// answers its SUBSCRIBE (if it sends one within 2 s) before data flows.
pub async fn accept_bridge(listener: &TcpListener) -> WebSocketStream<TcpStream> {
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .expect("the bridge did not connect")
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    if let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_secs(2), ws.next()).await
    {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if v["method"] == "SUBSCRIBE" {
                let reply = serde_json::json!({"result": null, "id": v["id"]}).to_string();
                ws.send(Message::text(reply)).await.unwrap();
            }
        }
    }
    ws
}

/// `key: <n> kB` of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`), in KiB; 0 if unreadable.
pub fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The `[[source]]` (Binance, trade + bbo, BTC-USDT) and `[instruments]` tables of a
/// bridge that reads the mock exchange on `port` (which serves no instrument list).
pub fn mock_source_toml(port: u16) -> String {
    format!(
        r#"[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "ws://127.0.0.1:{port}"
[instruments]
on_unavailable = "unverified"
timeout = "2s"
"#
    )
}

//! What the NATS examples share: the capture's trade and bookTicker frames, finding
//! nats-server (the tests' own lookup), starting a private one on a free loopback
//! port, and reading a process's CPU time.

#[path = "../../tests/nats_common/server_bin.rs"]
mod server_bin;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tickbridge::capture::{Capture, EventKind};

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

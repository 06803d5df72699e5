//! NATS JetStream benchmark of the real binary: a paced mock exchange → `tickbridge
//! run` → JetStream (file storage, PubAcks awaited) on the server at `NATS_URL`.
//!
//! ```text
//! cargo build --release --bin tickbridge --example nats_bench
//! target/release/examples/nats_bench --rate 0 --repeat 4        # max speed: acked ticks/s, CPU
//! target/release/examples/nats_bench --rate 20000 --repeat 2    # latency at a fixed 20k ticks/s
//! ```
//!
//! The mock exchange here serves the trade and bookTicker frames of a Binance capture
//! over a real WebSocket, either as fast as the bridge reads (`--rate 0`) or evenly
//! paced at `--rate` frames/s (one frame = one tick). `--repeat K` plays the frames K
//! times, shifting trade ids and update ids so every copy is a new record (dedup does
//! not drop it). It reports:
//!
//! - acked ticks/s: stored messages over the span between the first and the last
//!   message's JetStream timestamp (every message is stored before its PubAck);
//! - CPU seconds per million ticks of the bridge process (utime + stime from /proc,
//!   read after the last ack, before SIGTERM), and its peak RSS;
//! - receive-to-ack latency p50/p99/max: measured inside the bridge by the NATS sink,
//!   from each record's `ts_recv` (the wall clock when its frame was read from the
//!   socket, before parsing) to the moment its PubAck resolved; logged in the
//!   `nats sink closed` line at shutdown.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tickbridge::capture::{Capture, EventKind};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    rate: u64,
    repeat: usize,
    capture: PathBuf,
    linger: String,
    max_events: usize,
    max_in_flight: usize,
    /// `[sink.nats] publish`: `fast_batch` or `per_message`.
    publish: String,
    bin: PathBuf,
    /// `None`: start a private nats-server (JetStream, store in a temp dir).
    url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        rate: 0,
        repeat: 1,
        capture: PathBuf::from(
            std::env::var("TICKBRIDGE_CAPTURES").unwrap_or_else(|_| "../shared/captures".into()),
        )
        .join("hftbacktest/binance_btcusdt_20240808.jsonl.gz"),
        linger: "1ms".into(),
        max_events: 1000,
        max_in_flight: 4,
        publish: "fast_batch".into(),
        bin: std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("tickbridge")))
            .unwrap_or_else(|| PathBuf::from("target/release/tickbridge")),
        url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--rate" => a.rate = value().parse().expect("--rate N"),
            "--repeat" => a.repeat = value().parse().expect("--repeat K"),
            "--capture" => a.capture = PathBuf::from(value()),
            "--linger" => a.linger = value(),
            "--max-events" => a.max_events = value().parse().expect("--max-events N"),
            "--max-in-flight" => a.max_in_flight = value().parse().expect("--max-in-flight N"),
            "--publish" => a.publish = value(),
            "--bin" => a.bin = PathBuf::from(value()),
            "--url" => a.url = Some(value()),
            other => panic!(
                "unknown flag {other} (--rate --repeat --capture --linger --max-events --max-in-flight --publish --bin --url)"
            ),
        }
    }
    a
}

/// The trade and bookTicker frames, `repeat` times with shifted ids.
fn frames(capture: &std::path::Path, repeat: usize) -> Vec<String> {
    let capture = Capture::read(capture).expect("reading the capture");
    let base: Vec<&str> = capture
        .events
        .iter()
        .filter(|e| e.ev == EventKind::Recv)
        .filter_map(|e| e.text.as_deref())
        .filter(|t| t.contains("@trade\"") || t.contains("@bookTicker\""))
        .collect();
    let mut out = Vec::with_capacity(base.len() * repeat);
    for r in 0..repeat as u64 {
        for text in &base {
            if r == 0 {
                out.push(text.to_string());
                continue;
            }
            let mut v: Value = serde_json::from_str(text).unwrap();
            for key in ["t", "u"] {
                if let Some(n) = v["data"][key].as_u64() {
                    v["data"][key] = Value::from(n + r * 100_000_000_000);
                }
            }
            out.push(v.to_string());
        }
    }
    out
}

/// The nats-server binary: `NATS_SERVER_BIN`, or the one `scripts/nats.sh install` cached.
fn nats_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("NATS_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let cache = std::env::var("TICKBRIDGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/tickbridge")
        });
    std::fs::read_dir(&cache)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("nats-server-"))
        .map(|e| e.path().join("bin/nats-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no nats-server: run scripts/nats.sh install, set NATS_SERVER_BIN, or pass --url"
            )
        })
}

fn cpu_seconds(pid: u32) -> f64 {
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

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    let a = args();
    let frames = frames(&a.capture, a.repeat);
    let n = frames.len();
    let stream = format!("BENCH_{}", std::process::id());
    let subject_prefix = stream.to_lowercase();
    // A private server by default: nothing else shares it, and its CPU is measured too.
    let store = std::env::temp_dir().join(format!("{stream}-store"));
    let mut server = None;
    let url = match &a.url {
        Some(u) => u.clone(),
        None => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(nats_server_bin())
                .args(["-js", "-sd"])
                .arg(&store)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting nats-server");
            server = Some(child);
            let url = format!("nats://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "nats-server did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            url
        }
    };
    let server_pid = server.as_ref().map(|c| c.id());
    let client = async_nats::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("no NATS server at {url} ({e}): scripts/nats.sh start"));
    let js = async_nats::jetstream::new(client);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "ws://127.0.0.1:{port}"
[sink]
kind = "nats"
delivery_timeout = "60s"
max_in_flight = {max_in_flight}
[sink.nats]
url = "{url}"
publish = "{publish}"
subject = "{subject_prefix}.{{exchange}}.{{kind}}.{{symbol}}"
[sink.nats.stream]
name = "{stream}"
storage = "file"
[batch]
max_events = {max_events}
linger = "{linger}"
[shutdown]
drain_timeout = "60s"
[ops]
listen = "127.0.0.1:0"
"#,
        max_events = a.max_events,
        max_in_flight = a.max_in_flight,
        linger = a.linger,
        publish = a.publish,
    );
    let config_path = std::env::temp_dir().join(format!("{stream}.toml"));
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new(&a.bin)
        .args(["--log-format", "json", "run", "--config"])
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", a.bin.display()));
    let pid = child.id();
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let logs = logs.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push(line);
            }
        })
    };

    let (tcp, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .expect("the bridge did not connect")
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let (mut write, mut read) = ws.split();
    // Like the exchange: answer the bridge's SUBSCRIBE (if it sends one) before data flows.
    if let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(Duration::from_secs(2), read.next()).await
    {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if v["method"] == "SUBSCRIBE" {
                let reply = serde_json::json!({"result": null, "id": v["id"]}).to_string();
                write.send(Message::text(reply)).await.unwrap();
            }
        }
    }
    eprintln!(
        "nats_bench: {n} ticks ({}x capture), rate {}",
        a.repeat,
        if a.rate == 0 {
            "max".to_string()
        } else {
            format!("{}/s", a.rate)
        }
    );

    let send = async {
        let t0 = Instant::now();
        for (i, f) in frames.into_iter().enumerate() {
            if a.rate > 0 {
                let due = t0 + Duration::from_secs_f64(i as f64 / a.rate as f64);
                if due > Instant::now() {
                    write.flush().await.unwrap();
                    tokio::time::sleep_until(due.into()).await;
                }
                write.feed(Message::text(f)).await.unwrap();
            } else {
                write.feed(Message::text(f)).await.unwrap();
                if i % 256 == 0 {
                    write.flush().await.unwrap();
                }
            }
        }
        write.flush().await.unwrap();
        let sent = t0.elapsed();
        // All acked: every tick plus the connected and subscribed status records.
        let want = n as u64 + 2;
        loop {
            let info = js
                .get_stream(&stream)
                .await
                .unwrap()
                .info()
                .await
                .unwrap()
                .clone();
            if info.state.messages >= want {
                break (sent, t0.elapsed(), info.state);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // Keep reading (pings, the final Close) while sending.
    let drain_reads = async { while let Some(Ok(_)) = read.next().await {} };
    let (sent, acked, state) = tokio::select! {
        r = send => r,
        _ = drain_reads => panic!("the bridge closed the connection"),
    };
    let cpu = cpu_seconds(pid);
    let server_cpu = server_pid.map(cpu_seconds);
    let rss = peak_rss_mb(pid);
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    reader.join().unwrap();
    let logs = logs.lock().unwrap().clone();
    if let Ok(path) = std::env::var("NATS_BENCH_LOG") {
        std::fs::write(&path, logs.join("\n")).expect("writing NATS_BENCH_LOG");
    }
    let field = |prefix: &str, key: &str| -> Value {
        logs.iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .rev()
            .find(|v| v["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
            .map(|v| v[key].clone())
            .unwrap_or(Value::Null)
    };
    let span_ns = (state.last_timestamp.unix_timestamp_nanos()
        - state.first_timestamp.unix_timestamp_nanos()) as f64;
    let stored = state.messages;
    println!("ticks                      {n}");
    println!("stored (ticks + 2 status)  {stored}");
    println!("bridge exit                {status}");
    println!(
        "summary                    received {} delivered {} lost {}",
        field("summary:", "received"),
        field("summary:", "delivered"),
        field("summary:", "lost")
    );
    println!("send time                  {:.3} s", sent.as_secs_f64());
    println!("first frame → all acked    {:.3} s", acked.as_secs_f64());
    println!(
        "acked ticks/s (stream ts)  {:.0}",
        (stored - 1) as f64 / (span_ns / 1e9)
    );
    println!(
        "acked ticks/s (wall)       {:.0}",
        stored as f64 / acked.as_secs_f64()
    );
    println!(
        "bridge CPU                 {cpu:.2} s = {:.2} s per million ticks",
        cpu / (stored as f64 / 1e6)
    );
    println!("bridge peak RSS            {rss:.0} MB");
    if let Some(c) = server_cpu {
        println!(
            "nats-server CPU            {c:.2} s = {:.2} s per million ticks",
            c / (stored as f64 / 1e6)
        );
    }
    println!(
        "receive→ack latency        p50 {} µs, p99 {} µs, max {} µs",
        field("nats sink closed", "ack_latency_p50_us"),
        field("nats sink closed", "ack_latency_p99_us"),
        field("nats sink closed", "ack_latency_max_us")
    );
    println!(
        "duplicates / retries       {} / {}",
        field("nats sink closed", "duplicates"),
        field("nats sink closed", "retries")
    );
    let _ = js.delete_stream(&stream).await;
    let _ = std::fs::remove_file(&config_path);
    if let Some(mut s) = server {
        let _ = s.kill();
        let _ = s.wait();
        let _ = std::fs::remove_dir_all(&store);
    }
}

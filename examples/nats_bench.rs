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

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tickbridge::capture::Capture;
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
    /// `[sink.nats.stream] persist_mode`: `default` or `async`.
    persist: String,
    /// `[sink.nats.stream] duplicate_window`.
    duplicate_window: String,
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
        max_in_flight: 8,
        publish: "fast_batch".into(),
        persist: "default".into(),
        duplicate_window: "2m".into(),
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
            "--persist" => a.persist = value(),
            "--duplicate-window" => a.duplicate_window = value(),
            "--bin" => a.bin = PathBuf::from(value()),
            "--url" => a.url = Some(value()),
            other => panic!(
                "unknown flag {other} (--rate --repeat --capture --linger --max-events --max-in-flight --publish --persist --duplicate-window --bin --url)"
            ),
        }
    }
    a
}

/// The trade and bookTicker frames, `repeat` times with shifted ids.
fn frames(capture: &std::path::Path, repeat: usize) -> Vec<String> {
    let capture = Capture::read(capture).expect("reading the capture");
    let base = common::ticker_frames(&capture);
    let mut out = Vec::with_capacity(base.len() * repeat);
    for r in 0..repeat as u64 {
        for text in &base {
            if r == 0 {
                out.push(text.to_string());
                continue;
            }
            out.push(common::shift_ids(text, r * 100_000_000_000));
        }
    }
    out
}

fn peak_rss_mb(pid: u32) -> f64 {
    common::status_kib(pid, "VmHWM:") as f64 / 1024.0
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
            let (child, url) = common::start_private_server(&store);
            server = Some(child);
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
{source}[sink]
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
persist_mode = "{persist}"
duplicate_window = "{duplicate_window}"
[batch]
max_events = {max_events}
linger = "{linger}"
[shutdown]
drain_timeout = "60s"
[ops]
listen = "127.0.0.1:0"
"#,
        source = common::mock_source_toml(port),
        max_events = a.max_events,
        max_in_flight = a.max_in_flight,
        linger = a.linger,
        publish = a.publish,
        persist = a.persist,
        duplicate_window = a.duplicate_window,
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

    let (mut write, mut read) = common::accept_bridge(&listener).await.split();
    eprintln!(
        "nats_bench: {n} ticks ({}x capture), rate {}",
        a.repeat,
        if a.rate == 0 {
            "max".to_string()
        } else {
            format!("{}/s", a.rate)
        }
    );

    let own_cpu_at_start = common::cpu_seconds(std::process::id());
    let mut bench_stream = js.get_stream(&stream).await.unwrap();
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
        // Polled slowly: a stream-info request takes the stream's lock, which the
        // server's ingest loop needs too. The rate comes from the stream's timestamps.
        loop {
            let info = bench_stream.info().await.unwrap().clone();
            if info.state.messages >= want {
                break (sent, t0.elapsed(), info.state);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // Keep reading (pings, the final Close) while sending.
    let drain_reads = async { while let Some(Ok(_)) = read.next().await {} };
    let (sent, acked, state) = tokio::select! {
        r = send => r,
        _ = drain_reads => panic!("the bridge closed the connection"),
    };
    let cpu = common::cpu_seconds(pid);
    let feed_cpu = common::cpu_seconds(std::process::id()) - own_cpu_at_start;
    let server_cpu = server_pid.map(common::cpu_seconds);
    let rss = peak_rss_mb(pid);
    let server_rss = server_pid.map(peak_rss_mb);
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
    println!("mock exchange CPU          {feed_cpu:.2} s (this process while feeding)");
    println!("bridge peak RSS            {rss:.0} MB");
    if let Some(c) = server_cpu {
        println!(
            "nats-server CPU            {c:.2} s = {:.2} s per million ticks",
            c / (stored as f64 / 1e6)
        );
    }
    if let Some(r) = server_rss {
        // Mostly the duplicate window's ids: the server keeps every Nats-Msg-Id of
        // the last `duplicate_window` in memory.
        println!("nats-server peak RSS       {r:.0} MB");
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

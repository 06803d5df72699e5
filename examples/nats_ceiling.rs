//! How fast can nats-server alone store the bridge's records on this machine? A
//! publisher that costs next to nothing (every message encoded before the clock
//! starts, written to a plain TCP socket in large chunks) feeds a private nats-server
//! with JetStream the same way the bridge does: file storage, a 2 min duplicate
//! window, `Nats-Msg-Id` on every message, and either one fast batch with flow acks
//! (`--publish fast_batch`, the bridge's default) or a PubAck per message with at most
//! `--window` outstanding (`--publish per_message`).
//!
//! ```text
//! cargo build --release --example nats_ceiling
//! nice -n -19 target/release/examples/nats_ceiling --repeat 8 [--publish per_message] [--persist async]
//! ```
//!
//! The messages are the bridge's own: the trade and bookTicker frames of the Binance
//! capture parsed by the real connector, encoded by the schema's encoder and routed by
//! the default subject template (`--repeat K` shifts the ids so every copy is new).
//! It prints acked messages/s and the CPU seconds per million messages of the server
//! and of this publisher: the throughput no bridge can beat on this box with these
//! guarantees.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use tickbridge::capture::Capture;
use tickbridge::sinks::nats::{SubjectTemplate, FAST_BATCH_FLOW, MAX_OUTSTANDING_FLOW_ACKS};
use tickbridge_connectors::contract::{Channel, SourceRequest};
use tickbridge_schema::Market;

/// The bridge's own flow settings: an ack every `FLOW` messages, `OUTSTANDING_FLOWS`
/// windows in flight.
const FLOW: u64 = FAST_BATCH_FLOW;
const OUTSTANDING_FLOWS: u64 = MAX_OUTSTANDING_FLOW_ACKS;

struct Args {
    repeat: u64,
    capture: PathBuf,
    fast_batch: bool,
    /// Outstanding PubAcks in `per_message` mode.
    window: u64,
    /// The stream's `persist_mode`: `default` or `async`.
    persist: String,
}

fn args() -> Args {
    let mut a = Args {
        repeat: 4,
        capture: PathBuf::from(
            std::env::var("TICKBRIDGE_CAPTURES").unwrap_or_else(|_| "../shared/captures".into()),
        )
        .join("hftbacktest/binance_btcusdt_20240808.jsonl.gz"),
        fast_batch: true,
        window: 8192,
        persist: "default".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--repeat" => a.repeat = value().parse().expect("--repeat K"),
            "--capture" => a.capture = PathBuf::from(value()),
            "--persist" => a.persist = value(),
            "--publish" => {
                a.fast_batch = match value().as_str() {
                    "fast_batch" => true,
                    "per_message" => false,
                    other => panic!("--publish fast_batch|per_message, not {other}"),
                }
            }
            "--window" => a.window = value().parse().expect("--window N"),
            other => {
                panic!("unknown flag {other} (--repeat --capture --publish --window --persist)")
            }
        }
    }
    a
}

/// The bridge's messages for the capture's trades and top-of-book updates:
/// (subject, record id, JSON payload).
fn messages(a: &Args) -> Vec<(String, String, Vec<u8>)> {
    let capture = Capture::read(&a.capture).expect("reading the capture");
    let binance = tickbridge_connectors::connector("binance").unwrap();
    let symbol = binance.symbol(Market::Spot, "BTC-USDT").unwrap();
    let request = SourceRequest {
        market: Market::Spot,
        channels: vec![Channel::Trade, Channel::Bbo],
        symbols: vec![symbol],
        ws_url: "ws://127.0.0.1:1".into(),
        rest_url: "http://127.0.0.1:1".into(),
        books: Default::default(),
    };
    let plan = binance.plan(&request).unwrap().remove(0);
    let template = SubjectTemplate::parse("md.{exchange}.{kind}.{symbol}").unwrap();
    let frames = common::ticker_frames(&capture);
    let mut out = Vec::new();
    for copy in 0..a.repeat {
        let mut parser = binance.parser(&plan);
        let mut records = Vec::new();
        for (i, text) in frames.iter().enumerate() {
            let _ = parser.parse(text, 1_723_075_200_000_000_000 + i as i64, &mut records);
        }
        for mut r in records {
            r.id = format!("{}.{copy}", r.id);
            out.push((template.render(&r), r.id.to_string(), r.to_json()));
        }
    }
    out
}

/// A minimal NATS protocol client on a blocking socket: enough to connect, subscribe,
/// send requests and read `MSG` frames.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn connect(url: &str) -> (Conn, TcpStream) {
        let addr = url.trim_start_matches("nats://");
        let stream = TcpStream::connect(addr).expect("connecting to nats-server");
        stream.set_nodelay(true).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut conn = Conn {
            reader: BufReader::with_capacity(1 << 16, stream),
        };
        let info = conn.line();
        assert!(info.starts_with("INFO "), "expected INFO, got {info}");
        writer
            .write_all(
                b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\nPING\r\n",
            )
            .unwrap();
        loop {
            let line = conn.line();
            if line == "PONG" {
                break;
            }
            assert!(!line.starts_with("-ERR"), "connect refused: {line}");
        }
        (conn, writer)
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("reading from nats-server");
        assert!(n > 0, "nats-server closed the connection");
        line.trim_end().to_string()
    }

    /// The next `MSG` payload (answers `PING`s on the way).
    fn next_msg(&mut self, writer: &mut TcpStream) -> Vec<u8> {
        loop {
            let line = self.line();
            if line == "PING" {
                writer.write_all(b"PONG\r\n").unwrap();
                continue;
            }
            if let Some(rest) = line.strip_prefix("MSG ") {
                let len: usize = rest.rsplit(' ').next().unwrap().parse().unwrap();
                let mut payload = vec![0; len + 2];
                self.reader.read_exact(&mut payload).unwrap();
                payload.truncate(len);
                return payload;
            }
            if let Some(rest) = line.strip_prefix("HMSG ") {
                let mut f = rest.rsplit(' ');
                let total: usize = f.next().unwrap().parse().unwrap();
                let hlen: usize = f.next().unwrap().parse().unwrap();
                let mut all = vec![0; total + 2];
                self.reader.read_exact(&mut all).unwrap();
                let headers = String::from_utf8_lossy(&all[..hlen]).to_string();
                panic!("unexpected status reply: {}", headers.trim());
            }
            assert!(!line.starts_with("-ERR"), "server error: {line}");
        }
    }
}

fn hpub(buf: &mut Vec<u8>, subject: &str, reply: &str, id: &str, payload: &[u8]) {
    let headers = format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n");
    let total = headers.len() + payload.len();
    buf.extend_from_slice(
        format!("HPUB {subject} {reply} {} {total}\r\n", headers.len()).as_bytes(),
    );
    buf.extend_from_slice(headers.as_bytes());
    buf.extend_from_slice(payload);
    buf.extend_from_slice(b"\r\n");
}

fn main() {
    let a = args();
    let msgs = messages(&a);
    let n = msgs.len() as u64;
    let bytes: usize = msgs.iter().map(|m| m.2.len()).sum();
    let store = std::env::temp_dir().join(format!("nats_ceiling_{}", std::process::id()));
    let (mut server, url) = common::start_private_server(&store);
    let (mut conn, mut writer) = Conn::connect(&url);

    // The stream, as the bridge's sink creates it.
    writer.write_all(b"SUB _INBOX.ceiling.> 1\r\n").unwrap();
    let create = serde_json::json!({
        "name": "CEILING", "subjects": ["md.>"], "storage": "file", "retention": "limits",
        "duplicate_window": 120_000_000_000u64, "num_replicas": 1,
        "allow_batched": a.fast_batch,
        "persist_mode": a.persist,
    })
    .to_string();
    writer
        .write_all(
            format!(
                "PUB $JS.API.STREAM.CREATE.CEILING _INBOX.ceiling.create {}\r\n{create}\r\n",
                create.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let reply = String::from_utf8(conn.next_msg(&mut writer)).unwrap();
    assert!(reply.contains("\"config\""), "stream not created: {reply}");

    // Everything encoded before the clock starts.
    let mut frames: Vec<Vec<u8>> = Vec::with_capacity(msgs.len());
    for (i, (subject, id, payload)) in msgs.iter().enumerate() {
        let seq = i as u64 + 1;
        let reply = if a.fast_batch {
            let op = match seq {
                1 => 0,
                s if s == n => 2,
                _ => 1,
            };
            format!("_INBOX.ceiling.b.{FLOW}.fail.{seq}.{op}.$FI")
        } else {
            format!("_INBOX.ceiling.m.{seq}")
        };
        let mut frame = Vec::with_capacity(payload.len() + 160);
        hpub(&mut frame, subject, &reply, id, payload);
        frames.push(frame);
    }
    drop(msgs);

    // The reader counts confirmed messages; the writer keeps the window full.
    let confirmed = Arc::new((Mutex::new(0u64), Condvar::new()));
    let window = if a.fast_batch {
        FLOW * OUTSTANDING_FLOWS
    } else {
        a.window
    };
    let started = Instant::now();
    let reader = {
        let confirmed = confirmed.clone();
        let mut writer = writer.try_clone().unwrap();
        let fast_batch = a.fast_batch;
        std::thread::spawn(move || {
            let mut acks = 0u64;
            loop {
                let reply = String::from_utf8(conn.next_msg(&mut writer)).unwrap();
                assert!(!reply.contains("\"error\""), "JetStream error: {reply}");
                let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
                let done = if fast_batch {
                    let upto = v["seq"].as_u64().unwrap_or(0);
                    let last = v.get("batch").is_some();
                    *confirmed.0.lock().unwrap() = if last { n } else { upto };
                    last
                } else {
                    acks += 1;
                    *confirmed.0.lock().unwrap() = acks;
                    acks == n
                };
                confirmed.1.notify_one();
                if done {
                    return (Instant::now(), conn);
                }
            }
        })
    };
    let mut chunk = Vec::with_capacity(1 << 16);
    for (sent, frame) in (0u64..).zip(&frames) {
        if sent > 0 && sent.is_multiple_of(64) || chunk.len() > 60_000 {
            writer.write_all(&chunk).unwrap();
            chunk.clear();
            let (lock, cv) = &*confirmed;
            let mut c = lock.lock().unwrap();
            while *c + window <= sent {
                c = cv.wait(c).unwrap();
            }
        }
        chunk.extend_from_slice(frame);
    }
    writer.write_all(&chunk).unwrap();
    let (finished, mut conn) = reader.join().unwrap();
    let elapsed = finished - started;
    let server_cpu = common::cpu_seconds(server.id());
    // Every message is in the stream, once.
    writer
        .write_all(b"PUB $JS.API.STREAM.INFO.CEILING _INBOX.ceiling.info 0\r\n\r\n")
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&conn.next_msg(&mut writer)).unwrap();
    assert_eq!(info["state"]["messages"].as_u64(), Some(n), "{info}");
    let own_cpu = common::cpu_seconds(std::process::id());

    println!(
        "messages                   {n} ({} B payload on average)",
        bytes / n as usize
    );
    println!(
        "mode                       {}",
        if a.fast_batch {
            format!("fast_batch, flow {FLOW}, {OUTSTANDING_FLOWS} windows")
        } else {
            format!("per_message, {window} outstanding PubAcks")
        }
    );
    println!("first write → last ack     {:.3} s", elapsed.as_secs_f64());
    println!(
        "acked messages/s           {:.0}",
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "nats-server CPU            {server_cpu:.2} s = {:.2} s per million messages (startup included)",
        server_cpu / (n as f64 / 1e6)
    );
    println!(
        "publisher CPU              {own_cpu:.2} s (parsing and encoding before the clock included)"
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&store);
}

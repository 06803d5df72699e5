//! NATS helpers for the `nats_*` integration tests: a blocking JetStream client for
//! checking what the bridge stored, bridge configs, and private `nats-server`
//! processes (own port, own store dir) for tests that kill the server or need auth,
//! so the shared server (`scripts/nats.sh`, `NATS_URL`) is never disturbed.
#![allow(dead_code)]

mod server_bin;

pub use server_bin::nats_server_bin;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use serde_json::Value;

/// `NATS_URL`, default `nats://127.0.0.1:4222`.
pub fn nats_url() -> String {
    crate::common::brokers::nats()
}

/// A name no other test (or test process) uses: `PREFIX_<pid>_<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// One message read back from a stream.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: u64,
    pub subject: String,
    pub msg_id: Option<String>,
    pub record: Value,
}

/// A blocking JetStream client (its own runtime) for checking results.
pub struct Js {
    rt: tokio::runtime::Runtime,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub url: String,
}

impl Js {
    /// Connects to `NATS_URL`; fails the test with instructions when nothing answers.
    pub fn connect() -> Js {
        Js::connect_to(&nats_url())
    }

    pub fn connect_to(url: &str) -> Js {
        Js::connect_with(url, async_nats::ConnectOptions::new())
    }

    /// Connects with options (e.g. credentials).
    pub fn connect_with(url: &str, options: async_nats::ConnectOptions) -> Js {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let client = rt
            .block_on(async {
                options
                    .connection_timeout(Duration::from_secs(3))
                    .connect(url)
                    .await
            })
            .unwrap_or_else(|e| {
                panic!(
                    "no NATS server reachable at {url} ({e}). The NATS tests need a real nats-server with \
                     JetStream: run `scripts/nats.sh start` (scripts/test.sh does it) or set NATS_URL"
                )
            });
        // The JetStream context spawns its ack handler: create it inside the runtime.
        let js = rt.block_on(async { jetstream::new(client.clone()) });
        rt.block_on(js.query_account()).unwrap_or_else(|e| {
            panic!("the NATS server at {url} has no JetStream ({e}); start it with -js (scripts/nats.sh does)")
        });
        Js {
            rt,
            client,
            js,
            url: url.to_string(),
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Messages in the stream (0 when it does not exist).
    pub fn count(&self, stream: &str) -> u64 {
        self.rt.block_on(async {
            match self.js.get_stream(stream).await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            }
        })
    }

    /// The stream's configuration as the server reports it.
    pub fn stream_config(&self, stream: &str) -> stream::Config {
        self.rt.block_on(async {
            let mut s = self.js.get_stream(stream).await.expect("the stream");
            s.info().await.expect("stream info").config.clone()
        })
    }

    /// Creates (or replaces) a stream with these settings.
    pub fn create_stream(&self, config: stream::Config) {
        let name = config.name.clone();
        self.rt.block_on(async {
            let _ = self.js.delete_stream(&name).await;
            self.js
                .create_stream(config)
                .await
                .unwrap_or_else(|e| panic!("creating stream {name}: {e}"));
        });
    }

    /// Creates (or replaces) a stream the way someone other than the bridge would: it
    /// captures only the records of these kinds (`<prefix>.*.<kind>.*`).
    pub fn create_stream_for_kinds(
        &self,
        name: &str,
        prefix: &str,
        kinds: &[&str],
        allow_batched: bool,
    ) {
        self.create_stream(stream::Config {
            name: name.to_string(),
            subjects: kinds.iter().map(|k| format!("{prefix}.*.{k}.*")).collect(),
            duplicate_window: Duration::from_secs(120),
            allow_batch_publish: allow_batched,
            ..Default::default()
        });
    }

    /// Changes the settings of an existing stream.
    pub fn update_stream(&self, name: &str, change: impl FnOnce(&mut stream::Config)) {
        self.rt.block_on(async {
            let mut config = self
                .js
                .get_stream(name)
                .await
                .unwrap_or_else(|e| panic!("stream {name}: {e}"))
                .info()
                .await
                .unwrap()
                .config
                .clone();
            change(&mut config);
            self.js
                .update_stream(config)
                .await
                .unwrap_or_else(|e| panic!("updating stream {name}: {e}"));
        });
    }

    pub fn delete_stream(&self, stream: &str) {
        let _ = self.rt.block_on(self.js.delete_stream(stream));
    }

    /// Every message of the stream, in stream order.
    pub fn read_all(&self, stream: &str) -> Vec<Stored> {
        let expected = self.count(stream);
        self.rt.block_on(async {
            let s = self.js.get_stream(stream).await.expect("stream exists");
            let consumer = s
                .create_consumer(consumer::pull::OrderedConfig::default())
                .await
                .expect("ordered consumer");
            let mut messages = consumer.messages().await.expect("consumer messages");
            let mut out = Vec::with_capacity(expected as usize);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while (out.len() as u64) < expected {
                let next = tokio::time::timeout_at(deadline, messages.next())
                    .await
                    .unwrap_or_else(|_| {
                        panic!(
                            "read {} of {expected} messages of {stream} within 60s",
                            out.len()
                        )
                    })
                    .expect("message stream ended")
                    .expect("message");
                let info = next.info().expect("jetstream message info");
                let seq = info.stream_sequence;
                let record: Value = serde_json::from_slice(&next.payload)
                    .unwrap_or_else(|e| panic!("message {seq} is not JSON: {e}"));
                out.push(Stored {
                    seq,
                    subject: next.subject.to_string(),
                    msg_id: next
                        .headers
                        .as_ref()
                        .and_then(|h| h.get("Nats-Msg-Id"))
                        .map(|v| v.to_string()),
                    record,
                });
            }
            out
        })
    }

    /// A core subscription (sees every publish, duplicates included).
    pub fn subscribe(&self, subject: &str) -> async_nats::Subscriber {
        self.rt.block_on(async {
            let sub = self
                .client
                .subscribe(subject.to_string())
                .await
                .expect("subscribe");
            self.client.flush().await.expect("flush");
            sub
        })
    }

    /// Reads `sub` until it has seen `n` distinct `Nats-Msg-Id`s; returns how many it saw.
    pub fn wait_distinct(
        &self,
        sub: &mut async_nats::Subscriber,
        n: usize,
        timeout: Duration,
    ) -> usize {
        let deadline = Instant::now() + timeout;
        let mut seen = std::collections::HashSet::new();
        while seen.len() < n {
            assert!(
                Instant::now() < deadline,
                "saw {} of {n} distinct records published within {timeout:?}",
                seen.len()
            );
            let next = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(200), sub.next()).await
            });
            if let Ok(Some(m)) = next {
                if let Some(id) = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")) {
                    seen.insert(id.to_string());
                }
            }
        }
        seen.len()
    }

    /// The next message of a core subscription within `wait`.
    pub fn next_message(
        &self,
        sub: &mut async_nats::Subscriber,
        wait: Duration,
    ) -> Option<async_nats::Message> {
        self.rt
            .block_on(async { tokio::time::timeout(wait, sub.next()).await.ok().flatten() })
    }

    /// Polls until the stream's message count stops changing for `quiet` (and is above 0).
    pub fn wait_stable(&self, stream: &str, quiet: Duration, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut last = (u64::MAX, Instant::now());
        loop {
            let n = self.count(stream);
            if n != last.0 {
                last = (n, Instant::now());
            } else if n > 0 && last.1.elapsed() >= quiet {
                return n;
            }
            assert!(
                Instant::now() < deadline,
                "stream {stream} still changing after {timeout:?} ({n} messages)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the stream holds at least `n` messages.
    pub fn wait_at_least(&self, stream: &str, n: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            let have = self.count(stream);
            if have >= n {
                return have;
            }
            assert!(
                Instant::now() < deadline,
                "stream {stream} has {have} < {n} messages after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A mock exchange replaying `CAPTURE` at `speed`, and the `bridge_config` that reads
/// it into NATS at `url`. Keep the replay for as long as the bridge runs.
pub fn replay_and_config(
    speed: &str,
    url: &str,
    subject_prefix: &str,
    nats_extra: &str,
    tail: &str,
) -> (crate::common::Replay, String) {
    let replay = crate::common::Replay::start(&crate::common::capture(CAPTURE), speed);
    let config = bridge_config(&replay.ws_url(), url, subject_prefix, nats_extra, tail);
    (replay, config)
}

/// The bridge config for one Binance BTC-USDT trade+bbo source (the replay at
/// `ws_url`) into NATS at `url`; `nats_extra` is appended to `[sink.nats]` and
/// `tail` at the end (e.g. a `[sink.nats.stream]` section).
pub fn bridge_config(
    ws_url: &str,
    url: &str,
    subject_prefix: &str,
    nats_extra: &str,
    tail: &str,
) -> String {
    format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "{ws_url}"

[sink]
kind = "nats"
delivery_timeout = "30s"

[sink.nats]
url = "{url}"
subject = "{subject_prefix}.{{exchange}}.{{kind}}.{{symbol}}"
{nats_extra}

[shutdown]
drain_timeout = "20s"

[ops]
listen = "127.0.0.1:0"
{tail}
"#
    )
}

/// `[sink.nats.stream]` naming an existing stream (no creation), and `[sink.dead_letter]`
/// writing to `path`.
pub fn existing_stream_with_dead_letters(name: &str, path: &std::path::Path) -> String {
    format!(
        "[sink.nats.stream]\nname = \"{name}\"\ncreate = false\n[sink.dead_letter]\npath = \"{}\"\n",
        path.display()
    )
}

/// `[sink.nats.stream]` with creation on.
pub fn stream_section(name: &str) -> String {
    format!("[sink.nats.stream]\nname = \"{name}\"\ncreate = true\nduplicate_window = \"2m\"\n")
}

/// The capture every NATS test replays: 41k frames, 9757 trades + 28040 bbo.
pub const CAPTURE: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";
pub const TRADES: usize = 9757;
pub const BBOS: usize = 28040;

/// The value of a field of the bridge's log line whose message starts with `prefix`.
pub fn log_field(logs: &[Value], prefix: &str, field: &str) -> Option<u64> {
    logs.iter()
        .rev()
        .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .and_then(|l| l[field].as_u64())
}

/// Checks what a stream holds against what the bridge reported: exactly `delivered`
/// messages, unique ids, `Nats-Msg-Id` = `id`, subject = the template's, valid schema,
/// and per-subject order (the exchange's `seq`, and `ts_recv`, never go back).
pub fn check_stream_content(
    stored: &[Stored],
    subject_prefix: &str,
    validator: &crate::common::SchemaValidator,
) {
    let mut ids = std::collections::HashSet::new();
    let mut last: HashMap<&str, (Option<u64>, i64, u64)> = HashMap::new();
    for m in stored {
        validator.check(&m.record);
        let r = &m.record;
        let id = r["id"].as_str().expect("id");
        assert!(
            ids.insert(id.to_string()),
            "duplicate id {id} in the stream (seq {})",
            m.seq
        );
        assert_eq!(
            m.msg_id.as_deref(),
            Some(id),
            "Nats-Msg-Id of seq {}",
            m.seq
        );
        let want = format!(
            "{subject_prefix}.{}.{}.{}",
            r["exchange"].as_str().unwrap(),
            r["kind"].as_str().unwrap(),
            r["symbol"].as_str().unwrap()
        );
        assert_eq!(m.subject, want, "subject of seq {}", m.seq);
        let seq = r["seq"].as_u64();
        let ts = r["ts_recv"].as_i64().unwrap();
        if let Some((prev_seq, prev_ts, prev_stream_seq)) = last.get(m.subject.as_str()) {
            if let (Some(a), Some(b)) = (prev_seq, seq) {
                assert!(
                    b > *a,
                    "{}: exchange seq went from {a} (stream seq {prev_stream_seq}) to {b} (stream seq {})",
                    m.subject,
                    m.seq
                );
            }
            assert!(
                ts >= *prev_ts,
                "{}: ts_recv went back at stream seq {}",
                m.subject,
                m.seq
            );
        }
        last.insert(m.subject.as_str(), (seq, ts, m.seq));
    }
}

/// Counts stored records by kind.
pub fn kinds(stored: &[Stored]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for m in stored {
        *out.entry(m.record["kind"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server of the test's own, with JetStream in a temp dir, on a free port.
/// Killed on drop.
pub struct PrivateServer {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl PrivateServer {
    /// Starts `nats-server -js` with extra args (e.g. `--auth TOKEN`).
    pub fn start(extra: &[&str]) -> PrivateServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut args: Vec<String> = vec![
            "-js".into(),
            "-sd".into(),
            dir.path().join("store").display().to_string(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut server = PrivateServer {
            child: None,
            port,
            args,
            dir,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("nats.log"))
            .unwrap();
        let child = Command::new(nats_server_bin())
            .args(&self.args)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawning nats-server");
        self.child = Some(child);
        // Ready once the port accepts and the JetStream API answers.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "private nats-server did not listen on {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, like a crash; the store dir survives.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same store.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.kill();
    }
}

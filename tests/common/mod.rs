//! Shared helpers for integration tests of the real `tickbridge` binary: start the
//! mock exchange (`replay`) on a real capture, start the bridge with a config, send
//! signals, read the shutdown summary, validate records against the published JSON
//! Schema. Synchronous (std::process) so every test can use them.
#![allow(dead_code)]

pub mod brokers;
pub mod corpus;
pub mod kafka_log;
pub mod venue;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickbridge"))
}

/// The capture corpus (`TICKBRIDGE_CAPTURES`); panics with instructions when missing.
pub fn captures_dir() -> PathBuf {
    let dir = std::env::var("TICKBRIDGE_CAPTURES").unwrap_or_else(|_| {
        let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
        default.display().to_string()
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "the capture corpus is missing: set TICKBRIDGE_CAPTURES to shared/captures ({} is not a directory)",
        dir.display()
    );
    dir
}

/// A capture file of the corpus by relative path, e.g. `hftbacktest/binance_btcusdt_20240808.jsonl.gz`.
pub fn capture(rel: &str) -> PathBuf {
    let p = captures_dir().join(rel);
    assert!(p.is_file(), "capture {} is missing", p.display());
    p
}

/// Polls `f` every 20 ms until it returns true; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// Collects a child's output lines on a thread (joined on drop of the owner).
struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    fn spawn(stream: impl std::io::Read + Send + 'static, echo: &'static str) -> Lines {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("TICKBRIDGE_TEST_ECHO").is_some() {
                    eprintln!("[{echo}] {line}");
                }
                sink.lock().unwrap().push(line);
            }
        });
        Lines {
            lines,
            reader: Some(reader),
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn join(&mut self) {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// A running mock exchange (`tickbridge replay`). Killed on drop.
pub struct Replay {
    child: Child,
    pub addr: String,
    _stdout: Lines,
    stderr: Lines,
}

impl Replay {
    /// Serves `capture` at `speed` (`max` or a factor) with extra CLI args.
    pub fn start_with(capture: &Path, speed: &str, extra: &[&str]) -> Replay {
        let mut child = Command::new(bin())
            .args(["--log-format", "json", "replay"])
            .arg(capture)
            .args(["--listen", "127.0.0.1:0", "--speed", speed])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tickbridge replay");
        let stdout = Lines::spawn(child.stdout.take().unwrap(), "replay");
        let stderr = Lines::spawn(child.stderr.take().unwrap(), "replay-log");
        let mut addr = String::new();
        wait_until(
            Duration::from_secs(20),
            "replay to print its address",
            || {
                if let Some(l) = stdout
                    .snapshot()
                    .iter()
                    .find(|l| l.starts_with("listening on "))
                {
                    addr = l.trim_start_matches("listening on ").trim().to_string();
                    true
                } else {
                    false
                }
            },
        );
        Replay {
            child,
            addr,
            _stdout: stdout,
            stderr,
        }
    }

    pub fn start(capture: &Path, speed: &str) -> Replay {
        Replay::start_with(capture, speed, &[])
    }

    /// `ws://127.0.0.1:PORT` for a source's `ws_url`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT` for a source's `rest_url`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The replay server's log lines (JSON).
    pub fn logs(&self) -> Vec<String> {
        self.stderr.snapshot()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The numbers of the bridge's shutdown summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub received: u64,
    pub delivered: u64,
    pub dead_lettered: u64,
    pub lost: u64,
}

/// A running bridge (`tickbridge run --config <tempfile>`). Killed on drop.
pub struct Bridge {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    pub config_path: PathBuf,
    _dir: tempfile::TempDir,
    exit: Option<std::process::ExitStatus>,
}

/// The instrument settings every test bridge runs with: its own cache directory
/// (a replay's port is reused by later tests, with other captures), and, unless the
/// config says otherwise, symbols left unverified where the replayed capture holds no
/// instrument list (most recordings hold none).
pub fn instruments_env(cmd: &mut Command, config: &str, dir: &Path) {
    cmd.env(
        "TICKBRIDGE__INSTRUMENTS__CACHE_DIR",
        dir.join("instruments"),
    );
    if !config.contains("[instruments]") {
        cmd.env("TICKBRIDGE__INSTRUMENTS__ON_UNAVAILABLE", "unverified");
        cmd.env("TICKBRIDGE__INSTRUMENTS__TIMEOUT", "2s");
    }
}

impl Bridge {
    /// Starts the bridge with `config` (TOML text) and extra environment variables.
    pub fn start_env(config: &str, env: &[(&str, &str)]) -> Bridge {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("tickbridge.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(["--log-format", "json", "run", "--config"])
            .arg(&config_path);
        if !config.contains("[ops]") {
            // The default 0.0.0.0:9000 would collide between tests running at once.
            cmd.env("TICKBRIDGE__OPS__LISTEN", "127.0.0.1:0");
        }
        instruments_env(&mut cmd, config, dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tickbridge run");
        let stdout = Lines::spawn(child.stdout.take().unwrap(), "bridge-out");
        let stderr = Lines::spawn(child.stderr.take().unwrap(), "bridge");
        Bridge {
            child,
            stdout,
            stderr,
            config_path,
            _dir: dir,
            exit: None,
        }
    }

    pub fn start(config: &str) -> Bridge {
        Bridge::start_env(config, &[])
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`"TERM"`, `"INT"`, `"KILL"`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Log lines (JSON objects) so far.
    pub fn logs(&self) -> Vec<Value> {
        self.stderr
            .snapshot()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Raw stderr lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.stderr.snapshot()
    }

    /// The log so far as [`messages`] renders it: one line per event, its message as
    /// the bridge wrote it.
    pub fn messages(&self) -> String {
        messages(&self.log_lines().join("\n"))
    }

    /// Stdout lines so far (the stdout sink's records).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.snapshot()
    }

    /// True when some log line's message contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.logs()
            .iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.contains(text)))
    }

    /// Waits for the process to exit; returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exit = Some(status);
                self.stdout.join();
                self.stderr.join();
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let logs = self.stderr.snapshot().join("\n");
                panic!("bridge did not exit within {timeout:?}; logs:\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, wait for exit, and return (exit code, summary).
    pub fn stop(&mut self) -> (i32, Summary) {
        self.signal("TERM");
        let code = self.wait(Duration::from_secs(60));
        (
            code,
            self.summary()
                .expect("no summary line in the bridge's logs"),
        )
    }

    /// The summary line's numbers, once it was logged.
    pub fn summary(&self) -> Option<Summary> {
        self.summary_line("summary:")
    }

    /// One sink's summary line among several (`summary of sink NAME: ...`).
    pub fn summary_of(&self, sink: &str) -> Option<Summary> {
        self.summary_line(&format!("summary of sink {sink}:"))
    }

    /// The last log line (a JSON object) whose message starts with `prefix`: the
    /// summary line with every field, e.g. `summary_log("summary:")["recovered"]`.
    pub fn summary_log(&self, prefix: &str) -> Option<Value> {
        self.logs()
            .into_iter()
            .rev()
            .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
    }

    fn summary_line(&self, prefix: &str) -> Option<Summary> {
        let line = self.summary_log(prefix)?;
        let n = |k: &str| {
            line[k]
                .as_u64()
                .unwrap_or_else(|| panic!("summary field {k} missing in {line}"))
        };
        Some(Summary {
            received: n("received"),
            delivered: n("delivered"),
            dead_lettered: n("dead_lettered"),
            lost: n("lost"),
        })
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads a JSON-lines file of records (missing file = no records). A last line
/// without its newline is a write still in progress (the file is polled while the
/// bridge appends to it) and is left for the next read.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    complete
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Validates records against the published JSON Schema files in `schemas/json/`.
pub struct SchemaValidator {
    validators: HashMap<String, jsonschema::Validator>,
}

impl SchemaValidator {
    pub fn new() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/json");
        let mut validators = HashMap::new();
        for entry in std::fs::read_dir(&dir).expect("schemas/json") {
            let path = entry.unwrap().path();
            let kind = path.file_stem().unwrap().to_string_lossy().to_string();
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let validator = jsonschema::validator_for(&schema)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            validators.insert(kind, validator);
        }
        SchemaValidator { validators }
    }

    /// Every violation of `record` against its kind's schema (empty when valid).
    pub fn errors(&self, record: &Value) -> Vec<String> {
        let Some(kind) = record["kind"].as_str() else {
            return vec![format!("record without kind: {record}")];
        };
        let Some(v) = self.validators.get(kind) else {
            return vec![format!("no schema for kind {kind}")];
        };
        if v.is_valid(record) {
            return Vec::new();
        }
        v.iter_errors(record)
            .map(|e| format!("{kind}.json: {e} at {}", e.instance_path))
            .collect()
    }

    /// Panics with the record and every violation when it is not valid.
    pub fn check(&self, record: &Value) {
        let kind = record["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("record without kind: {record}"));
        let v = self
            .validators
            .get(kind)
            .unwrap_or_else(|| panic!("no schema for kind {kind}"));
        let errors: Vec<String> = v
            .iter_errors(record)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "record violates schemas/json/{kind}.json: {errors:?}\n{record}"
        );
    }
}

impl Default for SchemaValidator {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts records by `kind`.
pub fn count_kinds(records: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in records {
        *counts
            .entry(r["kind"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// The messages of a process's log output (stderr): each JSON log line as its level
/// and `message`, unescaped (tests match text as the bridge wrote it, quotes and all),
/// any other line as it is.
pub fn messages(stderr: &str) -> String {
    stderr
        .lines()
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) if v["message"].is_string() => {
                format!(
                    "{} {}",
                    v["level"].as_str().unwrap_or("?"),
                    v["message"].as_str().unwrap()
                )
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ops address the bridge logged (`ops listening on ADDR`).
pub fn ops_addr(bridge: &Bridge) -> String {
    let mut addr = String::new();
    wait_until(
        Duration::from_secs(20),
        "the `ops listening on` log line",
        || {
            let found = bridge.logs().into_iter().find_map(|l| {
                l["message"]
                    .as_str()?
                    .strip_prefix("ops listening on ")
                    .map(str::to_string)
            });
            found.map(|a| addr = a).is_some()
        },
    );
    addr
}

/// A plain HTTP/1.1 GET: (status, body); an error when nothing answers or the
/// response is not HTTP.
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {response:?}")))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    Ok((status, body.to_string()))
}

/// The value of an unlabelled-or-labelled sample on `/metrics` (`line_prefix` is the
/// sample's name and labels, e.g. `tickbridge_sink_outages_total{sink="nats"}`).
pub fn metric(ops: &str, line_prefix: &str) -> Option<u64> {
    let (_, body) = http_get(ops, "/metrics").ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix(line_prefix)?.strip_prefix(' ')?.parse().ok())
}

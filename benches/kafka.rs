//! Kafka sink benchmark: the real `tickbridge` binary (bench profile = release), the
//! real broker (`scripts/kafka.sh`, `KAFKA_BROKERS`), and one `tickbridge replay`
//! mock exchange per capture, all on this machine.
//!
//! ```sh
//! scripts/kafka.sh start
//! cargo bench --bench kafka                      # both scenarios
//! TB_BENCH_SCENARIOS=latency TB_BENCH_RATE=50000 cargo bench --bench kafka
//! ```
//!
//! Scenarios:
//!
//! - `throughput`: every capture replayed at maximum speed (one replay process per
//!   capture, one `[[source]]` per replay). Reports acked ticks/s = records acknowledged
//!   / (last broker append − first `ts_recv`), the bridge's CPU seconds per million
//!   ticks (utime + stime from `/proc/<pid>/stat` after the last ack) and its peak RSS
//!   (`VmHWM`), plus the broker's CPU for the same run. After each bridge run, in
//!   the same sitting, the broker's own ceiling: Kafka's `ProducerPerformance` sends
//!   `TB_BENCH_CEILING_RECORDS` (2,000,000; 0 skips it) of that run's payloads, read
//!   back from the topics, with the bridge's guarantees (acks=all, idempotence, lz4,
//!   the same linger), and the bench prints bridge / ceiling per run and min / median /
//!   max over the runs.
//! - `latency`: the 20240808 captures replayed at their recorded pacing scaled so that
//!   together they send `TB_BENCH_RATE` ticks/s on average. Reports p50/p99/p99.9/max
//!   of receive-to-ack latency per record, measured as the broker's append time
//!   (topics created with `message.timestamp.type=LogAppendTime`, millisecond
//!   resolution, read back by a consumer) minus the record's `ts_recv` (set by the
//!   bridge when the frame arrived). The broker appends just before it acknowledges,
//!   and the clocks are the same machine's; the truncation to whole milliseconds
//!   makes each value up to 1 ms low. The first 2 s of a run are left out of the
//!   percentiles (and reported as their maximum): those records wait for the
//!   producer's first broker connection.
//!
//! Knobs (environment): `TB_BENCH_SCENARIOS` (`throughput,latency`), `TB_BENCH_RUNS`
//! (3), `TB_BENCH_RATE` (50000), `TB_BENCH_LINGER` (`[batch] linger`, 5ms),
//! `TB_BENCH_MAX_EVENTS` (`[batch] max_events`, 1000), `TB_BENCH_IN_FLIGHT`
//! (`[sink] max_in_flight`, 4), `TB_BENCH_SECURITY` (`plaintext`, or `sasl_ssl`: SCRAM
//! over TLS on the secured listener), `TB_BENCH_KAFKA_OPTIONS` (extra librdkafka options,
//! `k=v,k=v`), `TB_BENCH_CAPTURES` (directory, default
//! `$TICKBRIDGE_CAPTURES/hftbacktest`), `TB_BENCH_DUMP` (write `ts_recv append_ms`
//! per record to `<path>.<scenario>`), `TB_BENCH_PERF` (a `perf record` profile of the
//! bridge in `<path>.<scenario>`), `TB_BENCH_ENCODING` (`[sink] encoding`: `json`,
//! or `avro` / `protobuf` / `json_schema` with the registry at `SCHEMA_REGISTRY_URL`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

/// `TB_BENCH_SECURITY`: the listener the bridge produces to and its `[sink.kafka]`
/// security lines: `plaintext` (default), or `sasl_ssl` (SCRAM-SHA-512 over TLS, the
/// secured listener `scripts/kafka.sh` starts: `KAFKA_SASL_SSL`, `KAFKA_TLS_DIR`). The
/// bench's own consumer reads on the PLAINTEXT listener either way.
fn security() -> (String, String) {
    match env_or("TB_BENCH_SECURITY", "plaintext").as_str() {
        "plaintext" => (brokers(), String::new()),
        "sasl_ssl" => {
            let tls = PathBuf::from(std::env::var("KAFKA_TLS_DIR").expect("KAFKA_TLS_DIR"));
            let password = std::fs::read_to_string(tls.join("scram.password")).unwrap();
            (
                std::env::var("KAFKA_SASL_SSL").expect("KAFKA_SASL_SSL"),
                format!(
                    "security_protocol = \"sasl_ssl\"\n[sink.kafka.tls]\nca_file = \"{}\"\n\
                     [sink.kafka.sasl]\nmechanism = \"scram-sha-512\"\nusername = \"bridge\"\n\
                     password = \"{}\"\n",
                    tls.join("ca.pem").display(),
                    password.trim_end()
                ),
            )
        }
        other => panic!("TB_BENCH_SECURITY={other}: plaintext or sasl_ssl"),
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn brokers() -> String {
    env_or("KAFKA_BROKERS", "127.0.0.1:9092")
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickbridge"))
}

// ---------------------------------------------------------------------------------
// Captures.

/// One capture and what the bridge makes of it with channels trade + bbo.
#[derive(Clone)]
struct CaptureInfo {
    path: PathBuf,
    exchange: &'static str,
    market: &'static str,
    symbol: String,
    /// trade + bookTicker frames (= trade + bbo records).
    ticks: u64,
    /// Recorded duration of the data, seconds.
    seconds: f64,
}

fn captures_dir() -> PathBuf {
    let root = env_or(
        "TICKBRIDGE_CAPTURES",
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/captures")
            .display()
            .to_string(),
    );
    PathBuf::from(env_or(
        "TB_BENCH_CAPTURES",
        &Path::new(&root).join("hftbacktest").display().to_string(),
    ))
}

/// `binance_btcusdt_20240808.jsonl.gz` → binance spot BTCUSDT, and so on.
fn describe(path: &Path) -> Option<CaptureInfo> {
    let name = path.file_name()?.to_str()?.strip_suffix(".jsonl.gz")?;
    let (prefix, rest) = name.split_once('_')?;
    let (exchange, market) = match prefix {
        "binance" => ("binance", "spot"),
        "binance-usdm" => ("binance-usdm", "perp"),
        "binance-coinm" => ("binance-coinm", "perp"),
        _ => return None,
    };
    let symbol = rest.rsplit_once('_')?.0.to_uppercase();
    let file = std::fs::File::open(path).ok()?;
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let (mut ticks, mut first, mut last) = (0u64, 0i64, 0i64);
    for line in reader.lines() {
        let line = line.ok()?;
        if !(line.contains(r#"@trade\""#) || line.contains(r#"@bookTicker\""#)) {
            continue;
        }
        ticks += 1;
        let ts: i64 = line
            .strip_prefix(r#"{"ts":"#)?
            .split(',')
            .next()?
            .parse()
            .ok()?;
        if first == 0 {
            first = ts;
        }
        last = ts;
    }
    Some(CaptureInfo {
        path: path.to_path_buf(),
        exchange,
        market,
        symbol,
        ticks,
        seconds: (last - first) as f64 / 1e9,
    })
}

fn all_captures() -> Vec<CaptureInfo> {
    let dir = captures_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("capture directory {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| describe(p)).collect()
}

// ---------------------------------------------------------------------------------
// Processes.

/// A child's output lines, collected on a thread.
struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    fn spawn(stream: impl Read + Send + 'static) -> Lines {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
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

struct Proc {
    child: Child,
    stdout: Lines,
    stderr: Lines,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tickbridge");
        let stdout = Lines::spawn(child.stdout.take().unwrap());
        let stderr = Lines::spawn(child.stderr.take().unwrap());
        Proc {
            child,
            stdout,
            stderr,
        }
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn terminate(&mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let code = self.child.wait().unwrap().code().unwrap_or(-1);
        self.stdout.join();
        self.stderr.join();
        code
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replay(capture: &Path, speed: &str) -> (Proc, String) {
    let p = Proc::spawn(
        Command::new(bin())
            .args(["--log-format", "json", "replay"])
            .arg(capture)
            .args(["--listen", "127.0.0.1:0", "--speed", speed]),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(addr) = p
            .stdout
            .snapshot()
            .iter()
            .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
        {
            return (p, addr.trim().to_string());
        }
        assert!(Instant::now() < deadline, "replay did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// utime + stime of a process, seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is field 3; utime and stime are 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Peak resident set size (`VmHWM`), MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn broker_pid() -> Option<u32> {
    let dir = env_or("TICKBRIDGE_BROKER_DIR", "/tmp/tickbridge-brokers");
    std::fs::read_to_string(Path::new(&dir).join("kafka/kafka.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------
// Kafka.

fn create_topics(topics: &[String]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            NewTopic::new(t, 3, TopicReplication::Fixed(1))
                .set("message.timestamp.type", "LogAppendTime")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for r in rt
        .block_on(admin.create_topics(&new, &AdminOptions::new()))
        .expect("create_topics")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
}

fn consumer() -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", "tickbridge-bench")
        .set("enable.auto.commit", "false")
        .set("allow.auto.create.topics", "false")
        .set("fetch.max.bytes", "52428800")
        .create()
        .expect("consumer")
}

fn partitions(c: &BaseConsumer, topic: &str) -> Vec<(i32, i64, i64)> {
    let Ok(md) = c.fetch_metadata(Some(topic), Duration::from_secs(10)) else {
        return Vec::new();
    };
    md.topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .map(|p| {
            let (lo, hi) = c
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .unwrap_or((0, 0));
            (p, lo, hi)
        })
        .collect()
}

fn count(c: &BaseConsumer, topics: &[String]) -> u64 {
    topics
        .iter()
        .flat_map(|t| partitions(c, t))
        .map(|(_, lo, hi)| (hi - lo) as u64)
        .sum()
}

/// (append time ms, ts_recv ns) of every message of `topics`; with `payloads`, the
/// value of every message of `topics` other than the status topic is kept there too.
fn read_times(topics: &[String], mut payloads: Option<&mut Vec<Vec<u8>>>) -> Vec<(i64, i64)> {
    let c = consumer();
    let mut tpl = TopicPartitionList::new();
    let mut left: HashMap<(String, i32), i64> = HashMap::new();
    for t in topics {
        for (p, lo, hi) in partitions(&c, t) {
            if hi > lo {
                tpl.add_partition_offset(t, p, Offset::Beginning).unwrap();
                left.insert((t.clone(), p), hi);
            }
        }
    }
    let mut out = Vec::new();
    if left.is_empty() {
        return out;
    }
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !left.is_empty() && Instant::now() < deadline {
        let Some(m) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.expect("consume");
        let Timestamp::LogAppendTime(append) = m.timestamp() else {
            panic!("topic without LogAppendTime: {:?}", m.timestamp());
        };
        let payload = m.payload().unwrap_or_default();
        out.push((append, ts_recv_of(payload)));
        if let Some(keep) = payloads.as_deref_mut() {
            if !m.topic().starts_with("md.status.") {
                keep.push(payload.to_vec());
            }
        }
        let slot = (m.topic().to_string(), m.partition());
        if left.get(&slot).is_some_and(|hi| m.offset() + 1 >= *hi) {
            left.remove(&slot);
        }
    }
    out
}

/// The `ts_recv` of a message value in the bench's encoding.
fn ts_recv_of(payload: &[u8]) -> i64 {
    match env_or("TB_BENCH_ENCODING", "json").as_str() {
        "json" => ts_recv(payload),
        "json_schema" => ts_recv(&payload[5..]),
        "avro" => avro_ts_recv(&payload[5..]),
        other => panic!("TB_BENCH_ENCODING={other}: the bench reads json, json_schema or avro"),
    }
}

/// `ts_recv` of an Avro record body: the 7th field, after `v`, `exchange`, `market`,
/// `symbol`, `native` and the `ts_exchange` union (schemas/avro).
fn avro_ts_recv(mut body: &[u8]) -> i64 {
    fn long(body: &mut &[u8]) -> i64 {
        let (mut n, mut shift) = (0u64, 0);
        loop {
            let b = body[0];
            *body = &body[1..];
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return ((n >> 1) as i64) ^ -((n & 1) as i64);
            }
            shift += 7;
        }
    }
    fn skip_string(body: &mut &[u8]) {
        let n = long(body) as usize;
        *body = &body[n..];
    }
    long(&mut body); // v
    skip_string(&mut body); // exchange
    long(&mut body); // market
    skip_string(&mut body); // symbol
    skip_string(&mut body); // native
    if long(&mut body) == 1 {
        long(&mut body); // ts_exchange
    }
    long(&mut body)
}

/// The `ts_recv` field of a record's JSON, without parsing the whole record.
fn ts_recv(json: &[u8]) -> i64 {
    let text = std::str::from_utf8(json).unwrap_or("");
    text.split_once(r#""ts_recv":"#)
        .and_then(|(_, rest)| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no ts_recv in {text}"))
}

// ---------------------------------------------------------------------------------
// One run.

struct RunResult {
    delivered: u64,
    lost: u64,
    acked_per_sec: f64,
    /// Records / (last broker append − first broker append): the rate once the
    /// producer is connected, without its start-up.
    steady_acked_per_sec: f64,
    /// First broker append − first `ts_recv`: the producer's start-up (connection,
    /// idempotence PID, topic metadata).
    startup_ms: i64,
    cpu_per_million: f64,
    peak_rss_mib: f64,
    broker_cpu_per_million: f64,
    /// Receive-to-ack latency of the records after the warm-up, sorted.
    latencies_ms: Vec<i64>,
    /// The largest latency of a record received during the warm-up.
    warm_up_max_ms: i64,
    /// With `keep_payloads` (JSON only): the data records' values as Kafka holds
    /// them, one per line, for the broker's own ceiling with the same payloads.
    payloads: Option<PathBuf>,
}

/// The start of a run left out of the latency percentiles.
const WARM_UP: Duration = Duration::from_secs(2);

fn run(captures: &[CaptureInfo], speed: &str, tag: &str, keep_payloads: bool) -> RunResult {
    let suffix = format!(
        "bench-{tag}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let topics: Vec<String> = ["trade", "bbo", "status"]
        .iter()
        .map(|k| format!("md.{k}.{suffix}"))
        .collect();
    create_topics(&topics);
    let expected: u64 = captures.iter().map(|c| c.ticks).sum();

    let replays: Vec<(Proc, String)> = captures
        .iter()
        .map(|c| start_replay(&c.path, speed))
        .collect();
    let mut config = String::new();
    for (c, (_, addr)) in captures.iter().zip(&replays) {
        config += &format!(
            "[[source]]\nexchange = \"{}\"\nmarket = \"{}\"\nchannels = [\"trade\", \"bbo\"]\n\
             symbols = [\"{}\"]\nws_url = \"ws://{addr}\"\n\n",
            c.exchange, c.market, c.symbol
        );
    }
    config += "[instruments]\non_unavailable = \"unverified\"\ntimeout = \"2s\"\n\n";
    let options: String = env_or("TB_BENCH_KAFKA_OPTIONS", "")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| format!("\"{}\" = \"{}\"\n", k.trim(), v.trim()))
        .collect();
    let (bridge_brokers, security) = security();
    let encoding = env_or("TB_BENCH_ENCODING", "json");
    let registry = match encoding.as_str() {
        "json" => String::new(),
        _ => format!(
            "[sink.kafka.schema_registry]\nurl = \"{}\"\n",
            std::env::var("SCHEMA_REGISTRY_URL")
                .expect("SCHEMA_REGISTRY_URL (scripts/registry.sh start)")
        ),
    };
    config += &format!(
        "[sink]\nkind = \"kafka\"\nencoding = \"{encoding}\"\nmax_in_flight = {}\n\n[sink.kafka]\nbrokers = \"{}\"\n\
         topic = \"md.{{kind}}.{suffix}\"\n{security}\n[sink.kafka.options]\n{options}\n{registry}\n\
         [batch]\nmax_events = {}\nlinger = \"{}\"\n\n[ops]\nlisten = \"\"\n",
        env_or("TB_BENCH_IN_FLIGHT", "4"),
        bridge_brokers,
        env_or("TB_BENCH_MAX_EVENTS", "1000"),
        env_or("TB_BENCH_LINGER", "5ms"),
    );
    let dir = std::env::temp_dir().join(format!("tickbridge-{suffix}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("bench.toml");
    std::fs::write(&config_path, &config).unwrap();

    let broker_cpu0 = broker_pid().map_or(0.0, cpu_seconds);
    let mut bridge = Proc::spawn(
        Command::new(bin())
            .args(["--log-format", "json", "run", "--config"])
            .arg(&config_path),
    );
    // `TB_BENCH_PERF=<path>`: a CPU profile of the bridge process (`perf record`,
    // 999 Hz, attached until it exits) in `<path>.<tag>`.
    let mut perf = std::env::var("TB_BENCH_PERF").ok().map(|path| {
        Command::new("perf")
            .args(["record", "-F", "999", "-o", &format!("{path}.{tag}"), "-p"])
            .arg(bridge.pid().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("perf record")
    });
    let c = consumer();
    let data_topics = &topics[..2];
    let (mut have, mut last_change) = (0, Instant::now());
    while have < expected {
        std::thread::sleep(Duration::from_millis(100));
        let now = count(&c, data_topics);
        if now != have {
            have = now;
            last_change = Instant::now();
        }
        if last_change.elapsed() > Duration::from_secs(20) {
            let logs = bridge.stderr.snapshot();
            let tail = &logs[logs.len().saturating_sub(20)..];
            panic!(
                "stuck at {have} of {expected} ticks in Kafka; bridge log tail:\n{}",
                tail.join("\n")
            );
        }
    }
    let cpu = cpu_seconds(bridge.pid());
    let rss = peak_rss_mib(bridge.pid());
    let broker_cpu = broker_pid().map_or(0.0, cpu_seconds) - broker_cpu0;
    let code = bridge.terminate();
    if let Some(perf) = &mut perf {
        perf.wait().ok();
    }
    let logs = bridge.stderr.snapshot();
    let summary = logs
        .iter()
        .rev()
        .find(|l| l.contains("\"summary: "))
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .expect("summary line");
    assert_eq!(code, 0, "bridge exit code; summary {summary}");
    drop(replays);

    let keep_payloads = keep_payloads && env_or("TB_BENCH_ENCODING", "json") == "json";
    let mut values = Vec::new();
    let times = read_times(&topics, keep_payloads.then_some(&mut values));
    let payloads = keep_payloads.then(|| {
        // JSON values hold no raw newline: one per line, ProducerPerformance's default
        // delimiter.
        let path = std::env::temp_dir().join(format!("tickbridge-{suffix}.payloads"));
        std::fs::write(&path, values.join(&b'\n')).unwrap();
        path
    });
    if let Ok(path) = std::env::var("TB_BENCH_DUMP") {
        // ts_recv (ns) and broker append time (ms) of every record, for plots.
        let text: String = times.iter().map(|(a, r)| format!("{r} {a}\n")).collect();
        std::fs::write(format!("{path}.{tag}"), text).unwrap();
    }
    let delivered = summary["delivered"].as_u64().unwrap();
    assert_eq!(
        times.len() as u64,
        delivered,
        "messages in Kafka vs delivered"
    );
    let first_recv = times.iter().map(|t| t.1).min().unwrap();
    let last_append_ns = times.iter().map(|t| t.0).max().unwrap() * 1_000_000;
    let window = (last_append_ns - first_recv) as f64 / 1e9;
    let first_append_ms = times.iter().map(|t| t.0).min().unwrap();
    let steady_window = (last_append_ns - first_append_ms * 1_000_000).max(1) as f64 / 1e9;
    // Steady state: records received after the first WARM_UP of the run (the first
    // ones wait for the producer's first broker connection and PID).
    let warm_up = WARM_UP.as_nanos() as i64;
    let (mut latencies_ms, mut start_ms) = (Vec::new(), 0i64);
    for (append, recv) in &times {
        let ms = append - recv / 1_000_000;
        if *recv >= first_recv + warm_up {
            latencies_ms.push(ms);
        } else {
            start_ms = start_ms.max(ms);
        }
    }
    latencies_ms.sort_unstable();
    std::fs::remove_dir_all(&dir).ok();
    RunResult {
        delivered,
        lost: summary["lost"].as_u64().unwrap(),
        acked_per_sec: delivered as f64 / window,
        steady_acked_per_sec: delivered as f64 / steady_window,
        startup_ms: first_append_ms - first_recv / 1_000_000,
        cpu_per_million: cpu / (delivered as f64 / 1e6),
        peak_rss_mib: rss,
        broker_cpu_per_million: broker_cpu / (delivered as f64 / 1e6),
        latencies_ms,
        warm_up_max_ms: start_ms,
        payloads,
    }
}

/// The broker's own ceiling: what Kafka's `ProducerPerformance` (Java client, full
/// JIT) pushes through the same broker with the bridge's payloads and guarantees.
struct Ceiling {
    records_per_sec: f64,
    tool_cpu_per_million: f64,
    broker_cpu_per_million: f64,
}

/// Runs `ProducerPerformance` (`scripts/kafka-tool.sh producer-perf`) for `records`
/// records drawn from `payloads` into a fresh topic of the bench's shape, with the
/// bridge's producer settings: `acks=all`, idempotence, lz4, the bench's linger, and
/// librdkafka's default batch size (1,000,000 bytes) so both batch alike.
fn producer_ceiling(payloads: &Path, records: u64) -> Ceiling {
    let topic = format!(
        "md.ceiling.{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    create_topics(std::slice::from_ref(&topic));
    let linger_ms = humantime::parse_duration(&env_or("TB_BENCH_LINGER", "5ms"))
        .expect("TB_BENCH_LINGER")
        .as_millis()
        .to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka-tool.sh");
    let broker_cpu0 = broker_pid().map_or(0.0, cpu_seconds);
    // `times` prints the CPU of the shell's children: the JVM the script execs.
    let out = Command::new("bash")
        .args(["-c", "\"$@\"; rc=$?; times; exit $rc", "ceiling"])
        .arg(&script)
        .args(["producer-perf", "--topic", &topic])
        .args(["--num-records", &records.to_string(), "--throughput", "-1"])
        .arg("--payload-file")
        .arg(payloads)
        .args([
            "--producer-props",
            &format!("bootstrap.servers={}", brokers()),
            "acks=all",
            "enable.idempotence=true",
            "compression.type=lz4",
            &format!("linger.ms={linger_ms}"),
            "batch.size=1000000",
        ])
        .env("KAFKA_TOOL_JVM_OPTS", "-XX:+UseParallelGC")
        .env("KAFKA_TOOL_HEAP_OPTS", "-Xmx1g")
        .output()
        .expect("running scripts/kafka-tool.sh producer-perf");
    let broker_cpu = broker_pid().map_or(0.0, cpu_seconds) - broker_cpu0;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "producer-perf failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `N records sent, R records/sec (M MB/sec), ...`: the last such line is the total.
    let total = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" records sent, "))
        .unwrap_or_else(|| panic!("no total in producer-perf output:\n{stdout}"));
    let records_per_sec: f64 = total
        .split(", ")
        .nth(1)
        .and_then(|f| f.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no records/sec in {total:?}"));
    // `times`: the shell's own line, then the children's `0m1.234s 0m0.056s`.
    let children = stdout
        .lines()
        .rev()
        .find(|l| l.contains('m') && l.ends_with('s') && l.split(' ').count() == 2)
        .unwrap_or_else(|| panic!("no `times` line in:\n{stdout}"));
    let seconds = |t: &str| -> f64 {
        let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
        m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
    };
    let tool_cpu: f64 = children.split(' ').map(seconds).sum();
    let millions = records as f64 / 1e6;
    Ceiling {
        records_per_sec,
        tool_cpu_per_million: tool_cpu / millions,
        broker_cpu_per_million: broker_cpu / millions,
    }
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes its knobs from the environment.
    let runs: usize = env_or("TB_BENCH_RUNS", "3").parse().unwrap();
    let scenarios = env_or("TB_BENCH_SCENARIOS", "throughput,latency");
    let captures = all_captures();
    assert!(
        !captures.is_empty(),
        "no captures in {}",
        captures_dir().display()
    );
    println!(
        "load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "kafka bench: {} captures, {} ticks (trade + bbo), broker {}, security {}, encoding {}, linger {}, max_events {}, max_in_flight {}, options [{}]",
        captures.len(),
        captures.iter().map(|c| c.ticks).sum::<u64>(),
        brokers(),
        env_or("TB_BENCH_SECURITY", "plaintext"),
        env_or("TB_BENCH_ENCODING", "json"),
        env_or("TB_BENCH_LINGER", "5ms"),
        env_or("TB_BENCH_MAX_EVENTS", "1000"),
        env_or("TB_BENCH_IN_FLIGHT", "4"),
        env_or("TB_BENCH_KAFKA_OPTIONS", ""),
    );

    if scenarios.contains("throughput") {
        let ceiling_records: u64 = env_or("TB_BENCH_CEILING_RECORDS", "2000000")
            .parse()
            .unwrap();
        let with_ceiling = ceiling_records > 0;
        let mut results = Vec::new();
        let mut ceilings = Vec::new();
        for i in 0..runs {
            let r = run(&captures, "max", "max", with_ceiling);
            println!(
                "throughput run {}: {} acked ({} lost), {:.0} acked ticks/s from the first receive ({:.0} from the first ack; producer start-up {} ms), bridge {:.2} CPU s per million, peak RSS {:.1} MiB, broker {:.2} CPU s per million",
                i + 1,
                r.delivered,
                r.lost,
                r.acked_per_sec,
                r.steady_acked_per_sec,
                r.startup_ms,
                r.cpu_per_million,
                r.peak_rss_mib,
                r.broker_cpu_per_million
            );
            if let Some(payloads) = &r.payloads {
                let c = producer_ceiling(payloads, ceiling_records);
                std::fs::remove_file(payloads).ok();
                println!(
                    "ceiling run {}: ProducerPerformance {} records of the bridge's payloads at {:.0} records/s, tool {:.2} CPU s per million, broker {:.2} CPU s per million; bridge / ceiling = {:.2} ({:.2} from the first ack)",
                    i + 1,
                    ceiling_records,
                    c.records_per_sec,
                    c.tool_cpu_per_million,
                    c.broker_cpu_per_million,
                    r.acked_per_sec / c.records_per_sec,
                    r.steady_acked_per_sec / c.records_per_sec,
                );
                ceilings.push((r.acked_per_sec / c.records_per_sec, c));
            }
            results.push(r);
        }
        if !ceilings.is_empty() {
            let ratios: Vec<f64> = ceilings.iter().map(|(r, _)| *r).collect();
            let (lo, hi) = (
                ratios.iter().copied().fold(f64::MAX, f64::min),
                ratios.iter().copied().fold(0.0, f64::max),
            );
            println!(
                "ceiling median of {runs}: {:.0} records/s; bridge / ceiling min {lo:.2} / median {:.2} / max {hi:.2}",
                median(ceilings.iter().map(|(_, c)| c.records_per_sec).collect()),
                median(ratios),
            );
        }
        println!(
            "throughput median of {runs}: {:.0} acked ticks/s ({:.0} from the first ack), {:.2} CPU s per million ticks, peak RSS {:.1} MiB",
            median(results.iter().map(|r| r.acked_per_sec).collect()),
            median(results.iter().map(|r| r.steady_acked_per_sec).collect()),
            median(results.iter().map(|r| r.cpu_per_million).collect()),
            median(results.iter().map(|r| r.peak_rss_mib).collect()),
        );
    }

    if scenarios.contains("latency") {
        let rate: f64 = env_or("TB_BENCH_RATE", "50000").parse().unwrap();
        let day: Vec<CaptureInfo> = captures
            .iter()
            .filter(|c| c.path.to_string_lossy().contains("20240808"))
            .cloned()
            .collect();
        let day = if day.is_empty() {
            captures.clone()
        } else {
            day
        };
        let recorded_rate: f64 = day.iter().map(|c| c.ticks as f64 / c.seconds).sum();
        let factor = rate / recorded_rate;
        println!(
            "latency: {} captures recorded at {:.0} ticks/s together; speed x{:.1} for {:.0} ticks/s",
            day.len(),
            recorded_rate,
            factor,
            rate
        );
        for i in 0..runs {
            let r = run(&day, &format!("{factor:.3}"), "rate", false);
            let l = &r.latencies_ms;
            println!(
                "latency run {}: {} acked ({} lost) at {:.0} ticks/s; receive-to-ack after the first {:?}: p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms (first {:?}: max {} ms); bridge {:.2} CPU s per million",
                i + 1,
                r.delivered,
                r.lost,
                r.acked_per_sec,
                WARM_UP,
                pct(l, 0.50),
                pct(l, 0.99),
                pct(l, 0.999),
                l.last().copied().unwrap_or(0),
                WARM_UP,
                r.warm_up_max_ms,
                r.cpu_per_million
            );
        }
    }
}

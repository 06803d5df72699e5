//! The pipeline benchmark: replays the Binance recordings of the capture corpus
//! (`TICKBRIDGE_CAPTURES`, default `../shared/captures`; every `hftbacktest/` file:
//! spot, USD-M and COIN-M) at maximum speed, in process, on one thread, through the
//! bridge's own code:
//!
//! ```text
//! frame text ─▶ Binance parser (parse + normalize; books kept in sync) ─▶ bounded queue
//!            ─▶ batcher (Record → JSON, batches of [batch] max_events)
//!            ─▶ publisher ─▶ sink.enqueue(batch) ─▶ acks awaited
//! ```
//!
//! Five ends, each a separate pass: `parse` (the parser alone, records dropped),
//! `encode` (parse, then `Record::to_json`, both dropped), `null` and `file` (the
//! real `pipeline::run` with its queue, batcher and publisher, into the null sink or
//! the file sink writing JSON lines to a temporary file, flushed per batch), and
//! `disk` (`file` with the disk buffer between batcher and sink: every batch written
//! to its log, read back, deleted once acknowledged; `fsync = "interval"`). Frames
//! are loaded into memory first; only the passes are timed. The recorded REST depth
//! snapshots answer the parser's snapshot requests, so depth diffs become `book`
//! records once a snapshot bridges them (the second-day recordings have none: their
//! diffs are only buffered).
//!
//! Reported per frame type (`trade` = trade + aggTrade, `bookTicker`, `depth`, and
//! everything as recorded): ticks/s (wall clock), ns and CPU seconds per million
//! ticks (process CPU time, `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), and the peak
//! RSS at the end. A tick is one normalized record. The median pass by CPU time is
//! reported, with the fastest and slowest; the repetitions are interleaved (each
//! passes through every end in turn).
//!
//! ```sh
//! cargo bench --bench pipeline                   # 5 repetitions, median reported
//! cargo bench --bench pipeline -- --reps 1       # quicker
//! cargo bench --bench pipeline -- --only trade   # one frame type
//! cargo bench --bench pipeline -- --batch 100    # records per batch (default 1000)
//! cargo bench --bench pipeline -- --capture binance_btcusdt_20240808  # one recording
//! ```
//! (`cargo test --benches` runs one quick pass over the smallest recording.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickbridge::capture::{Capture, EventKind};
use tickbridge::config::{
    BatchConfig, BufferConfig, BufferKind, FileConfig, QueueConfig, SinkConfig,
};
use tickbridge::pipeline::{self, PipelineStats};
use tickbridge::sinks::file::FileSink;
use tickbridge::sinks::null::NullSink;
use tickbridge::sinks::Sink;
use tickbridge_connectors::contract::{Channel, ChannelSet, ConnectionPlan};
use tickbridge_connectors::exchanges::binance::{Binance, Venue};
use tickbridge_connectors::{Connector, FrameParser, RestRequest};
use tickbridge_schema::Record;
use tokio::sync::mpsc;

/// The binary's allocator (`src/main.rs`): every record allocates its id and JSON and
/// frees them once acknowledged, so glibc's malloc would measure another program.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One recording, in memory.
struct Recording {
    name: String,
    venue: Venue,
    /// Received frames and recorded REST snapshots, in recorded order.
    items: Vec<Item>,
}

enum Item {
    Frame {
        ts: i64,
        kind: &'static str,
        text: String,
    },
    /// A recorded order-book snapshot (REST response) for a native symbol.
    Snapshot { symbol: String, body: String },
}

impl Recording {
    fn frames(&self, kind: &str) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i, Item::Frame { kind: k, .. } if *k == kind))
            .count()
    }
}

/// The frame types measured separately.
const TYPES: [&str; 3] = ["trade", "bookTicker", "depth"];

fn frame_type(text: &str) -> &'static str {
    let stream = text
        .strip_prefix("{\"stream\":\"")
        .and_then(|r| r.split('"').next())
        .unwrap_or("");
    match stream.split('@').nth(1).unwrap_or("") {
        "trade" | "aggTrade" => "trade",
        "bookTicker" => "bookTicker",
        "depth" => "depth",
        _ => "other",
    }
}

/// Loads the recordings (those whose file name contains `filter`, if given).
fn load(dir: &Path, filter: Option<&str>) -> Vec<Recording> {
    let hft = dir.join("hftbacktest");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&hft)
        .unwrap_or_else(|e| {
            panic!(
                "the capture corpus is missing ({}: {e}); set TICKBRIDGE_CAPTURES",
                hft.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .filter(|p| filter.is_none_or(|f| p.to_string_lossy().contains(f)))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let capture = Capture::read(p).unwrap();
            let venue = match capture.header.exchange.as_str() {
                "binance" => Venue::Spot,
                "binance-usdm" => Venue::UsdM,
                "binance-coinm" => Venue::CoinM,
                other => panic!("{}: not a Binance capture ({other})", p.display()),
            };
            let items = capture
                .events
                .into_iter()
                .filter_map(|e| match (e.ev, e.text, e.url) {
                    (EventKind::Recv, Some(text), _) => Some(Item::Frame {
                        ts: e.ts,
                        kind: frame_type(&text),
                        text,
                    }),
                    (EventKind::Http, Some(body), Some(url)) => Some(Item::Snapshot {
                        symbol: snapshot_symbol(&url, &body)?,
                        body,
                    }),
                    _ => None,
                })
                .collect();
            Recording {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                venue,
                items,
            }
        })
        .collect()
}

/// The native symbol of a recorded depth snapshot: the body's own `symbol` (COIN-M;
/// these recordings name the pair in the URL), else the URL's `symbol` parameter.
fn snapshot_symbol(url: &str, body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("lastUpdateId")?;
    if let Some(symbol) = v["symbol"].as_str() {
        return Some(symbol.to_string());
    }
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix("symbol="))
        .map(str::to_string)
}

/// Process CPU time.
fn cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec (64-bit time_t and long on the
    // Linux targets this benchmark runs on).
    let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Peak resident set size, from `/proc/self/status` (`VmHWM`).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Clone, Copy, PartialEq)]
enum End {
    /// The parser alone; records are dropped.
    Parse,
    /// Parse, then encode each record to its JSON line; both are dropped.
    Encode,
    /// Parse, then the real pipeline (bounded queue → batcher → publisher) into the
    /// null sink.
    Null,
    /// The same into the file sink.
    File,
    /// The file sink behind the disk buffer (`[buffer] kind = "disk"`).
    Disk,
}

impl End {
    const ALL: [End; 5] = [End::Parse, End::Encode, End::Null, End::File, End::Disk];

    fn name(self) -> &'static str {
        match self {
            End::Parse => "parse",
            End::Encode => "encode",
            End::Null => "null",
            End::File => "file",
            End::Disk => "disk",
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Run {
    frames: u64,
    ticks: u64,
    wall: Duration,
    cpu: Duration,
}

/// One pass over every recording's frames of `only` (or all frames), into `end`.
fn pass(
    recordings: &[Recording],
    batch: &BatchConfig,
    only: Option<&str>,
    end: End,
    file: &Path,
    rt: &tokio::runtime::Runtime,
) -> Run {
    let channels: ChannelSet = [Channel::Trade, Channel::Bbo, Channel::Book]
        .into_iter()
        .collect();
    let sink: Arc<dyn Sink> = match end {
        End::File | End::Disk => {
            let _ = std::fs::remove_file(file);
            Arc::new(
                FileSink::open(&FileConfig {
                    path: file.to_path_buf(),
                    fsync: false,
                })
                .unwrap(),
            )
        }
        _ => Arc::new(NullSink),
    };
    let sink_config = SinkConfig::default();
    let buffer = (end == End::Disk).then(|| {
        let dir = file.with_extension("buffer");
        let _ = std::fs::remove_dir_all(&dir);
        let config = BufferConfig {
            kind: BufferKind::Disk,
            path: Some(dir),
            ..BufferConfig::default()
        };
        let (log, _) = pipeline::disk_buffer::open(&config, "bench").unwrap();
        pipeline::DiskBuffer { config, log }
    });
    let stats = Arc::new(PipelineStats::default());
    let (queue, records_in) = mpsc::channel::<Record>(QueueConfig::default().capacity);
    let mut run = Run::default();
    let wall = Instant::now();
    let cpu = cpu_time();
    rt.block_on(async {
        // The source: parse every frame, in order; records go to the queue. Snapshot
        // requests are answered from the recording once its response was recorded.
        let source = async {
            let mut records: Vec<Record> = Vec::with_capacity(16);
            for rec in recordings {
                let binance = Binance { venue: rec.venue };
                let market = binance.default_market();
                let url = format!("{}/stream", binance.default_ws_url(market));
                let mut parser = binance.new_parser(&ConnectionPlan {
                    channels,
                    ..ConnectionPlan::for_frames(&url, market)
                });
                let mut pending: Vec<RestRequest> = Vec::new();
                let mut snapshots: HashMap<&str, &str> = HashMap::new();
                for item in &rec.items {
                    let ts = match item {
                        Item::Snapshot { symbol, body } => {
                            snapshots.insert(symbol, body);
                            0
                        }
                        Item::Frame { ts, kind, text } => {
                            if only.is_some_and(|o| o != *kind) {
                                continue;
                            }
                            run.frames += 1;
                            parser
                                .parse(text, *ts, &mut records)
                                .expect("every corpus frame parses");
                            *ts
                        }
                    };
                    pending.extend(parser.rest_requests());
                    pending.retain(|q| match snapshots.remove(q.key.as_str()) {
                        Some(body) => {
                            parser
                                .on_rest(&q.key, Ok(body), ts, &mut records)
                                .expect("the recorded snapshot applies");
                            false
                        }
                        None => true,
                    });
                    run.ticks += records.len() as u64;
                    match end {
                        End::Parse => records.clear(),
                        End::Encode => {
                            for r in records.drain(..) {
                                std::hint::black_box(r.to_json());
                            }
                        }
                        End::Null | End::File | End::Disk => {
                            for r in records.drain(..) {
                                queue.send(r).await.expect("the pipeline runs");
                            }
                        }
                    }
                }
            }
            drop(queue);
        };
        let queue_config = tickbridge::config::QueueConfig::default();
        let ((), result) = tokio::join!(
            source,
            pipeline::run(
                records_in,
                sink,
                batch,
                &queue_config,
                &sink_config,
                buffer,
                stats.clone(),
                tokio_util::sync::CancellationToken::new(),
            )
        );
        result.unwrap();
    });
    run.cpu = cpu_time() - cpu;
    run.wall = wall.elapsed();
    if matches!(end, End::Null | End::File | End::Disk) {
        let summary = stats.summary();
        assert_eq!(
            (summary.delivered, summary.lost),
            (run.ticks, 0),
            "{summary:?}"
        );
    }
    run
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available, 1 used")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, quickly.
    let testing = !args.iter().any(|a| a == "--bench");
    let reps: usize = arg("--reps")
        .map(|r| r.parse().expect("--reps N"))
        .unwrap_or(if testing { 1 } else { 5 });
    let only = arg("--only");
    // The pipeline's defaults (`[batch] max_events = 1000`, `linger = "5ms"`).
    let mut batch = BatchConfig::default();
    if let Some(n) = arg("--batch") {
        batch.max_events = n.parse().expect("--batch N");
    }

    let dir = std::env::var("TICKBRIDGE_CAPTURES").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/captures")
            .display()
            .to_string()
    });
    // A smoke run (`cargo test --benches`) replays one small recording.
    let capture = arg("--capture").or_else(|| testing.then(|| "usdm_btcusdt_20240718".into()));
    let recordings = load(Path::new(&dir), capture.as_deref());
    assert!(!recordings.is_empty(), "no recording matches {capture:?}");
    let frames: usize = recordings
        .iter()
        .map(|r| {
            r.items
                .iter()
                .filter(|i| matches!(i, Item::Frame { .. }))
                .count()
        })
        .sum();
    println!("pipeline benchmark: parse → normalize → encode → sink, one thread");
    println!("machine: {}", machine());
    println!(
        "input: {} Binance recordings, {frames} frames; batches of {}; {reps} repetition(s), median by CPU time",
        recordings.len(),
        batch.max_events
    );
    for r in &recordings {
        let count = |t: &str| r.frames(t);
        println!(
            "  {:<48} {:>6} trade {:>6} bookTicker {:>6} depth {:>5} other",
            r.name,
            count("trade"),
            count("bookTicker"),
            count("depth"),
            count("other")
        );
    }

    // One thread: the source, the batcher and the publisher share it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("bench.jsonl");
    let scenarios: Vec<(String, Option<&str>)> = TYPES
        .iter()
        .map(|t| (t.to_string(), Some(*t)))
        .chain([("all (as recorded)".to_string(), None)])
        .filter(|(name, _)| only.as_deref().is_none_or(|o| name.starts_with(o)))
        .collect();

    println!();
    println!(
        "{:<18} {:<5} {:>9} {:>9} {:>12} {:>8} {:>12}",
        "frames", "end", "frames", "ticks", "ticks/s", "ns/tick", "CPU s/Mtick"
    );
    for (name, filter) in &scenarios {
        // Interleaved: each repetition passes through every end in turn, so a slow
        // stretch of this shared machine weighs on all ends alike.
        let mut by_end: Vec<Vec<Run>> = vec![Vec::new(); End::ALL.len()];
        for _ in 0..reps {
            for (i, end) in End::ALL.into_iter().enumerate() {
                by_end[i].push(pass(&recordings, &batch, *filter, end, &file, &rt));
            }
        }
        for (end, mut runs) in End::ALL.into_iter().zip(by_end) {
            runs.sort_by_key(|r| r.cpu);
            let r = runs[runs.len() / 2];
            if r.ticks == 0 {
                let ns = r.cpu.as_secs_f64() * 1e9 / r.frames.max(1) as f64;
                println!(
                    "{name:<18} {:<5} {:>9} {:>9}   no records (counted as ignored): {ns:.0} ns/frame",
                    end.name(),
                    r.frames,
                    0
                );
                continue;
            }
            let cpu_per_tick = r.cpu.as_secs_f64() / r.ticks as f64;
            let ns = |run: &Run| run.cpu.as_secs_f64() * 1e9 / run.ticks.max(1) as f64;
            println!(
                "{name:<18} {:<5} {:>9} {:>9} {:>12.0} {:>8.0} {:>12.3}   ns/tick min {:.0} max {:.0}",
                end.name(),
                r.frames,
                r.ticks,
                r.ticks as f64 / r.wall.as_secs_f64(),
                cpu_per_tick * 1e9,
                cpu_per_tick * 1e6,
                ns(&runs[0]),
                ns(&runs[runs.len() - 1]),
            );
        }
    }
    println!();
    println!("peak RSS {:.0} MB (frames held in memory)", peak_rss_mb());
}

//! The book benchmark: what a depth frame with book upkeep costs, on every exchange
//! the registry claims a recording of. Every recording of the capture corpus
//! (`TICKBRIDGE_CAPTURES`, default `../shared/captures`) is replayed connection by
//! connection through the parser of the registered connector that claims its URL
//! (as the corpus tests do: a connector added to the registry is measured without an
//! edit here); recorded REST order-book snapshots answer the parser's snapshot
//! requests, so snapshot-synced books are kept as live.
//!
//! A "book frame" is a frame whose parse published a `book` record (a snapshot or a
//! diff applied to the kept book, with its checks: sequence chain, checksum, crossed
//! book). Reported per connector: book frames, and CPU per book frame (the parse of the
//! frame, book upkeep and record building included; JSON encoding and the pipeline
//! are not: `benches/pipeline.rs` measures those), min / median / max over the runs;
//! split into diff frames (only `snapshot=false` book records: the steady state) and
//! snapshot frames, timed per level the snapshot held (a whole book costs its size);
//! and the same for every frame. Frames are loaded and binary frames decoded first:
//! only the parses are timed, each with its own clock reading.
//!
//! ```text
//! cargo bench --bench books                      # every recording, 5 runs
//! cargo bench --bench books -- --runs 9
//! cargo bench --bench books -- --capture deribit # recordings whose path contains it
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tickbridge::capture::{Capture, EventKind};
use tickbridge_connectors::contract::Decoded;
use tickbridge_connectors::{fuzzing, Connector, FrameParser};
use tickbridge_schema::{Kind, Record};

/// One step of a connection's replay.
enum Step {
    Frame(String),
    /// The recorded REST responses available from here on (url, body).
    Http(String, String),
}

/// One recorded connection a connector claims.
struct Connection {
    connector: &'static dyn Connector,
    url: String,
    steps: Vec<Step>,
}

fn captures_dir() -> PathBuf {
    std::env::var_os("TICKBRIDGE_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"))
}

fn recordings(dir: &Path, filter: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["cryptofeed", "hftbacktest"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.display().to_string();
            if name.ends_with(".jsonl.gz") && filter.is_none_or(|f| name.contains(f)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The connections of one recording that a registered connector claims.
fn load(path: &Path) -> Vec<Connection> {
    let capture = Capture::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut conns: BTreeMap<u64, Connection> = BTreeMap::new();
    let mut http: Vec<(String, String)> = Vec::new();
    for e in &capture.events {
        match e.ev {
            EventKind::Open => {
                let url = e.url.clone().unwrap_or_default();
                if let Some((connector, _)) = fuzzing::connector_for_capture_url(&url) {
                    let mut c = Connection {
                        connector,
                        url,
                        steps: Vec::new(),
                    };
                    // Responses recorded before the connection opened are available too.
                    c.steps
                        .extend(http.iter().map(|(u, b)| Step::Http(u.clone(), b.clone())));
                    conns.insert(e.conn, c);
                }
            }
            EventKind::Http => {
                if let (Some(url), Some(body)) = (&e.url, &e.text) {
                    http.push((url.clone(), body.clone()));
                    for c in conns.values_mut() {
                        c.steps.push(Step::Http(url.clone(), body.clone()));
                    }
                }
            }
            EventKind::Recv => {
                let Some(c) = conns.get_mut(&e.conn) else {
                    continue;
                };
                let text = match (&e.text, e.binary()) {
                    (Some(t), _) => t.clone(),
                    (None, Some(bytes)) => {
                        match c.connector.binary_frames().decode(&bytes, 64 << 20) {
                            Decoded::Text(t) => t,
                            _ => continue,
                        }
                    }
                    (None, None) => continue,
                };
                c.steps.push(Step::Frame(text));
            }
            _ => {}
        }
    }
    conns.into_values().collect()
}

/// The path and query of a URL (recorded hosts differ from the parser's REST base).
fn path_and_query(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

/// The recorded response answering a parser's request: the same path and query, else
/// one whose URL names the request's key (the native symbol).
fn answer(available: &mut Vec<(String, String)>, url: &str, key: &str) -> Option<String> {
    let want = path_and_query(url);
    let i = available
        .iter()
        .position(|(u, _)| path_and_query(u) == want)
        .or_else(|| {
            let key = key.to_ascii_lowercase();
            available.iter().position(|(u, _)| {
                let u = u.to_ascii_lowercase();
                u.contains(&format!("={key}")) || u.ends_with(&format!("/{key}"))
            })
        })?;
    Some(available.remove(i).1)
}

#[derive(Default, Clone, Copy)]
struct Tally {
    book_frames: u64,
    book_time: Duration,
    /// Book frames that published only diffs (no `snapshot=true` record): the
    /// steady state of a kept book.
    diff_frames: u64,
    diff_time: Duration,
    /// Book frames that published a snapshot, and the levels those snapshots held:
    /// their cost is the size of the book, so it is reported per level.
    snapshot_levels: u64,
    snapshot_time: Duration,
    frames: u64,
    time: Duration,
}

/// Whether a frame's records hold a snapshot, and how many levels the snapshots hold.
fn snapshot_levels(out: &[Record]) -> Option<u64> {
    let mut levels = None;
    for r in out {
        if let tickbridge_schema::Data::Book(b) = &r.data {
            if b.snapshot {
                *levels.get_or_insert(0) += (b.bids.len() + b.asks.len()) as u64;
            }
        }
    }
    levels
}

/// One pass over a connection with a fresh parser.
fn pass(c: &Connection, tally: &mut Tally) {
    let plan = tickbridge_connectors::ConnectionPlan::for_frames(&c.url, market(c));
    let mut parser: Box<dyn FrameParser> = c.connector.parser(&plan);
    let mut out: Vec<Record> = Vec::with_capacity(64);
    let mut available: Vec<(String, String)> = Vec::new();
    let mut pending: VecDeque<(String, String)> = VecDeque::new();
    let mut ts = 1_700_000_000_000_000_000i64;
    for step in &c.steps {
        match step {
            Step::Http(url, body) => available.push((url.clone(), body.clone())),
            Step::Frame(text) => {
                ts += 1_000;
                out.clear();
                let start = Instant::now();
                let _ = parser.parse(text, ts, &mut out);
                let took = start.elapsed();
                tally.frames += 1;
                tally.time += took;
                if out.iter().any(|r| r.kind() == Kind::Book) {
                    tally.book_frames += 1;
                    tally.book_time += took;
                    match snapshot_levels(&out) {
                        Some(levels) => {
                            tally.snapshot_levels += levels;
                            tally.snapshot_time += took;
                        }
                        None => {
                            tally.diff_frames += 1;
                            tally.diff_time += took;
                        }
                    }
                }
                let _ = parser.reply();
                let _ = parser.resubscribe();
                pending.extend(parser.rest_requests().into_iter().map(|r| (r.key, r.url)));
            }
        }
        // Answer what the recording has answers for (snapshots are not timed).
        let mut waiting = VecDeque::new();
        while let Some((key, url)) = pending.pop_front() {
            match answer(&mut available, &url, &key) {
                Some(body) => {
                    out.clear();
                    let _ = parser.on_rest(&key, Ok(&body), ts, &mut out);
                    pending.extend(parser.rest_requests().into_iter().map(|r| (r.key, r.url)));
                }
                None => waiting.push_back((key, url)),
            }
        }
        pending = waiting;
    }
}

// ---------------------------------------------------------------------------------
// Incremental streams no recording holds, built from the documented frame shapes.

/// A deterministic pseudo-random sequence (the streams are the same on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// `[[price, size], ...]` of `n` levels from `top`, one tick (0.01) apart, going
/// down (`dir` -1, bids) or up (+1, asks), as HTX writes them (JSON numbers).
fn levels(top: u64, n: u64, dir: i64, rng: &mut Lcg) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            let cents = (top as i64 + dir * i as i64) as u64;
            format!(
                "[{}.{:02},{}.{:04}]",
                cents / 100,
                cents % 100,
                1 + rng.next(9),
                rng.next(10_000)
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// One to three changed levels near the top of each side (size 0 deletes).
fn changes(top: u64, dir: i64, rng: &mut Lcg) -> String {
    let n = 1 + rng.next(3);
    let items: Vec<String> = (0..n)
        .map(|_| {
            let cents = (top as i64 + dir * rng.next(150) as i64) as u64;
            let size = if rng.next(4) == 0 {
                "0".to_string()
            } else {
                format!("{}.{:04}", rng.next(5), rng.next(10_000))
            };
            format!("[{}.{:02},{size}]", cents / 100, cents % 100)
        })
        .collect();
    format!("[{}]", items.join(","))
}

const SYNTHETIC_PUSHES: u64 = 20_000;

/// HTX spot `market.btcusdt.mbp.150` (the documented push and `req` image shapes,
/// <https://www.htx.com/en-us/opend/newApiPages/> "Market By Price (incremental
/// update)"): the first push, the image its `req` brings back (150 levels a side,
/// `seqNum` of that push), then pushes chained by `prevSeqNum`, each changing one to
/// three levels a side.
fn htx_mbp_stream() -> Connection {
    let mut rng = Lcg(7);
    let (bid, ask) = (5_000_000u64, 5_000_001u64);
    let push = |seq: u64, rng: &mut Lcg| {
        format!(
            r#"{{"ch":"market.btcusdt.mbp.150","ts":1573199608679,"tick":{{"seqNum":{seq},"prevSeqNum":{},"bids":{},"asks":{}}}}}"#,
            seq - 1,
            changes(bid, -1, rng),
            changes(ask, 1, rng)
        )
    };
    let mut steps = vec![Step::Frame(push(100, &mut rng))];
    steps.push(Step::Frame(format!(
        r#"{{"id":"1000000","rep":"market.btcusdt.mbp.150","status":"ok","data":{{"seqNum":100,"bids":{},"asks":{}}}}}"#,
        levels(bid, 150, -1, &mut rng),
        levels(ask, 150, 1, &mut rng)
    )));
    for seq in 101..101 + SYNTHETIC_PUSHES {
        steps.push(Step::Frame(push(seq, &mut rng)));
    }
    Connection {
        connector: tickbridge_connectors::connector("htx").expect("htx is registered"),
        url: "wss://api.huobi.pro/ws".into(),
        steps,
    }
}

/// HTX USDT swaps `market.BTC-USDT.depth.size_150.high_freq` with `data_type:
/// incremental` (the documented `event: snapshot` then `event: update` frames,
/// chained by `version` + 1), each update changing one to three levels a side.
fn htx_swap_high_freq_stream() -> Connection {
    let mut rng = Lcg(11);
    let (bid, ask) = (5_000_000u64, 5_000_001u64);
    let frame = |event: &str, version: u64, bids: String, asks: String| {
        format!(
            r#"{{"ch":"market.BTC-USDT.depth.size_150.high_freq","tick":{{"asks":{asks},"bids":{bids},"ch":"market.BTC-USDT.depth.size_150.high_freq","event":"{event}","id":{version},"mrid":{version},"ts":1645289384831,"version":{version}}},"ts":1645289384832}}"#
        )
    };
    let mut steps = vec![Step::Frame(frame(
        "snapshot",
        1,
        levels(bid, 150, -1, &mut rng),
        levels(ask, 150, 1, &mut rng),
    ))];
    for version in 2..2 + SYNTHETIC_PUSHES {
        let (b, a) = (changes(bid, -1, &mut rng), changes(ask, 1, &mut rng));
        steps.push(Step::Frame(frame("update", version, b, a)));
    }
    Connection {
        connector: tickbridge_connectors::connector("htx-swap").expect("htx-swap is registered"),
        url: "wss://api.hbdm.com/linear-swap-ws".into(),
        steps,
    }
}

fn market(c: &Connection) -> tickbridge_schema::Market {
    c.connector
        .market_of_url(&c.url)
        .unwrap_or_else(|| c.connector.default_market())
}

fn micros(d: Duration, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        d.as_secs_f64() * 1e6 / n as f64
    }
}

fn min_med_max(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    // `cargo test --benches` runs benches with `--bench` absent: one quick run.
    let testing = !std::env::args().any(|a| a == "--bench");
    let runs: usize = arg("--runs")
        .map(|r| r.parse().expect("--runs N"))
        .unwrap_or(if testing { 1 } else { 5 });
    let filter = arg("--capture");
    let dir = captures_dir();
    let files = recordings(&dir, filter.as_deref());
    let documented = ["htx mbp (documented)", "htx-swap hf (documented)"];
    assert!(
        !files.is_empty()
            || documented
                .iter()
                .any(|n| filter.as_deref().is_some_and(|f| n.contains(f))),
        "no recording under {} matches {filter:?}",
        dir.display()
    );
    let mut by_connector: BTreeMap<&'static str, Vec<Connection>> = BTreeMap::new();
    for f in &files {
        for c in load(f) {
            by_connector.entry(c.connector.name()).or_default().push(c);
        }
    }
    // The incremental book channels the recordings predate (`--capture` filters them
    // by name too), listed as `<connector> (documented)`.
    let mut synthetic: BTreeMap<String, Vec<Connection>> = BTreeMap::new();
    for (name, build) in [
        ("htx mbp (documented)", htx_mbp_stream as fn() -> Connection),
        ("htx-swap hf (documented)", htx_swap_high_freq_stream),
    ] {
        if filter.as_deref().is_none_or(|f| name.contains(f)) {
            synthetic.insert(name.to_string(), vec![build()]);
        }
    }
    println!(
        "book frames: CPU per frame that published a book record (parse + book upkeep), {runs} runs, min/median/max µs"
    );
    println!("(diff frames published only diffs; snapshot frames are timed per level they held)");
    println!(
        "{:<18} {:>9} {:>22} {:>8} {:>22} {:>8} {:>22} {:>8} {:>22}",
        "connector",
        "book fr.",
        "µs/book frame",
        "diff fr.",
        "µs/diff frame",
        "snap lv.",
        "µs/snapshot level",
        "frames",
        "µs/frame (all)"
    );
    let mut per_run: HashMap<&'static str, Runs> = HashMap::new();
    // Interleaved: each run visits every connector once.
    let mut per_synthetic: HashMap<String, Runs> = HashMap::new();
    for _ in 0..runs {
        for (name, conns) in &by_connector {
            let mut t = Tally::default();
            for c in conns {
                pass(c, &mut t);
            }
            per_run.entry(name).or_default().push(t);
        }
        for (name, conns) in &synthetic {
            let mut t = Tally::default();
            for c in conns {
                pass(c, &mut t);
            }
            assert!(
                t.book_frames > SYNTHETIC_PUSHES,
                "{name}: only {} of {} frames kept the book (the stream broke its chain)",
                t.book_frames,
                t.frames
            );
            per_synthetic.entry(name.clone()).or_default().push(t);
        }
    }
    for (name, runs) in by_connector
        .keys()
        .map(|n| (n.to_string(), per_run.remove(n).unwrap()))
        .chain(
            synthetic
                .keys()
                .map(|n| (n.clone(), per_synthetic.remove(n).unwrap())),
        )
        .collect::<Vec<_>>()
    {
        let t = runs.last;
        println!(
            "{name:<18} {:>9} {:>22} {:>8} {:>22} {:>8} {:>22} {:>8} {:>22}",
            t.book_frames,
            cell(t.book_frames, runs.book),
            t.diff_frames,
            cell(t.diff_frames, runs.diff),
            t.snapshot_levels,
            cell(t.snapshot_levels, runs.snapshot_level),
            t.frames,
            cell(t.frames, runs.all),
        );
    }
}

/// Per-run figures of one connector (µs per unit), and the last run's tally.
#[derive(Default)]
struct Runs {
    book: Vec<f64>,
    diff: Vec<f64>,
    snapshot_level: Vec<f64>,
    all: Vec<f64>,
    last: Tally,
}

impl Runs {
    fn push(&mut self, t: Tally) {
        self.book.push(micros(t.book_time, t.book_frames));
        self.diff.push(micros(t.diff_time, t.diff_frames));
        self.snapshot_level
            .push(micros(t.snapshot_time, t.snapshot_levels));
        self.all.push(micros(t.time, t.frames));
        self.last = t;
    }
}

/// `min / median / max`, or `-` when nothing was counted.
fn cell(count: u64, values: Vec<f64>) -> String {
    if count == 0 {
        return "-".to_string();
    }
    let (min, med, max) = min_med_max(values);
    format!("{min:.2} / {med:.2} / {max:.2}")
}

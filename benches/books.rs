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
    frames: u64,
    time: Duration,
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
    assert!(
        !files.is_empty(),
        "no recording under {} matches {filter:?}",
        dir.display()
    );
    let mut by_connector: BTreeMap<&'static str, Vec<Connection>> = BTreeMap::new();
    for f in &files {
        for c in load(f) {
            by_connector.entry(c.connector.name()).or_default().push(c);
        }
    }
    println!(
        "book frames: CPU per frame that published a book record (parse + book upkeep), {runs} runs, min/median/max µs"
    );
    println!(
        "{:<18} {:>9} {:>26} {:>9} {:>26}",
        "connector", "book fr.", "µs/book frame", "frames", "µs/frame (all)"
    );
    let mut per_run: HashMap<&'static str, (Vec<f64>, Vec<f64>, Tally)> = HashMap::new();
    // Interleaved: each run visits every connector once.
    for _ in 0..runs {
        for (name, conns) in &by_connector {
            let mut t = Tally::default();
            for c in conns {
                pass(c, &mut t);
            }
            let e = per_run.entry(name).or_default();
            e.0.push(micros(t.book_time, t.book_frames));
            e.1.push(micros(t.time, t.frames));
            e.2 = t;
        }
    }
    for name in by_connector.keys() {
        let (book, all, t) = per_run.remove(name).unwrap();
        let (bmin, bmed, bmax) = min_med_max(book);
        let (amin, amed, amax) = min_med_max(all);
        let book_cell = if t.book_frames == 0 {
            "-".to_string()
        } else {
            format!("{bmin:.2} / {bmed:.2} / {bmax:.2}")
        };
        println!(
            "{name:<18} {:>9} {book_cell:>26} {:>9} {:>26}",
            t.book_frames,
            t.frames,
            format!("{amin:.2} / {amed:.2} / {amax:.2}")
        );
    }
}

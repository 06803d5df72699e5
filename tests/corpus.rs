//! The corpus test: every Binance and Coinbase recording in `TICKBRIDGE_CAPTURES`
//! (default `../shared/captures`) is fed, frame by frame, to the connector's parser
//! with every channel enabled. It must hold that
//!
//! - every received text frame parses or is classified (ack, heartbeat, ignored
//!   channel, ...): zero unknown frames, zero parse errors;
//! - every record is valid against its kind's published JSON Schema
//!   (`schemas/json/<kind>.json`);
//! - every trade frame (Binance `@trade` / `@aggTrade`, Coinbase `match` /
//!   `last_match`, recognised here with a generic JSON parse) yields exactly one
//!   `trade` record and no other frame yields one, so the `trade` records equal the
//!   trade frames in number; trade ids are unique within a capture.
//!
//! Order-book snapshots the parser asks for are answered from the capture's recorded
//! REST responses, so book records are produced and schema-checked too; their chains
//! are asserted on by the book sync's own corpus test (`connectors/tests/corpus_books.rs`).
//! The per-file counts are printed, so the test output documents the coverage
//! (`cargo test --test corpus -- --nocapture`).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::corpus::{binance_and_coinbase_captures, Feed};
use common::{captures_dir, SchemaValidator};
use tickbridge::capture::{Capture, EventKind};
use tickbridge_connectors::{ParseError, Parsed, RestRequest};
use tickbridge_schema::{Kind, Record};

/// At most this many failures are kept per file (the counts say how many in all).
const MAX_FAILURES_SHOWN: usize = 8;

#[derive(Default)]
struct Report {
    file: String,
    feed: String,
    frames: u64,
    binary_frames: u64,
    /// Frames by the exchange's own type name.
    frame_types: BTreeMap<String, u64>,
    /// Frames by the parser's classification (`data`, `ack`, `ignored depth`, ...).
    classified: BTreeMap<String, u64>,
    records: BTreeMap<&'static str, u64>,
    trade_frames: u64,
    trade_records: u64,
    /// Order-book snapshots answered from the capture's recorded REST responses.
    snapshots: u64,
    errors: u64,
    failures: Vec<String>,
}

impl Report {
    fn fail(&mut self, what: String) {
        if self.failures.len() < MAX_FAILURES_SHOWN {
            self.failures.push(what);
        }
    }
}

/// A short label of the parser's classification: `Data`, `Acked`,
/// `Ignored("depth")`, ... (the variant name, plus the channel for `Ignored`).
fn classification(p: &Parsed) -> String {
    let debug = format!("{p:?}");
    match p {
        Parsed::Ignored(_) => debug,
        _ => debug.split('(').next().unwrap_or_default().to_string(),
    }
}

fn preview(text: &str) -> &str {
    let mut end = text.len().min(160);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn check_capture(path: &Path, root: &Path, validator: &SchemaValidator) -> Report {
    let mut report = Report {
        file: path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string(),
        ..Report::default()
    };
    let capture = match Capture::read(path) {
        Ok(c) => c,
        Err(e) => {
            report.errors += 1;
            report.fail(format!("cannot read the capture: {e}"));
            return report;
        }
    };
    let feed = match Feed::of(&capture) {
        Ok(f) => f,
        Err(e) => {
            report.errors += 1;
            report.fail(e);
            return report;
        }
    };
    report.feed = format!("{feed:?}");
    let mut parser = feed.parser();
    let mut out: Vec<Record> = Vec::new();
    let mut trade_ids: HashSet<String> = HashSet::new();
    // Order-book snapshots: the parser asks for them (`rest_requests`), the capture
    // holds the recorded responses (`http` events); a request is answered once its
    // symbol's response has been recorded, as replay would.
    let mut pending: Vec<RestRequest> = Vec::new();
    let mut recorded: HashMap<String, VecDeque<String>> = HashMap::new();
    for (line, event) in capture.events.iter().enumerate() {
        if event.ev == EventKind::Http {
            if let (Some(url), Some(body)) = (&event.url, &event.text) {
                if let Some(symbol) = snapshot_symbol(url, body) {
                    recorded.entry(symbol).or_default().push_back(body.clone());
                }
            }
        }
        pending.extend(parser.rest_requests());
        while let Some(i) = pending
            .iter()
            .position(|q| recorded.get(&q.key).is_some_and(|r| !r.is_empty()))
        {
            let q = pending.remove(i);
            let body = recorded.get_mut(&q.key).unwrap().pop_front().unwrap();
            out.clear();
            match parser.on_rest(&q.key, Ok(&body), event.ts, &mut out) {
                Ok(_) => report.snapshots += 1,
                Err(e) => {
                    report.errors += 1;
                    report.fail(format!("snapshot of {}: {e}", q.key));
                }
            }
            check_records(&mut report, &out, validator, &mut trade_ids, &|| {
                format!("snapshot of {}", q.key)
            });
            pending.extend(parser.rest_requests());
        }
        if event.ev != EventKind::Recv {
            continue;
        }
        let Some(text) = event.text.as_deref() else {
            report.binary_frames += 1;
            continue;
        };
        report.frames += 1;
        // Line numbers are 1-based and count the header.
        let at = || format!("line {}: {}", line + 2, preview(text));
        let frame_type = feed.frame_type(text);
        let is_trade = feed.is_trade_type(&frame_type);
        *report.frame_types.entry(frame_type).or_default() += 1;
        if is_trade {
            report.trade_frames += 1;
        }

        out.clear();
        match parser.parse(text, event.ts, &mut out) {
            Ok(p) => *report.classified.entry(classification(&p)).or_default() += 1,
            Err(e) => {
                report.errors += 1;
                let kind = match e {
                    ParseError::Unknown(_) => "unknown frame",
                    _ => "parse error",
                };
                report.fail(format!("{kind}: {e}\n      {}", at()));
            }
        }

        let trades_here = check_records(&mut report, &out, validator, &mut trade_ids, &at);
        let want = usize::from(is_trade);
        if trades_here != want {
            report.errors += 1;
            report.fail(format!(
                "{trades_here} trade records from a frame that carries {want}\n      {}",
                at()
            ));
        }
    }
    report
}

/// Counts and validates records; returns how many are trades.
fn check_records(
    report: &mut Report,
    records: &[Record],
    validator: &SchemaValidator,
    trade_ids: &mut HashSet<String>,
    at: &dyn Fn() -> String,
) -> usize {
    let mut trades = 0;
    for record in records {
        *report.records.entry(record.kind().as_str()).or_default() += 1;
        if record.kind() == Kind::Trade {
            trades += 1;
            report.trade_records += 1;
            if !trade_ids.insert(record.id.clone()) {
                report.errors += 1;
                report.fail(format!("duplicate trade id {}\n      {}", record.id, at()));
            }
        }
        let json: serde_json::Value =
            serde_json::from_slice(&record.to_json()).expect("a record encodes as JSON");
        let violations = validator.errors(&json);
        if !violations.is_empty() {
            report.errors += 1;
            report.fail(format!(
                "{violations:?}\n      record {json}\n      {}",
                at()
            ));
        }
    }
    trades
}

/// The native symbol a recorded REST snapshot is for: the body's own `symbol`
/// (COIN-M; the hftbacktest recordings name the pair in the URL), else the URL's
/// `symbol` query parameter.
fn snapshot_symbol(url: &str, body: &str) -> Option<String> {
    let from_body = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["symbol"].as_str().map(str::to_string));
    from_body.or_else(|| {
        url.split_once('?')?
            .1
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "symbol")
            .map(|(_, v)| v.to_string())
    })
}

fn describe(r: &Report) -> String {
    let mut s = format!(
        "{} [{}]: {} frames ({}), binary {}, REST snapshots {}\n    classified: {}\n    records: {}\n    trade frames {} = trade records {}\n",
        r.file,
        r.feed,
        r.frames,
        join(r.frame_types.iter()),
        r.binary_frames,
        r.snapshots,
        join(r.classified.iter()),
        join(r.records.iter()),
        r.trade_frames,
        r.trade_records,
    );
    for f in &r.failures {
        let _ = writeln!(s, "    FAIL {f}");
    }
    if r.errors as usize > r.failures.len() {
        let _ = writeln!(s, "    ... {} failures in all", r.errors);
    }
    s
}

fn join<K: std::fmt::Display, V: std::fmt::Display>(it: impl Iterator<Item = (K, V)>) -> String {
    it.map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn every_binance_and_coinbase_capture_parses_into_valid_records() {
    let root = captures_dir();
    let files: Vec<PathBuf> = binance_and_coinbase_captures(&root);
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    for must in [
        "cryptofeed/binance.jsonl.gz",
        "cryptofeed/binance_us.jsonl.gz",
        "cryptofeed/binance_tr.jsonl.gz",
        "cryptofeed/binance_futures.jsonl.gz",
        "cryptofeed/binance_delivery.jsonl.gz",
        "cryptofeed/coinbase.jsonl.gz",
        "hftbacktest/binance_btcusdt_20240808.jsonl.gz",
        "hftbacktest/binance-usdm_btcusdt_20240808.jsonl.gz",
        "hftbacktest/binance-coinm_btcusd_perp_20240808.jsonl.gz",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} is missing from the corpus at {} (found {names:?})",
            root.display()
        );
    }

    // The files are independent: check them on every core.
    let validator = SchemaValidator::new();
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(files.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let report = check_capture(path, &root, &validator);
                reports.lock().unwrap().push(report);
            });
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by(|a, b| a.file.cmp(&b.file));

    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut frames, mut errors) = (0, 0);
    for r in &reports {
        println!("{}", describe(r));
        for (k, v) in &r.records {
            *totals.entry(k).or_default() += v;
        }
        frames += r.frames;
        errors += r.errors;
    }
    println!(
        "corpus: {} captures, {frames} frames, records: {}",
        reports.len(),
        join(totals.iter())
    );

    let failed: Vec<String> = reports
        .iter()
        .filter(|r| r.errors > 0 || r.trade_frames != r.trade_records || r.frames == 0)
        .map(describe)
        .collect();
    assert!(
        failed.is_empty(),
        "{errors} failures in {} of {} captures:\n{}",
        failed.len(),
        reports.len(),
        failed.join("\n")
    );
}

//! Corpus: every Binance recording in `TICKBRIDGE_CAPTURES` (hftbacktest spot, USD-M and
//! COIN-M; cryptofeed `binance`, `binance_us`, `binance_tr` (spot API), `binance_futures`
//! (USD-M), `binance_delivery` (COIN-M)) is fed, frame by frame and with its recorded
//! REST snapshots, in capture order, to the Binance parser with the `book` channel on.
//! No network: a snapshot request is answered with the recorded response for that
//! symbol as soon as both exist (the request is made when the first diff arrives; the
//! response is handed over at its place in the capture, or at once if it was recorded
//! earlier), just like the mock exchange releases it.
//!
//! Asserted for every file:
//! - every frame parses (zero errors) and zero `status gap` records are emitted;
//! - per symbol with a recorded snapshot: one `snapshot=true` book record whose `seq`
//!   is the snapshot's `lastUpdateId`, then a book record for **every** diff with
//!   `u > lastUpdateId` from the bridging one to the end of the file, each with
//!   `prev_seq` = the previous record's `seq` (the chain is intact);
//! - a book rebuilt **only from the emitted `book` records** matches the exchange's own
//!   `bookTicker`:
//!   - *exact rule* (all files): at every bookTicker whose update id `u` equals the `u`
//!     of an emitted book record (the book's last applied update), best bid/ask price
//!     and size are equal. Diffs are 100 ms batches whose `u` is the last update id of
//!     the batch; bookTicker `u` is the update id that changed the top of book, so the
//!     two coincide whenever the last update of a batch touched the top;
//!   - *latest rule* (hftbacktest files): at **every** emitted book state `u`, best
//!     bid/ask equal the latest bookTicker with update id `<= u` (the bookTicker stream
//!     announces every top-of-book change, so the top cannot have changed between).
//!     The 2021 cryptofeed COIN-M recording misses a few top-of-book announcements
//!     (4 of 1,793 states differ), so there only the exact rule is asserted and the
//!     latest rule is reported;
//! - no published book is crossed.
//!
//! Second-day hftbacktest files (`*_20240809`, `*_20240719`, `*_20230405`) continue a
//! session whose snapshot was taken the day before: they hold no REST snapshot. There
//! the parser must request one snapshot per symbol, buffer the diffs, publish **no**
//! book record (there is no snapshot to bridge from: a book is never published from a
//! chain that did not start with one) and report zero gaps.
//!
//! `cargo test -p tickbridge-connectors --test corpus_books -- --nocapture` prints the
//! per-file numbers.

mod common;

use common::captures_dir;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use tickbridge_connectors::book::{BookConfig, OrderBook};
use tickbridge_connectors::contract::ConnectionPlan;
use tickbridge_connectors::exchanges::binance::book::MAX_BUFFERED_DIFFS;
use tickbridge_connectors::exchanges::binance::{Binance, BinanceParser, Venue};
use tickbridge_connectors::{Connector, FrameParser, RestRequest};
use tickbridge_schema::{Bbo, Data, Record, StatusEvent};

/// One capture event (unknown fields ignored, as the format requires).
#[derive(serde::Deserialize)]
struct Event {
    ts: i64,
    ev: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

fn read_capture(path: &Path) -> Vec<Event> {
    let file = std::fs::File::open(path).unwrap();
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    reader
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

/// Every Binance file of the corpus and the venue whose parser reads it.
fn binance_files(dir: &Path) -> Vec<(PathBuf, Venue)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.join("hftbacktest")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let venue = if name.starts_with("binance-usdm_") {
            Venue::UsdM
        } else if name.starts_with("binance-coinm_") {
            Venue::CoinM
        } else if name.starts_with("binance_") {
            Venue::Spot
        } else {
            continue;
        };
        files.push((path, venue));
    }
    for (name, venue) in [
        ("binance", Venue::Spot),
        ("binance_us", Venue::Spot),
        ("binance_tr", Venue::Spot),
        ("binance_futures", Venue::UsdM),
        ("binance_delivery", Venue::CoinM),
    ] {
        let path = dir.join("cryptofeed").join(format!("{name}.jsonl.gz"));
        assert!(path.is_file(), "{} is missing", path.display());
        files.push((path, venue));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// What one file showed.
#[derive(Debug, Default)]
struct Report {
    name: String,
    frames: usize,
    depth_frames: usize,
    errors: usize,
    snapshots_recorded: usize,
    book_records: usize,
    gaps: usize,
    exact_compared: usize,
    latest_compared: usize,
    latest_mismatches: usize,
}

/// A depth diff's symbol and final update id `u`, read straight from the frame text
/// (independent of the parser; cheap, as the frames are large).
fn depth_ids(text: &str) -> Option<(String, u64)> {
    if !text.contains("\"e\":\"depthUpdate\"") {
        return None;
    }
    let field = |name: &str| -> Option<&str> {
        let at = text.find(name)? + name.len();
        let rest = &text[at..];
        let end = rest.find([',', '}'])?;
        Some(rest[..end].trim_matches('"'))
    };
    Some((field("\"s\":")?.to_string(), field("\"u\":")?.parse().ok()?))
}

/// The symbol and lastUpdateId of a recorded depth snapshot; COIN-M bodies name the
/// contract (their recorded URL names only the pair: `symbol=BTCUSD`).
fn snapshot_of(url: &str, body: &str) -> Option<(String, u64)> {
    if !url.contains("/depth?") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let id = v.get("lastUpdateId")?.as_u64()?;
    let symbol = match v.get("symbol").and_then(|s| s.as_str()) {
        Some(s) => s.to_string(),
        None => url.split("symbol=").nth(1)?.split('&').next()?.to_string(),
    };
    Some((symbol, id))
}

fn top(b: &OrderBook) -> Bbo {
    b.bbo()
}

fn replay(path: &Path, venue: Venue) -> Report {
    let name = path
        .strip_prefix(path.parent().unwrap().parent().unwrap())
        .unwrap()
        .display()
        .to_string();
    let second_day = ["_20240809", "_20240719", "_20230405"]
        .iter()
        .any(|d| name.contains(d));
    let events = read_capture(path);
    // Every channel (`for_frames`), the recorded connection's URL, and a REST base
    // URL of its own: snapshots are answered from the capture, never fetched.
    let binance = Binance { venue };
    let market = binance.default_market();
    let url = events
        .iter()
        .find(|e| e.ev == "open")
        .and_then(|e| e.url.clone())
        .unwrap_or_else(|| format!("{}/stream", binance.default_ws_url(market)));
    let plan = ConnectionPlan {
        books: BookConfig {
            rest_url: "https://capture".into(),
            ..BookConfig::default()
        },
        ..ConnectionPlan::for_frames(&url, market)
    };
    let mut parser: BinanceParser = binance.new_parser(&plan);
    let mut report = Report {
        name: name.clone(),
        ..Report::default()
    };
    let mut records: Vec<Record> = Vec::new();
    let mut pending: Vec<RestRequest> = Vec::new();
    let mut recorded: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    let mut requested: HashMap<String, usize> = HashMap::new();
    // Per symbol: last update id of every depth frame (to count the diffs past the snapshot).
    let mut depth_us: HashMap<String, Vec<u64>> = HashMap::new();
    let mut snapshot_ids: HashMap<String, u64> = HashMap::new();

    for e in &events {
        match e.ev.as_str() {
            "recv" => {
                let text = e.text.as_deref().unwrap_or("");
                report.frames += 1;
                if let Some((sym, u)) = depth_ids(text) {
                    report.depth_frames += 1;
                    depth_us.entry(sym).or_default().push(u);
                }
                if parser.parse(text, e.ts, &mut records).is_err() {
                    report.errors += 1;
                }
            }
            "http" => {
                let (url, body) = (
                    e.url.as_deref().unwrap_or(""),
                    e.text.as_deref().unwrap_or(""),
                );
                if let Some((sym, id)) = snapshot_of(url, body) {
                    report.snapshots_recorded += 1;
                    snapshot_ids.insert(sym.clone(), id);
                    recorded
                        .entry(sym)
                        .or_default()
                        .push((body.to_string(), id));
                }
            }
            _ => {}
        }
        pending.extend(parser.rest_requests());
        // Answer every request whose recorded response exists by now.
        while let Some(i) = pending.iter().position(|q| {
            let n = requested.get(&q.key).copied().unwrap_or(0);
            recorded.get(&q.key).is_some_and(|r| r.len() > n)
        }) {
            let q = pending.remove(i);
            let n = requested.entry(q.key.clone()).or_insert(0);
            let body = recorded[&q.key][*n].0.clone();
            *n += 1;
            parser
                .on_rest(&q.key, Ok(&body), e.ts, &mut records)
                .unwrap_or_else(|err| panic!("{name}: snapshot of {}: {err}", q.key));
            pending.extend(parser.rest_requests());
        }
    }

    // Rebuild books from the emitted records only, checking the chain.
    let mut books: HashMap<String, OrderBook> = HashMap::new();
    let mut last_seq: HashMap<String, u64> = HashMap::new();
    let mut states: HashMap<String, BTreeMap<u64, Bbo>> = HashMap::new();
    let mut published: HashMap<String, usize> = HashMap::new();
    let mut tickers: HashMap<String, Vec<(u64, Bbo)>> = HashMap::new();
    for r in &records {
        let native = r.native.to_string();
        match &r.data {
            Data::Book(b) => {
                report.book_records += 1;
                let seq = r.seq.expect("book records carry seq");
                let book = books.entry(native.clone()).or_default();
                if b.snapshot {
                    assert_eq!(b.prev_seq, None, "{name}: {}", r.id);
                    assert_eq!(Some(&seq), snapshot_ids.get(&native), "{name}: {}", r.id);
                    book.replace(&b.bids, &b.asks);
                } else {
                    assert_eq!(
                        b.prev_seq,
                        last_seq.get(&native).copied(),
                        "{name}: broken chain at {}",
                        r.id
                    );
                    book.apply(&b.bids, &b.asks);
                    *published.entry(native.clone()).or_default() += 1;
                }
                assert!(!book.is_crossed(), "{name}: crossed book at {}", r.id);
                last_seq.insert(native.clone(), seq);
                states.entry(native).or_default().insert(seq, top(book));
            }
            Data::Status(s) if s.event == StatusEvent::Gap => report.gaps += 1,
            Data::Bbo(b) => tickers
                .entry(native)
                .or_default()
                .push((r.seq.expect("bookTicker u"), b.clone())),
            _ => {}
        }
    }

    assert_eq!(report.errors, 0, "{name}: frames that did not parse");
    assert_eq!(report.gaps, 0, "{name}: gaps reported");
    if second_day {
        assert_eq!(report.snapshots_recorded, 0, "{name}");
        assert_eq!(report.book_records, 0, "{name}: a book without a snapshot");
        for (sym, us) in &depth_us {
            let sync = parser.book(sym).expect("a book sync per depth symbol");
            assert!(!sync.is_synced(), "{name} {sym}");
            assert_eq!(
                sync.buffered(),
                us.len().min(MAX_BUFFERED_DIFFS),
                "{name} {sym}"
            );
            assert_eq!(
                pending.iter().filter(|q| q.key == *sym).count(),
                1,
                "{name} {sym}: one outstanding snapshot request"
            );
        }
        return report;
    }
    assert!(
        report.snapshots_recorded > 0,
        "{name}: no snapshot recorded"
    );
    for (sym, id) in &snapshot_ids {
        // Every diff past the snapshot was published, from the bridging one to the end.
        let expected = depth_us[sym].iter().filter(|u| **u > *id).count();
        assert_eq!(
            published.get(sym).copied().unwrap_or(0),
            expected,
            "{name} {sym}: diffs after lastUpdateId {id}"
        );
        assert!(expected > 0, "{name} {sym}");
        let states = &states[sym];
        let Some(ticks) = tickers.get(sym) else {
            continue;
        };
        // Exact rule.
        for (u, bbo) in ticks {
            if let Some(state) = states.get(u) {
                report.exact_compared += 1;
                assert_eq!(state, bbo, "{name} {sym}: book vs bookTicker at u {u}");
            }
        }
        // Latest rule.
        let mut sorted = ticks.clone();
        sorted.sort_by_key(|(u, _)| *u);
        for (u, state) in states {
            let i = sorted.partition_point(|(t, _)| t <= u);
            if i == 0 {
                continue;
            }
            report.latest_compared += 1;
            if sorted[i - 1].1 != *state {
                report.latest_mismatches += 1;
            }
        }
    }
    if name.starts_with("hftbacktest") {
        assert!(report.exact_compared > 0, "{name}: nothing compared");
        assert!(report.latest_compared > 0, "{name}: nothing compared");
        assert_eq!(
            report.latest_mismatches, 0,
            "{name}: book vs latest bookTicker"
        );
    }
    report
}

#[test]
fn every_binance_capture_keeps_an_intact_book_that_matches_book_ticker() {
    let dir = captures_dir();
    let files = binance_files(&dir);
    assert!(
        files.len() >= 22,
        "expected 17 hftbacktest + 5 cryptofeed Binance files, found {}",
        files.len()
    );
    // Two threads: the files are independent and the machine has two cores.
    let (a, b): (Vec<_>, Vec<_>) = files.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let run = |part: Vec<(usize, &(PathBuf, Venue))>| -> Vec<Report> {
        part.into_iter().map(|(_, (p, v))| replay(p, *v)).collect()
    };
    let mut reports = std::thread::scope(|s| {
        let ha = s.spawn(|| run(a));
        let hb = s.spawn(|| run(b));
        let mut r = ha.join().expect("corpus thread");
        r.extend(hb.join().expect("corpus thread"));
        r
    });
    reports.sort_by(|x, y| x.name.cmp(&y.name));
    println!(
        "{:<52} {:>7} {:>6} {:>5} {:>7} {:>4} {:>6} {:>7} {:>4}",
        "file", "frames", "depth", "snaps", "books", "gaps", "exact", "latest", "diff"
    );
    for r in &reports {
        println!(
            "{:<52} {:>7} {:>6} {:>5} {:>7} {:>4} {:>6} {:>7} {:>4}",
            r.name,
            r.frames,
            r.depth_frames,
            r.snapshots_recorded,
            r.book_records,
            r.gaps,
            r.exact_compared,
            r.latest_compared,
            r.latest_mismatches
        );
    }
    let total: usize = reports.iter().map(|r| r.book_records).sum();
    assert!(total > 80_000, "{total} book records over the corpus");
}

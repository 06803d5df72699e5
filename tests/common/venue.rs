//! The shared plumbing of the per-venue replay → run tests: the recorded frames of a
//! capture (to count what the bridge must publish), and a [`VenueRun`] — the capture
//! served by `tickbridge replay`, one `tickbridge run` bridging one `[[source]]` from
//! it to a file sink — whose records are read back, waited for, schema-checked and
//! returned with the shutdown summary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{read_jsonl, wait_until, Bridge, Replay, SchemaValidator, Summary};

/// The `recv` events of a capture (its header line skipped), undecoded.
pub fn recv_events(capture: &Path) -> Vec<Value> {
    let file = std::fs::File::open(capture)
        .unwrap_or_else(|e| panic!("opening {}: {e}", capture.display()));
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .filter(|e| e["ev"] == "recv")
        .collect()
}

/// The received text frames of a capture, parsed as JSON, that `keep` accepts.
pub fn recorded_frames(capture: &Path, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    recv_events(capture)
        .into_iter()
        .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str()?).ok())
        .filter(|f| keep(f))
        .collect()
}

/// The one `[[source]]` a [`VenueRun`] bridges.
#[derive(Debug, Clone, Copy, Default)]
pub struct Source<'a> {
    pub exchange: &'a str,
    /// `market = "..."`, when the test sets one.
    pub market: Option<&'a str>,
    pub channels: &'a [&'a str],
    pub symbols: &'a [&'a str],
    /// Appended to the replay's `ws://` address (e.g. `/ws/api/v2`).
    pub ws_path: &'a str,
    /// More lines of the `[[source]]` table (each ending in a newline).
    pub extra: &'a str,
    /// More TOML tables, written between the source and the `[sink]`.
    pub sections: &'a str,
}

fn toml_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The records a bridge wrote: all of them, and views by the run's exchange.
#[derive(Debug, Clone)]
pub struct Records {
    pub exchange: String,
    pub all: Vec<Value>,
}

impl Records {
    /// The records of the run's exchange.
    pub fn venue(&self) -> impl Iterator<Item = &Value> {
        self.all
            .iter()
            .filter(|r| r["exchange"] == self.exchange.as_str())
    }

    /// The records of the run's exchange of kind `k`, in order.
    pub fn kind(&self, k: &str) -> Vec<Value> {
        self.venue().filter(|r| r["kind"] == k).cloned().collect()
    }

    /// True when some `status` record (of any exchange) has one of `events`.
    pub fn any_status(&self, events: &[&str]) -> bool {
        self.all
            .iter()
            .any(|r| r["kind"] == "status" && events.iter().any(|e| r["event"] == *e))
    }

    /// No `status` record has one of `events`.
    pub fn assert_no_status(&self, events: &[&str], why: &str) {
        assert!(!self.any_status(events), "{why}");
    }

    /// No `gap` status record.
    pub fn assert_no_gap(&self) {
        self.assert_no_status(&["gap"], "no gap");
    }

    /// Every record of the exchange is valid against its kind's schema and names
    /// `market`, `symbol` and `native`.
    pub fn check(&self, market: &str, symbol: &str, native: &str) {
        let schemas = SchemaValidator::new();
        for r in self.venue() {
            schemas.check(r);
            assert_eq!(
                (
                    r["market"].as_str(),
                    r["symbol"].as_str(),
                    r["native"].as_str()
                ),
                (Some(market), Some(symbol), Some(native)),
                "{r}"
            );
        }
    }
}

/// Exactly `expected` trades (`why` otherwise), of distinct ids, each a buy or a sell.
pub fn assert_trades(trades: &[Value], expected: usize, why: &str) {
    assert_eq!(trades.len(), expected, "{why}");
    let mut ids: Vec<&str> = trades.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "trade ids are distinct");
    assert!(trades
        .iter()
        .all(|t| t["side"] == "buy" || t["side"] == "sell"));
}

/// The book: a snapshot first, then every change chained to the record before it.
pub fn assert_chained(books: &[Value]) {
    assert!(!books.is_empty(), "book records");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    for pair in books.windows(2) {
        if pair[1]["snapshot"] == false {
            assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
        }
    }
}

/// The book: the snapshot first, then only changes, each chained to the one before.
pub fn assert_chained_from_one_snapshot(books: &[Value]) {
    assert!(!books.is_empty(), "book records");
    assert_eq!(books[0]["snapshot"], true, "{}", books[0]);
    for pair in books.windows(2) {
        assert_eq!(pair[1]["snapshot"], false, "{}", pair[1]);
        assert_eq!(pair[1]["prev_seq"], pair[0]["seq"], "{}", pair[1]);
    }
}

/// A capture served by `tickbridge replay` and bridged by `tickbridge run` with one
/// source to a file sink. Both processes are killed on drop.
pub struct VenueRun {
    exchange: String,
    out: PathBuf,
    bridge: Bridge,
    _replay: Replay,
    _dir: tempfile::TempDir,
}

impl VenueRun {
    /// Serves `capture` at full speed and starts the bridge on `source`.
    pub fn start(capture: &Path, source: Source<'_>) -> VenueRun {
        let replay = Replay::start(capture, "max");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let mut config = format!("[[source]]\nexchange = \"{}\"\n", source.exchange);
        if let Some(market) = source.market {
            config.push_str(&format!("market = \"{market}\"\n"));
        }
        config.push_str(&format!(
            "channels = {}\nsymbols = {}\nws_url = \"{}{}\"\nrest_url = \"{}\"\n{}\n{}",
            toml_list(source.channels),
            toml_list(source.symbols),
            replay.ws_url(),
            source.ws_path,
            replay.rest_url(),
            source.extra,
            source.sections,
        ));
        if !source.sections.is_empty() && !source.sections.ends_with("\n\n") {
            config.push('\n');
        }
        config.push_str(&format!(
            "[sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
            out.display()
        ));
        let bridge = Bridge::start(&config);
        VenueRun {
            exchange: source.exchange.to_string(),
            out,
            bridge,
            _replay: replay,
            _dir: dir,
        }
    }

    /// The records written so far.
    pub fn records(&self) -> Records {
        Records {
            exchange: self.exchange.clone(),
            all: read_jsonl(&self.out),
        }
    }

    /// Polls the records until `done` holds for them; panics with `what` after `timeout`.
    pub fn wait_until(&self, timeout: Duration, what: &str, done: impl Fn(&Records) -> bool) {
        wait_until(timeout, what, || done(&self.records()));
    }

    /// Stops the bridge (SIGTERM), asserts a clean exit, and returns every record
    /// it wrote with its shutdown summary.
    pub fn stop(mut self) -> (Records, Summary) {
        let (code, summary) = self.bridge.stop();
        assert_eq!(code, 0, "the bridge's exit code");
        (self.records(), summary)
    }
}

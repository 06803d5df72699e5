//! The real binary end to end: `tickbridge replay` serves a real Binance recording
//! over WebSockets on 127.0.0.1, `tickbridge run` consumes it into the file sink.
//!
//! The expected records are computed independently, in this process, by running the
//! library's Binance parser (planned exactly as the config asks) over the capture's
//! frames. The file must hold exactly those records, in order, with equal contents
//! (only `ts_recv`, the bridge's own receive time, differs), framed by the session's
//! status records: `connected` first, `subscribed`, `disconnected` (shutdown) last.
//!
//! Then SIGTERM mid-stream, at several points: exit code 0, the summary says lost 0,
//! and the file holds exactly the `delivered` records, whose data records are a prefix,
//! in order, of the expected ones.

mod common;

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::Value;
use tickbridge::capture::{Capture, EventKind};
use tickbridge_connectors::contract::{Channel, SourceRequest};
use tickbridge_schema::{Market, Record};

/// A spot capture with trades, bookTickers and depth diffs (41k frames, ~6 min).
const FULL_CAPTURE: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";
/// A smaller spot capture (15k frames over ~7 min), replayed 50x faster than recorded.
const MID_CAPTURE: &str = "hftbacktest/binance_btcusdt_20230405.jsonl.gz";
const MID_SPEED: &str = "50";

/// The records the library parser makes of the capture's frames, as JSON without
/// `ts_recv`, for a `binance` spot source with channels trade + bbo on BTC-USDT.
fn expected_records(path: &Path) -> Vec<Value> {
    let connector = tickbridge_connectors::connector("binance").unwrap();
    let request = SourceRequest {
        market: Market::Spot,
        channels: vec![Channel::Trade, Channel::Bbo],
        symbols: vec![connector.symbol(Market::Spot, "BTC-USDT").unwrap()],
        ws_url: "ws://unused".into(),
        rest_url: "http://unused".into(),
        books: Default::default(),
    };
    let plans = connector.plan(&request).unwrap();
    assert_eq!(plans.len(), 1);
    let mut parser = connector.parser(&plans[0]);
    let capture = Capture::read(path).unwrap();
    let mut records: Vec<Record> = Vec::new();
    for e in &capture.events {
        if let (EventKind::Recv, Some(text)) = (e.ev, e.text.as_deref()) {
            parser
                .parse(text, e.ts, &mut records)
                .unwrap_or_else(|err| panic!("the library parser refused a frame: {err}"));
        }
    }
    records
        .iter()
        .map(|r| without_ts_recv(serde_json::from_slice(&r.to_json()).unwrap()))
        .collect()
}

fn without_ts_recv(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("ts_recv");
    v
}

fn bridge_config(ws_url: &str, out: &Path) -> String {
    format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "{ws_url}"

[sink]
kind = "file"

[sink.file]
path = "{}"

[batch]
max_events = 500
linger = "5ms"

[ops]
listen = "127.0.0.1:0"
"#,
        out.display()
    )
}

/// Counts the lines of a growing file, reading only what was appended since the
/// last call.
struct LineCounter {
    path: PathBuf,
    offset: u64,
    lines: usize,
}

impl LineCounter {
    fn new(path: &Path) -> Self {
        LineCounter {
            path: path.to_path_buf(),
            offset: 0,
            lines: 0,
        }
    }

    fn count(&mut self) -> usize {
        if let Ok(mut f) = std::fs::File::open(&self.path) {
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(self.offset)).is_ok() && f.read_to_end(&mut buf).is_ok() {
                // Only whole lines: a batch may be half-written.
                if let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
                    self.lines += buf[..=last].iter().filter(|&&b| b == b'\n').count();
                    self.offset += last as u64 + 1;
                }
            }
        }
        self.lines
    }
}

/// Checks the file's records against `expected`; `complete` = all of them must be
/// there, else a strict prefix. Returns the number of data records.
fn check_file(records: &[Value], expected: &[Value], complete: bool) -> usize {
    let validator = SchemaValidator::new();
    records.iter().for_each(|r| validator.check(r));

    let (status, data): (Vec<&Value>, Vec<&Value>) =
        records.iter().partition(|r| r["kind"] == "status");
    // Status records frame the data: `connected` first, `disconnected` last, and
    // `subscribed` once the exchange confirmed the SUBSCRIBE request (the mock
    // exchange answers it in turn with the recorded frames, so some data may come
    // first, as it can from Binance).
    let events: Vec<&str> = status
        .iter()
        .map(|s| s["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["connected", "subscribed", "disconnected"],
        "status records: {status:?}"
    );
    assert_eq!(records[0]["event"], "connected");
    let last = records.last().unwrap();
    assert_eq!(last["event"], "disconnected", "last record: {last}");
    assert_eq!(last["reason"], "shutdown");
    for s in &status {
        assert_eq!(
            (&s["exchange"], &s["symbol"], &s["native"]),
            (
                &Value::from("binance"),
                &Value::from("BTC-USDT"),
                &Value::from("BTCUSDT")
            )
        );
    }

    if complete {
        assert_eq!(
            data.len(),
            expected.len(),
            "the file holds {} data records, the capture makes {}",
            data.len(),
            expected.len()
        );
    } else {
        assert!(
            data.len() < expected.len(),
            "SIGTERM came too late to be mid-stream ({} of {} records)",
            data.len(),
            expected.len()
        );
    }
    for (i, (got, want)) in data.iter().zip(expected).enumerate() {
        let got = without_ts_recv((*got).clone());
        assert_eq!(
            &got,
            want,
            "data record {i} differs from the expected one (of {})",
            expected.len()
        );
    }
    data.len()
}

#[test]
fn replay_to_file_holds_exactly_the_expected_records() {
    let path = capture(FULL_CAPTURE);
    let started = Instant::now();
    let replay = Replay::start(&path, "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let mut bridge = Bridge::start(&bridge_config(&replay.ws_url(), &out));
    // Computed while the bridge runs.
    let expected = expected_records(&path);
    assert!(expected.len() > 30_000, "{}", expected.len());

    let mut lines = LineCounter::new(&out);
    wait_until(
        Duration::from_secs(90),
        "every expected record in the file",
        || lines.count() >= expected.len() + 2,
    );
    let (code, summary) = bridge.stop();
    let records = read_jsonl(&out);
    assert_eq!(
        code,
        0,
        "exit code; logs:\n{}",
        bridge.log_lines().join("\n")
    );
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.dead_lettered, 0, "{summary:?}");
    assert_eq!(summary.received, summary.delivered, "{summary:?}");
    assert_eq!(summary.delivered, records.len() as u64, "{summary:?}");
    let n = check_file(&records, &expected, true);
    println!(
        "{FULL_CAPTURE}: {n} data records + 3 status records, exactly as expected, in {:?}",
        started.elapsed()
    );
}

#[test]
fn sigterm_mid_stream_loses_nothing_and_the_file_holds_what_was_delivered() {
    let path = capture(MID_CAPTURE);
    let expected = expected_records(&path);
    assert!(expected.len() > 10_000, "{}", expected.len());
    // Stop after this many lines arrived (the records keep flowing meanwhile).
    for stop_after in [200, expected.len() / 3, expected.len() * 2 / 3] {
        let started = Instant::now();
        let replay = Replay::start(&path, MID_SPEED);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let mut bridge = Bridge::start(&bridge_config(&replay.ws_url(), &out));
        let mut lines = LineCounter::new(&out);
        wait_until(
            Duration::from_secs(60),
            &format!("{stop_after} records in the file"),
            || lines.count() >= stop_after,
        );
        let (code, summary) = bridge.stop();
        let records = read_jsonl(&out);
        assert_eq!(
            code,
            0,
            "exit code after SIGTERM at {stop_after}; logs:\n{}",
            bridge.log_lines().join("\n")
        );
        assert_eq!(summary.lost, 0, "{summary:?}");
        assert_eq!(summary.dead_lettered, 0, "{summary:?}");
        assert_eq!(summary.received, summary.delivered, "{summary:?}");
        assert_eq!(
            summary.delivered,
            records.len() as u64,
            "the file must hold exactly the delivered records: {summary:?}"
        );
        let n = check_file(&records, &expected, false);
        assert!(n + 3 >= stop_after, "{n} data records");
        println!(
            "SIGTERM after {stop_after} lines: {n} of {} data records delivered, prefix ok, {:?}",
            expected.len(),
            started.elapsed()
        );
        drop(replay);
    }
}

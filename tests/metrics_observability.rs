//! The observability series of `/metrics` with the real binary: the `process_*`
//! collector, the freshness of each exchange × market × kind, the exchange-lag
//! histogram, and the renamed record counter (with its deprecated old name).
//!
//! The bridge reads `tickbridge replay` of the bundled `demo/coinbase.jsonl` capture
//! (9 trades, 4 tickers) into a file sink, so what the histogram must have counted is
//! known from the file: one observation per record that carries `ts_exchange`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{count_kinds, http_get, ops_addr, read_jsonl, Bridge, Replay};

const WAIT: Duration = Duration::from_secs(20);

fn demo_capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/coinbase.jsonl")
}

fn config(ws_url: &str, out: &Path) -> String {
    format!(
        r#"
[[source]]
exchange = "coinbase"
channels = ["trade", "bbo"]
symbols = ["BTC-USD"]
ws_url = "{ws_url}"

[sink]
kind = "file"
[sink.file]
path = "{}"

[batch]
linger = "5ms"

[ops]
listen = "127.0.0.1:0"
"#,
        out.display()
    )
}

/// Every sample of the exposition: series (name and labels, as written) → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|e| panic!("{l}: {e}")),
            };
            (series.to_string(), value)
        })
        .collect()
}

fn get(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn process_freshness_and_lag_series_have_fixed_labels_and_sane_values() {
    let started = now_seconds();
    let replay = Replay::start(&demo_capture(), "max");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let mut bridge = Bridge::start(&config(&replay.ws_url(), &out));
    let ops = ops_addr(&bridge);

    // Wait until the file holds the demo's records and the metrics agree with it.
    let mut last = String::new();
    let deadline = Instant::now() + WAIT;
    let (text, records) = loop {
        let records = read_jsonl(&out);
        let kinds = count_kinds(&records);
        let (_, text) = http_get(&ops, "/metrics").unwrap();
        let s = samples(&text);
        let acked = s
            .get("tickbridge_records_acked_total{sink=\"file\"}")
            .copied();
        if kinds.get("trade") == Some(&9)
            && kinds.get("bbo") == Some(&4)
            && acked == Some(records.len() as f64)
        {
            break (text, records);
        }
        assert!(Instant::now() < deadline, "never settled:\n{last}");
        last = text;
        std::thread::sleep(Duration::from_millis(20));
    };
    let s = samples(&text);

    // process_*: this process's numbers.
    let rss = get(&s, "process_resident_memory_bytes");
    let vsz = get(&s, "process_virtual_memory_bytes");
    assert!(rss > 0.0 && vsz >= rss, "rss {rss} vsz {vsz}");
    assert!(get(&s, "process_open_fds") >= 3.0);
    assert!(get(&s, "process_max_fds") >= get(&s, "process_open_fds"));
    assert!(get(&s, "process_cpu_seconds_total") >= 0.0);
    let start = get(&s, "process_start_time_seconds");
    assert!(
        start >= started - 2.0 && start <= now_seconds() + 1.0,
        "start {start}, test started {started}"
    );
    for (name, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("tickbridge_source_last_record_age_seconds", "gauge"),
        ("tickbridge_exchange_lag_seconds", "histogram"),
        ("tickbridge_records_batched_total", "counter"),
    ] {
        assert!(
            text.contains(&format!("\n# TYPE {name} {kind}\n")),
            "{name} {kind}"
        );
    }

    // Freshness per exchange × market × kind: the records just arrived.
    for kind in ["trade", "bbo"] {
        let age = get(
            &s,
            &format!(
                "tickbridge_source_last_record_age_seconds{{exchange=\"coinbase\",market=\"spot\",kind=\"{kind}\"}}"
            ),
        );
        assert!((0.0..10.0).contains(&age), "{kind}: age {age}");
    }
    // Only cells that saw a record: no other kind (book, ticker, ...) is listed.
    let kinds_seen: Vec<&String> = s
        .keys()
        .filter(|k| k.starts_with("tickbridge_source_last_record_age_seconds{"))
        .collect();
    let in_file = count_kinds(&records);
    assert_eq!(
        kinds_seen.len(),
        in_file.len(),
        "{kinds_seen:?} vs {in_file:?}"
    );

    // The lag histogram counts exactly the records that carry ts_exchange.
    let with_ts = records.iter().filter(|r| r["ts_exchange"].is_i64()).count() as f64;
    assert!(with_ts >= 13.0, "{with_ts}");
    let count = get(
        &s,
        "tickbridge_exchange_lag_seconds_count{exchange=\"coinbase\"}",
    );
    assert_eq!(count, with_ts);
    assert_eq!(
        get(
            &s,
            "tickbridge_exchange_lag_seconds_bucket{exchange=\"coinbase\",le=\"+Inf\"}"
        ),
        count
    );
    // The expected sum, from the records themselves (ts in ns).
    let expected: f64 = records
        .iter()
        .filter_map(|r| Some((r["ts_recv"].as_i64()? - r["ts_exchange"].as_i64()?).max(0)))
        .map(|ns| ns as f64 / 1e9)
        .sum();
    let sum = get(
        &s,
        "tickbridge_exchange_lag_seconds_sum{exchange=\"coinbase\"}",
    );
    assert!(
        (sum - expected).abs() <= 1e-6 * expected.max(1.0),
        "sum {sum}, expected {expected}"
    );
    // One label set per exchange of the config; no market or symbol labels.
    let lag_series: Vec<&String> = s
        .keys()
        .filter(|k| k.starts_with("tickbridge_exchange_lag_seconds_count"))
        .collect();
    assert_eq!(lag_series.len(), 1, "{lag_series:?}");

    // The renamed counter and its deprecated old name agree, kind by kind.
    for kind in ["trade", "bbo", "status"] {
        let labels = format!("{{exchange=\"coinbase\",market=\"spot\",kind=\"{kind}\"}}");
        let batched = get(&s, &format!("tickbridge_records_batched_total{labels}"));
        let old = get(&s, &format!("tickbridge_records_received_total{labels}"));
        assert_eq!(batched, old, "{kind}");
        assert_eq!(batched, *in_file.get(kind).unwrap_or(&0) as f64, "{kind}");
    }
    assert!(text.contains("# HELP tickbridge_records_received_total Deprecated: "));

    // Label cardinality stays fixed: never a symbol.
    assert!(!text.contains("symbol="), "{text}");
    assert!(!text.contains("BTC-USD"), "{text}");

    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs: {:?}", bridge.log_lines());
    assert_eq!(summary.lost, 0);
}

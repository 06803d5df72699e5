//! The smallest end-to-end check: the bundled demo runs offline through the whole
//! pipeline and its records are valid schema v1.

mod common;

use std::time::Duration;

use common::{bin, count_kinds, SchemaValidator};

#[test]
fn demo_runs_offline_and_emits_valid_records() {
    let out = std::process::Command::new(bin())
        .args(["--log-format", "json", "demo"])
        .output()
        .expect("running tickbridge demo");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout holds only JSON records"))
        .collect();
    let validator = SchemaValidator::new();
    records.iter().for_each(|r| validator.check(r));
    let kinds = count_kinds(&records);
    // The bundled captures hold 10 Binance trades + 10 bookTickers and 9 Coinbase
    // matches (1 last_match + 8) + 4 tickers.
    assert_eq!(kinds.get("trade"), Some(&19), "{kinds:?}");
    assert_eq!(kinds.get("bbo"), Some(&14), "{kinds:?}");
    let logs = String::from_utf8(out.stderr).unwrap();
    let summary = logs
        .lines()
        .rev()
        .find(|l| l.contains("summary:"))
        .expect("summary line");
    let summary: serde_json::Value = serde_json::from_str(summary).unwrap();
    assert_eq!(summary["lost"], 0);
    assert_eq!(summary["delivered"].as_u64(), Some(records.len() as u64));
    assert_eq!(summary["clean"], true, "{summary}");
    // Every line is one JSON object with a timestamp, a level and a message.
    for l in logs.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string() && v["message"].is_string(),
            "{l}"
        );
    }
    let _ = Duration::ZERO;
}

//! Deterministic fuzzing of every registered connector's frame parser, in `cargo test`
//! (and so in CI): real frames from the capture corpus (plus a few hand-written frames
//! of the current APIs the corpus predates) are mutated by a seeded generator — bit
//! flips, truncation, splices of other frames, JSON-significant bytes, numbers swapped
//! for extremes, deep nesting, type confusion — and fed, in streams, to long-lived
//! parsers (books and sequence state included). No input may panic or take long; every
//! outcome (records, errors) is fine.
//!
//! Nothing here names an exchange: every connector of `connectors()` is fuzzed on every
//! market it supports (`fuzzing::parser`), with the recorded frames of the connections
//! whose URL it claims (`fuzzing::connector_for_capture_url`, as the corpus tests pick
//! parsers) and the hand-written frames of every exchange (its own reach its deep
//! paths; the others' are near-miss inputs). A connector added to the registry is
//! fuzzed without an edit here.
//!
//! Bounded: `FUZZ_ITERATIONS` mutated frames per parser (default 6000) and a time cap
//! per connector; `FUZZ_SEED` picks another seed (the failing seed and input are
//! printed, and the input written to `target/fuzz-failure-<exchange>.txt`, to
//! reproduce). The coverage-guided counterpart is the cargo-fuzz crate in `fuzz/`
//! (nightly, not in CI).

mod common;

use common::captures_dir;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tickbridge_connectors::{connectors, fuzzing, Connector};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Frames taken from one recording for each connector that claims a connection of it.
const PER_RECORDING: usize = 300;

/// A recording whose first this-many events open no connection a registered connector
/// claims is not read further (connections open at the start of a capture).
const UNCLAIMED_EVENTS: usize = 2000;

/// Every recording of the corpus, sorted.
fn recordings(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for sub in ["cryptofeed", "hftbacktest"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        files.extend(
            entries
                .map_while(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz")),
        );
    }
    files.sort();
    files
}

/// Recorded frames by connector name: from every recording, for each connection the
/// registered connector claiming its URL, up to [`PER_RECORDING`] of its text frames
/// (`recv`), with the recording's REST bodies (as `#rest ` lines) in their place.
fn recorded() -> &'static HashMap<&'static str, Vec<String>> {
    static RECORDED: OnceLock<HashMap<&'static str, Vec<String>>> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let mut out: HashMap<&'static str, Vec<String>> = HashMap::new();
        for path in recordings(&captures_dir()) {
            for (name, frames) in recording_frames(&path) {
                out.entry(name).or_default().extend(frames);
            }
        }
        out
    })
}

/// The frames of one recording per connector claiming one of its connections.
fn recording_frames(path: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let Ok(file) = std::fs::File::open(path) else {
        return out;
    };
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut claimed: HashMap<u64, &'static str> = HashMap::new();
    for (n, line) in reader.lines().skip(1).map_while(Result::ok).enumerate() {
        if claimed.is_empty() && n >= UNCLAIMED_EVENTS {
            break;
        }
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let conn = event["conn"].as_u64().unwrap_or(0);
        match (event["ev"].as_str(), event["text"].as_str()) {
            (Some("open"), _) => {
                let url = event["url"].as_str().unwrap_or_default();
                if let Some((c, _)) = fuzzing::connector_for_capture_url(url) {
                    claimed.insert(conn, c.name());
                    out.entry(c.name()).or_default();
                }
            }
            (Some("recv"), Some(text)) => {
                if let Some(frames) = claimed.get(&conn).and_then(|c| out.get_mut(c)) {
                    if frames.len() < PER_RECORDING {
                        frames.push(text.to_string());
                    }
                }
            }
            // Snapshot bodies only: other REST answers (instrument lists) are huge.
            (Some("http"), Some(text)) if text.len() < 200_000 => {
                for frames in out.values_mut().filter(|f| f.len() < PER_RECORDING) {
                    frames.push(format!("#rest {text}"));
                }
            }
            _ => {}
        }
        if !out.is_empty() && out.values().all(|f| f.len() >= PER_RECORDING) {
            break;
        }
    }
    out
}

/// Seed frames of the current APIs the corpus predates (Kraken v2, Bybit v5, OKX with
/// `seqId`, Coinbase Advanced Trade), from the exchanges' docs. Every parser gets all of
/// them: its own build state (acks, a snapshot then updates), the others' are near-miss
/// inputs.
const HANDWRITTEN: &[&str] = &[
    // Kraken v2
    r#"{"channel":"status","type":"update","data":[{"version":"2.0.0","system":"online","api_version":"v2","connection_id":1,"type":"update"}]}"#,
    r#"{"method":"subscribe","result":{"channel":"trade","symbol":"BTC/USD","snapshot":true},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z","req_id":1}"#,
    r#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":26389.5,"qty":0.00031,"ord_type":"market","trade_id":61919211,"timestamp":"2023-09-25T09:04:31.742651Z"}]}"#,
    r#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":26392.2,"qty":0.5}],"asks":[{"price":26392.3,"qty":1.2}],"checksum":2439117997}]}"#,
    r#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":26392.1,"qty":0.1}],"asks":[],"checksum":1234,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#,
    r#"{"channel":"heartbeat"}"#,
    r#"{"method":"pong","req_id":0,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#,
    r#"{"error":"Currency pair not supported XYZ/USD","method":"subscribe","req_id":1,"success":false,"symbol":"XYZ/USD","time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}"#,
    // Bybit v5
    r#"{"success":true,"ret_msg":"subscribe","conn_id":"2324d924","req_id":"1","op":"subscribe"}"#,
    r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817","req_id":"","op":"ping"}"#,
    r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}"#,
    r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#,
    r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1672304484979,"data":{"s":"BTCUSDT","b":[["16493.50","0"]],"a":[["16612.00","0.1"]],"u":18521289,"seq":7961638725},"cts":1672304484977}"#,
    r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"16597.00","fundingRate":"0.0001","markPrice":"16597.5"},"cs":24987956059,"ts":1673272861686}"#,
    r#"{"success":false,"ret_msg":"error:handler not found,topic:orderbook.50.XYZUSDT","conn_id":"a","req_id":"2","op":"subscribe"}"#,
    // OKX v5 with seqId
    r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#,
    r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3"}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":0,"prevSeqId":-1,"seqId":123456}]}"#,
    r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8476.98","0","0","0"]],"bids":[],"ts":"1597026383086","checksum":0,"prevSeqId":123456,"seqId":123457}]}"#,
    r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#,
    r#"{"event":"error","code":"60018","msg":"Wrong URL or channel:trades,instId:XYZ-USDT doesn't exist","connId":"a4d3ae55"}"#,
    "pong",
    // Coinbase Advanced Trade
    r#"{"channel":"subscriptions","client_id":"","timestamp":"2023-02-09T20:32:37.537Z","sequence_num":0,"events":[{"subscriptions":{"market_trades":["BTC-USD"]}}]}"#,
    r#"{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":1,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"BTC-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}"#,
    r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":2,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"1970-01-01T00:00:00Z","price_level":"21921.3","new_quantity":"0.02"}]}]}"#,
    r#"{"channel":"ticker","client_id":"","timestamp":"2023-02-09T20:30:37.167359596Z","sequence_num":3,"events":[{"type":"snapshot","tickers":[{"type":"ticker","product_id":"BTC-USD","price":"21932.98","volume_24_h":"16038.28770938","best_bid":"21931.5","best_ask":"21933.1"}]}]}"#,
    r#"{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":4,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105","heartbeat_counter":"3049"}]}"#,
    r#"{"type":"error","message":"Failed to subscribe","reason":"XYZ-USD is not a valid product"}"#,
];

/// Recorded frames of every other connector given to each parser as near-miss inputs
/// (another exchange's shapes, or another API of the same one).
const NEAR_MISS: usize = 20;

/// The corpus of one connector: the hand-written frames, the recorded frames of the
/// connections it claims, then the first [`NEAR_MISS`] recorded frames of every other
/// registered connector.
fn corpus(connector: &dyn Connector) -> Vec<String> {
    let mut frames: Vec<String> = HANDWRITTEN.iter().map(|s| s.to_string()).collect();
    if let Some(own) = recorded().get(connector.name()) {
        frames.extend(own.iter().cloned());
    }
    for other in connectors().iter().filter(|c| c.name() != connector.name()) {
        if let Some(theirs) = recorded().get(other.name()) {
            frames.extend(theirs.iter().take(NEAR_MISS).cloned());
        }
    }
    frames
}

const EXTREMES: [&str; 12] = [
    "0",
    "-1",
    "18446744073709551616",
    "-9223372036854775809",
    "1e308",
    "1e-400",
    "NaN",
    "\"\"",
    "null",
    "[]",
    "{}",
    "\"0.000000000000000000000000000000000000001\"",
];

/// One mutation of `frame` (other corpus frames feed splices).
fn mutate(rng: &mut Rng, frame: &str, corpus: &[String]) -> String {
    let mut bytes = frame.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = bytes.len().max(1);
        match rng.below(10) {
            // Bit flip.
            0 => {
                let i = rng.below(len);
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            // Truncate.
            1 => bytes.truncate(rng.below(len)),
            // Delete a slice.
            2 => {
                let a = rng.below(len);
                let b = (a + rng.below(32)).min(bytes.len());
                if a < b {
                    bytes.drain(a..b);
                }
            }
            // Insert JSON-significant bytes.
            3 => {
                let i = rng.below(len).min(bytes.len());
                let sig = b"{}[]\":,\\-.eE0 ";
                bytes.insert(i, sig[rng.below(sig.len())]);
            }
            // Replace a number with an extreme.
            4 => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let digits: Vec<usize> = text
                    .char_indices()
                    .filter(|(_, c)| c.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                if !digits.is_empty() {
                    let start = digits[rng.below(digits.len())];
                    let end = text[start..]
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .map_or(text.len(), |e| start + e);
                    let extreme = EXTREMES[rng.below(EXTREMES.len())];
                    bytes = format!("{}{}{}", &text[..start], extreme, &text[end..]).into_bytes();
                }
            }
            // Splice the tail of another frame.
            5 => {
                let other = corpus[rng.below(corpus.len())].as_bytes();
                let at = rng.below(len).min(bytes.len());
                let from = rng.below(other.len().max(1)).min(other.len());
                bytes.truncate(at);
                bytes.extend_from_slice(&other[from..]);
            }
            // Deep nesting.
            6 => {
                let depth = 1 + rng.below(4000);
                let mut nested = "[".repeat(depth).into_bytes();
                nested.extend_from_slice(&bytes);
                nested.extend(std::iter::repeat_n(b']', rng.below(depth + 1)));
                bytes = nested;
            }
            // Type confusion: a string value's quotes removed, or a value quoted.
            7 => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                bytes = if rng.below(2) == 0 {
                    text.replacen("\":\"", "\":", 1 + rng.below(3)).into_bytes()
                } else {
                    text.replacen("\":", "\":\"", 1 + rng.below(3)).into_bytes()
                };
            }
            // Duplicate a slice (repeated keys, doubled arrays).
            8 => {
                let a = rng.below(len).min(bytes.len());
                let b = (a + rng.below(64)).min(bytes.len());
                let slice = bytes[a..b].to_vec();
                let at = rng.below(len).min(bytes.len());
                bytes.splice(at..at, slice);
            }
            // Random bytes (invalid UTF-8 becomes U+FFFD, as a lossy reader would).
            _ => {
                let i = rng.below(len).min(bytes.len());
                let n = rng.below(8);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                bytes.splice(i..i, junk);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Fuzzes one connector's parsers (one per market); returns how many inputs ran.
fn fuzz(connector: &dyn Connector, seed: u64, iterations: usize, budget: Duration) -> usize {
    let corpus = corpus(connector);
    let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15 ^ connector.name().len() as u64);
    let mut ran = 0;
    let started = Instant::now();
    let markets = connector.supported();
    assert!(!markets.is_empty(), "{}: no market", connector.name());
    let mut records = Vec::new();
    for (market, (name, _)) in markets.iter().enumerate() {
        let mut parser = fuzzing::parser(connector, market).unwrap_or_else(|| {
            panic!(
                "{}: no parser could be planned for {}",
                connector.name(),
                name.as_str()
            )
        });
        // The unmutated corpus first: real streams must go through.
        records.push(fuzzing::run(parser.as_mut(), &corpus.join("\n")));
        // Then streams of mutated frames, mixed with intact ones so state builds up.
        let mut i = 0;
        while i < iterations && started.elapsed() < budget {
            let mut script = Vec::new();
            for _ in 0..8 {
                let frame = &corpus[rng.below(corpus.len())];
                script.push(if rng.below(3) == 0 {
                    frame.clone()
                } else {
                    mutate(&mut rng, frame, &corpus)
                });
            }
            let script = script.join("\n");
            let t = Instant::now();
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                fuzzing::run(parser.as_mut(), &script)
            }));
            if let Err(panic) = result {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("../target/fuzz-failure-{}.txt", connector.name()));
                let _ = std::fs::write(&file, &script);
                // The quiet hook of the test would swallow this report.
                let _ = std::panic::take_hook();
                panic!(
                    "{} parser panicked ({why}) with seed {seed} at iteration {i}; input written to {}:\n{}",
                    connector.name(),
                    file.display(),
                    script.chars().take(2000).collect::<String>()
                );
            }
            if t.elapsed() >= Duration::from_secs(2) {
                let _ = std::panic::take_hook();
            }
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "{}: one input of {} bytes took {:?}",
                connector.name(),
                script.len(),
                t.elapsed()
            );
            i += 8;
            ran += 8;
        }
    }
    println!(
        "{}: {} corpus frames ({} recorded of its own), records per market {records:?}, {ran} mutated inputs",
        connector.name(),
        corpus.len(),
        recorded().get(connector.name()).map_or(0, Vec::len),
    );
    ran
}

#[test]
fn no_frame_panics_or_stalls_any_parser() {
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_125);
    let iterations = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6000);
    // Keep the default run quiet: parsers log nothing, panics are caught and reported.
    std::panic::set_hook(Box::new(|_| {}));
    let mut total = 0;
    for connector in connectors() {
        total += fuzz(*connector, seed, iterations, Duration::from_secs(20));
    }
    let _ = std::panic::take_hook();
    assert!(total > 0);
}

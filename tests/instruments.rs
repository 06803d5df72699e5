//! The exchange's own truth, through the real binary against `tickbridge replay`:
//! symbols are resolved against the instrument list the capture recorded (Binance's
//! `exchangeInfo`), an unlisted symbol is refused with the closest listed ones before
//! anything connects, `validate` prints every resolved symbol, the subscribed
//! instruments are published as schema-valid `instrument` records, a list that cannot
//! be had refuses the start (or runs unverified when told to), and USD-M streams are
//! requested on their routed endpoints.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{bin, capture, read_jsonl, wait_until, Bridge, Replay, SchemaValidator};

/// The Binance spot recording with its `exchangeInfo` (NKNUSDT, BLZETH, LRCBTC, RUNEEUR
/// traded in it).
const BINANCE: &str = "cryptofeed/binance.jsonl.gz";

fn config(replay: &Replay, symbols: &str, extra: &str, cache: &Path) -> String {
    format!(
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = {symbols}\n\
         ws_url = \"{}\"\nrest_url = \"{}\"\n\n[instruments]\ncache_dir = \"{}\"\ntimeout = \"5s\"\n{extra}\n",
        replay.ws_url(),
        replay.rest_url(),
        cache.display()
    )
}

/// `tickbridge validate` of `text`: exit code, stdout, stderr.
fn validate(text: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(bin())
        .args(["validate", "--config"])
        .arg(&path)
        .env_remove("TICKBRIDGE_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        common::messages(&String::from_utf8(out.stderr).unwrap()),
    )
}

#[test]
fn validate_prints_every_resolved_symbol_from_the_exchange_list() {
    let replay = Replay::start(&capture(BINANCE), "max");
    let cache = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = validate(&config(
        &replay,
        r#"["NKN-USDT", "blzeth", "LRC-BTC"]"#,
        "",
        cache.path(),
    ));
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let listed = lines
        .iter()
        .find(|l| l.starts_with("source[0] binance spot: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        listed.ends_with(" instruments listed by the exchange"),
        "{listed}"
    );
    for expected in [
        "  NKNUSDT -> NKN-USDT (spot)",
        "  BLZETH -> BLZ-ETH (spot)",
        "  LRCBTC -> LRC-BTC (spot)",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected:?} missing in\n{stdout}"
        );
    }
    // The list is cached; with the exchange gone, the cache is used (and said).
    let cached: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let text = config(
        &replay,
        r#"["NKN-USDT"]"#,
        "cache_ttl = \"0s\"",
        cache.path(),
    );
    drop(replay);
    let (code, stdout, stderr) = validate(&text);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(" instruments from the cache ("), "{stdout}");
    assert!(
        stderr.contains("the instrument list cannot be fetched; using the cached one"),
        "{stderr}"
    );
    assert!(stdout.contains("  NKNUSDT -> NKN-USDT (spot)"), "{stdout}");
}

#[test]
fn an_unlisted_symbol_is_refused_with_the_closest_listed_ones() {
    let replay = Replay::start(&capture(BINANCE), "max");
    let cache = tempfile::tempdir().unwrap();
    let text = config(&replay, r#"["NKN-USDX"]"#, "", cache.path());
    let (code, stdout, stderr) = validate(&text);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stderr.contains(
            "source[0].symbols[0]: binance lists no spot instrument \"NKN-USDX\"; closest: NKN-USDT (NKNUSDT)"
        ),
        "{stderr}"
    );
    // `run` refuses the same way, before connecting.
    let mut bridge = Bridge::start(&text);
    assert_eq!(bridge.wait(Duration::from_secs(20)), 2);
    assert!(bridge.logged("binance lists no spot instrument \"NKN-USDX\"; closest: NKN-USDT"));
    assert!(
        !replay.logs().iter().any(|l| l.contains("client connected")),
        "nothing connected"
    );
}

#[test]
fn the_subscribed_instruments_are_published_as_records() {
    let replay = Replay::start(&capture(BINANCE), "max");
    let cache = tempfile::tempdir().unwrap();
    let out = cache.path().join("out.jsonl");
    let text = format!(
        "{}[sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
        config(&replay, r#"["NKN-USDT", "BLZ-ETH"]"#, "", cache.path()),
        out.display()
    );
    let mut bridge = Bridge::start(&text);
    let records = || -> Vec<serde_json::Value> {
        if out.exists() {
            read_jsonl(&out)
        } else {
            Vec::new()
        }
    };
    wait_until(Duration::from_secs(20), "instrument records", || {
        records()
            .iter()
            .filter(|r| r["kind"] == "instrument")
            .count()
            >= 2
    });
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);
    let all = records();
    let schemas = SchemaValidator::new();
    let instruments: Vec<_> = all.iter().filter(|r| r["kind"] == "instrument").collect();
    assert_eq!(instruments.len(), 2, "{instruments:?}");
    for r in &instruments {
        schemas.check(r);
    }
    let nkn = instruments
        .iter()
        .find(|r| r["native"] == "NKNUSDT")
        .expect("NKNUSDT");
    assert_eq!(nkn["symbol"], "NKN-USDT");
    assert_eq!(nkn["base"], "NKN");
    assert_eq!(nkn["quote"], "USDT");
    assert_eq!(nkn["status"], "trading");
    assert!(
        nkn["tick_size"].is_string() && nkn["lot_size"].is_string(),
        "{nkn}"
    );
    assert!(nkn["id"]
        .as_str()
        .unwrap()
        .starts_with("binance.spot.NKN-USDT.instrument."));
}

#[test]
fn an_unavailable_list_refuses_the_start_unless_told_to_run_unverified() {
    // No exchangeInfo in this recording: the replay answers 404.
    let replay = Replay::start(
        &capture("hftbacktest/binance_btcusdt_20240808.jsonl.gz"),
        "max",
    );
    let cache = tempfile::tempdir().unwrap();
    let (code, _, stderr) = validate(&config(&replay, r#"["BTC-USDT"]"#, "", cache.path()));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("source[0] (binance spot): the instrument list cannot be fetched (GET ")
            && stderr
                .contains("/api/v3/exchangeInfo: HTTP 404 Not Found) and no cached copy exists")
            && stderr.contains("on_unavailable = \"unverified\""),
        "{stderr}"
    );
    let (code, stdout, stderr) = validate(&config(
        &replay,
        r#"["BTC-USDT"]"#,
        "on_unavailable = \"unverified\"",
        cache.path(),
    ));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("source[0] binance spot: UNVERIFIED symbols: GET "),
        "{stdout}"
    );
    assert!(stdout.contains("  BTCUSDT -> BTC-USDT (spot)"), "{stdout}");
}

#[test]
fn usdm_streams_are_requested_on_their_routed_paths() {
    let replay = Replay::start(
        &capture("hftbacktest/binance-usdm_btcusdt_20240808.jsonl.gz"),
        "1",
    );
    let text = format!(
        "[[source]]\nexchange = \"binance-usdm\"\nmarket = \"perp\"\nchannels = [\"trade\", \"bbo\", \"mark_price\"]\n\
         symbols = [\"BTC-USDT-PERP\"]\nws_url = \"{}\"\nrest_url = \"{}\"\n[sink]\nkind = \"null\"\n",
        replay.ws_url(),
        replay.rest_url()
    );
    let mut bridge = Bridge::start(&text);
    let frames = || -> Vec<String> {
        replay
            .logs()
            .into_iter()
            .filter(|l| l.contains("client frame"))
            .collect()
    };
    wait_until(Duration::from_secs(20), "two subscriptions", || {
        frames().len() >= 2
    });
    let connected: Vec<String> = replay
        .logs()
        .into_iter()
        .filter(|l| l.contains("client connected"))
        .collect();
    bridge.stop();
    let paths: Vec<&str> = ["/public/stream", "/market/stream"]
        .into_iter()
        .filter(|p| {
            connected
                .iter()
                .any(|l| l.contains(&format!("\"path\":\"{p}\"")))
        })
        .collect();
    assert_eq!(paths, ["/public/stream", "/market/stream"], "{connected:?}");
    let all = frames().join("\n");
    assert!(
        all.contains(r#"btcusdt@trade"#) && all.contains("btcusdt@bookTicker"),
        "{all}"
    );
    assert!(all.contains("btcusdt@markPrice@1s"), "{all}");
}

#[test]
fn record_keeps_the_instrument_list_it_resolved_against() {
    let replay = Replay::start(&capture(BINANCE), "1");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("record.toml");
    std::fs::write(&cfg, config(&replay, r#"["NKN-USDT"]"#, "", dir.path())).unwrap();
    let out = dir.path().join("cap-{exchange}.jsonl.gz");
    let status = Command::new(bin())
        .args(["--log-format", "json", "record", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .args(["--duration", "2s"])
        .env_remove("TICKBRIDGE_CONFIG")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let written = tickbridge::capture::Capture::read(&dir.path().join("cap-binance.jsonl.gz"))
        .expect("the capture");
    let lists: Vec<_> = written
        .events
        .iter()
        .filter(|e| {
            e.url
                .as_deref()
                .is_some_and(|u| u.ends_with("/api/v3/exchangeInfo"))
        })
        .collect();
    assert_eq!(lists.len(), 1, "one instrument list recorded");
    let body = lists[0].text.as_deref().unwrap();
    assert!(body.contains("\"symbol\":\"NKNUSDT\""), "the recorded body");
}

#[test]
fn gemini_symbols_are_checked_against_their_own_details() {
    // Gemini publishes reference data one symbol at a time: a source's symbols are
    // each fetched from `/v1/symbols/details/{symbol}` (recorded in the capture).
    let replay = Replay::start(&capture("cryptofeed/gemini.jsonl.gz"), "max");
    let cache = tempfile::tempdir().unwrap();
    let text = config(&replay, r#"["FIL-USD", "btcusd"]"#, "", cache.path())
        .replace("exchange = \"binance\"", "exchange = \"gemini\"");
    let (code, stdout, stderr) = validate(&text);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let listed = lines
        .iter()
        .find(|l| l.starts_with("source[0] gemini spot: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        listed.ends_with(" instruments listed by the exchange"),
        "{listed}"
    );
    for expected in ["  FILUSD -> FIL-USD (spot)", "  BTCUSD -> BTC-USD (spot)"] {
        assert!(
            lines.contains(&expected),
            "{expected:?} missing in\n{stdout}"
        );
    }
    // A symbol Gemini has no details for refuses the start, naming the request.
    let text = config(&replay, r#"["ZZZ-USD"]"#, "", cache.path())
        .replace("exchange = \"binance\"", "exchange = \"gemini\"");
    let (code, _, stderr) = validate(&text);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/v1/symbols/details/zzzusd"), "{stderr}");
}

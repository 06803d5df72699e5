//! Resilience of exchange connections, end to end: the real `tickbridge` binary against
//! the mock exchange (`tickbridge replay --live`) misbehaving on purpose — dropped
//! connections, quiet feeds, dead sockets, refused subscriptions, garbage and oversized
//! frames, close codes, slow handshakes, late confirmations, forced rotation.
//!
//! Every test replays the real Binance BTCUSDT recording at recorded speed (~28
//! trades/s, ~80 bookTickers/s) into the file sink, with short configured heartbeat
//! intervals (hundreds of milliseconds), and asserts on what a consumer sees: the
//! exact status records per symbol, trade ids (complete, unique), the subscribe
//! requests the mock received (from its `client frame` log lines), and the bridge's
//! `source counters` shutdown line. Waits poll for an observable condition; no test
//! sleeps for a fixed long time.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{capture, wait_until, Bridge, Replay, SchemaValidator, Summary};
use serde_json::Value;

const BTC: &str = "hftbacktest/binance_btcusdt_20240808.jsonl.gz";
const SUBSCRIBE_BTC: &str =
    r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker"]}"#;

/// A bridge reading `symbols` from the mock into a file, with short heartbeat
/// intervals; `extra` lines (`key = value`) override or extend `[connection]`.
fn config(replay: &Replay, out: &Path, exchange: &str, symbols: &[&str], extra: &str) -> String {
    let symbols: Vec<String> = symbols.iter().map(|s| format!("{s:?}")).collect();
    let mut connection: BTreeMap<&str, &str> = [
        ("reconnect_min", "\"100ms\""),
        ("reconnect_max", "\"400ms\""),
        ("connect_timeout", "\"2s\""),
        ("ping_interval", "\"200ms\""),
        ("pong_timeout", "\"1s\""),
        ("idle_timeout", "\"2s\""),
        ("stale_after", "\"1s\""),
        ("subscribe_timeout", "\"2s\""),
    ]
    .into_iter()
    .collect();
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        let (k, v) = line.split_once('=').expect("key = value");
        connection.insert(k.trim(), v.trim());
    }
    let connection: Vec<String> = connection
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!(
        r#"
[[source]]
exchange = "{exchange}"
channels = ["trade", "bbo"]
symbols = [{symbols}]
ws_url = "{ws}"

[sink]
kind = "file"
[sink.file]
path = "{out}"

[batch]
linger = "5ms"

[ops]
listen = ""

[connection]
{connection}
"#,
        symbols = symbols.join(", "),
        exchange = exchange,
        ws = replay.ws_url(),
        out = out.display(),
        connection = connection.join("\n"),
    )
}

/// One test's mock exchange, bridge and output file.
struct Rig {
    replay: Replay,
    bridge: Bridge,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// The Binance BTCUSDT recording at recorded speed, live, with `replay_args`.
    fn start(replay_args: &[&str], symbols: &[&str], extra: &str) -> Rig {
        Rig::start_on(BTC, "binance", replay_args, symbols, extra)
    }

    fn start_on(
        recording: &str,
        exchange: &str,
        replay_args: &[&str],
        symbols: &[&str],
        extra: &str,
    ) -> Rig {
        let mut args = vec!["--live"];
        args.extend_from_slice(replay_args);
        let replay = Replay::start_with(&capture(recording), "1", &args);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let bridge = Bridge::start(&config(&replay, &out, exchange, symbols, extra));
        Rig {
            replay,
            bridge,
            out,
            _dir: dir,
        }
    }

    /// The sink's records so far (a line the sink is still writing is left out).
    fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n') && !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Waits until the sink holds a record satisfying `f`.
    fn wait_for_record(&self, timeout: Duration, what: &str, f: impl Fn(&Value) -> bool) {
        wait_until(timeout, what, || self.records().iter().any(&f));
    }

    /// Waits until `symbol` was subscribed `times` times.
    fn wait_subscribed(&self, symbol: &str, times: usize, timeout: Duration) {
        let what = format!("{symbol} subscribed {times} times");
        self.wait_for_record(timeout, &what, |_| {
            events(&self.statuses(symbol))
                .iter()
                .filter(|e| **e == "subscribed")
                .count()
                == times
        });
    }

    /// Status events of `symbol`, in sink order, with their reasons.
    fn statuses(&self, symbol: &str) -> Vec<(String, String)> {
        self.records()
            .iter()
            .filter(|r| r["kind"] == "status" && r["symbol"] == symbol)
            .map(|r| {
                (
                    r["event"].as_str().unwrap_or_default().to_string(),
                    r["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The text frames each mock client received from the bridge, by client number.
    fn client_frames(&self) -> BTreeMap<u64, Vec<String>> {
        let mut by_client: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for line in self.replay_logs() {
            if line["message"] == "client connected" {
                by_client
                    .entry(line["client"].as_u64().unwrap())
                    .or_default();
            }
            if line["message"] == "client frame" {
                by_client
                    .entry(line["client"].as_u64().unwrap())
                    .or_default()
                    .push(line["text"].as_str().unwrap().to_string());
            }
        }
        by_client
    }

    fn replay_logs(&self) -> Vec<Value> {
        self.replay
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn clients(&self) -> usize {
        self.replay_logs()
            .iter()
            .filter(|l| l["message"] == "client connected")
            .count()
    }

    /// SIGTERM; checks the clean exit, that nothing was lost, that every acknowledged
    /// record is in the file, that records are schema-valid and the bridge never
    /// panicked; returns the source's counters.
    fn stop(&mut self) -> BTreeMap<String, u64> {
        let (code, summary) = self.bridge.stop();
        let logs = self.bridge.log_lines().join("\n");
        assert_eq!(code, 0, "bridge exit code; logs:\n{logs}");
        assert!(!logs.contains("panicked"), "the bridge panicked:\n{logs}");
        let records = self.records();
        assert_eq!(
            summary,
            Summary {
                received: records.len() as u64,
                delivered: records.len() as u64,
                dead_lettered: 0,
                lost: 0
            },
            "every record received was acknowledged and is in the file"
        );
        let validator = SchemaValidator::new();
        records.iter().for_each(|r| validator.check(r));
        let line = self
            .bridge
            .logs()
            .into_iter()
            .find(|l| l["message"] == "source counters")
            .expect("a source counters line");
        // A JSON object in the log line (a structured field).
        let counters = &line["counters"];
        serde_json::from_value(counters.clone())
            .unwrap_or_else(|e| panic!("counters {counters}: {e}"))
    }
}

fn events(statuses: &[(String, String)]) -> Vec<&str> {
    statuses.iter().map(|(e, _)| e.as_str()).collect()
}

/// The statuses of a connection re-opened once, then stopped; returns the reason of
/// the first disconnect.
fn reopened_once(statuses: &[(String, String)]) -> &str {
    assert_eq!(
        events(statuses),
        [
            "connected",
            "subscribed",
            "disconnected",
            "connected",
            "subscribed",
            "disconnected"
        ],
        "{statuses:?}"
    );
    &statuses[2].1
}

/// Trade ids of one symbol in sink order.
fn trade_ids(records: &[Value], symbol: &str) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r["kind"] == "trade" && r["symbol"] == symbol)
        .map(|r| r["trade_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Trade ids in the first `n` frames of the recording.
fn recorded_trades(n: usize) -> Vec<u64> {
    let capture = tickbridge::capture::Capture::read(&capture(BTC)).unwrap();
    capture
        .events
        .iter()
        .filter(|e| e.ev == tickbridge::capture::EventKind::Recv)
        .take(n)
        .filter_map(|e| e.text.as_deref())
        .filter(|t| t.contains("@trade"))
        .map(|t| {
            serde_json::from_str::<Value>(t).unwrap()["data"]["t"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn assert_unique(ids: &[u64]) {
    let unique: HashSet<&u64> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate trade ids");
}

#[test]
fn dropped_connection_reconnects_resubscribes_and_keeps_what_was_acknowledged() {
    let mut rig = Rig::start(&["--drop-after", "300"], &["BTC-USDT"], "");
    // The second connection is subscribed and trades flow again.
    wait_until(Duration::from_secs(20), "a resubscription", || {
        rig.client_frames().get(&1).is_some_and(|f| !f.is_empty())
    });
    let first_after = recorded_trades(300).last().copied().unwrap();
    rig.wait_for_record(Duration::from_secs(10), "trades after the reconnect", |r| {
        r["kind"] == "trade"
            && r["trade_id"].as_str().unwrap().parse::<u64>().unwrap() > first_after + 20
    });
    let counters = rig.stop();

    let statuses = rig.statuses("BTC-USDT");
    let reason = reopened_once(&statuses);
    assert!(!reason.is_empty() && reason != "shutdown", "{statuses:?}");
    assert_eq!(statuses[5].1, "shutdown");
    // Exactly what was subscribed is subscribed again.
    let frames = rig.client_frames();
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[&0], [SUBSCRIBE_BTC]);
    assert_eq!(frames[&1], [SUBSCRIBE_BTC]);
    // Every trade of the frames sent before the drop reached the sink, once.
    let ids = trade_ids(&rig.records(), "BTC-USDT");
    assert_unique(&ids);
    let got: HashSet<u64> = ids.iter().copied().collect();
    let before = recorded_trades(300);
    assert!(
        before.len() > 50,
        "the first 300 frames hold {} trades",
        before.len()
    );
    let missing: Vec<&u64> = before.iter().filter(|t| !got.contains(t)).collect();
    assert!(
        missing.is_empty(),
        "trades sent before the drop are missing: {missing:?}"
    );
    assert_eq!(counters["reconnects"], 1, "{counters:?}");
    assert_eq!(counters["connects"], 2, "{counters:?}");
}

#[test]
fn quiet_feed_is_reported_stale_once_and_not_reconnected() {
    let mut rig = Rig::start(&["--quiet-after", "150"], &["BTC-USDT"], "");
    rig.wait_for_record(Duration::from_secs(15), "a stale status", |r| {
        r["event"] == "stale"
    });
    // Pings are still answered: past the idle timeout, still one connection.
    std::thread::sleep(Duration::from_millis(2500));
    let counters = rig.stop();

    let statuses = rig.statuses("BTC-USDT");
    assert_eq!(
        events(&statuses),
        ["connected", "subscribed", "stale", "disconnected"],
        "{statuses:?}"
    );
    assert!(statuses[2].1.contains("no data"), "{statuses:?}");
    assert_eq!(rig.clients(), 1);
    assert_eq!(counters["stale"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 0, "{counters:?}");
    assert_eq!(counters["pong_timeouts"], 0, "{counters:?}");
}

#[test]
fn silent_socket_is_reconnected_when_its_pong_is_missing() {
    // Data silence alone would only be `stale` after 5 s; the missing pong ends the
    // connection within ping interval + pong timeout.
    let mut rig = Rig::start(
        &["--silent-after", "150"],
        &["BTC-USDT"],
        "stale_after = \"5s\"",
    );
    wait_until(Duration::from_secs(15), "a second connection", || {
        rig.clients() >= 2
    });
    rig.wait_subscribed("BTC-USDT", 2, Duration::from_secs(10));
    let counters = rig.stop();

    let statuses = rig.statuses("BTC-USDT");
    assert_eq!(reopened_once(&statuses), "ping not answered within 1s");
    assert_eq!(counters["pong_timeouts"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 1, "{counters:?}");
    assert_eq!(counters["stale"], 0, "{counters:?}");
}

/// The subscribe requests the Binance plan sends for `symbols` on `trade` and `bbo`
/// (the channels of [`config`]).
fn planned_subscribes(symbols: &[&str]) -> Vec<String> {
    use tickbridge_connectors::{Channel, SourceRequest};
    use tickbridge_schema::Market;
    let binance = tickbridge_connectors::connector("binance").unwrap();
    let request = SourceRequest {
        market: Market::Spot,
        channels: vec![Channel::Trade, Channel::Bbo],
        symbols: symbols
            .iter()
            .map(|s| binance.symbol(Market::Spot, s).unwrap())
            .collect(),
        ws_url: "ws://127.0.0.1:1".into(),
        rest_url: "http://127.0.0.1:1".into(),
        books: Default::default(),
    };
    let plans = binance.plan(&request).unwrap();
    assert_eq!(plans.len(), 1);
    plans[0].texts().into_iter().map(String::from).collect()
}

#[test]
fn expected_subscribe_frames_are_what_the_plan_sends() {
    assert_eq!(planned_subscribes(&["BTC-USDT"]), [SUBSCRIBE_BTC]);
    // Both symbols in one request (the first frame of the refused-symbol test).
    assert_eq!(
        planned_subscribes(&["BTC-USDT", "XYZ-USDT"]),
        [
            r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker","xyzusdt@trade","xyzusdt@bookTicker"]}"#
        ]
    );
}

#[test]
fn refused_symbol_is_reported_while_the_others_flow() {
    let mut rig = Rig::start(
        &["--refuse-symbol", "XYZUSDT"],
        &["BTC-USDT", "XYZ-USDT"],
        "",
    );
    rig.wait_for_record(Duration::from_secs(10), "a rejected status", |r| {
        r["event"] == "rejected"
    });
    wait_until(Duration::from_secs(10), "trades", || {
        trade_ids(&rig.records(), "BTC-USDT").len() > 20
    });
    let counters = rig.stop();

    let btc = rig.statuses("BTC-USDT");
    assert_eq!(
        events(&btc),
        ["connected", "subscribed", "disconnected"],
        "{btc:?}"
    );
    let xyz = rig.statuses("XYZ-USDT");
    assert_eq!(
        events(&xyz),
        ["connected", "rejected", "disconnected"],
        "{xyz:?}"
    );
    // The batch naming both symbols is refused as a whole; its halves go again with
    // new ids and the refusal of request 3 is the one attributed to XYZ-USDT.
    assert_eq!(
        xyz[1].1,
        "request 3: code 2: Invalid request: unknown symbol XYZUSDT"
    );
    assert!(
        rig.records()
            .iter()
            .all(|r| r["symbol"] != "XYZ-USDT" || r["kind"] == "status"),
        "no data for the refused symbol"
    );
    let frames = rig.client_frames();
    assert_eq!(
        frames[&0],
        [
            r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker","xyzusdt@trade","xyzusdt@bookTicker"]}"#,
            r#"{"id":2,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker"]}"#,
            r#"{"id":3,"method":"SUBSCRIBE","params":["xyzusdt@trade","xyzusdt@bookTicker"]}"#,
        ]
    );
    assert!(rig.bridge.logged("the exchange refused a subscription"));
    assert_eq!(counters["rejected"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 0, "{counters:?}");
}

#[test]
fn garbage_and_oversized_frames_are_counted_and_skipped() {
    let mut rig = Rig::start(
        &[
            "--garbage-after",
            "60",
            "--oversized-after",
            "80",
            "--oversized-bytes",
            "300000",
        ],
        &["BTC-USDT"],
        "max_frame_bytes = 100000",
    );
    let after = recorded_trades(200).last().copied().unwrap();
    rig.wait_for_record(
        Duration::from_secs(15),
        "trades after the bad frames",
        |r| r["kind"] == "trade" && r["trade_id"].as_str().unwrap().parse::<u64>().unwrap() > after,
    );
    let counters = rig.stop();

    assert_eq!(
        events(&rig.statuses("BTC-USDT")),
        ["connected", "subscribed", "disconnected"]
    );
    assert_eq!(rig.clients(), 1, "bad frames never cost the connection");
    // Malformed JSON and the truncated frame are malformed; non-JSON text too.
    assert_eq!(counters["parse_malformed"], 3, "{counters:?}");
    assert_eq!(counters["unknown_frames"], 1, "{counters:?}");
    assert_eq!(counters["binary_frames"], 1, "{counters:?}");
    assert_eq!(counters["oversized_frames"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 0, "{counters:?}");
    // Logged once per kind, not once per frame.
    let bad = rig
        .bridge
        .logs()
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("skipping a bad frame of kind malformed"))
        })
        .count();
    assert_eq!(bad, 1);
    assert!(rig.bridge.logged("skipping a binary frame of 6 bytes"));
    assert!(rig
        .bridge
        .logged("skipping a text frame of 300000 bytes (max_frame_bytes = 100000)"));
    let ids = trade_ids(&rig.records(), "BTC-USDT");
    assert_unique(&ids);
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "no trade lost around the bad frames"
    );
}

#[test]
fn frame_above_the_websocket_limit_reopens_the_connection() {
    // Above 4 × max_frame_bytes (at least 1 MiB) the WebSocket layer refuses the frame;
    // the stream cannot be resynchronised mid-frame, so the connection is re-opened.
    let mut rig = Rig::start(
        &["--oversized-after", "50", "--oversized-bytes", "2000000"],
        &["BTC-USDT"],
        "max_frame_bytes = 100000",
    );
    rig.wait_subscribed("BTC-USDT", 2, Duration::from_secs(15));
    let counters = rig.stop();

    let statuses = rig.statuses("BTC-USDT");
    assert_eq!(
        reopened_once(&statuses),
        "frame too large: Message too long: 2000000 > 1048576"
    );
    assert_eq!(counters["oversized_frames"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 1, "{counters:?}");
}

#[test]
fn unexpected_close_code_is_counted_and_the_connection_reopened() {
    let mut rig = Rig::start(
        &["--close-after", "100", "--close-code", "1011"],
        &["BTC-USDT"],
        "",
    );
    rig.wait_subscribed("BTC-USDT", 2, Duration::from_secs(15));
    let counters = rig.stop();

    let statuses = rig.statuses("BTC-USDT");
    assert_eq!(
        reopened_once(&statuses),
        "closed by the exchange (code 1011 replay fault)"
    );
    assert_eq!(counters["unexpected_closes"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 1, "{counters:?}");
    assert!(rig
        .bridge
        .logged("the exchange closed the connection with code 1011"));
    assert_eq!(rig.client_frames()[&1], [SUBSCRIBE_BTC]);
}

#[test]
fn slow_handshake_times_out_and_the_next_attempt_connects() {
    let mut rig = Rig::start(
        &["--accept-delay", "3s"],
        &["BTC-USDT"],
        "connect_timeout = \"700ms\"",
    );
    wait_until(Duration::from_secs(15), "trades", || {
        trade_ids(&rig.records(), "BTC-USDT").len() > 10
    });
    let counters = rig.stop();

    // The failed attempt was never connected: nothing to announce for it.
    assert_eq!(
        events(&rig.statuses("BTC-USDT")),
        ["connected", "subscribed", "disconnected"]
    );
    assert_eq!(counters["connect_failures"], 1, "{counters:?}");
    assert_eq!(counters["connects"], 1, "{counters:?}");
    assert!(rig.bridge.logged("connection attempt failed"));
}

#[test]
fn data_before_the_confirmation_is_kept() {
    let mut rig = Rig::start(&["--ack-delay", "1s"], &["BTC-USDT"], "");
    rig.wait_for_record(Duration::from_secs(10), "subscribed", |r| {
        r["event"] == "subscribed"
    });
    let counters = rig.stop();

    let records = rig.records();
    let subscribed = records
        .iter()
        .position(|r| r["event"] == "subscribed")
        .unwrap();
    let early = records[..subscribed]
        .iter()
        .filter(|r| r["kind"] == "trade")
        .count();
    assert!(
        early > 5,
        "{early} trades arrived before the confirmation and were kept"
    );
    assert_eq!(counters["subscribe_timeouts"], 0, "{counters:?}");
}

#[test]
fn unconfirmed_subscription_is_reported_and_its_data_kept() {
    let mut rig = Rig::start(
        &["--ack-delay", "60s"],
        &["BTC-USDT"],
        "subscribe_timeout = \"800ms\"",
    );
    rig.wait_for_record(Duration::from_secs(10), "rejected", |r| {
        r["event"] == "rejected"
    });
    let counters = rig.stop();

    let statuses = rig.statuses("BTC-USDT");
    assert_eq!(
        events(&statuses),
        ["connected", "rejected", "disconnected"],
        "{statuses:?}"
    );
    assert_eq!(
        statuses[1].1,
        "no subscription confirmation within 800ms (0 of 1 requests answered)"
    );
    assert!(trade_ids(&rig.records(), "BTC-USDT").len() > 10);
    assert_eq!(counters["subscribe_timeouts"], 1, "{counters:?}");
}

#[test]
fn rotation_before_the_forced_disconnect_loses_and_doubles_nothing() {
    let mut rig = Rig::start(
        &[],
        &["BTC-USDT"],
        "max_connection_age = \"1500ms\"\nrotation_overlap = \"400ms\"",
    );
    wait_until(Duration::from_secs(20), "three rotations", || {
        rig.clients() >= 4
    });
    std::thread::sleep(Duration::from_millis(500));
    let counters = rig.stop();

    // The feed never broke: nothing to announce.
    assert_eq!(
        events(&rig.statuses("BTC-USDT")),
        ["connected", "subscribed", "disconnected"]
    );
    let ids = trade_ids(&rig.records(), "BTC-USDT");
    assert!(ids.len() > 100, "{} trades", ids.len());
    assert_unique(&ids);
    let gaps: Vec<(u64, u64)> = ids
        .windows(2)
        .filter(|w| w[1] != w[0] + 1)
        .map(|w| (w[0], w[1]))
        .collect();
    assert!(gaps.is_empty(), "trades lost across rotations: {gaps:?}");
    assert!(counters["rotations"] >= 3, "{counters:?}");
    assert!(
        counters["duplicates_dropped"] > 0,
        "the overlap delivered second copies: {counters:?}"
    );
    assert_eq!(counters["reconnects"], 0, "{counters:?}");
    // Every replacement subscribed exactly what the first connection did.
    for (client, frames) in rig.client_frames() {
        assert_eq!(frames, [SUBSCRIBE_BTC], "client {client}");
    }
}

#[test]
fn coinbase_refusal_names_the_product_and_the_others_flow() {
    // Coinbase refuses a whole subscribe message; one message per product keeps the
    // refusal to the product its error frame names.
    let mut rig = Rig::start_on(
        "cryptofeed/coinbase.jsonl.gz",
        "coinbase",
        &["--refuse-symbol", "XYZ-USD"],
        &["SKL-USD", "XYZ-USD"],
        "stale_after = \"60s\"",
    );
    rig.wait_for_record(Duration::from_secs(10), "a rejected status", |r| {
        r["event"] == "rejected"
    });
    rig.wait_for_record(Duration::from_secs(15), "SKL-USD trades", |r| {
        r["kind"] == "trade" && r["symbol"] == "SKL-USD"
    });
    let counters = rig.stop();

    let skl = rig.statuses("SKL-USD");
    assert_eq!(
        events(&skl),
        ["connected", "subscribed", "disconnected"],
        "{skl:?}"
    );
    let xyz = rig.statuses("XYZ-USD");
    assert_eq!(
        events(&xyz),
        ["connected", "rejected", "disconnected"],
        "{xyz:?}"
    );
    assert_eq!(
        xyz[1].1,
        "Failed to subscribe: XYZ-USD is not a valid product"
    );
    assert_eq!(
        rig.client_frames()[&0],
        [
            r#"{"channels":["matches","ticker","heartbeat"],"product_ids":["SKL-USD"],"type":"subscribe"}"#,
            r#"{"channels":["matches","ticker","heartbeat"],"product_ids":["XYZ-USD"],"type":"subscribe"}"#,
        ]
    );
    assert_eq!(counters["rejected"], 1, "{counters:?}");
    assert_eq!(counters["reconnects"], 0, "{counters:?}");
}

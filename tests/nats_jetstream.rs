//! The NATS sink against the real nats-server at `NATS_URL` (scripts/nats.sh): the real
//! binary consumes a real Binance capture from the mock exchange (`tickbridge
//! replay`) and publishes to JetStream; an independent consumer reads the stream back.
//!
//! Every test uses its own stream and subject prefix, and deletes the stream at the end.

mod common;
mod nats_common;

use std::time::Duration;

use common::{capture, Bridge, Replay, SchemaValidator};
use nats_common::*;

/// Runs the bridge over the whole capture into `stream` (with `nats_extra` lines in
/// `[sink.nats]` and `stream_extra` lines in `[sink.nats.stream]`), then SIGTERM;
/// returns its summary and logs.
fn run_whole_capture(
    js: &Js,
    stream: &str,
    prefix: &str,
    nats_extra: &str,
    stream_extra: &str,
) -> (common::Summary, Vec<serde_json::Value>) {
    // A core subscription sees every publish (duplicates too): once it has seen every
    // record of the capture, the bridge has received and published them all.
    let mut sub = js.subscribe(&format!("{prefix}.>"));
    let (_replay, config) = replay_and_config(
        "max",
        &js.url,
        prefix,
        nats_extra,
        &(stream_section(stream) + stream_extra),
    );
    let mut bridge = Bridge::start(&config);
    // trades + bbos + the connected and subscribed status records
    js.wait_distinct(&mut sub, TRADES + BBOS + 2, Duration::from_secs(120));
    let (code, summary) = bridge.stop();
    assert_eq!(
        code,
        0,
        "bridge exit code; logs:\n{}",
        bridge.log_lines().join("\n")
    );
    (summary, bridge.logs())
}

#[test]
fn jetstream_end_to_end_stream_holds_exactly_what_the_bridge_delivered() {
    let js = Js::connect();
    let stream = unique("TB_E2E");
    let prefix = stream.to_lowercase();
    let (summary, logs) = run_whole_capture(&js, &stream, &prefix, "", "");

    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.dead_lettered, 0, "{summary:?}");
    assert_eq!(summary.delivered, summary.received, "{summary:?}");
    let stored = js.read_all(&stream);
    assert_eq!(
        stored.len() as u64,
        summary.delivered,
        "messages in the stream vs delivered"
    );
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    let kinds = kinds(&stored);
    assert_eq!(kinds.get("trade"), Some(&TRADES), "{kinds:?}");
    assert_eq!(kinds.get("bbo"), Some(&BBOS), "{kinds:?}");
    // Nothing was retried or duplicated on a healthy server.
    assert_eq!(log_field(&logs, "nats sink closed", "duplicates"), Some(0));
    assert_eq!(log_field(&logs, "nats sink closed", "retries"), Some(0));
    // The default publishes fast batches (the created stream allows them): one per
    // batch of the pipeline, none fell back to per-record publishing.
    let fast = log_field(&logs, "nats sink closed", "fast_batches").expect("fast_batches");
    assert!(fast > 0, "no fast batch was published");
    assert_eq!(
        log_field(&logs, "nats sink closed", "published"),
        Some(summary.delivered),
        "each record published exactly once"
    );
    assert_eq!(
        log_field(&logs, "nats sink closed", "acked"),
        Some(summary.delivered)
    );
    js.delete_stream(&stream);
}

#[test]
fn persist_mode_async_creates_an_async_stream_that_holds_every_delivered_record() {
    let js = Js::connect();
    let stream = unique("TB_ASYNC");
    let prefix = stream.to_lowercase();
    let (summary, logs) =
        run_whole_capture(&js, &stream, &prefix, "", "persist_mode = \"async\"\n");

    assert_eq!(
        js.stream_config(&stream).persist_mode,
        Some(async_nats::jetstream::stream::PersistenceMode::Async)
    );
    let ready = logs
        .iter()
        .find(|l| l["message"] == "jetstream stream ready (created or updated)")
        .expect("the stream-ready log line");
    assert_eq!(ready["persist_mode"], "async", "{ready}");
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.delivered, summary.received, "{summary:?}");
    let stored = js.read_all(&stream);
    assert_eq!(stored.len() as u64, summary.delivered);
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    assert_eq!(kinds(&stored).get("trade"), Some(&TRADES));

    // The server keeps the mode for the stream's life: a bridge configured with the
    // default mode cannot start on it, and the error says why.
    let (_replay, config) =
        replay_and_config("max", &js.url, &prefix, "", &stream_section(&stream));
    let mut bridge = Bridge::start(&config);
    let code = bridge.wait(Duration::from_secs(30));
    let logs = bridge.messages();
    assert_eq!(code, 2, "{logs}");
    let want = format!("nats sink: cannot create or update JetStream stream \"{stream}\": ");
    assert!(
        logs.lines()
            .any(|l| l.contains(&want) && l.contains("can not change persist mode")),
        "no line with {want:?} and the server's reason in:\n{logs}"
    );
    assert_eq!(
        js.count(&stream),
        summary.delivered,
        "nothing more was stored"
    );
    js.delete_stream(&stream);
}

/// Runs the capture twice into one stream (same record ids, within the duplicate
/// window) and checks the stream holds each record once; returns the second run's
/// summary, its logs, and how many new status records it added.
fn replay_twice(nats_extra: &str, name: &str) -> (common::Summary, Vec<serde_json::Value>, u64) {
    let js = Js::connect();
    let stream = unique(name);
    let prefix = stream.to_lowercase();
    let (first, _) = run_whole_capture(&js, &stream, &prefix, nats_extra, "");
    assert_eq!(first.lost, 0, "{first:?}");
    let after_first = js.count(&stream);
    assert_eq!(after_first, first.delivered);

    // The same capture again, within the 2-minute duplicate window: same record ids.
    let (second, logs) = run_whole_capture(&js, &stream, &prefix, nats_extra, "");
    assert_eq!(second.lost, 0, "{second:?}");
    assert_eq!(
        second.delivered, second.received,
        "duplicates count as delivered: {second:?}"
    );
    let stored = js.read_all(&stream);
    let status = |s: &[Stored]| s.iter().filter(|m| m.record["kind"] == "status").count() as u64;
    let new_status = status(&stored) - status(&stored[..after_first as usize]);
    // Only the second run's own status events (connected, subscribed, disconnected:
    // new events with new ids) were added; every market-data record was a duplicate.
    assert_eq!(
        stored.len() as u64,
        after_first + new_status,
        "stream grew by more than the new status events"
    );
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    js.delete_stream(&stream);
    (second, logs, new_status)
}

#[test]
fn jetstream_dedup_replaying_the_capture_twice_stores_each_record_once() {
    // Fast batches (the default): the server drops the duplicates inside each batch
    // and confirms the batch as a whole.
    let (_, logs, _) = replay_twice("", "TB_DEDUP");
    assert!(log_field(&logs, "nats sink closed", "fast_batches").unwrap() > 0);
}

#[test]
fn jetstream_dedup_per_message_counts_every_duplicate() {
    let (second, logs, new_status) = replay_twice("publish = \"per_message\"", "TB_DEDUP1");
    assert_eq!(
        log_field(&logs, "nats sink closed", "fast_batches"),
        Some(0)
    );
    let duplicates = log_field(&logs, "nats sink closed", "duplicates").expect("duplicates field");
    assert_eq!(
        duplicates,
        second.delivered - new_status,
        "PubAcks with duplicate=true"
    );
}

#[test]
fn jetstream_sigterm_mid_stream_delivered_equals_stream_and_nothing_is_lost() {
    let js = Js::connect();
    // SIGTERM early and in the middle of a paced replay (the bridge is still reading),
    // and during a full-speed one (the queue and in-flight acks hold a large backlog).
    for (speed, at) in [("50", 500u64), ("50", 8_000), ("max", 15_000)] {
        let stream = unique("TB_TERM");
        let prefix = stream.to_lowercase();
        let (_replay, config) =
            replay_and_config(speed, &js.url, &prefix, "", &stream_section(&stream));
        let mut bridge = Bridge::start(&config);
        js.wait_at_least(&stream, at, Duration::from_secs(60));
        let (code, summary) = bridge.stop();
        assert_eq!(
            code,
            0,
            "exit code after SIGTERM at {at}; logs:\n{}",
            bridge.log_lines().join("\n")
        );
        assert_eq!(summary.lost, 0, "SIGTERM at {at}: {summary:?}");
        assert_eq!(
            summary.delivered, summary.received,
            "SIGTERM at {at}: {summary:?}"
        );
        let in_stream = js.count(&stream);
        assert_eq!(
            in_stream, summary.delivered,
            "SIGTERM at {at}: stream vs summary"
        );
        assert!(
            in_stream >= at && in_stream <= (TRADES + BBOS) as u64 + 3,
            "SIGTERM at {at}: {in_stream}"
        );
        if speed != "max" {
            assert!(
                in_stream < (TRADES + BBOS) as u64,
                "SIGTERM at {at} came after the whole capture"
            );
        }
        // The drain ends with the disconnected status record, acknowledged like the rest.
        let stored = js.read_all(&stream);
        let last = &stored.last().unwrap().record;
        assert_eq!(
            (last["kind"].as_str(), last["event"].as_str()),
            (Some("status"), Some("disconnected"))
        );
        js.delete_stream(&stream);
    }
}

#[test]
fn missing_stream_with_creation_disabled_fails_at_startup_naming_it() {
    let js = Js::connect();
    let stream = unique("TB_MISSING");
    let prefix = stream.to_lowercase();
    let tail = format!("[sink.nats.stream]\nname = \"{stream}\"\ncreate = false\n");
    let config = bridge_config("ws://127.0.0.1:9", &js.url, &prefix, "", &tail);
    let mut bridge = Bridge::start(&config);
    let code = bridge.wait(Duration::from_secs(30));
    assert_eq!(
        code,
        2,
        "exit code; logs:\n{}",
        bridge.log_lines().join("\n")
    );
    let want = format!(
        "nats sink: JetStream stream \"{stream}\" does not exist and sink.nats.stream.create = false: \
         create it first (subjects {prefix}.*.*.*) or set create = true"
    );
    assert!(
        bridge.messages().lines().any(|l| l.contains(&want)),
        "no line saying {want:?} in:\n{}",
        bridge.log_lines().join("\n")
    );
    assert_eq!(js.count(&stream), 0);
}

#[test]
fn a_stream_that_stops_taking_fast_batches_turns_the_sink_to_per_message_publishing() {
    let js = Js::connect();
    let stream = unique("TB_NOFAST");
    let prefix = stream.to_lowercase();
    // Paced, with batches large enough to go as fast batches (at least 64 records).
    let tail = format!("{}[batch]\nlinger = \"100ms\"\n", stream_section(&stream));
    let (_replay, config) = replay_and_config("40", &js.url, &prefix, "", &tail);
    let mut bridge = Bridge::start(&config);
    // Fast batches went through, so the sink no longer waits for a batch's start to be
    // accepted: the refusal arrives while the rest of a batch is already on its way.
    js.wait_at_least(&stream, 3000, Duration::from_secs(60));
    js.update_stream(&stream, |c| c.allow_batch_publish = false);
    js.wait_at_least(
        &stream,
        (TRADES + BBOS + 2) as u64,
        Duration::from_secs(120),
    );
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs:\n{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.delivered, summary.received, "{summary:?}");
    assert!(
        bridge.logged("does not take fast batches; publishing per message"),
        "no switch to per-message publishing was logged"
    );
    let logs = bridge.logs();
    let fast = log_field(&logs, "nats sink closed", "fast_batches").expect("fast_batches");
    assert!(fast > 0, "no fast batch before the switch");
    // The refusal was understood as such, not waited out and retried as a failure.
    assert_eq!(log_field(&logs, "nats sink closed", "retries"), Some(0));
    // Nothing lost or stored twice, per-subject order kept across the switch.
    let stored = js.read_all(&stream);
    assert_eq!(stored.len() as u64, summary.delivered);
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    let kinds = kinds(&stored);
    assert_eq!(kinds.get("trade"), Some(&TRADES), "{kinds:?}");
    assert_eq!(kinds.get("bbo"), Some(&BBOS), "{kinds:?}");
    js.delete_stream(&stream);
}

#[test]
fn terminal_errors_are_dead_lettered_and_counted() {
    // The stream does not allow fast batches: records go one by one.
    let logs = dead_letter_case("TB_DLQ", false);
    assert_eq!(
        log_field(&logs, "nats sink closed", "fast_batches"),
        Some(0)
    );
}

#[test]
fn terminal_errors_inside_fast_batches_are_dead_lettered_and_counted() {
    // Fast batches: a record no stream captures ends its batch there; the rest of the
    // batch goes on one by one, where the error is classified and dead-lettered.
    let logs = dead_letter_case("TB_DLQF", true);
    assert!(log_field(&logs, "nats sink closed", "fast_batches").unwrap() > 0);
}

#[test]
fn a_fast_batch_that_stops_midway_leaves_the_stream_in_order() {
    let js = Js::connect();
    // The stop must hit a fast batch that later pipeline batches were appended to:
    // that needs the bridge to be behind the feed when the connection drops (the next
    // batch already waiting), which a loaded machine does not always give. Every run
    // checks order and accounting; runs repeat until one stopped inside a chain.
    repeat_until(
        5,
        || midway_stop_run(&js),
        |stops| stops.iter().any(|s| s.position > 1),
        "a stop inside a chain of pipeline batches",
    );
}

/// Runs `scenario` (which checks everything it can each time) until `wanted` holds for
/// the fast-batch stops of a run, at most `runs` times.
fn repeat_until(
    runs: usize,
    scenario: impl Fn() -> Vec<Stop>,
    wanted: impl Fn(&[Stop]) -> bool,
    what: &str,
) {
    let mut seen = Vec::new();
    for _ in 0..runs {
        let stops = scenario();
        if wanted(&stops) {
            return;
        }
        seen.push(stops);
    }
    panic!("no run had {what} in {runs} runs: {seen:?}");
}

/// One run of [`a_fast_batch_that_stops_midway_leaves_the_stream_in_order`]: checks
/// the stream and the dead letters, and returns the pipeline batches whose fast batch
/// stopped early.
fn midway_stop_run(js: &Js) -> Vec<Stop> {
    let name = unique("TB_MIDWAY");
    let prefix = name.to_lowercase();
    // The stream captures trades and bbo only. The mock exchange drops the connection
    // after 15000 frames: the status records of the reconnect (disconnected,
    // connected, subscribed) fall in the middle of the fast-publishing stream, match no
    // stream, and end the fast batch there (a gap). Batches appended to it are not
    // stored either; everything after the gap goes again one by one, in order.
    js.create_stream_for_kinds(&name, &prefix, &["trade", "bbo"], true);
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dead.jsonl");
    let replay = Replay::start_with(&capture(CAPTURE), "max", &["--drop-after", "15000"]);
    let tail = existing_stream_with_dead_letters(&name, &dlq);
    let config = bridge_config(&replay.ws_url(), &js.url, &prefix, "", &tail);
    let mut bridge = Bridge::start(&config);
    // 15000 frames carry ~13.5k records; then the feed goes on over the new connection.
    js.wait_at_least(&name, 13_000, Duration::from_secs(60));
    js.wait_stable(&name, Duration::from_secs(2), Duration::from_secs(60));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs:\n{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.delivered + summary.dead_lettered, summary.received);
    let dead = common::read_jsonl(&dlq);
    assert_eq!(dead.len() as u64, summary.dead_lettered);
    let events: Vec<&str> = dead
        .iter()
        .map(|d| {
            assert_eq!(
                d["record"]["kind"], "status",
                "only status records die: {d}"
            );
            d["record"]["event"].as_str().unwrap()
        })
        .collect();
    // Both connections' status records and the drop's. Dead letters are written as
    // each record's refusal comes back, in each pipeline batch's own task, so their
    // order across batches is not the feed's (a check of their order failed once in a
    // full run of this file).
    let count = |event: &str| events.iter().filter(|e| **e == event).count();
    assert_eq!(
        (count("connected"), count("subscribed")),
        (2, 2),
        "two connections' status records: {events:?}"
    );
    assert!(count("disconnected") >= 1, "the drop's: {events:?}");
    let stored = js.read_all(&name);
    assert_eq!(stored.len() as u64, summary.delivered, "{summary:?}");
    // Each record once, in order per subject: nothing published after the gap
    // overtook what the stopped fast batch had not stored.
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    let logs = bridge.logs();
    let stops = fast_batch_stops(&logs);
    js.delete_stream(&name);
    stops
}

/// A pipeline batch whose fast batch stopped before all of it was confirmed, from the
/// bridge's log.
#[derive(Debug)]
struct Stop {
    /// Where its first message sat in the fast batch (1: it opened it).
    position: u64,
    confirmed: u64,
    republished: u64,
}

fn fast_batch_stops(logs: &[serde_json::Value]) -> Vec<Stop> {
    let field = |l: &serde_json::Value, key: &str| l[key].as_u64().expect(key);
    logs.iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("nats: fast batch not confirmed in full"))
        })
        .map(|l| Stop {
            position: field(l, "batch_position"),
            confirmed: field(l, "confirmed"),
            republished: field(l, "republishing"),
        })
        .collect()
}

/// Two members of one fast batch, one right after the other, both republished records.
fn neighbours_republished(stops: &[Stop]) -> bool {
    stops.iter().any(|a| {
        a.republished > 0
            && stops.iter().any(|b| {
                b.republished > 0 && b.position == a.position + a.confirmed + a.republished
            })
    })
}

#[test]
fn batches_after_a_gap_in_a_chain_republish_in_order() {
    let js = Js::connect();
    // A gap in the middle of a chained fast batch leaves that pipeline batch and the
    // ones appended after it with records to republish one by one; each must wait for
    // the one before it, or per-subject order breaks (without that wait this test
    // failed 7 runs of 7). Runs repeat (up to 3, each fully checked) until one had two
    // such neighbours.
    repeat_until(
        3,
        || chain_gap_run(&js),
        neighbours_republished,
        "two neighbouring batches of a fast batch republishing",
    );
}

/// One run of [`batches_after_a_gap_in_a_chain_republish_in_order`]; returns the
/// pipeline batches whose fast batch stopped early.
fn chain_gap_run(js: &Js) -> Vec<Stop> {
    let name = unique("TB_CHAINGAP");
    let prefix = name.to_lowercase();
    // The stream takes BTC-USDT only. A second source sends ETH-USDT at its recorded
    // pace while the BTC-USDT capture plays at full speed, so the bridge is behind and
    // chains its batches, and each ETH-USDT record lands inside a pipeline batch and
    // ends the fast batch there. One publish awaiting its ack at a time: republishing
    // takes a round trip per record, so a batch that did not wait for the one before
    // it would interleave with it, and the order check below would see it.
    js.create_stream(async_nats::jetstream::stream::Config {
        name: name.clone(),
        subjects: vec![
            format!("{prefix}.binance.trade.BTC-USDT"),
            format!("{prefix}.binance.bbo.BTC-USDT"),
        ],
        duplicate_window: Duration::from_secs(120),
        allow_batch_publish: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dead.jsonl");
    let btc = Replay::start(&capture(CAPTURE), "max");
    let eth = Replay::start(
        &capture("hftbacktest/binance_ethusdt_20240808.jsonl.gz"),
        "1",
    );
    let eth_source = format!(
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\", \"bbo\"]\n\
         symbols = [\"ETH-USDT\"]\nws_url = \"{}\"\n",
        eth.ws_url()
    );
    let config = bridge_config(
        &btc.ws_url(),
        &js.url,
        &prefix,
        "max_outstanding_acks = 1",
        &existing_stream_with_dead_letters(&name, &dlq),
    ) + &eth_source;
    let mut bridge = Bridge::start(&config);
    js.wait_at_least(&name, (TRADES + BBOS) as u64, Duration::from_secs(120));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs:\n{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert_eq!(summary.delivered + summary.dead_lettered, summary.received);
    let stored = js.read_all(&name);
    assert_eq!(stored.len() as u64, summary.delivered, "{summary:?}");
    // Each BTC-USDT record once, in order per subject.
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    let kinds = kinds(&stored);
    assert_eq!(kinds.get("trade"), Some(&TRADES), "{kinds:?}");
    assert_eq!(kinds.get("bbo"), Some(&BBOS), "{kinds:?}");
    // Dead letters: the ETH-USDT records and the status records, which no stream takes.
    let dead = common::read_jsonl(&dlq);
    assert_eq!(dead.len() as u64, summary.dead_lettered);
    for d in &dead {
        let r = &d["record"];
        assert!(
            r["symbol"] == "ETH-USDT" || r["kind"] == "status",
            "only ETH-USDT and status records die: {d}"
        );
    }
    assert!(
        dead.iter()
            .any(|d| d["record"]["symbol"] == "ETH-USDT" && d["record"]["kind"] == "trade"),
        "no ETH-USDT trade reached the sink"
    );
    let stops = fast_batch_stops(&bridge.logs());
    js.delete_stream(&name);
    stops
}

fn dead_letter_case(name: &str, allow_batched: bool) -> Vec<serde_json::Value> {
    let js = Js::connect();
    let name = unique(name);
    let prefix = name.to_lowercase();
    // A stream made by someone else that captures trades only: bbo and status records
    // match no stream, which the JetStream API confirms: terminal, dead-lettered.
    js.create_stream_for_kinds(&name, &prefix, &["trade"], allow_batched);
    let dir = tempfile::tempdir().unwrap();
    let dlq = dir.path().join("dead.jsonl");
    let tail = existing_stream_with_dead_letters(&name, &dlq);
    let (_replay, config) = replay_and_config("max", &js.url, &prefix, "", &tail);
    let mut bridge = Bridge::start(&config);
    js.wait_at_least(&name, 1000, Duration::from_secs(60));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs:\n{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
    assert!(summary.dead_lettered > 0, "{summary:?}");
    assert_eq!(summary.delivered + summary.dead_lettered, summary.received);
    let dead = common::read_jsonl(&dlq);
    assert_eq!(dead.len() as u64, summary.dead_lettered);
    for d in &dead {
        let kind = d["record"]["kind"].as_str().unwrap();
        assert_ne!(kind, "trade", "a trade was dead-lettered: {d}");
        let error = d["error"].as_str().unwrap();
        assert!(
            error.starts_with("no JetStream stream captures subject"),
            "dead-letter reason: {error}"
        );
        assert_eq!(d["sink"], "nats");
    }
    let stored = js.read_all(&name);
    assert_eq!(stored.len() as u64, summary.delivered);
    assert!(stored.iter().all(|m| m.record["kind"] == "trade"));
    // Each record once, valid, in order per subject (the rest of a batch that stopped
    // early is republished before the next batch starts).
    check_stream_content(&stored, &prefix, &SchemaValidator::new());
    js.delete_stream(&name);
    bridge.logs()
}

#[test]
fn core_nats_mode_publishes_and_flushes_every_batch() {
    let js = Js::connect();
    let prefix = unique("tb_core").to_lowercase();
    // A plain subscriber, started before the bridge.
    let mut sub = js.subscribe(&format!("{prefix}.>"));
    let (_replay, config) = replay_and_config("max", &js.url, &prefix, "jetstream = false", "");
    let mut bridge = Bridge::start(&config);
    let mut got: Vec<serde_json::Value> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while got.len() < 5000 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} core messages",
            got.len()
        );
        if let Some(m) = js.next_message(&mut sub, Duration::from_millis(200)) {
            got.push(serde_json::from_slice(&m.payload).unwrap());
        }
    }
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0);
    assert_eq!(summary.lost, 0, "{summary:?}");
    // Drain what is left: the subscriber sees exactly what the bridge flushed.
    while let Some(m) = js.next_message(&mut sub, Duration::from_millis(500)) {
        got.push(serde_json::from_slice(&m.payload).unwrap());
    }
    assert_eq!(got.len() as u64, summary.delivered, "{summary:?}");
    let validator = SchemaValidator::new();
    got.iter().for_each(|r| validator.check(r));
}

#[test]
fn dead_letters_can_go_to_a_subject() {
    let js = Js::connect();
    let name = unique("TB_DLQSUBJ");
    let prefix = name.to_lowercase();
    // Trades and bbo are captured; status records are not: they are the dead letters.
    js.create_stream_for_kinds(&name, &prefix, &["trade", "bbo"], false);
    let dlq = format!("{prefix}_dlq");
    let mut sub = js.subscribe(&dlq);
    let extra = format!("dead_letter_subject = \"{dlq}\"");
    let tail = format!("[sink.nats.stream]\nname = \"{name}\"\ncreate = false\n");
    let (_replay, config) = replay_and_config("max", &js.url, &prefix, &extra, &tail);
    let mut bridge = Bridge::start(&config);
    js.wait_at_least(&name, 1000, Duration::from_secs(60));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "logs:\n{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0, "{summary:?}");
    // connected, subscribed, disconnected
    assert_eq!(summary.dead_lettered, 3, "{summary:?}");
    let mut letters = Vec::new();
    while let Some(m) = js.next_message(&mut sub, Duration::from_millis(500)) {
        letters.push(serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap());
    }
    assert_eq!(letters.len(), 3);
    for l in &letters {
        assert_eq!(l["record"]["kind"], "status");
        assert!(
            l["error"]
                .as_str()
                .unwrap()
                .starts_with("no JetStream stream captures subject"),
            "{l}"
        );
    }
    assert_eq!(js.count(&name), summary.delivered);
    js.delete_stream(&name);
}

/// Active-active (issue 18): two replicas of one config publish the same shard to one
/// stream at the same time; the stream's duplicate window keeps one copy of every
/// data record (record ids are deterministic, `Nats-Msg-Id` = id), and each bridge
/// counts the other's copies as delivered duplicates, none lost.
#[test]
fn two_replicas_into_one_stream_leave_every_data_record_once() {
    let js = Js::connect();
    let stream = unique("TB_ACTIVE_ACTIVE");
    let prefix = stream.to_lowercase();
    let mut sub = js.subscribe(&format!("{prefix}.>"));
    let mut running = Vec::new();
    for _ in 0..2 {
        let (replay, config) =
            replay_and_config("max", &js.url, &prefix, "", &stream_section(&stream));
        running.push((replay, Bridge::start(&config)));
    }
    // Every data record, plus each replica's connected and subscribed status records.
    js.wait_distinct(&mut sub, TRADES + BBOS + 4, Duration::from_secs(180));
    for (_replay, bridge) in &mut running {
        let (code, summary) = bridge.stop();
        assert_eq!(code, 0, "{summary:?}");
        assert_eq!(summary.lost, 0, "{summary:?}");
        assert_eq!(summary.delivered, summary.received, "{summary:?}");
    }
    let stored = js.read_all(&stream);
    let data: Vec<&str> = stored
        .iter()
        .filter(|m| m.record["kind"] != "status")
        .map(|m| m.record["id"].as_str().unwrap())
        .collect();
    let mut unique_ids = data.clone();
    unique_ids.sort_unstable();
    unique_ids.dedup();
    assert_eq!(unique_ids.len(), data.len(), "a data record stored twice");
    assert_eq!(
        data.len(),
        TRADES + BBOS,
        "every data record of the capture, once"
    );
    js.delete_stream(&stream);
}

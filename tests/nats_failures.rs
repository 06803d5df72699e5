//! The NATS sink when the server fails or refuses: each test starts a private
//! nats-server (own port, own JetStream store in a temp dir) so killing it or
//! requiring credentials never disturbs the shared server other tests use.

mod common;
mod nats_common;

use std::time::Duration;

use common::{Bridge, SchemaValidator};
use nats_common::*;
use serde_json::Value;

/// Every trade and bbo of the capture is in the stream, and no record twice.
fn assert_whole_capture_once(stored: &[Stored]) {
    let mut ids: Vec<&str> = stored
        .iter()
        .map(|m| m.record["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), stored.len(), "duplicate records in the stream");
    let kinds = kinds(stored);
    assert_eq!(kinds.get("trade"), Some(&TRADES), "{kinds:?}");
    assert_eq!(kinds.get("bbo"), Some(&BBOS), "{kinds:?}");
}

/// Once the bridge has put 3,000 records into `stream`, kills the server, waits for
/// the bridge to notice, keeps the server down for `outage`, and starts it again.
fn outage_mid_stream(
    server: &mut PrivateServer,
    js: &Js,
    stream: &str,
    bridge: &Bridge,
    outage: Duration,
) {
    js.wait_at_least(stream, 3_000, Duration::from_secs(60));
    server.kill();
    common::wait_until(
        Duration::from_secs(20),
        "the bridge to log the lost connection",
        || bridge.logged("nats connection lost; reconnecting"),
    );
    std::thread::sleep(outage);
    server.restart();
}

#[test]
fn server_killed_and_restarted_mid_stream_nothing_accepted_is_missing() {
    let mut server = PrivateServer::start(&[]);
    let js = Js::connect_to(&server.url());
    let stream = "TB_RESTART";
    let prefix = "tb_restart";
    // Short ack timeout: publishes lost with the server are retried sooner.
    let (_replay, config) = replay_and_config(
        "max",
        &server.url(),
        prefix,
        "ack_timeout = \"2s\"",
        &stream_section(stream),
    );
    let mut bridge = Bridge::start(&config);
    // The outage: publishes pile up.
    outage_mid_stream(
        &mut server,
        &js,
        stream,
        &bridge,
        Duration::from_millis(500),
    );
    common::wait_until(Duration::from_secs(30), "the bridge to reconnect", || {
        bridge.logged("nats reconnected")
    });
    // The outage on /metrics too.
    let ops = common::ops_addr(&bridge);
    let outages = common::metric(&ops, "tickbridge_sink_outages_total{sink=\"nats\"}");
    assert!(outages >= Some(1), "outages on /metrics: {outages:?}");
    // Every record of the capture must reach the stream (trades + bbos + the connected
    // and subscribed status records); a missing one fails here with the count.
    js.wait_at_least(stream, (TRADES + BBOS + 2) as u64, Duration::from_secs(120));
    let (code, summary) = bridge.stop();
    let logs = bridge.messages();
    assert_eq!(code, 0, "logs:\n{logs}");
    assert_eq!(summary.lost, 0, "{summary:?}\n{logs}");
    assert_eq!(summary.delivered, summary.received, "{summary:?}");
    // Everything accepted is in the stream, once (dedup absorbed the retries).
    let stored = js.read_all(stream);
    assert_eq!(
        stored.len() as u64,
        summary.delivered,
        "stream vs delivered: {summary:?}"
    );
    assert_whole_capture_once(&stored);
    let validator = SchemaValidator::new();
    stored.iter().for_each(|m| validator.check(&m.record));
    let bridge_logs = bridge.logs();
    assert!(log_field(&bridge_logs, "nats sink closed", "reconnects").unwrap_or(0) >= 1);
}

/// An outage five times the delivery timeout: the records in flight are retried with
/// their `Nats-Msg-Id` while the stream's duplicate window (2 minutes) lasts, so
/// nothing the server could still take is counted lost, and `lost` is exactly what the
/// stream lacks (here nothing).
#[test]
fn outage_longer_than_the_delivery_timeout_loses_exactly_what_the_stream_lacks() {
    let mut server = PrivateServer::start(&[]);
    let js = Js::connect_to(&server.url());
    let stream = "TB_OUTAGE";
    let (_replay, config) = replay_and_config(
        "max",
        &server.url(),
        "tb_outage",
        "ack_timeout = \"1s\"",
        &stream_section(stream),
    );
    let config = config.replace("delivery_timeout = \"30s\"", "delivery_timeout = \"8s\"");
    let mut bridge = Bridge::start(&config);
    outage_mid_stream(&mut server, &js, stream, &bridge, Duration::from_secs(40));
    let expected = (TRADES + BBOS + 2) as u64;
    js.wait_at_least(stream, expected, Duration::from_secs(120));
    let (code, summary) = bridge.stop();
    let logs = bridge.messages();
    let stored = js.read_all(stream);
    assert_whole_capture_once(&stored);
    // The equation, and `lost` is what the stream does not hold.
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered + summary.lost,
        "{summary:?}"
    );
    // The capture's records plus status records (connected, subscribed, and any the
    // outage raised, e.g. a stale feed while the sources waited).
    assert!(summary.received >= expected, "{summary:?}");
    assert_eq!(
        summary.lost,
        summary.received - stored.len() as u64,
        "{summary:?}\n{logs}"
    );
    assert_eq!(summary.lost, 0, "{summary:?}\n{logs}");
    assert_eq!(code, 0, "logs:\n{logs}");
}

/// The same outage past the delivery timeout and the duplicate window, with a disk
/// buffer: the buffer keeps every batch until it is acknowledged, so the batches in
/// flight at the kill are retried until the server takes them instead of counting
/// as lost: nothing is lost, the bridge exits 0, and every trade and bbo of the
/// capture is in the stream (a retry past the window may have stored a copy, which
/// consumers dedup by `id`).
#[test]
fn with_a_disk_buffer_an_outage_past_the_duplicate_window_loses_nothing() {
    let mut server = PrivateServer::start(&[]);
    let js = Js::connect_to(&server.url());
    let stream = "TB_DISK_LOST";
    let buffer = tempfile::tempdir().unwrap();
    let (_replay, config) = replay_and_config(
        "max",
        &server.url(),
        "tb_disk_lost",
        "ack_timeout = \"1s\"",
        &format!(
            "{}\n[sink.buffer]\nkind = \"disk\"\npath = \"{}\"\n",
            stream_section(stream)
                .replace("duplicate_window = \"2m\"", "duplicate_window = \"3s\""),
            buffer.path().display()
        ),
    );
    let config = config.replace("delivery_timeout = \"30s\"", "delivery_timeout = \"3s\"");
    let mut bridge = Bridge::start(&config);
    outage_mid_stream(&mut server, &js, stream, &bridge, Duration::from_secs(15));
    let ops = common::ops_addr(&bridge);
    common::wait_until(
        Duration::from_secs(120),
        "the capture in the stream and the buffer empty",
        || {
            common::metric(&ops, "tickbridge_buffer_records{sink=\"nats\"}") == Some(0)
                && common::metric(&ops, "tickbridge_records_acked_total{sink=\"nats\"}")
                    .is_some_and(|n| n >= (TRADES + BBOS) as u64)
        },
    );
    let (code, summary) = bridge.stop();
    let logs = bridge.messages();
    assert_eq!(code, 0, "{summary:?}\nlogs:\n{logs}");
    assert_eq!(summary.lost, 0, "{summary:?}\n{logs}");
    assert_eq!(summary.delivered, summary.received, "{summary:?}");
    let stored = js.read_all(stream);
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<Stored> = stored
        .into_iter()
        .filter(|m| seen.insert(m.record["id"].as_str().unwrap().to_string()))
        .collect();
    let kinds = kinds(&distinct);
    assert_eq!(kinds.get("trade"), Some(&TRADES), "{kinds:?}");
    assert_eq!(kinds.get("bbo"), Some(&BBOS), "{kinds:?}");
    eprintln!(
        "{summary:?}: {} distinct records in the stream",
        distinct.len()
    );
}

/// An outage longer than both the delivery timeout and the stream's duplicate window:
/// the records in flight at the kill cannot be confirmed and count as lost. The
/// bridge cannot know which of them the server stored before it died (or stored from
/// the client's buffer after it came back, past the window, as copies), so `lost`
/// may exceed what the stream lacks but never falls short of it; and once the server
/// is back a `status lost` in the stream tells consumers how many and when. The
/// dead-letter file holds a copy of every announcement, written while the server
/// was still away.
#[test]
fn an_outage_past_the_duplicate_window_counts_the_unconfirmed_lost_and_announces_them() {
    let mut server = PrivateServer::start(&[]);
    let js = Js::connect_to(&server.url());
    let stream = "TB_LOST";
    let dir = tempfile::tempdir().unwrap();
    let dead_letters = dir.path().join("dead.jsonl");
    let (_replay, config) = replay_and_config(
        "max",
        &server.url(),
        "tb_lost",
        "ack_timeout = \"1s\"",
        &stream_section(stream).replace("duplicate_window = \"2m\"", "duplicate_window = \"3s\""),
    );
    let config = config
        .replace("delivery_timeout = \"30s\"", "delivery_timeout = \"3s\"")
        .replace(
            "[sink.nats]",
            &format!(
                "[sink.dead_letter]\npath = \"{}\"\n\n[sink.nats]",
                dead_letters.display()
            ),
        );
    let mut bridge = Bridge::start(&config);
    outage_mid_stream(&mut server, &js, stream, &bridge, Duration::from_secs(15));
    common::wait_until(Duration::from_secs(30), "the bridge to reconnect", || {
        bridge.logged("nats reconnected")
    });
    // The whole capture played, then the bridge drains.
    let ops = common::ops_addr(&bridge);
    common::wait_until(
        Duration::from_secs(120),
        "the capture to be settled",
        || {
            common::metric(&ops, "tickbridge_records_pending{sink=\"nats\"}") == Some(0)
                && common::metric(&ops, "tickbridge_records_acked_total{sink=\"nats\"}")
                    .is_some_and(|n| n > 30_000)
        },
    );
    let (code, summary) = bridge.stop();
    let logs = bridge.messages();
    let stored = js.read_all(stream);
    let ids: std::collections::HashSet<&str> = stored
        .iter()
        .map(|m| m.record["id"].as_str().unwrap())
        .collect();
    eprintln!(
        "{summary:?}: {} stored, {} distinct ids",
        stored.len(),
        ids.len()
    );
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered + summary.lost,
        "{summary:?}"
    );
    let missing = summary.received.saturating_sub(ids.len() as u64);
    assert!(
        missing <= summary.lost,
        "{missing} records missing from the stream, {} counted lost: {summary:?}\n{logs}",
        summary.lost
    );
    assert!(
        summary.lost > 0,
        "the outage outlasted the window: {summary:?}\n{logs}"
    );
    assert_eq!(code, 1, "a loss exits 1; logs:\n{logs}");
    // The announcements: valid records, each naming a count within what was lost.
    let validator = SchemaValidator::new();
    let announced: Vec<&Value> = stored
        .iter()
        .map(|m| &m.record)
        .filter(|r| r["kind"] == "status" && r["event"] == "lost")
        .collect();
    assert!(
        !announced.is_empty(),
        "no status lost in the stream; logs:\n{logs}"
    );
    for r in &announced {
        validator.check(r);
        let reason = r["reason"].as_str().unwrap();
        let count: u64 = reason.split(' ').next().unwrap().parse().unwrap();
        assert!(
            count > 0 && count <= summary.lost,
            "{reason} vs lost {}",
            summary.lost
        );
        assert!(
            reason.contains("were not acknowledged by the nats sink within its retries"),
            "{reason}"
        );
        assert_eq!(r["symbol"], "BTC-USDT");
    }
    // Every announcement in the stream has its copy in the dead-letter file.
    let text = std::fs::read_to_string(&dead_letters).unwrap_or_default();
    let copies: std::collections::HashSet<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .inspect(|d| {
            assert_eq!(
                d["error"], "records failed after the sink's retries (status lost)",
                "{d}"
            );
            assert_eq!(d["record"]["event"], "lost", "{d}");
        })
        .map(|d| d["record"]["id"].as_str().unwrap().to_string())
        .collect();
    for r in &announced {
        let id = r["id"].as_str().unwrap();
        assert!(
            copies.contains(id),
            "{id} not in the dead-letter file:\n{text}"
        );
    }
    eprintln!(
        "lost {}, missing {missing}, {} announcements: {}",
        summary.lost,
        announced.len(),
        announced[0]["reason"]
    );
}

/// SIGTERM while the server is down, with records queued, batched and in flight: the
/// drain deadline passes, the bridge exits 1, its summary's equation holds, and once
/// the server is back every record missing from the stream is counted lost (`lost`
/// may exceed it by what the server stored without answering before it died).
#[test]
fn server_down_at_sigterm_counts_every_missing_record_lost() {
    let mut server = PrivateServer::start(&[]);
    let js = Js::connect_to(&server.url());
    let stream = "TB_DOWNTERM";
    let (_replay, config) = replay_and_config(
        "40",
        &server.url(),
        "tb_downterm",
        "ack_timeout = \"1s\"",
        &stream_section(stream),
    );
    let config = config.replace("drain_timeout = \"20s\"", "drain_timeout = \"3s\"");
    let mut bridge = Bridge::start(&config);
    js.wait_at_least(stream, 3_000, Duration::from_secs(60));
    server.kill();
    common::wait_until(
        Duration::from_secs(20),
        "the bridge to log the lost connection",
        || bridge.logged("nats connection lost; reconnecting"),
    );
    // Records pile up while the sink waits for the server.
    std::thread::sleep(Duration::from_secs(3));
    bridge.signal("TERM");
    let code = bridge.wait(Duration::from_secs(60));
    let summary = bridge.summary().expect("a summary line");
    let logs = bridge.messages();
    assert_eq!(code, 1, "records lost exit 1; {summary:?}\n{logs}");
    assert_eq!(
        summary.received,
        summary.delivered + summary.dead_lettered + summary.lost,
        "{summary:?}"
    );
    server.restart();
    let stored = js.read_all(stream);
    let ids: std::collections::HashSet<&str> = stored
        .iter()
        .map(|m| m.record["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), stored.len(), "no copies in the stream");
    let stored = stored.len() as u64;
    let missing = summary.received - stored;
    assert!(
        stored >= summary.delivered,
        "stream {stored} < delivered: {summary:?}"
    );
    assert!(
        missing > 0 && missing <= summary.lost,
        "{missing} missing: {summary:?}"
    );
    eprintln!(
        "JetStream down at SIGTERM: {summary:?}; {stored} in the stream, {missing} missing, \
         {} unconfirmed but stored",
        summary.lost - missing
    );
}

#[test]
fn bad_token_fails_at_startup_naming_the_cause() {
    let server = PrivateServer::start(&["--auth", "right-token"]);
    let url = server.url();
    for (extra, what) in [("token = \"wrong-token\"", "wrong token"), ("", "no token")] {
        let config = bridge_config(
            "ws://127.0.0.1:9",
            &url,
            "tb_auth",
            extra,
            &stream_section("TB_AUTH"),
        );
        let mut bridge = Bridge::start(&config);
        let code = bridge.wait(Duration::from_secs(30));
        let logs = bridge.messages();
        assert_eq!(code, 2, "{what}: exit code; logs:\n{logs}");
        let want = format!(
            "nats sink: authorization violation: the server at {url} rejected the credentials \
             (check sink.nats token, user/password or credentials)"
        );
        assert!(
            logs.contains(&want),
            "{what}: no line saying {want:?} in:\n{logs}"
        );
    }
}

#[test]
fn bad_password_fails_at_startup_and_the_right_one_delivers() {
    let server = PrivateServer::start(&["--user", "bridge", "--pass", "s3cret"]);
    let url = server.url();
    let config = bridge_config(
        "ws://127.0.0.1:9",
        &url,
        "tb_auth",
        "user = \"bridge\"\npassword = \"nope\"",
        &stream_section("TB_AUTH"),
    );
    let mut bridge = Bridge::start(&config);
    assert_eq!(bridge.wait(Duration::from_secs(30)), 2);
    let logs = bridge.messages();
    assert!(
        logs.contains("nats sink: authorization violation"),
        "{logs}"
    );
    assert!(
        !logs.contains("s3cret") && !logs.contains("nope"),
        "a password was logged:\n{logs}"
    );

    // The right password, given through the URL's environment interpolation of the
    // config: the bridge connects, creates the stream and delivers.
    let (_replay, config) = replay_and_config(
        "max",
        &url,
        "tb_auth",
        "user = \"bridge\"\npassword = \"${TB_TEST_NATS_PASSWORD}\"",
        &stream_section("TB_AUTH"),
    );
    let mut bridge = Bridge::start_env(&config, &[("TB_TEST_NATS_PASSWORD", "s3cret")]);
    let js = Js::connect_with(
        &url,
        async_nats::ConnectOptions::with_user_and_password("bridge".into(), "s3cret".into()),
    );
    js.wait_at_least("TB_AUTH", 1000, Duration::from_secs(60));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0);
    assert_eq!(summary.lost, 0);
    assert_eq!(js.count("TB_AUTH"), summary.delivered);
}

/// A CA and a server certificate for 127.0.0.1, made with the `openssl` CLI.
fn make_certs(dir: &std::path::Path) -> (String, String, String) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the TLS test needs the openssl CLI (apt-get install openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=tickbridge test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let p = |f: &str| dir.join(f).display().to_string();
    (p("ca.pem"), p("server.pem"), p("server.key"))
}

#[test]
fn tls_with_the_servers_ca_delivers_and_without_it_fails_naming_the_cause() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path());
    let server = PrivateServer::start(&["--tls", "--tlscert", &cert, "--tlskey", &key]);
    let url = server.url();

    // Without the CA: the server's certificate is not trusted.
    let config = bridge_config(
        "ws://127.0.0.1:9",
        &url,
        "tb_tls",
        "tls = true",
        &stream_section("TB_TLS"),
    );
    let mut bridge = Bridge::start(&config);
    assert_eq!(bridge.wait(Duration::from_secs(30)), 2);
    let logs = bridge.messages();
    assert!(
        logs.contains(&format!("nats sink: cannot connect to {url}")),
        "{logs}"
    );

    // With it: connected over TLS, records delivered.
    let (_replay, config) = replay_and_config(
        "max",
        &url,
        "tb_tls",
        &format!("tls_ca_file = \"{ca}\""),
        &stream_section("TB_TLS"),
    );
    let mut bridge = Bridge::start(&config);
    let js = Js::connect_with(
        &url,
        async_nats::ConnectOptions::new()
            .require_tls(true)
            .add_root_certificates(ca.clone().into()),
    );
    js.wait_at_least("TB_TLS", 1000, Duration::from_secs(60));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "{}", bridge.log_lines().join("\n"));
    assert_eq!(summary.lost, 0);
    assert_eq!(js.count("TB_TLS"), summary.delivered);
}

#[test]
fn unreadable_credentials_file_fails_at_startup_naming_it() {
    let server = PrivateServer::start(&[]);
    let config = bridge_config(
        "ws://127.0.0.1:9",
        &server.url(),
        "tb_creds",
        "credentials = \"/nonexistent/tickbridge.creds\"",
        &stream_section("TB_CREDS"),
    );
    let mut bridge = Bridge::start(&config);
    assert_eq!(bridge.wait(Duration::from_secs(30)), 2);
    let logs = bridge.messages();
    assert!(
        logs.contains("nats sink: cannot read credentials file /nonexistent/tickbridge.creds:"),
        "{logs}"
    );
}

/// Credentials inside the URL, as other NATS clients take them: a token
/// (`nats://TOKEN@host`) and a user with a password (`nats://user:password@host`),
/// percent-encoded where they hold `@` or `:`. Both deliver, and at `--log debug` no
/// line shows them (async-nats logs its server addresses at debug).
#[test]
fn credentials_in_the_url_authenticate_and_never_show() {
    let cases = [
        (
            vec!["--auth", "TB-SECRET-tok@en"],
            "TB-SECRET-tok%40en@",
            "TB_URL_TOKEN",
            async_nats::ConnectOptions::with_token("TB-SECRET-tok@en".into()),
        ),
        (
            vec!["--user", "bridge", "--pass", "TB-SECRET-p:ss"],
            "bridge:TB-SECRET-p%3Ass@",
            "TB_URL_USER",
            async_nats::ConnectOptions::with_user_and_password(
                "bridge".into(),
                "TB-SECRET-p:ss".into(),
            ),
        ),
    ];
    for (args, userinfo, stream, options) in cases {
        let server = PrivateServer::start(&args);
        let url = server
            .url()
            .replacen("nats://", &format!("nats://{userinfo}"), 1);
        let (_replay, config) = replay_and_config(
            "max",
            &url,
            &stream.to_ascii_lowercase(),
            "",
            &stream_section(stream),
        );
        let mut bridge = Bridge::start_env(&config, &[("TICKBRIDGE_LOG", "debug")]);
        let js = Js::connect_with(&server.url(), options);
        js.wait_at_least(stream, 1000, Duration::from_secs(60));
        let (code, summary) = bridge.stop();
        let logs = bridge.log_lines().join("\n");
        assert_eq!(code, 0, "{stream}: {summary:?}");
        assert_eq!(summary.lost, 0, "{stream}: {summary:?}");
        assert_eq!(js.count(stream), summary.delivered, "{stream}");
        assert!(
            !logs.contains("TB-SECRET") && !logs.contains("TB-SECRET-tok%40en"),
            "{stream}: a credential in the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains("TB-SECRET"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

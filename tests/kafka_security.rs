//! The Kafka sink against the secured listeners of the real Apache Kafka that
//! `scripts/kafka.sh` starts (`KAFKA_SECURE=1`: TLS material from
//! `scripts/kafka-tls.sh`, SCRAM users created with Kafka's own `kafka-configs`):
//! delivery over SASL_SSL with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER,
//! over SASL_PLAINTEXT, and over mutual TLS, each read back by an independent consumer
//! on the broker's PLAINTEXT listener; and every way a secured connection fails — a
//! wrong password, an untrusted certificate, an expired certificate, a mechanism the
//! broker does not offer, no client certificate — logged once with its cause, never
//! with a secret, readiness false, retries paced.
//!
//! The listeners' addresses come from the environment `scripts/kafka.sh start` prints
//! (`KAFKA_SASL_SSL`, `KAFKA_MTLS`, `KAFKA_EXPIRED_TLS`, `KAFKA_SASL_PLAINTEXT`,
//! `KAFKA_TLS_DIR`); without them every test here fails with instructions.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{http_get, ops_addr, wait_until, Bridge, Replay};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use serde_json::Value;

/// A recognisable secret: it must never appear in any output.
const SECRET_MARK: &str = "TB-SECRET";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start Kafka with its secured listeners, \
             `eval \"$(scripts/kafka.sh start)\"` (scripts/test.sh does it for the suite)"
        )
    })
}

fn tls_dir() -> PathBuf {
    PathBuf::from(env("KAFKA_TLS_DIR"))
}

fn tls_file(name: &str) -> String {
    tls_dir().join(name).display().to_string()
}

/// The password of the broker's user `bridge` (PLAIN and SCRAM).
fn broker_password() -> String {
    std::fs::read_to_string(tls_dir().join("scram.password"))
        .expect("reading scram.password")
        .trim_end()
        .to_string()
}

fn plaintext_brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "sec-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/binance.jsonl")
}

/// The bridge config: the demo's Binance source on the replay, the Kafka sink with
/// `security` (the `[sink.kafka]` security lines and tables).
fn config(replay: &Replay, brokers: &str, topic: &str, security: &str) -> String {
    format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTCUSDT"]
ws_url = "{ws}"

[sink]
kind = "kafka"
delivery_timeout = "20s"

[shutdown]
drain_timeout = "2s"

[ops]
listen = "127.0.0.1:0"

[sink.kafka]
brokers = "{brokers}"
topic = "{topic}.{{kind}}"
{security}
"#,
        ws = replay.ws_url(),
    )
}

/// Every message of the `{prefix}.{kind}` topics, read on the PLAINTEXT listener.
fn read_topics(prefix: &str, kinds: &[&str]) -> Vec<Value> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", plaintext_brokers())
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("creating a consumer");
    let topics: Vec<String> = kinds.iter().map(|k| format!("{prefix}.{k}")).collect();
    common::kafka_log::read_json(&c, &topics)
        .into_iter()
        .map(|r| {
            let mut record = r.value;
            // The Kafka timestamp, for the checks of `timestamp = "event"`.
            record["kafka_ts"] = r.timestamp.into();
            record
        })
        .collect()
}

/// No line of the bridge's output shows `secret` (nor the recognisable mark).
fn assert_no_secret(bridge: &Bridge, secret: &str) {
    for line in bridge.log_lines().iter().chain(&bridge.stdout_lines()) {
        assert!(
            !line.contains(secret) && !line.contains(SECRET_MARK),
            "a secret in the output: {line}"
        );
    }
}

/// One delivery over a secured listener: the demo's 10 trades and 10 bbo records
/// reach the topics exactly once, as the summary says, and the password never shows,
/// even at `--log debug`.
fn delivers(name: &str, brokers: &str, security: &str, password: &str) {
    let replay = Replay::start(&demo(), "max");
    let topic = unique(name);
    let mut bridge = Bridge::start_env(
        &config(&replay, brokers, &topic, security),
        &[("KAFKA_PASSWORD", password), ("TICKBRIDGE_LOG", "debug")],
    );
    wait_until(
        Duration::from_secs(60),
        &format!("{name}: 20 records in {topic}.*"),
        || read_topics(&topic, &["trade", "bbo"]).len() >= 20 || bridge.summary().is_some(),
    );
    let (code, summary) = bridge.stop();
    let logs = bridge.log_lines().join("\n");
    assert_eq!(code, 0, "{name}: exit {code}; {summary:?}\n{logs}");
    assert_eq!(summary.lost, 0, "{name}: {summary:?}");
    let records = read_topics(&topic, &["trade", "bbo", "status"]);
    assert_eq!(
        records.len() as u64,
        summary.delivered,
        "{name}: {summary:?}"
    );
    let count = |k: &str| records.iter().filter(|r| r["kind"] == k).count();
    assert_eq!((count("trade"), count("bbo")), (10, 10), "{name}");
    for r in &records {
        // `timestamp = "event"` (the default): the exchange's event time in ms.
        let ns = r["ts_exchange"].as_i64().or(r["ts_recv"].as_i64()).unwrap();
        assert_eq!(
            r["kafka_ts"].as_i64(),
            Some(ns.div_euclid(1_000_000)),
            "{name}: {r}"
        );
    }
    let mut ids: Vec<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "{name}: a record twice");
    assert_no_secret(&bridge, password);
}

#[test]
fn sasl_ssl_delivers_with_every_mechanism() {
    let brokers = env("KAFKA_SASL_SSL");
    let ca = tls_file("ca.pem");
    let password = broker_password();
    for mechanism in ["plain", "scram-sha-256", "scram-sha-512"] {
        delivers(
            mechanism,
            &brokers,
            &format!(
                "security_protocol = \"sasl_ssl\"\n[sink.kafka.tls]\nca_file = \"{ca}\"\n\
                 [sink.kafka.sasl]\nmechanism = \"{mechanism}\"\nusername = \"bridge\"\n\
                 password = \"${{KAFKA_PASSWORD}}\"\n"
            ),
            &password,
        );
    }
}

#[test]
fn sasl_plaintext_scram_delivers_with_the_password_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    let password = broker_password();
    std::fs::write(&file, format!("{password}\n")).unwrap();
    delivers(
        "sasl-plaintext",
        &env("KAFKA_SASL_PLAINTEXT"),
        &format!(
            "security_protocol = \"sasl_plaintext\"\n[sink.kafka.sasl]\n\
             mechanism = \"scram-sha-512\"\nusername = \"bridge\"\npassword_file = \"{}\"\n",
            file.display()
        ),
        &password,
    );
}

#[test]
fn oauthbearer_delivers_with_a_token_file() {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The broker's default OAUTHBEARER validator accepts unsigned tokens (alg none).
    let token = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(&format!(
            r#"{{"sub":"bridge","iat":{now},"exp":{},"scope":"TB-SECRET-scope"}}"#,
            now + 3600
        ))
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, &token).unwrap();
    delivers(
        "oauthbearer",
        &env("KAFKA_SASL_SSL"),
        &format!(
            "security_protocol = \"sasl_ssl\"\n[sink.kafka.tls]\nca_file = \"{}\"\n\
             [sink.kafka.sasl]\nmechanism = \"oauthbearer\"\ntoken_file = \"{}\"\n",
            tls_file("ca.pem"),
            file.display()
        ),
        &token,
    );
}

#[test]
fn mutual_tls_delivers() {
    delivers(
        "mtls",
        &env("KAFKA_MTLS"),
        &format!(
            "security_protocol = \"ssl\"\n[sink.kafka.tls]\nca_file = \"{}\"\n\
             cert_file = \"{}\"\nkey_file = \"{}\"\n",
            tls_file("ca.pem"),
            tls_file("client.pem"),
            tls_file("client.key")
        ),
        "no password here",
    );
}

/// A refused connection: one error naming the cause and what to check, readiness
/// false, retries paced (not at full speed), no secret in any line at `--log debug`.
fn refused(name: &str, brokers: &str, security: &str, password: &str, want: &[&str]) {
    let replay = Replay::start(&demo(), "max");
    let topic = unique(name);
    let mut bridge = Bridge::start_env(
        &config(&replay, brokers, &topic, security),
        &[("KAFKA_PASSWORD", password), ("TICKBRIDGE_LOG", "debug")],
    );
    let refusals = |b: &Bridge| {
        b.logs()
            .into_iter()
            .filter(|l| {
                l["level"] == "ERROR"
                    && l["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("kafka: the broker refuses the connection"))
            })
            .collect::<Vec<_>>()
    };
    wait_until(
        Duration::from_secs(30),
        &format!("{name}: the refusal logged"),
        || !refusals(&bridge).is_empty(),
    );
    let first = Instant::now();
    let ops = ops_addr(&bridge);
    // Watch the retries for four seconds.
    std::thread::sleep(Duration::from_secs(4));
    let (status, body) = http_get(&ops, "/readyz").unwrap();
    assert_ne!(status, 200, "{name}: ready although refused: {body}");
    let logged = refusals(&bridge);
    assert_eq!(
        logged.len(),
        1,
        "{name}: the refusal logged more than once: {logged:?}"
    );
    let text = logged[0].to_string();
    for w in want {
        assert!(text.contains(w), "{name}: {w:?} not in {text}");
    }
    let retries = bridge
        .logs()
        .iter()
        .filter(|l| l["message"] == "kafka: security failure again")
        .count();
    assert!(
        retries <= 4 * 6,
        "{name}: {retries} retries in {:?}: not paced",
        first.elapsed()
    );
    bridge.signal("TERM");
    bridge.wait(Duration::from_secs(30));
    assert_no_secret(&bridge, password);
}

#[test]
fn refused_connections_name_their_cause_once_and_no_secret() {
    let ca = tls_file("ca.pem");
    let sasl = |protocol: &str, ca: &str, mechanism: &str| {
        format!(
            "security_protocol = \"{protocol}\"\n[sink.kafka.tls]\nca_file = \"{ca}\"\n\
             [sink.kafka.sasl]\nmechanism = \"{mechanism}\"\nusername = \"bridge\"\n\
             password = \"${{KAFKA_PASSWORD}}\"\n"
        )
    };
    refused(
        "wrong-password",
        &env("KAFKA_SASL_SSL"),
        &sasl("sasl_ssl", &ca, "scram-sha-512"),
        "TB-SECRET-not-the-password-#\"'\\",
        &[
            "invalid credentials with SASL mechanism SCRAM-SHA-512",
            "check [sink.kafka.sasl] username and password",
        ],
    );
    refused(
        "untrusted",
        &env("KAFKA_SASL_SSL"),
        &sasl("sasl_ssl", &tls_file("other-ca.pem"), "scram-sha-512"),
        &broker_password(),
        &[
            "certificate verify failed",
            // OpenSSL's own verdict: the chain the broker sends ends in its CA,
            // which the configured ca_file does not hold.
            "self-signed certificate in certificate chain",
            "check [sink.kafka.tls] ca_file",
        ],
    );
    refused(
        "expired",
        &env("KAFKA_EXPIRED_TLS"),
        &format!("security_protocol = \"ssl\"\n[sink.kafka.tls]\nca_file = \"{ca}\"\n"),
        "no password here",
        &[
            "certificate has expired",
            "until Jan  2 00:00:00 2020 GMT",
            "the broker's certificate has expired",
        ],
    );
    // The SASL_PLAINTEXT listener offers SCRAM-SHA-512 only.
    let wrong_mechanism = "security_protocol = \"sasl_plaintext\"\n[sink.kafka.sasl]\n\
        mechanism = \"plain\"\nusername = \"bridge\"\npassword = \"${KAFKA_PASSWORD}\"\n";
    refused(
        "wrong-mechanism",
        &env("KAFKA_SASL_PLAINTEXT"),
        wrong_mechanism,
        &broker_password(),
        &[
            "Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-512",
            "check [sink.kafka.sasl] mechanism",
        ],
    );
    refused(
        "no-client-certificate",
        &env("KAFKA_MTLS"),
        &format!("security_protocol = \"ssl\"\n[sink.kafka.tls]\nca_file = \"{ca}\"\n"),
        "no password here",
        &[
            "bad certificate",
            "check [sink.kafka.tls] cert_file and key_file",
        ],
    );
}

/// `validate` of a secured config: librdkafka's version and features, the settings
/// with every secret redacted, and exit 0; a certificate file that cannot be read is
/// named before anything starts.
#[test]
fn validate_prints_the_security_settings_redacted() {
    let secret = "TB-SECRET-validate-\"#\\";
    let text = format!(
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTCUSDT\"]\n\
         [instruments]\non_unavailable = \"unverified\"\ntimeout = \"1s\"\n\
         [sink]\nkind = \"kafka\"\n[sink.kafka]\nbrokers = \"127.0.0.1:1\"\n\
         compression = \"zstd\"\nsecurity_protocol = \"sasl_ssl\"\n\
         [sink.kafka.tls]\nca_file = \"{}\"\n[sink.kafka.sasl]\nmechanism = \"scram-sha-512\"\n\
         username = \"bridge\"\npassword = \"${{KAFKA_PASSWORD}}\"\n",
        tls_file("ca.pem")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secured.toml");
    std::fs::write(&path, &text).unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["--log", "debug", "validate", "--config"])
        .arg(&path)
        .env("KAFKA_PASSWORD", secret)
        .env("TICKBRIDGE__INSTRUMENTS__CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let features = stdout
        .lines()
        .find(|l| l.starts_with("librdkafka 2."))
        .unwrap_or_else(|| panic!("no librdkafka line: {stdout}"));
    for f in ["ssl", "sasl_scram", "sasl_oauthbearer", "zstd", "oidc"] {
        assert!(
            features.split([' ', ',']).any(|x| x == f),
            "{f} not built in: {features}"
        );
    }
    assert!(
        stdout.contains("kafka: sasl SCRAM-SHA-512 username bridge password <redacted>"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(SECRET_MARK) && !stderr.contains(SECRET_MARK),
        "{stdout}{stderr}"
    );

    let missing = text.replace(&tls_file("ca.pem"), "/nonexistent/ca.pem");
    std::fs::write(&path, missing).unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["validate", "--config"])
        .arg(&path)
        .env("KAFKA_PASSWORD", secret)
        .env("TICKBRIDGE__INSTRUMENTS__CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("sink.kafka.tls.ca_file: cannot read /nonexistent/ca.pem"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET_MARK), "{stderr}");
}

/// `validate --check` connects and says which part failed, by exit code: 0 all
/// good, 3 no broker, 4 refused (TLS or credentials), 5 topics missing.
#[test]
fn validate_check_names_what_failed_by_exit_code() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let prefix = unique("check");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("check.toml");
    let check = |brokers: &str, password: &str| {
        let text = format!(
            "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\", \"bbo\"]\nsymbols = [\"BTCUSDT\"]\n\
             [instruments]\non_unavailable = \"unverified\"\ntimeout = \"1s\"\n\
             [sink]\nkind = \"kafka\"\n[sink.kafka]\nbrokers = \"{brokers}\"\n\
             topic = \"{prefix}.{{kind}}\"\nsecurity_protocol = \"sasl_ssl\"\n\
             [sink.kafka.tls]\nca_file = \"{}\"\n[sink.kafka.sasl]\nmechanism = \"scram-sha-256\"\n\
             username = \"bridge\"\npassword = \"${{KAFKA_PASSWORD}}\"\n",
            tls_file("ca.pem")
        );
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(common::bin())
            .args(["validate", "--check", "--check-timeout", "5s", "--config"])
            .arg(&path)
            .env("KAFKA_PASSWORD", password)
            .env("TICKBRIDGE__INSTRUMENTS__CACHE_DIR", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stdout.contains(SECRET_MARK) && !stderr.contains(SECRET_MARK));
        (out.status.code().unwrap(), stdout)
    };
    let good = env("KAFKA_SASL_SSL");
    let (code, out) = check(&good, &broker_password());
    assert_eq!(code, 5, "{out}");
    assert!(
        out.contains(&format!(
            "check failed: kafka: topics missing: {prefix}.trade, {prefix}.bbo, {prefix}.status"
        )),
        "{out}"
    );
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", plaintext_brokers())
        .create()
        .unwrap();
    let topics: Vec<String> = ["trade", "bbo", "status"]
        .iter()
        .map(|k| format!("{prefix}.{k}"))
        .collect();
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| NewTopic::new(t, 2, TopicReplication::Fixed(1)))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for r in rt
        .block_on(admin.create_topics(&new, &AdminOptions::new()))
        .unwrap()
    {
        r.unwrap();
    }
    let (code, out) = check(&good, &broker_password());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("kafka: connected to 1 broker(s), authenticated"),
        "{out}"
    );
    assert!(
        out.contains(&format!("kafka: topic {prefix}.bbo: 2 partition(s)")),
        "{out}"
    );
    assert!(out.ends_with("check ok\n"), "{out}");

    let (code, out) = check(&good, "TB-SECRET-wrong");
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("invalid credentials with SASL mechanism SCRAM-SHA-256"),
        "{out}"
    );

    let (code, out) = check("127.0.0.1:1", &broker_password());
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("check failed: kafka: no broker reachable:"),
        "{out}"
    );
}

/// A minimal OIDC token endpoint (client-credentials grant): answers every POST whose
/// Basic credentials are `bridge:<secret>` with an unsigned JWT for the principal
/// `bridge` (the broker's default OAUTHBEARER validator accepts unsigned tokens), and
/// 401 otherwise. Returns its URL and the number of tokens it issued.
fn token_endpoint(secret: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use base64::Engine;
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
    let issued = std::sync::Arc::new(AtomicU32::new(0));
    let counter = issued.clone();
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bridge:{secret}"))
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = vec![0u8; 16384];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let authorized = request
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("authorization:") && l.contains(&want));
            let (status, body) = if authorized && request.contains("grant_type=client_credentials")
            {
                counter.fetch_add(1, Ordering::Relaxed);
                let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let jwt = format!(
                    "{}.{}.",
                    b64(r#"{"alg":"none"}"#),
                    b64(&format!(
                        r#"{{"sub":"bridge","iat":{now},"exp":{}}}"#,
                        now + 3600
                    ))
                );
                (
                    "200 OK",
                    format!(
                        r#"{{"access_token":"{jwt}","token_type":"bearer","expires_in":3600}}"#
                    ),
                )
            } else {
                (
                    "401 Unauthorized",
                    r#"{"error":"invalid_client"}"#.to_string(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, issued)
}

#[test]
fn oauthbearer_oidc_client_credentials_deliver() {
    let secret = "TB-SECRET-oidc-client";
    let (url, issued) = token_endpoint(secret);
    delivers(
        "oidc",
        &env("KAFKA_SASL_SSL"),
        &format!(
            "security_protocol = \"sasl_ssl\"\n[sink.kafka.tls]\nca_file = \"{}\"\n\
             [sink.kafka.sasl]\nmechanism = \"oauthbearer\"\n[sink.kafka.sasl.oidc]\n\
             token_endpoint = \"{url}\"\nclient_id = \"bridge\"\n\
             client_secret = \"${{KAFKA_PASSWORD}}\"\nscope = \"kafka\"\n",
            tls_file("ca.pem")
        ),
        secret,
    );
    assert!(issued.load(Ordering::Relaxed) >= 1, "no token was fetched");
}

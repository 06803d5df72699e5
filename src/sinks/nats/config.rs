//! `[sink.nats]` and `[sink.nats.stream]`: every field documented, unknown fields rejected.
//!
//! ```toml
//! [sink]
//! kind = "nats"
//! [sink.nats]
//! url = "${NATS_URL:-nats://127.0.0.1:4222}"
//! subject = "md.{exchange}.{kind}.{symbol}"
//! jetstream = true
//! [sink.nats.stream]
//! name = "MD"
//! create = true
//! duplicate_window = "2m"
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::subject::SubjectTemplate;
use crate::config::duration;

/// `[sink.nats]`: the connection, the subject of each record, and the delivery mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// Server URL, or several separated by commas (`nats://a:4222,nats://b:4222`).
    /// `tls://` requires TLS. Prefer the credential fields below to credentials inside
    /// the URL; logs and errors show URLs with any `user:pass@` part as `***@`.
    #[serde(default = "default_url")]
    pub url: String,
    /// Subject template; `{exchange}`, `{market}`, `{kind}` and `{symbol}` are replaced
    /// per record. Characters a subject token cannot hold (`.`, `*`, `>`, whitespace)
    /// in the replaced values become `_`, so every placeholder stays one token.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// `true`: JetStream, every record awaited for its PubAck, `Nats-Msg-Id` = record
    /// `id` (server-side dedup). `false`: core NATS, a flush per batch (the server
    /// received the batch; no persistence, no dedup).
    #[serde(default = "default_true")]
    pub jetstream: bool,
    /// How JetStream records are published: `fast_batch` (default): batches of 64
    /// records or more go out as fast-ingest batches (ADR-50, nats-server 2.14+, stream
    /// `allow_batched`; see `fast_batch.rs`): a flow ack every 250 messages and one
    /// PubAck per fast batch, about 40% less of the bridge's CPU per record; falls back
    /// to `per_message` on its own when the server or stream does not allow it.
    /// `per_message`: one PubAck per record (counts `duplicates` exactly; fast batches
    /// drop duplicates without saying which).
    #[serde(default)]
    pub publish: PublishMode,
    /// Upper bound of PubAcks outstanding at once, across all batches in flight
    /// (JetStream). Publishing waits for room beyond it.
    #[serde(default = "default_max_outstanding_acks")]
    pub max_outstanding_acks: usize,
    /// How long one PubAck (JetStream) or one batch flush (core NATS) is awaited before
    /// the attempt counts as timed out and is retried (within `[sink] delivery_timeout`).
    #[serde(default = "default_ack_timeout", deserialize_with = "duration")]
    pub ack_timeout: Duration,
    /// First delay between retries of a failed publish; doubles up to `retry_backoff_max`.
    #[serde(default = "default_retry_backoff_min", deserialize_with = "duration")]
    pub retry_backoff_min: Duration,
    /// Longest delay between retries of a failed publish.
    #[serde(default = "default_retry_backoff_max", deserialize_with = "duration")]
    pub retry_backoff_max: Duration,
    /// Bound on establishing the first connection at startup (each reconnect attempt too).
    #[serde(default = "default_connect_timeout", deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Longest delay between reconnect attempts after the connection is lost
    /// (reconnects never give up; the delay grows from 0 to this).
    #[serde(default = "default_reconnect_delay_max", deserialize_with = "duration")]
    pub reconnect_delay_max: Duration,
    /// Connection name shown by the server (`nats server report connections`).
    #[serde(default = "default_name")]
    pub name: String,
    /// Token authentication (a secret: never shown).
    pub token: Option<crate::config::Secret>,
    /// User for user/password authentication (requires `password`).
    pub user: Option<String>,
    /// Password for user/password authentication (a secret: never shown).
    pub password: Option<crate::config::Secret>,
    /// A `.creds` file (user JWT + NKey seed), as `nsc` writes them.
    pub credentials: Option<PathBuf>,
    /// Require TLS even when the URL is `nats://`.
    #[serde(default)]
    pub tls: bool,
    /// PEM file of the CA(s) that signed the server certificate (implies TLS).
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// A core-NATS subject that also receives each dead letter (the same JSON object
    /// the `[sink.dead_letter] path` file gets), in addition to or instead of the file.
    pub dead_letter_subject: Option<String>,
    /// The JetStream stream (JetStream mode only).
    #[serde(default)]
    pub stream: StreamSettings,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: default_url(),
            subject: default_subject(),
            jetstream: true,
            publish: PublishMode::default(),
            max_outstanding_acks: default_max_outstanding_acks(),
            ack_timeout: default_ack_timeout(),
            retry_backoff_min: default_retry_backoff_min(),
            retry_backoff_max: default_retry_backoff_max(),
            connect_timeout: default_connect_timeout(),
            reconnect_delay_max: default_reconnect_delay_max(),
            name: default_name(),
            token: None,
            user: None,
            password: None,
            credentials: None,
            tls: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            dead_letter_subject: None,
            stream: StreamSettings::default(),
        }
    }
}

/// `[sink.nats] publish`: how JetStream records are published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    #[default]
    FastBatch,
    PerMessage,
}

/// `[sink.nats.stream]`: which stream receives the records, and whether the bridge
/// creates it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSettings {
    /// Stream name (no spaces, `.`, `*` or `>`).
    #[serde(default = "default_stream_name")]
    pub name: String,
    /// `true`: create the stream at startup when it is missing, or update it to these
    /// settings. `false`: it must exist already; startup fails naming it otherwise.
    #[serde(default = "default_true")]
    pub create: bool,
    /// Subjects the stream captures (on create/update). Default: the subject template
    /// with each placeholder token as `*` (`md.{exchange}.{kind}.{symbol}` → `md.*.*.*`).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// `limits` (keep until max_age / max_bytes), `interest` or `workqueue`.
    #[serde(default)]
    pub retention: Retention,
    /// Oldest age a message is kept; `"0s"` = no limit.
    #[serde(default = "default_max_age", deserialize_with = "duration")]
    pub max_age: Duration,
    /// Size bound of the stream in bytes (oldest messages go first); -1 = no limit.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: i64,
    /// Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate: a record
    /// retried or replayed within it is stored once.
    #[serde(default = "default_duplicate_window", deserialize_with = "duration")]
    pub duplicate_window: Duration,
    /// `file` (persistent) or `memory`.
    #[serde(default)]
    pub storage: Storage,
    /// Replicas in a cluster (1 on a single server).
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// When the server writes a message to its files, relative to the PubAck (on
    /// create only: the server refuses to change it on an existing stream).
    #[serde(default)]
    pub persist_mode: PersistMode,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            name: default_stream_name(),
            create: true,
            subjects: Vec::new(),
            retention: Retention::default(),
            max_age: default_max_age(),
            max_bytes: default_max_bytes(),
            duplicate_window: default_duplicate_window(),
            storage: Storage::default(),
            replicas: default_replicas(),
            persist_mode: PersistMode::default(),
        }
    }
}

/// Stream persist mode (nats-server 2.12+, stream `persist_mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersistMode {
    /// The server writes each message to its file (the OS page cache) before its
    /// PubAck: an acknowledged record survives a crash of the server process.
    #[default]
    Default,
    /// The server acknowledges first and writes in runs of up to 16 KiB within ~8 ms:
    /// a crash of the server *process* loses what it acknowledged in those last
    /// milliseconds. On a single file-storage server it stores ~20-30% more messages
    /// per second (BENCHMARKS.md), because the per-message write leaves the stream's
    /// one ingest loop. File storage and one replica only.
    Async,
}

/// Stream retention policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    #[default]
    Limits,
    Interest,
    Workqueue,
}

/// Stream storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    #[default]
    File,
    Memory,
}

fn default_url() -> String {
    "nats://127.0.0.1:4222".into()
}
fn default_subject() -> String {
    "md.{exchange}.{kind}.{symbol}".into()
}
fn default_true() -> bool {
    true
}
fn default_max_outstanding_acks() -> usize {
    8192
}
fn default_ack_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_retry_backoff_min() -> Duration {
    Duration::from_millis(100)
}
fn default_retry_backoff_max() -> Duration {
    Duration::from_secs(2)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_reconnect_delay_max() -> Duration {
    Duration::from_secs(2)
}
fn default_name() -> String {
    "tickbridge".into()
}
fn default_stream_name() -> String {
    "MD".into()
}
fn default_max_age() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_max_bytes() -> i64 {
    -1
}
fn default_duplicate_window() -> Duration {
    Duration::from_secs(120)
}
fn default_replicas() -> usize {
    1
}

impl NatsConfig {
    /// Checks the fields; the error names the field (relative to `sink.nats`) and why.
    pub fn validate(&self) -> Result<SubjectTemplate, (String, String)> {
        let bad = |f: &str, why: String| Err((f.to_string(), why));
        let template = SubjectTemplate::parse(&self.subject).map_err(|e| ("subject".into(), e))?;
        if self.url.trim().is_empty() {
            return bad(
                "url",
                "empty: give a server URL such as nats://127.0.0.1:4222".into(),
            );
        }
        if self.max_outstanding_acks == 0 {
            return bad("max_outstanding_acks", "must be at least 1".into());
        }
        if self.ack_timeout.is_zero() {
            return bad("ack_timeout", "must be above zero".into());
        }
        if self.retry_backoff_min.is_zero() || self.retry_backoff_min > self.retry_backoff_max {
            return bad(
                "retry_backoff_min",
                "must be above zero and not exceed retry_backoff_max".into(),
            );
        }
        let (_, url_auth) =
            super::url_auth::split(&self.url).map_err(|why| ("url".to_string(), why))?;
        let methods = [
            self.token.is_some() || matches!(url_auth, Some(super::url_auth::UrlAuth::Token(_))),
            self.user.is_some()
                || self.password.is_some()
                || matches!(url_auth, Some(super::url_auth::UrlAuth::UserPassword(..))),
            self.credentials.is_some(),
        ];
        if url_auth.is_some()
            && (self.token.is_some() || self.user.is_some() || self.credentials.is_some())
        {
            return bad(
                "url",
                "the URL carries credentials and so do token/user/credentials: give them once"
                    .into(),
            );
        }
        if methods.iter().filter(|m| **m).count() > 1 {
            return bad(
                "token",
                "choose one authentication: token, user/password, or credentials".into(),
            );
        }
        if self.user.is_some() != self.password.is_some() {
            return bad(
                "user",
                "user and password go together: set both or neither".into(),
            );
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return bad(
                "tls_cert_file",
                "tls_cert_file and tls_key_file go together".into(),
            );
        }
        if let Some(dlq) = &self.dead_letter_subject {
            if !super::subject::is_valid_publish_subject(dlq) {
                return bad(
                    "dead_letter_subject",
                    format!("{dlq:?} is not a valid subject to publish to"),
                );
            }
        }
        if self.jetstream {
            let s = &self.stream;
            if s.name.is_empty()
                || s.name
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
            {
                return bad(
                    "stream.name",
                    format!(
                        "{:?} is not a valid stream name (no spaces, '.', '*', '>', '/')",
                        s.name
                    ),
                );
            }
            for (i, subj) in s.subjects.iter().enumerate() {
                if !super::subject::is_valid_filter(subj) {
                    return bad(
                        &format!("stream.subjects[{i}]"),
                        format!("{subj:?} is not a valid subject filter"),
                    );
                }
            }
            if s.replicas == 0 || s.replicas > 5 {
                return bad("stream.replicas", "must be between 1 and 5".into());
            }
            if s.persist_mode == PersistMode::Async
                && (s.storage != Storage::File || s.replicas != 1)
            {
                return bad(
                    "stream.persist_mode",
                    "\"async\" needs storage = \"file\" and replicas = 1 (the server refuses it otherwise)"
                        .into(),
                );
            }
            if s.max_bytes == 0 || s.max_bytes < -1 {
                return bad(
                    "stream.max_bytes",
                    "must be -1 (no limit) or a positive size".into(),
                );
            }
        }
        Ok(template)
    }

    /// The subjects the stream is created with.
    pub fn stream_subjects(&self, template: &SubjectTemplate) -> Vec<String> {
        if self.stream.subjects.is_empty() {
            vec![template.filter()]
        } else {
            self.stream.subjects.clone()
        }
    }

    /// The URL with any credentials replaced by `***`, for logs and errors.
    pub fn redacted_url(&self) -> String {
        self.url
            .split(',')
            .map(|u| {
                let u = u.trim();
                match (u.find("://"), u.rfind('@')) {
                    (Some(s), Some(at)) if at > s => format!("{}***{}", &u[..s + 3], &u[at..]),
                    (None, Some(at)) => format!("***{}", &u[at..]),
                    _ => u.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NatsConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_full_config_parse() {
        let c = parse("").unwrap();
        assert_eq!(c.subject, "md.{exchange}.{kind}.{symbol}");
        assert!(c.jetstream && c.stream.create);
        let t = c.validate().unwrap();
        assert_eq!(c.stream_subjects(&t), vec!["md.*.*.*".to_string()]);
        let c = parse(
            r#"
url = "tls://a:4222, tls://b:4222"
subject = "x.{market}.{symbol}"
jetstream = true
max_outstanding_acks = 100
ack_timeout = "2s"
token = "s3cret"
tls_ca_file = "/ca.pem"
dead_letter_subject = "md.dlq"
[stream]
name = "X"
create = false
subjects = ["x.>"]
retention = "interest"
max_age = "1h"
max_bytes = 1000000
duplicate_window = "5m"
storage = "memory"
replicas = 1
persist_mode = "default"
"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.stream.storage, Storage::Memory);
        assert_eq!(c.stream.duplicate_window, Duration::from_secs(300));
        assert_eq!(c.stream.persist_mode, PersistMode::Default);
        let c = parse("[stream]\npersist_mode = \"async\"").unwrap();
        c.validate().unwrap();
        assert_eq!(c.stream.persist_mode, PersistMode::Async);
        let err = parse("[stream]\npersist_mode = \"later\"").unwrap_err();
        assert!(
            err.contains("unknown variant `later`, expected `default` or `async`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = parse("subjct = \"x\"").unwrap_err();
        assert!(err.contains("unknown field `subjct`"), "{err}");
        let err = parse("[stream]\nnmae = \"x\"").unwrap_err();
        assert!(err.contains("unknown field `nmae`"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_field() {
        let cases = [
            ("subject = \"md.{exchange}.{sym}\"", "subject"),
            ("token = \"t\"\nuser = \"u\"\npassword = \"p\"", "token"),
            ("user = \"u\"", "user"),
            ("tls_cert_file = \"c.pem\"", "tls_cert_file"),
            ("[stream]\nname = \"a.b\"", "stream.name"),
            ("[stream]\nsubjects = [\"a..b\"]", "stream.subjects[0]"),
            ("max_outstanding_acks = 0", "max_outstanding_acks"),
            ("dead_letter_subject = \"dlq.*\"", "dead_letter_subject"),
            (
                "[stream]\npersist_mode = \"async\"\nstorage = \"memory\"",
                "stream.persist_mode",
            ),
            (
                "[stream]\npersist_mode = \"async\"\nreplicas = 3",
                "stream.persist_mode",
            ),
        ];
        for (text, field) in cases {
            let (f, why) = parse(text).unwrap().validate().unwrap_err();
            assert_eq!(f, field, "{text}: {why}");
        }
    }

    #[test]
    fn urls_are_redacted() {
        let mut c = NatsConfig {
            url: "nats://tok@h:4222, nats://u:p@h2:4222,nats://h3:4222".into(),
            ..Default::default()
        };
        assert_eq!(
            c.redacted_url(),
            "nats://***@h:4222,nats://***@h2:4222,nats://h3:4222"
        );
        c.url = "h:4222".into();
        assert_eq!(c.redacted_url(), "h:4222");
    }
}

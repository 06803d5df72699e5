//! `[sink.kafka.schema_registry]`: the Confluent Schema Registry REST API (also served
//! by Apicurio Registry's `ccompat` API, Redpanda, Karapace), used by the `avro`,
//! `protobuf` and `json_schema` encodings.
//!
//! At start the sink registers (`auto_register`, the default) or looks up the schema
//! of every kind under its subject; ids are cached for the life of the process, so
//! the registry is asked once per subject. Subjects follow the configured strategy:
//!
//! | `subject_strategy`       | subject of the `trade` schema on topic `md.trade` |
//! |--------------------------|----------------------------------------------------|
//! | `topic_name` (default)   | `md.trade-value`                                   |
//! | `record_name`            | `tickbridge.v1.Trade`                              |
//! | `topic_record_name`      | `md.trade-tickbridge.v1.Trade`                     |
//!
//! API used: `POST /subjects/{subject}/versions` (register, answers `{"id": N}`) and
//! `POST /subjects/{subject}` (look up, 404 with `error_code` 40401 / 40403 when the
//! subject or schema is missing), `GET /subjects` (`validate --check`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use tickbridge_schema::{fields, Kind};

use crate::config::secret::Secret;
use crate::sinks::Encoding;

/// `[sink.kafka.schema_registry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Base URL of the Confluent-compatible API, e.g. `https://psrc-xxxx.confluent.cloud`
    /// or Apicurio's `http://registry:8080/apis/ccompat/v7`.
    pub url: String,
    /// HTTP basic authentication (Confluent Cloud: the API key).
    #[serde(default)]
    pub username: Option<String>,
    /// Basic-auth password (Confluent Cloud: the API secret), normally `${VAR}`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A file holding the password (a mounted Secret).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the registry's certificate (default: the
    /// public web roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub subject_strategy: SubjectStrategy,
    /// Register the schemas at start (default). Off: look them up, and refuse to
    /// start when a kind the sources produce has none.
    #[serde(default = "default_true")]
    pub auto_register: bool,
    /// Per request.
    #[serde(
        default = "default_timeout",
        deserialize_with = "crate::config::duration"
    )]
    pub timeout: Duration,
}

fn default_true() -> bool {
    true
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// How a schema's subject is named (the Confluent serializers' strategies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectStrategy {
    #[default]
    TopicName,
    RecordName,
    TopicRecordName,
}

impl SubjectStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectStrategy::TopicName => "topic_name",
            SubjectStrategy::RecordName => "record_name",
            SubjectStrategy::TopicRecordName => "topic_record_name",
        }
    }

    /// The subject of `kind`'s schema on `topic`.
    pub fn subject(self, topic: &str, kind: Kind) -> String {
        let record = || format!("tickbridge.v1.{}", fields::type_name(kind));
        match self {
            SubjectStrategy::TopicName => format!("{topic}-value"),
            SubjectStrategy::RecordName => record(),
            SubjectStrategy::TopicRecordName => format!("{topic}-{}", record()),
        }
    }

    /// Whether the subject depends on the topic.
    pub fn uses_topic(self) -> bool {
        self != SubjectStrategy::RecordName
    }
}

/// What went wrong with the registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// No answer (connection refused, timeout, 5xx): retried.
    #[error("schema registry {url} unreachable: {why}")]
    Unreachable { url: String, why: String },
    /// The subject has no such schema and registering is off.
    #[error("schema registry has no {schema_type} schema of kind {kind} under subject {subject:?} (register it, or set sink.kafka.schema_registry.auto_register = true)")]
    Missing {
        subject: String,
        kind: &'static str,
        schema_type: &'static str,
    },
    /// The registry answered with an error (credentials, incompatible schema, ...).
    #[error("schema registry refused subject {subject:?}: HTTP {status}: {message}")]
    Refused {
        subject: String,
        status: u16,
        message: String,
    },
}

impl RegistryError {
    /// Worth asking again later (the registry may come back).
    pub fn is_retriable(&self) -> bool {
        matches!(self, RegistryError::Unreachable { .. })
    }
}

/// A registry client with its id cache.
pub struct Registry {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, Secret)>,
    encoding: Encoding,
    pub strategy: SubjectStrategy,
    auto_register: bool,
    ids: Mutex<HashMap<String, u32>>,
}

/// The body of a register or lookup request.
#[derive(serde::Serialize)]
struct SchemaRequest<'a> {
    schema: &'a str,
    #[serde(rename = "schemaType")]
    schema_type: &'a str,
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

impl Registry {
    /// Checks the settings and builds the client (no request is made).
    pub fn new(config: &RegistryConfig, encoding: Encoding) -> Result<Registry, String> {
        let url = url::Url::parse(&config.url).map_err(|e| format!("url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url: {:?} is not an http(s) URL", url.scheme()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "url: credentials in the URL are not accepted (they would be logged); use username and password"
                    .into(),
            );
        }
        if config.timeout.is_zero() {
            return Err("timeout: must be more than zero".into());
        }
        let password = match (&config.password, &config.password_file) {
            (Some(_), Some(_)) => {
                return Err("password and password_file: set one, not both".into())
            }
            (Some(p), None) => Some(p.clone()),
            (None, Some(f)) => {
                Some(Secret::from_file(f).map_err(|e| format!("password_file: {e}"))?)
            }
            (None, None) => None,
        };
        let auth = match (&config.username, password) {
            (Some(u), Some(p)) => Some((u.clone(), p)),
            (None, None) => None,
            (Some(_), None) => {
                return Err("username is set without password or password_file".into())
            }
            (None, Some(_)) => return Err("password is set without username".into()),
        };
        let mut http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout);
        if let Some(ca) = &config.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("ca_file: cannot read {}: {e}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("ca_file: {}: not a PEM certificate: {e}", ca.display()))?;
            http = http.add_root_certificate(cert);
        }
        let http = http
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Registry {
            http,
            base: config.url.trim_end_matches('/').to_string(),
            auth,
            encoding,
            strategy: config.subject_strategy,
            auto_register: config.auto_register,
            ids: Mutex::new(HashMap::new()),
        })
    }

    /// The schema id of `kind` on `topic`: from the cache, or registered / looked up.
    pub async fn id(&self, topic: &str, kind: Kind) -> Result<u32, RegistryError> {
        let subject = self.strategy.subject(topic, kind);
        if let Some(id) = self.cached(&subject) {
            return Ok(id);
        }
        let id = self.resolve(&subject, kind).await?;
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(subject.clone(), id);
        tracing::info!(
            subject,
            id,
            schema_type = self.encoding.schema_type(),
            registered = self.auto_register,
            "schema registry: schema id resolved"
        );
        Ok(id)
    }

    fn cached(&self, subject: &str) -> Option<u32> {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(subject)
            .copied()
    }

    async fn resolve(&self, subject: &str, kind: Kind) -> Result<u32, RegistryError> {
        let schema = self.encoding.schema_text(kind);
        let body = SchemaRequest {
            schema: &schema,
            schema_type: self.encoding.schema_type(),
        };
        let path = if self.auto_register {
            format!("/subjects/{}/versions", encode_segment(subject))
        } else {
            format!("/subjects/{}", encode_segment(subject))
        };
        let response = self
            .request(reqwest::Method::POST, &path)
            .body(serde_json::to_vec(&body).expect("a schema request serializes"))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return serde_json::from_str::<IdResponse>(&text)
                .map(|r| r.id)
                .map_err(|e| RegistryError::Refused {
                    subject: subject.to_string(),
                    status: status.as_u16(),
                    message: format!("unexpected answer ({e})"),
                });
        }
        let error: Option<ErrorResponse> = serde_json::from_str(&text).ok();
        let code = error.as_ref().and_then(|e| e.error_code);
        if status.as_u16() == 404 && !self.auto_register && matches!(code, Some(40401 | 40403)) {
            return Err(RegistryError::Missing {
                subject: subject.to_string(),
                kind: kind.as_str(),
                schema_type: self.encoding.schema_type(),
            });
        }
        if status.is_server_error() {
            return Err(RegistryError::Unreachable {
                url: self.base.clone(),
                why: format!("HTTP {status}"),
            });
        }
        let message = error
            .and_then(|e| e.message)
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(RegistryError::Refused {
            subject: subject.to_string(),
            status: status.as_u16(),
            message,
        })
    }

    /// `GET /subjects`: reachability and credentials (`validate --check`).
    pub async fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        let response = self
            .request(reqwest::Method::GET, "/subjects")
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(RegistryError::Refused {
                subject: String::new(),
                status: status.as_u16(),
                message: text.chars().take(200).collect(),
            });
        }
        serde_json::from_str(&text).map_err(|e| RegistryError::Refused {
            subject: String::new(),
            status: status.as_u16(),
            message: format!("unexpected answer ({e})"),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Accept", "application/vnd.schemaregistry.v1+json")
            .header("Content-Type", "application/vnd.schemaregistry.v1+json");
        if let Some((user, password)) = &self.auth {
            r = r.basic_auth(user, Some(password.expose()));
        }
        r
    }

    fn unreachable(&self, e: reqwest::Error) -> RegistryError {
        // reqwest's message names the URL, which holds no credentials (refused in `new`).
        RegistryError::Unreachable {
            url: self.base.clone(),
            why: error_chain(&e),
        }
    }
}

/// An error and its sources on one line (reqwest's own message is only the outermost).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Percent-encodes a subject for a URL path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> RegistryConfig {
        toml::from_str(&format!(
            "url = \"http://127.0.0.1:1/apis/ccompat/v7\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn subjects_by_strategy() {
        let k = Kind::OpenInterest;
        assert_eq!(
            SubjectStrategy::TopicName.subject("md.oi", k),
            "md.oi-value"
        );
        assert_eq!(
            SubjectStrategy::RecordName.subject("md.oi", k),
            "tickbridge.v1.OpenInterest"
        );
        assert_eq!(
            SubjectStrategy::TopicRecordName.subject("md.oi", k),
            "md.oi-tickbridge.v1.OpenInterest"
        );
        assert_eq!(encode_segment("a b/c-value"), "a%20b%2Fc-value");
    }

    #[test]
    fn settings_are_checked() {
        let err = |extra: &str| Registry::new(&config(extra), Encoding::Avro).err().unwrap();
        assert_eq!(
            err("username = \"key\""),
            "username is set without password or password_file"
        );
        assert_eq!(
            err("password = \"s3cr3t-XYZ\""),
            "password is set without username"
        );
        assert_eq!(err("timeout = \"0s\""), "timeout: must be more than zero");
        assert!(err("ca_file = \"/nonexistent/ca.pem\"")
            .starts_with("ca_file: cannot read /nonexistent/ca.pem"));
        let bad: RegistryConfig = toml::from_str("url = \"ftp://x\"").unwrap();
        assert_eq!(
            Registry::new(&bad, Encoding::Avro).err().unwrap(),
            "url: \"ftp\" is not an http(s) URL"
        );
        let creds: RegistryConfig =
            toml::from_str("url = \"https://key:s3cr3t-XYZ@sr.example\"").unwrap();
        let e = Registry::new(&creds, Encoding::Avro).err().unwrap();
        assert!(
            !e.contains("s3cr3t-XYZ") && e.contains("credentials in the URL"),
            "{e}"
        );
        assert!(Registry::new(
            &config("username = \"k\"\npassword = \"p\""),
            Encoding::Avro
        )
        .is_ok());
    }

    #[tokio::test]
    async fn an_unreachable_registry_is_retriable_and_named() {
        let r = Registry::new(&config("timeout = \"2s\""), Encoding::Protobuf).unwrap();
        let e = r.id("md.trade", Kind::Trade).await.unwrap_err();
        assert!(e.is_retriable(), "{e}");
        assert!(
            e.to_string()
                .starts_with("schema registry http://127.0.0.1:1/apis/ccompat/v7 unreachable: "),
            "{e}"
        );
    }

    /// A registry that wants basic auth: answers `{"id": 7}` to the right
    /// `Authorization` header and 401 to anything else, and records each request head.
    /// The server runs in the returned set (aborted if the test ends early).
    async fn basic_auth_registry(expected: String) -> (String, tokio::task::JoinSet<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut server = tokio::task::JoinSet::new();
        server.spawn(async move {
            let mut heads = Vec::new();
            for _ in 0..2 {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 65536];
                let n = conn.read(&mut buf).await.unwrap();
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let ok = head
                    .lines()
                    .any(|l| l.eq_ignore_ascii_case(&format!("authorization: {expected}")));
                let (status, body) = if ok {
                    ("200 OK", r#"{"id":7}"#)
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"error_code":401,"message":"Unauthorized"}"#,
                    )
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(answer.as_bytes()).await.unwrap();
                heads.push(head);
            }
            heads
        });
        (url, server)
    }

    #[tokio::test]
    async fn basic_auth_is_sent_and_a_refusal_names_no_secret() {
        use base64::Engine;
        let secret = "s3cr3t-SR-\"quoted\"#9";
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("key:{secret}"))
        );
        let (url, mut server) = basic_auth_registry(expected).await;
        let good: RegistryConfig = toml::from_str(&format!(
            "url = \"{url}\"\nusername = \"key\"\npassword = '{secret}'"
        ))
        .unwrap();
        let r = Registry::new(&good, Encoding::Avro).unwrap();
        assert_eq!(r.id("md.trade", Kind::Trade).await, Ok(7));
        // Cached: no second request for the same subject.
        assert_eq!(r.id("md.trade", Kind::Trade).await, Ok(7));
        let bad: RegistryConfig = toml::from_str(&format!(
            "url = \"{url}\"\nusername = \"key\"\npassword = 'wrong-{secret}'"
        ))
        .unwrap();
        let e = Registry::new(&bad, Encoding::Avro)
            .unwrap()
            .id("md.bbo", Kind::Bbo)
            .await
            .unwrap_err();
        assert!(!e.is_retriable());
        assert_eq!(
            e.to_string(),
            "schema registry refused subject \"md.bbo-value\": HTTP 401: Unauthorized"
        );
        assert!(!format!("{e:?}").contains("s3cr3t"));
        let heads = server.join_next().await.expect("the server task").unwrap();
        assert!(
            heads[0].starts_with("POST /subjects/md.trade-value/versions HTTP/1.1"),
            "{}",
            heads[0]
        );
        assert!(heads[0].contains(r#""schemaType":"AVRO""#), "{}", heads[0]);
        assert!(
            heads[1].starts_with("POST /subjects/md.bbo-value/versions "),
            "{}",
            heads[1]
        );
    }
}

//! How the Kafka sink authenticates and encrypts: `security_protocol`,
//! `[sink.kafka.tls]` and `[sink.kafka.sasl]`, checked as a whole (a field that the
//! protocol does not use, a missing password, an unreadable certificate are errors
//! naming the field) and turned into librdkafka's `security.protocol`, `ssl.*` and
//! `sasl.*` properties. Secrets come from `${VAR}` (the environment) or from files and
//! are handed only to librdkafka.
//!
//! ```toml
//! [sink.kafka]
//! brokers = "b-1.example:9096"
//! security_protocol = "sasl_ssl"     # plaintext (default) | ssl | sasl_plaintext | sasl_ssl
//! [sink.kafka.tls]
//! ca_file = "/etc/kafka/ca.pem"      # default: the system's CA store
//! cert_file = "/etc/kafka/client.pem"  # mTLS: the client certificate (PEM) ...
//! key_file = "/etc/kafka/client.key"   # ... and its private key (PEM)
//! # key_password_file = "/etc/kafka/key-pass"  # when the key is encrypted
//! verify_hostname = true             # the broker's name must match its certificate
//! [sink.kafka.sasl]
//! mechanism = "scram-sha-512"        # plain | scram-sha-256 | scram-sha-512 | oauthbearer
//! username = "bridge"
//! password = "${KAFKA_PASSWORD}"     # or password_file = "/var/run/secrets/kafka/password"
//! ```
//!
//! OAUTHBEARER takes its token either from a file (`token_file`, re-read whenever the
//! token nears its expiry: a sidecar or projected volume refreshes it) or from an OIDC
//! identity provider with client credentials (`[sink.kafka.sasl.oidc]`, librdkafka's
//! own OIDC client).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use serde::Deserialize;

use crate::config::Secret;

/// librdkafka `security.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::Ssl => "ssl",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    /// Whether the connection is encrypted.
    pub fn uses_tls(self) -> bool {
        self.tls()
    }

    fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// `[sink.kafka.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s) (PEM) the broker's certificate must chain to; default: the
    /// system's CA store (managed Kafka services use public CAs).
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
    /// Passphrase of an encrypted `key_file` (normally `${VAR}`).
    pub key_password: Option<Secret>,
    /// A file holding that passphrase (a mounted Secret).
    pub key_password_file: Option<PathBuf>,
    /// Check that the broker's certificate names the host connected to (librdkafka
    /// `ssl.endpoint.identification.algorithm=https`). Default true.
    #[serde(default = "default_true")]
    pub verify_hostname: bool,
}

/// SASL mechanisms librdkafka is built with here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Mechanism {
    #[serde(rename = "plain")]
    Plain,
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    #[serde(rename = "scram-sha-512")]
    ScramSha512,
    #[serde(rename = "oauthbearer")]
    Oauthbearer,
}

impl Mechanism {
    /// The name librdkafka (and the broker) use.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::Oauthbearer => "OAUTHBEARER",
        }
    }
}

/// `[sink.kafka.sasl]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslConfig {
    pub mechanism: Mechanism,
    /// PLAIN and SCRAM: the user name.
    pub username: Option<String>,
    /// PLAIN and SCRAM: the password (normally `${VAR}`).
    pub password: Option<Secret>,
    /// PLAIN and SCRAM: a file holding the password (a mounted Secret).
    pub password_file: Option<PathBuf>,
    /// OAUTHBEARER: a file holding the token (a JWT, or an opaque token with
    /// `token_lifetime`), re-read each time librdkafka asks for a fresh one.
    pub token_file: Option<PathBuf>,
    /// OAUTHBEARER with `token_file`: how long a token without an `exp` claim is
    /// valid. Default 1h.
    #[serde(
        default = "default_token_lifetime",
        deserialize_with = "crate::config::duration"
    )]
    pub token_lifetime: Duration,
    /// OAUTHBEARER with `token_file`: the principal when the token has no `sub` claim.
    pub principal: Option<String>,
    /// OAUTHBEARER from an OIDC identity provider (client credentials grant).
    pub oidc: Option<OidcConfig>,
}

/// `[sink.kafka.sasl.oidc]`: librdkafka's OIDC client (`sasl.oauthbearer.method=oidc`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The identity provider's token endpoint (`https://...`).
    pub token_endpoint: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub client_secret_file: Option<PathBuf>,
    /// Space-separated scopes, when the provider needs them.
    pub scope: Option<String>,
    /// SASL extensions (`key=value,key=value`), e.g. Confluent Cloud's
    /// `logicalCluster=lkc-..,identityPoolId=pool-..`.
    pub extensions: Option<String>,
}

fn default_true() -> bool {
    true
}
fn default_token_lifetime() -> Duration {
    Duration::from_secs(3600)
}

/// The security settings of `[sink.kafka]`, as one value.
#[derive(Debug, Clone, Copy)]
pub struct Security<'a> {
    pub protocol: SecurityProtocol,
    pub tls: Option<&'a TlsConfig>,
    pub sasl: Option<&'a SaslConfig>,
}

/// What is wrong with the security settings: the field (below `sink.kafka.`) and why.
pub type Problem = (String, String);

fn problem(field: &str, why: impl Into<String>) -> Problem {
    (field.to_string(), why.into())
}

/// A file the client will read must exist and be readable now, not at the first
/// connection attempt.
fn readable(field: &str, path: &Path) -> Result<(), Problem> {
    std::fs::File::open(path)
        .map(drop)
        .map_err(|e| problem(field, format!("cannot read {}: {e}", path.display())))
}

/// A secret given inline or as a file, exactly one of the two.
fn secret(
    inline: Option<&Secret>,
    file: Option<&Path>,
    field: &str,
    required: bool,
) -> Result<Option<Secret>, Problem> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(problem(
            field,
            format!("give {field} or {field}_file, not both"),
        )),
        (Some(s), None) => {
            if s.expose().is_empty() {
                Err(problem(field, "is empty"))
            } else {
                Ok(Some(s.clone()))
            }
        }
        (None, Some(p)) => Secret::from_file(p)
            .map(Some)
            .map_err(|why| problem(&format!("{field}_file"), why)),
        (None, None) if required => Err(problem(
            field,
            format!("required (write {field} = \"${{VAR}}\" or {field}_file = \"/path\")"),
        )),
        (None, None) => Ok(None),
    }
}

impl Security<'_> {
    /// Checks the settings as a whole and sets librdkafka's properties on `cc`.
    pub fn apply(&self, cc: &mut ClientConfig) -> Result<(), Problem> {
        let p = self.protocol;
        cc.set("security.protocol", p.as_str());
        match (p.tls(), self.tls) {
            (false, Some(_)) => {
                return Err(problem(
                    "tls",
                    format!(
                        "security_protocol = \"{}\" does not use TLS (use \"ssl\" or \"sasl_ssl\")",
                        p.as_str()
                    ),
                ))
            }
            (true, Some(tls)) => apply_tls(tls, cc)?,
            (true, None) => {
                cc.set("ssl.endpoint.identification.algorithm", "https");
            }
            (false, None) => {}
        }
        match (p.sasl(), self.sasl) {
            (false, Some(_)) => Err(problem(
                "sasl",
                format!(
                    "security_protocol = \"{}\" does not use SASL (use \"sasl_plaintext\" or \"sasl_ssl\")",
                    p.as_str()
                ),
            )),
            (true, None) => Err(problem(
                "sasl",
                format!(
                    "security_protocol = \"{}\" needs [sink.kafka.sasl] with a mechanism",
                    p.as_str()
                ),
            )),
            (true, Some(sasl)) => apply_sasl(sasl, cc),
            (false, None) => Ok(()),
        }
    }
}

fn apply_tls(tls: &TlsConfig, cc: &mut ClientConfig) -> Result<(), Problem> {
    if let Some(ca) = &tls.ca_file {
        readable("tls.ca_file", ca)?;
        cc.set("ssl.ca.location", ca.display().to_string());
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            readable("tls.cert_file", cert)?;
            readable("tls.key_file", key)?;
            cc.set("ssl.certificate.location", cert.display().to_string());
            cc.set("ssl.key.location", key.display().to_string());
        }
        (Some(_), None) => return Err(problem("tls.key_file", "required with tls.cert_file")),
        (None, Some(_)) => return Err(problem("tls.cert_file", "required with tls.key_file")),
        (None, None) => {}
    }
    let pass = secret(
        tls.key_password.as_ref(),
        tls.key_password_file.as_deref(),
        "tls.key_password",
        false,
    )?;
    if let Some(pass) = pass {
        if tls.key_file.is_none() {
            return Err(problem("tls.key_password", "only used with tls.key_file"));
        }
        cc.set("ssl.key.password", pass.expose());
    }
    cc.set(
        "ssl.endpoint.identification.algorithm",
        if tls.verify_hostname { "https" } else { "none" },
    );
    Ok(())
}

fn apply_sasl(sasl: &SaslConfig, cc: &mut ClientConfig) -> Result<(), Problem> {
    cc.set("sasl.mechanism", sasl.mechanism.as_str());
    let unused = |field: &str, present: bool| -> Result<(), Problem> {
        if present {
            Err(problem(
                &format!("sasl.{field}"),
                format!("not used with mechanism {}", sasl.mechanism.as_str()),
            ))
        } else {
            Ok(())
        }
    };
    match sasl.mechanism {
        Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
            unused("token_file", sasl.token_file.is_some())?;
            unused("principal", sasl.principal.is_some())?;
            unused("oidc", sasl.oidc.is_some())?;
            let user = sasl
                .username
                .as_deref()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    problem(
                        "sasl.username",
                        format!("required with mechanism {}", sasl.mechanism.as_str()),
                    )
                })?;
            let pass = secret(
                sasl.password.as_ref(),
                sasl.password_file.as_deref(),
                "sasl.password",
                true,
            )?
            .expect("required");
            cc.set("sasl.username", user);
            cc.set("sasl.password", pass.expose());
        }
        Mechanism::Oauthbearer => {
            unused("username", sasl.username.is_some())?;
            unused(
                "password",
                sasl.password.is_some() || sasl.password_file.is_some(),
            )?;
            match (&sasl.token_file, &sasl.oidc) {
                (Some(_), Some(_)) => {
                    return Err(problem(
                        "sasl.token_file",
                        "give token_file or [sink.kafka.sasl.oidc], not both",
                    ))
                }
                (None, None) => {
                    return Err(problem(
                        "sasl",
                        "mechanism OAUTHBEARER needs token_file or [sink.kafka.sasl.oidc]",
                    ))
                }
                (Some(file), None) => {
                    readable("sasl.token_file", file)?;
                    if sasl.token_lifetime.is_zero() {
                        return Err(problem("sasl.token_lifetime", "must be above zero"));
                    }
                }
                (None, Some(oidc)) => {
                    unused("principal", sasl.principal.is_some())?;
                    apply_oidc(oidc, cc)?;
                }
            }
        }
    }
    Ok(())
}

fn apply_oidc(oidc: &OidcConfig, cc: &mut ClientConfig) -> Result<(), Problem> {
    let url = url::Url::parse(&oidc.token_endpoint)
        .map_err(|e| problem("sasl.oidc.token_endpoint", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(problem(
            "sasl.oidc.token_endpoint",
            "must be an https:// (or http://) URL",
        ));
    }
    if oidc.client_id.is_empty() {
        return Err(problem("sasl.oidc.client_id", "is empty"));
    }
    let secret = secret(
        oidc.client_secret.as_ref(),
        oidc.client_secret_file.as_deref(),
        "sasl.oidc.client_secret",
        true,
    )?
    .expect("required");
    cc.set("sasl.oauthbearer.method", "oidc")
        .set("sasl.oauthbearer.token.endpoint.url", &oidc.token_endpoint)
        .set("sasl.oauthbearer.client.id", &oidc.client_id)
        .set("sasl.oauthbearer.client.secret", secret.expose());
    if let Some(scope) = &oidc.scope {
        cc.set("sasl.oauthbearer.scope", scope);
    }
    if let Some(ext) = &oidc.extensions {
        cc.set("sasl.oauthbearer.extensions", ext);
    }
    Ok(())
}

/// An OAUTHBEARER token read from `token_file`: its value, when it expires and whose
/// it is (a JWT's `exp` and `sub` claims; otherwise `token_lifetime` from now and the
/// configured `principal`).
#[derive(Debug)]
pub struct FileToken {
    pub value: String,
    pub lifetime_ms: i64,
    pub principal: String,
}

/// Reads the token file of `sasl` (errors name the file and the reason, never the
/// token).
pub fn read_token(sasl: &SaslConfig, now_ms: i64) -> Result<FileToken, String> {
    let path = sasl
        .token_file
        .as_deref()
        .ok_or("no sasl.token_file configured")?;
    let value = Secret::from_file(path)
        .map_err(|e| format!("sasl.token_file: {e}"))?
        .expose()
        .trim()
        .to_string();
    let claims = jwt_claims(&value);
    let exp_ms = claims
        .as_ref()
        .and_then(|c| c.get("exp"))
        .and_then(|e| e.as_f64())
        .map(|s| (s * 1000.0) as i64);
    let lifetime_ms = exp_ms.unwrap_or(now_ms + sasl.token_lifetime.as_millis() as i64);
    if lifetime_ms <= now_ms {
        return Err(format!(
            "sasl.token_file: the token in {} has expired (its exp claim is in the past)",
            path.display()
        ));
    }
    let principal = claims
        .as_ref()
        .and_then(|c| c.get("sub"))
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .or_else(|| sasl.principal.clone())
        .ok_or_else(|| {
            format!(
                "sasl.token_file: the token in {} has no sub claim; set sasl.principal",
                path.display()
            )
        })?;
    Ok(FileToken {
        value,
        lifetime_ms,
        principal,
    })
}

/// The token of `sasl.token_file` as librdkafka takes it, read now.
pub fn token_now(sasl: &SaslConfig) -> Result<rdkafka::client::OAuthToken, String> {
    let now_ms = tickbridge_connectors::time::now_ns() / 1_000_000;
    read_token(sasl, now_ms).map(|t| rdkafka::client::OAuthToken {
        token: t.value,
        principal_name: t.principal,
        lifetime_ms: t.lifetime_ms,
    })
}

/// The claims of a JWT (`header.claims.signature`, base64url), when `token` is one.
fn jwt_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (_header, claims) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "TB-SECRET-pa\"ss#w\\rd";

    fn kafka(text: &str) -> crate::sinks::kafka::KafkaConfig {
        let text = format!("[sink]\nkind = \"kafka\"\n[sink.kafka]\n{text}\n");
        crate::config::Config::parse(&text, "t")
            .unwrap()
            .sinks
            .remove(0)
            .kafka
    }

    fn apply(k: &crate::sinks::kafka::KafkaConfig) -> Result<ClientConfig, Problem> {
        let mut cc = ClientConfig::new();
        k.security().apply(&mut cc).map(|()| cc)
    }

    #[test]
    fn scram_over_tls_sets_librdkafkas_properties() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "x").unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, format!("{SECRET}\n")).unwrap();
        let k = kafka(&format!(
            "security_protocol = \"sasl_ssl\"\n[sink.kafka.tls]\nca_file = \"{}\"\n\
             [sink.kafka.sasl]\nmechanism = \"scram-sha-512\"\nusername = \"bridge\"\n\
             password_file = \"{}\"\n",
            ca.display(),
            pw.display()
        ));
        let cc = apply(&k).unwrap();
        assert_eq!(cc.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(cc.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(cc.get("sasl.username"), Some("bridge"));
        assert_eq!(cc.get("sasl.password"), Some(SECRET));
        assert_eq!(cc.get("ssl.ca.location"), Some(ca.to_str().unwrap()));
        assert_eq!(
            cc.get("ssl.endpoint.identification.algorithm"),
            Some("https")
        );
        assert!(!format!("{k:?}").contains("TB-SECRET"));
    }

    #[test]
    fn inconsistent_settings_name_the_field() {
        let cases = [
            (
                "[sink.kafka.sasl]\nmechanism = \"plain\"\nusername = \"u\"\npassword = \"p\"\n",
                "sasl",
                "does not use SASL",
            ),
            (
                "security_protocol = \"sasl_ssl\"\n",
                "sasl",
                "needs [sink.kafka.sasl]",
            ),
            (
                "security_protocol = \"sasl_plaintext\"\n[sink.kafka.sasl]\nmechanism = \"scram-sha-256\"\nusername = \"u\"\n",
                "sasl.password",
                "required",
            ),
            (
                "security_protocol = \"sasl_plaintext\"\n[sink.kafka.sasl]\nmechanism = \"plain\"\npassword = \"p\"\n",
                "sasl.username",
                "required with mechanism PLAIN",
            ),
            (
                "security_protocol = \"ssl\"\n[sink.kafka.tls]\ncert_file = \"/etc/hostname\"\n",
                "tls.key_file",
                "required with tls.cert_file",
            ),
            (
                "security_protocol = \"ssl\"\n[sink.kafka.tls]\nca_file = \"/nonexistent/ca.pem\"\n",
                "tls.ca_file",
                "cannot read /nonexistent/ca.pem",
            ),
            (
                "[sink.kafka.tls]\n",
                "tls",
                "does not use TLS",
            ),
            (
                "security_protocol = \"sasl_ssl\"\n[sink.kafka.sasl]\nmechanism = \"oauthbearer\"\n",
                "sasl",
                "needs token_file or [sink.kafka.sasl.oidc]",
            ),
            (
                "security_protocol = \"sasl_ssl\"\n[sink.kafka.sasl]\nmechanism = \"oauthbearer\"\n[sink.kafka.sasl.oidc]\ntoken_endpoint = \"ftp://idp\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
                "sasl.oidc.token_endpoint",
                "https://",
            ),
        ];
        for (text, field, why) in cases {
            let (f, w) = apply(&kafka(text)).unwrap_err();
            assert_eq!(f, field, "{text}");
            assert!(w.contains(why), "{text}: {w}");
        }
    }

    #[test]
    fn oidc_and_mtls() {
        let k = kafka(
            "security_protocol = \"sasl_ssl\"\n[sink.kafka.tls]\ncert_file = \"/etc/hostname\"\n\
             key_file = \"/etc/hostname\"\nverify_hostname = false\n[sink.kafka.sasl]\n\
             mechanism = \"oauthbearer\"\n[sink.kafka.sasl.oidc]\n\
             token_endpoint = \"https://idp.example/token\"\nclient_id = \"bridge\"\n\
             client_secret = \"TB-SECRET-oidc\"\nscope = \"kafka\"\n",
        );
        let cc = apply(&k).unwrap();
        assert_eq!(cc.get("sasl.oauthbearer.method"), Some("oidc"));
        assert_eq!(
            cc.get("sasl.oauthbearer.client.secret"),
            Some("TB-SECRET-oidc")
        );
        assert_eq!(cc.get("sasl.oauthbearer.scope"), Some("kafka"));
        assert_eq!(cc.get("ssl.certificate.location"), Some("/etc/hostname"));
        assert_eq!(
            cc.get("ssl.endpoint.identification.algorithm"),
            Some("none")
        );
        assert!(!format!("{k:?}").contains("TB-SECRET"));
    }

    #[test]
    fn token_files_carry_their_expiry_and_principal() {
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.",
            b64(r#"{"alg":"none"}"#),
            b64(r#"{"sub":"bridge","exp":2000000000,"iat":1}"#)
        );
        std::fs::write(&file, format!("{jwt}\n")).unwrap();
        let mut sasl = SaslConfig {
            mechanism: Mechanism::Oauthbearer,
            username: None,
            password: None,
            password_file: None,
            token_file: Some(file.clone()),
            token_lifetime: Duration::from_secs(60),
            principal: None,
            oidc: None,
        };
        let t = read_token(&sasl, 1_000).unwrap();
        assert_eq!(t.value, jwt);
        assert_eq!(t.lifetime_ms, 2_000_000_000_000);
        assert_eq!(t.principal, "bridge");
        let err = read_token(&sasl, 2_000_000_000_001).unwrap_err();
        assert!(err.contains("has expired"), "{err}");
        std::fs::write(&file, "opaque-TB-SECRET").unwrap();
        let err = read_token(&sasl, 1_000).unwrap_err();
        assert!(
            err.contains("no sub claim") && !err.contains("TB-SECRET"),
            "{err}"
        );
        sasl.principal = Some("svc".into());
        let t = read_token(&sasl, 1_000).unwrap();
        assert_eq!((t.lifetime_ms, t.principal.as_str()), (61_000, "svc"));
    }
}

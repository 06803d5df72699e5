//! Why a TLS handshake with the broker failed, in OpenSSL's own words. librdkafka
//! reports only "certificate verify failed"; an operator needs to know whether the
//! certificate expired, is not yet valid, comes from an unknown CA or names another
//! host. When librdkafka reports such a failure, the sink repeats the handshake once
//! with the same CA and client certificate (this module) and reads the verification
//! result, so the one error it logs names the cause.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use std::sync::{Arc, Mutex};

use openssl::ssl::{HandshakeError, SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use openssl::x509::{X509Ref, X509VerifyResult};

use super::security::TlsConfig;

/// How long the probe may take to connect and to shake hands.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The broker address (`host:port`) in a librdkafka error text
/// (`ssl://127.0.0.1:9096/bootstrap: ...`).
pub fn broker_of(reason: &str) -> Option<&str> {
    let after = &reason[reason.find("://")? + 3..];
    let addr = &after[..after.find(['/', ' ']).unwrap_or(after.len())];
    addr.contains(':').then_some(addr)
}

/// Repeats the TLS handshake with `addr` and returns OpenSSL's verification result
/// when it fails (`certificate has expired (the certificate CN=127.0.0.1 is valid from
/// Jan  1 00:00:00 2020 GMT until Jan  2 00:00:00 2020 GMT)`); `None` when the handshake succeeds or the broker
/// cannot be reached.
pub fn probe(addr: &str, tls: Option<&TlsConfig>) -> Option<String> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
    if let Some(tls) = tls {
        if let Some(ca) = &tls.ca_file {
            builder.set_ca_file(ca).ok()?;
        }
        // A client certificate only matters to the broker's check, which comes after
        // ours; an encrypted key is skipped (the probe is about the broker's side).
        if let (Some(cert), Some(key), None, None) = (
            &tls.cert_file,
            &tls.key_file,
            &tls.key_password,
            &tls.key_password_file,
        ) {
            let _ = builder.set_certificate_chain_file(cert);
            let _ = builder.set_private_key_file(key, SslFiletype::PEM);
        }
    }
    let connector = builder.build();
    let sock = addr.to_socket_addrs().ok()?.next()?;
    let stream = TcpStream::connect_timeout(&sock, PROBE_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(PROBE_TIMEOUT)).ok()?;
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let mut config = connector.configure().ok()?;
    if tls.is_some_and(|t| !t.verify_hostname) {
        config.set_verify_hostname(false);
    }
    // The certificate that failed, as OpenSSL's verification saw it (after a failed
    // handshake the peer certificate is no longer at hand).
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = failed.clone();
    config.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if !ok {
            if let Some(cert) = ctx.current_cert() {
                let mut slot = seen.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert_with(|| describe(cert));
            }
        }
        ok
    });
    match config.connect(host, stream) {
        Ok(_) => None,
        Err(HandshakeError::Failure(mid)) | Err(HandshakeError::WouldBlock(mid)) => {
            let verify = mid.ssl().verify_result();
            if verify == X509VerifyResult::OK {
                return Some(mid.error().to_string());
            }
            let cert = failed.lock().unwrap_or_else(|p| p.into_inner()).take();
            Some(match cert {
                Some(c) => format!("{} ({c})", verify.error_string()),
                None => verify.error_string().to_string(),
            })
        }
        Err(HandshakeError::SetupFailure(_)) => None,
    }
}

/// `the certificate CN=.. is valid from .. until ..`.
fn describe(cert: &X509Ref) -> String {
    let subject: Vec<String> = cert
        .subject_name()
        .entries()
        .filter_map(|e| {
            Some(format!(
                "{}={}",
                e.object().nid().short_name().ok()?,
                String::from_utf8_lossy(e.data().as_slice())
            ))
        })
        .collect();
    format!(
        "the certificate {} is valid from {} until {}",
        subject.join(","),
        cert.not_before(),
        cert.not_after()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_broker_in_librdkafkas_text() {
        assert_eq!(
            broker_of("ssl://127.0.0.1:9096/bootstrap: SSL handshake failed: x"),
            Some("127.0.0.1:9096")
        );
        assert_eq!(
            broker_of("sasl_ssl://b-1.example.com:9096/1: error:0A000086"),
            Some("b-1.example.com:9096")
        );
        assert_eq!(broker_of("no address here"), None);
    }
}

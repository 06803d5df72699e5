//! Credentials written into a NATS URL (`nats://TOKEN@host:4222`,
//! `nats://user:password@host:4222`), as the NATS clients of other languages take
//! them. async-nats ignores a URL's user info, so the sink reads it here (percent-
//! decoded: a password holding `@`, `:` or `/` is written `%40`, `%3A`, `%2F`), hands
//! it over as token or user/password, and connects to the URLs without it: no URL the
//! client library logs (its server addresses, at debug) holds a credential.

use url::Url;

/// The credentials of a server URL list.
#[derive(Clone, PartialEq, Eq)]
pub enum UrlAuth {
    Token(String),
    UserPassword(String, String),
}

impl std::fmt::Debug for UrlAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlAuth::Token(_) => f.write_str("Token(<redacted>)"),
            UrlAuth::UserPassword(u, _) => write!(f, "UserPassword({u:?}, <redacted>)"),
        }
    }
}

/// The URLs of `urls` (comma-separated) without their user info, and the
/// credentials they held. Several URLs may all carry the same credentials or none;
/// different ones are an error (one connection authenticates one way). Errors never
/// show a credential.
pub fn split(urls: &str) -> Result<(Vec<String>, Option<UrlAuth>), String> {
    let mut servers = Vec::new();
    let mut auth: Option<UrlAuth> = None;
    for (i, raw) in urls.split(',').map(str::trim).enumerate() {
        let with_scheme = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("nats://{raw}")
        };
        let Ok(mut url) = Url::parse(&with_scheme) else {
            // Left to the client, which names what is wrong (no credential in it).
            servers.push(raw.to_string());
            continue;
        };
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| {
                format!(
                    "url #{}: the user info is not valid percent-encoding",
                    i + 1
                )
            })
        };
        let this = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(pass)) => Some(UrlAuth::UserPassword(decode(user)?, decode(pass)?)),
            (token, None) => Some(UrlAuth::Token(decode(token)?)),
        };
        if let Some(this) = this {
            match &auth {
                Some(a) if *a != this => {
                    return Err(format!(
                        "url #{}: its credentials differ from an earlier URL's; give one set",
                        i + 1
                    ))
                }
                _ => auth = Some(this),
            }
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        servers.push(url.to_string().trim_end_matches('/').to_string());
    }
    Ok((servers, auth))
}

/// `%XX` sequences decoded (UTF-8); `None` when they do not decode.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_becomes_credentials_and_leaves_the_urls() {
        let (servers, auth) = split("nats://s3cr%40t@127.0.0.1:4222").unwrap();
        assert_eq!(servers, ["nats://127.0.0.1:4222"]);
        assert_eq!(auth, Some(UrlAuth::Token("s3cr@t".into())));
        let (servers, auth) =
            split("nats://bridge:p%3Ass%2Fw@a:4222, nats://bridge:p%3Ass%2Fw@b:4222").unwrap();
        assert_eq!(servers, ["nats://a:4222", "nats://b:4222"]);
        assert_eq!(
            auth,
            Some(UrlAuth::UserPassword("bridge".into(), "p:ss/w".into()))
        );
        assert!(!format!("{auth:?}").contains("p:ss"));
        let (servers, auth) = split("tls://h:4443,h2").unwrap();
        assert_eq!(servers, ["tls://h:4443", "nats://h2"]);
        assert_eq!(auth, None);
        let err = split("nats://a:TB-SECRET-1@h,nats://a:TB-SECRET-2@h2").unwrap_err();
        assert!(
            err.contains("url #2") && !err.contains("TB-SECRET"),
            "{err}"
        );
    }
}

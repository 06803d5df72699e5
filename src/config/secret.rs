//! Secret settings (passwords, client secrets, key passphrases): a value that never
//! shows itself. Its `Debug` prints `<redacted>`, it has no `Display`, and the only way
//! to the text is [`Secret::expose`], called where the value is handed to a client
//! library. A secret comes from the config (normally `${VAR}`, filled from the
//! environment after parsing) or from a file ([`Secret::from_file`]).

use std::path::Path;

use serde::{Deserialize, Deserializer};

/// A secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret's text, for the client library that needs it (never for output).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first line of a file (a mounted Kubernetes Secret ends in a newline or not):
    /// the trailing `\n` / `\r\n` is not part of the secret. The error names the file and
    /// the reason, never the content.
    pub fn from_file(path: &Path) -> Result<Secret, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value = text.strip_suffix('\n').unwrap_or(&text);
        let value = value.strip_suffix('\r').unwrap_or(value);
        if value.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(Secret(value.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_itself() {
        let s = Secret::new("hunter2-SECRET");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2-SECRET");
    }

    #[test]
    fn reads_the_first_line_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "pa\"ss#word\\\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "pa\"ss#word\\");
        std::fs::write(&p, "").unwrap();
        assert!(Secret::from_file(&p).unwrap_err().ends_with("is empty"));
        let err = Secret::from_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.starts_with("cannot read "), "{err}");
    }
}

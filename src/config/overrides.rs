//! Settings from the environment and the command line, layered over the config file.
//!
//! Precedence, highest first: `--set PATH=VALUE` flags (later flags win over earlier
//! ones), then `TICKBRIDGE__...` environment variables, then the config file (after its
//! `${VAR}` interpolation), then the built-in defaults.
//!
//! - A flag names a setting by its dotted TOML path: `--set sink.kind=kafka`,
//!   `--set source.0.ws_url=ws://127.0.0.1:9443`, `--set 'sink.kafka.options."linger.ms"=5'`
//!   (quote a key that holds a dot; a number indexes a list such as `source`).
//! - An environment variable is `TICKBRIDGE__` followed by the path in upper case with
//!   `__` between the segments: `TICKBRIDGE__SINK__KIND=kafka`,
//!   `TICKBRIDGE__SOURCE__0__WS_URL=...`, `TICKBRIDGE__BATCH__MAX_EVENTS=500`. Segments
//!   are lower-cased. (The double underscore keeps these apart from the runtime
//!   variables `TICKBRIDGE_CONFIG`, `TICKBRIDGE_LOG`, ... and from field names that
//!   hold an underscore.)
//! - A value is read as a TOML value when it is one (`500`, `true`, `["trade","bbo"]`,
//!   `"quoted text"`, `{ "linger.ms" = "5" }`) and as a plain string otherwise (`kafka`,
//!   `20s`, `127.0.0.1:0`, `nats://host:4222`). A number or boolean given for a setting
//!   that is a string is taken as that string (`TICKBRIDGE__SINK__NATS__TOKEN=1234`).
//!
//! Overrides are applied to the parsed TOML tree before it is deserialized, so an
//! unknown or invalid setting fails with the same message as in the file, naming the
//! setting and where it came from.

use std::fmt;

use serde::Deserialize;
use toml::{Table, Value};

use super::ConfigError;

/// The prefix of setting variables (`TICKBRIDGE__SINK__KIND`).
pub const ENV_PREFIX: &str = "TICKBRIDGE__";

/// Where an override came from (error messages, the startup log, `validate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable, by name.
    Env(String),
    /// A `--set` flag.
    Flag,
}

/// One setting: a path into the TOML tree and its raw text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub path: Vec<String>,
    pub raw: String,
    pub origin: Origin,
}

impl Override {
    /// The dotted path, quoting segments that need it (`sink.kafka.options."linger.ms"`).
    pub fn dotted(&self) -> String {
        dotted(&self.path)
    }
}

/// `sink.kind from TICKBRIDGE__SINK__KIND`; values are never shown (they may be secrets).
impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Env(var) => write!(f, "{} from {var}", self.dotted()),
            Origin::Flag => write!(f, "{} from --set", self.dotted()),
        }
    }
}

/// The overrides of one invocation, in the order they apply (the last one wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides(Vec<Override>);

impl Overrides {
    /// No overrides: the file and the defaults only.
    pub fn none() -> Self {
        Overrides::default()
    }

    /// The process environment's `TICKBRIDGE__*` variables, then the `--set` flags.
    pub fn gather(flags: &[String]) -> Result<Self, ConfigError> {
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(ENV_PREFIX) {
                continue;
            }
            let value = value.into_string().map_err(|_| ConfigError::Override {
                origin: name.to_string(),
                message: "the value is not valid UTF-8".into(),
            })?;
            env.push((name.to_string(), value));
        }
        let mut all = Overrides::from_env(env)?;
        all.0.extend(Overrides::from_flags(flags)?.0);
        Ok(all)
    }

    /// Overrides from `(name, value)` environment pairs; names without the
    /// `TICKBRIDGE__` prefix are ignored. Applied in name order, so a whole table
    /// (`TICKBRIDGE__SINK`) comes before a field inside it (`TICKBRIDGE__SINK__KIND`).
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        let mut out = Vec::with_capacity(vars.len());
        for (name, raw) in vars {
            let rest = &name[ENV_PREFIX.len()..];
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError::Override {
                    origin: name,
                    message: format!(
                        "not a setting name: write {ENV_PREFIX}SECTION__FIELD, e.g. {ENV_PREFIX}SINK__KIND"
                    ),
                });
            }
            out.push(Override {
                path,
                raw,
                origin: Origin::Env(name),
            });
        }
        Ok(Overrides(out))
    }

    /// Overrides from `--set PATH=VALUE` flags, in command-line order.
    pub fn from_flags(flags: &[String]) -> Result<Self, ConfigError> {
        flags
            .iter()
            .map(|flag| parse_flag(flag))
            .collect::<Result<Vec<_>, _>>()
            .map(Overrides)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Override> {
        self.0.iter()
    }

    /// Deserializes `T` from the file's TOML tree with the overrides applied.
    ///
    /// A value typed from its text (a number, a boolean) that meets a setting expecting
    /// a string is retried as that string. An error in a setting an override set names
    /// the override; any other error is the file's own, handed to `file_error` with
    /// the setting it names (the caller re-reads the file alone for its line number).
    pub fn deserialize<T: serde::de::DeserializeOwned>(
        &self,
        mut tree: Table,
        file_error: impl FnOnce(String) -> ConfigError,
    ) -> Result<T, ConfigError> {
        let mut typed: Vec<(&Override, Value)> = Vec::with_capacity(self.0.len());
        for o in &self.0 {
            let value = typed_value(&o.raw);
            set(&mut tree, &o.path, value.clone()).map_err(|message| o.error(message))?;
            typed.push((o, value));
        }
        // Each retry turns one more override into a string, so this ends.
        loop {
            let error = match T::deserialize(Value::Table(tree.clone())) {
                Ok(config) => return Ok(config),
                Err(e) => e,
            };
            let (message, at) = split_error(&error);
            // The override that set the failing setting, if one did (the last one wins).
            // (No path: the top level, e.g. an unknown section.)
            let here = at.as_deref().unwrap_or("");
            let culprit = typed.iter().rposition(|(o, _)| o.explains(here, &message));
            let Some(i) = culprit else {
                return Err(file_error(match at {
                    Some(at) => format!("{at}: {message}"),
                    None => message,
                }));
            };
            let (o, value) = &typed[i];
            let expects_string =
                message.contains("expected a string") || message.contains("expected path string");
            if expects_string && !matches!(value, Value::String(_)) {
                let as_text = Value::String(o.raw.clone());
                set(&mut tree, &o.path, as_text.clone()).map_err(|message| o.error(message))?;
                typed[i].1 = as_text;
                continue;
            }
            return Err(o.error(match o.origin {
                Origin::Env(_) => format!("{}: {message}", o.dotted()),
                Origin::Flag => message, // the flag already names the setting
            }));
        }
    }
}

impl Override {
    fn error(&self, message: String) -> ConfigError {
        ConfigError::Override {
            origin: self.origin_text(),
            message,
        }
    }

    /// True when toml's error at `at` (its path, list indexes left out) is about this
    /// override: the setting itself, inside a table it set, or an unknown field it added.
    fn explains(&self, at: &str, message: &str) -> bool {
        let named: Vec<&str> = self
            .path
            .iter()
            .map(String::as_str)
            .filter(|s| s.parse::<usize>().is_err())
            .collect();
        let mine = named.join(".");
        if at == mine || at.starts_with(&format!("{mine}.")) {
            return true;
        }
        match named.split_last() {
            Some((last, parent)) => {
                parent.join(".") == at && message.starts_with(&format!("unknown field `{last}`"))
            }
            None => false,
        }
    }

    fn origin_text(&self) -> String {
        match &self.origin {
            Origin::Env(var) => format!("environment variable {var}"),
            Origin::Flag => format!("--set {}", self.dotted()),
        }
    }
}

/// `PATH=VALUE`, the path dotted with optional `"quoted"` segments.
fn parse_flag(flag: &str) -> Result<Override, ConfigError> {
    let bad = |message: String| ConfigError::Override {
        origin: format!("--set {flag}"),
        message,
    };
    let mut path = Vec::new();
    let mut segment = String::new();
    let mut chars = flag.char_indices();
    let mut quoted_segment = false;
    let value_start = loop {
        let Some((i, c)) = chars.next() else {
            return Err(bad("expected PATH=VALUE, e.g. --set sink.kind=kafka".into()));
        };
        match c {
            '"' if segment.is_empty() && !quoted_segment => {
                // A quoted segment runs to the next quote.
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, c)) => segment.push(c),
                        None => return Err(bad("unterminated quote in the path".into())),
                    }
                }
                quoted_segment = true;
            }
            '.' | '=' => {
                if segment.is_empty() && !quoted_segment {
                    return Err(bad(
                        "empty segment in the path: write e.g. sink.kafka.brokers=HOST:PORT".into(),
                    ));
                }
                path.push(std::mem::take(&mut segment));
                quoted_segment = false;
                if c == '=' {
                    break i + 1;
                }
            }
            c if quoted_segment => {
                return Err(bad(format!(
                    "unexpected {c:?} after a quoted segment (expected . or =)"
                )))
            }
            c if c.is_whitespace() => {
                return Err(bad(
                    "whitespace in the path (quote a key that needs it: \"a b\")".into(),
                ))
            }
            c => segment.push(c),
        }
    };
    Ok(Override {
        path,
        raw: flag[value_start..].to_string(),
        origin: Origin::Flag,
    })
}

/// The TOML value the text spells, or the text itself as a string.
fn typed_value(raw: &str) -> Value {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Value::String(raw.to_string());
    }
    match Value::deserialize(toml::de::ValueDeserializer::new(trimmed)) {
        // A bare date such as 2024-01-01 is no setting's type; keep it as text.
        Ok(Value::Datetime(_)) | Err(_) => Value::String(raw.to_string()),
        Ok(v) => v,
    }
}

/// Sets `path` in `tree`, creating tables on the way. A number segment indexes a list
/// (`source.0`); one past the end appends a new table.
fn set(tree: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty path")?;
    let mut here = Slot::Table(tree);
    for (depth, seg) in parents.iter().enumerate() {
        let at = || dotted(&path[..=depth]);
        here = match here {
            Slot::Table(t) => {
                let next = t
                    .entry(seg.clone())
                    .or_insert_with(|| Value::Table(Table::new()));
                slot(next, &at())?
            }
            Slot::Array(a) => {
                let i = index(seg, a.len(), &dotted(&path[..depth]))?;
                if i == a.len() {
                    a.push(Value::Table(Table::new()));
                }
                slot(&mut a[i], &at())?
            }
        };
    }
    match here {
        Slot::Table(t) => {
            t.insert(last.clone(), value);
        }
        Slot::Array(a) => {
            let i = index(last, a.len(), &dotted(parents))?;
            if i == a.len() {
                a.push(value);
            } else {
                a[i] = value;
            }
        }
    }
    Ok(())
}

enum Slot<'a> {
    Table(&'a mut Table),
    Array(&'a mut Vec<Value>),
}

fn slot<'a>(value: &'a mut Value, at: &str) -> Result<Slot<'a>, String> {
    match value {
        Value::Table(t) => Ok(Slot::Table(t)),
        Value::Array(a) => Ok(Slot::Array(a)),
        other => Err(format!(
            "{at} is a {}, not a table: it has no settings inside",
            other.type_str()
        )),
    }
}

fn index(seg: &str, len: usize, list: &str) -> Result<usize, String> {
    match seg.parse::<usize>() {
        Ok(i) if i <= len => Ok(i),
        Ok(i) => Err(format!(
            "{list} has {len} entries: index {i} is past the end (use {len} to add one)"
        )),
        Err(_) => Err(format!(
            "{list} is a list: give an index, e.g. {list}.0.{seg}"
        )),
    }
}

fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|s| {
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                s.clone()
            } else {
                format!("{s:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Splits toml's error text into the message and the setting it names (the
/// "in `sink.kind`" line toml adds when deserializing a tree).
fn split_error(e: &toml::de::Error) -> (String, Option<String>) {
    let text = e.to_string();
    let text = text.trim_end();
    if let Some((message, at)) = text.rsplit_once("\nin `") {
        if let Some(at) = at.strip_suffix('`') {
            return (message.trim_end().to_string(), Some(at.to_string()));
        }
    }
    (text.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(f: &[&str]) -> Overrides {
        Overrides::from_flags(&f.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_parse_dotted_and_quoted_paths() {
        let o = flags(&[
            "sink.kind=kafka",
            "sink.kafka.options.\"linger.ms\"=5",
            "source.0.ws_url=ws://127.0.0.1:1/x?a=b",
            "ops.listen=",
        ]);
        let paths: Vec<String> = o.iter().map(Override::dotted).collect();
        assert_eq!(
            paths,
            [
                "sink.kind",
                "sink.kafka.options.\"linger.ms\"",
                "source.0.ws_url",
                "ops.listen"
            ]
        );
        let raws: Vec<&str> = o.iter().map(|o| o.raw.as_str()).collect();
        assert_eq!(raws, ["kafka", "5", "ws://127.0.0.1:1/x?a=b", ""]);
        for bad in ["sink.kind", "=x", "sink..kind=x", "\"open=x", "a b=c"] {
            let err = Overrides::from_flags(&[bad.to_string()]).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!("--set {bad}: ")),
                "{err}"
            );
        }
    }

    #[test]
    fn env_names_map_to_paths_in_name_order() {
        let o = Overrides::from_env([
            ("TICKBRIDGE__SINK__KIND".to_string(), "nats".to_string()),
            ("TICKBRIDGE_CONFIG".to_string(), "/x".to_string()),
            (
                "TICKBRIDGE__SINK".to_string(),
                "{kind = \"file\"}".to_string(),
            ),
            ("PATH".to_string(), "/bin".to_string()),
            (
                "TICKBRIDGE__SOURCE__0__WS_URL".to_string(),
                "ws://h".to_string(),
            ),
        ])
        .unwrap();
        let shown: Vec<String> = o.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            shown,
            [
                "sink from TICKBRIDGE__SINK",
                "sink.kind from TICKBRIDGE__SINK__KIND",
                "source.0.ws_url from TICKBRIDGE__SOURCE__0__WS_URL"
            ]
        );
        let err = Overrides::from_env([("TICKBRIDGE__SINK__".to_string(), "x".to_string())])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("TICKBRIDGE__SINK__: not a setting name"),
            "{err}"
        );
    }

    #[test]
    fn values_are_typed_from_their_text() {
        assert_eq!(typed_value("500"), Value::Integer(500));
        assert_eq!(typed_value("true"), Value::Boolean(true));
        assert_eq!(typed_value("kafka"), Value::String("kafka".into()));
        assert_eq!(typed_value("20s"), Value::String("20s".into()));
        assert_eq!(typed_value("\"500\""), Value::String("500".into()));
        assert_eq!(
            typed_value("127.0.0.1:0"),
            Value::String("127.0.0.1:0".into())
        );
        assert_eq!(typed_value(""), Value::String("".into()));
        assert_eq!(
            typed_value("2024-01-01"),
            Value::String("2024-01-01".into())
        );
        assert_eq!(typed_value("1\nx = 2"), Value::String("1\nx = 2".into()));
        assert_eq!(
            typed_value("[\"trade\", \"bbo\"]"),
            Value::Array(vec!["trade".into(), "bbo".into()])
        );
    }

    #[test]
    fn set_creates_tables_and_indexes_lists() {
        let mut t: Table = "[[source]]\nexchange = \"binance\"\n".parse().unwrap();
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        set(&mut t, &p("sink.kafka.brokers"), "h:1".into()).unwrap();
        set(&mut t, &p("source.0.ws_url"), "ws://x".into()).unwrap();
        set(&mut t, &p("source.1.exchange"), "coinbase".into()).unwrap();
        assert_eq!(t["sink"]["kafka"]["brokers"].as_str(), Some("h:1"));
        assert_eq!(t["source"][0]["ws_url"].as_str(), Some("ws://x"));
        assert_eq!(t["source"][1]["exchange"].as_str(), Some("coinbase"));
        assert_eq!(
            set(&mut t, &p("source.5.exchange"), "x".into()).unwrap_err(),
            "source has 2 entries: index 5 is past the end (use 2 to add one)"
        );
        assert_eq!(
            set(&mut t, &p("source.ws_url"), "x".into()).unwrap_err(),
            "source is a list: give an index, e.g. source.0.ws_url"
        );
        assert_eq!(
            set(&mut t, &p("sink.kafka.brokers.x"), "x".into()).unwrap_err(),
            "sink.kafka.brokers is a string, not a table: it has no settings inside"
        );
    }
}

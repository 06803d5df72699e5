//! The log subscriber: human-readable text on a terminal, one JSON object per line
//! otherwise. The JSON lines are written by [`JsonLines`], not tracing-subscriber's
//! own JSON formatter, so that fields are JSON values: numbers and booleans as such,
//! a field logged as JSON text (`plan = %serde_json::json!(..)`, a `?Vec<String>`)
//! embedded as the object or array it is, instead of a string holding escaped JSON.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Which format the logs are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// JSON when stderr is not a terminal, text otherwise.
    Auto,
    Json,
    Text,
}

/// Installs the log subscriber on stderr. An invalid filter is an error (logging then
/// runs at `info`, so the error itself is logged in the chosen format).
pub fn init(format: LogFormat, filter: &str) -> Result<(), String> {
    use std::io::IsTerminal;
    let (filter, refused) = match tracing_subscriber::EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (
            tracing_subscriber::EnvFilter::new("info"),
            Some(format!(
                "--log {filter:?} is not a valid log filter ({e}); expected e.g. info, debug, tickbridge=debug,info"
            )),
        ),
    };
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.event_format(JsonLines).init();
    } else {
        // Colours only for a terminal (`--log-format text` into a file stays plain).
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
    refused.map_or(Ok(()), Err)
}

/// One JSON object per event: `timestamp`, `level`, the fields (`message` first among
/// them), `target`.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let meta = event.metadata();
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        // Written by hand to keep the order readers expect (timestamp, level,
        // message, fields, target); a JSON map would sort the keys.
        let message = fields.0.remove("message");
        let mut line = String::with_capacity(256);
        let mut put = |key: &str, value: &Value| {
            line.push(if line.is_empty() { '{' } else { ',' });
            line.push_str(&Value::String(key.to_string()).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        };
        put("timestamp", &Value::String(timestamp));
        put("level", &Value::String(meta.level().to_string()));
        if let Some(m) = &message {
            put("message", m);
        }
        for (k, v) in &fields.0 {
            put(k, v);
        }
        put("target", &Value::String(meta.target().to_string()));
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// An event's fields as JSON values.
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_string(), value);
    }
}

/// Fields logged as structured values (`plan = %json!(..)`, `counters = ?map`,
/// `symbols = ?vec`): their JSON text is embedded as the object or array it is. Only
/// these: a field that carries text (an exchange frame, a reason) stays a string
/// even when the text happens to be JSON.
const STRUCTURED_FIELDS: &[&str] = &[
    "plan",
    "overrides",
    "counters",
    "symbols",
    "subjects",
    "stream_subjects",
];

/// A structured field's text as a value: JSON text of an object or array is embedded
/// as that value; anything else is a string.
fn text_value(text: String) -> Value {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            return v;
        }
    }
    Value::String(text)
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.put(field, v);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if STRUCTURED_FIELDS.contains(&field.name()) {
            self.put(field, text_value(text));
        } else {
            self.put(field, Value::String(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn logged(f: impl FnOnce()) -> (Value, String) {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        (serde_json::from_str(&text).unwrap(), text)
    }

    #[test]
    fn fields_are_json_values_not_strings_of_json() {
        let plan = serde_json::json!({"binance spot": ["BTCUSDT", "ETHUSDT"]});
        let names = vec!["a".to_string(), "b \"quoted\"".to_string()];
        let frame = r#"{"op":"subscribe"}"#;
        let conn: Option<u64> = Some(1);
        let none: Option<u64> = None;
        let (v, text) = logged(|| {
            tracing::info!(plan = %plan, symbols = ?names, frame = %frame, conn, none, n = 3u64, ok = true, text = "[not json", "configuration {}", "loaded");
        });
        assert_eq!(v["message"], "configuration loaded");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["plan"], plan);
        assert_eq!(v["symbols"], serde_json::json!(["a", "b \"quoted\""]));
        // Text that happens to be JSON stays text outside the structured fields.
        assert_eq!(v["frame"], r#"{"op":"subscribe"}"#);
        assert_eq!(v["conn"], 1);
        assert!(v.get("none").is_none(), "{v}");
        assert_eq!(v["n"], 3);
        assert_eq!(v["ok"], true);
        assert_eq!(v["text"], "[not json");
        assert!(v["timestamp"].as_str().unwrap().starts_with("20"), "{v}");
        assert_eq!(v["target"], "tickbridge::logging::tests");
        assert!(text.starts_with(r#"{"timestamp":"#), "{text}");
        assert!(
            text.contains(r#""level":"INFO","message":"configuration loaded","#),
            "{text}"
        );
    }
}

//! The dead-letter file: records that failed with a terminal error (too large,
//! unknown topic, authorization), one JSON object per line:
//! `{"error":"...","sink":"kafka","record":{...}}`; with a schema-registry encoding the
//! value as published instead of the record:
//! `{"encoding":"avro","error":"...","sink":"kafka","value_base64":"AAAAAAE..."}`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::SinkError;

/// A shared handle to the dead-letter file, if one is configured.
#[derive(Clone, Default)]
pub struct DeadLetter {
    file: Option<Arc<Mutex<File>>>,
}

impl DeadLetter {
    pub fn open(path: Option<&Path>) -> Result<Self, SinkError> {
        let Some(path) = path else {
            return Ok(DeadLetter::default());
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| SinkError::Io {
                sink: "dead_letter",
                path: path.display().to_string(),
                source,
            })?;
        Ok(DeadLetter {
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.file.is_some()
    }

    /// Writes one dead letter and flushes. Returns false when no file is configured or
    /// the write failed (the caller then counts the record as failed).
    pub fn write(&self, sink: &str, error: &str, record_json: &[u8]) -> bool {
        let mut line = Vec::with_capacity(record_json.len() + error.len() + 48);
        line.extend_from_slice(b"{\"error\":");
        line.extend_from_slice(serde_json::to_string(error).unwrap_or_default().as_bytes());
        line.extend_from_slice(b",\"sink\":");
        line.extend_from_slice(serde_json::to_string(sink).unwrap_or_default().as_bytes());
        line.extend_from_slice(b",\"record\":");
        line.extend_from_slice(record_json);
        line.extend_from_slice(b"}\n");
        self.append(line)
    }

    /// Writes one dead letter whose value is binary (Avro, Protobuf, or a JSON value
    /// behind the registry's header), base64-encoded as it was to be published.
    pub fn write_encoded(&self, sink: &str, error: &str, encoding: &str, value: &[u8]) -> bool {
        use base64::Engine;
        let line = serde_json::json!({
            "error": error,
            "sink": sink,
            "encoding": encoding,
            "value_base64": base64::engine::general_purpose::STANDARD.encode(value),
        });
        let mut line = line.to_string().into_bytes();
        line.push(b'\n');
        self.append(line)
    }

    fn append(&self, line: Vec<u8>) -> bool {
        let Some(file) = &self.file else { return false };
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        match f.write_all(&line).and_then(|_| f.flush()) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "dead-letter write failed");
                false
            }
        }
    }
}

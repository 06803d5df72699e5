//! Capture format v1 (see docs/architecture.md, "Captures"): gzip-compressed JSON lines, a
//! header line then one event per line. Reading accepts plain or gzip text and
//! ignores unknown fields; writing produces gzip.

mod writer;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};

pub use writer::CaptureWriter;

/// Errors reading a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{origin}: {source}")]
    Io {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin} line {line}: {message}")]
    Format {
        origin: String,
        line: usize,
        message: String,
    },
}

/// Line 1 of a capture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub capture: u32,
    pub exchange: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Open,
    Send,
    Recv,
    Http,
    Close,
    /// A kind this reader does not know (forward compatibility); skipped by replay.
    #[serde(other)]
    Other,
}

/// One capture event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub ts: i64,
    pub conn: u64,
    pub ev: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Event {
    /// The binary payload of a `b64` event.
    pub fn binary(&self) -> Option<Vec<u8>> {
        self.b64
            .as_ref()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
    }
}

/// A whole capture in memory.
#[derive(Debug, Clone)]
pub struct Capture {
    pub header: Header,
    pub events: Vec<Event>,
}

impl Capture {
    /// Reads a capture file (gzip or plain).
    pub fn read(path: &Path) -> Result<Capture, CaptureError> {
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| CaptureError::Io {
            origin: origin.clone(),
            source,
        })?;
        Capture::from_reader(file, &origin)
    }

    /// Reads a capture from bytes or a stream, detecting gzip by its magic number.
    pub fn from_reader(reader: impl Read, origin: &str) -> Result<Capture, CaptureError> {
        let mut reader = BufReader::new(reader);
        let magic = reader.fill_buf().map_err(|source| CaptureError::Io {
            origin: origin.into(),
            source,
        })?;
        if magic.starts_with(&[0x1f, 0x8b]) {
            Capture::parse_lines(
                BufReader::new(flate2::read::MultiGzDecoder::new(reader)),
                origin,
            )
        } else {
            Capture::parse_lines(reader, origin)
        }
    }

    fn parse_lines(reader: impl BufRead, origin: &str) -> Result<Capture, CaptureError> {
        let mut lines = reader.lines().enumerate();
        let format = |line: usize, message: String| CaptureError::Format {
            origin: origin.into(),
            line,
            message,
        };
        let (_, first) = lines
            .next()
            .ok_or_else(|| format(1, "empty capture".into()))?;
        let first = first.map_err(|source| CaptureError::Io {
            origin: origin.into(),
            source,
        })?;
        let header: Header =
            serde_json::from_str(&first).map_err(|e| format(1, format!("bad header: {e}")))?;
        if header.capture != 1 {
            return Err(format(
                1,
                format!(
                    "capture version {} is not supported (expected 1)",
                    header.capture
                ),
            ));
        }
        let mut events = Vec::new();
        for (i, line) in lines {
            let line = line.map_err(|source| CaptureError::Io {
                origin: origin.into(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let event: Event =
                serde_json::from_str(&line).map_err(|e| format(i + 1, e.to_string()))?;
            events.push(event);
        }
        Ok(Capture { header, events })
    }

    /// The WebSocket connection numbers in order of their `open` events.
    pub fn connections(&self) -> Vec<u64> {
        let mut conns = Vec::new();
        for e in &self.events {
            if e.ev == EventKind::Open && !conns.contains(&e.conn) {
                conns.push(e.conn);
            }
        }
        // Recordings that start mid-connection (no `open`) still have their frames.
        for e in &self.events {
            if matches!(e.ev, EventKind::Recv | EventKind::Send) && !conns.contains(&e.conn) {
                conns.push(e.conn);
            }
        }
        conns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_gzip_and_ignores_unknown_fields() {
        let text = concat!(
            r#"{"capture":1,"exchange":"binance","source":"test","config":null,"future_key":1}"#,
            "\n",
            r#"{"ts":1,"conn":1,"ev":"open","url":"wss://x/stream"}"#,
            "\n",
            r#"{"ts":2,"conn":1,"ev":"recv","text":"{}","extra":true}"#,
            "\n",
            r#"{"ts":3,"conn":0,"ev":"http","url":"https://x/api","text":"[]"}"#,
            "\n",
            r#"{"ts":4,"conn":1,"ev":"teleport"}"#,
            "\n",
        );
        let plain = Capture::from_reader(text.as_bytes(), "t").unwrap();
        assert_eq!(plain.events.len(), 4);
        assert_eq!(plain.events[3].ev, EventKind::Other);
        assert_eq!(plain.connections(), vec![1]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let zipped = Capture::from_reader(&gz[..], "t").unwrap();
        assert_eq!(zipped.events.len(), 4);
        assert_eq!(zipped.header.exchange, "binance");
    }

    #[test]
    fn errors_name_the_line() {
        let text = "{\"capture\":1,\"exchange\":\"x\"}\n{\"ts\":1}\n";
        let err = Capture::from_reader(text.as_bytes(), "c.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.jsonl line 2: missing field"), "{err}");
        let err = Capture::from_reader("{\"capture\":2,\"exchange\":\"x\"}".as_bytes(), "c")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c line 1: capture version 2 is not supported (expected 1)"
        );
    }
}

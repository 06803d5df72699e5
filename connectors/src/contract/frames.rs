//! How an exchange's binary WebSocket frames carry its text protocol. Most exchanges
//! send text frames only; some send every message as a binary frame holding JSON
//! (Upbit: the UTF-8 bytes themselves; HTX: gzip-compressed). The session decodes a
//! binary frame by the connector's rule before the parser sees it, so parsers only
//! ever handle text, and a captured binary frame (`b64` in a capture) replays through
//! the same decode.

use std::io::Read;

/// What a connector's binary frames are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryFrames {
    /// The exchange sends text; a binary frame is counted and skipped.
    #[default]
    Unexpected,
    /// The payload is the UTF-8 text of a message (Upbit).
    Utf8,
    /// The payload is a gzip stream of the message's text (HTX).
    Gzip,
}

/// A decoded binary frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// The message text, for the parser.
    Text(String),
    /// The connector does not expect binary frames.
    Unexpected,
    /// The message is larger than the limit (decompression stopped there: a frame
    /// cannot inflate to unbounded memory).
    Oversized,
    /// The payload is not what the rule says (bad gzip, invalid UTF-8).
    Invalid(String),
}

impl BinaryFrames {
    /// Decodes `payload` into at most `max_bytes` of text.
    pub fn decode(self, payload: &[u8], max_bytes: usize) -> Decoded {
        let bytes = match self {
            BinaryFrames::Unexpected => return Decoded::Unexpected,
            BinaryFrames::Utf8 => {
                if payload.len() > max_bytes {
                    return Decoded::Oversized;
                }
                payload.to_vec()
            }
            BinaryFrames::Gzip => {
                let mut out = Vec::with_capacity(payload.len().saturating_mul(4).min(max_bytes));
                let limit = max_bytes as u64 + 1;
                let mut reader = flate2::read::GzDecoder::new(payload).take(limit);
                if let Err(e) = reader.read_to_end(&mut out) {
                    return Decoded::Invalid(format!("gzip: {e}"));
                }
                if out.len() > max_bytes {
                    return Decoded::Oversized;
                }
                out
            }
        };
        match String::from_utf8(bytes) {
            Ok(text) => Decoded::Text(text),
            Err(e) => Decoded::Invalid(format!("invalid UTF-8: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_frames_inflate_to_their_text() {
        let frame = gzip(r#"{"ping":1492420473027}"#);
        assert_eq!(
            BinaryFrames::Gzip.decode(&frame, 1 << 20),
            Decoded::Text(r#"{"ping":1492420473027}"#.into())
        );
    }

    #[test]
    fn a_frame_inflating_past_the_limit_stops_there() {
        let frame = gzip(&"x".repeat(10_000));
        assert_eq!(BinaryFrames::Gzip.decode(&frame, 9_999), Decoded::Oversized);
        assert_eq!(
            BinaryFrames::Gzip.decode(&frame, 10_000),
            Decoded::Text("x".repeat(10_000))
        );
    }

    #[test]
    fn bad_payloads_are_named() {
        assert!(matches!(
            BinaryFrames::Gzip.decode(b"not gzip", 100),
            Decoded::Invalid(e) if e.starts_with("gzip: ")
        ));
        assert!(matches!(
            BinaryFrames::Utf8.decode(&[0xff, 0xfe], 100),
            Decoded::Invalid(e) if e.starts_with("invalid UTF-8")
        ));
        assert_eq!(
            BinaryFrames::Utf8.decode(br#"{"type":"trade"}"#, 100),
            Decoded::Text(r#"{"type":"trade"}"#.into())
        );
        assert_eq!(BinaryFrames::Utf8.decode(b"12345", 4), Decoded::Oversized);
        assert_eq!(
            BinaryFrames::Unexpected.decode(b"{}", 100),
            Decoded::Unexpected
        );
    }
}

//! Misbehaviours of the mock exchange, switched on by `tickbridge replay` flags so the
//! real binary can be tested against the ways real exchanges fail: dropped TCP
//! connections, feeds that go quiet while the socket stays healthy, sockets that go
//! fully silent, refused subscriptions, garbage and oversized frames, close codes,
//! slow handshakes, late subscription confirmations.
//!
//! Per-connection faults hit the first `--faulty-clients` WebSocket clients only (by
//! default the first), so a test sees the failure once and then the recovery.

use std::time::Duration;

/// The `replay` command's playback and fault flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReplayArgs {
    /// Live mode: one playback clock for all clients, started by the first one; a
    /// client (a reconnect, a rotation's replacement) joins the recording where the
    /// clock is, like a real exchange — frames due while it was away are not resent.
    /// Client k is served capture connection k modulo the recorded connections.
    #[arg(long)]
    pub live: bool,
    /// How many of the first WebSocket clients the per-connection faults below hit.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub faulty_clients: usize,
    /// Drop the TCP connection (no Close frame) after sending N recorded frames.
    #[arg(long, value_name = "N")]
    pub drop_after: Option<usize>,
    /// After N frames stop sending data but keep answering pings and requests
    /// (a quiet feed on a healthy socket).
    #[arg(long, value_name = "N")]
    pub quiet_after: Option<usize>,
    /// After N frames go fully silent: send nothing, read nothing, answer no ping
    /// (a dead socket that was never closed).
    #[arg(long, value_name = "N")]
    pub silent_after: Option<usize>,
    /// After N frames send a Close frame with `--close-code` and end the connection.
    #[arg(long, value_name = "N")]
    pub close_after: Option<usize>,
    /// The close code of `--close-after` (e.g. 1008 policy violation, 1011 server error).
    #[arg(long, default_value_t = 1011, value_name = "CODE")]
    pub close_code: u16,
    /// After N frames inject bad frames once — malformed JSON, a truncated frame,
    /// non-JSON text, an unknown JSON object, a binary frame — then carry on.
    #[arg(long, value_name = "N")]
    pub garbage_after: Option<usize>,
    /// After N frames send one text frame of `--oversized-bytes`, then carry on.
    #[arg(long, value_name = "N")]
    pub oversized_after: Option<usize>,
    /// Size of the `--oversized-after` frame.
    #[arg(long, default_value_t = 2 << 20, value_name = "BYTES")]
    pub oversized_bytes: usize,
    /// Wait this long before completing the WebSocket handshake (e.g. `3s`).
    #[arg(long, value_name = "DURATION")]
    pub accept_delay: Option<humantime::Duration>,
    /// Refuse subscriptions to this native symbol (repeatable) with the exchange's own
    /// error frame, for every client, and never send its data.
    #[arg(long = "refuse-symbol", value_name = "SYMBOL")]
    pub refuse_symbols: Vec<String>,
    /// Answer subscribe requests only after this long (data already flows meanwhile).
    #[arg(long, value_name = "DURATION")]
    pub ack_delay: Option<humantime::Duration>,
    /// Exit (status 0) by itself once playback is done: every recorded WebSocket
    /// connection has been served to its last frame and its client has closed, or
    /// `--exit-grace` has passed since the last frame. A capture without WebSocket
    /// connections is done `--exit-grace` after start. Without this flag the replay
    /// runs until SIGINT/SIGTERM.
    #[arg(long)]
    pub exit_when_done: bool,
    /// With `--exit-when-done`: how long after the last recorded frame to wait for the
    /// clients to close before exiting anyway [default: 2s].
    #[arg(long, value_name = "DURATION")]
    pub exit_grace: Option<humantime::Duration>,
}

impl ReplayArgs {
    /// Whether client number `index` (0-based) suffers the per-connection faults.
    pub fn faulty(&self, index: usize) -> bool {
        index < self.faulty_clients
    }

    pub fn accept_delay(&self) -> Option<Duration> {
        self.accept_delay.map(Into::into)
    }

    pub fn ack_delay(&self) -> Duration {
        self.ack_delay.map(Into::into).unwrap_or(Duration::ZERO)
    }

    /// `--exit-grace`, 2 s by default.
    pub fn exit_grace(&self) -> Duration {
        self.exit_grace
            .map(Into::into)
            .unwrap_or(Duration::from_secs(2))
    }

    /// Whether a recorded frame carries data of a refused symbol (never sent).
    pub fn refused_frame(&self, text: &str) -> bool {
        self.refuse_symbols.iter().any(|s| {
            text.contains(&format!("\"{s}\""))
                || text.contains(&format!("\"{}@", s.to_ascii_lowercase()))
        })
    }
}

/// What a faulty connection does once it has sent `sent` recorded frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Drop,
    Quiet,
    Silent,
    Close(u16),
    Garbage,
    Oversized(usize),
}

impl ReplayArgs {
    /// The faults due right after frame number `sent` (1-based) of a faulty client.
    pub fn actions_after(&self, sent: usize) -> Vec<Action> {
        let mut out = Vec::new();
        let at = |n: Option<usize>| n == Some(sent);
        if at(self.garbage_after) {
            out.push(Action::Garbage);
        }
        if at(self.oversized_after) {
            out.push(Action::Oversized(self.oversized_bytes));
        }
        if at(self.quiet_after) {
            out.push(Action::Quiet);
        }
        if at(self.silent_after) {
            out.push(Action::Silent);
        }
        if at(self.close_after) {
            out.push(Action::Close(self.close_code));
        }
        if at(self.drop_after) {
            out.push(Action::Drop);
        }
        out
    }
}

/// The bad frames of `--garbage-after`: text frames (kinds a parser must count and
/// skip) and one binary frame. `sample` is a real frame of the capture, truncated.
pub fn garbage(sample: &str) -> (Vec<String>, Vec<u8>) {
    let cut = sample
        .char_indices()
        .map(|(i, _)| i)
        .nth(sample.chars().count() / 2)
        .unwrap_or(0);
    let texts = vec![
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","#.to_string(),
        sample[..cut].to_string(),
        "this is not json \u{1}".to_string(),
        r#"{"unexpected":"shape","n":[1,2,3]}"#.to_string(),
    ];
    (texts, vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0xff])
}

/// A valid JSON text frame of exactly `bytes` bytes (at least 32).
pub fn oversized(bytes: usize) -> String {
    let head = r#"{"stream":"padding","data":""#;
    let tail = r#""}"#;
    let pad = bytes.saturating_sub(head.len() + tail.len()).max(1);
    let mut s = String::with_capacity(head.len() + pad + tail.len());
    s.push_str(head);
    s.push_str(&"x".repeat(pad));
    s.push_str(tail);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_fire_at_their_frame() {
        let args = ReplayArgs {
            garbage_after: Some(3),
            drop_after: Some(3),
            quiet_after: Some(5),
            faulty_clients: 1,
            ..Default::default()
        };
        assert_eq!(args.actions_after(3), vec![Action::Garbage, Action::Drop]);
        assert_eq!(args.actions_after(5), vec![Action::Quiet]);
        assert!(args.actions_after(4).is_empty());
        assert!(args.faulty(0) && !args.faulty(1));
    }

    #[test]
    fn bad_frames_are_what_they_say() {
        let (texts, binary) = garbage(r#"{"a":"é","b":1}"#);
        assert!(texts
            .iter()
            .all(|t| serde_json::from_str::<serde_json::Value>(t).is_err()
                || t.contains("unexpected")));
        assert!(!binary.is_empty());
        let big = oversized(1000);
        assert_eq!(big.len(), 1000);
        assert!(serde_json::from_str::<serde_json::Value>(&big).is_ok());
    }

    #[test]
    fn refused_symbols_match_their_frames() {
        let args = ReplayArgs {
            refuse_symbols: vec!["XYZUSDT".into()],
            ..Default::default()
        };
        assert!(args.refused_frame(r#"{"stream":"xyzusdt@trade","data":{}}"#));
        assert!(args.refused_frame(r#"{"s":"XYZUSDT"}"#));
        assert!(!args.refused_frame(r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT"}}"#));
    }
}

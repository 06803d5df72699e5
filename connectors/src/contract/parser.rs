//! The frame-parser contract: one text frame in; records appended and the frame
//! classified out. Nothing is silently swallowed: a frame is data, a known control
//! message (ack, heartbeat, pong, info), a channel we deliberately do not normalize
//! (`Ignored`, counted), a refusal, or an error (malformed / unknown).
//!
//! Parsers do not track their subscriptions: they say which request an answer
//! belongs to ([`Answer`]) and the session keeps the state of every request.

use tickbridge_schema::Record;

use crate::rest::RateLimit;

/// What a frame was, when it parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Market data; the records were appended (possibly none, e.g. a book diff already
    /// covered by the snapshot).
    Data,
    /// The exchange acknowledged (a part of) a subscribe request; the session counts
    /// it against the request it answers (see [`Answer`]).
    Acked(Answer),
    /// The exchange refused a subscription, or something else it was sent.
    Refused(Refusal),
    /// The exchange announced that it will drop this connection soon (OKX notice
    /// 64008, a maintenance message): the session opens a replacement now and closes
    /// this connection once the replacement is confirmed.
    Reconnect(String),
    /// An exchange heartbeat, a pong, or an app-level ping we answered.
    Heartbeat,
    /// Informational messages (welcome, notices, answers to the parser's own
    /// resynchronisation requests) that need no action.
    Info(String),
    /// Frames tickbridge does not normalize: a known channel it has no schema kind for
    /// (e.g. candles), or a stream the connection did not subscribe to; skipped, and
    /// logged once per kind.
    Ignored(&'static str),
}

/// Which subscribe request an answer belongs to, as the exchange says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The request id the exchange echoes (see [`crate::contract::SubscribeRequest::id`]).
    Id(u64),
    /// The topic the answer names (`books:BTC-USDT`): the request carrying it.
    Topic(smol_str::SmolStr),
    /// No id and no topic: the oldest request still waiting for an answer (exchanges
    /// that answer requests in the order they were sent).
    InOrder,
}

/// A refusal (see [`Parsed::Refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The request it answers; `None` when it answers no subscribe request (an error
    /// about something else, or one the exchange sends later): it is then reported for
    /// every symbol of the connection and settles nothing.
    pub answer: Option<Answer>,
    /// Native symbols the exchange names as refused (`BTCUSDT`, `BTC-USD`); empty =
    /// every symbol of the request it answers.
    pub symbols: Vec<smol_str::SmolStr>,
    /// The exchange's reason, verbatim where possible.
    pub reason: String,
}

impl Refusal {
    /// A refusal of the request `answer`, for the symbols the exchange named.
    pub fn of(answer: Answer, symbols: Vec<smol_str::SmolStr>, reason: impl Into<String>) -> Self {
        Refusal {
            answer: Some(answer),
            symbols,
            reason: reason.into(),
        }
    }

    /// A refusal that answers no request (reported for the whole connection).
    pub fn unattributed(reason: impl Into<String>) -> Self {
        Refusal {
            answer: None,
            symbols: Vec::new(),
            reason: reason.into(),
        }
    }
}

/// Why a frame could not be used. The session counts and logs it (once per kind) and
/// goes on with the next frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("unknown frame type {0:?}")]
    Unknown(String),
    #[error("invalid value in {context}: {detail}")]
    Invalid {
        context: &'static str,
        detail: String,
    },
}

impl ParseError {
    /// A short, stable label for metrics and log de-duplication.
    pub fn label(&self) -> &'static str {
        match self {
            ParseError::Malformed(_) => "malformed",
            ParseError::Unknown(_) => "unknown",
            ParseError::Invalid { .. } => "invalid",
        }
    }
}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        ParseError::Malformed(e.to_string())
    }
}

/// A connection's frame parser. Stateful (books, sequence tracking), synchronous, pure.
pub trait FrameParser: Send {
    /// Parses one text frame received at `ts_recv` (ns since epoch), appending records.
    fn parse(
        &mut self,
        text: &str,
        ts_recv: i64,
        out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError>;

    /// A reply the client must send for the last parsed frame (an app-level pong).
    fn reply(&mut self) -> Option<String> {
        None
    }

    /// Frames the client must send now to resynchronise part of the feed (e.g. an
    /// unsubscribe + subscribe of one symbol's book after a checksum or sequence
    /// break), drained by the session driver after every frame, sent in order and
    /// spaced by the plan's `send_interval`. The parser throttles its own requests.
    fn resubscribe(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// REST requests the parser needs answered (order-book snapshots), drained by the
    /// session driver after every frame and fetched through [`crate::rest`]. The
    /// parser itself never does I/O.
    fn rest_requests(&mut self) -> Vec<RestRequest> {
        Vec::new()
    }

    /// The answer to one of [`FrameParser::rest_requests`]: the body, or why it could
    /// not be fetched (after the fetcher's own retries). Records are appended as for
    /// a frame.
    fn on_rest(
        &mut self,
        key: &str,
        _body: Result<&str, &str>,
        _ts_recv: i64,
        _out: &mut Vec<Record>,
    ) -> Result<Parsed, ParseError> {
        Ok(Parsed::Info(format!("unexpected REST response for {key}")))
    }
}

/// A REST request a parser asks the session driver to make (see
/// [`FrameParser::rest_requests`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestRequest {
    /// Echoed back to [`FrameParser::on_rest`] (e.g. the native symbol).
    pub key: String,
    /// The full URL to GET.
    pub url: String,
    /// The exchange's weight of this request, charged to `limit`.
    pub weight: u32,
    /// The rate limit the request counts against (shared process-wide by name).
    pub limit: &'static RateLimit,
    /// Wait this long before sending (backoff of repeated requests).
    pub delay: std::time::Duration,
}

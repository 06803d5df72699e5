//! The connector contract, in one place: what a user asks for and how an exchange
//! module turns it into connections, requests and frame parsers.
//!
//! - [`channel`]: the normalized channels and a bit set of them.
//! - [`plan`]: source requests, connection plans and their typed subscribe requests.
//! - [`connector`]: the [`Connector`] trait, heartbeat rules, limits, planning errors.
//! - [`frames`]: how binary frames carry text (none, UTF-8, gzip).
//! - [`parser`]: the pure, synchronous [`FrameParser`] contract and what a frame was.

pub mod channel;
pub mod connector;
pub mod frames;
pub mod parser;
pub mod plan;

pub use channel::{Channel, ChannelSet};
pub use connector::{Connector, Heartbeat, Limits, PlanError, RateWindow};
pub use frames::{BinaryFrames, Decoded};
pub use parser::{Answer, FrameParser, ParseError, Parsed, Refusal, RestRequest};
pub use plan::{
    ConnectionPlan, EncodeRequest, Endpoint, EndpointRequest, ResolveEndpoint, SourceRequest,
    SubscribeRequest, Topic, PARSER_REQUEST_IDS,
};

//! Fuzzing support: every registered connector's frame parser behind one entry point,
//! shared by the deterministic mutation test that runs in `cargo test`
//! (`connectors/tests/fuzz_parsers.rs`), the cargo-fuzz target in `fuzz/` (nightly,
//! libFuzzer; outside the workspace) and the corpus tests, which pick the parser of a
//! recorded connection by its URL ([`capture_parser`]). Nothing here names an
//! exchange: a connector added to [`crate::connectors`] is fuzzed and replayed
//! against the corpus as it is.
//!
//! An input is a script of lines: each line is one text frame given to the parser,
//! except lines starting with `#rest ` whose rest answers the parser's oldest pending
//! REST request (an order-book snapshot body) — so fuzzing reaches the book sync's
//! snapshot path as well as the frame path. The parser's other hooks (`reply`,
//! `resubscribe`, `rest_requests`) are drained after every frame, as the session does.

use std::collections::VecDeque;

use tickbridge_schema::{Market, Record};

use crate::book::BookConfig;
use crate::contract::{ConnectionPlan, Connector, FrameParser, SourceRequest};

/// Symbols tried on every connector and market (those a connector does not accept on
/// a market are skipped): spot pairs, perpetuals, and delivery contracts expiring on the
/// last Friday of a month (so every dated-futures naming rule accepts them), and an
/// option of that expiry (for connectors serving an option market).
const SYMBOLS: [&str; 12] = [
    "BTC-USDT",
    "ETH-USDT",
    "BTC-USD",
    "ETH-USD",
    "BTC-USDT-PERP",
    "BTC-USD-PERP",
    "ETH-USDT-PERP",
    "BTC/USD",
    "BTC-USD-241227",
    "BTC-USDT-241227",
    "BTC-USD-241227-50000-C",
    // A perpetual settled in USDC (Hyperliquid), last so the others' plans keep theirs.
    "BTC-USDC-PERP",
];

/// A request of every supported channel of `market` for a few common symbols (those
/// of [`SYMBOLS`] the connector accepts, else `BTC-USDT`), on `ws_url`; `None` if the
/// connector does not serve `market` or accepts none of the symbols.
pub fn request(connector: &dyn Connector, market: Market, ws_url: &str) -> Option<SourceRequest> {
    let channels = connector.channels(market)?;
    let symbols: Vec<_> = SYMBOLS
        .iter()
        .filter_map(|s| connector.symbol(market, s).ok())
        .collect();
    Some(SourceRequest {
        market,
        channels: channels.to_vec(),
        symbols: if symbols.is_empty() {
            vec![connector.symbol(market, "BTC-USDT").ok()?]
        } else {
            symbols
        },
        ws_url: ws_url.into(),
        rest_url: "http://127.0.0.1:9".into(),
        books: BookConfig {
            rest_url: "http://127.0.0.1:9".into(),
            ..BookConfig::default()
        },
    })
}

/// A parser of `connector` for its market number `market` (None past the last),
/// planned as a live connection: subscribed to every supported channel of a few
/// common symbols (see [`request`]).
pub fn parser(connector: &dyn Connector, market: usize) -> Option<Box<dyn FrameParser>> {
    let (market, _) = *connector.supported().get(market)?;
    let request = request(connector, market, "ws://127.0.0.1:9")?;
    let plan = connector.plan(&request).ok()?.into_iter().next()?;
    Some(connector.parser(&plan))
}

/// The registered connector whose protocol the recorded WebSocket URL `url` speaks,
/// and the market it serves there ([`Connector::market_of_url`], first claim in
/// registry order); `None` when no registered connector claims the URL (the
/// recording is then uncovered). The corpus tests and the fuzz test's corpus pick
/// connectors by it.
pub fn connector_for_capture_url(url: &str) -> Option<(&'static dyn Connector, Market)> {
    crate::exchanges::connector_for_url(url)
}

/// The parser of a recorded connection to `url`, from the connector that claims it
/// ([`connector_for_capture_url`]): every channel, no planned symbols (each symbol
/// seen is normalized on first sight), default book options
/// ([`ConnectionPlan::for_frames`]).
pub fn capture_parser(url: &str) -> Option<(&'static dyn Connector, Box<dyn FrameParser>)> {
    let (connector, market) = connector_for_capture_url(url)?;
    let plan = ConnectionPlan::for_frames(url, market);
    Some((connector, connector.parser(&plan)))
}

/// Feeds a script (see the module docs) to `parser`; returns how many records it made.
pub fn run(parser: &mut dyn FrameParser, script: &str) -> usize {
    let mut out: Vec<Record> = Vec::new();
    let mut pending: VecDeque<String> = VecDeque::new();
    let mut records = 0;
    for (i, line) in script.split('\n').enumerate() {
        let ts = 1_700_000_000_000_000_000 + i as i64;
        match line.strip_prefix("#rest ") {
            Some(body) => {
                if let Some(key) = pending.pop_front() {
                    let _ = parser.on_rest(&key, Ok(body), ts, &mut out);
                }
            }
            None => {
                let _ = parser.parse(line, ts, &mut out);
            }
        }
        let _ = parser.reply();
        let _ = parser.resubscribe();
        for r in parser.rest_requests() {
            // A failed fetch now and then: the error path of the snapshot sync.
            if r.key.len() % 7 == 3 {
                let _ = parser.on_rest(&r.key, Err("fuzz: connection refused"), ts, &mut out);
            } else {
                pending.push_back(r.key);
            }
        }
        for r in out.drain(..) {
            // Encoding is part of the path every record takes.
            let _ = r.to_json();
            records += 1;
        }
    }
    records
}

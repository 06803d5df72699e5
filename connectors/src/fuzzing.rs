//! Fuzzing support: every connector's frame parser behind one entry point, shared by
//! the deterministic mutation test that runs in `cargo test`
//! (`connectors/tests/fuzz_parsers.rs`) and the cargo-fuzz targets in `fuzz/`
//! (nightly, libFuzzer; outside the workspace).
//!
//! An input is a script of lines: each line is one text frame given to the parser,
//! except lines starting with `#rest ` whose rest answers the parser's oldest pending
//! REST request (an order-book snapshot body) — so fuzzing reaches the book sync's
//! snapshot path as well as the frame path. The parser's other hooks (`reply`,
//! `resubscribe`, `rest_requests`) are drained after every frame, as the session does.

use std::collections::VecDeque;

use tickbridge_schema::Record;

use crate::book::BookConfig;
use crate::contract::{Connector, FrameParser, SourceRequest};

/// Symbols tried on every connector (those a connector does not accept are skipped).
const SYMBOLS: [&str; 8] = [
    "BTC-USDT",
    "ETH-USDT",
    "BTC-USD",
    "ETH-USD",
    "BTC-USDT-PERP",
    "BTC-USD-PERP",
    "ETH-USDT-PERP",
    "BTC/USD",
];

/// A parser of `connector` for its market number `market` (None past the last),
/// subscribed to every supported channel of a few common symbols.
pub fn parser(connector: &dyn Connector, market: usize) -> Option<Box<dyn FrameParser>> {
    let (market, channels) = *connector.supported().get(market)?;
    let symbols: Vec<_> = SYMBOLS
        .iter()
        .filter_map(|s| connector.symbol(market, s).ok())
        .collect();
    let request = SourceRequest {
        market,
        channels: channels.to_vec(),
        symbols: if symbols.is_empty() {
            vec![connector.symbol(market, "BTC-USDT").ok()?]
        } else {
            symbols
        },
        ws_url: "ws://127.0.0.1:9".into(),
        rest_url: "http://127.0.0.1:9".into(),
        books: BookConfig {
            rest_url: "http://127.0.0.1:9".into(),
            ..BookConfig::default()
        },
    };
    let plan = connector.plan(&request).ok()?.into_iter().next()?;
    Some(connector.parser(&plan))
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

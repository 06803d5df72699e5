//! Helpers the exchanges' table tests share: requests and plans of resolved symbols,
//! the checks of a `status gap`, and the expected rows of a parsed instrument list.

use tickbridge_schema::{Data, Dec, Instrument, InstrumentStatus, Market, Record, StatusEvent};

use crate::contract::{Channel, ConnectionPlan, Connector, FrameParser, Parsed, SourceRequest};
use crate::instruments::{pair, Listed};

/// A request of `symbols` (each resolved by `connector` on `market`) for `channels`,
/// on `ws_url` and `rest_url`, with default book options.
pub fn request(
    connector: &dyn Connector,
    market: Market,
    channels: &[Channel],
    symbols: &[&str],
    (ws_url, rest_url): (&str, &str),
) -> SourceRequest {
    SourceRequest {
        market,
        channels: channels.to_vec(),
        symbols: symbols
            .iter()
            .map(|s| connector.symbol(market, s).unwrap())
            .collect(),
        ws_url: ws_url.into(),
        rest_url: rest_url.into(),
        books: Default::default(),
    }
}

/// Asserts that `record` is a `status gap` reporting `expected` and `got`.
pub fn assert_gap(record: &Record, expected: Option<u64>, got: Option<u64>) {
    let Data::Status(s) = &record.data else {
        panic!("not a status: {record:?}")
    };
    assert_eq!(
        (s.event, s.expected, s.got),
        (StatusEvent::Gap, expected, got)
    );
}

/// The first connection `connector` plans for `request` (the table tests plan one).
pub fn first_plan(connector: &dyn Connector, request: &SourceRequest) -> ConnectionPlan {
    connector.plan(request).unwrap().remove(0)
}

/// A plan for replaying frames on `market` that names `symbols` (each resolved by
/// `connector`): what a parser checks a frame's symbol against.
pub fn frames_plan(connector: &dyn Connector, market: Market, symbols: &[&str]) -> ConnectionPlan {
    ConnectionPlan {
        symbols: symbols
            .iter()
            .map(|s| connector.symbol(market, s).unwrap())
            .collect(),
        ..ConnectionPlan::for_frames("", market)
    }
}

/// A record as the JSON line it is written as.
pub fn json(r: &Record) -> String {
    String::from_utf8(r.to_json()).unwrap()
}

/// Parses every `(frame, classification, records as JSON)` of a table at `ts_recv`
/// and asserts both, frame by frame (the parser keeps its state across the table).
pub fn assert_table(p: &mut dyn FrameParser, ts_recv: i64, cases: &[(&str, Parsed, &[&str])]) {
    for (frame, want, records) in cases {
        let mut out = Vec::new();
        assert_eq!(&p.parse(frame, ts_recv, &mut out).unwrap(), want, "{frame}");
        let got: Vec<String> = out.iter().map(json).collect();
        assert_eq!(&got, records, "{frame}");
    }
}

/// Asserts that `user` resolves on `market` to the normalized `symbol` and `native`.
pub fn assert_symbol(
    connector: &dyn Connector,
    market: Market,
    user: &str,
    (symbol, native): (&str, &str),
) {
    let s = connector
        .symbol(market, user)
        .unwrap_or_else(|e| panic!("{user}: {e}"));
    assert_eq!(
        (s.symbol.as_str(), s.native.as_str()),
        (symbol, native),
        "{user}"
    );
}

/// A decimal of a test's expectations.
pub fn d(s: &str) -> Option<Dec> {
    Some(Dec::parse(s).unwrap())
}

/// An expected instrument of `base`/`quote` (settled in `settle`) with the `tick` and
/// `lot` sizes and `status` every list publishes; derivatives set the rest by struct
/// update.
pub fn instrument(
    (base, quote, settle): (&str, &str, Option<&str>),
    (tick, lot): (&str, &str),
    status: InstrumentStatus,
) -> Instrument {
    Instrument {
        tick_size: d(tick),
        lot_size: d(lot),
        status,
        ..pair(base, quote, settle)
    }
}

/// `(native, normalized, market, spec)` of every instrument, in list order.
pub fn rows(list: &[Listed]) -> Vec<(&str, &str, Market, &Instrument)> {
    list.iter()
        .map(|l| {
            (
                l.symbol.native.as_str(),
                l.symbol.symbol.as_str(),
                l.symbol.market,
                &l.spec,
            )
        })
        .collect()
}

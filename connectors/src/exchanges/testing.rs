//! Helpers the exchanges' table tests share: requests of resolved symbols and the
//! checks of a `status gap`.

use tickbridge_schema::{Data, Market, Record, StatusEvent};

use crate::contract::{Channel, Connector, SourceRequest};

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

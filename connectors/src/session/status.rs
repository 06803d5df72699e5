//! The session's `status` records: one per symbol of the connection for every
//! transition (`connected`, `subscribed`, `rejected`, `stale`, `disconnected`), built
//! through the shared envelope so their ids follow the one scheme
//! (`exchange.market.symbol.status.<event>.<conn>.<ts>`).

use std::collections::BTreeSet;

use smol_str::SmolStr;
use tickbridge_schema::{Data, Record, Status, StatusEvent};

use crate::envelope::record;
use crate::symbols::SymbolInfo;

/// Which symbols of the connection a status is about.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every symbol except these (refused ones).
    AllBut(&'a BTreeSet<SmolStr>),
    /// Only these native symbols (matched without regard to letter case).
    Only(&'a [SmolStr]),
}

/// Builds the status records of one connection's symbols.
#[derive(Debug, Clone)]
pub struct StatusRecords {
    exchange: &'static str,
    conn: u64,
    symbols: Vec<SymbolInfo>,
}

impl StatusRecords {
    pub fn new(exchange: &'static str, conn: u64, symbols: Vec<SymbolInfo>) -> Self {
        StatusRecords {
            exchange,
            conn,
            symbols,
        }
    }

    /// The records of `event` for `scope` at receive time `ts`, and the natives of an
    /// `Only` scope that are not symbols of this connection.
    pub fn build(
        &self,
        event: StatusEvent,
        reason: Option<&str>,
        scope: Scope<'_>,
        ts: i64,
    ) -> (Vec<Record>, Vec<SmolStr>) {
        let chosen: Vec<&SymbolInfo> = match scope {
            Scope::AllBut(except) => self
                .symbols
                .iter()
                .filter(|s| !except.contains(&s.native))
                .collect(),
            Scope::Only(natives) => natives
                .iter()
                .filter_map(|n| {
                    self.symbols
                        .iter()
                        .find(|s| s.native.eq_ignore_ascii_case(n))
                })
                .collect(),
        };
        let unknown = match scope {
            Scope::Only(natives) => natives
                .iter()
                .filter(|n| {
                    !self
                        .symbols
                        .iter()
                        .any(|s| s.native.eq_ignore_ascii_case(n))
                })
                .cloned()
                .collect(),
            Scope::AllBut(_) => Vec::new(),
        };
        let suffix = format!("{}.{}.{ts}", event.as_str(), self.conn);
        let records = chosen
            .into_iter()
            .map(|s| {
                let status = Status {
                    event,
                    channel: None,
                    reason: reason.map(str::to_string),
                    expected: None,
                    got: None,
                };
                record(
                    self.exchange,
                    s,
                    (None, ts),
                    None,
                    &suffix,
                    Data::Status(status),
                )
            })
            .collect();
        (records, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickbridge_schema::Market;

    fn symbols() -> Vec<SymbolInfo> {
        ["BTCUSDT", "ETHUSDT"]
            .iter()
            .map(|n| SymbolInfo {
                market: Market::Spot,
                symbol: format!("{}-USDT", &n[..3]).into(),
                native: (*n).into(),
            })
            .collect()
    }

    #[test]
    fn one_record_per_symbol_in_scope() {
        let s = StatusRecords::new("binance", 3, symbols());
        let refused: BTreeSet<SmolStr> = ["ETHUSDT".into()].into();
        let (records, _) = s.build(StatusEvent::Subscribed, None, Scope::AllBut(&refused), 9);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].id, "binance.spot.BTC-USDT.status.subscribed.3.9");
        let (records, unknown) = s.build(
            StatusEvent::Rejected,
            Some("no"),
            Scope::Only(&["ethusdt".into(), "XYZ".into()]),
            10,
        );
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].native, "ETHUSDT");
        assert_eq!(unknown, ["XYZ"]);
        let Data::Status(st) = &records[0].data else {
            panic!("a status record")
        };
        assert_eq!(st.reason.as_deref(), Some("no"));
    }
}

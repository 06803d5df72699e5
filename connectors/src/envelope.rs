//! The one place every record gets its envelope (schema version, exchange, market,
//! normalized and native symbol, times, sequence) and its deterministic id
//! `exchange.market.symbol.kind.suffix`: data records of every parser ([`Emitter`]),
//! book records and the book's `gap`/`resynced` (`book::BookSync`), and the session's
//! status records alike.

use smol_str::SmolStr;
use tickbridge_schema::{Data, Record, SCHEMA_VERSION};

use crate::symbols::{SymbolInfo, SymbolTable};

/// Builds the deterministic record id `exchange.market.symbol.kind.suffix`.
pub fn record_id(
    exchange: &str,
    market: &str,
    symbol: &str,
    kind: &str,
    suffix: impl IdSuffix,
) -> String {
    let mut id = String::with_capacity(exchange.len() + symbol.len() + kind.len() + 32);
    // Plain pushes (a `write!` of all five parts costs several times more on the hot
    // path).
    for part in [exchange, market, symbol, kind] {
        id.push_str(part);
        id.push('.');
    }
    suffix.push_to(&mut id);
    id
}

/// The last part of a record id: an exchange's number or text, appended without the
/// formatting machinery (it runs for every record); anything else through
/// `format_args!`.
pub trait IdSuffix {
    fn push_to(&self, id: &mut String);
}

impl IdSuffix for u64 {
    fn push_to(&self, id: &mut String) {
        id.push_str(tickbridge_schema::u64_digits(*self, &mut [0; 20]));
    }
}

impl IdSuffix for i64 {
    fn push_to(&self, id: &mut String) {
        if *self < 0 {
            id.push('-');
        }
        self.unsigned_abs().push_to(id);
    }
}

impl IdSuffix for u32 {
    fn push_to(&self, id: &mut String) {
        u64::from(*self).push_to(id);
    }
}

impl IdSuffix for str {
    fn push_to(&self, id: &mut String) {
        id.push_str(self);
    }
}

impl IdSuffix for String {
    fn push_to(&self, id: &mut String) {
        id.push_str(self);
    }
}

impl IdSuffix for SmolStr {
    fn push_to(&self, id: &mut String) {
        id.push_str(self);
    }
}

impl IdSuffix for std::fmt::Arguments<'_> {
    fn push_to(&self, id: &mut String) {
        use std::fmt::Write;
        let _ = id.write_fmt(*self);
    }
}

impl<T: IdSuffix + ?Sized> IdSuffix for &T {
    fn push_to(&self, id: &mut String) {
        (**self).push_to(id);
    }
}

/// One record of `symbol`: the envelope around `data`, its id ending in `id_suffix`.
pub fn record(
    exchange: &'static str,
    symbol: &SymbolInfo,
    times: (Option<i64>, i64),
    seq: Option<u64>,
    id_suffix: impl IdSuffix,
    data: Data,
) -> Record {
    let (ts_exchange, ts_recv) = times;
    let id = record_id(
        exchange,
        symbol.market.as_str(),
        &symbol.symbol,
        data.kind().as_str(),
        id_suffix,
    );
    Record {
        v: SCHEMA_VERSION,
        exchange: SmolStr::new_static(exchange),
        market: symbol.market,
        symbol: symbol.symbol.clone(),
        native: symbol.native.clone(),
        ts_exchange,
        ts_recv,
        seq,
        id,
        data,
    }
}

/// Builds the data records of one connection: resolves the native symbol a frame
/// names, then [`record`].
pub struct Emitter {
    pub exchange: &'static str,
    pub symbols: SymbolTable,
}

impl Emitter {
    pub fn new(
        exchange: &'static str,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        Emitter {
            exchange,
            symbols: SymbolTable::new(symbols, fallback),
        }
    }

    /// The symbol a native name resolves to (planned, or normalized on first sight).
    pub fn symbol(&mut self, native: &str) -> SymbolInfo {
        self.symbols.resolve(native).clone()
    }

    /// Appends one record for `native`.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        out: &mut Vec<Record>,
        native: &str,
        ts_exchange: Option<i64>,
        ts_recv: i64,
        seq: Option<u64>,
        id_suffix: impl IdSuffix,
        data: Data,
    ) {
        let exchange = self.exchange;
        let s = self.symbols.resolve(native);
        out.push(record(
            exchange,
            s,
            (ts_exchange, ts_recv),
            seq,
            id_suffix,
            data,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickbridge_schema::{Dec, Market, Side, Trade};

    #[test]
    fn id_suffixes_are_written_as_display_writes_them() {
        let id = |suffix: &dyn Fn(&mut String)| {
            let mut id = String::new();
            suffix(&mut id);
            id
        };
        assert_eq!(id(&|s| u64::MAX.push_to(s)), u64::MAX.to_string());
        assert_eq!(id(&|s| i64::MIN.push_to(s)), i64::MIN.to_string());
        assert_eq!(id(&|s| (-42i64).push_to(s)), "-42");
        assert_eq!(id(&|s| 0u32.push_to(s)), "0");
        assert_eq!(id(&|s| "snap.t5".push_to(s)), "snap.t5");
        assert_eq!(id(&|s| SmolStr::new("agg9").push_to(s)), "agg9");
        assert_eq!(id(&|s| format_args!("{}.{}", 3, "x").push_to(s)), "3.x");
        assert_eq!(
            record_id("okx", "perp", "BTC-USDT-PERP", "bbo", 17u64),
            "okx.perp.BTC-USDT-PERP.bbo.17"
        );
    }

    #[test]
    fn a_record_carries_the_symbol_and_a_deterministic_id() {
        let s = SymbolInfo {
            market: Market::Spot,
            symbol: "BTC-USDT".into(),
            native: "BTCUSDT".into(),
        };
        let trade = Data::Trade(Trade {
            price: Dec::parse("1.50").unwrap(),
            size: Dec::parse("2").unwrap(),
            side: Side::Buy,
            trade_id: "7".into(),
        });
        let r = record("binance", &s, (Some(1), 2), Some(7), 7u64, trade);
        assert_eq!(r.id, "binance.spot.BTC-USDT.trade.7");
        assert_eq!(
            String::from_utf8(r.to_json()).unwrap(),
            r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":1,"ts_recv":2,"seq":7,"id":"binance.spot.BTC-USDT.trade.7","kind":"trade","price":"1.5","size":"2","side":"buy","trade_id":"7"}"#
        );
    }
}

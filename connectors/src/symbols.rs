//! Symbols: the normalized form (`BTC-USDT`, `BTC-USDT-PERP`, `BTC-USD-240927`) and the
//! exchange's native one, the per-connection table that maps native → normalized, and
//! the set of native symbols a connection subscribed to (frames of others are ignored).

use std::collections::{HashMap, HashSet};

use smol_str::SmolStr;
use tickbridge_schema::Market;

use crate::contract::Parsed;

/// One instrument as both the schema and the exchange name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SymbolInfo {
    pub market: Market,
    /// Normalized: `BASE-QUOTE`, plus `-PERP` or `-YYMMDD` for derivatives.
    pub symbol: SmolStr,
    /// The exchange's own symbol, as it appears in frames.
    pub native: SmolStr,
}

impl SymbolInfo {
    /// An instrument whose native name is its normalized one (`BTC-USD` on Coinbase).
    pub fn same(market: Market, name: &str) -> Self {
        SymbolInfo {
            market,
            symbol: name.into(),
            native: name.into(),
        }
    }
}

/// Maps native symbols seen in frames to [`SymbolInfo`]. Symbols that were not planned
/// (corpus replays, exchanges that echo extra instruments) are resolved once with the
/// connector's fallback and cached, so no frame is rejected for its symbol alone.
pub struct SymbolTable {
    by_native: HashMap<SmolStr, SymbolInfo>,
    fallback: fn(&str) -> SymbolInfo,
    /// The symbol resolved last: consecutive frames mostly name the same one, and a
    /// string compare is cheaper than hashing.
    last: Option<SymbolInfo>,
}

impl SymbolTable {
    pub fn new(symbols: &[SymbolInfo], fallback: fn(&str) -> SymbolInfo) -> Self {
        let by_native = symbols
            .iter()
            .map(|s| (s.native.clone(), s.clone()))
            .collect();
        SymbolTable {
            by_native,
            fallback,
            last: None,
        }
    }

    /// The symbol for a native name as it appears in a frame.
    pub fn resolve(&mut self, native: &str) -> &SymbolInfo {
        if self.last.as_ref().is_none_or(|s| s.native != native) {
            let info = match self.by_native.get(native) {
                Some(info) => info.clone(),
                None => {
                    let info = (self.fallback)(native);
                    self.by_native.insert(SmolStr::new(native), info.clone());
                    info
                }
            };
            self.last = Some(info);
        }
        self.last.as_ref().expect("set above")
    }
}

/// What a parser answers for a frame whose symbols its connection did not subscribe to:
/// an exchange that pushes type-wide channels, or echoes other instruments, must not
/// make a connection emit records it was not asked for.
pub const NOT_PLANNED: Parsed = Parsed::Ignored("a symbol this connection did not subscribe to");

/// The native symbols one connection subscribed to. Empty (recordings and corpus
/// replays plan none) takes every symbol.
#[derive(Debug, Default, Clone)]
pub struct Planned(HashSet<SmolStr>);

impl Planned {
    /// The natives of a connection's planned symbols, as frames spell them.
    pub fn new(symbols: &[SymbolInfo]) -> Self {
        Planned::of(symbols.iter().map(|s| s.native.clone()))
    }

    /// Natives in the form a venue's frames are matched in (Binance: lower case).
    pub fn of(natives: impl IntoIterator<Item = SmolStr>) -> Self {
        Planned(natives.into_iter().collect())
    }

    /// Whether frames of `native` are this connection's.
    pub fn allows(&self, native: &str) -> bool {
        self.0.is_empty() || self.0.contains(native)
    }

    /// Whether an item of `native` is this connection's, noted in `items` (frames that
    /// carry several symbols keep the planned items and drop the others).
    pub fn admit(&self, native: &str, items: &mut Admitted) -> bool {
        let allowed = self.allows(native);
        if allowed {
            items.kept = true;
        } else {
            items.skipped = true;
        }
        allowed
    }
}

/// Which items of a frame of several symbols a connection took ([`Planned::admit`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Admitted {
    kept: bool,
    skipped: bool,
}

impl Admitted {
    /// Every item was of a symbol the connection did not subscribe to (a frame without
    /// items is not: it is answered as before).
    pub fn none_planned(self) -> bool {
        self.skipped && !self.kept
    }
}

/// Whether every part is non-empty ASCII alphanumerics (the parts of a user symbol
/// split at `-`): anything else cannot name an instrument on any venue.
pub fn alphanumeric_parts(parts: &[&str]) -> bool {
    parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `upper` is non-empty and only ASCII alphanumerics or bytes of `extra` (the
/// separators a venue's native or normalized symbols use).
pub fn symbol_text(upper: &str, extra: &[u8]) -> bool {
    !upper.is_empty()
        && upper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// A user's `BASE-QUOTE` product id, trimmed and upper-cased, if it is one.
pub fn product_id(user: &str) -> Option<String> {
    let upper = user.trim().to_ascii_uppercase();
    let parts: Vec<&str> = upper.split('-').collect();
    (parts.len() == 2 && alphanumeric_parts(&parts)).then(|| upper.clone())
}

/// Quote currencies recognised when a native symbol has no separator (`BTCUSDT`),
/// longest first so `USDT` wins over `USD`.
const QUOTES: &[&str] = &[
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "USD1", "DAI", "USD", "EUR", "GBP", "TRY",
    "BRL", "AUD", "JPY", "RUB", "UAH", "ZAR", "IDRT", "BIDR", "NGN", "PLN", "RON", "ARS", "MXN",
    "COP", "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "SOL",
];

/// Splits a concatenated native symbol (`BTCUSDT`) into base and quote.
pub fn split_concatenated(native: &str) -> Option<(&str, &str)> {
    let upper = native;
    QUOTES
        .iter()
        .filter(|q| upper.len() > q.len() && upper.ends_with(*q))
        .max_by_key(|q| q.len())
        .map(|q| upper.split_at(upper.len() - q.len()))
}

/// Months as exchanges spell them in dated symbols (`26DEC25`).
pub const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_symbols() {
        assert_eq!(split_concatenated("BTCUSDT"), Some(("BTC", "USDT")));
        assert_eq!(split_concatenated("ETHBTC"), Some(("ETH", "BTC")));
        assert_eq!(split_concatenated("BLZETH"), Some(("BLZ", "ETH")));
        assert_eq!(split_concatenated("RUNEEUR"), Some(("RUNE", "EUR")));
        assert_eq!(split_concatenated("BTCFDUSD"), Some(("BTC", "FDUSD")));
        assert_eq!(split_concatenated("USDT"), None);
        assert_eq!(split_concatenated("FOOBAR"), None);
    }
}

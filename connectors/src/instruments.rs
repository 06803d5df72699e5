//! Instruments as the exchange lists them. Each connector parses its exchange's REST
//! reference response (`Connector::instrument_urls`, `Connector::parse_instruments`)
//! into [`Listed`] instruments: the native symbol, the normalized one built from the
//! base and quote assets the exchange names (never from string suffixes), and the
//! reference data published as `instrument` records. An [`InstrumentList`] resolves
//! what a user writes (a normalized or native symbol, or a pattern) and names the
//! closest listed symbols when one is unknown.
//!
//! Normalized symbols: spot `BASE-QUOTE`; perpetual `BASE-QUOTE-PERP`; dated future
//! `BASE-QUOTE-YYMMDD`; option `BASE-QUOTE-YYMMDD-STRIKE-C|P` (expiry as the UTC date).

use std::collections::HashMap;

use smol_str::SmolStr;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market, OptionType};

use crate::symbols::SymbolInfo;

/// One instrument of an exchange's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub symbol: SymbolInfo,
    pub spec: Instrument,
}

impl Listed {
    /// An instrument whose normalized symbol is built from its reference data.
    pub fn new(market: Market, native: &str, spec: Instrument) -> Listed {
        let symbol = normalized(market, &spec);
        Listed {
            symbol: SymbolInfo {
                market,
                symbol: symbol.into(),
                native: native.into(),
            },
            spec,
        }
    }

    pub fn is_trading(&self) -> bool {
        self.spec.status == InstrumentStatus::Trading
    }
}

/// The normalized symbol of an instrument (see the module docs).
pub fn normalized(market: Market, i: &Instrument) -> String {
    let pair = format!("{}-{}", i.base, i.quote);
    match market {
        Market::Spot => pair,
        Market::Perp => format!("{pair}-PERP"),
        Market::Future => match i.expiry {
            Some(ns) => format!("{pair}-{}", yymmdd(ns)),
            None => format!("{pair}-FUTURE"),
        },
        Market::Option => {
            let expiry = i.expiry.map(yymmdd).unwrap_or_default();
            let strike = i.strike.as_ref().map(Dec::as_str).unwrap_or("0");
            let kind = match i.option_type {
                Some(OptionType::Put) => "P",
                _ => "C",
            };
            format!("{pair}-{expiry}-{strike}-{kind}")
        }
    }
}

/// `YYMMDD` of a UTC instant in ns since the epoch.
pub fn yymmdd(ns: i64) -> String {
    let (y, m, d) = crate::time::civil_from_days(ns.div_euclid(86_400_000_000_000));
    format!("{:02}{m:02}{d:02}", y.rem_euclid(100))
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    Found(&'a Listed),
    /// Listed, but on another market than the one asked for.
    OtherMarket(&'a Listed),
    /// Not listed; the closest listed symbols of the market, best first.
    Unknown(Vec<&'a Listed>),
}

/// An exchange's instruments, indexed by native and normalized symbol.
#[derive(Debug, Clone, Default)]
pub struct InstrumentList {
    items: Vec<Listed>,
    by_native: HashMap<SmolStr, usize>,
    by_symbol: HashMap<(Market, SmolStr), usize>,
}

impl InstrumentList {
    /// Indexes `items`; two instruments with the same native or the same normalized
    /// symbol on one market are an error naming both.
    pub fn new(items: Vec<Listed>) -> Result<Self, String> {
        let mut list = InstrumentList::default();
        for (i, item) in items.iter().enumerate() {
            let native = SmolStr::new(item.symbol.native.to_ascii_uppercase());
            if let Some(j) = list.by_native.insert(native, i) {
                return Err(format!(
                    "two instruments are listed as {}: {} and {}",
                    item.symbol.native, items[j].symbol.symbol, item.symbol.symbol
                ));
            }
            let key = (item.symbol.market, upper(&item.symbol.symbol));
            if let Some(j) = list.by_symbol.insert(key, i) {
                return Err(format!(
                    "{} and {} both normalize to {}",
                    items[j].symbol.native, item.symbol.native, item.symbol.symbol
                ));
            }
        }
        list.items = items;
        Ok(list)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Listed> {
        self.items.iter()
    }

    /// The instrument listed under `native` (any letter case).
    pub fn get(&self, native: &str) -> Option<&Listed> {
        self.by_native.get(&upper(native)).map(|&i| &self.items[i])
    }

    /// The instrument a user symbol (normalized or native, any letter case) names on
    /// `market`.
    pub fn lookup(&self, market: Market, user: &str) -> Lookup<'_> {
        let wanted = upper(user.trim());
        if let Some(&i) = self.by_symbol.get(&(market, wanted.clone())) {
            return Lookup::Found(&self.items[i]);
        }
        if let Some(&i) = self.by_native.get(&wanted) {
            let item = &self.items[i];
            return if item.symbol.market == market {
                Lookup::Found(item)
            } else {
                Lookup::OtherMarket(item)
            };
        }
        if let Some(item) = self
            .items
            .iter()
            .find(|x| x.symbol.symbol.eq_ignore_ascii_case(&wanted))
        {
            return Lookup::OtherMarket(item);
        }
        Lookup::Unknown(self.closest(market, &wanted, 3))
    }

    /// The `n` listed symbols of `market` closest to `wanted` (edit distance over the
    /// normalized and the native symbol, letters only compared in upper case).
    pub fn closest(&self, market: Market, wanted: &str, n: usize) -> Vec<&Listed> {
        let wanted = wanted.to_ascii_uppercase();
        let mut scored: Vec<(usize, &Listed)> = self
            .items
            .iter()
            .filter(|x| x.symbol.market == market)
            .map(|x| {
                let by_symbol = distance(&wanted, &x.symbol.symbol.to_ascii_uppercase());
                let by_native = distance(&wanted, &x.symbol.native.to_ascii_uppercase());
                (by_symbol.min(by_native), x)
            })
            .collect();
        scored.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(a.1.symbol.symbol.cmp(&b.1.symbol.symbol))
        });
        scored.into_iter().take(n).map(|(_, x)| x).collect()
    }

    /// The trading instruments of `market` whose normalized symbol matches `pattern`
    /// (`*` stands for any run of characters: `*-USDT-PERP`), in normalized order.
    pub fn matching(&self, market: Market, pattern: &str) -> Vec<&Listed> {
        let pattern = pattern.trim().to_ascii_uppercase();
        let mut found: Vec<&Listed> = self
            .items
            .iter()
            .filter(|x| x.symbol.market == market && x.is_trading())
            .filter(|x| glob(&pattern, &x.symbol.symbol.to_ascii_uppercase()))
            .collect();
        found.sort_by(|a, b| a.symbol.symbol.cmp(&b.symbol.symbol));
        found
    }
}

fn upper(s: &str) -> SmolStr {
    SmolStr::new(s.to_ascii_uppercase())
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Levenshtein distance (symbols are short ASCII).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<u8> = b.bytes().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `10^-decimals` as a decimal (`2` → `0.01`): the tick or lot of lists that give
/// precisions as a number of decimals (Bitstamp, Gate, HTX spot).
pub fn step(decimals: u32) -> Option<Dec> {
    let text = match decimals {
        0 => "1".to_string(),
        n if n <= 30 => format!("0.{}1", "0".repeat(n as usize - 1)),
        _ => return None,
    };
    Dec::parse(&text).ok()
}

/// A spot or perpetual instrument with only the fields most lists have; parsers fill
/// in the rest.
pub fn pair(base: &str, quote: &str, settle: Option<&str>) -> Instrument {
    Instrument {
        base: base.into(),
        quote: quote.into(),
        settle: settle.map(SmolStr::new),
        expiry: None,
        strike: None,
        option_type: None,
        tick_size: None,
        lot_size: None,
        contract_size: None,
        status: InstrumentStatus::Trading,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot(native: &str, base: &str, quote: &str) -> Listed {
        Listed::new(Market::Spot, native, pair(base, quote, None))
    }

    fn list() -> InstrumentList {
        let mut perp = pair("BTC", "USDT", Some("USDT"));
        perp.contract_size = Some(Dec::parse("1").unwrap());
        let mut future = pair("DOT", "USD", Some("DOT"));
        future.expiry = Some(1_624_608_000_000_000_000); // 2021-06-25
        let mut halted = pair("LUNA", "USDT", Some("USDT"));
        halted.status = InstrumentStatus::Halted;
        InstrumentList::new(vec![
            spot("BTCUSDT", "BTC", "USDT"),
            spot("BATUSD", "BAT", "USD"),
            spot("ETHUSDT", "ETH", "USDT"),
            Listed::new(Market::Perp, "BTCUSDT_P", perp),
            Listed::new(Market::Perp, "LUNAUSDT", halted),
            Listed::new(Market::Future, "DOTUSD_210625", future),
        ])
        .unwrap()
    }

    #[test]
    fn symbols_come_from_the_listed_assets() {
        let l = list();
        let found = |m, s| match l.lookup(m, s) {
            Lookup::Found(x) => x.symbol.symbol.to_string(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(found(Market::Spot, "BATUSD"), "BAT-USD");
        assert_eq!(found(Market::Spot, "bat-usd"), "BAT-USD");
        assert_eq!(found(Market::Future, "DOTUSD_210625"), "DOT-USD-210625");
        assert_eq!(found(Market::Perp, "BTC-USDT-PERP"), "BTC-USDT-PERP");
    }

    #[test]
    fn another_market_and_unknown_symbols_are_told_apart() {
        let l = list();
        match l.lookup(Market::Spot, "DOT-USD-210625") {
            Lookup::OtherMarket(x) => assert_eq!(x.symbol.market, Market::Future),
            other => panic!("{other:?}"),
        }
        match l.lookup(Market::Spot, "ETHUSD") {
            Lookup::Unknown(near) => {
                let names: Vec<&str> = near.iter().map(|x| x.symbol.native.as_str()).collect();
                assert_eq!(names, ["ETHUSDT", "BATUSD", "BTCUSDT"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn patterns_pick_trading_instruments_of_the_market() {
        let l = list();
        let names = |m, p| -> Vec<String> {
            l.matching(m, p)
                .iter()
                .map(|x| x.symbol.symbol.to_string())
                .collect()
        };
        assert_eq!(names(Market::Perp, "*-USDT-PERP"), ["BTC-USDT-PERP"]);
        assert_eq!(names(Market::Spot, "*-usdt"), ["BTC-USDT", "ETH-USDT"]);
        assert_eq!(names(Market::Spot, "B*"), ["BAT-USD", "BTC-USDT"]);
        assert!(names(Market::Spot, "XRP-*").is_empty());
    }

    #[test]
    fn collisions_are_refused() {
        let err = InstrumentList::new(vec![
            spot("BTCUSDT", "BTC", "USDT"),
            spot("XBTUSDT", "BTC", "USDT"),
        ])
        .unwrap_err();
        assert_eq!(err, "BTCUSDT and XBTUSDT both normalize to BTC-USDT");
    }

    #[test]
    fn options_carry_expiry_strike_and_kind() {
        let mut o = pair("BTC", "USD", Some("BTC"));
        o.expiry = Some(1_735_286_400_000_000_000); // 2024-12-27
        o.strike = Some(Dec::parse("100000").unwrap());
        o.option_type = Some(OptionType::Put);
        assert_eq!(normalized(Market::Option, &o), "BTC-USD-241227-100000-P");
    }

    #[test]
    fn globs() {
        assert!(glob("*", "X"));
        assert!(glob("A*B*C", "AXXBYYC"));
        assert!(!glob("A*B*C", "AXXC"));
        assert!(glob("ABC", "ABC"));
        assert!(!glob("AB*BA", "ABA"));
    }
}

//! [`Price`]: a price as an ordered map key, and the fixed-point key behind it that
//! makes comparing two prices an integer comparison (the hot path of book upkeep).

use std::cmp::Ordering;

use tickbridge_schema::Dec;

/// A price used as a map key: ordered by numeric value. `Dec` is normalized text, so
/// two equal values are byte-equal and `Eq` agrees with `Ord`.
///
/// Comparing decimal texts is the hot path of book upkeep (a level set in a book of
/// a thousand levels is ten comparisons), so each price carries a fixed-point key
/// computed once: its value × 10^18, saturating from 10^19, 0 for negatives. The key is monotone
/// in the value, so keys that differ order the prices. When the key holds the value
/// exactly (`exact`: at most 18 decimals, below 10^19, not negative), equal keys are
/// equal prices; only inexact keys fall back to comparing the texts. The order stays
/// exact.
#[derive(Debug, Clone)]
pub struct Price {
    key: u128,
    /// The key is the value × 10^18 exactly (no digit cut, no saturation).
    exact: bool,
    dec: Dec,
}

/// Decimal places of [`Price`]'s fixed-point key.
const KEY_DECIMALS: usize = 18;

impl Price {
    pub fn new(dec: Dec) -> Self {
        let (key, exact) = fixed_point_key(dec.as_str());
        Price { key, exact, dec }
    }

    /// The price.
    pub fn dec(&self) -> &Dec {
        &self.dec
    }

    pub fn into_dec(self) -> Dec {
        self.dec
    }
}

/// `text` (a normalized decimal) × 10^18 as an integer, and whether that is exact;
/// `u128::MAX` from 10^19 up; 0 for a negative value (every negative price shares the
/// key and compares by text).
fn fixed_point_key(text: &str) -> (u128, bool) {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b'-') {
        return (0, false);
    }
    // One pass, in two u64s (up to 19 integer digits, and the first 18 fraction
    // digits, which fit: 10^18 < 2^64); this runs once per level of every diff, and a
    // u128 step per digit, or a search for the point and a loop per part, cost twice
    // as much.
    let mut at = 0;
    let mut whole: u64 = 0;
    while let Some(&b) = bytes.get(at) {
        if b == b'.' {
            break;
        }
        whole = whole
            .wrapping_mul(10)
            .wrapping_add(u64::from(b.wrapping_sub(b'0')));
        at += 1;
    }
    if at > 19 {
        return (u128::MAX, false); // beyond 10^19: compares by text
    }
    let mut frac: u64 = 0;
    let mut digits = 0;
    at += 1; // past the point (or the end)
    while let Some(&b) = bytes.get(at) {
        if digits == KEY_DECIMALS {
            break;
        }
        frac = frac * 10 + u64::from(b.wrapping_sub(b'0'));
        digits += 1;
        at += 1;
    }
    let exact = at >= bytes.len();
    let frac = frac * POW10[KEY_DECIMALS - digits];
    let key = u128::from(whole) * u128::from(POW10[KEY_DECIMALS]) + u128::from(frac);
    (key, exact)
}

/// `text`'s fixed-point key when it holds the value exactly (a normalized decimal with
/// at most 18 decimals, below 10^19, not negative): then two prices are equal exactly
/// when their keys are, and order as their keys do.
pub(super) fn exact_key(text: &str) -> Option<u128> {
    match fixed_point_key(text) {
        (key, true) => Some(key),
        _ => None,
    }
}

/// 10^0 ..= 10^18.
const POW10: [u64; KEY_DECIMALS + 1] = {
    let mut p = [1u64; KEY_DECIMALS + 1];
    let mut i = 1;
    while i <= KEY_DECIMALS {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

impl PartialEq for Price {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && ((self.exact && other.exact) || self.dec == other.dec)
    }
}

impl Eq for Price {}

impl std::hash::Hash for Price {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.dec.hash(state);
    }
}

impl Ord for Price {
    fn cmp(&self, other: &Self) -> Ordering {
        match self.key.cmp(&other.key) {
            Ordering::Equal if self.exact && other.exact => Ordering::Equal,
            Ordering::Equal => self.dec.cmp_value(&other.dec),
            unequal => unequal,
        }
    }
}

impl PartialOrd for Price {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_keys_order_exactly_as_the_values() {
        let texts = [
            "-5.5",
            "-5",
            "-0.1",
            "0",
            "0.000000000000000001",
            "0.0000000000000000011",
            "0.0000000000000000012",
            "0.5",
            "0.50000000000000000001",
            "1",
            "9.99",
            "10",
            "10.000000000000000001",
            "61837.63",
            "61837.631",
            "9999999999999999999",
            "9999999999999999999.000000000000000001",
            "9999999999999999999.0000000000000000011",
            "9999999999999999999.5",
            "99999999999999999999",
            "340282366920938463463",
            "340282366920938463463.5",
            "1000000000000000000000000",
        ];
        let prices: Vec<Price> = texts
            .iter()
            .map(|t| Price::new(Dec::parse(t).unwrap()))
            .collect();
        for a in &prices {
            for b in &prices {
                assert_eq!(
                    a.cmp(b),
                    a.dec().cmp_value(b.dec()),
                    "{:?} vs {:?}",
                    a.dec(),
                    b.dec()
                );
                assert_eq!(a == b, a.dec() == b.dec());
            }
        }
        // Listed in increasing order: sorted keys keep it.
        let mut sorted = prices.clone();
        sorted.sort();
        let got: Vec<&str> = sorted.iter().map(|p| p.dec().as_str()).collect();
        assert_eq!(got, texts);
    }

    #[test]
    fn exact_keys_are_the_exact_prices() {
        assert_eq!(exact_key("61837.63"), Some(61_837_630_000_000_000_000_000));
        assert_eq!(exact_key("0.000000000000000001"), Some(1));
        assert_eq!(
            exact_key("9999999999999999999"),
            Some(9_999_999_999_999_999_999 * 10u128.pow(18))
        );
        for inexact in ["-5", "0.0000000000000000011", "99999999999999999999"] {
            assert_eq!(exact_key(inexact), None, "{inexact}");
        }
    }
}

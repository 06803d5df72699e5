//! `Dec`: an exact decimal kept as normalized text.
//!
//! Exchanges send prices and sizes as decimal text (`"61837.63000000"`) or as JSON
//! numbers with full precision (Kraken v2). Converting them through `f64` loses
//! digits; converting them through a decimal type and back costs 50-100% of the hot
//! path (see docs/architecture.md, "Schema v1"). So a `Dec` is the exchange's own text,
//! validated and normalized once: no sign for zero, no leading zeros, no trailing
//! fractional zeros, no exponent. Two `Dec`s of the same value are byte-equal, which
//! makes equality, hashing and the deterministic record `id` cheap.
//!
//! Ordering by value (order-book levels) is done with [`Dec::cmp_value`].

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smol_str::SmolStr;

/// Why a text is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecError {
    #[error("empty decimal")]
    Empty,
    #[error("invalid decimal {0:?}: expected digits with an optional sign, point and exponent")]
    Invalid(String),
    #[error("decimal {0:?} has an exponent out of range")]
    ExponentRange(String),
}

/// An exact decimal number as normalized text (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Dec(SmolStr);

impl Dec {
    /// The decimal zero.
    pub fn zero() -> Dec {
        Dec(SmolStr::new_static("0"))
    }

    /// Parses and normalizes decimal text: `[+-]digits[.digits][(e|E)[+-]digits]`.
    pub fn parse(text: &str) -> Result<Dec, DecError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(DecError::Empty);
        }
        // Fast path: plain `digits[.digits]`, the shape of nearly every exchange value.
        if let Some(normalized) = normalize_plain(text) {
            return Ok(normalized);
        }
        parse_general(text)
    }

    /// The normalized text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// True when the value is zero (a book size of zero deletes the level).
    pub fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// True when the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }

    /// Compares two decimals by numeric value.
    pub fn cmp_value(&self, other: &Dec) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => cmp_magnitude(self.as_str(), other.as_str()),
            (true, true) => cmp_magnitude(&other.as_str()[1..], &self.as_str()[1..]),
        }
    }
}

/// Compares two normalized non-negative decimals by value (the hot path of order
/// books). Normalized integer parts have no leading zeros, so a longer one is larger;
/// with integer parts of equal length the points align, and normalized fractions have
/// no trailing zeros, so the texts compare byte by byte (a missing digit is smaller).
fn cmp_magnitude(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let int_len = |s: &[u8]| s.iter().position(|&c| c == b'.').unwrap_or(s.len());
    int_len(a).cmp(&int_len(b)).then_with(|| a.cmp(b))
}

/// Normalizes `digits[.digits]`; `None` when the text has any other shape (sign,
/// exponent, invalid characters). The normalized text is nearly always a slice of
/// the input (`61837.63000000` → `61837.63`, `0.02000000` → `0.02`), so it is taken
/// as is, without building a new string.
fn normalize_plain(text: &str) -> Option<Dec> {
    // One byte loop rather than `str` searches and trims: this runs for every price
    // and size of every frame (two per book level), and the generic text helpers cost
    // ~200 instructions a value.
    let b = text.as_bytes();
    let n = b.len();
    let mut dot = n;
    // Just past the last digit that is not `0`.
    let mut significant_end = 0;
    for (i, &c) in b.iter().enumerate() {
        let digit = c.wrapping_sub(b'0');
        if digit < 10 {
            if digit != 0 {
                significant_end = i + 1;
            }
        } else if c == b'.' && dot == n {
            dot = i;
        } else {
            return None;
        }
    }
    if dot == 0 {
        // `.5` needs a leading zero; `.` is not a number.
        return (n > 1).then(|| assemble(false, "", &text[1..]));
    }
    // Trailing fraction zeros go, and an all-zero fraction takes its point along
    // (`5.000` → `5`); leading zeros go, but one integer digit stays (`0.02`, `0`).
    let end = if dot < n { significant_end.max(dot) } else { n };
    let mut start = 0;
    while start + 1 < dot && b[start] == b'0' {
        start += 1;
    }
    if end == start + 1 && b[start] == b'0' {
        return Some(Dec::zero());
    }
    // The normalized text is a slice of the input.
    Some(Dec(inline_or_heap(&text[start..end])))
}

/// A `SmolStr` of `text`: nearly every price and size fits its 23 inline bytes, and
/// `SmolStr::new_inline` copies them without the general constructor's checks and
/// `memcpy` call.
#[inline]
fn inline_or_heap(text: &str) -> SmolStr {
    if text.len() <= 23 {
        SmolStr::new_inline(text)
    } else {
        SmolStr::new(text)
    }
}

/// Builds the normalized text from a sign, integer digits and fraction digits.
fn assemble(negative: bool, int: &str, frac: &str) -> Dec {
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if int == "0" && frac.is_empty() {
        return Dec::zero();
    }
    let fits_inline = int.len() + frac.len() + 2 <= 23;
    if !negative && frac.is_empty() {
        return Dec(SmolStr::new(int));
    }
    if !negative && fits_inline {
        let mut buf = [0u8; 23];
        buf[..int.len()].copy_from_slice(int.as_bytes());
        buf[int.len()] = b'.';
        buf[int.len() + 1..int.len() + 1 + frac.len()].copy_from_slice(frac.as_bytes());
        let s = std::str::from_utf8(&buf[..int.len() + 1 + frac.len()]).expect("ascii digits");
        return Dec(SmolStr::new(s));
    }
    let mut s = String::with_capacity(int.len() + frac.len() + 2);
    if negative {
        s.push('-');
    }
    s.push_str(int);
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    Dec(SmolStr::new(s))
}

/// The slow path: signs and exponents (`-1.5`, `5e-05`, `1.2E+3`).
fn parse_general(text: &str) -> Result<Dec, DecError> {
    let invalid = || DecError::Invalid(text.to_string());
    let (negative, rest) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => {
            let exp: i32 = rest[i + 1..].parse().map_err(|_| invalid())?;
            (&rest[..i], exp)
        }
        None => (rest, 0),
    };
    if !(-400..=400).contains(&exponent) {
        return Err(DecError::ExponentRange(text.to_string()));
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return Err(invalid());
    }
    // Shift the decimal point by the exponent over the concatenated digits.
    let digits: String = [int, frac].concat();
    let point = int.len() as i64 + exponent as i64;
    let (new_int, new_frac) = if point <= 0 {
        let zeros = "0".repeat((-point) as usize);
        (String::new(), format!("{zeros}{digits}"))
    } else if point as usize >= digits.len() {
        let zeros = "0".repeat(point as usize - digits.len());
        (format!("{digits}{zeros}"), String::new())
    } else {
        let (a, b) = digits.split_at(point as usize);
        (a.to_string(), b.to_string())
    };
    let dec = assemble(negative, &new_int, &new_frac);
    Ok(if dec.as_str() == "-0" {
        Dec::zero()
    } else {
        dec
    })
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dec({})", self.as_str())
    }
}

impl std::str::FromStr for Dec {
    type Err = DecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dec::parse(s)
    }
}

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Dec {
    /// Accepts a JSON string (`"0.1"`) or a JSON number read from its raw text, so a
    /// wire type can use `Dec` directly; a number is never routed through `f64` when
    /// serde_json's `arbitrary_precision` or a `RawValue` hands over the text.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Dec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal as a string or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Dec, E> {
                Dec::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dec, E> {
                // Digits written on the stack: integer sizes (Gate futures, BitMEX)
                // are on the book hot path, and `to_string` allocated for each.
                let mut buf = [0u8; 20];
                let mut at = buf.len();
                let mut rest = v;
                loop {
                    at -= 1;
                    buf[at] = b'0' + (rest % 10) as u8;
                    rest /= 10;
                    if rest == 0 {
                        break;
                    }
                }
                let digits = std::str::from_utf8(&buf[at..]).expect("ASCII digits");
                Ok(Dec(inline_or_heap(digits)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dec, E> {
                Dec::parse(&v.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_exchange_text() {
        let cases = [
            ("61837.63000000", "61837.63"),
            ("0.00000000", "0"),
            ("0.02000000", "0.02"),
            ("100", "100"),
            ("100.000", "100"),
            ("007.50", "7.5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("-0.000", "0"),
            ("-1.50", "-1.5"),
            ("+2.0", "2"),
            ("5e-05", "0.00005"),
            ("1.2E+3", "1200"),
            ("1.25e1", "12.5"),
            ("0.00001000e2", "0.001"),
            ("123456789012345678901234.5", "123456789012345678901234.5"),
            ("0", "0"),
            ("000", "0"),
            ("0.", "0"),
            (".0", "0"),
            ("0.5", "0.5"),
            ("00.50", "0.5"),
            ("10", "10"),
            ("10.0", "10"),
            ("100.001000", "100.001"),
        ];
        for (input, want) in cases {
            assert_eq!(Dec::parse(input).unwrap().as_str(), want, "input {input:?}");
        }
    }

    #[test]
    fn rejects_non_decimals() {
        for input in [
            "", ".", "-", "abc", "1.2.3", "1,5", "NaN", "1e", "0x10", " 1", "1e999",
        ] {
            assert!(Dec::parse(input).is_err(), "accepted {input:?}");
        }
        assert_eq!(
            Dec::parse("1,5").unwrap_err().to_string(),
            "invalid decimal \"1,5\": expected digits with an optional sign, point and exponent"
        );
    }

    #[test]
    fn compares_by_value() {
        let d = |s| Dec::parse(s).unwrap();
        assert_eq!(d("10").cmp_value(&d("9.99")), Ordering::Greater);
        assert_eq!(d("0.1").cmp_value(&d("0.09")), Ordering::Greater);
        assert_eq!(d("0.1").cmp_value(&d("0.10")), Ordering::Equal);
        assert_eq!(d("-1").cmp_value(&d("0.5")), Ordering::Less);
        assert_eq!(d("-1").cmp_value(&d("-2")), Ordering::Greater);
        assert_eq!(d("61837.63").cmp_value(&d("61837.6")), Ordering::Greater);
        assert_eq!(d("123").cmp_value(&d("123.5")), Ordering::Less);
        assert_eq!(d("123.5").cmp_value(&d("124")), Ordering::Less);
        assert_eq!(d("123.45").cmp_value(&d("123.5")), Ordering::Less);
        assert_eq!(d("0.001").cmp_value(&d("0.01")), Ordering::Less);
        assert_eq!(d("0").cmp_value(&d("0.00001")), Ordering::Less);
        assert_eq!(d("99.9").cmp_value(&d("100")), Ordering::Less);
        assert_eq!(d("61837.63").cmp_value(&d("61837.63")), Ordering::Equal);
        assert_eq!(d("-0.5").cmp_value(&d("-0.05")), Ordering::Less);
        // Against sorting by f64 over a spread of values.
        let values = [
            "0", "0.5", "0.05", "1", "10", "9.99", "100.001", "100.01", "2.5", "0.0001",
        ];
        let mut sorted: Vec<Dec> = values.iter().map(|v| d(v)).collect();
        sorted.sort_by(|a, b| a.cmp_value(b));
        let mut by_float = values.to_vec();
        by_float.sort_by(|a, b| a.parse::<f64>().unwrap().total_cmp(&b.parse().unwrap()));
        let sorted: Vec<&str> = sorted.iter().map(Dec::as_str).collect();
        assert_eq!(sorted, by_float);
    }

    #[test]
    fn serde_round_trip() {
        let d: Dec = serde_json::from_str("\"1.500\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1.5\"");
        let n: Dec = serde_json::from_str("42").unwrap();
        assert_eq!(n.as_str(), "42");
        for (json, want) in [
            ("0", "0"),
            ("7", "7"),
            ("36916", "36916"),
            ("18446744073709551615", "18446744073709551615"),
            ("-12", "-12"),
        ] {
            let n: Dec = serde_json::from_str(json).unwrap();
            assert_eq!(n.as_str(), want, "{json}");
        }
    }
}

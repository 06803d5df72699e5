//! Conversions every parser needs, from the exchange's text to schema values: exact
//! decimals from raw JSON (never through `f64`), sides, millisecond timestamps, and
//! book levels written as `[price, size, ...]` arrays of strings.

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smol_str::{SmolStr, SmolStrBuilder};
use tickbridge_schema::{u64_digits, Dec, Side};

use crate::contract::ParseError;

/// A decimal from a JSON number's (or string's) raw text, never through `f64`.
pub fn dec_raw(raw: &RawValue, context: &'static str) -> Result<Dec, ParseError> {
    let text = raw.get();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    Dec::parse(text).map_err(|e| ParseError::Invalid {
        context,
        detail: e.to_string(),
    })
}

/// An exchange's numeric id as the text a record carries (`trade_id`, the id's
/// suffix): `n.to_string()`, without the formatting machinery or a heap string (it
/// runs on every trade).
pub fn id_text(n: u64) -> SmolStr {
    SmolStr::new_inline(u64_digits(n, &mut [0; 20]))
}

/// [`id_text`] after a prefix (`agg` + an aggregate trade id); inline up to 23 bytes.
pub fn prefixed_id_text(prefix: &str, n: u64) -> SmolStr {
    let mut text = SmolStrBuilder::new();
    text.push_str(prefix);
    text.push_str(u64_digits(n, &mut [0; 20]));
    text.finish()
}

/// The raw text of a JSON number (or the content of a JSON string), as sent.
pub fn raw_text(raw: &RawValue) -> &str {
    let text = raw.get();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// A decimal from exchange text; `None` for absent or empty fields (`""`).
pub fn dec_opt(text: Option<&str>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => Dec::parse(t).map(Some).map_err(|e| ParseError::Invalid {
            context,
            detail: e.to_string(),
        }),
    }
}

/// A required decimal from exchange text.
pub fn dec(text: &str, context: &'static str) -> Result<Dec, ParseError> {
    Dec::parse(text).map_err(|e| ParseError::Invalid {
        context,
        detail: e.to_string(),
    })
}

/// `buy`/`sell` in any letter case.
pub fn side(text: &str, context: &'static str) -> Result<Side, ParseError> {
    if text.eq_ignore_ascii_case("buy") {
        Ok(Side::Buy)
    } else if text.eq_ignore_ascii_case("sell") {
        Ok(Side::Sell)
    } else {
        Err(ParseError::Invalid {
            context,
            detail: format!("side {text:?}"),
        })
    }
}

/// Milliseconds since the epoch as decimal text (`"1597026383085"`) → ns.
pub fn ms_text_to_ns(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().map(crate::time::ms_to_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_texts_are_the_decimal_digits() {
        for n in [0, 7, 3_735_683_259, u64::MAX] {
            assert_eq!(id_text(n), n.to_string());
            assert_eq!(prefixed_id_text("agg", n), format!("agg{n}"));
        }
        let long = prefixed_id_text("a-prefix-longer-than-", u64::MAX);
        assert_eq!(
            long,
            format!("a-prefix-longer-than-{}", u64::MAX),
            "past 23 bytes on the heap"
        );
    }

    #[test]
    fn raw_decimals_keep_full_precision() {
        let raw: Box<RawValue> = serde_json::from_str("0.10000000000000000555").unwrap();
        assert_eq!(
            dec_raw(&raw, "t").unwrap().as_str(),
            "0.10000000000000000555"
        );
        assert_eq!(raw_text(&raw), "0.10000000000000000555");
        let s: Box<RawValue> = serde_json::from_str("\"1.50\"").unwrap();
        assert_eq!(dec_raw(&s, "t").unwrap().as_str(), "1.5");
        assert_eq!(dec_opt(Some(""), "t").unwrap(), None);
    }
}

/// A book level as the exchange wrote it: `(price, size)` text.
pub type TextLevel<'a> = (&'a str, &'a str);

/// `deserialize_with` for `[[price, size, ...], ...]` arrays of strings (OKX writes
/// `["8476.98","415","0","13"]`): the first two strings of each level, borrowed, the
/// rest skipped. Without a `Vec` per level, which cost an allocation each.
pub fn text_levels<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<TextLevel<'de>>, D::Error> {
    struct Levels;
    impl<'de> Visitor<'de> for Levels {
        type Value = Vec<TextLevel<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of [price, size, ...] levels")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16));
            while let Some(Level(price, size)) = seq.next_element::<Level<'de>>()? {
                out.push((price, size));
            }
            Ok(out)
        }
    }
    struct Level<'a>(&'a str, &'a str);
    impl<'de> serde::Deserialize<'de> for Level<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct One;
            impl<'de> Visitor<'de> for One {
                type Value = Level<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a [price, size, ...] level of strings")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Level<'de>, A::Error> {
                    use serde::de::Error;
                    let price: &str = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                    let size: &str = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Level(price, size))
                }
            }
            d.deserialize_seq(One)
        }
    }
    d.deserialize_seq(Levels)
}

#[cfg(test)]
mod level_tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Side<'a> {
        #[serde(borrow, deserialize_with = "text_levels")]
        bids: Vec<TextLevel<'a>>,
    }

    #[test]
    fn text_levels_take_the_first_two_strings() {
        let s: Side = serde_json::from_str(
            r#"{"bids":[["8476.97","256","0","12"],["8476.9","1"],["1","2",3,null]]}"#,
        )
        .unwrap();
        assert_eq!(s.bids, [("8476.97", "256"), ("8476.9", "1"), ("1", "2")]);
        let empty: Side = serde_json::from_str(r#"{"bids":[]}"#).unwrap();
        assert!(empty.bids.is_empty());
        for bad in [
            r#"{"bids":[["1"]]}"#,
            r#"{"bids":[[1,"2"]]}"#,
            r#"{"bids":["1"]}"#,
        ] {
            let err = serde_json::from_str::<Side>(bad).unwrap_err().to_string();
            assert!(
                err.contains("level") || err.contains("invalid type"),
                "{bad}: {err}"
            );
        }
    }
}

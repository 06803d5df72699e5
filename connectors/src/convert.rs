//! Conversions every parser needs, from the exchange's text to schema values: exact
//! decimals from raw JSON (never through `f64`), sides, millisecond timestamps.

use serde_json::value::RawValue;
use tickbridge_schema::{Dec, Side};

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

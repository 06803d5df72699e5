//! A scanner for flat JSON objects: `{"key":value,...}` whose values are strings
//! without escapes, numbers, booleans or nulls. That is the shape of the highest-volume
//! frames (Binance trades and book tickers), which a generic JSON parser reads at
//! several times the cost. Anything else (nesting, escapes, malformed text) makes the
//! scan return `None`, and the caller falls back to its serde wire types, which give
//! the same result for valid frames and the proper error for bad ones.

/// One member value of a flat object, as text (numbers are left for the caller to
/// parse into the type it expects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Num(&'a str),
    Bool(bool),
    Null,
}

impl<'a> Scalar<'a> {
    pub fn str(self) -> Option<&'a str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer as JSON writes it (no leading zeros, no `+`).
    pub fn u64(self) -> Option<u64> {
        self.integer()?.parse().ok()
    }

    /// An integer as JSON writes it (no leading zeros, no `+`).
    pub fn i64(self) -> Option<i64> {
        self.integer()?.parse().ok()
    }

    fn integer(self) -> Option<&'a str> {
        let Scalar::Num(n) = self else { return None };
        let digits = n.strip_prefix('-').unwrap_or(n);
        let canonical = !digits.starts_with('0') || digits == "0";
        (canonical && !digits.starts_with('+')).then_some(n)
    }

    pub fn bool(self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// Calls `member` with each key and value of the flat object `text`, in order.
/// Returns `None` (possibly after some calls) when `text` is not exactly one flat
/// object, optionally surrounded by whitespace.
pub fn for_each_member<'a>(
    text: &'a str,
    mut member: impl FnMut(&'a str, Scalar<'a>),
) -> Option<()> {
    let mut s = Scanner {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    s.skip_ws();
    s.expect(b'{')?;
    s.skip_ws();
    if s.peek() == Some(b'}') {
        s.at += 1;
    } else {
        loop {
            s.skip_ws();
            let key = s.string()?;
            s.skip_ws();
            s.expect(b':')?;
            s.skip_ws();
            let value = s.scalar()?;
            member(key, value);
            s.skip_ws();
            match s.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.skip_ws();
    (s.at == s.bytes.len()).then_some(())
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string without escapes or control characters; the opening quote is next.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.at = start + len;
        self.expect(b'"')?;
        // Quotes are ASCII, so both ends are char boundaries.
        Some(&self.text[start..start + len])
    }

    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Scalar::Str),
            b't' => self.word("true", Scalar::Bool(true)),
            b'f' => self.word("false", Scalar::Bool(false)),
            b'n' => self.word("null", Scalar::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.at += 1;
                }
                Some(Scalar::Num(&self.text[start..self.at]))
            }
            _ => None,
        }
    }

    fn word(&mut self, word: &str, value: Scalar<'a>) -> Option<Scalar<'a>> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word.as_bytes()).then(|| {
            self.at = end;
            value
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Option<Vec<(&str, Scalar<'_>)>> {
        let mut out = Vec::new();
        for_each_member(text, |k, v| out.push((k, v)))?;
        Some(out)
    }

    #[test]
    fn reads_flat_objects() {
        assert_eq!(
            members(
                r#"{"e":"trade","E":1723161255343,"p":"61837.63000000","m":true,"M":false,"x":null,"f":-1.5e-3}"#
            ),
            Some(vec![
                ("e", Scalar::Str("trade")),
                ("E", Scalar::Num("1723161255343")),
                ("p", Scalar::Str("61837.63000000")),
                ("m", Scalar::Bool(true)),
                ("M", Scalar::Bool(false)),
                ("x", Scalar::Null),
                ("f", Scalar::Num("-1.5e-3")),
            ])
        );
        assert_eq!(members(" { } "), Some(vec![]));
        assert_eq!(
            members("{ \"a\" : \"é ✓\" ,\n\"b\":1 }"),
            Some(vec![("a", Scalar::Str("é ✓")), ("b", Scalar::Num("1"))])
        );
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "",
            "[]",
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            r#"{"a":"x\"y"}"#,
            r#"{"a\n":1}"#,
            r#"{"a":1,}"#,
            r#"{"a":1"#,
            r#"{"a":1}}"#,
            r#"{"a":1} x"#,
            r#"{"a" 1}"#,
            r#"{"a":tru}"#,
            r#"{"a":"unterminated}"#,
            r#"{a:1}"#,
        ] {
            assert_eq!(members(text), None, "{text:?}");
        }
    }

    #[test]
    fn scalars_convert() {
        assert_eq!(Scalar::Num("42").u64(), Some(42));
        assert_eq!(Scalar::Num("-42").u64(), None);
        assert_eq!(Scalar::Num("-42").i64(), Some(-42));
        assert_eq!(Scalar::Num("4.2").i64(), None);
        assert_eq!(Scalar::Num("0").u64(), Some(0));
        assert_eq!(Scalar::Num("007").u64(), None);
        assert_eq!(Scalar::Num("-0").i64(), Some(0));
        assert_eq!(Scalar::Num("--1").i64(), None);
        assert_eq!(Scalar::Str("42").u64(), None);
        assert_eq!(Scalar::Bool(true).bool(), Some(true));
        assert_eq!(Scalar::Null.str(), None);
    }
}

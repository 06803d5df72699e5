//! A scanner for flat JSON objects: `{"key":value,...}` whose values are strings
//! without escapes, numbers, booleans or nulls, or arrays of rows of such strings
//! (`[["61837.63","0.02"],...]`, the price levels of a book diff). That is the shape
//! of the highest-volume frames (Binance trades, book tickers and depth diffs, OKX
//! book pushes), which a generic JSON parser reads at several times the cost.
//! Anything else (nesting, escapes, malformed text) makes the scan return `None`, and
//! the caller falls back to its serde wire types, which give the same result for
//! valid frames and the proper error for bad ones.

use tickbridge_schema::escape_at;

/// One member value of a flat object, as text (numbers are left for the caller to
/// parse into the type it expects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Num(&'a str),
    Bool(bool),
    Null,
    /// `[[string, string, ...], ...]`: rows of at least two strings each.
    Rows(Rows<'a>),
}

/// An array of rows of strings (`[["61837.63","0.02"],["61837.5","0"]]`), read by
/// the scan: every row holds two strings or more, none with escapes. Book levels are
/// written so by most exchanges, `[price, size]` or `[price, size, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows<'a> {
    /// The first two strings of each row (read in the same pass that checks the
    /// shape: a second pass over the text cost as much as the first).
    pairs: Vec<(&'a str, &'a str)>,
    /// The fewest and the most strings in a row (`(0, 0)` when there is no row).
    widths: (usize, usize),
}

impl<'a> Rows<'a> {
    /// The fewest and the most strings a row holds (`(0, 0)` for an empty array).
    pub fn widths(&self) -> (usize, usize) {
        self.widths
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The first two strings of each row, in order.
    pub fn pairs(&self) -> &[(&'a str, &'a str)] {
        &self.pairs
    }
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

/// `text` split around the first `byte` (ASCII), or `None` without one:
/// `str::split_once` for the short names at the head of a frame (stream and channel
/// names), which a byte loop finds at a fraction of the cost of the generic searcher's
/// set-up (measured in callgrind: ~150 instructions a search in `str::find`).
pub fn split_once_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    debug_assert!(byte.is_ascii(), "an ASCII byte is a char boundary");
    let at = text.bytes().position(|b| b == byte)?;
    Some((&text[..at], &text[at + 1..]))
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
        let len = escape_at(&self.bytes[start..])?;
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
            b'[' => self.rows().map(Scalar::Rows),
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

    /// `[[string, string, ...], ...]`; the opening bracket is next.
    fn rows(&mut self) -> Option<Rows<'a>> {
        self.expect(b'[')?;
        let mut rows = Rows {
            // Room for a busy diff's side up front (Binance USD-M: up to ~70 levels a
            // diff), so it does not grow 4 → 8 → ... → 64 on the way.
            pairs: Vec::with_capacity(64),
            widths: (usize::MAX, 0),
        };
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.at += 1;
            rows.widths = (0, 0);
            return Some(rows);
        }
        loop {
            self.skip_ws();
            self.expect(b'[')?;
            self.skip_ws();
            let first = self.string()?;
            self.skip_ws();
            self.expect(b',')?;
            self.skip_ws();
            let second = self.string()?;
            let mut width = 2;
            loop {
                self.skip_ws();
                match self.next()? {
                    b',' => {
                        self.skip_ws();
                        self.string()?;
                        width += 1;
                    }
                    b']' => break,
                    _ => return None,
                }
            }
            rows.pairs.push((first, second));
            rows.widths = (rows.widths.0.min(width), rows.widths.1.max(width));
            self.skip_ws();
            match self.next()? {
                b',' => continue,
                b']' => return Some(rows),
                _ => return None,
            }
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
    fn splits_once_at_a_byte() {
        assert_eq!(
            split_once_byte("btcusdt@depth@100ms", b'@'),
            Some(("btcusdt", "depth@100ms"))
        );
        assert_eq!(split_once_byte("@x", b'@'), Some(("", "x")));
        assert_eq!(split_once_byte("é@", b'@'), Some(("é", "")));
        assert_eq!(split_once_byte("btcusdt", b'@'), None);
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
            r#"{"a":[["1"]]}"#,
            r#"{"a":[["1",2]]}"#,
            r#"{"a":[["1","2"],]}"#,
            r#"{"a":[["1","2"]}"#,
            r#"{"a":[["1","2"],["3"]]}"#,
            r#"{"a":[["1","x\"y"]]}"#,
            r#"{"a":[[]]}"#,
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
    fn reads_rows_of_strings() {
        let m =
            members(r#"{"b":[["61837.63","0.02"], [ "61837.5" , "0" ,"x","]"] ],"a":[],"u":7}"#)
                .unwrap();
        let Scalar::Rows(b) = &m[0].1 else {
            panic!("{m:?}")
        };
        assert_eq!((b.len(), b.widths()), (2, (2, 4)));
        assert_eq!(b.pairs(), [("61837.63", "0.02"), ("61837.5", "0")]);
        let Scalar::Rows(a) = &m[1].1 else {
            panic!("{m:?}")
        };
        assert_eq!((a.len(), a.widths(), a.pairs().len()), (0, (0, 0), 0));
        assert_eq!(m[2], ("u", Scalar::Num("7")));
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

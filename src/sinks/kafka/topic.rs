//! The topic template: `md.{kind}` by default; `{kind}`, `{exchange}` and `{market}`
//! are replaced per record. Parsed once at startup, rendered into a reused buffer.

use tickbridge_schema::Record;

/// The longest topic name Kafka accepts.
const MAX_TOPIC_LEN: usize = 249;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Kind,
    Exchange,
    Market,
}

/// A parsed topic template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    parts: Vec<Part>,
}

impl TopicTemplate {
    /// Parses `text`; the error names the problem (unknown placeholder, a character
    /// Kafka does not allow in topic names, an empty template).
    pub fn parse(text: &str) -> Result<TopicTemplate, String> {
        if text.is_empty() {
            return Err("empty topic template".into());
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("unterminated `{{` in topic template {text:?}"))?;
                    parts.push(match &rest[1..end] {
                        "kind" => Part::Kind,
                        "exchange" => Part::Exchange,
                        "market" => Part::Market,
                        other => {
                            return Err(format!(
                                "unknown placeholder {{{other}}} in topic template {text:?} \
                                 (known: {{kind}}, {{exchange}}, {{market}})"
                            ))
                        }
                    });
                    rest = &rest[end + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if let Some(bad) = literal.chars().find(|c| !is_topic_char(*c)) {
                        return Err(format!(
                            "character {bad:?} is not allowed in a Kafka topic name \
                             (template {text:?}; allowed: ASCII letters, digits, `.`, `_`, `-`)"
                        ));
                    }
                    parts.push(Part::Literal(literal.to_string()));
                    rest = &rest[end..];
                }
            }
        }
        let template = TopicTemplate { parts };
        if template.is_static() {
            check_name(text)?;
        }
        Ok(template)
    }

    /// True when the template has no placeholder (one topic for every record).
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// Writes the topic of `record` into `out` (cleared first).
    pub fn render_into(&self, record: &Record, out: &mut String) {
        out.clear();
        for part in &self.parts {
            out.push_str(match part {
                Part::Literal(s) => s,
                Part::Kind => record.kind().as_str(),
                Part::Exchange => &record.exchange,
                Part::Market => record.market.as_str(),
            });
        }
    }
}

impl TopicTemplate {
    /// The topic of a record of `kind` from `exchange` × `market` (what `validate
    /// --check` looks for on the broker).
    pub fn render_parts(&self, kind: &str, exchange: &str, market: &str) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(s) => s.as_str(),
                Part::Kind => kind,
                Part::Exchange => exchange,
                Part::Market => market,
            })
            .collect()
    }
}

fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Checks a complete topic name (e.g. the dead-letter topic).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("{name:?} is not a valid Kafka topic name"));
    }
    if name.len() > MAX_TOPIC_LEN {
        return Err(format!(
            "topic name {name:?} is longer than Kafka's {MAX_TOPIC_LEN} characters"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_topic_char(*c)) {
        return Err(format!(
            "character {bad:?} is not allowed in the Kafka topic name {name:?} \
             (allowed: ASCII letters, digits, `.`, `_`, `-`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickbridge_schema::{Bbo, Data, Dec, Market};

    fn bbo(exchange: &str, market: Market) -> Record {
        let d = |s: &str| Some(Dec::parse(s).unwrap());
        Record {
            v: 1,
            exchange: exchange.into(),
            market,
            symbol: "BTC-USDT".into(),
            native: "BTCUSDT".into(),
            ts_exchange: None,
            ts_recv: 1,
            seq: Some(7),
            id: "x".into(),
            data: Data::Bbo(Bbo {
                bid_price: d("1.5"),
                bid_size: d("2"),
                ask_price: d("1.6"),
                ask_size: d("3"),
            }),
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let mut out = String::new();
        let t = TopicTemplate::parse("md.{kind}").unwrap();
        t.render_into(&bbo("binance", Market::Spot), &mut out);
        assert_eq!(out, "md.bbo");
        let t = TopicTemplate::parse("{exchange}-{market}.{kind}.v1").unwrap();
        t.render_into(&bbo("binance-usdm", Market::Perp), &mut out);
        assert_eq!(out, "binance-usdm-perp.bbo.v1");
        let t = TopicTemplate::parse("ticks").unwrap();
        assert!(t.is_static());
        t.render_into(&bbo("binance", Market::Spot), &mut out);
        assert_eq!(out, "ticks");
    }

    #[test]
    fn rejects_bad_templates_with_a_reason() {
        let cases = [
            ("", "empty topic template"),
            ("md.{symbol}", "unknown placeholder {symbol}"),
            ("md.{kind", "unterminated `{`"),
            ("md/{kind}", "character '/' is not allowed"),
            ("md {kind}", "character ' ' is not allowed"),
            ("..", "not a valid Kafka topic name"),
        ];
        for (text, want) in cases {
            let err = TopicTemplate::parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        assert!(check_name(&"x".repeat(250)).unwrap_err().contains("249"));
        assert!(check_name("md.dead-letter_1").is_ok());
    }
}

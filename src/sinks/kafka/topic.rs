//! The topic and key templates: topics `md.{kind}` by default, keys
//! `{exchange}.{market}.{symbol}`; `{kind}`, `{exchange}`, `{market}` and (in topics
//! only with `symbol_topics = true`) `{symbol}` are replaced per record. Parsed once at
//! startup, rendered into a reused buffer.

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
    Symbol,
}

/// A parsed topic (or key) template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    parts: Vec<Part>,
    /// A topic: replaced values hold only topic-name characters (others become `_`).
    topic: bool,
}

impl TopicTemplate {
    /// Parses `text`; the error names the problem (unknown placeholder, a character
    /// Kafka does not allow in topic names, an empty template).
    pub fn parse(text: &str) -> Result<TopicTemplate, String> {
        TopicTemplate::parse_topic(text, false)
    }

    /// A topic template; `{symbol}` only when `symbol_topics` (one topic per symbol:
    /// hundreds of topics for a large config).
    pub fn parse_topic(text: &str, symbol_topics: bool) -> Result<TopicTemplate, String> {
        let t = TopicTemplate::parse_parts(text, true)?;
        if !symbol_topics && t.parts.contains(&Part::Symbol) {
            return Err(format!(
                "{{symbol}} in topic template {text:?} makes one topic per symbol (as many \
                 topics as symbols, each with its partitions): opt in with \
                 sink.kafka.symbol_topics = true"
            ));
        }
        Ok(t)
    }

    /// A key template (any characters; `{symbol}` allowed).
    pub fn parse_key(text: &str) -> Result<TopicTemplate, String> {
        TopicTemplate::parse_parts(text, false)
    }

    fn parse_parts(text: &str, topic: bool) -> Result<TopicTemplate, String> {
        let what = if topic { "topic" } else { "key" };
        if text.is_empty() {
            return Err(format!("empty {what} template"));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("unterminated `{{` in {what} template {text:?}"))?;
                    parts.push(match &rest[1..end] {
                        "kind" => Part::Kind,
                        "exchange" => Part::Exchange,
                        "market" => Part::Market,
                        "symbol" => Part::Symbol,
                        other => {
                            return Err(format!(
                                "unknown placeholder {{{other}}} in {what} template {text:?} \
                                 (known: {{kind}}, {{exchange}}, {{market}}, {{symbol}})"
                            ))
                        }
                    });
                    rest = &rest[end + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if let Some(bad) = literal.chars().find(|c| topic && !is_topic_char(*c)) {
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
        let template = TopicTemplate { parts, topic };
        if topic && template.is_static() {
            check_name(text)?;
        }
        Ok(template)
    }

    /// True when the template has no placeholder (one topic for every record).
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// Whether the kind is the only placeholder (one topic per kind, known at start).
    pub fn is_kind_only(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, Part::Literal(_) | Part::Kind))
    }

    /// Whether `{kind}` appears.
    pub fn has_kind(&self) -> bool {
        self.parts.contains(&Part::Kind)
    }

    /// Writes the topic of `record` into `out` (cleared first).
    pub fn render_into(&self, record: &Record, out: &mut String) {
        out.clear();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Kind => out.push_str(record.kind().as_str()),
                Part::Exchange => out.push_str(&record.exchange),
                Part::Market => out.push_str(record.market.as_str()),
                Part::Symbol if self.topic => {
                    out.extend(
                        record
                            .symbol
                            .chars()
                            .map(|c| if is_topic_char(c) { c } else { '_' }),
                    )
                }
                Part::Symbol => out.push_str(&record.symbol),
            }
        }
    }
}

impl TopicTemplate {
    /// The topic of a record of `kind` from `exchange` × `market` (what `validate
    /// --check` looks for on the broker).
    pub fn render_parts(&self, kind: &str, exchange: &str, market: &str, symbol: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Kind => out.push_str(kind),
                Part::Exchange => out.push_str(exchange),
                Part::Market => out.push_str(market),
                Part::Symbol => {
                    out.extend(
                        symbol
                            .chars()
                            .map(|c| if is_topic_char(c) { c } else { '_' }),
                    )
                }
            }
        }
        out
    }

    /// Whether `{symbol}` is part of the template.
    pub fn has_symbol(&self) -> bool {
        self.parts.contains(&Part::Symbol)
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
    fn symbol_topics_are_opt_in_and_sanitized() {
        let t = TopicTemplate::parse_topic("md.{kind}.{symbol}", true).unwrap();
        assert_eq!(
            t.render_parts("trade", "hyperliquid", "perp", "xyz:XYZ100-USDC-PERP"),
            "md.trade.xyz_XYZ100-USDC-PERP"
        );
        assert!(t.has_symbol());
        assert!(TopicTemplate::parse_topic("md.{symbol}", false).is_err());
        // Keys take any character and every placeholder.
        assert!(TopicTemplate::parse_key("{exchange}:{symbol} {kind}").is_ok());
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
            ("md.{symbol}", "opt in with sink.kafka.symbol_topics = true"),
            ("md.{sym}", "unknown placeholder {sym}"),
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

//! The subject template: `md.{exchange}.{kind}.{symbol}` → `md.binance.trade.BTC-USDT`.
//!
//! Replaced values are sanitized so each placeholder stays exactly one subject token:
//! `.`, `*`, `>`, whitespace and control characters become `_` (a `.` inside a
//! symbol would otherwise split it into two tokens and escape the stream's filter).

use async_nats::Subject;
use smol_str::SmolStr;
use tickbridge_schema::{Kind, Market, Record};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Exchange,
    Market,
    Kind,
    Symbol,
}

/// A parsed subject template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTemplate {
    parts: Vec<Part>,
    source: String,
}

impl SubjectTemplate {
    /// Parses and checks a template; the error says what is wrong.
    pub fn parse(text: &str) -> Result<SubjectTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("{text:?}: unterminated '{{'"))?
                + open;
            parts.push(match &rest[open + 1..close] {
                "exchange" => Part::Exchange,
                "market" => Part::Market,
                "kind" => Part::Kind,
                "symbol" => Part::Symbol,
                other => {
                    return Err(format!(
                        "{text:?}: unknown placeholder {{{other}}} (known: {{exchange}}, {{market}}, {{kind}}, {{symbol}})"
                    ))
                }
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        let template = SubjectTemplate {
            parts,
            source: text.to_string(),
        };
        // A rendering with sample values must be a valid subject to publish to.
        let sample = template.render_with("x", "x", "x", "x");
        if !is_valid_publish_subject(&sample) {
            return Err(format!(
                "{text:?} does not make a valid subject (tokens separated by '.', none empty, no '*', '>' or whitespace)"
            ));
        }
        Ok(template)
    }

    /// The subject of one record.
    pub fn render(&self, record: &Record) -> String {
        self.render_with(
            &record.exchange,
            record.market.as_str(),
            record.kind().as_str(),
            &record.symbol,
        )
    }

    fn render_with(&self, exchange: &str, market: &str, kind: &str, symbol: &str) -> String {
        let mut out = String::with_capacity(self.source.len() + 24);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Exchange => push_token(&mut out, exchange),
                Part::Market => push_token(&mut out, market),
                Part::Kind => push_token(&mut out, kind),
                Part::Symbol => push_token(&mut out, symbol),
            }
        }
        out
    }

    /// A filter matching every subject the template can produce: each token that holds a
    /// placeholder becomes `*` (`md.{exchange}.{kind}.{symbol}` → `md.*.*.*`).
    pub fn filter(&self) -> String {
        let marked = self.render_with("\u{E000}", "\u{E000}", "\u{E000}", "\u{E000}");
        marked
            .split('.')
            .map(|t| if t.contains('\u{E000}') { "*" } else { t })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Renders the subjects of one batch, reusing those already rendered: a batch holds a
/// handful of distinct subjects, cloning a `Subject` is a reference-count increment,
/// and rendering allocates (it was ~3% of the bridge's CPU at full speed).
pub struct SubjectCache<'t> {
    template: &'t SubjectTemplate,
    recent: Vec<(Route, Subject)>,
}

/// What a subject is rendered from.
struct Route {
    exchange: SmolStr,
    market: Market,
    kind: Kind,
    symbol: SmolStr,
}

impl<'t> SubjectCache<'t> {
    /// Distinct subjects kept; a batch with more renders the rest each time.
    const MAX: usize = 16;

    pub fn new(template: &'t SubjectTemplate) -> Self {
        SubjectCache {
            template,
            recent: Vec::new(),
        }
    }

    pub fn subject(&mut self, record: &Record) -> Subject {
        let kind = record.kind();
        let known = self.recent.iter().find(|(r, _)| {
            r.kind == kind
                && r.market == record.market
                && r.symbol == record.symbol
                && r.exchange == record.exchange
        });
        if let Some((_, subject)) = known {
            return subject.clone();
        }
        let subject = Subject::from(self.template.render(record));
        if self.recent.len() < Self::MAX {
            let route = Route {
                exchange: record.exchange.clone(),
                market: record.market,
                kind,
                symbol: record.symbol.clone(),
            };
            self.recent.push((route, subject.clone()));
        }
        subject
    }
}

fn push_token(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push('_');
        return;
    }
    for c in value.chars() {
        if c == '.' || c == '*' || c == '>' || c.is_whitespace() || c.is_control() {
            out.push('_');
        } else {
            out.push(c);
        }
    }
}

fn token_ok(t: &str) -> bool {
    !t.is_empty() && !t.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A subject a message can be published to: no empty token, no wildcard.
pub fn is_valid_publish_subject(s: &str) -> bool {
    s.split('.')
        .all(|t| token_ok(t) && !t.contains('*') && !t.contains('>'))
}

/// A subscription/stream filter: wildcards allowed as whole tokens, `>` only last.
pub fn is_valid_filter(s: &str) -> bool {
    let tokens: Vec<&str> = s.split('.').collect();
    tokens.iter().enumerate().all(|(i, t)| {
        token_ok(t)
            && match *t {
                "*" => true,
                ">" => i == tokens.len() - 1,
                _ => !t.contains('*') && !t.contains('>'),
            }
    })
}

/// True when every subject `pattern` matches is also matched by `filter` (both filters).
pub fn filter_covers(filter: &str, pattern: &str) -> bool {
    let f: Vec<&str> = filter.split('.').collect();
    let p: Vec<&str> = pattern.split('.').collect();
    for (i, ft) in f.iter().enumerate() {
        if *ft == ">" {
            return p.len() > i;
        }
        let Some(pt) = p.get(i) else { return false };
        match (*ft, *pt) {
            ("*", ">") => return false,
            ("*", _) => {}
            (a, b) if a == b && b != "*" && b != ">" => {}
            _ => return false,
        }
    }
    f.len() == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(symbol: &str) -> Record {
        let mut r: Record = serde_json::from_str(
            r#"{"v":1,"kind":"trade","exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT",
                "ts_exchange":1,"ts_recv":2,"seq":3,"id":"binance.spot.BTC-USDT.trade.3",
                "price":"1","size":"1","side":"sell","trade_id":"3"}"#,
        )
        .unwrap();
        r.symbol = symbol.into();
        r
    }

    #[test]
    fn renders_and_sanitizes() {
        let t = SubjectTemplate::parse("md.{exchange}.{kind}.{symbol}").unwrap();
        assert_eq!(t.render(&record("BTC-USDT")), "md.binance.trade.BTC-USDT");
        assert_eq!(t.render(&record("A.B *>C")), "md.binance.trade.A_B___C");
        let t = SubjectTemplate::parse("{market}-{exchange}.x").unwrap();
        assert_eq!(t.render(&record("S")), "spot-binance.x");
        assert_eq!(t.filter(), "*.x");
    }

    #[test]
    fn the_cache_renders_each_record_like_the_template() {
        let t = SubjectTemplate::parse("md.{exchange}.{market}.{kind}.{symbol}").unwrap();
        let mut cache = SubjectCache::new(&t);
        let mut records = Vec::new();
        // More distinct subjects than the cache keeps, each seen twice, and every
        // field of the route varied once.
        for i in 0..20 {
            records.push(record(&format!("S{i}")));
        }
        let mut other_exchange = record("S0");
        other_exchange.exchange = "okx".into();
        let mut other_market = record("S0");
        other_market.market = Market::Perp;
        let mut other_kind = record("S0");
        other_kind.data = serde_json::from_str::<Record>(
            r#"{"v":1,"kind":"bbo","exchange":"binance","market":"spot","symbol":"S0","native":"S0",
                "ts_exchange":1,"ts_recv":2,"seq":3,"id":"x",
                "bid_price":"1","bid_size":"1","ask_price":"2","ask_size":"1"}"#,
        )
        .unwrap()
        .data;
        records.extend([other_exchange, other_market, other_kind]);
        for r in records.iter().chain(records.iter()) {
            assert_eq!(cache.subject(r).as_str(), t.render(r), "{r:?}");
        }
        assert_eq!(
            cache.subject(&records[21]).as_str(),
            "md.binance.perp.trade.S0"
        );
        assert_eq!(
            cache.subject(&records[22]).as_str(),
            "md.binance.spot.bbo.S0"
        );
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "md.{sym}",
            "md.{exchange",
            "md..{kind}",
            "md.*.{kind}",
            "md.>",
            "",
            "a b.{kind}",
        ] {
            assert!(SubjectTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        assert!(is_valid_filter("md.>"));
        assert!(is_valid_filter("md.*.trade.*"));
        assert!(!is_valid_filter("md.>.x"));
        assert!(!is_valid_filter("md.a*"));
        assert!(filter_covers("md.>", "md.*.*.*"));
        assert!(filter_covers("md.*.*.*", "md.*.*.*"));
        assert!(filter_covers(">", "md.*"));
        assert!(!filter_covers("md.binance.>", "md.*.*.*"));
        assert!(!filter_covers("md.*.*", "md.*.*.*"));
        assert!(!filter_covers("md.*.*.*", "md.>"));
    }
}

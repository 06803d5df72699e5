//! Small helpers shared by the Kraken, Bybit, OKX and Coinbase Advanced Trade modules:
//! building records (the envelope every parser repeats), decimals from raw JSON text,
//! CRC32 (book checksums) and FNV-1a (ids of events an exchange does not number),
//! and a per-symbol resubscription throttle.

use std::collections::HashMap;

use serde_json::value::RawValue;
use smol_str::SmolStr;
use tickbridge_schema::{Data, Dec, Record, Side, SCHEMA_VERSION};

use crate::parse::{record_id, ParseError};
use crate::symbols::{SymbolInfo, SymbolTable};

/// Builds records for one connection: the envelope (exchange, market, normalized and
/// native symbol, deterministic id) around a payload.
pub struct Emitter {
    pub exchange: &'static str,
    pub symbols: SymbolTable,
}

impl Emitter {
    pub fn new(
        exchange: &'static str,
        symbols: &[SymbolInfo],
        fallback: fn(&str) -> SymbolInfo,
    ) -> Self {
        Emitter {
            exchange,
            symbols: SymbolTable::new(symbols, fallback),
        }
    }

    /// The symbol a native name resolves to (planned, or normalized on first sight).
    pub fn symbol(&mut self, native: &str) -> SymbolInfo {
        self.symbols.resolve(native).clone()
    }

    /// Appends one record for `native`.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        out: &mut Vec<Record>,
        native: &str,
        ts_exchange: Option<i64>,
        ts_recv: i64,
        seq: Option<u64>,
        id_suffix: impl std::fmt::Display,
        data: Data,
    ) {
        let exchange = self.exchange;
        let s = self.symbols.resolve(native);
        let id = record_id(
            exchange,
            s.market.as_str(),
            &s.symbol,
            data.kind().as_str(),
            id_suffix,
        );
        out.push(Record {
            v: SCHEMA_VERSION,
            exchange: exchange.into(),
            market: s.market,
            symbol: s.symbol.clone(),
            native: s.native.clone(),
            ts_exchange,
            ts_recv,
            seq,
            id,
            data,
        });
    }
}

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

/// CRC-32 (IEEE 802.3, the `zlib`/`binascii.crc32` one) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

/// FNV-1a, 64 bit: a stable hash for ids of events an exchange does not number.
pub fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Per-symbol resynchronisation requests: a symbol is resubscribed at most once per
/// `min_interval_ns` (measured on receive times) until its fresh snapshot arrives, so a
/// book that keeps failing cannot flood the exchange with requests.
#[derive(Debug, Default)]
pub struct Resyncs {
    /// Native symbol → receive time of the last request sent for it.
    in_flight: HashMap<SmolStr, i64>,
    /// Symbols waiting to be requested (in order).
    queued: Vec<SmolStr>,
    min_interval_ns: i64,
}

impl Resyncs {
    pub fn new(min_interval: std::time::Duration) -> Self {
        Resyncs {
            in_flight: HashMap::new(),
            queued: Vec::new(),
            min_interval_ns: min_interval.as_nanos() as i64,
        }
    }

    /// Asks for a resync of `native` (deduplicated).
    pub fn request(&mut self, native: &str) {
        if !self.queued.iter().any(|q| q == native) {
            self.queued.push(SmolStr::new(native));
        }
    }

    /// The fresh snapshot of `native` arrived: it may be requested again.
    pub fn done(&mut self, native: &str) {
        self.in_flight.remove(native);
        self.queued.retain(|q| q != native);
    }

    /// Symbols due for a request now (at receive time `now`); they are marked in flight.
    pub fn due(&mut self, now: i64) -> Vec<SmolStr> {
        let mut due = Vec::new();
        let min = self.min_interval_ns;
        let in_flight = &mut self.in_flight;
        self.queued.retain(|s| {
            let ready = match in_flight.get(s) {
                None => true,
                Some(last) => now.saturating_sub(*last) >= min,
            };
            if ready {
                in_flight.insert(s.clone(), now);
                due.push(s.clone());
            }
            !ready
        });
        due
    }

    /// True when a resync of `native` was requested or sent and its snapshot is awaited.
    pub fn pending(&self, native: &str) -> bool {
        self.in_flight.contains_key(native) || self.queued.iter().any(|q| q == native)
    }
}

/// Months as exchanges spell them in dated symbols (`26DEC25`).
pub const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_values() {
        // The check value of CRC-32/ISO-HDLC, and zlib.crc32(b"") / (b"a").
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
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

    #[test]
    fn resyncs_are_throttled_per_symbol() {
        let mut r = Resyncs::new(std::time::Duration::from_nanos(100));
        r.request("A");
        r.request("A");
        r.request("B");
        assert_eq!(r.due(0), vec![SmolStr::new("A"), SmolStr::new("B")]);
        assert!(r.pending("A"));
        r.request("A");
        assert!(r.due(50).is_empty());
        assert_eq!(r.due(100), vec![SmolStr::new("A")]);
        r.done("A");
        assert!(!r.pending("A") && r.pending("B"));
    }
}

//! A book that keeps the exchange's own text of every level next to the engine's
//! book, for checksums computed over the text as sent (Kraken v2, OKX's legacy
//! checksum): `"45283.50000"` must stay `"45283.50000"`, not the normalized
//! `"45283.5"`.

use smol_str::SmolStr;
use tickbridge_schema::{Dec, Level, Record};

use super::resync::Resyncs;
use super::{BookSync, Side, Stamp};
use crate::contract::ParseError;
use crate::convert::dec;

/// One side: price → (price text, size text) as the exchange sent them.
pub type TextSide = Side<(SmolStr, SmolStr)>;

/// One level as the exchange wrote it, `(price, size)`, or why it is malformed.
pub type LevelText<'t> = Result<(&'t str, &'t str), ParseError>;

/// Sets the levels of one side (see [`TextBook::set_levels`]).
fn set_side<'t>(
    side: &mut TextSide,
    levels: impl IntoIterator<Item = LevelText<'t>>,
    context: (&'static str, &'static str),
) -> Result<Vec<Level>, ParseError> {
    levels
        .into_iter()
        .map(|l| {
            let (price, size) = l?;
            TextBook::set(side, price, size, context)
        })
        .collect()
}

/// One symbol's book sync plus the text of its levels.
#[derive(Debug, Clone)]
pub struct TextBook {
    pub sync: BookSync,
    pub bids: TextSide,
    pub asks: TextSide,
}

impl TextBook {
    pub fn new(sync: BookSync) -> Self {
        TextBook {
            sync,
            bids: TextSide::new(),
            asks: TextSide::new(),
        }
    }

    /// Forgets the text of every level (a snapshot or a gap follows).
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Sets one level of `side` from its text (a zero size deletes it) and returns it
    /// as decimals for the book record; `context` names the fields in errors.
    pub fn set(
        side: &mut TextSide,
        price: &str,
        size: &str,
        context: (&'static str, &'static str),
    ) -> Result<Level, ParseError> {
        let p = dec(price, context.0)?;
        let s = dec(size, context.1)?;
        if s.is_zero() {
            side.remove(&p);
        } else {
            side.insert(&p, (SmolStr::new(price), SmolStr::new(size)));
        }
        Ok(Level(p, s))
    }

    /// Sets the levels of both sides from their text (bids first; a zero size
    /// deletes) and returns them as decimals for the book record; each level is its
    /// `(price, size)` text or the error of a malformed one, `context` names the
    /// fields in errors.
    pub fn set_levels<'t>(
        &mut self,
        bids: impl IntoIterator<Item = LevelText<'t>>,
        asks: impl IntoIterator<Item = LevelText<'t>>,
        context: (&'static str, &'static str),
    ) -> Result<(Vec<Level>, Vec<Level>), ParseError> {
        let bids = set_side(&mut self.bids, bids, context)?;
        let asks = set_side(&mut self.asks, asks, context)?;
        Ok((bids, asks))
    }

    /// Breaks the book's chain (`status gap` with `(expected, got)`, the text of
    /// every level forgotten) and asks `resyncs` for a fresh snapshot of `native`:
    /// nothing is published for it until that snapshot.
    pub fn resync(
        &mut self,
        resyncs: &mut Resyncs,
        native: &str,
        stamp: Stamp,
        (expected, got): (Option<u64>, Option<u64>),
        reason: &'static str,
        out: &mut Vec<Record>,
    ) {
        self.clear();
        self.sync.gap(stamp, expected, got, reason, out);
        resyncs.request(native);
    }

    /// The text of the best `n` bids, high → low.
    pub fn top_bids(&self, n: usize) -> impl Iterator<Item = &(SmolStr, SmolStr)> {
        self.bids.values().rev().take(n)
    }

    /// The text of the best `n` asks, low → high.
    pub fn top_asks(&self, n: usize) -> impl Iterator<Item = &(SmolStr, SmolStr)> {
        self.asks.values().take(n)
    }

    /// Drops the levels beyond `depth` on each side (exchanges that keep a book to
    /// its subscribed depth do not delete them explicitly) and returns them as
    /// deletions, so a published diff stays exact.
    pub fn truncate(&mut self, depth: usize) -> (Vec<Level>, Vec<Level>) {
        let mut dropped_bids = Vec::new();
        while self.bids.len() > depth {
            let (p, _) = self.bids.pop_first().expect("non-empty");
            dropped_bids.push(Level(p, Dec::zero()));
        }
        let mut dropped_asks = Vec::new();
        while self.asks.len() > depth {
            let (p, _) = self.asks.pop_last().expect("non-empty");
            dropped_asks.push(Level(p, Dec::zero()));
        }
        self.sync.book_mut().truncate(depth);
        (dropped_bids, dropped_asks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookConfig;
    use crate::symbols::SymbolInfo;
    use tickbridge_schema::Market;

    #[test]
    fn keeps_the_text_and_truncates_to_depth() {
        let sym = SymbolInfo {
            market: Market::Spot,
            symbol: "BTC-USD".into(),
            native: "BTC/USD".into(),
        };
        let mut b = TextBook::new(BookSync::new("kraken", sym, &BookConfig::default()));
        for (p, s) in [("100.10", "1.0"), ("99.5", "2"), ("98", "3")] {
            TextBook::set(&mut b.bids, p, s, ("p", "s")).unwrap();
        }
        let l = TextBook::set(&mut b.asks, "101.00", "0.50", ("p", "s")).unwrap();
        assert_eq!((l.0.as_str(), l.1.as_str()), ("101", "0.5"));
        let top: Vec<_> = b.top_bids(2).map(|(p, _)| p.as_str()).collect();
        assert_eq!(top, ["100.10", "99.5"]);
        assert_eq!(b.top_asks(5).next().unwrap().1, "0.50");
        let (bids, asks) = b.truncate(2);
        assert_eq!(bids.len(), 1);
        assert_eq!((bids[0].0.as_str(), bids[0].1.as_str()), ("98", "0"));
        assert!(asks.is_empty());
        TextBook::set(&mut b.bids, "99.50", "0", ("p", "s")).unwrap();
        assert_eq!(b.bids.len(), 1, "a zero size deletes");
        assert!(TextBook::set(&mut b.bids, "x", "1", ("bid.px", "bid.sz")).is_err());
    }
}

//! [`Side`]: one side of a book, price → value, ordered by price; the map under
//! [`OrderBook`](super::OrderBook) (value: the size) and [`TextBook`](super::text::TextBook)
//! (value: the exchange's text of the level).
//!
//! Setting a level is the hot path of book upkeep: every level of every diff searches
//! a side of up to thousands of levels. So while every price of a side has an exact
//! fixed-point key ([`exact_key`]: all real prices, at most 18 decimals below 10^19),
//! the side is a B-tree keyed by that bare `u128`, and the price text sits in the
//! value: a search compares 16-byte integers packed in the tree's nodes, not 48-byte
//! [`Price`]s. The first price without an exact key (a negative one, say) turns the
//! side into a B-tree of [`Price`]s, which order every decimal exactly; it stays so
//! until the side is cleared or rebuilt. Both shapes give the same order and the same
//! answers: only the speed differs.

use std::collections::btree_map::{self, BTreeMap, Entry};
use std::fmt;

use tickbridge_schema::Dec;

use super::price::{exact_key, Price};

/// One side of a book: price → `V`, ascending by price.
#[derive(Clone)]
pub struct Side<V> {
    levels: Levels<V>,
}

#[derive(Clone)]
enum Levels<V> {
    /// Every price has an exact key: key → (price, value).
    Keyed(BTreeMap<u128, (Dec, V)>),
    /// Some price has none: ordered by [`Price`].
    Priced(BTreeMap<Price, V>),
}

impl<V> Default for Side<V> {
    fn default() -> Self {
        Side::new()
    }
}

impl<V> Side<V> {
    pub fn new() -> Self {
        Side {
            levels: Levels::Keyed(BTreeMap::new()),
        }
    }

    /// Builds a side from levels in any order; of repeated prices the last wins.
    pub fn from_levels(levels: impl IntoIterator<Item = (Dec, V)>) -> Self {
        let mut levels = levels.into_iter();
        let mut keyed: Vec<(u128, (Dec, V))> = Vec::with_capacity(levels.size_hint().0);
        while let Some((price, value)) = levels.next() {
            let Some(key) = exact_key(price.as_str()) else {
                // A price without an exact key: every level is ordered as a `Price`.
                let priced = keyed
                    .into_iter()
                    .map(|(_, level)| level)
                    .chain(std::iter::once((price, value)))
                    .chain(levels)
                    .map(|(p, v)| (Price::new(p), v))
                    .collect();
                return Side {
                    levels: Levels::Priced(bulk(priced)),
                };
            };
            keyed.push((key, (price, value)));
        }
        Side {
            levels: Levels::Keyed(bulk(keyed)),
        }
    }

    /// Sets the value at `price` (inserting the level when absent).
    pub fn insert(&mut self, price: &Dec, value: V) {
        if let Levels::Keyed(map) = &mut self.levels {
            if let Some(key) = exact_key(price.as_str()) {
                match map.entry(key) {
                    Entry::Occupied(level) => level.into_mut().1 = value,
                    Entry::Vacant(level) => {
                        level.insert((price.clone(), value));
                    }
                }
                return;
            }
            self.reorder_by_price();
        }
        if let Levels::Priced(map) = &mut self.levels {
            map.insert(Price::new(price.clone()), value);
        }
    }

    /// Removes the level at `price`, returning its value (`None` when absent).
    pub fn remove(&mut self, price: &Dec) -> Option<V> {
        match &mut self.levels {
            // A price without an exact key is never in a keyed side.
            Levels::Keyed(map) => map.remove(&exact_key(price.as_str())?).map(|(_, v)| v),
            Levels::Priced(map) => map.remove(&Price::new(price.clone())),
        }
    }

    /// The value at `price`.
    pub fn get(&self, price: &Dec) -> Option<&V> {
        match &self.levels {
            Levels::Keyed(map) => map.get(&exact_key(price.as_str())?).map(|(_, v)| v),
            Levels::Priced(map) => map.get(&Price::new(price.clone())),
        }
    }

    pub fn len(&self) -> usize {
        match &self.levels {
            Levels::Keyed(map) => map.len(),
            Levels::Priced(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the levels whose value passes `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        match &mut self.levels {
            Levels::Keyed(map) => map.retain(|_, (_, v)| keep(v)),
            Levels::Priced(map) => map.retain(|_, v| keep(v)),
        }
    }

    /// Removes every level (and forgets an inexact price seen before).
    pub fn clear(&mut self) {
        self.levels = Levels::Keyed(BTreeMap::new());
    }

    /// The levels, lowest price first.
    pub fn iter(&self) -> Iter<'_, V> {
        match &self.levels {
            Levels::Keyed(map) => Iter::Keyed(map.values()),
            Levels::Priced(map) => Iter::Priced(map.iter()),
        }
    }

    /// The values, lowest price first.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The lowest-priced level.
    pub fn first(&self) -> Option<(&Dec, &V)> {
        self.iter().next()
    }

    /// The highest-priced level.
    pub fn last(&self) -> Option<(&Dec, &V)> {
        self.iter().next_back()
    }

    /// Removes and returns the lowest-priced level.
    pub fn pop_first(&mut self) -> Option<(Dec, V)> {
        match &mut self.levels {
            Levels::Keyed(map) => map.pop_first().map(|(_, level)| level),
            Levels::Priced(map) => map.pop_first().map(|(p, v)| (p.into_dec(), v)),
        }
    }

    /// Removes and returns the highest-priced level.
    pub fn pop_last(&mut self) -> Option<(Dec, V)> {
        match &mut self.levels {
            Levels::Keyed(map) => map.pop_last().map(|(_, level)| level),
            Levels::Priced(map) => map.pop_last().map(|(p, v)| (p.into_dec(), v)),
        }
    }

    /// Rebuilds a keyed side as a side of [`Price`]s (an inexact price arrived).
    fn reorder_by_price(&mut self) {
        if let Levels::Keyed(map) = &mut self.levels {
            let map = std::mem::take(map);
            self.levels =
                Levels::Priced(map.into_values().map(|(p, v)| (Price::new(p), v)).collect());
        }
    }
}

/// A map of `levels` (any order; of repeated keys the last wins), built in bulk: full
/// B-tree nodes take about half the memory of one-by-one inserts, which leave sorted
/// input in half-full nodes.
fn bulk<K: Ord, V>(mut levels: Vec<(K, V)>) -> BTreeMap<K, V> {
    // Stable: repeated keys keep their order, and the loop keeps the last.
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    let mut unique: Vec<(K, V)> = Vec::with_capacity(levels.len());
    for (key, value) in levels {
        if unique.last().is_some_and(|(k, _)| *k == key) {
            unique.pop();
        }
        unique.push((key, value));
    }
    // Strictly increasing keys: `from_iter` builds the tree without inserting one by one.
    unique.into_iter().collect()
}

impl<V: PartialEq> PartialEq for Side<V> {
    /// The same levels, whichever shape holds them.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<V: fmt::Debug> fmt::Debug for Side<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The levels of a [`Side`], `(price, value)`, lowest price first.
pub enum Iter<'a, V> {
    Keyed(btree_map::Values<'a, u128, (Dec, V)>),
    Priced(btree_map::Iter<'a, Price, V>),
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a Dec, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Keyed(it) => it.next().map(|(p, v)| (p, v)),
            Iter::Priced(it) => it.next().map(|(p, v)| (p.dec(), v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Keyed(it) => it.size_hint(),
            Iter::Priced(it) => it.size_hint(),
        }
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Keyed(it) => it.next_back().map(|(p, v)| (p, v)),
            Iter::Priced(it) => it.next_back().map(|(p, v)| (p.dec(), v)),
        }
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    fn prices(side: &Side<u32>) -> Vec<(&str, u32)> {
        side.iter().map(|(p, v)| (p.as_str(), *v)).collect()
    }

    #[test]
    fn a_keyed_side_orders_sets_and_removes_by_value() {
        let mut side = Side::new();
        for (p, v) in [("100.5", 1), ("99", 2), ("101", 3), ("100.5", 4)] {
            side.insert(&d(p), v);
        }
        assert!(matches!(side.levels, Levels::Keyed(_)));
        assert_eq!(prices(&side), [("99", 2), ("100.5", 4), ("101", 3)]);
        assert_eq!(side.get(&d("100.50")), Some(&4));
        assert_eq!(side.remove(&d("99")), Some(2));
        assert_eq!(side.remove(&d("99")), None);
        assert_eq!(
            side.remove(&d("-1")),
            None,
            "an inexact price is never there"
        );
        assert_eq!(side.first(), Some((&d("100.5"), &4)));
        assert_eq!(side.last(), Some((&d("101"), &3)));
        assert_eq!(side.pop_last(), Some((d("101"), 3)));
        assert_eq!(side.len(), 1);
    }

    #[test]
    fn an_inexact_price_turns_the_side_into_prices_with_the_same_order() {
        let texts = [
            "2",
            "0.5",
            "1",
            "0.0000000000000000011",
            "-3",
            "99999999999999999999",
        ];
        let mut side = Side::new();
        for (i, t) in texts.iter().enumerate() {
            side.insert(&d(t), i as u32);
        }
        assert!(matches!(side.levels, Levels::Priced(_)));
        let want = [
            ("-3", 4),
            ("0.0000000000000000011", 3),
            ("0.5", 1),
            ("1", 2),
            ("2", 0),
            ("99999999999999999999", 5),
        ];
        assert_eq!(prices(&side), want);
        // The same levels built in bulk, and compared across the two shapes.
        let bulk = Side::from_levels(texts.iter().enumerate().map(|(i, t)| (d(t), i as u32)));
        assert_eq!(bulk, side);
        assert_eq!(side.remove(&d("-3")), Some(4));
        assert_eq!(side.get(&d("0.0000000000000000011")), Some(&3));
        let mut keyed = Side::new();
        for (p, v) in &want[1..] {
            if !p.starts_with("0.0000") && !p.starts_with("9999") {
                keyed.insert(&d(p), *v);
            }
        }
        assert!(matches!(keyed.levels, Levels::Keyed(_)));
        side.remove(&d("0.0000000000000000011"));
        side.remove(&d("99999999999999999999"));
        assert_eq!(
            side, keyed,
            "equal levels are equal sides, whatever the shape"
        );
        side.clear();
        assert!(side.is_empty() && matches!(side.levels, Levels::Keyed(_)));
    }

    #[test]
    fn built_in_bulk_the_last_of_a_repeated_price_wins() {
        let side = Side::from_levels([(d("2"), 1), (d("1"), 2), (d("2.0"), 3), (d("1"), 4)]);
        assert_eq!(prices(&side), [("1", 4), ("2", 3)]);
        assert_eq!(side.values().rev().copied().collect::<Vec<_>>(), [3, 4]);
    }
}

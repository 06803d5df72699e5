//! The order-book engine shared by every exchange module.
//!
//! Two layers:
//!
//! - [`OrderBook`]: one symbol's L2 book. Levels are exact decimals ([`Dec`]) ordered
//!   by value ([`Dec::cmp_value`]); sizes are absolute (a size of `"0"` deletes the
//!   level, and deleting an absent level is normal). Best bid/ask, top-N iteration,
//!   truncation to a depth, snapshot replace, and the derived [`Bbo`].
//! - [`BookSync`]: one symbol's book *plus* its publication state. It is the only
//!   thing that builds `book` records and the book's `status gap` / `resynced`
//!   records, so every exchange follows the same contract (docs/architecture.md, "Order books"):
//!
//!   1. a chain starts with [`BookSync::snapshot`] → `book` with `snapshot=true`,
//!      `prev_seq = null` (preceded by `status resynced` when it repairs a gap);
//!   2. each in-order change goes through [`BookSync::update`] (or
//!      [`BookSync::apply`] + [`BookSync::publish_update`] when an integrity check,
//!      e.g. a checksum, must look at the book after applying) → `book` with
//!      `prev_seq` = the previous record's `seq`;
//!   3. on any break the exchange module calls [`BookSync::gap`] → `status gap`
//!      (channel `book`, `expected`/`got`), the book is cleared and
//!      [`BookSync::is_synced`] turns false: nothing more is published for this
//!      symbol until the next snapshot. Other symbols are not touched: keep one
//!      `BookSync` per symbol, never per connection.
//!   4. when the snapshot a book waits for cannot be had (REST errors, timeouts, rate
//!      limits, unusable answers) the exchange module calls
//!      [`BookSync::snapshot_unavailable`] → `status stale` (channel `book`, the
//!      reason), once per episode: until the next snapshot further calls are silent.
//!      `stale`, not `gap`: no published chain breaks there (a first sync has none
//!      yet, and a resync's break was already announced by its `gap`); the book's
//!      data simply stops, as a connection's `stale` says for all its symbols.
//!
//! Record ids are deterministic (`exchange.market.symbol.book.<seq>`,
//! `....book.snap.<seq>` for snapshots, `....book.full.<seq>` for periodic full
//! snapshots, `....status.gap.<expected>.<got>`, `....status.resynced.<seq>`,
//! `....status.stale.snapshot.<reference>`), so a replay of the same exchange events
//! yields the same ids.
//!
//! Example (an exchange with a per-book sequence, e.g. Bybit's `u`):
//!
//! ```
//! use tickbridge_connectors::book::{BookConfig, BookSync, Stamp};
//! use tickbridge_connectors::symbols::SymbolInfo;
//! use tickbridge_schema::{Dec, Level, Market};
//!
//! let sym = SymbolInfo { market: Market::Spot, symbol: "BTC-USDT".into(), native: "BTCUSDT".into() };
//! let mut book = BookSync::new("bybit", sym, &BookConfig::default());
//! let lv = |p: &str, s: &str| Level(Dec::parse(p).unwrap(), Dec::parse(s).unwrap());
//! let stamp = Stamp { ts_exchange: Some(1), ts_recv: 2 };
//! let mut out = Vec::new();
//! book.snapshot(stamp, Some(10), vec![lv("100", "1")], vec![lv("101", "2")], None, &mut out);
//! // Next message: u = 11 follows 10.
//! let expected = book.seq().unwrap() + 1;
//! let got = 11;
//! if got == expected {
//!     book.update(stamp, Some(got), vec![lv("100", "0"), lv("99.5", "3")], vec![], None, &mut out);
//! } else {
//!     book.gap(stamp, Some(expected), Some(got), "u jumped", &mut out);
//! }
//! assert_eq!(book.book().best_bid().unwrap().0.as_str(), "99.5");
//! assert_eq!(out.len(), 2);
//! ```

mod price;
pub mod resync;
pub mod side;
pub mod text;

use std::cmp::Ordering;
use std::time::Duration;

use tickbridge_schema::{Bbo, Book, Data, Dec, Level, Record, Status, StatusEvent};

use crate::envelope::record;
use crate::symbols::SymbolInfo;

pub use price::Price;
pub use side::Side;

/// Which side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSide {
    Bid,
    Ask,
}

/// One symbol's L2 order book (price → absolute size per side).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderBook {
    bids: Side<Dec>,
    asks: Side<Dec>,
}

impl OrderBook {
    pub fn new() -> Self {
        OrderBook::default()
    }

    /// Sets one level: a zero size deletes it (an absent level is not an error).
    pub fn set(&mut self, side: BookSide, price: &Dec, size: &Dec) {
        let map = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if size.is_zero() {
            map.remove(price);
        } else {
            map.insert(price, size.clone());
        }
    }

    /// Applies a change: every bid level, then every ask level (absolute sizes).
    pub fn apply(&mut self, bids: &[Level], asks: &[Level]) {
        for Level(p, s) in bids {
            self.set(BookSide::Bid, p, s);
        }
        for Level(p, s) in asks {
            self.set(BookSide::Ask, p, s);
        }
    }

    /// Replaces the whole book with a snapshot (zero-size levels are skipped; of
    /// repeated prices the last wins, as with [`OrderBook::apply`]). Each side is
    /// built in bulk ([`Side::from_levels`]).
    pub fn replace(&mut self, bids: &[Level], asks: &[Level]) {
        self.bids = side_of(bids);
        self.asks = side_of(asks);
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Number of bid levels and ask levels.
    pub fn len(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// The highest bid `(price, size)`.
    pub fn best_bid(&self) -> Option<(&Dec, &Dec)> {
        self.bids.last()
    }

    /// The lowest ask `(price, size)`.
    pub fn best_ask(&self) -> Option<(&Dec, &Dec)> {
        self.asks.first()
    }

    /// Bids best first (highest price first).
    pub fn bids(&self) -> impl DoubleEndedIterator<Item = (&Dec, &Dec)> + '_ {
        self.bids.iter().rev()
    }

    /// Asks best first (lowest price first).
    pub fn asks(&self) -> impl DoubleEndedIterator<Item = (&Dec, &Dec)> + '_ {
        self.asks.iter()
    }

    /// The size at `price` on `side`, if the level exists.
    pub fn size(&self, side: BookSide, price: &Dec) -> Option<&Dec> {
        let map = match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        };
        map.get(price)
    }

    /// The best `n` levels of each side as records' levels (`None` = all levels).
    pub fn top(&self, n: Option<usize>) -> (Vec<Level>, Vec<Level>) {
        let n = n.unwrap_or(usize::MAX);
        let take = |it: &mut dyn Iterator<Item = (&Dec, &Dec)>| -> Vec<Level> {
            it.take(n)
                .map(|(p, s)| Level(p.clone(), s.clone()))
                .collect()
        };
        (take(&mut self.bids()), take(&mut self.asks()))
    }

    /// Drops the levels beyond the best `depth` of each side (exchanges such as Kraken
    /// do not delete levels that fall out of the subscribed depth). Returns how many
    /// levels were dropped.
    pub fn truncate(&mut self, depth: usize) -> usize {
        let mut dropped = 0;
        while self.bids.len() > depth {
            self.bids.pop_first();
            dropped += 1;
        }
        while self.asks.len() > depth {
            self.asks.pop_last();
            dropped += 1;
        }
        dropped
    }

    /// True when the best bid is at or above the best ask (a sign of a broken book on
    /// most exchanges; some briefly show it during auctions).
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some((b, _)), Some((a, _))) => b.cmp_value(a) != Ordering::Less,
            _ => false,
        }
    }

    /// Best bid and offer derived from the book (a side is `null` when empty).
    pub fn bbo(&self) -> Bbo {
        let (bid_price, bid_size) = match self.best_bid() {
            Some((p, s)) => (Some(p.clone()), Some(s.clone())),
            None => (None, None),
        };
        let (ask_price, ask_size) = match self.best_ask() {
            Some((p, s)) => (Some(p.clone()), Some(s.clone())),
            None => (None, None),
        };
        Bbo {
            bid_price,
            bid_size,
            ask_price,
            ask_size,
        }
    }
}

/// Book options of one source (`[source.book]` in the config), handed to every parser
/// of the source through its connection plan (`contract::ConnectionPlan::books`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookConfig {
    /// REST base URL for snapshots (the source's `rest_url`).
    pub rest_url: String,
    /// Levels per side requested in REST snapshots; `None` = the exchange module's
    /// default (Binance: 1000).
    pub snapshot_depth: Option<u32>,
    /// Levels per side in published snapshot records (`snapshot=true`); `None` = the
    /// whole book. Diffs are always published as the exchange sent them.
    pub publish_depth: Option<usize>,
    /// Publish a full snapshot (`snapshot=true`, `prev_seq` = `seq`) of an in-sync
    /// book this often, measured on receive times; `None` = never.
    pub full_snapshot_interval: Option<Duration>,
}

impl BookConfig {
    /// The book depth to subscribe: `snapshot_depth` rounded up to one of the depths
    /// the venue serves (`served`, ascending; the deepest when above them all), else
    /// the venue's `default`.
    pub fn served_depth(&self, served: &[usize], default: usize) -> usize {
        match self.snapshot_depth {
            Some(d) => served
                .iter()
                .copied()
                .find(|x| *x >= d as usize)
                .unwrap_or(served[served.len() - 1]),
            None => default,
        }
    }
}

/// Backoff before REST snapshot attempt `attempt` of one book (1 first: at once; then
/// 0.5 s doubling up to 32 s), shared by the snapshot-synced books (Bitstamp, KuCoin).
pub fn snapshot_backoff(attempt: u32) -> Duration {
    match attempt {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(500u64.saturating_mul(1 << (n - 2).min(6))),
    }
}

/// Appends `.c<checksum>` to the ids of the book records: books without a sequence
/// (Kraken, OKX before `seqId`) name an event by its time, and the checksum keeps two
/// distinct events of the same instant apart.
pub fn tag_book_ids(records: &mut [Record], checksum: impl std::fmt::Display) {
    for r in records {
        if matches!(r.data, Data::Book(_)) {
            r.id.push_str(&format!(".c{checksum}"));
        }
    }
}

/// The times of the exchange event behind a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Exchange event time, ns since the epoch.
    pub ts_exchange: Option<i64>,
    /// Local receive time, ns since the epoch.
    pub ts_recv: i64,
}

/// One symbol's book and its publication state (see the module docs).
#[derive(Debug, Clone)]
pub struct BookSync {
    exchange: &'static str,
    symbol: SymbolInfo,
    book: OrderBook,
    synced: bool,
    /// The `seq` of the last published book record.
    seq: Option<u64>,
    /// A gap was announced and no snapshot has repaired it yet.
    gap_open: bool,
    /// An unavailable snapshot was announced and no snapshot has arrived since.
    unavailable_open: bool,
    publish_depth: Option<usize>,
    full_every_ns: Option<i64>,
    last_full_ns: i64,
    last_bbo: Option<Bbo>,
    gaps: u64,
}

impl BookSync {
    pub fn new(exchange: &'static str, symbol: SymbolInfo, config: &BookConfig) -> Self {
        BookSync {
            exchange,
            symbol,
            book: OrderBook::new(),
            synced: false,
            seq: None,
            gap_open: false,
            unavailable_open: false,
            publish_depth: config.publish_depth,
            full_every_ns: config
                .full_snapshot_interval
                .map(|d| d.as_nanos().min(i64::MAX as u128) as i64),
            last_full_ns: 0,
            last_bbo: None,
            gaps: 0,
        }
    }

    pub fn symbol(&self) -> &SymbolInfo {
        &self.symbol
    }

    /// The local book (empty while not synced).
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

    /// True between a snapshot and the next gap: updates may be published.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The `seq` of the last published book record (`None` before the first snapshot,
    /// after a gap, or for exchanges without sequences).
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// How many gaps this symbol has announced.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Replaces the book with a snapshot and publishes it (`snapshot=true`,
    /// `prev_seq=null`); when it repairs a gap, a `status resynced` comes first.
    pub fn snapshot(
        &mut self,
        stamp: Stamp,
        seq: Option<u64>,
        bids: Vec<Level>,
        asks: Vec<Level>,
        checksum_ok: Option<bool>,
        out: &mut Vec<Record>,
    ) {
        self.book.replace(&bids, &asks);
        self.unavailable_open = false;
        if self.gap_open {
            self.gap_open = false;
            let status = Status {
                event: StatusEvent::Resynced,
                channel: Some("book".into()),
                reason: Some("fresh snapshot follows".into()),
                expected: None,
                got: seq,
            };
            let suffix = format!("resynced.{}", seq.map_or(stamp.ts_recv as u64, |s| s));
            out.push(self.record(stamp, seq, suffix, Data::Status(status)));
        }
        self.synced = true;
        self.seq = seq;
        self.last_full_ns = stamp.ts_recv;
        let (bids, asks) = match self.publish_depth {
            Some(n) if bids.len() > n || asks.len() > n => self.book.top(Some(n)),
            _ => (drop_zeros(bids), drop_zeros(asks)),
        };
        let book = Book {
            bids,
            asks,
            snapshot: true,
            prev_seq: None,
            checksum_ok,
        };
        let suffix = snap_suffix("snap", seq, stamp);
        out.push(self.record(stamp, seq, suffix, Data::Book(book)));
    }

    /// Applies a change to the local book without publishing it (for integrity checks
    /// that need the book after the change; follow with [`BookSync::publish_update`]
    /// or [`BookSync::gap`]).
    pub fn apply(&mut self, bids: &[Level], asks: &[Level]) {
        self.book.apply(bids, asks);
    }

    /// Mutable access for exchange-specific maintenance (e.g. truncating to the
    /// subscribed depth before a checksum).
    pub fn book_mut(&mut self) -> &mut OrderBook {
        &mut self.book
    }

    /// Publishes an already applied change as a `book` record with `prev_seq` = the
    /// previous record's `seq`, then (if configured and due) a periodic full snapshot.
    /// Does nothing when the book is not synced: a book record is never published
    /// from a broken chain.
    pub fn publish_update(
        &mut self,
        stamp: Stamp,
        seq: Option<u64>,
        bids: Vec<Level>,
        asks: Vec<Level>,
        checksum_ok: Option<bool>,
        out: &mut Vec<Record>,
    ) {
        if !self.synced {
            return;
        }
        let prev_seq = self.seq;
        self.seq = seq;
        let book = Book {
            bids,
            asks,
            snapshot: false,
            prev_seq,
            checksum_ok,
        };
        let suffix = match seq {
            Some(s) => s.to_string(),
            None => format!("t{}", stamp.ts_exchange.unwrap_or(stamp.ts_recv)),
        };
        out.push(self.record(stamp, seq, suffix, Data::Book(book)));
        if let Some(every) = self.full_every_ns {
            if stamp.ts_recv.saturating_sub(self.last_full_ns) >= every {
                self.full_snapshot(stamp, out);
            }
        }
    }

    /// Applies and publishes an in-order change (see [`BookSync::publish_update`]).
    /// Does nothing when the book is not synced.
    pub fn update(
        &mut self,
        stamp: Stamp,
        seq: Option<u64>,
        bids: Vec<Level>,
        asks: Vec<Level>,
        checksum_ok: Option<bool>,
        out: &mut Vec<Record>,
    ) {
        if !self.synced {
            return;
        }
        self.book.apply(&bids, &asks);
        self.publish_update(stamp, seq, bids, asks, checksum_ok, out);
    }

    /// Publishes the whole in-sync book as `snapshot=true` with `prev_seq = seq` (the
    /// chain continues: a consumer may replace its book or just check it).
    pub fn full_snapshot(&mut self, stamp: Stamp, out: &mut Vec<Record>) {
        if !self.synced {
            return;
        }
        self.last_full_ns = stamp.ts_recv;
        let (bids, asks) = self.book.top(self.publish_depth);
        let book = Book {
            bids,
            asks,
            snapshot: true,
            prev_seq: self.seq,
            checksum_ok: None,
        };
        let suffix = snap_suffix("full", self.seq, stamp);
        out.push(self.record(stamp, self.seq, suffix, Data::Book(book)));
    }

    /// Announces a break (`status gap`, channel `book`), clears the book and stops
    /// publishing until the next [`BookSync::snapshot`]. A second call before the
    /// snapshot is silent (one break, one gap).
    pub fn gap(
        &mut self,
        stamp: Stamp,
        expected: Option<u64>,
        got: Option<u64>,
        reason: impl Into<String>,
        out: &mut Vec<Record>,
    ) {
        self.book.clear();
        self.synced = false;
        self.seq = None;
        self.last_bbo = None;
        if self.gap_open {
            return;
        }
        self.gap_open = true;
        self.gaps += 1;
        let status = Status {
            event: StatusEvent::Gap,
            channel: Some("book".into()),
            reason: Some(reason.into()),
            expected,
            got,
        };
        let suffix = format!(
            "gap.{}.{}",
            expected.map_or("na".to_string(), |v| v.to_string()),
            got.map_or(stamp.ts_recv.to_string(), |v| v.to_string())
        );
        out.push(self.record(stamp, got, suffix, Data::Status(status)));
    }

    /// Announces that the snapshot this book waits for cannot be had (REST error,
    /// timeout, rate limit, unusable answer): `status stale`, channel `book`, with
    /// `reason` (name the failure and the URL path; never a host, credentials or a
    /// query). Once per episode: a second call before the next
    /// [`BookSync::snapshot`] is silent. Returns whether it announced.
    ///
    /// The id is `....status.stale.snapshot.<reference>`: pass what the book waits to
    /// bridge (Binance: the `U` of the first buffered diff), so the same exchange
    /// events name the episode the same way; `None` names it by `stamp.ts_recv`. The
    /// book's state is not touched (it is not synced while it waits for a snapshot).
    pub fn snapshot_unavailable(
        &mut self,
        stamp: Stamp,
        reference: Option<u64>,
        reason: impl Into<String>,
        out: &mut Vec<Record>,
    ) -> bool {
        if self.unavailable_open {
            return false;
        }
        self.unavailable_open = true;
        let status = Status {
            event: StatusEvent::Stale,
            channel: Some("book".into()),
            reason: Some(reason.into()),
            expected: None,
            got: None,
        };
        let suffix = match reference {
            Some(r) => format!("stale.snapshot.{r}"),
            None => format!("stale.snapshot.t{}", stamp.ts_recv),
        };
        out.push(self.record(stamp, None, suffix, Data::Status(status)));
        true
    }

    /// Forgets the book without announcing a gap (e.g. a new connection that will
    /// start a fresh chain with a snapshot).
    pub fn reset(&mut self) {
        self.unavailable_open = false;
        self.book.clear();
        self.synced = false;
        self.seq = None;
        self.last_bbo = None;
    }

    /// A `bbo` record derived from the book when its top changed since the last call
    /// (for exchanges without a bbo channel). `None` when unchanged or not synced.
    pub fn derived_bbo(&mut self, stamp: Stamp) -> Option<Record> {
        if !self.synced {
            return None;
        }
        let bbo = self.book.bbo();
        if self.last_bbo.as_ref() == Some(&bbo) {
            return None;
        }
        self.last_bbo = Some(bbo.clone());
        let suffix = match self.seq {
            Some(s) => s.to_string(),
            None => format!("t{}", stamp.ts_exchange.unwrap_or(stamp.ts_recv)),
        };
        Some(self.record(stamp, self.seq, suffix, Data::Bbo(bbo)))
    }

    fn record(
        &self,
        stamp: Stamp,
        seq: Option<u64>,
        suffix: impl crate::envelope::IdSuffix,
        data: Data,
    ) -> Record {
        record(
            self.exchange,
            &self.symbol,
            (stamp.ts_exchange, stamp.ts_recv),
            seq,
            suffix,
            data,
        )
    }
}

fn snap_suffix(prefix: &str, seq: Option<u64>, stamp: Stamp) -> String {
    match seq {
        Some(s) => format!("{prefix}.{s}"),
        None => format!("{prefix}.t{}", stamp.ts_exchange.unwrap_or(stamp.ts_recv)),
    }
}

/// One side of a snapshot: the last of each price kept, zero sizes dropped.
fn side_of(levels: &[Level]) -> Side<Dec> {
    let mut side = Side::from_levels(levels.iter().map(|Level(p, s)| (p.clone(), s.clone())));
    side.retain(|size| !size.is_zero());
    side
}

fn drop_zeros(mut levels: Vec<Level>) -> Vec<Level> {
    levels.retain(|l| !l.1.is_zero());
    levels
}

/// The kept books of one parser by native symbol, each created on its first frame
/// (the parsers of venues whose frames name one book each: Kraken Futures, dYdX,
/// Lighter).
#[derive(Debug)]
pub struct Books {
    exchange: &'static str,
    config: BookConfig,
    books: std::collections::HashMap<smol_str::SmolStr, BookSync>,
}

impl Books {
    pub fn new(exchange: &'static str, config: &BookConfig) -> Books {
        Books {
            exchange,
            config: config.clone(),
            books: std::collections::HashMap::new(),
        }
    }

    /// The book of `native`, once one of its frames arrived.
    pub fn get(&self, native: &str) -> Option<&BookSync> {
        self.books.get(native)
    }

    /// The book of `native`, created (for the symbol `info` gives) on first use.
    pub fn entry(&mut self, native: &str, info: impl FnOnce() -> SymbolInfo) -> &mut BookSync {
        if !self.books.contains_key(native) {
            let sync = BookSync::new(self.exchange, info(), &self.config);
            self.books.insert(smol_str::SmolStr::new(native), sync);
        }
        self.books.get_mut(native).expect("inserted above")
    }
}

/// Whether a whole-book frame's best bid (the highest price with a size) reaches its
/// best ask: the sanity check of venues that send full books (Upbit, Hyperliquid).
pub fn crossed(bids: &[Level], asks: &[Level]) -> bool {
    fn best(side: &[Level], better: Ordering) -> Option<&Dec> {
        side.iter()
            .filter(|l| !l.1.is_zero())
            .map(|l| &l.0)
            .reduce(|a, b| if b.cmp_value(a) == better { b } else { a })
    }
    match (best(bids, Ordering::Greater), best(asks, Ordering::Less)) {
        (Some(bid), Some(ask)) => bid.cmp_value(ask) != Ordering::Less,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tickbridge_schema::Market;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }
    fn lv(p: &str, s: &str) -> Level {
        Level(d(p), d(s))
    }
    fn sym() -> SymbolInfo {
        SymbolInfo {
            market: Market::Spot,
            symbol: "BTC-USDT".into(),
            native: "BTCUSDT".into(),
        }
    }
    const T: Stamp = Stamp {
        ts_exchange: Some(5_000_000),
        ts_recv: 7,
    };

    #[test]
    fn replace_equals_level_by_level_inserts() {
        // Unsorted, repeated prices (the last wins), zeros before and after a size.
        let bids = [
            lv("10", "1"),
            lv("9", "0"),
            lv("11", "2"),
            lv("10.0", "3"),
            lv("8", "1"),
            lv("8", "0"),
            lv("7", "0"),
            lv("7", "4"),
        ];
        let asks: Vec<Level> = (0..1000)
            .map(|i| lv(&format!("{}.{:02}", 100 + i / 100, i % 100), "1.5"))
            .chain([lv("12.50", "1"), lv("12.5", "2")])
            .collect();
        let mut bulk = OrderBook::new();
        bulk.apply(&[lv("1", "1")], &[lv("2", "1")]);
        bulk.replace(&bids, &asks);
        let mut one_by_one = OrderBook::new();
        one_by_one.apply(&bids, &asks);
        assert_eq!(bulk, one_by_one);
        assert_eq!(bulk.len(), (3, 1001));
        assert_eq!(bulk.best_bid(), Some((&d("11"), &d("2"))));
        assert_eq!(bulk.best_ask(), Some((&d("12.5"), &d("2"))));
        let mut empty = bulk.clone();
        empty.replace(&[], &[lv("3", "0")]);
        assert!(empty.is_empty());
    }

    #[test]
    fn levels_are_ordered_by_value_not_text() {
        let mut b = OrderBook::new();
        b.apply(
            &[lv("9.5", "1"), lv("10.25", "2"), lv("10.3", "3")],
            &[lv("100", "1"), lv("99.999", "4"), lv("1000", "5")],
        );
        assert_eq!(b.best_bid(), Some((&d("10.3"), &d("3"))));
        assert_eq!(b.best_ask(), Some((&d("99.999"), &d("4"))));
        let bids: Vec<&str> = b.bids().map(|(p, _)| p.as_str()).collect();
        assert_eq!(bids, ["10.3", "10.25", "9.5"]);
        let asks: Vec<&str> = b.asks().map(|(p, _)| p.as_str()).collect();
        assert_eq!(asks, ["99.999", "100", "1000"]);
        assert!(!b.is_crossed());
    }

    #[test]
    fn zero_deletes_absolute_sizes_replace() {
        let mut b = OrderBook::new();
        b.apply(&[lv("1.10", "5")], &[]);
        b.apply(&[lv("1.1", "2.500")], &[]);
        assert_eq!(b.size(BookSide::Bid, &d("1.1")), Some(&d("2.5")));
        b.apply(&[lv("1.1", "0.000"), lv("7", "0")], &[]);
        assert!(b.is_empty());
        b.replace(&[lv("1", "1"), lv("2", "0")], &[lv("3", "1")]);
        assert_eq!(b.len(), (1, 1));
    }

    #[test]
    fn top_truncate_and_bbo() {
        let mut b = OrderBook::new();
        b.apply(
            &[lv("1", "1"), lv("2", "1"), lv("3", "1")],
            &[lv("4", "1"), lv("5", "1"), lv("6", "1")],
        );
        let (bids, asks) = b.top(Some(2));
        assert_eq!(bids, vec![lv("3", "1"), lv("2", "1")]);
        assert_eq!(asks, vec![lv("4", "1"), lv("5", "1")]);
        assert_eq!(b.truncate(1), 4);
        assert_eq!(b.top(None), (vec![lv("3", "1")], vec![lv("4", "1")]));
        assert_eq!(
            b.bbo(),
            Bbo {
                bid_price: Some(d("3")),
                bid_size: Some(d("1")),
                ask_price: Some(d("4")),
                ask_size: Some(d("1")),
            }
        );
        b.apply(&[lv("4", "1")], &[]);
        assert!(b.is_crossed());
        assert_eq!(OrderBook::new().bbo().bid_price, None);
    }

    fn json(r: &Record) -> String {
        String::from_utf8(r.to_json()).unwrap()
    }

    #[test]
    fn sync_publishes_chain_gap_and_resync() {
        let mut s = BookSync::new("x", sym(), &BookConfig::default());
        let mut out = Vec::new();
        // Not synced: updates are swallowed, never published.
        s.update(T, Some(1), vec![lv("1", "1")], vec![], None, &mut out);
        assert!(out.is_empty());
        s.snapshot(
            T,
            Some(10),
            vec![lv("100", "1"), lv("99", "0")],
            vec![lv("101", "2")],
            None,
            &mut out,
        );
        s.update(T, Some(12), vec![lv("100", "0")], vec![], None, &mut out);
        s.gap(T, Some(13), Some(15), "U jumped", &mut out);
        s.gap(T, Some(13), Some(16), "still broken", &mut out);
        s.update(T, Some(16), vec![lv("1", "1")], vec![], None, &mut out);
        assert!(!s.is_synced() && s.book().is_empty());
        s.snapshot(T, Some(20), vec![lv("100", "3")], vec![], None, &mut out);
        let got: Vec<String> = out.iter().map(json).collect();
        let env = r#"{"v":1,"exchange":"x","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":5000000,"ts_recv":7"#;
        assert_eq!(
            got,
            vec![
                format!(
                    r#"{env},"seq":10,"id":"x.spot.BTC-USDT.book.snap.10","kind":"book","bids":[["100","1"]],"asks":[["101","2"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}}"#
                ),
                format!(
                    r#"{env},"seq":12,"id":"x.spot.BTC-USDT.book.12","kind":"book","bids":[["100","0"]],"asks":[],"snapshot":false,"prev_seq":10,"checksum_ok":null}}"#
                ),
                format!(
                    r#"{env},"seq":15,"id":"x.spot.BTC-USDT.status.gap.13.15","kind":"status","event":"gap","channel":"book","reason":"U jumped","expected":13,"got":15}}"#
                ),
                format!(
                    r#"{env},"seq":20,"id":"x.spot.BTC-USDT.status.resynced.20","kind":"status","event":"resynced","channel":"book","reason":"fresh snapshot follows","expected":null,"got":20}}"#
                ),
                format!(
                    r#"{env},"seq":20,"id":"x.spot.BTC-USDT.book.snap.20","kind":"book","bids":[["100","3"]],"asks":[],"snapshot":true,"prev_seq":null,"checksum_ok":null}}"#
                ),
            ]
        );
        assert_eq!(s.gaps(), 1);
    }

    #[test]
    fn an_unavailable_snapshot_is_announced_once_per_episode() {
        let mut s = BookSync::new("x", sym(), &BookConfig::default());
        let mut out = Vec::new();
        let at = Stamp {
            ts_exchange: None,
            ts_recv: 9,
        };
        assert!(s.snapshot_unavailable(at, Some(41), "GET /d: HTTP 503", &mut out));
        assert!(!s.snapshot_unavailable(at, Some(41), "GET /d: timed out", &mut out));
        s.snapshot(T, Some(50), vec![lv("1", "1")], vec![], None, &mut out);
        // A new episode after the snapshot; without a reference, named by receive time.
        assert!(s.snapshot_unavailable(at, None, "GET /d: HTTP 429", &mut out));
        let got: Vec<String> = out.iter().map(json).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            r#"{"v":1,"exchange":"x","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":null,"ts_recv":9,"seq":null,"id":"x.spot.BTC-USDT.status.stale.snapshot.41","kind":"status","event":"stale","channel":"book","reason":"GET /d: HTTP 503","expected":null,"got":null}"#
        );
        assert!(got[2].contains(r#""id":"x.spot.BTC-USDT.status.stale.snapshot.t9""#));
        // Nothing about the book changed: no gap, still synced at 50.
        assert_eq!((s.gaps(), s.seq(), s.is_synced()), (0, Some(50), true));
    }

    #[test]
    fn periodic_full_snapshots_and_publish_depth() {
        let config = BookConfig {
            publish_depth: Some(1),
            full_snapshot_interval: Some(Duration::from_nanos(100)),
            ..BookConfig::default()
        };
        let mut s = BookSync::new("x", sym(), &config);
        let mut out = Vec::new();
        let at = |t| Stamp {
            ts_exchange: None,
            ts_recv: t,
        };
        s.snapshot(
            at(0),
            Some(1),
            vec![lv("2", "1"), lv("1", "1")],
            vec![lv("3", "1"), lv("4", "1")],
            None,
            &mut out,
        );
        s.update(at(50), Some(2), vec![lv("2", "5")], vec![], None, &mut out);
        s.update(at(120), Some(3), vec![], vec![lv("3", "0")], None, &mut out);
        assert_eq!(out.len(), 4);
        let Data::Book(first) = &out[0].data else {
            panic!()
        };
        assert_eq!((first.bids.len(), first.asks.len()), (1, 1));
        let Data::Book(full) = &out[3].data else {
            panic!()
        };
        assert!(full.snapshot);
        assert_eq!(full.prev_seq, Some(3));
        assert_eq!(out[3].seq, Some(3));
        assert_eq!(out[3].id, "x.spot.BTC-USDT.book.full.3");
        assert_eq!(full.bids, vec![lv("2", "5")]);
        assert_eq!(full.asks, vec![lv("4", "1")]);
    }

    #[test]
    fn derived_bbo_only_on_change() {
        let mut s = BookSync::new("x", sym(), &BookConfig::default());
        let mut out = Vec::new();
        assert!(s.derived_bbo(T).is_none());
        s.snapshot(
            T,
            Some(1),
            vec![lv("1", "1")],
            vec![lv("2", "1")],
            None,
            &mut out,
        );
        let r = s.derived_bbo(T).unwrap();
        assert_eq!(r.id, "x.spot.BTC-USDT.bbo.1");
        assert!(s.derived_bbo(T).is_none());
        s.update(T, Some(2), vec![lv("0.5", "1")], vec![], None, &mut out);
        assert!(s.derived_bbo(T).is_none());
        s.update(T, Some(3), vec![lv("1", "2")], vec![], None, &mut out);
        let Data::Bbo(b) = s.derived_bbo(T).unwrap().data else {
            panic!()
        };
        assert_eq!(b.bid_size, Some(d("2")));
    }
}

//! One symbol's `orderBookL2` table: rows keyed by `id` (each the level at one
//! price of one side), on top of the shared [`BookSync`] that publishes the book.
//!
//! The table has no sequence and no checksum; the breaks it can show are an update
//! or delete of an id the book does not hold, an insert of one it holds, and changes
//! before the first `partial`. Each is reported by [`IdBook::apply`] as the reason
//! of a gap (the parser announces it and resubscribes the symbol's book).

use std::collections::HashMap;

use tickbridge_schema::{Dec, Level, Record};

use crate::book::{BookConfig, BookSide, BookSync, Stamp};
use crate::symbols::SymbolInfo;

/// What a change does to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Insert,
    Update,
    Delete,
}

/// One row of a change: its key, and the size it sets (`None` for a delete) and the
/// price it names (inserts; updates and deletes of the current API).
#[derive(Debug, Clone)]
pub struct Row {
    pub id: u64,
    pub side: BookSide,
    pub price: Option<Dec>,
    pub size: Option<Dec>,
}

/// One symbol's book keyed by row id.
#[derive(Debug)]
pub struct IdBook {
    pub sync: BookSync,
    rows: HashMap<u64, (BookSide, Dec)>,
    /// Messages applied since the partial (names book records: no sequence).
    count: u64,
}

impl IdBook {
    pub fn new(symbol: SymbolInfo, config: &BookConfig) -> Self {
        IdBook {
            sync: BookSync::new("bitmex", symbol, config),
            rows: HashMap::new(),
            count: 0,
        }
    }

    /// Replaces the book with a `partial` and publishes it.
    pub fn partial(&mut self, stamp: Stamp, rows: Vec<Row>, out: &mut Vec<Record>) {
        self.rows.clear();
        self.count = 0;
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        for r in rows {
            let (Some(price), Some(size)) = (r.price, r.size) else {
                continue;
            };
            self.rows.insert(r.id, (r.side, price.clone()));
            match r.side {
                BookSide::Bid => bids.push(Level(price, size)),
                BookSide::Ask => asks.push(Level(price, size)),
            }
        }
        let first = out.len();
        self.sync.snapshot(stamp, None, bids, asks, None, out);
        tag(&mut out[first..], "p");
    }

    /// Applies one change of the synced book and publishes it; `Err(reason)` when the
    /// change shows a break (nothing is applied then: the caller announces the gap).
    pub fn apply(
        &mut self,
        action: Action,
        stamp: Stamp,
        rows: Vec<Row>,
        out: &mut Vec<Record>,
    ) -> Result<(), &'static str> {
        // Check every row first: a broken change is not half applied.
        for r in &rows {
            let known = self.rows.contains_key(&r.id);
            match action {
                Action::Insert if known => return Err("insert of a level id the book holds"),
                Action::Insert if r.price.is_none() || r.size.is_none() => {
                    return Err("insert without price or size")
                }
                Action::Update if !known => return Err("update of a level id the book lacks"),
                Action::Update if r.size.is_none() => return Err("update without size"),
                Action::Delete if !known => return Err("delete of a level id the book lacks"),
                _ => {}
            }
        }
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        for r in rows {
            let level = match action {
                Action::Insert => {
                    let (Some(price), Some(size)) = (r.price, r.size) else {
                        continue;
                    };
                    self.rows.insert(r.id, (r.side, price.clone()));
                    (r.side, Level(price, size))
                }
                Action::Update => {
                    let Some((side, price)) = self.rows.get(&r.id).cloned() else {
                        continue;
                    };
                    (side, Level(price, r.size.unwrap_or_else(Dec::zero)))
                }
                Action::Delete => {
                    let Some((side, price)) = self.rows.remove(&r.id) else {
                        continue;
                    };
                    (side, Level(price, Dec::zero()))
                }
            };
            match level.0 {
                BookSide::Bid => bids.push(level.1),
                BookSide::Ask => asks.push(level.1),
            }
        }
        self.count += 1;
        let first = out.len();
        self.sync.update(stamp, None, bids, asks, None, out);
        tag(&mut out[first..], &self.count.to_string());
        Ok(())
    }

    /// Forgets the rows (after a gap: the next partial starts over).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.count = 0;
    }
}

/// Appends `.n<tag>` to the ids of the book records just published: records without
/// a sequence are otherwise named by time alone.
fn tag(records: &mut [Record], tag: &str) {
    for r in records {
        if matches!(r.data, tickbridge_schema::Data::Book(_)) {
            r.id.push_str(".n");
            r.id.push_str(tag);
        }
    }
}

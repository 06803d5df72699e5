//! Deduplication where two connections' records meet: the overlap of a rotation (old
//! and replacement connection both subscribed) and the first moments after a
//! reconnect (Coinbase opens with `last_match`, a trade already forwarded).
//!
//! Per stream (symbol × kind) the last forwarded sequence is tracked all the time — a
//! map update per record. Only inside a window opened by the session is anything
//! dropped: a record whose `seq` is not above the stream's last one, or (records
//! without `seq`) whose `id` was already forwarded within the window. Outside windows
//! nothing is filtered, so an exchange that restarts its sequences (Bybit `u = 1`)
//! never loses data to a stale high-water mark for longer than a window; book
//! snapshots are never dropped and reset their stream's mark.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use smol_str::SmolStr;
use tickbridge_schema::{Data, Kind, Record};
use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct Dedup {
    last_seq: HashMap<(SmolStr, Kind), u64>,
    /// Ids forwarded within the window (records without `seq`).
    ids: HashSet<String>,
    window_until: Option<Instant>,
}

impl Dedup {
    /// Starts filtering until [`Dedup::end_after`] bounds the window.
    pub fn begin(&mut self) {
        self.window_until = Some(Instant::now() + Duration::from_secs(366 * 86_400));
    }

    /// Filters until `until` (replacing an open-ended window; a no-op when closed).
    pub fn end_after(&mut self, until: Instant) {
        if self.window_until.is_some() {
            self.window_until = Some(until);
        }
    }

    /// True while filtering.
    pub fn filtering(&self, now: Instant) -> bool {
        self.window_until.is_some_and(|u| now < u)
    }

    /// Whether `record` should be forwarded (false: a duplicate).
    pub fn admit(&mut self, record: &Record, now: Instant) -> bool {
        if matches!(record.data, Data::Status(_)) {
            return true;
        }
        let filtering = self.filtering(now);
        if !filtering && self.window_until.is_some() {
            self.window_until = None;
            self.ids = HashSet::new();
        }
        match record.seq {
            Some(seq) => {
                let snapshot = matches!(&record.data, Data::Book(b) if b.snapshot);
                let kind = record.data.kind();
                match self.last_seq.get_mut(&(record.symbol.clone(), kind)) {
                    Some(last) => {
                        if filtering && !snapshot && seq <= *last {
                            return false;
                        }
                        *last = seq;
                    }
                    None => {
                        self.last_seq.insert((record.symbol.clone(), kind), seq);
                    }
                }
                true
            }
            None => !filtering || self.ids.insert(record.id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickbridge_schema::{Dec, Market, Side, Trade, SCHEMA_VERSION};

    fn trade(seq: Option<u64>, id: &str) -> Record {
        Record {
            v: SCHEMA_VERSION,
            exchange: "binance".into(),
            market: Market::Spot,
            symbol: "BTC-USDT".into(),
            native: "BTCUSDT".into(),
            ts_exchange: None,
            ts_recv: 0,
            seq,
            id: id.into(),
            data: Data::Trade(Trade {
                price: Dec::parse("1").unwrap(),
                size: Dec::parse("1").unwrap(),
                side: Side::Buy,
                trade_id: id.into(),
            }),
        }
    }

    #[test]
    fn drops_repeats_only_inside_a_window() {
        let t0 = Instant::now();
        let mut d = Dedup::default();
        assert!(d.admit(&trade(Some(10), "10"), t0));
        // Outside a window even a repeat passes (and moves the mark).
        assert!(d.admit(&trade(Some(10), "10"), t0));
        d.end_after(t0 + Duration::from_secs(9));
        assert!(!d.filtering(t0), "end_after does not open a window");
        d.begin();
        d.end_after(t0 + Duration::from_secs(1));
        assert!(d.admit(&trade(Some(11), "11"), t0));
        assert!(
            !d.admit(&trade(Some(11), "11"), t0),
            "the other connection's copy"
        );
        assert!(!d.admit(&trade(Some(9), "9"), t0));
        assert!(d.admit(&trade(Some(12), "12"), t0));
        assert!(d.admit(&trade(None, "x"), t0));
        assert!(!d.admit(&trade(None, "x"), t0));
        // After the window: a restarted sequence flows again.
        let later = t0 + Duration::from_secs(2);
        assert!(!d.filtering(later));
        assert!(d.admit(&trade(Some(1), "1"), later));
        assert!(d.admit(&trade(None, "x"), later));
    }
}

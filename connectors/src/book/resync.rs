//! Per-symbol resynchronisation throttle of the books whose exchange resyncs by
//! resubscribing (Kraken, OKX, Bybit, Coinbase Advanced).

use std::collections::HashMap;

use smol_str::SmolStr;

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
    /// Request id of the next resubscription frame (a range apart from the plan's, so
    /// their answers are told from the plan's).
    next_id: u64,
    /// Receive time of the last frame: the throttle's clock when the session asks for
    /// resubscriptions (`FrameParser::resubscribe` carries no time).
    last_ts: i64,
}

impl Resyncs {
    pub fn new(min_interval: std::time::Duration) -> Self {
        Resyncs {
            in_flight: HashMap::new(),
            queued: Vec::new(),
            min_interval_ns: min_interval.as_nanos() as i64,
            next_id: 0,
            last_ts: 0,
        }
    }

    /// Numbers resubscription frames from `id` on.
    pub fn first_id(mut self, id: u64) -> Self {
        self.next_id = id;
        self
    }

    /// Records the receive time of a frame (see [`Resyncs::last_ts`]).
    pub fn tick(&mut self, ts_recv: i64) {
        self.last_ts = ts_recv;
    }

    /// The receive time of the last frame, the clock of resubscriptions asked for
    /// without a time.
    pub fn last_ts(&self) -> i64 {
        self.last_ts
    }

    /// The frames resubscribing the symbols due at `now`: for each an unsubscribe,
    /// then a subscribe (the fresh subscription starts with a snapshot), written by
    /// `frame(native, op, id)` with a request id of its own; `None` for a symbol the
    /// parser cannot resubscribe (no id is used up).
    pub fn frames(
        &mut self,
        now: i64,
        mut frame: impl FnMut(&SmolStr, &str, u64) -> Option<String>,
    ) -> Vec<String> {
        let mut frames = Vec::new();
        for native in self.due(now) {
            for op in ["unsubscribe", "subscribe"] {
                if let Some(text) = frame(&native, op, self.next_id) {
                    frames.push(text);
                    self.next_id += 1;
                }
            }
        }
        frames
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn frames_number_unsubscribe_then_subscribe() {
        let mut r = Resyncs::new(std::time::Duration::from_nanos(100)).first_id(7);
        r.request("A");
        r.request("B");
        // B cannot be resubscribed: it uses up no id.
        let frames = r.frames(0, |native, op, id| {
            (native != "B").then(|| format!("{op} {native} {id}"))
        });
        assert_eq!(frames, ["unsubscribe A 7", "subscribe A 8"]);
        r.tick(42);
        assert_eq!(r.last_ts(), 42);
    }
}

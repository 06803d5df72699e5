//! Rate windows for what a session sends the exchange: connection attempts (per
//! host, shared by every session of the process) and subscribe requests (per
//! connection).
//!
//! A [`SlidingWindow`] admits at most `count` events in any window of length `window`.
//! It is pure (instants are passed in) so it is tested without sleeping. Exchanges ban
//! IPs that exceed their connection limits (Binance: 300 attempts per 5 minutes), so
//! a reconnect storm across many connections must queue instead.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::contract::RateWindow;

/// At most `limit.count` events in any `limit.window`.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: RateWindow,
    /// Times of admitted events (some may be reservations in the future), ascending.
    events: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new(limit: RateWindow) -> Self {
        SlidingWindow {
            limit,
            events: VecDeque::new(),
        }
    }

    /// Reserves the earliest slot at or after `now` and returns it.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        self.prune(now);
        let count = self.limit.count.max(1) as usize;
        let mut slot = now;
        if self.events.len() >= count {
            // The slot frees when the count-th most recent event leaves the window.
            slot = slot.max(self.events[self.events.len() - count] + self.limit.window);
        }
        if let Some(last) = self.events.back() {
            slot = slot.max(*last);
        }
        self.events.push_back(slot);
        slot
    }

    /// When an event could be admitted without waiting (`now` if at once).
    pub fn next_free(&mut self, now: Instant) -> Instant {
        self.prune(now);
        let count = self.limit.count.max(1) as usize;
        if self.events.len() >= count {
            now.max(self.events[self.events.len() - count] + self.limit.window)
        } else {
            now
        }
    }

    fn prune(&mut self, now: Instant) {
        while let Some(first) = self.events.front() {
            if *first + self.limit.window <= now {
                self.events.pop_front();
            } else {
                break;
            }
        }
    }
}

/// A connection-attempt window shared by every session connecting to one host.
#[derive(Debug)]
pub struct ConnectGate {
    window: Mutex<SlidingWindow>,
}

impl ConnectGate {
    /// The process-wide gate for `host` (the first caller's limit wins: every session to
    /// a host comes from the same connector).
    pub fn shared(host: &str, limit: RateWindow) -> Arc<ConnectGate> {
        static GATES: OnceLock<Mutex<HashMap<String, Arc<ConnectGate>>>> = OnceLock::new();
        let gates = GATES.get_or_init(Default::default);
        let mut gates = gates.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(ConnectGate {
                    window: Mutex::new(SlidingWindow::new(limit)),
                })
            })
            .clone()
    }

    /// Reserves an attempt; returns how long to wait before making it.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let slot = self
            .window
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reserve(now);
        slot.saturating_duration_since(now)
    }
}

/// The host (and port) of a WebSocket URL: the unit exchanges count connections by.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_count_per_window_then_queues() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(RateWindow {
            count: 3,
            window: Duration::from_secs(10),
        });
        assert_eq!(w.reserve(t0), t0);
        assert_eq!(w.reserve(t0), t0);
        assert_eq!(
            w.reserve(t0 + Duration::from_secs(1)),
            t0 + Duration::from_secs(1)
        );
        // The 4th waits until the 1st leaves the window, the 5th for the 2nd.
        assert_eq!(
            w.reserve(t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(10)
        );
        assert_eq!(
            w.reserve(t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(10)
        );
        assert_eq!(
            w.next_free(t0 + Duration::from_secs(3)),
            t0 + Duration::from_secs(11)
        );
        // Much later everything has left the window.
        let later = t0 + Duration::from_secs(100);
        assert_eq!(w.next_free(later), later);
        assert_eq!(w.reserve(later), later);
    }

    #[test]
    fn any_window_holds_at_most_count() {
        let t0 = Instant::now();
        let limit = RateWindow {
            count: 5,
            window: Duration::from_millis(1000),
        };
        let mut w = SlidingWindow::new(limit);
        let slots: Vec<Instant> = (0..40)
            .map(|i| w.reserve(t0 + Duration::from_millis(i * 37)))
            .collect();
        for (i, s) in slots.iter().enumerate() {
            let within = slots[i..]
                .iter()
                .filter(|t| **t < *s + limit.window)
                .count();
            assert!(within <= 5, "slot {i}: {within} events in one window");
        }
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host_of("wss://stream.binance.com:9443/stream"),
            "stream.binance.com:9443"
        );
        assert_eq!(host_of("ws://127.0.0.1:1234"), "127.0.0.1:1234");
        assert_eq!(
            host_of("wss://ws.okx.com:8443/ws/v5/public?x=1"),
            "ws.okx.com:8443"
        );
    }
}

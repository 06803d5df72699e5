//! Pacing of client frames: exchanges limit the messages a connection may send
//! (Binance: 5 per second, pings included), and some limit subscribe requests per
//! window (OKX: 480 per hour). Frames wait in an outbox and leave one per
//! `send_interval`; subscribe requests also wait for the window.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::gate::SlidingWindow;
use crate::contract::RateWindow;

/// A client frame waiting for its turn.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outgoing {
    text: String,
    /// Counts against the subscribe-request window.
    subscribe: bool,
}

/// The outbox of one connection.
#[derive(Debug)]
pub struct Pacer {
    outbox: VecDeque<Outgoing>,
    next_send: Instant,
    interval: Duration,
    window: Option<SlidingWindow>,
}

impl Pacer {
    pub fn new(interval: Duration, subscribe_window: Option<RateWindow>, now: Instant) -> Self {
        Pacer {
            outbox: VecDeque::new(),
            next_send: now,
            interval,
            window: subscribe_window.map(SlidingWindow::new),
        }
    }

    /// Queues a subscribe request (or resubscription frame).
    pub fn subscribe(&mut self, text: String) {
        self.outbox.push_back(Outgoing {
            text,
            subscribe: true,
        });
    }

    /// The next frame if its turn has come at `now` (it is then counted as sent).
    pub fn pop_due(&mut self, now: Instant) -> Option<String> {
        let front = self.outbox.front()?;
        if now < self.next_send {
            return None;
        }
        if front.subscribe {
            if let Some(w) = &mut self.window {
                if w.next_free(now) > now {
                    return None;
                }
                w.reserve(now);
            }
        }
        let out = self.outbox.pop_front()?;
        self.next_send = now + self.interval;
        Some(out.text)
    }

    /// The earliest time any frame (a ping included) may leave.
    pub fn next_slot(&self) -> Instant {
        self.next_send
    }

    /// A frame outside the outbox (a ping) left at `now`: it takes a slot too.
    pub fn took_slot(&mut self, now: Instant) {
        self.next_send = now + self.interval;
    }

    /// When the queued front frame can leave, if one is queued.
    pub fn next_due(&mut self) -> Option<Instant> {
        let front = self.outbox.front()?;
        let mut at = self.next_send;
        if front.subscribe {
            if let Some(w) = &mut self.window {
                at = at.max(w.next_free(Instant::now()));
            }
        }
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    #[tokio::test(start_paused = true)]
    async fn frames_leave_one_per_interval() {
        let mut p = Pacer::new(Duration::from_millis(300), None, Instant::now());
        p.subscribe("a".into());
        p.subscribe("b".into());
        assert_eq!(p.pop_due(Instant::now()).as_deref(), Some("a"));
        assert_eq!(p.pop_due(Instant::now()), None);
        assert_eq!(
            p.next_due(),
            Some(Instant::now() + Duration::from_millis(300))
        );
        advance(Duration::from_millis(300)).await;
        assert_eq!(p.pop_due(Instant::now()).as_deref(), Some("b"));
        assert_eq!(p.next_due(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_ping_takes_a_slot() {
        let mut p = Pacer::new(Duration::from_millis(100), None, Instant::now());
        p.took_slot(Instant::now());
        p.subscribe("a".into());
        assert_eq!(p.pop_due(Instant::now()), None);
        advance(Duration::from_millis(100)).await;
        assert_eq!(p.pop_due(Instant::now()).as_deref(), Some("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn subscribe_requests_wait_for_the_window() {
        let window = RateWindow {
            count: 2,
            window: Duration::from_secs(10),
        };
        let mut p = Pacer::new(Duration::ZERO, Some(window), Instant::now());
        for t in ["a", "b", "c"] {
            p.subscribe(t.into());
        }
        assert_eq!(p.pop_due(Instant::now()).as_deref(), Some("a"));
        assert_eq!(p.pop_due(Instant::now()).as_deref(), Some("b"));
        assert_eq!(p.pop_due(Instant::now()), None);
        assert_eq!(p.next_due(), Some(Instant::now() + Duration::from_secs(10)));
        advance(Duration::from_secs(10)).await;
        assert_eq!(p.pop_due(Instant::now()).as_deref(), Some("c"));
    }
}

//! Whether a connection is alive, as one small type the session loop consults
//! (see `contract::Heartbeat` for the three layers): client pings and their pong
//! deadline, the idle timeout (no frame at all), and the stale watchdog (no data while
//! frames still flow, announced once per silent period).

use std::time::Duration;

use tokio::time::Instant;

use crate::contract::Heartbeat;

/// What the clock says about a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alarm {
    /// No frame at all for the idle timeout: the socket is dead.
    Idle(String),
    /// A client ping went unanswered: the socket is dead.
    NoPong(String),
    /// Subscribed, frames flow, but no data: announce `stale` (once).
    Stale(String),
}

/// The liveness state of one connection.
#[derive(Debug, Clone)]
pub struct Liveness {
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    idle_timeout: Duration,
    stale_after: Duration,
    last_frame: Instant,
    last_data: Instant,
    /// The stale watchdog runs (from the subscription's confirmation on).
    watching: bool,
    stale: bool,
    next_ping: Option<Instant>,
    pong_due: Option<Instant>,
}

impl Liveness {
    pub fn new(heartbeat: &Heartbeat, now: Instant) -> Self {
        Liveness {
            ping_interval: heartbeat.ping_interval,
            pong_timeout: heartbeat.pong_timeout,
            idle_timeout: heartbeat.idle_timeout,
            stale_after: heartbeat.stale_after,
            last_frame: now,
            last_data: now,
            watching: false,
            stale: false,
            next_ping: heartbeat.ping_interval.map(|p| now + p),
            pong_due: None,
        }
    }

    /// A frame of any kind arrived.
    pub fn frame(&mut self, now: Instant) {
        self.last_frame = now;
    }

    /// The last frame carried data. True when it ended a stale period.
    pub fn data(&mut self) -> bool {
        self.last_data = self.last_frame;
        std::mem::take(&mut self.stale)
    }

    /// A pong (protocol or app-level) or an exchange heartbeat answered our ping.
    pub fn pong(&mut self) {
        self.pong_due = None;
    }

    /// The subscription is confirmed: data is expected from `now` on.
    pub fn watch_data(&mut self, now: Instant) {
        self.watching = true;
        self.last_data = now;
    }

    /// The alarm due at `now`, if any (a stale alarm is raised once per period).
    pub fn check(&mut self, now: Instant) -> Option<Alarm> {
        if now >= self.last_frame + self.idle_timeout {
            return Some(Alarm::Idle(format!(
                "no frame at all for {:?}",
                self.idle_timeout
            )));
        }
        if self.pong_due.is_some_and(|t| now >= t) {
            return Some(Alarm::NoPong(format!(
                "ping not answered within {:?}",
                self.pong_timeout
            )));
        }
        if self.watching && !self.stale && now >= self.last_data + self.stale_after {
            self.stale = true;
            return Some(Alarm::Stale(format!(
                "no data for {:?}; the connection is alive",
                self.stale_after
            )));
        }
        None
    }

    /// A client ping is due at `now`.
    pub fn ping_due(&self, now: Instant) -> bool {
        self.next_ping.is_some_and(|t| now >= t)
    }

    /// A client ping was sent at `now`; an outstanding ping keeps its deadline.
    pub fn ping_sent(&mut self, now: Instant) {
        if let Some(every) = self.ping_interval {
            self.next_ping = Some(now + every);
        }
        self.pong_due.get_or_insert(now + self.pong_timeout);
    }

    /// When the next alarm or ping can be due (`not_before`: the pacer's next slot,
    /// which a ping waits for).
    pub fn next_wake(&self, not_before: Instant) -> Instant {
        let mut wake = self.last_frame + self.idle_timeout;
        if let Some(p) = self.pong_due {
            wake = wake.min(p);
        }
        if self.watching && !self.stale {
            wake = wake.min(self.last_data + self.stale_after);
        }
        if let Some(p) = self.next_ping {
            wake = wake.min(p.max(not_before));
        }
        wake
    }

    /// Time blocked on a full queue (back-pressure) is not the exchange's silence.
    pub fn shift(&mut self, by: Duration) {
        self.last_frame += by;
        self.last_data += by;
        if let Some(p) = &mut self.pong_due {
            *p += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    fn heartbeat() -> Heartbeat {
        Heartbeat {
            app_ping: None,
            ping_interval: Some(Duration::from_secs(10)),
            pong_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(30),
            stale_after: Duration::from_secs(20),
            subscribe_timeout: Duration::from_secs(5),
            max_connection_age: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_ping_ends_the_connection() {
        let mut l = Liveness::new(&heartbeat(), Instant::now());
        assert!(!l.ping_due(Instant::now()));
        advance(Duration::from_secs(10)).await;
        assert!(l.ping_due(Instant::now()));
        l.ping_sent(Instant::now());
        l.frame(Instant::now());
        advance(Duration::from_secs(2)).await;
        assert_eq!(l.check(Instant::now()), None);
        advance(Duration::from_secs(1)).await;
        assert_eq!(
            l.check(Instant::now()),
            Some(Alarm::NoPong("ping not answered within 3s".into()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pong_clears_the_deadline() {
        let mut l = Liveness::new(&heartbeat(), Instant::now());
        advance(Duration::from_secs(10)).await;
        l.ping_sent(Instant::now());
        advance(Duration::from_secs(1)).await;
        l.frame(Instant::now());
        l.pong();
        advance(Duration::from_secs(5)).await;
        assert_eq!(l.check(Instant::now()), None);
        assert_eq!(
            l.next_wake(Instant::now()),
            Instant::now() + Duration::from_secs(4)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn silence_is_idle_and_quiet_data_is_stale_once() {
        let mut l = Liveness::new(&heartbeat(), Instant::now());
        l.watch_data(Instant::now());
        for _ in 0..20 {
            advance(Duration::from_secs(1)).await;
            l.frame(Instant::now()); // heartbeats, no data
            l.pong();
        }
        assert_eq!(
            l.check(Instant::now()),
            Some(Alarm::Stale(
                "no data for 20s; the connection is alive".into()
            ))
        );
        assert_eq!(l.check(Instant::now()), None, "announced once");
        assert!(l.data(), "data ends the stale period");
        assert!(!l.data());
        advance(Duration::from_secs(30)).await;
        assert_eq!(
            l.check(Instant::now()),
            Some(Alarm::Idle("no frame at all for 30s".into()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn back_pressure_does_not_count_as_silence() {
        let mut l = Liveness::new(&heartbeat(), Instant::now());
        advance(Duration::from_secs(29)).await;
        l.shift(Duration::from_secs(29));
        advance(Duration::from_secs(1)).await;
        assert_eq!(l.check(Instant::now()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn no_stale_alarm_before_the_subscription_is_confirmed() {
        let mut l = Liveness::new(&heartbeat(), Instant::now());
        advance(Duration::from_secs(25)).await;
        l.frame(Instant::now());
        assert_eq!(l.check(Instant::now()), None);
    }
}

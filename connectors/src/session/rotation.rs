//! When a connection is replaced before the exchange drops it, as one small type the
//! session loop consults: at `max_connection_age` (or when the exchange announces a
//! disconnect) a replacement is opened and subscribed while the old connection keeps
//! delivering; once the replacement is confirmed both run for the overlap, then the old
//! one is closed. A failed replacement is retried with backoff; the old connection
//! carries on meanwhile.

use std::time::Duration;

use tokio::time::Instant;

/// The rotation schedule of one session.
#[derive(Debug, Clone)]
pub struct Rotation {
    max_age: Option<Duration>,
    overlap: Duration,
    /// A failed replacement is not retried before this.
    not_before: Option<Instant>,
    /// Failed replacements in a row (the backoff's attempt).
    attempt: u32,
    /// The replacement is confirmed: the old connection closes then.
    close_old_at: Option<Instant>,
}

impl Rotation {
    pub fn new(max_age: Option<Duration>, overlap: Duration) -> Self {
        Rotation {
            max_age,
            overlap,
            not_before: None,
            attempt: 0,
            close_old_at: None,
        }
    }

    /// Why the active connection (opened at `opened`, subscribed or not, with the
    /// exchange's announcement if any) should be replaced at `now`, if it should.
    pub fn reason(
        &self,
        subscribed: bool,
        opened: Instant,
        announced: Option<&str>,
        now: Instant,
    ) -> Option<String> {
        if !subscribed || self.close_old_at.is_some() || self.not_before.is_some_and(|t| now < t) {
            return None;
        }
        if let Some(why) = announced {
            return Some(format!("the exchange announced a disconnect: {why}"));
        }
        let age = self.max_age?;
        (now.saturating_duration_since(opened) >= age)
            .then(|| format!("connection age reached {age:?}"))
    }

    /// When the active connection (opened at `opened`) reaches its age, if it has one
    /// (not before a failed replacement's backoff).
    pub fn due_at(&self, opened: Instant, now: Instant) -> Option<Instant> {
        let age = self.max_age?;
        Some((opened + age).max(self.not_before.unwrap_or(now)))
    }

    /// The replacement failed at `now`; the next try waits `backoff(attempt)`.
    pub fn failed(&mut self, now: Instant, backoff: impl Fn(u32) -> Duration) {
        self.close_old_at = None;
        self.not_before = Some(now + backoff(self.attempt));
        self.attempt = self.attempt.saturating_add(1);
    }

    /// The replacement is confirmed at `now`: the overlap starts (once).
    pub fn confirmed(&mut self, now: Instant) {
        self.close_old_at.get_or_insert(now + self.overlap);
    }

    /// The overlap is over at `now`: close the old connection.
    pub fn overlap_over(&self, now: Instant) -> bool {
        self.close_old_at.is_some_and(|t| t <= now)
    }

    /// When the overlap ends, during one.
    pub fn overlap_ends(&self) -> Option<Instant> {
        self.close_old_at
    }

    /// The replacement took over (or the rotation was abandoned): back to the start.
    pub fn done(&mut self) {
        self.close_old_at = None;
        self.not_before = None;
        self.attempt = 0;
    }

    /// How long records are still compared after two connections met (the newer one
    /// may lag a little behind the overlap).
    pub fn settle(&self) -> Duration {
        self.overlap + Duration::from_secs(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    #[tokio::test(start_paused = true)]
    async fn rotates_at_age_then_closes_the_old_one_after_the_overlap() {
        let opened = Instant::now();
        let mut r = Rotation::new(Some(Duration::from_secs(60)), Duration::from_secs(2));
        assert_eq!(
            r.due_at(opened, opened),
            Some(opened + Duration::from_secs(60))
        );
        advance(Duration::from_secs(59)).await;
        assert_eq!(r.reason(true, opened, None, Instant::now()), None);
        advance(Duration::from_secs(1)).await;
        assert_eq!(
            r.reason(false, opened, None, Instant::now()),
            None,
            "an unconfirmed connection is not rotated"
        );
        assert_eq!(
            r.reason(true, opened, None, Instant::now()).as_deref(),
            Some("connection age reached 60s")
        );
        r.confirmed(Instant::now());
        assert_eq!(
            r.reason(true, opened, None, Instant::now()),
            None,
            "one at a time"
        );
        advance(Duration::from_secs(1)).await;
        r.confirmed(Instant::now());
        assert!(!r.overlap_over(Instant::now()), "the overlap started once");
        advance(Duration::from_secs(1)).await;
        assert!(r.overlap_over(Instant::now()));
        r.done();
        assert_eq!(r.overlap_ends(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_replacement_backs_off() {
        let opened = Instant::now();
        let mut r = Rotation::new(Some(Duration::from_secs(10)), Duration::from_secs(1));
        advance(Duration::from_secs(10)).await;
        let backoff = |attempt: u32| Duration::from_secs(1 << attempt);
        r.failed(Instant::now(), backoff);
        assert_eq!(r.reason(true, opened, None, Instant::now()), None);
        assert_eq!(
            r.due_at(opened, Instant::now()),
            Some(Instant::now() + Duration::from_secs(1))
        );
        advance(Duration::from_secs(1)).await;
        assert!(r.reason(true, opened, None, Instant::now()).is_some());
        r.failed(Instant::now(), backoff);
        advance(Duration::from_secs(1)).await;
        assert_eq!(
            r.reason(true, opened, None, Instant::now()),
            None,
            "2 s now"
        );
        advance(Duration::from_secs(1)).await;
        assert!(r.reason(true, opened, None, Instant::now()).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_announced_disconnect_rotates_at_once() {
        let opened = Instant::now();
        let r = Rotation::new(None, Duration::from_secs(1));
        assert_eq!(r.due_at(opened, opened), None);
        assert_eq!(
            r.reason(true, opened, Some("notice 64008"), Instant::now())
                .as_deref(),
            Some("the exchange announced a disconnect: notice 64008")
        );
    }
}

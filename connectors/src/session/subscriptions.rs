//! The subscription state of one connection, kept by the session once for every
//! exchange: each planned request is pending, confirmed or refused. Parsers only say
//! which request an answer belongs to ([`Answer`]); what that changes is decided here.
//!
//! - A request is confirmed when all its answers arrived and at least one was an
//!   acknowledgement; refused when all were refusals.
//! - A refused request answered once as a whole (Binance, Bybit, Coinbase: `answers
//!   == 1`) that covers several symbols and names none of them is split in halves and
//!   the halves are sent again, until the refusal is down to the symbol that caused
//!   it; the others are confirmed meanwhile. A refusal that names symbols rejects
//!   those and sends the rest again.
//! - On a reconnect the next connection starts from [`Subscriptions::renewed`]: every
//!   request that was not refused, pending again (refused symbols are not asked for
//!   again).
//! - The connection is settled once no request is pending; a deadline reports a
//!   subscription the exchange never answered.

use std::collections::BTreeSet;
use std::time::Duration;

use smol_str::SmolStr;
use tokio::time::Instant;

use crate::contract::{Answer, ConnectionPlan, EncodeRequest, Refusal, SubscribeRequest};

/// Where one request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Confirmed,
    Refused,
}

#[derive(Debug, Clone)]
struct Tracked {
    request: SubscribeRequest,
    state: State,
    answered: usize,
    acked: usize,
}

/// What an answer changed, for the session to act on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Symbols to announce `rejected`, with the reason; an empty list means every
    /// symbol of the connection (a refusal the exchange did not attribute).
    pub rejected: Option<(Vec<SmolStr>, String)>,
    /// Requests to send now (the parts of a refused request).
    pub send: Vec<SubscribeRequest>,
    /// The connection just settled: `Some(true)` if at least one request is confirmed.
    pub settled: Option<bool>,
    /// The answer matched no request of this connection.
    pub unmatched: bool,
}

/// The requests of one connection and their state.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    tracked: Vec<Tracked>,
    encode: Option<EncodeRequest>,
    /// The id the next split request gets (above every planned one).
    next_id: u64,
    /// Native symbols the exchange refused (announced once, never asked for again).
    refused: BTreeSet<SmolStr>,
    settled: bool,
    deadline: Option<Instant>,
    timeout: Duration,
}

impl Subscriptions {
    pub fn new(plan: &ConnectionPlan, timeout: Duration) -> Self {
        let next_id = plan.requests.iter().map(|r| r.id).max().unwrap_or(0) + 1;
        Subscriptions {
            tracked: plan
                .requests
                .iter()
                .map(|r| Tracked {
                    request: r.clone(),
                    state: State::Pending,
                    answered: 0,
                    acked: 0,
                })
                .collect(),
            encode: plan.encode,
            next_id,
            refused: BTreeSet::new(),
            settled: false,
            deadline: None,
            timeout,
        }
    }

    /// The state a new connection of the same plan starts from: every request that
    /// was not refused, pending again.
    pub fn renewed(&self) -> Subscriptions {
        let mut next = self.clone();
        next.tracked.retain(|t| t.state != State::Refused);
        for t in &mut next.tracked {
            t.state = State::Pending;
            t.answered = 0;
            t.acked = 0;
        }
        next.settled = false;
        next.deadline = None;
        next
    }

    /// Starts the connection at `now`: the requests to send, in order. With none (the
    /// URL names the streams) the connection is settled at once.
    pub fn start(&mut self, now: Instant) -> Vec<SubscribeRequest> {
        if self.tracked.is_empty() {
            self.settled = true;
            return Vec::new();
        }
        self.deadline = Some(now + self.timeout);
        self.tracked.iter().map(|t| t.request.clone()).collect()
    }

    pub fn is_settled(&self) -> bool {
        self.settled
    }

    /// Native symbols refused so far.
    pub fn refused(&self) -> &BTreeSet<SmolStr> {
        &self.refused
    }

    /// The state of the request with `id`, if it is one of this connection's.
    pub fn state(&self, id: u64) -> Option<State> {
        self.tracked
            .iter()
            .find(|t| t.request.id == id)
            .map(|t| t.state)
    }

    /// The requests as they stand (planned ones, and the parts of split ones).
    pub fn requests(&self) -> impl Iterator<Item = (&SubscribeRequest, State)> {
        self.tracked.iter().map(|t| (&t.request, t.state))
    }

    /// The confirmation deadline, while requests are pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Moves the deadline by `by` (time the session spent blocked on its queue).
    pub fn shift_deadline(&mut self, by: Duration) {
        if let Some(d) = &mut self.deadline {
            *d += by;
        }
    }

    /// The deadline passed: the reason to report (once), if requests are unanswered.
    pub fn timed_out(&mut self, now: Instant) -> Option<String> {
        if self.deadline.is_none_or(|d| now < d) {
            return None;
        }
        self.deadline = None;
        let answered = self
            .tracked
            .iter()
            .filter(|t| t.state != State::Pending)
            .count();
        Some(format!(
            "no subscription confirmation within {:?} ({answered} of {} requests answered)",
            self.timeout,
            self.tracked.len()
        ))
    }

    fn find(&self, answer: &Answer) -> Option<usize> {
        match answer {
            Answer::Id(id) => self.tracked.iter().position(|t| t.request.id == *id),
            Answer::Topic(name) => self
                .tracked
                .iter()
                .position(|t| t.request.topics.iter().any(|x| x.name == *name)),
            Answer::InOrder => self.tracked.iter().position(|t| t.state == State::Pending),
        }
    }

    /// An acknowledgement.
    pub fn acked(&mut self, answer: &Answer) -> Update {
        let Some(i) = self.find(answer) else {
            return Update {
                unmatched: true,
                ..Update::default()
            };
        };
        let t = &mut self.tracked[i];
        t.answered += 1;
        t.acked += 1;
        if t.answered >= t.request.answers {
            t.state = State::Confirmed;
        }
        self.settle()
    }

    /// A refusal.
    pub fn refused_by(&mut self, refusal: Refusal) -> Update {
        let Refusal {
            answer,
            symbols,
            reason,
        } = refusal;
        let Some(i) = answer.as_ref().and_then(|a| self.find(a)) else {
            // Answers no request of ours: reported, settles nothing.
            self.refused.extend(symbols.iter().cloned());
            return Update {
                rejected: Some((symbols, reason)),
                unmatched: answer.is_some(),
                ..Update::default()
            };
        };
        let request_symbols = self.tracked[i].request.symbols();
        // The named symbols, spelled as the request spells them.
        let named: Vec<SmolStr> = request_symbols
            .iter()
            .filter(|r| symbols.iter().any(|s| r.eq_ignore_ascii_case(s)))
            .cloned()
            .collect();
        let mut update = Update::default();
        let t = &mut self.tracked[i];
        t.answered += 1;
        if t.request.answers > 1 {
            // Each part is answered on its own: this refusal is about its symbols
            // only; one that names none refuses what is left of the request.
            let rejected = if named.is_empty() {
                t.answered = t.request.answers;
                request_symbols
            } else {
                named
            };
            if t.answered >= t.request.answers {
                t.state = if t.acked > 0 {
                    State::Confirmed
                } else {
                    State::Refused
                };
            }
            self.reject(&mut update, rejected, reason);
        } else if !named.is_empty() {
            // The named symbols were refused; the rest of the request goes again.
            t.state = State::Refused;
            let rest: Vec<_> = t
                .request
                .topics
                .iter()
                .filter(|x| !named.contains(&x.native))
                .cloned()
                .collect();
            self.resend(&mut update, i, vec![rest]);
            self.reject(&mut update, named, reason);
        } else if request_symbols.len() > 1 && self.encode.is_some() {
            // Not attributed: halve it until the refusal names its symbol.
            t.state = State::Refused;
            let half = request_symbols.len() / 2;
            let (a, b): (Vec<_>, Vec<_>) =
                t.request.topics.iter().cloned().partition(|x| {
                    request_symbols[..half].contains(&x.native) || x.native.is_empty()
                });
            self.resend(&mut update, i, vec![a, b]);
        } else {
            t.state = State::Refused;
            self.reject(&mut update, request_symbols, reason);
        }
        let settled = self.settle();
        update.settled = settled.settled;
        update
    }

    fn reject(&mut self, update: &mut Update, symbols: Vec<SmolStr>, reason: String) {
        self.refused.extend(symbols.iter().cloned());
        update.rejected = Some((symbols, reason));
    }

    /// Replaces request `i` by requests of `parts` (empty parts are left out).
    fn resend(&mut self, update: &mut Update, i: usize, parts: Vec<Vec<crate::contract::Topic>>) {
        let Some(encode) = self.encode else {
            return;
        };
        let mut new = Vec::new();
        for topics in parts.into_iter().filter(|p| !p.is_empty()) {
            let request = encode(self.next_id, topics);
            self.next_id += 1;
            update.send.push(request.clone());
            new.push(Tracked {
                request,
                state: State::Pending,
                answered: 0,
                acked: 0,
            });
        }
        // The refused request stays (as refused) only if nothing replaced it.
        if !new.is_empty() {
            self.tracked.remove(i);
        }
        for (k, t) in new.into_iter().enumerate() {
            self.tracked.insert(i + k, t);
        }
    }

    /// Settles the connection once nothing is pending.
    fn settle(&mut self) -> Update {
        if self.settled || self.tracked.iter().any(|t| t.state == State::Pending) {
            return Update::default();
        }
        self.settled = true;
        self.deadline = None;
        Update {
            settled: Some(self.tracked.iter().any(|t| t.state == State::Confirmed)),
            ..Update::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookConfig;
    use crate::contract::{Channel, ChannelSet, Topic};
    use tickbridge_schema::Market;

    fn topic(native: &str) -> Topic {
        Topic {
            native: native.into(),
            channel: Channel::Trade,
            name: format!("{}@trade", native.to_ascii_lowercase()).into(),
        }
    }

    fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
        let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
        SubscribeRequest {
            id,
            text: format!("{id}:{}", names.join(",")),
            topics,
            answers: 1,
        }
    }

    fn plan(requests: &[&[&str]], encoder: Option<EncodeRequest>) -> ConnectionPlan {
        ConnectionPlan {
            url: "ws://x".into(),
            endpoint: None,
            requests: requests
                .iter()
                .enumerate()
                .map(|(i, syms)| encode(i as u64 + 1, syms.iter().map(|s| topic(s)).collect()))
                .collect(),
            encode: encoder,
            market: Market::Spot,
            channels: ChannelSet::all(),
            symbols: Vec::new(),
            send_interval: Duration::ZERO,
            books: BookConfig::default(),
        }
    }

    fn texts(requests: &[SubscribeRequest]) -> Vec<&str> {
        requests.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn settles_when_every_request_is_answered() {
        let mut s = Subscriptions::new(&plan(&[&["A"], &["B"]], None), Duration::from_secs(1));
        assert_eq!(texts(&s.start(Instant::now())), ["1:a@trade", "2:b@trade"]);
        assert_eq!(s.acked(&Answer::Id(1)), Update::default());
        assert_eq!(s.acked(&Answer::Id(2)).settled, Some(true));
        assert!(s.is_settled() && s.deadline().is_none());
        assert!(s.acked(&Answer::Id(7)).unmatched);
    }

    #[test]
    fn in_order_answers_take_the_oldest_pending_request() {
        let mut s = Subscriptions::new(&plan(&[&["A"], &["B"]], None), Duration::from_secs(1));
        s.start(Instant::now());
        s.acked(&Answer::InOrder);
        assert_eq!(s.state(1), Some(State::Confirmed));
        assert_eq!(s.state(2), Some(State::Pending));
        let u = s.refused_by(Refusal::of(Answer::InOrder, vec!["B".into()], "no"));
        assert_eq!(u.rejected, Some((vec![SmolStr::new("B")], "no".into())));
        assert_eq!(u.settled, Some(true));
    }

    #[test]
    fn topic_answers_count_per_part() {
        let mut p = plan(&[&["A", "B"]], None);
        p.requests[0].answers = 2;
        let mut s = Subscriptions::new(&p, Duration::from_secs(1));
        s.start(Instant::now());
        assert_eq!(s.acked(&Answer::Topic("a@trade".into())).settled, None);
        let u = s.refused_by(Refusal::of(Answer::Topic("b@trade".into()), vec![], "bad"));
        assert_eq!(
            u.rejected,
            Some((vec![SmolStr::new("A"), SmolStr::new("B")], "bad".into()))
        );
        assert_eq!(u.settled, Some(true));
        assert_eq!(s.state(1), Some(State::Confirmed));
    }

    #[test]
    fn an_unattributed_refusal_is_halved_down_to_its_symbol() {
        let mut s = Subscriptions::new(
            &plan(&[&["A", "B", "C", "D"]], Some(encode)),
            Duration::from_secs(1),
        );
        s.start(Instant::now());
        let u = s.refused_by(Refusal::of(Answer::Id(1), vec![], "bad symbol"));
        assert_eq!(u.rejected, None);
        assert_eq!(texts(&u.send), ["2:a@trade,b@trade", "3:c@trade,d@trade"]);
        assert_eq!(s.acked(&Answer::Id(2)), Update::default());
        let u = s.refused_by(Refusal::of(Answer::Id(3), vec![], "bad symbol"));
        assert_eq!(texts(&u.send), ["4:c@trade", "5:d@trade"]);
        assert_eq!(s.acked(&Answer::Id(4)), Update::default());
        let u = s.refused_by(Refusal::of(Answer::Id(5), vec![], "bad symbol"));
        assert_eq!(
            u.rejected,
            Some((vec![SmolStr::new("D")], "bad symbol".into()))
        );
        assert_eq!(u.settled, Some(true));
        assert_eq!(s.refused().iter().collect::<Vec<_>>(), ["D"]);
        // A reconnect asks again for what was confirmed, and not for the refused one.
        let mut next = s.renewed();
        assert_eq!(
            texts(&next.start(Instant::now())),
            ["2:a@trade,b@trade", "4:c@trade"]
        );
        assert!(!next.is_settled());
    }

    #[test]
    fn a_refusal_naming_symbols_sends_the_rest_again() {
        let mut s = Subscriptions::new(
            &plan(&[&["A", "B", "C"]], Some(encode)),
            Duration::from_secs(1),
        );
        s.start(Instant::now());
        let u = s.refused_by(Refusal::of(Answer::Id(1), vec!["b".into()], "unknown b"));
        assert_eq!(
            u.rejected,
            Some((vec![SmolStr::new("B")], "unknown b".into()))
        );
        assert_eq!(texts(&u.send), ["2:a@trade,c@trade"]);
        assert_eq!(s.acked(&Answer::Id(2)).settled, Some(true));
    }

    #[test]
    fn without_an_encoder_a_refusal_rejects_the_whole_request() {
        let mut s = Subscriptions::new(&plan(&[&["A", "B"]], None), Duration::from_secs(1));
        s.start(Instant::now());
        let u = s.refused_by(Refusal::of(Answer::Id(1), vec![], "no"));
        assert_eq!(
            u.rejected,
            Some((vec![SmolStr::new("A"), SmolStr::new("B")], "no".into()))
        );
        assert_eq!(u.settled, Some(false));
    }

    #[test]
    fn an_unrelated_refusal_is_reported_for_the_connection_and_settles_nothing() {
        let mut s = Subscriptions::new(&plan(&[&["A"]], None), Duration::from_secs(1));
        s.start(Instant::now());
        let u = s.refused_by(Refusal::unattributed("rate limit"));
        assert_eq!(u.rejected, Some((vec![], "rate limit".into())));
        assert_eq!(u.settled, None);
        assert!(!s.is_settled());
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_reports_unanswered_requests_once() {
        let mut s = Subscriptions::new(&plan(&[&["A"], &["B"]], None), Duration::from_secs(2));
        let t0 = Instant::now();
        s.start(t0);
        s.acked(&Answer::Id(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(s.timed_out(Instant::now()), None);
        s.shift_deadline(Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(s.timed_out(Instant::now()), None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            s.timed_out(Instant::now()).as_deref(),
            Some("no subscription confirmation within 2s (1 of 2 requests answered)")
        );
        assert_eq!(s.timed_out(Instant::now()), None);
    }

    #[test]
    fn a_plan_without_requests_is_settled_at_once() {
        let mut s = Subscriptions::new(&plan(&[], None), Duration::from_secs(1));
        assert!(s.start(Instant::now()).is_empty());
        assert!(s.is_settled());
    }
}

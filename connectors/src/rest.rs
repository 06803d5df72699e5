//! REST fetching for the parsers' requests (order-book snapshots), within the
//! exchanges' request-weight limits.
//!
//! - [`RateLimit`]: an exchange's documented limit (e.g. Binance spot: 6000 weight per
//!   minute per IP) and the share of it this process allows itself.
//! - [`Bucket`]: the pure token bucket behind a limit (unit-tested with explicit
//!   instants). Burst is a quarter of the budget and the refill rate the other three
//!   quarters per window, so **any** window of the limit's length carries at most the
//!   budget — also the exchange's fixed minute windows. It also honours what the
//!   exchange says: the used-weight header (`x-mbx-used-weight-1m`) lowers the tokens
//!   to what is really left, and a 429/418 `Retry-After` blocks the bucket.
//! - [`Limiter`]: the async, FIFO-fair wrapper, shared process-wide by limit name
//!   ([`Limiter::shared`]), so many symbols resyncing at once on many connections
//!   queue up instead of causing a ban storm.
//! - [`RestFetcher`]: one session's in-flight requests, each a task in a `JoinSet`
//!   that the session joins ([`RestFetcher::shutdown`]); retries with backoff.
//! - [`post`]: one POST the session itself makes before connecting (a per-connection
//!   endpoint, [`crate::contract::EndpointRequest`]), with the same limits and retries.
//!
//! Failures are handed back, never swallowed: after [`MAX_ATTEMPTS`] (an HTTP 5xx,
//! a transport error, a timeout), at once for a client error (4xx), and at once for a
//! rate-limit answer (429/418/403: the limit is paused as the exchange asked, and the
//! parser's next request waits that pause out at the limiter). The parser announces
//! the failure downstream (a book's `status stale`) and asks again with its own
//! backoff; the fetcher logs the first failure of a key at WARN and the rest at DEBUG
//! until a request of that key succeeds again (one WARN per failure episode).
//!
//! Error texts name the method, the URL **path** and what went wrong (`GET
//! /api/v3/depth: HTTP 503 Service Unavailable: ...`, `... timed out after 15s`,
//! `... rate limited (HTTP 429 ...)`), never the host, credentials or query of the URL
//! ([`url_path`]): they end up in `status` records and logs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::contract::RestRequest;

/// A documented request-weight limit of one exchange API (per IP).
#[derive(Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Limiter identity: requests naming the same limit share one budget process-wide.
    pub name: &'static str,
    /// The exchange's limit: weight per `window`.
    pub limit: u32,
    pub window: Duration,
    /// Percent of `limit` this process may use (the rest is left to other clients on
    /// the same IP and to the exchange's own accounting slack).
    pub share_percent: u32,
    /// Response header carrying the weight the IP used in the current window.
    pub used_weight_header: Option<&'static str>,
}

impl RateLimit {
    /// The weight this process allows itself per window.
    pub fn budget(&self) -> u32 {
        (self.limit as u64 * self.share_percent as u64 / 100).max(1) as u32
    }
}

/// A token bucket for one [`RateLimit`] (pure: time is passed in).
#[derive(Debug, Clone)]
pub struct Bucket {
    limit: u32,
    burst: f64,
    /// Tokens per second.
    rate: f64,
    tokens: f64,
    last: Instant,
    blocked_until: Option<Instant>,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn new(limit: &RateLimit, now: Instant) -> Bucket {
        let budget = limit.budget() as f64;
        let burst = (budget / 4.0).max(1.0);
        let rate = (budget - burst).max(1.0) / limit.window.as_secs_f64().max(0.001);
        Bucket {
            limit: limit.limit,
            burst,
            rate,
            tokens: burst,
            last: now,
            blocked_until: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes `weight` tokens, or says how long to wait before asking again. A request
    /// heavier than the burst is let through when the bucket is full (it goes
    /// negative and later requests wait for the refill).
    pub fn try_take(&mut self, now: Instant, weight: u32) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Err(until - now);
            }
            self.blocked_until = None;
        }
        self.refill(now);
        let weight = weight as f64;
        let needed = weight.min(self.burst);
        if self.tokens >= needed {
            self.tokens -= weight;
            return Ok(());
        }
        let wait = (needed - self.tokens) / self.rate;
        Err(Duration::from_secs_f64(wait).max(Duration::from_millis(1)))
    }

    /// The exchange reported `used` weight in its current window: never plan on more
    /// than what is left of the limit, less a 10% margin.
    pub fn observe_used(&mut self, now: Instant, used: u32) {
        self.refill(now);
        let left = self.limit as f64 * 0.9 - used as f64;
        if left < self.tokens {
            self.tokens = left.max(-(self.limit as f64));
        }
    }

    /// The exchange said to back off (`429`/`418` with `Retry-After`): nothing is sent
    /// before `now + pause`, and the bucket restarts empty.
    pub fn block_for(&mut self, now: Instant, pause: Duration) {
        let until = now + pause;
        self.blocked_until = Some(self.blocked_until.map_or(until, |u| u.max(until)));
        self.refill(now);
        self.tokens = self.tokens.min(0.0);
        // Refill starts when the block ends.
        self.last = self.blocked_until.unwrap_or(until).max(self.last);
    }

    /// Tokens available now (for tests and metrics).
    pub fn tokens(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }
}

/// An async, FIFO-fair limiter around a [`Bucket`].
#[derive(Debug)]
pub struct Limiter {
    limit: &'static RateLimit,
    bucket: Mutex<Bucket>,
    /// Waiters take turns (tokio's mutex is fair): no request starves.
    turn: tokio::sync::Mutex<()>,
}

impl Limiter {
    pub fn new(limit: &'static RateLimit) -> Limiter {
        Limiter {
            limit,
            bucket: Mutex::new(Bucket::new(limit, Instant::now())),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// The process-wide limiter of `limit` (one per limit name).
    pub fn shared(limit: &'static RateLimit) -> Arc<Limiter> {
        static ALL: OnceLock<Mutex<HashMap<&'static str, Arc<Limiter>>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.entry(limit.name)
            .or_insert_with(|| Arc::new(Limiter::new(limit)))
            .clone()
    }

    pub fn limit(&self) -> &'static RateLimit {
        self.limit
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `weight` may be spent, in arrival order.
    pub async fn acquire(&self, weight: u32) {
        let _turn = self.turn.lock().await;
        loop {
            let wait = match self.bucket().try_take(Instant::now(), weight) {
                Ok(()) => return,
                Err(wait) => wait,
            };
            tokio::time::sleep(wait).await;
        }
    }

    pub fn observe_used(&self, used: u32) {
        self.bucket().observe_used(Instant::now(), used);
    }

    pub fn block_for(&self, pause: Duration) {
        self.bucket().block_for(Instant::now(), pause);
    }
}

/// The answer to one [`RestRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestResponse {
    pub key: String,
    pub url: String,
    /// The body of a 200 response, or why there is none.
    pub result: Result<String, String>,
}

/// Attempts per request before the failure is handed to the parser (which decides
/// whether to ask again). Client errors (4xx) and rate-limit answers (429/418/403) are
/// handed back at once.
pub const MAX_ATTEMPTS: u32 = 4;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One session's REST requests in flight. Every request is a task of this fetcher's
/// `JoinSet`; [`RestFetcher::shutdown`] aborts and joins them.
pub struct RestFetcher {
    tasks: JoinSet<RestResponse>,
    client: reqwest::Client,
    /// Keys whose last request failed, with the failures since their last success
    /// (the failure episodes: logged at WARN once each).
    failing: HashMap<String, u32>,
}

impl Default for RestFetcher {
    fn default() -> Self {
        RestFetcher::new()
    }
}

impl RestFetcher {
    pub fn new() -> RestFetcher {
        static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
        let client = CLIENT
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(REQUEST_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .user_agent(concat!("tickbridge/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .expect("a default reqwest client builds")
            })
            .clone();
        RestFetcher {
            tasks: JoinSet::new(),
            client,
            failing: HashMap::new(),
        }
    }

    /// Starts fetching every request (each waits for its delay and its limiter).
    pub fn start(&mut self, requests: Vec<RestRequest>) {
        for request in requests {
            let client = self.client.clone();
            self.tasks.spawn(fetch(client, request));
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// The next finished request; never resolves while none is in flight (so it can
    /// sit in a `select!` loop). Cancel-safe.
    pub async fn next(&mut self) -> RestResponse {
        loop {
            match self.tasks.join_next().await {
                None => std::future::pending::<()>().await,
                Some(Ok(response)) => {
                    self.observe(&response);
                    return response;
                }
                // A fetch task that panicked or was aborted: nothing to hand back; the
                // parser re-requests on its own schedule.
                Some(Err(e)) => warn!(error = %e, "a REST fetch task failed"),
            }
        }
    }

    /// Failures since the last success of `key` (0 when its last request succeeded).
    pub fn failures(&self, key: &str) -> u32 {
        self.failing.get(key).copied().unwrap_or(0)
    }

    /// Logs a failure episode once: the first failure of a key at WARN, the following
    /// ones at DEBUG, and the success that ends the episode at INFO.
    fn observe(&mut self, response: &RestResponse) {
        let url = redacted(&response.url);
        match &response.result {
            Err(error) => {
                let failures = self.failing.entry(response.key.clone()).or_insert(0);
                *failures += 1;
                if *failures == 1 {
                    warn!(key = %response.key, %url, %error, "REST request failed; the parser asks again with backoff (further failures are logged at debug level until it succeeds)");
                } else {
                    debug!(key = %response.key, %url, %error, failures = *failures, "REST request failed again");
                }
            }
            Ok(_) => {
                if let Some(failures) = self.failing.remove(&response.key) {
                    info!(key = %response.key, %url, failures, "REST request succeeded after failing");
                }
            }
        }
    }

    /// Aborts the requests in flight and waits for their tasks to end.
    pub async fn shutdown(&mut self) {
        self.tasks.shutdown().await;
    }
}

/// Fetches one request: delay, limiter, GET, with retries and the exchange's
/// back-off instructions honoured.
async fn fetch(client: reqwest::Client, request: RestRequest) -> RestResponse {
    send(client, Method::Get, request).await
}

/// The HTTP methods the fetcher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    /// A POST with the JSON body `{}`.
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// POSTs `request` (JSON body `{}`) like [`RestFetcher`] GETs: its delay, its limiter,
/// retries, the exchange's back-off honoured; failures named by method and path. For
/// requests the session makes itself, before connecting (a per-connection endpoint, see
/// [`crate::contract::EndpointRequest`]).
pub async fn post(request: RestRequest) -> RestResponse {
    let client = RestFetcher::new().client;
    send(client, Method::Post, request).await
}

async fn send(client: reqwest::Client, method: Method, request: RestRequest) -> RestResponse {
    let verb = method.as_str();
    if !request.delay.is_zero() {
        tokio::time::sleep(request.delay).await;
    }
    let limiter = Limiter::shared(request.limit);
    let path = url_path(&request.url);
    let mut attempt = 0u32;
    let result = loop {
        limiter.acquire(request.weight).await;
        let outcome = match method {
            Method::Get => client.get(&request.url),
            Method::Post => client
                .post(&request.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body("{}"),
        }
        .send()
        .await;
        let error = match outcome {
            Err(e) => format!("{verb} {path}: {}", describe(&e)),
            Ok(response) => {
                let status = response.status();
                if let Some(used) = request
                    .limit
                    .used_weight_header
                    .and_then(|h| response.headers().get(h))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u32>().ok())
                {
                    limiter.observe_used(used);
                }
                let code = status.as_u16();
                if code == 429 || code == 418 || code == 403 {
                    // 429: over the limit; 418: the IP is banned; 403: WAF limit.
                    let default = if code == 418 { 120 } else { 60 };
                    let pause = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(default);
                    let name = request.limit.name;
                    warn!(%path, status = code, pause_s = pause, limit = name, "exchange asked to back off; pausing every request of this limit");
                    limiter.block_for(Duration::from_secs(pause));
                    // Handed back at once, so the wait is announced; the parser's next
                    // request waits the pause out at the limiter.
                    break Err(format!(
                        "{verb} {path}: rate limited (HTTP {status}); every request of {name} paused for {pause}s"
                    ));
                }
                match response.text().await {
                    Ok(body) if status.is_success() => break Ok(body),
                    Ok(body) if status.is_client_error() => {
                        break Err(format!("{verb} {path}: HTTP {status}: {}", preview(&body)))
                    }
                    Ok(body) => format!("{verb} {path}: HTTP {status}: {}", preview(&body)),
                    Err(e) => format!("{verb} {path}: reading the body: {}", describe(&e)),
                }
            }
        };
        attempt += 1;
        if attempt >= MAX_ATTEMPTS {
            break Err(error);
        }
        let backoff = Duration::from_millis(500 * (1u64 << attempt.min(6)));
        let backoff = backoff.mul_f64(rand::rng().random_range(0.5..=1.0));
        debug!(%error, ?backoff, "REST request failed; retrying");
        tokio::time::sleep(backoff).await;
    };
    RestResponse {
        key: request.key,
        url: request.url,
        result,
    }
}

/// What went wrong with a request, without its URL (reqwest's own message names the
/// whole URL; its sources do not).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return if e.is_connect() {
            format!("connect timed out after {}s", CONNECT_TIMEOUT.as_secs())
        } else {
            format!("timed out after {}s", REQUEST_TIMEOUT.as_secs())
        };
    }
    let mut text = String::from(if e.is_connect() {
        "connect failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        // Wrapping errors often repeat their source's message.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The POST a URL names, for exchanges whose reference data is POSTed with a JSON body
/// (Hyperliquid `POST /info` with `{"type":"meta"}`): the URL without its query, and
/// the query's parameters as a JSON object of strings (keys sorted). So
/// `https://api.hyperliquid.xyz/info?type=meta&dex=xyz` is `POST /info` with
/// `{"dex":"xyz","type":"meta"}`; such a URL names its request uniquely (the instrument
/// cache and `replay` key responses by it). See [`query_of_post_body`].
pub fn post_of_url(url: &str) -> (String, String) {
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return (url.to_string(), "{}".to_string());
    };
    let mut body = serde_json::Map::new();
    for (k, v) in u.query_pairs() {
        body.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
    }
    u.set_query(None);
    u.set_fragment(None);
    (u.to_string(), serde_json::Value::Object(body).to_string())
}

/// The query a POST body stands for (the inverse of [`post_of_url`]): the scalar
/// fields of a JSON object as `key=value` pairs, keys sorted; `None` for a
/// body that is not a JSON object of scalars, and for `{}`.
pub fn query_of_post_body(body: &str) -> Option<String> {
    let serde_json::Value::Object(fields) = serde_json::from_str(body).ok()? else {
        return None;
    };
    if fields.is_empty() {
        return None;
    }
    let mut u = reqwest::Url::parse("http://post.invalid/").ok()?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in &fields {
            match v {
                serde_json::Value::String(s) => q.append_pair(k, s),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                    q.append_pair(k, &v.to_string())
                }
                _ => return None,
            };
        }
    }
    u.query().map(str::to_string)
}

/// The path of a URL (`/api/v3/depth`): what error texts and `status` records may
/// name of it. Scheme, host, credentials, query and fragment are left out.
pub fn url_path(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => u.path().to_string(),
        Err(_) => "(unparsable URL)".to_string(),
    }
}

/// A URL for logs: scheme, host, port and path; never credentials or the query.
pub fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(port) => format!("{}://{host}:{port}{}", u.scheme(), u.path()),
                None => format!("{}://{host}{}", u.scheme(), u.path()),
            }
        }
        Err(_) => "(unparsable URL)".to_string(),
    }
}

/// The first characters of a body, for error messages.
fn preview(text: &str) -> &str {
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_post_and_a_post_body_its_query() {
        let (target, body) = post_of_url("https://api.hyperliquid.xyz/info?type=meta&dex=xyz");
        assert_eq!(target, "https://api.hyperliquid.xyz/info");
        assert_eq!(body, r#"{"dex":"xyz","type":"meta"}"#);
        assert_eq!(
            query_of_post_body(&body).as_deref(),
            Some("dex=xyz&type=meta")
        );
        assert_eq!(
            post_of_url("http://127.0.0.1:9/info"),
            ("http://127.0.0.1:9/info".to_string(), "{}".to_string())
        );
        // KuCoin's `{}`, non-objects and nested values stand for no query.
        assert_eq!(query_of_post_body("{}"), None);
        assert_eq!(query_of_post_body("[1]"), None);
        assert_eq!(query_of_post_body(r#"{"a":{"b":1}}"#), None);
        assert_eq!(
            query_of_post_body(r#"{"type":"l2Book","nSigFigs":5}"#).as_deref(),
            Some("nSigFigs=5&type=l2Book")
        );
    }

    static SPOT: RateLimit = RateLimit {
        name: "test-spot",
        limit: 6000,
        window: Duration::from_secs(60),
        share_percent: 50,
        used_weight_header: Some("x-mbx-used-weight-1m"),
    };

    /// Simulates `n` requests of `weight` all wanting to go at t0, served in order
    /// as soon as the bucket allows; returns their send times (ms after t0).
    fn storm(limit: &RateLimit, n: usize, weight: u32) -> Vec<u64> {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(limit, t0);
        let mut now = t0;
        let mut sent = Vec::new();
        while sent.len() < n {
            match bucket.try_take(now, weight) {
                Ok(()) => sent.push((now - t0).as_millis() as u64),
                Err(wait) => now += wait,
            }
        }
        sent
    }

    fn max_in_any_window(sent: &[u64], weight: u32, window_ms: u64) -> u32 {
        let mut max = 0;
        for (i, start) in sent.iter().enumerate() {
            let n = sent[i..]
                .iter()
                .take_while(|t| **t < start + window_ms)
                .count();
            max = max.max(n as u32 * weight);
        }
        max
    }

    #[test]
    fn a_resync_storm_stays_within_the_budget_in_every_window() {
        // 500 symbols resyncing at once with limit=1000 snapshots (weight 50).
        let sent = storm(&SPOT, 500, 50);
        assert_eq!(SPOT.budget(), 3000);
        // The burst lets the first quarter of the budget go at once...
        assert_eq!(sent.iter().filter(|t| **t == 0).count(), 15);
        // ...and no 60 s window ever carries more than the budget.
        let max = max_in_any_window(&sent, 50, 60_000);
        assert!(max <= 3000, "{max}");
        // Every request is served: 25000 weight, 750 at once, then 2250/min (646.7 s).
        let last = *sent.last().unwrap();
        assert!((646_000..=647_000).contains(&last), "{last}");
    }

    #[test]
    fn heavier_than_burst_requests_still_go_and_are_paid_for() {
        let sent = storm(&SPOT, 4, 5000);
        assert_eq!(sent[0], 0);
        assert!(sent[1] > 60_000, "{sent:?}");
        assert!(max_in_any_window(&sent, 5000, 60_000) <= 6000);
    }

    #[test]
    fn used_weight_header_lowers_the_tokens() {
        let t0 = Instant::now();
        let mut b = Bucket::new(&SPOT, t0);
        assert_eq!(b.tokens(t0), 750.0);
        // Other clients on the IP used almost everything: 5350 of 6000 (90% = 5400).
        b.observe_used(t0, 5350);
        assert_eq!(b.tokens(t0), 50.0);
        assert!(b.try_take(t0, 50).is_ok());
        let wait = b.try_take(t0, 50).unwrap_err();
        // 50 tokens at 2250/60 s per second = 1.33 s.
        assert!(
            wait > Duration::from_millis(1300) && wait < Duration::from_millis(1400),
            "{wait:?}"
        );
        // Over the limit: the bucket goes negative and waits longer.
        b.observe_used(t0, 6000);
        assert!(b.try_take(t0, 5).unwrap_err() > Duration::from_secs(9));
        // A low reading never adds tokens.
        let before = b.tokens(t0);
        b.observe_used(t0, 0);
        assert_eq!(b.tokens(t0), before);
    }

    #[test]
    fn retry_after_blocks_every_request_of_the_limit() {
        let t0 = Instant::now();
        let mut b = Bucket::new(&SPOT, t0);
        b.block_for(t0, Duration::from_secs(30));
        assert_eq!(b.try_take(t0, 1), Err(Duration::from_secs(30)));
        let t10 = t0 + Duration::from_secs(10);
        assert_eq!(b.try_take(t10, 1), Err(Duration::from_secs(20)));
        // A shorter second block does not shorten the first.
        b.block_for(t10, Duration::from_secs(1));
        assert_eq!(b.try_take(t10, 1), Err(Duration::from_secs(20)));
        // After the block the bucket refills from empty.
        let t30 = t0 + Duration::from_secs(30);
        assert!(b.try_take(t30, 1).is_err());
        let t31 = t30 + Duration::from_secs(1);
        assert!(b.try_take(t31, 30).is_ok());
    }

    static ASYNC: RateLimit = RateLimit {
        name: "test-async",
        limit: 400,
        window: Duration::from_secs(60),
        share_percent: 50,
        used_weight_header: None,
    };

    #[tokio::test(start_paused = true)]
    async fn concurrent_acquires_are_served_in_order_within_the_budget() {
        let limiter = Limiter::shared(&ASYNC);
        assert!(Arc::ptr_eq(&limiter, &Limiter::shared(&ASYNC)));
        let t0 = Instant::now();
        let mut set = JoinSet::new();
        for i in 0..40u64 {
            let limiter = limiter.clone();
            set.spawn(async move {
                // Stagger arrival so the FIFO order is defined.
                tokio::time::sleep(Duration::from_millis(i)).await;
                limiter.acquire(10).await;
                (i, (Instant::now() - t0).as_millis() as u64)
            });
        }
        let mut done = Vec::new();
        while let Some(r) = set.join_next().await {
            done.push(r.unwrap());
        }
        done.sort_by_key(|(_, t)| *t);
        let order: Vec<u64> = done.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, (0..40).collect::<Vec<_>>());
        let times: Vec<u64> = done.iter().map(|(_, t)| *t).collect();
        // Budget 200/min: burst 50 (5 requests), then 150/min = one per 4 s.
        assert!(max_in_any_window(&times, 10, 60_000) <= 200, "{times:?}");
        assert!(times[39] >= 138_000, "{times:?}");
    }

    /// A one-shot HTTP server answering each connection with the next canned response.
    async fn serve(responses: Vec<String>) -> (String, tokio::task::JoinHandle<usize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut served = 0;
            for response in responses {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                s.write_all(response.as_bytes()).await.unwrap();
                s.shutdown().await.unwrap();
                served += 1;
            }
            served
        });
        (format!("http://{addr}"), handle)
    }

    fn http(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
            body.len()
        )
    }

    static FETCH: RateLimit = RateLimit {
        name: "test-fetch",
        limit: 6000,
        window: Duration::from_secs(60),
        share_percent: 50,
        used_weight_header: Some("x-mbx-used-weight-1m"),
    };

    #[tokio::test]
    async fn fetcher_hands_a_rate_limit_back_and_the_next_request_waits_it_out() {
        let (base, server) = serve(vec![
            http("429 Too Many Requests", "retry-after: 1\r\n", "{}"),
            http(
                "200 OK",
                "x-mbx-used-weight-1m: 5380\r\n",
                r#"{"lastUpdateId":1}"#,
            ),
        ])
        .await;
        let mut fetcher = RestFetcher::new();
        let started = std::time::Instant::now();
        let request = RestRequest {
            key: "BTCUSDT".into(),
            url: format!("{base}/api/v3/depth?symbol=BTCUSDT&limit=1000"),
            weight: 50,
            limit: &FETCH,
            delay: Duration::ZERO,
        };
        fetcher.start(vec![request.clone()]);
        // The 429 is handed back at once (the parser announces it)...
        let r = fetcher.next().await;
        assert_eq!(r.key, "BTCUSDT");
        let err = r.result.unwrap_err();
        assert_eq!(
            err,
            "GET /api/v3/depth: rate limited (HTTP 429 Too Many Requests); every request of test-fetch paused for 1s"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(fetcher.failures("BTCUSDT"), 1);
        // ...and the next request of the limit waits the pause out.
        fetcher.start(vec![request]);
        let r = fetcher.next().await;
        assert_eq!(r.result.as_deref(), Ok(r#"{"lastUpdateId":1}"#));
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(fetcher.failures("BTCUSDT"), 0);
        assert_eq!(server.await.unwrap(), 2);
        // 5400 - 5380 = 20 tokens left for this IP.
        let tokens = Limiter::shared(&FETCH).bucket().tokens(Instant::now());
        assert!(tokens <= 21.0, "{tokens}");
        fetcher.shutdown().await;
        assert_eq!(fetcher.in_flight(), 0);
    }

    #[test]
    fn error_texts_name_the_path_never_host_credentials_or_query() {
        let url =
            "https://user:secret@proxy.example:8443/binance/api/v3/depth?symbol=BTCUSDT&token=t";
        assert_eq!(url_path(url), "/binance/api/v3/depth");
        assert_eq!(
            redacted(url),
            "https://proxy.example:8443/binance/api/v3/depth"
        );
        assert_eq!(
            redacted("https://api.binance.com/api/v3/depth?symbol=X"),
            "https://api.binance.com/api/v3/depth"
        );
        assert_eq!(url_path("not a url"), "(unparsable URL)");
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_handed_back_without_the_url() {
        // A port nothing listens on (bound, then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut fetcher = RestFetcher::new();
        fetcher.start(vec![RestRequest {
            key: "ETHUSDT".into(),
            url: format!("http://127.0.0.1:{port}/fapi/v1/depth?symbol=ETHUSDT&limit=1000"),
            weight: 1,
            limit: &FETCH,
            delay: Duration::ZERO,
        }]);
        let err = fetcher.next().await.result.unwrap_err();
        assert!(
            err.starts_with("GET /fapi/v1/depth: connect failed"),
            "{err}"
        );
        assert!(
            !err.contains("127.0.0.1") && !err.contains("symbol="),
            "{err}"
        );
        assert_eq!(fetcher.failures("ETHUSDT"), 1);
    }

    #[tokio::test]
    async fn fetcher_hands_client_errors_back_without_retrying() {
        let (base, server) = serve(vec![http(
            "400 Bad Request",
            "",
            r#"{"code":-1121,"msg":"Invalid symbol."}"#,
        )])
        .await;
        let mut fetcher = RestFetcher::new();
        fetcher.start(vec![RestRequest {
            key: "NOPE".into(),
            url: format!("{base}/api/v3/depth?symbol=NOPE"),
            weight: 5,
            limit: &FETCH,
            delay: Duration::ZERO,
        }]);
        let r = fetcher.next().await;
        let err = r.result.unwrap_err();
        assert_eq!(
            err,
            r#"GET /api/v3/depth: HTTP 400 Bad Request: {"code":-1121,"msg":"Invalid symbol."}"#
        );
        assert_eq!(server.await.unwrap(), 1);
    }
}

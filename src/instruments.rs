//! Each source's instrument list, as the exchange publishes it: fetched from its REST
//! reference endpoint at start (bounded by `[instruments] timeout`), kept on disk, and
//! used to resolve the source's symbols before anything connects.
//!
//! - A cached list younger than `cache_ttl` is used without a fetch.
//! - Otherwise the list is fetched; a fetched list replaces the cache.
//! - An exchange that cannot be reached is said once, and the cache is used whatever
//!   its age; with no cache the bridge refuses to start, unless `on_unavailable =
//!   "unverified"` lets it run on the symbols as written.
//!
//! The cache keeps the exchange's response bodies as received (one file per exchange,
//! market and REST base URL), so a newer parser reads an older cache the same way.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tickbridge_connectors::envelope;
use tickbridge_connectors::instruments::{InstrumentList, Listed};
use tickbridge_connectors::Connector;
use tickbridge_schema::{Data, InstrumentStatus, Market, Record, Status, StatusEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{Config, InstrumentsConfig, OnUnavailable};

/// Why a source cannot start.
#[derive(Debug, thiserror::Error)]
pub enum InstrumentsError {
    #[error("source[{index}] ({exchange} {market}): the instrument list cannot be fetched ({why}) and no cached copy exists; check the network or rest_url, or set [instruments] on_unavailable = \"unverified\" to run on unverified symbols")]
    Unavailable {
        index: usize,
        exchange: &'static str,
        market: &'static str,
        why: String,
    },
    #[error(
        "source[{index}] ({exchange} {market}): the instrument list from {url} is unusable: {why}"
    )]
    Unusable {
        index: usize,
        exchange: &'static str,
        market: &'static str,
        url: String,
        why: String,
    },
}

/// Where a source's list came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Fetched,
    /// The disk cache, this old.
    Cache(Duration),
}

/// One source's instruments.
#[derive(Debug, Clone)]
pub enum SourceInstruments {
    Listed {
        list: InstrumentList,
        origin: Origin,
        /// The exchange's responses the list was parsed from (`record` keeps them).
        responses: Responses,
    },
    /// The connector reads no instrument list: symbols are taken as written.
    NotListed,
    /// No list could be had and `on_unavailable = "unverified"`.
    Unverified(String),
}

impl SourceInstruments {
    pub fn list(&self) -> Option<&InstrumentList> {
        match self {
            SourceInstruments::Listed { list, .. } => Some(list),
            _ => None,
        }
    }

    /// One line for `validate` and the startup log.
    pub fn describe(&self) -> String {
        match self {
            SourceInstruments::Listed { list, origin, .. } => match origin {
                Origin::Fetched => format!("{} instruments listed by the exchange", list.len()),
                Origin::Cache(age) => format!(
                    "{} instruments from the cache ({} old)",
                    list.len(),
                    humantime::format_duration(Duration::from_secs(age.as_secs()))
                ),
            },
            SourceInstruments::NotListed => {
                "symbols as written (this connector reads no instrument list)".into()
            }
            SourceInstruments::Unverified(why) => format!("UNVERIFIED symbols: {why}"),
        }
    }
}

/// Whether `cached` holds the answers to exactly the requests `urls` and the
/// follow-ups its own responses name ([`Connector::instrument_followups`]).
fn same_requests(
    connector: &'static dyn Connector,
    market: Market,
    rest_url: &str,
    cached: &Responses,
    urls: &[String],
) -> bool {
    let mut have: Vec<&str> = cached.responses.iter().map(|r| r.url.as_str()).collect();
    let followups: Vec<String> = cached
        .responses
        .iter()
        .flat_map(|r| connector.instrument_followups(market, rest_url, &r.url, &r.body))
        .collect();
    let mut want: Vec<&str> = urls.iter().chain(&followups).map(String::as_str).collect();
    have.sort_unstable();
    want.sort_unstable();
    want.dedup();
    have == want
}

/// The responses a list was parsed from, as cached on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Responses {
    pub fetched_at_ns: i64,
    pub responses: Vec<Response>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub url: String,
    pub body: String,
}

/// Loads the instruments of every source of `config` (in order).
pub async fn load_all(config: &Config) -> Result<Vec<SourceInstruments>, InstrumentsError> {
    let mut out = Vec::new();
    for (index, source) in config.sources.iter().enumerate() {
        let Some((connector, market, rest_url)) = source.endpoint() else {
            // An unknown exchange or market: `Config::resolve` names it.
            out.push(SourceInstruments::NotListed);
            continue;
        };
        out.push(
            load(
                index,
                connector,
                market,
                &rest_url,
                &source.symbols,
                &config.instruments,
            )
            .await?,
        );
    }
    Ok(out)
}

/// Loads one source's instruments (see the module docs); `symbols` as the source
/// names them (they choose the requests of an exchange listed per symbol).
pub async fn load(
    index: usize,
    connector: &'static dyn Connector,
    market: Market,
    rest_url: &str,
    symbols: &[String],
    config: &InstrumentsConfig,
) -> Result<SourceInstruments, InstrumentsError> {
    let urls = connector.instrument_urls_for(market, rest_url, symbols);
    if urls.is_empty() {
        return Ok(SourceInstruments::NotListed);
    }
    let exchange = connector.name();
    let cache = cache_file(config, exchange, market, rest_url);
    // A cache answers only the same requests (a per-symbol list of other symbols, or
    // a list an older version fetched from other URLs, is not this list).
    let cached = cache
        .as_deref()
        .and_then(read_cache)
        .filter(|c| same_requests(connector, market, rest_url, c, &urls));
    let now = tickbridge_connectors::time::now_ns();
    let age =
        |r: &Responses| Duration::from_nanos(now.saturating_sub(r.fetched_at_ns).max(0) as u64);
    let parse = |r: &Responses| parse(index, connector, market, r);
    if let Some(c) = cached.as_ref().filter(|c| age(c) < config.cache_ttl) {
        if let Ok(list) = parse(c) {
            return Ok(SourceInstruments::Listed {
                list,
                origin: Origin::Cache(age(c)),
                responses: c.clone(),
            });
        }
    }
    match fetch(connector, market, rest_url, &urls, config.timeout).await {
        Ok(fetched) => {
            let list = parse(&fetched)?;
            if let Some(path) = &cache {
                if let Err(e) = write_cache(path, &fetched) {
                    warn!(exchange, path = %path.display(), error = %e, "cannot write the instrument cache");
                }
            }
            info!(
                exchange,
                market = market.as_str(),
                instruments = list.len(),
                "instrument list fetched"
            );
            Ok(SourceInstruments::Listed {
                list,
                origin: Origin::Fetched,
                responses: fetched,
            })
        }
        Err(why) => match cached {
            Some(c) => {
                warn!(exchange, market = market.as_str(), reason = %why, age = ?age(&c), "the instrument list cannot be fetched; using the cached one");
                Ok(SourceInstruments::Listed {
                    list: parse(&c)?,
                    origin: Origin::Cache(age(&c)),
                    responses: c,
                })
            }
            None if config.on_unavailable == OnUnavailable::Unverified => {
                warn!(exchange, market = market.as_str(), reason = %why, "the instrument list cannot be fetched and none is cached; running on UNVERIFIED symbols (on_unavailable = \"unverified\")");
                Ok(SourceInstruments::Unverified(why))
            }
            None => Err(InstrumentsError::Unavailable {
                index,
                exchange,
                market: market.as_str(),
                why,
            }),
        },
    }
}

/// Parses every response of a list into one [`InstrumentList`].
pub fn parse(
    index: usize,
    connector: &'static dyn Connector,
    market: Market,
    responses: &Responses,
) -> Result<InstrumentList, InstrumentsError> {
    let unusable = |url: &str, why: String| InstrumentsError::Unusable {
        index,
        exchange: connector.name(),
        market: market.as_str(),
        url: url.to_string(),
        why,
    };
    let bodies: Vec<(&str, &str)> = responses
        .responses
        .iter()
        .map(|r| (r.url.as_str(), r.body.as_str()))
        .collect();
    let items = connector
        .parse_instrument_list(market, &bodies)
        .map_err(|(i, e)| unusable(bodies.get(i).map_or("", |b| b.0), e.to_string()))?;
    let url = responses
        .responses
        .first()
        .map(|r| r.url.clone())
        .unwrap_or_default();
    if items.is_empty() {
        return Err(unusable(&url, "it lists no instrument".into()));
    }
    InstrumentList::new(items).map_err(|why| unusable(&url, why))
}

/// Fetches every URL within `timeout` each (GETs, or the POSTs they name where the
/// connector lists instruments by POST), then the follow-ups each response names, in
/// order; the first failure is the answer.
pub async fn fetch(
    connector: &'static dyn Connector,
    market: Market,
    rest_url: &str,
    urls: &[String],
    timeout: Duration,
) -> Result<Responses, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("tickbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let mut responses: Vec<Response> = Vec::new();
    let mut queue: std::collections::VecDeque<String> = urls.iter().cloned().collect();
    let by_post = connector.instruments_by_post();
    let verb = if by_post { "POST" } else { "GET" };
    // A bound on follow-ups: a list that names ever more requests is unusable.
    const MAX_FOLLOWUPS: usize = 64;
    let max_requests = urls.len() + MAX_FOLLOWUPS;
    while let Some(url) = queue.pop_front() {
        if responses.iter().any(|r| r.url == url) {
            continue;
        }
        if responses.len() >= max_requests {
            return Err(format!(
                "the instrument list names more than {MAX_FOLLOWUPS} further requests"
            ));
        }
        let shown = without_query_secrets(&url);
        let request = if by_post {
            let (target, body) = tickbridge_connectors::rest::post_of_url(&url);
            client
                .post(target)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
        } else {
            client.get(&url)
        };
        let response = request
            .send()
            .await
            .map_err(|e| format!("{verb} {shown}: {}", error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{verb} {shown}: HTTP {status}"));
        }
        let body = response
            .text()
            .await
            .map_err(|e| format!("{verb} {shown}: reading the body: {e}"))?;
        queue.extend(connector.instrument_followups(market, rest_url, &url, &body));
        responses.push(Response { url, body });
    }
    Ok(Responses {
        fetched_at_ns: tickbridge_connectors::time::now_ns(),
        responses,
    })
}

/// An error and its causes on one line (reqwest's own message hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A URL as it may be shown: reference endpoints carry no secrets, but a user's
/// `rest_url` might hold credentials (`https://user:pass@host`).
fn without_query_secrets(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// The cache file of one list, if a cache directory can be found.
pub fn cache_file(
    config: &InstrumentsConfig,
    exchange: &str,
    market: Market,
    rest_url: &str,
) -> Option<PathBuf> {
    let dir = match &config.cache_dir {
        Some(d) => d.clone(),
        None => default_cache_dir()?,
    };
    let host: String = url::Url::parse(rest_url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| {
                format!(
                    "{h}{}",
                    u.port().map(|p| format!("_{p}")).unwrap_or_default()
                )
            })
        })
        .unwrap_or_else(|| "rest".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = tickbridge_connectors::checksum::fnv1a(rest_url);
    Some(dir.join(format!(
        "{exchange}.{}.{host}.{hash:016x}.json",
        market.as_str()
    )))
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("tickbridge").join("instruments"))
}

fn read_cache(path: &Path) -> Option<Responses> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the cache atomically (a temporary file renamed over the old one).
fn write_cache(path: &Path, responses: &Responses) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(responses)?)?;
    std::fs::rename(&tmp, path)
}

/// What the instrument watch of one source needs.
pub struct Watch {
    pub connector: &'static dyn Connector,
    pub market: Market,
    pub rest_url: String,
    pub config: InstrumentsConfig,
    /// The subscribed instruments, as resolved at start.
    pub subscribed: Vec<Listed>,
}

/// Publishes one `instrument` record per subscribed instrument (and a `status` for
/// one that does not trade), then refetches the list every `refresh` until `stop`:
/// a changed instrument is published again, one that stops trading or disappears
/// from the list is announced (`status halted` / `delisted`). Ends when the queue
/// closes.
pub async fn publish_and_watch(
    mut watch: Watch,
    out: mpsc::Sender<Record>,
    stop: CancellationToken,
) {
    let exchange = watch.connector.name();
    let now = tickbridge_connectors::time::now_ns();
    for listed in &watch.subscribed {
        for r in records_of(exchange, listed, None, now) {
            if out.send(r).await.is_err() {
                return;
            }
        }
    }
    if watch.config.refresh.is_zero() || watch.subscribed.is_empty() {
        return;
    }
    let natives: Vec<String> = watch
        .subscribed
        .iter()
        .map(|l| l.symbol.native.to_string())
        .collect();
    let urls = watch
        .connector
        .instrument_urls_for(watch.market, &watch.rest_url, &natives);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(watch.config.refresh) => {}
        }
        let fetched = match fetch(
            watch.connector,
            watch.market,
            &watch.rest_url,
            &urls,
            watch.config.timeout,
        )
        .await
        {
            Ok(f) => f,
            Err(why) => {
                if !std::mem::replace(&mut failing, true) {
                    warn!(exchange, market = watch.market.as_str(), reason = %why, "instrument list refresh failed; keeping the last one (retried every refresh)");
                }
                continue;
            }
        };
        let list = match parse(0, watch.connector, watch.market, &fetched) {
            Ok(l) => l,
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    warn!(exchange, error = %e, "instrument list refresh unusable; keeping the last one");
                }
                continue;
            }
        };
        if std::mem::take(&mut failing) {
            info!(
                exchange,
                market = watch.market.as_str(),
                "instrument list refresh works again"
            );
        }
        if let Some(path) = cache_file(&watch.config, exchange, watch.market, &watch.rest_url) {
            let _ = write_cache(&path, &fetched);
        }
        let now = tickbridge_connectors::time::now_ns();
        for old in &mut watch.subscribed {
            let records = match list.get(&old.symbol.native) {
                Some(new) if new.spec != old.spec => {
                    let r = records_of(exchange, new, Some(old), now);
                    *old = Listed {
                        symbol: old.symbol.clone(),
                        spec: new.spec.clone(),
                    };
                    r
                }
                Some(_) => Vec::new(),
                None if old.spec.status != InstrumentStatus::Delisted => {
                    old.spec.status = InstrumentStatus::Delisted;
                    vec![status_record(
                        exchange,
                        old,
                        StatusEvent::Delisted,
                        "the exchange no longer lists the instrument",
                        now,
                    )]
                }
                None => Vec::new(),
            };
            for r in records {
                if out.send(r).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The `instrument` record of `listed` (its id is a hash of the reference data, so
/// the same data always has the same id), and a `status` when it stopped trading
/// (compared with `before`, or at start when it does not trade).
fn records_of(
    exchange: &'static str,
    listed: &Listed,
    before: Option<&Listed>,
    ts: i64,
) -> Vec<Record> {
    let spec = Data::Instrument(Box::new(listed.spec.clone()));
    let hash = tickbridge_connectors::checksum::fnv1a(
        &serde_json::to_string(&listed.spec).unwrap_or_default(),
    );
    let mut out = vec![envelope::record(
        exchange,
        &listed.symbol,
        (None, ts),
        None,
        format_args!("{hash:016x}"),
        spec,
    )];
    let was = before.map(|b| b.spec.status);
    let event = match listed.spec.status {
        InstrumentStatus::Trading => None,
        InstrumentStatus::Halted => Some(StatusEvent::Halted),
        InstrumentStatus::Delisted => Some(StatusEvent::Delisted),
    };
    if let Some(event) = event.filter(|_| was != Some(listed.spec.status)) {
        let why = format!(
            "the exchange lists the instrument as {}",
            listed.spec.status.as_str()
        );
        out.push(status_record(exchange, listed, event, &why, ts));
    }
    out
}

fn status_record(
    exchange: &'static str,
    listed: &Listed,
    event: StatusEvent,
    reason: &str,
    ts: i64,
) -> Record {
    let status = Status {
        event,
        channel: None,
        reason: Some(reason.to_string()),
        expected: None,
        got: None,
    };
    envelope::record(
        exchange,
        &listed.symbol,
        (None, ts),
        None,
        format_args!("{}.{ts}", event.as_str()),
        Data::Status(status),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_are_named_by_exchange_market_and_endpoint() {
        let config = InstrumentsConfig {
            cache_dir: Some("/c".into()),
            ..InstrumentsConfig::default()
        };
        let a = cache_file(&config, "binance", Market::Spot, "https://api.binance.com").unwrap();
        let b = cache_file(&config, "binance", Market::Spot, "http://127.0.0.1:9443").unwrap();
        assert!(
            a.to_string_lossy()
                .starts_with("/c/binance.spot.api.binance.com."),
            "{a:?}"
        );
        assert!(
            b.to_string_lossy()
                .starts_with("/c/binance.spot.127.0.0.1_9443."),
            "{b:?}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn credentials_in_a_rest_url_are_not_shown() {
        assert_eq!(
            without_query_secrets("https://user:s3cret@host.example/api?x=1"),
            "https://host.example/api?x=1"
        );
    }

    #[test]
    fn a_cache_answers_the_requests_and_the_follow_ups_its_responses_name() {
        let hl = tickbridge_connectors::connector("hyperliquid").unwrap();
        let rest = "https://api.hyperliquid.xyz";
        let urls = hl.instrument_urls(Market::Perp, rest);
        let response = |url: &str, body: &str| Response {
            url: url.to_string(),
            body: body.to_string(),
        };
        let dexes = r#"[null,{"name":"xyz","fullName":"XYZ"}]"#;
        let mut cached = Responses {
            fetched_at_ns: 0,
            responses: vec![
                response(&urls[0], "{}"),
                response(&urls[1], "{}"),
                response(&urls[2], dexes),
                response(&format!("{rest}/info?type=meta&dex=xyz"), "{}"),
            ],
        };
        assert!(same_requests(hl, Market::Perp, rest, &cached, &urls));
        // Without the follow-up the cache is not this list.
        cached.responses.pop();
        assert!(!same_requests(hl, Market::Perp, rest, &cached, &urls));
    }

    #[test]
    fn the_cache_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/y.json");
        let r = Responses {
            fetched_at_ns: 7,
            responses: vec![Response {
                url: "u".into(),
                body: "{\"b\":1}".into(),
            }],
        };
        write_cache(&path, &r).unwrap();
        let back = read_cache(&path).unwrap();
        assert_eq!(
            (back.fetched_at_ns, back.responses[0].body.as_str()),
            (7, "{\"b\":1}")
        );
    }
}

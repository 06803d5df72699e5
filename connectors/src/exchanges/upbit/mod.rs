//! Upbit WebSocket quotation API (`upbit`, spot): `trade` → `trade` (taker side from
//! `ask_bid`: `ASK` = the taker sold, `BID` = the taker bought), `orderbook` (the
//! whole book, up to 30 level pairs, every message) → `book` (each message published
//! as a snapshot) and `bbo` (its best level pair), `ticker` → `ticker` (last price and
//! the rolling 24 h base and quote volumes; Upbit's open/high/low are of the UTC day,
//! not 24 h, and are left out).
//!
//! Symbols: Upbit's market code names the **quote first**: native `KRW-BTC` is
//! normalized `BTC-KRW` (and `BTC-ETH` → `ETH-BTC`, `USDT-XRP` → `XRP-USDT`). A user
//! symbol `A-B` is read by which side is an Upbit quote currency (KRW, SGD, IDR, THB
//! rank above USDT, above BTC): `BTC-KRW` and `KRW-BTC` both name the KRW market of
//! BTC; `BTC/KRW` is always BASE/QUOTE. With the instrument list loaded, names are
//! looked up in it first.
//!
//! Documents followed (docs.upbit.com, the Korean originals, versioned pages up to
//! v1.6.4 of 2026; consulted 2026-12-02): "WebSocket 사용 및 에러 안내" (endpoint
//! `wss://api.upbit.com/websocket/v1`, the request `[{ticket},{type,codes,..},..,
//! {format}]`, the error frame `{"error":{"name":..,"message":..}}` with `WRONG_FORMAT`,
//! `NO_TICKET`, `NO_TYPE`, `NO_CODES`, `INVALID_PARAM`), "호가 (Orderbook)" (`codes`
//! entries `KRW-BTC.{1|5|15|30}` choose the level pairs, 30 by default, since the
//! change of 2025-07-02; `level` groups KRW books, not used), "체결 (Trade)",
//! "현재가 (Ticker)", "연결 관리" (idle timeout ~120 s; WebSocket protocol pings, or a
//! `PING` text answered by `{"status":"UP"}`), "요청 수 제한 (Rate Limits)" (updated
//! 2026-10-07).
//!
//! Request: one per connection, naming every type: `[{"ticket":"tickbridge-1"},
//! {"type":"trade","codes":[..]},{"type":"orderbook","codes":[..]},{"type":"ticker",
//! "codes":[..]},{"format":"DEFAULT"}]`. Snapshots are not turned off
//! (`is_only_realtime` is left out): the orderbook and ticker snapshot arrives at
//! once, and the trade snapshot is the last trade (same id as when it streamed). A
//! later request on a connection replaces its subscriptions, so a request is never
//! split or resent on the same connection.
//!
//! Acknowledgement: Upbit sends none. The first data frame confirms the connection's
//! request; an error frame before any data refuses it as a whole (Upbit names no
//! code); an unknown code is simply never answered, and a connection whose codes
//! are all unknown is reported when the subscription deadline passes.
//!
//! Book integrity: every message is a full book, so nothing can be missed between
//! them; a message older (`timestamp`) than the last one published, or a crossed
//! book, is a `status gap` of that pair, and the pair's next message (a full book)
//! resyncs it (`status resynced` + snapshot). Other pairs are not touched.
//!
//! Heartbeat: protocol pings every 30 s (the server closes a connection silent for
//! ~120 s); `{"status":"UP"}` (the answer to a `PING` text) is a heartbeat.
//!
//! Limits ("요청 수 제한"): WebSocket connection requests 5 per second per IP, data
//! requests 5 per second and 100 per minute per connection; requests carrying an
//! `Origin` header 1 per 10 s (tickbridge sends none). No cap on codes per request is
//! documented: the planner keeps [`MAX_CODES_PER_CONNECTION`] pairs per connection.
//! Not verified: the stored copies of the rate-limit page end before its table of
//! groups, so these WebSocket numbers (Upbit's long-standing `websocket-connect` and
//! `websocket-message` groups) could not be read from its current version; the
//! measuring units (connection requests per IP, data requests per connection) were.
//!
//! The recording `cryptofeed/upbit` (2021-04-17) used the same host and protocol, but
//! the `SIMPLE` format (abbreviated names, accepted as aliases), `isOnlyRealtime`
//! (the old camel-case name), 15-level books, and text frames where live Upbit now
//! sends binary frames ([`BinaryFrames::Utf8`]). Not verified against a recording: the
//! `DEFAULT` names, 30-level books, `ticker`, error frames and `{"status":"UP"}`
//! (taken from the documents' examples).

mod instruments;
mod parser;
#[cfg(test)]
mod tests;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use crate::contract::connector::{plan_chunks, SPOT_CHANNELS};
use crate::contract::{
    BinaryFrames, Channel, ConnectionPlan, Connector, FrameParser, Heartbeat, Limits, PlanError,
    RateWindow, SourceRequest, SubscribeRequest, Topic,
};
use crate::symbols::SymbolInfo;

pub use parser::UpbitParser;

/// Pairs per connection (Upbit documents no cap).
pub const MAX_CODES_PER_CONNECTION: usize = 100;

/// The WebSocket endpoint of the quotation API.
pub const WS_URL: &str = "wss://api.upbit.com/websocket/v1";

/// The REST base used when a plan names none.
pub const REST_URL: &str = "https://api.upbit.com";

/// The level pairs an `orderbook` subscription can ask for (30 when not named).
const DEPTHS: [usize; 4] = [1, 5, 15, 30];

/// Upbit quote currencies, by rank: of two, the higher is the quote.
fn quote_rank(currency: &str) -> u8 {
    match currency {
        "KRW" | "SGD" | "IDR" | "THB" => 3,
        "USDT" => 2,
        "BTC" => 1,
        _ => 0,
    }
}

/// `KRW-BTC` → (`KRW`, `BTC`): the quote, then the base.
pub fn split_native(native: &str) -> Option<(&str, &str)> {
    let (quote, base) = native.split_once('-')?;
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(quote) && ok(base)).then_some((quote, base))
}

/// The Upbit connector.
pub struct Upbit;

impl Upbit {
    /// A code seen in a frame without a plan naming it (recordings): `KRW-BTC` →
    /// `BTC-KRW`.
    fn fallback_symbol(native: &str) -> SymbolInfo {
        let symbol = match split_native(native) {
            Some((quote, base)) => format!("{base}-{quote}"),
            None => native.to_string(),
        };
        SymbolInfo {
            market: Market::Spot,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    pub fn new_parser(plan: &ConnectionPlan) -> UpbitParser {
        UpbitParser::new(
            plan.channels,
            &plan.symbols,
            &plan.books,
            !plan.requests.is_empty(),
            Self::fallback_symbol,
        )
    }
}

/// The `type` a topic is subscribed under, from its name `type:code`.
fn split_topic(name: &str) -> (&str, &str) {
    name.split_once(':').unwrap_or(("", name))
}

/// One request of every topic: `[{ticket},{type,codes}..,{format}]`, one type field
/// per Upbit type in the order first named, each code once.
fn encode(id: u64, topics: Vec<Topic>) -> SubscribeRequest {
    let mut types: Vec<(&str, Vec<&str>)> = Vec::new();
    for t in &topics {
        let (kind, code) = split_topic(&t.name);
        match types.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, codes)) => {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            None => types.push((kind, vec![code])),
        }
    }
    let mut fields = vec![serde_json::json!({ "ticket": format!("tickbridge-{id}") })];
    for (kind, codes) in types {
        fields.push(serde_json::json!({ "type": kind, "codes": codes }));
    }
    fields.push(serde_json::json!({ "format": "DEFAULT" }));
    SubscribeRequest {
        id,
        text: serde_json::Value::Array(fields).to_string(),
        topics,
        answers: 1,
    }
}

impl Connector for Upbit {
    fn name(&self) -> &'static str {
        "upbit"
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        &[(Market::Spot, SPOT_CHANNELS)]
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        WS_URL
    }

    fn market_of_url(&self, url: &str) -> Option<Market> {
        let host = crate::session::gate::host_of(url);
        let quotation = url
            .split(['?', '#'])
            .next()
            .is_some_and(|u| u.trim_end_matches('/').ends_with("/websocket/v1"));
        // Upbit Korea, and Upbit's Singapore, Indonesia and Thailand exchanges (the
        // same API on their own hosts).
        let upbit = matches!(
            host,
            "api.upbit.com" | "sg-api.upbit.com" | "id-api.upbit.com" | "th-api.upbit.com"
        );
        (upbit && quotation).then_some(Market::Spot)
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        REST_URL
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::bad_symbol("upbit", user, why);
        if market != Market::Spot {
            return Err(bad("Upbit serves spot only"));
        }
        let upper = user.trim().to_ascii_uppercase();
        const EXPECTED: &str = "expected BASE-QUOTE (BTC-KRW) or the market code (KRW-BTC)";
        let (base, quote) =
            if let Some((b, q)) = upper.split_once('/') {
                (b, q)
            } else if let Some((a, b)) = upper.split_once('-') {
                match quote_rank(a).cmp(&quote_rank(b)) {
                    std::cmp::Ordering::Less => (a, b),
                    std::cmp::Ordering::Greater => (b, a),
                    std::cmp::Ordering::Equal => return Err(bad(
                        "neither side is an Upbit quote currency above the other (KRW, USDT, BTC)",
                    )),
                }
            } else {
                return Err(bad(EXPECTED));
            };
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok(base) || !ok(quote) {
            return Err(bad(EXPECTED));
        }
        Ok(SymbolInfo {
            market,
            symbol: format!("{base}-{quote}").into(),
            native: format!("{quote}-{base}").into(),
        })
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        let has = |c| request.channels.contains(&c);
        // The book's level pairs: `snapshot_depth` rounded up to a served count; the
        // bbo alone needs one.
        let depth = if has(Channel::Book) {
            request.books.served_depth(&DEPTHS, 30)
        } else {
            1
        };
        Ok(plan_chunks(
            request,
            MAX_CODES_PER_CONNECTION,
            Duration::from_millis(200),
            |plan, chunk| {
                let mut topics = Vec::new();
                for s in chunk {
                    let code = &s.native;
                    for &c in &request.channels {
                        let name = match c {
                            Channel::Trade => format!("trade:{code}"),
                            Channel::Book | Channel::Bbo if depth == 30 => {
                                format!("orderbook:{code}")
                            }
                            Channel::Book | Channel::Bbo => format!("orderbook:{code}.{depth}"),
                            Channel::Ticker => format!("ticker:{code}"),
                            _ => continue,
                        };
                        topics.push(Topic {
                            native: code.clone(),
                            channel: c,
                            name: name.into(),
                        });
                    }
                }
                // One request per connection; never split (a second request would
                // replace the first).
                plan.encode = None;
                plan.push_request(encode, topics);
            },
        ))
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        Box::new(Self::new_parser(plan))
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            ping_interval: Some(Duration::from_secs(30)),
            idle_timeout: Duration::from_secs(90),
            ..Heartbeat::default()
        }
    }

    fn instrument_urls(&self, market: Market, rest_url: &str) -> Vec<String> {
        instruments::urls(market, rest_url)
    }

    fn parse_instruments(
        &self,
        market: Market,
        _url: &str,
        body: &str,
    ) -> Result<Vec<crate::instruments::Listed>, crate::contract::ParseError> {
        instruments::parse(market, body)
    }

    fn binary_frames(&self) -> BinaryFrames {
        BinaryFrames::Utf8
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams_per_connection: MAX_CODES_PER_CONNECTION * SPOT_CHANNELS.len(),
            connect_attempts: Some(RateWindow::per_secs(5, 1)),
            subscribe_requests: Some(RateWindow::per_secs(100, 60)),
        }
    }
}

//! Aster (asterdex.com): `aster` (perpetual futures, Aster's main product) and
//! `aster-spot`, two more venues of the Binance connector. Aster's market-data APIs
//! are Binance-compatible (the same combined streams, `SUBSCRIBE` requests and
//! replies, frame fields, `exchangeInfo` and `depth` answers, `U`/`u`/`pu` book
//! rules), so nothing is re-implemented: this module holds only what differs — hosts,
//! stream limits, REST paths and budgets, heartbeat — and [`super`] reads it per venue.
//!
//! Documents followed (github.com/asterdex/api-docs, stored copies consulted
//! 2026-12-02; the pages carry no date of their own):
//! - `V1(Legacy)/EN/aster-finance-futures-api.md` ("Websocket Market Streams", "Order
//!   Book", "Exchange Information", "How to manage a local order book correctly") and
//!   `V3(Recommended)/EN/aster-finance-futures-api-v3.md` (the same market data under
//!   `/fapi/v3/...`; V3 changes the signing of private endpoints, not market data:
//!   "Difference between V1 and V3 interfaces.md").
//! - `V1(Legacy)/EN/aster-finance-spot-api.md` and
//!   `V3(Recommended)/EN/aster-finance-spot-api-v3.md` ("WebSocket market data feed",
//!   "Depth information", "How to correctly maintain a local copy of an order book",
//!   "WebSocket connection limits").
//! - ccxt `ts/src/aster.ts` (public REST paths `fapi/v1/exchangeInfo`,
//!   `fapi/v1/depth` on `https://fapi.asterdex.com`).
//!
//! Futures (`aster`, market `perp`): WebSocket `wss://fstream.asterdex.com` (combined
//! streams at `/stream`; no `/public`–`/market` routing split as on Binance USD-M),
//! REST `https://fapi.asterdex.com` with `GET /fapi/v1/exchangeInfo` and
//! `GET /fapi/v1/depth` (limits 5, 10, 20, 50, 100, 500, 1000; weight 2/2/2/2/5/10/20;
//! default 1000 requested, weight 20). REQUEST_WEIGHT 2400 per minute per IP
//! ([`FAPI_LIMIT`]; `X-MBX-USED-WEIGHT-1m` header). The only contract type is
//! `PERPETUAL`; statuses `PENDING_TRADING`, `TRADING`, `PRE_SETTLE`, `SETTLING`, `CLOSE`.
//! Streams: `<s>@aggTrade` (the docs list no `@trade` stream on futures, so the
//! `trade` channel subscribes aggregate trades: record ids `agg<a>`),
//! `<s>@bookTicker`, `<s>@ticker`, `<s>@depth@100ms`, `<s>@markPrice@1s` (mark price
//! and funding), `<s>@forceOrder`. Book: the futures chain — the first diff after the
//! snapshot has `U <= lastUpdateId <= u`, then each `pu` equals the previous `u`.
//! WebSocket limits: at most **200** streams per connection (Binance: 1024), 10
//! incoming messages per second, 24 h connections; the server pings every 5 minutes
//! and closes after 15 minutes without a pong.
//!
//! Spot (`aster-spot`, market `spot`): WebSocket `wss://sstream.asterdex.com`, REST
//! `https://sapi.asterdex.com` with `GET /api/v1/exchangeInfo` and `GET /api/v1/depth`
//! (the V3 document names them `/api/v3/...`; limits and weights as on futures, not
//! Binance spot's 1..5000 with 5/25/50/250; default 1000 requested, weight 20).
//! REQUEST_WEIGHT 1200 per minute per IP ([`SAPI_LIMIT`]: the documented
//! `rateLimitType` example; the example `exchangeInfo` answer shows 6000, the lower
//! figure is kept so the budget is never over-spent). Streams: `<s>@trade`,
//! `<s>@bookTicker` (no event time, as on Binance spot), `<s>@ticker`,
//! `<s>@depth@100ms`. Book: the spot chain — the first diff after the snapshot has
//! `U <= lastUpdateId + 1 <= u`, then each `U` equals the previous `u + 1` (spot diffs
//! also carry a `pu`, which this chain does not use). WebSocket limits: 5 incoming
//! messages per second, at most 200 streams per connection (V3; the V1 page says
//! 1024: the lower is kept), 24 h connections; the server pings every 3 minutes and
//! closes after 10 minutes without a pong.
//!
//! Both: requests are spaced by 300 ms (inside 5 messages/s); the client pings every
//! 20 s (well inside either pong window) and rotates a connection at 23 h 50 min.
//! Aster documents no limit of connection attempts (none is assumed), and no cap of
//! streams per request (requests of at most 200 streams, as on Binance).
//!
//! Symbols: `BTC-USDT-PERP` ⇄ `BTCUSDT` (futures), `ASTER-USDT` ⇄ `ASTERUSDT` (spot);
//! normalized names come from `baseAsset`/`quoteAsset` of `exchangeInfo` and the
//! settle asset from `marginAsset` (USDT, USD1, ... as listed), never from suffixes.
//!
//! Unverified: no recording of Aster traffic exists in the corpus. Every frame shape,
//! limit and rule above is taken from the documents named; the test capture
//! (`tests/captures/aster.jsonl`) is written from their example frames. To be checked
//! live: that `/fapi/v1` and `/api/v1` keep serving market data next to `/fapi/v3`
//! and `/api/v3`; that futures indeed serve no `@trade` stream; spot's real weight
//! budget (1200 vs 6000) and stream cap (200 vs 1024).

use std::time::Duration;

use super::book::{self, BookVenue, Chain};
use crate::rest::RateLimit;

/// Aster futures WebSocket base URL.
pub const FUTURES_WS_URL: &str = "wss://fstream.asterdex.com";
/// Aster futures REST base URL.
pub const FUTURES_REST_URL: &str = "https://fapi.asterdex.com";
/// Aster spot WebSocket base URL.
pub const SPOT_WS_URL: &str = "wss://sstream.asterdex.com";
/// Aster spot REST base URL.
pub const SPOT_REST_URL: &str = "https://sapi.asterdex.com";

/// "A single connection can listen to a maximum of 200 streams" (futures; spot V3).
pub const MAX_STREAMS_PER_CONNECTION: usize = 200;

/// Aster futures REST (`fapi.asterdex.com`): 2400 request weight per minute per IP.
pub static FAPI_LIMIT: RateLimit = RateLimit {
    name: "aster-fapi",
    limit: 2400,
    window: Duration::from_secs(60),
    share_percent: 50,
    used_weight_header: Some("x-mbx-used-weight-1m"),
};

/// Aster spot REST (`sapi.asterdex.com`): 1200 request weight per minute per IP.
pub static SAPI_LIMIT: RateLimit = RateLimit {
    name: "aster-sapi",
    limit: 1200,
    window: Duration::from_secs(60),
    share_percent: 50,
    used_weight_header: Some("x-mbx-used-weight-1m"),
};

/// Futures snapshots: `GET /fapi/v1/depth`, the futures chain, futures limits/weights.
pub static FUTURES_BOOK: BookVenue = BookVenue {
    chain: Chain::Futures,
    path: "/fapi/v1/depth",
    limit: &FAPI_LIMIT,
    weight: book::futures_weight,
    depth: book::futures_depth,
};

/// Spot snapshots: `GET /api/v1/depth`, the spot chain, but the futures-style limits
/// (5..1000) and weights (2/5/10/20) Aster documents for spot.
pub static SPOT_BOOK: BookVenue = BookVenue {
    chain: Chain::Spot,
    path: "/api/v1/depth",
    limit: &SAPI_LIMIT,
    weight: book::futures_weight,
    depth: book::futures_depth,
};

#[cfg(test)]
#[path = "aster_tests.rs"]
mod tests;

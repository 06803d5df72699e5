//! Bitfinex reference data: `GET /v2/conf/pub:list:pair:exchange`, one array of every
//! exchange (spot) trading pair, e.g. `[["AAABBB","AAVE:USD","BTCUSD",..]]`.
//!
//! Document followed: Bitfinex API docs, "General" (docs.bitfinex.com/docs/ws-general,
//! undated; consulted 2026-12-02), which names this list ("For a list of all trading
//! pairs on the platform, look to: https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange")
//! and the symbol rule (trading pairs are prefixed `t`); the recording
//! `cryptofeed/bitfinex` (2021-04-17) fetched the same URL. The list carries names
//! only: no tick or lot size (Bitfinex prices have five significant digits, not a
//! fixed tick) and no status, so every listed pair is `trading`.
//!
//! Mapping: a pair is `BASEQUOTE` with two three-letter codes (`BTCUSD`) or
//! `BASE:QUOTE` when a code is longer (`AAVE:USD`, `TESTBTC:TESTUSD`); native =
//! `t` + the pair (`tBTCUSD`, what channels subscribe and echo); normalized
//! `BASE-QUOTE` with Bitfinex's own currency codes (`UST` is Tether, `BTC-UST`).

use tickbridge_schema::Market;

use super::wire::PairList;
use crate::contract::ParseError;
use crate::instruments::{pair, Listed};

/// The pair list under `rest_url`, for the spot market.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!(
            "{}/v2/conf/pub:list:pair:exchange",
            rest_url.trim_end_matches('/')
        )],
        _ => Vec::new(),
    }
}

/// Base and quote of a pair as Bitfinex writes it (`BTCUSD`, `AAVE:USD`).
pub fn split_pair(pair: &str) -> Option<(&str, &str)> {
    let (base, quote) = match pair.split_once(':') {
        Some((b, q)) => (b, q),
        None if pair.len() == 6 && pair.is_ascii() => pair.split_at(3),
        None => return None,
    };
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (ok(base) && ok(quote)).then_some((base, quote))
}

/// The spot pairs of one `pub:list:pair:exchange` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let lists: PairList = serde_json::from_str(body)?;
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    let pairs = lists.into_iter().next().unwrap_or_default();
    pairs
        .iter()
        .map(|p| {
            let (base, quote) = split_pair(p).ok_or_else(|| ParseError::Invalid {
                context: "bitfinex pair",
                detail: format!("{p:?} is neither BASEQUOTE (3+3 letters) nor BASE:QUOTE"),
            })?;
            Ok(Listed::new(
                Market::Spot,
                &format!("t{p}"),
                pair(base, quote, None),
            ))
        })
        .collect()
}

//! dYdX v4 reference data: the indexer's `GET /v4/perpetualMarkets`,
//! `{"markets":{"BTC-USD":{..},..}}` with every perpetual market by ticker.
//!
//! Document followed: dYdX docs "Get Perpetual Markets" (docs.dydx.xyz
//! `indexer-client/http/markets/get_perpetual_markets`, and the indexer's
//! `websocket-documentation.md` whose `v4_markets` snapshot is this response;
//! consulted 2026-12-02). Unverified against a live response.
//!
//! Mapping: native = `ticker` (`BTC-USD`); base = the ticker before `-USD`; quote and
//! settle `USDC` (every dYdX v4 market is quoted and settled in USDC; see the module
//! docs of [`super`]); tick = `tickSize`; lot = `stepSize` (base units: linear
//! contracts, no contract size); `status` `ACTIVE` → trading, `FINAL_SETTLEMENT` →
//! delisted, every other (`PAUSED`, `CANCEL_ONLY`, `POST_ONLY`, `INITIALIZING`) →
//! halted. A ticker not of the form `BASE-USD` is left out (none is listed today).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use super::{Dydx, SETTLE};
use crate::contract::ParseError;
use crate::convert::dec_raw;
use crate::instruments::{pair, Listed};

/// The instrument list under `rest_url`.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Perp => vec![format!(
            "{}/v4/perpetualMarkets",
            rest_url.trim_end_matches('/')
        )],
        _ => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
struct List<'a> {
    #[serde(borrow)]
    markets: BTreeMap<String, Item<'a>>,
}

#[derive(Debug, Deserialize)]
struct Item<'a> {
    #[serde(default)]
    ticker: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(rename = "tickSize", default, borrow)]
    tick_size: Option<&'a RawValue>,
    #[serde(rename = "stepSize", default, borrow)]
    step_size: Option<&'a RawValue>,
}

/// The perpetual markets of one `perpetualMarkets` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    if market != Market::Perp {
        return Ok(Vec::new());
    }
    let list: List = serde_json::from_str(body)?;
    let mut out = Vec::new();
    for (key, item) in list.markets {
        let ticker = item.ticker.unwrap_or(key).to_ascii_uppercase();
        let Some(base) = ticker.strip_suffix("-USD").filter(|b| !b.is_empty()) else {
            continue;
        };
        let dec = |r: Option<&RawValue>, what| match r {
            Some(r) if r.get() != "null" => dec_raw(r, what).map(Some),
            _ => Ok(None),
        };
        let status = match item.status.as_deref() {
            Some("ACTIVE") => InstrumentStatus::Trading,
            Some("FINAL_SETTLEMENT") => InstrumentStatus::Delisted,
            _ => InstrumentStatus::Halted,
        };
        let spec = Instrument {
            tick_size: dec(item.tick_size, "tickSize")?,
            lot_size: dec(item.step_size, "stepSize")?,
            status,
            ..pair(base, SETTLE, Some(SETTLE))
        };
        out.push(Listed {
            symbol: Dydx::normalize(&ticker),
            spec,
        });
    }
    Ok(out)
}

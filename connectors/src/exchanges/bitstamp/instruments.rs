//! Bitstamp reference data: `GET /api/v2/trading-pairs-info/`, a JSON array of every
//! trading pair.
//!
//! Document followed: Bitstamp HTTP API v2 reference, "Trading pairs info" (the list
//! of pairs with `name`, `url_symbol`, `base_decimals`, `counter_decimals`,
//! `instant_order_counter_decimals`, `minimum_order`, `trading`,
//! `instant_and_market_orders`, `description`; consulted 2026-12-02 through the
//! recording `cryptofeed/bitstamp` of 2022-01-05 — the stored copies of the live
//! page could not be read here). Bitstamp has since added `GET /api/v2/markets/`;
//! `trading-pairs-info` is still served, and is the list the recordings hold.
//!
//! Mapping: native = `url_symbol` (`btcusd`, the name channels and REST paths use);
//! base/quote = the two halves of `name` (`BTC/USD`); tick = 10^-`counter_decimals`;
//! lot = 10^-`base_decimals`. Status: `trading` `Enabled` → trading, anything else
//! (`Disabled`) → halted.

use serde::Deserialize;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::instruments::{pair, step, Listed};

/// The trading-pairs list under `rest_url`, for the spot market.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!(
            "{}/api/v2/trading-pairs-info/",
            rest_url.trim_end_matches('/')
        )],
        _ => Vec::new(),
    }
}

/// One pair of the list.
#[derive(Debug, Deserialize)]
struct PairInfo {
    name: String,
    url_symbol: String,
    #[serde(default)]
    base_decimals: Option<u32>,
    #[serde(default)]
    counter_decimals: Option<u32>,
    #[serde(default)]
    trading: Option<String>,
}

/// An error answer: `{"status":"error","reason":"..."}`.
#[derive(Debug, Deserialize)]
struct Refused {
    reason: serde_json::Value,
}

/// The spot pairs of one `trading-pairs-info` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let pairs: Vec<PairInfo> = match serde_json::from_str(body) {
        Ok(p) => p,
        Err(e) => {
            return Err(match serde_json::from_str::<Refused>(body) {
                Ok(r) => ParseError::Invalid {
                    context: "bitstamp trading-pairs-info",
                    detail: r.reason.to_string(),
                },
                Err(_) => e.into(),
            })
        }
    };
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    pairs
        .iter()
        .map(|p| {
            let (base, quote) = p.name.split_once('/').ok_or_else(|| ParseError::Invalid {
                context: "bitstamp pair name",
                detail: format!("{:?} is not BASE/QUOTE", p.name),
            })?;
            let status = match p.trading.as_deref() {
                Some("Enabled") => InstrumentStatus::Trading,
                _ => InstrumentStatus::Halted,
            };
            let spec = Instrument {
                tick_size: p.counter_decimals.and_then(step),
                lot_size: p.base_decimals.and_then(step),
                status,
                ..pair(base, quote, None)
            };
            Ok(Listed::new(Market::Spot, &p.url_symbol, spec))
        })
        .collect()
}

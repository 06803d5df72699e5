//! Gate reference data.
//!
//! - spot: `GET /api/v4/spot/currency_pairs` (every pair: `id` `BTC_USDT`, `base`,
//!   `quote`, `precision` = price decimals, `amount_precision` = amount decimals,
//!   `trade_status` `tradable` / `untradable` / `buyable` / `sellable`);
//! - USDT futures: `GET /api/v4/futures/usdt/contracts` (every contract: `name`
//!   `BTC_USDT`, `type` `direct`, `quanto_multiplier` = the base amount of one
//!   contract, `order_price_round` = tick, `order_size_min` (contracts),
//!   `in_delisting`, and on current servers `status` `trading` / `delisting` /
//!   `delisted`).
//!
//! Document followed: Gate API v4 REST reference ("List all currency pairs
//! supported", "List all futures contracts"), as the stored SDK copies of it (the
//! `gateio-api` type declarations, 2025) and the recordings (`cryptofeed/gateio`
//! of 2021-04-22, `cryptofeed/gateio_futures` of 2023-05-24) show it; consulted
//! 2026-12-02. Status: spot `tradable` → trading, anything else → halted; futures
//! `status` `delisted` → delisted, `in_delisting` or another status than `trading`
//! → halted.

use serde::Deserialize;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market};

use super::Venue;
use crate::contract::ParseError;
use crate::instruments::{pair, step, Listed};

/// The instrument list under `rest_url` for `market` (spot on the spot connector,
/// perpetuals on the futures one).
pub fn urls(venue: Venue, market: Market, rest_url: &str) -> Vec<String> {
    let base = rest_url.trim_end_matches('/');
    match (venue, market) {
        (Venue::Spot, Market::Spot) => vec![format!("{base}/api/v4/spot/currency_pairs")],
        (Venue::Futures, Market::Perp) => vec![format!("{base}/api/v4/futures/usdt/contracts")],
        _ => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
struct Pair {
    id: String,
    base: String,
    quote: String,
    #[serde(default)]
    precision: Option<u32>,
    #[serde(default)]
    amount_precision: Option<u32>,
    #[serde(default)]
    trade_status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Contract {
    name: String,
    #[serde(default)]
    quanto_multiplier: Option<Dec>,
    #[serde(default)]
    order_price_round: Option<Dec>,
    #[serde(default)]
    order_size_min: Option<Dec>,
    #[serde(default)]
    in_delisting: bool,
    #[serde(default)]
    status: Option<String>,
}

/// An error answer: `{"label":"...","message":"..."}`.
#[derive(Debug, Deserialize)]
struct Refused {
    label: String,
    #[serde(default)]
    message: String,
}

fn list<T: serde::de::DeserializeOwned>(
    body: &str,
    what: &'static str,
) -> Result<Vec<T>, ParseError> {
    serde_json::from_str(body).map_err(|e| match serde_json::from_str::<Refused>(body) {
        Ok(r) => ParseError::Invalid {
            context: what,
            detail: format!("{}: {}", r.label, r.message),
        },
        Err(_) => e.into(),
    })
}

/// The instruments of one list response, on `market` only.
pub fn parse(venue: Venue, market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    match (venue, market) {
        (Venue::Spot, Market::Spot) => {
            let pairs: Vec<Pair> = list(body, "gateio currency_pairs")?;
            Ok(pairs
                .into_iter()
                .map(|p| {
                    let status = match p.trade_status.as_deref() {
                        Some("tradable") | None => InstrumentStatus::Trading,
                        _ => InstrumentStatus::Halted,
                    };
                    let spec = Instrument {
                        tick_size: p.precision.and_then(step),
                        lot_size: p.amount_precision.and_then(step),
                        status,
                        ..pair(&p.base, &p.quote, None)
                    };
                    Listed::new(Market::Spot, &p.id, spec)
                })
                .collect())
        }
        (Venue::Futures, Market::Perp) => {
            let contracts: Vec<Contract> = list(body, "gateio futures contracts")?;
            contracts
                .into_iter()
                .map(|c| {
                    let (base, quote) =
                        c.name.split_once('_').ok_or_else(|| ParseError::Invalid {
                            context: "gateio contract name",
                            detail: format!("{:?} is not BASE_QUOTE", c.name),
                        })?;
                    let status = match c.status.as_deref() {
                        Some("delisted") => InstrumentStatus::Delisted,
                        _ if c.in_delisting => InstrumentStatus::Halted,
                        Some("trading") | None => InstrumentStatus::Trading,
                        Some(_) => InstrumentStatus::Halted,
                    };
                    let spec = Instrument {
                        tick_size: c.order_price_round,
                        lot_size: c.order_size_min,
                        contract_size: c.quanto_multiplier,
                        status,
                        ..pair(base, quote, Some(quote))
                    };
                    Ok(Listed::new(Market::Perp, &c.name, spec))
                })
                .collect()
        }
        _ => Ok(Vec::new()),
    }
}

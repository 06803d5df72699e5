//! bitFlyer reference data: `GET /v1/markets` (alias `/v1/getmarkets`), and the
//! regional lists `GET /v1/markets/usa` and `/v1/markets/eu`.
//!
//! Document followed: bitFlyer Lightning "API Documentation", HTTP Public API, "Market
//! List" (lightning.bitflyer.com/docs, stored copy after 2024-03-28; consulted
//! 2026-12-02): an array of `{"product_code","alias"?,"market_type"}` with
//! `market_type` `Spot`, `FX` (Lightning FX then, bitFlyer Crypto CFD since
//! 2024-03-28, product `FX_BTC_JPY`) or `Futures` (`BTCJPY24DEC2021`, alias
//! `BTCJPY_MAT2WK`; aliases are not accepted by the Realtime API). The page lists
//! bitFlyer USA (`BTC_USD`, `BTC_JPY`, `ETH_BTC`) and bitFlyer Europe (`BTC_EUR`,
//! `BTC_JPY`, `ETH_BTC`): the regional lists repeat the Japanese products, so of them
//! only the region's own-currency products (quote `USD` on `/usa`, `EUR` on `/eu`)
//! are taken.
//!
//! Mapping: base/quote from the product code, the only place the list names them
//! (`BASE_QUOTE`, `FX_BASE_QUOTE`, `BASEQUOTE{DD}{MON}{YYYY}`); expiry = the date of a
//! futures code at 00:00 UTC; the list carries no status, tick or lot: every listed
//! product is trading.

use serde::Deserialize;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use super::future_parts;
use crate::contract::ParseError;
use crate::instruments::{pair, Listed};

/// The lists of `market` under `rest_url`.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    let base = rest_url.trim_end_matches('/');
    match market {
        Market::Spot => vec![
            format!("{base}/v1/markets"),
            format!("{base}/v1/markets/usa"),
            format!("{base}/v1/markets/eu"),
        ],
        Market::Perp | Market::Future => vec![format!("{base}/v1/markets")],
        Market::Option => Vec::new(),
    }
}

/// One product of the list, e.g.
/// `{"product_code":"BTCJPY24DEC2021","alias":"BTCJPY_MAT2WK","market_type":"Futures"}`.
#[derive(Debug, Deserialize)]
struct Product {
    product_code: String,
    #[serde(default)]
    market_type: Option<String>,
}

/// An error answer: `{"status":-100,"error_message":"...","data":null}`.
#[derive(Debug, Deserialize)]
struct Refused {
    error_message: String,
}

/// The region a list URL names, by the quote currency it adds (`None` = Japan).
fn region_quote(url: &str) -> Option<&'static str> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/');
    if path.ends_with("/usa") {
        Some("USD")
    } else if path.ends_with("/eu") {
        Some("EUR")
    } else {
        None
    }
}

/// The instruments of `market` in one market-list response.
pub fn parse(market: Market, url: &str, body: &str) -> Result<Vec<Listed>, ParseError> {
    let products: Vec<Product> = match serde_json::from_str(body) {
        Ok(p) => p,
        Err(e) => {
            return Err(match serde_json::from_str::<Refused>(body) {
                Ok(r) => ParseError::Invalid {
                    context: "bitflyer markets",
                    detail: r.error_message,
                },
                Err(_) => e.into(),
            })
        }
    };
    let region = region_quote(url);
    let mut out = Vec::new();
    for p in &products {
        let code = p.product_code.as_str();
        let bad = || ParseError::Invalid {
            context: "bitflyer product_code",
            detail: format!("{code:?}"),
        };
        let (m, spec) = match p.market_type.as_deref() {
            Some("Spot") => {
                let (b, q) = code.split_once('_').ok_or_else(bad)?;
                (Market::Spot, pair(b, q, None))
            }
            Some("FX") => {
                let (b, q) = code
                    .strip_prefix("FX_")
                    .and_then(|r| r.split_once('_'))
                    .ok_or_else(bad)?;
                (Market::Perp, pair(b, q, Some(q)))
            }
            Some("Futures") => {
                let (b, q, expiry) = future_parts(code).ok_or_else(bad)?;
                (
                    Market::Future,
                    Instrument {
                        expiry: Some(expiry),
                        ..pair(b, q, Some(q))
                    },
                )
            }
            _ => continue,
        };
        if m != market {
            continue;
        }
        if let Some(quote) = region {
            if m != Market::Spot || spec.quote != quote {
                continue;
            }
        }
        out.push(Listed::new(
            m,
            code,
            Instrument {
                status: InstrumentStatus::Trading,
                ..spec
            },
        ));
    }
    Ok(out)
}

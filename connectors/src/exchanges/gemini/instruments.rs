//! Gemini reference data: `GET /v1/symbols/details/{symbol}`, one object per symbol.
//!
//! Document followed: Gemini REST API, Market Data, "Get Symbol Details"
//! (developer.gemini.com/trading/rest-api/market-data/get-symbol-details, undated page
//! of 2026; consulted 2026-12-02): `symbol`, `base_currency`, `quote_currency`,
//! `tick_size` (the base currency's increment, e.g. `1e-8`), `quote_increment` (the
//! price increment, e.g. `0.01`), `min_order_size`, `status` (`open`, `closed`,
//! `cancel_only`, `post_only`, `limit_only`), `wrap_enabled`, `product_type` (`spot` /
//! `swap`), `contract_type`, `contract_price_currency`. The recording (2021) lacks the
//! last four.
//!
//! Mapping: native = `symbol` (`BTCUSD`, as the feed names it); tick =
//! `quote_increment`; lot = `tick_size`; `open` → trading, `closed` → delisted, the
//! restricted modes (`cancel_only`, `post_only`, `limit_only`) → halted (no continuous
//! matching of market orders). `product_type` `swap` is not spot and is skipped.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::convert::dec_raw;
use crate::instruments::{pair, Listed};

/// One symbol's details, e.g.
/// `{"symbol":"BTCUSD","base_currency":"BTC","quote_currency":"USD","tick_size":1E-8,"quote_increment":0.01,"min_order_size":"0.00001","status":"open","wrap_enabled":false,"product_type":"spot","contract_type":"vanilla","contract_price_currency":"USD"}`
#[derive(Debug, Deserialize)]
struct Details<'a> {
    symbol: String,
    base_currency: String,
    quote_currency: String,
    #[serde(borrow, default)]
    tick_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    quote_increment: Option<&'a RawValue>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
}

/// An error answer: `{"result":"error","reason":"InvalidSymbol","message":"..."}`.
#[derive(Debug, Deserialize)]
struct Refused {
    reason: String,
    #[serde(default)]
    message: String,
}

/// The instrument of one `symbols/details` response (none off spot, or for a swap).
pub fn parse_details(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let d: Details = match serde_json::from_str(body) {
        Ok(d) => d,
        Err(e) => {
            return Err(match serde_json::from_str::<Refused>(body) {
                Ok(r) => ParseError::Invalid {
                    context: "gemini symbols/details",
                    detail: format!("{}: {}", r.reason, r.message),
                },
                Err(_) => e.into(),
            })
        }
    };
    if market != Market::Spot || d.product_type.as_deref().is_some_and(|t| t != "spot") {
        return Ok(Vec::new());
    }
    let status = match d.status.as_deref() {
        Some("open") | None => InstrumentStatus::Trading,
        Some("closed") => InstrumentStatus::Delisted,
        Some(_) => InstrumentStatus::Halted,
    };
    let spec = Instrument {
        tick_size: d
            .quote_increment
            .map(|r| dec_raw(r, "quote_increment"))
            .transpose()?,
        lot_size: d.tick_size.map(|r| dec_raw(r, "tick_size")).transpose()?,
        status,
        ..pair(&d.base_currency, &d.quote_currency, None)
    };
    Ok(vec![Listed::new(Market::Spot, &d.symbol, spec)])
}

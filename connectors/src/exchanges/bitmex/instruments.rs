//! BitMEX reference data: `GET /api/v1/instrument/active`, a JSON array of every
//! instrument open for trading (the list the recording fetched).
//!
//! Document followed: BitMEX REST API explorer, `Instrument` (`GET
//! /instrument/active`, undated; consulted 2026-12-02 through its stored copies and
//! the recording `cryptofeed/bitmex` of 2021-07-22). Instrument types by `typ`
//! (the CFI code): `FFWCSX` perpetual, `FFCCSX` dated future, `IFXXXP` spot; others
//! (indices `MRCXXX` and the like, options, prediction markets) are not listed.
//!
//! Mapping: native = `symbol`; base = `underlying`, quote = `quoteCurrency` (`XBT`
//! as `BTC`); settle = `settlCurrency` (`XBt` → `BTC`, `USDt` → `USDT`); expiry =
//! `expiry`; tick = `tickSize`; lot = `lotSize` (in contracts); status `Open` →
//! trading, `Unlisted`/`Settled`/`Closed` → delisted, anything else halted. Contract
//! values (`multiplier`, in the settlement currency's smallest unit, negative for
//! inverse contracts) are not mapped: sizes are published in contracts.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use super::asset;
use crate::contract::ParseError;
use crate::convert::dec_raw;
use crate::instruments::{pair, Listed};

/// The active-instrument list under `rest_url` (one list for every market).
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot | Market::Perp | Market::Future => vec![format!(
            "{}/api/v1/instrument/active",
            rest_url.trim_end_matches('/')
        )],
        Market::Option => Vec::new(),
    }
}

/// One instrument of the list (the fields used).
#[derive(Debug, Deserialize)]
struct Item<'a> {
    symbol: String,
    typ: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    underlying: Option<String>,
    #[serde(rename = "quoteCurrency", default)]
    quote_currency: Option<String>,
    #[serde(rename = "settlCurrency", default)]
    settl_currency: Option<String>,
    #[serde(default)]
    expiry: Option<String>,
    #[serde(rename = "tickSize", default, borrow)]
    tick_size: Option<&'a RawValue>,
    #[serde(rename = "lotSize", default, borrow)]
    lot_size: Option<&'a RawValue>,
}

/// An error answer: `{"error":{"message":"...","name":"HTTPError"}}`.
#[derive(Debug, Deserialize)]
struct Refused {
    error: serde_json::Value,
}

/// The market of an instrument type (CFI code), if it is one tickbridge lists.
pub fn market_of_typ(typ: &str) -> Option<Market> {
    match typ {
        "FFWCSX" => Some(Market::Perp),
        "FFCCSX" => Some(Market::Future),
        "IFXXXP" => Some(Market::Spot),
        _ => None,
    }
}

/// A settlement currency as an asset (`XBt` → `BTC`, `USDt` → `USDT`).
fn settle_asset(code: &str) -> String {
    asset(&code.to_ascii_uppercase()).to_string()
}

/// The instruments of `market` in one `instrument/active` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let items: Vec<Item> = match serde_json::from_str(body) {
        Ok(i) => i,
        Err(e) => {
            return Err(match serde_json::from_str::<Refused>(body) {
                Ok(r) => ParseError::Invalid {
                    context: "bitmex instrument/active",
                    detail: r.error.to_string(),
                },
                Err(_) => e.into(),
            })
        }
    };
    let mut out = Vec::new();
    for i in items {
        if market_of_typ(&i.typ) != Some(market) {
            continue;
        }
        let missing = |what: &str| ParseError::Invalid {
            context: "bitmex instrument",
            detail: format!("{} has no {what}", i.symbol),
        };
        let base = i
            .underlying
            .as_deref()
            .ok_or_else(|| missing("underlying"))?;
        let quote = i
            .quote_currency
            .as_deref()
            .ok_or_else(|| missing("quoteCurrency"))?;
        let settle = i.settl_currency.as_deref().map(settle_asset);
        let expiry = match (market, i.expiry.as_deref()) {
            (Market::Future, Some(e)) => {
                Some(crate::time::parse_rfc3339_utc(e).ok_or_else(|| missing("valid expiry"))?)
            }
            (Market::Future, None) => return Err(missing("expiry")),
            _ => None,
        };
        let status = match i.state.as_deref() {
            Some("Open") => InstrumentStatus::Trading,
            Some("Unlisted" | "Settled" | "Closed" | "Delisted") => InstrumentStatus::Delisted,
            _ => InstrumentStatus::Halted,
        };
        let dec = |r: Option<&RawValue>, what| match r {
            Some(r) if r.get() != "null" => dec_raw(r, what).map(Some),
            _ => Ok(None),
        };
        let spec = Instrument {
            expiry,
            tick_size: dec(i.tick_size, "tickSize")?,
            lot_size: dec(i.lot_size, "lotSize")?,
            status,
            ..pair(
                asset(&base.to_ascii_uppercase()),
                asset(&quote.to_ascii_uppercase()),
                settle.as_deref(),
            )
        };
        out.push(Listed::new(market, &i.symbol, spec));
    }
    Ok(out)
}

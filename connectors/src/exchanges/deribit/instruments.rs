//! Deribit reference data: `GET /api/v2/public/get_instruments?currency={currency}&expired=false`
//! (JSON-RPC over HTTP: `{"jsonrpc":"2.0","result":[...]}`), one request per
//! settlement currency, every kind in each answer.
//!
//! Document followed: docs.deribit.com, `public/get_instruments` (Deribit API 2.1.1,
//! undated; consulted 2026-12-02): `currency` one of `BTC`, `ETH`, `USDC`, `USDT`,
//! `EURR` (or `any`), `kind` optional (`future`, `option`, `spot`, `future_combo`,
//! `option_combo`), `expired` false for active instruments. The recording
//! (`cryptofeed/deribit`, 2021-07, with `SOL` and `USDC` lists of 2022) fetched one list
//! per currency without `kind`, as here; its older items have neither
//! `settlement_currency` nor `counter_currency`.
//!
//! Mapping: native = `instrument_name`; market: `kind` `future` with
//! `settlement_period` `perpetual` → perp, other `future` → future, `option`,
//! `spot`; combos are left out. Base = `base_currency`; quote = `counter_currency`
//! (`USD` for inverse instruments), or where it is missing `quote_currency`, except
//! that an option quoted in its own base (inverse) is `USD`; settle =
//! `settlement_currency`, else the base for inverse and the quote for linear
//! instruments; expiry = `expiration_timestamp` (futures, options); strike, call/put;
//! tick = `tick_size`; lot = `min_trade_amount`; contract size = `contract_size`;
//! status: `is_active` → trading, else halted.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Instrument, InstrumentStatus, Market, OptionType};

use crate::contract::ParseError;
use crate::convert::dec_raw;
use crate::instruments::{pair, Listed};

/// The settlement currencies listed (the documented `currency` values).
pub const CURRENCIES: &[&str] = &["BTC", "ETH", "USDC", "USDT", "EURR"];

/// One list per currency under `rest_url` (each lists every market: fetched once per
/// market, filtered by [`parse`]).
pub fn urls(_market: Market, rest_url: &str) -> Vec<String> {
    let base = rest_url.trim_end_matches('/');
    CURRENCIES
        .iter()
        .map(|c| format!("{base}/api/v2/public/get_instruments?currency={c}&expired=false"))
        .collect()
}

#[derive(Debug, Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    result: Option<Vec<Item<'a>>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Item<'a> {
    instrument_name: String,
    kind: String,
    #[serde(default)]
    settlement_period: Option<String>,
    base_currency: String,
    #[serde(default)]
    quote_currency: Option<String>,
    #[serde(default)]
    counter_currency: Option<String>,
    #[serde(default)]
    settlement_currency: Option<String>,
    #[serde(default)]
    expiration_timestamp: Option<i64>,
    #[serde(borrow, default)]
    strike: Option<&'a RawValue>,
    #[serde(default)]
    option_type: Option<String>,
    #[serde(borrow, default)]
    tick_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    min_trade_amount: Option<&'a RawValue>,
    #[serde(borrow, default)]
    contract_size: Option<&'a RawValue>,
    #[serde(default)]
    is_active: Option<bool>,
}

fn opt(
    raw: Option<&RawValue>,
    context: &'static str,
) -> Result<Option<tickbridge_schema::Dec>, ParseError> {
    raw.map(|r| dec_raw(r, context)).transpose()
}

/// The instruments of `market` in one `get_instruments` answer.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let answer: Answer = serde_json::from_str(body)?;
    let Some(items) = answer.result else {
        return Err(ParseError::Invalid {
            context: "deribit get_instruments",
            detail: answer
                .error
                .map_or("no result".to_string(), |e| e.to_string()),
        });
    };
    let mut out = Vec::new();
    for i in items {
        let m = match (i.kind.as_str(), i.settlement_period.as_deref()) {
            ("future", Some("perpetual")) => Market::Perp,
            ("future", _) => Market::Future,
            ("option", _) => Market::Option,
            ("spot", _) => Market::Spot,
            _ => continue, // combos
        };
        if m != market {
            continue;
        }
        let base = i.base_currency.as_str();
        let listed_quote = i.quote_currency.as_deref().unwrap_or("USD");
        let quote = match i.counter_currency.as_deref() {
            Some(c) => c,
            None if m == Market::Option && listed_quote == base => "USD",
            None => listed_quote,
        };
        let settle = match (m, i.settlement_currency.as_deref()) {
            (Market::Spot, _) => None,
            (_, Some(s)) => Some(s),
            // Inverse: settled in the base; linear: in the quote.
            (_, None) if quote == "USD" => Some(base),
            (_, None) => Some(quote),
        };
        let dated = matches!(m, Market::Future | Market::Option);
        let option_type = match (m, i.option_type.as_deref()) {
            (Market::Option, Some("call")) => Some(OptionType::Call),
            (Market::Option, Some("put")) => Some(OptionType::Put),
            (Market::Option, other) => {
                return Err(ParseError::Invalid {
                    context: "deribit option_type",
                    detail: format!("{other:?} of {}", i.instrument_name),
                })
            }
            _ => None,
        };
        let spec = Instrument {
            expiry: if dated {
                i.expiration_timestamp.map(crate::time::ms_to_ns)
            } else {
                None
            },
            strike: if m == Market::Option {
                opt(i.strike, "strike")?
            } else {
                None
            },
            option_type,
            tick_size: opt(i.tick_size, "tick_size")?,
            lot_size: opt(i.min_trade_amount, "min_trade_amount")?,
            contract_size: opt(i.contract_size, "contract_size")?,
            status: if i.is_active.unwrap_or(true) {
                InstrumentStatus::Trading
            } else {
                InstrumentStatus::Halted
            },
            ..pair(base, quote, settle)
        };
        out.push(Listed::new(m, &i.instrument_name, spec));
    }
    Ok(out)
}

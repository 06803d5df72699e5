//! HTX reference data.
//!
//! - Spot: `GET /v1/common/symbols` (`{"status":"ok","data":[...]}`, one item per
//!   pair with `symbol`, `base-currency`, `quote-currency`, `price-precision`,
//!   `amount-precision`, `state`). Native = `symbol` (`btcusdt`); base/quote = the
//!   currencies upper-cased; tick = 10^-`price-precision`; lot =
//!   10^-`amount-precision`; `state` `online` → trading, anything else (`offline`,
//!   `pre-online`, `suspend`) → halted. HTX also documents `GET
//!   /v2/settings/common/symbols` (short field names `sc`, `bc`, `qc`, `tpp`, `tap`);
//!   the v1 list is the one the recordings hold, so it is the one read.
//! - USDT-margined swaps: `GET /linear-swap-api/v1/swap_contract_info`;
//!   coin-margined swaps: `GET /swap-api/v1/swap_contract_info` (`data[]` of
//!   `contract_code` `BTC-USDT` / `BTC-USD`, `symbol` `BTC`, `contract_size`,
//!   `price_tick`, `contract_status`). Native = `contract_code`; base = `symbol`,
//!   quote = the code's second part; settle = the quote (USDT-margined) or the base
//!   (coin-margined); lot = 1 contract; `contract_status` 1 → trading, else halted.
//!   Items of the linear list that are not swaps (`business_type`/`contract_type`
//!   `futures`, dated codes) are left out: the connector serves perpetuals only.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::convert::dec_raw;
use crate::instruments::{pair, step, Listed};

/// The spot symbol list path.
pub const SPOT_PATH: &str = "/v1/common/symbols";
/// The USDT-margined swap contract list path.
pub const LINEAR_PATH: &str = "/linear-swap-api/v1/swap_contract_info";
/// The coin-margined swap contract list path.
pub const COIN_PATH: &str = "/swap-api/v1/swap_contract_info";

#[derive(Debug, Deserialize)]
struct Answer<'a> {
    #[serde(default, borrow)]
    status: Option<&'a str>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default, rename = "err-msg", alias = "err_msg")]
    err_msg: Option<String>,
}

/// One pair of `/v1/common/symbols`.
#[derive(Debug, Deserialize)]
struct SpotItem {
    symbol: String,
    #[serde(rename = "base-currency")]
    base: String,
    #[serde(rename = "quote-currency")]
    quote: String,
    #[serde(default, rename = "price-precision")]
    price_precision: Option<u32>,
    #[serde(default, rename = "amount-precision")]
    amount_precision: Option<u32>,
    #[serde(default)]
    state: Option<String>,
}

/// One contract of `swap_contract_info`.
#[derive(Debug, Deserialize)]
struct SwapItem<'a> {
    symbol: String,
    contract_code: String,
    #[serde(default, borrow)]
    contract_size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    price_tick: Option<&'a RawValue>,
    #[serde(default)]
    contract_status: Option<i64>,
    #[serde(default)]
    business_type: Option<String>,
    #[serde(default)]
    contract_type: Option<String>,
}

/// The `data` of an answer, or the error it reports.
fn data<'a>(body: &'a str, context: &'static str) -> Result<&'a str, ParseError> {
    let a: Answer = serde_json::from_str(body)?;
    match (a.status, a.data) {
        (Some("ok"), Some(d)) => Ok(d.get()),
        _ => Err(ParseError::Invalid {
            context,
            detail: a.err_msg.unwrap_or_else(|| "status is not ok".into()),
        }),
    }
}

fn opt_dec(raw: Option<&RawValue>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    raw.map(|r| dec_raw(r, context)).transpose()
}

/// The spot pairs of one `/v1/common/symbols` answer.
pub fn parse_spot(body: &str) -> Result<Vec<Listed>, ParseError> {
    let items: Vec<SpotItem> = serde_json::from_str(data(body, "htx symbols")?)?;
    Ok(items
        .iter()
        .map(|i| {
            let status = match i.state.as_deref() {
                Some("online") => InstrumentStatus::Trading,
                _ => InstrumentStatus::Halted,
            };
            let spec = Instrument {
                tick_size: i.price_precision.and_then(step),
                lot_size: i.amount_precision.and_then(step),
                status,
                ..pair(
                    &i.base.to_ascii_uppercase(),
                    &i.quote.to_ascii_uppercase(),
                    None,
                )
            };
            Listed::new(Market::Spot, &i.symbol, spec)
        })
        .collect())
}

/// The perpetual swaps of one `swap_contract_info` answer (either list: a contract
/// quoted in `USD` is coin-margined, any other USDT-margined).
pub fn parse_swaps(body: &str) -> Result<Vec<Listed>, ParseError> {
    let items: Vec<SwapItem> = serde_json::from_str(data(body, "htx swap_contract_info")?)?;
    let mut out = Vec::with_capacity(items.len());
    for i in &items {
        let swap = i.business_type.as_deref().is_none_or(|b| b == "swap")
            && i.contract_type.as_deref().is_none_or(|c| c == "swap");
        if !swap {
            continue;
        }
        let Some((base, quote)) = i.contract_code.split_once('-') else {
            return Err(ParseError::Invalid {
                context: "htx contract_code",
                detail: format!("{:?} is not BASE-QUOTE", i.contract_code),
            });
        };
        if base != i.symbol || quote.contains('-') {
            // A dated code (`BTC-USDT-250627`) or an inconsistent item: not a swap.
            continue;
        }
        let settle = if quote == "USD" { base } else { quote };
        let status = match i.contract_status {
            Some(1) => InstrumentStatus::Trading,
            _ => InstrumentStatus::Halted,
        };
        let spec = Instrument {
            tick_size: opt_dec(i.price_tick, "price_tick")?,
            lot_size: Dec::parse("1").ok(),
            contract_size: opt_dec(i.contract_size, "contract_size")?,
            status,
            ..pair(base, quote, Some(settle))
        };
        out.push(Listed::new(Market::Perp, &i.contract_code, spec));
    }
    Ok(out)
}

//! Kraken Futures reference data: `GET /derivatives/api/v3/instruments`,
//! `{"result":"success","instruments":[..]}` with every contract and index.
//!
//! Document followed: Kraken API Center, Futures REST "Get instruments" (undated;
//! consulted 2026-12-02 through its stored copies and the recording
//! `cryptofeed/kraken_futures` of 2021-07-22). Contracts by symbol prefix: `PF_`
//! (flexible perpetual), `PI_` (inverse perpetual), `FF_` (flexible dated future),
//! `FI_` (inverse dated future); indices (`in_`, `rr_`) and other kinds are not
//! listed.
//!
//! Mapping: native = `symbol` upper-cased (frames spell product ids so); base/quote
//! = `base`/`quote` where given (current lists), else the symbol's pair (`XBTUSD`;
//! `XBT` as `BTC`); settle: the base for inverse contracts, the quote for flexible
//! ones; expiry = `lastTradingTime`; tick = `tickSize`; contract size =
//! `contractSize`; `tradeable` true → trading, else halted. Inverse contracts are
//! named with `-INV` (see the module header).

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use super::{asset, split_pair};
use crate::contract::ParseError;
use crate::convert::dec_raw;
use crate::instruments::{normalized, pair, Listed};
use crate::symbols::SymbolInfo;

/// The instrument list under `rest_url` (one list for both markets).
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Perp | Market::Future => vec![format!(
            "{}/derivatives/api/v3/instruments",
            rest_url.trim_end_matches('/')
        )],
        _ => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
struct List<'a> {
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, borrow)]
    instruments: Vec<Item<'a>>,
}

#[derive(Debug, Deserialize)]
struct Item<'a> {
    symbol: String,
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    quote: Option<String>,
    #[serde(rename = "lastTradingTime", default)]
    last_trading_time: Option<String>,
    #[serde(rename = "tickSize", default, borrow)]
    tick_size: Option<&'a RawValue>,
    #[serde(rename = "contractSize", default, borrow)]
    contract_size: Option<&'a RawValue>,
    #[serde(default)]
    tradeable: Option<bool>,
}

/// (market, inverse) of a contract's symbol prefix.
pub fn kind_of(symbol: &str) -> Option<(Market, bool)> {
    match symbol.get(..3)?.to_ascii_uppercase().as_str() {
        "PF_" => Some((Market::Perp, false)),
        "PI_" => Some((Market::Perp, true)),
        "FF_" => Some((Market::Future, false)),
        "FI_" => Some((Market::Future, true)),
        _ => None,
    }
}

/// The contracts of `market` in one `instruments` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let list: List = serde_json::from_str(body)?;
    if list.result.as_deref() != Some("success") {
        return Err(ParseError::Invalid {
            context: "kraken-futures instruments",
            detail: list.error.unwrap_or_else(|| "result is not success".into()),
        });
    }
    let mut out = Vec::new();
    for i in list.instruments {
        let Some((m, inverse)) = kind_of(&i.symbol) else {
            continue;
        };
        if m != market {
            continue;
        }
        let native = i.symbol.to_ascii_uppercase();
        let bad = |what: &str| ParseError::Invalid {
            context: "kraken-futures instrument",
            detail: format!("{native}: {what}"),
        };
        let (base, quote) = match (i.base.as_deref(), i.quote.as_deref()) {
            (Some(b), Some(q)) => (
                asset(&b.to_ascii_uppercase()).to_string(),
                asset(&q.to_ascii_uppercase()).to_string(),
            ),
            _ => {
                let p = native.split('_').nth(1).ok_or_else(|| bad("no pair"))?;
                let (b, q) = split_pair(p).ok_or_else(|| bad("unknown quote"))?;
                (asset(b).to_string(), asset(q).to_string())
            }
        };
        let expiry = match (market, i.last_trading_time.as_deref()) {
            (Market::Future, Some(t)) => {
                Some(crate::time::parse_rfc3339_utc(t).ok_or_else(|| bad("lastTradingTime"))?)
            }
            (Market::Future, None) => return Err(bad("no lastTradingTime")),
            _ => None,
        };
        let dec = |r: Option<&RawValue>, what| match r {
            Some(r) if r.get() != "null" => dec_raw(r, what).map(Some),
            _ => Ok(None),
        };
        let settle = if inverse { base.clone() } else { quote.clone() };
        let spec = Instrument {
            expiry,
            tick_size: dec(i.tick_size, "tickSize")?,
            contract_size: dec(i.contract_size, "contractSize")?,
            status: if i.tradeable == Some(false) {
                InstrumentStatus::Halted
            } else {
                InstrumentStatus::Trading
            },
            ..pair(&base, &quote, Some(&settle))
        };
        // The normalized name as frames' fallback names it: the date of the product
        // id for futures (it is the expiry day), `-INV` for inverse contracts.
        let symbol = match super::KrakenFutures::normalize(&native) {
            s if s.symbol != s.native => s.symbol.to_string(),
            _ => normalized(market, &spec) + if inverse { "-INV" } else { "" },
        };
        out.push(Listed {
            symbol: SymbolInfo {
                market,
                symbol: symbol.into(),
                native: native.into(),
            },
            spec,
        });
    }
    Ok(out)
}

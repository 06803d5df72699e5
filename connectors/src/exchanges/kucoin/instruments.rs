//! KuCoin reference data: `GET /api/v2/symbols` (the current "Get All Symbols"), a
//! `{"code":"200000","data":[...]}` answer listing every spot pair. The recordings
//! fetched its predecessor `GET /api/v1/symbols`, whose items have the same fields
//! (v2 adds e.g. `feeCategory`, `st`, `callauctionIsEnabled`): both parse here.
//!
//! Document followed: KuCoin API docs (docs-new), Classic REST, Spot Trading, Market
//! Data, "Get All Symbols" (undated page; consulted 2026-12-02). Mapping: native =
//! `symbol` (`BTC-USDT`, the name topics and REST paths use); base/quote =
//! `baseCurrency`/`quoteCurrency`; tick = `priceIncrement`; lot = `baseIncrement`;
//! `enableTrading` `true` → trading, else halted.

use serde::Deserialize;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::instruments::{pair, Listed};

/// The symbol list under `rest_url`, for the spot market.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!("{}/api/v2/symbols", rest_url.trim_end_matches('/'))],
        _ => Vec::new(),
    }
}

/// The answer: `code` `"200000"` on success, else `msg` says why.
#[derive(Debug, Deserialize)]
struct Answer {
    code: String,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    data: Option<Vec<Symbol>>,
}

/// One pair of the list, e.g.
/// `{"symbol":"REQ-ETH","name":"REQ-ETH","baseCurrency":"REQ","quoteCurrency":"ETH","feeCurrency":"ETH","market":"ALTS","baseMinSize":"1","quoteMinSize":"0.0001","baseMaxSize":"10000000000","quoteMaxSize":"99999999","baseIncrement":"0.0001","quoteIncrement":"0.0000001","priceIncrement":"0.0000001","priceLimitRate":"0.1","isMarginEnabled":false,"enableTrading":true}`
#[derive(Debug, Deserialize)]
struct Symbol {
    symbol: String,
    #[serde(rename = "baseCurrency")]
    base: String,
    #[serde(rename = "quoteCurrency")]
    quote: String,
    #[serde(rename = "priceIncrement", default)]
    price_increment: Option<Dec>,
    #[serde(rename = "baseIncrement", default)]
    base_increment: Option<Dec>,
    #[serde(rename = "enableTrading", default)]
    enable_trading: bool,
}

/// The spot pairs of one symbol-list response (v2 or v1).
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let answer: Answer = serde_json::from_str(body)?;
    if answer.code != "200000" {
        return Err(ParseError::Invalid {
            context: "kucoin symbols",
            detail: format!("code {}: {}", answer.code, answer.msg.unwrap_or_default()),
        });
    }
    let symbols = answer.data.ok_or_else(|| ParseError::Invalid {
        context: "kucoin symbols",
        detail: "no data".into(),
    })?;
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    Ok(symbols
        .into_iter()
        .map(|s| {
            let spec = Instrument {
                tick_size: s.price_increment,
                lot_size: s.base_increment,
                status: if s.enable_trading {
                    InstrumentStatus::Trading
                } else {
                    InstrumentStatus::Halted
                },
                ..pair(&s.base, &s.quote, None)
            };
            Listed::new(Market::Spot, &s.symbol, spec)
        })
        .collect())
}

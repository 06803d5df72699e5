//! Lighter reference data: `GET /api/v1/orderBookDetails`, `{"code":200,
//! "order_book_details":[..perpetuals..],"spot_order_book_details":[..]}`.
//!
//! Documents followed (consulted 2026-12-02): apidocs.lighter.xyz "Market data"
//! (`orderBookDetails` returns `order_book_details` (perps) and
//! `spot_order_book_details` (spot); `market_id` is the index used everywhere else;
//! `size_decimals`, `price_decimals`; only `status` active markets trade), the REST
//! OpenAPI of `elliottech/lighter-python` (`openapi.json`, `OrderBookDetail`), and the
//! mainnet responses stored as fixtures by nautilus_trader's Lighter adapter (captured
//! 2026-05-05).
//!
//! Mapping (perpetuals only): native = `market_id` as decimal text (every channel and
//! frame names a market by it); base = `symbol` (`BTC`), quote and settle = `USDC`
//! (Lighter's collateral: every perpetual settles in USDC) → `BTC-USDC-PERP`; tick =
//! 10^-`price_decimals`, lot = 10^-`size_decimals` (`supported_*` where the plain
//! fields are missing); contract size 1 (sizes are in the base asset); `status`
//! `active` → trading, else halted.

use serde::Deserialize;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::instruments::{pair, step, Listed};

/// Lighter's collateral and settle asset of every perpetual.
pub const SETTLE: &str = "USDC";

/// The path of the instrument list under the REST base.
pub const PATH: &str = "/api/v1/orderBookDetails";

/// The instrument list under `rest_url` (perpetuals only).
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Perp => vec![format!("{}{PATH}", rest_url.trim_end_matches('/'))],
        _ => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
struct List {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    order_book_details: Option<Vec<Item>>,
}

#[derive(Debug, Deserialize)]
struct Item {
    symbol: String,
    market_id: i64,
    #[serde(default)]
    market_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    size_decimals: Option<u32>,
    #[serde(default)]
    price_decimals: Option<u32>,
    #[serde(default)]
    supported_size_decimals: Option<u32>,
    #[serde(default)]
    supported_price_decimals: Option<u32>,
}

/// The perpetuals of one `orderBookDetails` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let list: List = serde_json::from_str(body)?;
    if list.code.is_some_and(|c| c != 200) {
        return Err(ParseError::Invalid {
            context: "lighter orderBookDetails",
            detail: format!(
                "code {}: {}",
                list.code.unwrap_or_default(),
                list.message.unwrap_or_default()
            ),
        });
    }
    let Some(items) = list.order_book_details else {
        return Err(ParseError::Invalid {
            context: "lighter orderBookDetails",
            detail: "no order_book_details".into(),
        });
    };
    if market != Market::Perp {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for i in items {
        if i.market_type.as_deref().is_some_and(|t| t != "perp") {
            continue;
        }
        let base = i.symbol.trim().to_ascii_uppercase();
        if base.is_empty() || !base.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::Invalid {
                context: "lighter instrument",
                detail: format!("market {}: symbol {:?}", i.market_id, i.symbol),
            });
        }
        let tick = i.price_decimals.or(i.supported_price_decimals);
        let lot = i.size_decimals.or(i.supported_size_decimals);
        let spec = Instrument {
            tick_size: tick.and_then(step),
            lot_size: lot.and_then(step),
            contract_size: Dec::parse("1").ok(),
            status: if i.status.as_deref() == Some("active") {
                InstrumentStatus::Trading
            } else {
                InstrumentStatus::Halted
            },
            ..pair(&base, SETTLE, Some(SETTLE))
        };
        out.push(Listed::new(Market::Perp, &i.market_id.to_string(), spec));
    }
    Ok(out)
}

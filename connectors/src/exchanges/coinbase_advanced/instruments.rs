//! Coinbase Advanced Trade reference data: `GET /api/v3/brokerage/market/products`
//! ("List Public Products", no authentication), `{"products":[..],"num_products":n}`.
//!
//! Document followed: docs.cdp.coinbase.com, Advanced Trade API → REST API → Public →
//! "List Public Products" and "Get Public Product" (the `Product` schema of the Advanced
//! Trade OpenAPI, version 0.1; stored copy consulted 2026-12-02, undated). The request
//! asks for `product_type=SPOT` (the connector serves spot only); products of another
//! type are dropped anyway.
//!
//! Mapping: native = `product_id` (what `market_trades`/`ticker`/`level2` subscribe and
//! name, `BTC-USD`); base/quote = `base_currency_id`/`quote_currency_id` — not the
//! display symbols: Coinbase shows USDC books as USD (`BTC-USDC` has
//! `quote_display_symbol: "USD"` and `alias: "BTC-USD"`), so display symbols would make
//! two products one normalized symbol; the display symbols are used only when a product
//! lacks the ids. Tick = `price_increment` (`quote_increment` is the funds increment);
//! lot = `base_increment`. Status: `delisted` → delisted; `online` and neither
//! `trading_disabled`, `is_disabled`, `cancel_only`, `post_only`, `view_only` nor
//! `auction_mode` → trading (`limit_only` still matches); anything else → halted.

use serde::Deserialize;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::convert::dec_opt;
use crate::instruments::{pair, Listed};

/// The public spot products list under `rest_url`.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!(
            "{}/api/v3/brokerage/market/products?product_type=SPOT",
            rest_url.trim_end_matches('/')
        )],
        _ => Vec::new(),
    }
}

/// The answer: products, or an error `{"error":"..","message":".."}`.
#[derive(Debug, Deserialize)]
struct Products {
    #[serde(default)]
    products: Option<Vec<Product>>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Product {
    product_id: String,
    #[serde(default)]
    base_currency_id: Option<String>,
    #[serde(default)]
    quote_currency_id: Option<String>,
    #[serde(default)]
    base_display_symbol: Option<String>,
    #[serde(default)]
    quote_display_symbol: Option<String>,
    #[serde(default)]
    price_increment: Option<String>,
    #[serde(default)]
    base_increment: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    trading_disabled: Option<bool>,
    #[serde(default)]
    is_disabled: Option<bool>,
    #[serde(default)]
    cancel_only: Option<bool>,
    #[serde(default)]
    post_only: Option<bool>,
    #[serde(default)]
    view_only: Option<bool>,
    #[serde(default)]
    auction_mode: Option<bool>,
}

/// The spot products of one products response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let answer: Products = serde_json::from_str(body)?;
    let Some(products) = answer.products else {
        return Err(ParseError::Invalid {
            context: "coinbase-advanced products",
            detail: format!(
                "no products ({}: {})",
                answer.error.unwrap_or_default(),
                answer.message.unwrap_or_default()
            ),
        });
    };
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for p in &products {
        if p.product_type.as_deref().is_some_and(|t| t != "SPOT") {
            continue;
        }
        let asset = |id: &Option<String>, display: &Option<String>| {
            id.as_deref()
                .filter(|s| !s.is_empty())
                .or(display.as_deref().filter(|s| !s.is_empty()))
                .map(str::to_string)
                .ok_or_else(|| ParseError::Invalid {
                    context: "coinbase-advanced product",
                    detail: format!("{} names no base or quote currency", p.product_id),
                })
        };
        let base = asset(&p.base_currency_id, &p.base_display_symbol)?;
        let quote = asset(&p.quote_currency_id, &p.quote_display_symbol)?;
        let spec = Instrument {
            tick_size: dec_opt(
                p.price_increment.as_deref(),
                "coinbase-advanced price_increment",
            )?,
            lot_size: dec_opt(
                p.base_increment.as_deref(),
                "coinbase-advanced base_increment",
            )?,
            status: status(p),
            ..pair(&base, &quote, None)
        };
        out.push(Listed::new(Market::Spot, &p.product_id, spec));
    }
    Ok(out)
}

fn status(p: &Product) -> InstrumentStatus {
    let flag = |f: Option<bool>| f.unwrap_or(false);
    let blocked = flag(p.trading_disabled)
        || flag(p.is_disabled)
        || flag(p.cancel_only)
        || flag(p.post_only)
        || flag(p.view_only)
        || flag(p.auction_mode);
    match p.status.as_deref() {
        Some("delisted") => InstrumentStatus::Delisted,
        Some("online") if !blocked => InstrumentStatus::Trading,
        _ => InstrumentStatus::Halted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::testing::{self, rows};

    /// The documented `Product` fields for `BTC-USD` (example values of the schema
    /// replaced by the product's real increments), its USDC alias book `BTC-USDC`
    /// (`view_only` set here to cover the status map), and a future (dropped: spot
    /// only).
    const EXAMPLE: &str = r#"{
      "products": [
        {
          "product_id": "BTC-USD",
          "price": "140.21",
          "price_percentage_change_24h": "9.43%",
          "volume_24h": "1908432",
          "volume_percentage_change_24h": "9.43%",
          "base_increment": "0.00000001",
          "quote_increment": "0.01",
          "quote_min_size": "1",
          "quote_max_size": "150000000",
          "base_min_size": "0.00000001",
          "base_max_size": "3400",
          "base_name": "Bitcoin",
          "quote_name": "US Dollar",
          "watched": false,
          "is_disabled": false,
          "new": false,
          "status": "online",
          "cancel_only": false,
          "limit_only": false,
          "post_only": false,
          "trading_disabled": false,
          "auction_mode": false,
          "product_type": "SPOT",
          "quote_currency_id": "USD",
          "base_currency_id": "BTC",
          "mid_market_price": "140.22",
          "alias": "",
          "alias_to": ["BTC-USDC"],
          "base_display_symbol": "BTC",
          "quote_display_symbol": "USD",
          "view_only": false,
          "price_increment": "0.01",
          "display_name": "BTC-USD",
          "product_venue": "CBE"
        },
        {
          "product_id": "BTC-USDC",
          "base_increment": "0.00000001",
          "quote_increment": "0.01",
          "is_disabled": false,
          "status": "online",
          "cancel_only": false,
          "limit_only": false,
          "post_only": false,
          "trading_disabled": false,
          "auction_mode": false,
          "product_type": "SPOT",
          "quote_currency_id": "USDC",
          "base_currency_id": "BTC",
          "alias": "BTC-USD",
          "alias_to": [],
          "base_display_symbol": "BTC",
          "quote_display_symbol": "USD",
          "view_only": true,
          "price_increment": "0.01",
          "display_name": "BTC-USDC",
          "product_venue": "CBE"
        },
        {
          "product_id": "BIT-27DEC24-CDE",
          "base_increment": "1",
          "quote_increment": "0.01",
          "status": "online",
          "trading_disabled": false,
          "product_type": "FUTURE",
          "quote_currency_id": "USD",
          "base_currency_id": "",
          "price_increment": "5",
          "display_name": "BTC 27 DEC 24",
          "product_venue": "FCM"
        }
      ],
      "num_products": 3
    }"#;

    #[test]
    fn spot_products_by_currency_ids() {
        let got = parse(Market::Spot, EXAMPLE).unwrap();
        let rows = rows(&got);
        let btc_usd = testing::instrument(
            ("BTC", "USD", None),
            ("0.01", "0.00000001"),
            InstrumentStatus::Trading,
        );
        let btc_usdc = testing::instrument(
            ("BTC", "USDC", None),
            ("0.01", "0.00000001"),
            InstrumentStatus::Halted,
        );
        assert_eq!(
            rows,
            [
                ("BTC-USD", "BTC-USD", Market::Spot, &btc_usd),
                ("BTC-USDC", "BTC-USDC", Market::Spot, &btc_usdc),
            ]
        );
        assert!(parse(Market::Future, EXAMPLE).unwrap().is_empty());
    }

    #[test]
    fn url_and_refusal() {
        assert_eq!(
            urls(Market::Spot, "https://api.coinbase.com"),
            ["https://api.coinbase.com/api/v3/brokerage/market/products?product_type=SPOT"]
        );
        assert!(urls(Market::Perp, "https://api.coinbase.com").is_empty());
        let err = parse(
            Market::Spot,
            r#"{"error":"INVALID_ARGUMENT","message":"bad product_type"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad product_type"), "{err}");
    }
}

//! Coinbase Exchange reference data: `GET /products` ("Get all known trading pairs"),
//! a JSON array of every product.
//!
//! Document followed: docs.cdp.coinbase.com, Exchange API → REST API → Products → "Get
//! all known trading pairs" (stored copy consulted 2026-12-02; the page names the
//! 2022-06-30 removal of `base_max_size`, `base_min_size`, `max_market_funds` as its
//! latest change). `quote_increment` is the price increment, `base_increment` the size
//! increment; `trading_disabled` restricts new orders and cancellations, `cancel_only`
//! accepts only cancellations, `post_only` matches nothing, `status` is `online`,
//! `offline`, `internal` or `delisted`.
//!
//! Mapping: native = `id` (the product id the feed subscribes and names, `BTC-USD`);
//! base/quote = `base_currency`/`quote_currency`; tick = `quote_increment`; lot =
//! `base_increment`. Status: `delisted` → delisted; `online` and neither
//! `trading_disabled`, `cancel_only`, `post_only` nor `auction_mode` → trading
//! (`limit_only` still matches); anything else → halted.

use serde::Deserialize;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::convert::dec_opt;
use crate::instruments::{pair, Listed};

/// The products list under `rest_url`, for the spot market.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!("{}/products", rest_url.trim_end_matches('/'))],
        _ => Vec::new(),
    }
}

/// One product (fields the list may lack default to absent/false: recordings from
/// 2021 predate `auction_mode`).
#[derive(Debug, Deserialize)]
struct Product {
    id: String,
    base_currency: String,
    quote_currency: String,
    #[serde(default)]
    quote_increment: Option<String>,
    #[serde(default)]
    base_increment: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    trading_disabled: Option<bool>,
    #[serde(default)]
    cancel_only: Option<bool>,
    #[serde(default)]
    post_only: Option<bool>,
    #[serde(default)]
    auction_mode: Option<bool>,
}

/// An error answer: `{"message":"..."}`.
#[derive(Debug, Deserialize)]
struct Refused {
    message: String,
}

/// The spot products of one `/products` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let products: Vec<Product> = match serde_json::from_str(body) {
        Ok(p) => p,
        Err(e) => {
            return Err(match serde_json::from_str::<Refused>(body) {
                Ok(r) => ParseError::Invalid {
                    context: "coinbase products",
                    detail: r.message,
                },
                Err(_) => e.into(),
            })
        }
    };
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    products
        .iter()
        .map(|p| {
            let spec = Instrument {
                tick_size: dec_opt(p.quote_increment.as_deref(), "coinbase quote_increment")?,
                lot_size: dec_opt(p.base_increment.as_deref(), "coinbase base_increment")?,
                status: status(p),
                ..pair(&p.base_currency, &p.quote_currency, None)
            };
            Ok(Listed::new(Market::Spot, &p.id, spec))
        })
        .collect()
}

fn status(p: &Product) -> InstrumentStatus {
    let flag = |f: Option<bool>| f.unwrap_or(false);
    match p.status.as_deref() {
        Some("delisted") => InstrumentStatus::Delisted,
        Some("online")
            if !flag(p.trading_disabled)
                && !flag(p.cancel_only)
                && !flag(p.post_only)
                && !flag(p.auction_mode) =>
        {
            InstrumentStatus::Trading
        }
        _ => InstrumentStatus::Halted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::testing::{self, rows};

    /// The documented example product (`BTC-USD`; its `auction_mode` set to `false`
    /// here), and two more in the same shape: one with trading disabled, one delisted.
    const EXAMPLE: &str = r#"[
      {
        "id": "BTC-USD",
        "base_currency": "BTC",
        "quote_currency": "USD",
        "quote_increment": "0.01000000",
        "base_increment": "0.00000001",
        "display_name": "BTC/USD",
        "min_market_funds": "10",
        "margin_enabled": false,
        "post_only": false,
        "limit_only": false,
        "cancel_only": false,
        "status": "online",
        "status_message": "",
        "auction_mode": false
      },
      {
        "id": "ETH-EUR",
        "base_currency": "ETH",
        "quote_currency": "EUR",
        "quote_increment": "0.01",
        "base_increment": "0.00000001",
        "display_name": "ETH/EUR",
        "min_market_funds": "1",
        "margin_enabled": false,
        "post_only": false,
        "limit_only": true,
        "cancel_only": false,
        "trading_disabled": true,
        "status": "online",
        "status_message": "",
        "auction_mode": false
      },
      {
        "id": "OMG-GBP",
        "base_currency": "OMG",
        "quote_currency": "GBP",
        "quote_increment": "0.0001",
        "base_increment": "0.1",
        "display_name": "OMG/GBP",
        "min_market_funds": "1",
        "margin_enabled": false,
        "post_only": false,
        "limit_only": false,
        "cancel_only": false,
        "status": "delisted",
        "status_message": "",
        "auction_mode": false
      }
    ]"#;

    #[test]
    fn products_with_increments_and_status() {
        let got = parse(Market::Spot, EXAMPLE).unwrap();
        let rows = rows(&got);
        assert_eq!(
            rows,
            [
                (
                    "BTC-USD",
                    "BTC-USD",
                    Market::Spot,
                    &testing::instrument(
                        ("BTC", "USD", None),
                        ("0.01", "0.00000001"),
                        InstrumentStatus::Trading
                    )
                ),
                (
                    "ETH-EUR",
                    "ETH-EUR",
                    Market::Spot,
                    &testing::instrument(
                        ("ETH", "EUR", None),
                        ("0.01", "0.00000001"),
                        InstrumentStatus::Halted
                    )
                ),
                (
                    "OMG-GBP",
                    "OMG-GBP",
                    Market::Spot,
                    &testing::instrument(
                        ("OMG", "GBP", None),
                        ("0.0001", "0.1"),
                        InstrumentStatus::Delisted
                    )
                ),
            ]
        );
        assert!(parse(Market::Perp, EXAMPLE).unwrap().is_empty());
    }

    #[test]
    fn url_and_refusal() {
        assert_eq!(
            urls(Market::Spot, "https://api.exchange.coinbase.com/"),
            ["https://api.exchange.coinbase.com/products"]
        );
        assert!(urls(Market::Perp, "https://api.exchange.coinbase.com").is_empty());
        let err = parse(Market::Spot, r#"{"message":"Internal server error"}"#).unwrap_err();
        assert!(err.to_string().contains("Internal server error"), "{err}");
    }
}

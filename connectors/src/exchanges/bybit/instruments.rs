//! Bybit v5 reference data: `GET /v5/market/instruments-info?category=spot|linear|inverse`
//! ("Get Instruments Info"), `{"retCode":0,"retMsg":"OK","result":{"category":..,
//! "list":[..],"nextPageCursor":".."},..}`.
//!
//! Document followed: bybit-exchange.github.io/docs/v5/market/instrument, "Get
//! Instruments Info" (stored copy consulted 2026-12-02, undated), and the v5 enums page
//! (`contractType` `LinearPerpetual`, `InversePerpetual`, `LinearFutures`,
//! `InverseFutures`; `status` `PreLaunch`, `Trading`, `Delivering`, `Closed`).
//!
//! Requests, per market: `spot` → `category=spot`; `perp` and `future` → `category=linear`
//! and `category=inverse` (USDT and USDC contracts are linear, coin-margined ones
//! inverse), the contract type telling perpetuals from dated futures. Without a
//! `status` parameter Bybit returns only `Trading` symbols.
//!
//! Pagination: linear and inverse lists are cursor-paginated (500 entries by default,
//! at most 1000 per page; spot is not paginated and ignores `limit`/`cursor`). The URLs
//! ask for `limit=1000`, which holds every linear contract listed today; a response
//! with a non-empty `nextPageCursor` has more pages, which are not requested: fetching
//! them needs the caller to repeat the request with `&cursor=<nextPageCursor>` (the
//! parse of each page is the same).
//!
//! Mapping: native = `symbol` (what the topics name: `BTCUSDT`, `BTCPERP`, `BTCUSD`,
//! `BTCUSDH25`, `BTCUSDT-26DEC25`); base/quote = `baseCoin`/`quoteCoin`; settle =
//! `settleCoin` (derivatives); expiry = `deliveryTime` (dated futures; on perpetuals it
//! is a delisting time, not an expiry); tick = `priceFilter.tickSize`; lot =
//! `lotSizeFilter.qtyStep` (derivatives) or `lotSizeFilter.basePrecision` (spot).
//! Bybit lists no contract size (linear contracts are one unit of the base coin, inverse
//! ones one unit of the quote coin), so none is filled. Status: `Trading` trades;
//! `PreLaunch`, `Delivering` (and anything undocumented) are halted; `Closed` is
//! delisted.

use serde::Deserialize;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use super::Category;
use crate::contract::ParseError;
use crate::convert::dec_opt;
use crate::instruments::{pair, Listed};

/// Entries asked for per page (the documented maximum).
pub const PAGE_LIMIT: usize = 1000;

/// The instrument lists serving `market` under `rest_url` (see the module docs).
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    let base = format!(
        "{}/v5/market/instruments-info",
        rest_url.trim_end_matches('/')
    );
    match market {
        Market::Spot => vec![format!("{base}?category=spot")],
        Market::Perp | Market::Future => [Category::Linear, Category::Inverse]
            .iter()
            .map(|c| format!("{base}?category={}&limit={PAGE_LIMIT}", c.as_str()))
            .collect(),
        Market::Option => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
    #[serde(default)]
    result: Option<Page>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    category: String,
    #[serde(default)]
    list: Vec<Item>,
}

/// A spot, linear or inverse instrument (fields a category lacks default to absent).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    symbol: String,
    #[serde(default)]
    contract_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    base_coin: String,
    quote_coin: String,
    #[serde(default)]
    settle_coin: Option<String>,
    #[serde(default)]
    delivery_time: Option<String>,
    #[serde(default)]
    price_filter: Option<PriceFilter>,
    #[serde(default)]
    lot_size_filter: Option<LotSizeFilter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceFilter {
    #[serde(default)]
    tick_size: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LotSizeFilter {
    /// Linear and inverse.
    #[serde(default)]
    qty_step: Option<String>,
    /// Spot.
    #[serde(default)]
    base_precision: Option<String>,
}

/// The category a response lists: the body's `result.category`, else the request's.
fn category(listed: &str, url: &str) -> Option<Category> {
    let from_url = url
        .split_once("category=")
        .map(|(_, rest)| rest.split('&').next().unwrap_or(""));
    let name = if listed.is_empty() { from_url? } else { listed };
    match name {
        "spot" => Some(Category::Spot),
        "linear" => Some(Category::Linear),
        "inverse" => Some(Category::Inverse),
        _ => None,
    }
}

/// The instruments of `market` in one instruments-info response (one page).
pub fn parse(market: Market, url: &str, body: &str) -> Result<Vec<Listed>, ParseError> {
    let answer: Answer = serde_json::from_str(body)?;
    let page = match answer.result {
        Some(page) if answer.ret_code == 0 => page,
        _ => {
            return Err(ParseError::Invalid {
                context: "bybit instruments-info",
                detail: format!("retCode {}: {}", answer.ret_code, answer.ret_msg),
            })
        }
    };
    let Some(category) = category(&page.category, url) else {
        return Err(ParseError::Invalid {
            context: "bybit instruments-info",
            detail: format!("unknown category {:?}", page.category),
        });
    };
    let mut out = Vec::new();
    for item in &page.list {
        let (m, dated) = match (category, item.contract_type.as_deref()) {
            (Category::Spot, _) => (Market::Spot, false),
            (_, Some("LinearPerpetual" | "InversePerpetual")) => (Market::Perp, false),
            (_, Some("LinearFutures" | "InverseFutures")) => (Market::Future, true),
            // An undocumented contract type: not guessed.
            _ => continue,
        };
        if m != market {
            continue;
        }
        let settle = match category {
            Category::Spot => None,
            _ => item.settle_coin.as_deref().filter(|s| !s.is_empty()),
        };
        let lot = item.lot_size_filter.as_ref().and_then(|f| match category {
            Category::Spot => f.base_precision.as_deref(),
            _ => f.qty_step.as_deref(),
        });
        let spec = Instrument {
            expiry: if dated {
                item.delivery_time
                    .as_deref()
                    .and_then(crate::convert::ms_text_to_ns)
                    .filter(|&ns| ns > 0)
            } else {
                None
            },
            tick_size: dec_opt(
                item.price_filter
                    .as_ref()
                    .and_then(|f| f.tick_size.as_deref()),
                "bybit priceFilter.tickSize",
            )?,
            lot_size: dec_opt(lot, "bybit lotSizeFilter")?,
            status: status(item.status.as_deref()),
            ..pair(&item.base_coin, &item.quote_coin, settle)
        };
        out.push(Listed::new(market, &item.symbol, spec));
    }
    Ok(out)
}

fn status(status: Option<&str>) -> InstrumentStatus {
    match status {
        Some("Trading") => InstrumentStatus::Trading,
        Some("Closed") => InstrumentStatus::Delisted,
        _ => InstrumentStatus::Halted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::testing::{self, rows};

    /// The documented linear example (`BTCUSDT`, trimmed), with a USDC-settled dated
    /// future and a pre-launch perpetual (constructed, to cover the status map) in the
    /// same documented shape.
    const LINEAR_EXAMPLE: &str = r#"{
      "retCode": 0,
      "retMsg": "OK",
      "result": {
        "category": "linear",
        "list": [
          {
            "symbol": "BTCUSDT",
            "contractType": "LinearPerpetual",
            "status": "Trading",
            "baseCoin": "BTC",
            "quoteCoin": "USDT",
            "launchTime": "1585526400000",
            "deliveryTime": "0",
            "deliveryFeeRate": "",
            "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
            "lotSizeFilter": {
              "maxOrderQty": "1190.000",
              "minOrderQty": "0.001",
              "qtyStep": "0.001",
              "postOnlyMaxOrderQty": "1190.000",
              "maxMktOrderQty": "500.000",
              "minNotionalValue": "5"
            },
            "unifiedMarginTrade": true,
            "fundingInterval": 480,
            "settleCoin": "USDT",
            "copyTrading": "both",
            "upperFundingRate": "0.00375",
            "lowerFundingRate": "-0.00375",
            "isPreListing": false,
            "preListingInfo": null,
            "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
            "displayName": ""
          },
          {
            "symbol": "BTC-26DEC25",
            "contractType": "LinearFutures",
            "status": "Trading",
            "baseCoin": "BTC",
            "quoteCoin": "USDC",
            "launchTime": "1743148800000",
            "deliveryTime": "1766736000000",
            "deliveryFeeRate": "0.0005",
            "priceScale": "1",
            "priceFilter": {"minPrice": "0.5", "maxPrice": "1999999.0", "tickSize": "0.5"},
            "lotSizeFilter": {"maxOrderQty": "500.000", "minOrderQty": "0.001", "qtyStep": "0.001"},
            "settleCoin": "USDC"
          },
          {
            "symbol": "NEWUSDT",
            "contractType": "LinearPerpetual",
            "status": "PreLaunch",
            "baseCoin": "NEW",
            "quoteCoin": "USDT",
            "launchTime": "1766736000000",
            "deliveryTime": "0",
            "priceFilter": {"minPrice": "0.0001", "maxPrice": "199.9998", "tickSize": "0.0001"},
            "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1"},
            "settleCoin": "USDT"
          }
        ],
        "nextPageCursor": ""
      },
      "retExtInfo": {},
      "time": 1707186451514
    }"#;

    /// The documented inverse shape: the perpetual and a quarterly of BTCUSD.
    const INVERSE_EXAMPLE: &str = r#"{
      "retCode": 0,
      "retMsg": "OK",
      "result": {
        "category": "inverse",
        "list": [
          {
            "symbol": "BTCUSD",
            "contractType": "InversePerpetual",
            "status": "Trading",
            "baseCoin": "BTC",
            "quoteCoin": "USD",
            "launchTime": "1542211200000",
            "deliveryTime": "0",
            "priceFilter": {"minPrice": "0.50", "maxPrice": "999999.00", "tickSize": "0.50"},
            "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1"},
            "settleCoin": "BTC"
          },
          {
            "symbol": "BTCUSDH25",
            "contractType": "InverseFutures",
            "status": "Trading",
            "baseCoin": "BTC",
            "quoteCoin": "USD",
            "launchTime": "1727424000000",
            "deliveryTime": "1743148800000",
            "priceFilter": {"minPrice": "0.50", "maxPrice": "999999.00", "tickSize": "0.50"},
            "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1"},
            "settleCoin": "BTC"
          }
        ],
        "nextPageCursor": ""
      },
      "retExtInfo": {},
      "time": 1707186451514
    }"#;

    /// The documented spot example (`BTCUSDT`).
    const SPOT_EXAMPLE: &str = r#"{
      "retCode": 0,
      "retMsg": "OK",
      "result": {
        "category": "spot",
        "list": [
          {
            "symbol": "BTCUSDT",
            "baseCoin": "BTC",
            "quoteCoin": "USDT",
            "innovation": "0",
            "status": "Trading",
            "marginTrading": "utaOnly",
            "stTag": "0",
            "lotSizeFilter": {
              "basePrecision": "0.000001",
              "quotePrecision": "0.00000001",
              "minOrderQty": "0.000048",
              "maxOrderQty": "71.73956243",
              "minOrderAmt": "1",
              "maxOrderAmt": "2000000"
            },
            "priceFilter": {"tickSize": "0.01"},
            "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"}
          }
        ]
      },
      "retExtInfo": {},
      "time": 1707186451514
    }"#;

    const URL: &str = "https://api.bybit.com/v5/market/instruments-info";

    #[test]
    fn linear_perpetuals_and_futures() {
        let url = format!("{URL}?category=linear&limit=1000");
        let perp = parse(Market::Perp, &url, LINEAR_EXAMPLE).unwrap();
        let btc = testing::instrument(
            ("BTC", "USDT", Some("USDT")),
            ("0.1", "0.001"),
            InstrumentStatus::Trading,
        );
        let new = testing::instrument(
            ("NEW", "USDT", Some("USDT")),
            ("0.0001", "1"),
            InstrumentStatus::Halted,
        );
        assert_eq!(
            rows(&perp),
            [
                ("BTCUSDT", "BTC-USDT-PERP", Market::Perp, &btc),
                ("NEWUSDT", "NEW-USDT-PERP", Market::Perp, &new),
            ]
        );
        let future = parse(Market::Future, &url, LINEAR_EXAMPLE).unwrap();
        let dec25 = Instrument {
            expiry: Some(1_766_736_000_000_000_000), // 2025-12-26 08:00 UTC
            ..testing::instrument(
                ("BTC", "USDC", Some("USDC")),
                ("0.5", "0.001"),
                InstrumentStatus::Trading,
            )
        };
        assert_eq!(
            rows(&future),
            [("BTC-26DEC25", "BTC-USDC-251226", Market::Future, &dec25)]
        );
        // The normalized symbols are the ones the WebSocket side derives.
        for l in perp.iter().chain(&future) {
            let ws = super::super::Bybit::normalize(Category::Linear, &l.symbol.native);
            assert_eq!(ws, l.symbol);
        }
    }

    #[test]
    fn inverse_perpetual_and_quarterly() {
        let url = format!("{URL}?category=inverse&limit=1000");
        let perp = parse(Market::Perp, &url, INVERSE_EXAMPLE).unwrap();
        let btc = testing::instrument(
            ("BTC", "USD", Some("BTC")),
            ("0.5", "1"),
            InstrumentStatus::Trading,
        );
        assert_eq!(
            rows(&perp),
            [("BTCUSD", "BTC-USD-PERP", Market::Perp, &btc)]
        );
        let future = parse(Market::Future, &url, INVERSE_EXAMPLE).unwrap();
        let h25 = Instrument {
            expiry: Some(1_743_148_800_000_000_000), // 2025-03-28 08:00 UTC
            ..btc.clone()
        };
        assert_eq!(
            rows(&future),
            [("BTCUSDH25", "BTC-USD-250328", Market::Future, &h25)]
        );
        for l in perp.iter().chain(&future) {
            let ws = super::super::Bybit::normalize(Category::Inverse, &l.symbol.native);
            assert_eq!(ws, l.symbol);
        }
    }

    #[test]
    fn spot_lot_is_the_base_precision() {
        let got = parse(Market::Spot, &format!("{URL}?category=spot"), SPOT_EXAMPLE).unwrap();
        let btc = testing::instrument(
            ("BTC", "USDT", None),
            ("0.01", "0.000001"),
            InstrumentStatus::Trading,
        );
        assert_eq!(rows(&got), [("BTCUSDT", "BTC-USDT", Market::Spot, &btc)]);
        assert!(parse(Market::Perp, URL, SPOT_EXAMPLE).unwrap().is_empty());
    }

    #[test]
    fn urls_per_market_and_refusal() {
        assert_eq!(
            urls(Market::Spot, "https://api.bybit.com"),
            ["https://api.bybit.com/v5/market/instruments-info?category=spot"]
        );
        let derivatives = [
            "https://api.bybit.com/v5/market/instruments-info?category=linear&limit=1000",
            "https://api.bybit.com/v5/market/instruments-info?category=inverse&limit=1000",
        ];
        assert_eq!(urls(Market::Perp, "https://api.bybit.com/"), derivatives);
        assert_eq!(urls(Market::Future, "https://api.bybit.com"), derivatives);
        assert!(urls(Market::Option, "https://api.bybit.com").is_empty());
        let err = parse(
            Market::Spot,
            URL,
            r#"{"retCode":10001,"retMsg":"params error: category is invalid","result":{},"retExtInfo":{},"time":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("10001"), "{err}");
    }
}

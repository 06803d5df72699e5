//! Binance reference data: `GET /api/v3/exchangeInfo` (spot), `GET /fapi/v1/exchangeInfo`
//! (USDⓈ-M futures) and `GET /dapi/v1/exchangeInfo` (COIN-M futures), one response per
//! venue listing every symbol with its filters. Binance.US (`binance-us`) serves the spot
//! response at `/api/v3/exchangeInfo` on its own host (`https://api.binance.us`), parsed
//! as spot. Aster (see [`super::aster`]): `aster` serves the USDⓈ-M response at
//! `/fapi/v1/exchangeInfo` on `https://fapi.asterdex.com` (perpetuals only, parsed as
//! futures), `aster-spot` the spot response at `/api/v1/exchangeInfo` on
//! `https://sapi.asterdex.com` (parsed as spot).
//!
//! Documents followed (developers.binance.com, stored copies consulted 2026-12-02; the
//! pages carry no date of their own):
//! - Spot, "General endpoints" → "Exchange information" (`GET /api/v3/exchangeInfo`),
//!   "Filters" (`PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize`) and "ENUM Definitions"
//!   (symbol status `TRADING`, `END_OF_DAY`, `HALT`, `BREAK`).
//! - USDⓈ-M Futures, Market Data → "Exchange Information" (`GET /fapi/v1/exchangeInfo`,
//!   example symbol `BLZUSDT`), and "Common Definition" (contract types `PERPETUAL`,
//!   `CURRENT_MONTH`, `NEXT_MONTH`, `CURRENT_QUARTER`, `NEXT_QUARTER`,
//!   `PERPETUAL_DELIVERING`; contract status `PENDING_TRADING`, `TRADING`,
//!   `PRE_DELIVERING`, `DELIVERING`, `DELIVERED`, `PRE_SETTLE`, `SETTLING`, `CLOSE`).
//! - COIN-M Futures, Market Data → "Exchange Information" (`GET /dapi/v1/exchangeInfo`:
//!   `contractStatus` instead of `status`, `contractSize` a JSON number, `marginAsset`).
//!
//! Mapping: native = `symbol` (what the streams name: `BTCUSDT`, `BTCUSD_PERP`,
//! `BTCUSDT_240927`); base/quote = `baseAsset`/`quoteAsset`; settle = `marginAsset`
//! (derivatives); tick = `PRICE_FILTER.tickSize`; lot = `LOT_SIZE.stepSize`; contract
//! size = `contractSize` (COIN-M; USDⓈ-M lists none); expiry = `deliveryDate` (dated
//! futures only: perpetuals carry the far-future placeholder 2100-12-25).
//!
//! Market of a futures symbol: a `contractType` naming a perpetual (`PERPETUAL`,
//! `PERPETUAL_DELIVERING`, any `…PERPETUAL…`) is `perp`, any other non-empty one is
//! `future`. Symbols being delisted or not yet listed may carry `contractType: ""`
//! (recorded: `BTCSTUSDT`, `PENDING_TRADING`); those are perpetual when their
//! `deliveryDate` is the perpetual placeholder (or absent), dated otherwise.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::{Instrument, InstrumentStatus, Market};

use super::Venue;
use crate::contract::ParseError;
use crate::convert::{dec_opt, dec_raw};
use crate::instruments::{pair, Listed};

/// `deliveryDate` of every perpetual: 2100-12-25 08:00 UTC, in ms.
const PERPETUAL_DELIVERY_MS: i64 = 4_133_404_800_000;

/// The exchange-information URL of `venue`, for the markets it serves.
pub fn urls(venue: Venue, market: Market, rest_url: &str) -> Vec<String> {
    let base = rest_url.trim_end_matches('/');
    let path = match (venue, market) {
        (Venue::Spot | Venue::Us, Market::Spot) => "/api/v3/exchangeInfo",
        (Venue::AsterSpot, Market::Spot) => "/api/v1/exchangeInfo",
        (Venue::UsdM, Market::Perp | Market::Future) => "/fapi/v1/exchangeInfo",
        (Venue::Aster, Market::Perp) => "/fapi/v1/exchangeInfo",
        (Venue::CoinM, Market::Perp | Market::Future) => "/dapi/v1/exchangeInfo",
        _ => return Vec::new(),
    };
    vec![format!("{base}{path}")]
}

/// `{"timezone":"UTC","serverTime":..,"rateLimits":[..],"symbols":[..]}`; an error
/// answer is `{"code":-1121,"msg":".."}`.
#[derive(Debug, Deserialize)]
struct ExchangeInfo {
    #[serde(default)]
    symbols: Option<Vec<Symbol>>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    msg: Option<String>,
}

/// One symbol of any venue (fields absent on a venue default to `None`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Symbol {
    symbol: String,
    /// Spot and USDⓈ-M.
    #[serde(default)]
    status: Option<String>,
    /// COIN-M.
    #[serde(default)]
    contract_status: Option<String>,
    base_asset: String,
    quote_asset: String,
    #[serde(default)]
    margin_asset: Option<String>,
    #[serde(default)]
    contract_type: Option<String>,
    #[serde(default)]
    delivery_date: Option<i64>,
    /// COIN-M, a JSON number (`100`).
    #[serde(default)]
    contract_size: Option<Box<RawValue>>,
    #[serde(default)]
    filters: Vec<Filter>,
}

/// `{"filterType":"PRICE_FILTER","minPrice":"0.00000100","maxPrice":"100000.00000000","tickSize":"0.00000100"}`,
/// `{"filterType":"LOT_SIZE","minQty":"0.00100000","maxQty":"100000.00000000","stepSize":"0.00100000"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    filter_type: String,
    #[serde(default)]
    tick_size: Option<String>,
    #[serde(default)]
    step_size: Option<String>,
}

/// The instruments of `market` in one exchange-information response of `venue`.
pub fn parse(venue: Venue, market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let info: ExchangeInfo = serde_json::from_str(body)?;
    let Some(symbols) = info.symbols else {
        return Err(ParseError::Invalid {
            context: "binance exchangeInfo",
            detail: format!(
                "no symbols (code {:?}: {})",
                info.code,
                info.msg.unwrap_or_default()
            ),
        });
    };
    let mut out = Vec::new();
    for s in symbols {
        let (m, expiry) = match venue {
            v if v.is_spot() => (Market::Spot, None),
            _ => futures_market(&s),
        };
        if m != market {
            continue;
        }
        let filter = |kind: &str| s.filters.iter().find(|f| f.filter_type == kind);
        let settle = match venue {
            v if v.is_spot() => None,
            _ => s.margin_asset.as_deref().filter(|a| !a.is_empty()),
        };
        let status_text = s.status.as_deref().or(s.contract_status.as_deref());
        let spec = Instrument {
            expiry,
            tick_size: dec_opt(
                filter("PRICE_FILTER").and_then(|f| f.tick_size.as_deref()),
                "binance PRICE_FILTER.tickSize",
            )?,
            lot_size: dec_opt(
                filter("LOT_SIZE").and_then(|f| f.step_size.as_deref()),
                "binance LOT_SIZE.stepSize",
            )?,
            contract_size: s
                .contract_size
                .as_deref()
                .map(|raw| dec_raw(raw, "binance contractSize"))
                .transpose()?,
            status: match venue {
                v if v.is_spot() => spot_status(status_text),
                _ => futures_status(status_text),
            },
            ..pair(&s.base_asset, &s.quote_asset, settle)
        };
        out.push(Listed::new(market, &s.symbol, spec));
    }
    Ok(out)
}

/// The market of a futures symbol and its expiry in ns (see the module docs).
fn futures_market(s: &Symbol) -> (Market, Option<i64>) {
    let dated = |ms: Option<i64>| {
        (
            Market::Future,
            ms.filter(|&ms| ms > 0).map(crate::time::ms_to_ns),
        )
    };
    match s.contract_type.as_deref().unwrap_or("") {
        t if t.contains("PERPETUAL") => (Market::Perp, None),
        "" => match s.delivery_date {
            Some(ms) if ms < PERPETUAL_DELIVERY_MS => dated(Some(ms)),
            _ => (Market::Perp, None),
        },
        _ => dated(s.delivery_date),
    }
}

/// Spot symbol status: only `TRADING` trades; `HALT`, `BREAK`, `END_OF_DAY` (and the
/// former `PRE_TRADING`, `POST_TRADING`, `AUCTION_MATCH`) are listed but not trading.
/// Binance removes delisted symbols from the list rather than marking them.
fn spot_status(status: Option<&str>) -> InstrumentStatus {
    match status {
        Some("TRADING") => InstrumentStatus::Trading,
        _ => InstrumentStatus::Halted,
    }
}

/// Futures contract status: `TRADING` trades; `DELIVERED` and `CLOSE` are settled or
/// delisted; `PENDING_TRADING`, `PRE_DELIVERING`, `DELIVERING`, `PRE_SETTLE`,
/// `SETTLING` (and anything undocumented) are listed but not trading.
fn futures_status(status: Option<&str>) -> InstrumentStatus {
    match status {
        Some("TRADING") => InstrumentStatus::Trading,
        Some("DELIVERED" | "CLOSE") => InstrumentStatus::Delisted,
        _ => InstrumentStatus::Halted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::testing::{self, d, rows};

    /// The documented spot example (`ETHBTC`), with the documented `PRICE_FILTER` and
    /// `LOT_SIZE` formats of the Filters page (the page's example has `"filters": []`);
    /// the second symbol is the first in `BREAK`, to cover the status map.
    const SPOT_EXAMPLE: &str = r#"{
      "timezone": "UTC",
      "serverTime": 1565246363776,
      "rateLimits": [],
      "exchangeFilters": [],
      "symbols": [
        {
          "symbol": "ETHBTC",
          "status": "TRADING",
          "baseAsset": "ETH",
          "baseAssetPrecision": 8,
          "quoteAsset": "BTC",
          "quotePrecision": 8,
          "quoteAssetPrecision": 8,
          "baseCommissionPrecision": 8,
          "quoteCommissionPrecision": 8,
          "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"],
          "icebergAllowed": true,
          "ocoAllowed": true,
          "otoAllowed": true,
          "quoteOrderQtyMarketAllowed": true,
          "allowTrailingStop": false,
          "cancelReplaceAllowed": false,
          "amendAllowed": false,
          "isSpotTradingAllowed": true,
          "isMarginTradingAllowed": true,
          "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000", "tickSize": "0.00000100"},
            {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000", "stepSize": "0.00100000"}
          ],
          "permissions": [],
          "permissionSets": [["SPOT", "MARGIN"]],
          "defaultSelfTradePreventionMode": "NONE",
          "allowedSelfTradePreventionModes": ["NONE"]
        },
        {
          "symbol": "LTCBTC",
          "status": "BREAK",
          "baseAsset": "LTC",
          "quoteAsset": "BTC",
          "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000", "tickSize": "0.00000100"},
            {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000", "stepSize": "0.00100000"}
          ]
        }
      ]
    }"#;

    /// The documented USDⓈ-M example (`BLZUSDT`, trimmed to its filters of interest),
    /// and a dated quarterly contract in the same documented shape.
    const USDM_EXAMPLE: &str = r#"{
      "exchangeFilters": [],
      "rateLimits": [],
      "serverTime": 1565613908500,
      "assets": [{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "-10000"}],
      "symbols": [
        {
          "symbol": "BLZUSDT",
          "pair": "BLZUSDT",
          "contractType": "PERPETUAL",
          "deliveryDate": 4133404800000,
          "onboardDate": 1598252400000,
          "status": "TRADING",
          "maintMarginPercent": "2.5000",
          "requiredMarginPercent": "5.0000",
          "baseAsset": "BLZ",
          "quoteAsset": "USDT",
          "marginAsset": "USDT",
          "pricePrecision": 5,
          "quantityPrecision": 0,
          "baseAssetPrecision": 8,
          "quotePrecision": 8,
          "underlyingType": "COIN",
          "underlyingSubType": ["STORAGE"],
          "settlePlan": 0,
          "triggerProtect": "0.15",
          "filters": [
            {"filterType": "PRICE_FILTER", "maxPrice": "300", "minPrice": "0.0001", "tickSize": "0.0001"},
            {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "1", "stepSize": "1"},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": "5.0"}
          ],
          "orderTypes": ["LIMIT", "MARKET", "STOP"],
          "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
          "liquidationFee": "0.010000",
          "marketTakeBound": "0.30"
        },
        {
          "symbol": "BTCUSDT_240927",
          "pair": "BTCUSDT",
          "contractType": "CURRENT_QUARTER",
          "deliveryDate": 1727424000000,
          "onboardDate": 1711701600000,
          "status": "TRADING",
          "baseAsset": "BTC",
          "quoteAsset": "USDT",
          "marginAsset": "USDT",
          "filters": [
            {"filterType": "PRICE_FILTER", "maxPrice": "1000000", "minPrice": "576.3", "tickSize": "0.1"},
            {"filterType": "LOT_SIZE", "maxQty": "500", "minQty": "0.001", "stepSize": "0.001"}
          ]
        }
      ]
    }"#;

    /// The documented COIN-M shape (`contractStatus`, numeric `contractSize`): the
    /// perpetual (values as listed in 2021) and the documented quarterly of BTCUSD, and
    /// a delivered contract with `contractType: ""`, constructed to cover that rule.
    const COINM_EXAMPLE: &str = r#"{
      "exchangeFilters": [],
      "rateLimits": [],
      "serverTime": 1565613908500,
      "symbols": [
        {
          "symbol": "BTCUSD_PERP",
          "pair": "BTCUSD",
          "contractType": "PERPETUAL",
          "deliveryDate": 4133404800000,
          "onboardDate": 1597042800000,
          "contractStatus": "TRADING",
          "contractSize": 100,
          "marginAsset": "BTC",
          "maintMarginPercent": "2.5000",
          "requiredMarginPercent": "5.0000",
          "baseAsset": "BTC",
          "quoteAsset": "USD",
          "pricePrecision": 1,
          "quantityPrecision": 0,
          "baseAssetPrecision": 8,
          "quotePrecision": 8,
          "equalQtyPrecision": 4,
          "triggerProtect": "0.0500",
          "underlyingType": "COIN",
          "underlyingSubType": [],
          "filters": [
            {"minPrice": "1000", "maxPrice": "1000000", "filterType": "PRICE_FILTER", "tickSize": "0.1"},
            {"stepSize": "1", "filterType": "LOT_SIZE", "maxQty": "1000000", "minQty": "1"}
          ],
          "orderTypes": ["LIMIT", "MARKET"],
          "timeInForce": ["GTC", "IOC", "FOK", "GTX"]
        },
        {
          "symbol": "BTCUSD_200925",
          "pair": "BTCUSD",
          "contractType": "CURRENT_QUARTER",
          "deliveryDate": 1601020800000,
          "onboardDate": 1590739200000,
          "contractStatus": "TRADING",
          "contractSize": 100,
          "marginAsset": "BTC",
          "baseAsset": "BTC",
          "quoteAsset": "USD",
          "filters": [
            {"minPrice": "0.1", "maxPrice": "100000", "filterType": "PRICE_FILTER", "tickSize": "0.1"},
            {"stepSize": "1", "filterType": "LOT_SIZE", "maxQty": "100000", "minQty": "1"}
          ]
        },
        {
          "symbol": "ETHUSD_200626",
          "pair": "ETHUSD",
          "contractType": "",
          "deliveryDate": 1593158400000,
          "onboardDate": 1585814400000,
          "contractStatus": "DELIVERED",
          "contractSize": 10,
          "marginAsset": "ETH",
          "baseAsset": "ETH",
          "quoteAsset": "USD",
          "filters": [
            {"minPrice": "0.01", "maxPrice": "100000", "filterType": "PRICE_FILTER", "tickSize": "0.01"},
            {"stepSize": "1", "filterType": "LOT_SIZE", "maxQty": "100000", "minQty": "1"}
          ]
        }
      ]
    }"#;

    #[test]
    fn spot_symbols_with_filters_and_status() {
        let got = parse(Venue::Spot, Market::Spot, SPOT_EXAMPLE).unwrap();
        let eth = testing::instrument(
            ("ETH", "BTC", None),
            ("0.000001", "0.001"),
            InstrumentStatus::Trading,
        );
        let ltc = Instrument {
            base: "LTC".into(),
            quote: "BTC".into(),
            status: InstrumentStatus::Halted,
            ..eth.clone()
        };
        assert_eq!(
            rows(&got),
            [
                ("ETHBTC", "ETH-BTC", Market::Spot, &eth),
                ("LTCBTC", "LTC-BTC", Market::Spot, &ltc),
            ]
        );
        // Spot lists no derivatives.
        assert!(parse(Venue::Spot, Market::Perp, SPOT_EXAMPLE)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn usdm_perpetuals_and_quarterlies_split_by_contract_type() {
        let perp = parse(Venue::UsdM, Market::Perp, USDM_EXAMPLE).unwrap();
        let blz = testing::instrument(
            ("BLZ", "USDT", Some("USDT")),
            ("0.0001", "1"),
            InstrumentStatus::Trading,
        );
        assert_eq!(
            rows(&perp),
            [("BLZUSDT", "BLZ-USDT-PERP", Market::Perp, &blz)]
        );
        let future = parse(Venue::UsdM, Market::Future, USDM_EXAMPLE).unwrap();
        let btc = Instrument {
            expiry: Some(1_727_424_000_000_000_000), // 2024-09-27 08:00 UTC
            ..testing::instrument(
                ("BTC", "USDT", Some("USDT")),
                ("0.1", "0.001"),
                InstrumentStatus::Trading,
            )
        };
        assert_eq!(
            rows(&future),
            [("BTCUSDT_240927", "BTC-USDT-240927", Market::Future, &btc)]
        );
    }

    #[test]
    fn coinm_contract_size_margin_asset_and_delivered_status() {
        let perp = parse(Venue::CoinM, Market::Perp, COINM_EXAMPLE).unwrap();
        let btc_perp = Instrument {
            contract_size: d("100"),
            ..testing::instrument(
                ("BTC", "USD", Some("BTC")),
                ("0.1", "1"),
                InstrumentStatus::Trading,
            )
        };
        assert_eq!(
            rows(&perp),
            [("BTCUSD_PERP", "BTC-USD-PERP", Market::Perp, &btc_perp)]
        );
        let future = parse(Venue::CoinM, Market::Future, COINM_EXAMPLE).unwrap();
        let btc_q = Instrument {
            expiry: Some(1_601_020_800_000_000_000), // 2020-09-25 08:00 UTC
            ..btc_perp.clone()
        };
        let eth = Instrument {
            expiry: Some(1_593_158_400_000_000_000), // 2020-06-26 08:00 UTC
            contract_size: d("10"),
            ..testing::instrument(
                ("ETH", "USD", Some("ETH")),
                ("0.01", "1"),
                InstrumentStatus::Delisted,
            )
        };
        assert_eq!(
            rows(&future),
            [
                ("BTCUSD_200925", "BTC-USD-200925", Market::Future, &btc_q),
                // `contractType: ""` with a real delivery date: a dated future.
                ("ETHUSD_200626", "ETH-USD-200626", Market::Future, &eth),
            ]
        );
    }

    #[test]
    fn urls_per_venue_and_market() {
        assert_eq!(
            urls(Venue::Spot, Market::Spot, "https://api.binance.com/"),
            ["https://api.binance.com/api/v3/exchangeInfo"]
        );
        assert_eq!(
            urls(Venue::UsdM, Market::Future, "https://fapi.binance.com"),
            ["https://fapi.binance.com/fapi/v1/exchangeInfo"]
        );
        assert_eq!(
            urls(Venue::CoinM, Market::Perp, "https://dapi.binance.com"),
            ["https://dapi.binance.com/dapi/v1/exchangeInfo"]
        );
        assert!(urls(Venue::Spot, Market::Perp, "https://api.binance.com").is_empty());
        assert!(urls(Venue::UsdM, Market::Spot, "https://fapi.binance.com").is_empty());
    }

    #[test]
    fn an_error_answer_is_an_error() {
        let err = parse(
            Venue::Spot,
            Market::Spot,
            r#"{"code":-1121,"msg":"Invalid symbol."}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("Invalid symbol"), "{err}");
    }
}

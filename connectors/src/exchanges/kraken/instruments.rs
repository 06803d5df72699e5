//! Kraken spot reference data: `GET /0/public/AssetPairs` ("Get Tradable Asset Pairs"),
//! `{"error":[],"result":{"XXBTZUSD":{..},..}}`.
//!
//! Document followed: docs.kraken.com, Spot REST API → Market Data → "Get Tradable
//! Asset Pairs" (the Spot REST OpenAPI `spot-rest.yaml`, version 1.1.0; stored copy
//! consulted 2026-12-02, undated), with the asset-pair status values of the same API
//! (`online`, `cancel_only`, `post_only`, `limit_only`, `reduce_only`; the FIX instrument
//! list adds `maintenance` and `delisted`), and the WebSocket v2 symbol convention
//! (`BTC/USD`: v2 names bitcoin `BTC` and dogecoin `DOGE` where v1 and REST say `XBT`
//! and `XDG`).
//!
//! Mapping: native = `wsname` with the v2 asset names (`XBT/USD` → `BTC/USD`,
//! `XDG/EUR` → `DOGE/EUR`, `ADA/XBT` → `ADA/BTC`): exactly what v2 subscribes and
//! names. Pairs without `wsname` (the `.d` dark-pool books) are not on the WebSocket
//! and are left out. Base/quote = the `base`/`quote` asset codes, with Kraken's legacy
//! `X`/`Z` prefixes dropped where the pair's `wsname` names the asset without them
//! (`XXBT`→`XBT`, `ZUSD`→`USD`, `XETH`→`ETH`; `XTZ` stays `XTZ`), then the v2 names
//! (`XBT`→`BTC`, `XDG`→`DOGE`): `ADA/XBT` is `ADA-BTC`. Tick = `tick_size`, else one
//! unit of `pair_decimals`; lot = one unit of `lot_decimals`. Status: `online`,
//! `limit_only`, `reduce_only` trade; `cancel_only`, `post_only` (nothing matches),
//! `maintenance` are halted; `delisted` is delisted; a list without `status` (older than
//! the field) is taken as trading.

use std::collections::BTreeMap;

use serde::Deserialize;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::convert::dec_opt;
use crate::instruments::{pair, Listed};

/// The asset-pairs URL under `rest_url`, for the spot market.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!(
            "{}/0/public/AssetPairs",
            rest_url.trim_end_matches('/')
        )],
        _ => Vec::new(),
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    error: Vec<String>,
    #[serde(default)]
    result: Option<BTreeMap<String, AssetPair>>,
}

/// `{"altname":"XBTUSD","wsname":"XBT/USD","aclass_base":"currency","base":"XXBT","aclass_quote":"currency","quote":"ZUSD","pair_decimals":1,"cost_decimals":5,"lot_decimals":8,"lot_multiplier":1,..,"ordermin":"0.0001","costmin":"0.5","tick_size":"0.1","status":"online"}`
#[derive(Debug, Deserialize)]
struct AssetPair {
    #[serde(default)]
    wsname: Option<String>,
    base: String,
    quote: String,
    #[serde(default)]
    pair_decimals: Option<u32>,
    #[serde(default)]
    lot_decimals: Option<u32>,
    #[serde(default)]
    tick_size: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// The v2 name of a REST/v1 asset name.
fn v2_asset(name: &str) -> &str {
    match name {
        "XBT" => "BTC",
        "XDG" => "DOGE",
        other => other,
    }
}

/// The asset a pair's `code` (`base` or `quote`) names, given the same asset as its
/// `wsname` spells it: the legacy prefix is dropped only where the `wsname` confirms it.
fn asset<'a>(code: &'a str, ws: &'a str) -> &'a str {
    let legacy =
        code.len() == 4 && (code.starts_with('X') || code.starts_with('Z')) && &code[1..] == ws;
    v2_asset(if legacy { ws } else { code })
}

/// One unit of the last of `decimals` places (`2` → `0.01`).
fn step(decimals: Option<u32>, context: &'static str) -> Result<Option<Dec>, ParseError> {
    decimals
        .map(|n| {
            Dec::parse(&format!("1e-{n}")).map_err(|e| ParseError::Invalid {
                context,
                detail: e.to_string(),
            })
        })
        .transpose()
}

/// The spot pairs of one `AssetPairs` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let answer: Answer = serde_json::from_str(body)?;
    // `error` holds errors (`E…`) and warnings (`W…`); only errors void the answer.
    let failed = answer.error.iter().any(|e| !e.starts_with('W'));
    let Some(pairs) = answer.result.filter(|_| !failed) else {
        return Err(ParseError::Invalid {
            context: "kraken AssetPairs",
            detail: format!("error {:?}", answer.error),
        });
    };
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (key, p) in &pairs {
        let Some(wsname) = p.wsname.as_deref() else {
            continue;
        };
        let Some((ws_base, ws_quote)) = wsname.split_once('/') else {
            return Err(ParseError::Invalid {
                context: "kraken AssetPairs wsname",
                detail: format!("{key}: {wsname:?} is not BASE/QUOTE"),
            });
        };
        let native = format!("{}/{}", v2_asset(ws_base), v2_asset(ws_quote));
        let tick = match dec_opt(p.tick_size.as_deref(), "kraken tick_size")? {
            Some(t) => Some(t),
            None => step(p.pair_decimals, "kraken pair_decimals")?,
        };
        let spec = Instrument {
            tick_size: tick,
            lot_size: step(p.lot_decimals, "kraken lot_decimals")?,
            status: status(p.status.as_deref()),
            ..pair(asset(&p.base, ws_base), asset(&p.quote, ws_quote), None)
        };
        out.push(Listed::new(Market::Spot, &native, spec));
    }
    Ok(out)
}

fn status(status: Option<&str>) -> InstrumentStatus {
    match status {
        None | Some("online" | "limit_only" | "reduce_only") => InstrumentStatus::Trading,
        Some("delisted") => InstrumentStatus::Delisted,
        Some(_) => InstrumentStatus::Halted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::testing::{self, rows};

    /// The documented example pair (`XXBTZUSD`, its fee tables trimmed), and two more
    /// of the same shape: a dogecoin pair in `cancel_only` and an `ADA/XBT` pair
    /// without `tick_size`; a `.d` pair without `wsname` is left out.
    const EXAMPLE: &str = r#"{
      "error": [],
      "result": {
        "XXBTZUSD": {
          "altname": "XBTUSD",
          "wsname": "XBT/USD",
          "aclass_base": "currency",
          "base": "XXBT",
          "aclass_quote": "currency",
          "quote": "ZUSD",
          "lot": "unit",
          "cost_decimals": 5,
          "pair_decimals": 1,
          "lot_decimals": 8,
          "lot_multiplier": 1,
          "leverage_buy": [2, 3, 4, 5],
          "leverage_sell": [2, 3, 4, 5],
          "fees": [[0, 0.26], [50000, 0.24]],
          "fees_maker": [[0, 0.16], [50000, 0.14]],
          "fee_volume_currency": "ZUSD",
          "margin_call": 80,
          "margin_stop": 40,
          "ordermin": "0.0001",
          "costmin": "0.5",
          "tick_size": "0.1",
          "status": "online",
          "long_position_limit": 270,
          "short_position_limit": 180
        },
        "XDGEUR": {
          "altname": "XDGEUR",
          "wsname": "XDG/EUR",
          "aclass_base": "currency",
          "base": "XXDG",
          "aclass_quote": "currency",
          "quote": "ZEUR",
          "lot": "unit",
          "cost_decimals": 7,
          "pair_decimals": 7,
          "lot_decimals": 8,
          "lot_multiplier": 1,
          "ordermin": "20",
          "costmin": "0.45",
          "tick_size": "0.0000001",
          "status": "cancel_only"
        },
        "ADAXBT": {
          "altname": "ADAXBT",
          "wsname": "ADA/XBT",
          "aclass_base": "currency",
          "base": "ADA",
          "aclass_quote": "currency",
          "quote": "XXBT",
          "lot": "unit",
          "pair_decimals": 8,
          "lot_decimals": 8,
          "lot_multiplier": 1,
          "ordermin": "5"
        },
        "XXBTZUSD.d": {
          "altname": "XBTUSD.d",
          "aclass_base": "currency",
          "base": "XXBT",
          "aclass_quote": "currency",
          "quote": "ZUSD",
          "lot": "unit",
          "pair_decimals": 1,
          "lot_decimals": 8,
          "lot_multiplier": 1
        }
      }
    }"#;

    #[test]
    fn pairs_take_v2_names_and_drop_legacy_prefixes() {
        let got = parse(Market::Spot, EXAMPLE).unwrap();
        let rows = rows(&got);
        // In key order (`ADAXBT`, `XDGEUR`, `XXBTZUSD`).
        assert_eq!(
            rows,
            [
                (
                    "ADA/BTC",
                    "ADA-BTC",
                    Market::Spot,
                    &testing::instrument(
                        ("ADA", "BTC", None),
                        ("0.00000001", "0.00000001"),
                        InstrumentStatus::Trading
                    )
                ),
                (
                    "DOGE/EUR",
                    "DOGE-EUR",
                    Market::Spot,
                    &testing::instrument(
                        ("DOGE", "EUR", None),
                        ("0.0000001", "0.00000001"),
                        InstrumentStatus::Halted
                    )
                ),
                (
                    "BTC/USD",
                    "BTC-USD",
                    Market::Spot,
                    &testing::instrument(
                        ("BTC", "USD", None),
                        ("0.1", "0.00000001"),
                        InstrumentStatus::Trading
                    )
                ),
            ]
        );
        assert!(parse(Market::Perp, EXAMPLE).unwrap().is_empty());
    }

    #[test]
    fn prefixes_are_dropped_only_where_the_wsname_confirms_them() {
        assert_eq!(asset("XXBT", "XBT"), "BTC");
        assert_eq!(asset("ZUSD", "USD"), "USD");
        assert_eq!(asset("XTZ", "XTZ"), "XTZ");
        assert_eq!(asset("ZRX", "ZRX"), "ZRX");
        assert_eq!(asset("XCAD", "XCAD"), "XCAD");
    }

    #[test]
    fn url_and_refusal() {
        assert_eq!(
            urls(Market::Spot, "https://api.kraken.com"),
            ["https://api.kraken.com/0/public/AssetPairs"]
        );
        assert!(urls(Market::Perp, "https://api.kraken.com").is_empty());
        let err = parse(Market::Spot, r#"{"error":["EGeneral:Invalid arguments"]}"#).unwrap_err();
        assert!(err.to_string().contains("EGeneral"), "{err}");
    }
}

//! OKX v5 reference data: `GET /api/v5/public/instruments?instType=SPOT|SWAP|FUTURES|OPTION`
//! ("Get instruments", Public Data), `{"code":"0","msg":"","data":[..]}`. Okcoin runs
//! the same API.
//!
//! Document followed: okx.com/docs-v5/en, Public Data → REST API → "Get instruments"
//! (stored copy consulted 2026-12-02; the API changelog's latest entry is dated
//! 2025-11-20), with the instrument-family table of the same docs (coin-margined
//! `BTC-USD` family, USDT `BTC-USDT`, USDC `BTC-USDC`, USD-margined `BTC-USD_UM`).
//! `state` is `live`, `suspend`, `preopen` (futures and options before listing, and
//! spot/swaps in a call auction) or `test` (test pairs, not tradable); `expired`
//! instruments are no longer listed but the value is accepted.
//!
//! Requests per market: `spot` → `SPOT`, `perp` → `SWAP`, `future` → `FUTURES`.
//! `OPTION` lists need `uly` or `instFamily` (one request per underlying) and the
//! connector serves no options market, so none is requested; option responses are
//! still parsed (as `Market::Option`) when given one.
//!
//! Mapping: native = `instId` (what the channels subscribe and name: `BTC-USDT`,
//! `BTC-USDT-SWAP`, `BTC-USD-250627`, `BTC-USD-250627-100000-C`). Base/quote: spot
//! `baseCcy`/`quoteCcy`; derivatives the two parts of `instFamily` (else `uly`, which
//! lists recorded before 2022-11 carry alone), e.g. `BTC-USD`: the instrument family,
//! not the underlying, because the coin-margined `BTC-USD-SWAP` and the USD-margined
//! `BTC-USD_UM-SWAP` share the underlying `BTC-USD` and would both be `BTC-USD-PERP`
//! (the family gives `BTC-USD_UM-PERP`, as the WebSocket side normalizes it). Settle =
//! `settleCcy`; contract size = `ctVal` × `ctMult` (in `ctValCcy`: the base coin for
//! linear contracts and options, USD for inverse ones); expiry = `expTime` (futures
//! and options); strike = `stk`; call/put = `optType`; tick = `tickSz`; lot = `lotSz`.
//! Status: `live` trades; `suspend`, `preopen`, `test` (and anything undocumented) are
//! halted; `expired` is delisted.

use serde::Deserialize;
use tickbridge_schema::{Dec, Instrument, InstrumentStatus, Market, OptionType};

use crate::contract::ParseError;
use crate::convert::dec_opt;
use crate::instruments::{pair, Listed};

/// The instruments list of `market` under `rest_url` (see the module docs).
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    let inst_type = match market {
        Market::Spot => "SPOT",
        Market::Perp => "SWAP",
        Market::Future => "FUTURES",
        Market::Option => return Vec::new(),
    };
    vec![format!(
        "{}/api/v5/public/instruments?instType={inst_type}",
        rest_url.trim_end_matches('/')
    )]
}

#[derive(Debug, Deserialize)]
struct Answer {
    code: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    data: Vec<Item>,
}

/// One instrument; OKX sends every field, empty (`""`) where it does not apply.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    inst_type: String,
    inst_id: String,
    #[serde(default)]
    uly: String,
    #[serde(default)]
    inst_family: String,
    #[serde(default)]
    base_ccy: String,
    #[serde(default)]
    quote_ccy: String,
    #[serde(default)]
    settle_ccy: String,
    #[serde(default)]
    ct_val: String,
    #[serde(default)]
    ct_mult: String,
    #[serde(default)]
    opt_type: String,
    #[serde(default)]
    stk: String,
    #[serde(default)]
    exp_time: String,
    #[serde(default)]
    tick_sz: String,
    #[serde(default)]
    lot_sz: String,
    #[serde(default)]
    state: String,
}

/// The instruments of `market` in one instruments response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let answer: Answer = serde_json::from_str(body)?;
    if answer.code != "0" {
        return Err(ParseError::Invalid {
            context: "okx instruments",
            detail: format!("code {}: {}", answer.code, answer.msg),
        });
    }
    let mut out = Vec::new();
    for item in &answer.data {
        let m = match item.inst_type.as_str() {
            "SPOT" => Market::Spot,
            "SWAP" => Market::Perp,
            "FUTURES" => Market::Future,
            "OPTION" => Market::Option,
            // MARGIN repeats the spot instruments; nothing else is documented.
            _ => continue,
        };
        if m != market {
            continue;
        }
        out.push(Listed::new(market, &item.inst_id, spec(market, item)?));
    }
    Ok(out)
}

fn spec(market: Market, item: &Item) -> Result<Instrument, ParseError> {
    let invalid = |detail: String| ParseError::Invalid {
        context: "okx instrument",
        detail,
    };
    let (base, quote) = if market == Market::Spot {
        (item.base_ccy.as_str(), item.quote_ccy.as_str())
    } else {
        let family = if item.inst_family.is_empty() {
            &item.uly
        } else {
            &item.inst_family
        };
        family.split_once('-').ok_or_else(|| {
            invalid(format!(
                "{}: instrument family {family:?} is not BASE-QUOTE",
                item.inst_id
            ))
        })?
    };
    if base.is_empty() || quote.is_empty() {
        return Err(invalid(format!("{} names no base or quote", item.inst_id)));
    }
    let ct_val = dec_opt(Some(&item.ct_val), "okx ctVal")?;
    let ct_mult = dec_opt(Some(&item.ct_mult), "okx ctMult")?;
    let contract_size = match (ct_val, ct_mult) {
        (Some(v), Some(m)) => Some(
            product(&v, &m).ok_or_else(|| invalid(format!("{}: ctVal × ctMult", item.inst_id)))?,
        ),
        (v, _) => v,
    };
    let dated = matches!(market, Market::Future | Market::Option);
    let settle = (!item.settle_ccy.is_empty()).then_some(item.settle_ccy.as_str());
    Ok(Instrument {
        expiry: if dated {
            crate::convert::ms_text_to_ns(&item.exp_time)
        } else {
            None
        },
        strike: if market == Market::Option {
            dec_opt(Some(&item.stk), "okx stk")?
        } else {
            None
        },
        option_type: match (market, item.opt_type.as_str()) {
            (Market::Option, "C") => Some(OptionType::Call),
            (Market::Option, "P") => Some(OptionType::Put),
            _ => None,
        },
        tick_size: dec_opt(Some(&item.tick_sz), "okx tickSz")?,
        lot_size: dec_opt(Some(&item.lot_sz), "okx lotSz")?,
        contract_size: contract_size.filter(|_| market != Market::Spot),
        status: match item.state.as_str() {
            "live" => InstrumentStatus::Trading,
            "expired" => InstrumentStatus::Delisted,
            _ => InstrumentStatus::Halted,
        },
        ..pair(base, quote, settle.filter(|_| market != Market::Spot))
    })
}

/// The exact product of two non-negative decimals (`1` × `0.1` = `0.1`), `None` on
/// overflow or a negative factor.
fn product(a: &Dec, b: &Dec) -> Option<Dec> {
    fn digits(d: &Dec) -> Option<(u128, usize)> {
        let (int, frac) = d.as_str().split_once('.').unwrap_or((d.as_str(), ""));
        Some((format!("{int}{frac}").parse().ok()?, frac.len()))
    }
    let (x, sx) = digits(a)?;
    let (y, sy) = digits(b)?;
    Dec::parse(&format!("{}e-{}", x.checked_mul(y)?, sx + sy)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchanges::testing::{self, d, rows};

    /// The documented example instrument (`BTC-USD-SWAP`: inverse, 100 USD a contract),
    /// with the USDT and USD-margined perpetuals of the instrument-family table in the
    /// same shape (their values constructed; the USDT one `suspend`ed to cover the
    /// status map).
    const SWAP_EXAMPLE: &str = r#"{
      "code": "0",
      "msg": "",
      "data": [
        {
          "alias": "",
          "auctionEndTime": "",
          "baseCcy": "",
          "category": "1",
          "ctMult": "1",
          "ctType": "inverse",
          "ctVal": "100",
          "ctValCcy": "USD",
          "expTime": "",
          "futureSettlement": false,
          "instFamily": "BTC-USD",
          "instId": "BTC-USD-SWAP",
          "instType": "SWAP",
          "lever": "100",
          "listTime": "1597026383085",
          "lotSz": "1",
          "maxIcebergSz": "100000000.0000000000000000",
          "maxLmtAmt": "20000000",
          "maxLmtSz": "100000000",
          "maxMktAmt": "",
          "maxMktSz": "10000",
          "maxStopSz": "10000",
          "maxTriggerSz": "100000000.0000000000000000",
          "maxTwapSz": "100000000.0000000000000000",
          "minSz": "1",
          "optType": "",
          "quoteCcy": "",
          "ruleType": "normal",
          "settleCcy": "BTC",
          "state": "live",
          "stk": "",
          "tickSz": "0.1",
          "uly": "BTC-USD"
        },
        {
          "baseCcy": "",
          "ctMult": "1",
          "ctType": "linear",
          "ctVal": "0.01",
          "ctValCcy": "BTC",
          "expTime": "",
          "instFamily": "BTC-USDT",
          "instId": "BTC-USDT-SWAP",
          "instType": "SWAP",
          "lotSz": "0.01",
          "optType": "",
          "quoteCcy": "",
          "settleCcy": "USDT",
          "state": "suspend",
          "stk": "",
          "tickSz": "0.1",
          "uly": "BTC-USDT"
        },
        {
          "baseCcy": "",
          "ctMult": "1",
          "ctType": "linear",
          "ctVal": "0.0001",
          "ctValCcy": "BTC",
          "expTime": "",
          "instFamily": "BTC-USD_UM",
          "instId": "BTC-USD_UM-SWAP",
          "instType": "SWAP",
          "lotSz": "0.01",
          "optType": "",
          "quoteCcy": "",
          "settleCcy": "USDC",
          "state": "live",
          "stk": "",
          "tickSz": "0.1",
          "uly": "BTC-USD"
        }
      ]
    }"#;

    /// A spot pair, a quarterly future and an option in the documented shape.
    const MIXED_EXAMPLE: &str = r#"{
      "code": "0",
      "msg": "",
      "data": [
        {
          "baseCcy": "BTC",
          "ctMult": "",
          "ctType": "",
          "ctVal": "",
          "ctValCcy": "",
          "expTime": "",
          "instFamily": "",
          "instId": "BTC-USDT",
          "instType": "SPOT",
          "lotSz": "0.00000001",
          "optType": "",
          "quoteCcy": "USDT",
          "settleCcy": "",
          "state": "live",
          "stk": "",
          "tickSz": "0.1",
          "uly": ""
        },
        {
          "baseCcy": "",
          "ctMult": "1",
          "ctType": "inverse",
          "ctVal": "100",
          "ctValCcy": "USD",
          "expTime": "1750982400000",
          "instFamily": "BTC-USD",
          "instId": "BTC-USD-250627",
          "instType": "FUTURES",
          "lotSz": "1",
          "optType": "",
          "quoteCcy": "",
          "settleCcy": "BTC",
          "state": "preopen",
          "stk": "",
          "tickSz": "0.1",
          "uly": "BTC-USD"
        },
        {
          "baseCcy": "",
          "ctMult": "0.1",
          "ctType": "",
          "ctVal": "1",
          "ctValCcy": "BTC",
          "expTime": "1735286400000",
          "instFamily": "BTC-USD",
          "instId": "BTC-USD-241227-100000-P",
          "instType": "OPTION",
          "lotSz": "1",
          "optType": "P",
          "quoteCcy": "",
          "settleCcy": "BTC",
          "state": "live",
          "stk": "100000",
          "tickSz": "0.0005",
          "uly": "BTC-USD"
        }
      ]
    }"#;

    #[test]
    fn swaps_by_instrument_family() {
        let got = parse(Market::Perp, SWAP_EXAMPLE).unwrap();
        let inverse = Instrument {
            contract_size: d("100"),
            ..testing::instrument(
                ("BTC", "USD", Some("BTC")),
                ("0.1", "1"),
                InstrumentStatus::Trading,
            )
        };
        let usdt = Instrument {
            contract_size: d("0.01"),
            ..testing::instrument(
                ("BTC", "USDT", Some("USDT")),
                ("0.1", "0.01"),
                InstrumentStatus::Halted,
            )
        };
        let usd_um = Instrument {
            contract_size: d("0.0001"),
            ..testing::instrument(
                ("BTC", "USD_UM", Some("USDC")),
                ("0.1", "0.01"),
                InstrumentStatus::Trading,
            )
        };
        assert_eq!(
            rows(&got),
            [
                ("BTC-USD-SWAP", "BTC-USD-PERP", Market::Perp, &inverse),
                ("BTC-USDT-SWAP", "BTC-USDT-PERP", Market::Perp, &usdt),
                ("BTC-USD_UM-SWAP", "BTC-USD_UM-PERP", Market::Perp, &usd_um),
            ]
        );
        for l in &got {
            assert_eq!(super::super::Okx::normalize(&l.symbol.native), l.symbol);
        }
        assert!(parse(Market::Spot, SWAP_EXAMPLE).unwrap().is_empty());
    }

    #[test]
    fn spot_future_and_option() {
        let spot = parse(Market::Spot, MIXED_EXAMPLE).unwrap();
        let btc_usdt = testing::instrument(
            ("BTC", "USDT", None),
            ("0.1", "0.00000001"),
            InstrumentStatus::Trading,
        );
        assert_eq!(
            rows(&spot),
            [("BTC-USDT", "BTC-USDT", Market::Spot, &btc_usdt)]
        );
        let future = parse(Market::Future, MIXED_EXAMPLE).unwrap();
        let quarterly = Instrument {
            expiry: Some(1_750_982_400_000_000_000), // 2025-06-27 00:00 UTC
            contract_size: d("100"),
            ..testing::instrument(
                ("BTC", "USD", Some("BTC")),
                ("0.1", "1"),
                InstrumentStatus::Halted,
            )
        };
        assert_eq!(
            rows(&future),
            [(
                "BTC-USD-250627",
                "BTC-USD-250627",
                Market::Future,
                &quarterly
            )]
        );
        let option = parse(Market::Option, MIXED_EXAMPLE).unwrap();
        let put = Instrument {
            expiry: Some(1_735_286_400_000_000_000), // 2024-12-27 08:00 UTC
            strike: d("100000"),
            option_type: Some(OptionType::Put),
            contract_size: d("0.1"),
            ..testing::instrument(
                ("BTC", "USD", Some("BTC")),
                ("0.0005", "1"),
                InstrumentStatus::Trading,
            )
        };
        assert_eq!(
            rows(&option),
            [(
                "BTC-USD-241227-100000-P",
                "BTC-USD-241227-100000-P",
                Market::Option,
                &put
            )]
        );
        for l in spot.iter().chain(&future).chain(&option) {
            assert_eq!(super::super::Okx::normalize(&l.symbol.native), l.symbol);
        }
    }

    #[test]
    fn exact_products() {
        let p = |a: &str, b: &str| product(&Dec::parse(a).unwrap(), &Dec::parse(b).unwrap());
        assert_eq!(p("1", "0.1"), d("0.1"));
        assert_eq!(p("0.01", "10"), d("0.1"));
        assert_eq!(p("100", "1"), d("100"));
        assert_eq!(p("-1", "1"), None);
    }

    #[test]
    fn urls_per_market_and_refusal() {
        assert_eq!(
            urls(Market::Perp, "https://www.okx.com/"),
            ["https://www.okx.com/api/v5/public/instruments?instType=SWAP"]
        );
        assert_eq!(
            urls(Market::Spot, "https://www.okx.com"),
            ["https://www.okx.com/api/v5/public/instruments?instType=SPOT"]
        );
        assert_eq!(
            urls(Market::Future, "https://www.okx.com"),
            ["https://www.okx.com/api/v5/public/instruments?instType=FUTURES"]
        );
        assert!(urls(Market::Option, "https://www.okx.com").is_empty());
        let err = parse(
            Market::Spot,
            r#"{"code":"51000","msg":"Parameter instType error","data":[]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("51000"), "{err}");
    }
}

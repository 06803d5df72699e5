//! Hyperliquid reference data from the `info` endpoint (`POST {rest}/info` with a JSON
//! body; each request is named by a URL whose query is that body, see
//! [`crate::rest::post_of_url`]):
//!
//! - perps: `{"type":"meta"}` (the first dex), `{"type":"spotMeta"}` (the tokens that
//!   name each dex's collateral), `{"type":"perpDexs"}` (the builder-deployed dexes),
//!   then one `{"type":"meta","dex":"<name>"}` per dex it lists (a follow-up request);
//! - spot: `{"type":"spotMeta"}`.
//!
//! Document followed: Hyperliquid API docs, "Info endpoint" → "Perpetuals" (`meta`:
//! `{"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":50},..],"marginTables":..,
//! "collateralToken":0}`, `isDelisted` on delisted assets; `perpDexs`: `[null,
//! {"name":"xyz","fullName":"XYZ",..},..]`, `null` standing for the first dex; `meta`
//! with `dex`, whose coins carry the dex prefix `xyz:XYZ100`) and "Spot" (`spotMeta`:
//! `{"tokens":[{"name":"USDC","szDecimals":8,"weiDecimals":8,"index":0,..},..],
//! "universe":[{"name":"PURR/USDC","tokens":[1,0],"index":0,"isCanonical":true},..]}`),
//! consulted 2026-12-02. The lot size is `10^-szDecimals`; no tick size is published
//! (prices are limited to 5 significant figures and `6 - szDecimals` decimals for perps,
//! `8 - szDecimals` for spot), so it is left out. A spot pair whose tokens' names
//! normalize to a pair already listed (non-canonical duplicates) is left out, the first
//! (lowest index) kept. Not verified against a live response: `collateralToken` of a
//! builder dex other than 0 (taken as the index of a `spotMeta` token).

use serde::Deserialize;
use tickbridge_schema::{InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::instruments::{pair, step, Listed};

use super::USDC;

fn info_url(rest_url: &str, query: &str) -> String {
    format!("{}/info?{query}", rest_url.trim_end_matches('/'))
}

/// The initial requests of `market`'s list.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Perp => vec![
            info_url(rest_url, "type=meta"),
            info_url(rest_url, "type=spotMeta"),
            info_url(rest_url, "type=perpDexs"),
        ],
        Market::Spot => vec![info_url(rest_url, "type=spotMeta")],
        _ => Vec::new(),
    }
}

/// The `type` (and `dex`) a request URL names.
fn request_of(url: &str) -> (String, Option<String>) {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let mut kind = String::new();
    let mut dex = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("type", v)) => kind = v.to_string(),
            Some(("dex", v)) if !v.is_empty() => dex = Some(v.to_string()),
            _ => {}
        }
    }
    (kind, dex)
}

/// One entry of `perpDexs`: `{"name":"xyz","fullName":"XYZ","deployer":"0x..",..}`
/// (`null` for the first dex).
#[derive(Debug, Deserialize)]
struct PerpDex {
    name: String,
}

/// The `meta` requests of the dexes a `perpDexs` answer lists.
pub fn followups(market: Market, rest_url: &str, url: &str, body: &str) -> Vec<String> {
    if market != Market::Perp || request_of(url).0 != "perpDexs" {
        return Vec::new();
    }
    let Ok(dexes) = serde_json::from_str::<Vec<Option<PerpDex>>>(body) else {
        // Unusable: the parse of the list names it.
        return Vec::new();
    };
    dexes
        .into_iter()
        .flatten()
        .filter(|d| !d.name.is_empty() && d.name.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|d| info_url(rest_url, &format!("type=meta&dex={}", d.name)))
        .collect()
}

/// `meta`: `{"universe":[{"name":"BTC","szDecimals":5,"maxLeverage":50},..],
/// "collateralToken":0}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    universe: Vec<PerpAsset>,
    #[serde(default)]
    collateral_token: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PerpAsset {
    name: String,
    sz_decimals: u32,
    #[serde(default)]
    is_delisted: bool,
}

/// `spotMeta`: tokens and pairs.
#[derive(Debug, Deserialize)]
struct SpotMeta {
    tokens: Vec<Token>,
    universe: Vec<SpotPair>,
}

/// `{"name":"PURR","szDecimals":0,"weiDecimals":5,"index":1,"tokenId":"0x..",..}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    name: String,
    sz_decimals: u32,
    index: u32,
}

/// `{"name":"@1","tokens":[2,0],"index":1,"isCanonical":false}`.
#[derive(Debug, Deserialize)]
struct SpotPair {
    name: String,
    tokens: (u32, u32),
}

fn invalid(detail: String) -> ParseError {
    ParseError::Invalid {
        context: "hyperliquid info",
        detail,
    }
}

impl SpotMeta {
    fn token(&self, index: u32) -> Option<&Token> {
        self.tokens.iter().find(|t| t.index == index)
    }
}

/// The instruments of `market` in every response of one list (`(url, body)` in fetch
/// order); an error names the response at fault.
pub fn parse(
    market: Market,
    responses: &[(&str, &str)],
) -> Result<Vec<Listed>, (usize, ParseError)> {
    // The tokens, for the spot pairs and the perp dexes' collateral.
    let mut spot: Option<SpotMeta> = None;
    for (i, (url, body)) in responses.iter().enumerate() {
        if request_of(url).0 == "spotMeta" {
            spot = Some(serde_json::from_str(body).map_err(|e| (i, e.into()))?);
        }
    }
    let mut out: Vec<Listed> = Vec::new();
    for (i, (url, body)) in responses.iter().enumerate() {
        let (kind, dex) = request_of(url);
        match (market, kind.as_str()) {
            (Market::Perp, "meta") => {
                let meta: Meta = serde_json::from_str(body).map_err(|e| (i, e.into()))?;
                let settle = match meta.collateral_token.unwrap_or(0) {
                    0 => USDC.to_string(),
                    index => spot
                        .as_ref()
                        .and_then(|s| s.token(index))
                        .map(|t| t.name.clone())
                        .ok_or_else(|| {
                            (
                                i,
                                invalid(format!(
                                    "collateral token {index} of dex {:?} is not a listed spot token",
                                    dex.as_deref().unwrap_or("")
                                )),
                            )
                        })?,
                };
                for a in &meta.universe {
                    out.push(perp(a, dex.as_deref(), &settle).map_err(|e| (i, e))?);
                }
            }
            (Market::Spot, "spotMeta") => {
                let Some(s) = spot.as_ref() else { continue };
                for p in &s.universe {
                    let (Some(base), Some(quote)) = (s.token(p.tokens.0), s.token(p.tokens.1))
                    else {
                        return Err((
                            i,
                            invalid(format!("pair {} names an unlisted token", p.name)),
                        ));
                    };
                    let mut spec = pair(&base.name, &quote.name, None);
                    spec.lot_size = step(base.sz_decimals);
                    let listed = Listed::new(Market::Spot, &p.name, spec);
                    let taken = out.iter().any(|l| {
                        l.symbol.symbol.eq_ignore_ascii_case(&listed.symbol.symbol)
                            || l.symbol.native.eq_ignore_ascii_case(&listed.symbol.native)
                    });
                    if !taken {
                        out.push(listed);
                    }
                }
            }
            // `perpDexs` only names follow-ups; `spotMeta` of a perp list only names
            // collateral.
            _ => {}
        }
    }
    Ok(out)
}

/// One perp of the dex `dex` (`None`: the first), settled in `settle`.
fn perp(a: &PerpAsset, dex: Option<&str>, settle: &str) -> Result<Listed, ParseError> {
    // Coins of a builder dex are written with its prefix (`xyz:XYZ100`).
    let base = match (dex, a.name.split_once(':')) {
        (Some(d), Some((prefix, name))) if prefix == d => name,
        (None, None) => a.name.as_str(),
        _ => {
            return Err(invalid(format!(
                "coin {:?} does not belong to dex {:?}",
                a.name,
                dex.unwrap_or("")
            )))
        }
    };
    let mut spec = pair(base, settle, Some(settle));
    spec.lot_size = step(a.sz_decimals);
    spec.contract_size = tickbridge_schema::Dec::parse("1").ok();
    if a.is_delisted {
        spec.status = InstrumentStatus::Delisted;
    }
    let symbol = format!("{}-{settle}-PERP", a.name);
    Ok(Listed {
        symbol: crate::symbols::SymbolInfo {
            market: Market::Perp,
            symbol: symbol.into(),
            native: a.name.as_str().into(),
        },
        spec,
    })
}

//! Upbit reference data: `GET /v1/market/all`, a JSON array of every listed pair.
//!
//! Document followed: Upbit Open API reference, "페어 목록 조회" / "List Trading Pairs"
//! (`GET /v1/market/all`, optional `is_details`; docs.upbit.com, the versioned
//! copies up to v1.6.4 of 2026, consulted 2026-12-02): objects with `market`
//! (`KRW-BTC`, quote first), `korean_name`, `english_name`, and with details
//! `market_event` (`warning`, `caution`) — formerly `market_warning`
//! (`NONE`/`CAUTION`). The list is fetched without `is_details`: a warning or caution
//! does not stop trading, so every listed pair is `trading`, and the plain list is
//! what the recording `cryptofeed/upbit` (2021-04-17) holds. The list gives no tick
//! or lot sizes (Upbit's tick size depends on the price band).

use serde::Deserialize;
use tickbridge_schema::{InstrumentStatus, Market};

use crate::contract::ParseError;
use crate::instruments::{pair, Listed};

/// The pair list under `rest_url`, for the spot market.
pub fn urls(market: Market, rest_url: &str) -> Vec<String> {
    match market {
        Market::Spot => vec![format!("{}/v1/market/all", rest_url.trim_end_matches('/'))],
        _ => Vec::new(),
    }
}

/// One pair: `{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin"}`.
#[derive(Debug, Deserialize)]
struct Pair {
    market: String,
}

/// An error answer: `{"error":{"name":"...","message":"..."}}`.
#[derive(Debug, Deserialize)]
struct Refused {
    error: super::wire::Error,
}

/// The spot pairs of one `market/all` response.
pub fn parse(market: Market, body: &str) -> Result<Vec<Listed>, ParseError> {
    let pairs: Vec<Pair> = match serde_json::from_str(body) {
        Ok(p) => p,
        Err(e) => {
            return Err(match serde_json::from_str::<Refused>(body) {
                Ok(r) => ParseError::Invalid {
                    context: "upbit market/all",
                    detail: format!("{}: {}", r.error.name, r.error.message),
                },
                Err(_) => e.into(),
            })
        }
    };
    if market != Market::Spot {
        return Ok(Vec::new());
    }
    pairs
        .iter()
        .map(|p| {
            let (quote, base) =
                super::split_native(&p.market).ok_or_else(|| ParseError::Invalid {
                    context: "upbit market code",
                    detail: format!("{:?} is not QUOTE-BASE", p.market),
                })?;
            let spec = tickbridge_schema::Instrument {
                status: InstrumentStatus::Trading,
                ..pair(base, quote, None)
            };
            Ok(Listed::new(Market::Spot, &p.market, spec))
        })
        .collect()
}

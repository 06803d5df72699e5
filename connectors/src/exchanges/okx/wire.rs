//! OKX v5 public WebSocket wire types, each with the raw JSON it parses. Prices and
//! sizes are decimal strings; sequence ids and checksums are JSON numbers.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::convert::{text_levels, TextLevel};
use crate::flat::{for_each_member, Scalar};

/// Every JSON frame: a push (`arg` + `data`) or an event (`event`). The text frame
/// `pong` (answer to the client's `ping`) is not JSON and is classified before.
///
/// `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[...]}`
/// `{"id":"1512","event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}`
/// `{"id":"1512","event":"error","code":"60012","msg":"Invalid request: ...","connId":"a4d3ae55"}`
/// `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, borrow)]
    pub event: Option<&'a str>,
    #[serde(default, borrow)]
    pub arg: Option<Arg<'a>>,
    #[serde(default, borrow)]
    pub action: Option<&'a str>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub msg: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
}

/// A subscription argument: `{"channel":"books","instId":"BTC-USDT"}` or
/// `{"channel":"liquidation-orders","instType":"SWAP"}`.
/// Borrowed from the frame (no allocation per push) unless escaped.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg<'a> {
    #[serde(borrow)]
    pub channel: Cow<'a, str>,
    #[serde(default, borrow)]
    pub inst_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub inst_type: Option<Cow<'a, str>>,
}

/// One push of `trades` (`side` is the taker's; one message per taker order, price and
/// source, `count` trades aggregated, `tradeId` the last of them):
///
/// `{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0","seqId":1234}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trade<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub trade_id: &'a str,
    #[serde(borrow)]
    pub px: &'a str,
    #[serde(borrow)]
    pub sz: &'a str,
    #[serde(borrow)]
    pub side: &'a str,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One order-book push of `books` (snapshot then updates), `books5` (snapshots) or
/// `bbo-tbt` (1 level). Levels are `[price, size, "0", orders]`; `checksum` is
/// deprecated (0 in production since 2026-06-23; older recordings carry real values),
/// `prevSeqId` is -1 on snapshots:
///
/// `{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":0,"prevSeqId":123456,"seqId":123457}`
///
/// Levels are read as `(price, size)` text (the checksum is computed over the text as
/// sent). [`Book::from_flat`] reads the usual one-book `data` without serde.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Book<'a> {
    #[serde(default, borrow, deserialize_with = "text_levels")]
    pub asks: Vec<TextLevel<'a>>,
    #[serde(default, borrow, deserialize_with = "text_levels")]
    pub bids: Vec<TextLevel<'a>>,
    #[serde(borrow)]
    pub ts: &'a str,
    #[serde(default)]
    pub checksum: Option<i64>,
    #[serde(default)]
    pub prev_seq_id: Option<i64>,
    #[serde(default)]
    pub seq_id: Option<i64>,
}

impl<'a> Book<'a> {
    /// The `data` of a book push holding one book (`[{"asks":[...],...}]`, every push
    /// of `books`, `books5` and `bbo-tbt`), read by the flat scanner: the same `Book`
    /// serde reads, at a fraction of the cost. `None` for any other shape (several
    /// books, escapes, a mistyped or repeated field), which serde then reads or rejects.
    pub fn from_flat(data: &'a str) -> Option<Book<'a>> {
        let object = data.trim().strip_prefix('[')?.strip_suffix(']')?;
        let (mut asks, mut bids, mut ts) = (None, None, None);
        let (mut checksum, mut prev_seq_id, mut seq_id) = (None, None, None);
        let mut valid = true;
        // An optional number: absent and `null` are both `None`.
        let number = |slot: &mut Option<Option<i64>>, value: Scalar<'_>| match value {
            Scalar::Null if slot.is_none() => {
                *slot = Some(None);
                true
            }
            v => match v.i64() {
                Some(n) if slot.is_none() => {
                    *slot = Some(Some(n));
                    true
                }
                _ => false,
            },
        };
        for_each_member(object, |key, value| {
            valid &= match key {
                "asks" | "bids" => {
                    let slot = if key == "asks" { &mut asks } else { &mut bids };
                    match value {
                        Scalar::Rows(rows) if slot.is_none() => {
                            *slot = Some(rows.pairs().to_vec());
                            true
                        }
                        _ => false,
                    }
                }
                "ts" => match value.str() {
                    Some(t) if ts.is_none() => {
                        ts = Some(t);
                        true
                    }
                    _ => false,
                },
                "checksum" => number(&mut checksum, value),
                "prevSeqId" => number(&mut prev_seq_id, value),
                "seqId" => number(&mut seq_id, value),
                _ => true,
            };
        })?;
        valid.then_some(())?;
        Some(Book {
            asks: asks.unwrap_or_default(),
            bids: bids.unwrap_or_default(),
            ts: ts?,
            checksum: checksum.flatten(),
            prev_seq_id: prev_seq_id.flatten(),
            seq_id: seq_id.flatten(),
        })
    }

    /// The books of a push's `data`: [`Book::from_flat`], or serde for other shapes.
    pub fn parse_all(data: &'a str) -> Result<Vec<Book<'a>>, serde_json::Error> {
        match Book::from_flat(data) {
            Some(book) => Ok(vec![book]),
            None => serde_json::from_str(data),
        }
    }
}

/// One push of `tickers`:
///
/// `{"instType":"SWAP","instId":"LTC-USD-SWAP","last":"9999.99","lastSz":"1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"0.1","sodUtc8":"0.1","ts":"1597026383085"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(default, borrow)]
    pub last: Option<&'a str>,
    #[serde(default, borrow)]
    pub ask_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub ask_sz: Option<&'a str>,
    #[serde(default, borrow)]
    pub bid_px: Option<&'a str>,
    #[serde(default, borrow)]
    pub bid_sz: Option<&'a str>,
    #[serde(default, borrow)]
    pub open24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub high24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub low24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub vol_ccy24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub vol24h: Option<&'a str>,
    #[serde(default, borrow)]
    pub inst_type: Option<&'a str>,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One push of `funding-rate` (`nextFundingRate` is no longer supported and "" when
/// absent; `fundingTime` is when the current rate settles):
///
/// `{"formulaType":"noRate","fundingRate":"0.0001875391284828","fundingTime":"1700726400000","impactValue":"","instId":"BTC-USD-SWAP","instType":"SWAP","interestRate":"","method":"current_period","maxFundingRate":"0.00375","minFundingRate":"-0.00375","nextFundingRate":"","nextFundingTime":"1700755200000","premium":"0.0001233824646391","settFundingRate":"0.0001699799259033","settState":"settled","ts":"1700724675402"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingRate<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub funding_rate: &'a str,
    #[serde(default, borrow)]
    pub next_funding_rate: Option<&'a str>,
    #[serde(default, borrow)]
    pub funding_time: Option<&'a str>,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One push of `open-interest` (`oi` in contracts, `oiCcy` in coin, `oiUsd` in USD):
///
/// `{"instType":"SWAP","instId":"LTC-USD-SWAP","oi":"5000","oiCcy":"555.55","oiUsd":"50000","ts":"1597026383085"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInterest<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub oi: &'a str,
    #[serde(default, borrow)]
    pub oi_usd: Option<&'a str>,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One push of `mark-price`:
///
/// `{"instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkPrice<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub mark_px: &'a str,
    #[serde(borrow)]
    pub ts: &'a str,
}

/// One element of `liquidation-orders` (subscribed per instrument type; `side` is the
/// liquidation order's side, `bkPx` the bankruptcy price, `sz` in contracts):
///
/// `{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],"instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Liquidations<'a> {
    #[serde(borrow)]
    pub inst_id: &'a str,
    #[serde(borrow)]
    pub details: Vec<LiquidationDetail<'a>>,
}

/// See [`Liquidations`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiquidationDetail<'a> {
    #[serde(default, borrow)]
    pub side: Option<&'a str>,
    #[serde(default, borrow)]
    pub bk_px: Option<&'a str>,
    #[serde(borrow)]
    pub sz: &'a str,
    #[serde(borrow)]
    pub ts: &'a str,
}

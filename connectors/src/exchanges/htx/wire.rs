//! HTX (ex-Huobi) market WebSocket wire types, spot and swaps alike, each with the raw
//! JSON it parses (after the gzip inflate the session does). Prices and sizes are
//! JSON *numbers* (`9.2E-7`, `0.100000000000000000`): they are kept as [`RawValue`]s,
//! the text as sent, and turned into exact decimals from that text, never through
//! `f64`. Ids are numbers on spot and strings on swaps, so they are raw too.

use serde::Deserialize;
use serde_json::value::RawValue;

/// Every frame: a push (`ch` + `tick`), an answer (`id` + `status` with `subbed`,
/// `unsubbed` or `rep`), a server ping, or, on the swap notification endpoint, an `op`
/// frame:
///
/// `{"ch":"market.btcusdt.trade.detail","ts":1618678027942,"tick":{...}}`
/// `{"id":"1","status":"ok","subbed":"market.btcusdt.trade.detail","ts":1618678070653}`
/// `{"id":"1000000","rep":"market.btcusdt.mbp.150","status":"ok","data":{...}}`
/// `{"id":"3","status":"error","err-code":"bad-request","err-msg":"invalid topic market.nosuch.trade.detail","ts":1494301904959}`
/// `{"ping":1618678073643}`
/// `{"op":"ping","ts":"1489474081631"}`
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(default, borrow)]
    pub ch: Option<&'a str>,
    /// A number on pushes and answers, a string on `op` frames.
    #[serde(default, borrow)]
    pub ts: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub tick: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub ping: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub pong: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub status: Option<&'a str>,
    #[serde(default, borrow)]
    pub subbed: Option<&'a str>,
    #[serde(default, borrow)]
    pub unsubbed: Option<&'a str>,
    #[serde(default, borrow)]
    pub rep: Option<&'a str>,
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
    #[serde(default, rename = "err-code", borrow)]
    pub err_code: Option<&'a RawValue>,
    #[serde(default, rename = "err-msg")]
    pub err_msg: Option<String>,
    #[serde(default, borrow)]
    pub op: Option<&'a str>,
    /// The topic an `op` answer names: `{"op":"sub","cid":"1","topic":"public.BTC-USDT.funding_rate","ts":1489474081631,"err-code":0}`.
    #[serde(default, borrow)]
    pub topic: Option<&'a str>,
    #[serde(default, borrow)]
    pub cid: Option<&'a RawValue>,
}

/// A `{"op":..}` frame's timestamp, echoed in the pong: `{"op":"ping","ts":"1489474081631"}`
/// (the notification endpoint's ping; `ts` a string there, a number in some examples).
#[derive(Debug, Deserialize)]
pub struct OpPing<'a> {
    #[serde(borrow)]
    pub ts: &'a RawValue,
}

/// One price level `[price, size]`: `[9.121E-7,92730.24]`.
#[derive(Debug, Deserialize)]
pub struct Lv<'a>(
    #[serde(borrow)] pub &'a RawValue,
    #[serde(borrow)] pub &'a RawValue,
);

/// `market.$symbol.trade.detail` (spot), several trades of one taker order a frame;
/// `direction` is the taker's side, `tradeId` the trade id (`id` is the older, longer
/// one):
///
/// `{"id":100182534526,"ts":1618678027940,"data":[{"id":100182534526255757567432481,"ts":1618678027940,"tradeId":100045088885,"amount":20995.88,"price":9.2E-7,"direction":"buy"}]}`
///
/// and (swaps, `amount` in contracts, `quantity` in the base coin, no `tradeId`):
///
/// `{"id":43131183313,"ts":1645289380927,"data":[{"amount":4,"quantity":40,"trade_turnover":16.7648,"ts":1645289380927,"id":431311833130000,"price":0.41912,"direction":"buy"}]}`
#[derive(Debug, Deserialize)]
pub struct TradeTick<'a> {
    #[serde(borrow)]
    pub data: Vec<TradeItem<'a>>,
}

/// One trade of a [`TradeTick`].
#[derive(Debug, Deserialize)]
pub struct TradeItem<'a> {
    #[serde(borrow)]
    pub id: &'a RawValue,
    #[serde(default, rename = "tradeId")]
    pub trade_id: Option<u64>,
    pub ts: i64,
    #[serde(borrow)]
    pub amount: &'a RawValue,
    #[serde(borrow)]
    pub price: &'a RawValue,
    #[serde(borrow)]
    pub direction: &'a str,
}

/// A book push: `market.$symbol.depth.step0` (spot and swaps; a whole book, up to 150
/// levels a side, every push):
///
/// `{"bids":[[9.121E-7,92730.24],[9.12E-7,66053.68]],"asks":[[9.28E-7,4342.25]],"version":100182534697,"ts":1618678069868}`
///
/// and the swaps' `market.$contract_code.depth.size_${size}.high_freq` with
/// `data_type: incremental` (`event` `snapshot` first, then `update`s, `version`
/// counting pushes one by one):
///
/// `{"asks":[[0.41912,120]],"bids":[[0.41887,0]],"ch":"market.GRT-USDT.depth.size_20.high_freq","event":"update","id":43131188379,"mrid":43131188379,"ts":1645289384831,"version":1028}`
#[derive(Debug, Deserialize)]
pub struct DepthTick<'a> {
    #[serde(default, borrow)]
    pub bids: Vec<Lv<'a>>,
    #[serde(default, borrow)]
    pub asks: Vec<Lv<'a>>,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub ts: Option<i64>,
    #[serde(default, borrow)]
    pub event: Option<&'a str>,
}

/// `market.$symbol.mbp.$levels` (spot, market by price): an incremental push, chained
/// by `prevSeqNum` = the previous push's `seqNum` (150 levels: both sides present,
/// possibly empty; 5 levels: only the changed side):
///
/// `{"seqNum":100020146795,"prevSeqNum":100020146794,"bids":[],"asks":[[645.140000000000000000,26.755973959140651643]]}`
///
/// and the answer to `req` of the same topic (the refresh image, no `prevSeqNum`), as
/// the `data` of `{"id":..,"rep":..,"status":"ok","data":..}`:
///
/// `{"seqNum":100020142010,"bids":[[618.37,71.594],[423.33,77.726]],"asks":[[6633.26,2.93]]}`
#[derive(Debug, Deserialize)]
pub struct MbpTick<'a> {
    #[serde(rename = "seqNum")]
    pub seq_num: u64,
    #[serde(default, rename = "prevSeqNum")]
    pub prev_seq_num: Option<u64>,
    #[serde(default, borrow)]
    pub bids: Vec<Lv<'a>>,
    #[serde(default, borrow)]
    pub asks: Vec<Lv<'a>>,
}

/// `market.$symbol.bbo` (spot):
///
/// `{"seqId":161499562790,"ask":16829.51,"askSize":0.707548,"bid":16829.5,"bidSize":1.016059,"quoteTime":1671440587935,"symbol":"btcusdt"}`
#[derive(Debug, Deserialize)]
pub struct SpotBbo<'a> {
    #[serde(default, rename = "seqId")]
    pub seq_id: Option<u64>,
    #[serde(default, borrow)]
    pub ask: Option<&'a RawValue>,
    #[serde(default, rename = "askSize", borrow)]
    pub ask_size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub bid: Option<&'a RawValue>,
    #[serde(default, rename = "bidSize", borrow)]
    pub bid_size: Option<&'a RawValue>,
    #[serde(default, rename = "quoteTime")]
    pub quote_time: Option<i64>,
}

/// `market.$contract_code.bbo` (swaps; `[price, contracts]`):
///
/// `{"mrid":43131188379,"id":1645289384,"bid":[0.41887,250],"ask":[0.41912,120],"ts":1645289384831,"version":43131188379,"ch":"market.GRT-USDT.bbo"}`
#[derive(Debug, Deserialize)]
pub struct SwapBbo<'a> {
    #[serde(default, borrow)]
    pub bid: Option<Lv<'a>>,
    #[serde(default, borrow)]
    pub ask: Option<Lv<'a>>,
    #[serde(default)]
    pub ts: Option<i64>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// `market.$symbol.ticker` (spot; `amount` in base, `vol` in quote) and the older
/// `market.$symbol.detail` (the same statistics, without the best bid/ask):
///
/// `{"open":16780.01,"high":16890.0,"low":16703.38,"close":16829.51,"amount":8395.414108,"vol":1.4083335478E8,"count":138627,"bid":16829.5,"bidSize":1.016059,"ask":16829.51,"askSize":0.707548,"lastPrice":16829.51,"lastSize":0.001}`
#[derive(Debug, Deserialize)]
pub struct SpotTicker<'a> {
    #[serde(default, borrow)]
    pub open: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub high: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub low: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub close: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub amount: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub vol: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub bid: Option<&'a RawValue>,
    #[serde(default, rename = "bidSize", borrow)]
    pub bid_size: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub ask: Option<&'a RawValue>,
    #[serde(default, rename = "askSize", borrow)]
    pub ask_size: Option<&'a RawValue>,
    #[serde(default, rename = "lastPrice", borrow)]
    pub last_price: Option<&'a RawValue>,
}

/// `market.$contract_code.detail` (swaps; `amount` in the base coin, `vol` in
/// contracts, `trade_turnover` in the quote; best bid/ask as `[price, contracts]`):
///
/// `{"id":1645289385,"mrid":43131188379,"open":0.41373,"close":0.41912,"high":0.42531,"low":0.40711,"amount":"4390283.4","vol":"43902834","trade_turnover":"1826342.02","count":28541,"ask":[0.41912,120],"bid":[0.41887,250]}`
#[derive(Debug, Deserialize)]
pub struct SwapDetail<'a> {
    #[serde(default, borrow)]
    pub open: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub high: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub low: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub close: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub amount: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub trade_turnover: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub bid: Option<Lv<'a>>,
    #[serde(default, borrow)]
    pub ask: Option<Lv<'a>>,
}

/// `public.$contract_code.funding_rate` on the notification endpoint, the `data[]` of
/// `{"op":"notify","topic":..,"ts":..,"data":[..]}`:
///
/// `{"symbol":"BTC","contract_code":"BTC-USDT","fee_asset":"USDT","funding_time":"1603778700000","funding_rate":"-0.000220068774978695","estimated_rate":"-0.000684397270140271","settlement_time":"1603785600000"}`
#[derive(Debug, Deserialize)]
pub struct FundingRate<'a> {
    #[serde(borrow)]
    pub contract_code: &'a str,
    #[serde(borrow)]
    pub funding_rate: &'a RawValue,
    #[serde(default, borrow)]
    pub estimated_rate: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub funding_time: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub settlement_time: Option<&'a RawValue>,
}

/// `public.$contract_code.liquidation_orders` on the notification endpoint (`direction`
/// is the liquidation order's side, `volume` in contracts, `amount` in the base coin):
///
/// `{"contract_code":"BTC-USDT","symbol":"BTC","direction":"sell","offset":"close","volume":624.0,"price":18450.0,"created_at":1606294349617,"amount":0.624,"trade_turnover":11512.8,"business_type":"swap","pair":"BTC-USDT"}`
#[derive(Debug, Deserialize)]
pub struct LiquidationOrder<'a> {
    #[serde(borrow)]
    pub contract_code: &'a str,
    #[serde(borrow)]
    pub direction: &'a str,
    #[serde(borrow)]
    pub volume: &'a RawValue,
    #[serde(borrow)]
    pub price: &'a RawValue,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn frames() {
            let f: Frame = serde_json::from_str(
                r#"{"id":"1","status":"ok","subbed":"market.btcusdt.trade.detail","ts":1618678070653}"#,
            )
            .unwrap();
            assert_eq!(
                (f.status, f.subbed, f.id.unwrap().get()),
                (Some("ok"), Some("market.btcusdt.trade.detail"), r#""1""#)
            );
            let f: Frame = serde_json::from_str(r#"{"id":"3","status":"error","err-code":"bad-request","err-msg":"invalid topic market.nosuch.trade.detail","ts":1494301904959}"#).unwrap();
            assert_eq!(f.err_code.unwrap().get(), r#""bad-request""#);
            assert_eq!(
                f.err_msg.as_deref(),
                Some("invalid topic market.nosuch.trade.detail")
            );
            let f: Frame = serde_json::from_str(r#"{"ping":1618678073643}"#).unwrap();
            assert_eq!(f.ping.unwrap().get(), "1618678073643");
            let f: Frame = serde_json::from_str(r#"{"op":"ping","ts":"1489474081631"}"#).unwrap();
            assert_eq!(f.op, Some("ping"));
            let p: OpPing = serde_json::from_str(r#"{"op":"ping","ts":"1489474081631"}"#).unwrap();
            assert_eq!(p.ts.get(), r#""1489474081631""#);
            let f: Frame = serde_json::from_str(r#"{"id":"1000000","rep":"market.btcusdt.mbp.150","status":"ok","data":{"seqNum":1,"bids":[],"asks":[]}}"#).unwrap();
            assert_eq!(f.rep, Some("market.btcusdt.mbp.150"));
        }

        #[test]
        fn trades() {
            let t: TradeTick = serde_json::from_str(r#"{"id":100182534526,"ts":1618678027940,"data":[{"id":100182534526255757567432481,"ts":1618678027940,"tradeId":100045088885,"amount":20995.88,"price":9.2E-7,"direction":"buy"}]}"#).unwrap();
            let x = &t.data[0];
            assert_eq!(x.id.get(), "100182534526255757567432481");
            assert_eq!(
                (x.trade_id, x.price.get(), x.direction),
                (Some(100045088885), "9.2E-7", "buy")
            );
            let t: TradeTick = serde_json::from_str(r#"{"id":43131183313,"ts":1645289380927,"data":[{"amount":4,"quantity":40,"trade_turnover":16.7648,"ts":1645289380927,"id":431311833130000,"price":0.41912,"direction":"buy"}]}"#).unwrap();
            assert_eq!((t.data[0].trade_id, t.data[0].amount.get()), (None, "4"));
        }

        #[test]
        fn books() {
            let d: DepthTick = serde_json::from_str(r#"{"bids":[[9.121E-7,92730.24],[9.12E-7,66053.68]],"asks":[[9.28E-7,4342.25]],"version":100182534697,"ts":1618678069868}"#).unwrap();
            assert_eq!((d.bids.len(), d.asks[0].0.get()), (2, "9.28E-7"));
            let d: DepthTick = serde_json::from_str(r#"{"asks":[[0.41912,120]],"bids":[[0.41887,0]],"ch":"market.GRT-USDT.depth.size_20.high_freq","event":"update","id":43131188379,"mrid":43131188379,"ts":1645289384831,"version":1028}"#).unwrap();
            assert_eq!((d.event, d.version), (Some("update"), Some(1028)));
            let m: MbpTick = serde_json::from_str(r#"{"seqNum":100020146795,"prevSeqNum":100020146794,"bids":[],"asks":[[645.140000000000000000,26.755973959140651643]]}"#).unwrap();
            assert_eq!(
                (m.seq_num, m.prev_seq_num, m.asks[0].1.get()),
                (100020146795, Some(100020146794), "26.755973959140651643")
            );
            let m: MbpTick = serde_json::from_str(r#"{"seqNum":100020142010,"bids":[[618.37,71.594],[423.33,77.726]],"asks":[[6633.26,2.93]]}"#).unwrap();
            assert_eq!((m.prev_seq_num, m.bids.len()), (None, 2));
        }

        #[test]
        fn notifications() {
            let f: FundingRate = serde_json::from_str(r#"{"symbol":"BTC","contract_code":"BTC-USDT","fee_asset":"USDT","funding_time":"1603778700000","funding_rate":"-0.000220068774978695","estimated_rate":"-0.000684397270140271","settlement_time":"1603785600000"}"#).unwrap();
            assert_eq!(
                (f.contract_code, f.funding_rate.get()),
                ("BTC-USDT", r#""-0.000220068774978695""#)
            );
            let l: LiquidationOrder = serde_json::from_str(r#"{"contract_code":"BTC-USDT","symbol":"BTC","direction":"sell","offset":"close","volume":624.0,"price":18450.0,"created_at":1606294349617,"amount":0.624,"trade_turnover":11512.8,"business_type":"swap","pair":"BTC-USDT"}"#).unwrap();
            assert_eq!((l.direction, l.volume.get()), ("sell", "624.0"));
        }

        #[test]
        fn bbo_and_tickers() {
            let b: SpotBbo = serde_json::from_str(r#"{"seqId":161499562790,"ask":16829.51,"askSize":0.707548,"bid":16829.5,"bidSize":1.016059,"quoteTime":1671440587935,"symbol":"btcusdt"}"#).unwrap();
            assert_eq!(
                (b.seq_id, b.bid.unwrap().get()),
                (Some(161499562790), "16829.5")
            );
            let b: SwapBbo = serde_json::from_str(r#"{"mrid":43131188379,"id":1645289384,"bid":[0.41887,250],"ask":[0.41912,120],"ts":1645289384831,"version":43131188379,"ch":"market.GRT-USDT.bbo"}"#).unwrap();
            assert_eq!(b.ask.unwrap().0.get(), "0.41912");
            let t: SpotTicker = serde_json::from_str(r#"{"open":16780.01,"high":16890.0,"low":16703.38,"close":16829.51,"amount":8395.414108,"vol":1.4083335478E8,"count":138627,"bid":16829.5,"bidSize":1.016059,"ask":16829.51,"askSize":0.707548,"lastPrice":16829.51,"lastSize":0.001}"#).unwrap();
            assert_eq!(t.vol.unwrap().get(), "1.4083335478E8");
            let t: SwapDetail = serde_json::from_str(r#"{"id":1645289385,"mrid":43131188379,"open":0.41373,"close":0.41912,"high":0.42531,"low":0.40711,"amount":"4390283.4","vol":"43902834","trade_turnover":"1826342.02","count":28541,"ask":[0.41912,120],"bid":[0.41887,250]}"#).unwrap();
            assert_eq!(t.amount.unwrap().get(), r#""4390283.4""#);
        }
    }
}

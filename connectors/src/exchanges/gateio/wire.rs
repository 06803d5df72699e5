//! Gate API v4 WebSocket wire types (spot `wss://api.gateio.ws/ws/v4/` and USDT
//! futures `wss://fx-ws.gateio.ws/v4/ws/usdt`). Every server frame is an object
//! `{"time":..,"time_ms":..,"id":..,"channel":..,"event":..,"error":..,"result":..}`;
//! `result` is read in a second step once `channel` and `event` say what it is.
//!
//! Futures sizes are integers (contracts), or decimal strings on connections opened
//! with the `X-Gate-Size-Decimal: 1` header: both are read exactly ([`Dec`] takes
//! JSON strings and integers).

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::Dec;

/// The envelope of every server frame, e.g. the subscribe answer
/// `{"time":1684930165,"time_ms":0,"channel":"futures.trades","event":"subscribe","result":{"status":"success"}}`
/// or the pong `{"time":1545404023,"time_ms":1545404023123,"channel":"spot.pong","event":"","result":null}`.
/// `id` is the client's request id, echoed when the request carried one.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub time_ms: Option<i64>,
    #[serde(default)]
    pub id: Option<u64>,
    pub channel: &'a str,
    #[serde(default)]
    pub event: &'a str,
    #[serde(borrow, default)]
    pub error: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub result: Option<&'a RawValue>,
}

/// The `result` of a subscribe/unsubscribe answer: `{"status":"success"}` (or
/// `{"status":"fail"}` next to an `error`).
#[derive(Debug, Deserialize)]
pub struct Status<'a> {
    #[serde(default)]
    pub status: &'a str,
}

/// The `error` of a refused request:
/// `{"time":1606292218,"time_ms":1606292218231,"id":1,"channel":"spot.trades","event":"subscribe","error":{"code":2,"message":"unknown currency pair GT_USD"},"result":{"status":"fail"}}`
#[derive(Debug, Deserialize)]
pub struct Error {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
}

/// `spot.trades` update `result` (one trade; `side` is the taker's):
/// `{"id":816995772,"create_time":1619093543,"create_time_ms":"1619093543708.2642","side":"sell","currency_pair":"DIS_USDT","amount":"0.2010000000","price":"121.5800000000"}`
#[derive(Debug, Deserialize)]
pub struct SpotTrade<'a> {
    pub id: u64,
    #[serde(default)]
    pub create_time_ms: Option<&'a str>,
    pub side: &'a str,
    pub currency_pair: &'a str,
    pub amount: Dec,
    pub price: Dec,
}

/// `futures.trades` update `result` (an array; the sign of `size` is the taker's
/// side: positive = buy, negative = sell):
/// `[{"size":-108,"id":27753479,"create_time":1545136464,"create_time_ms":1545136464123,"price":"96.4","contract":"BTC_USDT","is_internal":true}]`
#[derive(Debug, Deserialize)]
pub struct FuturesTrade<'a> {
    pub id: u64,
    #[serde(default)]
    pub create_time_ms: Option<i64>,
    pub contract: &'a str,
    pub size: Dec,
    pub price: Dec,
}

/// `spot.book_ticker` / `futures.book_ticker` update `result` (spot sizes are
/// strings, futures sizes contracts):
/// `{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}`,
/// `{"t":1684930165621,"u":6159967,"s":"PHB_USDT","b":"0.7379","B":814,"a":"0.739","A":677}`.
/// An empty side has `""` prices.
#[derive(Debug, Deserialize)]
pub struct BookTicker<'a> {
    #[serde(default)]
    pub t: Option<i64>,
    #[serde(default)]
    pub u: Option<u64>,
    pub s: &'a str,
    #[serde(borrow, default)]
    pub b: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "B")]
    pub bid_size: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub a: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "A")]
    pub ask_size: Option<&'a RawValue>,
}

/// `spot.order_book_update` update `result`: the changes between update ids `U`
/// and `u` (absolute sizes, `"0"` deletes), e.g.
/// `{"t":1619093532978,"e":"depthUpdate","E":1619093532,"s":"HAI_ETH","U":2691446,"u":2691446,"b":[["0.00010322","5360.209"]],"a":[["0.00010396","5876.967"]]}`.
/// Newer servers add `"full":true` to an update that is a whole book and `"l":"100"`.
#[derive(Debug, Deserialize)]
pub struct SpotBookUpdate<'a> {
    #[serde(default)]
    pub t: Option<i64>,
    #[serde(default)]
    pub full: bool,
    pub s: &'a str,
    #[serde(rename = "U")]
    pub first: u64,
    #[serde(rename = "u")]
    pub last: u64,
    #[serde(default)]
    pub b: Vec<(Dec, Dec)>,
    #[serde(default)]
    pub a: Vec<(Dec, Dec)>,
}

/// One futures book level: `{"p":"0.2983","s":0}` (`s` = 0 deletes).
#[derive(Debug, Deserialize)]
pub struct FuturesLevel {
    pub p: Dec,
    pub s: Dec,
}

/// `futures.order_book_update` update `result`:
/// `{"U":203083177,"a":[{"p":"0.2983","s":0}],"b":[],"s":"RDNT_USDT","t":1684930165217,"u":203083177}`
#[derive(Debug, Deserialize)]
pub struct FuturesBookUpdate<'a> {
    #[serde(default)]
    pub t: Option<i64>,
    #[serde(default)]
    pub full: bool,
    pub s: &'a str,
    #[serde(rename = "U")]
    pub first: u64,
    #[serde(rename = "u")]
    pub last: u64,
    #[serde(default)]
    pub b: Vec<FuturesLevel>,
    #[serde(default)]
    pub a: Vec<FuturesLevel>,
}

/// The REST snapshot `GET /api/v4/spot/order_book?currency_pair=..&limit=100&with_id=true`:
/// `{"id":2691446,"current":1619093533712,"update":1619093533710,"asks":[["0.00010396","5876.967"]],"bids":[["0.00010322","5360.209"]]}`
#[derive(Debug, Deserialize)]
pub struct SpotSnapshot {
    pub id: u64,
    #[serde(default)]
    pub current: Option<serde_json::Number>,
    pub asks: Vec<(Dec, Dec)>,
    pub bids: Vec<(Dec, Dec)>,
}

/// The REST snapshot `GET /api/v4/futures/usdt/order_book?contract=..&limit=100&with_id=true`
/// (`current`/`update` in seconds with a fraction):
/// `{"current":1684930166.384,"update":1684930166.35,"asks":[{"s":803,"p":"0.2974"}],"bids":[{"s":114,"p":"0.2973"}],"id":203083287}`
#[derive(Debug, Deserialize)]
pub struct FuturesSnapshot {
    pub id: u64,
    #[serde(default)]
    pub current: Option<serde_json::Number>,
    pub asks: Vec<FuturesLevel>,
    pub bids: Vec<FuturesLevel>,
}

/// An error answer of the REST API: `{"label":"INVALID_CURRENCY_PAIR","message":"Invalid currency pair BTC_XXX"}`.
#[derive(Debug, Deserialize)]
pub struct RestError {
    pub label: String,
    #[serde(default)]
    pub message: String,
}

/// `spot.tickers` update `result`:
/// `{"currency_pair":"NEO_BTC","last":"0.0018716","lowest_ask":"0.0018734","highest_bid":"0.0018697","change_percentage":"2.9256","base_volume":"1138.01640718","quote_volume":"2.048263365803126","high_24h":"0.0018754","low_24h":"0.0017148"}`
/// (current servers add `lowest_size`/`highest_size`).
#[derive(Debug, Deserialize)]
pub struct SpotTicker<'a> {
    pub currency_pair: &'a str,
    #[serde(default)]
    pub last: Option<&'a str>,
    #[serde(default)]
    pub lowest_ask: Option<&'a str>,
    #[serde(default)]
    pub lowest_size: Option<&'a str>,
    #[serde(default)]
    pub highest_bid: Option<&'a str>,
    #[serde(default)]
    pub highest_size: Option<&'a str>,
    #[serde(default)]
    pub base_volume: Option<&'a str>,
    #[serde(default)]
    pub quote_volume: Option<&'a str>,
    #[serde(default)]
    pub high_24h: Option<&'a str>,
    #[serde(default)]
    pub low_24h: Option<&'a str>,
}

/// `futures.tickers` update `result` (an array):
/// `[{"contract":"BTC_USDT","last":"118.4","change_percentage":"0.77","funding_rate":"-0.000114","funding_rate_indicative":"0.01875","mark_price":"118.35","index_price":"118.36","total_size":"73648","volume_24h":"745487577","volume_24h_base":"5526","volume_24h_quote":"1665006","volume_24h_settle":"178","low_24h":"99.2","high_24h":"132.5"}]`
/// `total_size` is the open interest in contracts.
#[derive(Debug, Deserialize)]
pub struct FuturesTicker<'a> {
    pub contract: &'a str,
    #[serde(default)]
    pub last: Option<&'a str>,
    #[serde(default)]
    pub funding_rate: Option<&'a str>,
    #[serde(default)]
    pub funding_rate_indicative: Option<&'a str>,
    #[serde(default)]
    pub mark_price: Option<&'a str>,
    #[serde(default)]
    pub index_price: Option<&'a str>,
    #[serde(default)]
    pub total_size: Option<&'a str>,
    #[serde(default)]
    pub volume_24h_base: Option<&'a str>,
    #[serde(default)]
    pub volume_24h_quote: Option<&'a str>,
    #[serde(default)]
    pub high_24h: Option<&'a str>,
    #[serde(default)]
    pub low_24h: Option<&'a str>,
    #[serde(default)]
    pub highest_bid: Option<&'a str>,
    #[serde(default)]
    pub lowest_ask: Option<&'a str>,
}

/// `futures.public_liquidates` update `result` (an array; the sign of `size` is the
/// liquidated position's: negative = a long closed by a sell order; `time` in ms
/// since 2026-08-20, seconds before):
/// `[{"price":"215.1","size":"-124.5","time":1541486601123,"contract":"BTC_USDT"},{"price":"215.2","size":"-10.5","time":1541486601456,"contract":"BTC_USDT"}]`
#[derive(Debug, Deserialize)]
pub struct Liquidation<'a> {
    pub contract: &'a str,
    pub price: Dec,
    pub size: Dec,
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub time_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn envelopes() {
            let e: Envelope = serde_json::from_str(r#"{"time":1684930165,"time_ms":0,"channel":"futures.trades","event":"subscribe","result":{"status":"success"}}"#).unwrap();
            assert_eq!((e.channel, e.event), ("futures.trades", "subscribe"));
            let s: Status = serde_json::from_str(e.result.unwrap().get()).unwrap();
            assert_eq!(s.status, "success");
            let e: Envelope = serde_json::from_str(r#"{"time":1545404023,"time_ms":1545404023123,"channel":"spot.pong","event":"","result":null}"#).unwrap();
            assert!(e.result.is_none());
            let e: Envelope = serde_json::from_str(r#"{"time":1606292218,"time_ms":1606292218231,"id":1,"channel":"spot.trades","event":"subscribe","error":{"code":2,"message":"unknown currency pair GT_USD"},"result":{"status":"fail"}}"#).unwrap();
            assert_eq!(e.id, Some(1));
            let err: Error = serde_json::from_str(e.error.unwrap().get()).unwrap();
            assert_eq!(
                (err.code, err.message.as_str()),
                (Some(2), "unknown currency pair GT_USD")
            );
        }

        #[test]
        fn trades() {
            let t: SpotTrade = serde_json::from_str(r#"{"id":816995772,"create_time":1619093543,"create_time_ms":"1619093543708.2642","side":"sell","currency_pair":"DIS_USDT","amount":"0.2010000000","price":"121.5800000000"}"#).unwrap();
            assert_eq!(
                (t.id, t.side, t.price.as_str()),
                (816995772, "sell", "121.58")
            );
            let t: Vec<FuturesTrade> = serde_json::from_str(r#"[{"size":-108,"id":27753479,"create_time":1545136464,"create_time_ms":1545136464123,"price":"96.4","contract":"BTC_USDT","is_internal":true}]"#).unwrap();
            assert_eq!((t[0].size.as_str(), t[0].contract), ("-108", "BTC_USDT"));
        }

        #[test]
        fn book_tickers() {
            let b: BookTicker = serde_json::from_str(r#"{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}"#).unwrap();
            assert_eq!(b.u, Some(48733182));
            let b: BookTicker = serde_json::from_str(r#"{"t":1684930165621,"u":6159967,"s":"PHB_USDT","b":"0.7379","B":814,"a":"0.739","A":677}"#).unwrap();
            assert_eq!(b.ask_size.unwrap().get(), "677");
        }

        #[test]
        fn books() {
            let u: SpotBookUpdate = serde_json::from_str(r#"{"t":1619093532978,"e":"depthUpdate","E":1619093532,"s":"HAI_ETH","U":2691446,"u":2691446,"b":[["0.00010322","5360.209"]],"a":[["0.00010396","5876.967"]]}"#).unwrap();
            assert_eq!(
                (u.first, u.last, u.b.len(), u.full),
                (2691446, 2691446, 1, false)
            );
            let u: FuturesBookUpdate = serde_json::from_str(r#"{"U":203083177,"a":[{"p":"0.2983","s":0}],"b":[],"s":"RDNT_USDT","t":1684930165217,"u":203083177}"#).unwrap();
            assert!(u.a[0].s.is_zero());
            let s: SpotSnapshot = serde_json::from_str(r#"{"id":2691446,"current":1619093533712,"update":1619093533710,"asks":[["0.00010396","5876.967"]],"bids":[["0.00010322","5360.209"]]}"#).unwrap();
            assert_eq!(s.id, 2691446);
            let s: FuturesSnapshot = serde_json::from_str(r#"{"current":1684930166.384,"update":1684930166.35,"asks":[{"s":803,"p":"0.2974"}],"bids":[{"s":114,"p":"0.2973"}],"id":203083287}"#).unwrap();
            assert_eq!((s.id, s.asks[0].s.as_str()), (203083287, "803"));
            let e: RestError = serde_json::from_str(
                r#"{"label":"INVALID_CURRENCY_PAIR","message":"Invalid currency pair BTC_XXX"}"#,
            )
            .unwrap();
            assert_eq!(e.label, "INVALID_CURRENCY_PAIR");
        }

        #[test]
        fn tickers_and_liquidations() {
            let t: SpotTicker = serde_json::from_str(r#"{"currency_pair":"NEO_BTC","last":"0.0018716","lowest_ask":"0.0018734","highest_bid":"0.0018697","change_percentage":"2.9256","base_volume":"1138.01640718","quote_volume":"2.048263365803126","high_24h":"0.0018754","low_24h":"0.0017148"}"#).unwrap();
            assert_eq!(t.last, Some("0.0018716"));
            let t: Vec<FuturesTicker> = serde_json::from_str(r#"[{"contract":"BTC_USDT","last":"118.4","change_percentage":"0.77","funding_rate":"-0.000114","funding_rate_indicative":"0.01875","mark_price":"118.35","index_price":"118.36","total_size":"73648","volume_24h":"745487577","volume_24h_base":"5526","volume_24h_quote":"1665006","volume_24h_settle":"178","low_24h":"99.2","high_24h":"132.5"}]"#).unwrap();
            assert_eq!(t[0].total_size, Some("73648"));
            let l: Vec<Liquidation> = serde_json::from_str(r#"[{"price":"215.1","size":"-124.5","time":1541486601123,"contract":"BTC_USDT"},{"price":"215.2","size":"-10.5","time":1541486601456,"contract":"BTC_USDT"}]"#).unwrap();
            assert_eq!((l.len(), l[1].size.as_str()), (2, "-10.5"));
        }
    }
}

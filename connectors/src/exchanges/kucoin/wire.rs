//! KuCoin classic spot WebSocket wire types. Every server frame is an object with a
//! `type` (`welcome`, `ack`, `pong`, `error`, `message`, `notice`); a `message` names
//! its `topic` (`/market/match:BTC-USDT`) and `subject`, and its `data` is read in a
//! second step once the topic says what it is.

use serde::Deserialize;
use serde_json::value::RawValue;
use tickbridge_schema::Dec;

/// The envelope of every server frame, e.g.
/// `{"id":"hQvf8jkno","type":"welcome"}`, `{"id":"1","type":"ack"}`,
/// `{"id":"1545910590801","type":"pong"}`, or a `message` (the types below).
/// `id` is a string in the server's frames (the welcome's is the connection id).
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(default)]
    pub topic: Option<&'a str>,
    #[serde(default)]
    pub subject: Option<&'a str>,
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub code: Option<&'a RawValue>,
}

/// `/market/match:{symbol}` (subject `trade.l3match`):
/// `{"topic":"/market/match:BTC-USDT","type":"message","subject":"trade.l3match","data":{"makerOrderId":"671b5007389355000701b1d3","price":"67523","sequence":"11067996711960577","side":"buy","size":"0.003","symbol":"BTC-USDT","takerOrderId":"671b50161777ff00074c168d","time":"1729843222921000000","tradeId":"11067996711960577","type":"match"}}`
/// `side` is the taker's; `time` is ns since the epoch (text).
#[derive(Debug, Deserialize)]
pub struct Match<'a> {
    pub symbol: &'a str,
    pub sequence: &'a str,
    pub side: &'a str,
    pub price: Dec,
    pub size: Dec,
    pub time: &'a str,
    #[serde(rename = "tradeId")]
    pub trade_id: &'a str,
}

/// `/market/ticker:{symbol}` (subject `trade.ticker`), the best bid and offer with the
/// last trade:
/// `{"data":{"sequence":"1612844051653","bestAsk":"0.00028717","size":"0.01745248","bestBidSize":"3.70422021","price":"0.00028676","time":1619378326323,"bestAskSize":"14.04274325","bestBid":"0.00028678"},"subject":"trade.ticker","topic":"/market/ticker:SNX-BTC","type":"message"}`
/// (as recorded; the current page documents the same fields). `time` is ms since the epoch.
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    pub sequence: &'a str,
    #[serde(rename = "bestBid", default)]
    pub best_bid: Option<Dec>,
    #[serde(rename = "bestBidSize", default)]
    pub best_bid_size: Option<Dec>,
    #[serde(rename = "bestAsk", default)]
    pub best_ask: Option<Dec>,
    #[serde(rename = "bestAskSize", default)]
    pub best_ask_size: Option<Dec>,
    #[serde(default)]
    pub time: Option<i64>,
}

/// `/market/snapshot:{symbol}` (subject `trade.snapshot`, every 2 s), the 24-hour
/// statistics; the values are JSON numbers, read from their raw text (the shape of
/// the current page's example; not in the recordings):
/// `{"topic":"/market/snapshot:BTC-USDT","type":"message","subject":"trade.snapshot","data":{"sequence":"1545896669291","data":{"averagePrice":67000.1,"baseCurrency":"BTC","board":1,"buy":67996.6,"changePrice":-264.3,"changeRate":-0.0039,"close":67996.7,"datetime":1729823014549,"high":68636.9,"lastTradedPrice":67996.7,"low":67200.0,"makerCoefficient":1.0,"makerFeeRate":0.001,"marginTrade":true,"mark":0,"market":"USDS","marketChange1h":{"changePrice":-96.7,"changeRate":-0.0014,"high":68117.7,"low":67952.2,"open":68093.4,"vol":23.37812523,"volValue":1590758.57906451},"markets":["USDS"],"open":68261.0,"quoteCurrency":"USDT","sell":67996.7,"sort":100,"symbol":"BTC-USDT","symbolCode":"BTC-USDT","takerCoefficient":1.0,"takerFeeRate":0.001,"trading":true,"vol":1838.78447069,"volValue":124834036.38655438}}}`
#[derive(Debug, Deserialize)]
pub struct Snapshot<'a> {
    #[serde(default)]
    pub sequence: Option<&'a str>,
    #[serde(borrow)]
    pub data: SnapshotData<'a>,
}

/// The statistics of a [`Snapshot`].
#[derive(Debug, Deserialize)]
pub struct SnapshotData<'a> {
    pub symbol: &'a str,
    #[serde(default)]
    pub datetime: Option<i64>,
    #[serde(rename = "lastTradedPrice", borrow, default)]
    pub last: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub buy: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub sell: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub open: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub high: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub low: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub vol: Option<&'a RawValue>,
    #[serde(rename = "volValue", borrow, default)]
    pub vol_value: Option<&'a RawValue>,
}

/// `/market/level2:{symbol}` (subject `trade.l2update`), the increments of the
/// aggregated book; each change is `[price, size, sequence]` (size `0` deletes, price
/// `0` carries only a sequence), and the message covers `sequenceStart..=sequenceEnd`:
/// `{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{"changes":{"asks":[["67993.3","1.21427407","14701689783"]],"bids":[]},"sequenceEnd":14701689783,"sequenceStart":14701689783,"symbol":"BTC-USDT","time":1729816425625}}`
/// (`time`, ms, is absent in older recordings).
#[derive(Debug, Deserialize)]
pub struct L2Update<'a> {
    pub symbol: &'a str,
    #[serde(rename = "sequenceStart")]
    pub sequence_start: u64,
    #[serde(rename = "sequenceEnd")]
    pub sequence_end: u64,
    pub changes: Changes<'a>,
    #[serde(default)]
    pub time: Option<i64>,
}

/// The `changes` of an [`L2Update`].
#[derive(Debug, Deserialize)]
pub struct Changes<'a> {
    #[serde(borrow, default)]
    pub asks: Vec<(Dec, Dec, &'a str)>,
    #[serde(borrow, default)]
    pub bids: Vec<(Dec, Dec, &'a str)>,
}

/// The REST book snapshot `GET /api/v1/market/orderbook/level2_100?symbol=BTC-USDT`
/// (and `level2_20`; the recordings' `/api/v3/market/orderbook/level2` has the same
/// shape):
/// `{"code":"200000","data":{"time":1729176273859,"sequence":"14610502970","bids":[["66976.4","0.69109872"],["66976.3","0.14377"]],"asks":[["66976.5","0.05408199"],["66976.8","0.0005"]]}}`
/// An error answer is `{"code":"400100","msg":"..."}`.
#[derive(Debug, Deserialize)]
pub struct RestAnswer<'a> {
    pub code: &'a str,
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
    #[serde(default)]
    pub msg: Option<String>,
}

/// The `data` of a book snapshot.
#[derive(Debug, Deserialize)]
pub struct BookSnapshot<'a> {
    pub sequence: &'a str,
    #[serde(default)]
    pub time: Option<i64>,
    pub bids: Vec<(Dec, Dec)>,
    pub asks: Vec<(Dec, Dec)>,
}

/// The `data` of `POST /api/v1/bullet-public`:
/// `{"code":"200000","data":{"token":"2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh_55i3Ysy2q2LEsEWU64mdzUOPusi34M_wGoSf7iNyEWJ4aBZXpWhrmY9jKtqkdWoFa75w3istPvPtiYB9J6i9GjsxUuhPw3BlrzazF6ghq4L_u0MhKxG3x8TeN4aVbNiYo=.mvnekBb8DJegZIgYLs2FBQ==","instanceServers":[{"endpoint":"wss://ws-api-spot.kucoin.com/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}`
#[derive(Debug, Deserialize)]
pub struct Bullet {
    pub token: String,
    #[serde(rename = "instanceServers")]
    pub servers: Vec<InstanceServer>,
}

/// One server of a [`Bullet`]; intervals in ms.
#[derive(Debug, Deserialize)]
pub struct InstanceServer {
    pub endpoint: String,
    #[serde(rename = "pingInterval", default)]
    pub ping_interval: Option<u64>,
    #[serde(rename = "pingTimeout", default)]
    pub ping_timeout: Option<u64>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        fn data(frame: &str) -> &str {
            let env: Envelope = serde_json::from_str(frame).unwrap();
            assert_eq!(env.kind, "message");
            env.data.unwrap().get()
        }

        #[test]
        fn control_frames() {
            for (frame, kind) in [
                (r#"{"id":"hQvf8jkno","type":"welcome"}"#, "welcome"),
                (r#"{"id":"1","type":"ack"}"#, "ack"),
                (r#"{"id":"1545910590801","type":"pong"}"#, "pong"),
                (
                    r#"{"id":"1","type":"error","code":404,"data":"topic /market/level3:BTC-USDT is not found"}"#,
                    "error",
                ),
            ] {
                let env: Envelope = serde_json::from_str(frame).unwrap();
                assert_eq!(env.kind, kind);
                assert!(env.id.is_some());
            }
        }

        #[test]
        fn match_frame() {
            let f = r#"{"topic":"/market/match:BTC-USDT","type":"message","subject":"trade.l3match","data":{"makerOrderId":"671b5007389355000701b1d3","price":"67523","sequence":"11067996711960577","side":"buy","size":"0.003","symbol":"BTC-USDT","takerOrderId":"671b50161777ff00074c168d","time":"1729843222921000000","tradeId":"11067996711960577","type":"match"}}"#;
            let m: Match = serde_json::from_str(data(f)).unwrap();
            assert_eq!(
                (m.symbol, m.side, m.price.as_str(), m.trade_id),
                ("BTC-USDT", "buy", "67523", "11067996711960577")
            );
        }

        #[test]
        fn ticker_frame() {
            let f = r#"{"data":{"sequence":"1612844051653","bestAsk":"0.00028717","size":"0.01745248","bestBidSize":"3.70422021","price":"0.00028676","time":1619378326323,"bestAskSize":"14.04274325","bestBid":"0.00028678"},"subject":"trade.ticker","topic":"/market/ticker:SNX-BTC","type":"message"}"#;
            let t: Ticker = serde_json::from_str(data(f)).unwrap();
            assert_eq!(t.best_bid.unwrap().as_str(), "0.00028678");
            assert_eq!(t.time, Some(1619378326323));
        }

        #[test]
        fn snapshot_frame() {
            let f = r#"{"topic":"/market/snapshot:BTC-USDT","type":"message","subject":"trade.snapshot","data":{"sequence":"1545896669291","data":{"averagePrice":67000.1,"baseCurrency":"BTC","board":1,"buy":67996.6,"changePrice":-264.3,"changeRate":-0.0039,"close":67996.7,"datetime":1729823014549,"high":68636.9,"lastTradedPrice":67996.7,"low":67200.0,"makerCoefficient":1.0,"makerFeeRate":0.001,"marginTrade":true,"mark":0,"market":"USDS","marketChange1h":{"changePrice":-96.7,"changeRate":-0.0014,"high":68117.7,"low":67952.2,"open":68093.4,"vol":23.37812523,"volValue":1590758.57906451},"markets":["USDS"],"open":68261.0,"quoteCurrency":"USDT","sell":67996.7,"sort":100,"symbol":"BTC-USDT","symbolCode":"BTC-USDT","takerCoefficient":1.0,"takerFeeRate":0.001,"trading":true,"vol":1838.78447069,"volValue":124834036.38655438}}}"#;
            let s: Snapshot = serde_json::from_str(data(f)).unwrap();
            assert_eq!(s.data.symbol, "BTC-USDT");
            assert_eq!(s.data.last.unwrap().get(), "67996.7");
        }

        #[test]
        fn level2_frame() {
            let f = r#"{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{"changes":{"asks":[["67993.3","1.21427407","14701689783"]],"bids":[]},"sequenceEnd":14701689783,"sequenceStart":14701689783,"symbol":"BTC-USDT","time":1729816425625}}"#;
            let u: L2Update = serde_json::from_str(data(f)).unwrap();
            assert_eq!(
                (u.sequence_start, u.sequence_end),
                (14701689783, 14701689783)
            );
            assert_eq!(u.changes.asks[0].2, "14701689783");
        }

        #[test]
        fn rest_answers() {
            let body = r#"{"code":"200000","data":{"time":1729176273859,"sequence":"14610502970","bids":[["66976.4","0.69109872"],["66976.3","0.14377"]],"asks":[["66976.5","0.05408199"],["66976.8","0.0005"]]}}"#;
            let a: RestAnswer = serde_json::from_str(body).unwrap();
            let s: BookSnapshot = serde_json::from_str(a.data.unwrap().get()).unwrap();
            assert_eq!((s.sequence, s.bids.len()), ("14610502970", 2));
            let err: RestAnswer = serde_json::from_str(r#"{"code":"400100","msg":"x"}"#).unwrap();
            assert_eq!(err.code, "400100");
            let bullet = r#"{"code":"200000","data":{"token":"2neAiuYvAU61ZDXANAGAsiL4-iAExhsBXZxftpOeh_55i3Ysy2q2LEsEWU64mdzUOPusi34M_wGoSf7iNyEWJ4aBZXpWhrmY9jKtqkdWoFa75w3istPvPtiYB9J6i9GjsxUuhPw3BlrzazF6ghq4L_u0MhKxG3x8TeN4aVbNiYo=.mvnekBb8DJegZIgYLs2FBQ==","instanceServers":[{"endpoint":"wss://ws-api-spot.kucoin.com/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}"#;
            let a: RestAnswer = serde_json::from_str(bullet).unwrap();
            let b: Bullet = serde_json::from_str(a.data.unwrap().get()).unwrap();
            assert_eq!(b.servers[0].ping_interval, Some(18000));
        }
    }
}

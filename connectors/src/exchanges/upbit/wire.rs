//! Upbit WebSocket wire types. Every server message is one JSON object (the
//! `DEFAULT` and `SIMPLE` formats; tickbridge asks for `DEFAULT`, recordings made with
//! `SIMPLE` use the abbreviated names, accepted here as serde aliases). Live Upbit
//! sends them in binary frames holding UTF-8 JSON, decoded before the parser.
//! Numbers are JSON numbers: prices and sizes are read from their raw text.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What every frame is checked for first: a data `type`, an `error`, or the
/// keep-alive `status`, e.g. `{"type":"trade","code":"KRW-BTC",...}`,
/// `{"ty":"trade","cd":"KRW-LAMB",...}` (SIMPLE), `{"status":"UP"}` or
/// `{"error":{"name":"WRONG_FORMAT","message":"..."}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", alias = "ty", default, borrow)]
    pub kind: Option<&'a str>,
    #[serde(default)]
    pub error: Option<Error>,
    #[serde(default, borrow)]
    pub status: Option<&'a str>,
}

/// An error answer to a request:
/// `{"error":{"name":"INVALID_PARAM","message":"요청 파라미터가 올바르지 않습니다."}}`
/// (`name` is one of `WRONG_FORMAT`, `NO_TICKET`, `NO_TYPE`, `NO_CODES`,
/// `INVALID_PARAM`, `INVALID_AUTH`, ...).
#[derive(Debug, Deserialize)]
pub struct Error {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

/// `trade` (DEFAULT):
/// `{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_date":"2024-10-31","trade_time":"01:07:42","trade_timestamp":1730336862047,"trade_price":100473000.00000000,"trade_volume":0.00014208,"ask_bid":"BID","prev_closing_price":100571000.00000000,"change":"FALL","change_price":98000.00000000,"sequential_id":17303368620470000,"best_ask_price":100473000,"best_ask_size":0.43139478,"best_bid_price":100465000,"best_bid_size":0.01990656,"stream_type":"REALTIME"}`
/// and SIMPLE, as recorded:
/// `{"ty":"trade","cd":"KRW-LAMB","tms":1618678262712,"td":"2021-04-17","ttm":"16:51:02","ttms":1618678262000,"tp":127.0,"tv":46.48838371,"ab":"BID","pcp":123.00000000,"c":"RISE","cp":4.00000000,"sid":1618678262000003,"st":"REALTIME"}`.
/// `ask_bid` is the taker's side: `ASK` = the taker sold (매도), `BID` = bought (매수).
#[derive(Debug, Deserialize)]
pub struct Trade<'a> {
    #[serde(alias = "cd", borrow)]
    pub code: &'a str,
    #[serde(alias = "ttms")]
    pub trade_timestamp: i64,
    #[serde(alias = "tp", borrow)]
    pub trade_price: &'a RawValue,
    #[serde(alias = "tv", borrow)]
    pub trade_volume: &'a RawValue,
    #[serde(alias = "ab", borrow)]
    pub ask_bid: &'a str,
    #[serde(alias = "sid")]
    pub sequential_id: u64,
}

/// One price level pair of `orderbook_units`:
/// `{"ask_price":100500000,"bid_price":100499000,"ask_size":0.0351,"bid_size":0.9731}`
/// (SIMPLE: `{"ap":127.0,"bp":126.0,"as":280460.37885666,"bs":688682.44561413}`).
#[derive(Debug, Deserialize)]
pub struct Unit<'a> {
    #[serde(alias = "ap", borrow)]
    pub ask_price: &'a RawValue,
    #[serde(alias = "bp", borrow)]
    pub bid_price: &'a RawValue,
    #[serde(alias = "as", borrow)]
    pub ask_size: &'a RawValue,
    #[serde(alias = "bs", borrow)]
    pub bid_size: &'a RawValue,
}

/// `orderbook`: the whole book (up to 30 level pairs, best first) every message:
/// `{"type":"orderbook","code":"KRW-BTC","timestamp":1730336862082,"total_ask_size":4.79129454,"total_bid_size":2.65631072,"orderbook_units":[{"ask_price":100500000,"bid_price":100499000,"ask_size":0.0351,"bid_size":0.9731},{"ask_price":100501000,"bid_price":100498000,"ask_size":0.0113,"bid_size":0.0003}],"stream_type":"SNAPSHOT","level":0}`
/// and SIMPLE, as recorded (15 pairs in 2021):
/// `{"ty":"orderbook","cd":"KRW-LAMB","tms":1618678262640,"tas":25752275.55420627,"tbs":14407925.20098682,"obu":[{"ap":127.0,"bp":126.0,"as":280460.37885666,"bs":688682.44561413}],"st":"REALTIME"}`.
#[derive(Debug, Deserialize)]
pub struct Orderbook<'a> {
    #[serde(alias = "cd", borrow)]
    pub code: &'a str,
    #[serde(alias = "tms")]
    pub timestamp: u64,
    #[serde(alias = "obu", borrow)]
    pub orderbook_units: Vec<Unit<'a>>,
}

/// `ticker` (DEFAULT; SIMPLE names in brackets are the aliases):
/// `{"type":"ticker","code":"KRW-BTC","opening_price":31883000,"high_price":32310000,"low_price":31855000,"trade_price":32287000,"prev_closing_price":31883000.00000000,"acc_trade_price":78039261076.51241000,"change":"RISE","change_price":404000.00000000,"signed_change_price":404000.00000000,"change_rate":0.0126713295,"signed_change_rate":0.0126713295,"ask_bid":"ASK","trade_volume":0.03103806,"acc_trade_volume":2429.58834336,"trade_date":"20230221","trade_time":"074102","trade_timestamp":1676965262139,"acc_ask_volume":1146.25573608,"acc_bid_volume":1283.33260728,"highest_52_week_price":57678000.00000000,"highest_52_week_date":"2022-03-28","lowest_52_week_price":20700000.00000000,"lowest_52_week_date":"2022-12-30","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":null,"market_warning":"NONE","timestamp":1676965262177,"acc_trade_price_24h":228827082483.70729000,"acc_trade_volume_24h":7158.80283560,"stream_type":"REALTIME"}`.
/// `opening/high/low_price` are of the current UTC day, not a rolling 24 h, so only
/// `trade_price` and the `_24h` accumulations are normalized.
#[derive(Debug, Deserialize)]
pub struct Ticker<'a> {
    #[serde(alias = "cd", borrow)]
    pub code: &'a str,
    #[serde(alias = "tms")]
    pub timestamp: i64,
    #[serde(alias = "tp", borrow)]
    pub trade_price: &'a RawValue,
    #[serde(alias = "atv24h", default, borrow)]
    pub acc_trade_volume_24h: Option<&'a RawValue>,
    #[serde(alias = "atp24h", default, borrow)]
    pub acc_trade_price_24h: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    mod de {
        use super::super::*;

        #[test]
        fn envelopes() {
            let e: Envelope = serde_json::from_str(r#"{"status":"UP"}"#).unwrap();
            assert_eq!((e.kind, e.status), (None, Some("UP")));
            let e: Envelope = serde_json::from_str(
                r#"{"error":{"name":"INVALID_PARAM","message":"요청 파라미터가 올바르지 않습니다."}}"#,
            )
            .unwrap();
            assert_eq!(e.error.unwrap().name, "INVALID_PARAM");
            let e: Envelope = serde_json::from_str(r#"{"ty":"trade","cd":"KRW-LAMB"}"#).unwrap();
            assert_eq!(e.kind, Some("trade"));
        }

        #[test]
        fn trades_in_both_formats() {
            let t: Trade = serde_json::from_str(r#"{"type":"trade","code":"KRW-BTC","timestamp":1730336862082,"trade_date":"2024-10-31","trade_time":"01:07:42","trade_timestamp":1730336862047,"trade_price":100473000.00000000,"trade_volume":0.00014208,"ask_bid":"BID","prev_closing_price":100571000.00000000,"change":"FALL","change_price":98000.00000000,"sequential_id":17303368620470000,"best_ask_price":100473000,"best_ask_size":0.43139478,"best_bid_price":100465000,"best_bid_size":0.01990656,"stream_type":"REALTIME"}"#).unwrap();
            assert_eq!(
                (t.code, t.trade_price.get(), t.ask_bid, t.sequential_id),
                ("KRW-BTC", "100473000.00000000", "BID", 17303368620470000)
            );
            let t: Trade = serde_json::from_str(r#"{"ty":"trade","cd":"KRW-LAMB","tms":1618678262712,"td":"2021-04-17","ttm":"16:51:02","ttms":1618678262000,"tp":127.0,"tv":46.48838371,"ab":"BID","pcp":123.00000000,"c":"RISE","cp":4.00000000,"sid":1618678262000003,"st":"REALTIME"}"#).unwrap();
            assert_eq!(
                (t.code, t.trade_volume.get(), t.trade_timestamp),
                ("KRW-LAMB", "46.48838371", 1618678262000)
            );
        }

        #[test]
        fn orderbooks_in_both_formats() {
            let b: Orderbook = serde_json::from_str(r#"{"type":"orderbook","code":"KRW-BTC","timestamp":1730336862082,"total_ask_size":4.79129454,"total_bid_size":2.65631072,"orderbook_units":[{"ask_price":100500000,"bid_price":100499000,"ask_size":0.0351,"bid_size":0.9731},{"ask_price":100501000,"bid_price":100498000,"ask_size":0.0113,"bid_size":0.0003}],"stream_type":"SNAPSHOT","level":0}"#).unwrap();
            assert_eq!(b.orderbook_units.len(), 2);
            assert_eq!(b.orderbook_units[1].bid_size.get(), "0.0003");
            let b: Orderbook = serde_json::from_str(r#"{"ty":"orderbook","cd":"KRW-LAMB","tms":1618678262640,"tas":25752275.55420627,"tbs":14407925.20098682,"obu":[{"ap":127.0,"bp":126.0,"as":280460.37885666,"bs":688682.44561413}],"st":"REALTIME"}"#).unwrap();
            assert_eq!((b.code, b.timestamp), ("KRW-LAMB", 1618678262640));
            assert_eq!(b.orderbook_units[0].ask_price.get(), "127.0");
        }

        #[test]
        fn tickers() {
            let t: Ticker = serde_json::from_str(r#"{"type":"ticker","code":"KRW-BTC","opening_price":31883000,"high_price":32310000,"low_price":31855000,"trade_price":32287000,"prev_closing_price":31883000.00000000,"acc_trade_price":78039261076.51241000,"change":"RISE","change_price":404000.00000000,"signed_change_price":404000.00000000,"change_rate":0.0126713295,"signed_change_rate":0.0126713295,"ask_bid":"ASK","trade_volume":0.03103806,"acc_trade_volume":2429.58834336,"trade_date":"20230221","trade_time":"074102","trade_timestamp":1676965262139,"acc_ask_volume":1146.25573608,"acc_bid_volume":1283.33260728,"highest_52_week_price":57678000.00000000,"highest_52_week_date":"2022-03-28","lowest_52_week_price":20700000.00000000,"lowest_52_week_date":"2022-12-30","market_state":"ACTIVE","is_trading_suspended":false,"delisting_date":null,"market_warning":"NONE","timestamp":1676965262177,"acc_trade_price_24h":228827082483.70729000,"acc_trade_volume_24h":7158.80283560,"stream_type":"REALTIME"}"#).unwrap();
            assert_eq!(t.trade_price.get(), "32287000");
            assert_eq!(t.acc_trade_volume_24h.unwrap().get(), "7158.80283560");
            let t: Ticker =
                serde_json::from_str(r#"{"ty":"ticker","cd":"KRW-BTC","tp":40441000,"tms":1611063306635,"atv24h":6448.9}"#)
                    .unwrap();
            assert_eq!(
                (t.code, t.acc_trade_volume_24h.unwrap().get()),
                ("KRW-BTC", "6448.9")
            );
        }
    }
}

//! Fast paths for the highest-volume Binance frames (`@trade`, `@aggTrade`,
//! `@bookTicker`: over 80% of a busy connection's frames; and `@depth`, whose levels
//! are most of a book's cost). Their `data` is a flat object (levels are rows of
//! strings), read here with [`crate::flat`] into the same wire types serde fills. A
//! frame of any other shape (or with a missing, duplicate or mistyped field) gives
//! `None`, and the parser reads it with serde, which then accepts it or reports the
//! error; so both paths agree on every frame (the tests compare them).

use tickbridge_schema::Dec;

use super::wire;
use crate::flat::{for_each_member, split_once_byte, Scalar};

/// The `data` object of a combined-stream frame `{"stream":"..","data":{..}}`.
fn data_object(text: &str) -> Option<&str> {
    let (_, rest) = split_once_byte(text.strip_prefix("{\"stream\":\"")?, b'"')?;
    rest.strip_prefix(",\"data\":")?.strip_suffix('}')
}

/// Stores a member's value; false when it has the wrong type or came twice.
fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    match value {
        Some(v) if slot.is_none() => {
            *slot = Some(v);
            true
        }
        _ => false,
    }
}

fn dec(value: Scalar<'_>) -> Option<Dec> {
    Dec::parse(value.str()?).ok()
}

/// The members trade and aggTrade frames share; they differ in the id's key.
struct TradeFields<'a> {
    symbol: &'a str,
    id: u64,
    price: Dec,
    qty: Dec,
    time: i64,
    maker: bool,
}

fn trade_fields<'a>(text: &'a str, id_key: &str) -> Option<TradeFields<'a>> {
    let (mut symbol, mut id, mut price, mut qty, mut time, mut maker) =
        (None, None, None, None, None, None);
    let mut valid = true;
    for_each_member(data_object(text)?, |key, value| {
        valid &= match key {
            "s" => set(&mut symbol, value.str()),
            "p" => set(&mut price, dec(value)),
            "q" => set(&mut qty, dec(value)),
            "T" => set(&mut time, value.i64()),
            "m" => set(&mut maker, value.bool()),
            k if k == id_key => set(&mut id, value.u64()),
            _ => true,
        };
    })?;
    valid.then_some(())?;
    Some(TradeFields {
        symbol: symbol?,
        id: id?,
        price: price?,
        qty: qty?,
        time: time?,
        maker: maker?,
    })
}

/// `<symbol>@trade`.
pub(super) fn trade(text: &str) -> Option<wire::Trade<'_>> {
    let f = trade_fields(text, "t")?;
    Some(wire::Trade {
        symbol: f.symbol,
        trade_id: f.id,
        price: f.price,
        qty: f.qty,
        trade_time: f.time,
        buyer_is_maker: f.maker,
    })
}

/// `<symbol>@aggTrade`.
pub(super) fn agg_trade(text: &str) -> Option<wire::AggTrade<'_>> {
    let f = trade_fields(text, "a")?;
    Some(wire::AggTrade {
        symbol: f.symbol,
        agg_id: f.id,
        price: f.price,
        qty: f.qty,
        trade_time: f.time,
        buyer_is_maker: f.maker,
    })
}

/// `<symbol>@bookTicker` (spot without times, futures with `T`).
pub(super) fn book_ticker(text: &str) -> Option<wire::BookTicker<'_>> {
    let (mut id, mut symbol, mut bid, mut bid_qty, mut ask, mut ask_qty) =
        (None, None, None, None, None, None);
    // `T` is optional: absent and `null` both mean none.
    let mut time: Option<Option<i64>> = None;
    let mut valid = true;
    for_each_member(data_object(text)?, |key, value| {
        valid &= match key {
            "u" => set(&mut id, value.u64()),
            "s" => set(&mut symbol, value.str()),
            "b" => set(&mut bid, dec(value)),
            "B" => set(&mut bid_qty, dec(value)),
            "a" => set(&mut ask, dec(value)),
            "A" => set(&mut ask_qty, dec(value)),
            "T" => match value {
                Scalar::Null => set(&mut time, Some(None)),
                v => set(&mut time, v.i64().map(Some)),
            },
            _ => true,
        };
    })?;
    valid.then_some(())?;
    Some(wire::BookTicker {
        update_id: id?,
        symbol: symbol?,
        bid_price: bid?,
        bid_qty: bid_qty?,
        ask_price: ask?,
        ask_qty: ask_qty?,
        time: time.flatten(),
    })
}

/// The levels of a depth diff: rows of exactly two decimal strings, as serde's
/// `(Dec, Dec)` takes them.
fn levels(value: Scalar<'_>) -> Option<Vec<(Dec, Dec)>> {
    let Scalar::Rows(rows) = value else {
        return None;
    };
    if !rows.is_empty() && rows.widths() != (2, 2) {
        return None;
    }
    let mut out = Vec::with_capacity(rows.len());
    for &(p, s) in rows.pairs() {
        out.push((Dec::parse(p).ok()?, Dec::parse(s).ok()?));
    }
    Some(out)
}

/// `<symbol>@depth` / `@depth@100ms` (spot; futures with `T` and `pu`).
pub(super) fn depth_update(text: &str) -> Option<wire::DepthUpdate<'_>> {
    let (mut symbol, mut event_time, mut first, mut last, mut bids, mut asks) =
        (None, None, None, None, None, None);
    // `T` and `pu` are optional: absent and `null` both mean none.
    let (mut time, mut prev): (Option<Option<i64>>, Option<Option<u64>>) = (None, None);
    let mut valid = true;
    for_each_member(data_object(text)?, |key, value| {
        valid &= match key {
            "s" => set(&mut symbol, value.str()),
            "E" => set(&mut event_time, value.i64()),
            "U" => set(&mut first, value.u64()),
            "u" => set(&mut last, value.u64()),
            "b" => set(&mut bids, levels(value)),
            "a" => set(&mut asks, levels(value)),
            "T" => match value {
                Scalar::Null => set(&mut time, Some(None)),
                v => set(&mut time, v.i64().map(Some)),
            },
            "pu" => match value {
                Scalar::Null => set(&mut prev, Some(None)),
                v => set(&mut prev, v.u64().map(Some)),
            },
            _ => true,
        };
    })?;
    valid.then_some(())?;
    Some(wire::DepthUpdate {
        symbol: symbol?,
        event_time: event_time?,
        time: time.flatten(),
        first_update_id: first?,
        final_update_id: last?,
        prev_final_update_id: prev.flatten(),
        bids: bids?,
        asks: asks?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the serde path reads (the parser's `data`).
    fn serde<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Option<T> {
        #[derive(serde::Deserialize)]
        struct Wrapped<T> {
            data: T,
        }
        serde_json::from_str::<Wrapped<T>>(text)
            .ok()
            .map(|w| w.data)
    }

    const TRADES: &[&str] = &[
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#,
        r#"{"stream":"btcusd_perp@trade","data":{"e":"trade","E":1723161257687,"T":1723161257679,"s":"BTCUSD_PERP","t":849714402,"p":"61804.8","q":"4","X":"MARKET","m":false}}"#,
        // Shapes the fast path leaves to serde (and serde's verdict stands).
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true,"t":2}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":1,"q":"1","T":1,"m":true}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":01,"p":"1","q":"1","T":1,"m":true}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTC\"USDT","t":1,"p":"1","q":"1","T":1,"m":true}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"x","q":"1","T":1,"m":true}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":"true"}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true,"o":{}}}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true},"x":1}"#,
        r#"{"stream":"btcusdt@trade","data":{"s":"BTCUSDT","t":18446744073709551616,"p":"1","q":"1","T":1,"m":true}}"#,
        r#"{"data":{"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true},"stream":"btcusdt@trade"}"#,
    ];

    #[test]
    fn trades_agree_with_serde() {
        for text in TRADES {
            let fast = trade(text).map(|t| format!("{t:?}"));
            let slow = serde::<wire::Trade>(text).map(|t| format!("{t:?}"));
            // Where the fast path declines, serde decides.
            if let Some(f) = fast {
                assert_eq!(Some(f), slow, "{text}");
            }
        }
        assert!(trade(TRADES[0]).is_some() && trade(TRADES[1]).is_some());
        assert!(TRADES[2..].iter().all(|t| trade(t).is_none()));
    }

    #[test]
    fn agg_trades_agree_with_serde() {
        for text in [
            r#"{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}"#,
            r#"{"stream":"btcusd_211231@aggTrade","data":{"e":"aggTrade","E":1626916406786,"a":494825,"s":"BTCUSD_211231","p":"32623.3","q":"5","f":769293,"l":769293,"T":1626916406631,"m":true}}"#,
        ] {
            let fast = agg_trade(text).map(|t| format!("{t:?}"));
            assert!(fast.is_some(), "{text}");
            assert_eq!(
                fast,
                serde::<wire::AggTrade>(text).map(|t| format!("{t:?}"))
            );
        }
    }

    #[test]
    fn depth_updates_agree_with_serde() {
        const DEPTHS: &[&str] = &[
            r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"],["61837.63000000","3.78826000"]],"a":[["61838.04000000","0.32332000"]]}}"#,
            r#"{"stream":"btcusd_perp@depth@0ms","data":{"e":"depthUpdate","E":1723161257440,"T":1723161257432,"s":"BTCUSD_PERP","ps":"BTCUSD","U":1007198631260,"u":1007198631565,"pu":1007198631198,"b":[["61773.6","1001"]],"a":[]}}"#,
            // Shapes the fast path leaves to serde (and serde's verdict stands).
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","2","3"]],"a":[]}}"#,
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[[1,"2"]],"a":[]}}"#,
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["x","2"]],"a":[]}}"#,
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","2"]]}}"#,
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"u":2,"b":[],"a":[],"u":3}}"#,
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"b":[],"a":[]}}"#,
            r#"{"stream":"btcusdt@depth","data":{"E":1,"s":"BTCUSDT","U":1,"u":2,"pu":"1","b":[],"a":[]}}"#,
        ];
        for text in DEPTHS {
            let fast = depth_update(text).map(|d| format!("{d:?}"));
            let slow = serde::<wire::DepthUpdate>(text).map(|d| format!("{d:?}"));
            if let Some(f) = fast {
                assert_eq!(Some(f), slow, "{text}");
            }
        }
        assert!(DEPTHS[..2].iter().all(|t| depth_update(t).is_some()));
        assert!(DEPTHS[2..].iter().all(|t| depth_update(t).is_none()));
        let d = depth_update(DEPTHS[0]).unwrap();
        assert_eq!(d.bids[0].1.as_str(), "0");
        assert_eq!(d.bids[1].0.as_str(), "61837.63");
    }

    #[test]
    fn book_tickers_agree_with_serde() {
        for (text, fast_path) in [
            (
                r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#,
                true,
            ),
            (
                r#"{"stream":"btcusd_perp@bookTicker","data":{"u":1007202248045,"e":"bookTicker","s":"BTCUSD_PERP","ps":"BTCUSD","b":"61668.6","B":"1243","a":"61668.7","A":"871","T":1723161601262,"E":1723161601269}}"#,
                true,
            ),
            (
                r#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"2","a":"3","A":"4","T":null}}"#,
                true,
            ),
            (
                r#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"2","a":"3","A":"4","T":"5"}}"#,
                false,
            ),
            (
                r#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1","B":"2","a":"3"}}"#,
                false,
            ),
        ] {
            let fast = book_ticker(text).map(|t| format!("{t:?}"));
            assert_eq!(fast.is_some(), fast_path, "{text}");
            if fast.is_some() {
                assert_eq!(
                    fast,
                    serde::<wire::BookTicker>(text).map(|t| format!("{t:?}"))
                );
            }
        }
    }
}

//! A capture of one exchange on two markets (Bybit v5 spot and linear, one connection
//! each, built from the documented frames) serves every source of a bridge that reads
//! both: each connection gets the recording of its own path, so spot trades arrive as
//! spot records and linear trades as perp records, none labelled with the other market.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{read_jsonl, wait_until, Bridge, Replay, SchemaValidator};
use serde_json::{json, Value};

/// Bybit's documented `publicTrade` push (v5 "Trade" page), for `symbol` and trade `id`.
fn trade(symbol: &str, id: &str, price: &str) -> String {
    json!({"topic": format!("publicTrade.{symbol}"), "type": "snapshot", "ts": 1672304486868u64,
           "data": [{"T": 1672304486865u64, "s": symbol, "S": "Buy", "v": "0.001", "p": price,
                     "L": "PlusTick", "i": id, "BT": false}]})
    .to_string()
}

fn ack() -> String {
    json!({"success": true, "ret_msg": "subscribe", "conn_id": "c", "req_id": "1", "op": "subscribe"})
        .to_string()
}

/// A capture of two connections, spot first, then linear.
fn write_capture(path: &std::path::Path) {
    let mut lines =
        vec![json!({"capture": 1, "exchange": "bybit", "source": "test", "config": null})];
    let mut ts = 1_700_000_000_000_000_000i64;
    let mut ev = |conn: u64, kind: &str, extra: Value| {
        ts += 1_000_000;
        let mut e = json!({"ts": ts, "conn": conn, "ev": kind});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    for (conn, path, symbol, id, price) in [
        (1, "spot", "BTCUSDT", "spot-1", "16578.50"),
        (2, "linear", "BTCUSDT", "linear-1", "16580.00"),
    ] {
        lines.push(ev(
            conn,
            "open",
            json!({"url": format!("wss://stream.bybit.com/v5/public/{path}")}),
        ));
        lines.push(ev(conn, "send", json!({"text": "{\"req_id\":\"1\",\"op\":\"subscribe\",\"args\":[\"publicTrade.BTCUSDT\"]}"})));
        lines.push(ev(conn, "recv", json!({"text": ack()})));
        lines.push(ev(conn, "recv", json!({"text": trade(symbol, id, price)})));
    }
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    for l in lines {
        writeln!(gz, "{l}").unwrap();
    }
    gz.finish().unwrap();
}

#[test]
fn every_market_of_a_capture_reaches_its_own_source() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("bybit.jsonl.gz");
    write_capture(&capture);
    let replay = Replay::start(&capture, "max");
    let out = dir.path().join("out.jsonl");
    let base = format!("{}/v5/public", replay.ws_url());
    let text = format!(
        "[[source]]\nexchange = \"bybit\"\nmarket = \"spot\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\nws_url = \"{base}\"\nrest_url = \"{rest}\"\n\n\
         [[source]]\nexchange = \"bybit\"\nmarket = \"perp\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT-PERP\"]\nws_url = \"{base}\"\nrest_url = \"{rest}\"\n\n\
         [sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
        out.display(),
        rest = replay.rest_url(),
    );
    let mut bridge = Bridge::start(&text);
    let trades = || -> Vec<Value> {
        if !out.exists() {
            return Vec::new();
        }
        read_jsonl(&out)
            .into_iter()
            .filter(|r| r["kind"] == "trade")
            .collect()
    };
    wait_until(Duration::from_secs(20), "a trade of each market", || {
        trades().len() >= 2
    });
    let (code, _) = bridge.stop();
    assert_eq!(code, 0);
    let schemas = SchemaValidator::new();
    let mut got: Vec<(String, String, String)> = trades()
        .iter()
        .map(|r| {
            schemas.check(r);
            (
                r["market"].as_str().unwrap().to_string(),
                r["symbol"].as_str().unwrap().to_string(),
                r["trade_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "perp".to_string(),
                "BTC-USDT-PERP".to_string(),
                "linear-1".to_string()
            ),
            (
                "spot".to_string(),
                "BTC-USDT".to_string(),
                "spot-1".to_string()
            ),
        ]
    );
    let assigned: Vec<String> = replay
        .logs()
        .into_iter()
        .filter(|l| l.contains("client assigned"))
        .collect();
    assert_eq!(assigned.len(), 2, "{assigned:?}");
    assert!(
        assigned
            .iter()
            .all(|l| l.contains(r#""matched":"by path""#)),
        "each by its path: {assigned:?}"
    );
}

//! How the mock exchange answers what a client sends, per exchange (from the
//! capture's header): subscription confirmations and refusals in the exchange's own
//! format, so the bridge's confirmation and refusal handling meets real frames.
//!
//! The recorded confirmations answered the recording client's requests, not this
//! client's; they are skipped in playback ([`Protocol::is_recorded_reply`]) and every
//! request is answered here instead. Exchanges without a protocol here get no
//! answers and their recordings are played as they are.

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Binance spot / USD-M / COIN-M live `SUBSCRIBE` requests.
    Binance,
    /// Coinbase Exchange feed `subscribe` messages.
    Coinbase,
    /// Played as recorded.
    Recorded,
}

impl Protocol {
    /// The protocol of a capture's `exchange` header field.
    pub fn of(exchange: &str) -> Protocol {
        match exchange {
            "binance" | "binance-usdm" | "binance-coinm" | "binance_futures"
            | "binance_delivery" => Protocol::Binance,
            "coinbase" => Protocol::Coinbase,
            _ => Protocol::Recorded,
        }
    }

    /// A recorded frame that answered the recording client's own request.
    pub fn is_recorded_reply(self, text: &str) -> bool {
        match self {
            Protocol::Binance => text.starts_with("{\"result\"") || text.starts_with("{\"id\""),
            Protocol::Coinbase => text.contains("\"type\":\"subscriptions\""),
            Protocol::Recorded => false,
        }
    }

    /// The answers to a client's text frame, given the refused native symbols.
    pub fn answer(self, text: &str, refused: &[String]) -> Vec<String> {
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        match self {
            Protocol::Binance => binance(&request, refused),
            Protocol::Coinbase => coinbase(&request, refused),
            Protocol::Recorded => Vec::new(),
        }
    }
}

/// `{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}` →
/// `{"result":null,"id":1}`, or an error naming the refused symbol.
fn binance(request: &Value, refused: &[String]) -> Vec<String> {
    let method = request["method"].as_str().unwrap_or_default();
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match method {
        "SUBSCRIBE" | "UNSUBSCRIBE" => {
            let bad = request["params"].as_array().and_then(|params| {
                params.iter().filter_map(Value::as_str).find_map(|stream| {
                    let symbol = stream.split('@').next().unwrap_or_default();
                    refused.iter().find(|r| r.eq_ignore_ascii_case(symbol))
                })
            });
            match bad {
                Some(symbol) => vec![json!({
                    "error": {"code": 2, "msg": format!("Invalid request: unknown symbol {symbol}")},
                    "id": id,
                })
                .to_string()],
                None => vec![json!({"result": null, "id": id}).to_string()],
            }
        }
        "LIST_SUBSCRIPTIONS" => vec![json!({"result": [], "id": id}).to_string()],
        _ => vec![json!({"error": {"code": 0, "msg": "Unknown property"}, "id": id}).to_string()],
    }
}

/// `{"type":"subscribe","product_ids":[..],"channels":[..]}` → `subscriptions`, or the
/// feed's error for the first refused product (the whole message is refused).
fn coinbase(request: &Value, refused: &[String]) -> Vec<String> {
    if request["type"] != "subscribe" {
        return Vec::new();
    }
    let products: Vec<&str> = request["product_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(bad) = products.iter().find(|p| refused.iter().any(|r| r == *p)) {
        return vec![json!({
            "type": "error",
            "message": "Failed to subscribe",
            "reason": format!("{bad} is not a valid product"),
        })
        .to_string()];
    }
    let channels: Vec<Value> = request["channels"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|name| json!({"name": name, "product_ids": products}))
                .collect()
        })
        .unwrap_or_default();
    vec![json!({"type": "subscriptions", "channels": channels}).to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binance_confirms_or_refuses_by_id() {
        let p = Protocol::of("binance");
        let refused = vec!["XYZUSDT".to_string()];
        assert_eq!(
            p.answer(
                r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#,
                &refused
            ),
            vec![r#"{"id":1,"result":null}"#]
        );
        assert_eq!(
            p.answer(
                r#"{"method":"SUBSCRIBE","params":["xyzusdt@trade","xyzusdt@bookTicker"],"id":2}"#,
                &refused
            ),
            vec![r#"{"error":{"code":2,"msg":"Invalid request: unknown symbol XYZUSDT"},"id":2}"#]
        );
        assert!(p.is_recorded_reply(r#"{"result":null,"id":1}"#));
        assert!(!p.is_recorded_reply(r#"{"stream":"btcusdt@trade","data":{}}"#));
    }

    #[test]
    fn coinbase_confirms_or_names_the_bad_product() {
        let p = Protocol::of("coinbase");
        let refused = vec!["XYZ-USD".to_string()];
        assert_eq!(
            p.answer(r#"{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches","heartbeat"]}"#, &refused),
            vec![r#"{"channels":[{"name":"matches","product_ids":["BTC-USD"]},{"name":"heartbeat","product_ids":["BTC-USD"]}],"type":"subscriptions"}"#]
        );
        assert_eq!(
            p.answer(
                r#"{"type":"subscribe","product_ids":["XYZ-USD"],"channels":["matches"]}"#,
                &refused
            ),
            vec![
                r#"{"message":"Failed to subscribe","reason":"XYZ-USD is not a valid product","type":"error"}"#
            ]
        );
        assert_eq!(Protocol::of("kraken"), Protocol::Recorded);
    }
}

//! How the mock exchange answers what a client sends, per recorded connection:
//! subscription confirmations and refusals in the exchange's own format, so the
//! bridge's confirmation and refusal handling meets real frames.
//!
//! The protocol of a recorded connection comes from what the capture holds
//! ([`Protocol::of_recording`]): its recorded URL names the connector that speaks it
//! (`connector_for_url`); the header's exchange name is only the fallback for a
//! connection without a URL or with one no connector recognizes (a recording made
//! against a local mock), and even then the frames can overrule it (a `coinbase`
//! header over Advanced Trade frames). A Coinbase Advanced Trade connection never
//! gets Exchange-feed replies.
//!
//! For [`Protocol::Binance`], [`Protocol::Coinbase`], [`Protocol::Kucoin`] and
//! [`Protocol::JsonRpc`] (bitFlyer) the recorded confirmations
//! answered the recording client's requests, not this client's; they are skipped in
//! playback ([`Protocol::is_recorded_reply`]) and every request is answered here
//! instead. Every other connection is [`Protocol::Recorded`]: no answers are made up,
//! and the recorded acknowledgements are played back in order with the rest; a
//! [`Protocol::Dydx`] connection too, but its recorded greeting (the frames before the
//! client's first frame) is sent at connect and the rest waits for the client
//! ([`Protocol::greets_first`]); [`Protocol::Hyperliquid`] as recorded too, with its
//! app-level pings answered.

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Binance spot / USD-M / COIN-M (and the Binance-compatible Aster) live
    /// `SUBSCRIBE` requests.
    Binance,
    /// Coinbase Exchange feed `subscribe` messages.
    Coinbase,
    /// KuCoin `{"id":..,"type":"subscribe"|"unsubscribe"|"ping"}` frames, answered by
    /// `ack` (or `error` for a refused symbol) and `pong` with the client's id (the
    /// recorded acks echo the recording client's ids).
    Kucoin,
    /// JSON-RPC 2.0 requests with an `id` (bitFlyer `subscribe`): answered
    /// `{"jsonrpc":"2.0","id":N,"result":true}`, or an error for a refused symbol.
    JsonRpc,
    /// Played as recorded, the recorded acknowledgements included.
    Recorded,
    /// The dYdX v4 indexer: `connected` at connect, then each subscribe answered by a
    /// `subscribed` frame that carries the channel's initial data (a book snapshot),
    /// which only the recording holds: played as recorded (like [`Protocol::Recorded`]),
    /// the greeting at connect and the rest once the client has sent its requests.
    Dydx,
    /// Hyperliquid: played as recorded like [`Protocol::Recorded`] (its recorded
    /// `subscriptionResponse` acknowledgements included), and the client's app-level
    /// `{"method":"ping"}` answered `{"channel":"pong"}`, so a playback longer than the
    /// ping interval keeps its connection.
    Hyperliquid,
}

impl Protocol {
    /// The protocol of a connector, by its registry name.
    pub fn of_connector(name: &str) -> Protocol {
        match name {
            "binance" | "binance-usdm" | "binance-coinm" | "binance-us" | "aster"
            | "aster-spot" => Protocol::Binance,
            "coinbase" => Protocol::Coinbase,
            "kucoin" => Protocol::Kucoin,
            "bitflyer" => Protocol::JsonRpc,
            "dydx" => Protocol::Dydx,
            "hyperliquid" => Protocol::Hyperliquid,
            _ => Protocol::Recorded,
        }
    }

    /// Whether the recorded frames before the client's first frame are a greeting,
    /// sent at connect, the rest of the recording waiting for the client (dYdX's
    /// `connected` comes first, its `subscribed` answers only after the requests).
    pub fn greets_first(self) -> bool {
        self == Protocol::Dydx
    }

    /// The protocol of a recorded WebSocket URL, when a connector speaks it.
    pub fn of_url(url: &str) -> Option<(Protocol, &'static str)> {
        tickbridge_connectors::exchanges::connector_for_url(url)
            .map(|(c, _)| (Protocol::of_connector(c.name()), c.name()))
    }

    /// The protocol of one recorded connection, and what chose it (for the log): its
    /// URL when a connector speaks it; otherwise the header's exchange name, unless the
    /// received frames are Coinbase Advanced Trade's (`{"channel":..,"events":..}`
    /// envelopes, never sent by the Exchange feed) under a `coinbase` header.
    pub fn of_recording<'a>(
        url: Option<&str>,
        header_exchange: &str,
        received: impl IntoIterator<Item = &'a str>,
    ) -> (Protocol, String) {
        if let Some((protocol, name)) = url.and_then(Protocol::of_url) {
            return (protocol, format!("url ({name})"));
        }
        let protocol = Protocol::of(header_exchange);
        if protocol == Protocol::Coinbase
            && received
                .into_iter()
                .take(1000)
                .any(|t| t.contains("\"channel\":") && t.contains("\"events\":"))
        {
            return (
                Protocol::Recorded,
                "frames (Coinbase Advanced Trade envelopes)".into(),
            );
        }
        (protocol, format!("header ({header_exchange})"))
    }

    /// The protocol of a capture's `exchange` header field.
    pub fn of(exchange: &str) -> Protocol {
        match exchange {
            "binance" | "binance-usdm" | "binance-coinm" | "binance_futures"
            | "binance_delivery" | "aster" | "aster-spot" => Protocol::Binance,
            "coinbase" => Protocol::Coinbase,
            "kucoin" => Protocol::Kucoin,
            "bitflyer" => Protocol::JsonRpc,
            "dydx" => Protocol::Dydx,
            "hyperliquid" => Protocol::Hyperliquid,
            _ => Protocol::Recorded,
        }
    }

    /// A recorded frame that answered the recording client's own request.
    pub fn is_recorded_reply(self, text: &str) -> bool {
        match self {
            Protocol::Binance => text.starts_with("{\"result\"") || text.starts_with("{\"id\""),
            Protocol::Coinbase => text.contains("\"type\":\"subscriptions\""),
            Protocol::Kucoin => {
                text.len() < 256
                    && (text.contains("\"type\":\"ack\"") || text.contains("\"type\":\"pong\""))
            }
            Protocol::JsonRpc => !text.contains("\"method\"") && text.contains("\"id\""),
            Protocol::Recorded | Protocol::Dydx | Protocol::Hyperliquid => false,
        }
    }

    /// A recorded frame of a [`Protocol::Recorded`] connection that acknowledges a
    /// subscription (OKX `{"event":"subscribe",..}`, Kraken `subscriptionStatus`,
    /// Coinbase Advanced Trade `subscriptions`, Bybit `{"op":"subscribe",..}` replies):
    /// a client joining a live playback late still gets these.
    pub fn is_recorded_ack(self, text: &str) -> bool {
        matches!(
            self,
            Protocol::Recorded | Protocol::Dydx | Protocol::Hyperliquid
        ) && text.len() < 4096
            && text.to_ascii_lowercase().contains("subscri")
    }

    /// The answers to a client's text frame, given the refused native symbols.
    pub fn answer(self, text: &str, refused: &[String]) -> Vec<String> {
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        match self {
            Protocol::Binance => binance(&request, refused),
            Protocol::Coinbase => coinbase(&request, refused),
            Protocol::Kucoin => kucoin(&request, refused),
            Protocol::JsonRpc => json_rpc(&request, refused),
            Protocol::Hyperliquid => hyperliquid(&request),
            Protocol::Recorded | Protocol::Dydx => Vec::new(),
        }
    }
}

/// `{"method":"ping"}` → `{"channel":"pong"}`; subscriptions are acknowledged by the
/// recorded answers.
fn hyperliquid(request: &Value) -> Vec<String> {
    match request["method"].as_str() {
        Some("ping") => vec![json!({ "channel": "pong" }).to_string()],
        _ => Vec::new(),
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

/// `{"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_ticker_BTC_JPY"},"id":1}`
/// → `{"jsonrpc":"2.0","id":1,"result":true}`, or an `error` when the channel ends
/// with a refused product code; a request without an `id` is a notification and is
/// not answered (JSON-RPC 2.0).
fn json_rpc(request: &Value, refused: &[String]) -> Vec<String> {
    let Some(id) = request.get("id").cloned() else {
        return Vec::new();
    };
    let channel = request["params"]["channel"].as_str().unwrap_or_default();
    if refused
        .iter()
        .any(|r| channel.ends_with(&format!("_{r}")) || channel == r)
    {
        return vec![json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": -32602, "message": format!("Invalid params: {channel}")},
        })
        .to_string()];
    }
    vec![json!({"jsonrpc": "2.0", "id": id, "result": true}).to_string()]
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

/// `{"id":1,"type":"subscribe","topic":"/market/match:BTC-USDT,ETH-USDT",..}` →
/// `{"id":"1","type":"ack"}` (when `response` is true), or an `error` naming the first
/// refused symbol (the whole request is refused); `ping` → `pong` with its id.
fn kucoin(request: &Value, refused: &[String]) -> Vec<String> {
    let id = match &request["id"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match request["type"].as_str().unwrap_or_default() {
        "ping" => vec![json!({"id": id, "type": "pong"}).to_string()],
        "subscribe" | "unsubscribe" => {
            let topic = request["topic"].as_str().unwrap_or_default();
            let symbols = topic.split_once(':').map_or("", |(_, s)| s);
            if let Some(bad) = symbols.split(',').find(|s| refused.iter().any(|r| r == s)) {
                return vec![json!({
                    "id": id,
                    "type": "error",
                    "code": 404,
                    "data": format!("topic {topic} is not found: {bad}"),
                })
                .to_string()];
            }
            if request["response"] == true {
                vec![json!({"id": id, "type": "ack"}).to_string()]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kucoin_acks_by_id_refuses_named_symbols_and_answers_pings() {
        let p = Protocol::of("kucoin");
        let refused = vec!["XYZ-USDT".to_string()];
        assert_eq!(
            p.answer(
                r#"{"id":3,"type":"subscribe","topic":"/market/match:BTC-USDT","privateChannel":false,"response":true}"#,
                &refused
            ),
            vec![r#"{"id":"3","type":"ack"}"#]
        );
        assert_eq!(
            p.answer(
                r#"{"id":4,"type":"subscribe","topic":"/market/match:BTC-USDT,XYZ-USDT","response":true}"#,
                &refused
            ),
            vec![r#"{"code":404,"data":"topic /market/match:BTC-USDT,XYZ-USDT is not found: XYZ-USDT","id":"4","type":"error"}"#]
        );
        assert_eq!(
            p.answer(r#"{"id":"tickbridge","type":"ping"}"#, &refused),
            vec![r#"{"id":"tickbridge","type":"pong"}"#]
        );
        assert!(p.is_recorded_reply(r#"{"id":"1","type":"ack"}"#));
        assert!(!p.is_recorded_reply(r#"{"id":"x","type":"welcome"}"#));
    }

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
    fn json_rpc_confirms_or_refuses_by_id() {
        let p = Protocol::of_connector("bitflyer");
        let refused = vec!["XYZ_JPY".to_string()];
        let ok = r#"{"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_ticker_BTC_JPY"},"id":4}"#;
        assert_eq!(
            p.answer(ok, &refused),
            vec![r#"{"id":4,"jsonrpc":"2.0","result":true}"#]
        );
        let bad = ok.replace("BTC_JPY", "XYZ_JPY");
        assert!(p.answer(&bad, &refused)[0].contains(r#""error""#));
        let notification =
            r#"{"method":"subscribe","params":{"channel":"lightning_ticker_BTC_JPY"}}"#;
        assert!(p.answer(notification, &refused).is_empty());
        assert!(p.is_recorded_reply(r#"{"jsonrpc":"2.0","id":1,"result":true}"#));
        assert!(!p.is_recorded_reply(r#"{"jsonrpc":"2.0","method":"channelMessage","params":{}}"#));
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

    #[test]
    fn the_recorded_url_chooses_before_the_header() {
        let none: [&str; 0] = [];
        let of = |url: Option<&str>, header: &str| Protocol::of_recording(url, header, none).0;
        // A Coinbase Advanced Trade recording under a `coinbase` header.
        assert_eq!(
            of(Some("wss://advanced-trade-ws.coinbase.com"), "coinbase"),
            Protocol::Recorded
        );
        assert_eq!(
            of(Some("wss://ws-feed.exchange.coinbase.com"), "coinbase"),
            Protocol::Coinbase
        );
        assert_eq!(
            of(Some("wss://ws-feed.pro.coinbase.com"), "whatever"),
            Protocol::Coinbase
        );
        for url in [
            "wss://stream.binance.com:9443/stream?streams=btcusdt@trade",
            "wss://fstream.binance.com/stream?streams=btcusdt@trade",
            "wss://dstream.binance.com/stream?streams=btcusd_perp@trade",
        ] {
            assert_eq!(of(Some(url), "cryptofeed"), Protocol::Binance, "{url}");
        }
        assert_eq!(
            of(Some("wss://ws.okx.com:8443/ws/v5/public"), "binance"),
            Protocol::Recorded
        );
        // No URL, or one no connector speaks (a local mock): the header decides.
        assert_eq!(of(None, "binance_futures"), Protocol::Binance);
        assert_eq!(
            of(Some("ws://127.0.0.1:4000/stream"), "binance"),
            Protocol::Binance
        );
        assert_eq!(
            of(Some("ws://127.0.0.1:4000"), "kraken"),
            Protocol::Recorded
        );
        // ... unless the frames say otherwise.
        let advanced = [
            r#"{"channel":"subscriptions","client_id":"","timestamp":"2024-01-01T00:00:00Z","sequence_num":0,"events":[{"subscriptions":{"market_trades":["BTC-USD"]}}]}"#,
        ];
        assert_eq!(
            Protocol::of_recording(Some("ws://127.0.0.1:4000"), "coinbase", advanced).0,
            Protocol::Recorded
        );
        let exchange = [
            r#"{"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]}"#,
        ];
        assert_eq!(
            Protocol::of_recording(None, "coinbase", exchange).0,
            Protocol::Coinbase
        );
    }

    #[test]
    fn dydx_greets_then_plays_its_recorded_answers() {
        let p = Protocol::of_connector("dydx");
        assert_eq!(p, Protocol::Dydx);
        assert_eq!(Protocol::of("dydx"), Protocol::Dydx);
        assert_eq!(
            Protocol::of_url("wss://indexer.dydx.trade/v4/ws"),
            Some((Protocol::Dydx, "dydx"))
        );
        assert!(p.greets_first() && !Protocol::Recorded.greets_first());
        let subscribe = r#"{"type":"subscribe","channel":"v4_orderbook","id":"BTC-USD"}"#;
        assert!(p.answer(subscribe, &[]).is_empty());
        let subscribed = r#"{"type":"subscribed","connection_id":"c","message_id":1,"channel":"v4_trades","id":"BTC-USD","contents":{"trades":[]}}"#;
        assert!(!p.is_recorded_reply(subscribed) && p.is_recorded_ack(subscribed));
    }

    #[test]
    fn recorded_acks_are_recognized() {
        let p = Protocol::Recorded;
        assert!(p.is_recorded_ack(
            r#"{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}"#
        ));
        assert!(p.is_recorded_ack(
            r#"{"channelID":1,"event":"subscriptionStatus","status":"subscribed"}"#
        ));
        assert!(!p.is_recorded_ack(r#"{"arg":{"channel":"trades"},"data":[{"px":"1"}]}"#));
        assert!(!Protocol::Binance.is_recorded_ack(r#"{"event":"subscribe"}"#));
    }

    #[test]
    fn hyperliquid_pings_are_answered_and_its_acks_played_as_recorded() {
        let p = Protocol::of_url("wss://api.hyperliquid.xyz/ws").unwrap().0;
        assert_eq!(p, Protocol::Hyperliquid);
        assert_eq!(
            p.answer(r#"{"method":"ping"}"#, &[]),
            [r#"{"channel":"pong"}"#]
        );
        let subscribe = r#"{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}"#;
        assert!(p.answer(subscribe, &[]).is_empty());
        let ack = r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}}"#;
        assert!(p.is_recorded_ack(ack) && !p.is_recorded_reply(ack));
        assert_eq!(Protocol::of("hyperliquid"), Protocol::Hyperliquid);
    }
}

//! Binance: spot (`binance`), USD-M futures (`binance-usdm`) and COIN-M futures
//! (`binance-coinm`).
//!
//! Connections open the combined endpoint (`/stream`) and subscribe live, one
//! `{"method":"SUBSCRIBE","params":[..],"id":n}` per symbol, so every frame arrives
//! wrapped as `{"stream":..,"data":{..}}` and is dispatched on the stream name without
//! a second JSON pass, and every refusal (`{"error":{..},"id":n}`) names the one symbol
//! it concerns; `{"result":null,"id":n}` confirms.
//!
//! Limits (developers.binance.com, WebSocket Streams), honoured by the planner and the
//! session: at most 1024 streams per connection (symbols are never split over
//! connections); 5 incoming messages per second per connection, pings and pongs
//! included (requests are spaced by 300 ms, so a connection of 300 symbols is fully
//! subscribed after 90 s, each symbol flowing as soon as its request is sent); 300
//! connection attempts per 5 minutes per IP (shared by every session to the host); a
//! connection is closed at 24 h (rotated at 23 h 50 min). Heartbeat: the server pings
//! (every 20 s on spot, 3 min on futures) and tungstenite answers with the payload;
//! the client also pings every 20 s so a dead socket shows within ping + pong timeout.

pub mod book;
mod fast;
mod parser;
pub use parser::preview as parser_preview;
pub mod wire;

use std::time::Duration;

use tickbridge_schema::Market;

use self::book::{BookVenue, Chain};
use crate::parse::FrameParser;
use crate::spec::{
    Channel, ConnectionPlan, Connector, Heartbeat, Limits, PlanError, RateWindow, SourceRequest,
};
use crate::symbols::{split_concatenated, SymbolInfo};

pub use parser::BinanceParser;

/// Binance's documented limit of streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;

/// Which Binance venue a connector serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    Spot,
    UsdM,
    CoinM,
}

/// The Binance connector for one venue.
pub struct Binance {
    pub venue: Venue,
}

const SPOT_CHANNELS: &[Channel] = &[Channel::Trade, Channel::Bbo, Channel::Book, Channel::Ticker];
const FUTURES_CHANNELS: &[Channel] = &[
    Channel::Trade,
    Channel::Bbo,
    Channel::Book,
    Channel::Ticker,
    Channel::MarkPrice,
    Channel::Funding,
    Channel::Liquidation,
];

impl Binance {
    /// Normalizes a native symbol seen in a frame (`BTCUSDT`, `BTCUSD_PERP`, `BTCUSDT_240927`).
    fn fallback_symbol(venue: Venue, native: &str) -> SymbolInfo {
        let (pair, suffix) = native.split_once('_').unwrap_or((native, ""));
        let pair_norm = match split_concatenated(pair) {
            Some((base, quote)) => format!("{base}-{quote}"),
            None => pair.to_string(),
        };
        let (market, symbol) = match (venue, suffix) {
            (Venue::Spot, _) => (Market::Spot, pair_norm),
            (_, "" | "PERP") => (Market::Perp, format!("{pair_norm}-PERP")),
            (_, expiry) => (Market::Future, format!("{pair_norm}-{expiry}")),
        };
        SymbolInfo {
            market,
            symbol: symbol.into(),
            native: native.into(),
        }
    }

    fn spot_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::Spot, native)
    }
    fn usdm_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::UsdM, native)
    }
    fn coinm_fallback(native: &str) -> SymbolInfo {
        Self::fallback_symbol(Venue::CoinM, native)
    }

    /// The stream names carrying `channel` for one symbol.
    fn streams(&self, channel: Channel, native_lower: &str) -> Vec<String> {
        let s = native_lower;
        match channel {
            Channel::Trade => vec![format!("{s}@trade")],
            Channel::Bbo => vec![format!("{s}@bookTicker")],
            Channel::Ticker => vec![format!("{s}@ticker")],
            Channel::Book => vec![format!("{s}@depth@100ms")],
            // One markPrice stream carries both mark price and funding.
            Channel::MarkPrice | Channel::Funding => vec![format!("{s}@markPrice@1s")],
            Channel::Liquidation => vec![format!("{s}@forceOrder")],
            Channel::OpenInterest => vec![],
        }
    }
}

impl Connector for Binance {
    fn name(&self) -> &'static str {
        match self.venue {
            Venue::Spot => "binance",
            Venue::UsdM => "binance-usdm",
            Venue::CoinM => "binance-coinm",
        }
    }

    fn supported(&self) -> &'static [(Market, &'static [Channel])] {
        match self.venue {
            Venue::Spot => &[(Market::Spot, SPOT_CHANNELS)],
            Venue::UsdM | Venue::CoinM => &[
                (Market::Perp, FUTURES_CHANNELS),
                (Market::Future, FUTURES_CHANNELS),
            ],
        }
    }

    fn default_ws_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "wss://stream.binance.com:9443",
            Venue::UsdM => "wss://fstream.binance.com",
            Venue::CoinM => "wss://dstream.binance.com",
        }
    }

    fn default_rest_url(&self, _market: Market) -> &'static str {
        match self.venue {
            Venue::Spot => "https://api.binance.com",
            Venue::UsdM => "https://fapi.binance.com",
            Venue::CoinM => "https://dapi.binance.com",
        }
    }

    fn symbol(&self, market: Market, user: &str) -> Result<SymbolInfo, PlanError> {
        let bad = |why: &str| PlanError::BadSymbol {
            exchange: self.name(),
            symbol: user.to_string(),
            why: why.to_string(),
        };
        let upper = user.trim().to_ascii_uppercase();
        if upper.is_empty()
            || !upper
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad(
                "expected BASE-QUOTE (e.g. BTC-USDT) or the exchange's own symbol",
            ));
        }
        let native = if upper.contains('-') {
            let parts: Vec<&str> = upper.split('-').collect();
            match (self.venue, parts.as_slice()) {
                (Venue::Spot, [base, quote]) => format!("{base}{quote}"),
                (Venue::UsdM, [base, quote, "PERP"]) => format!("{base}{quote}"),
                (Venue::CoinM, [base, quote, "PERP"]) => format!("{base}{quote}_PERP"),
                (Venue::UsdM | Venue::CoinM, [base, quote, expiry])
                    if expiry.len() == 6 && expiry.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    format!("{base}{quote}_{expiry}")
                }
                (Venue::Spot, _) => return Err(bad("expected BASE-QUOTE, e.g. BTC-USDT")),
                _ => {
                    return Err(bad(
                        "expected BASE-QUOTE-PERP or BASE-QUOTE-YYMMDD, e.g. BTC-USDT-PERP",
                    ))
                }
            }
        } else {
            upper
        };
        let info = Self::fallback_symbol(self.venue, &native);
        if info.market != market {
            return Err(bad(&format!(
                "it is a {} instrument but the source's market is {}",
                info.market.as_str(),
                market.as_str()
            )));
        }
        Ok(info)
    }

    fn plan(&self, request: &SourceRequest) -> Result<Vec<ConnectionPlan>, PlanError> {
        self.check(request)?;
        // Live subscriptions on the combined endpoint (frames still arrive wrapped as
        // `{"stream":..,"data":..}`), one SUBSCRIBE per symbol with ids 1, 2, ...: a
        // refusal names its id, so it is attributed to one symbol and the others flow.
        // Symbols are never split over connections; a connection carries at most
        // 1024 streams.
        let mut plans: Vec<ConnectionPlan> = Vec::new();
        let mut streams_in_last = 0usize;
        let url = format!("{}/stream", request.ws_url.trim_end_matches('/'));
        for sym in &request.symbols {
            let lower = sym.native.to_ascii_lowercase();
            let mut streams: Vec<String> = Vec::new();
            for &channel in &request.channels {
                for s in self.streams(channel, &lower) {
                    if !streams.contains(&s) {
                        streams.push(s);
                    }
                }
            }
            if streams.is_empty() {
                continue;
            }
            if plans.is_empty() || streams_in_last + streams.len() > MAX_STREAMS_PER_CONNECTION {
                plans.push(ConnectionPlan {
                    url: url.clone(),
                    subscribe: Vec::new(),
                    market: request.market,
                    channels: request.channels.iter().copied().collect(),
                    symbols: Vec::new(),
                    // 5 incoming messages/s per connection, pings and pongs included:
                    // at most ~3 subscribe requests a second leaves room for them.
                    send_interval: Duration::from_millis(300),
                });
                streams_in_last = 0;
            }
            let plan = plans.last_mut().expect("a plan was just pushed");
            streams_in_last += streams.len();
            plan.symbols.push(sym.clone());
            let id = plan.subscribe.len() + 1;
            plan.subscribe.push(
                serde_json::json!({"method": "SUBSCRIBE", "params": streams, "id": id}).to_string(),
            );
        }
        Ok(plans)
    }

    fn parser(&self, plan: &ConnectionPlan) -> Box<dyn FrameParser> {
        // Request `id` n subscribed the n-th symbol of the plan.
        let requests = plan.symbols.iter().map(|s| s.native.clone()).collect();
        Box::new(
            self.new_parser(plan.channels, &plan.symbols)
                .with_subscriptions(requests),
        )
    }

    fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            app_ping: None,
            // The server pings every 20 s (spot; 3 min on futures) and disconnects
            // after 1 min without a pong; our own pings make a dead socket show
            // within ping + pong timeout even when the server's pings stop too.
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            // bookTicker moves many times a second on any listed symbol; a quiet
            // `@trade`-only symbol may be silent longer, hence a minute.
            stale_after: Duration::from_secs(60),
            subscribe_timeout: Duration::from_secs(10),
            // Binance closes every connection at 24 h: rotate 10 minutes before.
            max_connection_age: Some(Duration::from_secs(23 * 3600 + 50 * 60)),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams_per_connection: MAX_STREAMS_PER_CONNECTION,
            // "300 connections per attempt every 5 minutes per IP" (spot and futures).
            connect_attempts: Some(RateWindow {
                count: 300,
                window: Duration::from_secs(300),
            }),
            // 5 incoming messages/s per connection are paced by `send_interval`.
            subscribe_requests: None,
        }
    }
}

impl Binance {
    /// A parser for the given channels and planned symbols (unplanned symbols are
    /// normalized on first sight).
    pub fn new_parser(
        &self,
        channels: crate::spec::ChannelSet,
        symbols: &[SymbolInfo],
    ) -> BinanceParser {
        let fallback = match self.venue {
            Venue::Spot => Self::spot_fallback,
            Venue::UsdM => Self::usdm_fallback,
            Venue::CoinM => Self::coinm_fallback,
        };
        let venue = match self.venue {
            Venue::Spot => BookVenue {
                chain: Chain::Spot,
                path: "/api/v3/depth",
                limit: &book::SPOT_LIMIT,
                weight: book::spot_weight,
                depth: book::spot_depth,
            },
            Venue::UsdM => BookVenue {
                chain: Chain::Futures,
                path: "/fapi/v1/depth",
                limit: &book::USDM_LIMIT,
                weight: book::futures_weight,
                depth: book::futures_depth,
            },
            Venue::CoinM => BookVenue {
                chain: Chain::Futures,
                path: "/dapi/v1/depth",
                limit: &book::COINM_LIMIT,
                weight: book::futures_weight,
                depth: book::futures_depth,
            },
        };
        let rest_url = self.default_rest_url(self.default_market());
        BinanceParser::new(self.name(), channels, symbols, fallback, venue, rest_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        venue: Venue,
        market: Market,
        symbols: &[&str],
        channels: &[Channel],
    ) -> SourceRequest {
        let b = Binance { venue };
        SourceRequest {
            market,
            channels: channels.to_vec(),
            symbols: symbols
                .iter()
                .map(|s| b.symbol(market, s).unwrap())
                .collect(),
            ws_url: "ws://127.0.0.1:1/".into(),
            rest_url: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn resolves_symbols_per_venue() {
        let spot = Binance { venue: Venue::Spot };
        let s = spot.symbol(Market::Spot, "btc-usdt").unwrap();
        assert_eq!(
            (s.symbol.as_str(), s.native.as_str()),
            ("BTC-USDT", "BTCUSDT")
        );
        assert_eq!(
            spot.symbol(Market::Spot, "ETHBTC").unwrap().symbol,
            "ETH-BTC"
        );
        let usdm = Binance { venue: Venue::UsdM };
        assert_eq!(
            usdm.symbol(Market::Perp, "BTC-USDT-PERP").unwrap().native,
            "BTCUSDT"
        );
        assert_eq!(
            usdm.symbol(Market::Perp, "BTCUSDT").unwrap().symbol,
            "BTC-USDT-PERP"
        );
        let fut = usdm.symbol(Market::Future, "BTC-USDT-240927").unwrap();
        assert_eq!(fut.native, "BTCUSDT_240927");
        let coinm = Binance {
            venue: Venue::CoinM,
        };
        assert_eq!(
            coinm.symbol(Market::Perp, "BTC-USD-PERP").unwrap().native,
            "BTCUSD_PERP"
        );
        assert_eq!(
            usdm.symbol(Market::Perp, "BTC-USDT-240927").unwrap_err().to_string(),
            "binance-usdm: symbol \"BTC-USDT-240927\" is not valid: it is a future instrument but the source's market is perp"
        );
        assert!(spot.symbol(Market::Spot, "BTC/USDT").is_err());
    }

    #[test]
    fn plans_one_live_subscribe_per_symbol() {
        let b = Binance { venue: Venue::Spot };
        let plans = b
            .plan(&request(
                Venue::Spot,
                Market::Spot,
                &["BTC-USDT", "ETH-USDT"],
                &[Channel::Trade, Channel::Bbo],
            ))
            .unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].url, "ws://127.0.0.1:1/stream");
        assert_eq!(
            plans[0].subscribe,
            vec![
                r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker"]}"#,
                r#"{"id":2,"method":"SUBSCRIBE","params":["ethusdt@trade","ethusdt@bookTicker"]}"#,
            ]
        );
        assert_eq!(plans[0].symbols.len(), 2);
    }

    #[test]
    fn shards_over_the_stream_limit() {
        let b = Binance { venue: Venue::Spot };
        let symbols: Vec<String> = (0..600).map(|i| format!("C{i}-USDT")).collect();
        let refs: Vec<&str> = symbols.iter().map(String::as_str).collect();
        let plans = b
            .plan(&request(
                Venue::Spot,
                Market::Spot,
                &refs,
                &[Channel::Trade, Channel::Bbo, Channel::Ticker],
            ))
            .unwrap();
        // 3 streams per symbol: 341 symbols (1023 streams) fit, a symbol is never split.
        let counts: Vec<usize> = plans
            .iter()
            .map(|p| p.subscribe.iter().map(|f| f.matches('@').count()).sum())
            .collect();
        assert_eq!(counts, vec![1023, 777]);
        assert_eq!(plans[0].symbols.len(), 341);
        assert_eq!(plans[1].symbols.len(), 259);
        assert!(
            plans[1].subscribe[0].contains(r#""id":1"#),
            "ids restart per connection"
        );
    }

    #[test]
    fn refusals_are_attributed_to_the_symbol_of_their_request() {
        use crate::parse::{Parsed, Refusal};
        let b = Binance { venue: Venue::Spot };
        let plan = b
            .plan(&request(
                Venue::Spot,
                Market::Spot,
                &["BTC-USDT", "XYZ-USDT"],
                &[Channel::Trade],
            ))
            .unwrap()
            .remove(0);
        let mut parser = b.parser(&plan);
        let mut out = Vec::new();
        assert_eq!(
            parser.parse(r#"{"result":null,"id":1}"#, 1, &mut out),
            Ok(Parsed::SubscribeAck("1".into()))
        );
        assert_eq!(
            parser.parse(
                r#"{"error":{"code":2,"msg":"Invalid request: unknown symbol"},"id":2}"#,
                2,
                &mut out
            ),
            Ok(Parsed::Refused(Refusal {
                symbols: vec!["XYZUSDT".into()],
                reason: "request 2: code 2: Invalid request: unknown symbol".into(),
                answers_request: true,
            }))
        );
        // An id that is not one of ours stays unattributed.
        assert!(matches!(
            parser.parse(
                r#"{"error":{"code":3,"msg":"Invalid JSON"},"id":9}"#,
                3,
                &mut out
            ),
            Ok(Parsed::Rejected(_))
        ));
    }

    #[test]
    fn rejects_unsupported_channels() {
        let b = Binance { venue: Venue::Spot };
        let err = b
            .plan(&request(
                Venue::Spot,
                Market::Spot,
                &["BTC-USDT"],
                &[Channel::Funding],
            ))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "binance spot: channel `funding` is not supported (supported: trade, bbo, book, ticker)"
        );
    }
}

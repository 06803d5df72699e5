//! Corpus helpers: which connector parses a capture, and which frames of a capture
//! are trade frames, decided independently of the parsers under test.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tickbridge::capture::{Capture, EventKind};
use tickbridge_connectors::exchanges::binance::{Binance, Venue};
use tickbridge_connectors::exchanges::coinbase::Coinbase;
use tickbridge_connectors::{ConnectionPlan, Connector, FrameParser};
use tickbridge_schema::Market;

/// The feed a capture was recorded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Binance(Venue),
    Coinbase,
}

impl Feed {
    /// Picks the connector from the capture header's `exchange` and, for Binance,
    /// the host of the first WebSocket URL (`fstream` → USD-M, `dstream` → COIN-M,
    /// `stream.binance.us` → Binance.US). The two must agree when both say something.
    /// `binance_tr` speaks the spot protocol on a host of its own and is read as spot.
    pub fn of(capture: &Capture) -> Result<Feed, String> {
        let exchange = capture.header.exchange.as_str();
        let url = capture
            .events
            .iter()
            .find(|e| e.ev == EventKind::Open)
            .and_then(|e| e.url.clone())
            .unwrap_or_default();
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', ':']).next())
            .unwrap_or_default()
            .to_string();
        let by_host = if host.starts_with("fstream.") {
            Some(Venue::UsdM)
        } else if host.starts_with("dstream.") {
            Some(Venue::CoinM)
        } else if host.starts_with("stream.binance.us") {
            Some(Venue::Us)
        } else {
            None
        };
        let by_header = match exchange {
            "coinbase" => return Ok(Feed::Coinbase),
            "binance" | "binance_tr" => Venue::Spot,
            "binance-us" | "binance_us" => Venue::Us,
            "binance-usdm" | "binance_futures" => Venue::UsdM,
            "binance-coinm" | "binance_delivery" => Venue::CoinM,
            other => return Err(format!("no connector for capture exchange {other:?}")),
        };
        match by_host {
            Some(v) if v != by_header => Err(format!(
                "capture header says {exchange:?} but the WebSocket host is {host:?}"
            )),
            _ => Ok(Feed::Binance(by_header)),
        }
    }

    /// A parser with every channel enabled and no planned symbols (every symbol
    /// seen is normalized on first sight): a plan for recorded frames of the feed's
    /// endpoint ([`ConnectionPlan::for_frames`]).
    pub fn parser(self) -> Box<dyn FrameParser> {
        match self {
            Feed::Binance(venue) => {
                let binance = Binance { venue };
                let market = binance.default_market();
                let url = format!("{}/stream", binance.default_ws_url(market));
                Box::new(binance.new_parser(&ConnectionPlan::for_frames(&url, market)))
            }
            Feed::Coinbase => Box::new(Coinbase::new_parser(&ConnectionPlan::for_frames(
                Coinbase.default_ws_url(Market::Spot),
                Market::Spot,
            ))),
        }
    }

    /// The frame's type as the exchange names it (`trade`, `bookTicker`, `depth`,
    /// `match`, ...), found without the parser under test: from the leading
    /// `{"stream":"<symbol>@<type>` / `{"type":"<type>"` when the frame starts so
    /// (nearly all do), else with a generic JSON parse.
    pub fn frame_type(self, text: &str) -> String {
        let prefix = match self {
            Feed::Binance(_) => "{\"stream\":\"",
            Feed::Coinbase => "{\"type\":\"",
        };
        if let Some(rest) = text.strip_prefix(prefix) {
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            return match self {
                // `btcusdt@depth@100ms` → `depth`; `x@kline_1m` → `kline_1m`.
                Feed::Binance(_) => value.split('@').nth(1).unwrap_or("?").to_string(),
                Feed::Coinbase => value.to_string(),
            };
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return "<not json>".into();
        };
        match self {
            Feed::Binance(_) => {
                if let Some(stream) = v["stream"].as_str() {
                    stream.split('@').nth(1).unwrap_or("?").to_string()
                } else if let Some(e) = v["e"].as_str() {
                    e.to_string()
                } else if v.get("result").is_some() || v.get("error").is_some() {
                    "<reply>".into()
                } else {
                    "<other>".into()
                }
            }
            Feed::Coinbase => v["type"].as_str().unwrap_or("<untyped>").to_string(),
        }
    }

    /// True for the frame types that carry exactly one trade each.
    pub fn is_trade_type(self, frame_type: &str) -> bool {
        match self {
            Feed::Binance(_) => matches!(frame_type, "trade" | "aggTrade"),
            Feed::Coinbase => matches!(frame_type, "match" | "last_match"),
        }
    }
}

/// Every Binance and Coinbase capture of the corpus: `cryptofeed/binance*`,
/// `cryptofeed/coinbase*` and all of `hftbacktest/`, sorted.
pub fn binance_and_coinbase_captures(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let list = |sub: &str| -> Vec<PathBuf> {
        let d = dir.join(sub);
        let entries = std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("the capture corpus has no {}: {e}", d.display()));
        entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
            .collect()
    };
    for p in list("cryptofeed") {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("binance") || name.starts_with("coinbase") {
            files.push(p);
        }
    }
    files.extend(list("hftbacktest"));
    files.sort();
    files
}

//! What the previous leader last published: the newest record per (kind, exchange,
//! market, symbol) in the tail of every partition of the shard's topics, read back
//! with a group-less consumer. A key's records share one partition, in publish order,
//! so the last one read is the last one published.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

/// The parts of a published record a takeover compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Last {
    pub id: String,
    pub seq: Option<u64>,
    pub ts_exchange: Option<i64>,
}

/// A published record's head, e.g. of
/// `{"v":1,"kind":"trade","exchange":"binance","market":"spot","symbol":"BTC-USDT",
/// "native":"BTCUSDT","ts_exchange":1723161253936000000,"ts_recv":..,"seq":3735869000,
/// "id":"binance.spot.BTC-USDT.trade.3735869000",...}`
#[derive(Deserialize)]
struct Head {
    kind: String,
    exchange: String,
    market: String,
    symbol: String,
    id: String,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    ts_exchange: Option<i64>,
}

/// The key a takeover resumes by.
pub fn key(kind: &str, exchange: &str, market: &str, symbol: &str) -> String {
    format!("{kind}|{exchange}|{market}|{symbol}")
}

/// Reads the tails of the shard's topics.
pub struct TailReader {
    pub client: ClientConfig,
    pub topics: Vec<String>,
    /// How many of the newest messages of each partition are read.
    pub depth: i64,
}

/// The longest a takeover reads the tails before it resumes with what it found.
const READ_LIMIT: Duration = Duration::from_secs(30);

impl TailReader {
    /// The newest record of every (kind, exchange, market, symbol) found in the tails
    /// (status records left out: they are each replica's own). Blocking.
    pub fn last_published(&self) -> Result<HashMap<String, Last>, String> {
        let consumer: BaseConsumer = self
            .client
            .clone()
            .set("enable.auto.commit", "false")
            .set("group.id", "tickbridge-takeover")
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| format!("cannot create the tail consumer: {e}"))?;
        let mut tpl = TopicPartitionList::new();
        let mut ends: HashMap<(String, i32), i64> = HashMap::new();
        for topic in &self.topics {
            let md = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(10))
                .map_err(|e| format!("metadata of {topic:?}: {e}"))?;
            let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
                continue;
            };
            if t.error().is_some() {
                continue; // not created yet: nothing was published there
            }
            for p in t.partitions() {
                let (lo, hi) = consumer
                    .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                    .map_err(|e| format!("watermarks of {topic:?}/{}: {e}", p.id()))?;
                if hi > lo {
                    let from = lo.max(hi - self.depth);
                    tpl.add_partition_offset(topic, p.id(), Offset::Offset(from))
                        .map_err(|e| e.to_string())?;
                    ends.insert((topic.clone(), p.id()), hi);
                }
            }
        }
        let mut last = HashMap::new();
        if ends.is_empty() {
            return Ok(last);
        }
        consumer
            .assign(&tpl)
            .map_err(|e| format!("cannot read the tails: {e}"))?;
        let started = Instant::now();
        while !ends.is_empty() {
            if started.elapsed() > READ_LIMIT {
                return Err(format!(
                    "the tails were not read within {READ_LIMIT:?} ({} partitions left)",
                    ends.len()
                ));
            }
            let Some(m) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let m = m.map_err(|e| format!("reading the tails: {e}"))?;
            let slot = (m.topic().to_string(), m.partition());
            if ends.get(&slot).is_some_and(|hi| m.offset() + 1 >= *hi) {
                ends.remove(&slot);
            }
            let Some(head) = m
                .payload()
                .and_then(|p| serde_json::from_slice::<Head>(p).ok())
            else {
                continue; // not a record of ours
            };
            if head.kind == "status" {
                continue;
            }
            last.insert(
                key(&head.kind, &head.exchange, &head.market, &head.symbol),
                Last {
                    id: head.id,
                    seq: head.seq,
                    ts_exchange: head.ts_exchange,
                },
            );
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_head_parses_from_its_json() {
        let json = r#"{"v":1,"kind":"bbo","exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":5,"ts_recv":6,"seq":7,"id":"binance.spot.BTC-USDT.bbo.7","bid_px":"1","bid_sz":"1","ask_px":"2","ask_sz":"1"}"#;
        let h: Head = serde_json::from_str(json).unwrap();
        assert_eq!(
            key(&h.kind, &h.exchange, &h.market, &h.symbol),
            "bbo|binance|spot|BTC-USDT"
        );
        assert_eq!(
            (h.id.as_str(), h.seq, h.ts_exchange),
            ("binance.spot.BTC-USDT.bbo.7", Some(7), Some(5))
        );
    }
}

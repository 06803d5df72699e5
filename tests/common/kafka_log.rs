//! What a Kafka topic holds, read strictly for the tests' counts and read-backs: a
//! partition whose offsets cannot be read is retried and then fails the test instead
//! of counting as empty, and a partition the broker deleted records from (a log start
//! offset above 0 in a topic a test created) fails it naming that cause, so a
//! read-back never comes up short without saying why.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// `(partition, low, high)` of every partition of `topic`; empty while the topic does
/// not exist.
pub fn partition_offsets(c: &BaseConsumer, topic: &str) -> Vec<(i32, i64, i64)> {
    // Right after a topic is created its leader may not be known yet: retry a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match try_partition_offsets(c, topic) {
            Ok(offsets) => {
                for (p, lo, _) in &offsets {
                    assert_eq!(
                        *lo, 0,
                        "the broker deleted records of {topic} partition {p} (log start \
                         offset {lo}): its retention counts from the records' timestamps"
                    );
                }
                return offsets;
            }
            Err(e) if Instant::now() < deadline => {
                eprintln!("reading the offsets of {topic}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("reading the offsets of {topic}: {e}"),
        }
    }
}

fn try_partition_offsets(
    c: &BaseConsumer,
    topic: &str,
) -> Result<Vec<(i32, i64, i64)>, KafkaError> {
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(Vec::new());
    };
    match t.error().map(RDKafkaErrorCode::from) {
        None => {}
        Some(RDKafkaErrorCode::UnknownTopicOrPartition) => return Ok(Vec::new()),
        Some(code) => return Err(KafkaError::MetadataFetch(code)),
    }
    t.partitions()
        .iter()
        .map(|p| {
            let (lo, hi) = c.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            Ok((p.id(), lo, hi))
        })
        .collect()
}

/// One message as a test reads it back.
#[derive(Debug)]
pub struct Read {
    pub topic: String,
    pub partition: i32,
    pub key: String,
    pub value: serde_json::Value,
    pub headers: std::collections::BTreeMap<String, String>,
    /// The message's Kafka timestamp, ms.
    pub timestamp: Option<i64>,
}

/// Every message of `topics` (JSON values), from the beginning to the end each
/// partition had when the read began, in offset order per partition.
pub fn read_json(c: &BaseConsumer, topics: &[String]) -> Vec<Read> {
    use rdkafka::message::{Headers, Message};
    use rdkafka::{Offset, TopicPartitionList};
    let mut tpl = TopicPartitionList::new();
    let mut end: std::collections::HashMap<(String, i32), i64> = Default::default();
    for topic in topics {
        for (p, lo, hi) in partition_offsets(c, topic) {
            if hi > lo {
                tpl.add_partition_offset(topic, p, Offset::Beginning)
                    .unwrap();
                end.insert((topic.clone(), p), hi);
            }
        }
    }
    let mut out = Vec::new();
    if end.is_empty() {
        return out;
    }
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !end.is_empty() {
        assert!(
            Instant::now() < deadline,
            "timed out reading {topics:?}: {} messages read, partitions left {end:?}",
            out.len()
        );
        let Some(m) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.expect("consuming");
        let slot = (m.topic().to_string(), m.partition());
        if end.get(&slot).is_some_and(|hi| m.offset() + 1 >= *hi) {
            end.remove(&slot);
        }
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Read {
            topic: m.topic().to_string(),
            partition: m.partition(),
            key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
            value: serde_json::from_slice(m.payload().unwrap_or_default())
                .unwrap_or_else(|e| panic!("a message that is not JSON ({e})")),
            headers,
            timestamp: m.timestamp().to_millis(),
        });
    }
    out
}

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

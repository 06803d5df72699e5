//! `[sink]` / `[[sink]]`: where records go. One `[sink]` table is one sink; `[[sink]]`
//! given more than once fans every record out to each of them (each with its own
//! queue, batches, acknowledgements, retries and dead letters, and its own line in
//! the summary). A sink's `name` (default: its kind) labels its metrics and summary.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{duration, invalid, BufferConfig, ConfigError, QueueConfig};
use crate::sinks::kafka::KafkaConfig;
use crate::sinks::nats::NatsConfig;

/// `[sink]`: where records go. `kind` is the one-line switch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    #[serde(default)]
    pub kind: SinkKind,
    /// The sink's name: the `sink` label on `/metrics`, its summary line, its logs.
    /// Default: its kind (`kafka`); two sinks of one kind need names of their own.
    #[serde(default)]
    pub name: String,
    /// `[sink.queue]`: this sink's own queue when records fan out to several sinks
    /// (default: `[queue]`). With one sink, `[queue]` is its queue.
    #[serde(default)]
    pub queue: Option<QueueConfig>,
    /// `[sink.buffer]`: this sink's own buffer (default: `[buffer]`).
    #[serde(default)]
    pub buffer: Option<BufferConfig>,
    /// How records are encoded: `json` (default), or with a schema registry (Kafka):
    /// `avro`, `protobuf`, `json_schema` (see `sinks::encoding`).
    #[serde(default)]
    pub encoding: crate::sinks::Encoding,
    /// Batches in flight at once (each awaits its acknowledgements). Default 8.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// How long a record may be retried before it counts as failed. Default 5 min.
    #[serde(default = "default_delivery_timeout", deserialize_with = "duration")]
    pub delivery_timeout: Duration,
    #[serde(default)]
    pub file: FileConfig,
    #[serde(default)]
    pub kafka: KafkaConfig,
    #[serde(default)]
    pub nats: NatsConfig,
    #[serde(default)]
    pub dead_letter: DeadLetterConfig,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            kind: SinkKind::default(),
            name: SinkKind::default().as_str().to_string(),
            queue: None,
            buffer: None,
            encoding: crate::sinks::Encoding::default(),
            max_in_flight: default_max_in_flight(),
            delivery_timeout: default_delivery_timeout(),
            file: FileConfig::default(),
            kafka: KafkaConfig::default(),
            nats: NatsConfig::default(),
            dead_letter: DeadLetterConfig::default(),
        }
    }
}

/// 8: a NATS sink chains the batches waiting in line into one fast batch, and with 8
/// it stores ~5-10% more per second than with 4 (interleaved runs, BENCHMARKS.md);
/// Kafka measured the same with either (4 runs each, within the noise).
fn default_max_in_flight() -> usize {
    8
}
/// Five minutes, librdkafka's own `delivery.timeout.ms`: the batches in flight when
/// a broker goes away wait for it that long (new ones are held meanwhile), so an
/// outage of a few minutes loses nothing with the defaults; a shorter setting is
/// honoured during an outage too.
fn default_delivery_timeout() -> Duration {
    Duration::from_secs(300)
}

/// The sink implementations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// JSON lines on standard output.
    #[default]
    Stdout,
    /// JSON lines appended to a file, acknowledged after write and flush.
    File,
    Kafka,
    Nats,
    /// Encodes and discards (benchmarks, `record`).
    Null,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Stdout => "stdout",
            SinkKind::File => "file",
            SinkKind::Kafka => "kafka",
            SinkKind::Nats => "nats",
            SinkKind::Null => "null",
        }
    }
}

/// `[sink.file]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Output file; records are appended as JSON lines.
    #[serde(default = "default_file_path")]
    pub path: PathBuf,
    /// fsync after every batch (durable across power loss; slower).
    #[serde(default)]
    pub fsync: bool,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            path: default_file_path(),
            fsync: false,
        }
    }
}

fn default_file_path() -> PathBuf {
    PathBuf::from("tickbridge.jsonl")
}

/// `[sink.dead_letter]`: where records with terminal errors go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// A JSON-lines file of `{"error":..,"record":..}`; without it, terminal failures
    /// are counted as lost and logged.
    pub path: Option<PathBuf>,
}

/// The `sink` default: one stdout sink.
pub(super) fn one_default() -> Vec<SinkConfig> {
    vec![SinkConfig::default()]
}

/// `[sink]` (a table: one sink) or `[[sink]]` (an array of tables: fan-out), read
/// through the file's own deserializer so that errors keep their line numbers.
/// Unnamed sinks are named after their kind.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SinkConfig>, D::Error> {
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<SinkConfig>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a [sink] table, or [[sink]] tables (one per sink)")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            SinkConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                .map(|s| vec![s])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<SinkConfig>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    let mut sinks = d.deserialize_any(OneOrMany)?;
    for sink in &mut sinks {
        if sink.name.is_empty() {
            sink.name = sink.kind.as_str().to_string();
        }
    }
    Ok(sinks)
}

/// The settings path of sink `i` of `n` (`sink.kafka...` with one sink, `sink.1.kafka...`
/// with several, as `--set` and `TICKBRIDGE__SINK__1__...` write it).
pub fn field_of(i: usize, n: usize, field: &str) -> String {
    if n == 1 {
        format!("sink.{field}")
    } else {
        format!("sink.{i}.{field}")
    }
}

/// Checks every sink's own fields and that the sinks can run side by side.
pub(super) fn validate(sinks: &[SinkConfig]) -> Result<(), ConfigError> {
    let n = sinks.len();
    if n == 0 {
        return Err(invalid(
            "sink",
            "no sink given: write one [sink] table (or [[sink]] tables to fan out)",
        ));
    }
    for (i, sink) in sinks.iter().enumerate() {
        let field = |f: &str| field_of(i, n, f);
        let name_ok = !sink.name.is_empty()
            && sink
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(invalid(
                field("name"),
                format!(
                    "{:?}: use lower-case letters, digits, '-' and '_' (it is a metrics label)",
                    sink.name
                ),
            ));
        }
        if let Some(j) = sinks[..i].iter().position(|s| s.name == sink.name) {
            return Err(invalid(
                field("name"),
                format!(
                    "sinks {j} and {i} are both called {:?}: give each [[sink]] a name of its own",
                    sink.name
                ),
            ));
        }
        if sink.max_in_flight == 0 {
            return Err(invalid(field("max_in_flight"), "must be at least 1"));
        }
        if sink.delivery_timeout.is_zero() {
            return Err(invalid(field("delivery_timeout"), "must be above zero"));
        }
        if let Some(queue) = &sink.queue {
            queue
                .validate()
                .map_err(|(f, why)| invalid(field(&format!("queue.{f}")), why))?;
        }
        if let Some(buffer) = &sink.buffer {
            buffer
                .validate()
                .map_err(|(f, why)| invalid(field(&format!("buffer.{f}")), why))?;
        }
        if sink.kind == SinkKind::Nats {
            sink.nats
                .validate()
                .map_err(|(f, why)| invalid(field(&format!("nats.{f}")), why))?;
        }
    }
    if n > 1 {
        for (i, sink) in sinks.iter().enumerate() {
            let earlier = &sinks[..i];
            let clash = match sink.kind {
                // Two writers of one stream interleave their lines.
                SinkKind::Stdout => earlier.iter().any(|s| s.kind == SinkKind::Stdout),
                SinkKind::File => earlier
                    .iter()
                    .any(|s| s.kind == SinkKind::File && s.file.path == sink.file.path),
                _ => false,
            };
            if clash {
                return Err(invalid(
                    field_of(
                        i,
                        n,
                        if sink.kind == SinkKind::File {
                            "file.path"
                        } else {
                            "kind"
                        },
                    ),
                    "another sink already writes there: two writers would interleave their records",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{BufferKind, Config, FsyncPolicy, Overrides, SinkKind, WhenFull};

    const SOURCE: &str =
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\n";

    fn check(text: &str) -> Result<Config, String> {
        let config = Config::parse(&format!("{SOURCE}{text}"), "t").map_err(|e| e.to_string())?;
        config.resolve().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn one_table_is_one_sink_named_after_its_kind() {
        let config = check("[sink]\nkind = \"file\"\n").unwrap();
        assert_eq!(config.sinks.len(), 1);
        assert_eq!(config.sink().name, "file");
        // No [sink] at all: one stdout sink.
        assert_eq!(check("").unwrap().sink().name, "stdout");
    }

    #[test]
    fn sink_tables_fan_out_each_with_its_queue() {
        let config = check(
            "[queue]\ncapacity = 100\n\
             [[sink]]\nkind = \"kafka\"\n[sink.kafka]\nbrokers = \"h:9092\"\n\
             [[sink]]\nkind = \"file\"\nname = \"archive\"\n[sink.queue]\ncapacity = 7\nwhen_full = \"drop_oldest\"\n",
        )
        .unwrap();
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["kafka", "archive"]);
        assert_eq!(config.sinks[0].kafka.brokers, "h:9092");
        assert_eq!(config.queue_of(0).capacity, 100);
        assert_eq!(config.queue_of(1).capacity, 7);
        assert_eq!(config.queue_of(1).when_full, WhenFull::DropOldest);
    }

    #[test]
    fn each_sink_gets_its_own_buffer_directory_and_may_override_the_buffer() {
        let config = check(
            "[buffer]\nkind = \"disk\"\npath = \"/var/lib/tb\"\nfsync = \"batch\"\n\
             [[sink]]\nkind = \"kafka\"\n\
             [[sink]]\nkind = \"file\"\nname = \"archive\"\n[sink.buffer]\nkind = \"memory\"\n",
        )
        .unwrap();
        let kafka = config.buffer_of(0);
        assert_eq!(kafka.kind, BufferKind::Disk);
        assert_eq!(kafka.path.as_deref(), Some(Path::new("/var/lib/tb/kafka")));
        assert_eq!(kafka.fsync, FsyncPolicy::Batch);
        assert_eq!(kafka.max_bytes, 1 << 30);
        assert_eq!(config.buffer_of(1).kind, BufferKind::Memory);
    }

    #[test]
    fn a_disk_buffer_it_cannot_run_is_refused_by_field() {
        for (text, want) in [
            (
                "[buffer]\nkind = \"disk\"\n",
                "buffer.path: is required with kind = \"disk\": the directory the buffer writes to",
            ),
            (
                "[buffer]\nkind = \"disk\"\npath = \"/b\"\nmax_bytes = 5000\n",
                "buffer.max_bytes: must be at least segment_bytes (8388608)",
            ),
            (
                "[sink]\nkind = \"null\"\n[sink.buffer]\nkind = \"disk\"\npath = \"/b\"\nfsync_interval = \"0s\"\n",
                "sink.buffer.fsync_interval: must be above zero",
            ),
        ] {
            assert_eq!(check(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn sinks_that_cannot_run_side_by_side_are_refused_by_field() {
        for (text, want) in [
            (
                "[[sink]]\nkind = \"kafka\"\n[[sink]]\nkind = \"kafka\"\n",
                "sink.1.name: sinks 0 and 1 are both called \"kafka\": give each [[sink]] a name of its own",
            ),
            (
                "[[sink]]\nkind = \"stdout\"\nname = \"a\"\n[[sink]]\nkind = \"stdout\"\nname = \"b\"\n",
                "sink.1.kind: another sink already writes there: two writers would interleave their records",
            ),
            (
                "[[sink]]\nkind = \"file\"\n[[sink]]\nkind = \"file\"\nname = \"copy\"\n",
                "sink.1.file.path: another sink already writes there: two writers would interleave their records",
            ),
            (
                "[[sink]]\nkind = \"file\"\n[[sink]]\nkind = \"null\"\nmax_in_flight = 0\n",
                "sink.1.max_in_flight: must be at least 1",
            ),
            (
                "[sink]\nname = \"Kafka Main\"\n",
                "sink.name: \"Kafka Main\": use lower-case letters, digits, '-' and '_' (it is a metrics label)",
            ),
            (
                "[[sink]]\nkind = \"null\"\n[[sink]]\nkind = \"file\"\n[sink.queue]\ncapacity = 0\n",
                "sink.1.queue.capacity: must be at least 1",
            ),
        ] {
            assert_eq!(check(text).unwrap_err(), want, "{text}");
        }
        let none = Config::parse(&format!("sink = []\n{SOURCE}"), "t").unwrap();
        assert_eq!(
            none.resolve()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            "sink: no sink given: write one [sink] table (or [[sink]] tables to fan out)"
        );
    }

    #[test]
    fn a_mistake_in_a_later_sink_is_named_with_its_line() {
        let err = check("[[sink]]\nkind = \"null\"\n[[sink]]\nkind = \"fil\"\n").unwrap_err();
        assert!(err.contains("line 8"), "{err}");
        assert!(err.contains("unknown variant `fil`"), "{err}");
    }

    #[test]
    fn overrides_index_the_sinks() {
        let text = format!("{SOURCE}[[sink]]\nkind = \"null\"\n[[sink]]\nkind = \"kafka\"\n");
        let sets = ["sink.1.kafka.brokers=b:1".to_string()];
        let config =
            Config::parse_with(&text, "t", &Overrides::from_flags(&sets).unwrap()).unwrap();
        assert_eq!(config.sinks[1].kind, SinkKind::Kafka);
        assert_eq!(config.sinks[1].kafka.brokers, "b:1");
        // The next index adds a sink (as for sources).
        let sets = ["sink.2.kind=file".to_string()];
        let config =
            Config::parse_with(&text, "t", &Overrides::from_flags(&sets).unwrap()).unwrap();
        let names: Vec<&str> = config.sinks.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["null", "kafka", "file"]);
    }
}

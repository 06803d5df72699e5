//! The TOML configuration: its documented structure, `${VAR}` / `${VAR:-default}`
//! interpolation, strict parsing (unknown fields are errors naming the field and the
//! line), validation, and resolution into connection plans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use tickbridge_connectors::book::BookConfig;
use tickbridge_connectors::contract::{
    Channel, ConnectionPlan, Connector, PlanError, SourceRequest,
};
use tickbridge_connectors::instruments::{InstrumentList, Listed, Lookup};
use tickbridge_connectors::symbols::SymbolInfo;
use tickbridge_schema::Market;

pub mod cluster;
pub mod overrides;
pub mod secret;
pub mod sinks;
pub use overrides::Overrides;
pub use secret::Secret;
pub use sinks::{DeadLetterConfig, FileConfig, SinkConfig, SinkKind};

/// The embedded default configuration (`tickbridge run` without `--config`).
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

/// The largest `[queue] capacity` accepted (records).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 24;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: {field}: environment variable {var} is not set (write ${{{var}:-default}} to give a default)")]
    MissingEnv {
        origin: String,
        field: String,
        var: String,
    },
    #[error("{origin}: {field}: unterminated ${{...}}")]
    BadInterpolation { origin: String, field: String },
    #[error("{field}: {why}")]
    Invalid { field: String, why: String },
    /// A setting from the environment or a `--set` flag (see [`overrides`]).
    #[error("{origin}: {message}")]
    Override { origin: String, message: String },
}

fn invalid(field: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        why: why.into(),
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Exchange feeds to read; one entry per exchange × market.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// `[sink]` (one) or `[[sink]]` (fan-out to each); never empty.
    #[serde(
        default = "sinks::one_default",
        rename = "sink",
        deserialize_with = "sinks::one_or_many"
    )]
    pub sinks: Vec<SinkConfig>,
    #[serde(default)]
    pub batch: BatchConfig,
    #[serde(default)]
    pub queue: QueueConfig,
    /// `[buffer]`: every sink's buffer unless its `[sink.buffer]` says otherwise.
    #[serde(default)]
    pub buffer: BufferConfig,
    #[serde(default)]
    pub connection: ConnectionConfig,
    #[serde(default)]
    pub shutdown: ShutdownConfig,
    #[serde(default)]
    pub ops: OpsConfig,
    #[serde(default)]
    pub instruments: InstrumentsConfig,
    /// `[cluster]`: this config shared by several replicas, each owning a share.
    #[serde(default)]
    pub cluster: cluster::ClusterConfig,
}

/// `[[source]]`: one exchange × market, its channels and symbols.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Exchange name, as listed by `tickbridge exchanges`.
    pub exchange: String,
    /// `spot`, `perp`, `future` or `option`; default: the exchange's first market.
    pub market: Option<String>,
    /// Normalized channels: `trade`, `bbo`, `book`, `ticker`, `funding`, ...
    pub channels: Vec<String>,
    /// Normalized (`BTC-USDT`) or native (`BTCUSDT`) symbols.
    pub symbols: Vec<String>,
    /// WebSocket base URL override (e.g. a local `tickbridge replay` server).
    pub ws_url: Option<String>,
    /// REST base URL override.
    pub rest_url: Option<String>,
    /// `[source.book]`: order-book options (used when `channels` has `book`).
    #[serde(default)]
    pub book: BookOptions,
}

/// `[source.book]`: how order books are synced and published.
///
/// ```toml
/// [source.book]
/// snapshot_depth = 1000          # levels per side of REST snapshots
/// publish_depth = 100            # levels per side of published snapshot records
/// full_snapshot_interval = "60s" # also publish the whole book this often
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookOptions {
    /// Levels per side requested in REST snapshots (Binance spot 1-5000, futures
    /// 5/10/20/50/100/500/1000, rounded up); default: the exchange module's (Binance:
    /// 1000). Deeper costs more request weight.
    pub snapshot_depth: Option<u32>,
    /// Levels per side in published snapshot records (`snapshot=true`); default: the
    /// whole book. Diffs are published as the exchange sent them.
    pub publish_depth: Option<usize>,
    /// Publish a full snapshot of each in-sync book this often (`snapshot=true`,
    /// `prev_seq` = `seq`), e.g. `"60s"`; default: never.
    #[serde(default, deserialize_with = "optional_duration")]
    pub full_snapshot_interval: Option<Duration>,
}

/// `[batch]`: a batch closes at whichever limit comes first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    #[serde(default = "default_linger", deserialize_with = "duration")]
    pub linger: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_events: default_max_events(),
            max_bytes: default_max_bytes(),
            linger: default_linger(),
        }
    }
}

fn default_max_events() -> usize {
    1000
}
fn default_max_bytes() -> usize {
    1 << 20
}
fn default_linger() -> Duration {
    Duration::from_millis(5)
}

/// `[queue]`: the bounded queue between the sources and the batcher.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Records the queue holds before sources wait.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// `block`: sources stop reading and the exchange's TCP buffers absorb short
    /// stalls; nothing is dropped. `drop_oldest`: the sources never wait; when the
    /// sink falls `capacity` records behind, the oldest are dropped, counted and
    /// announced with a `status gap` per symbol naming their time range.
    #[serde(default)]
    pub when_full: WhenFull,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: default_capacity(),
            when_full: WhenFull::Block,
        }
    }
}

fn default_capacity() -> usize {
    65_536
}

impl QueueConfig {
    /// `Err((field, why))` for a capacity of zero or beyond [`MAX_QUEUE_CAPACITY`].
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.capacity == 0 {
            return Err(("capacity", "must be at least 1".into()));
        }
        if self.capacity > MAX_QUEUE_CAPACITY {
            return Err((
                "capacity",
                format!(
                    "{} is more than {MAX_QUEUE_CAPACITY} records (each slot holds a record of \
                     ~300 bytes and more: a queue that size would outgrow the pod's memory)",
                    self.capacity
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    #[default]
    Block,
    DropOldest,
}

/// `[buffer]` (every sink) or `[sink.buffer]` (one sink): what holds batches between
/// the batcher and the sink while the broker is slow or away.
///
/// ```toml
/// [buffer]
/// kind = "disk"                 # default "memory": batches wait in memory only
/// path = "/var/lib/tickbridge/buffer"   # one directory per sink below it
/// max_bytes = 1073741824        # the log's size limit (1 GiB)
/// fsync = "interval"            # or "batch": fdatasync after every batch
/// fsync_interval = "1s"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferConfig {
    #[serde(default)]
    pub kind: BufferKind,
    /// Directory of the disk buffer; each sink writes below it in a directory of
    /// its name. Required with `kind = "disk"`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Bytes the log may hold; when reached, `when_full` applies.
    #[serde(default = "default_buffer_max_bytes")]
    pub max_bytes: u64,
    /// Size at which a segment file is closed and a new one started; a segment is
    /// deleted once all its batches are acknowledged.
    #[serde(default = "default_segment_bytes")]
    pub segment_bytes: u64,
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// With `fsync = "interval"`: how often appended batches are synced.
    #[serde(default = "default_fsync_interval", deserialize_with = "duration")]
    pub fsync_interval: Duration,
    /// `block`: when the log is full, the batcher waits (and behind it the queue and
    /// the sources), as with the memory queue. `drop_oldest`: the oldest segment no
    /// batch of which went to the sink is dropped, counted and announced with
    /// `status gap` (see `pipeline::disk_buffer`).
    #[serde(default)]
    pub when_full: WhenFull,
    /// Whether `/readyz` stays true while the sink is disconnected and the disk
    /// buffer absorbs the outage (records are kept, not lost); it turns false once
    /// the buffer is full. `false`: unready whenever the sink is disconnected.
    #[serde(default = "default_true")]
    pub ready_while_buffering: bool,
}

fn default_true() -> bool {
    true
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig {
            kind: BufferKind::Memory,
            path: None,
            max_bytes: default_buffer_max_bytes(),
            segment_bytes: default_segment_bytes(),
            fsync: FsyncPolicy::default(),
            fsync_interval: default_fsync_interval(),
            when_full: WhenFull::Block,
            ready_while_buffering: true,
        }
    }
}

fn default_buffer_max_bytes() -> u64 {
    1 << 30
}

fn default_segment_bytes() -> u64 {
    8 << 20
}

fn default_fsync_interval() -> Duration {
    Duration::from_secs(1)
}

impl BufferConfig {
    /// `Err((field, why))` for settings the disk buffer cannot run with.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.kind == BufferKind::Memory {
            return Ok(());
        }
        if self.path.is_none() {
            return Err((
                "path",
                "is required with kind = \"disk\": the directory the buffer writes to".into(),
            ));
        }
        if self.segment_bytes < 4096 {
            return Err(("segment_bytes", "must be at least 4096".into()));
        }
        if self.max_bytes < self.segment_bytes {
            return Err((
                "max_bytes",
                format!("must be at least segment_bytes ({})", self.segment_bytes),
            ));
        }
        if self.fsync == FsyncPolicy::Interval && self.fsync_interval.is_zero() {
            return Err(("fsync_interval", "must be above zero".into()));
        }
        Ok(())
    }
}

/// `[buffer] kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferKind {
    #[default]
    Memory,
    Disk,
}

/// `[buffer] fsync`: when appended batches reach the disk itself. Either way a batch
/// survives a crash of the process as soon as it is written (the kernel holds it);
/// the policy decides what a power loss may take: nothing (`batch`), or the batches
/// of the last `fsync_interval` (`interval`, far cheaper on a busy feed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    Batch,
    #[default]
    Interval,
}

/// `[connection]`: WebSocket session settings shared by every source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
///
/// ```toml
/// [connection]
/// reconnect_min = "500ms"      # jittered exponential backoff between reconnects
/// reconnect_max = "30s"
/// connect_timeout = "10s"
/// max_frame_bytes = 16777216   # larger text frames are counted and skipped
/// # Overrides of every exchange's own heartbeat rules (default: the exchange's):
/// # ping_interval = "20s"       # client pings (protocol or app-level, per exchange)
/// # pong_timeout = "10s"        # an unanswered ping ends the connection
/// # idle_timeout = "60s"        # no frame at all for this long: reconnect
/// # stale_after = "60s"         # no data for this long: `status stale` (connection kept)
/// # subscribe_timeout = "10s"   # confirmation deadline of the subscribe requests
/// # max_connection_age = "23h 50m"  # rotate before the exchange's forced disconnect
/// # rotation_overlap = "2s"     # old and new connection both deliver this long
/// ```
pub struct ConnectionConfig {
    #[serde(default = "default_reconnect_min", deserialize_with = "duration")]
    pub reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", deserialize_with = "duration")]
    pub reconnect_max: Duration,
    #[serde(default = "default_connect_timeout", deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Text frames larger than this are counted (`oversized_frames`) and skipped; above
    /// four times this the WebSocket layer refuses the frame and the connection is
    /// re-opened.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// Interval of client pings; default: the exchange's.
    #[serde(default, deserialize_with = "optional_duration")]
    pub ping_interval: Option<Duration>,
    /// A client ping unanswered this long ends the connection; default: the exchange's.
    #[serde(default, deserialize_with = "optional_duration")]
    pub pong_timeout: Option<Duration>,
    /// No frame at all (data, heartbeat, pong) this long: the socket is dead.
    #[serde(default, deserialize_with = "optional_duration")]
    pub idle_timeout: Option<Duration>,
    /// No data this long while the socket is alive: `status stale`, once per period.
    #[serde(default, deserialize_with = "optional_duration")]
    pub stale_after: Option<Duration>,
    /// Subscription confirmation deadline; default: the exchange's.
    #[serde(default, deserialize_with = "optional_duration")]
    pub subscribe_timeout: Option<Duration>,
    /// Rotate connections at this age (Binance's default: 23 h 50 min, before its 24 h cut).
    #[serde(default, deserialize_with = "optional_duration")]
    pub max_connection_age: Option<Duration>,
    /// How long a rotation's old and new connections both deliver (duplicates dropped).
    #[serde(default = "default_rotation_overlap", deserialize_with = "duration")]
    pub rotation_overlap: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            reconnect_min: default_reconnect_min(),
            reconnect_max: default_reconnect_max(),
            connect_timeout: default_connect_timeout(),
            max_frame_bytes: default_max_frame_bytes(),
            ping_interval: None,
            pong_timeout: None,
            idle_timeout: None,
            stale_after: None,
            subscribe_timeout: None,
            max_connection_age: None,
            rotation_overlap: default_rotation_overlap(),
        }
    }
}

impl ConnectionConfig {
    /// An exchange's heartbeat rules with this section's overrides applied.
    pub fn heartbeat(
        &self,
        mut hb: tickbridge_connectors::Heartbeat,
    ) -> tickbridge_connectors::Heartbeat {
        if let Some(d) = self.ping_interval {
            hb.ping_interval = Some(d);
        }
        if let Some(d) = self.pong_timeout {
            hb.pong_timeout = d;
        }
        if let Some(d) = self.idle_timeout {
            hb.idle_timeout = d;
        }
        if let Some(d) = self.stale_after {
            hb.stale_after = d;
        }
        if let Some(d) = self.subscribe_timeout {
            hb.subscribe_timeout = d;
        }
        if let Some(d) = self.max_connection_age {
            hb.max_connection_age = Some(d);
        }
        hb
    }
}

fn default_rotation_overlap() -> Duration {
    Duration::from_secs(2)
}

fn default_reconnect_min() -> Duration {
    Duration::from_millis(500)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(30)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_frame_bytes() -> usize {
    16 << 20
}

/// `[shutdown]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Bound on the whole drain after SIGTERM/SIGINT; past it the process exits non-zero.
    #[serde(default = "default_drain_timeout", deserialize_with = "duration")]
    pub drain_timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            drain_timeout: default_drain_timeout(),
        }
    }
}

fn default_drain_timeout() -> Duration {
    Duration::from_secs(20)
}

/// `[instruments]`: how each source's symbols are checked against the exchange's own
/// instrument list (its REST reference endpoint), fetched at start, cached on disk and
/// refreshed while running.
///
/// ```toml
/// [instruments]
/// timeout = "10s"               # per request of the list
/// cache_dir = "/var/cache/tickbridge"  # default: $XDG_CACHE_HOME/tickbridge (or ~/.cache)
/// cache_ttl = "1h"              # a cached list younger than this is used without a fetch
/// refresh = "1h"                # refetch this often while running ("0s": never)
/// on_unavailable = "refuse"     # no list and no cache: "refuse" to start, or run "unverified"
/// max_symbols = 1000            # how many symbols a pattern (`*-USDT-PERP`) may select
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentsConfig {
    #[serde(default = "default_instruments_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// Where fetched lists are kept; `None`: `$XDG_CACHE_HOME/tickbridge` or
    /// `~/.cache/tickbridge` (no cache at all when neither can be found).
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    #[serde(default = "default_cache_ttl", deserialize_with = "duration")]
    pub cache_ttl: Duration,
    #[serde(default = "default_cache_ttl", deserialize_with = "duration")]
    pub refresh: Duration,
    #[serde(default)]
    pub on_unavailable: OnUnavailable,
    #[serde(default = "default_max_symbols")]
    pub max_symbols: usize,
}

/// What to do when an instrument list can be neither fetched nor read from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnavailable {
    /// Refuse to start, naming the exchange, the URL and why.
    #[default]
    Refuse,
    /// Run on the symbols as written, unverified (warned once).
    Unverified,
}

impl Default for InstrumentsConfig {
    fn default() -> Self {
        InstrumentsConfig {
            timeout: default_instruments_timeout(),
            cache_dir: None,
            cache_ttl: default_cache_ttl(),
            refresh: default_cache_ttl(),
            on_unavailable: OnUnavailable::default(),
            max_symbols: default_max_symbols(),
        }
    }
}

fn default_instruments_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_cache_ttl() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_symbols() -> usize {
    1000
}

/// `[ops]`: the HTTP port for health, readiness and metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// `host:port`; an empty string disables the ops server.
    #[serde(default = "default_ops_listen")]
    pub listen: String,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            listen: default_ops_listen(),
        }
    }
}

fn default_ops_listen() -> String {
    "0.0.0.0:9000".into()
}

/// Parses durations written like `"5ms"`, `"20s"`, `"1m 30s"`.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?} ({e}); write e.g. \"5ms\", \"20s\""
        ))
    })
}

/// [`duration`] for an optional field.
pub fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

/// Replaces `${VAR}` and `${VAR:-default}` in the parsed TOML's string values with the
/// environment's values, and returns the document written back as TOML. Working on
/// values, not on the file's text, a value is taken as it is, whatever it holds
/// (quotes, backslashes, `#`: a password stays a password, and cannot break or
/// rewrite the file around it); comments and keys are never interpolated. Errors name
/// the setting (`sink.kafka.sasl.password`), never a value.
pub fn interpolate(
    text: &str,
    origin: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                origin: origin.to_string(),
                message: toml_position(text, e.span(), e.message()),
            })?;
    let mut path = Vec::new();
    interpolate_table(doc.as_table_mut(), &mut path, origin, &env)?;
    Ok(doc.to_string())
}

fn interpolate_table(
    table: &mut toml_edit::Table,
    path: &mut Vec<String>,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for (key, item) in table.iter_mut() {
        path.push(key.get().to_string());
        interpolate_item(item, path, origin, env)?;
        path.pop();
    }
    Ok(())
}

fn interpolate_item(
    item: &mut toml_edit::Item,
    path: &mut Vec<String>,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match item {
        toml_edit::Item::Value(v) => interpolate_value(v, path, origin, env),
        toml_edit::Item::Table(t) => interpolate_table(t, path, origin, env),
        toml_edit::Item::ArrayOfTables(a) => {
            for (i, t) in a.iter_mut().enumerate() {
                path.push(i.to_string());
                interpolate_table(t, path, origin, env)?;
                path.pop();
            }
            Ok(())
        }
        toml_edit::Item::None => Ok(()),
    }
}

fn interpolate_value(
    value: &mut toml_edit::Value,
    path: &mut Vec<String>,
    origin: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        toml_edit::Value::String(s) if s.value().contains("${") => {
            let field = path.join(".");
            let replaced = interpolate_str(s.value(), origin, &field, env)?;
            let decor = s.decor().clone();
            let mut new = toml_edit::Formatted::new(replaced);
            *new.decor_mut() = decor;
            *s = new;
            Ok(())
        }
        toml_edit::Value::Array(a) => {
            for (i, v) in a.iter_mut().enumerate() {
                path.push(i.to_string());
                interpolate_value(v, path, origin, env)?;
                path.pop();
            }
            Ok(())
        }
        toml_edit::Value::InlineTable(t) => {
            for (key, v) in t.iter_mut() {
                path.push(key.get().to_string());
                interpolate_value(v, path, origin, env)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One string value with its `${VAR}` / `${VAR:-default}` replaced.
fn interpolate_str(
    text: &str,
    origin: &str,
    field: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| ConfigError::BadInterpolation {
                origin: origin.to_string(),
                field: field.to_string(),
            })?;
        let expr = &after[..end];
        let (var, default) = match expr.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (expr, None),
        };
        match (
            env(var).filter(|v| !v.is_empty() || default.is_none()),
            default,
        ) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(ConfigError::MissingEnv {
                    origin: origin.to_string(),
                    field: field.to_string(),
                    var: var.to_string(),
                })
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A TOML error as `line L column C: message`, without toml's excerpt of the line
/// (which would print a secret written on it).
fn toml_position(text: &str, span: Option<std::ops::Range<usize>>, message: &str) -> String {
    let message = message.trim_end();
    match span {
        Some(span) => {
            let start = span.start.min(text.len());
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line} column {column}: {message}")
        }
        None => message.to_string(),
    }
}

impl Config {
    /// The first (with one `[sink]`, the only) sink.
    pub fn sink(&self) -> &SinkConfig {
        &self.sinks[0]
    }

    /// The queue sink `i` reads from when records fan out: its own `[sink.queue]`,
    /// else `[queue]`.
    pub fn queue_of(&self, i: usize) -> &QueueConfig {
        self.sinks[i].queue.as_ref().unwrap_or(&self.queue)
    }

    /// The buffer of sink `i`: its `[sink.buffer]`, else `[buffer]`, with the path
    /// made that sink's own directory (`<path>/<sink name>`).
    pub fn buffer_of(&self, i: usize) -> BufferConfig {
        let mut buffer = self.sinks[i]
            .buffer
            .as_ref()
            .unwrap_or(&self.buffer)
            .clone();
        if let Some(path) = &mut buffer.path {
            path.push(&self.sinks[i].name);
        }
        buffer
    }

    /// Parses configuration text (after interpolation from the process environment).
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::parse_with(text, origin, &Overrides::none())
    }

    /// Parses configuration text with environment / `--set` overrides layered on top
    /// (precedence: overrides > file > defaults; see [`overrides`]).
    pub fn parse_with(
        text: &str,
        origin: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let text = interpolate(text, origin, |v| std::env::var(v).ok())?;
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            origin: origin.to_string(),
            message: toml_position(&text, e.span(), e.message()),
        };
        if overrides.is_empty() {
            return toml::from_str(&text).map_err(parse_error);
        }
        let tree: toml::Table = text.parse().map_err(parse_error)?;
        overrides.deserialize(tree, |merged| match toml::from_str::<Config>(&text) {
            // The file alone shows the mistake with its line number.
            Err(e) => parse_error(e),
            Ok(_) => ConfigError::Parse {
                origin: format!("{origin} with overrides"),
                message: merged,
            },
        })
    }

    /// Loads a file (or the embedded default) with overrides layered on top.
    pub fn load_with(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        match path {
            None => Config::parse_with(DEFAULT_CONFIG, "embedded default config", overrides),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                Config::parse_with(&text, &p.display().to_string(), overrides)
            }
        }
    }

    /// Loads a file, or the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with(path, &Overrides::none())
    }

    /// Checks every field and turns the sources into connection plans.
    /// Validates and plans every source, with symbols as written (unverified; see
    /// [`Config::resolve_with`]).
    pub fn resolve(&self) -> Result<Vec<ResolvedSource>, ConfigError> {
        self.resolve_with(&[])
    }

    /// Validates and plans every source; `lists[i]`, where given, is the instrument
    /// list source `i`'s symbols are resolved against (patterns expanded, unknown
    /// symbols refused with the closest listed ones).
    pub fn resolve_with(
        &self,
        lists: &[Option<&InstrumentList>],
    ) -> Result<Vec<ResolvedSource>, ConfigError> {
        if self.sources.is_empty() {
            return Err(invalid("source", "no [[source]] given: nothing to read"));
        }
        if self.batch.max_events == 0 {
            return Err(invalid("batch.max_events", "must be at least 1"));
        }
        if self.batch.max_bytes == 0 {
            return Err(invalid("batch.max_bytes", "must be at least 1"));
        }
        self.queue
            .validate()
            .map_err(|(field, why)| invalid(format!("queue.{field}"), why))?;
        self.buffer
            .validate()
            .map_err(|(field, why)| invalid(format!("buffer.{field}"), why))?;
        sinks::validate(&self.sinks)?;
        if self.shutdown.drain_timeout.is_zero() {
            return Err(invalid(
                "shutdown.drain_timeout",
                "must be above zero (records in flight at SIGTERM need time to be acknowledged)",
            ));
        }
        if self.connection.reconnect_min > self.connection.reconnect_max {
            return Err(invalid(
                "connection.reconnect_min",
                "must not exceed connection.reconnect_max",
            ));
        }
        let c = &self.connection;
        for (name, value) in [
            ("ping_interval", c.ping_interval),
            ("pong_timeout", c.pong_timeout),
            ("idle_timeout", c.idle_timeout),
            ("stale_after", c.stale_after),
            ("subscribe_timeout", c.subscribe_timeout),
            ("max_connection_age", c.max_connection_age),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(invalid(format!("connection.{name}"), "must be above zero"));
            }
        }
        if c.max_frame_bytes < 1024 {
            return Err(invalid(
                "connection.max_frame_bytes",
                "must be at least 1024 (exchange frames are often kilobytes)",
            ));
        }
        if self.connection.reconnect_min.is_zero() {
            return Err(invalid(
                "connection.reconnect_min",
                "must be above zero (a reconnect storm gets an IP banned)",
            ));
        }
        let listen = self.ops.listen.trim();
        if !listen.is_empty() {
            use std::net::ToSocketAddrs;
            if let Err(e) = listen.to_socket_addrs() {
                return Err(invalid(
                    "ops.listen",
                    format!("{listen:?} is not a host:port to listen on ({e}); an empty string disables the ops server"),
                ));
            }
        }
        if self.instruments.max_symbols == 0 {
            return Err(invalid("instruments.max_symbols", "must be at least 1"));
        }
        if self.instruments.timeout.is_zero() {
            return Err(invalid("instruments.timeout", "must be above zero"));
        }
        let resolved = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let list = lists.get(i).copied().flatten();
                s.resolve(i, list, self.instruments.max_symbols)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let resolved = match self.shard()? {
            Some(shard) => resolved
                .into_iter()
                .map(|s| s.keep_shard(shard))
                .collect::<Result<Vec<_>, _>>()?,
            None => resolved,
        };
        check_subscription_budgets(&resolved)?;
        Ok(resolved)
    }

    /// This replica's shard of `[cluster]` (`None`: the whole config).
    pub fn shard(&self) -> Result<Option<cluster::Shard>, ConfigError> {
        self.cluster
            .shard(cluster::hostname)
            .map_err(|(field, why)| invalid(format!("cluster.{field}"), why))
    }

    /// `[cluster] standby`, checked against the sinks (`None`: no hot standby).
    pub fn standby(&self) -> Result<Option<cluster::Standby>, ConfigError> {
        self.cluster
            .standby(&self.sinks)
            .map_err(|(field, why)| invalid(format!("cluster.{field}"), why))
    }
}

/// Refuses sources of one exchange on one WebSocket host that together plan more
/// subscriptions than the exchange's per-IP budget
/// ([`Connector::subscription_budget`]); each source's planner checks its own.
fn check_subscription_budgets(sources: &[ResolvedSource]) -> Result<(), ConfigError> {
    let mut totals: BTreeMap<(&str, &str), (usize, Vec<usize>)> = BTreeMap::new();
    for (i, s) in sources.iter().enumerate() {
        if s.connector.subscription_budget().is_none() {
            continue;
        }
        let topics: usize = s
            .plans
            .iter()
            .flat_map(|p| &p.requests)
            .map(|r| r.topics.len())
            .sum();
        let host = tickbridge_connectors::session::gate::host_of(&s.request.ws_url);
        let entry = totals.entry((s.connector.name(), host)).or_default();
        entry.0 += topics;
        entry.1.push(i);
    }
    for ((name, _), (wanted, indexes)) in totals {
        let connector = sources[indexes[0]].connector;
        let Some((limit, doc)) = connector.subscription_budget() else {
            continue;
        };
        if wanted > limit {
            let named: Vec<String> = indexes.iter().map(|i| format!("source[{i}]")).collect();
            let error = PlanError::OverLimit {
                exchange: connector.name(),
                what: "websocket subscriptions",
                wanted,
                limit,
                source_doc: doc,
            };
            return Err(invalid(
                format!("source[{}].symbols", indexes[indexes.len() - 1]),
                format!("{} ({name}: {} together)", error, named.join(" and ")),
            ));
        }
    }
    Ok(())
}

/// A source after validation: its connector, request and connection plans.
pub struct ResolvedSource {
    pub connector: &'static dyn Connector,
    pub request: SourceRequest,
    /// The connection plans; each carries the source's order-book options
    /// (`request.books`) for its parser.
    pub plans: Vec<ConnectionPlan>,
    /// The exchange's reference data of every subscribed symbol (empty when the
    /// symbols are not verified against an instrument list).
    pub instruments: Vec<Listed>,
}

impl ResolvedSource {
    /// Keeps only the symbols `shard` owns and plans their connections again; a
    /// source of which this replica owns nothing keeps no symbol and no connection.
    fn keep_shard(mut self, shard: cluster::Shard) -> Result<ResolvedSource, ConfigError> {
        let (exchange, market) = (self.connector.name(), self.request.market.as_str());
        self.request
            .symbols
            .retain(|s| shard.owns(exchange, market, &s.native));
        self.instruments.retain(|l| {
            self.request
                .symbols
                .iter()
                .any(|s| s.native == l.symbol.native)
        });
        self.plans = if self.request.symbols.is_empty() {
            Vec::new()
        } else {
            self.connector
                .plan(&self.request)
                .map_err(|e| invalid("cluster", e.to_string()))?
        };
        Ok(self)
    }
}

impl SourceConfig {
    /// The connector, market and REST base URL of this source (what its instrument
    /// list is fetched with); `None` when any of them is wrong, which
    /// [`Config::resolve`] then names.
    pub fn endpoint(&self) -> Option<(&'static dyn Connector, Market, String)> {
        let connector = tickbridge_connectors::connector(&self.exchange)?;
        let market = match &self.market {
            None => connector.default_market(),
            Some(m) => parse_market(m)?,
        };
        let rest_url = self
            .rest_url
            .clone()
            .unwrap_or_else(|| connector.default_rest_url(market).to_string());
        if !(rest_url.starts_with("http://") || rest_url.starts_with("https://")) {
            return None;
        }
        Some((connector, market, rest_url))
    }

    fn resolve(
        &self,
        index: usize,
        list: Option<&InstrumentList>,
        max_symbols: usize,
    ) -> Result<ResolvedSource, ConfigError> {
        let field = |name: &str| format!("source[{index}].{name}");
        let connector = tickbridge_connectors::connector(&self.exchange).ok_or_else(|| {
            let known: Vec<&str> = tickbridge_connectors::connectors()
                .iter()
                .map(|c| c.name())
                .collect();
            invalid(
                field("exchange"),
                format!(
                    "unknown exchange {:?} (supported: {})",
                    self.exchange,
                    known.join(", ")
                ),
            )
        })?;
        let market = match &self.market {
            None => connector.default_market(),
            Some(m) => parse_market(m).ok_or_else(|| {
                invalid(
                    field("market"),
                    format!("unknown market {m:?} (expected spot, perp, future or option)"),
                )
            })?,
        };
        if self.channels.is_empty() {
            return Err(invalid(
                field("channels"),
                "empty: name at least one channel",
            ));
        }
        let mut channels = Vec::new();
        for (j, c) in self.channels.iter().enumerate() {
            let channel = Channel::parse(c).ok_or_else(|| {
                let all: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
                invalid(
                    format!("source[{index}].channels[{j}]"),
                    format!("unknown channel {c:?} (known: {})", all.join(", ")),
                )
            })?;
            if !channels.contains(&channel) {
                channels.push(channel);
            }
        }
        if self.symbols.is_empty() {
            return Err(invalid(field("symbols"), "empty: name at least one symbol"));
        }
        let mut symbols = Vec::new();
        for (j, s) in self.symbols.iter().enumerate() {
            let at = || format!("source[{index}].symbols[{j}]");
            let found = match list {
                Some(list) => resolve_listed(connector.name(), market, list, s, max_symbols)
                    .map_err(|why| invalid(at(), why))?,
                None if s.contains('*') => {
                    return Err(invalid(
                        at(),
                        format!(
                            "{s:?} is a pattern, and patterns are resolved against the \
                             exchange's instrument list, which {} has not got here",
                            connector.name()
                        ),
                    ))
                }
                None => vec![connector
                    .symbol(market, s)
                    .map_err(|e| invalid(at(), e.to_string()))?],
            };
            for info in found {
                if !symbols.contains(&info) {
                    symbols.push(info);
                }
            }
            if symbols.len() > max_symbols {
                return Err(invalid(
                    at(),
                    format!(
                        "the source selects {} symbols, more than instruments.max_symbols = {max_symbols}",
                        symbols.len()
                    ),
                ));
            }
        }
        let ws_url = self
            .ws_url
            .clone()
            .unwrap_or_else(|| connector.default_ws_url(market).to_string());
        if !(ws_url.starts_with("ws://") || ws_url.starts_with("wss://")) {
            return Err(invalid(
                field("ws_url"),
                format!("{ws_url:?} is not a ws:// or wss:// URL"),
            ));
        }
        let rest_url = self
            .rest_url
            .clone()
            .unwrap_or_else(|| connector.default_rest_url(market).to_string());
        if !(rest_url.starts_with("http://") || rest_url.starts_with("https://")) {
            return Err(invalid(
                field("rest_url"),
                format!("{rest_url:?} is not an http:// or https:// URL"),
            ));
        }
        if self.book.snapshot_depth == Some(0) {
            return Err(invalid(field("book.snapshot_depth"), "must be at least 1"));
        }
        if self.book.publish_depth == Some(0) {
            return Err(invalid(field("book.publish_depth"), "must be at least 1"));
        }
        if self
            .book
            .full_snapshot_interval
            .is_some_and(|d| d.is_zero())
        {
            return Err(invalid(
                field("book.full_snapshot_interval"),
                "must be above zero",
            ));
        }
        let books = BookConfig {
            rest_url: rest_url.clone(),
            snapshot_depth: self.book.snapshot_depth,
            publish_depth: self.book.publish_depth,
            full_snapshot_interval: self.book.full_snapshot_interval,
        };
        let request = SourceRequest {
            market,
            channels,
            symbols,
            ws_url,
            rest_url,
            books,
        };
        let plans = connector.plan(&request).map_err(|e: PlanError| {
            let f = match e {
                PlanError::UnsupportedChannel { .. } => field("channels"),
                PlanError::UnknownMarket { .. } => field("market"),
                _ => field("symbols"),
            };
            invalid(f, e.to_string())
        })?;
        let instruments = list
            .map(|l| {
                request
                    .symbols
                    .iter()
                    .filter_map(|s| l.get(&s.native).cloned())
                    .collect()
            })
            .unwrap_or_default();
        Ok(ResolvedSource {
            connector,
            request,
            plans,
            instruments,
        })
    }
}

/// One user symbol (or pattern) of `market` resolved against the exchange's list.
fn resolve_listed(
    exchange: &str,
    market: Market,
    list: &InstrumentList,
    user: &str,
    max_symbols: usize,
) -> Result<Vec<SymbolInfo>, String> {
    if user.contains('*') {
        let found = list.matching(market, user);
        if found.is_empty() {
            return Err(format!(
                "the pattern {user:?} matches no trading {} instrument of {exchange}",
                market.as_str()
            ));
        }
        if found.len() > max_symbols {
            return Err(format!(
                "the pattern {user:?} matches {} instruments, more than instruments.max_symbols = {max_symbols}",
                found.len()
            ));
        }
        return Ok(found.into_iter().map(|x| x.symbol.clone()).collect());
    }
    match list.lookup(market, user) {
        Lookup::Found(x) => Ok(vec![x.symbol.clone()]),
        Lookup::OtherMarket(x) => Err(format!(
            "{user:?} is {} ({}), a {} instrument, but the source's market is {}",
            x.symbol.native,
            x.symbol.symbol,
            x.symbol.market.as_str(),
            market.as_str()
        )),
        Lookup::Unknown(near) => {
            let near: Vec<String> = near
                .iter()
                .map(|x| format!("{} ({})", x.symbol.symbol, x.symbol.native))
                .collect();
            Err(if near.is_empty() {
                format!(
                    "{exchange} lists no {} instrument {user:?}",
                    market.as_str()
                )
            } else {
                format!(
                    "{exchange} lists no {} instrument {user:?}; closest: {}",
                    market.as_str(),
                    near.join(", ")
                )
            })
        }
    }
}

pub fn parse_market(text: &str) -> Option<Market> {
    match text {
        "spot" => Some(Market::Spot),
        "perp" => Some(Market::Perp),
        "future" => Some(Market::Future),
        "option" => Some(Market::Option),
        _ => None,
    }
}

/// A plain description of resolved sources (the `validate` output and the startup log).
pub fn describe_plan(sources: &[ResolvedSource]) -> BTreeMap<String, Vec<String>> {
    let mut plan = BTreeMap::new();
    for s in sources {
        let key = format!("{} {}", s.connector.name(), s.request.market.as_str());
        let entry: &mut Vec<String> = plan.entry(key).or_default();
        for p in &s.plans {
            let channels: Vec<&str> = p.channels.iter().map(|c| c.as_str()).collect();
            entry.push(format!(
                "{} symbols [{}] via {}",
                p.symbols.len(),
                channels.join(","),
                p.url
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn interpolates_variables_and_defaults() {
        let text = "a = \"${A}\"\nb = \"${B:-dflt}\"\n# c = \"${UNSET}\"\nd = \"x${A}y${B:-z}\"\n";
        let out = interpolate(text, "t", env(&[("A", "1")])).unwrap();
        assert_eq!(
            out,
            "a = \"1\"\nb = \"dflt\"\n# c = \"${UNSET}\"\nd = \"x1yz\"\n"
        );
        let err = interpolate("x = 1\n[t]\ny = [\"${NOPE}\"]\n", "cfg.toml", env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cfg.toml: t.y.0: environment variable NOPE is not set (write ${NOPE:-default} to give a default)"
        );
        let err = interpolate("[t]\nx = \"${OPEN\"", "t", env(&[])).unwrap_err();
        assert_eq!(err.to_string(), "t: t.x: unterminated ${...}");
    }

    /// A secret holding quotes, backslashes and `#` is used exactly as it is, and no
    /// error (a missing variable, a TOML mistake on the secret's line) shows it.
    #[test]
    fn secrets_are_values_never_text() {
        let secret = "TB-SECRET-a\"b\\c#d'e ${X}";
        let text = "[sink]\nkind = \"kafka\"\n[sink.kafka.sasl]\nmechanism = \"plain\"\n\
                    username = \"u\"\npassword = \"${PW}\" # the password\n";
        let out = interpolate(text, "t", env(&[("PW", secret)])).unwrap();
        let mut config: Config = toml::from_str(&out).unwrap();
        let sasl = config.sinks.remove(0).kafka.sasl.unwrap();
        assert_eq!(sasl.password.unwrap().expose(), secret);
        assert!(out.contains("# the password"), "{out}");
        // A TOML mistake on the line that holds a written-out secret: position only.
        let text = "[sink.kafka.sasl]\npassword = \"TB-SECRET-inline\" x\n";
        let err = Config::parse(text, "cfg.toml").unwrap_err().to_string();
        assert!(err.starts_with("cfg.toml: line 2 column"), "{err}");
        assert!(!err.contains("TB-SECRET"), "{err}");
        let text = "[sink.kafka.sasl]\npassword = \"TB-SECRET-${PW}\" x\n";
        let err = Config::parse(text, "cfg.toml").unwrap_err().to_string();
        assert!(!err.contains("TB-SECRET"), "{err}");
    }

    #[test]
    fn the_embedded_default_resolves() {
        let config = Config::load(None).unwrap();
        let sources = config.resolve().unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(
            sources[0].plans[0].url,
            "wss://stream.binance.com:9443/stream"
        );
        assert_eq!(
            sources[0].plans[0].texts(),
            vec![
                r#"{"id":1,"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker"]}"#
            ]
        );
        assert_eq!(config.sink().kind, SinkKind::Stdout);
    }

    #[test]
    fn unknown_fields_are_named_with_their_line() {
        let text = "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\nsymbol = \"x\"\n";
        let err = Config::parse(text, "my.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("my.toml: line 5 column 1: unknown field `symbol`"),
            "{err}"
        );
        assert!(err.contains("unknown field `symbol`"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_field() {
        let cases = [
            ("[[source]]\nexchange = \"nope\"\nchannels = [\"trade\"]\nsymbols = [\"X-Y\"]\n",
             "source[0].exchange: unknown exchange \"nope\" (supported: {supported})"),
            ("[[source]]\nexchange = \"binance\"\nchannels = [\"trades\"]\nsymbols = [\"BTC-USDT\"]\n",
             "source[0].channels[0]: unknown channel \"trades\" (known: trade, bbo, book, ticker, funding, open_interest, liquidation, mark_price)"),
            ("[[source]]\nexchange = \"binance\"\nchannels = [\"funding\"]\nsymbols = [\"BTC-USDT\"]\n",
             "source[0].channels: binance spot: channel `funding` is not supported (supported: trade, bbo, book, ticker)"),
            ("[[source]]\nexchange = \"coinbase\"\nchannels = [\"trade\"]\nsymbols = [\"BTCUSD\"]\n",
             "source[0].symbols[0]: coinbase: symbol \"BTCUSD\" is not valid: expected a product id BASE-QUOTE, e.g. BTC-USD"),
            ("[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\nws_url = \"http://x\"\n",
             "source[0].ws_url: \"http://x\" is not a ws:// or wss:// URL"),
            ("[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\n[batch]\nmax_events = 0\n",
             "batch.max_events: must be at least 1"),
            ("", "source: no [[source]] given: nothing to read"),
            ("[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\n[connection]\nstale_after = \"0s\"\n",
             "connection.stale_after: must be above zero"),
        ];
        // Every registered connector, in registry order.
        let supported: Vec<&str> = tickbridge_connectors::connectors()
            .iter()
            .map(|c| c.name())
            .collect();
        for (text, want) in cases {
            let err = Config::parse(text, "t")
                .and_then(|c| c.resolve().map(|_| ()))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                want.replace("{supported}", &supported.join(", "))
            );
        }
    }

    #[test]
    fn bad_durations_are_explained() {
        let err = Config::parse("[batch]\nlinger = \"soon\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid duration \"soon\""), "{err}");
        let c = Config::parse(
            "[batch]\nlinger = \"250ms\"\n[shutdown]\ndrain_timeout = \"1m 5s\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.batch.linger, Duration::from_millis(250));
        assert_eq!(c.shutdown.drain_timeout, Duration::from_secs(65));
    }

    #[test]
    fn sources_of_one_exchange_share_its_subscription_budget() {
        // 150 coins × 4 subscriptions = 600 each: alone within Hyperliquid's 1000 per IP,
        // together not.
        let coins: Vec<String> = (0..150).map(|i| format!("\"C{i}\"")).collect();
        let source = format!(
            "[[source]]\nexchange = \"hyperliquid\"\nchannels = [\"trade\", \"book\", \"bbo\", \"ticker\"]\nsymbols = [{}]\n",
            coins.join(", ")
        );
        let one = Config::parse(&source, "t").unwrap().resolve().unwrap();
        assert_eq!(
            one[0].plans.iter().map(|p| p.requests.len()).sum::<usize>(),
            600
        );
        let two = format!("{source}{source}");
        let err = Config::parse(&two, "t").unwrap().resolve().err().unwrap();
        assert_eq!(
            err.to_string(),
            "source[1].symbols: hyperliquid: the source needs 1200 websocket subscriptions, more than the 1000 the exchange allows (Hyperliquid \"Rate limits and user limits\": 1000 websocket subscriptions per IP) (hyperliquid: source[0] and source[1] together)"
        );
        // Another host (the testnet) has its own budget.
        let testnet = source.replace(
            "symbols",
            "ws_url = \"wss://api.hyperliquid-testnet.xyz/ws\"\nsymbols",
        );
        let split = format!("{source}{testnet}");
        assert_eq!(
            Config::parse(&split, "t").unwrap().resolve().unwrap().len(),
            2
        );
    }

    #[test]
    fn source_book_options_reach_the_parsers_config() {
        let text = "[[source]]\nexchange = \"binance\"\nchannels = [\"book\"]\nsymbols = [\"BTC-USDT\"]\nrest_url = \"http://127.0.0.1:1\"\n[source.book]\nsnapshot_depth = 500\npublish_depth = 20\nfull_snapshot_interval = \"30s\"\n";
        let sources = Config::parse(text, "t").unwrap().resolve().unwrap();
        let book = &sources[0].request.books;
        assert_eq!(book.rest_url, "http://127.0.0.1:1");
        assert_eq!(book.snapshot_depth, Some(500));
        assert_eq!(book.publish_depth, Some(20));
        assert_eq!(book.full_snapshot_interval, Some(Duration::from_secs(30)));
        let defaults =
            "[[source]]\nexchange = \"binance\"\nchannels = [\"book\"]\nsymbols = [\"BTC-USDT\"]\n";
        let sources = Config::parse(defaults, "t").unwrap().resolve().unwrap();
        assert_eq!(sources[0].request.books.rest_url, "https://api.binance.com");
        assert_eq!(sources[0].request.books.snapshot_depth, None);
        let unknown = format!("{text}depth = 5\n");
        let err = Config::parse(&unknown, "t").unwrap_err().to_string();
        assert!(err.contains("unknown field `depth`"), "{err}");
        let zero = text.replace("publish_depth = 20", "publish_depth = 0");
        let err = Config::parse(&zero, "t").unwrap().resolve().err().unwrap();
        assert_eq!(
            err.to_string(),
            "source[0].book.publish_depth: must be at least 1"
        );
    }

    fn listed() -> InstrumentList {
        use tickbridge_connectors::instruments::pair;
        let mut usdm = pair("BTC", "USDT", Some("USDT"));
        usdm.contract_size = None;
        InstrumentList::new(vec![
            Listed::new(Market::Spot, "BTCUSDT", pair("BTC", "USDT", None)),
            Listed::new(Market::Spot, "ETHUSDT", pair("ETH", "USDT", None)),
            Listed::new(Market::Spot, "BATUSD", pair("BAT", "USD", None)),
            Listed::new(Market::Spot, "BTCPAX", pair("BTC", "PAX", None)),
            Listed::new(Market::Perp, "BTCUSDT_PERP", usdm),
        ])
        .unwrap()
    }

    fn resolve_listed_config(symbols: &str) -> Result<Vec<ResolvedSource>, ConfigError> {
        let text = format!(
            "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = {symbols}\n[instruments]\nmax_symbols = 3\n"
        );
        let list = listed();
        Config::parse(&text, "t")
            .unwrap()
            .resolve_with(&[Some(&list)])
    }

    #[test]
    fn symbols_resolve_against_the_instrument_list() {
        let sources = resolve_listed_config(r#"["BATUSD", "btc-pax", "BTCUSDT"]"#).unwrap();
        let resolved: Vec<(&str, &str)> = sources[0]
            .request
            .symbols
            .iter()
            .map(|s| (s.native.as_str(), s.symbol.as_str()))
            .collect();
        assert_eq!(
            resolved,
            [
                ("BATUSD", "BAT-USD"),
                ("BTCPAX", "BTC-PAX"),
                ("BTCUSDT", "BTC-USDT")
            ]
        );
        assert_eq!(sources[0].instruments.len(), 3);
        assert_eq!(sources[0].instruments[0].spec.base, "BAT");
    }

    #[test]
    fn an_unlisted_symbol_is_refused_with_the_closest_listed_ones() {
        let err = resolve_listed_config(r#"["ETHUSD"]"#).err().unwrap();
        assert_eq!(
            err.to_string(),
            "source[0].symbols[0]: binance lists no spot instrument \"ETHUSD\"; closest: ETH-USDT (ETHUSDT), BAT-USD (BATUSD), BTC-USDT (BTCUSDT)"
        );
        let err = resolve_listed_config(r#"["BTCUSDT_PERP"]"#).err().unwrap();
        assert_eq!(
            err.to_string(),
            "source[0].symbols[0]: \"BTCUSDT_PERP\" is BTCUSDT_PERP (BTC-USDT-PERP), a perp instrument, but the source's market is spot"
        );
    }

    #[test]
    fn patterns_expand_within_the_bound() {
        let sources = resolve_listed_config(r#"["*-USDT"]"#).unwrap();
        let natives: Vec<&str> = sources[0]
            .request
            .symbols
            .iter()
            .map(|s| s.native.as_str())
            .collect();
        assert_eq!(natives, ["BTCUSDT", "ETHUSDT"]);
        let err = resolve_listed_config(r#"["*"]"#).err().unwrap();
        assert_eq!(
            err.to_string(),
            "source[0].symbols[0]: the pattern \"*\" matches 4 instruments, more than instruments.max_symbols = 3"
        );
        let err = resolve_listed_config(r#"["XRP-*"]"#).err().unwrap();
        assert!(
            err.to_string()
                .ends_with("the pattern \"XRP-*\" matches no trading spot instrument of binance"),
            "{err}"
        );
        // Without a list a pattern cannot be resolved.
        let text =
            "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"*-USDT\"]\n";
        let err = Config::parse(text, "t").unwrap().resolve().err().unwrap();
        assert!(err.to_string().contains("is a pattern"), "{err}");
    }

    #[test]
    fn instrument_options_are_checked() {
        let text = "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [\"BTC-USDT\"]\n[instruments]\non_unavailable = \"maybe\"\n";
        let err = Config::parse(text, "t").err().unwrap().to_string();
        assert!(
            err.contains("on_unavailable") || err.contains("unknown variant"),
            "{err}"
        );
        let zero = text.replace("on_unavailable = \"maybe\"", "max_symbols = 0");
        let err = Config::parse(&zero, "t").unwrap().resolve().err().unwrap();
        assert_eq!(
            err.to_string(),
            "instruments.max_symbols: must be at least 1"
        );
    }
}

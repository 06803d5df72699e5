//! `/metrics`: the [`OpsState`] in the Prometheus text exposition format (0.0.4).
//!
//! Written by hand (it is small): every family has `# HELP` and `# TYPE`, counters end
//! in `_total`, histograms have cumulative `_bucket{le}` series ending in `+Inf`, then
//! `_sum` and `_count`. Labels: `exchange` and `market` per source, `kind` per record
//! kind, `sink` per sink, `broker` per Kafka broker id; never a symbol (its
//! cardinality is the user's to choose, not the metrics'). The `process_*` families
//! follow Prometheus' process collector (see [`super::process`]).

use std::collections::BTreeMap;
use std::fmt::{Display, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tickbridge_connectors::stats::SourceStats;

use super::process::ProcessStats;
use super::OpsState;
use crate::pipeline::{Histogram, HistogramSnapshot, PipelineStats, LATENCY_BUCKETS};

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole exposition.
pub fn render(ops: &OpsState) -> String {
    let mut m = Text::default();
    let version = env!("CARGO_PKG_VERSION");

    m.family(
        "tickbridge_build_info",
        "gauge",
        "Build information; always 1.",
    );
    m.sample("tickbridge_build_info", &[("version", version)], 1);

    let ready = ops.is_ready();
    let draining = ops.draining.load(Relaxed);
    m.single(
        "tickbridge_ready",
        "gauge",
        "1 when /readyz answers 200.",
        ready as u8,
    );
    m.single(
        "tickbridge_draining",
        "gauge",
        "1 once shutdown began (readiness is false during the drain).",
        draining as u8,
    );

    // Sources, summed per exchange × market (two [[source]] entries may share both).
    let mut sources: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    {
        let list = ops.sources.lock().unwrap_or_else(|p| p.into_inner());
        for (label, stats) in list.iter() {
            let (exchange, market) = label.split_once(' ').unwrap_or((label.as_str(), ""));
            let row = sources
                .entry((exchange.to_string(), market.to_string()))
                .or_insert_with(|| vec![0; SOURCE_COUNTERS.len() + PARSE_ERRORS.len()]);
            let reads = SOURCE_COUNTERS
                .iter()
                .map(|c| c.3)
                .chain(PARSE_ERRORS.iter().map(|p| p.1));
            for (cell, read) in row.iter_mut().zip(reads) {
                *cell += read(stats);
            }
        }
    }
    if let Some((standby, takeovers)) = ops.cluster.get() {
        m.single(
            "tickbridge_cluster_leader",
            "gauge",
            "1 while this replica publishes its shard (hot standby), 0 while it stands by.",
            u64::from(standby.leader.load(Relaxed)),
        );
        m.single(
            "tickbridge_cluster_takeovers_total",
            "counter",
            "Times this replica became its shard's leader.",
            takeovers.load(Relaxed),
        );
        m.single(
            "tickbridge_cluster_standby_records",
            "gauge",
            "Records a standby keeps for its takeover.",
            standby.buffered.load(Relaxed),
        );
        m.single(
            "tickbridge_cluster_standby_discarded_total",
            "counter",
            "Records dropped from a full standby buffer (the oldest first).",
            standby.discarded.load(Relaxed),
        );
        m.single(
            "tickbridge_cluster_skipped_total",
            "counter",
            "Records a takeover did not publish because the previous leader had.",
            standby.skipped.load(Relaxed),
        );
    }
    m.single(
        "tickbridge_connections_planned",
        "gauge",
        "WebSocket connections the plan opens (all must be subscribed for readiness).",
        ops.planned_connections.load(Relaxed),
    );
    for (i, (name, kind, help, _)) in SOURCE_COUNTERS.iter().enumerate() {
        m.family(name, kind, help);
        for ((exchange, market), row) in &sources {
            m.sample(name, &[("exchange", exchange), ("market", market)], row[i]);
        }
    }
    let name = "tickbridge_parse_errors_total";
    m.family(
        name,
        "counter",
        "Frames (or REST answers) that could not be used, by error: malformed, invalid, other.",
    );
    for ((exchange, market), row) in &sources {
        for (j, (error, _)) in PARSE_ERRORS.iter().enumerate() {
            let labels = [
                ("exchange", exchange.as_str()),
                ("market", market),
                ("error", error),
            ];
            m.sample(name, &labels, row[SOURCE_COUNTERS.len() + j]);
        }
    }

    // Records by exchange × market × kind as they enter the pipeline: every kind of
    // each configured source (zeros included, so rates start at the first scrape),
    // plus any other non-zero cell. `tickbridge_records_received_total` is the old
    // name of the same series (deprecated; removed in the next release).
    let by_kind: Vec<_> = ops
        .pipeline
        .records_by_kind
        .snapshot()
        .into_iter()
        .filter(|(exchange, market, _, n)| {
            *n > 0 || sources.contains_key(&(exchange.to_string(), market.as_str().to_string()))
        })
        .collect();
    for (name, help) in [
        (
            "tickbridge_records_batched_total",
            "Records (data and status) taken from the queue into batches for the sink, by exchange, market and kind.",
        ),
        (
            "tickbridge_records_received_total",
            "Deprecated: renamed tickbridge_records_batched_total (same values); removed in the next release.",
        ),
    ] {
        m.family(name, "counter", help);
        for (exchange, market, kind, n) in &by_kind {
            let labels = [
                ("exchange", *exchange),
                ("market", market.as_str()),
                ("kind", kind.as_str()),
            ];
            m.sample(name, &labels, n);
        }
    }

    // Freshness and exchange lag, from the records entering the pipeline.
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let name = "tickbridge_source_last_record_age_seconds";
    m.family(
        name,
        "gauge",
        "Seconds since the receive time (ts_recv) of the last record of this exchange, market and kind that entered the pipeline (absent until the first one).",
    );
    for (exchange, market, kind, ts_recv) in ops.pipeline.records_by_kind.last_received() {
        let age = now_ns.saturating_sub(ts_recv).max(0) as f64 / 1e9;
        let labels = [
            ("exchange", exchange),
            ("market", market.as_str()),
            ("kind", kind.as_str()),
        ];
        m.sample(name, &labels, age);
    }
    let name = "tickbridge_exchange_lag_seconds";
    let mut lag_family = false;
    for (exchange, h) in ops.pipeline.records_by_kind.lag() {
        let configured = sources.keys().any(|(e, _)| e == exchange);
        if configured || h.count > 0 {
            if !lag_family {
                m.family(
                    name,
                    "histogram",
                    "Per record with an exchange timestamp: ts_recv - ts_exchange (an exchange clock ahead of ours counts as 0).",
                );
                lag_family = true;
            }
            let labels = [("exchange", exchange)];
            m.histogram_body(name, &labels, &h);
        }
    }

    let (depth, capacity) = ops.queue_depth();
    m.single(
        "tickbridge_queue_depth",
        "gauge",
        "Records waiting in the queue between the sources and the batcher.",
        depth,
    );
    m.single(
        "tickbridge_queue_capacity",
        "gauge",
        "Capacity of that queue ([queue] capacity).",
        capacity,
    );

    // Each sink and its acknowledgements (one label set per sink in every family).
    let mut sinks = ops.sinks();
    if sinks.is_empty() {
        // Before the sink is built: its counters at zero, not connected.
        sinks.push(super::SinkOps {
            name: "none".into(),
            stats: ops.pipeline.clone(),
            connected: Arc::new(|| false),
            counters: Arc::new(Vec::new),
            buffer_limit: None,
        });
    }
    sink_families(&mut m, &sinks);
    if let Some(process) = super::process::read() {
        process_families(&mut m, &process);
    }
    m.out
}

/// How long each sink has gone without an acknowledgement, and what its disk buffer
/// holds: the numbers that tell an outage the buffer absorbs from one that loses.
fn buffer_families(m: &mut Text, sinks: &[super::SinkOps]) {
    let now = tickbridge_connectors::time::now_ns();
    m.family(
        "tickbridge_sink_last_ack_age_seconds",
        "gauge",
        "Seconds since the sink last acknowledged a record (absent until its first).",
    );
    for s in sinks {
        let at = s.stats.last_ack_ns.load(Relaxed);
        if at > 0 {
            let age = now.saturating_sub(at).max(0) as f64 / 1e9;
            m.sample(
                "tickbridge_sink_last_ack_age_seconds",
                &[("sink", &s.name)],
                format!("{age:.3}"),
            );
        }
    }
    type Value = fn(&PipelineStats) -> u64;
    let gauges: [(&str, &str, Value); 3] = [
        (
            "tickbridge_buffer_bytes",
            "Bytes the sink's disk buffer holds on disk (0 with the memory buffer).",
            |p| p.buffer_bytes.load(Relaxed),
        ),
        (
            "tickbridge_buffer_records",
            "Records in the sink's disk buffer not acknowledged yet.",
            |p| p.buffer_records.load(Relaxed),
        ),
        (
            "tickbridge_buffer_recovered_records_total",
            "Records an earlier run left unacknowledged in the disk buffer, published by this one.",
            |p| p.recovered.load(Relaxed),
        ),
    ];
    for (name, help, value) in gauges {
        let kind = match name.ends_with("_total") {
            true => "counter",
            false => "gauge",
        };
        m.family(name, kind, help);
        for s in sinks {
            m.sample(name, &[("sink", &s.name)], value(&s.stats));
        }
    }
    m.family(
        "tickbridge_buffer_oldest_record_age_seconds",
        "gauge",
        "Age (from its ts_recv) of the oldest record in the sink's disk buffer; 0 when it holds none.",
    );
    for s in sinks {
        let ts = s.stats.buffer_oldest_ts_recv.load(Relaxed);
        let age = match ts {
            0 => 0.0,
            ts => now.saturating_sub(ts).max(0) as f64 / 1e9,
        };
        m.sample(
            "tickbridge_buffer_oldest_record_age_seconds",
            &[("sink", &s.name)],
            format!("{age:.3}"),
        );
    }
}

/// The sinks' families: acknowledgements, losses, transport counters, client
/// statistics and latencies, each family once with a sample per sink.
fn sink_families(m: &mut Text, sinks: &[super::SinkOps]) {
    m.family(
        "tickbridge_sink_connected",
        "gauge",
        "1 while the sink's transport is connected.",
    );
    for s in sinks {
        m.sample(
            "tickbridge_sink_connected",
            &[("sink", &s.name)],
            (s.connected)() as u8,
        );
    }
    type Value = fn(&PipelineStats) -> u64;
    let families: [(&str, &str, &str, Value); 6] = [
        (
            "tickbridge_batches_total",
            "counter",
            "Batches handed to the sink.",
            |p| p.batches.load(Relaxed),
        ),
        (
            "tickbridge_batches_in_flight",
            "gauge",
            "Batches handed to the sink and not yet acknowledged.",
            |p| p.batches_in_flight.load(Relaxed),
        ),
        (
            "tickbridge_records_acked_total",
            "counter",
            "Records the sink acknowledged (broker ack, or write + flush).",
            |p| p.delivered.load(Relaxed),
        ),
        (
            "tickbridge_records_failed_total",
            "counter",
            "Records whose delivery definitely failed (retries exhausted, no dead-letter target).",
            |p| p.failed.load(Relaxed),
        ),
        (
            "tickbridge_records_dead_lettered_total",
            "counter",
            "Records written to the dead-letter target after a terminal error.",
            |p| p.dead_lettered.load(Relaxed),
        ),
        (
            "tickbridge_records_pending",
            "gauge",
            "Records taken from the queue and not yet settled (acked, dead-lettered or failed).",
            |p| {
                (p.received.load(Relaxed) + p.recovered.load(Relaxed)).saturating_sub(
                    p.delivered.load(Relaxed)
                        + p.dead_lettered.load(Relaxed)
                        + p.failed.load(Relaxed),
                )
            },
        ),
    ];
    for (name, kind, help, value) in families {
        m.family(name, kind, help);
        for s in sinks {
            m.sample(name, &[("sink", &s.name)], value(&s.stats));
        }
    }
    buffer_families(m, sinks);
    m.family(
        "tickbridge_records_lost_total",
        "counter",
        "Records not delivered, by where they were: failed after the sink's retries, dropped from a full queue (when_full = drop_oldest), or at the drain deadline still in the queue, in the batcher or in flight.",
    );
    for s in sinks {
        let p = &s.stats;
        for (stage, value) in [
            ("failed", p.failed.load(Relaxed)),
            ("queue", p.lost_queue.load(Relaxed)),
            ("batcher", p.lost_batcher.load(Relaxed)),
            ("in_flight", p.lost_in_flight.load(Relaxed)),
            ("dropped", p.lost_dropped.load(Relaxed)),
        ] {
            m.sample(
                "tickbridge_records_lost_total",
                &[("sink", &s.name), ("stage", stage)],
                value,
            );
        }
    }
    // A sink's own queue exists when records fan out to several sinks.
    let own: Vec<(&str, (u64, u64))> = sinks
        .iter()
        .filter_map(|s| s.stats.own_queue_depth().map(|d| (s.name.as_str(), d)))
        .collect();
    if !own.is_empty() {
        type Pick = fn((u64, u64)) -> u64;
        let gauges: [(&str, &str, Pick); 2] = [
            (
                "tickbridge_sink_queue_depth",
                "Records waiting in the sink's own queue (several sinks: every record is copied into each sink's queue).",
                |(depth, _)| depth,
            ),
            (
                "tickbridge_sink_queue_capacity",
                "Capacity of the sink's own queue ([sink.queue] capacity, else [queue] capacity).",
                |(_, capacity)| capacity,
            ),
        ];
        for (name, help, pick) in gauges {
            m.family(name, "gauge", help);
            for (sink, depth) in &own {
                m.sample(name, &[("sink", sink)], pick(*depth));
            }
        }
    }
    // The sinks' own values: counters by their `_total` name, gauges otherwise; a
    // family shared by several sinks is written once.
    let counters: Vec<(&str, Vec<crate::sinks::SinkCounter>)> = sinks
        .iter()
        .map(|s| (s.name.as_str(), (s.counters)()))
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for (i, (_, list)) in counters.iter().enumerate() {
        for c in list {
            if seen.contains(&c.name) {
                continue;
            }
            seen.push(c.name);
            let kind = if c.name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            m.family(c.name, kind, c.help);
            for (sink, others) in &counters[i..] {
                if let Some(same) = others.iter().find(|o| o.name == c.name) {
                    m.sample(c.name, &[("sink", sink)], same.value);
                }
            }
        }
    }
    // The sinks' client libraries' statistics (librdkafka), labelled by sink.
    let families: Vec<(&str, Vec<super::client_stats::Family>)> = sinks
        .iter()
        .map(|s| (s.name.as_str(), super::client_stats::families(&s.name)))
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for (i, (_, list)) in families.iter().enumerate() {
        for family in list {
            if family.samples.is_empty() || seen.contains(&family.name) {
                continue;
            }
            seen.push(family.name);
            m.family(family.name, family.kind, family.help);
            for (sink, others) in &families[i..] {
                for same in others.iter().filter(|f| f.name == family.name) {
                    for (labels, value) in &same.samples {
                        let mut all = vec![("sink", *sink)];
                        all.extend(labels.iter().map(|(k, v)| (*k, v.as_str())));
                        m.sample(family.name, &all, value);
                    }
                }
            }
        }
    }
    type Latency = fn(&PipelineStats) -> &Histogram;
    let latencies: [(&str, &str, Latency); 2] = [
        (
            "tickbridge_batch_ack_latency_seconds",
            "From handing a batch to the sink to its last acknowledgement.",
            |p| &p.batch_ack_latency,
        ),
        (
            "tickbridge_receive_to_ack_latency_seconds",
            "From a record's receive time (ts_recv) to the acknowledgement of its batch, per record.",
            |p| &p.receive_to_ack_latency,
        ),
    ];
    for (name, help, histogram) in latencies {
        m.family(name, "histogram", help);
        for s in sinks {
            m.histogram_body(name, &[("sink", &s.name)], &histogram(&s.stats).snapshot());
        }
    }
}

/// The `process_*` families, named as Prometheus' process collector names them.
fn process_families(m: &mut Text, p: &ProcessStats) {
    m.single(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        p.cpu_seconds,
    );
    m.single(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        p.open_fds,
    );
    if let Some(max) = p.max_fds {
        m.single(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max,
        );
    }
    m.single(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        p.virtual_memory_bytes,
    );
    m.single(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        p.resident_memory_bytes,
    );
    m.single(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        p.start_time_seconds,
    );
}

type Read = fn(&SourceStats) -> u64;

/// Per-source series: name, type, help, and how to read it.
const SOURCE_COUNTERS: [(&str, &str, &str, Read); 23] = [
    (
        "tickbridge_connections_subscribed",
        "gauge",
        "Connections currently open and subscribed.",
        |s| SourceStats::get(&s.subscribed_connections),
    ),
    (
        "tickbridge_connections_stale",
        "gauge",
        "Subscribed connections currently stale: no data past the watchdog window (readiness is false while above 0).",
        |s| SourceStats::get(&s.stale_connections),
    ),
    (
        "tickbridge_frames_received_total",
        "counter",
        "Text frames received from the exchange.",
        |s| SourceStats::get(&s.frames),
    ),
    (
        "tickbridge_bytes_received_total",
        "counter",
        "Bytes of the text frames received from the exchange.",
        |s| SourceStats::get(&s.bytes),
    ),
    (
        "tickbridge_source_records_total",
        "counter",
        "Data records the source's sessions parsed from the exchange's frames and forwarded into the queue (status records: tickbridge_status_records_total; as the pipeline takes them: tickbridge_records_batched_total).",
        |s| SourceStats::get(&s.records),
    ),
    (
        "tickbridge_status_records_total",
        "counter",
        "Status records (connected, subscribed, stale, gap, ...) the sessions forwarded.",
        |s| SourceStats::get(&s.status_records),
    ),
    (
        "tickbridge_unknown_frames_total",
        "counter",
        "Frames of a type the connector does not know.",
        |s| SourceStats::get(&s.unknown_frames),
    ),
    (
        "tickbridge_binary_frames_total",
        "counter",
        "Binary frames skipped (the exchanges send text).",
        |s| SourceStats::get(&s.binary_frames),
    ),
    (
        "tickbridge_oversized_frames_total",
        "counter",
        "Frames above [connection] max_frame_bytes.",
        |s| SourceStats::get(&s.oversized_frames),
    ),
    (
        "tickbridge_connects_total",
        "counter",
        "WebSocket connections established.",
        |s| SourceStats::get(&s.connects),
    ),
    (
        "tickbridge_connect_failures_total",
        "counter",
        "Connection attempts that failed (refused, timed out, handshake error).",
        |s| SourceStats::get(&s.connect_failures),
    ),
    (
        "tickbridge_connect_throttled_total",
        "counter",
        "Connection attempts delayed by the exchange's connection-attempt limit.",
        |s| SourceStats::get(&s.connect_throttled),
    ),
    (
        "tickbridge_reconnects_total",
        "counter",
        "Connections lost and re-opened (rotations not counted).",
        |s| SourceStats::get(&s.reconnects),
    ),
    (
        "tickbridge_rotations_total",
        "counter",
        "Planned rotations before an exchange's forced disconnect.",
        |s| SourceStats::get(&s.rotations),
    ),
    (
        "tickbridge_duplicates_dropped_total",
        "counter",
        "Records received on both connections of a rotation's overlap (one copy dropped).",
        |s| SourceStats::get(&s.duplicates_dropped),
    ),
    (
        "tickbridge_stale_total",
        "counter",
        "Stale periods: no data within the watchdog window.",
        |s| SourceStats::get(&s.stale),
    ),
    (
        "tickbridge_pong_timeouts_total",
        "counter",
        "Connections ended because a ping went unanswered.",
        |s| SourceStats::get(&s.pong_timeouts),
    ),
    (
        "tickbridge_idle_timeouts_total",
        "counter",
        "Connections ended because no frame arrived within the idle timeout.",
        |s| SourceStats::get(&s.idle_timeouts),
    ),
    (
        "tickbridge_subscribe_timeouts_total",
        "counter",
        "Connections whose subscription was not confirmed in time.",
        |s| SourceStats::get(&s.subscribe_timeouts),
    ),
    (
        "tickbridge_unexpected_closes_total",
        "counter",
        "Close frames from the exchange with a code other than 1000/1001.",
        |s| SourceStats::get(&s.unexpected_closes),
    ),
    (
        "tickbridge_gaps_total",
        "counter",
        "Sequence or checksum gaps announced downstream (status gap).",
        |s| SourceStats::get(&s.gaps),
    ),
    (
        "tickbridge_book_snapshot_failures_total",
        "counter",
        "Order-book snapshots that could not be had: REST requests failed after retries (HTTP error, timeout, rate limit) or answers unusable.",
        |s| SourceStats::get(&s.snapshot_failures),
    ),
    (
        "tickbridge_subscriptions_rejected_total",
        "counter",
        "Subscriptions the exchange refused.",
        |s| SourceStats::get(&s.rejected),
    ),
];

/// `tickbridge_parse_errors_total` by `error`: `malformed` (not JSON, wrong shape),
/// `invalid` (an unusable value), `other` (the rest, e.g. an unusable REST answer).
const PARSE_ERRORS: [(&str, Read); 3] = [
    ("malformed", |s| SourceStats::get(&s.parse_malformed)),
    ("invalid", |s| SourceStats::get(&s.parse_invalid)),
    ("other", |s| {
        SourceStats::get(&s.parse_errors).saturating_sub(
            SourceStats::get(&s.parse_malformed) + SourceStats::get(&s.parse_invalid),
        )
    }),
];

/// The text being written.
#[derive(Default)]
struct Text {
    out: String,
}

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A histogram's series without HELP/TYPE (one of several label sets of a family).
    fn histogram_body(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        for (i, n) in h.cumulative.iter().enumerate() {
            let le = match LATENCY_BUCKETS.get(i) {
                Some(bound) => bound.to_string(),
                None => "+Inf".to_string(),
            };
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, n);
        }
        self.sample(&format!("{name}_sum"), labels, h.sum_seconds);
        self.sample(&format!("{name}_count"), labels, h.count);
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn renders_every_family_with_help_and_type() {
        let ops = OpsState::default();
        let stats = Arc::new(SourceStats::default());
        SourceStats::add(&stats.frames, 3);
        ops.sources
            .lock()
            .unwrap()
            .push(("binance spot".into(), stats.clone()));
        ops.sources
            .lock()
            .unwrap()
            .push(("binance spot".into(), stats));
        ops.pipeline.batch_ack_latency.observe_ns(2_000_000);
        let text = render(&ops);
        assert!(text.contains("tickbridge_build_info{version=\""), "{text}");
        // Two sources of the same exchange × market are one series.
        assert!(
            text.contains(
                "\ntickbridge_frames_received_total{exchange=\"binance\",market=\"spot\"} 6\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "tickbridge_records_received_total{exchange=\"binance\",market=\"spot\",kind=\"status\"} 0\n"
        ));
        assert!(text.contains(
            "\ntickbridge_book_snapshot_failures_total{exchange=\"binance\",market=\"spot\"} 0\n"
        ));
        assert!(text.contains("# TYPE tickbridge_book_snapshot_failures_total counter\n"));
        assert!(text
            .contains("\ntickbridge_connections_stale{exchange=\"binance\",market=\"spot\"} 0\n"));
        assert!(text.contains("# TYPE tickbridge_connections_stale gauge\n"));
        assert!(text.contains(
            "tickbridge_batch_ack_latency_seconds_bucket{sink=\"none\",le=\"0.0025\"} 1\n"
        ));
        assert!(text.contains(
            "tickbridge_batch_ack_latency_seconds_bucket{sink=\"none\",le=\"+Inf\"} 1\n"
        ));
        assert!(text.contains("tickbridge_batch_ack_latency_seconds_count{sink=\"none\"} 1\n"));
        // Every sample line follows its family's TYPE line.
        let mut family = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap().to_string();
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(name.starts_with(&family), "{name} outside {family}");
            }
        }
    }

    #[test]
    fn process_families_are_the_prometheus_collector_lines() {
        let mut m = Text::default();
        process_families(
            &mut m,
            &ProcessStats {
                cpu_seconds: 18.01,
                resident_memory_bytes: 33554432,
                virtual_memory_bytes: 1064960000,
                open_fds: 12,
                max_fds: Some(1024),
                start_time_seconds: 1700001580.5,
            },
        );
        assert_eq!(
            m.out,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total 18.01\n\
             # HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\n\
             process_open_fds 12\n\
             # HELP process_max_fds Maximum number of open file descriptors.\n\
             # TYPE process_max_fds gauge\n\
             process_max_fds 1024\n\
             # HELP process_virtual_memory_bytes Virtual memory size in bytes.\n\
             # TYPE process_virtual_memory_bytes gauge\n\
             process_virtual_memory_bytes 1064960000\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes 33554432\n\
             # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds 1700001580.5\n"
        );
        // The real exposition carries them (Linux).
        if cfg!(target_os = "linux") {
            let text = render(&OpsState::default());
            assert!(text.contains("\n# TYPE process_resident_memory_bytes gauge\n"));
        }
    }

    #[test]
    fn freshness_lag_and_renamed_record_counts() {
        let ops = OpsState::default();
        ops.sources
            .lock()
            .unwrap()
            .push(("coinbase spot".into(), Arc::new(SourceStats::default())));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        let mut r: tickbridge_schema::Record = serde_json::from_str(
            r#"{"v":1,"kind":"trade","exchange":"coinbase","market":"spot","symbol":"BTC-USD","native":"BTC-USD",
                "ts_exchange":1,"ts_recv":2,"seq":0,"id":"x","price":"1","size":"1","side":"sell","trade_id":"0"}"#,
        )
        .unwrap();
        r.ts_recv = now;
        r.ts_exchange = Some(now - 7_000_000); // 7 ms
        ops.pipeline.records_by_kind.count(&r);
        let text = render(&ops);
        let labels = "exchange=\"coinbase\",market=\"spot\",kind=\"trade\"";
        assert!(text.contains(&format!(
            "\ntickbridge_records_batched_total{{{labels}}} 1\n"
        )));
        assert!(text.contains(&format!(
            "\ntickbridge_records_received_total{{{labels}}} 1\n"
        )));
        assert!(text.contains(
            "\n# HELP tickbridge_records_received_total Deprecated: renamed tickbridge_records_batched_total (same values); removed in the next release.\n\
             # TYPE tickbridge_records_received_total counter\n"
        ));
        // Age: one sample, for the one cell that saw a record, and small.
        let ages: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("tickbridge_source_last_record_age_seconds{"))
            .collect();
        assert_eq!(ages.len(), 1, "{ages:?}");
        let (series, age) = ages[0].rsplit_once(' ').unwrap();
        assert_eq!(
            series,
            format!("tickbridge_source_last_record_age_seconds{{{labels}}}")
        );
        let age: f64 = age.parse().unwrap();
        assert!((0.0..5.0).contains(&age), "{age}");
        // The lag histogram of the configured exchange (only): 7 ms is in le="0.01".
        for line in [
            "\n# TYPE tickbridge_exchange_lag_seconds histogram\n",
            "\ntickbridge_exchange_lag_seconds_bucket{exchange=\"coinbase\",le=\"0.005\"} 0\n",
            "\ntickbridge_exchange_lag_seconds_bucket{exchange=\"coinbase\",le=\"0.01\"} 1\n",
            "\ntickbridge_exchange_lag_seconds_bucket{exchange=\"coinbase\",le=\"+Inf\"} 1\n",
            "\ntickbridge_exchange_lag_seconds_sum{exchange=\"coinbase\"} 0.007\n",
            "\ntickbridge_exchange_lag_seconds_count{exchange=\"coinbase\"} 1\n",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(!text.contains("tickbridge_exchange_lag_seconds_count{exchange=\"binance\"}"));
    }

    #[test]
    fn sink_values_are_typed_by_name_and_client_stats_labelled_by_sink() {
        let ops = OpsState::default();
        ops.add_sink(crate::ops::SinkOps {
            name: "metrics-test-sink".into(),
            stats: Arc::default(),
            connected: Arc::new(|| true),
            buffer_limit: None,
            counters: Arc::new(|| {
                vec![
                    crate::sinks::SinkCounter {
                        name: "tickbridge_test_reconnects_total",
                        help: "A counter.",
                        value: 2,
                    },
                    crate::sinks::SinkCounter {
                        name: "tickbridge_test_pending",
                        help: "A gauge.",
                        value: 5,
                    },
                ]
            }),
        });
        let reader: Arc<super::super::client_stats::Reader> = Arc::new(|| {
            vec![super::super::client_stats::Family {
                name: "tickbridge_test_broker_rtt_avg_seconds",
                kind: "gauge",
                help: "RTT.",
                samples: vec![
                    (vec![("broker", "1".to_string())], 0.00025),
                    (vec![("broker", "2".to_string())], 0.0),
                ],
            }]
        });
        super::super::client_stats::register("metrics-test-sink", &reader);
        let text = render(&ops);
        assert!(text.contains(
            "# TYPE tickbridge_test_reconnects_total counter\n\
             tickbridge_test_reconnects_total{sink=\"metrics-test-sink\"} 2\n"
        ));
        assert!(text.contains(
            "# TYPE tickbridge_test_pending gauge\n\
             tickbridge_test_pending{sink=\"metrics-test-sink\"} 5\n"
        ));
        assert!(text.contains(
            "# HELP tickbridge_test_broker_rtt_avg_seconds RTT.\n\
             # TYPE tickbridge_test_broker_rtt_avg_seconds gauge\n\
             tickbridge_test_broker_rtt_avg_seconds{sink=\"metrics-test-sink\",broker=\"1\"} 0.00025\n\
             tickbridge_test_broker_rtt_avg_seconds{sink=\"metrics-test-sink\",broker=\"2\"} 0\n"
        ));
    }

    /// With two sinks every family is written once, with a sample per sink.
    #[test]
    fn two_sinks_share_each_family() {
        let ops = OpsState::default();
        for (name, acked) in [("main", 3), ("archive", 5)] {
            let stats = Arc::new(PipelineStats::default());
            stats.delivered.store(acked, Relaxed);
            ops.add_sink(crate::ops::SinkOps {
                name: name.into(),
                stats,
                connected: Arc::new(|| true),
                buffer_limit: None,
                counters: Arc::new(|| {
                    vec![crate::sinks::SinkCounter {
                        name: "tickbridge_sink_outages_total",
                        help: "Outages.",
                        value: 1,
                    }]
                }),
            });
        }
        let text = render(&ops);
        for family in [
            "tickbridge_records_acked_total",
            "tickbridge_sink_outages_total",
            "tickbridge_receive_to_ack_latency_seconds",
        ] {
            assert_eq!(
                text.matches(&format!("# TYPE {family} ")).count(),
                1,
                "{family}\n{text}"
            );
        }
        assert!(text.contains(
            "tickbridge_records_acked_total{sink=\"main\"} 3\n\
             tickbridge_records_acked_total{sink=\"archive\"} 5\n"
        ));
        assert!(text.contains(
            "tickbridge_sink_outages_total{sink=\"main\"} 1\n\
             tickbridge_sink_outages_total{sink=\"archive\"} 1\n"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

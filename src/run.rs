//! `tickbridge run`: wires sources, the pipeline and the sink together, and performs
//! the structured shutdown of docs/architecture.md ("Delivery and shutdown"):
//!
//! 1. readiness turns false;
//! 2. sources stop (each session sends a Close frame and drops its sender);
//! 3. the batcher flushes its partial batch when the queue closes;
//! 4. the publisher awaits every in-flight acknowledgement and closes the sink;
//! 5. one summary line: received, delivered, dead-lettered, lost.
//!
//! The whole drain is bounded by `drain_timeout`. Every task is spawned on one
//! `TaskTracker` and joined. At the deadline the pipeline stops waiting and counts
//! every record not acknowledged as lost where it was (queue, batcher, in flight),
//! then the tasks are joined within [`JOIN_AFTER_DEADLINE`]; the process exits
//! non-zero. The summary's `received = delivered + dead_lettered + lost` holds in every
//! case.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tickbridge_connectors::session::{Backoff, FrameTap, Session, SessionSpec};
use tickbridge_connectors::stats::SourceStats;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::{BufferKind, Config, ResolvedSource};
use crate::ops::http::OpsServer;
use crate::ops::{OpsState, SinkOps};
use crate::pipeline::{self, PipelineStats, Summary};
use crate::sinks::{self, SinkError};

/// How long the tasks get to end after the drain deadline (the pipeline counting its
/// losses, sessions closing their sockets) before the process exits regardless.
pub const JOIN_AFTER_DEADLINE: Duration = Duration::from_secs(5);

/// Why a run failed before or during its drain.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("drain did not finish within {0:?}")]
    DrainTimeout(Duration),
    #[error("sink {sink}: {error}")]
    Buffer {
        sink: String,
        error: pipeline::disk_buffer::BufferError,
    },
    #[error(transparent)]
    Leadership(#[from] crate::cluster::LeadershipError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("ops server: cannot listen on {listen:?} ([ops] listen; empty disables it): {error}")]
    Ops {
        listen: String,
        error: std::io::Error,
    },
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// Each sink's name and summary, in config order (one with one `[sink]`).
    pub sinks: Vec<(String, Summary)>,
    /// False when the drain timed out or a sink failed to close.
    pub clean: bool,
}

impl Outcome {
    /// Records lost by any sink.
    pub fn lost(&self) -> u64 {
        self.sinks.iter().map(|(_, s)| s.lost).sum()
    }
}

/// Extra hooks for commands built on `run` (`record`, `demo`, tests).
#[derive(Default, Clone)]
pub struct Hooks {
    /// A frame tap per source index (the `record` command).
    pub taps: Vec<Option<Arc<dyn FrameTap>>>,
}

/// Runs until `shutdown` is cancelled, then drains.
///
/// The ops HTTP server (`[ops] listen`) answers for the whole run: before the sink
/// connects, while running, and during the drain (`/readyz` 503); it stops after the
/// drain and is joined. The run loop's heartbeat (`/healthz`) beats next to the bridge.
pub async fn run(
    config: &Config,
    sources: Vec<ResolvedSource>,
    ops: Arc<OpsState>,
    hooks: Hooks,
    shutdown: CancellationToken,
) -> Result<Outcome, RunError> {
    ops.beat();
    let server = OpsServer::bind(&config.ops.listen)
        .await
        .map_err(|error| RunError::Ops {
            listen: config.ops.listen.clone(),
            error,
        })?;
    let ops_tasks = TaskTracker::new();
    let stop_ops = CancellationToken::new();
    if let Some(server) = server {
        let addr = server.addr();
        info!(%addr, "ops listening on {addr}");
        ops_tasks.spawn(server.serve(ops.clone(), stop_ops.clone()));
    }
    ops_tasks.close();
    let outcome = tokio::select! {
        outcome = bridge(config, sources, ops.clone(), hooks, shutdown) => outcome,
        never = crate::ops::heartbeat(&ops) => match never {},
    };
    stop_ops.cancel();
    ops_tasks.wait().await;
    outcome
}

/// The longest the sources wait for the sink's first connection before they start.
const SINK_START_WAIT: Duration = Duration::from_secs(5);

/// Lets the sink connect before the sources subscribe (a Kafka producer needs its
/// broker connection and ProducerId, 0.2–0.6 s): records then flow at once instead
/// of queueing behind the sink's start. A sink still unconnected after
/// [`SINK_START_WAIT`] does not hold the sources back any longer: its own gate (and
/// readiness) handles the outage.
async fn wait_for_sink(sink: &dyn sinks::Sink, shutdown: &CancellationToken) {
    if sink.is_connected() {
        return;
    }
    let started = tokio::time::Instant::now();
    let deadline = started + SINK_START_WAIT;
    while !sink.is_connected() && !shutdown.is_cancelled() {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            _ = shutdown.cancelled() => {}
        }
    }
    let waited_ms = started.elapsed().as_millis() as u64;
    if sink.is_connected() {
        info!(
            sink = sink.name(),
            waited_ms, "sink connected; starting the sources"
        );
    } else {
        warn!(
            sink = sink.name(),
            waited_ms,
            "sink not connected yet; starting the sources anyway (records wait in the queue until it is)"
        );
    }
}

/// Joins the shard's leadership group and builds the standby gate (`crate::cluster`):
/// the tails it reads on a takeover are the sink's topics of every symbol and kind
/// this replica publishes. Its counters join the sink's on `/metrics`.
async fn standby_gate(
    config: &Config,
    standby: &crate::config::cluster::Standby,
    sources: &[ResolvedSource],
    lane: &pipeline::Lane,
    ops: &Arc<OpsState>,
    tracker: &TaskTracker,
    stop: CancellationToken,
) -> Result<crate::cluster::GateSpec, RunError> {
    use crate::cluster::{GateSpec, Leadership, ShardSymbol, StandbyStats, TailReader};
    let sink = &config.sinks[0];
    let client = sinks::kafka::group_client_config(sink)?;
    let index = config.shard()?.map_or(0, |s| s.index);
    let template = sinks::kafka::topic::TopicTemplate::parse_topic(
        &sink.kafka.topic,
        sink.kafka.symbol_topics,
    )
    .map_err(|e| SinkError::Setup {
        sink: "kafka",
        message: format!("sink.kafka.topic: {e}"),
    })?;
    let kinds = produced_kinds(config);
    let mut topics = Vec::new();
    let mut symbols = Vec::new();
    for s in sources {
        let exchange = s.connector.name();
        for sym in &s.request.symbols {
            symbols.push(ShardSymbol {
                exchange: exchange.into(),
                market: s.request.market,
                symbol: sym.symbol.clone(),
                native: sym.native.clone(),
            });
            for kind in kinds
                .iter()
                .filter(|k| **k != tickbridge_schema::Kind::Status)
            {
                let topic = template.render_parts(
                    kind.as_str(),
                    exchange,
                    s.request.market.as_str(),
                    &sym.symbol,
                );
                if !topics.contains(&topic) {
                    topics.push(topic);
                }
            }
        }
    }
    // Last, as nothing after it may fail: joining starts the group's polling thread,
    // which only `stop` ends.
    let leadership = Leadership::join(
        client.clone(),
        standby.topic(),
        standby.group_id(index),
        tracker,
        stop,
    )
    .await?;
    let stats = Arc::new(StandbyStats::default());
    ops.add_cluster(stats.clone(), leadership.takeovers.clone());
    Ok(GateSpec {
        leadership,
        tail: Arc::new(TailReader {
            client,
            topics,
            depth: standby.buffer.min(TAIL_DEPTH) as i64,
        }),
        capacity: standby.buffer,
        stats,
        pipeline: lane.stats.clone(),
        shard: format!("shard {index} of group {}", standby.group),
        symbols,
    })
}

/// The most messages per partition a takeover reads back.
const TAIL_DEPTH: usize = 50_000;

/// The record kinds the configured sources publish: their channels, plus the
/// instrument and status records every source publishes.
fn produced_kinds(config: &Config) -> Vec<tickbridge_schema::Kind> {
    use tickbridge_schema::Kind;
    let mut kinds = vec![Kind::Instrument, Kind::Status];
    for source in &config.sources {
        for channel in &source.channels {
            if let Some(kind) = Kind::parse(channel) {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
    }
    kinds
}

/// The bridge itself: sources, pipeline, sink; then the drain.
async fn bridge(
    config: &Config,
    sources: Vec<ResolvedSource>,
    ops: Arc<OpsState>,
    hooks: Hooks,
    shutdown: CancellationToken,
) -> Result<Outcome, RunError> {
    let kinds = produced_kinds(config);
    let mut lanes = Vec::with_capacity(config.sinks.len());
    for (i, sink_config) in config.sinks.iter().enumerate() {
        let buffer_config = config.buffer_of(i);
        let durable = buffer_config.kind == BufferKind::Disk;
        let sink = sinks::build(sink_config, &kinds, durable).await?;
        // The first sink's counters are the ones the freshness metrics read.
        let stats: Arc<PipelineStats> = match i {
            0 => ops.pipeline.clone(),
            _ => Arc::default(),
        };
        let buffer = match buffer_config.kind {
            BufferKind::Memory => None,
            BufferKind::Disk => {
                let (log, recovered) =
                    pipeline::disk_buffer::open(&buffer_config, &sink_config.name).map_err(
                        |error| RunError::Buffer {
                            sink: sink_config.name.clone(),
                            error,
                        },
                    )?;
                stats.recovered.store(recovered.records, Relaxed);
                Some(pipeline::DiskBuffer {
                    config: buffer_config,
                    log,
                })
            }
        };
        let mut sink_ops = SinkOps::of(&sink_config.name, sink.clone(), stats.clone());
        if let Some(buffer) = buffer.as_ref().filter(|b| b.config.ready_while_buffering) {
            sink_ops = sink_ops.absorbing_outages(buffer.config.max_bytes);
        }
        ops.add_sink(sink_ops);
        lanes.push(pipeline::Lane {
            sink,
            config: sink_config.clone(),
            queue: config.queue_of(i).clone(),
            buffer,
            stats,
        });
    }
    for lane in &lanes {
        wait_for_sink(lane.sink.as_ref(), &shutdown).await;
    }
    // With one sink the sources' queue is its queue; with several it only hands
    // records to the fan-out stage, which copies them into each sink's own queue.
    let capacity = match lanes.len() {
        1 => lanes[0].queue.capacity,
        _ => config.queue.capacity,
    };
    let (tx, rx) = mpsc::channel(capacity);
    let tracker = TaskTracker::new();
    let stop_sources = CancellationToken::new();
    // The drain deadline: the pipeline then stops waiting and counts its losses.
    let deadline = CancellationToken::new();
    // Hot standby: the leadership group is left only once the pipeline has drained,
    // so a standby's takeover reads everything this replica published.
    let stop_leadership = CancellationToken::new();
    let rx = match config.standby()? {
        None => {
            let _ = ops.queue.set(tx.downgrade());
            rx
        }
        Some(standby) => {
            let (gate_tx, gate_rx) = mpsc::channel(capacity);
            let _ = ops.queue.set(gate_tx.downgrade());
            let spec = standby_gate(
                config,
                &standby,
                &sources,
                &lanes[0],
                &ops,
                &tracker,
                stop_leadership.clone(),
            )
            .await?;
            tracker.spawn(crate::cluster::gate(rx, gate_tx, spec, deadline.clone()));
            gate_rx
        }
    };

    let mut planned = 0u64;
    for (i, source) in sources.into_iter().enumerate() {
        let source_stats = Arc::new(SourceStats::default());
        let label = format!(
            "{} {}",
            source.connector.name(),
            source.request.market.as_str()
        );
        ops.sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((label, source_stats.clone()));
        let tap = hooks.taps.get(i).cloned().flatten();
        if !source.instruments.is_empty() {
            // The subscribed instruments' reference data, then its changes.
            let watch = crate::instruments::Watch {
                connector: source.connector,
                market: source.request.market,
                rest_url: source.request.rest_url.clone(),
                config: config.instruments.clone(),
                subscribed: source.instruments.clone(),
            };
            tracker.spawn(crate::instruments::publish_and_watch(
                watch,
                tx.clone(),
                stop_sources.clone(),
            ));
        }
        for (conn, plan) in source.plans.into_iter().enumerate() {
            planned += 1;
            let connector = source.connector;
            let parser_plan = plan.clone();
            let spec = SessionSpec {
                exchange: connector.name(),
                conn: conn as u64 + 1,
                plan,
                heartbeat: config.connection.heartbeat(connector.heartbeat()),
                limits: connector.limits(),
                backoff: Backoff {
                    min: config.connection.reconnect_min,
                    max: config.connection.reconnect_max,
                },
                max_frame_bytes: config.connection.max_frame_bytes,
                binary: connector.binary_frames(),
                connect_timeout: config.connection.connect_timeout,
                rotation_overlap: config.connection.rotation_overlap,
            };
            let session = Session::new(
                spec,
                Box::new(move || connector.parser(&parser_plan)),
                tx.clone(),
                source_stats.clone(),
                tap.clone(),
            );
            tracker.spawn(session.run(stop_sources.clone()));
        }
    }
    ops.planned_connections.store(planned, Relaxed);
    // The sessions hold the only senders: the queue closes when the last one stops.
    drop(tx);

    let sink_stats: Vec<(String, Arc<PipelineStats>)> = lanes
        .iter()
        .map(|l| (l.config.name.clone(), l.stats.clone()))
        .collect();
    let pipeline = {
        let batch = config.batch.clone();
        let deadline = deadline.clone();
        tracker.spawn(async move { pipeline::run_all(rx, lanes, &batch, deadline).await })
    };
    tracker.close();

    shutdown.cancelled().await;
    ops.draining.store(true, Relaxed);
    let drain_timeout = config.shutdown.drain_timeout;
    info!(
        ?drain_timeout,
        "draining: stopping sources, flushing batches, awaiting acknowledgements"
    );
    stop_sources.cancel();

    let mut pipeline = pipeline;
    let drained = tokio::time::timeout(drain_timeout, async {
        let result = (&mut pipeline).await;
        stop_leadership.cancel();
        tracker.wait().await;
        result
    })
    .await;
    if drained.is_err() {
        // Past the deadline: the pipeline counts what it could not deliver, every
        // task gets a bounded moment to end (sources were told to stop at the start
        // of the drain), and whatever still runs is left to the process exit.
        deadline.cancel();
        stop_sources.cancel();
        stop_leadership.cancel();
        let joined = tokio::time::timeout(JOIN_AFTER_DEADLINE, async {
            let _ = (&mut pipeline).await;
            tracker.wait().await;
        })
        .await;
        if joined.is_err() {
            warn!(
                tasks = tracker.len(),
                "tasks still running after the drain deadline; exiting anyway"
            );
        }
    }
    let summaries: Vec<(String, Summary)> = sink_stats
        .iter()
        .map(|(name, stats)| (name.clone(), stats.summary()))
        .collect();
    for (label, source) in ops.sources.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let counters: std::collections::BTreeMap<&str, u64> =
            source.snapshot().into_iter().collect();
        info!(source = %label, counters = ?counters, "source counters");
    }
    let clean = match drained {
        Ok(Ok(results)) => {
            let mut clean = true;
            for ((name, _), result) in sink_stats.iter().zip(results) {
                if let Err(e) = result {
                    error!(sink = %name, error = %e, "sink failed to close cleanly");
                    clean = false;
                }
            }
            clean
        }
        Ok(Err(join)) => {
            error!(error = %join, "pipeline task failed");
            false
        }
        Err(_) => {
            for (name, summary) in &summaries {
                warn!(
                    ?drain_timeout,
                    sink = %name,
                    lost_queue = summary.lost_queue,
                    lost_batcher = summary.lost_batcher,
                    lost_in_flight = summary.lost_in_flight,
                    "drain timed out: records not acknowledged are counted as lost where they were"
                );
            }
            false
        }
    };
    Ok(Outcome {
        sinks: summaries,
        clean,
    })
}

/// Logs the shutdown summary: one line with one sink (`summary: received ...`), a
/// line per sink with several (`summary of sink NAME: received ...`); each line also
/// carries its numbers and the sink's name as fields.
pub fn log_summaries(sinks: &[(String, Summary)], clean: bool) {
    for (name, summary) in sinks {
        let head = match sinks.len() {
            1 => "summary".to_string(),
            _ => format!("summary of sink {name}"),
        };
        info!(
            sink = %name,
            received = summary.received,
            delivered = summary.delivered,
            dead_lettered = summary.dead_lettered,
            lost = summary.lost,
            lost_queue = summary.lost_queue,
            lost_batcher = summary.lost_batcher,
            lost_in_flight = summary.lost_in_flight,
            failed = summary.failed,
            dropped = summary.dropped,
            recovered = summary.recovered,
            kept = summary.kept,
            clean,
            "{head}: received {} delivered {} dead-lettered {} lost {} (queue {}, batcher {}, in flight {}, failed {}, dropped {}){}",
            summary.received,
            summary.delivered,
            summary.dead_lettered,
            summary.lost,
            summary.lost_queue,
            summary.lost_batcher,
            summary.lost_in_flight,
            summary.failed,
            summary.dropped,
            buffered(summary)
        );
    }
}

/// The disk buffer's part of a summary line (empty when it took no part).
fn buffered(summary: &Summary) -> String {
    match (summary.recovered, summary.kept) {
        (0, 0) => String::new(),
        (recovered, kept) => format!("; disk buffer: recovered {recovered} kept {kept}"),
    }
}

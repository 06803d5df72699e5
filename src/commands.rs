//! The CLI commands, each a plain function over the library.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tickbridge_connectors::session::FrameTap;
use tickbridge_schema::json_schema::{schema_file_text, schema_for};
use tickbridge_schema::Kind;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::capture::{Capture, CaptureWriter, Header};
use crate::config::{describe_plan, Config, Overrides, SinkKind};
use crate::instruments::SourceInstruments;
use crate::ops::OpsState;
use crate::replay::{self, Speed};
use crate::run::{self, log_summaries, Hooks};
use crate::signals::Signals;

/// `tickbridge run`; `sets` are the `--set PATH=VALUE` flags.
pub async fn run(config_path: Option<&Path>, sets: &[String]) -> anyhow::Result<ExitCode> {
    let overrides = Overrides::gather(sets)?;
    let config = Config::load_with(config_path, &overrides)?;
    let (sources, instruments) = resolve_with_instruments(&config).await?;
    for (i, s) in sources.iter().enumerate() {
        info!(
            exchange = s.connector.name(),
            market = s.request.market.as_str(),
            instruments = %instruments[i].describe(),
            symbols = s.request.symbols.len(),
            "symbols resolved"
        );
    }
    info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %config_path.map(|p| p.display().to_string()).unwrap_or_else(|| "embedded default".into()),
        // JSON text, so log consumers can parse them (not Rust debug strings).
        overrides = %serde_json::Value::from(overrides.iter().map(|o| o.to_string()).collect::<Vec<_>>()),
        sink = %config.sinks.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(","),
        ops = %config.ops.listen,
        plan = %serde_json::json!(describe_plan(&sources)),
        shard = %config
            .shard()?
            .map(|s| format!("{} of {}", s.index, s.replicas))
            .unwrap_or_else(|| "-".into()),
        "tickbridge starting"
    );
    let ops = Arc::new(OpsState::default());
    run_until_signal(&config, sources, ops, Hooks::default(), None).await
}

/// Runs the bridge until SIGTERM/SIGINT (or `stop` fires), drains, logs the summary.
/// A second signal during the drain exits at once.
async fn run_until_signal(
    config: &Config,
    sources: Vec<crate::config::ResolvedSource>,
    ops: Arc<OpsState>,
    hooks: Hooks,
    stop: Option<CancellationToken>,
) -> anyhow::Result<ExitCode> {
    let mut signals = Signals::new().context("installing signal handlers")?;
    let shutdown = CancellationToken::new();
    let stop = stop.unwrap_or_default();
    let bridge = run::run(config, sources, ops.clone(), hooks, shutdown.clone());
    tokio::pin!(bridge);
    let outcome = tokio::select! {
        outcome = &mut bridge => outcome?,
        name = signals.next() => {
            // Readiness turns false at once, before the sources stop.
            ops.draining.store(true, std::sync::atomic::Ordering::Relaxed);
            info!(signal = name, "shutdown requested");
            shutdown.cancel();
            tokio::select! {
                outcome = &mut bridge => outcome?,
                name = signals.next() => {
                    let summaries: Vec<_> = ops
                        .sinks()
                        .iter()
                        .map(|s| (s.name.clone(), s.stats.summary()))
                        .collect();
                    tracing::warn!(signal = name, "second signal: exiting without finishing the drain");
                    log_summaries(&summaries, false);
                    return Ok(ExitCode::from(130));
                }
            }
        }
        _ = stop.cancelled() => {
            shutdown.cancel();
            bridge.await?
        }
    };
    log_summaries(&outcome.sinks, outcome.clean);
    Ok(if outcome.clean && outcome.lost() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `tickbridge validate`; `sets` are the `--set PATH=VALUE` flags.
/// `tickbridge validate [--check]`: every check `run` makes before it connects; with
/// `check`, also connects to the sink's broker within that deadline.
pub async fn validate(
    config_path: Option<&Path>,
    sets: &[String],
    check: Option<std::time::Duration>,
) -> anyhow::Result<ExitCode> {
    let overrides = Overrides::gather(sets)?;
    let config = Config::load_with(config_path, &overrides)?;
    let (sources, instruments) = resolve_with_instruments(&config).await?;
    let mut sink_lines = Vec::new();
    for (i, sink) in config.sinks.iter().enumerate() {
        let lines = crate::sinks::preflight(sink)?;
        if config.sinks.len() > 1 {
            sink_lines.push(format!("sink[{i}] {} ({}):", sink.name, sink.kind.as_str()));
            sink_lines.extend(lines.into_iter().map(|l| format!("  {l}")));
        } else {
            sink_lines.extend(lines);
        }
    }
    match config.sinks.as_slice() {
        [one] => println!("config ok: sink {}", one.kind.as_str()),
        many => println!(
            "config ok: {} sinks (every record goes to each): {}",
            many.len(),
            many.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    if let Some(shard) = config.shard()? {
        let owned: usize = sources.iter().map(|s| s.request.symbols.len()).sum();
        println!(
            "cluster: replica {} of {} owns {owned} symbol(s) of this config (rendezvous hashing by exchange, market, symbol)",
            shard.index, shard.replicas
        );
    }
    if let Some(standby) = config.standby()? {
        let index = config.shard()?.map_or(0, |s| s.index);
        println!(
            "cluster: hot standby: leadership through consumer group {} on topic {}; a standby keeps the newest {} records",
            standby.group_id(index),
            standby.topic(),
            standby.buffer
        );
    }
    for line in sink_lines {
        println!("{line}");
    }
    for (i, s) in sources.iter().enumerate() {
        println!(
            "source[{i}] {} {}: {}",
            s.connector.name(),
            s.request.market.as_str(),
            instruments[i].describe()
        );
        for sym in &s.request.symbols {
            println!(
                "  {} -> {} ({})",
                sym.native,
                sym.symbol,
                sym.market.as_str()
            );
        }
    }
    for (source, connections) in describe_plan(&sources) {
        println!("{source}:");
        for c in connections {
            println!("  {c}");
        }
    }
    match config.ops.listen.as_str() {
        "" => println!("ops: disabled"),
        listen => println!("ops: listen {listen}"),
    }
    for o in overrides.iter() {
        println!("override: {o}");
    }
    match check {
        Some(timeout) => check_sink(&config, &sources, timeout).await,
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `validate --check`: connects to every configured Kafka sink's broker (in order;
/// the first failure ends the check). Exit codes: 3 unreachable, 4 refused (TLS or
/// authentication), 5 topics missing, 6 schema registry.
async fn check_sink(
    config: &Config,
    sources: &[crate::config::ResolvedSource],
    timeout: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    use crate::config::SinkKind;
    let several = config.sinks.len() > 1;
    for sink in &config.sinks {
        if sink.kind != SinkKind::Kafka {
            println!("check: sink {} has no broker to check", sink.name);
            continue;
        }
        if several {
            println!("check: sink {}", sink.name);
        }
        match check_kafka(sink, sources, timeout).await? {
            Ok(lines) => {
                for line in lines {
                    println!("{line}");
                }
            }
            Err(failure) => {
                println!("check failed: {failure}");
                return Ok(ExitCode::from(failure.exit_code()));
            }
        }
    }
    println!("check ok");
    Ok(ExitCode::SUCCESS)
}

/// One Kafka sink's broker (and schema registry) check.
async fn check_kafka(
    sink: &crate::config::SinkConfig,
    sources: &[crate::config::ResolvedSource],
    timeout: std::time::Duration,
) -> anyhow::Result<Result<Vec<String>, crate::sinks::kafka::check::CheckFailure>> {
    use crate::sinks::kafka::check;
    let kinds: Vec<check::SourceTopics> = sources
        .iter()
        .map(|s| {
            (
                s.connector.name().to_string(),
                s.request.market.as_str().to_string(),
                s.request
                    .channels
                    .iter()
                    .filter_map(|c| Kind::parse(c.as_str()).map(|k| k.as_str().to_string()))
                    .collect(),
                s.request
                    .symbols
                    .iter()
                    .map(|y| y.symbol.to_string())
                    .collect(),
            )
        })
        .collect();
    let kafka = &sink.kafka;
    let topics = check::topics_of(&kafka.topic, kafka.symbol_topics, &kinds)?;
    let config = sink.clone();
    let found = tokio::task::spawn_blocking(move || check::check(&config, &topics, timeout))
        .await
        .context("the broker check panicked")??;
    Ok(match found {
        Ok(mut lines) => match check::registry(sink, &kinds).await? {
            Ok(more) => {
                lines.extend(more);
                Ok(lines)
            }
            Err(failure) => Err(failure),
        },
        Err(failure) => Err(failure),
    })
}

/// Loads every source's instrument list, then resolves the config against them.
pub async fn resolve_with_instruments(
    config: &Config,
) -> anyhow::Result<(Vec<crate::config::ResolvedSource>, Vec<SourceInstruments>)> {
    let instruments = crate::instruments::load_all(config).await?;
    let lists: Vec<_> = instruments.iter().map(SourceInstruments::list).collect();
    let sources = config.resolve_with(&lists)?;
    Ok((sources, instruments))
}

/// `tickbridge exchanges`: exchange × market × channels.
pub fn exchanges_table() -> String {
    let mut out = format!("{:<19} {:<8} channels\n", "exchange", "market");
    for c in tickbridge_connectors::connectors() {
        for (market, channels) in c.supported() {
            let names: Vec<&str> = channels.iter().map(|ch| ch.as_str()).collect();
            out.push_str(&format!(
                "{:<19} {:<8} {}\n",
                c.name(),
                market.as_str(),
                names.join(", ")
            ));
        }
    }
    out
}

/// `tickbridge schema`.
pub fn schema(kind: Option<&str>, write: Option<&Path>, format: &str) -> anyhow::Result<ExitCode> {
    let kinds: Vec<Kind> = match kind {
        Some(k) => vec![Kind::parse(k).with_context(|| {
            let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown kind {k:?} (kinds: {})", all.join(", "))
        })?],
        None => Kind::ALL.to_vec(),
    };
    let (extension, text): (&str, fn(Kind) -> String) = match format {
        "json" => ("json", schema_file_text),
        "avro" => ("avsc", tickbridge_schema::avro::schema_file_text),
        "protobuf" => ("proto", tickbridge_schema::protobuf::schema_text),
        other => anyhow::bail!("--format {other:?}: expected json, avro or protobuf"),
    };
    if let Some(dir) = write {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for k in kinds {
            let path = dir.join(format!("{}.{extension}", k.as_str()));
            std::fs::write(&path, text(k))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if kinds.len() == 1 {
        print!("{}", text(kinds[0]));
    } else if format == "json" {
        let all: serde_json::Map<String, serde_json::Value> = kinds
            .into_iter()
            .map(|k| (k.as_str().to_string(), schema_for(k)))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        // One document per kind, in kind order, separated as files are.
        for k in kinds {
            print!("{}", text(k));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tickbridge record`: the configured sources, every frame written to a capture.
pub async fn record(
    config_path: Option<&Path>,
    sets: &[String],
    out: &str,
    duration: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let mut config = Config::load_with(config_path, &Overrides::gather(sets)?)?;
    config.sinks = vec![crate::config::SinkConfig {
        kind: SinkKind::Null,
        name: SinkKind::Null.as_str().into(),
        ..Default::default()
    }];
    let (sources, instruments) = resolve_with_instruments(&config).await?;
    let mut writers = Vec::new();
    for (i, source) in config.sources.iter().enumerate() {
        let market = sources[i].request.market.as_str();
        let path = out
            .replace("{exchange}", &source.exchange)
            .replace("{market}", market);
        let header = Header {
            capture: 1,
            exchange: source.exchange.clone(),
            source: Some(format!("tickbridge {} record", env!("CARGO_PKG_VERSION"))),
            config: Some(
                serde_json::json!({"market": market, "channels": source.channels, "symbols": source.symbols}),
            ),
        };
        let writer = Arc::new(
            CaptureWriter::create(Path::new(&path), &header)
                .with_context(|| format!("creating {path}"))?,
        );
        info!(%path, exchange = %source.exchange, "recording");
        // The instrument list the symbols were resolved against is part of what the
        // session used: a replay serves it back.
        if let SourceInstruments::Listed { responses, .. } = &instruments[i] {
            for r in &responses.responses {
                writer.http(&r.url, &r.body);
            }
        }
        writers.push(writer);
    }
    let hooks = Hooks {
        taps: writers
            .iter()
            .map(|w| Some(w.clone() as Arc<dyn FrameTap>))
            .collect(),
    };
    let stop = CancellationToken::new();
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
        stop.cancel();
    };
    let ops = Arc::new(OpsState::default());
    let (code, ()) = tokio::join!(
        run_until_signal(&config, sources, ops, hooks, Some(stop.clone())),
        async {
            tokio::select! {
                _ = timer => {}
                _ = stop.cancelled() => {}
            }
        }
    );
    let code = code?;
    for w in writers {
        w.finish().context("finishing a capture")?;
    }
    Ok(code)
}

/// `tickbridge replay`: serve a capture until SIGINT/SIGTERM (or, with
/// `--exit-when-done`, until playback is done).
pub async fn replay(
    capture: &Path,
    listen: &str,
    speed: Speed,
    faults: replay::ReplayArgs,
) -> anyhow::Result<ExitCode> {
    let capture = Capture::read(capture)?;
    let (listener, handle) = replay::bind_with(listen, capture, speed, faults)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    // Tests and scripts read this line to find the port.
    println!("listening on {}", handle.addr);
    use std::io::Write;
    std::io::stdout().flush()?;
    let cancel = CancellationToken::new();
    let mut signals = Signals::new()?;
    tokio::join!(replay::serve(listener, &handle, cancel.clone()), async {
        tokio::select! {
            name = signals.next() => info!(signal = name, "replay stopping"),
            // Never, without `--exit-when-done`.
            () = handle.done() => info!("playback done: replay exiting (--exit-when-done)"),
        }
        cancel.cancel();
    });
    Ok(ExitCode::SUCCESS)
}

const DEMO_BINANCE: &str = include_str!("../demo/binance.jsonl");
const DEMO_COINBASE: &str = include_str!("../demo/coinbase.jsonl");

/// `tickbridge demo`: two bundled captures served locally, run through the whole
/// pipeline to stdout; stops once both were played out.
pub async fn demo() -> anyhow::Result<ExitCode> {
    let binance = Capture::from_reader(DEMO_BINANCE.as_bytes(), "demo/binance.jsonl")?;
    let coinbase = Capture::from_reader(DEMO_COINBASE.as_bytes(), "demo/coinbase.jsonl")?;
    let (bl, bh) = replay::bind("127.0.0.1:0", binance, Speed::Factor(1.0)).await?;
    let (cl, ch) = replay::bind("127.0.0.1:0", coinbase, Speed::Factor(1.0)).await?;
    let text = format!(
        r#"
[[source]]
exchange = "binance"
channels = ["trade", "bbo"]
symbols = ["BTC-USDT"]
ws_url = "ws://{}"

[[source]]
exchange = "coinbase"
channels = ["trade", "bbo"]
symbols = ["BTC-USD"]
ws_url = "ws://{}"

[sink]
kind = "stdout"

[batch]
linger = "20ms"

[ops]
listen = ""

# The bundled captures hold no instrument lists.
[instruments]
on_unavailable = "unverified"
timeout = "2s"
refresh = "0s"
"#,
        bh.addr, ch.addr
    );
    let config = Config::parse(&text, "demo config")?;
    let sources = config.resolve()?;
    info!("demo: replaying bundled Binance and Coinbase captures through the pipeline to stdout");
    let servers_stop = CancellationToken::new();
    let bridge_stop = CancellationToken::new();
    let ops = Arc::new(OpsState::default());
    let watcher = async {
        while !(bh.all_served() && ch.all_served()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        bridge_stop.cancel();
    };
    let bridge = async {
        let code = run_until_signal(
            &config,
            sources,
            ops,
            Hooks::default(),
            Some(bridge_stop.clone()),
        )
        .await;
        servers_stop.cancel();
        code
    };
    let (code, (), (), ()) = tokio::join!(
        bridge,
        replay::serve(bl, &bh, servers_stop.clone()),
        replay::serve(cl, &ch, servers_stop.clone()),
        async {
            tokio::select! {
                _ = watcher => {}
                _ = bridge_stop.cancelled() => {}
            }
        }
    );
    code
}

/// `tickbridge probe URL`: a minimal HTTP GET for container health checks.
pub async fn probe(url: &str) -> anyhow::Result<ExitCode> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .context("probe supports http:// URLs")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let io = async {
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(3), io)
        .await
        .context("probe timed out")??;
    let status_line = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(if status_line.split(' ').nth(1) == Some("200") {
        ExitCode::SUCCESS
    } else {
        eprintln!("probe {url}: {status_line}");
        ExitCode::FAILURE
    })
}

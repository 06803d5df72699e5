//! The `tickbridge` binary: command-line parsing, logging, signals. Everything else
//! lives in the library modules; errors become `anyhow` only here, at the edge.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use tickbridge::commands;

/// Streams exchange market data into Kafka or NATS, every batch acknowledged.
#[derive(Parser)]
#[command(name = "tickbridge", version, about, long_about = None)]
struct Cli {
    /// Log format: `auto` is JSON when stderr is not a terminal, human-readable otherwise.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto, env = "TICKBRIDGE_LOG_FORMAT")]
    log_format: LogFormat,
    /// Log filter, e.g. `info`, `debug`, `tickbridge=debug,info`.
    #[arg(long, global = true, default_value = "info", env = "TICKBRIDGE_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Auto,
    Json,
    Text,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bridge (the embedded default config when none is given).
    Run {
        /// TOML config file.
        #[arg(long, short, env = "TICKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check a config and print the resolved plan.
    Validate {
        #[arg(long, short, env = "TICKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// List supported exchanges, markets and channels.
    Exchanges,
    /// Print the JSON Schema of the records (all kinds, or one).
    Schema {
        /// One kind (`trade`, `bbo`, `book`, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Write `<kind>.json` files into this directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Record live exchange traffic into captures (one per source).
    Record {
        #[arg(long, short, env = "TICKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Output path; `{exchange}` and `{market}` are replaced per source.
        #[arg(long, default_value = "capture-{exchange}-{market}.jsonl.gz")]
        out: String,
        /// Stop after this long (e.g. `30s`); default: until SIGINT/SIGTERM.
        #[arg(long)]
        duration: Option<humantime::Duration>,
    },
    /// Serve a capture as a local mock exchange (WebSocket + recorded REST).
    Replay {
        /// Capture file (`.jsonl.gz` or `.jsonl`).
        capture: PathBuf,
        /// Address to listen on; port 0 picks a free port (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// `max`, or a factor of the recorded speed (`1` = as recorded).
        #[arg(long, default_value = "max")]
        speed: String,
        /// Live mode and misbehaviours (for resilience tests).
        #[command(flatten)]
        faults: tickbridge::replay::ReplayArgs,
    },
    /// Offline demo: replays a small bundled capture through the full pipeline to stdout.
    Demo,
    /// Exit 0 iff the URL answers HTTP 200 (container health checks).
    Probe {
        #[arg(default_value = "http://127.0.0.1:9000/healthz")]
        url: String,
    },
}

fn init_logging(format: LogFormat, filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, &cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tickbridge: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("tickbridge: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => commands::run(config.as_deref()).await,
        Command::Validate { config } => commands::validate(config.as_deref()),
        Command::Exchanges => {
            print!("{}", commands::exchanges_table());
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { kind, write } => commands::schema(kind.as_deref(), write.as_deref()),
        Command::Record {
            config,
            out,
            duration,
        } => commands::record(config.as_deref(), &out, duration.map(Into::into)).await,
        Command::Replay {
            capture,
            listen,
            speed,
            faults,
        } => {
            let speed = speed
                .parse()
                .map_err(anyhow::Error::msg)
                .context("--speed")?;
            commands::replay(&capture, &listen, speed, faults).await
        }
        Command::Demo => commands::demo().await,
        Command::Probe { url } => commands::probe(&url).await,
    }
}

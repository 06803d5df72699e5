//! The `tickbridge` binary: command-line parsing, logging, signals. Everything else
//! lives in the library modules; errors become `anyhow` only here, at the edge.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tickbridge::logging::LogFormat;

use tickbridge::commands;

/// mimalloc instead of glibc's malloc: every record allocates its id and JSON and
/// frees them once acknowledged, across threads; glibc spent ~20% of the bridge's CPU
/// in malloc/free at full speed (BENCHMARKS.md, Kafka sink).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

#[derive(Subcommand)]
enum Command {
    /// Run the bridge (the embedded default config when none is given).
    #[command(after_help = SETTINGS_HELP)]
    Run {
        /// TOML config file.
        #[arg(long, short, env = "TICKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Set one config setting by its dotted path (repeatable), e.g. `sink.kind=kafka`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Check a config and print the resolved plan.
    #[command(after_help = SETTINGS_HELP)]
    Validate {
        #[arg(long, short, env = "TICKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Set one config setting by its dotted path (repeatable), e.g. `sink.kind=kafka`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Also connect to the sink's broker: reachability (exit 3), TLS and
        /// authentication (exit 4), the topics the config writes to (exit 5), and
        /// the schema registry of a registry encoding (exit 6).
        #[arg(long)]
        check: bool,
        /// How long `--check` waits for the broker.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        check_timeout: std::time::Duration,
    },
    /// List supported exchanges, markets and channels.
    Exchanges,
    /// Print the schemas of the records (all kinds, or one): JSON Schema, Avro or Protobuf.
    Schema {
        /// One kind (`trade`, `bbo`, `book`, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Write one file per kind (`<kind>.json`, `.avsc` or `.proto`) into this
        /// directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
        /// `json` (JSON Schema), `avro` or `protobuf`.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Record live exchange traffic into captures (one per source).
    Record {
        #[arg(long, short, env = "TICKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Set one config setting by its dotted path (repeatable), e.g. `source.0.symbols=["BTC-USDT"]`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
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

/// How settings combine (`run --help`, `validate --help`; docs/configuration.md).
const SETTINGS_HELP: &str = "\
Settings, highest precedence first:
  1. --set PATH=VALUE flags (a later flag wins over an earlier one)
  2. environment variables TICKBRIDGE__<PATH>, the path in upper case with `__`
     between its parts: TICKBRIDGE__SINK__KIND=kafka, TICKBRIDGE__BATCH__MAX_EVENTS=500,
     TICKBRIDGE__SOURCE__0__WS_URL=ws://127.0.0.1:9443, TICKBRIDGE__OPS__LISTEN=
  3. the config file (--config / TICKBRIDGE_CONFIG), after ${VAR} / ${VAR:-default}
     interpolation; without one, the embedded default config
  4. built-in defaults

PATH is the setting's dotted TOML path: sink.kind, sink.kafka.brokers, ops.listen,
source.0.symbols (a number indexes the [[source]] list), sink.kafka.options.\"linger.ms\"
(quote a key holding a dot). VALUE is read as TOML when it is valid TOML (500, true,
[\"trade\",\"bbo\"], \"text\") and as plain text otherwise (kafka, 20s, 127.0.0.1:0).
Every setting is documented in docs/configuration.md; `tickbridge validate` shows the
result and which overrides applied.";

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = tickbridge::logging::init(cli.log_format, &cli.log) {
        tracing::error!("{e}");
        return ExitCode::from(2);
    }
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
            // Once, in the chosen log format (a JSON line where logs are JSON).
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config, set } => commands::run(config.as_deref(), &set).await,
        Command::Validate {
            config,
            set,
            check,
            check_timeout,
        } => commands::validate(config.as_deref(), &set, check.then_some(check_timeout)).await,
        Command::Exchanges => {
            print!("{}", commands::exchanges_table());
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema {
            kind,
            write,
            format,
        } => commands::schema(kind.as_deref(), write.as_deref(), &format),
        Command::Record {
            config,
            set,
            out,
            duration,
        } => commands::record(config.as_deref(), &set, &out, duration.map(Into::into)).await,
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

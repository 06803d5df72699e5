//! Memory soak of the real binary: a paced mock exchange → `tickbridge run` → Kafka
//! (`KAFKA_BROKERS`, acks=all, idempotence: the sink's defaults) for a long time at a
//! steady rate, sampling the bridge's resident memory. `scripts/soak.sh` builds it,
//! starts the broker and runs it (one hour at 20k ticks/s by default); it is not part
//! of CI.
//!
//! ```text
//! cargo build --release --bin tickbridge --example soak
//! target/release/examples/soak --duration 1h --rate 20000 --csv /tmp/soak.csv
//! ```
//!
//! The mock exchange serves the trade and bookTicker frames of a Binance capture over
//! a real WebSocket, evenly paced (a slice of frames every 10 ms), and loops over
//! them: pass k shifts trade ids and update ids by k × 10^11, so every tick is a new
//! record. Every `--sample` seconds it writes the bridge's VmRSS, its CPU seconds
//! and the ticks sent to the CSV. At the end the bridge is stopped with SIGTERM and
//! the soak checks that its summary says `lost 0` and that the topics hold exactly
//! what it says it delivered (the sum of the partitions' end offsets). It reports the
//! RSS after warm-up (min / median / max), the median of the first and of the last
//! tenth of the run, and the least-squares slope in MiB per hour.
//!
//! The topics are created per run with a short retention (`retention.bytes` 256 MiB a
//! partition, 64 MiB segments), so an hour at 20k ticks/s does not fill the disk; the
//! end offsets still count every record appended. They are deleted at the end.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::Value;
use tickbridge::capture::Capture;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    duration: Duration,
    rate: u64,
    sample: Duration,
    capture: PathBuf,
    brokers: String,
    csv: Option<PathBuf>,
    bin: PathBuf,
}

fn args() -> Args {
    let mut a = Args {
        duration: Duration::from_secs(3600),
        rate: 20_000,
        sample: Duration::from_secs(10),
        capture: PathBuf::from(
            std::env::var("TICKBRIDGE_CAPTURES").unwrap_or_else(|_| "../shared/captures".into()),
        )
        .join("hftbacktest/binance_btcusdt_20240808.jsonl.gz"),
        brokers: std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        csv: None,
        bin: std::env::current_exe()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("tickbridge")))
            .unwrap_or_else(|| PathBuf::from("target/release/tickbridge")),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let duration = |v: String| -> Duration {
            *v.parse::<humantime::Duration>()
                .unwrap_or_else(|e| panic!("{flag} {v}: {e}"))
        };
        match flag.as_str() {
            "--duration" => a.duration = duration(value()),
            "--rate" => a.rate = value().parse().expect("--rate N"),
            "--sample" => a.sample = duration(value()),
            "--capture" => a.capture = PathBuf::from(value()),
            "--brokers" => a.brokers = value(),
            "--csv" => a.csv = Some(PathBuf::from(value())),
            "--bin" => a.bin = PathBuf::from(value()),
            other => panic!(
                "unknown flag {other} (--duration --rate --sample --capture --brokers --csv --bin)"
            ),
        }
    }
    assert!(a.rate > 0, "--rate must be above 0");
    a
}

fn admin(brokers: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client")
}

/// Records appended to `topics` so far: the sum of their partitions' end offsets
/// (retention deletes old segments, the offsets keep counting).
fn appended(brokers: &str, topics: &[String]) -> u64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "tickbridge-soak")
        .create()
        .expect("consumer");
    let mut total = 0;
    for t in topics {
        let md = c
            .fetch_metadata(Some(t), Duration::from_secs(10))
            .expect("metadata");
        for p in md.topics()[0].partitions() {
            let (_, hi) = c
                .fetch_watermarks(t, p.id(), Duration::from_secs(10))
                .expect("watermarks");
            total += hi as u64;
        }
    }
    total
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let a = args();
    let capture = Capture::read(&a.capture).expect("reading the capture");
    let base: Vec<String> = common::ticker_frames(&capture)
        .into_iter()
        .map(str::to_string)
        .collect();
    drop(capture);
    assert!(
        !base.is_empty(),
        "no trade or bookTicker frames in the capture"
    );
    let run = format!("soak{}", std::process::id());
    let topics: Vec<String> = ["trade", "bbo", "status"]
        .iter()
        .map(|k| format!("{run}.{k}"))
        .collect();
    let admin = admin(&a.brokers);
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            NewTopic::new(t, 3, TopicReplication::Fixed(1))
                .set("retention.bytes", "268435456")
                .set("segment.bytes", "67108864")
        })
        .collect();
    for r in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .unwrap_or_else(|e| panic!("no Kafka at {} ({e}): scripts/kafka.sh start", a.brokers))
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = format!(
        r#"
{source}[sink]
kind = "kafka"
[sink.kafka]
brokers = "{brokers}"
topic = "{run}.{{kind}}"
[shutdown]
drain_timeout = "60s"
[ops]
listen = "127.0.0.1:0"
"#,
        source = common::mock_source_toml(port),
        brokers = a.brokers,
    );
    let config_path = std::env::temp_dir().join(format!("{run}.toml"));
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new(&a.bin)
        .args(["--log-format", "json", "run", "--config"])
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", a.bin.display()));
    let pid = child.id();
    // Only the last lines are kept: an hour of warnings must not grow this process.
    let logs = Arc::new(Mutex::new(std::collections::VecDeque::<String>::new()));
    let reader = {
        let logs = logs.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut logs = logs.lock().unwrap();
                if logs.len() == 200 {
                    logs.pop_front();
                }
                logs.push_back(line);
            }
        })
    };

    let (mut write, mut read) = common::accept_bridge(&listener).await.split();
    eprintln!(
        "soak: {} ticks/s for {} into {} (topics {run}.*), sampling every {}",
        a.rate,
        humantime::format_duration(a.duration),
        a.brokers,
        humantime::format_duration(a.sample)
    );

    let sent = Arc::new(AtomicU64::new(0));
    let send = {
        let sent = sent.clone();
        async move {
            // A slice of frames every 10 ms: the rate holds on average, and the
            // mock exchange's own cost stays small.
            let tick = Duration::from_millis(10);
            let mut timer = tokio::time::interval(tick);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let t0 = Instant::now();
            let mut n: u64 = 0;
            while t0.elapsed() < a.duration {
                timer.tick().await;
                let due = (t0.elapsed().as_secs_f64() * a.rate as f64) as u64;
                while n < due {
                    let i = (n % base.len() as u64) as usize;
                    let pass = n / base.len() as u64;
                    let frame = if pass == 0 {
                        base[i].clone()
                    } else {
                        common::shift_ids(&base[i], pass * 100_000_000_000)
                    };
                    write.feed(Message::text(frame)).await.unwrap();
                    n += 1;
                }
                write.flush().await.unwrap();
                sent.store(n, Ordering::Relaxed);
            }
            write
        }
    };
    let samples = Arc::new(Mutex::new(Vec::<(f64, u64, f64, u64)>::new()));
    let sample = {
        let (sent, samples, csv) = (sent.clone(), samples.clone(), a.csv.clone());
        async move {
            let mut file = csv.map(|p| {
                let mut f = std::fs::File::create(&p).expect("creating the CSV");
                writeln!(f, "seconds,rss_kib,cpu_seconds,ticks_sent").unwrap();
                f
            });
            let t0 = Instant::now();
            let mut timer = tokio::time::interval(a.sample);
            loop {
                timer.tick().await;
                let s = (
                    t0.elapsed().as_secs_f64(),
                    common::status_kib(pid, "VmRSS:"),
                    common::cpu_seconds(pid),
                    sent.load(Ordering::Relaxed),
                );
                if let Some(f) = &mut file {
                    writeln!(f, "{:.0},{},{:.2},{}", s.0, s.1, s.2, s.3).unwrap();
                }
                if samples.lock().unwrap().len() % 30 == 0 {
                    eprintln!(
                        "soak: {:>5.0} s  rss {:>6} KiB  cpu {:>7.1} s  sent {}",
                        s.0, s.1, s.2, s.3
                    );
                }
                samples.lock().unwrap().push(s);
            }
        }
    };
    // Keep reading (pings) while sending.
    let drain_reads = async { while let Some(Ok(_)) = read.next().await {} };
    let mut write = tokio::select! {
        w = send => w,
        _ = sample => unreachable!("the sampler never ends"),
        _ = drain_reads => panic!("the bridge closed the connection"),
    };
    let n = sent.load(Ordering::Relaxed);
    let cpu = common::cpu_seconds(pid);
    let peak = common::status_kib(pid, "VmHWM:");
    // Give the last batches time to be acknowledged, then stop the bridge like a
    // Kubernetes rollout does; its drain delivers what is still in flight.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    write.close().await.ok();
    reader.join().unwrap();
    let logs: Vec<String> = logs.lock().unwrap().iter().cloned().collect();
    let summary = logs
        .iter()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("summary:"))
        })
        .unwrap_or_else(|| panic!("no summary line; log tail:\n{}", logs.join("\n")));
    let field = |k: &str| summary[k].as_u64().unwrap_or(u64::MAX);
    let in_kafka = appended(&a.brokers, &topics[..2]);
    let status_records = appended(&a.brokers, &topics[2..]);
    let samples = samples.lock().unwrap().clone();
    for r in admin
        .delete_topics(
            &topics.iter().map(String::as_str).collect::<Vec<_>>(),
            &AdminOptions::new(),
        )
        .await
        .expect("delete_topics")
    {
        r.unwrap_or_else(|(t, e)| panic!("deleting {t}: {e}"));
    }

    // After warm-up: the first tenth of the run, at least one sample.
    let skip = (samples.len() / 10).max(1);
    let steady = &samples[skip.min(samples.len() - 1)..];
    let mut rss: Vec<f64> = steady.iter().map(|s| s.1 as f64 / 1024.0).collect();
    let tenth = (steady.len() / 10).max(1);
    let mut first: Vec<f64> = rss[..tenth].to_vec();
    let mut last: Vec<f64> = rss[rss.len() - tenth..].to_vec();
    // Least squares over the steady samples, MiB per hour.
    let xs: Vec<f64> = steady.iter().map(|s| s.0 / 3600.0).collect();
    let (mx, my) = (
        xs.iter().sum::<f64>() / xs.len() as f64,
        rss.iter().sum::<f64>() / rss.len() as f64,
    );
    let (sxy, sxx) = xs.iter().zip(&rss).fold((0.0, 0.0), |(sxy, sxx), (x, y)| {
        (sxy + (x - mx) * (y - my), sxx + (x - mx) * (x - mx))
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let (min, max) = (
        rss.iter().cloned().fold(f64::MAX, f64::min),
        rss.iter().cloned().fold(0.0, f64::max),
    );
    let med = median(&mut rss);
    let secs = a.duration.as_secs_f64();
    println!("ticks sent                 {n} ({:.0}/s)", n as f64 / secs);
    println!(
        "summary                    received {} delivered {} lost {}",
        field("received"),
        field("delivered"),
        field("lost")
    );
    println!("in Kafka (trade + bbo)     {in_kafka} (+ {status_records} status)");
    println!("bridge exit                {status}");
    println!(
        "bridge CPU                 {cpu:.1} s ({:.2} s per million ticks)",
        cpu / (n as f64 / 1e6)
    );
    println!(
        "RSS after warm-up          {min:.1} / {med:.1} / {max:.1} MiB (min / median / max, {} samples)",
        steady.len()
    );
    println!(
        "RSS first / last tenth     {:.1} / {:.1} MiB (medians)",
        median(&mut first),
        median(&mut last)
    );
    println!("RSS slope                  {slope:+.2} MiB per hour");
    println!("peak RSS (VmHWM)           {:.1} MiB", peak as f64 / 1024.0);
    assert!(status.success(), "bridge exit {status}");
    assert_eq!(field("lost"), 0, "lost records: {summary}");
    assert_eq!(in_kafka, n, "Kafka holds every tick sent, once");
    assert_eq!(
        field("delivered"),
        in_kafka + status_records,
        "delivered = the ticks and status records in Kafka: {summary}"
    );
    assert_eq!(field("received"), field("delivered"), "{summary}");
}

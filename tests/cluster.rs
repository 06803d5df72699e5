//! `[cluster]` sharding through the real binary: N replicas of one config own
//! disjoint shares whose union is the whole config, as `validate` prints them; a
//! replica added moves only the symbols it now owns; and N bridges running one
//! recorded session each deliver every trade of the capture exactly once together.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use common::{Bridge, Replay};

const SYMBOLS: usize = 40;

fn config(replicas: u32) -> String {
    let symbols: Vec<String> = (0..SYMBOLS).map(|i| format!("\"SYM{i}USDT\"")).collect();
    format!(
        "[[source]]\nexchange = \"binance\"\nchannels = [\"trade\"]\nsymbols = [{}]\n\
         [instruments]\non_unavailable = \"unverified\"\ntimeout = \"1s\"\n\
         [cluster]\nreplicas = {replicas}\n",
        symbols.join(", ")
    )
}

/// The native symbols replica `shard` of `replicas` owns, as `validate` prints them.
fn owned(replicas: u32, shard: u32) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, config(replicas)).unwrap();
    let out = Command::new(common::bin())
        .args(["validate", "--config"])
        .arg(&path)
        .env("TICKBRIDGE__CLUSTER__SHARD", shard.to_string())
        .env("TICKBRIDGE__INSTRUMENTS__CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let symbols: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.trim().split_once(" -> ").map(|(n, _)| n.to_string()))
        .collect();
    assert!(
        stdout.contains(&format!(
            "cluster: replica {shard} of {replicas} owns {} symbol(s)",
            symbols.len()
        )),
        "{stdout}"
    );
    symbols
}

#[test]
fn replicas_own_disjoint_shares_and_a_new_one_takes_only_its_own() {
    let three: Vec<BTreeSet<String>> = (0..3).map(|i| owned(3, i)).collect();
    let all: BTreeSet<String> = three.iter().flatten().cloned().collect();
    assert_eq!(all.len(), SYMBOLS, "the union is the whole config");
    assert_eq!(
        three.iter().map(|s| s.len()).sum::<usize>(),
        SYMBOLS,
        "no symbol is owned twice: {three:?}"
    );
    let four: Vec<BTreeSet<String>> = (0..4).map(|i| owned(4, i)).collect();
    for i in 0..3 {
        assert!(
            four[i].is_subset(&three[i]),
            "replica {i} gained symbols when a fourth joined: {:?}",
            four[i].difference(&three[i]).collect::<Vec<_>>()
        );
    }
    let moved: usize = (0..3).map(|i| three[i].len() - four[i].len()).sum();
    assert_eq!(
        moved,
        four[3].len(),
        "what moved is exactly the new replica's share"
    );
    assert!(!four[3].is_empty());
}

#[test]
fn a_shard_out_of_range_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, config(3)).unwrap();
    let out = Command::new(common::bin())
        .args(["validate", "--config"])
        .arg(&path)
        .env("TICKBRIDGE__CLUSTER__SHARD", "3")
        .env("TICKBRIDGE__INSTRUMENTS__CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("cluster.shard: 3 is not below replicas = 3"),
        "{stderr}"
    );
}

/// `validate` of a hot-standby config prints the leadership group and topic of this
/// replica's shard; with a sink other than Kafka it is refused, naming the field.
#[test]
fn validate_names_the_standby_group_and_refuses_standby_without_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let run = |sink: &str| {
        let path = dir.path().join("c.toml");
        let text = config(2).replace(
            "[cluster]\nreplicas = 2\n",
            &format!("{sink}\n[cluster]\nreplicas = 2\nstandby = true\ngroup = \"md-east\"\n"),
        );
        std::fs::write(&path, text).unwrap();
        Command::new(common::bin())
            .args(["validate", "--config"])
            .arg(&path)
            .env("TICKBRIDGE__CLUSTER__SHARD", "1")
            .env("TICKBRIDGE__INSTRUMENTS__CACHE_DIR", dir.path())
            .output()
            .unwrap()
    };
    let out = run("[sink]\nkind = \"kafka\"\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "cluster: hot standby: leadership through consumer group md-east.shard-1 on topic \
             md-east.leadership; a standby keeps the newest 200000 records"
        ),
        "{stdout}"
    );
    let out = run("[sink]\nkind = \"file\"\n[sink.file]\npath = \"/tmp/x.jsonl\"\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        // The log line is JSON: the quotes around kafka are escaped there.
        stderr.contains("cluster.standby: needs exactly one [sink], of kind = ")
            && stderr.contains("(leadership is held in Kafka)"),
        "{stderr}"
    );
}

/// Trade ids a bridge of replica `shard` (`None`: no `[cluster]`) publishes from the
/// documented Hyperliquid session.
fn trades_of(shard: Option<u32>) -> Vec<String> {
    let capture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/captures/hyperliquid.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let replay = Replay::start(&capture, "max");
    let out = dir.path().join("out.jsonl");
    let cluster = shard
        .map(|i| format!("[cluster]\nreplicas = {REPLICAS}\nshard = {i}\n"))
        .unwrap_or_default();
    let text = format!(
        "[[source]]\nexchange = \"hyperliquid\"\nchannels = [\"trade\"]\n\
         symbols = [\"BTC-USDC-PERP\", \"xyz:XYZ100-USDC-PERP\"]\n\
         ws_url = \"{}/ws\"\nrest_url = \"{}\"\n{cluster}\
         [sink]\nkind = \"file\"\n[sink.file]\npath = \"{}\"\n",
        replay.ws_url(),
        replay.rest_url(),
        out.display()
    );
    let mut bridge = Bridge::start(&text);
    // The whole session is a few dozen frames, played at full speed: over once the
    // replay has served its connection; a replica that owns none of the symbols
    // never connects.
    let started = std::time::Instant::now();
    loop {
        let logs = replay.logs();
        if logs.iter().any(|l| l.contains("capture connection served")) {
            break;
        }
        if started.elapsed() > std::time::Duration::from_secs(4)
            && !logs.iter().any(|l| l.contains("client connected"))
        {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the session was not served: {logs:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, summary) = bridge.stop();
    assert_eq!(code, 0, "{summary:?}");
    assert_eq!(summary.lost, 0, "{summary:?}");
    common::read_jsonl(&out)
        .into_iter()
        .filter(|r| r["kind"] == "trade")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Replicas of the run test: with the session's two coins, five replicas leave two
/// owning one coin each and three owning nothing (idle, never connecting).
const REPLICAS: u32 = 5;

/// Five replicas of one config, each bridging the same recorded session: together
/// they publish exactly the trades one unsharded bridge publishes, each once.
#[test]
fn replicas_deliver_the_union_exactly_once() {
    let mut whole = trades_of(None);
    whole.sort();
    assert!(!whole.is_empty());
    let shares: Vec<Vec<String>> = (0..REPLICAS).map(|i| trades_of(Some(i))).collect();
    assert_eq!(
        shares.iter().filter(|s| !s.is_empty()).count(),
        2,
        "two replicas own a coin each: {shares:?}"
    );
    let mut union: Vec<String> = shares.into_iter().flatten().collect();
    union.sort();
    assert_eq!(union, whole, "the shards' trades, together, once each");
}

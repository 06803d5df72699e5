//! record_dump: a baseline of every record the exchange parsers produce for every
//! capture of the corpus, so a refactor can be proven to leave the record stream
//! byte-identical (`diff -r` of two output directories).
//!
//! ```text
//! cargo run --release -p tickbridge-connectors --example record_dump -- \
//!   [--captures DIR] [--out DIR]
//! diff -r BEFORE_DIR AFTER_DIR
//! ```
//!
//! For every capture (`cryptofeed/*.jsonl.gz`, `hftbacktest/*.jsonl.gz`, sorted), for
//! every WebSocket connection (`open` event, conn > 0), a parser is chosen as the
//! corpus tests choose it (every channel on, no planned symbols) and fed every `recv`
//! text frame in capture order with `ts_recv` = the event's `ts`. After every frame
//! (and after every REST answer) the parser is drained as the session driver does:
//! `reply()`, `resubscribe()`, `rest_requests()`. REST requests are answered from the
//! capture's `http` events as `connectors/tests/corpus_books.rs` does: a request is
//! answered with the recorded snapshot body for its key (native symbol) as soon as
//! both exist, right after the event at which the second of the two appeared, with
//! that event's `ts`; each recorded body is handed over once, in recorded order.
//! Binary (`b64`) frames are skipped and counted. Connections whose protocol no
//! current connector implements are skipped and listed.
//!
//! Output: `<out>/<folder>__<name>.jsonl` per capture (name without `.jsonl.gz`),
//! one `Record::to_json()` per line, in the order the records were produced (events
//! in capture order; within one event, the frame's records, then those of any REST
//! answers delivered after it). A capture with no parsed connection gets an empty
//! file. A summary table is printed on stdout.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use tickbridge_connectors::FrameParser;
use tickbridge_schema::Record;

// =====================================================================================
// API-SPECIFIC CODE: the only part to port to a changed connector API.
// Everything below this section uses only `FrameParser::{parse, reply, resubscribe,
// rest_requests}` (and `RestRequest::key`), `Record::to_json()`, and `Result::is_err`
// on what `parse` returns (never the `Parsed` variants).
// =====================================================================================

/// Chooses and builds the parser for one WebSocket connection of a capture: the
/// registered connector whose protocol the URL speaks (`connector_for_url`), with a
/// plan for recorded frames (every channel, no planned symbols) whose book options
/// name the REST base `https://capture` (only snapshot request URLs see it). Binance
/// TR's capture speaks the spot protocol on a host no connector claims and gets the
/// Binance spot parser, as the corpus tests give it.
fn parser_for(exchange: &str, url: &str) -> Result<(String, Box<dyn FrameParser>), String> {
    use tickbridge_connectors::book::BookConfig;
    use tickbridge_connectors::contract::{ConnectionPlan, Connector};
    use tickbridge_connectors::exchanges::{binance::Binance, connector_for_url};
    use tickbridge_schema::Market;

    let (connector, market): (&dyn Connector, Market) = match connector_for_url(url) {
        Some(found) => found,
        None if exchange == "binance_tr" => (&Binance::SPOT, Market::Spot),
        None => return Err(format!("no registered connector speaks {url}")),
    };
    let plan = ConnectionPlan {
        books: BookConfig {
            rest_url: "https://capture".into(),
            ..BookConfig::default()
        },
        ..ConnectionPlan::for_frames(url, market)
    };
    Ok((connector.name().to_string(), connector.parser(&plan)))
}

/// Delivers one REST answer (a recorded response body) for request `key` to the
/// parser, as the session driver does; records are appended to `out`.
/// Returns `Err` with the parser's error when it refused the body.
fn deliver_rest(
    parser: &mut dyn FrameParser,
    key: &str,
    body: &str,
    ts_recv: i64,
    out: &mut Vec<Record>,
) -> Result<(), String> {
    parser
        .on_rest(key, Ok(body), ts_recv, out)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

// =====================================================================================
// Generic code (no API-specific types beyond the trait methods named above).
// =====================================================================================

/// One capture event (unknown fields ignored, as the format requires).
#[derive(serde::Deserialize)]
struct Event {
    #[serde(default)]
    ts: i64,
    #[serde(default)]
    conn: u64,
    #[serde(default)]
    ev: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    b64: Option<String>,
}

#[derive(serde::Deserialize)]
struct Header {
    #[serde(default)]
    exchange: String,
}

fn read_capture(path: &Path) -> Result<(Header, Vec<Event>), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines();
    let first = lines
        .next()
        .ok_or("empty capture")?
        .map_err(|e| e.to_string())?;
    let header: Header = serde_json::from_str(&first).map_err(|e| format!("header: {e}"))?;
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        events.push(serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", i + 2))?);
    }
    Ok((header, events))
}

/// The symbol a recorded REST response is a depth snapshot for (as
/// `corpus_books.rs::snapshot_of`): only `/depth?` URLs; the body's own `symbol`
/// (COIN-M bodies name the contract, their URL only the pair), else the URL's.
fn snapshot_key(url: &str, body: &str) -> Option<String> {
    if !url.contains("/depth?") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("lastUpdateId")?.as_u64()?;
    match v.get("symbol").and_then(|s| s.as_str()) {
        Some(s) => Some(s.to_string()),
        None => Some(url.split("symbol=").nth(1)?.split('&').next()?.to_string()),
    }
}

struct Conn {
    id: u64,
    parser: Box<dyn FrameParser>,
    /// Keys of REST requests not answered yet, in request order.
    pending: Vec<String>,
}

#[derive(Default)]
struct Summary {
    file: String,
    conns_open: usize,
    conns_parsed: usize,
    parsers: Vec<String>,
    frames: u64,
    binary_skipped: u64,
    frames_unparsed_conn: u64,
    records: u64,
    parse_errors: u64,
    replies: u64,
    resubscribes: u64,
    rest_requests: u64,
    rest_answered: u64,
    rest_errors: u64,
    rest_outstanding: usize,
    http_unused: usize,
    fnv: u64,
    kinds: BTreeMap<&'static str, u64>,
    skipped: Vec<String>,
    first_errors: Vec<String>,
}

/// After a frame or a REST answer: what the session driver drains.
fn drain(c: &mut Conn, s: &mut Summary) {
    if c.parser.reply().is_some() {
        s.replies += 1;
    }
    s.resubscribes += c.parser.resubscribe().len() as u64;
    for q in c.parser.rest_requests() {
        s.rest_requests += 1;
        c.pending.push(q.key.clone());
    }
}

fn preview(text: &str) -> &str {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

struct Sink {
    w: BufWriter<std::fs::File>,
    fnv: u64,
}

impl Sink {
    fn write(&mut self, records: &mut Vec<Record>, s: &mut Summary) {
        for r in records.drain(..) {
            let mut json = r.to_json();
            json.push(b'\n');
            for b in &json {
                self.fnv = (self.fnv ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
            self.w.write_all(&json).expect("write the output");
            *s.kinds.entry(r.kind().as_str()).or_default() += 1;
            s.records += 1;
        }
    }
}

fn dump(path: &Path, rel: &str, out_file: &Path) -> Summary {
    let mut s = Summary {
        file: rel.to_string(),
        ..Summary::default()
    };
    let mut sink = Sink {
        w: BufWriter::new(std::fs::File::create(out_file).expect("create the output file")),
        fnv: 0xcbf2_9ce4_8422_2325,
    };
    let (header, events) = match read_capture(path) {
        Ok(c) => c,
        Err(e) => {
            s.skipped.push(format!("unreadable capture: {e}"));
            return s;
        }
    };
    let mut conns: Vec<Conn> = Vec::new();
    // Recorded snapshot bodies by key, and how many of each were handed over.
    let mut recorded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut records: Vec<Record> = Vec::new();

    for (line, e) in events.iter().enumerate() {
        match e.ev.as_str() {
            "open" if e.conn > 0 => {
                s.conns_open += 1;
                let url = e.url.as_deref().unwrap_or("");
                if conns.iter().any(|c| c.id == e.conn) {
                    // A connection number opened twice: keep the parser (its state).
                    s.skipped
                        .push(format!("conn {} opened again (parser kept)", e.conn));
                    continue;
                }
                match parser_for(&header.exchange, url) {
                    Ok((label, parser)) => {
                        s.conns_parsed += 1;
                        s.parsers.push(format!("conn {}: {label}", e.conn));
                        conns.push(Conn {
                            id: e.conn,
                            parser,
                            pending: Vec::new(),
                        });
                    }
                    Err(why) => s.skipped.push(format!("conn {} {url}: {why}", e.conn)),
                }
            }
            "recv" => {
                let Some(c) = conns.iter_mut().find(|c| c.id == e.conn) else {
                    s.frames_unparsed_conn += 1;
                    continue;
                };
                let Some(text) = e.text.as_deref() else {
                    if e.b64.is_some() {
                        s.binary_skipped += 1;
                    }
                    continue;
                };
                s.frames += 1;
                if let Err(err) = c.parser.parse(text, e.ts, &mut records) {
                    s.parse_errors += 1;
                    if s.first_errors.len() < 3 {
                        s.first_errors.push(format!(
                            "line {} conn {}: {err}: {}",
                            line + 2,
                            c.id,
                            preview(text)
                        ));
                    }
                }
                // The records a frame yields are forwarded whatever the result.
                sink.write(&mut records, &mut s);
                drain(c, &mut s);
            }
            "http" => {
                if let (Some(url), Some(body)) = (&e.url, &e.text) {
                    if let Some(key) = snapshot_key(url, body) {
                        recorded.entry(key).or_default().push(body.clone());
                    }
                }
            }
            _ => {}
        }
        // Answer every pending request whose recorded response exists by now
        // (connections in capture order, requests in request order).
        loop {
            let found = conns.iter().enumerate().find_map(|(ci, c)| {
                c.pending
                    .iter()
                    .position(|k| {
                        let n = used.get(k).copied().unwrap_or(0);
                        recorded.get(k).is_some_and(|r| r.len() > n)
                    })
                    .map(|qi| (ci, qi))
            });
            let Some((ci, qi)) = found else { break };
            let c = &mut conns[ci];
            let key = c.pending.remove(qi);
            let n = used.entry(key.clone()).or_insert(0);
            let body = &recorded[&key][*n];
            *n += 1;
            s.rest_answered += 1;
            if let Err(err) = deliver_rest(c.parser.as_mut(), &key, body, e.ts, &mut records) {
                s.rest_errors += 1;
                if s.first_errors.len() < 3 {
                    s.first_errors
                        .push(format!("line {} REST {key}: {err}", line + 2));
                }
            }
            sink.write(&mut records, &mut s);
            drain(c, &mut s);
        }
    }
    s.rest_outstanding = conns.iter().map(|c| c.pending.len()).sum();
    s.http_unused = recorded
        .iter()
        .map(|(k, v)| v.len() - used.get(k).copied().unwrap_or(0))
        .sum();
    if s.conns_open == 0 {
        s.skipped
            .push("no WebSocket connection in the capture".into());
    }
    sink.w.flush().expect("flush the output");
    s.fnv = sink.fnv;
    s
}

fn main() {
    let mut captures = std::env::var("TICKBRIDGE_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/captures"));
    let mut out_dir = PathBuf::from("target/record-dump");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--captures" => captures = PathBuf::from(args.next().expect("--captures DIR")),
            "--out" => out_dir = PathBuf::from(args.next().expect("--out DIR")),
            other => {
                eprintln!("usage: record_dump [--captures DIR] [--out DIR] (unknown {other:?})");
                std::process::exit(2);
            }
        }
    }
    std::fs::create_dir_all(&out_dir).expect("create the output directory");

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for folder in ["cryptofeed", "hftbacktest"] {
        let dir = captures.join(folder);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the capture corpus has no {}: {e}", dir.display()));
        for entry in entries {
            let p = entry.expect("a directory entry").path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".jsonl.gz") {
                files.push((format!("{folder}__{stem}.jsonl"), p));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));

    let mut summaries = Vec::new();
    for (out_name, path) in &files {
        let rel = path
            .strip_prefix(&captures)
            .unwrap_or(path)
            .display()
            .to_string();
        summaries.push((out_name.clone(), dump(path, &rel, &out_dir.join(out_name))));
    }

    // Files in the output directory this run did not write (left from elsewhere).
    let written: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut stray: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("list the output directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !written.contains(&n.as_str()))
        .collect();
    stray.sort();

    println!(
        "{:<52} {:>5} {:>6} {:>8} {:>8} {:>6} {:>5} {:>5} {:>5} {:>6} {:>5}  fnv64(output)",
        "capture",
        "conns",
        "parsed",
        "frames",
        "records",
        "errors",
        "restQ",
        "restA",
        "restE",
        "binary",
        "resub",
    );
    let (mut t_frames, mut t_records, mut t_errors) = (0, 0, 0);
    for (_, s) in &summaries {
        println!(
            "{:<52} {:>5} {:>6} {:>8} {:>8} {:>6} {:>5} {:>5} {:>5} {:>6} {:>5}  {:016x}",
            s.file,
            s.conns_open,
            s.conns_parsed,
            s.frames,
            s.records,
            s.parse_errors,
            s.rest_requests,
            s.rest_answered,
            s.rest_errors,
            s.binary_skipped,
            s.resubscribes,
            s.fnv
        );
        t_frames += s.frames;
        t_records += s.records;
        t_errors += s.parse_errors;
    }
    println!(
        "total: {} captures, {t_frames} frames parsed, {t_records} records, {t_errors} parse errors",
        summaries.len()
    );
    println!();
    println!("details:");
    for (out_name, s) in &summaries {
        let mut line = format!("{} -> {}", s.file, out_dir.join(out_name).display());
        if !s.parsers.is_empty() {
            line += &format!("\n    parsers: {}", s.parsers.join("; "));
        }
        if !s.kinds.is_empty() {
            let k: Vec<String> = s.kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
            line += &format!("\n    records: {}", k.join(", "));
        }
        if s.replies + s.resubscribes + s.rest_requests > 0
            || s.rest_outstanding + s.http_unused > 0
        {
            line += &format!(
                "\n    replies {}, resubscribe frames {}, REST requests {} (answered {}, refused {}, outstanding at end {}), recorded snapshots unused {}",
                s.replies,
                s.resubscribes,
                s.rest_requests,
                s.rest_answered,
                s.rest_errors,
                s.rest_outstanding,
                s.http_unused
            );
        }
        if s.binary_skipped > 0 {
            line += &format!("\n    binary frames skipped: {}", s.binary_skipped);
        }
        if s.frames_unparsed_conn > 0 {
            line += &format!(
                "\n    frames of skipped connections: {}",
                s.frames_unparsed_conn
            );
        }
        for k in &s.skipped {
            line += &format!("\n    SKIPPED {k}");
        }
        for e in &s.first_errors {
            line += &format!("\n    ERROR {e}");
        }
        println!("{line}");
    }
    if !stray.is_empty() {
        println!(
            "\nWARNING: files in {} not written by this run: {stray:?}",
            out_dir.display()
        );
    }
}

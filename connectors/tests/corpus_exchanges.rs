//! Corpus: every recording in `TICKBRIDGE_CAPTURES` (`cryptofeed/` and `hftbacktest/`,
//! see docs/architecture.md, "Captures") is replayed connection by connection through the parser of
//! the registered connector that claims the connection's URL
//! ([`fuzzing::capture_parser`]: [`Connector::market_of_url`] over
//! `tickbridge_connectors::connectors()`); a connection no registered connector claims
//! is uncovered, and the uncovered URLs are listed in the test output
//! (`cargo test -p tickbridge-connectors --test corpus_exchanges -- --nocapture`). A
//! connector added to the registry covers its recordings without an edit here.
//!
//! For every covered connection: every frame parses or is classified (zero unknown
//! frames, zero errors), and every order-book chain stays intact (zero gaps).
//! Order-book snapshots a parser asks for are answered from the capture's recorded
//! REST responses (by native symbol, as the mock exchange releases them), so the
//! snapshot-synced books (Binance) are published and chain-checked too.
//!
//! What the registry covers today, by URL (asserted as a floor in [`MUST_COVER`]):
//!
//! | recording                  | URL                                   | connector |
//! |----------------------------|---------------------------------------|-----------|
//! | `cryptofeed/okx`           | `wss://ws.okx.com:8443/ws/v5/public`  | `okx` |
//! | `cryptofeed/okcoin`        | `wss://real.okcoin.com:8443/ws/v5/public` | `okx` (Okcoin runs the same API) |
//! | `cryptofeed/coinbase`      | `wss://ws-feed.pro.coinbase.com`      | `coinbase` (the Exchange feed) |
//! | `cryptofeed/bitstamp`      | `wss://ws.bitstamp.net`               | `bitstamp` |
//! | `cryptofeed/gateio`        | `wss://api.gateio.ws/ws/v4/`          | `gateio` (Gate spot v4) |
//! | `cryptofeed/gateio_futures`| `wss://fx-ws.gateio.ws/v4/ws/usdt`    | `gateio-futures` (Gate USDT futures v4) |
//! | `cryptofeed/gemini`        | `wss://api.gemini.com/v2/marketdata/` | `gemini` (market data v2) |
//! | `cryptofeed/bitflyer`      | `wss://ws.lightstream.bitflyer.com/json-rpc` | `bitflyer` (spot, FX, futures) |
//! | `cryptofeed/bitmex`        | `wss://www.bitmex.com/realtime`       | `bitmex` (the older host of `ws.bitmex.com`, same protocol) |
//! | `cryptofeed/kraken_futures`| `wss://futures.kraken.com/ws/v1`      | `kraken-futures` (never `kraken`: see [`OLDER_PROTOCOLS`]) |
//! | `cryptofeed/deribit`       | `wss://www.deribit.com/ws/api/v2`     | `deribit` (the recording's `raw` channels; the connector subscribes `100ms`) |
//! | `cryptofeed/bitfinex`      | `wss://api.bitfinex.com/ws/2`         | `bitfinex` (v2; the public host is now `api-pub`) |
//! | `cryptofeed/binance*`, `hftbacktest/binance*` | `stream.binance.com`, `fstream`, `dstream` | `binance`, `binance-usdm`, `binance-coinm` |
//! | `cryptofeed/huobi`         | `wss://api.huobi.pro/ws`              | `htx` (gzip binary frames; `depth.step0` + `trade.detail`) |
//! | `cryptofeed/huobi_swap`    | `wss://api.hbdm.com/linear-swap-ws`, `/swap-ws` | `htx-swap` (USDT- and coin-margined swaps) |
//! | `cryptofeed/kucoin`        | `wss://push-private.kucoin.com/endpoint` | `kucoin` (the older spot host, same protocol as `ws-api-spot.kucoin.com`) |
//! | `cryptofeed/upbit`         | `wss://api.upbit.com/websocket/v1`    | `upbit` (`SIMPLE` format, 15-level books, text frames) |
//!
//! Recordings of older APIs of registered exchanges stay uncovered, and must: the
//! connectors implement the current APIs only.
//!
//! | recording                  | URL                                   | protocol |
//! |----------------------------|---------------------------------------|----------|
//! | `cryptofeed/kraken`        | `wss://ws.kraken.com`                 | Kraken WS **v1** (arrays); `kraken` implements v2 (`/v2`) |
//! | `cryptofeed/bybit`         | `wss://stream.bybit.com/realtime[_public]` | Bybit pre-v5; `bybit` implements v5 (`/v5/public/...`) |
//!
//! `cryptofeed/binance_us` and `binance_tr` (other hosts speaking the Binance spot
//! API) are not claimed either; `corpus_books.rs` reads them with the spot parser.
//!
//! Real breaks of a recording are named in [`REAL_GAPS`] (bitFlyer's board has no
//! sequence; its `mid_price` check finds one snapshot out of step with the diffs).
//!
//! The OKX recordings predate `seqId`/`prevSeqId` (2022-2023) but carry the legacy
//! checksum, so there every book record must have `checksum_ok == true`.
//!
//! The corpus directory comes from `TICKBRIDGE_CAPTURES` (relative paths are taken
//! from the workspace root; default `../shared/captures` from it). A missing corpus
//! fails the test with instructions.

mod common;

use common::{captures_dir, recordings};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::Engine as _;
use tickbridge_connectors::contract::Decoded;
use tickbridge_connectors::{connectors, fuzzing, Connector, FrameParser, Parsed, RestRequest};
use tickbridge_schema::{Data, Record, StatusEvent};

/// One capture event (unknown fields ignored, as the format requires).
#[derive(serde::Deserialize)]
struct Event {
    #[serde(default)]
    conn: u64,
    #[serde(default)]
    ev: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// A binary frame's payload, base64.
    #[serde(default)]
    b64: Option<String>,
    #[serde(default)]
    ts: i64,
}

fn read(path: &Path) -> Vec<Event> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines = BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines();
    lines
        .skip(1) // the header
        .map(|l| serde_json::from_str(&l.expect("readable capture")).expect("capture event"))
        .collect()
}

/// The WebSocket URLs a recording opens.
fn opened_urls(path: &Path) -> Vec<String> {
    read(path)
        .into_iter()
        .filter(|e| e.ev == "open")
        .filter_map(|e| e.url)
        .collect()
}

/// A URL without its query (cryptofeed's Binance URLs name every stream).
fn short(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// The first 160 bytes of a frame (at a character boundary).
fn preview(text: &str) -> &str {
    let mut end = text.len().min(160);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The native symbol a recorded REST snapshot is for: the body's own `symbol`
/// (COIN-M; the recorded URL names only the pair), else the URL's `symbol` parameter
/// (Gate: `currency_pair` spot, `contract` futures).
fn snapshot_symbol(url: &str, body: &str) -> Option<String> {
    let from_body = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["symbol"].as_str().map(str::to_string));
    from_body
        .or_else(|| {
            url.split_once('?')?
                .1
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| matches!(*k, "symbol" | "currency_pair" | "contract"))
                .map(|(_, v)| v.to_string())
        })
        .or_else(|| {
            // Bitstamp names the pair in the path: `/api/v2/order_book/{pair}`.
            let path = url.split(['?', '#']).next()?.trim_end_matches('/');
            let (_, pair) = path.rsplit_once("/order_book/")?;
            (!pair.is_empty() && !pair.contains('/')).then(|| pair.to_string())
        })
}

/// What replaying one file produced.
#[derive(Debug, Default)]
struct Outcome {
    file: String,
    /// The connectors that claimed its connections.
    by: BTreeSet<&'static str>,
    /// URLs of the connections no registered connector claims.
    uncovered: Vec<String>,
    frames: usize,
    data: usize,
    records: usize,
    books: usize,
    book_checksums_ok: usize,
    snapshots: usize,
    gaps: usize,
    /// The native symbols of the gaps, in order.
    gap_natives: Vec<String>,
    unknown: usize,
    errors: Vec<String>,
    /// Records by kind (`trade`, `book`, ...; a status by its event).
    kinds: std::collections::BTreeMap<String, usize>,
}

impl Outcome {
    fn tally(&mut self, records: &[Record]) {
        self.records += records.len();
        for r in records {
            let kind = match &r.data {
                Data::Status(s) => format!("status {}", s.event.as_str()),
                _ => r.kind().as_str().to_string(),
            };
            *self.kinds.entry(kind).or_default() += 1;
            match &r.data {
                Data::Book(b) => {
                    self.books += 1;
                    if b.checksum_ok == Some(true) {
                        self.book_checksums_ok += 1;
                    }
                }
                Data::Status(s) if s.event == StatusEvent::Gap => {
                    self.gaps += 1;
                    self.gap_natives.push(r.native.to_string());
                }
                _ => {}
            }
        }
    }
}

/// A covered connection: its connector and parser.
struct Conn {
    connector: &'static dyn Connector,
    parser: Box<dyn FrameParser>,
}

fn replay(dir: &Path, rel: &str) -> Outcome {
    let mut out = Outcome {
        file: rel.to_string(),
        ..Outcome::default()
    };
    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut records = Vec::new();
    // Snapshot requests (with their connection) and the recorded bodies by symbol.
    let mut pending: Vec<(u64, RestRequest)> = Vec::new();
    let mut recorded: HashMap<String, VecDeque<String>> = HashMap::new();
    for e in read(&dir.join(rel)) {
        match e.ev.as_str() {
            "open" => {
                let url = e.url.unwrap_or_default();
                match fuzzing::capture_parser(&url) {
                    Some((connector, parser)) => {
                        out.by.insert(connector.name());
                        conns.insert(e.conn, Conn { connector, parser });
                    }
                    None => out.uncovered.push(short(&url)),
                }
            }
            "http" => {
                if let (Some(url), Some(body)) = (&e.url, e.text) {
                    if let Some(symbol) = snapshot_symbol(url, &body) {
                        recorded.entry(symbol).or_default().push_back(body);
                    }
                }
            }
            "recv" => {
                let Some(conn) = conns.get_mut(&e.conn) else {
                    continue;
                };
                // Binary frames decode by the connector's rule, as the session does.
                let text = match (e.text, &e.b64) {
                    (Some(text), _) => text,
                    (None, Some(b64)) => {
                        let payload = base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .expect("a capture's b64 is base64");
                        match conn.connector.binary_frames().decode(&payload, 64 << 20) {
                            Decoded::Text(text) => text,
                            other => {
                                out.frames += 1;
                                out.errors.push(format!(
                                    "{} conn {}: binary frame: {other:?}",
                                    conn.connector.name(),
                                    e.conn
                                ));
                                continue;
                            }
                        }
                    }
                    (None, None) => continue,
                };
                out.frames += 1;
                records.clear();
                match conn.parser.parse(&text, e.ts, &mut records) {
                    Ok(Parsed::Data) => out.data += 1,
                    Ok(_) => {}
                    Err(err) => {
                        if err.label() == "unknown" {
                            out.unknown += 1;
                        }
                        out.errors.push(format!(
                            "{} conn {}: {err}: {}",
                            conn.connector.name(),
                            e.conn,
                            preview(&text)
                        ))
                    }
                }
                out.tally(&records);
                pending.extend(conn.parser.rest_requests().into_iter().map(|r| (e.conn, r)));
            }
            _ => {}
        }
        // Answer every request whose recorded response exists by now.
        while let Some(i) = pending
            .iter()
            .position(|(_, q)| recorded.get(&q.key).is_some_and(|r| !r.is_empty()))
        {
            let (id, q) = pending.remove(i);
            let body = recorded.get_mut(&q.key).unwrap().pop_front().unwrap();
            let conn = conns
                .get_mut(&id)
                .expect("a request of a covered connection");
            records.clear();
            match conn.parser.on_rest(&q.key, Ok(&body), e.ts, &mut records) {
                Ok(_) => out.snapshots += 1,
                Err(err) => out.errors.push(format!(
                    "{} conn {id}: snapshot of {}: {err}",
                    conn.connector.name(),
                    q.key
                )),
            }
            out.tally(&records);
            pending.extend(conn.parser.rest_requests().into_iter().map(|r| (id, r)));
        }
    }
    out
}

/// Replays every recording of the corpus, two at a time (the machine has two cores).
fn replay_corpus(dir: &Path) -> Vec<Outcome> {
    let files = recordings(dir);
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(rel) = files.get(i) else { break };
                let o = replay(dir, rel);
                outcomes.lock().unwrap().push(o);
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap();
    outcomes.sort_by(|a, b| a.file.cmp(&b.file));
    outcomes
}

/// Recordings the registry must cover today, with the connector that claims them (a
/// floor: a connector whose URL matching regressed fails here; a new connector only
/// adds coverage).
/// Real breaks in recordings, as (recording, native symbol, why), in order: the only
/// gaps a covered recording may show.
const REAL_GAPS: &[(&str, &str, &str)] = &[(
    "cryptofeed/bitflyer.jsonl.gz",
    "FX_BTC_JPY",
    "the board snapshot received at 2021-12-12T23:05:52.135Z is out of step with the diffs: the next \
     diff's mid_price (5869789) disagrees with the book rebuilt from that snapshot \
     (best bid 5868836, ask 5870583); the next snapshot resyncs it",
)];

const MUST_COVER: &[(&str, &str)] = &[
    ("cryptofeed/okx.jsonl.gz", "okx"),
    ("cryptofeed/okcoin.jsonl.gz", "okx"),
    ("cryptofeed/coinbase.jsonl.gz", "coinbase"),
    ("cryptofeed/bitstamp.jsonl.gz", "bitstamp"),
    ("cryptofeed/huobi.jsonl.gz", "htx"),
    ("cryptofeed/huobi_swap.jsonl.gz", "htx-swap"),
    ("cryptofeed/gateio.jsonl.gz", "gateio"),
    ("cryptofeed/gateio_futures.jsonl.gz", "gateio-futures"),
    ("cryptofeed/gemini.jsonl.gz", "gemini"),
    ("cryptofeed/bitflyer.jsonl.gz", "bitflyer"),
    ("cryptofeed/bitmex.jsonl.gz", "bitmex"),
    ("cryptofeed/kraken_futures.jsonl.gz", "kraken-futures"),
    ("cryptofeed/deribit.jsonl.gz", "deribit"),
    ("cryptofeed/bitfinex.jsonl.gz", "bitfinex"),
    ("cryptofeed/binance.jsonl.gz", "binance"),
    ("cryptofeed/binance_futures.jsonl.gz", "binance-usdm"),
    ("cryptofeed/binance_delivery.jsonl.gz", "binance-coinm"),
    ("cryptofeed/binance_us.jsonl.gz", "binance-us"),
    ("cryptofeed/kucoin.jsonl.gz", "kucoin"),
    ("cryptofeed/upbit.jsonl.gz", "upbit"),
    ("hftbacktest/binance_btcusdt_20240808.jsonl.gz", "binance"),
    (
        "hftbacktest/binance-usdm_btcusdt_20240808.jsonl.gz",
        "binance-usdm",
    ),
    (
        "hftbacktest/binance-coinm_btcusd_perp_20240808.jsonl.gz",
        "binance-coinm",
    ),
];

#[test]
fn supported_recordings_parse_with_zero_unknown_frames_and_intact_books() {
    let dir = captures_dir();
    let outcomes = replay_corpus(&dir);
    println!(
        "{:<56} {:<28} {:>6} {:>6} {:>7} {:>6} {:>5} {:>4} {:>6}",
        "recording", "connector", "frames", "data", "records", "books", "snaps", "gaps", "errors"
    );
    let mut uncovered = Vec::new();
    for o in &outcomes {
        if !o.by.is_empty() {
            let by: Vec<&str> = o.by.iter().copied().collect();
            println!(
                "{:<56} {:<28} {:>6} {:>6} {:>7} {:>6} {:>5} {:>4} {:>6}",
                o.file,
                by.join(","),
                o.frames,
                o.data,
                o.records,
                o.books,
                o.snapshots,
                o.gaps,
                o.errors.len()
            );
            let kinds: Vec<String> = o.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
            println!("    by kind: {}", kinds.join(", "));
        }
        if o.by.is_empty() && o.uncovered.is_empty() {
            uncovered.push(format!("{}: (no connection recorded)", o.file));
        }
        let mut urls: Vec<&String> = o.uncovered.iter().collect();
        urls.sort();
        urls.dedup();
        for url in urls {
            let n = o.uncovered.iter().filter(|u| *u == url).count();
            let times = if n > 1 {
                format!(" (x{n})")
            } else {
                String::new()
            };
            uncovered.push(format!("{}: {url}{times}", o.file));
        }
    }
    println!("uncovered (no registered connector claims the URL):");
    for u in &uncovered {
        println!("  {u}");
    }

    for o in &outcomes {
        let rel = &o.file;
        assert!(
            o.errors.is_empty(),
            "{rel}: {} frames failed ({} unknown), first: {:?}",
            o.errors.len(),
            o.unknown,
            &o.errors[..o.errors.len().min(3)]
        );
        let real: Vec<&str> = REAL_GAPS
            .iter()
            .filter(|(f, _, _)| f == rel)
            .map(|(_, native, _)| *native)
            .collect();
        assert_eq!(
            o.gap_natives, real,
            "{rel}: book chain broken (expected only the recording's real gaps)"
        );
        if o.frames > 0 {
            assert!(o.data > 0 && o.records > 0, "{rel}: no data parsed");
        }
        if o.by.contains("okx") {
            assert!(o.books > 0, "{rel}: no book records");
            // Pre-seqId OKX recordings: every book record verified by the checksum.
            assert_eq!(
                o.book_checksums_ok, o.books,
                "{rel}: unverified book records"
            );
        }
    }
    for (rel, name) in MUST_COVER {
        let o = outcomes
            .iter()
            .find(|o| o.file == *rel)
            .unwrap_or_else(|| panic!("capture {rel} is missing from {}", dir.display()));
        assert!(
            o.by.contains(name) && o.frames > 0,
            "{rel}: not covered by `{name}` (claimed by {:?}, uncovered {:?})",
            o.by,
            o.uncovered
        );
        // Books published (Binance's from the recorded snapshots) and chain-checked.
        assert!(o.books > 0, "{rel}: no book records");
    }
}

/// Recordings of older APIs, each with the registered connector of the same exchange
/// that implements a newer one: that connector must not claim them (its parser would
/// see a protocol it does not speak).
const OLDER_PROTOCOLS: &[(&str, &str, &str)] = &[
    (
        "cryptofeed/kraken.jsonl.gz",
        "kraken",
        "Kraken WebSocket v1",
    ),
    (
        "cryptofeed/kraken_futures.jsonl.gz",
        "kraken",
        "Kraken Futures v1",
    ),
    (
        "cryptofeed/bybit.jsonl.gz",
        "bybit",
        "Bybit pre-v5 (realtime)",
    ),
];

#[test]
fn uncovered_recordings_use_older_protocols() {
    let dir = captures_dir();
    for (rel, name, why) in OLDER_PROTOCOLS {
        let connector = connectors()
            .iter()
            .find(|c| c.name() == *name)
            .unwrap_or_else(|| panic!("no registered connector {name}"));
        let urls = opened_urls(&dir.join(rel));
        assert!(!urls.is_empty(), "{rel}: no connection recorded");
        for url in &urls {
            assert_eq!(
                connector.market_of_url(url),
                None,
                "{rel} ({why}): `{name}` claims {url}"
            );
        }
    }
}

#[test]
fn okx_recording_in_numbers() {
    let o = replay(&captures_dir(), "cryptofeed/okx.jsonl.gz");
    // 440 events: 3 connections' worth of trades, tickers, books and acks.
    assert_eq!(o.by.iter().copied().collect::<Vec<_>>(), ["okx"]);
    assert_eq!(o.gaps, 0);
    assert_eq!(o.books, 290, "3 snapshots + 287 updates");
    assert_eq!(o.book_checksums_ok, 290);
}

// ---------------------------------------------------------------------------------
// Fault injection on real data: the OKX recording's frames, given `seqId`/`prevSeqId`
// per instrument as the current API sends them (checksum 0, deprecated), replayed
// clean and with one update dropped, two swapped, or one corrupted. A consumer
// rebuilds every book from the emitted `book` records only.
// ---------------------------------------------------------------------------------

use tickbridge_connectors::book::OrderBook;

/// The OKX recording's received frames (connection 1), in order.
fn okx_frames() -> Vec<String> {
    read(&captures_dir().join("cryptofeed/okx.jsonl.gz"))
        .into_iter()
        .filter(|e| e.ev == "recv" && e.conn == 1)
        .filter_map(|e| e.text)
        .collect()
}

/// Rewrites `books` frames as the current API sends them: `seqId` per instrument
/// (snapshot 1000, then +3 per update: not contiguous), `prevSeqId` chaining, checksum 0.
/// Returns the frames and, per frame index, the instrument and seqId of a books frame.
fn with_seq_ids(frames: &[String]) -> (Vec<String>, Vec<Option<(String, i64)>>) {
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut out = Vec::new();
    let mut meta = Vec::new();
    for f in frames {
        let mut v: serde_json::Value = serde_json::from_str(f).unwrap();
        if v["arg"]["channel"] != "books" || v.get("data").is_none() {
            out.push(f.clone());
            meta.push(None);
            continue;
        }
        let inst = v["arg"]["instId"].as_str().unwrap().to_string();
        let snapshot = v["action"] == "snapshot";
        let (prev, seq) = if snapshot {
            (-1, 1000)
        } else {
            let p = last[&inst];
            (p, p + 3)
        };
        last.insert(inst.clone(), seq);
        let d = &mut v["data"][0];
        d["checksum"] = 0.into();
        d["prevSeqId"] = prev.into();
        d["seqId"] = seq.into();
        out.push(v.to_string());
        meta.push(Some((inst, seq)));
    }
    (out, meta)
}

/// A consumer of the published stream: books rebuilt from `book` records only.
#[derive(Default)]
struct Consumer {
    books: HashMap<String, OrderBook>,
    gaps: Vec<(String, Option<u64>, Option<u64>)>,
    records: Vec<Record>,
}

impl Consumer {
    fn take(&mut self, records: &mut Vec<Record>) {
        for r in records.drain(..) {
            match &r.data {
                Data::Book(b) => {
                    let book = self.books.entry(r.native.to_string()).or_default();
                    if b.snapshot {
                        book.replace(&b.bids, &b.asks);
                    } else {
                        book.apply(&b.bids, &b.asks);
                    }
                }
                Data::Status(s) if s.event == StatusEvent::Gap => {
                    self.gaps.push((r.native.to_string(), s.expected, s.got));
                    self.books.remove(r.native.as_str());
                }
                _ => {}
            }
            self.records.push(r);
        }
    }

    fn book(&self, inst: &str) -> (Vec<tickbridge_schema::Level>, Vec<tickbridge_schema::Level>) {
        self.books[inst].top(None)
    }
}

/// The parser of the OKX recording's connection, as the corpus harness picks it.
fn parser() -> Box<dyn FrameParser> {
    let (connector, parser) = fuzzing::capture_parser("wss://ws.okx.com:8443/ws/v5/public")
        .expect("a registered connector claims the OKX URL");
    assert_eq!(connector.name(), "okx");
    parser
}

/// The clean run: the consumer, and the consumer's book of `inst` after each frame.
fn clean_run(frames: &[String], inst: &str) -> (Consumer, Vec<Option<OrderBook>>) {
    let mut p = parser();
    let mut c = Consumer::default();
    let mut recs = Vec::new();
    let mut after = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        p.parse(f, i as i64, &mut recs).unwrap();
        c.take(&mut recs);
        after.push(c.books.get(inst).cloned());
    }
    (c, after)
}

/// The snapshot the exchange would send for `inst` when resubscribed after frame `i`.
fn fresh_snapshot(inst: &str, book: &OrderBook, seq: i64) -> String {
    let (bids, asks) = book.top(None);
    let lv = |l: &[tickbridge_schema::Level]| -> Vec<serde_json::Value> {
        l.iter()
            .map(|l| serde_json::json!([l.0.as_str(), l.1.as_str(), "0", "1"]))
            .collect()
    };
    serde_json::json!({"arg": {"channel": "books", "instId": inst}, "action": "snapshot",
        "data": [{"asks": lv(&asks), "bids": lv(&bids), "ts": "1652459230000", "checksum": 0, "prevSeqId": -1, "seqId": seq}]})
    .to_string()
}

/// Replays `frames` with `fault` applied at the `k`-th update of `inst`; answers the
/// parser's resubscription with the exchange's fresh snapshot. Returns the consumer.
fn faulty_run(
    frames: &[String],
    meta: &[Option<(String, i64)>],
    clean_after: &[Option<OrderBook>],
    inst: &str,
    k: usize,
    fault: &str,
) -> (Consumer, usize) {
    let updates: Vec<usize> = (0..frames.len())
        .filter(|i| matches!(&meta[*i], Some((x, s)) if x == inst && *s != 1000))
        .collect();
    let at = updates[k];
    let mut order: Vec<usize> = (0..frames.len()).collect();
    let mut corrupt = None;
    match fault {
        "drop" => {
            order.remove(at);
        }
        "reorder" => {
            let next = updates[k + 1];
            let (a, b) = (
                order.iter().position(|x| *x == at).unwrap(),
                order.iter().position(|x| *x == next).unwrap(),
            );
            order.swap(a, b);
        }
        "corrupt" => corrupt = Some(at),
        _ => unreachable!(),
    }
    let mut p = parser();
    let mut c = Consumer::default();
    let mut recs = Vec::new();
    let mut resyncs = 0;
    let mut pending_snapshot = false;
    for &i in &order {
        let mut frame = frames[i].clone();
        if corrupt == Some(i) {
            // A corrupted update: its chain ids no longer follow (bit flip in prevSeqId).
            frame = frame.replace("\"prevSeqId\":", "\"prevSeqId\":7");
        }
        // Receive times are the original frames' (records compare with the clean run).
        p.parse(&frame, i as i64, &mut recs).unwrap();
        c.take(&mut recs);
        let out = p.resubscribe();
        if !out.is_empty() {
            assert_eq!(out.len(), 2, "unsubscribe + subscribe");
            assert!(
                out[0].contains("unsubscribe") && out[1].contains(inst),
                "{out:?}"
            );
            resyncs += 1;
            pending_snapshot = true;
        }
        if pending_snapshot {
            // The exchange answers after the frames already in flight: here, at once,
            // with the book as it truly is after frame `i` (the clean run's).
            if let (Some(book), Some((_, seq))) =
                (&clean_after[i], meta[i].as_ref().filter(|(x, _)| x == inst))
            {
                let snap = fresh_snapshot(inst, book, *seq);
                p.parse(&snap, i as i64, &mut recs).unwrap();
                c.take(&mut recs);
                pending_snapshot = false;
            }
        }
    }
    (c, resyncs)
}

#[test]
fn okx_fault_injection_gaps_one_instrument_and_resyncs_it() {
    let (frames, meta) = with_seq_ids(&okx_frames());
    let inst = "BTC-USD-220527";
    let (clean, after) = clean_run(&frames, inst);
    assert!(clean.gaps.is_empty());
    for fault in ["drop", "reorder", "corrupt"] {
        let (faulty, resyncs) = faulty_run(&frames, &meta, &after, inst, 20, fault);
        // Exactly one gap, for that instrument only, and one resubscription.
        assert_eq!(faulty.gaps.len(), 1, "{fault}: {:?}", faulty.gaps);
        assert_eq!(faulty.gaps[0].0, inst, "{fault}");
        assert_eq!(resyncs, 1, "{fault}");
        // The other instruments' records are exactly the clean run's.
        let others = |c: &Consumer| -> Vec<String> {
            c.records
                .iter()
                .filter(|r| r.native != inst)
                .map(|r| String::from_utf8(r.to_json()).unwrap())
                .collect()
        };
        let (a, b) = (others(&faulty), others(&clean));
        assert_eq!(a.len(), b.len(), "{fault}");
        if let Some(i) = (0..a.len()).find(|i| a[*i] != b[*i]) {
            panic!("{fault}: record {i} differs:\n{}\n{}", a[i], b[i]);
        }
        // The resynced book ends exactly where the exchange's does.
        for i in ["BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"] {
            assert_eq!(faulty.book(i), clean.book(i), "{fault}: {i}");
        }
        // A resync is announced and the book restarts with a snapshot.
        let statuses: Vec<&str> = faulty
            .records
            .iter()
            .filter(|r| r.native == inst)
            .filter_map(|r| match &r.data {
                Data::Status(s) => Some(s.event.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(statuses, ["gap", "resynced"], "{fault}");
    }
}

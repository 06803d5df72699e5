//! Memory per idle subscribed WebSocket connection and per idle subscribed symbol,
//! measured on the real session driver and the Binance connector.
//!
//! The process re-executes itself as a child in `--server` mode: a local Binance
//! look-alike (WebSocket on 127.0.0.1:0 answering every `SUBSCRIBE` with
//! `{"result":null,"id":n}` and then staying idle, answering pings; plus an HTTP
//! endpoint for `GET /api/v3/depth` snapshots). The server is a separate process, so
//! only the client side is counted.
//!
//! The parent (the measured process) reads VmRSS (and the heap bytes live, counted by
//! a wrapper around the allocator) before any session, after one warm-up session (to
//! a second port: a host of its own for the connection-attempt gate), and after all
//! sessions are subscribed, then prints
//!
//! ```text
//! RESULT conns=C symbols=S ... rss_kib_per_conn=.. heap_kib_per_conn=..
//! ```
//!
//! per connection = delta / C, and, given `--per-conn-kib X` (the per-connection
//! figure of a 1-symbol-per-connection run), per symbol = (delta - C·X) / S.
//!
//! ```text
//! cargo run --release -p tickbridge-connectors --example conn_memory -- \
//!     --connections 300 --symbols 300 --channels trade,bbo
//! cargo run --release -p tickbridge-connectors --example conn_memory -- \
//!     --connections 20 --symbols 1000 --channels trade,bbo --per-conn-kib 150
//! ```
//!
//! Options: `--connections C` (symbols are split into C groups, each planned like a
//! source of its own; the planner may shard a group further), `--symbols S`,
//! `--channels a,b` (trade, bbo, book, ticker), `--book-levels L` (levels per side of
//! the snapshots the server serves, with `book`), `--snapshot-depth D` (the source's
//! `book.snapshot_depth`), `--settle SECS` (wait after the last subscription before
//! measuring, default 3), `--hold SECS` (measure again after this much more idle time,
//! e.g. 25 to cover a ping round), `--big-frame BYTES` (the server sends one
//! bookTicker frame of this size on every connection after its first ack; the run
//! checks it arrived whole as a record and measures again), `--sizes` (print type
//! sizes), `--throughput N` (the server sends N trade frames on every connection after
//! its trade subscription, as fast as it can or, with `--paced-hz HZ`, HZ a second;
//! the run prints the client's CPU time per frame), `--exit-after-measure` (exit right after the first measurement, sessions
//! still open: under heaptrack the "leaks" are then what the idle sessions hold).
//! `TB_ALLOC=system` measures under glibc malloc instead of mimalloc (the
//! binary's allocator); heaptrack needs it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tickbridge_connectors::book::BookConfig;
use tickbridge_connectors::contract::{Channel, ConnectionPlan, Connector, SourceRequest};
use tickbridge_connectors::session::{Backoff, Session, SessionSpec};
use tickbridge_connectors::stats::SourceStats;
use tickbridge_schema::{Data, Market, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------
// Session construction: the one place that uses the Session API (mirrors src/run.rs,
// `bridge`, with the `[connection]` defaults of src/config.rs).
// ---------------------------------------------------------------------------------

/// Starts the session of one planned connection, as `tickbridge run` does.
fn spawn_session(
    handles: &mut Vec<tokio::task::JoinHandle<()>>,
    connector: &'static dyn Connector,
    conn: u64,
    plan: ConnectionPlan,
    out: mpsc::Sender<Record>,
    stats: Arc<SourceStats>,
    cancel: CancellationToken,
) {
    let parser_plan = plan.clone();
    let spec = SessionSpec {
        exchange: connector.name(),
        conn,
        plan,
        heartbeat: connector.heartbeat(),
        limits: connector.limits(),
        backoff: Backoff {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
        },
        max_frame_bytes: 16 << 20,
        binary: connector.binary_frames(),
        connect_timeout: Duration::from_secs(10),
        rotation_overlap: Duration::from_secs(2),
    };
    let session = Session::new(
        spec,
        Box::new(move || connector.parser(&parser_plan)),
        out,
        stats,
        None,
    );
    // Joined by the caller at the end.
    handles.push(tokio::spawn(session.run(cancel)));
}

// ---------------------------------------------------------------------------------
// The allocator: mimalloc (as the binary) or glibc (`TB_ALLOC=system`), with the live
// heap bytes counted.
// ---------------------------------------------------------------------------------

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// 0: not chosen yet; 1: mimalloc; 2: system.
static MODE: AtomicU8 = AtomicU8::new(0);

extern "C" {
    fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
}

fn mode() -> u8 {
    let m = MODE.load(Relaxed);
    if m != 0 {
        return m;
    }
    // getenv does not allocate; every thread that races here computes the same answer.
    let p = unsafe { getenv(c"TB_ALLOC".as_ptr()) };
    let system = !p.is_null() && unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes() == b"system";
    let m = if system { 2 } else { 1 };
    MODE.store(m, Relaxed);
    m
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        if mode() == 2 {
            System.alloc(layout)
        } else {
            mimalloc::MiMalloc.alloc(layout)
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        if mode() == 2 {
            System.alloc_zeroed(layout)
        } else {
            mimalloc::MiMalloc.alloc_zeroed(layout)
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        if mode() == 2 {
            System.dealloc(ptr, layout)
        } else {
            mimalloc::MiMalloc.dealloc(ptr, layout)
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        if mode() == 2 {
            System.realloc(ptr, layout, new_size)
        } else {
            mimalloc::MiMalloc.realloc(ptr, layout, new_size)
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Opts {
    server: bool,
    connections: usize,
    symbols: usize,
    channels: Vec<Channel>,
    book_levels: usize,
    snapshot_depth: Option<u32>,
    settle: Duration,
    hold: Option<Duration>,
    big_frame: Option<usize>,
    per_conn_kib: Option<f64>,
    sizes: bool,
    throughput: Option<u64>,
    paced_hz: Option<f64>,
    exit_after_measure: bool,
}

fn opts() -> Opts {
    let mut o = Opts {
        server: false,
        connections: 300,
        symbols: 300,
        channels: vec![Channel::Trade, Channel::Bbo],
        book_levels: 1000,
        snapshot_depth: None,
        settle: Duration::from_secs(3),
        hold: None,
        big_frame: None,
        per_conn_kib: None,
        sizes: false,
        throughput: None,
        paced_hz: None,
        exit_after_measure: false,
    };
    let mut args = std::env::args().skip(1);
    let usage = |what: &str| -> ! {
        eprintln!("conn_memory: {what} (see the header of examples/conn_memory.rs)");
        std::process::exit(2)
    };
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--server" => o.server = true,
            "--sizes" => o.sizes = true,
            "--exit-after-measure" => o.exit_after_measure = true,
            "--connections" => o.connections = val().parse().unwrap_or_else(|_| usage(&a)),
            "--symbols" => o.symbols = val().parse().unwrap_or_else(|_| usage(&a)),
            "--book-levels" => o.book_levels = val().parse().unwrap_or_else(|_| usage(&a)),
            "--snapshot-depth" => {
                o.snapshot_depth = Some(val().parse().unwrap_or_else(|_| usage(&a)))
            }
            "--settle" => {
                o.settle = Duration::from_secs_f64(val().parse().unwrap_or_else(|_| usage(&a)))
            }
            "--hold" => {
                o.hold = Some(Duration::from_secs_f64(
                    val().parse().unwrap_or_else(|_| usage(&a)),
                ))
            }
            "--big-frame" => o.big_frame = Some(val().parse().unwrap_or_else(|_| usage(&a))),
            "--paced-hz" => o.paced_hz = Some(val().parse().unwrap_or_else(|_| usage(&a))),
            "--throughput" => o.throughput = Some(val().parse().unwrap_or_else(|_| usage(&a))),
            "--per-conn-kib" => o.per_conn_kib = Some(val().parse().unwrap_or_else(|_| usage(&a))),
            "--channels" => {
                o.channels = val()
                    .split(',')
                    .map(|c| Channel::parse(c.trim()).unwrap_or_else(|| usage(c)))
                    .collect()
            }
            other => usage(&format!("unknown option {other}")),
        }
    }
    o
}

// ---------------------------------------------------------------------------------
// Measurement helpers
// ---------------------------------------------------------------------------------

/// (VmRSS, RssAnon) in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

/// CPU time (user + system) of this process, in seconds.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line; 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn heap_kib() -> f64 {
    LIVE.load(Relaxed) as f64 / 1024.0
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    rss: u64,
    anon: u64,
    heap: f64,
}

fn sample() -> Sample {
    let (rss, anon) = rss_kib();
    Sample {
        rss,
        anon,
        heap: heap_kib(),
    }
}

// ---------------------------------------------------------------------------------
// Client (the measured process)
// ---------------------------------------------------------------------------------

fn plans(
    connector: &'static dyn Connector,
    opts: &Opts,
    ws_url: &str,
    rest_url: &str,
    names: &[String],
    groups: usize,
) -> Vec<ConnectionPlan> {
    let groups = groups.max(1).min(names.len().max(1));
    let per = names.len().div_ceil(groups);
    let mut out = Vec::new();
    for chunk in names.chunks(per.max(1)) {
        let request = SourceRequest {
            market: Market::Spot,
            channels: opts.channels.clone(),
            symbols: chunk
                .iter()
                .map(|s| connector.symbol(Market::Spot, s).expect("a valid symbol"))
                .collect(),
            ws_url: ws_url.to_string(),
            rest_url: rest_url.to_string(),
            books: book_config(opts, rest_url),
        };
        out.extend(connector.plan(&request).expect("plans"));
    }
    out
}

fn book_config(opts: &Opts, rest_url: &str) -> BookConfig {
    BookConfig {
        rest_url: rest_url.to_string(),
        snapshot_depth: opts.snapshot_depth,
        ..BookConfig::default()
    }
}

/// Waits until `stats` counts `want` subscribed connections (and, with books, every
/// symbol's snapshot record arrived).
async fn wait_subscribed(
    stats: &SourceStats,
    want: u64,
    books: &AtomicU64,
    want_books: u64,
    limit: Duration,
) -> bool {
    let start = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let subscribed = SourceStats::get(&stats.subscribed_connections);
        let b = books.load(Relaxed);
        if subscribed >= want && b >= want_books {
            return true;
        }
        if start.elapsed() > limit {
            eprintln!("timed out: {subscribed}/{want} subscribed, {b}/{want_books} book snapshots");
            return false;
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  .. {subscribed}/{want} subscribed, {b}/{want_books} book snapshots ({:.0?})",
                start.elapsed()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn print_sizes() {
    use std::mem::size_of;
    type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
    eprintln!("size_of Record = {}", size_of::<Record>());
    eprintln!(
        "size_of WebSocketStream<MaybeTlsStream<TcpStream>> = {}",
        size_of::<Ws>()
    );
    eprintln!(
        "size_of tokio_rustls::client::TlsStream<TcpStream> = (inside MaybeTlsStream) {}",
        size_of::<tokio_tungstenite::MaybeTlsStream<TcpStream>>()
    );
    eprintln!("size_of TcpStream = {}", size_of::<TcpStream>());
    eprintln!("size_of ConnectionPlan = {}", size_of::<ConnectionPlan>());
    eprintln!(
        "size_of SymbolInfo = {}",
        size_of::<tickbridge_connectors::symbols::SymbolInfo>()
    );
}

async fn client(opts: Opts, ports: [u16; 3]) {
    let connector = tickbridge_connectors::connector("binance").expect("the binance connector");
    let [ws_port, warm_port, http_port] = ports;
    let ws_url = format!("ws://127.0.0.1:{ws_port}");
    let warm_url = format!("ws://127.0.0.1:{warm_port}");
    let rest_url = format!("http://127.0.0.1:{http_port}");
    let with_book = opts.channels.contains(&Channel::Book);

    // Downstream: a consumer that drops records (the pipeline in the binary), counting
    // book snapshots and the big frame's bbo records.
    let (tx, mut rx) = mpsc::channel::<Record>(8192);
    let books = Arc::new(AtomicU64::new(0));
    let big_bbo = Arc::new(AtomicU64::new(0));
    let trades = Arc::new(AtomicU64::new(0));
    let first_trade = Arc::new(std::sync::Mutex::new(None::<(Instant, f64)>));
    // Ends when every session dropped its sender (joined at the end).
    let consumer_handle = tokio::spawn({
        let (books, big_bbo, trades, first_trade) = (
            books.clone(),
            big_bbo.clone(),
            trades.clone(),
            first_trade.clone(),
        );
        async move {
            while let Some(r) = rx.recv().await {
                match &r.data {
                    Data::Trade(_) => {
                        let before = trades.fetch_add(1, Relaxed);
                        if before == 0 {
                            *first_trade.lock().unwrap() = Some((Instant::now(), cpu_s()));
                        }
                    }
                    Data::Book(b) if b.snapshot => {
                        books.fetch_add(1, Relaxed);
                    }
                    Data::Bbo(b) if b.bid_price.as_ref().is_some_and(|p| p.as_str() == "1.5") => {
                        big_bbo.fetch_add(1, Relaxed);
                    }
                    _ => {}
                }
            }
        }
    });
    let cancel = CancellationToken::new();
    let mut handles = Vec::new();

    let before = sample();
    // Warm-up: one session of the same shape (one-time costs: the REST client, the
    // connection gate, runtime slabs, the allocator's first pages).
    let warm_stats = Arc::new(SourceStats::default());
    let warm_names = vec!["WARM-USDT".to_string()];
    for plan in plans(connector, &opts, &warm_url, &rest_url, &warm_names, 1) {
        spawn_session(
            &mut handles,
            connector,
            0,
            plan,
            tx.clone(),
            warm_stats.clone(),
            cancel.clone(),
        );
    }
    let warm_books = if with_book { 1 } else { 0 };
    if !wait_subscribed(&warm_stats, 1, &books, warm_books, Duration::from_secs(60)).await {
        std::process::exit(1);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let warm = sample();

    let names: Vec<String> = (0..opts.symbols).map(|i| format!("C{i}-USDT")).collect();
    let all = plans(
        connector,
        &opts,
        &ws_url,
        &rest_url,
        &names,
        opts.connections,
    );
    let conns = all.len();
    let longest = all.iter().map(|p| p.requests.len()).max().unwrap_or(0);
    let stats = Arc::new(SourceStats::default());
    let started = Instant::now();
    for (i, plan) in all.into_iter().enumerate() {
        spawn_session(
            &mut handles,
            connector,
            i as u64 + 1,
            plan,
            tx.clone(),
            stats.clone(),
            cancel.clone(),
        );
    }
    let want_books = if with_book {
        warm_books + opts.symbols as u64
    } else {
        0
    };
    // 300 ms per subscribe request; book snapshots wait for the REST budget.
    let limit = Duration::from_secs(120)
        + Duration::from_millis(400 * longest as u64)
        + if with_book {
            Duration::from_secs(900)
        } else {
            Duration::ZERO
        };
    if !wait_subscribed(&stats, conns as u64, &books, want_books, limit).await {
        std::process::exit(1);
    }
    let subscribed_in = started.elapsed();
    tokio::time::sleep(opts.settle).await;
    let after = sample();

    let c = conns as f64;
    let s = opts.symbols as f64;
    let per = |a: f64, b: f64| (a - b) / c;
    let mut line = format!(
        "RESULT alloc={} conns={conns} symbols={} channels={} subscribed_in_s={:.1} \
         rss_kib_before={} rss_kib_warm={} rss_kib_after={} heap_kib_warm={:.0} heap_kib_after={:.0} \
         rss_kib_per_conn={:.1} anon_kib_per_conn={:.1} heap_kib_per_conn={:.1} rss_kib_per_conn_incl_onetime={:.1}",
        if mode() == 2 { "system" } else { "mimalloc" },
        opts.symbols,
        opts.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+"),
        subscribed_in.as_secs_f64(),
        before.rss,
        warm.rss,
        after.rss,
        warm.heap,
        after.heap,
        per(after.rss as f64, warm.rss as f64),
        per(after.anon as f64, warm.anon as f64),
        per(after.heap, warm.heap),
        (after.rss as f64 - before.rss as f64) / c,
    );
    if let Some(x) = opts.per_conn_kib {
        line += &format!(
            " rss_kib_per_symbol={:.2} heap_kib_per_symbol_raw={:.2}",
            (after.rss as f64 - warm.rss as f64 - c * x) / s,
            (after.heap - warm.heap) / s,
        );
    }
    println!("{line}");
    if opts.exit_after_measure {
        // Everything still allocated is what the idle sessions hold: heaptrack reports
        // it as "leaked", by call site.
        std::process::exit(0);
    }

    if let Some(hold) = opts.hold {
        tokio::time::sleep(hold).await;
        let held = sample();
        println!(
            "HOLD after_s={:.0} rss_kib_per_conn={:.1} heap_kib_per_conn={:.1} pong_timeouts={} reconnects={}",
            hold.as_secs_f64(),
            per(held.rss as f64, warm.rss as f64),
            per(held.heap, warm.heap),
            SourceStats::get(&stats.pong_timeouts),
            SourceStats::get(&stats.reconnects),
        );
    }

    if let Some(n) = opts.throughput {
        // Every connection's server side sent `n` trade frames after its first ack.
        let want = n * conns as u64;
        let deadline = Instant::now() + Duration::from_secs(600);
        while trades.load(Relaxed) < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (t0, c0) = first_trade
            .lock()
            .unwrap()
            .unwrap_or((Instant::now(), cpu_s()));
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_s() - c0);
        let got = trades.load(Relaxed);
        println!(
            "THROUGHPUT trades={got}/{want} wall_s={wall:.3} cpu_s={cpu:.3} frames_per_s={:.0} cpu_ns_per_frame={:.0} frames={}",
            got as f64 / wall,
            cpu * 1e9 / got as f64,
            SourceStats::get(&stats.frames),
        );
    }

    if let Some(bytes) = opts.big_frame {
        // The server sent one frame of `bytes` on every connection after its first ack.
        let deadline = Instant::now() + Duration::from_secs(30);
        while big_bbo.load(Relaxed) < conns as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(opts.settle).await;
        let big = sample();
        println!(
            "BIGFRAME bytes={bytes} received_as_records={}/{conns} oversized_frames={} reconnects={} \
             rss_kib_per_conn={:.1} heap_kib_per_conn={:.1}",
            big_bbo.load(Relaxed),
            SourceStats::get(&stats.oversized_frames),
            SourceStats::get(&stats.reconnects),
            per(big.rss as f64, warm.rss as f64),
            per(big.heap, warm.heap),
        );
    }
    eprintln!("counters: {:?}", stats.snapshot());
    cancel.cancel();
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    // The sessions dropped their senders: the consumer ends with them.
    drop(tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), consumer_handle).await;
}

// ---------------------------------------------------------------------------------
// Server (the child process; not measured)
// ---------------------------------------------------------------------------------

async fn server(opts: Opts) {
    let ws = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let warm = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!(
        "READY {} {} {}",
        ws.local_addr().unwrap().port(),
        warm.local_addr().unwrap().port(),
        http.local_addr().unwrap().port()
    );
    let opts = Arc::new(opts);
    let tracker = tokio_util::task::TaskTracker::new();
    for (listener, main) in [(ws, true), (warm, false)] {
        let (opts, conns) = (opts.clone(), tracker.clone());
        tracker.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                conns.spawn(ws_conn(stream, opts.clone(), main));
            }
        });
    }
    {
        let (opts, conns) = (opts.clone(), tracker.clone());
        tracker.spawn(async move {
            while let Ok((stream, _)) = http.accept().await {
                conns.spawn(http_conn(stream, opts.clone()));
            }
        });
    }
    tracker.close();
    // Ends when the parent goes (stdin closes).
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while stdin.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {}
}

/// `main`: a connection to the measured port (not the warm-up's).
async fn ws_conn(stream: TcpStream, opts: Arc<Opts>, main: bool) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let mut big_sent = false;
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else {
            // Pings are answered by tungstenite (flushed with the next read).
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            continue;
        };
        if v["method"] != "SUBSCRIBE" {
            continue;
        }
        let id = v["id"].clone();
        let reply = serde_json::json!({"result": null, "id": id}).to_string();
        if ws.send(Message::text(reply)).await.is_err() {
            return;
        }
        for p in v["params"].as_array().into_iter().flatten() {
            let Some(stream) = p.as_str() else { continue };
            let Some((lower, kind)) = stream.split_once('@') else {
                continue;
            };
            let native = lower.to_ascii_uppercase();
            if kind.starts_with("depth") {
                // One diff, so the parser asks for a snapshot (served by `http_conn`
                // with lastUpdateId 5: the diff is already in it).
                let diff = format!(
                    r#"{{"stream":"{stream}","data":{{"e":"depthUpdate","E":1,"s":"{native}","U":1,"u":2,"b":[],"a":[]}}}}"#
                );
                if ws.send(Message::text(diff)).await.is_err() {
                    return;
                }
            }
            if kind == "trade" && main {
                if let Some(n) = opts.throughput {
                    let mut tick = opts
                        .paced_hz
                        .map(|hz| tokio::time::interval(Duration::from_secs_f64(1.0 / hz)));
                    for i in 0..n {
                        if let Some(t) = &mut tick {
                            t.tick().await;
                        }
                        let frame = format!(
                            r#"{{"stream":"{stream}","data":{{"e":"trade","E":1700000000000,"s":"{native}","t":{},"p":"100.01000000","q":"0.50000000","T":1700000000000,"m":true,"M":true}}}}"#,
                            i + 1
                        );
                        let sent = if tick.is_some() {
                            ws.send(Message::text(frame)).await
                        } else {
                            ws.feed(Message::text(frame)).await
                        };
                        if sent.is_err() {
                            return;
                        }
                    }
                    if ws.flush().await.is_err() {
                        return;
                    }
                }
            }
            if kind == "bookTicker" && main && !big_sent {
                if let Some(bytes) = opts.big_frame {
                    big_sent = true;
                    let head = format!(
                        r#"{{"stream":"{stream}","data":{{"u":1,"s":"{native}","b":"1.5","B":"2","a":"3","A":"4","pad":""#
                    );
                    let tail = r#""}}"#;
                    let pad = bytes.saturating_sub(head.len() + tail.len());
                    let mut frame = String::with_capacity(bytes);
                    frame.push_str(&head);
                    frame.extend(std::iter::repeat_n('x', pad));
                    frame.push_str(tail);
                    if ws.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// `GET /api/v3/depth?symbol=X&limit=N`: a snapshot of `--book-levels` per side.
async fn http_conn(mut stream: TcpStream, opts: Arc<Opts>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // One request (no body) at a time; keep-alive.
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        buf.drain(..end);
        let path = head.split_whitespace().nth(1).unwrap_or("");
        let levels = opts.book_levels;
        let side = |base: f64, step: f64| {
            (0..levels)
                .map(|i| format!(r#"["{:.2}","1.5"]"#, base + step * i as f64))
                .collect::<Vec<_>>()
                .join(",")
        };
        let (status, body) = if path.starts_with("/api/v3/depth") {
            (
                "200 OK",
                format!(
                    r#"{{"lastUpdateId":5,"bids":[{}],"asks":[{}]}}"#,
                    side(99_999.0, -0.01),
                    side(100_000.0, 0.01)
                ),
            )
        } else {
            ("404 Not Found", "{}".to_string())
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn main() {
    let opts = opts();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if opts.server {
        runtime.block_on(server(opts));
        return;
    }
    if opts.sizes {
        print_sizes();
    }
    // The server: this same executable, in its own process (its memory is not ours).
    let mut child = Command::new(std::env::current_exe().expect("current_exe"))
        .arg("--server")
        .args(["--book-levels", &opts.book_levels.to_string()])
        .args(
            opts.big_frame
                .map(|b| vec!["--big-frame".to_string(), b.to_string()])
                .unwrap_or_default(),
        )
        .args(
            opts.throughput
                .map(|n| vec!["--throughput".to_string(), n.to_string()])
                .unwrap_or_default(),
        )
        .args(
            opts.paced_hz
                .map(|n| vec!["--paced-hz".to_string(), n.to_string()])
                .unwrap_or_default(),
        )
        .env_remove("TB_ALLOC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server's READY line");
    let ports: Vec<u16> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(ports.len(), 3, "server said {line:?}");
    runtime.block_on(client(opts, [ports[0], ports[1], ports[2]]));
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

//! Binance order-book sync, per symbol: diff buffering, the REST snapshot, the
//! bridging diff, chain checks, and resync of one symbol after a break.
//!
//! The rules, as currently documented ("How to manage a local order book correctly"):
//!
//! - **Buffer** the `@depth` diffs of a symbol and request a REST snapshot
//!   (`/api/v3/depth` on binance.com and Binance.US, `/fapi/v1/depth`, `/dapi/v1/depth`) once the first diff arrived.
//! - **Stale snapshot**: spot: if `lastUpdateId` is below the first buffered `U` the
//!   snapshot cannot bridge the buffer → fetch again (we accept `lastUpdateId + 1 ==
//!   U`, which bridges exactly; the docs' strict `<` re-fetches then too). Futures: if
//!   `lastUpdateId` is below the first buffered diff's `pu`, fetch again.
//! - Drop buffered diffs with `u <= lastUpdateId` (futures docs drop `u <
//!   lastUpdateId` and process a diff with `u == lastUpdateId`, which changes nothing
//!   the snapshot does not already hold; dropping it is equivalent and avoids a
//!   record with `seq == prev_seq`).
//! - Publish the snapshot (`book`, `snapshot=true`, `seq = lastUpdateId`,
//!   `prev_seq = null`), local id = `lastUpdateId`, then apply buffered and live diffs:
//!   - spot: `u <= local` → ignore; `U > local + 1` → **gap**; else apply, local = `u`;
//!   - futures: `u <= local` → ignore; the first diff after the snapshot must have
//!     `pu <= lastUpdateId` (the docs' `U <= lastUpdateId <= u` implies it; `pu ==
//!     lastUpdateId` also bridges exactly); afterwards `pu == local` or **gap**.
//! - On a gap: `status gap` (`expected`/`got`: spot `local + 1` / `U`, futures `local`
//!   / `pu`), the book is dropped, the breaking diff starts a new buffer, a snapshot is
//!   requested: only this symbol resyncs; other symbols on the connection go on.
//!
//! - **No snapshot to be had** (the REST request failed after the fetcher's retries:
//!   HTTP error, timeout, rate limit; or its answer is unusable): `status stale`
//!   (channel `book`, the reason naming the failure and the URL path) once per
//!   episode — from the first failure until a snapshot is applied — and the request
//!   goes again with [`Need::delay`]'s backoff. `stale`, not `gap`: no published
//!   chain breaks (a first sync has none yet; a resync's break was announced by its
//!   `gap`), the book's data just does not flow. The id names the episode by the `U`
//!   of the first buffered diff (`....status.stale.snapshot.<U>`): deterministic.
//!
//! [`SymbolSync`] is pure: it returns [`Need::Snapshot`] and the parser turns it into a
//! REST request; the answer comes back through [`SymbolSync::on_snapshot`] (or
//! [`SymbolSync::on_snapshot_failed`]).

use std::collections::VecDeque;
use std::time::Duration;

use tickbridge_schema::{Level, Record};

use crate::book::{BookSync, Stamp};
use crate::rest::RateLimit;

/// How consecutive diffs are chained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Per-symbol contiguous update ids: the next `U` is the previous `u + 1`.
    Spot,
    /// Update ids are not contiguous; each diff names its predecessor's `u` as `pu`.
    Futures,
}

/// The REST side of one Binance venue's book sync.
#[derive(Debug, Clone, Copy)]
pub struct BookVenue {
    pub chain: Chain,
    /// Snapshot path, e.g. `/api/v3/depth`.
    pub path: &'static str,
    pub limit: &'static RateLimit,
    /// The documented request weight of a snapshot of `limit` levels.
    pub weight: fn(u32) -> u32,
    /// The `limit` to request for a configured depth (`None` = default).
    pub depth: fn(Option<u32>) -> u32,
}

/// Binance spot REST: 6000 request weight per minute per IP (REQUEST_WEIGHT).
pub static SPOT_LIMIT: RateLimit = RateLimit {
    name: "binance-api",
    limit: 6000,
    window: Duration::from_secs(60),
    share_percent: 50,
    used_weight_header: Some("x-mbx-used-weight-1m"),
};

/// Binance.US REST (`api.binance.us`): 1200 request weight per minute per IP, the
/// `REQUEST_WEIGHT` its own `exchangeInfo` lists (see the module docs of
/// [`super`]); a budget of its own, not binance.com's.
pub static US_LIMIT: RateLimit = RateLimit {
    name: "binance-us-api",
    limit: 1200,
    window: Duration::from_secs(60),
    share_percent: 50,
    used_weight_header: Some("x-mbx-used-weight-1m"),
};

/// Binance USD-M futures REST: 2400 request weight per minute per IP.
pub static USDM_LIMIT: RateLimit = RateLimit {
    name: "binance-fapi",
    limit: 2400,
    window: Duration::from_secs(60),
    share_percent: 50,
    used_weight_header: Some("x-mbx-used-weight-1m"),
};

/// Binance COIN-M futures REST: 2400 request weight per minute per IP.
pub static COINM_LIMIT: RateLimit = RateLimit {
    name: "binance-dapi",
    limit: 2400,
    window: Duration::from_secs(60),
    share_percent: 50,
    used_weight_header: Some("x-mbx-used-weight-1m"),
};

/// Spot `GET /api/v3/depth` weight: limit 1-100: 5, 101-500: 25, 501-1000: 50,
/// 1001-5000: 250.
pub fn spot_weight(limit: u32) -> u32 {
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

/// Futures `GET /fapi/v1/depth` and `/dapi/v1/depth` weight: limit 5, 10, 20, 50: 2;
/// 100: 5; 500: 10; 1000: 20.
pub fn futures_weight(limit: u32) -> u32 {
    match limit {
        0..=50 => 2,
        51..=100 => 5,
        101..=500 => 10,
        _ => 20,
    }
}

/// Spot accepts any limit in 1..=5000; default 1000 (weight 50: a fifth of the
/// 5000-level snapshot's 250, deep enough for the top of book to stay exact).
pub fn spot_depth(configured: Option<u32>) -> u32 {
    configured.unwrap_or(1000).clamp(1, 5000)
}

/// Futures accept 5, 10, 20, 50, 100, 500, 1000: a configured depth is rounded up to
/// the next accepted one; default 1000.
pub fn futures_depth(configured: Option<u32>) -> u32 {
    let want = configured.unwrap_or(1000);
    [5, 10, 20, 50, 100, 500, 1000]
        .into_iter()
        .find(|d| *d >= want)
        .unwrap_or(1000)
}

/// Buffered diffs per symbol while a snapshot is awaited; beyond it the oldest are
/// dropped (the snapshot must then reach further, which the stale check enforces).
pub const MAX_BUFFERED_DIFFS: usize = 10_000;

/// One depth diff, owned (it may wait in the buffer).
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// `U`
    pub first: u64,
    /// `u`
    pub last: u64,
    /// `pu` (futures)
    pub prev: Option<u64>,
    pub stamp: Stamp,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// A REST snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub last_update_id: u64,
    pub stamp: Stamp,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// What the parser must do for the symbol after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// Fetch a snapshot; `attempt` counts the requests of this (re)sync from 1.
    Snapshot {
        attempt: u32,
    },
}

impl Need {
    /// How long to wait before the request: none for a first attempt, then 250 ms
    /// doubling up to 30 s (a stale or failed snapshot is not re-fetched in a loop).
    pub fn delay(attempt: u32) -> Duration {
        match attempt {
            0 | 1 => Duration::ZERO,
            n => Duration::from_millis(250u64 << (n - 2).min(7)).min(Duration::from_secs(30)),
        }
    }
}

#[derive(Debug)]
enum Phase {
    /// Waiting for a snapshot; `requested` while one is in flight.
    Buffering {
        buffer: VecDeque<Diff>,
        requested: bool,
    },
    /// Publishing; `bridging` until the first diff after the snapshot is applied.
    Synced { bridging: bool },
}

/// Why a snapshot was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Applied and published.
    Applied,
    /// Older than the buffered diffs: another one is needed.
    Stale {
        last_update_id: u64,
        first_buffered: u64,
    },
    /// Nobody asked for it (the symbol is in sync, or no request is outstanding).
    Unexpected,
}

/// One symbol's Binance book sync (see the module docs).
#[derive(Debug)]
pub struct SymbolSync {
    chain: Chain,
    sync: BookSync,
    phase: Phase,
    /// The update id the local book is at.
    local: u64,
    /// Snapshot requests in the current (re)sync.
    attempts: u32,
    /// Failed snapshot requests in the current (re)sync (0: no failure episode).
    failures: u32,
    /// Diffs dropped because the buffer was full.
    overflowed: u64,
}

impl SymbolSync {
    pub fn new(chain: Chain, sync: BookSync) -> SymbolSync {
        SymbolSync {
            chain,
            sync,
            phase: Phase::Buffering {
                buffer: VecDeque::new(),
                requested: false,
            },
            local: 0,
            attempts: 0,
            failures: 0,
            overflowed: 0,
        }
    }

    /// The published book and its state.
    pub fn book(&self) -> &BookSync {
        &self.sync
    }

    pub fn is_synced(&self) -> bool {
        matches!(self.phase, Phase::Synced { .. })
    }

    /// Diffs waiting for a snapshot.
    pub fn buffered(&self) -> usize {
        match &self.phase {
            Phase::Buffering { buffer, .. } => buffer.len(),
            Phase::Synced { .. } => 0,
        }
    }

    /// Failed snapshot requests since the last applied snapshot (the current failure
    /// episode; 0 when there is none).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Diffs dropped from a full buffer.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// A diff arrived: buffer it, or check and publish it.
    pub fn on_diff(&mut self, diff: Diff, out: &mut Vec<Record>) -> Need {
        match &mut self.phase {
            Phase::Buffering { buffer, requested } => {
                buffer.push_back(diff);
                if buffer.len() > MAX_BUFFERED_DIFFS {
                    buffer.pop_front();
                    self.overflowed += 1;
                }
                if *requested {
                    return Need::Nothing;
                }
                *requested = true;
                self.attempts += 1;
                Need::Snapshot {
                    attempt: self.attempts,
                }
            }
            Phase::Synced { bridging } => {
                let bridging = *bridging;
                self.apply(diff, bridging, out)
            }
        }
    }

    fn apply(&mut self, diff: Diff, bridging: bool, out: &mut Vec<Record>) -> Need {
        if diff.last <= self.local {
            // Already in the book (snapshot overlap, or a duplicate).
            return Need::Nothing;
        }
        let local = self.local;
        let broken = match (self.chain, diff.prev) {
            (Chain::Futures, Some(pu)) if bridging => (pu > local).then(|| {
                (
                    local,
                    pu,
                    format!("first diff after snapshot {local} has pu {pu} > lastUpdateId"),
                )
            }),
            (Chain::Futures, Some(pu)) => (pu != local).then(|| {
                (
                    local,
                    pu,
                    format!("diff pu {pu} != previous u {local} (U {})", diff.first),
                )
            }),
            // Spot (and a futures diff without `pu`): contiguous ids.
            _ => (diff.first > local + 1).then(|| {
                (
                    local + 1,
                    diff.first,
                    format!(
                        "diff U {} > local update id {local} + 1: {} update(s) missing",
                        diff.first,
                        diff.first - local - 1
                    ),
                )
            }),
        };
        if let Some((expected, got, reason)) = broken {
            self.sync
                .gap(diff.stamp, Some(expected), Some(got), reason, out);
            let mut buffer = VecDeque::new();
            buffer.push_back(diff);
            self.phase = Phase::Buffering {
                buffer,
                requested: true,
            };
            self.attempts = 1;
            return Need::Snapshot { attempt: 1 };
        }
        self.local = diff.last;
        self.phase = Phase::Synced { bridging: false };
        self.sync
            .update(diff.stamp, Some(diff.last), diff.bids, diff.asks, None, out);
        Need::Nothing
    }

    /// A requested snapshot arrived.
    pub fn on_snapshot(
        &mut self,
        snap: Snapshot,
        out: &mut Vec<Record>,
    ) -> (SnapshotOutcome, Need) {
        let Phase::Buffering { buffer, requested } = &mut self.phase else {
            return (SnapshotOutcome::Unexpected, Need::Nothing);
        };
        if !*requested {
            return (SnapshotOutcome::Unexpected, Need::Nothing);
        }
        let id = snap.last_update_id;
        if let Some(first) = buffer.front() {
            let (stale, reference) = match (self.chain, first.prev) {
                (Chain::Futures, Some(pu)) => (id < pu, pu),
                _ => (id.saturating_add(1) < first.first, first.first),
            };
            if stale {
                self.attempts += 1;
                return (
                    SnapshotOutcome::Stale {
                        last_update_id: id,
                        first_buffered: reference,
                    },
                    Need::Snapshot {
                        attempt: self.attempts,
                    },
                );
            }
        }
        let buffer = std::mem::take(buffer);
        self.sync
            .snapshot(snap.stamp, Some(id), snap.bids, snap.asks, None, out);
        self.local = id;
        self.attempts = 0;
        self.failures = 0;
        self.phase = Phase::Synced { bridging: true };
        let mut need = Need::Nothing;
        for diff in buffer {
            if let Need::Snapshot { attempt } = self.on_diff(diff, out) {
                need = Need::Snapshot { attempt };
            }
        }
        (SnapshotOutcome::Applied, need)
    }

    /// A requested snapshot could not be fetched or used (`reason`: why, with the URL
    /// path): the first failure of the episode is announced (`status stale`, channel
    /// `book`), and the snapshot is asked for again (with backoff). Returns whether
    /// this call announced, and what to do. A failure nobody waits for (the book is
    /// in sync) changes nothing.
    pub fn on_snapshot_failed(
        &mut self,
        stamp: Stamp,
        reason: &str,
        out: &mut Vec<Record>,
    ) -> (bool, Need) {
        match &self.phase {
            Phase::Buffering {
                requested: true,
                buffer,
            } => {
                let reference = buffer.front().map(|d| d.first);
                self.failures += 1;
                let announced = self
                    .sync
                    .snapshot_unavailable(stamp, reference, reason, out);
                self.attempts += 1;
                let need = Need::Snapshot {
                    attempt: self.attempts,
                };
                (announced, need)
            }
            _ => (false, Need::Nothing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Channel, ChannelSet, ConnectionPlan};
    use crate::contract::{FrameParser, Parsed};
    use crate::exchanges::binance::{wire, Binance, Venue};
    use tickbridge_schema::{Data, Dec, StatusEvent};

    /// One step of a scenario: a frame, or the REST answer for a symbol.
    enum Step<'a> {
        Frame(&'a str),
        Rest(&'a str, Result<&'a str, &'a str>),
    }
    use Step::*;

    /// A record or request in one short line: `book BTC-USDT 9<7`, `snap ETH-USDT 7`,
    /// `gap BTC-USDT 13/20`, `resynced BTC-USDT 30`, `GET ...?symbol=X&limit=1000 w50 +0ms`.
    fn summary(r: &Record) -> String {
        let seq = r.seq.map_or("-".into(), |s| s.to_string());
        match &r.data {
            Data::Book(b) if b.snapshot => format!("snap {} {seq}", r.symbol),
            Data::Book(b) => {
                let prev = b.prev_seq.map_or("-".into(), |s| s.to_string());
                format!("book {} {seq}<{prev}", r.symbol)
            }
            Data::Status(s) if s.event == StatusEvent::Gap => format!(
                "gap {} {}/{}",
                r.symbol,
                s.expected.unwrap_or(0),
                s.got.unwrap_or(0)
            ),
            Data::Status(s) => format!("{} {} {seq}", s.event.as_str(), r.symbol),
            other => format!("{:?}", other.kind()),
        }
    }

    fn run(venue: Venue, steps: &[Step]) -> Vec<String> {
        let mut p = Binance { venue }.new_parser(&ConnectionPlan {
            books: crate::book::BookConfig {
                rest_url: "http://mock".into(),
                ..Default::default()
            },
            ..ConnectionPlan::for_frames("", tickbridge_schema::Market::Spot)
        });
        let mut lines = Vec::new();
        for step in steps {
            let mut out = Vec::new();
            match step {
                Frame(f) => {
                    let r = p.parse(f, 1, &mut out);
                    assert_eq!(r, Ok(Parsed::Data), "{f}");
                }
                Rest(key, body) => {
                    let _ = p.on_rest(key, *body, 2, &mut out);
                }
            }
            lines.extend(out.iter().map(summary));
            for q in p.rest_requests() {
                lines.push(format!(
                    "GET {} w{} +{}ms",
                    q.url,
                    q.weight,
                    q.delay.as_millis()
                ));
            }
        }
        lines
    }

    fn spot(sym: &str, first: u64, last: u64, bid: &str) -> String {
        format!(
            r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":1723161255308,"s":"{sym}","U":{first},"u":{last},"b":[["{bid}","1.00000000"]],"a":[]}}}}"#,
            sym.to_lowercase()
        )
    }

    fn fut(sym: &str, first: u64, last: u64, prev: u64, bid: &str) -> String {
        format!(
            r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"{sym}","U":{first},"u":{last},"pu":{prev},"b":[["{bid}","0.014"]],"a":[]}}}}"#,
            sym.to_lowercase()
        )
    }

    fn snap(id: u64) -> String {
        format!(
            r#"{{"lastUpdateId":{id},"bids":[["100.00000000","2.00000000"]],"asks":[["101.00000000","3.00000000"]]}}"#
        )
    }

    const SPOT_GET: &str = "GET http://mock/api/v3/depth?symbol=BTCUSDT&limit=1000 w50 +0ms";

    #[test]
    fn spot_bridging_diff_and_stale_diffs_dropped() {
        let (d1, d2, d3) = (
            spot("BTCUSDT", 1, 5, "99"),
            spot("BTCUSDT", 6, 9, "98"),
            spot("BTCUSDT", 10, 12, "97"),
        );
        let dup = spot("BTCUSDT", 11, 12, "97");
        let s = snap(7);
        let got = run(
            Venue::Spot,
            &[
                Frame(&d1),
                Frame(&d2),
                Rest("BTCUSDT", Ok(&s)),
                Frame(&d3),
                Frame(&dup),
            ],
        );
        // d1 (u 5 <= 7) is dropped; d2 (U 6 <= 8 <= u 9) bridges; the duplicate is ignored.
        assert_eq!(
            got,
            [
                SPOT_GET,
                "snap BTC-USDT 7",
                "book BTC-USDT 9<7",
                "book BTC-USDT 12<9"
            ]
        );
    }

    #[test]
    fn spot_snapshot_older_than_the_buffer_is_fetched_again() {
        let d1 = spot("BTCUSDT", 50, 60, "99");
        let (old, s) = (snap(10), snap(55));
        let got = run(
            Venue::Spot,
            &[
                Frame(&d1),
                Rest("BTCUSDT", Ok(&old)),
                Rest("BTCUSDT", Err("HTTP 503")),
                Rest("BTCUSDT", Ok(&s)),
            ],
        );
        assert_eq!(
            got,
            [
                SPOT_GET,
                "GET http://mock/api/v3/depth?symbol=BTCUSDT&limit=1000 w50 +250ms",
                // The failed fetch is announced (a stale snapshot is not a failure).
                "stale BTC-USDT -",
                "GET http://mock/api/v3/depth?symbol=BTCUSDT&limit=1000 w50 +500ms",
                "snap BTC-USDT 55",
                "book BTC-USDT 60<55",
            ]
        );
    }

    #[test]
    fn spot_gap_resyncs_that_symbol_only() {
        let steps_text = [
            spot("BTCUSDT", 1, 5, "99"),
            spot("ETHUSDT", 1, 3, "9"),
            snap(4),
            snap(2),
            spot("BTCUSDT", 6, 8, "98"),
            // Diffs 9..=10 of BTCUSDT lost: U 11 > 8 + 1.
            spot("BTCUSDT", 11, 12, "97"),
            spot("ETHUSDT", 4, 6, "8"),
            spot("BTCUSDT", 13, 14, "96"),
            snap(13),
            spot("BTCUSDT", 15, 15, "95"),
            spot("ETHUSDT", 7, 7, "7"),
        ];
        let t = &steps_text;
        let got = run(
            Venue::Spot,
            &[
                Frame(&t[0]),
                Frame(&t[1]),
                Rest("BTCUSDT", Ok(&t[2])),
                Rest("ETHUSDT", Ok(&t[3])),
                Frame(&t[4]),
                Frame(&t[5]),
                Frame(&t[6]),
                Frame(&t[7]),
                Rest("BTCUSDT", Ok(&t[8])),
                Frame(&t[9]),
                Frame(&t[10]),
            ],
        );
        assert_eq!(
            got,
            [
                SPOT_GET,
                "GET http://mock/api/v3/depth?symbol=ETHUSDT&limit=1000 w50 +0ms",
                "snap BTC-USDT 4",
                "book BTC-USDT 5<4",
                "snap ETH-USDT 2",
                "book ETH-USDT 3<2",
                "book BTC-USDT 8<5",
                "gap BTC-USDT 9/11",
                SPOT_GET,
                // ETHUSDT goes on while BTCUSDT resyncs.
                "book ETH-USDT 6<3",
                "resynced BTC-USDT 13",
                "snap BTC-USDT 13",
                "book BTC-USDT 14<13",
                "book BTC-USDT 15<14",
                "book ETH-USDT 7<6",
            ]
        );
    }

    const FUT_GET: &str = "GET http://mock/fapi/v1/depth?symbol=BTCUSDT&limit=1000 w20 +0ms";

    #[test]
    fn futures_bridge_on_pu_and_gap_on_broken_pu_chain() {
        let t = [
            fut("BTCUSDT", 100, 120, 90, "1"),
            fut("BTCUSDT", 130, 150, 120, "2"),
            snap(140),
            fut("BTCUSDT", 160, 170, 150, "3"),
            // pu 175 != 170: the diff ending at 175 was lost.
            fut("BTCUSDT", 180, 190, 175, "4"),
            fut("BTCUSDT", 195, 200, 190, "5"),
            snap(190),
            fut("BTCUSDT", 205, 210, 200, "6"),
        ];
        let got = run(
            Venue::UsdM,
            &[
                Frame(&t[0]),
                Frame(&t[1]),
                Rest("BTCUSDT", Ok(&t[2])),
                Frame(&t[3]),
                Frame(&t[4]),
                Frame(&t[5]),
                Rest("BTCUSDT", Ok(&t[6])),
                Frame(&t[7]),
            ],
        );
        assert_eq!(
            got,
            [
                FUT_GET,
                // 100..120 dropped (u <= 140); 130..150 bridges (U 130 <= 140 <= u 150).
                "snap BTC-USDT-PERP 140",
                "book BTC-USDT-PERP 150<140",
                "book BTC-USDT-PERP 170<150",
                "gap BTC-USDT-PERP 170/175",
                FUT_GET,
                "resynced BTC-USDT-PERP 190",
                "snap BTC-USDT-PERP 190",
                // u 190 <= 190 dropped; pu 190 == lastUpdateId bridges exactly.
                "book BTC-USDT-PERP 200<190",
                "book BTC-USDT-PERP 210<200",
            ]
        );
    }

    #[test]
    fn futures_snapshot_before_the_buffer_is_stale_and_first_diff_must_bridge() {
        let t = [
            fut("BTCUSDT", 300, 310, 290, "1"),
            snap(280),
            snap(295),
            // After the snapshot a diff whose pu is past it means updates were lost.
            fut("BTCUSDT", 330, 340, 320, "2"),
        ];
        let got = run(
            Venue::UsdM,
            &[
                Frame(&t[0]),
                Rest("BTCUSDT", Ok(&t[1])),
                Rest("BTCUSDT", Ok(&t[2])),
                Frame(&t[3]),
            ],
        );
        assert_eq!(
            got,
            [
                FUT_GET,
                "GET http://mock/fapi/v1/depth?symbol=BTCUSDT&limit=1000 w20 +250ms",
                "snap BTC-USDT-PERP 295",
                "book BTC-USDT-PERP 310<295",
                "gap BTC-USDT-PERP 310/320",
                FUT_GET,
            ]
        );
    }

    #[test]
    fn coinm_snapshot_names_its_contract() {
        let d = r#"{"stream":"btcusd_perp@depth@100ms","data":{"e":"depthUpdate","E":1723161257440,"T":1723161257432,"s":"BTCUSD_PERP","ps":"BTCUSD","U":1007198631260,"u":1007198631565,"pu":1007198631198,"b":[["61773.6","1001"]],"a":[["61805.0","0"]]}}"#;
        let wrong = r#"{"lastUpdateId":1007198631300,"E":1,"T":1723161257823,"symbol":"ETHUSD_PERP","pair":"ETHUSD","bids":[],"asks":[]}"#;
        let right = r#"{"lastUpdateId":1007198631300,"E":1,"T":1723161257823,"symbol":"BTCUSD_PERP","pair":"BTCUSD","bids":[["61804.7","35"]],"asks":[["61804.8","1200"]]}"#;
        let got = run(
            Venue::CoinM,
            &[
                Frame(d),
                Rest("BTCUSD_PERP", Ok(wrong)),
                Rest("BTCUSD_PERP", Ok(right)),
            ],
        );
        assert_eq!(
            got,
            [
                "GET http://mock/dapi/v1/depth?symbol=BTCUSD_PERP&limit=1000 w20 +0ms",
                // An answer for another contract is unusable: announced, asked again.
                "stale BTC-USD-PERP -",
                "GET http://mock/dapi/v1/depth?symbol=BTCUSD_PERP&limit=1000 w20 +250ms",
                "snap BTC-USD-PERP 1007198631300",
                "book BTC-USD-PERP 1007198631565<1007198631300",
            ]
        );
    }

    /// The records and requests of `steps` as JSON lines / request lines, for
    /// checking whole records.
    fn run_json(venue: Venue, steps: &[Step]) -> (Vec<String>, Vec<Parsed>) {
        let mut p = Binance { venue }.new_parser(&ConnectionPlan {
            books: crate::book::BookConfig {
                rest_url: "http://mock".into(),
                ..Default::default()
            },
            ..ConnectionPlan::for_frames("", tickbridge_schema::Market::Spot)
        });
        let (mut lines, mut answers) = (Vec::new(), Vec::new());
        for step in steps {
            let mut out = Vec::new();
            match step {
                Frame(f) => assert_eq!(p.parse(f, 1, &mut out), Ok(Parsed::Data), "{f}"),
                Rest(key, body) => answers.push(p.on_rest(key, *body, 2, &mut out).unwrap()),
            }
            lines.extend(out.iter().map(|r| String::from_utf8(r.to_json()).unwrap()));
            for q in p.rest_requests() {
                lines.push(format!("GET {} +{}ms", q.url, q.delay.as_millis()));
            }
        }
        (lines, answers)
    }

    #[test]
    fn a_failing_snapshot_is_announced_once_per_episode_and_retried_with_backoff() {
        let t = [
            spot("BTCUSDT", 21, 25, "99"),
            spot("BTCUSDT", 26, 27, "98"),
            snap(24),
            // Diffs 28..=29 lost: a gap, then the resync's snapshot fails too.
            spot("BTCUSDT", 30, 31, "97"),
            snap(31),
        ];
        let http_503 = "GET /api/v3/depth: HTTP 503 Service Unavailable: <html>";
        let timeout = "GET /api/v3/depth: timed out after 15s";
        let limited = "GET /api/v3/depth: rate limited (HTTP 429 Too Many Requests); every request of binance-api paused for 60s";
        let steps = [
            Frame(&t[0]),
            Rest("BTCUSDT", Err(http_503)),
            Frame(&t[1]),
            Rest("BTCUSDT", Err(timeout)),
            Rest("BTCUSDT", Err(limited)),
            Rest("BTCUSDT", Ok(&t[2])),
            Frame(&t[3]),
            Rest("BTCUSDT", Err(http_503)),
            Rest("BTCUSDT", Ok(&t[4])),
        ];
        let (lines, answers) = run_json(Venue::Spot, &steps);
        let env = r#"{"v":1,"exchange":"binance","market":"spot","symbol":"BTC-USDT","native":"BTCUSDT","ts_exchange":null,"ts_recv":2,"seq":null"#;
        let get = "GET http://mock/api/v3/depth?symbol=BTCUSDT&limit=1000";
        let kinds: Vec<String> = lines
            .iter()
            .map(|l| match l.find(r#""id":""#) {
                Some(i) => l[i + 6..].split('"').next().unwrap().to_string(),
                None => l.clone(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                format!("{get} +0ms"),
                // First failure: announced once, asked again with backoff.
                "binance.spot.BTC-USDT.status.stale.snapshot.21".into(),
                format!("{get} +250ms"),
                // Second and third failures of the episode: silent, backoff grows.
                format!("{get} +500ms"),
                format!("{get} +1000ms"),
                "binance.spot.BTC-USDT.book.snap.24".into(),
                "binance.spot.BTC-USDT.book.25".into(),
                "binance.spot.BTC-USDT.book.27".into(),
                "binance.spot.BTC-USDT.status.gap.28.30".into(),
                format!("{get} +0ms"),
                // A new episode, named by the diff the resync must bridge.
                "binance.spot.BTC-USDT.status.stale.snapshot.30".into(),
                format!("{get} +250ms"),
                "binance.spot.BTC-USDT.status.resynced.31".into(),
                "binance.spot.BTC-USDT.book.snap.31".into(),
            ]
        );
        assert_eq!(
            lines[1],
            format!(
                r#"{env},"id":"binance.spot.BTC-USDT.status.stale.snapshot.21","kind":"status","event":"stale","channel":"book","reason":"order-book snapshot unavailable: {http_503}; retrying with backoff","expected":null,"got":null}}"#
            )
        );
        // The reason names the failure and the path, never the host or the query.
        for l in lines.iter().filter(|l| l.contains(r#""event":"stale""#)) {
            assert!(!l.contains("mock") && !l.contains("symbol="), "{l}");
        }
        assert!(
            matches!(&answers[0], Parsed::Info(i) if i.contains("announced as status stale")),
            "{answers:?}"
        );
        assert!(
            matches!(&answers[1], Parsed::Info(i) if i.contains("failed again (failure 2")),
            "{answers:?}"
        );
        // Same input, same records (ids included).
        assert_eq!(run_json(Venue::Spot, &steps).0, lines);
    }

    #[test]
    fn a_failure_nobody_waits_for_changes_nothing() {
        let d = spot("BTCUSDT", 1, 5, "99");
        let s = snap(4);
        let (lines, answers) = run_json(
            Venue::Spot,
            &[
                Frame(&d),
                Rest("BTCUSDT", Ok(&s)),
                Rest("BTCUSDT", Err("GET /api/v3/depth: HTTP 500")),
                Rest("ETHUSDT", Err("GET /api/v3/depth: HTTP 500")),
            ],
        );
        assert_eq!(lines.len(), 3, "{lines:?}"); // the request, the snapshot, the diff
        assert!(matches!(&answers[2], Parsed::Info(i) if i.contains("unknown symbol ETHUSDT")));
    }

    #[test]
    fn records_carry_the_exchange_levels_and_times() {
        let mut p = Binance { venue: Venue::UsdM }.new_parser(&ConnectionPlan::for_frames(
            "",
            tickbridge_schema::Market::Spot,
        ));
        let mut out = Vec::new();
        let d = fut("BTCUSDT", 10, 20, 5, "61800.20");
        p.parse(&d, 7, &mut out).unwrap();
        let q = p.rest_requests();
        assert_eq!(
            q[0].url,
            "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
        );
        let body = r#"{"lastUpdateId":15,"E":1723161256501,"T":1723161256493,"bids":[["61800.20","2.909"],["61800.10","0.000"]],"asks":[["61800.30","1.500"]]}"#;
        p.on_rest("BTCUSDT", Ok(body), 9, &mut out).unwrap();
        let json: Vec<String> = out
            .iter()
            .map(|r| String::from_utf8(r.to_json()).unwrap())
            .collect();
        assert_eq!(
            json,
            [
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1723161256493000000,"ts_recv":9,"seq":15,"id":"binance-usdm.perp.BTC-USDT-PERP.book.snap.15","kind":"book","bids":[["61800.2","2.909"]],"asks":[["61800.3","1.5"]],"snapshot":true,"prev_seq":null,"checksum_ok":null}"#,
                r#"{"v":1,"exchange":"binance-usdm","market":"perp","symbol":"BTC-USDT-PERP","native":"BTCUSDT","ts_exchange":1723161256298000000,"ts_recv":7,"seq":20,"id":"binance-usdm.perp.BTC-USDT-PERP.book.20","kind":"book","bids":[["61800.2","0.014"]],"asks":[],"snapshot":false,"prev_seq":15,"checksum_ok":null}"#,
            ]
        );
        let book = p.book("BTCUSDT").unwrap().book().book();
        assert_eq!(book.best_bid().unwrap().1, &Dec::parse("0.014").unwrap());
    }

    #[test]
    fn depth_wire_types_parse_the_raw_json() {
        let spot: wire::Combined<wire::DepthUpdate> = serde_json::from_str(
            r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"]]}}"#,
        )
        .unwrap();
        let d = spot.data;
        assert_eq!(
            (d.symbol, d.first_update_id, d.final_update_id),
            ("BTCUSDT", 50093239203, 50093239207)
        );
        assert_eq!((d.prev_final_update_id, d.time), (None, None));
        assert_eq!(d.bids[0].1, Dec::zero());
        assert_eq!(d.asks[0].0.as_str(), "61838.04");
        let coinm: wire::DepthUpdate = serde_json::from_str(
            r#"{"e":"depthUpdate","E":1723161257440,"T":1723161257432,"s":"BTCUSD_PERP","ps":"BTCUSD","U":1007198631260,"u":1007198631565,"pu":1007198631198,"b":[["61773.6","1001"]],"a":[["61805.0","0"]]}"#,
        )
        .unwrap();
        assert_eq!(coinm.prev_final_update_id, Some(1007198631198));
        assert_eq!(coinm.time, Some(1723161257432));
        let snap: wire::DepthSnapshot = serde_json::from_str(
            r#"{"lastUpdateId":499869752,"bids":[["0.35210000","672.00000000"]],"asks":[["0.35290000","1.00000000"]]}"#,
        )
        .unwrap();
        assert_eq!(
            (snap.last_update_id, snap.time, snap.symbol),
            (499869752, None, None)
        );
        assert_eq!(snap.bids[0].0.as_str(), "0.3521");
        // Spaces after separators, as in older recordings.
        let spaced: wire::DepthSnapshot = serde_json::from_str(
            r#"{"lastUpdateId": 2710246765483, "E": 1680652700590, "T": 1680652700580, "bids": [["28145.10", "3.818"]], "asks": []}"#,
        )
        .unwrap();
        assert_eq!(spaced.time, Some(1680652700580));
        // A malformed level is an error, never a panic.
        assert!(serde_json::from_str::<wire::DepthUpdate>(
            r#"{"E":1,"s":"X","U":1,"u":2,"b":[["1.0"]],"a":[]}"#
        )
        .is_err());
    }

    #[test]
    fn futures_diff_without_pu_is_invalid_and_book_off_is_counted() {
        let mut p = Binance { venue: Venue::UsdM }.new_parser(&ConnectionPlan::for_frames(
            "",
            tickbridge_schema::Market::Spot,
        ));
        let mut out = Vec::new();
        let d = spot("BTCUSDT", 1, 2, "1");
        assert_eq!(
            p.parse(&d, 1, &mut out).map_err(|e| e.label()),
            Err("invalid")
        );
        let channels: ChannelSet = [Channel::Trade].into_iter().collect();
        let mut p = Binance { venue: Venue::Spot }.new_parser(&ConnectionPlan {
            channels,
            ..ConnectionPlan::for_frames("", tickbridge_schema::Market::Spot)
        });
        assert_eq!(p.parse(&d, 1, &mut out), Ok(Parsed::Ignored("depth")));
        assert!(p.rest_requests().is_empty() && out.is_empty());
    }

    #[test]
    fn weights_and_depths_follow_the_docs() {
        assert_eq!(
            [1, 100, 101, 500, 501, 1000, 1001, 5000].map(spot_weight),
            [5, 5, 25, 25, 50, 50, 250, 250]
        );
        assert_eq!(
            [5, 50, 100, 500, 1000].map(futures_weight),
            [2, 2, 5, 10, 20]
        );
        assert_eq!(spot_depth(None), 1000);
        assert_eq!(spot_depth(Some(9000)), 5000);
        assert_eq!(futures_depth(Some(30)), 50);
        assert_eq!(futures_depth(Some(5000)), 1000);
        assert_eq!(Need::delay(1), Duration::ZERO);
        assert_eq!(Need::delay(3), Duration::from_millis(500));
        assert_eq!(Need::delay(40), Duration::from_secs(30));
    }
}

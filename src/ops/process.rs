//! The `process_*` metrics, as Prometheus' standard process collector names and
//! computes them, read from `/proc` at each scrape (Linux; elsewhere they are absent).
//!
//! - `process_cpu_seconds_total`: user + system time (`/proc/self/stat` fields 14 and
//!   15, in clock ticks of `USER_HZ`);
//! - `process_resident_memory_bytes`: `VmRSS` of `/proc/self/status`;
//! - `process_virtual_memory_bytes`: `vsize` (`/proc/self/stat` field 23);
//! - `process_open_fds`: the entries of `/proc/self/fd`;
//! - `process_max_fds`: the soft `Max open files` of `/proc/self/limits`;
//! - `process_start_time_seconds`: `starttime` (field 22, ticks after boot) + `btime`
//!   of `/proc/stat`.
//!
//! Hand-written rather than a crate: six numbers from four small files, and no
//! `unsafe` (`USER_HZ` is 100 on every Linux ABI, which is also what the Go client's
//! procfs assumes).

use std::fs;

/// Clock ticks per second of the times in `/proc/<pid>/stat` (`USER_HZ`).
const USER_HZ: f64 = 100.0;

/// The process collector's values at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    /// `None` when the limit is `unlimited`.
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
}

/// Reads this process's numbers; `None` where `/proc` is not there (not Linux).
pub fn read() -> Option<ProcessStats> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let btime = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| parse_btime(&s))?;
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let open_fds = fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    // `read_dir` itself holds one descriptor while it lists them.
    let open_fds = open_fds.saturating_sub(1);
    from_files(&stat, &status, btime, &limits, open_fds)
}

/// Combines the parsed files (the testable part of [`read`]).
pub fn from_files(
    stat: &str,
    status: &str,
    btime: u64,
    limits: &str,
    open_fds: u64,
) -> Option<ProcessStats> {
    let stat = parse_stat(stat)?;
    Some(ProcessStats {
        cpu_seconds: (stat.utime + stat.stime) as f64 / USER_HZ,
        resident_memory_bytes: parse_status_kb(status, "VmRSS:")? * 1024,
        virtual_memory_bytes: stat.vsize,
        open_fds,
        max_fds: parse_max_open_files(limits),
        start_time_seconds: btime as f64 + stat.starttime as f64 / USER_HZ,
    })
}

/// The fields of `/proc/<pid>/stat` the collector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub utime: u64,
    pub stime: u64,
    pub starttime: u64,
    pub vsize: u64,
}

/// Parses `/proc/<pid>/stat`. The command (field 2) is in parentheses and may hold
/// spaces and parentheses itself: the fields after it start after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (state): field N is at index N - 3.
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
        vsize: field(23)?,
    })
}

/// A `kB` line of `/proc/<pid>/status` (`VmRSS:    1234 kB`).
pub fn parse_status_kb(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The boot time (seconds since the epoch) from `/proc/stat`.
pub fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// The soft limit of `Max open files` in `/proc/<pid>/limits`; `None` if unlimited
/// or absent.
pub fn parse_max_open_files(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (tick bridge) (x)) S 1 4242 4242 0 -1 4194560 3380 0 0 0 \
        1234 567 0 0 20 0 9 0 158000 1064960000 8000 18446744073709551615 1 1 0 0 0 0 0 \
        4096 17475 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    const STATUS: &str = "Name:\ttickbridge\nVmPeak:\t 1100000 kB\nVmSize:\t 1040000 kB\n\
        VmRSS:\t   32768 kB\nThreads:\t9\n";
    const LIMITS: &str =
        "Limit                     Soft Limit           Hard Limit           Units     \n\
        Max cpu time              unlimited            unlimited            seconds   \n\
        Max open files            1024                 524288               files     \n";

    #[test]
    fn parses_stat_past_a_command_with_spaces_and_parentheses() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                utime: 1234,
                stime: 567,
                starttime: 158000,
                vsize: 1064960000,
            })
        );
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn combines_the_files_like_the_prometheus_process_collector() {
        let p = from_files(STAT, STATUS, 1_700_000_000, LIMITS, 12).unwrap();
        assert_eq!(
            p,
            ProcessStats {
                cpu_seconds: 18.01,
                resident_memory_bytes: 32768 * 1024,
                virtual_memory_bytes: 1064960000,
                open_fds: 12,
                max_fds: Some(1024),
                start_time_seconds: 1_700_001_580.0,
            }
        );
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_open_files(unlimited), None);
        assert_eq!(
            parse_btime("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(from_files(STAT, "Name: x\n", 0, LIMITS, 1), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let p = read().expect("/proc is there on Linux");
        assert!(p.resident_memory_bytes > 0);
        assert!(p.virtual_memory_bytes >= p.resident_memory_bytes);
        assert!(p.open_fds >= 3, "{p:?}"); // stdin, stdout, stderr
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(p.start_time_seconds <= now + 1.0 && p.start_time_seconds > now - 86_400.0 * 365.0);
        assert!(p.cpu_seconds >= 0.0);
    }
}

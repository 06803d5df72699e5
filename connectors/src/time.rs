//! Wall-clock time as integer nanoseconds since the Unix epoch, and parsing of the
//! RFC 3339 timestamps some exchanges send (`"2021-04-17T16:43:30.244075Z"`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in ns since the Unix epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the epoch (Binance, Bybit, OKX) to ns.
pub fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` (UTC only) to ns since the epoch.
pub fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    // Digits only (`parse` alone would take a sign).
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let rest = &text[19..];
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            (&r[..digits], &r[digits..])
        }
        None => ("", rest),
    };
    if !(zone == "Z" || zone == "+00:00" || zone == "z") {
        return None;
    }
    let mut nanos: i64 = 0;
    for (i, c) in fraction.bytes().take(9).enumerate() {
        nanos += (c - b'0') as i64 * 10i64.pow(8 - i as u32);
    }
    let days = days_from_civil(year, month, day);
    // i64 nanoseconds span the years 1677-2262; dates outside are not timestamps.
    ((days * 24 + hour) * 60 + minute)
        .checked_mul(60_000_000_000)?
        .checked_add(second * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The proleptic Gregorian date `(year, month, day)` of a day number since
/// 1970-01-01 (H. Hinnant's algorithm, the inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719468, -1, 0, 1, 18_993, 19_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m as i64, d as i64), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_084), (2024, 12, 27));
    }

    #[test]
    fn parses_exchange_timestamps() {
        assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_utc("2021-04-17T16:43:30.244075Z"),
            Some(1_618_677_810_244_075_000)
        );
        assert_eq!(
            parse_rfc3339_utc("2024-08-08T23:54:15.342123456Z"),
            Some(1_723_161_255_342_123_456)
        );
        assert_eq!(
            parse_rfc3339_utc("2024-02-29T00:00:00+00:00"),
            Some(1_709_164_800_000_000_000)
        );
        assert_eq!(parse_rfc3339_utc("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_utc("2024-01-01T00:00:00+02:00"), None);
        assert_eq!(parse_rfc3339_utc("yesterday"), None);
        // Found by the parser fuzz test: years outside i64 nanoseconds, signs.
        assert_eq!(parse_rfc3339_utc("0021-04-17T16:43:37.413943Z"), None);
        assert_eq!(parse_rfc3339_utc("9999-04-17T16:43:37Z"), None);
        assert_eq!(parse_rfc3339_utc("+021-04-17T16:43:37Z"), None);
    }
}

//! Certificate times: Unix seconds to `SystemTime` and to RFC 3339 text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `SystemTime` for Unix seconds. X.509 times (years 1950–9999) always fit on the platforms
/// we target; should one not, the epoch is returned rather than panicking.
pub(crate) fn system_time(unix: i64) -> SystemTime {
    let magnitude = Duration::from_secs(unix.unsigned_abs());
    let t = if unix >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, whole seconds) for Unix seconds.
pub(crate) fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Proleptic Gregorian date for a count of days since 1970-01-01, computed in 400-year eras
/// that start on 1 March so that the leap day falls at the end of each year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from 1 March
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_372_118_400), "2013-06-25T00:00:00Z");
        assert_eq!(rfc3339(2_003_270_399), "2033-06-24T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(-631_152_000), "1950-01-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn every_day_of_a_leap_cycle_is_consecutive() {
        let mut prev = civil_from_days(-1);
        for day in 0..(4 * 366) {
            let cur = civil_from_days(day);
            assert!(cur > prev, "{cur:?} after {prev:?}");
            prev = cur;
        }
        assert_eq!(civil_from_days(365 + 365 + 59), (1972, 2, 29));
    }

    #[test]
    fn system_time_both_sides_of_epoch() {
        assert_eq!(system_time(10), UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(system_time(-10), UNIX_EPOCH - Duration::from_secs(10));
    }
}

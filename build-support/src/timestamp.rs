//! RFC 3339 UTC timestamps without a date library: written from the system clock (`Create Date`
//! for new migrations, `applied_at` in the history table, backup file names) and checked
//! (`Create Date` as parsed).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`, with calendar-valid fields.
pub fn is_rfc3339_utc(value: &str) -> bool {
    let (stamp, zone_ok) = if let Some(s) = value.strip_suffix('Z') {
        (s, true)
    } else if let Some(s) = value.strip_suffix("+00:00") {
        (s, true)
    } else {
        (value, false)
    };
    let Some((date, time)) = stamp.split_once('T') else { return false };
    let (time, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let num = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten()
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if !zone_ok || d.len() != 3 || t.len() != 3 || fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let (Some(y), Some(mo), Some(day), Some(h), Some(mi), Some(s)) =
        (num(d[0], 4), num(d[1], 2), num(d[2], 2), num(t[0], 2), num(t[1], 2), num(t[2], 2))
    else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12).contains(&mo) && day >= 1 && day <= days[mo as usize - 1] && h < 24 && mi < 60 && s <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_761_042_600), "2025-10-21T10:30:00Z");
        assert!(is_rfc3339_utc(&now_rfc3339()));
    }
}

//! RFC 3339 timestamps (CloudEvents' `time`) to and from milliseconds since 1970, in UTC. The
//! core never reads a clock; this only converts.

use super::problems::MAX_SAFE_MS;
use crate::event::Timestamp;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-30T01:42:54.123Z` for a timestamp in ms. Years outside 0000–9999 are written with a
/// sign and six digits, as JavaScript's `toISOString` does.
pub fn format_rfc3339(ms: Timestamp) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{}{:06}", if year < 0 { '-' } else { '+' }, year.abs())
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// Milliseconds of an RFC 3339 date-time (`2026-11-30T01:42:54Z`, `…54.5+02:00`); fractions
/// beyond milliseconds are cut. `None` if it is not one.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    // Only ASCII is valid, and checking it first makes every slice below fall on a boundary.
    if !text.is_ascii() {
        return None;
    }
    let (sign, rest, year_len) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..], 6),
        b'-' => (-1, &text[1..], 6),
        _ => (1, text, 4),
    };
    if rest.find('-')? != year_len {
        return None;
    }
    let year = sign * digits(&rest[..year_len])?;
    let rest = &rest[year_len..];
    let r = rest.as_bytes();
    if r.len() < 16 || r[0] != b'-' || r[3] != b'-' || !matches!(r[6], b'T' | b't' | b' ') {
        return None;
    }
    if r[9] != b':' || r[12] != b':' {
        return None;
    }
    let month = digits(&rest[1..3])?;
    let day = digits(&rest[4..6])?;
    let hour = digits(&rest[7..9])?;
    let minute = digits(&rest[10..12])?;
    let second = digits(&rest[13..15])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut tail = &rest[15..];
    let mut millis = 0;
    if let Some(fraction) = tail.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        let kept = &fraction[..len.min(3)];
        millis = digits(kept)? * 10_i64.pow(3 - kept.len() as u32);
        tail = &fraction[len..];
    }
    let offset_minutes = match tail {
        "Z" | "z" => 0,
        _ if tail.len() == 6 && tail.as_bytes()[3] == b':' => {
            let sign = match tail.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours = digits(&tail[1..3])?;
            let minutes = digits(&tail[4..6])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 60 + minutes)
        }
        _ => return None,
    };
    // A leap second is read as the last millisecond's next: 23:59:60 is 00:00:00.
    let seconds = hour * 3600 + minute * 60 + second - offset_minutes * 60;
    let ms = days_from_civil(year, month, day)
        .checked_mul(MS_PER_DAY)?
        .checked_add(seconds * 1000 + millis)?;
    (ms.unsigned_abs() <= MAX_SAFE_MS).then_some(ms)
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        for (text, ms) in [
            ("1970-01-01T00:00:00.000Z", 0),
            ("2026-11-30T01:42:54.123Z", 1_796_002_974_123),
            ("2000-02-29T12:00:00.000Z", 951_825_600_000),
            ("1969-12-31T23:59:59.999Z", -1),
        ] {
            assert_eq!(format_rfc3339(ms), text);
            assert_eq!(parse_rfc3339(text), Some(ms), "{text}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-30T03:42:54.1234+02:00"),
            Some(1_796_002_974_123)
        );
        for bad in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-11-30",
            "2026-11-30T24:00:00Z",
            "2026-11-30T01:42:54",
            "2026-11-30T01:42:54.Z",
            "+2026-11-30T00:00:00Z",
            "２０２６-11-30T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}

//! Timestamps for SigV4: the ISO-8601 basic form `yyyymmddThhmmssZ` (`X-Amz-Date`) and the
//! RFC 7231 §7.1.1.1 IMF-fixdate (`Date`), converted to and from Unix seconds.
//!
//! Written by hand (proleptic Gregorian, UTC only) so the crate needs no date library; the
//! clock itself is never read here — "now" is always a parameter (STYLE principle 4).

/// Days since 1970-01-01 for a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Civil date for days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn to_unix(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `yyyymmddThhmmssZ` (the only form SigV4 signs) into Unix seconds.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // ASCII first: the slices below must fall on char boundaries (never panic on input).
    if b.len() != 16 || !s.is_ascii() || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    to_unix(
        i64::from(digits(&s[0..4])?),
        digits(&s[4..6])?,
        digits(&s[6..8])?,
        digits(&s[9..11])?,
        digits(&s[11..13])?,
        digits(&s[13..15])?,
    )
}

/// Formats Unix seconds as `yyyymmddThhmmssZ`.
pub(crate) fn format_amz_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an IMF-fixdate (`Sun, 30 Aug 2015 12:36:00 GMT`, RFC 7231 §7.1.1.1), the `Date`
/// header form SigV4 falls back to when `X-Amz-Date` is absent. The weekday is not checked.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day = digits(parts.next()?)?;
    let mon = parts.next()?;
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    let year = digits(parts.next()?)?;
    let mut hms = parts.next()?.split(':');
    let (h, mi, sec) = (
        digits(hms.next()?)?,
        digits(hms.next()?)?,
        digits(hms.next()?)?,
    );
    if hms.next().is_some() || parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    to_unix(i64::from(year), mo, day, h, mi, sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trips() {
        for (text, unix) in [
            ("19700101T000000Z", 0),
            ("20150830T123600Z", 1_440_938_160),
            ("20000229T235959Z", 951_868_799),
            ("20991231T000000Z", 4_102_358_400),
        ] {
            assert_eq!(parse_amz_date(text), Some(unix), "{text}");
            assert_eq!(format_amz_date(unix), text);
        }
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083aT123600Z",
            "20150230T123600Z",
            "20151301T000000Z",
            "20150830T246000Z",
            "+0150830T123600Z",
            "201\u{e9}0830T12360Z",
            "2015\u{e9}830T12360Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        for (text, expected) in [
            ("Sun, 30 Aug 2015 12:36:00 GMT", Some(1_440_938_160)),
            ("Sun, 30 aug 2015 12:36:00 GMT", Some(1_440_938_160)),
            ("Sun, 30 Aug 2015 12:36:00 UTC", None),
            ("30 Aug 2015 12:36:00 GMT", None),
            ("Sun, 31 Sep 2015 12:36:00 GMT", None),
        ] {
            assert_eq!(parse_http_date(text), expected, "{text}");
        }
    }
}

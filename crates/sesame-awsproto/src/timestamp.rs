//! Timestamp conversions between canonical epoch seconds and the wire formats:
//! ISO 8601 (`iso8601`), HTTP dates (`rfc822`) and epoch seconds (`unixTimestamp`).

use time::format_description::well_known::{Iso8601, Rfc2822, Rfc3339};
use time::{OffsetDateTime, UtcOffset};

/// Parses ISO 8601 / RFC 3339 (any offset, optional fraction), an HTTP date, or epoch seconds.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let dt = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .or_else(|_| OffsetDateTime::parse(&text.replace("GMT", "+0000"), &Rfc2822))
        .ok()?;
    Some(dt.unix_timestamp_nanos() as f64 / 1e9)
}

fn to_datetime(secs: f64) -> OffsetDateTime {
    // Millisecond precision: the wire formats never carry more, and rounding here avoids
    // binary-fraction artefacts such as .123 → .122.
    let millis = (secs * 1e3).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(UtcOffset::UTC)
}

/// ISO 8601 UTC with milliseconds, e.g. `2026-11-23T06:02:16.123Z`.
pub fn format_iso8601(secs: f64) -> String {
    let dt = to_datetime(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// HTTP date (RFC 7231 IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_http_date(secs: f64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let dt = to_datetime(secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[dt.weekday().number_days_from_monday() as usize],
        dt.day(),
        MONTHS[dt.month() as usize - 1],
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Epoch seconds as a JSON number: an integer when whole, else a float.
pub fn to_json_number(secs: f64) -> serde_json::Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        serde_json::Value::from(secs as i64)
    } else {
        serde_json::Value::from(secs)
    }
}

/// Formats a timestamp for text contexts (query strings, headers, XML) in `format`.
pub fn format_text(secs: f64, format: &str) -> String {
    match format {
        "rfc822" => format_http_date(secs),
        "unixTimestamp" => to_json_number(secs).to_string(),
        _ => format_iso8601(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, f64)] = &[
            ("2019-12-16T22:48:18-01:00", 1576540098.0),
            ("2019-12-17T00:48:18+01:00", 1576540098.0),
            ("2014-04-29T18:30:38Z", 1398796238.0),
            ("2014-04-29T18:30:38.123Z", 1398796238.123),
            ("Tue, 29 Apr 2014 18:30:38 GMT", 1398796238.0),
            ("1398796238", 1398796238.0),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_or_else(|| panic!("{text}"));
            assert!((got - want).abs() < 1e-6, "{text}: {got}");
        }
        assert_eq!(format_iso8601(1398796238.123), "2014-04-29T18:30:38.123Z");
        assert_eq!(
            format_http_date(1398796238.0),
            "Tue, 29 Apr 2014 18:30:38 GMT"
        );
        assert_eq!(to_json_number(1.5), serde_json::json!(1.5));
    }
}

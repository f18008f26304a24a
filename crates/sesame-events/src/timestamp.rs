//! The one timestamp format of every event record and notification (Q-145, G-38).
//!
//! `YYYY-MM-DDThh:mm:ss.sssZ`, always UTC, always three fractional digits. The seed's
//! `"2018-10-08T14:05:45 +0000"` and offset `arrivalDate` values (G-60) are never produced:
//! callers convert what they parsed (an ARF `Arrival-Date`, say) to Unix milliseconds first.
//! The clock is never read here; the instant is a parameter (STYLE principle 4).

/// Milliseconds in one civil day.
const MS_PER_DAY: i64 = 86_400_000;

/// Formats Unix milliseconds as `YYYY-MM-DDThh:mm:ss.sssZ`, e.g.
/// `1476919252240` → `2016-10-19T23:20:52.240Z`.
///
/// Instants before 1970 work (floor division). Years outside `0000..=9999` cannot be written
/// in four digits; they come out with more digits (or a `-` sign), which no real send or
/// feedback time reaches.
pub fn iso_timestamp(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let (secs, millis) = (in_day / 1000, in_day % 1000);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day), using 400-year eras
/// (146 097 days each) counted from 0000-03-01, so February's length only matters at the end of
/// each shifted year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year, 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q-145 / G-38: millisecond precision, `Z`, zero padding; values from the G-H examples.
    #[test]
    fn formats_with_milliseconds_and_z() {
        let table: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (1, "1970-01-01T00:00:00.001Z"),
            (999, "1970-01-01T00:00:00.999Z"),
            (1_476_919_252_240, "2016-10-19T23:20:52.240Z"),
            (1_476_919_264_133, "2016-10-19T23:21:04.133Z"),
            (1_501_893_662_669, "2017-08-05T00:41:02.669Z"),
            (1_501_893_602_012, "2017-08-05T00:40:02.012Z"),
            (1_592_267_140_095, "2020-06-16T00:25:40.095Z"),
            (1_453_906_778_237, "2016-01-27T14:59:38.237Z"),
            // Leap days and year boundaries.
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
            (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (1_704_067_199_999, "2023-12-31T23:59:59.999Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            // Before the epoch: floor, not truncation toward zero.
            (-1, "1969-12-31T23:59:59.999Z"),
            (-86_400_000, "1969-12-31T00:00:00.000Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        ];
        for &(ms, want) in table {
            assert_eq!(iso_timestamp(ms), want, "ms = {ms}");
        }
    }

    /// every output has the fixed 24-character shape, for a sweep of instants.
    #[test]
    fn shape_is_fixed_width() {
        let mut ms = 0i64;
        while ms < 4_102_444_800_000 {
            let s = iso_timestamp(ms);
            let b = s.as_bytes();
            assert_eq!(b.len(), 24, "{s}");
            assert_eq!(
                (b[4], b[7], b[10], b[13], b[16], b[19], b[23]),
                (b'-', b'-', b'T', b':', b':', b'.', b'Z')
            );
            ms += 7_777_777_777;
        }
    }
}

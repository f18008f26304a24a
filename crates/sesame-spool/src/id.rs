//! Body ids: validation and the fan-out directory an id lives in.
//!
//! Ids are chosen by the caller (the engine uses the SES message id), so they are untrusted path
//! components. Only `[A-Za-z0-9-]{1,128}` is accepted: no `/`, no `.`, so no `..`, no absolute
//! paths, no hidden names, and nothing that can collide with the spool's own temp-file names
//! (which contain a `.`).

use std::io;

/// Longest id accepted. SES message ids are 60 characters; 128 leaves room for other schemes.
pub const MAX_ID_LEN: usize = 128;

/// Number of fan-out directories under `bodies/` (named `00` … `ff`). With a million queued
/// bodies each directory holds about 4,000 entries, well inside what ext4/xfs handle with hashed
/// directory indexes. It is also the most directories one commit round can have to fsync, so it
/// is not made larger than needed.
pub const FANOUT: usize = 256;

/// Returns `Ok(())` when `id` is an acceptable body id, `InvalidInput` otherwise.
pub fn validate(id: &str) -> io::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "spool id must match [A-Za-z0-9-]{1,128}",
        ))
    }
}

/// The fan-out directory index of `id`.
///
/// Why a hash and not the raw id prefix: SES message ids start with a constant
/// (`0100018f…`-style timestamps and region prefixes), and callers may use sequential ids, so a
/// literal prefix would put almost everything into one directory. FNV-1a is used because it is
/// tiny and, unlike `std`'s `DefaultHasher`, its output is fixed forever — the directory is part
/// of the on-disk format, so the function must never change.
pub fn fanout(id: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    // Fold the high bits in: FNV's low byte alone is weaker for short inputs.
    ((h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) & 0xff) as usize
}

/// The directory name for a fan-out index (`00` … `ff`).
pub fn fanout_name(index: usize) -> String {
    format!("{index:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_table() {
        let long_ok = "a".repeat(MAX_ID_LEN);
        let too_long = "a".repeat(MAX_ID_LEN + 1);
        let cases: &[(&str, bool)] = &[
            ("a", true),
            (
                "0100018f6e2c-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901-000000",
                true,
            ),
            ("ABC-def-123", true),
            (&long_ok, true),
            ("", false),
            (&too_long, false),
            ("..", false),
            ("../etc/passwd", false),
            ("a/b", false),
            ("/abs", false),
            ("a.tmp", false),
            ("a b", false),
            ("a\0b", false),
            ("a_b", false),
            ("é", false),
            ("a\\b", false),
        ];
        for (id, ok) in cases {
            assert_eq!(validate(id).is_ok(), *ok, "id {id:?}");
            if !ok {
                assert_eq!(
                    validate(id).unwrap_err().kind(),
                    io::ErrorKind::InvalidInput
                );
            }
        }
    }

    #[test]
    fn fanout_is_stable_and_in_range() {
        // Pinned values: the fan-out is part of the on-disk format and must never change.
        let table = [("a", 0xed), ("message-1", 0xb6), ("0100018f-x", 0x36)];
        for (id, dir) in table {
            assert_eq!(fanout(id), dir, "id {id:?}");
        }
        assert_eq!(fanout_name(0x0a), "0a");
        for i in 0..10_000 {
            assert!(fanout(&format!("id-{i}")) < FANOUT);
        }
    }

    #[test]
    fn fanout_spreads_sequential_ids() {
        let mut used = [0usize; FANOUT];
        for i in 0..25_600 {
            used[fanout(&format!("0100018f6e2c-{i:08}-000000"))] += 1;
        }
        let min = used.iter().min().copied().unwrap_or(0);
        let max = used.iter().max().copied().unwrap_or(0);
        assert!(min > 40 && max < 200, "uneven fan-out: min {min} max {max}");
    }
}

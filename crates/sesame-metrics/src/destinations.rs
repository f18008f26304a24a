//! The `destination` label: normalised, and capped in number so a flood of distinct recipient
//! domains cannot grow the registry (and every scrape) without bound (DECISIONS Q-175:
//! "per-destination label cardinality cap"). The first `max` distinct destinations seen since
//! start-up keep their own label for the life of the process; every later one is counted under
//! [`OTHER`] (the first-seen policy of the `cap` module, where the reasons are given).

use std::sync::Mutex;

use crate::cap::FirstSeen;

/// The label of every destination beyond the cap.
pub const OTHER: &str = "other";

/// Longest label value kept: a domain name is at most 253 characters (RFC 1035 §2.3.4).
const MAX_LEN: usize = 253;

/// Lower-case ASCII, no surrounding whitespace, no trailing root dot (`Example.COM.` and
/// `example.com` are one destination); empty becomes `unknown`; over-long values are cut.
pub fn normalise(destination: &str) -> String {
    let d = destination.trim().trim_end_matches('.');
    if d.is_empty() {
        return "unknown".to_string();
    }
    let mut out = d.to_ascii_lowercase();
    if out.len() > MAX_LEN {
        let mut cut = MAX_LEN;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// The set of destinations that have a label of their own.
pub struct Destinations {
    admitted: Mutex<FirstSeen<String>>,
}

impl Destinations {
    pub fn new(max: usize) -> Destinations {
        Destinations {
            admitted: Mutex::new(FirstSeen::new(max)),
        }
    }

    /// The label value to count `destination` under.
    pub fn label(&self, destination: &str) -> String {
        let d = normalise(destination);
        // A poisoned lock only means another thread panicked mid-insert; the set is still valid.
        let mut admitted = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        if admitted.admit(d.as_str()) {
            d
        } else {
            OTHER.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_table() {
        let long = "a".repeat(300);
        let table: &[(&str, &str)] = &[
            ("example.com", "example.com"),
            ("Example.COM.", "example.com"),
            ("  mx.example.net  ", "mx.example.net"),
            ("", "unknown"),
            (".", "unknown"),
            ("ÄÖ.example", "ÄÖ.example"),
            (&long, &long[..253]),
        ];
        for (input, want) in table {
            assert_eq!(normalise(input), *want, "{input:?}");
        }
    }

    #[test]
    fn cap_admits_the_first_distinct_destinations_then_other() {
        let d = Destinations::new(2);
        // (input, label)
        let table = [
            ("a.example", "a.example"),
            ("A.example.", "a.example"),
            ("b.example", "b.example"),
            ("c.example", OTHER),
            ("a.example", "a.example"),
            ("d.example", OTHER),
            ("b.example", "b.example"),
        ];
        for (input, want) in table {
            assert_eq!(d.label(input), want, "{input}");
        }
        let none = Destinations::new(0);
        assert_eq!(none.label("a.example"), OTHER);
    }
}

//! First-seen admission: the cardinality cap shared by the `destination` label
//! ([`crate::destinations`]) and the dimension labels of `ses_configuration_set_events_total`
//! (DECISIONS Q-175: "per-destination label cardinality cap").
//!
//! Policy: the first `max` distinct values seen since start-up are admitted for the life of the
//! process; every later one is refused (and counted under `other` by the caller). "First seen"
//! rather than "top N by volume" because a counter series must never move between labels: if a
//! value were demoted to `other` its series would stop and `other` would jump, which `rate()`
//! reads as a burst. Busy values are in practice among the first seen after a restart.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::Hash;

/// The values admitted so far, at most `max` of them. Not synchronised: callers keep it behind
/// their own lock (one lock may guard several sets).
pub(crate) struct FirstSeen<T> {
    max: usize,
    admitted: HashSet<T>,
}

impl<T: Hash + Eq> FirstSeen<T> {
    pub(crate) fn new(max: usize) -> FirstSeen<T> {
        FirstSeen {
            max,
            admitted: HashSet::new(),
        }
    }

    /// Whether `value` has (or now gets) a label of its own: it was admitted before, or there
    /// is still room. Allocates only when admitting.
    pub(crate) fn admit<Q>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
    {
        if self.admitted.contains(value) {
            return true;
        }
        if self.admitted.len() < self.max {
            self.admitted.insert(value.to_owned());
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_first_distinct_values_then_refuses() {
        let mut s = FirstSeen::<String>::new(2);
        // (value, admitted)
        let table = [
            ("a", true),
            ("a", true),
            ("b", true),
            ("c", false),
            ("a", true),
            ("b", true),
            ("d", false),
        ];
        for (value, want) in table {
            assert_eq!(s.admit(value), want, "{value}");
        }
        assert!(!FirstSeen::<String>::new(0).admit("a"));
        let mut tuples = FirstSeen::<Vec<(String, String)>>::new(1);
        let one = [("k".to_string(), "v".to_string())];
        assert!(tuples.admit(&one[..]));
        assert!(tuples.admit(&one[..]));
        assert!(!tuples.admit(&[("k".to_string(), "w".to_string())][..]));
    }
}

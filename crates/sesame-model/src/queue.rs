//! Operator views of the delivery queue (issue 4 item 7: `sesame queue list/show/retry/delete`
//! and the queue gauges of `/metrics`): a queued message together with its delivery lease, the
//! list filter and paging cursor, and the aggregate counts the gauges show.
//!
//! Lease semantics are the queue's (see [`crate::mail`]): a message is *in delivery* while a
//! node holds a lease that has not expired (`lease_until >= now`); an expired lease makes it
//! claimable again. Operator commands never take a live lease away from a delivery, except
//! `delete --force`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, Region};
use crate::mail::QueuedMessage;

/// A queued message as the operator sees it: the row plus its lease.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub message: QueuedMessage,
    /// The node that claimed the message last, while the claim stands (it may have expired:
    /// see [`QueueEntry::in_delivery`]). `None` when nobody holds it.
    pub lease_owner: Option<String>,
    /// Unix ms until which the lease holds. `None` with an owner means a lease without expiry
    /// (the engine's in-memory test store has no lease clock).
    pub lease_until: Option<i64>,
}

impl QueueEntry {
    /// Whether a delivery holds a live lease at `now_ms`, i.e. the message may be on the wire
    /// right now (the claim condition's complement: `lease_until >= now`).
    pub fn in_delivery(&self, now_ms: i64) -> bool {
        match (&self.lease_owner, self.lease_until) {
            (_, Some(until)) => until >= now_ms,
            (Some(_), None) => true,
            (None, None) => false,
        }
    }
}

/// Which queued messages `list_queue` returns. Every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub account: Option<AccountId>,
    pub region: Option<Region>,
}

impl QueueFilter {
    pub fn matches(&self, m: &QueuedMessage) -> bool {
        self.account.as_ref().is_none_or(|a| &m.scope.account == a)
            && self.region.as_ref().is_none_or(|r| &m.scope.region == r)
    }
}

/// Position in the queue listing, which is ordered by `(next_attempt_at, message_id)`: a page
/// continues strictly after the cursor of the previous page's last entry. Written as
/// `<next_attempt_at>.<message_id>` (the CLI's `--next-token`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueCursor {
    pub next_attempt_at: i64,
    pub message_id: String,
}

impl QueueCursor {
    /// The cursor that continues after `m`.
    pub fn after(m: &QueuedMessage) -> QueueCursor {
        QueueCursor {
            next_attempt_at: m.next_attempt_at,
            message_id: m.message_id.clone(),
        }
    }

    /// Whether `m` sorts strictly after this cursor.
    pub fn precedes(&self, m: &QueuedMessage) -> bool {
        (self.next_attempt_at, self.message_id.as_str()) < (m.next_attempt_at, &m.message_id)
    }
}

impl fmt::Display for QueueCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.next_attempt_at, self.message_id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid queue cursor {0:?}: expected <next_attempt_at>.<message_id>")]
pub struct CursorError(pub String);

impl FromStr for QueueCursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, CursorError> {
        let bad = || CursorError(s.to_string());
        let (at, id) = s.split_once('.').ok_or_else(bad)?;
        let next_attempt_at = at.parse().map_err(|_| bad())?;
        if id.is_empty() {
            return Err(bad());
        }
        Ok(QueueCursor {
            next_attempt_at,
            message_id: id.to_string(),
        })
    }
}

/// Aggregate counts over the whole queue at one instant (the `/metrics` gauges).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Queued messages.
    pub depth: u64,
    /// Messages that were attempted at least once and are waiting for a retry or in a retry
    /// (`attempts > 0`).
    pub deferred: u64,
    /// Messages held by a live delivery lease.
    pub in_delivery: u64,
    /// `created_at` (unix ms) of the oldest queued message; `None` when the queue is empty.
    pub oldest_created_at: Option<i64>,
    /// Committed events not yet handed to their destinations (the publishing outbox,
    /// `event_dispatch`), the `sesame_publishing_backlog` gauge.
    #[serde(default)]
    pub publishing_backlog: u64,
    /// Time (unix ms) of the oldest event in the publishing outbox; `None` when it is empty.
    #[serde(default)]
    pub publishing_oldest_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Scope;

    fn msg(id: &str, at: i64) -> QueuedMessage {
        QueuedMessage {
            message_id: id.into(),
            scope: Scope::new(
                "111122223333".parse().unwrap(),
                "us-east-1".parse().unwrap(),
            ),
            mail_from: String::new(),
            recipients: vec![],
            meta: serde_json::Value::Null,
            created_at: 0,
            next_attempt_at: at,
            attempts: 0,
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = QueueCursor {
            next_attempt_at: 1_700_000_000_123,
            message_id: "0100-abc.def".into(),
        };
        assert_eq!(c.to_string(), "1700000000123.0100-abc.def");
        assert_eq!(c.to_string().parse::<QueueCursor>(), Ok(c));
        for bad in ["", "123", "123.", "x.abc", ".abc"] {
            assert_eq!(
                bad.parse::<QueueCursor>(),
                Err(CursorError(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cursor_orders_by_time_then_id() {
        let c = QueueCursor::after(&msg("m", 10));
        // (input message, strictly after the cursor?)
        let table = [
            (msg("m", 10), false),
            (msg("a", 10), false),
            (msg("n", 10), true),
            (msg("a", 11), true),
            (msg("z", 9), false),
        ];
        for (m, want) in table {
            assert_eq!(
                c.precedes(&m),
                want,
                "{} @{}",
                m.message_id,
                m.next_attempt_at
            );
        }
    }

    #[test]
    fn in_delivery_follows_the_lease_clock() {
        let e = |owner: Option<&str>, until: Option<i64>| QueueEntry {
            message: msg("m", 0),
            lease_owner: owner.map(str::to_string),
            lease_until: until,
        };
        // (entry, now, in delivery?)
        let table = [
            (e(None, None), 100, false),
            (e(Some("n1"), Some(100)), 100, true),
            (e(Some("n1"), Some(99)), 100, false),
            (e(Some("n1"), None), 100, true),
        ];
        for (entry, now, want) in table {
            assert_eq!(entry.in_delivery(now), want, "{entry:?}");
        }
    }

    #[test]
    fn filter_matches_account_and_region() {
        let m = msg("m", 0);
        let f = |a: Option<&str>, r: Option<&str>| QueueFilter {
            account: a.map(|a| a.parse().unwrap()),
            region: r.map(|r| r.parse().unwrap()),
        };
        assert!(f(None, None).matches(&m));
        assert!(f(Some("111122223333"), Some("us-east-1")).matches(&m));
        assert!(!f(Some("999999999999"), None).matches(&m));
        assert!(!f(None, Some("eu-west-1")).matches(&m));
    }
}

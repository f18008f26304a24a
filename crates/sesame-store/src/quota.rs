//! The arithmetic of the sending path, kept apart from SQL so it is tested without a database:
//! time buckets, the rolling 24 h window, the per-second token bucket (DECISIONS,
//! Q-235) and what each event adds to `GetSendStatistics`.

use sesame_model::{EventRecord, QuotaCheck};

/// 24 hours in ms: the `SentLast24Hours` window.
pub(crate) const DAY_MS: i64 = 86_400_000;
/// Granularity of `quota_usage`.
pub(crate) const MINUTE_MS: i64 = 60_000;
/// Granularity of `send_stats` (GetSendStatistics data points).
pub(crate) const STATS_BUCKET_MS: i64 = 15 * MINUTE_MS;
/// Float slack when comparing token counts: 10 × 0.1 s of refill must make one whole token.
const TOKEN_EPSILON: f64 = 1e-9;

/// Start of the `step`-long bucket containing `t` (also for negative `t`).
pub(crate) fn floor_to(t: i64, step: i64) -> i64 {
    t.div_euclid(step) * step
}

/// `quota_usage` buckets with `minute_bucket > quota_cutoff(now)` count toward the 24 h ending
/// at `now`. A bucket counts while any instant of its minute is within the window, so a
/// recipient is counted for at least 24 h and at most 24 h + 1 min: the quota errs on the side
/// of never letting more than `Max24HourSend` through in any true 24 h window.
pub(crate) fn quota_cutoff(now_ms: i64) -> i64 {
    now_ms - DAY_MS - MINUTE_MS
}

/// all or nothing. `used` already includes items accepted earlier in the same batch.
pub(crate) fn daily_allows(check: &QuotaCheck, used: i64) -> bool {
    check.max_24h_send < 0.0
        || (used as f64) + f64::from(check.counted_recipients) <= check.max_24h_send
}

/// A scope's token bucket as of `updated_at` (unix ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TokenBucket {
    pub tokens: f64,
    pub updated_at: i64,
}

impl TokenBucket {
    /// The bucket refilled to `now_ms` under `check`'s parameters: `max_send_rate` tokens per
    /// second up to a capacity of `max(1, burst)`. A scope that never sent starts full. Time
    /// never runs backwards for a bucket (another node's clock may be slightly behind).
    pub(crate) fn refilled(stored: Option<TokenBucket>, check: &QuotaCheck, now_ms: i64) -> Self {
        let capacity = check.burst.max(1.0);
        match stored {
            None => TokenBucket {
                tokens: capacity,
                updated_at: now_ms,
            },
            Some(b) => {
                let elapsed_s = (now_ms - b.updated_at).max(0) as f64 / 1000.0;
                TokenBucket {
                    tokens: (b.tokens + elapsed_s * check.max_send_rate.max(0.0)).min(capacity),
                    updated_at: b.updated_at.max(now_ms),
                }
            }
        }
    }

    /// Takes `rate_tokens` (Q-106: one per recipient). A send may start when the bucket holds
    /// its tokens, or — for a send larger than the whole capacity (e.g. 3 recipients at 1/s)
    /// — when the bucket is full; the bucket then goes into debt, so the rate holds on average
    /// ("may be exceeded for short periods but not for long") and no send size is impossible.
    pub(crate) fn try_take(&mut self, check: &QuotaCheck) -> bool {
        let need = f64::from(check.rate_tokens);
        let capacity = check.burst.max(1.0);
        if self.tokens + TOKEN_EPSILON >= need.min(capacity) {
            self.tokens -= need;
            true
        } else {
            false
        }
    }
}

/// A negative `max_send_rate` means no per-second limit (the same convention as
/// `max_24h_send`); such sends neither need nor take tokens.
pub(crate) fn rate_limited(check: &QuotaCheck) -> bool {
    check.max_send_rate >= 0.0
}

/// What one row of `send_stats` gains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StatsDelta {
    pub delivery_attempts: i64,
    pub bounces: i64,
    pub complaints: i64,
    pub rejects: i64,
}

impl StatsDelta {
    pub(crate) fn is_zero(&self) -> bool {
        *self == StatsDelta::default()
    }

    pub(crate) fn add(&mut self, other: StatsDelta) {
        self.delivery_attempts += other.delivery_attempts;
        self.bounces += other.bounces;
        self.complaints += other.complaints;
        self.rejects += other.rejects;
    }

    /// hard bounces count their bounced recipients, complaints their complained
    /// recipients, rejects one each. Hard means `Permanent`, and `Undetermined`, which G-44
    /// counts as hard (an unreadable report at a message's feedback address, Q-166).
    /// Everything else (Send, Delivery, soft bounces and auto-replies…) adds nothing; delivery
    /// attempts come from `accept_messages`, not from events.
    pub(crate) fn of_event(event: &EventRecord) -> StatsDelta {
        let count = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_array)
                .map_or(0, |a| i64::try_from(a.len()).unwrap_or(i64::MAX))
        };
        let data = &event.data;
        match event.event_type.as_str() {
            "Bounce"
                if data["bounce"]["bounceType"] == "Permanent"
                    || data["bounce"]["bounceType"] == "Undetermined" =>
            {
                StatsDelta {
                    bounces: count(data["bounce"].get("bouncedRecipients")),
                    ..StatsDelta::default()
                }
            }
            "Complaint" => StatsDelta {
                complaints: count(data["complaint"].get("complainedRecipients")),
                ..StatsDelta::default()
            },
            "Reject" => StatsDelta {
                rejects: 1,
                ..StatsDelta::default()
            },
            _ => StatsDelta::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(counted: u32, tokens: u32, max: f64, rate: f64, burst: f64) -> QuotaCheck {
        QuotaCheck {
            counted_recipients: counted,
            rate_tokens: tokens,
            max_24h_send: max,
            max_send_rate: rate,
            burst,
        }
    }

    /// a send larger than the capacity starts only from a full bucket and leaves a
    /// debt that later sends must wait out (3 recipients at 1/s: next send after ~3 s).
    #[test]
    fn oversize_send_goes_into_debt() {
        let c = check(3, 3, -1.0, 1.0, 1.0);
        let mut b = TokenBucket::refilled(None, &c, 0);
        assert!(b.try_take(&c));
        assert_eq!(b.tokens, -2.0);
        let one = check(1, 1, -1.0, 1.0, 1.0);
        let mut later = TokenBucket::refilled(Some(b), &one, 2_000);
        assert!(!later.try_take(&one), "still in debt after 2 s");
        let mut later = TokenBucket::refilled(Some(b), &one, 3_000);
        assert!(later.try_take(&one), "paid back after 3 s");
    }

    #[test]
    fn buckets_floor_including_negative_times() {
        assert_eq!(floor_to(0, MINUTE_MS), 0);
        assert_eq!(floor_to(59_999, MINUTE_MS), 0);
        assert_eq!(floor_to(60_000, MINUTE_MS), 60_000);
        assert_eq!(floor_to(-1, MINUTE_MS), -60_000);
        assert_eq!(floor_to(1_000_000, STATS_BUCKET_MS), 900_000);
    }

    #[test]
    fn daily_check_is_all_or_nothing_and_negative_is_unlimited() {
        for (counted, used, max, ok) in [
            (1, 0, 1.0, true),
            (1, 1, 1.0, false),
            (3, 7, 10.0, true),
            (4, 7, 10.0, false),
            (0, 10, 10.0, true),
            (1_000_000, 1_000_000_000, -1.0, true),
            (1, 0, 0.0, false),
        ] {
            assert_eq!(
                daily_allows(&check(counted, 0, max, 1.0, 1.0), used),
                ok,
                "{counted} + {used} vs {max}"
            );
        }
    }

    #[test]
    fn token_bucket_starts_full_refills_and_caps() {
        let c = check(1, 1, -1.0, 2.0, 3.0);
        let mut b = TokenBucket::refilled(None, &c, 1_000);
        assert_eq!(b.tokens, 3.0);
        assert!(b.try_take(&c) && b.try_take(&c) && b.try_take(&c));
        assert!(!b.try_take(&c));
        // 0.25 s at 2/s: half a token, not enough.
        let mut b = TokenBucket::refilled(Some(b), &c, 1_250);
        assert!(!b.try_take(&c));
        let mut b = TokenBucket::refilled(Some(b), &c, 1_500);
        assert!(b.try_take(&c));
        // A long pause fills only up to capacity; a clock going backwards adds nothing.
        let b = TokenBucket::refilled(Some(b), &c, 100_000);
        assert_eq!(b.tokens, 3.0);
        let back = TokenBucket::refilled(Some(b), &c, 50_000);
        assert_eq!(back, b);
    }

    #[test]
    fn tenths_of_a_second_make_a_whole_token() {
        let c = check(1, 1, -1.0, 1.0, 1.0);
        let mut b = TokenBucket {
            tokens: 0.0,
            updated_at: 0,
        };
        for t in 1..=10 {
            b = TokenBucket::refilled(Some(b), &c, t * 100);
        }
        assert!(b.try_take(&c));
    }

    #[test]
    fn capacity_is_at_least_one() {
        let c = check(1, 1, -1.0, 0.5, 0.0);
        let mut b = TokenBucket::refilled(None, &c, 0);
        assert!(b.try_take(&c));
        assert!(!b.try_take(&c));
    }

    fn event(kind: &str, data: serde_json::Value) -> EventRecord {
        EventRecord {
            event_id: "e".into(),
            scope: sesame_model::Scope::new(
                "000000000001".parse().unwrap(),
                "us-east-1".parse().unwrap(),
            ),
            message_id: "m".into(),
            event_type: kind.into(),
            timestamp: 0,
            data,
        }
    }

    #[test]
    fn event_stats_table() {
        let two = json!([{"emailAddress": "a@x"}, {"emailAddress": "b@x"}]);
        for (kind, data, expected) in [
            (
                "Bounce",
                json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": two}}),
                (0, 2, 0, 0),
            ),
            (
                "Bounce",
                json!({"bounce": {"bounceType": "Transient", "bouncedRecipients": two}}),
                (0, 0, 0, 0),
            ),
            (
                "Bounce",
                json!({"bounce": {"bounceType": "Undetermined", "bouncedRecipients": two}}),
                (0, 2, 0, 0),
            ),
            ("Bounce", json!({}), (0, 0, 0, 0)),
            (
                "Complaint",
                json!({"complaint": {"complainedRecipients": two}}),
                (0, 0, 2, 0),
            ),
            ("Complaint", json!({"complaint": {}}), (0, 0, 0, 0)),
            (
                "Reject",
                json!({"reject": {"reason": "Bad content"}}),
                (0, 0, 0, 1),
            ),
            ("Send", json!({}), (0, 0, 0, 0)),
            ("Delivery", json!({}), (0, 0, 0, 0)),
        ] {
            let d = StatsDelta::of_event(&event(kind, data.clone()));
            assert_eq!(
                (d.delivery_attempts, d.bounces, d.complaints, d.rejects),
                expected,
                "{kind} {data}"
            );
        }
    }
}

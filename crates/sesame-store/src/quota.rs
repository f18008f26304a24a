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
    /// recipients (mailbox-simulator addresses excepted), rejects one each. Hard means `Permanent`, and `Undetermined`, which G-44
    /// counts as hard (an unreadable report at a message's feedback address, Q-166).
    /// Everything else (Send, Delivery, soft bounces and auto-replies…) adds nothing; delivery
    /// attempts come from `accept_messages`, not from events.
    pub(crate) fn of_event(event: &EventRecord) -> StatsDelta {
        // E-82, Q-248: mailbox-simulator recipients are not delivery attempts, so their
        // bounces and complaints are not counted either (else a simulator bounce would be a
        // bounce without an attempt).
        let count = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_array).map_or(0, |a| {
                a.iter()
                    .filter(|r| {
                        !r.get("emailAddress")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(is_simulator)
                    })
                    .count() as i64
            })
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

/// Granularity of `reputation_stats`.
pub(crate) const REPUTATION_BUCKET_MS: i64 = sesame_policy::reputation::BUCKET_MS;

/// What one row of `reputation_stats` gains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReputationDelta {
    pub sends: i64,
    pub bounces: i64,
    pub complaints: i64,
    pub simulator_sends: i64,
    pub simulator_bounces: i64,
    pub simulator_complaints: i64,
}

impl ReputationDelta {
    pub(crate) fn is_zero(&self) -> bool {
        *self == ReputationDelta::default()
    }

    pub(crate) fn add(&mut self, o: ReputationDelta) {
        self.sends += o.sends;
        self.bounces += o.bounces;
        self.complaints += o.complaints;
        self.simulator_sends += o.simulator_sends;
        self.simulator_bounces += o.simulator_bounces;
        self.simulator_complaints += o.simulator_complaints;
    }

    /// `Send` counts its recipients, a hard bounce that counts
    /// (`sesame_policy::reputation::bounce_counts`) its bounced recipients, a complaint its
    /// complained recipients; mailbox-simulator addresses apart (E-82). Returns the
    /// configuration set (`""` for none, from the `ses:configuration-set` tag) and the hour of
    /// the *send* (`mail.timestamp`, else the event's own time).
    pub(crate) fn of_event(event: &EventRecord) -> Option<(String, i64, ReputationDelta)> {
        let data = &event.data;
        let split = |list: Option<&serde_json::Value>, field: Option<&str>| -> (i64, i64) {
            let mut real = 0;
            let mut sim = 0;
            for v in list
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                // an unsubscribed contact's bounce counts nothing.
                .filter(|v| {
                    sesame_policy::reputation::bounced_recipient_counts(
                        v.get("diagnosticCode").and_then(serde_json::Value::as_str),
                    )
                })
            {
                let addr = match field {
                    Some(f) => v.get(f).and_then(serde_json::Value::as_str),
                    None => v.as_str(),
                };
                if addr.is_some_and(is_simulator) {
                    sim += 1;
                } else {
                    real += 1;
                }
            }
            (real, sim)
        };
        let delta = match event.event_type.as_str() {
            "Send" => {
                let (sends, simulator_sends) = split(data["mail"].get("destination"), None);
                ReputationDelta {
                    sends,
                    simulator_sends,
                    ..Default::default()
                }
            }
            "Bounce"
                if sesame_policy::reputation::bounce_counts(
                    data["bounce"]["bounceType"].as_str().unwrap_or(""),
                    data["bounce"]["bounceSubType"].as_str().unwrap_or(""),
                ) =>
            {
                let (bounces, simulator_bounces) = split(
                    data["bounce"].get("bouncedRecipients"),
                    Some("emailAddress"),
                );
                ReputationDelta {
                    bounces,
                    simulator_bounces,
                    ..Default::default()
                }
            }
            "Complaint" => {
                let (complaints, simulator_complaints) = split(
                    data["complaint"].get("complainedRecipients"),
                    Some("emailAddress"),
                );
                ReputationDelta {
                    complaints,
                    simulator_complaints,
                    ..Default::default()
                }
            }
            _ => return None,
        };
        if delta.is_zero() {
            return None;
        }
        let set = data["mail"]["tags"]["ses:configuration-set"][0]
            .as_str()
            .unwrap_or("")
            .to_string();
        let sent_at = data["mail"]["timestamp"]
            .as_str()
            .and_then(parse_iso_ms)
            .unwrap_or(event.timestamp);
        Some((set, floor_to(sent_at, REPUTATION_BUCKET_MS), delta))
    }
}

/// The mailbox simulator's domain (E-79), matched case-insensitively (E-86).
fn is_simulator(addr: &str) -> bool {
    addr.rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case("simulator.amazonses.com"))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (the events' `mail.timestamp`) as unix ms.
fn parse_iso_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let ms = match s.get(19..s.len() - 1) {
        Some("") => 0,
        Some(frac) if frac.starts_with('.') && frac.len() >= 2 => {
            let digits = &frac[1..frac.len().min(4)];
            let v: i64 = digits.parse().ok()?;
            v * 10_i64.pow(3 - digits.len() as u32)
        }
        _ => return None,
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms)
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
    fn iso_timestamps_parse() {
        assert_eq!(parse_iso_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso_ms("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(
            parse_iso_ms("2016-10-19T23:20:52.240Z"),
            Some(1_476_919_252_240)
        );
        assert_eq!(
            parse_iso_ms("2024-02-29T12:00:00.000Z"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_iso_ms("yesterday"), None);
        assert_eq!(parse_iso_ms("2024-13-01T00:00:00Z"), None);
    }

    /// E-82: what each event adds to `reputation_stats`, by set and send hour.
    #[test]
    fn reputation_delta_table() {
        let mail = json!({
            "timestamp": "1970-01-01T02:30:00.000Z",
            "destination": ["a@x", "bounce@simulator.amazonses.com"],
            "tags": {"ses:configuration-set": ["cs"]}
        });
        let hour2 = 2 * 3_600_000;
        let two = json!([{"emailAddress": "a@x"}, {"emailAddress": "b+1@SIMULATOR.amazonses.com"}]);
        let d = |sends, bounces, complaints, ss, sb, sc| ReputationDelta {
            sends,
            bounces,
            complaints,
            simulator_sends: ss,
            simulator_bounces: sb,
            simulator_complaints: sc,
        };
        for (kind, data, expected) in [
            ("Send", json!({"mail": mail}), Some(d(1, 0, 0, 1, 0, 0))),
            (
                "Bounce",
                json!({"mail": mail, "bounce": {"bounceType": "Permanent",
                    "bounceSubType": "General", "bouncedRecipients": two}}),
                Some(d(0, 1, 0, 0, 1, 0)),
            ),
            (
                "Bounce",
                json!({"mail": mail, "bounce": {"bounceType": "Permanent",
                    "bounceSubType": "OnAccountSuppressionList", "bouncedRecipients": two}}),
                None,
            ),
            // a recipient who unsubscribed from the list counts nothing; the others of
            // the same bounce do.
            (
                "Bounce",
                json!({"mail": mail, "bounce": {"bounceType": "Permanent",
                    "bounceSubType": "General", "bouncedRecipients": [
                        {"emailAddress": "a@x", "diagnosticCode": "Recipient unsubscribed from list/topic"},
                        {"emailAddress": "c@x", "diagnosticCode": "smtp; 550 5.1.1 unknown"}]}}),
                Some(d(0, 1, 0, 0, 0, 0)),
            ),
            (
                "Bounce",
                json!({"mail": mail, "bounce": {"bounceType": "Transient",
                    "bounceSubType": "General", "bouncedRecipients": two}}),
                None,
            ),
            (
                "Complaint",
                json!({"mail": mail, "complaint": {"complainedRecipients": two}}),
                Some(d(0, 0, 1, 0, 0, 1)),
            ),
            ("Delivery", json!({"mail": mail}), None),
            ("Reject", json!({"mail": mail}), None),
        ] {
            let got = ReputationDelta::of_event(&event(kind, data.clone()));
            assert_eq!(
                got,
                expected.map(|e| ("cs".to_string(), hour2, e)),
                "{kind} {data}"
            );
        }
        // No set, no mail timestamp: the empty set and the event's own hour.
        let mut e = event("Send", json!({"mail": {"destination": ["a@x"]}}));
        e.timestamp = 3_600_000 + 5;
        assert_eq!(
            ReputationDelta::of_event(&e),
            Some((String::new(), 3_600_000, d(1, 0, 0, 0, 0, 0)))
        );
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
                "Bounce",
                json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": [
                    {"emailAddress": "bounce@simulator.amazonses.com"}, {"emailAddress": "a@x"}]}}),
                (0, 1, 0, 0),
            ),
            (
                "Complaint",
                json!({"complaint": {"complainedRecipients": [
                    {"emailAddress": "complaint@simulator.amazonses.com"}]}}),
                (0, 0, 0, 0),
            ),
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

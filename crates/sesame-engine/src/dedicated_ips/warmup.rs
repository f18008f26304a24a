//! Standard dedicated IP warm-up (spec F-19..F-26, SH-4; DECISIONS Q-132): the time-based
//! plan, manual overrides, and the daily cap a percentage allows. Pure: time is passed in.
//!
//! The plan (the seed gives only "45 days, 50,000 a day at the end", F-20/F-26), by plan day
//! `d` (day 1 = the day the IP was registered for the account):
//!
//! | plan day `d` | `WarmupPercentage` = ⌈100·d/45⌉ | daily cap = 50,000 × pct / 100 |
//! |---|---|---|
//! | 1 | 3 | 1,500 |
//! | 2 | 5 | 2,500 |
//! | 10 | 23 | 11,500 |
//! | 23 | 52 | 26,000 |
//! | 44 | 98 | 49,000 |
//! | 45 and later | 100 (`DONE`) | no warm-up cap |
//!
//! A manual percentage (`PutDedicatedIpWarmupAttributes`) shows exactly the value set; with
//! auto warm-up enabled the climb then resumes from it the next day (from the first plan day
//! whose percentage is at least the value), otherwise it stays there. 100 = `DONE` (F-25
//! "Mark as complete"), 0 = reset (no mail leaves the IP until the climb or a manual value
//! raises it).

use serde::{Deserialize, Serialize};

/// Length of the auto warm-up plan in days (F-20, F-22).
pub const PLAN_DAYS: i64 = 45;
/// Daily volume the plan reaches at its end (F-20); the cap scales linearly with the percentage.
pub const FULL_DAILY_VOLUME: u64 = 50_000;
/// One UTC day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The model's `WarmupStatus` (F-64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarmupStatus {
    InProgress,
    Done,
    /// IPs of managed pools: SES (here: Sesame) manages their warm-up (F-64, Q-133).
    NotApplicable,
}

impl WarmupStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            WarmupStatus::InProgress => "IN_PROGRESS",
            WarmupStatus::Done => "DONE",
            WarmupStatus::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// The plan's percentage on plan day `day`: 0 before day 1, ⌈100·d/45⌉, 100 from day 45 on.
pub fn plan_percentage(day: i64) -> u8 {
    if day <= 0 {
        0
    } else if day >= PLAN_DAYS {
        100
    } else {
        // ⌈100·d/45⌉ in integers.
        ((100 * day + PLAN_DAYS - 1) / PLAN_DAYS) as u8
    }
}

/// The first plan day whose percentage is at least `pct` (0 for 0).
pub fn plan_day_for(pct: u8) -> i64 {
    if pct == 0 {
        0
    } else {
        // Smallest d with 100·d/45 > pct − 1.
        (PLAN_DAYS * (i64::from(pct.min(100)) - 1)) / 100 + 1
    }
}

/// The most messages a standard IP at warm-up percentage `pct` may send in one UTC day:
/// 50,000 × pct / 100 while warming; `u64::MAX` (no warm-up cap) from 100 on, because a
/// `DONE` IP is limited only by the account's own quotas (F-20, Q-132).
pub fn warmup_daily_limit(pct: u8) -> u64 {
    if pct >= 100 {
        u64::MAX
    } else {
        FULL_DAILY_VOLUME * u64::from(pct) / 100
    }
}

/// The UTC day (days since the Unix epoch) containing `now_ms`: the warm-up counters' key.
pub fn utc_day(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

/// The start of the UTC day after the one containing `now_ms` (when a used-up cap renews).
pub fn next_utc_midnight(now_ms: i64) -> i64 {
    (utc_day(now_ms) + 1) * DAY_MS
}

/// Warm-up state of one IP for one account, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warmup {
    /// The percentage as of `since_ms`.
    pub percentage: u8,
    /// Unix ms when `percentage` was set (registration or a manual change).
    pub since_ms: i64,
    /// Whether the percentage climbs along the plan from there (auto warm-up).
    pub climbing: bool,
}

impl Warmup {
    /// A newly registered IP (F-24): on plan day 1 with auto warm-up, else `DONE` at once.
    pub fn registered(now_ms: i64, auto_warmup: bool) -> Warmup {
        if auto_warmup {
            Warmup {
                percentage: plan_percentage(1),
                since_ms: now_ms,
                climbing: true,
            }
        } else {
            Warmup::done(now_ms)
        }
    }

    /// Warm-up complete (F-25 "Mark as complete").
    pub fn done(now_ms: i64) -> Warmup {
        Warmup {
            percentage: 100,
            since_ms: now_ms,
            climbing: false,
        }
    }

    /// `PutDedicatedIpWarmupAttributes(pct)` (F-25, Q-132): shows `pct` now; climbs from it
    /// only while the account's auto warm-up is on. `pct` must be 0–100.
    pub fn set(pct: u8, now_ms: i64, auto_warmup: bool) -> Warmup {
        Warmup {
            percentage: pct.min(100),
            since_ms: now_ms,
            climbing: auto_warmup && pct < 100,
        }
    }

    /// The percentage at `now_ms`.
    pub fn percentage_at(&self, now_ms: i64) -> u8 {
        let base = self.percentage.min(100);
        if !self.climbing || base == 100 {
            return base;
        }
        let days = (now_ms - self.since_ms).max(0) / DAY_MS;
        if days == 0 {
            return base;
        }
        plan_percentage(plan_day_for(base) + days).max(base)
    }

    /// `IN_PROGRESS` below 100 %, `DONE` at 100 %.
    pub fn status_at(&self, now_ms: i64) -> WarmupStatus {
        if self.percentage_at(now_ms) >= 100 {
            WarmupStatus::Done
        } else {
            WarmupStatus::InProgress
        }
    }

    /// The daily cap at `now_ms` ([`warmup_daily_limit`] of the current percentage).
    pub fn daily_limit_at(&self, now_ms: i64) -> u64 {
        warmup_daily_limit(self.percentage_at(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 20_000 * DAY_MS + 3_600_000; // 01:00 UTC on some day

    #[test]
    fn plan_table_q132() {
        for (day, pct) in [
            (0, 0),
            (1, 3),
            (2, 5),
            (3, 7),
            (10, 23),
            (23, 52),
            (44, 98),
            (45, 100),
            (90, 100),
        ] {
            assert_eq!(plan_percentage(day), pct, "day {day}");
        }
        // Never decreasing, and exactly 45 days from the first to 100 %.
        for d in 1..=PLAN_DAYS {
            assert!(plan_percentage(d) > plan_percentage(d - 1));
        }
        assert!(plan_percentage(PLAN_DAYS - 1) < 100);
    }

    #[test]
    fn plan_day_for_inverts_the_plan() {
        for pct in 1..=100u8 {
            let d = plan_day_for(pct);
            assert!(plan_percentage(d) >= pct, "pct {pct}: day {d}");
            assert!(
                plan_percentage(d - 1) < pct,
                "pct {pct}: day {d} is the first"
            );
        }
        assert_eq!(plan_day_for(0), 0);
        assert_eq!(plan_day_for(3), 1);
        assert_eq!(plan_day_for(100), 45);
    }

    #[test]
    fn daily_limit_table() {
        for (pct, limit) in [
            (0, 0),
            (1, 500),
            (3, 1_500),
            (42, 21_000),
            (99, 49_500),
            (100, u64::MAX),
        ] {
            assert_eq!(warmup_daily_limit(pct), limit, "{pct} %");
        }
    }

    #[test]
    fn utc_days() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(DAY_MS - 1), 0);
        assert_eq!(utc_day(DAY_MS), 1);
        assert_eq!(utc_day(-1), -1);
        assert_eq!(next_utc_midnight(T0), 20_001 * DAY_MS);
        assert_eq!(next_utc_midnight(20_001 * DAY_MS), 20_002 * DAY_MS);
    }

    /// SH-4: a registered IP follows the plan day by day and is `DONE` on day 45.
    #[test]
    fn auto_warmup_follows_the_plan() {
        let w = Warmup::registered(T0, true);
        assert_eq!(w.percentage_at(T0), 3);
        assert_eq!(w.status_at(T0), WarmupStatus::InProgress);
        assert_eq!(w.percentage_at(T0 + DAY_MS - 1), 3, "still plan day 1");
        assert_eq!(w.percentage_at(T0 + DAY_MS), 5);
        assert_eq!(w.daily_limit_at(T0 + DAY_MS), 2_500);
        assert_eq!(w.percentage_at(T0 + 43 * DAY_MS), 98);
        assert_eq!(w.percentage_at(T0 + 44 * DAY_MS), 100);
        assert_eq!(w.status_at(T0 + 44 * DAY_MS), WarmupStatus::Done);
        assert_eq!(w.daily_limit_at(T0 + 44 * DAY_MS), u64::MAX);
        // A clock going backwards never lowers the value below the base.
        assert_eq!(w.percentage_at(T0 - DAY_MS), 3);
    }

    /// F-24: auto warm-up off → new IPs are complete at once.
    #[test]
    fn auto_warmup_off_registers_done() {
        let w = Warmup::registered(T0, false);
        assert_eq!(
            (w.percentage_at(T0), w.status_at(T0)),
            (100, WarmupStatus::Done)
        );
    }

    /// F-25 / KA-4: set 42 → IN_PROGRESS 42; 100 → DONE 100; 0 → IN_PROGRESS 0.
    #[test]
    fn manual_controls() {
        let w = Warmup::set(42, T0, true);
        assert_eq!(
            (w.percentage_at(T0), w.status_at(T0)),
            (42, WarmupStatus::InProgress)
        );
        // Climb resumes from 42 (plan day 19 is 43 %) the next day: day 20 → 45 %.
        assert_eq!(w.percentage_at(T0 + DAY_MS), 45);
        let frozen = Warmup::set(42, T0, false);
        assert_eq!(
            frozen.percentage_at(T0 + 30 * DAY_MS),
            42,
            "auto off: frozen"
        );
        let done = Warmup::set(100, T0, true);
        assert_eq!(
            (done.percentage_at(T0), done.status_at(T0)),
            (100, WarmupStatus::Done)
        );
        let reset = Warmup::set(0, T0, true);
        assert_eq!(
            (reset.percentage_at(T0), reset.status_at(T0)),
            (0, WarmupStatus::InProgress)
        );
        assert_eq!(reset.daily_limit_at(T0), 0, "0 % sends nothing");
        assert_eq!(
            reset.percentage_at(T0 + DAY_MS),
            3,
            "restarts at plan day 1"
        );
        assert_eq!(Warmup::set(0, T0, false).percentage_at(T0 + 9 * DAY_MS), 0);
    }

    #[test]
    fn status_wire_values() {
        assert_eq!(WarmupStatus::InProgress.as_str(), "IN_PROGRESS");
        assert_eq!(WarmupStatus::Done.as_str(), "DONE");
        assert_eq!(WarmupStatus::NotApplicable.as_str(), "NOT_APPLICABLE");
    }
}

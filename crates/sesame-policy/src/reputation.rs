//! Reputation: which mail counts, the bounce and complaint rates over a representative volume,
//! and what the thresholds say (spec G-73..G-78, H-163..H-171; DECISIONS Q-239..Q-242, Q-245,
//! Pure functions over hourly counters; the caller reads the counters, passes the clock
//! in and applies the verdict (`sesame_engine::reputation`).

/// One hour's counters, attributed to the **send** time of the messages (Q-240: a bounce that
/// arrives on Tuesday for Monday's mail counts against Monday's sends).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Eligible recipients sent to (the denominator of both rates).
    pub sends: i64,
    /// Hard bounces that count (G-73: no transient, no `OnAccountSuppressionList`).
    pub bounces: i64,
    /// Feedback-loop complaints (H-169).
    pub complaints: i64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.sends += o.sends;
        self.bounces += o.bounces;
        self.complaints += o.complaints;
    }

    /// Bounce rate as a fraction (G-77: `0.05` is 5 %); `None` with no sends.
    pub fn bounce_rate(&self) -> Option<f64> {
        (self.sends > 0).then(|| self.bounces as f64 / self.sends as f64)
    }

    /// Complaint rate as a fraction; `None` with no sends.
    pub fn complaint_rate(&self) -> Option<f64> {
        (self.sends > 0).then(|| self.complaints as f64 / self.sends as f64)
    }
}

/// A bucket of [`Counts`] starting at `start_ms` (unix ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub start_ms: i64,
    pub counts: Counts,
}

/// What a bounce contributes (G-73, A-71, A-79, Q-241): `Permanent` and `Undetermined`
/// (G-44 counts it as hard) except `OnAccountSuppressionList` (Q-241: nothing was attempted);
/// global-list `Suppressed` bounces count like any hard bounce. Transient bounces,
/// auto-replies included, never count. Within a counting bounce, recipients bounced because
/// they unsubscribed ([`UNSUBSCRIBED_DIAGNOSTIC`]) do not count either.
pub fn bounce_counts(bounce_type: &str, bounce_sub_type: &str) -> bool {
    matches!(bounce_type, "Permanent" | "Undetermined")
        && bounce_sub_type != "OnAccountSuppressionList"
}

/// `diagnosticCode` of the `Permanent`/`General` bounce of a send to a contact who unsubscribed
/// from the list or topic (F-179, Q-198). Such a recipient is excluded from the bounce rate and
/// never added to the suppression list: nothing was attempted.
pub const UNSUBSCRIBED_DIAGNOSTIC: &str = "Recipient unsubscribed from list/topic";

/// Whether a bounced recipient (its `diagnosticCode`) counts toward the bounce rate, given that
/// its bounce does ([`bounce_counts`]).
pub fn bounced_recipient_counts(diagnostic_code: Option<&str>) -> bool {
    diagnostic_code != Some(UNSUBSCRIBED_DIAGNOSTIC)
}

/// Hour granularity of the counters (G-75: gauges updated at least hourly).
pub const BUCKET_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The representative-volume window (G-75, Q-240).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// `N = max(min_sends, sends of the trailing `trailing_ms`)`: at least this many sends.
    pub min_sends: i64,
    /// The trailing period whose volume sets `N` (7 days).
    pub trailing_ms: i64,
    /// Never look further back than this (30 days).
    pub max_age_ms: i64,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            min_sends: 1_000,
            trailing_ms: 7 * DAY_MS,
            max_age_ms: 30 * DAY_MS,
        }
    }
}

impl Window {
    /// Sums the newest buckets until they hold `N` sends (whole hours: the bucket that reaches
    /// `N` is taken entirely), ignoring buckets older than `max_age_ms` and those starting
    /// before `since_ms` (a fresh start: Q-246's `LastFreshStart`, or an account's resume).
    /// A bucket straddling `since_ms` is dropped: a fresh start never counts older mail.
    pub fn sum(&self, buckets: &[Bucket], now_ms: i64, since_ms: Option<i64>) -> Counts {
        let oldest = (now_ms - self.max_age_ms).max(since_ms.unwrap_or(i64::MIN));
        let mut live: Vec<&Bucket> = buckets
            .iter()
            .filter(|b| b.start_ms >= oldest && b.start_ms <= now_ms)
            .collect();
        live.sort_by_key(|b| std::cmp::Reverse(b.start_ms));
        let trailing: i64 = live
            .iter()
            .filter(|b| b.start_ms > now_ms - self.trailing_ms)
            .map(|b| b.counts.sends)
            .sum();
        let n = self.min_sends.max(trailing);
        let mut total = Counts::default();
        for b in live {
            if total.sends >= n {
                break;
            }
            total.add(b.counts);
        }
        total
    }
}

/// Thresholds (G-76, Z-1, Q-239): review at ≥ 5 % / ≥ 0.1 %, pause at ≥ 10 % / ≥ 0.5 %,
/// nothing below `minimum_volume` sends (G-75, Q-240's 500).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub bounce_review: f64,
    pub bounce_pause: f64,
    pub complaint_review: f64,
    pub complaint_pause: f64,
    pub minimum_volume: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            bounce_review: 0.05,
            bounce_pause: 0.10,
            complaint_review: 0.001,
            complaint_pause: 0.005,
            minimum_volume: 500,
        }
    }
}

/// Per-metric status (G-12), as far as rates alone decide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricStatus {
    Healthy,
    UnderReview,
    SendingPause,
}

impl MetricStatus {
    /// The console label (G-12).
    pub fn label(self) -> &'static str {
        match self {
            MetricStatus::Healthy => "Healthy",
            MetricStatus::UnderReview => "Under review",
            MetricStatus::SendingPause => "Sending pause",
        }
    }
}

/// The rates of one scope and what the thresholds make of them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assessment {
    pub counts: Counts,
    pub bounce_rate: Option<f64>,
    pub complaint_rate: Option<f64>,
    /// `false` below the minimum volume: everything is `Healthy` (G-75).
    pub representative: bool,
    pub bounce: MetricStatus,
    pub complaint: MetricStatus,
}

impl Assessment {
    /// The worse of the two metrics.
    pub fn verdict(&self) -> MetricStatus {
        self.bounce.max(self.complaint)
    }
}

fn status(rate: Option<f64>, review: f64, pause: f64) -> MetricStatus {
    match rate {
        Some(r) if r >= pause => MetricStatus::SendingPause,
        Some(r) if r >= review => MetricStatus::UnderReview,
        _ => MetricStatus::Healthy,
    }
}

/// Applies `t` to `counts` (thresholds are inclusive: `≥`, Z-1).
pub fn assess(counts: Counts, t: &Thresholds) -> Assessment {
    let representative = counts.sends > 0 && counts.sends >= t.minimum_volume;
    let (bounce, complaint) = if representative {
        (
            status(counts.bounce_rate(), t.bounce_review, t.bounce_pause),
            status(
                counts.complaint_rate(),
                t.complaint_review,
                t.complaint_pause,
            ),
        )
    } else {
        (MetricStatus::Healthy, MetricStatus::Healthy)
    };
    Assessment {
        counts,
        bounce_rate: counts.bounce_rate(),
        complaint_rate: counts.complaint_rate(),
        representative,
        bounce,
        complaint,
    }
}

/// v2 `GetAccount.EnforcementStatus` set by the automatic rules (Z-8, Q-242): a metric in
/// review or beyond puts the account on `PROBATION`; `SHUTDOWN` is the operator's alone, and
/// the automatic pause is the `PauseSending` action (G-86: `SendingEnabled = false`, which the
/// customer may lift), not an enforcement pause (G-89).
pub fn enforcement_status(verdict: MetricStatus) -> &'static str {
    match verdict {
        MetricStatus::Healthy => "HEALTHY",
        MetricStatus::UnderReview | MetricStatus::SendingPause => "PROBATION",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(sends: i64, bounces: i64, complaints: i64) -> Counts {
        Counts {
            sends,
            bounces,
            complaints,
        }
    }

    /// G-73, A-71, A-79, Q-241: which bounces count toward the bounce rate.
    #[test]
    fn which_bounces_count() {
        for (t, s, counts) in [
            ("Permanent", "General", true),
            ("Permanent", "NoEmail", true),
            ("Permanent", "Suppressed", true),
            ("Permanent", "OnAccountSuppressionList", false),
            ("Undetermined", "Undetermined", true),
            ("Transient", "General", false),
            ("Transient", "MailboxFull", false),
            ("Transient", "AttachmentRejected", false),
        ] {
            assert_eq!(bounce_counts(t, s), counts, "{t}/{s}");
        }
    }

    /// G-76, Z-1, Q-239: thresholds are inclusive; below the minimum volume stays Healthy.
    #[test]
    fn thresholds_table() {
        use MetricStatus::*;
        let t = Thresholds::default();
        for (counts, bounce, complaint) in [
            (c(1000, 0, 0), Healthy, Healthy),
            (c(1000, 49, 0), Healthy, Healthy),
            (c(1000, 50, 0), UnderReview, Healthy),
            (c(1000, 99, 0), UnderReview, Healthy),
            (c(1000, 100, 0), SendingPause, Healthy),
            (c(1000, 0, 1), Healthy, UnderReview),
            (c(1000, 0, 4), Healthy, UnderReview),
            (c(1000, 0, 5), Healthy, SendingPause),
            (c(1000, 100, 5), SendingPause, SendingPause),
            // Below the 500-send minimum volume nothing is judged (G-75).
            (c(499, 499, 499), Healthy, Healthy),
            (c(0, 0, 0), Healthy, Healthy),
            (c(500, 50, 0), SendingPause, Healthy),
        ] {
            let a = assess(counts, &t);
            assert_eq!((a.bounce, a.complaint), (bounce, complaint), "{counts:?}");
            assert_eq!(a.verdict(), bounce.max(complaint));
        }
        let a = assess(c(0, 0, 0), &t);
        assert_eq!((a.bounce_rate, a.representative), (None, false));
        let a = assess(c(200, 10, 1), &t);
        assert_eq!(a.bounce_rate, Some(0.05));
        assert_eq!(a.complaint_rate, Some(0.005));
        assert!(!a.representative);
    }

    /// A low minimum volume (the conformance tests use it) judges small samples.
    #[test]
    fn configured_minimum_volume() {
        let t = Thresholds {
            minimum_volume: 3,
            ..Thresholds::default()
        };
        assert_eq!(assess(c(2, 2, 0), &t).verdict(), MetricStatus::Healthy);
        assert_eq!(assess(c(3, 3, 0), &t).verdict(), MetricStatus::SendingPause);
    }

    /// Z-8, Q-242: the automatic rules only move between HEALTHY and PROBATION.
    #[test]
    fn enforcement_mapping() {
        assert_eq!(enforcement_status(MetricStatus::Healthy), "HEALTHY");
        assert_eq!(enforcement_status(MetricStatus::UnderReview), "PROBATION");
        assert_eq!(enforcement_status(MetricStatus::SendingPause), "PROBATION");
    }

    fn b(hours_ago: i64, counts: Counts) -> Bucket {
        Bucket {
            start_ms: NOW - hours_ago * BUCKET_MS,
            counts,
        }
    }

    const NOW: i64 = 100 * DAY_MS;

    /// N = max(1000, sends of the trailing 7 days), newest hours first, capped at 30
    /// days, cut at a fresh start.
    #[test]
    fn representative_volume_window() {
        let w = Window::default();
        // A low-volume sender: 100 sends a day for 20 days. N = 1000 → the newest 10 days.
        let daily: Vec<Bucket> = (0..20)
            .map(|d| b(d * 24, c(100, if d >= 10 { 50 } else { 1 }, 0)))
            .collect();
        assert_eq!(w.sum(&daily, NOW, None), c(1000, 10, 0));
        // The old bad days are outside the window; they would show with a bigger N.
        let big = Window {
            min_sends: 2000,
            ..w
        };
        assert_eq!(big.sum(&daily, NOW, None), c(2000, 510, 0));
        // A high-volume sender: the trailing week (7 × 10 000) sets N; older weeks are out.
        let high: Vec<Bucket> = (0..14).map(|d| b(d * 24, c(10_000, d, 0))).collect();
        assert_eq!(w.sum(&high, NOW, None).sends, 70_000);
        assert_eq!(w.sum(&high, NOW, None).bounces, (0..7).sum::<i64>());
        // Nothing older than 30 days, even when N is not reached.
        let old = vec![b(24, c(10, 1, 0)), b(31 * 24, c(10, 10, 0))];
        assert_eq!(w.sum(&old, NOW, None), c(10, 1, 0));
        // A fresh start drops everything sent before it, including its own hour's earlier part.
        let fresh = vec![b(0, c(5, 0, 0)), b(1, c(5, 5, 0)), b(2, c(5, 5, 0))];
        assert_eq!(w.sum(&fresh, NOW, Some(NOW - BUCKET_MS / 2)), c(5, 0, 0));
        assert_eq!(w.sum(&fresh, NOW, Some(NOW - BUCKET_MS)), c(10, 5, 0));
        // Unsorted input and future buckets (a clock ahead on another node) are handled.
        let mixed = vec![b(2, c(1, 1, 0)), b(-5, c(7, 7, 7)), b(0, c(1, 0, 0))];
        assert_eq!(w.sum(&mixed, NOW, None), c(2, 1, 0));
    }
}

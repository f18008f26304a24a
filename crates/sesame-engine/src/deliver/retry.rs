//! When a temporarily failed message is tried again, and when it is given up (DECISIONS Q-110;
//! spec, G-3, G-53, E-97). Pure: instants are parameters.
//!
//! - **Backoff**: `delivery_retry_base_seconds` after the first failed attempt, doubling with
//!   every further one, at most one hour (Q-110: "1 min → 1 h cap"). A base above one hour is
//!   used as it is, never doubled.
//! - **Window**: from the message's acceptance (`created_at`), `delivery_retry_window_seconds`
//!   (default 14 h), shortened by the configuration set's `DeliveryOptions.MaxDeliverySeconds`
//!   (E-97: 300..50,400; it can only shorten, Q-110).
//! - **Give up** when the next attempt would come after the window's end: the deferred
//!   recipients bounce `Transient/*` (G-3) instead of being delayed once more.

/// The backoff cap of Q-110.
pub const MAX_BACKOFF_MS: i64 = 3_600_000;

/// The retry schedule of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// First retry delay (ms).
    pub base_ms: i64,
    /// When retrying stops: `created_at` + the effective window (ms). Also the
    /// `expirationTime` of every `DeliveryDelay`.
    pub window_end_ms: i64,
}

/// What to do with recipients that failed temporarily.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep them queued until this instant (Unix ms).
    RetryAt(i64),
    /// The window is over: bounce them.
    GiveUp,
}

impl Schedule {
    /// `window_seconds` is the instance setting; `max_delivery_seconds` the configuration
    /// set's option, when it has one.
    pub fn new(
        created_at_ms: i64,
        base_seconds: u64,
        window_seconds: u64,
        max_delivery_seconds: Option<i64>,
    ) -> Schedule {
        let setting = i64::try_from(window_seconds).unwrap_or(i64::MAX);
        let window = match max_delivery_seconds {
            Some(m) if m > 0 => setting.min(m),
            _ => setting,
        };
        Schedule {
            base_ms: i64::try_from(base_seconds)
                .unwrap_or(i64::MAX)
                .saturating_mul(1000),
            window_end_ms: created_at_ms.saturating_add(window.saturating_mul(1000)),
        }
    }

    /// Delay before the next attempt when `attempts` attempts failed before this one.
    pub fn backoff_ms(&self, attempts: i64) -> i64 {
        let doublings = attempts.clamp(0, 32) as u32;
        let cap = MAX_BACKOFF_MS.max(self.base_ms);
        self.base_ms.saturating_mul(1i64 << doublings).min(cap)
    }

    /// After a failed attempt at `now_ms`, the message having failed `attempts` times before.
    pub fn next(&self, now_ms: i64, attempts: i64) -> Next {
        let at = now_ms.saturating_add(self.backoff_ms(attempts));
        if at > self.window_end_ms {
            Next::GiveUp
        } else {
            Next::RetryAt(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 min doubling to the 1 h cap.
    #[test]
    fn backoff_doubles_to_one_hour() {
        let s = Schedule::new(0, 60, 50_400, None);
        let got: Vec<i64> = (0..9).map(|a| s.backoff_ms(a) / 1000).collect();
        assert_eq!(got, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(s.backoff_ms(10_000), MAX_BACKOFF_MS);
        // A base above the cap is kept, not doubled.
        assert_eq!(
            Schedule::new(0, 7200, 50_400, None).backoff_ms(3),
            7_200_000
        );
        assert_eq!(Schedule::new(0, 1, 50_400, None).backoff_ms(2), 4_000);
    }

    /// Q-110 / E-97: `MaxDeliverySeconds` only shortens the window.
    #[test]
    fn window_is_the_shorter_of_setting_and_set() {
        for (setting, set, want_s) in [
            (50_400, None, 50_400),
            (50_400, Some(300), 300),
            (600, Some(50_400), 600),
            (600, Some(0), 600),
        ] {
            let s = Schedule::new(1_000, 60, setting, set);
            assert_eq!(s.window_end_ms, 1_000 + want_s * 1000, "{setting} {set:?}");
        }
    }

    /// G-3: give up when the next attempt would fall after the window's end.
    #[test]
    fn gives_up_after_the_window() {
        let s = Schedule::new(0, 60, 300, None);
        assert_eq!(s.next(0, 0), Next::RetryAt(60_000));
        assert_eq!(s.next(60_000, 1), Next::RetryAt(180_000));
        // Exactly at the end is still inside.
        assert_eq!(s.next(60_000, 2), Next::RetryAt(300_000));
        assert_eq!(s.next(60_001, 2), Next::GiveUp);
        assert_eq!(s.next(400_000, 0), Next::GiveUp);
    }
}

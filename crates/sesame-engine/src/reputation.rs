//! Reputation evaluation and automatic pausing (spec G-73..G-80, G-86..G-89, H-157..H-171;
//! DECISIONS Q-239..Q-246). The rules are `sesame_policy::reputation`; this module reads the
//! counters (`Store::reputation_buckets`), applies the verdicts to the account settings and
//! configuration sets, and reports what it saw.
//!
//! What an evaluation does, for one (account, region):
//! - **Account status** (Q-242): the rates over the representative volume put the account on
//!   `PROBATION` at the review thresholds and lift a `PROBATION` the evaluator set once they
//!   are back below; `SHUTDOWN` and an operator's `PROBATION` are never touched.
//! - **Account pause** (G-86, G-87): at the pause thresholds, over the mail sent since the
//!   account last resumed, `SendingEnabled` goes to `false` — the native `PauseSending` action,
//!   which the account lifts with `UpdateAccountSendingEnabled` / `PutAccountSendingAttributes`.
//! - **Configuration-set pause** (G-88, Q-246): a set with reputation metrics enabled whose own
//!   rates, since its `LastFreshStart`, reach the pause thresholds gets `SendingEnabled = false`;
//!   re-enabling it sets `LastFreshStart`, which restarts its metrics.
//!
//! Evaluations are idempotent (a second run with the same data changes nothing) and safe on
//! every node at once: every write is a compare-and-swap that re-checks its condition.

use std::collections::BTreeMap;

use serde::Serialize;
use sesame_model::{ReputationBucket, Scope};
use sesame_policy::reputation::{
    assess, enforcement_status, Assessment, Bucket, Counts, MetricStatus,
};
pub use sesame_policy::reputation::{Thresholds, Window};

use crate::{Engine, EngineError};

/// The operator's settings (`reputation_*` in docs/configuration.md).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReputationParams {
    pub thresholds: Thresholds,
    pub window: Window,
    /// Count mailbox-simulator recipients as if they were real (off by default: E-82 says they
    /// never count). For exercising automatic pausing without real bounces.
    pub count_simulator: bool,
}

/// The rates of one scope as reported (fractions, G-77).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rates {
    pub sends: i64,
    pub bounces: i64,
    pub complaints: i64,
    /// `Reputation.BounceRate`; `None` before any send.
    pub bounce_rate: Option<f64>,
    /// `Reputation.ComplaintRate`.
    pub complaint_rate: Option<f64>,
    /// At least the minimum volume: the thresholds apply.
    pub representative: bool,
    /// G-12 labels: `Healthy`, `Under review`, `Sending pause`.
    pub bounce_status: &'static str,
    pub complaint_status: &'static str,
}

impl From<&Assessment> for Rates {
    fn from(a: &Assessment) -> Self {
        Rates {
            sends: a.counts.sends,
            bounces: a.counts.bounces,
            complaints: a.counts.complaints,
            bounce_rate: a.bounce_rate,
            complaint_rate: a.complaint_rate,
            representative: a.representative,
            bounce_status: a.bounce.label(),
            complaint_status: a.complaint.label(),
        }
    }
}

/// The account part of a [`ReputationReport`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountReport {
    /// Over the representative volume (what the dashboard shows).
    pub rates: Rates,
    /// Over the mail sent since the account's last resume (what may pause it).
    pub since_resume: Rates,
    pub enforcement_status: String,
    pub sending_enabled: bool,
    /// What this evaluation changed: `UnderReview`, `Healthy`, `SendingPaused`.
    pub changes: Vec<String>,
    /// The account's reputation history (G-78's audit trail), oldest first.
    pub history: Vec<crate::records::ReputationChange>,
}

/// A configuration set with reputation metrics enabled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SetReport {
    pub name: String,
    /// Since the set's `LastFreshStart`.
    pub rates: Rates,
    pub sending_enabled: bool,
    /// Unix seconds (ses.json `ReputationOptions.LastFreshStart`).
    pub last_fresh_start: Option<f64>,
    /// `SendingPaused` when this evaluation paused the set.
    pub changes: Vec<String>,
}

/// What [`Engine::evaluate_reputation`] saw and did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReputationReport {
    pub account_id: String,
    pub region: String,
    pub evaluated_at: i64,
    pub account: AccountReport,
    pub configuration_sets: Vec<SetReport>,
}

fn counts(b: &ReputationBucket, with_simulator: bool) -> Counts {
    let mut c = Counts {
        sends: b.sends,
        bounces: b.bounces,
        complaints: b.complaints,
    };
    if with_simulator {
        c.add(Counts {
            sends: b.simulator_sends,
            bounces: b.simulator_bounces,
            complaints: b.simulator_complaints,
        });
    }
    c
}

/// Sums rows into one series per hour, keeping those `keep` selects.
fn series(
    rows: &[ReputationBucket],
    with_simulator: bool,
    keep: impl Fn(&ReputationBucket) -> bool,
) -> Vec<Bucket> {
    let mut by_hour: BTreeMap<i64, Counts> = BTreeMap::new();
    for r in rows.iter().filter(|r| keep(r)) {
        by_hour
            .entry(r.bucket_start)
            .or_default()
            .add(counts(r, with_simulator));
    }
    by_hour
        .into_iter()
        .map(|(start_ms, counts)| Bucket { start_ms, counts })
        .collect()
}

const PROBATION: &str = "PROBATION";
const HEALTHY: &str = "HEALTHY";

impl Engine {
    /// Evaluates one (account, region) at `now_ms` and applies the verdicts (module docs).
    pub async fn evaluate_reputation(
        &self,
        scope: &Scope,
        p: &ReputationParams,
        now_ms: i64,
    ) -> Result<ReputationReport, EngineError> {
        let rows = self
            .store
            .reputation_buckets(scope, now_ms - p.window.max_age_ms)
            .await?;
        let all = series(&rows, p.count_simulator, |_| true);

        // Account: status, then pause. Decided inside the compare-and-swap, on fresh settings.
        let mut changes = Vec::new();
        let current = self.account_settings(scope).await?;
        let full_of = |s: &crate::records::AccountSettings| {
            assess(
                p.window.sum(&all, now_ms, s.reputation.reset_at),
                &p.thresholds,
            )
        };
        let mut full = full_of(&current);
        let decide = |s: &crate::records::AccountSettings| {
            let full = full_of(s);
            let since = assess(
                p.window.sum(
                    &all,
                    now_ms,
                    s.reputation.resumed_at.max(s.reputation.reset_at),
                ),
                &p.thresholds,
            );
            let want = enforcement_status(full.verdict());
            let status = match (s.enforcement_status.as_str(), want) {
                (HEALTHY, PROBATION) => Some(PROBATION),
                (PROBATION, HEALTHY) if s.reputation.auto_review => Some(HEALTHY),
                _ => None,
            };
            let pause = since.verdict() == MetricStatus::SendingPause && s.sending_enabled;
            (full, since, status, pause)
        };
        let (_, mut since, status, pause) = decide(&current);
        let settings = if status.is_some() || pause {
            self.update_account_settings(scope, |s| {
                changes.clear();
                let (full_now, since_now, status, pause) = decide(s);
                full = full_now;
                since = since_now;
                if let Some(status) = status {
                    s.enforcement_status = status.to_string();
                    s.reputation.auto_review = status == PROBATION;
                    let (change, reason) = if status == PROBATION {
                        ("UnderReview", reason("review", &full))
                    } else {
                        ("Healthy", reason("healthy", &full))
                    };
                    s.reputation.note(now_ms, change, &reason);
                    changes.push(change.to_string());
                }
                if pause {
                    s.sending_enabled = false;
                    s.reputation
                        .note(now_ms, "SendingPaused", &reason("pause", &since_now));
                    changes.push("SendingPaused".to_string());
                }
                Ok(())
            })
            .await?
        } else {
            current
        };
        for (seq, c) in changes.iter().enumerate() {
            tracing::warn!(account = %scope.account, region = %scope.region, change = %c,
                bounce_rate = ?full.bounce_rate, complaint_rate = ?full.complaint_rate,
                "reputation: account state changed");
            let (from, to, a) = match c.as_str() {
                "UnderReview" => (HEALTHY, PROBATION, &full),
                "Healthy" => (PROBATION, HEALTHY, &full),
                _ => ("ENABLED", "PAUSED", &since),
            };
            self.reputation_notice(scope, now_ms, seq, None, c, from, to, a)
                .await;
        }

        // Configuration sets with reputation metrics (G-88, Q-246), those that sent mail.
        let mut names: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.configuration_set.as_deref())
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut sets = Vec::new();
        for name in names {
            let Some(rec) = self.get_configuration_set(scope, name).await? else {
                continue;
            };
            if !rec.reputation_metrics_enabled() {
                continue;
            }
            let own = series(&rows, p.count_simulator, |r| {
                r.configuration_set.as_deref() == Some(name)
            });
            let fresh = |r: &crate::configuration_sets::ConfigurationSetRecord| {
                r.last_fresh_start().map(|s| (s * 1000.0) as i64)
            };
            let a = assess(p.window.sum(&own, now_ms, fresh(&rec)), &p.thresholds);
            let mut set_changes = Vec::new();
            let mut rec = rec;
            if a.verdict() == MetricStatus::SendingPause && rec.sending_enabled() {
                let mut paused = false;
                rec = self
                    .update_configuration_set(scope, name, |r| {
                        // Re-checked on the fresh record: a resume in between is a fresh start.
                        let again = assess(p.window.sum(&own, now_ms, fresh(r)), &p.thresholds);
                        paused =
                            again.verdict() == MetricStatus::SendingPause && r.sending_enabled();
                        if paused {
                            r.set_sending_enabled(false, now_ms);
                        }
                        Ok(())
                    })
                    .await?;
                if paused {
                    tracing::warn!(account = %scope.account, region = %scope.region,
                        configuration_set = %name, bounce_rate = ?a.bounce_rate,
                        complaint_rate = ?a.complaint_rate,
                        "reputation: configuration set sending paused");
                    self.update_account_settings(scope, |s| {
                        s.reputation.note(
                            now_ms,
                            "ConfigurationSetSendingPaused",
                            &format!("{name}: {}", reason("pause", &a)),
                        );
                        Ok(())
                    })
                    .await?;
                    set_changes.push("SendingPaused".to_string());
                    self.reputation_notice(
                        scope,
                        now_ms,
                        changes.len() + sets.len(),
                        Some(name),
                        "SendingPaused",
                        "ENABLED",
                        "PAUSED",
                        &a,
                    )
                    .await;
                }
            }
            sets.push(SetReport {
                name: name.to_string(),
                rates: Rates::from(&a),
                sending_enabled: rec.sending_enabled(),
                last_fresh_start: rec.last_fresh_start(),
                changes: set_changes,
            });
        }

        Ok(ReputationReport {
            account_id: scope.account.as_str().to_string(),
            region: scope.region.as_str().to_string(),
            evaluated_at: now_ms,
            account: AccountReport {
                rates: Rates::from(&full),
                since_resume: Rates::from(&since),
                enforcement_status: settings.enforcement_status.clone(),
                sending_enabled: settings.sending_enabled,
                changes,
                history: settings.reputation.history.clone(),
            },
            configuration_sets: sets,
        })
    }
}

impl Engine {
    /// H-158, Q-242: every review and pause is a notice to the account's contact, in the
    /// account-notice outbox (`crate::verification::AccountNotice`; `identity` is empty, the
    /// change's component `REPUTATION` or `CONFIGURATION_SET`). Written after the change
    /// committed, by the node whose write applied it; a failure is logged, never retried.
    /// `seq` orders the notices of one evaluation (names sort by time, then `seq`).
    #[allow(clippy::too_many_arguments)]
    async fn reputation_notice(
        &self,
        scope: &Scope,
        now_ms: i64,
        seq: usize,
        set: Option<&str>,
        change: &str,
        from: &str,
        to: &str,
        a: &Assessment,
    ) {
        let pct = |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{:.2}%", r * 100.0));
        let rates = format!(
            "Bounce rate: {} ({} hard bounces of {} sends). Complaint rate: {} ({} complaints).",
            pct(a.bounce_rate),
            a.counts.bounces,
            a.counts.sends,
            pct(a.complaint_rate),
            a.counts.complaints
        );
        let account = scope.account.as_str();
        let region = scope.region.as_str();
        let (notice_type, subject, body) = match (set, change) {
            (Some(set), _) => (
                "CONFIGURATION_SET_SENDING_PAUSED",
                format!("Sending paused for configuration set {set} in {region}"),
                format!(
                    "Sending through configuration set {set} of account {account} in {region} \
                     was paused automatically because its reputation crossed the pause \
                     threshold. {rates} Fix the cause, then re-enable sending with \
                     UpdateConfigurationSetSendingEnabled or PutConfigurationSetSendingOptions; \
                     the set's metrics restart then (LastFreshStart)."
                ),
            ),
            (None, "UnderReview") => (
                "REPUTATION_UNDER_REVIEW",
                format!("Account {account} is under review in {region}"),
                format!(
                    "Your account's reputation crossed the review threshold; the account can \
                     still send. {rates} If the rates keep rising, sending is paused."
                ),
            ),
            (None, "Healthy") => (
                "REPUTATION_HEALTHY",
                format!("Account {account} is healthy again in {region}"),
                format!("Your account's reputation is back below the review thresholds. {rates}"),
            ),
            (None, _) => (
                "SENDING_PAUSED",
                format!("Sending paused for account {account} in {region}"),
                format!(
                    "Sending for your account was paused automatically because its reputation \
                     crossed the pause threshold. {rates} Fix the cause, then resume with \
                     UpdateAccountSendingEnabled or PutAccountSendingAttributes."
                ),
            ),
        };
        let notice = crate::verification::AccountNotice {
            created_at: now_ms,
            identity: String::new(),
            notice_type: notice_type.to_string(),
            subject,
            body,
            change: crate::verification::StatusChange {
                component: if set.is_some() {
                    "CONFIGURATION_SET".into()
                } else {
                    "REPUTATION".into()
                },
                from: from.to_string(),
                to: to.to_string(),
                deadline: None,
            },
            ..Default::default()
        };
        let name = format!(
            "{now_ms:013}-reputation-{seq:04}-{:08x}",
            rand::random::<u32>()
        );
        let data = serde_json::to_value(&notice).expect("notice serialises");
        let key =
            sesame_model::ResourceKey::new(scope, crate::records::kind::ACCOUNT_NOTICE, &name);
        if let Err(e) = self.store.insert_resource(&key, &data).await {
            tracing::error!(account = %scope.account, region = %scope.region, error = %e,
                "reputation: could not store the account notice");
        }
    }

    /// The operator's enforcement decision (G-78, G-89, Q-242, Q-243): sets `EnforcementStatus`
    /// (`HEALTHY`, `PROBATION` or `SHUTDOWN`), which the automatic rules then leave alone until
    /// they see a new reason to review; `reset_window` makes only mail sent from now on count
    /// (after remediation). `SHUTDOWN` stops all sending until the operator lifts it; the
    /// account's own `SendingEnabled` switch is not changed.
    pub async fn set_enforcement_status(
        &self,
        scope: &Scope,
        status: &str,
        reset_window: bool,
        reason: &str,
        now_ms: i64,
    ) -> Result<crate::records::AccountSettings, EngineError> {
        if ![HEALTHY, PROBATION, "SHUTDOWN"].contains(&status) {
            return Err(EngineError::BadRequest(format!(
                "unknown enforcement status {status:?} (HEALTHY, PROBATION or SHUTDOWN)"
            )));
        }
        self.update_account_settings(scope, |s| {
            s.enforcement_status = status.to_string();
            s.reputation.auto_review = false;
            if reset_window {
                s.reputation.reset_at = Some(now_ms);
            }
            let text = format!(
                "operator set {status}{}: {reason}",
                if reset_window { ", window reset" } else { "" }
            );
            s.reputation.note(now_ms, "OperatorSetStatus", &text);
            Ok(())
        })
        .await
    }
}

/// The audit text of a change (G-78: a reason and a finding type).
fn reason(what: &str, a: &Assessment) -> String {
    let pct = |r: Option<f64>| r.map_or("n/a".to_string(), |r| format!("{:.2}%", r * 100.0));
    let finding = match (a.bounce, a.complaint) {
        (b, c) if b >= c && b != MetricStatus::Healthy => "bounce-rate",
        (_, c) if c != MetricStatus::Healthy => "complaint-rate",
        _ => "none",
    };
    format!(
        "{what}: finding {finding}; bounce rate {} ({} of {} sends), complaint rate {} ({})",
        pct(a.bounce_rate),
        a.counts.bounces,
        a.counts.sends,
        pct(a.complaint_rate),
        a.counts.complaints,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_store::{engine_with, scope as test_scope, MemBodies, MemStore};

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 1_000 * HOUR + 30 * 60_000;

    fn row(set: Option<&str>, hours_ago: i64, sends: i64, bounces: i64) -> ReputationBucket {
        ReputationBucket {
            configuration_set: set.map(str::to_string),
            bucket_start: NOW - NOW % HOUR - hours_ago * HOUR,
            sends,
            bounces,
            ..Default::default()
        }
    }

    fn params(minimum_volume: i64) -> ReputationParams {
        ReputationParams {
            thresholds: Thresholds {
                minimum_volume,
                ..Thresholds::default()
            },
            ..ReputationParams::default()
        }
    }

    async fn setup(rows: Vec<ReputationBucket>) -> (Engine, Scope) {
        let store = std::sync::Arc::new(MemStore::default());
        let engine = engine_with(store.clone(), std::sync::Arc::new(MemBodies::default()));
        let scope = test_scope();
        store.reputation.lock().unwrap().insert(
            format!("{}/{}", scope.account.as_str(), scope.region.as_str()),
            rows,
        );
        (engine, scope)
    }

    /// G-76, G-86, G-87: 10 % hard bounces over the minimum volume pause the account and put it
    /// on PROBATION; a second evaluation changes nothing (idempotent).
    #[tokio::test]
    async fn pause_threshold_pauses_the_account_once() {
        let (engine, scope) = setup(vec![row(None, 1, 100, 10)]).await;
        let r = engine
            .evaluate_reputation(&scope, &params(100), NOW)
            .await
            .unwrap();
        assert_eq!(r.account.changes, vec!["UnderReview", "SendingPaused"]);
        assert_eq!(r.account.rates.bounce_rate, Some(0.1));
        assert_eq!(r.account.rates.bounce_status, "Sending pause");
        let s = engine.account_settings(&scope).await.unwrap();
        assert!(!s.sending_enabled);
        assert_eq!(s.enforcement_status, "PROBATION");
        assert_eq!(s.reputation.history.len(), 2);
        // H-158: one notice per change.
        let notices = engine.account_notices(&scope).await.unwrap();
        let types: Vec<_> = notices.iter().map(|n| n.notice_type.as_str()).collect();
        assert_eq!(types, vec!["REPUTATION_UNDER_REVIEW", "SENDING_PAUSED"]);
        assert!(notices[1]
            .body
            .contains("Bounce rate: 10.00% (10 hard bounces of 100 sends)"));
        let again = engine
            .evaluate_reputation(&scope, &params(100), NOW)
            .await
            .unwrap();
        assert!(again.account.changes.is_empty());
        assert_eq!(engine.account_notices(&scope).await.unwrap().len(), 2);
    }

    /// G-75: below the minimum volume nothing happens, whatever the rate.
    #[tokio::test]
    async fn below_minimum_volume_stays_healthy() {
        let (engine, scope) = setup(vec![row(None, 1, 100, 100)]).await;
        let r = engine
            .evaluate_reputation(&scope, &params(500), NOW)
            .await
            .unwrap();
        assert!(r.account.changes.is_empty());
        assert!(!r.account.rates.representative);
        let s = engine.account_settings(&scope).await.unwrap();
        assert!(s.sending_enabled);
        assert_eq!(s.enforcement_status, "HEALTHY");
    }

    /// G-87: after the account resumes, only mail sent since counts toward pausing; the
    /// review status still follows the whole window.
    #[tokio::test]
    async fn resume_is_a_fresh_start_for_pausing() {
        let (engine, scope) = setup(vec![row(None, 2, 100, 10)]).await;
        engine
            .evaluate_reputation(&scope, &params(10), NOW)
            .await
            .unwrap();
        engine
            .update_account_settings(&scope, |s| {
                s.set_sending_enabled(true, NOW - HOUR);
                Ok(())
            })
            .await
            .unwrap();
        let r = engine
            .evaluate_reputation(&scope, &params(10), NOW)
            .await
            .unwrap();
        assert!(r.account.changes.is_empty(), "{:?}", r.account.changes);
        assert!(r.account.sending_enabled);
        assert_eq!(r.account.enforcement_status, "PROBATION");
        assert_eq!(r.account.since_resume.sends, 0);
    }

    /// review at 5 %; the evaluator lifts its own PROBATION but never an operator's
    /// SHUTDOWN.
    #[tokio::test]
    async fn review_is_lifted_only_when_the_evaluator_set_it() {
        let (engine, scope) = setup(vec![row(None, 1, 100, 5)]).await;
        let r = engine
            .evaluate_reputation(&scope, &params(100), NOW)
            .await
            .unwrap();
        assert_eq!(r.account.changes, vec!["UnderReview"]);
        assert!(r.account.sending_enabled);
        // Much later the window holds only good mail.
        let store_rows = vec![row(None, 1, 100, 5), row(None, 0, 10_000, 0)];
        let (engine2, scope2) = setup(store_rows).await;
        engine2
            .update_account_settings(&scope2, |s| {
                s.enforcement_status = "PROBATION".into();
                s.reputation.auto_review = true;
                Ok(())
            })
            .await
            .unwrap();
        let r = engine2
            .evaluate_reputation(&scope2, &params(100), NOW)
            .await
            .unwrap();
        assert_eq!(r.account.changes, vec!["Healthy"]);
        assert_eq!(r.account.enforcement_status, "HEALTHY");
        // An operator's SHUTDOWN stays, and pausing still records nothing new to lift.
        let (engine3, scope3) = setup(vec![row(None, 1, 100, 50)]).await;
        engine3
            .update_account_settings(&scope3, |s| {
                s.enforcement_status = "SHUTDOWN".into();
                Ok(())
            })
            .await
            .unwrap();
        let r = engine3
            .evaluate_reputation(&scope3, &params(100), NOW)
            .await
            .unwrap();
        assert_eq!(r.account.enforcement_status, "SHUTDOWN");
        assert_eq!(r.account.changes, vec!["SendingPaused"]);
    }

    /// G-88, Q-246: a set with reputation metrics is paused on its own rates; a set without
    /// them, and the account (whose overall rate stays low), are not; re-enabling sets
    /// `LastFreshStart` and the old bounces no longer count.
    #[tokio::test]
    async fn configuration_set_pause_and_fresh_start() {
        let rows = vec![
            row(Some("bad"), 1, 10, 5),
            row(Some("untracked"), 1, 10, 5),
            row(None, 1, 1_000, 0),
        ];
        let (engine, scope) = setup(rows).await;
        for (name, metrics) in [("bad", true), ("untracked", false)] {
            engine
                .create_configuration_set(&scope, Engine::new_configuration_set(name))
                .await
                .unwrap();
            engine
                .update_configuration_set(&scope, name, |r| {
                    r.set_reputation_metrics_enabled(metrics);
                    Ok(())
                })
                .await
                .unwrap();
        }
        let r = engine
            .evaluate_reputation(&scope, &params(10), NOW)
            .await
            .unwrap();
        assert!(r.account.changes.is_empty());
        assert_eq!(r.configuration_sets.len(), 1);
        assert_eq!(r.configuration_sets[0].name, "bad");
        assert_eq!(r.configuration_sets[0].changes, vec!["SendingPaused"]);
        let notices = engine.account_notices(&scope).await.unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].notice_type, "CONFIGURATION_SET_SENDING_PAUSED");
        assert_eq!(notices[0].change.component, "CONFIGURATION_SET");
        assert!(notices[0].subject.contains("configuration set bad"));
        assert!(!engine
            .require_configuration_set(&scope, "bad")
            .await
            .unwrap()
            .sending_enabled());
        assert!(engine
            .require_configuration_set(&scope, "untracked")
            .await
            .unwrap()
            .sending_enabled());
        engine
            .update_configuration_set(&scope, "bad", |r| {
                r.set_sending_enabled(true, NOW);
                Ok(())
            })
            .await
            .unwrap();
        let r = engine
            .evaluate_reputation(&scope, &params(10), NOW)
            .await
            .unwrap();
        assert!(r.configuration_sets[0].changes.is_empty());
        assert!(r.configuration_sets[0].sending_enabled);
        assert_eq!(r.configuration_sets[0].rates.sends, 0);
        assert_eq!(
            r.configuration_sets[0].last_fresh_start,
            Some(NOW as f64 / 1000.0)
        );
    }

    /// G-78, Q-243: the operator lifts a review with a window reset; old bounces no longer
    /// count and the evaluator leaves the account healthy. Without a reset the evaluator puts it
    /// back on review. Unknown statuses are refused.
    #[tokio::test]
    async fn operator_status_and_window_reset() {
        let (engine, scope) = setup(vec![row(None, 2, 100, 6)]).await;
        let r = engine
            .evaluate_reputation(&scope, &params(100), NOW)
            .await
            .unwrap();
        assert_eq!(r.account.enforcement_status, "PROBATION");
        engine
            .set_enforcement_status(&scope, "HEALTHY", false, "looked fine", NOW)
            .await
            .unwrap();
        let r = engine
            .evaluate_reputation(&scope, &params(100), NOW)
            .await
            .unwrap();
        assert_eq!(r.account.changes, vec!["UnderReview"]);
        let s = engine
            .set_enforcement_status(&scope, "HEALTHY", true, "list cleaned", NOW - HOUR)
            .await
            .unwrap();
        assert_eq!(s.reputation.reset_at, Some(NOW - HOUR));
        let r = engine
            .evaluate_reputation(&scope, &params(100), NOW)
            .await
            .unwrap();
        assert!(r.account.changes.is_empty());
        assert_eq!(r.account.enforcement_status, "HEALTHY");
        assert_eq!(r.account.rates.sends, 0);
        assert!(matches!(
            engine
                .set_enforcement_status(&scope, "PAUSED", false, "", NOW)
                .await,
            Err(EngineError::BadRequest(_))
        ));
    }

    /// E-82: simulator traffic counts only when the operator asks for it.
    #[tokio::test]
    async fn simulator_counts_only_on_request() {
        let sim = ReputationBucket {
            simulator_sends: 20,
            simulator_bounces: 20,
            ..row(None, 1, 0, 0)
        };
        let (engine, scope) = setup(vec![sim]).await;
        let r = engine
            .evaluate_reputation(&scope, &params(5), NOW)
            .await
            .unwrap();
        assert!(r.account.changes.is_empty());
        assert_eq!(r.account.rates.sends, 0);
        let p = ReputationParams {
            count_simulator: true,
            ..params(5)
        };
        let r = engine.evaluate_reputation(&scope, &p, NOW).await.unwrap();
        assert_eq!(r.account.changes, vec!["UnderReview", "SendingPaused"]);
    }
}

//! The reputation evaluation job (docs/reputation.md; `sesame_engine::reputation` applies the
//! verdicts, `sesame_policy::reputation` has the rules).
//!
//! Every node runs it: evaluations are idempotent and every change is a compare-and-swap that
//! re-checks its condition, so two nodes evaluating the same account at once pause it once.

use std::time::Duration;

use sesame_config::{Config, ReputationSettings};
use sesame_engine::reputation::{ReputationParams, ReputationReport, Thresholds, Window};
use sesame_engine::{now_ms, Engine};
use sesame_model::Scope;
use tokio::sync::watch;

/// The engine's parameters from the `reputation_*` settings.
pub fn params(r: &ReputationSettings) -> ReputationParams {
    ReputationParams {
        thresholds: Thresholds {
            bounce_review: r.bounce_review_rate,
            bounce_pause: r.bounce_pause_rate,
            complaint_review: r.complaint_review_rate,
            complaint_pause: r.complaint_pause_rate,
            minimum_volume: i64::try_from(r.minimum_volume).unwrap_or(i64::MAX),
        },
        window: Window {
            min_sends: i64::try_from(r.window_sends).unwrap_or(i64::MAX),
            ..Window::default()
        },
        count_simulator: r.count_simulator,
    }
}

/// Runs evaluations every `reputation_evaluation_seconds` until `stop` flips; each complete
/// sweep replaces the `ses_reputation_*` gauges of `metrics`.
pub async fn run(
    engine: Engine,
    cfg: Config,
    metrics: std::sync::Arc<sesame_metrics::Metrics>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let p = params(&cfg.reputation);
    loop {
        if let Err(e) = sweep(&engine, &cfg.regions, &p, &metrics).await {
            tracing::warn!(error = %format!("{e:#}"), "reputation evaluation failed; retrying next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// `GetSendStatistics` keeps 14 days (plus the bucket that straddles the limit).
const STATS_RETENTION_MS: i64 = 14 * 24 * 3_600_000 + 15 * 60_000;

async fn sweep(
    engine: &Engine,
    regions: &[String],
    p: &ReputationParams,
    metrics: &sesame_metrics::Metrics,
) -> anyhow::Result<()> {
    let now = now_ms();
    let pruned = engine
        .store
        .prune_statistics(now - STATS_RETENTION_MS, now - p.window.max_age_ms)
        .await?;
    if pruned > 0 {
        tracing::debug!(rows = pruned, "old statistics pruned");
    }
    let mut gauges = Vec::new();
    for account in engine.store.list_accounts().await? {
        for region in regions {
            let scope = Scope::new(account.account_id.clone(), region.parse()?);
            let r = engine.evaluate_reputation(&scope, p, now_ms()).await?;
            gauges.extend(rates(&r));
        }
    }
    metrics.set_reputation(&gauges);
    Ok(())
}

/// The gauges of one report: the account, and each set with reputation metrics (G-77).
fn rates(r: &ReputationReport) -> Vec<sesame_metrics::ReputationRates> {
    let one =
        |set: Option<&str>, x: &sesame_engine::reputation::Rates| sesame_metrics::ReputationRates {
            account_id: r.account_id.clone(),
            region: r.region.clone(),
            configuration_set: set.map(str::to_string),
            bounce_rate: x.bounce_rate,
            complaint_rate: x.complaint_rate,
        };
    std::iter::once(one(None, &r.account.rates))
        .chain(
            r.configuration_sets
                .iter()
                .map(|s| one(Some(&s.name), &s.rates)),
        )
        .collect()
}

/// `sesame account reputation`: evaluates now (applying the verdicts, as the job would) and
/// returns the reports, one per region.
pub async fn evaluate(
    engine: &Engine,
    cfg: &Config,
    account: &sesame_model::AccountId,
    region: Option<&str>,
) -> anyhow::Result<Vec<ReputationReport>> {
    let p = params(&cfg.reputation);
    let regions: Vec<String> = match region {
        Some(r) => vec![r.to_string()],
        None => cfg.regions.clone(),
    };
    let mut out = Vec::new();
    for region in regions {
        let scope = Scope::new(account.clone(), region.parse()?);
        out.push(engine.evaluate_reputation(&scope, &p, now_ms()).await?);
    }
    Ok(out)
}

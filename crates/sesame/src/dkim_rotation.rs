//! The Easy DKIM rotation job (DECISIONS Q-92; `sesame_engine::dkim_rotation` has the rules).
//!
//! Every node runs it; the engine's compare-and-swap makes sure a due identity is rotated
//! once. Each sweep reads every identity of every account and region, a page at a time
//! (bounded memory); the sweep interval is a quarter of the period, at most a minute.

use std::time::Duration;

use sesame_engine::dkim_rotation::due;
use sesame_engine::records::{kind, IdentityRecord};
use sesame_engine::{now_ms, Engine};
use sesame_model::Scope;
use tokio::sync::watch;

/// How often a node looks for due identities.
pub fn sweep_interval(period: Duration) -> Duration {
    (period / 4).clamp(Duration::from_millis(500), Duration::from_secs(60))
}

/// Runs sweeps until `stop` flips.
pub async fn run(
    engine: Engine,
    regions: Vec<String>,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let every = sweep_interval(period);
    // A key is published for one period before it signs and for one period after (Q-92 asks
    // for ≥ 48 h and ≥ 7 days): shorter periods are for tests.
    if period < Duration::from_secs(7 * 24 * 3600) {
        tracing::warn!(
            seconds = period.as_secs(),
            "SESAME_DKIM_ROTATION_SECONDS is under 7 days: rotated-out keys leave DNS sooner than Q-92 recommends"
        );
    }
    loop {
        if let Err(e) = sweep(&engine, &regions, period).await {
            tracing::warn!(error = %format!("{e:#}"), "DKIM rotation sweep failed; retrying next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn sweep(engine: &Engine, regions: &[String], period: Duration) -> anyhow::Result<()> {
    let period_ms = period.as_millis() as i64;
    for account in engine.store.list_accounts().await? {
        for region in regions {
            let scope = Scope::new(account.account_id.clone(), region.parse()?);
            let mut after: Option<String> = None;
            loop {
                let page = engine
                    .store
                    .list_resources(&scope, kind::IDENTITY, "", after.as_deref(), 200)
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.name.clone());
                for r in page {
                    let Ok(rec) = serde_json::from_value::<IdentityRecord>(r.data) else {
                        continue;
                    };
                    if rec
                        .dkim
                        .as_ref()
                        .is_some_and(|d| due(d, now_ms(), period_ms))
                    {
                        rotate(engine, &scope, rec, period_ms).await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Rotates `rec` if still due after `period_ms` (`0`: now). Returns whether this call rotated.
pub async fn rotate(
    engine: &Engine,
    scope: &Scope,
    rec: IdentityRecord,
    period_ms: i64,
) -> anyhow::Result<bool> {
    let (e, s) = (engine.clone(), scope.clone());
    let prepared = tokio::task::spawn_blocking(move || e.prepare_dkim_rotation(&s, &rec)).await??;
    let Some(prepared) = prepared else {
        return Ok(false);
    };
    let identity = prepared.identity.clone();
    let rotated = engine
        .apply_dkim_rotation(scope, prepared, period_ms, now_ms())
        .await?;
    if rotated {
        tracing::info!(account = %scope.account, region = %scope.region, %identity, "Easy DKIM keys rotated");
    }
    Ok(rotated)
}

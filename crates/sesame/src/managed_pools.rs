//! Managed dedicated IP pools (docs/dedicated-ips.md; spec F-37..F-48, SH-4, SH-9): the periodic
//! evaluation `sesame serve` runs, and `sesame pool show`, the operator's view of a pool (F-46).
//! `sesame_engine::dedicated_ips::managed` has the rules, `Engine::evaluate_managed_pools`
//! applies them.
//!
//! Every node runs the evaluation: each change is a compare-and-set on an IP's document that
//! re-checks its condition, so two nodes evaluating at once allocate or release an IP once.

use std::time::Duration;

use clap::Subcommand;
use sesame_config::{Config, ManagedPoolSettings};
use sesame_engine::dedicated_ips::managed::{hour_of, KEEP_HOURS};
use sesame_engine::dedicated_ips::{ManagedPoolReport, ScalingParams};
use sesame_engine::{now_ms, Engine};
use sesame_metrics::{ManagedIspGauges, ManagedPoolGauges, Metrics};
use sesame_model::Scope;
use tokio::sync::watch;

use crate::cli::{account_id, fmt_ms};

#[derive(Subcommand, Debug)]
pub enum PoolCmd {
    /// Show a dedicated IP pool as the operator sees it. MANAGED pools (F-46): sending status
    /// ("Insufficient volume" / "Sending via dedicated IPs"), their IPs, the last 7 days'
    /// dedicated and shared volume and dedicated percentage, and per ISP (the 10 most used)
    /// the last 24 hours' sends, capacity, availability and warm-up phase. STANDARD pools: their
    /// IPs and warm-up. Like the server, it knows the addresses of `outbound_ips`: give it the
    /// same configuration.
    Show {
        /// The pool name.
        name: String,
        #[arg(long, value_name = "ID")]
        account: String,
        /// The region (default: the first configured region).
        #[arg(long)]
        region: Option<String>,
        /// Only this ISP's row (`Gmail`, `Yahoo`, `Hotmail`, `AOL`, `Apple`, `Other`).
        #[arg(long)]
        isp: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The engine's thresholds from the `managed_pool_*` settings.
pub fn params(m: &ManagedPoolSettings) -> ScalingParams {
    ScalingParams {
        activation_volume: m.activation_volume,
        release_volume: m.release_volume,
        ..ScalingParams::default()
    }
}

/// Evaluates every managed pool every `managed_pool_evaluation_seconds` until `stop` flips;
/// each complete sweep replaces the `ses_managed_pool_*` gauges of `metrics`.
pub async fn run(
    engine: Engine,
    cfg: Config,
    metrics: std::sync::Arc<Metrics>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let p = params(&cfg.managed_pools);
    loop {
        if let Err(e) = sweep(&engine, &cfg.regions, &p, &metrics).await {
            tracing::warn!(error = %format!("{e:#}"), "managed pool evaluation failed; retrying next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn sweep(
    engine: &Engine,
    regions: &[String],
    p: &ScalingParams,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let now = now_ms();
    let pruned = engine
        .store
        .prune_pool_usage(hour_of(now) - KEEP_HOURS)
        .await?;
    if pruned > 0 {
        tracing::debug!(rows = pruned, "old managed pool counters pruned");
    }
    let mut gauges = Vec::new();
    for account in engine.store.list_accounts().await? {
        for region in regions {
            let scope = Scope::new(account.account_id.clone(), region.parse()?);
            for r in engine.evaluate_managed_pools(&scope, p, now).await? {
                gauges.push(pool_gauges(&r));
            }
        }
    }
    metrics.set_managed_pools(&gauges);
    Ok(())
}

/// The F-47 gauges of one pool's report.
fn pool_gauges(r: &ManagedPoolReport) -> ManagedPoolGauges {
    ManagedPoolGauges {
        account_id: r.account_id.clone(),
        region: r.region.clone(),
        pool: r.pool.clone(),
        dedicated_ips: r.ips.len() as u64,
        isps: r
            .isps
            .iter()
            .map(|i| ManagedIspGauges {
                isp: i.isp.clone(),
                dedicated_24h: i.sent_last_24_hours,
                shared_24h: i.shared_last_24_hours,
                available_24h: i.available_24_hour_send,
            })
            .collect(),
    }
}

pub async fn run_cmd(engine: &Engine, cfg: &Config, cmd: PoolCmd) -> anyhow::Result<()> {
    match cmd {
        PoolCmd::Show {
            name,
            account,
            region,
            isp,
            json,
        } => {
            let region = region.unwrap_or_else(|| cfg.default_region().to_string());
            let scope = Scope::new(account_id(&account)?, region.parse()?);
            let pool = engine.get_dedicated_ip_pool(&scope, &name).await?;
            if pool.managed() {
                let mut r = engine.managed_pool_report(&scope, &name, now_ms()).await?;
                if let Some(isp) = &isp {
                    r.isps.retain(|i| i.isp.eq_ignore_ascii_case(isp));
                }
                if json {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                } else {
                    print_managed(&r);
                }
            } else {
                let ips = engine.list_dedicated_ips(&scope, Some(&name)).await?;
                let now = now_ms();
                if json {
                    let v: Vec<_> = ips
                        .iter()
                        .map(|s| {
                            let (status, pct, _) = s.wire_at(now);
                            serde_json::json!({"ip": s.ip.to_string(), "warmup_status": status.as_str(), "warmup_percentage": pct})
                        })
                        .collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(
                            &serde_json::json!({"pool": name, "scaling_mode": "STANDARD", "ips": v})
                        )?
                    );
                } else {
                    println!(
                        "pool {name} (STANDARD), account {}, {region}",
                        scope.account
                    );
                    if ips.is_empty() {
                        println!("  no dedicated IPs");
                    }
                    for s in ips {
                        let (status, pct, _) = s.wire_at(now);
                        println!("  {:<16} {} {pct}%", s.ip, status.as_str());
                    }
                }
            }
            Ok(())
        }
    }
}

fn print_managed(r: &ManagedPoolReport) {
    println!(
        "pool {} (MANAGED), account {}, {}",
        r.pool, r.account_id, r.region
    );
    println!("  sending status: {}", r.status);
    if r.ips.is_empty() {
        println!("  dedicated IPs: none (mail leaves through the shared pool)");
    }
    for ip in &r.ips {
        println!(
            "  dedicated IP: {} (since {})",
            ip.ip,
            fmt_ms(ip.allocated_at)
        );
    }
    let pct = |p: Option<f64>| p.map_or_else(|| "-".to_string(), |p| format!("{p:.1}%"));
    println!(
        "  last 7 days: {} via dedicated IPs, {} via the shared pool ({} dedicated)",
        r.dedicated_last_7_days,
        r.shared_last_7_days,
        pct(r.dedicated_percentage_last_7_days)
    );
    if r.isps.is_empty() {
        println!("  no sends in the last 7 days");
        return;
    }
    println!("  ISP capacity, last 24 hours:");
    println!(
        "  {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} PHASE",
        "ISP", "SENT", "SHARED", "DEFERRED", "CAPACITY", "AVAILABLE", "DEDICATED", "WARM-UP"
    );
    for i in &r.isps {
        println!(
            "  {:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}% {}",
            i.isp,
            i.sent_last_24_hours,
            i.shared_last_24_hours,
            i.deferred_last_24_hours,
            i.capacity_24_hours,
            i.available_24_hour_send,
            pct(i.dedicated_percentage),
            i.warmup_percentage,
            i.phase
        );
    }
}

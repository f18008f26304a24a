//! The DNS verification loop of `sesame serve` (spec D-39, D-99; DECISIONS) and the
//! on-demand check of `sesame identity check`.
//!
//! Every node runs the loop. Each round claims due identities from the store with a lease
//! (`Store::claim_verifications`: `FOR UPDATE SKIP LOCKED` on PostgreSQL), checks them through
//! `sesame_dns::Lookup` (uncached, `SESAME_RESOLVER`), and hands each back with its next due
//! time (`Store::finish_verification`). A node that dies mid-check loses its leases after
//! `LEASE_MS` and another node picks the identities up. The rules themselves (state machine,
//! cadence, what is looked up) live in `sesame_engine::verification`.

use std::sync::Arc;
use std::time::Duration;

use sesame_config::Config;
use sesame_engine::verification::run::{CheckContext, CheckReport};
use sesame_engine::verification::{Timings, LEASE_MS};
use sesame_engine::Engine;
use sesame_model::dns::DnsLookup;
use sesame_model::Scope;
use tokio::sync::watch;

/// Identities claimed per round.
const BATCH: usize = 16;

/// The cadence from the configuration.
pub fn timings(cfg: &Config) -> Timings {
    let ms = |s: u64| (s as i64).saturating_mul(1000);
    Timings {
        window_ms: ms(cfg.verification_window_seconds),
        pending_interval_ms: ms(cfg.verification_pending_interval_seconds),
        retry_interval_ms: ms(cfg.verification_retry_interval_seconds),
        success_interval_ms: ms(cfg.verification_success_interval_seconds),
    }
}

/// The DNS client of verification: the zone's authoritative servers first (Q-80,
/// `verification_authoritative_first`), found through and falling back to `SESAME_RESOLVER`,
/// else the system resolver.
pub fn lookup(cfg: &Config) -> anyhow::Result<Arc<dyn DnsLookup>> {
    let l = sesame_dns::Lookup::new(cfg.resolver).map_err(anyhow::Error::msg)?;
    if cfg.verification_authoritative_first {
        return Ok(Arc::new(sesame_dns::AuthoritativeFirst::new(
            l,
            53,
            // A zone server that does not answer quickly hands over to the resolver.
            sesame_dns::LookupOptions {
                timeout: std::time::Duration::from_secs(3),
                attempts: 1,
            },
        )));
    }
    Ok(Arc::new(l))
}

/// Runs until `shutdown` turns `true`.
pub async fn run(
    engine: Engine,
    dns: Arc<dyn DnsLookup>,
    timings: Timings,
    node: String,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    // Identities created before this version (or while no server ran the hook) get a row.
    for scope in scopes(&engine).await {
        if let Err(e) = engine
            .backfill_verification_schedule(&scope, sesame_engine::now_ms())
            .await
        {
            tracing::warn!(account = %scope.account, region = %scope.region, error = %e, "verification: scheduling existing identities failed");
        }
    }
    loop {
        loop {
            match round(&engine, &dns, &timings, &node).await {
                Ok(n) if n == BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "verification: claiming due checks failed; retrying later");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

async fn scopes(engine: &Engine) -> Vec<Scope> {
    let Ok(accounts) = engine.store.list_accounts().await else {
        return vec![];
    };
    let mut out = Vec::new();
    for a in accounts {
        for r in &engine.settings.regions {
            out.push(Scope::new(a.account_id.clone(), r.clone()));
        }
    }
    out
}

/// One claim-and-check round: the claimed identities are checked concurrently. Returns how
/// many identities were claimed.
async fn round(
    engine: &Engine,
    dns: &Arc<dyn DnsLookup>,
    timings: &Timings,
    node: &str,
) -> anyhow::Result<usize> {
    let now = sesame_engine::now_ms();
    let claimed = engine
        .store
        .claim_verifications(node, now, LEASE_MS, BATCH)
        .await?;
    let n = claimed.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (scope, identity) in claimed {
        let (engine, dns, timings, node) = (
            engine.clone(),
            dns.clone(),
            timings.clone(),
            node.to_string(),
        );
        tasks.spawn(async move {
            let next = match check(&engine, &*dns, &timings, &node, "schedule", &scope, &identity)
                .await
            {
                Ok(Some(r)) => r.next_due,
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(account = %scope.account, region = %scope.region, %identity, error = %e, "verification: check failed; retrying later");
                    Some(sesame_engine::now_ms() + timings.retry_interval_ms)
                }
            };
            if let Err(e) = engine
                .store
                .finish_verification(&node, &scope, &identity, next)
                .await
            {
                tracing::warn!(%identity, error = %e, "verification: releasing the lease failed; it expires by itself");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(n)
}

/// One check of one identity (the lease is the caller's).
pub async fn check(
    engine: &Engine,
    dns: &dyn DnsLookup,
    timings: &Timings,
    node: &str,
    trigger: &str,
    scope: &Scope,
    identity: &str,
) -> anyhow::Result<Option<CheckReport>> {
    let ctx = CheckContext {
        trigger,
        node,
        now: sesame_engine::now_ms(),
    };
    Ok(engine
        .check_identity(scope, identity, dns, timings, &ctx)
        .await?)
}

/// `sesame identity check`: claims the identity (waiting for a check in progress on a server
/// to finish), checks it, hands it back with its next due time, and prints the report.
pub async fn check_now(
    cfg: &Config,
    engine: &Engine,
    scope: &Scope,
    identity: &str,
) -> anyhow::Result<()> {
    let rec = engine.require_identity(scope, identity).await?;
    let dns = lookup(cfg)?;
    let timings = timings(cfg);
    let node = format!("cli-{}", std::process::id());
    let deadline = std::time::Instant::now() + Duration::from_millis(LEASE_MS as u64);
    loop {
        if engine
            .store
            .claim_verification(
                &node,
                scope,
                &rec.identity,
                sesame_engine::now_ms(),
                LEASE_MS,
            )
            .await?
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("a check of {identity} is in progress elsewhere; try again later");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = check(engine, &*dns, &timings, &node, "cli", scope, &rec.identity).await;
    let next = match &report {
        Ok(Some(r)) => r.next_due,
        Ok(None) => None,
        Err(_) => Some(sesame_engine::now_ms() + timings.retry_interval_ms),
    };
    engine
        .store
        .finish_verification(&node, scope, &rec.identity, next)
        .await?;
    let Some(report) = report? else {
        anyhow::bail!("identity {identity} was deleted meanwhile");
    };
    print!(
        "{}",
        render(&report, cfg.resolver, cfg.verification_authoritative_first)
    );
    Ok(())
}

/// The human-readable report of a check.
pub fn render(
    r: &CheckReport,
    resolver: Option<std::net::SocketAddr>,
    authoritative_first: bool,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let rec = &r.record;
    let _ = writeln!(
        s,
        "identity {} ({}) checked with {}{}",
        rec.identity,
        rec.identity_type,
        resolver.map_or_else(|| "the system resolver".to_string(), |a| a.to_string()),
        if authoritative_first {
            " (the zone's authoritative servers first, Q-80)"
        } else {
            ""
        }
    );
    if r.lookups.is_empty() {
        let _ = writeln!(
            s,
            "nothing to look up in DNS (an address is verified by email; it has no custom MAIL FROM)"
        );
    }
    for l in &r.lookups {
        let seen = if l.values.is_empty() {
            "(nothing)".to_string()
        } else {
            l.values.join(" | ")
        };
        let _ = writeln!(
            s,
            "  {:<9} {} {}\n            expected: {}\n            found:    {}\n            result:   {}{}",
            l.component,
            l.name,
            l.rtype,
            l.expected,
            seen,
            l.result,
            l.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(s, "status:");
    let _ = writeln!(s, "  identity   {}", rec.verification_status);
    if let Some(d) = &rec.dkim {
        let _ = writeln!(s, "  dkim       {}", d.status);
    }
    if let Some(m) = &rec.mail_from {
        let _ = writeln!(
            s,
            "  mail_from  {} ({}, BehaviorOnMxFailure {})",
            m.status, m.domain, m.behavior_on_mx_failure
        );
    }
    if rec.verification.forced {
        let _ = writeln!(
            s,
            "  (verified by the operator with `identity verify --force`: DNS results do not change the statuses)"
        );
    }
    for c in &r.changes {
        let _ = writeln!(s, "changed: {} {} -> {}", c.component, c.from, c.to);
    }
    for h in &r.hints {
        let _ = writeln!(s, "hint: {h}");
    }
    if let Some(due) = r.next_due {
        let _ = writeln!(
            s,
            "next scheduled check in {} s",
            ((due - sesame_engine::now_ms()) / 1000).max(0)
        );
    }
    s
}

/// `sesame identity audit`.
pub async fn print_audit(
    engine: &Engine,
    scope: &Scope,
    identity: &str,
    json: bool,
) -> anyhow::Result<()> {
    let rec = engine.require_identity(scope, identity).await?;
    let log = engine.verification_audit(scope, &rec.identity).await?;
    let notices: Vec<_> = engine
        .account_notices(scope)
        .await?
        .into_iter()
        .filter(|n| n.identity == rec.identity)
        .collect();
    if json {
        println!(
            "{}",
            serde_json::json!({ "checks": log.checks, "notices": notices })
        );
        return Ok(());
    }
    let when = sesame_engine::verification::rfc3339;
    if log.checks.is_empty() {
        println!("no checks recorded for {}", rec.identity);
    }
    for c in &log.checks {
        println!("{} {} on {}", when(c.checked_at), c.trigger, c.node);
        for l in &c.lookups {
            let seen = if l.values.is_empty() {
                "(nothing)".to_string()
            } else {
                l.values.join(" | ")
            };
            println!(
                "  {} {} {} -> {} [{}]",
                l.component, l.name, l.rtype, seen, l.result
            );
        }
        let st: Vec<String> = c.statuses.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  statuses: {}", st.join(" "));
        for ch in &c.changes {
            println!("  changed: {} {} -> {}", ch.component, ch.from, ch.to);
        }
    }
    for n in &notices {
        println!(
            "notice {} {}: {}",
            when(n.created_at),
            n.notice_type,
            n.subject
        );
    }
    Ok(())
}

//! Running a check: look up what the identity needs, apply the results to the stored record
//! (optimistic concurrency, like every identity write), append the audit entry and store the
//! account notices. Scheduling (which node checks what, when) is the caller's: the server's
//! loop claims due identities from the store; `sesame identity check` claims one.

use sesame_model::dns::DnsLookup;
use sesame_model::{ResourceKey, Scope, StoreError};

use super::checks::{self, LookupRecord};
use super::{
    apply, notices, AccountNotice, AuditEntry, AuditLog, DkimPlan, Observed, Plan, Soa,
    StatusChange, Timings, AUDIT_KEEP,
};
use crate::identities::normalize_identity;
use crate::records::{kind, IdentityRecord};
use crate::{Engine, EngineError};

/// Who asked for a check.
#[derive(Clone, Debug)]
pub struct CheckContext<'a> {
    /// `schedule` or `cli`.
    pub trigger: &'a str,
    pub node: &'a str,
    /// Unix ms (injected: tests move time).
    pub now: i64,
}

/// What a check did, for the caller (the CLI prints it).
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The identity after the check.
    pub record: IdentityRecord,
    pub lookups: Vec<LookupRecord>,
    pub hints: Vec<String>,
    pub changes: Vec<StatusChange>,
    /// When the next scheduled check is due; `None`: nothing left to check.
    pub next_due: Option<i64>,
    pub notices: Vec<AccountNotice>,
}

impl Engine {
    /// Checks `name` in `scope` against DNS now and records the result. `Ok(None)` when the
    /// identity does not exist (deleted since it was scheduled).
    pub async fn check_identity(
        &self,
        scope: &Scope,
        name: &str,
        dns: &dyn DnsLookup,
        timings: &Timings,
        ctx: &CheckContext<'_>,
    ) -> Result<Option<CheckReport>, EngineError> {
        let Ok(norm) = normalize_identity(name) else {
            return Ok(None);
        };
        let key = ResourceKey::new(scope, kind::IDENTITY, &norm);
        let Some(first) = self.store.get_resource(&key).await? else {
            return Ok(None);
        };
        let rec: IdentityRecord = serde_json::from_value(first.data)
            .map_err(|e| EngineError::Internal(format!("corrupt identity: {e}")))?;
        let plan = Plan::of(&rec);
        let sd = self.settings.service_domain.as_str();
        let domain = rec
            .identity
            .rsplit_once('@')
            .map_or(rec.identity.as_str(), |(_, d)| d);
        let mut obs = Observed::default();
        if let Some(token) = &plan.domain_txt {
            obs.domain = Some(checks::legacy_txt(dns, domain, token).await);
        }
        obs.dkim = match &plan.dkim {
            Some(DkimPlan::Easy { tokens }) => {
                Some(checks::easy_dkim(dns, domain, tokens, sd).await)
            }
            Some(DkimPlan::External {
                selector,
                public_key,
            }) => Some(checks::byodkim(dns, domain, selector, public_key).await),
            None => None,
        };
        if let Some(mf) = &plan.mail_from {
            obs.mail_from = Some(checks::mail_from(dns, mf, scope.region.as_str(), sd).await);
        }
        if rec.identity_type == "DOMAIN" {
            obs.soa = dns.soa(domain).await.ok().map(|s| Soa {
                primary_name_server: s.primary_name_server,
                admin_email: s.admin_email,
                serial_number: s.serial_number,
            });
        }

        // Apply to the current version (another writer may have moved it meanwhile).
        self.hot.drop_identity(scope, &norm);
        let (record, applied) = loop {
            let Some(current) = self.store.get_resource(&key).await? else {
                return Ok(None);
            };
            let mut rec: IdentityRecord = serde_json::from_value(current.data)
                .map_err(|e| EngineError::Internal(format!("corrupt identity: {e}")))?;
            if Plan::of(&rec) != plan {
                // Settings changed while we looked: these results are for the old ones. Nothing
                // is written; the new settings are checked again at once.
                let mut applied = apply(&mut rec, &Observed::default(), ctx.now, timings);
                applied.next_due = Plan::of(&rec).active(&rec).then_some(ctx.now);
                break (rec, applied);
            }
            let applied = apply(&mut rec, &obs, ctx.now, timings);
            let data = serde_json::to_value(&rec).expect("identity serialises");
            match self
                .store
                .update_resource(&key, &data, current.version)
                .await
            {
                Ok(_) => break (rec, applied),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        self.hot.drop_identity(scope, &norm);

        let mut lookups = Vec::new();
        let mut hints = Vec::new();
        for r in [&obs.domain, &obs.dkim, &obs.mail_from]
            .into_iter()
            .flatten()
        {
            lookups.extend(r.lookups.iter().cloned());
            hints.extend(r.hints.iter().cloned());
        }
        let mut statuses = std::collections::BTreeMap::new();
        if plan.domain_txt.is_some() || plan.dkim.is_some() {
            statuses.insert("DOMAIN".to_string(), record.verification_status.clone());
        }
        if let Some(d) = record.dkim.as_ref().filter(|_| plan.dkim.is_some()) {
            statuses.insert("DKIM".to_string(), d.status.clone());
        }
        if let Some(m) = &record.mail_from {
            statuses.insert("MAIL_FROM".to_string(), m.status.clone());
        }
        self.append_audit(
            scope,
            &norm,
            AuditEntry {
                checked_at: ctx.now,
                trigger: ctx.trigger.to_string(),
                node: ctx.node.to_string(),
                lookups: lookups.clone(),
                statuses,
                changes: applied.changes.clone(),
            },
        )
        .await?;
        let notes = notices(&record, &applied.changes, ctx.now);
        for (i, n) in notes.iter().enumerate() {
            let name = format!("{:013}-{}-{i}-{}", ctx.now, norm, random_suffix());
            let data = serde_json::to_value(n).expect("notice serialises");
            self.store
                .insert_resource(&ResourceKey::new(scope, kind::ACCOUNT_NOTICE, &name), &data)
                .await?;
        }
        for c in &applied.changes {
            tracing::info!(account = %scope.account, region = %scope.region, identity = %norm, component = %c.component, from = %c.from, to = %c.to, "verification: status changed");
        }
        Ok(Some(CheckReport {
            record,
            lookups,
            hints,
            changes: applied.changes,
            next_due: applied.next_due,
            notices: notes,
        }))
    }

    async fn append_audit(
        &self,
        scope: &Scope,
        identity: &str,
        entry: AuditEntry,
    ) -> Result<(), EngineError> {
        let key = ResourceKey::new(scope, kind::VERIFICATION_AUDIT, identity);
        loop {
            let current = self.store.get_resource(&key).await?;
            let mut log: AuditLog = match &current {
                Some(r) => serde_json::from_value(r.data.clone()).unwrap_or_default(),
                None => AuditLog::default(),
            };
            log.checks.push(entry.clone());
            let excess = log.checks.len().saturating_sub(AUDIT_KEEP);
            log.checks.drain(..excess);
            let data = serde_json::to_value(&log).expect("audit serialises");
            let r = match &current {
                Some(c) => self.store.update_resource(&key, &data, c.version).await,
                None => self.store.insert_resource(&key, &data).await,
            };
            match r {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict | StoreError::AlreadyExists | StoreError::NotFound) => {
                    continue
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The last checks of an identity, oldest first.
    pub async fn verification_audit(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<AuditLog, EngineError> {
        let Ok(norm) = normalize_identity(identity) else {
            return Ok(AuditLog::default());
        };
        let key = ResourceKey::new(scope, kind::VERIFICATION_AUDIT, &norm);
        Ok(match self.store.get_resource(&key).await? {
            Some(r) => serde_json::from_value(r.data)
                .map_err(|e| EngineError::Internal(format!("corrupt audit: {e}")))?,
            None => AuditLog::default(),
        })
    }

    /// Account notices of `scope`, oldest first (the outbox a mailer delivers from).
    pub async fn account_notices(&self, scope: &Scope) -> Result<Vec<AccountNotice>, EngineError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .store
                .list_resources(scope, kind::ACCOUNT_NOTICE, "", after.as_deref(), 500)
                .await?;
            let done = batch.len() < 500;
            for r in batch {
                after = Some(r.key.name.clone());
                out.push(
                    serde_json::from_value(r.data)
                        .map_err(|e| EngineError::Internal(format!("corrupt notice: {e}")))?,
                );
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// Called after an identity write by the API or an operator: when what there is to check
    /// or a status changed (created, DKIM re-keyed, MAIL FROM set, restarted after `FAILED`),
    /// the identity is checked at once (Q-81: "`PENDING`: immediately").
    pub(crate) async fn schedule_after_write(
        &self,
        scope: &Scope,
        before: Option<&IdentityRecord>,
        after: &IdentityRecord,
        now: i64,
    ) {
        if before.is_some_and(|b| super::fingerprint(b) == super::fingerprint(after)) {
            return;
        }
        if !Plan::of(after).active(after) {
            return;
        }
        if let Err(e) = self
            .store
            .schedule_verification(scope, &after.identity, now, false)
            .await
        {
            tracing::warn!(identity = %after.identity, error = %e, "verification: could not schedule a check; the next server start schedules it");
        }
    }

    /// Removes what verification keeps about a deleted identity.
    pub(crate) async fn forget_verification(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<(), EngineError> {
        self.store.delete_verification(scope, identity).await?;
        self.store
            .delete_resource(&ResourceKey::new(scope, kind::VERIFICATION_AUDIT, identity))
            .await?;
        Ok(())
    }

    /// Schedules every identity of `scope` that has something to check and no schedule row
    /// (identities created before this version). Returns how many were added or kept.
    pub async fn backfill_verification_schedule(
        &self,
        scope: &Scope,
        now: i64,
    ) -> Result<usize, EngineError> {
        let mut n = 0;
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .store
                .list_resources(scope, kind::IDENTITY, "", after.as_deref(), 500)
                .await?;
            let done = batch.len() < 500;
            for r in batch {
                after = Some(r.key.name.clone());
                let Ok(rec) = serde_json::from_value::<IdentityRecord>(r.data) else {
                    continue;
                };
                if Plan::of(&rec).active(&rec) {
                    self.store
                        .schedule_verification(scope, &rec.identity, now, true)
                        .await?;
                    n += 1;
                }
            }
            if done {
                return Ok(n);
            }
        }
    }
}

fn random_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

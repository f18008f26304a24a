//! Durable HTTP(S) deliveries of SNS messages (DECISIONS Q-170; STYLE principle 7: records
//! before deliveries, mox `Hook` style). Every message to an HTTP(S) subscriber is written as a
//! delivery record *before* anyone tries to post it; `sesame-publish` claims due records with
//! a lease, posts them, and reports back:
//!
//! - 2xx → [`Engine::sns_delivery_succeeded`] deletes the record;
//! - anything else → [`Engine::sns_delivery_failed`] schedules the next attempt with
//!   exponential backoff (`sns_retry_base_seconds` doubling, capped at
//!   `sns_retry_max_delay_seconds`) until `sns_retry_window_seconds` after publication, then
//!   moves the record to a dead letter (kind `sns-dead-letter`, same fields plus the last
//!   error).
//!
//! Claims are optimistic: a claim is an `update_resource` at the version read, so of several
//! nodes scanning the same record exactly one wins; a lease that expires (a node died
//! mid-post) makes the record claimable again — at-least-once, nothing lost across restarts.
//!
//! The records live in the generic resources table of the [`super::system_scope`], named
//! `<next_attempt_at, 15 digits>-<id>` so that name order is due order: a claim reads from the
//! front and stops at the first record not yet due, so its cost is the due (and in-flight)
//! records, not the whole backlog of retries. Rescheduling renames the record (write the new
//! name, then delete the old: a crash in between means one extra attempt, never a lost one).

use serde::{Deserialize, Serialize};
use sesame_model::{ResourceKey, StoreError};

use super::{kind, system_scope, SnsError};
use crate::{Engine, EngineError};

/// One message to one HTTP(S) endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// UUID, stable across retries (the record's name also carries the due time, see
    /// [`DeliveryRecord::name`]).
    pub id: String,
    pub url: String,
    /// Request headers (`x-amz-sns-*`, `Content-Type`, `User-Agent`).
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub topic_arn: String,
    pub subscription_arn: String,
    /// SNS `MessageId`.
    pub message_id: String,
    pub message_type: String,
    /// Unix ms the record was written; the retry window runs from here.
    pub created_at: i64,
    pub attempts: u32,
    pub next_attempt_at: i64,
    /// Unix ms until which `lease_node` owns the attempt (0 = free).
    #[serde(default)]
    pub lease_until: i64,
    #[serde(default)]
    pub lease_node: String,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl DeliveryRecord {
    /// The resource name: due time first, so name order is due order.
    pub fn name(&self) -> String {
        format!("{:015}-{}", self.next_attempt_at.max(0), self.id)
    }
}

/// A claimed record and the version the claim wrote (finishing checks it).
#[derive(Clone, Debug)]
pub struct Claimed {
    pub record: DeliveryRecord,
    pub version: i64,
}

/// What [`Engine::sns_delivery_failed`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    Retry { at_ms: i64 },
    DeadLetter,
}

impl Engine {
    fn delivery_key(&self, kind: &str, id: &str) -> ResourceKey {
        ResourceKey::new(&system_scope(self), kind, id)
    }

    /// Writes a delivery record (due now). Durable when it returns.
    pub async fn sns_enqueue_delivery(&self, rec: &DeliveryRecord) -> Result<(), SnsError> {
        let data = serde_json::to_value(rec).expect("record serialises");
        self.store
            .insert_resource(&self.delivery_key(kind::DELIVERY, &rec.name()), &data)
            .await?;
        Ok(())
    }

    /// Claims up to `limit` due, unleased records for `node` until `now_ms + lease_ms`.
    pub async fn sns_claim_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Claimed>, SnsError> {
        let scope = system_scope(self);
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        'scan: while out.len() < limit {
            let rows = self
                .store
                .list_resources(&scope, kind::DELIVERY, "", after.as_deref(), 256)
                .await?;
            let n = rows.len();
            after = rows.last().map(|r| r.key.name.clone());
            for r in rows {
                if out.len() >= limit {
                    break;
                }
                let Ok(mut rec) = serde_json::from_value::<DeliveryRecord>(r.data) else {
                    tracing::error!(id = %r.key.name, "corrupt SNS delivery record skipped");
                    continue;
                };
                if rec.next_attempt_at > now_ms {
                    // Name order is due order: nothing after this is due either.
                    break 'scan;
                }
                if rec.lease_until > now_ms {
                    continue;
                }
                rec.lease_until = now_ms + lease_ms;
                rec.lease_node = node.to_string();
                let data = serde_json::to_value(&rec).expect("record serialises");
                match self.store.update_resource(&r.key, &data, r.version).await {
                    Ok(updated) => out.push(Claimed {
                        record: rec,
                        version: updated.version,
                    }),
                    // Another node claimed or finished it first.
                    Err(StoreError::Conflict) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if n < 256 {
                break;
            }
        }
        Ok(out)
    }

    /// The endpoint answered 2xx: the record is done.
    pub async fn sns_delivery_succeeded(&self, c: &Claimed) -> Result<(), SnsError> {
        self.store
            .delete_resource(&self.delivery_key(kind::DELIVERY, &c.record.name()))
            .await?;
        Ok(())
    }

    /// The attempt failed with `error`: retry later or, past the window, dead-letter it.
    pub async fn sns_delivery_failed(
        &self,
        c: &Claimed,
        error: &str,
        now_ms: i64,
    ) -> Result<FailureOutcome, SnsError> {
        let s = &self.settings.sns;
        let mut rec = c.record.clone();
        rec.attempts += 1;
        rec.last_error = Some(error.to_string());
        rec.lease_until = 0;
        rec.lease_node.clear();
        let delay_ms = backoff_ms(
            rec.attempts,
            s.retry_base_seconds,
            s.retry_max_delay_seconds,
        );
        let deadline = rec.created_at + (s.retry_window_seconds as i64) * 1000;
        let key = self.delivery_key(kind::DELIVERY, &c.record.name());
        if now_ms + delay_ms > deadline {
            // In a dead letter, `next_attempt_at` is when it died (pruning counts from there).
            rec.next_attempt_at = now_ms;
            let data = serde_json::to_value(&rec).expect("record serialises");
            // Dead letter first, then the delete: a crash in between leaves a duplicate dead
            // letter attempt, never a lost record.
            self.store
                .upsert_resource(&self.delivery_key(kind::DEAD_LETTER, &rec.id), &data)
                .await?;
            self.store.delete_resource(&key).await?;
            tracing::warn!(id = %rec.id, url = %rec.url, attempts = rec.attempts, error, "SNS delivery dead-lettered");
            return Ok(FailureOutcome::DeadLetter);
        }
        rec.next_attempt_at = now_ms + delay_ms;
        let data = serde_json::to_value(&rec).expect("record serialises");
        // Only the lease holder reschedules: if the record moved on (our lease expired and
        // another node took it), leave it to that node.
        match self.store.get_resource(&key).await? {
            Some(r) if r.version == c.version => {}
            _ => {
                return Ok(FailureOutcome::Retry {
                    at_ms: rec.next_attempt_at,
                })
            }
        }
        self.store
            .upsert_resource(&self.delivery_key(kind::DELIVERY, &rec.name()), &data)
            .await?;
        self.store.delete_resource(&key).await?;
        Ok(FailureOutcome::Retry {
            at_ms: rec.next_attempt_at,
        })
    }

    /// Dead letters, oldest name first (admin and tests).
    pub async fn sns_dead_letters(&self, limit: usize) -> Result<Vec<DeliveryRecord>, SnsError> {
        let rows = self
            .store
            .list_resources(&system_scope(self), kind::DEAD_LETTER, "", None, limit)
            .await?;
        rows.into_iter()
            .map(|r| {
                serde_json::from_value(r.data)
                    .map_err(|e| SnsError::Engine(EngineError::Internal(e.to_string())))
            })
            .collect()
    }

    /// Moves dead letters back into the outbox for a fresh retry window (`sesame sns
    /// dead-letters --retry`): `ids` empty = all. Returns how many were requeued.
    pub async fn sns_requeue_dead_letters(
        &self,
        ids: &[String],
        now_ms: i64,
    ) -> Result<u64, SnsError> {
        let mut n = 0;
        for mut rec in self.sns_dead_letters(usize::MAX).await? {
            if !ids.is_empty() && !ids.contains(&rec.id) {
                continue;
            }
            let dead = self.delivery_key(kind::DEAD_LETTER, &rec.id);
            rec.attempts = 0;
            rec.created_at = now_ms;
            rec.next_attempt_at = now_ms;
            rec.lease_until = 0;
            rec.lease_node.clear();
            let data = serde_json::to_value(&rec).expect("record serialises");
            self.store
                .upsert_resource(&self.delivery_key(kind::DELIVERY, &rec.name()), &data)
                .await?;
            self.store.delete_resource(&dead).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes dead letters that died before `older_than_ms` (Q-170: kept 14 days).
    pub async fn sns_prune_dead_letters(&self, older_than_ms: i64) -> Result<u64, SnsError> {
        let mut n = 0;
        for rec in self.sns_dead_letters(usize::MAX).await? {
            if rec.next_attempt_at < older_than_ms
                && self
                    .store
                    .delete_resource(&self.delivery_key(kind::DEAD_LETTER, &rec.id))
                    .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Records still waiting for delivery (admin and tests).
    pub async fn sns_pending_deliveries(&self) -> Result<u64, SnsError> {
        Ok(self
            .store
            .count_resources(&system_scope(self), kind::DELIVERY)
            .await?)
    }
}

/// How long dead letters are kept.
pub const DEAD_LETTER_RETENTION_MS: i64 = 14 * 24 * 3600 * 1000;

/// Delay before attempt `attempts + 1`: `base · 2^(attempts-1)` seconds, at most `max`.
pub fn backoff_ms(attempts: u32, base_s: u64, max_s: u64) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    let s = base_s.saturating_mul(1u64 << exp).min(max_s.max(base_s));
    (s as i64) * 1000
}

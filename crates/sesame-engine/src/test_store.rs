//! Test-only in-memory `Store` (resources, plus a minimal queue, event log and dev inbox; account
//! and key methods are not needed by the engine tests that use it) and `BodyStore`, so engine
//! rules are unit-tested without a database or a spool. Quotas are not enforced here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sesame_model::{
    AcceptOutcome, AccessKeyRecord, AccountId, AccountRecord, BodyStore, CapturedMessage,
    ContactRow, EventRecord, QueuedMessage, QuotaCheck, Region, ReputationBucket, Resource,
    ResourceKey, Scope, SendStatsBucket, Store, StoreError,
};
use sesame_model::{QueueCursor, QueueEntry, QueueFilter, QueueStats};

use crate::{Engine, Settings};

type Key = (String, String, String, String);
/// (scope, pool, hour, isp, ip).
type PoolKey = (String, String, i64, String, String);
/// (account, region, identity).
type VKey = (String, String, String);
/// (due_at, lease owner, lease until).
type VRow = (i64, Option<String>, i64);

#[derive(Default)]
pub struct MemStore {
    rows: Mutex<BTreeMap<Key, Resource>>,
    /// Queue rows with their lease holder.
    pub queue: Mutex<Vec<(QueuedMessage, Option<String>)>>,
    pub events: Mutex<Vec<EventRecord>>,
    pub captured: Mutex<Vec<CapturedMessage>>,
    /// Warm-up counters: (scope, ip, day) → messages.
    pub ip_usage: Mutex<BTreeMap<(String, String, i64), u64>>,
    /// Managed-pool counters: (scope, pool, hour, isp, ip) → counts (in the SQL order).
    pub pool_usage: Mutex<BTreeMap<PoolKey, sesame_model::PoolUsageCounts>>,
    /// The sent-message log: finished queue rows with the time they left (`finish_message`).
    pub message_log: Mutex<Vec<(QueuedMessage, i64)>>,
    /// Deleted messages' ids and creation times (`delete_queued`).
    pub tombstones: Mutex<Vec<(String, i64)>>,
    /// Verification schedule: (account, region, identity) → (due_at, lease owner, lease until).
    pub verifications: Mutex<BTreeMap<VKey, VRow>>,
    /// Operator DKIM keys by selector.
    pub operator_keys: Mutex<BTreeMap<String, sesame_model::OperatorDkimKey>>,
    /// Reputation counters by "account/region" (tests put them in; events are not folded).
    pub reputation: Mutex<BTreeMap<String, Vec<ReputationBucket>>>,
    /// Contacts by ("account/region", list, email).
    pub contacts: Mutex<BTreeMap<(String, String, String), ContactRow>>,
}

/// In-memory spool.
#[derive(Default)]
pub struct MemBodies {
    pub bodies: Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait]
impl BodyStore for MemBodies {
    async fn write_body(&self, id: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        self.bodies.lock().unwrap().insert(id.to_string(), bytes);
        Ok(())
    }
    async fn read_body(&self, id: &str) -> std::io::Result<Vec<u8>> {
        self.bodies
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    async fn prefetch_bodies(
        &self,
        ids: &[String],
        max_each: usize,
    ) -> std::io::Result<std::collections::HashMap<String, Vec<u8>>> {
        let bodies = self.bodies.lock().unwrap();
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), bodies.get(id)?.clone())))
            .filter(|(_, b)| b.len() <= max_each)
            .collect())
    }
    async fn remove_body(&self, id: &str) -> std::io::Result<()> {
        self.bodies.lock().unwrap().remove(id);
        Ok(())
    }
}

fn key(k: &ResourceKey) -> Key {
    (
        k.scope.account.as_str().to_string(),
        k.scope.region.as_str().to_string(),
        k.kind.clone(),
        k.name.clone(),
    )
}

fn mem_scope(s: &Scope) -> String {
    format!("{}/{}", s.account.as_str(), s.region.as_str())
}

fn mem_entry((m, holder): &(QueuedMessage, Option<String>)) -> QueueEntry {
    QueueEntry {
        message: m.clone(),
        lease_owner: holder.clone(),
        lease_until: None,
    }
}

fn unsupported() -> StoreError {
    StoreError::Backend("not supported by the test store".into())
}

#[async_trait]
impl Store for MemStore {
    async fn create_account(&self, _: &AccountRecord) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn get_account(&self, _: &AccountId) -> Result<Option<AccountRecord>, StoreError> {
        Ok(None)
    }
    async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        Ok(vec![])
    }
    async fn update_account(&self, _: &AccountRecord) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn create_access_key(&self, _: &AccessKeyRecord) -> Result<(), StoreError> {
        Err(unsupported())
    }
    async fn get_access_key(&self, _: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        Ok(None)
    }
    async fn list_access_keys(&self, _: &AccountId) -> Result<Vec<AccessKeyRecord>, StoreError> {
        Ok(vec![])
    }
    async fn delete_access_key(&self, _: &AccountId, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn insert_resource(
        &self,
        k: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.contains_key(&key(k)) {
            return Err(StoreError::AlreadyExists);
        }
        let r = Resource {
            key: k.clone(),
            data: data.clone(),
            version: 1,
            created_at: crate::now_ms(),
            updated_at: crate::now_ms(),
        };
        rows.insert(key(k), r.clone());
        Ok(r)
    }
    async fn get_resource(&self, k: &ResourceKey) -> Result<Option<Resource>, StoreError> {
        Ok(self.rows.lock().unwrap().get(&key(k)).cloned())
    }
    async fn update_resource(
        &self,
        k: &ResourceKey,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<Resource, StoreError> {
        let mut rows = self.rows.lock().unwrap();
        let r = rows.get_mut(&key(k)).ok_or(StoreError::NotFound)?;
        if r.version != expected_version {
            return Err(StoreError::Conflict);
        }
        r.data = data.clone();
        r.version += 1;
        r.updated_at = crate::now_ms();
        Ok(r.clone())
    }
    async fn upsert_resource(
        &self,
        k: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        let mut rows = self.rows.lock().unwrap();
        let now = crate::now_ms();
        let r = rows.entry(key(k)).or_insert_with(|| Resource {
            key: k.clone(),
            data: serde_json::Value::Null,
            version: 0,
            created_at: now,
            updated_at: now,
        });
        r.data = data.clone();
        r.version += 1;
        r.updated_at = now;
        Ok(r.clone())
    }
    async fn delete_resource(&self, k: &ResourceKey) -> Result<bool, StoreError> {
        if k.kind == sesame_model::CONTACT_LIST_KIND {
            // As the SQL store: a list's contacts go with it.
            let sc = mem_scope(&k.scope);
            self.contacts
                .lock()
                .unwrap()
                .retain(|(s, l, _), _| !(*s == sc && *l == k.name));
        }
        Ok(self.rows.lock().unwrap().remove(&key(k)).is_some())
    }
    async fn delete_resources_by_prefix(
        &self,
        scope: &Scope,
        kind: &str,
        prefix: &str,
    ) -> Result<u64, StoreError> {
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|(a, r, k, n), _| {
            !(a == scope.account.as_str()
                && r == scope.region.as_str()
                && k == kind
                && n.starts_with(prefix))
        });
        Ok((before - rows.len()) as u64)
    }
    async fn list_resources(
        &self,
        scope: &Scope,
        kind: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|((a, r, k, n), _)| {
                a == scope.account.as_str()
                    && r == scope.region.as_str()
                    && k == kind
                    && n.starts_with(prefix)
                    && after.is_none_or(|after| n.as_str() > after)
            })
            .take(limit)
            .map(|(_, v)| v.clone())
            .collect())
    }
    async fn find_dkim_selector(
        &self,
        token: &str,
    ) -> Result<Option<sesame_model::DkimSelector>, StoreError> {
        // A scan is fine in memory; the SQL store has the `dkim_selectors` index.
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|((_, _, k, _), _)| k == sesame_model::DKIM_INDEX_KIND)
            .find_map(|(_, r)| {
                sesame_model::dkim_selectors_of(&r.data)
                    .into_iter()
                    .find(|(t, _)| t == token)
                    .map(|(t, p)| sesame_model::DkimSelector {
                        token: t,
                        scope: r.key.scope.clone(),
                        identity: r.key.name.clone(),
                        public_key: p,
                    })
            }))
    }
    async fn get_operator_dkim_key(
        &self,
        selector: &str,
    ) -> Result<Option<sesame_model::OperatorDkimKey>, StoreError> {
        Ok(self.operator_keys.lock().unwrap().get(selector).cloned())
    }
    async fn insert_operator_dkim_key(
        &self,
        key: &sesame_model::OperatorDkimKey,
    ) -> Result<sesame_model::OperatorDkimKey, StoreError> {
        Ok(self
            .operator_keys
            .lock()
            .unwrap()
            .entry(key.selector.clone())
            .or_insert_with(|| key.clone())
            .clone())
    }
    async fn count_resources(&self, scope: &Scope, kind: &str) -> Result<u64, StoreError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .keys()
            .filter(|(a, r, k, _)| {
                a == scope.account.as_str() && r == scope.region.as_str() && k == kind
            })
            .count() as u64)
    }

    async fn accept_messages(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        _now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        let mut out = Vec::new();
        for (m, _, ev) in batch {
            self.queue.lock().unwrap().push((m.clone(), None));
            self.events.lock().unwrap().extend(ev.iter().cloned());
            out.push(AcceptOutcome::Accepted);
        }
        Ok(out)
    }
    async fn sent_last_24h(&self, _: &Scope, _: i64) -> Result<f64, StoreError> {
        Ok(0.0)
    }
    async fn claim_messages(
        &self,
        node: &str,
        now_ms: i64,
        _lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedMessage>, StoreError> {
        let mut q = self.queue.lock().unwrap();
        let mut out = Vec::new();
        for (m, holder) in q.iter_mut() {
            if out.len() < limit && holder.is_none() && m.next_attempt_at <= now_ms {
                *holder = Some(node.to_string());
                out.push(m.clone());
            }
        }
        Ok(out)
    }
    async fn release_leases(&self, node: &str) -> Result<u64, StoreError> {
        let mut q = self.queue.lock().unwrap();
        let mut n = 0;
        for (_, holder) in q.iter_mut() {
            if holder.as_deref() == Some(node) {
                *holder = None;
                n += 1;
            }
        }
        Ok(n)
    }
    async fn finish_message(
        &self,
        node: &str,
        message_id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut q = self.queue.lock().unwrap();
        let i = q
            .iter()
            .position(|(m, h)| m.message_id == message_id && h.as_deref() == Some(node))
            .ok_or(StoreError::Conflict)?;
        let (m, _) = q.remove(i);
        self.message_log.lock().unwrap().push((m, crate::now_ms()));
        self.events.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    }
    async fn retry_message(
        &self,
        node: &str,
        message_id: &str,
        recipients: &[String],
        next_attempt_at: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut q = self.queue.lock().unwrap();
        let (m, holder) = q
            .iter_mut()
            .find(|(m, h)| m.message_id == message_id && h.as_deref() == Some(node))
            .ok_or(StoreError::Conflict)?;
        m.recipients = recipients.to_vec();
        m.next_attempt_at = next_attempt_at;
        m.attempts += 1;
        *holder = None;
        self.events.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    }
    async fn queue_depth(&self) -> Result<u64, StoreError> {
        Ok(self.queue.lock().unwrap().len() as u64)
    }
    // --- queue operations. Leases here never expire (`lease_until` is `None`). ---
    async fn list_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        limit: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        let mut found: Vec<QueueEntry> = self
            .queue
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| filter.matches(m) && after.is_none_or(|c| c.precedes(m)))
            .map(mem_entry)
            .collect();
        found.sort_by(|a, b| {
            (a.message.next_attempt_at, &a.message.message_id)
                .cmp(&(b.message.next_attempt_at, &b.message.message_id))
        });
        found.truncate(limit);
        Ok(found)
    }
    async fn get_queued(&self, message_id: &str) -> Result<Option<QueueEntry>, StoreError> {
        let q = self.queue.lock().unwrap();
        Ok(q.iter()
            .find(|(m, _)| m.message_id == message_id)
            .map(mem_entry))
    }
    async fn retry_queued_now(
        &self,
        message_id: Option<&str>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut q = self.queue.lock().unwrap();
        if let Some(id) = message_id {
            let (m, holder) = q
                .iter_mut()
                .find(|(m, _)| m.message_id == id)
                .ok_or(StoreError::NotFound)?;
            if holder.is_some() {
                return Err(StoreError::Conflict);
            }
            if m.next_attempt_at <= now_ms {
                return Ok(0);
            }
            m.next_attempt_at = now_ms;
            return Ok(1);
        }
        let mut moved = 0;
        for (m, holder) in q.iter_mut() {
            if holder.is_none() && m.next_attempt_at > now_ms {
                m.next_attempt_at = now_ms;
                moved += 1;
            }
        }
        Ok(moved)
    }
    async fn delete_queued(
        &self,
        message_id: &str,
        force: bool,
        now_ms: i64,
    ) -> Result<QueueEntry, StoreError> {
        let mut q = self.queue.lock().unwrap();
        let i = q
            .iter()
            .position(|(m, _)| m.message_id == message_id)
            .ok_or(StoreError::NotFound)?;
        let entry = mem_entry(&q[i]);
        if entry.in_delivery(now_ms) && !force {
            return Err(StoreError::Conflict);
        }
        q.remove(i);
        self.tombstones
            .lock()
            .unwrap()
            .push((message_id.to_string(), entry.message.created_at));
        Ok(entry)
    }
    async fn queue_tombstones(
        &self,
        created_before: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut t: Vec<_> = self
            .tombstones
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| *at < created_before)
            .cloned()
            .collect();
        t.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(t.into_iter().take(limit).map(|(id, _)| id).collect())
    }
    async fn clear_queue_tombstones(&self, message_ids: &[String]) -> Result<u64, StoreError> {
        let mut t = self.tombstones.lock().unwrap();
        let before = t.len();
        t.retain(|(id, _)| !message_ids.contains(id));
        Ok((before - t.len()) as u64)
    }
    async fn queue_stats(&self, now_ms: i64) -> Result<QueueStats, StoreError> {
        let q = self.queue.lock().unwrap();
        let entries: Vec<_> = q.iter().map(mem_entry).collect();
        Ok(QueueStats {
            depth: entries.len() as u64,
            deferred: entries.iter().filter(|e| e.message.attempts > 0).count() as u64,
            in_delivery: entries.iter().filter(|e| e.in_delivery(now_ms)).count() as u64,
            oldest_created_at: entries.iter().map(|e| e.message.created_at).min(),
            publishing_backlog: 0,
            publishing_oldest_at: None,
        })
    }
    async fn append_events(&self, events: &[EventRecord]) -> Result<(), StoreError> {
        self.events.lock().unwrap().extend(events.iter().cloned());
        Ok(())
    }
    async fn claim_event_dispatch(
        &self,
        _: &str,
        _: i64,
        _: i64,
        _: usize,
    ) -> Result<Vec<sesame_model::DispatchItem>, StoreError> {
        Err(unsupported())
    }

    async fn finish_event_dispatch(&self, _: &str, _: &[i64]) -> Result<u64, StoreError> {
        Err(unsupported())
    }

    async fn retry_event_dispatch(&self, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        Err(unsupported())
    }

    async fn message_events(
        &self,
        scope: &Scope,
        message_id: &str,
    ) -> Result<Vec<EventRecord>, StoreError> {
        Ok(self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| &e.scope == scope && e.message_id == message_id)
            .cloned()
            .collect())
    }
    async fn send_statistics(&self, _: &Scope, _: i64) -> Result<Vec<SendStatsBucket>, StoreError> {
        Ok(vec![])
    }
    async fn reputation_buckets(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<ReputationBucket>, StoreError> {
        let all = self.reputation.lock().unwrap();
        Ok(all
            .get(&mem_scope(scope))
            .into_iter()
            .flatten()
            .filter(|b| b.bucket_start >= since_ms - since_ms.rem_euclid(3_600_000))
            .cloned()
            .collect())
    }
    async fn prune_statistics(&self, _: i64, reputation: i64) -> Result<u64, StoreError> {
        let mut all = self.reputation.lock().unwrap();
        let mut n = 0;
        for rows in all.values_mut() {
            let before = rows.len();
            rows.retain(|b| b.bucket_start >= reputation);
            n += (before - rows.len()) as u64;
        }
        Ok(n)
    }
    async fn capture_message(&self, message: &CapturedMessage) -> Result<(), StoreError> {
        let mut c = self.captured.lock().unwrap();
        if !c.iter().any(|m| m.message_id == message.message_id) {
            c.push(message.clone());
        }
        Ok(())
    }
    async fn captured_messages(
        &self,
        scope: Option<&Scope>,
        message_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CapturedMessage>, StoreError> {
        Ok(self
            .captured
            .lock()
            .unwrap()
            .iter()
            .rev()
            .filter(|m| scope.is_none_or(|s| &m.scope == s))
            .filter(|m| message_id.is_none_or(|id| m.message_id == id))
            .take(limit)
            .cloned()
            .collect())
    }
    async fn delete_captured(&self, message_id: Option<&str>) -> Result<u64, StoreError> {
        let mut c = self.captured.lock().unwrap();
        let before = c.len();
        c.retain(|m| message_id.is_some_and(|id| m.message_id != id));
        Ok((before - c.len()) as u64)
    }

    async fn add_ip_sends(
        &self,
        scope: &Scope,
        ip: &str,
        day: i64,
        count: u64,
        limit: u64,
    ) -> Result<bool, StoreError> {
        let mut u = self.ip_usage.lock().unwrap();
        let n = u
            .entry((mem_scope(scope), ip.to_string(), day))
            .or_default();
        if n.saturating_add(count) > limit {
            return Ok(false);
        }
        *n += count;
        Ok(true)
    }

    async fn ip_sends(&self, scope: &Scope, ip: &str, day: i64) -> Result<u64, StoreError> {
        let u = self.ip_usage.lock().unwrap();
        Ok(u.get(&(mem_scope(scope), ip.to_string(), day))
            .copied()
            .unwrap_or(0))
    }

    async fn add_pool_usage(
        &self,
        scope: &Scope,
        usage: &sesame_model::PoolUsage,
        sent_limit: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut u = self.pool_usage.lock().unwrap();
        let key = (
            mem_scope(scope),
            usage.pool.clone(),
            usage.hour,
            usage.isp.clone(),
            usage.ip.clone(),
        );
        let row = u.entry(key).or_default();
        if sent_limit.is_some_and(|l| row.sent.saturating_add(usage.counts.sent) > l) {
            return Ok(false);
        }
        row.sent += usage.counts.sent;
        row.delivered += usage.counts.delivered;
        row.throttled += usage.counts.throttled;
        row.deferred += usage.counts.deferred;
        Ok(true)
    }

    async fn pool_usage(
        &self,
        scope: &Scope,
        pool: &str,
        isp: Option<&str>,
        since_hour: i64,
    ) -> Result<Vec<sesame_model::PoolUsage>, StoreError> {
        let u = self.pool_usage.lock().unwrap();
        let sc = mem_scope(scope);
        Ok(u.iter()
            .filter(|((s, p, h, i, _), _)| {
                *s == sc && p == pool && *h >= since_hour && isp.is_none_or(|x| x == i)
            })
            .map(|((_, p, h, i, ip), c)| sesame_model::PoolUsage {
                pool: p.clone(),
                ip: ip.clone(),
                isp: i.clone(),
                hour: *h,
                counts: *c,
            })
            .collect())
    }

    async fn delete_pool_usage(&self, scope: &Scope, pool: &str) -> Result<u64, StoreError> {
        let mut u = self.pool_usage.lock().unwrap();
        let sc = mem_scope(scope);
        let before = u.len();
        u.retain(|(s, p, ..), _| !(*s == sc && p == pool));
        Ok((before - u.len()) as u64)
    }

    async fn prune_pool_usage(&self, before_hour: i64) -> Result<u64, StoreError> {
        let mut u = self.pool_usage.lock().unwrap();
        let before = u.len();
        u.retain(|(_, _, h, ..), _| *h >= before_hour);
        Ok((before - u.len()) as u64)
    }

    async fn find_message(
        &self,
        message_id: &str,
    ) -> Result<Option<(QueuedMessage, bool)>, StoreError> {
        if let Some((m, _)) = self
            .queue
            .lock()
            .unwrap()
            .iter()
            .find(|(m, _)| m.message_id == message_id)
        {
            return Ok(Some((m.clone(), true)));
        }
        Ok(self
            .message_log
            .lock()
            .unwrap()
            .iter()
            .find(|(m, _)| m.message_id == message_id)
            .map(|(m, finished_at)| {
                let mut m = m.clone();
                m.next_attempt_at = *finished_at;
                (m, false)
            }))
    }
    async fn prune_message_log(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        let mut log = self.message_log.lock().unwrap();
        let before = log.len();
        log.retain(|(_, finished_at)| *finished_at >= older_than_ms);
        Ok((before - log.len()) as u64)
    }
    async fn schedule_verification(
        &self,
        scope: &Scope,
        identity: &str,
        due_at: i64,
        only_if_absent: bool,
    ) -> Result<(), StoreError> {
        let mut v = self.verifications.lock().unwrap();
        let e = v.entry(vkey(scope, identity)).or_insert((due_at, None, 0));
        if !only_if_absent {
            e.0 = due_at;
        }
        Ok(())
    }
    async fn verification_due(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<Option<i64>, StoreError> {
        let v = self.verifications.lock().unwrap();
        Ok(v.get(&vkey(scope, identity)).map(|e| e.0))
    }
    async fn claim_verifications(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>, StoreError> {
        let mut v = self.verifications.lock().unwrap();
        let mut due: Vec<_> = v
            .iter()
            .filter(|(_, e)| e.0 <= now_ms && e.2 <= now_ms)
            .map(|(k, e)| (e.0, k.clone()))
            .collect();
        due.sort();
        due.truncate(limit);
        let mut out = Vec::new();
        for (_, k) in due {
            let e = v.get_mut(&k).unwrap();
            e.1 = Some(node.to_string());
            e.2 = now_ms + lease_ms;
            let scope = Scope::new(k.0.parse().unwrap(), k.1.parse().unwrap());
            out.push((scope, k.2.clone()));
        }
        Ok(out)
    }
    async fn claim_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut v = self.verifications.lock().unwrap();
        let e = v.entry(vkey(scope, identity)).or_insert((now_ms, None, 0));
        if e.2 > now_ms {
            return Ok(false);
        }
        e.1 = Some(node.to_string());
        e.2 = now_ms + lease_ms;
        Ok(true)
    }
    async fn finish_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        next_due: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut v = self.verifications.lock().unwrap();
        let k = vkey(scope, identity);
        match v.get_mut(&k) {
            Some(e) if e.1.as_deref() == Some(node) => {
                match next_due {
                    Some(d) => *e = (d, None, 0),
                    None => {
                        v.remove(&k);
                    }
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn delete_verification(&self, scope: &Scope, identity: &str) -> Result<bool, StoreError> {
        let mut v = self.verifications.lock().unwrap();
        Ok(v.remove(&vkey(scope, identity)).is_some())
    }
    async fn insert_contacts(
        &self,
        scope: &Scope,
        list: &str,
        contacts: &[(String, serde_json::Value)],
        skip_existing: bool,
    ) -> Result<u64, StoreError> {
        let list_key = ResourceKey::new(scope, sesame_model::CONTACT_LIST_KIND, list);
        if !self.rows.lock().unwrap().contains_key(&key(&list_key)) {
            return Err(StoreError::NotFound);
        }
        let mut all = self.contacts.lock().unwrap();
        let k = |email: &str| (mem_scope(scope), list.to_string(), email.to_string());
        if !skip_existing && contacts.iter().any(|(e, _)| all.contains_key(&k(e))) {
            return Err(StoreError::AlreadyExists);
        }
        let now = crate::now_ms();
        let mut n = 0;
        for (email, data) in contacts {
            if all.contains_key(&k(email)) {
                continue;
            }
            all.insert(
                k(email),
                ContactRow {
                    contact_list: list.to_string(),
                    email: email.clone(),
                    data: data.clone(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            );
            n += 1;
        }
        Ok(n)
    }
    async fn get_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        let k = (mem_scope(scope), list.to_string(), email.to_string());
        Ok(self.contacts.lock().unwrap().get(&k).cloned())
    }
    async fn update_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<ContactRow, StoreError> {
        let k = (mem_scope(scope), list.to_string(), email.to_string());
        let mut all = self.contacts.lock().unwrap();
        let c = all.get_mut(&k).ok_or(StoreError::NotFound)?;
        if c.version != expected_version {
            return Err(StoreError::Conflict);
        }
        c.data = data.clone();
        c.version += 1;
        c.updated_at = crate::now_ms();
        Ok(c.clone())
    }
    async fn delete_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        let k = (mem_scope(scope), list.to_string(), email.to_string());
        Ok(self.contacts.lock().unwrap().remove(&k).is_some())
    }
    async fn list_contacts(
        &self,
        scope: &Scope,
        list: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError> {
        let (sc, after) = (mem_scope(scope), after.unwrap_or(""));
        Ok(self
            .contacts
            .lock()
            .unwrap()
            .iter()
            .filter(|((s, l, e), _)| *s == sc && l == list && e.as_str() > after)
            .take(limit)
            .map(|(_, c)| c.clone())
            .collect())
    }
}

pub fn scope_in(region: &str) -> Scope {
    Scope::new(
        "123456789012".parse().unwrap(),
        region.parse::<Region>().unwrap(),
    )
}

pub fn scope() -> Scope {
    scope_in("us-east-1")
}

/// An engine over a fresh [`MemStore`]; new accounts start in production.
pub fn engine() -> Engine {
    engine_with(
        Arc::new(MemStore::default()),
        Arc::new(MemBodies::default()),
    )
}

/// An engine over the given in-memory store and spool (tests that inspect them).
pub fn engine_with(store: Arc<MemStore>, bodies: Arc<MemBodies>) -> Engine {
    Engine::new(
        store,
        bodies,
        [7; 32],
        Settings {
            regions: vec!["us-east-1".parse().unwrap(), "eu-west-1".parse().unwrap()],
            partition: "aws".into(),
            service_domain: "sesame.test".into(),
            new_accounts_in_sandbox: false,
            sandbox_max_24h_send: 200.0,
            sandbox_max_send_rate: 1.0,
            production_max_24h_send: 50_000.0,
            production_max_send_rate: 14.0,
            delivery_retry_base_seconds: 60,
            delivery_retry_window_seconds: 50_400,
            outbound_ips: vec![],
            verification: Default::default(),
            tracking: Default::default(),
            sns: Default::default(),
            eventbridge_source: "aws.ses".into(),
            contacts: Default::default(),
        },
    )
}

fn vkey(scope: &Scope, identity: &str) -> (String, String, String) {
    (
        scope.account.as_str().to_string(),
        scope.region.as_str().to_string(),
        identity.to_string(),
    )
}

//! A read-through cache in front of the store for what every authenticated request reads first:
//! access keys and accounts (an SMTP connection re-checks its key for each message).
//!
//! DECISIONS Q-24: no cache older than 1 s. Writes made through this process drop the cached
//! entry at once; writes from other processes (`sesame key delete`, other nodes) become
//! visible within [`TTL`]. Identities, settings and configuration sets are deliberately *not*
//! cached: an operator command such as `sesame identity verify --force` must apply to the very
//! next send. Everything else is passed through.
//!
//! Being the server's front of the store, it can also tell an [`EventObserver`] about every
//! event a write commits (`sesame serve` counts delivery outcomes for `/metrics` this way, so
//! the counters agree with the recorded events and no delivery path has to remember to count).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sesame_model::{
    AcceptOutcome, AccessKeyRecord, AccountId, AccountRecord, CapturedMessage, ContactRow,
    EventRecord, QueuedMessage, QuotaCheck, Resource, ResourceKey, Scope, SendStatsBucket, Store,
    StoreError,
};
use sesame_model::{QueueCursor, QueueEntry, QueueFilter, QueueStats};

/// How long a cached read may be served (Q-24: at most 1 s).
pub const TTL: Duration = Duration::from_secs(1);

/// Cached entries beyond which the cache is simply cleared (bounded memory).
const MAX_ENTRIES: usize = 100_000;

type Entry<T> = (Instant, Option<T>);

#[derive(Default)]
struct Maps {
    keys: HashMap<String, Entry<AccessKeyRecord>>,
    accounts: HashMap<String, Entry<AccountRecord>>,
}

/// Called after a write commits, with the events it recorded (accepted sends, finished and
/// retried messages, appended events). Runs on the writer's task: keep it cheap.
pub type EventObserver = Arc<dyn Fn(&[EventRecord]) + Send + Sync>;

/// Wraps any [`Store`]; see the module docs.
pub struct CachingStore {
    inner: Arc<dyn Store>,
    maps: Mutex<Maps>,
    observer: Option<EventObserver>,
}

fn fresh<T: Clone>(e: Option<&Entry<T>>) -> Option<Option<T>> {
    e.filter(|(at, _)| at.elapsed() < TTL)
        .map(|(_, v)| v.clone())
}

impl CachingStore {
    pub fn new(inner: Arc<dyn Store>) -> CachingStore {
        CachingStore {
            inner,
            maps: Mutex::new(Maps::default()),
            observer: None,
        }
    }

    /// Reports every committed event to `observer` (see [`EventObserver`]).
    pub fn with_event_observer(mut self, observer: EventObserver) -> CachingStore {
        self.observer = Some(observer);
        self
    }

    fn observe_accepted(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        outcomes: &[AcceptOutcome],
    ) {
        if self.observer.is_some() {
            for ((_, _, events), outcome) in batch.iter().zip(outcomes) {
                if *outcome == AcceptOutcome::Accepted {
                    self.observe(events);
                }
            }
        }
    }

    fn observe(&self, events: &[EventRecord]) {
        if let (Some(f), false) = (&self.observer, events.is_empty()) {
            f(events);
        }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps inconsistent (plain inserts).
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Store for CachingStore {
    async fn create_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        self.maps().accounts.remove(account.account_id.as_str());
        self.inner.create_account(account).await
    }
    async fn get_account(&self, id: &AccountId) -> Result<Option<AccountRecord>, StoreError> {
        if let Some(v) = fresh(self.maps().accounts.get(id.as_str())) {
            return Ok(v);
        }
        let v = self.inner.get_account(id).await?;
        let mut m = self.maps();
        if m.accounts.len() > MAX_ENTRIES {
            m.accounts.clear();
        }
        m.accounts
            .insert(id.to_string(), (Instant::now(), v.clone()));
        Ok(v)
    }
    async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.inner.list_accounts().await
    }
    async fn update_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        self.maps().accounts.remove(account.account_id.as_str());
        self.inner.update_account(account).await
    }
    async fn create_access_key(&self, key: &AccessKeyRecord) -> Result<(), StoreError> {
        self.maps().keys.remove(&key.access_key_id);
        self.inner.create_access_key(key).await
    }
    async fn get_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        if let Some(v) = fresh(self.maps().keys.get(id)) {
            return Ok(v);
        }
        let v = self.inner.get_access_key(id).await?;
        let mut m = self.maps();
        if m.keys.len() > MAX_ENTRIES {
            m.keys.clear();
        }
        m.keys.insert(id.to_string(), (Instant::now(), v.clone()));
        Ok(v)
    }
    async fn list_access_keys(
        &self,
        account: &AccountId,
    ) -> Result<Vec<AccessKeyRecord>, StoreError> {
        self.inner.list_access_keys(account).await
    }
    async fn delete_access_key(&self, account: &AccountId, id: &str) -> Result<bool, StoreError> {
        self.maps().keys.remove(id);
        self.inner.delete_access_key(account, id).await
    }

    async fn insert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        self.inner.insert_resource(key, data).await
    }
    async fn get_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError> {
        self.inner.get_resource(key).await
    }
    async fn get_resources_named(
        &self,
        scope: &Scope,
        kind: &str,
        names: &[String],
    ) -> Result<Vec<Resource>, StoreError> {
        self.inner.get_resources_named(scope, kind, names).await
    }
    async fn update_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<Resource, StoreError> {
        self.inner
            .update_resource(key, data, expected_version)
            .await
    }
    async fn upsert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        self.inner.upsert_resource(key, data).await
    }
    async fn delete_resource(&self, key: &ResourceKey) -> Result<bool, StoreError> {
        self.inner.delete_resource(key).await
    }
    async fn delete_resources_by_prefix(
        &self,
        scope: &Scope,
        kind: &str,
        prefix: &str,
    ) -> Result<u64, StoreError> {
        self.inner
            .delete_resources_by_prefix(scope, kind, prefix)
            .await
    }
    async fn list_resources(
        &self,
        scope: &Scope,
        kind: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.inner
            .list_resources(scope, kind, prefix, after, limit)
            .await
    }
    async fn find_dkim_selector(
        &self,
        token: &str,
    ) -> Result<Option<sesame_model::DkimSelector>, StoreError> {
        self.inner.find_dkim_selector(token).await
    }
    async fn get_operator_dkim_key(
        &self,
        selector: &str,
    ) -> Result<Option<sesame_model::OperatorDkimKey>, StoreError> {
        self.inner.get_operator_dkim_key(selector).await
    }
    async fn insert_operator_dkim_key(
        &self,
        key: &sesame_model::OperatorDkimKey,
    ) -> Result<sesame_model::OperatorDkimKey, StoreError> {
        self.inner.insert_operator_dkim_key(key).await
    }
    async fn count_resources(&self, scope: &Scope, kind: &str) -> Result<u64, StoreError> {
        self.inner.count_resources(scope, kind).await
    }

    async fn accept_messages(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        let outcomes = self.inner.accept_messages(batch, now_ms).await?;
        self.observe_accepted(batch, &outcomes);
        Ok(outcomes)
    }

    async fn accept_messages_with_bodies(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        bodies: Vec<Vec<u8>>,
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        let outcomes = self
            .inner
            .accept_messages_with_bodies(batch, bodies, now_ms)
            .await?;
        self.observe_accepted(batch, &outcomes);
        Ok(outcomes)
    }
    async fn sent_last_24h(&self, scope: &Scope, now_ms: i64) -> Result<f64, StoreError> {
        self.inner.sent_last_24h(scope, now_ms).await
    }
    async fn claim_messages(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedMessage>, StoreError> {
        self.inner
            .claim_messages(node, now_ms, lease_ms, limit)
            .await
    }
    async fn release_leases(&self, node: &str) -> Result<u64, StoreError> {
        self.inner.release_leases(node).await
    }
    async fn finish_message(
        &self,
        node: &str,
        id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        self.inner.finish_message(node, id, events).await?;
        self.observe(events);
        Ok(())
    }
    async fn retry_message(
        &self,
        node: &str,
        id: &str,
        recipients: &[String],
        next_attempt_at: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        self.inner
            .retry_message(node, id, recipients, next_attempt_at, events)
            .await?;
        self.observe(events);
        Ok(())
    }
    async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.inner.queue_depth().await
    }
    // --- queue operations: pass-through (operator views must never be stale) ---
    async fn list_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        limit: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        self.inner.list_queue(filter, after, limit).await
    }
    async fn get_queued(&self, message_id: &str) -> Result<Option<QueueEntry>, StoreError> {
        self.inner.get_queued(message_id).await
    }
    async fn retry_queued_now(
        &self,
        message_id: Option<&str>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        self.inner.retry_queued_now(message_id, now_ms).await
    }
    async fn delete_queued(
        &self,
        message_id: &str,
        force: bool,
        now_ms: i64,
    ) -> Result<QueueEntry, StoreError> {
        self.inner.delete_queued(message_id, force, now_ms).await
    }
    async fn queue_tombstones(
        &self,
        created_before: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.queue_tombstones(created_before, limit).await
    }
    async fn clear_queue_tombstones(&self, message_ids: &[String]) -> Result<u64, StoreError> {
        self.inner.clear_queue_tombstones(message_ids).await
    }
    async fn queue_stats(&self, now_ms: i64) -> Result<QueueStats, StoreError> {
        self.inner.queue_stats(now_ms).await
    }
    async fn append_events(&self, events: &[EventRecord]) -> Result<(), StoreError> {
        self.inner.append_events(events).await?;
        self.observe(events);
        Ok(())
    }
    async fn claim_event_dispatch(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<sesame_model::DispatchItem>, StoreError> {
        self.inner
            .claim_event_dispatch(node, now_ms, lease_ms, limit)
            .await
    }

    async fn finish_event_dispatch(&self, node: &str, seqs: &[i64]) -> Result<u64, StoreError> {
        self.inner.finish_event_dispatch(node, seqs).await
    }

    async fn retry_event_dispatch(
        &self,
        node: &str,
        seq: i64,
        due_at: i64,
    ) -> Result<bool, StoreError> {
        self.inner.retry_event_dispatch(node, seq, due_at).await
    }

    async fn message_events(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<Vec<EventRecord>, StoreError> {
        self.inner.message_events(scope, id).await
    }
    async fn send_statistics(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<SendStatsBucket>, StoreError> {
        self.inner.send_statistics(scope, since_ms).await
    }
    async fn reputation_buckets(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<sesame_model::ReputationBucket>, StoreError> {
        self.inner.reputation_buckets(scope, since_ms).await
    }
    async fn prune_statistics(&self, stats: i64, reputation: i64) -> Result<u64, StoreError> {
        self.inner.prune_statistics(stats, reputation).await
    }
    async fn capture_message(&self, m: &CapturedMessage) -> Result<(), StoreError> {
        self.inner.capture_message(m).await
    }
    async fn captured_messages(
        &self,
        scope: Option<&Scope>,
        id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CapturedMessage>, StoreError> {
        self.inner.captured_messages(scope, id, limit).await
    }
    async fn delete_captured(&self, message_id: Option<&str>) -> Result<u64, StoreError> {
        self.inner.delete_captured(message_id).await
    }
    async fn add_ip_sends(
        &self,
        scope: &Scope,
        ip: &str,
        day: i64,
        count: u64,
        limit: u64,
    ) -> Result<bool, StoreError> {
        self.inner.add_ip_sends(scope, ip, day, count, limit).await
    }
    async fn ip_sends(&self, scope: &Scope, ip: &str, day: i64) -> Result<u64, StoreError> {
        self.inner.ip_sends(scope, ip, day).await
    }
    async fn add_pool_usage(
        &self,
        scope: &Scope,
        usage: &sesame_model::PoolUsage,
        sent_limit: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.inner.add_pool_usage(scope, usage, sent_limit).await
    }
    async fn pool_usage(
        &self,
        scope: &Scope,
        pool: &str,
        isp: Option<&str>,
        since_hour: i64,
    ) -> Result<Vec<sesame_model::PoolUsage>, StoreError> {
        self.inner.pool_usage(scope, pool, isp, since_hour).await
    }
    async fn delete_pool_usage(&self, scope: &Scope, pool: &str) -> Result<u64, StoreError> {
        self.inner.delete_pool_usage(scope, pool).await
    }
    async fn prune_pool_usage(&self, before_hour: i64) -> Result<u64, StoreError> {
        self.inner.prune_pool_usage(before_hour).await
    }

    // --- sent-message log: never cached (a message moves from the queue to the log) ---
    async fn find_message(
        &self,
        message_id: &str,
    ) -> Result<Option<(QueuedMessage, bool)>, StoreError> {
        self.inner.find_message(message_id).await
    }
    async fn prune_message_log(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        self.inner.prune_message_log(older_than_ms).await
    }
    async fn schedule_verification(
        &self,
        scope: &Scope,
        identity: &str,
        due_at: i64,
        only_if_absent: bool,
    ) -> Result<(), StoreError> {
        self.inner
            .schedule_verification(scope, identity, due_at, only_if_absent)
            .await
    }
    async fn verification_due(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.inner.verification_due(scope, identity).await
    }
    async fn claim_verifications(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>, StoreError> {
        self.inner
            .claim_verifications(node, now_ms, lease_ms, limit)
            .await
    }
    async fn claim_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        self.inner
            .claim_verification(node, scope, identity, now_ms, lease_ms)
            .await
    }
    async fn finish_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        next_due: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.inner
            .finish_verification(node, scope, identity, next_due)
            .await
    }
    async fn delete_verification(&self, scope: &Scope, identity: &str) -> Result<bool, StoreError> {
        self.inner.delete_verification(scope, identity).await
    }
    async fn insert_contacts(
        &self,
        scope: &Scope,
        list: &str,
        contacts: &[(String, serde_json::Value)],
        skip_existing: bool,
    ) -> Result<u64, StoreError> {
        self.inner
            .insert_contacts(scope, list, contacts, skip_existing)
            .await
    }
    async fn get_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        self.inner.get_contact(scope, list, email).await
    }
    async fn update_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<ContactRow, StoreError> {
        self.inner
            .update_contact(scope, list, email, data, expected_version)
            .await
    }
    async fn delete_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        self.inner.delete_contact(scope, list, email).await
    }
    async fn list_contacts(
        &self,
        scope: &Scope,
        list: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError> {
        self.inner.list_contacts(scope, list, after, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> AccessKeyRecord {
        AccessKeyRecord {
            access_key_id: id.into(),
            account_id: "123456789012".parse().unwrap(),
            user_name: "root".into(),
            secret_ciphertext: vec![1, 2, 3],
            status: "Active".into(),
            created_at: 0,
        }
    }

    /// a key deleted through another handle stays visible at most TTL; a delete through
    /// the cache itself applies at once.
    #[tokio::test]
    async fn key_reads_are_cached_and_own_deletes_apply_at_once() {
        let store = sesame_store::SqlStore::connect("sqlite::memory:")
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let inner: Arc<dyn Store> = Arc::new(store);
        let cache = CachingStore::new(inner.clone());
        let account = AccountRecord {
            account_id: "123456789012".parse().unwrap(),
            name: None,
            created_at: 0,
            status: "Active".into(),
        };
        inner.create_account(&account).await.unwrap();
        inner
            .create_access_key(&key("AKIAAAAAAAAAAAAAAAAA"))
            .await
            .unwrap();
        assert!(cache
            .get_access_key("AKIAAAAAAAAAAAAAAAAA")
            .await
            .unwrap()
            .is_some());
        // Deleted behind the cache's back: still served from the cache (within TTL).
        inner
            .delete_access_key(&account.account_id, "AKIAAAAAAAAAAAAAAAAA")
            .await
            .unwrap();
        assert!(cache
            .get_access_key("AKIAAAAAAAAAAAAAAAAA")
            .await
            .unwrap()
            .is_some());
        // Through the cache: gone immediately.
        cache
            .delete_access_key(&account.account_id, "AKIAAAAAAAAAAAAAAAAA")
            .await
            .unwrap();
        assert!(cache
            .get_access_key("AKIAAAAAAAAAAAAAAAAA")
            .await
            .unwrap()
            .is_none());
    }

    /// The observer sees exactly the events of committed writes, once, in order; refused
    /// writes and quota-refused sends report nothing.
    #[tokio::test]
    async fn observer_sees_the_events_of_committed_writes_only() {
        let store = sesame_store::SqlStore::connect("sqlite::memory:")
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let cache = CachingStore::new(Arc::new(store)).with_event_observer(Arc::new(
            move |events: &[EventRecord]| {
                log.lock()
                    .unwrap()
                    .extend(events.iter().map(|e| e.event_id.clone()));
            },
        ));
        let scope = Scope::new(
            "123456789012".parse().unwrap(),
            "us-east-1".parse().unwrap(),
        );
        let ev = |id: &str, msg: &str| EventRecord {
            event_id: id.into(),
            scope: scope.clone(),
            message_id: msg.into(),
            event_type: "Send".into(),
            timestamp: 0,
            data: serde_json::json!({}),
        };
        let msg = |id: &str| QueuedMessage {
            message_id: id.into(),
            scope: scope.clone(),
            mail_from: String::new(),
            recipients: vec!["r@example.net".into()],
            meta: serde_json::json!({}),
            created_at: 0,
            next_attempt_at: 0,
            attempts: 0,
        };
        let quota = |max_24h_send: f64| QuotaCheck {
            counted_recipients: 1,
            rate_tokens: 1,
            max_24h_send,
            max_send_rate: 1e9,
            burst: 1e9,
        };
        let out = cache
            .accept_messages(
                &[
                    (msg("m1"), quota(-1.0), vec![ev("send-1", "m1")]),
                    (msg("m2"), quota(0.0), vec![ev("send-2", "m2")]),
                ],
                0,
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            vec![AcceptOutcome::Accepted, AcceptOutcome::DailyQuotaExceeded]
        );
        cache.claim_messages("n", 0, 60_000, 1).await.unwrap();
        cache
            .retry_message(
                "n",
                "m1",
                &["r@example.net".into()],
                0,
                &[ev("delay", "m1")],
            )
            .await
            .unwrap();
        cache.claim_messages("n", 0, 60_000, 1).await.unwrap();
        assert_eq!(
            cache
                .finish_message("other", "m1", &[ev("refused", "m1")])
                .await,
            Err(StoreError::Conflict)
        );
        cache
            .finish_message("n", "m1", &[ev("delivery", "m1")])
            .await
            .unwrap();
        cache.append_events(&[ev("late", "m1")]).await.unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["send-1", "delay", "delivery", "late"]
        );
    }
}

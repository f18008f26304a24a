//! A read-through cache in front of the store for the documents every send reads (identities,
//! account settings, configuration sets, access keys, accounts).
//!
//! DECISIONS Q-24: changes apply to the next request, with no cache older than 1 s. Writes made
//! through this process update or drop the cached entry at once; writes from other processes
//! (CLI, other nodes) become visible within [`TTL`]. A compare-and-set that fails with
//! `Conflict` drops the entry, so read-modify-write loops re-read the database.
//! Queue, quota and event methods are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sesame_model::{
    AcceptOutcome, AccessKeyRecord, AccountId, AccountRecord, CapturedMessage, EventRecord,
    QueuedMessage, QuotaCheck, Resource, ResourceKey, Scope, SendStatsBucket, Store, StoreError,
};

/// How long a cached read may be served (Q-24: at most 1 s).
pub const TTL: Duration = Duration::from_secs(1);

/// Cached entries beyond which the cache is simply cleared (bounded memory).
const MAX_ENTRIES: usize = 100_000;

type Entry<T> = (Instant, Option<T>);

#[derive(Default)]
struct Maps {
    resources: HashMap<(String, String, String, String), Entry<Resource>>,
    keys: HashMap<String, Entry<AccessKeyRecord>>,
    accounts: HashMap<String, Entry<AccountRecord>>,
}

/// Wraps any [`Store`]; see the module docs.
pub struct CachingStore {
    inner: Arc<dyn Store>,
    maps: Mutex<Maps>,
}

fn rkey(k: &ResourceKey) -> (String, String, String, String) {
    (
        k.scope.account.to_string(),
        k.scope.region.to_string(),
        k.kind.clone(),
        k.name.clone(),
    )
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
        }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        // A panic while holding the lock cannot leave the maps inconsistent (plain inserts).
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put_resource(&self, k: &ResourceKey, v: Option<Resource>) {
        let mut m = self.maps();
        if m.resources.len() > MAX_ENTRIES {
            m.resources.clear();
        }
        m.resources.insert(rkey(k), (Instant::now(), v));
    }

    fn drop_resource(&self, k: &ResourceKey) {
        self.maps().resources.remove(&rkey(k));
    }

    fn drop_scope_kind(&self, scope: &Scope, kind: &str) {
        let (a, r) = (scope.account.to_string(), scope.region.to_string());
        self.maps()
            .resources
            .retain(|(ka, kr, kk, _), _| !(ka == &a && kr == &r && kk == kind));
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
        self.maps()
            .accounts
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
        self.maps()
            .keys
            .insert(id.to_string(), (Instant::now(), v.clone()));
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
        let r = self.inner.insert_resource(key, data).await;
        match &r {
            Ok(res) => self.put_resource(key, Some(res.clone())),
            Err(_) => self.drop_resource(key),
        }
        r
    }
    async fn get_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError> {
        if let Some(v) = fresh(self.maps().resources.get(&rkey(key))) {
            return Ok(v);
        }
        let v = self.inner.get_resource(key).await?;
        self.put_resource(key, v.clone());
        Ok(v)
    }
    async fn update_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<Resource, StoreError> {
        let r = self
            .inner
            .update_resource(key, data, expected_version)
            .await;
        match &r {
            Ok(res) => self.put_resource(key, Some(res.clone())),
            Err(_) => self.drop_resource(key),
        }
        r
    }
    async fn upsert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        let r = self.inner.upsert_resource(key, data).await;
        match &r {
            Ok(res) => self.put_resource(key, Some(res.clone())),
            Err(_) => self.drop_resource(key),
        }
        r
    }
    async fn delete_resource(&self, key: &ResourceKey) -> Result<bool, StoreError> {
        let r = self.inner.delete_resource(key).await;
        self.drop_resource(key);
        r
    }
    async fn delete_resources_by_prefix(
        &self,
        scope: &Scope,
        kind: &str,
        prefix: &str,
    ) -> Result<u64, StoreError> {
        let r = self
            .inner
            .delete_resources_by_prefix(scope, kind, prefix)
            .await;
        self.drop_scope_kind(scope, kind);
        r
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
    async fn count_resources(&self, scope: &Scope, kind: &str) -> Result<u64, StoreError> {
        self.inner.count_resources(scope, kind).await
    }

    async fn accept_messages(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        self.inner.accept_messages(batch, now_ms).await
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
    async fn finish_message(
        &self,
        node: &str,
        id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        self.inner.finish_message(node, id, events).await
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
            .await
    }
    async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.inner.queue_depth().await
    }
    async fn append_events(&self, events: &[EventRecord]) -> Result<(), StoreError> {
        self.inner.append_events(events).await
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
}

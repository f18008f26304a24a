//! The [`Store`] port, delegating to the per-table query files.

use async_trait::async_trait;
use sesame_model::{
    AcceptOutcome, AccessKeyRecord, AccountId, AccountRecord, CapturedMessage, ContactRow,
    DkimSelector, EventRecord, OperatorDkimKey, QueuedMessage, QuotaCheck, ReputationBucket,
    Resource, ResourceKey, Scope, SendStatsBucket, Store, StoreError,
};
use sesame_model::{QueueCursor, QueueEntry, QueueFilter, QueueStats};

use crate::SqlStore;

#[async_trait]
impl Store for SqlStore {
    async fn create_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        self.create_account_row(account).await
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<AccountRecord>, StoreError> {
        self.get_account_row(id).await
    }

    async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.list_account_rows().await
    }

    async fn update_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        self.update_account_row(account).await
    }

    async fn create_access_key(&self, key: &AccessKeyRecord) -> Result<(), StoreError> {
        self.create_key_row(key).await
    }

    async fn get_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, StoreError> {
        self.get_key_row(access_key_id).await
    }

    async fn list_access_keys(
        &self,
        account: &AccountId,
    ) -> Result<Vec<AccessKeyRecord>, StoreError> {
        self.list_key_rows(account).await
    }

    async fn delete_access_key(
        &self,
        account: &AccountId,
        access_key_id: &str,
    ) -> Result<bool, StoreError> {
        self.delete_key_row(account, access_key_id).await
    }

    async fn insert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        self.insert_resource_row(key, data).await
    }

    async fn get_resource(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError> {
        self.get_resource_row(key).await
    }

    async fn get_resources_named(
        &self,
        scope: &Scope,
        kind: &str,
        names: &[String],
    ) -> Result<Vec<Resource>, StoreError> {
        self.get_resources_named_rows(scope, kind, names).await
    }

    async fn update_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<Resource, StoreError> {
        self.update_resource_row(key, data, expected_version).await
    }

    async fn upsert_resource(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        self.upsert_resource_row(key, data).await
    }

    async fn delete_resource(&self, key: &ResourceKey) -> Result<bool, StoreError> {
        self.delete_resource_row(key).await
    }

    async fn delete_resources_by_prefix(
        &self,
        scope: &Scope,
        kind: &str,
        name_prefix: &str,
    ) -> Result<u64, StoreError> {
        self.delete_resource_rows_by_prefix(scope, kind, name_prefix)
            .await
    }

    async fn list_resources(
        &self,
        scope: &Scope,
        kind: &str,
        name_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.list_resource_rows(scope, kind, name_prefix, after, limit)
            .await
    }

    async fn count_resources(&self, scope: &Scope, kind: &str) -> Result<u64, StoreError> {
        self.count_resource_rows(scope, kind).await
    }

    async fn find_dkim_selector(&self, token: &str) -> Result<Option<DkimSelector>, StoreError> {
        self.find_dkim_selector_row(token).await
    }

    async fn get_operator_dkim_key(
        &self,
        selector: &str,
    ) -> Result<Option<OperatorDkimKey>, StoreError> {
        self.get_operator_dkim_key_row(selector).await
    }

    async fn insert_operator_dkim_key(
        &self,
        key: &OperatorDkimKey,
    ) -> Result<OperatorDkimKey, StoreError> {
        self.insert_operator_dkim_key_row(key).await
    }

    async fn accept_messages(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        self.accept_grouped(batch, Vec::new(), now_ms).await
    }

    async fn accept_messages_with_bodies(
        &self,
        batch: &[(QueuedMessage, QuotaCheck, Vec<EventRecord>)],
        bodies: Vec<Vec<u8>>,
        now_ms: i64,
    ) -> Result<Vec<AcceptOutcome>, StoreError> {
        self.accept_grouped(batch, bodies, now_ms).await
    }

    async fn sent_last_24h(&self, scope: &Scope, now_ms: i64) -> Result<f64, StoreError> {
        self.sent_last_24h_rows(scope, now_ms).await
    }

    async fn claim_messages(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedMessage>, StoreError> {
        self.claim_rows(node, now_ms, lease_ms, limit).await
    }

    async fn release_leases(&self, node: &str) -> Result<u64, StoreError> {
        self.release_lease_rows(node).await
    }

    async fn finish_message(
        &self,
        node: &str,
        message_id: &str,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        self.finish_grouped(node, message_id, events).await
    }

    async fn retry_message(
        &self,
        node: &str,
        message_id: &str,
        recipients: &[String],
        next_attempt_at: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        self.retry_row(node, message_id, recipients, next_attempt_at, events)
            .await
    }

    async fn queue_depth(&self) -> Result<u64, StoreError> {
        self.queue_depth_rows().await
    }

    // --- queue operations (queue_ops.rs) ---
    async fn list_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        limit: usize,
    ) -> Result<Vec<QueueEntry>, StoreError> {
        self.list_queue_rows(filter, after, limit).await
    }

    async fn get_queued(&self, message_id: &str) -> Result<Option<QueueEntry>, StoreError> {
        self.get_queued_row(message_id).await
    }

    async fn retry_queued_now(
        &self,
        message_id: Option<&str>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        self.retry_queued_now_rows(message_id, now_ms).await
    }

    async fn delete_queued(
        &self,
        message_id: &str,
        force: bool,
        now_ms: i64,
    ) -> Result<QueueEntry, StoreError> {
        self.delete_queued_row(message_id, force, now_ms).await
    }

    async fn queue_tombstones(
        &self,
        created_before: i64,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.queue_tombstone_rows(created_before, limit).await
    }

    async fn clear_queue_tombstones(&self, message_ids: &[String]) -> Result<u64, StoreError> {
        self.clear_queue_tombstone_rows(message_ids).await
    }

    async fn queue_stats(&self, now_ms: i64) -> Result<QueueStats, StoreError> {
        self.queue_stats_rows(now_ms).await
    }

    async fn append_events(&self, events: &[EventRecord]) -> Result<(), StoreError> {
        self.append_event_rows(events).await
    }

    async fn message_events(
        &self,
        scope: &Scope,
        message_id: &str,
    ) -> Result<Vec<EventRecord>, StoreError> {
        self.message_event_rows(scope, message_id).await
    }

    async fn send_statistics(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<SendStatsBucket>, StoreError> {
        self.send_statistics_rows(scope, since_ms).await
    }

    async fn reputation_buckets(
        &self,
        scope: &Scope,
        since_ms: i64,
    ) -> Result<Vec<ReputationBucket>, StoreError> {
        self.reputation_rows(scope, since_ms).await
    }

    async fn prune_statistics(
        &self,
        stats_before_ms: i64,
        reputation_before_ms: i64,
    ) -> Result<u64, StoreError> {
        self.prune_statistics_rows(stats_before_ms, reputation_before_ms)
            .await
    }

    async fn capture_message(&self, message: &CapturedMessage) -> Result<(), StoreError> {
        self.capture_row(message).await
    }

    async fn captured_messages(
        &self,
        scope: Option<&Scope>,
        message_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CapturedMessage>, StoreError> {
        self.captured_rows(scope, message_id, limit).await
    }

    async fn delete_captured(&self, message_id: Option<&str>) -> Result<u64, StoreError> {
        self.delete_captured_rows(message_id).await
    }

    async fn add_ip_sends(
        &self,
        scope: &Scope,
        ip: &str,
        day: i64,
        count: u64,
        limit: u64,
    ) -> Result<bool, StoreError> {
        self.add_ip_sends_row(scope, ip, day, count, limit).await
    }

    async fn ip_sends(&self, scope: &Scope, ip: &str, day: i64) -> Result<u64, StoreError> {
        self.ip_sends_row(scope, ip, day).await
    }

    async fn add_pool_usage(
        &self,
        scope: &Scope,
        usage: &sesame_model::PoolUsage,
        sent_limit: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.add_pool_usage_row(scope, usage, sent_limit).await
    }

    async fn pool_usage(
        &self,
        scope: &Scope,
        pool: &str,
        isp: Option<&str>,
        since_hour: i64,
    ) -> Result<Vec<sesame_model::PoolUsage>, StoreError> {
        self.pool_usage_rows(scope, pool, isp, since_hour).await
    }

    async fn delete_pool_usage(&self, scope: &Scope, pool: &str) -> Result<u64, StoreError> {
        self.delete_pool_usage_rows(scope, pool).await
    }

    async fn prune_pool_usage(&self, before_hour: i64) -> Result<u64, StoreError> {
        self.prune_pool_usage_rows(before_hour).await
    }

    async fn find_message(
        &self,
        message_id: &str,
    ) -> Result<Option<(QueuedMessage, bool)>, StoreError> {
        self.find_message_row(message_id).await
    }

    async fn prune_message_log(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        self.prune_message_log_rows(older_than_ms).await
    }

    async fn schedule_verification(
        &self,
        scope: &Scope,
        identity: &str,
        due_at: i64,
        only_if_absent: bool,
    ) -> Result<(), StoreError> {
        self.schedule_verification_row(scope, identity, due_at, only_if_absent)
            .await
    }

    async fn verification_due(
        &self,
        scope: &Scope,
        identity: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.verification_due_row(scope, identity).await
    }

    async fn claim_event_dispatch(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<sesame_model::DispatchItem>, StoreError> {
        self.claim_event_dispatch_rows(node, now_ms, lease_ms, limit)
            .await
    }

    async fn finish_event_dispatch(&self, node: &str, seqs: &[i64]) -> Result<u64, StoreError> {
        self.finish_event_dispatch_rows(node, seqs).await
    }

    async fn retry_event_dispatch(
        &self,
        node: &str,
        seq: i64,
        due_at: i64,
    ) -> Result<bool, StoreError> {
        self.retry_event_dispatch_row(node, seq, due_at).await
    }

    async fn claim_verifications(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Scope, String)>, StoreError> {
        self.claim_verification_rows(node, now_ms, lease_ms, limit)
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
        self.claim_verification_row(node, scope, identity, now_ms, lease_ms)
            .await
    }

    async fn finish_verification(
        &self,
        node: &str,
        scope: &Scope,
        identity: &str,
        next_due: Option<i64>,
    ) -> Result<bool, StoreError> {
        self.finish_verification_row(node, scope, identity, next_due)
            .await
    }

    async fn delete_verification(&self, scope: &Scope, identity: &str) -> Result<bool, StoreError> {
        self.delete_verification_row(scope, identity).await
    }

    async fn insert_contacts(
        &self,
        scope: &Scope,
        list: &str,
        contacts: &[(String, serde_json::Value)],
        skip_existing: bool,
    ) -> Result<u64, StoreError> {
        self.insert_contact_rows(scope, list, contacts, skip_existing)
            .await
    }

    async fn get_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        self.get_contact_row(scope, list, email).await
    }

    async fn update_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<ContactRow, StoreError> {
        self.update_contact_row(scope, list, email, data, expected_version)
            .await
    }

    async fn delete_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        self.delete_contact_row(scope, list, email).await
    }

    async fn list_contacts(
        &self,
        scope: &Scope,
        list: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError> {
        self.list_contact_rows(scope, list, after, limit).await
    }
}

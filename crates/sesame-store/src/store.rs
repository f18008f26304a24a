//! The [`Store`] port, delegating to the per-table query files.

use async_trait::async_trait;
use sesame_model::{
    AccessKeyRecord, AccountId, AccountRecord, Resource, ResourceKey, Scope, Store, StoreError,
};

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
}

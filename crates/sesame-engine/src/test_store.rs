//! Test-only in-memory `Store` (resources only; account and key methods are not needed by the
//! engine tests that use it), so engine rules are unit-tested without a database.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sesame_model::{
    AccessKeyRecord, AccountId, AccountRecord, Region, Resource, ResourceKey, Scope, Store,
    StoreError,
};

use crate::{Engine, Settings};

type Key = (String, String, String, String);

#[derive(Default)]
pub struct MemStore {
    rows: Mutex<BTreeMap<Key, Resource>>,
}

fn key(k: &ResourceKey) -> Key {
    (
        k.scope.account.as_str().to_string(),
        k.scope.region.as_str().to_string(),
        k.kind.clone(),
        k.name.clone(),
    )
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
    async fn count_resources(&self, scope: &Scope, kind: &str) -> Result<u64, StoreError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .keys()
            .filter(|(a, r, k, _)| {
                a == scope.account.as_str() && r == scope.region.as_str() && k == kind
            })
            .count() as u64)
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
    Engine::new(
        Arc::new(MemStore::default()),
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
        },
    )
}

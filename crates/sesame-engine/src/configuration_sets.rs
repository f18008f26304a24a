//! Configuration sets and their event destinations (spec E-93..E-125).
//!
//! Option groups are stored in their SES v2 wire form (`DeliveryOptions`, `TrackingOptions`, …)
//! because they are configuration passed through to later stages; v1 handlers translate.

use serde::{Deserialize, Serialize};
use sesame_model::{ResourceKey, Scope};

use crate::records::{kind, Tag};
use crate::{now_ms, Engine, EngineError};

/// Configuration sets per (account, region) (spec E, SES default quota).
pub const MAX_CONFIGURATION_SETS: u64 = 10_000;
/// Event destinations per configuration set (E-120).
pub const MAX_EVENT_DESTINATIONS: usize = 10;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigurationSetRecord {
    pub name: String,
    pub created_at: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// v2 wire objects, `None` when never set.
    #[serde(default)]
    pub delivery_options: Option<serde_json::Value>,
    #[serde(default)]
    pub reputation_options: Option<serde_json::Value>,
    #[serde(default)]
    pub sending_options: Option<serde_json::Value>,
    #[serde(default)]
    pub suppression_options: Option<serde_json::Value>,
    #[serde(default)]
    pub tracking_options: Option<serde_json::Value>,
    #[serde(default)]
    pub vdm_options: Option<serde_json::Value>,
    #[serde(default)]
    pub archiving_options: Option<serde_json::Value>,
}

/// E-96: up to 64 characters, letters, digits, `-` and `_`.
pub fn validate_configuration_set_name(name: &str) -> Result<(), EngineError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(EngineError::BadRequest(format!(
            "Invalid configuration set name <{name}>: only letters, digits, '-' and '_' are allowed, at most 64 characters."
        )));
    }
    Ok(())
}

/// Event destination names: `[A-Za-z0-9_-]{1,64}`.
pub fn validate_event_destination_name(name: &str) -> Result<(), EngineError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(EngineError::BadRequest(format!(
            "Invalid event destination name <{name}>: only letters, digits, '-' and '_' are allowed, at most 64 characters."
        )));
    }
    Ok(())
}

fn not_found(name: &str) -> EngineError {
    EngineError::NotFound(format!("Configuration set <{name}> does not exist."))
}

impl Engine {
    fn set_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::CONFIGURATION_SET, name)
    }

    pub async fn create_configuration_set(
        &self,
        scope: &Scope,
        rec: ConfigurationSetRecord,
    ) -> Result<(), EngineError> {
        validate_configuration_set_name(&rec.name)?;
        crate::tags::validate_tags(&rec.tags)?;
        if self
            .store
            .count_resources(scope, kind::CONFIGURATION_SET)
            .await?
            >= MAX_CONFIGURATION_SETS
        {
            return Err(EngineError::LimitExceeded(
                "Maximum number of configuration sets reached.".into(),
            ));
        }
        let data = serde_json::to_value(&rec).expect("record serialises");
        self.store
            .insert_resource(&Self::set_key(scope, &rec.name), &data)
            .await
            .map_err(|e| match e {
                sesame_model::StoreError::AlreadyExists => EngineError::AlreadyExists(format!(
                    "Configuration set <{}> already exists.",
                    rec.name
                )),
                other => other.into(),
            })?;
        Ok(())
    }

    pub fn new_configuration_set(name: &str) -> ConfigurationSetRecord {
        ConfigurationSetRecord {
            name: name.to_string(),
            created_at: now_ms(),
            tags: vec![],
            delivery_options: None,
            reputation_options: None,
            sending_options: None,
            suppression_options: None,
            tracking_options: None,
            vdm_options: None,
            archiving_options: None,
        }
    }

    pub async fn get_configuration_set(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<ConfigurationSetRecord>, EngineError> {
        match self.store.get_resource(&Self::set_key(scope, name)).await? {
            Some(r) => Ok(Some(serde_json::from_value(r.data).map_err(|e| {
                EngineError::Internal(format!("corrupt configuration set: {e}"))
            })?)),
            None => Ok(None),
        }
    }

    pub async fn require_configuration_set(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<ConfigurationSetRecord, EngineError> {
        self.get_configuration_set(scope, name)
            .await?
            .ok_or_else(|| not_found(name))
    }

    pub async fn update_configuration_set<F>(
        &self,
        scope: &Scope,
        name: &str,
        mut f: F,
    ) -> Result<ConfigurationSetRecord, EngineError>
    where
        F: FnMut(&mut ConfigurationSetRecord) -> Result<(), EngineError> + Send,
    {
        let key = Self::set_key(scope, name);
        loop {
            let r = self
                .store
                .get_resource(&key)
                .await?
                .ok_or_else(|| not_found(name))?;
            let mut rec: ConfigurationSetRecord = serde_json::from_value(r.data)
                .map_err(|e| EngineError::Internal(format!("corrupt configuration set: {e}")))?;
            f(&mut rec)?;
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return Ok(rec),
                Err(sesame_model::StoreError::Conflict) => continue,
                Err(sesame_model::StoreError::NotFound) => return Err(not_found(name)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Deletes the set and its event destinations (Q-272: identities keep the name).
    pub async fn delete_configuration_set(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<(), EngineError> {
        if !self
            .store
            .delete_resource(&Self::set_key(scope, name))
            .await?
        {
            return Err(not_found(name));
        }
        self.store
            .delete_resources_by_prefix(scope, kind::EVENT_DESTINATION, &format!("{name}/"))
            .await?;
        Ok(())
    }

    pub async fn list_configuration_sets(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), EngineError> {
        let rows = self
            .store
            .list_resources(scope, kind::CONFIGURATION_SET, "", after, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let names: Vec<String> = rows.into_iter().take(limit).map(|r| r.key.name).collect();
        let next = if more { names.last().cloned() } else { None };
        Ok((names, next))
    }

    fn destination_key(scope: &Scope, set: &str, dest: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::EVENT_DESTINATION, &format!("{set}/{dest}"))
    }

    /// Event destinations of a set, as stored v2 `EventDestination` objects (with `Name`).
    pub async fn list_event_destinations(
        &self,
        scope: &Scope,
        set: &str,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
        self.require_configuration_set(scope, set).await?;
        let rows = self
            .store
            .list_resources(
                scope,
                kind::EVENT_DESTINATION,
                &format!("{set}/"),
                None,
                1000,
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.data).collect())
    }

    /// Creates an event destination (v2 wire object, `Name` set).
    pub async fn create_event_destination(
        &self,
        scope: &Scope,
        set: &str,
        name: &str,
        dest: serde_json::Value,
    ) -> Result<(), EngineError> {
        validate_event_destination_name(name)?;
        let existing = self.list_event_destinations(scope, set).await?;
        if existing.len() >= MAX_EVENT_DESTINATIONS {
            return Err(EngineError::LimitExceeded(format!(
                "A configuration set can have at most {MAX_EVENT_DESTINATIONS} event destinations."
            )));
        }
        self.store
            .insert_resource(&Self::destination_key(scope, set, name), &dest)
            .await
            .map_err(|e| match e {
                sesame_model::StoreError::AlreadyExists => EngineError::AlreadyExists(format!(
                    "Event destination {name} already exists in configuration set <{set}>."
                )),
                other => other.into(),
            })?;
        Ok(())
    }

    pub async fn update_event_destination(
        &self,
        scope: &Scope,
        set: &str,
        name: &str,
        dest: serde_json::Value,
    ) -> Result<(), EngineError> {
        self.require_configuration_set(scope, set).await?;
        let key = Self::destination_key(scope, set, name);
        let r = self.store.get_resource(&key).await?.ok_or_else(|| {
            EngineError::NotFound(format!(
                "Event destination {name} does not exist in configuration set <{set}>."
            ))
        })?;
        self.store.update_resource(&key, &dest, r.version).await?;
        Ok(())
    }

    pub async fn delete_event_destination(
        &self,
        scope: &Scope,
        set: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        self.require_configuration_set(scope, set).await?;
        if !self
            .store
            .delete_resource(&Self::destination_key(scope, set, name))
            .await?
        {
            return Err(EngineError::NotFound(format!(
                "Event destination {name} does not exist in configuration set <{set}>."
            )));
        }
        Ok(())
    }
}

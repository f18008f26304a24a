//! Accounts, access keys and per-region account settings (DECISIONS Q-27..Q-29, Q-236, Q-187).
//!
//! Secrets are sealed with the instance key before they reach the store; the access key id is
//! the associated data, so a sealed secret cannot be moved to another key's row.

use rand::Rng;
use serde::Serialize;
use sesame_model::{AccessKeyRecord, AccountId, AccountRecord, Region, ResourceKey, Scope};
use sesame_sigv4::secrets;
use sesame_sigv4::smtp_password::derive_smtp_password;

use crate::records::{kind, AccountSettings};
use crate::{now_ms, Engine, EngineError};

/// What `sesame account create --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedAccount {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub smtp_username: String,
    pub smtp_password: String,
}

/// What `sesame key create` prints.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedKey {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub smtp_username: String,
    pub smtp_password: String,
}

/// An access key resolved for request authentication.
#[derive(Clone, Debug)]
pub struct ResolvedKey {
    pub account: AccountRecord,
    pub access_key_id: String,
    pub user_name: String,
    pub secret_access_key: String,
}

/// Optional caller-chosen key pair (import from SES so applications keep their configuration).
pub struct ImportedKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Engine {
    /// Creates an account with one access key. `account_id` lets the operator choose the
    /// id; `key` imports an existing key pair.
    pub async fn create_account(
        &self,
        name: Option<String>,
        account_id: Option<AccountId>,
        key: Option<ImportedKey>,
    ) -> Result<CreatedAccount, EngineError> {
        let created_at = now_ms();
        let account_id = match account_id {
            Some(id) => {
                let rec = AccountRecord {
                    account_id: id.clone(),
                    name: name.clone(),
                    created_at,
                    status: "Active".into(),
                };
                self.store.create_account(&rec).await.map_err(|e| match e {
                    sesame_model::StoreError::AlreadyExists => {
                        EngineError::AlreadyExists(format!("Account {id} already exists."))
                    }
                    other => other.into(),
                })?;
                id
            }
            None => loop {
                let id: AccountId = random_account_id().parse().expect("12 digits");
                let rec = AccountRecord {
                    account_id: id.clone(),
                    name: name.clone(),
                    created_at,
                    status: "Active".into(),
                };
                match self.store.create_account(&rec).await {
                    Ok(()) => break id,
                    Err(sesame_model::StoreError::AlreadyExists) => continue,
                    Err(e) => return Err(e.into()),
                }
            },
        };
        let k = self.create_key(&account_id, key).await?;
        Ok(CreatedAccount {
            account_id: k.account_id,
            access_key_id: k.access_key_id,
            secret_access_key: k.secret_access_key,
            smtp_username: k.smtp_username,
            smtp_password: k.smtp_password,
        })
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountRecord>, EngineError> {
        Ok(self.store.list_accounts().await?)
    }

    pub async fn require_account(&self, id: &AccountId) -> Result<AccountRecord, EngineError> {
        self.store
            .get_account(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("Account {id} does not exist.")))
    }

    /// Adds an access key to an account (generated, or imported when `key` is given).
    pub async fn create_key(
        &self,
        account: &AccountId,
        key: Option<ImportedKey>,
    ) -> Result<CreatedKey, EngineError> {
        self.require_account(account).await?;
        let (id, secret) = match key {
            Some(k) => {
                if !secrets::is_valid_access_key_id(&k.access_key_id) {
                    return Err(EngineError::BadRequest(format!(
                        "Access key id {:?} is not valid: 16-128 letters and digits.",
                        k.access_key_id
                    )));
                }
                if !secrets::is_valid_secret(&k.secret_access_key) {
                    return Err(EngineError::BadRequest(
                        "The secret access key must be 1-128 printable ASCII characters.".into(),
                    ));
                }
                (k.access_key_id, k.secret_access_key)
            }
            None => (
                secrets::generate_access_key_id(),
                secrets::generate_secret_access_key(),
            ),
        };
        let rec = AccessKeyRecord {
            access_key_id: id.clone(),
            account_id: account.clone(),
            user_name: "root".into(),
            secret_ciphertext: self.secrets.seal(secret.as_bytes(), id.as_bytes()),
            status: "Active".into(),
            created_at: now_ms(),
        };
        self.store
            .create_access_key(&rec)
            .await
            .map_err(|e| match e {
                sesame_model::StoreError::AlreadyExists => {
                    EngineError::AlreadyExists(format!("Access key {id} already exists."))
                }
                other => other.into(),
            })?;
        let smtp_password = derive_smtp_password(&secret, self.default_region().as_str());
        Ok(CreatedKey {
            account_id: account.to_string(),
            smtp_username: id.clone(),
            access_key_id: id,
            secret_access_key: secret,
            smtp_password,
        })
    }

    pub async fn list_keys(
        &self,
        account: &AccountId,
    ) -> Result<Vec<AccessKeyRecord>, EngineError> {
        self.require_account(account).await?;
        Ok(self.store.list_access_keys(account).await?)
    }

    pub async fn delete_key(&self, account: &AccountId, key_id: &str) -> Result<(), EngineError> {
        if self.store.delete_access_key(account, key_id).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!(
                "Access key {key_id} does not exist in account {account}."
            )))
        }
    }

    /// Looks up an active access key and opens its secret. `None` for unknown or inactive keys.
    pub async fn resolve_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<ResolvedKey>, EngineError> {
        let Some(rec) = self.store.get_access_key(access_key_id).await? else {
            return Ok(None);
        };
        if rec.status != "Active" {
            return Ok(None);
        }
        let Some(account) = self.store.get_account(&rec.account_id).await? else {
            return Ok(None);
        };
        if account.status != "Active" {
            return Ok(None);
        }
        let secret = self
            .secrets
            .open(&rec.secret_ciphertext, rec.access_key_id.as_bytes())
            .map_err(|_| {
                EngineError::Internal(format!(
                    "cannot decrypt the secret of access key {access_key_id}: wrong instance key?"
                ))
            })?;
        Ok(Some(ResolvedKey {
            account,
            access_key_id: rec.access_key_id,
            user_name: rec.user_name,
            secret_access_key: String::from_utf8(secret)
                .map_err(|_| EngineError::Internal("secret is not UTF-8".into()))?,
        }))
    }

    fn default_account_settings(&self) -> AccountSettings {
        let s = &self.settings;
        let sandbox = s.new_accounts_in_sandbox;
        AccountSettings {
            production_access: !sandbox,
            max_24h_send: if sandbox {
                s.sandbox_max_24h_send
            } else {
                s.production_max_24h_send
            },
            max_send_rate: if sandbox {
                s.sandbox_max_send_rate
            } else {
                s.production_max_send_rate
            },
            sending_enabled: true,
            suppressed_reasons: vec!["BOUNCE".into(), "COMPLAINT".into()],
            details: None,
            vdm_attributes: None,
            dedicated_ip_auto_warmup_enabled: true,
            enforcement_status: "HEALTHY".into(),
            reputation: Default::default(),
        }
    }

    /// The account's settings in one region (defaults when never written).
    pub async fn account_settings(&self, scope: &Scope) -> Result<AccountSettings, EngineError> {
        let key = ResourceKey::new(scope, kind::ACCOUNT, "");
        match self.store.get_resource(&key).await? {
            Some(r) => serde_json::from_value(r.data)
                .map_err(|e| EngineError::Internal(format!("corrupt account settings: {e}"))),
            None => Ok(self.default_account_settings()),
        }
    }

    /// [`Self::account_settings`] through the send path's ≤ 1 s hot cache: for reads
    /// made once per message (acceptance, delivery), where a change may take a second to apply.
    pub async fn hot_account_settings(
        &self,
        scope: &Scope,
    ) -> Result<AccountSettings, EngineError> {
        if let Some(a) = self.hot.settings(scope) {
            return Ok(a);
        }
        let a = self.account_settings(scope).await?;
        self.hot.put_settings(scope, &a);
        Ok(a)
    }

    /// Read-modify-write of the account settings with optimistic concurrency.
    pub async fn update_account_settings<F>(
        &self,
        scope: &Scope,
        mut f: F,
    ) -> Result<AccountSettings, EngineError>
    where
        F: FnMut(&mut AccountSettings) -> Result<(), EngineError> + Send,
    {
        let key = ResourceKey::new(scope, kind::ACCOUNT, "");
        self.hot.drop_settings(scope);
        loop {
            let current = self.store.get_resource(&key).await?;
            let mut settings = match &current {
                Some(r) => serde_json::from_value(r.data.clone())
                    .map_err(|e| EngineError::Internal(format!("corrupt account settings: {e}")))?,
                None => self.default_account_settings(),
            };
            f(&mut settings)?;
            let data = serde_json::to_value(&settings).expect("settings serialise");
            let res = match &current {
                Some(r) => self
                    .store
                    .update_resource(&key, &data, r.version)
                    .await
                    .map(|_| ()),
                None => self.store.insert_resource(&key, &data).await.map(|_| ()),
            };
            match res {
                Ok(()) => return Ok(settings),
                Err(
                    sesame_model::StoreError::Conflict | sesame_model::StoreError::AlreadyExists,
                ) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Recipients sent in the rolling last 24 hours (spec ).
    pub async fn sent_last_24_hours(&self, scope: &Scope) -> Result<f64, EngineError> {
        Ok(self.store.sent_last_24h(scope, now_ms()).await?)
    }

    /// The regions an operator command applies to: the one given, or every configured region.
    pub fn regions_or_all(&self, region: Option<&str>) -> Result<Vec<Region>, EngineError> {
        match region {
            Some(r) if self.serves_region(r) => {
                Ok(vec![r.parse().expect("configured regions are valid")])
            }
            Some(r) => Err(EngineError::BadRequest(format!(
                "Region {r} is not served by this deployment (SESAME_REGIONS={}).",
                self.settings
                    .regions
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ))),
            None => Ok(self.settings.regions.clone()),
        }
    }

    /// `sesame account production`: leave the sandbox with the operator's production quotas.
    pub async fn grant_production_access(
        &self,
        account: &AccountId,
        region: Option<&str>,
    ) -> Result<(), EngineError> {
        self.require_account(account).await?;
        let (max24, rate) = (
            self.settings.production_max_24h_send,
            self.settings.production_max_send_rate,
        );
        for r in self.regions_or_all(region)? {
            let scope = Scope::new(account.clone(), r);
            self.update_account_settings(&scope, |s| {
                if !s.production_access {
                    s.production_access = true;
                    s.max_24h_send = s.max_24h_send.max(max24);
                    s.max_send_rate = s.max_send_rate.max(rate);
                }
                // A pending `PutAccountDetails` review is now decided (GetAccount
                // `Details.ReviewDetails.Status`: PENDING → GRANTED).
                if let Some(status) = s
                    .details
                    .as_mut()
                    .and_then(|d| d.get_mut("ReviewDetails"))
                    .and_then(|r| r.get_mut("Status"))
                {
                    if status.as_str() == Some("PENDING") {
                        *status = serde_json::Value::String("GRANTED".into());
                    }
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// `sesame account set-quota`.
    pub async fn set_quota(
        &self,
        account: &AccountId,
        region: Option<&str>,
        max_24h_send: Option<f64>,
        max_send_rate: Option<f64>,
    ) -> Result<(), EngineError> {
        self.require_account(account).await?;
        if let Some(m) = max_24h_send {
            if !(m == -1.0 || m >= 0.0) {
                return Err(EngineError::BadRequest(
                    "--max-24h-send must be >= 0, or -1 for unlimited.".into(),
                ));
            }
        }
        if let Some(r) = max_send_rate {
            if r <= 0.0 {
                return Err(EngineError::BadRequest(
                    "--max-send-rate must be > 0.".into(),
                ));
            }
        }
        for r in self.regions_or_all(region)? {
            let scope = Scope::new(account.clone(), r);
            self.update_account_settings(&scope, |s| {
                if let Some(m) = max_24h_send {
                    s.max_24h_send = m;
                }
                if let Some(r) = max_send_rate {
                    s.max_send_rate = r;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }
}

fn random_account_id() -> String {
    let mut rng = rand::rngs::OsRng;
    // First digit non-zero so ids never look truncated when treated as numbers.
    let first = rng.gen_range(1..10u8);
    let rest: String = (0..11)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    format!("{first}{rest}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn account_ids_are_12_digits() {
        for _ in 0..100 {
            let id = super::random_account_id();
            assert!(id.parse::<sesame_model::AccountId>().is_ok(), "{id}");
        }
    }
}

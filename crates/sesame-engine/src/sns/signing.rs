//! The instance's SNS signing key and certificate (DECISIONS Q-168). Generated on first use
//! and stored (sealed with the instance key) as one resource in the system scope; insertion
//! is create-if-absent, so concurrent first uses on several nodes converge on one key and all
//! nodes sign with it. The certificate is served at
//! `<base>/SimpleNotificationService-<cert_id>.pem` (the name SNS uses).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sesame_events::sns::PrivateKey;
use sesame_model::{ResourceKey, StoreError};

use super::{kind, system_scope, SnsError};
use crate::{now_ms, Engine, EngineError};

const KEY_NAME: &str = "default";
/// Binds the sealed key to its purpose (AEAD associated data).
const AAD: &[u8] = b"sesame-sns-signing-key";
/// Certificate lifetime: ten years; rotating means deleting the record (docs/sns.md).
const CERT_DAYS: i64 = 3650;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SigningKeyRecord {
    /// Hex id in the certificate's file name.
    cert_id: String,
    /// PKCS#8 DER sealed with the instance key, base64.
    key_sealed: String,
    cert_pem: String,
    created_at: i64,
}

/// The key messages are signed with and the id of the certificate that carries it.
pub struct SigningKey {
    pub key: PrivateKey,
    pub cert_id: String,
}

fn internal(m: impl std::fmt::Display) -> SnsError {
    SnsError::Engine(EngineError::Internal(format!("SNS signing key: {m}")))
}

impl Engine {
    fn signing_key_key(&self) -> ResourceKey {
        ResourceKey::new(&system_scope(self), kind::SIGNING_KEY, KEY_NAME)
    }

    async fn signing_record(&self) -> Result<SigningKeyRecord, SnsError> {
        let key = self.signing_key_key();
        if let Some(r) = self.store.get_resource(&key).await? {
            return serde_json::from_value(r.data).map_err(internal);
        }
        let fresh = self.new_signing_record()?;
        let data = serde_json::to_value(&fresh).expect("record serialises");
        match self.store.insert_resource(&key, &data).await {
            Ok(_) => {
                tracing::info!(cert_id = %fresh.cert_id, "SNS signing key and certificate generated");
                Ok(fresh)
            }
            // Another node generated one first: use theirs.
            Err(StoreError::AlreadyExists) => {
                let r = self
                    .store
                    .get_resource(&key)
                    .await?
                    .ok_or_else(|| internal("vanished after a concurrent create"))?;
                serde_json::from_value(r.data).map_err(internal)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn new_signing_record(&self) -> Result<SigningKeyRecord, SnsError> {
        let generated = sesame_mail::dkim::generate_key(sesame_mail::dkim::KeyLength::Rsa2048)
            .map_err(internal)?;
        let der = B64.decode(&generated.private_pkcs8_b64).map_err(internal)?;
        let key = sesame_events::sns::private_key_from_pkcs8(&der).map_err(internal)?;
        let hosts: Vec<String> = self
            .settings
            .regions
            .iter()
            .map(|r| format!("sns.{r}.{}", self.settings.service_domain))
            .collect();
        let cert_pem =
            sesame_events::sns::cert::self_signed_pem(&key, &hosts, now_ms() / 1000, CERT_DAYS)
                .map_err(internal)?;
        let cert_id: String = (0..16)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        Ok(SigningKeyRecord {
            cert_id,
            key_sealed: B64.encode(self.secrets.seal(&der, AAD)),
            cert_pem,
            created_at: now_ms(),
        })
    }

    /// The signing key (generated and stored on first use).
    pub async fn sns_signing_key(&self) -> Result<SigningKey, SnsError> {
        let rec = self.signing_record().await?;
        let sealed = B64.decode(&rec.key_sealed).map_err(internal)?;
        let der = self.secrets.open(&sealed, AAD).map_err(internal)?;
        Ok(SigningKey {
            key: sesame_events::sns::private_key_from_pkcs8(&der).map_err(internal)?,
            cert_id: rec.cert_id,
        })
    }

    /// The PEM certificate named `cert_id`, if it is this instance's.
    pub async fn sns_signing_cert(&self, cert_id: &str) -> Result<Option<String>, SnsError> {
        let rec = self.signing_record().await?;
        Ok((rec.cert_id == cert_id).then_some(rec.cert_pem))
    }

    /// `SigningCertURL` of messages for `region`.
    pub fn sns_cert_url(&self, region: &str, cert_id: &str) -> String {
        format!(
            "{}/SimpleNotificationService-{cert_id}.pem",
            self.sns_base_url(region)
        )
    }
}

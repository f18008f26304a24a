//! `sesame-engine`: the application services behind every surface (v1 and v2 API, SMTP, CLI,
//! later the console). It owns the rules and the stored records of accounts, access keys,
//! identities, configuration sets, templates, suppression entries, contact lists ([`contacts`],
//! with list management on send and hosted unsubscribe) and tags; the send pipeline
//! ([`send`], the one way in), delivery ([`deliver`]: the dev inbox, or SMTP through a
//! `sesame_model::Transport`) and asynchronous feedback ([`feedback`]: DSNs, ARF complaints and
//! auto-replies for the VERP addresses of sent mail) and email feedback forwarding
//! ([`forwarding`]: bounces and complaints mailed to the sender). It talks to storage only through the
//! `sesame_model::Store` and `BodyStore` ports — so it compiles and unit-tests without a
//! database or a runtime.
//!
//! Protocol details (wire shapes, error codes) live in `sesame-api`; this crate reports
//! [`EngineError`] values that each edge maps to its own format.

pub mod accounts;
pub mod cache;
pub mod configuration_sets;
pub mod contacts;
pub mod custom_verification;
pub mod dedicated_ips;
pub mod deliver;
pub mod dkim_rotation;
pub mod email_verification;
pub mod error;
pub mod feedback;
pub mod forwarding;
pub mod identities;
pub mod notices;
pub mod operator_dkim;
pub mod pagination;
pub mod publishing;
pub mod records;
pub mod reputation;
pub mod send;
pub mod sinks;
pub mod sns;
pub mod suppression;
pub mod tags;
pub mod templates;
#[cfg(test)]
mod test_store;
pub mod tracking;
pub mod verification;

use std::sync::Arc;

use sesame_model::{BodyStore, Region, Store};
use sesame_sigv4::secrets::SecretBox;

pub use error::EngineError;

/// Instance-wide settings the services need (a subset of `sesame_config::Config`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Never empty; the first is the default region.
    pub regions: Vec<Region>,
    pub partition: String,
    /// Operator base domain standing in for amazonses.com.
    pub service_domain: String,
    pub new_accounts_in_sandbox: bool,
    pub sandbox_max_24h_send: f64,
    pub sandbox_max_send_rate: f64,
    pub production_max_24h_send: f64,
    pub production_max_send_rate: f64,
    /// First retry delay after a temporary delivery failure; doubles per attempt up to one
    /// hour (Q-110, [`deliver::retry`]).
    pub delivery_retry_base_seconds: u64,
    /// How long temporary failures are retried, from acceptance; a configuration set's
    /// `MaxDeliverySeconds` shortens it.
    pub delivery_retry_window_seconds: u64,
    /// The operator's outbound source addresses (`outbound_ips`): the instance's dedicated IPs
    /// that pools group and warm-up caps limit ([`dedicated_ips`]). Empty: the OS picks.
    pub outbound_ips: Vec<std::net::IpAddr>,
    /// The verification email and its link ([`email_verification`], Q-74, Q-84).
    pub verification: email_verification::VerificationSettings,
    /// Open/click tracking URLs and the client address of their events ([`tracking`]).
    pub tracking: tracking::TrackingSettings,
    /// Built-in SNS topics: URLs in messages and the HTTP retry policy ([`sns`], Q-168, Q-170).
    pub sns: sns::SnsSettings,
    /// `source` of EventBridge envelopes (`eventbridge_source`, Q-77).
    pub eventbridge_source: String,
    /// Contact lists per account and topics per list (F-168, Z-15, Q-195; [`contacts`]).
    pub contacts: contacts::ContactLimits,
}

/// Handle to the services. Cheap to clone; holds no process-global state.
#[derive(Clone)]
pub struct Engine {
    pub store: Arc<dyn Store>,
    /// Message bodies (the spool).
    pub bodies: Arc<dyn BodyStore>,
    /// Instance key: seals secrets at rest and signs pagination tokens.
    pub secrets: Arc<SecretBox>,
    /// Raw instance key bytes for MACs (pagination tokens).
    mac_key: Arc<[u8; 32]>,
    pub settings: Arc<Settings>,
    /// Called after every accepted message so an idle delivery loop wakes at once instead of
    /// at its next poll (the binary passes a `tokio::sync::Notify`; the engine stays
    /// runtime-free). `None` in CLI commands and tests.
    queue_waker: Option<Arc<dyn Fn() + Send + Sync>>,
    /// The send path's ≤ 1 s cache of settings and verified identities (`send::hot`).
    pub(crate) hot: Arc<send::hot::HotCache>,
    /// Parsed DKIM private keys by sealed value (`Engine::dkim_signing_key`).
    pub(crate) dkim_keys: Arc<KeyCache>,
    /// In-flow control: awaited before each send is accepted (see [`InflowGate`]). `None` in
    /// CLI commands, tests, and nodes that do not deliver.
    inflow: Option<Arc<dyn InflowGate>>,
    /// The operator signature `d=<service_domain>` (Q-72, [`operator_dkim`]); `None` when
    /// disabled (and in CLI commands, which send nothing).
    pub(crate) operator_dkim: Option<Arc<operator_dkim::OperatorDkim>>,
}

/// In-flow control, as Postfix's `in_flow_delay`: when acceptance outruns delivery, each new
/// message waits (a bounded time) for the delivery side to finish one, so accepted mail does
/// not pile up faster than it leaves and both share the machine. The binary implements it with
/// tokens that delivery returns; the engine only awaits it, staying runtime-free.
#[async_trait::async_trait]
pub trait InflowGate: Send + Sync {
    /// Returns when this message may be accepted (at the latest after the configured delay).
    async fn admit(&self);
}

/// A bounded map of parsed DKIM keys; cleared whole when full (keys are re-parsed on demand).
#[derive(Default)]
pub(crate) struct KeyCache {
    map: std::sync::Mutex<std::collections::HashMap<String, Arc<sesame_mail::dkim::SigningKey>>>,
}

impl KeyCache {
    /// Entries beyond which the cache starts again empty.
    const MAX: usize = 4096;

    pub(crate) fn get(&self, sealed: &str) -> Option<Arc<sesame_mail::dkim::SigningKey>> {
        self.map.lock().ok()?.get(sealed).cloned()
    }

    pub(crate) fn insert(&self, sealed: String, key: Arc<sesame_mail::dkim::SigningKey>) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= Self::MAX {
                m.clear();
            }
            m.insert(sealed, key);
        }
    }
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        bodies: Arc<dyn BodyStore>,
        master_key: [u8; 32],
        settings: Settings,
    ) -> Engine {
        Engine {
            store,
            bodies,
            secrets: Arc::new(SecretBox::new(master_key)),
            mac_key: Arc::new(master_key),
            settings: Arc::new(settings),
            queue_waker: None,
            hot: Arc::default(),
            dkim_keys: Arc::default(),
            inflow: None,
            operator_dkim: None,
        }
    }

    /// Installs in-flow control (see [`InflowGate`]).
    pub fn set_inflow_gate(&mut self, gate: Arc<dyn InflowGate>) {
        self.inflow = Some(gate);
    }

    /// Waits for the in-flow gate, if any.
    pub(crate) async fn admit(&self) {
        if let Some(g) = &self.inflow {
            g.admit().await;
        }
    }

    /// Installs the hook run after each accepted message (see the field's docs).
    pub fn set_queue_waker(&mut self, waker: Arc<dyn Fn() + Send + Sync>) {
        self.queue_waker = Some(waker);
    }

    /// Tells the delivery loop that the queue has new work.
    pub(crate) fn wake_queue(&self) {
        if let Some(w) = &self.queue_waker {
            w();
        }
    }

    pub fn default_region(&self) -> &Region {
        &self.settings.regions[0]
    }

    pub fn serves_region(&self, region: &str) -> bool {
        self.settings.regions.iter().any(|r| r.as_str() == region)
    }
}

/// Unix milliseconds now. The only place the engine reads the clock.
impl Engine {
    /// Deletes the resource at `key`; `NotFound` with `missing()` as the message when there
    /// was none.
    pub(crate) async fn delete_or_not_found(
        &self,
        key: &sesame_model::ResourceKey,
        missing: impl FnOnce() -> String,
    ) -> Result<(), EngineError> {
        if self.store.delete_resource(key).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound(missing()))
        }
    }
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

//! Records stored as resource documents (`sesame_model::Resource`), one kind per struct.
//! Field names are ours (snake_case JSON); wire names are mapped at the API edge. Adding a field
//! needs `#[serde(default)]` so documents written by older versions still load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Resource kinds (the `kind` column).
pub mod kind {
    pub const ACCOUNT: &str = "account";
    pub const IDENTITY: &str = "identity";
    pub const CONFIGURATION_SET: &str = "configuration-set";
    pub const EVENT_DESTINATION: &str = "event-destination";
    pub const TEMPLATE: &str = "template";
    pub const SUPPRESSED_DESTINATION: &str = "suppressed-destination";
    /// Per-account state of one outbound IP (`dedicated_ips::DedicatedIpRecord`), named by IP.
    pub const DEDICATED_IP: &str = "dedicated-ip";
    pub const DEDICATED_IP_POOL: &str = "dedicated-ip-pool";
    /// Custom verification email templates (`custom_verification`), named by template name.
    pub const CUSTOM_VERIFICATION_TEMPLATE: &str = "custom-verification-template";
    /// The last DNS verification checks of one identity, named by the identity
    /// (`verification::AuditLog`).
    pub const VERIFICATION_AUDIT: &str = "verification-audit";
    /// A notice to the account's contact, named `<unix ms>-<id>`; an outbox for
    /// whatever delivers them (`verification::AccountNotice`).
    pub const ACCOUNT_NOTICE: &str = "account-notice";
    /// A Firehose delivery stream stand-in (`sinks::DeliveryStreamRecord`), named by stream.
    pub const DELIVERY_STREAM: &str = "delivery-stream";
    /// A rule of an event bus (`sinks::EventBusRuleRecord`), named `<bus>/<rule>`.
    pub const EVENT_BUS_RULE: &str = "event-bus-rule";
    /// A contact list (`contacts::ContactListRecord`), named by list; its contacts are rows of
    /// the store's `contacts` table, deleted with it.
    pub const CONTACT_LIST: &str = sesame_model::CONTACT_LIST_KIND;
}

/// A resource tag (Q-25: key 1–128, value 0–256, at most 50 per resource).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Per-(account, region) account settings (spec A; DECISIONS ). Stored under kind
/// `account` with the empty name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// `false` = sandbox (A-19: verified recipients only, 200/24 h, 1/s).
    pub production_access: bool,
    /// `-1` means unlimited.
    pub max_24h_send: f64,
    pub max_send_rate: f64,
    /// `UpdateAccountSendingEnabled` (customer pause).
    pub sending_enabled: bool,
    /// v2 `SuppressionAttributes.SuppressedReasons` (Q-187 default `[BOUNCE, COMPLAINT]`).
    pub suppressed_reasons: Vec<String>,
    /// v2 `AccountDetails` as last written by `PutAccountDetails` (wire JSON, passed through).
    #[serde(default)]
    pub details: Option<serde_json::Value>,
    /// v2 `VdmAttributes` (wire JSON).
    #[serde(default)]
    pub vdm_attributes: Option<serde_json::Value>,
    #[serde(default = "yes")]
    pub dedicated_ip_auto_warmup_enabled: bool,
    /// `HEALTHY`, `PROBATION` or `SHUTDOWN` (G, Q-242).
    #[serde(default = "healthy")]
    pub enforcement_status: String,
    /// What the automatic reputation rules did (`crate::reputation`).
    #[serde(default)]
    pub reputation: AccountReputation,
}

impl AccountSettings {
    /// The customer's switch (`UpdateAccountSendingEnabled`, `PutAccountSendingAttributes`,
    /// G-87). Turning sending back on is a fresh start for *automatic pausing*: only mail sent
    /// afterwards can pause the account again, so a resume is not undone by the same old
    /// bounces at the next evaluation (the published rates keep their whole window, G-80).
    pub fn set_sending_enabled(&mut self, enabled: bool, now_ms: i64) {
        if enabled && !self.sending_enabled {
            self.reputation.resumed_at = Some(now_ms);
            self.reputation
                .note(now_ms, "SendingResumed", "sending enabled by the account");
        }
        self.sending_enabled = enabled;
    }
}

/// Automatic reputation state of an account (spec G-78, G-86; DECISIONS ).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountReputation {
    /// The evaluator set `PROBATION` (and may lift it); an operator's status is never touched.
    #[serde(default)]
    pub auto_review: bool,
    /// Unix ms of the last resume by the account (see [`AccountSettings::set_sending_enabled`]).
    #[serde(default)]
    pub resumed_at: Option<i64>,
    /// Unix ms of the operator's last window reset (G-78: after remediation only mail sent
    /// afterwards counts, for the rates and for pausing).
    #[serde(default)]
    pub reset_at: Option<i64>,
    /// The latest state changes, newest last, at most [`AccountReputation::HISTORY`] (G-78:
    /// an audit trail with a reason).
    #[serde(default)]
    pub history: Vec<ReputationChange>,
}

/// One entry of [`AccountReputation::history`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReputationChange {
    pub at: i64,
    /// `UnderReview`, `Healthy`, `SendingPaused`, `SendingResumed`,
    /// `ConfigurationSetSendingPaused`, `OperatorSetStatus`.
    pub change: String,
    pub reason: String,
}

impl AccountReputation {
    pub const HISTORY: usize = 50;

    pub fn note(&mut self, at: i64, change: &str, reason: &str) {
        self.history.push(ReputationChange {
            at,
            change: change.into(),
            reason: reason.into(),
        });
        let extra = self.history.len().saturating_sub(Self::HISTORY);
        self.history.drain(..extra);
    }
}

fn yes() -> bool {
    true
}

fn healthy() -> String {
    "HEALTHY".into()
}

/// Verification / DKIM status vocabulary (v2 spelling; v1 renders `Pending`, `Success`, …, Q-8).
pub mod status {
    pub const PENDING: &str = "PENDING";
    pub const SUCCESS: &str = "SUCCESS";
    pub const FAILED: &str = "FAILED";
    pub const TEMPORARY_FAILURE: &str = "TEMPORARY_FAILURE";
    pub const NOT_STARTED: &str = "NOT_STARTED";

    /// v1 spelling of a status (`VerificationStatus` enum of ses.json).
    pub fn v1(s: &str) -> &'static str {
        match s {
            PENDING => "Pending",
            SUCCESS => "Success",
            FAILED => "Failed",
            TEMPORARY_FAILURE => "TemporaryFailure",
            _ => "NotStarted",
        }
    }
}

/// One Easy DKIM or BYODKIM key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DkimKeyRecord {
    /// Easy DKIM token (selector; CNAME `<token>._domainkey.<domain>` → `<token>.dkim.<sd>`) or
    /// the BYODKIM selector.
    pub selector: String,
    /// Private key (PKCS#8 DER) sealed with the instance key, base64.
    pub private_key_sealed: String,
    /// `p=` value of the public key.
    pub public_key: String,
    pub bits: usize,
}

/// DKIM state of an identity (spec D-21, D-70..D-90).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DkimState {
    pub signing_enabled: bool,
    pub status: String,
    /// `AWS_SES` (Easy DKIM) or `EXTERNAL` (BYODKIM).
    pub origin: String,
    /// Easy DKIM: three tokens; BYODKIM: `[selector]`.
    pub tokens: Vec<String>,
    #[serde(default)]
    pub keys: Vec<DkimKeyRecord>,
    pub current_key_length: Option<String>,
    pub next_key_length: Option<String>,
    /// Unix ms of the last key generation.
    pub last_key_generation: Option<i64>,
    /// Unix ms of key-length changes within the last 24 h.
    #[serde(default)]
    pub key_length_changes: Vec<i64>,
}

/// Custom MAIL FROM settings (spec D-92..D-100).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailFrom {
    pub domain: String,
    /// `USE_DEFAULT_VALUE` or `REJECT_MESSAGE`.
    pub behavior_on_mx_failure: String,
    pub status: String,
}

/// An email address or domain identity (spec D).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityRecord {
    /// As the user wrote it (domains lower-cased, Q-87).
    pub identity: String,
    /// `EMAIL_ADDRESS` or `DOMAIN`.
    pub identity_type: String,
    pub verification_status: String,
    /// v1 `VerifyDomainIdentity` TXT token (`_amazonses.<domain>`, Q-66), when requested.
    #[serde(default)]
    pub verification_token: Option<String>,
    /// Created through v1 `VerifyDomainIdentity` (legacy TXT verification allowed, Q-82).
    #[serde(default)]
    pub legacy_txt_verification: bool,
    /// `None` for address identities that never set DKIM (they inherit, Q-89).
    #[serde(default)]
    pub dkim: Option<DkimState>,
    #[serde(default)]
    pub mail_from: Option<MailFrom>,
    #[serde(default = "yes")]
    pub feedback_forwarding_enabled: bool,
    /// Notification type (`Bounce`, `Complaint`, `Delivery`) → SNS topic ARN.
    #[serde(default)]
    pub notification_topics: BTreeMap<String, String>,
    /// Notification type → include original headers.
    #[serde(default)]
    pub headers_in_notifications: BTreeMap<String, bool>,
    #[serde(default)]
    pub configuration_set_name: Option<String>,
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created_at: i64,
    /// Address identities: the latest verification email (link nonce, issue time; Q-84).
    #[serde(default)]
    pub email_verification: Option<crate::email_verification::PendingVerification>,
    /// What the DNS verification engine last saw (`VerificationInfo`, windows of the 72 h
    /// state machine; `crate::verification`).
    #[serde(default)]
    pub verification: crate::verification::VerificationState,
}

//! Built-in SNS-compatible topics (DECISIONS Q-167..Q-170; model `sns.json`): topics and
//! subscriptions as resource documents, the subscription handshake, `Publish`, and the durable
//! outbox the HTTP(S) deliverer (`sesame-publish`) drains.
//!
//! Map:
//! - this file — settings, records, ARNs, errors; topic operations.
//! - `subscriptions` — `Subscribe`, `ConfirmSubscription`, `Unsubscribe`, listings and
//!   subscription attributes.
//! - [`publish`] — [`Engine::sns_publish`] (the entry point SES event publishing will call),
//!   confirmation and unsubscribe messages, email subscriptions.
//! - [`outbox`] — durable HTTP(S) delivery records: claim with a lease, finish, retry with
//!   backoff, dead letters.
//! - [`signing`] — the instance's SNS signing key and certificate, generated once and stored
//!   so every node signs with the same key.
//!
//! Storage: topics are kind `sns-topic` (name = topic name) and subscriptions kind
//! `sns-subscription` (name = `<topic>/<uuid>`) in the owner's `(account, region)`, so
//! accounts and regions are isolated by construction. Deliveries, dead letters and the signing
//! key live in [`system_scope`].

pub mod outbox;
pub mod publish;
pub mod signing;
mod subscriptions;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sesame_model::{AccountId, ResourceKey, Scope, StoreError};

use crate::records::Tag;
use crate::{now_ms, Engine, EngineError};

/// Resource kinds of this module.
pub mod kind {
    pub const TOPIC: &str = "sns-topic";
    pub const SUBSCRIPTION: &str = "sns-subscription";
    pub const DELIVERY: &str = "sns-delivery";
    pub const DEAD_LETTER: &str = "sns-dead-letter";
    pub const SIGNING_KEY: &str = "sns-signing-key";
}

/// Settings (`sesame_config` keys `sns_base_url`, `sns_retry_*`).
#[derive(Clone, Debug, PartialEq)]
pub struct SnsSettings {
    /// Scheme and host of `SigningCertURL`, `SubscribeURL` and `UnsubscribeURL`, e.g.
    /// `https://sns.us-east-1.example.net`. `None`: the API listener's own address
    /// (`serve` fills it in after binding).
    pub base_url: Option<String>,
    /// First retry delay of an HTTP(S) delivery; doubles per attempt (Q-170: 1 s).
    pub retry_base_seconds: u64,
    /// Cap of the delay between attempts (Q-170: 20 min).
    pub retry_max_delay_seconds: u64,
    /// How long a delivery is retried before it becomes a dead letter (Q-170: 24 h).
    pub retry_window_seconds: u64,
}

impl Default for SnsSettings {
    fn default() -> Self {
        SnsSettings {
            base_url: None,
            retry_base_seconds: 1,
            retry_max_delay_seconds: 1200,
            retry_window_seconds: 86_400,
        }
    }
}

/// Errors in SNS's vocabulary (model `NotFoundException` = `NotFound`,
/// `InvalidParameterException` = `InvalidParameter`, `AuthorizationErrorException` =
/// `AuthorizationError`); `sesame-api` maps them to the wire.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SnsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    Authorization(String),
    /// Tagging operations name a missing topic this way (model `ResourceNotFoundException`).
    #[error("{0}")]
    ResourceNotFound(String),
    /// More than 50 tags on a topic (model `TagLimitExceededException`).
    #[error("{0}")]
    TagLimitExceeded(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for SnsError {
    fn from(e: StoreError) -> Self {
        SnsError::Engine(e.into())
    }
}

fn invalid(m: impl Into<String>) -> SnsError {
    SnsError::InvalidParameter(m.into())
}

fn corrupt(e: serde_json::Error) -> SnsError {
    SnsError::Engine(EngineError::Internal(format!("corrupt SNS record: {e}")))
}

/// Where instance-wide SNS state lives (deliveries, dead letters, the signing key): account
/// `000000000000` — never issued (generated account ids are random and this one is reserved
/// for the service) — in the first configured region.
pub fn system_scope(engine: &Engine) -> Scope {
    Scope::new(
        "000000000000"
            .parse::<AccountId>()
            .expect("valid account id"),
        engine.settings.regions[0].clone(),
    )
}

/// Topic attributes a caller may set (CreateTopic `Attributes`, SetTopicAttributes). Stored
/// and returned; `DeliveryPolicy`, `KmsMasterKeyId` and `TracingConfig` do not change
/// behaviour (Q-169: "accepted but unused").
pub const SETTABLE_TOPIC_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "SignatureVersion",
    "TracingConfig",
    "KmsMasterKeyId",
];

/// Subscription attributes a caller may set (Subscribe `Attributes`,
/// SetSubscriptionAttributes). `FilterPolicy`, `RedrivePolicy` and the like are refused with
/// `InvalidParameter` rather than stored and ignored.
pub const SETTABLE_SUBSCRIPTION_ATTRIBUTES: &[&str] = &["RawMessageDelivery", "DeliveryPolicy"];

/// Protocols Sesame delivers; the others are `InvalidParameter`.
pub const PROTOCOLS: &[&str] = &["http", "https", "email", "email-json"];

/// A topic (kind `sns-topic`, name = topic name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    /// Caller-set attributes ([`SETTABLE_TOPIC_ATTRIBUTES`]).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created_at: i64,
}

impl TopicRecord {
    /// The `SignatureVersion` messages of this topic are signed with: the attribute when set,
    /// else `2` (SHA256withRSA).
    pub fn signature_version(&self) -> &str {
        match self.attributes.get("SignatureVersion").map(String::as_str) {
            Some("1") => "1",
            _ => "2",
        }
    }
}

/// A subscription (kind `sns-subscription`, name = `<topic>/<id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// UUID; the last part of the subscription ARN.
    pub id: String,
    pub topic: String,
    pub protocol: String,
    pub endpoint: String,
    /// Account id of the subscriber (`Owner`).
    pub owner: String,
    pub confirmed: bool,
    /// The confirmation token (hex); `ConfirmSubscription` and the `SubscribeURL` take it.
    pub token: String,
    /// Unix ms the latest confirmation request was sent; tokens expire 3 days later (SNS).
    pub token_issued_at: i64,
    /// Proves an `UnsubscribeURL` was issued by us (it is not SigV4-signed).
    pub unsubscribe_token: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub created_at: i64,
}

/// Confirmation tokens are valid for three days (SNS `ConfirmSubscription` docs).
pub const TOKEN_TTL_MS: i64 = 3 * 24 * 3600 * 1000;

/// A parsed `arn:<partition>:sns:<region>:<account>:<topic>[:<subscription id>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnsArn {
    pub region: String,
    pub account: String,
    pub topic: String,
    pub subscription: Option<String>,
}

/// Topic names: 1–256 of `[A-Za-z0-9_-]` (SNS `CreateTopic`); `.fifo` topics are refused
/// by the caller.
pub fn valid_topic_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parses a topic (`want_subscription` false) or subscription ARN.
pub fn parse_arn(arn: &str, want_subscription: bool) -> Option<SnsArn> {
    let parts: Vec<&str> = arn.split(':').collect();
    let n = if want_subscription { 7 } else { 6 };
    if parts.len() != n || parts[0] != "arn" || parts[2] != "sns" || !valid_topic_name(parts[5]) {
        return None;
    }
    if parts[3].is_empty() || parts[4].len() != 12 {
        return None;
    }
    Some(SnsArn {
        region: parts[3].into(),
        account: parts[4].into(),
        topic: parts[5].into(),
        subscription: want_subscription.then(|| parts[6].to_string()),
    })
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

impl Engine {
    pub fn sns_settings(&self) -> &SnsSettings {
        &self.settings.sns
    }

    /// Uses `url` (the API listener's address) as the base of SNS URLs unless one is
    /// configured. Called by `serve` after binding, before the engine is shared.
    pub fn default_sns_base_url(&mut self, url: &str) {
        if self.settings.sns.base_url.is_none() {
            let url = url
                .replacen("//0.0.0.0:", "//127.0.0.1:", 1)
                .replacen("//[::]:", "//[::1]:", 1);
            let mut s = (*self.settings).clone();
            s.sns.base_url = Some(url.trim_end_matches('/').to_string());
            self.settings = std::sync::Arc::new(s);
        }
    }

    /// Base of the URLs in messages for `region`: configured, else `https://sns.<r>.<sd>`.
    pub fn sns_base_url(&self, region: &str) -> String {
        match &self.settings.sns.base_url {
            Some(u) => u.clone(),
            None => format!("https://sns.{region}.{}", self.settings.service_domain),
        }
    }

    pub fn topic_arn(&self, scope: &Scope, name: &str) -> String {
        format!(
            "arn:{}:sns:{}:{}:{name}",
            self.settings.partition, scope.region, scope.account
        )
    }

    pub fn subscription_arn(&self, scope: &Scope, sub: &SubscriptionRecord) -> String {
        format!("{}:{}", self.topic_arn(scope, &sub.topic), sub.id)
    }

    /// Resolves a caller-supplied ARN in the caller's scope: malformed or another region →
    /// `InvalidParameter`; another account → `AuthorizationError` (no cross-account
    /// permissions yet); `action` names the SNS action for the message.
    pub fn resolve_sns_arn(
        &self,
        scope: &Scope,
        arn: &str,
        subscription: bool,
        param: &str,
        action: &str,
        caller_arn: &str,
    ) -> Result<SnsArn, SnsError> {
        let parsed = parse_arn(arn, subscription)
            .filter(|a| a.region == scope.region.as_str())
            .ok_or_else(|| invalid(format!("Invalid parameter: {param}")))?;
        if arn.split(':').nth(1) != Some(self.settings.partition.as_str()) {
            return Err(invalid(format!("Invalid parameter: {param}")));
        }
        if parsed.account != scope.account.as_str() {
            return Err(SnsError::Authorization(format!(
                "User: {caller_arn} is not authorized to perform: SNS:{action} on resource: {arn}"
            )));
        }
        Ok(parsed)
    }

    fn topic_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::TOPIC, name)
    }

    fn subscription_key(scope: &Scope, topic: &str, id: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::SUBSCRIPTION, &format!("{topic}/{id}"))
    }

    /// `CreateTopic`: idempotent by name — an existing topic with the same attributes and tags
    /// (those given) is returned as is; different ones are `InvalidParameter` (SNS).
    pub async fn sns_create_topic(
        &self,
        scope: &Scope,
        name: &str,
        attributes: BTreeMap<String, String>,
        tags: Vec<Tag>,
    ) -> Result<TopicRecord, SnsError> {
        if name.ends_with(".fifo") || attributes.get("FifoTopic").is_some_and(|v| v == "true") {
            // SES rejects FIFO topics too.
            return Err(invalid(
                "Invalid parameter: FIFO topics are not supported by Sesame",
            ));
        }
        if !valid_topic_name(name) {
            return Err(invalid("Invalid parameter: Topic Name"));
        }
        for (k, v) in &attributes {
            check_topic_attribute(k, v)?;
        }
        crate::tags::validate_tags(&tags).map_err(|e| invalid(e.to_string()))?;
        let key = Self::topic_key(scope, name);
        if let Some(existing) = self.sns_get_topic(scope, name).await? {
            let same_attrs = attributes
                .iter()
                .all(|(k, v)| existing.attributes.get(k) == Some(v));
            let same_tags = tags.iter().all(|t| existing.tags.contains(t));
            if !same_attrs {
                return Err(invalid(
                    "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
                ));
            }
            if !same_tags {
                return Err(invalid(
                    "Invalid parameter: Tags Reason: Topic already exists with different tags",
                ));
            }
            return Ok(existing);
        }
        let rec = TopicRecord {
            name: name.into(),
            attributes,
            tags,
            created_at: now_ms(),
        };
        let data = serde_json::to_value(&rec).expect("record serialises");
        match self.store.insert_resource(&key, &data).await {
            Ok(_) => Ok(rec),
            // A concurrent create of the same name: theirs wins if it matches.
            Err(StoreError::AlreadyExists) => self
                .sns_get_topic(scope, name)
                .await?
                .ok_or_else(|| SnsError::NotFound("Topic does not exist".into())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn sns_get_topic(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<TopicRecord>, SnsError> {
        match self
            .store
            .get_resource(&Self::topic_key(scope, name))
            .await?
        {
            Some(r) => Ok(Some(serde_json::from_value(r.data).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    /// `NotFound` "Topic does not exist" when absent (SNS's text).
    pub async fn sns_require_topic(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<TopicRecord, SnsError> {
        self.sns_get_topic(scope, name)
            .await?
            .ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))
    }

    /// `DeleteTopic`: the topic and its subscriptions; deleting a missing topic succeeds (SNS).
    /// Deliveries already queued are still attempted (they were published before).
    pub async fn sns_delete_topic(&self, scope: &Scope, name: &str) -> Result<(), SnsError> {
        self.store
            .delete_resources_by_prefix(scope, kind::SUBSCRIPTION, &format!("{name}/"))
            .await?;
        self.store
            .delete_resource(&Self::topic_key(scope, name))
            .await?;
        Ok(())
    }

    /// Topics by name after `after`, at most `limit`; the second value is where to resume.
    pub async fn sns_list_topics(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<TopicRecord>, Option<String>), SnsError> {
        let rows = self
            .store
            .list_resources(scope, kind::TOPIC, "", after, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let items = rows
            .into_iter()
            .take(limit)
            .map(|r| serde_json::from_value::<TopicRecord>(r.data).map_err(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        let next = more.then(|| items.last().map(|t| t.name.clone())).flatten();
        Ok((items, next))
    }

    /// `GetTopicAttributes`: the stored attributes plus the computed ones SNS returns.
    pub async fn sns_topic_attributes(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<BTreeMap<String, String>, SnsError> {
        let topic = self.sns_require_topic(scope, name).await?;
        let arn = self.topic_arn(scope, name);
        let subs = self.sns_subscriptions_of(scope, name).await?;
        let confirmed = subs.iter().filter(|s| s.confirmed).count();
        let mut out = BTreeMap::new();
        out.insert("TopicArn".into(), arn.clone());
        out.insert("Owner".into(), scope.account.to_string());
        out.insert(
            "Policy".into(),
            default_topic_policy(&arn, scope.account.as_str()),
        );
        out.insert("DisplayName".into(), String::new());
        out.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        out.insert(
            "SubscriptionsPending".into(),
            (subs.len() - confirmed).to_string(),
        );
        out.insert("SubscriptionsDeleted".into(), "0".into());
        out.insert("SignatureVersion".into(), topic.signature_version().into());
        out.insert(
            "EffectiveDeliveryPolicy".into(),
            effective_delivery_policy(&self.settings.sns),
        );
        for (k, v) in topic.attributes {
            out.insert(k, v);
        }
        Ok(out)
    }

    /// `SetTopicAttributes`: one attribute; an empty or absent value removes it.
    pub async fn sns_set_topic_attribute(
        &self,
        scope: &Scope,
        name: &str,
        attribute: &str,
        value: Option<&str>,
    ) -> Result<(), SnsError> {
        let value = value.unwrap_or("");
        check_topic_attribute(attribute, value)?;
        let key = Self::topic_key(scope, name);
        loop {
            let r = self
                .store
                .get_resource(&key)
                .await?
                .ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))?;
            let mut rec: TopicRecord = serde_json::from_value(r.data).map_err(corrupt)?;
            if value.is_empty() {
                rec.attributes.remove(attribute);
            } else {
                rec.attributes.insert(attribute.into(), value.into());
            }
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => {
                    return Err(SnsError::NotFound("Topic does not exist".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `TagResource` / `UntagResource`: adds or replaces `add` (by key), then removes
    /// `remove`; at most 50 tags. Returns the resulting tags.
    pub async fn sns_retag_topic(
        &self,
        scope: &Scope,
        name: &str,
        add: &[Tag],
        remove: &[String],
    ) -> Result<Vec<Tag>, SnsError> {
        let key = Self::topic_key(scope, name);
        let missing = || SnsError::ResourceNotFound("Resource does not exist".into());
        loop {
            let r = self.store.get_resource(&key).await?.ok_or_else(missing)?;
            let mut rec: TopicRecord = serde_json::from_value(r.data).map_err(corrupt)?;
            for t in add {
                rec.tags.retain(|x| x.key != t.key);
                rec.tags.push(t.clone());
            }
            rec.tags.retain(|x| !remove.contains(&x.key));
            if rec.tags.len() > crate::tags::MAX_TAGS {
                return Err(SnsError::TagLimitExceeded(
                    "Could not complete request: tag quota of per resource exceeded".into(),
                ));
            }
            crate::tags::validate_tags(&rec.tags).map_err(|e| invalid(e.to_string()))?;
            let data = serde_json::to_value(&rec).expect("record serialises");
            match self.store.update_resource(&key, &data, r.version).await {
                Ok(_) => return Ok(rec.tags),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(missing()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `ListTagsForResource`.
    pub async fn sns_topic_tags(&self, scope: &Scope, name: &str) -> Result<Vec<Tag>, SnsError> {
        self.sns_get_topic(scope, name)
            .await?
            .map(|t| t.tags)
            .ok_or_else(|| SnsError::ResourceNotFound("Resource does not exist".into()))
    }
}

fn check_topic_attribute(name: &str, value: &str) -> Result<(), SnsError> {
    if !SETTABLE_TOPIC_ATTRIBUTES.contains(&name) {
        return Err(invalid("Invalid parameter: AttributeName"));
    }
    match name {
        // 1 = SHA1withRSA, 2 = SHA256withRSA (Sesame's default, see docs/sns.md).
        "SignatureVersion" if !matches!(value, "" | "1" | "2") => {
            Err(invalid("Invalid parameter: SignatureVersion"))
        }
        "DisplayName" if value.chars().count() > 100 => Err(invalid(
            "Invalid parameter: DisplayName Reason: at most 100 characters",
        )),
        "Policy" | "DeliveryPolicy" | "TracingConfig" if !value.is_empty() => {
            if name == "TracingConfig" {
                return match value {
                    "PassThrough" | "Active" => Ok(()),
                    _ => Err(invalid("Invalid parameter: TracingConfig")),
                };
            }
            serde_json::from_str::<serde_json::Value>(value)
                .map(|_| ())
                .map_err(|_| invalid(format!("Invalid parameter: {name}")))
        }
        _ => Ok(()),
    }
}

/// The policy SNS reports for a topic nobody set one on (owner-only access).
fn default_topic_policy(arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                       "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                       "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// The HTTP retry policy actually applied, in SNS's `EffectiveDeliveryPolicy` shape.
fn effective_delivery_policy(s: &SnsSettings) -> String {
    serde_json::json!({
        "http": {
            "defaultHealthyRetryPolicy": {
                "minDelayTarget": s.retry_base_seconds,
                "maxDelayTarget": s.retry_max_delay_seconds,
                "backoffFunction": "exponential",
                "retryWindowSeconds": s.retry_window_seconds
            },
            "disableSubscriptionOverrides": false
        }
    })
    .to_string()
}

pub(crate) fn uuid_v4() -> String {
    let mut r: [u8; 16] = rand::random();
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    let h: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;

//! Configuration sets and their event destinations (spec E-93..E-125).
//!
//! Option groups are stored in their SES v2 wire form (`DeliveryOptions`, `TrackingOptions`, …)
//! because they are configuration passed through to later stages; v1 handlers translate.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sesame_model::{Arn, ResourceKey, Scope};

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

/// v2 `EventType` ↔ v1 `EventType` (E-120). v1 also takes `deliveryDelay` and `subscription`
/// as an extension (DECISIONS Q-9), so a v2-created destination survives a v1 round trip.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("SEND", "send"),
    ("REJECT", "reject"),
    ("BOUNCE", "bounce"),
    ("COMPLAINT", "complaint"),
    ("DELIVERY", "delivery"),
    ("OPEN", "open"),
    ("CLICK", "click"),
    ("RENDERING_FAILURE", "renderingFailure"),
    ("DELIVERY_DELAY", "deliveryDelay"),
    ("SUBSCRIPTION", "subscription"),
];

/// CloudWatch `DimensionValueSource`: v2 spelling ↔ v1 spelling (E-125).
pub const DIMENSION_VALUE_SOURCES: &[(&str, &str)] = &[
    ("MESSAGE_TAG", "messageTag"),
    ("EMAIL_HEADER", "emailHeader"),
    ("LINK_TAG", "linkTag"),
];

/// Headers an `EMAIL_HEADER` dimension may not take its value from (G-33 [L13784], G-T item
/// 10); compared ignoring ASCII case.
pub const FORBIDDEN_DIMENSION_HEADERS: &[&str] = &[
    "Received",
    "To",
    "From",
    "DKIM-Signature",
    "CC",
    "message-id",
    "Return-Path",
];

/// `TlsPolicy`: v2 `REQUIRE|OPTIONAL` ↔ v1 `Require|Optional` (Q-8, E-100).
pub const TLS_POLICIES: &[(&str, &str)] = &[("REQUIRE", "Require"), ("OPTIONAL", "Optional")];

/// The v2 spelling of a v1 enum value in `table`, or `None` when it is not a value (Q-8: no
/// aliases, so `SEND` is not accepted on v1 nor `send` on v2).
pub fn to_v2(table: &[(&'static str, &'static str)], v1: &str) -> Option<&'static str> {
    table.iter().find(|(_, b)| *b == v1).map(|(a, _)| *a)
}

/// The v1 spelling of a v2 enum value in `table`.
pub fn to_v1(table: &[(&'static str, &'static str)], v2: &str) -> Option<&'static str> {
    table.iter().find(|(a, _)| *a == v2).map(|(_, b)| *b)
}

/// Which part of an event destination is wrong: v1 reports each destination type with its own
/// error code (`InvalidSNSDestination`, …); v2 uses `BadRequestException` for all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestinationFault {
    General,
    Sns,
    CloudWatch,
    Firehose,
    EventBridge,
    Pinpoint,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidDestination {
    pub fault: DestinationFault,
    pub message: String,
}

fn invalid(fault: DestinationFault, message: impl Into<String>) -> InvalidDestination {
    InvalidDestination {
        fault,
        message: message.into(),
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>` with a 12-digit account and a
/// region for regional services; returns the resource part.
fn arn_resource<'a>(arn: &'a str, service: &str, regional: bool) -> Option<&'a str> {
    let p = Arn::parse(arn)?;
    let account_ok = p.account.len() == 12 && p.account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = if regional {
        !p.region.is_empty()
            && p.region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    } else {
        p.region.is_empty()
    };
    (p.service == service && account_ok && region_ok).then_some(p.resource)
}

fn name_ok(s: &str, max: usize, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// SNS topic ARN syntax (E-125): `arn:<p>:sns:<region>:<account>:<topic>`, topic
/// `[A-Za-z0-9_-]{1,256}`. FIFO topics cannot take SES events.
pub fn valid_sns_topic_arn(arn: &str) -> bool {
    arn_resource(arn, "sns", true).is_some_and(|t| name_ok(t, 256, b"_-"))
}

/// Validates an event destination in its stored v2 form (E-120..E-126): exactly one destination
/// type, a non-empty list of known event types, ARN syntax per type, CloudWatch dimensions per
/// G-33 (no `EMAIL_HEADER` dimension on [`FORBIDDEN_DIMENSION_HEADERS`]), and Pinpoint per
/// Q-178 (no operator mapping of `ApplicationArn`s to sinks exists, so it is always refused).
pub fn validate_event_destination(d: &Value) -> Result<(), InvalidDestination> {
    use DestinationFault as F;
    let types = d
        .get("MatchingEventTypes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if types.is_empty() {
        return Err(invalid(
            F::General,
            "MatchingEventTypes must contain at least one event type.",
        ));
    }
    let mut names = Vec::new();
    for t in &types {
        let t = t.as_str().unwrap_or_default();
        if to_v1(EVENT_TYPES, t).is_none() {
            return Err(invalid(F::General, format!("Invalid event type <{t}>.")));
        }
        names.push(t);
    }
    let kinds = [
        "KinesisFirehoseDestination",
        "CloudWatchDestination",
        "SnsDestination",
        "EventBridgeDestination",
        "PinpointDestination",
    ];
    let present: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| d.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    match present.len() {
        0 => {
            return Err(invalid(
                F::General,
                "An event destination needs one destination: KinesisFirehoseDestination, CloudWatchDestination, SnsDestination, EventBridgeDestination or PinpointDestination.",
            ))
        }
        1 => {}
        _ => {
            return Err(invalid(
                F::General,
                format!(
                    "An event destination has exactly one destination; got {}.",
                    present.join(", ")
                ),
            ))
        }
    }
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let v = &d[present[0]];
    match present[0] {
        "SnsDestination" => {
            let arn = s(v, "TopicArn");
            if arn.ends_with(".fifo") {
                return Err(invalid(
                    F::Sns,
                    format!("SNS topic <{arn}> is a FIFO topic; event destinations need a standard topic."),
                ));
            }
            if !valid_sns_topic_arn(&arn) {
                return Err(invalid(F::Sns, format!("Invalid SNS topic ARN <{arn}>.")));
            }
        }
        "KinesisFirehoseDestination" => {
            let role = s(v, "IamRoleArn");
            if !arn_resource(&role, "iam", false).is_some_and(|r| r.starts_with("role/")) {
                return Err(invalid(
                    F::Firehose,
                    format!("Invalid IAM role ARN <{role}>."),
                ));
            }
            let stream = s(v, "DeliveryStreamArn");
            if !arn_resource(&stream, "firehose", true)
                .and_then(|r| r.strip_prefix("deliverystream/"))
                .is_some_and(|n| name_ok(n, 64, b"_.-"))
            {
                return Err(invalid(
                    F::Firehose,
                    format!("Invalid Firehose delivery stream ARN <{stream}>."),
                ));
            }
        }
        "EventBridgeDestination" => {
            let bus = s(v, "EventBusArn");
            if !arn_resource(&bus, "events", true)
                .and_then(|r| r.strip_prefix("event-bus/"))
                .is_some_and(|n| name_ok(n, 256, b"/._-"))
            {
                return Err(invalid(
                    F::EventBridge,
                    format!("Invalid EventBridge event bus ARN <{bus}>."),
                ));
            }
        }
        "CloudWatchDestination" => {
            let dims = v
                .get("DimensionConfigurations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if dims.is_empty() {
                return Err(invalid(
                    F::CloudWatch,
                    "CloudWatchDestination needs at least one dimension configuration.",
                ));
            }
            for dim in &dims {
                let name = s(dim, "DimensionName");
                // Model docs: letters, digits, `_`, `-`, `:`; at most 256 characters.
                if !name_ok(&name, 256, b"_-:") {
                    return Err(invalid(
                        F::CloudWatch,
                        format!("Invalid dimension name <{name}>."),
                    ));
                }
                let source = s(dim, "DimensionValueSource");
                if to_v1(DIMENSION_VALUE_SOURCES, &source).is_none() {
                    return Err(invalid(
                        F::CloudWatch,
                        format!("Invalid dimension value source <{source}>."),
                    ));
                }
                // G-33, G-T item 10.
                if source == "EMAIL_HEADER"
                    && FORBIDDEN_DIMENSION_HEADERS
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(&name))
                {
                    return Err(invalid(
                        F::CloudWatch,
                        format!(
                            "Invalid dimension name <{name}>: the {name} header cannot be an email header dimension (Received, To, From, DKIM-Signature, CC, message-id and Return-Path are not allowed)."
                        ),
                    ));
                }
                // Model docs: letters, digits, `_`, `-`, `.`, `@`; at most 256 characters.
                let default = s(dim, "DefaultDimensionValue");
                if !name_ok(&default, 256, b"_-.@") {
                    return Err(invalid(
                        F::CloudWatch,
                        format!("Invalid default dimension value <{default}>."),
                    ));
                }
            }
        }
        _ => {
            // Q-178 / E-126.
            if let Some(t) = names
                .iter()
                .find(|t| matches!(**t, "DELIVERY_DELAY" | "SUBSCRIPTION"))
            {
                return Err(invalid(
                    F::Pinpoint,
                    format!("PinpointDestination does not support the {t} event type."),
                ));
            }
            return Err(invalid(
                F::Pinpoint,
                "PinpointDestination is not supported: this server has no sink mapped to Amazon Pinpoint applications.",
            ));
        }
    }
    Ok(())
}

/// Suppression options in stored form: `None` inherits the account settings,
/// `Some([])` turns suppression off for the set, otherwise only the listed reasons apply.
pub fn suppression_options(reasons: Option<&[String]>) -> Result<Option<Value>, EngineError> {
    let Some(reasons) = reasons else {
        return Ok(None);
    };
    let mut out: Vec<&str> = Vec::new();
    for r in reasons {
        match r.as_str() {
            "BOUNCE" | "COMPLAINT" => {
                if !out.contains(&r.as_str()) {
                    out.push(r);
                }
            }
            other => {
                return Err(EngineError::BadRequest(format!(
                    "Invalid suppressed reason <{other}>: use BOUNCE or COMPLAINT."
                )))
            }
        }
    }
    Ok(Some(json!({ "SuppressedReasons": out })))
}

/// Delivery options in stored form (E-98, E-100); the pool is checked by
/// [`Engine::check_sending_pool`].
pub fn delivery_options(
    tls_policy: Option<&str>,
    pool: Option<&str>,
    max_delivery_seconds: Option<i64>,
) -> Result<Value, EngineError> {
    let mut o = serde_json::Map::new();
    match tls_policy {
        None => {}
        Some(p @ ("REQUIRE" | "OPTIONAL")) => {
            o.insert("TlsPolicy".into(), json!(p));
        }
        Some(p) => {
            return Err(EngineError::BadRequest(format!(
                "Invalid TlsPolicy <{p}>: use REQUIRE or OPTIONAL."
            )))
        }
    }
    if let Some(p) = pool.filter(|p| !p.is_empty()) {
        o.insert("SendingPoolName".into(), json!(p));
    }
    if let Some(s) = max_delivery_seconds {
        if !(300..=50_400).contains(&s) {
            return Err(EngineError::BadRequest(
                "MaxDeliverySeconds must be between 300 and 50400.".into(),
            ));
        }
        o.insert("MaxDeliverySeconds".into(), json!(s));
    }
    Ok(Value::Object(o))
}

impl ConfigurationSetRecord {
    /// E-105: sending is enabled unless turned off.
    pub fn sending_enabled(&self) -> bool {
        self.sending_options
            .as_ref()
            .and_then(|o| o.get("SendingEnabled"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    pub fn reputation_metrics_enabled(&self) -> bool {
        self.reputation_options
            .as_ref()
            .and_then(|o| o.get("ReputationMetricsEnabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Seconds since the epoch of the last reputation "fresh start", if any.
    pub fn last_fresh_start(&self) -> Option<f64> {
        self.reputation_options
            .as_ref()
            .and_then(|o| o.get("LastFreshStart"))
            .and_then(Value::as_f64)
    }

    /// Turns sending on or off. Re-enabling a paused set resets its reputation metrics, which
    /// SES records as `LastFreshStart` (ses.json `ReputationOptions.LastFreshStart`).
    pub fn set_sending_enabled(&mut self, enabled: bool, now_ms: i64) {
        if enabled && !self.sending_enabled() {
            let mut rep = self.reputation_options.take().unwrap_or_else(|| json!({}));
            rep["LastFreshStart"] = json!(now_ms as f64 / 1000.0);
            self.reputation_options = Some(rep);
        }
        self.sending_options = Some(json!({ "SendingEnabled": enabled }));
    }

    /// Sets `ReputationMetricsEnabled`, keeping `LastFreshStart`.
    pub fn set_reputation_metrics_enabled(&mut self, enabled: bool) {
        let mut rep = self.reputation_options.take().unwrap_or_else(|| json!({}));
        rep["ReputationMetricsEnabled"] = json!(enabled);
        self.reputation_options = Some(rep);
    }

    /// The custom redirect domain of the tracking options, if one is set.
    pub fn custom_redirect_domain(&self) -> Option<&str> {
        self.tracking_options
            .as_ref()
            .and_then(|o| o.get("CustomRedirectDomain"))
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
    }
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

    /// [`Self::get_configuration_set`] through the ≤ 1 s hot cache, for reads made once
    /// per message (acceptance, delivery); a missing set is not cached.
    pub async fn hot_configuration_set(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<ConfigurationSetRecord>, EngineError> {
        if let Some(rec) = self.hot.configuration_set(scope, name) {
            return Ok(Some(rec));
        }
        let rec = self.get_configuration_set(scope, name).await?;
        if let Some(rec) = &rec {
            self.hot.put_configuration_set(scope, rec);
        }
        Ok(rec)
    }

    /// The event destinations of the set `set` (none when it has none or does not exist),
    /// through the ≤ 1 s hot cache, for reads made once per message or event.
    pub async fn hot_event_destinations(
        &self,
        scope: &Scope,
        set: &str,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
        if let Some(d) = self.hot.event_destinations(scope, set) {
            return Ok(d);
        }
        let d = self.stored_event_destinations(scope, set).await?;
        self.hot.put_event_destinations(scope, set, &d);
        Ok(d)
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
                Ok(_) => {
                    self.hot.drop_configuration_set(scope, name);
                    return Ok(rec);
                }
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
        self.hot.drop_configuration_set(scope, name);
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

    /// E-129: a `SendingPoolName` must name an existing dedicated IP pool of the account, or
    /// one of the reserved pools (E-98; see `dedicated_ips`).
    pub async fn check_sending_pool(&self, scope: &Scope, pool: &str) -> Result<(), EngineError> {
        self.check_dedicated_ip_pool_exists(scope, pool).await
    }

    /// Q-232 / E-140: a custom redirect domain must be a domain, or a subdomain of a domain,
    /// that this account has verified. Returns the lower-cased domain.
    pub async fn check_custom_redirect_domain(
        &self,
        scope: &Scope,
        domain: &str,
    ) -> Result<String, EngineError> {
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        let bad = || {
            EngineError::BadRequest(format!(
                "Custom redirect domain {domain} is not a verified domain, or a subdomain of a verified domain, of this account."
            ))
        };
        if d.is_empty() || d.contains('@') || !d.contains('.') {
            return Err(bad());
        }
        let mut candidate = d.as_str();
        loop {
            if let Some(rec) = self.get_identity(scope, candidate).await? {
                if rec.identity_type == "DOMAIN" && Engine::verified_for_sending(&rec) {
                    return Ok(d);
                }
            }
            match candidate.split_once('.') {
                Some((_, rest)) if rest.contains('.') => candidate = rest,
                _ => return Err(bad()),
            }
        }
    }

    /// Names of the sets whose name contains `contains` (`ListConfigurationSets` filter),
    /// after `after`, at most `limit`, and the name to resume after when there are more.
    pub async fn list_configuration_sets_filtered(
        &self,
        scope: &Scope,
        contains: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), EngineError> {
        let Some(needle) = contains.filter(|c| !c.is_empty()) else {
            return self.list_configuration_sets(scope, after, limit).await;
        };
        let mut out = Vec::new();
        let mut cursor = after.map(str::to_string);
        loop {
            let (page, next) = self
                .list_configuration_sets(scope, cursor.as_deref(), 500)
                .await?;
            for name in page {
                if name.contains(needle) {
                    if out.len() == limit {
                        let last = out.last().cloned();
                        return Ok((out, last));
                    }
                    out.push(name);
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok((out, None)),
            }
        }
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
        self.stored_event_destinations(scope, set).await
    }

    /// The stored event destinations of `set` (none when the set does not exist).
    async fn stored_event_destinations(
        &self,
        scope: &Scope,
        set: &str,
    ) -> Result<Vec<serde_json::Value>, EngineError> {
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
        self.hot.drop_configuration_set(scope, set);
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
        self.hot.drop_configuration_set(scope, set);
        Ok(())
    }

    pub async fn delete_event_destination(
        &self,
        scope: &Scope,
        set: &str,
        name: &str,
    ) -> Result<(), EngineError> {
        self.require_configuration_set(scope, set).await?;
        let r = self
            .delete_or_not_found(&Self::destination_key(scope, set, name), || {
                format!("Event destination {name} does not exist in configuration set <{set}>.")
            })
            .await;
        self.hot.drop_configuration_set(scope, set);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_tables_round_trip() {
        for table in [EVENT_TYPES, DIMENSION_VALUE_SOURCES, TLS_POLICIES] {
            for (v2, v1) in table {
                assert_eq!(to_v2(table, v1), Some(*v2));
                assert_eq!(to_v1(table, v2), Some(*v1));
            }
        }
        assert_eq!(
            to_v2(EVENT_TYPES, "renderingFailure"),
            Some("RENDERING_FAILURE")
        );
        assert_eq!(to_v2(EVENT_TYPES, "deliveryDelay"), Some("DELIVERY_DELAY"));
        assert_eq!(to_v1(TLS_POLICIES, "REQUIRE"), Some("Require"));
        // no aliases across surfaces.
        assert_eq!(to_v2(EVENT_TYPES, "SEND"), None);
        assert_eq!(to_v1(EVENT_TYPES, "send"), None);
        assert_eq!(to_v2(TLS_POLICIES, "REQUIRE"), None);
    }

    fn sns(arn: &str, types: &[&str]) -> Value {
        json!({"Name": "d", "Enabled": true, "MatchingEventTypes": types, "SnsDestination": {"TopicArn": arn}})
    }

    #[test]
    fn event_destination_validation() {
        use DestinationFault as F;
        let topic = "arn:aws:sns:us-east-1:123456789012:events";
        assert!(validate_event_destination(&sns(topic, &["SEND", "BOUNCE"])).is_ok());
        let fault = |d: &Value| validate_event_destination(d).unwrap_err().fault;
        assert_eq!(fault(&sns(topic, &[])), F::General);
        assert_eq!(fault(&sns(topic, &["send"])), F::General);
        for bad in [
            "",
            "topic",
            "arn:aws:sns:us-east-1:12345:events",
            "arn:aws:sqs:us-east-1:123456789012:events",
            "arn:aws:sns::123456789012:events",
            "arn:aws:sns:us-east-1:123456789012:bad/name",
            "arn:aws:sns:us-east-1:123456789012:events.fifo",
        ] {
            assert_eq!(fault(&sns(bad, &["SEND"])), F::Sns, "{bad}");
        }
        let none = json!({"MatchingEventTypes": ["SEND"]});
        assert_eq!(fault(&none), F::General);
        let two = json!({"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": topic},
            "EventBridgeDestination": {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}});
        assert_eq!(fault(&two), F::General);
        let eb = json!({"MatchingEventTypes": ["SEND"],
            "EventBridgeDestination": {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}});
        assert!(validate_event_destination(&eb).is_ok());
        let fh = |role: &str, stream: &str| {
            json!({"MatchingEventTypes": ["OPEN"],
            "KinesisFirehoseDestination": {"IamRoleArn": role, "DeliveryStreamArn": stream}})
        };
        let role = "arn:aws:iam::123456789012:role/ses-firehose";
        let stream = "arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events";
        assert!(validate_event_destination(&fh(role, stream)).is_ok());
        assert_eq!(
            fault(&fh("arn:aws:iam::123456789012:user/x", stream)),
            F::Firehose
        );
        assert_eq!(
            fault(&fh(role, "arn:aws:firehose:us-east-1:123456789012:x")),
            F::Firehose
        );
        let cw = |src: &str| {
            json!({"MatchingEventTypes": ["CLICK"], "CloudWatchDestination":
            {"DimensionConfigurations": [{"DimensionName": "campaign", "DimensionValueSource": src,
              "DefaultDimensionValue": "none"}]}})
        };
        assert!(validate_event_destination(&cw("MESSAGE_TAG")).is_ok());
        assert_eq!(fault(&cw("messageTag")), F::CloudWatch);
        let empty_cw = json!({"MatchingEventTypes": ["CLICK"], "CloudWatchDestination": {"DimensionConfigurations": []}});
        assert_eq!(fault(&empty_cw), F::CloudWatch);
        // Auto tags (with `:`) are dimension names (G-33 [L13778]).
        let auto = json!({"MatchingEventTypes": ["SEND"], "CloudWatchDestination":
            {"DimensionConfigurations": [{"DimensionName": "ses:configuration-set",
              "DimensionValueSource": "MESSAGE_TAG", "DefaultDimensionValue": "cs"}]}});
        assert!(validate_event_destination(&auto).is_ok());
        // Q-178 / E-126.
        let pp = |t: &str| {
            json!({"MatchingEventTypes": [t], "PinpointDestination":
            {"ApplicationArn": "arn:aws:mobiletargeting:us-east-1:123456789012:apps/abc"}})
        };
        let e = validate_event_destination(&pp("DELIVERY_DELAY")).unwrap_err();
        assert_eq!(e.fault, F::Pinpoint);
        assert!(e.message.contains("DELIVERY_DELAY"));
        assert!(validate_event_destination(&pp("SEND"))
            .unwrap_err()
            .message
            .contains("not supported"));
    }

    /// G-33, G-T item 10: seven headers cannot be `EMAIL_HEADER` dimensions, whatever their
    /// case; the same names are fine for other sources, and other headers are fine.
    #[test]
    fn email_header_dimensions_refuse_reserved_headers() {
        let cw = |name: &str, source: &str| {
            json!({"MatchingEventTypes": ["SEND"], "CloudWatchDestination":
            {"DimensionConfigurations": [
                {"DimensionName": "campaign", "DimensionValueSource": "MESSAGE_TAG",
                 "DefaultDimensionValue": "none"},
                {"DimensionName": name, "DimensionValueSource": source,
                 "DefaultDimensionValue": "none"}]}})
        };
        // (dimension name, source, accepted)
        let table = [
            ("From", "EMAIL_HEADER", false),
            ("from", "EMAIL_HEADER", false),
            ("Received", "EMAIL_HEADER", false),
            ("TO", "EMAIL_HEADER", false),
            ("DKIM-Signature", "EMAIL_HEADER", false),
            ("dkim-signature", "EMAIL_HEADER", false),
            ("Cc", "EMAIL_HEADER", false),
            ("Message-ID", "EMAIL_HEADER", false),
            ("return-path", "EMAIL_HEADER", false),
            ("X-Campaign", "EMAIL_HEADER", true),
            ("Subject", "EMAIL_HEADER", true),
            ("Reply-To", "EMAIL_HEADER", true),
            ("From", "MESSAGE_TAG", true),
            ("To", "LINK_TAG", true),
        ];
        for (name, source, ok) in table {
            let got = validate_event_destination(&cw(name, source));
            match got {
                Ok(()) => assert!(ok, "{name} {source} accepted"),
                Err(e) => {
                    assert!(!ok, "{name} {source} refused: {}", e.message);
                    assert_eq!(e.fault, DestinationFault::CloudWatch);
                    assert!(e.message.contains(name), "{}", e.message);
                    assert!(e.message.contains("email header"), "{}", e.message);
                }
            }
        }
    }

    #[test]
    fn suppression_tri_state() {
        assert_eq!(suppression_options(None).unwrap(), None);
        assert_eq!(
            suppression_options(Some(&[])).unwrap(),
            Some(json!({"SuppressedReasons": []}))
        );
        let r = vec![
            "BOUNCE".to_string(),
            "BOUNCE".to_string(),
            "COMPLAINT".into(),
        ];
        assert_eq!(
            suppression_options(Some(&r)).unwrap(),
            Some(json!({"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}))
        );
        assert!(suppression_options(Some(&["OTHER".to_string()])).is_err());
    }

    #[test]
    fn delivery_options_rules() {
        assert_eq!(
            delivery_options(Some("REQUIRE"), Some(""), Some(300)).unwrap(),
            json!({"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 300})
        );
        assert!(delivery_options(Some("Require"), None, None).is_err());
        assert!(delivery_options(None, None, Some(299)).is_err());
        assert!(delivery_options(None, None, Some(50_401)).is_err());
    }

    #[test]
    fn sending_toggle_records_fresh_start() {
        let mut r = Engine::new_configuration_set("s");
        assert!(r.sending_enabled());
        r.set_sending_enabled(true, 1_000);
        assert_eq!(r.last_fresh_start(), None);
        r.set_reputation_metrics_enabled(true);
        r.set_sending_enabled(false, 2_000);
        assert!(!r.sending_enabled());
        r.set_sending_enabled(true, 3_000);
        assert_eq!(r.last_fresh_start(), Some(3.0));
        assert!(r.reputation_metrics_enabled());
    }

    #[test]
    fn names() {
        assert!(validate_configuration_set_name("a-B_9").is_ok());
        assert!(validate_configuration_set_name("").is_err());
        assert!(validate_configuration_set_name("a.b").is_err());
        assert!(validate_configuration_set_name(&"x".repeat(65)).is_err());
        assert!(validate_event_destination_name(&"x".repeat(64)).is_ok());
        assert!(validate_event_destination_name("a/b").is_err());
    }
}

/// Configuration sets and their event destinations are read once per message through the hot
/// cache (`send::hot`, Q-24); these tests show that changes made through the engine still apply
/// to the very next send.
#[cfg(test)]
mod hot_tests {
    use serde_json::json;

    use crate::deliver::testkit::{fixture, simple_request};
    use crate::send::SendError;
    use crate::test_store::scope;
    use crate::Engine;

    #[tokio::test]
    async fn set_changes_apply_to_the_next_send() {
        let f = fixture().await;
        let sc = scope();
        let send = || {
            f.engine.send(
                &sc,
                simple_request("a@example.test", &["b@example.net"], Some("s")),
            )
        };

        // Missing: refused, and not remembered as missing.
        assert!(matches!(
            send().await,
            Err(SendError::ConfigurationSetDoesNotExist(_))
        ));
        f.engine
            .create_configuration_set(&sc, Engine::new_configuration_set("s"))
            .await
            .unwrap();
        send().await.unwrap();

        // Paused through the engine (now cached as enabled): the next send is refused.
        let set_enabled = |enabled: bool| {
            f.engine.update_configuration_set(&sc, "s", move |r| {
                r.set_sending_enabled(enabled, crate::now_ms());
                Ok(())
            })
        };
        set_enabled(false).await.unwrap();
        assert!(matches!(
            send().await,
            Err(SendError::ConfigurationSetPaused(_))
        ));
        set_enabled(true).await.unwrap();
        send().await.unwrap();

        // Destinations: a new one, a changed one and a deleted one show at once.
        assert!(f
            .engine
            .hot_event_destinations(&sc, "s")
            .await
            .unwrap()
            .is_empty());
        let dest = |enabled: bool| {
            json!({"Name": "d", "Enabled": enabled, "MatchingEventTypes": ["OPEN"],
                   "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:111111111111:t"}})
        };
        f.engine
            .create_event_destination(&sc, "s", "d", dest(true))
            .await
            .unwrap();
        assert_eq!(
            f.engine.hot_event_destinations(&sc, "s").await.unwrap(),
            [dest(true)]
        );
        f.engine
            .update_event_destination(&sc, "s", "d", dest(false))
            .await
            .unwrap();
        assert_eq!(
            f.engine.hot_event_destinations(&sc, "s").await.unwrap(),
            [dest(false)]
        );
        f.engine
            .delete_event_destination(&sc, "s", "d")
            .await
            .unwrap();
        assert!(f
            .engine
            .hot_event_destinations(&sc, "s")
            .await
            .unwrap()
            .is_empty());

        // Deleted: the next send is refused again.
        f.engine.delete_configuration_set(&sc, "s").await.unwrap();
        assert!(matches!(
            send().await,
            Err(SendError::ConfigurationSetDoesNotExist(_))
        ));
    }
}

//! Subscriptions (DECISIONS Q-169): `Subscribe` with its confirmation handshake,
//! `ConfirmSubscription`, `Unsubscribe`, listings and subscription attributes.

use std::collections::BTreeMap;

use sesame_model::{Scope, StoreError};

use super::{
    constant_eq, effective_delivery_policy, invalid, kind, random_hex, uuid_v4, SnsError,
    SubscriptionRecord, PROTOCOLS, SETTABLE_SUBSCRIPTION_ATTRIBUTES, TOKEN_TTL_MS,
};
use crate::{now_ms, Engine};

impl Engine {
    /// Every subscription of a topic (pending ones too).
    pub async fn sns_subscriptions_of(
        &self,
        scope: &Scope,
        topic: &str,
    ) -> Result<Vec<SubscriptionRecord>, SnsError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .list_resources(
                    scope,
                    kind::SUBSCRIPTION,
                    &format!("{topic}/"),
                    after.as_deref(),
                    500,
                )
                .await?;
            let n = rows.len();
            after = rows.last().map(|r| r.key.name.clone());
            for r in rows {
                out.push(serde_json::from_value(r.data).map_err(super::corrupt)?);
            }
            if n < 500 {
                return Ok(out);
            }
        }
    }

    /// Subscriptions of the scope (`topic` = `Some`: of one topic) after the resource name
    /// `after` (`<topic>/<id>`); the second value is where to resume.
    pub async fn sns_list_subscriptions(
        &self,
        scope: &Scope,
        topic: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<SubscriptionRecord>, Option<String>), SnsError> {
        let prefix = topic.map(|t| format!("{t}/")).unwrap_or_default();
        let rows = self
            .store
            .list_resources(scope, kind::SUBSCRIPTION, &prefix, after, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let next = more
            .then(|| rows.get(limit - 1).map(|r| r.key.name.clone()))
            .flatten();
        let items = rows
            .into_iter()
            .take(limit)
            .map(|r| serde_json::from_value::<SubscriptionRecord>(r.data).map_err(super::corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((items, next))
    }

    pub async fn sns_get_subscription(
        &self,
        scope: &Scope,
        topic: &str,
        id: &str,
    ) -> Result<Option<(SubscriptionRecord, i64)>, SnsError> {
        match self
            .store
            .get_resource(&Self::subscription_key(scope, topic, id))
            .await?
        {
            Some(r) => Ok(Some((
                serde_json::from_value(r.data).map_err(super::corrupt)?,
                r.version,
            ))),
            None => Ok(None),
        }
    }

    /// `Subscribe`. Returns the record and whether it is new. Subscribing the same
    /// (protocol, endpoint) again returns the existing subscription (and, while it is pending,
    /// sends the confirmation request again), as SNS does.
    pub async fn sns_subscribe(
        &self,
        scope: &Scope,
        topic: &str,
        protocol: &str,
        endpoint: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<SubscriptionRecord, SnsError> {
        if !PROTOCOLS.contains(&protocol) {
            return Err(invalid(format!(
                "Invalid parameter: Protocol Reason: {protocol} is not supported by Sesame \
                 (supported: http, https, email, email-json)"
            )));
        }
        check_endpoint(protocol, endpoint)?;
        for (k, v) in &attributes {
            check_subscription_attribute(k, v)?;
        }
        self.sns_require_topic(scope, topic).await?;
        let now = now_ms();
        if let Some(mut existing) = self
            .sns_subscriptions_of(scope, topic)
            .await?
            .into_iter()
            .find(|s| s.protocol == protocol && s.endpoint == endpoint)
        {
            if !existing.confirmed {
                existing.token_issued_at = now;
                existing.token = random_hex(64);
                let data = serde_json::to_value(&existing).expect("record serialises");
                self.store
                    .upsert_resource(&Self::subscription_key(scope, topic, &existing.id), &data)
                    .await?;
                self.sns_request_confirmation(scope, &existing).await?;
            }
            return Ok(existing);
        }
        let rec = SubscriptionRecord {
            id: uuid_v4(),
            topic: topic.into(),
            protocol: protocol.into(),
            endpoint: endpoint.into(),
            owner: scope.account.to_string(),
            confirmed: false,
            token: random_hex(64),
            token_issued_at: now,
            unsubscribe_token: random_hex(16),
            attributes,
            created_at: now,
        };
        let data = serde_json::to_value(&rec).expect("record serialises");
        self.store
            .insert_resource(&Self::subscription_key(scope, topic, &rec.id), &data)
            .await?;
        self.sns_request_confirmation(scope, &rec).await?;
        Ok(rec)
    }

    /// `ConfirmSubscription` (API call or a fetched `SubscribeURL`): the pending subscription
    /// of `topic` holding `token` becomes confirmed; confirming again is a no-op. Unknown or
    /// expired token → `InvalidParameter` "Invalid token" (SNS).
    pub async fn sns_confirm(
        &self,
        scope: &Scope,
        topic: &str,
        token: &str,
    ) -> Result<SubscriptionRecord, SnsError> {
        self.sns_require_topic(scope, topic).await?;
        let bad = || invalid("Invalid token");
        let mut sub = self
            .sns_subscriptions_of(scope, topic)
            .await?
            .into_iter()
            .find(|s| !token.is_empty() && constant_eq(s.token.as_bytes(), token.as_bytes()))
            .ok_or_else(bad)?;
        if sub.confirmed {
            return Ok(sub);
        }
        if now_ms() - sub.token_issued_at > TOKEN_TTL_MS {
            return Err(bad());
        }
        sub.confirmed = true;
        let data = serde_json::to_value(&sub).expect("record serialises");
        self.store
            .upsert_resource(&Self::subscription_key(scope, topic, &sub.id), &data)
            .await?;
        tracing::info!(account = %scope.account, region = %scope.region, topic, subscription = %sub.id, "SNS subscription confirmed");
        Ok(sub)
    }

    /// `Unsubscribe`: removes the subscription; an HTTP(S) endpoint gets an
    /// `UnsubscribeConfirmation` (SNS). Unknown subscription → `NotFound`.
    pub async fn sns_unsubscribe(
        &self,
        scope: &Scope,
        topic: &str,
        id: &str,
    ) -> Result<(), SnsError> {
        let (sub, _) = self
            .sns_get_subscription(scope, topic, id)
            .await?
            .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
        self.store
            .delete_resource(&Self::subscription_key(scope, topic, id))
            .await?;
        if sub.confirmed && (sub.protocol == "http" || sub.protocol == "https") {
            self.sns_send_unsubscribe_confirmation(scope, &sub).await?;
        }
        Ok(())
    }

    /// `SetSubscriptionAttributes`.
    pub async fn sns_set_subscription_attribute(
        &self,
        scope: &Scope,
        topic: &str,
        id: &str,
        attribute: &str,
        value: Option<&str>,
    ) -> Result<(), SnsError> {
        let value = value.unwrap_or("");
        check_subscription_attribute(attribute, value)?;
        let key = Self::subscription_key(scope, topic, id);
        loop {
            let (mut sub, version) = self
                .sns_get_subscription(scope, topic, id)
                .await?
                .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
            if value.is_empty() {
                sub.attributes.remove(attribute);
            } else {
                sub.attributes.insert(attribute.into(), value.into());
            }
            let data = serde_json::to_value(&sub).expect("record serialises");
            match self.store.update_resource(&key, &data, version).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => {
                    return Err(SnsError::NotFound("Subscription does not exist".into()))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `GetSubscriptionAttributes`.
    pub async fn sns_subscription_attributes(
        &self,
        scope: &Scope,
        topic: &str,
        id: &str,
    ) -> Result<BTreeMap<String, String>, SnsError> {
        let (sub, _) = self
            .sns_get_subscription(scope, topic, id)
            .await?
            .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
        let mut out = BTreeMap::new();
        out.insert("SubscriptionArn".into(), self.subscription_arn(scope, &sub));
        out.insert("TopicArn".into(), self.topic_arn(scope, &sub.topic));
        out.insert("Owner".into(), sub.owner.clone());
        out.insert("Protocol".into(), sub.protocol.clone());
        out.insert("Endpoint".into(), sub.endpoint.clone());
        out.insert("PendingConfirmation".into(), (!sub.confirmed).to_string());
        out.insert("ConfirmationWasAuthenticated".into(), "false".into());
        out.insert("RawMessageDelivery".into(), "false".into());
        out.insert(
            "EffectiveDeliveryPolicy".into(),
            effective_delivery_policy(&self.settings.sns),
        );
        for (k, v) in sub.attributes {
            out.insert(k, v);
        }
        Ok(out)
    }
}

fn check_subscription_attribute(name: &str, value: &str) -> Result<(), SnsError> {
    if !SETTABLE_SUBSCRIPTION_ATTRIBUTES.contains(&name) {
        return Err(invalid(format!(
            "Invalid parameter: Attributes Reason: {name} is not supported by Sesame"
        )));
    }
    match name {
        "RawMessageDelivery" if !matches!(value, "" | "true" | "false") => {
            Err(invalid("Invalid parameter: RawMessageDelivery"))
        }
        "DeliveryPolicy" if !value.is_empty() => serde_json::from_str::<serde_json::Value>(value)
            .map(|_| ())
            .map_err(|_| invalid("Invalid parameter: DeliveryPolicy")),
        _ => Ok(()),
    }
}

/// SNS's endpoint rules: `http`/`https` need a URL of that scheme, email protocols an address.
fn check_endpoint(protocol: &str, endpoint: &str) -> Result<(), SnsError> {
    let ok = match protocol {
        "http" => endpoint.starts_with("http://") && endpoint.len() > 7,
        "https" => endpoint.starts_with("https://") && endpoint.len() > 8,
        _ => sesame_mail::message::validate_address(endpoint).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid parameter: {} Endpoint",
            match protocol {
                "http" => "HTTP",
                "https" => "HTTPS",
                _ => "Email address",
            }
        )))
    }
}

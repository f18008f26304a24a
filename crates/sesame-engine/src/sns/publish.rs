//! Publishing (SNS `Publish`) and the handshake messages (DECISIONS ).
//!
//! [`Engine::sns_publish`] is the one entry point: the API's `Publish` calls it, and SES event
//! publishing (configuration-set SNS destinations, identity notification topics) will call it
//! with the event JSON as `message`. It fans out to the topic's *confirmed* subscriptions at
//! once and durably: HTTP(S) subscribers get a signed envelope in the delivery outbox
//! ([`super::outbox`]), email subscribers a system email through the normal queue
//! (`enqueue_system_message`). When it returns, every delivery is on disk.

use sesame_events::sns::{self as env, message_types as mt, Envelope};
use sesame_mail::message::{self as msg, SimpleMessage, Text};
use sesame_model::Scope;

use super::outbox::DeliveryRecord;
use super::{uuid_v4, SnsError, SubscriptionRecord};
use crate::{now_ms, Engine};

/// `meta.system` of SNS emails in the queue.
pub const SYSTEM_SNS_EMAIL: &str = "sns-email";

/// What to publish.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PublishRequest {
    pub subject: Option<String>,
    pub message: String,
    /// `MessageAttributes` in the envelope shape (`{"Name": {"Type": …, "Value": …}}`).
    pub message_attributes: Option<serde_json::Value>,
    /// `MessageStructure=json`: messages for particular protocols (`http`, `https`, `email`,
    /// `email-json`); the others get `message` (the `default` entry).
    pub per_protocol: std::collections::BTreeMap<String, String>,
    /// The SNS `MessageId` to use; `None` (API `Publish`) draws a new one. Event publishing
    /// passes an id derived from the event and the topic, so a repeated publication (after a
    /// crash or a failed hand-off) carries the same `MessageId` (Q-160: stable ids reused on
    /// retries, consumers de-duplicate).
    pub message_id: Option<String>,
}

impl PublishRequest {
    /// The message a subscriber of `protocol` gets.
    pub fn message_for(&self, protocol: &str) -> &str {
        self.per_protocol
            .get(protocol)
            .map_or(self.message.as_str(), String::as_str)
    }
}

fn is_http(protocol: &str) -> bool {
    protocol == "http" || protocol == "https"
}

impl Engine {
    pub fn sns_subscribe_url(&self, scope: &Scope, topic: &str, token: &str) -> String {
        format!(
            "{}/?Action=ConfirmSubscription&TopicArn={}&Token={token}",
            self.sns_base_url(scope.region.as_str()),
            self.topic_arn(scope, topic)
        )
    }

    pub fn sns_unsubscribe_url(&self, scope: &Scope, sub: &SubscriptionRecord) -> String {
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={}&Token={}",
            self.sns_base_url(scope.region.as_str()),
            self.subscription_arn(scope, sub),
            sub.unsubscribe_token
        )
    }

    /// Publishes `req` to the topic named by `topic_arn` — the entry point for SES event
    /// publishing (configuration-set SNS destinations, identity notification topics), which
    /// hold topic ARNs. The ARN's account and region are the topic's scope; a malformed ARN or
    /// an unserved region is `InvalidParameter`, a missing topic `NotFound`. Durable when it
    /// returns; the `MessageId` is returned.
    pub async fn sns_publish_to_arn(
        &self,
        topic_arn: &str,
        req: &PublishRequest,
    ) -> Result<String, SnsError> {
        let bad = || SnsError::InvalidParameter("Invalid parameter: TopicArn".into());
        let arn = super::parse_arn(topic_arn, false).ok_or_else(bad)?;
        if topic_arn.split(':').nth(1) != Some(self.settings.partition.as_str()) {
            return Err(bad());
        }
        let region = self
            .settings
            .regions
            .iter()
            .find(|r| r.as_str() == arn.region)
            .ok_or_else(bad)?
            .clone();
        let account = arn.account.parse().map_err(|_| bad())?;
        self.sns_publish(&Scope::new(account, region), &arn.topic, req)
            .await
    }

    /// Publishes `req` to the topic `topic` of `scope`; returns the SNS `MessageId`.
    /// `NotFound` when the topic does not exist.
    pub async fn sns_publish(
        &self,
        scope: &Scope,
        topic: &str,
        req: &PublishRequest,
    ) -> Result<String, SnsError> {
        let topic_rec = self.sns_require_topic(scope, topic).await?;
        let message_id = req.message_id.clone().unwrap_or_else(uuid_v4);
        let now = now_ms();
        let subs: Vec<SubscriptionRecord> = self
            .sns_subscriptions_of(scope, topic)
            .await?
            .into_iter()
            .filter(|s| s.confirmed)
            .collect();
        let signing = if subs.iter().any(|s| s.protocol != "email") {
            Some(self.sns_signing_key().await?)
        } else {
            None
        };
        for sub in &subs {
            let envelope = Envelope {
                message_type: mt::NOTIFICATION.into(),
                message_id: message_id.clone(),
                topic_arn: self.topic_arn(scope, topic),
                subject: req.subject.clone(),
                message: req.message_for(&sub.protocol).to_string(),
                timestamp: sesame_events::timestamp::iso_timestamp(now),
                token: None,
                subscribe_url: None,
                unsubscribe_url: Some(self.sns_unsubscribe_url(scope, sub)),
                signature_version: topic_rec.signature_version().into(),
                signing_cert_url: String::new(),
                message_attributes: req.message_attributes.clone(),
            };
            match sub.protocol.as_str() {
                "email" => {
                    let subject = req
                        .subject
                        .clone()
                        .unwrap_or_else(|| "AWS Notification Message".into());
                    let body = format!(
                        "{}\r\n\r\n--\r\nIf you wish to stop receiving notifications from this \
                         topic, please click or visit the link below to unsubscribe:\r\n{}\r\n",
                        req.message_for("email"),
                        self.sns_unsubscribe_url(scope, sub)
                    );
                    self.sns_email(scope, sub, &subject, body, &message_id)
                        .await?;
                }
                _ => {
                    let k = signing.as_ref().expect("loaded for non-email subscribers");
                    let envelope = Envelope {
                        signing_cert_url: self.sns_cert_url(scope.region.as_str(), &k.cert_id),
                        ..envelope
                    };
                    let raw = sub
                        .attributes
                        .get("RawMessageDelivery")
                        .is_some_and(|v| v == "true");
                    let body = if raw && is_http(&sub.protocol) {
                        envelope.message.clone()
                    } else {
                        envelope.signed_body(&k.key).map_err(|e| {
                            SnsError::Engine(crate::EngineError::Internal(e.to_string()))
                        })?
                    };
                    if is_http(&sub.protocol) {
                        self.sns_post(scope, sub, &envelope, body, raw).await?;
                    } else {
                        let subject = req
                            .subject
                            .clone()
                            .unwrap_or_else(|| "AWS Notification Message".into());
                        self.sns_email(scope, sub, &subject, body, &message_id)
                            .await?;
                    }
                }
            }
        }
        tracing::debug!(account = %scope.account, region = %scope.region, topic, %message_id, subscribers = subs.len(), "SNS message published");
        Ok(message_id)
    }

    /// Queues one HTTP(S) post of `envelope` (already rendered as `body`) to `sub`.
    async fn sns_post(
        &self,
        scope: &Scope,
        sub: &SubscriptionRecord,
        envelope: &Envelope,
        body: String,
        raw: bool,
    ) -> Result<(), SnsError> {
        let sub_arn = self.subscription_arn(scope, sub);
        let mut headers = vec![
            (
                "x-amz-sns-message-type".to_string(),
                envelope.message_type.clone(),
            ),
            (
                "x-amz-sns-message-id".to_string(),
                envelope.message_id.clone(),
            ),
            (
                "x-amz-sns-topic-arn".to_string(),
                envelope.topic_arn.clone(),
            ),
        ];
        // SNS sends the subscription ARN with notifications and unsubscribe confirmations;
        // a subscription that is not confirmed has none yet.
        if envelope.message_type != mt::SUBSCRIPTION_CONFIRMATION {
            headers.push(("x-amz-sns-subscription-arn".to_string(), sub_arn.clone()));
        }
        if raw {
            headers.push(("x-amz-sns-rawdelivery".to_string(), "true".to_string()));
        }
        headers.push((
            "Content-Type".to_string(),
            "text/plain; charset=UTF-8".to_string(),
        ));
        headers.push((
            "User-Agent".to_string(),
            "Amazon Simple Notification Service Agent".to_string(),
        ));
        let now = now_ms();
        self.sns_enqueue_delivery(&DeliveryRecord {
            id: uuid_v4(),
            url: sub.endpoint.clone(),
            headers,
            body,
            topic_arn: envelope.topic_arn.clone(),
            subscription_arn: sub_arn,
            message_id: envelope.message_id.clone(),
            message_type: envelope.message_type.clone(),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            lease_until: 0,
            lease_node: String::new(),
            last_error: None,
        })
        .await
    }

    /// Queues an email from the service to an email(-json) subscriber.
    async fn sns_email(
        &self,
        scope: &Scope,
        sub: &SubscriptionRecord,
        subject: &str,
        body: String,
        sns_message_id: &str,
    ) -> Result<(), SnsError> {
        let sd = &self.settings.service_domain;
        let now = now_ms();
        let m = SimpleMessage {
            from: format!("no-reply@{sd}"),
            to: vec![sub.endpoint.clone()],
            subject: Text::new(subject.to_string()),
            text: Some(Text::new(body)),
            ..Default::default()
        };
        let id = msg::new_message_id(now.max(0) as u64, rand::random());
        let raw = msg::finalize(
            &msg::build_simple(&m),
            &id,
            &crate::templates::rfc5322_date(now),
            &format!("email.{sd}"),
        );
        self.enqueue_system_message(
            scope,
            &id,
            SYSTEM_SNS_EMAIL,
            std::slice::from_ref(&sub.endpoint),
            raw,
            serde_json::json!({
                "sns_subscription": self.subscription_arn(scope, sub),
                "sns_message_id": sns_message_id,
            }),
        )
        .await?;
        Ok(())
    }

    /// Sends the confirmation request of a pending subscription: a signed
    /// `SubscriptionConfirmation` post for HTTP(S), an email with the `SubscribeURL` for email
    /// protocols (the JSON envelope as the body for `email-json`).
    pub(super) async fn sns_request_confirmation(
        &self,
        scope: &Scope,
        sub: &SubscriptionRecord,
    ) -> Result<(), SnsError> {
        let topic_arn = self.topic_arn(scope, &sub.topic);
        let subscribe_url = self.sns_subscribe_url(scope, &sub.topic, &sub.token);
        let topic = self.sns_get_topic(scope, &sub.topic).await?;
        let signature_version = topic
            .as_ref()
            .map_or("2", |t| t.signature_version())
            .to_string();
        if sub.protocol == "email" {
            let display = topic
                .and_then(|t| t.attributes.get("DisplayName").cloned())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| sub.topic.clone());
            let body = format!(
                "You have chosen to subscribe to the topic:\r\n{topic_arn}\r\n\r\n\
                 To confirm this subscription, click or visit the link below (If this was in \
                 error no action is necessary):\r\n{subscribe_url}\r\n"
            );
            return self
                .sns_email(
                    scope,
                    sub,
                    &format!("{display} - Subscription Confirmation"),
                    body,
                    "",
                )
                .await;
        }
        let k = self.sns_signing_key().await?;
        let envelope = Envelope {
            message_type: mt::SUBSCRIPTION_CONFIRMATION.into(),
            message_id: uuid_v4(),
            topic_arn: topic_arn.clone(),
            subject: None,
            message: env::subscription_confirmation_message(&topic_arn),
            timestamp: sesame_events::timestamp::iso_timestamp(now_ms()),
            token: Some(sub.token.clone()),
            subscribe_url: Some(subscribe_url),
            unsubscribe_url: None,
            signature_version,
            signing_cert_url: self.sns_cert_url(scope.region.as_str(), &k.cert_id),
            message_attributes: None,
        };
        let body = envelope
            .signed_body(&k.key)
            .map_err(|e| SnsError::Engine(crate::EngineError::Internal(e.to_string())))?;
        if is_http(&sub.protocol) {
            self.sns_post(scope, sub, &envelope, body, false).await
        } else {
            self.sns_email(
                scope,
                sub,
                "AWS Notification - Subscription Confirmation",
                body,
                "",
            )
            .await
        }
    }

    /// The `UnsubscribeConfirmation` an HTTP(S) endpoint gets when its subscription is
    /// removed; its `SubscribeURL` would re-confirm, but the subscription is gone, so Sesame
    /// answers it with `InvalidParameter` (resubscribe with `Subscribe`).
    pub(super) async fn sns_send_unsubscribe_confirmation(
        &self,
        scope: &Scope,
        sub: &SubscriptionRecord,
    ) -> Result<(), SnsError> {
        let k = self.sns_signing_key().await?;
        let topic_arn = self.topic_arn(scope, &sub.topic);
        let signature_version = self
            .sns_get_topic(scope, &sub.topic)
            .await?
            .map_or("2".to_string(), |t| t.signature_version().to_string());
        let envelope = Envelope {
            message_type: mt::UNSUBSCRIBE_CONFIRMATION.into(),
            message_id: uuid_v4(),
            topic_arn: topic_arn.clone(),
            subject: None,
            message: env::unsubscribe_confirmation_message(
                &self.subscription_arn(scope, sub),
                &topic_arn,
            ),
            timestamp: sesame_events::timestamp::iso_timestamp(now_ms()),
            token: Some(sub.token.clone()),
            subscribe_url: Some(self.sns_subscribe_url(scope, &sub.topic, &sub.token)),
            unsubscribe_url: None,
            signature_version,
            signing_cert_url: self.sns_cert_url(scope.region.as_str(), &k.cert_id),
            message_attributes: None,
        };
        let body = envelope
            .signed_body(&k.key)
            .map_err(|e| SnsError::Engine(crate::EngineError::Internal(e.to_string())))?;
        self.sns_post(scope, sub, &envelope, body, false).await
    }

    /// An `UnsubscribeURL` was fetched: checks its token and unsubscribes.
    pub async fn sns_unsubscribe_by_link(
        &self,
        scope: &Scope,
        topic: &str,
        id: &str,
        token: &str,
    ) -> Result<(), SnsError> {
        let (sub, _) = self
            .sns_get_subscription(scope, topic, id)
            .await?
            .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
        if !super::constant_eq(sub.unsubscribe_token.as_bytes(), token.as_bytes()) {
            return Err(SnsError::Authorization(
                "The unsubscribe link is not valid".into(),
            ));
        }
        self.sns_unsubscribe(scope, topic, id).await
    }
}

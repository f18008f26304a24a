//! SNS handlers (DECISIONS Q-167..Q-169; model `sns.json`): the generated `SnsApi` trait,
//! implemented over `sesame-engine`'s `sns` module. Operations not listed keep the generated
//! default, a `NotImplemented` error naming the operation. [`public`] serves the unsigned
//! endpoints SNS subscribers fetch: `SigningCertURL`, `SubscribeURL`, `UnsubscribeURL`.

pub mod public;

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sesame_awsproto::generated::sns::{self as w, SnsApi};
use sesame_awsproto::{ApiError, Service};
use sesame_engine::sns::publish::PublishRequest;
use sesame_engine::sns::{SnsArn, SnsError, SubscriptionRecord};
use sesame_engine::{Engine, EngineError};

use crate::RequestCtx;

pub struct Sns {
    pub engine: Engine,
}

type R<T> = Result<T, ApiError>;

/// Page size of `ListTopics`, `ListSubscriptions`, `ListSubscriptionsByTopic` (SNS: 100).
const PAGE: usize = 100;
/// SNS message size limit (256 KiB, `Publish`).
const MAX_MESSAGE_BYTES: usize = 262_144;

/// The one mapping from [`SnsError`] to the model's error shapes.
pub fn err(e: SnsError) -> ApiError {
    let s = Service::Sns;
    match e {
        SnsError::NotFound(m) => ApiError::from_shape(s, "NotFoundException", m),
        SnsError::InvalidParameter(m) => ApiError::from_shape(s, "InvalidParameterException", m),
        SnsError::Authorization(m) => ApiError::from_shape(s, "AuthorizationErrorException", m),
        SnsError::ResourceNotFound(m) => ApiError::from_shape(s, "ResourceNotFoundException", m),
        SnsError::TagLimitExceeded(m) => ApiError::from_shape(s, "TagLimitExceededException", m),
        SnsError::Engine(EngineError::BadRequest(m)) => {
            ApiError::from_shape(s, "InvalidParameterException", m)
        }
        SnsError::Engine(EngineError::Internal(m)) => {
            tracing::error!(error = %m, "internal error");
            ApiError::internal(s)
        }
        SnsError::Engine(other) => {
            tracing::error!(error = %other, "unexpected engine error");
            ApiError::internal(s)
        }
    }
}

fn invalid(m: impl Into<String>) -> ApiError {
    err(SnsError::InvalidParameter(m.into()))
}

impl Sns {
    fn topic(&self, c: &RequestCtx, arn: &str, action: &str) -> R<SnsArn> {
        self.engine
            .resolve_sns_arn(&c.scope, arn, false, "TopicArn", action, &c.caller_arn)
            .map_err(err)
    }

    fn subscription(&self, c: &RequestCtx, arn: &str, action: &str) -> R<SnsArn> {
        self.engine
            .resolve_sns_arn(
                &c.scope,
                arn,
                true,
                "SubscriptionArn",
                action,
                &c.caller_arn,
            )
            .map_err(err)
    }

    fn wire_subscription(&self, c: &RequestCtx, s: &SubscriptionRecord) -> w::Subscription {
        w::Subscription {
            // SNS lists pending subscriptions with this literal instead of an ARN.
            subscription_arn: Some(if s.confirmed {
                self.engine.subscription_arn(&c.scope, s)
            } else {
                "PendingConfirmation".into()
            }),
            owner: Some(s.owner.clone()),
            protocol: Some(s.protocol.clone()),
            endpoint: Some(s.endpoint.clone()),
            topic_arn: Some(self.engine.topic_arn(&c.scope, &s.topic)),
        }
    }

    async fn page(
        &self,
        c: &RequestCtx,
        op: &str,
        filter: &str,
        token: Option<&str>,
    ) -> R<Option<String>> {
        self.engine
            .parse_page_token(&c.scope, op, filter, token)
            .map_err(|_| invalid("Invalid parameter: NextToken"))
    }
}

#[async_trait]
impl SnsApi for Sns {
    type Ctx = RequestCtx;

    async fn create_topic(
        &self,
        c: &RequestCtx,
        i: w::CreateTopicInput,
    ) -> R<w::CreateTopicResponse> {
        let tags = i
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| sesame_engine::records::Tag {
                key: t.key,
                value: t.value,
            })
            .collect();
        let rec = self
            .engine
            .sns_create_topic(&c.scope, &i.name, i.attributes.unwrap_or_default(), tags)
            .await
            .map_err(err)?;
        Ok(w::CreateTopicResponse {
            topic_arn: Some(self.engine.topic_arn(&c.scope, &rec.name)),
        })
    }

    async fn delete_topic(&self, c: &RequestCtx, i: w::DeleteTopicInput) -> R<()> {
        let arn = self.topic(c, &i.topic_arn, "DeleteTopic")?;
        self.engine
            .sns_delete_topic(&c.scope, &arn.topic)
            .await
            .map_err(err)
    }

    async fn list_topics(&self, c: &RequestCtx, i: w::ListTopicsInput) -> R<w::ListTopicsResponse> {
        let after = self
            .page(c, "ListTopics", "", i.next_token.as_deref())
            .await?;
        let (topics, next) = self
            .engine
            .sns_list_topics(&c.scope, after.as_deref(), PAGE)
            .await
            .map_err(err)?;
        Ok(w::ListTopicsResponse {
            topics: Some(
                topics
                    .iter()
                    .map(|t| w::Topic {
                        topic_arn: Some(self.engine.topic_arn(&c.scope, &t.name)),
                    })
                    .collect(),
            ),
            next_token: next.map(|n| self.engine.page_token(&c.scope, "ListTopics", "", &n)),
        })
    }

    async fn get_topic_attributes(
        &self,
        c: &RequestCtx,
        i: w::GetTopicAttributesInput,
    ) -> R<w::GetTopicAttributesResponse> {
        let arn = self.topic(c, &i.topic_arn, "GetTopicAttributes")?;
        let attrs = self
            .engine
            .sns_topic_attributes(&c.scope, &arn.topic)
            .await
            .map_err(err)?;
        Ok(w::GetTopicAttributesResponse {
            attributes: Some(attrs),
        })
    }

    async fn set_topic_attributes(&self, c: &RequestCtx, i: w::SetTopicAttributesInput) -> R<()> {
        let arn = self.topic(c, &i.topic_arn, "SetTopicAttributes")?;
        self.engine
            .sns_set_topic_attribute(
                &c.scope,
                &arn.topic,
                &i.attribute_name,
                i.attribute_value.as_deref(),
            )
            .await
            .map_err(err)
    }

    async fn subscribe(&self, c: &RequestCtx, i: w::SubscribeInput) -> R<w::SubscribeResponse> {
        let arn = self.topic(c, &i.topic_arn, "Subscribe")?;
        let protocol = i.protocol.to_ascii_lowercase();
        let endpoint = i.endpoint.unwrap_or_default();
        let sub = self
            .engine
            .sns_subscribe(
                &c.scope,
                &arn.topic,
                &protocol,
                &endpoint,
                i.attributes.unwrap_or_default(),
            )
            .await
            .map_err(err)?;
        let show_arn = sub.confirmed || i.return_subscription_arn == Some(true);
        Ok(w::SubscribeResponse {
            subscription_arn: Some(if show_arn {
                self.engine.subscription_arn(&c.scope, &sub)
            } else {
                "pending confirmation".into()
            }),
        })
    }

    async fn confirm_subscription(
        &self,
        c: &RequestCtx,
        i: w::ConfirmSubscriptionInput,
    ) -> R<w::ConfirmSubscriptionResponse> {
        let arn = self.topic(c, &i.topic_arn, "ConfirmSubscription")?;
        let sub = self
            .engine
            .sns_confirm(&c.scope, &arn.topic, &i.token)
            .await
            .map_err(err)?;
        Ok(w::ConfirmSubscriptionResponse {
            subscription_arn: Some(self.engine.subscription_arn(&c.scope, &sub)),
        })
    }

    async fn unsubscribe(&self, c: &RequestCtx, i: w::UnsubscribeInput) -> R<()> {
        let arn = self.subscription(c, &i.subscription_arn, "Unsubscribe")?;
        let id = arn.subscription.unwrap_or_default();
        self.engine
            .sns_unsubscribe(&c.scope, &arn.topic, &id)
            .await
            .map_err(err)
    }

    async fn list_subscriptions(
        &self,
        c: &RequestCtx,
        i: w::ListSubscriptionsInput,
    ) -> R<w::ListSubscriptionsResponse> {
        let op = "ListSubscriptions";
        let after = self.page(c, op, "", i.next_token.as_deref()).await?;
        let (subs, next) = self
            .engine
            .sns_list_subscriptions(&c.scope, None, after.as_deref(), PAGE)
            .await
            .map_err(err)?;
        Ok(w::ListSubscriptionsResponse {
            subscriptions: Some(subs.iter().map(|s| self.wire_subscription(c, s)).collect()),
            next_token: next.map(|n| self.engine.page_token(&c.scope, op, "", &n)),
        })
    }

    async fn list_subscriptions_by_topic(
        &self,
        c: &RequestCtx,
        i: w::ListSubscriptionsByTopicInput,
    ) -> R<w::ListSubscriptionsByTopicResponse> {
        let op = "ListSubscriptionsByTopic";
        let arn = self.topic(c, &i.topic_arn, op)?;
        let after = self
            .page(c, op, &arn.topic, i.next_token.as_deref())
            .await?;
        self.engine
            .sns_require_topic(&c.scope, &arn.topic)
            .await
            .map_err(err)?;
        let (subs, next) = self
            .engine
            .sns_list_subscriptions(&c.scope, Some(&arn.topic), after.as_deref(), PAGE)
            .await
            .map_err(err)?;
        Ok(w::ListSubscriptionsByTopicResponse {
            subscriptions: Some(subs.iter().map(|s| self.wire_subscription(c, s)).collect()),
            next_token: next.map(|n| self.engine.page_token(&c.scope, op, &arn.topic, &n)),
        })
    }

    async fn get_subscription_attributes(
        &self,
        c: &RequestCtx,
        i: w::GetSubscriptionAttributesInput,
    ) -> R<w::GetSubscriptionAttributesResponse> {
        let arn = self.subscription(c, &i.subscription_arn, "GetSubscriptionAttributes")?;
        let attrs = self
            .engine
            .sns_subscription_attributes(
                &c.scope,
                &arn.topic,
                arn.subscription.as_deref().unwrap_or_default(),
            )
            .await
            .map_err(err)?;
        Ok(w::GetSubscriptionAttributesResponse {
            attributes: Some(attrs),
        })
    }

    async fn set_subscription_attributes(
        &self,
        c: &RequestCtx,
        i: w::SetSubscriptionAttributesInput,
    ) -> R<()> {
        let arn = self.subscription(c, &i.subscription_arn, "SetSubscriptionAttributes")?;
        self.engine
            .sns_set_subscription_attribute(
                &c.scope,
                &arn.topic,
                arn.subscription.as_deref().unwrap_or_default(),
                &i.attribute_name,
                i.attribute_value.as_deref(),
            )
            .await
            .map_err(err)
    }

    async fn tag_resource(
        &self,
        c: &RequestCtx,
        i: w::TagResourceRequest,
    ) -> R<w::TagResourceResponse> {
        let arn = self.topic(c, &i.resource_arn, "TagResource")?;
        let tags: Vec<_> = i
            .tags
            .into_iter()
            .map(|t| sesame_engine::records::Tag {
                key: t.key,
                value: t.value,
            })
            .collect();
        self.engine
            .sns_retag_topic(&c.scope, &arn.topic, &tags, &[])
            .await
            .map_err(err)?;
        Ok(w::TagResourceResponse {})
    }

    async fn untag_resource(
        &self,
        c: &RequestCtx,
        i: w::UntagResourceRequest,
    ) -> R<w::UntagResourceResponse> {
        let arn = self.topic(c, &i.resource_arn, "UntagResource")?;
        self.engine
            .sns_retag_topic(&c.scope, &arn.topic, &[], &i.tag_keys)
            .await
            .map_err(err)?;
        Ok(w::UntagResourceResponse {})
    }

    async fn list_tags_for_resource(
        &self,
        c: &RequestCtx,
        i: w::ListTagsForResourceRequest,
    ) -> R<w::ListTagsForResourceResponse> {
        let arn = self.topic(c, &i.resource_arn, "ListTagsForResource")?;
        let tags = self
            .engine
            .sns_topic_tags(&c.scope, &arn.topic)
            .await
            .map_err(err)?;
        Ok(w::ListTagsForResourceResponse {
            tags: Some(
                tags.into_iter()
                    .map(|t| w::Tag {
                        key: t.key,
                        value: t.value,
                    })
                    .collect(),
            ),
        })
    }

    async fn publish(&self, c: &RequestCtx, i: w::PublishInput) -> R<w::PublishResponse> {
        if i.phone_number.is_some() || (i.target_arn.is_some() && i.topic_arn.is_none()) {
            // no SMS, no mobile push endpoints.
            return Err(invalid(
                "Invalid parameter: Sesame publishes to topics only (TopicArn)",
            ));
        }
        let Some(topic_arn) = i.topic_arn.as_deref() else {
            return Err(invalid(
                "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
            ));
        };
        let arn = self.topic(c, topic_arn, "Publish")?;
        if i.message.is_empty() {
            return Err(invalid("Invalid parameter: Empty message"));
        }
        if i.message.len() > MAX_MESSAGE_BYTES {
            return Err(invalid("Invalid parameter: Message too long"));
        }
        if let Some(s) = &i.subject {
            let ok = !s.is_empty()
                && s.chars().count() <= 100
                && s.chars().all(|ch| !ch.is_control() && ch.is_ascii());
            if !ok {
                return Err(invalid("Invalid parameter: Subject"));
            }
        }
        if i.message_group_id.is_some() || i.message_deduplication_id.is_some() {
            return Err(invalid(
                "Invalid parameter: The request includes MessageGroupId or \
                 MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        let mut per_protocol = BTreeMap::new();
        let message = match i.message_structure.as_deref() {
            None => i.message,
            // MessageStructure=json: a JSON object of strings with at least `default`; the keys
            // of Sesame's protocols override it for their subscribers.
            Some("json") => {
                let v: serde_json::Value = serde_json::from_str(&i.message).map_err(|_| {
                    invalid(
                        "Invalid parameter: Message Structure - JSON message body failed to parse",
                    )
                })?;
                let Some(obj) = v.as_object() else {
                    return Err(invalid(
                        "Invalid parameter: Message Structure - JSON message body failed to parse",
                    ));
                };
                let Some(default) = obj.get("default").and_then(|d| d.as_str()) else {
                    return Err(invalid(
                        "Invalid parameter: Message Structure - No default entry in JSON message body",
                    ));
                };
                for p in sesame_engine::sns::PROTOCOLS {
                    if let Some(m) = obj.get(*p).and_then(|m| m.as_str()) {
                        per_protocol.insert(p.to_string(), m.to_string());
                    }
                }
                default.to_string()
            }
            Some(_) => return Err(invalid("Invalid parameter: MessageStructure")),
        };
        let message_attributes = match i.message_attributes {
            None => None,
            Some(m) if m.is_empty() => None,
            Some(m) => Some(envelope_attributes(m)?),
        };
        let req = PublishRequest {
            subject: i.subject,
            message,
            message_attributes,
            per_protocol,
            message_id: None,
        };
        let id = self
            .engine
            .sns_publish(&c.scope, &arn.topic, &req)
            .await
            .map_err(err)?;
        Ok(w::PublishResponse {
            message_id: Some(id),
            sequence_number: None,
        })
    }
}

/// `MessageAttributes` as the envelope carries them: `{"Name": {"Type", "Value"}}`, binary
/// values base64.
fn envelope_attributes(m: BTreeMap<String, w::MessageAttributeValue>) -> R<serde_json::Value> {
    let mut out = serde_json::Map::new();
    for (name, v) in m {
        let base = v.data_type.split('.').next().unwrap_or("");
        let value = match base {
            "String" | "Number" => v.string_value.clone(),
            "Binary" => v.binary_value.as_ref().map(|b| B64.encode(&b.0)),
            _ => None,
        };
        let Some(value) = value else {
            return Err(ApiError::from_shape(
                Service::Sns,
                "InvalidParameterValueException",
                format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                ),
            ));
        };
        out.insert(
            name,
            serde_json::json!({"Type": v.data_type, "Value": value}),
        );
    }
    Ok(serde_json::Value::Object(out))
}

//! Event publishing: every committed SES event is handed, at least once and in order per
//! message (DECISIONS Q-160), to the destinations it matches (spec G-36..G-39, G-57..G-61).
//!
//! The durable part is the store's publishing outbox (`event_dispatch`, migration 0009): each
//! appended event gets a row in the same transaction, so a committed event is always
//! dispatched and nothing is lost across restarts. The dispatcher loop
//! (`sesame_publish::events`) claims rows with a lease — only the earliest pending row of each
//! message, so a message's events go out in commit order — and calls
//! [`Engine::dispatch_event`], which hands the event to each destination's own durable queue:
//!
//! - **SNS event destinations** of the message's configuration set ([`matching`]): the event
//!   record JSON (`eventType`, G-39) as the SNS `Message` (G-38), through
//!   [`Engine::sns_publish_to_arn`], which writes signed deliveries durably before returning.
//! - **Identity notification topics** (v1 `SetIdentityNotificationTopic`, G-57): for
//!   `Bounce`, `Complaint` and `Delivery`, the notification JSON (`notificationType`, G-60)
//!   to the governing identity's topic, with headers only when enabled.
//!
//! Other destination kinds (EventBridge, Firehose, a broker, CloudWatch counters) plug in as
//! further hand-offs in [`Engine::dispatch_event`]: each must be durable when it returns, or
//! the row is retried (and every hand-off of that event repeated — consumers de-duplicate by
//! the event's stable ids, Q-160).
//!
//! A topic that no longer exists, or that belongs to another account, drops that one
//! publication with a warning (SES drops events for a deleted topic; Sesame has no
//! cross-account topic permissions, so a destination can never publish into another
//! account). A store failure retries the whole event with backoff.

pub mod matching;

use serde_json::Value;
use sesame_model::{DispatchItem, EventRecord, Scope};

use crate::error::EngineError;
use crate::records::{kind, IdentityRecord};
use crate::sinks::{self, Framing, SinkRecord, SinkTarget};
use crate::sns::publish::PublishRequest;
use crate::sns::SnsError;
use crate::Engine;

/// Delay before a failed hand-off is tried again: 1 s doubling, at most 5 minutes. The row
/// keeps blocking its message's later events meanwhile (order, Q-160).
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(0, 20) as u32;
    1_000i64.saturating_mul(1i64 << exp).min(300_000)
}

/// What one dispatch did (for logs and tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// SNS `MessageId`s of event-destination publications.
    pub event_destinations: Vec<String>,
    /// SNS `MessageId`s of identity notifications.
    pub identity_notifications: Vec<String>,
    /// Publications dropped (topic gone or not the account's), with the reason.
    pub dropped: Vec<String>,
    /// Records for stream and bus sinks (Firehose streams, EventBridge rules): the event
    /// counts as dispatched once the caller has written them (`sesame-publish`).
    pub sink_records: Vec<SinkRecord>,
    /// CloudWatch destination counts, for the caller's metrics registry.
    pub cloudwatch: Vec<CloudWatchCount>,
}

/// One count of a CloudWatch event destination (G-33, Q-175): metric `metric` (the event type,
/// `RenderingFailure` without a space, Z-12) with the destination's dimension values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudWatchCount {
    pub configuration_set: String,
    pub event_destination: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
}

impl Engine {
    /// Claims due events of the publishing outbox (see the module docs).
    pub async fn claim_event_dispatch(
        &self,
        node: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DispatchItem>, EngineError> {
        Ok(self
            .store
            .claim_event_dispatch(node, now_ms, lease_ms, limit)
            .await?)
    }

    /// Marks events dispatched.
    pub async fn finish_event_dispatch(
        &self,
        node: &str,
        seqs: &[i64],
    ) -> Result<u64, EngineError> {
        Ok(self.store.finish_event_dispatch(node, seqs).await?)
    }

    /// Puts an event back after a failed dispatch, due after [`retry_delay_ms`].
    pub async fn retry_event_dispatch(
        &self,
        node: &str,
        item: &DispatchItem,
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let due = now_ms.saturating_add(retry_delay_ms(item.attempts));
        Ok(self.store.retry_event_dispatch(node, item.seq, due).await?)
    }

    /// Hands one event to every destination it matches. Durable when it returns `Ok`; an
    /// `Err` means "try again later" (see the module docs).
    pub async fn dispatch_event(&self, event: &EventRecord) -> Result<DispatchReport, EngineError> {
        let mut report = DispatchReport::default();
        // The stored form keeps fields only identity notifications show (`remoteMtaIp`);
        // every event destination gets the event record without them (G-60, Q-157).
        let record = sesame_events::stored::event_record(&event.data);
        let data: &Value = &record;
        let event_type = event.event_type.as_str();

        // 1. Configuration-set event destinations (G-32..G-39): SNS topics, Firehose delivery
        //    streams, the EventBridge default bus, CloudWatch counters.
        if let Some(set) = matching::configuration_set_of(data) {
            let destinations = self.hot_event_destinations(&event.scope, set).await?;
            let targets = matching::event_targets(event_type, &destinations);
            let message = if targets.is_empty() {
                String::new()
            } else {
                serde_json::to_string(data)
                    .map_err(|e| EngineError::Internal(format!("event JSON: {e}")))?
            };
            for target in targets {
                match target {
                    matching::Target::Sns(topic) => {
                        if let Published::Sent(id) = self
                            .publish_event_json(
                                &event.scope,
                                &topic,
                                &message,
                                matching::publication_message_id(&event.event_id, &topic, "event"),
                                &mut report,
                            )
                            .await?
                        {
                            report.event_destinations.push(id);
                        }
                    }
                    matching::Target::Firehose(arn) => {
                        self.firehose_record(event, &arn, message.clone(), &mut report)
                            .await?;
                    }
                    matching::Target::EventBridge(arn) => {
                        self.event_bus_records(event, data, &arn, &mut report)
                            .await?;
                    }
                    matching::Target::CloudWatch {
                        destination,
                        dimensions,
                    } => {
                        if let Some(metric) = sesame_events::cloudwatch::metric_name(event_type) {
                            report.cloudwatch.push(CloudWatchCount {
                                configuration_set: set.to_string(),
                                event_destination: destination,
                                metric: metric.to_string(),
                                dimensions: sesame_events::cloudwatch::dimension_values(
                                    data,
                                    &dimensions,
                                ),
                            });
                        }
                    }
                }
            }
        }

        // 2. Identity notification topics (G-57..G-61), from the stored form: the
        //    notification shows `remoteMtaIp` when the delivery attempt knew it.
        let data = &event.data;
        if matches!(event_type, "Bounce" | "Complaint" | "Delivery") {
            if let Some(owner) = identity_scope(data) {
                let (scope, name) = owner;
                if let Some(identity) = self.notifying_identity(&scope, &name).await? {
                    if let Some((topic, headers)) = matching::identity_target(event_type, &identity)
                    {
                        if let Some(n) = matching::notification_from_event(data, headers) {
                            let message = serde_json::to_string(&n).map_err(|e| {
                                EngineError::Internal(format!("notification JSON: {e}"))
                            })?;
                            match self
                                .publish_event_json(
                                    &scope,
                                    &topic,
                                    &message,
                                    matching::publication_message_id(
                                        &event.event_id,
                                        &topic,
                                        "notification",
                                    ),
                                    &mut report,
                                )
                                .await?
                            {
                                Published::Sent(id) => report.identity_notifications.push(id),
                                Published::TopicMissing if event_type != "Delivery" => {
                                    self.repair_identity_topic(&scope, &name, event_type, &topic)
                                        .await?;
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        Ok(report)
    }

    /// The Firehose record of `event` for the stream `arn`: the event JSON plus `\n`
    /// (G-34). A stream that does not exist (any more) drops the record with a warning.
    async fn firehose_record(
        &self,
        event: &EventRecord,
        arn: &str,
        mut message: String,
        report: &mut DispatchReport,
    ) -> Result<(), EngineError> {
        let stream = match sinks::name_in_scope(sinks::stream_arn_parts(arn), &event.scope) {
            Some(name) => self.get_delivery_stream(&event.scope, name).await?,
            None => None,
        };
        let target = stream.and_then(|s| SinkTarget::parse(&s.target).ok());
        let Some(target) = target else {
            tracing::warn!(stream = arn, account = %event.scope.account, "event not published: the delivery stream does not exist");
            report
                .dropped
                .push(format!("{arn}: no such delivery stream"));
            return Ok(());
        };
        message.push('\n');
        report.sink_records.push(SinkRecord {
            target,
            framing: Framing::Line,
            id: matching::publication_message_id(&event.event_id, arn, "firehose"),
            body: message.into_bytes(),
            headers: Vec::new(),
        });
        Ok(())
    }

    /// The EventBridge envelope of `event` (its event record `data`) on the bus `arn`,
    /// one record per enabled rule of the bus whose pattern matches it. Only the account's
    /// default bus exists.
    async fn event_bus_records(
        &self,
        event: &EventRecord,
        data: &Value,
        arn: &str,
        report: &mut DispatchReport,
    ) -> Result<(), EngineError> {
        let bus = match sinks::name_in_scope(sinks::bus_arn_parts(arn), &event.scope) {
            Some(name) if name == sinks::DEFAULT_BUS => name,
            _ => {
                report.dropped.push(format!("{arn}: no such event bus"));
                return Ok(());
            }
        };
        let id = matching::publication_message_id(&event.event_id, arn, "eventbridge");
        let resources = data
            .pointer("/mail/sourceArn")
            .and_then(Value::as_str)
            .map(|a| vec![a.to_string()])
            .unwrap_or_default();
        let Some(envelope) = sesame_events::eventbridge::envelope(
            data,
            &id,
            event.scope.account.as_str(),
            event.scope.region.as_str(),
            &self.settings.eventbridge_source,
            resources,
        ) else {
            return Ok(());
        };
        let body = serde_json::to_vec(&envelope)
            .map_err(|e| EngineError::Internal(format!("envelope JSON: {e}")))?;
        for rule in self.list_event_bus_rules(&event.scope, bus).await? {
            if !rule.enabled {
                continue;
            }
            let matched = match &rule.pattern {
                None => true,
                Some(p) => sesame_events::eventbridge::Pattern::parse(p)
                    .map(|p| p.matches(&envelope))
                    .unwrap_or(false),
            };
            if !matched {
                continue;
            }
            let Ok(target) = SinkTarget::parse(&rule.target) else {
                continue;
            };
            let mut headers = vec![("X-Event-Id".to_string(), id.clone())];
            if let Some(key) = self.rule_secret(&rule) {
                headers.push((
                    "X-Sesame-Signature".to_string(),
                    sinks::signature_header(&key, &body),
                ));
            }
            report.sink_records.push(SinkRecord {
                target,
                framing: Framing::Envelope,
                // One record per (envelope, rule): two rules sending to one JetStream subject
                // are two messages, a retry of either is a duplicate.
                id: format!("{id}/{}", rule.name),
                body: body.clone(),
                headers,
            });
        }
        Ok(())
    }

    /// Publishes `message` to `topic` on behalf of `owner`.
    async fn publish_event_json(
        &self,
        owner: &Scope,
        topic: &str,
        message: &str,
        message_id: String,
        report: &mut DispatchReport,
    ) -> Result<Published, EngineError> {
        let topic_account = topic.split(':').nth(4).unwrap_or_default();
        if topic_account != owner.account.as_str() {
            let why = format!("{topic}: not a topic of account {}", owner.account);
            tracing::warn!(topic, account = %owner.account, "event not published: the topic belongs to another account");
            report.dropped.push(why);
            return Ok(Published::Dropped);
        }
        let req = PublishRequest {
            message: message.to_string(),
            message_id: Some(message_id),
            ..Default::default()
        };
        match self.sns_publish_to_arn(topic, &req).await {
            Ok(id) => Ok(Published::Sent(id)),
            Err(SnsError::Engine(e)) => Err(e),
            Err(e) => {
                tracing::warn!(topic, error = %e, "event not published to its topic (SES drops events for a missing topic)");
                report.dropped.push(format!("{topic}: {e}"));
                Ok(if matches!(e, SnsError::NotFound(_)) {
                    Published::TopicMissing
                } else {
                    Published::Dropped
                })
            }
        }
    }

    /// Q-163 (c): the identity's Bounce or Complaint topic was deleted — remove that setting
    /// (and its headers flag), turn email feedback forwarding back on so bounces and
    /// complaints still reach the sender, and leave a notice for the account. The Delivery
    /// setting is never repaired. Only a deleted topic does this; a failing subscriber
    /// endpoint is retried by the SNS delivery loop instead.
    async fn repair_identity_topic(
        &self,
        scope: &Scope,
        identity: &str,
        notification_type: &str,
        topic: &str,
    ) -> Result<(), EngineError> {
        let mut changed = false;
        let r = self
            .update_identity(scope, identity, |r| {
                changed = false;
                if r.notification_topics
                    .get(notification_type)
                    .map(String::as_str)
                    == Some(topic)
                {
                    r.notification_topics.remove(notification_type);
                    r.headers_in_notifications.remove(notification_type);
                    r.feedback_forwarding_enabled = true;
                    changed = true;
                }
                Ok(())
            })
            .await;
        match r {
            Ok(_) if changed => {}
            Ok(_) | Err(EngineError::NotFound(_)) => return Ok(()), // already changed or gone
            Err(e) => return Err(e),
        }
        tracing::warn!(account = %scope.account, region = %scope.region, identity, notification_type, topic,
            "identity notification topic deleted: setting removed and email feedback forwarding re-enabled (Q-163)");
        let now = crate::now_ms();
        let notice = crate::verification::AccountNotice {
            created_at: now,
            identity: identity.to_string(),
            notice_type: "NOTIFICATION_TOPIC_REMOVED".into(),
            subject: format!("{notification_type} notifications for {identity} were turned off"),
            body: format!(
                "The SNS topic {topic} set for {notification_type} notifications of identity \
                 {identity} in {} no longer exists. The setting was removed and email feedback \
                 forwarding was turned on, so bounces and complaints are mailed to the sender. \
                 Set a new topic with SetIdentityNotificationTopic.",
                scope.region
            ),
            change: crate::verification::StatusChange {
                component: "NOTIFICATION_TOPIC".into(),
                from: topic.to_string(),
                to: String::new(),
                deadline: None,
            },
            ..Default::default()
        };
        let name = format!("{now:013}-notification-topic-{:08x}", rand::random::<u32>());
        let data = serde_json::to_value(&notice)
            .map_err(|e| EngineError::Internal(format!("notice JSON: {e}")))?;
        let key = sesame_model::ResourceKey::new(scope, kind::ACCOUNT_NOTICE, &name);
        if let Err(e) = self.store.insert_resource(&key, &data).await {
            tracing::error!(error = %e, "could not store the account notice about a deleted topic");
        }
        Ok(())
    }
}

/// The result of one publication.
enum Published {
    /// Queued for the topic's subscribers; the SNS `MessageId`.
    Sent(String),
    /// The topic does not exist (deleted).
    TopicMissing,
    /// Not published for another reason (another account's topic, an unserved region).
    Dropped,
}

impl Engine {
    /// The identity whose notification topics an event goes to, read through the send path's
    /// ≤ 1 s cache: every Delivery event needs it. Topic changes made through this
    /// engine drop the entry at once; changes on another node reach it within the cache's TTL.
    async fn notifying_identity(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<IdentityRecord>, EngineError> {
        if let Some(rec) = self.hot.identity(scope, name) {
            return Ok(Some(rec));
        }
        let rec = self.get_identity(scope, name).await?;
        if let Some(r) = &rec {
            self.hot.put_identity(scope, r);
        }
        Ok(rec)
    }
}

/// The scope and name of the identity that governs the event's message.
fn identity_scope(data: &Value) -> Option<(Scope, String)> {
    let (account, region, name) = matching::governing_identity(data)?;
    let scope = Scope::new(account.parse().ok()?, region.parse().ok()?);
    Some((scope, name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_to_five_minutes() {
        let table = [
            (0, 1_000),
            (1, 2_000),
            (2, 4_000),
            (8, 256_000),
            (9, 300_000),
            (60, 300_000),
            (-1, 1_000),
        ];
        for (attempts, want) in table {
            assert_eq!(retry_delay_ms(attempts), want, "{attempts}");
        }
    }
}

//! Email feedback forwarding (spec D-110..D-116, E-56..E-58, A-63, A-65, H-142; DECISIONS
//! every `Bounce` and `Complaint` recorded for a message is also mailed,
//! as an RFC 3464 DSN or an RFC 5965 ARF report (`sesame_mail::feedback::notice`), to the
//! message's feedback address — its Return-Path, else its source (Q-161, stored by the send
//! pipeline as `feedback_address` in the queue row's meta) — when the identity has forwarding
//! enabled or the message has no other channel for that kind of feedback
//! (`sesame_policy::forwarding::should_forward`).
//!
//! **One hook, three producers.** [`Engine::forward_feedback`] is called by capture delivery
//! (`deliver::deliver_claimed`), SMTP delivery (`deliver::smtp`) and asynchronous feedback
//! (`feedback::ingest_feedback`) with the events they are about to commit, *before* they
//! commit them: a crash in between repeats the attempt, which enqueues the same notification
//! again under the same id and finds it already there (at-least-once, de-duplicated — see
//! [`notice_id`]).
//!
//! **System messages.** A notification enters the queue through
//! [`Engine::enqueue_system_message`], not through the send pipeline: it is the operator's
//! mail, not the customer's, so it takes no quota and no sending-rate token, records no `Send`
//! (or any other) event, is never suppressed by the customer's suppression list and is not
//! DKIM-signed with the customer's keys (there is no operator key yet: it leaves unsigned). Its
//! envelope sender is null (`MAIL FROM:<>`, RFC 3464 §2, RFC 5321 §4.5.5), so a notification
//! that cannot be delivered is dropped instead of producing another one; its meta carries
//! `"system": "feedback-forward"`, which delivery recognises (`deliver::system`). It still
//! lives in the account's scope, so queue tools and the dev inbox show it with the account.

use serde_json::Value;
use sesame_events::MailInfo;
use sesame_mail::feedback::notice::{self, BounceRecipient, BounceReport, ComplaintReport, Notice};
use sesame_mail::message as msg;
use sesame_model::{AcceptOutcome, EventRecord, QueuedMessage, QuotaCheck, Scope};
use sesame_policy::forwarding::{destination_covers, should_forward, FeedbackKind};
use sesame_policy::identity;
use sha2::{Digest, Sha256};

use crate::{Engine, EngineError};

/// `meta.system` of a forwarded bounce or complaint.
pub const SYSTEM_FEEDBACK_FORWARD: &str = "feedback-forward";

/// `meta.system` of a queued message, when it is the service's own mail.
pub fn system_kind(msg: &QueuedMessage) -> Option<&str> {
    msg.meta.get("system").and_then(Value::as_str)
}

/// The id of the notification for one event: a SES-shaped message id (so the spool, the queue
/// and the dev inbox treat it like any other) whose time part is the original message's and
/// whose random part is a hash of what identifies the notification — the original message, the
/// delivery attempt or received report it came from (`occurrence`), the event type and its
/// recipients. Repeating an attempt after a crash yields the same id.
pub fn notice_id(original: &QueuedMessage, occurrence: &str, event: &EventRecord) -> String {
    let mut h = Sha256::new();
    for part in [
        original.message_id.as_str(),
        occurrence,
        event.event_type.as_str(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let body = event_body(event).cloned().unwrap_or_default();
    for key in ["bounceType", "bounceSubType", "complaintFeedbackType"] {
        h.update(
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .as_bytes(),
        );
        h.update([0]);
    }
    for r in recipients(&body) {
        h.update(r.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut random = [0u8; 16];
    random.copy_from_slice(&digest[..16]);
    msg::new_message_id(original.created_at.max(0) as u64, random)
}

/// The `bounce` / `complaint` object of an event.
fn event_body(event: &EventRecord) -> Option<&Value> {
    event
        .data
        .get("bounce")
        .or_else(|| event.data.get("complaint"))
}

fn recipients(body: &Value) -> Vec<String> {
    body.get("bouncedRecipients")
        .or_else(|| body.get("complainedRecipients"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("emailAddress").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An ISO 8601 timestamp of an event (`arrivalDate`) as an RFC 5322 date.
fn rfc5322_of_iso(iso: &str) -> Option<String> {
    let t =
        time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339).ok()?;
    Some(crate::templates::rfc5322_date(
        (t.unix_timestamp_nanos() / 1_000_000) as i64,
    ))
}

/// The other channels a message has for one kind of feedback.
struct Channels {
    forwarding_enabled: bool,
    /// Notification types with an SNS topic on the identity (`Bounce`, `Complaint`).
    topics: Vec<String>,
    /// `(Enabled, MatchingEventTypes)` of the message's configuration set's destinations.
    destinations: Vec<(Option<bool>, Vec<String>)>,
}

impl Channels {
    fn forward(&self, kind: FeedbackKind) -> bool {
        let topic = self.topics.iter().any(|t| t == kind.notification_type());
        let destination = self.destinations.iter().any(|(enabled, types)| {
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            destination_covers(*enabled, &types, kind)
        });
        should_forward(self.forwarding_enabled, topic, destination)
    }
}

impl Engine {
    /// The forwarding flag and notification topics of the message's identity, and the event
    /// destinations of its configuration set. A deleted identity counts as forwarding with no
    /// topic (D-114 default); a deleted set as one without destinations.
    async fn channels(
        &self,
        scope: &Scope,
        from_identity: Option<&str>,
        configuration_set: Option<&str>,
    ) -> Result<Channels, EngineError> {
        let identity = match from_identity {
            Some(name) => self.get_identity(scope, name).await?,
            None => None,
        };
        let mut destinations = Vec::new();
        if let Some(set) = configuration_set {
            for data in self.hot_event_destinations(scope, set).await? {
                let enabled = data.get("Enabled").and_then(Value::as_bool);
                let types = data
                    .get("MatchingEventTypes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                destinations.push((enabled, types));
            }
        }
        Ok(Channels {
            forwarding_enabled: identity
                .as_ref()
                .is_none_or(|i| i.feedback_forwarding_enabled),
            topics: identity
                .map(|i| i.notification_topics.into_keys().collect())
                .unwrap_or_default(),
            destinations,
        })
    }

    /// Enqueues a notification for every `Bounce`/`Complaint` in `events` that forwarding
    /// applies to (see the module docs). `occurrence` names what produced the events (the
    /// delivery attempt, or the received report) for [`notice_id`]; `original_report` is the
    /// DSN/ARF the ISP mailed back, attached unmodified (Q-75, H-142). Returns how many
    /// notifications are queued (new or found already queued).
    pub async fn forward_feedback(
        &self,
        original: &QueuedMessage,
        events: &[EventRecord],
        occurrence: &str,
        original_report: Option<&[u8]>,
    ) -> Result<usize, EngineError> {
        if system_kind(original).is_some() {
            return Ok(0); // never about our own notifications (they have no events anyway)
        }
        let relevant: Vec<(&EventRecord, FeedbackKind)> = events
            .iter()
            .filter_map(|e| match e.event_type.as_str() {
                sesame_events::event_types::BOUNCE => Some((e, FeedbackKind::Bounce)),
                sesame_events::event_types::COMPLAINT => Some((e, FeedbackKind::Complaint)),
                _ => None,
            })
            .collect();
        if relevant.is_empty() {
            return Ok(0);
        }
        let meta = &original.meta;
        let Some(to) = text(meta, "feedback_address") else {
            tracing::warn!(message_id = %original.message_id, "no feedback address stored with the message: feedback not forwarded");
            return Ok(0);
        };
        let to = identity::bare_address(to).to_string();
        let mail: MailInfo = serde_json::from_value(meta.get("mail").cloned().unwrap_or_default())
            .unwrap_or_default();
        let scope = &original.scope;
        let channels = self
            .channels(
                scope,
                text(meta, "from_identity"),
                text(meta, "configuration_set"),
            )
            .await?;

        let mut queued = 0;
        for (event, kind) in relevant {
            if !channels.forward(kind) {
                tracing::debug!(message_id = %original.message_id, ?kind, "feedback forwarding disabled and another channel exists: not mailed");
                continue;
            }
            let Some(body) = event_body(event) else {
                continue;
            };
            let id = notice_id(original, occurrence, event);
            let raw = self.notice_bytes(&id, original, &mail, &to, kind, body, original_report);
            let about = serde_json::json!({
                "feedback_kind": kind.notification_type(),
                "original_message_id": original.message_id,
                "feedback_id": text(body, "feedbackId"),
            });
            self.enqueue_system_message(
                scope,
                &id,
                SYSTEM_FEEDBACK_FORWARD,
                std::slice::from_ref(&to),
                raw,
                about,
            )
            .await?;
            queued += 1;
        }
        Ok(queued)
    }

    /// The complete notification for one event body; its `Message-ID` is `<id@email.<sd>>`.
    #[allow(clippy::too_many_arguments)]
    fn notice_bytes(
        &self,
        id: &str,
        original: &QueuedMessage,
        mail: &MailInfo,
        to: &str,
        kind: FeedbackKind,
        body: &Value,
        original_report: Option<&[u8]>,
    ) -> Vec<u8> {
        let sd = &self.settings.service_domain;
        let now = crate::now_ms();
        let mut notes = Vec::new();
        if let (Some(t), Some(s)) = (text(body, "bounceType"), text(body, "bounceSubType")) {
            notes.push(format!("Bounce type: {t}/{s}"));
        }
        notes.push(format!("Message ID: {}", original.message_id));
        if let Some(f) = text(body, "feedbackId") {
            notes.push(format!("Feedback ID: {f}"));
        }
        let n = Notice {
            from: match kind {
                //
                FeedbackKind::Bounce => format!("MAILER-DAEMON@{sd}"),
                FeedbackKind::Complaint => {
                    format!("complaints@{}.{sd}", original.scope.region.as_str())
                }
            },
            to: to.to_string(),
            original_headers: self.sent_headers(original, mail),
            original_report: original_report.map(<[u8]>::to_vec),
            notes,
        };
        let raw = match kind {
            FeedbackKind::Bounce => {
                let permanent_default = if text(body, "bounceType") == Some("Transient") {
                    "4.0.0"
                } else {
                    "5.0.0"
                };
                let recipients = body
                    .get("bouncedRecipients")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| {
                                Some(BounceRecipient {
                                    address: text(r, "emailAddress")?.to_string(),
                                    action: text(r, "action").unwrap_or("failed").to_string(),
                                    status: text(r, "status")
                                        .and_then(sesame_mail::feedback::status_code)
                                        .unwrap_or_else(|| permanent_default.to_string()),
                                    diagnostic_code: text(r, "diagnosticCode").map(str::to_string),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                notice::bounce_notice(
                    &n,
                    &BounceReport {
                        reporting_mta: text(body, "reportingMTA")
                            .map_or_else(|| format!("dns; {sd}"), str::to_string),
                        arrival_date: Some(crate::templates::rfc5322_date(mail.timestamp_ms)),
                        recipients,
                    },
                )
            }
            FeedbackKind::Complaint => notice::complaint_notice(
                &n,
                &ComplaintReport {
                    feedback_type: text(body, "complaintFeedbackType")
                        .unwrap_or(sesame_events::complaint_feedback_types::OTHER)
                        .to_string(),
                    user_agent: text(body, "userAgent").unwrap_or("Sesame").to_string(),
                    arrival_date: text(body, "arrivalDate").and_then(rfc5322_of_iso),
                    original_mail_from: Some(original.mail_from.clone()),
                    original_rcpt_to: recipients(body),
                    reported_domain: Some(mail.from_domain.clone()).filter(|d| !d.is_empty()),
                    reporting_mta: None,
                },
            ),
        };
        msg::finalize(
            &raw,
            id,
            &crate::templates::rfc5322_date(now),
            &format!("email.{sd}"),
        )
    }

    /// The header fields of the original message as it left (`text/rfc822-headers`): the
    /// `Date` and `Message-ID` that `finalize` gave it, then the submitted
    /// fields without `Date`, `Message-ID`, `Bcc` and `X-SES-*` — the sender recognises its
    /// message by that `Message-ID`.
    fn sent_headers(&self, original: &QueuedMessage, mail: &MailInfo) -> Vec<(String, String)> {
        let removed = |name: &str| {
            ["Date", "Message-ID", "Bcc"]
                .iter()
                .chain(msg::SES_CONTROL_HEADERS.iter())
                .any(|h| h.eq_ignore_ascii_case(name))
        };
        let mut out = vec![
            (
                "Date".to_string(),
                crate::templates::rfc5322_date(mail.timestamp_ms),
            ),
            (
                "Message-ID".to_string(),
                format!(
                    "<{}@email.{}>",
                    original.message_id, self.settings.service_domain
                ),
            ),
        ];
        out.extend(
            mail.headers
                .iter()
                .filter(|(name, _)| !removed(name))
                .cloned(),
        );
        out
    }

    /// Queues a message of the service itself (see the module docs): `raw` is written to the
    /// spool, then the queue row — null envelope sender, meta `{"system": system, …about}` —
    /// with no quota reservation and no event. Idempotent on `message_id`: a message already
    /// queued or already sent (sent-message log) is left alone. Returns whether it was new.
    pub async fn enqueue_system_message(
        &self,
        scope: &Scope,
        message_id: &str,
        system: &str,
        recipients: &[String],
        raw: Vec<u8>,
        about: Value,
    ) -> Result<bool, EngineError> {
        if self.store.find_message(message_id).await?.is_some() {
            tracing::debug!(%message_id, "system message already queued or sent");
            return Ok(false);
        }
        let now = crate::now_ms();
        let mut meta = serde_json::json!({ "system": system });
        if let (Some(m), Value::Object(extra)) = (meta.as_object_mut(), about) {
            m.extend(extra);
        }
        let queued = QueuedMessage {
            message_id: message_id.to_string(),
            scope: scope.clone(),
            mail_from: String::new(),
            recipients: recipients.to_vec(),
            meta,
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
        };
        // Nothing counted, nothing limited (negative limits mean unlimited, see
        // `QuotaCheck`): the operator's mail never uses the customer's quota.
        let quota = QuotaCheck {
            counted_recipients: 0,
            rate_tokens: 0,
            max_24h_send: -1.0,
            max_send_rate: -1.0,
            burst: 1.0,
        };
        let outcome = self
            .accept_with_body(
                message_id,
                msg::to_crlf(&raw).into_owned(),
                &[(queued, quota, Vec::new())],
                now,
            )
            .await
            .map_err(|e| EngineError::Internal(format!("accepting {message_id}: {e}")))?;
        match outcome.first() {
            Some(AcceptOutcome::Accepted) => {
                self.wake_queue();
                Ok(true)
            }
            other => Err(EngineError::Internal(format!(
                "system message {message_id} not accepted: {other:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;

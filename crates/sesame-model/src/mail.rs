//! Records of the sending path: accepted messages waiting in the queue, per-message events
//! (the durable outbox that publishing reads later), quota reservations and captured mail.
//!
//! The queue is designed for several nodes on one PostgreSQL: a node *claims* ready messages
//! with a lease (`FOR UPDATE SKIP LOCKED`), and an expired lease makes a message claimable again.

use serde::{Deserialize, Serialize};

use crate::ids::Scope;

/// A message accepted for delivery (its body is in the spool under `message_id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedMessage {
    /// SES MessageId; also the spool id of the body.
    pub message_id: String,
    pub scope: Scope,
    /// Envelope sender (RFC 5321 MAIL FROM) used for delivery.
    pub mail_from: String,
    /// Envelope recipients still to deliver.
    pub recipients: Vec<String>,
    /// Everything delivery needs that is not in the body (identity, DKIM choice, configuration
    /// set, tags, feedback address…), as the engine wrote it.
    pub meta: serde_json::Value,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms before which the message is not claimable.
    pub next_attempt_at: i64,
    pub attempts: i64,
}

/// Quota parameters checked atomically with the enqueue (spec A; DECISIONS,
///
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaCheck {
    /// Recipients counted against the rolling 24 h quota (simulator recipients excluded).
    pub counted_recipients: u32,
    /// Tokens taken from the per-second bucket (simulator recipients included, Q-106).
    pub rate_tokens: u32,
    /// `Max24HourSend`; negative means unlimited.
    pub max_24h_send: f64,
    /// `MaxSendRate` (refill per second) — bucket capacity is `max(1, burst)`.
    pub max_send_rate: f64,
    pub burst: f64,
}

/// Outcome of one message of an accept batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptOutcome {
    Accepted,
    /// `sent_last_24h + counted_recipients > max_24h_send` (Q-105: all or nothing).
    DailyQuotaExceeded,
    /// The token bucket has fewer than `rate_tokens` tokens.
    RateExceeded,
}

/// One event about a message (spec G): `Send`, `Reject`, `Rendering Failure`, `Delivery`,
/// `Bounce`, `Complaint`, `DeliveryDelay`, … `data` is the event's SES JSON object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Stable, unique id (UUID) so consumers can de-duplicate at-least-once deliveries.
    pub event_id: String,
    pub scope: Scope,
    pub message_id: String,
    /// SES event type as in `eventType` (`Send`, `Delivery`, …).
    pub event_type: String,
    /// Unix ms.
    pub timestamp: i64,
    pub data: serde_json::Value,
}

impl EventRecord {
    /// Whether any destination could ever take this event, which decides if it gets a row in
    /// the publishing outbox: events of a message sent with a configuration set (its event
    /// destinations, auto tag `ses:configuration-set`, G-23), and `Bounce`, `Complaint` and
    /// `Delivery` of any message (identity notification topics, G-57). Everything else — the
    /// `Send` of a message without a set, say — has nowhere to go.
    pub fn publishable(&self) -> bool {
        matches!(
            self.event_type.as_str(),
            "Bounce" | "Complaint" | "Delivery"
        ) || self
            .data
            .pointer("/mail/tags/ses:configuration-set/0")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| !s.is_empty())
    }
}

/// An event claimed from the publishing outbox (`Store::claim_event_dispatch`): handed to its
/// destinations, then finished (`finish_event_dispatch`) or put back (`retry_event_dispatch`).
#[derive(Clone, Debug, PartialEq)]
pub struct DispatchItem {
    /// Outbox position; per message, lower `seq`s are dispatched first (Q-160 order).
    pub seq: i64,
    /// Claims before this one (failed or interrupted hand-offs), for backoff.
    pub attempts: i64,
    pub event: EventRecord,
}

/// A message captured by the dev inbox instead of being delivered (`delivery.mode = capture`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedMessage {
    pub message_id: String,
    pub scope: Scope,
    pub mail_from: String,
    pub recipients: Vec<String>,
    /// The exact bytes that would have been sent (DKIM-signed).
    pub raw: Vec<u8>,
    /// Unix ms.
    pub captured_at: i64,
}

/// One hour of reputation counters of one configuration set (or of mail sent without one),
/// attributed to the send time (spec G-73..G-75, DECISIONS ). Mailbox-simulator
/// recipients are counted apart: they never count toward reputation (E-82, E-147) unless the
/// operator asks for it to test automatic pausing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReputationBucket {
    /// `None`: mail sent without a configuration set.
    pub configuration_set: Option<String>,
    /// Unix ms of the start of the hour.
    pub bucket_start: i64,
    /// Recipients of accepted sends (from `Send` events).
    pub sends: i64,
    /// Bounced recipients of bounces that count (`sesame_policy::reputation::bounce_counts`).
    pub bounces: i64,
    /// Complained recipients.
    pub complaints: i64,
    pub simulator_sends: i64,
    pub simulator_bounces: i64,
    pub simulator_complaints: i64,
}

/// One bucket of `GetSendStatistics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SendStatsBucket {
    /// Unix ms of the start of the 15-minute bucket.
    pub bucket_start: i64,
    pub delivery_attempts: i64,
    pub bounces: i64,
    pub complaints: i64,
    pub rejects: i64,
}

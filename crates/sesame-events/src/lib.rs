//! SES event records and identity notifications as JSON values — the exact contract consumers
//! parse (spec G-H, G-L). No transport, no clock, no randomness: instants and random bytes are
//! parameters, so every output is a pure function of its inputs.
//!
//! Map:
//! - [`cloudwatch`] — what a CloudWatch-type destination counts: [`cloudwatch::metric_name`]
//!   (`RenderingFailure`, Z-12), [`cloudwatch::dimension_values`] (G-33) and the Prometheus
//!   [`cloudwatch::label_name`] (§G-Y, Q-175).
//! - [`mail`] — [`MailInfo`], [`CommonHeaders`], the `mail` object (G-40), auto tags (G-23,
//!   Q-156), header truncation.
//! - [`record`] — event-publishing records, one builder per `eventType` (G-39..G-53):
//!   [`send`], [`reject`], [`rendering_failure`], [`delivery`], [`bounce`], [`complaint`],
//!   [`delivery_delay`].
//! - [`engagement`] — recipient-engagement records: [`open`], [`click`], [`subscription`]
//!   (G-50, G-51, G-54).
//! - [`stored`] — the stored form of an event: the event record plus the fields only identity
//!   notifications show (`remoteMtaIp`, G-60, Q-157); [`stored::event_record`] strips them for
//!   event destinations.
//! - [`notification`](mod@notification) — v1 identity notifications (`notificationType`,
//!   G-57..G-61, Q-157): [`notification()`] with [`NotificationKind`].
//! - [`eventbridge`] — EventBridge envelopes ([`eventbridge::envelope`],
//!   [`eventbridge::detail_type`], Q-177) and event patterns ([`eventbridge::Pattern`], SH-7).
//! - [`sns`] — SNS HTTP(S) envelopes, canonical strings, SHA256withRSA signatures and the
//!   signing certificate.
//! - [`shape`] — [`shape::check`] (a record against the spec's schema) and
//!   [`shape::same_shape`] (a record against an example), for tests anywhere.
//! - [`timestamp`] — [`iso_timestamp`], the single timestamp format.
//! - [`ids`] — [`feedback_id`].
//! - [`vocab`] — the exact strings: [`event_types`], [`bounce_types`], [`delay_types`],
//!   [`complaint_feedback_types`], [`complaint_sub_types`], [`reject_reasons`],
//!   [`operations`], [`auto_tags`].
//!
//! Every builder returns a `serde_json::Value`; serialise it with `serde_json::to_string` for
//! SNS `Message`, Firehose lines, EventBridge `detail` and webhooks alike (G-56, Q-145).
//! Field order is not part of the contract (G-38).

pub mod cloudwatch;
pub mod engagement;
pub mod eventbridge;
pub mod ids;
pub mod mail;
pub mod notification;
pub mod record;
pub mod shape;
pub mod sns;
pub mod stored;
pub mod timestamp;
pub mod vocab;

pub use engagement::{
    click, open, subscription, ClickInfo, OpenInfo, SubscriptionInfo, TopicPreferences,
};
pub use ids::feedback_id;
pub use mail::{mail_object, truncate_headers, CommonHeaders, MailInfo, HEADERS_TRUNCATION_BYTES};
pub use notification::{notification, NotificationKind};
pub use record::{
    bounce, complaint, delivery, delivery_delay, reject, rendering_failure, send, BounceInfo,
    BouncedRecipient, ComplaintInfo, DelayInfo, DeliveryInfo,
};
pub use timestamp::iso_timestamp;
pub use vocab::{
    auto_tags, bounce_types, complaint_feedback_types, complaint_sub_types, delay_types,
    event_types, operations, reject_reasons,
};

#[cfg(test)]
mod golden;

//! v1 identity feedback notifications (`notificationType`, G-57..G-61, D-123..D-130, Q-157).
//!
//! Same payload objects and timestamp format as event records, with the G-60
//! differences: `notificationType` instead of `eventType`; `mail.sourceIp` and
//! `mail.callerIdentity` instead of tags; never `mail.tags`; `headersTruncated`/`headers`/
//! `commonHeaders` only when "include original headers" is on for that type;
//! `commonHeaders.messageId` is the *original* Message-ID; `remoteMtaIp` on `bounce` and
//! `delivery` when known.

use serde_json::{Map, Value};

use crate::mail::{build, Flavor, MailInfo};
use crate::record::{
    bounce_body, complaint_body, delivery_body, BounceInfo, ComplaintInfo, DeliveryInfo,
};

/// The three notification types (G-58) with their payloads. Types cannot be mixed in one
/// notification (G-59), so one value carries exactly one payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind<'a> {
    Bounce(&'a BounceInfo),
    Complaint(&'a ComplaintInfo),
    Delivery(&'a DeliveryInfo),
}

impl NotificationKind<'_> {
    /// The `notificationType` value (G-58, Q-147).
    pub fn notification_type(&self) -> &'static str {
        match self {
            NotificationKind::Bounce(_) => "Bounce",
            NotificationKind::Complaint(_) => "Complaint",
            NotificationKind::Delivery(_) => "Delivery",
        }
    }
}

/// An identity notification (the `Message` of an SNS notification).
///
/// `include_headers` is the identity's "include original email headers" setting for this
/// notification type (G-57, Q-164; default off).
pub fn notification(kind: NotificationKind<'_>, m: &MailInfo, include_headers: bool) -> Value {
    let (key, body) = match kind {
        NotificationKind::Bounce(b) => ("bounce", bounce_body(b, true)),
        NotificationKind::Complaint(c) => ("complaint", complaint_body(c)),
        NotificationKind::Delivery(d) => ("delivery", delivery_body(d, true)),
    };
    let mut o = Map::new();
    o.insert("notificationType".into(), kind.notification_type().into());
    o.insert(key.into(), body);
    o.insert(
        "mail".into(),
        build(m, Flavor::Notification { include_headers }),
    );
    Value::Object(o)
}

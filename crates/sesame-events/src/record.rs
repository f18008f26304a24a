//! Event-publishing records (`eventType`, G-39): one function per type, the type-specific
//! object a top-level sibling of `mail` (G-55, Z-9). The same values feed SNS, Firehose-type
//! sinks, EventBridge `detail` and webhooks (G-56, Q-145).

use serde_json::{json, Map, Value};

use crate::mail::{build, Flavor, MailInfo};
use crate::timestamp::iso_timestamp;
use crate::vocab::{delay_types, event_types, reject_reasons};

/// The outcome of one SMTP transaction that the remote MTA accepted (G-48, D-130).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct DeliveryInfo {
    /// When the message was handed to the recipient MTA (Unix ms).
    pub timestamp_ms: i64,
    /// Acceptance of the request → hand-off; a JSON number.
    pub processing_time_ms: i64,
    /// Recipients accepted in this transaction.
    pub recipients: Vec<String>,
    /// The remote reply, e.g. `250 2.6.0 Message received`.
    pub smtp_response: String,
    /// Our sending MTA's host name, *without* a `dns;` prefix (G-48, Q-165).
    pub reporting_mta: String,
    /// Receiving MTA's IP: notifications only (G-60); events never show it.
    pub remote_mta_ip: Option<String>,
}

/// One entry of `bouncedRecipients` (G-43). DSN fields only when a DSN exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct BouncedRecipient {
    /// The DSN `Final-Recipient` when there is a DSN.
    pub email_address: String,
    pub action: Option<String>,
    pub status: Option<String>,
    pub diagnostic_code: Option<String>,
}

/// A bounce (G-42). `bounce_type`/`bounce_sub_type` should be one of
/// [`crate::bounce_types::ALL`]; they are emitted verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct BounceInfo {
    pub bounce_type: String,
    pub bounce_sub_type: String,
    pub recipients: Vec<BouncedRecipient>,
    /// When the ISP sent the bounce, not when we received it (G-42).
    pub timestamp_ms: i64,
    /// See [`crate::feedback_id`].
    pub feedback_id: String,
    /// DSN `Reporting-MTA` verbatim, prefix included; `dns; <own host>` for bounces the
    /// product synthesises. `None` when no DSN.
    pub reporting_mta: Option<String>,
    /// Notifications only (G-60); events never show it.
    pub remote_mta_ip: Option<String>,
}

/// A complaint (G-45). The ARF-derived fields are `Some` only when a report was parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct ComplaintInfo {
    /// Recipients likely to have complained (G-46, Q-159).
    pub recipients: Vec<String>,
    /// When the ISP sent the complaint (Unix ms).
    pub timestamp_ms: i64,
    pub feedback_id: String,
    /// `None` → JSON `null`, always present (Z-4, Q-150).
    pub complaint_sub_type: Option<String>,
    pub user_agent: Option<String>,
    /// IANA Feedback-Type, see [`crate::complaint_feedback_types`].
    pub complaint_feedback_type: Option<String>,
    /// ARF `Arrival-Date`/`Received-Date`, already converted to UTC ms.
    pub arrival_date_ms: Option<i64>,
}

/// A temporary delivery failure that stays queued (G-53, Q-149).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct DelayInfo {
    /// See [`crate::delay_types`]; seed variant spellings are canonicalised.
    pub delay_type: String,
    /// (`emailAddress`, `status`, `diagnosticCode`) per delayed recipient.
    pub recipients: Vec<(String, String, String)>,
    /// When the delay happened (Unix ms).
    pub timestamp_ms: i64,
    /// End of the retry window.
    pub expiration_time_ms: i64,
    pub reporting_mta: Option<String>,
}

/// `Send` (G-39): `send` is always `{}`. `ses:outgoing-ip` is not shown: nothing was
/// delivered yet.
pub fn send(m: &MailInfo) -> Value {
    record(event_types::SEND, pre_delivery(m, true), "send", json!({}))
}

/// `Reject` (G-49, Q-148): `reason` is `"Bad content"`; the table spelling `BadContent` is
/// rewritten, other values pass through.
pub fn reject(m: &MailInfo, reason: &str) -> Value {
    let body = json!({ "reason": reject_reasons::canonical(reason) });
    record(event_types::REJECT, pre_delivery(m, true), "reject", body)
}

/// `Rendering Failure` (G-2, G-52): object key `failure`; `mail` has no headers (G-40).
pub fn rendering_failure(m: &MailInfo, template_name: &str, error_message: &str) -> Value {
    let body = json!({ "templateName": template_name, "errorMessage": error_message });
    record(
        event_types::RENDERING_FAILURE,
        pre_delivery(m, false),
        "failure",
        body,
    )
}

/// `Delivery` (G-48): no `remoteMtaIp` in events (G-60); `reportingMTA` verbatim (no prefix,
/// What the store keeps is [`crate::stored::delivery`], which has it.
pub fn delivery(m: &MailInfo, d: &DeliveryInfo) -> Value {
    record(
        event_types::DELIVERY,
        post_delivery(m, true),
        "delivery",
        delivery_body(d, false),
    )
}

/// `Bounce` (G-42, G-43): DSN fields only when known; no `remoteMtaIp` in events (G-60).
/// What the store keeps is [`crate::stored::bounce`], which has it.
pub fn bounce(m: &MailInfo, b: &BounceInfo) -> Value {
    record(
        event_types::BOUNCE,
        post_delivery(m, true),
        "bounce",
        bounce_body(b, false),
    )
}

/// `Complaint` (G-45): `complaintSubType` always present, `null` when not applicable.
pub fn complaint(m: &MailInfo, c: &ComplaintInfo) -> Value {
    record(
        event_types::COMPLAINT,
        post_delivery(m, true),
        "complaint",
        complaint_body(c),
    )
}

/// `DeliveryDelay` (G-53, Q-149): `delayedRecipients` is an array; `mail` has no headers
/// (G-40).
pub fn delivery_delay(m: &MailInfo, d: &DelayInfo) -> Value {
    let recipients: Vec<Value> = d
        .recipients
        .iter()
        .map(|(address, status, diagnostic)| {
            json!({"emailAddress": address, "status": status, "diagnosticCode": diagnostic})
        })
        .collect();
    let mut o = Map::new();
    o.insert("timestamp".into(), iso_timestamp(d.timestamp_ms).into());
    o.insert(
        "delayType".into(),
        delay_types::canonical(&d.delay_type).into(),
    );
    o.insert(
        "expirationTime".into(),
        iso_timestamp(d.expiration_time_ms).into(),
    );
    o.insert("delayedRecipients".into(), recipients.into());
    if let Some(mta) = &d.reporting_mta {
        o.insert("reportingMTA".into(), mta.clone().into());
    }
    record(
        event_types::DELIVERY_DELAY,
        post_delivery(m, false),
        "deliveryDelay",
        Value::Object(o),
    )
}

fn pre_delivery(m: &MailInfo, include_headers: bool) -> Value {
    build(
        m,
        Flavor::Event {
            include_headers,
            outgoing_ip: false,
        },
    )
}

pub(crate) fn post_delivery(m: &MailInfo, include_headers: bool) -> Value {
    build(
        m,
        Flavor::Event {
            include_headers,
            outgoing_ip: true,
        },
    )
}

pub(crate) fn record(event_type: &str, mail: Value, key: &str, body: Value) -> Value {
    let mut o = Map::new();
    o.insert("eventType".into(), event_type.into());
    o.insert("mail".into(), mail);
    o.insert(key.into(), body);
    Value::Object(o)
}

/// The `delivery` object; `remoteMtaIp` only for notifications (G-60).
pub(crate) fn delivery_body(d: &DeliveryInfo, with_remote_ip: bool) -> Value {
    let mut o = Map::new();
    o.insert("timestamp".into(), iso_timestamp(d.timestamp_ms).into());
    o.insert("processingTimeMillis".into(), d.processing_time_ms.into());
    o.insert("recipients".into(), json!(d.recipients));
    o.insert("smtpResponse".into(), d.smtp_response.clone().into());
    o.insert("reportingMTA".into(), d.reporting_mta.clone().into());
    if with_remote_ip {
        if let Some(ip) = &d.remote_mta_ip {
            o.insert("remoteMtaIp".into(), ip.clone().into());
        }
    }
    Value::Object(o)
}

/// The `bounce` object; `remoteMtaIp` only for notifications (G-60).
pub(crate) fn bounce_body(b: &BounceInfo, with_remote_ip: bool) -> Value {
    let recipients: Vec<Value> = b
        .recipients
        .iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert("emailAddress".into(), r.email_address.clone().into());
            for (key, v) in [
                ("action", &r.action),
                ("status", &r.status),
                ("diagnosticCode", &r.diagnostic_code),
            ] {
                if let Some(v) = v {
                    o.insert(key.into(), v.clone().into());
                }
            }
            Value::Object(o)
        })
        .collect();
    let mut o = Map::new();
    o.insert("bounceType".into(), b.bounce_type.clone().into());
    o.insert("bounceSubType".into(), b.bounce_sub_type.clone().into());
    o.insert("bouncedRecipients".into(), recipients.into());
    o.insert("timestamp".into(), iso_timestamp(b.timestamp_ms).into());
    o.insert("feedbackId".into(), b.feedback_id.clone().into());
    if let Some(mta) = &b.reporting_mta {
        o.insert("reportingMTA".into(), mta.clone().into());
    }
    if with_remote_ip {
        if let Some(ip) = &b.remote_mta_ip {
            o.insert("remoteMtaIp".into(), ip.clone().into());
        }
    }
    Value::Object(o)
}

/// The `complaint` object, identical in events and notifications (G-45, D-128).
pub(crate) fn complaint_body(c: &ComplaintInfo) -> Value {
    let recipients: Vec<Value> = c
        .recipients
        .iter()
        .map(|a| json!({ "emailAddress": a }))
        .collect();
    let mut o = Map::new();
    o.insert("complainedRecipients".into(), recipients.into());
    o.insert("timestamp".into(), iso_timestamp(c.timestamp_ms).into());
    o.insert("feedbackId".into(), c.feedback_id.clone().into());
    o.insert("complaintSubType".into(), json!(c.complaint_sub_type));
    if let Some(ua) = &c.user_agent {
        o.insert("userAgent".into(), ua.clone().into());
    }
    if let Some(t) = &c.complaint_feedback_type {
        o.insert("complaintFeedbackType".into(), t.clone().into());
    }
    if let Some(ms) = c.arrival_date_ms {
        o.insert("arrivalDate".into(), iso_timestamp(ms).into());
    }
    Value::Object(o)
}

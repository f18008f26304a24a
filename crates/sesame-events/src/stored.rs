//! The stored form of an event: what the store keeps (the event outbox's JSON) and what both
//! kinds of consumer are derived from (spec G-60, DECISIONS Q-157).
//!
//! An identity notification (`notificationType`) is built later, by the dispatcher, from the
//! stored event record — so every fact a notification shows must be in the stored form, even
//! the ones an event record must never show. There is one such fact today: the IP address of
//! the remote MTA the delivery attempt talked to (`delivery.remoteMtaIp`, `bounce.remoteMtaIp`;
//! G-48, G-60, G-61: "present when the remote MTA could be contacted").
//!
//! So the stored form is the event record **plus** those notification-only fields, in their
//! place inside the type's object:
//!
//! - [`delivery`] and [`bounce`] build it (the event builders [`crate::delivery`] and
//!   [`crate::bounce`] build the pure event record, without them);
//! - [`event_record`] turns a stored form back into the event record, for every event
//!   destination (SNS, Firehose, EventBridge, webhooks, NATS — G-38, G-56) and any other
//!   place that shows an *event*;
//! - a notification copies the type's object as stored, `remoteMtaIp` included.
//!
//! A stored form without notification-only fields is its own event record, so forms stored
//! before this module existed (and events of every other type) pass through unchanged.

use std::borrow::Cow;

use serde_json::Value;

use crate::mail::MailInfo;
use crate::record::{bounce_body, delivery_body, post_delivery, record, BounceInfo, DeliveryInfo};
use crate::vocab::event_types;

/// `(type object key, field)` of every field the stored form keeps for identity notifications
/// only (G-60).
pub const NOTIFICATION_ONLY: [(&str, &str); 2] =
    [("delivery", "remoteMtaIp"), ("bounce", "remoteMtaIp")];

/// The stored form of a `Delivery`: [`crate::delivery`]'s record plus `delivery.remoteMtaIp`
/// when `d.remote_mta_ip` is known (G-48, G-61).
pub fn delivery(m: &MailInfo, d: &DeliveryInfo) -> Value {
    record(
        event_types::DELIVERY,
        post_delivery(m, true),
        "delivery",
        delivery_body(d, true),
    )
}

/// The stored form of a `Bounce`: [`crate::bounce`]'s record plus `bounce.remoteMtaIp` when
/// `b.remote_mta_ip` is known (G-42, G-61).
pub fn bounce(m: &MailInfo, b: &BounceInfo) -> Value {
    record(
        event_types::BOUNCE,
        post_delivery(m, true),
        "bounce",
        bounce_body(b, true),
    )
}

/// Whether `stored` carries a notification-only field.
pub fn has_notification_fields(stored: &Value) -> bool {
    NOTIFICATION_ONLY.iter().any(|(key, field)| {
        stored
            .get(key)
            .and_then(Value::as_object)
            .is_some_and(|o| o.contains_key(*field))
    })
}

/// The event record (`eventType`, G-39) of a stored form: the notification-only fields removed
/// (G-60: events never show `remoteMtaIp`). Borrowed — no copy — when there are none, which is
/// every event but a Delivery or Bounce of an attempt that reached a remote MTA.
pub fn event_record(stored: &Value) -> Cow<'_, Value> {
    if !has_notification_fields(stored) {
        return Cow::Borrowed(stored);
    }
    let mut v = stored.clone();
    for (key, field) in NOTIFICATION_ONLY {
        if let Some(o) = v.get_mut(key).and_then(Value::as_object_mut) {
            o.remove(field);
        }
    }
    Cow::Owned(v)
}

/// The value of a notification-only field of a stored form, e.g. `remote_mta_ip(&stored)` for
/// operator views that show it beside the event record.
pub fn remote_mta_ip(stored: &Value) -> Option<&str> {
    NOTIFICATION_ONLY.iter().find_map(|(key, field)| {
        stored
            .get(key)
            .and_then(|o| o.get(field))
            .and_then(Value::as_str)
    })
}

/// The remote MTA of a bounce reported *after* the hand-off (a DSN or auto-reply mailed back,
/// the address the message's earlier `Delivery` records (stored forms, `deliveries`)
/// for the bounced recipients — the MTA the message was handed to (G-61: "the MTA to which
/// delivery was attempted"). `None` unless every bounced recipient is covered by a Delivery
/// with an address and they all name the same one (recipients of one message at different
/// domains went to different MTAs). Addresses compare case-insensitively.
pub fn remote_mta_ip_of_bounce<'a>(
    deliveries: impl IntoIterator<Item = &'a Value>,
    bounce: &Value,
) -> Option<String> {
    let covered: Vec<(Vec<&str>, &str)> = deliveries
        .into_iter()
        .filter_map(|d| {
            let ip = d.pointer("/delivery/remoteMtaIp")?.as_str()?;
            let rcpts = d
                .pointer("/delivery/recipients")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            Some((rcpts, ip))
        })
        .collect();
    let mut found: Option<&str> = None;
    let bounced = bounce.pointer("/bounce/bouncedRecipients")?.as_array()?;
    if bounced.is_empty() {
        return None;
    }
    for r in bounced {
        let address = r.get("emailAddress")?.as_str()?;
        // The latest Delivery of that recipient.
        let ip = covered
            .iter()
            .rev()
            .find(|(rcpts, _)| rcpts.iter().any(|a| a.eq_ignore_ascii_case(address)))?
            .1;
        match found {
            Some(f) if f != ip => return None,
            _ => found = Some(ip),
        }
    }
    found.map(str::to_string)
}

/// Adds `bounce.remoteMtaIp` to the record of a Bounce, making it the stored form (see
/// [`remote_mta_ip_of_bounce`]). Records of other types are left alone.
pub fn set_bounce_remote_mta_ip(record: &mut Value, ip: &str) {
    if let Some(o) = record.get_mut("bounce").and_then(Value::as_object_mut) {
        o.insert("remoteMtaIp".into(), ip.into());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::notification::{notification, NotificationKind};
    use crate::shape;

    fn mail() -> MailInfo {
        serde_json::from_value(json!({
            "timestamp_ms": 1_700_000_000_000i64,
            "source": "s@example.com",
            "source_arn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            "sending_account_id": "123456789012",
            "message_id": "0100018b-m",
            "destination": ["r@example.net"],
            "configuration_set": "cs",
            "from_domain": "example.com",
            "operation": "SendEmail",
            "outgoing_ip": "192.0.2.10",
            "source_ip": "192.0.2.1",
            "caller_identity": "alice",
            "common": {"from": ["s@example.com"], "to": ["r@example.net"], "subject": "Hi"},
            "headers": [["From", "s@example.com"], ["To", "r@example.net"], ["Subject", "Hi"]]
        }))
        .unwrap()
    }

    fn delivery_info(ip: Option<&str>) -> DeliveryInfo {
        DeliveryInfo {
            timestamp_ms: 1_700_000_001_000,
            processing_time_ms: 1000,
            recipients: vec!["r@example.net".into()],
            smtp_response: "250 2.0.0 Ok".into(),
            reporting_mta: "a1.smtp-out.example.com".into(),
            remote_mta_ip: ip.map(str::to_string),
        }
    }

    fn bounce_info(ip: Option<&str>) -> BounceInfo {
        BounceInfo {
            bounce_type: "Permanent".into(),
            bounce_sub_type: "General".into(),
            recipients: vec![crate::BouncedRecipient {
                email_address: "r@example.net".into(),
                action: Some("failed".into()),
                status: Some("5.1.1".into()),
                diagnostic_code: Some("smtp; 550 5.1.1 unknown".into()),
            }],
            timestamp_ms: 1_700_000_001_000,
            feedback_id: "f-000000".into(),
            reporting_mta: Some("dns; a1.smtp-out.example.com".into()),
            remote_mta_ip: ip.map(str::to_string),
        }
    }

    /// G-60 / Q-157: the stored form keeps `remoteMtaIp` in place; its event record is exactly
    /// the event builder's record (no `remoteMtaIp`, spec shape); the notification built from
    /// the same facts shows it.
    #[test]
    fn stored_form_keeps_remote_ip_event_record_drops_it() {
        let m = mail();
        for (stored, event, key, note) in [
            (
                delivery(&m, &delivery_info(Some("198.51.100.7"))),
                crate::delivery(&m, &delivery_info(Some("198.51.100.7"))),
                "delivery",
                notification(
                    NotificationKind::Delivery(&delivery_info(Some("198.51.100.7"))),
                    &m,
                    false,
                ),
            ),
            (
                bounce(&m, &bounce_info(Some("198.51.100.7"))),
                crate::bounce(&m, &bounce_info(Some("198.51.100.7"))),
                "bounce",
                notification(
                    NotificationKind::Bounce(&bounce_info(Some("198.51.100.7"))),
                    &m,
                    false,
                ),
            ),
        ] {
            assert_eq!(stored[key]["remoteMtaIp"], "198.51.100.7", "{key}");
            assert!(has_notification_fields(&stored));
            assert_eq!(remote_mta_ip(&stored), Some("198.51.100.7"));
            let record = event_record(&stored);
            assert!(matches!(record, Cow::Owned(_)));
            assert_eq!(*record, event, "{key}: the event builder's record");
            assert!(record[key].get("remoteMtaIp").is_none(), "{key}");
            shape::check(&record).unwrap_or_else(|e| panic!("{key}: {e:#?}"));
            // The stored form itself is not an event record: the schema refuses it.
            let errs = shape::check(&stored).unwrap_err();
            assert_eq!(
                errs,
                vec![format!("$.{key}.remoteMtaIp: notifications only (G-60)")]
            );
            // The notification's type object equals the stored one.
            assert_eq!(note[key], stored[key], "{key}");
            shape::check(&note).unwrap_or_else(|e| panic!("{key}: {e:#?}"));
        }
    }

    /// Q-166 / G-61: a later bounce takes the address of the Delivery that handed its
    /// recipients over; not when unknown, not when its recipients went to different MTAs.
    #[test]
    fn later_bounces_take_the_delivery_address() {
        let d = |rcpts: &[&str], ip: Option<&str>| {
            let mut v = json!({"eventType": "Delivery", "delivery": {"recipients": rcpts}});
            if let Some(ip) = ip {
                v["delivery"]["remoteMtaIp"] = ip.into();
            }
            v
        };
        let b = |rcpts: &[&str]| {
            let r: Vec<Value> = rcpts.iter().map(|a| json!({"emailAddress": a})).collect();
            json!({"eventType": "Bounce", "bounce": {"bouncedRecipients": r}})
        };
        let deliveries = [
            d(&["a@x.test", "b@x.test"], Some("192.0.2.1")),
            d(&["c@y.test"], Some("192.0.2.2")),
            d(&["e@z.test"], None),
            d(&["b@x.test"], Some("192.0.2.3")),
            json!({"eventType": "Send", "send": {}}),
        ];
        let cases: [(&[&str], Option<&str>); 7] = [
            (&["a@x.test"], Some("192.0.2.1")),
            (&["A@X.test"], Some("192.0.2.1")),
            (&["b@x.test"], Some("192.0.2.3")), // the latest Delivery
            (&["a@x.test", "c@y.test"], None),  // two MTAs
            (&["e@z.test"], None),              // Delivery without an address
            (&["nobody@x.test"], None),         // never delivered
            (&[], None),
        ];
        for (rcpts, want) in cases {
            assert_eq!(
                remote_mta_ip_of_bounce(&deliveries, &b(rcpts)).as_deref(),
                want,
                "{rcpts:?}"
            );
        }
        let mut bounce = b(&["a@x.test"]);
        set_bounce_remote_mta_ip(&mut bounce, "192.0.2.1");
        assert_eq!(bounce["bounce"]["remoteMtaIp"], "192.0.2.1");
        assert!(has_notification_fields(&bounce));
        let mut other = json!({"eventType": "Complaint", "complaint": {}});
        set_bounce_remote_mta_ip(&mut other, "192.0.2.1");
        assert!(!has_notification_fields(&other));
    }

    /// Without a known remote IP (capture mode, simulator, suppression list, asynchronous
    /// DSNs) the stored form is the event record, and `event_record` borrows it.
    #[test]
    fn unknown_remote_ip_stores_the_event_record() {
        let m = mail();
        let stored = delivery(&m, &delivery_info(None));
        assert_eq!(stored, crate::delivery(&m, &delivery_info(None)));
        assert!(matches!(event_record(&stored), Cow::Borrowed(_)));
        assert_eq!(remote_mta_ip(&stored), None);
        let stored = bounce(&m, &bounce_info(None));
        assert_eq!(stored, crate::bounce(&m, &bounce_info(None)));
        assert!(matches!(event_record(&stored), Cow::Borrowed(_)));
        // Other types pass through untouched.
        let send = crate::send(&m);
        assert!(matches!(event_record(&send), Cow::Borrowed(v) if *v == send));
    }
}

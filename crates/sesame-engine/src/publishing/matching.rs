//! Which destinations an event goes to, and what they receive — pure functions of the stored
//! event JSON and the stored settings, table-tested below.
//!
//! - [`sns_event_targets`]: configuration-set event destinations (spec G-36..G-39, E-120):
//!   enabled, `MatchingEventTypes` containing the event's type, with an `SnsDestination`.
//! - [`identity_target`]: the governing identity's notification topic for `Bounce`,
//!   `Complaint`, `Delivery` (G-57, G-58, D-117..D-122) and its "include headers" flag.
//! - [`notification_from_event`]: the identity notification (`notificationType`, G-60, Q-157)
//!   derived from the event record (`eventType`).

use serde_json::{Map, Value};

use crate::records::IdentityRecord;

/// The v2 `MatchingEventTypes` value of an `eventType` (Q-147: `Rendering Failure` ↔
/// `RENDERING_FAILURE`, `DeliveryDelay` ↔ `DELIVERY_DELAY`). `None` for unknown types.
pub fn matching_type(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "Send" => "SEND",
        "Reject" => "REJECT",
        "Bounce" => "BOUNCE",
        "Complaint" => "COMPLAINT",
        "Delivery" => "DELIVERY",
        "Open" => "OPEN",
        "Click" => "CLICK",
        "Rendering Failure" => "RENDERING_FAILURE",
        "DeliveryDelay" => "DELIVERY_DELAY",
        "Subscription" => "SUBSCRIPTION",
        _ => return None,
    })
}

/// Topic ARNs of the SNS destinations (stored v2 `EventDestination` objects) that publish
/// `event_type`. Disabled destinations (`Enabled` false or absent — v2's default is false)
/// publish nothing (E-117). In destination order, one entry per destination: two
/// destinations naming one topic publish twice, as SES does.
pub fn sns_event_targets(event_type: &str, destinations: &[Value]) -> Vec<String> {
    event_targets(event_type, destinations)
        .into_iter()
        .filter_map(|t| match t {
            Target::Sns(topic) => Some(topic),
            _ => None,
        })
        .collect()
}

/// Where one event destination sends an event (E-120, G-32..G-39).
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// `SnsDestination.TopicArn`.
    Sns(String),
    /// `KinesisFirehoseDestination.DeliveryStreamArn`.
    Firehose(String),
    /// `EventBridgeDestination.EventBusArn`.
    EventBridge(String),
    /// A `CloudWatchDestination`: the destination's name and its
    /// `DimensionConfigurations`.
    CloudWatch {
        destination: String,
        dimensions: Vec<Value>,
    },
}

/// The targets of the destinations that publish `event_type`: enabled (`Enabled` false or
/// absent — v2's default is false — publishes nothing, E-117) and with the type among their
/// `MatchingEventTypes`. In destination order, one entry per destination.
pub fn event_targets(event_type: &str, destinations: &[Value]) -> Vec<Target> {
    let Some(wanted) = matching_type(event_type) else {
        return Vec::new();
    };
    let text = |d: &Value, path: &str| d.pointer(path).and_then(Value::as_str).map(str::to_string);
    destinations
        .iter()
        .filter(|d| d.get("Enabled").and_then(Value::as_bool) == Some(true))
        .filter(|d| {
            d.get("MatchingEventTypes")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(wanted)))
        })
        .filter_map(|d| {
            if let Some(t) = text(d, "/SnsDestination/TopicArn") {
                return Some(Target::Sns(t));
            }
            if let Some(s) = text(d, "/KinesisFirehoseDestination/DeliveryStreamArn") {
                return Some(Target::Firehose(s));
            }
            if let Some(b) = text(d, "/EventBridgeDestination/EventBusArn") {
                return Some(Target::EventBridge(b));
            }
            let dims = d.pointer("/CloudWatchDestination/DimensionConfigurations")?;
            Some(Target::CloudWatch {
                destination: text(d, "/Name").unwrap_or_default(),
                dimensions: dims.as_array().cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// The identity notification topic for an event and whether original headers go with it
/// (G-57, Q-164). Only `Bounce`, `Complaint` and `Delivery` have notifications (G-58).
pub fn identity_target(event_type: &str, identity: &IdentityRecord) -> Option<(String, bool)> {
    if !matches!(event_type, "Bounce" | "Complaint" | "Delivery") {
        return None;
    }
    let topic = identity.notification_topics.get(event_type)?;
    let headers = identity
        .headers_in_notifications
        .get(event_type)
        .copied()
        .unwrap_or(false);
    Some((topic.clone(), headers))
}

/// The configuration set named in an event's auto tag `ses:configuration-set` (G-23).
pub fn configuration_set_of(event: &Value) -> Option<&str> {
    event
        .pointer("/mail/tags/ses:configuration-set/0")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `(account, region, identity)` of the identity that governs the message: the one in
/// `mail.sourceArn` (Q-88; with sending authorization the owner's identity, G-40).
pub fn governing_identity(event: &Value) -> Option<(&str, &str, &str)> {
    let arn = event.pointer("/mail/sourceArn").and_then(Value::as_str)?;
    // arn:<partition>:ses:<region>:<account>:identity/<name>
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("identity/")?;
    (service == "ses" && !name.is_empty()).then_some((account, region, name))
}

/// The identity notification for an event record (G-60, G-61, Q-157): `notificationType`
/// instead of `eventType`; `mail.sourceIp`/`mail.callerIdentity` from the auto tags instead of
/// `mail.tags`; `headersTruncated`/`headers`/`commonHeaders` only with `include_headers`, and
/// then `commonHeaders.messageId` is the *original* Message-ID (absent when the message had
/// none); the type's own object as in the event. `None` for types without notifications.
pub fn notification_from_event(event: &Value, include_headers: bool) -> Option<Value> {
    let event_type = event.get("eventType").and_then(Value::as_str)?;
    let key = match event_type {
        "Bounce" => "bounce",
        "Complaint" => "complaint",
        "Delivery" => "delivery",
        _ => return None,
    };
    let body = event.get(key)?.clone();
    let src = event.get("mail").and_then(Value::as_object)?;
    let tag = |name: &str| {
        src.get("tags")
            .and_then(|t| t.get(name))
            .and_then(|v| v.get(0))
            .cloned()
    };
    let mut mail = Map::new();
    for field in ["timestamp", "source", "sourceArn"] {
        if let Some(v) = src.get(field) {
            mail.insert(field.into(), v.clone());
        }
    }
    if let Some(ip) = tag("ses:source-ip") {
        mail.insert("sourceIp".into(), ip);
    }
    if let Some(v) = src.get("sendingAccountId") {
        mail.insert("sendingAccountId".into(), v.clone());
    }
    if let Some(who) = tag("ses:caller-identity") {
        mail.insert("callerIdentity".into(), who);
    }
    for field in ["messageId", "destination"] {
        if let Some(v) = src.get(field) {
            mail.insert(field.into(), v.clone());
        }
    }
    if include_headers {
        for field in ["headersTruncated", "headers"] {
            if let Some(v) = src.get(field) {
                mail.insert(field.into(), v.clone());
            }
        }
        if let Some(Value::Object(common)) = src.get("commonHeaders") {
            let mut common = common.clone();
            match original_message_id(src.get("headers")) {
                Some(id) => common.insert("messageId".into(), id.into()),
                None => common.remove("messageId"),
            };
            mail.insert("commonHeaders".into(), Value::Object(common));
        }
    }
    let mut o = Map::new();
    o.insert("notificationType".into(), event_type.into());
    o.insert(key.into(), body);
    o.insert("mail".into(), Value::Object(mail));
    Some(Value::Object(o))
}

/// The submitted `Message-ID` header's value (`mail.headers` keeps the headers as submitted,
///
fn original_message_id(headers: Option<&Value>) -> Option<String> {
    headers?.as_array()?.iter().find_map(|h| {
        let name = h.get("name")?.as_str()?;
        name.eq_ignore_ascii_case("Message-ID")
            .then(|| h.get("value")?.as_str().map(|v| v.trim().to_string()))?
    })
}

/// The SNS `MessageId` of one publication of one event to one topic: a UUID (version-4
/// shaped) derived from the event id, the topic ARN and the kind (`event` or `notification`),
/// so a repeated publication reuses it while two topics, or an event record and a
/// notification on one topic, get different ids.
pub fn publication_message_id(event_id: &str, topic_arn: &str, kind: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{kind}\n{event_id}\n{topic_arn}").as_bytes());
    let mut r = [0u8; 16];
    r.copy_from_slice(&d[..16]);
    sesame_events::ids::uuid_v4(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// stable per (event, topic, kind), distinct otherwise, UUID-shaped.
    #[test]
    fn publication_ids_are_stable_and_distinct() {
        let a = publication_message_id("e1", "arn:aws:sns:us-east-1:1:t", "event");
        assert_eq!(
            a,
            publication_message_id("e1", "arn:aws:sns:us-east-1:1:t", "event")
        );
        for other in [
            publication_message_id("e2", "arn:aws:sns:us-east-1:1:t", "event"),
            publication_message_id("e1", "arn:aws:sns:us-east-1:1:u", "event"),
            publication_message_id("e1", "arn:aws:sns:us-east-1:1:t", "notification"),
        ] {
            assert_ne!(a, other);
        }
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    fn dest(enabled: Option<bool>, types: &[&str], topic: Option<&str>) -> Value {
        let mut d = json!({"Name": "d", "MatchingEventTypes": types});
        if let Some(e) = enabled {
            d["Enabled"] = e.into();
        }
        match topic {
            Some(t) => d["SnsDestination"] = json!({"TopicArn": t}),
            None => {
                d["EventBridgeDestination"] =
                    json!({"EventBusArn": "arn:aws:events:us-east-1:1:event-bus/default"})
            }
        }
        d
    }

    /// G-39 / Q-147: every `eventType` maps to its v2 `MatchingEventTypes` spelling.
    #[test]
    fn event_types_map_to_matching_types() {
        let table = [
            ("Send", Some("SEND")),
            ("Reject", Some("REJECT")),
            ("Bounce", Some("BOUNCE")),
            ("Complaint", Some("COMPLAINT")),
            ("Delivery", Some("DELIVERY")),
            ("Open", Some("OPEN")),
            ("Click", Some("CLICK")),
            ("Rendering Failure", Some("RENDERING_FAILURE")),
            ("DeliveryDelay", Some("DELIVERY_DELAY")),
            ("Subscription", Some("SUBSCRIPTION")),
            ("RenderingFailure", None),
            ("send", None),
        ];
        for (t, want) in table {
            assert_eq!(matching_type(t), want, "{t}");
        }
        // Every v2 value of the configuration-set table is reachable.
        for (v2, _) in crate::configuration_sets::EVENT_TYPES {
            let all = [
                "Send",
                "Reject",
                "Bounce",
                "Complaint",
                "Delivery",
                "Open",
                "Click",
                "Rendering Failure",
                "DeliveryDelay",
                "Subscription",
            ];
            assert!(all.iter().any(|t| matching_type(t) == Some(v2)), "{v2}");
        }
    }

    /// G-36..G-39, E-117: enabled, matching, SNS destinations only.
    #[test]
    fn sns_targets_table() {
        let a = "arn:aws:sns:us-east-1:123456789012:a";
        let b = "arn:aws:sns:us-east-1:123456789012:b";
        let cases: Vec<(&str, Vec<Value>, Vec<&str>)> = vec![
            ("Send", vec![dest(Some(true), &["SEND"], Some(a))], vec![a]),
            ("Send", vec![dest(Some(false), &["SEND"], Some(a))], vec![]),
            ("Send", vec![dest(None, &["SEND"], Some(a))], vec![]),
            (
                "Delivery",
                vec![dest(Some(true), &["SEND", "BOUNCE"], Some(a))],
                vec![],
            ),
            (
                "Rendering Failure",
                vec![dest(Some(true), &["RENDERING_FAILURE"], Some(a))],
                vec![a],
            ),
            ("Bounce", vec![dest(Some(true), &["BOUNCE"], None)], vec![]),
            (
                "Bounce",
                vec![
                    dest(Some(true), &["BOUNCE", "COMPLAINT"], Some(a)),
                    dest(Some(true), &["BOUNCE"], Some(b)),
                    dest(Some(false), &["BOUNCE"], Some(b)),
                ],
                vec![a, b],
            ),
            (
                "Unknown",
                vec![dest(Some(true), &["SEND"], Some(a))],
                vec![],
            ),
        ];
        for (t, dests, want) in cases {
            assert_eq!(sns_event_targets(t, &dests), want, "{t} {dests:?}");
        }
    }

    /// G-57, G-58, Q-164: notification topics only for Bounce/Complaint/Delivery.
    #[test]
    fn identity_targets_table() {
        let mut id: IdentityRecord =
            serde_json::from_value(json!({"identity": "example.com", "identity_type": "DOMAIN",
                "verification_status": "SUCCESS", "created_at": 0}))
            .unwrap();
        id.notification_topics
            .insert("Bounce".into(), "arn:aws:sns:us-east-1:1:b".into());
        id.notification_topics
            .insert("Delivery".into(), "arn:aws:sns:us-east-1:1:d".into());
        id.headers_in_notifications.insert("Delivery".into(), true);
        let cases = [
            ("Bounce", Some(("arn:aws:sns:us-east-1:1:b", false))),
            ("Delivery", Some(("arn:aws:sns:us-east-1:1:d", true))),
            ("Complaint", None),
            ("Send", None),
            ("Open", None),
        ];
        for (t, want) in cases {
            assert_eq!(
                identity_target(t, &id),
                want.map(|(a, h)| (a.to_string(), h)),
                "{t}"
            );
        }
    }

    #[test]
    fn governing_identity_and_configuration_set() {
        let e = json!({"mail": {"sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/a@b.example",
            "tags": {"ses:configuration-set": ["cs1"]}}});
        assert_eq!(
            governing_identity(&e),
            Some(("123456789012", "eu-west-1", "a@b.example"))
        );
        assert_eq!(configuration_set_of(&e), Some("cs1"));
        let none = json!({"mail": {"sourceArn": "arn:aws:sns:eu-west-1:1:identity/x", "tags": {}}});
        assert_eq!(governing_identity(&none), None);
        assert_eq!(configuration_set_of(&none), None);
    }

    fn bounce_event() -> Value {
        json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "bounce@simulator.amazonses.com"}],
                "timestamp": "2026-01-01T00:00:01.000Z", "feedbackId": "f"},
            "mail": {
                "timestamp": "2026-01-01T00:00:00.000Z", "source": "s@example.com",
                "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                "sendingAccountId": "123456789012", "messageId": "m",
                "destination": ["bounce@simulator.amazonses.com"], "headersTruncated": false,
                "headers": [{"name": "From", "value": "s@example.com"},
                            {"name": "Message-ID", "value": " <orig@client> "}],
                "commonHeaders": {"from": ["s@example.com"], "messageId": "m", "subject": "Hi"},
                "tags": {"ses:source-ip": ["192.0.2.1"], "ses:caller-identity": ["alice"],
                         "ses:configuration-set": ["cs"]}
            }
        })
    }

    /// G-60 / G-61 / Q-157: the notification's own shape, without and with headers.
    #[test]
    fn notification_shape_without_headers() {
        let n = notification_from_event(&bounce_event(), false).unwrap();
        assert_eq!(
            n,
            json!({
                "notificationType": "Bounce",
                "bounce": bounce_event()["bounce"],
                "mail": {
                    "timestamp": "2026-01-01T00:00:00.000Z", "source": "s@example.com",
                    "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                    "sourceIp": "192.0.2.1", "sendingAccountId": "123456789012",
                    "callerIdentity": "alice", "messageId": "m",
                    "destination": ["bounce@simulator.amazonses.com"]
                }
            })
        );
    }

    #[test]
    fn notification_shape_with_headers_uses_the_original_message_id() {
        let n = notification_from_event(&bounce_event(), true).unwrap();
        let mail = &n["mail"];
        assert_eq!(mail["headersTruncated"], json!(false));
        assert_eq!(mail["headers"], bounce_event()["mail"]["headers"]);
        assert_eq!(
            mail["commonHeaders"],
            json!({"from": ["s@example.com"], "messageId": "<orig@client>", "subject": "Hi"})
        );
        assert!(mail.get("tags").is_none());
        assert!(n.get("eventType").is_none());
        // No submitted Message-ID: no commonHeaders.messageId (never the SES id).
        let mut e = bounce_event();
        e["mail"]["headers"] = json!([{"name": "From", "value": "s@example.com"}]);
        let n = notification_from_event(&e, true).unwrap();
        assert!(n["mail"]["commonHeaders"].get("messageId").is_none());
    }

    #[test]
    fn only_three_types_have_notifications() {
        for t in ["Send", "Reject", "Open", "Click", "DeliveryDelay"] {
            let e = json!({"eventType": t, "mail": {}, "send": {}});
            assert_eq!(notification_from_event(&e, true), None, "{t}");
        }
        let d = json!({"eventType": "Delivery", "delivery": {"recipients": ["a@b"]}, "mail": {}});
        assert_eq!(
            notification_from_event(&d, false).unwrap()["notificationType"],
            json!("Delivery")
        );
    }
}

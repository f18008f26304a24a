//! EventBridge replacement, as values (spec G-Y EventBridge row, F-115..F-119, SH-7; DECISIONS
//! Q-77, Q-160, Q-177): the envelope that carries an event record to a local bus, and the
//! event-pattern language that bus rules use to pick events.
//!
//! - [`detail_type`] — an SES `eventType` → its EventBridge `detail-type` (Q-177).
//! - [`envelope`] — `{version, id, detail-type, source, account, time, region, resources,
//!   detail}` around an event record (G-Y, Q-177).
//! - [`Pattern`] — a parsed EventBridge event pattern and [`Pattern::matches`] (SH-7), in
//!   [`pattern`].
//!
//! Nothing here reads a clock or draws random ids: the envelope `id` is a parameter so retries
//! reuse it (Q-160), and `time` comes from the record itself.

pub mod pattern;

pub use pattern::{Pattern, PatternError, MAX_PATTERN_CHARS, MAX_PATTERN_DEPTH};

use serde_json::{Map, Value};

use crate::vocab::event_types;

/// The default envelope `source` (Q-77: kept verbatim because rules filter on it; the caller
/// passes the configured value to [`envelope`]).
pub const DEFAULT_SOURCE: &str = "aws.ses";

/// The envelope `version`; EventBridge has only ever used `"0"` (F-117).
pub const ENVELOPE_VERSION: &str = "0";

/// EventBridge `detail-type` strings (Q-177, F-116), exactly as rules match them.
pub mod detail_types {
    pub const EMAIL_SENT: &str = "Email Sent";
    pub const EMAIL_DELIVERED: &str = "Email Delivered";
    pub const EMAIL_BOUNCED: &str = "Email Bounced";
    pub const EMAIL_COMPLAINT_RECEIVED: &str = "Email Complaint Received";
    pub const EMAIL_REJECTED: &str = "Email Rejected";
    pub const EMAIL_OPENED: &str = "Email Opened";
    pub const EMAIL_CLICKED: &str = "Email Clicked";
    pub const EMAIL_RENDERING_FAILED: &str = "Email Rendering Failed";
    pub const EMAIL_DELIVERY_DELAYED: &str = "Email Delivery Delayed";
    pub const EMAIL_SUBSCRIBED: &str = "Email Subscribed";
    /// VDM Advisor: a recommendation was opened (F-116); `detail` is
    /// `{"version":"1.0.0","data":<text>}` (F-117), not an event record.
    pub const ADVISOR_RECOMMENDATION_STATUS_OPEN: &str = "Advisor Recommendation Status Open";
    /// VDM Advisor: a recommendation was resolved (F-116).
    pub const ADVISOR_RECOMMENDATION_STATUS_RESOLVED: &str =
        "Advisor Recommendation Status Resolved";
}

/// Per `eventType` (Q-147 spelling): the `detail-type` (Q-177) and the key of the record's
/// type-specific object (G-39, G-2), whose `timestamp`, when it has one, is the event's own
/// time. `send`, `reject` and `failure` carry no timestamp; their time is `mail.timestamp`.
const TABLE: [(&str, &str, &str); 10] = [
    (event_types::SEND, detail_types::EMAIL_SENT, "send"),
    (
        event_types::DELIVERY,
        detail_types::EMAIL_DELIVERED,
        "delivery",
    ),
    (event_types::BOUNCE, detail_types::EMAIL_BOUNCED, "bounce"),
    (
        event_types::COMPLAINT,
        detail_types::EMAIL_COMPLAINT_RECEIVED,
        "complaint",
    ),
    (event_types::REJECT, detail_types::EMAIL_REJECTED, "reject"),
    (event_types::OPEN, detail_types::EMAIL_OPENED, "open"),
    (event_types::CLICK, detail_types::EMAIL_CLICKED, "click"),
    (
        event_types::RENDERING_FAILURE,
        detail_types::EMAIL_RENDERING_FAILED,
        "failure",
    ),
    (
        event_types::DELIVERY_DELAY,
        detail_types::EMAIL_DELIVERY_DELAYED,
        "deliveryDelay",
    ),
    (
        event_types::SUBSCRIPTION,
        detail_types::EMAIL_SUBSCRIBED,
        "subscription",
    ),
];

/// The EventBridge `detail-type` of an SES `eventType` (Q-177): `Send` → `Email Sent`,
/// `Rendering Failure` (with its space, Q-147) → `Email Rendering Failed`, … `None` for any
/// other string (matching is exact and case-sensitive, like the record's own spelling).
pub fn detail_type(event_type: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(t, _, _)| *t == event_type)
        .map(|&(_, d, _)| d)
}

/// Wraps one event record (G-39..G-55) in an EventBridge envelope (G-Y, Q-177):
///
/// ```json
/// {"version":"0","id":<id>,"detail-type":<detail_type(eventType)>,"source":<source>,
///  "account":<account>,"time":"YYYY-MM-DDThh:mm:ssZ","region":<region>,
///  "resources":[…],"detail":<the record, unchanged>}
/// ```
///
/// - `id` is the bus event id, stable across retries (Q-160); `source` is the configured
///   source, [`DEFAULT_SOURCE`] unless the operator changed it (Q-77).
/// - `time` is the event's own instant at EventBridge's second precision (no fraction, `Z`):
///   the type-specific object's `timestamp` (`delivery.timestamp`, `bounce.timestamp`,
///   `open.timestamp`, …) or, for types without one (`send`, `reject`, `failure`),
///   `mail.timestamp`. Fractions are truncated, never rounded up into the next second.
/// - `detail` is the record itself (Q-145: one serializer for every destination).
///
/// `None` when the record has no known `eventType` (Q-147 spelling), or no time in the
/// `YYYY-MM-DDThh:mm:ss[.fraction]Z` form (Q-145) where one is looked for.
pub fn envelope(
    event: &Value,
    id: &str,
    account: &str,
    region: &str,
    source: &str,
    resources: Vec<String>,
) -> Option<Value> {
    let event_type = event.get("eventType")?.as_str()?;
    let &(_, detail_type, key) = TABLE.iter().find(|(t, _, _)| *t == event_type)?;
    let own = event
        .get(key)
        .and_then(|body| body.get("timestamp"))
        .and_then(Value::as_str);
    let mail = event
        .get("mail")
        .and_then(|m| m.get("timestamp"))
        .and_then(Value::as_str);
    let time = match own {
        Some(ts) => to_seconds(ts)?,
        None => to_seconds(mail?)?,
    };
    let mut o = Map::new();
    o.insert("version".into(), ENVELOPE_VERSION.into());
    o.insert("id".into(), id.into());
    o.insert("detail-type".into(), detail_type.into());
    o.insert("source".into(), source.into());
    o.insert("account".into(), account.into());
    o.insert("time".into(), time.into());
    o.insert("region".into(), region.into());
    o.insert("resources".into(), resources.into());
    o.insert("detail".into(), event.clone());
    Some(Value::Object(o))
}

/// `YYYY-MM-DDThh:mm:ss[.d…]Z` (Q-145 writes `.sss`; a value already at second precision is
/// accepted too) → `YYYY-MM-DDThh:mm:ssZ`, EventBridge's `time` form (F-117). The fraction is
/// dropped: 23:59:59.999 stays in 23:59:59, as EventBridge's own timestamps do.
fn to_seconds(ts: &str) -> Option<String> {
    let b = ts.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return None;
    }
    let head_ok = b[..19].iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        _ => c.is_ascii_digit(),
    });
    let tail = &b[19..b.len() - 1];
    let tail_ok = match tail {
        [] => true,
        [b'.', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    (head_ok && tail_ok).then(|| format!("{}Z", &ts[..19]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::shape::spec_example;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "us-east-1";
    const ID: &str = "8d1f3b2c-4a5e-4f60-9b7a-0c1d2e3f4a5b";

    /// Q-177: each of the ten `eventType`s has its detail-type; other spellings have none.
    #[test]
    fn detail_type_per_event_type() {
        let table = [
            ("Send", "Email Sent"),
            ("Delivery", "Email Delivered"),
            ("Bounce", "Email Bounced"),
            ("Complaint", "Email Complaint Received"),
            ("Reject", "Email Rejected"),
            ("Open", "Email Opened"),
            ("Click", "Email Clicked"),
            ("Rendering Failure", "Email Rendering Failed"),
            ("DeliveryDelay", "Email Delivery Delayed"),
            ("Subscription", "Email Subscribed"),
        ];
        for (event_type, want) in table {
            assert_eq!(detail_type(event_type), Some(want), "{event_type}");
        }
        // Every eventType of the vocabulary is covered, and by a distinct detail-type.
        let mut seen: Vec<_> = event_types::ALL
            .iter()
            .map(|t| detail_type(t).unwrap_or_else(|| panic!("{t}")))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 10);
        for other in [
            "",
            "send",
            "RenderingFailure",
            "Delivery Delay",
            "Email Sent",
            "Advisor Recommendation Status Open",
        ] {
            assert_eq!(detail_type(other), None, "{other:?}");
        }
    }

    /// G-Y / Q-177: the Delivery envelope, field by field; `time` is `delivery.timestamp`
    /// (2016-10-19T23:21:04.133Z) at second precision, `detail` the record unchanged.
    #[test]
    fn delivery_envelope_exact() {
        let record = spec_example("Delivery").unwrap();
        let resources = vec![format!(
            "arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/my-config-set"
        )];
        let got = envelope(&record, ID, ACCOUNT, REGION, DEFAULT_SOURCE, resources).unwrap();
        let want = json!({
            "version": "0",
            "id": ID,
            "detail-type": "Email Delivered",
            "source": "aws.ses",
            "account": ACCOUNT,
            "time": "2016-10-19T23:21:04Z",
            "region": REGION,
            "resources": ["arn:aws:ses:us-east-1:123456789012:configuration-set/my-config-set"],
            "detail": record,
        });
        assert_eq!(got, want);
        // EventBridge's field order (preserve_order): what a consumer sees on the wire.
        let keys: Vec<_> = got.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "version",
                "id",
                "detail-type",
                "source",
                "account",
                "time",
                "region",
                "resources",
                "detail"
            ]
        );
    }

    /// G-Y / Q-177 / Q-77: the Bounce envelope with a configured source and no resources;
    /// `time` is `bounce.timestamp` (2017-08-05T00:41:02.669Z), not `mail.timestamp`.
    #[test]
    fn bounce_envelope_exact() {
        let record = spec_example("Bounce").unwrap();
        let got = envelope(
            &record,
            "id-1",
            "111122223333",
            "eu-west-1",
            "sesame",
            vec![],
        )
        .unwrap();
        let want = json!({
            "version": "0",
            "id": "id-1",
            "detail-type": "Email Bounced",
            "source": "sesame",
            "account": "111122223333",
            "time": "2017-08-05T00:41:02Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": record,
        });
        assert_eq!(got, want);
    }

    /// Q-177: the time source of every type — the type object's `timestamp` where it has one,
    /// else `mail.timestamp` — on the seed examples (G-55).
    #[test]
    fn time_per_event_type() {
        let table = [
            ("Send", "2016-10-14T05:02:16Z"),              // mail.timestamp
            ("Reject", "2016-10-14T17:38:15Z"),            // mail.timestamp
            ("Rendering Failure", "2018-01-22T18:43:06Z"), // mail.timestamp
            ("Delivery", "2016-10-19T23:21:04Z"),
            ("Bounce", "2017-08-05T00:41:02Z"),
            ("Complaint", "2017-08-05T00:41:02Z"),
            ("DeliveryDelay", "2020-06-16T00:25:40Z"),
            ("Subscription", "2022-01-12T01:00:17Z"),
            ("Open", "2017-08-09T22:00:19Z"),
            ("Click", "2017-08-09T23:51:25Z"),
        ];
        for (event_type, time) in table {
            let record = spec_example(event_type).unwrap();
            let env = envelope(&record, ID, ACCOUNT, REGION, DEFAULT_SOURCE, vec![]).unwrap();
            assert_eq!(env["time"], time, "{event_type}");
            assert_eq!(env["detail-type"], detail_type(event_type).unwrap());
            assert_eq!(env["detail"], record);
        }
    }

    /// A record built by the crate's own builder gets the same treatment (Q-145 timestamps).
    #[test]
    fn builder_record_time() {
        let mail = crate::MailInfo {
            timestamp_ms: 1_700_000_000_000,
            ..Default::default()
        };
        let record = crate::delivery(
            &mail,
            &crate::DeliveryInfo {
                timestamp_ms: 1_700_000_005_999,
                ..Default::default()
            },
        );
        let env = envelope(&record, ID, ACCOUNT, REGION, DEFAULT_SOURCE, vec![]).unwrap();
        assert_eq!(env["time"], "2023-11-14T22:13:25Z");
        let send = crate::send(&mail);
        let env = envelope(&send, ID, ACCOUNT, REGION, DEFAULT_SOURCE, vec![]).unwrap();
        assert_eq!(env["time"], "2023-11-14T22:13:20Z");
    }

    /// `None` for records that are not events of a known type or carry no usable time.
    #[test]
    fn envelope_refuses_malformed_records() {
        let ts = "2017-08-05T00:41:02.669Z";
        let table = [
            json!({}),
            json!("Delivery"),
            json!({"eventType": "Unknown", "mail": {"timestamp": ts}}),
            json!({"eventType": "delivery", "mail": {"timestamp": ts}}),
            json!({"notificationType": "Delivery", "mail": {"timestamp": ts}}),
            json!({"eventType": 7, "mail": {"timestamp": ts}}),
            // No time anywhere.
            json!({"eventType": "Send", "send": {}}),
            json!({"eventType": "Send", "mail": {}, "send": {}}),
            // A type timestamp that is not Q-145-shaped is not silently replaced.
            json!({"eventType": "Delivery", "mail": {"timestamp": ts},
                   "delivery": {"timestamp": "2018-10-08T14:05:45 +0000"}}),
            json!({"eventType": "Send", "mail": {"timestamp": 1_501_893_662_669_i64}}),
        ];
        for record in table {
            assert_eq!(
                envelope(&record, ID, ACCOUNT, REGION, DEFAULT_SOURCE, vec![]),
                None,
                "{record}"
            );
        }
        // The minimum that works: eventType plus a time.
        let ok = json!({"eventType": "Send", "mail": {"timestamp": ts}, "send": {}});
        let env = envelope(&ok, ID, ACCOUNT, REGION, DEFAULT_SOURCE, vec![]).unwrap();
        assert_eq!(env["time"], "2017-08-05T00:41:02Z");
    }

    /// F-117 / Q-145: the time forms accepted and the second-precision output.
    #[test]
    fn seconds_precision() {
        let table = [
            ("2017-08-05T00:41:02.669Z", Some("2017-08-05T00:41:02Z")),
            ("2023-12-31T23:59:59.999Z", Some("2023-12-31T23:59:59Z")),
            ("2023-11-15T17:00:59Z", Some("2023-11-15T17:00:59Z")),
            ("2023-11-15T17:00:59.1Z", Some("2023-11-15T17:00:59Z")),
            (
                "2023-11-15T17:00:59.123456789Z",
                Some("2023-11-15T17:00:59Z"),
            ),
            ("2023-11-15T17:00:59.Z", None),
            ("2023-11-15T17:00:59", None),
            ("2023-11-15 17:00:59Z", None),
            ("2023-11-15T17:00:59+00:00", None),
            ("2009-12-03T04:24:21.000-05:00", None),
            ("2018-10-08T14:05:45 +0000", None),
            ("2023-11-15T17:0x:59Z", None),
            ("", None),
            ("Z", None),
        ];
        for (given, want) in table {
            assert_eq!(to_seconds(given).as_deref(), want, "{given:?}");
        }
    }
}

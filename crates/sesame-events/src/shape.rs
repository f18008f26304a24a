//! Structural checks for event records and identity notifications — a small, pure JSON-schema
//! of spec G-H / G-L that any produced record can be asserted against (golden tests here, the
//! engine's scenario tests, later integration tests of the publishers).
//!
//! Two tools:
//! - [`check`]: one record against the spec's schema — the discriminator and its allowed
//!   values (G-39, G-58), exactly the top-level keys of its type, every field's JSON type, the
//!   timestamp format (G-38, Q-145), which fields are required, optional or forbidden per the
//!   presence rules (G-40, G-42..G-54, G-60), and an explicit allow-list of optional fields.
//! - [`same_shape`]: two JSON values have the same keys and the same value types,
//!   recursively (arrays element-wise by the first element), except for key paths on an
//!   allow-list. Used to hold a record we build against the spec's example of that type.
//!
//! - [`spec_example`]: the seed's full example of each type, to compare with, and
//!   [`OPTIONAL_FIELDS`], the allow-list to pass to [`same_shape`] with it.
//!
//! Unknown fields fail [`check`]: consumers must tolerate them (G-38), but the product does
//! not add any today, so an unexpected key is a bug (a misspelt name, say).

use serde_json::{Map, Value};

use crate::vocab::event_types;

/// The JSON type of one field.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Str,
    /// `YYYY-MM-DDThh:mm:ss.sssZ` (G-38, Q-145).
    Ts,
    /// A JSON integer (Q-153: `processingTimeMillis`).
    Int,
    Bool,
    /// A string or `null` (Z-4, Q-150: `complaintSubType`).
    StrOrNull,
    /// An array of strings.
    Strs,
    /// `{ "<name>": ["<value>", …] }` (Q-153: `tags`, `linkTags`).
    StrArrayMap,
    /// An object with these fields.
    Obj(&'static [F]),
    /// An array of objects with these fields.
    Objs(&'static [F]),
}

/// Whether a field must, may or must not appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum P {
    Required,
    Optional,
}

/// One field of an object schema.
#[derive(Debug, Clone, Copy)]
struct F(&'static str, Ty, P);

use Ty::*;
use P::{Optional as Opt, Required as Req};

/// `mail.headers[]` (G-40).
const HEADER: &[F] = &[F("name", Str, Req), F("value", Str, Req)];

/// `mail.commonHeaders` (G-40; `cc`, `bcc`, `sender`, `replyTo`, `returnPath` are v2 names
/// [NS]; `date` is in the notification examples, G-60).
const COMMON_HEADERS: &[F] = &[
    F("from", Strs, Opt),
    F("to", Strs, Opt),
    F("cc", Strs, Opt),
    F("bcc", Strs, Opt),
    F("replyTo", Strs, Opt),
    F("returnPath", Str, Opt),
    F("sender", Str, Opt),
    F("date", Str, Opt),
    F("messageId", Str, Opt),
    F("subject", Str, Opt),
];

/// `mail` of an event record (G-40). `sourceArn` is absent on Open/Click; `headers` and
/// `commonHeaders` on Rendering Failure/DeliveryDelay; so both are optional here and the
/// per-type rules in [`check`] make them required or forbidden.
const EVENT_MAIL: &[F] = &[
    F("timestamp", Ts, Req),
    F("source", Str, Req),
    F("sourceArn", Str, Opt),
    F("sendingAccountId", Str, Req),
    F("messageId", Str, Req),
    F("destination", Strs, Req),
    F("headersTruncated", Bool, Req),
    F("headers", Objs(HEADER), Opt),
    F("commonHeaders", Obj(COMMON_HEADERS), Opt),
    F("tags", StrArrayMap, Req),
];

/// `mail` of an identity notification (G-60): `sourceIp`/`callerIdentity`, never `tags`;
/// the header trio only when "include original headers" is on.
const NOTIFICATION_MAIL: &[F] = &[
    F("timestamp", Ts, Req),
    F("source", Str, Req),
    F("sourceArn", Str, Req),
    F("sourceIp", Str, Opt),
    F("sendingAccountId", Str, Req),
    F("callerIdentity", Str, Opt),
    F("messageId", Str, Req),
    F("destination", Strs, Req),
    F("headersTruncated", Bool, Opt),
    F("headers", Objs(HEADER), Opt),
    F("commonHeaders", Obj(COMMON_HEADERS), Opt),
];

/// `bouncedRecipients[]` (G-43): DSN fields only with a DSN.
const BOUNCED_RECIPIENT: &[F] = &[
    F("emailAddress", Str, Req),
    F("action", Str, Opt),
    F("status", Str, Opt),
    F("diagnosticCode", Str, Opt),
];

/// `bounce` (G-42); `remoteMtaIp` is checked per kind in [`check`] (G-60).
const BOUNCE: &[F] = &[
    F("bounceType", Str, Req),
    F("bounceSubType", Str, Req),
    F("bouncedRecipients", Objs(BOUNCED_RECIPIENT), Req),
    F("timestamp", Ts, Req),
    F("feedbackId", Str, Req),
    F("reportingMTA", Str, Opt),
    F("remoteMtaIp", Str, Opt),
];

const COMPLAINED_RECIPIENT: &[F] = &[F("emailAddress", Str, Req)];

/// `complaint` (G-45): `complaintSubType` always, `null` when not applicable (Z-4, Q-150);
/// the ARF fields only with a report.
const COMPLAINT: &[F] = &[
    F("complainedRecipients", Objs(COMPLAINED_RECIPIENT), Req),
    F("timestamp", Ts, Req),
    F("feedbackId", Str, Req),
    F("complaintSubType", StrOrNull, Req),
    F("userAgent", Str, Opt),
    F("complaintFeedbackType", Str, Opt),
    F("arrivalDate", Ts, Opt),
];

/// `delivery` (G-48); `remoteMtaIp` per kind (G-60).
const DELIVERY: &[F] = &[
    F("timestamp", Ts, Req),
    F("processingTimeMillis", Int, Req),
    F("recipients", Strs, Req),
    F("smtpResponse", Str, Req),
    F("reportingMTA", Str, Req),
    F("remoteMtaIp", Str, Opt),
];

const REJECT: &[F] = &[F("reason", Str, Req)];

const OPEN: &[F] = &[
    F("ipAddress", Str, Req),
    F("timestamp", Ts, Req),
    F("userAgent", Str, Req),
];

/// `click` (G-51): `linkTags` only when the link had tags (Z-10, Q-152).
const CLICK: &[F] = &[
    F("ipAddress", Str, Req),
    F("timestamp", Ts, Req),
    F("userAgent", Str, Req),
    F("link", Str, Req),
    F("linkTags", StrArrayMap, Opt),
];

const FAILURE: &[F] = &[F("templateName", Str, Req), F("errorMessage", Str, Req)];

const DELAYED_RECIPIENT: &[F] = &[
    F("emailAddress", Str, Req),
    F("status", Str, Req),
    F("diagnosticCode", Str, Req),
];

/// `deliveryDelay` (G-53): `delayedRecipients` an array (Z-11); `reportingMTA` optional.
const DELIVERY_DELAY: &[F] = &[
    F("timestamp", Ts, Req),
    F("delayType", Str, Req),
    F("expirationTime", Ts, Req),
    F("delayedRecipients", Objs(DELAYED_RECIPIENT), Req),
    F("reportingMTA", Str, Opt),
];

const TOPIC_STATUS: &[F] = &[F("topicName", Str, Req), F("subscriptionStatus", Str, Req)];

const TOPIC_PREFERENCES: &[F] = &[
    F("unsubscribeAll", Bool, Req),
    F("topicSubscriptionStatus", Objs(TOPIC_STATUS), Req),
    F("topicDefaultSubscriptionStatus", Objs(TOPIC_STATUS), Opt),
];

/// `subscription` (G-54).
const SUBSCRIPTION: &[F] = &[
    F("contactList", Str, Req),
    F("timestamp", Ts, Req),
    F("source", Str, Req),
    F("newTopicPreferences", Obj(TOPIC_PREFERENCES), Req),
    F("oldTopicPreferences", Obj(TOPIC_PREFERENCES), Req),
];

/// The type-specific object of each `eventType` (G-39, G-2): key and schema.
fn body_of(event_type: &str) -> Option<(&'static str, &'static [F])> {
    Some(match event_type {
        event_types::SEND => ("send", &[]),
        event_types::REJECT => ("reject", REJECT),
        event_types::RENDERING_FAILURE => ("failure", FAILURE),
        event_types::DELIVERY => ("delivery", DELIVERY),
        event_types::BOUNCE => ("bounce", BOUNCE),
        event_types::COMPLAINT => ("complaint", COMPLAINT),
        event_types::DELIVERY_DELAY => ("deliveryDelay", DELIVERY_DELAY),
        event_types::SUBSCRIPTION => ("subscription", SUBSCRIPTION),
        event_types::OPEN => ("open", OPEN),
        event_types::CLICK => ("click", CLICK),
        _ => return None,
    })
}

/// Checks one event record (`eventType`, G-39..G-55) or identity notification
/// (`notificationType`, G-57..G-61) against the spec's schema. Returns every violation, each
/// as `path: problem`; `Ok(())` when the record has the spec's shape.
///
/// Beyond the field table, the presence rules of the examples are enforced:
/// - events: `mail.tags` present, no `sourceIp`/`callerIdentity` (G-60); `headers` and
///   `commonHeaders` present except on Rendering Failure and DeliveryDelay, where they are
///   absent (G-40); `sourceArn` absent on Open and Click, present otherwise (G-40);
///   `commonHeaders.messageId` equals `mail.messageId` (G-40); no `remoteMtaIp` (G-60);
///   `send` is `{}` (G-39).
/// - notifications: only Bounce/Complaint/Delivery (G-58); no `tags` (G-24); the header trio
///   all or nothing.
pub fn check(record: &Value) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let Some(top) = record.as_object() else {
        return Err(vec!["$: not an object".into()]);
    };
    let (notification, t) = match (top.get("eventType"), top.get("notificationType")) {
        (Some(Value::String(t)), None) => (false, t.as_str()),
        (None, Some(Value::String(t))) => (true, t.as_str()),
        _ => {
            return Err(vec![
                "$: needs exactly one string eventType or notificationType (G-39, G-58)".into(),
            ])
        }
    };
    if notification && !["Bounce", "Complaint", "Delivery"].contains(&t) {
        errs.push(format!(
            "$.notificationType: {t:?} is not a notification type (G-58)"
        ));
    }
    let Some((key, body)) = body_of(t) else {
        return Err(vec![format!("$.eventType: unknown type {t:?} (G-1)")]);
    };
    let disc = if notification {
        "notificationType"
    } else {
        "eventType"
    };
    for k in top.keys() {
        if ![disc, "mail", key].contains(&k.as_str()) {
            errs.push(format!("$.{k}: not a key of a {t} record (G-39)"));
        }
    }
    match top.get(key) {
        Some(v) => check_value(v, Obj(body), &format!("$.{key}"), &mut errs),
        None => errs.push(format!("$.{key}: missing (G-39)")),
    }
    let mail_schema = if notification {
        NOTIFICATION_MAIL
    } else {
        EVENT_MAIL
    };
    let Some(mail) = top.get("mail") else {
        errs.push("$.mail: missing (G-39)".into());
        return Err(errs);
    };
    check_value(mail, Obj(mail_schema), "$.mail", &mut errs);
    let Some(mail) = mail.as_object() else {
        return Err(errs);
    };
    let has = |k: &str| mail.contains_key(k);
    if notification {
        let trio = ["headersTruncated", "headers", "commonHeaders"].map(has);
        if trio.iter().any(|&b| b) && !trio.iter().all(|&b| b) {
            errs.push(
                "$.mail: headersTruncated/headers/commonHeaders come all together (Q-164)".into(),
            );
        }
    } else {
        let headerless = [event_types::RENDERING_FAILURE, event_types::DELIVERY_DELAY].contains(&t);
        for k in ["headers", "commonHeaders"] {
            if headerless && has(k) {
                errs.push(format!("$.mail.{k}: absent on {t} records (G-40)"));
            } else if !headerless && !has(k) {
                errs.push(format!("$.mail.{k}: missing (G-40)"));
            }
        }
        let engagement = [event_types::OPEN, event_types::CLICK].contains(&t);
        if engagement && has("sourceArn") {
            errs.push(format!("$.mail.sourceArn: absent on {t} records (G-40)"));
        } else if !engagement && !has("sourceArn") {
            errs.push("$.mail.sourceArn: missing (G-40)".into());
        }
        if let (Some(id), Some(common_id)) = (
            mail.get("messageId"),
            mail.get("commonHeaders").and_then(|c| c.get("messageId")),
        ) {
            if id != common_id {
                errs.push(
                    "$.mail.commonHeaders.messageId: must equal mail.messageId in events (G-40)"
                        .into(),
                );
            }
        }
        if let Some(b) = top.get(key).and_then(Value::as_object) {
            if b.contains_key("remoteMtaIp") {
                errs.push(format!("$.{key}.remoteMtaIp: notifications only (G-60)"));
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

fn check_value(v: &Value, ty: Ty, path: &str, errs: &mut Vec<String>) {
    let mut bad = |what: &str| errs.push(format!("{path}: expected {what}, got {v}"));
    match ty {
        Str => {
            if !v.is_string() {
                bad("a string")
            }
        }
        Ts => match v.as_str() {
            Some(s) if is_iso_ms(s) => {}
            _ => bad("a YYYY-MM-DDThh:mm:ss.sssZ timestamp (G-38)"),
        },
        Int => {
            if !(v.is_i64() || v.is_u64()) {
                bad("an integer")
            }
        }
        Bool => {
            if !v.is_boolean() {
                bad("a boolean")
            }
        }
        StrOrNull => {
            if !(v.is_string() || v.is_null()) {
                bad("a string or null")
            }
        }
        Strs => match v.as_array() {
            Some(a) if a.iter().all(Value::is_string) => {}
            _ => bad("an array of strings"),
        },
        StrArrayMap => match v.as_object() {
            Some(o)
                if o.values()
                    .all(|x| x.as_array().is_some_and(|a| a.iter().all(Value::is_string))) => {}
            _ => bad("an object of string arrays"),
        },
        Obj(fields) => match v.as_object() {
            Some(o) => check_object(o, fields, path, errs),
            None => bad("an object"),
        },
        Objs(fields) => match v.as_array() {
            Some(a) => {
                for (i, item) in a.iter().enumerate() {
                    check_value(item, Obj(fields), &format!("{path}[{i}]"), errs);
                }
            }
            None => bad("an array of objects"),
        },
    }
}

fn check_object(o: &Map<String, Value>, fields: &[F], path: &str, errs: &mut Vec<String>) {
    for F(name, ty, presence) in fields {
        match o.get(*name) {
            Some(v) => check_value(v, *ty, &format!("{path}.{name}"), errs),
            None if *presence == Req => errs.push(format!("{path}.{name}: missing")),
            None => {}
        }
    }
    for k in o.keys() {
        if !fields.iter().any(|F(name, ..)| name == k) {
            errs.push(format!("{path}.{k}: unknown field"));
        }
    }
}

/// `YYYY-MM-DDThh:mm:ss.sssZ` with digits where digits belong (G-38, Q-145).
pub fn is_iso_ms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Structural comparison: `actual` has the same keys as `expected` and every value the same
/// JSON type (string, number-integer, number-float, bool, null, array, object), recursively.
/// Arrays are compared element by element up to the shorter length, so the element shape is
/// checked without requiring the same number of recipients or headers.
///
/// `optional` lists key paths (`mail.headers`, `complaint.complaintSubType`, …; array
/// indices are not part of a path) that may be present on one side only. The keys of
/// `mail.tags` and `click.linkTags` are names the sender chose, so only shared keys are
/// compared there. Returns every
/// difference as `path: problem`; empty means the same shape.
pub fn same_shape(expected: &Value, actual: &Value, optional: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    walk(expected, actual, "", optional, &mut out);
    out
}

/// The seed's full example record of an event type (`eventType` value, G-55, [L14447–L15288])
/// or, for `"notification:Bounce"`, `"notification:Complaint"`, `"notification:Delivery"`, of
/// an identity notification (G-61, [L8156–L8500]) — the `expected` of the golden fixture
/// `testdata/<type>/010.json` (notifications: `notification/010.json`, `011.json`,
/// `013.json`). For [`same_shape`] in tests outside this crate. `None` for other names.
pub fn spec_example(kind: &str) -> Option<Value> {
    let text = match kind {
        "Send" => include_str!("../testdata/send/010.json"),
        "Reject" => include_str!("../testdata/reject/010.json"),
        "Rendering Failure" => include_str!("../testdata/rendering_failure/010.json"),
        "Delivery" => include_str!("../testdata/delivery/010.json"),
        "Bounce" => include_str!("../testdata/bounce/010.json"),
        "Complaint" => include_str!("../testdata/complaint/010.json"),
        "DeliveryDelay" => include_str!("../testdata/delivery_delay/010.json"),
        "Subscription" => include_str!("../testdata/subscription/010.json"),
        "Open" => include_str!("../testdata/open/010.json"),
        "Click" => include_str!("../testdata/click/010.json"),
        "notification:Bounce" => include_str!("../testdata/notification/010.json"),
        "notification:Complaint" => include_str!("../testdata/notification/011.json"),
        "notification:Delivery" => include_str!("../testdata/notification/013.json"),
        _ => return None,
    };
    let fixture: Value = serde_json::from_str(text).expect("golden fixture is JSON");
    Some(fixture["expected"].clone())
}

/// Key paths that the spec makes optional within a type, for [`same_shape`] against a
/// [`spec_example`]: a produced record may have them where the example has not, or lack them.
pub const OPTIONAL_FIELDS: &[&str] = &[
    // G-40 [NS]: v2 commonHeaders members (`date` is in notification examples, G-60); a
    // templated Send may lack `subject` (G-40, [L15847]).
    "mail.commonHeaders.date",
    "mail.commonHeaders.cc",
    "mail.commonHeaders.bcc",
    "mail.commonHeaders.replyTo",
    "mail.commonHeaders.returnPath",
    "mail.commonHeaders.sender",
    "mail.commonHeaders.subject",
    // G-60: notifications, when known.
    "mail.sourceIp",
    "mail.callerIdentity",
    "bounce.remoteMtaIp",
    "delivery.remoteMtaIp",
    // G-42 / G-43: DSN fields only with a DSN.
    "bounce.reportingMTA",
    "bounce.bouncedRecipients.action",
    "bounce.bouncedRecipients.status",
    "bounce.bouncedRecipients.diagnosticCode",
    // G-45 / Q-150: ARF fields only with a report.
    "complaint.userAgent",
    "complaint.complaintFeedbackType",
    "complaint.arrivalDate",
    // G-51 / Z-10 / Q-152: no linkTags for a link without `ses:tags`.
    "click.linkTags",
    // G-53 / Q-149.
    "deliveryDelay.reportingMTA",
    // G-54.
    "subscription.newTopicPreferences.topicDefaultSubscriptionStatus",
    "subscription.oldTopicPreferences.topicDefaultSubscriptionStatus",
];

/// Paths of `{name: [values]}` maps whose names are the sender's (G-23, G-51).
const OPEN_MAPS: [&str; 2] = ["mail.tags", "click.linkTags"];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(e: &Value, a: &Value, path: &str, optional: &[&str], out: &mut Vec<String>) {
    let shown = if path.is_empty() { "$" } else { path };
    match (e, a) {
        (Value::Object(eo), Value::Object(ao)) => {
            let join = |k: &str| {
                if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                }
            };
            // Map-valued fields (tags, linkTags) have open key sets: their values are
            // compared only where both sides share a key.
            let open_map = OPEN_MAPS.contains(&path);
            for (k, ev) in eo {
                let p = join(k);
                match ao.get(k) {
                    Some(av) => walk(ev, av, &p, optional, out),
                    None if open_map || optional.contains(&p.as_str()) => {}
                    None => out.push(format!("{p}: missing")),
                }
            }
            for k in ao.keys().filter(|k| !eo.contains_key(*k)) {
                let p = join(k);
                if !open_map && !optional.contains(&p.as_str()) {
                    out.push(format!("{p}: unexpected"));
                }
            }
        }
        (Value::Array(ea), Value::Array(aa)) => {
            for (ev, av) in ea.iter().zip(aa) {
                walk(ev, av, path, optional, out);
            }
        }
        _ if type_name(e) != type_name(a) => out.push(format!(
            "{shown}: {} in the example, {} here",
            type_name(e),
            type_name(a)
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// G-55 / G-61: every type has its seed example, of that type, in the spec's shape.
    #[test]
    fn spec_examples_are_wired() {
        for t in event_types::ALL {
            let v = spec_example(t).unwrap_or_else(|| panic!("{t}"));
            assert_eq!(v["eventType"], t);
            check(&v).unwrap_or_else(|e| panic!("{t}: {e:#?}"));
        }
        for t in ["Bounce", "Complaint", "Delivery"] {
            let v = spec_example(&format!("notification:{t}")).unwrap();
            assert_eq!(v["notificationType"], t);
            check(&v).unwrap_or_else(|e| panic!("{t}: {e:#?}"));
        }
        assert!(spec_example("Unknown").is_none());
    }

    #[test]
    fn timestamp_shape() {
        for (s, ok) in [
            ("2017-08-05T00:41:02.669Z", true),
            ("2017-08-05T00:41:02Z", false),
            ("2018-10-08T14:05:45 +0000", false),
            ("2009-12-03T04:24:21.000-05:00", false),
            ("2017-08-05T00:41:02.66xZ", false),
        ] {
            assert_eq!(is_iso_ms(s), ok, "{s}");
        }
    }

    /// G-40 / Q-153: wrong types, unknown and missing fields are all reported with their path.
    #[test]
    fn check_reports_each_violation() {
        let bad = json!({
            "eventType": "Delivery",
            "mail": {
                "timestamp": "2016-10-19T23:20:52Z",
                "source": "s@example.com", "sourceArn": "arn", "sendingAccountId": "1",
                "messageId": "id", "destination": "r@example.com",
                "headersTruncated": "false", "headers": [], "commonHeaders": {"messageId": "other"},
                "tags": {"ses:configuration-set": "ConfigSet"}, "sourceIp": "192.0.2.1"
            },
            "delivery": {"timestamp": "2016-10-19T23:21:04.133Z", "processingTimeMillis": "11893",
                "recipients": ["r@example.com"], "smtpResponse": "250 ok",
                "reportingMTA": "mta", "remoteMtaIp": "192.0.2.2"}
        });
        let errs = check(&bad).unwrap_err();
        for want in [
            "$.mail.timestamp: expected a YYYY",
            "$.mail.destination: expected an array of strings",
            "$.mail.headersTruncated: expected a boolean",
            "$.mail.tags: expected an object of string arrays",
            "$.mail.sourceIp: unknown field",
            "$.mail.commonHeaders.messageId: must equal",
            "$.delivery.processingTimeMillis: expected an integer",
            "$.delivery.remoteMtaIp: notifications only",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(want)),
                "{want} not in {errs:#?}"
            );
        }
        assert_eq!(errs.len(), 8, "{errs:#?}");
    }

    #[test]
    fn same_shape_reports_types_and_keys() {
        let e = json!({"a": 1, "b": ["x"], "c": {"d": true}, "o": null});
        let a = json!({"a": "1", "b": [2], "c": {}, "z": 0});
        let mut d = same_shape(&e, &a, &["o"]);
        d.sort();
        assert_eq!(
            d,
            [
                "a: integer in the example, string here",
                "b: string in the example, integer here",
                "c.d: missing",
                "z: unexpected",
            ]
        );
        assert!(same_shape(&e, &e, &[]).is_empty());
    }
}

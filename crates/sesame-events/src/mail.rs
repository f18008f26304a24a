//! The `mail` object common to every record (G-40) and notification (G-60, D-125).
//!
//! One builder feeds both kinds; a private `Flavor` carries the G-60 differences.

use serde_json::{json, Map, Value};

use crate::timestamp::iso_timestamp;
use crate::vocab::auto_tags;

/// Everything the product knows about one accepted message that records repeat in `mail`.
///
/// Built once at acceptance (plus `outgoing_ip` once a delivery was attempted) and passed to
/// every builder; the builders decide what each record kind shows.
/// Serializable so the send pipeline can keep it with the queued message and rebuild later
/// events from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MailInfo {
    /// When the send request was accepted (Unix ms) → `mail.timestamp`.
    pub timestamp_ms: i64,
    /// Envelope/source address as given, display name included (G-40: `"Sender Name <…>"`).
    pub source: String,
    /// ARN of the identity used; the owner's under sending authorisation (G-40).
    pub source_arn: String,
    /// The *delegate sender's* account under sending authorisation (G-40).
    pub sending_account_id: String,
    /// Product-assigned id; also `commonHeaders.messageId` in events (G-40).
    pub message_id: String,
    /// All recipients of the original message (G-40).
    pub destination: Vec<String>,
    /// Submitting client's IP: tag `ses:source-ip` in events, `mail.sourceIp` in notifications.
    pub source_ip: Option<String>,
    /// Principal name: tag `ses:caller-identity` in events, `mail.callerIdentity` in
    /// notifications (G-23, G-60).
    pub caller_identity: Option<String>,
    /// Tag `ses:configuration-set` (G-23).
    pub configuration_set: Option<String>,
    /// Domain of the From address → tag `ses:from-domain`; omitted when empty.
    pub from_domain: String,
    /// Submitting operation → tag `ses:operation` (Q-156; see [`crate::operations`]);
    /// omitted when empty.
    pub operation: String,
    /// Message tags (API parameters or `X-SES-MESSAGE-TAGS`, already resolved per G-27).
    pub custom_tags: Vec<(String, String)>,
    /// Original headers, as submitted and in order, `X-SES-*` included (Q-155, Z-7).
    pub headers: Vec<(String, String)>,
    /// Parsed common headers of the original message.
    pub common: CommonHeaders,
    /// Addition to the brief's shape: TLS version of the submission → `ses:source-tls-version`
    /// (G-23), when submitted over TLS.
    pub source_tls_version: Option<String>,
    /// Addition to the brief's shape: IP the product sent from → `ses:outgoing-ip` (G-23),
    /// known once a delivery was attempted. Never shown on Send/Reject/Rendering Failure.
    pub outgoing_ip: Option<String>,
}

/// `mail.commonHeaders` (G-40). Lists and absent values are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CommonHeaders {
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub reply_to: Vec<String>,
    pub return_path: Option<String>,
    pub sender: Option<String>,
    pub date: Option<String>,
    /// The *original* Message-ID. Shown only in notifications; events show the product's id
    /// instead (G-40, G-60, Q-157).
    pub message_id: Option<String>,
    pub subject: Option<String>,
}

/// Header-block size at which `mail.headers` is truncated (Q-154, Z-13): 10 KB, inclusive.
pub const HEADERS_TRUNCATION_BYTES: usize = 10_240;

/// when the serialized original header block (each header as `Name: value\r\n`, the
/// blank separator line not counted) is ≥ [`HEADERS_TRUNCATION_BYTES`], keep the longest
/// prefix of complete headers whose serialized size stays below the limit and report `true`.
/// Otherwise return every header and `false`.
pub fn truncate_headers(headers: &[(String, String)]) -> (&[(String, String)], bool) {
    let mut total = 0usize;
    let mut keep = None;
    for (i, (name, value)) in headers.iter().enumerate() {
        total += name.len() + 2 + value.len() + 2;
        if keep.is_none() && total >= HEADERS_TRUNCATION_BYTES {
            keep = Some(i);
        }
    }
    match keep {
        Some(n) => (&headers[..n], true),
        None => (headers, false),
    }
}

/// The `mail` object of an *event record* (G-40): no `sourceIp`/`callerIdentity` (they are
/// tags there, G-60), `commonHeaders.messageId` = the product's id, and the `tags` map with
/// auto tags (including `ses:outgoing-ip` when known) and message tags.
///
/// `include_headers` controls `headers` and `commonHeaders`; the record builders pass `false`
/// for Rendering Failure and DeliveryDelay (G-40). `headersTruncated` is always present in
/// events, as in every seed example of those two types (L15129, L15158, L16239, L16270).
pub fn mail_object(m: &MailInfo, include_headers: bool) -> Value {
    build(
        m,
        Flavor::Event {
            include_headers,
            outgoing_ip: true,
        },
    )
}

/// Which kind of record the `mail` object is for (G-60 differences).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flavor {
    Event {
        include_headers: bool,
        /// `ses:outgoing-ip` only on `Delivery` and later records.
        outgoing_ip: bool,
    },
    Notification {
        include_headers: bool,
    },
}

pub(crate) fn build(m: &MailInfo, flavor: Flavor) -> Value {
    let notification = matches!(flavor, Flavor::Notification { .. });
    let include_headers = match flavor {
        Flavor::Event {
            include_headers, ..
        }
        | Flavor::Notification { include_headers } => include_headers,
    };
    let mut o = Map::new();
    o.insert("timestamp".into(), iso_timestamp(m.timestamp_ms).into());
    o.insert("source".into(), m.source.clone().into());
    o.insert("sourceArn".into(), m.source_arn.clone().into());
    if notification {
        if let Some(ip) = &m.source_ip {
            o.insert("sourceIp".into(), ip.clone().into());
        }
    }
    o.insert(
        "sendingAccountId".into(),
        m.sending_account_id.clone().into(),
    );
    if notification {
        if let Some(who) = &m.caller_identity {
            o.insert("callerIdentity".into(), who.clone().into());
        }
    }
    o.insert("messageId".into(), m.message_id.clone().into());
    o.insert("destination".into(), json!(m.destination));
    let (kept, truncated) = truncate_headers(&m.headers);
    // Events always carry `headersTruncated`, even the Rendering Failure and DeliveryDelay
    // records that show no headers (seed examples L15129, L15158, L16239, L16270);
    // notifications only together with the headers (G-60, Q-164).
    if include_headers || !notification {
        o.insert("headersTruncated".into(), truncated.into());
    }
    if include_headers {
        let headers: Vec<Value> = kept
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        o.insert("headers".into(), headers.into());
        let message_id = if notification {
            m.common.message_id.as_deref()
        } else {
            Some(m.message_id.as_str())
        };
        o.insert(
            "commonHeaders".into(),
            common_headers(&m.common, message_id),
        );
    }
    if let Flavor::Event { outgoing_ip, .. } = flavor {
        o.insert("tags".into(), tags(m, outgoing_ip));
    }
    Value::Object(o)
}

fn common_headers(c: &CommonHeaders, message_id: Option<&str>) -> Value {
    let mut o = Map::new();
    let lists = [
        ("from", &c.from),
        ("to", &c.to),
        ("cc", &c.cc),
        ("bcc", &c.bcc),
        ("replyTo", &c.reply_to),
    ];
    for (key, list) in lists {
        if !list.is_empty() {
            o.insert(key.into(), json!(list));
        }
    }
    let singles = [
        ("returnPath", c.return_path.as_deref()),
        ("sender", c.sender.as_deref()),
        ("date", c.date.as_deref()),
        ("messageId", message_id),
        ("subject", c.subject.as_deref()),
    ];
    for (key, v) in singles {
        if let Some(v) = v {
            o.insert(key.into(), v.into());
        }
    }
    Value::Object(o)
}

/// `mail.tags` (G-23, G-40, Q-153, Q-156): every value an array of strings. Auto tags first,
/// then message tags; a repeated message-tag name collects its values in order. Message tags
/// named `ses:…` are dropped: G-22 forbids `:` in tag names, so such a tag could only be an
/// attempt to forge an auto tag.
fn tags(m: &MailInfo, with_outgoing_ip: bool) -> Value {
    let mut o = Map::new();
    let outgoing = if with_outgoing_ip {
        m.outgoing_ip.as_deref()
    } else {
        None
    };
    let autos = [
        (auto_tags::OPERATION, non_empty(&m.operation)),
        (auto_tags::CONFIGURATION_SET, m.configuration_set.as_deref()),
        (auto_tags::SOURCE_IP, m.source_ip.as_deref()),
        (auto_tags::FROM_DOMAIN, non_empty(&m.from_domain)),
        (auto_tags::CALLER_IDENTITY, m.caller_identity.as_deref()),
        (
            auto_tags::SOURCE_TLS_VERSION,
            m.source_tls_version.as_deref(),
        ),
        (auto_tags::OUTGOING_IP, outgoing),
    ];
    for (name, value) in autos {
        if let Some(v) = value {
            o.insert(name.into(), json!([v]));
        }
    }
    for (name, value) in &m.custom_tags {
        if name.starts_with(auto_tags::PREFIX) {
            continue;
        }
        match o.get_mut(name) {
            Some(Value::Array(values)) => values.push(value.clone().into()),
            _ => {
                o.insert(name.clone(), json!([value]));
            }
        }
    }
    Value::Object(o)
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> MailInfo {
        MailInfo {
            timestamp_ms: 0,
            message_id: "id".into(),
            operation: "SendEmail".into(),
            configuration_set: Some("CS".into()),
            source_ip: Some("192.0.2.0".into()),
            from_domain: "example.com".into(),
            caller_identity: Some("ses_user".into()),
            ..MailInfo::default()
        }
    }

    /// G-23 / Q-156 / G-T 2–3: which auto tags appear, always as one-element arrays.
    #[test]
    fn auto_tags_table() {
        let full = MailInfo {
            source_tls_version: Some("TLSv1.3".into()),
            outgoing_ip: Some("198.51.100.7".into()),
            ..info()
        };
        let bare = MailInfo {
            operation: String::new(),
            configuration_set: None,
            source_ip: None,
            from_domain: String::new(),
            caller_identity: None,
            ..info()
        };
        let table: Vec<(&str, MailInfo, bool, Value)> = vec![
            (
                "event without outgoing ip",
                info(),
                true,
                json!({"ses:operation":["SendEmail"],"ses:configuration-set":["CS"],
                       "ses:source-ip":["192.0.2.0"],"ses:from-domain":["example.com"],
                       "ses:caller-identity":["ses_user"]}),
            ),
            (
                "delivery-time: tls version and outgoing ip",
                full.clone(),
                true,
                json!({"ses:operation":["SendEmail"],"ses:configuration-set":["CS"],
                       "ses:source-ip":["192.0.2.0"],"ses:from-domain":["example.com"],
                       "ses:caller-identity":["ses_user"],"ses:source-tls-version":["TLSv1.3"],
                       "ses:outgoing-ip":["198.51.100.7"]}),
            ),
            (
                "pre-delivery record hides outgoing ip (Q-156)",
                full,
                false,
                json!({"ses:operation":["SendEmail"],"ses:configuration-set":["CS"],
                       "ses:source-ip":["192.0.2.0"],"ses:from-domain":["example.com"],
                       "ses:caller-identity":["ses_user"],"ses:source-tls-version":["TLSv1.3"]}),
            ),
            ("nothing known", bare, true, json!({})),
            (
                "message tags as arrays, repeats collected, ses: forgeries dropped",
                MailInfo {
                    custom_tags: vec![
                        ("campaign".into(), "book".into()),
                        ("ses:configuration-set".into(), "forged".into()),
                        ("campaign".into(), "fall".into()),
                        ("ses:evil".into(), "x".into()),
                        ("team".into(), "a_b-c".into()),
                    ],
                    ..info()
                },
                true,
                json!({"ses:operation":["SendEmail"],"ses:configuration-set":["CS"],
                       "ses:source-ip":["192.0.2.0"],"ses:from-domain":["example.com"],
                       "ses:caller-identity":["ses_user"],"campaign":["book","fall"],
                       "team":["a_b-c"]}),
            ),
        ];
        for (what, m, outgoing, want) in table {
            assert_eq!(tags(&m, outgoing), want, "{what}");
        }
    }

    fn header_of_size(n: usize) -> (String, String) {
        // `X: ` + value + CRLF  → 3 + len + 2 bytes
        ("X".into(), "v".repeat(n - 5))
    }

    /// Q-154 / Z-13: ≥ 10 240 serialized bytes truncates at the last complete header below
    /// the limit; 10 239 does not.
    #[test]
    fn header_truncation_table() {
        let table: Vec<(&str, Vec<usize>, usize, bool)> = vec![
            ("empty", vec![], 0, false),
            ("small", vec![100, 200], 2, false),
            ("one byte under", vec![5_000, 5_239], 2, false),
            ("exactly at limit", vec![5_000, 5_240], 1, true),
            ("one over", vec![5_000, 5_241], 1, true),
            ("first header alone too big", vec![10_240, 10], 0, true),
            ("cut in the middle", vec![4_000, 4_000, 4_000, 10], 2, true),
            ("many small", vec![100; 103], 102, true),
            ("many small, fits", vec![100; 102], 102, false),
        ];
        for (what, sizes, kept, truncated) in table {
            let headers: Vec<_> = sizes.iter().map(|&n| header_of_size(n)).collect();
            let (k, t) = truncate_headers(&headers);
            assert_eq!((k.len(), t), (kept, truncated), "{what}");
            assert_eq!(k, &headers[..kept]);
        }
    }

    /// G-40 / Q-154: the flag and the cut show in the `mail` object; order is kept.
    #[test]
    fn truncation_visible_in_mail_object() {
        let m = MailInfo {
            headers: vec![
                ("From".into(), "a@example.com".into()),
                header_of_size(10_300),
                ("Subject".into(), "s".into()),
            ],
            ..info()
        };
        let v = mail_object(&m, true);
        assert_eq!(v["headersTruncated"], json!(true));
        assert_eq!(
            v["headers"],
            json!([{"name":"From","value":"a@example.com"}])
        );
    }

    /// G-60 / Q-157: notification `mail` has sourceIp/callerIdentity, no tags, and the
    /// *original* Message-ID; headers only on request.
    #[test]
    fn notification_flavor_differences() {
        let m = MailInfo {
            common: CommonHeaders {
                message_id: Some("<orig@client>".into()),
                ..CommonHeaders::default()
            },
            ..info()
        };
        let n = build(
            &m,
            Flavor::Notification {
                include_headers: true,
            },
        );
        assert_eq!(n["sourceIp"], json!("192.0.2.0"));
        assert_eq!(n["callerIdentity"], json!("ses_user"));
        assert!(n.get("tags").is_none());
        assert_eq!(n["commonHeaders"]["messageId"], json!("<orig@client>"));
        let bare = build(
            &m,
            Flavor::Notification {
                include_headers: false,
            },
        );
        for k in ["headersTruncated", "headers", "commonHeaders", "tags"] {
            assert!(bare.get(k).is_none(), "{k}");
        }
        let e = mail_object(&m, true);
        assert!(e.get("sourceIp").is_none() && e.get("callerIdentity").is_none());
        assert_eq!(e["commonHeaders"]["messageId"], json!("id"));
    }
}

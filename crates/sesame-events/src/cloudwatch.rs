//! What a CloudWatch-type event destination counts, as pure functions over an event record:
//! the SES metric name of an `eventType` (G-33, Z-12), the dimension values a record carries
//! for a destination's `DimensionConfigurations` (G-33), and the Prometheus label name a
//! dimension is exposed under (§G-Y "CloudWatch metrics", DECISIONS Q-175). The counters
//! themselves live in `sesame-metrics`; this module knows nothing of a registry.
//!
//! **Values CloudWatch would not accept.** G-30 says a tag or header value outside
//! `A–Z a–z 0–9 _ @ - .` means "no metrics for that message" in SES. Sesame counts it anyway,
//! with the value as it is (cut to [`MAX_VALUE_CHARS`] characters): a Prometheus label value may
//! be any UTF-8 string (the exposition escapes it), and dropping a count silently would make
//! the destination's totals disagree with the events delivered to its other consumers. Only
//! an empty value is treated as missing, because CloudWatch dimension values have at least one
//! character: the `DefaultDimensionValue` is used instead.

use serde_json::Value;

use crate::vocab::event_types;

/// Longest dimension value kept, in characters: the limit of `DefaultDimensionValue` (G-33).
pub const MAX_VALUE_CHARS: usize = 256;

/// The labels every `ses_configuration_set_events_total` series has before its dimension
/// labels (§G-Y; `account_id` and `region` because several tenants may have a set of the same
/// name, as on the reputation gauges). [`label_name`] never returns one of them.
pub const FIXED_LABELS: [&str; 5] = [
    "account_id",
    "region",
    "configuration_set",
    "event_destination",
    "event_type",
];

/// Prefix given to a sanitised dimension name that would collide with a [`FIXED_LABELS`] entry
/// or start with the `__` Prometheus reserves for itself.
pub const COLLISION_PREFIX: &str = "dimension_";

/// The CloudWatch metric name (namespace `AWS/SES`) of an event type (G-33, Z-12): the
/// record's `eventType` unchanged, except `Rendering Failure` → `RenderingFailure`. A metric
/// name is also accepted and returned as is, so the function is idempotent. `None` for
/// anything that is not one of the ten types (G-1), which is therefore never counted.
pub fn metric_name(event_type: &str) -> Option<&'static str> {
    if event_type == event_types::RENDERING_FAILURE || event_type == "RenderingFailure" {
        return Some("RenderingFailure");
    }
    event_types::ALL.iter().copied().find(|t| *t == event_type)
}

/// The (DimensionName, value) pairs `event` carries for a CloudWatch destination configured
/// with `dimensions` (stored v2 `DimensionConfigurations`: `DimensionName`,
/// `DimensionValueSource`, `DefaultDimensionValue`), in configuration order (G-33):
///
/// - `MESSAGE_TAG`: the first value of `mail.tags[DimensionName]`, auto tags such as
///   `ses:configuration-set` included (G-23);
/// - `EMAIL_HEADER`: the value of the first `mail.headers` entry whose name matches
///   case-insensitively. Only records that show headers have one (the destination's records
///   for `Rendering Failure` and `DeliveryDelay` do not), and only among the headers kept by
///   truncation; otherwise the default;
/// - `LINK_TAG`: the first value of `click.linkTags[DimensionName]`, so only Click events
///   have one (G-55);
/// - a missing or empty value, or an unknown source, gives the `DefaultDimensionValue`.
///
/// Values are used as they are, cut to [`MAX_VALUE_CHARS`] characters (module docs). A
/// configuration without a string `DimensionName` is skipped (validation refuses it anyway).
pub fn dimension_values(event: &Value, dimensions: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(dimensions.len());
    for dim in dimensions {
        let Some(name) = dim.get("DimensionName").and_then(Value::as_str) else {
            continue;
        };
        let found = match dim.get("DimensionValueSource").and_then(Value::as_str) {
            Some("MESSAGE_TAG") => first_of(&event["mail"]["tags"][name]),
            Some("EMAIL_HEADER") => header(event, name),
            Some("LINK_TAG") => first_of(&event["click"]["linkTags"][name]),
            _ => None,
        };
        let value = found
            .filter(|v| !v.is_empty())
            .or_else(|| dim.get("DefaultDimensionValue").and_then(Value::as_str))
            .unwrap_or_default();
        out.push((name.to_string(), cut(value)));
    }
    out
}

/// The first string of a `{name: [values]}` map entry.
fn first_of(values: &Value) -> Option<&str> {
    values.as_array()?.first()?.as_str()
}

/// The value of the first `mail.headers` entry named `name`, ignoring ASCII case.
fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    let named = |h: &&Value| {
        h["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    };
    let headers = event["mail"]["headers"].as_array()?;
    headers.iter().find(named)?["value"].as_str()
}

fn cut(value: &str) -> String {
    match value.char_indices().nth(MAX_VALUE_CHARS) {
        Some((at, _)) => value[..at].to_string(),
        None => value.to_string(),
    }
}

/// The Prometheus label name a dimension is exposed under (§G-Y, Q-175): every character
/// outside `[a-zA-Z0-9_]` becomes `_`, and a name that is empty or starts with a digit gets a
/// leading `_`, so the result matches `[a-zA-Z_][a-zA-Z0-9_]*` (`ses:configuration-set` →
/// `ses_configuration_set`, `1st` → `_1st`). A result equal to one of [`FIXED_LABELS`]
/// (`event_type`, …) or starting with `__` (reserved by Prometheus) gets
/// [`COLLISION_PREFIX`] (`event-type` → `dimension_event_type`). The API keeps the original
/// name; only the exposition uses this one.
pub fn label_name(dimension_name: &str) -> String {
    let mut out: String = dimension_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.starts_with("__") || FIXED_LABELS.contains(&out.as_str()) {
        out.insert_str(0, COLLISION_PREFIX);
    }
    out
}

/// The label names of one destination's dimensions, in order: [`label_name`] of each, with a
/// name already taken by an earlier dimension suffixed `_2`, `_3`, … (`a-b` and `a_b` →
/// `a_b`, `a_b_2`), so a series never repeats a label name (an exposition that did would fail
/// the whole scrape). Deterministic for a given configuration.
pub fn label_names<'a>(dimension_names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in dimension_names {
        let base = label_name(name);
        let mut candidate = base.clone();
        let mut n = 2;
        while out.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// G-33, Z-12: the ten metric names; only Rendering Failure is respelled.
    #[test]
    fn metric_name_table() {
        let table = [
            ("Send", Some("Send")),
            ("Rendering Failure", Some("RenderingFailure")),
            ("RenderingFailure", Some("RenderingFailure")),
            ("Reject", Some("Reject")),
            ("Delivery", Some("Delivery")),
            ("Bounce", Some("Bounce")),
            ("Complaint", Some("Complaint")),
            ("DeliveryDelay", Some("DeliveryDelay")),
            ("Subscription", Some("Subscription")),
            ("Open", Some("Open")),
            ("Click", Some("Click")),
            ("send", None),
            ("RENDERING_FAILURE", None),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(metric_name(input), want, "{input:?}");
        }
        for t in event_types::ALL {
            let m = metric_name(t).unwrap();
            assert_eq!(metric_name(m), Some(m), "idempotent for {t}");
        }
    }

    fn dim(name: &str, source: &str, default: &str) -> Value {
        json!({"DimensionName": name, "DimensionValueSource": source,
               "DefaultDimensionValue": default})
    }

    /// A Click record in the spec G shape: tags and link tags are maps of arrays, headers a
    /// list of `{name, value}`.
    fn click() -> Value {
        json!({
            "eventType": "Click",
            "mail": {
                "tags": {
                    "ses:configuration-set": ["cs1"],
                    "campaign": ["spring", "ignored"],
                    "empty": [""],
                    "none": [],
                },
                "headers": [
                    {"name": "X-Campaign", "value": "first"},
                    {"name": "x-campaign", "value": "second"},
                    {"name": "Subject", "value": "Hi"},
                ],
            },
            "click": {"link": "https://example.com", "linkTags": {"place": ["header"]}},
        })
    }

    #[test]
    fn dimension_values_table() {
        let long = "v".repeat(300);
        let mut long_tag = click();
        long_tag["mail"]["tags"]["long"] = json!([long]);
        let untagged = json!({"eventType": "Send", "mail": {"tags": {}}, "send": {}});
        let send = json!({"eventType": "Send", "mail": {"tags": {"place": ["x"]}}, "send": {}});
        // (event, dimension configuration, want value)
        let table: &[(&Value, Value, &str)] = &[
            // G-T item 9: an untagged message counts under the default.
            (&untagged, dim("campaign", "MESSAGE_TAG", "none"), "none"),
            (&click(), dim("campaign", "MESSAGE_TAG", "none"), "spring"),
            // G-33 [L13778]: auto tags work as dimensions.
            (
                &click(),
                dim("ses:configuration-set", "MESSAGE_TAG", "d"),
                "cs1",
            ),
            (&click(), dim("empty", "MESSAGE_TAG", "d"), "d"),
            (&click(), dim("none", "MESSAGE_TAG", "d"), "d"),
            (&click(), dim("Campaign", "MESSAGE_TAG", "d"), "d"),
            // Header names match case-insensitively; the first match wins.
            (&click(), dim("x-CAMPAIGN", "EMAIL_HEADER", "d"), "first"),
            (&click(), dim("X-Missing", "EMAIL_HEADER", "d"), "d"),
            (&untagged, dim("Subject", "EMAIL_HEADER", "d"), "d"),
            (&click(), dim("place", "LINK_TAG", "d"), "header"),
            // Only a Click record has link tags; a same-named message tag is not used.
            (&send, dim("place", "LINK_TAG", "d"), "d"),
            (&click(), dim("campaign", "messageTag", "d"), "d"),
            (&long_tag, dim("long", "MESSAGE_TAG", "d"), &long[..256]),
        ];
        for (event, config, want) in table {
            let got = dimension_values(event, std::slice::from_ref(config));
            let name = config["DimensionName"].as_str().unwrap();
            assert_eq!(got, vec![(name.to_string(), want.to_string())], "{config}");
        }
    }

    #[test]
    fn dimension_values_keep_configuration_order() {
        let dims = [
            dim("place", "LINK_TAG", "nowhere"),
            json!({"DimensionValueSource": "MESSAGE_TAG"}),
            dim("campaign", "MESSAGE_TAG", "none"),
            json!({"DimensionName": "nodefault", "DimensionValueSource": "MESSAGE_TAG"}),
        ];
        assert_eq!(
            dimension_values(&click(), &dims),
            vec![
                ("place".to_string(), "header".to_string()),
                ("campaign".into(), "spring".into()),
                ("nodefault".into(), "".into()),
            ]
        );
        assert!(dimension_values(&click(), &[]).is_empty());
    }

    /// Multi-byte values are cut by characters, never inside one.
    #[test]
    fn values_are_cut_by_characters() {
        let long = "é".repeat(300);
        assert_eq!(cut(&long).chars().count(), MAX_VALUE_CHARS);
        assert_eq!(cut("short"), "short");
        assert_eq!(
            cut(&long[..2 * MAX_VALUE_CHARS]),
            long[..2 * MAX_VALUE_CHARS]
        );
    }

    /// §G-Y, Q-175: `[a-zA-Z_][a-zA-Z0-9_]*`, never a fixed label.
    #[test]
    fn label_name_table() {
        let table = [
            ("campaign", "campaign"),
            ("ses:configuration-set", "ses_configuration_set"),
            ("ses:from-domain", "ses_from_domain"),
            ("X-Mailer", "X_Mailer"),
            ("1st", "_1st"),
            ("9", "_9"),
            ("", "_"),
            ("a.b@c", "a_b_c"),
            ("é", "_"),
            ("_x", "_x"),
            ("__x", "dimension___x"),
            (":x", "_x"),
            ("::x", "dimension___x"),
            ("event_type", "dimension_event_type"),
            ("event-type", "dimension_event_type"),
            ("configuration-set", "dimension_configuration_set"),
            ("event_destination", "dimension_event_destination"),
            ("account_id", "dimension_account_id"),
            ("region", "dimension_region"),
            ("Region", "Region"),
            ("event_types", "event_types"),
        ];
        for (input, want) in table {
            let got = label_name(input);
            assert_eq!(got, want, "{input:?}");
            let mut chars = got.chars();
            assert!(chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_'));
            assert!(chars.all(|c| c.is_ascii_alphanumeric() || c == '_'));
            assert!(!FIXED_LABELS.contains(&got.as_str()));
        }
    }

    #[test]
    fn label_names_never_repeat() {
        let table: &[(&[&str], &[&str])] = &[
            (&["campaign", "genre"], &["campaign", "genre"]),
            (&["a-b", "a_b", "a:b"], &["a_b", "a_b_2", "a_b_3"]),
            (&["a", "a", "a_2"], &["a", "a_2", "a_2_2"]),
            (
                &["event_type", "event-type"],
                &["dimension_event_type", "dimension_event_type_2"],
            ),
            (&[], &[]),
        ];
        for (input, want) in table {
            assert_eq!(label_names(input.iter().copied()), *want, "{input:?}");
        }
    }
}

//! Recipient-engagement records: `Open`, `Click` (G-50, G-51) and `Subscription` (G-54).
//! Not in the first brief; built the same way so all ten `eventType`s (G-1) come from this
//! crate. All three happen after delivery, so `ses:outgoing-ip` is shown when known.

use serde_json::{json, Map, Value};

use crate::mail::MailInfo;
use crate::record::{post_delivery, record};
use crate::timestamp::iso_timestamp;
use crate::vocab::event_types;

/// An open-tracking pixel fetch (G-50).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct OpenInfo {
    pub timestamp_ms: i64,
    /// The recipient's IP.
    pub ip_address: String,
    pub user_agent: String,
}

/// A tracked-link click (G-51).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct ClickInfo {
    pub timestamp_ms: i64,
    pub ip_address: String,
    pub user_agent: String,
    /// The *original* URL.
    pub link: String,
    /// From the anchor's `ses:tags` (G-55 tracking); a repeated key collects its values.
    /// Empty → `linkTags` omitted (Z-10, Q-152).
    pub link_tags: Vec<(String, String)>,
}

/// Topic preferences before or after a subscription change (G-54).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct TopicPreferences {
    pub unsubscribe_all: bool,
    /// (`topicName`, `subscriptionStatus` = `OptIn`|`OptOut`).
    pub topic_subscription_status: Vec<(String, String)>,
    /// Same shape; omitted when empty (the G-55 example has none).
    pub topic_default_subscription_status: Vec<(String, String)>,
}

/// A subscription-preference change (G-54).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Deserialize), serde(default))]
pub struct SubscriptionInfo {
    pub contact_list: String,
    /// When the change happened (Z-5, Q-151).
    pub timestamp_ms: i64,
    /// The mechanism: `UnsubscribeHeader` or (provisional) `UnsubscribeLink` (Z-5, Q-151).
    pub source: String,
    pub new_topic_preferences: TopicPreferences,
    pub old_topic_preferences: TopicPreferences,
}

/// `Open` (G-50). `mail.sourceArn` is absent on engagement records (G-40); `open` is a
/// top-level sibling of `mail`, never nested in it (Z-9).
pub fn open(m: &MailInfo, o: &OpenInfo) -> Value {
    let body = json!({
        "ipAddress": o.ip_address,
        "timestamp": iso_timestamp(o.timestamp_ms),
        "userAgent": o.user_agent,
    });
    record(event_types::OPEN, engagement_mail(m), "open", body)
}

/// `Click` (G-51); `linkTags` only when the link had tags.
pub fn click(m: &MailInfo, c: &ClickInfo) -> Value {
    let mut o = Map::new();
    o.insert("ipAddress".into(), c.ip_address.clone().into());
    o.insert("link".into(), c.link.clone().into());
    if !c.link_tags.is_empty() {
        o.insert("linkTags".into(), string_arrays(&c.link_tags));
    }
    o.insert("timestamp".into(), iso_timestamp(c.timestamp_ms).into());
    o.insert("userAgent".into(), c.user_agent.clone().into());
    record(
        event_types::CLICK,
        engagement_mail(m),
        "click",
        Value::Object(o),
    )
}

/// `Subscription` (G-54).
pub fn subscription(m: &MailInfo, s: &SubscriptionInfo) -> Value {
    let body = json!({
        "contactList": s.contact_list,
        "timestamp": iso_timestamp(s.timestamp_ms),
        "source": s.source,
        "newTopicPreferences": preferences(&s.new_topic_preferences),
        "oldTopicPreferences": preferences(&s.old_topic_preferences),
    });
    record(
        event_types::SUBSCRIPTION,
        post_delivery(m, true),
        "subscription",
        body,
    )
}

fn engagement_mail(m: &MailInfo) -> Value {
    let mut mail = post_delivery(m, true);
    if let Value::Object(o) = &mut mail {
        o.remove("sourceArn");
    }
    mail
}

fn preferences(p: &TopicPreferences) -> Value {
    let statuses = |list: &[(String, String)]| -> Value {
        list.iter()
            .map(|(topic, status)| json!({"topicName": topic, "subscriptionStatus": status}))
            .collect::<Vec<_>>()
            .into()
    };
    let mut o = Map::new();
    o.insert("unsubscribeAll".into(), p.unsubscribe_all.into());
    o.insert(
        "topicSubscriptionStatus".into(),
        statuses(&p.topic_subscription_status),
    );
    if !p.topic_default_subscription_status.is_empty() {
        o.insert(
            "topicDefaultSubscriptionStatus".into(),
            statuses(&p.topic_default_subscription_status),
        );
    }
    Value::Object(o)
}

/// `{key: [values…]}` in first-seen key order.
fn string_arrays(pairs: &[(String, String)]) -> Value {
    let mut o = Map::new();
    for (k, v) in pairs {
        match o.get_mut(k) {
            Some(Value::Array(values)) => values.push(v.clone().into()),
            _ => {
                o.insert(k.clone(), json!([v]));
            }
        }
    }
    Value::Object(o)
}

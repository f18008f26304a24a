//! The rules of contact lists, pure (spec F-166..F-193; DECISIONS Q-195..Q-198, Q-200):
//! validation of lists, topics and contacts, how a contact's status for a topic is resolved
//! from its explicit preference, `UnsubscribeAll` and the topic's default, the `ListContacts`
//! filter, the preference changes the unsubscribe endpoints make, the preferences a
//! `Subscription` event reports, and the `X-SES-LIST-MANAGEMENT-OPTIONS` header.

use serde::{Deserialize, Serialize};

use crate::records::Tag;
use crate::EngineError;

/// `SubscriptionStatus` (F-169, F-175): the wire spelling is `OPT_IN` / `OPT_OUT`; events spell
/// it `OptIn` / `OptOut` (G-54).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubscriptionStatus {
    #[serde(rename = "OPT_IN")]
    OptIn,
    #[serde(rename = "OPT_OUT")]
    OptOut,
}

impl SubscriptionStatus {
    /// `BadRequest` for anything but `OPT_IN` / `OPT_OUT`.
    pub fn parse(s: &str) -> Result<Self, EngineError> {
        match s {
            "OPT_IN" => Ok(SubscriptionStatus::OptIn),
            "OPT_OUT" => Ok(SubscriptionStatus::OptOut),
            other => Err(EngineError::BadRequest(format!(
                "Invalid subscription status {other}: must be OPT_IN or OPT_OUT."
            ))),
        }
    }

    /// The API spelling.
    pub fn as_wire(self) -> &'static str {
        match self {
            SubscriptionStatus::OptIn => "OPT_IN",
            SubscriptionStatus::OptOut => "OPT_OUT",
        }
    }

    /// The `Subscription` event spelling (G-54).
    pub fn as_event(self) -> &'static str {
        match self {
            SubscriptionStatus::OptIn => "OptIn",
            SubscriptionStatus::OptOut => "OptOut",
        }
    }
}

/// A topic of a list (F-169): `TopicName`, `DisplayName` and `DefaultSubscriptionStatus` are
/// required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub topic_name: String,
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub default_subscription_status: SubscriptionStatus,
}

/// A contact list, stored as a resource document of kind `contact-list` named by the list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactListRecord {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub topics: Vec<Topic>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last `UpdateContactList` (tags do not count).
    pub last_updated_at: i64,
}

impl ContactListRecord {
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics.iter().find(|t| t.topic_name == name)
    }

    /// Q-196: every topic with its default — what `TopicDefaultPreferences` reports.
    pub fn default_preferences(&self) -> Vec<TopicPreference> {
        self.topics
            .iter()
            .map(|t| TopicPreference {
                topic_name: t.topic_name.clone(),
                subscription_status: t.default_subscription_status,
            })
            .collect()
    }
}

/// A contact's explicit choice for one topic (F-170).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPreference {
    pub topic_name: String,
    pub subscription_status: SubscriptionStatus,
}

/// The stored document of a contact (the key — list and address — is the row's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// Explicit preferences, in the list's topic order.
    #[serde(default)]
    pub topic_preferences: Vec<TopicPreference>,
    #[serde(default)]
    pub unsubscribe_all: bool,
    /// A JSON object as text (F-170), kept as given.
    #[serde(default)]
    pub attributes_data: Option<String>,
}

impl ContactRecord {
    /// The explicit preference for `topic`, if any.
    pub fn preference(&self, topic: &str) -> Option<SubscriptionStatus> {
        self.topic_preferences
            .iter()
            .find(|p| p.topic_name == topic)
            .map(|p| p.subscription_status)
    }

    /// Preferences of topics the list still has, in its order (Q-196: a removed topic's
    /// preferences are gone even before the clean-up pass reaches this contact).
    pub fn current_preferences(&self, list: &ContactListRecord) -> Vec<TopicPreference> {
        list.topics
            .iter()
            .filter_map(|t| {
                self.preference(&t.topic_name).map(|s| TopicPreference {
                    topic_name: t.topic_name.clone(),
                    subscription_status: s,
                })
            })
            .collect()
    }
}

/// Operator limits (F-168, Z-15, Q-195): defaults are SES's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContactLimits {
    /// Contact lists per account and region (`contact_lists_per_account`, default 1).
    pub max_lists: u64,
    /// Topics per list (`contact_list_max_topics`, default 20).
    pub max_topics: usize,
}

impl Default for ContactLimits {
    fn default() -> Self {
        ContactLimits {
            max_lists: 1,
            max_topics: 20,
        }
    }
}

/// Longest `DisplayName`.
pub const MAX_DISPLAY_NAME: usize = 128;
/// Longest list or topic `Description`.
pub const MAX_DESCRIPTION: usize = 1_000;
/// Largest `AttributesData` (bytes).
pub const MAX_ATTRIBUTES_BYTES: usize = 64 * 1024;

/// List and topic names: 1–64 letters, digits, `_` and `-` — they appear in URL paths and in
/// the `X-SES-LIST-MANAGEMENT-OPTIONS` header, where `;` and `=` are syntax.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn validate_list_name(name: &str) -> Result<(), EngineError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(EngineError::BadRequest(format!(
            "Invalid contact list name <{name}>: only letters, digits, '_' and '-' are allowed, at most 64 characters."
        )))
    }
}

pub fn validate_description(d: Option<&str>) -> Result<(), EngineError> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(EngineError::BadRequest(format!(
            "Description must have at most {MAX_DESCRIPTION} characters."
        ))),
        _ => Ok(()),
    }
}

/// F-168, F-169, Q-195: at most `max` topics, valid unique names, a display name each.
pub fn validate_topics(topics: &[Topic], max: usize) -> Result<(), EngineError> {
    if topics.len() > max {
        return Err(EngineError::BadRequest(format!(
            "A contact list can have at most {max} topics."
        )));
    }
    for (i, t) in topics.iter().enumerate() {
        if !valid_name(&t.topic_name) {
            return Err(EngineError::BadRequest(format!(
                "Invalid topic name <{}>: only letters, digits, '_' and '-' are allowed, at most 64 characters.",
                t.topic_name
            )));
        }
        if topics[..i].iter().any(|o| o.topic_name == t.topic_name) {
            return Err(EngineError::BadRequest(format!(
                "Duplicate topic name: {}",
                t.topic_name
            )));
        }
        let n = t.display_name.chars().count();
        if n == 0 || n > MAX_DISPLAY_NAME {
            return Err(EngineError::BadRequest(format!(
                "The DisplayName of topic {} must have 1-{MAX_DISPLAY_NAME} characters.",
                t.topic_name
            )));
        }
        validate_description(t.description.as_deref())?;
    }
    Ok(())
}

/// F-170: `AttributesData` must be a JSON object.
pub fn validate_attributes(a: Option<&str>) -> Result<(), EngineError> {
    let Some(a) = a else { return Ok(()) };
    if a.len() > MAX_ATTRIBUTES_BYTES {
        return Err(EngineError::BadRequest(format!(
            "AttributesData must be at most {MAX_ATTRIBUTES_BYTES} bytes."
        )));
    }
    match serde_json::from_str::<serde_json::Value>(a) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(EngineError::BadRequest(
            "AttributesData must be a valid JSON object.".into(),
        )),
    }
}

/// Explicit preferences of a create or update: each names a topic of the list, once. Returned
/// in the list's topic order.
pub fn validate_preferences(
    list: &ContactListRecord,
    prefs: &[TopicPreference],
) -> Result<Vec<TopicPreference>, EngineError> {
    for (i, p) in prefs.iter().enumerate() {
        if list.topic(&p.topic_name).is_none() {
            return Err(EngineError::BadRequest(format!(
                "Topic {} does not exist in contact list {}.",
                p.topic_name, list.name
            )));
        }
        if prefs[..i].iter().any(|o| o.topic_name == p.topic_name) {
            return Err(EngineError::BadRequest(format!(
                "Duplicate topic preference: {}",
                p.topic_name
            )));
        }
    }
    let ordered = ContactRecord {
        topic_preferences: prefs.to_vec(),
        ..ContactRecord::default()
    };
    Ok(ordered.current_preferences(list))
}

/// A contact's status for `topic` (F-168, F-171, Q-196): `UnsubscribeAll` wins, then the
/// explicit preference, then the topic's default. `None` for a topic the list does not have.
pub fn effective_status(
    list: &ContactListRecord,
    contact: &ContactRecord,
    topic: &str,
) -> Option<SubscriptionStatus> {
    let t = list.topic(topic)?;
    if contact.unsubscribe_all {
        return Some(SubscriptionStatus::OptOut);
    }
    Some(
        contact
            .preference(topic)
            .unwrap_or(t.default_subscription_status),
    )
}

/// F-179, F-181, Q-198: whether mail of `list` (and `topic`) must not reach this contact —
/// unsubscribed from all, or opted out of the topic (explicitly or by the topic's default).
/// A topic the list no longer has counts as the list alone.
pub fn is_unsubscribed(
    list: &ContactListRecord,
    contact: &ContactRecord,
    topic: Option<&str>,
) -> bool {
    contact.unsubscribe_all
        || topic.and_then(|t| effective_status(list, contact, t))
            == Some(SubscriptionStatus::OptOut)
}

/// The `ListContacts` filter (F-176, Q-197).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactFilter {
    pub status: Option<SubscriptionStatus>,
    /// `TopicFilter.TopicName`.
    pub topic: Option<String>,
    /// `TopicFilter.UseDefaultIfPreferenceUnavailable`.
    pub use_default: bool,
}

impl ContactFilter {
    /// `BadRequest` when the topic is not one of the list's.
    pub fn check(&self, list: &ContactListRecord) -> Result<(), EngineError> {
        match &self.topic {
            Some(t) if list.topic(t).is_none() => Err(EngineError::BadRequest(format!(
                "Topic {t} does not exist in contact list {}.",
                list.name
            ))),
            _ => Ok(()),
        }
    }

    /// Q-197: without a topic, `FilteredStatus` is the list-level state (`OPT_OUT` ⇔
    /// `UnsubscribeAll`). With a topic, a contact's status is its explicit preference — or,
    /// with `UseDefaultIfPreferenceUnavailable`, the topic's default when it has none; a
    /// contact without either is not listed. `UnsubscribeAll` makes that status `OPT_OUT`, so
    /// such contacts never match `OPT_IN`.
    pub fn matches(&self, list: &ContactListRecord, c: &ContactRecord) -> bool {
        let Some(topic) = &self.topic else {
            return match self.status {
                None => true,
                Some(SubscriptionStatus::OptOut) => c.unsubscribe_all,
                Some(SubscriptionStatus::OptIn) => !c.unsubscribe_all,
            };
        };
        let Some(t) = list.topic(topic) else {
            return false;
        };
        let status = match (c.preference(topic), self.use_default) {
            (Some(s), _) => s,
            (None, true) => t.default_subscription_status,
            (None, false) => return false,
        };
        let status = if c.unsubscribe_all {
            SubscriptionStatus::OptOut
        } else {
            status
        };
        self.status.is_none_or(|want| want == status)
    }

    /// Canonical text of the filter and list, to bind pagination tokens to them (Q-13).
    pub fn token_key(&self, list: &str) -> String {
        format!(
            "{list}|{}|{}|{}",
            self.status.map(|s| s.as_wire()).unwrap_or(""),
            self.topic.as_deref().unwrap_or(""),
            self.use_default
        )
    }
}

/// A change of preferences made by the recipient (F-186, F-187, SH-12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreferenceChange {
    /// RFC 8058 one-click (`List-Unsubscribe=One-Click`): the token's topic, or the whole
    /// list when the token has none (F-186).
    OneClick { topic: Option<String> },
    /// The landing page's form (F-187): a status per topic and "unsubscribe from all".
    Form {
        unsubscribe_all: bool,
        topics: Vec<(String, SubscriptionStatus)>,
    },
}

/// The contact after `change`. One-click on a topic the list no longer has unsubscribes from
/// the whole list: the recipient asked to stop, and that is the only reading that honours it.
/// Form entries for unknown topics are ignored.
pub fn apply_change(
    list: &ContactListRecord,
    contact: &ContactRecord,
    change: &PreferenceChange,
) -> ContactRecord {
    let mut next = contact.clone();
    next.topic_preferences = contact.current_preferences(list);
    let mut set = |topic: &str, status: SubscriptionStatus| match next
        .topic_preferences
        .iter_mut()
        .find(|p| p.topic_name == topic)
    {
        Some(p) => p.subscription_status = status,
        None => next.topic_preferences.push(TopicPreference {
            topic_name: topic.to_string(),
            subscription_status: status,
        }),
    };
    match change {
        PreferenceChange::OneClick { topic: Some(t) } if list.topic(t).is_some() => {
            set(t, SubscriptionStatus::OptOut);
        }
        PreferenceChange::OneClick { .. } => next.unsubscribe_all = true,
        PreferenceChange::Form {
            unsubscribe_all,
            topics,
        } => {
            for (t, s) in topics {
                if list.topic(t).is_some() {
                    set(t, *s);
                }
            }
            next.unsubscribe_all = *unsubscribe_all;
        }
    }
    // Keep the list's topic order.
    next.topic_preferences = next.current_preferences(list);
    next
}

/// The preferences object of a `Subscription` event (G-54): `unsubscribeAll`, the explicit
/// preferences as `topicSubscriptionStatus` and every topic's default as
/// `topicDefaultSubscriptionStatus` (the same split as `GetContact`, Q-196).
pub fn event_preferences(
    list: &ContactListRecord,
    c: &ContactRecord,
) -> sesame_events::TopicPreferences {
    let pairs = |p: Vec<TopicPreference>| {
        p.into_iter()
            .map(|p| (p.topic_name, p.subscription_status.as_event().to_string()))
            .collect()
    };
    sesame_events::TopicPreferences {
        unsubscribe_all: c.unsubscribe_all,
        topic_subscription_status: pairs(c.current_preferences(list)),
        topic_default_subscription_status: pairs(list.default_preferences()),
    }
}

/// `ListManagementOptions` (F-177) or the SMTP header's equivalent (F-180).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListManagement {
    pub contact_list: String,
    #[serde(default)]
    pub topic: Option<String>,
}

/// F-180: `X-SES-LIST-MANAGEMENT-OPTIONS: {contactListName}; topic={topicName}` (the topic part
/// optional, whitespace and the case of `topic` tolerated). Any other parameter is refused: a
/// misspelt `topic` would otherwise turn a topic's one-click into "unsubscribe from all".
pub fn parse_list_management_header(value: &str) -> Result<ListManagement, String> {
    let mut parts = value.split(';');
    let list = parts.next().unwrap_or("").trim();
    if list.is_empty() {
        return Err("X-SES-LIST-MANAGEMENT-OPTIONS must name a contact list.".into());
    }
    let mut topic = None;
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("topic") && topic.is_none() => {
                let v = v.trim().trim_matches('"').trim();
                if v.is_empty() {
                    return Err("X-SES-LIST-MANAGEMENT-OPTIONS has an empty topic.".into());
                }
                topic = Some(v.to_string());
            }
            _ => {
                return Err(format!(
                    "Invalid X-SES-LIST-MANAGEMENT-OPTIONS parameter <{p}>: expected topic=<name>."
                ))
            }
        }
    }
    Ok(ListManagement {
        contact_list: list.to_string(),
        topic,
    })
}

#[cfg(test)]
mod tests {
    use super::SubscriptionStatus::{OptIn, OptOut};
    use super::*;

    fn topic(name: &str, default: SubscriptionStatus) -> Topic {
        Topic {
            topic_name: name.into(),
            display_name: format!("{name} news"),
            description: None,
            default_subscription_status: default,
        }
    }

    /// The seed's example list (F-169).
    fn list() -> ContactListRecord {
        ContactListRecord {
            name: "ExampleContactListName".into(),
            description: None,
            topics: vec![
                topic("Sports", OptOut),
                topic("Cycling", OptIn),
                topic("NewProducts", OptIn),
                topic("DailyUpdates", OptOut),
            ],
            tags: vec![],
            created_at: 0,
            last_updated_at: 0,
        }
    }

    fn contact(prefs: &[(&str, SubscriptionStatus)], all: bool) -> ContactRecord {
        ContactRecord {
            topic_preferences: prefs
                .iter()
                .map(|(t, s)| TopicPreference {
                    topic_name: t.to_string(),
                    subscription_status: *s,
                })
                .collect(),
            unsubscribe_all: all,
            attributes_data: None,
        }
    }

    /// F-168, Q-195: 20 topics are fine, 21 are not (configurable); names, duplicates and
    /// display names are checked.
    #[test]
    fn topic_rules() {
        let many: Vec<Topic> = (0..21).map(|i| topic(&format!("t{i}"), OptIn)).collect();
        assert!(validate_topics(&many[..20], 20).is_ok());
        assert!(matches!(
            validate_topics(&many, 20),
            Err(EngineError::BadRequest(m)) if m.contains("at most 20 topics")
        ));
        assert!(validate_topics(&many, 21).is_ok());
        for bad in [
            vec![topic("a b", OptIn)],
            vec![topic("", OptIn)],
            vec![topic(&"x".repeat(65), OptIn)],
            vec![topic("dup", OptIn), topic("dup", OptOut)],
            vec![Topic {
                display_name: String::new(),
                ..topic("t", OptIn)
            }],
            vec![Topic {
                description: Some("d".repeat(MAX_DESCRIPTION + 1)),
                ..topic("t", OptIn)
            }],
        ] {
            assert!(validate_topics(&bad, 20).is_err(), "{bad:?}");
        }
        for (name, ok) in [
            ("list-1_A", true),
            ("", false),
            ("a;b", false),
            ("a.b", false),
        ] {
            assert_eq!(validate_list_name(name).is_ok(), ok, "{name}");
        }
    }

    /// F-170: AttributesData must be a JSON object.
    #[test]
    fn attributes_are_json_objects() {
        for (a, ok) in [
            (None, true),
            (Some(r#"{"Name":"John","Location":"Seattle"}"#), true),
            (Some("{}"), true),
            (Some("[1]"), false),
            (Some("\"text\""), false),
            (Some("{not json"), false),
            (Some(""), false),
        ] {
            assert_eq!(validate_attributes(a).is_ok(), ok, "{a:?}");
        }
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_ATTRIBUTES_BYTES));
        assert!(validate_attributes(Some(&big)).is_err());
    }

    /// Preferences must name topics of the list, once; they come back in list order.
    #[test]
    fn preferences_are_checked_and_ordered() {
        let l = list();
        let p = |t: &str, s| TopicPreference {
            topic_name: t.into(),
            subscription_status: s,
        };
        let got = validate_preferences(&l, &[p("Cycling", OptOut), p("Sports", OptIn)]).unwrap();
        assert_eq!(got, vec![p("Sports", OptIn), p("Cycling", OptOut)]);
        assert!(validate_preferences(&l, &[p("Nope", OptIn)]).is_err());
        assert!(validate_preferences(&l, &[p("Sports", OptIn), p("Sports", OptOut)]).is_err());
    }

    /// F-171, Q-196, F-179: explicit preference, else the topic default; UnsubscribeAll wins.
    #[test]
    fn status_resolution_table() {
        let l = list();
        let table = [
            // (prefs, unsubscribe_all, topic, effective, unsubscribed)
            (vec![], false, Some("Sports"), Some(OptOut), true),
            (vec![], false, Some("Cycling"), Some(OptIn), false),
            (
                vec![("Sports", OptIn)],
                false,
                Some("Sports"),
                Some(OptIn),
                false,
            ),
            (
                vec![("Cycling", OptOut)],
                false,
                Some("Cycling"),
                Some(OptOut),
                true,
            ),
            (
                vec![("Cycling", OptIn)],
                true,
                Some("Cycling"),
                Some(OptOut),
                true,
            ),
            (vec![], false, None, None, false),
            (vec![], true, None, None, true),
            (vec![], false, Some("Removed"), None, false),
        ];
        for (prefs, all, t, eff, unsub) in table {
            let c = contact(&prefs, all);
            if let Some(t) = t {
                assert_eq!(effective_status(&l, &c, t), eff, "{prefs:?} {all} {t}");
            }
            assert_eq!(is_unsubscribed(&l, &c, t), unsub, "{prefs:?} {all} {t:?}");
        }
    }

    /// F-176, Q-197, KA-10: UseDefaultIfPreferenceUnavailable true vs false differ for contacts
    /// with no explicit preference; UnsubscribeAll never matches OPT_IN.
    #[test]
    fn list_filter_table() {
        let l = list();
        let explicit_in = contact(&[("Cycling", OptIn)], false);
        let explicit_out = contact(&[("Cycling", OptOut)], false);
        let none = contact(&[], false);
        let all_out = contact(&[("Cycling", OptIn)], true);
        let all_out_none = contact(&[], true);
        let f = |status, topic: Option<&str>, use_default| ContactFilter {
            status,
            topic: topic.map(str::to_string),
            use_default,
        };
        let table = [
            // filter, [explicit_in, explicit_out, none, all_out, all_out_none]
            (f(None, None, false), [true, true, true, true, true]),
            (
                f(Some(OptIn), None, false),
                [true, true, true, false, false],
            ),
            (
                f(Some(OptOut), None, false),
                [false, false, false, true, true],
            ),
            (
                f(Some(OptIn), Some("Cycling"), false),
                [true, false, false, false, false],
            ),
            (
                f(Some(OptIn), Some("Cycling"), true),
                [true, false, true, false, false],
            ),
            (
                f(Some(OptOut), Some("Cycling"), false),
                [false, true, false, true, false],
            ),
            (
                f(Some(OptOut), Some("Cycling"), true),
                [false, true, false, true, true],
            ),
            (
                f(None, Some("Cycling"), false),
                [true, true, false, true, false],
            ),
            // Sports defaults to OPT_OUT.
            (
                f(Some(OptOut), Some("Sports"), true),
                [true, true, true, true, true],
            ),
        ];
        for (filter, want) in table {
            let got: Vec<bool> = [&explicit_in, &explicit_out, &none, &all_out, &all_out_none]
                .iter()
                .map(|c| filter.matches(&l, c))
                .collect();
            assert_eq!(got, want, "{filter:?}");
        }
        assert!(f(None, Some("Nope"), true).check(&l).is_err());
        assert!(f(None, Some("Sports"), true).check(&l).is_ok());
        assert_ne!(
            f(Some(OptIn), Some("Cycling"), true).token_key("L"),
            f(Some(OptIn), Some("Cycling"), false).token_key("L")
        );
    }

    /// F-186, F-187: one-click on a topic opts out of it only; without a topic (or for a topic
    /// since removed) it unsubscribes from all; the form sets each topic and the global flag.
    #[test]
    fn preference_changes() {
        let l = list();
        let c = contact(&[("Cycling", OptIn), ("Gone", OptIn)], false);
        let one = apply_change(
            &l,
            &c,
            &PreferenceChange::OneClick {
                topic: Some("Cycling".into()),
            },
        );
        assert_eq!(one, contact(&[("Cycling", OptOut)], false));
        let new_topic = apply_change(
            &l,
            &contact(&[], false),
            &PreferenceChange::OneClick {
                topic: Some("Sports".into()),
            },
        );
        assert_eq!(new_topic, contact(&[("Sports", OptOut)], false));
        for topic in [None, Some("Removed".to_string())] {
            let all = apply_change(&l, &c, &PreferenceChange::OneClick { topic });
            assert_eq!(all, contact(&[("Cycling", OptIn)], true));
        }
        let form = apply_change(
            &l,
            &contact(&[], true),
            &PreferenceChange::Form {
                unsubscribe_all: false,
                topics: vec![
                    ("DailyUpdates".into(), OptIn),
                    ("Sports".into(), OptIn),
                    ("Unknown".into(), OptOut),
                ],
            },
        );
        assert_eq!(
            form,
            contact(&[("Sports", OptIn), ("DailyUpdates", OptIn)], false)
        );
    }

    /// G-54: explicit preferences as topicSubscriptionStatus, every default as
    /// topicDefaultSubscriptionStatus, OptIn/OptOut spellings.
    #[test]
    fn event_preferences_shape() {
        let l = list();
        let p = event_preferences(&l, &contact(&[("Cycling", OptOut)], false));
        assert!(!p.unsubscribe_all);
        assert_eq!(
            p.topic_subscription_status,
            vec![("Cycling".to_string(), "OptOut".to_string())]
        );
        assert_eq!(
            p.topic_default_subscription_status,
            [
                ("Sports", "OptOut"),
                ("Cycling", "OptIn"),
                ("NewProducts", "OptIn"),
                ("DailyUpdates", "OptOut")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    /// F-180: the SMTP header's syntax.
    #[test]
    fn list_management_header() {
        let lm = |l: &str, t: Option<&str>| ListManagement {
            contact_list: l.into(),
            topic: t.map(str::to_string),
        };
        for (v, want) in [
            ("list", Ok(lm("list", None))),
            ("list; topic=T", Ok(lm("list", Some("T")))),
            (" list ;Topic = T ; ", Ok(lm("list", Some("T")))),
            ("list; topic=\"T\"", Ok(lm("list", Some("T")))),
            ("", Err(())),
            ("; topic=T", Err(())),
            ("list; topc=T", Err(())),
            ("list; topic=", Err(())),
            ("list; topic=A; topic=B", Err(())),
        ] {
            assert_eq!(
                parse_list_management_header(v).map_err(|_| ()),
                want,
                "{v:?}"
            );
        }
    }
}

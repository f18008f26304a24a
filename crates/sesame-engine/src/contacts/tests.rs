//! Contact lists over the in-memory store: CRUD and limits (F-168..F-176, KA-10), list
//! management on send and at delivery (F-177..F-191, KA-11, KA-12), and the unsubscribe
//! changes with their `Subscription` events (SH-12, G-54).

use serde_json::json;
use sesame_mail::message::Text;

use super::unsubscribe::{sources, ChangeOutcome, UnsubscribeToken};
use super::*;
use crate::deliver::testkit::*;
use crate::send::{Content, SendError};
use crate::test_store::scope;

use SubscriptionStatus::{OptIn, OptOut};

fn topic(name: &str, default: SubscriptionStatus) -> Topic {
    Topic {
        topic_name: name.into(),
        display_name: format!("{name} news"),
        description: Some(format!("All about {name}")),
        default_subscription_status: default,
    }
}

fn pref(t: &str, s: SubscriptionStatus) -> TopicPreference {
    TopicPreference {
        topic_name: t.into(),
        subscription_status: s,
    }
}

async fn with_list(f: &Fixture) {
    f.engine
        .create_contact_list(
            &scope(),
            "news",
            Some("Our newsletter".into()),
            vec![topic("Sports", OptOut), topic("Cycling", OptIn)],
            vec![],
        )
        .await
        .unwrap();
}

/// F-168, F-169, Q-195, KA-10: one list per account (configurable), at most 20 topics,
/// duplicates refused, NotFound for unknown lists, tags kept.
#[tokio::test]
async fn list_crud_and_limits() {
    let f = fixture().await;
    let e = &f.engine;
    let sc = scope();
    let tags = vec![crate::records::Tag {
        key: "team".into(),
        value: "growth".into(),
    }];
    e.create_contact_list(
        &sc,
        "news",
        None,
        vec![topic("Sports", OptOut)],
        tags.clone(),
    )
    .await
    .unwrap();
    assert!(matches!(
        e.create_contact_list(&sc, "other", None, vec![], vec![])
            .await,
        Err(EngineError::LimitExceeded(_))
    ));
    let l = e.get_contact_list(&sc, "news").await.unwrap();
    assert_eq!((l.topics.len(), l.tags), (1, tags));
    assert!(matches!(
        e.get_contact_list(&sc, "nope").await,
        Err(EngineError::NotFound(m)) if m == "List with name nope does not exist."
    ));

    let f2 = fixture_with(|s| s.contacts.max_lists = 2).await;
    let e2 = &f2.engine;
    e2.create_contact_list(&sc, "a", None, vec![], vec![])
        .await
        .unwrap();
    assert!(matches!(
        e2.create_contact_list(&sc, "a", None, vec![], vec![]).await,
        Err(EngineError::AlreadyExists(_))
    ));
    let many: Vec<Topic> = (0..21).map(|i| topic(&format!("t{i}"), OptIn)).collect();
    assert!(matches!(
        e2.create_contact_list(&sc, "b", None, many.clone(), vec![])
            .await,
        Err(EngineError::BadRequest(_))
    ));
    e2.create_contact_list(&sc, "b", None, many[..20].to_vec(), vec![])
        .await
        .unwrap();
    let (lists, next) = e2.list_contact_lists(&sc, None, 1).await.unwrap();
    assert_eq!((lists[0].name.as_str(), next.as_deref()), ("a", Some("a")));
    let (lists, next) = e2.list_contact_lists(&sc, Some("a"), 1).await.unwrap();
    assert_eq!((lists[0].name.as_str(), next), ("b", None));
    // UpdateContactList over the limit of topics is refused too.
    assert!(matches!(
        e2.update_contact_list(&sc, "b", Some(many), None).await,
        Err(EngineError::BadRequest(_))
    ));
}

/// F-170, F-171, Q-196, Q-273: contacts need an existing list, are unique, take only the
/// list's topics and JSON-object attributes; removing a topic drops its preferences; deleting
/// the list deletes its contacts.
#[tokio::test]
async fn contact_crud_topic_removal_and_cascade() {
    let f = fixture().await;
    with_list(&f).await;
    let (e, sc) = (&f.engine, scope());
    assert!(matches!(
        e.create_contact(&sc, "missing", "a@example.net", vec![], false, None)
            .await,
        Err(EngineError::NotFound(_))
    ));
    e.create_contact(
        &sc,
        "news",
        "Ann@Example.NET",
        vec![pref("Cycling", OptOut), pref("Sports", OptIn)],
        false,
        Some(r#"{"Name":"Ann"}"#.into()),
    )
    .await
    .unwrap();
    assert!(matches!(
        e.create_contact(&sc, "news", "Ann@example.net", vec![], false, None)
            .await,
        Err(EngineError::AlreadyExists(_))
    ));
    for (prefs, attrs) in [
        (vec![pref("Golf", OptIn)], None),
        (vec![], Some("[1, 2]".to_string())),
    ] {
        assert!(matches!(
            e.create_contact(&sc, "news", "b@example.net", prefs, false, attrs)
                .await,
            Err(EngineError::BadRequest(_))
        ));
    }
    // Q-190 normalisation: the domain is matched case-insensitively.
    let (l, c) = e.get_contact(&sc, "news", "Ann@EXAMPLE.net").await.unwrap();
    assert_eq!(c.email, "Ann@example.net");
    assert_eq!(
        c.record.topic_preferences,
        vec![pref("Sports", OptIn), pref("Cycling", OptOut)]
    );
    assert_eq!(
        l.default_preferences(),
        vec![pref("Sports", OptOut), pref("Cycling", OptIn)]
    );

    e.update_contact(&sc, "news", "Ann@example.net", None, Some(true), None)
        .await
        .unwrap();
    let (_, c) = e.get_contact(&sc, "news", "Ann@example.net").await.unwrap();
    assert!(c.record.unsubscribe_all);
    assert_eq!(
        c.record.topic_preferences.len(),
        2,
        "absent members are kept"
    );
    assert_eq!(
        c.record.attributes_data.as_deref(),
        Some(r#"{"Name":"Ann"}"#)
    );

    // Q-196: Cycling removed, then added back: its old preference is gone.
    e.update_contact_list(&sc, "news", Some(vec![topic("Sports", OptOut)]), None)
        .await
        .unwrap();
    e.update_contact_list(
        &sc,
        "news",
        Some(vec![topic("Sports", OptOut), topic("Cycling", OptIn)]),
        Some("new text".into()),
    )
    .await
    .unwrap();
    let (l, c) = e.get_contact(&sc, "news", "Ann@example.net").await.unwrap();
    assert_eq!(c.record.topic_preferences, vec![pref("Sports", OptIn)]);
    assert_eq!(l.description.as_deref(), Some("new text"));

    e.delete_contact_list(&sc, "news").await.unwrap();
    assert!(f.store.contacts.lock().unwrap().is_empty(), "Q-273 cascade");
    assert!(matches!(
        e.delete_contact_list(&sc, "news").await,
        Err(EngineError::NotFound(_))
    ));
}

/// F-176, KA-10: UseDefaultIfPreferenceUnavailable true vs false, pagination resumes after
/// the last returned contact.
#[tokio::test]
async fn list_contacts_filters_and_pages() {
    let f = fixture().await;
    with_list(&f).await;
    let (e, sc) = (&f.engine, scope());
    for (addr, prefs) in [
        ("a@example.net", vec![pref("Cycling", OptIn)]),
        ("b@example.net", vec![]),
        ("c@example.net", vec![pref("Cycling", OptOut)]),
        ("d@example.net", vec![]),
    ] {
        e.create_contact(&sc, "news", addr, prefs, false, None)
            .await
            .unwrap();
    }
    let emails = |v: &[Contact]| v.iter().map(|c| c.email.clone()).collect::<Vec<_>>();
    let filter = |use_default| ContactFilter {
        status: Some(OptIn),
        topic: Some("Cycling".into()),
        use_default,
    };
    let (_, got, next) = e
        .list_contacts(&sc, "news", &filter(false), None, 10)
        .await
        .unwrap();
    assert_eq!(
        (emails(&got), next),
        (vec!["a@example.net".to_string()], None)
    );
    let (_, got, next) = e
        .list_contacts(&sc, "news", &filter(true), None, 2)
        .await
        .unwrap();
    assert_eq!(emails(&got), ["a@example.net", "b@example.net"]);
    assert_eq!(next.as_deref(), Some("b@example.net"));
    let (_, got, next) = e
        .list_contacts(&sc, "news", &filter(true), next.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(
        (emails(&got), next),
        (vec!["d@example.net".to_string()], None)
    );
    assert!(matches!(
        e.list_contacts(
            &sc,
            "news",
            &ContactFilter {
                topic: Some("Golf".into()),
                ..Default::default()
            },
            None,
            10
        )
        .await,
        Err(EngineError::BadRequest(_))
    ));
}

fn listed(to: &[&str], topic: Option<&str>, text: &str, html: &str) -> crate::send::SendRequest {
    let mut req = simple_request("sender@example.test", to, None);
    req.content = Content::Simple(crate::send::SimpleContent {
        subject: Text::new("Hello"),
        text: Some(Text::new(text)),
        html: Some(Text::new(html)),
        ..Default::default()
    });
    req.list_management = Some(ListManagement {
        contact_list: "news".into(),
        topic: topic.map(str::to_string),
    });
    req
}

fn captured(f: &Fixture, id: &str) -> String {
    let c = f.store.captured.lock().unwrap();
    let m = c.iter().find(|m| m.message_id == id).expect("captured");
    String::from_utf8(m.raw.clone()).unwrap()
}

/// The unsubscribe URL in a captured message's `List-Unsubscribe` field.
fn unsubscribe_url(raw: &str) -> String {
    let line = raw
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe: <"))
        .expect("List-Unsubscribe");
    line["List-Unsubscribe: <".len()..line.len() - 1].to_string()
}

fn token_of(f: &Fixture, url: &str) -> UnsubscribeToken {
    let t = url.rsplit('/').next().unwrap();
    f.engine.open_unsubscribe_token(t).expect("a valid token")
}

/// KA-11, F-178, F-188, F-189, F-191: a send to a new address creates the contact; the
/// stored and delivered message carries the header fields and the first two placeholders
/// replaced (a third left); the DKIM signature is added after (it covers the new fields).
#[tokio::test]
async fn send_creates_contact_and_adds_unsubscribe() {
    let f = fixture().await;
    with_list(&f).await;
    let p = sesame_mail::list_unsubscribe::UNSUBSCRIBE_PLACEHOLDER;
    let req = listed(
        &["new@example.net"],
        Some("Cycling"),
        &format!("Leave: {p}"),
        &format!("<a href=\"{p}\">leave</a> {p}"),
    );
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    let (_, c) = f
        .engine
        .get_contact(&scope(), "news", "new@example.net")
        .await
        .unwrap();
    assert_eq!(c.record, ContactRecord::default());
    deliver_all(&f).await;
    let raw = captured(&f, &id);
    let url = unsubscribe_url(&raw);
    assert!(
        url.starts_with("https://r.us-east-1.sesame.test/unsubscribe/"),
        "{url}"
    );
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    assert!(
        raw.starts_with("DKIM-Signature:"),
        "signed after the rewrite"
    );
    let dkim = raw.split("\r\n").next().unwrap();
    assert!(raw[..raw.find("\r\n\r\n").unwrap()].contains("h=From:To:Subject"));
    assert_eq!(raw.matches(&url).count(), 3, "header + two placeholders");
    assert_eq!(raw.matches(p).count(), 1, "the third placeholder stays");
    assert!(!raw.contains("X-SES-"), "{dkim}");
    let tok = token_of(&f, &url);
    assert_eq!(
        (
            tok.l.as_str(),
            tok.p.as_deref(),
            tok.e.as_str(),
            tok.m.as_str()
        ),
        ("news", Some("Cycling"), "new@example.net", id.as_str())
    );
    // Delivered: the topic defaults to OPT_IN.
    let types: Vec<String> = events(&f, &id).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["Send", "Delivery"]);
}

/// F-189, KA-12: several recipients get no header fields and no footer URL, but their
/// contacts are still created.
#[tokio::test]
async fn multi_recipient_send_gets_nothing_added() {
    let f = fixture().await;
    with_list(&f).await;
    let p = sesame_mail::list_unsubscribe::UNSUBSCRIBE_PLACEHOLDER;
    let req = listed(&["a@example.net", "b@example.net"], None, p, p);
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    deliver_all(&f).await;
    let raw = captured(&f, &id);
    assert!(!raw.contains("List-Unsubscribe"));
    assert_eq!(raw.matches(p).count(), 2);
    assert_eq!(f.store.contacts.lock().unwrap().len(), 2);
}

/// Q-199, F-180, F-193: unknown list or topic → ContactListDoesNotExist; the SMTP header is
/// honoured and stripped; without list management the placeholder is left alone.
#[tokio::test]
async fn unknown_lists_header_options_and_plain_mail() {
    let f = fixture().await;
    with_list(&f).await;
    let mut req = listed(&["a@example.net"], Some("Golf"), "x", "x");
    assert!(matches!(
        f.engine.send(&scope(), req.clone()).await,
        Err(SendError::ContactListDoesNotExist(m)) if m.contains("Golf")
    ));
    req.list_management = Some(ListManagement {
        contact_list: "nope".into(),
        topic: None,
    });
    assert!(matches!(
        f.engine.send(&scope(), req).await,
        Err(SendError::ContactListDoesNotExist(m)) if m == "List with name nope does not exist."
    ));

    let p = sesame_mail::list_unsubscribe::UNSUBSCRIBE_PLACEHOLDER;
    let raw = format!(
        "From: sender@example.test\r\nTo: smtp@example.net\r\nSubject: s\r\n\
         X-SES-LIST-MANAGEMENT-OPTIONS: news; topic=Sports\r\n\r\nBye: {p}\r\n"
    );
    let mut req = simple_request("sender@example.test", &["smtp@example.net"], None);
    req.content = Content::Raw(raw.into_bytes());
    let id = f
        .engine
        .send(&scope(), req.clone())
        .await
        .unwrap()
        .message_id;
    req.content = Content::Raw(
        b"From: sender@example.test\r\nX-SES-LIST-MANAGEMENT-OPTIONS: news; topc=x\r\n\r\nb\r\n"
            .to_vec(),
    );
    assert!(matches!(
        f.engine.send(&scope(), req).await,
        Err(SendError::InvalidParameter(_))
    ));
    let plain = simple_request("sender@example.test", &["plain@example.net"], None);
    let plain_id = f.engine.send(&scope(), plain).await.unwrap().message_id;
    deliver_all(&f).await;
    // Sports defaults to OPT_OUT: the new contact is not delivered (F-179).
    let ev = events(&f, &id).await;
    assert_eq!(ev[1].0, "Bounce");
    assert!(captured_ids(&f).iter().all(|c| *c != id));
    assert!(!captured(&f, &plain_id).contains("List-Unsubscribe"));
}

fn captured_ids(f: &Fixture) -> Vec<String> {
    f.store
        .captured
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.message_id.clone())
        .collect()
}

/// SH-12, F-186, G-54, F-179, Z-14: a one-click unsubscribe from the topic records a
/// `Subscription` event of the original message with the spec's shape; the next send to the
/// contact for that topic bounces `Permanent`/`General` (Q-198) and is not captured,
/// while mail for another topic still goes through. A tampered token is refused.
#[tokio::test]
async fn one_click_unsubscribe_event_and_later_bounce() {
    let f = fixture().await;
    with_list(&f).await;
    let id = f
        .engine
        .send(
            &scope(),
            listed(&["r@example.net"], Some("Cycling"), "t", "h"),
        )
        .await
        .unwrap()
        .message_id;
    deliver_all(&f).await;
    let url = unsubscribe_url(&captured(&f, &id));
    let token = url.rsplit('/').next().unwrap();
    let tok = token_of(&f, &url);

    // Tampering: any changed byte, or another label's MAC, is refused.
    let mut forged = tok.clone();
    forged.p = None;
    let forged_payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&forged).unwrap(),
    );
    let mac = token.split_once('.').unwrap().1;
    for bad in [
        format!("{forged_payload}.{mac}"),
        format!("{}x", token),
        token.replacen('.', "", 1),
    ] {
        assert_eq!(f.engine.open_unsubscribe_token(&bad), None, "{bad}");
    }

    let one_click = PreferenceChange::OneClick {
        topic: tok.p.clone(),
    };
    let at = crate::now_ms();
    let out = f
        .engine
        .change_subscription(&tok, &one_click, sources::UNSUBSCRIBE_HEADER, at)
        .await
        .unwrap();
    assert_eq!(out, ChangeOutcome::Changed { event: true });
    // Again: nothing changes, nothing is recorded.
    let again = f
        .engine
        .change_subscription(&tok, &one_click, sources::UNSUBSCRIBE_HEADER, at)
        .await
        .unwrap();
    assert_eq!(again, ChangeOutcome::Unchanged);

    let ev = events(&f, &id).await;
    let subs: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|(t, _)| t == "Subscription")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(subs.len(), 1);
    let s = subs[0];
    sesame_events::shape::check(s).unwrap();
    assert_eq!(s["mail"]["messageId"], json!(id));
    assert_eq!(
        s["subscription"],
        json!({
            "contactList": "news",
            "timestamp": sesame_events::iso_timestamp(at),
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {
                "unsubscribeAll": false,
                "topicSubscriptionStatus": [{"topicName": "Cycling", "subscriptionStatus": "OptOut"}],
                "topicDefaultSubscriptionStatus": [
                    {"topicName": "Sports", "subscriptionStatus": "OptOut"},
                    {"topicName": "Cycling", "subscriptionStatus": "OptIn"}]
            },
            "oldTopicPreferences": {
                "unsubscribeAll": false,
                "topicSubscriptionStatus": [],
                "topicDefaultSubscriptionStatus": [
                    {"topicName": "Sports", "subscriptionStatus": "OptOut"},
                    {"topicName": "Cycling", "subscriptionStatus": "OptIn"}]
            }
        })
    );

    let later = f
        .engine
        .send(
            &scope(),
            listed(&["r@example.net"], Some("Cycling"), "t", "h"),
        )
        .await
        .unwrap()
        .message_id;
    deliver_all(&f).await;
    let ev = events(&f, &later).await;
    assert_eq!(
        ev.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["Send", "Bounce"]
    );
    let b = &ev[1].1["bounce"];
    assert_eq!(
        (b["bounceType"].as_str(), b["bounceSubType"].as_str()),
        (Some("Permanent"), Some("General"))
    );
    assert_eq!(
        b["bouncedRecipients"][0],
        json!({"emailAddress": "r@example.net", "action": "failed", "status": "5.7.1",
               "diagnosticCode": "Recipient unsubscribed from list/topic"})
    );
    assert!(!captured_ids(&f).contains(&later));

    // Mail without a topic (the list itself) still reaches the contact.
    let list_mail = f
        .engine
        .send(&scope(), listed(&["r@example.net"], None, "t", "h"))
        .await
        .unwrap()
        .message_id;
    deliver_all(&f).await;
    assert!(captured_ids(&f).contains(&list_mail));
}

/// F-187, Q-151: the landing page shows each topic's status; its form changes are recorded
/// with source `UnsubscribeLink`; a deleted list shows nothing and changes nothing (Q-273); a
/// deleted contact is created again with the change.
#[tokio::test]
async fn landing_page_form_and_deleted_list() {
    let f = fixture().await;
    with_list(&f).await;
    let id = f
        .engine
        .send(&scope(), listed(&["r@example.net"], None, "t", "h"))
        .await
        .unwrap()
        .message_id;
    deliver_all(&f).await;
    let tok = token_of(&f, &unsubscribe_url(&captured(&f, &id)));
    assert_eq!(tok.p, None);
    let page = f.engine.unsubscribe_page(&tok).await.unwrap().unwrap();
    assert_eq!(page.email, "r@example.net");
    let shown: Vec<(String, SubscriptionStatus)> = page
        .topics
        .iter()
        .map(|(t, s)| (t.topic_name.clone(), *s))
        .collect();
    assert_eq!(
        shown,
        [
            ("Sports".to_string(), OptOut),
            ("Cycling".to_string(), OptIn)
        ]
    );

    f.engine
        .delete_contact(&scope(), "news", "r@example.net")
        .await
        .unwrap();
    let form = PreferenceChange::Form {
        unsubscribe_all: false,
        topics: vec![("Sports".into(), OptIn), ("Cycling".into(), OptOut)],
    };
    let out = f
        .engine
        .change_subscription(&tok, &form, sources::UNSUBSCRIBE_LINK, crate::now_ms())
        .await
        .unwrap();
    assert_eq!(out, ChangeOutcome::Changed { event: true });
    let (_, c) = f
        .engine
        .get_contact(&scope(), "news", "r@example.net")
        .await
        .unwrap();
    assert_eq!(
        c.record.topic_preferences,
        vec![pref("Sports", OptIn), pref("Cycling", OptOut)]
    );
    let ev = events(&f, &id).await;
    let (_, s) = ev.iter().find(|(t, _)| t == "Subscription").unwrap();
    assert_eq!(s["subscription"]["source"], "UnsubscribeLink");

    // One-click without a topic: unsubscribe from all (F-186).
    f.engine
        .change_subscription(
            &tok,
            &PreferenceChange::OneClick { topic: None },
            sources::UNSUBSCRIBE_HEADER,
            crate::now_ms(),
        )
        .await
        .unwrap();
    let (_, c) = f
        .engine
        .get_contact(&scope(), "news", "r@example.net")
        .await
        .unwrap();
    assert!(c.record.unsubscribe_all);

    f.engine
        .delete_contact_list(&scope(), "news")
        .await
        .unwrap();
    assert_eq!(f.engine.unsubscribe_page(&tok).await.unwrap(), None);
    let before = events(&f, &id).await.len();
    let out = f
        .engine
        .change_subscription(&tok, &form, sources::UNSUBSCRIBE_LINK, crate::now_ms())
        .await
        .unwrap();
    assert_eq!(out, ChangeOutcome::ListGone);
    assert_eq!(events(&f, &id).await.len(), before);
    assert!(f.store.contacts.lock().unwrap().is_empty());
}

/// Q-233: click tracking never wraps the unsubscribe URL.
#[tokio::test]
async fn click_tracking_leaves_unsubscribe_links_alone() {
    let f = fixture().await;
    with_list(&f).await;
    let sc = scope();
    f.engine
        .create_configuration_set(&sc, Engine::new_configuration_set("cs"))
        .await
        .unwrap();
    f.engine
        .create_event_destination(
            &sc,
            "cs",
            "d",
            json!({"Enabled": true, "MatchingEventTypes": ["CLICK"],
                   "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}}),
        )
        .await
        .unwrap();
    let p = sesame_mail::list_unsubscribe::UNSUBSCRIBE_PLACEHOLDER;
    let mut req = listed(
        &["r@example.net"],
        None,
        "t",
        &format!("<a href=\"https://shop.example/\">shop</a> <a href=\"{p}\">leave</a>"),
    );
    req.configuration_set = Some("cs".into());
    let id = f.engine.send(&sc, req).await.unwrap().message_id;
    deliver_all(&f).await;
    let raw = captured(&f, &id);
    let url = unsubscribe_url(&raw);
    // The HTML part was re-encoded quoted-printable by the tracking rewrite.
    let html = raw.replace("=\r\n", "").replace("=3D", "=");
    assert!(
        html.contains(&format!("<a href=\"{url}\">leave</a>")),
        "{html}"
    );
    assert!(html.contains("/track/click/"), "other links are tracked");
    assert!(!html.contains("https://shop.example/\""));
}

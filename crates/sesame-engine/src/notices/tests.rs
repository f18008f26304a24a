//! The account-notice mailer over the in-memory store (Q-98, Q-100, Q-163, H-158): who gets a
//! notice, the email, the claim protocol (one email per notice across crashes and nodes), and
//! notices that wait for an address.

use serde_json::json;
use sesame_model::Store;

use super::*;
use crate::deliver::testkit::{deliver_all, fixture, Fixture};
use crate::test_store::scope;
use crate::verification::StatusChange;

const NOW: i64 = 1_800_000_000_000;

fn notice(created_at: i64) -> AccountNotice {
    AccountNotice {
        created_at,
        identity: "example.test".into(),
        notice_type: "NOTIFICATION_TOPIC_REMOVED".into(),
        subject: "Bounce notifications for example.test were turned off".into(),
        body: "The SNS topic arn:aws:sns:us-east-1:123456789012:gone no longer exists.".into(),
        change: StatusChange {
            component: "NOTIFICATION_TOPIC".into(),
            from: "arn:aws:sns:us-east-1:123456789012:gone".into(),
            to: String::new(),
            deadline: None,
        },
        ..Default::default()
    }
}

async fn store_notice(f: &Fixture, name: &str, n: &AccountNotice) {
    f.store
        .insert_resource(
            &Engine::notice_key(&scope(), name),
            &serde_json::to_value(n).unwrap(),
        )
        .await
        .unwrap();
}

async fn stored(f: &Fixture, name: &str) -> AccountNotice {
    let r = f
        .store
        .get_resource(&Engine::notice_key(&scope(), name))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_value(r.data).unwrap()
}

async fn set_contacts(f: &Fixture, contacts: &[&str]) {
    let contacts: Vec<String> = contacts.iter().map(|s| s.to_string()).collect();
    f.engine
        .update_account_settings(&scope(), |s| {
            s.details = Some(
                json!({"MailType": "TRANSACTIONAL", "WebsiteURL": "https://example.test",
                "AdditionalContactEmailAddresses": contacts}),
            );
            Ok(())
        })
        .await
        .unwrap();
}

/// Queued notice emails: (message id, recipients).
fn queued(f: &Fixture) -> Vec<(String, Vec<String>)> {
    f.store
        .queue
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, _)| crate::forwarding::system_kind(m) == Some(SYSTEM_ACCOUNT_NOTICE))
        .map(|(m, _)| (m.message_id.clone(), m.recipients.clone()))
        .collect()
}

/// the account's AdditionalContactEmailAddresses, else the operator's fallback, else
/// nobody; trimmed, de-duplicated, order kept.
#[test]
fn recipients_table() {
    let fb = vec!["ops@provider.test".to_string()];
    let d = |v: Value| Some(v);
    let cases: Vec<(Option<Value>, &[String], Recipients)> = vec![
        (
            d(json!({"AdditionalContactEmailAddresses": ["a@x.test", " b@x.test ", "A@X.test"]})),
            &fb,
            Recipients::Account(vec!["a@x.test".into(), "b@x.test".into()]),
        ),
        (
            d(json!({"AdditionalContactEmailAddresses": []})),
            &fb,
            Recipients::Fallback(fb.clone()),
        ),
        (
            d(json!({"MailType": "MARKETING"})),
            &fb,
            Recipients::Fallback(fb.clone()),
        ),
        (None, &fb, Recipients::Fallback(fb.clone())),
        (None, &[], Recipients::None),
        (
            d(json!({"AdditionalContactEmailAddresses": ["  "]})),
            &[],
            Recipients::None,
        ),
    ];
    for (details, fallback, want) in cases {
        assert_eq!(recipients(details.as_ref(), fallback), want, "{details:?}");
    }
    assert_eq!(Recipients::None.source(), "none");
    assert!(Recipients::None.addresses().is_empty());
}

/// The claim rule: undelivered, and no live claim of another node.
#[test]
fn claimable_table() {
    let claim = |node: &str, until: i64| {
        Some(NoticeClaim {
            node: node.into(),
            until,
        })
    };
    let cases = [
        (None, None, true),
        (Some(1), None, false),
        (None, claim("other", NOW + 1), false),
        (None, claim("other", NOW), true),
        (None, claim("me", NOW + 1), true),
    ];
    for (delivered_at, claim, want) in cases {
        let n = AccountNotice {
            delivered_at,
            claim: claim.clone(),
            ..notice(0)
        };
        assert_eq!(claimable(&n, "me", NOW), want, "{delivered_at:?} {claim:?}");
    }
}

/// One id per notice, whatever node or attempt computes it; SES-shaped, timed by the notice.
#[test]
fn message_ids_are_stable_per_notice() {
    let a = notice_message_id(&scope(), "n1", NOW);
    assert_eq!(a, notice_message_id(&scope(), "n1", NOW));
    assert_ne!(a, notice_message_id(&scope(), "n2", NOW));
    assert_ne!(
        a,
        notice_message_id(&crate::test_store::scope_in("eu-west-1"), "n1", NOW)
    );
    assert_eq!(a.len(), 60);
    assert!(a.starts_with(&format!("0100{:012x}-", NOW)));
}

/// The email: From the service, To the recipients, the notice's subject, its body and the
/// facts (account, region, identity, change, deadline), and why the reader gets it.
#[test]
fn notice_email_says_what_and_why() {
    let mut n = notice(NOW);
    n.change.deadline = Some(NOW + 3_600_000);
    let to = Recipients::Account(vec!["a@x.test".into()]);
    let m = notice_email(&n, &scope(), &to, "Sesame", "mail.provider.test");
    assert_eq!(m.from, "Sesame <no-reply@mail.provider.test>");
    assert_eq!(m.to, ["a@x.test"]);
    assert_eq!(m.subject.data.as_str(), n.subject);
    assert_eq!(
        m.headers,
        [(
            "X-Sesame-Notice-Type".to_string(),
            "NOTIFICATION_TOPIC_REMOVED".to_string()
        )]
    );
    let text = m.text.unwrap();
    let text = text.data.as_str();
    for want in [
        n.body.as_str(),
        "Account: 123456789012\r\n",
        "Region: us-east-1\r\n",
        "Identity: example.test\r\n",
        "Notice: NOTIFICATION_TOPIC_REMOVED (NOTIFICATION_TOPIC: arn:aws:sns:us-east-1:123456789012:gone -> -)\r\n",
        "Deadline: 2027-01-15T09:00:00Z\r\n",
        "Issued: 2027-01-15T08:00:00Z\r\n",
        "as a contact of the account (AdditionalContactEmailAddresses",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let fb = notice_email(
        &n,
        &scope(),
        &Recipients::Fallback(vec!["ops@p.test".into()]),
        "Sesame",
        "p.test",
    );
    assert!(fb
        .text
        .unwrap()
        .data
        .contains("This account has no contact address"));
}

/// an undelivered notice is queued once to the account's contacts and marked
/// (`delivered_at`, `message_id`, `mailed_to`); delivery captures it like any message; later
/// rounds leave it alone.
#[tokio::test]
async fn notice_is_mailed_once_to_the_account_contacts() {
    let f = fixture().await;
    set_contacts(&f, &["ops@customer.test", "cto@customer.test"]).await;
    store_notice(&f, "0000000000001-a", &notice(NOW - 1000)).await;

    let r = f
        .engine
        .mail_account_notices(&scope(), "node-a", &[], None, NOW)
        .await
        .unwrap();
    let id = notice_message_id(&scope(), "0000000000001-a", NOW - 1000);
    let to = vec!["ops@customer.test".to_string(), "cto@customer.test".into()];
    assert_eq!(
        r.mailed,
        [("0000000000001-a".into(), id.clone(), to.clone())]
    );
    assert_eq!((r.waiting, r.busy), (0, 0));
    assert_eq!(r.cursor, None, "just mailed: not settled yet");
    assert_eq!(queued(&f), [(id.clone(), to.clone())]);
    let n = stored(&f, "0000000000001-a").await;
    assert_eq!(n.delivered_at, Some(NOW));
    assert_eq!(n.message_id.as_deref(), Some(id.as_str()));
    assert_eq!(n.mailed_to, to);
    assert_eq!(n.claim, None);

    // Later rounds: nothing more; past SETTLE_MS the cursor passes it.
    let again = f
        .engine
        .mail_account_notices(&scope(), "node-b", &[], None, NOW + 1)
        .await
        .unwrap();
    assert!(again.mailed.is_empty());
    assert_eq!(again.cursor, None);
    let later = f
        .engine
        .mail_account_notices(&scope(), "node-b", &[], None, NOW + SETTLE_MS)
        .await
        .unwrap();
    assert_eq!(later.cursor.as_deref(), Some("0000000000001-a"));
    assert_eq!(queued(&f).len(), 1);

    // Delivered like any system message: the dev inbox has it, From the service.
    deliver_all(&f).await;
    let captured = f.store.captured.lock().unwrap().clone();
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].message_id, id);
    assert_eq!(captured[0].recipients, to);
    let raw = String::from_utf8_lossy(&captured[0].raw);
    let sd = &f.engine.settings.service_domain;
    assert!(
        raw.contains(&format!("From: \"Sesame\" <no-reply@{sd}>")),
        "{raw}"
    );
    assert!(
        raw.contains("To: <ops@customer.test>, <cto@customer.test>"),
        "{raw}"
    );
    assert!(raw.contains("Subject: Bounce notifications for example.test were turned off"));
    assert!(
        raw.contains(&format!("Message-ID: <{id}@email.{sd}>")),
        "{raw}"
    );
}

/// A crash after the enqueue and before the mark (the notice still undelivered, its claim
/// expired) is repaired by the next round on any node without a second email — before and
/// after the first one was delivered.
#[tokio::test]
async fn crash_between_enqueue_and_mark_sends_one_email() {
    let f = fixture().await;
    set_contacts(&f, &["ops@customer.test"]).await;
    store_notice(&f, "n", &notice(NOW)).await;
    f.engine
        .mail_account_notices(&scope(), "node-a", &[], None, NOW)
        .await
        .unwrap();
    let crashed = AccountNotice {
        claim: Some(NoticeClaim {
            node: "node-a".into(),
            until: NOW + CLAIM_MS,
        }),
        ..notice(NOW)
    };
    let key = Engine::notice_key(&scope(), "n");
    f.store
        .upsert_resource(&key, &serde_json::to_value(&crashed).unwrap())
        .await
        .unwrap();

    // Another node, while node-a's claim is live: hands off.
    let busy = f
        .engine
        .mail_account_notices(&scope(), "node-b", &[], None, NOW + 1)
        .await
        .unwrap();
    assert_eq!((busy.mailed.len(), busy.busy), (0, 1));
    // After it: takes over, marks, no second email.
    let r = f
        .engine
        .mail_account_notices(&scope(), "node-b", &[], None, NOW + CLAIM_MS)
        .await
        .unwrap();
    assert_eq!(r.mailed.len(), 1);
    assert_eq!(queued(&f).len(), 1);
    assert_eq!(stored(&f, "n").await.delivered_at, Some(NOW + CLAIM_MS));

    // The same once the email has left the queue (the sent-message log knows it).
    deliver_all(&f).await;
    f.store
        .upsert_resource(&key, &serde_json::to_value(&crashed).unwrap())
        .await
        .unwrap();
    f.engine
        .mail_account_notices(&scope(), "node-c", &[], None, NOW + 2 * CLAIM_MS)
        .await
        .unwrap();
    assert!(queued(&f).is_empty(), "not queued again");
    assert_eq!(f.store.captured.lock().unwrap().len(), 1, "one email");
    assert!(stored(&f, "n").await.delivered_at.is_some());
}

/// Two nodes reading the same undelivered notice: the second's claim conflicts (resource
/// version), so only one email is queued.
#[tokio::test]
async fn racing_nodes_queue_one_email() {
    let f = fixture().await;
    set_contacts(&f, &["ops@customer.test"]).await;
    store_notice(&f, "n", &notice(NOW)).await;
    let entries = f
        .engine
        .account_notice_entries(&scope(), None)
        .await
        .unwrap();
    let to = f.engine.notice_recipients(&scope(), &[]).await.unwrap();
    let a = f
        .engine
        .mail_notice(&scope(), &entries[0], &to, "node-a", NOW)
        .await
        .unwrap();
    let b = f
        .engine
        .mail_notice(&scope(), &entries[0], &to, "node-b", NOW)
        .await
        .unwrap();
    assert!(matches!((a, b), (Mailed::Now(_), Mailed::Busy)));
    assert_eq!(queued(&f).len(), 1);
}

/// with no contact address and no fallback, notices stay stored (reported as waiting,
/// the cursor held before them); the operator's fallback then receives them, and an account
/// address, once set, takes precedence for later notices.
#[tokio::test]
async fn notices_wait_for_an_address_then_go_to_the_fallback_or_contacts() {
    let f = fixture().await;
    store_notice(&f, "0001", &notice(NOW - 2 * SETTLE_MS)).await;
    let r = f
        .engine
        .mail_account_notices(&scope(), "node-a", &[], None, NOW)
        .await
        .unwrap();
    assert_eq!((r.mailed.len(), r.waiting, r.busy), (0, 1, 0));
    assert_eq!(r.cursor, None);
    assert!(queued(&f).is_empty());
    assert_eq!(stored(&f, "0001").await, notice(NOW - 2 * SETTLE_MS));

    let fallback = vec!["notices@provider.test".to_string()];
    let r = f
        .engine
        .mail_account_notices(&scope(), "node-a", &fallback, None, NOW)
        .await
        .unwrap();
    assert_eq!(r.mailed[0].2, fallback);
    assert_eq!(stored(&f, "0001").await.mailed_to, fallback);

    set_contacts(&f, &["ops@customer.test"]).await;
    store_notice(&f, "0002", &notice(NOW)).await;
    let r = f
        .engine
        .mail_account_notices(&scope(), "node-a", &fallback, None, NOW + 1)
        .await
        .unwrap();
    assert_eq!(r.mailed.len(), 1);
    assert_eq!(r.mailed[0].2, ["ops@customer.test"]);
    assert_eq!(r.cursor.as_deref(), Some("0001"), "settled: mailed and old");
    // The cursor skips what is behind it.
    let r = f
        .engine
        .mail_account_notices(&scope(), "node-a", &fallback, Some("0002"), NOW + 2)
        .await
        .unwrap();
    assert_eq!(
        r,
        NoticeRound {
            cursor: Some("0002".into()),
            ..Default::default()
        }
    );
}

/// Q-163 for real: a deleted Bounce topic of an identity, found by the dispatcher, leaves a
/// `NOTIFICATION_TOPIC_REMOVED` notice that the mailer sends to the contacts.
#[tokio::test]
async fn topic_removed_notice_is_mailed() {
    let f = fixture().await;
    set_contacts(&f, &["ops@customer.test"]).await;
    let sc = scope();
    let gone = f.engine.topic_arn(&sc, "gone");
    f.engine
        .update_identity(&sc, "example.test", |r| {
            r.notification_topics.insert("Bounce".into(), gone.clone());
            Ok(())
        })
        .await
        .unwrap();
    let id = crate::deliver::testkit::send(
        &f,
        "sender@example.test",
        &["bounce@simulator.amazonses.com"],
        None,
    )
    .await;
    deliver_all(&f).await;
    for e in f.store.message_events(&sc, &id).await.unwrap() {
        f.engine.dispatch_event(&e).await.unwrap();
    }
    let entries = f.engine.account_notice_entries(&sc, None).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].notice.notice_type, "NOTIFICATION_TOPIC_REMOVED");
    assert_eq!(entries[0].notice.delivered_at, None);

    let r = f
        .engine
        .mail_account_notices(&sc, "node-a", &[], None, crate::now_ms())
        .await
        .unwrap();
    assert_eq!(r.mailed.len(), 1);
    deliver_all(&f).await;
    let captured = f.store.captured.lock().unwrap().clone();
    let mail = captured
        .iter()
        .find(|c| c.message_id == r.mailed[0].1)
        .expect("the notice email in the dev inbox");
    assert_eq!(mail.recipients, ["ops@customer.test"]);
    let raw = String::from_utf8_lossy(&mail.raw);
    assert!(raw.contains("Subject: Bounce notifications for example.test were turned off"));
    assert!(raw.contains("X-Sesame-Notice-Type: NOTIFICATION_TOPIC_REMOVED"));
}

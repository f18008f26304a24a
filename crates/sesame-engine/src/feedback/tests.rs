//! `Engine::check_feedback_recipient` and `Engine::ingest_feedback` over the in-memory store:
//! a message is sent and delivered (capture), so it sits in the sent-message log, then reports
//! shaped like real ones are ingested for its VERP address.

use std::sync::Arc;

use serde_json::Value;
use sesame_mail::message::Text;
use sesame_model::Store;

use super::*;
use crate::send::{Content, Destination, SendRequest, SimpleContent, Surface};
use crate::test_store::{engine_with, scope, MemBodies, MemStore};

struct Fixture {
    engine: Engine,
    store: Arc<MemStore>,
}

async fn fixture() -> Fixture {
    let store = Arc::new(MemStore::default());
    let engine = engine_with(store.clone(), Arc::new(MemBodies::default()));
    let sc = scope();
    engine
        .insert_identity(&sc, Engine::new_identity("example.test"))
        .await
        .unwrap();
    engine
        .force_verify_identity(&sc, "example.test")
        .await
        .unwrap();
    Fixture { engine, store }
}

/// Sends to `to` and delivers (capture): returns the message id and its VERP address.
async fn sent(f: &Fixture, to: &[&str], set: Option<&str>) -> (String, String) {
    let req = crate::deliver::testkit::simple_request("sender@example.test", to, set);
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    for m in f
        .store
        .claim_messages("node", now_ms(), 60_000, 100)
        .await
        .unwrap()
    {
        f.engine.deliver_claimed("node", m).await.unwrap();
    }
    let (logged, queued) = f.store.find_message(&id).await.unwrap().unwrap();
    assert!(!queued, "delivered: in the sent-message log");
    (id, logged.mail_from)
}

fn date_now() -> String {
    crate::templates::rfc5322_date(now_ms())
}

/// A Postfix-shaped DSN to `verp` with the given per-recipient groups, dated now.
fn dsn(verp: &str, groups: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    dsn_dated(verp, groups, &date_now())
}

fn dsn_dated(verp: &str, groups: &[(&str, &str, &str, &str)], date: &str) -> Vec<u8> {
    let mut report = String::from("Reporting-MTA: dns; mx.example.net\r\n\r\n");
    for (rcpt, action, status, diag) in groups {
        report.push_str(&format!(
            "Final-Recipient: rfc822; {rcpt}\r\nAction: {action}\r\nStatus: {status}\r\n\
             Diagnostic-Code: {diag}\r\n\r\n"
        ));
    }
    format!(
        "Date: {}\r\nFrom: MAILER-DAEMON@mx.example.net\r\nTo: {verp}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mail system\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n{report}\
         --B--\r\n",
        date
    )
    .into_bytes()
}

/// An ARF report (RFC 5965 §3) to `verp`.
fn arf(verp: &str, feedback_type: &str, rcpt_to: Option<&str>) -> Vec<u8> {
    let rcpt = rcpt_to
        .map(|r| format!("Original-Rcpt-To: <{r}>\r\n"))
        .unwrap_or_default();
    format!(
        "Date: {}\r\nFrom: fbl@isp.example\r\nTo: {verp}\r\nSubject: FW: Hello\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n\r\n\
         --B\r\nContent-Type: message/feedback-report\r\n\r\n\
         Feedback-Type: {feedback_type}\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n\
         Original-Mail-From: <{verp}>\r\n{rcpt}\
         Arrival-Date: Tue, 14 Jan 2025 12:00:01 +0200\r\n\r\n\
         --B--\r\n",
        date_now()
    )
    .into_bytes()
}

async fn suppressed(f: &Fixture) -> Vec<(String, String, Option<SuppressionAttributes>)> {
    let (list, _) = f
        .engine
        .list_suppressed_destinations(&scope(), &Default::default(), None, 100)
        .await
        .unwrap();
    list.into_iter()
        .map(|r| (r.email_address, r.reason, r.attributes))
        .collect()
}

fn addresses(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["emailAddress"].as_str().unwrap().to_string())
        .collect()
}

/// only the exact VERP address of a known message is a mailbox; unknown addresses at a
/// feedback domain are 5.1.1, everything else is not ours (no relay).
#[tokio::test]
async fn rcpt_decisions() {
    let f = fixture().await;
    let (id, verp) = sent(&f, &["a@example.net"], None).await;
    assert_eq!(verp, format!("{id}@us-east-1.sesame.test"));
    let known = FeedbackRecipient::Known {
        message_id: id.clone(),
        scope: scope(),
    };
    let unknown_id = "0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6f-000000";
    for (address, want) in [
        (verp.clone(), known.clone()),
        (verp.to_uppercase(), known.clone()),
        (format!("<{verp}>"), known.clone()),
        // The right message at the other region's domain is not its address.
        (
            format!("{id}@eu-west-1.sesame.test"),
            FeedbackRecipient::UnknownMessage,
        ),
        (
            format!("{unknown_id}@us-east-1.sesame.test"),
            FeedbackRecipient::UnknownMessage,
        ),
        (
            "postmaster@us-east-1.sesame.test".into(),
            FeedbackRecipient::UnknownMessage,
        ),
        (format!("{id}@example.com"), FeedbackRecipient::NotOurs),
        ("someone@example.com".into(), FeedbackRecipient::NotOurs),
        ("no-at-sign".into(), FeedbackRecipient::NotOurs),
    ] {
        assert_eq!(
            f.engine.check_feedback_recipient(&address).await.unwrap(),
            want,
            "{address}"
        );
    }
    assert!(matches!(
        f.engine
            .ingest_feedback(&format!("{unknown_id}@us-east-1.sesame.test"), b"x")
            .await,
        Err(EngineError::NotFound(_))
    ));
}

/// G-42..G-44, Q-158, Q-165, Q-191: per-recipient bounces grouped by type, only for the
/// message's recipients, DSN fields verbatim, Permanent ones suppressed with their feedback.
#[tokio::test]
async fn dsn_bounces_the_messages_recipients() {
    let f = fixture().await;
    let to = ["nobody@example.net", "full@example.net", "fine@example.net"];
    let (id, verp) = sent(&f, &to, None).await;
    let raw = dsn(
        &verp,
        &[
            (
                "Nobody@example.net",
                "failed",
                "5.1.1",
                "smtp; 550 5.1.1 user unknown",
            ),
            (
                "full@example.net",
                "failed",
                "5.2.2",
                "smtp; 552 5.2.2 mailbox full",
            ),
            (
                "stranger@example.org",
                "failed",
                "5.1.1",
                "smtp; 550 5.1.1 nope",
            ),
            ("fine@example.net", "delivered", "2.0.0", "smtp; 250 ok"),
        ],
    );
    let out = f.engine.ingest_feedback(&verp, &raw).await.unwrap();
    assert_eq!(out.message_id, id);
    assert_eq!(out.report, "dsn");
    assert_eq!(out.events.len(), 2);
    let stored = f.store.message_events(&scope(), &id).await.unwrap();
    let types: Vec<&str> = stored.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["Send", "Delivery", "Bounce", "Bounce"]);
    // G-42 / G-43: DSN-derived records have the spec's shape (sesame_events::shape).
    for e in &stored {
        if let Err(errs) = sesame_events::shape::check(&e.data) {
            panic!("{}: {errs:#?}\n{:#}", e.event_type, e.data);
        }
    }

    let hard = &out.events[0].data["bounce"];
    assert_eq!(hard["bounceType"], "Permanent");
    assert_eq!(hard["bounceSubType"], "General");
    assert_eq!(hard["reportingMTA"], "dns; mx.example.net");
    assert_eq!(
        hard["bouncedRecipients"],
        serde_json::json!([{
            "emailAddress": "Nobody@example.net",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown"
        }])
    );
    let fid = hard["feedbackId"].as_str().unwrap();
    assert_eq!(fid.len(), 60);
    assert_eq!(
        &fid[..16],
        &id[..16],
        "Q-146: prefix shared with the message id"
    );
    assert_eq!(out.events[0].data["mail"]["messageId"], id.as_str());
    assert_eq!(out.events[0].data["eventType"], "Bounce");

    let soft = &out.events[1].data["bounce"];
    assert_eq!(soft["bounceType"], "Transient");
    assert_eq!(soft["bounceSubType"], "MailboxFull");
    assert_eq!(addresses(&soft["bouncedRecipients"]), ["full@example.net"]);

    // Only the permanent bounce suppresses, with its feedback (F-151).
    assert_eq!(
        out.suppressed,
        ["nobody@example.net"],
        "as sent to, not as the DSN spelt it"
    );
    assert_eq!(
        suppressed(&f).await,
        [(
            "nobody@example.net".to_string(),
            "BOUNCE".to_string(),
            Some(SuppressionAttributes {
                message_id: Some(id.clone()),
                feedback_id: Some(fid.to_string()),
            })
        )]
    );
}

/// The bounce's timestamp is the report's Date (G-42), never before the hand-over (for a
/// message that left the queue: when it left) nor after now.
#[tokio::test]
async fn timestamp_is_the_reports_date_clamped() {
    let f = fixture().await;
    let (id, verp) = sent(&f, &["a@example.net"], None).await;
    // Accepted a second before it left the queue.
    let left = {
        let mut log = f.store.message_log.lock().unwrap();
        let (m, finished_at) = log.iter_mut().find(|(m, _)| m.message_id == id).unwrap();
        m.created_at = *finished_at - 1_000;
        *finished_at
    };
    let with_date =
        |date: &str| dsn_dated(&verp, &[("a@example.net", "failed", "5.1.1", "x")], date);
    let old = f
        .engine
        .ingest_feedback(&verp, &with_date("Tue, 14 Jan 2020 10:00:00 +0000"))
        .await
        .unwrap();
    assert_eq!(old.events[0].timestamp, left);
    assert_eq!(
        old.events[0].data["bounce"]["timestamp"],
        sesame_events::iso_timestamp(left)
    );
    let before = now_ms();
    let future = f
        .engine
        .ingest_feedback(&verp, &with_date("Tue, 14 Jan 2100 10:00:00 +0000"))
        .await
        .unwrap();
    assert!((before..=now_ms()).contains(&future.events[0].timestamp));
}

/// D-127: a failure for nobody we sent to is `Permanent`/`NoEmail` for the message's
/// recipients; suppressed only when that is one address. A DSN without recipients is
/// `Undetermined`; a DSN of deliveries only records nothing.
#[tokio::test]
async fn unattributable_dsns() {
    let f = fixture().await;
    let (_, one) = sent(&f, &["solo@example.net"], None).await;
    let out = f
        .engine
        .ingest_feedback(
            &one,
            &dsn(&one, &[("alias@elsewhere.example", "failed", "5.1.1", "x")]),
        )
        .await
        .unwrap();
    let b = &out.events[0].data["bounce"];
    assert_eq!(
        (b["bounceType"].as_str(), b["bounceSubType"].as_str()),
        (Some("Permanent"), Some("NoEmail"))
    );
    assert_eq!(
        b["bouncedRecipients"],
        serde_json::json!([{"emailAddress": "solo@example.net"}])
    );
    assert_eq!(out.suppressed, ["solo@example.net"]);

    let (_, two) = sent(&f, &["x@example.net", "y@example.net"], None).await;
    let out = f
        .engine
        .ingest_feedback(
            &two,
            &dsn(&two, &[("alias@elsewhere.example", "failed", "5.1.1", "x")]),
        )
        .await
        .unwrap();
    assert_eq!(out.events[0].data["bounce"]["bounceSubType"], "NoEmail");
    assert!(out.suppressed.is_empty(), "which of the two is unknown");

    let out = f
        .engine
        .ingest_feedback(&two, &dsn(&two, &[]))
        .await
        .unwrap();
    let b = &out.events[0].data["bounce"];
    assert_eq!(
        (b["bounceType"].as_str(), b["bounceSubType"].as_str()),
        (Some("Undetermined"), Some("Undetermined"))
    );
    assert_eq!(b["reportingMTA"], "dns; mx.example.net");
    assert_eq!(
        addresses(&b["bouncedRecipients"]),
        ["x@example.net", "y@example.net"]
    );

    let out = f
        .engine
        .ingest_feedback(
            &two,
            &dsn(&two, &[("x@example.net", "delivered", "2.0.0", "ok")]),
        )
        .await
        .unwrap();
    assert!(out.events.is_empty());
}

/// G-45..G-47, Q-145, Q-150, Q-159, Q-191: an ARF report is a Complaint for the reported
/// recipient; `not-spam` is recorded but suppresses nothing.
#[tokio::test]
async fn arf_is_a_complaint() {
    let f = fixture().await;
    let (id, verp) = sent(&f, &["angry@example.net", "calm@other.example"], None).await;
    let out = f
        .engine
        .ingest_feedback(&verp, &arf(&verp, "abuse", Some("Angry@Example.net")))
        .await
        .unwrap();
    assert_eq!(out.report, "arf");
    let e = &out.events[0];
    // G-45: the ARF-derived record has the spec's shape (sesame_events::shape).
    if let Err(errs) = sesame_events::shape::check(&e.data) {
        panic!("{errs:#?}\n{:#}", e.data);
    }
    assert_eq!(e.event_type, "Complaint");
    let c = &e.data["complaint"];
    assert_eq!(addresses(&c["complainedRecipients"]), ["angry@example.net"]);
    assert_eq!(c["complaintFeedbackType"], "abuse");
    assert_eq!(c["userAgent"], "ExampleFBL/1.0");
    assert_eq!(
        c["arrivalDate"], "2025-01-14T10:00:01.000Z",
        "Q-145: converted to UTC"
    );
    assert!(
        c.get("complaintSubType").is_some_and(Value::is_null),
        "Q-150: null, present"
    );
    assert_eq!(c["feedbackId"].as_str().unwrap().len(), 60);
    assert_eq!(e.data["mail"]["messageId"], id.as_str());
    assert_eq!(out.suppressed, ["angry@example.net"]);
    assert_eq!(suppressed(&f).await[0].1, "COMPLAINT");

    // Redacted: the ISP's domain picks the recipient; not-spam suppresses nothing; an
    // unknown type is `other`.
    let out = f
        .engine
        .ingest_feedback(&verp, &arf(&verp, "not-spam", Some("xxxxx@other.example")))
        .await
        .unwrap();
    let c = &out.events[0].data["complaint"];
    assert_eq!(
        addresses(&c["complainedRecipients"]),
        ["calm@other.example"]
    );
    assert_eq!(c["complaintFeedbackType"], "not-spam");
    assert!(out.suppressed.is_empty());
    let out = f
        .engine
        .ingest_feedback(&verp, &arf(&verp, "opt-out", Some("calm@other.example")))
        .await
        .unwrap();
    assert_eq!(
        out.events[0].data["complaint"]["complaintFeedbackType"],
        "other"
    );
    assert_eq!(out.suppressed, ["calm@other.example"]);
}

/// Q-166, G-44: an auto-reply is a Transient/General bounce of its sender; unreadable mail is
/// Undetermined for every recipient; neither suppresses.
#[tokio::test]
async fn auto_replies_and_unrecognized_mail() {
    let f = fixture().await;
    let (_, verp) = sent(&f, &["away@example.net", "other@example.net"], None).await;
    let reply = format!(
        "Date: {}\r\nFrom: Away <away@example.net>\r\nTo: {verp}\r\n\
         Subject: Out of office: Hello\r\nAuto-Submitted: auto-replied\r\n\r\nBack Monday.\r\n",
        date_now()
    );
    let out = f
        .engine
        .ingest_feedback(&verp, reply.as_bytes())
        .await
        .unwrap();
    assert_eq!(out.report, "auto_reply");
    let b = &out.events[0].data["bounce"];
    assert_eq!(
        (b["bounceType"].as_str(), b["bounceSubType"].as_str()),
        (Some("Transient"), Some("General"))
    );
    assert_eq!(
        b["bouncedRecipients"],
        serde_json::json!([{"emailAddress": "away@example.net"}])
    );
    assert!(b.get("reportingMTA").is_none());

    let out = f
        .engine
        .ingest_feedback(&verp, b"From: someone@example.net\r\n\r\nplease stop\r\n")
        .await
        .unwrap();
    assert_eq!(out.report, "unrecognized");
    let b = &out.events[0].data["bounce"];
    assert_eq!(b["bounceType"], "Undetermined");
    assert_eq!(
        addresses(&b["bouncedRecipients"]),
        ["away@example.net", "other@example.net"]
    );
    assert!(suppressed(&f).await.is_empty());
}

/// F-162, Q-188: a configuration set that turns suppression off wins over the account.
#[tokio::test]
async fn set_override_controls_suppression() {
    let f = fixture().await;
    let sc = scope();
    f.engine
        .create_configuration_set(&sc, Engine::new_configuration_set("no-suppression"))
        .await
        .unwrap();
    f.engine
        .update_configuration_set(&sc, "no-suppression", |s| {
            s.suppression_options = crate::configuration_sets::suppression_options(Some(&[]))?;
            Ok(())
        })
        .await
        .unwrap();
    let (_, verp) = sent(&f, &["gone@example.net"], Some("no-suppression")).await;
    let out = f
        .engine
        .ingest_feedback(
            &verp,
            &dsn(&verp, &[("gone@example.net", "failed", "5.1.1", "x")]),
        )
        .await
        .unwrap();
    assert_eq!(out.events[0].data["bounce"]["bounceType"], "Permanent");
    assert!(out.suppressed.is_empty());
    assert!(suppressed(&f).await.is_empty());
}

/// A DSN for a recipient still being retried finds the message in the queue.
#[tokio::test]
async fn queued_message_receives_feedback() {
    let f = fixture().await;
    let req = SendRequest {
        surface: Surface::V2,
        operation: "SendEmail",
        from: Some("sender@example.test".into()),
        destination: Some(Destination {
            to: vec!["later@example.net".into()],
            ..Default::default()
        }),
        reply_to: vec![],
        feedback_address: None,
        configuration_set: None,
        tags: vec![],
        content: Content::Simple(SimpleContent {
            subject: Text::new("Hi"),
            text: Some(Text::new("x")),
            ..Default::default()
        }),
        source_ip: None,
        caller_identity: None,
        source_tls_version: None,
        list_management: None,
    };
    let id = f.engine.send(&scope(), req).await.unwrap().message_id;
    let verp = format!("{id}@us-east-1.sesame.test");
    let out = f
        .engine
        .ingest_feedback(
            &verp,
            &dsn(&verp, &[("later@example.net", "delayed", "4.4.1", "x")]),
        )
        .await
        .unwrap();
    assert_eq!(out.events[0].data["bounce"]["bounceType"], "Transient");
}

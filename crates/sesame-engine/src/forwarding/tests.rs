//! Email feedback forwarding over the in-memory store: the three producers (capture and
//! simulator outcomes, SMTP results, asynchronous reports) queue a notification that delivery
//! then captures or hands to a transport; the rule of Q-162 decides per message and kind.

use std::sync::Mutex;

use async_trait::async_trait;
use sesame_mail::feedback::{parse, Feedback, Report};
use sesame_mail::message::Text;
use sesame_model::{
    CapturedMessage, DeliveryJob, JobReport, RecipientResult, SmtpReply, Store, Transport,
};

use super::*;
use crate::deliver::testkit::*;
use crate::now_ms;
use crate::send::{Content, Destination, SendRequest, SimpleContent, Surface};
use crate::test_store::scope;

/// Sends `to` from `sender@example.test` with an optional Return-Path (v2
/// `FeedbackForwardingEmailAddress`) and configuration set.
async fn send_with(f: &Fixture, to: &[&str], feedback: Option<&str>, set: Option<&str>) -> String {
    let req = SendRequest {
        surface: Surface::V2,
        operation: "SendEmail",
        from: Some("Sender <sender@example.test>".into()),
        destination: Some(Destination {
            to: to.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }),
        reply_to: vec!["replies@example.test".into()],
        feedback_address: feedback.map(str::to_string),
        configuration_set: set.map(str::to_string),
        tags: vec![],
        content: Content::Simple(SimpleContent {
            subject: Text::new("Hello"),
            text: Some(Text::new("Body text")),
            ..Default::default()
        }),
        source_ip: None,
        caller_identity: None,
        source_tls_version: None,
        list_management: None,
    };
    f.engine.send(&scope(), req).await.unwrap().message_id
}

/// The one captured notification, parsed.
fn only_notice(f: &Fixture) -> (CapturedMessage, Feedback) {
    let notices = captured_notices(f);
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = notices[0].clone();
    let fb = parse(&n.raw);
    (n, fb)
}

fn head(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    s.split("\r\n\r\n").next().unwrap().to_string()
}

/// D-112, E-79, Q-75, RFC 3464: a simulator hard bounce is mailed to the sender as a DSN from
/// `MAILER-DAEMON@<sd>` with a null envelope sender, naming the bounced recipient with the
/// event's fields and quoting the original headers (its service Message-ID); the notification
/// is neither signed nor recorded as an event, and the original message's events are unchanged.
#[tokio::test]
async fn simulator_bounce_is_mailed_to_the_sender_as_a_dsn() {
    let f = fixture().await;
    let id = send_with(&f, &[&format!("bounce@{SIM}")], None, None).await;
    deliver_all(&f).await;

    let (n, fb) = only_notice(&f);
    assert_eq!(n.recipients, ["sender@example.test"], "Q-161: the source");
    assert_eq!(n.mail_from, "", "null reverse-path (RFC 3464 §2)");
    let h = head(&n.raw);
    assert!(h.starts_with("Date: "), "{h}");
    assert!(
        h.contains(&format!(
            "\r\nMessage-ID: <{}@email.sesame.test>\r\n",
            n.message_id
        )),
        "{h}"
    );
    assert!(
        h.contains("\r\nFrom: <MAILER-DAEMON@sesame.test>\r\n"),
        "{h}"
    );
    assert!(h.contains("\r\nTo: <sender@example.test>\r\n"), "{h}");
    assert!(h.contains("\r\nAuto-Submitted: auto-replied\r\n"), "{h}");
    assert!(
        !h.contains("DKIM-Signature"),
        "not signed with the customer's key"
    );

    assert_eq!(fb.from.as_deref(), Some("MAILER-DAEMON@sesame.test"));
    assert_eq!(
        fb.original_message_id,
        Some(format!("{id}@email.sesame.test"))
    );
    let Report::Dsn(dsn) = fb.report else {
        panic!("not a DSN: {:?}", fb.report)
    };
    assert_eq!(
        dsn.reporting_mta.as_deref(),
        Some("dns; capture.sesame.test")
    );
    assert!(dsn.arrival_date_ms.is_some());
    assert_eq!(dsn.recipients.len(), 1);
    let r = &dsn.recipients[0];
    assert_eq!(r.final_recipient, Some(format!("bounce@{SIM}")));
    assert_eq!(r.action.as_deref(), Some("failed"));
    assert_eq!(r.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        r.diagnostic_code.as_deref(),
        Some("smtp; 550 5.1.1 user unknown")
    );
    let text = String::from_utf8_lossy(&n.raw);
    assert!(
        text.contains("Subject: Hello\r\n"),
        "original headers quoted"
    );
    assert!(text.contains(&format!("Message ID: {id}")), "{text}");

    assert!(
        events(&f, &n.message_id).await.is_empty(),
        "no events of its own"
    );
    let types: Vec<String> = events(&f, &id).await.into_iter().map(|e| e.0).collect();
    assert_eq!(types, ["Send", "Bounce"]);
}

/// A-65, E-79, Q-75, RFC 5965: a simulator complaint is mailed as an ARF report from
/// `complaints@<region>.<sd>` naming the complaining recipient and the original envelope.
#[tokio::test]
async fn simulator_complaint_is_mailed_as_an_arf_report() {
    let f = fixture().await;
    let id = send_with(&f, &[&format!("complaint@{SIM}")], None, None).await;
    deliver_all(&f).await;
    let (n, fb) = only_notice(&f);
    assert_eq!(n.recipients, ["sender@example.test"]);
    assert_eq!(fb.from.as_deref(), Some("complaints@us-east-1.sesame.test"));
    let Report::Arf(arf) = fb.report else {
        panic!("not an ARF report: {:?}", fb.report)
    };
    assert_eq!(arf.feedback_type, "abuse");
    assert_eq!(
        arf.user_agent.as_deref(),
        Some("Amazon SES Mailbox Simulator")
    );
    assert_eq!(arf.version.as_deref(), Some("1"));
    assert_eq!(arf.original_rcpt_to, [format!("complaint@{SIM}")]);
    assert_eq!(
        arf.original_mail_from,
        Some(format!("{id}@us-east-1.sesame.test")),
        "the VERP envelope sender the message left with"
    );
    assert_eq!(arf.reported_domain, ["example.test"]);
    assert!(arf.arrival_date_ms.is_some());
    assert_eq!(
        fb.original_message_id,
        Some(format!("{id}@email.sesame.test"))
    );
}

/// Q-161 / D-116: the Return-Path (v2 `FeedbackForwardingEmailAddress`) receives feedback,
/// never the Reply-To.
#[tokio::test]
async fn feedback_goes_to_the_return_path() {
    let f = fixture().await;
    send_with(
        &f,
        &[&format!("bounce@{SIM}")],
        Some("Bounces <bounces@example.test>"),
        None,
    )
    .await;
    deliver_all(&f).await;
    let (n, _) = only_notice(&f);
    assert_eq!(n.recipients, ["bounces@example.test"]);
}

/// Q-162, D-112, E-58: with forwarding disabled, a message is mailed feedback only when it
/// has no other channel for that kind — no identity topic for it and no enabled destination
/// of its configuration set matching it.
#[tokio::test]
async fn disabled_forwarding_still_mails_without_another_channel() {
    let f = fixture().await;
    let sc = scope();
    f.engine
        .set_feedback_forwarding(&sc, "example.test", false)
        .await
        .unwrap();
    for (set, enabled, types) in [
        ("bounce-events", true, vec!["BOUNCE", "SEND"]),
        ("disabled-dest", false, vec!["BOUNCE", "COMPLAINT"]),
        ("complaint-events", true, vec!["COMPLAINT"]),
    ] {
        f.engine
            .create_configuration_set(&sc, Engine::new_configuration_set(set))
            .await
            .unwrap();
        f.engine
            .create_event_destination(
                &sc,
                set,
                "d",
                serde_json::json!({"Name": "d", "Enabled": enabled, "MatchingEventTypes": types,
                    "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}}),
            )
            .await
            .unwrap();
    }
    let bounce = format!("bounce@{SIM}");
    let complaint = format!("complaint@{SIM}");
    // (set, recipient, notification expected)
    let cases = [
        (None, &bounce, true),                     // D-112: no channel at all
        (Some("bounce-events"), &bounce, false),   // the set publishes bounces
        (Some("disabled-dest"), &bounce, true),    // a disabled destination is no channel
        (Some("complaint-events"), &bounce, true), // it covers complaints only
        (Some("complaint-events"), &complaint, false),
        (Some("bounce-events"), &complaint, true),
    ];
    for (set, rcpt, want) in cases {
        f.store.captured.lock().unwrap().clear();
        f.store.message_log.lock().unwrap().clear();
        send_with(&f, &[rcpt], None, set).await;
        deliver_all(&f).await;
        assert_eq!(
            captured_notices(&f).len(),
            usize::from(want),
            "set {set:?}, {rcpt}"
        );
    }

    // An identity topic for Bounce covers bounces of messages without a set, not complaints.
    f.engine
        .update_identity(&sc, "example.test", |r| {
            r.notification_topics.insert(
                "Bounce".into(),
                "arn:aws:sns:us-east-1:123456789012:bounces".into(),
            );
            Ok(())
        })
        .await
        .unwrap();
    for (rcpt, want) in [(&bounce, false), (&complaint, true)] {
        f.store.captured.lock().unwrap().clear();
        f.store.message_log.lock().unwrap().clear();
        send_with(&f, &[rcpt], None, None).await;
        deliver_all(&f).await;
        assert_eq!(captured_notices(&f).len(), usize::from(want), "{rcpt}");
    }

    // Forwarding enabled again: mailed whatever else is configured (D-113 duplicates).
    f.engine
        .set_feedback_forwarding(&sc, "example.test", true)
        .await
        .unwrap();
    f.store.captured.lock().unwrap().clear();
    f.store.message_log.lock().unwrap().clear();
    send_with(&f, &[&bounce], None, Some("bounce-events")).await;
    deliver_all(&f).await;
    assert_eq!(captured_notices(&f).len(), 1);
}

/// The customer's suppression list never swallows the customer's own notifications, and a
/// notification is queued without events or a Send of its own.
#[tokio::test]
async fn notifications_skip_suppression_and_events() {
    let f = fixture().await;
    f.engine
        .suppress_from_feedback(
            &scope(),
            "sender@example.test",
            "BOUNCE",
            crate::suppression::SuppressionAttributes::default(),
        )
        .await
        .unwrap();
    send_with(&f, &[&format!("bounce@{SIM}")], None, None).await;
    let claimed = f
        .store
        .claim_messages("node-a", now_ms(), 60_000, 10)
        .await
        .unwrap();
    f.engine
        .deliver_claimed("node-a", claimed[0].clone())
        .await
        .unwrap();
    let rows: Vec<QueuedMessage> = f
        .store
        .queue
        .lock()
        .unwrap()
        .iter()
        .map(|(m, _)| m.clone())
        .collect();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(system_kind(row), Some(SYSTEM_FEEDBACK_FORWARD));
    assert_eq!(row.meta["feedback_kind"], "Bounce");
    assert_eq!(row.meta["original_message_id"], claimed[0].message_id);
    assert_eq!(row.mail_from, "");
    assert!(events(&f, &row.message_id).await.is_empty());
    deliver_all(&f).await;
    let (n, _) = only_notice(&f);
    assert_eq!(n.recipients, ["sender@example.test"], "not suppressed");
}

/// At-least-once, de-duplicated: the same events of the same attempt map to one notification;
/// another attempt (or report) is another notification.
#[tokio::test]
async fn repeated_attempt_queues_one_notification() {
    let f = fixture().await;
    send_with(&f, &[&format!("bounce@{SIM}")], None, None).await;
    let original = f.store.queue.lock().unwrap()[0].0.clone();
    let bounce = crate::send::events::record(
        &scope(),
        &original.message_id,
        "Bounce",
        now_ms(),
        serde_json::json!({"eventType": "Bounce", "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "x@example.net"}],
            "timestamp": "2025-01-14T10:00:01.000Z", "feedbackId": "f-1"}}),
    );
    let delivery = crate::send::events::record(
        &scope(),
        &original.message_id,
        "Delivery",
        now_ms(),
        serde_json::json!({}),
    );
    let events = [delivery, bounce];
    let e = &f.engine;
    assert_eq!(
        e.forward_feedback(&original, &events, "attempt-0", None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        e.forward_feedback(&original, &events, "attempt-0", None)
            .await
            .unwrap(),
        1
    );
    let system_rows = |f: &Fixture| {
        f.store
            .queue
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _)| system_kind(m).is_some())
            .count()
    };
    assert_eq!(system_rows(&f), 1, "same attempt, same notification");
    e.forward_feedback(&original, &events, "attempt-1", None)
        .await
        .unwrap();
    assert_eq!(system_rows(&f), 2);
    // Notifications are never about notifications.
    let notice = f
        .store
        .queue
        .lock()
        .unwrap()
        .iter()
        .find(|(m, _)| system_kind(m).is_some())
        .unwrap()
        .0
        .clone();
    assert_eq!(
        e.forward_feedback(&notice, &events, "x", None)
            .await
            .unwrap(),
        0
    );

    // Missing status/action on an event (Undetermined reports): RFC 3464 still gets a valid
    // Status and Action.
    deliver_all(&f).await;
    let notices = captured_notices(&f);
    let fb = parse(&notices[0].raw);
    let Report::Dsn(dsn) = fb.report else {
        panic!("not a DSN")
    };
    assert_eq!(dsn.recipients[0].status.as_deref(), Some("5.0.0"));
    assert_eq!(dsn.recipients[0].action.as_deref(), Some("failed"));
}

/// Answers every recipient with one reply and records the jobs.
struct OneReply {
    reply: Mutex<SmtpReply>,
    jobs: Mutex<Vec<DeliveryJob>>,
}

#[async_trait]
impl Transport for OneReply {
    async fn deliver(&self, job: DeliveryJob) -> JobReport {
        let reply = self.reply.lock().unwrap().clone();
        let results = job
            .recipients
            .iter()
            .map(|r| (r.clone(), RecipientResult::Reply(reply.clone())))
            .collect();
        self.jobs.lock().unwrap().push(job);
        JobReport {
            results,
            remote_host: Some("mx.example.test".into()),
            remote_ip: None,
            local_ip: None,
            helo: "h.sesame.test".into(),
            tls: false,
        }
    }
}

/// SMTP mode: a notification leaves with a null sender, unsigned, exactly as queued; a 4xx
/// keeps it queued for a retry, a 5xx drops it — no events, no suppression entry, no new
/// notification (RFC 3464 §2: never a DSN about a DSN).
#[tokio::test]
async fn smtp_notifications_retry_then_drop_silently() {
    let f = fixture().await;
    let raw = b"From: <MAILER-DAEMON@sesame.test>\nTo: <sender@example.test>\nSubject: x\n\nhi\n";
    let id = "0100018f00000000-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee-000000";
    let new = f
        .engine
        .enqueue_system_message(
            &scope(),
            id,
            SYSTEM_FEEDBACK_FORWARD,
            &["sender@example.test".to_string()],
            raw.to_vec(),
            serde_json::json!({}),
        )
        .await
        .unwrap();
    assert!(new);
    let again = f
        .engine
        .enqueue_system_message(
            &scope(),
            id,
            SYSTEM_FEEDBACK_FORWARD,
            &["sender@example.test".to_string()],
            raw.to_vec(),
            serde_json::json!({}),
        )
        .await
        .unwrap();
    assert!(!again, "idempotent on the id");

    let t = OneReply {
        reply: Mutex::new(SmtpReply {
            code: 451,
            status: Some("4.3.0".into()),
            text: "try later".into(),
        }),
        jobs: Mutex::default(),
    };
    let claimed = f
        .store
        .claim_messages("node-a", now_ms(), 60_000, 10)
        .await
        .unwrap();
    f.engine
        .deliver_smtp("node-a", claimed[0].clone(), &t)
        .await
        .unwrap();
    let job = t.jobs.lock().unwrap()[0].clone();
    assert_eq!(job.mail_from, "");
    assert_eq!(job.domain, "example.test");
    assert_eq!(job.tls, sesame_model::TlsPolicy::Optional);
    assert_eq!(
        job.body.as_slice(),
        sesame_mail::message::to_crlf(raw).as_ref(),
        "unsigned, byte for byte (CRLF)"
    );
    let row = f.store.queue.lock().unwrap()[0].0.clone();
    assert_eq!(row.attempts, 1, "deferred");

    *t.reply.lock().unwrap() = SmtpReply {
        code: 550,
        status: Some("5.1.1".into()),
        text: "no such user".into(),
    };
    let claimed = f
        .store
        .claim_messages("node-a", row.next_attempt_at, 60_000, 10)
        .await
        .unwrap();
    f.engine
        .deliver_smtp("node-a", claimed[0].clone(), &t)
        .await
        .unwrap();
    assert_eq!(f.store.queue_depth().await.unwrap(), 0, "dropped");
    assert!(f.store.events.lock().unwrap().is_empty());
    assert!(f.bodies.bodies.lock().unwrap().is_empty());
    let (list, _) = f
        .engine
        .list_suppressed_destinations(&scope(), &Default::default(), None, 10)
        .await
        .unwrap();
    assert!(list.is_empty());
}

/// Q-75, H-142: feedback that arrives by mail (a DSN at the VERP address) is forwarded with the
/// ISP's report attached unmodified; the same report received twice is one notification.
#[tokio::test]
async fn async_dsn_is_forwarded_with_the_report_attached() {
    let f = fixture().await;
    let id = send_with(&f, &["gone@example.net"], None, None).await;
    deliver_all(&f).await;
    let verp = format!("{id}@us-east-1.sesame.test");
    let report = format!(
        "Date: {}\r\nFrom: MAILER-DAEMON@mx.example.net\r\nTo: {verp}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mail system\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 gone\r\n\r\n--B--\r\n",
        crate::templates::rfc5322_date(now_ms())
    );
    for _ in 0..2 {
        f.engine
            .ingest_feedback(&verp, report.as_bytes())
            .await
            .unwrap();
    }
    deliver_all(&f).await;
    let (n, fb) = only_notice(&f);
    assert_eq!(n.recipients, ["sender@example.test"]);
    let Report::Dsn(dsn) = fb.report else {
        panic!("not a DSN")
    };
    assert_eq!(dsn.reporting_mta.as_deref(), Some("dns; mx.example.net"));
    assert_eq!(
        dsn.recipients[0].final_recipient.as_deref(),
        Some("gone@example.net")
    );
    assert_eq!(
        dsn.recipients[0].diagnostic_code.as_deref(),
        Some("smtp; 550 5.1.1 gone")
    );
    let text = String::from_utf8_lossy(&n.raw);
    assert!(text.contains("Content-Type: message/rfc822"), "{text}");
    assert!(text.contains(&report), "the ISP's report, unmodified");
}

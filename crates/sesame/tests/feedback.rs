//! Asynchronous feedback end to end on the real binary (`serve --dev`, capture delivery): a
//! message is sent through the API and delivered, then swaks — a real SMTP client, from
//! 127.0.4.x like any remote MTA — mails a Postfix-shaped DSN (RFC 3464, over STARTTLS) and an
//! ARF report (RFC 5965, plaintext) to its VERP address `<MessageId>@us-east-1.<sd>` at the
//! feedback MX (DECISIONS Q-67, Q-166). They become a `Bounce` event for the right message and
//! recipient with a suppression entry (G-42..G-44, Q-191), and a `Complaint` event (G-45,
//! Q-159), counted in GetSendStatistics (Q-248). An unknown message id is `550 5.1.1`; any
//! other domain is refused with `550 5.7.1` (the MX is never a relay).

mod common;
use common::wait_for;

use std::path::Path;
use std::process::{Command, Output};

use common::{call, cli_ok, Server};

/// Default `SESAME_SERVICE_DOMAIN`.
const SD: &str = "sesame.localhost";

fn events(dir: &Path, acct: &str, id: &str) -> Vec<serde_json::Value> {
    let out = cli_ok(
        dir,
        &["events", "--message-id", id, "--account", acct, "--json"],
    );
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// swaks from `source` (a 127.0.4.x address) to the MX; `data` is the whole message.
fn swaks(mx: &str, source: &str, from: &str, to: &str, data: &Path, tls: bool) -> Output {
    let mut c = Command::new("swaks");
    c.args(["--server", mx, "--local-interface", source])
        .args(["--ehlo", "mx.example.net", "--from", from, "--to", to])
        .args(["--data", &format!("@{}", data.display())])
        .args(["--timeout", "20"]);
    if tls {
        c.arg("--tls");
    }
    c.output()
        .expect("swaks is installed (apt-get install swaks)")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn dsn(verp: &str, rcpt: &str) -> String {
    format!(
        "Date: {date}\n\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n\
Subject: Undelivered Mail Returned to Sender\n\
To: {verp}\n\
Auto-Submitted: auto-replied\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status;\n\
\tboundary=\"3F1A2C0123.1736848802/mx.example.net\"\n\
Message-Id: <20250114100002.3F1A2C0123@mx.example.net>\n\
\n\
This is a MIME-encapsulated message.\n\
\n\
--3F1A2C0123.1736848802/mx.example.net\n\
Content-Description: Notification\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
This is the mail system at host mx.example.net.\n\
\n\
<{rcpt}>: host mx2.example.net[192.0.2.25] said: 550 5.1.1 <{rcpt}>:\n\
\x20   Recipient address rejected: User unknown (in reply to RCPT TO command)\n\
\n\
--3F1A2C0123.1736848802/mx.example.net\n\
Content-Description: Delivery report\n\
Content-Type: message/delivery-status\n\
\n\
Reporting-MTA: dns; mx.example.net\n\
X-Postfix-Queue-ID: 3F1A2C0123\n\
Arrival-Date: {date}\n\
\n\
Final-Recipient: rfc822; {rcpt}\n\
Original-Recipient: rfc822;{rcpt}\n\
Action: failed\n\
Status: 5.1.1\n\
Remote-MTA: dns; mx2.example.net\n\
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User\n\
\t unknown\n\
\n\
--3F1A2C0123.1736848802/mx.example.net--\n",
        date = now_rfc5322()
    )
}

fn arf(verp: &str, rcpt: &str) -> String {
    format!(
        "From: <fbl@example.net>\n\
Date: {date}\n\
Subject: FW: Capture test\n\
To: <{verp}>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=feedback-report;\n\
\tboundary=\"part1_13d.2e68ed54_boundary\"\n\
\n\
--part1_13d.2e68ed54_boundary\n\
Content-Type: text/plain; charset=\"US-ASCII\"\n\
\n\
This is an email abuse report.\n\
\n\
--part1_13d.2e68ed54_boundary\n\
Content-Type: message/feedback-report\n\
\n\
Feedback-Type: abuse\n\
User-Agent: ExampleFBL/1.0\n\
Version: 1\n\
Original-Mail-From: <{verp}>\n\
Original-Rcpt-To: <{rcpt}>\n\
Arrival-Date: Tue, 14 Jan 2025 12:00:01 +0200\n\
Reporting-MTA: dns; mail.example.net\n\
Source-IP: 127.0.0.1\n\
\n\
--part1_13d.2e68ed54_boundary--\n",
        date = now_rfc5322()
    )
}

fn now_rfc5322() -> String {
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::now_utc().format(&f).unwrap()
}

/// Sums `<tag>N</tag>` over every GetSendStatistics data point.
fn sum_of(xml: &str, tag: &str) -> i64 {
    xml.split(&format!("<{tag}>"))
        .skip(1)
        .filter_map(|rest| rest.split('<').next()?.parse::<i64>().ok())
        .sum()
}

#[test]
fn dsn_and_arf_mailed_back_become_bounce_and_complaint_events() {
    let dir = tempfile::tempdir().unwrap();
    let created: serde_json::Value =
        serde_json::from_str(&cli_ok(dir.path(), &["account", "create", "--json"])).unwrap();
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    cli_ok(dir.path(), &["account", "production", "--account", &acct]);

    let server = Server::start(dir.path(), &["--dev"], &[("SESAME_MX_ADDR", "127.0.0.1:0")]);
    assert_ne!(server.mx, "off", "the ready line names the feedback MX");
    let api = server.http.clone();
    let (status, body) = call(
        &api,
        &key,
        &secret,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    cli_ok(
        dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &acct,
            "example.test",
        ],
    );

    // A message to two recipients, delivered (captured) so it leaves the queue for the log.
    let send = serde_json::json!({
        "FromEmailAddress": "sender@example.test",
        "Destination": {"ToAddresses": ["nobody@example.net", "someone@example.net"]},
        "Content": {"Simple": {"Subject": {"Data": "Capture test"},
                               "Body": {"Text": {"Data": "Hello."}}}}
    })
    .to_string();
    let (status, resp) = call(
        &api,
        &key,
        &secret,
        "POST",
        "/v2/email/outbound-emails",
        &send,
    );
    assert_eq!(status, 200, "{resp}");
    let id = serde_json::from_str::<serde_json::Value>(&resp).unwrap()["MessageId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("the Delivery event", || {
        let ev = events(dir.path(), &acct, &id);
        ev.iter()
            .any(|e| e["event_type"] == "Delivery")
            .then_some(())
    });
    let verp = format!("{id}@us-east-1.{SD}");
    let files = tempfile::tempdir().unwrap();

    // 1. A DSN, as Postfix sends it: null sender, STARTTLS (offered, taken by swaks).
    let dsn_file = files.path().join("dsn.eml");
    std::fs::write(&dsn_file, dsn(&verp, "nobody@example.net")).unwrap();
    let out = swaks(&server.mx, "127.0.4.10", "<>", &verp, &dsn_file, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("220 Ready to start TLS"), "{t}");
    assert!(t.contains("250 2.0.0 Ok: feedback recorded"), "{t}");

    let ev = events(dir.path(), &acct, &id);
    let types: Vec<&str> = ev
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["Send", "Delivery", "Bounce"],
        "durable before the 250"
    );
    let bounce = &ev[2]["data"];
    assert_eq!(bounce["eventType"], "Bounce");
    assert_eq!(bounce["mail"]["messageId"], id.as_str());
    let b = &bounce["bounce"];
    assert_eq!(b["bounceType"], "Permanent");
    assert_eq!(b["bounceSubType"], "General");
    assert_eq!(b["reportingMTA"], "dns; mx.example.net");
    assert_eq!(b["feedbackId"].as_str().unwrap().len(), 60);
    assert_eq!(
        b["bouncedRecipients"],
        serde_json::json!([{
            "emailAddress": "nobody@example.net",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"
        }])
    );
    // Q-191: the hard bounce put the address on the account's suppression list (F-151).
    let (status, body) = call(
        &api,
        &key,
        &secret,
        "GET",
        "/v2/email/suppression/addresses/nobody@example.net",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let entry: serde_json::Value = serde_json::from_str(&body).unwrap();
    let entry = &entry["SuppressedDestination"];
    assert_eq!(entry["EmailAddress"], "nobody@example.net");
    assert_eq!(entry["Reason"], "BOUNCE");
    assert_eq!(entry["Attributes"]["MessageId"], id.as_str());
    assert_eq!(entry["Attributes"]["FeedbackId"], b["feedbackId"]);

    // 2. An ARF complaint, plaintext, from another host.
    let arf_file = files.path().join("arf.eml");
    std::fs::write(&arf_file, arf(&verp, "someone@example.net")).unwrap();
    let out = swaks(
        &server.mx,
        "127.0.4.11",
        "fbl@example.net",
        &verp,
        &arf_file,
        false,
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("250 2.0.0 Ok: feedback recorded"), "{t}");
    let ev = events(dir.path(), &acct, &id);
    let complaint = ev
        .iter()
        .find(|e| e["event_type"] == "Complaint")
        .expect("a Complaint event");
    let c = &complaint["data"]["complaint"];
    assert_eq!(
        c["complainedRecipients"],
        serde_json::json!([{"emailAddress": "someone@example.net"}])
    );
    assert_eq!(c["complaintFeedbackType"], "abuse");
    assert_eq!(c["userAgent"], "ExampleFBL/1.0");
    assert_eq!(c["arrivalDate"], "2025-01-14T10:00:01.000Z");
    assert!(c["complaintSubType"].is_null());
    let (status, body) = call(
        &api,
        &key,
        &secret,
        "GET",
        "/v2/email/suppression/addresses/someone@example.net",
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""Reason":"COMPLAINT""#), "{body}");

    // 3. Counted like every bounce and complaint (Q-248).
    let (status, xml) = call(
        &api,
        &key,
        &secret,
        "POST",
        "/",
        "Action=GetSendStatistics&Version=2010-12-01",
    );
    assert_eq!(status, 200, "{xml}");
    assert_eq!(sum_of(&xml, "Bounces"), 1, "{xml}");
    assert_eq!(sum_of(&xml, "Complaints"), 1, "{xml}");
    assert_eq!(sum_of(&xml, "DeliveryAttempts"), 2, "{xml}");

    // 4. An unknown message id at our feedback domain: 550 5.1.1, nothing recorded.
    let unknown =
        format!("0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6f-000000@us-east-1.{SD}");
    let out = swaks(&server.mx, "127.0.4.12", "<>", &unknown, &dsn_file, false);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("550 5.1.1"), "{t}");

    // 5. Any other domain: refused, the MX relays nothing.
    let out = swaks(
        &server.mx,
        "127.0.4.13",
        "spammer@example.org",
        "victim@example.com",
        &dsn_file,
        false,
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("550 5.7.1 <victim@example.com> Relay access denied"),
        "{t}"
    );

    let ev = events(dir.path(), &acct, &id);
    assert_eq!(
        ev.len(),
        4,
        "Send, Delivery, Bounce, Complaint — nothing else"
    );
}

//! Email feedback forwarding end to end (issue 4 item 5; spec D-112..D-116, E-58; DECISIONS
//! Q-75, Q-161, Q-162), on the real binary (`serve --dev`, capture mode): bounces and
//! complaints of the mailbox simulator are mailed to the sender as an RFC 3464 DSN or an
//! RFC 5965 ARF report and land in the dev inbox (`GET /_aws/ses`); with forwarding disabled
//! (v2 `PutEmailIdentityFeedbackAttributes`) and a configuration set whose enabled event
//! destination publishes BOUNCE, a bounce is not mailed — but a complaint is (the set does not
//! cover it), and so is a bounce of a message sent without the set (D-112).

mod common;
use common::wait_for;

use std::time::Duration;

use common::{call, cli_ok, http, Server};
use serde_json::{json, Value};
use sesame_mail::feedback::{parse, Report};

const SIM: &str = "simulator.amazonses.com";
/// The default `service_domain`.
const SD: &str = "sesame.localhost";

struct Env {
    dir: tempfile::TempDir,
    server: Server,
    acct: String,
    key: String,
    secret: String,
}

impl Env {
    fn call(&self, method: &str, path: &str, body: &str) -> Value {
        let (status, resp) = call(
            &self.server.http,
            &self.key,
            &self.secret,
            method,
            path,
            body,
        );
        assert_eq!(status, 200, "{method} {path}: {resp}");
        serde_json::from_str(&resp).unwrap_or(Value::Null)
    }

    fn send(&self, to: &str, set: Option<&str>) -> String {
        let mut body = json!({
            "FromEmailAddress": "Sender <sender@example.test>",
            "ReplyToAddresses": ["replies@example.test"],
            "Destination": {"ToAddresses": [to]},
            "Content": {"Simple": {"Subject": {"Data": "Forwarding test"},
                                   "Body": {"Text": {"Data": "Hello."}}}}
        });
        if let Some(s) = set {
            body["ConfigurationSetName"] = json!(s);
        }
        let v = self.call("POST", "/v2/email/outbound-emails", &body.to_string());
        v["MessageId"].as_str().unwrap().to_string()
    }

    fn events(&self, id: &str) -> Vec<String> {
        let out = cli_ok(
            self.dir.path(),
            &[
                "events",
                "--message-id",
                id,
                "--account",
                &self.acct,
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_type"].as_str().unwrap().to_string())
            .collect()
    }

    /// Dev-inbox messages addressed to `to`, oldest first.
    fn inbox_for(&self, to: &str) -> Vec<Value> {
        let addr = &self.server.http;
        let (status, body) = http(
            addr,
            &format!("GET /_aws/ses HTTP/1.1\r\nHost: {addr}\r\n"),
            "",
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["Destination"]["ToAddresses"] == json!([to]))
            .cloned()
            .collect()
    }
}

fn start() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let created: Value =
        serde_json::from_str(&cli_ok(dir.path(), &["account", "create", "--json"])).unwrap();
    let s = |k: &str| created[k].as_str().unwrap().to_string();
    let (acct, key, secret) = (s("account_id"), s("access_key_id"), s("secret_access_key"));
    cli_ok(dir.path(), &["account", "production", "--account", &acct]);
    let server = Server::start(dir.path(), &["--dev"], &[]);
    let env = Env {
        dir,
        server,
        acct,
        key,
        secret,
    };
    env.call(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    cli_ok(
        env.dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &env.acct,
            "example.test",
        ],
    );
    env
}

/// Waits until `id` has exactly the events `want`. A notification is queued before the events
/// it is about are committed, so from then on it is in the queue or already in the dev inbox.
fn settle(env: &Env, id: &str, want: &[&str]) {
    wait_for("the message's events", || {
        (env.events(id) == want).then_some(())
    });
}

/// The original message id each dev-inbox notification to `to` quotes, oldest first.
fn quoted_ids(env: &Env, to: &str) -> Vec<String> {
    env.inbox_for(to)
        .iter()
        .map(|m| {
            parse(m["RawData"].as_str().unwrap().as_bytes())
                .original_message_id
                .unwrap_or_default()
        })
        .collect()
}

/// Issue 4 item 5, Q-162: bounce and complaint notifications by email, and their absence when
/// forwarding is disabled and the message's configuration set publishes the feedback.
#[test]
fn bounces_and_complaints_are_mailed_to_the_sender() {
    let env = start();
    let sender = "sender@example.test";

    // 1. A hard bounce (E-79): a DSN to the sender (Q-161: the source; Reply-To unused).
    let first = env.send(&format!("bounce@{SIM}"), None);
    let id = first.clone();
    let notice = wait_for("the bounce notification", || {
        env.inbox_for(sender).into_iter().next()
    });
    assert_eq!(notice["Source"], format!("MAILER-DAEMON@{SD}"), "Q-75");
    assert_eq!(notice["Subject"], "Delivery Status Notification (Failure)");
    assert!(env.inbox_for("replies@example.test").is_empty());
    let raw = notice["RawData"].as_str().unwrap();
    assert!(
        raw.contains("\r\nAuto-Submitted: auto-replied\r\n"),
        "{raw}"
    );
    // Q-72: signed with the operator key `d=<SD>` only, never with the customer's key.
    let header = raw.split("\r\n\r\n").next().unwrap();
    let signers: Vec<&str> = header
        .split("DKIM-Signature:")
        .skip(1)
        .filter_map(|f| f.split("d=").nth(1))
        .filter_map(|d| d.split(';').next())
        .collect();
    assert_eq!(
        signers,
        vec![SD],
        "not signed with the customer's key: {raw}"
    );
    let fb = parse(raw.as_bytes());
    assert_eq!(
        fb.original_message_id,
        Some(format!("{id}@email.{SD}")),
        "the original headers, with the service Message-ID, are quoted"
    );
    let Report::Dsn(dsn) = fb.report else {
        panic!("not a DSN: {raw}")
    };
    assert_eq!(dsn.reporting_mta, Some(format!("dns; capture.{SD}")));
    assert_eq!(dsn.recipients.len(), 1);
    let r = &dsn.recipients[0];
    assert_eq!(r.final_recipient, Some(format!("bounce@{SIM}")));
    assert_eq!(r.action.as_deref(), Some("failed"));
    assert_eq!(r.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        r.diagnostic_code.as_deref(),
        Some("smtp; 550 5.1.1 user unknown")
    );
    settle(&env, &id, &["Send", "Bounce"]);
    // The notification is the operator's mail: no events, no quota used (the simulator
    // recipient is not counted either, E-78).
    let notice_id = notice["Id"].as_str().unwrap();
    assert!(env.events(notice_id).is_empty(), "no events of its own");
    let account = env.call("GET", "/v2/email/account", "");
    assert_eq!(
        account["SendQuota"]["SentLast24Hours"],
        json!(0.0),
        "{account}"
    );

    // 2. Forwarding disabled (v2: always allowed, Q-162) and a set whose enabled destination
    // publishes BOUNCE: the bounce is not mailed.
    env.call(
        "PUT",
        "/v2/email/identities/example.test/feedback",
        r#"{"EmailForwardingEnabled":false}"#,
    );
    let identity = env.call("GET", "/v2/email/identities/example.test", "");
    assert_eq!(identity["FeedbackForwardingStatus"], json!(false));
    env.call(
        "POST",
        "/v2/email/configuration-sets",
        r#"{"ConfigurationSetName":"bounce-events"}"#,
    );
    env.call(
        "POST",
        "/v2/email/configuration-sets/bounce-events/event-destinations",
        &json!({"EventDestinationName": "d", "EventDestination": {
            "Enabled": true, "MatchingEventTypes": ["BOUNCE", "SEND"],
            "SnsDestination": {"TopicArn": format!("arn:aws:sns:us-east-1:{}:events", env.acct)}}})
        .to_string(),
    );
    let suppressed_id = env.send(&format!("bounce@{SIM}"), Some("bounce-events"));
    settle(&env, &suppressed_id, &["Send", "Bounce"]);

    // 3. The same set does not publish complaints: a complaint is mailed anyway, as ARF.
    let id = env.send(&format!("complaint@{SIM}"), Some("bounce-events"));
    let notice = wait_for("the complaint notification", || {
        env.inbox_for(sender).into_iter().nth(1)
    });
    assert_eq!(
        notice["Source"],
        format!("complaints@us-east-1.{SD}"),
        "Q-75"
    );
    let fb = parse(notice["RawData"].as_str().unwrap().as_bytes());
    assert_eq!(fb.original_message_id, Some(format!("{id}@email.{SD}")));
    let Report::Arf(arf) = fb.report else {
        panic!("not an ARF report: {notice}")
    };
    assert_eq!(arf.feedback_type, "abuse");
    assert_eq!(arf.original_rcpt_to, [format!("complaint@{SIM}")]);
    settle(&env, &id, &["Send", "Delivery", "Complaint"]);

    // 4. D-112: a bounce of a message sent without the set has no other channel: mailed.
    let last = env.send(&format!("bounce@{SIM}"), None);
    settle(&env, &last, &["Send", "Bounce"]);
    let mailed = wait_for("three notifications", || {
        let ids = quoted_ids(&env, sender);
        (ids.len() >= 3).then_some(ids)
    });
    // The notification of step 2, had there been one, was queued before those of steps 3
    // and 4: it would be delivered by now. Give the delivery loop one more moment anyway.
    std::thread::sleep(Duration::from_millis(500));
    let mailed_now = quoted_ids(&env, sender);
    assert_eq!(mailed, mailed_now);
    let mut want = vec![
        format!("{first}@email.{SD}"),
        format!("{id}@email.{SD}"),
        format!("{last}@email.{SD}"),
    ];
    let mut got = mailed_now;
    want.sort();
    got.sort();
    assert_eq!(got, want, "step 2 ({suppressed_id}) mailed nothing");
}

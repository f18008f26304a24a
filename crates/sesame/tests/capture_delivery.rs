//! Capture-mode delivery end to end, on the real binary (`serve --dev`): a v2 `SendEmail` is
//! delivered into the dev inbox, served by LocalStack's `GET /_aws/ses`, DKIM-signed so that
//! dkimpy verifies it against the records `sesame identity dkim-records` prints (Q-89, Q-96);
//! a simulator send records Delivery and Bounce events (E-80, Q-125).

mod common;
use common::{dkimpy_verify, wait_for};

use std::collections::HashMap;

use common::{call, cli_ok, http, sesame, Server};

/// LocalStack's unauthenticated developer endpoint.
fn dev_inbox(addr: &str, method: &str, query: &str) -> (u16, String) {
    http(
        addr,
        &format!("{method} /_aws/ses{query} HTTP/1.1\r\nHost: {addr}\r\n"),
        "",
    )
}

fn send(addr: &str, key: &str, secret: &str, to: &[&str]) -> String {
    let body = serde_json::json!({
        "FromEmailAddress": "Sender <sender@example.test>",
        "Destination": {"ToAddresses": to},
        "Content": {"Simple": {
            "Subject": {"Data": "Capture test"},
            "Body": {"Text": {"Data": "Hello from the capture test."}, "Html": {"Data": "<p>Hello</p>"}}
        }}
    })
    .to_string();
    let (status, resp) = call(
        addr,
        key,
        secret,
        "POST",
        "/v2/email/outbound-emails",
        &body,
    );
    assert_eq!(status, 200, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    v["MessageId"].as_str().unwrap().to_string()
}

#[test]
fn send_is_captured_signed_and_served_like_localstack() {
    let dir = tempfile::tempdir().unwrap();
    let created: serde_json::Value =
        serde_json::from_str(&cli_ok(dir.path(), &["account", "create", "--json"])).unwrap();
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    cli_ok(dir.path(), &["account", "production", "--account", &acct]);

    let server = Server::start(dir.path(), &["--dev"], &[]);
    let addr = server.http.clone();
    let (status, body) = call(
        &addr,
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

    // 1. A real recipient: captured, signed, served by /_aws/ses.
    let id = send(&addr, &key, &secret, &["someone@example.net"]);
    let msg = wait_for("the captured message", || {
        let (status, body) = dev_inbox(&addr, "GET", &format!("?id={id}"));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["messages"].as_array().unwrap().first().cloned()
    });
    assert_eq!(msg["Id"], id.as_str());
    assert_eq!(msg["Region"], "us-east-1");
    assert_eq!(
        msg["Destination"]["ToAddresses"],
        serde_json::json!(["someone@example.net"])
    );
    assert_eq!(msg["Source"], "sender@example.test");
    assert_eq!(msg["Subject"], "Capture test");
    assert_eq!(
        msg["Body"]["text_part"].as_str().map(str::trim),
        Some("Hello from the capture test.")
    );
    assert_eq!(
        msg["Body"]["html_part"].as_str().map(str::trim),
        Some("<p>Hello</p>")
    );
    assert!(msg["Timestamp"].as_str().unwrap().len() == 19);
    let raw = msg["RawData"].as_str().unwrap().as_bytes().to_vec();
    assert!(raw.starts_with(b"DKIM-Signature:"));
    // The filter by Source (LocalStack's `email`) and the CLI see the same message.
    let (_, body) = dev_inbox(&addr, "GET", "?email=sender@example.test");
    assert!(body.contains(&id));
    let (_, body) = dev_inbox(&addr, "GET", "?email=other@example.test");
    assert_eq!(body, r#"{"messages":[]}"#);
    let listed = cli_ok(dir.path(), &["inbox", "list", "--json", "--account", &acct]);
    assert!(listed.contains(&id));
    let cli_raw = sesame(dir.path())
        .args(["inbox", "show", &id, "--raw"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(cli_raw, raw, "the CLI prints the exact captured bytes");

    // DKIM: dkimpy verifies with the records the operator publishes.
    let recs: serde_json::Value = serde_json::from_str(&cli_ok(
        dir.path(),
        &[
            "identity",
            "dkim-records",
            "--json",
            "--account",
            &acct,
            "example.test",
        ],
    ))
    .unwrap();
    let recs = recs.as_array().unwrap();
    assert_eq!(recs.len(), 6, "3 CNAMEs and the 3 TXT values behind them");
    let txt: HashMap<String, String> = recs
        .iter()
        .filter(|r| r["type"] == "TXT")
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut dns = HashMap::new();
    for r in recs.iter().filter(|r| r["type"] == "CNAME") {
        let target = r["value"].as_str().unwrap();
        dns.insert(r["name"].as_str().unwrap().to_string(), txt[target].clone());
    }
    match dkimpy_verify(dir.path(), &raw, &dns) {
        Some(ok) => assert!(ok, "dkimpy rejected the signature"),
        None => eprintln!("\n*** SKIPPED: dkimpy (python3 -m pip install dkimpy) is not installed; the DKIM signature was not verified ***\n"),
    }

    // DELETE ?id= removes exactly that message (LocalStack semantics).
    let (status, _) = dev_inbox(&addr, "DELETE", &format!("?id={id}"));
    assert_eq!(status, 204);
    let (_, body) = dev_inbox(&addr, "GET", &format!("?id={id}"));
    assert_eq!(body, r#"{"messages":[]}"#);

    // 2. The mailbox simulator: Delivery for success@, Bounce Permanent/General for bounce@.
    let id = send(
        &addr,
        &key,
        &secret,
        &[
            "success@simulator.amazonses.com",
            "bounce@simulator.amazonses.com",
        ],
    );
    let events = wait_for("simulator events", || {
        let out = cli_ok(
            dir.path(),
            &["events", "--message-id", &id, "--account", &acct, "--json"],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let events = v.as_array().unwrap().clone();
        (events.len() >= 3).then_some(events)
    });
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Send", "Delivery", "Bounce"]);
    assert_eq!(
        events[1]["data"]["delivery"]["recipients"],
        serde_json::json!(["success@simulator.amazonses.com"])
    );
    let bounce = &events[2]["data"]["bounce"];
    assert_eq!(bounce["bounceType"], "Permanent");
    assert_eq!(bounce["bounceSubType"], "General");
    assert_eq!(
        bounce["bouncedRecipients"][0]["emailAddress"],
        "bounce@simulator.amazonses.com"
    );
    assert_eq!(
        bounce["bouncedRecipients"][0]["diagnosticCode"],
        "smtp; 550 5.1.1 user unknown"
    );
    // Nothing of the simulator reaches the dev inbox.
    let (_, body) = dev_inbox(&addr, "GET", &format!("?id={id}"));
    assert_eq!(body, r#"{"messages":[]}"#);
}

/// Without `--dev` and with the default `smtp` mode, the dev inbox does not exist.
#[test]
fn dev_inbox_is_absent_outside_capture_mode() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    let (status, _) = dev_inbox(&server.http, "GET", "");
    assert_eq!(status, 404);
}

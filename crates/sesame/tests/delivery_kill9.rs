//! Issue 4, "Done when": `kill -9` during the delivery of 10,000 queued messages; after the
//! restart every message is delivered (at-least-once), none is lost, and duplicates are
//! counted and reported.
//!
//! 1. `delivery_mode = hold`: 10,000 messages are accepted (200 × v2 `SendBulkEmail` with 50
//!    destinations each) and stay queued.
//! 2. Restart in `smtp` mode against knot (MX of bulk.test → the aiosmtpd sink); once the sink
//!    holds at least 2,000 messages, SIGKILL.
//! 3. Restart; wait until the queue is empty. Every accepted MessageId must be in the sink
//!    (the delivered `Message-ID` is `<MessageId@email.<service_domain>>`, Q-113).
//!
//! Addresses: 127.0.3.60 (DNS), 127.0.3.61 (sink).

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{call, cli_ok, create_account, Server};
use serde_json::{json, Value};
use sesame_testpeers::{start_or_skip, zone_text, Knot, Sink, SinkOptions};

const MESSAGES: usize = 10_000;
const PER_CALL: usize = 50;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The delivered Message-ID header's SES id.
fn delivered_id(eml: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(eml);
    let head = text.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        if !name.eq_ignore_ascii_case("message-id") {
            return None;
        }
        let v = value.trim().trim_start_matches('<');
        v.split_once('@').map(|(id, _)| id.to_string())
    })
}

#[test]
fn kill9_during_delivery_of_10000_loses_nothing() {
    let knot = start_or_skip!(Knot::start(
        sa("127.0.3.60:53"),
        &[(
            "bulk.test",
            &zone_text("bulk.test", "@ MX 10 mx\nmx A 127.0.3.61")
        )]
    ));
    let sink = start_or_skip!(Sink::start(sa("127.0.3.61:25"), SinkOptions::default()));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let acct = creds.account_id.clone();
    cli_ok(dir.path(), &["account", "production", "--account", &acct]);
    cli_ok(
        dir.path(),
        &[
            "account",
            "set-quota",
            "--account",
            &acct,
            "--max-24h-send",
            "-1",
            "--max-send-rate",
            "1000000",
        ],
    );
    let dns = knot.addr().to_string();
    let env = |mode: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("SESAME_DELIVERY_MODE", mode.to_string()),
            ("SESAME_RESOLVER", dns.clone()),
            ("SESAME_MX_ADDR", "off".to_string()),
            ("SESAME_DELIVERY_RETRY_BASE_SECONDS", "1".to_string()),
        ]
    };
    let start = |mode: &'static str| {
        let e = env(mode);
        let refs: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Server::start(dir.path(), &["--dev"], &refs)
    };

    // 1. Accept 10,000 messages while delivery holds them.
    let mut server = start("hold");
    let (k, s) = (&creds.access_key_id, &creds.secret_access_key);
    let (status, body) = call(
        &server.http,
        k,
        s,
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
    let (status, body) = call(
        &server.http,
        k,
        s,
        "POST",
        "/v2/email/templates",
        &json!({"TemplateName": "bulk", "TemplateContent": {
            "Subject": "Bulk {{n}}", "Text": "Message {{n}} of the kill -9 test."}})
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let mut accepted: Vec<String> = Vec::with_capacity(MESSAGES);
    for call_no in 0..MESSAGES / PER_CALL {
        let entries: Vec<Value> = (0..PER_CALL)
            .map(|i| {
                let n = call_no * PER_CALL + i;
                json!({
                    "Destination": {"ToAddresses": [format!("r{n}@bulk.test")]},
                    "ReplacementEmailContent": {"ReplacementTemplate": {
                        "ReplacementTemplateData": json!({"n": n}).to_string()}}
                })
            })
            .collect();
        let req = json!({
            "FromEmailAddress": "sender@example.test",
            "DefaultContent": {"Template": {"TemplateName": "bulk", "TemplateData": "{\"n\":0}"}},
            "BulkEmailEntries": entries,
        });
        let (status, body) = call(
            &server.http,
            k,
            s,
            "POST",
            "/v2/email/outbound-bulk-emails",
            &req.to_string(),
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        for r in v["BulkEmailEntryResults"].as_array().unwrap() {
            assert_eq!(r["Status"], "SUCCESS", "{r}");
            accepted.push(r["MessageId"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(accepted.len(), MESSAGES);
    drop(server);

    // 2. Deliver; SIGKILL in the middle.
    server = start("smtp");
    let t0 = Instant::now();
    let mid = loop {
        let n = std::fs::read_dir(sink.out_dir()).map_or(0, |d| d.count()) / 2;
        if n >= 2_000 {
            break n;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "only {n} delivered after 300 s; sink log:\n{}",
            sink.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    server.child.kill().unwrap(); // SIGKILL
    let _ = server.child.wait();
    let killed_at = t0.elapsed();
    drop(server);
    eprintln!("killed -9 after {mid}+ deliveries ({killed_at:?})");

    // 3. Restart and drain.
    let server = start("smtp");
    let t1 = Instant::now();
    let (ids, counts) = loop {
        let msgs = sink.messages();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for m in &msgs {
            if let Some(id) = delivered_id(&m.eml) {
                *counts.entry(id).or_default() += 1;
            }
        }
        let ids: HashSet<String> = counts.keys().cloned().collect();
        if accepted.iter().all(|a| ids.contains(a)) {
            break (ids, counts);
        }
        assert!(
            t1.elapsed() < Duration::from_secs(600),
            "after the restart only {} of {MESSAGES} distinct messages arrived",
            ids.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let lost: Vec<&String> = accepted.iter().filter(|a| !ids.contains(*a)).collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    let duplicated_messages = counts.values().filter(|c| **c > 1).count();
    eprintln!(
        "kill -9 during delivery: {MESSAGES} accepted, {} delivered at least once, {duplicates} \
         duplicate deliveries ({duplicated_messages} messages delivered more than once: \
         at-least-once, the transactions in flight at the kill)",
        ids.len()
    );
    // The queue drains completely (finishing is recorded after the sink's 250).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let q: Value =
            serde_json::from_str(&cli_ok(dir.path(), &["queue", "list", "--json"])).unwrap();
        let n = q
            .as_array()
            .map(|a| a.len())
            .or_else(|| q["messages"].as_array().map(|a| a.len()))
            .unwrap_or(usize::MAX);
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "queue not empty: {q}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);
}

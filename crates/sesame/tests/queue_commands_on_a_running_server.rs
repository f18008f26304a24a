//! `sesame queue list/show/retry/delete` and `GET /metrics` against a running `sesame serve`
//! (issue 4 item 7), on the real binary with its SQLite store.
//!
//! The queue test runs the server with `SESAME_DELIVERY_MODE=hold` (accepted mail stays queued),
//! and plays a delivery node itself through the same `Store` port a real one uses to put
//! messages in the states delivery leaves them in: it claims one message and defers it with a
//! `DeliveryDelay` event (attempted, retry in an hour), and claims another and keeps the lease
//! (in delivery right now). The metrics test runs in capture mode, where the mailbox simulator
//! produces Delivery, Bounce and Complaint events, and checks the per-destination counters.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{call, cli_ok, http, sesame, Server};
use sesame_model::{EventRecord, Store};

const NODE: &str = "test-node";
const HOUR: i64 = 3_600_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn send(addr: &str, key: &str, secret: &str, to: &[&str]) -> String {
    let body = serde_json::json!({
        "FromEmailAddress": "sender@example.test",
        "Destination": {"ToAddresses": to},
        "Content": {"Simple": {
            "Subject": {"Data": "Queue test"},
            "Body": {"Text": {"Data": "Hello from the queue test."}}
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

/// A CLI command that must fail; returns its stderr.
fn cli_err(dir: &Path, args: &[&str]) -> String {
    let out = sesame(dir).args(args).output().unwrap();
    assert!(
        !out.status.success(),
        "sesame {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&cli_ok(dir, args)).unwrap()
}

fn listed_ids(v: &serde_json::Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect()
}

/// The sample lines of an OpenMetrics exposition: series (name and labels) → value.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn scrape(addr: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

#[test]
fn queue_commands_and_metrics_on_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = json(d, &["account", "create", "--json"]);
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    cli_ok(d, &["account", "production", "--account", &acct]);
    let server = Server::start(d, &[], &[("SESAME_DELIVERY_MODE", "hold")]);
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
        d,
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &acct,
            "example.test",
        ],
    );

    // Three messages, accepted a few milliseconds apart so the queue order is theirs.
    let mut ids = Vec::new();
    for to in [
        &["a@dest-one.test", "b@dest-two.test"][..],
        &["c@dest-one.test"][..],
        &["d@dest-three.test"][..],
    ] {
        ids.push(send(&addr, &key, &secret, to));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (deferred, busy, idle) = (ids[0].clone(), ids[1].clone(), ids[2].clone());

    // Play a delivery node through the Store port: defer the first, hold the second.
    let url = format!("sqlite://{}", d.join("sesame.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(sesame_store::SqlStore::connect(&url)).unwrap();
    let t = now_ms();
    rt.block_on(async {
        let first = store.claim_messages(NODE, t, HOUR, 1).await.unwrap();
        assert_eq!(first[0].message_id, deferred);
        let delay = EventRecord {
            event_id: "00000000-0000-4000-8000-000000000001".into(),
            scope: first[0].scope.clone(),
            message_id: deferred.clone(),
            event_type: "DeliveryDelay".into(),
            timestamp: t,
            data: serde_json::json!({"eventType": "DeliveryDelay", "deliveryDelay": {
                "delayType": "TransientCommunicationFailure",
                "delayedRecipients": [{"emailAddress": "a@dest-one.test", "status": "4.4.1",
                    "diagnosticCode": "smtp; 421 4.4.1 dest-one.test: connection timed out"}]}}),
        };
        store
            .retry_message(NODE, &deferred, &first[0].recipients, t + HOUR, &[delay])
            .await
            .unwrap();
        let second = store.claim_messages(NODE, t, HOUR, 1).await.unwrap();
        assert_eq!(second[0].message_id, busy);
    });

    // --- list ---
    let all = json(d, &["queue", "list", "--json"]);
    // Ordered by next attempt: the held one and the idle one are due, the deferred one is not.
    assert_eq!(
        listed_ids(&all),
        vec![busy.clone(), idle.clone(), deferred.clone()]
    );
    assert_eq!(all["next_token"], serde_json::Value::Null);
    let by_id: HashMap<String, serde_json::Value> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["message_id"].as_str().unwrap().to_string(), m.clone()))
        .collect();
    let m = &by_id[&deferred];
    assert_eq!(m["account_id"], acct.as_str());
    assert_eq!(m["region"], "us-east-1");
    assert_eq!(
        m["recipients"],
        serde_json::json!(["a@dest-one.test", "b@dest-two.test"])
    );
    assert_eq!(m["attempts"], 1);
    assert_eq!(m["in_delivery"], false);
    assert_eq!(m["lease_owner"], serde_json::Value::Null);
    assert_eq!(
        m["last_error"],
        "smtp; 421 4.4.1 dest-one.test: connection timed out"
    );
    assert!(m["mail_from"].as_str().unwrap().starts_with(&deferred));
    let b = &by_id[&busy];
    assert_eq!(
        (b["in_delivery"].clone(), b["lease_owner"].clone()),
        (true.into(), NODE.into())
    );
    assert_eq!(b["attempts"], 0);
    assert_eq!(b["last_error"], serde_json::Value::Null);

    // Pages: 2, then the rest, then nothing.
    let page1 = json(d, &["queue", "list", "--json", "--limit", "2"]);
    assert_eq!(listed_ids(&page1), vec![busy.clone(), idle.clone()]);
    let token = page1["next_token"].as_str().unwrap().to_string();
    let page2 = json(
        d,
        &[
            "queue",
            "list",
            "--json",
            "--limit",
            "2",
            "--next-token",
            &token,
        ],
    );
    assert_eq!(listed_ids(&page2), vec![deferred.clone()]);
    assert_eq!(page2["next_token"], serde_json::Value::Null);
    // Filters.
    let mine = json(d, &["queue", "list", "--json", "--account", &acct]);
    assert_eq!(listed_ids(&mine).len(), 3);
    let none = json(d, &["queue", "list", "--json", "--account", "999999999999"]);
    assert!(listed_ids(&none).is_empty());
    let west = json(d, &["queue", "list", "--json", "--region", "eu-west-1"]);
    assert!(listed_ids(&west).is_empty());
    assert!(cli_err(d, &["queue", "list", "--next-token", "garbage"]).contains("--next-token"));
    // The table.
    let table = cli_ok(d, &["queue", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("MESSAGE ID"), "{table}");
    assert!(lines[0].ends_with("LAST ERROR"), "{table}");
    assert!(
        lines[1].starts_with(&busy) && lines[1].contains("in delivery"),
        "{table}"
    );
    assert!(
        lines[2].starts_with(&idle) && lines[2].contains("due now"),
        "{table}"
    );
    assert!(lines[3].starts_with(&deferred), "{table}");
    assert!(
        lines[3].contains(" in 59m") || lines[3].contains(" in 1h00m"),
        "{table}"
    );
    assert!(lines[3].contains("a@dest-one.test"), "{table}");
    assert!(lines[3].ends_with("smtp; 421 4.4.1 dest-one.test: connection timed out"));
    assert_eq!(
        lines[4],
        "3 shown; 3 queued in all (1 deferred, 1 in delivery)"
    );

    // --- show ---
    let shown = json(d, &["queue", "show", &deferred, "--json"]);
    assert_eq!(shown["message_id"], deferred.as_str());
    assert_eq!(shown["meta"]["mail"]["message_id"], deferred.as_str());
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["Send", "DeliveryDelay"]);
    let text = cli_ok(d, &["queue", "show", &busy]);
    assert!(text.contains(&format!("Message-Id:    {busy}")), "{text}");
    assert!(text.contains("Subject:       Queue test"), "{text}");
    assert!(
        text.contains("Source:        sender@example.test"),
        "{text}"
    );
    assert!(
        text.contains("Recipients:    1 still to deliver\n  c@dest-one.test\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("Lease:         held by {NODE} until ")),
        "{text}"
    );
    assert!(text.contains("Events:\n"), "{text}");
    assert!(cli_err(d, &["queue", "show", "no-such-message"]).contains("is not in the queue"));

    // --- retry ---
    assert_eq!(
        cli_ok(d, &["queue", "retry", &deferred]).trim(),
        format!("message {deferred} will be attempted now")
    );
    assert_eq!(
        cli_ok(d, &["queue", "retry", &deferred]).trim(),
        format!(
            "message {deferred} is already due: it is attempted as soon as a delivery slot is free"
        )
    );
    assert_eq!(
        cli_ok(d, &["queue", "retry", &busy]).trim(),
        format!("message {busy} is being delivered right now: not rescheduled")
    );
    assert!(cli_err(d, &["queue", "retry", "no-such-message"]).contains("is not in the queue"));
    assert_eq!(
        cli_ok(d, &["queue", "retry", "--all"]).trim(),
        "0 message(s) rescheduled to be attempted now (messages being delivered keep their schedule)"
    );
    let after = json(d, &["queue", "show", &deferred, "--json"]);
    assert_eq!(after["attempts"], 1, "retrying keeps the attempt count");
    let held = json(d, &["queue", "show", &busy, "--json"]);
    assert_eq!(held["lease_owner"], NODE, "retry never takes a live lease");

    // --- delete ---
    let refused = cli_err(d, &["queue", "delete", &busy]);
    assert!(
        refused.contains("is being delivered right now"),
        "{refused}"
    );
    assert!(refused.contains("--force"), "{refused}");
    let forced = cli_ok(d, &["queue", "delete", &busy, "--force"]);
    assert!(
        forced.starts_with(&format!("deleted message {busy} from the queue")),
        "{forced}"
    );
    assert!(forced.contains(&format!("a delivery attempt by {NODE} was in progress")));
    let gone = cli_ok(d, &["queue", "delete", &idle]);
    assert!(
        gone.starts_with(&format!(
            "deleted message {idle} from the queue (account {acct}, region us-east-1): 1 recipient(s) will not get it; no event is recorded."
        )),
        "{gone}"
    );
    assert!(cli_err(d, &["queue", "delete", &idle]).contains("is not in the queue"));
    assert_eq!(
        listed_ids(&json(d, &["queue", "list", "--json"])),
        vec![deferred.clone()]
    );
    // Nothing was recorded for the deleted message; its tombstones wait for the server's sweep
    // (after the grace that protects a body still being written).
    let events = json(d, &["events", "--message-id", &idle, "--json"]);
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["Send"]);
    let mut tombs = rt.block_on(store.queue_tombstones(i64::MAX, 10)).unwrap();
    tombs.sort();
    let mut want = vec![busy.clone(), idle.clone()];
    want.sort();
    assert_eq!(tombs, want);
    // The holder of the forced-away lease can no longer finish the message.
    assert_eq!(
        rt.block_on(store.finish_message(NODE, &busy, &[])),
        Err(sesame_model::StoreError::NotFound)
    );

    // --- /metrics: no SigV4, OpenMetrics, queue gauges from the store ---
    std::thread::sleep(std::time::Duration::from_millis(1_100)); // past the 1 s gauge cache
    let (status, content_type, text) = scrape(&addr);
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let samples = parse_exposition(&text);
    assert_eq!(samples["sesame_queue_depth"], 1.0, "{text}");
    assert_eq!(samples["sesame_queue_deferred"], 1.0, "{text}");
    assert_eq!(samples["sesame_queue_in_delivery"], 0.0, "{text}");
    let age = samples["sesame_queue_oldest_age_seconds"];
    assert!((0.0..600.0).contains(&age), "{age}");
    assert!(text.contains("# TYPE sesame_queue_depth gauge\n"), "{text}");
    // The test's own DeliveryDelay went straight to the database, not through the server:
    // nothing was delivered, deferred or bounced by it, so no per-destination series yet.
    assert!(!text.contains("sesame_deliveries_total"), "{text}");
    assert!(!text.contains("sesame_deferrals_total"), "{text}");
    // Only GET is the metrics endpoint; other methods get the SES answer to an unsigned call.
    let (status, _) = http(
        &addr,
        &format!("POST /metrics HTTP/1.1\r\nHost: {addr}\r\n"),
        "",
    );
    assert_eq!(status, 403);
    drop(server);
}

/// The outcome counters follow the events the server records (spec G; E-80, Q-125): one
/// message to a real recipient and to the simulator's success, bounce and complaint addresses,
/// delivered in capture mode.
#[test]
fn metrics_count_delivery_outcomes_per_destination() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = json(d, &["account", "create", "--json"]);
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    cli_ok(d, &["account", "production", "--account", &acct]);
    let server = Server::start(d, &[], &[("SESAME_DELIVERY_MODE", "capture")]);
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
        d,
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &acct,
            "example.test",
        ],
    );
    let id = send(
        &addr,
        &key,
        &secret,
        &[
            "someone@Example.NET",
            "success@simulator.amazonses.com",
            "bounce@simulator.amazonses.com",
            "complaint@simulator.amazonses.com",
        ],
    );
    // Delivered (and so counted) once the message has left the queue.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while cli_ok(d, &["queue", "list", "--json"]).contains(&id) {
        assert!(std::time::Instant::now() < deadline, "still queued");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, _, text) = scrape(&addr);
    assert_eq!(status, 200, "{text}");
    let series = parse_exposition(&text);
    // Q-175: every committed event counts once in `ses_events_total`; one message, one Send.
    assert!(
        series
            .iter()
            .any(|(s, v)| s == r#"ses_events_total{event_type="Send"}"# && *v == 1.0),
        "{text}"
    );
    let mut outcomes: Vec<(String, f64)> = series
        .into_iter()
        .filter(|(series, _)| {
            ["deliveries", "deferrals", "bounces", "complaints"]
                .iter()
                .any(|m| series.starts_with(&format!("sesame_{m}_total")))
        })
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    let want: Vec<(String, f64)> = [
        (
            r#"sesame_bounces_total{destination="simulator.amazonses.com",type="Permanent"}"#,
            1.0,
        ),
        (
            r#"sesame_complaints_total{destination="simulator.amazonses.com"}"#,
            1.0,
        ),
        (r#"sesame_deliveries_total{destination="example.net"}"#, 1.0),
        (
            r#"sesame_deliveries_total{destination="simulator.amazonses.com"}"#,
            2.0,
        ),
    ]
    .into_iter()
    .map(|(s, v)| (s.to_string(), v))
    .collect();
    assert_eq!(outcomes, want, "{text}");
    drop(server);
}

//! `remoteMtaIp` end to end (spec G-48, G-60, G-61; DECISIONS Q-157), on the real binary in
//! `delivery_mode = smtp` with real peers on loopback: knot as the recipient domain's DNS, the
//! scripted aiosmtpd sink as its MX (`alice@` accepted, `rcpt-550@` refused at RCPT), and a
//! plain HTTP endpoint subscribed to an SNS topic through the SNS Query API (the signed
//! `SubscriptionConfirmation` is confirmed by fetching its `SubscribeURL`).
//!
//! The topic is both the identity's Delivery and Bounce notification topic (v1
//! `SetIdentityNotificationTopic`) and the SNS event destination of the message's
//! configuration set, so one delivery attempt yields four SNS messages on it: the Delivery and
//! the Bounce as identity notifications — `delivery.remoteMtaIp` / `bounce.remoteMtaIp` equal
//! to the sink's address — and as event records, which never show it.
//!
//! Addresses: 127.0.16.0/24 (other suites use other ranges).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::Duration;

use common::{amz_now, call, cli_ok, create_account, http, Creds, Server};
use serde_json::Value;
use sesame_testpeers::{start_or_skip, zone_text, Knot, Sink, SinkOptions};

const SINK: &str = "127.0.16.3";

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Percent-encodes a form value (RFC 3986 unreserved characters kept).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A SigV4-signed Query-protocol call (`POST /`, form body) to `service` (`sns` or `ses`).
fn query(server: &Server, c: &Creds, service: &str, params: &[(&str, &str)]) -> String {
    let body: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let body = body.join("&");
    let addr = &server.http;
    let ts = amz_now();
    let ct = "application/x-www-form-urlencoded; charset=utf-8";
    let headers = vec![
        ("content-type".to_string(), ct.to_string()),
        ("host".to_string(), addr.to_string()),
        ("x-amz-date".to_string(), ts.clone()),
    ];
    let req = sesame_sigv4::sigv4::Request {
        method: "POST",
        raw_path: "/",
        raw_query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let signed: Vec<String> = vec!["content-type".into(), "host".into(), "x-amz-date".into()];
    let auth = sesame_sigv4::sigv4::sign(
        &req,
        &c.access_key_id,
        &c.secret_access_key,
        "us-east-1",
        service,
        &ts,
        &signed,
    );
    let (status, resp) = http(
        addr,
        &format!("POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nContent-Type: {ct}\r\nAuthorization: {auth}\r\n"),
        &body,
    );
    assert_eq!(status, 200, "{service} {params:?}: {resp}");
    resp
}

fn xml_text<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    &xml[start..end]
}

/// A plain HTTP endpoint on 127.0.16.1: every POST body (JSON) goes to the channel, answered
/// `200`.
fn endpoint() -> (String, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.16.1:0").unwrap();
    let url = format!("http://{}/sns", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                let _ = tx.send(v);
            }
        }
    });
    (url, rx)
}

/// Confirms the subscription whose `SubscriptionConfirmation` reaches `rx`.
fn confirm(server: &Server, rx: &mpsc::Receiver<Value>) {
    let m = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a SubscriptionConfirmation");
    assert_eq!(m["Type"], "SubscriptionConfirmation", "{m}");
    let url = m["SubscribeURL"].as_str().unwrap();
    let path = url.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let (status, body) = http(
        &server.http,
        &format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", server.http),
        "",
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn delivery_and_bounce_notifications_carry_the_sinks_ip_event_records_never() {
    let rcpt = zone_text("rcpt.test", &format!("@ MX 10 mx\nmx A {SINK}"));
    let knot = start_or_skip!(Knot::start(sa("127.0.16.10:53"), &[("rcpt.test", &rcpt)]));
    let sink = start_or_skip!(Sink::start(
        sa(&format!("{SINK}:25")),
        SinkOptions::default()
    ));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let acct = creds.account_id.clone();
    cli_ok(dir.path(), &["account", "production", "--account", &acct]);
    let dns = knot.addr().to_string();
    let server = Server::start(
        dir.path(),
        &[],
        &[
            ("SESAME_DELIVERY_MODE", "smtp"),
            ("SESAME_RESOLVER", &dns),
            ("SESAME_SERVICE_DOMAIN", "platform.test"),
        ],
    );
    let sender = "sender@example.test";
    let (status, body) = call(
        &server.http,
        &creds.access_key_id,
        &creds.secret_access_key,
        "POST",
        "/v2/email/identities",
        &format!(r#"{{"EmailIdentity":"{sender}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    cli_ok(
        dir.path(),
        &["identity", "verify", "--force", "--account", &acct, sender],
    );

    // The topic, its confirmed HTTP subscriber, and both roles of the topic.
    let (url, rx) = endpoint();
    let created = query(
        &server,
        &creds,
        "sns",
        &[("Action", "CreateTopic"), ("Name", "feedback")],
    );
    let topic = xml_text(&created, "TopicArn").to_string();
    query(
        &server,
        &creds,
        "sns",
        &[
            ("Action", "Subscribe"),
            ("TopicArn", &topic),
            ("Protocol", "http"),
            ("Endpoint", &url),
        ],
    );
    confirm(&server, &rx);
    for t in ["Delivery", "Bounce"] {
        query(
            &server,
            &creds,
            "ses",
            &[
                ("Action", "SetIdentityNotificationTopic"),
                ("Identity", sender),
                ("NotificationType", t),
                ("SnsTopic", &topic),
            ],
        );
    }
    let v2 = |path: &str, body: Value| {
        let (status, resp) = call(
            &server.http,
            &creds.access_key_id,
            &creds.secret_access_key,
            "POST",
            path,
            &body.to_string(),
        );
        assert_eq!(status, 200, "{path}: {resp}");
        serde_json::from_str::<Value>(&resp).unwrap_or(Value::Null)
    };
    v2(
        "/v2/email/configuration-sets",
        serde_json::json!({"ConfigurationSetName": "cs"}),
    );
    v2(
        "/v2/email/configuration-sets/cs/event-destinations",
        serde_json::json!({"EventDestinationName": "sns", "EventDestination": {
            "Enabled": true, "MatchingEventTypes": ["DELIVERY", "BOUNCE"],
            "SnsDestination": {"TopicArn": topic}}}),
    );

    // One message, one SMTP transaction: alice@ accepted, rcpt-550@ refused at RCPT.
    let sent = v2(
        "/v2/email/outbound-emails",
        serde_json::json!({
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": ["alice@rcpt.test", "rcpt-550@rcpt.test"]},
            "Content": {"Simple": {"Subject": {"Data": "Hello"},
                                   "Body": {"Text": {"Data": "hello"}}}},
            "ConfigurationSetName": "cs"}),
    );
    let id = sent["MessageId"].as_str().unwrap().to_string();
    let got = sink.wait_messages(1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "sink log:\n{}", sink.log());

    // Four SNS notifications on the topic: 2 notifications, 2 event records.
    let mut notifications = std::collections::BTreeMap::new();
    let mut records = std::collections::BTreeMap::new();
    while notifications.len() < 2 || records.len() < 2 {
        let m = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("notifications {notifications:?}, records {records:?}"));
        assert_eq!(m["Type"], "Notification", "{m}");
        assert_eq!(m["TopicArn"], topic.as_str());
        let msg: Value = serde_json::from_str(m["Message"].as_str().unwrap()).unwrap();
        assert_eq!(msg["mail"]["messageId"], id.as_str());
        if let Err(errs) = sesame_events::shape::check(&msg) {
            panic!("not the spec's shape: {errs:#?}\n{msg:#}");
        }
        match (msg.get("notificationType"), msg.get("eventType")) {
            (Some(t), None) => notifications.insert(t.as_str().unwrap().to_string(), msg),
            (None, Some(t)) => records.insert(t.as_str().unwrap().to_string(), msg),
            _ => panic!("{msg}"),
        };
    }
    // G-61: the notifications name the MTA the message was handed to (Delivery) or refused
    // by (Bounce): the sink.
    let d = &notifications["Delivery"]["delivery"];
    assert_eq!(d["remoteMtaIp"], SINK, "{d}");
    assert_eq!(d["recipients"], serde_json::json!(["alice@rcpt.test"]));
    let b = &notifications["Bounce"]["bounce"];
    assert_eq!(b["remoteMtaIp"], SINK, "{b}");
    assert_eq!(
        b["bouncedRecipients"][0]["emailAddress"],
        "rcpt-550@rcpt.test"
    );
    assert!(notifications["Delivery"]["mail"].get("tags").is_none());
    // G-60: the event records of the same events never show it.
    assert!(records["Delivery"]["delivery"].get("remoteMtaIp").is_none());
    assert!(records["Bounce"]["bounce"].get("remoteMtaIp").is_none());
    assert_eq!(
        records["Delivery"]["mail"]["tags"]["ses:configuration-set"],
        serde_json::json!(["cs"])
    );

    // The operator view: `sesame events --json` shows the event record as `data` and the
    // address beside it.
    let ev: Value = serde_json::from_str(&cli_ok(
        dir.path(),
        &["events", "--json", "--message-id", &id],
    ))
    .unwrap();
    for e in ev.as_array().unwrap() {
        match e["event_type"].as_str().unwrap() {
            "Delivery" | "Bounce" => {
                assert_eq!(e["remote_mta_ip"], SINK, "{e}");
                assert!(!e["data"].to_string().contains("remoteMtaIp"), "{e}");
            }
            _ => assert!(e.get("remote_mta_ip").is_none(), "{e}"),
        }
    }
    drop(server);
}

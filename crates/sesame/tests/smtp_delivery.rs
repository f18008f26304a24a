//! Real delivery end to end (issue 4, "Done when"), on the real binary in `delivery_mode =
//! smtp`, with real peers on loopback (crate `sesame-testpeers`): knot as the authoritative DNS
//! of the recipient domains (Sesame's `SESAME_RESOLVER` points at it), a real Postfix as
//! rcpt1.test's MX, and the scripted aiosmtpd sink as other domains' MX.
//!
//! - a message sent through the API arrives in Postfix's Maildir over STARTTLS, its DKIM
//!   signature verifies with dkimpy through DNS, and its Delivery event has G-48's fields;
//! - a 4xx then 2xx gives DeliveryDelay then Delivery (G-53, Q-110); a `550 5.1.1` gives a
//!   Permanent/General bounce (G-44) and an account suppression-list entry (Q-188);
//! - a DSN mailed back later to the VERP address gives a Bounce for that message and recipient
//!   (Q-166);
//! - with `TlsPolicy = REQUIRE` and a receiver without STARTTLS nothing is sent in clear; the
//!   message is delayed, then bounces `Transient` when the window ends (Q-111).
//!
//! Addresses: 127.0.3.0/24 (other suites use other ranges).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{call, cli_ok, create_account, Creds, Server};
use serde_json::Value;
use sesame_testpeers::{start_or_skip, zone_text, Knot, PostfixMx, Sink, SinkOptions};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The recipient zones: rcpt1.test → Postfix, rcpt2.test → TLS sink, plain.test → sink without
/// STARTTLS, and example.test (the sender's domain, DKIM keys added at runtime).
fn knot(dns: &str) -> Result<Knot, sesame_testpeers::PeerError> {
    let rcpt1 = zone_text("rcpt1.test", "@ MX 10 mx\nmx A 127.0.3.2");
    let rcpt2 = zone_text("rcpt2.test", "@ MX 10 mx\nmx A 127.0.3.3");
    let plain = zone_text("plain.test", "@ MX 10 mx\nmx A 127.0.3.4");
    let example = zone_text("example.test", "@ A 127.0.3.1");
    Knot::start(
        sa(dns),
        &[
            ("rcpt1.test", &rcpt1),
            ("rcpt2.test", &rcpt2),
            ("plain.test", &plain),
            ("example.test", &example),
        ],
    )
}

struct Env {
    dir: tempfile::TempDir,
    creds: Creds,
    server: Server,
}

/// A production account with the verified domain example.test (Easy DKIM, RSA-2048), whose
/// DKIM public keys are published in knot directly at `<token>._domainkey.example.test`
/// (DECISIONS Q-65 (c), until Sesame serves its own zone).
fn start_sesame(knot: &Knot, extra_env: &[(&str, &str)]) -> Env {
    let dns = knot.addr().to_string();
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &creds.account_id],
    );
    let mut env = vec![
        ("SESAME_DELIVERY_MODE", "smtp"),
        ("SESAME_RESOLVER", &dns),
        ("SESAME_MX_ADDR", "off"),
        ("SESAME_DELIVERY_RETRY_BASE_SECONDS", "1"),
        ("SESAME_SERVICE_DOMAIN", "platform.test"),
    ];
    env.extend_from_slice(extra_env);
    let server = Server::start(dir.path(), &["--dev"], &env);
    let (status, body) = call(
        &server.http,
        &creds.access_key_id,
        &creds.secret_access_key,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test","DkimSigningAttributes":{"NextSigningKeyLength":"RSA_2048_BIT"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    cli_ok(
        dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &creds.account_id,
            "example.test",
        ],
    );
    publish_dkim(dir.path(), &creds.account_id, knot);
    Env { dir, creds, server }
}

/// Publishes the identity's public keys as TXT records in knot (split in ≤255-byte strings).
fn publish_dkim(dir: &Path, account: &str, knot: &Knot) {
    let recs: Value = serde_json::from_str(&cli_ok(
        dir,
        &[
            "identity",
            "dkim-records",
            "--json",
            "--account",
            account,
            "example.test",
        ],
    ))
    .unwrap();
    let recs = recs.as_array().unwrap();
    for cname in recs.iter().filter(|r| r["type"] == "CNAME") {
        let name = cname["name"].as_str().unwrap();
        let target = cname["value"].as_str().unwrap();
        let txt = recs
            .iter()
            .find(|r| r["type"] == "TXT" && r["name"] == target)
            .unwrap()["value"]
            .as_str()
            .unwrap();
        let chunks: Vec<String> = txt
            .as_bytes()
            .chunks(250)
            .map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap()))
            .collect();
        let owner = name.trim_end_matches(".example.test");
        knot.set("example.test", owner, 60, "TXT", &chunks.join(" "))
            .unwrap();
    }
}

fn send(env: &Env, to: &str, set: Option<&str>) -> String {
    let mut body = serde_json::json!({
        "FromEmailAddress": "Sender <sender@example.test>",
        "Destination": {"ToAddresses": [to]},
        "Content": {"Simple": {
            "Subject": {"Data": "Delivery test"},
            "Body": {"Text": {"Data": "Hello from the delivery test."}}
        }}
    });
    if let Some(s) = set {
        body["ConfigurationSetName"] = Value::from(s);
    }
    let (status, resp) = call(
        &env.server.http,
        &env.creds.access_key_id,
        &env.creds.secret_access_key,
        "POST",
        "/v2/email/outbound-emails",
        &body.to_string(),
    );
    assert_eq!(status, 200, "{resp}");
    let v: Value = serde_json::from_str(&resp).unwrap();
    v["MessageId"].as_str().unwrap().to_string()
}

/// The message's events as `(eventType, data)`.
fn events(env: &Env, id: &str) -> Vec<(String, Value)> {
    let v: Value = serde_json::from_str(&cli_ok(
        env.dir.path(),
        &["events", "--json", "--message-id", id],
    ))
    .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap().to_string(),
                e["data"].clone(),
            )
        })
        .collect()
}

/// G-39..G-55: every stored record of the message has the spec's shape
/// (`sesame_events::shape::check`) and the fields of the seed's example of its type.
fn assert_spec_shapes(env: &Env, id: &str) {
    use sesame_events::shape;
    for (t, v) in events(env, id) {
        if let Err(errs) = shape::check(&v) {
            panic!("{t}: not the spec's shape: {errs:#?}\n{v:#}");
        }
        let example = shape::spec_example(&t).unwrap();
        let diffs = shape::same_shape(&example, &v, shape::OPTIONAL_FIELDS);
        assert!(diffs.is_empty(), "{t}: {diffs:#?}\n{v:#}");
    }
}

fn wait_event(env: &Env, id: &str, kind: &str) -> Value {
    wait_for(&format!("a {kind} event for {id}"), 60, || {
        events(env, id)
            .into_iter()
            .find(|(t, _)| t == kind)
            .map(|(_, d)| d)
    })
}

fn types(env: &Env, id: &str) -> Vec<String> {
    events(env, id).into_iter().map(|(t, _)| t).collect()
}

/// dkimpy verifies `raw`, resolving TXT records through knot (following CNAMEs itself).
fn dkim_verifies(raw: &[u8], dns: std::net::IpAddr) -> bool {
    let python = sesame_testpeers::venv_python().expect("peers venv");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), raw).unwrap();
    let script = r#"
import sys, dkim, dns.resolver, dns.rdatatype
R = dns.resolver.Resolver(configure=False); R.nameservers = [sys.argv[2]]
def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    for _ in range(8):
        ans = R.resolve(name, "TXT", raise_on_no_answer=False, lifetime=timeout).response.answer
        t = [r for r in ans if r.rdtype == dns.rdatatype.TXT]
        if t: return b"".join(t[0][0].strings)
        c = [r for r in ans if r.rdtype == dns.rdatatype.CNAME]
        if not c: return None
        name = c[-1][0].target.to_text()
print("PASS" if dkim.verify(open(sys.argv[1], "rb").read(), dnsfunc=txt) else "FAIL")
"#;
    let out = Command::new(python)
        .args(["-c", script, f.path().to_str().unwrap(), &dns.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim() != "PASS" {
        eprintln!("dkimpy: {text} {}", String::from_utf8_lossy(&out.stderr));
    }
    text.trim() == "PASS"
}

/// Issue 4, first "Done when": API → Postfix over STARTTLS, DKIM verified through DNS, and the
/// Delivery event's fields (G-48, Q-73, Q-156).
#[test]
fn api_send_arrives_in_postfix_over_starttls_and_dkim_verifies() {
    let knot = start_or_skip!(knot("127.0.3.10:53"));
    let postfix = start_or_skip!(PostfixMx::start(
        sa("127.0.3.2:25"),
        "rcpt1.test",
        "mx.rcpt1.test"
    ));
    let env = start_sesame(&knot, &[]);

    let id = send(&env, "alice@rcpt1.test", None);
    let got = postfix.wait_delivered("alice", 1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "postfix log:\n{}", postfix.log());
    let raw = &got[0];
    let text = String::from_utf8_lossy(raw);
    assert!(
        text.contains("with ESMTPS"),
        "not received over TLS:\n{text}"
    );
    assert!(
        text.contains(&format!("Message-ID: <{id}@email.platform.test>"))
            || text.contains(&format!("Message-Id: <{id}@email.platform.test>")),
        "Q-113 Message-ID:\n{text}"
    );
    assert!(text.contains("DKIM-Signature:"), "{text}");
    assert!(
        dkim_verifies(raw, knot.addr().ip()),
        "dkimpy must verify the delivered message"
    );

    let d = wait_event(&env, &id, "Delivery");
    let delivery = &d["delivery"];
    assert_eq!(
        delivery["recipients"],
        serde_json::json!(["alice@rcpt1.test"])
    );
    assert!(
        delivery["smtpResponse"]
            .as_str()
            .unwrap()
            .starts_with("250 "),
        "{delivery}"
    );
    // Q-157 / G-48: event records carry no remoteMtaIp (identity notifications do, G-61).
    assert!(delivery.get("remoteMtaIp").is_none(), "{delivery}");
    assert!(delivery["processingTimeMillis"].is_u64(), "{delivery}");
    let reporting = delivery["reportingMTA"].as_str().unwrap();
    assert!(
        !reporting.starts_with("dns;"),
        "G-48: no prefix: {reporting}"
    );
    assert!(delivery["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(
        d["mail"]["tags"]["ses:outgoing-ip"].is_array(),
        "Q-156 ses:outgoing-ip on Delivery: {}",
        d["mail"]
    );
    assert_eq!(types(&env, &id), ["Send", "Delivery"]);
    assert_spec_shapes(&env, &id);
    // The queue is empty once delivered.
    let q = cli_ok(env.dir.path(), &["queue", "list", "--json"]);
    assert!(!q.contains(&id), "{q}");
}

/// Issue 4: 4xx then 2xx → DeliveryDelay then Delivery; 550 5.1.1 → Permanent/General bounce
/// and a suppression entry; a DSN mailed back to the VERP address → Bounce for that message.
#[test]
fn temporary_failure_then_delivery_permanent_bounce_and_async_dsn() {
    let knot = start_or_skip!(knot("127.0.3.11:53"));
    let sink = start_or_skip!(Sink::start(
        sa("127.0.3.3:25"),
        SinkOptions {
            tls: true,
            ..Default::default()
        }
    ));
    let env = start_sesame(&knot, &[("SESAME_MX_ADDR", "127.0.3.20:2525")]);

    // 451 first, then accepted on the retry (base 1 s).
    let id = send(&env, "once-rcpt-451@rcpt2.test", None);
    let delivery = wait_event(&env, &id, "Delivery");
    assert_eq!(
        delivery["delivery"]["recipients"],
        serde_json::json!(["once-rcpt-451@rcpt2.test"])
    );
    let ev = events(&env, &id);
    let kinds: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(kinds, ["Send", "DeliveryDelay", "Delivery"]);
    let delay = &ev[1].1["deliveryDelay"];
    // G-53: the remote server answered 451 4.3.0 → RecipientServerError.
    assert_eq!(delay["delayType"], "RecipientServerError", "{delay}");
    let delayed = &delay["delayedRecipients"][0];
    assert_eq!(delayed["emailAddress"], "once-rcpt-451@rcpt2.test");
    assert!(
        delayed["status"].as_str().unwrap().starts_with("4."),
        "{delayed}"
    );
    assert!(
        delayed["diagnosticCode"]
            .as_str()
            .unwrap()
            .starts_with("smtp; 451"),
        "{delayed}"
    );
    assert!(delay["expirationTime"].as_str().unwrap().ends_with('Z'));
    assert_spec_shapes(&env, &id);

    // 550 5.1.1: Permanent/General, suppressed (account default reasons BOUNCE+COMPLAINT).
    let id = send(&env, "rcpt-550@rcpt2.test", None);
    let b = wait_event(&env, &id, "Bounce");
    let bounce = &b["bounce"];
    assert_eq!(bounce["bounceType"], "Permanent");
    assert_eq!(bounce["bounceSubType"], "General");
    let r = &bounce["bouncedRecipients"][0];
    assert_eq!(r["emailAddress"], "rcpt-550@rcpt2.test");
    assert_eq!(r["action"], "failed");
    assert_eq!(r["status"], "5.1.1");
    assert!(
        r["diagnosticCode"]
            .as_str()
            .unwrap()
            .starts_with("smtp; 550 5.1.1"),
        "{r}"
    );
    assert!(bounce["reportingMTA"]
        .as_str()
        .unwrap()
        .starts_with("dns; "));
    let (status, body) = call(
        &env.server.http,
        &env.creds.access_key_id,
        &env.creds.secret_access_key,
        "GET",
        "/v2/email/suppression/addresses/rcpt-550@rcpt2.test",
        "",
    );
    assert_eq!(status, 200, "suppressed after the hard bounce: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["SuppressedDestination"]["Reason"], "BOUNCE");
    assert_eq!(types(&env, &id), ["Send", "Bounce"]);
    assert_spec_shapes(&env, &id);

    // Delivered, then a DSN arrives later at the VERP address (Q-67, Q-166).
    let id = send(&env, "carol@rcpt2.test", None);
    wait_event(&env, &id, "Delivery");
    let msg = sink
        .messages()
        .into_iter()
        .find(|m| m.envelope["rcpt_tos"] == serde_json::json!(["carol@rcpt2.test"]))
        .expect("carol's message in the sink");
    let verp = msg.envelope["mail_from"].as_str().unwrap().to_string();
    assert!(
        verp.starts_with(&id) && verp.ends_with("@us-east-1.platform.test"),
        "VERP MAIL FROM: {verp}"
    );
    let dsn = format!(
        "From: MAILER-DAEMON@mx.rcpt2.test\r\nTo: {verp}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nThe mailbox is gone.\r\n\
--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.rcpt2.test\r\n\r\n\
Final-Recipient: rfc822; carol@rcpt2.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 carol: mailbox unavailable\r\n\r\n--B--\r\n"
    );
    let dsn_file = env.dir.path().join("dsn.eml");
    std::fs::write(&dsn_file, &dsn).unwrap();
    let out = Command::new("swaks")
        .args([
            "--server",
            "127.0.3.20:2525",
            "--local-interface",
            "127.0.3.3",
        ])
        .args(["--ehlo", "mx.rcpt2.test", "--from", "<>", "--to", &verp])
        .args(["--data", &format!("@{}", dsn_file.display())])
        .args(["--timeout", "20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "swaks: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let b = wait_event(&env, &id, "Bounce");
    assert_eq!(b["bounce"]["bounceType"], "Permanent");
    assert_eq!(
        b["bounce"]["bouncedRecipients"][0]["emailAddress"],
        "carol@rcpt2.test"
    );
    assert_eq!(
        b["bounce"]["reportingMTA"], "dns; mx.rcpt2.test",
        "Q-165 verbatim"
    );
    assert_spec_shapes(&env, &id);
}

/// Q-111: `TlsPolicy = REQUIRE` and a receiver without STARTTLS: nothing in clear, a
/// DeliveryDelay per attempt, then a Transient bounce when the (shortened) window ends.
#[test]
fn tls_require_never_sends_in_clear() {
    let knot = start_or_skip!(knot("127.0.3.12:53"));
    let sink = start_or_skip!(Sink::start(sa("127.0.3.4:25"), SinkOptions::default()));
    let env = start_sesame(&knot, &[("SESAME_DELIVERY_RETRY_WINDOW_SECONDS", "4")]);
    let http = &env.server.http;
    let (k, s) = (&env.creds.access_key_id, &env.creds.secret_access_key);
    let (status, body) = call(
        http,
        k,
        s,
        "POST",
        "/v2/email/configuration-sets",
        r#"{"ConfigurationSetName":"tls-only","DeliveryOptions":{"TlsPolicy":"REQUIRE"}}"#,
    );
    assert_eq!(status, 200, "{body}");

    let id = send(&env, "dave@plain.test", Some("tls-only"));
    let b = wait_event(&env, &id, "Bounce");
    assert_eq!(b["bounce"]["bounceType"], "Transient", "{b}");
    let diag = b["bounce"]["bouncedRecipients"][0]["diagnosticCode"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(diag.contains("TLS required but not available"), "{diag}");
    let kinds = types(&env, &id);
    assert!(kinds.contains(&"DeliveryDelay".to_string()), "{kinds:?}");
    assert_eq!(kinds.last().unwrap(), "Bounce");
    // The sink saw connections but never a MAIL command and stored nothing.
    assert!(sink.messages().is_empty());
    assert!(
        sink.transcript().iter().all(|t| t["cmd"] != "MAIL"),
        "{:?}",
        sink.transcript()
    );
}

/// Issue 4 item 6, spec F / E-98: a configuration set's `SendingPoolName` makes its mail leave
/// from (bind to) that pool's address, with that address's HELO name (Q-73); other mail leaves
/// from the addresses in no pool.
#[test]
fn sending_pool_binds_the_source_address() {
    let knot = start_or_skip!(Knot::start(
        sa("127.0.3.13:53"),
        &[
            (
                "pool.test",
                &zone_text("pool.test", "@ MX 10 mx\nmx A 127.0.3.5")
            ),
            ("example.test", &zone_text("example.test", "@ A 127.0.3.1")),
        ]
    ));
    let sink = start_or_skip!(Sink::start(sa("127.0.3.5:25"), SinkOptions::default()));
    let env = start_sesame(&knot, &[("SESAME_OUTBOUND_IPS", "127.0.3.101,127.0.3.102")]);
    let http = &env.server.http;
    let (k, s) = (&env.creds.access_key_id, &env.creds.secret_access_key);
    for (method, path, body) in [
        (
            "POST",
            "/v2/email/dedicated-ip-pools",
            r#"{"PoolName":"p1"}"#,
        ),
        (
            "PUT",
            "/v2/email/dedicated-ips/127.0.3.102/pool",
            r#"{"DestinationPoolName":"p1"}"#,
        ),
        (
            "POST",
            "/v2/email/configuration-sets",
            r#"{"ConfigurationSetName":"via-p1","DeliveryOptions":{"SendingPoolName":"p1"}}"#,
        ),
    ] {
        let (status, resp) = call(http, k, s, method, path, body);
        assert_eq!(status, 200, "{method} {path}: {resp}");
    }

    let pooled = send(&env, "erin@pool.test", Some("via-p1"));
    let plain = send(&env, "frank@pool.test", None);
    for id in [&pooled, &plain] {
        wait_event(&env, id, "Delivery");
    }
    let msgs = sink.wait_messages(2, Duration::from_secs(30));
    let by_rcpt = |r: &str| {
        msgs.iter()
            .find(|m| m.envelope["rcpt_tos"] == serde_json::json!([r]))
            .unwrap_or_else(|| panic!("{r} not in the sink"))
            .envelope
            .clone()
    };
    let e = by_rcpt("erin@pool.test");
    assert_eq!(e["peer"], "127.0.3.102", "{e}");
    assert_eq!(e["helo"], "127-0-3-102.smtp-out.platform.test", "{e}");
    let f = by_rcpt("frank@pool.test");
    assert_eq!(f["peer"], "127.0.3.101", "the address in no pool: {f}");
    // Q-156: the outgoing IP is tagged on the Delivery event.
    let d = wait_event(&env, &pooled, "Delivery");
    assert_eq!(
        d["mail"]["tags"]["ses:outgoing-ip"],
        serde_json::json!(["127.0.3.102"])
    );
}

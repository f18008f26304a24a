//! The operator DKIM signature `d=<service_domain>` (DECISIONS Q-72; spec D-89, M-6) and the
//! signing of verification emails (D-60, Q-103), verified **through DNS** by dkimpy.
//!
//! Peers, all real, on loopback: knot is authoritative for the recipient zone `rcpt1.test` (MX
//! to Postfix) and for the customer zone `example.test` (the Easy DKIM CNAMEs); Sesame
//! (`service_domain = platform.test`) serves `platform.test` itself, including the operator
//! key at `sesame1._domainkey.platform.test`; unbound is the recursive front with a stub zone
//! for each. Sesame's MTA delivers to a real Postfix, and dkimpy checks every `DKIM-Signature`
//! of what arrived, asking unbound.
//!
//! Addresses: 127.0.10.0/24 (other suites use other ranges).

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::{call, cli_ok, create_account, sesame, Creds, Server};
use serde_json::Value;
use sesame_testpeers::{start_or_skip, zone_text, Knot, PostfixMx, Unbound};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const KNOT: &str = "127.0.10.10:53";
const UNBOUND: &str = "127.0.10.11:53";
const POSTFIX: &str = "127.0.10.2:25";
const OUTBOUND: &str = "127.0.10.1";
const DNS: &str = "127.0.10.53:0";

/// Every `DKIM-Signature` of `raw`, in order, as `{"d", "s", "ok"}`: dkimpy verifies each
/// (`DKIM.verify(idx=i)`) with every DNS query sent to `resolver` (unbound).
fn signatures(raw: &[u8], resolver: SocketAddr) -> Vec<Value> {
    let python = sesame_testpeers::venv_python().expect("peers venv");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), raw).unwrap();
    let script = r#"
import sys, json, re, dkim, dns.resolver
R = dns.resolver.Resolver(configure=False)
R.nameservers = [sys.argv[2]]; R.port = int(sys.argv[3]); R.lifetime = 5
dns.resolver.default_resolver = R
msg = open(sys.argv[1], "rb").read()
fields = re.findall(rb"^DKIM-Signature:[^\n]*(?:\n[ \t][^\n]*)*", msg, re.M)
out = []
for i, field in enumerate(fields):
    d = re.search(rb"[;\s]d=([^;\s]+)", field).group(1).decode()
    s = re.search(rb"[;\s]s=([^;\s]+)", field).group(1).decode()
    ok = dkim.DKIM(msg).verify(idx=i)
    out.append({"d": d, "s": s, "ok": bool(ok)})
print(json.dumps(out))
"#;
    let out = Command::new(python)
        .args([
            "-c",
            script,
            f.path().to_str().unwrap(),
            &resolver.ip().to_string(),
            &resolver.port().to_string(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        panic!(
            "checker failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v.as_array().unwrap().clone()
}

fn dig(resolver: SocketAddr, name: &str, rtype: &str) -> String {
    let out = Command::new("dig")
        .arg(format!("@{}", resolver.ip()))
        .args(["-p", &resolver.port().to_string()])
        .args(["+short", "+time=2", "+tries=1", name, rtype])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn sig(d: &str, s: &str) -> Value {
    serde_json::json!({"d": d, "s": s, "ok": true})
}

struct Api<'a> {
    server: &'a Server,
    creds: &'a Creds,
}

impl Api<'_> {
    fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, resp) = call(
            &self.server.http,
            &self.creds.access_key_id,
            &self.creds.secret_access_key,
            method,
            path,
            &body,
        );
        assert_eq!(status, 200, "{method} {path}: {resp}");
        serde_json::from_str(&resp).unwrap_or(Value::Null)
    }
}

/// Q-72 and D-60 end to end:
/// - the operator key is published by Sesame's zone at `sesame1._domainkey.platform.test`;
/// - the default verification email (From `no-reply@platform.test`) arrives with exactly one
///   signature, `d=platform.test; s=sesame1`, that dkimpy verifies through DNS;
/// - customer mail from an Easy DKIM domain carries two signatures that both verify: the
///   customer's `d=example.test` first, then the operator's (D-89, AT-D-07);
/// - a custom verification email whose From identity signs carries that identity's signature
///   (plus the operator's); one whose From identity has signing disabled carries only the
///   operator's (D-60: "DKIM-signed only if the From identity signs").
#[test]
fn operator_signature_verifies_through_sesames_own_zone() {
    let mx_ip = sa(POSTFIX).ip();
    let rcpt1 = zone_text("rcpt1.test", &format!("@ MX 10 mx\nmx A {mx_ip}"));
    let example = zone_text("example.test", &format!("@ A {OUTBOUND}"));
    let knot = start_or_skip!(Knot::start(
        sa(KNOT),
        &[("rcpt1.test", &rcpt1), ("example.test", &example)]
    ));
    let postfix = start_or_skip!(PostfixMx::start(sa(POSTFIX), "rcpt1.test", "mx.rcpt1.test"));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &creds.account_id],
    );
    let resolver = knot.addr().to_string();
    let server = Server::start(
        dir.path(),
        &["--dev"],
        &[
            ("SESAME_DELIVERY_MODE", "smtp"),
            ("SESAME_RESOLVER", resolver.as_str()),
            ("SESAME_DELIVERY_RETRY_BASE_SECONDS", "1"),
            ("SESAME_SERVICE_DOMAIN", "platform.test"),
            ("SESAME_OUTBOUND_IPS", OUTBOUND),
            ("SESAME_DNS_ADDR", DNS),
        ],
    );
    let unbound = start_or_skip!(Unbound::start(
        sa(UNBOUND),
        &[
            ("example.test", knot.addr()),
            ("rcpt1.test", knot.addr()),
            ("platform.test", sa(&server.dns)),
        ]
    ));
    let api = Api {
        server: &server,
        creds: &creds,
    };

    // Q-72: the operator key is in the zone.
    let txt = dig(unbound.addr(), "sesame1._domainkey.platform.test", "TXT");
    assert!(txt.starts_with("\"v=DKIM1; k=rsa; p=MII"), "{txt}");

    // The default verification email: the operator signature only.
    api.ok(
        "POST",
        "/v2/email/identities",
        serde_json::json!({"EmailIdentity": "alice@rcpt1.test"}),
    );
    let got = postfix.wait_delivered("alice", 1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "postfix log:\n{}", postfix.log());
    let text = String::from_utf8_lossy(&got[0]).to_string();
    assert!(text.contains("From: <no-reply@platform.test>"), "{text}");
    assert_eq!(
        signatures(&got[0], unbound.addr()),
        vec![sig("platform.test", "sesame1")],
        "{text}"
    );

    // A customer domain with Easy DKIM (verified by the operator override) and its CNAMEs.
    api.ok(
        "POST",
        "/v2/email/identities",
        serde_json::json!({"EmailIdentity": "example.test"}),
    );
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
    let ident = api.ok("GET", "/v2/email/identities/example.test", Value::Null);
    let tokens: Vec<String> = ident["DkimAttributes"]["Tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    for t in &tokens {
        knot.set(
            "example.test",
            &format!("{t}._domainkey"),
            60,
            "CNAME",
            &format!("{t}.dkim.platform.test."),
        )
        .unwrap();
    }

    // Customer mail: the customer's signature, then the operator's (D-89).
    api.ok(
        "POST",
        "/v2/email/outbound-emails",
        serde_json::json!({
            "FromEmailAddress": "sender@example.test",
            "Destination": {"ToAddresses": ["bob@rcpt1.test"]},
            "Content": {"Simple": {"Subject": {"Data": "two signatures"},
                                   "Body": {"Text": {"Data": "Customer and operator."}}}}
        }),
    );
    let got = postfix.wait_delivered("bob", 1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "postfix log:\n{}", postfix.log());
    assert_eq!(
        signatures(&got[0], unbound.addr()),
        vec![
            sig("example.test", &tokens[0]),
            sig("platform.test", "sesame1")
        ]
    );

    // D-60: a custom verification email from a signing identity.
    api.ok(
        "POST",
        "/v2/email/custom-verification-email-templates",
        serde_json::json!({
            "TemplateName": "welcome",
            "FromEmailAddress": "hello@example.test",
            "TemplateSubject": "Confirm your Example account",
            "TemplateContent": "<html><body><p>One more step.</p></body></html>",
            "SuccessRedirectionURL": "https://example.test/ok",
            "FailureRedirectionURL": "https://example.test/failed"
        }),
    );
    api.ok(
        "POST",
        "/v2/email/outbound-custom-verification-emails",
        serde_json::json!({"EmailAddress": "carol@rcpt1.test", "TemplateName": "welcome"}),
    );
    // carol@ and dave@ land in the Postfix peer's catch-all Maildir.
    let got = postfix.wait_delivered("catchall", 1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "postfix log:\n{}", postfix.log());
    assert!(String::from_utf8_lossy(&got[0]).contains("From: <hello@example.test>"));
    assert_eq!(
        signatures(&got[0], unbound.addr()),
        vec![
            sig("example.test", &tokens[0]),
            sig("platform.test", "sesame1")
        ]
    );

    // D-60: the From identity stops signing (D-87): the operator signature only.
    api.ok(
        "PUT",
        "/v2/email/identities/example.test/dkim",
        serde_json::json!({"SigningEnabled": false}),
    );
    api.ok(
        "POST",
        "/v2/email/outbound-custom-verification-emails",
        serde_json::json!({"EmailAddress": "dave@rcpt1.test", "TemplateName": "welcome"}),
    );
    let got = postfix.wait_delivered("catchall", 2, Duration::from_secs(60));
    assert_eq!(got.len(), 2, "postfix log:\n{}", postfix.log());
    let dave = got
        .iter()
        .find(|m| String::from_utf8_lossy(m).contains("To: <dave@rcpt1.test>"))
        .expect("dave's verification email");
    assert_eq!(
        signatures(dave, unbound.addr()),
        vec![sig("platform.test", "sesame1")]
    );
}

/// `sesame identity check` (CLI beside the running server) with the server's DNS settings.
fn check_identity(dir: &std::path::Path, resolver: &str, account: &str, identity: &str) -> String {
    let out = sesame(dir)
        .env("SESAME_SERVICE_DOMAIN", "platform.test")
        .env("SESAME_RESOLVER", resolver)
        .args(["identity", "check", "--account", account, identity])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "identity check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A BYODKIM key pair made with openssl (D-78): (PKCS#8 DER base64 private key, SPKI DER
/// base64 public key).
fn openssl_key() -> (String, String) {
    let sh = |cmd: &str| {
        let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("k.pem");
    let pem = pem.display();
    sh(&format!("openssl genrsa -out {pem} 2048 2>/dev/null"));
    let private = sh(&format!(
        "openssl pkcs8 -topk8 -nocrypt -in {pem} -outform DER | base64 -w0"
    ));
    let public = sh(&format!(
        "openssl rsa -in {pem} -pubout -outform DER 2>/dev/null | base64 -w0"
    ));
    (private, public)
}

/// Q-91 (a) / D-75: switching Easy DKIM → BYODKIM (and back) makes `DkimAttributes.Status`
/// `PENDING` and stops the customer signature until the new records verify; mail meanwhile
/// carries the operator signature only (Q-91: "the operator `d=<sd>` signature still
/// applies"). Once the BYODKIM TXT is published and checked, mail is signed `s=<selector>`.
#[test]
fn switching_dkim_method_stops_customer_signing_until_verified() {
    let (knot_addr, unbound_addr, postfix_addr, dns) = (
        "127.0.10.20:53",
        "127.0.10.21:53",
        "127.0.10.22:25",
        "127.0.10.54:0",
    );
    let mx_ip = sa(postfix_addr).ip();
    let rcpt1 = zone_text("rcpt1.test", &format!("@ MX 10 mx\nmx A {mx_ip}"));
    let example = zone_text("example.test", &format!("@ A {OUTBOUND}"));
    let knot = start_or_skip!(Knot::start(
        sa(knot_addr),
        &[("rcpt1.test", &rcpt1), ("example.test", &example)]
    ));
    let postfix = start_or_skip!(PostfixMx::start(
        sa(postfix_addr),
        "rcpt1.test",
        "mx.rcpt1.test"
    ));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &creds.account_id],
    );
    let resolver = knot.addr().to_string();
    let server = Server::start(
        dir.path(),
        &["--dev"],
        &[
            ("SESAME_DELIVERY_MODE", "smtp"),
            ("SESAME_RESOLVER", resolver.as_str()),
            ("SESAME_DELIVERY_RETRY_BASE_SECONDS", "1"),
            ("SESAME_SERVICE_DOMAIN", "platform.test"),
            ("SESAME_OUTBOUND_IPS", OUTBOUND),
            ("SESAME_DNS_ADDR", dns),
        ],
    );
    let unbound = start_or_skip!(Unbound::start(
        sa(unbound_addr),
        &[
            ("example.test", knot.addr()),
            ("rcpt1.test", knot.addr()),
            ("platform.test", sa(&server.dns)),
        ]
    ));
    let api = Api {
        server: &server,
        creds: &creds,
    };
    let status = || {
        let v = api.ok("GET", "/v2/email/identities/example.test", Value::Null);
        (
            v["DkimAttributes"]["SigningAttributesOrigin"]
                .as_str()
                .unwrap()
                .to_string(),
            v["DkimAttributes"]["Status"].as_str().unwrap().to_string(),
            v["DkimAttributes"]["Tokens"].clone(),
        )
    };
    let mut sent = 0;
    let mut send_and_check = |subject: &str| -> Vec<Value> {
        api.ok(
            "POST",
            "/v2/email/outbound-emails",
            serde_json::json!({
                "FromEmailAddress": "sender@example.test",
                "Destination": {"ToAddresses": ["bob@rcpt1.test"]},
                "Content": {"Simple": {"Subject": {"Data": subject},
                                       "Body": {"Text": {"Data": "Q-91"}}}}
            }),
        );
        sent += 1;
        let got = postfix.wait_delivered("bob", sent, Duration::from_secs(60));
        assert_eq!(got.len(), sent, "postfix log:\n{}", postfix.log());
        let raw = got
            .iter()
            .find(|m| String::from_utf8_lossy(m).contains(subject))
            .unwrap();
        signatures(raw, unbound.addr())
    };

    // Easy DKIM, verified through DNS (CNAMEs in knot, `identity check`).
    api.ok(
        "POST",
        "/v2/email/identities",
        serde_json::json!({"EmailIdentity": "example.test"}),
    );
    let (_, _, tokens) = status();
    let tokens: Vec<String> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    for t in &tokens {
        knot.set(
            "example.test",
            &format!("{t}._domainkey"),
            60,
            "CNAME",
            &format!("{t}.dkim.platform.test."),
        )
        .unwrap();
    }
    check_identity(dir.path(), &resolver, &creds.account_id, "example.test");
    assert_eq!(status().1, "SUCCESS");
    assert_eq!(
        send_and_check("easy dkim"),
        vec![
            sig("example.test", &tokens[0]),
            sig("platform.test", "sesame1")
        ]
    );

    // Easy → BYODKIM: PENDING, and no customer signature until the TXT verifies.
    let (private, public) = openssl_key();
    let r = api.ok(
        "PUT",
        "/v2/email/identities/example.test/dkim/signing",
        serde_json::json!({"SigningAttributesOrigin": "EXTERNAL", "SigningAttributes": {
            "DomainSigningSelector": "byo2026", "DomainSigningPrivateKey": private}}),
    );
    assert_eq!(r["DkimStatus"], "PENDING", "{r}");
    let (origin, st, toks) = status();
    assert_eq!(
        (origin.as_str(), st.as_str(), toks),
        ("EXTERNAL", "PENDING", serde_json::json!(["byo2026"]))
    );
    assert_eq!(
        send_and_check("switching to byodkim"),
        vec![sig("platform.test", "sesame1")],
        "Q-91 (a): no customer signature while PENDING"
    );

    // The customer publishes the TXT; the check verifies it; BYODKIM signs.
    let txt = format!("v=DKIM1; k=rsa; p={public}");
    let strings: Vec<String> = txt
        .as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    knot.set(
        "example.test",
        "byo2026._domainkey",
        60,
        "TXT",
        &strings.join(" "),
    )
    .unwrap();
    let out = check_identity(dir.path(), &resolver, &creds.account_id, "example.test");
    assert_eq!(status().1, "SUCCESS", "{out}");
    assert_eq!(
        send_and_check("byodkim verified"),
        vec![
            sig("example.test", "byo2026"),
            sig("platform.test", "sesame1")
        ]
    );

    // BYODKIM → Easy DKIM: PENDING again with new tokens, customer signing stops.
    let r = api.ok(
        "PUT",
        "/v2/email/identities/example.test/dkim/signing",
        serde_json::json!({"SigningAttributesOrigin": "AWS_SES"}),
    );
    assert_eq!(r["DkimStatus"], "PENDING", "{r}");
    let (origin, st, toks) = status();
    assert_eq!((origin.as_str(), st.as_str()), ("AWS_SES", "PENDING"));
    assert_eq!(toks.as_array().unwrap().len(), 3);
    assert_ne!(toks, serde_json::json!(tokens), "new Easy DKIM tokens");
    assert_eq!(
        send_and_check("back to easy dkim"),
        vec![sig("platform.test", "sesame1")],
        "D-75: the same applies Easy DKIM -> BYODKIM and back"
    );
}

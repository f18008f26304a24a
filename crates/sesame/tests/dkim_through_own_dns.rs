//! Issue 5, "Done when": Easy DKIM verified **through DNS**, with the keys served by Sesame's
//! own responder (DECISIONS Q-63..Q-69, Q-65 (a)); SPF and DMARC of the custom MAIL FROM.
//!
//! Peers, all real, on loopback: knot is authoritative for the user's zone `example.test` (the
//! three Easy DKIM CNAMEs `<token>._domainkey` → `<token>.dkim.platform.test`, the custom MAIL
//! FROM `bounce.example.test` with `include:spf.platform.test`, `_dmarc`) and for the recipient
//! zone `rcpt1.test`; Sesame (`service_domain = platform.test`) serves `platform.test` itself on
//! `SESAME_DNS_ADDR`; unbound is the recursive front with one stub zone for each. A message
//! sent through the API is delivered by Sesame's MTA to a real Postfix; dkimpy, pyspf and
//! authheaders then check what arrived, asking unbound, so every DKIM key lookup goes
//! user CNAME (knot) → Sesame's zone (Sesame's responder).
//!
//! Addresses: 127.0.5.0/24 (other suites use other ranges).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{api_ok, call, cli_ok, create_account, Creds, Server};
use serde_json::Value;
use sesame_testpeers::{start_or_skip, zone_text, Knot, PostfixMx, Unbound};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Addresses of one test's peers (tests of this file run in parallel).
struct Net {
    knot: &'static str,
    unbound: &'static str,
    postfix: &'static str,
    /// Sesame's outbound (source) address, listed in `spf.platform.test`.
    outbound: &'static str,
    dns: &'static str,
}

/// The user's zone: MAIL FROM subdomain and DMARC; the DKIM CNAMEs come at runtime.
fn knot(net: &Net) -> Result<Knot, sesame_testpeers::PeerError> {
    let mx_ip = sa(net.postfix).ip();
    let rcpt1 = zone_text("rcpt1.test", &format!("@ MX 10 mx\nmx A {mx_ip}"));
    let example = zone_text(
        "example.test",
        &format!(
            "@ A {}\n\
             bounce MX 10 feedback-smtp.us-east-1.platform.test.\n\
             bounce TXT \"v=spf1 include:spf.platform.test ~all\"\n\
             _dmarc TXT \"v=DMARC1; p=reject\"",
            net.outbound
        ),
    );
    Knot::start(
        sa(net.knot),
        &[("rcpt1.test", &rcpt1), ("example.test", &example)],
    )
}

struct Env {
    dir: tempfile::TempDir,
    creds: Creds,
    server: Server,
    tokens: Vec<String>,
}

/// A production account with the domain example.test (Easy DKIM RSA-2048, custom MAIL FROM
/// bounce.example.test), marked verified by the operator override (DNS verification is another
/// slice of issue 5), whose three CNAMEs are then published in knot.
fn start_sesame(net: &Net, knot: &Knot, extra_env: &[(&str, &str)]) -> Env {
    let resolver = knot.addr().to_string();
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &creds.account_id],
    );
    let mut env = vec![
        ("SESAME_DELIVERY_MODE", "smtp"),
        ("SESAME_RESOLVER", resolver.as_str()),
        ("SESAME_DELIVERY_RETRY_BASE_SECONDS", "1"),
        ("SESAME_SERVICE_DOMAIN", "platform.test"),
        ("SESAME_OUTBOUND_IPS", net.outbound),
        ("SESAME_DNS_ADDR", net.dns),
        ("SESAME_FEEDBACK_MX_IPS", "127.0.5.25"),
    ];
    env.extend_from_slice(extra_env);
    let server = Server::start(dir.path(), &["--dev"], &env);
    assert_ne!(server.dns, "off");
    let api = |method: &str, path: &str, body: &str| api_ok(&server, &creds, method, path, body);
    api(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test","DkimSigningAttributes":{"NextSigningKeyLength":"RSA_2048_BIT"}}"#,
    );
    api(
        "PUT",
        "/v2/email/identities/example.test/mail-from",
        r#"{"MailFromDomain":"bounce.example.test","BehaviorOnMxFailure":"USE_DEFAULT_VALUE"}"#,
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
    let tokens = publish_cnames(dir.path(), &creds.account_id, knot);
    assert_eq!(tokens.len(), 3, "Q-64: three Easy DKIM CNAMEs");
    Env {
        dir,
        creds,
        server,
        tokens,
    }
}

/// Publishes the customer's part only: the three CNAMEs, exactly as `dkim-records` prints
/// them (Q-64). The TXT records behind them are Sesame's to serve.
fn publish_cnames(dir: &Path, account: &str, knot: &Knot) -> Vec<String> {
    // The CLI reads the same configuration as the server (here: the service domain).
    let out = common::sesame(dir)
        .env("SESAME_SERVICE_DOMAIN", "platform.test")
        .args([
            "identity",
            "dkim-records",
            "--json",
            "--account",
            account,
            "example.test",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tokens = vec![];
    for cname in recs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "CNAME")
    {
        let name = cname["name"].as_str().unwrap();
        let target = cname["value"].as_str().unwrap();
        let token = name.strip_suffix("._domainkey.example.test").unwrap();
        assert_eq!(target, format!("{token}.dkim.platform.test"));
        knot.set(
            "example.test",
            &format!("{token}._domainkey"),
            60,
            "CNAME",
            &format!("{target}."),
        )
        .unwrap();
        tokens.push(token.to_string());
    }
    tokens
}

fn send(env: &Env, to: &str, subject: &str) -> String {
    let body = serde_json::json!({
        "FromEmailAddress": "Sender <sender@example.test>",
        "Destination": {"ToAddresses": [to]},
        "Content": {"Simple": {
            "Subject": {"Data": subject},
            "Body": {"Text": {"Data": "Signed with a key served by Sesame's own DNS zone."}}
        }}
    });
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

/// Checks `raw` with dkimpy, pyspf and authheaders, every DNS query going to `resolver`
/// (unbound): dnspython's default resolver is replaced, and dkimpy's own lookup is used (no
/// chain-following helper: the recursive front follows the CNAME into Sesame's zone).
fn check(raw: &[u8], resolver: SocketAddr, client_ip: &str) -> Value {
    let python = sesame_testpeers::venv_python().expect("peers venv");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), raw).unwrap();
    let script = r#"
import sys, json, re, dkim, spf, authheaders, dns.resolver
R = dns.resolver.Resolver(configure=False)
R.nameservers = [sys.argv[2]]; R.port = int(sys.argv[3]); R.lifetime = 5
dns.resolver.default_resolver = R
msg = open(sys.argv[1], "rb").read()
ip = sys.argv[4]
rp = re.search(rb"^Return-Path: <([^>]*)>", msg, re.M).group(1).decode()
sel = re.search(rb"DKIM-Signature:[^\n]*(?:\n[ \t][^\n]*)*", msg).group(0)
s = re.search(rb"[;\s]s=([^;\s]+)", sel).group(1).decode()
d = re.search(rb"[;\s]d=([^;\s]+)", sel).group(1).decode()
helo = "helo.invalid"
out = {"return_path": rp, "s": s, "d": d,
       "dkim": bool(dkim.verify(msg)),
       "spf": spf.check2(i=ip, s=rp, h=helo)[0]}
for name, use_dkim in (("dmarc", True), ("dmarc_spf_only", False)):
    out[name] = authheaders.authenticate_message(msg, "mx.rcpt1.test", spf=True, dkim=use_dkim,
        ip=ip, mail_from=rp, helo=helo)
print(json.dumps(out))
"#;
    let out = Command::new(python)
        .args([
            "-c",
            script,
            f.path().to_str().unwrap(),
            &resolver.ip().to_string(),
            &resolver.port().to_string(),
            client_ip,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        panic!(
            "checker failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
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

/// Issue 5 "Done when" #2: delivered to Postfix with a DKIM signature dkimpy verifies through
/// DNS (user CNAME in knot → `<token>.dkim.platform.test` TXT served by Sesame, Q-64/Q-65);
/// SPF passes for the custom MAIL FROM through `include:spf.platform.test` (Q-69); DMARC
/// passes with relaxed alignment, and via SPF alone fails once the domain asks `aspf=s`
/// (the seed's alignment table: `bounce.example.test` is not `example.test`).
#[test]
fn easy_dkim_verifies_through_sesames_own_zone_and_spf_dmarc_pass() {
    let net = Net {
        knot: "127.0.5.10:53",
        unbound: "127.0.5.11:53",
        postfix: "127.0.5.2:25",
        outbound: "127.0.5.1",
        dns: "127.0.5.53:0",
    };
    let knot = start_or_skip!(knot(&net));
    let postfix = start_or_skip!(PostfixMx::start(
        sa(net.postfix),
        "rcpt1.test",
        "mx.rcpt1.test"
    ));
    let env = start_sesame(&net, &knot, &[]);
    let unbound = start_or_skip!(Unbound::start(
        sa(net.unbound),
        &[
            ("example.test", knot.addr()),
            ("rcpt1.test", knot.addr()),
            ("platform.test", sa(&env.server.dns)),
        ]
    ));

    // The chain as any resolver sees it: CNAME from knot, then the TXT from Sesame.
    let t0 = &env.tokens[0];
    let chain = dig(
        unbound.addr(),
        &format!("{t0}._domainkey.example.test"),
        "TXT",
    );
    assert!(
        chain.starts_with(&format!(
            "{t0}.dkim.platform.test.\n\"v=DKIM1; k=rsa; p=MII"
        )),
        "{chain}\nunbound log:\n{}",
        unbound.log()
    );
    assert_eq!(
        dig(unbound.addr(), "spf.platform.test", "TXT").trim(),
        format!("\"v=spf1 ip4:{} ~all\"", net.outbound)
    );
    assert_eq!(
        dig(unbound.addr(), "feedback-smtp.us-east-1.platform.test", "A").trim(),
        "127.0.5.25"
    );

    let id = send(&env, "alice@rcpt1.test", "DKIM through Sesame's zone");
    let got = postfix.wait_delivered("alice", 1, Duration::from_secs(60));
    assert_eq!(got.len(), 1, "postfix log:\n{}", postfix.log());
    let raw = &got[0];
    let text = String::from_utf8_lossy(raw);
    assert!(
        text.contains(&format!("<{id}@email.platform.test>")),
        "{text}"
    );

    let r = check(raw, unbound.addr(), net.outbound);
    assert_eq!(r["d"], "example.test", "{r}");
    assert_eq!(
        r["s"],
        t0.as_str(),
        "the active key is the first token: {r}"
    );
    assert_eq!(r["dkim"], true, "dkimpy through DNS: {r}");
    assert_eq!(
        r["return_path"],
        format!("{id}@bounce.example.test"),
        "Q-99 custom MAIL FROM: {r}"
    );
    assert_eq!(r["spf"], "pass", "pyspf via include:spf.platform.test: {r}");
    let dmarc = r["dmarc"].as_str().unwrap();
    assert!(
        dmarc.contains("dkim=pass") && dmarc.contains("spf=pass") && dmarc.contains("dmarc=pass"),
        "{dmarc}"
    );
    let spf_only = r["dmarc_spf_only"].as_str().unwrap();
    assert!(
        spf_only.contains("dmarc=pass"),
        "relaxed SPF alignment: {spf_only}"
    );

    // aspf=s: SPF passes but is not aligned; DKIM still carries DMARC.
    knot.unset("example.test", "_dmarc", Some("TXT")).unwrap();
    knot.set(
        "example.test",
        "_dmarc",
        60,
        "TXT",
        "\"v=DMARC1; p=reject; aspf=s\"",
    )
    .unwrap();
    let r = check(raw, unbound.addr(), net.outbound);
    let spf_only = r["dmarc_spf_only"].as_str().unwrap();
    assert!(
        spf_only.contains("spf=pass") && spf_only.contains("dmarc=fail"),
        "aspf=s must fail DMARC via SPF: {spf_only}"
    );
    assert!(
        r["dmarc"].as_str().unwrap().contains("dmarc=pass"),
        "DKIM stays aligned: {r}"
    );

    // A token nobody owns: NXDOMAIN from Sesame, through the chain.
    knot.set(
        "example.test",
        "ghost._domainkey",
        60,
        "CNAME",
        "ghost.dkim.platform.test.",
    )
    .unwrap();
    let ghost = dig(unbound.addr(), "ghost._domainkey.example.test", "TXT");
    assert_eq!(ghost.trim(), "ghost.dkim.platform.test.");
    wait_for("the Delivery event", 30, || {
        let ev = cli_ok(env.dir.path(), &["events", "--json", "--message-id", &id]);
        ev.contains("\"Delivery\"").then_some(())
    });
}

/// `GetEmailIdentity`'s `DkimAttributes`.
fn dkim_attributes(env: &Env) -> Value {
    let (status, body) = call(
        &env.server.http,
        &env.creds.access_key_id,
        &env.creds.secret_access_key,
        "GET",
        "/v2/email/identities/example.test",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["DkimAttributes"].clone()
}

/// Waits for the next automatic rotation: `LastKeyGenerationTimestamp` moves past `since`.
fn wait_rotation(env: &Env, since: &Value) -> Value {
    wait_for("an automatic Easy DKIM rotation", 60, || {
        let a = dkim_attributes(env);
        (a["LastKeyGenerationTimestamp"] != *since).then_some(a)
    })
}

/// The `p=` length of the key served for `token` through the chain (2048-bit keys are 392
/// base64 characters, 1024-bit ones 216).
fn served_key_len(resolver: SocketAddr, token: &str) -> usize {
    let txt = dig(resolver, &format!("{token}._domainkey.example.test"), "TXT");
    let joined: String = txt
        .lines()
        .last()
        .unwrap()
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    joined.split("p=").nth(1).unwrap_or_default().len()
}

/// Issue 5 "Done when" #3 (Q-92, D-72, D-77): with a rotation period of 15 s, messages signed
/// before a rotation (and verified after it, as mail in transit is), and after one and two
/// rotations, all verify through DNS; the signing selector follows the active role across the
/// stable tokens; `NextSigningKeyLength` applies to the key generated at rotation, which signs
/// one rotation later; `LastKeyGenerationTimestamp` / `CurrentSigningKeyLength` follow.
#[test]
fn messages_verify_before_during_and_after_rotations() {
    let net = Net {
        knot: "127.0.5.20:53",
        unbound: "127.0.5.21:53",
        postfix: "127.0.5.22:25",
        outbound: "127.0.5.1",
        dns: "127.0.5.54:0",
    };
    let knot = start_or_skip!(knot(&net));
    let postfix = start_or_skip!(PostfixMx::start(
        sa(net.postfix),
        "rcpt1.test",
        "mx.rcpt1.test"
    ));
    let env = start_sesame(&net, &knot, &[("SESAME_DKIM_ROTATION_SECONDS", "15")]);
    let unbound = start_or_skip!(Unbound::start(
        sa(net.unbound),
        &[
            ("example.test", knot.addr()),
            ("rcpt1.test", knot.addr()),
            ("platform.test", sa(&env.server.dns)),
        ]
    ));
    let t = env.tokens.clone();
    let (status, body) = call(
        &env.server.http,
        &env.creds.access_key_id,
        &env.creds.secret_access_key,
        "PUT",
        "/v2/email/identities/example.test/dkim/signing",
        r#"{"SigningAttributesOrigin":"AWS_SES","SigningAttributes":{"NextSigningKeyLength":"RSA_1024_BIT"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let a0 = dkim_attributes(&env);
    assert_eq!(a0["CurrentSigningKeyLength"], "RSA_2048_BIT", "{a0}");
    assert_eq!(a0["NextSigningKeyLength"], "RSA_1024_BIT", "{a0}");
    assert_eq!(a0["Tokens"], serde_json::json!(t), "{a0}");

    let deliver = |n: usize, subject: &str| -> Vec<u8> {
        send(&env, "alice@rcpt1.test", subject);
        let got = postfix.wait_delivered("alice", n, Duration::from_secs(60));
        assert_eq!(got.len(), n, "postfix log:\n{}", postfix.log());
        got.into_iter()
            .find(|m| String::from_utf8_lossy(m).contains(subject))
            .unwrap()
    };
    let verify = |raw: &[u8], selector: &str, when: &str| {
        let r = check(raw, unbound.addr(), net.outbound);
        assert_eq!(r["s"], selector, "{when}: {r}");
        assert_eq!(r["dkim"], true, "{when}: dkimpy through DNS: {r}");
    };

    // Before: the first token signs.
    let a = deliver(1, "message A before rotation");
    verify(&a, &t[0], "A before");

    // Rotation 1: the next key (token 2) signs; token 1 stays published as the previous key.
    let a1 = wait_rotation(&env, &a0["LastKeyGenerationTimestamp"]);
    verify(&a, &t[0], "A in transit across rotation 1");
    let b = deliver(2, "message B after rotation 1");
    verify(&b, &t[1], "B after rotation 1");
    assert_eq!(
        a1["Tokens"],
        serde_json::json!(t),
        "Q-92: CNAMEs stable: {a1}"
    );
    assert_eq!(a1["CurrentSigningKeyLength"], "RSA_2048_BIT", "{a1}");
    assert_eq!(served_key_len(unbound.addr(), &t[1]), 392);
    assert_eq!(
        served_key_len(unbound.addr(), &t[2]),
        216,
        "D-72: the key generated at rotation 1 has NextSigningKeyLength"
    );

    // Rotation 2: the 1024-bit key signs; B (token 2) still verifies as the previous key.
    let a2 = wait_rotation(&env, &a1["LastKeyGenerationTimestamp"]);
    verify(&b, &t[1], "B in transit across rotation 2");
    let c = deliver(3, "message C after rotation 2");
    verify(&c, &t[2], "C after rotation 2");
    assert_eq!(a2["CurrentSigningKeyLength"], "RSA_1024_BIT", "{a2}");
}

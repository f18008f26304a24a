//! The DNS doctor on the real binary (issue 5 item 5, docs/dns-doctor.md): an account's
//! Easy DKIM domain with a custom MAIL FROM, its records published in a real knot (the
//! customer's zone and the service domain's zone with the keys behind the CNAMEs), then
//! `sesame dns check` (text, CSV, BIND; exit codes 0/1/2) and the SigV4-signed
//! `GET /_sesame/dns-check` give the verdicts of seed000's tables.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{amz_now, call, cli_ok, http, sesame, Server};
use sesame_testpeers::{start_or_skip, zone_text, Knot};

const SD: &str = "platform.test";
const RESOLVER: &str = "127.0.8.54:5353";

fn env() -> [(&'static str, &'static str); 2] {
    [("SESAME_SERVICE_DOMAIN", SD), ("SESAME_RESOLVER", RESOLVER)]
}

/// `sesame dns check ARGS` → (exit code, stdout, stderr).
fn dns_check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = sesame(dir);
    c.args(["dns", "check"]).args(args);
    for (k, v) in env() {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn quoted(value: &str) -> String {
    value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", std::str::from_utf8(c).unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A SigV4-signed GET with a query string (service `ses`, region us-east-1).
fn signed_get(addr: &str, key: &str, secret: &str, path: &str, query: &str) -> (u16, String) {
    let ts = amz_now();
    let headers = vec![
        ("host".to_string(), addr.to_string()),
        ("x-amz-date".to_string(), ts.clone()),
    ];
    let req = sesame_sigv4::sigv4::Request {
        method: "GET",
        raw_path: path,
        raw_query: query,
        headers: &headers,
        body: b"",
    };
    let signed: Vec<String> = vec!["host".into(), "x-amz-date".into()];
    let auth = sesame_sigv4::sigv4::sign(&req, key, secret, "us-east-1", "ses", &ts, &signed);
    http(
        addr,
        &format!("GET {path}?{query} HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nAuthorization: {auth}\r\n"),
        "",
    )
}

#[test]
fn dns_check_on_the_binary_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let created: serde_json::Value =
        serde_json::from_str(&cli_ok(dir.path(), &["account", "create", "--json"])).unwrap();
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();

    let server = Server::start(dir.path(), &[], &env());
    let addr = server.http.clone();
    let (status, body) = call(
        &addr,
        &key,
        &secret,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"good.test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &addr,
        &key,
        &secret,
        "PUT",
        "/v2/email/identities/good.test/mail-from",
        r#"{"MailFromDomain":"bounce.good.test"}"#,
    );
    assert_eq!(status, 200, "{body}");

    // The records the operator and the customer publish (sesame identity dkim-records).
    let out = sesame(dir.path())
        .args([
            "identity",
            "dkim-records",
            "--json",
            "--account",
            &acct,
            "good.test",
        ])
        .envs(env())
        .output()
        .unwrap();
    assert!(out.status.success());
    let recs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recs = recs.as_array().unwrap();
    let mut customer = String::new();
    let mut platform = "spf 60 TXT \"v=spf1 ip4:127.0.8.1 ~all\"\n".to_string();
    let mut tokens = Vec::new();
    for r in recs {
        let (name, value) = (r["name"].as_str().unwrap(), r["value"].as_str().unwrap());
        match r["type"].as_str().unwrap() {
            "CNAME" => {
                tokens.push(name.split('.').next().unwrap().to_string());
                customer.push_str(&format!("{name}. 60 CNAME {value}.\n"));
            }
            _ => platform.push_str(&format!("{name}. 60 TXT {}\n", quoted(value))),
        }
    }
    assert_eq!(tokens.len(), 3);
    customer.push_str(&format!(
        "bounce 60 MX 10 feedback-smtp.us-east-1.{SD}.\n\
         bounce 60 TXT \"v=spf1 include:spf.{SD} ~all\"\n\
         @ 60 TXT \"v=spf1 include:spf.{SD} ~all\"\n\
         _dmarc 60 TXT \"v=DMARC1;p=reject;adkim=r;aspf=r;rua=mailto:dmarc@good.test\"\n"
    ));
    let strict = format!(
        "bounce 60 MX 10 feedback-smtp.us-east-1.{SD}.\n\
         bounce 60 TXT \"v=spf1 include:spf.{SD} ~all\"\n\
         _dmarc 60 TXT \"v=DMARC1;p=none;aspf=s\"\n"
    );
    let knot_addr: SocketAddr = RESOLVER.parse().unwrap();
    let zones = [
        ("good.test", zone_text("good.test", &customer)),
        ("strict.test", zone_text("strict.test", &strict)),
        (SD, zone_text(SD, &platform)),
    ];
    let refs: Vec<(&str, &str)> = zones.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let _knot = start_or_skip!(Knot::start(knot_addr, &refs));

    // 1. The good zone: ready for p=reject, exit 0.
    let (code, out, err) = dns_check(dir.path(), &["good.test", "--account", &acct]);
    assert_eq!(code, 0, "{out}\n{err}");
    for want in [
        "MAIL FROM: bounce.good.test (custom)",
        "DMARC via DKIM: PASS",
        "DMARC via SPF:  PASS",
        "Ready for p=quarantine: yes",
        "Ready for p=reject:     yes",
        "No problems found.",
        "(2048-bit RSA)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        err.contains("checking good.test through 127.0.8.54:5353"),
        "{err}"
    );
    for t in &tokens {
        assert!(
            out.contains(&format!("ok      CNAME  {t}._domainkey.good.test")),
            "{out}"
        );
    }

    // CSV (Q-79) and BIND.
    let (code, csv, _) = dns_check(
        dir.path(),
        &["good.test", "--account", &acct, "--format", "csv"],
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "Type,Name,Value");
    assert_eq!(
        lines[1],
        format!("CNAME,{0}._domainkey.good.test,{0}.dkim.{SD}", tokens[0])
    );
    assert!(lines.contains(&"MX,bounce.good.test,10 feedback-smtp.us-east-1.platform.test"));
    assert!(
        lines.contains(&"TXT,bounce.good.test,\"\"\"v=spf1 include:spf.platform.test ~all\"\"\"")
    );
    let (code, bind, _) = dns_check(
        dir.path(),
        &["good.test", "--account", &acct, "--format", "bind"],
    );
    assert_eq!(code, 0);
    assert!(bind.contains(&format!(
        "{0}._domainkey.good.test.\t3600\tIN\tCNAME\t{0}.dkim.{SD}.\t; ok",
        tokens[2]
    )));
    let (code, json, _) = dns_check(
        dir.path(),
        &["good.test", "--account", &acct, "--format", "json"],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ready_for_reject"], true);

    // 2. Strict SPF alignment with a MAIL FROM subdomain, no account (DKIM unknown): exit 1.
    let (code, out, err) = dns_check(dir.path(), &["strict.test", "--mail-from", "bounce"]);
    assert_eq!(code, 1, "{out}\n{err}");
    for want in [
        "DMARC via DKIM: UNKNOWN",
        "DMARC via SPF:  FAIL",
        "WARNING  [aspf_strict_mail_from] strict.test",
        "WARNING  [dkim_unknown] strict.test",
        "WARNING  [spf_missing] strict.test",
        "missing  TXT   strict.test ",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }

    // 3. Usage and DNS errors: exit 2.
    let (code, _, err) = dns_check(dir.path(), &["not a domain"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = dns_check(dir.path(), &["good.test", "--account", "12"]);
    assert_eq!(code, 2, "{err}");
    // knot refuses a zone it does not serve: nothing can be concluded.
    let (code, out, _) = dns_check(dir.path(), &["elsewhere.example"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("DNS ERROR"), "{out}");

    // 4. The API: the same report, for the signing account.
    let (status, body) = signed_get(
        &addr,
        &key,
        &secret,
        "/_sesame/dns-check",
        "domain=good.test",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["domain"], "good.test");
    assert_eq!(v["dmarc_via_dkim"], "pass");
    assert_eq!(v["dmarc_via_spf"], "pass");
    assert_eq!(v["ready_for_reject"], true);
    assert_eq!(v["findings"], serde_json::json!([]));
    let (status, body) = signed_get(
        &addr,
        &key,
        &secret,
        "/_sesame/dns-check",
        "domain=strict.test&mail_from=bounce",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["dmarc_via_spf"], "fail");
    let (status, body) = signed_get(&addr, &key, &secret, "/_sesame/dns-check", "domain=bad_");
    assert_eq!(status, 400, "{body}");
    // Unsigned: refused like any SES call.
    let (status, _) = http(
        &addr,
        &format!("GET /_sesame/dns-check?domain=good.test HTTP/1.1\r\nHost: {addr}\r\n"),
        "",
    );
    assert_eq!(status, 403);
}

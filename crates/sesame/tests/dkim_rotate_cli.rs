//! `sesame identity dkim-rotate` against a running server (DECISIONS Q-92): the roles move
//! behind the stable tokens, the running server's DNS responder serves the fresh key within
//! its 2 s cache, `GetEmailIdentity` shows the new `LastKeyGenerationTimestamp`; BYODKIM
//! domains and unknown identities are refused. Automatic rotation is off here.
//!
//! Addresses: 127.0.5.0/24.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{api_ok, create_account, Server};
use serde_json::Value;

const SD: (&str, &str) = ("SESAME_SERVICE_DOMAIN", "platform.test");

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    common::sesame(dir)
        .env(SD.0, SD.1)
        .args(args)
        .output()
        .unwrap()
}

/// `(token, p=)` in role order (active, next, previous).
fn keys(dir: &Path, account: &str, identity: &str) -> Vec<(String, String)> {
    let out = cli(
        dir,
        &[
            "identity",
            "dkim-records",
            "--json",
            "--account",
            account,
            identity,
        ],
    );
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "TXT")
        .map(|r| {
            let token = r["name"].as_str().unwrap().split('.').next().unwrap();
            let p = r["value"].as_str().unwrap().split("p=").nth(1).unwrap();
            (token.to_string(), p.to_string())
        })
        .collect()
}

fn served(dns: &str, token: &str) -> String {
    let (ip, port) = dns.rsplit_once(':').unwrap();
    let out = Command::new("dig")
        .args([
            &format!("@{ip}"),
            "-p",
            port,
            "+short",
            "+norec",
            &format!("{token}.dkim.platform.test"),
            "TXT",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let joined: String = text
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    joined.split("p=").nth(1).unwrap_or_default().to_string()
}

#[test]
fn dkim_rotate_moves_roles_and_the_running_zone_follows() {
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let server = Server::start(
        dir.path(),
        &[],
        &[
            SD,
            ("SESAME_DNS_ADDR", "127.0.5.70:0"),
            ("SESAME_DKIM_ROTATION_SECONDS", "off"),
            ("SESAME_DELIVERY_MODE", "hold"),
            ("SESAME_LOG", "error"),
        ],
    );
    let api = |method: &str, path: &str, body: &str| {
        let resp = api_ok(&server, &creds, method, path, body);
        serde_json::from_str::<Value>(&resp).unwrap_or(Value::Null)
    };
    api(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    let before = api("GET", "/v2/email/identities/example.test", "")["DkimAttributes"].clone();
    let k0 = keys(dir.path(), &creds.account_id, "example.test");
    assert_eq!(served(&server.dns, &k0[2].0), k0[2].1);
    std::thread::sleep(Duration::from_millis(1100)); // a visibly later timestamp (seconds)

    let out = cli(
        dir.path(),
        &[
            "identity",
            "dkim-rotate",
            "--account",
            &creds.account_id,
            "example.test",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "example.test: Easy DKIM keys rotated"
    );
    let k1 = keys(dir.path(), &creds.account_id, "example.test");
    assert_eq!(
        (&k1[0], &k1[1].0, &k1[2]),
        (&k0[1], &k0[2].0, &k0[0]),
        "active <- next, fresh next under the previous token, previous <- active"
    );
    assert_ne!(k1[1].1, k0[2].1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while served(&server.dns, &k1[1].0) != k1[1].1 {
        assert!(
            Instant::now() < deadline,
            "the zone never served the fresh key"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = api("GET", "/v2/email/identities/example.test", "")["DkimAttributes"].clone();
    assert_eq!(after["Tokens"], before["Tokens"], "Q-92: stable CNAMEs");
    assert!(
        after["LastKeyGenerationTimestamp"].as_f64().unwrap()
            > before["LastKeyGenerationTimestamp"].as_f64().unwrap(),
        "{before} {after}"
    );

    // Refusals: an identity that does not exist; a BYODKIM domain (the customer's key).
    let out = cli(
        dir.path(),
        &[
            "identity",
            "dkim-rotate",
            "--account",
            &creds.account_id,
            "nope.test",
        ],
    );
    assert!(!out.status.success());
    let byo = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
        ])
        .output()
        .unwrap();
    let pem = String::from_utf8(byo.stdout).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    api(
        "POST",
        "/v2/email/identities",
        &serde_json::json!({"EmailIdentity": "byo.test", "DkimSigningAttributes": {
            "DomainSigningSelector": "sel1", "DomainSigningPrivateKey": b64}})
        .to_string(),
    );
    let out = cli(
        dir.path(),
        &[
            "identity",
            "dkim-rotate",
            "--account",
            &creds.account_id,
            "byo.test",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Easy DKIM keys to rotate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // BYODKIM selectors are never served from our zone (they live in the customer's DNS).
    assert_eq!(served(&server.dns, "sel1"), "");
}

//! DNS verification inside `sesame serve` and from the operator CLI, against a real knot
//! (TESTING-WITH-REAL-PEERS.md §1) whose records change at runtime:
//! - the server's loop checks a new domain at once (Q-81) and fills v2 `VerificationInfo`
//!   (`ErrorType`, `LastCheckedTimestamp`, `LastSuccessTimestamp`, `SOARecord`; Q-85);
//! - publishing the three CNAMEs makes it `SUCCESS` without any operator action (D-26);
//! - `sesame identity check` on the running server's store prints what was looked up and found
//!   and moves the status to `TEMPORARY_FAILURE` when a record is removed (D-39);
//! - `sesame identity verify` without `--force` runs the same check.
//!
//! Addresses: knot on 127.0.6.7:5353.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{call, create_account, sesame, Server};
use sesame_testpeers::{start_or_skip, zone_text, Knot};

const SD: &str = "platform.test";

fn env(dns: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("SESAME_RESOLVER", dns.to_string()),
        ("SESAME_SERVICE_DOMAIN", SD.to_string()),
        ("SESAME_VERIFICATION_WINDOW_SECONDS", "600".to_string()),
        (
            "SESAME_VERIFICATION_PENDING_INTERVAL_SECONDS",
            "1".to_string(),
        ),
        (
            "SESAME_VERIFICATION_RETRY_INTERVAL_SECONDS",
            "1".to_string(),
        ),
        (
            "SESAME_VERIFICATION_SUCCESS_INTERVAL_SECONDS",
            "3600".to_string(),
        ),
        ("SESAME_VERIFICATION_POLL_SECONDS", "1".to_string()),
    ]
}

fn cli(dir: &std::path::Path, dns: SocketAddr, args: &[&str]) -> String {
    let mut c = sesame(dir);
    for (k, v) in env(dns) {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "sesame {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn wait_for(what: &str, mut f: impl FnMut() -> Option<serde_json::Value>) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn server_loop_and_cli_check() {
    let dns: SocketAddr = "127.0.6.7:5353".parse().unwrap();
    let knot = start_or_skip!(Knot::start(
        dns,
        &[("example.test", &zone_text("example.test", ""))]
    ));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let env_owned = env(dns);
    let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(dir.path(), &[], &env);
    let api = |method: &str, path: &str, body: &str| {
        let (code, body) = call(
            &server.http,
            &creds.access_key_id,
            &creds.secret_access_key,
            method,
            path,
            body,
        );
        assert_eq!(code, 200, "{method} {path}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let created = api(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    let tokens: Vec<String> = created["DkimAttributes"]["Tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tokens.len(), 3);

    // Checked at once by the server's loop: nothing published yet.
    let got = wait_for("the first check", || {
        let v = api("GET", "/v2/email/identities/example.test", "");
        v["VerificationInfo"]["LastCheckedTimestamp"]
            .is_number()
            .then_some(v)
    });
    assert_eq!(got["VerificationStatus"], "PENDING");
    assert_eq!(got["VerificationInfo"]["ErrorType"], "HOST_NOT_FOUND");
    assert!(got["VerificationInfo"]["LastSuccessTimestamp"].is_null());
    assert_eq!(
        got["VerificationInfo"]["SOARecord"]["PrimaryNameServer"],
        "ns.example.test"
    );
    assert_eq!(got["VerificationInfo"]["SOARecord"]["SerialNumber"], 1);

    // The user publishes the records; the server notices by itself.
    for t in &tokens {
        knot.set(
            "example.test",
            &format!("{t}._domainkey"),
            60,
            "CNAME",
            &format!("{t}.dkim.{SD}."),
        )
        .unwrap();
    }
    let got = wait_for("SUCCESS", || {
        let v = api("GET", "/v2/email/identities/example.test", "");
        (v["VerificationStatus"] == "SUCCESS").then_some(v)
    });
    assert_eq!(got["DkimAttributes"]["Status"], "SUCCESS");
    assert_eq!(got["VerifiedForSendingStatus"], true);
    assert!(got["VerificationInfo"]["LastSuccessTimestamp"].is_number());
    assert!(got["VerificationInfo"].get("ErrorType").is_none(), "{got}");

    // The operator's on-demand check, while the server runs, after a record was removed.
    knot.unset(
        "example.test",
        &format!("{}._domainkey", tokens[1]),
        Some("CNAME"),
    )
    .unwrap();
    let out = cli(
        dir.path(),
        dns,
        &[
            "identity",
            "check",
            "--account",
            &creds.account_id,
            "example.test",
        ],
    );
    assert!(out.contains(&format!("checked with {dns}")), "{out}");
    assert!(
        out.contains(&format!("{}._domainkey.example.test CNAME", tokens[0])),
        "{out}"
    );
    assert!(
        out.contains(&format!("found:    {}.dkim.{SD}", tokens[0])),
        "{out}"
    );
    assert!(out.contains("result:   HOST_NOT_FOUND"), "{out}");
    assert!(
        out.contains("changed: DKIM SUCCESS -> TEMPORARY_FAILURE"),
        "{out}"
    );
    assert!(out.contains("dkim       TEMPORARY_FAILURE"), "{out}");
    let got = api("GET", "/v2/email/identities/example.test", "");
    assert_eq!(got["DkimAttributes"]["Status"], "TEMPORARY_FAILURE");
    assert_eq!(got["VerificationInfo"]["ErrorType"], "HOST_NOT_FOUND");

    // `identity verify` without --force checks DNS (and the server's loop would too).
    knot.set(
        "example.test",
        &format!("{}._domainkey", tokens[1]),
        60,
        "CNAME",
        &format!("{}.dkim.{SD}.", tokens[1]),
    )
    .unwrap();
    let out = cli(
        dir.path(),
        dns,
        &[
            "identity",
            "verify",
            "--account",
            &creds.account_id,
            "example.test",
        ],
    );
    assert!(out.starts_with("checking DNS"), "{out}");
    assert!(out.contains("dkim       SUCCESS"), "{out}");
    let got = api("GET", "/v2/email/identities/example.test", "");
    assert_eq!(got["DkimAttributes"]["Status"], "SUCCESS");
}

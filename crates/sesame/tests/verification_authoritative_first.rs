//! DECISIONS Q-80: verification asks the zone's **authoritative** servers first, falling back
//! to the configured resolver.
//!
//! Peers, on loopback: knot "fresh" (127.0.10.40:53) is the authoritative server of
//! `example.test` (its NS `ns.example.test` has that address); knot "stale" (127.0.10.41:53),
//! the configured `SESAME_RESOLVER`, holds an old copy of `example.test` without the DKIM
//! CNAMEs, and the only copy of `other.test`, whose NS address (127.0.10.49) has no server.

mod common;

use std::net::SocketAddr;

use common::{api_ok, cli_ok, create_account, sesame, Server};
use serde_json::Value;
use sesame_testpeers::{start_or_skip, zone_text, Knot};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const FRESH: &str = "127.0.10.40:53";
const STALE: &str = "127.0.10.41:53";

/// `sesame identity check` with the given extra environment; returns stdout.
fn check(dir: &std::path::Path, account: &str, identity: &str, env: &[(&str, &str)]) -> String {
    let mut c = sesame(dir);
    c.env("SESAME_SERVICE_DOMAIN", "platform.test")
        .env("SESAME_RESOLVER", STALE);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
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

/// Q-80: CNAMEs published on the authoritative server but absent from the resolver's copy
/// verify (authoritative first); with `verification_authoritative_first = false` the same
/// check asks only the resolver and finds nothing; a zone whose servers cannot be reached is
/// checked through the resolver (fallback).
#[test]
fn verification_asks_the_authoritative_servers_first() {
    let fresh = start_or_skip!(Knot::start(
        sa(FRESH),
        &[(
            "example.test",
            &zone_text("example.test", "ns A 127.0.10.40")
        )]
    ));
    let stale = start_or_skip!(Knot::start(
        sa(STALE),
        &[
            (
                "example.test",
                &zone_text("example.test", "ns A 127.0.10.40")
            ),
            ("other.test", &zone_text("other.test", "ns A 127.0.10.49")),
        ]
    ));
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &creds.account_id],
    );
    let server = Server::start(
        dir.path(),
        &["--dev"],
        &[
            ("SESAME_SERVICE_DOMAIN", "platform.test"),
            ("SESAME_RESOLVER", STALE),
            ("SESAME_DNS_ADDR", "off"),
            // The scheduled checks must not race the on-demand ones of this test.
            ("SESAME_VERIFICATION_POLL_SECONDS", "3600"),
        ],
    );
    let api = |method: &str, path: &str, body: &str| -> Value {
        let resp = api_ok(&server, &creds, method, path, body);
        serde_json::from_str(&resp).unwrap_or(Value::Null)
    };
    let tokens = |domain: &str| -> Vec<String> {
        api(
            "POST",
            "/v2/email/identities",
            &format!(r#"{{"EmailIdentity":"{domain}"}}"#),
        );
        let v = api("GET", &format!("/v2/email/identities/{domain}"), "");
        v["DkimAttributes"]["Tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    let dkim_status = |domain: &str| -> String {
        let v = api("GET", &format!("/v2/email/identities/{domain}"), "");
        v["DkimAttributes"]["Status"].as_str().unwrap().to_string()
    };

    // Published on the authoritative server only.
    for t in tokens("example.test") {
        fresh
            .set(
                "example.test",
                &format!("{t}._domainkey"),
                60,
                "CNAME",
                &format!("{t}.dkim.platform.test."),
            )
            .unwrap();
    }
    // Resolver only: the same check sees nothing (the resolver would answer differently).
    let out = check(
        dir.path(),
        &creds.account_id,
        "example.test",
        &[("SESAME_VERIFICATION_AUTHORITATIVE_FIRST", "false")],
    );
    assert!(out.contains("HOST_NOT_FOUND"), "{out}");
    assert!(!out.contains("authoritative servers first"), "{out}");
    assert_eq!(dkim_status("example.test"), "PENDING", "{out}");
    // Authoritative first: found.
    let out = check(dir.path(), &creds.account_id, "example.test", &[]);
    assert!(
        out.contains(&format!(
            "checked with {STALE} (the zone's authoritative servers first, Q-80)"
        )),
        "{out}"
    );
    assert_eq!(dkim_status("example.test"), "SUCCESS", "{out}");

    // Removed on the authoritative server, still in no cache that matters: the check sees the
    // removal at once (the resolver's copy never had it; authoritative NXDOMAIN is final).
    let t0 = api("GET", "/v2/email/identities/example.test", "")["DkimAttributes"]["Tokens"][0]
        .as_str()
        .unwrap()
        .to_string();
    fresh
        .unset("example.test", &format!("{t0}._domainkey"), None)
        .unwrap();
    let out = check(dir.path(), &creds.account_id, "example.test", &[]);
    assert_eq!(dkim_status("example.test"), "TEMPORARY_FAILURE", "{out}");

    // other.test: its NS address has no server; the resolver's answer is used.
    for t in tokens("other.test") {
        stale
            .set(
                "other.test",
                &format!("{t}._domainkey"),
                60,
                "CNAME",
                &format!("{t}.dkim.platform.test."),
            )
            .unwrap();
    }
    let out = check(dir.path(), &creds.account_id, "other.test", &[]);
    assert_eq!(dkim_status("other.test"), "SUCCESS", "{out}");
}

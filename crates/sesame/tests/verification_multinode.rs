//! Two `sesame serve` nodes sharing one PostgreSQL database run the verification loop side by
//! side (issue 5: "from several nodes without duplicate work"): every identity is checked once
//! per due time, never twice at once, and the audit (`sesame identity audit --json`) shows which
//! node did each check. Needs `SESAME_TEST_DATABASE_URL` (a fresh database is created on that
//! server and dropped at the end) and knot; skipped otherwise. Knot on 127.0.6.9:5353.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{call, sesame, Server};
use sesame_testpeers::{start_or_skip, zone_text, Knot};

const PENDING_EVERY_MS: i64 = 2_000;

struct Db {
    admin: String,
    name: String,
    url: String,
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn fresh_db() -> Option<Db> {
    let base = std::env::var("SESAME_TEST_DATABASE_URL").ok()?;
    if Command::new("psql").arg("--version").output().is_err() {
        eprintln!("SKIPPED: psql (postgresql-client) is not installed");
        return None;
    }
    let base = base.split('?').next().unwrap().to_string();
    let server = base.rsplit_once('/').unwrap().0.to_string();
    let name = format!("sesame_verif_{}", std::process::id());
    let out = Command::new("psql")
        .args([&base, "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(Db {
        admin: base,
        url: format!("{server}/{name}"),
        name,
    })
}

fn env(dns: SocketAddr, db: &Db) -> Vec<(&'static str, String)> {
    vec![
        ("SESAME_DATABASE_URL", db.url.clone()),
        ("SESAME_MASTER_KEY", "11".repeat(32)),
        ("SESAME_RESOLVER", dns.to_string()),
        ("SESAME_SERVICE_DOMAIN", "platform.test".into()),
        ("SESAME_VERIFICATION_WINDOW_SECONDS", "600".into()),
        (
            "SESAME_VERIFICATION_PENDING_INTERVAL_SECONDS",
            (PENDING_EVERY_MS / 1000).to_string(),
        ),
        ("SESAME_VERIFICATION_RETRY_INTERVAL_SECONDS", "2".into()),
        ("SESAME_VERIFICATION_POLL_SECONDS", "1".into()),
    ]
}

fn cli(dir: &Path, env: &[(&'static str, String)], args: &[&str]) -> String {
    let mut c = sesame(dir);
    for (k, v) in env {
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

#[test]
fn two_nodes_never_check_one_identity_twice() {
    let Some(db) = fresh_db() else {
        eprintln!("SKIPPED: SESAME_TEST_DATABASE_URL is not set (or no psql)");
        return;
    };
    let dns: SocketAddr = "127.0.6.9:5353".parse().unwrap();
    let _knot = start_or_skip!(Knot::start(
        dns,
        &[("multi.test", &zone_text("multi.test", ""))]
    ));
    let env = env(dns, &db);
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let v: serde_json::Value =
        serde_json::from_str(&cli(a.path(), &env, &["account", "create", "--json"])).unwrap();
    let (acct, key, secret) = (
        v["account_id"].as_str().unwrap().to_string(),
        v["access_key_id"].as_str().unwrap().to_string(),
        v["secret_access_key"].as_str().unwrap().to_string(),
    );
    let node_a = Server::start(a.path(), &[], &envs);
    let node_b = Server::start(b.path(), &[], &envs);
    let n = 12;
    for i in 0..n {
        let (code, body) = call(
            &node_a.http,
            &key,
            &secret,
            "POST",
            "/v2/email/identities",
            &format!(r#"{{"EmailIdentity":"u{i}@multi.test"}}"#),
        );
        assert_eq!(code, 200, "{body}");
        let (code, body) = call(
            &node_b.http,
            &key,
            &secret,
            "PUT",
            &format!("/v2/email/identities/u{i}%40multi.test/mail-from"),
            &format!(r#"{{"MailFromDomain":"b{i}.multi.test"}}"#),
        );
        assert_eq!(code, 200, "{body}");
    }
    std::thread::sleep(Duration::from_secs(7));
    drop(node_a);
    drop(node_b);

    let mut nodes = BTreeSet::new();
    for i in 0..n {
        let out = cli(
            a.path(),
            &env,
            &[
                "identity",
                "audit",
                "--json",
                "--account",
                &acct,
                &format!("u{i}@multi.test"),
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let checks = v["checks"].as_array().unwrap();
        assert!(checks.len() >= 2, "u{i}: {out}");
        let times: Vec<i64> = checks
            .iter()
            .map(|c| c["checked_at"].as_i64().unwrap())
            .collect();
        for w in times.windows(2) {
            // The next check is due PENDING_EVERY_MS after the previous one ended; a second
            // node checking the same identity meanwhile would show up as a shorter gap.
            assert!(
                w[1] - w[0] >= PENDING_EVERY_MS - 50,
                "u{i} checked twice: {times:?}"
            );
        }
        for c in checks {
            assert_eq!(c["lookups"][0]["name"], format!("b{i}.multi.test"));
            assert_eq!(c["lookups"][0]["result"], "HOST_NOT_FOUND");
            assert_eq!(c["statuses"]["MAIL_FROM"], "PENDING");
            nodes.insert(c["node"].as_str().unwrap().to_string());
        }
    }
    eprintln!("checks were run by {nodes:?}");
    assert!(!nodes.is_empty());
}

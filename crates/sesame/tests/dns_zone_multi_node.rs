//! Two `sesame serve` nodes sharing one PostgreSQL database (DECISIONS Q-65, Q-92): the DKIM
//! keys of an identity created through one node are served by the other node's DNS responder
//! (the store is the source of truth, no node-local state), and with both nodes running the
//! rotation job a due domain is rotated exactly once per period (compare-and-swap).
//!
//! Needs `SESAME_TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`); skipped
//! without it. Each run uses a fresh schema. Addresses: 127.0.5.0/24.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{call, Server};
use serde_json::Value;

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cli(dir: &Path, env: &[(&str, String)], args: &[&str]) -> String {
    let mut c = common::sesame(dir);
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

/// `(token, p=)` in role order (active, next, previous), from `dkim-records --json`.
fn keys(dir: &Path, env: &[(&str, String)], account: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(&cli(
        dir,
        env,
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
    v.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "TXT")
        .map(|r| {
            let token = r["name"]
                .as_str()
                .unwrap()
                .strip_suffix(".dkim.platform.test")
                .unwrap()
                .to_string();
            let p = r["value"].as_str().unwrap().split("p=").nth(1).unwrap();
            (token, p.to_string())
        })
        .collect()
}

/// The `p=` a node's responder serves for `token` (strings of the TXT joined).
fn served(dns: &str, token: &str) -> String {
    served_at(dns, &format!("{token}.dkim.platform.test"))
}

/// The `p=` a node's responder serves at `name`.
fn served_at(dns: &str, name: &str) -> String {
    let (ip, port) = dns.rsplit_once(':').unwrap();
    let out = Command::new("dig")
        .args([
            &format!("@{ip}"),
            "-p",
            port,
            "+short",
            "+norec",
            "+time=2",
            "+tries=1",
            name,
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

#[test]
fn two_nodes_serve_the_same_keys_and_rotate_once() {
    let Ok(base) = std::env::var("SESAME_TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: SESAME_TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("sesame_dns_{}", std::process::id());
    psql(
        &base,
        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
    );
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let env: Vec<(&str, String)> = vec![
        ("SESAME_DATABASE_URL", url),
        ("SESAME_MASTER_KEY", "11".repeat(32)),
        ("SESAME_SERVICE_DOMAIN", "platform.test".into()),
        ("SESAME_DELIVERY_MODE", "hold".into()),
        ("SESAME_DKIM_ROTATION_SECONDS", "8".into()),
        ("SESAME_LOG", "error".into()),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let v: Value =
        serde_json::from_str(&cli(dir_a.path(), &env, &["account", "create", "--json"])).unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    let (account, key, secret) = (s("account_id"), s("access_key_id"), s("secret_access_key"));
    let start = |dir: &Path, dns: &str| {
        let mut e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        e.push(("SESAME_DNS_ADDR", dns));
        Server::start(dir, &[], &e)
    };
    let a = start(dir_a.path(), "127.0.5.60:0");
    let b = start(dir_b.path(), "127.0.5.61:0");

    // Q-72: the operator key was generated once (by A, the first to start) and B loaded it:
    // both publish the same key.
    let op_a = served_at(&a.dns, "sesame1._domainkey.platform.test");
    assert!(op_a.starts_with("MII"), "{op_a:?}");
    assert_eq!(served_at(&b.dns, "sesame1._domainkey.platform.test"), op_a);

    // Created through node A, served by node B.
    let (status, body) = call(
        &a.http,
        &key,
        &secret,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let k0 = keys(dir_a.path(), &env, &account);
    assert_eq!(k0.len(), 3);
    for (token, p) in &k0 {
        assert_eq!(&served(&b.dns, token), p, "node B serves {token}");
        assert_eq!(&served(&a.dns, token), p, "node A serves {token}");
    }

    // Both nodes sweep every 2 s; the first rotation (8 s after creation) happens once.
    let k1 = wait_for("the first rotation", 30, || {
        let k = keys(dir_a.path(), &env, &account);
        (k[0].0 != k0[0].0).then_some(k)
    });
    assert_eq!(k1[0], k0[1], "the next key became active");
    assert_eq!(k1[2], k0[0], "the active key became the previous one");
    assert_eq!(
        k1[1].0, k0[2].0,
        "the fresh key is under the old previous token"
    );
    assert_ne!(k1[1].1, k0[2].1, "a new key was generated");
    // A second node rotating the same period would move the roles again within a sweep.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        keys(dir_a.path(), &env, &account),
        k1,
        "rotated once, not once per node"
    );
    // Both responders serve the new key after their 2 s cache.
    for dns in [&a.dns, &b.dns] {
        let fresh = &k1[1];
        wait_for("the fresh key in DNS", 10, || {
            (served(dns, &fresh.0) == fresh.1).then_some(())
        });
    }
    drop((a, b));
    psql(&base, &format!("DROP SCHEMA {schema} CASCADE"));
}

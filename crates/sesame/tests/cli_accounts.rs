//! The operator CLI against a real data directory: `sesame account create --json` prints the
//! credentials contract of the foundation issue, ids can be imported, and the SMTP
//! password is the SES derivation of the secret (spec B-10).

mod common;

fn sesame(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::sesame(dir).args(args).output().expect("run sesame")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn account_create_json_prints_the_credentials_contract() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&sesame(
        dir.path(),
        &["account", "create", "--name", "acme", "--json"],
    ));
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "access_key_id",
            "account_id",
            "secret_access_key",
            "smtp_password",
            "smtp_username"
        ]
    );
    let id = v["account_id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    let key = v["access_key_id"].as_str().unwrap();
    assert!(key.starts_with("AKIA") && key.len() == 20, "{key}");
    assert_eq!(v["smtp_username"], v["access_key_id"]);
    let secret = v["secret_access_key"].as_str().unwrap();
    assert_eq!(secret.len(), 40);
    assert_eq!(
        v["smtp_password"].as_str().unwrap(),
        sesame_sigv4::smtp_password::derive_smtp_password(secret, "us-east-1")
    );
    // The secret is stored encrypted: the database file never contains it in clear.
    let db = std::fs::read(dir.path().join("sesame.db")).unwrap();
    let wal = std::fs::read(dir.path().join("sesame.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let list = sesame(dir.path(), &["account", "list", "--json"]);
    let list = json(&list);
    assert_eq!(list[0]["account_id"], id);
    assert_eq!(list[0]["name"], "acme");
}

#[test]
fn operator_can_choose_ids_and_import_a_key_pair() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&sesame(
        dir.path(),
        &[
            "account",
            "create",
            "--account-id",
            "123456789012",
            "--access-key-id",
            "AKIAIOSFODNN7EXAMPLE",
            "--secret-access-key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "--json",
        ],
    ));
    assert_eq!(v["account_id"], "123456789012");
    assert_eq!(v["access_key_id"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        v["secret_access_key"],
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    );

    // Same id again: refused with a clear message.
    let dup = sesame(
        dir.path(),
        &[
            "account",
            "create",
            "--account-id",
            "123456789012",
            "--json",
        ],
    );
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    // A second key, then list and delete.
    let k = json(&sesame(
        dir.path(),
        &["key", "create", "--account", "123456789012", "--json"],
    ));
    let second = k["access_key_id"].as_str().unwrap().to_string();
    let keys = json(&sesame(
        dir.path(),
        &["key", "list", "--account", "123456789012", "--json"],
    ));
    let ids: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["access_key_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["AKIAIOSFODNN7EXAMPLE", second.as_str()]);
    let del = sesame(
        dir.path(),
        &["key", "delete", "--account", "123456789012", &second],
    );
    assert!(del.status.success());
    let again = sesame(
        dir.path(),
        &["key", "delete", "--account", "123456789012", &second],
    );
    assert!(!again.status.success());

    // Bad account ids are refused before touching the store.
    let bad = sesame(dir.path(), &["account", "production", "--account", "12"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("12 digits"));
}

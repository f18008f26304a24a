//! The real binary on a real port: a SigV4-signed v2 call is acknowledged only after the
//! identity is stored, survives `kill -9` and a restart on the same data directory, and stays
//! invisible to another account (issue "Done when": restart, kill -9, isolation).

mod common;

use common::{call, cli_ok, create_account, Server};

#[test]
fn acknowledged_identity_survives_kill9_and_stays_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let a = create_account(dir.path());
    let b = create_account(dir.path());
    let (acct_a, key_a, secret_a) = (a.account_id, a.access_key_id, a.secret_access_key);
    let (key_b, secret_b) = (b.access_key_id, b.secret_access_key);

    let mut server = Server::start(dir.path(), &[], &[]);
    let (status, body) = call(
        &server.http,
        &key_a,
        &secret_a,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"durable.example"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["IdentityType"], "DOMAIN");
    assert_eq!(v["DkimAttributes"]["Tokens"].as_array().unwrap().len(), 3);

    // kill -9 right after the acknowledgement.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = Server::start(dir.path(), &[], &[]);
    let (status, body) = call(
        &server.http,
        &key_a,
        &secret_a,
        "GET",
        "/v2/email/identities/durable.example",
        "",
    );
    assert_eq!(status, 200, "{body}");
    let got: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        got["DkimAttributes"]["Tokens"],
        v["DkimAttributes"]["Tokens"]
    );
    assert_eq!(got["VerificationStatus"], "PENDING");

    // Account B sees nothing of A's.
    let (status, body) = call(
        &server.http,
        &key_b,
        &secret_b,
        "GET",
        "/v2/email/identities/durable.example",
        "",
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("NotFoundException"));

    // The operator override works while the server runs (sending issue, item 5).
    cli_ok(
        dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &acct_a,
            "durable.example",
        ],
    );
    let (_, body) = call(
        &server.http,
        &key_a,
        &secret_a,
        "GET",
        "/v2/email/identities/durable.example",
        "",
    );
    let got: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got["VerificationStatus"], "SUCCESS");
    assert_eq!(got["VerifiedForSendingStatus"], true);
    assert_eq!(got["DkimAttributes"]["Status"], "SUCCESS");

    // A wrong secret is refused with the v2 signature error.
    let (status, body) = call(
        &server.http,
        &key_a,
        "not-the-secret",
        "GET",
        "/v2/email/identities/durable.example",
        "",
    );
    assert_eq!(status, 403);
    assert!(body.contains("InvalidSignatureException"), "{body}");
}

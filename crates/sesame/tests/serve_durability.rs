//! The real binary on a real port: a SigV4-signed v2 call is acknowledged only after the
//! identity is stored, survives `kill -9` and a restart on the same data directory, and stays
//! invisible to another account (issue "Done when": restart, kill -9, isolation).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["serve"])
        .env("SESAME_DATA_DIR", dir)
        .env("SESAME_HTTP_ADDR", "127.0.0.1:0")
        // This test is about the API; the SMTP listeners (and their certificate) are covered by
        // smtp_submission.rs.
        .env("SESAME_SUBMISSION_ADDR", "off")
        .env("SESAME_SUBMISSION_TLS_ADDR", "off")
        .env("SESAME_LOG", "warn")
        .env_remove("SESAME_DATABASE_URL")
        .env_remove("SESAME_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sesame serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before ready").unwrap();
        // `sesame ready http=ADDR submission=… submission_tls=…`: only the HTTP address.
        if let Some(rest) = line.strip_prefix("sesame ready http=") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    Server { child, addr }
}

fn create_account(dir: &std::path::Path) -> (String, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["account", "create", "--json"])
        .env("SESAME_DATA_DIR", dir)
        .env_remove("SESAME_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["account_id"].as_str().unwrap().into(),
        v["access_key_id"].as_str().unwrap().into(),
        v["secret_access_key"].as_str().unwrap().into(),
    )
}

fn amz_now() -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc().format(&f).unwrap()
}

/// Sends a SigV4-signed request and returns (status, body).
fn call(
    addr: &str,
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let ts = amz_now();
    let headers = vec![
        ("host".to_string(), addr.to_string()),
        ("x-amz-date".to_string(), ts.clone()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let req = sesame_sigv4::sigv4::Request {
        method,
        raw_path: path,
        raw_query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let signed: Vec<String> = vec!["content-type".into(), "host".into(), "x-amz-date".into()];
    let auth = sesame_sigv4::sigv4::sign(&req, key, secret, "us-east-1", "ses", &ts, &signed);
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp[9..12].parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn acknowledged_identity_survives_kill9_and_stays_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let (acct_a, key_a, secret_a) = create_account(dir.path());
    let (_acct_b, key_b, secret_b) = create_account(dir.path());

    let mut server = start(dir.path());
    let (status, body) = call(
        &server.addr,
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

    let server = start(dir.path());
    let (status, body) = call(
        &server.addr,
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
        &server.addr,
        &key_b,
        &secret_b,
        "GET",
        "/v2/email/identities/durable.example",
        "",
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("NotFoundException"));

    // The operator override works while the server runs (sending issue, item 5).
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args([
            "identity",
            "verify",
            "--force",
            "--account",
            &acct_a,
            "durable.example",
        ])
        .env("SESAME_DATA_DIR", dir.path())
        .env_remove("SESAME_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, body) = call(
        &server.addr,
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
        &server.addr,
        &key_a,
        "not-the-secret",
        "GET",
        "/v2/email/identities/durable.example",
        "",
    );
    assert_eq!(status, 403);
    assert!(body.contains("InvalidSignatureException"), "{body}");
}

//! Shared harness of the binary's integration tests (KumoMTA style): the real `sesame` binary
//! in a temp data dir, every listener on port 0, addresses read from the ready line, the child
//! killed on drop; plus SigV4-signed HTTP calls and the operator CLI.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `sesame` with a clean environment pointing at `dir` (SQLite in the data dir).
pub fn sesame(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sesame"));
    c.env("SESAME_DATA_DIR", dir)
        .env("SESAME_LOG", "warn")
        // Listeners with fixed default ports are off unless a test turns them on (port 0).
        .env("SESAME_MX_ADDR", "off")
        .env("SESAME_DNS_ADDR", "off")
        .env_remove("SESAME_DKIM_ROTATION_SECONDS")
        .env_remove("SESAME_DATABASE_URL")
        .env_remove("SESAME_MASTER_KEY")
        .env_remove("SESAME_REGIONS")
        .env_remove("SESAME_DELIVERY_MODE")
        .env_remove("SESAME_SMTP_REGION")
        .env_remove("SESAME_SMTP_HOSTNAME");
    c
}

/// Runs a CLI command that must succeed; returns its stdout.
pub fn cli_ok(dir: &Path, args: &[&str]) -> String {
    let out = sesame(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "sesame {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Credentials printed by `sesame account create --json`.
pub struct Creds {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub smtp_password: String,
}

pub fn create_account(dir: &Path) -> Creds {
    let v: serde_json::Value =
        serde_json::from_str(&cli_ok(dir, &["account", "create", "--json"])).unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    assert_eq!(s("smtp_username"), s("access_key_id"));
    Creds {
        account_id: s("account_id"),
        access_key_id: s("access_key_id"),
        secret_access_key: s("secret_access_key"),
        smtp_password: s("smtp_password"),
    }
}

/// A running `sesame serve`.
pub struct Server {
    pub child: Child,
    pub http: String,
    /// `off` when the listener is disabled.
    pub submission: String,
    pub submission_tls: String,
    /// The feedback MX; `off` unless the test sets `SESAME_MX_ADDR`.
    pub mx: String,
    /// The instance-zone DNS responder; `off` unless the test sets `SESAME_DNS_ADDR`.
    pub dns: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
}

impl Server {
    /// Starts `sesame serve [extra args]` with the API on port 0 and the SMTP listeners (and
    /// the feedback MX) off unless `env` says otherwise; waits for the ready line (the contract
    /// `sesame ready http=ADDR submission=ADDR submission_tls=ADDR mx=ADDR dns=ADDR`).
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = sesame(dir);
        cmd.arg("serve")
            .args(args)
            .env("SESAME_HTTP_ADDR", "127.0.0.1:0")
            .env("SESAME_SUBMISSION_ADDR", "off")
            .env("SESAME_SUBMISSION_TLS_ADDR", "off");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sesame serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = loop {
            let line = lines.next().expect("server exited before ready").unwrap();
            if line.starts_with("sesame ready http=") {
                break line;
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            http: field(&line, "http").to_string(),
            submission: field(&line, "submission").to_string(),
            submission_tls: field(&line, "submission_tls").to_string(),
            mx: field(&line, "mx").to_string(),
            dns: field(&line, "dns").to_string(),
            child,
        }
    }
}

pub fn amz_now() -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc().format(&f).unwrap()
}

/// One HTTP/1.1 request (`head` holds the request line and headers); returns (status, body).
pub fn http(addr: &str, head: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

/// A SigV4-signed SES call (service `ses`, region us-east-1); returns (status, body).
pub fn call(
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
    http(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\n"),
        body,
    )
}

/// [`call`] to `server` with `creds`' access key; asserts a 200 and returns the body.
pub fn api_ok(server: &Server, creds: &Creds, method: &str, path: &str, body: &str) -> String {
    let (status, resp) = call(
        &server.http,
        &creds.access_key_id,
        &creds.secret_access_key,
        method,
        path,
        body,
    );
    assert_eq!(status, 200, "{method} {path}: {resp}");
    resp
}

/// Polls `f` every 100 ms until it returns `Some`, for at most 30 s.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// dkimpy verifies `raw` with `records` (DNS name → TXT value) as its DNS. `None` when dkimpy
/// is not installed.
pub fn dkimpy_verify(
    dir: &Path,
    raw: &[u8],
    records: &std::collections::HashMap<String, String>,
) -> Option<bool> {
    let msg = dir.join("dkimpy-input.eml");
    std::fs::write(&msg, raw).unwrap();
    let script = r#"
import json, sys
try:
    import dkim
except ImportError:
    print("NO-DKIMPY")
    sys.exit(0)
records = json.loads(sys.argv[2])
def dnsfunc(name, timeout=5):
    v = records.get(name.decode().rstrip(".").lower())
    return v.encode() if v else None
raw = open(sys.argv[1], "rb").read()
print("PASS" if dkim.verify(raw, dnsfunc=dnsfunc) else "FAIL")
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            msg.to_str().unwrap(),
            &serde_json::to_string(records).unwrap(),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match text.as_str() {
        "PASS" => Some(true),
        "NO-DKIMPY" => None,
        _ => {
            eprintln!("dkimpy: {text} {}", String::from_utf8_lossy(&out.stderr));
            Some(false)
        }
    }
}

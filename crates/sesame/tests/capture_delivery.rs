//! Capture-mode delivery end to end, on the real binary (`serve --dev`): a v2 `SendEmail` is
//! delivered into the dev inbox, served by LocalStack's `GET /_aws/ses`, DKIM-signed so that
//! dkimpy verifies it against the records `sesame identity dkim-records` prints (Q-89, Q-96);
//! a simulator send records Delivery and Bounce events (E-80, Q-125).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn sesame(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sesame"));
    c.env("SESAME_DATA_DIR", dir)
        .env_remove("SESAME_DATABASE_URL")
        .env_remove("SESAME_MASTER_KEY")
        .env_remove("SESAME_DELIVERY_MODE");
    c
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = sesame(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "sesame {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn start_dev(dir: &Path) -> Server {
    let mut child = sesame(dir)
        .args(["serve", "--dev"])
        .env("SESAME_HTTP_ADDR", "127.0.0.1:0")
        .env("SESAME_SUBMISSION_ADDR", "off")
        .env("SESAME_SUBMISSION_TLS_ADDR", "off")
        .env("SESAME_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sesame serve --dev");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before ready").unwrap();
        if let Some(a) = line.strip_prefix("sesame ready http=") {
            break a.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

fn amz_now() -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc().format(&f).unwrap()
}

fn http(addr: &str, head: &str, body: &str) -> (u16, String) {
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

/// A SigV4-signed v2 call.
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
    http(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nContent-Type: application/json\r\nAuthorization: {auth}\r\n"),
        body,
    )
}

/// LocalStack's unauthenticated developer endpoint.
fn dev_inbox(addr: &str, method: &str, query: &str) -> (u16, String) {
    http(
        addr,
        &format!("{method} /_aws/ses{query} HTTP/1.1\r\nHost: {addr}\r\n"),
        "",
    )
}

fn send(addr: &str, key: &str, secret: &str, to: &[&str]) -> String {
    let body = serde_json::json!({
        "FromEmailAddress": "Sender <sender@example.test>",
        "Destination": {"ToAddresses": to},
        "Content": {"Simple": {
            "Subject": {"Data": "Capture test"},
            "Body": {"Text": {"Data": "Hello from the capture test."}, "Html": {"Data": "<p>Hello</p>"}}
        }}
    })
    .to_string();
    let (status, resp) = call(
        addr,
        key,
        secret,
        "POST",
        "/v2/email/outbound-emails",
        &body,
    );
    assert_eq!(status, 200, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    v["MessageId"].as_str().unwrap().to_string()
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// dkimpy verifies `raw` with `records` (DNS name → TXT value) as its DNS. `None` when dkimpy
/// is not installed.
fn dkimpy_verify(dir: &Path, raw: &[u8], records: &HashMap<String, String>) -> Option<bool> {
    let msg = dir.join("captured.eml");
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
    let out = Command::new("python3")
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

#[test]
fn send_is_captured_signed_and_served_like_localstack() {
    let dir = tempfile::tempdir().unwrap();
    let created: serde_json::Value =
        serde_json::from_str(&run_ok(dir.path(), &["account", "create", "--json"])).unwrap();
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    run_ok(dir.path(), &["account", "production", "--account", &acct]);

    let server = start_dev(dir.path());
    let addr = server.addr.clone();
    let (status, body) = call(
        &addr,
        &key,
        &secret,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    assert_eq!(status, 200, "{body}");
    run_ok(
        dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &acct,
            "example.test",
        ],
    );

    // 1. A real recipient: captured, signed, served by /_aws/ses.
    let id = send(&addr, &key, &secret, &["someone@example.net"]);
    let msg = wait_for("the captured message", || {
        let (status, body) = dev_inbox(&addr, "GET", &format!("?id={id}"));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["messages"].as_array().unwrap().first().cloned()
    });
    assert_eq!(msg["Id"], id.as_str());
    assert_eq!(msg["Region"], "us-east-1");
    assert_eq!(
        msg["Destination"]["ToAddresses"],
        serde_json::json!(["someone@example.net"])
    );
    assert_eq!(msg["Source"], "sender@example.test");
    assert_eq!(msg["Subject"], "Capture test");
    assert_eq!(
        msg["Body"]["text_part"].as_str().map(str::trim),
        Some("Hello from the capture test.")
    );
    assert_eq!(
        msg["Body"]["html_part"].as_str().map(str::trim),
        Some("<p>Hello</p>")
    );
    assert!(msg["Timestamp"].as_str().unwrap().len() == 19);
    let raw = msg["RawData"].as_str().unwrap().as_bytes().to_vec();
    assert!(raw.starts_with(b"DKIM-Signature:"));
    // The filter by Source (LocalStack's `email`) and the CLI see the same message.
    let (_, body) = dev_inbox(&addr, "GET", "?email=sender@example.test");
    assert!(body.contains(&id));
    let (_, body) = dev_inbox(&addr, "GET", "?email=other@example.test");
    assert_eq!(body, r#"{"messages":[]}"#);
    let listed = run_ok(dir.path(), &["inbox", "list", "--json", "--account", &acct]);
    assert!(listed.contains(&id));
    let cli_raw = sesame(dir.path())
        .args(["inbox", "show", &id, "--raw"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(cli_raw, raw, "the CLI prints the exact captured bytes");

    // DKIM: dkimpy verifies with the records the operator publishes.
    let recs: serde_json::Value = serde_json::from_str(&run_ok(
        dir.path(),
        &[
            "identity",
            "dkim-records",
            "--json",
            "--account",
            &acct,
            "example.test",
        ],
    ))
    .unwrap();
    let recs = recs.as_array().unwrap();
    assert_eq!(recs.len(), 6, "3 CNAMEs and the 3 TXT values behind them");
    let txt: HashMap<String, String> = recs
        .iter()
        .filter(|r| r["type"] == "TXT")
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut dns = HashMap::new();
    for r in recs.iter().filter(|r| r["type"] == "CNAME") {
        let target = r["value"].as_str().unwrap();
        dns.insert(r["name"].as_str().unwrap().to_string(), txt[target].clone());
    }
    match dkimpy_verify(dir.path(), &raw, &dns) {
        Some(ok) => assert!(ok, "dkimpy rejected the signature"),
        None => eprintln!("\n*** SKIPPED: dkimpy (python3 -m pip install dkimpy) is not installed; the DKIM signature was not verified ***\n"),
    }

    // DELETE ?id= removes exactly that message (LocalStack semantics).
    let (status, _) = dev_inbox(&addr, "DELETE", &format!("?id={id}"));
    assert_eq!(status, 204);
    let (_, body) = dev_inbox(&addr, "GET", &format!("?id={id}"));
    assert_eq!(body, r#"{"messages":[]}"#);

    // 2. The mailbox simulator: Delivery for success@, Bounce Permanent/General for bounce@.
    let id = send(
        &addr,
        &key,
        &secret,
        &[
            "success@simulator.amazonses.com",
            "bounce@simulator.amazonses.com",
        ],
    );
    let events = wait_for("simulator events", || {
        let out = run_ok(
            dir.path(),
            &["events", "--message-id", &id, "--account", &acct, "--json"],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let events = v.as_array().unwrap().clone();
        (events.len() >= 3).then_some(events)
    });
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Send", "Delivery", "Bounce"]);
    assert_eq!(
        events[1]["data"]["delivery"]["recipients"],
        serde_json::json!(["success@simulator.amazonses.com"])
    );
    let bounce = &events[2]["data"]["bounce"];
    assert_eq!(bounce["bounceType"], "Permanent");
    assert_eq!(bounce["bounceSubType"], "General");
    assert_eq!(
        bounce["bouncedRecipients"][0]["emailAddress"],
        "bounce@simulator.amazonses.com"
    );
    assert_eq!(
        bounce["bouncedRecipients"][0]["diagnosticCode"],
        "smtp; 550 5.1.1 user unknown"
    );
    // Nothing of the simulator reaches the dev inbox.
    let (_, body) = dev_inbox(&addr, "GET", &format!("?id={id}"));
    assert_eq!(body, r#"{"messages":[]}"#);
}

/// Without `--dev` and with the default `smtp` mode, the dev inbox does not exist.
#[test]
fn dev_inbox_is_absent_outside_capture_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = sesame(dir.path())
        .args(["serve"])
        .env("SESAME_HTTP_ADDR", "127.0.0.1:0")
        .env("SESAME_SUBMISSION_ADDR", "off")
        .env("SESAME_SUBMISSION_TLS_ADDR", "off")
        .env("SESAME_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before ready").unwrap();
        if let Some(a) = line.strip_prefix("sesame ready http=") {
            break a.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    let server = Server { child, addr };
    let (status, _) = dev_inbox(&server.addr, "GET", "");
    assert_eq!(status, 404);
}

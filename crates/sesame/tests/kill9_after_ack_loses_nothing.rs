//! Issue "Sending", done-when: "`kill -9` right after 1,000 acknowledged sends loses none of
//! them". 16 clients send through the real API (SigV4, v2 SendEmail); every MessageId that got
//! a 200 is recorded; the server is SIGKILLed right after the 1,000th acknowledgement; then the
//! store must hold each acknowledged message's `Send` event and queue row, and the spool its
//! body — byte-complete — for every one of them (principle: acknowledge only what is on disk).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

const TOTAL: usize = 1000;
const CLIENTS: usize = 16;

fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(args)
        .env("SESAME_DATA_DIR", dir)
        .env_remove("SESAME_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sesame {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .arg("serve")
        .env("SESAME_DATA_DIR", dir)
        .env("SESAME_HTTP_ADDR", "127.0.0.1:0")
        .env("SESAME_SUBMISSION_ADDR", "off")
        .env("SESAME_SUBMISSION_TLS_ADDR", "off")
        .env("SESAME_DELIVERY_MODE", "smtp")
        .env("SESAME_LOG", "warn")
        .env_remove("SESAME_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before ready").unwrap();
        if let Some(rest) = line.strip_prefix("sesame ready http=") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    (child, addr)
}

fn amz_now() -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc().format(&f).unwrap()
}

fn send(addr: &str, key: &str, secret: &str, body: &str) -> Option<String> {
    let ts = amz_now();
    let headers = vec![
        ("host".to_string(), addr.to_string()),
        ("x-amz-date".to_string(), ts.clone()),
    ];
    let req = sesame_sigv4::sigv4::Request {
        method: "POST",
        raw_path: "/v2/email/outbound-emails",
        raw_query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let signed = ["host".to_string(), "x-amz-date".to_string()];
    let auth = sesame_sigv4::sigv4::sign(&req, key, secret, "us-east-1", "ses", &ts, &signed);
    let mut s = TcpStream::connect(addr).ok()?;
    write!(
        s,
        "POST /v2/email/outbound-emails HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    if !resp.starts_with("HTTP/1.1 200") {
        return None;
    }
    let json = resp.split_once("\r\n\r\n")?.1;
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v["MessageId"].as_str().map(str::to_string)
}

#[test]
fn kill9_after_1000_acknowledged_sends_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let creds: serde_json::Value =
        serde_json::from_str(&cli(dir.path(), &["account", "create", "--json"])).unwrap();
    let account = creds["account_id"].as_str().unwrap().to_string();
    let key = creds["access_key_id"].as_str().unwrap().to_string();
    let secret = creds["secret_access_key"].as_str().unwrap().to_string();
    cli(
        dir.path(),
        &["account", "production", "--account", &account],
    );
    cli(
        dir.path(),
        &[
            "account",
            "set-quota",
            "--account",
            &account,
            "--max-24h-send",
            "-1",
            "--max-send-rate",
            "100000",
        ],
    );

    let (mut child, addr) = start(dir.path());
    // A verified sender: created through the API, verified by the operator override.
    let ts_body = r#"{"EmailIdentity":"durable.example"}"#;
    {
        let ts = amz_now();
        let headers = vec![
            ("host".to_string(), addr.clone()),
            ("x-amz-date".to_string(), ts.clone()),
        ];
        let req = sesame_sigv4::sigv4::Request {
            method: "POST",
            raw_path: "/v2/email/identities",
            raw_query: "",
            headers: &headers,
            body: ts_body.as_bytes(),
        };
        let auth = sesame_sigv4::sigv4::sign(
            &req,
            &key,
            &secret,
            "us-east-1",
            "ses",
            &ts,
            &["host".into(), "x-amz-date".into()],
        );
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(s, "POST /v2/email/identities HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Date: {ts}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ts_body}", ts_body.len()).unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    cli(
        dir.path(),
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &account,
            "durable.example",
        ],
    );

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addr, key, secret, acked) = (addr.clone(), key.clone(), secret.clone(), acked.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if acked.lock().unwrap().len() >= TOTAL {
                        return;
                    }
                    let body = format!(
                        r#"{{"FromEmailAddress":"sender@durable.example","Destination":{{"ToAddresses":["r{c}-{i}@example.net"]}},"Content":{{"Simple":{{"Subject":{{"Data":"n{c}-{i}"}},"Body":{{"Text":{{"Data":"body {c}-{i}"}}}}}}}}}}"#
                    );
                    if let Some(id) = send(&addr, &key, &secret, &body) {
                        acked.lock().unwrap().push(id);
                    }
                }
            })
        })
        .collect();
    // Kill as soon as 1,000 acknowledgements are in (sends still in flight are not counted).
    loop {
        if acked.lock().unwrap().len() >= TOTAL {
            child.kill().unwrap(); // SIGKILL
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= TOTAL);

    // Everything acknowledged is in the store and the spool.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sesame_model::Store;
        let url = format!("sqlite://{}", dir.path().join("sesame.db").display());
        let store = sesame_store::SqlStore::connect(&url).await.unwrap();
        let spool =
            sesame_spool::Spool::open(&dir.path().join("spool"), Default::default()).unwrap();
        let scope =
            sesame_model::Scope::new(account.parse().unwrap(), "us-east-1".parse().unwrap());
        let mut missing = Vec::new();
        for id in &acked {
            let events = store.message_events(&scope, id).await.unwrap();
            let body = spool.read(id).await;
            let ok = events.iter().any(|e| e.event_type == "Send")
                && body.as_ref().is_ok_and(|b| {
                    // Complete: carries its own Message-ID and the end of its text part.
                    let text = String::from_utf8_lossy(b);
                    text.contains(&format!("<{id}@")) && text.contains("body ")
                });
            if !ok {
                missing.push(id.clone());
            }
        }
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged messages lost: {:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(5)]
        );
        let depth = store.queue_depth().await.unwrap();
        assert!(
            depth as usize >= acked.len(),
            "queue depth {depth} < acknowledged {}",
            acked.len()
        );
        eprintln!(
            "kill -9 after {} acknowledged sends: all present (queue depth {depth})",
            acked.len()
        );
    });
}

//! Issue "Sending", done-when: "`kill -9` right after 1,000 acknowledged sends loses none of
//! them". 16 clients send through the real API (SigV4, v2 SendEmail); every MessageId that got
//! a 200 is recorded; the server is SIGKILLed right after the 1,000th acknowledgement; then the
//! store must hold each acknowledged message's `Send` event and queue row, and its
//! body (in the database since migration 0010) — byte-complete — for every one of them (principle: acknowledge only what is on disk).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use common::{amz_now, call, cli_ok, create_account, Server};

const TOTAL: usize = 1000;
const CLIENTS: usize = 16;

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
    let creds = create_account(dir.path());
    let (account, key, secret) = (
        creds.account_id,
        creds.access_key_id,
        creds.secret_access_key,
    );
    cli_ok(
        dir.path(),
        &["account", "production", "--account", &account],
    );
    cli_ok(
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

    let mut server = Server::start(dir.path(), &[], &[("SESAME_DELIVERY_MODE", "hold")]);
    let addr = server.http.clone();
    // A verified sender: created through the API, verified by the operator override.
    let (status, body) = call(
        &addr,
        &key,
        &secret,
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"durable.example"}"#,
    );
    assert_eq!(status, 200, "{body}");
    cli_ok(
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
            server.child.kill().unwrap(); // SIGKILL
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    server.child.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= TOTAL);

    // Everything acknowledged is in the store, body included.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sesame_model::Store;
        let url = format!("sqlite://{}", dir.path().join("sesame.db").display());
        let store = sesame_store::SqlStore::connect(&url).await.unwrap();
        // Bodies live in the database (migration 0010), committed before the acknowledgement.
        let bodies = store.bodies();
        let scope =
            sesame_model::Scope::new(account.parse().unwrap(), "us-east-1".parse().unwrap());
        let mut missing = Vec::new();
        for id in &acked {
            let events = store.message_events(&scope, id).await.unwrap();
            let body = sesame_model::BodyStore::read_body(&bodies, id).await;
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

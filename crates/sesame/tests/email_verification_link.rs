//! Address verification by link, end to end on the real binary (`serve --dev`, capture mode):
//! v2 `CreateEmailIdentity` / v1 `VerifyEmailIdentity` queue a verification email that shows in
//! the dev inbox (D-31, D-32, Q-74); `GET` on its link verifies the identity (D-34, Q-84); a
//! tampered token is refused without effect; a link replaced by a resend fails; an
//! unclicked address is `FAILED` after the window and its link shows the failure page (D-35,
//! D-38).

mod common;
use common::wait_for;

use std::time::Duration;

use common::{call, create_account, http, Server};

/// The verification emails sent to `to`, oldest first: (subject, text part).
fn emails_to(addr: &str, to: &str) -> Vec<(String, String, String)> {
    let (status, body) = http(
        addr,
        &format!("GET /_aws/ses?email=no-reply@sesame.localhost HTTP/1.1\r\nHost: {addr}\r\n"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["Destination"]["ToAddresses"][0] == to)
        .map(|m| {
            (
                m["Subject"].as_str().unwrap().to_string(),
                m["Body"]["text_part"].as_str().unwrap().to_string(),
                m["RawData"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Waits for the `n`th verification email to `to` and returns the link in it.
fn nth_link(addr: &str, to: &str, n: usize) -> String {
    let (subject, text, _) = wait_for("the verification email", || {
        emails_to(addr, to).into_iter().nth(n - 1)
    });
    // D-32 / Q-74: subject structure, the link, the 24 h notice.
    assert_eq!(
        subject,
        "Sesame \u{2013} Email Address Verification Request in region US East (N. Virginia)"
    );
    assert!(text.contains("This link expires"), "{text}");
    assert!(text.contains("abuse@sesame.localhost"), "{text}");
    let start = text
        .find(&format!("http://{addr}/verify?t="))
        .unwrap_or_else(|| panic!("no link to {addr} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// `GET` on a link: (status, page).
fn click(addr: &str, link: &str) -> (u16, String) {
    let path = link.strip_prefix(&format!("http://{addr}")).unwrap();
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n"),
        "",
    )
}

/// v2 `GetEmailIdentity` → (`VerificationStatus`, `VerifiedForSendingStatus`).
fn v2_status(s: &Server, c: &common::Creds, identity: &str) -> (String, bool) {
    let (status, body) = call(
        &s.http,
        &c.access_key_id,
        &c.secret_access_key,
        "GET",
        &format!("/v2/email/identities/{identity}"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["VerificationStatus"].as_str().unwrap().to_string(),
        v["VerifiedForSendingStatus"].as_bool().unwrap(),
    )
}

fn v2_create(s: &Server, c: &common::Creds, identity: &str) {
    let (status, body) = call(
        &s.http,
        &c.access_key_id,
        &c.secret_access_key,
        "POST",
        "/v2/email/identities",
        &serde_json::json!({ "EmailIdentity": identity }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

/// v1 `VerifyEmailIdentity` (Query protocol, form body).
fn v1_verify(s: &Server, c: &common::Creds, address: &str) {
    let body = format!(
        "Action=VerifyEmailIdentity&Version=2010-12-01&EmailAddress={}",
        address.replace('@', "%40")
    );
    let (status, resp) = call(
        &s.http,
        &c.access_key_id,
        &c.secret_access_key,
        "POST",
        "/",
        &body,
    );
    assert_eq!(status, 200, "{resp}");
}

/// AT-D-04 first half, D-34, Q-84, Q-83.
#[test]
fn link_verifies_tamper_is_refused_and_resend_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let s = Server::start(dir.path(), &["--dev"], &[]);
    let addr = s.http.clone();

    v2_create(&s, &creds, "alice@example.test");
    assert_eq!(
        v2_status(&s, &creds, "alice@example.test"),
        ("PENDING".into(), false)
    );
    let link = nth_link(&addr, "alice@example.test", 1);

    // Tampered token: one character of the payload changed → 400, nothing changes.
    let t_at = link.find("?t=").unwrap() + 3;
    let mut bytes = link.clone().into_bytes();
    bytes[t_at + 5] = if bytes[t_at + 5] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).unwrap();
    let (status, page) = click(&addr, &forged);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("not valid"), "{page}");
    // A signature without its payload, or no token at all.
    let (status, _) = click(&addr, &format!("http://{addr}/verify?t=abc.def"));
    assert_eq!(status, 400);
    let (status, _) = click(&addr, &format!("http://{addr}/verify"));
    assert_eq!(status, 400);
    assert_eq!(
        v2_status(&s, &creds, "alice@example.test"),
        ("PENDING".into(), false)
    );

    // The real link → success page, identity SUCCESS and usable for sending.
    let (status, page) = click(&addr, &link);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("successfully verified the email address alice@example.test"));
    assert_eq!(
        v2_status(&s, &creds, "alice@example.test"),
        ("SUCCESS".into(), true)
    );
    // Clicking again is harmless.
    assert_eq!(click(&addr, &link).0, 200);

    // v1 VerifyEmailIdentity again re-sends; the first link is then replaced.
    v1_verify(&s, &creds, "bob@example.test");
    let first = nth_link(&addr, "bob@example.test", 1);
    v1_verify(&s, &creds, "bob@example.test");
    let second = nth_link(&addr, "bob@example.test", 2);
    assert_ne!(first, second);
    let (status, page) = click(&addr, &first);
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("newer verification email"), "{page}");
    assert_eq!(
        v2_status(&s, &creds, "bob@example.test"),
        ("PENDING".into(), false)
    );
    assert_eq!(click(&addr, &second).0, 200);
    assert_eq!(
        v2_status(&s, &creds, "bob@example.test"),
        ("SUCCESS".into(), true)
    );
    // A verified address is not sent another email by VerifyEmailIdentity.
    v1_verify(&s, &creds, "bob@example.test");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(emails_to(&addr, "bob@example.test").len(), 2);
}

/// AT-D-04 second half, D-35, D-38: no click within the window → FAILED; the late click shows
/// the failure page; a resend makes it PENDING again and its link works.
#[test]
fn unclicked_link_expires_to_failed_and_resend_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let s = Server::start(
        dir.path(),
        &["--dev"],
        &[("SESAME_VERIFICATION_LINK_TTL_SECONDS", "2")],
    );
    let addr = s.http.clone();

    v2_create(&s, &creds, "carol@example.test");
    let link = nth_link(&addr, "carol@example.test", 1);
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(
        v2_status(&s, &creds, "carol@example.test"),
        ("FAILED".into(), false)
    );
    let (status, page) = click(&addr, &link);
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("expired"), "{page}");
    assert_eq!(
        v2_status(&s, &creds, "carol@example.test"),
        ("FAILED".into(), false)
    );

    v1_verify(&s, &creds, "carol@example.test");
    let fresh = nth_link(&addr, "carol@example.test", 2);
    assert_eq!(
        v2_status(&s, &creds, "carol@example.test"),
        ("PENDING".into(), false)
    );
    assert_eq!(click(&addr, &fresh).0, 200);
    assert_eq!(
        v2_status(&s, &creds, "carol@example.test"),
        ("SUCCESS".into(), true)
    );
}

/// D-56, D-59, Q-101, AT-D-12: a custom verification email (production account, verified From
/// domain) arrives from the template's From with its subject and content (a data-URI image as
/// an inline attachment), then the link, then the fixed footer; the click redirects to `SuccessRedirectionURL` and verifies the identity;
/// a replaced link redirects to `FailureRedirectionURL`.
#[test]
fn custom_template_email_redirects_after_click() {
    let dir = tempfile::tempdir().unwrap();
    let creds = create_account(dir.path());
    let cli = |args: &[&str]| common::cli_ok(dir.path(), args);
    cli(&["account", "production", "--account", &creds.account_id]);
    let s = Server::start(dir.path(), &["--dev"], &[]);
    let addr = s.http.clone();
    let c = |method: &str, path: &str, body: serde_json::Value| {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        call(
            &s.http,
            &creds.access_key_id,
            &creds.secret_access_key,
            method,
            path,
            &body,
        )
    };
    let (st, b) = c(
        "POST",
        "/v2/email/identities",
        serde_json::json!({"EmailIdentity": "brand.test", "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_1024_BIT"}}),
    );
    assert_eq!(st, 200, "{b}");
    cli(&[
        "identity",
        "verify",
        "--force",
        "--account",
        &creds.account_id,
        "brand.test",
    ]);
    let (st, b) = c(
        "POST",
        "/v2/email/custom-verification-email-templates",
        serde_json::json!({
            "TemplateName": "welcome",
            "FromEmailAddress": "hello@brand.test",
            "TemplateSubject": "Confirm your Brand account",
            "TemplateContent": "<html><body><h1>Welcome to Brand</h1><img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"logo\"/><p>One more step.</p></body></html>",
            "SuccessRedirectionURL": "https://brand.test/verified",
            "FailureRedirectionURL": "https://brand.test/failed"
        }),
    );
    assert_eq!(st, 200, "{b}");
    let send = || {
        let (st, b) = c(
            "POST",
            "/v2/email/outbound-custom-verification-emails",
            serde_json::json!({"EmailAddress": "dave@example.test", "TemplateName": "welcome"}),
        );
        assert_eq!(st, 200, "{b}");
    };
    send();
    // the identity exists, PENDING, at send time.
    assert_eq!(
        v2_status(&s, &creds, "dave@example.test"),
        ("PENDING".into(), false)
    );
    let inbox = |n: usize| {
        wait_for("the custom verification email", || {
            let (_, body) = http(
                &addr,
                &format!("GET /_aws/ses?email=hello@brand.test HTTP/1.1\r\nHost: {addr}\r\n"),
                "",
            );
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["messages"].as_array().unwrap().get(n - 1).cloned()
        })
    };
    let m = inbox(1);
    assert_eq!(m["Subject"], "Confirm your Brand account");
    assert_eq!(m["Destination"]["ToAddresses"][0], "dave@example.test");
    let html = m["Body"]["html_part"].as_str().unwrap();
    let text = m["Body"]["text_part"].as_str().unwrap();
    let welcome = html.find("Welcome to Brand").unwrap();
    let link_at = html.find(&format!("http://{addr}/verify?t=")).unwrap();
    let footer = html
        .find("If you did not request to verify this email address, please disregard this message.")
        .unwrap();
    assert!(welcome < link_at && link_at < footer, "{html}");
    // D-59: the data-URI image travels as an inline attachment.
    assert!(html.contains("src=\"cid:image1@verification\""), "{html}");
    let raw = m["RawData"].as_str().unwrap();
    assert!(raw.contains("multipart/related"), "{raw}");
    assert!(raw.contains("Content-ID: <image1@verification>"), "{raw}");
    let start = text.find(&format!("http://{addr}/verify?t=")).unwrap();
    let first = text[start..].split_whitespace().next().unwrap().to_string();

    // A second send replaces the first link: its click goes to the failure URL.
    send();
    let m = inbox(2);
    let text = m["Body"]["text_part"].as_str().unwrap();
    let start = text.find(&format!("http://{addr}/verify?t=")).unwrap();
    let second = text[start..].split_whitespace().next().unwrap().to_string();
    let location = |link: &str| {
        let path = link.strip_prefix(&format!("http://{addr}")).unwrap();
        let mut sock = std::net::TcpStream::connect(&addr).unwrap();
        use std::io::{Read, Write};
        write!(
            sock,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        sock.read_to_string(&mut resp).unwrap();
        let status: u16 = resp[9..12].parse().unwrap();
        let loc = resp
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("location:")
                    .then(|| l[9..].trim().to_string())
            })
            .unwrap_or_default();
        (status, loc)
    };
    assert_eq!(location(&first), (302, "https://brand.test/failed".into()));
    assert_eq!(
        v2_status(&s, &creds, "dave@example.test"),
        ("PENDING".into(), false)
    );
    assert_eq!(
        location(&second),
        (302, "https://brand.test/verified".into())
    );
    assert_eq!(
        v2_status(&s, &creds, "dave@example.test"),
        ("SUCCESS".into(), true)
    );
}

//! Open and click tracking end to end on the real binary (`serve --dev`): a v2 `SendEmail` with
//! a configuration set whose event destination publishes `OPEN` and `CLICK` (G-62, Q-227) is
//! captured with its HTML rewritten — pixel at `{{ses:openTracker}}` (G-63), links on the
//! tracking host (G-64, Q-70), `ses:no-track` left alone and removed (G-65), `ses:tags`
//! removed (G-67), the text part untouched (G-66) — and still DKIM-signed so that dkimpy
//! verifies it (Q-96: the rewrite happens before signing). curl, from another loopback
//! address, fetches the pixel (a 1×1 GIF, an `Open` event, G-50) and follows a link (302 to
//! the original URL, a `Click` event with `link` and `linkTags`, G-51); the exact event fields
//! are checked. A tampered link gets 400 and records nothing (Q-228); an untrusted
//! `X-Forwarded-For` is ignored.

mod common;
use common::{dkimpy_verify, wait_for};

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{call, cli_ok, http, Server};
use serde_json::{json, Value};

/// The address curl connects from (tests use 127.0.11.0/24).
const CLIENT_IP: &str = "127.0.11.7";
const UA: &str = "TrackingTest/1.0 (real curl)";

/// `curl` from [`CLIENT_IP`], not following redirects: (status, Location, body bytes, Content-Type).
fn curl(url: &str, extra: &[&str]) -> (u16, String, Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-s", "--interface", CLIENT_IP, "-A", UA, "-o"])
        .arg(&body)
        .args(["-w", "%{http_code}\n%{redirect_url}\n%{content_type}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.split('\n');
    let status = lines.next().unwrap().parse().unwrap_or(0);
    let location = lines.next().unwrap_or("").to_string();
    let ctype = lines.next().unwrap_or("").to_string();
    (
        status,
        location,
        std::fs::read(&body).unwrap_or_default(),
        ctype,
    )
}

/// Every `src="…"`/`href="…"` value in `html` that contains `needle`.
fn urls_with(html: &str, needle: &str) -> Vec<String> {
    html.split('"')
        .filter(|v| v.contains(needle))
        .map(str::to_string)
        .collect()
}

fn events(dir: &Path, acct: &str, id: &str) -> Vec<Value> {
    let out = cli_ok(
        dir,
        &["events", "--message-id", id, "--account", acct, "--json"],
    );
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

/// A `serve --dev` server with a production account, the verified domain `example.test` and a
/// configuration set `set` whose enabled SNS destination `dest` (topic `topic`) matches `types`.
/// Returns the server, account id, access key id and secret.
fn dev_sender_with_set(
    dir: &Path,
    set: &str,
    dest: &str,
    types: &[&str],
    topic: &str,
) -> (Server, String, String, String) {
    let created: Value =
        serde_json::from_str(&cli_ok(dir, &["account", "create", "--json"])).unwrap();
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    cli_ok(dir, &["account", "production", "--account", &acct]);
    let server = Server::start(dir, &["--dev"], &[]);
    let api = |method: &str, path: &str, body: &str| {
        let (status, resp) = call(&server.http, &key, &secret, method, path, body);
        assert_eq!(status, 200, "{method} {path}: {resp}");
    };
    api(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    cli_ok(
        dir,
        &[
            "identity",
            "verify",
            "--force",
            "--account",
            &acct,
            "example.test",
        ],
    );
    api(
        "POST",
        "/v2/email/configuration-sets",
        &json!({"ConfigurationSetName": set}).to_string(),
    );
    api(
        "POST",
        &format!("/v2/email/configuration-sets/{set}/event-destinations"),
        &json!({"EventDestinationName": dest, "EventDestination": {
            "Enabled": true, "MatchingEventTypes": types,
            "SnsDestination": {"TopicArn": format!("arn:aws:sns:us-east-1:{acct}:{topic}")}}})
        .to_string(),
    );
    (server, acct, key, secret)
}

/// ISO-8601 with milliseconds and `Z` (G-50 `timestamp`, Q-145).
fn is_iso_ms(s: &str) -> bool {
    s.len() == 24 && s.ends_with('Z') && &s[10..11] == "T" && &s[19..20] == "."
}

#[test]
fn tracked_mail_records_open_and_click_events() {
    let dir = tempfile::tempdir().unwrap();
    let (server, acct, key, secret) = dev_sender_with_set(
        dir.path(),
        "tracked",
        "engagement",
        &["OPEN", "CLICK"],
        "engagement",
    );
    let addr = server.http.clone();
    let api = |method: &str, path: &str, body: &str| {
        let (status, resp) = call(&addr, &key, &secret, method, path, body);
        assert_eq!(status, 200, "{method} {path}: {resp}");
        resp
    };

    let html = "<html><body><p>Hello {{ses:openTracker}}</p>\
        <a href=\"https://docs.example.org/guide?a=1&amp;b=2\" ses:tags=\"campaign:spring;variant:b;\">guide</a> \
        <a ses:no-track href=\"https://untracked.example.org/\">plain</a> \
        <a href=\"http://plain-http.example.org/x\">http</a>\
        <p>Footer</p></body></html>";
    let text = "Text part: https://docs.example.org/guide?a=1&b=2";
    let resp = api(
        "POST",
        "/v2/email/outbound-emails",
        &json!({
            "FromEmailAddress": "Sender <sender@example.test>",
            "Destination": {"ToAddresses": ["reader@example.net"]},
            "ConfigurationSetName": "tracked",
            "Content": {"Simple": {
                "Subject": {"Data": "Tracked"},
                "Body": {"Text": {"Data": text}, "Html": {"Data": html}}
            }}
        })
        .to_string(),
    );
    let id = serde_json::from_str::<Value>(&resp).unwrap()["MessageId"]
        .as_str()
        .unwrap()
        .to_string();

    // The captured message (the dev inbox, LocalStack's GET /_aws/ses).
    let msg = wait_for("the captured message", || {
        let (status, body) = http(
            &addr,
            &format!("GET /_aws/ses?id={id} HTTP/1.1\r\nHost: {addr}\r\n"),
            "",
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["messages"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
    });
    let got_html = msg["Body"]["html_part"].as_str().unwrap().to_string();
    let got_text = msg["Body"]["text_part"].as_str().unwrap();
    assert_eq!(got_text.trim(), text, "G-66: the text part is untouched");
    // G-63: the pixel is where the placeholder was; no placeholder is left.
    let pixels = urls_with(&got_html, "/track/open/");
    assert_eq!(pixels.len(), 1, "{got_html}");
    assert!(
        got_html.starts_with("<html><body><p>Hello <img alt=\"\" src=\""),
        "{got_html}"
    );
    assert!(!got_html.contains("openTracker"));
    // G-64, Q-70 (--dev: the listener itself), G-65, G-67.
    let base = format!("http://{addr}");
    let clicks = urls_with(&got_html, "/track/click/");
    assert_eq!(clicks.len(), 2, "{got_html}");
    for u in clicks.iter().chain(&pixels) {
        assert!(u.starts_with(&format!("{base}/track/")), "{u}");
    }
    assert!(
        got_html.contains("<a href=\"https://untracked.example.org/\">plain</a>"),
        "{got_html}"
    );
    assert!(
        !got_html.contains("ses:"),
        "ses:* attributes are removed: {got_html}"
    );
    assert!(
        !got_html.contains("docs.example.org"),
        "the original URL is not visible"
    );

    // Q-96: the DKIM signature covers the rewritten bytes.
    let raw = msg["RawData"].as_str().unwrap().as_bytes().to_vec();
    assert!(raw.starts_with(b"DKIM-Signature:"));
    let recs: Value = serde_json::from_str(&cli_ok(
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
    let txt: HashMap<&str, &str> = recs
        .iter()
        .filter(|r| r["type"] == "TXT")
        .map(|r| (r["name"].as_str().unwrap(), r["value"].as_str().unwrap()))
        .collect();
    let dns: HashMap<String, String> = recs
        .iter()
        .filter(|r| r["type"] == "CNAME")
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                txt[r["value"].as_str().unwrap()].to_string(),
            )
        })
        .collect();
    match dkimpy_verify(dir.path(), &raw, &dns) {
        Some(ok) => assert!(ok, "dkimpy rejected the signature of the tracked message"),
        None => eprintln!(
            "\n*** SKIPPED: dkimpy is not installed; the DKIM signature was not verified ***\n"
        ),
    }

    // G-50: the pixel.
    let (status, _, gif, ctype) = curl(&pixels[0], &["-H", "X-Forwarded-For: 203.0.113.9"]);
    assert_eq!(status, 200);
    assert_eq!(ctype, "image/gif");
    assert!(gif.starts_with(b"GIF89a") && gif.len() == 43, "{gif:?}");
    assert_eq!(&gif[6..10], &[1, 0, 1, 0], "1x1");

    // G-51, G-64: the first link (with tags) redirects to the original URL.
    let (status, location, _, _) = curl(&clicks[0], &[]);
    assert_eq!(status, 302);
    assert_eq!(location, "https://docs.example.org/guide?a=1&b=2");
    // G-68: the http link's tracking URL redirects to the http URL.
    let (status, location, _, _) = curl(&clicks[1], &[]);
    assert_eq!(status, 302);
    assert_eq!(location, "http://plain-http.example.org/x");

    // Q-228: a tampered token is a 400 page, never a redirect, and records nothing.
    let tampered = {
        let (head, token) = clicks[0].rsplit_once('/').unwrap();
        let (payload, mac) = token.split_once('.').unwrap();
        let mut p = payload.as_bytes().to_vec();
        let i = p.len() / 2;
        p[i] = if p[i] == b'A' { b'B' } else { b'A' };
        format!("{head}/{}.{mac}", String::from_utf8(p).unwrap())
    };
    let (status, location, body, _) = curl(&tampered, &[]);
    assert_eq!((status, location.as_str()), (400, ""));
    assert!(String::from_utf8_lossy(&body).contains("Invalid link"));
    let (status, ..) = curl(&format!("{base}/track/click/not-a-token"), &[]);
    assert_eq!(status, 400);
    let (status, ..) = curl(
        &format!(
            "{base}/track/open/{}",
            clicks[0].rsplit('/').next().unwrap()
        ),
        &[],
    );
    assert_eq!(status, 400, "a click token is no pixel token");

    // The events, through the same store path as every other event (`sesame events`).
    let all = wait_for("Open and Click events", || {
        let all = events(dir.path(), &acct, &id);
        (of_type(&all, "Open").len() == 1 && of_type(&all, "Click").len() == 2).then_some(all)
    });
    std::thread::sleep(Duration::from_millis(300));
    let all_again = events(dir.path(), &acct, &id);
    assert_eq!(
        all_again.len(),
        all.len(),
        "the rejected requests recorded nothing"
    );

    let open = &of_type(&all, "Open")[0]["data"];
    assert_eq!(open["eventType"], "Open");
    let o = open["open"].as_object().unwrap();
    assert_eq!(
        o.len(),
        3,
        "G-50: exactly ipAddress, timestamp, userAgent: {o:?}"
    );
    assert_eq!(
        o["ipAddress"], CLIENT_IP,
        "X-Forwarded-For is not trusted by default"
    );
    assert_eq!(o["userAgent"], UA);
    assert!(is_iso_ms(o["timestamp"].as_str().unwrap()), "{o:?}");
    assert_eq!(open["mail"]["messageId"], id.as_str());
    assert_eq!(open["mail"]["destination"], json!(["reader@example.net"]));
    assert!(
        open["mail"].get("sourceArn").is_none(),
        "G-40: no sourceArn on Open"
    );
    assert_eq!(
        open["mail"]["tags"]["ses:configuration-set"],
        json!(["tracked"])
    );

    let clicks_ev = of_type(&all, "Click");
    let c = clicks_ev
        .iter()
        .map(|e| &e["data"])
        .find(|d| d["click"]["link"] == "https://docs.example.org/guide?a=1&b=2")
        .expect("the tagged link's click");
    assert_eq!(c["eventType"], "Click");
    let co = c["click"].as_object().unwrap();
    assert_eq!(
        co.len(),
        5,
        "G-51: ipAddress, timestamp, userAgent, link, linkTags: {co:?}"
    );
    assert_eq!(co["ipAddress"], CLIENT_IP);
    assert_eq!(co["userAgent"], UA);
    assert!(is_iso_ms(co["timestamp"].as_str().unwrap()));
    assert_eq!(
        co["linkTags"],
        json!({"campaign": ["spring"], "variant": ["b"]}),
        "G-67"
    );
    assert!(c["mail"].get("sourceArn").is_none());
    let plain = clicks_ev
        .iter()
        .map(|e| &e["data"])
        .find(|d| d["click"]["link"] == "http://plain-http.example.org/x")
        .expect("the http link's click");
    assert!(
        plain["click"].get("linkTags").is_none(),
        "Z-10: no tags, no linkTags"
    );
}

/// G-62: without a destination publishing OPEN or CLICK nothing is rewritten; the placeholder
/// is removed (Q-229). Two placeholders are refused at send (E-132).
#[test]
fn untracked_set_leaves_links_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _acct, key, secret) =
        dev_sender_with_set(dir.path(), "sends", "d", &["SEND", "DELIVERY"], "sends");
    let addr = server.http.clone();
    let api = |method: &str, path: &str, body: &str| {
        let (status, resp) = call(&addr, &key, &secret, method, path, body);
        assert_eq!(status, 200, "{method} {path}: {resp}");
        resp
    };
    let html = "<p>{{ses:openTracker}}<a href=\"https://a.example.org/\">a</a></p>";
    let resp = api(
        "POST",
        "/v2/email/outbound-emails",
        &json!({
            "FromEmailAddress": "sender@example.test",
            "Destination": {"ToAddresses": ["reader@example.net"]},
            "ConfigurationSetName": "sends",
            "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Html": {"Data": html}}}}
        })
        .to_string(),
    );
    let id = serde_json::from_str::<Value>(&resp).unwrap()["MessageId"]
        .as_str()
        .unwrap()
        .to_string();
    let msg = wait_for("the captured message", || {
        let (_, body) = http(
            &addr,
            &format!("GET /_aws/ses?id={id} HTTP/1.1\r\nHost: {addr}\r\n"),
            "",
        );
        serde_json::from_str::<Value>(&body).unwrap()["messages"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
    });
    assert_eq!(
        msg["Body"]["html_part"].as_str().unwrap().trim(),
        "<p><a href=\"https://a.example.org/\">a</a></p>"
    );

    // E-132, G-63, Q-21: two placeholders are a 400 BadRequestException.
    let (status, resp) = call(
        &addr,
        &key,
        &secret,
        "POST",
        "/v2/email/outbound-emails",
        &json!({
            "FromEmailAddress": "sender@example.test",
            "Destination": {"ToAddresses": ["reader@example.net"]},
            "Content": {"Simple": {"Subject": {"Data": "s"},
                "Body": {"Html": {"Data": "<p>{{ses:openTracker}}</p>{{ses:openTracker}}"}}}}
        })
        .to_string(),
    );
    assert_eq!(status, 400, "{resp}");
    assert!(resp.contains("BadRequestException"), "{resp}");
    assert!(resp.contains("more than one {{ses:openTracker}}"), "{resp}");
}

/// G-71, E-137, Q-232: with a `CustomRedirectDomain` (a subdomain of a verified domain) and
/// `HttpsPolicy` `OPTIONAL`, the pixel is `http://<domain>/…` and links keep their scheme; a
/// client reaching the listener through that name (curl `--connect-to`, as a CNAME would) gets
/// the redirect. With `tracking_trust_forwarded_for`, `ipAddress` is the `X-Forwarded-For`
/// client.
#[test]
fn custom_redirect_domain_and_trusted_forwarded_for() {
    let dir = tempfile::tempdir().unwrap();
    let created: Value =
        serde_json::from_str(&cli_ok(dir.path(), &["account", "create", "--json"])).unwrap();
    let acct = created["account_id"].as_str().unwrap().to_string();
    let key = created["access_key_id"].as_str().unwrap().to_string();
    let secret = created["secret_access_key"].as_str().unwrap().to_string();
    cli_ok(dir.path(), &["account", "production", "--account", &acct]);
    let server = Server::start(
        dir.path(),
        &["--dev"],
        &[("SESAME_TRACKING_TRUST_FORWARDED_FOR", "true")],
    );
    let addr = server.http.clone();
    let api = |method: &str, path: &str, body: &str| {
        let (status, resp) = call(&addr, &key, &secret, method, path, body);
        assert_eq!(status, 200, "{method} {path}: {resp}");
        resp
    };
    api(
        "POST",
        "/v2/email/identities",
        r#"{"EmailIdentity":"example.test"}"#,
    );
    cli_ok(
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
    api(
        "POST",
        "/v2/email/configuration-sets",
        r#"{"ConfigurationSetName":"branded","TrackingOptions":{"CustomRedirectDomain":"track.example.test","HttpsPolicy":"OPTIONAL"}}"#,
    );
    api(
        "POST",
        "/v2/email/configuration-sets/branded/event-destinations",
        &json!({"EventDestinationName": "d", "EventDestination": {
            "Enabled": true, "MatchingEventTypes": ["OPEN", "CLICK"],
            "SnsDestination": {"TopicArn": format!("arn:aws:sns:us-east-1:{acct}:t")}}})
        .to_string(),
    );
    let html =
        "<p><a href=\"http://a.example.org/p\">a</a> <a href=\"https://b.example.org/q\">b</a></p>";
    let resp = api(
        "POST",
        "/v2/email/outbound-emails",
        &json!({
            "FromEmailAddress": "sender@example.test",
            "Destination": {"ToAddresses": ["one@example.net", "two@example.net"]},
            "ConfigurationSetName": "branded",
            "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Html": {"Data": html}}}}
        })
        .to_string(),
    );
    let id = serde_json::from_str::<Value>(&resp).unwrap()["MessageId"]
        .as_str()
        .unwrap()
        .to_string();
    let msg = wait_for("the captured message", || {
        let (_, body) = http(
            &addr,
            &format!("GET /_aws/ses?id={id} HTTP/1.1\r\nHost: {addr}\r\n"),
            "",
        );
        serde_json::from_str::<Value>(&body).unwrap()["messages"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
    });
    let got = msg["Body"]["html_part"].as_str().unwrap().to_string();
    let pixel = urls_with(&got, "/track/open/");
    let clicks = urls_with(&got, "/track/click/");
    assert_eq!(pixel.len(), 1, "{got}");
    assert!(
        pixel[0].starts_with("http://track.example.test/track/open/"),
        "{got}"
    );
    assert_eq!(clicks.len(), 2);
    assert!(
        clicks[0].starts_with("http://track.example.test/track/click/"),
        "G-68: {got}"
    );
    assert!(
        clicks[1].starts_with("https://track.example.test/track/click/"),
        "G-68: {got}"
    );

    let port = addr.rsplit(':').next().unwrap();
    let via = format!("track.example.test:80:127.0.0.1:{port}");
    let (status, location, _, _) = curl(
        &clicks[0],
        &[
            "--connect-to",
            &via,
            "-H",
            "X-Forwarded-For: 203.0.113.9, 10.0.0.1",
        ],
    );
    assert_eq!((status, location.as_str()), (302, "http://a.example.org/p"));
    let (status, ..) = curl(&pixel[0], &["--connect-to", &via]);
    assert_eq!(status, 200);

    let all = wait_for("Open and Click events", || {
        let all = events(dir.path(), &acct, &id);
        (of_type(&all, "Open").len() == 1 && of_type(&all, "Click").len() == 1).then_some(all)
    });
    let click = &of_type(&all, "Click")[0]["data"]["click"];
    assert_eq!(
        click["ipAddress"], "203.0.113.9",
        "the trusted X-Forwarded-For client"
    );
    assert_eq!(click["link"], "http://a.example.org/p");
    let open = &of_type(&all, "Open")[0]["data"]["open"];
    assert_eq!(open["ipAddress"], CLIENT_IP, "no X-Forwarded-For: the peer");
    // Q-231: several recipients share one body; the events carry the message's destination.
    assert_eq!(
        of_type(&all, "Open")[0]["data"]["mail"]["destination"],
        json!(["one@example.net", "two@example.net"])
    );
}

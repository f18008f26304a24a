//! Runs the AWS SigV4 test suite (`shared/test-vectors/sigv4/`, see its README): every case
//! directory, nested ones included (`normalize-path/*`, `post-sts-token/*`).
//!
//! For each case: the canonical request equals `.creq`, the string to sign equals `.sts`,
//! [`sign`] reproduces `.authz`, [`verify`] accepts the `.sreq` at the suite time and rejects it
//! after any signed part changes, with a wrong secret, and at ±16 minutes.
//!
//! Suite quirk: `get-vanilla-with-session-token.sreq` carries a stale `Authorization` header
//! (its signature is `get-vanilla`'s, though it lists `x-amz-security-token` as signed); its
//! `.authz` is the correct value. The runner asserts the stale header is rejected and then
//! verifies the request with the `.authz` value instead.

use std::path::{Path, PathBuf};

use super::canonical::{scope, string_to_sign};
use super::*;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 20150830T123600Z.
const SUITE_NOW: i64 = 1_440_938_160;

/// A request read from a `.sreq`/`.req` file, owning what [`Request`] borrows.
#[derive(Clone)]
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawRequest {
    fn as_request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            raw_path: &self.path,
            raw_query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// Parses the suite's raw HTTP: request line (the target may contain spaces, e.g.
/// `get-space`), headers with obs-fold continuation lines (`get-header-value-multiline`, kept
/// as received: CRLF plus the indented line), a blank line, then the body.
fn parse_raw(text: &str) -> RawRequest {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let (target, _version) = rest.rsplit_once(' ').expect("version");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("continuation without header");
            last.1.push_str("\r\n");
            last.1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').expect("header colon");
            headers.push((n.to_string(), v.to_string()));
        }
    }
    RawRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn suite_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `../../../shared` from a checkout at /work/<repo>; worktrees sit one level deeper.
    manifest
        .ancestors()
        .map(|a| a.join("shared/test-vectors/sigv4"))
        .find(|p| p.is_dir())
}

/// Case directories: those holding `<dirname>.sreq`.
fn case_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read suite dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for d in entries {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        if d.join(format!("{name}.sreq")).is_file() {
            out.push(d.clone());
        }
        case_dirs(&d, out);
    }
}

fn read(dir: &Path, ext: &str) -> String {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).expect("case file")
}

fn set_header(r: &mut RawRequest, name: &str, value: String) {
    let h = r
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .expect("header present");
    h.1 = value;
}

fn check(r: &RawRequest, secret: &str, now: i64) -> Result<(), SigV4Error> {
    let req = r.as_request();
    let sig = parse(&req)?;
    verify(&req, &sig, secret, now)
}

fn run_case(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut raw = parse_raw(&read(dir, "sreq"));
    let authz = read(dir, "authz").trim().to_string();

    let sent = raw
        .headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .expect("sreq has Authorization");
    if raw.headers[sent].1.trim() != authz {
        // The stale-header quirk described at the top of this file.
        assert_eq!(
            check(&raw, SECRET, SUITE_NOW),
            Err(SigV4Error::Mismatch),
            "{name}: stale .sreq header"
        );
        raw.headers[sent].1 = authz.clone();
    }

    let req = raw.as_request();
    let sig = parse(&req).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
    assert_eq!(sig.credential.access_key_id, AKID, "{name}");
    assert!(!sig.query_form);
    let has_token = raw
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("x-amz-security-token"));
    assert_eq!(sig.security_token.is_some(), has_token, "{name}");

    let creq = canonical_request(&req, &sig.signed_headers);
    assert_eq!(creq, read(dir, "creq"), "{name}: canonical request");
    let sc = scope(
        &sig.credential.date,
        &sig.credential.region,
        &sig.credential.service,
    );
    assert_eq!(
        string_to_sign(&sig.timestamp, &sc, &creq),
        read(dir, "sts"),
        "{name}: string to sign"
    );
    let signed = sign(
        &req,
        AKID,
        SECRET,
        "us-east-1",
        "service",
        &sig.timestamp,
        &sig.signed_headers,
    );
    assert_eq!(signed, authz, "{name}: sign");

    assert_eq!(check(&raw, SECRET, SUITE_NOW), Ok(()), "{name}: accept");

    // Every signed header, changed, breaks the signature.
    for h in &sig.signed_headers {
        let mut m = raw.clone();
        let old = m
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(h))
            .map(|(_, v)| v.clone())
            .unwrap();
        let new = if h == "x-amz-date" {
            clock::format_amz_date(SUITE_NOW + 1)
        } else {
            format!("{old}x")
        };
        set_header(&mut m, h, new);
        assert_eq!(
            check(&m, SECRET, SUITE_NOW),
            Err(SigV4Error::Mismatch),
            "{name}: header {h}"
        );
    }
    let mut mutations: Vec<(&str, RawRequest)> = Vec::new();
    let mut m = raw.clone();
    m.body.push(b'x');
    mutations.push(("body", m));
    let mut m = raw.clone();
    m.path.push('x');
    mutations.push(("path", m));
    let mut m = raw.clone();
    m.method = if m.method == "GET" { "POST" } else { "GET" }.into();
    mutations.push(("method", m));
    let mut m = raw.clone();
    m.query = if m.query.is_empty() {
        "extra=1".into()
    } else {
        format!("{}x", m.query)
    };
    mutations.push(("query", m));
    let mut m = raw.clone();
    m.query = if m.query.is_empty() {
        "extra=1".into()
    } else {
        format!("{}&extra=1", m.query)
    };
    mutations.push(("added query parameter", m));
    for (what, m) in &mutations {
        assert_eq!(
            check(m, SECRET, SUITE_NOW),
            Err(SigV4Error::Mismatch),
            "{name}: {what}"
        );
    }
    assert_eq!(
        check(&raw, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", SUITE_NOW),
        Err(SigV4Error::Mismatch),
        "{name}: wrong secret"
    );

    assert_eq!(
        check(&raw, SECRET, SUITE_NOW + 16 * 60),
        Err(SigV4Error::Expired(
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z \
             (20150830T125200Z - 15 min.)"
                .into()
        )),
        "{name}: +16 min"
    );
    assert_eq!(
        check(&raw, SECRET, SUITE_NOW - 16 * 60),
        Err(SigV4Error::Expired(
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z \
             (20150830T122000Z + 15 min.)"
                .into()
        )),
        "{name}: -16 min"
    );
    // The window is inclusive at exactly 15 minutes.
    assert_eq!(check(&raw, SECRET, SUITE_NOW + 15 * 60), Ok(()), "{name}");
    assert_eq!(check(&raw, SECRET, SUITE_NOW - 15 * 60), Ok(()), "{name}");
}

/// Every case of the AWS SigV4 suite (see the module doc).
#[test]
fn aws_sigv4_suite() {
    let Some(dir) = suite_dir() else {
        eprintln!("notice: shared/test-vectors/sigv4 not found; AWS SigV4 suite skipped");
        return;
    };
    let mut cases = Vec::new();
    case_dirs(&dir, &mut cases);
    assert!(!cases.is_empty(), "no cases under {}", dir.display());
    for c in &cases {
        run_case(c);
    }
    eprintln!("AWS SigV4 suite: {} cases passed", cases.len());
    println!("AWS SigV4 suite: {} cases passed", cases.len());
}

/// Each `.sreq` stripped of its `Authorization` and re-signed with [`sign`] gets `.authz` back
/// and verifies. (`.sreq` rather than `.req`: `get-vanilla-with-session-token.req` lacks the
/// token header its `.authz` signs.)
#[test]
fn signing_the_unsigned_suite_requests_verifies() {
    let Some(dir) = suite_dir() else {
        return;
    };
    let mut cases = Vec::new();
    case_dirs(&dir, &mut cases);
    for c in &cases {
        let name = c.file_name().unwrap().to_string_lossy().into_owned();
        let mut raw = parse_raw(&read(c, "sreq"));
        raw.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
        let expected = read(c, "authz");
        let signed: Vec<String> = expected
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap()
            .split(';')
            .map(str::to_string)
            .collect();
        let authz = sign(
            &raw.as_request(),
            AKID,
            SECRET,
            "us-east-1",
            "service",
            "20150830T123600Z",
            &signed,
        );
        assert_eq!(authz, expected.trim(), "{name}");
        raw.headers.push(("Authorization".into(), authz));
        assert_eq!(check(&raw, SECRET, SUITE_NOW), Ok(()), "{name}");
    }
}

//! Open and click tracking of an outgoing message (spec G-62..G-69, E-130..E-133; DECISIONS
//! ..Q-231, Q-234), pure: the engine decides whether to track and signs the URLs
//! ([`TrackingUrls`]); this module finds the HTML parts and rewrites them.
//!
//! [`rewrite_message`] walks the MIME tree of a CRLF message without a full parse: every byte
//! outside a rewritten `text/html` body is copied as it was. An HTML part is decoded from its
//! transfer encoding (quoted-printable, base64, 7bit/8bit), rewritten by [`html`], and encoded
//! again the same way — a 7bit/8bit part whose lines would grow past RFC 5322's 998 becomes
//! quoted-printable (Q-234: re-encode modified parts). Text parts, attachments (any
//! `Content-Disposition: attachment`) and attached messages are never touched (G-63, G-66).
//!
//! Never altered: a message already carrying a `DKIM-Signature` (the customer
//! signed it), or containing `multipart/signed`, `multipart/encrypted` or S/MIME/PGP parts.

pub mod html;

use base64::Engine as _;

pub use html::{
    count_open_trackers, parse_link_tags, pixel_tag, trackable_url, LinkTag, TrackingUrls,
    MAX_TRACKED_LINKS, OPEN_TRACKER_PLACEHOLDER,
};

use crate::message as split;

/// Why a message was left exactly as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Untouched {
    /// a customer `DKIM-Signature` is present.
    CustomerSigned,
    /// `multipart/signed`, `multipart/encrypted` or an S/MIME/PGP part.
    SignedOrEncrypted,
    /// No inline `text/html` part, or nothing in it to change.
    NothingToChange,
    /// The header section or a part could not be split.
    Unparseable,
}

/// What [`rewrite_message`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub raw: Vec<u8>,
    /// Links replaced by tracking URLs (≤ [`MAX_TRACKED_LINKS`]).
    pub links: usize,
    /// HTML parts that received the pixel.
    pub pixels: usize,
}

/// Parsed `Content-Type`: lower-cased `type/subtype` and parameters (names lower-cased).
struct ContentType {
    mime: String,
    params: Vec<(String, String)>,
}

impl ContentType {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_content_type(v: Option<String>) -> ContentType {
    let v = v.unwrap_or_else(|| "text/plain".into());
    let mut parts = split_params(&v).into_iter();
    let mime = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, val) = p.split_once('=')?;
            let val = val.trim();
            let val = val
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(val);
            Some((k.trim().to_ascii_lowercase(), val.to_string()))
        })
        .collect();
    ContentType { mime, params }
}

/// Splits at `;` outside double quotes.
fn split_params(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.last_mut().expect("non-empty").push(c);
            }
            ';' if !quoted => out.push(String::new()),
            _ => out.last_mut().expect("non-empty").push(c),
        }
    }
    out
}

fn header<'a>(fields: &'a [split::Field<'a>], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value())
}

/// content that must not change.
fn is_protected(ct: &ContentType) -> bool {
    matches!(
        ct.mime.as_str(),
        "multipart/signed"
            | "multipart/encrypted"
            | "application/pkcs7-mime"
            | "application/x-pkcs7-mime"
            | "application/pgp-encrypted"
    )
}

/// G-63, E-132, Q-21: `{{ses:openTracker}}` placeholders in the decoded inline HTML bodies of
/// `raw`; more than one is a send error (v2 `BadRequestException`, v1 `InvalidParameterValue`).
pub fn open_tracker_placeholders(raw: &[u8]) -> usize {
    // Cheap pre-check on the send path: the placeholder survives 7bit, 8bit and (almost
    // always) quoted-printable literally; only base64 hides it.
    // memchr: this runs on every send, so no quadratic window scans.
    let p = OPEN_TRACKER_PLACEHOLDER.as_bytes();
    let contains_ci = |n: &[u8]| {
        let (lo, up) = (n[0].to_ascii_lowercase(), n[0].to_ascii_uppercase());
        memchr::memchr2_iter(lo, up, raw)
            .any(|i| raw.len() - i >= n.len() && raw[i..i + n.len()].eq_ignore_ascii_case(n))
    };
    let literal = memchr::memmem::find(raw, p).is_some();
    let maybe_hidden = contains_ci(b"base64") && contains_ci(b"text/html");
    if !(literal || maybe_hidden) {
        return 0;
    }
    let Some(m) = mail_parser::MessageParser::default().parse(raw) else {
        return 0;
    };
    m.html_body
        .iter()
        .filter_map(|&id| match &m.part(id)?.body {
            mail_parser::PartType::Html(h) => Some(count_open_trackers(h.as_bytes())),
            _ => None,
        })
        .sum()
}

/// Rewrites `raw` (CRLF line endings) for tracking; `Err` says why it is left as it was.
pub fn rewrite_message(raw: &[u8], urls: &dyn TrackingUrls) -> Result<Rewritten, Untouched> {
    let s = split::split(raw).map_err(|_| Untouched::Unparseable)?;
    if s.fields
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case("DKIM-Signature"))
    {
        return Err(Untouched::CustomerSigned);
    }
    let mut counter = html::Counter::default();
    let mut walk = Walk {
        urls,
        counter: &mut counter,
        protected: false,
    };
    let out = walk.entity(raw, 0);
    if walk.protected {
        return Err(Untouched::SignedOrEncrypted);
    }
    match out {
        Some(raw) => Ok(Rewritten {
            raw,
            links: counter.tracked,
            pixels: counter.pixels,
        }),
        None => Err(Untouched::NothingToChange),
    }
}

struct Walk<'a, 'c> {
    urls: &'a dyn TrackingUrls,
    counter: &'c mut html::Counter,
    /// Set when a protected part was seen anywhere: the whole message is left alone.
    protected: bool,
}

impl Walk<'_, '_> {
    /// One MIME entity (header + body); `None` when unchanged.
    fn entity(&mut self, raw: &[u8], depth: usize) -> Option<Vec<u8>> {
        if depth > 20 {
            return None;
        }
        let s = split::split(raw).ok()?;
        let ct = parse_content_type(header(&s.fields, "Content-Type"));
        if is_protected(&ct) {
            self.protected = true;
            return None;
        }
        if ct.mime.starts_with("multipart/") {
            let boundary = ct.param("boundary")?.to_string();
            let body = self.multipart(s.body, &boundary, depth)?;
            let mut out = raw[..s.header_len].to_vec();
            out.extend_from_slice(&body);
            return Some(out);
        }
        if ct.mime != "text/html" {
            return None;
        }
        let attachment = header(&s.fields, "Content-Disposition")
            .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"));
        if attachment {
            return None;
        }
        let charset = ct.param("charset").unwrap_or("").to_ascii_lowercase();
        if charset.starts_with("utf-16") || charset.starts_with("utf-32") {
            return None; // not ASCII-compatible: the markup cannot be found byte-wise
        }
        let cte = header(&s.fields, "Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let decoded = match cte.as_str() {
            "base64" => decode_base64(s.body)?,
            "quoted-printable" => decode_qp(s.body),
            _ => s.body.to_vec(),
        };
        let html = html::rewrite_html(&decoded, self.urls, self.counter)?;
        let (encoded, new_cte) = match cte.as_str() {
            "base64" => (encode_base64(&html), None),
            "quoted-printable" => (encode_qp(&html), None),
            _ if html.split(|&b| b == b'\n').any(|l| l.len() > 998) => {
                (encode_qp(&html), Some("quoted-printable"))
            }
            _ => (html, None),
        };
        let mut out = Vec::with_capacity(raw.len() + 1024);
        match new_cte {
            None => out.extend_from_slice(&raw[..s.header_len]),
            Some(cte) => {
                for f in s
                    .fields
                    .iter()
                    .filter(|f| !f.name.eq_ignore_ascii_case("Content-Transfer-Encoding"))
                {
                    out.extend_from_slice(f.raw);
                }
                out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
                out.extend_from_slice(s.separator);
            }
        }
        out.extend_from_slice(&encoded);
        Some(out)
    }

    /// A multipart body: preamble, parts and epilogue copied, parts rewritten.
    fn multipart(&mut self, body: &[u8], boundary: &str, depth: usize) -> Option<Vec<u8>> {
        let delim = format!("--{boundary}");
        let d = delim.as_bytes();
        // Delimiter lines start at the body's start or right after a CRLF (RFC 2046 §5.1.1).
        let mut starts = Vec::new();
        let mut i = 0;
        while i + d.len() <= body.len() {
            if (i == 0 || (i >= 2 && &body[i - 2..i] == b"\r\n")) && body[i..].starts_with(d) {
                starts.push(i);
                i += d.len();
            } else {
                i += 1;
            }
        }
        if starts.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(body.len() + 1024);
        let mut changed = false;
        out.extend_from_slice(&body[..starts[0]]);
        for (n, &st) in starts.iter().enumerate() {
            let line_end = body[st..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(body.len(), |p| st + p + 2);
            out.extend_from_slice(&body[st..line_end]);
            let closing = body[st + d.len()..].starts_with(b"--");
            if closing {
                out.extend_from_slice(&body[line_end..]);
                break;
            }
            // The part runs to the CRLF before the next delimiter (that CRLF belongs to it).
            let part_end = starts.get(n + 1).map_or(body.len(), |&next| next - 2);
            if part_end < line_end {
                out.extend_from_slice(
                    &body[line_end..starts.get(n + 1).copied().unwrap_or(body.len())],
                );
                continue;
            }
            let part = &body[line_end..part_end];
            match self.entity(part, depth + 1) {
                Some(new) => {
                    out.extend_from_slice(&new);
                    changed = true;
                }
                None => out.extend_from_slice(part),
            }
            if let Some(&next) = starts.get(n + 1) {
                out.extend_from_slice(&body[part_end..next]);
            }
        }
        changed.then_some(out)
    }
}

fn decode_base64(body: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

fn encode_base64(data: &[u8]) -> Vec<u8> {
    let b = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(b.len() + b.len() / 38 + 2);
    for chunk in b.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// RFC 2045 §6.7, lenient: a stray `=` is kept.
fn decode_qp(body: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'=' {
            if body[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if body[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let (Some(h), Some(l)) = (
                body.get(i + 1).copied().and_then(hex),
                body.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(body[i]);
        i += 1;
    }
    out
}

/// RFC 2045 §6.7: lines of at most 76 characters, CRLF kept as hard line breaks.
fn encode_qp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 11 / 10 + 16);
    let mut col = 0;
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
            col = 0;
            i += 2;
            continue;
        }
        let at_line_end = matches!(data.get(i + 1), None | Some(b'\r'));
        let literal =
            (b == b' ' || b == b'\t') && !at_line_end || (33..=126).contains(&b) && b != b'=';
        let width = if literal { 1 } else { 3 };
        if col + width > 75 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
        }
        col += width;
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Urls {
        open: bool,
        click: bool,
    }

    impl TrackingUrls for Urls {
        fn open_url(&self) -> Option<String> {
            self.open.then(|| "https://r.test/o/PIXEL".into())
        }
        fn click_url(&self, index: usize, _url: &str, _tags: &[LinkTag]) -> Option<String> {
            self.click.then(|| format!("https://r.test/c/LINK{index}"))
        }
    }

    const BOTH: Urls = Urls {
        open: true,
        click: true,
    };

    fn alternative(html_headers: &str, html_body: &str) -> Vec<u8> {
        format!(
            "From: a@example.test\r\nTo: b@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"BB\"\r\n\r\n\
             preamble\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             see http://a.example/x <a href=\"http://a.example/x\">\r\n\
             --BB\r\n{html_headers}\r\n{html_body}\r\n--BB--\r\nepilogue\r\n"
        )
        .into_bytes()
    }

    fn text(raw: &[u8]) -> String {
        String::from_utf8(raw.to_vec()).unwrap()
    }

    /// G-63, G-64, G-66 "HTML-only": the HTML part changes; the text part, the headers, the
    /// preamble and the epilogue are the same bytes.
    #[test]
    fn only_the_html_part_changes() {
        let raw = alternative(
            "Content-Type: text/html; charset=utf-8\r\n",
            "<p><a href=\"https://a.example/\">x</a></p>",
        );
        let r = rewrite_message(&raw, &BOTH).unwrap();
        let got = text(&r.raw);
        assert_eq!((r.links, r.pixels), (1, 1));
        assert!(got.contains(
            "<p><a href=\"https://r.test/c/LINK0\">x</a></p><img alt=\"\" src=\"https://r.test/o/PIXEL\""
        ), "{got}");
        assert!(got.contains("see http://a.example/x <a href=\"http://a.example/x\">\r\n--BB\r\n"));
        assert!(got.starts_with("From: a@example.test\r\n"));
        assert!(got.contains("\r\n\r\npreamble\r\n--BB\r\n"));
        assert!(got.ends_with("\r\n--BB--\r\nepilogue\r\n"));
    }

    /// quoted-printable and base64 HTML parts are decoded, rewritten and re-encoded.
    #[test]
    fn encoded_html_parts_round_trip() {
        let html = "<p>caf\u{e9} <a href=\"https://a.example/?a=1&amp;b=2\">x</a></p>";
        for cte in ["quoted-printable", "base64"] {
            let body = match cte {
                "base64" => text(&encode_base64(html.as_bytes())),
                _ => text(&encode_qp(html.as_bytes())),
            };
            let raw = alternative(
                &format!("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n"),
                body.trim_end(),
            );
            let r = rewrite_message(&raw, &BOTH).unwrap();
            let got = text(&r.raw);
            let start = got.find(&format!("{cte}\r\n\r\n")).unwrap() + cte.len() + 4;
            let end = got.rfind("\r\n--BB--").unwrap();
            let part = &got.as_bytes()[start..end];
            let decoded = match cte {
                "base64" => decode_base64(part).unwrap(),
                _ => decode_qp(part),
            };
            let decoded = String::from_utf8(decoded).unwrap();
            assert!(
                decoded
                    .starts_with("<p>caf\u{e9} <a href=\"https://r.test/c/LINK0\">x</a></p><img"),
                "{cte}: {decoded}"
            );
            assert!(got[start..end].lines().all(|l| l.len() <= 76), "{cte}");
        }
    }

    /// customer-signed and signed/encrypted messages are not modified.
    #[test]
    fn signed_messages_are_untouched() {
        let html = "<a href=\"https://a.example/\">x</a>";
        let mut signed =
            b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; b=abc\r\n".to_vec();
        signed.extend_from_slice(&alternative("Content-Type: text/html\r\n", html));
        assert_eq!(
            rewrite_message(&signed, &BOTH).unwrap_err(),
            Untouched::CustomerSigned
        );

        let smime = format!(
            "From: a@example.test\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=S\r\n\r\n\
             --S\r\nContent-Type: text/html\r\n\r\n{html}\r\n--S\r\n\
             Content-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--S--\r\n"
        );
        assert_eq!(
            rewrite_message(smime.as_bytes(), &BOTH).unwrap_err(),
            Untouched::SignedOrEncrypted
        );

        let nested = format!(
            "From: a@example.test\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n\
             --M\r\nContent-Type: text/html\r\n\r\n{html}\r\n--M\r\n\
             Content-Type: multipart/encrypted; boundary=E\r\n\r\n--E\r\n\r\nx\r\n--E--\r\n--M--\r\n"
        );
        assert_eq!(
            rewrite_message(nested.as_bytes(), &BOTH).unwrap_err(),
            Untouched::SignedOrEncrypted
        );
    }

    /// G-66 "HTML-only": text-only messages, HTML attachments and attached messages stay.
    #[test]
    fn what_is_not_an_inline_html_body_stays() {
        let text_only = b"From: a@example.test\r\nContent-Type: text/plain\r\n\r\n<a href=\"https://a.example/\">x</a>\r\n";
        assert_eq!(
            rewrite_message(text_only, &BOTH).unwrap_err(),
            Untouched::NothingToChange
        );
        let attached = "From: a@example.test\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n\
             --M\r\nContent-Type: text/plain\r\n\r\nhi\r\n--M\r\n\
             Content-Type: text/html\r\nContent-Disposition: attachment; filename=a.html\r\n\r\n<a href=\"https://a.example/\">x</a>\r\n\
             --M\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: text/html\r\n\r\n<a href=\"https://a.example/\">x</a>\r\n--M--\r\n";
        assert_eq!(
            rewrite_message(attached.as_bytes(), &BOTH).unwrap_err(),
            Untouched::NothingToChange
        );
    }

    /// A single-part HTML message with a long 7bit line becomes quoted-printable (RFC 5322
    /// §2.1.1 line limit).
    #[test]
    fn long_7bit_lines_become_quoted_printable() {
        let links: String = (0..10)
            .map(|i| format!("<a href=\"https://a.example/{i}\">{i}</a>"))
            .collect();
        let raw = format!(
            "From: a@example.test\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{links}\r\n"
        );
        struct Long;
        impl TrackingUrls for Long {
            fn open_url(&self) -> Option<String> {
                None
            }
            fn click_url(&self, i: usize, _: &str, _: &[LinkTag]) -> Option<String> {
                Some(format!("https://r.test/c/{}{i}", "x".repeat(150)))
            }
        }
        let r = rewrite_message(raw.as_bytes(), &Long).unwrap();
        let got = text(&r.raw);
        assert!(got.starts_with("From: a@example.test\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"), "{got}");
        assert!(got.lines().all(|l| l.len() <= 76));
        let body = &got[got.find("\r\n\r\n").unwrap() + 4..];
        assert_eq!(
            text(&decode_qp(body.as_bytes()))
                .matches("https://r.test/c/")
                .count(),
            10
        );
    }

    /// E-132: placeholders are counted in HTML bodies only, after transfer decoding.
    #[test]
    fn placeholder_count() {
        let two = "{{ses:openTracker}} {{ses:openTracker}}";
        let b64 = text(&encode_base64(two.as_bytes()));
        let table: &[(String, usize)] = &[
            (
                text(&alternative(
                    "Content-Type: text/html\r\n",
                    "{{ses:openTracker}}",
                )),
                1,
            ),
            (text(&alternative("Content-Type: text/html\r\n", two)), 2),
            (
                text(&alternative(
                    "Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n",
                    b64.trim_end(),
                )),
                2,
            ),
            (
                format!("Subject: x\r\nContent-Type: text/plain\r\n\r\n{two}\r\n"),
                0,
            ),
        ];
        for (raw, want) in table {
            assert_eq!(open_tracker_placeholders(raw.as_bytes()), *want, "{raw}");
        }
    }

    /// Input paths never panic: random messages made of MIME and HTML fragments.
    #[test]
    fn random_fragments_never_panic() {
        use rand::{Rng, SeedableRng};
        let pieces: &[&str] = &[
            "Content-Type: multipart/mixed; boundary=B\r\n",
            "Content-Type: text/html\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "--B\r\n",
            "--B--\r\n",
            "--B",
            "<a",
            " href=",
            "\"https://a.example/\"",
            "'",
            ">",
            "<a href=https://x.example/>",
            "ses:tags=\"a:b\"",
            " ses:no-track",
            "<!--",
            "-->",
            "{{ses:openTracker}}",
            "</body>",
            "=",
            "=4",
            "=\r\n",
            "QUJD",
            "\n",
            "<",
            "\u{e9}",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..3000 {
            let mut raw = String::from("From: a@example.test\r\n");
            for _ in 0..rng.gen_range(0..40) {
                raw.push_str(pieces[rng.gen_range(0..pieces.len())]);
            }
            let _ = rewrite_message(raw.as_bytes(), &BOTH);
            let _ = open_tracker_placeholders(raw.as_bytes());
        }
    }

    #[test]
    fn qp_round_trip() {
        let table: &[&[u8]] = &[
            b"a=b c \r\nnext\t\r\n",
            &[0xc3, 0xa9, b' ', b'x'],
            &[b'y'; 300],
        ];
        for t in table {
            let e = encode_qp(t);
            assert!(e.split(|&b| b == b'\n').all(|l| l.len() <= 77));
            assert_eq!(decode_qp(&e), *t);
        }
    }
}

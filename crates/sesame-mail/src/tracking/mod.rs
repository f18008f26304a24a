//! Open and click tracking of an outgoing message (spec G-62..G-69, E-130..E-133; DECISIONS
//! ..Q-231, Q-234), pure: the engine decides whether to track and signs the URLs
//! ([`TrackingUrls`]); this module finds the HTML parts and rewrites them.
//!
//! [`rewrite_message`] rewrites the inline `text/html` parts with [`html`] through the shared
//! MIME walker ([`crate::rewrite`]: decode, edit, re-encode, every other byte as it was). Text
//! parts, attachments (any `Content-Disposition: attachment`) and attached messages are never
//! touched (G-63, G-66).
//!
//! Never altered: a message already carrying a `DKIM-Signature` (the customer
//! signed it), or containing `multipart/signed`, `multipart/encrypted` or S/MIME/PGP parts.

pub mod html;

pub use html::{
    count_open_trackers, parse_link_tags, pixel_tag, trackable_url, LinkTag, TrackingUrls,
    MAX_TRACKED_LINKS, OPEN_TRACKER_PLACEHOLDER,
};

pub use crate::rewrite::Untouched;
use crate::rewrite::{rewrite_parts, PartEditor};

/// What [`rewrite_message`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    pub raw: Vec<u8>,
    /// Links replaced by tracking URLs (≤ [`MAX_TRACKED_LINKS`]).
    pub links: usize,
    /// HTML parts that received the pixel.
    pub pixels: usize,
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
    let mut editor = HtmlEditor {
        urls,
        counter: html::Counter::default(),
    };
    let raw = rewrite_parts(raw, &mut editor)?;
    Ok(Rewritten {
        raw,
        links: editor.counter.tracked,
        pixels: editor.counter.pixels,
    })
}

/// The tracking edit of inline HTML bodies.
struct HtmlEditor<'a> {
    urls: &'a dyn TrackingUrls,
    counter: html::Counter,
}

impl PartEditor for HtmlEditor<'_> {
    fn wants(&self, mime: &str) -> bool {
        mime == "text/html"
    }

    fn edit(&mut self, _mime: &str, decoded: &[u8]) -> Option<Vec<u8>> {
        html::rewrite_html(decoded, self.urls, &mut self.counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::{decode_base64, decode_qp, encode_base64, encode_qp};

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

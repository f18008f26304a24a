//! What list management adds to an outgoing single-recipient message (spec F-181..F-193;
//! DECISIONS ), pure: the caller decides that it applies and signs the URL.
//!
//! - `List-Unsubscribe: <URL>` (RFC 2369) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
//!   (RFC 8058), replacing any such fields already present (F-191), appended at the end of the
//!   header section; the DKIM signer covers both (`dkim::SIGNED_HEADERS`, RFC 8058 §4).
//! - The first [`MAX_REPLACED_PLACEHOLDERS`] occurrences of [`UNSUBSCRIBE_PLACEHOLDER`] in the
//!   inline `text/plain` and `text/html` parts, in document order, become the URL (F-188); any
//!   further ones stay as written.
//!
//! A message the customer signed (a `DKIM-Signature`, or signed/encrypted parts) is returned
//! as it is (F-183, Q-97): changing it would break the customer's signature.

use crate::message::split;
use crate::rewrite::{rewrite_parts, PartEditor, Untouched};

/// F-188: where the unsubscribe URL goes in the body.
pub const UNSUBSCRIBE_PLACEHOLDER: &str = "{{amazonSESUnsubscribeUrl}}";
/// F-188: at most this many placeholders are replaced.
pub const MAX_REPLACED_PLACEHOLDERS: usize = 2;
/// RFC 8058 §3.1: the body of the one-click POST, and the `List-Unsubscribe-Post` value.
pub const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// What [`add_list_unsubscribe`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListUnsubscribe {
    pub raw: Vec<u8>,
    /// Placeholders replaced (at most [`MAX_REPLACED_PLACEHOLDERS`]).
    pub placeholders_replaced: usize,
}

/// Adds the list-unsubscribe header fields and footer URL to `raw` (CRLF line endings; see the
/// module docs). `Err` only for a message left exactly as it was: customer-signed or
/// signed/encrypted, or a header section that cannot be split.
pub fn add_list_unsubscribe(raw: &[u8], url: &str) -> Result<ListUnsubscribe, Untouched> {
    let mut editor = Placeholders { url, replaced: 0 };
    let body = match rewrite_parts(raw, &mut editor) {
        Ok(b) => b,
        Err(Untouched::NothingToChange) => raw.to_vec(),
        Err(why) => return Err(why),
    };
    let s = split(&body).map_err(|_| Untouched::Unparseable)?;
    let mut out = Vec::with_capacity(body.len() + url.len() + 96);
    for f in &s.fields {
        if !f.name.eq_ignore_ascii_case("List-Unsubscribe")
            && !f.name.eq_ignore_ascii_case("List-Unsubscribe-Post")
        {
            out.extend_from_slice(f.raw);
        }
    }
    out.extend_from_slice(format!("List-Unsubscribe: <{url}>\r\n").as_bytes());
    out.extend_from_slice(format!("List-Unsubscribe-Post: {ONE_CLICK}\r\n").as_bytes());
    out.extend_from_slice(s.separator);
    out.extend_from_slice(s.body);
    Ok(ListUnsubscribe {
        raw: out,
        placeholders_replaced: editor.replaced,
    })
}

/// Replaces placeholders while fewer than [`MAX_REPLACED_PLACEHOLDERS`] were.
struct Placeholders<'a> {
    url: &'a str,
    replaced: usize,
}

impl PartEditor for Placeholders<'_> {
    fn wants(&self, mime: &str) -> bool {
        // F-188: HTML and TEXT content only.
        matches!(mime, "text/plain" | "text/html") && self.replaced < MAX_REPLACED_PLACEHOLDERS
    }

    fn edit(&mut self, mime: &str, decoded: &[u8]) -> Option<Vec<u8>> {
        let needle = UNSUBSCRIBE_PLACEHOLDER.as_bytes();
        let url = if mime == "text/html" {
            html_escape(self.url)
        } else {
            self.url.to_string()
        };
        let mut out = Vec::with_capacity(decoded.len() + 2 * url.len());
        let mut rest = decoded;
        let mut changed = false;
        while self.replaced < MAX_REPLACED_PLACEHOLDERS {
            let Some(at) = memchr::memmem::find(rest, needle) else {
                break;
            };
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(url.as_bytes());
            rest = &rest[at + needle.len()..];
            self.replaced += 1;
            changed = true;
        }
        out.extend_from_slice(rest);
        changed.then_some(out)
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::{decode_base64, decode_qp, encode_base64};

    const URL: &str = "https://r.us-east-1.sesame.test/unsubscribe/TOKEN.MAC";

    fn text(raw: &[u8]) -> String {
        String::from_utf8(raw.to_vec()).unwrap()
    }

    fn alternative(text_body: &str, html_headers: &str, html_body: &str) -> Vec<u8> {
        format!(
            "From: a@example.test\r\nTo: b@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"BB\"\r\n\r\n\
             --BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text_body}\r\n\
             --BB\r\n{html_headers}\r\n{html_body}\r\n--BB--\r\n"
        )
        .into_bytes()
    }

    /// F-188, KA-11: the first two placeholders (text part, then HTML part) are replaced and
    /// the third is left; the HTML URL is attribute-safe; headers are added once (F-191).
    #[test]
    fn two_placeholders_replaced_third_left() {
        let p = UNSUBSCRIBE_PLACEHOLDER;
        let raw = alternative(
            &format!("Unsubscribe: {p}"),
            "Content-Type: text/html; charset=utf-8\r\n",
            &format!("<a href=\"{p}\">unsubscribe</a> or {p}"),
        );
        let r = add_list_unsubscribe(&raw, URL).unwrap();
        assert_eq!(r.placeholders_replaced, 2);
        let got = text(&r.raw);
        assert!(
            got.contains(&format!("Unsubscribe: {URL}\r\n--BB")),
            "{got}"
        );
        assert!(
            got.contains(&format!("<a href=\"{URL}\">unsubscribe</a> or {p}")),
            "{got}"
        );
        assert_eq!(got.matches("List-Unsubscribe: ").count(), 1);
        assert!(got.contains(&format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"BB\"\r\n\
             List-Unsubscribe: <{URL}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n--BB"
        )));
    }

    /// F-191: existing List-Unsubscribe fields are replaced; a message without placeholders
    /// only gets the fields, its body byte-identical.
    #[test]
    fn existing_fields_are_replaced() {
        let raw = b"From: a@example.test\r\nList-Unsubscribe: <mailto:x@example.test>\r\n\
            Subject: s\r\nlist-unsubscribe-post: List-Unsubscribe=One-Click\r\n\r\nbody\r\n";
        let r = add_list_unsubscribe(raw, URL).unwrap();
        assert_eq!(r.placeholders_replaced, 0);
        assert_eq!(
            text(&r.raw),
            format!(
                "From: a@example.test\r\nSubject: s\r\nList-Unsubscribe: <{URL}>\r\n\
                 List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nbody\r\n"
            )
        );
    }

    /// F-188: only text/plain and text/html; attachments and other types keep the placeholder;
    /// base64 and quoted-printable parts are decoded, replaced and re-encoded.
    #[test]
    fn only_inline_text_parts_encoded_or_not() {
        let p = UNSUBSCRIBE_PLACEHOLDER;
        let b64 = text(&encode_base64(format!("x {p} y").as_bytes()));
        let raw = format!(
            "From: a@example.test\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n\
             --M\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --M\r\nContent-Type: text/csv\r\n\r\n{p}\r\n\
             --M\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n{p}\r\n\
             --M\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n{p} &amp;\r\n--M--\r\n",
            b64.trim_end()
        );
        let r = add_list_unsubscribe(raw.as_bytes(), "https://h.test/u/A&B").unwrap();
        assert_eq!(r.placeholders_replaced, 2);
        let got = text(&r.raw);
        let parts: Vec<&str> = got.split("--M").collect();
        let body = |part: &str| {
            part.split_once("\r\n\r\n")
                .unwrap()
                .1
                .trim_end()
                .to_string()
        };
        assert_eq!(
            text(&decode_base64(body(parts[1]).as_bytes()).unwrap()),
            "x https://h.test/u/A&B y"
        );
        assert!(parts[2].ends_with(&format!("{p}\r\n")));
        assert!(parts[3].ends_with(&format!("{p}\r\n")));
        assert_eq!(
            text(&decode_qp(body(parts[4]).as_bytes())),
            "https://h.test/u/A&amp;B &amp;"
        );
    }

    /// F-183, Q-97: customer-signed and signed/encrypted messages are not modified at all.
    #[test]
    fn signed_messages_are_untouched() {
        let signed = format!(
            "DKIM-Signature: v=1; d=example.test; s=s; b=abc\r\nFrom: a@example.test\r\n\r\n{UNSUBSCRIBE_PLACEHOLDER}\r\n"
        );
        assert_eq!(
            add_list_unsubscribe(signed.as_bytes(), URL),
            Err(Untouched::CustomerSigned)
        );
        let smime = "From: a@example.test\r\nContent-Type: multipart/signed; boundary=S\r\n\r\n\
             --S\r\nContent-Type: text/plain\r\n\r\nhi\r\n--S--\r\n";
        assert_eq!(
            add_list_unsubscribe(smime.as_bytes(), URL),
            Err(Untouched::SignedOrEncrypted)
        );
    }
}

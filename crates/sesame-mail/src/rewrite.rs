//! Rewriting the inline text bodies of an outgoing message, shared by open/click tracking
//! ([`crate::tracking`], `text/html`) and list management ([`crate::list_unsubscribe`],
//! `text/plain` and `text/html`), pure.
//!
//! [`rewrite_parts`] walks the MIME tree of a CRLF message without a full parse: every byte
//! outside a rewritten body is copied as it was. A part the [`PartEditor`] wants is decoded
//! from its transfer encoding (quoted-printable, base64, 7bit/8bit), edited, and encoded again
//! the same way — a 7bit/8bit part whose lines would grow past RFC 5322's 998 becomes
//! quoted-printable (Q-234: re-encode modified parts). Attachments (any
//! `Content-Disposition: attachment`), attached messages, UTF-16/32 text and parts the editor
//! does not want are never touched (G-63, G-66).
//!
//! Never altered (Q-97, Q-234, F-183): a message already carrying a `DKIM-Signature` (the
//! customer signed it), or containing `multipart/signed`, `multipart/encrypted` or S/MIME/PGP
//! parts.

use base64::Engine as _;

use crate::message as split;

/// Why a message was left exactly as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Untouched {
    /// a customer `DKIM-Signature` is present.
    CustomerSigned,
    /// `multipart/signed`, `multipart/encrypted` or an S/MIME/PGP part.
    SignedOrEncrypted,
    /// No inline part the editor wants, or nothing in one to change.
    NothingToChange,
    /// The header section or a part could not be split.
    Unparseable,
}

/// Edits the decoded bodies of the inline leaf parts of a message, in document order.
pub trait PartEditor {
    /// Whether parts of this lower-case `type/subtype` are of interest.
    fn wants(&self, mime: &str) -> bool;
    /// The new decoded body of such a part, or `None` to leave it byte-identical.
    fn edit(&mut self, mime: &str, decoded: &[u8]) -> Option<Vec<u8>>;
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

/// Rewrites `raw` (CRLF line endings) with `editor`; `Err` says why it is left as it was.
pub fn rewrite_parts(raw: &[u8], editor: &mut dyn PartEditor) -> Result<Vec<u8>, Untouched> {
    let s = split::split(raw).map_err(|_| Untouched::Unparseable)?;
    if s.fields
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case("DKIM-Signature"))
    {
        return Err(Untouched::CustomerSigned);
    }
    let mut walk = Walk {
        editor,
        protected: false,
    };
    let out = walk.entity(raw, 0);
    if walk.protected {
        return Err(Untouched::SignedOrEncrypted);
    }
    out.ok_or(Untouched::NothingToChange)
}

struct Walk<'e> {
    editor: &'e mut dyn PartEditor,
    /// Set when a protected part was seen anywhere: the whole message is left alone.
    protected: bool,
}

impl Walk<'_> {
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
        if !self.editor.wants(&ct.mime) {
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
        let edited = self.editor.edit(&ct.mime, &decoded)?;
        let (encoded, new_cte) = match cte.as_str() {
            "base64" => (encode_base64(&edited), None),
            "quoted-printable" => (encode_qp(&edited), None),
            _ if edited.split(|&b| b == b'\n').any(|l| l.len() > 998) => {
                (encode_qp(&edited), Some("quoted-printable"))
            }
            _ => (edited, None),
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

pub(crate) fn decode_base64(body: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

pub(crate) fn encode_base64(data: &[u8]) -> Vec<u8> {
    let b = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(b.len() + b.len() / 38 + 2);
    for chunk in b.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// RFC 2045 §6.7, lenient: a stray `=` is kept.
pub(crate) fn decode_qp(body: &[u8]) -> Vec<u8> {
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
pub(crate) fn encode_qp(data: &[u8]) -> Vec<u8> {
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

//! Builds the MIME message for v2 `SendEmail` Simple content and v1 `SendEmail` (model shapes
//! `Message`, `Body`, `Content`, `MessageHeader`, `Attachment`) with mail-builder.
//!
//! Structure: text + HTML → `multipart/alternative`; inline parts with a Content-ID →
//! `multipart/related` around the body; other attachments → `multipart/mixed` (B-51, B-57).
//! Headers are 7-bit: non-ASCII subjects and display names become RFC 2047 encoded-words (B-53,
//! B-54). `Date` and `Message-ID` are not written: `finalize` sets the service's own (B-62,
//! B-63). There is no Bcc field at all — blind recipients are envelope-only.

use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::text::Text as HeaderText;
use mail_builder::headers::Header;
use mail_builder::mime::{BodyPart, MimePart};
use mail_parser::MessageParser;

/// Model `Content`: text plus the charset the caller declared.
///
/// The API delivers Unicode text (JSON or form-encoded UTF-8), so the built message always
/// carries it as UTF-8 and says so in `charset=utf-8`; a declared charset such as
/// `ISO-8859-1` is accepted and the text renders identically (no transcoding table needed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text {
    pub data: String,
    pub charset: Option<String>,
}

impl Text {
    pub fn new(data: impl Into<String>) -> Text {
        Text {
            data: data.into(),
            charset: None,
        }
    }
}

/// Model `AttachmentContentDisposition`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Disposition {
    #[default]
    Attachment,
    Inline,
}

/// Model `AttachmentContentTransferEncoding`. A preference: the builder never emits an
/// encoding that would corrupt the data (7bit for non-ASCII content falls back to base64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransferEncoding {
    #[default]
    Base64,
    QuotedPrintable,
    SevenBit,
}

/// Model `Attachment`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    /// Defaults to a type guessed from the extension, else `application/octet-stream`.
    pub content_type: Option<String>,
    /// Without angle brackets; an inline attachment with one goes into `multipart/related`.
    pub content_id: Option<String>,
    pub disposition: Disposition,
    pub description: Option<String>,
    pub transfer_encoding: TransferEncoding,
    pub data: Vec<u8>,
}

/// A v2 Simple (or v1 `SendEmail`) message. Addresses are `addr@domain` or
/// `Display Name <addr@domain>` (the display name may be Unicode or an encoded-word); they are
/// validated before building (`validate_address`), not here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimpleMessage {
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub reply_to: Vec<String>,
    pub subject: Text,
    pub text: Option<Text>,
    pub html: Option<Text>,
    /// v2 `Message.Headers`, already checked by `validate_custom_headers` (B-65).
    pub headers: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
}

/// Builds the message: header fields, `MIME-Version: 1.0`, then the MIME tree; CRLF lines.
pub fn build_simple(m: &SimpleMessage) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(
        1024 + m
            .attachments
            .iter()
            .map(|a| a.data.len() * 4 / 3)
            .sum::<usize>(),
    );
    write_field(
        &mut out,
        "From",
        &address_list(std::slice::from_ref(&m.from)),
    );
    if !m.to.is_empty() {
        write_field(&mut out, "To", &address_list(&m.to));
    }
    if !m.cc.is_empty() {
        write_field(&mut out, "Cc", &address_list(&m.cc));
    }
    if !m.reply_to.is_empty() {
        write_field(&mut out, "Reply-To", &address_list(&m.reply_to));
    }
    write_field(
        &mut out,
        "Subject",
        &HeaderText::new(m.subject.data.as_str()),
    );
    for (name, value) in &m.headers {
        write_field(&mut out, name, &HeaderText::new(value.as_str()));
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    body_tree(m).write_part(&mut out);
    out
}

pub(crate) fn write_field(out: &mut Vec<u8>, name: &str, value: &impl Header) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    value.write_header(out, name.len() + 2);
}

/// Parses `Name <addr>` / `addr` with mail-parser (which also decodes an encoded-word name),
/// so mail-builder can re-encode the name correctly.
pub(crate) fn address_list(list: &[String]) -> Address<'static> {
    let items = list
        .iter()
        .map(|a| {
            let header = format!("To: {a}\r\n\r\n");
            let parsed = MessageParser::default()
                .parse(header.as_bytes())
                .and_then(|msg| {
                    let first = msg.to()?.first()?;
                    Some((
                        first.name.as_ref().map(|n| n.to_string()),
                        first.address.as_ref()?.to_string(),
                    ))
                });
            match parsed {
                Some((name, addr)) => Address::new_address(name, addr),
                None => Address::new_address(None::<String>, a.trim().to_string()),
            }
        })
        .collect::<Vec<_>>();
    if items.len() == 1 {
        items
            .into_iter()
            .next()
            .unwrap_or(Address::new_list(vec![]))
    } else {
        Address::new_list(items)
    }
}

/// CRLF line endings for text bodies (RFC 5322 §2.3); mail-builder picks 7bit, QP or base64.
fn text_part(mime: &str, t: &Text) -> MimePart<'static> {
    let data = String::from_utf8_lossy(&super::split::to_crlf(t.data.as_bytes())).into_owned();
    MimePart::new(
        ContentType::new(mime.to_string()).attribute("charset", "utf-8"),
        BodyPart::Text(data.into()),
    )
}

fn body_tree(m: &SimpleMessage) -> MimePart<'static> {
    let text = m.text.as_ref().map(|t| text_part("text/plain", t));
    let html = m.html.as_ref().map(|t| text_part("text/html", t));
    let body = match (text, html) {
        (Some(t), Some(h)) => MimePart::new("multipart/alternative", vec![t, h]),
        (Some(p), None) | (None, Some(p)) => p,
        (None, None) => text_part("text/plain", &Text::new("")),
    };
    let (related, mixed): (Vec<&Attachment>, Vec<&Attachment>) = m
        .attachments
        .iter()
        .partition(|a| a.disposition == Disposition::Inline && a.content_id.is_some());
    let body = if related.is_empty() {
        body
    } else {
        let mut parts = vec![body];
        parts.extend(related.into_iter().map(attachment_part));
        MimePart::new("multipart/related", parts)
    };
    if mixed.is_empty() {
        body
    } else {
        let mut parts = vec![body];
        parts.extend(mixed.into_iter().map(attachment_part));
        MimePart::new("multipart/mixed", parts)
    }
}

fn attachment_part(a: &Attachment) -> MimePart<'static> {
    let ctype = a
        .content_type
        .clone()
        .unwrap_or_else(|| guess_content_type(&a.file_name).to_string());
    let content_type = ContentType::new(ctype).attribute("name", a.file_name.clone());
    let seven_bit_ok = a.data.is_ascii()
        && !a.data.contains(&0)
        && a.data.split(|&b| b == b'\n').all(|l| l.len() <= 998);
    let mut part = match (a.transfer_encoding, std::str::from_utf8(&a.data)) {
        (TransferEncoding::SevenBit, _) if seven_bit_ok => {
            let data = super::split::to_crlf(&a.data).into_owned();
            MimePart::new(content_type, BodyPart::Binary(data.into())).transfer_encoding("7bit")
        }
        (TransferEncoding::QuotedPrintable, Ok(s)) => {
            MimePart::new(content_type, BodyPart::Text(s.to_string().into()))
        }
        _ => MimePart::new(content_type, BodyPart::Binary(a.data.clone().into())),
    };
    let disposition = match a.disposition {
        Disposition::Attachment => "attachment",
        Disposition::Inline => "inline",
    };
    part = part.header(
        "Content-Disposition",
        ContentType::new(disposition).attribute("filename", a.file_name.clone()),
    );
    if let Some(id) = &a.content_id {
        part = part.cid(id.trim_start_matches('<').trim_end_matches('>').to_string());
    }
    if let Some(d) = &a.description {
        part = part.header("Content-Description", HeaderText::new(d.clone()));
    }
    part
}

/// A few common types; anything else is `application/octet-stream`.
fn guess_content_type(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" => "text/plain",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        "json" => "application/json",
        "ics" => "text/calendar",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{inspect, validate_raw, Limits};

    fn sample() -> SimpleMessage {
        SimpleMessage {
            from: "Jürgen Müller <sender@example.com>".into(),
            to: vec!["a@example.org".into(), "B <b@example.org>".into()],
            cc: vec!["c@example.org".into()],
            reply_to: vec!["=?utf-8?Q?R=C3=A9ponse?= <reply@example.com>".into()],
            subject: Text::new("Як ти поживаєш?"),
            text: Some(Text::new("Hello\nworld €")),
            html: Some(Text::new("<p>Hello <img src=\"cid:logo\"></p>")),
            headers: vec![("X-Campaign".into(), "spring".into())],
            attachments: vec![
                Attachment {
                    file_name: "logo.png".into(),
                    content_id: Some("logo".into()),
                    disposition: Disposition::Inline,
                    data: vec![0x89, b'P', b'N', b'G', 0, 1, 2],
                    ..Attachment::default()
                },
                Attachment {
                    file_name: "report.pdf".into(),
                    description: Some("Monthly report".into()),
                    data: b"%PDF-1.4 ...".to_vec(),
                    ..Attachment::default()
                },
            ],
        }
    }

    /// B-51, B-54, B-57: structure, encoded headers, no Date/Message-ID/Bcc, CRLF only; the
    /// result passes our own raw-message rules.
    #[test]
    fn builds_nested_mime_that_parses_back() {
        let raw = build_simple(&sample());
        let s = String::from_utf8(raw.clone()).unwrap();
        assert!(s.is_ascii(), "headers and bodies must be 7-bit (B-53)");
        assert!(!s.contains("\r\r") && s.matches('\n').count() == s.matches("\r\n").count());
        for absent in ["\nDate:", "\nMessage-ID:", "\nBcc:", "Date: "] {
            assert!(!s.contains(absent), "{absent}");
        }
        assert!(s.contains("multipart/mixed") && s.contains("multipart/related"));
        assert!(s.contains("multipart/alternative") && s.contains("X-Campaign: spring\r\n"));

        let msg = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(msg.subject(), Some("Як ти поживаєш?"));
        let from = msg.from().unwrap().first().unwrap();
        assert_eq!(from.name.as_deref(), Some("Jürgen Müller"));
        assert_eq!(
            msg.reply_to().unwrap().first().unwrap().name.as_deref(),
            Some("Réponse")
        );
        assert_eq!(msg.body_text(0).unwrap(), "Hello\r\nworld €");
        assert!(msg.body_html(0).unwrap().contains("cid:logo"));

        let i = inspect(&raw).unwrap();
        assert_eq!(i.to, ["a@example.org", "b@example.org"]);
        assert_eq!(i.attachment_names, ["logo.png", "report.pdf"]);
        // mixed → related → alternative → text, html; logo; report = 6 entities below root.
        assert_eq!(i.mime_parts, 6);
        assert_eq!(validate_raw(&i, Limits::V2_AND_SMTP), Ok(()));
    }

    #[test]
    fn shapes_follow_the_content() {
        let base = SimpleMessage {
            from: "a@example.com".into(),
            to: vec!["b@example.org".into()],
            subject: Text::new("plain"),
            ..SimpleMessage::default()
        };
        let table: Vec<(SimpleMessage, &str)> = vec![
            (
                SimpleMessage {
                    text: Some(Text::new("t")),
                    ..base.clone()
                },
                "Content-Type: text/plain",
            ),
            (
                SimpleMessage {
                    html: Some(Text::new("<b>h</b>")),
                    ..base.clone()
                },
                "Content-Type: text/html",
            ),
            (
                SimpleMessage {
                    text: Some(Text::new("t")),
                    attachments: vec![Attachment {
                        file_name: "a.txt".into(),
                        transfer_encoding: TransferEncoding::SevenBit,
                        data: b"seven bit\n".to_vec(),
                        ..Attachment::default()
                    }],
                    ..base.clone()
                },
                "Content-Type: multipart/mixed",
            ),
        ];
        for (m, want) in table {
            let s = String::from_utf8(build_simple(&m)).unwrap();
            let after_mime = s.split("MIME-Version: 1.0\r\n").nth(1).unwrap();
            assert!(after_mime.starts_with(want), "{want}: {s}");
            assert!(s.contains("Subject: plain\r\n"));
        }
    }
}

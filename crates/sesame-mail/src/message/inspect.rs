//! Reads what the send pipeline needs to know about a raw message (v1 `SendRawEmail`, v2
//! `Content.Raw`, SMTP DATA) without changing it: addresses, subject, the `X-SES-*` control
//! headers, MIME structure and size. Parsing is mail-parser's; the header section is also cut
//! byte-exactly by [`split`](super::split) so duplicate fields are seen as written (B-60).

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

use super::reject::Rejection;
use super::split::{split, SplitError};

/// A mailbox from an address header: the address and its decoded display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// The SES control headers (E-93, E-94, G-28). The first instance of each wins (Q-127, Q-128);
/// `finalize` removes all of them before delivery (Q-113) while `mail.headers` keeps them
/// (Q-155).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SesHeaders {
    pub configuration_set: Option<String>,
    pub message_tags: Option<String>,
    pub source_arn: Option<String>,
    pub from_arn: Option<String>,
    pub return_path_arn: Option<String>,
    pub list_management_options: Option<String>,
}

/// The control header names, upper case, as SES documents them.
pub const SES_CONTROL_HEADERS: [&str; 6] = [
    "X-SES-CONFIGURATION-SET",
    "X-SES-MESSAGE-TAGS",
    "X-SES-SOURCE-ARN",
    "X-SES-FROM-ARN",
    "X-SES-RETURN-PATH-ARN",
    "X-SES-LIST-MANAGEMENT-OPTIONS",
];

/// What [`inspect`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspected {
    pub from: Vec<Mailbox>,
    pub sender: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    /// The `Return-Path` address as supplied; it steers feedback only (B-64, Q-161).
    pub return_path: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// Decoded (RFC 2047) subject.
    pub subject: Option<String>,
    pub ses: SesHeaders,
    /// Top-level header field names in order, as written (duplicates kept).
    pub header_names: Vec<String>,
    /// MIME entities in the message: 1 for a single-part message; for a multipart message
    /// every entity below the top one, nested multipart containers and the entities of
    /// attached `message/rfc822` messages included (B-52 counts "MIME parts").
    pub mime_parts: usize,
    /// Every file name found in `Content-Disposition; filename=` or `Content-Type; name=` of
    /// any part at any depth, decoded from RFC 2231 / encoded-words (Q-115).
    pub attachment_names: Vec<String>,
    /// A customer `DKIM-Signature` is present (D-91, Q-97).
    pub has_dkim_signature: bool,
    /// A `multipart/signed`, `multipart/encrypted` or S/MIME `application/pkcs7-mime` part is
    /// present (Q-97).
    pub has_signed_or_encrypted_part: bool,
    /// Bytes of the header section including the blank separator line.
    pub header_bytes: usize,
    /// Bytes of the whole message as submitted (Q-107 measures this).
    pub total_bytes: usize,
    /// The name of the virus found in a decoded part by the built-in detector (Q-123), e.g.
    /// `Eicar-Test-Signature`; the message is accepted and then rejected (a `Reject` event).
    pub virus: Option<String>,
}

impl Inspected {
    /// Q-97: content the customer signed or encrypted is never rewritten (no tracking, no
    /// list-management injection).
    pub fn is_customer_signed(&self) -> bool {
        self.has_dkim_signature || self.has_signed_or_encrypted_part
    }

    /// Whether a top-level header with this name (case-insensitive) is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Parses a raw message. Fails only when the bytes are not a message at all (B-49, B-50);
/// the SES rules are applied by [`validate_raw`](super::validate::validate_raw).
pub fn inspect(raw: &[u8]) -> Result<Inspected, Rejection> {
    let cut = split(raw).map_err(|e| Rejection::Malformed {
        reason: match e {
            SplitError::Empty => "the message is empty".into(),
            SplitError::NotAHeaderLine { line } => {
                format!("line {line} of the header section is not a header field")
            }
            SplitError::LeadingContinuation => "the message starts with a continuation line".into(),
        },
    })?;
    if cut.separator.is_empty() {
        return Err(Rejection::Malformed {
            reason: "the header section must be followed by a blank line and a body".into(),
        });
    }
    if cut.fields.is_empty() {
        return Err(Rejection::Malformed {
            reason: "the message has no header fields".into(),
        });
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Rejection::Malformed {
            reason: "the message cannot be parsed".into(),
        })?;

    let mut ses = SesHeaders::default();
    for f in &cut.fields {
        let slot = match f.name.to_ascii_uppercase().as_str() {
            "X-SES-CONFIGURATION-SET" => &mut ses.configuration_set,
            "X-SES-MESSAGE-TAGS" => &mut ses.message_tags,
            "X-SES-SOURCE-ARN" => &mut ses.source_arn,
            "X-SES-FROM-ARN" => &mut ses.from_arn,
            "X-SES-RETURN-PATH-ARN" => &mut ses.return_path_arn,
            "X-SES-LIST-MANAGEMENT-OPTIONS" => &mut ses.list_management_options,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(f.value());
        }
    }

    let mut found = Inspected {
        from: mailboxes(msg.from()),
        sender: mailboxes(msg.sender()).into_iter().next(),
        reply_to: mailboxes(msg.reply_to()),
        return_path: return_path(msg.return_path()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        bcc: addresses(msg.bcc()),
        subject: msg.subject().map(str::to_string),
        ses,
        header_names: cut.fields.iter().map(|f| f.name.to_string()).collect(),
        header_bytes: cut.header_len,
        total_bytes: raw.len(),
        ..Inspected::default()
    };
    found.has_dkim_signature = found.has_header("DKIM-Signature");
    let entities = walk(&msg, &mut found, 0);
    let root_is_multipart = matches!(msg.parts[0].body, PartType::Multipart(_));
    found.mime_parts = if root_is_multipart {
        entities - 1
    } else {
        entities
    };
    Ok(found)
}

/// The anti-virus test file (EICAR's canonical 68-byte string; letter O, not zero). The
/// built-in detector of Q-123 finds it in any decoded part, so senders and tests can check the
/// `Reject` path without real malware or an external scanner.
pub const EICAR: &[u8; 68] =
    br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The name the detector reports, as ClamAV names it.
pub const EICAR_NAME: &str = "Eicar-Test-Signature";

/// Whether `data` contains [`EICAR`].
pub fn contains_eicar(data: &[u8]) -> bool {
    memchr::memmem::find(data, EICAR).is_some()
}

/// Nested `message/rfc822` depth we follow; mail-parser limits nesting itself as well.
const MAX_DEPTH: usize = 8;

/// Visits every part (and attached messages), collecting file names and signed/encrypted
/// markers; returns the number of entities seen.
fn walk(msg: &mail_parser::Message<'_>, found: &mut Inspected, depth: usize) -> usize {
    let mut entities = msg.parts.len();
    for part in &msg.parts {
        let mut names: Vec<String> = Vec::new();
        if let Some(n) = part
            .content_disposition()
            .and_then(|d| d.attribute("filename"))
        {
            names.push(n.to_string());
        }
        if let Some(ct) = part.content_type() {
            if let Some(n) = ct.attribute("name") {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_string());
                }
            }
            let ctype = ct.ctype();
            let sub = ct.subtype().unwrap_or("");
            if (ctype.eq_ignore_ascii_case("multipart")
                && (sub.eq_ignore_ascii_case("signed") || sub.eq_ignore_ascii_case("encrypted")))
                || (ctype.eq_ignore_ascii_case("application")
                    && (sub.eq_ignore_ascii_case("pkcs7-mime")
                        || sub.eq_ignore_ascii_case("x-pkcs7-mime")))
            {
                found.has_signed_or_encrypted_part = true;
            }
        }
        found.attachment_names.extend(names);
        if found.virus.is_none() && contains_eicar(part.contents()) {
            found.virus = Some(EICAR_NAME.to_string());
        }
        if let PartType::Message(inner) = &part.body {
            if depth < MAX_DEPTH {
                entities += walk(inner, found, depth + 1);
            }
        }
    }
    entities
}

fn mailboxes(a: Option<&Address<'_>>) -> Vec<Mailbox> {
    a.map(|a| {
        a.iter()
            .filter_map(|m| {
                Some(Mailbox {
                    name: m.name.as_ref().map(|n| n.to_string()),
                    address: m.address.as_ref()?.to_string(),
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

fn addresses(a: Option<&Address<'_>>) -> Vec<String> {
    mailboxes(a).into_iter().map(|m| m.address).collect()
}

fn return_path(v: &HeaderValue<'_>) -> Option<String> {
    let s = match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.first()?.to_string(),
        HeaderValue::Address(a) => a.first()?.address.as_ref()?.to_string(),
        _ => return None,
    };
    let s = s
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Parses `X-SES-MESSAGE-TAGS: n1=v1, n2=v2` leniently (Q-128): whitespace tolerated, pairs
/// that are not `name=value` with names/values of `[A-Za-z0-9_-]{1,256}` are dropped, and
/// names starting `ses:` are reserved for auto tags and dropped too.
pub fn parse_message_tags(value: &str) -> Vec<(String, String)> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    value
        .split(',')
        .filter_map(|pair| {
            let (n, v) = pair.split_once('=')?;
            let (n, v) = (n.trim(), v.trim());
            (ok(n) && ok(v)).then(|| (n.to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &[u8] = b"From: =?utf-8?Q?J=C3=BCrgen?= <j@example.com>\r\n\
Sender: s@example.com\r\n\
Reply-To: r1@example.com, \"R 2\" <r2@example.com>\r\n\
Return-Path: <bounce@example.com>\r\n\
To: a@example.org, b@example.org\r\n\
Cc: c@example.org\r\n\
Bcc: d@example.org\r\n\
Subject: =?utf-8?B?0K/QuiDRgtC4INC/0L7QttC40LLQsNGU0Yg/?=\r\n\
X-SES-CONFIGURATION-SET: first\r\n\
X-Ses-Configuration-Set: second\r\n\
X-SES-MESSAGE-TAGS: a=1, b = 2\r\n\
X-SES-SOURCE-ARN: arn:aws:ses:us-east-1:1:identity/example.com\r\n\
\r\n\
hello\r\n";

    #[test]
    fn reads_addresses_subject_and_control_headers() {
        let i = inspect(SIMPLE).unwrap();
        assert_eq!(
            i.from,
            [Mailbox {
                name: Some("Jürgen".into()),
                address: "j@example.com".into()
            }]
        );
        assert_eq!(i.sender.as_ref().unwrap().address, "s@example.com");
        assert_eq!(i.reply_to.len(), 2);
        assert_eq!(i.reply_to[1].name.as_deref(), Some("R 2"));
        assert_eq!(i.return_path.as_deref(), Some("bounce@example.com"));
        assert_eq!(i.to, ["a@example.org", "b@example.org"]);
        assert_eq!(i.cc, ["c@example.org"]);
        assert_eq!(i.bcc, ["d@example.org"]);
        // B-54's test vector, B form.
        assert_eq!(i.subject.as_deref(), Some("Як ти поживаєш?"));
        // Q-127: the first instance wins, names are case-insensitive.
        assert_eq!(i.ses.configuration_set.as_deref(), Some("first"));
        assert_eq!(
            i.ses.source_arn.as_deref(),
            Some("arn:aws:ses:us-east-1:1:identity/example.com")
        );
        assert_eq!(
            parse_message_tags(i.ses.message_tags.as_deref().unwrap()),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(i.mime_parts, 1);
        assert!(!i.is_customer_signed());
        assert_eq!(i.total_bytes, SIMPLE.len());
        assert_eq!(i.header_bytes, SIMPLE.len() - b"hello\r\n".len());
    }

    /// Q-128: invalid header tags are dropped, not fatal; `ses:` names are reserved.
    #[test]
    fn message_tag_header_is_lenient() {
        let table: &[(&str, &[(&str, &str)])] = &[
            ("a=1,b=2", &[("a", "1"), ("b", "2")]),
            (" a = 1 ,  bad , c=x y, d=ok", &[("a", "1"), ("d", "ok")]),
            ("ses:operation=x, e=", &[]),
            ("", &[]),
        ];
        for (input, want) in table {
            let got = parse_message_tags(input);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn malformed_inputs_are_rejected_with_a_reason() {
        let table: &[&[u8]] = &[
            b"",
            b"this is not a message\r\n\r\nbody",
            b"From: a@b.c\r\nSubject: no separator\r\n",
        ];
        for raw in table {
            let e = inspect(raw).unwrap_err();
            assert!(matches!(e, Rejection::Malformed { .. }), "{raw:?} → {e:?}");
        }
    }

    /// Q-97: multipart/signed marks the message as customer-signed; so does DKIM-Signature.
    /// Q-123: the EICAR test string is found in decoded parts (base64 attachments, quoted-
    /// printable text, attached messages), not by a byte search of the raw message.
    #[test]
    fn finds_the_eicar_test_string_in_decoded_parts() {
        use base64::Engine as _;
        assert_eq!(EICAR.len(), 68);
        let b64 = base64::engine::general_purpose::STANDARD.encode(EICAR);
        let wrapped = format!("{}\r\n{}", &b64[..40], &b64[40..]);
        let attached = format!(
            "From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\
             Content-Type: text/plain\r\n\r\nhello\r\n--B\r\n\
             Content-Type: application/octet-stream; name=eicar.com\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{wrapped}\r\n--B--\r\n"
        );
        let found = inspect(attached.as_bytes()).unwrap();
        assert_eq!(found.virus.as_deref(), Some(EICAR_NAME));
        assert!(
            !contains_eicar(attached.as_bytes()),
            "only decoding reveals it"
        );

        let inline = format!(
            "From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\n{}\r\n",
            std::str::from_utf8(EICAR).unwrap()
        );
        assert!(inspect(inline.as_bytes()).unwrap().virus.is_some());

        let nested = format!(
            "From: a@example.com\r\nTo: b@example.net\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n\
             Content-Type: message/rfc822\r\n\r\n{attached}"
        );
        assert!(inspect(nested.as_bytes()).unwrap().virus.is_some());

        let clean =
            "From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\nX5O!P%@AP[4 almost\r\n";
        assert_eq!(inspect(clean.as_bytes()).unwrap().virus, None);
        // A truncated string is not the test file.
        assert!(!contains_eicar(&EICAR[..67]));
        assert!(contains_eicar(&[b"xx", &EICAR[..], b"yy"].concat()));
    }

    #[test]
    fn detects_customer_signatures() {
        let signed = b"From: a@b.c\r\nContent-Type: multipart/signed; boundary=x; \
protocol=\"application/pkcs7-signature\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--x\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nAAAA\r\n--x--\r\n";
        let i = inspect(signed).unwrap();
        assert!(i.has_signed_or_encrypted_part && i.is_customer_signed());
        assert_eq!(i.mime_parts, 2);
        assert_eq!(i.attachment_names, ["smime.p7s"]);
        let dkim = b"DKIM-Signature: v=1; d=b.c\r\nFrom: a@b.c\r\n\r\nhi\r\n";
        assert!(inspect(dkim).unwrap().has_dkim_signature);
    }
}

//! Asynchronous feedback mailed back to the VERP address of a sent message (DECISIONS Q-166):
//! what kind of report it is and what it says. Pure: bytes in, a [`Feedback`] out; what the
//! product does with it (events, suppression) is `sesame-engine`'s `feedback` module.
//!
//! Recognised, in this order:
//! 1. **ARF** complaint (RFC 5965): a `message/feedback-report` part → [`Report::Arf`];
//! 2. **DSN** (RFC 3464, and RFC 6533's `message/global-delivery-status`): a
//!    `message/delivery-status` part → [`Report::Dsn`];
//! 3. **auto-reply** (RFC 3834 `Auto-Submitted: auto-replied`, and the vacation/out-of-office
//!    markers common MTAs and clients add) → [`Report::AutoReply`];
//! 4. anything else (a human reply, a non-standard bounce, garbage) → [`Report::Unrecognized`].
//!
//! DSNs and ARF reports are checked before the auto-reply markers because bounce generators
//! set `Auto-Submitted: auto-replied` on DSNs too (Postfix does, as RFC 3834 §5 asks).
//! The parts are looked up anywhere in the MIME tree except inside attached messages, so a
//! report wrapped in another multipart (forwarders do that) is still found, and the original
//! message a report quotes can never be mistaken for the report.
//!
//! Map: `fields` (the RFC 3464/5965 field syntax), `dsn`, `arf`, `auto_reply`; golden
//! fixtures in `testdata/feedback/NNN-*.eml` with the expected `NNN-*.json`. The other
//! direction — the DSNs and ARF reports that email feedback forwarding mails to senders
//! — is [`notice`], tested by parsing its output back with [`parse`].

mod arf;
mod auto_reply;
mod dsn;
mod fields;
pub mod notice;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde::Serialize;

pub use arf::Arf;
pub use dsn::{status_code, Dsn, DsnRecipient};

/// A piece of feedback, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    /// The report's `Date` (when the ISP sent it, which is what `bounce.timestamp` and
    /// `complaint.timestamp` mean, G-42, G-45), UTC Unix ms; `None` if absent or invalid.
    pub date_ms: Option<i64>,
    /// The report's `From` address (the ISP's feedback mailbox, or the auto-replying person).
    pub from: Option<String>,
    /// `Message-ID` of the original message quoted by the report (`message/rfc822` or
    /// `text/rfc822-headers` part), without angle brackets.
    pub original_message_id: Option<String>,
    pub report: Report,
}

/// What kind of feedback it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Report {
    Dsn(Dsn),
    Arf(Arf),
    /// An automatic reply to the message (RFC 3834): `Transient`/`General`, not counted
    /// (Q-166, G-44).
    AutoReply,
    /// Not a report this crate can read; `reason` says why (for logs).
    Unrecognized {
        reason: String,
    },
}

/// Parses one message received at a feedback address. Never fails and never panics: whatever
/// cannot be read becomes [`Report::Unrecognized`].
pub fn parse(raw: &[u8]) -> Feedback {
    let unrecognized = |reason: &str| Feedback {
        date_ms: None,
        from: None,
        original_message_id: None,
        report: Report::Unrecognized {
            reason: reason.to_string(),
        },
    };
    let top = auto_reply::top_headers(raw);
    if top.is_empty() {
        return unrecognized("no header fields");
    }
    let Some(msg) = MessageParser::default().parse(raw) else {
        return unrecognized("not a parseable message");
    };

    let mut arf_text: Option<String> = None;
    let mut dsn_text: Option<String> = None;
    let mut original_message_id: Option<String> = None;
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let ctype = ct.ctype().to_ascii_lowercase();
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        match (ctype.as_str(), sub.as_str()) {
            ("message", "feedback-report") if arf_text.is_none() => {
                arf_text = Some(String::from_utf8_lossy(part.contents()).into_owned());
            }
            ("message", "delivery-status" | "global-delivery-status") if dsn_text.is_none() => {
                dsn_text = Some(String::from_utf8_lossy(part.contents()).into_owned());
            }
            ("message", "rfc822" | "global") if original_message_id.is_none() => {
                if let PartType::Message(inner) = &part.body {
                    original_message_id = inner.message_id().map(str::to_string);
                }
            }
            ("text" | "message", "rfc822-headers") if original_message_id.is_none() => {
                original_message_id = MessageParser::default()
                    .parse_headers(part.contents())
                    .and_then(|h| h.message_id().map(str::to_string));
            }
            _ => {}
        }
    }

    let report = if let Some(arf) = arf_text.as_deref().and_then(arf::parse) {
        Report::Arf(arf)
    } else if let Some(text) = &dsn_text {
        Report::Dsn(dsn::parse(text))
    } else if auto_reply::is_auto_reply(&top) {
        Report::AutoReply
    } else if arf_text.is_some() {
        Report::Unrecognized {
            reason: "feedback report without a Feedback-Type".into(),
        }
    } else {
        Report::Unrecognized {
            reason: "neither a DSN, an ARF report nor an auto-reply".into(),
        }
    };
    Feedback {
        date_ms: msg
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp() * 1000),
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        original_message_id,
        report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Golden fixtures: `testdata/feedback/NNN-name.eml` parses to `NNN-name.json` (pretty
    /// JSON of [`Feedback`]); a mismatch writes `NNN-name.failed` next to it. Real-world
    /// shapes: Postfix, Gmail- and Exchange-like DSNs, a delayed DSN, RFC 5965's example ARF,
    /// a redacting FBL, RFC 3834 and Exchange auto-replies, a human reply, garbage.
    #[test]
    fn feedback_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/feedback");
        let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        let mut seen = 0;
        let mut failed = Vec::new();
        for entry in entries {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let got = serde_json::to_string_pretty(&parse(&raw)).unwrap() + "\n";
            let want = std::fs::read_to_string(path.with_extension("json")).unwrap_or_default();
            if got != want {
                std::fs::write(path.with_extension("failed"), &got).unwrap();
                failed.push(path.display().to_string());
            } else {
                let _ = std::fs::remove_file(path.with_extension("failed"));
            }
            seen += 1;
        }
        assert!(failed.is_empty(), "differ from their .json: {failed:?}");
        assert!(seen >= 10, "only {seen} fixtures in {}", dir.display());
    }

    /// Never panics: every prefix of every fixture (a connection cut mid-DATA, a truncated
    /// report) and every fixture with one byte flipped still parses to something.
    #[test]
    fn truncated_and_mangled_inputs_never_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/feedback");
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            for cut in (0..raw.len()).step_by(5) {
                let _ = parse(&raw[..cut]);
                let mut mangled = raw.clone();
                mangled[cut] ^= 0x80;
                let _ = parse(&mangled);
            }
        }
    }

    /// Kind detection on minimal inputs, including the precedence rules of the module docs.
    #[test]
    fn kind_table() {
        let dsn_with_auto_submitted = b"From: MAILER-DAEMON@mx.example.net\r\n\
            Auto-Submitted: auto-replied\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; mx.example.net\r\n\r\n\
            Final-Recipient: rfc822; a@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
            --b--\r\n";
        let arf_without_type = b"From: fbl@example.net\r\n\
            Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n\
            --b\r\nContent-Type: message/feedback-report\r\n\r\nUser-Agent: x\r\n\r\n--b--\r\n";
        let cases: Vec<(&[u8], &str)> = vec![
            (dsn_with_auto_submitted, "dsn"),
            (arf_without_type, "unrecognized"),
            (
                b"From: a@example.net\r\nAuto-Submitted: auto-replied\r\n\r\nbye\r\n",
                "auto_reply",
            ),
            (
                b"From: a@example.net\r\nAuto-Submitted: no\r\n\r\nhi\r\n",
                "unrecognized",
            ),
            (
                b"From: a@example.net\r\nSubject: re: hello\r\n\r\nthanks\r\n",
                "unrecognized",
            ),
            (b"", "unrecognized"),
            (b"\r\n\r\n", "unrecognized"),
            (&[0xff, 0xfe, 0x00, 0x01, b'\n'], "unrecognized"),
        ];
        for (raw, want) in cases {
            let got = serde_json::to_value(parse(raw).report).unwrap();
            assert_eq!(got["kind"], want, "{:?}", String::from_utf8_lossy(raw));
        }
    }
}

//! Builds the notifications that email feedback forwarding mails to a sender (spec D-112,
//! D-116, A-63, A-65, H-142; DECISIONS ): one message per bounce or complaint
//! of a sent message, addressed to its feedback address.
//!
//! - A **bounce** is an RFC 3464 DSN: `multipart/report; report-type=delivery-status` with a
//!   human-readable `text/plain` part, the `message/delivery-status` part (per-message
//!   `Reporting-MTA` and `Arrival-Date`; per recipient `Final-Recipient`, `Action`, `Status`,
//!   `Diagnostic-Code`, RFC 3464 §2.2–§2.3) and the original header fields as
//!   `text/rfc822-headers` (RFC 6522 §3).
//! - A **complaint** is an RFC 5965 ARF report: `multipart/report; report-type=feedback-report`
//!   with a human-readable part, `message/feedback-report` (`Feedback-Type`, `User-Agent`,
//!   `Version: 1`, then `Original-Mail-From`, `Original-Rcpt-To`, `Arrival-Date`,
//!   `Reported-Domain`, `Reporting-MTA`, RFC 5965 §3.1) and the original header fields.
//! - When the feedback arrived by mail (a DSN or ARF report from the receiving ISP), that
//!   report is attached **unmodified** (Q-75, H-142): the message becomes `multipart/mixed`
//!   holding our report and the ISP's as `message/rfc822`. [`crate::feedback::parse`] still
//!   reads our report, never the attached one (it does not look inside attached messages).
//!
//! Header fields: `From` (the service address of Q-75, chosen by the caller), `To` (the feedback
//! address), `Subject`, `Auto-Submitted: auto-replied` (RFC 3834 §5: a DSN is an automatic
//! response) and `MIME-Version`. `Date` and `Message-ID` are left to
//! [`crate::message::finalize`], as for every message the service sends. The envelope sender
//! must be null (`MAIL FROM:<>`, RFC 3464 §2 / RFC 5321 §4.5.5) so that a notification that
//! cannot be delivered never produces another one — that is the caller's part.
//!
//! All machine-readable fields are written 7-bit: values are unfolded, non-ASCII characters
//! replaced by `?`, and long values folded at spaces (RFC 5322 §2.2.3), which the field parser
//! unfolds again.

use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::text::Text as HeaderText;
use mail_builder::mime::{BodyPart, MimePart};

use crate::message::build::{address_list, write_field};
use crate::message::to_crlf;

/// What every forwarded notification carries, whatever its kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notice {
    /// `From`: `MAILER-DAEMON@<sd>` for bounces, `complaints@<region>.<sd>` for complaints
    ///
    pub from: String,
    /// `To`: the message's feedback address.
    pub to: String,
    /// Header fields of the message the feedback is about, in order, as it was sent (the
    /// `text/rfc822-headers` part; its `Message-ID` is how a sender matches the notification).
    pub original_headers: Vec<(String, String)>,
    /// The report the receiving ISP mailed back, when the feedback came by mail (Q-75: attached
    /// unmodified).
    pub original_report: Option<Vec<u8>>,
    /// Extra lines at the end of the human-readable part (bounce type, feedback id…).
    pub notes: Vec<String>,
}

/// The `message/delivery-status` content of a forwarded bounce (RFC 3464 §2.2, §2.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BounceReport {
    /// `Reporting-MTA`, type included (`dns; mx.example.net`); a bare host gets `dns; `.
    pub reporting_mta: String,
    /// `Arrival-Date`: when the reporting MTA got the message, RFC 5322 date.
    pub arrival_date: Option<String>,
    pub recipients: Vec<BounceRecipient>,
}

/// One per-recipient group of a DSN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BounceRecipient {
    /// `Final-Recipient: rfc822; <address>`.
    pub address: String,
    /// `Action` (`failed`, `delayed`…).
    pub action: String,
    /// `Status`, an RFC 3463 code (`5.1.1`).
    pub status: String,
    /// `Diagnostic-Code`, type included (`smtp; 550 5.1.1 user unknown`).
    pub diagnostic_code: Option<String>,
}

/// The `message/feedback-report` content of a forwarded complaint (RFC 5965 §3.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComplaintReport {
    /// `Feedback-Type` (`abuse`, `not-spam`…, G-47).
    pub feedback_type: String,
    /// `User-Agent` (required by RFC 5965).
    pub user_agent: String,
    /// `Arrival-Date`, RFC 5322 date.
    pub arrival_date: Option<String>,
    /// `Original-Mail-From`: the envelope sender the message left with.
    pub original_mail_from: Option<String>,
    /// `Original-Rcpt-To`, one field per complaining recipient.
    pub original_rcpt_to: Vec<String>,
    /// `Reported-Domain`: the domain of the original `From`.
    pub reported_domain: Option<String>,
    /// `Reporting-MTA`, type included.
    pub reporting_mta: Option<String>,
}

/// `Subject` of a forwarded bounce (the wording SES uses).
pub const BOUNCE_SUBJECT: &str = "Delivery Status Notification (Failure)";

/// Builds a forwarded bounce (see the module docs). CRLF line endings, no `Date`/`Message-ID`.
pub fn bounce_notice(n: &Notice, r: &BounceReport) -> Vec<u8> {
    let mut text = String::from(
        "This is an automatically generated Delivery Status Notification.\r\n\r\n\
         Delivery to the following recipients failed:\r\n\r\n",
    );
    for rcpt in &r.recipients {
        text.push_str(&format!("  {}\r\n", rcpt.address));
        if let Some(d) = &rcpt.diagnostic_code {
            text.push_str(&format!("    {}\r\n", one_line(d)));
        }
    }
    text.push_str(&about_original(n));

    let mut status = String::new();
    field(&mut status, "Reporting-MTA", &typed(&r.reporting_mta));
    if let Some(d) = &r.arrival_date {
        field(&mut status, "Arrival-Date", d);
    }
    for rcpt in &r.recipients {
        status.push_str("\r\n");
        field(
            &mut status,
            "Final-Recipient",
            &format!("rfc822; {}", rcpt.address),
        );
        field(&mut status, "Action", &rcpt.action);
        field(&mut status, "Status", &rcpt.status);
        if let Some(d) = &rcpt.diagnostic_code {
            field(&mut status, "Diagnostic-Code", d);
        }
    }
    assemble(
        n,
        BOUNCE_SUBJECT,
        "delivery-status",
        text,
        "message/delivery-status",
        status,
    )
}

/// Builds a forwarded complaint (see the module docs). CRLF line endings, no `Date`/`Message-ID`.
pub fn complaint_notice(n: &Notice, r: &ComplaintReport) -> Vec<u8> {
    let subject = match original_field(n, "Subject") {
        Some(s) => format!("Complaint about your message: {s}"),
        None => "Complaint about your message".to_string(),
    };
    let mut text = format!(
        "A recipient reported your message as unwanted (feedback type: {}).\r\n\r\n\
         Complaining recipients:\r\n\r\n",
        one_line(&r.feedback_type)
    );
    for rcpt in &r.original_rcpt_to {
        text.push_str(&format!("  {rcpt}\r\n"));
    }
    if r.original_rcpt_to.is_empty() {
        text.push_str("  (not disclosed by the reporting mailbox provider)\r\n");
    }
    text.push_str(&about_original(n));

    let mut report = String::new();
    field(&mut report, "Feedback-Type", &r.feedback_type);
    field(&mut report, "User-Agent", &r.user_agent);
    field(&mut report, "Version", "1");
    if let Some(m) = &r.original_mail_from {
        field(&mut report, "Original-Mail-From", &format!("<{m}>"));
    }
    for rcpt in &r.original_rcpt_to {
        field(&mut report, "Original-Rcpt-To", &format!("<{rcpt}>"));
    }
    if let Some(d) = &r.arrival_date {
        field(&mut report, "Arrival-Date", d);
    }
    if let Some(d) = &r.reported_domain {
        field(&mut report, "Reported-Domain", d);
    }
    if let Some(m) = &r.reporting_mta {
        field(&mut report, "Reporting-MTA", &typed(m));
    }
    assemble(
        n,
        &subject,
        "feedback-report",
        text,
        "message/feedback-report",
        report,
    )
}

/// The header block and the MIME tree shared by both kinds.
fn assemble(
    n: &Notice,
    subject: &str,
    report_type: &str,
    text: String,
    machine_type: &str,
    machine: String,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        4096 + machine.len() + n.original_report.as_ref().map_or(0, |r| r.len()),
    );
    write_field(
        &mut out,
        "From",
        &address_list(std::slice::from_ref(&n.from)),
    );
    write_field(&mut out, "To", &address_list(std::slice::from_ref(&n.to)));
    write_field(&mut out, "Subject", &HeaderText::new(subject));
    out.extend_from_slice(b"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");

    let mut headers = String::new();
    for (name, value) in &n.original_headers {
        field(&mut headers, name, value);
    }
    let parts = vec![
        MimePart::new(
            ContentType::new("text/plain").attribute("charset", "utf-8"),
            BodyPart::Text(text.into()),
        ),
        seven_bit(machine_type, machine),
        seven_bit("text/rfc822-headers", headers),
    ];
    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", report_type.to_string()),
        parts,
    );
    let root = match &n.original_report {
        None => report,
        Some(raw) => {
            let raw = to_crlf(raw).into_owned();
            let encoding = if raw.iter().all(u8::is_ascii) {
                "7bit"
            } else {
                "8bit"
            };
            let encoding = if raw.split(|&b| b == b'\n').any(|l| l.len() > 998) {
                "binary"
            } else {
                encoding
            };
            let attached = MimePart::new(
                ContentType::new("message/rfc822"),
                BodyPart::Binary(raw.into()),
            )
            .header(
                "Content-Description",
                HeaderText::new("Report received from the mailbox provider"),
            )
            .transfer_encoding(encoding);
            MimePart::new(ContentType::new("multipart/mixed"), vec![report, attached])
        }
    };
    root.write_part(&mut out);
    out
}

/// A 7-bit leaf written verbatim (RFC 3464 §2.1: `message/delivery-status` is 7-bit text).
fn seven_bit(content_type: &str, body: String) -> MimePart<'static> {
    MimePart::new(
        ContentType::new(content_type.to_string()),
        BodyPart::Binary(body.into_bytes().into()),
    )
    .transfer_encoding("7bit")
}

/// The closing paragraph of the human-readable part: which message, plus the caller's notes.
fn about_original(n: &Notice) -> String {
    let mut text = String::from("\r\n");
    let subject = original_field(n, "Subject");
    let id = original_field(n, "Message-ID");
    match (subject, id) {
        (Some(s), Some(i)) => text.push_str(&format!(
            "Original message: \"{}\", Message-ID {}.\r\n",
            one_line(s),
            one_line(i)
        )),
        (Some(s), None) => text.push_str(&format!("Original message: \"{}\".\r\n", one_line(s))),
        (None, Some(i)) => text.push_str(&format!(
            "Original message: Message-ID {}.\r\n",
            one_line(i)
        )),
        (None, None) => {}
    }
    for note in &n.notes {
        text.push_str(&one_line(note));
        text.push_str("\r\n");
    }
    if n.original_report.is_some() {
        text.push_str("\r\nThe report received from the mailbox provider is attached.\r\n");
    }
    text
}

fn original_field<'a>(n: &'a Notice, name: &str) -> Option<&'a str> {
    n.original_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `dns; host` for a bare host name (RFC 3464 §2.2.2 `mta-name-type`).
fn typed(mta: &str) -> String {
    if mta.contains(';') {
        mta.to_string()
    } else {
        format!("dns; {mta}")
    }
}

/// The value on one line: CR/LF and other controls become spaces, runs of spaces collapse.
fn one_line(value: &str) -> String {
    value
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Longest folded line we write (RFC 5322 §2.1.1 recommends 78).
const FOLD_AT: usize = 78;
/// A single word longer than this is cut (RFC 5322 §2.1.1: lines must stay under 998).
const MAX_WORD: usize = 900;

/// Appends `Name: value\r\n`, 7-bit, folded at spaces after [`FOLD_AT`] characters.
fn field(out: &mut String, name: &str, value: &str) {
    let ascii: String = one_line(value)
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect();
    let mut line_len = name.len() + 1;
    out.push_str(name);
    out.push(':');
    for word in ascii.split(' ') {
        let word = &word[..word.len().min(MAX_WORD)];
        if line_len + 1 + word.len() > FOLD_AT && line_len > name.len() + 1 {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(word);
        line_len += 1 + word.len();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::{parse, Report};

    fn notice() -> Notice {
        Notice {
            from: "MAILER-DAEMON@sesame.test".into(),
            to: "Sender <sender@example.test>".into(),
            original_headers: vec![
                ("Date".into(), "Tue, 14 Jan 2025 10:00:01 +0000".into()),
                (
                    "Message-ID".into(),
                    "<0100018f-aaaa@email.sesame.test>".into(),
                ),
                ("From".into(), "Sender <sender@example.test>".into()),
                ("To".into(), "bounce@simulator.amazonses.com".into()),
                ("Subject".into(), "Grüße".into()),
            ],
            original_report: None,
            notes: vec!["Bounce type: Permanent/General".into()],
        }
    }

    fn bounce() -> BounceReport {
        BounceReport {
            reporting_mta: "capture.sesame.test".into(),
            arrival_date: Some("Tue, 14 Jan 2025 10:00:01 +0000".into()),
            recipients: vec![
                BounceRecipient {
                    address: "bounce@simulator.amazonses.com".into(),
                    action: "failed".into(),
                    status: "5.1.1".into(),
                    diagnostic_code: Some("smtp; 550 5.1.1 user unknown".into()),
                },
                BounceRecipient {
                    address: "long@example.net".into(),
                    action: "failed".into(),
                    status: "5.7.1".into(),
                    diagnostic_code: Some(format!(
                        "smtp; 550 5.7.1 {}\r\nsecond line",
                        "blocked because of policy reasons ".repeat(8)
                    )),
                },
            ],
        }
    }

    /// Every line CRLF-terminated and at most 998 octets, the whole message 7-bit.
    fn assert_wire_clean(raw: &[u8]) {
        assert!(raw.is_ascii(), "7-bit only");
        let s = std::str::from_utf8(raw).unwrap();
        assert_eq!(s.matches('\n').count(), s.matches("\r\n").count(), "{s}");
        assert!(s.split("\r\n").all(|l| l.len() <= 998));
    }

    /// RFC 3464 / RFC 6522: our own DSN parses back with the feedback parser to exactly the
    /// fields written (the parser is what the feedback MX runs, so a DSN of ours that came back
    /// would be understood).
    #[test]
    fn bounce_notice_parses_back() {
        let raw = bounce_notice(&notice(), &bounce());
        assert_wire_clean(&raw);
        let s = String::from_utf8(raw.clone()).unwrap();
        assert!(
            s.starts_with(
                "From: <MAILER-DAEMON@sesame.test>\r\nTo: \"Sender\" <sender@example.test>\r\n"
            ) || s.starts_with(
                "From: <MAILER-DAEMON@sesame.test>\r\nTo: Sender <sender@example.test>\r\n"
            ),
            "{s}"
        );
        assert!(s.contains("\r\nAuto-Submitted: auto-replied\r\n"), "{s}");
        assert!(
            s.contains(&format!("\r\nSubject: {BOUNCE_SUBJECT}\r\n")),
            "{s}"
        );
        assert!(
            s.contains("\r\nContent-Type: multipart/report; report-type=\"delivery-status\";"),
            "{s}"
        );
        assert!(
            s.contains("\r\nContent-Type: message/delivery-status\r\n"),
            "{s}"
        );
        assert!(s.contains("Content-Type: text/rfc822-headers"), "{s}");
        let head = s.split("\r\n\r\n").next().unwrap();
        assert!(
            !head.contains("\r\nDate:") && !head.contains("\r\nMessage-ID:"),
            "left to finalize: {head}"
        );

        let fb = parse(&raw);
        assert_eq!(fb.from.as_deref(), Some("MAILER-DAEMON@sesame.test"));
        assert_eq!(
            fb.original_message_id.as_deref(),
            Some("0100018f-aaaa@email.sesame.test")
        );
        let Report::Dsn(dsn) = fb.report else {
            panic!("not a DSN: {:?}", fb.report)
        };
        assert_eq!(
            dsn.reporting_mta.as_deref(),
            Some("dns; capture.sesame.test")
        );
        assert_eq!(dsn.arrival_date_ms, Some(1_736_848_801_000));
        assert_eq!(dsn.recipients.len(), 2);
        let r = &dsn.recipients[0];
        assert_eq!(
            r.final_recipient.as_deref(),
            Some("bounce@simulator.amazonses.com")
        );
        assert_eq!(r.action.as_deref(), Some("failed"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r.diagnostic_code.as_deref(),
            Some("smtp; 550 5.1.1 user unknown")
        );
        // A long, multi-line diagnostic is folded on the wire and unfolds to one line.
        let long = dsn.recipients[1].diagnostic_code.clone().unwrap();
        assert!(
            long.starts_with("smtp; 550 5.7.1 blocked because"),
            "{long}"
        );
        assert!(long.ends_with("reasons second line"), "{long}");
        assert_eq!(dsn.recipients[1].status.as_deref(), Some("5.7.1"));

        // The human-readable part names the recipient and the original message; non-ASCII
        // text is transfer-encoded, not dropped.
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let text = msg.body_text(0).unwrap();
        assert!(text.contains("bounce@simulator.amazonses.com"), "{text}");
        assert!(text.contains("Original message: \"Grüße\""), "{text}");
        assert!(text.contains("Bounce type: Permanent/General"), "{text}");
        assert_eq!(
            msg.to().unwrap().first().unwrap().address(),
            Some("sender@example.test")
        );
    }

    /// RFC 5965: the ARF report parses back as a complaint with the fields written.
    #[test]
    fn complaint_notice_parses_back() {
        let mut n = notice();
        n.from = "complaints@us-east-1.sesame.test".into();
        let report = ComplaintReport {
            feedback_type: "abuse".into(),
            user_agent: "Amazon SES Mailbox Simulator".into(),
            arrival_date: Some("Tue, 14 Jan 2025 10:00:01 +0000".into()),
            original_mail_from: Some("0100018f-aaaa@us-east-1.sesame.test".into()),
            original_rcpt_to: vec!["complaint@simulator.amazonses.com".into()],
            reported_domain: Some("example.test".into()),
            reporting_mta: Some("capture.sesame.test".into()),
        };
        let raw = complaint_notice(&n, &report);
        assert_wire_clean(&raw);
        let s = String::from_utf8(raw.clone()).unwrap();
        assert!(
            s.contains("\r\nContent-Type: multipart/report; report-type=\"feedback-report\";"),
            "{s}"
        );
        assert!(s.contains("\r\nVersion: 1\r\n"), "{s}");
        let fb = parse(&raw);
        assert_eq!(fb.from.as_deref(), Some("complaints@us-east-1.sesame.test"));
        assert_eq!(
            fb.original_message_id.as_deref(),
            Some("0100018f-aaaa@email.sesame.test")
        );
        let Report::Arf(arf) = fb.report else {
            panic!("not an ARF report: {:?}", fb.report)
        };
        assert_eq!(arf.feedback_type, "abuse");
        assert_eq!(
            arf.user_agent.as_deref(),
            Some("Amazon SES Mailbox Simulator")
        );
        assert_eq!(arf.version.as_deref(), Some("1"));
        assert_eq!(arf.arrival_date_ms, Some(1_736_848_801_000));
        assert_eq!(arf.original_rcpt_to, ["complaint@simulator.amazonses.com"]);
        assert_eq!(
            arf.original_mail_from.as_deref(),
            Some("0100018f-aaaa@us-east-1.sesame.test")
        );
        assert_eq!(arf.reported_domain, ["example.test"]);
        assert_eq!(
            arf.reporting_mta.as_deref(),
            Some("dns; capture.sesame.test")
        );
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(msg.subject(), Some("Complaint about your message: Grüße"));
    }

    /// Q-75 / H-142: a report that came by mail is attached unmodified, and the parser still
    /// reads our report, not the attached one.
    #[test]
    fn original_report_is_attached_unmodified() {
        let isp = b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=isp\r\n\r\n\
            --isp\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; mx.example.net\r\n\r\n\
            Final-Recipient: rfc822; other@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
            --isp--\r\n";
        let mut n = notice();
        n.original_report = Some(isp.to_vec());
        let raw = bounce_notice(&n, &bounce());
        assert_wire_clean(&raw);
        let s = String::from_utf8(raw.clone()).unwrap();
        assert!(s.contains("Content-Type: multipart/mixed"), "{s}");
        assert!(s.contains("Content-Type: message/rfc822"), "{s}");
        assert!(
            s.contains(std::str::from_utf8(isp).unwrap()),
            "the ISP's report appears byte for byte"
        );
        let Report::Dsn(dsn) = parse(&raw).report else {
            panic!("not a DSN")
        };
        assert_eq!(
            dsn.reporting_mta.as_deref(),
            Some("dns; capture.sesame.test")
        );
        assert_eq!(dsn.recipients[0].status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn field_folding_table() {
        for (value, want) in [
            ("5.1.1", "Status: 5.1.1\r\n"),
            ("a\r\nb\tc", "Status: a b c\r\n"),
            ("héllo", "Status: h?llo\r\n"),
            ("", "Status:\r\n"),
        ] {
            let mut out = String::new();
            field(&mut out, "Status", value);
            assert_eq!(
                out.replace("Status: \r\n", "Status:\r\n"),
                want,
                "{value:?}"
            );
        }
        let mut out = String::new();
        field(&mut out, "Diagnostic-Code", &"word ".repeat(40));
        assert!(out.lines().all(|l| l.len() <= FOLD_AT), "{out}");
        assert!(out.lines().skip(1).all(|l| l.starts_with(' ')), "{out}");
    }
}

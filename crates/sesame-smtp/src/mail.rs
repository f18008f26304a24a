//! MAIL FROM (RFC 5321 §4.1.1.2), and the address checks shared with RCPT.
//!
//! Gates in order: TLS (`530 Must issue a STARTTLS command first`, Q-137), AUTH
//! (`530 Authentication required`, Q-136), EHLO and no open transaction (503), connection
//! recycling (`421 … reconnect`, Q-141), then syntax: non-ASCII (553 5.6.7, Q-137), anything else
//! malformed including a missing `<>` or the null path (`553 <address> Invalid email address`,
//! Q-136), parameters we do not offer such as `SMTPUTF8` (555, Q-140), declared `SIZE=` over the
//! limit (`552 Message is too long.`, Q-136). The feedback MX has no TLS/AUTH gate and accepts
//! the null reverse-path `<>`.

use smtp_proto::{
    Error as ParseError, Request, MAIL_BODY_BINARYMIME, MAIL_REQUIRETLS, MAIL_SMTPUTF8,
};

use crate::reply::Reply;
use crate::session::{Session, Step, Transaction};

impl Session {
    pub(crate) fn mail(&mut self, line: &[u8]) -> Step {
        if let Some(refusal) = self.require_tls_and_auth() {
            return Step::Reply(refusal);
        }
        if self.greeting.is_none() || self.tx.is_some() {
            return Step::Reply(Reply::bad_sequence());
        }
        if self.must_recycle() {
            return Step::Close(vec![Reply::reconnect()]);
        }
        let raw = raw_address(line);
        if !raw.is_ascii() {
            return Step::Reply(Reply::non_ascii_address(&String::from_utf8_lossy(raw)));
        }
        let shown = String::from_utf8_lossy(raw);
        let from = match Request::parse(&mut line.iter()) {
            Ok(Request::Mail { from }) => from,
            Err(ParseError::UnsupportedParameter { .. }) => {
                return Step::Reply(Reply::unsupported_parameter())
            }
            Err(ParseError::InvalidParameter { .. }) => return Step::Reply(Reply::syntax_error()),
            _ => return Step::Reply(Reply::invalid_sender(&shown)),
        };
        // Null reverse-path: SES always needs a sender identity to check and charge; DSNs and
        // auto-replies to the feedback MX always use it (RFC 5321 §4.5.5, RFC 3834 §3.3).
        let null_allowed = self.is_feedback() && from.address.is_empty();
        if !null_allowed && !valid_mailbox(&from.address) {
            return Step::Reply(Reply::invalid_sender(&shown));
        }
        if from.flags & (MAIL_SMTPUTF8 | MAIL_REQUIRETLS | MAIL_BODY_BINARYMIME) != 0 {
            return Step::Reply(Reply::unsupported_parameter());
        }
        if from.size > self.cfg.max_message_bytes {
            return Step::Reply(Reply::too_long());
        }
        self.tx = Some(Transaction {
            mail_from: from.address,
            rcpt_to: Vec::new(),
        });
        Step::Reply(Reply::ok())
    }
}

/// The address as the client wrote it, for replies: between `<` and `>` when present,
/// otherwise the first word after the colon.
pub(crate) fn raw_address(line: &[u8]) -> &[u8] {
    let line = crate::session::strip_crlf(line);
    let after = match line.iter().position(|&b| b == b':') {
        Some(i) => &line[i + 1..],
        None => return &[],
    };
    let after = trim_start(after);
    if let Some(rest) = after.strip_prefix(b"<") {
        let end = rest.iter().position(|&b| b == b'>').unwrap_or(rest.len());
        &rest[..end]
    } else {
        let end = after.iter().position(|&b| b == b' ').unwrap_or(after.len());
        &after[..end]
    }
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

/// `local@domain` with a non-empty local part (≤ 64 octets) and a domain of LDH labels or an
/// address literal (RFC 5321 §4.1.2, §4.5.3.1). smtp-proto has already checked the local part's
/// characters; this adds what it leaves open (domain shape, lengths, ASCII only).
pub(crate) fn valid_mailbox(address: &str) -> bool {
    if !address.is_ascii() || address.len() > 254 {
        return false;
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.is_empty() || domain.len() > 253 {
        return false;
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        let inner = &domain[1..domain.len() - 1];
        return !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'[' && b != b']');
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_address_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"MAIL FROM:<a@b.c>\r\n", b"a@b.c"),
            (b"MAIL FROM: <a@b.c> SIZE=10\r\n", b"a@b.c"),
            (b"MAIL FROM:a@b.c SIZE=10\r\n", b"a@b.c"),
            (b"MAIL FROM:<a@b.c\r\n", b"a@b.c"),
            (b"MAIL FROM:<>\r\n", b""),
            (b"MAIL\r\n", b""),
        ];
        for (line, want) in cases {
            assert_eq!(raw_address(line), *want, "{line:?}");
        }
    }

    #[test]
    fn mailbox_table() {
        let cases = [
            ("a@example.com", true),
            ("a.b+c@sub.example.co", true),
            ("a@localhost", true),
            ("a@[192.0.2.1]", true),
            ("", false),
            ("a", false),
            ("@example.com", false),
            ("a@", false),
            ("a@-x.com", false),
            ("a@x..com", false),
            ("a@exa_mple.com", false),
            ("j\u{f6}rg@example.com", false),
        ];
        for (addr, ok) in cases {
            assert_eq!(valid_mailbox(addr), ok, "{addr}");
        }
        assert!(!valid_mailbox(&format!("{}@example.com", "x".repeat(65))));
    }
}

//! EHLO, HELO (RFC 5321 §4.1.1.1) and STARTTLS (RFC 3207).
//!
//! Extension lists are fixed by Q-140: before TLS `STARTTLS PIPELINING 8BITMIME SIZE`; after TLS
//! (or on implicit-TLS listeners) `AUTH PLAIN LOGIN PIPELINING 8BITMIME SIZE`, plus
//! `ENHANCEDSTATUSCODES` when enabled. `SMTPUTF8`, `DSN` and `CHUNKING` are never offered.
//! The feedback MX never lists AUTH, lists STARTTLS only when it has a certificate, and lists
//! `ENHANCEDSTATUSCODES` before TLS too.

use crate::reply::Reply;
use crate::session::{Greeting, Session, Step};

impl Session {
    /// EHLO: resets the transaction (RFC 5321 §4.1.4) and lists the extensions.
    pub(crate) fn ehlo(&mut self, _host: &str) -> Step {
        self.tx = None;
        self.greeting = Some(Greeting::Ehlo);
        let mut lines = vec![self.cfg.hostname.clone()];
        if !self.tls && self.tls_available {
            lines.push("STARTTLS".into());
        } else if self.tls && !self.is_feedback() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        lines.push("PIPELINING".into());
        lines.push("8BITMIME".into());
        lines.push(format!("SIZE {}", self.cfg.max_message_bytes));
        if self.advertises_enhanced() {
            lines.push("ENHANCEDSTATUSCODES".into());
        }
        Step::Raw(multiline(250, &lines))
    }

    /// HELO: no extensions, so no AUTH either — clients that want to send must use EHLO.
    pub(crate) fn helo(&mut self, _host: &str) -> Step {
        self.tx = None;
        self.greeting = Some(Greeting::Helo);
        Step::Reply(Reply::new(250, None, self.cfg.hostname.clone()))
    }

    /// STARTTLS: only once, only on a plaintext connection (RFC 3207 §4).
    pub(crate) fn starttls(&mut self, line: &[u8]) -> Step {
        // RFC 3207 §4: STARTTLS takes no parameters (smtp-proto ignores them; we do not).
        if crate::session::strip_crlf(line).trim_ascii_end().len() != "STARTTLS".len() {
            Step::Reply(Reply::syntax_error())
        } else if self.tls {
            Step::Reply(Reply::bad_sequence())
        } else if !self.tls_available {
            Step::Reply(Reply::tls_not_available())
        } else {
            Step::StartTls
        }
    }
}

/// `250-a\r\n250-b\r\n250 c\r\n`.
fn multiline(code: u16, lines: &[String]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{sep}{line}\r\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_format() {
        assert_eq!(
            multiline(250, &["h".into(), "A".into(), "B".into()]),
            "250-h\r\n250-A\r\n250 B\r\n"
        );
        assert_eq!(multiline(250, &["h".into()]), "250 h\r\n");
    }
}

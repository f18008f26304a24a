//! SMTP replies: basic code, RFC 3463 enhanced code and the exact SES text.
//!
//! This is the one mapping from conditions to wire text for the submission server (STYLE:
//! "one mapping per edge"). Texts are byte-exact copies of the tables in DECISIONS Q-136 (the
//! seed's table, H-69) and Q-137 (conditions the seed does not cover); a final period appears only
//! where those tables show one. Enhanced codes are written only when the listener has
//! `ENHANCEDSTATUSCODES` switched on (Q-135, default off for submission).

use std::fmt;

/// One SMTP reply line: `code[ enhanced] text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// RFC 5321 basic reply code (235, 250, 421, ...).
    pub code: u16,
    /// RFC 3463 enhanced status code `(class, subject, detail)`, written only when enabled.
    pub enhanced: Option<(u8, u16, u16)>,
    /// Human-readable text; exact SES text where the decision tables define one.
    pub text: String,
}

impl Reply {
    /// A reply with an arbitrary code, enhanced code and text.
    pub fn new(code: u16, enhanced: Option<(u8, u16, u16)>, text: impl Into<String>) -> Self {
        Reply {
            code,
            enhanced,
            text: sanitize(text.into()),
        }
    }

    /// Formats the reply for the wire, CRLF-terminated. `enhanced` says whether the session
    /// negotiated enhanced status codes.
    pub fn to_wire(&self, enhanced: bool) -> String {
        match (enhanced, self.enhanced) {
            (true, Some((c, s, d))) => format!("{} {c}.{s}.{d} {}\r\n", self.code, self.text),
            _ => format!("{} {}\r\n", self.code, self.text),
        }
    }

    /// True for 4xx and 5xx replies.
    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    // ---- the seed's table (H-69) ----

    /// `235 Authentication successful` (Q-136, 2.7.0).
    pub fn auth_success() -> Self {
        Self::new(235, Some((2, 7, 0)), "Authentication successful")
    }
    /// `250 Ok <MessageID>` (Q-136, 2.0.0; H-24: the id is the engine's MessageId).
    pub fn accepted(message_id: &str) -> Self {
        Self::new(250, Some((2, 0, 0)), format!("Ok {message_id}"))
    }
    /// `421 Too many concurrent SMTP connections` (Q-136, 4.3.2; Q-141).
    pub fn too_many_connections() -> Self {
        Self::new(421, Some((4, 3, 2)), "Too many concurrent SMTP connections")
    }
    /// `451 Temporary service failure` (Q-136, 4.3.0): local processing error.
    pub fn local_error() -> Self {
        Self::new(451, Some((4, 3, 0)), "Temporary service failure")
    }
    /// `451 Timeout waiting for data from client` (Q-136, 4.4.2; Q-139).
    pub fn timeout() -> Self {
        Self::new(451, Some((4, 4, 2)), "Timeout waiting for data from client")
    }
    /// `454 Throttling failure: Daily message quota exceeded.` (Q-136, 4.7.0).
    pub fn daily_quota_exceeded() -> Self {
        Self::new(
            454,
            Some((4, 7, 0)),
            "Throttling failure: Daily message quota exceeded.",
        )
    }
    /// `454 Throttling failure: Maximum sending rate exceeded.` (Q-136, 4.7.0).
    pub fn rate_exceeded() -> Self {
        Self::new(
            454,
            Some((4, 7, 0)),
            "Throttling failure: Maximum sending rate exceeded.",
        )
    }
    /// `454 Temporary authentication failure` (Q-136, 4.7.0): the credential check failed
    /// temporarily ([`crate::TempFailure`]).
    pub fn temp_auth_failure() -> Self {
        Self::new(454, Some((4, 7, 0)), "Temporary authentication failure")
    }
    /// `454 Temporary service failure` (Q-136, 4.3.0): the request was not received.
    pub fn request_not_received() -> Self {
        Self::new(454, Some((4, 3, 0)), "Temporary service failure")
    }
    /// `530 Authentication required` (Q-136, 5.7.0): MAIL before AUTH.
    pub fn auth_required() -> Self {
        Self::new(530, Some((5, 7, 0)), "Authentication required")
    }
    /// `535 Authentication Credentials Invalid` (Q-136, 5.7.8; Q-46).
    pub fn bad_credentials() -> Self {
        Self::new(535, Some((5, 7, 8)), "Authentication Credentials Invalid")
    }
    /// `535 Account not subscribed to SES` (Q-136, 5.7.8).
    pub fn account_not_subscribed() -> Self {
        Self::new(535, Some((5, 7, 8)), "Account not subscribed to SES")
    }
    /// `552 Message is too long.` (Q-136, 5.3.4): declared `SIZE=` or actual size over the limit.
    pub fn too_long() -> Self {
        Self::new(552, Some((5, 3, 4)), "Message is too long.")
    }
    /// `553 <address> Invalid email address` (Q-136, 5.1.7): MAIL FROM syntax.
    pub fn invalid_sender(address: &str) -> Self {
        Self::new(
            553,
            Some((5, 1, 7)),
            format!("<{}> Invalid email address", printable(address)),
        )
    }
    /// `553 <address> address unknown` (Q-136, 5.1.3): RCPT TO syntax.
    pub fn invalid_recipient(address: &str) -> Self {
        Self::new(
            553,
            Some((5, 1, 3)),
            format!("<{}> address unknown", printable(address)),
        )
    }
    /// ``554 Access denied: User `<arn>' is not authorized to perform `ses:SendRawEmail' on
    /// resource `<arn>'`` (Q-136, 5.7.1).
    pub fn access_denied(user_arn: &str, resource_arn: &str) -> Self {
        Self::new(
            554,
            Some((5, 7, 1)),
            format!(
                "Access denied: User `{user_arn}' is not authorized to perform `ses:SendRawEmail' on resource `{resource_arn}'"
            ),
        )
    }
    /// `554 Message rejected: Email address is not verified. The following identities failed
    /// the check in region <REGION>: …` (Q-136, 5.7.1; H-49). `identities` is already joined
    /// (with a trailing `...` when truncated).
    pub fn not_verified(region: &str, identities: &str) -> Self {
        Self::new(
            554,
            Some((5, 7, 1)),
            format!(
                "Message rejected: Email address is not verified. The following identities failed the check in region {region}: {identities}"
            ),
        )
    }

    // ---- conditions the seed does not cover ----

    /// `530 Must issue a STARTTLS command first` (Q-137, 5.7.0): MAIL/RCPT/AUTH before TLS.
    pub fn starttls_first() -> Self {
        Self::new(530, Some((5, 7, 0)), "Must issue a STARTTLS command first")
    }
    /// `504 Unrecognized authentication type` (Q-137, 5.5.4).
    pub fn unrecognized_auth_type() -> Self {
        Self::new(504, Some((5, 5, 4)), "Unrecognized authentication type")
    }
    /// `554 Message rejected: <reason>` (Q-137 rule, 5.6.0 by default): an end-of-DATA
    /// rejection corresponding to an API error.
    pub fn message_rejected(enhanced: (u8, u16, u16), reason: &str) -> Self {
        Self::new(554, Some(enhanced), format!("Message rejected: {reason}"))
    }
    /// `554 Message rejected: Account is paused` (Q-137, 5.7.1).
    pub fn account_paused() -> Self {
        Self::message_rejected((5, 7, 1), "Account is paused")
    }
    /// `554 Message rejected: Configuration set sending paused` (Q-137, 5.7.1).
    pub fn configuration_set_paused() -> Self {
        Self::message_rejected((5, 7, 1), "Configuration set sending paused")
    }
    /// `554 Message rejected: Configuration set does not exist` (Q-137, 5.6.0).
    pub fn configuration_set_missing() -> Self {
        Self::message_rejected((5, 6, 0), "Configuration set does not exist")
    }
    /// `554 Message rejected: Mail FROM domain is not verified` (Q-137, 5.7.1).
    pub fn mail_from_not_verified() -> Self {
        Self::message_rejected((5, 7, 1), "Mail FROM domain is not verified")
    }
    /// `452 Too many recipients` (Q-137 and Q-109, 4.5.3): the 51st RCPT.
    pub fn too_many_recipients() -> Self {
        Self::new(452, Some((4, 5, 3)), "Too many recipients")
    }
    /// `554 No valid recipients` (Q-137, 5.5.1): DATA without an accepted RCPT.
    pub fn no_valid_recipients() -> Self {
        Self::new(554, Some((5, 5, 1)), "No valid recipients")
    }
    /// `553 <address> There are non-ASCII characters in the email address` (Q-137, 5.6.7).
    pub fn non_ascii_address(address: &str) -> Self {
        Self::new(
            553,
            Some((5, 6, 7)),
            format!(
                "<{}> There are non-ASCII characters in the email address",
                printable(address)
            ),
        )
    }
    /// `421 Connection limit reached, please reconnect` (Q-137, 4.3.2; Q-141 recycling).
    pub fn reconnect() -> Self {
        Self::new(
            421,
            Some((4, 3, 2)),
            "Connection limit reached, please reconnect",
        )
    }
    /// `421 Service not available, closing transmission channel` (Q-137, 4.3.2): shutdown.
    pub fn shutting_down() -> Self {
        Self::new(
            421,
            Some((4, 3, 2)),
            "Service not available, closing transmission channel",
        )
    }
    /// `500 Syntax error, command unrecognized` (Q-137 / RFC 5321 §4.2.2, 5.5.2).
    pub fn unrecognized() -> Self {
        Self::new(500, Some((5, 5, 2)), "Syntax error, command unrecognized")
    }
    /// `500 Line too long` (RFC 5321 §4.5.3.1.4, 5.5.2): a command line over 512 octets.
    pub fn line_too_long() -> Self {
        Self::new(500, Some((5, 5, 2)), "Line too long")
    }
    /// `501 Syntax error in parameters or arguments` (Q-137 / RFC 5321 §4.2.2, 5.5.4).
    pub fn syntax_error() -> Self {
        Self::new(
            501,
            Some((5, 5, 4)),
            "Syntax error in parameters or arguments",
        )
    }
    /// `501 Authentication cancelled` (RFC 4954 §4: the client sent `*`; 5.5.4 per Q-137's 501).
    pub fn auth_cancelled() -> Self {
        Self::new(501, Some((5, 5, 4)), "Authentication cancelled")
    }
    /// `502 Command not implemented` (RFC 5321 §4.2.2, 5.5.1): EXPN, BDAT, ETRN, ...
    pub fn not_implemented() -> Self {
        Self::new(502, Some((5, 5, 1)), "Command not implemented")
    }
    /// `503 Bad sequence of commands` (Q-137 / RFC 5321 §4.2.2, 5.5.1).
    pub fn bad_sequence() -> Self {
        Self::new(503, Some((5, 5, 1)), "Bad sequence of commands")
    }
    /// `555 MAIL FROM/RCPT TO parameters not recognized or not implemented` (RFC 5321
    /// §4.1.1.11, 5.5.4): e.g. `SMTPUTF8`, which is never offered.
    pub fn unsupported_parameter() -> Self {
        Self::new(
            555,
            Some((5, 5, 4)),
            "MAIL FROM/RCPT TO parameters not recognized or not implemented",
        )
    }
    /// `554 Message rejected: Message contains bare CR or LF characters` (Q-137 rule, 5.6.0):
    /// RFC 5321 §2.3.8 line endings are CRLF only; also the SMTP-smuggling defence.
    pub fn bare_line_ending() -> Self {
        Self::message_rejected((5, 6, 0), "Message contains bare CR or LF characters")
    }
    /// `554 Message rejected: Message contains a line longer than 998 characters`
    /// (Q-137 rule, 5.6.0; RFC 5321 §4.5.3.1.6).
    pub fn data_line_too_long() -> Self {
        Self::message_rejected(
            (5, 6, 0),
            "Message contains a line longer than 998 characters",
        )
    }

    // ---- the feedback MX (no SES text exists: RFC 5321/3463 wording) ----

    /// `550 5.1.1 <address> Recipient address rejected: unknown feedback address`: at one of
    /// our feedback domains but the VERP address of no message of ours.
    pub fn mailbox_unknown(address: &str) -> Self {
        Self::new(
            550,
            Some((5, 1, 1)),
            format!(
                "<{}> Recipient address rejected: unknown feedback address",
                printable(address)
            ),
        )
    }
    /// `550 5.7.1 <address> Relay access denied`: not an address of ours; the feedback MX
    /// delivers nowhere else.
    pub fn relay_denied(address: &str) -> Self {
        Self::new(
            550,
            Some((5, 7, 1)),
            format!("<{}> Relay access denied", printable(address)),
        )
    }
    /// `250 2.0.0 Ok: feedback recorded`: the report's events are durable.
    pub fn feedback_recorded() -> Self {
        Self::new(250, Some((2, 0, 0)), "Ok: feedback recorded")
    }
    /// `454 4.7.0 TLS not available`: STARTTLS on a feedback MX without a certificate.
    pub fn tls_not_available() -> Self {
        Self::new(454, Some((4, 7, 0)), "TLS not available")
    }

    // ---- plain positive replies (RFC 5321 texts) ----

    /// `250 Ok` for NOOP, RSET, MAIL, RCPT.
    pub fn ok() -> Self {
        Self::new(250, Some((2, 0, 0)), "Ok")
    }
    /// `221 Bye` for QUIT.
    pub fn bye() -> Self {
        Self::new(221, Some((2, 0, 0)), "Bye")
    }
    /// `220 Ready to start TLS` for STARTTLS (RFC 3207).
    pub fn ready_for_tls() -> Self {
        Self::new(220, Some((2, 0, 0)), "Ready to start TLS")
    }
    /// `354 End data with <CR><LF>.<CR><LF>`.
    pub fn start_data() -> Self {
        Self::new(354, None, "End data with <CR><LF>.<CR><LF>")
    }
    /// `252 Cannot VRFY user, but will accept message and attempt delivery` (RFC 5321 §3.5.3).
    pub fn cannot_vrfy() -> Self {
        Self::new(
            252,
            Some((2, 5, 2)),
            "Cannot VRFY user, but will accept message and attempt delivery",
        )
    }
    /// `214` HELP text.
    pub fn help() -> Self {
        Self::new(
            214,
            Some((2, 0, 0)),
            "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
        )
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

/// Reply text must never contain CR/LF (it would split the reply) — replace them.
fn sanitize(text: String) -> String {
    if text.bytes().any(|b| b == b'\r' || b == b'\n') {
        text.replace(['\r', '\n'], " ")
    } else {
        text
    }
}

/// Client-supplied addresses echoed in replies: printable ASCII only, bounded length.
fn printable(address: &str) -> String {
    address
        .chars()
        .take(256)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// byte-exact texts, with and without enhanced codes.
    #[test]
    fn exact_texts() {
        let table: &[(Reply, &str, &str)] = &[
            (
                Reply::auth_success(),
                "235 Authentication successful\r\n",
                "235 2.7.0 Authentication successful\r\n",
            ),
            (
                Reply::accepted("0100abc"),
                "250 Ok 0100abc\r\n",
                "250 2.0.0 Ok 0100abc\r\n",
            ),
            (
                Reply::too_many_connections(),
                "421 Too many concurrent SMTP connections\r\n",
                "421 4.3.2 Too many concurrent SMTP connections\r\n",
            ),
            (
                Reply::timeout(),
                "451 Timeout waiting for data from client\r\n",
                "451 4.4.2 Timeout waiting for data from client\r\n",
            ),
            (
                Reply::daily_quota_exceeded(),
                "454 Throttling failure: Daily message quota exceeded.\r\n",
                "454 4.7.0 Throttling failure: Daily message quota exceeded.\r\n",
            ),
            (
                Reply::auth_required(),
                "530 Authentication required\r\n",
                "530 5.7.0 Authentication required\r\n",
            ),
            (
                Reply::bad_credentials(),
                "535 Authentication Credentials Invalid\r\n",
                "535 5.7.8 Authentication Credentials Invalid\r\n",
            ),
            (
                Reply::too_long(),
                "552 Message is too long.\r\n",
                "552 5.3.4 Message is too long.\r\n",
            ),
            (
                Reply::invalid_sender("a@"),
                "553 <a@> Invalid email address\r\n",
                "553 5.1.7 <a@> Invalid email address\r\n",
            ),
            (
                Reply::invalid_recipient("b"),
                "553 <b> address unknown\r\n",
                "553 5.1.3 <b> address unknown\r\n",
            ),
            (
                Reply::starttls_first(),
                "530 Must issue a STARTTLS command first\r\n",
                "530 5.7.0 Must issue a STARTTLS command first\r\n",
            ),
            (
                Reply::too_many_recipients(),
                "452 Too many recipients\r\n",
                "452 4.5.3 Too many recipients\r\n",
            ),
            (
                Reply::reconnect(),
                "421 Connection limit reached, please reconnect\r\n",
                "421 4.3.2 Connection limit reached, please reconnect\r\n",
            ),
            (
                Reply::start_data(),
                "354 End data with <CR><LF>.<CR><LF>\r\n",
                "354 End data with <CR><LF>.<CR><LF>\r\n",
            ),
        ];
        for (reply, plain, enhanced) in table {
            assert_eq!(reply.to_wire(false), *plain);
            assert_eq!(reply.to_wire(true), *enhanced);
        }
    }

    /// The feedback MX's own replies (RFC 3463 codes when negotiated).
    #[test]
    fn feedback_texts() {
        let table: &[(Reply, &str)] = &[
            (
                Reply::mailbox_unknown("x@us-east-1.sesame.test"),
                "550 5.1.1 <x@us-east-1.sesame.test> Recipient address rejected: unknown feedback address\r\n",
            ),
            (
                Reply::relay_denied("a@example.com"),
                "550 5.7.1 <a@example.com> Relay access denied\r\n",
            ),
            (Reply::feedback_recorded(), "250 2.0.0 Ok: feedback recorded\r\n"),
            (Reply::tls_not_available(), "454 4.7.0 TLS not available\r\n"),
        ];
        for (reply, wire) in table {
            assert_eq!(reply.to_wire(true), *wire);
        }
    }

    #[test]
    fn access_denied_quotes() {
        let r = Reply::access_denied("arn:u", "arn:i");
        assert_eq!(
            r.to_wire(false),
            "554 Access denied: User `arn:u' is not authorized to perform `ses:SendRawEmail' on resource `arn:i'\r\n"
        );
    }

    #[test]
    fn never_splits_lines() {
        let r = Reply::invalid_sender("a\r\nMAIL");
        assert_eq!(r.to_wire(false), "553 <a??MAIL> Invalid email address\r\n");
        let r = Reply::new(554, None, "x\r\ny");
        assert_eq!(r.to_wire(false), "554 x  y\r\n");
    }
}

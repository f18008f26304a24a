//! What one recipient's transport result means in SES terms (spec G-3, G-44, G-53; DECISIONS
//! Q-110, Q-111, Q-149, Q-166; A-64, A-68..A-70). Pure: a [`RecipientResult`] in, a [`Verdict`]
//! out, so the whole table is unit-tested below.
//!
//! - **2xx** → [`Verdict::Delivered`] with the reply line as `smtpResponse` (G-48).
//! - **4xx**, and failures without a reply that may go away (connection, TLS, timeouts, DNS
//!   servers not answering) → [`Verdict::Deferred`]: a `DeliveryDelay` per attempt with a
//!   `delayType` from the enhanced status (RFC 3463) or the failure, and the `Bounce` to emit
//!   if the retry window ends first ([`Deferral::expiry`], G-3: `Transient/*`).
//! - **5xx**, and failures that retrying cannot fix → [`Verdict::Bounced`] at once (A-68: hard
//!   bounces are not retried), `bounceType`/`bounceSubType` from the G-44 table.
//!
//! `status` is the RFC 3463 enhanced status (the reply's own when its class agrees with the
//! reply code, else `<class>.0.0`, as Postfix does). `diagnosticCode` is `smtp; <reply line>`
//! (G-43, G-53). For failures without a reply the diagnostic is written the way SES writes
//! them, as a synthesised reply (G-53's example: `smtp; 421 4.4.1 Unable to connect to remote
//! host`) whose text is [`AttemptError::describe`].

use sesame_events::bounce_types::{self, Kind};
use sesame_events::delay_types;
use sesame_model::{AttemptError, RecipientResult, SmtpReply};

/// The meaning of one recipient's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The remote MTA took responsibility for the message (G-48).
    Delivered {
        /// The reply line (`250 2.0.0 Ok: queued as X`).
        smtp_response: String,
    },
    /// A temporary failure: stays queued.
    Deferred(Deferral),
    /// A final failure: a `Bounce` now.
    Bounced(Failure),
}

/// A temporary failure (G-53).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deferral {
    /// One of [`delay_types::ALL`].
    pub delay_type: &'static str,
    /// `4.x.x`.
    pub status: String,
    pub diagnostic: String,
    /// The bounce reported when the retry window ends with this as the last result (G-3,
    /// Usually `Transient/*` with the same status and diagnostic; see
    /// [`AttemptError::NoSuchDomain`] for the one `Permanent` case.
    pub expiry: Failure,
}

/// A bounce (G-42, G-43).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// One of [`bounce_types::ALL`].
    pub kind: Kind,
    pub status: String,
    pub diagnostic: String,
}

impl Failure {
    /// only `Permanent` bounces of real deliveries feed the suppression list.
    pub fn is_permanent(&self) -> bool {
        self.kind.0 == bounce_types::PERMANENT
    }
}

/// Classifies one recipient's result (see the module docs).
pub fn classify(result: &RecipientResult) -> Verdict {
    match result {
        RecipientResult::Reply(r) => classify_reply(r),
        RecipientResult::Error(e) => classify_error(e),
    }
}

/// `(class, subject, detail)` of an enhanced status whose class agrees with the reply code.
fn enhanced(r: &SmtpReply) -> Option<(u16, u16, u16)> {
    let s = r.status.as_deref()?;
    let mut parts = s.split('.').map(|p| p.parse::<u16>().ok());
    let (c, s, d) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || c != r.code / 100 {
        return None;
    }
    Some((c, s, d))
}

fn status_of(r: &SmtpReply) -> String {
    match enhanced(r) {
        Some((c, s, d)) => format!("{c}.{s}.{d}"),
        None => format!("{}.0.0", r.code / 100),
    }
}

/// Words receivers use when they refuse the sending IP rather than the recipient or the
/// content (H-70: `554 5.7.1 Service unavailable; Client host [192.0.2.0] blocked using
/// DNSBLName`). Such refusals say nothing about the address: never `Permanent` (H-163 keeps
/// them out of the bounce rate).
const IP_TERMS: &[&str] = &[
    "blocked",
    "blacklist",
    "blocklist",
    "dnsbl",
    " rbl",
    "reputation",
    "client host",
    "rate limit",
    "throttl",
    "too many connections",
];
/// Refusals because of what the message says (G-44 `ContentRejected`, G-53 `SpamDetected`).
const CONTENT_TERMS: &[&str] = &[
    "spam",
    "unsolicited",
    "content",
    "virus",
    "malware",
    "phish",
];
/// Refusals of an attachment (G-44 `AttachmentRejected`).
const ATTACHMENT_TERMS: &[&str] = &["attachment", "file type", "filetype"];
/// Refusals because of the sender's authentication (SPF, DKIM, DMARC): not the recipient's
/// fault either.
const AUTH_TERMS: &[&str] = &["dmarc", "spf", "dkim", "authenticat"];
/// A full mailbox described in words (replies without an enhanced status).
const FULL_TERMS: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "quota",
    "insufficient storage",
];
/// A too-large message described in words.
const SIZE_TERMS: &[&str] = &["too large", "too big", "size", "too long"];

fn mentions(text: &str, terms: &[&str]) -> bool {
    terms.iter().any(|t| text.contains(t))
}

fn classify_reply(r: &SmtpReply) -> Verdict {
    let line = r.line();
    let diagnostic = format!("smtp; {line}");
    let status = status_of(r);
    let text = r.text.to_ascii_lowercase();
    match r.code / 100 {
        2 => Verdict::Delivered {
            smtp_response: line,
        },
        4 => {
            let (delay_type, expiry_kind) = temporary_kind(r.code, enhanced(r), &text);
            Verdict::Deferred(Deferral {
                delay_type,
                expiry: Failure {
                    kind: expiry_kind,
                    status: status.clone(),
                    diagnostic: diagnostic.clone(),
                },
                status,
                diagnostic,
            })
        }
        5 => Verdict::Bounced(Failure {
            kind: permanent_kind(r.code, enhanced(r), &text),
            status,
            diagnostic,
        }),
        // RFC 5321 §4.2.1 allows no other final reply: the server broke the protocol, which
        // may be a passing fault (Q-110: retry, `General`).
        _ => {
            let status = "4.5.0".to_string();
            Verdict::Deferred(Deferral {
                delay_type: delay_types::GENERAL,
                expiry: Failure {
                    kind: bounce_types::TRANSIENT_GENERAL,
                    status: status.clone(),
                    diagnostic: diagnostic.clone(),
                },
                status,
                diagnostic,
            })
        }
    }
}

/// `delayType` (G-53) of a 4xx reply and the bounce if the window ends on it.
fn temporary_kind(code: u16, st: Option<(u16, u16, u16)>, text: &str) -> (&'static str, Kind) {
    use bounce_types::{
        TRANSIENT_GENERAL as SOFT, TRANSIENT_MAILBOX_FULL, TRANSIENT_MESSAGE_TOO_LARGE,
    };
    use delay_types::*;
    match st.map(|(_, s, d)| (s, d)) {
        // X.2.2 Mailbox full (RFC 3463 §3.3).
        Some((2, 2)) => (MAILBOX_FULL, TRANSIENT_MAILBOX_FULL),
        // X.2.3 message length exceeds administrative limit; X.3.4 message too big for system.
        Some((2, 3) | (3, 4)) => (GENERAL, TRANSIENT_MESSAGE_TOO_LARGE),
        // X.3.x mail system status: the receiving system has a problem (G-53
        // `RecipientServerError`).
        Some((3, _)) => (RECIPIENT_SERVER_ERROR, SOFT),
        // X.4.x network and routing status (4.4.1 no answer, 4.4.2 bad connection).
        Some((4, _)) => (TRANSIENT_COMMUNICATION_FAILURE, SOFT),
        // X.7.x security or policy: the sending IP refused or throttled (`IPFailure`), or
        // too much unsolicited mail seen (`SpamDetected`); otherwise (greylisting…) `General`.
        Some((7, _)) => (policy_delay(text).unwrap_or(GENERAL), SOFT),
        // No (usable) enhanced status, or X.0.x that says nothing: the text, then the basic
        // code (RFC 5321 §4.2.2).
        Some((0, _)) | None => {
            if let Some(t) = policy_delay(text) {
                (t, SOFT)
            } else if mentions(text, FULL_TERMS) {
                (MAILBOX_FULL, TRANSIENT_MAILBOX_FULL)
            } else {
                match code {
                    // 421 service not available, closing the transmission channel.
                    421 => (TRANSIENT_COMMUNICATION_FAILURE, SOFT),
                    // 451 local error in processing; 452 insufficient system storage.
                    451 | 452 => (RECIPIENT_SERVER_ERROR, SOFT),
                    _ => (GENERAL, SOFT),
                }
            }
        }
        // X.1.x addressing, X.2.x mailbox, X.5.x protocol, X.6.x content: a failure during
        // the conversation.
        Some(_) => (GENERAL, SOFT),
    }
}

fn policy_delay(text: &str) -> Option<&'static str> {
    if mentions(text, IP_TERMS) {
        Some(delay_types::IP_FAILURE)
    } else if mentions(text, CONTENT_TERMS) {
        Some(delay_types::SPAM_DETECTED)
    } else {
        None
    }
}

/// `(bounceType, bounceSubType)` (G-44) of a 5xx reply. A 5xx is never retried (RFC 5321
/// §4.2.1, A-68), but only a refusal of the *address* is `Permanent` (and so suppressed,
/// Q-191); refusals of the message, the content or the sending IP are `Transient/*`: "a later
/// send may succeed".
fn permanent_kind(code: u16, st: Option<(u16, u16, u16)>, text: &str) -> Kind {
    use bounce_types::*;
    match st.map(|(_, s, d)| (s, d)) {
        // X.2.2 Mailbox full. call a full mailbox a soft bounce: G-44's
        // `Transient/MailboxFull`, the address stays valid. A 5xx is final, so no retry.
        Some((2, 2)) => TRANSIENT_MAILBOX_FULL,
        // X.2.3 / X.3.4 (RFC 1870 §6.3: 552 5.3.4): may succeed if made smaller.
        Some((2, 3) | (3, 4)) => TRANSIENT_MESSAGE_TOO_LARGE,
        // X.6.x message content or media status.
        Some((6, _)) => TRANSIENT_CONTENT_REJECTED,
        Some((7, _)) => policy_bounce(text).unwrap_or(PERMANENT_GENERAL),
        // X.0.x says nothing: the words may.
        Some((0, _)) | None => {
            if let Some(k) = policy_bounce(text) {
                k
            } else if code == 552 && mentions(text, SIZE_TERMS) {
                // 552 without an enhanced status: "exceeded storage allocation" (RFC 5321
                // §4.2.3), the message's size or the mailbox's.
                TRANSIENT_MESSAGE_TOO_LARGE
            } else if mentions(text, FULL_TERMS) {
                TRANSIENT_MAILBOX_FULL
            } else {
                PERMANENT_GENERAL
            }
        }
        // X.1.x addressing (5.1.1 bad destination mailbox: the Permanent/General),
        // X.2.x mailbox (5.2.1 disabled), X.3.x, X.4.x, X.5.x: the address cannot receive
        // this mail. `NoEmail` is left to bounces whose recipient cannot be extracted (G-44's
        // notification wording, Q-166).
        Some(_) => PERMANENT_GENERAL,
    }
}

fn policy_bounce(text: &str) -> Option<Kind> {
    use bounce_types::*;
    if mentions(text, IP_TERMS) || mentions(text, AUTH_TERMS) {
        Some(TRANSIENT_GENERAL)
    } else if mentions(text, ATTACHMENT_TERMS) {
        Some(TRANSIENT_ATTACHMENT_REJECTED)
    } else if mentions(text, CONTENT_TERMS) {
        Some(TRANSIENT_CONTENT_REJECTED)
    } else {
        None
    }
}

/// Failures without a reply: a synthesised reply (`code status text`), see the module docs.
fn classify_error(e: &AttemptError) -> Verdict {
    use bounce_types::*;
    use delay_types::*;
    let text = e.describe();
    let deferral = |delay_type: &'static str, code: u16, status: &str, expiry_kind: Kind| {
        let diagnostic = format!("smtp; {code} {status} {text}");
        Verdict::Deferred(Deferral {
            delay_type,
            status: status.to_string(),
            expiry: Failure {
                kind: expiry_kind,
                status: status.to_string(),
                diagnostic: diagnostic.clone(),
            },
            diagnostic,
        })
    };
    let bounce = |kind: Kind, code: u16, status: &str| {
        Verdict::Bounced(Failure {
            kind,
            status: status.to_string(),
            diagnostic: format!("smtp; {code} {status} {text}"),
        })
    };
    match e {
        // RFC 7505 §4.1: a null MX domain accepts no mail, ever; the client fails at once with
        // 556 5.1.10. The address is as undeliverable as a 5.1.1 one: Permanent/General.
        AttemptError::NullMx => bounce(PERMANENT_GENERAL, 556, "5.1.10"),
        // a domain that does not exist is a hard bounce that is
        // nevertheless retried ("except DNS lookup failures") — a domain being registered or
        // a broken zone comes back. While retried: `RecipientServerError` (the recipient's
        // side, not our communication), 4.1.2 (RFC 3463 X.1.2 bad destination system
        // address, "useful for both permanent and persistent transient errors"). When the
        // window ends it is reported as what it is, a hard bounce: Permanent/General, 5.1.2,
        // which the suppression list takes.
        AttemptError::NoSuchDomain => Verdict::Deferred(Deferral {
            delay_type: RECIPIENT_SERVER_ERROR,
            status: "4.1.2".into(),
            diagnostic: format!("smtp; 450 4.1.2 {text}"),
            expiry: Failure {
                kind: PERMANENT_GENERAL,
                status: "5.1.2".into(),
                diagnostic: format!("smtp; 550 5.1.2 {text}"),
            },
        }),
        // X.4.3 directory server failure.
        AttemptError::DnsTemporary(_) => deferral(
            TRANSIENT_COMMUNICATION_FAILURE,
            451,
            "4.4.3",
            TRANSIENT_GENERAL,
        ),
        // X.4.1 no answer from host (G-53's example).
        AttemptError::Connect(_) => deferral(
            TRANSIENT_COMMUNICATION_FAILURE,
            421,
            "4.4.1",
            TRANSIENT_GENERAL,
        ),
        // each attempt a `TransientCommunicationFailure` delay, at the window's end
        // `Transient/General` "TLS required but not available". X.7.4 security features not
        // supported (Postfix uses the same code for "TLS is required, but was not offered").
        AttemptError::TlsRequired => deferral(
            TRANSIENT_COMMUNICATION_FAILURE,
            421,
            "4.7.4",
            TRANSIENT_GENERAL,
        ),
        // X.7.5 cryptographic failure.
        AttemptError::Tls(_) => deferral(
            TRANSIENT_COMMUNICATION_FAILURE,
            421,
            "4.7.5",
            TRANSIENT_GENERAL,
        ),
        // X.4.2 bad connection.
        AttemptError::Timeout(_) => deferral(
            TRANSIENT_COMMUNICATION_FAILURE,
            421,
            "4.4.2",
            TRANSIENT_GENERAL,
        ),
        // X.5.0 other protocol status: a failure during the conversation, G-53 `General`.
        AttemptError::Protocol(_) => deferral(GENERAL, 451, "4.5.0", TRANSIENT_GENERAL),
        // RFC 1870 §6.3: the server's SIZE is smaller than the message: retrying the same
        // bytes cannot succeed, so it is final now; G-44's only row for it is
        // `Transient/MessageTooLarge` ("may succeed if made smaller"), and the address is fine.
        AttemptError::MessageTooLarge { .. } => bounce(TRANSIENT_MESSAGE_TOO_LARGE, 552, "5.3.4"),
    }
}

/// The result of a recipient the transport gave no result for (a broken `Transport`
/// contract): retried as G-53 `InternalFailure`.
pub fn missing_result() -> Verdict {
    let status = "4.3.0".to_string();
    let diagnostic =
        "smtp; 451 4.3.0 internal error: no delivery result for this recipient".to_string();
    Verdict::Deferred(Deferral {
        delay_type: delay_types::INTERNAL_FAILURE,
        expiry: Failure {
            kind: bounce_types::TRANSIENT_GENERAL,
            status: status.clone(),
            diagnostic: diagnostic.clone(),
        },
        status,
        diagnostic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bounce_types::*;
    use delay_types::*;

    fn reply(code: u16, status: Option<&str>, text: &str) -> RecipientResult {
        RecipientResult::Reply(SmtpReply {
            code,
            status: status.map(str::to_string),
            text: text.into(),
        })
    }

    /// 5xx replies → `Bounce` (G-44), with `status` and `diagnosticCode` (G-43).
    #[test]
    fn bounce_table() {
        let table: Vec<(RecipientResult, Kind, &str, &str)> = vec![
            // The case: user unknown is Permanent/General.
            (
                reply(550, Some("5.1.1"), "user unknown"),
                PERMANENT_GENERAL,
                "5.1.1",
                "smtp; 550 5.1.1 user unknown",
            ),
            (
                reply(550, Some("5.2.1"), "mailbox disabled"),
                PERMANENT_GENERAL,
                "5.2.1",
                "smtp; 550 5.2.1 mailbox disabled",
            ),
            (
                reply(552, Some("5.2.2"), "The email account is over quota"),
                TRANSIENT_MAILBOX_FULL,
                "5.2.2",
                "smtp; 552 5.2.2 The email account is over quota",
            ),
            (
                reply(552, Some("5.3.4"), "Message size exceeds fixed limit"),
                TRANSIENT_MESSAGE_TOO_LARGE,
                "5.3.4",
                "smtp; 552 5.3.4 Message size exceeds fixed limit",
            ),
            (
                reply(552, None, "Message size exceeds fixed maximum message size"),
                TRANSIENT_MESSAGE_TOO_LARGE,
                "5.0.0",
                "smtp; 552 Message size exceeds fixed maximum message size",
            ),
            (
                reply(552, None, "Mailbox full"),
                TRANSIENT_MAILBOX_FULL,
                "5.0.0",
                "smtp; 552 Mailbox full",
            ),
            (
                reply(554, Some("5.6.1"), "media not supported"),
                TRANSIENT_CONTENT_REJECTED,
                "5.6.1",
                "smtp; 554 5.6.1 media not supported",
            ),
            // H-70: a DNSBL block refuses the IP, not the address.
            (
                reply(
                    554,
                    Some("5.7.1"),
                    "Service unavailable; Client host [192.0.2.0] blocked using DNSBLName",
                ),
                TRANSIENT_GENERAL,
                "5.7.1",
                "smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.0] blocked using DNSBLName",
            ),
            (
                reply(550, Some("5.7.1"), "Message rejected as spam"),
                TRANSIENT_CONTENT_REJECTED,
                "5.7.1",
                "smtp; 550 5.7.1 Message rejected as spam",
            ),
            (
                reply(552, Some("5.7.0"), "Our system detected an illegal attachment"),
                TRANSIENT_ATTACHMENT_REJECTED,
                "5.7.0",
                "smtp; 552 5.7.0 Our system detected an illegal attachment",
            ),
            (
                reply(550, Some("5.7.26"), "Unauthenticated email is not accepted due to DMARC policy"),
                TRANSIENT_GENERAL,
                "5.7.26",
                "smtp; 550 5.7.26 Unauthenticated email is not accepted due to DMARC policy",
            ),
            (
                reply(554, Some("5.7.1"), "Relay access denied"),
                PERMANENT_GENERAL,
                "5.7.1",
                "smtp; 554 5.7.1 Relay access denied",
            ),
            (
                reply(550, None, "No such user here"),
                PERMANENT_GENERAL,
                "5.0.0",
                "smtp; 550 No such user here",
            ),
            // An enhanced status of the wrong class is ignored (the basic code governs).
            (
                reply(550, Some("4.1.1"), "odd"),
                PERMANENT_GENERAL,
                "5.0.0",
                "smtp; 550 4.1.1 odd",
            ),
            (
                RecipientResult::Error(AttemptError::NullMx),
                PERMANENT_GENERAL,
                "5.1.10",
                "smtp; 556 5.1.10 the domain accepts no mail (null MX, RFC 7505)",
            ),
            (
                RecipientResult::Error(AttemptError::MessageTooLarge { limit: 1000 }),
                TRANSIENT_MESSAGE_TOO_LARGE,
                "5.3.4",
                "smtp; 552 5.3.4 message size exceeds the remote server's limit of 1000 bytes",
            ),
        ];
        for (result, kind, status, diagnostic) in table {
            let want = Verdict::Bounced(Failure {
                kind,
                status: status.into(),
                diagnostic: diagnostic.into(),
            });
            assert_eq!(classify(&result), want, "{result:?}");
            assert!(bounce_types::is_valid(kind.0, kind.1));
        }
    }

    /// 4xx replies and passing failures → `DeliveryDelay` (G-53, Q-149) and the bounce if the
    /// window ends on them (G-3, Q-110, Q-111).
    #[test]
    fn deferral_table() {
        let table: Vec<(RecipientResult, &str, &str, &str, Kind)> = vec![
            (
                reply(452, Some("4.2.2"), "The email account that you tried to reach is over quota"),
                MAILBOX_FULL,
                "4.2.2",
                "smtp; 452 4.2.2 The email account that you tried to reach is over quota",
                TRANSIENT_MAILBOX_FULL,
            ),
            (
                reply(451, Some("4.7.1"), "Greylisted, try again later"),
                GENERAL,
                "4.7.1",
                "smtp; 451 4.7.1 Greylisted, try again later",
                TRANSIENT_GENERAL,
            ),
            (
                reply(421, Some("4.7.0"), "[192.0.2.1] Our system has detected an unusual rate of unsolicited mail"),
                SPAM_DETECTED,
                "4.7.0",
                "smtp; 421 4.7.0 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail",
                TRANSIENT_GENERAL,
            ),
            (
                reply(450, Some("4.7.1"), "Client host rejected: blocked using zen.example"),
                IP_FAILURE,
                "4.7.1",
                "smtp; 450 4.7.1 Client host rejected: blocked using zen.example",
                TRANSIENT_GENERAL,
            ),
            (
                reply(451, Some("4.3.0"), "Temporary lookup failure"),
                RECIPIENT_SERVER_ERROR,
                "4.3.0",
                "smtp; 451 4.3.0 Temporary lookup failure",
                TRANSIENT_GENERAL,
            ),
            (
                reply(452, Some("4.3.4"), "Message too big for system"),
                GENERAL,
                "4.3.4",
                "smtp; 452 4.3.4 Message too big for system",
                TRANSIENT_MESSAGE_TOO_LARGE,
            ),
            (
                reply(421, Some("4.4.2"), "connection dropped"),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.4.2",
                "smtp; 421 4.4.2 connection dropped",
                TRANSIENT_GENERAL,
            ),
            (
                reply(421, None, "Service not available"),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.0.0",
                "smtp; 421 Service not available",
                TRANSIENT_GENERAL,
            ),
            (
                reply(451, None, "Requested action aborted: local error"),
                RECIPIENT_SERVER_ERROR,
                "4.0.0",
                "smtp; 451 Requested action aborted: local error",
                TRANSIENT_GENERAL,
            ),
            (
                reply(452, None, "Mailbox is full"),
                MAILBOX_FULL,
                "4.0.0",
                "smtp; 452 Mailbox is full",
                TRANSIENT_MAILBOX_FULL,
            ),
            (
                reply(450, None, "Mailbox unavailable"),
                GENERAL,
                "4.0.0",
                "smtp; 450 Mailbox unavailable",
                TRANSIENT_GENERAL,
            ),
            // Not a final reply at all: the server broke the protocol.
            (
                reply(354, None, "go ahead"),
                GENERAL,
                "4.5.0",
                "smtp; 354 go ahead",
                TRANSIENT_GENERAL,
            ),
            (
                RecipientResult::Error(AttemptError::Connect("connection refused".into())),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.4.1",
                "smtp; 421 4.4.1 unable to connect to remote host: connection refused",
                TRANSIENT_GENERAL,
            ),
            (
                RecipientResult::Error(AttemptError::TlsRequired),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.7.4",
                "smtp; 421 4.7.4 TLS required but not available",
                TRANSIENT_GENERAL,
            ),
            (
                RecipientResult::Error(AttemptError::Tls("handshake failure".into())),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.7.5",
                "smtp; 421 4.7.5 TLS negotiation failed: handshake failure",
                TRANSIENT_GENERAL,
            ),
            (
                RecipientResult::Error(AttemptError::Timeout("DATA".into())),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.4.2",
                "smtp; 421 4.4.2 timed out: DATA",
                TRANSIENT_GENERAL,
            ),
            (
                RecipientResult::Error(AttemptError::DnsTemporary("SERVFAIL".into())),
                TRANSIENT_COMMUNICATION_FAILURE,
                "4.4.3",
                "smtp; 451 4.4.3 DNS lookup failed: SERVFAIL",
                TRANSIENT_GENERAL,
            ),
            (
                RecipientResult::Error(AttemptError::Protocol("garbled reply".into())),
                GENERAL,
                "4.5.0",
                "smtp; 451 4.5.0 SMTP protocol error: garbled reply",
                TRANSIENT_GENERAL,
            ),
        ];
        for (result, delay_type, status, diagnostic, expiry) in table {
            let Verdict::Deferred(d) = classify(&result) else {
                panic!("{result:?} should be deferred");
            };
            assert_eq!(
                (d.delay_type, d.status.as_str(), d.diagnostic.as_str()),
                (delay_type, status, diagnostic),
                "{result:?}"
            );
            // Expiry keeps the last status and diagnostic (G-3, Q-110).
            assert_eq!(
                d.expiry,
                Failure {
                    kind: expiry,
                    status: status.into(),
                    diagnostic: diagnostic.into()
                },
                "{result:?}"
            );
            assert!(delay_types::ALL.contains(&d.delay_type));
        }
    }

    /// a nonexistent domain is retried, and ends as a hard bounce.
    #[test]
    fn no_such_domain_is_retried_then_permanent() {
        let Verdict::Deferred(d) = classify(&RecipientResult::Error(AttemptError::NoSuchDomain))
        else {
            panic!("retried");
        };
        assert_eq!(d.delay_type, RECIPIENT_SERVER_ERROR);
        assert_eq!(d.status, "4.1.2");
        assert_eq!(
            d.diagnostic,
            "smtp; 450 4.1.2 the domain has no MX, A or AAAA records"
        );
        assert_eq!(d.expiry.kind, PERMANENT_GENERAL);
        assert!(d.expiry.is_permanent());
        assert_eq!(d.expiry.status, "5.1.2");
        assert_eq!(
            d.expiry.diagnostic,
            "smtp; 550 5.1.2 the domain has no MX, A or AAAA records"
        );
    }

    #[test]
    fn delivered_keeps_the_reply_line() {
        for (r, line) in [
            (
                reply(250, Some("2.0.0"), "Ok: queued as 4Xy"),
                "250 2.0.0 Ok: queued as 4Xy",
            ),
            (reply(250, None, "OK"), "250 OK"),
            // The enhanced status of a 2xx is not checked.
            (
                reply(251, Some("5.1.1"), "forwarded"),
                "251 5.1.1 forwarded",
            ),
        ] {
            assert_eq!(
                classify(&r),
                Verdict::Delivered {
                    smtp_response: line.into()
                }
            );
        }
    }

    #[test]
    fn missing_result_is_an_internal_failure() {
        let Verdict::Deferred(d) = missing_result() else {
            panic!()
        };
        assert_eq!(d.delay_type, INTERNAL_FAILURE);
        assert_eq!(d.expiry.kind, TRANSIENT_GENERAL);
    }
}

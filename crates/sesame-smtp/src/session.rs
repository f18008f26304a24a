//! The per-connection SMTP state machine (RFC 5321 §4.1.4 command order, RFC 3207, RFC 4954).
//!
//! [`Session`] is fed one complete, already CRLF-checked command line at a time and answers with a
//! [`Step`]: what the connection must do next. It performs no I/O itself apart from the backend
//! calls, so the command rules are unit-tested without sockets (tests at the bottom). The verbs
//! live in their own files (`ehlo.rs`, `auth.rs`, `mail.rs`, `rcpt.rs`, `data.rs`); the trivial
//! ones (RSET, NOOP, QUIT, VRFY, HELP) are here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smtp_proto::{Error as ParseError, Request};

use crate::auth::AuthProgress;
use crate::backend::{FeedbackBackend, Principal, SubmissionBackend};
use crate::config::SmtpConfig;
use crate::reply::Reply;

/// What the connection does after a command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Queue this reply and read the next command.
    Reply(Reply),
    /// Queue this preformatted (multi-line) reply, e.g. the EHLO response.
    Raw(String),
    /// Send `220 Ready to start TLS`, then hand the socket to the TLS acceptor.
    StartTls,
    /// Send `354`, then run the DATA receiver and call [`Session::finish_data`].
    Data,
    /// Send these replies and close the connection.
    Close(Vec<Reply>),
}

/// What a listener serves; the command rules differ only where the docs of each verb say.
#[derive(Clone)]
pub(crate) enum Service {
    /// SES SMTP submission: TLS and AUTH before MAIL, SES reply texts.
    Submission(Arc<dyn SubmissionBackend>),
    /// The feedback MX: ordinary MTAs deliver DSNs and ARF reports to VERP addresses; no AUTH,
    /// STARTTLS optional, null reverse-path allowed, RCPT checked by the backend.
    Feedback(Arc<dyn FeedbackBackend>),
}

/// Which greeting the client used: HELO gets no extensions and no enhanced codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Greeting {
    Helo,
    Ehlo,
}

/// One mail transaction (MAIL … DATA).
#[derive(Debug, Clone, Default)]
pub(crate) struct Transaction {
    pub(crate) mail_from: String,
    pub(crate) rcpt_to: Vec<String>,
}

/// Kinds of malformed command lines detected by the framing layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadLine {
    /// A bare CR or LF, or a line not ending in CRLF (RFC 5321 §2.3.8).
    BareLineEnding,
    /// Longer than 512 octets including CRLF (RFC 5321 §4.5.3.1.4).
    TooLong,
}

/// State of one SMTP connection.
pub(crate) struct Session {
    pub(crate) cfg: Arc<SmtpConfig>,
    pub(crate) service: Service,
    pub(crate) peer: SocketAddr,
    /// True once TLS is up (implicit TLS: from the start). On submission AUTH/MAIL/RCPT
    /// require it.
    pub(crate) tls: bool,
    /// The negotiated TLS version (`TLSv1.3`, `TLSv1.2`) once TLS is up: the
    /// `ses:source-tls-version` auto tag (G-23).
    pub(crate) tls_version: Option<String>,
    /// Whether STARTTLS can be offered (a certificate is configured). Always true on submission
    /// listeners; a feedback MX without a certificate serves plaintext only.
    pub(crate) tls_available: bool,
    /// HELO/EHLO seen since the connection (or TLS) started; RFC 3207 §4.2 resets it.
    pub(crate) greeting: Option<Greeting>,
    /// Set by a successful AUTH; never cleared by RSET.
    pub(crate) principal: Option<Principal>,
    /// An AUTH exchange waiting for the client's next line.
    pub(crate) auth: Option<AuthProgress>,
    /// The open transaction, if MAIL was accepted.
    pub(crate) tx: Option<Transaction>,
    /// Transactions that reached the end of DATA, for recycling.
    pub(crate) messages: usize,
    /// Connection start, for the maximum age.
    pub(crate) started: Instant,
}

impl Session {
    pub(crate) fn new(
        cfg: Arc<SmtpConfig>,
        service: Service,
        peer: SocketAddr,
        tls: bool,
        tls_available: bool,
    ) -> Self {
        Session {
            cfg,
            service,
            peer,
            tls,
            tls_version: None,
            tls_available,
            greeting: None,
            principal: None,
            auth: None,
            tx: None,
            messages: 0,
            started: Instant::now(),
        }
    }

    /// The banner (Q-140, B-27): `220 <hostname> ESMTP Sesame-<instance> <session-token>`.
    pub(crate) fn banner(&self) -> Reply {
        use rand::Rng;
        let token: String = rand::thread_rng()
            .sample_iter(rand::distributions::Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        Reply::new(
            220,
            None,
            format!(
                "{} ESMTP Sesame-{} {token}",
                self.cfg.hostname, self.cfg.instance_id
            ),
        )
    }

    pub(crate) fn is_feedback(&self) -> bool {
        matches!(self.service, Service::Feedback(_))
    }

    /// Whether EHLO lists `ENHANCEDSTATUSCODES`: when enabled, on submission only after TLS
    /// on the feedback MX always.
    pub(crate) fn advertises_enhanced(&self) -> bool {
        self.cfg.enhanced_status_codes && (self.tls || self.is_feedback())
    }

    /// Whether replies carry RFC 3463 codes: only when advertised and the client used EHLO
    /// (RFC 2034 §3, Q-135).
    pub(crate) fn enhanced(&self) -> bool {
        self.advertises_enhanced() && self.greeting == Some(Greeting::Ehlo)
    }

    /// Idle limit for the next read: short before AUTH, RFC 5321 values after; the
    /// feedback MX has no AUTH phase (its peers are MTAs): RFC 5321 values throughout.
    pub(crate) fn read_timeout(&self) -> Duration {
        if self.principal.is_some() || self.is_feedback() {
            self.cfg.command_timeout
        } else {
            self.cfg.idle_timeout_before_auth
        }
    }

    /// Time left before the connection must be recycled.
    pub(crate) fn age_left(&self) -> Duration {
        self.cfg
            .max_connection_age
            .saturating_sub(self.started.elapsed())
    }

    /// True once the connection has served its share (Q-141, H-154).
    pub(crate) fn must_recycle(&self) -> bool {
        self.messages >= self.cfg.max_messages_per_connection || self.age_left().is_zero()
    }

    /// RFC 3207 §4.2: after the handshake the client starts over with EHLO.
    pub(crate) fn tls_started(&mut self) {
        self.tls = true;
        self.greeting = None;
        self.principal = None;
        self.auth = None;
        self.tx = None;
    }

    /// A malformed line from the framing layer.
    pub(crate) fn bad_line(&mut self, kind: BadLine) -> Step {
        self.auth = None;
        Step::Reply(match kind {
            BadLine::BareLineEnding => Reply::unrecognized(),
            BadLine::TooLong => Reply::line_too_long(),
        })
    }

    /// Handles one command line, CRLF included (the framing layer has checked it).
    pub(crate) async fn command(&mut self, line: &[u8]) -> Step {
        if let Some(progress) = self.auth.take() {
            return self.auth_continue(progress, strip_crlf(line)).await;
        }
        // MAIL and RCPT are dispatched on their verb so syntax errors get the SES 553 texts.
        match verb(line).as_deref() {
            Some("MAIL") => return self.mail(line),
            Some("RCPT") => return self.rcpt(line).await,
            _ => {}
        }
        match Request::parse(&mut line.iter()) {
            Ok(Request::Ehlo { host }) => self.ehlo(&host),
            Ok(Request::Helo { host }) => self.helo(&host),
            Ok(Request::StartTls) => self.starttls(line),
            Ok(Request::Auth {
                mechanism,
                initial_response,
            }) => self.auth_start(mechanism, &initial_response).await,
            Ok(Request::Data) => self.data(),
            Ok(Request::Rset) => {
                self.tx = None;
                Step::Reply(Reply::ok())
            }
            Ok(Request::Noop { .. }) => Step::Reply(Reply::ok()),
            Ok(Request::Quit) => Step::Close(vec![Reply::bye()]),
            Ok(Request::Vrfy { .. }) => Step::Reply(Reply::cannot_vrfy()),
            Ok(Request::Help { .. }) => Step::Reply(Reply::help()),
            // Parsed by smtp-proto but not offered here (Q-140: no CHUNKING, no LMTP, …).
            Ok(Request::Lhlo { .. })
            | Ok(Request::Expn { .. })
            | Ok(Request::Bdat { .. })
            | Ok(Request::Etrn { .. })
            | Ok(Request::Atrn { .. })
            | Ok(Request::Burl { .. }) => Step::Reply(Reply::not_implemented()),
            Ok(Request::Mail { .. }) | Ok(Request::Rcpt { .. }) => {
                Step::Reply(Reply::unrecognized())
            }
            Err(ParseError::UnknownCommand) => Step::Reply(Reply::unrecognized()),
            Err(_) => Step::Reply(Reply::syntax_error()),
        }
    }

    /// Common gate for MAIL/RCPT/DATA: TLS first, then AUTH. The feedback MX
    /// requires neither: DSNs come from any MTA, with or without TLS.
    pub(crate) fn require_tls_and_auth(&self) -> Option<Reply> {
        if self.is_feedback() {
            None
        } else if !self.tls {
            Some(Reply::starttls_first())
        } else if self.principal.is_none() {
            Some(Reply::auth_required())
        } else {
            None
        }
    }
}

/// The command verb, upper-cased, if the line starts with 4 letters followed by space/CR/`:`.
fn verb(line: &[u8]) -> Option<String> {
    let head = line.get(..4)?;
    if !head.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    match line.get(4) {
        Some(b' ') | Some(b'\r') | Some(b':') => {
            Some(String::from_utf8_lossy(head).to_ascii_uppercase())
        }
        _ => None,
    }
}

pub(crate) fn strip_crlf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").unwrap_or(line)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::backend::{Envelope, FeedbackBackend, TempFailure};
    use async_trait::async_trait;
    use base64::Engine;
    use std::sync::Mutex;

    /// Accepts `AKIATEST`/`secret-pass`; `AKIATEMP` fails temporarily. Records submissions.
    #[derive(Default)]
    pub(crate) struct Fake {
        pub(crate) submitted: Mutex<Vec<(Envelope, Vec<u8>)>>,
    }

    #[async_trait]
    impl SubmissionBackend for Fake {
        async fn authenticate(
            &self,
            username: &str,
            password: &str,
            region: &str,
        ) -> Result<Option<Principal>, TempFailure> {
            if username == "AKIATEMP" {
                return Err(TempFailure("store down".into()));
            }
            Ok(
                (username == "AKIATEST" && password == "secret-pass").then(|| Principal {
                    account_id: "111122223333".into(),
                    access_key_id: username.into(),
                    region: region.into(),
                }),
            )
        }
        async fn submit(
            &self,
            _principal: &Principal,
            envelope: &Envelope,
            raw: Vec<u8>,
        ) -> Result<String, Reply> {
            if envelope.mail_from == "paused@example.com" {
                return Err(Reply::account_paused());
            }
            let mut s = self.submitted.lock().unwrap();
            s.push((envelope.clone(), raw));
            Ok(format!("id-{}", s.len()))
        }
    }

    fn session(tls: bool) -> Session {
        let mut cfg = SmtpConfig::new("us-east-1", "email-smtp.us-east-1.example.com");
        cfg.max_recipients = 3;
        cfg.max_messages_per_connection = 2;
        Session::new(
            Arc::new(cfg),
            Service::Submission(Arc::new(Fake::default())),
            "127.0.0.1:1".parse().unwrap(),
            tls,
            true,
        )
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// Runs a script of (line, expected reply prefix) against one session.
    async fn script(s: &mut Session, steps: &[(&str, &str)]) {
        for (line, expected) in steps {
            let step = s.command(format!("{line}\r\n").as_bytes()).await;
            let got = match &step {
                Step::Reply(r) => r.to_wire(false),
                Step::Raw(t) => t.clone(),
                Step::StartTls => "STARTTLS".into(),
                Step::Data => "DATA".into(),
                Step::Close(r) => r.iter().map(|r| r.to_wire(false)).collect(),
            };
            assert!(
                got.starts_with(expected),
                "{line:?}: expected {expected:?}, got {got:?}"
            );
        }
    }

    /// nothing but EHLO/STARTTLS/NOOP/… before TLS.
    #[tokio::test]
    async fn before_tls() {
        let mut s = session(false);
        script(
            &mut s,
            &[
                ("EHLO client", "250-email-smtp.us-east-1.example.com\r\n250-STARTTLS\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 41943040\r\n"),
                ("AUTH PLAIN", "530 Must issue a STARTTLS command first"),
                ("MAIL FROM:<a@example.com>", "530 Must issue a STARTTLS command first"),
                ("RCPT TO:<a@example.com>", "530 Must issue a STARTTLS command first"),
                ("DATA", "530 Must issue a STARTTLS command first"),
                ("NOOP", "250 Ok"),
                ("VRFY x", "252 "),
                ("STARTTLS now", "501 "),
                ("STARTTLS", "STARTTLS"),
            ],
        )
        .await;
    }

    /// Q-140 post-TLS EHLO, Q-136 AUTH replies, Q-136 530 before AUTH.
    #[tokio::test]
    async fn auth_flows() {
        let mut s = session(true);
        let plain_ok = format!("AUTH PLAIN {}", b64("\0AKIATEST\0secret-pass"));
        let plain_bad = format!("AUTH PLAIN {}", b64("\0AKIATEST\0wrong"));
        script(
            &mut s,
            &[
                ("MAIL FROM:<a@example.com>", "530 Authentication required"),
                ("AUTH PLAIN", "503 "),
                ("EHLO client", "250-email-smtp.us-east-1.example.com\r\n250-AUTH PLAIN LOGIN\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 41943040\r\n"),
                ("MAIL FROM:<a@example.com>", "530 Authentication required"),
                ("AUTH CRAM-MD5", "504 Unrecognized authentication type"),
                (&plain_bad, "535 Authentication Credentials Invalid"),
                ("AUTH PLAIN", "334 "),
                ("*", "501 Authentication cancelled"),
                ("AUTH PLAIN", "334 "),
                ("!!notbase64", "501 "),
                ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
                (&b64("AKIATEMP"), "334 UGFzc3dvcmQ6"),
                (&b64("x"), "454 Temporary authentication failure"),
                (&format!("AUTH LOGIN {}", b64("AKIATEST")), "334 UGFzc3dvcmQ6"),
                (&b64("secret-pass"), "235 Authentication successful"),
                (&plain_ok, "503 "),
                ("MAIL FROM:<a@example.com>", "250 Ok"),
            ],
        )
        .await;
        assert_eq!(s.principal.as_ref().unwrap().region, "us-east-1");
    }

    async fn authed() -> Session {
        let mut s = session(true);
        let plain_ok = format!("AUTH PLAIN {}", b64("\0AKIATEST\0secret-pass"));
        script(&mut s, &[("EHLO c", "250-"), (&plain_ok, "235 ")]).await;
        s
    }

    /// transaction rules.
    #[tokio::test]
    async fn transaction_rules() {
        let mut s = authed().await;
        script(
            &mut s,
            &[
                ("RCPT TO:<b@example.com>", "503 "),
                ("DATA", "503 "),
                ("MAIL FROM:<>", "553 <> Invalid email address"),
                (
                    "MAIL FROM:a@example.com",
                    "553 <a@example.com> Invalid email address",
                ),
                ("MAIL FROM:<a@>", "553 <a@> Invalid email address"),
                ("MAIL FROM:<a@exa mple.com>", "553 "),
                ("MAIL FROM:<a@example.com> SMTPUTF8", "555 "),
                (
                    "MAIL FROM:<a@example.com> SIZE=41943041",
                    "552 Message is too long.",
                ),
                (
                    "MAIL FROM:<j\u{f6}rg@example.com>",
                    "553 <j?rg@example.com> There are non-ASCII characters in the email address",
                ),
                (
                    "MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME",
                    "250 Ok",
                ),
                ("MAIL FROM:<a@example.com>", "503 "),
                ("DATA", "554 No valid recipients"),
                ("RCPT TO:<b@>", "553 <b@> address unknown"),
                (
                    "RCPT TO:b@example.com",
                    "553 <b@example.com> address unknown",
                ),
                (
                    "RCPT TO:<b\u{e9}@example.com>",
                    "553 <b?@example.com> There are non-ASCII",
                ),
                ("RCPT TO:<b1@example.com>", "250 Ok"),
                ("RCPT TO:<b2@example.com>", "250 Ok"),
                ("RCPT TO:<b3@example.com>", "250 Ok"),
                ("RCPT TO:<b4@example.com>", "452 Too many recipients"),
                ("DATA", "DATA"),
            ],
        )
        .await;
    }

    /// End of DATA: 250 Ok <id>, backend rejections verbatim, receiver errors, recycling.
    #[tokio::test]
    async fn finish_data_and_recycle() {
        use crate::data::{DataError, DataOutcome};
        let mut s = authed().await;
        script(
            &mut s,
            &[
                ("MAIL FROM:<a@example.com>", "250"),
                ("RCPT TO:<b@example.com>", "250"),
                ("DATA", "DATA"),
            ],
        )
        .await;
        let step = s
            .finish_data(DataOutcome::Message(b"Subject: x\r\n\r\nhi\r\n".to_vec()))
            .await;
        assert_eq!(step, Step::Reply(Reply::accepted("id-1")));
        assert!(s.tx.is_none());
        script(
            &mut s,
            &[
                ("MAIL FROM:<paused@example.com>", "250"),
                ("RCPT TO:<b@example.com>", "250"),
                ("DATA", "DATA"),
            ],
        )
        .await;
        let step = s.finish_data(DataOutcome::Message(b"x\r\n".to_vec())).await;
        // Second message reached the per-connection limit of 2: 421 after the transaction.
        assert_eq!(
            step,
            Step::Close(vec![Reply::account_paused(), Reply::reconnect()])
        );
        assert!(s.must_recycle());
        script(
            &mut s,
            &[(
                "MAIL FROM:<a@example.com>",
                "421 Connection limit reached, please reconnect",
            )],
        )
        .await;
        let mut s = authed().await;
        script(
            &mut s,
            &[
                ("MAIL FROM:<a@example.com>", "250"),
                ("RCPT TO:<b@example.com>", "250"),
                ("DATA", "DATA"),
            ],
        )
        .await;
        assert_eq!(
            s.finish_data(DataOutcome::Rejected(DataError::TooLarge))
                .await,
            Step::Reply(Reply::too_long())
        );
        script(
            &mut s,
            &[
                ("MAIL FROM:<a@example.com>", "250"),
                ("RCPT TO:<b@example.com>", "250"),
                ("DATA", "DATA"),
            ],
        )
        .await;
        assert_eq!(
            s.finish_data(DataOutcome::Rejected(DataError::BareLineEnding))
                .await,
            Step::Close(vec![Reply::bare_line_ending(), Reply::reconnect()])
        );
    }

    /// Unknown and unoffered commands, RSET/QUIT/HELP, HELO has no extensions.
    #[tokio::test]
    async fn misc_commands() {
        let mut s = session(true);
        script(
            &mut s,
            &[
                ("FOO bar", "500 Syntax error, command unrecognized"),
                ("EHLO", "501 "),
                ("HELO client", "250 email-smtp.us-east-1.example.com"),
                ("EXPN list", "502 "),
                ("BDAT 10 LAST", "502 "),
                ("HELP", "214 "),
                ("RSET", "250 Ok"),
                ("STARTTLS", "503 "),
                ("QUIT", "221 Bye"),
            ],
        )
        .await;
        assert_eq!(
            s.bad_line(BadLine::TooLong),
            Step::Reply(Reply::line_too_long())
        );
        assert_eq!(
            s.bad_line(BadLine::BareLineEnding),
            Step::Reply(Reply::unrecognized())
        );
    }

    /// Feedback MX backend: `*@fb.example` VERP addresses known when the local part starts
    /// with `msg`, `temp@…` fails temporarily; everything else is not ours. Records reports.
    #[derive(Default)]
    pub(crate) struct FakeFeedback {
        pub(crate) ingested: Mutex<Vec<(Envelope, Vec<u8>)>>,
    }

    #[async_trait]
    impl FeedbackBackend for FakeFeedback {
        async fn check_recipient(&self, address: &str) -> Result<(), Reply> {
            match address.split_once('@') {
                Some((l, "fb.example")) if l.starts_with("msg") => Ok(()),
                Some(("temp", _)) => Err(Reply::local_error()),
                Some((_, "fb.example")) => Err(Reply::mailbox_unknown(address)),
                _ => Err(Reply::relay_denied(address)),
            }
        }
        async fn ingest(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<(), Reply> {
            if raw.starts_with(b"FAIL") {
                return Err(Reply::local_error());
            }
            self.ingested.lock().unwrap().push((envelope.clone(), raw));
            Ok(())
        }
    }

    fn feedback_session(tls_available: bool) -> (Session, Arc<FakeFeedback>) {
        let backend = Arc::new(FakeFeedback::default());
        let s = Session::new(
            Arc::new(SmtpConfig::feedback_mx(
                "feedback-smtp.us-east-1.sesame.test",
            )),
            Service::Feedback(backend.clone()),
            "127.0.4.9:2000".parse().unwrap(),
            false,
            tls_available,
        );
        (s, backend)
    }

    /// Runs (line, exact wire reply) steps, formatting replies as the connection would.
    async fn exact(s: &mut Session, steps: &[(&str, &str)]) {
        for (line, expected) in steps {
            let step = s.command(format!("{line}\r\n").as_bytes()).await;
            let got = match &step {
                Step::Reply(r) => r.to_wire(s.enhanced()),
                Step::Raw(t) => t.clone(),
                Step::StartTls => "STARTTLS".into(),
                Step::Data => "DATA".into(),
                Step::Close(r) => r.iter().map(|r| r.to_wire(s.enhanced())).collect(),
            };
            assert_eq!(got, *expected, "{line:?}");
        }
    }

    /// the feedback MX takes DSNs from any MTA — no TLS or AUTH gate, `<>`
    /// accepted, STARTTLS offered but optional, RCPT decided by the backend (no relay), RFC
    /// 3463 codes, 250 only after the backend recorded the report.
    #[tokio::test]
    async fn feedback_mx_rules() {
        let (mut s, backend) = feedback_session(true);
        exact(
            &mut s,
            &[
                ("EHLO mx.example.net", "250-feedback-smtp.us-east-1.sesame.test\r\n250-STARTTLS\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n250 ENHANCEDSTATUSCODES\r\n"),
                ("AUTH PLAIN AGFiAGM=", "502 5.5.1 Command not implemented\r\n"),
                ("RCPT TO:<msg1@fb.example>", "503 5.5.1 Bad sequence of commands\r\n"),
                ("MAIL FROM:<>", "250 2.0.0 Ok\r\n"),
                ("RCPT TO:<someone@example.com>", "550 5.7.1 <someone@example.com> Relay access denied\r\n"),
                ("RCPT TO:<nobody@fb.example>", "550 5.1.1 <nobody@fb.example> Recipient address rejected: unknown feedback address\r\n"),
                ("RCPT TO:<temp@fb.example>", "451 4.3.0 Temporary service failure\r\n"),
                ("DATA", "554 5.5.1 No valid recipients\r\n"),
                ("RCPT TO:<msg1@fb.example>", "250 2.0.0 Ok\r\n"),
                ("RCPT TO:<b@>", "553 5.1.3 <b@> address unknown\r\n"),
                ("DATA", "DATA"),
            ],
        )
        .await;
        let step = s
            .finish_data(crate::data::DataOutcome::Message(
                b"Subject: DSN\r\n\r\nx\r\n".to_vec(),
            ))
            .await;
        assert_eq!(step, Step::Reply(Reply::feedback_recorded()));
        let got = backend.ingested.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.mail_from, "");
        assert_eq!(got[0].0.rcpt_to, ["msg1@fb.example"]);
        assert!(!got[0].0.tls);

        // A backend failure is temporary: the sender keeps the report and retries.
        exact(
            &mut s,
            &[
                ("MAIL FROM:<postmaster@mx.example.net>", "250 2.0.0 Ok\r\n"),
                ("RCPT TO:<msg2@fb.example>", "250 2.0.0 Ok\r\n"),
                ("DATA", "DATA"),
            ],
        )
        .await;
        let step = s
            .finish_data(crate::data::DataOutcome::Message(b"FAIL\r\n".to_vec()))
            .await;
        assert_eq!(step, Step::Reply(Reply::local_error()));
        assert_eq!(backend.ingested.lock().unwrap().len(), 1);

        // After STARTTLS: neither STARTTLS nor AUTH is listed.
        exact(&mut s, &[("STARTTLS", "STARTTLS")]).await;
        s.tls_started();
        exact(
            &mut s,
            &[("EHLO mx.example.net", "250-feedback-smtp.us-east-1.sesame.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n250 ENHANCEDSTATUSCODES\r\n")],
        )
        .await;
    }

    /// Without a certificate the feedback MX serves plaintext only and says so.
    #[tokio::test]
    async fn feedback_mx_without_certificate() {
        let (mut s, _) = feedback_session(false);
        exact(
            &mut s,
            &[
                ("EHLO mx.example.net", "250-feedback-smtp.us-east-1.sesame.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n250 ENHANCEDSTATUSCODES\r\n"),
                ("STARTTLS", "454 4.7.0 TLS not available\r\n"),
                ("MAIL FROM:<>", "250 2.0.0 Ok\r\n"),
            ],
        )
        .await;
        assert_eq!(
            s.read_timeout(),
            s.cfg.command_timeout,
            "no short pre-AUTH timeout"
        );
    }

    #[test]
    fn verbs() {
        assert_eq!(verb(b"mail FROM:<a@b>\r\n").as_deref(), Some("MAIL"));
        assert_eq!(verb(b"RCPT:").as_deref(), Some("RCPT"));
        assert_eq!(verb(b"MAILX\r\n"), None);
        assert_eq!(verb(b"MA"), None);
    }
}

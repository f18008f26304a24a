//! The outbound transport port: how the engine hands a signed message to the network.
//!
//! The engine decides *what* to send and what each outcome means (events, retries, bounces,
//! suppression — pure rules); a [`Transport`] (`sesame-mta`: MX lookup, SMTP client, connection
//! pools, source-address binding) only reports *facts*: the SMTP reply each recipient got, or
//! why no reply could be had. One [`DeliveryJob`] is one recipient domain of one message.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// `TlsPolicy` of the configuration set's `DeliveryOptions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsPolicy {
    /// STARTTLS whenever offered, plaintext otherwise.
    #[default]
    Optional,
    /// Never send in clear: no STARTTLS (or a failed handshake) is a temporary failure.
    Require,
}

/// One recipient domain of one message.
#[derive(Clone, Debug)]
pub struct DeliveryJob {
    pub message_id: String,
    /// The recipient domain (lowercase, A-label); every recipient below is at it.
    pub domain: String,
    /// Envelope sender (VERP address, Q-67/Q-112), or empty for a null reverse-path.
    pub mail_from: String,
    pub recipients: Vec<String>,
    /// The exact bytes that leave: CRLF line endings, DKIM-signed. Shared by the jobs of one
    /// message (one per domain).
    pub body: Arc<Vec<u8>>,
    pub tls: TlsPolicy,
    /// Source addresses this message may leave from (the sending pool's IPs, F-*); empty means
    /// any configured outbound address, or the OS's choice when none is configured.
    pub source_ips: Vec<IpAddr>,
}

/// A complete SMTP reply (RFC 5321 §4.2), multi-line text joined by `\n`… as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpReply {
    pub code: u16,
    /// RFC 3463 enhanced status (`5.1.1`) when the server sent one.
    pub status: Option<String>,
    /// The text after the code and the enhanced status (all lines, joined by a space).
    pub text: String,
}

impl SmtpReply {
    /// `250 2.0.0 Ok: queued as X` — the reply as one line, for `smtpResponse` and
    /// `diagnosticCode` (`smtp; …`).
    pub fn line(&self) -> String {
        match &self.status {
            Some(s) => format!("{} {} {}", self.code, s, self.text),
            None => format!("{} {}", self.code, self.text),
        }
        .trim_end()
        .to_string()
    }
}

/// Why a recipient got no final SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttemptError {
    /// The domain publishes a null MX (RFC 7505): it accepts no mail. Permanent.
    NullMx,
    /// The domain does not exist (NXDOMAIN), or has neither MX nor A/AAAA records. Permanent.
    NoSuchDomain,
    /// DNS did not answer usefully (SERVFAIL, timeout). Temporary.
    DnsTemporary(String),
    /// No MX host could be reached (refused, unreachable, timed out connecting). Temporary.
    Connect(String),
    /// `TlsPolicy::Require` and the server offers no STARTTLS. Temporary.
    TlsRequired,
    /// The TLS handshake failed. Temporary.
    Tls(String),
    /// The server stopped answering within the RFC 5321 §4.5.3.2 timeouts, or closed the
    /// connection. Temporary.
    Timeout(String),
    /// The server broke the protocol (garbled reply…). Temporary.
    Protocol(String),
    /// The message is larger than the server's `SIZE`. Permanent (RFC 1870 §6.3: 552).
    MessageTooLarge { limit: u64 },
}

impl AttemptError {
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            AttemptError::NullMx
                | AttemptError::NoSuchDomain
                | AttemptError::MessageTooLarge { .. }
        )
    }

    /// A human description for `diagnosticCode` and logs.
    pub fn describe(&self) -> String {
        match self {
            AttemptError::NullMx => "the domain accepts no mail (null MX, RFC 7505)".into(),
            AttemptError::NoSuchDomain => "the domain has no MX, A or AAAA records".into(),
            AttemptError::DnsTemporary(e) => format!("DNS lookup failed: {e}"),
            AttemptError::Connect(e) => format!("unable to connect to remote host: {e}"),
            AttemptError::TlsRequired => "TLS required but not available".into(),
            AttemptError::Tls(e) => format!("TLS negotiation failed: {e}"),
            AttemptError::Timeout(e) => format!("timed out: {e}"),
            AttemptError::Protocol(e) => format!("SMTP protocol error: {e}"),
            AttemptError::MessageTooLarge { limit } => {
                format!("message size exceeds the remote server's limit of {limit} bytes")
            }
        }
    }
}

/// What happened to one recipient of a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientResult {
    /// The final reply for this recipient: the RCPT reply when it was not 2xx, else the reply
    /// to the end of DATA.
    Reply(SmtpReply),
    Error(AttemptError),
}

/// The outcome of one [`DeliveryJob`]: one result per recipient, in the job's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobReport {
    pub results: Vec<(String, RecipientResult)>,
    /// The MX host name that gave the final answers, when a connection was made.
    pub remote_host: Option<String>,
    /// Its address (`remoteMtaIp`).
    pub remote_ip: Option<IpAddr>,
    /// The source address used (`ses:outgoing-ip`), when a connection was made.
    pub local_ip: Option<IpAddr>,
    /// Our HELO name on that connection (`reportingMTA`, Q-73).
    pub helo: String,
    /// Whether the message went over TLS.
    pub tls: bool,
}

/// Delivers jobs. Never fails as a whole: every recipient gets a [`RecipientResult`].
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    async fn deliver(&self, job: DeliveryJob) -> JobReport;
}

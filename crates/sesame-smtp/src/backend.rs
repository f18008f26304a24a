//! The contract between the SMTP server and whatever accepts mail behind it.
//!
//! The `sesame` binary implements [`SubmissionBackend`] over the engine (`engine::enqueue`, the
//! one way in) and [`FeedbackBackend`] over the engine's feedback ingestion; tests implement
//! them with fakes. The server never decides policy: it checks TLS, AUTH, syntax, recipient
//! count and size and leaves everything that needs the message to
//! [`SubmissionBackend::submit`] — or, on the feedback MX, which addresses exist to
//! [`FeedbackBackend::check_recipient`] and what a report means to [`FeedbackBackend::ingest`].

use std::net::SocketAddr;

use async_trait::async_trait;

use crate::reply::Reply;

/// Calls the server makes into the product.
#[async_trait]
pub trait SubmissionBackend: Send + Sync + 'static {
    /// Checks AUTH credentials for the listener's region; returns the authenticated principal or None.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        region: &str,
    ) -> Result<Option<Principal>, TempFailure>;
    /// End of DATA: the message is already size/syntax-checked. Must return only once the message is durable.
    async fn submit(
        &self,
        principal: &Principal,
        envelope: &Envelope,
        raw: Vec<u8>,
    ) -> Result<String /* MessageId */, Reply>;
}

/// Calls the feedback MX makes (DSNs, ARF reports and auto-replies sent to the VERP addresses
/// of sent mail, DECISIONS ).
#[async_trait]
pub trait FeedbackBackend: Send + Sync + 'static {
    /// RCPT TO: `Ok` when `address` is the VERP address of a message of this instance; else the
    /// refusal (`550 5.1.1` unknown at a feedback domain, `550 5.7.1` not ours — the MX is never
    /// a relay, `451` when the answer is not available now).
    async fn check_recipient(&self, address: &str) -> Result<(), Reply>;
    /// End of DATA, once per message (all its accepted recipients in `envelope.rcpt_to`).
    /// Must return only once what the report means is durably recorded: the MTA that sent it
    /// discards it on `250`.
    async fn ingest(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<(), Reply>;
}

/// Who authenticated on a connection (the owner of the SMTP credentials, Q-46).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Account that owns the access key; every send is charged and authorized against it.
    pub account_id: String,
    /// The SMTP user name (B-9: the access key id).
    pub access_key_id: String,
    /// Region of the listener the credentials were verified for (B-8).
    pub region: String,
}

/// The SMTP envelope of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `MAIL FROM` address, without angle brackets. Never empty on a submission listener
    /// (null senders are refused); empty on the feedback MX for the null reverse-path `<>`
    /// that DSNs and auto-replies use (RFC 5321 §4.5.5, RFC 3834 §3.3).
    pub mail_from: String,
    /// `RCPT TO` addresses in order, at most `max_recipients`.
    pub rcpt_to: Vec<String>,
    /// Client address, for logs and `Received:` headers.
    pub peer: SocketAddr,
    /// Always true on a submission listener (TLS is required before MAIL, Q-57); on the
    /// feedback MX whether the sender used STARTTLS (offered, not required).
    pub tls: bool,
    /// The negotiated TLS version (`TLSv1.3`, `TLSv1.2`), `None` without TLS: the
    /// `ses:source-tls-version` auto tag (G-23).
    pub tls_version: Option<String>,
}

/// The credential check could not be completed (store unavailable, …) → `454 Temporary
/// authentication failure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("temporary authentication failure: {0}")]
pub struct TempFailure(pub String);

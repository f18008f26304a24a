//! `sesame-smtp`: the SES-compatible SMTP submission server, and the feedback MX. A client
//! configured for SES's SMTP interface (`email-smtp.<region>.amazonaws.com`, STARTTLS on
//! 587/2587/25 or implicit TLS on 465/2465, AUTH PLAIN/LOGIN with the access key id and the
//! SES-derived SMTP password) works against it unchanged: same banner shape, EHLO lists and
//! byte-exact reply texts (spec B-7..B-35, H-69; DECISIONS ..Q-141).
//!
//! Map:
//! - [`server`]: `run(listener, mode, cfg, tls, backend, shutdown)`; one task per connection,
//!   connection cap, graceful shutdown. `run_feedback(listener, cfg, tls, backend, shutdown)`
//!   serves the **feedback MX** with the same machinery in another mode (`session::Service`):
//!   no AUTH, STARTTLS offered when a certificate is configured but never required, the null
//!   reverse-path accepted, RCPT only for VERP addresses the [`FeedbackBackend`] knows (never
//!   a relay), `250` only once the backend has recorded the report (DECISIONS ).
//! - `connection`: strict CRLF framing, 512-octet command lines, pipelined reply batching.
//! - `session`: the command state machine (RSET/NOOP/QUIT/VRFY/HELP inline); one file per verb:
//!   `ehlo` (EHLO/HELO/STARTTLS), `auth`, `mail`, `rcpt`, [`data`] (the smuggling-proof DATA
//!   receiver and the DATA verb).
//! - [`reply`]: every reply's code, enhanced code and exact SES text.
//! - [`tls`]: rustls (ring, TLS 1.2/1.3) from PEM files or a persisted dev certificate.
//! - [`backend`]: the [`SubmissionBackend`] and [`FeedbackBackend`] traits the binary
//!   implements over the engine.
//!
//! The server enforces TLS, AUTH, syntax, recipient count and size; everything that needs the
//! message (identity verification, authorization, quotas, content) is the backend's, at end of
//! DATA, and `250 Ok <MessageId>` is sent only after the backend says the message is
//! durable.

pub mod backend;
pub mod config;
pub mod data;
pub mod reply;
pub mod server;
pub mod tls;

mod auth;
mod connection;
mod ehlo;
mod mail;
mod rcpt;
mod session;

pub use backend::{Envelope, FeedbackBackend, Principal, SubmissionBackend, TempFailure};
pub use config::{ListenerMode, SmtpConfig, FEEDBACK_MAX_MESSAGE_BYTES};
pub use reply::Reply;
pub use server::{run, run_feedback};
pub use tls::{dev_self_signed, load_tls, TlsError, TlsSetup};

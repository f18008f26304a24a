//! The outbound MTA: delivers [`sesame_model::DeliveryJob`]s to the recipients' MX hosts.
//!
//! An adapter: it depends on `sesame-model` only and reports facts (SMTP replies, or why there
//! was none); the engine turns them into events, retries and bounces.
//!
//! - `resolve`: MX routing on hickory-resolver (RFC 5321 §5.1 implicit MX, RFC 7505 null MX),
//!   [`Route`] with the destination key that pools connections per MX set.
//! - `reply`: strict SMTP reply parser and EHLO capabilities (sans-I/O).
//! - `data`: dot-stuffing and MAIL FROM parameters (SIZE, 8BITMIME, SMTPUTF8), pure.
//! - `client`: one connection: connect from a source address, greeting, EHLO/HELO, STARTTLS
//!   (`tls`: no certificate validation, Q-111), RFC 5321 §4.5.3.2 [`Timeouts`].
//! - `transaction`: MAIL/RCPT (PIPELINING)/DATA or RSET on a session, per-recipient results.
//! - `pool`: per-destination connection limit, idle connection reuse and expiry.
//! - `helo`: Q-73 HELO names per source address.
//! - `transport`: [`SmtpTransport`], the `sesame_model::Transport` implementation.

mod client;
mod data;
mod helo;
mod pool;
mod reply;
mod resolve;
mod tls;
mod transaction;
mod transport;

pub use client::{ConnectParams, OpenError, Session, Timeouts};
pub use helo::helo_name;
pub use reply::{Capabilities, Reply};
pub use resolve::{DnsOptions, MxHost, MxResolver, Route};
pub use transaction::{Abort, Outcome};
pub use transport::{MtaConfig, SmtpTransport};

//! The send pipeline — Sesame's one way in (STYLE: Postfix `cleanup`). Every message, whatever
//! surface it came from (v2 `SendEmail`/`SendBulkEmail`, v1 `SendEmail`/`SendRawEmail`/
//! `SendTemplatedEmail`/`SendBulkTemplatedEmail`, SMTP), goes through [`Engine::send`]:
//!
//! 1. resolve the configuration set and the envelope;
//! 2. check, before anything is stored: address syntax and count, sender
//!    identities verified (Q-126, text Q-22), sandbox recipients, pauses,
//!    content rules (B-52, B-60, B-65, B-67; Q-21) and size;
//! 3. list management (F-177..F-180): the named contact list must exist and missing contacts
//!    are created ([`crate::contacts::sending`]);
//! 4. assign the MessageId and Date (B-62, B-63, Q-146) and strip the `X-SES-*` controls; a
//!    single-recipient list-managed message gets its unsubscribe header fields and footer URL
//!    (F-188..F-191), before it is stored, so delivery signs the final bytes;
//! 5. make it durable: body into the spool (fsync, group commit), then queue row + quota
//!    reservation + `Send` event in one store transaction — only then return.
//!
//! Failures are [`SendError`]s; each edge (v1, v2, SMTP) maps them to its wire error.

mod checks;
pub mod events;
pub(crate) mod hot;
mod pipeline;
mod types;

pub use checks::{check_identity_arn, resolve_configuration_set, SenderCheck};
pub use pipeline::{Accepted, Content, SendRequest, SimpleContent, MAX_RECIPIENTS};
pub use types::*;

//! `sesame-mail`: rules about mail as pure functions (no sockets, no files).
//!
//! - [`dkim`]: DKIM key generation, Easy DKIM tokens and the DNS record text (spec D, RFC 6376).
//!   Signing, MIME building/parsing, VERP and DSN/ARF parsing arrive with the sending issue.

pub mod dkim;
pub mod message;

//! `sesame-mail`: rules about mail as pure functions (no sockets, no files, no clock).
//!
//! - [`message`]: build v2 Simple messages (mail-builder), inspect raw messages (mail-parser),
//!   the SES content rules (spec B-44..B-67; DECISIONS) with
//!   SES's error texts, and `finalize` (Date/Message-ID/X-SES-*, Q-113, Q-146).
//! - [`dkim`]: DKIM keys and Easy DKIM tokens (spec D), and signing with `c=relaxed/simple`
//!   (D-89, D-90, Q-96), proven against dkimpy in the tests.
//!
//! The send pipeline's order is: `inspect` → `validate_raw` → `finalize` → (tracking,
//! list-unsubscribe) → `dkim::sign` last.
//! - [`tracking`]: open pixel and click-link rewriting of HTML parts (G-62..G-69, Q-97,
//!   Q-229..Q-234), with the URLs signed by the caller.
//! - [`list_unsubscribe`]: the `List-Unsubscribe`/`List-Unsubscribe-Post` fields and the
//!   `{{amazonSESUnsubscribeUrl}}` footer of list-managed mail (F-181..F-193, Q-200).
//! - [`rewrite`]: the MIME walker both use — decode an inline part, edit it, re-encode it,
//!   every other byte as it was.
//! - [`verp`]: the VERP envelope sender `<message_id>@<mail_from_domain>` and its parsing.
//! - [`feedback`]: what comes back to that address — DSNs (RFC 3464), ARF complaints
//!   (RFC 5965), auto-replies (RFC 3834) — parsed into plain values.

pub mod dkim;
pub mod feedback;
pub mod list_unsubscribe;
pub mod message;
pub mod rewrite;
pub mod tracking;
pub mod verp;

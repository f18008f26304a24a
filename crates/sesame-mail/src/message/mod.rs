//! Messages: build (v2 Simple content), inspect and validate raw messages, finalize before
//! signing (spec B-40..B-68; DECISIONS ..Q-116, Q-128,
//!

pub(crate) mod build;
mod finalize;
mod inspect;
mod reject;
mod split;
mod summary;
mod validate;

pub use build::{build_simple, Attachment, Disposition, SimpleMessage, Text, TransferEncoding};
pub use finalize::{finalize, new_message_id};
pub use inspect::{
    contains_eicar, inspect, parse_message_tags, Inspected, Mailbox, SesHeaders, EICAR, EICAR_NAME,
    SES_CONTROL_HEADERS,
};
pub use reject::{Rejection, WireError};
pub use split::{split, to_crlf, Field, Split, SplitError};
pub use summary::{summary, Summary};
pub use validate::{
    blocked_extension, blocked_extensions, validate_address, validate_custom_headers, validate_raw,
    AddressError, Limits, FORBIDDEN_CUSTOM_HEADERS, MAX_CUSTOM_HEADERS, SINGLE_OCCURRENCE_HEADERS,
};

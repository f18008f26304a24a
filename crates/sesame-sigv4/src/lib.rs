//! sesame-sigv4 owns Sesame's credential cryptography, as pure functions (no I/O, no clock):
//! [`sigv4`] verifies AWS Signature Version 4 on incoming API requests (header and presigned
//! query forms) and signs outgoing ones; [`smtp_password`] derives and checks SES SMTP
//! passwords from secret access keys (B-7..B-12); [`secrets`] seals secret access keys at rest
//! under the instance master key and generates new credentials. Callers look keys up and
//! pass "now" in; this crate never touches storage or the system clock.

pub mod secrets;
pub mod sigv4;
pub mod smtp_password;

pub use secrets::{
    generate_access_key_id, generate_key, generate_secret_access_key, hmac_sha256,
    is_valid_access_key_id, is_valid_secret, SealError, SecretBox,
};
pub use sigv4::{
    canonical_request, parse, sign, unknown_key_error, verify, Credential, ParsedSignature,
    Request, SigV4Error,
};
pub use smtp_password::{derive_smtp_password, verify_smtp_password};

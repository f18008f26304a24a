//! DKIM (RFC 6376): keys for Easy DKIM and BYODKIM (spec D-21, D-70..D-81; DECISIONS
//! Q-92..Q-95) and signing with `c=relaxed/simple` (D-89, D-90, Q-96).

mod canonicalize;
mod keygen;
mod sign;

pub use canonicalize::{relaxed_header, simple_body};
pub use keygen::{
    easy_dkim_token, generate_key, public_key_from_private_base64, txt_record, DkimKey, KeyError,
    KeyLength,
};
pub use sign::{sign, sign_with, SignError, SigningKey, SIGNED_HEADERS};

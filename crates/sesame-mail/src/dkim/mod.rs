//! DKIM keys for Easy DKIM and BYODKIM (spec D-21, D-70..D-81; DECISIONS Q-92..Q-95).

mod keygen;

pub use keygen::{
    easy_dkim_token, generate_key, public_key_from_private_base64, txt_record, DkimKey, KeyError,
    KeyLength,
};

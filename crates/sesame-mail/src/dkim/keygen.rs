//! RSA key generation and parsing for DKIM, and Easy DKIM tokens.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

/// The two key lengths SES offers (`DkimSigningKeyLength`: `RSA_1024_BIT`, `RSA_2048_BIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLength {
    Rsa1024,
    Rsa2048,
}

impl KeyLength {
    pub fn bits(self) -> usize {
        match self {
            KeyLength::Rsa1024 => 1024,
            KeyLength::Rsa2048 => 2048,
        }
    }

    /// The model's enum value (`DkimSigningKeyLength`).
    pub fn wire_name(self) -> &'static str {
        match self {
            KeyLength::Rsa1024 => "RSA_1024_BIT",
            KeyLength::Rsa2048 => "RSA_2048_BIT",
        }
    }

    pub fn from_wire(s: &str) -> Option<KeyLength> {
        match s {
            "RSA_1024_BIT" => Some(KeyLength::Rsa1024),
            "RSA_2048_BIT" => Some(KeyLength::Rsa2048),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the private key is not valid base64")]
    Base64,
    #[error("the private key is neither a PKCS#1 nor a PKCS#8 RSA key")]
    Format,
    #[error("the private key has {0} bits; it must be between 1024 and 2048 bits")]
    Length(usize),
    #[error("key generation failed: {0}")]
    Generate(String),
}

/// A generated or imported DKIM key pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkimKey {
    /// PKCS#8 DER of the private key, base64 (no PEM lines). Encrypt before storing.
    pub private_pkcs8_b64: String,
    /// SubjectPublicKeyInfo DER, base64: the `p=` value of the DKIM TXT record (RFC 6376 §3.6.1).
    pub public_b64: String,
    pub bits: usize,
}

/// Generates an RSA key of the given length (D-21: 2048 by default, 1024 on request).
pub fn generate_key(length: KeyLength) -> Result<DkimKey, KeyError> {
    let mut rng = rand::rngs::OsRng;
    let key = RsaPrivateKey::new(&mut rng, length.bits())
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    to_dkim_key(&key)
}

fn to_dkim_key(key: &RsaPrivateKey) -> Result<DkimKey, KeyError> {
    let private = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let public = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(DkimKey {
        private_pkcs8_b64: B64.encode(private.as_bytes()),
        public_b64: B64.encode(public.as_bytes()),
        bits: key.size() * 8,
    })
}

/// Parses a BYODKIM private key (Q-95: base64 body of a PKCS#1 or PKCS#8 RSA key, 1024–2048
/// bits) and returns the normalised key pair.
pub fn public_key_from_private_base64(b64: &str) -> Result<DkimKey, KeyError> {
    let der = B64.decode(b64.trim()).map_err(|_| KeyError::Base64)?;
    let key = RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|_| KeyError::Format)?;
    let bits = key.size() * 8;
    if !(1024..=2048).contains(&bits) {
        return Err(KeyError::Length(bits));
    }
    to_dkim_key(&key)
}

/// An Easy DKIM token: 32 characters of lowercase base32 `[a-z2-7]`.
pub fn easy_dkim_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rngs::OsRng;
    (0..32)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The DKIM TXT record value for a public key (RFC 6376 §3.6.1).
pub fn txt_record(public_b64: &str) -> String {
    format!("v=DKIM1; k=rsa; p={public_b64}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_requested_length_and_round_trip() {
        for len in [KeyLength::Rsa1024, KeyLength::Rsa2048] {
            let k = generate_key(len).unwrap();
            assert_eq!(k.bits, len.bits());
            let again = public_key_from_private_base64(&k.private_pkcs8_b64).unwrap();
            assert_eq!(again, k);
            assert!(txt_record(&k.public_b64).starts_with("v=DKIM1; k=rsa; p=MI"));
        }
    }

    /// PKCS#1 is accepted too; garbage is rejected with a reason.
    #[test]
    fn byodkim_key_parsing() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let pkcs1 = B64.encode(key.to_pkcs1_der().unwrap().as_bytes());
        assert_eq!(public_key_from_private_base64(&pkcs1).unwrap().bits, 1024);
        assert_eq!(
            public_key_from_private_base64("!!!").unwrap_err(),
            KeyError::Base64
        );
        assert_eq!(
            public_key_from_private_base64("AAAA").unwrap_err(),
            KeyError::Format
        );
        let small = RsaPrivateKey::new(&mut rand::rngs::OsRng, 512).unwrap();
        let small = B64.encode(small.to_pkcs8_der().unwrap().as_bytes());
        assert_eq!(
            public_key_from_private_base64(&small).unwrap_err(),
            KeyError::Length(512)
        );
    }

    #[test]
    fn tokens_are_32_base32_chars() {
        let t = easy_dkim_token();
        assert_eq!(t.len(), 32);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
        assert_ne!(t, easy_dkim_token());
    }
}

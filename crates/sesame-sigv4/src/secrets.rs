//! Secrets at rest and credential generation. Secret access keys are *encrypted* with
//! the instance master key, not hashed, because SigV4 and the SMTP password derivation need the
//! plaintext. This module is the one place that holds that key (STYLE principle 10).
//!
//! Sealed format: `nonce (12 random bytes) ‖ ChaCha20-Poly1305 ciphertext ‖ tag (16)`. The AAD
//! is the access key id, so a sealed secret copied onto another key's row does not open.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Why a sealed value did not open. Deliberately uninformative beyond "too short" vs "not
/// authentic": wrong key, wrong AAD and tampering are indistinguishable by design.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed value is too short")]
    Truncated,
    #[error("sealed value failed authentication (wrong key, wrong aad or tampered)")]
    Invalid,
}

/// Seals and opens secrets under the instance master key.
pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    /// Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(ChaCha20-Poly1305, key redacted)")
    }
}

fn fill(rng: &SystemRandom, buf: &mut [u8]) {
    // The OS RNG failing leaves no safe way to continue (we would mint weak keys/nonces).
    rng.fill(buf)
        .expect("system random number generator failed");
}

/// A fresh 32-byte master key from the OS RNG.
pub fn generate_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    fill(&SystemRandom::new(), &mut k);
    k
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key)
            .expect("ChaCha20-Poly1305 takes exactly 32-byte keys");
        SecretBox {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    /// Encrypts `plaintext` bound to `aad` (the access key id) under a random nonce. Random
    /// 96-bit nonces are safe far beyond the number of secrets one instance will ever seal.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        fill(&self.rng, &mut nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + aead::MAX_TAG_LEN);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .expect("sealing a secret cannot exceed ChaCha20-Poly1305 limits");
        out.extend_from_slice(&body);
        out
    }

    /// Decrypts and authenticates a value from [`SecretBox::seal`] with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
            return Err(SealError::Truncated);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Truncated)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| SealError::Invalid)?;
        Ok(plain.to_vec())
    }
}

/// HMAC-SHA256 (also used to sign pagination tokens).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// `n` characters drawn uniformly from `alphabet`, whose length must divide 256 (so masking a
/// random byte has no modulo bias).
fn random_chars(alphabet: &[u8], n: usize) -> String {
    debug_assert!(alphabet.len().is_power_of_two() && alphabet.len() <= 256);
    let mut bytes = vec![0u8; n];
    fill(&SystemRandom::new(), &mut bytes);
    let mask = alphabet.len() - 1;
    bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) & mask] as char)
        .collect()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// 20 characters, `AKIA` + 16 of `[A-Z2-7]` (80 random bits), like IAM's long-term keys.
pub fn generate_access_key_id() -> String {
    format!("AKIA{}", random_chars(BASE32, 16))
}

/// 40 characters of `[A-Za-z0-9+/]` (240 random bits), like IAM's secret keys.
pub fn generate_secret_access_key() -> String {
    random_chars(BASE64, 40)
}

/// IAM `AccessKeyId` shape: 16..=128 characters of `\w`; we accept `[A-Za-z0-9]` (no `_`,
/// which no AWS key contains and which would complicate scopes).
pub fn is_valid_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A secret we can sign with: 1..=128 printable ASCII characters (space excluded, since
/// credential files and headers trim it).
pub fn is_valid_secret(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AKID: &[u8] = b"AKIAIOSFODNN7EXAMPLE";

    #[test]
    fn seal_round_trips() {
        let b = SecretBox::new(generate_key());
        for plain in [
            &b""[..],
            b"x",
            b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            &[0u8; 1000],
        ] {
            let sealed = b.seal(plain, AKID);
            assert_eq!(sealed.len(), 12 + plain.len() + 16);
            assert_eq!(b.open(&sealed, AKID).unwrap(), plain);
        }
        // Fresh nonce each time.
        assert_ne!(b.seal(b"same", AKID), b.seal(b"same", AKID));
    }

    #[test]
    fn tampering_wrong_aad_and_wrong_key_fail() {
        let key = generate_key();
        let b = SecretBox::new(key);
        let sealed = b.seal(b"secret", AKID);
        let mut other_key = key;
        other_key[0] ^= 1;
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x80;
            assert_eq!(b.open(&t, AKID), Err(SealError::Invalid), "byte {i}");
        }
        for (sealed, aad, expected) in [
            (
                sealed.clone(),
                &b"AKIAOTHERKEY00000000"[..],
                SealError::Invalid,
            ),
            (sealed.clone(), &b""[..], SealError::Invalid),
            (sealed[..27].to_vec(), AKID, SealError::Truncated),
            (Vec::new(), AKID, SealError::Truncated),
            (
                sealed[..sealed.len() - 1].to_vec(),
                AKID,
                SealError::Invalid,
            ),
        ] {
            assert_eq!(b.open(&sealed, aad), Err(expected));
        }
        assert_eq!(
            SecretBox::new(other_key).open(&sealed, AKID),
            Err(SealError::Invalid)
        );
    }

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_sha256_rfc4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn generated_credentials_have_the_iam_shape() {
        for _ in 0..50 {
            let id = generate_access_key_id();
            assert_eq!(id.len(), 20);
            assert!(id.starts_with("AKIA"));
            assert!(id[4..].bytes().all(|b| BASE32.contains(&b)), "{id}");
            assert!(is_valid_access_key_id(&id));
            let s = generate_secret_access_key();
            assert_eq!(s.len(), 40);
            assert!(s.bytes().all(|b| BASE64.contains(&b)), "{s}");
            assert!(is_valid_secret(&s));
        }
        assert_ne!(generate_access_key_id(), generate_access_key_id());
    }

    #[test]
    fn access_key_id_validation() {
        for (s, ok) in [
            ("AKIAIOSFODNN7EXAMPLE", true),
            ("AKIDEXAMPLE0000a", true),
            ("AKIDEXAMPLE", false),
            ("AKIAIOSFODNN7EXAMPL_", false),
            ("AKIAIOSFODNN7EXAMPL/", false),
            ("AKIAIOSFODNN7EXAMPLÉ", false),
            (&"A".repeat(128), true),
            (&"A".repeat(129), false),
        ] {
            assert_eq!(is_valid_access_key_id(s), ok, "{s}");
        }
    }

    #[test]
    fn secret_validation() {
        for (s, ok) in [
            ("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", true),
            ("", false),
            ("a b", false),
            ("tab\t", false),
            ("é", false),
            (&"x".repeat(128), true),
            (&"x".repeat(129), false),
        ] {
            assert_eq!(is_valid_secret(s), ok, "{s}");
        }
    }
}

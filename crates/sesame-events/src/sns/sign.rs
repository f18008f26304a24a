//! SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256) signatures of SNS canonical strings:
//! `SignatureVersion` `2`. Version `1` (SHA1withRSA) is not produced (see docs/sns.md).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("the signature is not valid base64")]
    Base64,
    #[error("the signature does not match")]
    Mismatch,
}

pub use rsa::RsaPrivateKey as PrivateKey;

/// Parses a PKCS#8 DER RSA private key (the stored signing key).
pub fn private_key_from_pkcs8(der: &[u8]) -> Result<RsaPrivateKey, SignError> {
    use rsa::pkcs8::DecodePrivateKey;
    RsaPrivateKey::from_pkcs8_der(der).map_err(|e| SignError::Sign(e.to_string()))
}

/// Base64 of the SHA256withRSA signature of `canonical` (see [`super::canonical_string`]).
pub fn sign(canonical: &str, key: &RsaPrivateKey) -> Result<String, SignError> {
    let signer = SigningKey::<Sha256>::new(key.clone());
    let sig = signer
        .try_sign(canonical.as_bytes())
        .map_err(|e| SignError::Sign(e.to_string()))?;
    Ok(B64.encode(sig.to_bytes()))
}

/// Checks a base64 `signature` of `canonical`.
pub fn verify(canonical: &str, signature: &str, key: &RsaPublicKey) -> Result<(), SignError> {
    let raw = B64.decode(signature).map_err(|_| SignError::Base64)?;
    let sig = Signature::try_from(raw.as_slice()).map_err(|_| SignError::Mismatch)?;
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(canonical.as_bytes(), &sig)
        .map_err(|_| SignError::Mismatch)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;

    /// A fixed 2048-bit key (ring, which builds the certificate, refuses smaller ones) so tests need no key generation.
    pub(crate) fn test_key() -> RsaPrivateKey {
        RsaPrivateKey::from_pkcs8_pem(include_str!("../../testdata/sns/test-key.pem")).unwrap()
    }

    /// PKCS#1 v1.5 signatures are deterministic: a fixed key and string give a fixed value,
    /// here checked against `openssl dgst -sha256 -sign testdata/sns/test-key.pem`.
    #[test]
    fn signature_matches_openssl() {
        let got = sign("Message\nhi\n", &test_key()).unwrap();
        assert_eq!(
            got,
            include_str!("../../testdata/sns/openssl-sig.b64").trim(),
            "SHA256withRSA of a known string"
        );
    }

    #[test]
    fn verify_rejects_garbage() {
        let k = test_key().to_public_key();
        assert_eq!(verify("x", "%%%", &k), Err(SignError::Base64));
        assert_eq!(verify("x", "AAAA", &k), Err(SignError::Mismatch));
    }
}

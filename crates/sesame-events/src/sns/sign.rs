//! RSASSA-PKCS1-v1_5 signatures of SNS canonical strings: `SignatureVersion` `2` is
//! SHA256withRSA, `1` is SHA1withRSA (SNS's original scheme, still its default; Sesame signs
//! with `2` unless a topic asks for `1`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
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

/// `SignatureVersion`: which digest signs the canonical string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `1`: SHA1withRSA.
    V1,
    /// `2`: SHA256withRSA.
    V2,
}

impl SignatureVersion {
    /// The wire value (`"1"`, `"2"`), as in the envelope and the topic attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureVersion::V1 => "1",
            SignatureVersion::V2 => "2",
        }
    }

    pub fn parse(s: &str) -> Option<SignatureVersion> {
        match s {
            "1" => Some(SignatureVersion::V1),
            "2" => Some(SignatureVersion::V2),
            _ => None,
        }
    }
}

/// Base64 of the SHA256withRSA signature of `canonical` (see [`super::canonical_string`]).
pub fn sign(canonical: &str, key: &RsaPrivateKey) -> Result<String, SignError> {
    sign_with(SignatureVersion::V2, canonical, key)
}

/// Base64 of the signature of `canonical` for `version`.
pub fn sign_with(
    version: SignatureVersion,
    canonical: &str,
    key: &RsaPrivateKey,
) -> Result<String, SignError> {
    let e = |x: rsa::signature::Error| SignError::Sign(x.to_string());
    let bytes = match version {
        SignatureVersion::V2 => SigningKey::<Sha256>::new(key.clone())
            .try_sign(canonical.as_bytes())
            .map_err(e)?
            .to_bytes(),
        SignatureVersion::V1 => SigningKey::<Sha1>::new(key.clone())
            .try_sign(canonical.as_bytes())
            .map_err(e)?
            .to_bytes(),
    };
    Ok(B64.encode(bytes))
}

/// Checks a base64 SHA256withRSA `signature` of `canonical`.
pub fn verify(canonical: &str, signature: &str, key: &RsaPublicKey) -> Result<(), SignError> {
    verify_with(SignatureVersion::V2, canonical, signature, key)
}

/// Checks a base64 `signature` of `canonical` for `version`.
pub fn verify_with(
    version: SignatureVersion,
    canonical: &str,
    signature: &str,
    key: &RsaPublicKey,
) -> Result<(), SignError> {
    let raw = B64.decode(signature).map_err(|_| SignError::Base64)?;
    let sig = Signature::try_from(raw.as_slice()).map_err(|_| SignError::Mismatch)?;
    let ok = match version {
        SignatureVersion::V2 => {
            VerifyingKey::<Sha256>::new(key.clone()).verify(canonical.as_bytes(), &sig)
        }
        SignatureVersion::V1 => {
            VerifyingKey::<Sha1>::new(key.clone()).verify(canonical.as_bytes(), &sig)
        }
    };
    ok.map_err(|_| SignError::Mismatch)
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

    /// Version 1: SHA1withRSA, checked against `openssl dgst -sha1 -sign`.
    #[test]
    fn version_1_signature_matches_openssl() {
        let key = test_key();
        let got = sign_with(SignatureVersion::V1, "Message\nhi\n", &key).unwrap();
        assert_eq!(
            got,
            include_str!("../../testdata/sns/openssl-sig-sha1.b64").trim()
        );
        let public = key.to_public_key();
        verify_with(SignatureVersion::V1, "Message\nhi\n", &got, &public).unwrap();
        // A version-1 signature is not a version-2 one.
        assert!(verify("Message\nhi\n", &got, &public).is_err());
    }

    #[test]
    fn verify_rejects_garbage() {
        let k = test_key().to_public_key();
        assert_eq!(verify("x", "%%%", &k), Err(SignError::Base64));
        assert_eq!(verify("x", "AAAA", &k), Err(SignError::Mismatch));
    }
}

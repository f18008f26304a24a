//! SES SMTP passwords (spec B-7..B-12): derived from a secret access key and a region, so the
//! SMTP server checks a presented password by recomputing it (B-11) — nothing extra is stored.
//! The username is the access key id (B-9); region scoping (B-8) falls out of the derivation.

use base64::Engine as _;
use ring::hmac;

/// B-10 constants; these must never change or every issued SMTP password breaks.
const DATE: &str = "11111111";
const SERVICE: &str = "ses";
const TERMINAL: &str = "aws4_request";
const MESSAGE: &str = "SendRawEmail";
const VERSION: u8 = 0x04;

fn hmac(key: &[u8], data: &str) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
}

/// B-10: `Base64(0x04 ‖ HMAC chain("AWS4"+secret; 11111111, region, ses, aws4_request,
/// SendRawEmail))`, standard alphabet with padding — always 44 characters starting with `B`
/// (B-11).
pub fn derive_smtp_password(secret_access_key: &str, region: &str) -> String {
    let mut key = hmac(format!("AWS4{secret_access_key}").as_bytes(), DATE);
    for data in [region, SERVICE, TERMINAL, MESSAGE] {
        key = hmac(key.as_ref(), data);
    }
    let mut raw = Vec::with_capacity(33);
    raw.push(VERSION);
    raw.extend_from_slice(key.as_ref());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// B-11: recompute for the server's region and compare in constant time. An API secret key
/// presented as the password fails (B-7): it is never equal to its own derivation.
pub fn verify_smtp_password(secret_access_key: &str, region: &str, candidate: &str) -> bool {
    let expected = derive_smtp_password(secret_access_key, region);
    // Both sides are HMAC'd under a fresh key so the comparison time depends on neither the
    // length nor the content of `candidate` (ring's constant-time equality is deprecated).
    let rng = ring::rand::SystemRandom::new();
    let Ok(k) = hmac::Key::generate(hmac::HMAC_SHA256, &rng) else {
        return false;
    };
    let tag = hmac::sign(&k, expected.as_bytes());
    hmac::verify(&k, candidate.as_bytes(), tag.as_ref()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// B-12 secret (note the case: `wJalr…/bPxRfi…`, see Y-2).
    const B12_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    /// B-12 normative vectors.
    #[test]
    fn b12_vectors() {
        for (region, expected) in [
            ("us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"),
            ("us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"),
            ("eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"),
        ] {
            assert_eq!(
                derive_smtp_password(B12_SECRET, region),
                expected,
                "{region}"
            );
            assert!(verify_smtp_password(B12_SECRET, region, expected));
        }
    }

    /// B-11 invariants over several secrets and regions.
    #[test]
    fn b11_invariants() {
        for (secret, region) in [
            (B12_SECRET, "us-east-1"),
            ("", "us-east-1"),
            ("x", "ap-southeast-2"),
            ("wJaLrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "sa-east-1"),
        ] {
            let p = derive_smtp_password(secret, region);
            assert_eq!(p.len(), 44, "{p}");
            assert!(p.starts_with('B'), "{p}");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&p)
                .unwrap();
            assert_eq!(raw.len(), 33);
            assert_eq!(raw[0], 0x04);
        }
    }

    /// B-7, B-8: wrong region, wrong secret, the API secret itself and near misses all fail.
    #[test]
    fn rejections() {
        let good = derive_smtp_password(B12_SECRET, "us-east-1");
        for (secret, region, candidate) in [
            (B12_SECRET, "us-west-2", good.as_str()),
            (
                "wJaLrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "us-east-1",
                good.as_str(),
            ),
            (B12_SECRET, "us-east-1", B12_SECRET),
            (B12_SECRET, "us-east-1", ""),
            (B12_SECRET, "us-east-1", &good[..43]),
            (
                B12_SECRET,
                "us-east-1",
                "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL8",
            ),
        ] {
            assert!(
                !verify_smtp_password(secret, region, candidate),
                "{candidate}"
            );
        }
    }
}

//! DKIM key records (RFC 6376 §3.6.1): the `p=` key behind an Easy DKIM CNAME or a BYODKIM
//! TXT, and the length of the RSA key it holds.

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;

/// What a DKIM key record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// `k=` (default `rsa`).
    pub k: String,
    /// `p=` with the spaces removed; empty = revoked key.
    pub p: String,
}

/// Parses the tag list of a DKIM key record; `Err` when it is not one (wrong `v=`, no `p=`).
pub fn parse(txt: &str) -> Result<KeyRecord, String> {
    let mut k = "rsa".to_string();
    let mut p = None;
    for (i, tag) in txt.split(';').enumerate() {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        let Some((name, value)) = tag.split_once('=') else {
            return Err(format!("malformed tag '{tag}'"));
        };
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        match name.trim() {
            "v" if i != 0 || value != "DKIM1" => return Err("v= must be first and DKIM1".into()),
            "k" => k = value.to_ascii_lowercase(),
            "p" => p = Some(value),
            _ => {}
        }
    }
    Ok(KeyRecord {
        k,
        p: p.ok_or("no p= tag")?,
    })
}

/// Bits of the RSA modulus in `p=` (SubjectPublicKeyInfo, or a bare PKCS#1 RSAPublicKey as
/// some signers publish). `Err` for an empty (revoked), non-base64 or non-RSA key.
pub fn rsa_bits(p: &str) -> Result<usize, String> {
    if p.is_empty() {
        return Err("the key is revoked (empty p=)".into());
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(p)
        .map_err(|e| format!("p= is not base64: {e}"))?;
    let key = rsa::RsaPublicKey::from_public_key_der(&der)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_der(&der))
        .map_err(|_| "p= is not an RSA public key".to_string())?;
    Ok(key.n().bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Public keys made with `openssl genrsa N | openssl rsa -pubout -outform DER | base64`.
    const RSA1024: &str = include_str!("../testdata/rsa1024.spki.b64");
    const RSA2048: &str = include_str!("../testdata/rsa2048.spki.b64");

    #[test]
    fn parses_key_records() {
        let r = parse(&format!("v=DKIM1; k=rsa; p={RSA1024}")).unwrap();
        assert_eq!(r.k, "rsa");
        assert_eq!(rsa_bits(&r.p).unwrap(), 1024);
        let r = parse(&format!("v=DKIM1; k=rsa; p={RSA2048}")).unwrap();
        assert_eq!(rsa_bits(&r.p).unwrap(), 2048);
        assert_eq!(parse("p=").unwrap().p, "");
        assert_eq!(parse("v=DKIM1; p=AB CD").unwrap().p, "ABCD");
        assert!(parse("k=rsa; v=DKIM1; p=x").is_err());
        assert!(parse("v=DKIM1; k=rsa").is_err());
        assert!(rsa_bits("").unwrap_err().contains("revoked"));
        assert!(rsa_bits("!!!").is_err());
        assert!(rsa_bits("AAAA").is_err());
    }
}

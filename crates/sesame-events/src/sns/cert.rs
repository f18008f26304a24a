//! The X.509 certificate served at `SigningCertURL` (DECISIONS: host
//! `sns.<region>.<service_domain>`): self-signed over the instance's SNS signing key, so a
//! validator can fetch it, read the public key and check `Signature`. The key and the
//! certificate are generated once per instance and stored (`sesame-engine` `sns::signing`).

use rsa::pkcs8::EncodePrivateKey;
use rsa::RsaPrivateKey;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("certificate generation failed: {0}")]
pub struct CertError(pub String);

/// A PEM certificate for `key`, subject `CN=<hosts[0]>`, SANs `hosts`, valid from one day
/// before `now_unix` for `valid_days`.
pub fn self_signed_pem(
    key: &RsaPrivateKey,
    hosts: &[String],
    now_unix: i64,
    valid_days: i64,
) -> Result<String, CertError> {
    let e = |x: &dyn std::fmt::Display| CertError(x.to_string());
    let pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|x| e(&x))?;
    let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|x| e(&x))?;
    let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(|x| e(&x))?;
    let mut dn = rcgen::DistinguishedName::new();
    if let Some(h) = hosts.first() {
        dn.push(rcgen::DnType::CommonName, h.as_str());
    }
    dn.push(rcgen::DnType::OrganizationName, "Sesame SNS signing");
    params.distinguished_name = dn;
    let start = time::OffsetDateTime::from_unix_timestamp(now_unix - 86_400).map_err(|x| e(&x))?;
    params.not_before = start;
    params.not_after = start + time::Duration::days(valid_days + 1);
    let cert = params.self_signed(&pair).map_err(|x| e(&x))?;
    Ok(cert.pem())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_pem_and_carries_the_host() {
        let key = super::super::sign::tests::test_key();
        let pem = self_signed_pem(
            &key,
            &["sns.us-east-1.example.net".into()],
            1_700_000_000,
            3650,
        )
        .unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        let der = pem::parse(&pem).unwrap();
        // The host name appears in the DER (CN and SAN).
        let needle = b"sns.us-east-1.example.net";
        assert!(der.contents().windows(needle.len()).any(|w| w == needle));
    }
}

//! Self-signed certificates for the peers' STARTTLS (rcgen, ECDSA P-256). The outbound MTA
//! does not validate certificates, so self-signed is what a test needs.

use std::path::{Path, PathBuf};

use crate::PeerError;

/// A certificate and key written as PEM files.
#[derive(Clone, Debug)]
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCert {
    /// Writes `<dir>/tls.crt` and `<dir>/tls.key` for `hostname`.
    pub fn generate(dir: &Path, hostname: &str) -> Result<TestCert, PeerError> {
        let failed = |e: rcgen::Error| PeerError::Failed(format!("certificate: {e}"));
        let mut params =
            rcgen::CertificateParams::new(vec![hostname.to_string()]).map_err(failed)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, hostname);
        let key = rcgen::KeyPair::generate().map_err(failed)?;
        let cert = params.self_signed(&key).map_err(failed)?;
        let out = TestCert {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        };
        let write = |p: &Path, s: String| {
            std::fs::write(p, s).map_err(|e| PeerError::Failed(format!("{}: {e}", p.display())))
        };
        write(&out.cert, cert.pem())?;
        write(&out.key, key.serialize_pem())?;
        Ok(out)
    }
}

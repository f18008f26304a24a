//! TLS for the submission listeners: rustls with the `ring` provider, TLS 1.2 and 1.3 only
//! (B-25, Q-57), from PEM files or a persisted self-signed development certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing PEM in {path}: {message}")]
    Pem { path: String, message: String },
    #[error("no certificate in {0}")]
    NoCertificate(String),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("generating certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The server-side TLS configuration shared by all connections of a listener.
#[derive(Clone)]
pub struct TlsSetup {
    /// TLS 1.2/1.3, ring provider, no client authentication.
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup").finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// Builds the restricted server configuration from a chain and its key.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(TlsSetup {
            config: Arc::new(config),
        })
    }
}

fn pem_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Loads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn load_tls(cert_pem_path: &Path, key_pem_path: &Path) -> Result<TlsSetup, TlsError> {
    let chain = CertificateDer::pem_file_iter(cert_pem_path)
        .map_err(|e| pem_error(cert_pem_path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert_pem_path, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert_pem_path.display().to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(key_pem_path).map_err(|e| pem_error(key_pem_path, e))?;
    TlsSetup::new(chain, key)
}

/// Development TLS: a self-signed certificate for `hostname`, generated on first use and kept as
/// `smtp-cert.pem` / `smtp-key.pem` in `data_dir` so restarts present the same certificate.
pub fn dev_self_signed(data_dir: &Path, hostname: &str) -> Result<TlsSetup, TlsError> {
    let cert_path = data_dir.join("smtp-cert.pem");
    let key_path = data_dir.join("smtp-key.pem");
    if !(cert_path.exists() && key_path.exists()) {
        // B-26: the certificate's CN (and SAN) is the listener host name.
        let mut params = rcgen::CertificateParams::new(vec![hostname.to_string()])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, hostname);
        let key_pair = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key_pair)?;
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| TlsError::Io { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        write_private(&key_path, key_pair.serialize_pem().as_bytes()).map_err(io(&key_path))?;
        write_private(&cert_path, cert.pem().as_bytes()).map_err(io(&cert_path))?;
    }
    load_tls(&cert_path, &key_path)
}

/// Writes via a temporary file and rename so a crash never leaves half a key; mode 0600.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("pem.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_cert_is_persisted_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        dev_self_signed(dir.path(), "email-smtp.us-east-1.example.com").unwrap();
        let first = std::fs::read(dir.path().join("smtp-cert.pem")).unwrap();
        dev_self_signed(dir.path(), "email-smtp.us-east-1.example.com").unwrap();
        let second = std::fs::read(dir.path().join("smtp-cert.pem")).unwrap();
        assert_eq!(first, second);
        assert!(load_tls(
            &dir.path().join("nope.pem"),
            &dir.path().join("smtp-key.pem")
        )
        .is_err());
    }
}

//! A minimal HTTP/1.1 client for webhook-style deliveries: one `POST` per connection
//! (`Connection: close`), `Content-Length` framing, the status code is all that is read. The
//! pure parts (URL → request bytes, status line parsing) are functions tested below.
//!
//! HTTPS verifies the server against the system CA bundle ([`TlsRoots::system`]), as SNS does
//! for `https` subscriptions; userinfo in the URL (`https://user:pass@host/`) becomes Basic
//! authentication, which SNS also supports.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a post did not get a response (a non-2xx response is not an error here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    Url(String),
    Connect(String),
    Tls(String),
    Io(String),
    Timeout,
    BadResponse(String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Url(m) => write!(f, "invalid URL: {m}"),
            PostError::Connect(m) => write!(f, "connection failed: {m}"),
            PostError::Tls(m) => write!(f, "TLS failed: {m}"),
            PostError::Io(m) => write!(f, "I/O error: {m}"),
            PostError::Timeout => write!(f, "timed out"),
            PostError::BadResponse(m) => write!(f, "bad HTTP response: {m}"),
        }
    }
}

/// The TLS client configuration for `https` endpoints.
#[derive(Clone)]
pub struct TlsRoots {
    config: Option<Arc<rustls::ClientConfig>>,
}

/// Where distributions keep their CA bundle.
const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

impl TlsRoots {
    /// The CA bundle named by `SSL_CERT_FILE` (the OpenSSL convention) or else the first
    /// system bundle found; without one, `https` posts fail with a TLS error.
    pub fn system() -> TlsRoots {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore::empty();
        let from_env = std::env::var("SSL_CERT_FILE")
            .ok()
            .filter(|p| !p.is_empty());
        let paths: Vec<String> = match from_env {
            Some(p) => vec![p],
            None => CA_BUNDLES.iter().map(|p| p.to_string()).collect(),
        };
        for path in &paths {
            if let Ok(iter) = CertificateDer::pem_file_iter(path) {
                for c in iter.flatten() {
                    let _ = roots.add(c);
                }
                if !roots.is_empty() {
                    break;
                }
            }
        }
        if roots.is_empty() {
            tracing::warn!(
                "no system CA bundle found: https SNS subscriptions cannot be delivered"
            );
            return TlsRoots { config: None };
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .ok()
            .map(Arc::new);
        TlsRoots { config }
    }
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, never empty.
    pub path: String,
    /// `Authorization` value from the URL's userinfo.
    pub basic_auth: Option<String>,
}

pub fn parse_target(raw: &str) -> Result<Target, PostError> {
    let u = url::Url::parse(raw).map_err(|e| PostError::Url(e.to_string()))?;
    let https = match u.scheme() {
        "http" => false,
        "https" => true,
        s => return Err(PostError::Url(format!("scheme {s}"))),
    };
    let host = u
        .host_str()
        .ok_or_else(|| PostError::Url("no host".into()))?
        .to_string();
    let port = u
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let mut path = u.path().to_string();
    if path.is_empty() {
        path.push('/');
    }
    if let Some(q) = u.query() {
        path.push('?');
        path.push_str(q);
    }
    let basic_auth = (!u.username().is_empty()).then(|| {
        let user = url_decode(u.username());
        let pass = url_decode(u.password().unwrap_or(""));
        format!("Basic {}", B64.encode(format!("{user}:{pass}")))
    });
    Ok(Target {
        https,
        host,
        port,
        path,
        basic_auth,
    })
}

fn url_decode(s: &str) -> String {
    url::form_urlencoded::parse(s.replace('+', "%2B").as_bytes())
        .map(|(k, _)| k.into_owned())
        .next()
        .unwrap_or_default()
}

/// The request bytes.
pub fn request_bytes(t: &Target, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let host_header = match (t.https, t.port) {
        (false, 80) | (true, 443) => t.host.clone(),
        _ if t.host.contains(':') => format!("[{}]:{}", t.host, t.port),
        _ => format!("{}:{}", t.host, t.port),
    };
    let mut out = format!("POST {} HTTP/1.1\r\nHost: {host_header}\r\n", t.path);
    for (k, v) in headers {
        if !k.contains(['\r', '\n']) && !v.contains(['\r', '\n']) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if let Some(a) = &t.basic_auth {
        out.push_str(&format!("Authorization: {a}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The status code of a response that starts with `buf`, once its status line is complete.
pub fn parse_status(buf: &[u8]) -> Option<Result<u16, PostError>> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[..end]);
    let mut parts = line.split(' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Some(Err(PostError::BadResponse(line.into_owned())));
    }
    Some(
        code.parse::<u16>()
            .map_err(|_| PostError::BadResponse(line.into_owned())),
    )
}

/// Posts `body` to `url` and returns the response status.
pub async fn post(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    tls: &TlsRoots,
    timeout: Duration,
) -> Result<u16, PostError> {
    let t = parse_target(url)?;
    tokio::time::timeout(timeout, post_inner(&t, headers, body, tls))
        .await
        .map_err(|_| PostError::Timeout)?
}

async fn post_inner(
    t: &Target,
    headers: &[(String, String)],
    body: &[u8],
    tls: &TlsRoots,
) -> Result<u16, PostError> {
    let tcp = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| PostError::Connect(e.to_string()))?;
    let req = request_bytes(t, headers, body);
    if !t.https {
        return exchange(tcp, &req).await;
    }
    let config = tls
        .config
        .clone()
        .ok_or_else(|| PostError::Tls("no trusted CA certificates".into()))?;
    let name = ServerName::try_from(t.host.clone()).map_err(|e| PostError::Tls(e.to_string()))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| PostError::Tls(e.to_string()))?;
    exchange(stream, &req).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
) -> Result<u16, PostError> {
    s.write_all(req)
        .await
        .map_err(|e| PostError::Io(e.to_string()))?;
    s.flush().await.map_err(|e| PostError::Io(e.to_string()))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(status) = parse_status(&buf) {
            return status;
        }
        if buf.len() > 8192 {
            return Err(PostError::BadResponse("status line too long".into()));
        }
        let n = s
            .read(&mut chunk)
            .await
            .map_err(|e| PostError::Io(e.to_string()))?;
        if n == 0 {
            return Err(PostError::BadResponse(
                "connection closed before a status line".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let table = [
            (
                "http://127.0.0.1:8080/hook?a=1",
                false,
                "127.0.0.1",
                8080,
                "/hook?a=1",
                None,
            ),
            ("https://example.net", true, "example.net", 443, "/", None),
            (
                "https://user:p%40ss@example.net/x",
                true,
                "example.net",
                443,
                "/x",
                Some("Basic dXNlcjpwQHNz"),
            ),
        ];
        for (url, https, host, port, path, auth) in table {
            let t = parse_target(url).unwrap();
            assert_eq!(
                (
                    t.https,
                    t.host.as_str(),
                    t.port,
                    t.path.as_str(),
                    t.basic_auth.as_deref()
                ),
                (https, host, port, path, auth),
                "{url}"
            );
        }
        assert!(parse_target("ftp://x/").is_err());
    }

    #[test]
    fn request_has_framing_and_headers() {
        let t = parse_target("http://127.0.0.1:9/p").unwrap();
        let r = request_bytes(
            &t,
            &[("x-amz-sns-message-type".into(), "Notification".into())],
            b"{}",
        );
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "POST /p HTTP/1.1\r\nHost: 127.0.0.1:9\r\nx-amz-sns-message-type: Notification\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(Ok(204)));
        assert_eq!(parse_status(b"HTTP/1.0 500 x\r\n"), Some(Ok(500)));
        assert_eq!(parse_status(b"HTTP/1.1 20"), None);
        assert!(matches!(parse_status(b"garbage\r\n"), Some(Err(_))));
    }
}

//! One SMTP client connection: greeting, EHLO, STARTTLS (or implicit TLS), AUTH, and mail
//! transactions, optionally pipelined (RFC 2920).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::args::{Args, AuthMech, TlsMode};

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A reply: its code and its text lines (without the code), joined by `\n`.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text.replace('\n', " / "))
    }
}

/// Why a connection could not be set up; `Auth` ends the whole run (retrying cannot help).
#[derive(Debug)]
pub enum SetupError {
    Auth(Reply),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for SetupError {
    fn from(e: anyhow::Error) -> Self {
        SetupError::Other(e)
    }
}

/// A transaction's connection failed; `data_sent` says whether any message data had gone out.
#[derive(Debug)]
pub struct TxError {
    pub data_sent: bool,
    pub err: anyhow::Error,
}

/// Where a transaction was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// At MAIL, RCPT or DATA: no message data was sent.
    Envelope,
    /// After the message data.
    Data,
}

/// The outcome of one mail transaction that did not fail on I/O.
pub enum Outcome {
    Accepted,
    Refused(Stage, Reply),
}

/// Accepts any server certificate (loopback benchmark), but still checks the handshake
/// signatures so that the TLS work done is the real work.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

pub fn tls_connector() -> Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Static per-run settings shared by every connection.
pub struct Client {
    pub args: Args,
    pub tls: TlsConnector,
    pub server_name: ServerName<'static>,
    /// `MAIL FROM` + `RCPT TO` + `DATA` lines, ready to write.
    envelope: Vec<u8>,
}

impl Client {
    pub fn new(args: Args) -> Result<Self> {
        let host = match args.server.rsplit_once(':') {
            Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']').to_string(),
            None => bail!("--server must be HOST:PORT, got {}", args.server),
        };
        let server_name = ServerName::try_from(host)
            .map_err(|e| anyhow!("server name for TLS: {e}"))?
            .to_owned();
        let envelope = format!(
            "MAIL FROM:<{}>\r\nRCPT TO:<{}>\r\nDATA\r\n",
            args.from, args.to
        )
        .into_bytes();
        Ok(Client {
            tls: tls_connector()?,
            server_name,
            envelope,
            args,
        })
    }
}

pub struct Session {
    io: BufReader<Box<dyn Io>>,
    line: Vec<u8>,
    timeout: Duration,
    pub pipelining: bool,
}

async fn read_reply<S: tokio::io::AsyncBufRead + Unpin>(
    io: &mut S,
    line: &mut Vec<u8>,
    timeout: Duration,
) -> Result<Reply> {
    let mut text = String::new();
    loop {
        line.clear();
        let n = tokio::time::timeout(timeout, io.read_until(b'\n', line))
            .await
            .map_err(|_| anyhow!("timed out waiting for a reply"))??;
        if n == 0 {
            bail!("connection closed by the server");
        }
        let l = std::str::from_utf8(line)
            .map_err(|_| anyhow!("reply is not UTF-8"))?
            .trim_end_matches(['\r', '\n']);
        if l.len() < 3 || !l.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
            bail!("malformed reply line {l:?}");
        }
        let code: u16 = l[..3].parse().expect("three digits");
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(l.get(4..).unwrap_or(""));
        if l.as_bytes().get(3) != Some(&b'-') {
            return Ok(Reply { code, text });
        }
    }
}

impl Session {
    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let w = self.io.get_mut();
        w.write_all(bytes).await?;
        w.flush().await?;
        Ok(())
    }

    async fn reply(&mut self) -> Result<Reply> {
        read_reply(&mut self.io, &mut self.line, self.timeout).await
    }

    async fn cmd(&mut self, bytes: &[u8]) -> Result<Reply> {
        self.send(bytes).await?;
        self.reply().await
    }

    /// Connects and gets the session ready for mail transactions.
    pub async fn open(c: &Client) -> Result<Session, SetupError> {
        let a = &c.args;
        let tcp = TcpStream::connect(&a.server)
            .await
            .with_context(|| format!("connect {}", a.server))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        let io: Box<dyn Io> = if a.tls == TlsMode::OnConnect {
            Box::new(
                c.tls
                    .connect(c.server_name.clone(), tcp)
                    .await
                    .context("TLS handshake")?,
            )
        } else {
            Box::new(tcp)
        };
        let mut s = Session {
            io: BufReader::new(io),
            line: Vec::with_capacity(512),
            timeout: a.timeout,
            pipelining: false,
        };
        let r = s.reply().await?;
        if r.code != 220 {
            return Err(anyhow!("greeting: {r}").into());
        }
        let ehlo = format!("EHLO {}\r\n", a.ehlo).into_bytes();
        let mut caps = s.cmd(&ehlo).await?;
        if caps.code != 250 {
            return Err(anyhow!("EHLO: {caps}").into());
        }
        if a.tls == TlsMode::StartTls {
            let r = s.cmd(b"STARTTLS\r\n").await?;
            if r.code != 220 {
                return Err(anyhow!("STARTTLS: {r}").into());
            }
            if !s.io.buffer().is_empty() {
                return Err(anyhow!("server sent data after its STARTTLS reply").into());
            }
            let plain = s.io.into_inner();
            let tls = c
                .tls
                .connect(c.server_name.clone(), plain)
                .await
                .context("TLS handshake after STARTTLS")?;
            s.io = BufReader::new(Box::new(tls));
            caps = s.cmd(&ehlo).await?;
            if caps.code != 250 {
                return Err(anyhow!("EHLO after STARTTLS: {caps}").into());
            }
        }
        s.pipelining = a.pipelining
            && caps
                .text
                .lines()
                .any(|l| l.trim().eq_ignore_ascii_case("PIPELINING"));
        if let Some((user, pass)) = &a.auth {
            let b64 = base64::engine::general_purpose::STANDARD;
            let r = match a.auth_mech {
                AuthMech::Plain => {
                    let token = b64.encode(format!("\0{user}\0{pass}"));
                    s.cmd(format!("AUTH PLAIN {token}\r\n").as_bytes()).await?
                }
                AuthMech::Login => {
                    let r = s.cmd(b"AUTH LOGIN\r\n").await?;
                    if r.code != 334 {
                        return Err(SetupError::Auth(r));
                    }
                    let r = s
                        .cmd(format!("{}\r\n", b64.encode(user)).as_bytes())
                        .await?;
                    if r.code != 334 {
                        return Err(SetupError::Auth(r));
                    }
                    s.cmd(format!("{}\r\n", b64.encode(pass)).as_bytes())
                        .await?
                }
            };
            match r.code {
                235 => {}
                // 4xx: temporary (e.g. the server is busy); retry with a new connection.
                400..=499 => return Err(anyhow!("AUTH: {r}").into()),
                _ => return Err(SetupError::Auth(r)),
            }
        }
        Ok(s)
    }

    /// One mail transaction. `data` is the message in wire form, ending with `.` CRLF.
    /// An `Err` means the connection is unusable (I/O error, timeout, closed); it says whether
    /// that happened before any of the message was sent (a connection the server had already
    /// closed, e.g. after `421` recycling) or after.
    pub async fn transaction(&mut self, c: &Client, data: &[u8]) -> Result<Outcome, TxError> {
        let out = self.envelope(c).await.map_err(|e| TxError {
            data_sent: false,
            err: e,
        })?;
        let (mail, rcpt, go) = match out {
            Ok(replies) => replies,
            Err(refusal) => return Ok(refusal),
        };
        if go.code != 354 {
            let first_bad = [mail, rcpt]
                .into_iter()
                .find(|r| r.code != 250 && r.code != 251)
                .unwrap_or(go);
            return Ok(Outcome::Refused(Stage::Envelope, first_bad));
        }
        let tx = |e| TxError {
            data_sent: true,
            err: e,
        };
        if mail.code != 250 || (rcpt.code != 250 && rcpt.code != 251) {
            // The server said 354 although the envelope failed: end the data at once.
            self.cmd(b".\r\n").await.map_err(tx)?;
            let bad = if mail.code != 250 { mail } else { rcpt };
            return Ok(Outcome::Refused(Stage::Envelope, bad));
        }
        let r = self.cmd(data).await.map_err(tx)?;
        Ok(if r.code == 250 {
            Outcome::Accepted
        } else {
            Outcome::Refused(Stage::Data, r)
        })
    }

    /// If the server has already sent something unasked (a `421` before closing the
    /// connection, typically right after a `250`), reads it.
    pub async fn unsolicited(&mut self) -> Option<Reply> {
        if self.io.buffer().is_empty() {
            return None;
        }
        read_reply(&mut self.io, &mut self.line, self.timeout)
            .await
            .ok()
    }

    /// MAIL, RCPT, DATA: their three replies, or a refusal before DATA (not pipelined).
    #[allow(clippy::type_complexity)]
    async fn envelope(
        &mut self,
        c: &Client,
    ) -> Result<std::result::Result<(Reply, Reply, Reply), Outcome>> {
        let env = &c.envelope;
        let (mail, rcpt, go) = if self.pipelining {
            self.send(env).await?;
            (
                self.reply().await?,
                self.reply().await?,
                self.reply().await?,
            )
        } else {
            // Split the pre-built envelope back into its three lines.
            let mut lines = env.split_inclusive(|b| *b == b'\n');
            let (m, r, d) = (
                lines.next().unwrap(),
                lines.next().unwrap(),
                lines.next().unwrap(),
            );
            let mail = self.cmd(m).await?;
            if mail.code != 250 {
                return Ok(Err(Outcome::Refused(Stage::Envelope, mail)));
            }
            let rcpt = self.cmd(r).await?;
            if rcpt.code != 250 && rcpt.code != 251 {
                return Ok(Err(Outcome::Refused(Stage::Envelope, rcpt)));
            }
            let go = self.cmd(d).await?;
            (mail, rcpt, go)
        };
        Ok(Ok((mail, rcpt, go)))
    }

    /// Resets the transaction state after a refusal; an `Err` means reconnect.
    pub async fn rset(&mut self) -> Result<()> {
        let r = self.cmd(b"RSET\r\n").await?;
        if r.code != 250 {
            bail!("RSET: {r}");
        }
        Ok(())
    }

    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.cmd(b"QUIT\r\n")).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), self.io.get_mut().shutdown()).await;
    }
}

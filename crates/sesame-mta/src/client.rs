//! One outbound SMTP connection: TCP connect (optionally from a chosen source address), the
//! greeting, EHLO (HELO fallback), STARTTLS (RFC 3207) and the re-EHLO after it. The mail
//! transaction itself is in `transaction.rs`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use sesame_model::{AttemptError, TlsPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tracing::debug;

use crate::reply::{take_reply, Capabilities, Reply};

/// RFC 5321 §4.5.3.2 timeouts. `Default` gives the RFC's values; tests shorten them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (not in the RFC; Postfix's `smtp_connect_timeout` is 30 s).
    pub connect: Duration,
    /// §4.5.3.2.1 initial 220 message: 5 minutes.
    pub greeting: Duration,
    /// EHLO/HELO, STARTTLS (and the TLS handshake), RSET, QUIT: not fixed by the RFC; 5 min.
    pub command: Duration,
    /// §4.5.3.2.2 MAIL: 5 minutes.
    pub mail: Duration,
    /// §4.5.3.2.3 RCPT: 5 minutes.
    pub rcpt: Duration,
    /// §4.5.3.2.4 DATA initiation (the 354): 2 minutes.
    pub data_init: Duration,
    /// §4.5.3.2.5 each data block write: 3 minutes.
    pub data_block: Duration,
    /// §4.5.3.2.6 DATA termination (reply to the final dot): 10 minutes.
    pub data_term: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(60 * m);
        Timeouts {
            connect: Duration::from_secs(30),
            greeting: min(5),
            command: min(5),
            mail: min(5),
            rcpt: min(5),
            data_init: min(2),
            data_block: min(3),
            data_term: min(10),
        }
    }
}

impl Timeouts {
    /// Every timeout set to `d` (tests).
    pub fn all(d: Duration) -> Timeouts {
        Timeouts {
            connect: d,
            greeting: d,
            command: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_term: d,
        }
    }
}

/// What opening a session needs.
#[derive(Clone, Debug)]
pub struct ConnectParams {
    pub remote: SocketAddr,
    /// The MX host name (TLS SNI when it is a DNS name; logs; the report).
    pub remote_host: String,
    /// Source address to bind; `None` lets the OS choose.
    pub local_ip: Option<IpAddr>,
    /// Our EHLO name.
    pub helo: String,
    pub tls: TlsPolicy,
    /// `false` after a failed handshake under `Optional`: reconnect and stay in plaintext
    /// "fall back to plaintext").
    pub try_starttls: bool,
    pub timeouts: Timeouts,
}

/// Why a session could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// No usable session for a reason that is not an SMTP reply.
    Failed(AttemptError),
    /// The server answered, and the answer refuses the session (4xx/5xx greeting, EHLO and
    /// HELO both refused, 421).
    Refused(Reply),
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while upgrading to TLS.
    Gone,
}

/// An open SMTP session, greeted and EHLO'd, ready for a transaction.
pub struct Session {
    io: Io,
    /// Bytes received and not yet parsed (pipelined replies arrive together).
    buf: Vec<u8>,
    pub caps: Capabilities,
    pub tls: bool,
    pub local_ip: IpAddr,
    pub remote_ip: IpAddr,
    pub remote_host: String,
    pub helo: String,
    pub timeouts: Timeouts,
    /// Transactions completed on this connection (for the per-connection limit).
    pub messages: usize,
}

impl Session {
    /// Connects and runs greeting, EHLO and STARTTLS per `p.tls`.
    pub async fn open(
        p: &ConnectParams,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<Session, OpenError> {
        let t = &p.timeouts;
        let fail = OpenError::Failed;
        let socket = match p.remote {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| fail(AttemptError::Connect(format!("socket: {e}"))))?;
        if let Some(ip) = p.local_ip {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| fail(AttemptError::Connect(format!("bind {ip}: {e}"))))?;
        }
        let stream = match timeout(t.connect, socket.connect(p.remote)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(fail(AttemptError::Connect(format!(
                    "{} [{}]: {e}",
                    p.remote_host, p.remote
                ))))
            }
            Err(_) => {
                return Err(fail(AttemptError::Connect(format!(
                    "{} [{}]: connect timed out after {:?}",
                    p.remote_host, p.remote, t.connect
                ))))
            }
        };
        let _ = stream.set_nodelay(true);
        let local_ip = stream
            .local_addr()
            .map(|a| a.ip())
            .map_err(|e| fail(AttemptError::Connect(format!("local address: {e}"))))?;
        let mut s = Session {
            io: Io::Plain(stream),
            buf: Vec::new(),
            caps: Capabilities::default(),
            tls: false,
            local_ip,
            remote_ip: p.remote.ip(),
            remote_host: p.remote_host.clone(),
            helo: p.helo.clone(),
            timeouts: t.clone(),
            messages: 0,
        };
        let greeting = s.read_reply(t.greeting, "greeting").await.map_err(fail)?;
        if greeting.code != 220 {
            // RFC 5321 §3.1: a 554 (or any non-220) greeting: no mail here; say QUIT.
            s.quit().await;
            return Err(OpenError::Refused(greeting));
        }
        s.ehlo().await?;
        if s.caps.starttls && p.try_starttls {
            s.starttls(p, tls).await?;
        }
        if p.tls == TlsPolicy::Require && !s.tls {
            // nothing is sent in clear; the session ends here.
            s.quit().await;
            return Err(fail(AttemptError::TlsRequired));
        }
        debug!(
            remote = %p.remote, host = %p.remote_host, local = %s.local_ip, tls = s.tls,
            pipelining = s.caps.pipelining, size = ?s.caps.size, "smtp session open"
        );
        Ok(s)
    }

    /// EHLO, falling back to HELO when EHLO is refused (RFC 5321 §4.1.4); a 421 ends it.
    async fn ehlo(&mut self) -> Result<(), OpenError> {
        let t = self.timeouts.command;
        let cmd = format!("EHLO {}\r\n", self.helo);
        let r = self
            .command(&cmd, t, "EHLO")
            .await
            .map_err(OpenError::Failed)?;
        if r.is_positive() {
            self.caps = Capabilities::from_ehlo(&r);
            return Ok(());
        }
        if r.code == 421 {
            self.quit().await;
            return Err(OpenError::Refused(r));
        }
        let cmd = format!("HELO {}\r\n", self.helo);
        let r = self
            .command(&cmd, t, "HELO")
            .await
            .map_err(OpenError::Failed)?;
        if r.is_positive() {
            self.caps = Capabilities::default();
            return Ok(());
        }
        self.quit().await;
        Err(OpenError::Refused(r))
    }

    /// STARTTLS, the handshake, and the EHLO that must follow it (RFC 3207 §4.2).
    async fn starttls(
        &mut self,
        p: &ConnectParams,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<(), OpenError> {
        let t = self.timeouts.command;
        let r = self
            .command("STARTTLS\r\n", t, "STARTTLS")
            .await
            .map_err(OpenError::Failed)?;
        if r.code != 220 {
            if p.tls == TlsPolicy::Require {
                self.quit().await;
                return Err(OpenError::Failed(AttemptError::Tls(format!(
                    "STARTTLS refused: {}",
                    r.to_smtp().line()
                ))));
            }
            // Optional: RFC 3207 §4 lets the client go on without TLS.
            return Ok(());
        }
        if !self.buf.is_empty() {
            // Bytes after the 220 were sent before the handshake and would be taken as
            // protected (the STARTTLS command-injection class of bugs): refuse.
            return Err(OpenError::Failed(AttemptError::Protocol(
                "data received after the STARTTLS 220, before the TLS handshake".into(),
            )));
        }
        let name = match ServerName::try_from(p.remote_host.clone()) {
            Ok(n @ ServerName::DnsName(_)) => n,
            _ => ServerName::IpAddress(p.remote.ip().into()),
        };
        let Io::Plain(tcp) = std::mem::replace(&mut self.io, Io::Gone) else {
            return Err(OpenError::Failed(AttemptError::Protocol(
                "STARTTLS twice".into(),
            )));
        };
        let connector = TlsConnector::from(tls.clone());
        let stream = match timeout(t, connector.connect(name, tcp)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(OpenError::Failed(AttemptError::Tls(e.to_string()))),
            Err(_) => {
                return Err(OpenError::Failed(AttemptError::Tls(
                    "handshake timed out".into(),
                )))
            }
        };
        self.io = Io::Tls(Box::new(stream));
        self.tls = true;
        // RFC 3207 §4.2: forget everything learnt before TLS, ask again.
        self.caps = Capabilities::default();
        self.ehlo().await
    }

    /// Writes `cmd` and reads one reply within `t`.
    pub(crate) async fn command(
        &mut self,
        cmd: &str,
        t: Duration,
        what: &str,
    ) -> Result<Reply, AttemptError> {
        self.write(cmd.as_bytes(), t, what).await?;
        self.read_reply(t, what).await
    }

    /// Writes all of `bytes` within `t`.
    pub(crate) async fn write(
        &mut self,
        bytes: &[u8],
        t: Duration,
        what: &str,
    ) -> Result<(), AttemptError> {
        let res = timeout(t, async {
            match &mut self.io {
                Io::Plain(s) => s.write_all(bytes).await,
                Io::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Io::Gone => Err(std::io::ErrorKind::NotConnected.into()),
            }
        })
        .await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AttemptError::Timeout(format!(
                "{} closed the connection ({what}): {e}",
                self.remote_host
            ))),
            Err(_) => Err(AttemptError::Timeout(format!(
                "{} did not accept {what} within {t:?}",
                self.remote_host
            ))),
        }
    }

    /// Reads one complete reply within `t`.
    pub(crate) async fn read_reply(
        &mut self,
        t: Duration,
        what: &str,
    ) -> Result<Reply, AttemptError> {
        let deadline = tokio::time::Instant::now() + t;
        loop {
            match take_reply(&mut self.buf) {
                Ok(Some(r)) => {
                    debug!(host = %self.remote_host, what, code = r.code, "smtp reply");
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(AttemptError::Protocol(format!(
                        "{} ({what}): {e}",
                        self.remote_host
                    )))
                }
            }
            let mut chunk = [0u8; 4096];
            let read = async {
                match &mut self.io {
                    Io::Plain(s) => s.read(&mut chunk).await,
                    Io::Tls(s) => s.read(&mut chunk).await,
                    Io::Gone => Err(std::io::ErrorKind::NotConnected.into()),
                }
            };
            match tokio::time::timeout_at(deadline, read).await {
                Ok(Ok(0)) => {
                    return Err(AttemptError::Timeout(format!(
                        "{} closed the connection (waiting for the {what} reply)",
                        self.remote_host
                    )))
                }
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => {
                    return Err(AttemptError::Timeout(format!(
                        "{} closed the connection (waiting for the {what} reply): {e}",
                        self.remote_host
                    )))
                }
                Err(_) => {
                    return Err(AttemptError::Timeout(format!(
                        "no {what} reply from {} within {t:?}",
                        self.remote_host
                    )))
                }
            }
        }
    }

    /// RSET (RFC 5321 §4.1.1.5): back to a clean state, and proof the connection still works.
    pub async fn reset(&mut self) -> Result<(), AttemptError> {
        let r = self
            .command("RSET\r\n", self.timeouts.command, "RSET")
            .await?;
        if r.is_positive() {
            Ok(())
        } else {
            Err(AttemptError::Protocol(format!(
                "RSET answered {}",
                r.to_smtp().line()
            )))
        }
    }

    /// QUIT and close; best effort, bounded by a few seconds (the peer may already be gone).
    pub async fn quit(&mut self) {
        let t = self.timeouts.command.min(Duration::from_secs(5));
        if self.write(b"QUIT\r\n", t, "QUIT").await.is_ok() {
            let _ = self.read_reply(t, "QUIT").await;
        }
        let _ = timeout(t, async {
            match &mut self.io {
                Io::Plain(s) => s.shutdown().await,
                Io::Tls(s) => s.shutdown().await,
                Io::Gone => Ok(()),
            }
        })
        .await;
    }
}

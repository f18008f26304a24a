//! The listener loop (`run(listener, shutdown)`, mini-redis style) and one task per connection;
//! [`run`] for submission and [`run_feedback`] for the feedback MX share it.
//!
//! Each connection is an error boundary: I/O and TLS errors are logged and the connection is
//! closed; nothing propagates to the accept loop. On shutdown the loop stops accepting, idle
//! connections get `421 Service not available, closing transmission channel`, and `run`
//! returns once every connection has finished (transactions in DATA complete first).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::backend::{FeedbackBackend, SubmissionBackend};
use crate::config::{ListenerMode, SmtpConfig};
use crate::connection::{Connection, Line, ReadError};
use crate::reply::Reply;
use crate::session::{Service, Session, Step};
use crate::tls::TlsSetup;

/// Serves SMTP submission on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    mode: ListenerMode,
    cfg: Arc<SmtpConfig>,
    tls: Arc<TlsSetup>,
    backend: Arc<dyn SubmissionBackend>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve(
        listener,
        mode,
        cfg,
        Some(tls),
        Service::Submission(backend),
        shutdown,
    )
    .await
}

/// Serves the feedback MX on `listener` until `shutdown` completes: plaintext greeting,
/// STARTTLS offered when `tls` is given (never required), no AUTH (see the crate docs). `cfg`
/// is normally [`SmtpConfig::feedback_mx`].
pub async fn run_feedback(
    listener: TcpListener,
    cfg: Arc<SmtpConfig>,
    tls: Option<Arc<TlsSetup>>,
    backend: Arc<dyn FeedbackBackend>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve(
        listener,
        ListenerMode::StartTls,
        cfg,
        tls,
        Service::Feedback(backend),
        shutdown,
    )
    .await
}

/// The accept loop shared by both services.
async fn serve(
    listener: TcpListener,
    mode: ListenerMode,
    cfg: Arc<SmtpConfig>,
    tls: Option<Arc<TlsSetup>>,
    service: Service,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (notify, _) = watch::channel(false);
    // Every connection task holds a clone; `recv` returns None once all have ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let limit = Arc::new(Semaphore::new(cfg.max_connections));
    let acceptor = tls.map(|t| TlsAcceptor::from(t.config.clone()));
    if mode == ListenerMode::ImplicitTls && acceptor.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an implicit-TLS listener needs a certificate",
        ));
    }
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off rather than spin.
                    tracing::warn!(error = %e, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let ctx = ConnCtx {
            mode,
            cfg: cfg.clone(),
            acceptor: acceptor.clone(),
            service: service.clone(),
            shutdown: notify.subscribe(),
            peer,
        };
        let done = done_tx.clone();
        match limit.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    if let Err(e) = ctx.serve(stream).await {
                        tracing::debug!(%peer, error = %e, "smtp connection ended with error");
                    }
                    drop(permit);
                    drop(done);
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    let _ = ctx.refuse(stream).await;
                    drop(done);
                });
            }
        }
    }
    drop(listener);
    let _ = notify.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await;
    Ok(())
}

/// Everything one connection task needs.
struct ConnCtx {
    mode: ListenerMode,
    cfg: Arc<SmtpConfig>,
    /// `None` on a feedback MX without a certificate (then STARTTLS is not offered).
    acceptor: Option<TlsAcceptor>,
    service: Service,
    shutdown: watch::Receiver<bool>,
    peer: SocketAddr,
}

/// How a drive over one stream ended.
enum End {
    Closed,
    StartTls,
}

impl ConnCtx {
    /// Over the connection cap: `421 Too many concurrent SMTP connections`.
    async fn refuse(self, stream: TcpStream) -> io::Result<()> {
        let reply = Reply::too_many_connections().to_wire(false);
        match self.mode {
            ListenerMode::StartTls => Connection::new(stream).write_and_close(&reply).await,
            ListenerMode::ImplicitTls => {
                let tls = self.handshake(stream).await?;
                Connection::new(tls).write_and_close(&reply).await
            }
        }
    }

    async fn handshake(
        &self,
        stream: TcpStream,
    ) -> io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
        // The session only asks for TLS when a certificate exists (`tls_available`).
        let Some(acceptor) = &self.acceptor else {
            return Err(io::Error::other("TLS requested without a certificate"));
        };
        tokio::time::timeout(self.cfg.tls_handshake_timeout, acceptor.accept(stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }

    async fn serve(mut self, stream: TcpStream) -> io::Result<()> {
        let implicit = self.mode == ListenerMode::ImplicitTls;
        let mut session = Session::new(
            self.cfg.clone(),
            self.service.clone(),
            self.peer,
            implicit,
            self.acceptor.is_some(),
        );
        if implicit {
            let tls = self.handshake(stream).await?;
            session.tls_version = tls_version(&tls);
            let mut conn = Connection::new(tls);
            conn.queue(&session.banner().to_wire(false));
            self.drive(&mut conn, &mut session).await?;
            return Ok(());
        }
        let mut conn = Connection::new(stream);
        conn.queue(&session.banner().to_wire(false));
        match self.drive(&mut conn, &mut session).await? {
            End::Closed => Ok(()),
            End::StartTls => {
                let (stream, pipelined) = conn.into_inner();
                if pipelined > 0 {
                    tracing::info!(peer = %self.peer, bytes = pipelined, "discarded plaintext pipelined after STARTTLS");
                }
                let tls = self.handshake(stream).await?;
                session.tls_started();
                session.tls_version = tls_version(&tls);
                let mut conn = Connection::new(tls);
                self.drive(&mut conn, &mut session).await?;
                Ok(())
            }
        }
    }

    /// Reads commands and applies the session's steps until close or STARTTLS.
    async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut Connection<S>,
        session: &mut Session,
    ) -> io::Result<End> {
        loop {
            let idle = session.read_timeout();
            let age_left = session.age_left();
            let step = match conn.read_line(idle.min(age_left), &mut self.shutdown).await {
                Ok(Line::Command(line)) => session.command(&line).await,
                Ok(Line::Bad(kind)) => session.bad_line(kind),
                Err(ReadError::Timeout) if age_left <= idle => {
                    Step::Close(vec![Reply::reconnect()])
                }
                Err(ReadError::Timeout) => Step::Close(vec![Reply::timeout()]),
                Err(ReadError::Shutdown) => Step::Close(vec![Reply::shutting_down()]),
                Err(ReadError::Eof) => return Ok(End::Closed),
                Err(ReadError::Io(e)) => return Err(e),
            };
            let mut next = Some(step);
            while let Some(step) = next.take() {
                let enhanced = session.enhanced();
                match step {
                    Step::Reply(reply) => conn.queue(&reply.to_wire(enhanced)),
                    Step::Raw(text) => conn.queue(&text),
                    Step::StartTls => {
                        conn.queue(&Reply::ready_for_tls().to_wire(false));
                        conn.flush().await?;
                        return Ok(End::StartTls);
                    }
                    Step::Data => {
                        conn.queue(&Reply::start_data().to_wire(enhanced));
                        let max = self.cfg.max_message_bytes;
                        match conn.read_data(max, self.cfg.command_timeout).await {
                            Ok(outcome) => next = Some(session.finish_data(outcome).await),
                            Err(ReadError::Timeout) => {
                                next = Some(Step::Close(vec![Reply::timeout()]))
                            }
                            Err(ReadError::Eof) | Err(ReadError::Shutdown) => {
                                return Ok(End::Closed)
                            }
                            Err(ReadError::Io(e)) => return Err(e),
                        }
                    }
                    Step::Close(replies) => {
                        for reply in replies {
                            conn.queue(&reply.to_wire(enhanced));
                        }
                        let _ = conn.close().await;
                        return Ok(End::Closed);
                    }
                }
            }
        }
    }
}

/// `TLSv1.3` / `TLSv1.2` for the `ses:source-tls-version` auto tag (G-23), as SES writes it.
fn tls_version(tls: &tokio_rustls::server::TlsStream<TcpStream>) -> Option<String> {
    use rustls::ProtocolVersion as V;
    Some(
        match tls.get_ref().1.protocol_version()? {
            V::TLSv1_3 => "TLSv1.3",
            V::TLSv1_2 => "TLSv1.2",
            other => return Some(format!("{other:?}")),
        }
        .to_string(),
    )
}

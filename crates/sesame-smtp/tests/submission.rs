//! Submission over real TCP + TLS on 127.0.0.1:0 with a fake backend (B-22..B-30, Q-46, Q-57,
//! Q-109, Q-136..Q-141). The client is a few lines of tokio-rustls that trusts any certificate
//! (the server uses the persisted dev self-signed certificate).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use sesame_smtp::{
    dev_self_signed, Envelope, ListenerMode, Principal, Reply, SmtpConfig, SubmissionBackend,
    TempFailure,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
/// B-12 vector for SECRET in us-east-1.
const PASSWORD: &str = "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9";

#[derive(Default)]
struct Fake {
    submitted: Mutex<Vec<(Envelope, Vec<u8>)>>,
}

#[async_trait]
impl SubmissionBackend for Fake {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        region: &str,
    ) -> Result<Option<Principal>, TempFailure> {
        let ok = username == "AKIATEST"
            && sesame_sigv4::smtp_password::verify_smtp_password(SECRET, region, password);
        Ok(ok.then(|| Principal {
            account_id: "111122223333".into(),
            access_key_id: username.into(),
            region: region.into(),
        }))
    }
    async fn submit(
        &self,
        _principal: &Principal,
        envelope: &Envelope,
        raw: Vec<u8>,
    ) -> Result<String, Reply> {
        let mut s = self.submitted.lock().unwrap();
        s.push((envelope.clone(), raw));
        Ok(format!("0100018c-{:04}", s.len()))
    }
}

struct Server {
    addr: std::net::SocketAddr,
    backend: Arc<Fake>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(mode: ListenerMode, tweak: impl FnOnce(&mut SmtpConfig)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let hostname = "email-smtp.us-east-1.sesame.test";
        let tls = Arc::new(dev_self_signed(dir.path(), hostname).unwrap());
        let mut cfg = SmtpConfig::new(REGION, hostname);
        tweak(&mut cfg);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let backend = Arc::new(Fake::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(sesame_smtp::run(
            listener,
            mode,
            Arc::new(cfg),
            tls,
            backend.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            backend,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    fn submitted(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.backend.submitted.lock().unwrap().clone()
    }

    async fn shutdown(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

mod danger {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// Accepts any certificate: the test server's is self-signed.
    #[derive(Debug)]
    pub struct AcceptAny(pub rustls::crypto::CryptoProvider);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
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
}

fn connector() -> tokio_rustls::TlsConnector {
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider.clone()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(danger::AcceptAny(provider)))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A minimal SMTP client: writes raw bytes, reads whole (multi-line) replies.
struct Client<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).await.unwrap();
    }
    /// The next reply, all lines joined; empty string on EOF.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.io.read_line(&mut line))
                .await
                .expect("reply within 10 s")
                .unwrap();
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }
    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }
}

async fn connect_plain(server: &Server) -> Client<TcpStream> {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let mut c = Client {
        io: BufReader::new(stream),
    };
    let banner = c.reply().await;
    assert!(
        banner.starts_with("220 email-smtp.us-east-1.sesame.test ESMTP Sesame-"),
        "{banner}"
    );
    c
}

type TlsClient = Client<tokio_rustls::client::TlsStream<TcpStream>>;

async fn starttls(mut c: Client<TcpStream>) -> TlsClient {
    let ehlo = c.cmd("EHLO client.example").await;
    assert!(
        ehlo.starts_with("250-email-smtp.us-east-1.sesame.test\r\n250-STARTTLS\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE "),
        "{ehlo}"
    );
    assert_eq!(c.cmd("STARTTLS").await, "220 Ready to start TLS\r\n");
    let stream = c.io.into_inner();
    let name = rustls::pki_types::ServerName::try_from("email-smtp.us-east-1.sesame.test").unwrap();
    let tls = connector().connect(name, stream).await.unwrap();
    let mut c = Client {
        io: BufReader::new(tls),
    };
    let ehlo = c.cmd("EHLO client.example").await;
    assert!(
        ehlo.starts_with("250-email-smtp.us-east-1.sesame.test\r\n250-AUTH PLAIN LOGIN\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE "),
        "{ehlo}"
    );
    c
}

async fn connect_implicit(server: &Server) -> TlsClient {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("email-smtp.us-east-1.sesame.test").unwrap();
    let tls = connector().connect(name, stream).await.unwrap();
    let mut c = Client {
        io: BufReader::new(tls),
    };
    assert!(c
        .reply()
        .await
        .starts_with("220 email-smtp.us-east-1.sesame.test ESMTP"));
    c
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn auth_plain<S: AsyncRead + AsyncWrite + Unpin>(c: &mut Client<S>) {
    let line = format!("AUTH PLAIN {}", b64(&format!("\0AKIATEST\0{PASSWORD}")));
    assert_eq!(c.cmd(&line).await, "235 Authentication successful\r\n");
}

async fn authed_starttls(server: &Server) -> TlsClient {
    let mut c = starttls(connect_plain(server).await).await;
    auth_plain(&mut c).await;
    c
}

/// B-23 / Q-140 / Q-136: the full STARTTLS path ends in `250 Ok <MessageId>`; dot-unstuffed.
#[tokio::test]
async fn starttls_auth_plain_send() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = starttls(connect_plain(&server).await).await;
    assert_eq!(
        c.cmd("EHLO again").await,
        "250-email-smtp.us-east-1.sesame.test\r\n250-AUTH PLAIN LOGIN\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 41943040\r\n"
    );
    auth_plain(&mut c).await;
    assert_eq!(c.cmd("MAIL FROM:<sender@example.com>").await, "250 Ok\r\n");
    assert_eq!(c.cmd("RCPT TO:<rcpt@example.com>").await, "250 Ok\r\n");
    assert_eq!(
        c.cmd("DATA").await,
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    c.send(b"Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n").await;
    assert_eq!(c.reply().await, "250 Ok 0100018c-0001\r\n");
    assert_eq!(c.cmd("QUIT").await, "221 Bye\r\n");
    let got = server.submitted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.mail_from, "sender@example.com");
    assert_eq!(got[0].0.rcpt_to, vec!["rcpt@example.com".to_string()]);
    assert!(got[0].0.tls);
    assert_eq!(got[0].1, b"Subject: hi\r\n\r\n.dot\r\nbody\r\n");
    server.shutdown().await;
}

/// Q-137 / B-30: AUTH and MAIL before STARTTLS are refused, AUTH is not advertised.
#[tokio::test]
async fn auth_before_starttls_refused() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = connect_plain(&server).await;
    assert!(!c.cmd("EHLO x").await.contains("AUTH"));
    let line = format!("AUTH PLAIN {}", b64(&format!("\0AKIATEST\0{PASSWORD}")));
    assert_eq!(
        c.cmd(&line).await,
        "530 Must issue a STARTTLS command first\r\n"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com>").await,
        "530 Must issue a STARTTLS command first\r\n"
    );
    server.shutdown().await;
}

/// Q-46 / Q-136: wrong password, another region's password and an API-style secret → 535.
#[tokio::test]
async fn wrong_password_refused() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = starttls(connect_plain(&server).await).await;
    let other_region = sesame_sigv4::smtp_password::derive_smtp_password(SECRET, "us-west-2");
    for pass in [
        other_region.as_str(),
        SECRET,
        "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL8",
    ] {
        let line = format!("AUTH PLAIN {}", b64(&format!("\0AKIATEST\0{pass}")));
        assert_eq!(
            c.cmd(&line).await,
            "535 Authentication Credentials Invalid\r\n"
        );
    }
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com>").await,
        "530 Authentication required\r\n"
    );
    server.shutdown().await;
}

/// B-24 / Q-140: implicit TLS offers the post-TLS list at once; AUTH LOGIN works.
#[tokio::test]
async fn implicit_tls_auth_login_send() {
    let server = Server::start(ListenerMode::ImplicitTls, |_| {}).await;
    let mut c = connect_implicit(&server).await;
    let ehlo = c.cmd("EHLO x").await;
    assert!(
        ehlo.contains("250-AUTH PLAIN LOGIN\r\n") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    assert_eq!(c.cmd("STARTTLS").await, "503 Bad sequence of commands\r\n");
    assert_eq!(c.cmd("AUTH LOGIN").await, "334 VXNlcm5hbWU6\r\n");
    assert_eq!(c.cmd(&b64("AKIATEST")).await, "334 UGFzc3dvcmQ6\r\n");
    assert_eq!(
        c.cmd(&b64(PASSWORD)).await,
        "235 Authentication successful\r\n"
    );
    assert_eq!(c.cmd("MAIL FROM:<a@example.com>").await, "250 Ok\r\n");
    assert_eq!(c.cmd("RCPT TO:<b@example.com>").await, "250 Ok\r\n");
    assert_eq!(
        c.cmd("DATA").await,
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    c.send(b"Subject: x\r\n\r\nhello\r\n.\r\n").await;
    assert_eq!(c.reply().await, "250 Ok 0100018c-0001\r\n");
    server.shutdown().await;
}

/// Q-109: 50 recipients accepted, the 51st gets `452 Too many recipients`; the message still goes.
#[tokio::test]
async fn rcpt_51_gets_452() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = authed_starttls(&server).await;
    assert_eq!(c.cmd("MAIL FROM:<a@example.com>").await, "250 Ok\r\n");
    for i in 1..=50 {
        assert_eq!(
            c.cmd(&format!("RCPT TO:<r{i}@example.com>")).await,
            "250 Ok\r\n"
        );
    }
    assert_eq!(
        c.cmd("RCPT TO:<r51@example.com>").await,
        "452 Too many recipients\r\n"
    );
    assert_eq!(
        c.cmd("DATA").await,
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    c.send(b"Subject: x\r\n\r\n.\r\n").await;
    assert!(c.reply().await.starts_with("250 Ok "));
    assert_eq!(server.submitted()[0].0.rcpt_to.len(), 50);
    server.shutdown().await;
}

/// SMTP smuggling: `\n.\r\n` is not an end of data; the whole payload is rejected at the real
/// terminator and the smuggled MAIL is never executed.
#[tokio::test]
async fn smuggling_payload_rejected() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    for smuggle in [
        &b"\n.\r\n"[..],
        b"\n.\n",
        b"\r.\r\n",
        b"\r\n.\n",
        b"\r\n.\r",
    ] {
        let mut c = authed_starttls(&server).await;
        c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
            .await;
        assert_eq!(c.reply().await, "250 Ok\r\n");
        assert_eq!(c.reply().await, "250 Ok\r\n");
        assert_eq!(c.reply().await, "354 End data with <CR><LF>.<CR><LF>\r\n");
        let mut payload = b"Subject: one\r\n\r\nfirst".to_vec();
        payload.extend_from_slice(smuggle);
        payload.extend_from_slice(b"MAIL FROM:<admin@example.com>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n");
        c.send(&payload).await;
        assert_eq!(
            c.reply().await,
            "554 Message rejected: Message contains bare CR or LF characters\r\n",
            "{smuggle:?}"
        );
        assert_eq!(c.cmd("NOOP").await, "250 Ok\r\n");
    }
    assert!(server.submitted().is_empty());
    server.shutdown().await;
}

/// RFC 2920: MAIL/RCPT/RCPT/DATA in one write get their replies in order; a message and QUIT
/// pipelined after it work too.
#[tokio::test]
async fn pipelined_transaction() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = authed_starttls(&server).await;
    c.send(b"MAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<bad@>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n").await;
    assert_eq!(c.reply().await, "250 Ok\r\n");
    assert_eq!(c.reply().await, "250 Ok\r\n");
    assert_eq!(c.reply().await, "553 <bad@> address unknown\r\n");
    assert_eq!(c.reply().await, "250 Ok\r\n");
    assert_eq!(c.reply().await, "354 End data with <CR><LF>.<CR><LF>\r\n");
    c.send(b"Subject: p\r\n\r\nx\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
        .await;
    assert_eq!(c.reply().await, "250 Ok 0100018c-0001\r\n");
    assert_eq!(c.reply().await, "250 Ok\r\n");
    assert_eq!(c.reply().await, "250 Ok\r\n");
    assert_eq!(c.reply().await, "221 Bye\r\n");
    assert_eq!(
        server.submitted()[0].0.rcpt_to,
        vec!["b@example.com", "c@example.com"]
    );
    server.shutdown().await;
}

/// Q-136: declared SIZE over the limit → 552 at MAIL; an actual oversize message → 552 after the
/// terminator, and the session goes on.
#[tokio::test]
async fn size_limits() {
    let server = Server::start(ListenerMode::StartTls, |cfg| cfg.max_message_bytes = 1000).await;
    let mut c = authed_starttls(&server).await;
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.com> SIZE=1001").await,
        "552 Message is too long.\r\n"
    );
    assert_eq!(c.cmd("MAIL FROM:<a@example.com>").await, "250 Ok\r\n");
    assert_eq!(c.cmd("RCPT TO:<b@example.com>").await, "250 Ok\r\n");
    assert_eq!(
        c.cmd("DATA").await,
        "354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    let line = format!("{}\r\n", "x".repeat(900));
    for _ in 0..50 {
        c.send(line.as_bytes()).await;
    }
    c.send(b".\r\n").await;
    assert_eq!(c.reply().await, "552 Message is too long.\r\n");
    assert_eq!(c.cmd("NOOP").await, "250 Ok\r\n");
    assert!(server.submitted().is_empty());
    server.shutdown().await;
}

/// RFC 5321 §2.3.8 / §4.5.3.1.4: bare LF and over-long command lines → 500.
#[tokio::test]
async fn strict_command_lines() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = connect_plain(&server).await;
    c.send(b"NOOP\n").await;
    assert_eq!(
        c.reply().await,
        "500 Syntax error, command unrecognized\r\n"
    );
    c.send(b"NO\rOP\r\n").await;
    assert_eq!(
        c.reply().await,
        "500 Syntax error, command unrecognized\r\n"
    );
    c.send(format!("NOOP {}\r\n", "a".repeat(600)).as_bytes())
        .await;
    assert_eq!(c.reply().await, "500 Line too long\r\n");
    assert_eq!(c.cmd("NOOP").await, "250 Ok\r\n");
    server.shutdown().await;
}

/// Q-139: idle before AUTH → `451 Timeout waiting for data from client`, then close.
#[tokio::test]
async fn idle_timeout_before_auth() {
    let server = Server::start(ListenerMode::StartTls, |cfg| {
        cfg.idle_timeout_before_auth = Duration::from_millis(200)
    })
    .await;
    let mut c = connect_plain(&server).await;
    assert_eq!(
        c.reply().await,
        "451 Timeout waiting for data from client\r\n"
    );
    assert_eq!(c.reply().await, "");
    server.shutdown().await;
}

/// Q-141: over the connection cap → 421; after max messages → 421 … reconnect after the 250.
#[tokio::test]
async fn connection_limits() {
    let server = Server::start(ListenerMode::StartTls, |cfg| {
        cfg.max_connections = 1;
        cfg.max_messages_per_connection = 1;
    })
    .await;
    let mut first = authed_starttls(&server).await;
    let mut second = Client {
        io: BufReader::new(TcpStream::connect(server.addr).await.unwrap()),
    };
    assert_eq!(
        second.reply().await,
        "421 Too many concurrent SMTP connections\r\n"
    );
    first
        .send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        .await;
    for _ in 0..3 {
        first.reply().await;
    }
    first.send(b"Subject: x\r\n\r\n.\r\n").await;
    assert_eq!(first.reply().await, "250 Ok 0100018c-0001\r\n");
    assert_eq!(
        first.reply().await,
        "421 Connection limit reached, please reconnect\r\n"
    );
    assert_eq!(first.reply().await, "");
    server.shutdown().await;
}

/// Q-137: shutdown tells idle clients `421 Service not available, …` and `run` returns.
#[tokio::test]
async fn shutdown_closes_idle_connections() {
    let server = Server::start(ListenerMode::StartTls, |_| {}).await;
    let mut c = connect_plain(&server).await;
    assert!(c.cmd("EHLO x").await.starts_with("250-"));
    server.shutdown().await;
    assert_eq!(
        c.reply().await,
        "421 Service not available, closing transmission channel\r\n"
    );
}

//! The feedback MX over real TCP on 127.0.0.1:0 with a fake backend (DECISIONS ):
//! a pipelined DSN transaction from a null sender without TLS, RCPT refusals, the 10 MB cap,
//! and no STARTTLS when no certificate is configured. STARTTLS with a certificate is covered
//! end to end by the binary's `tests/feedback.rs` (swaks `--tls`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sesame_smtp::{Envelope, FeedbackBackend, Reply, SmtpConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Knows `msg-1@us-east-1.sesame.test`; the rest of that domain is unknown; others not ours.
#[derive(Default)]
struct Fake {
    ingested: Mutex<Vec<(Envelope, Vec<u8>)>>,
}

#[async_trait]
impl FeedbackBackend for Fake {
    async fn check_recipient(&self, address: &str) -> Result<(), Reply> {
        match address.split_once('@') {
            Some(("msg-1", "us-east-1.sesame.test")) => Ok(()),
            Some((_, "us-east-1.sesame.test")) => Err(Reply::mailbox_unknown(address)),
            _ => Err(Reply::relay_denied(address)),
        }
    }
    async fn ingest(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<(), Reply> {
        self.ingested.lock().unwrap().push((envelope.clone(), raw));
        Ok(())
    }
}

struct Client {
    io: BufReader<TcpStream>,
}

impl Client {
    async fn send(&mut self, bytes: &[u8]) {
        self.io.get_mut().write_all(bytes).await.unwrap();
    }
    async fn line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.io.read_line(&mut line))
            .await
            .expect("reply within 10 s")
            .unwrap();
        line
    }
    /// A whole (multi-line) reply.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let line = self.line().await;
            all.push_str(&line);
            if line.is_empty() || line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }
}

#[tokio::test]
async fn dsn_from_a_null_sender_over_plaintext() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = Arc::new(Fake::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sesame_smtp::run_feedback(
        listener,
        Arc::new(SmtpConfig::feedback_mx(
            "feedback-smtp.us-east-1.sesame.test",
        )),
        None,
        backend.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let mut c = Client {
        io: BufReader::new(TcpStream::connect(addr).await.unwrap()),
    };
    assert!(c
        .reply()
        .await
        .starts_with("220 feedback-smtp.us-east-1.sesame.test ESMTP Sesame-"));
    c.send(b"EHLO mx.example.net\r\n").await;
    assert_eq!(
        c.reply().await,
        "250-feedback-smtp.us-east-1.sesame.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n\
         250-SIZE 10485760\r\n250 ENHANCEDSTATUSCODES\r\n",
        "no STARTTLS without a certificate, never AUTH"
    );
    // PIPELINING (RFC 2920): the whole envelope in one write.
    c.send(
        b"MAIL FROM:<>\r\nRCPT TO:<someone@example.com>\r\nRCPT TO:<other@us-east-1.sesame.test>\r\n\
          RCPT TO:<msg-1@us-east-1.sesame.test>\r\nDATA\r\n",
    )
    .await;
    assert_eq!(c.reply().await, "250 2.0.0 Ok\r\n");
    assert_eq!(
        c.reply().await,
        "550 5.7.1 <someone@example.com> Relay access denied\r\n"
    );
    assert_eq!(
        c.reply().await,
        "550 5.1.1 <other@us-east-1.sesame.test> Recipient address rejected: unknown feedback address\r\n"
    );
    assert_eq!(c.reply().await, "250 2.0.0 Ok\r\n");
    assert_eq!(c.reply().await, "354 End data with <CR><LF>.<CR><LF>\r\n");
    c.send(b"Subject: Undelivered Mail\r\n\r\n..report\r\n.\r\n")
        .await;
    assert_eq!(c.reply().await, "250 2.0.0 Ok: feedback recorded\r\n");
    {
        let got = backend.ingested.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.mail_from, "");
        assert_eq!(got[0].0.rcpt_to, ["msg-1@us-east-1.sesame.test"]);
        assert!(!got[0].0.tls);
        assert_eq!(got[0].1, b"Subject: Undelivered Mail\r\n\r\n.report\r\n");
    }

    // Over the 10 MB cap: refused at the terminator, nothing ingested.
    c.send(b"MAIL FROM:<> SIZE=10485761\r\n").await;
    assert_eq!(c.reply().await, "552 5.3.4 Message is too long.\r\n");
    c.send(b"MAIL FROM:<>\r\nRCPT TO:<msg-1@us-east-1.sesame.test>\r\nDATA\r\n")
        .await;
    for want in [
        "250 2.0.0 Ok\r\n",
        "250 2.0.0 Ok\r\n",
        "354 End data with <CR><LF>.<CR><LF>\r\n",
    ] {
        assert_eq!(c.reply().await, want);
    }
    let line = vec![b'x'; 998];
    for _ in 0..(10 * 1024 * 1024 / 1000 + 10) {
        c.send(&line).await;
        c.send(b"\r\n").await;
    }
    c.send(b".\r\n").await;
    assert_eq!(c.reply().await, "552 5.3.4 Message is too long.\r\n");
    assert_eq!(backend.ingested.lock().unwrap().len(), 1);
    c.send(b"QUIT\r\n").await;
    assert_eq!(c.reply().await, "221 2.0.0 Bye\r\n");

    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

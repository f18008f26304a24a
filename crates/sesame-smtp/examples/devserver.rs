//! A development SMTP server for trying clients (swaks, openssl s_client) by hand.
//!
//! `cargo run -p sesame-smtp --example devserver [STARTTLS_PORT] [IMPLICIT_PORT]` listens on
//! 127.0.0.1 (defaults 2587 and 2465) with a self-signed certificate kept in
//! `$TMPDIR/sesame-smtp-dev`. It accepts user `AKIATEST` with the SMTP password derived from the
//! fixed secret below for `us-east-1` (printed at start-up) and prints each accepted message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use sesame_smtp::{
    dev_self_signed, Envelope, ListenerMode, Principal, Reply, SmtpConfig, SubmissionBackend,
    TempFailure,
};
use tokio::net::TcpListener;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";

struct Dev {
    next: AtomicUsize,
}

#[async_trait]
impl SubmissionBackend for Dev {
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
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("0100018cdevserver-{n:08}-000000");
        println!(
            "accepted {id} from {} to {:?} ({} bytes, peer {})",
            envelope.mail_from,
            envelope.rcpt_to,
            raw.len(),
            envelope.peer
        );
        Ok(id)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let mut args = std::env::args().skip(1);
    let starttls_port: u16 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2587);
    let implicit_port: u16 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2465);
    let hostname = format!("email-smtp.{REGION}.sesame.test");
    let dir = std::env::temp_dir().join("sesame-smtp-dev");
    let tls = Arc::new(dev_self_signed(&dir, &hostname)?);
    let cfg = Arc::new(SmtpConfig::new(REGION, hostname));
    let backend: Arc<dyn SubmissionBackend> = Arc::new(Dev {
        next: AtomicUsize::new(0),
    });
    let plain = TcpListener::bind(("127.0.0.1", starttls_port)).await?;
    let implicit = TcpListener::bind(("127.0.0.1", implicit_port)).await?;
    println!(
        "ready starttls={} implicit={} user=AKIATEST password={}",
        plain.local_addr()?,
        implicit.local_addr()?,
        sesame_sigv4::smtp_password::derive_smtp_password(SECRET, REGION)
    );
    let ctrl_c = || async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let a = tokio::spawn(sesame_smtp::run(
        plain,
        ListenerMode::StartTls,
        cfg.clone(),
        tls.clone(),
        backend.clone(),
        ctrl_c(),
    ));
    let b = tokio::spawn(sesame_smtp::run(
        implicit,
        ListenerMode::ImplicitTls,
        cfg,
        tls,
        backend,
        ctrl_c(),
    ));
    a.await??;
    b.await??;
    Ok(())
}

//! The feedback MX's backend over the engine (`Engine::check_feedback_recipient`,
//! `Engine::ingest_feedback`), its listener set-up for `sesame serve`, and the pruning of the
//! sent-message log the feedback lookups read (DECISIONS; docs/feedback.md).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sesame_config::Config;
use sesame_engine::feedback::FeedbackRecipient;
use sesame_engine::{Engine, EngineError};
use sesame_smtp::{Envelope, FeedbackBackend, Reply, SmtpConfig, TlsSetup};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How long a sent message stays findable by feedback after it left the queue. DSNs arrive
/// within the remote MTAs' retry windows (5 days for Postfix's default, RFC 5321 §4.5.4.1
/// suggests 4–5), complaints within days of delivery; 30 days covers both with room.
pub const MESSAGE_LOG_RETENTION_MS: i64 = 30 * 24 * 3_600_000;
/// How often a node prunes the log (idempotent; several nodes may do it).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3_600);

/// [`FeedbackBackend`] for `sesame serve`.
pub struct FeedbackIngest {
    /// The engine of this instance (cheap to clone; holds the store).
    engine: Engine,
}

impl FeedbackIngest {
    pub fn new(engine: Engine) -> Self {
        FeedbackIngest { engine }
    }
}

#[async_trait]
impl FeedbackBackend for FeedbackIngest {
    async fn check_recipient(&self, address: &str) -> Result<(), Reply> {
        match self.engine.check_feedback_recipient(address).await {
            Ok(FeedbackRecipient::Known { .. }) => Ok(()),
            Ok(FeedbackRecipient::UnknownMessage) => Err(Reply::mailbox_unknown(address)),
            Ok(FeedbackRecipient::NotOurs) => Err(Reply::relay_denied(address)),
            Err(e) => {
                tracing::warn!(error = %e, "feedback recipient lookup failed");
                Err(Reply::local_error())
            }
        }
    }

    /// One report for each accepted VERP address (a report names one message; several RCPTs
    /// in one transaction are rare). `250` only when every address's events are stored: on a
    /// store failure the sender keeps the report and retries (at-least-once, Q-160).
    async fn ingest(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<(), Reply> {
        let mut recorded = 0;
        for rcpt in &envelope.rcpt_to {
            match self.engine.ingest_feedback(rcpt, &raw).await {
                Ok(out) => {
                    recorded += 1;
                    tracing::info!(
                        peer = %envelope.peer,
                        message_id = %out.message_id,
                        report = out.report,
                        events = out.events.len(),
                        suppressed = ?out.suppressed,
                        "feedback recorded"
                    );
                }
                // Pruned between RCPT and the end of DATA: nothing left to attach it to.
                Err(EngineError::NotFound(m)) => {
                    tracing::warn!(%rcpt, reason = %m, "feedback for a message no longer known")
                }
                Err(e) => {
                    tracing::error!(%rcpt, error = %e, "recording feedback failed");
                    return Err(Reply::local_error());
                }
            }
        }
        match (recorded, envelope.rcpt_to.first()) {
            (0, Some(first)) => Err(Reply::mailbox_unknown(first)),
            _ => Ok(()),
        }
    }
}

/// The bound feedback MX, before it serves.
pub struct MxListener {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub cfg: Arc<SmtpConfig>,
    /// `None`: no certificate, STARTTLS not offered.
    pub tls: Option<Arc<TlsSetup>>,
}

/// Binds the feedback MX on `mx_addr` (`None` when `off`). Its name is
/// `feedback-smtp.<region>.<service_domain>` of the default region; one listener serves
/// every region's feedback domain. STARTTLS uses the SMTP certificate when one is configured
/// (in `--dev` the persisted self-signed one); without one the MX serves plaintext, which
/// every MTA accepts (their TLS is opportunistic).
pub async fn bind(cfg: &Config, dev: bool) -> anyhow::Result<Option<MxListener>> {
    let Some(addr) = cfg.mx_addr else {
        return Ok(None);
    };
    let hostname = format!(
        "feedback-smtp.{}.{}",
        cfg.default_region(),
        cfg.service_domain
    );
    let tls = match &cfg.smtp_tls {
        Some((cert, key)) => Some(sesame_smtp::load_tls(cert, key).with_context(|| {
            format!(
                "loading the SMTP certificate for the feedback MX ({})",
                cert.display()
            )
        })?),
        None if dev => Some(
            sesame_smtp::dev_self_signed(&cfg.data_dir, &cfg.smtp_hostname)
                .context("creating the development SMTP certificate")?,
        ),
        None => {
            tracing::warn!("no SMTP certificate (SESAME_SMTP_TLS_CERT): the feedback MX does not offer STARTTLS");
            None
        }
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the feedback MX on {addr} (SESAME_MX_ADDR)"))?;
    let bound = listener.local_addr()?;
    let mut smtp_cfg = SmtpConfig::feedback_mx(hostname);
    smtp_cfg.max_connections = cfg.smtp_max_connections;
    Ok(Some(MxListener {
        listener,
        addr: bound,
        cfg: Arc::new(smtp_cfg),
        tls: tls.map(Arc::new),
    }))
}

/// Deletes log entries older than [`MESSAGE_LOG_RETENTION_MS`] now and every
/// [`PRUNE_EVERY`] until `shutdown` turns `true`.
pub async fn prune_message_log(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    loop {
        let cutoff = sesame_engine::now_ms() - MESSAGE_LOG_RETENTION_MS;
        match engine.store.prune_message_log(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "sent-message log pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning the sent-message log failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

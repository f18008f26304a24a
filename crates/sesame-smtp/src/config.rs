//! Listener configuration. Every limit is a field so tests and the
//! binary's config can pin it; [`SmtpConfig::new`] fills in the decided defaults.

use std::time::Duration;

/// How TLS starts on a listener (Q-57, B-23, B-24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerMode {
    /// Plaintext greeting, `STARTTLS` required before AUTH/MAIL (ports 25, 587, 2587).
    StartTls,
    /// TLS from the first byte (ports 465, 2465); the post-TLS EHLO list is offered.
    ImplicitTls,
}

/// Settings shared by all connections of one submission listener.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Region this listener is bound to: SMTP passwords are verified for it (B-8, Q-57).
    pub region: String,
    /// Banner and EHLO host name, `email-smtp.<region>.<service domain>` (B-26, Q-140).
    pub hostname: String,
    /// Instance token in the banner (`ESMTP Sesame-<instance_id> <session-token>`, B-27).
    pub instance_id: String,
    /// Largest accepted message, advertised as `SIZE` (40 MB = 41,943,040, Q-140).
    pub max_message_bytes: usize,
    /// Recipients per transaction; the next RCPT gets `452 Too many recipients`.
    pub max_recipients: usize,
    /// Idle limit before a successful AUTH (10 s, B-29, Q-139).
    pub idle_timeout_before_auth: Duration,
    /// Per-command and per-DATA-block limit after AUTH (300 s, RFC 5321 §4.5.3.2, Q-139).
    pub command_timeout: Duration,
    /// Transactions per connection before `421 … reconnect` (500, Q-141, H-154).
    pub max_messages_per_connection: usize,
    /// Connection age before `421 … reconnect` (30 min, Q-141, H-154).
    pub max_connection_age: Duration,
    /// Concurrent connections on this listener; beyond it `421 Too many concurrent SMTP
    /// connections`.
    pub max_connections: usize,
    /// Advertise `ENHANCEDSTATUSCODES` and prefix replies with RFC 3463 codes (Q-135: off for
    /// submission so texts stay byte-exact SES).
    pub enhanced_status_codes: bool,
    /// Time allowed for a TLS handshake (STARTTLS or implicit).
    pub tls_handshake_timeout: Duration,
}

/// Largest report the feedback MX accepts (a DSN or ARF report quotes the original message,
/// whose own limit is 40 MB; 10 MB keeps memory bounded and covers quoted headers, which is
/// what most generators return).
pub const FEEDBACK_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

impl SmtpConfig {
    /// The decided defaults for a listener in `region` named `hostname`.
    pub fn new(region: impl Into<String>, hostname: impl Into<String>) -> Self {
        SmtpConfig {
            region: region.into(),
            hostname: hostname.into(),
            instance_id: "a".into(),
            max_message_bytes: 41_943_040,
            max_recipients: 50,
            idle_timeout_before_auth: Duration::from_secs(10),
            command_timeout: Duration::from_secs(300),
            max_messages_per_connection: 500,
            max_connection_age: Duration::from_secs(30 * 60),
            max_connections: 1024,
            enhanced_status_codes: false,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }

    /// The feedback MX named `hostname` (`feedback-smtp.<region>.<sd>`, Q-68): the peers are
    /// ordinary MTAs, so RFC 5321 timeouts from the first command (no AUTH phase),
    /// [`FEEDBACK_MAX_MESSAGE_BYTES`], and RFC 3463 codes (they read them; no SES texts to keep
    /// byte-exact here). `region` is unused (reports for every region arrive here).
    pub fn feedback_mx(hostname: impl Into<String>) -> Self {
        let mut cfg = SmtpConfig::new("", hostname);
        cfg.max_message_bytes = FEEDBACK_MAX_MESSAGE_BYTES;
        cfg.idle_timeout_before_auth = cfg.command_timeout;
        cfg.enhanced_status_codes = true;
        cfg
    }
}

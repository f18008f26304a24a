//! Shared helpers of the sesame-mta integration tests. Address plan: 127.0.2.0/24 only (other
//! suites use other ranges concurrently); each test function owns the addresses it names.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use sesame_model::{DeliveryJob, TlsPolicy};
use sesame_mta::{DnsOptions, MtaConfig, SmtpTransport, Timeouts};

pub const SERVICE_DOMAIN: &str = "sesame.test";

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sesame_mta=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A transport asking `dns` only, short timeouts, delivering to port 25.
pub fn transport(dns: SocketAddr, outbound_ips: &[&str]) -> SmtpTransport {
    SmtpTransport::new(config(dns, outbound_ips)).unwrap()
}

pub fn config(dns: SocketAddr, outbound_ips: &[&str]) -> MtaConfig {
    let mut c = MtaConfig::new(SERVICE_DOMAIN, "mta.sesame.test");
    c.resolver = Some(dns);
    c.dns = DnsOptions {
        timeout: Duration::from_millis(500),
        attempts: 1,
    };
    c.outbound_ips = outbound_ips.iter().map(|s| ip(s)).collect();
    c.timeouts = Timeouts {
        connect: Duration::from_secs(3),
        ..Timeouts::all(Duration::from_secs(10))
    };
    c
}

/// A small CRLF message; `extra` lines go in the body.
pub fn body(subject: &str, extra: &str) -> Arc<Vec<u8>> {
    Arc::new(
        format!(
            "From: sender@example.test\r\nTo: someone@example.test\r\nSubject: {subject}\r\n\
             Message-ID: <{subject}@example.test>\r\n\r\nHello.\r\n{extra}"
        )
        .into_bytes(),
    )
}

pub fn job(domain: &str, recipients: &[&str], body: Arc<Vec<u8>>) -> DeliveryJob {
    DeliveryJob {
        message_id: format!("msg-{}", recipients.join("-")),
        domain: domain.to_string(),
        mail_from: "bounce-1@feedback.sesame.test".to_string(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        body,
        tls: TlsPolicy::Optional,
        source_ips: vec![],
    }
}

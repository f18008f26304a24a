//! The outbound MTA of `delivery_mode = smtp`: `sesame-mta`'s [`SmtpTransport`] configured from
//! the instance settings.

use std::sync::Arc;

use sesame_config::Config;
use sesame_model::Transport;
use sesame_mta::{MtaConfig, SmtpTransport};

/// HELO name when no outbound IP is configured (the OS picks the source address): the
/// instance's SMTP host name. With configured IPs, each uses `<a-b-c-d>.smtp-out.<sd>`.
pub fn transport(cfg: &Config) -> anyhow::Result<Arc<dyn Transport>> {
    let mut m = MtaConfig::new(cfg.service_domain.clone(), cfg.smtp_hostname.clone());
    m.resolver = cfg.resolver;
    m.port = cfg.delivery_port;
    m.outbound_ips = cfg.outbound_ips.clone();
    m.connections_per_destination = cfg.delivery_connections_per_destination;
    m.rate_per_destination = cfg.delivery_rate_per_destination;
    let t = SmtpTransport::new(m).map_err(|e| {
        anyhow::anyhow!("starting the outbound MTA: {e} (set SESAME_RESOLVER=host:port to use a specific DNS server)")
    })?;
    Ok(Arc::new(t))
}

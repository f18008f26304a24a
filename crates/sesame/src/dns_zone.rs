//! Wiring of the instance DNS zone (DECISIONS Q-65 (a)): the responder of `sesame-dns` with the
//! zone built from the configuration and the Easy DKIM keys read from the shared store.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use sesame_config::Config;
use sesame_dns::server::{self, DkimKeys, DnsListeners, DnsServerOptions};
use sesame_dns::{Zone, ZoneConfig};
use sesame_engine::records::{kind, IdentityRecord};
use sesame_model::Store;

/// The Easy DKIM keys of every account and region, straight from the store (so every node
/// sharing the database serves the same keys; the responder caches answers for 2 s).
pub struct StoreDkimKeys {
    pub store: Arc<dyn Store>,
}

/// Easy DKIM tokens are 32 characters of lower-case base32; anything else (a label of
/// another shape) cannot be one, and is not worth a store query.
fn plausible_token(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 63
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[async_trait]
impl DkimKeys for StoreDkimKeys {
    async fn public_key(&self, token: &str) -> Result<Option<String>, String> {
        if !plausible_token(token) {
            return Ok(None);
        }
        // Both needles are JSON object members of the compact document, which text inside a
        // string value (a tag, a BYODKIM selector copied from someone's mail) cannot fake:
        // quotes in string values are escaped. So the matches are Easy DKIM identities with a
        // key of that selector, and tokens are random: in practice one row.
        let selector = format!("\"selector\":\"{token}\"");
        let found = self
            .store
            .find_resources_containing(kind::IDENTITY, &["\"origin\":\"AWS_SES\"", &selector], 16)
            .await
            .map_err(|e| e.to_string())?;
        for r in found {
            let Ok(rec) = serde_json::from_value::<IdentityRecord>(r.data) else {
                continue;
            };
            // Only Easy DKIM keys live in our zone; BYODKIM keys are in the customer's DNS.
            let Some(d) = rec.dkim.filter(|d| d.origin == "AWS_SES") else {
                continue;
            };
            if let Some(k) = d.keys.iter().find(|k| k.selector == token) {
                return Ok(Some(k.public_key.clone()));
            }
        }
        Ok(None)
    }
}

/// The zone served for `cfg.service_domain`.
pub fn zone(cfg: &Config) -> Zone {
    let serial = (sesame_engine::now_ms() / 1000) as u32;
    Zone::new(ZoneConfig {
        origin: cfg.service_domain.clone(),
        regions: cfg.regions.clone(),
        outbound_ips: cfg.outbound_ips.clone(),
        feedback_mx_ips: cfg.dns.feedback_mx_ips.clone(),
        ns_ips: cfg.dns.public_ips.clone(),
        ttl: cfg.dns.ttl,
        serial,
    })
}

/// Binds the responder's UDP and TCP sockets (before the ready line, which prints the port).
pub async fn bind(cfg: &Config) -> anyhow::Result<Option<(DnsListeners, SocketAddr)>> {
    let Some(addr) = cfg.dns.addr else {
        return Ok(None);
    };
    let l = DnsListeners::bind(addr)
        .await
        .with_context(|| format!("binding the DNS responder on {addr} (SESAME_DNS_ADDR)"))?;
    let bound = l.local_addr()?;
    Ok(Some((l, bound)))
}

/// Serves the zone until `stopped` completes.
pub async fn run(
    listeners: DnsListeners,
    cfg: &Config,
    store: Arc<dyn Store>,
    stopped: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let zone = Arc::new(zone(cfg));
    tracing::info!(zone = %zone.origin(), "DNS responder started");
    server::run(
        listeners,
        zone,
        Arc::new(StoreDkimKeys { store }),
        DnsServerOptions::default(),
        stopped,
    )
    .await
    .context("DNS responder")
}

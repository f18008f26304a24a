//! Authoritative-first lookups for identity verification (DECISIONS Q-80: "query the zone's
//! authoritative NS (fallback to configured resolvers)").
//!
//! A resolver's cache can hold a record the owner has just removed, or miss one just
//! published (negative caching), for up to a TTL. The zone's own servers know the truth, so
//! each lookup first finds them through the configured resolver — the SOA walk gives the zone
//! apex, its NS records the server names, their A/AAAA the addresses — and asks them directly,
//! without recursion. Their answer is final, including a negative one (NXDOMAIN/NODATA from
//! the zone's own server is the freshest "not there"). The configured resolver answers
//! instead when the servers cannot be found (no NS, no address) or do not answer usably (a
//! timeout, SERVFAIL, REFUSED, or a CNAME leaving the zone that only a resolver can follow).

use std::future::Future;
use std::net::IpAddr;

use async_trait::async_trait;
use sesame_model::dns::{DnsError, DnsLookup, MxRecord, SoaRecord};

use crate::lookup::{Lookup, LookupOptions};

/// [`DnsLookup`] that asks the zone's authoritative servers first (see the module docs).
#[derive(Clone)]
pub struct AuthoritativeFirst {
    /// The configured resolver (`SESAME_RESOLVER` or the system's): finds the servers, and
    /// answers when they cannot.
    fallback: Lookup,
    /// Port of the authoritative servers (53; tests may use another).
    port: u16,
    options: LookupOptions,
}

impl AuthoritativeFirst {
    pub fn new(fallback: Lookup, port: u16, options: LookupOptions) -> AuthoritativeFirst {
        AuthoritativeFirst {
            fallback,
            port,
            options,
        }
    }

    /// A lookup against the authoritative servers of the zone `name` is in, or `None` when
    /// they cannot be found through the resolver.
    async fn servers_for(&self, name: &str) -> Option<Lookup> {
        let soa = self.fallback.soa(name).await.ok()?;
        let hosts = self.fallback.ns(&soa.zone).await.ok()?;
        let mut ips: Vec<IpAddr> = Vec::new();
        for h in hosts {
            if let Ok(a) = self.fallback.addresses(&h).await {
                for ip in a {
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
            }
        }
        if ips.is_empty() {
            tracing::debug!(%name, zone = %soa.zone, "no authoritative server address; asking the resolver");
            return None;
        }
        Lookup::authoritative(&ips, self.port, self.options.clone()).ok()
    }

    async fn ask<'a, T, F, Fut>(&'a self, name: &'a str, query: F) -> Result<T, DnsError>
    where
        F: Fn(Lookup) -> Fut,
        Fut: Future<Output = Result<T, DnsError>>,
    {
        if let Some(auth) = self.servers_for(name).await {
            match query(auth).await {
                Err(DnsError::ServerError(e)) => {
                    tracing::debug!(%name, error = %e, "authoritative servers did not answer; asking the resolver");
                }
                answer => return answer,
            }
        }
        query(self.fallback.clone()).await
    }
}

#[async_trait]
impl DnsLookup for AuthoritativeFirst {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        self.ask(name, |l| async move { l.txt(name).await }).await
    }

    async fn cname(&self, name: &str) -> Result<String, DnsError> {
        self.ask(name, |l| async move { l.cname(name).await }).await
    }

    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError> {
        self.ask(name, |l| async move { l.mx(name).await }).await
    }

    async fn addresses(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        self.ask(name, |l| async move { l.addresses(name).await })
            .await
    }

    /// The SOA (`VerificationInfo.SOARecord`, Q-85) from the zone's own servers too: its serial
    /// tells which version of the zone was checked.
    async fn soa(&self, name: &str) -> Result<SoaRecord, DnsError> {
        self.ask(name, |l| async move { l.soa(name).await }).await
    }
}

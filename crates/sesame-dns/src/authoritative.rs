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
//! A zone whose servers did not answer is sent straight to the resolver for [`SKIP_FOR`], so
//! one check (several lookups in the same zone) waits for an unreachable server once, not per
//! lookup.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sesame_model::dns::{DnsError, DnsLookup, MxRecord, SoaRecord};

use crate::lookup::{Lookup, LookupOptions, CNAME_OUT};

/// [`DnsLookup`] that asks the zone's authoritative servers first (see the module docs).
#[derive(Clone)]
pub struct AuthoritativeFirst {
    /// The configured resolver (`SESAME_RESOLVER` or the system's): finds the servers, and
    /// answers when they cannot.
    fallback: Lookup,
    /// Port of the authoritative servers (53; tests may use another).
    port: u16,
    options: LookupOptions,
    /// Zones whose servers did not answer → until when the resolver answers for them.
    skip: Arc<Mutex<HashMap<String, Instant>>>,
}

/// How long a zone whose authoritative servers did not answer is asked through the resolver.
pub const SKIP_FOR: Duration = Duration::from_secs(60);

/// Zones remembered at most (the map starts again empty when full: bounded memory).
const SKIP_MAX: usize = 1024;

impl AuthoritativeFirst {
    pub fn new(fallback: Lookup, port: u16, options: LookupOptions) -> AuthoritativeFirst {
        AuthoritativeFirst {
            fallback,
            port,
            options,
            skip: Arc::default(),
        }
    }

    /// The zone `name` is in and a lookup against its authoritative servers, or `None` when
    /// they cannot be found through the resolver (or did not answer lately).
    async fn servers_for(&self, name: &str) -> Option<(String, Lookup)> {
        let soa = self.fallback.soa(name).await.ok()?;
        if let Some(until) = self.skip.lock().unwrap().get(&soa.zone) {
            if Instant::now() < *until {
                return None;
            }
        }
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
        let auth = Lookup::authoritative(&ips, self.port, self.options.clone()).ok()?;
        Some((soa.zone, auth))
    }

    async fn ask<'a, T, F, Fut>(&'a self, name: &'a str, query: F) -> Result<T, DnsError>
    where
        F: Fn(Lookup) -> Fut,
        Fut: Future<Output = Result<T, DnsError>>,
    {
        if let Some((zone, auth)) = self.servers_for(name).await {
            match query(auth).await {
                Err(DnsError::ServerError(e)) => {
                    tracing::debug!(%name, %zone, error = %e, "authoritative servers did not answer; asking the resolver");
                    // A CNAME leaving the zone is an answer, not a silent server: only real
                    // failures send the zone to the resolver for a while.
                    if !e.ends_with(CNAME_OUT) {
                        let mut skip = self.skip.lock().unwrap();
                        if skip.len() >= SKIP_MAX {
                            skip.clear();
                        }
                        skip.insert(zone, Instant::now() + SKIP_FOR);
                    }
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

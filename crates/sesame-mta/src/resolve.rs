//! MX routing (RFC 5321 §5.1, RFC 7505) on hickory-resolver.
//!
//! `route(domain)` answers where mail for a domain goes: the MX hosts in preference order
//! (equal preferences shuffled, §5.1 "SHOULD be randomized"), each with its A then AAAA
//! addresses; the domain itself when it has no MX (implicit MX); or why there is nowhere to go.
//! Records are cached by hickory for their TTL.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{Name, ResolveError, ResolveErrorKind, TokioResolver};
use rand::seq::SliceRandom;
use sesame_model::AttemptError;

/// Where mail for one domain goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination's identity for queues and connection pools: the sorted, de-duplicated
    /// MX host names joined by `,` (the domain itself for an implicit MX), so that domains
    /// hosted by the same provider share one pool (issue 4, "per-destination queues keyed by
    /// the resolved MX set").
    pub key: String,
    /// Hosts in the order to try them. Never empty; hosts without addresses are left out.
    pub hosts: Vec<MxHost>,
}

/// One MX host and its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    /// Lowercase, without the trailing dot.
    pub name: String,
    pub preference: u16,
    /// IPv4 addresses first, then IPv6 (a host without IPv6 connectivity then loses no time).
    pub addrs: Vec<IpAddr>,
}

/// Resolver settings; the defaults suit production, tests shorten them.
#[derive(Clone, Debug)]
pub struct DnsOptions {
    /// Per-query timeout.
    pub timeout: Duration,
    /// Tries per query.
    pub attempts: usize,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

/// The MX resolver. Cheap to clone (hickory's resolver shares its cache).
#[derive(Clone)]
pub struct MxResolver {
    inner: TokioResolver,
}

impl MxResolver {
    /// `Some(addr)`: ask only that server (UDP, TCP when truncated), no system configuration,
    /// no search domains, no hosts file. `None`: the system configuration (`/etc/resolv.conf`).
    pub fn new(server: Option<SocketAddr>) -> Result<MxResolver, String> {
        MxResolver::with_options(server, DnsOptions::default())
    }

    pub fn with_options(server: Option<SocketAddr>, o: DnsOptions) -> Result<MxResolver, String> {
        let provider = TokioConnectionProvider::default();
        let mut builder = match server {
            Some(addr) => {
                // One server we are told to trust: its NXDOMAIN is final.
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                let mut b = TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], group),
                    provider,
                );
                b.options_mut().use_hosts_file = ResolveHosts::Never;
                b
            }
            None => TokioResolver::builder(provider)
                .map_err(|e| format!("reading the system resolver configuration: {e}"))?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = o.timeout;
        opts.attempts = o.attempts;
        opts.ndots = 0;
        // The name server may be authoritative-only (tests: knot); recursion is harmless.
        opts.recursion_desired = true;
        Ok(MxResolver {
            inner: builder.build(),
        })
    }

    /// Where mail for `domain` (an A-label, case-insensitive) goes.
    pub async fn route(&self, domain: &str) -> Result<Route, AttemptError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let name = fqdn(&domain)?;
        let mx = match self.inner.mx_lookup(name).await {
            Ok(l) => l
                .iter()
                .map(|mx| (mx.preference(), host_name(mx.exchange())))
                .collect::<Vec<_>>(),
            Err(e) => match classify(&e) {
                Negative::NoData => vec![],
                Negative::NxDomain => return Err(AttemptError::NoSuchDomain),
                Negative::Temporary(why) => {
                    return Err(AttemptError::DnsTemporary(format!("MX {domain}: {why}")))
                }
            },
        };
        // RFC 7505 §3: a single MX with an empty exchange (".") says "no mail here". A null MX
        // among other records is a misconfiguration; the others are still usable (§4.3).
        if mx.len() == 1 && mx[0].1.is_empty() {
            return Err(AttemptError::NullMx);
        }
        let mut mx: Vec<(u16, String)> = mx.into_iter().filter(|(_, h)| !h.is_empty()).collect();
        if mx.is_empty() {
            // RFC 5321 §5.1: no MX records, the domain itself is the implicit MX (preference 0).
            let addrs = self.addresses(&domain).await?;
            if addrs.is_empty() {
                return Err(AttemptError::NoSuchDomain);
            }
            return Ok(Route {
                key: domain.clone(),
                hosts: vec![MxHost {
                    name: domain,
                    preference: 0,
                    addrs,
                }],
            });
        }
        order_mx(&mut mx, &mut rand::thread_rng());
        let mut key: Vec<&str> = mx.iter().map(|(_, h)| h.as_str()).collect();
        key.sort_unstable();
        key.dedup();
        let key = key.join(",");

        // Look the hosts up concurrently: one slow host must not delay the others.
        let mut set = tokio::task::JoinSet::new();
        for (i, (_, h)) in mx.iter().enumerate() {
            let (me, h) = (self.clone(), h.clone());
            set.spawn(async move { (i, me.addresses(&h).await) });
        }
        let mut results: Vec<Result<Vec<IpAddr>, AttemptError>> = vec![Ok(vec![]); mx.len()];
        while let Some(done) = set.join_next().await {
            match done {
                Ok((i, r)) => results[i] = r,
                Err(e) => return Err(AttemptError::DnsTemporary(format!("lookup task: {e}"))),
            }
        }
        let mut hosts = Vec::new();
        let mut temporary = None;
        for ((preference, name), r) in mx.into_iter().zip(results) {
            match r {
                Ok(addrs) if !addrs.is_empty() => hosts.push(MxHost {
                    name,
                    preference,
                    addrs,
                }),
                Ok(_) => {}
                Err(e) => temporary = Some(e),
            }
        }
        if hosts.is_empty() {
            // No host has an address: temporary if a lookup failed, else the MX points
            // nowhere (Postfix: "Host or domain name not found", a bounce).
            return Err(temporary.unwrap_or(AttemptError::NoSuchDomain));
        }
        Ok(Route { key, hosts })
    }

    /// A then AAAA addresses of `host`; empty when it has none (NXDOMAIN or no data).
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, AttemptError> {
        let name = fqdn(host)?;
        let (v4, v6) = tokio::join!(
            self.inner.ipv4_lookup(name.clone()),
            self.inner.ipv6_lookup(name)
        );
        let mut addrs = Vec::new();
        let mut temporary = None;
        match v4 {
            Ok(l) => addrs.extend(l.iter().map(|a| IpAddr::V4(a.0))),
            Err(e) => {
                if let Negative::Temporary(why) = classify(&e) {
                    temporary = Some(AttemptError::DnsTemporary(format!("A {host}: {why}")));
                }
            }
        }
        match v6 {
            Ok(l) => addrs.extend(l.iter().map(|a| IpAddr::V6(a.0))),
            Err(e) => {
                if let Negative::Temporary(why) = classify(&e) {
                    temporary = Some(AttemptError::DnsTemporary(format!("AAAA {host}: {why}")));
                }
            }
        }
        match (addrs.is_empty(), temporary) {
            // Some addresses are enough to try; a failed other family is not fatal.
            (false, _) | (true, None) => Ok(addrs),
            (true, Some(e)) => Err(e),
        }
    }
}

fn fqdn(host: &str) -> Result<Name, AttemptError> {
    // An unparsable name cannot exist in the DNS: permanent.
    Name::from_ascii(format!("{host}.")).map_err(|_| AttemptError::NoSuchDomain)
}

/// `mx1.rcpt2.test.` → `mx1.rcpt2.test`; the root (null MX) → "".
fn host_name(n: &Name) -> String {
    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// Preference order, equal preferences in random order (RFC 5321 §5.1).
fn order_mx(mx: &mut [(u16, String)], rng: &mut impl rand::Rng) {
    mx.shuffle(rng);
    mx.sort_by_key(|(p, _)| *p); // stable: the shuffle survives within a preference
}

enum Negative {
    /// The name exists but has no record of this type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// SERVFAIL, REFUSED, timeouts, I/O: try again later.
    Temporary(String),
}

fn classify(e: &ResolveError) -> Negative {
    if let ResolveErrorKind::Proto(p) = e.kind() {
        if let ProtoErrorKind::NoRecordsFound { response_code, .. } = p.kind() {
            return match *response_code {
                ResponseCode::NXDomain => Negative::NxDomain,
                ResponseCode::NoError => Negative::NoData,
                other => Negative::Temporary(format!("server answered {other}")),
            };
        }
    }
    Negative::Temporary(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mx_order_is_by_preference_with_ties_shuffled() {
        let base = vec![
            (20, "c".to_string()),
            (10, "a".to_string()),
            (10, "b".to_string()),
            (30, "d".to_string()),
        ];
        let mut seen_first = std::collections::HashSet::new();
        for seed in 0..64 {
            let mut mx = base.clone();
            order_mx(&mut mx, &mut rand::rngs::StdRng::seed_from_u64(seed));
            let prefs: Vec<u16> = mx.iter().map(|m| m.0).collect();
            assert_eq!(prefs, vec![10, 10, 20, 30]);
            assert_eq!(mx[2].1, "c");
            seen_first.insert(mx[0].1.clone());
        }
        assert_eq!(
            seen_first.len(),
            2,
            "both equal-preference hosts come first sometimes"
        );
    }

    #[test]
    fn root_name_is_the_null_mx() {
        assert_eq!(host_name(&Name::root()), "");
        assert_eq!(
            host_name(&Name::from_ascii("MX1.Rcpt2.test.").unwrap()),
            "mx1.rcpt2.test"
        );
    }
}

//! Uncached DNS lookups on hickory-resolver (DECISIONS ).
//!
//! Verification must see a record as soon as it is published or removed, so nothing is cached:
//! every call asks the configured server. A lookup of any type but CNAME follows a CNAME chain
//! as any resolver (and any DKIM or SPF verifier) would, returning the records at the end of
//! the chain; a CNAME lookup returns the CNAME owned by the asked name itself.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{Name, ResolveError, ResolveErrorKind, TokioResolver};
use sesame_model::dns::{DnsError, DnsLookup, MxRecord, SoaRecord};

/// The end of the [`DnsError::ServerError`] text of an authoritative answer that is only a
/// CNAME leading out of the zone (see [`Lookup::authoritative`]).
pub(crate) const CNAME_OUT: &str = "a CNAME that leaves the zone (ask a resolver)";

/// Resolver settings; the defaults suit production, tests shorten them.
#[derive(Clone, Debug)]
pub struct LookupOptions {
    /// Per-query timeout.
    pub timeout: Duration,
    /// Tries per query.
    pub attempts: usize,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

/// Uncached lookups against one server (tests, an operator's resolver) or the system
/// configuration. Cheap to clone.
#[derive(Clone)]
pub struct Lookup {
    inner: TokioResolver,
    /// Asking a zone's authoritative servers directly ([`Lookup::authoritative`]): a CNAME
    /// that leaves the zone cannot be followed there, so such an answer is reported as a
    /// server error (the caller then asks its resolver) instead of a false NODATA.
    authoritative: bool,
}

impl Lookup {
    /// `Some(addr)`: ask only that server (UDP, TCP when truncated), no system configuration, no
    /// search domains, no hosts file. `None`: the system configuration (`/etc/resolv.conf`).
    pub fn new(server: Option<SocketAddr>) -> Result<Lookup, String> {
        Lookup::with_options(server, LookupOptions::default())
    }

    pub fn with_options(server: Option<SocketAddr>, o: LookupOptions) -> Result<Lookup, String> {
        let provider = TokioConnectionProvider::default();
        let mut builder = match server {
            Some(addr) => {
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], group),
                    provider,
                )
            }
            None => TokioResolver::builder(provider)
                .map_err(|e| format!("reading the system resolver configuration: {e}"))?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.use_hosts_file = ResolveHosts::Never;
        opts.timeout = o.timeout;
        opts.attempts = o.attempts;
        opts.ndots = 0;
        opts.recursion_desired = true;
        // No cache: a record published a second ago must be seen now.
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        Ok(Lookup {
            inner: builder.build(),
            authoritative: false,
        })
    }

    /// Asks the given authoritative servers (all on `port`) without recursion.
    pub fn authoritative(ips: &[IpAddr], port: u16, o: LookupOptions) -> Result<Lookup, String> {
        let group = NameServerConfigGroup::from_ips_clear(ips, port, true);
        let mut builder = TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], group),
            TokioConnectionProvider::default(),
        );
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.use_hosts_file = ResolveHosts::Never;
        opts.timeout = o.timeout;
        opts.attempts = o.attempts;
        opts.ndots = 0;
        opts.recursion_desired = false;
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        Ok(Lookup {
            inner: builder.build(),
            authoritative: true,
        })
    }

    /// The NS host names of the zone apex `zone` (lower-case, no trailing dot).
    pub async fn ns(&self, zone: &str) -> Result<Vec<String>, DnsError> {
        Ok(self
            .records(zone, RecordType::NS)
            .await?
            .iter()
            .filter_map(|r| match r.data() {
                RData::NS(n) => Some(host(&n.0)),
                _ => None,
            })
            .collect())
    }

    /// Records of type `rtype` in the answer (for CNAME: the one owned by `name` itself).
    async fn records(&self, name: &str, rtype: RecordType) -> Result<Vec<Record>, DnsError> {
        let fq = fqdn(name)?;
        match self.inner.lookup(fq.clone(), rtype).await {
            Ok(l) => {
                let own: Vec<Record> = l
                    .record_iter()
                    // Name equality is case-insensitive (RFC 4343).
                    .filter(|r| {
                        r.record_type() == rtype && (rtype != RecordType::CNAME || r.name() == &fq)
                    })
                    .cloned()
                    .collect();
                let cname_out = rtype != RecordType::CNAME
                    && l.record_iter()
                        .any(|r| r.record_type() == RecordType::CNAME);
                if own.is_empty() && self.authoritative && cname_out {
                    Err(DnsError::ServerError(format!(
                        "{name} {rtype}: {CNAME_OUT}"
                    )))
                } else if own.is_empty() {
                    Err(DnsError::TypeNotFound(format!("{name} {rtype}")))
                } else {
                    Ok(own)
                }
            }
            Err(e) => Err(classify(name, rtype, &e)),
        }
    }
}

fn fqdn(name: &str) -> Result<Name, DnsError> {
    let n = name.trim_end_matches('.');
    Name::from_ascii(format!("{n}.")).map_err(|e| DnsError::HostNotFound(format!("{name}: {e}")))
}

fn host(n: &Name) -> String {
    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn classify(name: &str, rtype: RecordType, e: &ResolveError) -> DnsError {
    if let ResolveErrorKind::Proto(p) = e.kind() {
        if let ProtoErrorKind::NoRecordsFound { response_code, .. } = p.kind() {
            return match *response_code {
                ResponseCode::NXDomain => DnsError::HostNotFound(name.to_string()),
                ResponseCode::NoError => DnsError::TypeNotFound(format!("{name} {rtype}")),
                other => DnsError::ServerError(format!("{name} {rtype}: server answered {other}")),
            };
        }
    }
    DnsError::ServerError(format!("{name} {rtype}: {e}"))
}

#[async_trait]
impl DnsLookup for Lookup {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        Ok(self
            .records(name, RecordType::TXT)
            .await?
            .iter()
            .filter_map(|r| match r.data() {
                RData::TXT(t) => Some(
                    t.txt_data()
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    async fn cname(&self, name: &str) -> Result<String, DnsError> {
        self.records(name, RecordType::CNAME)
            .await?
            .iter()
            .find_map(|r| match r.data() {
                RData::CNAME(c) => Some(host(&c.0)),
                _ => None,
            })
            .ok_or_else(|| DnsError::TypeNotFound(format!("{name} CNAME")))
    }

    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError> {
        Ok(self
            .records(name, RecordType::MX)
            .await?
            .iter()
            .filter_map(|r| match r.data() {
                RData::MX(m) => Some(MxRecord {
                    preference: m.preference(),
                    exchange: host(m.exchange()),
                }),
                _ => None,
            })
            .collect())
    }

    async fn addresses(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        let (v4, v6) = tokio::join!(
            self.records(name, RecordType::A),
            self.records(name, RecordType::AAAA)
        );
        let mut out = Vec::new();
        let mut first_err = None;
        for r in [v4, v6] {
            match r {
                Ok(recs) => out.extend(recs.iter().filter_map(|r| match r.data() {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })),
                Err(e) => {
                    if first_err.is_none() || matches!(e, DnsError::ServerError(_)) {
                        first_err = Some(e)
                    }
                }
            }
        }
        match (out.is_empty(), first_err) {
            (false, _) => Ok(out),
            (true, Some(e)) => Err(e),
            (true, None) => Err(DnsError::TypeNotFound(format!("{name} A/AAAA"))),
        }
    }

    async fn soa(&self, name: &str) -> Result<SoaRecord, DnsError> {
        // Walk up from the name to the root: the first name that owns an SOA is the apex.
        let mut cur = name.trim_end_matches('.').to_ascii_lowercase();
        loop {
            match self.records(&cur, RecordType::SOA).await {
                Ok(recs) => {
                    if let Some(RData::SOA(s)) = recs.first().map(|r| r.data()) {
                        return Ok(SoaRecord {
                            zone: cur,
                            primary_name_server: host(s.mname()),
                            admin_email: host(s.rname()),
                            serial_number: s.serial(),
                        });
                    }
                }
                Err(DnsError::ServerError(e)) => return Err(DnsError::ServerError(e)),
                Err(_) => {}
            }
            match cur.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => cur = parent.to_string(),
                _ => return Err(DnsError::TypeNotFound(format!("{name}: no SOA above it"))),
            }
        }
    }
}

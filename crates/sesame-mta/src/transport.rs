//! [`SmtpTransport`]: the `sesame_model::Transport` the engine delivers through.
//!
//! Per job: route the domain (MX), take a pooled connection of that destination or open one
//! (MX hosts in preference order, each host's addresses in order, source address round-robin),
//! run the transaction, and report the facts. Connection failures, 4xx/5xx greetings, 421s and
//! STARTTLS problems move on to the next address; a host that answered the transaction ends the
//! attempt (its answers are final for this attempt; the engine decides about retries).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sesame_model::{AttemptError, DeliveryJob, JobReport, RecipientResult, TlsPolicy, Transport};
use tracing::{debug, info, warn};

use crate::client::{ConnectParams, OpenError, Session, Timeouts};
use crate::helo::helo_name;
use crate::pool::{Checkout, Conn, Pools};
use crate::resolve::{DnsOptions, MxResolver, Route};

/// Everything the transport needs; `sesame serve` fills it from `sesame-config`.
#[derive(Clone, Debug)]
pub struct MtaConfig {
    /// DNS server to ask (`resolver` setting); `None`: the system resolver.
    pub resolver: Option<SocketAddr>,
    pub dns: DnsOptions,
    /// Destination port (`delivery_port`): 25; tests may override.
    pub port: u16,
    /// The instance's sending addresses (`outbound_ips`); empty: the OS chooses.
    pub outbound_ips: Vec<IpAddr>,
    /// For HELO names `<a-b-c-d>.smtp-out.<service_domain>`.
    pub service_domain: String,
    /// HELO name when no source address is chosen (no outbound IPs configured).
    pub default_helo: String,
    /// At most this many open connections per destination (`delivery_connections_per_destination`).
    pub connections_per_destination: usize,
    /// At most this many messages per second started per destination
    /// (`delivery_rate_per_destination`); 0: no limit.
    pub rate_per_destination: f64,
    /// A connection carries at most this many messages, then is closed.
    pub messages_per_connection: usize,
    /// Idle pooled connections are closed after this long.
    pub idle_timeout: Duration,
    pub timeouts: Timeouts,
}

impl MtaConfig {
    /// Production defaults: system resolver, port 25, no fixed source address, 10 connections
    /// per destination, 100 messages per connection, 30 s idle, RFC 5321 timeouts.
    pub fn new(service_domain: impl Into<String>, default_helo: impl Into<String>) -> MtaConfig {
        MtaConfig {
            resolver: None,
            dns: DnsOptions::default(),
            port: 25,
            outbound_ips: Vec::new(),
            service_domain: service_domain.into(),
            default_helo: default_helo.into(),
            connections_per_destination: 10,
            rate_per_destination: 0.0,
            messages_per_connection: 100,
            idle_timeout: Duration::from_secs(30),
            timeouts: Timeouts::default(),
        }
    }

    /// The HELO name for a source address (or the default when the OS chooses).
    pub fn helo_for(&self, ip: Option<IpAddr>) -> String {
        match ip {
            Some(ip) => helo_name(ip, &self.service_domain),
            None => self.default_helo.clone(),
        }
    }
}

/// The outbound MTA. Cheap to clone; clones share pools and the DNS cache.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: Arc<Inner>,
}

struct Inner {
    config: MtaConfig,
    resolver: MxResolver,
    tls: Arc<rustls::ClientConfig>,
    pools: Pools,
    /// Round-robin position over the source addresses.
    next_source: AtomicUsize,
    reaper: Once,
}

impl SmtpTransport {
    /// Builds the transport (fails only when the system resolver configuration is unreadable).
    /// The idle-connection reaper starts with the first delivery, on the current tokio runtime.
    pub fn new(config: MtaConfig) -> Result<SmtpTransport, String> {
        let resolver = MxResolver::with_options(config.resolver, config.dns.clone())?;
        Ok(SmtpTransport {
            inner: Arc::new(Inner {
                config,
                resolver,
                tls: crate::tls::client_config(),
                pools: Pools::default(),
                next_source: AtomicUsize::new(0),
                reaper: Once::new(),
            }),
        })
    }

    pub fn config(&self) -> &MtaConfig {
        &self.inner.config
    }

    /// The MX resolver in use (shares the cache).
    pub fn resolver(&self) -> &MxResolver {
        &self.inner.resolver
    }

    /// Idle pooled connections to a destination (route key), for tests and metrics.
    pub fn idle_connections(&self, route_key: &str) -> usize {
        self.inner
            .pools
            .get(route_key, self.inner.config.connections_per_destination)
            .idle_count()
    }

    fn start_reaper(&self) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let every = (self.inner.config.idle_timeout / 4).max(Duration::from_millis(250));
        self.inner.reaper.call_once(|| {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    let Some(inner) = weak.upgrade() else { return };
                    let closed = inner.pools.reap(inner.config.idle_timeout);
                    if closed > 0 {
                        debug!(closed, "closed idle outbound connections");
                    }
                }
            });
        });
    }

    fn pick_source(
        &self,
        allowed: &[IpAddr],
        target: IpAddr,
    ) -> Result<Option<IpAddr>, AttemptError> {
        if allowed.is_empty() {
            return Ok(None);
        }
        let same: Vec<IpAddr> = allowed
            .iter()
            .copied()
            .filter(|ip| ip.is_ipv4() == target.is_ipv4())
            .collect();
        if same.is_empty() {
            return Err(AttemptError::Connect(format!(
                "no source address of the same family as {target}"
            )));
        }
        let i = self.inner.next_source.fetch_add(1, Ordering::Relaxed);
        Ok(Some(same[i % same.len()]))
    }

    /// Opens a session to the first target (from `*next`) that accepts one.
    async fn open_next(
        &self,
        route: &Route,
        targets: &[(usize, IpAddr)],
        next: &mut usize,
        allowed: &[IpAddr],
        tls: TlsPolicy,
        last_error: &mut RecipientResult,
    ) -> Option<Session> {
        let c = &self.inner.config;
        while *next < targets.len() {
            let (h, ip) = targets[*next];
            *next += 1;
            let host = &route.hosts[h];
            let local_ip = match self.pick_source(allowed, ip) {
                Ok(l) => l,
                Err(e) => {
                    *last_error = RecipientResult::Error(e);
                    continue;
                }
            };
            let mut params = ConnectParams {
                remote: SocketAddr::new(ip, c.port),
                remote_host: host.name.clone(),
                local_ip,
                helo: c.helo_for(local_ip),
                tls,
                try_starttls: true,
                timeouts: c.timeouts.clone(),
            };
            let mut res = Session::open(&params, &self.inner.tls).await;
            if let (Err(OpenError::Failed(AttemptError::Tls(e))), TlsPolicy::Optional) = (&res, tls)
            {
                // Q-111 OPTIONAL: a failed handshake falls back to plaintext on a new connection.
                info!(host = %host.name, %ip, error = %e, "TLS handshake failed; retrying without STARTTLS");
                params.try_starttls = false;
                res = Session::open(&params, &self.inner.tls).await;
            }
            match res {
                Ok(s) => return Some(s),
                Err(OpenError::Failed(e)) => {
                    info!(host = %host.name, %ip, error = %e.describe(), "MX host unusable, trying the next");
                    *last_error = RecipientResult::Error(e);
                }
                Err(OpenError::Refused(r)) => {
                    info!(host = %host.name, %ip, reply = %r.to_smtp().line(), "MX host refused the session, trying the next");
                    *last_error = RecipientResult::Reply(r.to_smtp());
                }
            }
        }
        None
    }
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn deliver(&self, job: DeliveryJob) -> JobReport {
        self.start_reaper();
        let c = &self.inner.config;
        let allowed: Vec<IpAddr> = if job.source_ips.is_empty() {
            c.outbound_ips.clone()
        } else {
            job.source_ips.clone()
        };
        let mut report = JobReport {
            results: Vec::new(),
            remote_host: None,
            remote_ip: None,
            local_ip: None,
            helo: c.helo_for(allowed.first().copied()),
            tls: false,
        };
        let fail_all = |report: &mut JobReport, e: &RecipientResult| {
            report.results = job
                .recipients
                .iter()
                .map(|r| (r.clone(), e.clone()))
                .collect();
        };
        let route = match self.inner.resolver.route(&job.domain).await {
            Ok(r) => r,
            Err(e) => {
                info!(message_id = %job.message_id, domain = %job.domain, error = %e.describe(), "no route");
                fail_all(&mut report, &RecipientResult::Error(e));
                return report;
            }
        };
        let targets: Vec<(usize, IpAddr)> = route
            .hosts
            .iter()
            .enumerate()
            .flat_map(|(i, h)| h.addrs.iter().map(move |a| (i, *a)))
            .collect();
        let dest = self
            .inner
            .pools
            .get(&route.key, c.connections_per_destination);
        // Per-destination rate limit: wait for this message's slot before taking a connection.
        dest.pace(c.rate_per_destination).await;
        let usable = |s: &Session| {
            (job.tls == TlsPolicy::Optional || s.tls)
                && (allowed.is_empty() || allowed.contains(&s.local_ip))
        };

        let mut results: Vec<Option<RecipientResult>> = vec![None; job.recipients.len()];
        let mut pending: Vec<usize> = (0..job.recipients.len()).collect();
        let mut last_error =
            RecipientResult::Error(AttemptError::Connect("no MX address to try".into()));
        let mut next = 0;
        // The permit counts our connection against the destination's limit, whichever
        // session it is; it goes back to the pool with a reusable session.
        let (mut session, mut permit) = match dest.checkout(usable, c.idle_timeout).await {
            Checkout::Reused(conn) => (Some(conn.session), Some(conn.permit)),
            Checkout::Fresh(p) => (None, Some(p)),
        };
        while !pending.is_empty() {
            let mut s = match session.take() {
                Some(s) => s,
                None => match self
                    .open_next(
                        &route,
                        &targets,
                        &mut next,
                        &allowed,
                        job.tls,
                        &mut last_error,
                    )
                    .await
                {
                    Some(s) => s,
                    None => {
                        warn!(message_id = %job.message_id, route = %route.key, "no MX host accepted a session");
                        for &i in &pending {
                            results[i] = Some(last_error.clone());
                        }
                        break;
                    }
                },
            };
            report.remote_host = Some(s.remote_host.clone());
            report.remote_ip = Some(s.remote_ip);
            report.local_ip = Some(s.local_ip);
            report.helo = s.helo.clone();
            report.tls = s.tls;
            let rcpts: Vec<String> = pending.iter().map(|&i| job.recipients[i].clone()).collect();
            let outcome = s.send(&job.mail_from, &rcpts, &job.body).await;
            let mut undecided = Vec::new();
            for (k, r) in outcome.results.into_iter().enumerate() {
                match r {
                    Some(r) => results[pending[k]] = Some(r),
                    None => undecided.push(pending[k]),
                }
            }
            if outcome.reusable {
                // A reusable outcome decided every recipient (only aborts leave some open).
                debug_assert!(undecided.is_empty());
                if s.messages < c.messages_per_connection {
                    if let Some(permit) = permit.take() {
                        dest.checkin(Conn { session: s, permit });
                    }
                } else {
                    s.quit().await;
                }
            }
            // Not reusable: the session was aborted or broken (a 421 was already QUIT); drop it.
            pending = undecided;
            if let Some(abort) = outcome.abort {
                let more = next < targets.len();
                if !(abort.retry_elsewhere && more) {
                    for &i in &pending {
                        results[i] = Some(abort.result.clone());
                    }
                    break;
                }
                last_error = abort.result;
            }
        }
        drop(permit);
        report.results = job
            .recipients
            .iter()
            .zip(results)
            .map(|(r, res)| (r.clone(), res.unwrap_or_else(|| last_error.clone())))
            .collect();
        debug!(
            message_id = %job.message_id, domain = %job.domain, host = ?report.remote_host,
            tls = report.tls, "delivery attempt done"
        );
        report
    }
}

//! The authoritative responder of the instance zone (DECISIONS Q-65 (a)): UDP and TCP on one
//! address (`dns_addr`), answers from [`Zone`] plus the Easy DKIM keys of the shared store.
//!
//! The store is the source of truth, so every node sharing the database answers the same; a
//! node only keeps each token's answer for [`DnsServerOptions::cache_ttl`] (a few seconds), so
//! a key created, rotated or deleted on any node is served everywhere shortly after.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hickory_server::authority::MessageResponseBuilder;
use hickory_server::proto::op::{Edns, Header, MessageType, OpCode, ResponseCode};
use hickory_server::proto::rr::DNSClass;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::ServerFuture;
use tokio::net::{TcpListener, UdpSocket};

use crate::zone::{Place, Zone};

/// Where the Easy DKIM public keys come from (the composition root implements it on the
/// store). Errors are answered SERVFAIL, never NXDOMAIN: a verifier must not conclude that a
/// key is gone because the database hiccuped.
#[async_trait]
pub trait DkimKeys: Send + Sync + 'static {
    /// The `p=` value (base64 DER public key) behind Easy DKIM token `token` (lower case), or
    /// `None` when no identity has that token.
    async fn public_key(&self, token: &str) -> Result<Option<String>, String>;
}

/// Responder settings.
#[derive(Clone, Debug)]
pub struct DnsServerOptions {
    /// How long a token's answer (found or not) is reused by this node.
    pub cache_ttl: Duration,
    /// Idle timeout of a TCP connection.
    pub tcp_timeout: Duration,
    /// Tokens kept in the cache at most (cleared when full; bounded memory under random names).
    pub cache_entries: usize,
}

impl Default for DnsServerOptions {
    fn default() -> Self {
        DnsServerOptions {
            cache_ttl: Duration::from_secs(2),
            tcp_timeout: Duration::from_secs(10),
            cache_entries: 10_000,
        }
    }
}

/// The UDP socket and TCP listener of the responder, bound to the same address.
pub struct DnsListeners {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl DnsListeners {
    /// Binds UDP and TCP on `addr`. With port 0 the UDP socket picks the port and TCP binds the
    /// same one (retried a few times should that TCP port be taken).
    pub async fn bind(addr: SocketAddr) -> io::Result<DnsListeners> {
        let mut last = None;
        for _ in 0..16 {
            let udp = UdpSocket::bind(addr).await?;
            let bound = udp.local_addr()?;
            match TcpListener::bind(bound).await {
                Ok(tcp) => return Ok(DnsListeners { udp, tcp }),
                Err(e) if addr.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => {
                    last = Some(e)
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free port")))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

/// Answers queries until `shutdown` completes.
pub async fn run(
    listeners: DnsListeners,
    zone: Arc<Zone>,
    keys: Arc<dyn DkimKeys>,
    options: DnsServerOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let handler = Handler {
        zone,
        keys,
        cache: Mutex::new(HashMap::new()),
        options: options.clone(),
    };
    let mut server = ServerFuture::new(handler);
    server.register_socket(listeners.udp);
    server.register_listener(listeners.tcp, options.tcp_timeout);
    shutdown.await;
    server
        .shutdown_gracefully()
        .await
        .map_err(|e| io::Error::other(e.to_string()))
}

type Cached = (Instant, Option<String>);

struct Handler {
    zone: Arc<Zone>,
    keys: Arc<dyn DkimKeys>,
    /// token → (when fetched, public key).
    cache: Mutex<HashMap<String, Cached>>,
    options: DnsServerOptions,
}

impl Handler {
    async fn dkim_key(&self, token: &str) -> Result<Option<String>, String> {
        let now = Instant::now();
        if let Some((at, v)) = self.cache.lock().unwrap().get(token) {
            if now.duration_since(*at) < self.options.cache_ttl {
                return Ok(v.clone());
            }
        }
        let v = self.keys.public_key(token).await?;
        let mut cache = self.cache.lock().unwrap();
        if cache.len() >= self.options.cache_entries {
            cache.clear();
        }
        cache.insert(token.to_string(), (now, v.clone()));
        Ok(v)
    }
}

/// EDNS of the response (RFC 6891 §6.1.1): present when the query had one; payload at least 512
/// and at most 1232 (the DNS flag day 2020 size, no fragmentation).
fn response_edns(request: &Request) -> Option<Edns> {
    request.edns().map(|e| {
        let mut out = Edns::new();
        out.set_max_payload(e.max_payload().clamp(512, 1232));
        out
    })
}

#[async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let edns = response_edns(request);
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(e) = edns {
            builder.edns(e);
        }
        let fail = |code: ResponseCode| {
            let mut header = Header::response_from_request(request.header());
            header.set_response_code(code);
            header
        };
        let header = if request.message_type() != MessageType::Query {
            None
        } else if request.op_code() != OpCode::Query {
            Some(fail(ResponseCode::NotImp))
        } else if request.queries().len() != 1 {
            Some(fail(ResponseCode::FormErr))
        } else {
            None
        };
        if request.message_type() != MessageType::Query {
            // A response sent to us: never answer it (no reflection loops).
            return ResponseInfo::from(*request.header());
        }
        if let Some(h) = header {
            return send(&mut response_handle, builder.build_no_records(h)).await;
        }
        let query = &request.queries()[0];
        if query.query_class() != DNSClass::IN {
            return send(
                &mut response_handle,
                builder.build_no_records(fail(ResponseCode::Refused)),
            )
            .await;
        }
        let owner = query.original().name().clone();
        let key = match self.zone.place(&owner.to_ascii()) {
            Place::DkimToken(token) => match self.dkim_key(&token).await {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!(%token, error = %e, "DKIM key lookup failed: SERVFAIL");
                    return send(
                        &mut response_handle,
                        builder.build_no_records(fail(ResponseCode::ServFail)),
                    )
                    .await;
                }
            },
            _ => None,
        };
        let answer = self.zone.answer(&owner, query.query_type(), key.as_deref());
        let mut header = Header::response_from_request(request.header());
        header.set_authoritative(answer.authoritative);
        header.set_recursion_available(false);
        header.set_response_code(answer.rcode);
        let response = builder.build(
            header,
            answer.answers.iter(),
            std::iter::empty(),
            answer.authority.iter(),
            std::iter::empty(),
        );
        send(&mut response_handle, response).await
    }
}

async fn send<'a, R: ResponseHandler>(
    handle: &mut R,
    response: hickory_server::authority::MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a hickory_server::proto::rr::Record> + Send + 'a,
        impl Iterator<Item = &'a hickory_server::proto::rr::Record> + Send + 'a,
        impl Iterator<Item = &'a hickory_server::proto::rr::Record> + Send + 'a,
        impl Iterator<Item = &'a hickory_server::proto::rr::Record> + Send + 'a,
    >,
) -> ResponseInfo {
    match handle.send_response(response).await {
        Ok(info) => info,
        Err(e) => {
            tracing::debug!(error = %e, "cannot send DNS response");
            let mut h = Header::new();
            h.set_response_code(ResponseCode::ServFail);
            h.into()
        }
    }
}

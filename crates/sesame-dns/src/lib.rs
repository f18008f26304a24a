//! `sesame-dns`: Sesame's DNS adapter.
//!
//! - [`lookup`]: [`Lookup`], uncached TXT/CNAME/MX/A/SOA queries implementing
//!   [`sesame_model::dns::DnsLookup`] for identity verification (DECISIONS) and the
//!   DNS doctor.
//! - [`authoritative`]: [`AuthoritativeFirst`], the verification lookups that ask the zone's
//!   authoritative servers first and the configured resolver as a fallback.
//! - [`zone`]: the instance zone `<service_domain>` as data and the authoritative answer to one
//!   question (Q-63..Q-69).
//! - [`server`]: the UDP+TCP responder serving [`zone`] with the Easy DKIM keys of the shared
//!   store ([`server::DkimKeys`]).

pub mod authoritative;
pub mod lookup;
pub mod server;
pub mod zone;

pub use authoritative::AuthoritativeFirst;
pub use lookup::{Lookup, LookupOptions};
pub use server::{DkimKeys, DnsListeners, DnsServerOptions};
pub use zone::{Zone, ZoneConfig};

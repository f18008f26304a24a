//! `sesame-dns`: Sesame's DNS adapter.
//!
//! - [`lookup`]: [`Lookup`], uncached TXT/CNAME/MX/A/SOA queries implementing
//!   [`sesame_model::dns::DnsLookup`] for identity verification (DECISIONS) and the
//!   DNS doctor.

pub mod lookup;

pub use lookup::{Lookup, LookupOptions};

//! The DNS lookup port: what identity verification (spec D; DECISIONS) and the DNS
//! doctor ask of the DNS, as plain values. `sesame-dns` implements it on hickory; tests may
//! point it at a local authoritative server (knot) or at Sesame's own responder.
//!
//! Results keep the distinctions Q-85 needs to fill `VerificationInfo.ErrorType`:
//! NXDOMAIN → `HOST_NOT_FOUND`, NODATA → `TYPE_NOT_FOUND`, SERVFAIL/timeout → `DNS_SERVER_ERROR`.

use async_trait::async_trait;

/// Why a lookup found no record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// NXDOMAIN: the name does not exist.
    #[error("{0}: no such name (NXDOMAIN)")]
    HostNotFound(String),
    /// NOERROR with no record of the asked type (NODATA).
    #[error("{0}: no record of that type")]
    TypeNotFound(String),
    /// SERVFAIL, REFUSED, timeout, I/O: nothing can be concluded, try again later.
    #[error("{0}")]
    ServerError(String),
}

impl DnsError {
    /// The v2 `VerificationError` enum value.
    pub fn verification_error(&self) -> &'static str {
        match self {
            DnsError::HostNotFound(_) => "HOST_NOT_FOUND",
            DnsError::TypeNotFound(_) => "TYPE_NOT_FOUND",
            DnsError::ServerError(_) => "DNS_SERVER_ERROR",
        }
    }

    /// NXDOMAIN or NODATA: the DNS positively says there is no such record.
    pub fn is_negative(&self) -> bool {
        !matches!(self, DnsError::ServerError(_))
    }
}

/// One MX record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    /// Lower-case, without the trailing dot; "" for the null MX (RFC 7505).
    pub exchange: String,
}

/// The SOA of a zone apex (for `VerificationInfo.SOARecord`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoaRecord {
    /// Zone apex the SOA belongs to, lower-case, no trailing dot.
    pub zone: String,
    pub primary_name_server: String,
    pub admin_email: String,
    pub serial_number: u32,
}

/// Uncached DNS lookups (every call asks the server: verification must see a record the moment
/// it is published or removed). Names are given without the trailing dot.
#[async_trait]
pub trait DnsLookup: Send + Sync + 'static {
    /// TXT records at `name`, each record's character-strings joined (RFC 7208 §3.3).
    /// A CNAME at `name` is followed, as a DKIM/SPF verifier's resolver would.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
    /// The CNAME target at `name` (lower-case, no trailing dot).
    async fn cname(&self, name: &str) -> Result<String, DnsError>;
    /// MX records at `name`, in the order the server gave them.
    async fn mx(&self, name: &str) -> Result<Vec<MxRecord>, DnsError>;
    /// A and AAAA addresses of `name`, as text.
    async fn addresses(&self, name: &str) -> Result<Vec<std::net::IpAddr>, DnsError>;
    /// The SOA of the zone `name` is in (walks up to the apex).
    async fn soa(&self, name: &str) -> Result<SoaRecord, DnsError>;
}

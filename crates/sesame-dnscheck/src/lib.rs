//! `sesame-dnscheck`: the DNS doctor of issue 5 ("DMARC readiness").
//!
//! Given a domain and what Sesame expects of it ([`CheckInput`]: the identity's DKIM keys, its
//! custom MAIL FROM, the service domain and region), it fetches the domain's SPF, DKIM, DMARC
//! and MAIL FROM records through the [`sesame_model::dns::DnsLookup`] port ([`gather`]) and
//! evaluates them ([`check::evaluate`], pure and table-tested) into a [`Report`]: findings
//! point by point, whether DMARC passes via DKIM and via SPF under the domain's `adkim`/`aspf`,
//! readiness for `p=quarantine`/`p=reject`, and the records to publish ([`render`]: text, BIND,
//! CSV). The CLI (`sesame dns check`) and the API (`GET /_sesame/dns-check`) both call
//! [`run`]. See docs/dns-doctor.md.
//!
//! - [`spf`]: SPF records and the RFC 7208 §4.6.4 lookup count;
//! - [`dmarc`]: DMARC records, organizational domain (Public Suffix List), alignment;
//! - [`dkim`]: DKIM key records and RSA key length.

pub mod check;
pub mod dkim;
pub mod dmarc;
pub mod gather;
pub mod render;
pub mod spf;

pub use check::{evaluate, CheckInput, DkimSetup, ExpectedKey, Report, Severity, Verdict};
pub use gather::{gather, Observed};

/// Gathers and evaluates: the one code path of the CLI and the API.
pub async fn run(dns: &dyn sesame_model::dns::DnsLookup, input: &CheckInput) -> Report {
    let observed = gather(dns, input).await;
    evaluate(input, &observed)
}

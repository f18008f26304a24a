//! `message/feedback-report` (RFC 5965 §3): the machine-readable part of an ARF complaint.
//!
//! Why not `mail_auth::report::Feedback`: mail-auth pulls hickory-resolver and with it tokio
//! into its dependency tree unconditionally, which the pure crates must not have
//! (`scripts/check-pure-crates.sh`); the field syntax is small and shared with DSNs
//! (`fields.rs`), so the parser lives here on mail-parser alone.

use serde::Serialize;

use super::fields;

/// A parsed feedback report. Only `Feedback-Type` is required to call a part a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Arf {
    /// `Feedback-Type`, lower-cased as written (IANA: `abuse`, `auth-failure`, `fraud`,
    /// `not-spam`, `other`, `virus`; G-47). Mapping unknown types is the caller's call.
    pub feedback_type: String,
    /// `User-Agent` (→ `complaint.userAgent`, G-45).
    pub user_agent: Option<String>,
    /// `Version` (RFC 5965: `1`; some FBLs still send `0.1`).
    pub version: Option<String>,
    /// `Arrival-Date`, else the legacy `Received-Date` (G-45), converted to UTC Unix ms.
    pub arrival_date_ms: Option<i64>,
    /// `Original-Rcpt-To` addresses (often absent or redacted by the ISP, G-46).
    pub original_rcpt_to: Vec<String>,
    /// `Original-Mail-From` address.
    pub original_mail_from: Option<String>,
    /// `Reported-Domain` values.
    pub reported_domain: Vec<String>,
    /// `Source-IP` of the reported message.
    pub source_ip: Option<String>,
    /// `Reporting-MTA` verbatim.
    pub reporting_mta: Option<String>,
}

/// Parses the (transfer-decoded) body of a `message/feedback-report` part; `None` without a
/// `Feedback-Type`. All groups are read as one: the part has a single group by definition, and
/// a stray blank line from a sloppy generator should not hide the fields after it.
pub(crate) fn parse(text: &str) -> Option<Arf> {
    let groups = fields::groups(text);
    let first = |name: &str| groups.iter().find_map(|g| g.get(name));
    let all = |name: &str| -> Vec<String> {
        groups
            .iter()
            .flat_map(|g| g.all(name).filter_map(fields::address).collect::<Vec<_>>())
            .collect()
    };
    let feedback_type = first("Feedback-Type")?
        .split_whitespace()
        .next()?
        .to_ascii_lowercase();
    Some(Arf {
        feedback_type,
        user_agent: first("User-Agent").map(str::to_string),
        version: first("Version").map(str::to_string),
        arrival_date_ms: first("Arrival-Date")
            .or_else(|| first("Received-Date"))
            .and_then(fields::date_ms),
        original_rcpt_to: all("Original-Rcpt-To"),
        original_mail_from: first("Original-Mail-From").and_then(fields::address),
        reported_domain: groups
            .iter()
            .flat_map(|g| {
                g.all("Reported-Domain")
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect(),
        source_ip: first("Source-IP").map(str::to_string),
        reporting_mta: first("Reporting-MTA").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_feedback_type() {
        assert_eq!(parse("User-Agent: x\nVersion: 1\n"), None);
        let a = parse("Feedback-Type: Abuse\nReceived-Date: 8 Mar 2005 14:00:00 -0400\n").unwrap();
        assert_eq!(a.feedback_type, "abuse");
        assert_eq!(a.arrival_date_ms, Some(1_110_304_800_000));
        assert!(a.original_rcpt_to.is_empty());
    }
}

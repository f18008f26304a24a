//! Which identity covers an address (spec D-8..D-17; DECISIONS ).
//!
//! An address is covered, most specific first, by: the address identity itself (exact case,
//! Q-87), the same address without a `+label`, then its domain, then each parent domain
//! up to (not including) the top-level label. Settings are never merged across levels.

/// Candidate identity names for `address`, most specific first. Domains are lower-cased (they
/// are case-insensitive); the address keeps its case. Returns an empty list for a string that
/// is not `local@domain`.
pub fn candidates(address: &str) -> Vec<String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return vec![];
    };
    if local.is_empty() || domain.is_empty() {
        return vec![];
    }
    let mut out = vec![address.to_string()];
    if let Some((base, _label)) = local.split_once('+') {
        if !base.is_empty() {
            out.push(format!("{base}@{domain}"));
        }
    }
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    for i in 0..labels.len().saturating_sub(1) {
        out.push(labels[i..].join("."));
    }
    out
}

/// What the caller knows about one candidate identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known<'a> {
    pub name: &'a str,
    /// Verified for sending (v2 `VerifiedForSendingStatus`).
    pub verified: bool,
}

/// The identity that governs `address`: the most specific *verified* candidate. `None`
/// means the address may not be used as a sender.
pub fn resolve<'a>(address: &str, known: &[Known<'a>]) -> Option<&'a str> {
    candidates(address).iter().find_map(|c| {
        known
            .iter()
            .find(|k| k.verified && k.name == c.as_str())
            .map(|k| k.name)
    })
}

/// The bare address inside `Display Name <addr@example.com>` or `addr@example.com`.
pub fn bare_address(s: &str) -> &str {
    let s = s.trim();
    match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].trim(),
        _ => s,
    }
}

/// `Email address is not verified. The following identities failed the check in region
/// US-EAST-1: a@example.com, b@example.com` — identities as written (display names included),
/// region upper-cased.
pub fn not_verified_message(region: &str, failed: &[String]) -> String {
    const MAX: usize = 10;
    let mut list = failed
        .iter()
        .take(MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if failed.len() > MAX {
        list.push_str(", ...");
    }
    format!(
        "Email address is not verified. The following identities failed the check in region {}: {}",
        region.to_ascii_uppercase(),
        list
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// address, address without +label, domain, parent domains.
    #[test]
    fn candidate_order() {
        assert_eq!(
            candidates("Bob+news@Mail.Example.com"),
            [
                "Bob+news@Mail.Example.com",
                "Bob@Mail.Example.com",
                "mail.example.com",
                "example.com"
            ]
        );
        assert_eq!(
            candidates("a@example.com"),
            ["a@example.com", "example.com"]
        );
        assert!(candidates("no-at-sign").is_empty());
        assert!(candidates("@example.com").is_empty());
    }

    /// D-13/Q-88: the most specific verified identity wins; unverified ones are skipped.
    #[test]
    fn resolution_table() {
        let k = |name: &'static str, verified| Known { name, verified };
        let cases: &[(&str, &[Known], Option<&str>)] = &[
            (
                "a@example.com",
                &[k("example.com", true)],
                Some("example.com"),
            ),
            (
                "a@example.com",
                &[k("example.com", true), k("a@example.com", true)],
                Some("a@example.com"),
            ),
            (
                "a@example.com",
                &[k("a@example.com", false), k("example.com", true)],
                Some("example.com"),
            ),
            (
                "a@sub.example.com",
                &[k("example.com", true)],
                Some("example.com"),
            ),
            (
                "a@sub.example.com",
                &[k("sub.example.com", true), k("example.com", true)],
                Some("sub.example.com"),
            ),
            (
                "a+x@example.com",
                &[k("a@example.com", true)],
                Some("a@example.com"),
            ),
            // address identities are case-sensitive.
            ("A@example.com", &[k("a@example.com", true)], None),
            ("a@example.com", &[k("example.com", false)], None),
            ("a@example.org", &[k("example.com", true)], None),
        ];
        for (addr, known, want) in cases {
            assert_eq!(resolve(addr, known), *want, "{addr}");
        }
    }

    #[test]
    fn bare_addresses() {
        assert_eq!(bare_address("Jane <jane@example.com>"), "jane@example.com");
        assert_eq!(bare_address(" jane@example.com "), "jane@example.com");
        assert_eq!(bare_address("\"A <b>\" <c@d.com>"), "c@d.com");
    }

    /// exact text, upper-case region, truncated list.
    #[test]
    fn not_verified_text() {
        assert_eq!(
            not_verified_message("us-east-1", &["Jane <jane@example.com>".into()]),
            "Email address is not verified. The following identities failed the check in region US-EAST-1: Jane <jane@example.com>"
        );
        let many: Vec<String> = (0..12).map(|i| format!("u{i}@x.com")).collect();
        assert!(not_verified_message("eu-west-1", &many).ends_with("u9@x.com, ..."));
    }
}

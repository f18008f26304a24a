//! Mailbox providers ("ISPs", DECISIONS Q-134) by domain, and organisational domains: which
//! recipients an ISP's complaint most likely came from (G-46, Q-159), when the ISP redacted
//! the complainant's address.
//!
//! Q-134 asks for a configurable table keyed by domains and MX patterns; this is its default
//! part for domains (Gmail, Yahoo, Hotmail/Outlook, AOL, Apple). MX-based classification
//! (custom domains hosted by those providers) needs DNS and belongs to the callers that have it.

/// A mailbox provider of the Q-134 default table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isp {
    Gmail,
    Yahoo,
    Microsoft,
    Aol,
    Apple,
}

impl Isp {
    /// The ISP label of managed-pool warm-up, its metrics and VDM dimensions (Q-134, SH-5).
    pub fn label(self) -> &'static str {
        match self {
            Isp::Gmail => "Gmail",
            Isp::Yahoo => "Yahoo",
            Isp::Microsoft => "Hotmail",
            Isp::Aol => "AOL",
            Isp::Apple => "Apple",
        }
    }
}

/// The label of recipients the default table does not know (Q-134: "others = `Other`").
pub const OTHER: &str = "Other";

/// The ISP label of a recipient domain (SH-5, Q-134): the provider's [`Isp::label`], else
/// [`OTHER`]. Custom domains hosted by a provider are `Other` here: recognising them needs
/// their MX records, which the caller (delivery) only learns after choosing a source address.
pub fn isp_label(domain: &str) -> &'static str {
    isp_of(domain).map_or(OTHER, Isp::label)
}

/// Second-level labels that name one provider under any TLD (`yahoo.co.uk`, `hotmail.fr`).
const BRAND_LABELS: [(&str, Isp); 9] = [
    ("gmail", Isp::Gmail),
    ("googlemail", Isp::Gmail),
    ("yahoo", Isp::Yahoo),
    ("ymail", Isp::Yahoo),
    ("rocketmail", Isp::Yahoo),
    ("hotmail", Isp::Microsoft),
    ("outlook", Isp::Microsoft),
    ("aol", Isp::Aol),
    ("icloud", Isp::Apple),
];

/// Organisational domains whose label alone would be ambiguous (`live`, `me`, `mac`…), and the
/// providers' own infrastructure domains that send feedback (`yahoodns.net`, `google.com`).
const ORG_DOMAINS: [(&str, Isp); 10] = [
    ("google.com", Isp::Gmail),
    ("yahoodns.net", Isp::Yahoo),
    ("live.com", Isp::Microsoft),
    ("msn.com", Isp::Microsoft),
    ("microsoft.com", Isp::Microsoft),
    ("aim.com", Isp::Aol),
    ("me.com", Isp::Apple),
    ("mac.com", Isp::Apple),
    ("apple.com", Isp::Apple),
    ("verizonmedia.com", Isp::Yahoo),
];

/// Second-level labels under which ccTLDs register names (`example.co.uk`, `example.com.br`).
const CC_SLDS: [&str; 9] = ["co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"];

/// The organisational domain of `domain` (lower-cased): its last two labels, or three under a
/// ccTLD's registration level (`mail.example.co.uk` → `example.co.uk`). A heuristic in place of
/// the Public Suffix List, good for the ISP domains above and for comparing a reporter's domain
/// with recipients' domains.
pub fn org_domain(domain: &str) -> String {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && CC_SLDS.contains(&labels[n - 2]) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".")
}

/// The provider of `domain` (any subdomain of it counts), if it is one of the default table's.
pub fn isp_of(domain: &str) -> Option<Isp> {
    let org = org_domain(domain);
    if let Some((_, isp)) = ORG_DOMAINS.iter().find(|(d, _)| *d == org) {
        return Some(*isp);
    }
    let label = org.split('.').next()?;
    BRAND_LABELS
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, isp)| *isp)
}

/// Whether mail for `recipient_domain` is plausibly handled by whoever sends from
/// `reporter_domain`: the same organisational domain, or the same provider.
pub fn same_mailbox_provider(recipient_domain: &str, reporter_domain: &str) -> bool {
    if org_domain(recipient_domain) == org_domain(reporter_domain) {
        return true;
    }
    matches!((isp_of(recipient_domain), isp_of(reporter_domain)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_domain_table() {
        for (d, want) in [
            ("example.net", "example.net"),
            ("mx.Mail.Example.NET.", "example.net"),
            ("arf.mail.yahoo.com", "yahoo.com"),
            ("mail.example.co.uk", "example.co.uk"),
            ("example.co.uk", "example.co.uk"),
            ("yahoo.com.br", "yahoo.com.br"),
            ("a.b.example.de", "example.de"),
            ("localhost", "localhost"),
            ("", ""),
        ] {
            assert_eq!(org_domain(d), want, "{d}");
        }
    }

    #[test]
    fn isp_table() {
        for (d, want) in [
            ("gmail.com", Some(Isp::Gmail)),
            ("googlemail.com", Some(Isp::Gmail)),
            ("mx.google.com", Some(Isp::Gmail)),
            ("yahoo.co.uk", Some(Isp::Yahoo)),
            ("feedback.arf.mail.yahoo.com", Some(Isp::Yahoo)),
            ("mta7.am0.yahoodns.net", Some(Isp::Yahoo)),
            ("hotmail.fr", Some(Isp::Microsoft)),
            ("live.com", Some(Isp::Microsoft)),
            ("live.example", None),
            ("aol.com", Some(Isp::Aol)),
            ("icloud.com", Some(Isp::Apple)),
            ("me.com", Some(Isp::Apple)),
            ("example.net", None),
        ] {
            assert_eq!(isp_of(d), want, "{d}");
        }
    }

    /// SH-5 / Q-134: labels of the default table; everything else is `Other`.
    #[test]
    fn isp_labels() {
        for (d, want) in [
            ("gmail.com", "Gmail"),
            ("GoogleMail.com", "Gmail"),
            ("yahoo.fr", "Yahoo"),
            ("outlook.com", "Hotmail"),
            ("live.com", "Hotmail"),
            ("aol.com", "AOL"),
            ("icloud.com", "Apple"),
            ("example.net", "Other"),
            ("", "Other"),
        ] {
            assert_eq!(isp_label(d), want, "{d}");
        }
    }

    #[test]
    fn same_provider_table() {
        for (rcpt, reporter, want) in [
            ("example.net", "fbl.example.net", true),
            ("sub.example.net", "example.net", true),
            ("yahoo.com", "arf.mail.yahoo.com", true),
            ("ymail.com", "feedback.yahoo.com", true),
            ("hotmail.com", "outlook.com", true),
            ("gmail.com", "yahoo.com", false),
            ("example.org", "example.net", false),
            ("example.co.uk", "other.co.uk", false),
        ] {
            assert_eq!(
                same_mailbox_provider(rcpt, reporter),
                want,
                "{rcpt} vs {reporter}"
            );
        }
    }
}

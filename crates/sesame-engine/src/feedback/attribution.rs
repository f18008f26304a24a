//! Which of a message's recipients a report is about. Pure; tables at the bottom.
//!
//! Reports name recipients loosely: a DSN's `Final-Recipient` may be an alias the receiving
//! system expanded to (then `Original-Recipient` is ours), ISPs redact complainants (G-46), and
//! addresses come back in another case. Only recipients of the message itself are ever
//! reported or suppressed, never an address merely mentioned by the report.

use sesame_mail::feedback::Arf;
use sesame_policy::isp;

/// The message recipient `address` stands for (case-insensitive), in the message's spelling.
pub fn matching<'a>(originals: &'a [String], address: &str) -> Option<&'a String> {
    let address = address.trim();
    originals.iter().find(|o| o.eq_ignore_ascii_case(address))
}

fn domain(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>'))
        .filter(|d| !d.is_empty())
}

/// The host of an MTA field (`dns; mail.example.com (comment)` → `mail.example.com`).
fn mta_host(value: &str) -> Option<&str> {
    let v = value.split_once(';').map_or(value, |(_, h)| h).trim();
    v.split([' ', '(']).next().filter(|h| !h.is_empty())
}

/// `complainedRecipients` of an ARF complaint (G-46, DECISIONS Q-159), in the message's
/// recipient order:
/// 1. the report's `Original-Rcpt-To` addresses that are recipients of the message (exact);
/// 2. else the recipients hosted by the complaining provider: same organisational domain or
///    same mailbox provider (Q-134 table) as the redacted `Original-Rcpt-To` domains, the
///    report's `From` and its `Reporting-MTA`;
/// 3. else every recipient. Q-159 rejects "all recipients" as the rule, but a complaint that
///    reached this message's VERP address is about this message, and an empty list would
///    record a complaint against nobody; with one recipient per message (G-46's advice) this
///    is exact.
pub fn complained_recipients(
    originals: &[String],
    arf: &Arf,
    report_from: Option<&str>,
) -> Vec<String> {
    let exact: Vec<String> = originals
        .iter()
        .filter(|o| {
            arf.original_rcpt_to
                .iter()
                .any(|r| o.eq_ignore_ascii_case(r))
        })
        .cloned()
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    let reporters: Vec<&str> = arf
        .original_rcpt_to
        .iter()
        .filter_map(|r| domain(r))
        .chain(report_from.and_then(domain))
        .chain(arf.reporting_mta.as_deref().and_then(mta_host))
        .collect();
    let by_provider: Vec<String> = originals
        .iter()
        .filter(|o| {
            domain(o).is_some_and(|d| reporters.iter().any(|r| isp::same_mailbox_provider(d, r)))
        })
        .cloned()
        .collect();
    if !by_provider.is_empty() {
        return by_provider;
    }
    originals.to_vec()
}

/// The recipients an automatic reply came from: the one its `From` names, else all (RFC 3834
/// responders answer from the address mail was sent to, but forwarding and aliases change it).
pub fn auto_reply_recipients(originals: &[String], from: Option<&str>) -> Vec<String> {
    match from.and_then(|f| matching(originals, f)) {
        Some(r) => vec![r.clone()],
        None => originals.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn arf(rcpt_to: &[&str], reporting_mta: Option<&str>) -> Arf {
        Arf {
            feedback_type: "abuse".into(),
            original_rcpt_to: s(rcpt_to),
            reporting_mta: reporting_mta.map(str::to_string),
            ..Arf::default()
        }
    }

    /// Q-159 order: exact address, then provider/domain, then everyone.
    #[test]
    fn complained_recipients_table() {
        let originals = s(&[
            "Ann@Yahoo.com",
            "bob@gmail.com",
            "cy@example.net",
            "di@mail.example.net",
        ]);
        let cases: Vec<(Arf, Option<&str>, Vec<&str>)> = vec![
            // The ISP kept the address (any case).
            (arf(&["bob@GMAIL.com"], None), None, vec!["bob@gmail.com"]),
            // Redacted local part, domain kept.
            (
                arf(&["redacted@yahoo.com"], None),
                None,
                vec!["Ann@Yahoo.com"],
            ),
            // No Original-Rcpt-To: the report's From (a provider's FBL domain).
            (
                arf(&[], None),
                Some("feedback@arf.mail.yahoo.com"),
                vec!["Ann@Yahoo.com"],
            ),
            // Reporting-MTA of a corporate domain: its subdomains' recipients too.
            (
                arf(&[], Some("dns; mx1.example.net")),
                Some("fbl@isp.example"),
                vec!["cy@example.net", "di@mail.example.net"],
            ),
            // An address not among the recipients is never reported; nothing matches: all.
            (
                arf(&["eve@example.org"], None),
                Some("fbl@isp.example"),
                originals.iter().map(String::as_str).collect(),
            ),
        ];
        for (a, from, want) in cases {
            assert_eq!(
                complained_recipients(&originals, &a, from),
                s(&want),
                "{a:?} {from:?}"
            );
        }
    }

    #[test]
    fn auto_reply_recipients_table() {
        let originals = s(&["a@example.net", "b@example.net"]);
        assert_eq!(
            auto_reply_recipients(&originals, Some("B@Example.net")),
            s(&["b@example.net"])
        );
        assert_eq!(
            auto_reply_recipients(&originals, Some("alias@example.net")),
            originals
        );
        assert_eq!(auto_reply_recipients(&originals, None), originals);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            mta_host("dns; mail.example.com (1.2.3.4)"),
            Some("mail.example.com")
        );
        assert_eq!(mta_host("dns;mx.example.net"), Some("mx.example.net"));
        assert_eq!(mta_host(""), None);
        assert_eq!(domain("a@b.example"), Some("b.example"));
        assert_eq!(domain("nobody"), None);
        assert_eq!(
            matching(&s(&["A@x.example"]), " a@X.example "),
            Some(&"A@x.example".to_string())
        );
    }
}

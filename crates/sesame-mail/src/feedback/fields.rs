//! The field syntax shared by `message/delivery-status` (RFC 3464 §2.1) and
//! `message/feedback-report` (RFC 5965 §3.1): groups of RFC 5322-style `Name: value` fields,
//! folded lines allowed, groups separated by blank lines. Never fails: lines that are not fields
//! are skipped, so a sloppy generator still yields whatever fields it wrote correctly.

/// One group of fields, unfolded, in order. Names keep their spelling; lookups ignore case.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    fields: Vec<(String, String)>,
}

impl Group {
    /// The first value of `name` (case-insensitive), trimmed; `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`, in order (ARF repeats `Original-Rcpt-To`,
    /// `Reported-Domain`…).
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, v)| n.eq_ignore_ascii_case(name) && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Splits `text` into its non-empty field groups. CRLF and bare LF line ends are both accepted
/// (the part was already transfer-decoded; generators differ).
pub(crate) fn groups(text: &str) -> Vec<Group> {
    let mut out = Vec::new();
    let mut current = Group::default();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation (RFC 5322 §2.2.3): unfold onto the previous value.
            if let Some((_, value)) = current.fields.last_mut() {
                let more = line.trim();
                if !more.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        current
            .fields
            .push((name.to_string(), value.trim().to_string()));
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The address of a typed recipient field (`rfc822; user@example.net`, RFC 3464 §2.3.1/§2.3.2),
/// or of an ARF address field (`<user@example.net>`): the part after the type, angle brackets
/// and surrounding space removed. `None` when nothing is left.
pub(crate) fn address(value: &str) -> Option<String> {
    let bare = match value.split_once(';') {
        Some((_, rest)) => rest,
        None => value,
    };
    let bare = bare
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!bare.is_empty()).then(|| bare.to_string())
}

/// Unix ms of an RFC 5322 date (`Arrival-Date`, `Date`), timezone applied; `None` if invalid.
pub(crate) fn date_ms(value: &str) -> Option<i64> {
    let dt = mail_parser::DateTime::parse_rfc822(value)?;
    dt.is_valid().then(|| dt.to_timestamp() * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_unfold_and_split() {
        let text = "Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Tue, 14 Jan 2025\r\n \
                    10:00:01 +0000\r\n\r\n\r\nFinal-Recipient: rfc822; a@example.net\nAction: \
                    failed\nnot a field\nDiagnostic-Code: smtp; 550 5.1.1\n\tuser unknown\n\n";
        let g = groups(text);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].get("reporting-mta"), Some("dns; mx.example.net"));
        assert_eq!(
            g[0].get("ARRIVAL-DATE"),
            Some("Tue, 14 Jan 2025 10:00:01 +0000")
        );
        assert_eq!(g[1].get("Action"), Some("failed"));
        assert_eq!(
            g[1].get("Diagnostic-Code"),
            Some("smtp; 550 5.1.1 user unknown")
        );
        assert_eq!(g[1].get("Status"), None);
        assert!(groups("").is_empty());
        assert!(groups("\r\n\r\n  \r\n").is_empty());
    }

    #[test]
    fn repeated_fields_in_order() {
        let g = groups("Original-Rcpt-To: a@x\nOriginal-Rcpt-To:\nOriginal-Rcpt-To: b@x\n");
        let all: Vec<&str> = g[0].all("original-rcpt-to").collect();
        assert_eq!(all, ["a@x", "b@x"]);
    }

    #[test]
    fn address_table() {
        for (v, want) in [
            ("rfc822; nobody@example.net", Some("nobody@example.net")),
            ("rfc822;nobody@example.net", Some("nobody@example.net")),
            ("RFC822; <Nobody@Example.NET>", Some("Nobody@Example.NET")),
            ("<user@example.com>", Some("user@example.com")),
            ("user@example.com", Some("user@example.com")),
            ("rfc822;", None),
            ("", None),
        ] {
            assert_eq!(address(v).as_deref(), want, "{v}");
        }
    }

    #[test]
    fn date_table() {
        for (v, want) in [
            ("Tue, 14 Jan 2025 10:00:01 +0000", Some(1_736_848_801_000)),
            (
                "Tue, 14 Jan 2025 10:00:01 +0000 (UTC)",
                Some(1_736_848_801_000),
            ),
            ("Tue, 14 Jan 2025 12:00:01 +0200", Some(1_736_848_801_000)),
            ("14 Jan 2025 05:00:01 -0500", Some(1_736_848_801_000)),
            ("yesterday", None),
            ("", None),
        ] {
            assert_eq!(date_ms(v), want, "{v}");
        }
    }
}

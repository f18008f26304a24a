//! `message/delivery-status` (RFC 3464 §2): one group of per-message fields, then one group per
//! recipient. Values the product repeats in events (`Reporting-MTA`, `Diagnostic-Code`) are kept
//! verbatim; `Action` is lower-cased and `Status` reduced to its RFC 3463 code.

use serde::Serialize;

use super::fields::{self, Group};

/// A parsed delivery status notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dsn {
    /// `Reporting-MTA` verbatim, type included (`dns; mx.example.net`, Q-165, G-42).
    pub reporting_mta: Option<String>,
    /// `Arrival-Date` of the original message at the reporting MTA (Unix ms).
    pub arrival_date_ms: Option<i64>,
    /// One entry per per-recipient group, in order.
    pub recipients: Vec<DsnRecipient>,
}

/// The per-recipient fields of a DSN (RFC 3464 §2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DsnRecipient {
    /// `Final-Recipient` address, address type removed (`rfc822;` …), as written.
    pub final_recipient: Option<String>,
    /// `Original-Recipient` address (the `ORCPT` we sent, when the MTA kept it).
    pub original_recipient: Option<String>,
    /// `Action`, lower-cased: `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: Option<String>,
    /// `Status` as an RFC 3463 code (`5.1.1`); `None` when absent or not a valid code.
    pub status: Option<String>,
    /// `Diagnostic-Code` verbatim (`smtp; 550 5.1.1 user unknown`), folded lines joined.
    pub diagnostic_code: Option<String>,
    /// `Remote-MTA` verbatim (`dns; mx.example.net`).
    pub remote_mta: Option<String>,
}

impl DsnRecipient {
    /// The action, defaulting from the status class when a sloppy generator left it out.
    pub fn effective_action(&self) -> Option<&str> {
        if let Some(a) = &self.action {
            return Some(a.as_str());
        }
        match self.status.as_deref()?.as_bytes().first()? {
            b'5' => Some("failed"),
            b'4' => Some("delayed"),
            b'2' => Some("delivered"),
            _ => None,
        }
    }
}

/// Fields that mark a group as per-recipient (RFC 3464 §2.3). A generator that omits the
/// per-message group still yields its recipients.
const RECIPIENT_FIELDS: [&str; 4] = ["Final-Recipient", "Original-Recipient", "Action", "Status"];

/// Parses the (transfer-decoded) body of a `message/delivery-status` part. Never fails; an
/// empty or foreign body gives a `Dsn` without recipients.
pub(crate) fn parse(text: &str) -> Dsn {
    let mut dsn = Dsn::default();
    for group in fields::groups(text) {
        if dsn.reporting_mta.is_none() {
            dsn.reporting_mta = group.get("Reporting-MTA").map(str::to_string);
        }
        if dsn.arrival_date_ms.is_none() {
            dsn.arrival_date_ms = group.get("Arrival-Date").and_then(fields::date_ms);
        }
        if RECIPIENT_FIELDS.iter().any(|f| group.get(f).is_some()) {
            dsn.recipients.push(recipient(&group));
        }
    }
    dsn
}

fn recipient(g: &Group) -> DsnRecipient {
    DsnRecipient {
        final_recipient: g.get("Final-Recipient").and_then(fields::address),
        original_recipient: g.get("Original-Recipient").and_then(fields::address),
        action: g
            .get("Action")
            .and_then(|a| a.split_whitespace().next())
            .map(|a| a.to_ascii_lowercase()),
        status: g.get("Status").and_then(status_code),
        diagnostic_code: g.get("Diagnostic-Code").map(str::to_string),
        remote_mta: g.get("Remote-MTA").map(str::to_string),
    }
}

/// RFC 3463 §2 `class "." subject "." detail`: class 2, 4 or 5, subject and detail of 1–3
/// digits. Anything after the code (a comment) is dropped.
pub fn status_code(value: &str) -> Option<String> {
    let code = value
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()?;
    let parts: Vec<&str> = code.split('.').collect();
    let digits = |s: &str| (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && digits(parts[1])
        && digits(parts[2]);
    ok.then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_code_table() {
        for (v, want) in [
            ("5.1.1", Some("5.1.1")),
            ("5.1.10", Some("5.1.10")),
            ("4.4.7 (delivery time expired)", Some("4.4.7")),
            ("2.0.0", Some("2.0.0")),
            ("5.1.1(bad)", Some("5.1.1")),
            ("3.1.1", None),
            ("5.1", None),
            ("5.1.1.1", None),
            ("5.1234.1", None),
            ("550", None),
            ("", None),
        ] {
            assert_eq!(status_code(v).as_deref(), want, "{v}");
        }
    }

    /// No per-message group, no Action: recipients still come out, the action from the class.
    #[test]
    fn sloppy_generator() {
        let d = parse("Final-Recipient: rfc822; a@example.net\nStatus: 4.2.2\n");
        assert_eq!(d.reporting_mta, None);
        assert_eq!(d.recipients.len(), 1);
        assert_eq!(d.recipients[0].effective_action(), Some("delayed"));
        let empty = parse("this is not a delivery status\n");
        assert!(empty.recipients.is_empty());
    }
}

//! A DSN recipient's `Action`/`Status`/`Diagnostic-Code` → one (`bounceType`,
//! `bounceSubType`) pair of the G-44 table. Pure; tables at the bottom.
//!
//! The class of the RFC 3463 status decides permanence (5 → `Permanent`, 4 → `Transient`),
//! not the action: an MTA that gives up on a temporary condition reports `Action: failed` with
//! `4.4.x`, and SES reports a transient bounce when retries stop (D-127). G-44 allows the
//! specific subtypes only with `Transient`, and so does SES for mailbox-full and size and
//! content refusals even when the remote said 5xx (they may succeed later or with other
//! content), so those map to `Transient` whatever the class:
//!
//! | status | subtype |
//! |---|---|
//! | `x.2.2` mailbox full | `Transient`/`MailboxFull` |
//! | `x.2.3`, `x.3.4` too large | `Transient`/`MessageTooLarge` |
//! | diagnostic names an attachment (`x.6.x`, `x.7.x`) | `Transient`/`AttachmentRejected` |
//! | `x.6.x` media/content, or `x.7.x` whose diagnostic says spam/content | `Transient`/`ContentRejected` |
//! | any other `5.x.x` (unknown user `5.1.1`, …) | `Permanent`/`General` (as the simulator's `bounce@`, E-80) |
//! | any other `4.x.x` | `Transient`/`General` |
//! | no valid status, or a `2.x.x` with `failed` | `Undetermined`/`Undetermined` |
//!
//! `Permanent`/`NoEmail` ("the recipient address could not be extracted", D-127) is decided by
//! the caller, which knows whether a DSN recipient matched one of the message's recipients.

use sesame_events::bounce_types::{self, Kind};

/// What the DSN says happened to a recipient: `Some(kind)` for a bounce, `None` for a
/// non-failure report (`delivered`, `relayed`, `expanded`: positive DSNs, nothing to record).
pub fn dsn_kind(
    action: Option<&str>,
    status: Option<&str>,
    diagnostic: Option<&str>,
) -> Option<Kind> {
    match action {
        Some("failed") | Some("delayed") => {}
        Some(_) => return None,
        None if status.is_none() => return Some(bounce_types::UNDETERMINED_UNDETERMINED),
        None if status.is_some_and(|s| s.starts_with('2')) => return None,
        None => {}
    }
    let Some(status) = status else {
        return Some(bounce_types::UNDETERMINED_UNDETERMINED);
    };
    let mut parts = status.split('.');
    let (Some(class), Some(subject), Some(detail)) = (parts.next(), parts.next(), parts.next())
    else {
        return Some(bounce_types::UNDETERMINED_UNDETERMINED);
    };
    let diag = diagnostic.unwrap_or("").to_ascii_lowercase();
    let kind = match (class, subject, detail) {
        ("4" | "5", "2", "2") => bounce_types::TRANSIENT_MAILBOX_FULL,
        ("4" | "5", "2", "3") | ("4" | "5", "3", "4") => bounce_types::TRANSIENT_MESSAGE_TOO_LARGE,
        ("4" | "5", "6" | "7", _) if diag.contains("attachment") => {
            bounce_types::TRANSIENT_ATTACHMENT_REJECTED
        }
        ("4" | "5", "6", _) => bounce_types::TRANSIENT_CONTENT_REJECTED,
        ("4" | "5", "7", _) if ["spam", "content"].iter().any(|w| diag.contains(w)) => {
            bounce_types::TRANSIENT_CONTENT_REJECTED
        }
        ("5", _, _) => bounce_types::PERMANENT_GENERAL,
        ("4", _, _) => bounce_types::TRANSIENT_GENERAL,
        _ => bounce_types::UNDETERMINED_UNDETERMINED,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_events::bounce_types::*;

    /// (action, status, diagnostic, expected kind).
    type Row = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<Kind>,
    );

    /// The module table, row by row, plus the actions that are not bounces.
    #[test]
    fn dsn_kind_table() {
        let rows: &[Row] = &[
            (
                Some("failed"),
                Some("5.1.1"),
                Some("smtp; 550 5.1.1 user unknown"),
                Some(PERMANENT_GENERAL),
            ),
            (
                Some("failed"),
                Some("5.1.10"),
                None,
                Some(PERMANENT_GENERAL),
            ),
            (Some("failed"), Some("5.0.0"), None, Some(PERMANENT_GENERAL)),
            (
                Some("failed"),
                Some("5.2.2"),
                Some("smtp; 552 5.2.2 mailbox full"),
                Some(TRANSIENT_MAILBOX_FULL),
            ),
            (
                Some("delayed"),
                Some("4.2.2"),
                None,
                Some(TRANSIENT_MAILBOX_FULL),
            ),
            (
                Some("failed"),
                Some("5.3.4"),
                None,
                Some(TRANSIENT_MESSAGE_TOO_LARGE),
            ),
            (
                Some("failed"),
                Some("5.2.3"),
                None,
                Some(TRANSIENT_MESSAGE_TOO_LARGE),
            ),
            (
                Some("failed"),
                Some("5.6.1"),
                Some("smtp; 550 5.6.1 Attachment type not allowed"),
                Some(TRANSIENT_ATTACHMENT_REJECTED),
            ),
            (
                Some("failed"),
                Some("5.7.1"),
                Some("smtp; 554 5.7.1 attachment blocked"),
                Some(TRANSIENT_ATTACHMENT_REJECTED),
            ),
            (
                Some("failed"),
                Some("5.6.0"),
                None,
                Some(TRANSIENT_CONTENT_REJECTED),
            ),
            (
                Some("failed"),
                Some("5.7.1"),
                Some("smtp; 554 5.7.1 Message rejected as spam"),
                Some(TRANSIENT_CONTENT_REJECTED),
            ),
            (
                Some("failed"),
                Some("5.7.1"),
                Some("smtp; 550 5.7.1 relaying denied"),
                Some(PERMANENT_GENERAL),
            ),
            (
                Some("failed"),
                Some("4.4.7"),
                Some("delivery time expired"),
                Some(TRANSIENT_GENERAL),
            ),
            (
                Some("delayed"),
                Some("4.4.1"),
                None,
                Some(TRANSIENT_GENERAL),
            ),
            (Some("failed"), None, None, Some(UNDETERMINED_UNDETERMINED)),
            (
                Some("failed"),
                Some("2.0.0"),
                None,
                Some(UNDETERMINED_UNDETERMINED),
            ),
            (None, Some("5.1.1"), None, Some(PERMANENT_GENERAL)),
            (None, None, None, Some(UNDETERMINED_UNDETERMINED)),
            (None, Some("2.0.0"), None, None),
            (Some("delivered"), Some("2.0.0"), None, None),
            (Some("relayed"), Some("2.0.0"), None, None),
            (Some("expanded"), Some("2.0.0"), None, None),
        ];
        for (action, status, diag, want) in rows {
            assert_eq!(
                dsn_kind(*action, *status, *diag),
                *want,
                "{action:?} {status:?} {diag:?}"
            );
            if let Some((t, s)) = want {
                assert!(is_valid(t, s), "G-44 combination {t}/{s}");
            }
        }
    }
}

//! Automatic replies (RFC 3834): vacation and out-of-office answers sent to the envelope
//! sender — our VERP address. SES reports them as `Bounce` `Transient`/`General` and does not
//! count them (G-44, Q-166).
//!
//! RFC 3834 §5 makes `Auto-Submitted: auto-replied` the marker; older and proprietary
//! responders use `X-Autoreply`, `X-Autorespond` or `Precedence: auto_reply`, and Exchange
//! marks its "Automatic reply:" answers `Auto-Submitted: auto-generated` (which alone means any
//! machine-made mail, e.g. a non-standard bounce, so it needs the subject as well).

use super::fields::{self, Group};

/// Subject prefixes of auto-replies that only say `Auto-Submitted: auto-generated`
/// (lower-case; Exchange/Outlook in several languages, common vacation tools).
const AUTO_REPLY_SUBJECTS: [&str; 7] = [
    "automatic reply:",
    "auto-reply:",
    "autoreply:",
    "out of office",
    "out of the office",
    "réponse automatique",
    "automatische antwort",
];

/// The top-level header fields of `raw` (up to the first empty line), unfolded.
pub(crate) fn top_headers(raw: &[u8]) -> Group {
    let text = String::from_utf8_lossy(raw);
    let end = [text.find("\r\n\r\n"), text.find("\n\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    fields::groups(&text[..end])
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Whether the top-level headers mark an automatic reply (see the module docs).
pub(crate) fn is_auto_reply(top: &Group) -> bool {
    let auto_submitted = top.get("Auto-Submitted").map(|v| {
        v.split([';', ' ', '('])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    });
    if auto_submitted.as_deref() == Some("auto-replied") {
        return true;
    }
    if top.get("X-Autoreply").is_some() || top.get("X-Autorespond").is_some() {
        return true;
    }
    if top
        .get("Precedence")
        .is_some_and(|p| p.eq_ignore_ascii_case("auto_reply"))
    {
        return true;
    }
    let subject = top.get("Subject").unwrap_or("").to_lowercase();
    auto_submitted.as_deref() == Some("auto-generated")
        && AUTO_REPLY_SUBJECTS.iter().any(|p| subject.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_table() {
        for (headers, want) in [
            ("Auto-Submitted: auto-replied\n", true),
            ("Auto-Submitted: Auto-Replied (vacation)\n", true),
            ("Auto-Submitted: no\n", false),
            ("X-Autoreply: yes\n", true),
            ("X-Autorespond: on\n", true),
            ("Precedence: auto_reply\n", true),
            ("Precedence: bulk\n", false),
            (
                "Auto-Submitted: auto-generated\nSubject: Automatic reply: Hello\n",
                true,
            ),
            (
                "Auto-Submitted: auto-generated\nSubject: Undeliverable: Hello\n",
                false,
            ),
            ("Subject: Out of office\n", false),
            ("", false),
        ] {
            let top = top_headers(format!("{headers}\nbody\n").as_bytes());
            assert_eq!(is_auto_reply(&top), want, "{headers:?}");
        }
    }

    #[test]
    fn top_headers_stop_at_the_body() {
        let top = top_headers(b"Subject: a\r\n\r\nAuto-Submitted: auto-replied\r\n");
        assert_eq!(top.get("Subject"), Some("a"));
        assert_eq!(top.get("Auto-Submitted"), None);
    }
}

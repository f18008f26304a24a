//! A reader's view of a finished message (the dev inbox shows it, LocalStack-style: subject, and
//! the first `text/plain` and `text/html` bodies, decoded).

use mail_parser::{MessageParser, PartType};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// Parses `raw`; a message mail-parser cannot read gives an empty summary (never panics).
pub fn summary(raw: &[u8]) -> Summary {
    let Some(m) = MessageParser::default().parse(raw) else {
        return Summary::default();
    };
    // Only parts that really are text/plain or text/html: mail-parser's `body_text`/`body_html`
    // convert one into the other, which would invent a body the sender never wrote.
    let text = m.text_body.iter().find_map(|&id| match &m.part(id)?.body {
        PartType::Text(t) => Some(t.to_string()),
        _ => None,
    });
    let html = m.html_body.iter().find_map(|&id| match &m.part(id)?.body {
        PartType::Html(h) => Some(h.to_string()),
        _ => None,
    });
    Summary {
        subject: m.subject().map(str::to_string),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let alt = b"Subject: =?utf-8?q?Hi_=C3=A9?=\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n";
        let html_only = b"Subject: H\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n";
        for (raw, want) in [
            (
                &alt[..],
                Summary {
                    subject: Some("Hi \u{e9}".into()),
                    text: Some("plain".into()),
                    html: Some("<p>html</p>".into()),
                },
            ),
            (
                &html_only[..],
                Summary {
                    subject: Some("H".into()),
                    text: None,
                    html: Some("<b>x</b>\r\n".into()),
                },
            ),
            (&b""[..], Summary::default()),
        ] {
            assert_eq!(summary(raw), want);
        }
    }
}

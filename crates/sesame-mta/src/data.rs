//! Pure helpers for the MAIL and DATA commands: dot-stuffing (RFC 5321 §4.5.2), the MAIL FROM
//! parameters (RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8).

use crate::reply::Capabilities;

/// The DATA payload: `body` with every line starting with `.` doubled (RFC 5321 §4.5.2), a
/// CRLF added when the body does not end with one, and the `.` CRLF terminator.
pub fn dot_stuff(body: &[u8]) -> Vec<u8> {
    let dots = body.iter().filter(|&&b| b == b'.').count();
    let mut out = Vec::with_capacity(body.len() + dots.min(4096) + 5);
    let mut at_line_start = true;
    for &b in body {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        // A bare LF also starts a line for the receiver's purposes: stuff after it too.
        at_line_start = b == b'\n';
    }
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        if body.ends_with(b"\r") {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Whether the body needs `BODY=8BITMIME` (any octet above 127).
pub fn has_8bit(body: &[u8]) -> bool {
    body.iter().any(|&b| b >= 0x80)
}

/// Why a message cannot be offered to this server at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsendable {
    /// RFC 1870 §6.3: larger than the announced `SIZE`.
    TooLarge { limit: u64 },
    /// RFC 6531 §3.2: a non-ASCII address and no `SMTPUTF8`.
    NeedsSmtpUtf8,
}

/// The `MAIL FROM` command line (with CRLF) for this server's capabilities.
pub fn mail_from_command(
    mail_from: &str,
    recipients: &[String],
    body: &[u8],
    caps: &Capabilities,
) -> Result<String, Unsendable> {
    let mut cmd = format!("MAIL FROM:<{mail_from}>");
    if let Some(limit) = caps.size {
        if limit > 0 && body.len() as u64 > limit {
            return Err(Unsendable::TooLarge { limit });
        }
        cmd.push_str(&format!(" SIZE={}", body.len()));
    }
    if caps.eight_bit_mime && has_8bit(body) {
        // Without 8BITMIME the body is sent unchanged: converting it to quoted-printable
        // would break the DKIM body hash it was signed with.
        cmd.push_str(" BODY=8BITMIME");
    }
    let utf8 = !mail_from.is_ascii() || recipients.iter().any(|r| !r.is_ascii());
    if utf8 {
        if !caps.smtputf8 {
            return Err(Unsendable::NeedsSmtpUtf8);
        }
        cmd.push_str(" SMTPUTF8");
    }
    cmd.push_str("\r\n");
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_table() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"a\r\nb\r\n", b"a\r\nb\r\n.\r\n"),
            (b".a\r\n", b"..a\r\n.\r\n"),
            (b"x\r\n.\r\ny\r\n", b"x\r\n..\r\ny\r\n.\r\n"),
            (b"x\r\n..two\r\n", b"x\r\n...two\r\n.\r\n"),
            (b"no final crlf", b"no final crlf\r\n.\r\n"),
            (b"ends in cr\r", b"ends in cr\r\n.\r\n"),
            (b"a.b\r\n", b"a.b\r\n.\r\n"),
            (b"", b".\r\n"),
            (b"bare\n.lf\r\n", b"bare\n..lf\r\n.\r\n"),
        ];
        for (input, want) in cases {
            assert_eq!(
                String::from_utf8_lossy(&dot_stuff(input)),
                String::from_utf8_lossy(want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn mail_from_parameters() {
        let rcpts = vec!["a@b.test".to_string()];
        let none = Capabilities::default();
        assert_eq!(
            mail_from_command("s@x.test", &rcpts, b"hi\r\n", &none).unwrap(),
            "MAIL FROM:<s@x.test>\r\n"
        );
        assert_eq!(
            mail_from_command("", &rcpts, b"hi\r\n", &none).unwrap(),
            "MAIL FROM:<>\r\n"
        );
        let all = Capabilities {
            esmtp: true,
            size: Some(100),
            eight_bit_mime: true,
            smtputf8: true,
            ..Capabilities::default()
        };
        assert_eq!(
            mail_from_command("s@x.test", &rcpts, "é\r\n".as_bytes(), &all).unwrap(),
            "MAIL FROM:<s@x.test> SIZE=4 BODY=8BITMIME\r\n"
        );
        assert_eq!(
            mail_from_command("s@x.test", &["ü@b.test".into()], b"x\r\n", &all).unwrap(),
            "MAIL FROM:<s@x.test> SIZE=3 SMTPUTF8\r\n"
        );
        assert_eq!(
            mail_from_command("s@x.test", &rcpts, &[b'x'; 101], &all),
            Err(Unsendable::TooLarge { limit: 100 })
        );
        // SIZE 0: no announced limit, but the parameter is still sent.
        let unlimited = Capabilities {
            size: Some(0),
            ..Capabilities::default()
        };
        assert_eq!(
            mail_from_command("s@x.test", &rcpts, &[b'x'; 101], &unlimited).unwrap(),
            "MAIL FROM:<s@x.test> SIZE=101\r\n"
        );
        assert_eq!(
            mail_from_command("s@x.test", &["ü@b.test".into()], b"x\r\n", &none),
            Err(Unsendable::NeedsSmtpUtf8)
        );
        // 8-bit body without 8BITMIME: sent unchanged, no parameter.
        assert_eq!(
            mail_from_command("s@x.test", &rcpts, "é".as_bytes(), &none).unwrap(),
            "MAIL FROM:<s@x.test>\r\n"
        );
    }
}

//! SMTP replies (RFC 5321 §4.2) and EHLO capabilities, parsed strictly and without I/O.
//!
//! We do not use `smtp-proto`'s `ResponseReceiver` here although the crate is in the
//! workspace: it ignores the code of continuation lines (so `250-a` / `550 b` is accepted as
//! a 250), keeps only the enhanced status of the last line it saw, and gives no access to
//! individual lines for EHLO keyword parsing. A reply decides whether a message is delivered,
//! bounced or retried, so a malformed one must be a protocol error, not a guess.

use sesame_model::SmtpReply;

/// RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; real servers exceed it a little.
/// Longer lines are a protocol error rather than unbounded buffering.
pub const MAX_LINE: usize = 2048;
/// At most this many lines in one reply (EHLO replies are the longest, ~20 lines).
pub const MAX_LINES: usize = 200;

/// One complete reply as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// RFC 3463 enhanced status (`5.1.1`), when the first line starts with one whose class
    /// matches the reply code's first digit.
    pub status: Option<String>,
    /// Text of every line after the code (and after the enhanced status when present).
    pub lines: Vec<String>,
}

impl Reply {
    pub fn class(&self) -> u16 {
        self.code / 100
    }
    pub fn is_positive(&self) -> bool {
        self.class() == 2
    }
    pub fn is_intermediate(&self) -> bool {
        self.class() == 3
    }
    /// The model's view: lines joined by a space.
    pub fn to_smtp(&self) -> SmtpReply {
        SmtpReply {
            code: self.code,
            status: self.status.clone(),
            text: self.lines.join(" ").trim().to_string(),
        }
    }
}

/// Why bytes are not a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid SMTP reply: {}", self.0)
    }
}

/// Takes one complete reply off the front of `buf`. `Ok(None)`: more bytes are needed.
/// Lines end in CRLF; a bare LF is tolerated (RFC 5321 §4.1.1 robustness, as Postfix does).
/// Grammar (RFC 5321 §4.2): `*( code "-" [text] CRLF ) code [ SP text ] CRLF`, the same code
/// on every line.
pub fn take_reply(buf: &mut Vec<u8>) -> Result<Option<Reply>, SyntaxError> {
    let mut pos = 0;
    let mut code = None;
    let mut raw_lines: Vec<String> = Vec::new();
    loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            if buf.len() - pos > MAX_LINE {
                return Err(SyntaxError(format!("line longer than {MAX_LINE} octets")));
            }
            return Ok(None);
        };
        let mut line = &buf[pos..pos + nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.len() > MAX_LINE {
            return Err(SyntaxError(format!("line longer than {MAX_LINE} octets")));
        }
        let (this_code, last, text) = parse_line(line)?;
        match code {
            None => code = Some(this_code),
            Some(c) if c != this_code => {
                return Err(SyntaxError(format!(
                    "continuation line code {this_code} differs from {c}"
                )))
            }
            _ => {}
        }
        raw_lines.push(text);
        pos += nl + 1;
        if last {
            break;
        }
        if raw_lines.len() >= MAX_LINES {
            return Err(SyntaxError(format!("more than {MAX_LINES} lines")));
        }
    }
    buf.drain(..pos);
    let code = code.expect("at least one line");
    // The enhanced status is taken from the first line; servers repeat it on each line
    // (`250-2.0.0 a` / `250 2.0.0 b`), so it is stripped wherever it appears identically.
    let status = raw_lines
        .first()
        .and_then(|l| enhanced_status(l, code))
        .map(str::to_string);
    let lines = raw_lines
        .into_iter()
        .map(|l| match &status {
            Some(s) => match l.strip_prefix(s.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with(' ') => rest.trim_start().into(),
                _ => l,
            },
            None => l,
        })
        .collect();
    Ok(Some(Reply {
        code,
        status,
        lines,
    }))
}

/// `(code, is_last_line, text)` of one line without its line ending.
fn parse_line(line: &[u8]) -> Result<(u16, bool, String), SyntaxError> {
    let shown = || String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(SyntaxError(format!("no 3-digit code in {:?}", shown())));
    }
    let code =
        (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
    // RFC 5321 §4.2.1: first digit 2..5, second digit 0..5.
    if !(2..=5).contains(&(code / 100)) || (code / 10) % 10 > 5 {
        return Err(SyntaxError(format!("reply code {code} out of range")));
    }
    let (last, text) = match line.get(3) {
        None => (true, &line[3..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(SyntaxError(format!("bad separator in {:?}", shown()))),
    };
    // Replies are ASCII (RFC 5321) or UTF-8 (RFC 6531); anything else is shown lossily
    // rather than refused: the text is for humans, the code is what decides.
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

/// The RFC 3463 `class.subject.detail` at the start of `text`, if its class matches the reply
/// code (RFC 2034 §4: a mismatching one is not an enhanced status code).
fn enhanced_status(text: &str, code: u16) -> Option<&str> {
    let end = text.find(' ').unwrap_or(text.len());
    let cand = &text[..end];
    let mut parts = cand.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let class_ok =
        matches!(class, "2" | "4" | "5") && class.as_bytes()[0] - b'0' == (code / 100) as u8;
    (class_ok && digits(subject, 3) && digits(detail, 3)).then_some(cand)
}

/// What the server offers in its EHLO reply (RFC 5321 §4.1.1.1 keywords).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server answered EHLO (false: HELO fallback, no extensions at all).
    pub esmtp: bool,
    pub starttls: bool,
    pub pipelining: bool,
    /// RFC 1870: `SIZE` offered; `Some(0)` means no fixed limit.
    pub size: Option<u64>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub enhanced_status_codes: bool,
}

impl Capabilities {
    /// From an EHLO 250 reply: the first line is the greeting, each further line a keyword.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities {
            esmtp: true,
            ..Capabilities::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(kw) = words.next() else { continue };
            match kw.to_ascii_uppercase().as_str() {
                "STARTTLS" => caps.starttls = true,
                "PIPELINING" => caps.pipelining = true,
                // `SIZE` alone or `SIZE 0` = no limit announced; garbage = treat as no limit.
                "SIZE" => caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                _ => {}
            }
        }
        caps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Result<Option<Reply>, SyntaxError> {
        let mut b = s.as_bytes().to_vec();
        take_reply(&mut b)
    }

    #[test]
    fn replies_table() {
        // (input, code, status, lines)
        let cases: &[(&str, u16, Option<&str>, &[&str])] = &[
            ("220 mx.test ESMTP\r\n", 220, None, &["mx.test ESMTP"]),
            (
                "250 2.0.0 Ok: queued as X\r\n",
                250,
                Some("2.0.0"),
                &["Ok: queued as X"],
            ),
            (
                "550 5.1.1 <a@b>: User unknown\r\n",
                550,
                Some("5.1.1"),
                &["<a@b>: User unknown"],
            ),
            ("250\r\n", 250, None, &[""]),
            (
                "354 End data with <CR><LF>.<CR><LF>\n",
                354,
                None,
                &["End data with <CR><LF>.<CR><LF>"],
            ),
            // Class mismatch: not an enhanced status code (RFC 2034 §4).
            ("550 2.1.1 odd\r\n", 550, None, &["2.1.1 odd"]),
            ("451 4.3.0\r\n", 451, Some("4.3.0"), &[""]),
            ("250 1.2.3.4 is here\r\n", 250, None, &["1.2.3.4 is here"]),
            (
                "452-4.2.2 first\r\n452 4.2.2 second\r\n",
                452,
                Some("4.2.2"),
                &["first", "second"],
            ),
            (
                "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
                250,
                None,
                &["mx.test", "PIPELINING", "SIZE 1000"],
            ),
        ];
        for (input, code, status, lines) in cases {
            let r = one(input)
                .unwrap()
                .unwrap_or_else(|| panic!("incomplete: {input:?}"));
            assert_eq!(r.code, *code, "{input:?}");
            assert_eq!(r.status.as_deref(), *status, "{input:?}");
            assert_eq!(
                r.lines,
                lines.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{input:?}"
            );
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        for bad in [
            "25 short\r\n",
            "abc def\r\n",
            "250_x\r\n",
            "650 out of range\r\n",
            "160 out of range\r\n",
            "270 second digit\r\n",
            "250-ok\r\n550 changed code\r\n",
        ] {
            assert!(one(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("250 {}\r\n", "x".repeat(MAX_LINE + 10));
        assert!(one(&long).is_err());
    }

    #[test]
    fn partial_and_pipelined_replies() {
        let mut b = b"250-first\r\n250 sec".to_vec();
        assert_eq!(take_reply(&mut b).unwrap(), None);
        assert_eq!(b.len(), 18, "nothing consumed until complete");
        b.extend_from_slice(b"ond\r\n250 2.1.0 Ok\r\n550 5.1.1 no\r\n");
        let r1 = take_reply(&mut b).unwrap().unwrap();
        assert_eq!(r1.lines, vec!["first", "second"]);
        let r2 = take_reply(&mut b).unwrap().unwrap();
        assert_eq!((r2.code, r2.status.as_deref()), (250, Some("2.1.0")));
        let r3 = take_reply(&mut b).unwrap().unwrap();
        assert_eq!(r3.to_smtp().line(), "550 5.1.1 no");
        assert!(b.is_empty());
        assert_eq!(take_reply(&mut b).unwrap(), None);
    }

    #[test]
    fn to_smtp_joins_lines() {
        let r = one("550-5.7.1 Blocked\r\n550-5.7.1 see https://x\r\n550 5.7.1 bye\r\n")
            .unwrap()
            .unwrap();
        let s = r.to_smtp();
        assert_eq!(s.status.as_deref(), Some("5.7.1"));
        assert_eq!(s.text, "Blocked see https://x bye");
        assert_eq!(s.line(), "550 5.7.1 Blocked see https://x bye");
    }

    #[test]
    fn ehlo_capabilities() {
        let r = one(
            "250-mx.rcpt1.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n\
             250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n",
        )
        .unwrap()
        .unwrap();
        let c = Capabilities::from_ehlo(&r);
        assert_eq!(
            c,
            Capabilities {
                esmtp: true,
                starttls: true,
                pipelining: true,
                size: Some(10_240_000),
                eight_bit_mime: true,
                smtputf8: true,
                enhanced_status_codes: true,
            }
        );
        let bare = Capabilities::from_ehlo(&one("250-x\r\n250 size\r\n").unwrap().unwrap());
        assert_eq!(bare.size, Some(0));
        assert!(!bare.starttls && !bare.pipelining);
        // The greeting line is not a keyword even when it looks like one.
        let g = Capabilities::from_ehlo(&one("250 STARTTLS\r\n").unwrap().unwrap());
        assert!(!g.starttls);
    }
}

//! Splits a raw message into its header fields and body without decoding anything (RFC 5322
//! §2.1, §2.2.3). `finalize` and `dkim::sign` need the exact bytes of each field, which a full
//! parser does not keep; `inspect` uses it for the duplicate-header rule (B-60).

/// One header field as it appears in the message: `raw` spans the name, colon, value and every
/// continuation line, including the final line ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a str,
    pub raw: &'a [u8],
}

impl Field<'_> {
    /// The value after the colon, unfolded (CR/LF removed) and trimmed.
    pub fn value(&self) -> String {
        let colon = self.raw.iter().position(|&b| b == b':').unwrap_or(0);
        let v: Vec<u8> = self.raw[colon + 1..]
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        String::from_utf8_lossy(&v).trim().to_string()
    }
}

/// A message cut into its header section and body. `header_len` includes the blank line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub fields: Vec<Field<'a>>,
    /// Bytes of the header section including the empty separator line (0 if there is no
    /// separator: then the whole message is header).
    pub header_len: usize,
    /// The separator line as found (`\r\n`, `\n`, or empty when the message has no body).
    pub separator: &'a [u8],
    pub body: &'a [u8],
}

/// Why a header section cannot be split into fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitError {
    Empty,
    /// A line in the header section that is neither `name: value` nor a continuation.
    NotAHeaderLine {
        line: usize,
    },
    /// A continuation line before the first field.
    LeadingContinuation,
}

/// Returns the length of the line starting at `at`, including its line ending.
fn line_len(raw: &[u8], at: usize) -> usize {
    match memchr(b'\n', &raw[at..]) {
        Some(i) => i + 1,
        None => raw.len() - at,
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// RFC 5322 §3.6.8: a field name is 1..n printable ASCII characters except colon.
fn is_field_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

/// Splits `raw` into header fields and body. Accepts CRLF and bare-LF line endings.
pub fn split(raw: &[u8]) -> Result<Split<'_>, SplitError> {
    if raw.is_empty() {
        return Err(SplitError::Empty);
    }
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut at = 0;
    let mut line_no = 0;
    while at < raw.len() {
        let len = line_len(raw, at);
        let line = &raw[at..at + len];
        line_no += 1;
        if line == b"\r\n" || line == b"\n" {
            return Ok(Split {
                fields,
                header_len: at + len,
                separator: line,
                body: &raw[at + len..],
            });
        }
        if line[0] == b' ' || line[0] == b'\t' {
            let last = fields.last_mut().ok_or(SplitError::LeadingContinuation)?;
            let start = last.raw.as_ptr() as usize - raw.as_ptr() as usize;
            last.raw = &raw[start..at + len];
        } else {
            let colon = memchr(b':', line).ok_or(SplitError::NotAHeaderLine { line: line_no })?;
            // RFC 5322 obsolete syntax allows WSP before the colon; accept and trim it.
            let name = trim_end(&line[..colon]);
            if !is_field_name(name) {
                return Err(SplitError::NotAHeaderLine { line: line_no });
            }
            let name = std::str::from_utf8(name)
                .map_err(|_| SplitError::NotAHeaderLine { line: line_no })?;
            fields.push(Field { name, raw: line });
        }
        at += len;
    }
    Ok(Split {
        fields,
        header_len: raw.len(),
        separator: b"",
        body: b"",
    })
}

fn trim_end(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && (b[end - 1] == b' ' || b[end - 1] == b'\t') {
        end -= 1;
    }
    &b[..end]
}

/// Converts bare LF line endings to CRLF, leaving existing CRLF untouched (RFC 5321 §2.3.8).
pub fn to_crlf(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bare = raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'));
    if !bare {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_folded_fields_and_body() {
        let raw = b"From: a@b.c\r\nSubject: one\r\n two\r\nX: y\r\n\r\nbody\r\n";
        let s = split(raw).unwrap();
        let names: Vec<_> = s.fields.iter().map(|f| f.name).collect();
        assert_eq!(names, ["From", "Subject", "X"]);
        assert_eq!(s.fields[1].raw, b"Subject: one\r\n two\r\n");
        assert_eq!(s.fields[1].value(), "one two");
        assert_eq!(s.body, b"body\r\n");
        assert_eq!(s.header_len, raw.len() - 6);
    }

    #[test]
    fn rejects_what_is_not_a_header_section() {
        let table: &[(&[u8], SplitError)] = &[
            (b"", SplitError::Empty),
            (
                b"hello world\r\n\r\n",
                SplitError::NotAHeaderLine { line: 1 },
            ),
            (b" x: y\r\n\r\n", SplitError::LeadingContinuation),
            (
                b"Bad Name: y\r\n\r\n",
                SplitError::NotAHeaderLine { line: 1 },
            ),
        ];
        for (raw, want) in table {
            assert_eq!(split(raw).unwrap_err(), *want, "{raw:?}");
        }
    }

    #[test]
    fn bare_lf_becomes_crlf_and_crlf_stays() {
        assert_eq!(&*to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(matches!(to_crlf(b"a\r\n"), std::borrow::Cow::Borrowed(_)));
    }
}

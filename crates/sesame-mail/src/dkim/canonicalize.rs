//! RFC 6376 §3.4 canonicalisation: `relaxed` for header fields, `simple` for the body — the
//! `c=relaxed/simple` SES uses (D-89, D-90, Q-96).

/// §3.4.2 relaxed header: lower-case name, unfold, collapse runs of WSP to one SP, drop WSP at
/// the end of the value and around the colon; ends with CRLF. `raw` is one whole field.
pub fn relaxed_header(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
    let mut out: Vec<u8> = raw[..colon]
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_lowercase())
        .collect();
    out.push(b':');
    let mut pending_space = false;
    let mut started = false;
    for &b in raw.get(colon + 1..).unwrap_or_default() {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => pending_space = started,
            _ => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                started = true;
                out.push(b);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// §3.4.3 simple body: unchanged, except that trailing empty lines are reduced to one CRLF
/// (an empty body becomes CRLF). The body must already use CRLF line endings.
pub fn simple_body(body: &[u8]) -> Vec<u8> {
    let mut end = body.len();
    while end >= 2 && &body[end - 2..end] == b"\r\n" {
        end -= 2;
    }
    let mut out = body[..end].to_vec();
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6376 §3.4.5 examples.
    #[test]
    fn rfc6376_examples() {
        assert_eq!(relaxed_header(b"A: X\r\n"), b"a:X\r\n");
        assert_eq!(relaxed_header(b"B : Y\t\r\n\tZ  \r\n"), b"b:Y Z\r\n");
        assert_eq!(
            simple_body(b" C \r\nD \t E\r\n\r\n\r\n"),
            b" C \r\nD \t E\r\n"
        );
        assert_eq!(simple_body(b""), b"\r\n");
        assert_eq!(simple_body(b"\r\n\r\n"), b"\r\n");
        assert_eq!(simple_body(b"x"), b"x\r\n");
    }
}

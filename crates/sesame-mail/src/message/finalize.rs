//! The last edit before signing: the service's own `Date` and `Message-ID` (B-62, B-63,
//! ), and removal of the `X-SES-*` control headers and `Bcc`. Everything
//! else stays byte-exact — no body re-encoding — so customer content and signatures survive.

use super::inspect::SES_CONTROL_HEADERS;
use super::split::{split, to_crlf};

/// Returns the message with `Date: {date_rfc2822}` and
/// `Message-ID: <{message_id}@{message_id_domain}>` (Q-113: the domain is `email.<sd>`) as its
/// first two fields, every earlier `Date`/`Message-ID`, `Bcc` and `X-SES-*` control header
/// removed, and all other bytes unchanged.
///
/// Line endings: SMTP (RFC 5321 §2.3.8) and DKIM (RFC 6376 §3.4) work on CRLF lines, so a
/// message submitted with bare LF (common from API clients) has its lone LFs turned into CRLF;
/// a CRLF message is copied byte for byte. A message whose header section cannot be split is
/// returned with only the new fields prepended — `inspect` rejects such input before this.
pub fn finalize(
    raw: &[u8],
    message_id: &str,
    date_rfc2822: &str,
    message_id_domain: &str,
) -> Vec<u8> {
    let raw = to_crlf(raw);
    let mut out = Vec::with_capacity(raw.len() + 128);
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(date_rfc2822.as_bytes());
    out.extend_from_slice(b"\r\nMessage-ID: <");
    out.extend_from_slice(message_id.as_bytes());
    out.push(b'@');
    out.extend_from_slice(message_id_domain.as_bytes());
    out.extend_from_slice(b">\r\n");
    let Ok(cut) = split(&raw) else {
        out.extend_from_slice(&raw);
        return out;
    };
    for field in &cut.fields {
        if !is_removed(field.name) {
            out.extend_from_slice(field.raw);
        }
    }
    out.extend_from_slice(cut.separator);
    out.extend_from_slice(cut.body);
    out
}

fn is_removed(name: &str) -> bool {
    ["Date", "Message-ID", "Bcc"]
        .iter()
        .chain(SES_CONTROL_HEADERS.iter())
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// An SES-shaped message id: 16 lowercase hex digits of time — the `0100` prefix SES
/// uses followed by the millisecond timestamp in 12 hex digits — then `-`, a UUID v4 built from
/// `random`, and `-000000`; 60 characters. Time and randomness are parameters (sans-I/O).
pub fn new_message_id(now_ms: u64, random: [u8; 16]) -> String {
    let mut r = random;
    r[6] = (r[6] & 0x0f) | 0x40; // RFC 9562 §5.4: version 4
    r[8] = (r[8] & 0x3f) | 0x80; // variant 10
    let h: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "0100{:012x}-{}-{}-{}-{}-{}-000000",
        now_ms & 0xffff_ffff_ffff,
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Mon, 23 Nov 2026 06:30:00 +0000";

    /// B-62, B-63, Q-113: Date and Message-ID replaced, control headers and Bcc removed, the
    /// rest byte-exact.
    #[test]
    fn replaces_and_removes_headers_only() {
        let raw = b"Date: Tue, 1 Jan 2019 00:00:00 +0000\r\n\
From: a@example.com\r\n\
Message-Id: <old@client>\r\n\
Bcc: hidden@example.org\r\n\
X-SES-CONFIGURATION-SET: cs\r\n\
x-ses-message-tags: a=b,\r\n c=d\r\n\
X-SES-Other: stays\r\n\
Subject:  odd   spacing \r\n\
\r\n\
body =E2=82=AC\r\n\r\n";
        let out = finalize(raw, "ID", DATE, "email.example.net");
        let want = format!(
            "Date: {DATE}\r\nMessage-ID: <ID@email.example.net>\r\nFrom: a@example.com\r\n\
X-SES-Other: stays\r\nSubject:  odd   spacing \r\n\r\nbody =E2=82=AC\r\n\r\n"
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn inserts_when_absent_and_turns_bare_lf_into_crlf() {
        let out = finalize(b"From: a@b.c\n\nline1\nline2\r\n", "X", DATE, "d");
        assert_eq!(
            out,
            format!("Date: {DATE}\r\nMessage-ID: <X@d>\r\nFrom: a@b.c\r\n\r\nline1\r\nline2\r\n")
                .into_bytes()
        );
    }

    /// shape `0100` + 12 hex ms, uuid v4, `-000000`, 60 characters.
    #[test]
    fn message_id_shape() {
        let table = [
            (
                0x018c_5a6b_7c8d_u64,
                [0u8; 16],
                "0100018c5a6b7c8d-00000000-0000-4000-8000-000000000000-000000",
            ),
            (
                1_700_000_000_000,
                [0xff; 16],
                "0100018bcfe56800-ffffffff-ffff-4fff-bfff-ffffffffffff-000000",
            ),
        ];
        for (ms, rnd, want) in table {
            let id = new_message_id(ms, rnd);
            assert_eq!(id, want);
            assert_eq!(id.len(), 60);
        }
    }

    /// Golden files `testdata/finalize/NNN.eml` → `NNN.out` (a mismatch writes `NNN.failed`).
    /// For CRLF input the body bytes must come out identical (Q-116: untouched parts are
    /// byte-identical) and no `X-SES-` control header may survive.
    #[test]
    fn finalize_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/finalize");
        let mut seen = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let id = new_message_id(1_795_000_000_000, [7; 16]);
            let out = finalize(&raw, &id, DATE, "email.example.net");
            let golden = std::fs::read(path.with_extension("out")).unwrap_or_default();
            if out != golden {
                std::fs::write(path.with_extension("failed"), &out).unwrap();
            }
            assert!(out == golden, "{} differs from its .out", path.display());

            let after = split(&out).unwrap();
            let before = split(&raw).unwrap();
            if !raw.windows(2).any(|w| w[0] != b'\r' && w[1] == b'\n') {
                assert_eq!(after.body, before.body, "{}: body changed", path.display());
            }
            assert!(after.fields.iter().all(|f| {
                !SES_CONTROL_HEADERS
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(f.name))
            }));
            let count = |n: &str| {
                after
                    .fields
                    .iter()
                    .filter(|f| f.name.eq_ignore_ascii_case(n))
                    .count()
            };
            assert_eq!(
                (count("Date"), count("Message-ID"), count("Bcc")),
                (1, 1, 0)
            );
            seen += 1;
        }
        assert!(seen >= 1, "no fixtures in {}", dir.display());
    }
}

//! The SES content rules as pure functions: raw-message limits (B-52, B-60, B-67, Q-107),
//! v2 custom headers (B-65, Q-18) and envelope address syntax (B-44..B-46, Q-20).

use super::inspect::Inspected;
use super::reject::Rejection;

/// B-60: the 60 fields that may appear at most once in a message header, spelled as in the
/// seed. Matched case-insensitively; `acceptLanguage` is listed on purpose (B-61).
pub const SINGLE_OCCURRENCE_HEADERS: [&str; 60] = [
    "Accept-Language",
    "acceptLanguage",
    "Archived-At",
    "Auto-Submitted",
    "Bounces-to",
    "Comments",
    "Content-Alternative",
    "Content-Base",
    "Content-Class",
    "Content-Description",
    "Content-Disposition",
    "Content-Duration",
    "Content-ID",
    "Content-Language",
    "Content-Length",
    "Content-Location",
    "Content-MD5",
    "Content-Transfer-Encoding",
    "Content-Type",
    "Date",
    "Delivered-To",
    "Disposition-Notification-Options",
    "Disposition-Notification-To",
    "DKIM-Signature",
    "DomainKey-Signature",
    "Errors-To",
    "From",
    "Importance",
    "In-Reply-To",
    "Keywords",
    "List-Archive",
    "List-Help",
    "List-Id",
    "List-Owner",
    "List-Post",
    "List-Subscribe",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Message-Context",
    "Message-ID",
    "MIME-Version",
    "Organization",
    "Original-From",
    "Original-Message-ID",
    "Original-Recipient",
    "Original-Subject",
    "Precedence",
    "Priority",
    "References",
    "Reply-To",
    "Return-Path",
    "Return-Receipt-To",
    "Sender",
    "Solicitation",
    "Sensitivity",
    "Subject",
    "Thread-Index",
    "Thread-Topic",
    "User-Agent",
    "VBR-Info",
];

/// B-67: the 90 blocked attachment extensions, without the dot, lower case.
const BLOCKED_EXTENSIONS: [&str; 90] = [
    "ade", "adp", "app", "asp", "bas", "bat", "cer", "chm", "cmd", "com", "cpl", "crt", "csh",
    "der", "exe", "fxp", "gadget", "hlp", "hta", "inf", "ins", "isp", "its", "js", "jse", "ksh",
    "lib", "lnk", "mad", "maf", "mag", "mam", "maq", "mar", "mas", "mat", "mau", "mav", "maw",
    "mda", "mdb", "mde", "mdt", "mdw", "mdz", "msc", "msh", "msh1", "msh1xml", "msh2", "msh2xml",
    "mshxml", "msi", "msp", "mst", "ops", "pcd", "pif", "plg", "prf", "prg", "ps1", "ps1xml",
    "ps2", "ps2xml", "psc1", "psc2", "reg", "scf", "scr", "sct", "shb", "shs", "sys", "tmp", "url",
    "vb", "vbe", "vbs", "vps", "vsmacros", "vss", "vst", "vsw", "vxd", "ws", "wsc", "wsf", "wsh",
    "xnk",
];

/// B-65: header names a v2 Simple/Template `Headers` entry may not set (12).
pub const FORBIDDEN_CUSTOM_HEADERS: [&str; 12] = [
    "BCC",
    "CC",
    "Content-Disposition",
    "Content-Type",
    "Date",
    "From",
    "Message-ID",
    "MIME-Version",
    "Reply-To",
    "Return-Path",
    "Subject",
    "To",
];

/// Q-18 / model `MessageHeaderList`: at most 15 custom headers.
pub const MAX_CUSTOM_HEADERS: usize = 15;

/// The limits a raw message is checked against. They are configuration values with the AWS
/// defaults (DECISIONS "every seed number is a config value"), so they are passed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// bytes of the MIME message as transmitted.
    pub max_message_bytes: usize,
    /// B-52 / A-43.
    pub max_mime_parts: usize,
}

impl Limits {
    /// v1 `SendRawEmail`/`SendEmail`/`SendTemplatedEmail`/`SendBulkTemplatedEmail`: 10 MiB.
    pub const V1: Limits = Limits {
        max_message_bytes: 10 * 1024 * 1024,
        max_mime_parts: 500,
    };
    /// v2 `SendEmail`/`SendBulkEmail` and SMTP: 40 MiB.
    pub const V2_AND_SMTP: Limits = Limits {
        max_message_bytes: 40 * 1024 * 1024,
        max_mime_parts: 500,
    };
}

/// The 90 blocked extensions of B-67 (lower case, no dot).
pub fn blocked_extensions() -> &'static [&'static str] {
    &BLOCKED_EXTENSIONS
}

/// the blocked extension a file name ends in, if any — the last extension,
/// case-insensitive. Trailing dots and spaces are ignored because Windows ignores them too
/// (`virus.exe.` runs as `virus.exe`).
pub fn blocked_extension(file_name: &str) -> Option<&'static str> {
    let name = file_name.trim_end_matches(['.', ' ', '\t']);
    let (_, ext) = name.rsplit_once('.')?;
    BLOCKED_EXTENSIONS
        .iter()
        .find(|b| b.eq_ignore_ascii_case(ext))
        .copied()
}

/// Applies the raw-message rules in a fixed order: size, MIME parts (B-52),
/// single-occurrence headers (B-60, Q-114), blocked attachments (B-67, Q-115), and a `From`
/// field (A-92, RFC 5322 §3.6).
pub fn validate_raw(inspected: &Inspected, limits: Limits) -> Result<(), Rejection> {
    if inspected.total_bytes > limits.max_message_bytes {
        return Err(Rejection::MessageTooLong {
            size: inspected.total_bytes,
            max: limits.max_message_bytes,
        });
    }
    if inspected.mime_parts > limits.max_mime_parts {
        return Err(Rejection::TooManyMimeParts {
            count: inspected.mime_parts,
            max: limits.max_mime_parts,
        });
    }
    if let Some(name) = first_duplicate(&inspected.header_names) {
        return Err(Rejection::DuplicateHeader { name });
    }
    for file_name in &inspected.attachment_names {
        if let Some(ext) = blocked_extension(file_name) {
            return Err(Rejection::BlockedAttachment {
                file_name: file_name.clone(),
                extension: ext.to_string(),
            });
        }
    }
    if !inspected.has_header("From") {
        return Err(Rejection::MissingHeader {
            name: "From".into(),
        });
    }
    Ok(())
}

/// The first listed single-occurrence header that appears a second time, named with the
/// seed's spelling (B-60) so the text does not depend on the sender's capitalisation.
fn first_duplicate(names: &[String]) -> Option<String> {
    let listed = |n: &str| {
        SINGLE_OCCURRENCE_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(n))
    };
    names.iter().enumerate().find_map(|(i, n)| {
        let canonical = listed(n)?;
        names[..i]
            .iter()
            .any(|m| m.eq_ignore_ascii_case(n))
            .then(|| canonical.to_string())
    })
}

/// v2 `Message.Headers` (Simple/Template content, `SendBulkEmail`): at most 15, no
/// service-defined names (B-65), names `[!-9;-@A-~]{1,126}` and values `[ -~]{1,995}` (model
/// `MessageHeaderName`/`MessageHeaderValue`).
pub fn validate_custom_headers(headers: &[(String, String)]) -> Result<(), Rejection> {
    if headers.len() > MAX_CUSTOM_HEADERS {
        return Err(Rejection::TooManyHeaders {
            count: headers.len(),
            max: MAX_CUSTOM_HEADERS,
        });
    }
    for (name, value) in headers {
        let name_ok = (1..=126).contains(&name.len())
            && name
                .bytes()
                .all(|b| (b'!'..=b'~').contains(&b) && b != b':');
        if !name_ok {
            return Err(Rejection::InvalidHeaderName { name: name.clone() });
        }
        if let Some(f) = FORBIDDEN_CUSTOM_HEADERS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(name))
        {
            return Err(Rejection::ForbiddenHeader {
                name: f.to_string(),
            });
        }
        let value_ok =
            (1..=995).contains(&value.len()) && value.bytes().all(|b| (b' '..=b'~').contains(&b));
        if !value_ok {
            return Err(Rejection::InvalidHeaderValue { name: name.clone() });
        }
    }
    Ok(())
}

/// Why an envelope address is refused (Q-20: v1 `InvalidParameterValue`, v2
/// `BadRequestException`, SMTP `553` ). Texts are the ones SES returns; besides the
/// two the seed names (H-56, Q-20) they are the address-syntax messages SES echoes from its
/// RFC 822 address checker.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("There are non-ASCII characters in the email address")]
    NonAscii,
    #[error("Missing final '@domain'")]
    MissingFinalDomain,
    #[error("Empty address")]
    Empty,
    #[error("Missing local name")]
    MissingLocalName,
    #[error("Missing domain")]
    MissingDomain,
    #[error("Local address starts with dot")]
    LocalStartsWithDot,
    #[error("Local address ends with dot")]
    LocalEndsWithDot,
    #[error("Local address contains dot-dot")]
    LocalDotDot,
    #[error("Local address contains control or whitespace")]
    LocalControlOrWhitespace,
    #[error("Local address contains illegal character")]
    LocalIllegalCharacter,
    #[error("Domain starts with dot")]
    DomainStartsWithDot,
    #[error("Domain contains dot-dot")]
    DomainDotDot,
    #[error("Domain contains control or whitespace")]
    DomainControlOrWhitespace,
    #[error("Domain contains illegal character")]
    DomainIllegalCharacter,
    #[error("Missing '>'")]
    MissingCloseBracket,
}

/// Validates an envelope address (B-45: `Source`, `Destinations`, v2 `FromEmailAddress` and
/// `Destination`), bare or as `Display Name <local@domain>`:
/// - B-44 / H-56: 7-bit ASCII only — a Unicode domain must be Punycode, a Unicode display name
///   must be an RFC 2047 encoded-word; Punycode (`xn--`) in the local part means a Unicode
///   mailbox, which SES does not support (no SMTPUTF8, Q-20), and gets the same error;
/// - RFC 5321 §4.1.2 / RFC 5322 §3.4.1 syntax: dot-atom local part (or quoted string),
///   domain of letters, digits, hyphens and dots, or a `[...]` literal.
///
/// Case is kept as given: identities match case-sensitively (B-46), which is the caller's rule.
pub fn validate_address(addr: &str) -> Result<(), AddressError> {
    if !addr.is_ascii() {
        return Err(AddressError::NonAscii);
    }
    let spec = match addr.rfind('<') {
        Some(open) => {
            let rest = &addr[open + 1..];
            let close = rest.find('>').ok_or(AddressError::MissingCloseBracket)?;
            &rest[..close]
        }
        None => addr,
    }
    .trim();
    if spec.is_empty() {
        return Err(AddressError::Empty);
    }
    let (local, domain) = spec
        .rsplit_once('@')
        .ok_or(AddressError::MissingFinalDomain)?;
    if local.is_empty() {
        return Err(AddressError::MissingLocalName);
    }
    if domain.is_empty() {
        return Err(AddressError::MissingDomain);
    }
    check_local(local)?;
    check_domain(domain)
}

fn check_local(local: &str) -> Result<(), AddressError> {
    if local.len() >= 2 && local.starts_with('"') && local.ends_with('"') {
        let inner = &local[1..local.len() - 1];
        return if inner
            .bytes()
            .any(|b| b == b'\r' || b == b'\n' || b < 0x20 || b == 0x7f)
        {
            Err(AddressError::LocalControlOrWhitespace)
        } else {
            Ok(())
        };
    }
    if local.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(AddressError::LocalControlOrWhitespace);
    }
    if local.starts_with('.') {
        return Err(AddressError::LocalStartsWithDot);
    }
    if local.ends_with('.') {
        return Err(AddressError::LocalEndsWithDot);
    }
    if local.contains("..") {
        return Err(AddressError::LocalDotDot);
    }
    // RFC 5322 §3.2.3 atext plus the dots of dot-atom.
    const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~.";
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
    {
        return Err(AddressError::LocalIllegalCharacter);
    }
    if local
        .split(['.', '+'])
        .any(|label| label.len() >= 4 && label[..4].eq_ignore_ascii_case("xn--"))
    {
        return Err(AddressError::NonAscii);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), AddressError> {
    if domain.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(AddressError::DomainControlOrWhitespace);
    }
    if domain.starts_with('[') && domain.ends_with(']') {
        return Ok(());
    }
    if domain.starts_with('.') {
        return Err(AddressError::DomainStartsWithDot);
    }
    if domain.contains("..") {
        return Err(AddressError::DomainDotDot);
    }
    if !domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(AddressError::DomainIllegalCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::inspect;

    /// B-67: exactly 90 extensions, all distinct; B-60: 60 headers; B-65: 12 names.
    #[test]
    fn lists_have_the_seed_counts() {
        assert_eq!(blocked_extensions().len(), 90);
        let mut e = blocked_extensions().to_vec();
        e.sort();
        e.dedup();
        assert_eq!(e.len(), 90);
        assert_eq!(SINGLE_OCCURRENCE_HEADERS.len(), 60);
        assert_eq!(FORBIDDEN_CUSTOM_HEADERS.len(), 12);
    }

    /// last extension, case-insensitive, trailing dots ignored.
    #[test]
    fn blocked_extension_matching() {
        let table = [
            ("virus.exe", Some("exe")),
            ("VIRUS.EXE", Some("exe")),
            ("report.pdf.js", Some("js")),
            ("archive.exe.zip", None),
            ("virus.exe.", Some("exe")),
            ("script.PS1XML", Some("ps1xml")),
            ("exe", None),
            ("photo.jpg", None),
            (".bat", Some("bat")),
        ];
        for (name, want) in table {
            assert_eq!(blocked_extension(name), want, "{name}");
        }
    }

    fn inspected(names: &[&str]) -> Inspected {
        Inspected {
            header_names: names.iter().map(|s| s.to_string()).collect(),
            mime_parts: 1,
            total_bytes: 100,
            ..Inspected::default()
        }
    }

    /// B-52, B-60/Q-114, B-67, Q-107, A-92 in one table.
    #[test]
    fn raw_rules() {
        let ok = inspected(&["From", "To", "To", "Cc", "Cc", "X-Custom", "x-custom"]);
        assert_eq!(validate_raw(&ok, Limits::V1), Ok(()));

        let dup = inspected(&["From", "subject", "X", "Subject"]);
        assert_eq!(
            validate_raw(&dup, Limits::V1),
            Err(Rejection::DuplicateHeader {
                name: "Subject".into()
            })
        );
        let dup = inspected(&["From", "acceptlanguage", "acceptLanguage"]);
        assert!(validate_raw(&dup, Limits::V1).is_err());

        let mut parts = inspected(&["From"]);
        parts.mime_parts = 501;
        assert_eq!(
            validate_raw(&parts, Limits::V1),
            Err(Rejection::TooManyMimeParts {
                count: 501,
                max: 500
            })
        );
        parts.mime_parts = 500;
        assert_eq!(validate_raw(&parts, Limits::V1), Ok(()));

        let mut big = inspected(&["From"]);
        big.total_bytes = 10 * 1024 * 1024 + 1;
        assert_eq!(
            validate_raw(&big, Limits::V1),
            Err(Rejection::MessageTooLong {
                size: 10485761,
                max: 10485760
            })
        );
        assert_eq!(validate_raw(&big, Limits::V2_AND_SMTP), Ok(()));

        let mut exe = inspected(&["From"]);
        exe.attachment_names = vec!["ok.txt".into(), "Setup.EXE".into()];
        assert_eq!(
            validate_raw(&exe, Limits::V2_AND_SMTP),
            Err(Rejection::BlockedAttachment {
                file_name: "Setup.EXE".into(),
                extension: "exe".into()
            })
        );

        assert_eq!(
            validate_raw(&inspected(&["To"]), Limits::V1),
            Err(Rejection::MissingHeader {
                name: "From".into()
            })
        );
    }

    /// B-65, Q-18 and the model's header name/value patterns.
    #[test]
    fn custom_headers() {
        let h = |n: &str, v: &str| (n.to_string(), v.to_string());
        type Headers = Vec<(String, String)>;
        let table: Vec<(Headers, Result<(), Rejection>)> = vec![
            (
                vec![h("X-Campaign", "spring"), h("List-Id", "<l.example.com>")],
                Ok(()),
            ),
            (
                vec![h("reply-to", "x@y.z")],
                Err(Rejection::ForbiddenHeader {
                    name: "Reply-To".into(),
                }),
            ),
            (
                vec![h("Bcc", "x@y.z")],
                Err(Rejection::ForbiddenHeader { name: "BCC".into() }),
            ),
            (
                vec![h("Bad Name", "v")],
                Err(Rejection::InvalidHeaderName {
                    name: "Bad Name".into(),
                }),
            ),
            (
                vec![h("X:Y", "v")],
                Err(Rejection::InvalidHeaderName { name: "X:Y".into() }),
            ),
            (
                vec![h("X-A", "")],
                Err(Rejection::InvalidHeaderValue { name: "X-A".into() }),
            ),
            (
                vec![h("X-A", "a\r\nBcc: evil@x")],
                Err(Rejection::InvalidHeaderValue { name: "X-A".into() }),
            ),
            (
                vec![h("X-A", "é")],
                Err(Rejection::InvalidHeaderValue { name: "X-A".into() }),
            ),
            (
                (0..16).map(|i| h(&format!("X-{i}"), "v")).collect(),
                Err(Rejection::TooManyHeaders { count: 16, max: 15 }),
            ),
        ];
        for (headers, want) in table {
            assert_eq!(validate_custom_headers(&headers), want, "{headers:?}");
        }
    }

    /// B-44, H-56, Q-20: envelope address syntax and SES's texts.
    #[test]
    fn addresses() {
        use AddressError::*;
        let table: &[(&str, Result<(), AddressError>)] = &[
            ("user@example.com", Ok(())),
            ("First Last <first.last+tag@sub.example.com>", Ok(())),
            ("=?utf-8?B?SsO8cmdlbg==?= <j@example.com>", Ok(())),
            ("user@xn--bcher-kva.example", Ok(())),
            ("\"quoted local\"@example.com", Ok(())),
            ("user@[192.0.2.1]", Ok(())),
            ("user", Err(MissingFinalDomain)),
            ("user@bücher.example", Err(NonAscii)),
            ("jürgen@example.com", Err(NonAscii)),
            ("Jürgen <j@example.com>", Err(NonAscii)),
            ("xn--jrgen-kva@example.com", Err(NonAscii)),
            ("", Err(Empty)),
            ("@example.com", Err(MissingLocalName)),
            ("user@", Err(MissingDomain)),
            (".user@example.com", Err(LocalStartsWithDot)),
            ("user.@example.com", Err(LocalEndsWithDot)),
            ("us..er@example.com", Err(LocalDotDot)),
            ("us er@example.com", Err(LocalControlOrWhitespace)),
            ("us(er@example.com", Err(LocalIllegalCharacter)),
            ("user@.example.com", Err(DomainStartsWithDot)),
            ("user@example..com", Err(DomainDotDot)),
            ("user@exa mple.com", Err(DomainControlOrWhitespace)),
            ("user@exa_mple.com", Err(DomainIllegalCharacter)),
            ("Name <user@example.com", Err(MissingCloseBracket)),
        ];
        for (addr, want) in table {
            assert_eq!(validate_address(addr), *want, "{addr}");
        }
        assert_eq!(
            NonAscii.to_string(),
            "There are non-ASCII characters in the email address"
        );
        assert_eq!(MissingFinalDomain.to_string(), "Missing final '@domain'");
    }

    /// Fixtures `testdata/raw/NNN.eml` with `NNN.expected` (`ok` or `<wire error>: <text>`):
    /// 501/500 parts, duplicate Subject, `.exe`/`.EXE`, bare LF, nested multiparts, RFC 2231 and
    /// encoded-word file names, missing From, not a header section.
    #[test]
    fn raw_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/raw");
        let mut seen = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let want = std::fs::read_to_string(path.with_extension("expected")).unwrap();
            let got = match inspect(&raw).and_then(|i| validate_raw(&i, Limits::V2_AND_SMTP)) {
                Ok(()) => "ok".to_string(),
                Err(r) => format!("{:?}: {r}", r.wire_error()),
            };
            if got != want.trim() {
                std::fs::write(path.with_extension("failed"), &got).unwrap();
            }
            assert_eq!(got, want.trim(), "{}", path.display());
            seen += 1;
        }
        assert!(
            seen >= 10,
            "found only {seen} fixtures in {}",
            dir.display()
        );
    }
}

//! Task 1–3 of SigV4: canonical request, string to sign and signing key.
//! (AWS General Reference, "Create a canonical request for Signature Version 4".)

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::{digest, hmac};

use super::Request;

/// The algorithm name, first line of the string to sign and prefix of `Authorization`.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Last element of every credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// RFC 3986 §2.3 unreserved characters stay literal; everything else is `%XX` (upper case).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

fn encode_bytes(b: &[u8]) -> String {
    percent_encoding::percent_encode(b, UNRESERVED).to_string()
}

/// All values of header `name` (any case), in the order received.
pub(crate) fn header_values<'h>(
    headers: &'h [(String, String)],
    name: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Canonical URI. The path is normalised (RFC 3986 §5.2.4 dot segments removed, empty segments
/// merged) and then every segment is encoded *as received*. Because SDKs already percent-encode
/// the path on the wire and then encode it again for the canonical request (every service but
/// S3), encoding the raw path once more reproduces their string: `/v2/email/identities/a%40b.com`
/// is signed as `/v2/email/identities/a%2540b.com`. Decoding first would break exactly those
/// SES v2 paths that carry an email address. The suite's `.sreq` files carry unencoded paths
/// (`/example space/`), which this same rule turns into the expected `/example%20space/`.
pub(crate) fn canonical_uri(raw_path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut trailing_slash = raw_path.ends_with('/');
    for seg in raw_path.split('/') {
        match seg {
            "" => {}
            "." => trailing_slash = true,
            ".." => {
                out.pop();
                trailing_slash = true;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    // The loop above only remembers the last segment; a trailing "/" also counts.
    if raw_path.ends_with('/') {
        trailing_slash = true;
    }
    if out.is_empty() {
        return "/".to_string();
    }
    let mut uri = String::with_capacity(raw_path.len() + 8);
    for seg in out {
        uri.push('/');
        uri.push_str(&encode(seg));
    }
    if trailing_slash {
        uri.push('/');
    }
    uri
}

/// Query parameters as received: split on `&`, first `=` separates key and value, each part
/// percent-decoded to bytes (`+` stays a literal plus: SDKs send spaces as `%20`).
pub(crate) fn query_pairs(raw_query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode_str(k).collect::<Vec<u8>>(),
                percent_decode_str(v).collect::<Vec<u8>>(),
            )
        })
        .collect()
}

/// Canonical query string: each key and value decoded then re-encoded (RFC 3986 unreserved),
/// sorted by encoded key then encoded value, `X-Amz-Signature` left out (query form signs the
/// URL without its own signature; a header-form request never carries that parameter).
pub(crate) fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .into_iter()
        .filter(|(k, _)| k.as_slice() != b"X-Amz-Signature")
        .map(|(k, v)| (encode_bytes(&k), encode_bytes(&v)))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Trims and collapses runs of whitespace (including obs-fold line breaks, see the suite's
/// `get-header-value-multiline`) into one space.
fn canonical_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for word in v.split([' ', '\t', '\r', '\n']).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Hex SHA-256 of the payload, or the client's `x-amz-content-sha256` when it sent one (the
/// value is then part of what it signed, so a wrong claim still fails the signature check).
pub(crate) fn payload_hash(req: &Request) -> String {
    match header_values(req.headers, "x-amz-content-sha256").next() {
        Some(v) => v.trim().to_string(),
        None => hex::encode(digest::digest(&digest::SHA256, req.body)),
    }
}

/// The canonical request for `signed_headers` (lower-case names, in the order the client listed
/// them — clients list them sorted, and the signature covers that list verbatim).
pub fn canonical_request(req: &Request, signed_headers: &[String]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.raw_path));
    out.push('\n');
    out.push_str(&canonical_query(req.raw_query));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = header_values(req.headers, name)
            .map(canonical_header_value)
            .collect();
        out.push_str(&name.to_ascii_lowercase());
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(&payload_hash(req));
    out
}

/// `date/region/service/aws4_request`.
pub(crate) fn scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

/// Task 2: the string to sign.
pub(crate) fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    let hash = digest::digest(&digest::SHA256, canonical_request.as_bytes());
    format!("{ALGORITHM}\n{timestamp}\n{scope}\n{}", hex::encode(hash))
}

/// Task 3: the signing key, `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
/// "aws4_request")`.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, TERMINATOR] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes());
        key = tag.as_ref().to_vec();
    }
    hmac::Key::new(hmac::HMAC_SHA256, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_table() {
        for (raw, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/a/b/..", "/a/"),
            ("/a/./b", "/a/b"),
            ("/a/b/.", "/a/b/"),
            ("/../a", "/a"),
            ("/example space/", "/example%20space/"),
            ("/example/$delete", "/example/%24delete"),
            ("/\u{1234}", "/%E1%88%B4"),
            // Already-encoded wire paths are encoded again (non-S3 double encoding).
            (
                "/v2/email/identities/a%40b.com",
                "/v2/email/identities/a%2540b.com",
            ),
            ("/-._~AZaz09", "/-._~AZaz09"),
        ] {
            assert_eq!(canonical_uri(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn canonical_query_table() {
        for (raw, expected) in [
            ("", ""),
            ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
            ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),
            ("a&b=", "a=&b="),
            ("a=1&&b=2", "a=1&b=2"),
            ("k=a%20b", "k=a%20b"),
            ("k=a+b", "k=a%2Bb"),
            ("k=%7e%2f", "k=~%2F"),
            ("\u{1234}=bar", "%E1%88%B4=bar"),
            ("X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Date=1"),
        ] {
            assert_eq!(canonical_query(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn header_value_table() {
        for (raw, expected) in [
            ("value1", "value1"),
            ("  value1  ", "value1"),
            ("\"a   b   c\"", "\"a b c\""),
            ("value1\r\n  value2\r\n     value3", "value1 value2 value3"),
            ("a\tb", "a b"),
            ("", ""),
        ] {
            assert_eq!(canonical_header_value(raw), expected, "{raw:?}");
        }
    }
}

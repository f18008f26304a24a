//! DKIM signing (RFC 6376 §5) of the finished message, as the last step before delivery
//! (Q-96): `a=rsa-sha256`, `c=relaxed/simple`, `q=dns/txt`, `t=`, and the SES header list
//! (D-89, D-90).
//!
//! RSA: aws-lc-rs (AWS-LC, constant-time) for keys of 2048 bits and more; the `rsa` crate only
//! for shorter keys (Easy DKIM `RSA_1024_BIT`, BYODKIM 1024-bit keys), which it refuses. Why
//! aws-lc-rs and not ring, used elsewhere in the workspace: signing is most of the CPU of
//! delivery, and AWS-LC signs RSA-2048 about 1.7× faster than ring on CPUs with AVX-512 IFMA
//! (it has OpenSSL 3's dual-exponentiation code; ring only the older Montgomery loops), like
//! the OpenSSL that OpenDKIM uses (bench/README.md). A parsed [`SigningKey`] is reusable, so
//! callers on the delivery path parse each key once (parsing and validating a 2048-bit key
//! costs about as much as a signature).
//!
//! Why not mail-auth's signer: every mail-auth release that builds with this toolchain
//! (≤ 0.13; 0.14+ needs mail-parser 1.x, which needs rustc 1.98) refuses to compile without a
//! DNS backend (`dns-hickory` or `dns-doh`), which brings tokio/hickory or reqwest into this
//! pure crate. Signing is small: two canonicalisations, SHA-256 and RSA PKCS#1 v1.5 from the
//! `rsa` crate; dkimpy verifies the output in the tests below.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};

use super::canonicalize::{relaxed_header, simple_body};
use crate::message::{split, to_crlf};

/// Signed header fields, in this order, when present (D-89, Q-96). Each is listed as many
/// times as it occurs, so every instance is covered (RFC 6376 §5.4.2).
pub const SIGNED_HEADERS: [&str; 11] = [
    "From",
    "To",
    "Subject",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Date",
    "Message-ID",
    "Feedback-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the private key is not valid base64")]
    KeyBase64,
    #[error("the private key is neither a PKCS#8 nor a PKCS#1 RSA key")]
    KeyFormat,
    #[error("RSA signing failed: {0}")]
    Rsa(String),
    #[error("the message has no header section")]
    Malformed,
    #[error("the message has no From field, which DKIM must sign (RFC 6376 §5.4)")]
    NoFrom,
    #[error("invalid {0}: it must be a non-empty DNS name")]
    Name(&'static str),
}

/// A parsed DKIM private key, ready to sign many messages.
pub struct SigningKey {
    inner: KeyImpl,
    bits: usize,
}

enum KeyImpl {
    AwsLc(Box<RsaKeyPair>, SystemRandom),
    Rsa(Box<RsaPrivateKey>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(rsa-{})", self.bits)
    }
}

impl SigningKey {
    /// Parses the stored form (base64 of PKCS#8 DER, or PKCS#1 DER for BYODKIM, Q-95).
    pub fn from_base64(private_key_b64: &str) -> Result<SigningKey, SignError> {
        let der = B64
            .decode(private_key_b64.trim())
            .map_err(|_| SignError::KeyBase64)?;
        let fast = RsaKeyPair::from_pkcs8(&der).or_else(|_| RsaKeyPair::from_der(&der));
        if let Ok(pair) = fast {
            let bits = pair.public_modulus_len() * 8;
            if bits >= 2048 {
                let inner = KeyImpl::AwsLc(Box::new(pair), SystemRandom::new());
                return Ok(SigningKey { inner, bits });
            }
        }
        // Below 2048 bits (or an encoding aws-lc-rs does not take): the portable signer.
        let key = RsaPrivateKey::from_pkcs8_der(&der)
            .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
            .map_err(|_| SignError::KeyFormat)?;
        let bits = key.size() * 8;
        Ok(SigningKey {
            inner: KeyImpl::Rsa(Box::new(key)),
            bits,
        })
    }

    /// Modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Which implementation signs: `aws-lc` (≥ 2048 bits) or `rsa` (shorter keys).
    pub fn backend(&self) -> &'static str {
        match self.inner {
            KeyImpl::AwsLc(..) => "aws-lc",
            KeyImpl::Rsa(_) => "rsa",
        }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `data`.
    fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.inner {
            KeyImpl::AwsLc(pair, rng) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, rng, data, &mut sig)
                    .map_err(|e| SignError::Rsa(e.to_string()))?;
                Ok(sig)
            }
            KeyImpl::Rsa(key) => key
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(data))
                .map_err(|e| SignError::Rsa(e.to_string())),
        }
    }
}

/// Returns the complete `DKIM-Signature: …\r\n` field to prepend to `message` (parses the key
/// first; see [`sign_with`] to reuse a parsed key).
///
/// `message` is signed as transmitted over SMTP, i.e. with CRLF line endings (bare LF is
/// treated as CRLF, matching what `finalize` emits). `private_key_pkcs8_b64` is the stored form
/// of `keygen` (PKCS#8 DER, base64); PKCS#1 is accepted too (BYODKIM, Q-95). `now_unix` is the
/// `t=` tag (sans-I/O: the clock is a parameter).
pub fn sign(
    message: &[u8],
    domain: &str,
    selector: &str,
    private_key_pkcs8_b64: &str,
    now_unix: u64,
) -> Result<String, SignError> {
    check_name(domain, "domain")?;
    check_name(selector, "selector")?;
    let key = SigningKey::from_base64(private_key_pkcs8_b64)?;
    sign_with(&key, message, domain, selector, now_unix)
}

/// [`sign`] with an already parsed key.
pub fn sign_with(
    key: &SigningKey,
    message: &[u8],
    domain: &str,
    selector: &str,
    now_unix: u64,
) -> Result<String, SignError> {
    check_name(domain, "domain")?;
    check_name(selector, "selector")?;
    let message = to_crlf(message);
    let cut = split(&message).map_err(|_| SignError::Malformed)?;
    let body_hash = B64.encode(Sha256::digest(simple_body(cut.body)));

    // §5.4.2: fields are taken bottom-up for repeated names.
    let mut used = vec![false; cut.fields.len()];
    let mut names: Vec<&str> = Vec::new();
    let mut hashed: Vec<u8> = Vec::new();
    for wanted in SIGNED_HEADERS {
        while let Some(i) = (0..cut.fields.len())
            .rev()
            .find(|&i| !used[i] && cut.fields[i].name.eq_ignore_ascii_case(wanted))
        {
            used[i] = true;
            names.push(wanted);
            hashed.extend_from_slice(&relaxed_header(cut.fields[i].raw));
        }
    }
    if !names.contains(&"From") {
        return Err(SignError::NoFrom);
    }

    let unsigned = format!(
        "DKIM-Signature: v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple;\r\n\
         \ts={selector}; d={domain}; t={now_unix};\r\n\
         \th={};\r\n\
         \tbh={body_hash};\r\n\
         \tb=",
        fold_list(&names)
    );
    // §3.7: the signature field itself, with an empty b=, relaxed, without its final CRLF.
    let mut own = relaxed_header(unsigned.as_bytes());
    own.truncate(own.len() - 2);
    hashed.extend_from_slice(&own);

    let signature = key.sign_sha256(&hashed)?;
    let b = B64.encode(signature);
    let mut field = unsigned;
    for (i, chunk) in b.as_bytes().chunks(72).enumerate() {
        if i > 0 {
            field.push_str("\r\n\t ");
        }
        field.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    field.push_str("\r\n");
    Ok(field)
}

/// `h=` value, folded so no line exceeds ~78 characters.
fn fold_list(names: &[&str]) -> String {
    let mut out = String::new();
    let mut line = 4; // "\th="
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(':');
            line += 1;
            if line + n.len() > 76 {
                out.push_str("\r\n\t ");
                line = 2;
            }
        }
        out.push_str(n);
        line += n.len();
    }
    out
}

fn check_name(name: &str, what: &'static str) -> Result<(), SignError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SignError::Name(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkim::{generate_key, txt_record, KeyLength};
    use crate::message::{build_simple, finalize, SimpleMessage, Text};
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const DOMAIN: &str = "example.com";
    const SELECTOR: &str = "sesame1";
    const NOW: u64 = 1_795_000_000;

    /// dkimpy, given the public key through `dnsfunc` (no DNS): prints PASS or FAIL.
    const VERIFY_PY: &str = r#"
import sys, dkim
msg = open(sys.argv[1], 'rb').read()
want, txt = sys.argv[2].encode(), sys.argv[3].encode()
def dnsfunc(name, timeout=5):
    name = name if isinstance(name, bytes) else name.encode()
    return txt if name.rstrip(b'.') == want.rstrip(b'.') else None
print('PASS' if dkim.verify(msg, dnsfunc=dnsfunc) else 'FAIL')
"#;

    fn dkimpy_available() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import dkim"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!(
                "\n\n*** SKIPPED: dkimpy is not installed (pip install dkimpy); the DKIM \
                 signature was NOT verified by an independent verifier ***\n\n"
            );
        }
        ok
    }

    /// Runs dkimpy on `message`; true when it verifies.
    fn dkimpy_verifies(message: &[u8], public_b64: &str) -> bool {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "sesame-dkim-{}-{}.eml",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&path, message).unwrap();
        let out = Command::new("python3")
            .args(["-c", VERIFY_PY])
            .arg(&path)
            .arg(format!("{SELECTOR}._domainkey.{DOMAIN}."))
            .arg(txt_record(public_b64))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "dkimpy crashed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout.trim() == "PASS"
    }

    fn finished_message() -> Vec<u8> {
        let built = build_simple(&SimpleMessage {
            from: "Jürgen <sender@example.com>".into(),
            to: vec!["a@example.org".into(), "b@example.org".into()],
            subject: Text::new("Quarterly   report €"),
            text: Some(Text::new("Hello,\n\nthe numbers are in.\n")),
            html: Some(Text::new("<p>Hello, the numbers are in.</p>")),
            headers: vec![("Feedback-ID".into(), "c1:acct:ses".into())],
            ..SimpleMessage::default()
        });
        finalize(
            &built,
            "0100018c5a6b7c8d-00000000-0000-4000-8000-000000000000-000000",
            "Mon, 23 Nov 2026 06:30:00 +0000",
            "email.example.net",
        )
    }

    fn signed(message: &[u8], private: &str) -> Vec<u8> {
        let field = sign(message, DOMAIN, SELECTOR, private, NOW).unwrap();
        [field.as_bytes(), message].concat()
    }

    fn replace(hay: &[u8], from: &str, to: &str) -> Vec<u8> {
        let s = String::from_utf8(hay.to_vec()).unwrap();
        assert!(s.contains(from), "{from} not in message");
        s.replacen(from, to, 1).into_bytes()
    }

    /// D-90/Q-96 proven by an independent verifier (dkimpy): 1024- and 2048-bit keys verify;
    /// a header whitespace change that relaxed canonicalisation absorbs still verifies; a body
    /// change (simple canonicalisation) fails.
    #[test]
    fn dkimpy_verifies_our_signatures() {
        if !dkimpy_available() {
            return;
        }
        let message = finished_message();
        for len in [KeyLength::Rsa1024, KeyLength::Rsa2048] {
            let key = generate_key(len).unwrap();
            let good = signed(&message, &key.private_pkcs8_b64);
            assert!(
                dkimpy_verifies(&good, &key.public_b64),
                "{len:?}: fresh signature"
            );

            let spaced = replace(&good, "\r\nSubject: ", "\r\nSubject:  \t ");
            let refolded = replace(
                &spaced,
                "\r\nMIME-Version: 1.0",
                "\r\nMIME-Version:\r\n  1.0",
            );
            assert!(
                dkimpy_verifies(&refolded, &key.public_b64),
                "{len:?}: relaxed header change must still verify"
            );

            let body = replace(&good, "the numbers are in.", "the numbers are IN.");
            assert!(
                !dkimpy_verifies(&body, &key.public_b64),
                "{len:?}: body change must fail"
            );
            let header = replace(&good, "a@example.org", "z@example.org");
            assert!(
                !dkimpy_verifies(&header, &key.public_b64),
                "{len:?}: To change must fail"
            );

            // A message submitted with bare LF is signed as its CRLF transmission form.
            let lf: Vec<u8> = String::from_utf8(message.clone())
                .unwrap()
                .replace("\r\n", "\n")
                .into_bytes();
            let field = sign(&lf, DOMAIN, SELECTOR, &key.private_pkcs8_b64, NOW).unwrap();
            let crlf = [field.as_bytes(), &message].concat();
            assert!(
                dkimpy_verifies(&crlf, &key.public_b64),
                "{len:?}: bare-LF input"
            );
        }
    }

    /// 2048-bit keys sign with aws-lc-rs whether stored as PKCS#8 (Easy DKIM) or PKCS#1
    /// (BYODKIM, Q-95); 1024-bit keys, which it refuses, with the `rsa` crate. Both produce the
    /// same (deterministic PKCS#1 v1.5) signature for the same key and input.
    #[test]
    fn key_backends_and_equal_signatures() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let k2048 = generate_key(KeyLength::Rsa2048).unwrap();
        let parsed = SigningKey::from_base64(&k2048.private_pkcs8_b64).unwrap();
        assert_eq!((parsed.backend(), parsed.bits()), ("aws-lc", 2048));
        let der = B64.decode(&k2048.private_pkcs8_b64).unwrap();
        let pkcs1 = RsaPrivateKey::from_pkcs8_der(&der)
            .unwrap()
            .to_pkcs1_der()
            .unwrap();
        let byo = SigningKey::from_base64(&B64.encode(pkcs1.as_bytes())).unwrap();
        assert_eq!(byo.backend(), "aws-lc");
        let k1024 = generate_key(KeyLength::Rsa1024).unwrap();
        let short = SigningKey::from_base64(&k1024.private_pkcs8_b64).unwrap();
        assert_eq!((short.backend(), short.bits()), ("rsa", 1024));

        let portable = KeyImpl::Rsa(Box::new(RsaPrivateKey::from_pkcs8_der(&der).unwrap()));
        let portable = SigningKey {
            inner: portable,
            bits: 2048,
        };
        let msg = finished_message();
        assert_eq!(
            sign_with(&parsed, &msg, DOMAIN, SELECTOR, NOW).unwrap(),
            sign_with(&portable, &msg, DOMAIN, SELECTOR, NOW).unwrap(),
            "aws-lc-rs and rsa must agree byte for byte"
        );
        assert_eq!(
            SigningKey::from_base64("not base64!").unwrap_err(),
            SignError::KeyBase64
        );
    }

    /// D-89 tags and header list: only the present fields, repeated ones as often as they occur.
    #[test]
    fn signature_tags_and_header_list() {
        let key = generate_key(KeyLength::Rsa1024).unwrap();
        let msg = b"From: a@example.com\r\nTo: b@example.org\r\nX-Other: 1\r\n\
To: c@example.org\r\nSubject: s\r\n\r\nbody\r\n";
        let f = sign(msg, DOMAIN, SELECTOR, &key.private_pkcs8_b64, NOW).unwrap();
        let unfolded = f.replace("\r\n\t ", "").replace("\r\n\t", " ");
        for tag in [
            "v=1;",
            "a=rsa-sha256;",
            "q=dns/txt;",
            "c=relaxed/simple;",
            "s=sesame1;",
            "d=example.com;",
            "t=1795000000;",
            "h=From:To:To:Subject;",
            // sha256("body\r\n"), base64.
            "bh=Ck5SoRNWUpSR4X0COv7R5ub2pUTtl6xz4dTFz++ji4M=;",
        ] {
            assert!(unfolded.contains(tag), "{tag} missing in {f}");
        }
        assert!(f.starts_with("DKIM-Signature: ") && f.ends_with("\r\n"));
        assert!(f.lines().all(|l| l.len() <= 80), "{f}");
    }

    #[test]
    fn sign_errors() {
        let key = generate_key(KeyLength::Rsa1024).unwrap();
        let k = key.private_pkcs8_b64.as_str();
        let table: &[(&[u8], &str, &str, &str, SignError)] = &[
            (
                b"From: a@b.c\r\n\r\nx",
                DOMAIN,
                SELECTOR,
                "!!",
                SignError::KeyBase64,
            ),
            (
                b"From: a@b.c\r\n\r\nx",
                DOMAIN,
                SELECTOR,
                "AAAA",
                SignError::KeyFormat,
            ),
            (
                b"To: a@b.c\r\n\r\nx",
                DOMAIN,
                SELECTOR,
                k,
                SignError::NoFrom,
            ),
            (
                b"not a header\r\n\r\nx",
                DOMAIN,
                SELECTOR,
                k,
                SignError::Malformed,
            ),
            (
                b"From: a@b.c\r\n\r\nx",
                "",
                SELECTOR,
                k,
                SignError::Name("domain"),
            ),
            (
                b"From: a@b.c\r\n\r\nx",
                DOMAIN,
                "a;b",
                k,
                SignError::Name("selector"),
            ),
        ];
        for (msg, d, s, key, want) in table {
            assert_eq!(sign(msg, d, s, key, NOW).unwrap_err(), *want);
        }
    }
}

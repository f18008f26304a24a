//! The MIME preview of v1 `TestRenderTemplate` / v2 `TestRenderEmailTemplate`.

use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;

use crate::Rendered;

/// Builds the `RenderedTemplate` string: "the complete MIME message rendered by applying the
/// data … to the template" (models `TestRenderTemplateResponse`/`TestRenderEmailTemplateResponse`).
///
/// Headers: `Subject` (RFC 2047-encoded when not ASCII), `Date` (`message_date`, RFC 5322,
/// passed in), `Message-ID` and `MIME-Version: 1.0`. The preview has no sender or recipients, so
/// there are no `From`/`To`. Body: `multipart/alternative` with `text/plain` then `text/html`
/// (both `charset=utf-8`) when both parts exist, else the single part, else an empty
/// `text/plain`. Transfer encodings are chosen by mail-builder (7bit, quoted-printable or base64).
///
/// `boundary_seed` makes the output deterministic: the boundary and the Message-ID are derived
/// from it (callers pass a random value in production and a fixed one in tests). Lines end in
/// CRLF.
pub fn render_mime(rendered: &Rendered, message_date: &str, boundary_seed: &str) -> String {
    let token = format!("{:016x}", fnv1a64(boundary_seed.as_bytes()));
    let text = |body: &str| {
        MimePart::new(
            ContentType::new("text/plain").attribute("charset", "utf-8"),
            body.to_owned(),
        )
    };
    let html = |body: &str| {
        MimePart::new(
            ContentType::new("text/html").attribute("charset", "utf-8"),
            body.to_owned(),
        )
    };
    let body = match (&rendered.text, &rendered.html) {
        (Some(t), Some(h)) => MimePart::new(
            ContentType::new("multipart/alternative")
                .attribute("boundary", format!("=_sesame_{token}")),
            vec![text(t), html(h)],
        ),
        (None, Some(h)) => html(h),
        (Some(t), None) => text(t),
        (None, None) => text(""),
    };
    let message = MessageBuilder::new()
        .subject(rendered.subject.as_str())
        .header("Date", Raw::new(message_date.to_owned()))
        .message_id(format!("{token}@test-render.sesame.invalid"))
        .header("MIME-Version", Raw::new("1.0"))
        .body(body);
    // Writing into a Vec cannot fail and mail-builder emits only UTF-8/ASCII text.
    message
        .write_to_string()
        .unwrap_or_else(|e| format!("error building the MIME preview: {e}"))
}

/// FNV-1a, 64 bit: a stable, dependency-free hash to turn any seed into a safe boundary token.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Tue, 10 Mar 2020 16:04:12 +0000";

    fn rendered(subject: &str, text: Option<&str>, html: Option<&str>) -> Rendered {
        Rendered {
            subject: subject.into(),
            text: text.map(Into::into),
            html: html.map(Into::into),
        }
    }

    /// Compares with `testdata/mime/<name>.eml`; on mismatch writes `<name>.eml.failed` beside it.
    fn assert_golden(name: &str, got: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mime");
        let path = dir.join(format!("{name}.eml"));
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            let failed = dir.join(format!("{name}.eml.failed"));
            std::fs::write(&failed, got).expect("write .failed");
            panic!("{} differs; got {}", path.display(), failed.display());
        }
    }

    /// Q-121, models `TestRenderTemplateResponse.RenderedTemplate` /
    /// `TestRenderEmailTemplateResponse.RenderedTemplate`: golden outputs, fixed date and seed.
    /// (golden file, rendered parts)
    #[test]
    fn golden_table() {
        let table = [
            // B-85 fixture: text + HTML → multipart/alternative.
            (
                "001-multipart-alternative",
                rendered(
                    "Greetings, Alejandro!",
                    Some("Dear Alejandro,\r\nYour favorite animal is alligator."),
                    Some("<h1>Hello Alejandro,</h1><p>Your favorite animal is alligator.</p>"),
                ),
            ),
            // HTML only → a single text/html part; non-ASCII subject and body are encoded.
            (
                "002-html-only-utf8",
                rendered("Grüße, Zoë", None, Some("<p>Grüße, Zoë</p>")),
            ),
            // Text only → a single text/plain part.
            ("003-text-only", rendered("Hi", Some("Hello"), None)),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mime");
        let fixtures = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0);
        assert!(
            fixtures >= table.len(),
            "golden files missing in {}",
            dir.display()
        );
        for (name, r) in table {
            assert_golden(name, &render_mime(&r, DATE, "seed-1"));
        }
    }

    /// Deterministic for a seed; a different seed gives a different boundary and Message-ID.
    #[test]
    fn seed_table() {
        let r = rendered("s", Some("t"), Some("h"));
        let a = render_mime(&r, DATE, "a");
        let table = [("a", true), ("b", false)];
        for (seed, same) in table {
            assert_eq!(render_mime(&r, DATE, seed) == a, same, "seed {seed}");
        }
    }
}

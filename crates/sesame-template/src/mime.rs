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

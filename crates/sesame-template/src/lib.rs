//! sesame-template owns SES email-template semantics as pure functions: template-name and size
//! rules (B-69..B-73, Q-120), syntax validation at create/update time, rendering of the
//! Handlebars dialect SES uses (B-78..B-84, Q-117, Q-118: nested paths, `each`, `if`/`else`,
//! inline partials, no HTML escaping, missing attributes as `MissingRenderingAttribute`), and the
//! MIME preview returned by v1 `TestRenderTemplate` / v2 `TestRenderEmailTemplate`.
//! It does no I/O: the date and MIME boundary seed are passed in, so tests pin them. Storage
//! limits (20,000 templates, B-69) and the merge of default/replacement data belong to
//! the callers.

mod error;
mod mime;
mod render;
mod validate;

pub use error::TemplateError;
pub use mime::render_mime;
pub(crate) use render::compile;
pub use render::render;
pub use validate::{
    missing_required_part, validate, validate_name, MAX_NAME_LEN, MAX_TEMPLATE_BYTES,
    MAX_TEMPLATE_DATA_CHARS,
};

/// A template's parts as stored: v1 `Template{SubjectPart, TextPart, HtmlPart}`, v2
/// `EmailTemplateContent{Subject, Text, Html}` (B-73).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateContent {
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl TemplateContent {
    /// The present parts with their v1 member names, in subject, text, HTML order.
    pub(crate) fn parts(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("SubjectPart", &self.subject),
            ("TextPart", &self.text),
            ("HtmlPart", &self.html),
        ]
        .into_iter()
        .filter_map(|(n, p)| p.as_deref().map(|s| (n, s)))
    }
}

/// The result of [`render`]: every part with the data substituted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// Empty when the template has no subject.
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

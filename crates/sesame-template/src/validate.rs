//! Create/update-time checks: template name, required parts, size limits and syntax.

use crate::{compile, TemplateContent, TemplateError};

/// Longest template name. Not in the models (v2 only says `min: 1`); 64 and the character set
/// follow the SES developer guide (the same rule as tenant names in DECISIONS).
pub const MAX_NAME_LEN: usize = 64;

/// B-70 / Q-120: subject + text + HTML, counted in UTF-8 bytes, at most 500 KB. We read "KB" as
/// 1024 bytes (512,000): the larger reading never rejects a template SES would accept.
pub const MAX_TEMPLATE_BYTES: usize = 500 * 1024;

/// Q-120, models `TemplateData`/`EmailTemplateData` (`max: 262144`), counted in characters.
pub const MAX_TEMPLATE_DATA_CHARS: usize = 262_144;

/// Checks a `TemplateName`: 1..=64 characters from `[A-Za-z0-9_-]`.
///
/// Returns [`TemplateError::InvalidTemplate`] for an empty name or a bad character and
/// [`TemplateError::TooLarge`] for a long one; the API edge reports both as
/// `InvalidParameterValue` (v1) / `BadRequestException` (v2), never as `InvalidTemplate`.
pub fn validate_name(name: &str) -> Result<(), TemplateError> {
    if name.is_empty() {
        return Err(TemplateError::InvalidTemplate(
            "Template name must not be empty.".into(),
        ));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(TemplateError::TooLarge(format!(
            "Template name is {len} characters long; the maximum is {MAX_NAME_LEN}."
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(TemplateError::InvalidTemplate(format!(
            "Template name contains {c:?}; only letters, digits, '_' and '-' are allowed."
        )));
    }
    Ok(())
}

/// a template needs `SubjectPart` and at least one of `TextPart`/`HtmlPart`.
///
/// Returns the message for the API edge's `InvalidParameterValue` (v1) / `BadRequestException`
/// (v2) when a part is missing; this is not a [`TemplateError`] because SES does not report it as
/// a template exception. [`validate`] does not call it, so callers choose where it applies
/// v1 `UpdateTemplate` is a full replacement, so it applies there too).
pub fn missing_required_part(content: &TemplateContent) -> Option<&'static str> {
    if content.subject.is_none() {
        Some("Template does not contain SubjectPart.")
    } else if content.text.is_none() && content.html.is_none() {
        Some("Template does not contain TextPart or HtmlPart (or both).")
    } else {
        None
    }
}

/// Create/update-time validation: the B-70 size limit, then every present part must
/// compile as Handlebars (else `InvalidTemplate`, the v1 `CreateTemplate` error).
///
/// Unknown helpers and partials are found only when rendering, as in SES (the model's
/// `InvalidTemplateException` doc: "a template refers to a partial that does not exist").
pub fn validate(content: &TemplateContent) -> Result<(), TemplateError> {
    let size = content.parts().map(|(_, s)| s.len()).sum::<usize>();
    if size > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::TooLarge(format!(
            "Template is {size} bytes; the maximum is {MAX_TEMPLATE_BYTES} bytes (500 KB) for the \
             subject, text and HTML parts together."
        )));
    }
    for (part, source) in content.parts() {
        compile(part, source)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recognises the expected error in a table row.
    type Check = fn(&TemplateError) -> bool;

    fn content(subject: Option<&str>, text: Option<&str>, html: Option<&str>) -> TemplateContent {
        TemplateContent {
            subject: subject.map(Into::into),
            text: text.map(Into::into),
            html: html.map(Into::into),
        }
    }

    /// Template names (model `TemplateName`/`EmailTemplateName`; SES guide: 64, `[A-Za-z0-9_-]`).
    #[test]
    fn name_rules() {
        let long = "a".repeat(65);
        let max = "a".repeat(64);
        let table: &[(&str, Option<Check>)] = &[
            ("MyTemplate", None),
            ("my_template-2", None),
            (max.as_str(), None),
            ("", Some(|e| matches!(e, TemplateError::InvalidTemplate(_)))),
            (
                long.as_str(),
                Some(|e| matches!(e, TemplateError::TooLarge(_))),
            ),
            (
                "my template",
                Some(|e| matches!(e, TemplateError::InvalidTemplate(_))),
            ),
            (
                "tmpl.v1",
                Some(|e| matches!(e, TemplateError::InvalidTemplate(_))),
            ),
            (
                "modèle",
                Some(|e| matches!(e, TemplateError::InvalidTemplate(_))),
            ),
        ];
        for (name, expect) in table {
            match (validate_name(name), expect) {
                (Ok(()), None) => {}
                (Err(e), Some(check)) => assert!(check(&e), "{name:?}: {e:?}"),
                (got, _) => panic!("{name:?}: unexpected {got:?}"),
            }
        }
    }

    /// subject plus at least one body part.
    #[test]
    fn required_parts() {
        let table = [
            (content(Some("s"), Some("t"), None), None),
            (content(Some("s"), None, Some("h")), None),
            (content(Some("s"), Some("t"), Some("h")), None),
            (
                content(None, Some("t"), Some("h")),
                Some("Template does not contain SubjectPart."),
            ),
            (
                content(Some("s"), None, None),
                Some("Template does not contain TextPart or HtmlPart (or both)."),
            ),
        ];
        for (c, expect) in table {
            assert_eq!(missing_required_part(&c), expect, "{c:?}");
        }
    }

    /// Q-120 (syntax checked at create/update → `InvalidTemplate`), B-70 (500 KB total).
    #[test]
    fn validate_table() {
        // With the one-byte subject: exactly at the limit, and one byte over.
        let half = "x".repeat(MAX_TEMPLATE_BYTES / 2);
        let fill = "x".repeat(MAX_TEMPLATE_BYTES / 2 - 1);
        let table: Vec<(TemplateContent, Option<Check>)> = vec![
            (
                content(
                    Some("Hi {{name}}"),
                    Some("{{#if a}}x{{else}}y{{/if}}"),
                    None,
                ),
                None,
            ),
            (
                content(
                    Some("s"),
                    None,
                    Some("{{#* inline \"p\"}}<b>{{x}}</b>{{/inline}}\n{{> p}}"),
                ),
                None,
            ),
            (content(Some("s"), Some(&half), Some(&fill)), None),
            (
                content(Some("s"), Some(&half), Some(&half)),
                Some(|e| matches!(e, TemplateError::TooLarge(_))),
            ),
            (
                content(Some("Hi {{name"), Some("t"), None),
                Some(
                    |e| matches!(e, TemplateError::InvalidTemplate(m) if m.starts_with("SubjectPart")),
                ),
            ),
            (
                content(Some("s"), Some("{{#if a}}x"), None),
                Some(
                    |e| matches!(e, TemplateError::InvalidTemplate(m) if m.starts_with("TextPart")),
                ),
            ),
            (
                content(Some("s"), None, Some("{{#each xs}}{{/if}}")),
                Some(
                    |e| matches!(e, TemplateError::InvalidTemplate(m) if m.starts_with("HtmlPart")),
                ),
            ),
        ];
        for (c, expect) in table {
            match (validate(&c), expect) {
                (Ok(()), None) => {}
                (Err(e), Some(check)) => assert!(check(&e), "{e:?}"),
                (got, _) => panic!("unexpected {got:?}"),
            }
        }
    }
}

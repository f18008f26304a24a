//! Rendering: SES's Handlebars dialect (B-78..B-84, Q-117, Q-118) over `TemplateData`.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Template,
};

use crate::validate::MAX_TEMPLATE_DATA_CHARS;
use crate::{Rendered, TemplateContent, TemplateError};

/// Compiles one part; `part` is the SES member name used in the error (`SubjectPart`, …).
pub(crate) fn compile(part: &str, source: &str) -> Result<Template, TemplateError> {
    Template::compile(&drop_newline_after_inline(source))
        .map_err(|e| TemplateError::InvalidTemplate(format!("{part}: {e}")))
}

/// B-83: the newline that follows an inline-partial definition (`{{/inline}}\n`) separates it
/// from the content and is not output, even when the definition shares its line with content
/// (where Handlebars' standalone-line rule would keep it): one `\n` or `\r\n` is dropped. With
/// `{{/inline~}}` all following whitespace is dropped, as Handlebars.js does (handlebars-rust
/// ignores `~` on decorator blocks).
fn drop_newline_after_inline(source: &str) -> std::borrow::Cow<'_, str> {
    if !source.contains("/inline") {
        return source.into();
    }
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = ["{{/inline", "{{~/inline"]
        .iter()
        .filter_map(|open| rest.find(open))
        .min()
    {
        let Some(close) = rest[at..].find("}}").map(|c| at + c + 2) else {
            break; // unterminated: leave it to the parser to report
        };
        let (before, after) = rest.split_at(close);
        out.push_str(before);
        rest = if before.ends_with("~}}") {
            after.trim_start()
        } else {
            after
                .strip_prefix("\r\n")
                .or_else(|| after.strip_prefix('\n'))
                .unwrap_or(after)
        };
    }
    out.push_str(rest);
    out.into()
}

/// Renders every present part of `content` with `data_json` (Q-118 semantics):
///
/// - `data_json` must be a JSON object of at most 262,144 characters (Q-120, model
///   `TemplateData`), else `InvalidRenderingParameter` / `TooLarge`;
/// - a `{{name}}` (or `{{a.b}}`) without a value is an error, `MissingRenderingAttribute`, in every
///   part: SES does not send such a message (H-15) and reports
///   `Attribute 'name' is not present in the rendering data.` (G-52, Q-118);
/// - a missing name used as a condition or list (`#if`, `#unless`, `#each`, `#with`) is falsy and
///   selects the `else` branch (B-82, Q-118);
/// - no HTML escaping in any part, HTML included: `{{x}}` behaves like `{{{x}}}` (B-79, Q-117);
/// - inline partials are per part (B-83): each part is rendered on its own;
/// - a missing subject renders as the empty string (a stored template always has one, Q-120).
pub fn render(content: &TemplateContent, data_json: &str) -> Result<Rendered, TemplateError> {
    let chars = data_json.chars().count();
    if chars > MAX_TEMPLATE_DATA_CHARS {
        return Err(TemplateError::TooLarge(format!(
            "TemplateData is {chars} characters long; the maximum is {MAX_TEMPLATE_DATA_CHARS}."
        )));
    }
    let data: serde_json::Value = serde_json::from_str(data_json).map_err(|e| {
        TemplateError::InvalidRenderingParameter(format!("TemplateData is not valid JSON: {e}"))
    })?;
    if !data.is_object() {
        return Err(TemplateError::InvalidRenderingParameter(
            "TemplateData must be a JSON object.".into(),
        ));
    }
    let context = Context::wraps(&data).map_err(|e| {
        TemplateError::InvalidRenderingParameter(format!("TemplateData is unusable: {e}"))
    })?;
    let registry = ses_registry();
    let part = |name: &str, source: &str| -> Result<String, TemplateError> {
        let template = compile(name, source)?;
        let mut rc = RenderContext::new(None);
        let mut out = StringOutput::default();
        handlebars::Renderable::render(&template, &registry, &context, &mut rc, &mut out)
            .map_err(|e| map_render_error(name, &e))?;
        Ok(out.0)
    };
    Ok(Rendered {
        subject: match &content.subject {
            Some(s) => part("SubjectPart", s)?,
            None => String::new(),
        },
        text: content
            .text
            .as_deref()
            .map(|s| part("TextPart", s))
            .transpose()?,
        html: content
            .html
            .as_deref()
            .map(|s| part("HtmlPart", s))
            .transpose()?,
    })
}

/// A registry configured to SES semantics (Q-117). Built per call: no global state.
fn ses_registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    // Non-strict, so missing names are falsy in `#if`/`#each`/`#with` (B-82, Q-118); missing
    // output values are turned into errors by the `helperMissing` hook below instead.
    hb.set_strict_mode(false);
    // B-79 / Q-117: never HTML-escape, not even in HtmlPart.
    hb.register_escape_fn(handlebars::no_escape);
    // Q-117: the built-ins are `if`, `unless`, `each`, `with`, `lookup`, `log` (plus the `inline`
    // decorator); handlebars-rust's extras are not part of SES's dialect.
    for extra in [
        "raw", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len",
    ] {
        hb.unregister_helper(extra);
    }
    hb.register_helper("helperMissing", Box::new(HelperMissing));
    hb
}

/// The name of SES's open-tracker placeholder `{{ses:openTracker}}` (G-63).
const OPEN_TRACKER: &str = "ses:openTracker";

/// Called for `{{name}}` when `name` is neither a helper nor present in the data, and for
/// `{{name arg…}}` with an unknown helper.
struct HelperMissing;

impl HelperDef for HelperMissing {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        // G-63 (L28222): the open-tracker placeholder works in templated sends too; it stays
        // in the rendered part for delivery to replace with the pixel.
        if h.name() == OPEN_TRACKER && h.params().is_empty() && h.hash().is_empty() {
            out.write("{{ses:openTracker}}")?;
            return Ok(());
        }
        if h.params().is_empty() && h.hash().is_empty() {
            Err(RenderErrorReason::MissingVariable(Some(h.name().to_owned())).into())
        } else {
            Err(RenderErrorReason::HelperNotFound(h.name().to_owned()).into())
        }
    }
}

fn map_render_error(part: &str, e: &RenderError) -> TemplateError {
    match e.reason() {
        RenderErrorReason::MissingVariable(Some(name)) => {
            TemplateError::MissingRenderingAttribute(name.clone())
        }
        RenderErrorReason::PartialNotFound(p) => {
            TemplateError::InvalidTemplate(format!("{part}: partial '{p}' is not defined"))
        }
        RenderErrorReason::HelperNotFound(h) => {
            TemplateError::InvalidTemplate(format!("{part}: helper '{h}' is not supported"))
        }
        _ => TemplateError::InvalidTemplate(format!("{part}: {e}")),
    }
}

#[derive(Default)]
struct StringOutput(String);

impl Output for StringOutput {
    fn write(&mut self, seg: &str) -> Result<(), std::io::Error> {
        self.0.push_str(seg);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recognises the expected error in a table row.
    type Check = fn(&TemplateError) -> bool;

    /// Renders a template whose only part is the text part.
    fn text(source: &str, data: &str) -> Result<String, TemplateError> {
        let content = TemplateContent {
            subject: None,
            text: Some(source.into()),
            html: None,
        };
        render(&content, data).map(|r| r.text.unwrap_or_default())
    }

    fn missing(name: &str) -> Result<String, TemplateError> {
        Err(TemplateError::MissingRenderingAttribute(name.into()))
    }

    /// G-63: `{{ses:openTracker}}` is kept for delivery, in every part, not a missing attribute.
    #[test]
    fn open_tracker_placeholder_is_kept() {
        let content = TemplateContent {
            subject: None,
            text: None,
            html: Some("<p>{{name}} {{ses:openTracker}}</p>".into()),
        };
        let r = render(&content, r#"{"name":"x"}"#).unwrap();
        assert_eq!(r.html.as_deref(), Some("<p>x {{ses:openTracker}}</p>"));
    }

    /// (spec id, template, data, expected)
    #[test]
    fn rendering_table() {
        let ok = |s: &str| Ok::<String, TemplateError>(s.into());
        let table: &[(&str, &str, &str, Result<String, TemplateError>)] = &[
            // B-73/B-85: plain substitution, the seed's fixture.
            (
                "B-85",
                "Dear {{name}},\r\nYour favorite animal is {{favoriteanimal}}.",
                r#"{"name":"Alejandro","favoriteanimal":"alligator"}"#,
                ok("Dear Alejandro,\r\nYour favorite animal is alligator."),
            ),
            ("B-80", "{{person.name}}", r#"{"person":{"name":"Bilbo"}}"#, ok("Bilbo")),
            (
                "B-80",
                "{{a.b.c}}/{{meta.userId}}",
                r#"{"a":{"b":{"c":1}},"meta":{"userId":"u-7"}}"#,
                ok("1/u-7"),
            ),
            ("H-14", "{{n}} {{f}} {{t}}", r#"{"n":42,"f":1.5,"t":true}"#, ok("42 1.5 true")),
            // B-81: each, names resolve against the current item.
            (
                "B-81",
                "{{#each interests}}<li>{{interest}}</li>{{/each}}",
                r#"{"interests":[{"interest":"Sports"},{"interest":"Travel"}]}"#,
                ok("<li>Sports</li><li>Travel</li>"),
            ),
            ("B-81", "{{#each xs}}{{this}},{{/each}}", r#"{"xs":["a","b"]}"#, ok("a,b,")),
            ("B-81", "{{#each xs}}{{@index}}{{/each}}", r#"{"xs":["a","b"]}"#, ok("01")),
            // B-82: if/else; empty array and missing attribute are falsy.
            ("B-82", "{{#if vip}}gold{{else}}std{{/if}}", r#"{"vip":true}"#, ok("gold")),
            ("B-82", "{{#if vip}}gold{{else}}std{{/if}}", r#"{"vip":false}"#, ok("std")),
            ("B-82/Q-118", "{{#if vip}}gold{{else}}std{{/if}}", r#"{}"#, ok("std")),
            ("B-82", "{{#if xs}}some{{else}}none{{/if}}", r#"{"xs":[]}"#, ok("none")),
            ("Q-117", "{{#unless vip}}std{{/unless}}", r#"{}"#, ok("std")),
            ("Q-118", "{{#each xs}}x{{else}}empty{{/each}}", r#"{}"#, ok("empty")),
            ("Q-118", "{{#with p}}{{name}}{{else}}nobody{{/with}}", r#"{}"#, ok("nobody")),
            ("Q-117", "{{#with p}}{{name}}{{/with}}", r#"{"p":{"name":"Ann"}}"#, ok("Ann")),
            ("Q-117", "{{lookup m k}}", r#"{"m":{"a":"x"},"k":"a"}"#, ok("x")),
            // B-83: inline partials; the newline after the definition is not output.
            (
                "B-83",
                "{{#* inline \"who\"}}{{firstName}} {{lastName}}{{/inline}}\n{{#each people}}[{{> who}}]{{/each}}",
                r#"{"people":[{"firstName":"A","lastName":"B"},{"firstName":"C","lastName":"D"}]}"#,
                ok("[A B][C D]"),
            ),
            ("B-83", "{{#* inline \"p\"}}P{{/inline~}}\n  {{> p}}", r#"{}"#, ok("P")),
            ("B-83", "{{#* inline \"p\"}}P{{/inline}}\r\n\n{{> p}}", r#"{}"#, ok("\nP")),
            (
                "B-83",
                "{{#* inline \"p\"}}\n{{x}}\n{{/inline}}\n{{> p}}!",
                r#"{"x":1}"#,
                ok("1\n!"),
            ),
            // B-79: no HTML escaping (text part here; html in `escaping_per_part`).
            ("B-79", "{{v}}", r#"{"v":"<b>x</b> & \"q\""}"#, ok("<b>x</b> & \"q\"")),
            // Q-118 / G-52: a missing output value is an error naming the attribute.
            ("Q-118", "Hi {{name}}", r#"{}"#, missing("name")),
            ("Q-118", "Hi {{person.name}}", r#"{"person":{}}"#, missing("person.name")),
            ("Q-118", "Hi {{person.name}}", r#"{}"#, missing("person.name")),
            ("Q-118", "{{#each xs}}{{interest}}{{/each}}", r#"{"xs":[{}]}"#, missing("interest")),
            ("Q-118", "{{#if a}}{{b}}{{/if}}", r#"{"a":1}"#, missing("b")),
            // A present null/empty value is not missing.
            ("Q-118", "[{{v}}]", r#"{"v":""}"#, ok("[]")),
            ("Q-118", "[{{v}}]", r#"{"v":null}"#, ok("[]")),
        ];
        for (id, source, data, expected) in table {
            assert_eq!(&text(source, data), expected, "{id}: {source}");
        }
    }

    /// Model `InvalidRenderingParameterException` ("TemplateData object contains invalid JSON"),
    /// H-14 (key/value pairs), Q-120 (262,144 characters).
    #[test]
    fn template_data_table() {
        let long = format!(r#"{{"v":"{}"}}"#, "x".repeat(MAX_TEMPLATE_DATA_CHARS));
        let table: &[(&str, Check)] = &[
            ("not json", |e| {
                matches!(e, TemplateError::InvalidRenderingParameter(_))
            }),
            (r#"{"a":1"#, |e| {
                matches!(e, TemplateError::InvalidRenderingParameter(_))
            }),
            ("[1,2]", |e| {
                matches!(e, TemplateError::InvalidRenderingParameter(_))
            }),
            (r#""s""#, |e| {
                matches!(e, TemplateError::InvalidRenderingParameter(_))
            }),
            ("null", |e| {
                matches!(e, TemplateError::InvalidRenderingParameter(_))
            }),
            ("", |e| {
                matches!(e, TemplateError::InvalidRenderingParameter(_))
            }),
            (long.as_str(), |e| matches!(e, TemplateError::TooLarge(_))),
        ];
        for (data, check) in table {
            let got = text("x", data).expect_err(data);
            assert!(check(&got), "{data:.20}: {got:?}");
        }
    }

    /// Model `InvalidTemplateException` (unknown partial) and Q-117 (no helpers beyond the
    /// listed built-ins; B-83 partials are per part).
    #[test]
    fn invalid_at_render_table() {
        let table = [
            ("{{> nope}}", "partial 'nope'"),
            ("{{eq a b}}", "helper 'eq'"),
            ("{{#if (eq a b)}}x{{/if}}", "helper 'eq'"),
            ("{{shout name}}", "helper 'shout'"),
        ];
        for (source, needle) in table {
            match text(source, r#"{"a":1,"b":1,"name":"n"}"#) {
                Err(TemplateError::InvalidTemplate(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("{source}: {other:?}"),
            }
        }
    }

    /// B-79 (no escaping, HTML part included), B-83 (partials per part), G-52 (message text).
    #[test]
    fn escaping_per_part() {
        let content = TemplateContent {
            subject: Some("Hi {{v}}".into()),
            text: Some("T {{v}}".into()),
            html: Some("<p>{{v}}</p>".into()),
        };
        let table = [(
            r#"{"v":"<b>x</b> & 'y'"}"#,
            Rendered {
                subject: "Hi <b>x</b> & 'y'".into(),
                text: Some("T <b>x</b> & 'y'".into()),
                html: Some("<p><b>x</b> & 'y'</p>".into()),
            },
        )];
        for (data, expected) in table {
            assert_eq!(render(&content, data).unwrap(), expected);
        }

        let partial_in_html_only = TemplateContent {
            subject: Some("s".into()),
            text: Some("{{> p}}".into()),
            html: Some("{{#* inline \"p\"}}P{{/inline}}\n{{> p}}".into()),
        };
        assert!(matches!(
            render(&partial_in_html_only, "{}"),
            Err(TemplateError::InvalidTemplate(m)) if m.starts_with("TextPart")
        ));

        let e = render(&content, "{}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Attribute 'v' is not present in the rendering data."
        );
    }
}

//! Rendering: SES's Handlebars dialect (B-78..B-84, Q-117, Q-118) over `TemplateData`.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason, Template,
};

use crate::validate::MAX_TEMPLATE_DATA_CHARS;
use crate::{Rendered, TemplateContent, TemplateError};

/// Compiles one part; `part` is the SES member name used in the error (`SubjectPart`, …).
pub(crate) fn compile(part: &str, source: &str) -> Result<Template, TemplateError> {
    Template::compile(source).map_err(|e| TemplateError::InvalidTemplate(format!("{part}: {e}")))
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

/// A registry configured to SES semantics. Built per call: no global state.
fn ses_registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    // Non-strict, so missing names are falsy in `#if`/`#each`/`#with` (B-82, Q-118); missing
    // output values are turned into errors by the `helperMissing` hook below instead.
    hb.set_strict_mode(false);
    // B-79 / Q-117: never HTML-escape, not even in HtmlPart.
    hb.register_escape_fn(handlebars::no_escape);
    // the built-ins are `if`, `unless`, `each`, `with`, `lookup`, `log` (plus the `inline`
    // decorator); handlebars-rust's extras are not part of SES's dialect.
    for extra in [
        "raw", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len",
    ] {
        hb.unregister_helper(extra);
    }
    hb.register_helper("helperMissing", Box::new(HelperMissing));
    hb
}

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
        _: &mut dyn Output,
    ) -> HelperResult {
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

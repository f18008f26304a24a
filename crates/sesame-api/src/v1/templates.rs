//! SES v1 email templates (spec B-69..B-89; DECISIONS ..Q-121; ses.json operations
//! `CreateTemplate`, `GetTemplate`, `ListTemplates`, `UpdateTemplate`, `DeleteTemplate`,
//! `TestRenderTemplate`). The records are shared with the v2 `…EmailTemplate` operations.

use sesame_awsproto::generated::ses as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::templates::{validate_template_name, TemplateRecord};
use sesame_engine::{Engine, EngineError};
use sesame_template::TemplateContent;

use super::SesV1;
use crate::error::v1 as err1;
use crate::RequestCtx;

const LIST_OP: &str = "ListTemplates";

/// Q-13 / model `MaxItems`: 1–100, default 10, larger values clamped to 100.
const DEFAULT_MAX_ITEMS: i64 = 10;
const MAX_MAX_ITEMS: i64 = 100;

fn err(e: EngineError) -> ApiError {
    err1(e, Some("TemplateDoesNotExistException"))
}

fn content(t: &w::Template) -> TemplateContent {
    TemplateContent {
        subject: t.subject_part.clone(),
        text: t.text_part.clone(),
        html: t.html_part.clone(),
    }
}

fn wire(rec: TemplateRecord) -> w::Template {
    w::Template {
        template_name: rec.name,
        subject_part: rec.subject,
        text_part: rec.text,
        html_part: rec.html,
    }
}

pub(super) async fn create(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::CreateTemplateRequest,
) -> Result<w::CreateTemplateResponse, ApiError> {
    let rec = Engine::new_template(&i.template.template_name, content(&i.template), vec![]);
    api.engine
        .create_template(&ctx.scope, rec)
        .await
        .map_err(err)?;
    Ok(w::CreateTemplateResponse {})
}

pub(super) async fn get(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::GetTemplateRequest,
) -> Result<w::GetTemplateResponse, ApiError> {
    let rec = api
        .engine
        .require_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?;
    Ok(w::GetTemplateResponse {
        template: Some(wire(rec)),
    })
}

pub(super) async fn list(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::ListTemplatesRequest,
) -> Result<w::ListTemplatesResponse, ApiError> {
    let e = &api.engine;
    let max = i.max_items.unwrap_or(DEFAULT_MAX_ITEMS);
    if max < 1 {
        return Err(ApiError::validation(
            Service::SesV1,
            "MaxItems must be at least 1.",
        ));
    }
    let max = max.min(MAX_MAX_ITEMS);
    let after = e
        .parse_page_token(&ctx.scope, LIST_OP, "", i.next_token.as_deref())
        .map_err(err)?;
    let (items, more) = e
        .list_templates(&ctx.scope, after.as_deref(), max as usize)
        .await
        .map_err(err)?;
    Ok(w::ListTemplatesResponse {
        // B-86: an empty list, not an absent member, when there are no templates.
        templates_metadata: Some(
            items
                .into_iter()
                .map(|t| w::TemplateMetadata {
                    name: Some(t.name),
                    created_timestamp: Some(t.created_at as f64 / 1000.0),
                })
                .collect(),
        ),
        next_token: more.map(|last| e.page_token(&ctx.scope, LIST_OP, "", &last)),
    })
}

/// B-89 / Q-120: a full replacement.
pub(super) async fn update(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateTemplateRequest,
) -> Result<w::UpdateTemplateResponse, ApiError> {
    api.engine
        .update_template(&ctx.scope, &i.template.template_name, content(&i.template))
        .await
        .map_err(err)?;
    Ok(w::UpdateTemplateResponse {})
}

/// The model lists no errors for `DeleteTemplate`: deleting an absent template succeeds, as in
/// SES. A malformed name is still a parameter error.
pub(super) async fn delete(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::DeleteTemplateRequest,
) -> Result<w::DeleteTemplateResponse, ApiError> {
    validate_template_name(&i.template_name).map_err(err)?;
    api.engine
        .delete_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?;
    Ok(w::DeleteTemplateResponse {})
}

/// the rendered MIME message; a missing attribute is `MissingRenderingAttribute` and bad
/// data `InvalidRenderingParameter`.
pub(super) async fn test_render(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::TestRenderTemplateRequest,
) -> Result<w::TestRenderTemplateResponse, ApiError> {
    let rendered = api
        .engine
        .test_render_template(&ctx.scope, &i.template_name, &i.template_data)
        .await
        .map_err(err)?;
    Ok(w::TestRenderTemplateResponse {
        rendered_template: Some(rendered),
    })
}

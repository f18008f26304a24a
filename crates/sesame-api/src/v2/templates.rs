//! SES v2 email templates (spec B-69..B-89; DECISIONS Q-117..Q-121; model operations
//! `CreateEmailTemplate`, `GetEmailTemplate`, `ListEmailTemplates`, `UpdateEmailTemplate`,
//! `DeleteEmailTemplate`, `TestRenderEmailTemplate`). The records are shared with v1.

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::records::Tag;
use sesame_engine::{Engine, EngineError};
use sesame_template::TemplateContent;

use super::{from_wire_tags, SesV2};
use crate::error::v2 as err;
use crate::RequestCtx;

/// v2 template page sizes 1–100; the model gives no default, so absent = 100.
const MAX_PAGE_SIZE: i64 = 100;
const LIST_OP: &str = "ListEmailTemplates";

fn content(c: w::EmailTemplateContent) -> TemplateContent {
    TemplateContent {
        subject: c.subject,
        text: c.text,
        html: c.html,
    }
}

fn wire_tags(tags: &[Tag]) -> Vec<w::Tag> {
    tags.iter()
        .map(|t| w::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

pub(super) async fn create(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateEmailTemplateRequest,
) -> Result<w::CreateEmailTemplateResponse, ApiError> {
    let tags = from_wire_tags(i.tags).map_err(err)?;
    let rec = Engine::new_template(&i.template_name, content(i.template_content), tags);
    api.engine
        .create_template(&ctx.scope, rec)
        .await
        .map_err(err)?;
    Ok(w::CreateEmailTemplateResponse {})
}

pub(super) async fn get(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetEmailTemplateRequest,
) -> Result<w::GetEmailTemplateResponse, ApiError> {
    let rec = api
        .engine
        .require_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?;
    Ok(w::GetEmailTemplateResponse {
        template_name: rec.name.clone(),
        tags: Some(wire_tags(&rec.tags)),
        template_content: w::EmailTemplateContent {
            subject: rec.subject,
            text: rec.text,
            html: rec.html,
        },
    })
}

pub(super) async fn list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListEmailTemplatesRequest,
) -> Result<w::ListEmailTemplatesResponse, ApiError> {
    let e = &api.engine;
    let size = i.page_size.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(err(EngineError::BadRequest(format!(
            "PageSize must be between 1 and {MAX_PAGE_SIZE}."
        ))));
    }
    let after = e
        .parse_page_token(&ctx.scope, LIST_OP, "", i.next_token.as_deref())
        .map_err(err)?;
    let (items, more) = e
        .list_templates(&ctx.scope, after.as_deref(), size as usize)
        .await
        .map_err(err)?;
    Ok(w::ListEmailTemplatesResponse {
        templates_metadata: Some(
            items
                .into_iter()
                .map(|t| w::EmailTemplateMetadata {
                    template_name: Some(t.name),
                    created_timestamp: Some(t.created_at as f64 / 1000.0),
                })
                .collect(),
        ),
        next_token: more.map(|last| e.page_token(&ctx.scope, LIST_OP, "", &last)),
    })
}

/// full replacement (the model requires the whole `TemplateContent`).
pub(super) async fn update(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::UpdateEmailTemplateRequest,
) -> Result<w::UpdateEmailTemplateResponse, ApiError> {
    api.engine
        .update_template(&ctx.scope, &i.template_name, content(i.template_content))
        .await
        .map_err(err)?;
    Ok(w::UpdateEmailTemplateResponse {})
}

pub(super) async fn delete(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteEmailTemplateRequest,
) -> Result<w::DeleteEmailTemplateResponse, ApiError> {
    if api
        .engine
        .delete_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?
    {
        Ok(w::DeleteEmailTemplateResponse {})
    } else {
        Err(err(EngineError::NotFound(format!(
            "Template {} does not exist.",
            i.template_name
        ))))
    }
}

/// the rendered MIME message; rendering problems are `BadRequestException`.
pub(super) async fn test_render(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::TestRenderEmailTemplateRequest,
) -> Result<w::TestRenderEmailTemplateResponse, ApiError> {
    let rendered_template = api
        .engine
        .test_render_template(&ctx.scope, &i.template_name, &i.template_data)
        .await
        .map_err(err)?;
    Ok(w::TestRenderEmailTemplateResponse { rendered_template })
}

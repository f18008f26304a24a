//! SES v2 custom verification email templates and `SendCustomVerificationEmail` (spec
//! D-51..D-60; DECISIONS Q-101..Q-103; sesv2.json operations `CreateCustomVerificationEmailTemplate`,
//! `GetCustomVerificationEmailTemplate`, `ListCustomVerificationEmailTemplates`,
//! `UpdateCustomVerificationEmailTemplate` (full replacement, Q-102),
//! `DeleteCustomVerificationEmailTemplate`, `SendCustomVerificationEmail`). Records are shared
//! with v1.
//!
//! The v2 model has fewer error shapes than v1: invalid content and an unverified
//! `FromEmailAddress` are `BadRequestException` on create/update; on send, an
//! unverified From and the sandbox are `MessageRejected` (Q-103: "the v2 model has no
//! sandbox-specific error").

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::custom_verification::{
    CustomVerificationError as E, CustomVerificationTemplate, TemplatePatch,
};
use sesame_engine::records::Tag;
use sesame_engine::{Engine, EngineError};

use super::identities::from_wire_tags;
use super::SesV2;
use crate::error::v2 as err2;
use crate::RequestCtx;

const LIST_OP: &str = "ListCustomVerificationEmailTemplates";
/// Model `PageSize` documentation: 1–50; absent = 50.
const MAX_PAGE_SIZE: i64 = 50;

fn err(e: E) -> ApiError {
    let s = Service::SesV2;
    match e {
        E::Engine(e) => err2(e),
        E::TemplateNotFound(m) | E::ConfigurationSetNotFound(m) => {
            ApiError::from_shape(s, "NotFoundException", m)
        }
        E::InvalidContent(m) | E::FromNotVerified(m) => {
            ApiError::from_shape(s, "BadRequestException", m)
        }
        E::ProductionAccessNotGranted(m) => ApiError::from_shape(s, "MessageRejected", m),
    }
}

fn send_err(e: E) -> ApiError {
    match e {
        E::FromNotVerified(m) => ApiError::from_shape(Service::SesV2, "MessageRejected", m),
        other => err(other),
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

fn metadata(t: CustomVerificationTemplate) -> w::CustomVerificationEmailTemplateMetadata {
    w::CustomVerificationEmailTemplateMetadata {
        template_name: Some(t.name),
        from_email_address: Some(t.from_email_address),
        template_subject: Some(t.subject),
        success_redirection_url: Some(t.success_redirection_url),
        failure_redirection_url: Some(t.failure_redirection_url),
    }
}

pub(super) async fn create(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateCustomVerificationEmailTemplateRequest,
) -> Result<w::CreateCustomVerificationEmailTemplateResponse, ApiError> {
    let tags = from_wire_tags(i.tags).map_err(err2)?;
    let rec = Engine::new_custom_verification_template(
        &i.template_name,
        &i.from_email_address,
        &i.template_subject,
        &i.template_content,
        &i.success_redirection_url,
        &i.failure_redirection_url,
        tags,
    );
    api.engine
        .create_custom_verification_template(&ctx.scope, rec)
        .await
        .map_err(err)?;
    Ok(w::CreateCustomVerificationEmailTemplateResponse {})
}

pub(super) async fn get(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetCustomVerificationEmailTemplateRequest,
) -> Result<w::GetCustomVerificationEmailTemplateResponse, ApiError> {
    let t = api
        .engine
        .require_custom_verification_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?;
    Ok(w::GetCustomVerificationEmailTemplateResponse {
        tags: Some(wire_tags(&t.tags)),
        template_name: Some(t.name),
        from_email_address: Some(t.from_email_address),
        template_subject: Some(t.subject),
        template_content: Some(t.content),
        success_redirection_url: Some(t.success_redirection_url),
        failure_redirection_url: Some(t.failure_redirection_url),
    })
}

pub(super) async fn list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListCustomVerificationEmailTemplatesRequest,
) -> Result<w::ListCustomVerificationEmailTemplatesResponse, ApiError> {
    let e = &api.engine;
    let size = i.page_size.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(err2(EngineError::BadRequest(format!(
            "PageSize must be between 1 and {MAX_PAGE_SIZE}."
        ))));
    }
    let after = e
        .parse_page_token(&ctx.scope, LIST_OP, "", i.next_token.as_deref())
        .map_err(err2)?;
    let (items, more) = e
        .list_custom_verification_templates(&ctx.scope, after.as_deref(), size as usize)
        .await
        .map_err(err)?;
    Ok(w::ListCustomVerificationEmailTemplatesResponse {
        custom_verification_email_templates: Some(items.into_iter().map(metadata).collect()),
        next_token: more.map(|last| e.page_token(&ctx.scope, LIST_OP, "", &last)),
    })
}

/// v2 replaces every field (the model requires all six).
pub(super) async fn update(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::UpdateCustomVerificationEmailTemplateRequest,
) -> Result<w::UpdateCustomVerificationEmailTemplateResponse, ApiError> {
    let patch = TemplatePatch {
        from_email_address: Some(i.from_email_address),
        subject: Some(i.template_subject),
        content: Some(i.template_content),
        success_redirection_url: Some(i.success_redirection_url),
        failure_redirection_url: Some(i.failure_redirection_url),
    };
    api.engine
        .update_custom_verification_template(&ctx.scope, &i.template_name, patch)
        .await
        .map_err(err)?;
    Ok(w::UpdateCustomVerificationEmailTemplateResponse {})
}

pub(super) async fn delete(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteCustomVerificationEmailTemplateRequest,
) -> Result<w::DeleteCustomVerificationEmailTemplateResponse, ApiError> {
    if !api
        .engine
        .delete_custom_verification_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?
    {
        return Err(err(E::TemplateNotFound(format!(
            "Custom verification email template {} does not exist.",
            i.template_name
        ))));
    }
    Ok(w::DeleteCustomVerificationEmailTemplateResponse {})
}

/// D-55, Q-101, Q-103 (sandbox → `MessageRejected`).
pub(super) async fn send(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::SendCustomVerificationEmailRequest,
) -> Result<w::SendCustomVerificationEmailResponse, ApiError> {
    let id = api
        .engine
        .send_custom_verification_email(
            &ctx.scope,
            &i.email_address,
            &i.template_name,
            i.configuration_set_name.as_deref(),
        )
        .await
        .map_err(send_err)?;
    Ok(w::SendCustomVerificationEmailResponse {
        message_id: Some(id),
    })
}

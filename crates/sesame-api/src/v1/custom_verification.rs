//! SES v1 custom verification email templates and `SendCustomVerificationEmail` (spec
//! D-51..D-60; DECISIONS Q-101..Q-103; ses.json operations `CreateCustomVerificationEmailTemplate`,
//! `GetCustomVerificationEmailTemplate`, `ListCustomVerificationEmailTemplates`,
//! `UpdateCustomVerificationEmailTemplate` (partial, Q-102), `DeleteCustomVerificationEmailTemplate`,
//! `SendCustomVerificationEmail`). Records are shared with v2.

use sesame_awsproto::generated::ses as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::custom_verification::{
    CustomVerificationError as E, CustomVerificationTemplate, TemplatePatch,
};
use sesame_engine::templates::validate_template_name;
use sesame_engine::{Engine, EngineError};

use super::SesV1;
use crate::error::v1 as err1;
use crate::RequestCtx;

const LIST_OP: &str = "ListCustomVerificationEmailTemplates";
/// Model `MaxResults`: 1–50; absent = 50.
const MAX_RESULTS: i64 = 50;

/// The model's error shapes of these operations (ses.json).
fn err(e: E) -> ApiError {
    let s = Service::SesV1;
    match e {
        E::Engine(EngineError::AlreadyExists(m)) => ApiError::from_shape(
            s,
            "CustomVerificationEmailTemplateAlreadyExistsException",
            m,
        ),
        E::Engine(e) => err1(e, None),
        E::TemplateNotFound(m) => {
            ApiError::from_shape(s, "CustomVerificationEmailTemplateDoesNotExistException", m)
        }
        E::ConfigurationSetNotFound(m) => {
            ApiError::from_shape(s, "ConfigurationSetDoesNotExistException", m)
        }
        E::InvalidContent(m) => {
            ApiError::from_shape(s, "CustomVerificationEmailInvalidContentException", m)
        }
        E::FromNotVerified(m) => ApiError::from_shape(s, "FromEmailAddressNotVerifiedException", m),
        E::ProductionAccessNotGranted(m) => {
            ApiError::from_shape(s, "ProductionAccessNotGrantedException", m)
        }
    }
}

fn metadata(t: CustomVerificationTemplate) -> w::CustomVerificationEmailTemplate {
    w::CustomVerificationEmailTemplate {
        template_name: Some(t.name),
        from_email_address: Some(t.from_email_address),
        template_subject: Some(t.subject),
        success_redirection_url: Some(t.success_redirection_url),
        failure_redirection_url: Some(t.failure_redirection_url),
    }
}

pub(super) async fn create(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::CreateCustomVerificationEmailTemplateRequest,
) -> Result<(), ApiError> {
    let rec = Engine::new_custom_verification_template(
        &i.template_name,
        &i.from_email_address,
        &i.template_subject,
        &i.template_content,
        &i.success_redirection_url,
        &i.failure_redirection_url,
        vec![],
    );
    api.engine
        .create_custom_verification_template(&ctx.scope, rec)
        .await
        .map_err(err)?;
    Ok(())
}

pub(super) async fn get(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::GetCustomVerificationEmailTemplateRequest,
) -> Result<w::GetCustomVerificationEmailTemplateResponse, ApiError> {
    let t = api
        .engine
        .require_custom_verification_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?;
    Ok(w::GetCustomVerificationEmailTemplateResponse {
        template_name: Some(t.name),
        from_email_address: Some(t.from_email_address),
        template_subject: Some(t.subject),
        template_content: Some(t.content),
        success_redirection_url: Some(t.success_redirection_url),
        failure_redirection_url: Some(t.failure_redirection_url),
    })
}

pub(super) async fn list(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::ListCustomVerificationEmailTemplatesRequest,
) -> Result<w::ListCustomVerificationEmailTemplatesResponse, ApiError> {
    let e = &api.engine;
    let max = i.max_results.unwrap_or(MAX_RESULTS);
    if !(1..=MAX_RESULTS).contains(&max) {
        return Err(ApiError::validation(
            Service::SesV1,
            format!("MaxResults must be between 1 and {MAX_RESULTS}."),
        ));
    }
    let after = e
        .parse_page_token(&ctx.scope, LIST_OP, "", i.next_token.as_deref())
        .map_err(|x| err(x.into()))?;
    let (items, more) = e
        .list_custom_verification_templates(&ctx.scope, after.as_deref(), max as usize)
        .await
        .map_err(err)?;
    Ok(w::ListCustomVerificationEmailTemplatesResponse {
        custom_verification_email_templates: Some(items.into_iter().map(metadata).collect()),
        next_token: more.map(|last| e.page_token(&ctx.scope, LIST_OP, "", &last)),
    })
}

/// v1 is a partial update — only `TemplateName` is required, supplied fields replace.
pub(super) async fn update(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateCustomVerificationEmailTemplateRequest,
) -> Result<(), ApiError> {
    let patch = TemplatePatch {
        from_email_address: i.from_email_address,
        subject: i.template_subject,
        content: i.template_content,
        success_redirection_url: i.success_redirection_url,
        failure_redirection_url: i.failure_redirection_url,
    };
    api.engine
        .update_custom_verification_template(&ctx.scope, &i.template_name, patch)
        .await
        .map_err(err)?;
    Ok(())
}

/// The model lists no errors: deleting an absent template succeeds.
pub(super) async fn delete(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::DeleteCustomVerificationEmailTemplateRequest,
) -> Result<(), ApiError> {
    validate_template_name(&i.template_name).map_err(|x| err(x.into()))?;
    api.engine
        .delete_custom_verification_template(&ctx.scope, &i.template_name)
        .await
        .map_err(err)?;
    Ok(())
}

/// D-55, Q-101, Q-103 (sandbox → `ProductionAccessNotGranted`).
pub(super) async fn send(
    api: &SesV1,
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
        .map_err(err)?;
    Ok(w::SendCustomVerificationEmailResponse {
        message_id: Some(id),
    })
}

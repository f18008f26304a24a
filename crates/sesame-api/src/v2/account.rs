//! SES v2 account operations (spec A; `GetAccount`, `PutAccount*`).

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::EngineError;

use super::SesV2;
use crate::error::v2 as err;
use crate::RequestCtx;

pub(super) async fn get(
    api: &SesV2,
    ctx: &RequestCtx,
    _i: w::GetAccountRequest,
) -> Result<w::GetAccountResponse, ApiError> {
    let s = api.engine.account_settings(&ctx.scope).await.map_err(err)?;
    let sent = api
        .engine
        .sent_last_24_hours(&ctx.scope)
        .await
        .map_err(err)?;
    Ok(w::GetAccountResponse {
        dedicated_ip_auto_warmup_enabled: Some(s.dedicated_ip_auto_warmup_enabled),
        enforcement_status: Some(s.enforcement_status.clone()),
        production_access_enabled: Some(s.production_access),
        send_quota: Some(w::SendQuota {
            max24_hour_send: Some(s.max_24h_send),
            max_send_rate: Some(s.max_send_rate),
            sent_last24_hours: Some(sent),
        }),
        // an enforcement SHUTDOWN shows as not enabled, whatever the account's switch.
        sending_enabled: Some(s.sending_enabled && s.enforcement_status != "SHUTDOWN"),
        suppression_attributes: Some(w::SuppressionAttributes {
            suppressed_reasons: Some(s.suppressed_reasons.clone()),
            validation_attributes: None,
        }),
        details: s
            .details
            .clone()
            .and_then(|d| serde_json::from_value(d).ok()),
        vdm_attributes: s
            .vdm_attributes
            .clone()
            .and_then(|d| serde_json::from_value(d).ok()),
        pricing_attributes: None,
    })
}

/// `PutAccountDetails` (A-110..A-113): stores the details; asking for production access opens a
/// review (`ReviewDetails.Status = PENDING`) that the operator grants with
/// `sesame account production`.
pub(super) async fn put_details(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutAccountDetailsRequest,
) -> Result<w::PutAccountDetailsResponse, ApiError> {
    let wants_production = i.production_access_enabled == Some(true);
    let case_id = uuid::Uuid::new_v4().simple().to_string();
    api.engine
        .update_account_settings(&ctx.scope, |s| {
            let review = if wants_production && !s.production_access {
                Some(w::ReviewDetails {
                    status: Some("PENDING".into()),
                    case_id: Some(case_id.clone()),
                })
            } else {
                s.details
                    .as_ref()
                    .and_then(|d| serde_json::from_value::<w::AccountDetails>(d.clone()).ok())
                    .and_then(|d| d.review_details)
            };
            let details = w::AccountDetails {
                mail_type: Some(i.mail_type.clone()),
                website_url: Some(i.website_url.clone()),
                contact_language: i.contact_language.clone(),
                use_case_description: i.use_case_description.clone(),
                additional_contact_email_addresses: i.additional_contact_email_addresses.clone(),
                review_details: review,
            };
            s.details = Some(
                serde_json::to_value(details).map_err(|e| EngineError::Internal(e.to_string()))?,
            );
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(w::PutAccountDetailsResponse {})
}

pub(super) async fn put_sending(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutAccountSendingAttributesRequest,
) -> Result<w::PutAccountSendingAttributesResponse, ApiError> {
    let enabled = i.sending_enabled.unwrap_or(false);
    let now = sesame_engine::now_ms();
    api.engine
        .update_account_settings(&ctx.scope, |s| {
            // G-87, Q-243: the customer's switch; an enforcement SHUTDOWN still blocks sending.
            s.set_sending_enabled(enabled, now);
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(w::PutAccountSendingAttributesResponse {})
}

pub(super) async fn put_suppression(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutAccountSuppressionAttributesRequest,
) -> Result<w::PutAccountSuppressionAttributesResponse, ApiError> {
    if i.validation_attributes.is_some() {
        // address-validation thresholds need the insights feature, not built yet.
        return Err(err(EngineError::BadRequest(
            "ValidationAttributes are not supported by this deployment yet.".into(),
        )));
    }
    let mut reasons = i.suppressed_reasons.unwrap_or_default();
    reasons.sort();
    reasons.dedup();
    api.engine
        .update_account_settings(&ctx.scope, |s| {
            s.suppressed_reasons = reasons.clone();
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(w::PutAccountSuppressionAttributesResponse {})
}

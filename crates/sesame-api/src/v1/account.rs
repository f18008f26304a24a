//! SES v1 account operations (spec A).

use sesame_awsproto::generated::ses as w;
use sesame_awsproto::ApiError;

use super::SesV1;
use crate::error::v1 as err1;
use crate::RequestCtx;

fn err(e: sesame_engine::EngineError) -> ApiError {
    err1(e, None)
}

pub(super) async fn get_send_quota(
    api: &SesV1,
    ctx: &RequestCtx,
) -> Result<w::GetSendQuotaResponse, ApiError> {
    let s = api.engine.account_settings(&ctx.scope).await.map_err(err)?;
    let sent = api
        .engine
        .sent_last_24_hours(&ctx.scope)
        .await
        .map_err(err)?;
    Ok(w::GetSendQuotaResponse {
        max24_hour_send: Some(s.max_24h_send),
        max_send_rate: Some(s.max_send_rate),
        sent_last24_hours: Some(sent),
    })
}

/// one point per 15-minute bucket with activity over the last 14 days, ascending.
pub(super) async fn get_send_statistics(
    api: &SesV1,
    ctx: &RequestCtx,
) -> Result<w::GetSendStatisticsResponse, ApiError> {
    let since = sesame_engine::now_ms() - 14 * 24 * 3600 * 1000;
    let buckets = api
        .engine
        .store
        .send_statistics(&ctx.scope, since)
        .await
        .map_err(|e| err(e.into()))?;
    Ok(w::GetSendStatisticsResponse {
        send_data_points: Some(
            buckets
                .into_iter()
                .map(|b| w::SendDataPoint {
                    timestamp: Some(b.bucket_start as f64 / 1000.0),
                    delivery_attempts: Some(b.delivery_attempts),
                    bounces: Some(b.bounces),
                    complaints: Some(b.complaints),
                    rejects: Some(b.rejects),
                })
                .collect(),
        ),
    })
}

pub(super) async fn get_sending_enabled(
    api: &SesV1,
    ctx: &RequestCtx,
) -> Result<w::GetAccountSendingEnabledResponse, ApiError> {
    let s = api.engine.account_settings(&ctx.scope).await.map_err(err)?;
    Ok(w::GetAccountSendingEnabledResponse {
        // an enforcement SHUTDOWN shows as not enabled, whatever the account's switch.
        enabled: Some(s.sending_enabled && s.enforcement_status != "SHUTDOWN"),
    })
}

pub(super) async fn update_sending_enabled(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateAccountSendingEnabledRequest,
) -> Result<(), ApiError> {
    let enabled = i.enabled.unwrap_or(false);
    let now = sesame_engine::now_ms();
    api.engine
        .update_account_settings(&ctx.scope, |s| {
            // G-87, Q-243: the customer's switch; an enforcement SHUTDOWN still blocks sending.
            s.set_sending_enabled(enabled, now);
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(())
}

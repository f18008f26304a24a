//! SES v2 account-level suppression list (spec F-135..F-153; DECISIONS; model
//! operations `PutSuppressedDestination`, `GetSuppressedDestination`,
//! `DeleteSuppressedDestination`, `ListSuppressedDestinations`).
//!
//! `ListSuppressedDestinations` returns entries in byte order of the normalised address (domain
//! lower-cased, Q-190); `StartDate`/`EndDate` bound `LastUpdateTime` inclusively.

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::suppression::{SuppressionFilter, SuppressionRecord, MAX_PAGE_SIZE};
use sesame_engine::EngineError;

use super::SesV2;
use crate::error::v2 as err;
use crate::RequestCtx;

const LIST_OP: &str = "ListSuppressedDestinations";

/// tenants are not implemented yet, so a `TenantName` is refused, never ignored.
fn no_tenant(tenant: &Option<String>) -> Result<(), ApiError> {
    match tenant {
        Some(_) => Err(err(EngineError::BadRequest(
            "Tenants are not supported by this deployment".into(),
        ))),
        None => Ok(()),
    }
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn millis(secs: f64) -> i64 {
    (secs * 1000.0).round() as i64
}

pub(super) async fn put(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutSuppressedDestinationRequest,
) -> Result<w::PutSuppressedDestinationResponse, ApiError> {
    no_tenant(&i.tenant_name)?;
    api.engine
        .put_suppressed_destination(&ctx.scope, &i.email_address, &i.reason)
        .await
        .map_err(err)?;
    Ok(w::PutSuppressedDestinationResponse {})
}

pub(super) async fn get(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetSuppressedDestinationRequest,
) -> Result<w::GetSuppressedDestinationResponse, ApiError> {
    no_tenant(&i.tenant_name)?;
    let rec: SuppressionRecord = api
        .engine
        .get_suppressed_destination(&ctx.scope, &i.email_address)
        .await
        .map_err(err)?;
    Ok(w::GetSuppressedDestinationResponse {
        suppressed_destination: w::SuppressedDestination {
            email_address: rec.email_address,
            reason: rec.reason,
            last_update_time: secs(rec.last_update_time),
            attributes: rec.attributes.map(|a| w::SuppressedDestinationAttributes {
                message_id: a.message_id,
                feedback_id: a.feedback_id,
            }),
            tenant_name: None,
        },
    })
}

pub(super) async fn delete(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteSuppressedDestinationRequest,
) -> Result<w::DeleteSuppressedDestinationResponse, ApiError> {
    no_tenant(&i.tenant_name)?;
    api.engine
        .delete_suppressed_destination(&ctx.scope, &i.email_address)
        .await
        .map_err(err)?;
    Ok(w::DeleteSuppressedDestinationResponse {})
}

pub(super) async fn list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListSuppressedDestinationsRequest,
) -> Result<w::ListSuppressedDestinationsResponse, ApiError> {
    no_tenant(&i.tenant_name)?;
    let e = &api.engine;
    // the model gives no range or default; we page by at most 1,000 (F-152).
    let size = i.page_size.unwrap_or(MAX_PAGE_SIZE as i64);
    if !(1..=MAX_PAGE_SIZE as i64).contains(&size) {
        return Err(err(EngineError::BadRequest(format!(
            "PageSize must be between 1 and {MAX_PAGE_SIZE}."
        ))));
    }
    let filter = SuppressionFilter::new(
        i.reasons.unwrap_or_default(),
        i.start_date.map(millis),
        i.end_date.map(millis),
    )
    .map_err(err)?;
    let key = filter.token_key();
    // A bad token gets the model's own error for this operation.
    let after = e
        .parse_page_token(&ctx.scope, LIST_OP, &key, i.next_token.as_deref())
        .map_err(|_| {
            ApiError::from_shape(
                Service::SesV2,
                "InvalidNextTokenException",
                "The specified NextToken is invalid, expired, or was issued for another filter.",
            )
        })?;
    let (items, more) = e
        .list_suppressed_destinations(&ctx.scope, &filter, after.as_deref(), size as usize)
        .await
        .map_err(err)?;
    Ok(w::ListSuppressedDestinationsResponse {
        suppressed_destination_summaries: Some(
            items
                .into_iter()
                .map(|r| w::SuppressedDestinationSummary {
                    email_address: r.email_address,
                    reason: r.reason,
                    last_update_time: secs(r.last_update_time),
                })
                .collect(),
        ),
        next_token: more.map(|last| e.page_token(&ctx.scope, LIST_OP, &key, &last)),
    })
}

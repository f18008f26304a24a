//! SES v2 configuration sets and event destinations (spec E-93..E-126; model operations
//! `CreateConfigurationSet`, `GetConfigurationSet`, `ListConfigurationSets`,
//! `DeleteConfigurationSet`, `PutConfigurationSet*Options`, `*ConfigurationSetEventDestination*`).
//!
//! Option groups are stored in this surface's wire form (see `sesame_engine::configuration_sets`),
//! so most handlers validate, then store the wire object as JSON.

use serde_json::{json, Value};
use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::configuration_sets::{
    delivery_options, suppression_options, validate_configuration_set_name,
    validate_event_destination, validate_event_destination_name,
};
use sesame_engine::{now_ms, Engine, EngineError};
use sesame_model::Scope;

use super::identities::from_wire_tags;
use super::SesV2;
use crate::error::v2 as err;
use crate::RequestCtx;

type R<T> = Result<T, ApiError>;

fn bad(m: impl Into<String>) -> ApiError {
    err(EngineError::BadRequest(m.into()))
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("wire structs serialise")
}

fn from_json<T: serde::de::DeserializeOwned>(v: &Option<Value>) -> Option<T> {
    v.as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// `DeliveryOptions` in stored form, with its pool checked (E-98, E-100, E-129).
async fn checked_delivery(
    e: &Engine,
    scope: &Scope,
    tls: Option<&str>,
    pool: Option<&str>,
    max: Option<i64>,
) -> R<Value> {
    let v = delivery_options(tls, pool, max).map_err(err)?;
    if let Some(p) = pool.filter(|p| !p.is_empty()) {
        e.check_sending_pool(scope, p).await.map_err(err)?;
    }
    Ok(v)
}

/// `TrackingOptions` in stored form (E-99, Q-232); `None` when neither member is given.
async fn checked_tracking(
    e: &Engine,
    scope: &Scope,
    domain: Option<&str>,
    https_policy: Option<&str>,
) -> R<Option<Value>> {
    let mut o = serde_json::Map::new();
    if let Some(d) = domain.filter(|d| !d.is_empty()) {
        let d = e
            .check_custom_redirect_domain(scope, d)
            .await
            .map_err(err)?;
        o.insert("CustomRedirectDomain".into(), json!(d));
    }
    if let Some(p) = https_policy {
        o.insert("HttpsPolicy".into(), json!(p));
    }
    Ok((!o.is_empty()).then_some(Value::Object(o)))
}

/// tenants and address insights do not exist here, so only account scope is accepted.
fn check_suppression_extras(
    scope: Option<&str>,
    validation: Option<&w::SuppressionValidationOptions>,
) -> R<()> {
    if let Some(s) = scope.filter(|s| *s != "ACCOUNT") {
        return Err(bad(format!(
            "SuppressionScope {s} is not supported: this server has no tenants (DECISIONS Q-202)."
        )));
    }
    if validation.is_some() {
        return Err(bad(
            "ValidationOptions is not supported: address insights are not enabled (DECISIONS Q-202).",
        ));
    }
    Ok(())
}

/// an archive ARN must name an operator-defined archive store; none can be defined yet,
/// so any ARN is refused rather than accepted and never archived.
fn check_archive(arn: Option<&str>) -> R<()> {
    match arn.filter(|a| !a.is_empty()) {
        None => Ok(()),
        Some(a) => Err(bad(format!(
            "ArchivingOptions is not supported: this server has no Mail Manager archive stores, so {a} cannot be used (DECISIONS Q-181)."
        ))),
    }
}

pub(super) async fn create(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateConfigurationSetRequest,
) -> R<w::CreateConfigurationSetResponse> {
    let e = &api.engine;
    let scope = &ctx.scope;
    validate_configuration_set_name(&i.configuration_set_name).map_err(err)?;
    let mut rec = Engine::new_configuration_set(&i.configuration_set_name);
    rec.tags = from_wire_tags(i.tags).map_err(err)?;
    if i.message_security_options.is_some() {
        return Err(bad(
            "MessageSecurityOptions is not supported by this server.",
        ));
    }
    if let Some(a) = &i.archiving_options {
        check_archive(a.archive_arn.as_deref())?;
    }
    if let Some(s) = &i.suppression_options {
        check_suppression_extras(
            s.suppression_scope.as_deref(),
            s.validation_options.as_ref(),
        )?;
        rec.suppression_options =
            suppression_options(s.suppressed_reasons.as_deref()).map_err(err)?;
    }
    if let Some(r) = &i.reputation_options {
        rec.set_reputation_metrics_enabled(r.reputation_metrics_enabled.unwrap_or(false));
    }
    if let Some(s) = &i.sending_options {
        rec.sending_options = Some(json!({ "SendingEnabled": s.sending_enabled.unwrap_or(true) }));
    }
    if let Some(v) = &i.vdm_options {
        rec.vdm_options = Some(to_json(v));
    }
    if let Some(d) = &i.delivery_options {
        rec.delivery_options = Some(
            checked_delivery(
                e,
                scope,
                d.tls_policy.as_deref(),
                d.sending_pool_name.as_deref(),
                d.max_delivery_seconds,
            )
            .await?,
        );
    }
    if let Some(t) = &i.tracking_options {
        rec.tracking_options = checked_tracking(
            e,
            scope,
            Some(t.custom_redirect_domain.as_str()),
            t.https_policy.as_deref(),
        )
        .await?;
    }
    e.create_configuration_set(scope, rec).await.map_err(err)?;
    Ok(w::CreateConfigurationSetResponse {})
}

pub(super) async fn get(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetConfigurationSetRequest,
) -> R<w::GetConfigurationSetResponse> {
    let rec = api
        .engine
        .require_configuration_set(&ctx.scope, &i.configuration_set_name)
        .await
        .map_err(err)?;
    let mut delivery: w::DeliveryOptions = from_json(&rec.delivery_options).unwrap_or_default();
    delivery.tls_policy.get_or_insert_with(|| "OPTIONAL".into());
    Ok(w::GetConfigurationSetResponse {
        configuration_set_name: Some(rec.name.clone()),
        // A set may carry an HttpsPolicy without a custom domain (Q-232: it then applies to
        // this server's own tracking host); the model requires the domain member.
        tracking_options: rec.tracking_options.as_ref().map(|t| w::TrackingOptions {
            custom_redirect_domain: rec.custom_redirect_domain().unwrap_or_default().to_string(),
            https_policy: t
                .get("HttpsPolicy")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
        delivery_options: Some(delivery),
        reputation_options: Some(w::ReputationOptions {
            reputation_metrics_enabled: Some(rec.reputation_metrics_enabled()),
            last_fresh_start: rec.last_fresh_start(),
        }),
        sending_options: Some(w::SendingOptions {
            sending_enabled: Some(rec.sending_enabled()),
        }),
        tags: Some(
            rec.tags
                .iter()
                .map(|t| w::Tag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
        ),
        // omitted while inheriting, `SuppressedReasons: []` when overridden to none.
        suppression_options: from_json(&rec.suppression_options),
        vdm_options: from_json(&rec.vdm_options),
        archiving_options: from_json(&rec.archiving_options),
        message_security_options: None,
    })
}

pub(super) async fn list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListConfigurationSetsRequest,
) -> R<w::ListConfigurationSetsResponse> {
    let e = &api.engine;
    // PageSize 0-1000, absent = the maximum (as ListEmailIdentities, Q-13).
    let size = i.page_size.unwrap_or(1000);
    if !(0..=1000).contains(&size) {
        return Err(bad("PageSize must be between 0 and 1000."));
    }
    let contains = i
        .filter
        .as_ref()
        .and_then(|f| f.get("CONFIGURATION_SET_NAME_CONTAINS"))
        .cloned();
    let filter = contains.clone().unwrap_or_default();
    let after = e
        .parse_page_token(
            &ctx.scope,
            "ListConfigurationSets",
            &filter,
            i.next_token.as_deref(),
        )
        .map_err(err)?;
    let (names, more) = e
        .list_configuration_sets_filtered(
            &ctx.scope,
            contains.as_deref(),
            after.as_deref(),
            size.max(1) as usize,
        )
        .await
        .map_err(err)?;
    Ok(w::ListConfigurationSetsResponse {
        configuration_sets: Some(names),
        next_token: more
            .map(|last| e.page_token(&ctx.scope, "ListConfigurationSets", &filter, &last)),
    })
}

pub(super) async fn delete(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteConfigurationSetRequest,
) -> R<w::DeleteConfigurationSetResponse> {
    api.engine
        .delete_configuration_set(&ctx.scope, &i.configuration_set_name)
        .await
        .map_err(err)?;
    Ok(w::DeleteConfigurationSetResponse {})
}

/// Stores one option group after the set was found (NotFound before any other check).
async fn put_option(
    api: &SesV2,
    ctx: &RequestCtx,
    set: &str,
    f: impl FnMut(&mut sesame_engine::configuration_sets::ConfigurationSetRecord) + Send,
) -> R<()> {
    let mut f = f;
    api.engine
        .update_configuration_set(&ctx.scope, set, |r| {
            f(r);
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(())
}

async fn require(api: &SesV2, ctx: &RequestCtx, set: &str) -> R<()> {
    api.engine
        .require_configuration_set(&ctx.scope, set)
        .await
        .map_err(err)?;
    Ok(())
}

pub(super) async fn put_delivery(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetDeliveryOptionsRequest,
) -> R<w::PutConfigurationSetDeliveryOptionsResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    let v = checked_delivery(
        &api.engine,
        &ctx.scope,
        i.tls_policy.as_deref(),
        i.sending_pool_name.as_deref(),
        i.max_delivery_seconds,
    )
    .await?;
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.delivery_options = Some(v.clone())
    })
    .await?;
    Ok(w::PutConfigurationSetDeliveryOptionsResponse {})
}

pub(super) async fn put_reputation(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetReputationOptionsRequest,
) -> R<w::PutConfigurationSetReputationOptionsResponse> {
    let enabled = i.reputation_metrics_enabled.unwrap_or(false);
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.set_reputation_metrics_enabled(enabled)
    })
    .await?;
    Ok(w::PutConfigurationSetReputationOptionsResponse {})
}

pub(super) async fn put_sending(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetSendingOptionsRequest,
) -> R<w::PutConfigurationSetSendingOptionsResponse> {
    // Model: absent SendingEnabled = false (the CLI's --no-sending-enabled sends false).
    let enabled = i.sending_enabled.unwrap_or(false);
    let now = now_ms();
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.set_sending_enabled(enabled, now)
    })
    .await?;
    Ok(w::PutConfigurationSetSendingOptionsResponse {})
}

pub(super) async fn put_suppression(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetSuppressionOptionsRequest,
) -> R<w::PutConfigurationSetSuppressionOptionsResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    check_suppression_extras(
        i.suppression_scope.as_deref(),
        i.validation_options.as_ref(),
    )?;
    // absent = inherit, [] = no suppression, reasons = set-level suppression.
    let v = suppression_options(i.suppressed_reasons.as_deref()).map_err(err)?;
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.suppression_options = v.clone()
    })
    .await?;
    Ok(w::PutConfigurationSetSuppressionOptionsResponse {})
}

pub(super) async fn put_tracking(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetTrackingOptionsRequest,
) -> R<w::PutConfigurationSetTrackingOptionsResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    let v = checked_tracking(
        &api.engine,
        &ctx.scope,
        i.custom_redirect_domain.as_deref(),
        i.https_policy.as_deref(),
    )
    .await?;
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.tracking_options = v.clone()
    })
    .await?;
    Ok(w::PutConfigurationSetTrackingOptionsResponse {})
}

pub(super) async fn put_vdm(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetVdmOptionsRequest,
) -> R<w::PutConfigurationSetVdmOptionsResponse> {
    // E-103: absent VdmOptions reverts to the account settings.
    let v = i.vdm_options.as_ref().map(to_json);
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.vdm_options = v.clone()
    })
    .await?;
    Ok(w::PutConfigurationSetVdmOptionsResponse {})
}

pub(super) async fn put_archiving(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetArchivingOptionsRequest,
) -> R<w::PutConfigurationSetArchivingOptionsResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    check_archive(i.archive_arn.as_deref())?;
    // Only clearing can get here.
    put_option(api, ctx, &i.configuration_set_name, |r| {
        r.archiving_options = None
    })
    .await?;
    Ok(w::PutConfigurationSetArchivingOptionsResponse {})
}

/// The stored (v2 `EventDestination`) form of a definition, validated (E-120..E-126, Q-178).
fn destination(name: &str, d: w::EventDestinationDefinition) -> R<Value> {
    validate_event_destination_name(name).map_err(err)?;
    let v = to_json(&w::EventDestination {
        name: name.to_string(),
        // ses.json: publishing is off unless `Enabled` is true.
        enabled: Some(d.enabled.unwrap_or(false)),
        matching_event_types: d.matching_event_types.unwrap_or_default(),
        kinesis_firehose_destination: d.kinesis_firehose_destination,
        cloud_watch_destination: d.cloud_watch_destination,
        sns_destination: d.sns_destination,
        event_bridge_destination: d.event_bridge_destination,
        pinpoint_destination: d.pinpoint_destination,
    });
    validate_event_destination(&v).map_err(|e| bad(e.message))?;
    Ok(v)
}

pub(super) async fn create_destination(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateConfigurationSetEventDestinationRequest,
) -> R<w::CreateConfigurationSetEventDestinationResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    let v = destination(&i.event_destination_name, i.event_destination)?;
    // the Firehose stream or event bus must exist here.
    api.engine
        .check_destination_targets(&ctx.scope, &v)
        .await
        .map_err(err)?
        .map_err(|e| bad(e.message))?;
    api.engine
        .create_event_destination(
            &ctx.scope,
            &i.configuration_set_name,
            &i.event_destination_name,
            v,
        )
        .await
        .map_err(err)?;
    Ok(w::CreateConfigurationSetEventDestinationResponse {})
}

pub(super) async fn get_destinations(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetConfigurationSetEventDestinationsRequest,
) -> R<w::GetConfigurationSetEventDestinationsResponse> {
    let rows = api
        .engine
        .list_event_destinations(&ctx.scope, &i.configuration_set_name)
        .await
        .map_err(err)?;
    let list = rows
        .into_iter()
        .map(|v| {
            serde_json::from_value::<w::EventDestination>(v).map_err(|e| {
                err(EngineError::Internal(format!(
                    "corrupt event destination: {e}"
                )))
            })
        })
        .collect::<R<Vec<_>>>()?;
    Ok(w::GetConfigurationSetEventDestinationsResponse {
        event_destinations: Some(list),
    })
}

pub(super) async fn update_destination(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::UpdateConfigurationSetEventDestinationRequest,
) -> R<w::UpdateConfigurationSetEventDestinationResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    // The definition replaces the stored one (E-123).
    let v = destination(&i.event_destination_name, i.event_destination)?;
    // the Firehose stream or event bus must exist here.
    api.engine
        .check_destination_targets(&ctx.scope, &v)
        .await
        .map_err(err)?
        .map_err(|e| bad(e.message))?;
    api.engine
        .update_event_destination(
            &ctx.scope,
            &i.configuration_set_name,
            &i.event_destination_name,
            v,
        )
        .await
        .map_err(err)?;
    Ok(w::UpdateConfigurationSetEventDestinationResponse {})
}

pub(super) async fn delete_destination(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteConfigurationSetEventDestinationRequest,
) -> R<w::DeleteConfigurationSetEventDestinationResponse> {
    api.engine
        .delete_event_destination(
            &ctx.scope,
            &i.configuration_set_name,
            &i.event_destination_name,
        )
        .await
        .map_err(err)?;
    Ok(w::DeleteConfigurationSetEventDestinationResponse {})
}

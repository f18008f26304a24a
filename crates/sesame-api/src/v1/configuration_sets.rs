//! SES v1 configuration sets (spec E-93..E-126; ses.json). v1 sees the sets v2 stores: option
//! groups and event destinations are kept in v2 wire form and translated here (`Require` ↔
//! `REQUIRE`, `renderingFailure` ↔ `RENDERING_FAILURE`, `messageTag` ↔ `MESSAGE_TAG`; ).
//! Errors use the model's codes: `ConfigurationSetDoesNotExist`, `EventDestinationAlreadyExists`, ….

use serde_json::{json, Value};
use sesame_awsproto::generated::ses as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::configuration_sets::{
    to_v1, to_v2, validate_configuration_set_name, validate_event_destination,
    validate_event_destination_name, ConfigurationSetRecord, DestinationFault, InvalidDestination,
    DIMENSION_VALUE_SOURCES, EVENT_TYPES, TLS_POLICIES,
};
use sesame_engine::{now_ms, Engine, EngineError};

use super::SesV1;
use crate::error::v1 as err1;
use crate::RequestCtx;

type R<T> = Result<T, ApiError>;

fn shape(name: &str, m: impl AsRef<str>) -> ApiError {
    ApiError::from_shape(Service::SesV1, name, m.as_ref())
}

/// Errors of operations on a set: unknown set → `ConfigurationSetDoesNotExist`, duplicate →
/// `ConfigurationSetAlreadyExists`.
fn err(e: EngineError) -> ApiError {
    match e {
        EngineError::AlreadyExists(m) => shape("ConfigurationSetAlreadyExistsException", m),
        other => err1(other, Some("ConfigurationSetDoesNotExistException")),
    }
}

/// Errors of operations on one destination of a set that was found.
fn dest_err(e: EngineError) -> ApiError {
    match e {
        EngineError::AlreadyExists(m) => shape("EventDestinationAlreadyExistsException", m),
        other => err1(other, Some("EventDestinationDoesNotExistException")),
    }
}

async fn require(api: &SesV1, ctx: &RequestCtx, set: &str) -> R<ConfigurationSetRecord> {
    api.engine
        .require_configuration_set(&ctx.scope, set)
        .await
        .map_err(err)
}

async fn update(
    api: &SesV1,
    ctx: &RequestCtx,
    set: &str,
    mut f: impl FnMut(&mut ConfigurationSetRecord) -> Result<(), EngineError> + Send,
) -> R<ConfigurationSetRecord> {
    api.engine
        .update_configuration_set(&ctx.scope, set, |r| f(r))
        .await
        .map_err(err)
}

pub(super) async fn create(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::CreateConfigurationSetRequest,
) -> R<w::CreateConfigurationSetResponse> {
    let name = i.configuration_set.name;
    validate_configuration_set_name(&name)
        .map_err(|e| shape("InvalidConfigurationSetException", e.to_string()))?;
    api.engine
        .create_configuration_set(&ctx.scope, Engine::new_configuration_set(&name))
        .await
        .map_err(err)?;
    Ok(w::CreateConfigurationSetResponse {})
}

pub(super) async fn delete(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::DeleteConfigurationSetRequest,
) -> R<w::DeleteConfigurationSetResponse> {
    api.engine
        .delete_configuration_set(&ctx.scope, &i.configuration_set_name)
        .await
        .map_err(err)?;
    Ok(w::DeleteConfigurationSetResponse {})
}

pub(super) async fn list(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::ListConfigurationSetsRequest,
) -> R<w::ListConfigurationSetsResponse> {
    let e = &api.engine;
    let size = i.max_items.unwrap_or(1000).clamp(1, 1000) as usize;
    let after = e
        .parse_page_token(
            &ctx.scope,
            "v1:ListConfigurationSets",
            "",
            i.next_token.as_deref(),
        )
        .map_err(err)?;
    let (names, more) = e
        .list_configuration_sets(&ctx.scope, after.as_deref(), size)
        .await
        .map_err(err)?;
    Ok(w::ListConfigurationSetsResponse {
        configuration_sets: Some(
            names
                .into_iter()
                .map(|name| w::ConfigurationSet { name })
                .collect(),
        ),
        next_token: more
            .map(|last| e.page_token(&ctx.scope, "v1:ListConfigurationSets", "", &last)),
    })
}

/// A stored (v2) event destination in v1 form. EventBridge and Pinpoint destinations have no v1
/// shape; they show with their name, state and event types only.
pub(crate) fn destination_to_v1(v: &Value) -> w::EventDestination {
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    w::EventDestination {
        name: s(v, "Name"),
        enabled: Some(v.get("Enabled").and_then(Value::as_bool).unwrap_or(false)),
        matching_event_types: v
            .get("MatchingEventTypes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| to_v1(EVENT_TYPES, t.as_str()?))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        kinesis_firehose_destination: v.get("KinesisFirehoseDestination").map(|f| {
            w::KinesisFirehoseDestination {
                iam_role_arn: s(f, "IamRoleArn"),
                delivery_stream_arn: s(f, "DeliveryStreamArn"),
            }
        }),
        cloud_watch_destination: v
            .get("CloudWatchDestination")
            .map(|c| w::CloudWatchDestination {
                dimension_configurations: c
                    .get("DimensionConfigurations")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|d| w::CloudWatchDimensionConfiguration {
                                dimension_name: s(d, "DimensionName"),
                                dimension_value_source: to_v1(
                                    DIMENSION_VALUE_SOURCES,
                                    &s(d, "DimensionValueSource"),
                                )
                                .unwrap_or_default()
                                .to_string(),
                                default_dimension_value: s(d, "DefaultDimensionValue"),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
        sns_destination: v.get("SnsDestination").map(|d| w::SNSDestination {
            topic_arn: s(d, "TopicArn"),
        }),
    }
}

/// A v1 event destination in stored (v2) form, validated; v1 reports each destination type
/// with its own error code.
pub(crate) fn destination_from_v1(d: &w::EventDestination) -> R<Value> {
    validate_event_destination_name(&d.name).map_err(|e| err1(e, None))?;
    let mut types = Vec::new();
    for t in &d.matching_event_types {
        types.push(to_v2(EVENT_TYPES, t).ok_or_else(|| {
            ApiError::validation(Service::SesV1, format!("Invalid event type <{t}>."))
        })?);
    }
    let mut v = json!({
        "Name": d.name,
        // ses.json: "The default value is false."
        "Enabled": d.enabled.unwrap_or(false),
        "MatchingEventTypes": types,
    });
    if let Some(f) = &d.kinesis_firehose_destination {
        v["KinesisFirehoseDestination"] = json!({
            "IamRoleArn": f.iam_role_arn,
            "DeliveryStreamArn": f.delivery_stream_arn,
        });
    }
    if let Some(c) = &d.cloud_watch_destination {
        let mut dims = Vec::new();
        for dim in &c.dimension_configurations {
            let source =
                to_v2(DIMENSION_VALUE_SOURCES, &dim.dimension_value_source).ok_or_else(|| {
                    shape(
                        "InvalidCloudWatchDestinationException",
                        format!(
                            "Invalid dimension value source <{}>.",
                            dim.dimension_value_source
                        ),
                    )
                })?;
            dims.push(json!({
                "DimensionName": dim.dimension_name,
                "DimensionValueSource": source,
                "DefaultDimensionValue": dim.default_dimension_value,
            }));
        }
        v["CloudWatchDestination"] = json!({ "DimensionConfigurations": dims });
    }
    if let Some(s) = &d.sns_destination {
        v["SnsDestination"] = json!({ "TopicArn": s.topic_arn });
    }
    validate_event_destination(&v).map_err(fault_error)?;
    Ok(v)
}

/// v1 reports each destination type with its own error code.
fn fault_error(e: InvalidDestination) -> ApiError {
    match e.fault {
        DestinationFault::Sns => shape("InvalidSNSDestinationException", e.message),
        DestinationFault::CloudWatch => shape("InvalidCloudWatchDestinationException", e.message),
        DestinationFault::Firehose => shape("InvalidFirehoseDestinationException", e.message),
        _ => ApiError::validation(Service::SesV1, &e.message),
    }
}

/// A destination whose Firehose stream or event bus does not exist here is refused.
async fn check_targets(api: &SesV1, ctx: &RequestCtx, v: &Value) -> R<()> {
    api.engine
        .check_destination_targets(&ctx.scope, v)
        .await
        .map_err(dest_err)?
        .map_err(fault_error)
}

pub(super) async fn describe(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::DescribeConfigurationSetRequest,
) -> R<w::DescribeConfigurationSetResponse> {
    let rec = require(api, ctx, &i.configuration_set_name).await?;
    let wanted = i.configuration_set_attribute_names.unwrap_or_default();
    let has = |a: &str| wanted.iter().any(|w| w == a);
    let event_destinations = if has("eventDestinations") {
        let rows = api
            .engine
            .list_event_destinations(&ctx.scope, &rec.name)
            .await
            .map_err(err)?;
        Some(rows.iter().map(destination_to_v1).collect())
    } else {
        None
    };
    let tls = rec
        .delivery_options
        .as_ref()
        .and_then(|d| d.get("TlsPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("OPTIONAL");
    Ok(w::DescribeConfigurationSetResponse {
        configuration_set: Some(w::ConfigurationSet {
            name: rec.name.clone(),
        }),
        event_destinations,
        tracking_options: has("trackingOptions")
            .then(|| rec.custom_redirect_domain())
            .flatten()
            .map(|d| w::TrackingOptions {
                custom_redirect_domain: Some(d.to_string()),
            }),
        delivery_options: has("deliveryOptions").then(|| w::DeliveryOptions {
            tls_policy: to_v1(TLS_POLICIES, tls).map(str::to_string),
        }),
        reputation_options: has("reputationOptions").then(|| w::ReputationOptions {
            sending_enabled: Some(rec.sending_enabled()),
            reputation_metrics_enabled: Some(rec.reputation_metrics_enabled()),
            last_fresh_start: rec.last_fresh_start(),
        }),
    })
}

pub(super) async fn update_sending_enabled(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateConfigurationSetSendingEnabledRequest,
) -> R<()> {
    let now = now_ms();
    update(api, ctx, &i.configuration_set_name, |r| {
        r.set_sending_enabled(i.enabled, now);
        Ok(())
    })
    .await?;
    Ok(())
}

pub(super) async fn update_reputation_metrics_enabled(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateConfigurationSetReputationMetricsEnabledRequest,
) -> R<()> {
    update(api, ctx, &i.configuration_set_name, |r| {
        r.set_reputation_metrics_enabled(i.enabled);
        Ok(())
    })
    .await?;
    Ok(())
}

pub(super) async fn put_delivery(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::PutConfigurationSetDeliveryOptionsRequest,
) -> R<w::PutConfigurationSetDeliveryOptionsResponse> {
    let tls = match i.delivery_options.and_then(|d| d.tls_policy) {
        None => None,
        Some(p) => Some(to_v2(TLS_POLICIES, &p).ok_or_else(|| {
            shape(
                "InvalidDeliveryOptionsException",
                format!("Invalid TlsPolicy <{p}>: use Require or Optional."),
            )
        })?),
    };
    // v1 sees only TlsPolicy: the v2-only members (pool, delivery window) are kept.
    update(api, ctx, &i.configuration_set_name, |r| {
        let mut d = r.delivery_options.take().unwrap_or_else(|| json!({}));
        match tls {
            Some(t) => d["TlsPolicy"] = json!(t),
            None => {
                if let Some(o) = d.as_object_mut() {
                    o.remove("TlsPolicy");
                }
            }
        }
        r.delivery_options = Some(d);
        Ok(())
    })
    .await?;
    Ok(w::PutConfigurationSetDeliveryOptionsResponse {})
}

/// E-140 / Q-232: the domain must be verified by this account (else `InvalidTrackingOptions`).
async fn checked_domain(api: &SesV1, ctx: &RequestCtx, t: &w::TrackingOptions) -> R<String> {
    let d = t.custom_redirect_domain.as_deref().unwrap_or_default();
    if d.is_empty() {
        return Err(shape(
            "InvalidTrackingOptionsException",
            "TrackingOptions.CustomRedirectDomain is required.",
        ));
    }
    api.engine
        .check_custom_redirect_domain(&ctx.scope, d)
        .await
        .map_err(|e| match e {
            EngineError::BadRequest(m) => shape("InvalidTrackingOptionsException", m),
            other => err(other),
        })
}

fn set_domain(r: &mut ConfigurationSetRecord, d: &str) {
    // A v2 HttpsPolicy stays; v1 cannot see it.
    let mut t = r.tracking_options.take().unwrap_or_else(|| json!({}));
    t["CustomRedirectDomain"] = json!(d);
    r.tracking_options = Some(t);
}

fn no_tracking(set: &str) -> EngineError {
    EngineError::Conflict(format!(
        "Tracking options do not exist for configuration set <{set}>."
    ))
}

/// Updates the tracking options; the closure reports a missing or existing tracking
/// configuration as `Conflict` (store conflicts are retried inside the engine), which becomes
/// `shape_name`.
async fn update_tracking_guarded(
    api: &SesV1,
    ctx: &RequestCtx,
    set: &str,
    shape_name: &str,
    f: impl FnMut(&mut ConfigurationSetRecord) -> Result<(), EngineError> + Send,
) -> R<()> {
    api.engine
        .update_configuration_set(&ctx.scope, set, f)
        .await
        .map_err(|e| match e {
            EngineError::Conflict(m) => shape(shape_name, m),
            other => err(other),
        })?;
    Ok(())
}

pub(super) async fn create_tracking(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::CreateConfigurationSetTrackingOptionsRequest,
) -> R<w::CreateConfigurationSetTrackingOptionsResponse> {
    let set = i.configuration_set_name;
    require(api, ctx, &set).await?;
    let d = checked_domain(api, ctx, &i.tracking_options).await?;
    update_tracking_guarded(
        api,
        ctx,
        &set,
        "TrackingOptionsAlreadyExistsException",
        |r| {
            if r.custom_redirect_domain().is_some() {
                return Err(EngineError::Conflict(format!(
                    "Tracking options already exist for configuration set <{set}>."
                )));
            }
            set_domain(r, &d);
            Ok(())
        },
    )
    .await?;
    Ok(w::CreateConfigurationSetTrackingOptionsResponse {})
}

pub(super) async fn update_tracking(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateConfigurationSetTrackingOptionsRequest,
) -> R<w::UpdateConfigurationSetTrackingOptionsResponse> {
    let set = i.configuration_set_name;
    let rec = require(api, ctx, &set).await?;
    if rec.custom_redirect_domain().is_none() {
        return Err(shape(
            "TrackingOptionsDoesNotExistException",
            no_tracking(&set).to_string(),
        ));
    }
    let d = checked_domain(api, ctx, &i.tracking_options).await?;
    update_tracking_guarded(
        api,
        ctx,
        &set,
        "TrackingOptionsDoesNotExistException",
        |r| {
            if r.custom_redirect_domain().is_none() {
                return Err(no_tracking(&set));
            }
            set_domain(r, &d);
            Ok(())
        },
    )
    .await?;
    Ok(w::UpdateConfigurationSetTrackingOptionsResponse {})
}

pub(super) async fn delete_tracking(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::DeleteConfigurationSetTrackingOptionsRequest,
) -> R<w::DeleteConfigurationSetTrackingOptionsResponse> {
    let set = i.configuration_set_name;
    update_tracking_guarded(
        api,
        ctx,
        &set,
        "TrackingOptionsDoesNotExistException",
        |r| {
            if r.custom_redirect_domain().is_none() {
                return Err(no_tracking(&set));
            }
            r.tracking_options = None;
            Ok(())
        },
    )
    .await?;
    Ok(w::DeleteConfigurationSetTrackingOptionsResponse {})
}

pub(super) async fn create_destination(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::CreateConfigurationSetEventDestinationRequest,
) -> R<w::CreateConfigurationSetEventDestinationResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    let v = destination_from_v1(&i.event_destination)?;
    check_targets(api, ctx, &v).await?;
    api.engine
        .create_event_destination(
            &ctx.scope,
            &i.configuration_set_name,
            &i.event_destination.name,
            v,
        )
        .await
        .map_err(dest_err)?;
    Ok(w::CreateConfigurationSetEventDestinationResponse {})
}

pub(super) async fn update_destination(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::UpdateConfigurationSetEventDestinationRequest,
) -> R<w::UpdateConfigurationSetEventDestinationResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    let v = destination_from_v1(&i.event_destination)?;
    check_targets(api, ctx, &v).await?;
    api.engine
        .update_event_destination(
            &ctx.scope,
            &i.configuration_set_name,
            &i.event_destination.name,
            v,
        )
        .await
        .map_err(dest_err)?;
    Ok(w::UpdateConfigurationSetEventDestinationResponse {})
}

pub(super) async fn delete_destination(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::DeleteConfigurationSetEventDestinationRequest,
) -> R<w::DeleteConfigurationSetEventDestinationResponse> {
    require(api, ctx, &i.configuration_set_name).await?;
    api.engine
        .delete_event_destination(
            &ctx.scope,
            &i.configuration_set_name,
            &i.event_destination_name,
        )
        .await
        .map_err(dest_err)?;
    Ok(w::DeleteConfigurationSetEventDestinationResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_dest() -> w::EventDestination {
        w::EventDestination {
            name: "to-sns".into(),
            enabled: Some(true),
            matching_event_types: vec![
                "send".into(),
                "renderingFailure".into(),
                "deliveryDelay".into(),
            ],
            kinesis_firehose_destination: None,
            cloud_watch_destination: None,
            sns_destination: Some(w::SNSDestination {
                topic_arn: "arn:aws:sns:us-east-1:123456789012:events".into(),
            }),
        }
    }

    #[test]
    fn v1_destination_round_trips_through_v2_form() {
        let d = v1_dest();
        let v = destination_from_v1(&d).unwrap();
        assert_eq!(
            v["MatchingEventTypes"],
            json!(["SEND", "RENDERING_FAILURE", "DELIVERY_DELAY"])
        );
        assert_eq!(
            v["SnsDestination"]["TopicArn"],
            json!("arn:aws:sns:us-east-1:123456789012:events")
        );
        assert_eq!(destination_to_v1(&v), d);
    }

    #[test]
    fn v1_cloudwatch_sources_translate() {
        let mut d = v1_dest();
        d.sns_destination = None;
        d.cloud_watch_destination = Some(w::CloudWatchDestination {
            dimension_configurations: vec![w::CloudWatchDimensionConfiguration {
                dimension_name: "campaign".into(),
                dimension_value_source: "linkTag".into(),
                default_dimension_value: "none".into(),
            }],
        });
        let v = destination_from_v1(&d).unwrap();
        assert_eq!(
            v["CloudWatchDestination"]["DimensionConfigurations"][0]["DimensionValueSource"],
            json!("LINK_TAG")
        );
        assert_eq!(destination_to_v1(&v), d);
        d.cloud_watch_destination
            .as_mut()
            .unwrap()
            .dimension_configurations[0]
            .dimension_value_source = "LINK_TAG".into();
        assert_eq!(
            destination_from_v1(&d).unwrap_err().code,
            "InvalidCloudWatchDestination"
        );
    }

    #[test]
    fn v1_destination_errors_use_model_codes() {
        let mut d = v1_dest();
        d.sns_destination.as_mut().unwrap().topic_arn = "not-an-arn".into();
        assert_eq!(
            destination_from_v1(&d).unwrap_err().code,
            "InvalidSNSDestination"
        );
        let mut d = v1_dest();
        d.matching_event_types = vec!["SEND".into()];
        assert_eq!(
            destination_from_v1(&d).unwrap_err().code,
            "InvalidParameterValue"
        );
        let mut d = v1_dest();
        d.matching_event_types.clear();
        assert_eq!(
            destination_from_v1(&d).unwrap_err().code,
            "InvalidParameterValue"
        );
    }
}

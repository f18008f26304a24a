//! The SNS endpoints a subscriber fetches without SigV4 (DECISIONS Q-168), as SNS serves
//! them on its regional host:
//!
//! - `GET /SimpleNotificationService-<id>.pem` — the `SigningCertURL` (PEM X.509 certificate
//!   of the instance's signing key);
//! - `GET /?Action=ConfirmSubscription&TopicArn=…&Token=…` — the `SubscribeURL`; confirms
//!   and answers SNS's `ConfirmSubscriptionResponse` XML;
//! - `GET /?Action=Unsubscribe&SubscriptionArn=…&Token=…` — the `UnsubscribeURL`; the token
//!   (Sesame's addition) proves the link came from a message, since it carries no signature.
//!
//! Anything else (and any request carrying SigV4) goes to the normal API path.

use axum::http::HeaderMap;
use axum::response::Response;
use sesame_awsproto::{model, query, ApiError, Service};
use sesame_model::Scope;

use super::err;
use crate::server::{error_response_for, raw_response};
use crate::ApiState;

const CERT_PREFIX: &str = "/SimpleNotificationService-";

/// Answers the request if it is one of the public SNS endpoints.
pub async fn try_handle(
    state: &ApiState,
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    if method != "GET" || headers.contains_key("authorization") {
        return None;
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Some(id) = path
        .strip_prefix(CERT_PREFIX)
        .and_then(|r| r.strip_suffix(".pem"))
    {
        return Some(cert(state, id, &request_id).await);
    }
    if path != "/" {
        return None;
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    if params.iter().any(|(k, _)| k == "X-Amz-Signature") {
        return None;
    }
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let action = get("Action");
    let result = match action {
        "ConfirmSubscription" => confirm(state, get("TopicArn"), get("Token")).await,
        "Unsubscribe" => unsubscribe(state, get("SubscriptionArn"), get("Token")).await,
        _ => return None,
    };
    Some(match result {
        Ok(output) => {
            let xml = query::encode_response(model(Service::Sns), action, &output, &request_id);
            tracing::info!(action, "SNS link followed");
            raw_response(
                200,
                vec![("Content-Type".into(), "text/xml".into())],
                xml.into_bytes(),
                &request_id,
            )
        }
        Err(e) => error_response_for(Service::Sns, &e, &request_id),
    })
}

/// The scope named by an ARN, if it is a region this instance serves.
fn scope_of(state: &ApiState, region: &str, account: &str) -> Option<Scope> {
    let region = state
        .engine
        .settings
        .regions
        .iter()
        .find(|r| r.as_str() == region)?
        .clone();
    Some(Scope::new(account.parse().ok()?, region))
}

fn bad(param: &str) -> ApiError {
    err(sesame_engine::sns::SnsError::InvalidParameter(format!(
        "Invalid parameter: {param}"
    )))
}

async fn confirm(
    state: &ApiState,
    topic_arn: &str,
    token: &str,
) -> Result<serde_json::Value, ApiError> {
    let arn = sesame_engine::sns::parse_arn(topic_arn, false).ok_or_else(|| bad("TopicArn"))?;
    let scope = scope_of(state, &arn.region, &arn.account).ok_or_else(|| bad("TopicArn"))?;
    let sub = state
        .engine
        .sns_confirm(&scope, &arn.topic, token)
        .await
        .map_err(err)?;
    Ok(serde_json::json!({
        "SubscriptionArn": state.engine.subscription_arn(&scope, &sub)
    }))
}

async fn unsubscribe(
    state: &ApiState,
    sub_arn: &str,
    token: &str,
) -> Result<serde_json::Value, ApiError> {
    let arn = sesame_engine::sns::parse_arn(sub_arn, true).ok_or_else(|| bad("SubscriptionArn"))?;
    let scope = scope_of(state, &arn.region, &arn.account).ok_or_else(|| bad("SubscriptionArn"))?;
    state
        .engine
        .sns_unsubscribe_by_link(
            &scope,
            &arn.topic,
            arn.subscription.as_deref().unwrap_or_default(),
            token,
        )
        .await
        .map_err(err)?;
    Ok(serde_json::json!({}))
}

async fn cert(state: &ApiState, id: &str, request_id: &str) -> Response {
    match state.engine.sns_signing_cert(id).await {
        Ok(Some(pem)) => raw_response(
            200,
            vec![("Content-Type".into(), "application/x-x509-ca-cert".into())],
            pem.into_bytes(),
            request_id,
        ),
        Ok(None) => raw_response(
            404,
            vec![("Content-Type".into(), "text/plain".into())],
            b"Not Found".to_vec(),
            request_id,
        ),
        Err(e) => error_response_for(Service::Sns, &err(e), request_id),
    }
}

//! The listener: one axum fallback handler that authenticates, decodes with the generated
//! codecs, dispatches to the typed handlers and encodes in the caller's protocol.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use sesame_awsproto::{model, query, restjson, validate, ApiError, Service};
use sesame_engine::Engine;
use sesame_model::Scope;

use crate::auth::authenticate;
use crate::RequestCtx;

/// Largest request body accepted: a 40 MB v2 raw message, base64-encoded inside JSON (B-52).
pub const MAX_BODY_BYTES: usize = 60 * 1024 * 1024;

const SES_XMLNS: &str = "http://ses.amazonaws.com/doc/2010-12-01/";
const SNS_XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// Shared state of the API role.
#[derive(Clone)]
pub struct ApiState {
    pub engine: Engine,
    pub v2: Arc<crate::v2::SesV2>,
    pub v1: Arc<crate::v1::SesV1>,
    pub sns: Arc<crate::sns::Sns>,
    /// Serve the dev inbox (`/_aws/ses`, [`crate::dev_inbox`]): capture mode or `--dev` only.
    pub dev_inbox: bool,
    /// The process's metrics registry, rendered at `GET /metrics` ([`crate::metrics`]); shared
    /// with the roles that record into it.
    pub metrics: Arc<sesame_metrics::Metrics>,
    /// The resolver of the DNS doctor (`GET /_sesame/dns-check`, [`crate::dns_check`]); `None`
    /// answers 503.
    pub dns: Option<Arc<dyn sesame_model::dns::DnsLookup>>,
}

impl ApiState {
    pub fn new(engine: Engine) -> ApiState {
        ApiState {
            v2: Arc::new(crate::v2::SesV2 {
                engine: engine.clone(),
            }),
            v1: Arc::new(crate::v1::SesV1 {
                engine: engine.clone(),
            }),
            sns: Arc::new(crate::sns::Sns {
                engine: engine.clone(),
            }),
            engine,
            dev_inbox: false,
            metrics: Arc::new(sesame_metrics::Metrics::default()),
            dns: None,
        }
    }

    /// The resolver the DNS doctor endpoint asks (`SESAME_RESOLVER`).
    pub fn with_dns(mut self, dns: Arc<dyn sesame_model::dns::DnsLookup>) -> ApiState {
        self.dns = Some(dns);
        self
    }

    /// Serves `metrics` (the registry the other roles record into) at `GET /metrics`.
    pub fn with_metrics(mut self, metrics: Arc<sesame_metrics::Metrics>) -> ApiState {
        self.metrics = metrics;
        self
    }

    /// Turns the dev inbox endpoint on or off.
    pub fn with_dev_inbox(mut self, on: bool) -> ApiState {
        self.dev_inbox = on;
        self
    }
}

pub fn router(state: ApiState) -> Router {
    // The dev inbox, /metrics and the DNS doctor are matched before the SES fallback; other
    // methods on their paths still reach the fallback (and get the usual SES error).
    Router::new()
        .route(
            "/_aws/ses",
            axum::routing::get(crate::dev_inbox::get)
                .delete(crate::dev_inbox::delete)
                .fallback(handle),
        )
        .route(
            sesame_engine::email_verification::VERIFY_PATH,
            axum::routing::get(crate::verify_link::get).fallback(handle),
        )
        .route(
            "/track/open/{token}",
            axum::routing::get(crate::tracking::open).fallback(handle),
        )
        .route(
            "/track/click/{token}",
            axum::routing::get(crate::tracking::click).fallback(handle),
        )
        .route(
            "/unsubscribe/{token}",
            axum::routing::get(crate::unsubscribe::get)
                .post(crate::unsubscribe::post)
                .fallback(handle),
        )
        .route(
            "/metrics",
            axum::routing::get(crate::metrics::get).fallback(handle),
        )
        .route(
            "/_sesame/dns-check",
            axum::routing::get(crate::dns_check::get).fallback(handle),
        )
        .fallback(handle)
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes (mini-redis style, so tests can run
/// a server in-process).
pub async fn run(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is the `ipAddress` of Open/Click events (`crate::tracking`).
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    RestJson,
    Query,
}

async fn handle(State(state): State<ApiState>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let method = parts.method.as_str().to_string();
    let protocol = if path.starts_with("/v2/") {
        Protocol::RestJson
    } else {
        Protocol::Query
    };
    let mut service = if protocol == Protocol::RestJson {
        Service::SesV2
    } else {
        Service::SesV1
    };

    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let err = ApiError::new(
                if protocol == Protocol::RestJson {
                    "BadRequestException"
                } else {
                    "InvalidParameterValue"
                },
                "Request body is too large or could not be read.",
                413,
                true,
            );
            return error_response(protocol, service, &err, &request_id);
        }
    };
    // SNS subscribers fetch SigningCertURL, SubscribeURL and UnsubscribeURL unsigned.
    if let Some(resp) =
        crate::sns::public::try_handle(&state, &method, &path, &raw_query, &parts.headers).await
    {
        return resp;
    }
    let headers = header_pairs(&parts.headers);
    let sig_req = sesame_sigv4::sigv4::Request {
        method: &method,
        raw_path: &path,
        raw_query: &raw_query,
        headers: &headers,
        body: &body,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let auth = match authenticate(&state.engine, &sig_req, protocol == Protocol::RestJson, now)
        .await
    {
        Ok(a) => a,
        Err(err) => {
            tracing::info!(%method, %path, code = %err.code, "request rejected by authentication");
            return error_response(protocol, service, &err, &request_id);
        }
    };
    if protocol == Protocol::Query && auth.service == "sns" {
        service = Service::Sns;
    }
    let scope = Scope::new(
        auth.key.account.account_id.clone(),
        auth.region.parse().expect("served regions are valid"),
    );
    let ctx = RequestCtx {
        caller_arn: format!(
            "arn:{}:iam::{}:root",
            state.engine.settings.partition, scope.account
        ),
        scope,
        access_key_id: auth.key.access_key_id.clone(),
        request_id: request_id.clone(),
        source_ip: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|ci| ci.0.ip().to_string()),
    };

    let m = model(service);
    let decoded = match protocol {
        Protocol::RestJson => restjson::decode_request(m, &method, &path, &raw_query, &body),
        Protocol::Query => {
            let mut params: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
                .into_owned()
                .collect();
            let is_form = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if is_form || (method == "POST" && !body.is_empty()) {
                params.extend(form_urlencoded::parse(&body).into_owned());
            }
            query::decode_request(m, &params)
        }
    };
    let decoded = match decoded {
        Ok(d) => d,
        Err(err) => return error_response(protocol, service, &err, &request_id),
    };
    let operation = decoded.operation;
    let result = match validate::validate_input(service, m, operation, &decoded.input) {
        Err(e) => Err(e),
        Ok(()) => match service {
            Service::SesV2 => {
                sesame_awsproto::generated::sesv2::dispatch(
                    &*state.v2,
                    &ctx,
                    operation,
                    decoded.input,
                )
                .await
            }
            Service::SesV1 => {
                sesame_awsproto::generated::ses::dispatch(
                    &*state.v1,
                    &ctx,
                    operation,
                    decoded.input,
                )
                .await
            }
            Service::Sns => {
                sesame_awsproto::generated::sns::dispatch(
                    &*state.sns,
                    &ctx,
                    operation,
                    decoded.input,
                )
                .await
            }
        },
    };
    let response = match result {
        Ok(output) => match protocol {
            Protocol::RestJson => {
                let r = restjson::encode_response(m, operation, &output);
                raw_response(r.status, r.headers, r.body, &request_id)
            }
            Protocol::Query => {
                let xml = query::encode_response(m, operation, &output, &request_id);
                raw_response(
                    200,
                    vec![("Content-Type".into(), "text/xml".into())],
                    xml.into_bytes(),
                    &request_id,
                )
            }
        },
        Err(err) => error_response(protocol, service, &err, &request_id),
    };
    tracing::info!(
        operation,
        account = %ctx.scope.account,
        region = %ctx.scope.region,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "api request"
    );
    response
}

fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

pub(crate) fn raw_response(
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    request_id: &str,
) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.append(name, value);
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

fn error_response(
    protocol: Protocol,
    service: Service,
    err: &ApiError,
    request_id: &str,
) -> Response {
    match protocol {
        Protocol::RestJson => {
            let r = restjson::encode_error(err);
            raw_response(r.status, r.headers, r.body, request_id)
        }
        Protocol::Query => {
            let xmlns = if service == Service::Sns {
                SNS_XMLNS
            } else {
                SES_XMLNS
            };
            let xml = query::encode_error(err, request_id, xmlns);
            raw_response(
                err.status,
                vec![("Content-Type".into(), "text/xml".into())],
                xml.into_bytes(),
                request_id,
            )
        }
    }
}

/// An SNS/SES Query error response outside the main handler (the public SNS endpoints).
pub(crate) fn error_response_for(service: Service, err: &ApiError, request_id: &str) -> Response {
    error_response(Protocol::Query, service, err, request_id)
}

//! The DNS doctor (issue 5 item 5, docs/dns-doctor.md) over HTTP:
//! `GET /_sesame/dns-check?domain=DOMAIN[&mail_from=SUBDOMAIN]`, SigV4-signed like every SES
//! call (service `ses`); the account and region come from the signature's credential scope.
//! The answer is the JSON of [`sesame_dnscheck::Report`], the same report `sesame dns check
//! --format json` prints.
//!
//! [`input_for`] turns an account's identity into what the doctor expects (DKIM tokens and
//! keys, custom MAIL FROM); the CLI uses it too, so both run the same code path.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use sesame_awsproto::{restjson, ApiError};
use sesame_dnscheck::{CheckInput, DkimSetup, ExpectedKey};
use sesame_engine::{Engine, EngineError};
use sesame_model::Scope;

use crate::auth::authenticate;
use crate::ApiState;

/// Lower-cases and strips the trailing dot; `Err` for something that is not a domain name.
pub fn normalize_domain(domain: &str) -> Result<String, String> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("'{domain}' is not a domain name"))
    }
}

/// The custom MAIL FROM domain from a `--mail-from`/`mail_from` value: a full name under
/// `domain`, or a label prefixed to it (`bounce` → `bounce.<domain>`).
pub fn mail_from_name(value: &str, domain: &str) -> Result<String, String> {
    let v = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let full = if v.ends_with(&format!(".{domain}")) {
        v
    } else {
        format!("{v}.{domain}")
    };
    normalize_domain(&full)
}

/// What Sesame expects of `domain` (already normalized): with a `scope`, the DKIM set-up of the
/// domain identity or of the nearest parent domain identity it inherits from, and the
/// domain identity's custom MAIL FROM; `mail_from` overrides the latter.
pub async fn input_for(
    engine: &Engine,
    scope: Option<&Scope>,
    region: &str,
    domain: &str,
    mail_from: Option<String>,
) -> Result<CheckInput, EngineError> {
    let mut dkim = DkimSetup::Unknown;
    let mut identity_mail_from = None;
    if let Some(scope) = scope {
        let mut name = domain.to_string();
        let mut first = true;
        loop {
            if let Some(rec) = engine.get_identity(scope, &name).await? {
                if first {
                    identity_mail_from = rec.mail_from.as_ref().map(|m| m.domain.clone());
                }
                if let Some(d) = &rec.dkim {
                    dkim = if !d.signing_enabled {
                        DkimSetup::Disabled
                    } else {
                        let keys: Vec<ExpectedKey> = if d.keys.is_empty() {
                            d.tokens
                                .iter()
                                .map(|t| ExpectedKey {
                                    selector: t.clone(),
                                    public_key: None,
                                })
                                .collect()
                        } else {
                            d.keys
                                .iter()
                                .map(|k| ExpectedKey {
                                    selector: k.selector.clone(),
                                    public_key: Some(k.public_key.clone()),
                                })
                                .collect()
                        };
                        DkimSetup::Keys {
                            signing_domain: name.clone(),
                            easy: d.origin != "EXTERNAL",
                            keys,
                        }
                    };
                    break;
                } else if first {
                    // A domain identity without DKIM of its own still inherits; only
                    // when no ancestor has DKIM is it "disabled".
                    dkim = DkimSetup::Disabled;
                }
            }
            first = false;
            match name.split_once('.') {
                Some((_, parent)) if parent.contains('.') => name = parent.to_string(),
                _ => break,
            }
        }
    }
    Ok(CheckInput {
        domain: domain.to_string(),
        service_domain: engine.settings.service_domain.clone(),
        region: region.to_string(),
        mail_from: mail_from.or(identity_mail_from),
        dkim,
    })
}

fn json_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = header::HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

fn error(err: &ApiError, request_id: &str) -> Response {
    let r = restjson::encode_error(err);
    let mut resp = json_response(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        String::from_utf8_lossy(&r.body).into_owned(),
        request_id,
    );
    for (k, v) in r.headers {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            header::HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(n, v);
        }
    }
    resp
}

/// `GET /_sesame/dns-check`.
pub async fn get(State(state): State<ApiState>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let sig_req = sesame_sigv4::sigv4::Request {
        method: "GET",
        raw_path: &path,
        raw_query: &raw_query,
        headers: &headers,
        body: &body,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let auth = match authenticate(&state.engine, &sig_req, true, now).await {
        Ok(a) => a,
        Err(e) => return error(&e, &request_id),
    };
    let bad = |m: String| ApiError::new("BadRequestException", m, 400, true);
    let params: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let domain = match param("domain").map(|d| normalize_domain(&d)) {
        Some(Ok(d)) => d,
        Some(Err(e)) => return error(&bad(e), &request_id),
        None => {
            return error(
                &bad("The domain parameter is required.".into()),
                &request_id,
            )
        }
    };
    let mail_from = match param("mail_from").map(|m| mail_from_name(&m, &domain)) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => return error(&bad(e), &request_id),
    };
    let Some(dns) = state.dns.clone() else {
        let e = ApiError::new(
            "ServiceUnavailableException",
            "The DNS doctor has no resolver on this instance.",
            503,
            true,
        );
        return error(&e, &request_id);
    };
    let scope = Scope::new(
        auth.key.account.account_id.clone(),
        auth.region.parse().expect("served regions are valid"),
    );
    let input = match input_for(
        &state.engine,
        Some(&scope),
        &auth.region,
        &domain,
        mail_from,
    )
    .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "dns-check: reading the identity");
            return error(
                &ApiError::internal(sesame_awsproto::Service::SesV2),
                &request_id,
            );
        }
    };
    let report = sesame_dnscheck::run(&*dns, &input).await;
    tracing::info!(account = %scope.account, %domain, exit = report.exit_code(), "dns-check");
    json_response(
        StatusCode::OK,
        serde_json::to_string(&report).expect("the report serializes"),
        &request_id,
    )
}

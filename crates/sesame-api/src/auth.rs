//! SigV4 authentication of every API request (DECISIONS ).
//!
//! Order of checks, each with the error real AWS returns: signature present and well formed →
//! region served by this deployment → no session token (no STS yet) → known, active access key →
//! signature matches within ±15 minutes.

use sesame_awsproto::{ApiError, Service};
use sesame_engine::accounts::ResolvedKey;
use sesame_engine::Engine;
use sesame_sigv4::sigv4::{self, Request, SigV4Error};

/// The authenticated caller.
pub struct Authenticated {
    pub key: ResolvedKey,
    pub region: String,
    /// Credential-scope service (`ses` or `sns`).
    pub service: String,
}

fn sig_error(e: &SigV4Error, v2: bool) -> ApiError {
    ApiError::new(e.code(v2), e.message(), e.status(), true)
}

/// Parses and verifies the signature of `req`; `v2` selects the error vocabulary.
pub async fn authenticate(
    engine: &Engine,
    req: &Request<'_>,
    v2: bool,
    now_unix: i64,
) -> Result<Authenticated, ApiError> {
    let parsed = sigv4::parse(req).map_err(|e| sig_error(&e, v2))?;
    let cred = &parsed.credential;
    if !engine.serves_region(&cred.region) {
        // the credential scope must name a configured region.
        let code = if v2 {
            "InvalidSignatureException"
        } else {
            "SignatureDoesNotMatch"
        };
        return Err(ApiError::new(
            code,
            format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                cred.region
            ),
            403,
            true,
        ));
    }
    // the signing name is `ses` for v1 and v2 (model `signingName`), or `sns` on the
    // Query endpoint; a scope for any other service does not authenticate here.
    let service_ok = cred.service == "ses" || (!v2 && cred.service == "sns");
    if !service_ok {
        let code = if v2 {
            "InvalidSignatureException"
        } else {
            "SignatureDoesNotMatch"
        };
        return Err(ApiError::new(
            code,
            format!(
                "Credential should be scoped to correct service: '{}'. ",
                if v2 { "ses" } else { "ses' or 'sns" }
            ),
            403,
            true,
        ));
    }
    let unknown = || {
        let (code, status, message) = sigv4::unknown_key_error(v2);
        ApiError::new(code, message, status, true)
    };
    if parsed.security_token.is_some() {
        // temporary credentials are not supported yet.
        return Err(unknown());
    }
    let key = match engine.resolve_key(&cred.access_key_id).await {
        Ok(Some(k)) => k,
        Ok(None) => return Err(unknown()),
        Err(e) => {
            tracing::error!(error = %e, "resolving access key");
            return Err(ApiError::internal(if v2 {
                Service::SesV2
            } else {
                Service::SesV1
            }));
        }
    };
    sigv4::verify(req, &parsed, &key.secret_access_key, now_unix).map_err(|e| sig_error(&e, v2))?;
    Ok(Authenticated {
        key,
        region: cred.region.clone(),
        service: cred.service.clone(),
    })
}

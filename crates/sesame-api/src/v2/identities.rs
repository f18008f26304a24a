//! SES v2 email identities (spec D; model operations `CreateEmailIdentity`, `GetEmailIdentity`,
//! `ListEmailIdentities`, `DeleteEmailIdentity`, `PutEmailIdentity*Attributes`).

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::identities::{normalize_identity, DkimSigningInput};
use sesame_engine::records::{status, IdentityRecord, Tag};
use sesame_engine::{Engine, EngineError};
use sesame_mail::dkim::KeyLength;
use sesame_model::Scope;

use super::SesV2;
use crate::error::v2 as err;
use crate::RequestCtx;

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

pub(crate) fn dkim_attributes(engine: &Engine, rec: &IdentityRecord) -> Option<w::DkimAttributes> {
    let hosted_zone = format!("dkim.{}", engine.settings.service_domain);
    match &rec.dkim {
        Some(d) => Some(w::DkimAttributes {
            signing_enabled: Some(d.signing_enabled),
            status: Some(d.status.clone()),
            tokens: Some(d.tokens.clone()),
            signing_hosted_zone: (d.origin == "AWS_SES").then(|| hosted_zone.clone()),
            signing_attributes_origin: Some(d.origin.clone()),
            next_signing_key_length: d.next_key_length.clone(),
            current_signing_key_length: d.current_key_length.clone(),
            last_key_generation_timestamp: d.last_key_generation.map(secs),
        }),
        // An address without its own DKIM shows signing as not started (it may inherit, Q-89).
        None => Some(w::DkimAttributes {
            signing_enabled: Some(false),
            status: Some(status::NOT_STARTED.into()),
            signing_attributes_origin: Some("AWS_SES".into()),
            ..Default::default()
        }),
    }
}

fn to_wire_tags(tags: &[Tag]) -> Vec<w::Tag> {
    tags.iter()
        .map(|t| w::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

pub(crate) fn from_wire_tags(tags: Option<Vec<w::Tag>>) -> Result<Vec<Tag>, EngineError> {
    let tags: Vec<Tag> = tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value,
        })
        .collect();
    sesame_engine::tags::validate_tags(&tags)?;
    Ok(tags)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
}

/// Builds the DKIM state asked for by `DkimSigningAttributes` (Easy DKIM when absent).
pub(crate) async fn dkim_for(
    engine: &Engine,
    scope: &Scope,
    domain: &str,
    attrs: Option<DkimSigningInput>,
) -> Result<sesame_engine::records::DkimState, EngineError> {
    let attrs = attrs.unwrap_or_default();
    // Without an explicit origin, a selector or private key means BYODKIM (the documented
    // `create-email-identity --dkim-signing-attributes DomainSigningSelector=…,DomainSigningPrivateKey=…`).
    let byo = attrs.selector.is_some() || attrs.private_key.is_some();
    let origin = attrs
        .origin
        .as_deref()
        .unwrap_or(if byo { "EXTERNAL" } else { "AWS_SES" });
    match origin {
        "EXTERNAL" => {
            let (Some(sel), Some(key)) = (attrs.selector.as_deref(), attrs.private_key.as_deref()) else {
                return Err(EngineError::BadRequest(
                    "DomainSigningSelector and DomainSigningPrivateKey are required when DomainSigningAttributesOrigin is EXTERNAL.".into(),
                ));
            };
            engine.external_dkim(scope, domain, sel, key)
        }
        "AWS_SES" => {
            let length = match attrs.next_key_length.as_deref() {
                None => KeyLength::Rsa2048,
                Some(l) => KeyLength::from_wire(l)
                    .ok_or_else(|| EngineError::BadRequest(format!("Invalid NextSigningKeyLength: {l}")))?,
            };
            let (e, s, d) = (engine.clone(), scope.clone(), domain.to_string());
            blocking(move || e.generate_easy_dkim(&s, &d, length)).await
        }
        other => Err(EngineError::BadRequest(format!(
            "DkimSigningAttributesOrigin {other} is not supported by this deployment: only one region's keys exist here (DECISIONS Q-59)."
        ))),
    }
}

fn signing_input(a: Option<w::DkimSigningAttributes>) -> Option<DkimSigningInput> {
    a.map(|a| DkimSigningInput {
        origin: a.domain_signing_attributes_origin,
        selector: a.domain_signing_selector,
        private_key: a.domain_signing_private_key,
        next_key_length: a.next_signing_key_length,
    })
}

pub(super) async fn create(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::CreateEmailIdentityRequest,
) -> Result<w::CreateEmailIdentityResponse, ApiError> {
    let e = &api.engine;
    let name = normalize_identity(&input.email_identity).map_err(err)?;
    let mut rec = Engine::new_identity(&name);
    rec.tags = from_wire_tags(input.tags).map_err(err)?;
    if let Some(cs) = input.configuration_set_name {
        e.require_configuration_set(&ctx.scope, &cs)
            .await
            .map_err(err)?;
        rec.configuration_set_name = Some(cs);
    }
    if e.get_identity(&ctx.scope, &name)
        .await
        .map_err(err)?
        .is_some()
    {
        return Err(err(EngineError::AlreadyExists(format!(
            "Email identity {name} already exist."
        ))));
    }
    if rec.identity_type == "DOMAIN" {
        rec.dkim = Some(
            dkim_for(
                e,
                &ctx.scope,
                &name,
                signing_input(input.dkim_signing_attributes),
            )
            .await
            .map_err(err)?,
        );
    } else if input.dkim_signing_attributes.is_some() {
        return Err(err(EngineError::BadRequest(
            "DkimSigningAttributes can only be specified for domain identities.".into(),
        )));
    }
    let rec = e.insert_identity(&ctx.scope, rec).await.map_err(err)?;
    if rec.identity_type == "EMAIL_ADDRESS" {
        // D-31: an address is verified by the link in this email.
        e.send_verification_email(&ctx.scope, &name, None)
            .await
            .map_err(err)?;
    }
    Ok(w::CreateEmailIdentityResponse {
        identity_type: Some(rec.identity_type.clone()),
        verified_for_sending_status: Some(Engine::verified_for_sending(&rec)),
        dkim_attributes: dkim_attributes(e, &rec),
    })
}

pub(super) async fn get(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::GetEmailIdentityRequest,
) -> Result<w::GetEmailIdentityResponse, ApiError> {
    let e = &api.engine;
    let rec = e
        .require_identity(&ctx.scope, &input.email_identity)
        .await
        .map_err(err)?;
    Ok(w::GetEmailIdentityResponse {
        identity_type: Some(rec.identity_type.clone()),
        feedback_forwarding_status: Some(rec.feedback_forwarding_enabled),
        verified_for_sending_status: Some(Engine::verified_for_sending(&rec)),
        dkim_attributes: dkim_attributes(e, &rec),
        mail_from_attributes: rec.mail_from.as_ref().map(|m| w::MailFromAttributes {
            mail_from_domain: m.domain.clone(),
            mail_from_domain_status: m.status.clone(),
            behavior_on_mx_failure: m.behavior_on_mx_failure.clone(),
        }),
        policies: Some(rec.policies.clone()),
        tags: Some(to_wire_tags(&rec.tags)),
        configuration_set_name: rec.configuration_set_name.clone(),
        verification_status: Some(rec.verification_status.clone()),
        verification_info: verification_info(&rec),
    })
}

/// v2 `VerificationInfo` from the last DNS check; absent before the first check and for
/// addresses (verified by email).
fn verification_info(rec: &IdentityRecord) -> Option<w::VerificationInfo> {
    let t = rec.verification.info_track(rec)?;
    Some(w::VerificationInfo {
        last_checked_timestamp: t.last_checked.map(secs),
        last_success_timestamp: t.last_success.map(secs),
        error_type: t.error_type.clone(),
        soa_record: rec.verification.soa.as_ref().map(|s| w::SOARecord {
            primary_name_server: Some(s.primary_name_server.clone()),
            admin_email: Some(s.admin_email.clone()),
            serial_number: Some(s.serial_number as i64),
        }),
    })
}

pub(super) async fn list(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::ListEmailIdentitiesRequest,
) -> Result<w::ListEmailIdentitiesResponse, ApiError> {
    let e = &api.engine;
    // Model: PageSize 0-1000; absent = the maximum.
    let size = input.page_size.unwrap_or(1000);
    if !(0..=1000).contains(&size) {
        return Err(err(EngineError::BadRequest(
            "PageSize must be between 0 and 1000.".into(),
        )));
    }
    let filter = input
        .filter
        .as_ref()
        .map(|f| serde_json::to_string(f).unwrap_or_default())
        .unwrap_or_default();
    let after = e
        .parse_page_token(
            &ctx.scope,
            "ListEmailIdentities",
            &filter,
            input.next_token.as_deref(),
        )
        .map_err(err)?;
    let (items, more) = e
        .list_identities(&ctx.scope, None, after.as_deref(), size.max(1) as usize)
        .await
        .map_err(err)?;
    Ok(w::ListEmailIdentitiesResponse {
        email_identities: Some(
            items
                .iter()
                .map(|r| w::IdentityInfo {
                    identity_type: Some(r.identity_type.clone()),
                    identity_name: Some(r.identity.clone()),
                    sending_enabled: Some(Engine::verified_for_sending(r)),
                    verification_status: Some(r.verification_status.clone()),
                })
                .collect(),
        ),
        next_token: more
            .map(|last| e.page_token(&ctx.scope, "ListEmailIdentities", &filter, &last)),
    })
}

pub(super) async fn delete(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::DeleteEmailIdentityRequest,
) -> Result<w::DeleteEmailIdentityResponse, ApiError> {
    if api
        .engine
        .delete_identity(&ctx.scope, &input.email_identity)
        .await
        .map_err(err)?
    {
        Ok(w::DeleteEmailIdentityResponse {})
    } else {
        Err(err(EngineError::NotFound(format!(
            "Email identity {} does not exist.",
            input.email_identity
        ))))
    }
}

pub(crate) async fn put_dkim(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::PutEmailIdentityDkimAttributesRequest,
) -> Result<w::PutEmailIdentityDkimAttributesResponse, ApiError> {
    let e = &api.engine;
    let enabled = input.signing_enabled.unwrap_or(false);
    let current = e
        .require_identity(&ctx.scope, &input.email_identity)
        .await
        .map_err(err)?;
    if current.identity_type == "EMAIL_ADDRESS" {
        // an address may only toggle signing when its domain is DKIM-enabled.
        let domain = current
            .identity
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        let parent_ok = e
            .get_identity(&ctx.scope, &domain)
            .await
            .map_err(err)?
            .and_then(|p| p.dkim)
            .is_some_and(|d| d.signing_enabled);
        if !parent_ok {
            return Err(err(EngineError::BadRequest(format!(
                "DKIM signing cannot be changed for {}: its domain {domain} is not a DKIM-enabled identity of this account.",
                current.identity
            ))));
        }
    }
    e.update_identity(&ctx.scope, &input.email_identity, |rec| {
        match rec.dkim.as_mut() {
            Some(d) => d.signing_enabled = enabled,
            None => {
                // Address identity overriding its domain's DKIM.
                rec.dkim = Some(sesame_engine::records::DkimState {
                    signing_enabled: enabled,
                    status: status::NOT_STARTED.into(),
                    origin: "AWS_SES".into(),
                    tokens: vec![],
                    keys: vec![],
                    current_key_length: None,
                    next_key_length: None,
                    last_key_generation: None,
                    key_length_changes: vec![],
                })
            }
        }
        Ok(())
    })
    .await
    .map_err(err)?;
    Ok(w::PutEmailIdentityDkimAttributesResponse {})
}

pub(super) async fn put_dkim_signing(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::PutEmailIdentityDkimSigningAttributesRequest,
) -> Result<w::PutEmailIdentityDkimSigningAttributesResponse, ApiError> {
    let e = &api.engine;
    let rec = e
        .require_identity(&ctx.scope, &input.email_identity)
        .await
        .map_err(err)?;
    if rec.identity_type != "DOMAIN" {
        return Err(err(EngineError::BadRequest(
            "DKIM signing attributes apply to domain identities only.".into(),
        )));
    }
    let origin = input.signing_attributes_origin.clone();
    let attrs = input.signing_attributes.clone();
    let next_len = attrs
        .as_ref()
        .and_then(|a| a.next_signing_key_length.clone());
    // Switching origin, or (re)starting BYODKIM, builds new keys (Q-83, Q-91: status PENDING).
    let current_origin = rec.dkim.as_ref().map(|d| d.origin.clone());
    let new_state = if origin == "EXTERNAL" || current_origin.as_deref() != Some(origin.as_str()) {
        let mut a = signing_input(attrs).unwrap_or_default();
        a.origin = Some(origin.clone());
        Some(
            dkim_for(e, &ctx.scope, &rec.identity, Some(a))
                .await
                .map_err(err)?,
        )
    } else {
        None
    };
    let now = sesame_engine::now_ms();
    let updated = e
        .update_identity(&ctx.scope, &input.email_identity, |r| {
            if let Some(s) = &new_state {
                let enabled = r.dkim.as_ref().is_none_or(|d| d.signing_enabled);
                let mut s = s.clone();
                s.signing_enabled = enabled;
                r.dkim = Some(s);
            } else if let (Some(len), Some(d)) = (&next_len, r.dkim.as_mut()) {
                Engine::set_next_key_length(d, len, now)?;
            }
            Ok(())
        })
        .await
        .map_err(err)?;
    let d = updated.dkim.as_ref();
    Ok(w::PutEmailIdentityDkimSigningAttributesResponse {
        dkim_status: d.map(|d| d.status.clone()),
        dkim_tokens: d.map(|d| d.tokens.clone()),
        signing_hosted_zone: d
            .filter(|d| d.origin == "AWS_SES")
            .map(|_| format!("dkim.{}", e.settings.service_domain)),
    })
}

pub(super) async fn put_mail_from(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::PutEmailIdentityMailFromAttributesRequest,
) -> Result<w::PutEmailIdentityMailFromAttributesResponse, ApiError> {
    let domain = input.mail_from_domain.filter(|d| !d.is_empty());
    let behavior = input.behavior_on_mx_failure;
    api.engine
        .update_identity(&ctx.scope, &input.email_identity, |r| {
            r.mail_from = match &domain {
                None => None,
                Some(d) => {
                    let d = Engine::validate_mail_from(r, d)?;
                    Some(Engine::mail_from_record(d, behavior.as_deref())?)
                }
            };
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(w::PutEmailIdentityMailFromAttributesResponse {})
}

pub(super) async fn put_feedback(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::PutEmailIdentityFeedbackAttributesRequest,
) -> Result<w::PutEmailIdentityFeedbackAttributesResponse, ApiError> {
    let enabled = input.email_forwarding_enabled.unwrap_or(false);
    api.engine
        .set_feedback_forwarding(&ctx.scope, &input.email_identity, enabled)
        .await
        .map_err(err)?;
    Ok(w::PutEmailIdentityFeedbackAttributesResponse {})
}

pub(super) async fn put_configuration_set(
    api: &SesV2,
    ctx: &RequestCtx,
    input: w::PutEmailIdentityConfigurationSetAttributesRequest,
) -> Result<w::PutEmailIdentityConfigurationSetAttributesResponse, ApiError> {
    let e = &api.engine;
    let set = input.configuration_set_name.filter(|s| !s.is_empty());
    if let Some(s) = &set {
        e.require_configuration_set(&ctx.scope, s)
            .await
            .map_err(err)?;
    }
    e.update_identity(&ctx.scope, &input.email_identity, |r| {
        r.configuration_set_name = set.clone();
        Ok(())
    })
    .await
    .map_err(err)?;
    Ok(w::PutEmailIdentityConfigurationSetAttributesResponse {})
}

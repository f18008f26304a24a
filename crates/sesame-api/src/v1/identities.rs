//! SES v1 identity operations (spec D; ses.json). v1 renders statuses as `Pending`, `Success`,
//! … and accepts identity ARNs where it takes names.

use std::collections::BTreeMap;

use sesame_awsproto::generated::ses as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::identities::normalize_identity;
use sesame_engine::records::{status, IdentityRecord};
use sesame_engine::{Engine, EngineError};
use sesame_model::{Arn, Scope};

use super::SesV1;
use crate::error::v1 as err1;
use crate::RequestCtx;

fn err(e: EngineError) -> ApiError {
    err1(e, None)
}

/// a v1 identity parameter is a name or this scope's identity ARN; `None` for an ARN of
/// another account or region (treated as absent).
fn identity_name(scope: &Scope, s: &str) -> Option<String> {
    if s.starts_with("arn:") {
        let p = Arn::parse(s)?;
        let name = p.resource.strip_prefix("identity/")?;
        (p.account == scope.account.as_str() && p.region == scope.region.as_str())
            .then(|| name.to_string())
    } else {
        Some(s.to_string())
    }
}

async fn require(api: &SesV1, scope: &Scope, s: &str) -> Result<IdentityRecord, ApiError> {
    let name = identity_name(scope, s).unwrap_or_default();
    api.engine
        .get_identity(scope, &name)
        .await
        .map_err(err)?
        .ok_or_else(|| {
            ApiError::validation(Service::SesV1, format!("Identity <{s}> does not exist."))
        })
}

pub(super) async fn verify_email_identity(
    api: &SesV1,
    ctx: &RequestCtx,
    address: &str,
) -> Result<(), ApiError> {
    if !address.contains('@') {
        return Err(ApiError::validation(
            Service::SesV1,
            format!("Invalid email address <{address}>."),
        ));
    }
    let name = normalize_identity(address).map_err(err)?;
    // calling it again re-sends the verification email (a fresh link; the 24 h window
    // restarts, a FAILED verification becomes PENDING). A verified address is left alone.
    let e = &api.engine;
    match e.get_identity(&ctx.scope, &name).await.map_err(err)? {
        Some(r) if r.verification_status == status::SUCCESS => return Ok(()),
        Some(_) => {}
        None => {
            e.insert_identity(&ctx.scope, Engine::new_identity(&name))
                .await
                .map_err(err)?;
        }
    }
    // D-31: the verification email (`sesame_engine::email_verification`).
    e.send_verification_email(&ctx.scope, &name, None)
        .await
        .map_err(err)?;
    Ok(())
}

fn legacy_token() -> String {
    use base64::Engine as _;
    // 32 random bytes, base64: the shape of SES's `_amazonses` TXT token.
    base64::engine::general_purpose::STANDARD.encode(sesame_sigv4::secrets::generate_key())
}

pub(super) async fn verify_domain_identity(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::VerifyDomainIdentityRequest,
) -> Result<w::VerifyDomainIdentityResponse, ApiError> {
    let name = normalize_identity(&i.domain).map_err(err)?;
    if name.contains('@') {
        return Err(ApiError::validation(
            Service::SesV1,
            format!("Invalid domain name <{}>.", i.domain),
        ));
    }
    let token = legacy_token();
    let e = &api.engine;
    if e.get_identity(&ctx.scope, &name)
        .await
        .map_err(err)?
        .is_some()
    {
        // returns the existing token (adds one to a v2-created domain), restarts FAILED.
        let rec = e
            .update_identity(&ctx.scope, &name, |r| {
                if r.verification_token.is_none() {
                    r.verification_token = Some(token.clone());
                }
                r.legacy_txt_verification = true;
                if r.verification_status == status::FAILED {
                    r.verification_status = status::PENDING.into();
                }
                Ok(())
            })
            .await
            .map_err(err)?;
        return Ok(w::VerifyDomainIdentityResponse {
            verification_token: rec.verification_token.unwrap_or_default(),
        });
    }
    let mut rec = Engine::new_identity(&name);
    rec.verification_token = Some(token.clone());
    rec.legacy_txt_verification = true;
    e.insert_identity(&ctx.scope, rec).await.map_err(err)?;
    Ok(w::VerifyDomainIdentityResponse {
        verification_token: token,
    })
}

pub(super) async fn verify_domain_dkim(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::VerifyDomainDkimRequest,
) -> Result<w::VerifyDomainDkimResponse, ApiError> {
    let name = normalize_identity(&i.domain).map_err(err)?;
    if name.contains('@') {
        return Err(ApiError::validation(
            Service::SesV1,
            format!("Invalid domain name <{}>.", i.domain),
        ));
    }
    let e = &api.engine;
    match e.get_identity(&ctx.scope, &name).await.map_err(err)? {
        Some(rec) if rec.dkim.as_ref().is_some_and(|d| !d.tokens.is_empty()) => {
            let d = rec.dkim.unwrap();
            Ok(w::VerifyDomainDkimResponse {
                dkim_tokens: d.tokens,
            })
        }
        Some(_) => {
            let state = crate::v2::dkim_for(e, &ctx.scope, &name, None)
                .await
                .map_err(err)?;
            let rec = e
                .update_identity(&ctx.scope, &name, |r| {
                    r.dkim = Some(state.clone());
                    Ok(())
                })
                .await
                .map_err(err)?;
            Ok(w::VerifyDomainDkimResponse {
                dkim_tokens: rec.dkim.map(|d| d.tokens).unwrap_or_default(),
            })
        }
        None => {
            // VerifyDomainDkim alone adds the domain identity.
            let mut rec = Engine::new_identity(&name);
            rec.dkim = Some(
                crate::v2::dkim_for(e, &ctx.scope, &name, None)
                    .await
                    .map_err(err)?,
            );
            let rec = e.insert_identity(&ctx.scope, rec).await.map_err(err)?;
            Ok(w::VerifyDomainDkimResponse {
                dkim_tokens: rec.dkim.map(|d| d.tokens).unwrap_or_default(),
            })
        }
    }
}

pub(super) async fn list_identities(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::ListIdentitiesRequest,
) -> Result<w::ListIdentitiesResponse, ApiError> {
    let e = &api.engine;
    let ty = match i.identity_type.as_deref() {
        None => None,
        Some("EmailAddress") => Some("EMAIL_ADDRESS"),
        Some("Domain") => Some("DOMAIN"),
        Some(other) => {
            return Err(ApiError::validation(
                Service::SesV1,
                format!("Invalid IdentityType: {other}"),
            ));
        }
    };
    // MaxItems 1-1000, absent = 1000.
    let max = i.max_items.unwrap_or(1000);
    if !(1..=1000).contains(&max) {
        return Err(ApiError::validation(
            Service::SesV1,
            "MaxItems must be between 1 and 1000.",
        ));
    }
    let filter = i.identity_type.clone().unwrap_or_default();
    let after = e
        .parse_page_token(
            &ctx.scope,
            "ListIdentities",
            &filter,
            i.next_token.as_deref(),
        )
        .map_err(err)?;
    let (items, more) = e
        .list_identities(&ctx.scope, ty, after.as_deref(), max as usize)
        .await
        .map_err(err)?;
    Ok(w::ListIdentitiesResponse {
        identities: items.into_iter().map(|r| r.identity).collect(),
        next_token: more.map(|last| e.page_token(&ctx.scope, "ListIdentities", &filter, &last)),
    })
}

/// only verified addresses.
pub(super) async fn list_verified_email_addresses(
    api: &SesV1,
    ctx: &RequestCtx,
) -> Result<w::ListVerifiedEmailAddressesResponse, ApiError> {
    let (items, _) = api
        .engine
        .list_identities(
            &ctx.scope,
            Some("EMAIL_ADDRESS"),
            None,
            sesame_engine::identities::MAX_IDENTITIES as usize,
        )
        .await
        .map_err(err)?;
    Ok(w::ListVerifiedEmailAddressesResponse {
        verified_email_addresses: Some(
            items
                .into_iter()
                .filter(|r| r.verification_status == status::SUCCESS)
                .map(|r| r.identity)
                .collect(),
        ),
    })
}

/// Looks up each requested identity; unknown ones are omitted, as SES does.
async fn lookup_many(
    api: &SesV1,
    scope: &Scope,
    names: &[String],
) -> Result<Vec<(String, IdentityRecord)>, ApiError> {
    if names.len() > 100 {
        return Err(ApiError::validation(
            Service::SesV1,
            "At most 100 identities can be requested at a time.",
        ));
    }
    let mut out = Vec::new();
    for n in names {
        if let Some(name) = identity_name(scope, n) {
            if let Some(rec) = api.engine.get_identity(scope, &name).await.map_err(err)? {
                out.push((n.clone(), rec));
            }
        }
    }
    Ok(out)
}

pub(super) async fn get_verification_attributes(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::GetIdentityVerificationAttributesRequest,
) -> Result<w::GetIdentityVerificationAttributesResponse, ApiError> {
    let mut map = BTreeMap::new();
    for (n, rec) in lookup_many(api, &ctx.scope, &i.identities).await? {
        let st = if rec.identity_type == "DOMAIN" && Engine::verified_for_sending(&rec) {
            status::SUCCESS
        } else {
            rec.verification_status.as_str()
        };
        map.insert(
            n,
            w::IdentityVerificationAttributes {
                verification_status: status::v1(st).into(),
                verification_token: rec.verification_token.clone(),
            },
        );
    }
    Ok(w::GetIdentityVerificationAttributesResponse {
        verification_attributes: map,
    })
}

pub(super) async fn get_dkim_attributes(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::GetIdentityDkimAttributesRequest,
) -> Result<w::GetIdentityDkimAttributesResponse, ApiError> {
    let mut map = BTreeMap::new();
    for (n, rec) in lookup_many(api, &ctx.scope, &i.identities).await? {
        let attrs = match &rec.dkim {
            Some(d) => w::IdentityDkimAttributes {
                dkim_enabled: d.signing_enabled,
                dkim_verification_status: status::v1(&d.status).into(),
                dkim_tokens: (rec.identity_type == "DOMAIN" && !d.tokens.is_empty())
                    .then(|| d.tokens.clone()),
            },
            None => w::IdentityDkimAttributes {
                dkim_enabled: false,
                dkim_verification_status: "NotStarted".into(),
                dkim_tokens: None,
            },
        };
        map.insert(n, attrs);
    }
    Ok(w::GetIdentityDkimAttributesResponse {
        dkim_attributes: map,
    })
}

pub(super) async fn get_mail_from_attributes(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::GetIdentityMailFromDomainAttributesRequest,
) -> Result<w::GetIdentityMailFromDomainAttributesResponse, ApiError> {
    let mut map = BTreeMap::new();
    for (n, rec) in lookup_many(api, &ctx.scope, &i.identities).await? {
        let attrs = match &rec.mail_from {
            Some(m) => w::IdentityMailFromDomainAttributes {
                mail_from_domain: m.domain.clone(),
                mail_from_domain_status: status::v1(&m.status).into(),
                behavior_on_mx_failure: match m.behavior_on_mx_failure.as_str() {
                    "REJECT_MESSAGE" => "RejectMessage".into(),
                    _ => "UseDefaultValue".into(),
                },
            },
            None => w::IdentityMailFromDomainAttributes {
                mail_from_domain: String::new(),
                mail_from_domain_status: String::new(),
                behavior_on_mx_failure: "UseDefaultValue".into(),
            },
        };
        map.insert(n, attrs);
    }
    Ok(w::GetIdentityMailFromDomainAttributesResponse {
        mail_from_domain_attributes: map,
    })
}

pub(super) async fn get_notification_attributes(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::GetIdentityNotificationAttributesRequest,
) -> Result<w::GetIdentityNotificationAttributesResponse, ApiError> {
    let mut map = BTreeMap::new();
    for (n, rec) in lookup_many(api, &ctx.scope, &i.identities).await? {
        let topic = |t: &str| rec.notification_topics.get(t).cloned().unwrap_or_default();
        let hdr = |t: &str| {
            Some(
                rec.headers_in_notifications
                    .get(t)
                    .copied()
                    .unwrap_or(false),
            )
        };
        map.insert(
            n,
            w::IdentityNotificationAttributes {
                bounce_topic: topic("Bounce"),
                complaint_topic: topic("Complaint"),
                delivery_topic: topic("Delivery"),
                forwarding_enabled: rec.feedback_forwarding_enabled,
                headers_in_bounce_notifications_enabled: hdr("Bounce"),
                headers_in_complaint_notifications_enabled: hdr("Complaint"),
                headers_in_delivery_notifications_enabled: hdr("Delivery"),
            },
        );
    }
    Ok(w::GetIdentityNotificationAttributesResponse {
        notification_attributes: map,
    })
}

pub(super) async fn set_dkim_enabled(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SetIdentityDkimEnabledRequest,
) -> Result<(), ApiError> {
    let rec = require(api, &ctx.scope, &i.identity).await?;
    if rec.identity_type == "DOMAIN"
        && rec.dkim.as_ref().is_none_or(|d| d.tokens.is_empty())
        && i.dkim_enabled
    {
        return Err(ApiError::validation(
            Service::SesV1,
            format!(
                "Domain {} has no DKIM tokens: call VerifyDomainDkim first.",
                rec.identity
            ),
        ));
    }
    let v2req = sesame_awsproto::generated::sesv2::PutEmailIdentityDkimAttributesRequest {
        email_identity: rec.identity.clone(),
        signing_enabled: Some(i.dkim_enabled),
    };
    let v2 = crate::v2::SesV2 {
        engine: api.engine.clone(),
    };
    crate::v2::put_dkim_attributes(&v2, ctx, v2req)
        .await
        .map_err(|e| {
            // Re-code v2 errors in v1 vocabulary.
            ApiError::validation(Service::SesV1, &e.message)
        })?;
    Ok(())
}

pub(super) async fn set_mail_from(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SetIdentityMailFromDomainRequest,
) -> Result<(), ApiError> {
    let rec = require(api, &ctx.scope, &i.identity).await?;
    let domain = i.mail_from_domain.filter(|d| !d.is_empty());
    let behavior = match i.behavior_on_mx_failure.as_deref() {
        None | Some("UseDefaultValue") => "USE_DEFAULT_VALUE",
        Some("RejectMessage") => "REJECT_MESSAGE",
        Some(other) => {
            return Err(ApiError::validation(
                Service::SesV1,
                format!("Invalid BehaviorOnMXFailure: {other}"),
            ))
        }
    };
    api.engine
        .update_identity(&ctx.scope, &rec.identity, |r| {
            r.mail_from = match &domain {
                None => None,
                Some(d) => Some(Engine::mail_from_record(
                    Engine::validate_mail_from(r, d)?,
                    Some(behavior),
                )?),
            };
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(())
}

pub(super) async fn set_feedback_forwarding(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SetIdentityFeedbackForwardingEnabledRequest,
) -> Result<(), ApiError> {
    let rec = require(api, &ctx.scope, &i.identity).await?;
    let has_topics = rec.notification_topics.contains_key("Bounce")
        && rec.notification_topics.contains_key("Complaint");
    if !i.forwarding_enabled && !has_topics {
        // the v1 rule.
        return Err(ApiError::validation(
            Service::SesV1,
            "Feedback forwarding can only be disabled when Amazon SNS topics are set for both bounce and complaint notifications.",
        ));
    }
    api.engine
        .set_feedback_forwarding(&ctx.scope, &rec.identity, i.forwarding_enabled)
        .await
        .map_err(err)?;
    Ok(())
}

fn notification_type(t: &str) -> Result<&'static str, ApiError> {
    match t {
        "Bounce" => Ok("Bounce"),
        "Complaint" => Ok("Complaint"),
        "Delivery" => Ok("Delivery"),
        other => Err(ApiError::validation(
            Service::SesV1,
            format!("Invalid NotificationType: {other}"),
        )),
    }
}

pub(super) async fn set_headers_in_notifications(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SetIdentityHeadersInNotificationsEnabledRequest,
) -> Result<(), ApiError> {
    let rec = require(api, &ctx.scope, &i.identity).await?;
    let t = notification_type(&i.notification_type)?;
    api.engine
        .update_identity(&ctx.scope, &rec.identity, |r| {
            r.headers_in_notifications.insert(t.to_string(), i.enabled);
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(())
}

pub(super) async fn set_notification_topic(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SetIdentityNotificationTopicRequest,
) -> Result<(), ApiError> {
    let rec = require(api, &ctx.scope, &i.identity).await?;
    let t = notification_type(&i.notification_type)?;
    let topic = i.sns_topic.filter(|s| !s.is_empty());
    if let Some(arn) = &topic {
        let ok = Arn::parse(arn).is_some_and(|p| p.service == "sns");
        if !ok {
            return Err(ApiError::validation(
                Service::SesV1,
                format!("Invalid SNS topic ARN: {arn}"),
            ));
        }
    }
    api.engine
        .update_identity(&ctx.scope, &rec.identity, |r| {
            match &topic {
                Some(a) => r.notification_topics.insert(t.to_string(), a.clone()),
                None => r.notification_topics.remove(t),
            };
            Ok(())
        })
        .await
        .map_err(err)?;
    Ok(())
}

/// v1 `DeleteIdentity` succeeds whether or not the identity exists (ses.json doc).
pub(super) async fn delete_identity(
    api: &SesV1,
    ctx: &RequestCtx,
    identity: &str,
) -> Result<(), ApiError> {
    if let Some(name) = identity_name(&ctx.scope, identity) {
        api.engine
            .delete_identity(&ctx.scope, &name)
            .await
            .map_err(err)?;
    }
    Ok(())
}

//! v2 `SendEmail` (spec B): a thin translation of the wire request into the engine's
//! [`SendRequest`]; every rule lives in `Engine::send`. Minimal for now: `Simple` (subject,
//! text, html, custom headers), `Raw` and `Template` (by name or inline) content; attachments
//! of `Simple` content, `ListManagementOptions`, `EndpointId`/`TenantName` and identity ARNs
//! (sending authorization) are not handled yet.

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::{ApiError, Service};
use sesame_engine::send::{Content, Destination, SendError, SendRequest, SimpleContent, Surface};
use sesame_mail::message::Text;

use super::{SesV2, R};
use crate::RequestCtx;

fn text(c: &w::Content) -> Text {
    let mut t = Text::new(c.data.clone());
    t.charset = c.charset.clone();
    t
}

fn headers(h: &Option<Vec<w::MessageHeader>>) -> Vec<(String, String)> {
    h.iter()
        .flatten()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect()
}

/// SendError → v2 error shapes (sesv2.json `SendEmail` errors; DECISIONS ).
pub fn v2_send_error(e: SendError) -> ApiError {
    let s = Service::SesV2;
    match e {
        SendError::Rejected(m) => ApiError::from_shape(s, "MessageRejected", m),
        SendError::InvalidParameter(m)
        | SendError::DefaultConfigurationSetMissing(m)
        | SendError::Rendering { message: m, .. } => {
            ApiError::from_shape(s, "BadRequestException", m)
        }
        SendError::ConfigurationSetDoesNotExist(m) | SendError::TemplateDoesNotExist(m) => {
            ApiError::from_shape(s, "NotFoundException", m)
        }
        SendError::AccountPaused => {
            ApiError::from_shape(s, "SendingPausedException", "Account is paused.")
        }
        SendError::ConfigurationSetPaused(name) => ApiError::from_shape(
            s,
            "SendingPausedException",
            format!("Configuration set sending paused for {name}."),
        ),
        SendError::MailFromNotVerified(m) => {
            ApiError::from_shape(s, "MailFromDomainNotVerifiedException", m)
        }
        SendError::DailyQuotaExceeded => {
            ApiError::from_shape(s, "LimitExceededException", "Daily message quota exceeded.")
        }
        SendError::RateExceeded => ApiError::from_shape(
            s,
            "TooManyRequestsException",
            "Maximum sending rate exceeded.",
        ),
        SendError::Internal(m) => {
            tracing::error!(error = %m, "send failed");
            ApiError::internal(s)
        }
    }
}

pub(super) async fn send_email(
    api: &SesV2,
    c: &RequestCtx,
    i: w::SendEmailRequest,
) -> R<w::SendEmailResponse> {
    let content = if let Some(m) = &i.content.simple {
        Content::Simple(SimpleContent {
            subject: text(&m.subject),
            text: m.body.text.as_ref().map(text),
            html: m.body.html.as_ref().map(text),
            headers: headers(&m.headers),
            attachments: vec![],
        })
    } else if let Some(r) = &i.content.raw {
        Content::Raw(r.data.0.clone())
    } else if let Some(t) = &i.content.template {
        Content::Template {
            name: t.template_name.clone(),
            inline: t
                .template_content
                .as_ref()
                .map(|tc| sesame_template::TemplateContent {
                    subject: tc.subject.clone(),
                    text: tc.text.clone(),
                    html: tc.html.clone(),
                }),
            data: t.template_data.clone().unwrap_or_else(|| "{}".into()),
            headers: headers(&t.headers),
        }
    } else {
        return Err(ApiError::from_shape(
            Service::SesV2,
            "BadRequestException",
            "Content must contain Simple, Raw or Template.",
        ));
    };
    let req = SendRequest {
        surface: Surface::V2,
        operation: "SendEmail",
        from: i.from_email_address.clone(),
        destination: i.destination.as_ref().map(|d| Destination {
            to: d.to_addresses.clone().unwrap_or_default(),
            cc: d.cc_addresses.clone().unwrap_or_default(),
            bcc: d.bcc_addresses.clone().unwrap_or_default(),
        }),
        reply_to: i.reply_to_addresses.clone().unwrap_or_default(),
        feedback_address: i.feedback_forwarding_email_address.clone(),
        configuration_set: i.configuration_set_name.clone(),
        tags: i
            .email_tags
            .iter()
            .flatten()
            .map(|t| (t.name.clone(), t.value.clone()))
            .collect(),
        content,
        source_ip: None,
        caller_identity: Some(c.caller_arn.clone()),
    };
    let accepted = api
        .engine
        .send(&c.scope, req)
        .await
        .map_err(v2_send_error)?;
    Ok(w::SendEmailResponse {
        message_id: Some(accepted.message_id),
    })
}

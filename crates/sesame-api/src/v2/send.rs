//! SES v2 `SendEmail` (Simple, Raw, Template) and `SendBulkEmail` (B-36..B-40; DECISIONS
//! ), with `ListManagementOptions` (F-177, H-39).

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::contacts::ListManagement;
use sesame_engine::send::{Content, Destination, SendError, SendRequest, SimpleContent, Surface};
use sesame_mail::message as msg;
use sesame_template::TemplateContent;

use super::SesV2;
use crate::send::{bulk_status_v2, check_identity_arn, error_text, v2_error, validate_tags};
use crate::RequestCtx;

fn text(c: w::Content) -> msg::Text {
    msg::Text {
        data: c.data,
        charset: c.charset,
    }
}

fn destination(d: Option<w::Destination>) -> Option<Destination> {
    d.map(|d| Destination {
        to: d.to_addresses.unwrap_or_default(),
        cc: d.cc_addresses.unwrap_or_default(),
        bcc: d.bcc_addresses.unwrap_or_default(),
    })
}

fn headers(h: Option<Vec<w::MessageHeader>>) -> Vec<(String, String)> {
    h.unwrap_or_default()
        .into_iter()
        .map(|h| (h.name, h.value))
        .collect()
}

fn tags(t: Option<Vec<w::MessageTag>>) -> Vec<(String, String)> {
    t.unwrap_or_default()
        .into_iter()
        .map(|t| (t.name, t.value))
        .collect()
}

fn attachments(a: Option<Vec<w::Attachment>>) -> Result<Vec<msg::Attachment>, SendError> {
    a.unwrap_or_default()
        .into_iter()
        .map(|a| {
            let disposition = match a.content_disposition.as_deref() {
                None | Some("ATTACHMENT") => msg::Disposition::Attachment,
                Some("INLINE") => msg::Disposition::Inline,
                Some(o) => {
                    return Err(SendError::InvalidParameter(format!(
                        "Invalid ContentDisposition: {o}"
                    )))
                }
            };
            let transfer_encoding = match a.content_transfer_encoding.as_deref() {
                None | Some("BASE64") => msg::TransferEncoding::Base64,
                Some("QUOTED_PRINTABLE") => msg::TransferEncoding::QuotedPrintable,
                Some("SEVEN_BIT") => msg::TransferEncoding::SevenBit,
                Some(o) => {
                    return Err(SendError::InvalidParameter(format!(
                        "Invalid ContentTransferEncoding: {o}"
                    )))
                }
            };
            if let Some(ext) = msg::blocked_extension(&a.file_name) {
                return Err(SendError::Rejected(format!(
                    "Attachments with the file extension .{ext} are not supported: {}",
                    a.file_name
                )));
            }
            Ok(msg::Attachment {
                file_name: a.file_name,
                content_type: a.content_type,
                content_id: a.content_id,
                disposition,
                description: a.content_description,
                transfer_encoding,
                data: a.raw_content.0,
            })
        })
        .collect()
}

/// members whose feature does not exist here are refused by name, never ignored.
fn unsupported(endpoint: &Option<String>, tenant: &Option<String>) -> Result<(), SendError> {
    if endpoint.as_deref().is_some_and(|e| !e.is_empty()) {
        return Err(SendError::InvalidParameter(
            "EndpointId is not supported: this deployment has no multi-region endpoints.".into(),
        ));
    }
    if tenant.as_deref().is_some_and(|t| !t.is_empty()) {
        return Err(SendError::InvalidParameter(
            "Tenants are not supported by this deployment".into(),
        ));
    }
    Ok(())
}

fn template_name(t: &w::Template) -> Option<String> {
    t.template_name.clone().or_else(|| {
        t.template_arn
            .as_deref()
            .and_then(|a| a.rsplit_once(":template/").map(|(_, n)| n.to_string()))
    })
}

fn inline_template(t: &w::Template) -> Option<TemplateContent> {
    t.template_content.as_ref().map(|c| TemplateContent {
        subject: c.subject.clone(),
        text: c.text.clone(),
        html: c.html.clone(),
    })
}

pub(super) async fn send_email(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::SendEmailRequest,
) -> Result<w::SendEmailResponse, ApiError> {
    let scope = &ctx.scope;
    let prepared = (|| -> Result<SendRequest, SendError> {
        unsupported(&i.endpoint_id, &i.tenant_name)?;
        if i.configuration_overrides.is_some() {
            return Err(SendError::InvalidParameter(
                "ConfigurationOverrides is not supported by this deployment yet.".into(),
            ));
        }
        check_identity_arn(scope, i.from_email_address_identity_arn.as_deref())?;
        check_identity_arn(
            scope,
            i.feedback_forwarding_email_address_identity_arn.as_deref(),
        )?;
        let t = tags(i.email_tags.clone());
        validate_tags(&t)?;
        let c = i.content.clone();
        let (content, operation) = match (c.simple, c.raw, c.template) {
            (Some(m), None, None) => (
                Content::Simple(SimpleContent {
                    subject: text(m.subject),
                    text: m.body.text.map(text),
                    html: m.body.html.map(text),
                    headers: headers(m.headers),
                    attachments: attachments(m.attachments)?,
                }),
                "SendEmail",
            ),
            (None, Some(r), None) => (Content::Raw(r.data.0), "SendEmail"),
            (None, None, Some(t)) => {
                if t.attachments.as_ref().is_some_and(|a| !a.is_empty()) {
                    return Err(SendError::InvalidParameter(
                        "Template attachments are not supported yet.".into(),
                    ));
                }
                (
                    Content::Template {
                        name: template_name(&t),
                        inline: inline_template(&t),
                        data: t.template_data.clone().unwrap_or_else(|| "{}".into()),
                        headers: headers(t.headers.clone()),
                    },
                    "SendEmail",
                )
            }
            _ => {
                return Err(SendError::InvalidParameter(
                    "Content must contain exactly one of Simple, Raw or Template.".into(),
                ))
            }
        };
        if !matches!(content, Content::Raw(_)) && i.from_email_address.is_none() {
            return Err(SendError::InvalidParameter(
                "FromEmailAddress is required for Simple and Template content.".into(),
            ));
        }
        if !matches!(content, Content::Raw(_))
            && destination(i.destination.clone()).is_none_or(|d| d.is_empty())
        {
            return Err(SendError::InvalidParameter(
                "There are no recipients specified".into(),
            ));
        }
        Ok(SendRequest {
            surface: Surface::V2,
            operation,
            from: i.from_email_address.clone(),
            destination: destination(i.destination.clone()),
            reply_to: i.reply_to_addresses.clone().unwrap_or_default(),
            feedback_address: i.feedback_forwarding_email_address.clone(),
            configuration_set: i.configuration_set_name.clone(),
            tags: t,
            content,
            source_ip: ctx.source_ip.clone(),
            caller_identity: Some(ctx.caller_name()),
            source_tls_version: None,
            list_management: i.list_management_options.as_ref().map(|o| ListManagement {
                contact_list: o.contact_list_name.clone(),
                topic: o.topic_name.clone(),
            }),
        })
    })()
    .map_err(v2_error)?;
    let accepted = api.engine.send(scope, prepared).await.map_err(v2_error)?;
    Ok(w::SendEmailResponse {
        message_id: Some(accepted.message_id),
    })
}

pub(super) async fn send_bulk_email(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::SendBulkEmailRequest,
) -> Result<w::SendBulkEmailResponse, ApiError> {
    let scope = &ctx.scope;
    unsupported(&i.endpoint_id, &i.tenant_name).map_err(v2_error)?;
    check_identity_arn(scope, i.from_email_address_identity_arn.as_deref()).map_err(v2_error)?;
    if i.bulk_email_entries.len() > 50 {
        return Err(v2_error(SendError::InvalidParameter(
            "At most 50 BulkEmailEntries are allowed.".into(),
        )));
    }
    let Some(t) = i.default_content.template.clone() else {
        return Err(v2_error(SendError::InvalidParameter(
            "DefaultContent.Template is required.".into(),
        )));
    };
    let name = template_name(&t);
    // request-level problems are operation errors.
    if let Some(n) = &name {
        if api
            .engine
            .get_template(scope, n)
            .await
            .map_err(|e| v2_error(e.into()))?
            .is_none()
        {
            return Err(v2_error(SendError::TemplateDoesNotExist(format!(
                "Template {n} does not exist."
            ))));
        }
    }
    let from = i.from_email_address.clone().unwrap_or_default();
    api.engine
        .check_senders(scope, &from, &[])
        .await
        .map_err(v2_error)?;
    let default_tags = tags(i.default_email_tags.clone());
    validate_tags(&default_tags).map_err(v2_error)?;
    let default_data = t.template_data.clone().unwrap_or_else(|| "{}".into());
    let mut results = Vec::with_capacity(i.bulk_email_entries.len());
    for entry in i.bulk_email_entries {
        let mut entry_tags = default_tags.clone();
        for (k, v) in tags(entry.replacement_tags.clone()) {
            entry_tags.retain(|(n, _)| *n != k);
            entry_tags.push((k, v));
        }
        let data = entry
            .replacement_email_content
            .as_ref()
            .and_then(|c| c.replacement_template.as_ref())
            .and_then(|r| r.replacement_template_data.clone())
            .map(|d| merge_data(&default_data, &d))
            .unwrap_or_else(|| default_data.clone());
        let mut h = headers(t.headers.clone());
        h.extend(headers(entry.replacement_headers.clone()));
        let req = SendRequest {
            surface: Surface::V2,
            operation: "SendBulkEmail",
            from: Some(from.clone()),
            destination: destination(Some(entry.destination.clone())),
            reply_to: i.reply_to_addresses.clone().unwrap_or_default(),
            feedback_address: i.feedback_forwarding_email_address.clone(),
            configuration_set: i.configuration_set_name.clone(),
            tags: entry_tags,
            content: Content::Template {
                name: name.clone(),
                inline: inline_template(&t),
                data,
                headers: h,
            },
            source_ip: ctx.source_ip.clone(),
            caller_identity: Some(ctx.caller_name()),
            source_tls_version: None,
            list_management: None,
        };
        let outcome = match validate_tags(&req.tags) {
            Err(e) => Err(e),
            Ok(()) => api.engine.send(scope, req).await.map(|a| a.message_id),
        };
        results.push(match outcome {
            Ok(id) => w::BulkEmailEntryResult {
                status: Some("SUCCESS".into()),
                error: None,
                message_id: Some(id),
            },
            Err(e) => w::BulkEmailEntryResult {
                status: Some(bulk_status_v2(&e).into()),
                error: Some(error_text(&e)),
                message_id: None,
            },
        });
    }
    Ok(w::SendBulkEmailResponse {
        bulk_email_entry_results: results,
    })
}

/// per-destination data is merged over the default data, key by key (top level).
pub(crate) fn merge_data(default: &str, replacement: &str) -> String {
    match (
        serde_json::from_str::<serde_json::Value>(default),
        serde_json::from_str::<serde_json::Value>(replacement),
    ) {
        (Ok(serde_json::Value::Object(mut d)), Ok(serde_json::Value::Object(r))) => {
            for (k, v) in r {
                d.insert(k, v);
            }
            serde_json::Value::Object(d).to_string()
        }
        // Invalid JSON is left for the renderer to report.
        _ => replacement.to_string(),
    }
}

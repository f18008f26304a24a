//! SES v1 `SendEmail`, `SendRawEmail`, `SendTemplatedEmail`, `SendBulkTemplatedEmail` (B-40,
//! B-43; DECISIONS ).

use sesame_awsproto::generated::ses as w;
use sesame_awsproto::ApiError;
use sesame_engine::send::{Content, Destination, SendError, SendRequest, SimpleContent, Surface};
use sesame_mail::message as msg;

use super::SesV1;
use crate::send::{bulk_status_v1, check_identity_arn, error_text, v1_error, validate_tags};
use crate::RequestCtx;

fn text(c: w::Content) -> msg::Text {
    msg::Text {
        data: c.data,
        charset: c.charset,
    }
}

fn destination(d: w::Destination) -> Destination {
    Destination {
        to: d.to_addresses.unwrap_or_default(),
        cc: d.cc_addresses.unwrap_or_default(),
        bcc: d.bcc_addresses.unwrap_or_default(),
    }
}

fn tags(t: Option<Vec<w::MessageTag>>) -> Vec<(String, String)> {
    t.unwrap_or_default()
        .into_iter()
        .map(|t| (t.name, t.value))
        .collect()
}

fn arns(ctx: &RequestCtx, list: &[Option<&str>]) -> Result<(), SendError> {
    for a in list {
        check_identity_arn(&ctx.scope, *a)?;
    }
    Ok(())
}

pub(super) async fn send_email(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SendEmailRequest,
) -> Result<w::SendEmailResponse, ApiError> {
    arns(
        ctx,
        &[i.source_arn.as_deref(), i.return_path_arn.as_deref()],
    )
    .map_err(v1_error)?;
    let t = tags(i.tags);
    validate_tags(&t).map_err(v1_error)?;
    let req = SendRequest {
        surface: Surface::V1,
        operation: "SendEmail",
        from: Some(i.source),
        destination: Some(destination(i.destination)),
        reply_to: i.reply_to_addresses.unwrap_or_default(),
        feedback_address: i.return_path,
        configuration_set: i.configuration_set_name,
        tags: t,
        content: Content::Simple(SimpleContent {
            subject: text(i.message.subject),
            text: i.message.body.text.map(text),
            html: i.message.body.html.map(text),
            headers: vec![],
            attachments: vec![],
        }),
        source_ip: ctx.source_ip.clone(),
        caller_identity: Some(ctx.caller_name()),
        source_tls_version: None,
        list_management: None,
    };
    let a = api.engine.send(&ctx.scope, req).await.map_err(v1_error)?;
    Ok(w::SendEmailResponse {
        message_id: a.message_id,
    })
}

pub(super) async fn send_raw_email(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SendRawEmailRequest,
) -> Result<w::SendRawEmailResponse, ApiError> {
    arns(
        ctx,
        &[
            i.source_arn.as_deref(),
            i.from_arn.as_deref(),
            i.return_path_arn.as_deref(),
        ],
    )
    .map_err(v1_error)?;
    let t = tags(i.tags);
    validate_tags(&t).map_err(v1_error)?;
    let req = SendRequest {
        surface: Surface::V1,
        operation: "SendRawEmail",
        from: i.source,
        destination: i.destinations.map(|to| Destination {
            to,
            ..Default::default()
        }),
        reply_to: vec![],
        feedback_address: None,
        configuration_set: i.configuration_set_name,
        tags: t,
        content: Content::Raw(i.raw_message.data.0),
        source_ip: ctx.source_ip.clone(),
        caller_identity: Some(ctx.caller_name()),
        source_tls_version: None,
        list_management: None,
    };
    let a = api.engine.send(&ctx.scope, req).await.map_err(v1_error)?;
    Ok(w::SendRawEmailResponse {
        message_id: a.message_id,
    })
}

fn template_name(name: &str, arn: Option<&str>) -> String {
    arn.and_then(|a| a.rsplit_once(":template/").map(|(_, n)| n.to_string()))
        .unwrap_or_else(|| name.to_string())
}

pub(super) async fn send_templated_email(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SendTemplatedEmailRequest,
) -> Result<w::SendTemplatedEmailResponse, ApiError> {
    arns(
        ctx,
        &[i.source_arn.as_deref(), i.return_path_arn.as_deref()],
    )
    .map_err(v1_error)?;
    let t = tags(i.tags);
    validate_tags(&t).map_err(v1_error)?;
    let req = SendRequest {
        surface: Surface::V1,
        operation: "SendTemplatedEmail",
        from: Some(i.source),
        destination: Some(destination(i.destination)),
        reply_to: i.reply_to_addresses.unwrap_or_default(),
        feedback_address: i.return_path,
        configuration_set: i.configuration_set_name,
        tags: t,
        content: Content::Template {
            name: Some(template_name(&i.template, i.template_arn.as_deref())),
            inline: None,
            data: i.template_data,
            headers: vec![],
        },
        source_ip: ctx.source_ip.clone(),
        caller_identity: Some(ctx.caller_name()),
        source_tls_version: None,
        list_management: None,
    };
    let a = api.engine.send(&ctx.scope, req).await.map_err(v1_error)?;
    Ok(w::SendTemplatedEmailResponse {
        message_id: a.message_id,
    })
}

pub(super) async fn send_bulk_templated_email(
    api: &SesV1,
    ctx: &RequestCtx,
    i: w::SendBulkTemplatedEmailRequest,
) -> Result<w::SendBulkTemplatedEmailResponse, ApiError> {
    let scope = &ctx.scope;
    arns(
        ctx,
        &[i.source_arn.as_deref(), i.return_path_arn.as_deref()],
    )
    .map_err(v1_error)?;
    if i.destinations.len() > 50 {
        return Err(v1_error(SendError::InvalidParameter(
            "At most 50 destinations are allowed.".into(),
        )));
    }
    let name = template_name(&i.template, i.template_arn.as_deref());
    // request-level problems are operation errors.
    if api
        .engine
        .get_template(scope, &name)
        .await
        .map_err(|e| v1_error(e.into()))?
        .is_none()
    {
        return Err(v1_error(SendError::TemplateDoesNotExist(format!(
            "Template {name} does not exist."
        ))));
    }
    api.engine
        .check_senders(scope, &i.source, &[])
        .await
        .map_err(v1_error)?;
    let default_tags = tags(i.default_tags);
    validate_tags(&default_tags).map_err(v1_error)?;
    let mut status = Vec::with_capacity(i.destinations.len());
    for d in i.destinations {
        let mut entry_tags = default_tags.clone();
        for (k, v) in tags(d.replacement_tags) {
            entry_tags.retain(|(n, _)| *n != k);
            entry_tags.push((k, v));
        }
        let data = match d.replacement_template_data {
            Some(r) => crate::v2::merge_data(&i.default_template_data, &r),
            None => i.default_template_data.clone(),
        };
        let req = SendRequest {
            surface: Surface::V1,
            operation: "SendBulkTemplatedEmail",
            from: Some(i.source.clone()),
            destination: Some(destination(d.destination)),
            reply_to: i.reply_to_addresses.clone().unwrap_or_default(),
            feedback_address: i.return_path.clone(),
            configuration_set: i.configuration_set_name.clone(),
            tags: entry_tags,
            content: Content::Template {
                name: Some(name.clone()),
                inline: None,
                data,
                headers: vec![],
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
        status.push(match outcome {
            Ok(id) => w::BulkEmailDestinationStatus {
                status: Some("Success".into()),
                error: None,
                message_id: Some(id),
            },
            Err(e) => w::BulkEmailDestinationStatus {
                status: Some(bulk_status_v1(&e).into()),
                error: Some(error_text(&e)),
                message_id: None,
            },
        });
    }
    Ok(w::SendBulkTemplatedEmailResponse { status })
}

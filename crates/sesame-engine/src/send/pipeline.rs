//! [`Engine::send`]: from a request to a durable, queued message (see the module map in
//! `send/mod.rs` for the order of the steps and the decisions behind them).

use sesame_mail::message::{self as msg, Limits};
use sesame_model::{AcceptOutcome, QueuedMessage, QuotaCheck, Scope};
use sesame_policy::{identity, simulator};
use sesame_template::TemplateContent;

use super::checks::resolve_configuration_set;
use super::events::{mail_info, MailContext};
use super::types::{Destination, SendError, Surface};
use crate::records::status;
use crate::{now_ms, Engine};

/// The most recipients one message may have.
pub const MAX_RECIPIENTS: usize = 50;

/// v2 `Simple` content / v1 `Message`.
#[derive(Clone, Debug, Default)]
pub struct SimpleContent {
    pub subject: msg::Text,
    pub text: Option<msg::Text>,
    pub html: Option<msg::Text>,
    /// v2 custom `Headers` (B-65, Q-18).
    pub headers: Vec<(String, String)>,
    pub attachments: Vec<msg::Attachment>,
}

#[derive(Clone, Debug)]
pub enum Content {
    Simple(SimpleContent),
    /// A complete MIME message (v1 `SendRawEmail`, v2 `Raw`, SMTP DATA).
    Raw(Vec<u8>),
    /// A stored template (`name`) or inline content, with its data (v2 `Template`, v1
    /// `SendTemplatedEmail`).
    Template {
        name: Option<String>,
        inline: Option<TemplateContent>,
        data: String,
        headers: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug)]
pub struct SendRequest {
    pub surface: Surface,
    /// API operation name for the `ses:operation` auto tag.
    pub operation: &'static str,
    /// v2 `FromEmailAddress` / v1 `Source` / SMTP `MAIL FROM`.
    pub from: Option<String>,
    /// Explicit recipients (v2 `Destination`, v1 `Destination`/`Destinations`, SMTP `RCPT TO`).
    pub destination: Option<Destination>,
    pub reply_to: Vec<String>,
    /// v2 `FeedbackForwardingEmailAddress` / v1 `ReturnPath`.
    pub feedback_address: Option<String>,
    pub configuration_set: Option<String>,
    pub tags: Vec<(String, String)>,
    pub content: Content,
    pub source_ip: Option<String>,
    pub caller_identity: Option<String>,
    /// TLS version of an SMTP submission (`ses:source-tls-version`, G-23); `None` for the API
    /// (its listener is plain HTTP behind the operator's proxy).
    pub source_tls_version: Option<String>,
    /// v2 `ListManagementOptions` (F-177); raw and SMTP mail use the
    /// `X-SES-LIST-MANAGEMENT-OPTIONS` header instead (F-180, [`crate::contacts::sending`]).
    pub list_management: Option<crate::contacts::ListManagement>,
}

/// A message the pipeline accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: String,
}

fn rejection(r: msg::Rejection) -> SendError {
    match r.wire_error() {
        msg::WireError::MessageRejected => SendError::Rejected(r.to_string()),
        msg::WireError::InvalidParameterValue => SendError::InvalidParameter(r.to_string()),
    }
}

fn random16() -> [u8; 16] {
    let k = sesame_sigv4::secrets::generate_key();
    let mut r = [0u8; 16];
    r.copy_from_slice(&k[..16]);
    r
}

/// `Jane <jane@example.com>` or `jane@example.com`, as SES echoes identities.
fn written(m: &msg::Mailbox) -> String {
    match &m.name {
        Some(n) if !n.is_empty() => format!("{n} <{}>", m.address),
        _ => m.address.clone(),
    }
}

impl Engine {
    /// Runs the send pipeline. On `Ok`, the message is durable (spool fsync + store commit).
    pub async fn send(&self, scope: &Scope, req: SendRequest) -> Result<Accepted, SendError> {
        // In-flow control: a bounded wait while delivery is behind (Postfix's in_flow_delay).
        self.admit().await;
        let now = now_ms();
        let account = self.hot_account_settings(scope).await?;
        if !account.sending_enabled || account.enforcement_status == "SHUTDOWN" {
            return Err(SendError::AccountPaused);
        }

        // 1. The message bytes.
        let (raw, template_name) = match self.materialize(scope, &req).await {
            Ok(x) => x,
            Err(Materialize::Failed(e)) => return Err(e),
            Err(Materialize::RenderingFailure { template, message }) => {
                return self
                    .rendering_failure(scope, &req, now, &template, &message)
                    .await;
            }
        };
        let limits = match req.surface {
            Surface::V1 => Limits::V1,
            _ => Limits::V2_AND_SMTP,
        };
        if raw.len() > limits.max_message_bytes {
            // measured on the message as submitted.
            return Err(SendError::InvalidParameter(format!(
                "Message length is more than {} bytes long: '{}'.",
                limits.max_message_bytes,
                raw.len()
            )));
        }
        let inspected = msg::inspect(&raw).map_err(rejection)?;
        msg::validate_raw(&inspected, limits).map_err(rejection)?;
        // G-63, E-132, Q-21: at most one open-tracker placeholder.
        if sesame_mail::tracking::open_tracker_placeholders(&raw) > 1 {
            return Err(SendError::InvalidParameter(
                "The message body contains more than one {{ses:openTracker}} placeholder.".into(),
            ));
        }

        // 2. Envelope.
        let Some(from_header) = inspected.from.first() else {
            return Err(SendError::Rejected(
                "Missing required header 'From'.".into(),
            ));
        };
        let source = req
            .from
            .clone()
            .unwrap_or_else(|| from_header.address.clone());
        let source_bare = identity::bare_address(&source).to_string();
        let recipients: Vec<String> = match &req.destination {
            Some(d) if !d.is_empty() => d.all(),
            _ => inspected
                .to
                .iter()
                .chain(&inspected.cc)
                .chain(&inspected.bcc)
                .cloned()
                .collect(),
        };
        let recipients: Vec<String> = recipients
            .iter()
            .map(|r| identity::bare_address(r).to_string())
            .collect();
        if recipients.is_empty() {
            return Err(SendError::InvalidParameter(
                "There are no recipients specified".into(),
            ));
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(SendError::InvalidParameter(format!(
                "Recipient count exceeds {MAX_RECIPIENTS}."
            )));
        }
        for a in recipients.iter().chain(std::iter::once(&source_bare)) {
            msg::validate_address(a).map_err(|e| SendError::InvalidParameter(e.to_string()))?;
        }

        // 3. Sender identities, including the X-SES-*-ARN headers (E-64).
        for arn in [
            &inspected.ses.source_arn,
            &inspected.ses.from_arn,
            &inspected.ses.return_path_arn,
        ] {
            super::checks::check_identity_arn(scope, arn.as_deref())?;
        }
        let return_path = req
            .feedback_address
            .clone()
            .or_else(|| inspected.return_path.clone());
        let sender = inspected.sender.as_ref().map(written);
        let mut others: Vec<&str> = vec![source.as_str()];
        if let Some(s) = &sender {
            others.push(s);
        }
        if let Some(r) = &return_path {
            others.push(r);
        }
        let checked = self
            .check_senders(scope, &written(from_header), &others)
            .await?;
        let from_identity = checked.from_identity;

        // 4. Configuration set and pauses.
        let set = resolve_configuration_set(
            self,
            scope,
            req.configuration_set.as_deref(),
            inspected.ses.configuration_set.as_deref(),
            Some(&from_identity),
        )
        .await?;
        if let Some(s) = &set {
            let enabled = s
                .sending_options
                .as_ref()
                .and_then(|o| o.get("SendingEnabled"))
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            if !enabled {
                return Err(SendError::ConfigurationSetPaused(s.name.clone()));
            }
        }

        // 5. Sandbox (A-113, E-81).
        self.check_sandbox(scope, account.production_access, &recipients)
            .await?;

        // 6. Envelope sender: custom MAIL FROM when verified, else the default.
        let mail_from_domain = match &from_identity.mail_from {
            Some(m) if m.status == status::SUCCESS => m.domain.clone(),
            Some(m) if m.behavior_on_mx_failure == "REJECT_MESSAGE" => {
                return Err(SendError::MailFromNotVerified(format!(
                    "Mail FROM domain {} is not verified",
                    m.domain
                )));
            }
            _ => format!("{}.{}", scope.region, self.settings.service_domain),
        };

        // 6b. List management (F-177, F-178, H-39, Q-199): the list (and topic) exist; missing
        // contacts are created. Last of the checks, so a refused send creates no contact.
        let listed = self
            .list_management(
                scope,
                req.list_management.as_ref(),
                inspected.ses.list_management_options.as_deref(),
                &recipients,
            )
            .await?;

        // 7. MessageId, Date, X-SES-* removal (B-62, B-63, Q-113, Q-146).
        let message_id = msg::new_message_id(now as u64, random16());
        let body = msg::finalize(
            &raw,
            &message_id,
            &crate::templates::rfc5322_date(now),
            &format!("email.{}", self.settings.service_domain),
        );
        // F-188, F-189, F-191: before the body is stored, so delivery signs these bytes.
        let body = match &listed {
            Some(lm) => self.add_list_unsubscribe(scope, lm, &message_id, &recipients, body, now),
            None => body,
        };

        // 8. Durable: body, then queue row + quota + Send event in one transaction.
        let mut tags = req.tags.clone();
        if let Some(t) = inspected.ses.message_tags.as_deref() {
            for (k, v) in msg::parse_message_tags(t) {
                if !tags.iter().any(|(tk, _)| *tk == k) {
                    tags.push((k, v));
                }
            }
        }
        let ctx = MailContext {
            scope,
            now_ms: now,
            message_id: &message_id,
            source: &source,
            from_identity: &from_identity.identity,
            recipients: &recipients,
            inspected: &inspected,
            raw: &raw,
            configuration_set: set.as_ref().map(|s| s.name.as_str()),
            operation: req.operation,
            tags: &tags,
            source_ip: req.source_ip.as_deref(),
            caller_identity: req.caller_identity.as_deref(),
            source_tls_version: req.source_tls_version.as_deref(),
        };
        let mail = mail_info(self, &ctx);
        let feedback_to = return_path.clone().unwrap_or_else(|| source.clone());
        let mut meta = serde_json::json!({
            "surface": format!("{:?}", req.surface),
            "operation": req.operation,
            "from_identity": from_identity.identity,
            "configuration_set": set.as_ref().map(|s| s.name.clone()),
            "feedback_address": feedback_to,
            "template": template_name,
            "mail": super::events::mail_info_json(&mail),
        });
        // an infected message is accepted, then rejected by delivery (a `Reject` event,
        // no delivery attempt, never retried).
        if let Some(virus) = &inspected.virus {
            meta["virus"] = virus.as_str().into();
        }
        if let Some(lm) = &listed {
            meta[crate::contacts::sending::META_KEY] =
                serde_json::to_value(lm).expect("list management serialises");
        }
        let counted = recipients
            .iter()
            .filter(|r| simulator::classify(r, None).is_none())
            .count() as u32;
        let queued = QueuedMessage {
            message_id: message_id.clone(),
            scope: scope.clone(),
            mail_from: format!("{message_id}@{mail_from_domain}"),
            recipients: recipients.clone(),
            meta,
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
        };
        let quota = QuotaCheck {
            counted_recipients: counted,
            rate_tokens: recipients.len() as u32,
            max_24h_send: account.max_24h_send,
            max_send_rate: account.max_send_rate,
            burst: account.max_send_rate.max(1.0),
        };
        let event =
            super::events::record(scope, &message_id, "Send", now, sesame_events::send(&mail));
        let batch = [(queued, quota, vec![event])];
        let outcome = self
            .accept_with_body(&message_id, body, &batch, now)
            .await
            .map_err(SendError::Internal)?;
        match outcome.first().copied() {
            Some(AcceptOutcome::Accepted) => {
                self.wake_queue();
                Ok(Accepted { message_id })
            }
            Some(AcceptOutcome::DailyQuotaExceeded) => Err(SendError::DailyQuotaExceeded),
            Some(AcceptOutcome::RateExceeded) => Err(SendError::RateExceeded),
            None => Err(SendError::Internal("store returned no outcome".into())),
        }
    }

    /// Accepts `batch` (one message) with its `body`, durably. With bodies in the store's
    /// database, one transaction makes the queue row and the body durable together, and a refused
    /// item stores neither. With a separate body store (a file spool) the body's fsync and the
    /// queue transaction run at the same time and the call waits for both, so an acknowledged
    /// message always has both; a crash in between leaves either an orphan body (swept later) or
    /// a queue row whose body never arrived, which delivery drops — in both cases the client
    /// never got its acknowledgement.
    pub(crate) async fn accept_with_body(
        &self,
        message_id: &str,
        body: Vec<u8>,
        batch: &[(QueuedMessage, QuotaCheck, Vec<sesame_model::EventRecord>)],
        now: i64,
    ) -> Result<Vec<AcceptOutcome>, String> {
        if self.bodies.written_with_queue_row() {
            return self
                .store
                .accept_messages_with_bodies(batch, vec![body], now)
                .await
                .map_err(|e| e.to_string());
        }
        let (written, outcome) = join2(
            self.bodies.write_body(message_id, body),
            self.store.accept_messages(batch, now),
        )
        .await;
        match (written, outcome) {
            (Ok(()), Ok(o)) => {
                if o.first() != Some(&AcceptOutcome::Accepted) {
                    let _ = self.bodies.remove_body(message_id).await;
                }
                Ok(o)
            }
            (Err(e), accepted) => {
                if accepted.is_ok() {
                    // The queue row exists without a body: delivery will drop it (see
                    // `deliver::missing_body`); the client gets an error and retries.
                    tracing::error!(%message_id, error = %e, "spool write failed after the queue row committed");
                }
                Err(format!("spool write failed: {e}"))
            }
            (Ok(()), Err(e)) => {
                let _ = self.bodies.remove_body(message_id).await;
                Err(e.to_string())
            }
        }
    }

    /// Builds the MIME bytes of the request. Returns the template name for templated sends.
    async fn materialize(
        &self,
        scope: &Scope,
        req: &SendRequest,
    ) -> Result<(Vec<u8>, Option<String>), Materialize> {
        let from = req.from.clone().unwrap_or_default();
        let dest = req.destination.clone().unwrap_or_default();
        let simple = |c: SimpleContent| -> Result<Vec<u8>, Materialize> {
            msg::validate_custom_headers(&c.headers)
                .map_err(|r| Materialize::Failed(rejection(r)))?;
            Ok(msg::build_simple(&msg::SimpleMessage {
                from: from.clone(),
                to: dest.to.clone(),
                cc: dest.cc.clone(),
                reply_to: req.reply_to.clone(),
                subject: c.subject,
                text: c.text,
                html: c.html,
                headers: c.headers,
                attachments: c.attachments,
            }))
        };
        match &req.content {
            Content::Raw(bytes) => Ok((bytes.clone(), None)),
            Content::Simple(c) => Ok((simple(c.clone())?, None)),
            Content::Template {
                name,
                inline,
                data,
                headers,
            } => {
                let (label, content) = match (name, inline) {
                    (Some(n), _) => {
                        let t = self
                            .get_template(scope, n)
                            .await
                            .map_err(|e| Materialize::Failed(e.into()))?;
                        let Some(t) = t else {
                            return Err(Materialize::Failed(SendError::TemplateDoesNotExist(
                                format!("Template {n} does not exist."),
                            )));
                        };
                        (n.clone(), t.content())
                    }
                    (None, Some(c)) => ("inline".to_string(), c.clone()),
                    (None, None) => {
                        return Err(Materialize::Failed(SendError::InvalidParameter(
                            "A template name, ARN or content is required.".into(),
                        )))
                    }
                };
                let rendered = match sesame_template::render(&content, data) {
                    Ok(r) => r,
                    // a missing attribute is reported asynchronously as Rendering Failure.
                    Err(sesame_template::TemplateError::MissingRenderingAttribute(_)) => {
                        let e = sesame_template::render(&content, data).unwrap_err();
                        return Err(Materialize::RenderingFailure {
                            template: label,
                            message: e.to_string(),
                        });
                    }
                    Err(sesame_template::TemplateError::InvalidRenderingParameter(m)) => {
                        return Err(Materialize::Failed(SendError::Rendering {
                            code: "InvalidRenderingParameter",
                            message: m,
                        }))
                    }
                    Err(other) => {
                        return Err(Materialize::Failed(SendError::InvalidParameter(
                            other.to_string(),
                        )))
                    }
                };
                let c = SimpleContent {
                    subject: msg::Text::new(rendered.subject),
                    text: rendered.text.map(msg::Text::new),
                    html: rendered.html.map(msg::Text::new),
                    headers: headers.clone(),
                    attachments: vec![],
                };
                Ok((simple(c)?, Some(label)))
            }
        }
    }

    /// the call succeeds with a MessageId, no `Send` event, one `Rendering Failure`.
    async fn rendering_failure(
        &self,
        scope: &Scope,
        req: &SendRequest,
        now: i64,
        template: &str,
        message: &str,
    ) -> Result<Accepted, SendError> {
        let message_id = msg::new_message_id(now as u64, random16());
        let from = req.from.clone().unwrap_or_default();
        let recipients = req.destination.clone().unwrap_or_default().all();
        let mail = super::events::minimal_mail_info(
            self,
            scope,
            now,
            &message_id,
            &from,
            &recipients,
            req,
        );
        let event = super::events::record(
            scope,
            &message_id,
            "Rendering Failure",
            now,
            sesame_events::rendering_failure(&mail, template, message),
        );
        self.store
            .append_events(&[event])
            .await
            .map_err(|e| SendError::Internal(e.to_string()))?;
        Ok(Accepted { message_id })
    }
}

/// Polls two futures concurrently until both are done (runtime-free, so the engine stays
/// independent of tokio).
async fn join2<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: std::future::Future,
    B: std::future::Future,
{
    use std::task::Poll;
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                ra = x;
                rb = y;
                Poll::Pending
            }
        }
    })
    .await
}

enum Materialize {
    Failed(SendError),
    RenderingFailure { template: String, message: String },
}

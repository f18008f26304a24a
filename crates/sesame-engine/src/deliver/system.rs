//! Delivery of the service's own messages (queue rows whose meta has `system`, written by
//! `Engine::enqueue_system_message`: forwarded bounces and complaints, [`crate::forwarding`],
//! and address verification emails, [`crate::email_verification`]). They are delivered like
//! any other mail — captured into the dev inbox in capture mode, handed to the [`Transport`]
//! in SMTP mode, retried on temporary failures within the instance's retry window —
//! but none of the customer's rules apply:
//!
//! - no mailbox simulator or suppression-list outcomes (a customer's list must not swallow the
//!   customer's own bounce notifications); simulator addresses are never contacted, so
//!   a notification to one is dropped;
//! - no events, no statistics, no suppression entries: the notification is not the customer's
//!   message;
//! - signed with the operator key `d=<service_domain>` (Q-72, [`crate::operator_dkim`]) when
//!   it is enabled — except a custom verification email from a customer address whose identity
//!   signs (D-60, Q-103): that one carries the identity's signature (plus the operator's when
//!   `operator_dkim_customer_mail` is on, as customer mail does) — see [`Engine::sign_system`];
//! - the envelope sender stays null (`MAIL FROM:<>`), so a notification that fails
//!   permanently, or whose retry window ends, is logged and dropped — RFC 3464 §2 and RFC 5321
//!   §4.5.5: never a DSN about a DSN.

use std::sync::Arc;

use futures_util::future::join_all;
use sesame_mail::message::to_crlf;
use sesame_model::{CapturedMessage, DeliveryJob, QueuedMessage, TlsPolicy, Transport};
use sesame_policy::simulator;

use super::outcome::{self, Verdict};
use super::prepend_fields;
use super::retry::{Next, Schedule};
use super::smtp::group_by_domain;
use crate::{now_ms, Engine, EngineError};

/// Recipients of a system message that may be delivered (not simulator addresses, Q-76).
fn deliverable(msg: &QueuedMessage) -> Vec<String> {
    let (sim, real): (Vec<&String>, Vec<&String>) = msg
        .recipients
        .iter()
        .partition(|r| simulator::classify(r, None).is_some());
    for r in sim {
        tracing::info!(message_id = %msg.message_id, recipient = %r, "system message to a simulator address dropped");
    }
    real.into_iter().cloned().collect()
}

impl Engine {
    /// DKIM signatures of a system message (see the module docs). `body` has CRLF endings.
    /// A custom verification email records its From address in the queue meta (`from`);
    /// every other system message is from an address of the service domain.
    pub(crate) async fn sign_system(
        &self,
        msg: &QueuedMessage,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, EngineError> {
        let now = now_ms();
        let customer = match msg.meta.get("from").and_then(|v| v.as_str()) {
            Some(from) => {
                let governing = self
                    .governing_identity(&msg.scope, from)
                    .await
                    .map_err(|e| EngineError::Internal(format!("identity of {from}: {e:?}")))?;
                match governing {
                    Some(g) => {
                        let domain = from.rsplit_once('@').map_or("", |(_, d)| d);
                        self.customer_signature(&msg.scope, &g.identity, domain, &body, now)
                            .await?
                    }
                    None => None,
                }
            }
            None => None,
        };
        let operator = match self.operator_dkim() {
            Some(op) if customer.is_none() || op.customer_mail => Some(op.sign(&body, now)?),
            _ => None,
        };
        Ok(prepend_fields(customer, operator, body))
    }

    /// Capture mode: the body, as spooled, into the dev inbox; the row is finished without
    /// events.
    pub(super) async fn deliver_system_captured(
        &self,
        node: &str,
        msg: QueuedMessage,
        prefetched: Option<Vec<u8>>,
    ) -> Result<(), EngineError> {
        let recipients = deliverable(&msg);
        if !recipients.is_empty() {
            let Some(body) = self.load_body(&msg, prefetched).await? else {
                return self.missing_body(node, &msg).await;
            };
            let raw = self.sign_system(&msg, to_crlf(&body).into_owned()).await?;
            self.store
                .capture_message(&CapturedMessage {
                    message_id: msg.message_id.clone(),
                    scope: msg.scope.clone(),
                    mail_from: String::new(),
                    recipients,
                    raw,
                    captured_at: now_ms(),
                })
                .await?;
        }
        self.store
            .finish_message(node, &msg.message_id, &[])
            .await?;
        self.drop_body(&msg.message_id).await;
        Ok(())
    }

    /// SMTP mode: one job per recipient domain with a null envelope sender, `TlsPolicy`
    /// `Optional`, any outbound address; deferred recipients stay queued until the window
    /// ends; nothing is recorded but the queue row's progress.
    pub(super) async fn deliver_system_smtp(
        &self,
        node: &str,
        msg: QueuedMessage,
        prefetched: Option<Vec<u8>>,
        transport: &dyn Transport,
    ) -> Result<(), EngineError> {
        let id = msg.message_id.clone();
        let recipients = deliverable(&msg);
        let mut remaining = Vec::new();
        if !recipients.is_empty() {
            let Some(body) = self.load_body(&msg, prefetched).await? else {
                return self.missing_body(node, &msg).await;
            };
            let body = Arc::new(self.sign_system(&msg, to_crlf(&body).into_owned()).await?);
            let jobs: Vec<DeliveryJob> = group_by_domain(&recipients)
                .into_iter()
                .map(|(domain, recipients)| DeliveryJob {
                    message_id: id.clone(),
                    domain,
                    mail_from: String::new(),
                    recipients,
                    body: body.clone(),
                    tls: TlsPolicy::Optional,
                    source_ips: vec![],
                })
                .collect();
            let reports = join_all(jobs.iter().cloned().map(|j| transport.deliver(j))).await;
            for (job, report) in jobs.into_iter().zip(reports) {
                for r in job.recipients {
                    let verdict = report
                        .results
                        .iter()
                        .find(|(x, _)| *x == r)
                        .map_or_else(outcome::missing_result, |(_, res)| outcome::classify(res));
                    match verdict {
                        Verdict::Delivered { smtp_response } => {
                            tracing::debug!(message_id = %id, recipient = %r, %smtp_response, "system message delivered");
                        }
                        Verdict::Bounced(f) => {
                            tracing::warn!(message_id = %id, recipient = %r, diagnostic = %f.diagnostic, "system message undeliverable; dropped (null sender: no DSN about a DSN)");
                        }
                        Verdict::Deferred(d) => {
                            tracing::info!(message_id = %id, recipient = %r, diagnostic = %d.diagnostic, "system message deferred");
                            remaining.push(r);
                        }
                    }
                }
            }
        }
        let schedule = Schedule::new(
            msg.created_at,
            self.settings.delivery_retry_base_seconds,
            self.settings.delivery_retry_window_seconds,
            None,
        );
        match schedule.next(now_ms(), msg.attempts) {
            Next::RetryAt(at) if !remaining.is_empty() => {
                self.store
                    .retry_message(node, &id, &remaining, at, &[])
                    .await?;
            }
            _ => {
                if !remaining.is_empty() {
                    tracing::warn!(message_id = %id, recipients = ?remaining, "system message not delivered within the retry window; dropped");
                }
                self.store.finish_message(node, &id, &[]).await?;
                self.drop_body(&id).await;
            }
        }
        Ok(())
    }
}

//! Delivery of claimed messages (the engine half; the runtime loop that claims and calls
//! [`Engine::deliver_claimed`] (capture) or [`Engine::deliver_smtp`] lives in the binary,
//! `crates/sesame/src/delivery.rs`).
//!
//! Map: [`classify`] (simulator and suppression, Q-189), [`signing`] (which DKIM key, Q-89),
//! [`smtp`] (real delivery through a `Transport`: jobs per domain, events, retries,
//! suppression), [`outcome`] (SMTP result → Delivered / DeliveryDelay / Bounce, G-44, G-53),
//! [`retry`] (backoff and window, Q-110), [`pool`] (source addresses, E-98).
//!
//! Per recipient, in the order of DECISIONS Q-189 ([`classify`]): mailbox simulator (E-78..E-86,
//! Q-125), list management (an unsubscribed contact, F-179), account/configuration-set
//! suppression (F-134, Q-188), then hand-off. In **capture
//! mode** (the dev inbox, `delivery_mode = capture`) the hand-off is: DKIM-sign the spooled body
//! as the last step (Q-96, [`signing`]) and store the exact signed bytes once as a
//! `CapturedMessage` for every captured recipient. The message is then finished with all its
//! events in one store transaction (`finish_message`):
//!
//! - one `Delivery` per message listing every delivered recipient (captured and simulated),
//!   `smtpResponse` `250 2.6.0 Message received`, `reportingMTA` `capture.<service_domain>`
//!   (Q-73 names hosts `<a-b-c-d>.smtp-out.<sd>` after the outbound IP; capture has none);
//! - one `Bounce` per `(bounceType, bounceSubType)` listing all its recipients (E-84: several
//!   simulated bounces of one request are combined; different subtypes cannot share one
//!   `bounce` object), `reportingMTA` `dns; capture.<sd>`;
//! - one `Complaint` (`abuse`, E-80) listing the `complaint@` recipients.
//!
//! Bounces and complaints are also mailed to the message's feedback address when forwarding
//! applies ([`crate::forwarding`], Q-162), before the events are committed. Queue rows of the
//! service's own mail (`meta.system`, e.g. those notifications) are delivered by `system`:
//! no simulator, suppression, events or customer DKIM; the operator signature `d=<sd>`.
//!
//! `ooto@` also answers with an RFC 3834 auto-reply to the Return-Path (else the sender),
//! captured like any other message (E-79). Bounces and complaints are never added to the
//! suppression list here (simulator and `OnAccountSuppressionList` bounces must not be, Q-191,
//! and no other kind of bounce exists in capture mode).

pub mod classify;
pub mod outcome;
pub mod prefetch;
pub mod retry;
#[cfg(test)]
mod shape_tests;
pub mod signing;
pub mod smtp;
mod system;
#[cfg(test)]
pub(crate) mod testkit;

use sesame_events::{
    complaint_feedback_types, event_types, BounceInfo, BouncedRecipient, ComplaintInfo,
    DeliveryInfo,
};
use sesame_mail::message::to_crlf;
use sesame_model::{CapturedMessage, EventRecord, QueuedMessage, Scope};
use sesame_policy::{identity, simulator};

use crate::configuration_sets::ConfigurationSetRecord;
use crate::records::IdentityRecord;
use crate::send::events::record;
use crate::suppression;
use crate::{now_ms, Engine, EngineError};
use classify::{BounceReason, Outcome};
use sesame_events::MailInfo;

/// How long a queued message may wait for its body (see `Engine::missing_body`).
const BODY_GRACE_MS: i64 = 120_000;

/// `delivery.smtpResponse` of a captured (or simulated) hand-off.
pub const CAPTURE_SMTP_RESPONSE: &str = "250 2.6.0 Message received";

/// What the send pipeline stored in the queue row's `meta` that delivery needs.
struct Meta {
    mail: MailInfo,
    from_identity: Option<String>,
    configuration_set: Option<String>,
    /// Where feedback goes: Return-Path, else the envelope source.
    feedback_address: Option<String>,
}

/// What [`Engine::prepare`] works out before any hand-off.
struct Prepared {
    meta: Meta,
    /// The message's configuration set, when it has one that still exists.
    set: Option<ConfigurationSetRecord>,
    /// Effective suppression reasons (F-162, Q-188).
    reasons: Vec<String>,
    /// One per queued recipient, in order.
    outcomes: Vec<(String, Outcome)>,
}

fn parse_meta(msg: &QueuedMessage) -> Result<Meta, EngineError> {
    let mail =
        serde_json::from_value(msg.meta.get("mail").cloned().unwrap_or_default()).map_err(|e| {
            EngineError::Internal(format!(
                "queued message {} has no mail meta: {e}",
                msg.message_id
            ))
        })?;
    let text = |k: &str| msg.meta.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(Meta {
        mail,
        from_identity: text("from_identity"),
        configuration_set: text("configuration_set"),
        feedback_address: text("feedback_address"),
    })
}

/// The virus the acceptance scan found in a queued message, if any.
pub(crate) fn infected(msg: &QueuedMessage) -> Option<&str> {
    msg.meta.get("virus").and_then(|v| v.as_str())
}

/// The `DKIM-Signature: …\r\n` fields `first` and `second` (when present, in that order)
/// followed by `body`.
pub(crate) fn prepend_fields(
    first: Option<String>,
    second: Option<String>,
    body: Vec<u8>,
) -> Vec<u8> {
    if first.is_none() && second.is_none() {
        return body;
    }
    let mut out = Vec::with_capacity(body.len() + 1024);
    for f in [first, second].into_iter().flatten() {
        out.extend_from_slice(f.as_bytes());
    }
    out.extend_from_slice(&body);
    out
}

fn random16() -> [u8; 16] {
    let k = sesame_sigv4::secrets::generate_key();
    let mut r = [0u8; 16];
    r.copy_from_slice(&k[..16]);
    r
}

/// The simulator's out-of-office answer (RFC 3834): `Auto-Submitted: auto-replied`, threaded
/// to the original with `In-Reply-To`/`References`, sent with a null reverse-path (§3.3) to
/// `to`. Captured like any other message, so tests can read it from the dev inbox.
fn out_of_office_reply(
    scope: &Scope,
    from: &str,
    to: &str,
    original: &MailInfo,
    now: i64,
) -> CapturedMessage {
    use sesame_mail::message as msg;
    let subject = original.common.subject.clone().unwrap_or_default();
    let mut headers = vec![("Auto-Submitted".to_string(), "auto-replied".to_string())];
    if let Some(id) = &original.common.message_id {
        headers.push(("In-Reply-To".to_string(), id.clone()));
        headers.push(("References".to_string(), id.clone()));
    }
    let body = msg::build_simple(&msg::SimpleMessage {
        from: from.to_string(),
        to: vec![to.to_string()],
        cc: vec![],
        reply_to: vec![],
        subject: msg::Text::new(format!("Out of the office: {subject}")),
        text: Some(msg::Text::new(
            "I am out of the office and will read your message when I return.\r\n\r\n\
             (Automatic reply from the Sesame mailbox simulator, ooto@simulator.amazonses.com.)\r\n",
        )),
        html: None,
        headers,
        attachments: vec![],
    });
    let message_id = msg::new_message_id(now as u64, random16());
    let raw = msg::finalize(
        &body,
        &message_id,
        &crate::templates::rfc5322_date(now),
        sesame_policy::simulator::SIMULATOR_DOMAIN,
    );
    CapturedMessage {
        message_id,
        scope: scope.clone(),
        mail_from: String::new(),
        recipients: vec![to.to_string()],
        raw,
        captured_at: now,
    }
}

impl Engine {
    /// The host name delivery reports (`reportingMTA`) in capture mode.
    pub fn capture_host(&self) -> String {
        format!("capture.{}", self.settings.service_domain)
    }

    /// The part of delivery that is the same in every mode: the queue row's meta, the
    /// configuration set, the effective suppression reasons (F-162, Q-188) and each
    /// recipient's [`Outcome`] in the order of Q-189 ([`classify`]).
    async fn prepare(
        &self,
        msg: &QueuedMessage,
        pre: &prefetch::Prefetched,
    ) -> Result<Prepared, EngineError> {
        let meta = parse_meta(msg)?;
        let scope = &msg.scope;
        // The send path's ≤ 1 s settings cache: read for every delivered message.
        let account = self.hot_account_settings(scope).await?;
        let set = match &meta.configuration_set {
            Some(name) => self.hot_configuration_set(scope, name).await?,
            None => None,
        };
        let reasons = classify::effective_reasons(
            &account.suppressed_reasons,
            set.as_ref().and_then(|s| s.suppression_options.as_ref()),
        );

        // F-179, F/Z-14: contacts of the message's list who unsubscribed (list-managed mail only).
        let unsubscribed = self
            .unsubscribed_recipients(scope, &msg.meta, &msg.recipients)
            .await?;
        let mut outcomes = Vec::with_capacity(msg.recipients.len());
        for (r, unsubscribed) in msg.recipients.iter().zip(unsubscribed) {
            let scenario = simulator::classify(r, None);
            let listed = if scenario.is_none() && !unsubscribed && !reasons.is_empty() {
                match &pre.listed {
                    // Read with the batch: absent means not listed.
                    Some(listed) => suppression::normalize_address(r)
                        .ok()
                        .and_then(|n| listed.get(&n).cloned()),
                    None => self.listed_reason(scope, r).await?,
                }
            } else {
                None
            };
            outcomes.push((
                r.clone(),
                classify::classify(scenario, unsubscribed, listed.as_deref(), &reasons),
            ));
        }
        Ok(Prepared {
            meta,
            set,
            reasons,
            outcomes,
        })
    }

    /// The spooled body (`prefetched` with its batch, else read now); `None` when it is not
    /// (yet) there (see [`Self::missing_body`]).
    async fn load_body(
        &self,
        msg: &QueuedMessage,
        prefetched: Option<Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, EngineError> {
        if let Some(body) = prefetched {
            return Ok(Some(body));
        }
        match self.bodies.read_body(&msg.message_id).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::Internal(format!(
                "reading body of {}: {e}",
                msg.message_id
            ))),
        }
    }

    /// E-79: `ooto@` answers with an RFC 3834 auto-reply to the Return-Path (else the sender),
    /// kept in the dev inbox.
    async fn answer_out_of_office(
        &self,
        scope: &Scope,
        meta: &Meta,
        outcomes: &[(String, Outcome)],
    ) -> Result<(), EngineError> {
        for (r, _) in outcomes {
            if simulator::classify(r, None) == Some(simulator::Scenario::OutOfOffice) {
                if let Some(to) = meta.feedback_address.as_deref() {
                    let now = now_ms();
                    let mut reply = out_of_office_reply(scope, r, to, &meta.mail, now);
                    // The service's own mail: the operator signature, when enabled.
                    if let Some(op) = self.operator_dkim() {
                        let raw = to_crlf(&reply.raw).into_owned();
                        reply.raw = prepend_fields(Some(op.sign(&raw, now)?), None, raw);
                    }
                    self.store.capture_message(&reply).await?;
                }
            }
        }
        Ok(())
    }

    /// Delivers one claimed message in capture mode and finishes it (see the module docs).
    /// On `Err` nothing was finished: the lease expires and the message is claimed again.
    pub async fn deliver_claimed(&self, node: &str, msg: QueuedMessage) -> Result<(), EngineError> {
        self.deliver_claimed_with(node, msg, Default::default())
            .await
    }

    /// [`Self::deliver_claimed`] with what was read for its batch ([`Engine::prefetch`]).
    pub async fn deliver_claimed_with(
        &self,
        node: &str,
        msg: QueuedMessage,
        mut pre: prefetch::Prefetched,
    ) -> Result<(), EngineError> {
        if crate::forwarding::system_kind(&msg).is_some() {
            return self.deliver_system_captured(node, msg, pre.body).await;
        }
        if infected(&msg).is_some() {
            return self.reject_infected(node, &msg).await;
        }
        let Prepared {
            meta,
            outcomes,
            set,
            ..
        } = self.prepare(&msg, &pre).await?;
        let scope = &msg.scope;

        let captured: Vec<String> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Deliver)
            .map(|(r, _)| r.clone())
            .collect();
        if !captured.is_empty() {
            let Some(body) = self.load_body(&msg, pre.body.take()).await? else {
                return self.missing_body(node, &msg).await;
            };
            let raw = self
                .sign_for_delivery(scope, &meta, set.as_ref(), body, now_ms())
                .await?;
            self.store
                .capture_message(&CapturedMessage {
                    message_id: msg.message_id.clone(),
                    scope: scope.clone(),
                    mail_from: msg.mail_from.clone(),
                    recipients: captured,
                    raw,
                    captured_at: now_ms(),
                })
                .await?;
        }
        self.answer_out_of_office(scope, &meta, &outcomes).await?;

        let events = self.synthesized_events(
            scope,
            &msg,
            &meta.mail,
            &outcomes,
            &self.capture_host(),
            now_ms(),
        );
        self.forward_attempt_feedback(&msg, &events).await;
        self.store
            .finish_message(node, &msg.message_id, &events)
            .await?;
        self.drop_body(&msg.message_id).await;
        Ok(())
    }

    /// Q-123, G-49: a message the virus detector flagged at acceptance is not delivered to
    /// anyone; it is finished with one `Reject` event (`reason` "Bad content") and its body is
    /// dropped. The event counts in `GetSendStatistics` `Rejects`; no retry, no bounce.
    pub(crate) async fn reject_infected(
        &self,
        node: &str,
        msg: &QueuedMessage,
    ) -> Result<(), EngineError> {
        let meta = parse_meta(msg)?;
        let now = now_ms();
        tracing::warn!(message_id = %msg.message_id, account = %msg.scope.account,
            virus = infected(msg).unwrap_or_default(), "message rejected: a virus was found (Reject event, not delivered)");
        let event = record(
            &msg.scope,
            &msg.message_id,
            event_types::REJECT,
            now,
            sesame_events::reject(&meta.mail, "Bad content"),
        );
        self.store
            .finish_message(node, &msg.message_id, &[event])
            .await?;
        self.drop_body(&msg.message_id).await;
        Ok(())
    }

    /// Feedback forwarding for the events of one delivery attempt, before they are committed
    /// ([`crate::forwarding`]: a repeated attempt finds its notifications already queued).
    /// A failure is logged, not returned: failing the attempt would deliver the message again
    /// (a duplicate for every recipient) to save one notification.
    pub(crate) async fn forward_attempt_feedback(
        &self,
        msg: &QueuedMessage,
        events: &[EventRecord],
    ) {
        let occurrence = format!("attempt-{}", msg.attempts);
        if let Err(e) = self.forward_feedback(msg, events, &occurrence, None).await {
            tracing::error!(message_id = %msg.message_id, error = %e, "could not queue the forwarded feedback of a delivery attempt");
        }
    }

    /// The queue row is gone; the body is no longer needed (idempotent, best effort: a
    /// leftover file is harmless and recovery can sweep it).
    async fn drop_body(&self, message_id: &str) {
        if self.bodies.removed_with_message() {
            return; // gone with the queue row, in the same transaction
        }
        if let Err(e) = self.bodies.remove_body(message_id).await {
            tracing::warn!(message_id = %message_id, error = %e, "could not remove a delivered body from the spool");
        }
    }

    /// The spool write and the queue row commit concurrently (see `send::pipeline`), so a
    /// claim can see a row whose body is still being made durable: look again in a second.
    /// A body still missing after [`BODY_GRACE_MS`] belongs to a send that failed and was never
    /// acknowledged: the row is dropped.
    async fn missing_body(&self, node: &str, msg: &QueuedMessage) -> Result<(), EngineError> {
        let now = now_ms();
        if now - msg.created_at < BODY_GRACE_MS {
            self.store
                .retry_message(node, &msg.message_id, &msg.recipients, now + 1_000, &[])
                .await?;
        } else {
            tracing::error!(message_id = %msg.message_id, "queued message has no body: it was never acknowledged; dropping it");
            self.store
                .finish_message(node, &msg.message_id, &[])
                .await?;
        }
        Ok(())
    }

    /// The reason of `address`'s account-list entry, if listed.
    async fn listed_reason(
        &self,
        scope: &Scope,
        address: &str,
    ) -> Result<Option<String>, EngineError> {
        match self.get_suppressed_destination(scope, address).await {
            Ok(rec) => Ok(Some(rec.reason)),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The body as it leaves: CRLF line endings, rewritten for open/click tracking when the
    /// configuration set asks for it ([`crate::tracking`]), and, when the governing identity
    /// signs, a `DKIM-Signature` field prepended (Q-96: signing is the last change); then, when
    /// the operator signs customer mail (Q-72, `operator_dkim_customer_mail`), the operator's
    /// `d=<service_domain>` signature below it. Both sign the same message (neither covers the
    /// other's `DKIM-Signature` field), so their order does not matter to verifiers.
    async fn sign_for_delivery(
        &self,
        scope: &Scope,
        meta: &Meta,
        set: Option<&ConfigurationSetRecord>,
        body: Vec<u8>,
        now: i64,
    ) -> Result<Vec<u8>, EngineError> {
        let body = match to_crlf(&body) {
            std::borrow::Cow::Borrowed(_) => body,
            std::borrow::Cow::Owned(b) => b,
        };
        let body = self.apply_tracking(scope, &meta.mail, set, body).await?;
        let customer = match &meta.from_identity {
            Some(from_identity) => {
                self.customer_signature(scope, from_identity, &meta.mail.from_domain, &body, now)
                    .await?
            }
            None => None,
        };
        let operator = match self.operator_dkim() {
            Some(op) if op.customer_mail => Some(op.sign(&body, now)?),
            _ => None,
        };
        Ok(prepend_fields(customer, operator, body))
    }

    /// The customer's DKIM signature of `body` when the identity `from_identity` (governing
    /// the From address, whose domain is `from_domain`) signs, else `None`.
    pub(crate) async fn customer_signature(
        &self,
        scope: &Scope,
        from_identity: &str,
        from_domain: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Option<String>, EngineError> {
        let Some(signer) = self.signer_for(scope, from_identity, from_domain).await? else {
            return Ok(None);
        };
        let key = self.dkim_signing_key(scope, &signer.owner, &signer.key)?;
        let field = sesame_mail::dkim::sign_with(
            &key,
            body,
            &signer.domain,
            &signer.key.selector,
            (now / 1000) as u64,
        )
        .map_err(|e| EngineError::Internal(format!("DKIM signing failed: {e}")))?;
        Ok(Some(field))
    }

    /// Which key signs mail of `from_identity` (Q-89, `signing::choose`), read through the send
    /// path's ≤ 1 s cache: every delivered message needs it, and it changes only when
    /// an identity does (writes through this engine drop it at once; a key rotated elsewhere
    /// stays published as the previous key, so a signature made in that second verifies).
    /// "Unsigned" is never cached.
    async fn signer_for(
        &self,
        scope: &Scope,
        from_identity: &str,
        from_domain: &str,
    ) -> Result<Option<crate::send::hot::SignerChoice>, EngineError> {
        if let Some(choice) = self.hot.signer(scope, from_identity, from_domain) {
            return Ok(choice);
        }
        let choice = match self.get_identity(scope, from_identity).await? {
            None => None,
            Some(governing) => {
                let domains = self.domain_identities(scope, from_domain).await?;
                signing::choose(&governing, &domains).map(|s| crate::send::hot::SignerChoice {
                    owner: s.owner.to_string(),
                    domain: s.domain,
                    key: s.key.clone(),
                })
            }
        };
        // Only a signing decision is cached: like the send path's unverified identities, an
        // "unsigned" answer is read again, so a key verified by another process (`sesame
        // identity check`, another node) signs the very next message.
        if choice.is_some() {
            self.hot
                .put_signer(scope, from_identity, from_domain, choice.clone());
        }
        Ok(choice)
    }

    /// Domain identities for `domain` and its parents, most specific first.
    async fn domain_identities(
        &self,
        scope: &Scope,
        domain: &str,
    ) -> Result<Vec<IdentityRecord>, EngineError> {
        let mut out = Vec::new();
        for name in identity::candidates(&format!("postmaster@{domain}"))
            .into_iter()
            .skip(1)
        {
            if let Some(rec) = self.get_identity(scope, &name).await? {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// The events of outcomes decided without the network (capture hand-offs, simulator,
    /// suppression): one `Delivery` for every [`Outcome::Deliver`] and simulated delivery, one
    /// `Bounce` per reason, one `Complaint` (see the module docs). `host` is the
    /// `reportingMTA` (`dns; <host>` in bounces, Q-165).
    fn synthesized_events(
        &self,
        scope: &Scope,
        msg: &QueuedMessage,
        mail: &MailInfo,
        outcomes: &[(String, Outcome)],
        host: &str,
        now: i64,
    ) -> Vec<EventRecord> {
        let mut events = Vec::new();
        // G-23 / Q-156: `ses:outgoing-ip` MUST be on Delivery records (and the Complaint that
        // follows one). These hand-offs never leave the host, so the address is the first
        // configured outbound IP, else loopback, where the capture/simulator hand-off happens.
        // Bounces decided here (simulator, suppression) keep the pre-delivery tags (G-23: MAY
        // be absent before a delivery attempt).
        let handed_off = MailInfo {
            outgoing_ip: mail.outgoing_ip.clone().or_else(|| {
                Some(
                    self.settings
                        .outbound_ips
                        .first()
                        .map_or_else(|| "127.0.0.1".to_string(), ToString::to_string),
                )
            }),
            ..mail.clone()
        };
        let delivered: Vec<String> = outcomes
            .iter()
            .filter(|(_, o)| {
                matches!(
                    o,
                    Outcome::Deliver | Outcome::SimulatedDelivery | Outcome::SimulatedComplaint
                )
            })
            .map(|(r, _)| r.clone())
            .collect();
        if !delivered.is_empty() {
            let d = DeliveryInfo {
                timestamp_ms: now,
                processing_time_ms: (now - msg.created_at).max(0),
                recipients: delivered,
                smtp_response: CAPTURE_SMTP_RESPONSE.into(),
                reporting_mta: host.to_string(),
                remote_mta_ip: None,
            };
            events.push(record(
                scope,
                &msg.message_id,
                event_types::DELIVERY,
                now,
                sesame_events::delivery(&handed_off, &d),
            ));
        }
        let mut reasons: Vec<BounceReason> = outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Bounce(b) => Some(*b),
                _ => None,
            })
            .collect();
        reasons.sort();
        reasons.dedup();
        for reason in reasons {
            let (bounce_type, sub_type) = reason.kind();
            let recipients = outcomes
                .iter()
                .filter(|(_, o)| *o == Outcome::Bounce(reason))
                .map(|(r, _)| BouncedRecipient {
                    email_address: r.clone(),
                    action: Some("failed".into()),
                    status: Some(reason.status().into()),
                    diagnostic_code: Some(reason.diagnostic().into()),
                })
                .collect();
            let b = BounceInfo {
                bounce_type: bounce_type.into(),
                bounce_sub_type: sub_type.into(),
                recipients,
                timestamp_ms: now,
                feedback_id: sesame_events::feedback_id(
                    &msg.message_id,
                    scope.region.as_str(),
                    random16(),
                ),
                reporting_mta: Some(format!("dns; {host}")),
                remote_mta_ip: None,
            };
            events.push(record(
                scope,
                &msg.message_id,
                event_types::BOUNCE,
                now,
                sesame_events::bounce(mail, &b),
            ));
        }
        let complained: Vec<String> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::SimulatedComplaint)
            .map(|(r, _)| r.clone())
            .collect();
        if !complained.is_empty() {
            let c = ComplaintInfo {
                recipients: complained,
                timestamp_ms: now,
                feedback_id: sesame_events::feedback_id(
                    &msg.message_id,
                    scope.region.as_str(),
                    random16(),
                ),
                complaint_sub_type: None,
                user_agent: Some("Amazon SES Mailbox Simulator".into()),
                complaint_feedback_type: Some(complaint_feedback_types::ABUSE.into()),
                arrival_date_ms: Some(now),
            };
            events.push(record(
                scope,
                &msg.message_id,
                event_types::COMPLAINT,
                now,
                sesame_events::complaint(&handed_off, &c),
            ));
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use sesame_model::Store;

    use super::testkit::*;
    use super::*;
    use crate::records::DkimState;
    use crate::test_store::scope;

    /// E-79, E-80, E-84, Q-125: one request, every simulator scenario plus a real recipient.
    #[tokio::test]
    async fn simulator_outcomes_and_events() {
        let f = fixture().await;
        let to: Vec<String> = [
            "success",
            "bounce",
            "bounce+label1",
            "complaint",
            "ooto",
            "suppressionlist",
            "nobody",
        ]
        .iter()
        .map(|l| format!("{l}@{SIM}"))
        .chain(["someone@example.net".to_string()])
        .collect();
        let to_ref: Vec<&str> = to.iter().map(String::as_str).collect();
        let id = send(&f, "sender@example.test", &to_ref, None).await;
        deliver_all(&f).await;

        let ev = events(&f, &id).await;
        let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["Send", "Delivery", "Bounce", "Bounce", "Complaint"]);

        let delivery = &ev[1].1["delivery"];
        assert_eq!(
            sorted(&delivery["recipients"]),
            [
                format!("complaint@{SIM}"),
                format!("ooto@{SIM}"),
                "someone@example.net".to_string(),
                format!("success@{SIM}"),
            ]
        );
        assert_eq!(delivery["smtpResponse"], CAPTURE_SMTP_RESPONSE);
        assert_eq!(delivery["reportingMTA"], "capture.sesame.test");
        assert!(delivery["processingTimeMillis"].is_i64());

        let general = &ev[2].1["bounce"];
        assert_eq!(general["bounceType"], "Permanent");
        assert_eq!(general["bounceSubType"], "General");
        // E-83: the exact labelled address; E-84: combined into one bounce.
        assert_eq!(
            sorted(&general["bouncedRecipients"]),
            [
                format!("bounce+label1@{SIM}"),
                format!("bounce@{SIM}"),
                format!("nobody@{SIM}"),
            ]
        );
        assert_eq!(
            general["bouncedRecipients"][0]["diagnosticCode"],
            "smtp; 550 5.1.1 user unknown"
        );
        assert_eq!(general["bouncedRecipients"][0]["status"], "5.1.1");
        let suppressed = &ev[3].1["bounce"];
        assert_eq!(suppressed["bounceSubType"], "Suppressed");
        assert_eq!(
            sorted(&suppressed["bouncedRecipients"]),
            [format!("suppressionlist@{SIM}")]
        );
        let complaint = &ev[4].1["complaint"];
        assert_eq!(complaint["complaintFeedbackType"], "abuse");
        assert_eq!(
            sorted(&complaint["complainedRecipients"]),
            [format!("complaint@{SIM}")]
        );

        // Each Bounce and the Complaint were mailed to the sender (Q-162: forwarding is on by
        // default), with a null sender (`forwarding` tests check their content).
        let notices = captured_notices(&f);
        assert_eq!(notices.len(), 3);
        assert!(notices
            .iter()
            .all(|n| n.recipients == ["sender@example.test"] && n.mail_from.is_empty()));

        // The real recipient was captured, and ooto@ answered the sender with an RFC 3834
        // auto-reply (E-79); simulator bounces suppress nothing.
        let captured: Vec<CapturedMessage> = f
            .store
            .captured
            .lock()
            .unwrap()
            .iter()
            .filter(|c| !notices.iter().any(|n| n.message_id == c.message_id))
            .cloned()
            .collect();
        assert_eq!(captured.len(), 2);
        let (real, reply): (Vec<_>, Vec<_>) = captured.iter().partition(|c| c.message_id == id);
        assert_eq!(real[0].recipients, ["someone@example.net"]);
        assert_eq!(reply[0].recipients, ["sender@example.test"]);
        assert_eq!(reply[0].mail_from, "", "null reverse-path, RFC 3834 §3.3");
        let text = String::from_utf8_lossy(&reply[0].raw);
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        assert!(text.contains(&format!("ooto@{SIM}")), "{text}");
        let (list, _) = f
            .engine
            .list_suppressed_destinations(&scope(), &Default::default(), None, 100)
            .await
            .unwrap();
        assert!(list.is_empty());
        // The spooled body is gone once the message is finished.
        assert!(f.bodies.bodies.lock().unwrap().is_empty());
    }

    /// A claimed row whose body is not durable yet (the spool write and the queue commit run
    /// concurrently) is looked at again a second later; one whose body never came (a failed,
    /// unacknowledged send) is dropped after the grace period.
    #[tokio::test]
    async fn missing_body_is_retried_then_dropped() {
        let f = fixture().await;
        let id = send(&f, "sender@example.test", &["someone@example.net"], None).await;
        f.bodies.bodies.lock().unwrap().remove(&id);
        let claimed = f
            .store
            .claim_messages("node-a", now_ms(), 60_000, 10)
            .await
            .unwrap();
        f.engine
            .deliver_claimed("node-a", claimed[0].clone())
            .await
            .unwrap();
        assert_eq!(
            f.store.queue_depth().await.unwrap(),
            1,
            "young: kept for another look"
        );
        assert!(f.store.captured.lock().unwrap().is_empty());
        let mut old = claimed[0].clone();
        old.created_at -= BODY_GRACE_MS + 1;
        let again = f
            .store
            .claim_messages("node-a", now_ms() + 2_000, 60_000, 10)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        old.attempts = again[0].attempts;
        f.engine.deliver_claimed("node-a", old).await.unwrap();
        assert_eq!(f.store.queue_depth().await.unwrap(), 0, "old: dropped");
    }

    /// Q-189, F-134, Q-188: account-list entries bounce with `OnAccountSuppressionList` when
    /// their reason is effective; a configuration set's override wins over the account's.
    #[tokio::test]
    async fn account_suppression_bounces_per_effective_reasons() {
        let f = fixture().await;
        suppress(
            &f,
            &[
                ("gone@example.net", "BOUNCE"),
                ("angry@example.net", "COMPLAINT"),
            ],
        )
        .await;
        let sc = scope();
        let to = ["gone@example.net", "angry@example.net", "fine@example.net"];

        // Account defaults (Q-187: BOUNCE and COMPLAINT).
        let id = send(&f, "sender@example.test", &to, None).await;
        deliver_all(&f).await;
        let ev = events(&f, &id).await;
        let types: Vec<&str> = ev.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["Send", "Delivery", "Bounce"]);
        assert_eq!(
            sorted(&ev[1].1["delivery"]["recipients"]),
            ["fine@example.net"]
        );
        let b = &ev[2].1["bounce"];
        assert_eq!(b["bounceType"], "Permanent");
        assert_eq!(b["bounceSubType"], "OnAccountSuppressionList");
        assert_eq!(
            sorted(&b["bouncedRecipients"]),
            ["angry@example.net", "gone@example.net"]
        );

        // A set that suppresses only BOUNCE.
        f.engine
            .create_configuration_set(&sc, Engine::new_configuration_set("only-bounce"))
            .await
            .unwrap();
        f.engine
            .update_configuration_set(&sc, "only-bounce", |s| {
                s.suppression_options =
                    crate::configuration_sets::suppression_options(Some(&["BOUNCE".to_string()]))?;
                Ok(())
            })
            .await
            .unwrap();
        let id = send(&f, "sender@example.test", &to, Some("only-bounce")).await;
        deliver_all(&f).await;
        let ev = events(&f, &id).await;
        assert_eq!(
            sorted(&ev[1].1["delivery"]["recipients"]),
            ["angry@example.net", "fine@example.net"]
        );
        assert_eq!(
            sorted(&ev[2].1["bounce"]["bouncedRecipients"]),
            ["gone@example.net"]
        );
        let captured = f.store.captured_messages(None, Some(&id), 1).await.unwrap();
        assert_eq!(
            captured[0].recipients,
            ["angry@example.net", "fine@example.net"]
        );
        // suppression-list bounces are notified like any other (forwarded to the sender).
        assert_eq!(captured_notices(&f).len(), 2);
    }

    fn dkim_tags(raw: &[u8]) -> Option<(String, String)> {
        let text = String::from_utf8_lossy(raw);
        if !text.starts_with("DKIM-Signature:") {
            return None;
        }
        let head: String = text.split("\r\n\r\n").next().unwrap().to_string();
        let tag = |t: &str| {
            head.split(';')
                .map(|p| p.trim())
                .find_map(|p| p.strip_prefix(&format!("{t}=")).map(str::to_string))
                .unwrap()
        };
        Some((tag("d"), tag("s")))
    }

    /// `(d, s)` of every `DKIM-Signature` field of the header, in order.
    fn all_signers(raw: &[u8]) -> Vec<(String, String)> {
        let text = String::from_utf8_lossy(raw);
        let head = text.split("\r\n\r\n").next().unwrap().to_string();
        head.split("DKIM-Signature:")
            .skip(1)
            .map(|field| {
                let tag = |t: &str| {
                    field
                        .split(';')
                        .map(|p| p.trim())
                        .find_map(|p| p.strip_prefix(&format!("{t}=")).map(str::to_string))
                        .unwrap()
                };
                (tag("d"), tag("s"))
            })
            .collect()
    }

    /// Q-72, D-89: with the operator key, customer mail carries the customer's signature and
    /// then the operator's `d=<sd>` (when `customer_mail`); a sender that does not sign gets
    /// the operator's only; with `customer_mail` off, customer mail is as before.
    #[tokio::test]
    async fn operator_signature_on_customer_mail() {
        let mut f = fixture().await;
        let sc = scope();
        let token = f
            .engine
            .get_identity(&sc, "example.test")
            .await
            .unwrap()
            .unwrap()
            .dkim
            .unwrap()
            .tokens[0]
            .clone();
        let mut off = Engine::new_identity("off@example.test");
        off.dkim = Some(DkimState {
            signing_enabled: false,
            status: "SUCCESS".into(),
            origin: "AWS_SES".into(),
            tokens: vec![],
            keys: vec![],
            current_key_length: None,
            next_key_length: None,
            last_key_generation: None,
            key_length_changes: vec![],
        });
        f.engine.insert_identity(&sc, off).await.unwrap();
        f.engine
            .force_verify_identity(&sc, "off@example.test")
            .await
            .unwrap();
        let sd = f.engine.settings.service_domain.clone();
        let customer = ("example.test".to_string(), token);
        let operator = (sd, "sesame1".to_string());
        for (customer_mail, from, expect) in [
            (
                true,
                "sender@example.test",
                vec![customer.clone(), operator.clone()],
            ),
            (true, "off@example.test", vec![operator.clone()]),
            (false, "sender@example.test", vec![customer.clone()]),
            (false, "off@example.test", vec![]),
        ] {
            let op = f
                .engine
                .load_operator_dkim("sesame1", customer_mail)
                .await
                .unwrap();
            f.engine.set_operator_dkim(op);
            let id = send(&f, from, &["someone@example.net"], None).await;
            deliver_all(&f).await;
            let m = f
                .store
                .captured_messages(None, Some(&id), 1)
                .await
                .unwrap()
                .remove(0);
            assert_eq!(all_signers(&m.raw), expect, "{customer_mail} {from}");
        }
    }

    /// the service's own mail — the forwarded bounce notification and the
    /// simulator's auto-reply (E-79) — carries the operator signature `d=<sd>` only, even with
    /// `customer_mail` off.
    #[tokio::test]
    async fn operator_signs_the_services_own_mail() {
        let mut f = fixture().await;
        let op = f.engine.load_operator_dkim("sesame1", false).await.unwrap();
        f.engine.set_operator_dkim(op);
        let id = send(
            &f,
            "sender@example.test",
            &[&format!("bounce@{SIM}"), &format!("ooto@{SIM}")],
            None,
        )
        .await;
        // Delivers the message, then the notification it queued.
        deliver_all(&f).await;
        let own: Vec<CapturedMessage> = f
            .store
            .captured
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.message_id != id)
            .cloned()
            .collect();
        assert_eq!(own.len(), 2, "the bounce notification and the auto-reply");
        let operator = vec![(f.engine.settings.service_domain.clone(), "sesame1".into())];
        for m in &own {
            assert_eq!(
                all_signers(&m.raw),
                operator,
                "{}",
                String::from_utf8_lossy(&m.raw)
            );
        }
    }

    /// the domain signs with its first key; an address inherits it unless it
    /// disabled signing; d= is the domain whose configuration applies.
    #[tokio::test]
    async fn dkim_signing_follows_q89() {
        let f = fixture().await;
        let sc = scope();
        let first_token = f
            .engine
            .get_identity(&sc, "example.test")
            .await
            .unwrap()
            .unwrap()
            .dkim
            .unwrap()
            .tokens[0]
            .clone();
        // An address identity without DKIM of its own, and one that turned signing off.
        f.engine
            .insert_identity(&sc, Engine::new_identity("plain@example.test"))
            .await
            .unwrap();
        let mut off = Engine::new_identity("off@example.test");
        off.dkim = Some(DkimState {
            signing_enabled: false,
            status: "SUCCESS".into(),
            origin: "AWS_SES".into(),
            tokens: vec![],
            keys: vec![],
            current_key_length: None,
            next_key_length: None,
            last_key_generation: None,
            key_length_changes: vec![],
        });
        f.engine.insert_identity(&sc, off).await.unwrap();
        for a in ["plain@example.test", "off@example.test"] {
            f.engine.force_verify_identity(&sc, a).await.unwrap();
        }

        let mut want = Vec::new();
        for (from, expect) in [
            (
                "sender@example.test",
                Some(("example.test".to_string(), first_token.clone())),
            ),
            (
                "plain@example.test",
                Some(("example.test".to_string(), first_token.clone())),
            ),
            ("off@example.test", None),
        ] {
            let id = send(&f, from, &["someone@example.net"], None).await;
            want.push((id, expect));
        }
        deliver_all(&f).await;
        for (id, expect) in want {
            let m = f
                .store
                .captured_messages(None, Some(&id), 1)
                .await
                .unwrap()
                .remove(0);
            assert_eq!(dkim_tags(&m.raw), expect, "{id}");
            // The stored bytes are what leaves: CRLF throughout.
            assert!(!m.raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        }
    }
}

//! Asynchronous feedback (DECISIONS Q-166): DSNs (RFC 3464), ARF complaints (RFC 5965) and
//! auto-replies (RFC 3834) mailed back to a message's VERP envelope sender
//! `<message_id>@<mail_from_domain>` and received by the feedback MX
//! (`sesame-smtp`'s feedback mode, wired in the binary).
//!
//! - [`Engine::check_feedback_recipient`] — the RCPT decision: only the exact VERP address of
//!   a message this instance sent (still queued or in the sent-message log) is a mailbox; an
//!   address at a feedback domain (`<region>.<service_domain>`) that names no such message is
//!   unknown (`550 5.1.1`), anything else is not ours (`550 5.7.1`: never a relay). Custom
//!   MAIL FROM domains are recognised through the message found: the address must equal the
//!   message's envelope sender, so no identity list is consulted per RCPT.
//! - [`Engine::ingest_feedback`] — one report for one VERP address → events, statistics,
//!   suppression:
//!
//! | report | event | suppression (Q-191, when the reason is effective, F-162) |
//! |---|---|---|
//! | DSN, per `failed`/`delayed` recipient of the message | `Bounce`, type/subtype per [`classify`] (G-44), DSN fields per recipient (G-43), `reportingMTA` verbatim; one event per (type, subtype) (Q-158) | `BOUNCE` for `Permanent` |
//! | DSN whose failed recipients are none of the message's | `Permanent`/`NoEmail` (all recipients, no DSN fields) — or `Transient`/`General` if only 4.x.x | `BOUNCE` only for a one-recipient message |
//! | DSN without per-recipient fields | `Undetermined`/`Undetermined` (all recipients) | — |
//! | DSN of deliveries only (`delivered`/`relayed`/`expanded`) | none | — |
//! | ARF | `Complaint` (`complaintFeedbackType` IANA, unknown → `other`; `userAgent`; `arrivalDate` in UTC; `complaintSubType` null; recipients, [`attribution`]) | `COMPLAINT`, except `not-spam` and `auth-failure` reports, which are no user complaint |
//! | auto-reply | `Transient`/`General` (not counted, G-44) | — |
//! | anything else | `Undetermined`/`Undetermined` (Q-166) | — |
//!
//! A `Bounce` whose recipients an earlier `Delivery` handed to one remote MTA is stored with
//! that MTA's `remoteMtaIp`, for identity notifications (G-60, G-61; `sesame_events::stored`).
//!
//! Every `Bounce`/`Complaint` recorded here is also mailed to the message's feedback address
//! when forwarding applies, with the received report attached ([`crate::forwarding`]).
//!
//! `bounce.timestamp` / `complaint.timestamp` is the report's `Date` (when the ISP sent it,
//! G-42, G-45), kept between the message's hand-over (its acceptance while still queued) and
//! now. Statistics follow from the
//! events: the store counts hard (`Permanent`, `Undetermined`) bounces and complaints as it
//! appends them. Suppression entries are written before the events: a failure between
//! the two leaves an idempotent upsert to be repeated when the sender retries, never an event
//! whose suppression is missing. Simulator addresses never enter the list.

pub mod attribution;
pub mod classify;

use std::collections::BTreeMap;

use sesame_events::{
    bounce_types, complaint_feedback_types, event_types, BounceInfo, BouncedRecipient,
    ComplaintInfo, MailInfo,
};
use sesame_mail::feedback::{self as fb, Arf, Dsn, Report};
use sesame_mail::verp;
use sesame_model::{EventRecord, QueuedMessage, Scope};
use sesame_policy::simulator;

use crate::deliver::classify::effective_reasons;
use crate::send::events::record;
use crate::suppression::{reason, SuppressionAttributes};
use crate::{now_ms, Engine, EngineError};

/// The RCPT decision for an address at the feedback MX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedbackRecipient {
    /// The VERP address of a message of `scope`: accept.
    Known { message_id: String, scope: Scope },
    /// At one of our feedback domains, but no such message (never sent, or pruned): `550 5.1.1`.
    UnknownMessage,
    /// Not an address of ours: `550 5.7.1`, the MX relays nothing.
    NotOurs,
}

/// What [`Engine::ingest_feedback`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackOutcome {
    pub message_id: String,
    pub scope: Scope,
    /// `dsn`, `arf`, `auto_reply` or `unrecognized` (for logs).
    pub report: &'static str,
    /// The events appended (none for a DSN of deliveries only).
    pub events: Vec<EventRecord>,
    /// Addresses added to (or refreshed on) the account suppression list.
    pub suppressed: Vec<String>,
}

/// Why a message id is not accepted as a feedback address.
fn unknown(address: &str) -> EngineError {
    EngineError::NotFound(format!(
        "{address}: no message of this instance has this address"
    ))
}

/// One `Bounce` or `Complaint` to record, with the addresses to suppress for it.
struct Pending {
    event_type: &'static str,
    data: serde_json::Value,
    feedback_id: String,
    /// (address, `BOUNCE`/`COMPLAINT`).
    suppress: Vec<(String, &'static str)>,
}

fn random16() -> [u8; 16] {
    let k = sesame_sigv4::secrets::generate_key();
    let mut r = [0u8; 16];
    r.copy_from_slice(&k[..16]);
    r
}

fn domain_of(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
}

/// `complaintFeedbackType`: the IANA values as written (G-47), anything else `other`.
fn feedback_type(arf: &Arf) -> &'static str {
    complaint_feedback_types::ALL
        .into_iter()
        .find(|t| *t == arf.feedback_type)
        .unwrap_or(complaint_feedback_types::OTHER)
}

/// Whether a complaint of this type means the recipient objected (Q-191 "complaints"): a
/// `not-spam` report says the opposite and an `auth-failure` report is about authentication.
fn suppresses(feedback_type: &str) -> bool {
    !matches!(
        feedback_type,
        complaint_feedback_types::NOT_SPAM | complaint_feedback_types::AUTH_FAILURE
    )
}

impl Engine {
    /// The feedback domains of this instance: `<region>.<service_domain>` per region.
    pub fn is_feedback_domain(&self, domain: &str) -> bool {
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        let sd = self.settings.service_domain.to_ascii_lowercase();
        self.settings
            .regions
            .iter()
            .any(|r| d == format!("{}.{sd}", r.as_str()))
    }

    /// The message whose VERP address is exactly `address`, if any, and whether it is still
    /// queued (see `Store::find_message`).
    async fn message_for(
        &self,
        address: &str,
    ) -> Result<Option<(QueuedMessage, bool)>, EngineError> {
        let Some((id, domain)) = verp::parse(address) else {
            return Ok(None);
        };
        let Some((msg, queued)) = self.store.find_message(&id).await? else {
            return Ok(None);
        };
        let sent_from = domain_of(&msg.mail_from);
        let local_matches = msg
            .mail_from
            .rsplit_once('@')
            .is_some_and(|(l, _)| l.eq_ignore_ascii_case(&id));
        let same_domain = sent_from.as_deref() == Some(domain.as_str());
        Ok((local_matches && same_domain).then_some((msg, queued)))
    }

    /// The RCPT decision of the feedback MX (see the module docs). `Err` only when the store
    /// cannot answer (the listener replies 451).
    pub async fn check_feedback_recipient(
        &self,
        address: &str,
    ) -> Result<FeedbackRecipient, EngineError> {
        if let Some((msg, _)) = self.message_for(address).await? {
            return Ok(FeedbackRecipient::Known {
                message_id: msg.message_id,
                scope: msg.scope,
            });
        }
        let ours = domain_of(address).is_some_and(|d| self.is_feedback_domain(&d));
        Ok(if ours {
            FeedbackRecipient::UnknownMessage
        } else {
            FeedbackRecipient::NotOurs
        })
    }

    /// Ingests one report received for the VERP address `rcpt` (see the module docs). Returns
    /// once the events are durable. `NotFound` when `rcpt` is not the VERP address of a known
    /// message (the listener's `550 5.1.1`); `Internal` when the store failed (451, the sender
    /// retries).
    pub async fn ingest_feedback(
        &self,
        rcpt: &str,
        raw: &[u8],
    ) -> Result<FeedbackOutcome, EngineError> {
        let (msg, queued) = self.message_for(rcpt).await?.ok_or_else(|| unknown(rcpt))?;
        let scope = msg.scope.clone();
        let mail: MailInfo = serde_json::from_value(
            msg.meta.get("mail").cloned().unwrap_or_default(),
        )
        .map_err(|e| {
            EngineError::Internal(format!("message {} has no mail meta: {e}", msg.message_id))
        })?;
        // The original recipients: all of them, even those a retry no longer carries.
        let originals: Vec<String> = if mail.destination.is_empty() {
            msg.recipients.clone()
        } else {
            mail.destination.clone()
        };
        let parsed = fb::parse(raw);
        let now = now_ms();
        // A report cannot predate the hand-over it is about: a message that left the queue was
        // handed over before it left (`next_attempt_at` of a logged row, see
        // `Store::find_message`); this also keeps a `Date` truncated to the second from
        // sorting a bounce before its `Delivery`.
        let earliest = if queued {
            msg.created_at
        } else {
            msg.next_attempt_at.max(msg.created_at)
        };
        let at = parsed
            .date_ms
            .unwrap_or(now)
            .clamp(earliest, now.max(earliest));

        let (kind, mut pending) = match &parsed.report {
            Report::Dsn(dsn) => ("dsn", self.dsn_events(&msg, &mail, &originals, dsn, at)),
            Report::Arf(arf) => (
                "arf",
                vec![self.complaint_event(
                    &msg,
                    &mail,
                    &originals,
                    arf,
                    parsed.from.as_deref(),
                    at,
                )],
            ),
            Report::AutoReply => {
                let recipients =
                    attribution::auto_reply_recipients(&originals, parsed.from.as_deref());
                (
                    "auto_reply",
                    vec![self.bounce_event(
                        &msg,
                        &mail,
                        &originals,
                        bounce_types::TRANSIENT_GENERAL,
                        plain(&recipients),
                        None,
                        at,
                    )],
                )
            }
            Report::Unrecognized { reason } => {
                tracing::info!(message_id = %msg.message_id, %reason, "unrecognized feedback recorded as an Undetermined bounce");
                (
                    "unrecognized",
                    vec![self.bounce_event(
                        &msg,
                        &mail,
                        &originals,
                        bounce_types::UNDETERMINED_UNDETERMINED,
                        plain(&originals),
                        None,
                        at,
                    )],
                )
            }
        };

        // G-61: a bounce reported after the hand-off names the MTA the message was handed to,
        // as the earlier Delivery recorded it (stored for identity notifications only, G-60).
        if pending.iter().any(|p| p.event_type == event_types::BOUNCE) {
            let earlier = self.store.message_events(&scope, &msg.message_id).await?;
            let deliveries: Vec<&serde_json::Value> = earlier
                .iter()
                .filter(|e| e.event_type == event_types::DELIVERY)
                .map(|e| &e.data)
                .collect();
            for p in pending
                .iter_mut()
                .filter(|p| p.event_type == event_types::BOUNCE)
            {
                let ip = sesame_events::stored::remote_mta_ip_of_bounce(
                    deliveries.iter().copied(),
                    &p.data,
                );
                if let Some(ip) = ip {
                    sesame_events::stored::set_bounce_remote_mta_ip(&mut p.data, &ip);
                }
            }
        }
        let suppressed = self.suppress_pending(&msg, &pending).await?;
        let events: Vec<EventRecord> = pending
            .into_iter()
            .map(|p| record(&scope, &msg.message_id, p.event_type, at, p.data))
            .collect();
        // Feedback forwarding (Q-162, Q-75: the ISP's report attached unmodified), before the
        // events: a failure answers 451 and the ISP's retry finds the notification queued.
        self.forward_feedback(&msg, &events, &report_occurrence(raw), Some(raw))
            .await?;
        self.store.append_events(&events).await?;
        Ok(FeedbackOutcome {
            message_id: msg.message_id,
            scope,
            report: kind,
            events,
            suppressed,
        })
    }

    /// Adds the pending events' addresses to the account list when their reason is effective
    /// (F-162, Q-188: the configuration set's override, else the account's).
    async fn suppress_pending(
        &self,
        msg: &QueuedMessage,
        pending: &[Pending],
    ) -> Result<Vec<String>, EngineError> {
        if pending.iter().all(|p| p.suppress.is_empty()) {
            return Ok(Vec::new());
        }
        let scope = &msg.scope;
        let account = self.account_settings(scope).await?;
        let set_options = match msg.meta.get("configuration_set").and_then(|v| v.as_str()) {
            Some(name) => self
                .get_configuration_set(scope, name)
                .await?
                .and_then(|s| s.suppression_options),
            None => None,
        };
        let reasons = effective_reasons(&account.suppressed_reasons, set_options.as_ref());
        let mut done = Vec::new();
        for p in pending {
            for (address, why) in &p.suppress {
                if !reasons.iter().any(|r| r == why) || simulator::classify(address, None).is_some()
                {
                    continue;
                }
                let attrs = SuppressionAttributes {
                    message_id: Some(msg.message_id.clone()),
                    feedback_id: Some(p.feedback_id.clone()),
                };
                let rec = self
                    .suppress_from_feedback(scope, address, why, attrs)
                    .await?;
                done.push(rec.email_address);
            }
        }
        Ok(done)
    }

    /// DSN → bounces grouped by (type, subtype) over the message's own recipients.
    fn dsn_events(
        &self,
        msg: &QueuedMessage,
        mail: &MailInfo,
        originals: &[String],
        dsn: &Dsn,
        at: i64,
    ) -> Vec<Pending> {
        let reporting = dsn.reporting_mta.clone();
        if dsn.recipients.is_empty() {
            return vec![self.bounce_event(
                msg,
                mail,
                originals,
                bounce_types::UNDETERMINED_UNDETERMINED,
                plain(originals),
                reporting,
                at,
            )];
        }
        let mut groups: BTreeMap<bounce_types::Kind, Vec<BouncedRecipient>> = BTreeMap::new();
        let mut unmatched: Vec<bounce_types::Kind> = Vec::new();
        for r in &dsn.recipients {
            let Some(kind) = classify::dsn_kind(
                r.effective_action(),
                r.status.as_deref(),
                r.diagnostic_code.as_deref(),
            ) else {
                continue; // a positive DSN (delivered/relayed/expanded)
            };
            // G-43: emailAddress is the DSN's Final-Recipient when it is ours; an alias the
            // receiver expanded to stands for the Original-Recipient we sent to.
            let ours = r
                .final_recipient
                .as_deref()
                .and_then(|f| attribution::matching(originals, f).map(|_| f.to_string()))
                .or_else(|| {
                    r.original_recipient
                        .as_deref()
                        .and_then(|o| attribution::matching(originals, o))
                        .cloned()
                });
            let Some(address) = ours else {
                tracing::debug!(message_id = %msg.message_id, recipient = ?r.final_recipient, "DSN recipient is not a recipient of the message");
                unmatched.push(kind);
                continue;
            };
            let list = groups.entry(kind).or_default();
            if list
                .iter()
                .any(|b| b.email_address.eq_ignore_ascii_case(&address))
            {
                continue;
            }
            list.push(BouncedRecipient {
                email_address: address,
                action: r.effective_action().map(str::to_string),
                status: r.status.clone(),
                diagnostic_code: r.diagnostic_code.clone(),
            });
        }
        if groups.is_empty() && !unmatched.is_empty() {
            // D-127 NoEmail: a failure whose recipient could not be extracted.
            let permanent = unmatched.iter().any(|(t, _)| *t != bounce_types::TRANSIENT);
            let kind = if permanent {
                bounce_types::PERMANENT_NO_EMAIL
            } else {
                bounce_types::TRANSIENT_GENERAL
            };
            let mut p =
                self.bounce_event(msg, mail, originals, kind, plain(originals), reporting, at);
            if !permanent || originals.len() != 1 {
                p.suppress.clear();
            }
            return vec![p];
        }
        groups
            .into_iter()
            .map(|(kind, recipients)| {
                self.bounce_event(
                    msg,
                    mail,
                    originals,
                    kind,
                    recipients,
                    reporting.clone(),
                    at,
                )
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn bounce_event(
        &self,
        msg: &QueuedMessage,
        mail: &MailInfo,
        originals: &[String],
        (bounce_type, sub_type): bounce_types::Kind,
        recipients: Vec<BouncedRecipient>,
        reporting_mta: Option<String>,
        at: i64,
    ) -> Pending {
        let feedback_id =
            sesame_events::feedback_id(&msg.message_id, msg.scope.region.as_str(), random16());
        // The list is keyed by the address as we sent to it (a later send looks it up so),
        // whatever case the DSN used.
        let suppress = if bounce_type == bounce_types::PERMANENT {
            recipients
                .iter()
                .map(|r| {
                    let sent_to = attribution::matching(originals, &r.email_address)
                        .unwrap_or(&r.email_address);
                    (sent_to.clone(), reason::BOUNCE)
                })
                .collect()
        } else {
            Vec::new()
        };
        let info = BounceInfo {
            bounce_type: bounce_type.into(),
            bounce_sub_type: sub_type.into(),
            recipients,
            timestamp_ms: at,
            feedback_id: feedback_id.clone(),
            reporting_mta,
            // Added from the earlier Delivery by `ingest_feedback` when known.
            remote_mta_ip: None,
        };
        Pending {
            event_type: event_types::BOUNCE,
            data: sesame_events::bounce(mail, &info),
            feedback_id,
            suppress,
        }
    }

    fn complaint_event(
        &self,
        msg: &QueuedMessage,
        mail: &MailInfo,
        originals: &[String],
        arf: &Arf,
        report_from: Option<&str>,
        at: i64,
    ) -> Pending {
        let recipients = attribution::complained_recipients(originals, arf, report_from);
        let feedback_id =
            sesame_events::feedback_id(&msg.message_id, msg.scope.region.as_str(), random16());
        let kind = feedback_type(arf);
        let suppress = if suppresses(kind) {
            recipients
                .iter()
                .map(|r| (r.clone(), reason::COMPLAINT))
                .collect()
        } else {
            Vec::new()
        };
        let info = ComplaintInfo {
            recipients,
            timestamp_ms: at,
            feedback_id: feedback_id.clone(),
            complaint_sub_type: None,
            user_agent: arf.user_agent.clone(),
            complaint_feedback_type: Some(kind.to_string()),
            arrival_date_ms: arf.arrival_date_ms,
        };
        Pending {
            event_type: event_types::COMPLAINT,
            data: sesame_events::complaint(mail, &info),
            feedback_id,
            suppress,
        }
    }
}

/// What identifies one received report for `forwarding::notice_id`: its content, so the
/// sender's retry of the same report maps to the same notification.
fn report_occurrence(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(raw);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("report-{hex}")
}

/// Recipients without DSN fields (auto-replies, unreadable reports, NoEmail).
fn plain(addresses: &[String]) -> Vec<BouncedRecipient> {
    addresses
        .iter()
        .map(|a| BouncedRecipient {
            email_address: a.clone(),
            ..BouncedRecipient::default()
        })
        .collect()
}

#[cfg(test)]
mod tests;

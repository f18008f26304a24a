//! Real delivery of a claimed message through a [`Transport`] (the item 3; spec A-64,
//! A-68..A-70, G-3, G-42..G-48, G-53; DECISIONS,
//!
//!
//! One attempt of [`Engine::deliver_smtp`]:
//!
//! 1. The same preamble as capture mode (`Engine::prepare`): simulator and suppression
//!    outcomes. Those recipients never reach the network; their events are the ones
//!    capture mode emits, with `reportingMTA` the service domain (Q-165 "suppression:
//!    `dns; <sd>`").
//! 2. The remaining recipients are grouped by domain (lower-cased): one [`DeliveryJob`] per
//!    domain, all sharing one DKIM-signed body (signed once, Q-96), with the configuration
//!    set's `TlsPolicy` (E-100, Q-111) and its pool's source addresses (`pool`). The jobs run
//!    concurrently.
//! 3. Each recipient's result is classified ([`outcome`](super::outcome)). Per job — one SMTP
//!    transaction, Q-158 — one `Delivery` per reply line, one `Bounce` per
//!    `(bounceType, bounceSubType)` and one `DeliveryDelay` per `delayType`. Events
//!    from a job carry `ses:outgoing-ip` = the job's source address.
//! 4. Deferred recipients stay queued until the next attempt ([`retry`](super::retry));
//!    when that would fall after the retry window, they bounce with their
//!    [`Deferral::expiry`] instead (G-3). Delivered and bounced recipients leave the queue
//!    row: `finish_message` when none remains, else `retry_message` — with all events, in
//!    the same store transaction.
//! 5. After the commit, recipients of `Permanent` bounces are added to the account
//!    suppression list with reason `BOUNCE` when the effective reasons include it.
//!    After, not before: a crash in between loses one entry (the next hard bounce adds it),
//!    while adding first would make a retried attempt bounce with `OnAccountSuppressionList`
//!    for a bounce whose own event was never recorded.
//!
//! 6. Before that commit, bounces are mailed to the feedback address when forwarding applies
//!    ([`crate::forwarding`], Q-162). Queue rows of the service's own mail (`meta.system`) are
//!    delivered by `deliver::system` instead of all of the above.
//!
//! `GetSendStatistics` needs nothing more from here: delivery attempts are counted once per
//! recipient at acceptance, and the store counts `Permanent` bounces from the events
//! it appends; retries, delays and transient bounces count nothing.

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::future::join_all;
use sesame_events::{event_types, BounceInfo, BouncedRecipient, DelayInfo, DeliveryInfo, MailInfo};
use sesame_model::{
    DeliveryJob, EventRecord, JobReport, QueuedMessage, Scope, TlsPolicy, Transport,
};

use super::classify::Outcome;
use super::outcome::{self, Failure, Verdict};
use super::prefetch::Prefetched;
use super::retry::{Next, Schedule};
use super::{random16, Prepared};
use crate::configuration_sets::ConfigurationSetRecord;
use crate::dedicated_ips::{seed_of, ManagedRoute, SourceChoice};
use crate::send::events::record;
use crate::suppression::{reason, SuppressionAttributes};
use crate::{now_ms, Engine, EngineError};

/// `DeliveryOptions.TlsPolicy` of the message's configuration set (E-100, Q-111): `REQUIRE`,
/// else `OPTIONAL` (also without a set).
pub fn tls_policy(set: Option<&ConfigurationSetRecord>) -> TlsPolicy {
    match delivery_option(set, "TlsPolicy").and_then(|v| v.as_str()) {
        Some("REQUIRE") => TlsPolicy::Require,
        _ => TlsPolicy::Optional,
    }
}

/// `DeliveryOptions.MaxDeliverySeconds` of the message's configuration set (E-97, Q-110).
pub fn max_delivery_seconds(set: Option<&ConfigurationSetRecord>) -> Option<i64> {
    delivery_option(set, "MaxDeliverySeconds").and_then(|v| v.as_i64())
}

fn delivery_option<'a>(
    set: Option<&'a ConfigurationSetRecord>,
    key: &str,
) -> Option<&'a serde_json::Value> {
    set?.delivery_options.as_ref()?.get(key)
}

/// The domain part of an envelope address, lower-cased (domains are case-insensitive,
/// RFC 5321 §2.4); the whole address when it has no `@` (the transport then fails it).
fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or(address, |(_, d)| d)
        .to_ascii_lowercase()
}

/// Recipients grouped by [`domain_of`], groups and members in first-seen order.
pub fn group_by_domain(recipients: &[String]) -> Vec<(String, Vec<String>)> {
    group(recipients.iter().map(|r| (domain_of(r), r.clone())))
}

/// Groups values by key, keeping first-seen order (keys are few: a linear scan is fine).
fn group<K: PartialEq, V>(items: impl IntoIterator<Item = (K, V)>) -> Vec<(K, Vec<V>)> {
    let mut out: Vec<(K, Vec<V>)> = Vec::new();
    for (k, v) in items {
        match out.iter_mut().find(|(x, _)| *x == k) {
            Some((_, vs)) => vs.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

/// One finished job: its report and each recipient's verdict, in the job's order.
struct JobResult {
    report: JobReport,
    verdicts: Vec<(String, Verdict)>,
}

/// What one attempt decided, besides its events.
#[derive(Default)]
struct Decided {
    events: Vec<EventRecord>,
    /// Recipients that stay queued.
    remaining: Vec<String>,
    /// `(address, feedbackId)` of `Permanent` bounces from the network (Q-191 candidates).
    permanent: Vec<(String, String)>,
}

impl Engine {
    /// Delivers one claimed message over SMTP through `transport` and records the outcome
    /// (see the module docs). On `Err` nothing was recorded: the lease expires and the message
    /// is claimed again (at-least-once).
    pub async fn deliver_smtp(
        &self,
        node: &str,
        msg: QueuedMessage,
        transport: &dyn Transport,
    ) -> Result<(), EngineError> {
        self.deliver_smtp_with(node, msg, Default::default(), transport)
            .await
    }

    /// [`Self::deliver_smtp`] with what was read for its batch ([`Engine::prefetch`]).
    pub async fn deliver_smtp_with(
        &self,
        node: &str,
        msg: QueuedMessage,
        mut pre: Prefetched,
        transport: &dyn Transport,
    ) -> Result<(), EngineError> {
        if crate::forwarding::system_kind(&msg).is_some() {
            return self
                .deliver_system_smtp(node, msg, pre.body, transport)
                .await;
        }
        if super::infected(&msg).is_some() {
            return self.reject_infected(node, &msg).await;
        }
        let Prepared {
            meta,
            set,
            reasons,
            outcomes,
        } = self.prepare(&msg, &pre).await?;
        let scope = &msg.scope;

        let to_send: Vec<String> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Deliver)
            .map(|(r, _)| r.clone())
            .collect();
        let mut jobs = Vec::new();
        // Recipients every allowed source address of which is at its warm-up cap for today:
        // not attempted, kept queued until the caps reset (no event: nothing was tried).
        let mut warmup_deferred: Vec<String> = Vec::new();
        let mut warmup_until: Option<i64> = None;
        if !to_send.is_empty() {
            let Some(body) = self.load_body(&msg, pre.body.take()).await? else {
                return self.missing_body(node, &msg).await;
            };
            let body = Arc::new(
                self.sign_for_delivery(scope, &meta, set.as_ref(), body, now_ms())
                    .await?,
            );
            let tls = tls_policy(set.as_ref());
            let set_name = set.as_ref().map(|s| s.name.as_str());
            let seed = seed_of(&msg.message_id);
            let mut planned: Vec<DeliveryJob> = Vec::new();
            // The managed-pool route of each planned job (F-37..F-48), to report its outcome.
            let mut routes: Vec<Option<ManagedRoute>> = Vec::new();
            for (domain, recipients) in group_by_domain(&to_send) {
                // Spec F / E-98: the pool's address whose warm-up allowance has room (charged
                // now); a managed pool's per-ISP allowance, spillover or deferral (SH-4).
                let pick = self
                    .choose_source_ip(
                        scope,
                        set_name,
                        &domain,
                        recipients.len() as u64,
                        seed,
                        now_ms(),
                    )
                    .await?;
                let source_ips = match pick.choice {
                    SourceChoice::Ip(ip) => vec![ip],
                    SourceChoice::Any => vec![],
                    SourceChoice::Defer { until_ms } => {
                        warmup_deferred.extend(recipients);
                        warmup_until =
                            Some(warmup_until.map_or(until_ms, |u: i64| u.min(until_ms)));
                        continue;
                    }
                };
                routes.push(pick.managed);
                planned.push(DeliveryJob {
                    message_id: msg.message_id.clone(),
                    domain,
                    mail_from: msg.mail_from.clone(),
                    recipients,
                    body: body.clone(),
                    tls,
                    source_ips,
                });
            }
            let reports = join_all(planned.iter().cloned().map(|j| transport.deliver(j))).await;
            // SH-4: what the ISP answered adapts the managed (IP, ISP) allowance. A failure to
            // count it must not fail the attempt (the mail has left).
            for (route, report) in routes.iter().zip(&reports) {
                if let Some(route) = route {
                    if let Err(e) = self
                        .record_managed_outcome(scope, route, report, now_ms())
                        .await
                    {
                        tracing::warn!(message_id = %msg.message_id, pool = %route.pool, error = %e, "could not record a managed pool outcome");
                    }
                }
            }
            for (job, report) in planned.into_iter().zip(reports) {
                let verdicts = job
                    .recipients
                    .into_iter()
                    .map(|r| {
                        let v = report
                            .results
                            .iter()
                            .find(|(x, _)| *x == r)
                            .map_or_else(outcome::missing_result, |(_, res)| {
                                outcome::classify(res)
                            });
                        (r, v)
                    })
                    .collect();
                jobs.push(JobResult { report, verdicts });
            }
        }
        self.answer_out_of_office(scope, &meta, &outcomes).await?;

        let now = now_ms();
        let schedule = Schedule::new(
            msg.created_at,
            self.settings.delivery_retry_base_seconds,
            self.settings.delivery_retry_window_seconds,
            max_delivery_seconds(set.as_ref()),
        );
        let next = schedule.next(now, msg.attempts);
        let offline: Vec<(String, Outcome)> = outcomes
            .into_iter()
            .filter(|(_, o)| *o != Outcome::Deliver)
            .collect();
        let mut decided = Decided {
            events: self.synthesized_events(
                scope,
                &msg,
                &meta.mail,
                &offline,
                &self.settings.service_domain,
                now,
            ),
            ..Decided::default()
        };
        for job in &jobs {
            self.job_events(
                scope,
                &msg,
                &meta.mail,
                job,
                &schedule,
                next,
                now,
                &mut decided,
            );
        }

        // Feedback forwarding, before the events are committed.
        self.forward_attempt_feedback(&msg, &decided.events).await;

        let id = &msg.message_id;
        let next = match (warmup_until, next) {
            (None, next) => next,
            (Some(until), Next::RetryAt(at)) if !decided.remaining.is_empty() => {
                decided.remaining.append(&mut warmup_deferred);
                Next::RetryAt(at.min(until))
            }
            (Some(until), _) => {
                decided.remaining.append(&mut warmup_deferred);
                Next::RetryAt(until)
            }
        };
        match next {
            Next::RetryAt(at) if !decided.remaining.is_empty() => {
                self.store
                    .retry_message(node, id, &decided.remaining, at, &decided.events)
                    .await?;
                tracing::info!(message_id = %id, deferred = decided.remaining.len(), next_attempt_at = at, "delivery deferred");
            }
            _ => {
                debug_assert!(decided.remaining.is_empty());
                self.store.finish_message(node, id, &decided.events).await?;
                self.drop_body(id).await;
                tracing::debug!(message_id = %id, "delivery finished");
            }
        }

        // hard bounces feed the account list when BOUNCE is an effective reason.
        if reasons.iter().any(|r| r == reason::BOUNCE) {
            for (address, feedback_id) in decided.permanent {
                let attributes = SuppressionAttributes {
                    message_id: Some(id.clone()),
                    feedback_id: Some(feedback_id),
                };
                if let Err(e) = self
                    .suppress_from_feedback(scope, &address, reason::BOUNCE, attributes)
                    .await
                {
                    tracing::error!(message_id = %id, error = %e, "could not add a hard-bounced address to the suppression list");
                }
            }
        }
        Ok(())
    }

    /// The events of one job (see the module docs) and its effect on the queue row.
    #[allow(clippy::too_many_arguments)]
    fn job_events(
        &self,
        scope: &Scope,
        msg: &QueuedMessage,
        mail: &MailInfo,
        job: &JobResult,
        schedule: &Schedule,
        next: Next,
        now: i64,
        out: &mut Decided,
    ) {
        let report = &job.report;
        // the address the job left from, on Delivery and every later record.
        let mail = MailInfo {
            outgoing_ip: report.local_ip.map(|ip| ip.to_string()),
            ..mail.clone()
        };
        let host = if report.helo.is_empty() {
            self.settings.service_domain.as_str()
        } else {
            report.helo.as_str()
        };
        let remote_ip = report.remote_ip.map(|ip: IpAddr| ip.to_string());
        let ev = |event_type: &str, data| record(scope, &msg.message_id, event_type, now, data);

        let mut delivered = Vec::new();
        let mut failed = Vec::new();
        let mut delayed = Vec::new();
        for (r, v) in &job.verdicts {
            match v {
                Verdict::Delivered { smtp_response } => {
                    delivered.push((smtp_response.clone(), r.clone()))
                }
                Verdict::Bounced(f) => failed.push((f.kind, (r.clone(), f.clone()))),
                Verdict::Deferred(d) => match next {
                    Next::RetryAt(_) => {
                        out.remaining.push(r.clone());
                        delayed.push((
                            d.delay_type,
                            (r.clone(), d.status.clone(), d.diagnostic.clone()),
                        ));
                    }
                    // G-3, Q-110: the window is over; the last failure decides the bounce.
                    Next::GiveUp => failed.push((d.expiry.kind, (r.clone(), d.expiry.clone()))),
                },
            }
        }

        // G-48, Q-158: the recipients one transaction delivered, per reply.
        for (smtp_response, recipients) in group(delivered) {
            let d = DeliveryInfo {
                timestamp_ms: now,
                processing_time_ms: (now - msg.created_at).max(0),
                recipients,
                smtp_response,
                reporting_mta: host.to_string(),
                remote_mta_ip: remote_ip.clone(),
            };
            // Stored with `remoteMtaIp` for the identity notification; event destinations
            // get the record without it (`sesame_events::stored`, G-60, Q-157).
            out.events.push(ev(
                event_types::DELIVERY,
                sesame_events::stored::delivery(&mail, &d),
            ));
        }
        // G-42, G-43: one bounce per (type, subtype); our own DSN fields (Q-165 `dns;`).
        for ((bounce_type, sub_type), failures) in group(failed) {
            let feedback_id =
                sesame_events::feedback_id(&msg.message_id, scope.region.as_str(), random16());
            let recipients = failures
                .iter()
                .map(|(r, f): &(String, Failure)| BouncedRecipient {
                    email_address: r.clone(),
                    action: Some("failed".into()),
                    status: Some(f.status.clone()),
                    diagnostic_code: Some(f.diagnostic.clone()),
                })
                .collect();
            for (r, f) in &failures {
                if f.is_permanent() {
                    out.permanent.push((r.clone(), feedback_id.clone()));
                }
            }
            let b = BounceInfo {
                bounce_type: bounce_type.into(),
                bounce_sub_type: sub_type.into(),
                recipients,
                timestamp_ms: now,
                feedback_id,
                reporting_mta: Some(format!("dns; {host}")),
                remote_mta_ip: remote_ip.clone(),
            };
            out.events.push(ev(
                event_types::BOUNCE,
                sesame_events::stored::bounce(&mail, &b),
            ));
        }
        // G-53, Q-149: one delay per delayType; `reportingMTA` is written like the DSN
        // `Reporting-MTA` of our bounces (the MTA reporting the delay is ours).
        for (delay_type, recipients) in group(delayed) {
            let d = DelayInfo {
                delay_type: delay_type.into(),
                recipients,
                timestamp_ms: now,
                expiration_time_ms: schedule.window_end_ms,
                reporting_mta: Some(format!("dns; {host}")),
            };
            out.events.push(ev(
                event_types::DELIVERY_DELAY,
                sesame_events::delivery_delay(&mail, &d),
            ));
        }
    }
}

#[cfg(test)]
mod tests;

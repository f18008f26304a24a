//! DNS verification of identities (spec D-20..D-27, D-39, D-41, D-97..D-99; DECISIONS Q-66,
//! Q-80..Q-85, Q-98..Q-100).
//!
//! Three things can be checked for an identity, each a *component* with its own status:
//! - `DKIM` (domains): Easy DKIM's three CNAMEs `<token>._domainkey.<domain>` →
//!   `<token>.dkim.<service_domain>`, or BYODKIM's TXT at `<selector>._domainkey.<domain>` whose
//!   `p=` is the stored public key. A v2 domain's identity status follows it (D-42).
//! - `DOMAIN` (domains created by v1 `VerifyDomainIdentity`): the TXT token at
//!   `_amazonses.<domain>` (or the bare domain, Q-66).
//! - `MAIL_FROM` (any identity with a custom MAIL FROM): exactly one MX at the MAIL FROM domain
//!   whose exchange is `feedback-smtp.<region>.<service_domain>`.
//!
//! Every component follows the same state machine ([`transition`]): `PENDING` → `SUCCESS` when
//! found, → `FAILED` when not found within the window (72 h); `SUCCESS` → `TEMPORARY_FAILURE`
//! when a re-check finds the record gone (a DNS server error proves nothing and changes
//! nothing); `TEMPORARY_FAILURE` → `SUCCESS` when found again, → `FAILED` at the end of its own
//! window. `FAILED` is terminal until the user restarts (D-40, Q-83). [`Timings::next_check`]
//! is the Q-81 cadence. Everything here is pure: time comes in as `now` (unix ms), DNS through
//! the `DnsLookup` port ([`checks`]); [`run`] applies results to the stored identity.

pub mod checks;
pub mod run;

use serde::{Deserialize, Serialize};

use crate::records::{status, IdentityRecord};
use checks::{CheckResult, LookupRecord};

/// How many checks the audit keeps per identity (item 6 of issue 5).
pub const AUDIT_KEEP: usize = 20;
/// Lease on a claimed identity: long enough for a slow check (several lookups, each with its
/// timeout), short enough that a dead node's claims come back soon.
pub const LEASE_MS: i64 = 120_000;

/// The verification cadence. All configurable; tests use seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timings {
    /// How long `PENDING` and `TEMPORARY_FAILURE` keep looking before `FAILED` (D-25: 72 h).
    pub window_ms: i64,
    /// Interval in the first 1/72 of the window of `PENDING` (5 min of the first hour); it is
    /// six times longer (30 min) until 1/3 of the window (24 h), then `retry_interval_ms`.
    pub pending_interval_ms: i64,
    /// Interval in `TEMPORARY_FAILURE`, late `PENDING`, and after a DNS server error (1 h).
    pub retry_interval_ms: i64,
    /// Interval between re-checks of a `SUCCESS` component (24 h), plus up to 10 % jitter.
    pub success_interval_ms: i64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            window_ms: 72 * 3600 * 1000,
            pending_interval_ms: 5 * 60 * 1000,
            retry_interval_ms: 3600 * 1000,
            success_interval_ms: 24 * 3600 * 1000,
        }
    }
}

impl Timings {
    /// When a component in `status` (its window started at `window_start`) is next checked
    /// after a check at `now`; `None` when it is no longer checked (`FAILED`, `NOT_STARTED`).
    /// `seed` spreads `SUCCESS` re-checks (e.g. a hash of the identity name).
    pub fn next_check(
        &self,
        status: &str,
        window_start: Option<i64>,
        now: i64,
        seed: u64,
    ) -> Option<i64> {
        let start = window_start.unwrap_or(now);
        let end = start.saturating_add(self.window_ms);
        match status {
            status::PENDING => {
                let elapsed = now - start;
                let every = if elapsed < self.window_ms / 72 {
                    self.pending_interval_ms
                } else if elapsed < self.window_ms / 3 {
                    (self.pending_interval_ms * 6).min(self.retry_interval_ms)
                } else {
                    self.retry_interval_ms
                };
                Some(now.saturating_add(every.max(1)).min(end))
            }
            status::TEMPORARY_FAILURE => {
                Some(now.saturating_add(self.retry_interval_ms.max(1)).min(end))
            }
            status::SUCCESS => {
                let span = (self.success_interval_ms / 10).max(1) as u64;
                let jitter = (seed % span) as i64;
                Some(now.saturating_add(self.success_interval_ms.max(1) + jitter))
            }
            _ => None,
        }
    }
}

/// What one check concluded about one component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "result",
    content = "error_type",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum Outcome {
    /// Every required record is there with the exact value.
    Found,
    /// The DNS positively says a required record is absent or wrong: the v2 `ErrorType`
    /// (`HOST_NOT_FOUND`, `TYPE_NOT_FOUND`, `INVALID_VALUE`).
    Missing(String),
    /// Nothing could be concluded (SERVFAIL, timeout: `DNS_SERVER_ERROR`).
    Inconclusive(String),
}

impl Outcome {
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Outcome::Found => None,
            Outcome::Missing(e) | Outcome::Inconclusive(e) => Some(e),
        }
    }
}

/// Result of [`transition`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub status: &'static str,
    /// Start of the current `PENDING`/`TEMPORARY_FAILURE` window; `None` otherwise.
    pub window_start: Option<i64>,
}

fn canonical(s: &str) -> &'static str {
    match s {
        status::PENDING => status::PENDING,
        status::SUCCESS => status::SUCCESS,
        status::FAILED => status::FAILED,
        status::TEMPORARY_FAILURE => status::TEMPORARY_FAILURE,
        _ => status::NOT_STARTED,
    }
}

/// The state machine of D-39/D-99: the status after a check at `now` that concluded
/// `outcome`, for a component in `current` whose window started at `window_start`.
pub fn transition(
    current: &str,
    window_start: Option<i64>,
    outcome: &Outcome,
    now: i64,
    t: &Timings,
) -> Transition {
    let start = window_start.unwrap_or(now);
    let expired = now.saturating_sub(start) >= t.window_ms;
    let stay = |s: &'static str| Transition {
        status: s,
        window_start: Some(start),
    };
    match (canonical(current), outcome) {
        (status::PENDING | status::TEMPORARY_FAILURE | status::SUCCESS, Outcome::Found) => {
            Transition {
                status: status::SUCCESS,
                window_start: None,
            }
        }
        (status::SUCCESS, Outcome::Missing(_)) => Transition {
            status: status::TEMPORARY_FAILURE,
            window_start: Some(now),
        },
        // A server error proves nothing: a verified component stays verified (re-checked
        // sooner, see `run`).
        (status::SUCCESS, Outcome::Inconclusive(_)) => Transition {
            status: status::SUCCESS,
            window_start: None,
        },
        (s @ (status::PENDING | status::TEMPORARY_FAILURE), _) => {
            if expired {
                Transition {
                    status: status::FAILED,
                    window_start: None,
                }
            } else {
                stay(s)
            }
        }
        (s, _) => Transition {
            status: s,
            window_start: None,
        },
    }
}

/// Whether a component in `status` is still checked on a schedule.
pub fn is_active(status: &str) -> bool {
    matches!(
        status,
        status::PENDING | status::SUCCESS | status::TEMPORARY_FAILURE
    )
}

/// What the verification engine remembers about one component between checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// What was checked (tokens, selector and key, TXT token, MAIL FROM domain). When the
    /// identity's settings no longer match, the user restarted the setup: a new window begins.
    #[serde(default)]
    pub subject: String,
    /// The status this engine last left the component in. A different stored status means
    /// someone else (API restart, operator override) changed it: a new window begins.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub window_start: Option<i64>,
    #[serde(default)]
    pub last_checked: Option<i64>,
    #[serde(default)]
    pub last_success: Option<i64>,
    /// v2 `VerificationError` of the last check that did not find the records.
    #[serde(default)]
    pub error_type: Option<String>,
}

impl Track {
    /// Aligns the track with the component's current `subject` and `status` before a check.
    fn sync(&mut self, subject: &str, current: &str, now: i64) {
        if self.subject != subject {
            *self = Track {
                subject: subject.to_string(),
                ..Track::default()
            };
        }
        if self.status != current {
            self.status = current.to_string();
            self.window_start =
                matches!(current, status::PENDING | status::TEMPORARY_FAILURE).then_some(now);
        }
    }
}

/// v2 `SOARecord` of the identity's zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Soa {
    pub primary_name_server: String,
    pub admin_email: String,
    pub serial_number: u32,
}

/// Stored in the identity record (`IdentityRecord::verification`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationState {
    /// The v1 `_amazonses` TXT token.
    #[serde(default)]
    pub domain: Track,
    #[serde(default)]
    pub dkim: Track,
    #[serde(default)]
    pub mail_from: Track,
    #[serde(default)]
    pub soa: Option<Soa>,
    /// Set by the operator override (`sesame identity verify --force`): scheduled checks leave
    /// the statuses alone until the identity's settings or statuses are changed by anything
    /// else (see [`after_external_write`]).
    #[serde(default)]
    pub forced: bool,
}

/// What decides whether an identity must be (re)checked.
pub(crate) fn fingerprint(r: &IdentityRecord) -> (Plan, String, Option<String>, Option<String>) {
    (
        Plan::of(r),
        r.verification_status.clone(),
        r.dkim.as_ref().map(|d| d.status.clone()),
        r.mail_from.as_ref().map(|m| m.status.clone()),
    )
}

/// Called on every API/operator write of an identity before it is stored: a change of what is
/// checked, or of a status, that leaves a component unverified (a new DKIM key, a new MAIL FROM
/// domain, a restart) ends the operator override; the override itself sets every status to
/// `SUCCESS`.
pub(crate) fn after_external_write(before: &IdentityRecord, after: &mut IdentityRecord) {
    let all_verified = after.verification_status == status::SUCCESS
        && after
            .dkim
            .as_ref()
            .is_none_or(|d| d.keys.is_empty() || d.status == status::SUCCESS)
        && after
            .mail_from
            .as_ref()
            .is_none_or(|m| m.status == status::SUCCESS);
    if after.verification.forced && fingerprint(before) != fingerprint(after) && !all_verified {
        after.verification.forced = false;
    }
}

impl VerificationState {
    /// The track behind v2 `VerificationInfo`: the legacy TXT token for a v1-verified domain
    /// that has been checked, DKIM for other domains; `None` for addresses (verified by email).
    pub fn info_track<'a>(&'a self, rec: &IdentityRecord) -> Option<&'a Track> {
        if rec.identity_type != "DOMAIN" {
            return None;
        }
        let t = if rec.legacy_txt_verification && self.domain.last_checked.is_some() {
            &self.domain
        } else {
            &self.dkim
        };
        t.last_checked.is_some().then_some(t)
    }
}

/// The DKIM records to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DkimPlan {
    /// Easy DKIM: one CNAME per token.
    Easy { tokens: Vec<String> },
    /// BYODKIM: one TXT whose `p=` is `public_key`.
    External {
        selector: String,
        public_key: String,
    },
}

/// What there is to check for an identity, whatever the components' statuses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The `_amazonses` token (v1 `VerifyDomainIdentity` domains).
    pub domain_txt: Option<String>,
    pub dkim: Option<DkimPlan>,
    /// The custom MAIL FROM domain.
    pub mail_from: Option<String>,
}

impl Plan {
    pub fn of(rec: &IdentityRecord) -> Plan {
        let domain = rec.identity_type == "DOMAIN";
        Plan {
            domain_txt: (domain && rec.legacy_txt_verification)
                .then(|| rec.verification_token.clone())
                .flatten(),
            dkim: rec
                .dkim
                .as_ref()
                .filter(|d| domain && !d.keys.is_empty())
                .map(|d| {
                    if d.origin == "EXTERNAL" {
                        DkimPlan::External {
                            selector: d.keys[0].selector.clone(),
                            public_key: d.keys[0].public_key.clone(),
                        }
                    } else {
                        DkimPlan::Easy {
                            tokens: d.keys.iter().map(|k| k.selector.clone()).collect(),
                        }
                    }
                }),
            mail_from: rec.mail_from.as_ref().map(|m| m.domain.clone()),
        }
    }

    /// Whether any component is still checked on a schedule.
    pub fn active(&self, rec: &IdentityRecord) -> bool {
        !rec.verification.forced
            && ((self.domain_txt.is_some() && is_active(&rec.verification_status))
                || (self.dkim.is_some() && rec.dkim.as_ref().is_some_and(|d| is_active(&d.status)))
                || rec.mail_from.as_ref().is_some_and(|m| is_active(&m.status)))
    }

    fn dkim_subject(&self) -> String {
        match &self.dkim {
            Some(DkimPlan::Easy { tokens }) => format!("easy:{}", tokens.join(",")),
            Some(DkimPlan::External {
                selector,
                public_key,
            }) => format!("external:{selector}:{public_key}"),
            None => String::new(),
        }
    }
}

/// Everything one check looked up, per component (`None`: not checked).
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub domain: Option<CheckResult>,
    pub dkim: Option<CheckResult>,
    pub mail_from: Option<CheckResult>,
    pub soa: Option<Soa>,
}

/// A component's status change made by a check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// `DKIM`, `DOMAIN` or `MAIL_FROM`.
    pub component: String,
    pub from: String,
    pub to: String,
    /// End of the new window (`TEMPORARY_FAILURE`), unix ms: the deadline to fix DNS.
    #[serde(default)]
    pub deadline: Option<i64>,
}

/// Result of [`apply`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub changes: Vec<StatusChange>,
    /// Next scheduled check; `None` when nothing is left to check.
    pub next_due: Option<i64>,
}

fn seed_of(name: &str) -> u64 {
    // FNV-1a: stable across versions and nodes.
    name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Applies one check's observations to `rec` at `now`: statuses, tracks, `SOARecord`, and a
/// v2 domain's identity status following DKIM (D-42). Pure.
pub fn apply(rec: &mut IdentityRecord, obs: &Observed, now: i64, t: &Timings) -> Applied {
    if rec.verification.forced {
        // Operator override: nothing the DNS says changes the statuses.
        return Applied::default();
    }
    let plan = Plan::of(rec);
    let seed = seed_of(&rec.identity);
    let mut out = Applied::default();
    let mut next: Vec<i64> = Vec::new();
    let mut step = |component: &str,
                    subject: String,
                    current: &mut String,
                    track: &mut Track,
                    result: Option<&CheckResult>,
                    verified_otherwise: bool| {
        track.sync(&subject, current, now);
        let Some(result) = result else {
            return;
        };
        track.last_checked = Some(now);
        track.error_type = result.outcome.error_type().map(str::to_string);
        if result.outcome == Outcome::Found {
            track.last_success = Some(now);
        }
        // a v1 domain is also verified while its DKIM is.
        let outcome = if verified_otherwise {
            &Outcome::Found
        } else {
            &result.outcome
        };
        let tr = transition(current, track.window_start, outcome, now, t);
        if tr.status != current.as_str() {
            out.changes.push(StatusChange {
                component: component.to_string(),
                from: current.clone(),
                to: tr.status.to_string(),
                deadline: (tr.status == status::TEMPORARY_FAILURE)
                    .then(|| tr.window_start.unwrap_or(now) + t.window_ms),
            });
        }
        *current = tr.status.to_string();
        track.status = tr.status.to_string();
        track.window_start = tr.window_start;
        let due = match (outcome, tr.status) {
            // A server error on a verified component: look again soon, not in a day.
            (Outcome::Inconclusive(_), status::SUCCESS) => Some(now + t.retry_interval_ms.max(1)),
            _ => t.next_check(tr.status, tr.window_start, now, seed),
        };
        next.extend(due);
    };
    let VerificationState {
        domain,
        dkim,
        mail_from,
        soa,
        forced: _,
    } = &mut rec.verification;
    if plan.dkim.is_some() {
        if let Some(d) = rec.dkim.as_mut() {
            step(
                "DKIM",
                plan.dkim_subject(),
                &mut d.status,
                dkim,
                obs.dkim.as_ref(),
                false,
            );
            if plan.domain_txt.is_none() {
                // D-42: a (v2) domain's identity status follows DKIM.
                rec.verification_status = d.status.clone();
            }
        }
    }
    let dkim_verified = plan.dkim.is_some()
        && rec
            .dkim
            .as_ref()
            .is_some_and(|d| d.status == status::SUCCESS);
    if let Some(token) = &plan.domain_txt {
        step(
            "DOMAIN",
            format!("txt:{token}"),
            &mut rec.verification_status,
            domain,
            obs.domain.as_ref(),
            dkim_verified,
        );
    }
    if let (Some(domain), Some(m)) = (&plan.mail_from, rec.mail_from.as_mut()) {
        step(
            "MAIL_FROM",
            format!("mx:{domain}"),
            &mut m.status,
            mail_from,
            obs.mail_from.as_ref(),
            false,
        );
    }
    if obs.soa.is_some() {
        *soa = obs.soa.clone();
    }
    out.next_due = next.into_iter().min();
    out
}

/// One entry of the verification audit: what one check looked up and what it decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix ms.
    pub checked_at: i64,
    /// `schedule` (the server's loop) or `cli` (`sesame identity check`).
    pub trigger: String,
    /// Node that ran the check.
    pub node: String,
    pub lookups: Vec<LookupRecord>,
    /// Statuses after the check, per component (`DOMAIN`, `DKIM`, `MAIL_FROM`).
    pub statuses: std::collections::BTreeMap<String, String>,
    pub changes: Vec<StatusChange>,
}

/// The audit document of one identity (kind `verification-audit`): newest check last, at most
/// [`AUDIT_KEEP`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLog {
    pub checks: Vec<AuditEntry>,
}

/// A notice to the account's contact, stored durably (kind `account-notice`)
/// and mailed by the account-notice mailer ([`crate::notices`]), which sets the mailing
/// fields below; the stored notice stays as the account's record of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountNotice {
    pub created_at: i64,
    pub identity: String,
    /// `MAIL_FROM_STATUS_CHANGED`, `DKIM_REVOCATION_WARNING`, `DKIM_REVOKED`,
    /// `NOTIFICATION_TOPIC_REMOVED`, `REPUTATION_*`, `SENDING_PAUSED`,
    /// `CONFIGURATION_SET_SENDING_PAUSED`.
    pub notice_type: String,
    pub subject: String,
    pub body: String,
    pub change: StatusChange,
    /// When the notice email entered Sesame's queue (unix ms); `None` while not mailed.
    #[serde(default)]
    pub delivered_at: Option<i64>,
    /// The notice email's message id (queue, dev inbox, `sesame queue show`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Whom it was mailed to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mailed_to: Vec<String>,
    /// The node mailing it right now, so two nodes never mail one notice at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<crate::notices::NoticeClaim>,
}

/// An instant (milliseconds since the epoch) as RFC 3339 in UTC, for notice texts and the CLI;
/// the number itself when it is out of range.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// The notices the seed requires for `changes` (D-41, D-99; ): every MAIL FROM
/// status change; DKIM records gone (warning with the deadline); DKIM revoked at `FAILED` after
/// `TEMPORARY_FAILURE`.
pub fn notices(rec: &IdentityRecord, changes: &[StatusChange], now: i64) -> Vec<AccountNotice> {
    let mut out = Vec::new();
    for c in changes {
        let (kind, subject, body) = match (c.component.as_str(), c.to.as_str()) {
            ("MAIL_FROM", to) => {
                let domain = rec
                    .mail_from
                    .as_ref()
                    .map(|m| m.domain.as_str())
                    .unwrap_or_default();
                let body = match to {
                    status::SUCCESS => format!(
                        "The custom MAIL FROM domain {domain} of identity {} is set up successfully: mail from it now uses {domain} as envelope sender.",
                        rec.identity
                    ),
                    status::TEMPORARY_FAILURE => format!(
                        "The MX record of the custom MAIL FROM domain {domain} of identity {} is no longer found. Until it is published again, mail falls back to the default MAIL FROM domain or is rejected, as BehaviorOnMxFailure says. If it is not found by {}, the custom MAIL FROM setup fails.",
                        rec.identity,
                        c.deadline.map(rfc3339).unwrap_or_default()
                    ),
                    status::FAILED => format!(
                        "The custom MAIL FROM domain {domain} of identity {} could not be verified: its MX record was not found in time. Set it up again to retry.",
                        rec.identity
                    ),
                    other => format!(
                        "The custom MAIL FROM domain {domain} of identity {} is now {other}.",
                        rec.identity
                    ),
                };
                (
                    "MAIL_FROM_STATUS_CHANGED",
                    format!(
                        "Custom MAIL FROM domain {domain}: status {} → {}",
                        c.from, c.to
                    ),
                    body,
                )
            }
            ("DKIM", status::TEMPORARY_FAILURE) => (
                "DKIM_REVOCATION_WARNING",
                format!("DKIM setup of {} will be revoked", rec.identity),
                format!(
                    "The DKIM records of {} are no longer found in DNS. Publish them again before {} or the DKIM setup is revoked: signing stops and DKIM must be set up again.",
                    rec.identity,
                    c.deadline.map(rfc3339).unwrap_or_default()
                ),
            ),
            ("DKIM", status::FAILED) if c.from == status::TEMPORARY_FAILURE => (
                "DKIM_REVOKED",
                format!("DKIM setup of {} has been revoked", rec.identity),
                format!(
                    "The DKIM records of {} were not found again in time. DKIM signing for it has stopped; set up DKIM again to restart.",
                    rec.identity
                ),
            ),
            _ => continue,
        };
        out.push(AccountNotice {
            created_at: now,
            identity: rec.identity.clone(),
            notice_type: kind.to_string(),
            subject,
            body,
            change: c.clone(),
            ..Default::default()
        });
    }
    out
}

#[cfg(test)]
mod tests;

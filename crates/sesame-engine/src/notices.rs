//! The account-notice mailer (DECISIONS; spec D-41, D-99, D-121,
//! H-158): every stored account notice (kind `account-notice`, [`AccountNotice`]: MAIL FROM
//! status changes, DKIM revocation warnings, `NOTIFICATION_TOPIC_REMOVED`, reputation reviews
//! and pauses) is mailed to the account's contact addresses.
//!
//! **Who gets it** ([`recipients`]): the `AdditionalContactEmailAddresses` the account set with
//! v2 `PutAccountDetails` in the notice's region (Sesame accounts have no other contact
//! address, Q-100); when there are none, the operator's fallback addresses
//! (`notices_fallback_address`). With neither, the notice stays stored, unmailed, and the
//! server says why once (`sesame account notices` shows it too); it is mailed as soon as an
//! address exists.
//!
//! **How it goes out.** As a system message through Sesame's own durable queue
//! ([`Engine::enqueue_system_message`], as forwarded feedback and SNS emails): delivered like
//! any mail — captured into the dev inbox in capture mode, over SMTP with retries otherwise —
//! signed with the operator key `d=<service_domain>` when enabled, from
//! `<brand> <no-reply@<service_domain>>`, with a null envelope sender, no quota, no events.
//!
//! **Exactly one email per notice, across restarts and nodes.** Each notice is taken through
//! compare-and-swap writes of its own document (the store's resource versions, the claim
//! mechanism every node already shares):
//!
//! 1. *claim*: the notice gets `claim: {node, until}` ([`CLAIM_MS`]) if it is undelivered and
//!    no live claim of another node is on it — a second node's write conflicts and it moves on;
//! 2. *enqueue*: the email goes into the queue under an id derived from the notice
//!    ([`notice_message_id`]); enqueueing is idempotent on that id (a message already queued or
//!    already sent is left alone);
//! 3. *mark*: `delivered_at`, `message_id` and `mailed_to` are set and the claim cleared.
//!
//! A crash between 2 and 3 leaves a claim that expires; the next round (on any node) repeats
//! 2, which finds the email already queued or sent, and 3 — at-least-once hand-off, never a
//! second email in the normal case. `delivered_at` is the time of the hand-off to the queue;
//! the queue then retries delivery like any message.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sesame_mail::message::{self as msg, SimpleMessage, Text};
use sesame_model::{Resource, ResourceKey, Scope, StoreError};
use sha2::{Digest, Sha256};

use crate::records::kind;
use crate::verification::{rfc3339, AccountNotice};
use crate::{Engine, EngineError};

/// `meta.system` of a notice email in the queue.
pub const SYSTEM_ACCOUNT_NOTICE: &str = "account-notice";

/// How long a node's claim on a notice lasts: longer than one enqueue, short enough that a
/// crashed node's notices are mailed by another soon after.
pub const CLAIM_MS: i64 = 120_000;

/// A sweep never moves its cursor past notices younger than this: another node stamps the
/// names of its notices with its own clock, so a notice can appear a little before ones
/// already seen (see [`Engine::mail_account_notices`]).
pub const SETTLE_MS: i64 = 600_000;

/// Notices listed per store read.
const PAGE: usize = 200;

/// A node's hold on a notice while it mails it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeClaim {
    pub node: String,
    /// Unix ms; after it any node may take the notice over.
    pub until: i64,
}

/// Where a scope's notices go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipients {
    /// The account's `AdditionalContactEmailAddresses` (v2 `PutAccountDetails`).
    Account(Vec<String>),
    /// The operator's `notices_fallback_address`: the account has no contact address.
    Fallback(Vec<String>),
    /// Neither: notices wait.
    None,
}

impl Recipients {
    pub fn addresses(&self) -> &[String] {
        match self {
            Recipients::Account(a) | Recipients::Fallback(a) => a,
            Recipients::None => &[],
        }
    }

    /// `account`, `fallback` or `none` (CLI and logs).
    pub fn source(&self) -> &'static str {
        match self {
            Recipients::Account(_) => "account",
            Recipients::Fallback(_) => "fallback",
            Recipients::None => "none",
        }
    }
}

/// The recipients of a scope's notices: the `AdditionalContactEmailAddresses` of the stored
/// v2 `AccountDetails` (`details`), else `fallback`. Addresses are trimmed, empty ones and
/// repeats (case-insensitively) dropped, order kept.
pub fn recipients(details: Option<&Value>, fallback: &[String]) -> Recipients {
    let clean = |list: Vec<&str>| {
        let mut out: Vec<String> = Vec::new();
        for a in list.into_iter().map(str::trim).filter(|a| !a.is_empty()) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
                out.push(a.to_string());
            }
        }
        out
    };
    let contacts = clean(
        details
            .and_then(|d| d.get("AdditionalContactEmailAddresses"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
    );
    if !contacts.is_empty() {
        return Recipients::Account(contacts);
    }
    let fallback = clean(fallback.iter().map(String::as_str).collect());
    if fallback.is_empty() {
        Recipients::None
    } else {
        Recipients::Fallback(fallback)
    }
}

/// Whether `node` may claim `n` at `now`: not mailed, and no live claim of another node.
pub fn claimable(n: &AccountNotice, node: &str, now: i64) -> bool {
    n.delivered_at.is_none()
        && n.claim
            .as_ref()
            .is_none_or(|c| c.node == node || c.until <= now)
}

/// The id of the email of the notice `name` in `scope`: an SES-shaped message id whose time
/// part is the notice's creation and whose random part is a hash of the scope and name, so
/// every attempt to mail one notice — after a crash, on another node — uses the same id.
pub fn notice_message_id(scope: &Scope, name: &str, created_at: i64) -> String {
    let mut h = Sha256::new();
    for part in [
        "account-notice",
        scope.account.as_str(),
        scope.region.as_str(),
        name,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    let mut random = [0u8; 16];
    random.copy_from_slice(&digest[..16]);
    msg::new_message_id(created_at.max(0) as u64, random)
}

/// What the notice email says, and whom it is from and to (before `Date`/`Message-ID`).
pub fn notice_email(
    n: &AccountNotice,
    scope: &Scope,
    to: &Recipients,
    brand: &str,
    service_domain: &str,
) -> SimpleMessage {
    let mut text = format!("{}\r\n\r\n", n.body.trim_end());
    text.push_str(&format!("Account: {}\r\n", scope.account));
    text.push_str(&format!("Region: {}\r\n", scope.region));
    if !n.identity.is_empty() {
        text.push_str(&format!("Identity: {}\r\n", n.identity));
    }
    let c = &n.change;
    text.push_str(&format!("Notice: {}", n.notice_type));
    if !c.component.is_empty() {
        let from = if c.from.is_empty() { "-" } else { &c.from };
        let to = if c.to.is_empty() { "-" } else { &c.to };
        text.push_str(&format!(" ({}: {from} -> {to})", c.component));
    }
    text.push_str("\r\n");
    if let Some(d) = c.deadline {
        text.push_str(&format!("Deadline: {}\r\n", rfc3339(d)));
    }
    text.push_str(&format!("Issued: {}\r\n\r\n--\r\n", rfc3339(n.created_at)));
    text.push_str(&match to {
        Recipients::Fallback(_) => format!(
            "This account has no contact address, so this notice was sent to the address the \
             operator of this {brand} deployment set for such accounts. Set \
             AdditionalContactEmailAddresses with PutAccountDetails to receive notices \
             directly.\r\n"
        ),
        _ => format!(
            "You receive this notice as a contact of the account (AdditionalContactEmailAddresses, \
             set with PutAccountDetails) in {brand} region {}.\r\n",
            scope.region
        ),
    });
    SimpleMessage {
        from: format!("{brand} <no-reply@{service_domain}>"),
        to: to.addresses().to_vec(),
        subject: Text::new(n.subject.clone()),
        text: Some(Text::new(text)),
        headers: vec![("X-Sesame-Notice-Type".into(), n.notice_type.clone())],
        ..Default::default()
    }
}

/// One notice as stored: its resource name, document and version.
#[derive(Clone, Debug, PartialEq)]
pub struct NoticeEntry {
    pub name: String,
    pub notice: AccountNotice,
    pub version: i64,
}

impl NoticeEntry {
    fn parse(r: Resource) -> Result<NoticeEntry, EngineError> {
        Ok(NoticeEntry {
            notice: serde_json::from_value(r.data).map_err(|e| {
                EngineError::Internal(format!("corrupt account notice {}: {e}", r.key.name))
            })?,
            name: r.key.name,
            version: r.version,
        })
    }
}

/// What one [`Engine::mail_account_notices`] round did in a scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NoticeRound {
    /// `(notice name, message id, recipients)` of every notice mailed by this round.
    pub mailed: Vec<(String, String, Vec<String>)>,
    /// Undelivered notices left stored because the scope has no recipient.
    pub waiting: usize,
    /// Undelivered notices another node is mailing right now.
    pub busy: usize,
    /// The next round's `after`: every notice up to it is mailed and settled ([`SETTLE_MS`]).
    pub cursor: Option<String>,
}

/// Outcome of one notice.
enum Mailed {
    /// Mailed now: the message id.
    Now(String),
    /// Someone else has it (a live claim, or a write that conflicted).
    Busy,
}

impl Engine {
    fn notice_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, kind::ACCOUNT_NOTICE, name)
    }

    /// Where the notices of `scope` go (see [`recipients`]).
    pub async fn notice_recipients(
        &self,
        scope: &Scope,
        fallback: &[String],
    ) -> Result<Recipients, EngineError> {
        let settings = self.account_settings(scope).await?;
        Ok(recipients(settings.details.as_ref(), fallback))
    }

    /// The notices of `scope` in name (time) order, after `after`, with their names.
    pub async fn account_notice_entries(
        &self,
        scope: &Scope,
        after: Option<&str>,
    ) -> Result<Vec<NoticeEntry>, EngineError> {
        let mut out = Vec::new();
        let mut after = after.map(str::to_string);
        loop {
            let page = self
                .store
                .list_resources(scope, kind::ACCOUNT_NOTICE, "", after.as_deref(), PAGE)
                .await?;
            let done = page.len() < PAGE;
            for r in page {
                after = Some(r.key.name.clone());
                out.push(NoticeEntry::parse(r)?);
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// Mails every undelivered notice of `scope` whose name sorts after `after` (the previous
    /// round's [`NoticeRound::cursor`]; `None`: all), as `node`, to the scope's recipients
    /// (`fallback` when the account has none). See the module docs for the claim protocol.
    pub async fn mail_account_notices(
        &self,
        scope: &Scope,
        node: &str,
        fallback: &[String],
        after: Option<&str>,
        now: i64,
    ) -> Result<NoticeRound, EngineError> {
        let mut round = NoticeRound {
            cursor: after.map(str::to_string),
            ..Default::default()
        };
        // Whether every notice so far was mailed (before this round) and is old enough for
        // the cursor to pass it.
        let mut settled = true;
        let mut to: Option<Recipients> = None;
        for entry in self.account_notice_entries(scope, after).await? {
            let mailed_before = entry.notice.delivered_at.is_some();
            settled = settled && mailed_before && entry.notice.created_at <= now - SETTLE_MS;
            if settled {
                round.cursor = Some(entry.name.clone());
            }
            if mailed_before {
                continue;
            }
            let to = match &to {
                Some(r) => r,
                None => to.insert(self.notice_recipients(scope, fallback).await?),
            };
            if matches!(to, Recipients::None) {
                round.waiting += 1;
            } else if !claimable(&entry.notice, node, now) {
                round.busy += 1;
            } else {
                match self.mail_notice(scope, &entry, to, node, now).await? {
                    Mailed::Now(id) => {
                        round
                            .mailed
                            .push((entry.name.clone(), id, to.addresses().to_vec()))
                    }
                    Mailed::Busy => round.busy += 1,
                }
            }
        }
        Ok(round)
    }

    /// Claims, enqueues and marks one notice (module docs, steps 1–3).
    async fn mail_notice(
        &self,
        scope: &Scope,
        entry: &NoticeEntry,
        to: &Recipients,
        node: &str,
        now: i64,
    ) -> Result<Mailed, EngineError> {
        let key = Self::notice_key(scope, &entry.name);
        // 1. Claim.
        let mut notice = entry.notice.clone();
        notice.claim = Some(NoticeClaim {
            node: node.to_string(),
            until: now + CLAIM_MS,
        });
        let claimed = match self
            .store
            .update_resource(&key, &to_value(&notice)?, entry.version)
            .await
        {
            Ok(r) => r.version,
            Err(StoreError::Conflict | StoreError::NotFound) => return Ok(Mailed::Busy),
            Err(e) => return Err(e.into()),
        };
        // 2. Enqueue (idempotent on the id).
        let id = notice_message_id(scope, &entry.name, notice.created_at);
        let sd = &self.settings.service_domain;
        let email = notice_email(&notice, scope, to, &self.settings.verification.brand, sd);
        let raw = msg::finalize(
            &msg::build_simple(&email),
            &id,
            &crate::templates::rfc5322_date(now),
            &format!("email.{sd}"),
        );
        let about = serde_json::json!({
            "notice": entry.name,
            "notice_type": notice.notice_type,
        });
        let queued = self
            .enqueue_system_message(
                scope,
                &id,
                SYSTEM_ACCOUNT_NOTICE,
                to.addresses(),
                raw,
                about,
            )
            .await;
        if let Err(e) = queued {
            // Let the next round (any node) try again at once instead of after the claim.
            notice.claim = None;
            let _ = self
                .store
                .update_resource(&key, &to_value(&notice)?, claimed)
                .await;
            return Err(e);
        }
        // 3. Mark.
        notice.claim = None;
        notice.delivered_at = Some(now);
        notice.message_id = Some(id.clone());
        notice.mailed_to = to.addresses().to_vec();
        match self
            .store
            .update_resource(&key, &to_value(&notice)?, claimed)
            .await
        {
            Ok(_) => {}
            // Our claim expired and another node took over: it enqueues under the same id
            // (finding ours) and marks the notice itself.
            Err(StoreError::Conflict | StoreError::NotFound) => {
                tracing::warn!(account = %scope.account, region = %scope.region, notice = %entry.name,
                    "account notice queued, but another node took it over before it was marked");
                return Ok(Mailed::Busy);
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Mailed::Now(id))
    }
}

fn to_value(n: &AccountNotice) -> Result<Value, EngineError> {
    serde_json::to_value(n).map_err(|e| EngineError::Internal(format!("notice JSON: {e}")))
}

#[cfg(test)]
mod tests;

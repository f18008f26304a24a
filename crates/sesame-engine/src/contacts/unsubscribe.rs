//! Hosted unsubscribe (spec F-184..F-187, F-192, SH-12, G-54; DECISIONS Q-151, Q-201, Q-273):
//! the signed unsubscribe URL of a list-managed message, what its landing page shows, and the
//! preference change it makes, recorded as a `Subscription` event of the original message.
//! The HTTP side (`GET`/`POST /unsubscribe/<token>`, no SigV4) is `sesame-api`'s
//! `unsubscribe` module.
//!
//! **Token** (Q-201): `base64url(payload) "." base64url(HMAC-SHA256(instance key,
//! "sesame-unsubscribe\0" ‖ payload))` — the tracking URLs' machinery
//! ([`Engine::sign_url_blob`]) with its own label — with payload
//! `{"a":account,"r":region,"l":list,"p":topic?,"e":address,"m":messageId,"t":issued_ms}`.
//! Checking it needs no database; a changed byte anywhere is refused; rotating the instance
//! key revokes every link. Tokens do not expire: a recipient may unsubscribe from old mail.
//!
//! **URL**: `<base>/unsubscribe/<token>`, `<base>` being the tracking base URL
//! (`tracking_base_url`; `serve --dev`: the API listener) or `https://r.<region>.<sd>` (Q-70,
//! Q-201). Click tracking never wraps it (Q-233).
//!
//! **Changes**: one-click (`List-Unsubscribe=One-Click`, RFC 8058) opts out of the token's
//! topic, or unsubscribes from the whole list when the token has none (F-186), source
//! `UnsubscribeHeader`; the landing page's form sets each topic and "unsubscribe from all"
//! (F-187), source `UnsubscribeLink` (Q-151). A contact deleted since the send is created again
//! with the change (the recipient's request is honoured); a deleted list changes nothing and
//! records nothing (Q-273). A change that changes nothing records nothing. Every real change
//! appends a `Subscription` event whose `mail` object is the original message's (from the
//! sent-message log, like Open/Click), so the message's configuration set publishes it
//! (`SUBSCRIPTION`, F-184); once the message has left the log (30 days) the change is still
//! made, without an event.

use serde::{Deserialize, Serialize};
use sesame_events::{event_types, MailInfo, SubscriptionInfo};
use sesame_model::{AccountId, Region, Scope, StoreError};

use super::rules::{self, ContactListRecord, ContactRecord, PreferenceChange, SubscriptionStatus};
use crate::send::events::record;
use crate::tracking::tracking_host;
use crate::{Engine, EngineError};

/// Path prefix of the unsubscribe endpoints on the API listener.
pub const UNSUBSCRIBE_PATH: &str = "/unsubscribe/";

/// `subscription.source` values (G-54, Z-5, Q-151).
pub mod sources {
    /// `List-Unsubscribe` one-click (RFC 8058).
    pub const UNSUBSCRIBE_HEADER: &str = "UnsubscribeHeader";
    /// The hosted landing page (provisional name, Q-151).
    pub const UNSUBSCRIBE_LINK: &str = "UnsubscribeLink";
}

/// The MAC label of unsubscribe tokens.
const LABEL: &[u8] = b"sesame-unsubscribe\0";

/// The signed payload of an unsubscribe URL (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsubscribeToken {
    pub a: String,
    pub r: String,
    /// The contact list.
    pub l: String,
    /// The topic the message was sent for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// The recipient (normalised as the contact's key).
    pub e: String,
    pub m: String,
    /// When the link was issued (Unix ms).
    pub t: i64,
}

impl UnsubscribeToken {
    fn scope(&self) -> Option<Scope> {
        Some(Scope::new(
            self.a.parse::<AccountId>().ok()?,
            self.r.parse::<Region>().ok()?,
        ))
    }
}

/// What the landing page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct UnsubscribePage {
    pub email: String,
    pub list: ContactListRecord,
    /// The topic the message was sent for, if any.
    pub topic: Option<String>,
    pub unsubscribe_all: bool,
    /// Each topic of the list with the contact's status ignoring `UnsubscribeAll`: the
    /// explicit preference, else the default.
    pub topics: Vec<(rules::Topic, SubscriptionStatus)>,
}

/// What a preference change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The list no longer exists (Q-273): nothing changed.
    ListGone,
    /// The contact already had these preferences.
    Unchanged,
    /// The contact was updated; `event` says whether a `Subscription` event was recorded.
    Changed { event: bool },
}

impl Engine {
    /// `<base>/unsubscribe/` for `scope` (see the module docs).
    pub fn unsubscribe_prefix(&self, scope: &Scope) -> String {
        let base = match &self.settings.tracking.base_url {
            Some(b) => b.trim_end_matches('/').to_string(),
            None => format!(
                "https://{}",
                tracking_host(scope.region.as_str(), &self.settings.service_domain)
            ),
        };
        format!("{base}{UNSUBSCRIBE_PATH}")
    }

    /// The unsubscribe URL carrying `token`.
    pub fn unsubscribe_url(&self, scope: &Scope, token: &UnsubscribeToken) -> String {
        let payload = serde_json::to_vec(token).expect("a token serialises");
        format!(
            "{}{}",
            self.unsubscribe_prefix(scope),
            self.sign_url_blob(LABEL, &payload)
        )
    }

    /// Whether `url` is one of this instance's unsubscribe URLs for `scope` (Q-233: never
    /// wrapped by click tracking).
    pub fn is_unsubscribe_url(&self, scope: &Scope, url: &str) -> bool {
        url.starts_with(&self.unsubscribe_prefix(scope))
    }

    /// Checks the signature and decodes; `None` for anything forged, altered, truncated or of
    /// a region this instance does not serve.
    pub fn open_unsubscribe_token(&self, token: &str) -> Option<UnsubscribeToken> {
        let payload = self.open_url_blob(LABEL, token)?;
        let tok: UnsubscribeToken = serde_json::from_slice(&payload).ok()?;
        (self.serves_region(&tok.r) && tok.scope().is_some()).then_some(tok)
    }

    /// The landing page of a verified token; `None` when the list no longer exists (Q-273).
    pub async fn unsubscribe_page(
        &self,
        tok: &UnsubscribeToken,
    ) -> Result<Option<UnsubscribePage>, EngineError> {
        let Some(scope) = tok.scope() else {
            return Ok(None);
        };
        let Some((list, _)) = self.find_contact_list(&scope, &tok.l).await? else {
            return Ok(None);
        };
        let contact = match self.store.get_contact(&scope, &tok.l, &tok.e).await? {
            Some(row) => parse(row.data)?,
            None => ContactRecord::default(),
        };
        let topics = list
            .topics
            .iter()
            .map(|t| {
                let s = contact
                    .preference(&t.topic_name)
                    .unwrap_or(t.default_subscription_status);
                (t.clone(), s)
            })
            .collect();
        Ok(Some(UnsubscribePage {
            email: tok.e.clone(),
            topic: tok.p.clone(),
            unsubscribe_all: contact.unsubscribe_all,
            list,
            topics,
        }))
    }

    /// Applies `change` for the token's contact (see the module docs) at `at_ms`, recording a
    /// `Subscription` event with `source` when something changed.
    pub async fn change_subscription(
        &self,
        tok: &UnsubscribeToken,
        change: &PreferenceChange,
        source: &str,
        at_ms: i64,
    ) -> Result<ChangeOutcome, EngineError> {
        let Some(scope) = tok.scope() else {
            return Ok(ChangeOutcome::ListGone);
        };
        loop {
            let Some((list, _)) = self.find_contact_list(&scope, &tok.l).await? else {
                return Ok(ChangeOutcome::ListGone);
            };
            let (old, version) = match self.store.get_contact(&scope, &tok.l, &tok.e).await? {
                Some(row) => (parse(row.data)?, Some(row.version)),
                None => (ContactRecord::default(), None),
            };
            let old = ContactRecord {
                topic_preferences: old.current_preferences(&list),
                ..old
            };
            let new = rules::apply_change(&list, &old, change);
            if new == old {
                return Ok(ChangeOutcome::Unchanged);
            }
            let data = serde_json::to_value(&new).expect("a contact serialises");
            let written = match version {
                Some(v) => self
                    .store
                    .update_contact(&scope, &tok.l, &tok.e, &data, v)
                    .await
                    .map(|_| ()),
                None => self
                    .store
                    .insert_contacts(&scope, &tok.l, &[(tok.e.clone(), data)], false)
                    .await
                    .map(|_| ()),
            };
            match written {
                Ok(()) => {}
                // Someone else wrote (or deleted, or created) the contact first: read again.
                Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
                Err(StoreError::NotFound) if version.is_some() => continue,
                Err(StoreError::NotFound) => return Ok(ChangeOutcome::ListGone),
                Err(e) => return Err(e.into()),
            }
            let event = self
                .record_subscription(&scope, tok, &list, &old, &new, source, at_ms)
                .await?;
            return Ok(ChangeOutcome::Changed { event });
        }
    }

    /// G-54, F-184: the `Subscription` event of the token's message, when the message is still
    /// in the log and belongs to the token's scope.
    #[allow(clippy::too_many_arguments)]
    async fn record_subscription(
        &self,
        scope: &Scope,
        tok: &UnsubscribeToken,
        list: &ContactListRecord,
        old: &ContactRecord,
        new: &ContactRecord,
        source: &str,
        at_ms: i64,
    ) -> Result<bool, EngineError> {
        let mail = match self.store.find_message(&tok.m).await? {
            Some((msg, _)) if msg.scope == *scope => serde_json::from_value::<MailInfo>(
                msg.meta.get("mail").cloned().unwrap_or_default(),
            )
            .ok(),
            _ => None,
        };
        let Some(mail) = mail else {
            tracing::warn!(message_id = %tok.m, list = %tok.l, "subscription changed, but the message is no longer in the log: no Subscription event");
            return Ok(false);
        };
        let info = SubscriptionInfo {
            contact_list: list.name.clone(),
            timestamp_ms: at_ms,
            source: source.to_string(),
            new_topic_preferences: rules::event_preferences(list, new),
            old_topic_preferences: rules::event_preferences(list, old),
        };
        let event = record(
            scope,
            &tok.m,
            event_types::SUBSCRIPTION,
            at_ms,
            sesame_events::subscription(&mail, &info),
        );
        self.store.append_events(&[event]).await?;
        Ok(true)
    }
}

fn parse(data: serde_json::Value) -> Result<ContactRecord, EngineError> {
    serde_json::from_value(data).map_err(|e| EngineError::Internal(format!("corrupt contact: {e}")))
}

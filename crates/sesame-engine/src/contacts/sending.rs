//! List management on send (spec F-177..F-193, H-39; DECISIONS ..Q-200).
//!
//! At acceptance ([`Engine::list_management`], from `send::pipeline`):
//! 1. the options come from v2 `ListManagementOptions` or, for raw and SMTP mail, the
//!    `X-SES-LIST-MANAGEMENT-OPTIONS: <list>; topic=<topic>` header (F-180; `finalize` strips
//!    it before delivery); the API member wins when both are present;
//! 2. the list, and the topic when one is named, must exist: otherwise the send fails with
//!    [`SendError::ContactListDoesNotExist`] (v2 `NotFoundException`, SMTP `554`, Q-199);
//! 3. every recipient not yet in the list becomes a contact with no explicit preference
//!    (F-178), so the topic defaults apply to it.
//!
//! Then, once the message id is known ([`Engine::add_list_unsubscribe`]), a message with exactly
//! one recipient (F-189) gets `List-Unsubscribe` (a signed unsubscribe URL for that recipient)
//! and `List-Unsubscribe-Post` and its first two `{{amazonSESUnsubscribeUrl}}` placeholders
//! replaced (F-188, F-191) — before the body is stored, so the stored bytes are what delivery
//! signs. Customer-signed messages are left alone (F-183, Q-97).
//!
//! At delivery ([`Engine::unsubscribed_recipients`], from `deliver::prepare`): a recipient who
//! unsubscribed from the list, or opted out of the message's topic (explicitly or by the
//! topic's default), is not delivered but bounced `Permanent`/`General` (Q-198) (F-179,
//! F/Z-14), like a suppressed recipient — checked at delivery, so an unsubscribe that happens
//! while the message waits still counts.

use sesame_model::Scope;
use sesame_policy::simulator;

use super::rules::{self, ListManagement};
use super::ContactRecord;
use crate::send::SendError;
use crate::suppression::normalize_address;
use crate::{Engine, EngineError};

/// The queue row's `meta` member holding the message's [`ListManagement`].
pub const META_KEY: &str = "list_management";

impl Engine {
    /// Steps 1–3 of the module docs. `None` when the message is not list-managed.
    pub(crate) async fn list_management(
        &self,
        scope: &Scope,
        api: Option<&ListManagement>,
        header: Option<&str>,
        recipients: &[String],
    ) -> Result<Option<ListManagement>, SendError> {
        let lm = match (api, header) {
            (Some(lm), _) => lm.clone(),
            (None, Some(h)) => {
                rules::parse_list_management_header(h).map_err(SendError::InvalidParameter)?
            }
            (None, None) => return Ok(None),
        };
        let missing = |what: String| SendError::ContactListDoesNotExist(what);
        let Some((list, _)) = self
            .find_contact_list(scope, &lm.contact_list)
            .await
            .map_err(SendError::from)?
        else {
            return Err(missing(format!(
                "List with name {} does not exist.",
                lm.contact_list
            )));
        };
        if let Some(t) = &lm.topic {
            if list.topic(t).is_none() {
                return Err(missing(format!(
                    "Topic {t} does not exist in list {}.",
                    lm.contact_list
                )));
            }
        }
        let new_contact = serde_json::to_value(ContactRecord::default()).expect("serialises");
        let contacts: Vec<(String, serde_json::Value)> = recipients
            .iter()
            .filter_map(|r| normalize_address(r).ok())
            .map(|e| (e, new_contact.clone()))
            .collect();
        match self
            .store
            .insert_contacts(scope, &lm.contact_list, &contacts, true)
            .await
        {
            Ok(_) => Ok(Some(lm)),
            // Deleted between the read and the insert.
            Err(sesame_model::StoreError::NotFound) => Err(missing(format!(
                "List with name {} does not exist.",
                lm.contact_list
            ))),
            Err(e) => Err(SendError::Internal(e.to_string())),
        }
    }

    /// F-181, F-188, F-189, F-191: the unsubscribe header fields and footer URL of a
    /// single-recipient list-managed message (see the module docs); any other message, and a
    /// customer-signed one, is returned unchanged.
    pub(crate) fn add_list_unsubscribe(
        &self,
        scope: &Scope,
        lm: &ListManagement,
        message_id: &str,
        recipients: &[String],
        body: Vec<u8>,
        now: i64,
    ) -> Vec<u8> {
        let [recipient] = recipients else {
            return body; // F-189, KA-12: only for exactly one recipient
        };
        let Ok(email) = normalize_address(recipient) else {
            return body;
        };
        let token = super::unsubscribe::UnsubscribeToken {
            a: scope.account.to_string(),
            r: scope.region.to_string(),
            l: lm.contact_list.clone(),
            p: lm.topic.clone(),
            e: email,
            m: message_id.to_string(),
            t: now,
        };
        let url = self.unsubscribe_url(scope, &token);
        match sesame_mail::list_unsubscribe::add_list_unsubscribe(&body, &url) {
            Ok(r) => {
                tracing::debug!(%message_id, placeholders = r.placeholders_replaced, "list-unsubscribe added");
                r.raw
            }
            Err(why) => {
                tracing::debug!(%message_id, ?why, "message not modified for list management");
                body
            }
        }
    }

    /// For each of `recipients`, whether it is a contact of the message's list who must not
    /// get it (F-179; `rules::is_unsubscribed`). Simulator addresses are never checked (their
    /// outcome comes first, Q-189). A list deleted since acceptance, or a recipient who is not
    /// a contact (any more), does not stop delivery.
    pub(crate) async fn unsubscribed_recipients(
        &self,
        scope: &Scope,
        meta: &serde_json::Value,
        recipients: &[String],
    ) -> Result<Vec<bool>, EngineError> {
        let mut out = vec![false; recipients.len()];
        let Some(lm) = meta
            .get(META_KEY)
            .and_then(|v| serde_json::from_value::<ListManagement>(v.clone()).ok())
        else {
            return Ok(out);
        };
        let Some((list, _)) = self.find_contact_list(scope, &lm.contact_list).await? else {
            return Ok(out);
        };
        for (i, r) in recipients.iter().enumerate() {
            if simulator::classify(r, None).is_some() {
                continue;
            }
            let Ok(email) = normalize_address(r) else {
                continue;
            };
            if let Some(row) = self
                .store
                .get_contact(scope, &lm.contact_list, &email)
                .await?
            {
                let c: ContactRecord = serde_json::from_value(row.data)
                    .map_err(|e| EngineError::Internal(format!("corrupt contact: {e}")))?;
                out[i] = rules::is_unsubscribed(&list, &c, lm.topic.as_deref());
            }
        }
        Ok(out)
    }
}

//! Contact lists, topics and contacts (spec F §W, F-166..F-176; DECISIONS Q-195..Q-197,
//! Q-273), list management on send ([`sending`], F §X, F-177..F-193, Q-198..Q-200) and the
//! hosted unsubscribe endpoints' side ([`unsubscribe`], SH-12, Q-201, G-54).
//!
//! Storage: a list is a resource document of kind `contact-list` ([`ContactListRecord`],
//! tags included, so `TagResource` works on `…:contact-list/<name>` like on other resources);
//! its contacts are rows of the store's `contacts` table ([`ContactRecord`] documents keyed by
//! list and address), so `ListContacts` and the per-recipient check at delivery never scan
//! anything but the list's own rows. Deleting a list deletes its contacts in the same
//! transaction. Addresses are normalised as the suppression list does (Q-190: domain
//! lower-cased).
//!
//! Limits (F-168, Z-15, Q-195): contact lists per account and region and topics per list,
//! both operator settings ([`ContactLimits`]).
//!
//! The rules themselves are pure, in [`rules`].

pub mod rules;
pub mod sending;
#[cfg(test)]
mod tests;
pub mod unsubscribe;

use sesame_model::{ContactRow, ResourceKey, Scope, StoreError, CONTACT_LIST_KIND};

pub use rules::{
    ContactFilter, ContactLimits, ContactListRecord, ContactRecord, ListManagement,
    PreferenceChange, SubscriptionStatus, Topic, TopicPreference,
};

use crate::suppression::normalize_address;
use crate::{now_ms, Engine, EngineError};

/// Largest (and default) `PageSize` of `ListContactLists` and `ListContacts` (Q-13: the model
/// gives none).
pub const MAX_PAGE_SIZE: usize = 1000;

/// Contacts read per store query while filtering a `ListContacts` page.
const SCAN_BATCH: usize = 500;
/// Contacts one `ListContacts` call examines at most: a selective filter over a large list
/// returns a short page with a `NextToken` instead of scanning on (the model allows short
/// pages; callers follow `NextToken`).
const SCAN_LIMIT: usize = 20_000;

/// A contact as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub email: String,
    pub record: ContactRecord,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// For compare-and-set updates.
    pub version: i64,
}

fn list_not_found(name: &str) -> EngineError {
    EngineError::NotFound(format!("List with name {name} does not exist."))
}

fn contact_not_found(email: &str, list: &str) -> EngineError {
    EngineError::NotFound(format!("Contact {email} does not exist in list {list}."))
}

fn corrupt(what: &str, e: serde_json::Error) -> EngineError {
    EngineError::Internal(format!("corrupt {what}: {e}"))
}

/// The stored form of a contact document.
fn to_data(rec: &ContactRecord) -> serde_json::Value {
    serde_json::to_value(rec).expect("a contact serialises")
}

fn from_row(row: ContactRow) -> Result<Contact, EngineError> {
    Ok(Contact {
        record: serde_json::from_value(row.data).map_err(|e| corrupt("contact", e))?,
        email: row.email,
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    })
}

impl Engine {
    fn contact_list_key(scope: &Scope, name: &str) -> ResourceKey {
        ResourceKey::new(scope, CONTACT_LIST_KIND, name)
    }

    /// The operator's contact limits.
    pub fn contact_limits(&self) -> ContactLimits {
        self.settings.contacts
    }

    /// `CreateContactList` (F-168, F-169): at most `max_lists` per account and region
    /// (`LimitExceeded`), at most `max_topics` topics (`BadRequest`), tags as every taggable
    /// resource.
    pub async fn create_contact_list(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        topics: Vec<Topic>,
        tags: Vec<crate::records::Tag>,
    ) -> Result<(), EngineError> {
        let limits = self.contact_limits();
        rules::validate_list_name(name)?;
        rules::validate_description(description.as_deref())?;
        rules::validate_topics(&topics, limits.max_topics)?;
        crate::tags::validate_tags(&tags)?;
        if self.find_contact_list(scope, name).await?.is_some() {
            return Err(EngineError::AlreadyExists(format!(
                "List with name {name} already exists."
            )));
        }
        let over = || {
            EngineError::LimitExceeded(format!(
                "You have reached the limit of {} contact list(s) for this account.",
                limits.max_lists
            ))
        };
        if self.store.count_resources(scope, CONTACT_LIST_KIND).await? >= limits.max_lists {
            return Err(over());
        }
        let now = now_ms();
        let rec = ContactListRecord {
            name: name.to_string(),
            description,
            topics,
            tags,
            created_at: now,
            last_updated_at: now,
        };
        let key = Self::contact_list_key(scope, name);
        let data = serde_json::to_value(&rec).expect("a list serialises");
        self.store
            .insert_resource(&key, &data)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => {
                    EngineError::AlreadyExists(format!("List with name {name} already exists."))
                }
                other => other.into(),
            })?;
        // Two concurrent creates can both pass the count; the one that finds the limit
        // exceeded after its insert takes its list back (both may, which errs on the safe
        // side: the limit is never exceeded).
        if self.store.count_resources(scope, CONTACT_LIST_KIND).await? > limits.max_lists {
            self.store.delete_resource(&key).await?;
            return Err(over());
        }
        Ok(())
    }

    /// The list and its version; `None` when it does not exist.
    pub(crate) async fn find_contact_list(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<(ContactListRecord, i64)>, EngineError> {
        let Some(r) = self
            .store
            .get_resource(&Self::contact_list_key(scope, name))
            .await?
        else {
            return Ok(None);
        };
        let rec = serde_json::from_value(r.data).map_err(|e| corrupt("contact list", e))?;
        Ok(Some((rec, r.version)))
    }

    /// `GetContactList`; `NotFound` when absent.
    pub async fn get_contact_list(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<ContactListRecord, EngineError> {
        self.find_contact_list(scope, name)
            .await?
            .map(|(l, _)| l)
            .ok_or_else(|| list_not_found(name))
    }

    /// `UpdateContactList` (F-168, Q-196): `Topics`, when given, replaces the topic list (the
    /// preferences of removed topics are deleted from every contact); `Description`, when
    /// given, replaces the description.
    pub async fn update_contact_list(
        &self,
        scope: &Scope,
        name: &str,
        topics: Option<Vec<Topic>>,
        description: Option<String>,
    ) -> Result<(), EngineError> {
        let limits = self.contact_limits();
        if let Some(t) = &topics {
            rules::validate_topics(t, limits.max_topics)?;
        }
        rules::validate_description(description.as_deref())?;
        let key = Self::contact_list_key(scope, name);
        let removed: Vec<String> = loop {
            let (mut rec, version) = self
                .find_contact_list(scope, name)
                .await?
                .ok_or_else(|| list_not_found(name))?;
            let mut removed = Vec::new();
            if let Some(t) = &topics {
                removed = rec
                    .topics
                    .iter()
                    .filter(|old| !t.iter().any(|n| n.topic_name == old.topic_name))
                    .map(|old| old.topic_name.clone())
                    .collect();
                rec.topics = t.clone();
            }
            if description.is_some() {
                rec.description = description.clone();
            }
            rec.last_updated_at = now_ms();
            let data = serde_json::to_value(&rec).expect("a list serialises");
            match self.store.update_resource(&key, &data, version).await {
                Ok(_) => break removed,
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(list_not_found(name)),
                Err(e) => return Err(e.into()),
            }
        };
        if !removed.is_empty() {
            self.drop_topic_preferences(scope, name, &removed).await?;
        }
        Ok(())
    }

    /// removes the preferences for `topics` from every contact of the list. Reads
    /// filter removed topics out anyway ([`ContactRecord::current_preferences`]); this pass
    /// makes the deletion real, so a topic added again later starts from its default.
    async fn drop_topic_preferences(
        &self,
        scope: &Scope,
        list: &str,
        topics: &[String],
    ) -> Result<(), EngineError> {
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_contacts(scope, list, after.as_deref(), SCAN_BATCH)
                .await?;
            let Some(last) = page.last().map(|r| r.email.clone()) else {
                return Ok(());
            };
            for row in page {
                let (email, mut version, mut data) = (row.email, row.version, row.data);
                loop {
                    let mut rec: ContactRecord =
                        serde_json::from_value(data).map_err(|e| corrupt("contact", e))?;
                    let before = rec.topic_preferences.len();
                    rec.topic_preferences
                        .retain(|p| !topics.contains(&p.topic_name));
                    if rec.topic_preferences.len() == before {
                        break;
                    }
                    match self
                        .store
                        .update_contact(scope, list, &email, &to_data(&rec), version)
                        .await
                    {
                        Ok(_) | Err(StoreError::NotFound) => break,
                        Err(StoreError::Conflict) => {
                            match self.store.get_contact(scope, list, &email).await? {
                                Some(fresh) => {
                                    version = fresh.version;
                                    data = fresh.data;
                                }
                                None => break,
                            }
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            after = Some(last);
        }
    }

    /// `DeleteContactList`: the list and all its contacts.
    pub async fn delete_contact_list(&self, scope: &Scope, name: &str) -> Result<(), EngineError> {
        self.delete_or_not_found(&Self::contact_list_key(scope, name), || {
            list_not_found(name).to_string()
        })
        .await
    }

    /// `ListContactLists`: lists in byte order of their names, at most `limit`, and the name to
    /// resume after when there are more.
    pub async fn list_contact_lists(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ContactListRecord>, Option<String>), EngineError> {
        let rows = self
            .store
            .list_resources(scope, CONTACT_LIST_KIND, "", after, limit + 1)
            .await?;
        let more = rows.len() > limit;
        let lists = rows
            .into_iter()
            .take(limit)
            .map(|r| serde_json::from_value(r.data).map_err(|e| corrupt("contact list", e)))
            .collect::<Result<Vec<ContactListRecord>, _>>()?;
        let next = if more {
            lists.last().map(|l| l.name.clone())
        } else {
            None
        };
        Ok((lists, next))
    }

    /// `CreateContact` (F-170): the list must exist (`NotFound`), the address must not be in
    /// it yet (`AlreadyExists`); preferences name topics of the list; `AttributesData` is a
    /// JSON object.
    pub async fn create_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        preferences: Vec<TopicPreference>,
        unsubscribe_all: bool,
        attributes_data: Option<String>,
    ) -> Result<(), EngineError> {
        let email = normalize_address(email)?;
        rules::validate_attributes(attributes_data.as_deref())?;
        let l = self.get_contact_list(scope, list).await?;
        let rec = ContactRecord {
            topic_preferences: rules::validate_preferences(&l, &preferences)?,
            unsubscribe_all,
            attributes_data,
        };
        self.store
            .insert_contacts(scope, list, &[(email.clone(), to_data(&rec))], false)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => {
                    EngineError::AlreadyExists(format!("Contact already exists in list {list}."))
                }
                StoreError::NotFound => list_not_found(list),
                other => other.into(),
            })?;
        Ok(())
    }

    /// `GetContact`: the list (for `TopicDefaultPreferences`) and the contact.
    pub async fn get_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<(ContactListRecord, Contact), EngineError> {
        let l = self.get_contact_list(scope, list).await?;
        let email = normalize_address(email).map_err(|_| contact_not_found(email, list))?;
        let row = self
            .store
            .get_contact(scope, list, &email)
            .await?
            .ok_or_else(|| contact_not_found(&email, list))?;
        Ok((l, from_row(row)?))
    }

    /// `UpdateContact` (F-168): each given member replaces the stored one; absent members keep
    /// theirs.
    pub async fn update_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        preferences: Option<Vec<TopicPreference>>,
        unsubscribe_all: Option<bool>,
        attributes_data: Option<String>,
    ) -> Result<(), EngineError> {
        rules::validate_attributes(attributes_data.as_deref())?;
        let email = normalize_address(email).map_err(|_| contact_not_found(email, list))?;
        loop {
            let l = self.get_contact_list(scope, list).await?;
            let c = self
                .store
                .get_contact(scope, list, &email)
                .await?
                .ok_or_else(|| contact_not_found(&email, list))?;
            let version = c.version;
            let mut rec = from_row(c)?.record;
            if let Some(p) = &preferences {
                rec.topic_preferences = rules::validate_preferences(&l, p)?;
            }
            if let Some(u) = unsubscribe_all {
                rec.unsubscribe_all = u;
            }
            if attributes_data.is_some() {
                rec.attributes_data = attributes_data.clone();
            }
            match self
                .store
                .update_contact(scope, list, &email, &to_data(&rec), version)
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(contact_not_found(&email, list)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `DeleteContact`.
    pub async fn delete_contact(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<(), EngineError> {
        self.get_contact_list(scope, list).await?;
        let email = normalize_address(email).map_err(|_| contact_not_found(email, list))?;
        if self.store.delete_contact(scope, list, &email).await? {
            Ok(())
        } else {
            Err(contact_not_found(&email, list))
        }
    }

    /// `ListContacts` (F-176, Q-197): contacts matching `filter` in byte order of their
    /// addresses, at most `limit`, and the address to resume after when the scan stopped
    /// early (the page is full, or [`SCAN_LIMIT`] contacts were examined).
    pub async fn list_contacts(
        &self,
        scope: &Scope,
        list: &str,
        filter: &ContactFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(ContactListRecord, Vec<Contact>, Option<String>), EngineError> {
        let l = self.get_contact_list(scope, list).await?;
        filter.check(&l)?;
        let mut out = Vec::new();
        let mut cursor = after.map(str::to_string);
        let mut scanned = 0;
        loop {
            let batch = SCAN_BATCH.min(limit + 1);
            let rows = self
                .store
                .list_contacts(scope, list, cursor.as_deref(), batch)
                .await?;
            let exhausted = rows.len() < batch;
            for row in rows {
                let email = row.email.clone();
                scanned += 1;
                let c = from_row(row)?;
                if filter.matches(&l, &c.record) {
                    if out.len() == limit {
                        // One more match exists: resume after the last one returned.
                        let last = out.last().map(|c: &Contact| c.email.clone());
                        return Ok((l, out, last));
                    }
                    out.push(c);
                }
                cursor = Some(email);
                if scanned >= SCAN_LIMIT {
                    return Ok((l, out, cursor));
                }
            }
            if exhausted {
                return Ok((l, out, None));
            }
        }
    }
}

//! SES v2 contact lists and contacts (spec F-166..F-176; DECISIONS ..Q-197;
//! model operations `CreateContactList`, `GetContactList`, `UpdateContactList`,
//! `DeleteContactList`, `ListContactLists`, `CreateContact`, `GetContact`, `UpdateContact`,
//! `DeleteContact`, `ListContacts`). The rules are `sesame_engine::contacts`; this module maps
//! wire shapes. `CreateImportJob` for contact lists is not implemented yet (the generated
//! `NotImplementedException`).
//!
//! Timestamps are epoch seconds (the rest-json `timestamp` of the model). Pages hold at most
//! 1,000 items (the default when `PageSize` is absent); `NextToken` is signed and bound to the
//! operation, the list and the filter.

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::contacts::{
    Contact, ContactFilter, ContactListRecord, SubscriptionStatus, Topic, TopicPreference,
    MAX_PAGE_SIZE,
};
use sesame_engine::EngineError;

use super::{from_wire_tags, SesV2};
use crate::error::v2 as err;
use crate::RequestCtx;

type R<T> = Result<T, ApiError>;

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn page_size(size: Option<i64>) -> R<usize> {
    let size = size.unwrap_or(MAX_PAGE_SIZE as i64);
    if !(1..=MAX_PAGE_SIZE as i64).contains(&size) {
        return Err(err(EngineError::BadRequest(format!(
            "PageSize must be between 1 and {MAX_PAGE_SIZE}."
        ))));
    }
    Ok(size as usize)
}

fn topics_in(topics: Vec<w::Topic>) -> R<Vec<Topic>> {
    topics
        .into_iter()
        .map(|t| {
            Ok(Topic {
                default_subscription_status: SubscriptionStatus::parse(
                    &t.default_subscription_status,
                )
                .map_err(err)?,
                topic_name: t.topic_name,
                display_name: t.display_name,
                description: t.description,
            })
        })
        .collect()
}

fn topics_out(topics: &[Topic]) -> Vec<w::Topic> {
    topics
        .iter()
        .map(|t| w::Topic {
            topic_name: t.topic_name.clone(),
            display_name: t.display_name.clone(),
            description: t.description.clone(),
            default_subscription_status: t.default_subscription_status.as_wire().into(),
        })
        .collect()
}

fn preferences_in(p: Vec<w::TopicPreference>) -> R<Vec<TopicPreference>> {
    p.into_iter()
        .map(|p| {
            Ok(TopicPreference {
                subscription_status: SubscriptionStatus::parse(&p.subscription_status)
                    .map_err(err)?,
                topic_name: p.topic_name,
            })
        })
        .collect()
}

fn preferences_out(p: Vec<TopicPreference>) -> Vec<w::TopicPreference> {
    p.into_iter()
        .map(|p| w::TopicPreference {
            topic_name: p.topic_name,
            subscription_status: p.subscription_status.as_wire().into(),
        })
        .collect()
}

pub(super) async fn create_list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateContactListRequest,
) -> R<w::CreateContactListResponse> {
    let topics = topics_in(i.topics.unwrap_or_default())?;
    let tags = from_wire_tags(i.tags).map_err(err)?;
    api.engine
        .create_contact_list(
            &ctx.scope,
            &i.contact_list_name,
            i.description,
            topics,
            tags,
        )
        .await
        .map_err(err)?;
    Ok(w::CreateContactListResponse {})
}

pub(super) async fn get_list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetContactListRequest,
) -> R<w::GetContactListResponse> {
    let l: ContactListRecord = api
        .engine
        .get_contact_list(&ctx.scope, &i.contact_list_name)
        .await
        .map_err(err)?;
    Ok(w::GetContactListResponse {
        topics: Some(topics_out(&l.topics)),
        description: l.description,
        created_timestamp: Some(secs(l.created_at)),
        last_updated_timestamp: Some(secs(l.last_updated_at)),
        tags: Some(
            l.tags
                .into_iter()
                .map(|t| w::Tag {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
        ),
        contact_list_name: Some(l.name),
    })
}

pub(super) async fn update_list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::UpdateContactListRequest,
) -> R<w::UpdateContactListResponse> {
    let topics = i.topics.map(topics_in).transpose()?;
    api.engine
        .update_contact_list(&ctx.scope, &i.contact_list_name, topics, i.description)
        .await
        .map_err(err)?;
    Ok(w::UpdateContactListResponse {})
}

pub(super) async fn delete_list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteContactListRequest,
) -> R<w::DeleteContactListResponse> {
    api.engine
        .delete_contact_list(&ctx.scope, &i.contact_list_name)
        .await
        .map_err(err)?;
    Ok(w::DeleteContactListResponse {})
}

pub(super) async fn list_lists(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListContactListsRequest,
) -> R<w::ListContactListsResponse> {
    const OP: &str = "ListContactLists";
    let e = &api.engine;
    let size = page_size(i.page_size)?;
    let after = e
        .parse_page_token(&ctx.scope, OP, "", i.next_token.as_deref())
        .map_err(err)?;
    let (lists, more) = e
        .list_contact_lists(&ctx.scope, after.as_deref(), size)
        .await
        .map_err(err)?;
    Ok(w::ListContactListsResponse {
        contact_lists: Some(
            lists
                .into_iter()
                .map(|l| w::ContactList {
                    contact_list_name: Some(l.name),
                    last_updated_timestamp: Some(secs(l.last_updated_at)),
                })
                .collect(),
        ),
        next_token: more.map(|last| e.page_token(&ctx.scope, OP, "", &last)),
    })
}

pub(super) async fn create_contact(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateContactRequest,
) -> R<w::CreateContactResponse> {
    let prefs = preferences_in(i.topic_preferences.unwrap_or_default())?;
    api.engine
        .create_contact(
            &ctx.scope,
            &i.contact_list_name,
            &i.email_address,
            prefs,
            i.unsubscribe_all.unwrap_or(false),
            i.attributes_data,
        )
        .await
        .map_err(err)?;
    Ok(w::CreateContactResponse {})
}

pub(super) async fn get_contact(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetContactRequest,
) -> R<w::GetContactResponse> {
    let (list, c) = api
        .engine
        .get_contact(&ctx.scope, &i.contact_list_name, &i.email_address)
        .await
        .map_err(err)?;
    Ok(w::GetContactResponse {
        contact_list_name: Some(list.name.clone()),
        email_address: Some(c.email),
        topic_preferences: Some(preferences_out(c.record.current_preferences(&list))),
        topic_default_preferences: Some(preferences_out(list.default_preferences())),
        unsubscribe_all: Some(c.record.unsubscribe_all),
        attributes_data: c.record.attributes_data,
        created_timestamp: Some(secs(c.created_at)),
        last_updated_timestamp: Some(secs(c.updated_at)),
    })
}

pub(super) async fn update_contact(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::UpdateContactRequest,
) -> R<w::UpdateContactResponse> {
    let prefs = i.topic_preferences.map(preferences_in).transpose()?;
    api.engine
        .update_contact(
            &ctx.scope,
            &i.contact_list_name,
            &i.email_address,
            prefs,
            i.unsubscribe_all,
            i.attributes_data,
        )
        .await
        .map_err(err)?;
    Ok(w::UpdateContactResponse {})
}

pub(super) async fn delete_contact(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteContactRequest,
) -> R<w::DeleteContactResponse> {
    api.engine
        .delete_contact(&ctx.scope, &i.contact_list_name, &i.email_address)
        .await
        .map_err(err)?;
    Ok(w::DeleteContactResponse {})
}

pub(super) async fn list_contacts(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListContactsRequest,
) -> R<w::ListContactsResponse> {
    const OP: &str = "ListContacts";
    let e = &api.engine;
    let size = page_size(i.page_size)?;
    let f = i.filter.unwrap_or_default();
    let topic = f.topic_filter.unwrap_or_default();
    let filter = ContactFilter {
        status: f
            .filtered_status
            .as_deref()
            .map(SubscriptionStatus::parse)
            .transpose()
            .map_err(err)?,
        topic: topic.topic_name,
        use_default: topic.use_default_if_preference_unavailable.unwrap_or(false),
    };
    let key = filter.token_key(&i.contact_list_name);
    let after = e
        .parse_page_token(&ctx.scope, OP, &key, i.next_token.as_deref())
        .map_err(err)?;
    let (list, contacts, more) = e
        .list_contacts(
            &ctx.scope,
            &i.contact_list_name,
            &filter,
            after.as_deref(),
            size,
        )
        .await
        .map_err(err)?;
    let defaults = preferences_out(list.default_preferences());
    Ok(w::ListContactsResponse {
        contacts: Some(
            contacts
                .into_iter()
                .map(|c: Contact| w::Contact {
                    topic_preferences: Some(preferences_out(c.record.current_preferences(&list))),
                    topic_default_preferences: Some(defaults.clone()),
                    unsubscribe_all: Some(c.record.unsubscribe_all),
                    last_updated_timestamp: Some(secs(c.updated_at)),
                    email_address: Some(c.email),
                })
                .collect(),
        ),
        next_token: more.map(|last| e.page_token(&ctx.scope, OP, &key, &last)),
    })
}

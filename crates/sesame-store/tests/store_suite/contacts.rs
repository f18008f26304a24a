//! Contacts of contact lists (`insert_contacts`, `get_contact`, `update_contact`,
//! `delete_contact`, `list_contacts`; migration 0011; spec F-166..F-178, DECISIONS Q-273):
//! contacts exist only inside an existing list, are unique per list, update by
//! compare-and-set, list in byte order, and go with their list when it is deleted — also when
//! inserts race the delete.

use serde_json::json;
use sesame_model::{ResourceKey, Store, StoreError, CONTACT_LIST_KIND};

use super::{scope, Ctx};

fn list_key(n: u64, name: &str) -> ResourceKey {
    ResourceKey::new(&scope(n, "us-east-1"), CONTACT_LIST_KIND, name)
}

fn doc(v: i64) -> serde_json::Value {
    json!({"topic_preferences": [], "unsubscribe_all": false, "n": v})
}

/// Insert needs the list; duplicates skip or fail; get, CAS update, delete; scopes and lists
/// are isolated.
pub(crate) async fn contacts_live_inside_their_list(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let row = |e: &str, v| (e.to_string(), doc(v));
    assert_eq!(
        s.insert_contacts(&sc, "news", &[row("a@x.test", 1)], false)
            .await,
        Err(StoreError::NotFound),
        "no list, no contact"
    );
    s.insert_resource(&list_key(1, "news"), &json!({"name": "news"}))
        .await
        .unwrap();
    s.insert_resource(&list_key(1, "other"), &json!({"name": "other"}))
        .await
        .unwrap();
    assert_eq!(
        s.insert_contacts(
            &sc,
            "news",
            &[row("a@x.test", 1), row("b@x.test", 2)],
            false
        )
        .await,
        Ok(2)
    );
    // A duplicate fails the whole call…
    assert_eq!(
        s.insert_contacts(
            &sc,
            "news",
            &[row("c@x.test", 3), row("a@x.test", 9)],
            false
        )
        .await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(s.get_contact(&sc, "news", "c@x.test").await.unwrap(), None);
    // …or is skipped (F-178: a send creates only the missing contacts).
    assert_eq!(
        s.insert_contacts(&sc, "news", &[row("c@x.test", 3), row("a@x.test", 9)], true)
            .await,
        Ok(1)
    );
    let a = s
        .get_contact(&sc, "news", "a@x.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            a.contact_list.as_str(),
            a.email.as_str(),
            &a.data,
            a.version
        ),
        ("news", "a@x.test", &doc(1), 1)
    );
    assert_eq!(s.get_contact(&sc, "other", "a@x.test").await.unwrap(), None);
    assert_eq!(
        s.get_contact(&scope(2, "us-east-1"), "news", "a@x.test")
            .await
            .unwrap(),
        None
    );

    let up = s
        .update_contact(&sc, "news", "a@x.test", &doc(10), 1)
        .await
        .unwrap();
    assert_eq!((up.version, &up.data), (2, &doc(10)));
    assert!(up.updated_at >= up.created_at);
    assert_eq!(
        s.update_contact(&sc, "news", "a@x.test", &doc(11), 1).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        s.update_contact(&sc, "news", "zz@x.test", &doc(11), 1)
            .await,
        Err(StoreError::NotFound)
    );
    assert!(s.delete_contact(&sc, "news", "b@x.test").await.unwrap());
    assert!(!s.delete_contact(&sc, "news", "b@x.test").await.unwrap());
}

/// Byte order, `after` cursor and limit; every contact once over all pages.
pub(crate) async fn contacts_list_in_byte_order_and_page(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    s.insert_resource(&list_key(1, "news"), &json!({}))
        .await
        .unwrap();
    let emails = [
        "b@x.test",
        "B@x.test",
        "a@x.test",
        "a_b@x.test",
        "a%b@x.test",
        "é@x.test",
    ];
    let rows: Vec<_> = emails.iter().map(|e| (e.to_string(), doc(0))).collect();
    s.insert_contacts(&sc, "news", &rows, false).await.unwrap();
    let mut want: Vec<&str> = emails.to_vec();
    want.sort(); // Rust's str order is byte order
    let all = s.list_contacts(&sc, "news", None, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.email.as_str()).collect::<Vec<_>>(),
        want
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .list_contacts(&sc, "news", after.as_deref(), 2)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|c| c.email.clone());
        seen.extend(page.into_iter().map(|c| c.email));
    }
    assert_eq!(seen, want);
}

/// deleting the list (by key or by prefix) deletes its contacts and no others; a new
/// list of the same name starts empty.
pub(crate) async fn contacts_go_with_their_list(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    for l in ["news", "news2", "other"] {
        s.insert_resource(&list_key(1, l), &json!({}))
            .await
            .unwrap();
        s.insert_contacts(&sc, l, &[("a@x.test".into(), doc(0))], false)
            .await
            .unwrap();
    }
    s.insert_resource(&list_key(2, "news"), &json!({}))
        .await
        .unwrap();
    s.insert_contacts(
        &scope(2, "us-east-1"),
        "news",
        &[("a@x.test".into(), doc(0))],
        false,
    )
    .await
    .unwrap();

    assert!(s.delete_resource(&list_key(1, "news")).await.unwrap());
    assert_eq!(s.get_contact(&sc, "news", "a@x.test").await.unwrap(), None);
    assert!(s
        .get_contact(&sc, "news2", "a@x.test")
        .await
        .unwrap()
        .is_some());
    assert!(s
        .get_contact(&scope(2, "us-east-1"), "news", "a@x.test")
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        s.delete_resources_by_prefix(&sc, CONTACT_LIST_KIND, "news")
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.get_contact(&sc, "news2", "a@x.test").await.unwrap(), None);
    assert!(s
        .get_contact(&sc, "other", "a@x.test")
        .await
        .unwrap()
        .is_some());

    s.insert_resource(&list_key(1, "news"), &json!({}))
        .await
        .unwrap();
    assert!(s
        .list_contacts(&sc, "news", None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Inserts racing the delete of their list (nodes sharing the database): once the delete has
/// returned, no contact of the list is left, whichever side won each race.
pub(crate) async fn concurrent_inserts_and_list_delete_leave_no_orphans(ctx: Ctx) {
    let sc = scope(1, "us-east-1");
    for round in 0..5 {
        ctx.store
            .insert_resource(&list_key(1, "news"), &json!({}))
            .await
            .unwrap();
        let inserters: Vec<_> = (0..8)
            .map(|i| {
                let store = ctx.store.clone();
                let sc = sc.clone();
                tokio::spawn(async move {
                    let email = format!("r{round}-{i}@x.test");
                    store
                        .insert_contacts(&sc, "news", &[(email, doc(i))], true)
                        .await
                })
            })
            .collect();
        let deleter = {
            let store = ctx.store.clone();
            tokio::spawn(async move { store.delete_resource(&list_key(1, "news")).await })
        };
        for t in inserters {
            match t.await.unwrap() {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert!(deleter.await.unwrap().unwrap());
        assert!(
            ctx.store
                .list_contacts(&sc, "news", None, 100)
                .await
                .unwrap()
                .is_empty(),
            "round {round}: orphan contacts"
        );
    }
}

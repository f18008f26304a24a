//! The Easy DKIM key index (`find_dkim_selector`, migration 0008; DECISIONS Q-65 (a)) and the
//! operator's DKIM key (`get_operator_dkim_key` / `insert_operator_dkim_key`, Q-72).
//!
//! The index is derived by the store from every identity write in the same transaction, so
//! these tests only write identity documents and then look tokens up.

use serde_json::{json, Value};
use sesame_model::{OperatorDkimKey, ResourceKey, Store, StoreError};

use super::{scope, Ctx};

fn easy(tokens: &[&str]) -> Value {
    json!({
        "identity": "x",
        "dkim": {
            "signing_enabled": true,
            "status": "PENDING",
            "origin": "AWS_SES",
            "tokens": tokens,
            "keys": tokens.iter().map(|t| json!({
                "selector": t, "private_key_sealed": "s", "public_key": format!("P-{t}"), "bits": 2048
            })).collect::<Vec<_>>(),
        }
    })
}

fn byodkim(selector: &str) -> Value {
    json!({"dkim": {"origin": "EXTERNAL", "tokens": [selector], "keys": [
        {"selector": selector, "private_key_sealed": "s", "public_key": "P-byo", "bits": 2048}
    ]}})
}

async fn owner(s: &impl Store, token: &str) -> Option<(String, String, String)> {
    s.find_dkim_selector(token).await.unwrap().map(|f| {
        assert_eq!(f.token, token);
        (f.scope.account.to_string(), f.identity, f.public_key)
    })
}

/// every identity write keeps the token index in step: insert, compare-and-set update
/// (a rotation replaces a key), a failed CAS (no change), upsert (Easy → BYODKIM removes the
/// tokens: BYODKIM keys are in the customer's DNS), delete, delete by prefix; other kinds and
/// other scopes never interfere.
pub(crate) async fn dkim_index_follows_identity_writes(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "eu-west-1");
    let acct_a = a.account.to_string();
    let acct_b = b.account.to_string();
    let ka = ResourceKey::new(&a, "identity", "a.test");
    let r = s
        .insert_resource(&ka, &easy(&["ta1", "ta2", "ta3"]))
        .await
        .unwrap();
    s.insert_resource(&ResourceKey::new(&b, "identity", "b.test"), &easy(&["tb1"]))
        .await
        .unwrap();
    // A template whose text looks like an identity is not an identity.
    s.insert_resource(&ResourceKey::new(&a, "template", "t"), &easy(&["tt1"]))
        .await
        .unwrap();
    assert_eq!(
        owner(s, "ta2").await,
        Some((acct_a.clone(), "a.test".into(), "P-ta2".into()))
    );
    assert_eq!(
        owner(s, "tb1").await,
        Some((acct_b.clone(), "b.test".into(), "P-tb1".into()))
    );
    let found = s.find_dkim_selector("tb1").await.unwrap().unwrap();
    assert_eq!(found.scope, b);
    assert_eq!(owner(s, "tt1").await, None);
    assert_eq!(owner(s, "nothing").await, None);

    // Rotation: ta1 is replaced by ta4 (compare-and-set).
    let r = s
        .update_resource(&ka, &easy(&["ta2", "ta3", "ta4"]), r.version)
        .await
        .unwrap();
    assert_eq!(owner(s, "ta1").await, None);
    assert_eq!(
        owner(s, "ta4").await,
        Some((acct_a.clone(), "a.test".into(), "P-ta4".into()))
    );
    // A lost compare-and-set changes neither the document nor the index.
    assert_eq!(
        s.update_resource(&ka, &easy(&["ta9"]), r.version - 1)
            .await
            .unwrap_err(),
        StoreError::Conflict
    );
    assert_eq!(owner(s, "ta9").await, None);
    assert!(owner(s, "ta4").await.is_some());

    // Easy DKIM → BYODKIM (upsert): the Easy DKIM tokens leave the zone, the BYODKIM
    // selector never enters it.
    s.upsert_resource(&ka, &byodkim("ta2")).await.unwrap();
    for t in ["ta2", "ta3", "ta4"] {
        assert_eq!(owner(s, t).await, None, "{t}");
    }
    // Back to Easy DKIM (upsert), then delete.
    s.upsert_resource(&ka, &easy(&["ta5"])).await.unwrap();
    assert!(owner(s, "ta5").await.is_some());
    assert!(s.delete_resource(&ka).await.unwrap());
    assert_eq!(owner(s, "ta5").await, None);

    // Delete by prefix removes exactly the deleted identities' tokens.
    for (name, t) in [("p/one", "tp1"), ("p/two", "tp2"), ("q", "tq1")] {
        s.insert_resource(&ResourceKey::new(&a, "identity", name), &easy(&[t]))
            .await
            .unwrap();
    }
    assert_eq!(
        s.delete_resources_by_prefix(&a, "identity", "p/")
            .await
            .unwrap(),
        2
    );
    assert_eq!(owner(s, "tp1").await, None);
    assert_eq!(owner(s, "tp2").await, None);
    assert!(owner(s, "tq1").await.is_some());
    // The other scope's identity is untouched throughout.
    assert!(owner(s, "tb1").await.is_some());
}

/// The same token in two identities (never generated, Q-94, but possible by copying a
/// document): both rows exist, the lookup is deterministic (first by account, region,
/// identity), and deleting one owner leaves the other's row.
pub(crate) async fn dkim_index_token_collision_keeps_both_owners(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "us-east-1");
    let kb = ResourceKey::new(&b, "identity", "b.test");
    let ka = ResourceKey::new(&a, "identity", "a.test");
    s.insert_resource(&kb, &easy(&["dup"])).await.unwrap();
    s.insert_resource(&ka, &easy(&["dup"])).await.unwrap();
    assert_eq!(owner(s, "dup").await.unwrap().1, "a.test");
    s.delete_resource(&ka).await.unwrap();
    assert_eq!(owner(s, "dup").await.unwrap().1, "b.test");
}

/// Migration 0008 backfills the index from identities stored before it: drop the tables and
/// the ledger row, migrate again, and every Easy DKIM token (and no BYODKIM selector) is found.
pub(crate) async fn dkim_index_backfill_on_migration(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    s.insert_resource(
        &ResourceKey::new(&a, "identity", "a.test"),
        &easy(&["bf1", "bf2"]),
    )
    .await
    .unwrap();
    s.insert_resource(
        &ResourceKey::new(&a, "identity", "byo.test"),
        &byodkim("sel"),
    )
    .await
    .unwrap();
    s.insert_resource(
        &ResourceKey::new(&a, "identity", "u@x.test"),
        &json!({"dkim": null}),
    )
    .await
    .unwrap();
    for sql in [
        "DROP TABLE dkim_selectors",
        "DROP TABLE operator_dkim_keys",
        "DELETE FROM sesame_migrations WHERE version = 8",
    ] {
        s.execute_raw_for_tests(sql).await.unwrap();
    }
    s.migrate().await.unwrap();
    assert_eq!(
        owner(s, "bf2").await,
        Some((a.account.to_string(), "a.test".into(), "P-bf2".into()))
    );
    assert!(owner(s, "bf1").await.is_some());
    assert_eq!(owner(s, "sel").await, None);
}

fn op_key(selector: &str, public: &str) -> OperatorDkimKey {
    OperatorDkimKey {
        selector: selector.into(),
        private_key_sealed: format!("sealed-{public}"),
        public_key: public.into(),
        bits: 2048,
        created_at: 1_700_000_000_000,
    }
}

/// the operator key is generated once for all nodes: the first insert wins, later
/// inserts (other nodes, concurrently or after) get the winner; selectors are independent.
pub(crate) async fn operator_dkim_key_first_insert_wins(ctx: Ctx) {
    let s = &ctx.store;
    assert_eq!(s.get_operator_dkim_key("sesame1").await.unwrap(), None);
    let first = s
        .insert_operator_dkim_key(&op_key("sesame1", "A"))
        .await
        .unwrap();
    assert_eq!(first, op_key("sesame1", "A"));
    let again = s
        .insert_operator_dkim_key(&op_key("sesame1", "B"))
        .await
        .unwrap();
    assert_eq!(again.public_key, "A");
    assert_eq!(
        s.get_operator_dkim_key("sesame1")
            .await
            .unwrap()
            .unwrap()
            .public_key,
        "A"
    );
    // Two "nodes" (pools) racing for a new selector agree on one key.
    let other = ctx.reopen().await;
    let (kx, ky) = (op_key("sesame2", "X"), op_key("sesame2", "Y"));
    let (x, y) = tokio::join!(
        s.insert_operator_dkim_key(&kx),
        other.insert_operator_dkim_key(&ky)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x, y);
    assert!(x.public_key == "X" || x.public_key == "Y");
    assert_eq!(
        s.get_operator_dkim_key("sesame1")
            .await
            .unwrap()
            .unwrap()
            .public_key,
        "A"
    );
}

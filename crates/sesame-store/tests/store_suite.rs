//! The shared `Store` suite: every behaviour of `sesame_model::Store`, written once and run
//! against SQLite (a temp file, always: module `sqlite::`) and against PostgreSQL when
//! `SESAME_TEST_DATABASE_URL` is set (module `postgres::`; otherwise each test prints a skip
//! notice and passes). On PostgreSQL every test runs in a schema of its own,
//! `sesame_test_<uuid>`, dropped at the end even when the test fails, so parallel tests and
//! reruns never collide.
//!
//! Run the PostgreSQL half:
//! `SESAME_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p sesame-store`
//!
//! Plus one SQLite-only test, `sqlite_kill9_after_ack_loses_nothing`, which re-executes this
//! test binary as a writer child and kills it with SIGKILL.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::json;
use sesame_model::{
    AccessKeyRecord, AccountId, AccountRecord, Region, ResourceKey, Scope, Store, StoreError,
};
use sesame_store::SqlStore;

#[path = "store_suite/sending.rs"]
mod sending;
use sending::*;
#[path = "store_suite/message_log.rs"]
mod message_log;
use message_log::*;

#[path = "store_suite/ip_usage.rs"]
mod ip_usage;
use ip_usage::*;

#[path = "store_suite/pool_usage.rs"]
mod pool_usage;
use pool_usage::*;

#[path = "store_suite/queue_ops.rs"]
mod queue_ops;
use queue_ops::*;

#[path = "store_suite/dkim_index.rs"]
mod dkim_index;
use dkim_index::*;

#[path = "store_suite/event_dispatch.rs"]
mod event_dispatch;
use event_dispatch::*;

#[path = "store_suite/bodies.rs"]
mod bodies;
use bodies::*;

#[path = "store_suite/verification.rs"]
mod verification;
use verification::*;

#[path = "store_suite/contacts.rs"]
mod contacts;
use contacts::*;

const PG_URL_VAR: &str = "SESAME_TEST_DATABASE_URL";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Where a test's database lives, so it can be reopened or a fresh sibling created.
enum Target {
    Sqlite {
        dir: PathBuf,
    },
    Postgres {
        url: String,
        schema: String,
        /// Extra schemas made by `open_fresh`, dropped with the main one.
        extra: Mutex<Vec<String>>,
    },
}

/// What a suite test gets: a migrated store and the means to reopen it.
#[derive(Clone)]
struct Ctx {
    store: SqlStore,
    target: Arc<Target>,
}

impl Ctx {
    /// A new pool on the same database (after `store.close()`, this is a "restart").
    async fn reopen(&self) -> SqlStore {
        match &*self.target {
            Target::Sqlite { dir } => SqlStore::connect(&sqlite_url(dir, "sesame"))
                .await
                .expect("reopen sqlite"),
            Target::Postgres { url, schema, .. } => SqlStore::connect_with_schema(url, schema)
                .await
                .expect("reopen postgres"),
        }
    }

    /// URL (and schema) of a new, empty, unmigrated database next to this test's one.
    async fn fresh_location(&self, name: &str) -> (String, Option<String>) {
        match &*self.target {
            Target::Sqlite { dir } => (sqlite_url(dir, name), None),
            Target::Postgres { url, schema, extra } => {
                let fresh = format!("{schema}_{name}");
                pg_admin(url, &format!("CREATE SCHEMA {fresh}")).await;
                extra.lock().unwrap().push(fresh.clone());
                (url.clone(), Some(fresh))
            }
        }
    }
}

async fn open_at(url: &str, schema: Option<&str>) -> SqlStore {
    match schema {
        Some(schema) => SqlStore::connect_with_schema(url, schema).await.unwrap(),
        None => SqlStore::connect(url).await.unwrap(),
    }
}

fn sqlite_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}/{name}.db", dir.display())
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sesame-store-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs one statement on a short-lived connection outside any test schema.
async fn pg_admin(url: &str, sql: &str) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect to SESAME_TEST_DATABASE_URL");
    sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
    pool.close().await;
}

/// Runs `test` on a spawned task so a panic comes back as a value: clean-up always happens,
/// then the panic is re-raised.
async fn run_and_clean<F, Fut>(ctx: Ctx, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(test(ctx.clone())).await;
    ctx.store.close().await;
    match &*ctx.target {
        Target::Sqlite { dir } => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Target::Postgres { url, schema, extra } => {
            let mut schemas = vec![schema.clone()];
            schemas.extend(extra.lock().unwrap().drain(..));
            for s in schemas {
                pg_admin(url, &format!("DROP SCHEMA IF EXISTS {s} CASCADE")).await;
            }
        }
    }
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = temp_dir();
    let store = SqlStore::connect(&sqlite_url(&dir, "sesame"))
        .await
        .unwrap();
    assert_eq!(store.backend_name(), "sqlite");
    store.migrate().await.unwrap();
    let target = Arc::new(Target::Sqlite { dir });
    run_and_clean(Ctx { store, target }, test).await;
}

async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        eprintln!("SKIPPED: {PG_URL_VAR} is not set, PostgreSQL variant not run");
        return;
    };
    let schema = format!("sesame_test_{}", uuid::Uuid::new_v4().simple());
    pg_admin(&url, &format!("CREATE SCHEMA {schema}")).await;
    eprintln!("postgres: running in schema {schema}");
    let store = SqlStore::connect_with_schema(&url, &schema).await.unwrap();
    assert_eq!(store.backend_name(), "postgres");
    store.migrate().await.unwrap();
    let target = Arc::new(Target::Postgres {
        url,
        schema,
        extra: Mutex::new(Vec::new()),
    });
    run_and_clean(Ctx { store, target }, test).await;
}

/// Instantiates every listed test once per backend: `sqlite::<name>` and `postgres::<name>`.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run_postgres(super::$name).await
                }
            )*
        }
    };
}

suite!(
    accounts_create_get_list_update,
    access_keys_create_get_list_delete,
    access_key_of_unknown_account_is_refused,
    resource_insert_get_and_duplicate,
    resource_document_round_trips_exactly,
    resource_update_is_compare_and_set,
    resource_upsert_inserts_then_bumps,
    resource_delete,
    resource_delete_by_prefix_is_literal,
    resource_list_orders_by_bytes_with_prefix_after_limit,
    resource_list_pages_cover_everything_once,
    resource_count,
    dkim_index_follows_identity_writes,
    dkim_index_token_collision_keeps_both_owners,
    dkim_index_backfill_on_migration,
    operator_dkim_key_first_insert_wins,
    scopes_and_kinds_are_isolated,
    concurrent_updates_with_same_version_one_wins,
    concurrent_upserts_lose_no_increment,
    data_survives_close_and_reopen,
    migrate_twice_is_a_no_op,
    concurrent_migrate_on_fresh_database,
    accept_claim_finish_round_trip,
    claims_oldest_due_first_up_to_limit,
    expired_lease_is_reclaimable,
    only_the_lease_holder_finishes,
    concurrent_finishes_commit_together_and_fail_alone,
    retry_keeps_remaining_recipients,
    concurrent_claims_never_share_a_message,
    daily_quota_is_all_or_nothing,
    unlimited_daily_quota,
    rate_bucket_capacity_and_refill,
    sent_last_24h_window,
    concurrent_accepts_respect_daily_quota,
    events_appended_and_listed_in_order,
    send_statistics_buckets,
    reputation_buckets_by_set_and_send_hour,
    prune_statistics_by_age,
    capture_lists_newest_first_and_filters,
    delete_captured_one_or_all,
    sending_state_survives_reopen,
    ip_sends_stop_at_the_cap,
    ip_sends_are_per_scope_ip_and_day,
    ip_sends_prune_old_days,
    concurrent_ip_sends_never_exceed_the_cap,
    pool_usage_counts_and_limits,
    pool_usage_delete_and_prune,
    concurrent_pool_usage_never_exceeds_the_limit,
    verification_claims_due_rows_once,
    verification_leases_expire_and_single_claims,
    concurrent_verification_claims_never_share,
    finished_message_is_found_in_the_log,
    prune_message_log_by_age,
    queue_list_filters_orders_and_pages,
    queue_get_shows_the_lease,
    queue_retry_now_spares_live_leases,
    queue_delete_respects_leases_and_leaves_tombstones,
    queue_stats_counts,
    event_dispatch_in_order_per_message,
    event_dispatch_lease_expires,
    event_dispatch_survives_reopen,
    concurrent_event_dispatch_never_shares,
    bodies_round_trip_and_go_with_their_message,
    bodies_commit_with_their_queue_rows,
    bodies_prefetch_reads_the_small_present_ones,
    resource_get_named_returns_the_present_ones,
    contacts_live_inside_their_list,
    contacts_list_in_byte_order_and_page,
    contacts_go_with_their_list,
    concurrent_inserts_and_list_delete_leave_no_orphans,
);

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn account_id(n: u64) -> AccountId {
    format!("{n:012}").parse().unwrap()
}

fn region(r: &str) -> Region {
    r.parse().unwrap()
}

fn scope(n: u64, r: &str) -> Scope {
    Scope::new(account_id(n), region(r))
}

fn account(n: u64, name: Option<&str>) -> AccountRecord {
    AccountRecord {
        account_id: account_id(n),
        name: name.map(str::to_string),
        created_at: 1_700_000_000_000 + n as i64,
        status: "Active".to_string(),
    }
}

fn access_key(id: &str, account: u64, created_at: i64) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.to_string(),
        account_id: account_id(account),
        user_name: "root".to_string(),
        // Not valid UTF-8 and with a NUL: must come back byte for byte.
        secret_ciphertext: vec![0, 1, 0xff, 0xfe, b'k', 0, 0x80],
        status: "Active".to_string(),
        created_at,
    }
}

fn names(resources: &[sesame_model::Resource]) -> Vec<&str> {
    resources.iter().map(|r| r.key.name.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Accounts and access keys
// ---------------------------------------------------------------------------------------------

async fn accounts_create_get_list_update(ctx: Ctx) {
    let s = &ctx.store;
    assert_eq!(s.list_accounts().await.unwrap(), vec![]);
    // Created out of order: the list is ordered by id.
    let b = account(222_222_222_222, Some("bravo"));
    let a = account(111_111_111_111, None);
    s.create_account(&b).await.unwrap();
    s.create_account(&a).await.unwrap();

    let dup = account(111_111_111_111, Some("other"));
    assert_eq!(s.create_account(&dup).await, Err(StoreError::AlreadyExists));

    assert_eq!(s.get_account(&a.account_id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_account(&account_id(333)).await.unwrap(), None);
    assert_eq!(s.list_accounts().await.unwrap(), vec![a.clone(), b.clone()]);

    let mut closed = a.clone();
    closed.name = Some("renamed".to_string());
    closed.status = "Closed".to_string();
    s.update_account(&closed).await.unwrap();
    assert_eq!(
        s.get_account(&a.account_id).await.unwrap(),
        Some(closed.clone())
    );
    // Updating to the same values is still "found".
    s.update_account(&closed).await.unwrap();
    let mut cleared = closed.clone();
    cleared.name = None;
    s.update_account(&cleared).await.unwrap();
    assert_eq!(
        s.get_account(&a.account_id).await.unwrap().unwrap().name,
        None
    );

    assert_eq!(
        s.update_account(&account(444, Some("ghost"))).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_account(&account_id(444)).await.unwrap(), None);
}

async fn access_keys_create_get_list_delete(ctx: Ctx) {
    let s = &ctx.store;
    s.create_account(&account(1, None)).await.unwrap();
    s.create_account(&account(2, None)).await.unwrap();

    // Order is (created_at, key id): K3 first by time, K1 before K2 on the tie.
    let k2 = access_key("AKIAKEY0000000000002", 1, 2_000);
    let k1 = access_key("AKIAKEY0000000000001", 1, 2_000);
    let k3 = access_key("AKIAKEY0000000000003", 1, 1_000);
    let other = access_key("AKIAKEY0000000000009", 2, 500);
    for k in [&k2, &k1, &k3, &other] {
        s.create_access_key(k).await.unwrap();
    }

    // The key id is unique across accounts.
    let stolen = access_key("AKIAKEY0000000000001", 2, 9);
    assert_eq!(
        s.create_access_key(&stolen).await,
        Err(StoreError::AlreadyExists)
    );

    assert_eq!(
        s.get_access_key(&k1.access_key_id).await.unwrap(),
        Some(k1.clone())
    );
    assert_eq!(
        s.get_access_key("AKIANOSUCHKEY0000000").await.unwrap(),
        None
    );
    assert_eq!(
        s.list_access_keys(&account_id(1)).await.unwrap(),
        vec![k3.clone(), k1.clone(), k2.clone()]
    );
    assert_eq!(
        s.list_access_keys(&account_id(2)).await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(s.list_access_keys(&account_id(3)).await.unwrap(), vec![]);

    // Another account cannot delete the key, even knowing its id.
    assert!(!s
        .delete_access_key(&account_id(2), &k1.access_key_id)
        .await
        .unwrap());
    assert!(s.get_access_key(&k1.access_key_id).await.unwrap().is_some());

    assert!(s
        .delete_access_key(&account_id(1), &k1.access_key_id)
        .await
        .unwrap());
    assert!(!s
        .delete_access_key(&account_id(1), &k1.access_key_id)
        .await
        .unwrap());
    assert_eq!(s.get_access_key(&k1.access_key_id).await.unwrap(), None);
    assert_eq!(
        s.list_access_keys(&account_id(1)).await.unwrap(),
        vec![k3, k2]
    );
}

/// `access_keys.account_id` is a foreign key: a key cannot point at a missing account.
async fn access_key_of_unknown_account_is_refused(ctx: Ctx) {
    let s = &ctx.store;
    let err = s
        .create_access_key(&access_key("AKIAORPHAN0000000000", 7, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(
        s.get_access_key("AKIAORPHAN0000000000").await.unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

async fn resource_insert_get_and_duplicate(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let key = ResourceKey::new(&sc, "identity", "example.com");
    let data = json!({"VerifiedForSendingStatus": false, "Tags": []});

    let created = s.insert_resource(&key, &data).await.unwrap();
    assert_eq!(created.key, key);
    assert_eq!(created.data, data);
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, created.updated_at);
    assert!(created.created_at > 1_600_000_000_000, "unix milliseconds");

    assert_eq!(s.get_resource(&key).await.unwrap(), Some(created.clone()));
    assert_eq!(
        s.insert_resource(&key, &json!({"other": 1})).await,
        Err(StoreError::AlreadyExists)
    );
    // The failed insert changed nothing.
    assert_eq!(s.get_resource(&key).await.unwrap(), Some(created));

    let missing = ResourceKey::new(&sc, "identity", "example.org");
    assert_eq!(s.get_resource(&missing).await.unwrap(), None);
}

/// Documents come back as written, including object key order (serde_json `preserve_order`)
/// and values JSON engines like to normalise.
async fn resource_document_round_trips_exactly(ctx: Ctx) {
    let s = &ctx.store;
    let key = ResourceKey::new(&scope(1, "us-east-1"), "template", "welcome");
    let data = json!({
        "zeta": 1, "alpha": {"b": 2, "a": [1, 2.5, -3, null, true]},
        "text": "héllo \u{1F600} \"quoted\" \\ \n", "big": 9_007_199_254_740_993_u64,
        "empty": {}, "nul": "a\u{0}b"
    });
    s.insert_resource(&key, &data).await.unwrap();
    let back = s.get_resource(&key).await.unwrap().unwrap().data;
    assert_eq!(back.to_string(), data.to_string());
}

async fn resource_update_is_compare_and_set(ctx: Ctx) {
    let s = &ctx.store;
    let key = ResourceKey::new(&scope(1, "us-east-1"), "configuration-set", "main");
    let v1 = s.insert_resource(&key, &json!({"n": 1})).await.unwrap();

    let v2 = s.update_resource(&key, &json!({"n": 2}), 1).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.data, json!({"n": 2}));
    assert_eq!(v2.created_at, v1.created_at);
    assert!(v2.updated_at >= v1.updated_at);
    assert_eq!(s.get_resource(&key).await.unwrap(), Some(v2.clone()));

    // Stale and future versions both conflict and change nothing.
    for stale in [1, 0, 3, -1] {
        assert_eq!(
            s.update_resource(&key, &json!({"n": "lost"}), stale).await,
            Err(StoreError::Conflict),
            "expected version {stale}"
        );
    }
    assert_eq!(s.get_resource(&key).await.unwrap(), Some(v2.clone()));

    let v3 = s.update_resource(&key, &json!({"n": 3}), 2).await.unwrap();
    assert_eq!(v3.version, 3);

    let missing = ResourceKey::new(&scope(1, "us-east-1"), "configuration-set", "nope");
    assert_eq!(
        s.update_resource(&missing, &json!({}), 1).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_resource(&missing).await.unwrap(), None);
}

async fn resource_upsert_inserts_then_bumps(ctx: Ctx) {
    let s = &ctx.store;
    let key = ResourceKey::new(&scope(1, "us-east-1"), "account", "settings");
    let first = s.upsert_resource(&key, &json!({"a": 1})).await.unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.created_at, first.updated_at);

    let second = s.upsert_resource(&key, &json!({"a": 2})).await.unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(s.get_resource(&key).await.unwrap(), Some(second));

    // Upsert and compare-and-set share the version sequence.
    let third = s.update_resource(&key, &json!({"a": 3}), 2).await.unwrap();
    assert_eq!(third.version, 3);
    let fourth = s.upsert_resource(&key, &json!({"a": 4})).await.unwrap();
    assert_eq!(fourth.version, 4);
    assert_eq!(fourth.data, json!({"a": 4}));
}

async fn resource_delete(ctx: Ctx) {
    let s = &ctx.store;
    let key = ResourceKey::new(&scope(1, "us-east-1"), "identity", "a@example.com");
    s.insert_resource(&key, &json!(1)).await.unwrap();
    assert!(s.delete_resource(&key).await.unwrap());
    assert!(!s.delete_resource(&key).await.unwrap());
    assert_eq!(s.get_resource(&key).await.unwrap(), None);
    // A deleted key can be created again, from version 1.
    assert_eq!(s.insert_resource(&key, &json!(2)).await.unwrap().version, 1);
}

/// `%` and `_` in a prefix are ordinary characters, not LIKE wildcards.
async fn resource_delete_by_prefix_is_literal(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let kind = "event-destination";
    for name in [
        "set/a", "set/b", "set/", "set", "set0", "sets", "Set/a", "set%/x", "set_/x", "setX/x",
    ] {
        s.insert_resource(&ResourceKey::new(&sc, kind, name), &json!(name))
            .await
            .unwrap();
    }
    // Same name, other kind: untouched.
    s.insert_resource(&ResourceKey::new(&sc, "template", "set/a"), &json!(0))
        .await
        .unwrap();

    assert_eq!(
        s.delete_resources_by_prefix(&sc, kind, "set/")
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.delete_resources_by_prefix(&sc, kind, "set%")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.delete_resources_by_prefix(&sc, kind, "set_")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.delete_resources_by_prefix(&sc, kind, "nothing")
            .await
            .unwrap(),
        0
    );
    let left = s.list_resources(&sc, kind, "", None, 100).await.unwrap();
    assert_eq!(names(&left), ["Set/a", "set", "set0", "setX/x", "sets"]);
    assert_eq!(s.count_resources(&sc, "template").await.unwrap(), 1);

    // The empty prefix deletes the whole kind in the scope.
    assert_eq!(
        s.delete_resources_by_prefix(&sc, kind, "").await.unwrap(),
        5
    );
    assert_eq!(s.count_resources(&sc, kind).await.unwrap(), 0);
    assert_eq!(s.count_resources(&sc, "template").await.unwrap(), 1);
}

/// Names with `%`, `_`, `/`, upper and lower case and non-ASCII, listed in byte order.
const TRICKY_NAMES: &[&str] = &[
    "b",
    "a",
    "B",
    "A",
    "a%",
    "a_",
    "a%b",
    "a_b",
    "ab",
    "aB",
    "a/",
    "a/b",
    "a/B",
    "Z",
    "z",
    "é",
    "e",
    "~",
    "_",
    "%",
    "0",
    "a b",
    "a\u{10FFFF}",
    "\u{10FFFF}",
];

fn byte_sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    v
}

async fn resource_list_orders_by_bytes_with_prefix_after_limit(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let kind = "suppressed-destination";
    for name in TRICKY_NAMES {
        s.insert_resource(&ResourceKey::new(&sc, kind, name), &json!({"n": name}))
            .await
            .unwrap();
    }
    let all = s.list_resources(&sc, kind, "", None, 1000).await.unwrap();
    assert_eq!(names(&all), byte_sorted(TRICKY_NAMES));
    assert!(all.iter().all(|r| r.key.scope == sc && r.key.kind == kind));
    assert_eq!(all[0].data, json!({"n": all[0].key.name}));

    let list = |prefix: &'static str, after: Option<&'static str>, limit: usize| {
        let s = s.clone();
        let sc = sc.clone();
        async move {
            let found = s
                .list_resources(&sc, kind, prefix, after, limit)
                .await
                .unwrap();
            found.into_iter().map(|r| r.key.name).collect::<Vec<_>>()
        }
    };
    // Each case: expected is computed the obvious way over the same names.
    for (prefix, after, limit) in [
        ("a", None, 100),
        ("a%", None, 100),
        ("a_", None, 100),
        ("a/", None, 100),
        ("%", None, 100),
        ("_", None, 100),
        ("A", None, 100),
        ("a", Some("a%"), 100),
        ("a", Some("a/"), 2),
        ("a", Some("a"), 100),
        ("a", Some("0"), 100),
        ("a", Some("b"), 100),
        ("", Some("Z"), 3),
        ("", Some("~"), 100),
        ("a", None, 0),
        ("a\u{10FFFF}", None, 100),
        ("\u{10FFFF}", None, 100),
        ("nothing", None, 100),
    ] {
        let expected: Vec<String> = byte_sorted(TRICKY_NAMES)
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .filter(|n| after.is_none_or(|a| n.as_bytes() > a.as_bytes()))
            .take(limit)
            .collect();
        assert_eq!(
            list(prefix, after, limit).await,
            expected,
            "prefix {prefix:?} after {after:?} limit {limit}"
        );
    }
    // Spot checks that do not depend on the reference computation.
    assert_eq!(list("a%", None, 100).await, ["a%", "a%b"]);
    assert_eq!(list("a_", None, 100).await, ["a_", "a_b"]);
    assert_eq!(list("a/", None, 100).await, ["a/", "a/B", "a/b"]);
    assert_eq!(list("", None, 4).await, ["%", "0", "A", "B"]);
}

async fn resource_list_pages_cover_everything_once(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    for name in TRICKY_NAMES {
        s.insert_resource(&ResourceKey::new(&sc, "identity", name), &json!(null))
            .await
            .unwrap();
    }
    for page_size in [1, 2, 5, 7, 100] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s
                .list_resources(&sc, "identity", "", after.as_deref(), page_size)
                .await
                .unwrap();
            assert!(page.len() <= page_size);
            if page.is_empty() {
                break;
            }
            after = Some(page.last().unwrap().key.name.clone());
            seen.extend(page.into_iter().map(|r| r.key.name));
        }
        assert_eq!(seen, byte_sorted(TRICKY_NAMES), "page size {page_size}");
    }
}

/// `Store::get_resources_named` (delivery reads a batch's suppression entries in one query):
/// the named resources of one scope and kind, absent names left out, other scopes and kinds
/// never mixed in, more names than one `IN (…)` list holds.
async fn resource_get_named_returns_the_present_ones(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let other = scope(2, "us-east-1");
    for name in ["x@a.test", "y@a.test", "z@a.test"] {
        s.insert_resource(
            &ResourceKey::new(&a, "suppressed", name),
            &json!({"n": name}),
        )
        .await
        .unwrap();
    }
    s.insert_resource(
        &ResourceKey::new(&other, "suppressed", "w@a.test"),
        &json!({}),
    )
    .await
    .unwrap();
    s.insert_resource(&ResourceKey::new(&a, "identity", "w@a.test"), &json!({}))
        .await
        .unwrap();
    let names: Vec<String> = ["x@a.test", "z@a.test", "w@a.test", "absent@a.test"]
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut got = s
        .get_resources_named(&a, "suppressed", &names)
        .await
        .unwrap();
    got.sort_by(|l, r| l.key.name.cmp(&r.key.name));
    let got: Vec<(String, serde_json::Value)> =
        got.into_iter().map(|r| (r.key.name, r.data)).collect();
    assert_eq!(
        got,
        vec![
            ("x@a.test".to_string(), json!({"n": "x@a.test"})),
            ("z@a.test".to_string(), json!({"n": "z@a.test"})),
        ]
    );
    assert!(s
        .get_resources_named(&a, "suppressed", &[])
        .await
        .unwrap()
        .is_empty());

    let many: Vec<String> = (0..1100).map(|i| format!("r{i:04}@b.test")).collect();
    for n in many.iter().step_by(3) {
        s.insert_resource(&ResourceKey::new(&a, "suppressed", n), &json!({}))
            .await
            .unwrap();
    }
    let got = s
        .get_resources_named(&a, "suppressed", &many)
        .await
        .unwrap();
    assert_eq!(got.len(), 367);
}

async fn resource_count(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    assert_eq!(s.count_resources(&sc, "identity").await.unwrap(), 0);
    for i in 0..7 {
        s.insert_resource(
            &ResourceKey::new(&sc, "identity", &format!("d{i}")),
            &json!(i),
        )
        .await
        .unwrap();
    }
    s.insert_resource(&ResourceKey::new(&sc, "template", "t"), &json!(0))
        .await
        .unwrap();
    assert_eq!(s.count_resources(&sc, "identity").await.unwrap(), 7);
    assert_eq!(s.count_resources(&sc, "template").await.unwrap(), 1);
    s.delete_resource(&ResourceKey::new(&sc, "identity", "d3"))
        .await
        .unwrap();
    assert_eq!(s.count_resources(&sc, "identity").await.unwrap(), 6);
}

/// all state is keyed by (account, region); the same kind and name in another account,
/// region or kind is a different resource.
async fn scopes_and_kinds_are_isolated(ctx: Ctx) {
    let s = &ctx.store;
    let scopes = [
        scope(1, "us-east-1"),
        scope(1, "eu-west-1"),
        scope(2, "us-east-1"),
        scope(2, "eu-west-1"),
    ];
    for (i, sc) in scopes.iter().enumerate() {
        for kind in ["identity", "template"] {
            for name in ["shared", "set/a", "set/b"] {
                s.insert_resource(&ResourceKey::new(sc, kind, name), &json!([i, kind, name]))
                    .await
                    .unwrap();
            }
        }
    }
    for (i, sc) in scopes.iter().enumerate() {
        let r = s
            .get_resource(&ResourceKey::new(sc, "identity", "shared"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.data, json!([i, "identity", "shared"]));
        assert_eq!(r.key.scope, *sc);
        assert_eq!(s.count_resources(sc, "identity").await.unwrap(), 3);
    }

    let (target, others) = (&scopes[0], &scopes[1..]);
    let shared = ResourceKey::new(target, "identity", "shared");
    s.update_resource(&shared, &json!("changed"), 1)
        .await
        .unwrap();
    s.upsert_resource(&ResourceKey::new(target, "identity", "set/a"), &json!("up"))
        .await
        .unwrap();
    assert_eq!(
        s.delete_resources_by_prefix(target, "identity", "set/")
            .await
            .unwrap(),
        2
    );
    assert!(s.delete_resource(&shared).await.unwrap());
    assert_eq!(s.count_resources(target, "identity").await.unwrap(), 0);
    assert_eq!(s.count_resources(target, "template").await.unwrap(), 3);

    for (i, sc) in others.iter().enumerate() {
        let listed = s
            .list_resources(sc, "identity", "", None, 10)
            .await
            .unwrap();
        assert_eq!(names(&listed), ["set/a", "set/b", "shared"]);
        for r in &listed {
            assert_eq!(r.version, 1, "untouched in {sc:?}");
            assert_eq!(r.data, json!([i + 1, "identity", r.key.name]));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// 20 writers holding version 1: the compare-and-set lets exactly one through.
async fn concurrent_updates_with_same_version_one_wins(ctx: Ctx) {
    let key = ResourceKey::new(&scope(1, "us-east-1"), "configuration-set", "hot");
    ctx.store.insert_resource(&key, &json!(0)).await.unwrap();

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = ctx.store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.update_resource(&key, &json!(i), 1).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(r) => winners.push(r),
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one compare-and-set succeeds");
    let now = ctx.store.get_resource(&key).await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.data, winners[0].data);
}

async fn concurrent_upserts_lose_no_increment(ctx: Ctx) {
    let key = ResourceKey::new(&scope(1, "us-east-1"), "account", "settings");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = ctx.store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.upsert_resource(&key, &json!(i)).await })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(task.await.unwrap().unwrap().version);
    }
    versions.sort();
    assert_eq!(versions, (1..=20).collect::<Vec<i64>>());
    let now = ctx.store.get_resource(&key).await.unwrap().unwrap();
    assert_eq!(now.version, 20);
}

// ---------------------------------------------------------------------------------------------
// Durability and migrations
// ---------------------------------------------------------------------------------------------

async fn data_survives_close_and_reopen(ctx: Ctx) {
    let s = &ctx.store;
    let acct = account(5, Some("durable"));
    let key = access_key("AKIADURABLE000000001", 5, 42);
    let res = ResourceKey::new(&scope(5, "us-east-1"), "identity", "example.com");
    s.create_account(&acct).await.unwrap();
    s.create_access_key(&key).await.unwrap();
    let written = s.insert_resource(&res, &json!({"ok": true})).await.unwrap();
    s.close().await;
    assert!(
        matches!(
            s.get_account(&acct.account_id).await,
            Err(StoreError::Backend(_))
        ),
        "a closed store refuses work"
    );

    let reopened = ctx.reopen().await;
    reopened.migrate().await.unwrap();
    assert_eq!(
        reopened.get_account(&acct.account_id).await.unwrap(),
        Some(acct)
    );
    assert_eq!(
        reopened.get_access_key(&key.access_key_id).await.unwrap(),
        Some(key)
    );
    assert_eq!(reopened.get_resource(&res).await.unwrap(), Some(written));
    reopened.close().await;
}

async fn migrate_twice_is_a_no_op(ctx: Ctx) {
    let s = &ctx.store;
    let before = s.applied_migrations().await.unwrap();
    assert!(!before.is_empty());
    assert_eq!(before[0].version, 1);
    assert_eq!(before[0].name, "initial");
    s.create_account(&account(1, None)).await.unwrap();

    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
    assert_eq!(s.applied_migrations().await.unwrap(), before);
    assert_eq!(s.list_accounts().await.unwrap().len(), 1);
}

/// Several nodes starting at once on an empty database: all succeed, each migration once.
async fn concurrent_migrate_on_fresh_database(ctx: Ctx) {
    let expected = ctx.store.applied_migrations().await.unwrap().len();
    let (url, schema) = ctx.fresh_location("fresh").await;
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(open_at(&url, schema.as_deref()).await);
    }
    let runs: Vec<_> = nodes
        .iter()
        .map(|n| {
            let n = n.clone();
            tokio::spawn(async move { n.migrate().await })
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    let applied = nodes[0].applied_migrations().await.unwrap();
    assert_eq!(applied.len(), expected);
    nodes[1].create_account(&account(1, None)).await.unwrap();
    for n in nodes {
        n.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only
// ---------------------------------------------------------------------------------------------

/// The ordering tests above pass on any database whose default collation happens to be
/// byte-like (`C`, `C.UTF-8`); production databases are often `en_US.UTF-8`. So check the
/// schema itself: every key and name column that is compared or ordered is `COLLATE "C"`
/// (`accounts.name` is a free-text label, never compared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_key_columns_use_byte_order_collation() {
    run_postgres(|ctx: Ctx| async move {
        let Target::Postgres { url, schema, .. } = &*ctx.target else {
            unreachable!()
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap();
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, collation_name::text \
             FROM information_schema.columns WHERE table_schema = $1 \
             AND column_name IN ('account_id', 'access_key_id', 'region', 'kind', 'name', \
                                 'message_id', 'event_id') \
             AND table_name IN ('accounts', 'access_keys', 'resources', 'queue', 'events', \
                                'quota_usage', 'rate_buckets', 'send_stats', 'captured') \
             AND NOT (table_name = 'accounts' AND column_name = 'name') \
             ORDER BY 1, 2",
        )
        .bind(schema)
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        // 7 in 0001; queue 3, events 4, quota_usage 2, rate_buckets 2, send_stats 2, captured 3.
        assert_eq!(rows.len(), 7 + 16, "{rows:?}");
        for (table, column, collation) in rows {
            assert_eq!(collation.as_deref(), Some("C"), "{table}.{column}");
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// kill -9 (SQLite)
// ---------------------------------------------------------------------------------------------

/// Set in the child: the database URL it writes to.
const KILL9_CHILD_VAR: &str = "SESAME_STORE_KILL9_CHILD_DB";
/// Rows the child writes before it announces it is done; it then keeps writing until killed, so
/// the kill also lands in the middle of a commit.
const KILL9_ROWS: usize = 200;

/// Principle 2 (acknowledge only what is on disk): a writer process inserts rows and prints
/// `ACK <i>` after each insert returned; the parent SIGKILLs it right after reading the line
/// for the last of `KILL9_ROWS`, reopens the file and finds every acknowledged row intact.
/// SIGKILL leaves the OS page cache alone, so this proves the WAL commit protocol and recovery,
/// not the fsync (that is `synchronous=FULL`, asserted by the crate's unit tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_after_ack_loses_nothing() {
    if let Ok(url) = std::env::var(KILL9_CHILD_VAR) {
        return kill9_child(&url).await;
    }
    let dir = temp_dir();
    let url = sqlite_url(&dir, "sesame");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sqlite_kill9_after_ack_loses_nothing",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL9_CHILD_VAR, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked: Vec<usize> = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("ACK ") {
            acked.push(i.parse().unwrap());
            if acked.len() == KILL9_ROWS {
                child.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(
        acked.len(),
        KILL9_ROWS,
        "child died before acknowledging its writes"
    );

    let store = SqlStore::connect(&url).await.unwrap();
    let sc = scope(9, "us-east-1");
    for i in &acked {
        let key = ResourceKey::new(&sc, "identity", &format!("row-{i:06}"));
        let r = store.get_resource(&key).await.unwrap();
        assert_eq!(
            r.map(|r| r.data),
            Some(json!({"i": i})),
            "acknowledged row {i} lost"
        );
    }
    // Rows past the last ACK may or may not be there, but whatever is there is whole.
    let count = store.count_resources(&sc, "identity").await.unwrap();
    assert!(count as usize >= KILL9_ROWS);
    let all = store
        .list_resources(&sc, "identity", "row-", None, usize::MAX)
        .await
        .unwrap();
    assert_eq!(all.len() as u64, count);
    for r in all {
        let i: usize = r.key.name["row-".len()..].parse().unwrap();
        assert_eq!(r.data, json!({"i": i}));
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child: one acknowledged insert after another until the parent kills it.
async fn kill9_child(url: &str) {
    let store = SqlStore::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let sc = scope(9, "us-east-1");
    for i in 0.. {
        let key = ResourceKey::new(&sc, "identity", &format!("row-{i:06}"));
        store.insert_resource(&key, &json!({"i": i})).await.unwrap();
        // Only now, after the write returned, is the row acknowledged. println! is line-buffered.
        println!("ACK {i}");
    }
}

//! Throughput of `accept_messages` (the enqueue transaction of every send), printed, not
//! asserted. Ignored by default:
//!
//! ```text
//! cargo test -p sesame-store --release --test accept_bench -- --ignored --nocapture
//! SESAME_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test … (adds PostgreSQL)
//! ```
//!
//! One caller, batches of 1, 16 and 64 single-recipient messages, each with a `Send` event,
//! on SQLite (a temp file, WAL, `synchronous=FULL`: every commit is fsynced) and PostgreSQL
//! (in a throw-away schema, the server's own durability settings). Then 8 concurrent callers
//! with batches of 1, the shape of unbatched API traffic.

use std::time::{Duration, Instant};

use serde_json::json;
use sesame_model::{EventRecord, QueuedMessage, QuotaCheck, Scope, Store};
use sesame_store::SqlStore;

/// Each measurement runs at least this long.
const RUN: Duration = Duration::from_secs(2);

fn batch(
    scope: &Scope,
    prefix: &str,
    n: usize,
    now: i64,
) -> Vec<(QueuedMessage, QuotaCheck, Vec<EventRecord>)> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i}");
            let m = QueuedMessage {
                message_id: id.clone(),
                scope: scope.clone(),
                mail_from: "bounces@mail.example.com".into(),
                recipients: vec![format!("user{i}@example.net")],
                meta: json!({"identity": "example.com", "configurationSet": "default",
                             "dkim": {"selector": "s1"}, "tags": {"campaign": ["x"]}}),
                created_at: now,
                next_attempt_at: now,
                attempts: 0,
            };
            let check = QuotaCheck {
                counted_recipients: 1,
                rate_tokens: 1,
                max_24h_send: 1e12,
                max_send_rate: 1e9,
                burst: 1e9,
            };
            let send = EventRecord {
                event_id: format!("ev-{id}"),
                scope: scope.clone(),
                message_id: id,
                event_type: "Send".into(),
                timestamp: now,
                data: json!({"eventType": "Send", "send": {}}),
            };
            (m, check, vec![send])
        })
        .collect()
}

/// Messages per second for one caller sending batches of `size`.
async fn sequential(store: &SqlStore, size: usize) -> f64 {
    let scope = Scope::new(
        "000000000001".parse().unwrap(),
        "us-east-1".parse().unwrap(),
    );
    let start = Instant::now();
    let mut sent = 0usize;
    let mut round = 0;
    while start.elapsed() < RUN || round < 3 {
        let b = batch(
            &scope,
            &format!("s{size}-{round}"),
            size,
            1_700_000_000_000 + round,
        );
        let out = store
            .accept_messages(&b, 1_700_000_000_000 + round)
            .await
            .unwrap();
        assert!(out
            .iter()
            .all(|o| *o == sesame_model::AcceptOutcome::Accepted));
        sent += size;
        round += 1;
    }
    sent as f64 / start.elapsed().as_secs_f64()
}

/// Messages per second for `callers` concurrent callers, batches of 1, one scope each.
async fn concurrent(store: &SqlStore, callers: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|c| {
            let store = store.clone();
            tokio::spawn(async move {
                let scope = Scope::new(
                    format!("{:012}", 100 + c).parse().unwrap(),
                    "us-east-1".parse().unwrap(),
                );
                let mut sent = 0usize;
                while start.elapsed() < RUN {
                    let b = batch(&scope, &format!("c{c}-{sent}"), 1, 1_700_000_000_000);
                    store.accept_messages(&b, 1_700_000_000_000).await.unwrap();
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    sent as f64 / start.elapsed().as_secs_f64()
}

async fn report(name: &str, store: &SqlStore) {
    for size in [1, 16, 64] {
        let rate = sequential(store, size).await;
        println!("{name:<8} batch {size:>2}, 1 caller : {rate:>9.0} msg/s");
    }
    let rate = concurrent(store, 8).await;
    println!("{name:<8} batch  1, 8 callers: {rate:>9.0} msg/s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints numbers, run with --ignored --nocapture"]
async fn accept_throughput() {
    let dir = std::env::temp_dir().join(format!("sesame-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqlStore::connect(&format!("sqlite://{}/bench.db", dir.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    report("sqlite", &store).await;
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();

    let Ok(url) = std::env::var("SESAME_TEST_DATABASE_URL") else {
        println!("postgres: SESAME_TEST_DATABASE_URL not set, skipped");
        return;
    };
    let schema = format!("sesame_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    let store = SqlStore::connect_with_schema(&url, &schema).await.unwrap();
    store.migrate().await.unwrap();
    report("postgres", &store).await;
    store.close().await;
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
}

//! Message bodies in the database (`SqlStore::bodies`, migration 0010): a body written is read
//! back byte for byte, a rewrite replaces it, concurrent writes all land, the
//! body goes with its message in the transaction that finishes it, `remove_body` is idempotent,
//! and only old bodies without a queue row are swept.

use sesame_model::{BodyStore, Store};

use super::queue_ops::{enqueue, msg, T0};
use super::sending::{daily, items};
use super::{scope, Ctx};

pub(crate) async fn bodies_round_trip_and_go_with_their_message(ctx: Ctx) {
    let s = &ctx.store;
    let b = s.bodies();
    assert!(b.removed_with_message());
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    b.write_body("m1", big.clone()).await.unwrap();
    assert_eq!(b.read_body("m1").await.unwrap(), big);
    // A retried send writes again under the same id.
    b.write_body("m1", b"Subject: x\r\n\r\nagain\r\n".to_vec())
        .await
        .unwrap();
    assert_eq!(
        b.read_body("m1").await.unwrap(),
        b"Subject: x\r\n\r\nagain\r\n"
    );
    assert_eq!(
        b.read_body("absent").await.unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );

    // Concurrent writers all land; every body is there afterwards.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let b = b.clone();
        tasks.spawn(async move {
            b.write_body(&format!("c{i}"), vec![i as u8; 1000 + i])
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    for i in 0..40 {
        assert_eq!(
            b.read_body(&format!("c{i}")).await.unwrap(),
            vec![i as u8; 1000 + i]
        );
    }

    // Finishing the message deletes its body in the same transaction.
    let sc = scope(1, "us-east-1");
    enqueue(
        s,
        &[msg("m1", &sc, T0, T0), msg("q1", &sc, T0, T0 + 3_600_000)],
    )
    .await;
    b.write_body("q1", b"queued".to_vec()).await.unwrap();
    let claimed = s.claim_messages("n", T0, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    s.finish_message("n", "m1", &[]).await.unwrap();
    assert_eq!(
        b.read_body("m1").await.unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );

    b.remove_body("c0").await.unwrap();
    b.remove_body("c0").await.unwrap();
    assert!(b.read_body("c0").await.is_err());

    // Orphans: bodies older than the cut-off without a queue row (c1..c39); q1 is queued and
    // stays; nothing written after the cut-off is touched.
    let cutoff = now_ms() + 1;
    assert_eq!(b.sweep_orphans(cutoff - 3_600_000).await.unwrap(), 0);
    assert_eq!(b.sweep_orphans(cutoff).await.unwrap(), 39);
    assert_eq!(b.read_body("q1").await.unwrap(), b"queued");
}

/// `Store::accept_messages_with_bodies`: the body is committed in the queue row's transaction;
/// a refused item (quota) stores neither; a body count that does not match is an error and
/// stores nothing; concurrent callers are merged and each gets its own outcomes.
pub(crate) async fn bodies_commit_with_their_queue_rows(ctx: Ctx) {
    use sesame_model::AcceptOutcome::{Accepted, DailyQuotaExceeded};
    let s = &ctx.store;
    let b = s.bodies();
    assert!(b.written_with_queue_row());
    let sc = scope(1, "us-east-1");
    let batch = items(
        &[
            ("w1", &sc, daily(2, 3.0)),
            ("w2", &sc, daily(2, 3.0)),
            ("w3", &sc, daily(1, 3.0)),
        ],
        T0,
    );
    let bodies = vec![b"one".to_vec(), b"two".to_vec(), vec![7u8; 200_000]];
    let out = s
        .accept_messages_with_bodies(&batch, bodies, T0)
        .await
        .unwrap();
    assert_eq!(out, vec![Accepted, DailyQuotaExceeded, Accepted]);
    assert_eq!(b.read_body("w1").await.unwrap(), b"one");
    assert_eq!(b.read_body("w3").await.unwrap(), vec![7u8; 200_000]);
    assert_eq!(
        b.read_body("w2").await.unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );

    let one = items(&[("w4", &sc, daily(0, 3.0))], T0);
    assert!(s
        .accept_messages_with_bodies(&one, vec![], T0)
        .await
        .is_ok());
    let two = items(&[("w5", &sc, daily(0, 3.0))], T0);
    assert!(s
        .accept_messages_with_bodies(&two, vec![b"a".to_vec(), b"b".to_vec()], T0)
        .await
        .is_err());
    assert!(b.read_body("w5").await.is_err());

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let s = s.clone();
        let sc = sc.clone();
        tasks.spawn(async move {
            let id = format!("k{i}");
            let batch = items(&[(id.as_str(), &sc, daily(0, 3.0))], T0);
            s.accept_messages_with_bodies(&batch, vec![vec![i as u8; 100 + i]], T0)
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap(), vec![Accepted]);
    }
    for i in 0..40 {
        assert_eq!(
            b.read_body(&format!("k{i}")).await.unwrap(),
            vec![i as u8; 100 + i]
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `BodyStore::prefetch_bodies` (delivery reads a claimed batch's bodies in one query): the
/// present bodies up to the size limit, byte for byte; larger and absent ones left out; more
/// ids than one `IN (…)` list holds.
pub(crate) async fn bodies_prefetch_reads_the_small_present_ones(ctx: Ctx) {
    let b = ctx.store.bodies();
    let small = b"Subject: small\r\n\r\nhi\r\n".to_vec();
    let limit = vec![b'x'; 1000];
    let large = vec![b'y'; 1001];
    b.write_body("small", small.clone()).await.unwrap();
    b.write_body("limit", limit.clone()).await.unwrap();
    b.write_body("large", large).await.unwrap();
    let ids: Vec<String> = ["small", "limit", "large", "absent"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = b.prefetch_bodies(&ids, 1000).await.unwrap();
    assert_eq!(got.len(), 2, "{:?}", got.keys().collect::<Vec<_>>());
    assert_eq!(got["small"], small);
    assert_eq!(got["limit"], limit);
    assert!(b.prefetch_bodies(&[], 1000).await.unwrap().is_empty());

    let many: Vec<String> = (0..1203).map(|i| format!("many-{i}")).collect();
    for (i, id) in many.iter().enumerate() {
        if i % 2 == 0 {
            b.write_body(id, id.as_bytes().to_vec()).await.unwrap();
        }
    }
    let got = b.prefetch_bodies(&many, 1000).await.unwrap();
    assert_eq!(got.len(), 602);
    for (id, body) in &got {
        assert_eq!(body, id.as_bytes());
    }
}

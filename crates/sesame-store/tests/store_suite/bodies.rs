//! Message bodies in the database (`SqlStore::bodies`, migration 0010): a body written is read
//! back byte for byte, a rewrite replaces it, concurrent writes all land (one committer), the
//! body goes with its message in the transaction that finishes it, `remove_body` is idempotent,
//! and only old bodies without a queue row are swept.

use sesame_model::{BodyStore, Store};

use super::queue_ops::{enqueue, msg, T0};
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

    // Concurrent writers share the committer; every body is there afterwards.
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

//! The server half of `sesame queue delete`: removing a deleted message's body from the spool.
//!
//! The CLI runs beside the server and may not touch the spool (the server holds its lock; see
//! `instance::NoSpool`), so `delete` removes the queue row and leaves a *tombstone* in the same
//! transaction (`Store::delete_queued`). This task, running inside `sesame serve`, reads the
//! tombstones, removes the bodies (idempotent) and then forgets the tombstones. A crash between
//! the two steps only repeats a removal.
//!
//! A tombstone is swept only once its message is older than [`BODY_GRACE_MS`]: the send path
//! writes the body and commits the row concurrently, so right after acceptance the body may
//! still be on its way to disk; removing it before it lands would leave an orphan file. The
//! grace is the one delivery uses for a late body (`sesame-engine` `deliver`), after which a
//! body that has not landed never will.
//!
//! Single spool per instance: with several nodes on one PostgreSQL each node has its own spool
//! and only the node that accepted a message holds its body; this sweep removes the body where
//! it finds one and then clears the tombstone, so on a multi-node cluster a body on another node
//! stays until that node's reconciliation (not built yet) finds it orphaned.

use std::sync::Arc;
use std::time::Duration;

use sesame_model::{BodyStore, Store};
use tokio::sync::watch;

/// Time between sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Age a deleted message must have before its body is removed (see the module docs).
pub const BODY_GRACE_MS: i64 = 120_000;
/// Tombstones handled per store round trip.
const BATCH: usize = 256;

/// Sweeps every [`SWEEP_EVERY`] until `shutdown` turns `true`.
pub async fn run(
    store: Arc<dyn Store>,
    bodies: Arc<dyn BodyStore>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = sweep_once(&*store, &*bodies, sesame_engine::now_ms()).await {
            tracing::warn!(error = %e, "queue: sweeping deleted messages' bodies failed; retrying later");
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
}

/// One sweep at `now_ms`. Returns how many bodies were removed.
pub async fn sweep_once(
    store: &dyn Store,
    bodies: &dyn BodyStore,
    now_ms: i64,
) -> anyhow::Result<usize> {
    let mut removed = 0;
    loop {
        let ids = store
            .queue_tombstones(now_ms - BODY_GRACE_MS, BATCH)
            .await?;
        let fetched = ids.len();
        let mut done = Vec::with_capacity(fetched);
        for id in ids {
            match bodies.remove_body(&id).await {
                Ok(()) => {
                    tracing::info!(message_id = %id, "queue: body of a message deleted by the operator removed from the spool");
                    done.push(id);
                }
                Err(e) => {
                    tracing::warn!(message_id = %id, error = %e, "queue: could not remove the body of a deleted message; retrying later")
                }
            }
        }
        removed += done.len();
        store.clear_queue_tombstones(&done).await?;
        // A short page means the end; a page with failures is retried next sweep, not now.
        if fetched < BATCH || done.len() < fetched {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use sesame_model::{QueuedMessage, QuotaCheck, Scope};
    use sesame_store::SqlStore;

    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn msg(id: &str, created_at: i64) -> QueuedMessage {
        QueuedMessage {
            message_id: id.to_string(),
            scope: Scope::new(
                "111122223333".parse().unwrap(),
                "us-east-1".parse().unwrap(),
            ),
            mail_from: "b@example.com".into(),
            recipients: vec!["r@example.net".into()],
            meta: serde_json::json!({}),
            created_at,
            next_attempt_at: created_at,
            attempts: 0,
        }
    }

    /// Real SQLite store and real spool in a temp dir: a deleted message's body is removed
    /// once the message is older than the grace, a young one's stays, a live one is untouched.
    #[tokio::test]
    async fn sweep_removes_bodies_of_deleted_messages_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::connect(&format!("sqlite://{}/s.db", dir.path().display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let spool: Arc<dyn BodyStore> = Arc::new(
            sesame_spool::Spool::open(&dir.path().join("spool"), Default::default()).unwrap(),
        );
        let unlimited = QuotaCheck {
            counted_recipients: 1,
            rate_tokens: 1,
            max_24h_send: -1.0,
            max_send_rate: 1e9,
            burst: 1e9,
        };
        let batch: Vec<_> = [
            msg("old-deleted", NOW - BODY_GRACE_MS - 1),
            msg("young-deleted", NOW - 1_000),
            msg("old-kept", NOW - BODY_GRACE_MS - 1),
        ]
        .into_iter()
        .map(|m| (m, unlimited.clone(), vec![]))
        .collect();
        store.accept_messages(&batch, NOW).await.unwrap();
        for (m, _, _) in &batch {
            spool
                .write_body(&m.message_id, b"body".to_vec())
                .await
                .unwrap();
        }
        store
            .delete_queued("old-deleted", false, NOW)
            .await
            .unwrap();
        store
            .delete_queued("young-deleted", false, NOW)
            .await
            .unwrap();

        assert_eq!(sweep_once(&*store, &*spool, NOW).await.unwrap(), 1);
        let gone = spool.read_body("old-deleted").await.unwrap_err();
        assert_eq!(gone.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(spool.read_body("young-deleted").await.unwrap(), b"body");
        assert_eq!(spool.read_body("old-kept").await.unwrap(), b"body");
        assert_eq!(
            store.queue_tombstones(i64::MAX, 10).await.unwrap(),
            vec!["young-deleted"]
        );
        // Nothing left to do at the same time; the young one goes once it is old enough.
        assert_eq!(sweep_once(&*store, &*spool, NOW).await.unwrap(), 0);
        assert_eq!(
            sweep_once(&*store, &*spool, NOW + BODY_GRACE_MS)
                .await
                .unwrap(),
            1
        );
        assert!(spool.read_body("young-deleted").await.is_err());
        assert!(store
            .queue_tombstones(i64::MAX, 10)
            .await
            .unwrap()
            .is_empty());
    }
}

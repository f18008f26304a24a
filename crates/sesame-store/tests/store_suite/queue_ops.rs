//! The operator's queue queries (`sesame queue list/show/retry/delete`, `/metrics` gauges;
//! issue 4 item 7): filters and paging, the lease shown and respected, tombstones, stats.
//! Times are explicit `now_ms` values, as in `sending.rs`.

use std::collections::HashSet;

use serde_json::json;
use sesame_model::{
    QueueCursor, QueueEntry, QueueFilter, QueueStats, QueuedMessage, QuotaCheck, Scope, Store,
    StoreError,
};
use sesame_store::SqlStore;

use super::{scope, Ctx};

const MINUTE: i64 = 60_000;
/// A round time, far from the other files' `T0` so a mix-up shows.
pub(crate) const T0: i64 = 1_800_000_000_000;
const LEASE: i64 = MINUTE;

pub(crate) fn msg(id: &str, sc: &Scope, created: i64, due: i64) -> QueuedMessage {
    QueuedMessage {
        message_id: id.to_string(),
        scope: sc.clone(),
        mail_from: format!("bounce+{id}@mail.example.com"),
        recipients: vec![format!("{id}@example.net"), "x@example.org".to_string()],
        meta: json!({"mail": {"messageId": id}, "configuration_set": "cs"}),
        created_at: created,
        next_attempt_at: due,
        attempts: 0,
    }
}

fn unlimited() -> QuotaCheck {
    QuotaCheck {
        counted_recipients: 2,
        rate_tokens: 2,
        max_24h_send: -1.0,
        max_send_rate: 1e9,
        burst: 1e9,
    }
}

pub(crate) async fn enqueue(s: &SqlStore, messages: &[QueuedMessage]) {
    let batch: Vec<_> = messages
        .iter()
        .map(|m| (m.clone(), unlimited(), vec![]))
        .collect();
    let out = s.accept_messages(&batch, T0).await.unwrap();
    assert_eq!(out.len(), messages.len());
}

fn ids(entries: &[QueueEntry]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e.message.message_id.as_str())
        .collect()
}

fn all() -> QueueFilter {
    QueueFilter::default()
}

/// Ordered by (next_attempt_at, message_id); account and region filters; pages that continue
/// strictly after the cursor cover everything exactly once.
pub(crate) async fn queue_list_filters_orders_and_pages(ctx: Ctx) {
    let s = &ctx.store;
    let a_east = scope(1, "us-east-1");
    let a_west = scope(1, "eu-west-1");
    let b_east = scope(2, "us-east-1");
    let mut messages = vec![
        msg("m-c", &a_east, T0, T0 + 30),
        msg("m-a", &a_west, T0, T0 + 30),
        msg("m-b", &b_east, T0, T0 + 30),
        msg("m-z", &a_east, T0, T0 + 10),
        msg("m-y", &b_east, T0, T0 + 50),
    ];
    // Ties on next_attempt_at are broken by message id, in byte order.
    messages.push(msg("M-upper", &a_east, T0, T0 + 30));
    enqueue(s, &messages).await;

    let listed = s.list_queue(&all(), None, 100).await.unwrap();
    assert_eq!(
        ids(&listed),
        vec!["m-z", "M-upper", "m-a", "m-b", "m-c", "m-y"]
    );
    // Every field comes back, with no lease yet.
    let c = listed
        .iter()
        .find(|e| e.message.message_id == "m-c")
        .unwrap();
    assert_eq!(c.message, messages[0]);
    assert_eq!((c.lease_owner.as_deref(), c.lease_until), (None, None));

    let only = |account: Option<u64>, region: Option<&str>| QueueFilter {
        account: account.map(|n| scope(n, "us-east-1").account),
        region: region.map(|r| r.parse().unwrap()),
    };
    assert_eq!(
        ids(&s.list_queue(&only(Some(1), None), None, 100).await.unwrap()),
        vec!["m-z", "M-upper", "m-a", "m-c"]
    );
    assert_eq!(
        ids(&s
            .list_queue(&only(None, Some("us-east-1")), None, 100)
            .await
            .unwrap()),
        vec!["m-z", "M-upper", "m-b", "m-c", "m-y"]
    );
    assert_eq!(
        ids(&s
            .list_queue(&only(Some(1), Some("eu-west-1")), None, 100)
            .await
            .unwrap()),
        vec!["m-a"]
    );
    assert!(s
        .list_queue(&only(Some(3), None), None, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(s.list_queue(&all(), None, 0).await.unwrap().is_empty());

    // Pages of 2, each continuing after the last entry of the previous one.
    let mut seen = Vec::new();
    let mut after: Option<QueueCursor> = None;
    loop {
        let page = s.list_queue(&all(), after.as_ref(), 2).await.unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        after = Some(QueueCursor::after(&page.last().unwrap().message));
        seen.extend(page.into_iter().map(|e| e.message.message_id));
    }
    assert_eq!(seen, ids(&listed));
    // A cursor with a filter: the rest of account 1 after "M-upper".
    let cursor: QueueCursor = format!("{}.M-upper", T0 + 30).parse().unwrap();
    assert_eq!(
        ids(&s
            .list_queue(&only(Some(1), None), Some(&cursor), 100)
            .await
            .unwrap()),
        vec!["m-a", "m-c"]
    );
}

/// `get_queued` shows the lease while a delivery holds it, and the lease's expiry.
pub(crate) async fn queue_get_shows_the_lease(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    enqueue(s, &[msg("m1", &sc, T0, T0)]).await;
    assert_eq!(s.get_queued("nope").await.unwrap(), None);
    let free = s.get_queued("m1").await.unwrap().unwrap();
    assert_eq!(free.message, msg("m1", &sc, T0, T0));
    assert!(!free.in_delivery(T0));

    s.claim_messages("node-a", T0 + 5, LEASE, 10).await.unwrap();
    let held = s.get_queued("m1").await.unwrap().unwrap();
    assert_eq!(held.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(held.lease_until, Some(T0 + 5 + LEASE));
    assert!(held.in_delivery(T0 + 5 + LEASE));
    assert!(!held.in_delivery(T0 + 6 + LEASE), "expired lease");
    // The listing shows the same lease.
    let listed = s.list_queue(&all(), None, 10).await.unwrap();
    assert_eq!(listed, vec![held]);
}

/// `retry_queued_now` moves future attempts to now, one or all, and never touches a message
/// in delivery (its lease and schedule stay); an expired lease does not protect a message.
pub(crate) async fn queue_retry_now_spares_live_leases(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let now = T0 + 10 * MINUTE;
    enqueue(
        s,
        &[
            msg("later-1", &sc, T0, now + MINUTE),
            msg("later-2", &sc, T0, now + 2 * MINUTE),
            msg("due", &sc, T0, now - 1),
            msg("busy", &sc, T0, T0),
        ],
    )
    .await;
    // "busy" is claimed (first due) and held at `now`; "due" is claimed then deferred.
    let claimed = s
        .claim_messages("node-a", T0, 20 * MINUTE, 1)
        .await
        .unwrap();
    assert_eq!(claimed[0].message_id, "busy");

    assert_eq!(s.retry_queued_now(Some("later-1"), now).await, Ok(1));
    assert_eq!(
        s.get_queued("later-1")
            .await
            .unwrap()
            .unwrap()
            .message
            .next_attempt_at,
        now
    );
    assert_eq!(
        s.retry_queued_now(Some("later-1"), now).await,
        Ok(0),
        "already due: nothing to move"
    );
    assert_eq!(s.retry_queued_now(Some("due"), now).await, Ok(0));
    assert_eq!(
        s.retry_queued_now(Some("busy"), now).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        s.retry_queued_now(Some("nope"), now).await,
        Err(StoreError::NotFound)
    );

    // Everything: only "later-2" still had a future attempt.
    assert_eq!(s.retry_queued_now(None, now).await, Ok(1));
    let listed = s.list_queue(&all(), None, 10).await.unwrap();
    for e in &listed {
        let want = match e.message.message_id.as_str() {
            "busy" => T0,
            "due" => now - 1,
            _ => now,
        };
        assert_eq!(e.message.next_attempt_at, want, "{}", e.message.message_id);
    }
    let busy = listed
        .iter()
        .find(|e| e.message.message_id == "busy")
        .unwrap();
    assert_eq!(busy.lease_owner.as_deref(), Some("node-a"), "lease kept");
    assert_eq!(busy.lease_until, Some(T0 + 20 * MINUTE));

    // The holder defers "busy" to the future; once free, retry-all brings it back.
    s.retry_message(
        "node-a",
        "busy",
        &["busy@example.net".into()],
        now + MINUTE,
        &[],
    )
    .await
    .unwrap();
    assert_eq!(s.retry_queued_now(None, now).await, Ok(1));
    let claimable: HashSet<String> = s
        .claim_messages("node-b", now, LEASE, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(
        claimable,
        ["later-1", "later-2", "due", "busy"]
            .map(String::from)
            .into()
    );

    // node-b's leases run until now + LEASE; once expired they protect nothing: the message
    // is reported as simply due, not as in delivery.
    assert_eq!(
        s.retry_queued_now(Some("later-1"), now + LEASE).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        s.retry_queued_now(Some("later-1"), now + LEASE + 1).await,
        Ok(0)
    );
}

/// `delete_queued` refuses a message in delivery unless forced, leaves a tombstone for the
/// server's spool sweep, and the holder of a forced-away lease cannot finish it.
pub(crate) async fn queue_delete_respects_leases_and_leaves_tombstones(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    enqueue(
        s,
        &[
            msg("idle", &sc, T0, T0 + MINUTE),
            msg("busy", &sc, T0 + 1, T0),
            msg("young", &sc, T0 + 500, T0 + MINUTE),
        ],
    )
    .await;
    s.claim_messages("node-a", T0, LEASE, 10).await.unwrap();
    let now = T0 + 1_000;

    let gone = s.delete_queued("idle", false, now).await.unwrap();
    assert_eq!(gone.message, msg("idle", &sc, T0, T0 + MINUTE));
    assert_eq!(s.get_queued("idle").await.unwrap(), None);
    assert_eq!(
        s.delete_queued("idle", false, now).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        s.delete_queued("busy", false, now).await,
        Err(StoreError::Conflict)
    );
    assert!(
        s.get_queued("busy").await.unwrap().is_some(),
        "refused: still queued"
    );
    let forced = s.delete_queued("busy", true, now).await.unwrap();
    assert_eq!(forced.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(
        s.finish_message("node-a", "busy", &[]).await,
        Err(StoreError::NotFound)
    );
    s.delete_queued("young", false, now).await.unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 0);

    // Tombstones: oldest message first, only messages created before the bound.
    assert_eq!(
        s.queue_tombstones(T0 + 100, 10).await.unwrap(),
        vec!["idle", "busy"]
    );
    assert_eq!(
        s.queue_tombstones(T0 + 1_000, 10).await.unwrap(),
        vec!["idle", "busy", "young"]
    );
    assert_eq!(
        s.queue_tombstones(T0 + 1_000, 1).await.unwrap(),
        vec!["idle"]
    );
    assert_eq!(
        s.clear_queue_tombstones(&["idle".into(), "nope".into()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.queue_tombstones(T0 + 1_000, 10).await.unwrap(),
        vec!["busy", "young"]
    );
    assert_eq!(s.clear_queue_tombstones(&[]).await.unwrap(), 0);

    // An expired lease does not need --force.
    enqueue(s, &[msg("stale", &sc, T0, T0)]).await;
    s.claim_messages("node-b", T0, 10, 1).await.unwrap();
    assert_eq!(
        s.delete_queued("stale", false, T0 + 5).await,
        Err(StoreError::Conflict)
    );
    s.delete_queued("stale", false, T0 + 11).await.unwrap();
}

/// Depth, deferred (attempts > 0), in delivery (live lease) and the oldest creation time.
pub(crate) async fn queue_stats_counts(ctx: Ctx) {
    let s = &ctx.store;
    assert_eq!(s.queue_stats(T0).await.unwrap(), QueueStats::default());
    let sc = scope(1, "us-east-1");
    enqueue(
        s,
        &[
            msg("m1", &sc, T0 + 20, T0),
            msg("m2", &sc, T0 + 10, T0 + MINUTE),
            msg("m3", &sc, T0 + 30, T0 + MINUTE),
        ],
    )
    .await;
    assert_eq!(
        s.queue_stats(T0).await.unwrap(),
        QueueStats {
            depth: 3,
            deferred: 0,
            in_delivery: 0,
            oldest_created_at: Some(T0 + 10),
            publishing_backlog: 0,
            publishing_oldest_at: None,
        }
    );
    // m1 is claimed and deferred; m2, m3 get claimed later and stay held.
    s.claim_messages("n", T0, LEASE, 1).await.unwrap();
    s.retry_message("n", "m1", &["a@example.net".into()], T0 + 2 * MINUTE, &[])
        .await
        .unwrap();
    s.claim_messages("n", T0 + MINUTE, LEASE, 10).await.unwrap();
    let at = T0 + MINUTE + 1;
    assert_eq!(
        s.queue_stats(at).await.unwrap(),
        QueueStats {
            depth: 3,
            deferred: 1,
            in_delivery: 2,
            oldest_created_at: Some(T0 + 10),
            publishing_backlog: 0,
            publishing_oldest_at: None,
        }
    );
    // After the leases expire nobody is in delivery.
    assert_eq!(
        s.queue_stats(T0 + 2 * MINUTE + 1)
            .await
            .unwrap()
            .in_delivery,
        0
    );
}

//! The event publishing outbox (`claim_event_dispatch`, `finish_event_dispatch`,
//! `retry_event_dispatch`; migration 0009, DECISIONS Q-160): every appended event is
//! claimable once, only a message's earliest pending event is claimable (order per message),
//! leases expire, only the holder finishes, concurrent claimers never share a row, and the
//! outbox survives a restart.

use std::collections::BTreeSet;

use serde_json::json;
use sesame_model::{EventRecord, Scope, Store};

use super::{scope, Ctx};

const T: i64 = 1_700_000_000_000;
const LEASE: i64 = 60_000;

fn ev(id: &str, sc: &Scope, message: &str, kind: &str) -> EventRecord {
    EventRecord {
        event_id: id.to_string(),
        scope: sc.clone(),
        message_id: message.to_string(),
        event_type: kind.to_string(),
        timestamp: T,
        // Sent with a configuration set: every type is publishable.
        data: json!({"eventType": kind, "mail": {"messageId": message,
            "tags": {"ses:configuration-set": ["cs"]}}}),
    }
}

/// An event of a message sent without a configuration set.
fn ev_no_set(id: &str, sc: &Scope, message: &str, kind: &str) -> EventRecord {
    EventRecord {
        data: json!({"eventType": kind, "mail": {"messageId": message, "tags": {}}}),
        ..ev(id, sc, message, kind)
    }
}

fn ids(items: &[sesame_model::DispatchItem]) -> Vec<&str> {
    items.iter().map(|i| i.event.event_id.as_str()).collect()
}

/// Heads of each message only, in commit order; the next event of a message becomes
/// claimable when the previous one is finished; a retried event keeps blocking its message.
pub(crate) async fn event_dispatch_in_order_per_message(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "eu-west-1");
    s.append_events(&[
        ev("e1", &a, "m1", "Send"),
        ev("f1", &b, "m1", "Send"), // same message id, other scope: its own sequence
        ev("e2", &a, "m1", "Delivery"),
    ])
    .await
    .unwrap();
    s.append_events(&[ev("g1", &a, "m2", "Reject"), ev("e3", &a, "m1", "Bounce")])
        .await
        .unwrap();
    // Without a configuration set only Bounce/Complaint/Delivery can go anywhere (identity
    // notification topics): the Send and Open of m3 get no outbox row, its Delivery does.
    s.append_events(&[
        ev_no_set("x1", &a, "m3", "Send"),
        ev_no_set("x2", &a, "m3", "Open"),
        ev_no_set("x3", &a, "m3", "Delivery"),
    ])
    .await
    .unwrap();

    let first = s.claim_event_dispatch("n1", T, LEASE, 10).await.unwrap();
    assert_eq!(ids(&first), vec!["e1", "f1", "g1", "x3"]);
    assert_eq!(first[0].event, ev("e1", &a, "m1", "Send"));
    assert_eq!(first[0].attempts, 0);
    assert!(first[0].seq < first[1].seq && first[1].seq < first[2].seq);
    // Leased: nobody else gets them, and e2 waits for e1.
    assert!(s
        .claim_event_dispatch("n2", T, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    // Only the holder finishes.
    let seqs: Vec<i64> = first.iter().map(|i| i.seq).collect();
    assert_eq!(s.finish_event_dispatch("n2", &seqs).await.unwrap(), 0);
    assert_eq!(s.finish_event_dispatch("n1", &seqs[..1]).await.unwrap(), 1);
    let next = s.claim_event_dispatch("n2", T, LEASE, 10).await.unwrap();
    assert_eq!(ids(&next), vec!["e2"]);
    // A failed hand-off: due later, and e3 stays behind it.
    assert!(!s
        .retry_event_dispatch("n1", next[0].seq, T + 5_000)
        .await
        .unwrap());
    assert!(s
        .retry_event_dispatch("n2", next[0].seq, T + 5_000)
        .await
        .unwrap());
    assert!(s
        .claim_event_dispatch("n2", T + 1, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    let again = s
        .claim_event_dispatch("n3", T + 5_000, LEASE, 10)
        .await
        .unwrap();
    assert_eq!(ids(&again), vec!["e2"]);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(
        s.finish_event_dispatch("n3", &[again[0].seq])
            .await
            .unwrap(),
        1
    );
    let last = s
        .claim_event_dispatch("n3", T + 5_000, LEASE, 10)
        .await
        .unwrap();
    assert_eq!(ids(&last), vec!["e3"]);
}

/// A node that dies mid-dispatch: its lease expires and another node claims the event again
/// (at-least-once), which the old holder can then no longer finish.
pub(crate) async fn event_dispatch_lease_expires(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    s.append_events(&[ev("e1", &a, "m1", "Send")])
        .await
        .unwrap();
    let got = s.claim_event_dispatch("dead", T, LEASE, 10).await.unwrap();
    assert_eq!(ids(&got), vec!["e1"]);
    assert!(s
        .claim_event_dispatch("n2", T + LEASE - 1, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    let re = s
        .claim_event_dispatch("n2", T + LEASE, LEASE, 10)
        .await
        .unwrap();
    assert_eq!(ids(&re), vec!["e1"]);
    assert_eq!(re[0].attempts, 1);
    assert_eq!(
        s.finish_event_dispatch("dead", &[re[0].seq]).await.unwrap(),
        0
    );
    assert_eq!(
        s.finish_event_dispatch("n2", &[re[0].seq]).await.unwrap(),
        1
    );
    assert!(s
        .claim_event_dispatch("n2", T + 10 * LEASE, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Committed events are dispatched after a restart (nothing lost).
pub(crate) async fn event_dispatch_survives_reopen(ctx: Ctx) {
    let a = scope(1, "us-east-1");
    ctx.store
        .append_events(&[ev("e1", &a, "m1", "Send")])
        .await
        .unwrap();
    // Claimed by a node that then "dies" with the process.
    assert_eq!(
        ctx.store
            .claim_event_dispatch("n1", T, LEASE, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    ctx.store.close().await;
    let r = ctx.reopen().await;
    r.migrate().await.unwrap();
    let got = r
        .claim_event_dispatch("n2", T + LEASE, LEASE, 10)
        .await
        .unwrap();
    assert_eq!(ids(&got), vec!["e1"]);
    r.close().await;
}

/// Nodes sharing the database claim concurrently; every event is claimed exactly once and a
/// message's events are claimed in order.
pub(crate) async fn concurrent_event_dispatch_never_shares(ctx: Ctx) {
    let a = scope(1, "us-east-1");
    for m in 0..20 {
        let events: Vec<_> = (0..3)
            .map(|i| ev(&format!("m{m:02}-{i}"), &a, &format!("m{m:02}"), "Send"))
            .collect();
        ctx.store.append_events(&events).await.unwrap();
    }
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let store = ctx.store.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let node = format!("n{n}");
                let mut idle = 0;
                while idle < 20 {
                    let got = store
                        .claim_event_dispatch(&node, T, LEASE, 4)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        idle += 1;
                        tokio::task::yield_now().await;
                        continue;
                    }
                    idle = 0;
                    // Record before finishing: the next event of the message cannot be
                    // claimed before this one is finished.
                    log.lock()
                        .unwrap()
                        .extend(got.iter().map(|i| i.event.event_id.clone()));
                    let seqs: Vec<i64> = got.iter().map(|i| i.seq).collect();
                    assert_eq!(
                        store.finish_event_dispatch(&node, &seqs).await.unwrap(),
                        seqs.len() as u64
                    );
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let all = log.lock().unwrap().clone();
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 60, "claimed twice or lost: {all:?}");
    assert_eq!(unique.len(), 60);
    for m in 0..20 {
        let order: Vec<_> = all
            .iter()
            .filter(|e| e.starts_with(&format!("m{m:02}-")))
            .cloned()
            .collect();
        let want: Vec<_> = (0..3).map(|i| format!("m{m:02}-{i}")).collect();
        assert_eq!(order, want);
    }
}

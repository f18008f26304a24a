//! The sent-message log of the suite (`find_message`, `prune_message_log`): what feedback
//! ingestion reads when a DSN or ARF report arrives for a message (DECISIONS ).
//! `finished_at` is the store's clock, so the pruning test brackets it with real time.

use serde_json::json;
use sesame_model::{QueuedMessage, QuotaCheck, Scope, Store, StoreError};

use super::{scope, Ctx};

/// A round time, as in `sending.rs`.
const T0: i64 = 1_900_000 * 15 * 60_000;

fn queued(id: &str, sc: &Scope, recipients: &[&str]) -> QueuedMessage {
    QueuedMessage {
        message_id: id.to_string(),
        scope: sc.clone(),
        mail_from: format!("{id}@us-east-1.sesame.test"),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        meta: json!({"mail": {"messageId": id, "destination": recipients}, "z": 1, "a": [2]}),
        created_at: T0,
        next_attempt_at: T0,
        attempts: 0,
    }
}

fn unlimited(n: u32) -> QuotaCheck {
    QuotaCheck {
        counted_recipients: n,
        rate_tokens: n,
        max_24h_send: -1.0,
        max_send_rate: 1e9,
        burst: 1e9,
    }
}

async fn enqueue(s: &impl Store, m: &QueuedMessage) {
    let n = m.recipients.len() as u32;
    s.accept_messages(&[(m.clone(), unlimited(n), vec![])], T0)
        .await
        .unwrap();
}

/// Queue first (`true`), then — once finished — the log (`false`), with the row as it left
/// the queue: remaining recipients, attempts, meta byte-exact; `next_attempt_at` = when it left.
/// A refused finish (not the lease holder) logs nothing.
pub(crate) async fn finished_message_is_found_in_the_log(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let m = queued("m1", &sc, &["a@example.net", "b@example.net"]);
    enqueue(s, &m).await;
    assert_eq!(s.find_message("m1").await.unwrap(), Some((m.clone(), true)));
    assert_eq!(s.find_message("nope").await.unwrap(), None);

    // One retry keeps only b@; then the holder finishes.
    s.claim_messages("a", T0, 60_000, 10).await.unwrap();
    let remaining = vec!["b@example.net".to_string()];
    s.retry_message("a", "m1", &remaining, T0, &[])
        .await
        .unwrap();
    s.claim_messages("a", T0, 60_000, 10).await.unwrap();
    assert_eq!(
        s.finish_message("b", "m1", &[]).await,
        Err(StoreError::Conflict)
    );
    let (still, queued_flag) = s.find_message("m1").await.unwrap().unwrap();
    assert!(queued_flag, "a refused finish leaves the message queued");
    assert_eq!(still.recipients, remaining);

    let before = now_ms();
    s.finish_message("a", "m1", &[]).await.unwrap();
    let after = now_ms();
    let (logged, queued_flag) = s.find_message("m1").await.unwrap().unwrap();
    assert!(!queued_flag);
    assert_eq!(logged.message_id, "m1");
    assert_eq!(logged.scope, sc);
    assert_eq!(logged.mail_from, m.mail_from);
    assert_eq!(logged.recipients, remaining);
    assert_eq!(logged.created_at, T0);
    assert_eq!(logged.attempts, 1);
    assert_eq!(
        serde_json::to_string(&logged.meta).unwrap(),
        serde_json::to_string(&m.meta).unwrap(),
        "meta round-trips with its key order"
    );
    assert!(
        (before..=after).contains(&logged.next_attempt_at),
        "finished_at {} not within [{before}, {after}]",
        logged.next_attempt_at
    );
    assert_eq!(s.queue_depth().await.unwrap(), 0);

    // Durable with the finish.
    s.close().await;
    let r = ctx.reopen().await;
    r.migrate().await.unwrap();
    assert_eq!(r.find_message("m1").await.unwrap(), Some((logged, false)));
    r.close().await;
}

/// `prune_message_log(t)` deletes exactly the entries that left the queue before `t`, never a
/// queued message.
pub(crate) async fn prune_message_log_by_age(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(2, "eu-west-1");
    for id in ["old", "new", "queued"] {
        enqueue(s, &queued(id, &sc, &["x@example.net"])).await;
    }
    s.claim_messages("n", T0, 60_000, 10).await.unwrap();
    s.finish_message("n", "old", &[]).await.unwrap();
    let between = now_ms();
    std::thread::sleep(std::time::Duration::from_millis(3));
    s.finish_message("n", "new", &[]).await.unwrap();

    assert_eq!(s.prune_message_log(between - 10_000).await.unwrap(), 0);
    assert_eq!(s.prune_message_log(between + 1).await.unwrap(), 1);
    assert_eq!(s.find_message("old").await.unwrap(), None);
    assert!(matches!(
        s.find_message("new").await.unwrap(),
        Some((_, false))
    ));
    assert_eq!(s.prune_message_log(i64::MAX).await.unwrap(), 1);
    assert_eq!(s.find_message("new").await.unwrap(), None);
    assert!(
        matches!(s.find_message("queued").await.unwrap(), Some((_, true))),
        "pruning never touches the queue"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

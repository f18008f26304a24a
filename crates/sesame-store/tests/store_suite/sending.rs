//! The sending path of the suite: queue, quotas, events outbox, statistics, dev inbox.
//! Every time is an explicit `now_ms`, so windows and token refills are tested without sleeping.

use std::collections::HashSet;

use serde_json::json;
use sesame_model::{
    AcceptOutcome, CapturedMessage, EventRecord, QueuedMessage, QuotaCheck, ReputationBucket,
    Scope, SendStatsBucket, Store, StoreError,
};
use sesame_store::SqlStore;

use super::{scope, Ctx};

const DAY: i64 = 86_400_000;
const MINUTE: i64 = 60_000;
const QUARTER: i64 = 15 * MINUTE;
/// A round time: aligned to minutes and to 15-minute statistics buckets.
const T0: i64 = 1_900_000 * QUARTER;

use AcceptOutcome::{Accepted, DailyQuotaExceeded, RateExceeded};

fn msg(id: &str, sc: &Scope, recipients: usize, now: i64) -> QueuedMessage {
    QueuedMessage {
        message_id: id.to_string(),
        scope: sc.clone(),
        mail_from: format!("bounce+{id}@mail.example.com"),
        recipients: (0..recipients)
            .map(|i| format!("r{i}@example.net"))
            .collect(),
        meta: json!({"configurationSet": "cs", "tags": {"b": ["2"], "a": ["1"]}}),
        created_at: now,
        next_attempt_at: now,
        attempts: 0,
    }
}

/// Quotas that never refuse.
fn unlimited(recipients: u32) -> QuotaCheck {
    QuotaCheck {
        counted_recipients: recipients,
        rate_tokens: recipients,
        max_24h_send: -1.0,
        max_send_rate: 1e9,
        burst: 1e9,
    }
}

pub(crate) fn daily(recipients: u32, max: f64) -> QuotaCheck {
    QuotaCheck {
        max_24h_send: max,
        ..unlimited(recipients)
    }
}

fn rate(tokens: u32, per_second: f64, burst: f64) -> QuotaCheck {
    QuotaCheck {
        counted_recipients: tokens,
        rate_tokens: tokens,
        max_24h_send: -1.0,
        max_send_rate: per_second,
        burst,
    }
}

fn event(id: &str, sc: &Scope, message: &str, kind: &str, at: i64) -> EventRecord {
    EventRecord {
        event_id: id.to_string(),
        scope: sc.clone(),
        message_id: message.to_string(),
        event_type: kind.to_string(),
        timestamp: at,
        data: json!({"eventType": kind, "mail": {"messageId": message}, "z": 1, "a": 2}),
    }
}

fn bounce(id: &str, sc: &Scope, message: &str, at: i64, kind: &str, n: usize) -> EventRecord {
    let recipients: Vec<_> = (0..n)
        .map(|i| json!({"emailAddress": format!("r{i}@example.net")}))
        .collect();
    EventRecord {
        data: json!({"eventType": "Bounce",
            "bounce": {"bounceType": kind, "bouncedRecipients": recipients}}),
        ..event(id, sc, message, "Bounce", at)
    }
}

fn complaint(id: &str, sc: &Scope, message: &str, at: i64, n: usize) -> EventRecord {
    let recipients: Vec<_> = (0..n)
        .map(|i| json!({"emailAddress": format!("r{i}@example.net")}))
        .collect();
    EventRecord {
        data: json!({"eventType": "Complaint",
            "complaint": {"complainedRecipients": recipients}}),
        ..event(id, sc, message, "Complaint", at)
    }
}

/// One message per batch item, with its `Send` event.
pub(crate) fn items(
    specs: &[(&str, &Scope, QuotaCheck)],
    now: i64,
) -> Vec<(QueuedMessage, QuotaCheck, Vec<EventRecord>)> {
    specs
        .iter()
        .map(|(id, sc, check)| {
            let n = check.rate_tokens.max(1) as usize;
            (
                msg(id, sc, n, now),
                check.clone(),
                vec![event(&format!("send-{id}"), sc, id, "Send", now)],
            )
        })
        .collect()
}

async fn accept(
    s: &SqlStore,
    specs: &[(&str, &Scope, QuotaCheck)],
    now: i64,
) -> Vec<AcceptOutcome> {
    s.accept_messages(&items(specs, now), now).await.unwrap()
}

fn ids(messages: &[QueuedMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.message_id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------------

pub(crate) async fn accept_claim_finish_round_trip(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let m = msg("m1", &sc, 2, T0);
    let send = event("e-send", &sc, "m1", "Send", T0);
    let out = s
        .accept_messages(&[(m.clone(), unlimited(2), vec![send.clone()])], T0)
        .await
        .unwrap();
    assert_eq!(out, vec![Accepted]);
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    assert_eq!(s.accept_messages(&[], T0).await.unwrap(), vec![]);

    // Not due before next_attempt_at.
    assert!(s
        .claim_messages("a", T0 - 1, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .claim_messages("a", T0, 60_000, 0)
        .await
        .unwrap()
        .is_empty());
    let claimed = s.claim_messages("a", T0, 60_000, 10).await.unwrap();
    assert_eq!(
        claimed,
        vec![m.clone()],
        "every field round-trips (meta key order too)"
    );
    assert_eq!(
        serde_json::to_string(&claimed[0].meta).unwrap(),
        serde_json::to_string(&m.meta).unwrap()
    );
    // Leased: nobody else gets it.
    assert!(s
        .claim_messages("b", T0 + 1, 60_000, 10)
        .await
        .unwrap()
        .is_empty());

    let delivery = event("e-delivery", &sc, "m1", "Delivery", T0 + 5);
    s.finish_message("a", "m1", std::slice::from_ref(&delivery))
        .await
        .unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 0);
    assert_eq!(
        s.message_events(&sc, "m1").await.unwrap(),
        vec![send, delivery]
    );
    assert_eq!(
        s.finish_message("a", "m1", &[]).await,
        Err(StoreError::NotFound)
    );
}

pub(crate) async fn claims_oldest_due_first_up_to_limit(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let mut batch = Vec::new();
    for (id, due) in [
        ("late", T0 + 300),
        ("early", T0 + 100),
        ("mid", T0 + 200),
        ("future", T0 + 10_000),
    ] {
        let mut m = msg(id, &sc, 1, T0);
        m.next_attempt_at = due;
        batch.push((m, unlimited(1), vec![]));
    }
    let out = s.accept_messages(&batch, T0).await.unwrap();
    assert_eq!(out, vec![Accepted; 4]);
    let first = s.claim_messages("a", T0 + 1_000, 60_000, 2).await.unwrap();
    assert_eq!(ids(&first), vec!["early", "mid"]);
    let rest = s.claim_messages("a", T0 + 1_000, 60_000, 10).await.unwrap();
    assert_eq!(ids(&rest), vec!["late"]);
    assert_eq!(s.queue_depth().await.unwrap(), 4);
}

pub(crate) async fn expired_lease_is_reclaimable(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    assert_eq!(
        accept(s, &[("m1", &sc, unlimited(1))], T0).await,
        vec![Accepted]
    );
    assert_eq!(
        ids(&s.claim_messages("a", T0, 1_000, 10).await.unwrap()),
        vec!["m1"]
    );
    assert!(s
        .claim_messages("b", T0 + 500, 1_000, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(
        s.claim_messages("b", T0 + 1_000, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "a lease is held through lease_until"
    );
    assert_eq!(
        ids(&s.claim_messages("b", T0 + 1_001, 1_000, 10).await.unwrap()),
        vec!["m1"]
    );
    // The old holder lost it.
    assert_eq!(
        s.finish_message("a", "m1", &[]).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        s.retry_message("a", "m1", &[], T0, &[]).await,
        Err(StoreError::Conflict)
    );
    s.finish_message("b", "m1", &[]).await.unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 0);
}

/// Concurrent `finish_message` calls share group-committed transactions: each caller still gets
/// its own result, a stale lease in the same round fails alone (no log row, no events), and
/// every other message leaves the queue with its events.
pub(crate) async fn concurrent_finishes_commit_together_and_fail_alone(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let specs: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
    let spec_refs: Vec<(&str, &Scope, QuotaCheck)> = specs
        .iter()
        .map(|id| (id.as_str(), &sc, unlimited(1)))
        .collect();
    assert_eq!(accept(s, &spec_refs, T0).await, vec![Accepted; 40]);
    assert_eq!(
        s.claim_messages("a", T0, 60_000, 40).await.unwrap().len(),
        40
    );
    let mut calls = tokio::task::JoinSet::new();
    for id in &specs {
        // f7 is finished by a node that does not hold its lease.
        let node = if id == "f7" { "b" } else { "a" };
        let ev = event(&format!("d-{id}"), &sc, id, "Delivery", T0 + 1);
        let (store, id) = (s.clone(), id.clone());
        calls.spawn(async move {
            let r = store.finish_message(node, &id, &[ev]).await;
            (id, r)
        });
    }
    let results = calls.join_all().await;
    assert_eq!(results.len(), 40);
    for (id, r) in &results {
        if id == "f7" {
            assert_eq!(r, &Err(StoreError::Conflict), "{id}");
        } else {
            assert_eq!(r, &Ok(()), "{id}");
        }
    }
    assert_eq!(s.queue_depth().await.unwrap(), 1, "only f7 is left");
    let f7: Vec<String> = s
        .message_events(&sc, "f7")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(f7, vec!["Send"], "the failed finish wrote no event");
    let f8: Vec<String> = s
        .message_events(&sc, "f8")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(f8, vec!["Send", "Delivery"]);
    s.finish_message("a", "f7", &[]).await.unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 0);
}

pub(crate) async fn only_the_lease_holder_finishes(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    assert_eq!(
        accept(s, &[("m1", &sc, unlimited(1))], T0).await,
        vec![Accepted]
    );
    let ev = event("e-1", &sc, "m1", "Delivery", T0);
    // Never claimed: nobody holds it.
    assert_eq!(
        s.finish_message("a", "m1", std::slice::from_ref(&ev)).await,
        Err(StoreError::Conflict)
    );
    s.claim_messages("a", T0, 60_000, 1).await.unwrap();
    assert_eq!(
        s.finish_message("b", "m1", std::slice::from_ref(&ev)).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        s.finish_message("b", "nope", std::slice::from_ref(&ev))
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        s.retry_message("b", "nope", &[], T0, &[]).await,
        Err(StoreError::NotFound)
    );
    // The refused calls appended nothing and left the message alone.
    assert_eq!(
        s.message_events(&sc, "m1").await.unwrap().len(),
        1,
        "only Send"
    );
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    s.finish_message("a", "m1", &[ev]).await.unwrap();
    assert_eq!(s.message_events(&sc, "m1").await.unwrap().len(), 2);
}

pub(crate) async fn retry_keeps_remaining_recipients(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    assert_eq!(
        accept(s, &[("m1", &sc, unlimited(3))], T0).await,
        vec![Accepted]
    );
    let claimed = s.claim_messages("a", T0, 60_000, 1).await.unwrap();
    assert_eq!(claimed[0].recipients.len(), 3);
    assert_eq!(claimed[0].attempts, 0);

    let remaining = vec!["r2@example.net".to_string()];
    let delay = event("e-delay", &sc, "m1", "DeliveryDelay", T0 + 10);
    s.retry_message(
        "a",
        "m1",
        &remaining,
        T0 + MINUTE,
        std::slice::from_ref(&delay),
    )
    .await
    .unwrap();
    assert_eq!(s.queue_depth().await.unwrap(), 1);
    // The lease is released but the message is not due yet.
    assert!(s
        .claim_messages("b", T0 + 1_000, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let again = s
        .claim_messages("b", T0 + MINUTE, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].recipients, remaining);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].next_attempt_at, T0 + MINUTE);
    assert_eq!(again[0].created_at, T0);
    // The released lease is gone: the first node is no longer the holder.
    assert_eq!(
        s.finish_message("a", "m1", &[]).await,
        Err(StoreError::Conflict)
    );
    let kinds: Vec<_> = s
        .message_events(&sc, "m1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(kinds, vec!["Send", "DeliveryDelay"]);
}

/// Two nodes (two pools on the same database), two claimers each, small claims: every message
/// is handed out exactly once.
pub(crate) async fn concurrent_claims_never_share_a_message(ctx: Ctx) {
    const N: usize = 120;
    let sc = scope(1, "us-east-1");
    let specs: Vec<(String, QuotaCheck)> =
        (0..N).map(|i| (format!("m{i:03}"), unlimited(1))).collect();
    let refs: Vec<(&str, &Scope, QuotaCheck)> = specs
        .iter()
        .map(|(id, c)| (id.as_str(), &sc, c.clone()))
        .collect();
    assert_eq!(accept(&ctx.store, &refs, T0).await, vec![Accepted; N]);

    let other = ctx.reopen().await;
    let mut tasks = Vec::new();
    for (node, store) in [
        ("node-a", &ctx.store),
        ("node-b", &other),
        ("node-a", &ctx.store),
        ("node-b", &other),
    ] {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let claimed = store
                    .claim_messages(node, T0 + 1, 600_000, 7)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    break got;
                }
                got.extend(claimed.into_iter().map(|m| (node, m.message_id)));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut holders = Vec::new();
    for task in tasks {
        for (node, id) in task.await.unwrap() {
            assert!(seen.insert(id.clone()), "{id} handed out twice");
            holders.push((node, id));
        }
    }
    assert_eq!(seen.len(), N);
    let on_b = holders.iter().filter(|(node, _)| *node == "node-b").count();
    eprintln!("claims: node-a {}, node-b {on_b}", N - on_b);
    // Each message is finished by its holder only.
    for (node, id) in &holders {
        let stranger = if *node == "node-a" {
            "node-b"
        } else {
            "node-a"
        };
        assert_eq!(
            ctx.store.finish_message(stranger, id, &[]).await,
            Err(StoreError::Conflict)
        );
        other.finish_message(node, id, &[]).await.unwrap();
    }
    assert_eq!(ctx.store.queue_depth().await.unwrap(), 0);
    other.close().await;
}

// ---------------------------------------------------------------------------------------------
// Quotas
// ---------------------------------------------------------------------------------------------

pub(crate) async fn daily_quota_is_all_or_nothing(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "us-east-1");
    // Max 5. Within one batch: 3 fits, 3 more would make 6 (refused whole), 2 fits exactly,
    // then nothing but zero-counted (simulator) sends; the other scope is unaffected.
    let sim = QuotaCheck {
        counted_recipients: 0,
        ..daily(1, 5.0)
    };
    let out = accept(
        s,
        &[
            ("a1", &a, daily(3, 5.0)),
            ("a2", &a, daily(3, 5.0)),
            ("b1", &b, daily(3, 5.0)),
            ("a3", &a, daily(2, 5.0)),
            ("a4", &a, daily(1, 5.0)),
            ("a5", &a, sim),
            ("b2", &b, daily(2, 5.0)),
            ("b3", &b, daily(1, 5.0)),
        ],
        T0,
    )
    .await;
    assert_eq!(
        out,
        vec![
            Accepted,
            DailyQuotaExceeded,
            Accepted,
            Accepted,
            DailyQuotaExceeded,
            Accepted,
            Accepted,
            DailyQuotaExceeded
        ]
    );
    assert_eq!(s.sent_last_24h(&a, T0).await.unwrap(), 5.0);
    assert_eq!(s.sent_last_24h(&b, T0).await.unwrap(), 5.0);
    // Refused items left nothing: no queue row, no event, no statistics.
    assert_eq!(s.queue_depth().await.unwrap(), 5);
    for refused in ["a2", "a4", "b3"] {
        let sc = if refused.starts_with('a') { &a } else { &b };
        assert!(s.message_events(sc, refused).await.unwrap().is_empty());
    }
    let claimed = s.claim_messages("n", T0, 1_000, 100).await.unwrap();
    let mut got = ids(&claimed);
    got.sort();
    assert_eq!(got, vec!["a1", "a3", "a5", "b1", "b2"]);
    let stats = s.send_statistics(&a, T0).await.unwrap();
    assert_eq!(
        stats[0].delivery_attempts, 5,
        "simulator recipients are not attempts"
    );

    // Later calls see the earlier ones.
    assert_eq!(
        accept(s, &[("a6", &a, daily(1, 5.0))], T0 + 1).await,
        vec![DailyQuotaExceeded]
    );
    assert_eq!(
        accept(s, &[("a7", &a, daily(1, 6.0))], T0 + 1).await,
        vec![Accepted]
    );
}

pub(crate) async fn unlimited_daily_quota(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let big = daily(10_000, -1.0);
    let out = accept(s, &[("m1", &sc, big.clone()), ("m2", &sc, big)], T0).await;
    assert_eq!(out, vec![Accepted, Accepted]);
    assert_eq!(s.sent_last_24h(&sc, T0).await.unwrap(), 20_000.0);
    assert_eq!(
        accept(s, &[("m3", &sc, daily(1, 0.0))], T0).await,
        vec![DailyQuotaExceeded]
    );
}

pub(crate) async fn rate_bucket_capacity_and_refill(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let one = rate(1, 2.0, 3.0); // 2 tokens/s, capacity 3
                                 // A first-ever bucket starts full: 3 pass, the 4th does not.
    let out = accept(
        s,
        &[
            ("m1", &sc, one.clone()),
            ("m2", &sc, one.clone()),
            ("m3", &sc, one.clone()),
            ("m4", &sc, one.clone()),
        ],
        T0,
    )
    .await;
    assert_eq!(out, vec![Accepted, Accepted, Accepted, RateExceeded]);
    // 250 ms refill half a token: not enough; 500 ms: one.
    assert_eq!(
        accept(s, &[("m5", &sc, one.clone())], T0 + 250).await,
        vec![RateExceeded]
    );
    assert_eq!(
        accept(
            s,
            &[("m6", &sc, one.clone()), ("m7", &sc, one.clone())],
            T0 + 500
        )
        .await,
        vec![Accepted, RateExceeded]
    );
    // A long pause refills only up to the capacity.
    let five: Vec<String> = (0..5).map(|i| format!("n{i}")).collect();
    let specs: Vec<_> = five
        .iter()
        .map(|id| (id.as_str(), &sc, one.clone()))
        .collect();
    assert_eq!(
        accept(s, &specs, T0 + 3_600_000).await,
        vec![Accepted, Accepted, Accepted, RateExceeded, RateExceeded]
    );
    // Rate-refused items do not count toward the daily quota.
    assert_eq!(s.sent_last_24h(&sc, T0 + 3_600_000).await.unwrap(), 7.0);

    // A multi-recipient send takes one token per recipient, all or nothing; capacity is at
    // least one even with a zero burst.
    let other = scope(2, "us-east-1");
    assert_eq!(
        accept(
            s,
            &[
                ("o1", &other, rate(2, 1.0, 2.0)),
                ("o2", &other, rate(1, 1.0, 2.0))
            ],
            T0
        )
        .await,
        vec![Accepted, RateExceeded]
    );
    assert_eq!(
        accept(
            s,
            &[
                ("o3", &other, rate(2, 1.0, 2.0)),
                ("o4", &other, rate(1, 1.0, 2.0))
            ],
            T0 + 1_000
        )
        .await,
        vec![RateExceeded, Accepted]
    );
    let third = scope(3, "us-east-1");
    assert_eq!(
        accept(
            s,
            &[
                ("t1", &third, rate(1, 0.5, 0.0)),
                ("t2", &third, rate(1, 0.5, 0.0))
            ],
            T0
        )
        .await,
        vec![Accepted, RateExceeded]
    );
    // Daily is checked first: a daily refusal takes no token.
    let fourth = scope(4, "us-east-1");
    let both = QuotaCheck {
        max_24h_send: 1.0,
        ..rate(1, 1.0, 1.0)
    };
    assert_eq!(
        accept(
            s,
            &[("f1", &fourth, both.clone()), ("f2", &fourth, both.clone())],
            T0
        )
        .await,
        vec![Accepted, DailyQuotaExceeded]
    );
}

pub(crate) async fn sent_last_24h_window(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let t = T0 + 30_000; // mid-minute
    assert_eq!(s.sent_last_24h(&sc, t).await.unwrap(), 0.0);
    assert_eq!(
        accept(s, &[("m1", &sc, daily(2, 5.0))], t).await,
        vec![Accepted]
    );
    assert_eq!(
        accept(s, &[("m2", &sc, daily(3, 5.0))], t + 3_600_000).await,
        vec![Accepted]
    );
    assert_eq!(s.sent_last_24h(&sc, t + 3_600_000).await.unwrap(), 5.0);
    assert_eq!(s.sent_last_24h(&sc, t + DAY - 1).await.unwrap(), 5.0);
    // Counted for at least 24 h, dropped within the minute after.
    assert_eq!(s.sent_last_24h(&sc, t + DAY + MINUTE).await.unwrap(), 3.0);
    assert_eq!(
        s.sent_last_24h(&sc, t + 3_600_000 + DAY + MINUTE)
            .await
            .unwrap(),
        0.0
    );
    // The freed quota is usable (and the write prunes the expired bucket).
    assert_eq!(
        accept(s, &[("m3", &sc, daily(1, 5.0))], t + 3_600_000).await,
        vec![DailyQuotaExceeded]
    );
    assert_eq!(
        accept(s, &[("m4", &sc, daily(2, 5.0))], t + DAY + MINUTE).await,
        vec![Accepted]
    );
    assert_eq!(s.sent_last_24h(&sc, t + DAY + MINUTE).await.unwrap(), 5.0);
    assert_eq!(
        s.sent_last_24h(&scope(2, "us-east-1"), t).await.unwrap(),
        0.0
    );
    assert_eq!(
        s.sent_last_24h(&scope(1, "eu-west-1"), t).await.unwrap(),
        0.0
    );
}

/// 8 tasks × 50 single-recipient sends against `Max24HourSend = 100`, spread over two pools
/// (two "nodes"): exactly 100 get through.
pub(crate) async fn concurrent_accepts_respect_daily_quota(ctx: Ctx) {
    let sc = scope(1, "us-east-1");
    let other = ctx.reopen().await;
    let nodes = [ctx.store.clone(), other.clone()];
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = nodes[t % 2].clone();
            let sc = sc.clone();
            tokio::spawn(async move {
                let mut accepted = 0;
                for i in 0..50 {
                    let id = format!("t{t}-m{i:02}");
                    let out = accept(&store, &[(id.as_str(), &sc, daily(1, 100.0))], T0 + i).await;
                    match out[0] {
                        Accepted => accepted += 1,
                        DailyQuotaExceeded => {}
                        RateExceeded => panic!("no rate limit here"),
                    }
                }
                accepted
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 100);
    assert_eq!(ctx.store.queue_depth().await.unwrap(), 100);
    assert_eq!(other.sent_last_24h(&sc, T0 + 50).await.unwrap(), 100.0);
    other.close().await;
}

// ---------------------------------------------------------------------------------------------
// Events and statistics
// ---------------------------------------------------------------------------------------------

pub(crate) async fn events_appended_and_listed_in_order(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let elsewhere = scope(1, "eu-west-1");
    s.append_events(&[]).await.unwrap();
    let e1 = event("e1", &sc, "m1", "Send", T0 + 10);
    let e2 = event("e2", &sc, "m1", "Delivery", T0 + 5); // earlier timestamp, appended later
    let e3 = event("e3", &sc, "m1", "Open", T0 + 10); // same timestamp as e1: insertion order
    let other_msg = event("e4", &sc, "m2", "Send", T0);
    let other_scope = event("e5", &elsewhere, "m1", "Send", T0);
    s.append_events(&[e1.clone(), other_msg.clone()])
        .await
        .unwrap();
    s.append_events(&[e2.clone(), e3.clone(), other_scope.clone()])
        .await
        .unwrap();
    assert_eq!(
        s.message_events(&sc, "m1").await.unwrap(),
        vec![e2, e1.clone(), e3]
    );
    assert_eq!(s.message_events(&sc, "m2").await.unwrap(), vec![other_msg]);
    assert_eq!(
        s.message_events(&elsewhere, "m1").await.unwrap(),
        vec![other_scope]
    );
    assert!(s
        .message_events(&scope(2, "us-east-1"), "m1")
        .await
        .unwrap()
        .is_empty());
    // Event data round-trips exactly, key order included.
    let back = &s.message_events(&sc, "m1").await.unwrap()[1];
    assert_eq!(
        serde_json::to_string(&back.data).unwrap(),
        serde_json::to_string(&e1.data).unwrap()
    );
    // event_id is unique: a duplicate fails the whole append.
    let dup = event("e1", &sc, "m9", "Send", T0);
    let fresh = event("e9", &sc, "m9", "Send", T0);
    assert_eq!(
        s.append_events(&[fresh, dup]).await,
        Err(StoreError::AlreadyExists)
    );
    assert!(s.message_events(&sc, "m9").await.unwrap().is_empty());
}

pub(crate) async fn send_statistics_buckets(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let sim = QuotaCheck {
        counted_recipients: 0,
        ..unlimited(1)
    };
    // Bucket T0: 3 attempts (the simulator send counts none).
    let out = accept(
        s,
        &[
            ("m1", &sc, unlimited(2)),
            ("m2", &sc, unlimited(1)),
            ("m3", &sc, sim),
        ],
        T0 + 1_000,
    )
    .await;
    assert_eq!(out, vec![Accepted; 3]);
    s.append_events(&[
        event("r1", &sc, "x1", "Reject", T0 + 2_000),
        bounce("b1", &sc, "m1", T0 + 16 * MINUTE, "Permanent", 2),
        bounce("b2", &sc, "m1", T0 + 16 * MINUTE, "Transient", 1),
        complaint("c1", &sc, "m2", T0 + 17 * MINUTE, 1),
        event("d1", &sc, "m2", "Delivery", T0 + 17 * MINUTE),
    ])
    .await
    .unwrap();
    // Events that arrive with finish/retry count as well.
    s.claim_messages("n", T0 + 1_000, 600_000, 10)
        .await
        .unwrap();
    s.finish_message(
        "n",
        "m2",
        &[bounce("b3", &sc, "m2", T0 + 31 * MINUTE, "Permanent", 1)],
    )
    .await
    .unwrap();
    s.retry_message(
        "n",
        "m1",
        &[],
        T0 + DAY,
        &[complaint("c2", &sc, "m1", T0 + 32 * MINUTE, 2)],
    )
    .await
    .unwrap();
    // A quota-refused item's events count for nothing.
    let refused = accept(s, &[("m4", &sc, daily(1, 0.0))], T0 + 40 * MINUTE).await;
    assert_eq!(refused, vec![DailyQuotaExceeded]);
    s.accept_messages(
        &[(
            msg("m5", &sc, 1, T0),
            daily(1, 0.0),
            vec![event("r2", &sc, "m5", "Reject", T0 + 40 * MINUTE)],
        )],
        T0 + 40 * MINUTE,
    )
    .await
    .unwrap();

    let bucket = |start, delivery_attempts, bounces, complaints, rejects| SendStatsBucket {
        bucket_start: start,
        delivery_attempts,
        bounces,
        complaints,
        rejects,
    };
    let all = vec![
        bucket(T0, 3, 0, 0, 1),
        bucket(T0 + QUARTER, 0, 2, 1, 0),
        bucket(T0 + 2 * QUARTER, 0, 1, 2, 0),
    ];
    assert_eq!(s.send_statistics(&sc, 0).await.unwrap(), all);
    assert_eq!(s.send_statistics(&sc, T0).await.unwrap(), all);
    // `since` inside a bucket includes that bucket.
    assert_eq!(
        s.send_statistics(&sc, T0 + 20 * MINUTE).await.unwrap(),
        all[1..].to_vec()
    );
    assert!(s
        .send_statistics(&sc, T0 + 3 * QUARTER)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .send_statistics(&scope(2, "us-east-1"), 0)
        .await
        .unwrap()
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// Dev inbox
// ---------------------------------------------------------------------------------------------

pub(crate) async fn capture_lists_newest_first_and_filters(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "us-east-1");
    let captured = |id: &str, sc: &Scope, at: i64| CapturedMessage {
        message_id: id.to_string(),
        scope: sc.clone(),
        mail_from: "sender@example.com".to_string(),
        recipients: vec!["to@example.net".to_string(), "cc@example.net".to_string()],
        raw: vec![b'S', 0, 0xff, 0x80, b'\r', b'\n'],
        captured_at: at,
    };
    let c1 = captured("c1", &a, T0);
    let c2 = captured("c2", &b, T0 + 1);
    let c3 = captured("c3", &a, T0 + 2);
    for c in [&c1, &c2, &c3] {
        s.capture_message(c).await.unwrap();
    }
    // Idempotent: the same id again changes nothing.
    s.capture_message(&CapturedMessage {
        raw: b"other".to_vec(),
        ..c1.clone()
    })
    .await
    .unwrap();
    assert_eq!(
        s.captured_messages(None, None, 100).await.unwrap(),
        vec![c3.clone(), c2.clone(), c1.clone()]
    );
    assert_eq!(
        s.captured_messages(None, None, 2).await.unwrap(),
        vec![c3.clone(), c2.clone()]
    );
    assert_eq!(
        s.captured_messages(Some(&a), None, 100).await.unwrap(),
        vec![c3, c1.clone()]
    );
    assert_eq!(
        s.captured_messages(Some(&b), None, 100).await.unwrap(),
        vec![c2.clone()]
    );
    assert_eq!(
        s.captured_messages(None, Some("c1"), 100).await.unwrap(),
        vec![c1.clone()]
    );
    assert_eq!(
        s.captured_messages(Some(&a), Some("c1"), 100)
            .await
            .unwrap(),
        vec![c1]
    );
    assert!(s
        .captured_messages(Some(&b), Some("c1"), 100)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .captured_messages(None, Some("nope"), 100)
        .await
        .unwrap()
        .is_empty());
    assert!(s.captured_messages(None, None, 0).await.unwrap().is_empty());
    assert_eq!(
        s.captured_messages(None, None, usize::MAX)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// LocalStack's `DELETE /_aws/ses[?id=]`: one message, or all of them, in every scope.
pub(crate) async fn delete_captured_one_or_all(ctx: Ctx) {
    let s = &ctx.store;
    for (i, id) in ["d1", "d2", "d3"].into_iter().enumerate() {
        s.capture_message(&CapturedMessage {
            message_id: id.to_string(),
            scope: scope(i as u64 + 1, "us-east-1"),
            mail_from: "sender@example.com".to_string(),
            recipients: vec!["to@example.net".to_string()],
            raw: b"x".to_vec(),
            captured_at: T0 + i as i64,
        })
        .await
        .unwrap();
    }
    assert_eq!(s.delete_captured(Some("d2")).await.unwrap(), 1);
    assert_eq!(s.delete_captured(Some("d2")).await.unwrap(), 0);
    let left: Vec<String> = s
        .captured_messages(None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(left, vec!["d3".to_string(), "d1".to_string()]);
    assert_eq!(s.delete_captured(None).await.unwrap(), 2);
    assert!(s
        .captured_messages(None, None, 100)
        .await
        .unwrap()
        .is_empty());
}

/// Everything the sending path wrote survives close and reopen (durable at commit).
pub(crate) async fn sending_state_survives_reopen(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    assert_eq!(
        accept(s, &[("m1", &sc, rate(2, 1.0, 2.0))], T0).await,
        vec![Accepted]
    );
    s.close().await;
    let r = ctx.reopen().await;
    r.migrate().await.unwrap();
    assert_eq!(r.queue_depth().await.unwrap(), 1);
    assert_eq!(r.sent_last_24h(&sc, T0).await.unwrap(), 2.0);
    assert_eq!(r.message_events(&sc, "m1").await.unwrap().len(), 1);
    // The bucket was persisted empty: nothing passes until it refills.
    assert_eq!(
        accept(&r, &[("m2", &sc, rate(1, 1.0, 2.0))], T0).await,
        vec![RateExceeded]
    );
    assert_eq!(
        accept(&r, &[("m3", &sc, rate(1, 1.0, 2.0))], T0 + 1_000).await,
        vec![Accepted]
    );
    r.close().await;
}

// ---------------------------------------------------------------------------------------------
// Reputation counters
// ---------------------------------------------------------------------------------------------

/// E-82: `reputation_stats` counts Send recipients, hard bounces (not
/// `OnAccountSuppressionList`, not transient) and complaints per configuration set, in the hour
/// of the *send* (`mail.timestamp`), simulator recipients apart; from every appending method.
pub(crate) async fn reputation_buckets_by_set_and_send_hour(ctx: Ctx) {
    const SENT: &str = "2024-03-01T10:20:00.000Z";
    const SENT_MS: i64 = 1_709_288_400_000;
    const HOUR: i64 = 3_600_000;
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let mail = |set: Option<&str>| {
        let mut m = json!({
            "timestamp": SENT,
            "destination": ["a@example.net", "b@example.net", "bounce@simulator.amazonses.com"],
            "tags": {}
        });
        if let Some(set) = set {
            m["tags"]["ses:configuration-set"] = json!([set]);
        }
        m
    };
    let ev = |id: &str, kind: &str, at: i64, data: serde_json::Value| EventRecord {
        event_id: id.to_string(),
        scope: sc.clone(),
        message_id: "m".into(),
        event_type: kind.into(),
        timestamp: at,
        data,
    };
    let bounced = |sub: &str, who: &[&str]| {
        json!({"bounceType": "Permanent", "bounceSubType": sub,
            "bouncedRecipients": who.iter().map(|a| json!({"emailAddress": a})).collect::<Vec<_>>()})
    };
    s.accept_messages(
        &[(
            msg("m1", &sc, 3, SENT_MS),
            unlimited(2),
            vec![ev("s1", "Send", SENT_MS, json!({"mail": mail(Some("cs"))}))],
        )],
        SENT_MS,
    )
    .await
    .unwrap();
    s.append_events(&[
        ev("s2", "Send", SENT_MS, json!({"mail": mail(None)})),
        // Arrives two hours later, counted in the hour of the send.
        ev(
            "b1",
            "Bounce",
            SENT_MS + 2 * HOUR,
            json!({"mail": mail(Some("cs")),
                "bounce": bounced("General", &["a@example.net", "bounce@simulator.amazonses.com"])}),
        ),
        ev(
            "b2",
            "Bounce",
            SENT_MS + 2 * HOUR,
            json!({"mail": mail(Some("cs")),
                "bounce": bounced("OnAccountSuppressionList", &["b@example.net"])}),
        ),
        ev(
            "c1",
            "Complaint",
            SENT_MS + 3 * HOUR,
            json!({"mail": mail(None),
                "complaint": {"complainedRecipients": [{"emailAddress": "b@example.net"}]}}),
        ),
    ])
    .await
    .unwrap();
    let hour = SENT_MS - 20 * MINUTE;
    let got = s.reputation_buckets(&sc, hour).await.unwrap();
    assert_eq!(
        got,
        vec![
            ReputationBucket {
                configuration_set: None,
                bucket_start: hour,
                sends: 2,
                complaints: 1,
                simulator_sends: 1,
                ..Default::default()
            },
            ReputationBucket {
                configuration_set: Some("cs".into()),
                bucket_start: hour,
                sends: 2,
                bounces: 1,
                simulator_sends: 1,
                simulator_bounces: 1,
                ..Default::default()
            },
        ]
    );
    assert!(s
        .reputation_buckets(&sc, hour + HOUR)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .reputation_buckets(&scope(2, "us-east-1"), 0)
        .await
        .unwrap()
        .is_empty());
}

/// statistics older than their retention are deleted, in every scope; newer ones stay.
pub(crate) async fn prune_statistics_by_age(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "eu-west-1");
    let send = |id: &str, sc: &Scope, at: i64| EventRecord {
        event_id: id.to_string(),
        scope: sc.clone(),
        message_id: id.to_string(),
        event_type: "Send".into(),
        timestamp: at,
        data: json!({"mail": {"destination": ["a@example.net"]}}),
    };
    for (sc, at) in [(&a, T0), (&b, T0), (&a, T0 + DAY)] {
        s.accept_messages(
            &[(
                msg(&format!("m{at}{}", sc.account.as_str()), sc, 1, at),
                unlimited(1),
                vec![send(&format!("s{at}{}", sc.account.as_str()), sc, at)],
            )],
            at,
        )
        .await
        .unwrap();
    }
    // Two send_stats rows and two reputation_stats rows (T0 in both scopes) go.
    assert_eq!(s.prune_statistics(T0 + 1, T0 + 1).await.unwrap(), 4);
    assert_eq!(s.send_statistics(&a, 0).await.unwrap().len(), 1);
    assert!(s.send_statistics(&b, 0).await.unwrap().is_empty());
    assert_eq!(s.reputation_buckets(&a, 0).await.unwrap().len(), 1);
    assert!(s.reputation_buckets(&b, 0).await.unwrap().is_empty());
    assert_eq!(s.prune_statistics(T0 + 1, T0 + 1).await.unwrap(), 0);
}

//! Dedicated IP warm-up counters (`add_ip_sends` / `ip_sends`; spec F-20, SH-4, Q-132): the cap
//! is checked and the counter incremented atomically, per scope, IP and UTC day.

use sesame_model::Store;

use super::{scope, Ctx};

const DAY: i64 = 20_000;

/// Counts up to the cap and no further; a refused add changes nothing; 0 is always granted.
pub(crate) async fn ip_sends_stop_at_the_cap(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    assert_eq!(s.ip_sends(&sc, "127.0.1.7", DAY).await.unwrap(), 0);
    assert!(s.add_ip_sends(&sc, "127.0.1.7", DAY, 3, 5).await.unwrap());
    assert!(s.add_ip_sends(&sc, "127.0.1.7", DAY, 2, 5).await.unwrap());
    assert!(!s.add_ip_sends(&sc, "127.0.1.7", DAY, 1, 5).await.unwrap());
    assert!(s.add_ip_sends(&sc, "127.0.1.7", DAY, 0, 5).await.unwrap());
    assert_eq!(s.ip_sends(&sc, "127.0.1.7", DAY).await.unwrap(), 5);
    // A larger cap (the next warm-up day's, or a manual change) lets more through.
    assert!(s.add_ip_sends(&sc, "127.0.1.7", DAY, 4, 9).await.unwrap());
    assert!(!s.add_ip_sends(&sc, "127.0.1.7", DAY, 1, 9).await.unwrap());
    assert_eq!(s.ip_sends(&sc, "127.0.1.7", DAY).await.unwrap(), 9);
    // More than the whole cap at once on a fresh counter: refused, nothing recorded.
    assert!(!s.add_ip_sends(&sc, "127.0.1.8", DAY, 6, 5).await.unwrap());
    assert_eq!(s.ip_sends(&sc, "127.0.1.8", DAY).await.unwrap(), 0);
    // A cap of 0 (warm-up reset to 0 %) grants nothing.
    assert!(!s.add_ip_sends(&sc, "127.0.1.8", DAY, 1, 0).await.unwrap());
}

/// Scopes, IPs and days have separate counters.
pub(crate) async fn ip_sends_are_per_scope_ip_and_day(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "us-east-1");
    let a_eu = scope(1, "eu-west-1");
    assert!(s.add_ip_sends(&a, "127.0.1.7", DAY, 5, 5).await.unwrap());
    assert!(s.add_ip_sends(&b, "127.0.1.7", DAY, 5, 5).await.unwrap());
    assert!(s.add_ip_sends(&a_eu, "127.0.1.7", DAY, 5, 5).await.unwrap());
    assert!(s.add_ip_sends(&a, "127.0.1.8", DAY, 5, 5).await.unwrap());
    assert!(s
        .add_ip_sends(&a, "127.0.1.7", DAY + 1, 5, 5)
        .await
        .unwrap());
    assert!(!s.add_ip_sends(&a, "127.0.1.7", DAY, 1, 5).await.unwrap());
    assert_eq!(s.ip_sends(&b, "127.0.1.7", DAY).await.unwrap(), 5);
    assert_eq!(s.ip_sends(&a, "127.0.1.7", DAY + 1).await.unwrap(), 5);
}

/// Starting a new day prunes the (scope, ip)'s counters older than a week, and only those.
pub(crate) async fn ip_sends_prune_old_days(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    assert!(s.add_ip_sends(&a, "127.0.1.7", DAY, 3, 10).await.unwrap());
    assert!(s.add_ip_sends(&a, "127.0.1.8", DAY, 3, 10).await.unwrap());
    assert!(s
        .add_ip_sends(&a, "127.0.1.7", DAY + 7, 1, 10)
        .await
        .unwrap());
    assert_eq!(
        s.ip_sends(&a, "127.0.1.7", DAY).await.unwrap(),
        3,
        "kept: 7 days old"
    );
    assert!(s
        .add_ip_sends(&a, "127.0.1.7", DAY + 8, 1, 10)
        .await
        .unwrap());
    assert_eq!(s.ip_sends(&a, "127.0.1.7", DAY).await.unwrap(), 0, "pruned");
    assert_eq!(s.ip_sends(&a, "127.0.1.7", DAY + 7).await.unwrap(), 1);
    assert_eq!(
        s.ip_sends(&a, "127.0.1.8", DAY).await.unwrap(),
        3,
        "other IP untouched"
    );
}

/// Many concurrent callers (as several delivery nodes would be) are granted exactly the cap.
pub(crate) async fn concurrent_ip_sends_never_exceed_the_cap(ctx: Ctx) {
    let sc = scope(1, "us-east-1");
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = ctx.store.clone();
            let sc = sc.clone();
            tokio::spawn(async move { store.add_ip_sends(&sc, "127.0.1.9", DAY, 1, 25).await })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            granted += 1;
        }
    }
    assert_eq!(granted, 25);
    assert_eq!(ctx.store.ip_sends(&sc, "127.0.1.9", DAY).await.unwrap(), 25);
}

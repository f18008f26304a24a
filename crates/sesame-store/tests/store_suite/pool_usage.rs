//! Managed dedicated IP pool counters (`add_pool_usage` / `pool_usage` / `delete_pool_usage` /
//! `prune_pool_usage`; spec F-37..F-48, SH-4, Q-133): per scope, pool, source, ISP and hour;
//! the `sent` limit is checked and the row incremented atomically.

use sesame_model::{PoolUsage, PoolUsageCounts, Store};

use super::{scope, Ctx};

const HOUR: i64 = 480_000;

fn row(pool: &str, ip: &str, isp: &str, hour: i64, sent: u64) -> PoolUsage {
    PoolUsage {
        pool: pool.into(),
        ip: ip.into(),
        isp: isp.into(),
        hour,
        counts: PoolUsageCounts {
            sent,
            ..PoolUsageCounts::default()
        },
    }
}

/// `sent` stops at the limit (a refused add changes nothing), every column adds up, unlimited
/// adds always pass; rows come back in (hour, isp, ip) order, one ISP or all, from an hour on.
pub(crate) async fn pool_usage_counts_and_limits(ctx: Ctx) {
    let s = &ctx.store;
    let sc = scope(1, "us-east-1");
    let ip = "127.0.17.1";
    assert!(s
        .add_pool_usage(&sc, &row("p", ip, "Gmail", HOUR, 3), Some(5))
        .await
        .unwrap());
    assert!(s
        .add_pool_usage(&sc, &row("p", ip, "Gmail", HOUR, 2), Some(5))
        .await
        .unwrap());
    assert!(!s
        .add_pool_usage(&sc, &row("p", ip, "Gmail", HOUR, 1), Some(5))
        .await
        .unwrap());
    // More than the limit at once on a fresh row: refused, nothing recorded.
    assert!(!s
        .add_pool_usage(&sc, &row("p", ip, "Yahoo", HOUR, 6), Some(5))
        .await
        .unwrap());
    let mut feedback = row("p", ip, "Gmail", HOUR, 0);
    feedback.counts.delivered = 4;
    feedback.counts.throttled = 1;
    assert!(s.add_pool_usage(&sc, &feedback, None).await.unwrap());
    let mut spilled = row("p", "", "Gmail", HOUR + 1, 7);
    spilled.counts.deferred = 2;
    assert!(s.add_pool_usage(&sc, &spilled, None).await.unwrap());
    assert!(s.add_pool_usage(&sc, &spilled, None).await.unwrap());
    assert!(s
        .add_pool_usage(&sc, &row("p", ip, "AOL", HOUR + 1, 1), None)
        .await
        .unwrap());
    // Other pools and scopes are apart.
    assert!(s
        .add_pool_usage(&sc, &row("q", ip, "Gmail", HOUR, 9), Some(9))
        .await
        .unwrap());
    let other = scope(2, "us-east-1");
    assert!(s
        .add_pool_usage(&other, &row("p", ip, "Gmail", HOUR, 5), Some(5))
        .await
        .unwrap());

    let all = s.pool_usage(&sc, "p", None, HOUR).await.unwrap();
    let got: Vec<(i64, &str, &str, PoolUsageCounts)> = all
        .iter()
        .map(|r| (r.hour, r.isp.as_str(), r.ip.as_str(), r.counts))
        .collect();
    let c = |sent, delivered, throttled, deferred| PoolUsageCounts {
        sent,
        delivered,
        throttled,
        deferred,
    };
    assert_eq!(
        got,
        [
            (HOUR, "Gmail", ip, c(5, 4, 1, 0)),
            (HOUR + 1, "AOL", ip, c(1, 0, 0, 0)),
            (HOUR + 1, "Gmail", "", c(14, 0, 0, 4)),
        ]
    );
    assert!(all.iter().all(|r| r.pool == "p"));
    let gmail = s
        .pool_usage(&sc, "p", Some("Gmail"), HOUR + 1)
        .await
        .unwrap();
    assert_eq!(gmail.len(), 1);
    assert_eq!(gmail[0].counts.sent, 14);
    assert!(s
        .pool_usage(&sc, "p", Some("Yahoo"), 0)
        .await
        .unwrap()
        .is_empty());
}

/// Deleting a pool's rows leaves other pools' and scopes'; pruning goes by hour everywhere.
pub(crate) async fn pool_usage_delete_and_prune(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(1, "eu-west-1");
    for (sc, pool, hour) in [
        (&a, "p", HOUR),
        (&a, "p", HOUR + 10),
        (&a, "q", HOUR),
        (&b, "p", HOUR),
    ] {
        assert!(s
            .add_pool_usage(sc, &row(pool, "", "Other", hour, 1), None)
            .await
            .unwrap());
    }
    assert_eq!(s.delete_pool_usage(&a, "p").await.unwrap(), 2);
    assert!(s.pool_usage(&a, "p", None, 0).await.unwrap().is_empty());
    assert_eq!(s.pool_usage(&b, "p", None, 0).await.unwrap().len(), 1);
    assert!(s
        .add_pool_usage(&a, &row("q", "", "Other", HOUR + 10, 1), None)
        .await
        .unwrap());
    assert_eq!(s.prune_pool_usage(HOUR + 1).await.unwrap(), 2);
    let left = s.pool_usage(&a, "q", None, 0).await.unwrap();
    assert_eq!(left.iter().map(|r| r.hour).collect::<Vec<_>>(), [HOUR + 10]);
}

/// Many concurrent charges (as several delivery nodes would make) are granted exactly the limit.
pub(crate) async fn concurrent_pool_usage_never_exceeds_the_limit(ctx: Ctx) {
    let sc = scope(1, "us-east-1");
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let store = ctx.store.clone();
            let sc = sc.clone();
            tokio::spawn(async move {
                store
                    .add_pool_usage(&sc, &row("p", "127.0.17.2", "Gmail", HOUR, 1), Some(25))
                    .await
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            granted += 1;
        }
    }
    assert_eq!(granted, 25);
    let rows = ctx
        .store
        .pool_usage(&sc, "p", Some("Gmail"), HOUR)
        .await
        .unwrap();
    assert_eq!(rows[0].counts.sent, 25);
}

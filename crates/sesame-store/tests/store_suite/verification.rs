//! The DNS verification schedule (`schedule_verification`, `claim_verifications`,
//! `claim_verification`, `finish_verification`; spec D-39, Q-81): due identities are claimed
//! once while a lease is live, expired leases come back, only the holder finishes, and
//! concurrent claimers (nodes sharing the database) never get the same identity.

use std::collections::BTreeSet;

use sesame_model::Store;

use super::{scope, Ctx};

const T: i64 = 1_700_000_000_000;
const LEASE: i64 = 120_000;

/// Due rows are claimed oldest first up to the limit; not-yet-due and leased rows are not.
pub(crate) async fn verification_claims_due_rows_once(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    let b = scope(2, "eu-west-1");
    s.schedule_verification(&a, "late.test", T - 10, false)
        .await
        .unwrap();
    s.schedule_verification(&b, "early.test", T - 20, false)
        .await
        .unwrap();
    s.schedule_verification(&a, "future.test", T + 1_000, false)
        .await
        .unwrap();
    // only_if_absent keeps an existing due time; a plain schedule replaces it.
    s.schedule_verification(&a, "future.test", T - 5, true)
        .await
        .unwrap();
    assert_eq!(
        s.verification_due(&a, "future.test").await.unwrap(),
        Some(T + 1_000)
    );

    let first = s.claim_verifications("n1", T, LEASE, 1).await.unwrap();
    assert_eq!(first, vec![(b.clone(), "early.test".to_string())]);
    let second = s.claim_verifications("n2", T, LEASE, 10).await.unwrap();
    assert_eq!(second, vec![(a.clone(), "late.test".to_string())]);
    assert!(s
        .claim_verifications("n3", T, LEASE, 10)
        .await
        .unwrap()
        .is_empty());

    // Only the holder finishes; finishing sets the next due time and frees the lease.
    assert!(!s
        .finish_verification("n2", &b, "early.test", Some(T + 5))
        .await
        .unwrap());
    assert!(s
        .finish_verification("n1", &b, "early.test", Some(T + 5))
        .await
        .unwrap());
    assert_eq!(
        s.verification_due(&b, "early.test").await.unwrap(),
        Some(T + 5)
    );
    assert!(s
        .claim_verifications("n3", T + 4, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.claim_verifications("n3", T + 5, LEASE, 10).await.unwrap(),
        vec![(b.clone(), "early.test".to_string())]
    );
    // Finishing with no next due time (FAILED, nothing left to check) removes the row.
    assert!(s
        .finish_verification("n3", &b, "early.test", None)
        .await
        .unwrap());
    assert_eq!(s.verification_due(&b, "early.test").await.unwrap(), None);
    assert!(s.delete_verification(&a, "future.test").await.unwrap());
    assert!(!s.delete_verification(&a, "future.test").await.unwrap());
}

/// A dead node's lease expires and the identity is claimable again; an on-demand claim waits
/// for a live lease and creates the row of an unscheduled identity.
pub(crate) async fn verification_leases_expire_and_single_claims(ctx: Ctx) {
    let s = &ctx.store;
    let a = scope(1, "us-east-1");
    s.schedule_verification(&a, "x.test", T, false)
        .await
        .unwrap();
    assert_eq!(
        s.claim_verifications("dead", T, LEASE, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(!s
        .claim_verification("cli", &a, "x.test", T + 1, LEASE)
        .await
        .unwrap());
    assert!(s
        .claim_verifications("n2", T + LEASE - 1, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.claim_verifications("n2", T + LEASE, LEASE, 10)
            .await
            .unwrap(),
        vec![(a.clone(), "x.test".to_string())]
    );
    // The dead node coming back cannot finish what n2 now holds.
    assert!(!s
        .finish_verification("dead", &a, "x.test", Some(T))
        .await
        .unwrap());
    assert!(s
        .finish_verification("n2", &a, "x.test", Some(T + 10 * LEASE))
        .await
        .unwrap());
    // On demand: claimed although not due; a row appears for an unscheduled identity.
    assert!(s
        .claim_verification("cli", &a, "x.test", T + LEASE + 1, LEASE)
        .await
        .unwrap());
    assert!(s
        .claim_verification("cli", &a, "new.test", T, LEASE)
        .await
        .unwrap());
    assert_eq!(s.verification_due(&a, "new.test").await.unwrap(), Some(T));
    assert!(s
        .claim_verifications("n2", T, LEASE, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Eight claimers racing over 50 due identities: each identity is claimed exactly once.
pub(crate) async fn concurrent_verification_claims_never_share(ctx: Ctx) {
    let a = scope(1, "us-east-1");
    for i in 0..50 {
        ctx.store
            .schedule_verification(&a, &format!("d{i:02}.test"), T - i, false)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = ctx.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_verifications(&format!("n{n}"), T, LEASE, 3)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|(_, i)| i));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 50, "claimed twice: {all:?}");
    assert_eq!(unique.len(), 50);
}

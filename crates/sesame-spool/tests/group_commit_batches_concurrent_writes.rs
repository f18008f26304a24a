//! Group commit: concurrent writers share commit rounds, and a durable spool really syncs.

mod common;

use bytes::Bytes;
use common::body_for;
use sesame_spool::{CommitMode, Spool, SpoolOptions, SpoolStats};
use std::path::Path;

/// Writes `n` bodies from `n` concurrent tasks, checks they all read back, returns the stats.
async fn write_concurrently(dir: &Path, opts: SpoolOptions, n: usize) -> SpoolStats {
    let spool = Spool::open(dir, opts).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let spool = spool.clone();
        tasks.spawn(async move {
            let id = format!("concurrent-{i}");
            spool.write(&id, Bytes::from(body_for(&id))).await.unwrap();
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    for i in 0..n {
        let id = format!("concurrent-{i}");
        assert_eq!(spool.read(&id).await.unwrap(), body_for(&id), "{id}");
    }
    assert_eq!(spool.iter_ids().count(), n);
    spool.stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_writes_share_commit_rounds_per_file_sync() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SpoolOptions {
        commit: CommitMode::Group,
        ..SpoolOptions::default()
    };
    let st = write_concurrently(dir.path(), opts, 200).await;
    assert_eq!(st.bodies_written, 200);
    assert!(
        st.commit_rounds < 200,
        "no group commit happened: {} rounds for 200 writes",
        st.commit_rounds
    );
    assert!(st.average_batch_size > 1.0, "{st:?}");
    // fsync: true really syncs: one fdatasync per file plus at least one directory per round.
    assert!(st.fsyncs >= 200 + st.commit_rounds, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_writes_share_commit_rounds_syncfs() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SpoolOptions {
        commit: CommitMode::GroupSyncfs,
        ..SpoolOptions::default()
    };
    let st = write_concurrently(dir.path(), opts, 200).await;
    assert_eq!(st.bodies_written, 200);
    assert!(st.commit_rounds < 200, "{st:?}");
    assert!(st.average_batch_size > 1.0, "{st:?}");
    if cfg!(target_os = "linux") {
        // Two syncfs per round (plus the two directory syncs at open), none per file.
        assert_eq!(st.fsyncs, 2 * st.commit_rounds + 2, "{st:?}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn naive_mode_syncs_every_file_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SpoolOptions {
        commit: CommitMode::Naive,
        ..SpoolOptions::default()
    };
    let st = write_concurrently(dir.path(), opts, 50).await;
    assert_eq!(st.commit_rounds, 50);
    // One file and one directory sync per write, plus the two at open.
    assert_eq!(st.fsyncs, 2 * 50 + 2, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fsync_false_issues_no_syncs() {
    let dir = tempfile::tempdir().unwrap();
    for commit in [
        CommitMode::Group,
        CommitMode::GroupSyncfs,
        CommitMode::Naive,
    ] {
        let sub = dir.path().join(format!("{commit:?}"));
        let opts = SpoolOptions {
            fsync: false,
            commit,
            ..SpoolOptions::default()
        };
        let st = write_concurrently(&sub, opts, 100).await;
        assert_eq!(st.fsyncs, 0, "{commit:?}: {st:?}");
        assert_eq!(st.bodies_written, 100);
    }
}

/// Backpressure: with one slot, 100 concurrent submitters are admitted one at a time and all
/// complete (nothing deadlocks, nothing is dropped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_in_flight_limit_still_completes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SpoolOptions {
        max_in_flight: 1,
        ..SpoolOptions::default()
    };
    let st = write_concurrently(dir.path(), opts, 100).await;
    assert_eq!(st.bodies_written, 100);
    // One write in flight at a time means one write per round.
    assert_eq!(st.commit_rounds, 100, "{st:?}");
}

#[test]
fn default_is_durable_and_batches_data_syncs_on_linux() {
    let opts = SpoolOptions::default();
    assert!(opts.fsync);
    assert!(opts.max_in_flight > 0);
    let expected = if cfg!(target_os = "linux") {
        CommitMode::GroupSyncfs
    } else {
        CommitMode::Group
    };
    assert_eq!(opts.commit, expected);
}

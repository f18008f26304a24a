//! Principle 2 (acknowledge only what is on disk), proven with kill -9: the test binary runs
//! itself as a child that writes bodies from 32 concurrent tasks and prints `ACK <id>` only after
//! `Spool::write` returned; the parent SIGKILLs it mid-stream, reopens the spool and checks that
//! every acknowledged body is there, complete and byte-identical.
//!
//! What this does and does not prove: SIGKILL ends the process but not the kernel, so the page
//! cache survives and unsynced data would survive too. The test therefore proves the ordering
//! half of the protocol — no acknowledgement before the rename, no torn body under a final
//! name, recovery that keeps committed bodies and drops temp files. Power-loss durability rests
//! on the syncs (fdatasync before rename, directory fsync before acknowledging), which
//! `group_commit_batches_concurrent_writes.rs` shows are actually issued (`SpoolStats::fsyncs`).

mod common;

use bytes::Bytes;
use common::body_for;
use sesame_spool::{CommitMode, Spool, SpoolOptions};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Switches the test binary into child mode; the value is the spool directory.
const CHILD_ENV: &str = "SESAME_SPOOL_KILL9_CHILD_DIR";
/// The child's commit mode (`group` or `syncfs`): both batching strategies are killed.
const MODE_ENV: &str = "SESAME_SPOOL_KILL9_CHILD_MODE";
/// Bodies the child tries to write: far more than the parent waits for, so it is always
/// killed mid-stream.
const CHILD_WRITES: usize = 20_000;
const CONCURRENCY: usize = 32;
const KILL_AFTER_ACKS: usize = 300;

/// Child mode only (a no-op in a normal test run): write bodies until killed.
#[test]
fn kill9_child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let commit = match std::env::var(MODE_ENV).as_deref() {
            Ok("group") => CommitMode::Group,
            _ => CommitMode::GroupSyncfs,
        };
        let opts = SpoolOptions {
            commit,
            ..SpoolOptions::default()
        };
        let spool = Spool::open(std::path::Path::new(&dir), opts).unwrap();
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..CONCURRENCY {
            let (spool, next) = (spool.clone(), next.clone());
            tasks.spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= CHILD_WRITES {
                        return;
                    }
                    let id = format!("k9-{i:06}");
                    spool.write(&id, Bytes::from(body_for(&id))).await.unwrap();
                    // The harness depends on this line: one `ACK <id>` per acknowledged body,
                    // flushed before the next write can be acknowledged by this task.
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {id}").unwrap();
                    out.flush().unwrap();
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
    });
}

#[tokio::test]
async fn kill9_after_ack_loses_nothing_group_syncfs() {
    if std::env::var(CHILD_ENV).is_err() {
        kill_and_check("syncfs").await;
    }
}

#[tokio::test]
async fn kill9_after_ack_loses_nothing_group_per_file_sync() {
    if std::env::var(CHILD_ENV).is_err() {
        kill_and_check("group").await;
    }
}

async fn kill_and_check(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill9_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .env(MODE_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");

    let stdout = child.stdout.take().unwrap();
    let (acked, child) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut acked = BTreeSet::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.insert(id.to_owned());
            }
            if acked.len() >= KILL_AFTER_ACKS || Instant::now() > deadline {
                break;
            }
        }
        // Child::kill is SIGKILL on Unix: no destructors, no flushing, nothing graceful.
        child.kill().expect("SIGKILL child");
        let status = child.wait().unwrap();
        (acked, status)
    })
    .await
    .unwrap();
    assert!(
        !child.success(),
        "child must have been killed, not finished"
    );
    assert!(
        acked.len() >= KILL_AFTER_ACKS,
        "child acknowledged only {} bodies",
        acked.len()
    );

    let spool = common::open(dir.path());
    let st = spool.stats();
    for id in &acked {
        let body = spool
            .read(id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged body {id} lost: {e}"));
        assert!(body == body_for(id), "acknowledged body {id} differs");
    }
    // Stronger than required: whatever is visible under a final name is complete, acked or not.
    let present: Vec<String> = spool.iter_ids().collect::<Result<_, _>>().unwrap();
    for id in &present {
        assert!(
            spool.read(id).await.unwrap() == body_for(id),
            "torn body {id}"
        );
    }
    assert!(present.len() >= acked.len());
    assert_eq!(st.recovered_bodies, present.len() as u64);
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    eprintln!(
        "kill -9 ({mode}): {} acked, {} present after restart, {} temp files removed",
        acked.len(),
        present.len(),
        st.removed_temp_files
    );
}

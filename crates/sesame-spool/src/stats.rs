//! Counters behind [`SpoolStats`]. Plain relaxed atomics: they are reported, never used to
//! make decisions, so no ordering with the data they count is needed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of what a spool has done since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpoolStats {
    /// Bodies acknowledged as durable by `write`.
    pub bodies_written: u64,
    /// Bytes in those bodies.
    pub bytes_written: u64,
    /// Rounds the committer ran (each round makes a batch of writes durable together). In
    /// [`CommitMode::Naive`](crate::CommitMode::Naive) every write is its own round.
    pub commit_rounds: u64,
    /// Writes made durable by those rounds, divided by the number of rounds.
    pub average_batch_size: f64,
    /// fsync, fdatasync and syncfs calls issued (files and directories). Zero when the spool
    /// was opened with `fsync: false`; tests use it to prove the durable path really syncs.
    pub fsyncs: u64,
    /// Bodies present when the spool was opened (recovery).
    pub recovered_bodies: u64,
    /// Leftover temp files removed when the spool was opened (recovery).
    pub removed_temp_files: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub bodies: AtomicU64,
    pub bytes: AtomicU64,
    pub rounds: AtomicU64,
    pub batched: AtomicU64,
    pub fsyncs: AtomicU64,
}

impl Counters {
    pub fn fsync(&self) {
        self.fsyncs.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self, recovered_bodies: u64, removed_temp_files: u64) -> SpoolStats {
        let rounds = self.rounds.load(Relaxed);
        let batched = self.batched.load(Relaxed);
        SpoolStats {
            bodies_written: self.bodies.load(Relaxed),
            bytes_written: self.bytes.load(Relaxed),
            commit_rounds: rounds,
            average_batch_size: if rounds == 0 {
                0.0
            } else {
                batched as f64 / rounds as f64
            },
            fsyncs: self.fsyncs.load(Relaxed),
            recovered_bodies,
            removed_temp_files,
        }
    }
}

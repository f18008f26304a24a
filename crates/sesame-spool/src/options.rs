//! [`SpoolOptions`] and the commit strategies.

/// How a spool is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Most writes admitted at once (Principle 3, bounded everything). A write holds its slot
    /// from the moment it starts until it is acknowledged, so at most this many bodies sit in
    /// memory waiting for disk; the next caller waits in `write`, which slows ingress (SMTP DATA,
    /// the API) before memory grows.
    pub max_in_flight: usize,
    /// Issue fsync/fdatasync at all. `false` only for tests that explicitly opt out of
    /// durability to run fast; production always uses `true` (the default).
    pub fsync: bool,
    /// How the fsyncs of concurrent writes are combined. See [`CommitMode`].
    pub commit: CommitMode,
}

impl Default for SpoolOptions {
    fn default() -> Self {
        SpoolOptions {
            max_in_flight: 256,
            fsync: true,
            commit: CommitMode::default(),
        }
    }
}

/// How the durability work of a write is done. All modes keep the same on-disk protocol
/// (temp file → data durable → rename → directory durable → acknowledge); they differ in who
/// issues the syncs and how many writes one sync covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitMode {
    /// Group commit (the default). Each writer writes its temp file, `fdatasync`s it on a
    /// blocking thread and renames it into place; the committer thread then fsyncs every
    /// distinct directory touched since its last round once and wakes all writers of that round.
    ///
    /// Why per-file `fdatasync` rather than one `syncfs`: concurrent `fdatasync`s of files on
    /// the same ext4/xfs filesystem already share journal commits (jbd2 joins them into the
    /// running transaction), so N writers cost far fewer than N device flushes, and the work
    /// overlaps with the committer's directory round. `syncfs` would also flush every other
    /// dirty page on the filesystem — the database's, the logs' — making our latency depend on
    /// unrelated writers. `bench/spool.sh` measures both; see the numbers in the crate docs.
    #[default]
    Group,
    /// Group commit with the data syncs batched too: writers only write their temp files; each
    /// committer round issues one `syncfs(2)` (all temp data durable), renames every file of
    /// the round, then one more `syncfs` (all directory entries durable). Two device flushes
    /// per round whatever its size, at the price of flushing the whole filesystem. Linux only;
    /// elsewhere it behaves as [`CommitMode::Group`].
    GroupSyncfs,
    /// No batching: each write does temp → fsync file → rename → fsync directory by itself.
    /// Kept as the baseline the benchmark compares against.
    Naive,
}

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

/// How the durability work of a write is done. All modes keep the same on-disk ordering
/// (temp file → data durable → rename → directory entry durable → acknowledge); they differ in
/// who issues the syncs and how many writes one sync covers.
///
/// Why the default is [`CommitMode::GroupSyncfs`]: it is the only mode whose device flushes
/// per write fall with load — 0.12–0.17 syncs per write at 32 writers (batches of 12–18),
/// against ~2.0 for [`CommitMode::Group`] and [`CommitMode::Naive`] (`bench/spool.sh`, 5 KB
/// bodies, 2-core ext4/virtio machine). On ext4 every fsync/fdatasync ends in a device cache
/// flush of its own unless it joins a journal commit already in flight (`ext4_sync_file` issues
/// the flush itself when the transaction it needs was committed by someone else), so batching
/// the *calls* does not reliably batch the *flushes*. Wall-clock numbers on the shared build
/// machine were dominated by neighbours (load average 9–14 on 2 cores): at 32 writers syncfs
/// measured 680–2,180 writes/s, Group 390–5,350, Naive 390–7,100 across runs, so those are
/// reported in the bench output and not relied on here; flushes per write are what a quiet
/// production disk pays for.
/// `syncfs(2)` is the one call that makes many files' data and entries durable with a single
/// journal commit and flush, so a round costs two flushes whatever its size.
/// Its price: it also writes back every other dirty page of the filesystem, so a spool sharing
/// its filesystem with a heavy writer (a build, a log firehose) sees that writer's flush time in
/// its latency; put the spool on the data volume with the database (which fsyncs anyway) or on
/// its own filesystem. syncfs reports write-back errors reliably since Linux 5.8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Group commit with per-file data syncs. Each writer writes its temp file, `fdatasync`s it
    /// on a blocking thread and renames it into place; the committer thread then fsyncs every
    /// distinct fan-out directory touched since its last round once and wakes all writers of
    /// that round. Portable (plain POSIX fsync semantics) and does not touch other files on the
    /// filesystem, but on ext4 it costs about two flushes per write (see above).
    Group,
    /// Group commit with the data syncs batched too (the default on Linux): writers only write
    /// their temp files; each committer round issues one `syncfs(2)` (every temp file's data
    /// durable), renames every file of the round, then one more `syncfs` (every new directory
    /// entry durable) before waking the round's writers. Linux only; elsewhere it behaves as
    /// [`CommitMode::Group`].
    GroupSyncfs,
    /// No batching: each write does temp → fsync file → rename → fsync directory by itself.
    /// Kept as the baseline the benchmark compares against.
    Naive,
}

impl Default for CommitMode {
    fn default() -> Self {
        if cfg!(target_os = "linux") {
            CommitMode::GroupSyncfs
        } else {
            CommitMode::Group
        }
    }
}

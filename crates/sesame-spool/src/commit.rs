//! The durable write path: the blocking steps one writer performs and the committer thread that
//! batches directory syncs (group commit).
//!
//! Why a dedicated OS thread and not a tokio task: every step of a round is a blocking syscall,
//! and a thread needs no runtime at [`Spool::open`](crate::Spool::open) time. While a round's
//! syncs are running, new writers keep renaming files and queueing behind it; the next round
//! takes all of them at once. Batching therefore grows by itself with load and adds no latency
//! when there is only one writer (there is no timer).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::id;
use crate::options::{CommitMode, SpoolOptions};
use crate::stats::Counters;

/// State shared by the writers and the committer thread. It holds no `Sender`, so the thread
/// ends when the last [`Spool`](crate::Spool) handle (which owns the sender) is dropped.
#[derive(Debug)]
pub(crate) struct Core {
    pub layout: Layout,
    pub opts: SpoolOptions,
    pub counters: Counters,
    /// Makes temp-file names unique within this process, so two concurrent writes of the same
    /// id never share a temp file (the later rename simply wins).
    pub nonce: AtomicU64,
    /// Set after a failed sync. Linux may drop the dirty pages of a failed write-back and mark
    /// them clean, so a retried fsync can "succeed" without the data being on disk; the only
    /// honest answer after that is to refuse further writes until an operator restarts us
    /// (the same conclusion PostgreSQL reached in 2018).
    pub poisoned: AtomicBool,
}

impl Core {
    pub fn sync_file(&self, f: &File) -> io::Result<()> {
        if self.opts.fsync {
            self.counters.fsync();
            // fdatasync: a new file's size and block map are flushed with its data, which is
            // all that is needed to read it back; its timestamps are not worth a journal write.
            f.sync_data().inspect_err(|_| self.poison())?;
        }
        Ok(())
    }

    pub fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.opts.fsync {
            self.counters.fsync();
            File::open(dir)
                .and_then(|d| d.sync_all())
                .inspect_err(|_| self.poison())?;
        }
        Ok(())
    }

    fn poison(&self) {
        self.poisoned.store(true, Relaxed);
    }

    pub fn check_healthy(&self) -> io::Result<()> {
        if self.poisoned.load(Relaxed) {
            Err(io::Error::other(
                "spool unhealthy: an earlier fsync failed; restart required",
            ))
        } else {
            Ok(())
        }
    }
}

/// Where things are on disk:
///
/// ```text
/// <dir>/lock            flock(2)ed while open: one process per spool
/// <dir>/tmp/<id>.<n>.tmp  bodies being written; anything here at open time is garbage
/// <dir>/bodies/<xx>/<id>  committed bodies, xx = id::fanout(id) in hex
/// ```
///
/// Temp files live in their own directory so recovery is "empty `tmp/`" and never has to tell a
/// half-written body from a committed one by its name. The rename from `tmp/` to `bodies/<xx>/`
/// stays on one filesystem, so it is atomic.
#[derive(Debug)]
pub(crate) struct Layout {
    pub root: PathBuf,
    pub bodies: PathBuf,
    pub tmp: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            bodies: root.join("bodies"),
            tmp: root.join("tmp"),
        }
    }

    pub fn fanout_dir(&self, index: usize) -> PathBuf {
        self.bodies.join(id::fanout_name(index))
    }

    /// Path of a body; `id` must already be validated.
    pub fn body_path(&self, id: &str) -> PathBuf {
        self.fanout_dir(id::fanout(id)).join(id)
    }

    pub fn temp_path(&self, id: &str, nonce: u64) -> PathBuf {
        self.tmp.join(format!("{id}.{nonce}.tmp"))
    }
}

/// One write waiting for the committer.
pub(crate) struct Pending {
    /// Fan-out directory the body was (or will be) renamed into.
    pub dir: usize,
    /// `Some((temp, final))` when the committer does the rename ([`CommitMode::GroupSyncfs`]).
    pub rename: Option<(PathBuf, PathBuf)>,
    /// Completed with the round's outcome for this write.
    pub done: oneshot::Sender<io::Result<()>>,
}

/// Creates the temp file and writes `bytes` into it, syncing its data when `sync` is set.
/// Never overwrites: `create_new` fails if the name exists (it cannot, thanks to the nonce,
/// unless something else writes into `tmp/`).
pub(crate) fn write_temp(core: &Core, temp: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(temp)?;
    f.write_all(bytes)?;
    if sync {
        core.sync_file(&f)?;
    }
    Ok(())
}

/// The naive protocol, all in the caller's (blocking) thread: one file sync and one directory
/// sync per write.
pub(crate) fn write_naive(core: &Core, id: &str, temp: &Path, bytes: &[u8]) -> io::Result<()> {
    write_temp(core, temp, bytes, true)?;
    let dest = core.layout.body_path(id);
    fs::rename(temp, &dest)?;
    core.sync_dir(&core.layout.fanout_dir(id::fanout(id)))?;
    core.counters.rounds.fetch_add(1, Relaxed);
    core.counters.batched.fetch_add(1, Relaxed);
    Ok(())
}

/// Starts the committer thread. It runs until every sender is dropped.
pub(crate) fn spawn_committer(
    core: std::sync::Arc<Core>,
    rx: mpsc::Receiver<Pending>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("sesame-spool-commit".into())
        .spawn(move || {
            // Blocks for the first write of a round, then takes everything queued behind it.
            // The queue is unbounded as a channel but bounded in fact: a write holds one of
            // `max_in_flight` permits until it is answered, so at most that many are queued.
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                round(&core, batch);
            }
        })?;
    Ok(())
}

/// One commit round: makes every write in `batch` durable, then answers each of them.
fn round(core: &Core, batch: Vec<Pending>) {
    let n = batch.len() as u64;
    let results: Vec<io::Result<()>> = match core.opts.commit {
        CommitMode::GroupSyncfs if cfg!(target_os = "linux") => round_syncfs(core, &batch),
        _ => round_dirs(core, &batch),
    };
    core.counters.rounds.fetch_add(1, Relaxed);
    core.counters.batched.fetch_add(n, Relaxed);
    for (p, r) in batch.into_iter().zip(results) {
        // The writer may have been cancelled; its body is then an orphan for reconciliation.
        let _ = p.done.send(r);
    }
}

/// [`CommitMode::Group`]: the files are already synced and renamed; fsync each distinct
/// fan-out directory once.
///
/// The directory fsyncs of a round are issued concurrently (one scoped thread each, at most
/// [`DIR_SYNC_THREADS`]): on ext4 and xfs, fsyncs that are in flight together join one journal
/// commit and their cache flushes can be merged by the block layer, while fsyncs issued one
/// after another each pay their own flush even when the journal has nothing left to commit.
fn round_dirs(core: &Core, batch: &[Pending]) -> Vec<io::Result<()>> {
    let dirs: Vec<usize> = batch
        .iter()
        .map(|p| p.dir)
        .collect::<BTreeSet<usize>>()
        .into_iter()
        .collect();
    let mut failed: Vec<(usize, io::Error)> = Vec::new();
    for chunk in dirs.chunks(DIR_SYNC_THREADS) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&d| {
                    (
                        d,
                        s.spawn(move || core.sync_dir(&core.layout.fanout_dir(d))),
                    )
                })
                .collect();
            for (d, h) in handles {
                let r = h
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("directory sync panicked")));
                if let Err(e) = r {
                    failed.push((d, e));
                }
            }
        });
    }
    batch
        .iter()
        .map(|p| match failed.iter().find(|(d, _)| *d == p.dir) {
            Some((_, e)) => Err(copy_err(e, "fsync of spool directory")),
            None => Ok(()),
        })
        .collect()
}

/// Most directory fsyncs one round issues at once (see [`round_dirs`]).
const DIR_SYNC_THREADS: usize = 16;

/// [`CommitMode::GroupSyncfs`]: syncfs (all temp data) → renames → syncfs (all entries).
fn round_syncfs(core: &Core, batch: &[Pending]) -> Vec<io::Result<()>> {
    if let Err(e) = syncfs(core) {
        return batch.iter().map(|_| Err(copy_err(&e, "syncfs"))).collect();
    }
    let mut results: Vec<io::Result<()>> = batch
        .iter()
        .map(|p| match &p.rename {
            Some((from, to)) => fs::rename(from, to),
            None => Ok(()),
        })
        .collect();
    if let Err(e) = syncfs(core) {
        for r in results.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(copy_err(&e, "syncfs"));
        }
    }
    results
}

#[cfg(target_os = "linux")]
fn syncfs(core: &Core) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    if !core.opts.fsync {
        return Ok(());
    }
    core.counters.fsync();
    let dir = File::open(&core.layout.bodies)?;
    // SAFETY: `dir` is an open descriptor for the duration of the call.
    let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        core.poison();
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn syncfs(_core: &Core) -> io::Result<()> {
    unreachable!("GroupSyncfs falls back to Group outside Linux")
}

/// `io::Error` is not `Clone`; one failed sync answers many writers.
fn copy_err(e: &io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

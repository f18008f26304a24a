//! [`Spool`]: open and recover, write, read, remove, enumerate.

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};

use bytes::Bytes;
use tokio::sync::{oneshot, Semaphore};

use crate::commit::{self, Core, Layout, Pending};
use crate::id;
use crate::options::{CommitMode, SpoolOptions};
use crate::stats::{Counters, SpoolStats};

/// The body store. Cheap to clone; all clones share one committer and one in-flight limit.
#[derive(Debug, Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    core: Arc<Core>,
    /// Hands renamed files to the committer thread. Owned here and not by `Core`, so dropping
    /// the last `Spool` ends the thread.
    tx: mpsc::Sender<Pending>,
    /// `max_in_flight` permits; a write holds one until it is acknowledged (backpressure).
    permits: Semaphore,
    /// flock(2)ed for as long as the spool is open, so two processes (say, a second `sesame
    /// serve` on the same data dir) cannot interleave recovery with writes. The kernel drops
    /// the lock when the process dies, kill -9 included.
    _lock: File,
    /// Found by recovery at open time; reported in [`SpoolStats`].
    recovered_bodies: u64,
    removed_temp_files: u64,
}

impl Spool {
    /// Opens (creating if needed) the spool in `dir` and runs recovery: every leftover temp
    /// file — a write that was never acknowledged — is removed, and the committed bodies are
    /// counted ([`SpoolStats::recovered_bodies`]). Does not need a tokio runtime; `write` and
    /// the other async methods do.
    pub fn open(dir: &Path, opts: SpoolOptions) -> io::Result<Spool> {
        if opts.max_in_flight == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_in_flight must be at least 1",
            ));
        }
        let layout = Layout::new(dir);
        fs::create_dir_all(&layout.bodies)?;
        fs::create_dir_all(&layout.tmp)?;
        for i in 0..id::FANOUT {
            match fs::create_dir(layout.fanout_dir(i)) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        let lock = lock(&layout.root.join("lock"))?;
        let core = Arc::new(Core {
            layout,
            opts,
            counters: Counters::default(),
            nonce: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
        });
        // The directories themselves must be durable before any body is acknowledged in them.
        core.sync_dir(&core.layout.bodies)?;
        core.sync_dir(&core.layout.root)?;

        let removed_temp_files = remove_temp_files(&core.layout.tmp)?;
        let mut recovered_bodies = 0u64;
        for id in (IdIter {
            bodies: core.layout.bodies.clone(),
            next_dir: 0,
            current: None,
        }) {
            id?;
            recovered_bodies += 1;
        }

        let (tx, rx) = mpsc::channel();
        commit::spawn_committer(core.clone(), rx)?;
        let permits = Semaphore::new(core.opts.max_in_flight);
        Ok(Spool {
            inner: Arc::new(Inner {
                core,
                tx,
                permits,
                _lock: lock,
                recovered_bodies,
                removed_temp_files,
            }),
        })
    }

    /// Stores `bytes` under `id`, replacing any body with that id, and returns only once the
    /// body file and its directory entry are durable (when the spool syncs at all). Only then
    /// may the caller acknowledge the message (Principle 2).
    ///
    /// Waits for an in-flight slot first, so a burst of submitters is slowed down here rather
    /// than buffered. If the future is dropped before it completes, the body may or may not
    /// end up stored; it was never acknowledged, so reconciliation treats it as an orphan.
    pub async fn write(&self, id: &str, bytes: Bytes) -> io::Result<()> {
        id::validate(id)?;
        let core = &self.inner.core;
        core.check_healthy()?;
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| io::Error::other("spool closed"))?;
        let len = bytes.len() as u64;
        let nonce = core.nonce.fetch_add(1, Relaxed);
        let temp = core.layout.temp_path(id, nonce);
        let dest = core.layout.body_path(id);
        let dir = id::fanout(id);

        let result = match core.opts.commit {
            CommitMode::Naive => {
                let (c, id, t) = (core.clone(), id.to_owned(), temp.clone());
                blocking(move || commit::write_naive(&c, &id, &t, &bytes)).await
            }
            CommitMode::GroupSyncfs if cfg!(target_os = "linux") => {
                let (c, t) = (core.clone(), temp.clone());
                match blocking(move || commit::write_temp(&c, &t, &bytes, false)).await {
                    Ok(()) => self.commit(dir, Some((temp.clone(), dest))).await,
                    Err(e) => Err(e),
                }
            }
            CommitMode::Group | CommitMode::GroupSyncfs => {
                let (c, t) = (core.clone(), temp.clone());
                let step = blocking(move || {
                    commit::write_temp(&c, &t, &bytes, true)?;
                    fs::rename(&t, &dest)
                })
                .await;
                match step {
                    Ok(()) => self.commit(dir, None).await,
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok(()) => {
                core.counters.bodies.fetch_add(1, Relaxed);
                core.counters.bytes.fetch_add(len, Relaxed);
                Ok(())
            }
            Err(e) => {
                // Best effort: after a successful rename the temp name is already gone.
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    /// Queues a write for the committer's next round and waits for that round.
    async fn commit(
        &self,
        dir: usize,
        rename: Option<(std::path::PathBuf, std::path::PathBuf)>,
    ) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.inner
            .tx
            .send(Pending { dir, rename, done })
            .map_err(|_| io::Error::other("spool committer stopped"))?;
        wait.await
            .map_err(|_| io::Error::other("spool committer stopped"))?
    }

    /// The whole body stored under `id`; `NotFound` if there is none.
    pub async fn read(&self, id: &str) -> io::Result<Vec<u8>> {
        id::validate(id)?;
        tokio::fs::read(self.inner.core.layout.body_path(id)).await
    }

    /// Whether a body is stored under `id`.
    pub async fn exists(&self, id: &str) -> io::Result<bool> {
        id::validate(id)?;
        tokio::fs::try_exists(self.inner.core.layout.body_path(id)).await
    }

    /// Deletes the body stored under `id`; succeeds if there is none. The removal is not
    /// synced: if it is lost in a crash the body comes back as an orphan, which reconciliation
    /// (queue rows vs [`Spool::iter_ids`]) deletes again — cheaper than a directory fsync on
    /// every delivery.
    pub async fn remove(&self, id: &str) -> io::Result<()> {
        id::validate(id)?;
        match tokio::fs::remove_file(self.inner.core.layout.body_path(id)).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    /// Every stored id, in no particular order, reading one fan-out directory at a time (so
    /// memory does not grow with the spool). For recovery and reconciliation against the queue;
    /// a body written or removed while iterating may or may not be seen. Blocking I/O: call it
    /// from a blocking context (`spawn_blocking`) inside a runtime.
    pub fn iter_ids(&self) -> impl Iterator<Item = io::Result<String>> {
        IdIter {
            bodies: self.inner.core.layout.bodies.clone(),
            next_dir: 0,
            current: None,
        }
    }

    /// Counters since open.
    pub fn stats(&self) -> SpoolStats {
        self.inner
            .core
            .counters
            .snapshot(self.inner.recovered_bodies, self.inner.removed_temp_files)
    }
}

/// Runs a blocking closure on tokio's blocking pool, mapping a panic to an error.
async fn blocking<F>(f: F) -> io::Result<()>
where
    F: FnOnce() -> io::Result<()> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("spool write task failed: {e}")))?
}

fn lock(path: &Path) -> io::Result<File> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: `f` is an open descriptor for the duration of the call.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("spool {} is in use by another process: {e}", path.display()),
            ));
        }
    }
    Ok(f)
}

/// Recovery: everything in `tmp/` belongs to a write that never reached its rename, so it was
/// never acknowledged and is deleted.
fn remove_temp_files(tmp: &Path) -> io::Result<u64> {
    let mut n = 0;
    for entry in fs::read_dir(tmp)? {
        let entry = entry?;
        match fs::remove_file(entry.path()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => n += 1,
        }
    }
    Ok(n)
}

/// Walks `bodies/00` … `bodies/ff` lazily, yielding names that are valid ids.
struct IdIter {
    bodies: std::path::PathBuf,
    next_dir: usize,
    current: Option<fs::ReadDir>,
}

impl Iterator for IdIter {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(rd) = &mut self.current {
                match rd.next() {
                    Some(Ok(entry)) => {
                        // Anything that is not a valid id (an editor's swap file, a name from
                        // another tool) is not ours to report.
                        if let Some(name) = entry.file_name().to_str() {
                            if id::validate(name).is_ok() {
                                return Some(Ok(name.to_owned()));
                            }
                        }
                        continue;
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.current = None,
                }
            }
            if self.next_dir >= id::FANOUT {
                return None;
            }
            let dir = self.bodies.join(id::fanout_name(self.next_dir));
            self.next_dir += 1;
            match fs::read_dir(&dir) {
                Ok(rd) => self.current = Some(rd),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
